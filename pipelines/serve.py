"""Serve an export directory over TensorFlow Serving's REST API, with a story page at `/`.

  python -m pipelines.serve --export_dir=runs/export [--model_name=storyvis] \\
      [--host=127.0.0.1] [--port=8501]

EXPORT is served as TF Serving serves a model base path: every version directory
EXPORT/<version>/ (the newest --num_versions, 0: all), the newest by default and each at
/v1/models/NAME/versions/N; a version exported while the server runs is picked up within
--file_system_poll_wait_seconds. Concurrent requests are batched (--max_batch_size stories,
--batch_timeout_micros) behind a bounded queue (503 past it). See docs/SERVING.md and
storyvis_tf.serving.
"""
import os

import uvicorn
from absl import app, flags, logging

from storyvis_tf.serving.app import create_app
from storyvis_tf.serving.batching import BatchingOptions
from storyvis_tf.serving.errors import ServingError
from storyvis_tf.serving.model_repository import ModelRepository
from storyvis_tf.serving.story_model import StoryModel
from storyvis_tf.serving.story_page import page_settings

_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "Model base path: the --export_dir of "
                                  "pipelines.export (holding <version>/ directories).")
_MODEL_NAME = flags.DEFINE_string("model_name", "storyvis", "Model name in the REST paths.")
_HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every "
                            "interface; the server has no authentication).")
_PORT = flags.DEFINE_integer("port", 8501, "Port to listen on (TF Serving's REST port).")
_POLL = flags.DEFINE_float("file_system_poll_wait_seconds", 1.0,
                           "Seconds between looks for new or removed versions.")
_NUM_VERSIONS = flags.DEFINE_integer("num_versions", 0, "Serve the newest N versions (0: all).")
_ENABLE_BATCHING = flags.DEFINE_bool("enable_batching", True,
                                     "Batch concurrent requests into one model call.")
_MAX_BATCH_SIZE = flags.DEFINE_integer("max_batch_size", 16, "Stories per model call at most.")
_BATCH_TIMEOUT = flags.DEFINE_integer(
    "batch_timeout_micros", 0, "How long a batch waits for more requests before it runs (0: it "
    "runs with what is queued; batches still form from requests that arrive while one runs).")
_MAX_ENQUEUED_BATCHES = flags.DEFINE_integer(
    "max_enqueued_batches", 32, "Queue bound: past max_enqueued_batches x max_batch_size queued "
    "stories the server answers 503.")
_NUM_BATCH_THREADS = flags.DEFINE_integer("num_batch_threads", 1,
                                          "Batches run at once per version.")
_MAX_STORIES = flags.DEFINE_integer("max_stories_per_request", 16,
                                    "Stories one request may hold (at most --max_batch_size).")
_EXAMPLES = flags.DEFINE_string("examples", "", "JSON file of example stories for the page (a "
                                "list of lists of sentences); default: the synthetic test split's "
                                "for a model trained on it.")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _EXPORT_DIR.value:
        raise app.UsageError("--export_dir is required: the --export_dir of pipelines.export")
    if not os.path.isdir(_EXPORT_DIR.value):
        raise app.UsageError(f"--export_dir {_EXPORT_DIR.value} is not a directory")
    if not 1 <= _MAX_STORIES.value <= _MAX_BATCH_SIZE.value:
        raise app.UsageError(f"--max_stories_per_request must be between 1 and --max_batch_size "
                             f"({_MAX_BATCH_SIZE.value}), got {_MAX_STORIES.value}")
    if _EXAMPLES.value and not os.path.isfile(_EXAMPLES.value):
        raise app.UsageError(f"--examples {_EXAMPLES.value} is not a file")
    try:
        batching = BatchingOptions(
            enabled=_ENABLE_BATCHING.value, max_batch_size=_MAX_BATCH_SIZE.value,
            batch_timeout_s=_BATCH_TIMEOUT.value / 1e6,
            max_enqueued_batches=_MAX_ENQUEUED_BATCHES.value,
            num_batch_threads=_NUM_BATCH_THREADS.value)
        repository = ModelRepository(_MODEL_NAME.value, _EXPORT_DIR.value,
                                     load=lambda version_dir: StoryModel(version_dir, batching),
                                     unload=StoryModel.close, num_versions=_NUM_VERSIONS.value)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    repository.poll()   # the versions on disk are loaded before the server listens
    try:
        status = repository.version_status(None)["model_version_status"]
    except ServingError:   # no version yet: the poller will find the first
        status = []
    if any(entry["state"] == "AVAILABLE" for entry in status):
        try:
            page_settings(repository, _EXAMPLES.value, _MAX_STORIES.value)
        except ValueError as error:
            raise app.UsageError(f"--examples: {error}") from None
    versions = ", ".join(f"{entry['version']} {entry['state']}" for entry in status) or (
        f"none yet (polling {_EXPORT_DIR.value} every {_POLL.value:g} s)")
    print(f"serving {_EXPORT_DIR.value} as model {_MODEL_NAME.value} (versions: {versions}) at "
          f"http://{_HOST.value}:{_PORT.value}/  REST: /v1/models/{_MODEL_NAME.value}", flush=True)
    logging.set_verbosity(logging.INFO)
    uvicorn.run(create_app(repository, _MAX_STORIES.value, _EXAMPLES.value, _POLL.value),
                host=_HOST.value, port=_PORT.value, access_log=False, log_level="warning")


if __name__ == "__main__":
    app.run(main)

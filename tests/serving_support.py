"""What the serving tests share: a tiny exported story model and a live server on loopback."""
import contextlib
import socket
import threading
import time

import httpx
import uvicorn

from configs import smoke
from storyvis_tf.export import savedmodel
from storyvis_tf.serving.app import create_app
from storyvis_tf.serving.batching import BatchingOptions
from storyvis_tf.serving.model_repository import ModelRepository
from storyvis_tf.serving.story_model import StoryModel
from storyvis_tf.serving.story_page import synthetic_examples
from storyvis_tf.text.vocabulary import Vocabulary
from storyvis_tf.training import run_dir

MODEL = "storyvis"
MAX_SENTENCE_LENGTH = 24
CONFIG = smoke.get_config()
FRAMES, IMAGE_SIZE = CONFIG.data.frames_per_story, CONFIG.data.image_size
STORY = ["Pip jumps on the left.", "Kiki waves in the middle.", "Pip sits on the right.",
         "Kiki sleeps at night.", "Pip and Kiki stand on the beach."]


_shared_exports: dict[str, str] = {}


def shared_export(tmp_path_factory) -> str:
    """One export_story_model per test session (in the session's temporary directory), so the
    serving test modules build it once."""
    session = str(tmp_path_factory.getbasetemp())
    if session not in _shared_exports:
        _shared_exports[session] = export_story_model(str(tmp_path_factory.mktemp("serving")))
    return _shared_exports[session]


def export_story_model(directory: str) -> str:
    """Freshly initialised smoke-config networks, exported as `directory`/export/1; returns
    `directory`/export (the model base path). The vocabulary holds the example stories' words."""
    vocabulary = Vocabulary.from_sentences(
        [s for story in synthetic_examples(FRAMES) for s in story] + STORY)
    text_encoder, generator = run_dir.build_generation_models(CONFIG, len(vocabulary),
                                                              MAX_SENTENCE_LENGTH)
    run = f"{directory}/run"
    run_dir.save_generation_artifacts(run, CONFIG, vocabulary, text_encoder, generator,
                                      {"max_sentence_length": MAX_SENTENCE_LENGTH, "step": 1})
    savedmodel.export_generator(run, f"{directory}/export")
    return f"{directory}/export"


def story_app(export_dir: str, batching: BatchingOptions = BatchingOptions(),
              max_stories_per_request: int = 4, poll_wait_s: float | None = None):
    """The server's application over `export_dir` with its versions loaded."""
    repository = ModelRepository(MODEL, export_dir, lambda path: StoryModel(path, batching),
                                 StoryModel.close)
    repository.poll()
    return create_app(repository, max_stories_per_request, poll_wait_s=poll_wait_s)


@contextlib.contextmanager
def live_server(app, timeout_s: float = 30.0):
    """Runs `app` under uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
        listener.close()


@contextlib.contextmanager
def story_client(export_dir: str, **app_options):
    """An httpx.Client of a live server over `export_dir` (story_app's options)."""
    with live_server(story_app(export_dir, **app_options)) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        yield client

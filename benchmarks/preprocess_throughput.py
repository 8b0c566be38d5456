"""Throughput of preprocessing (Beam) and reading (tf.data), each against a plain Python loop
doing the same work in the same run, on the embedded synthetic dataset.

  python -m benchmarks.preprocess_throughput [--num_stories=600] [--repeats=3] \\
      [--output=benchmarks/results/preprocess_throughput.json] [Beam options, e.g. --runner=...]

(a) stories/s of `storyvis_tf.data.preprocess.preprocess` (render, check, vocabulary, PNG-encode,
    serialise, write shards, manifest) vs a loop that renders every story, builds the vocabulary
    from the training split, serialises every story and writes one TFRecord file.
(b) stories/s through `load_dataset` (parallel reads, PNG decode, padding, batching) vs a loop
    over `tf.data.TFRecordDataset` that decodes each record with protobuf + Pillow one by one.
Figures are medians over --repeats runs; the JSON records the machine and the command.
"""
import json
import os
import platform
import sys
import tempfile

import apache_beam as beam
import numpy as np
import tensorflow as tf
from absl import app, flags

from benchmarks.output import write_result
from benchmarks.timing import timed
from storyvis_tf.data import schema
from storyvis_tf.data.loader import load_dataset
from storyvis_tf.data.preprocess import DEFAULT_RUNNER_ARGS, preprocess
from storyvis_tf.data.readers.base import SPLITS
from storyvis_tf.data.readers.synthetic import SyntheticReader
from storyvis_tf.text.vocabulary import Vocabulary

_NUM_STORIES = flags.DEFINE_integer("num_stories", 600, "Training stories (val and test get one "
                                    "each, the synthetic reader needs every split).")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 64, "Frame side in pixels.")
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 4, "Shards per split.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Stories per batch for load_dataset.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats per measurement (median reported).")
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/preprocess_throughput.json",
                              "Where the JSON result goes.")


def _median_rate(run, count: int, repeats: int) -> dict:
    """Runs `run()` `repeats` times; stories/s from the median wall time."""
    timing = timed(run, repeats)
    return {"stories_per_s": count / timing["median_s"], **timing}


def _loop_preprocess(reader: SyntheticReader, path: str) -> None:
    """The Beam pipeline's work, one story after another in this process."""
    stories = {split: [reader.load_story(ref) for ref in reader.story_refs(split)]
               for split in SPLITS}
    vocabulary = Vocabulary.from_sentences(s for story in stories["train"] for s in story.sentences)
    with tf.io.TFRecordWriter(path) as writer:
        for split in SPLITS:
            for story in stories[split]:
                writer.write(schema.story_to_example(story, vocabulary, reader.name, split))


def _loader_pass(directory: str) -> None:
    for _ in load_dataset(directory, "train", _BATCH_SIZE.value):
        pass


def _loop_read(directory: str, num_shards: int) -> None:
    """Reads the same shards record by record, decoding frames with Pillow."""
    for record in tf.data.TFRecordDataset(schema.shard_paths(directory, "train", num_shards)):
        story = schema.example_to_story(record.numpy())
        story.frames.astype(np.float32) / 127.5 - 1.0


def main(argv: list[str]) -> None:
    beam_args = argv[1:] or list(DEFAULT_RUNNER_ARGS)
    num_stories = {"train": _NUM_STORIES.value, "val": 1, "test": 1}
    total = sum(num_stories.values())
    reader = SyntheticReader("", image_size=_IMAGE_SIZE.value, num_stories=num_stories)
    with tempfile.TemporaryDirectory() as workdir:
        records_dir = os.path.join(workdir, "records")
        beam_rate = _median_rate(
            lambda: preprocess(reader, records_dir, image_size=_IMAGE_SIZE.value,
                               num_shards=_NUM_SHARDS.value, pipeline_args=beam_args,
                               overwrite=True), total, _REPEATS.value)
        loop_rate = _median_rate(
            lambda: _loop_preprocess(reader, os.path.join(workdir, "loop.tfrecord")), total,
            _REPEATS.value)
        train = num_stories["train"]
        loader_rate = _median_rate(lambda: _loader_pass(records_dir), train, _REPEATS.value)
        read_loop_rate = _median_rate(lambda: _loop_read(records_dir, _NUM_SHARDS.value), train,
                                      _REPEATS.value)

    result = {
        "command": " ".join(["python -m benchmarks.preprocess_throughput", *sys.argv[1:]]),
        "machine": {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "tensorflow": tf.__version__, "apache_beam": beam.__version__,
                    "load_average_1_5_15min_at_end": os.getloadavg()},
        "settings": {"stories": num_stories, "image_size": _IMAGE_SIZE.value,
                     "frames_per_story": reader.frames_per_story, "num_shards": _NUM_SHARDS.value,
                     "batch_size": _BATCH_SIZE.value, "repeats": _REPEATS.value,
                     "beam_args": beam_args},
        "preprocess": {"beam": beam_rate, "python_loop": loop_rate,
                       "beam_over_loop": beam_rate["stories_per_s"] / loop_rate["stories_per_s"]},
        "read": {"load_dataset": loader_rate, "python_loop": read_loop_rate,
                 "load_dataset_over_loop": (loader_rate["stories_per_s"]
                                            / read_loop_rate["stories_per_s"])},
    }
    write_result(_OUTPUT.value, result)
    print(json.dumps({"preprocess": result["preprocess"], "read": result["read"]}, indent=2))


if __name__ == "__main__":
    app.run(main, flags_parser=lambda argv: flags.FLAGS(argv, known_only=True))

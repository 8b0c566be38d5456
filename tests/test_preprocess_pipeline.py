"""The Beam preprocessing pipeline: records, vocabulary, dead letter and manifest, and its CLI."""
import datetime
import glob
import gzip
import json
import os
import shutil

import ml_collections
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

import storyvis_tf
from configs import default as default_config
from storyvis_tf.data import schema
from storyvis_tf.data.errors import BadStoryError
from storyvis_tf.data.loader import load_dataset
from storyvis_tf.data.preprocess import (PreprocessArgumentError, pipeline_options, preprocess,
                                         run_preprocess)
from storyvis_tf.data.readers.base import StoryReader
from storyvis_tf.data.story import Story, StoryRef
from storyvis_tf.text.vocabulary import UNK_ID, Vocabulary
from tests.pipeline_cli import run_pipeline

SIZE = 8
GOOD = {"train": 4, "val": 2, "test": 2}
# story id -> (kind of fault, split, stage, exception, words of the reason)
FAULTS = {
    "train-missing": ("missing_file", "train", "load", "storyvis_tf.data.errors.BadStoryError",
                      "frames/7.png: image file not found"),
    "train-frames": ("frame_count", "train", "load", "storyvis_tf.data.errors.BadStoryError",
                     "2 frames, the dataset has 3 per story"),
    "train-size": ("image_size", "train", "load", "storyvis_tf.data.errors.BadStoryError",
                   "frames are 4x4, expected 8x8"),
    "val-crash": ("crash", "val", "load", "builtins.OSError", "image file is truncated"),
    "val-labels": ("label_count", "val", "load", "storyvis_tf.data.errors.BadStoryError",
                   "3 labels per frame, the dataset has 2"),
    "val-annotation": ("annotation", "val", "serialise", "builtins.ValueError",
                       "annotation of frame 0 is not JSON-serialisable"),
    "test-multihot": ("labels_not_multi_hot", "test", "load",
                      "storyvis_tf.data.errors.BadStoryError", "labels are not multi-hot"),
    "test-nowords": ("no_words", "test", "load", "storyvis_tf.data.errors.BadStoryError",
                     "sentence of frame 1 has no words"),
    "test-id": ("wrong_id", "test", "load", "storyvis_tf.data.errors.BadStoryError",
                "reader returned story 'someone-else'"),
}


class FaultyReader(StoryReader):
    """3-frame stories of 8x8 pixels; the stories named in FAULTS are broken in their own way.

    Sentences name the split and the story, so the vocabulary shows which splits it came from;
    rejected stories say "ghost", which must not reach the vocabulary.
    """

    name = "faulty"
    label_names = ("hero", "villain")
    frames_per_story = 3

    def validate(self):
        pass

    def story_refs(self, split):
        ids = [f"{split}-{i}" for i in range(GOOD[split])]
        ids += [story_id for story_id, fault in FAULTS.items() if fault[1] == split]
        for story_id in ids:
            yield StoryRef(self.name, split, story_id, {"file": f"{story_id}.npz"})

    def good_story(self, ref: StoryRef) -> Story:
        rng = np.random.default_rng(abs(hash(ref.story_id)) % 2**32)
        sentences = [f"The {ref.split} hero walks {t}" for t in range(3)]
        if ref.story_id == "train-1":
            sentences[2] = "the hero walks far far away today"  # the longest training sentence
        if ref.story_id == "val-0":
            sentences[0] = "a very long validation sentence that is longer than any train one"
        labels = np.array([[1, 0], [1, 1], [0, 1]], np.float32)
        return Story(ref.story_id, rng.integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8),
                     sentences, labels, [f"{ref.story_id}/{t}" for t in range(3)],
                     [{"t": t} for t in range(3)])

    def load_story(self, ref):
        if ref.story_id not in FAULTS:
            return self.good_story(ref)
        kind = FAULTS[ref.story_id][0]
        if kind == "missing_file":
            raise BadStoryError("frames/7.png", "image file not found")
        if kind == "crash":
            raise OSError("image file is truncated")
        frames = np.zeros((3, SIZE, SIZE, 3), np.uint8)
        sentences = ["ghost story one", "ghost story two", "ghost story three"]
        labels = np.zeros((3, 2), np.float32)
        annotations = [{}, {}, {}]
        story_id = ref.story_id
        if kind == "frame_count":
            frames, sentences, labels = frames[:2], sentences[:2], labels[:2]
        elif kind == "image_size":
            frames = np.zeros((3, 4, 4, 3), np.uint8)
        elif kind == "label_count":
            labels = np.zeros((3, 3), np.float32)
        elif kind == "labels_not_multi_hot":
            labels[0, 0] = 0.5
        elif kind == "no_words":
            sentences[1] = "... !"
        elif kind == "wrong_id":
            story_id = "someone-else"
        elif kind == "annotation":
            annotations = [{"ghosts": {1, 2}}, {}, {}]
        n = len(sentences)
        return Story(story_id, frames, sentences, labels, ["x"] * n, annotations[:n])


def _run(output_dir, **options):
    return preprocess(FaultyReader(""), str(output_dir), image_size=SIZE,
                      config={"note": "test run"}, **{"num_shards": 2, **options})


@pytest.fixture(scope="module")
def preprocessed(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("preprocessed")
    return output_dir, _run(output_dir)


def _records(output_dir, split, num_shards=2, compression=""):
    paths = schema.shard_paths(str(output_dir), split, num_shards)
    return [r.numpy() for r in tf.data.TFRecordDataset(paths, compression_type=compression)]


def test_every_rejected_story_is_one_dead_letter_line(preprocessed):
    output_dir, _ = preprocessed
    lines = [line for path in glob.glob(str(output_dir / "rejected" / "*.jsonl"))
             for line in open(path).read().splitlines()]
    records = {r["story_id"]: r for r in map(json.loads, lines)}
    assert len(lines) == len(FAULTS) and sorted(records) == sorted(FAULTS)
    for story_id, (_, split, stage, exception, reason) in FAULTS.items():
        record = records[story_id]
        assert (record["dataset"], record["split"], record["stage"], record["exception"]) == (
            "faulty", split, stage, exception), story_id
        assert reason in record["reason"], (story_id, record["reason"])
        assert record["source"] == {"file": f"{story_id}.npz"}
        assert "Traceback" in record["traceback"]


def test_manifest_counts_are_exact(preprocessed):
    _, manifest = preprocessed
    assert manifest["splits"] == GOOD
    assert manifest["rejected_per_split"] == {"train": 3, "val": 3, "test": 3}
    assert manifest["rejected"] == len(FAULTS)


def test_manifest_describes_the_run(preprocessed):
    output_dir, manifest = preprocessed
    assert json.loads((output_dir / "manifest.json").read_text()) == manifest
    vocabulary = Vocabulary.load(str(output_dir / "vocab.txt"))
    assert manifest["vocab_size"] == len(vocabulary)
    assert manifest["vocab_sha256"] == vocabulary.sha256()
    assert (manifest["dataset"], manifest["image_size"], manifest["frames_per_story"]) == (
        "faulty", SIZE, 3)
    assert manifest["label_names"] == ["hero", "villain"]
    assert (manifest["num_shards"], manifest["compression"]) == (2, "none")
    assert manifest["storyvis_tf_version"] == storyvis_tf.__version__
    assert manifest["config"] == {"note": "test run"}
    assert datetime.datetime.fromisoformat(manifest["created"]).tzinfo is not None
    assert not (output_dir / "_counts").exists()


def test_vocabulary_and_sentence_length_come_from_accepted_training_stories(preprocessed):
    output_dir, manifest = preprocessed
    reader = FaultyReader("")
    train = [reader.good_story(ref) for ref in reader.story_refs("train")
             if ref.story_id not in FAULTS]
    expected = Vocabulary.from_sentences(s for story in train for s in story.sentences)
    assert Vocabulary.load(str(output_dir / "vocab.txt")).words == expected.words
    assert "ghost" not in expected.words and "val" not in expected.words
    assert manifest["max_sentence_length"] == 7  # "the hero walks far far away today"


def test_records_hold_the_accepted_stories_exactly(preprocessed):
    output_dir, _ = preprocessed
    reader = FaultyReader("")
    vocabulary = Vocabulary.load(str(output_dir / "vocab.txt"))
    for split, count in GOOD.items():
        assert sorted(os.listdir(output_dir / split)) == [
            f"{split}-0000{i}-of-00002.tfrecord" for i in range(2)]
        stories = [schema.example_to_story(r) for r in _records(output_dir, split)]
        assert sorted(s.story_id for s in stories) == [f"{split}-{i}" for i in range(count)]
        for story in stories:
            expected = reader.good_story(StoryRef("faulty", split, story.story_id, {}))
            np.testing.assert_array_equal(story.frames, expected.frames)
            assert story.sentences == expected.sentences
    val_tokens = schema.parse_example(_records(output_dir, "val")[0])["token_ids"][1]
    assert val_tokens.numpy().tolist() == [vocabulary.encode("the")[0], UNK_ID,
                                           *vocabulary.encode("hero walks 1")]


def test_existing_output_is_refused_without_overwrite(preprocessed):
    output_dir, _ = preprocessed
    with pytest.raises(FileExistsError, match=r"manifest\.json exists.*--overwrite"):
        _run(output_dir)


def test_overwrite_leaves_no_stale_shard(preprocessed, tmp_path):
    output_dir = tmp_path / "copy"
    shutil.copytree(preprocessed[0], output_dir)
    (output_dir / "train" / "notes.txt").write_text("not ours")
    manifest = _run(output_dir, num_shards=1, compression="gzip", overwrite=True)
    assert (manifest["num_shards"], manifest["compression"]) == (1, "gzip")
    assert sorted(os.listdir(output_dir / "train")) == ["notes.txt",
                                                        "train-00000-of-00001.tfrecord"]
    with gzip.open(output_dir / "train" / "train-00000-of-00001.tfrecord") as f:
        assert len(f.read()) > 0
    story_ids = [sid for batch in load_dataset(str(output_dir), "train", 3)
                 for sid in batch["story_id"].numpy()]
    assert sorted(story_ids) == [f"train-{i}".encode() for i in range(GOOD["train"])]


def test_default_runner_downloads_nothing_and_any_runner_passes_through():
    default = pipeline_options([])
    assert default.view_as(StandardOptions).runner == "DirectRunner"
    assert default.view_as(DirectOptions).direct_running_mode == "in_memory"
    chosen = pipeline_options(["--runner=FlinkRunner", "--parallelism=4"])
    assert chosen.view_as(StandardOptions).runner == "FlinkRunner"
    assert chosen.get_all_options()["parallelism"] == 4


def _config(**data) -> ml_collections.ConfigDict:
    config = default_config.get_config()
    config.data.update(data)
    return config


@pytest.mark.parametrize("dataset, data_dir, image_size, message", [
    ("mnist", "", 64, r"unknown dataset 'mnist'; choose one of synthetic, pororo"),
    ("pororo", "", 64, r"data_dir is required for pororo"),
    ("pororo", "/no/such/dir", 64, r"data_dir /no/such/dir does not exist"),
    ("synthetic", "", 0, r"image_size must be a power of two >= 8, got 0"),
    ("synthetic", "", 48, r"image_size must be a power of two >= 8, got 48"),
])
def test_arguments_are_checked_before_any_work(tmp_path, dataset, data_dir, image_size, message):
    with pytest.raises(PreprocessArgumentError, match=message):
        run_preprocess(dataset, data_dir, str(tmp_path / "out"), image_size, config=_config())
    assert not (tmp_path / "out").exists()


def test_missing_output_dir_and_existing_manifest_are_refused(preprocessed):
    with pytest.raises(PreprocessArgumentError, match="output_dir is required"):
        run_preprocess("synthetic", "", "", 32, config=_config())
    with pytest.raises(PreprocessArgumentError, match=r"manifest\.json exists"):
        run_preprocess("synthetic", "", str(preprocessed[0]), 32, config=_config())


def _cli(*args):
    return run_pipeline("preprocess", *args, timeout=300)


@pytest.mark.slow
def test_cli_end_to_end_on_the_synthetic_dataset(tmp_path):
    output_dir = tmp_path / "synthetic"
    result = _cli("--dataset=synthetic", f"--output_dir={output_dir}", "--image_size=32",
                  "--config.data.synthetic_train=4", "--config.data.synthetic_val=2",
                  "--config.data.synthetic_test=2", "--config.data.num_shards=2",
                  "--direct_num_workers=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"to {output_dir}: train 4, val 2, test 2 stories; rejected 0" in result.stdout
    manifest = json.loads((output_dir / "manifest.json").read_text())
    assert (manifest["dataset"], manifest["splits"], manifest["num_shards"]) == (
        "synthetic", {"train": 4, "val": 2, "test": 2}, 2)
    assert manifest["config"]["arguments"]["pipeline_args"] == ["--direct_num_workers=1"]
    assert manifest["config"]["experiment"]["data"]["synthetic_train"] == 4
    batch = next(iter(load_dataset(str(output_dir), "val", 2)))
    assert batch["images"].shape == (2, 5, 32, 32, 3)
    assert batch["token_ids"].shape == (2, 5, manifest["max_sentence_length"])


@pytest.mark.slow
def test_cli_refuses_bad_flags_with_a_message(tmp_path):
    result = _cli("--dataset=mnist", f"--output_dir={tmp_path}")
    assert result.returncode == 1
    assert "unknown dataset 'mnist'" in result.stderr

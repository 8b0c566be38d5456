"""The TFDS builders (storyvis_tf.data.tfds) on the format-exact fixtures of the four public
releases (tests/public_fixtures.py), with every network path refused."""
import json
import logging
import os
import socket

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

import storyvis_tf.data.tfds  # noqa: F401 -- registers the builders
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.readers import make_reader
from storyvis_tf.data.tfds import REJECTED_FILE, StoryConfig
from tests import public_fixtures as fx

SPLITS = ("train", "val", "test")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection fails the test, and TFDS is made to believe a prepared copy of every
    dataset is on GCS: the builders must still read manual_dir and fetch nothing."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(gcs_utils, "is_dataset_on_gcs", lambda name: True)
    monkeypatch.setattr(gcs_utils, "download_gcs_dataset", refuse)


def manual_dir(tmp_path, build, **options) -> str:
    root = tmp_path / "manual"
    root.mkdir()
    return build(str(root), **options)


def load(name: str, tmp_path, manual: str):
    """`tfds.load` as docs/TFDS.md shows it: every split, with the builder's info."""
    return tfds.load(name, data_dir=str(tmp_path / "tfds"), with_info=True,
                     download_and_prepare_kwargs={
                         "download_config": tfds.download.DownloadConfig(manual_dir=manual)})


def story_ids(dataset) -> list[str]:
    return [example["story_id"].numpy().decode() for example in dataset]


def rejected_lines(info) -> list[dict]:
    with open(os.path.join(info.data_dir, REJECTED_FILE)) as f:
        return [json.loads(line) for line in f]


def test_clevr_sv_loads_the_fixture_as_the_reader_reads_it(tmp_path):
    manual = manual_dir(tmp_path, fx.build_clevr)
    datasets, info = load("clevr_sv", tmp_path, manual)
    reader = make_reader("clevr", manual, image_size=64)
    assert {split: info.splits[split].num_examples for split in SPLITS} == {
        "train": 2, "val": 1, "test": 2}
    for split in SPLITS:
        assert story_ids(datasets[split]) == [ref.story_id for ref in reader.story_refs(split)]
    example = next(iter(datasets["train"]))
    assert example["story_id"].numpy() == b"CLEVR_new_000003"
    assert example["frames"].dtype == np.uint8 and example["frames"].shape == (4, 64, 64, 3)
    assert example["labels"].dtype == np.float32 and example["labels"].shape == (4, 15)
    story = reader.load_story(next(reader.story_refs("train")))
    assert [s.decode() for s in example["sentences"].numpy()] == story.sentences
    assert example["sentences"][0].numpy() == b"there is a large gray rubber cube"
    assert (example["frames"].numpy() == story.frames).all()      # PNG: lossless
    assert (example["labels"].numpy() == story.labels).all()
    assert [s.decode() for s in example["sources"].numpy()] == story.sources
    assert json.loads(example["annotations"][3].numpy()) == story.annotations[3]
    assert info.metadata["label_names"] == list(reader.label_names)
    assert info.metadata["rejected"] == 0 and rejected_lines(info) == []


def test_pororo_sv_keeps_stored_order_and_the_splits_of_the_split_file(tmp_path):
    _, info = load("pororo_sv", tmp_path, manual_dir(tmp_path, fx.build_pororo))
    assert {split: info.splits[split].num_examples for split in SPLITS} == {
        split: len(rows) for split, rows in fx.PORORO_SPLIT_ROWS.items()}
    train = tfds.as_numpy(tfds.builder("pororo_sv", data_dir=str(tmp_path / "tfds"))
                          .as_dataset(split="train"))
    assert [e["story_id"].decode() for e in train] == [
        fx.PORORO_ROWS[row] for row in fx.PORORO_SPLIT_ROWS["train"]]   # not sorted, not hashed
    assert info.features["labels"].shape == (5, 9)


def test_pororo_sv_two_way_split_file_has_no_val_split(tmp_path):
    manual = manual_dir(tmp_path, fx.build_pororo, split_file="train_test_ids.npy")
    _, info = load("pororo_sv", tmp_path, manual)
    assert {name: split.num_examples for name, split in info.splits.items()} == {
        "train": 6, "test": 2}


def test_flintstones_sv_builds_and_reports_the_clip_without_followers(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="storyvis_tf.data.tfds.story_builder"):
        _, info = load("flintstones_sv", tmp_path, manual_dir(tmp_path, fx.build_flintstones))
    assert {split: info.splits[split].num_examples for split in SPLITS} == {
        "train": 2, "val": 1, "test": 1}
    # The last clip of the sorted list has an empty followers entry: the field drops it silently.
    [record] = rejected_lines(info)
    assert (record["split"], record["story_id"]) == ("test", fx.FLINTSTONES_EP21[0])
    assert "has 0 of 4 followers" in record["reason"]
    assert info.metadata["rejected_per_split"] == {"train": 0, "val": 0, "test": 1}
    assert "flintstones_sv: 1 stories of the release were rejected" in caplog.text


def test_abstract_scenes_sv_label_names_come_from_the_scenes_file(tmp_path):
    manual = manual_dir(tmp_path, fx.build_abstract)
    datasets, info = load("abstract_scenes_sv", tmp_path, manual)
    assert {split: info.splits[split].num_examples for split in SPLITS} == {
        "train": 4, "val": 2, "test": 2}
    assert info.metadata["label_names"] == ["jenny", "mike", "p_0s", "p_1s", "p_2s", "p_3s",
                                            "s_3s"]
    example = next(iter(datasets["train"]))
    assert example["labels"].shape == (5, 7)
    assert example["labels"][0].numpy().tolist() == [1, 1, 1, 0, 0, 0, 1]


def test_bad_story_is_counted_and_reported_not_dropped(tmp_path, caplog):
    manual = manual_dir(tmp_path, fx.build_clevr, defect="corrupt_image")
    with caplog.at_level(logging.WARNING, logger="storyvis_tf.data.tfds.story_builder"):
        datasets, info = load("clevr_sv", tmp_path, manual)
    assert story_ids(datasets["train"]) == [f"CLEVR_new_{fx.CLEVR_SAFE:06d}"]
    [record] = rejected_lines(info)
    assert record["story_id"] == f"CLEVR_new_{fx.CLEVR_VICTIM:06d}"
    assert (record["split"], record["stage"]) == ("train", "load")
    assert "unreadable image" in record["reason"]
    assert record["exception"] == "storyvis_tf.data.errors.BadStoryError"
    assert "rejected (train 1, val 0, test 0)" in caplog.text
    assert os.path.join(info.data_dir, REJECTED_FILE) in caplog.text
    # The count is part of the prepared dataset: a later load reads it back.
    reloaded = tfds.builder("clevr_sv", data_dir=str(tmp_path / "tfds")).info
    assert reloaded.metadata["rejected"] == 1
    assert reloaded.metadata["rejected_per_split"] == {"train": 1, "val": 0, "test": 0}


def test_split_whose_every_story_is_rejected_names_a_reason(tmp_path):
    manual = manual_dir(tmp_path, fx.build_clevr)
    os.remove(os.path.join(manual, "images", "CLEVR_new_013000_2.png"))    # the one val story
    with pytest.raises(DatasetFormatError, match="every story of the val split .* was rejected, "
                                                 "e.g. CLEVR_new_013000: .*image file not found"):
        load("clevr_sv", tmp_path, manual)


def test_manual_dir_without_the_release_names_the_missing_file(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "README").write_text("not CLEVR-SV")
    with pytest.raises(DatasetFormatError, match="images not found in .*: expected a directory"):
        load("clevr_sv", tmp_path, str(manual))


def test_custom_config_sets_the_frame_size_and_frame_choice(tmp_path):
    config = StoryConfig(name="32px_random", image_size=32, train_frame_choice="random", seed=3)
    manual = manual_dir(tmp_path, fx.build_pororo)
    builder = tfds.builder("pororo_sv", config=config, data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
    reader = make_reader("pororo", manual, image_size=32, train_frame_choice="random", seed=3)
    expected = [reader.load_story(ref).frames for ref in reader.story_refs("train")]
    frames = [e["frames"] for e in tfds.as_numpy(builder.as_dataset(split="train"))]
    assert frames[0].shape == (5, 32, 32, 3)
    assert all((f == e).all() for f, e in zip(frames, expected, strict=True))
    assert os.path.basename(os.path.dirname(builder.data_dir)) == "32px_random"

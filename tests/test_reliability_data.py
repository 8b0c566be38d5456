"""Real data without friction (issue 20): a CLEVR-SV sample gets its own split (story-number
ranges or seeded fractions), a story with frames but no attributes and one with a NaN coordinate
are rejected with their reasons, an empty split is warned about, the manifest names the dataset
actually read, a truncated shard is named before any record is read, Beam typos are refused, and
the data's frame count reaches the stages unless the user chose another."""
import glob
import json
import os
import shutil
import sys
from unittest import mock

import numpy as np
import pytest
from absl import flags

from configs import smoke
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.loader import load_dataset
from storyvis_tf.data import preprocess
from storyvis_tf.data.preprocess import run_preprocess, unknown_pipeline_args
from storyvis_tf.data.readers.clevr import parse_split, split_stories
from storyvis_tf.stage_dirs import DATA_KIND
from tests import public_fixtures as fx

NO_ATTRIBUTES, NAN_COORDINATE = 196, 200
SPLIT = "train=0-9999,test=10000-"


def _add_stories(root: str) -> None:
    """Story 196: frames without CLEVR_dict.npy entries; story 200: story 3 with a NaN x."""
    vectors = np.load(os.path.join(root, "CLEVR_dict.npy"), allow_pickle=True).item()
    for k in range(1, 5):
        source = os.path.join(root, "images", f"CLEVR_new_000003_{k}.png")
        for story in (NO_ATTRIBUTES, NAN_COORDINATE):
            shutil.copy(source, os.path.join(root, "images", f"CLEVR_new_{story:06d}_{k}.png"))
        vector = vectors[f"CLEVR_new_000003_{k}.png"].copy()
        vector[15] = np.nan                             # object 1's x coordinate
        vectors[f"CLEVR_new_{NAN_COORDINATE:06d}_{k}.png"] = vector
    np.save(os.path.join(root, "CLEVR_dict.npy"), vectors)


@pytest.fixture(scope="module")
def clevr_data(tmp_path_factory):
    root = fx.build_clevr(str(tmp_path_factory.mktemp("clevr_release")))
    _add_stories(root)
    config = smoke.get_config()
    config.data.split = SPLIT
    output = str(tmp_path_factory.mktemp("clevr") / "data")
    with mock.patch.object(preprocess.logging, "warning") as warning:
        manifest = run_preprocess("clevr", root, output, 16, ["--direct_num_workers=1"],
                                  config=config)
    return output, manifest, [call.args for call in warning.call_args_list]


def test_a_sample_gets_its_own_split_and_every_bad_story_is_counted(clevr_data):
    output, manifest, warnings = clevr_data
    assert manifest["kind"] == DATA_KIND and manifest["dataset"] == "clevr"
    assert manifest["config"]["experiment"]["data"]["dataset"] == "clevr"
    assert manifest["config"]["experiment"]["data"]["image_size"] == 16
    assert manifest["frames_per_story"] == 4
    assert manifest["splits"] == {"train": 2, "val": 0, "test": 3}
    assert manifest["rejected_per_split"] == {"train": 2, "val": 0, "test": 0}
    assert [args[1] for args in warnings] == ["val"]            # the empty split is warned
    (rejected_file,) = glob.glob(os.path.join(output, "rejected", "*.jsonl"))
    with open(rejected_file) as f:
        reasons = {record["story_id"]: record["reason"] for record in map(json.loads, f)}
    assert reasons[f"CLEVR_new_{NO_ATTRIBUTES:06d}"] == (
        f"CLEVR_new_{NO_ATTRIBUTES:06d}_1.png: no entry in CLEVR_dict.npy")
    assert reasons[f"CLEVR_new_{NAN_COORDINATE:06d}"] == (
        f"CLEVR_new_{NAN_COORDINATE:06d}_1.png: CLEVR_dict.npy entry holds non-finite values "
        "at [15]")


def test_a_truncated_shard_is_named_before_reading(clevr_data, tmp_path):
    copy = str(tmp_path / "data")
    shutil.copytree(clevr_data[0], copy)
    (shard,) = glob.glob(os.path.join(copy, "train", "*.tfrecord"))
    with open(shard, "r+b") as f:
        f.truncate(os.path.getsize(shard) - 10)
    with pytest.raises(DatasetFormatError, match=rf"^{shard} has \d+ bytes, \d+ when it was "
                                                 "written"):
        load_dataset(copy, "train", 2)
    assert len(list(load_dataset(clevr_data[0], "train", 2))) == 1


def test_split_ranges_and_seeded_fractions():
    numbers = list(range(100))
    ranges = split_stories(numbers, "train=0-79,val=80-87,test=88-", seed=0)
    assert (ranges["train"], ranges["val"], ranges["test"]) == (
        list(range(80)), list(range(80, 88)), list(range(88, 100)))
    fractions = split_stories(numbers, "train=0.8,val=0.1,test=0.1", seed=3)
    assert [len(fractions[s]) for s in ("train", "val", "test")] == [80, 10, 10]
    assert sorted(sum(fractions.values(), [])) == numbers
    assert fractions == split_stories(numbers, "train=0.8,val=0.1,test=0.1", seed=3)
    assert fractions != split_stories(numbers, "train=0.8,val=0.1,test=0.1", seed=4)
    assert split_stories([5, 10000, 13000], "", 0) == {"train": [5], "test": [10000],
                                                        "val": [13000]}
    for spec, message in (("train=0-5,val=5-9", "story 5 lies in the ranges of train and val"),
                          ("train=0.5,val=1-3", "mixes story-number ranges and fractions"),
                          ("train=0.5,val=0.2", "sum to 1"),
                          ("tran=0.5", "splits among train, val, test"),
                          ("train=a-b", "neither a story-number range")):
        with pytest.raises(ValueError, match=message):
            split_stories(list(range(10)), spec, 0) if "-5" in spec else parse_split(spec)


def test_beam_typos_are_found():
    assert unknown_pipeline_args(["--image_szie=64", "--direct_num_workers=1"]) == [
        "--image_szie=64"]
    assert unknown_pipeline_args(["--runner=DirectRunner", "--direct_running_mode=in_memory",
                                  "--project=p", "--temp_location=/tmp"]) == []


def test_the_data_shape_reaches_the_stages_unless_chosen():
    from pipelines import cli, pretrain  # noqa: F401  (defines the --config flag)
    argv = ["pretrain", "--config=configs/smoke.py", "--config.data.image_size=64"]
    try:
        with mock.patch.object(sys, "argv", argv):  # config_flags reads its overrides there
            flags.FLAGS(argv)
            chosen = cli.chosen_keys()
    finally:
        flags.FLAGS.unparse_flags()
    assert {"data.image_size", "data.max_sentence_length"} <= chosen   # flag, config file
    assert "data.frames_per_story" not in chosen                        # the default's

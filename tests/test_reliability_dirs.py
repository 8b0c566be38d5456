"""What survives what (issue 20, docs/RELIABILITY.md): a directory of another stage is refused by
every stage, --overwrite included; a run is complete when its epochs are done, extended when they
are raised, refused when its checkpoint is gone; checkpoints are written atomically and a damaged
one is named; a mistyped config key is named with the nearest valid one; evaluate checks that it
can write before it works."""
import json
import os

import keras
import numpy as np
import pytest

from configs import smoke
from storyvis_tf import stage_dirs
from storyvis_tf.config_checks import check_image_size, take_data_shape, unknown_key_message
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.loader import read_manifest
from storyvis_tf.data.preprocess import check_output_dir
from storyvis_tf.evaluation.evaluator import EvaluateArgumentError, check_arguments
from storyvis_tf.training.callbacks import CrashSafeBackup
from storyvis_tf.training.pretrain import PretrainArgumentError, check_pretrain_arguments
from storyvis_tf.training.resume import CHECKPOINTS, ResumeError, check_resume
from storyvis_tf.training.trainer import prepare_run_dir
from storyvis_tf.weights_files import WeightsFileError, load_weights
from tests.pipeline_cli import run_pipeline

DATA_MANIFEST = {"dataset": "synthetic", "image_size": 32, "frames_per_story": 5,
                 "splits": {"train": 8, "val": 4, "test": 4}, "vocab_size": 10,
                 "vocab_sha256": "0" * 64, "max_sentence_length": 7, "label_names": ["a"],
                 "num_shards": 1, "compression": "none"}


def _write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(content, f)


@pytest.fixture
def stage_tree(tmp_path):
    """One directory of each kind, as the stages leave them (manifests only)."""
    dirs = {name: str(tmp_path / name) for name in ("data", "legacy_data", "pretrain", "run",
                                                    "started_run", "exports", "eval")}
    _write(os.path.join(dirs["data"], "manifest.json"),
           {**DATA_MANIFEST, "kind": stage_dirs.DATA_KIND})
    _write(os.path.join(dirs["legacy_data"], "manifest.json"), DATA_MANIFEST)
    _write(os.path.join(dirs["pretrain"], "manifest.json"), {"kind": stage_dirs.PRETRAIN_KIND,
                                                             "epochs": 1})
    _write(os.path.join(dirs["run"], "manifest.json"), {"kind": stage_dirs.RUN_KIND, "epoch": 1})
    stage_dirs.claim_stage_directory(dirs["started_run"], stage_dirs.RUN_KIND)
    _write(os.path.join(dirs["exports"], "3", "assets", "manifest.json"),
           {"kind": stage_dirs.EXPORT_KIND})
    _write(os.path.join(dirs["eval"], "metrics.json"), {"metrics": {}})
    return dirs


def test_directory_kinds_are_recognised(stage_tree, tmp_path):
    expected = {"data": stage_dirs.DATA_KIND, "legacy_data": stage_dirs.DATA_KIND,
                "pretrain": stage_dirs.PRETRAIN_KIND, "run": stage_dirs.RUN_KIND,
                "started_run": stage_dirs.RUN_KIND, "exports": stage_dirs.EXPORTS_KIND,
                "eval": stage_dirs.EVALUATION_KIND}
    for name, kind in expected.items():
        assert stage_dirs.directory_kind(stage_tree[name])[0] == kind, name
    assert stage_dirs.directory_kind(os.path.join(stage_tree["exports"], "3"))[0] == \
        stage_dirs.EXPORT_KIND
    assert stage_dirs.directory_kind(str(tmp_path / "absent")) == (None, None)


def test_every_stage_refuses_another_stages_directory_overwrite_included(stage_tree):
    run = stage_tree["run"]
    with pytest.raises(stage_dirs.StageDirectoryError,
                       match=r"--output_dir .*/run holds a training run \(pipelines.train\) "
                             r"\(.*/run/manifest.json\), not preprocessed data"):
        check_output_dir(run, overwrite=True)
    with pytest.raises(PretrainArgumentError, match="holds a training run .* not a pretraining"):
        check_pretrain_arguments(smoke.get_config(), stage_tree["data"], run, overwrite=True)
    with pytest.raises(PretrainArgumentError, match="holds an interrupted|holds a training run"):
        check_pretrain_arguments(smoke.get_config(), stage_tree["data"],
                                 stage_tree["started_run"], overwrite=True)
    with pytest.raises(stage_dirs.StageDirectoryError, match="holds a pretraining run"):
        prepare_run_dir(stage_tree["pretrain"], smoke.get_config())
    with pytest.raises(EvaluateArgumentError, match="holds preprocessed data"):
        check_arguments("MODEL", stage_tree["data"], "test", stage_tree["legacy_data"],
                        overwrite=True)
    with pytest.raises(DatasetFormatError, match="manifest of a training run"):
        read_manifest(run)
    for name in ("run", "pretrain", "data", "legacy_data"):
        with open(os.path.join(stage_tree[name], "manifest.json")) as f:
            assert "kind" in json.load(f) or name == "legacy_data"   # nothing was replaced


def test_completion_is_judged_by_the_epochs_done(tmp_path):
    config = smoke.get_config()
    config.train.epochs = 4
    run = str(tmp_path / "run")
    prepare_run_dir(run, config)                            # a new run
    check_resume(run, config, epochs_key="train.epochs", epochs_done=None, run_name="run")
    _write(os.path.join(run, "manifest.json"), {"kind": stage_dirs.RUN_KIND, "epoch": 2})
    with pytest.raises(ResumeError, match=r"stopped after epoch 2 of 4 and its checkpoint "
                                          r".*checkpoints is gone"):
        prepare_run_dir(run, config)                        # not "completed"
    os.makedirs(os.path.join(run, CHECKPOINTS))
    prepare_run_dir(run, config)                            # resumed
    config.train.epochs = 2
    with pytest.raises(ResumeError, match="already holds a completed training run of 2 epochs: "
                                          r"raise --config.train.epochs above 2"):
        prepare_run_dir(run, config)
    config.train.epochs = 6                                 # extended
    prepare_run_dir(run, config)
    with open(os.path.join(run, "config.json")) as f:
        assert json.load(f)["train"]["epochs"] == 6
    config.train.batch_size = 4
    with pytest.raises(ResumeError, match=r"holds a training run with another config "
                                          r"\(train.batch_size differ"):
        prepare_run_dir(run, config)


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


_X, _Y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")


def test_checkpoints_are_atomic_named_when_damaged_and_resumes_are_logged(tmp_path):
    backup, logged = str(tmp_path / "checkpoints"), []
    model = _tiny_model()
    model.fit(_X, _Y, batch_size=2, epochs=1, verbose=0,
              callbacks=[CrashSafeBackup(backup, logged.append)])
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json"]
    weights = os.path.join(backup, "latest.weights.h5")
    saved = open(weights, "rb").read()

    # A kill in the middle of the next save: the file under the real name stays whole.
    crashing = _tiny_model()
    callback = CrashSafeBackup(backup, logged.append)

    def killed_mid_save(path, **kwargs):
        with open(path, "wb") as f:
            f.write(saved[:100])
        raise KeyboardInterrupt("killed")
    crashing.save_weights = killed_mid_save
    with pytest.raises(KeyboardInterrupt):
        crashing.fit(_X, _Y, batch_size=2, epochs=3, verbose=0, callbacks=[callback])
    assert open(weights, "rb").read() == saved
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json"]

    resumed = _tiny_model()
    history = resumed.fit(_X, _Y, batch_size=2, epochs=3, verbose=0,
                          callbacks=[CrashSafeBackup(backup, logged.append)])
    assert f"resuming from {backup}: epoch 1 of 3 done, step 2" in logged
    assert len(history.history["loss"]) == 2

    with open(weights, "r+b") as f:                     # a truncated file (e.g. a full disk)
        f.truncate(os.path.getsize(weights) // 2)
    with pytest.raises(WeightsFileError, match=rf"^{weights} cannot be loaded into sequential"):
        _tiny_model().fit(_X, _Y, epochs=4, verbose=0, callbacks=[CrashSafeBackup(backup)])
    with pytest.raises(WeightsFileError, match=rf"^{weights} cannot be loaded"):
        load_weights(_tiny_model(), weights)


def test_config_keys_image_sizes_and_data_shapes_are_checked():
    config = smoke.get_config()
    assert unknown_key_message(config, "train.epochs") is None
    assert unknown_key_message(config, "train.epoch") == (
        "unknown config key 'train.epoch'; did you mean train.epochs?")
    assert "did you mean pretrain?" in unknown_key_message(config, "pretrian.epochs")
    assert "is a value" in unknown_key_message(config, "seed.x")
    check_image_size(64, "data.image_size")
    with pytest.raises(ValueError, match="data.image_size must be a power of two >= 8, got 48"):
        check_image_size(48, "data.image_size")
    manifest = {"image_size": 32, "frames_per_story": 4, "max_sentence_length": 12}
    changed = take_data_shape(config, manifest, keep={"data.max_sentence_length"})
    assert changed == ["data.frames_per_story: 5 -> 4"]
    assert (config.data.frames_per_story, config.data.max_sentence_length) == (4, 8)


def test_evaluate_checks_it_can_write_before_working(stage_tree, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(stage_dirs.StageDirectoryError, match="--output_dir .*a_file/eval cannot "
                                                             "be written"):
        stage_dirs.check_writable(str(blocker / "eval"), "--output_dir")
    stage_dirs.check_writable(str(tmp_path / "new" / "eval"), "--output_dir")
    assert os.listdir(tmp_path / "new" / "eval") == []


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path):
    typo = run_pipeline("pretrain", "--config=configs/smoke.py", "--config.pretrain.epoch=3",
                        f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}",
                        timeout=300)
    assert typo.returncode == 1
    assert ("error: --config.pretrain.epoch: unknown config key 'pretrain.epoch'; did you mean "
            "pretrain.epochs?") in typo.stderr
    assert "Traceback" not in typo.stderr
    beam_typo = run_pipeline("preprocess", "--config=configs/smoke.py", "--image_szie=64",
                             f"--output_dir={tmp_path / 'data'}", timeout=300)
    assert beam_typo.returncode == 1
    assert ("error: unknown flag --image_szie=64: neither pipelines.preprocess nor Beam defines "
            "it") in beam_typo.stderr
    assert not (tmp_path / "data").exists()

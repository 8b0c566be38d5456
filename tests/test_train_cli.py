"""`python -m pipelines.train` end to end on a few embedded synthetic stories (configs/smoke.py):
a run directory that later stages can load, a sample grid and the metrics log; and the checks
made before any training."""
import json

import numpy as np
import pytest
from PIL import Image

from configs import smoke
from storyvis_tf.data.preprocess import run_preprocess
from storyvis_tf.training.run_dir import generate_images, load_run
from storyvis_tf.training.trainer import prepare_run_dir
from tests.pipeline_cli import run_pipeline


@pytest.fixture(scope="module")
def preprocessed(tmp_path_factory):
    """8 training, 4 validation stories of 5 frames at 32x32."""
    data_dir = str(tmp_path_factory.mktemp("data") / "synthetic")
    run_preprocess("synthetic", "", data_dir, 32, ["--direct_num_workers=1"],
                   config=smoke.get_config())
    return data_dir


def _train(*args):
    return run_pipeline("train", "--config=configs/smoke.py", *args)


@pytest.mark.slow
def test_train_cli_writes_a_loadable_run_directory(preprocessed, tmp_path):
    run = tmp_path / "run"
    result = _train(f"--data_dir={preprocessed}", f"--output_dir={run}",
                    "--config.train.epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "generator (clustering): 0.03 M trainable parameters (paper: 72.4 M" in result.stdout

    config, manifest, vocabulary, text_encoder, generator = load_run(str(run))
    assert (manifest["epoch"], manifest["step"]) == (1, 4)      # 8 stories, batches of 2
    assert manifest["max_sentence_length"] == config.data.max_sentence_length == 8
    token_ids = np.array([[vocabulary.encode("Pip waves.")[:8] + [0] * 6] * 5], "int32")
    images = np.asarray(generate_images(text_encoder, generator, token_ids,
                                        np.zeros((1, config.generator.noise_dim), "float32")))
    assert images.shape == (1, 5, 32, 32, 3) and np.abs(images).max() <= 1.0

    with Image.open(run / "samples" / "epoch_0001.png") as grid:
        # 2 stories x 5 frames, each frame enlarged to 128 pixels with its sentence below.
        assert grid.width == 5 * (128 + 4) + 4 and grid.height > 2 * 128
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert (record["epoch"], record["step"]) == (1, 4)
    assert {"d_total", "g_total", "d_cluster", "g_kl"} <= record.keys()
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 1
    assert any((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert (run / "checkpoints" / "latest.weights.h5").exists()    # kept: a run can be extended

    again = _train(f"--data_dir={preprocessed}", f"--output_dir={run}")
    assert again.returncode != 0
    assert "already holds a completed training run of 1 epochs" in again.stderr
    extended = _train(f"--data_dir={preprocessed}", f"--output_dir={run}",
                      "--config.train.epochs=2")
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert f"resuming from {run}/checkpoints: epoch 1 of 2 done, step 4" in extended.stdout
    assert (load_run(str(run))[1]["epoch"], load_run(str(run))[1]["step"]) == (2, 8)


@pytest.mark.slow
@pytest.mark.parametrize("flags, message", [
    (["--output_dir={tmp}/run"], "--data_dir is required"),
    (["--data_dir={data}"], "--output_dir is required"),
    (["--data_dir={tmp}", "--output_dir={tmp}/run"], "manifest.json not found"),
    (["--data_dir={data}", "--output_dir={tmp}/run", "--config.data.image_size=64"],
     "holds data.image_size = 32, the config says 64"),
    (["--data_dir={data}", "--output_dir={tmp}/run", "--config.clustering.mode=offline"],
     "clustering.mode = 'offline' needs --pretrained_dir"),
])
def test_train_cli_checks_its_inputs_before_training(preprocessed, tmp_path, flags, message):
    result = _train(*(flag.format(tmp=tmp_path, data=preprocessed) for flag in flags))
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "run").exists()


def test_an_interrupted_run_resumes_only_under_its_own_config(tmp_path):
    config = smoke.get_config()
    prepare_run_dir(str(tmp_path), config)
    (tmp_path / "checkpoints").mkdir()                 # as BackupAndRestore leaves it
    config.train.epochs = 3                            # allowed: train for longer
    prepare_run_dir(str(tmp_path), config)
    assert json.loads((tmp_path / "config.json").read_text())["train"]["epochs"] == 3
    config.losses.cluster = False
    config.clustering.k = 4
    with pytest.raises(ValueError, match=r"another config \(clustering\.k, losses\.cluster "
                                         r"differ from"):
        prepare_run_dir(str(tmp_path), config)

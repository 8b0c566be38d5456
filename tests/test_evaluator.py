"""The evaluator end to end: a tiny exported model scored on a tiny synthetic preprocessed set."""
import json
import math
import os

import keras
import numpy as np
import pytest
from PIL import Image

from configs import smoke
from storyvis_tf.data.loader import load_dataset, load_vocabulary, read_manifest
from storyvis_tf.data.preprocess import run_preprocess
from storyvis_tf.evaluation.evaluator import (METRICS_FILE, EvaluateArgumentError, evaluate,
                                              summary_table)
from storyvis_tf.evaluation.retrieval import r_precision_chance
from storyvis_tf.export.savedmodel import export_generator
from storyvis_tf.training import pretrained, run_dir
from tests.pipeline_cli import run_pipeline

pytestmark = pytest.mark.slow


def eval_config(cache_dir):
    config = smoke.get_config()
    config.eval.domain_epochs = 1
    config.eval.domain_batch_size = 8
    config.eval.domain_width = 4
    config.eval.domain_feature_dim = 8
    config.eval.statistics_cache_dir = str(cache_dir)
    return config


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Preprocessed smoke data (8/4/4 stories, 32x32), an exported random generator trained on
    its vocabulary, and random pretrained encoders whose R-precision ranks among 3 candidates."""
    root = tmp_path_factory.mktemp("evaluator")
    config = smoke.get_config()
    data_dir = str(root / "data")
    run_preprocess("synthetic", "", data_dir, config.data.image_size, config=config)
    vocabulary, manifest = load_vocabulary(data_dir), read_manifest(data_dir)
    length = manifest["max_sentence_length"]

    text_encoder, generator = run_dir.build_generation_models(config, len(vocabulary), length)
    run_dir.save_generation_artifacts(str(root / "run"), config, vocabulary, text_encoder,
                                      generator, {"max_sentence_length": length, "step": 1})
    model_dir = export_generator(str(root / "run"), str(root / "export"))

    pretrain_config = smoke.get_config()
    pretrain_config.pretrain.r_precision_candidates = 3
    pretrain_config.pretrain.character_weight = 1.0   # its heads are not saved: eval embeds only
    encoders = pretrained.build_encoders(pretrain_config, len(vocabulary), config.data.image_size,
                                         length)
    pretrained.save_pretrained(str(root / "pretrain"), pretrain_config, vocabulary, encoders,
                               np.zeros((2, 4), np.float32),
                               {"max_sentence_length": length,
                                "image_size": config.data.image_size, "objective": "damsm"})
    return {"root": root, "data_dir": data_dir, "model_dir": model_dir,
            "pretrained_dir": str(root / "pretrain")}


def test_metrics_json_end_to_end(setup):
    root, output_dir = setup["root"], str(setup["root"] / "eval")
    logs = []
    report = evaluate(setup["model_dir"], setup["data_dir"], "test", output_dir,
                      eval_config(root / "cache"), pretrained_dir=setup["pretrained_dir"],
                      verbose=False, log=logs.append)

    with open(os.path.join(output_dir, METRICS_FILE)) as f:
        written = json.load(f)
    assert written["metrics"] == pytest.approx(report["metrics"])
    metrics = written["metrics"]
    assert set(metrics) == {"fid_domain", "fsd_domain", "character_f1", "frame_accuracy",
                            "cosine", "r_precision"}
    assert all(math.isfinite(value) for value in metrics.values())
    # sqrtm round-off can make a near-zero distance (a barely trained extractor) slightly negative
    assert metrics["fid_domain"] > -1e-3 and metrics["fsd_domain"] > -1e-3
    assert -100 <= metrics["cosine"] <= 100 and 0 <= metrics["r_precision"] <= 1
    assert set(written["real_data_ceiling"]) == {"character_f1", "frame_accuracy", "cosine",
                                                 "r_precision"}
    assert set(written["not_computed"]) == {"fid", "fsd"}
    # No character is in half of the smoke training frames (Nova is in half of the test
    # frames): the prior of the TRAINING labels predicts nothing, so it scores F1 0 and gets
    # right exactly the test frames without any character.
    test_labels = np.concatenate([batch["labels"] for batch in load_dataset(
        setup["data_dir"], "test", 4).as_numpy_iterator()]).reshape(20, -1)
    assert written["baselines"]["label_prior"] == {
        "character_f1": 0.0, "frame_accuracy": pytest.approx(np.mean(~test_labels.any(axis=1))),
        "predicts": []}
    assert written["baselines"]["chance"] == {"r_precision": pytest.approx(
        r_precision_chance(4, 3))}
    table = summary_table(written)
    assert "0.0000 (label_prior)" in table and "(chance)" in table
    assert "ignoring it: no character" in table
    assert "fid_domain is reported instead" in written["not_computed"]["fid"]
    assert set(written["extractors"]) == {"fid_domain", "fsd_domain"}
    provenance = written["provenance"]
    assert (provenance["stories"], provenance["frames"]) == (4, 20)
    assert provenance["model_manifest"]["vocab_sha256"] == provenance["data_manifest"][
        "vocab_sha256"]
    assert len(os.listdir(os.path.join(output_dir, "samples"))) == 4
    assert written["figures"] == {"tsne": os.path.join(output_dir, "tsne.png")}
    assert Image.open(written["figures"]["tsne"]).size == (512, 512)

    # A second evaluation reuses the cached domain networks and reference statistics, and
    # scores the same model identically.
    again = evaluate(setup["model_dir"], setup["data_dir"], "test", output_dir,
                     eval_config(root / "cache"), overwrite=True, verbose=False,
                     log=logs.append)
    assert sum("cached network" in line for line in logs) == 2
    assert again["metrics"]["fid_domain"] == pytest.approx(metrics["fid_domain"], abs=1e-6)
    assert set(again["not_computed"]) == {"fid", "fsd", "cosine", "r_precision", "tsne"}
    assert again["figures"] == {}


def test_wrong_weights_file_is_refused(setup, tmp_path):
    wrong = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    wrong.save_weights(str(tmp_path / "wrong.weights.h5"))
    config = eval_config(tmp_path / "cache")
    config.eval.inception_weights = str(tmp_path / "wrong.weights.h5")
    with pytest.raises(EvaluateArgumentError, match="inception_weights.*do not match InceptionV3"):
        evaluate(setup["model_dir"], setup["data_dir"], "test", str(tmp_path / "eval"), config,
                 verbose=False)


def test_existing_output_is_not_overwritten(setup, tmp_path):
    (tmp_path / METRICS_FILE).write_text("{}")
    with pytest.raises(EvaluateArgumentError, match="pass --overwrite"):
        evaluate(setup["model_dir"], setup["data_dir"], "test", str(tmp_path),
                 eval_config(tmp_path / "cache"), verbose=False)


def test_cli_names_a_missing_model(tmp_path):
    completed = run_pipeline("evaluate", f"--model={tmp_path / 'no_model' / '1'}",
                             f"--data_dir={tmp_path / 'data'}", f"--output_dir={tmp_path / 'eval'}", timeout=300)
    assert completed.returncode != 0
    assert "no_model/1 does not exist" in completed.stderr

"""Encoder pretraining: both objectives train, the run directory round-trips through
load_pretrained, an interrupted run resumes, the CLI checks its flags and prints retrieval."""
import json
import os

import keras
import numpy as np
import pytest

from configs import default
from storyvis_tf.data.loader import load_vocabulary, read_manifest
from storyvis_tf.data.preprocess import run_preprocess
from storyvis_tf.losses.gan import character_loss
from storyvis_tf.models.image_encoder import encode_story_frames
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import pretrained
from storyvis_tf.training.pretrain import (CHECKPOINTS, EncoderPretrainer, PretrainArgumentError,
                                           build_pretrainer, check_pretrain_arguments,
                                           evaluate_retrieval, objective_terms,
                                           offline_centroids, r_precision_candidates,
                                           run_pretrain, story_batches)
from tests.pipeline_cli import run_pipeline

TRAIN_STORIES, VAL_STORIES, BATCH = 16, 8, 4
STEPS_PER_EPOCH = TRAIN_STORIES // BATCH


def tiny_config(objective="damsm"):
    config = default.get_config()
    config.data.image_size = 32
    config.text_encoder.embedding_dim = config.text_encoder.hidden_dim = 16
    config.image_encoder.width, config.image_encoder.dim = 8, 16
    config.pretrain.objective = objective
    config.pretrain.batch_size = BATCH
    config.pretrain.learning_rate = 1e-3
    config.pretrain.epochs = 2
    config.pretrain.r_precision_candidates = 4
    config.clustering.k = 4
    config.clustering.memory_batches = config.clustering.every_n_batches = 2
    return config


def config_overrides(config):
    """`--config.x.y=v` flags that turn the default config into `config` (sections we change)."""
    flat = {f"{section}.{key}": value for section in ("data", "text_encoder", "image_encoder",
                                                       "pretrain", "clustering")
            for key, value in config[section].items()}
    reference = default.get_config()
    return [f"--config.{name}={value}" for name, value in flat.items()
            if reference[name.split(".")[0]][name.split(".")[1]] != value]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A handful of synthetic stories at 32x32, preprocessed by the Beam pipeline."""
    config = default.get_config()
    config.data.synthetic_train, config.data.synthetic_val = TRAIN_STORIES, VAL_STORIES
    config.data.synthetic_test = 2
    config.data.num_shards = 1
    output = str(tmp_path_factory.mktemp("pretrain") / "data")
    run_preprocess("synthetic", "", output, 32, config=config)
    return output


def build(config, data_dir):
    keras.utils.set_random_seed(0)
    return build_pretrainer(config, len(load_vocabulary(data_dir)), 32,
                            config.data.max_sentence_length, 5)


def fit(pretrainer, config, data_dir, epochs):
    train = story_batches(data_dir, "train", config, shuffle=True)
    return pretrainer.fit(train, epochs=epochs, verbose=0).history


def test_objective_terms_follow_the_loss_switches():
    assert objective_terms(tiny_config("damsm")) == ("word", "sentence")
    config = tiny_config("eq6")
    assert objective_terms(config) == ("si_ss", "i_s", "r_w", "sr_w", "cluster")
    config.losses.story_region_word = config.losses.cluster = False
    assert objective_terms(config) == ("si_ss", "i_s", "r_w")


def test_character_weight_adds_both_encoders_character_heads_to_the_objective(data_dir,
                                                                              tmp_path):
    config = tiny_config("damsm")
    config.pretrain.character_weight = 2.0
    assert objective_terms(config) == ("word", "sentence", "character")
    labels = len(read_manifest(data_dir)["label_names"])
    keras.utils.set_random_seed(0)
    pretrainer = build_pretrainer(config, len(load_vocabulary(data_dir)), 32,
                                  config.data.max_sentence_length, 5, num_labels=labels)
    batch = next(iter(story_batches(data_dir, "train", config, shuffle=True)))
    assert batch["labels"].shape == (BATCH, 5, labels)
    terms, _ = pretrainer.compute_terms(batch, training=False)
    text = encode_stories(pretrainer.text_encoder, batch["token_ids"])
    image = encode_story_frames(pretrainer.image_encoder, batch["images"])["global"]
    expected = (character_loss(pretrainer.text_characters(text["sentence"]), batch["labels"])
                + character_loss(pretrainer.image_characters(image), batch["labels"]))
    np.testing.assert_allclose(float(terms["character"]), float(expected), rtol=1e-5)
    np.testing.assert_allclose(float(terms["total"]), 5.0 * float(terms["word"])
                               + float(terms["sentence"]) + 2.0 * float(expected), rtol=1e-5)
    history = fit(pretrainer, config, data_dir, epochs=1)
    assert np.isfinite(history["character"]).all()

    with pytest.raises(ValueError, match="needs the dataset's character labels"):
        build(config, data_dir)
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    manifest = {**read_manifest(data_dir), "label_names": []}
    (unlabelled / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PretrainArgumentError, match="character_weight = 2.0 needs character "
                                                    "labels"):
        check_pretrain_arguments(config, str(unlabelled), str(tmp_path / "out"))
    config.pretrain.character_weight = 0.0
    assert "labels" not in next(iter(story_batches(data_dir, "val", config, shuffle=False)))


def test_damsm_training_lowers_the_loss_and_leaves_the_heads_alone(data_dir):
    config = tiny_config("damsm")
    pretrainer = build(config, data_dir)
    heads_before = [w.copy() for w in pretrainer.visual_head.get_weights()]
    encoder_before = [w.copy() for w in pretrainer.image_encoder.get_weights()]
    history = fit(pretrainer, config, data_dir, epochs=4)

    assert set(history) == {"word", "sentence", "total"}
    assert all(np.isfinite(history[name]).all() for name in history)
    assert history["total"][-1] < history["total"][0]
    np.testing.assert_allclose(history["total"], 5.0 * np.array(history["word"])
                               + np.array(history["sentence"]), rtol=1e-5)
    for before, after in zip(heads_before, pretrainer.visual_head.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(np.any(b != a) for b, a in zip(encoder_before,
                                              pretrainer.image_encoder.get_weights()))


def test_eq6_trains_every_term_and_clusters_online(data_dir):
    config = tiny_config("eq6")
    pretrainer = build(config, data_dir)
    head_before = pretrainer.language_head.get_weights()[0].copy()
    history = fit(pretrainer, config, data_dir, epochs=2)

    terms = ("si_ss", "i_s", "r_w", "sr_w", "cluster")
    assert set(history) == {*terms, "total"}
    assert all(np.isfinite(history[name]).all() for name in history)
    np.testing.assert_allclose(history["total"], np.sum([history[t] for t in terms], axis=0),
                               rtol=1e-5)
    memory = pretrainer.clustering
    assert int(memory.batches_seen.numpy()) == 2 * STEPS_PER_EPOCH
    assert float(memory.ready.numpy()) == 1.0  # the memory of 2 batches was clustered
    assert history["cluster"][-1] > 0.0
    assert tuple(memory.centroids.shape) == (4, 16 * 24)  # k x (4x4 regions * 24 words)
    assert np.any(pretrainer.language_head.get_weights()[0] != head_before)  # f, g learn here


@pytest.mark.parametrize("algorithm", ["kmeans", "hierarchical"])
def test_offline_centroids_cluster_the_training_fusion_features(data_dir, algorithm):
    config = tiny_config("damsm")
    config.clustering.algorithm = algorithm
    config.pretrain.centroid_instances = 50
    pretrainer = build(config, data_dir)
    centroids, facts = offline_centroids(
        pretrainer, story_batches(data_dir, "train", config, shuffle=True), config)

    assert centroids.shape == (4, 16 * 24) and np.isfinite(centroids).all()
    assert facts["algorithm"] == algorithm and facts["instances"] == 50
    assert sum(facts["cluster_sizes"]) == 50 and min(facts["cluster_sizes"]) > 0


def test_save_and_load_pretrained_round_trip(data_dir, tmp_path):
    config = tiny_config()
    vocabulary = load_vocabulary(data_dir)
    keras.utils.set_random_seed(1)
    encoders = pretrained.build_encoders(config, len(vocabulary), 32, 24)
    centroids = np.random.default_rng(0).normal(size=(4, 384)).astype(np.float32)
    pretrained.save_pretrained(str(tmp_path), config, vocabulary, encoders, centroids,
                               {"objective": "damsm", "epochs": 0, "max_sentence_length": 24,
                                "image_size": 32})

    keras.utils.set_random_seed(2)  # fresh weights differ; loading must replace all of them
    loaded = pretrained.load_pretrained(str(tmp_path), config, vocabulary.sha256())
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, len(vocabulary), size=(3, 24)).astype("int32")
    images = rng.uniform(-1, 1, size=(3, 32, 32, 3)).astype("float32")
    features = rng.normal(size=(3, 16)).astype("float32")
    for name, inputs in (("text_encoder", tokens), ("image_encoder", images),
                         ("visual_head", features), ("language_head", features)):
        expected, actual = encoders[name](inputs), loaded[name](inputs)
        for a, b in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                          keras.ops.convert_to_numpy(b))
    np.testing.assert_array_equal(loaded["centroids"], centroids)
    assert loaded["vocabulary"].words == vocabulary.words
    assert loaded["manifest"]["kind"] == pretrained.PRETRAIN_KIND
    assert loaded["manifest"]["centroids_shape"] == [4, 384]


@pytest.fixture
def saved_run(data_dir, tmp_path):
    config = tiny_config()
    vocabulary = load_vocabulary(data_dir)
    encoders = pretrained.build_encoders(config, len(vocabulary), 32, 24)
    pretrained.save_pretrained(str(tmp_path), config, vocabulary, encoders,
                               np.zeros((4, 384), np.float32),
                               {"max_sentence_length": 24, "image_size": 32})
    return str(tmp_path), config


def test_load_pretrained_errors_name_the_problem(saved_run, tmp_path_factory):
    run, config = saved_run
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pretrained.load_pretrained(os.path.join(run, "absent"), config)
    with pytest.raises(ValueError, match="another vocabulary"):
        pretrained.load_pretrained(run, config, expected_vocab_sha256="0" * 64)
    other = tiny_config()
    other.text_encoder.hidden_dim = other.image_encoder.dim = 32
    with pytest.raises(ValueError, match=r"text_encoder.hidden_dim = 32 \(pretrained: 16\)"):
        pretrained.load_pretrained(run, other)

    with open(os.path.join(run, "vocab.txt"), "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(ValueError, match="vocabulary was changed after pretraining"):
        pretrained.load_pretrained(run, config)
    manifest_path = os.path.join(run, "manifest.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump({**manifest, "kind": "storyvis_tf.train_run"}, f)
    with pytest.raises(ValueError, match="not a pretraining-run manifest"):
        pretrained.load_pretrained(run, config)
    os.remove(os.path.join(run, "image_encoder.weights.h5"))
    with pytest.raises(FileNotFoundError, match="image_encoder.weights.h5"):
        pretrained.load_pretrained(run, config)


def test_arguments_are_checked_before_any_work(data_dir, tmp_path):
    config = tiny_config()
    output = str(tmp_path / "out")
    assert check_pretrain_arguments(config, data_dir, output)["splits"]["val"] == VAL_STORIES
    with pytest.raises(PretrainArgumentError, match="manifest.json not found"):
        check_pretrain_arguments(config, str(tmp_path / "nothing"), output)
    config.data.image_size = 64
    with pytest.raises(PretrainArgumentError, match="data.image_size = 64 but .* has 32"):
        check_pretrain_arguments(config, data_dir, output)
    config = tiny_config()
    config.pretrain.r_precision_candidates = 100        # capped at the 8 validation stories
    check_pretrain_arguments(config, data_dir, output)
    assert r_precision_candidates(config, VAL_STORIES) == VAL_STORIES
    config = tiny_config()
    config.pretrain.objective = "clip"
    with pytest.raises(PretrainArgumentError, match="unknown pretrain.objective 'clip'"):
        check_pretrain_arguments(config, data_dir, output)
    assert not os.path.exists(output)


class Interrupt(Exception):
    pass


class InterruptAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise Interrupt(f"stopped after epoch {epoch}")


class TrainingState(keras.callbacks.Callback):
    """Records where a fit starts (after BackupAndRestore restored it) and the epochs it runs."""

    def __init__(self):
        super().__init__()
        self.start, self.epochs = None, []

    def on_train_begin(self, logs=None):
        self.start = {"iterations": int(self.model.optimizer.iterations.numpy()),
                      "batches_seen": int(self.model.clustering.batches_seen.numpy())}

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.mark.slow
def test_interrupted_run_resumes_from_its_last_epoch(data_dir, tmp_path):
    config = tiny_config("eq6")
    config.pretrain.epochs = 3
    output = str(tmp_path / "pretrain")
    with pytest.raises(Interrupt):
        run_pretrain(config, data_dir, output, callbacks=[InterruptAfterFirstEpoch()], verbose=0)
    assert os.path.exists(os.path.join(output, CHECKPOINTS))
    assert not os.path.exists(os.path.join(output, "manifest.json"))

    changed = tiny_config("eq6")          # only the epochs may change
    changed.pretrain.learning_rate = 5e-4
    with pytest.raises(PretrainArgumentError, match="interrupted pretraining run with another "
                                                    r"config \(pretrain.learning_rate differ"):
        run_pretrain(changed, data_dir, output, verbose=0)

    state = TrainingState()
    manifest = run_pretrain(config, data_dir, output, callbacks=[state], verbose=0)
    assert state.epochs == [1, 2]
    assert state.start == {"iterations": STEPS_PER_EPOCH, "batches_seen": STEPS_PER_EPOCH}
    assert manifest["epochs"] == 3 and manifest["objective"] == "eq6"
    assert os.path.exists(os.path.join(output, CHECKPOINTS))    # kept: the run can be extended
    assert os.listdir(os.path.join(output, "tensorboard"))
    with pytest.raises(PretrainArgumentError, match="completed pretraining run of 3 epochs"):
        run_pretrain(config, data_dir, output, verbose=0)

    config.pretrain.epochs = 4                                  # extended by one epoch
    state, logged = TrainingState(), []
    manifest = run_pretrain(config, data_dir, output, callbacks=[state], verbose=0,
                            log=logged.append)
    assert state.epochs == [3] and manifest["epochs"] == 4
    assert f"resuming from {output}/{CHECKPOINTS}: epoch 3 of 4 done, step " \
        f"{3 * STEPS_PER_EPOCH}" in logged


@pytest.mark.slow
def test_cli_writes_the_run_and_prints_retrieval(data_dir, tmp_path):
    config = tiny_config("damsm")
    output = str(tmp_path / "pretrain")
    result = run_pipeline("pretrain", f"--data_dir={data_dir}", f"--output_dir={output}",
                          *config_overrides(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "retrieval on val (8 stories" in result.stdout
    assert "r_precision" in result.stdout

    for name in ("config.json", "manifest.json", "vocab.txt", "centroids.npy",
                 *pretrained.ENCODER_WEIGHTS.values()):
        assert os.path.isfile(os.path.join(output, name)), name
    data_manifest = read_manifest(data_dir)
    loaded = pretrained.load_pretrained(output, config, data_manifest["vocab_sha256"])
    manifest = loaded["manifest"]
    assert manifest["kind"] == "storyvis_tf.pretrain_run"
    assert manifest["vocab_sha256"] == data_manifest["vocab_sha256"]
    # The sentence length comes from the data's manifest (the flags leave it at its default).
    length = data_manifest["max_sentence_length"]
    assert manifest["max_sentence_length"] == length and manifest["epochs"] == 2
    assert manifest["dataset"]["splits"] == data_manifest["splits"]
    assert manifest["centroids_shape"] == list(loaded["centroids"].shape) == [4, 16 * length]
    assert sum(manifest["clustering"]["cluster_sizes"]) == manifest["clustering"]["instances"]
    assert manifest["clustering"]["instances"] == TRAIN_STORIES * 5

    # The loaded encoders reproduce the retrieval figures measured at the end of training.
    config.data.max_sentence_length = length
    val = story_batches(data_dir, "val", config, shuffle=False)
    retrieval = evaluate_retrieval(EncoderPretrainer(loaded, config), val, config)
    for level in ("story", "frame"):
        for name, value in manifest["retrieval"][level].items():
            assert retrieval[level][name] == pytest.approx(value, abs=1e-6), (level, name)


def test_cli_rejects_a_directory_without_a_manifest(tmp_path):
    result = run_pipeline("pretrain", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}",
                          timeout=300)
    assert result.returncode != 0
    assert f"{tmp_path}/manifest.json not found" in result.stderr
    assert not os.path.exists(tmp_path / "out")

"""Orchestration of a story-GAN training run (`python -m pipelines.train`): check the inputs,
pick the distribution strategy, build the StoryGAN, and `fit` it with the run's callbacks.

The run directory RUN (layout in `run_dir`) gets config.json at the start, the generation
artifacts and a metrics.jsonl line at every epoch end, sample grids, TensorBoard logs, and
crash-safe BackupAndRestore checkpoints in RUN/checkpoints (`callbacks.CrashSafeBackup`, kept
after the run). Rerunning the same command after an interruption resumes from the last completed
epoch with both optimisers' state, and raising train.epochs extends a finished run; a different
config (other than train.epochs) or a directory of another stage is refused (`resume`,
`stage_dirs`).
"""
import os

import keras
import ml_collections
import numpy as np
import tensorflow as tf

import storyvis_tf
from storyvis_tf.data.loader import load_dataset, load_vocabulary, read_manifest
from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.stage_dirs import RUN_KIND, claim_stage_directory
from storyvis_tf.training import callbacks as run_callbacks
from storyvis_tf.training import families
from storyvis_tf.training.pretrained import load_pretrained
from storyvis_tf.training.resume import CHECKPOINTS, check_resume
from storyvis_tf.training.run_dir import CONFIG, MANIFEST
from storyvis_tf.training.story_gan import (StoryGAN, build_story_gan, parameter_counts,
                                            training_features)

TENSORBOARD = "tensorboard"


def distribution_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy over all visible GPUs when there are several, else the default
    strategy (one GPU or the CPU)."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def train(config: ml_collections.ConfigDict, data_dir: str, output_dir: str, *, strategy=None,
          extra_callbacks=(), verbose="auto", log=print) -> StoryGAN:
    """Trains a StoryGAN on the preprocessed `data_dir` into the run directory `output_dir`.

    config.train.pretrained_dir (may be empty: encoders start random, frozen) names the
    `pipelines.pretrain` output. strategy: default `distribution_strategy()`.
    extra_callbacks: more Keras callbacks, called after the run's own.
    Returns the trained model.
    """
    manifest = read_manifest(data_dir)
    check_data(config, manifest, data_dir)
    vocabulary = load_vocabulary(data_dir)
    strategy = strategy or distribution_strategy()
    if keras.backend.backend() == "jax":   # before any variable exists (docs/JAX.md)
        from storyvis_tf.training.jax_distribution import distribute_over_devices
        distribute_over_devices(config.train.batch_size, log)
    prepare_run_dir(output_dir, config)
    # Weight initialisation, dropout and every other Keras/NumPy/TF draw outside the train
    # step's (seed, step)-keyed noise: the same config and seed give the same bits.
    keras.utils.set_random_seed(config.seed)
    pretrained = None
    if config.train.pretrained_dir:
        with strategy.scope():
            pretrained = load_pretrained(config.train.pretrained_dir, config,
                                         expected_vocab_sha256=vocabulary.sha256())
    else:
        log("warning: no train.pretrained_dir: the frozen text and image encoders keep their "
            "random initial weights, so the contrastive and clustering terms compare random "
            "features (fine for smoke tests, not for results)")
    length = config.data.max_sentence_length
    gan = build_story_gan(config, len(vocabulary), length, pretrained, strategy,
                          num_labels=len(manifest["label_names"]))
    _log_parameters(gan, strategy, log)

    # Repeated, with a known number of steps per epoch: fit never reads past the data (a read
    # past the end would still run the step's data-independent updates, e.g. step counters).
    steps_per_epoch = (config.train.steps_per_epoch
                       or manifest["splits"]["train"] // config.train.batch_size)
    train_batches = load_dataset(
        data_dir, "train", config.train.batch_size, shuffle=True, seed=config.seed, repeat=True,
        drop_remainder=True, max_sentence_length=length).map(
            lambda batch: training_features(batch, config))
    run_manifest = {"max_sentence_length": length, "image_size": config.data.image_size,
                    "frames_per_story": config.data.frames_per_story,
                    "pretrained_dir": config.train.pretrained_dir,
                    "storyvis_tf_version": storyvis_tf.__version__,
                    "keras_backend": keras.backend.backend(),
                    "data": {key: manifest[key] for key in (
                        "dataset", "splits", "vocab_size", "vocab_sha256", "max_sentence_length",
                        "label_names")}}
    callbacks = [
        run_callbacks.CrashSafeBackup(os.path.join(output_dir, CHECKPOINTS), log),
        run_callbacks.LearningRateDecay(config.train.discriminator_learning_rate,
                                        config.train.generator_learning_rate,
                                        config.train.lr_decay_every_epochs,
                                        config.train.lr_decay_rate),
        keras.callbacks.TensorBoard(os.path.join(output_dir, TENSORBOARD)),
        run_callbacks.StorySamples(output_dir, *sample_stories(data_dir, config),
                                   every_epochs=config.train.sample_every_epochs),
        run_callbacks.GenerationArtifacts(output_dir, config, vocabulary, run_manifest),
        run_callbacks.MetricsLog(output_dir),
    ]
    gan.fit(train_batches, epochs=config.train.epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=[*callbacks, *extra_callbacks], verbose=verbose, shuffle=False)
    return gan


def check_data(config, manifest: dict, data_dir: str) -> None:
    """The preprocessed data must have the frames the config's networks are built for."""
    for key in ("image_size", "frames_per_story"):
        if manifest[key] != config.data[key]:
            raise ValueError(f"{data_dir} holds data.{key} = {manifest[key]}, the config says "
                             f"{config.data[key]}: preprocess with this config or set "
                             f"--config.data.{key}={manifest[key]}")
    if manifest["splits"].get("train", 0) < config.train.batch_size:
        raise ValueError(f"{data_dir} has {manifest['splits'].get('train', 0)} training stories, "
                         f"fewer than one batch (train.batch_size = {config.train.batch_size})")


def sample_stories(data_dir: str, config) -> tuple[dict, np.ndarray]:
    """The first train.sample_stories validation stories (training stories if the data has no
    validation split) and their fixed noise, seeded by config.seed."""
    splits = read_manifest(data_dir)["splits"]
    split = "val" if splits.get("val", 0) > 0 else "train"
    count = min(config.train.sample_stories, splits[split])
    batch = next(iter(load_dataset(data_dir, split, count,
                                   max_sentence_length=config.data.max_sentence_length)))
    stories = {"token_ids": batch["token_ids"].numpy(),
               "sentences": [[s.decode("utf-8") for s in story]
                             for story in batch["sentences"].numpy()]}
    if config.generator.use_character_labels:
        stories["labels"] = batch["labels"].numpy()
    noise = np.random.default_rng(config.seed).standard_normal(
        (count, config.generator.noise_dim)).astype(np.float32)
    return stories, noise


def prepare_run_dir(output_dir: str, config) -> None:
    """Claims `output_dir` for a training run and writes RUN/config.json. Refuses (ValueError)
    a directory of another stage, a run that has done config.train.epochs already, one whose
    checkpoint is gone and one of another config (see `resume`)."""
    claim_stage_directory(output_dir, RUN_KIND)
    manifest_path = os.path.join(output_dir, MANIFEST)
    epochs_done = read_json(manifest_path)["epoch"] if os.path.exists(manifest_path) else None
    check_resume(output_dir, config, epochs_key="train.epochs", epochs_done=epochs_done,
                 run_name="training run")
    write_json(os.path.join(output_dir, CONFIG), config.to_dict())


def _log_parameters(gan, strategy, log) -> None:
    counts = parameter_counts(gan)
    log(f"training on {strategy.num_replicas_in_sync} replica(s) "
        f"({type(strategy).__name__})")
    for line in families.parameter_report(gan.config, counts):
        log(line)
    log(f"projection heads f, g (trained with the discriminator, not in Table 1): "
        f"{counts['projection_heads'] / 1e6:.2f} M")

"""Keras callbacks of a story-GAN run (pipelines.train): sample grids, the run directory's
generation artifacts, the metrics log, the learning-rate decay and host-side hierarchical
clustering. TensorBoard scalars come from keras.callbacks.TensorBoard, checkpoints and exact
resume from keras.callbacks.BackupAndRestore made crash-safe (`CrashSafeBackup`, see `trainer`).
"""
import json
import os

import keras
import numpy as np
from PIL import Image

from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.losses.clustering import hierarchical_centroids
from storyvis_tf.training.run_dir import generate_images, save_generation_artifacts
from storyvis_tf.visualization import story_grid, to_uint8
from storyvis_tf.weights_files import WeightsFileError, load_weights, save_weights_atomically

SAMPLES_DIR, METRICS_LOG = "samples", "metrics.jsonl"


class CrashSafeBackup(keras.callbacks.BackupAndRestore):
    """keras.callbacks.BackupAndRestore (BACKUP/latest.weights.h5: model and optimiser state,
    BACKUP/training_metadata.json: epochs done) at every epoch end, changed in three ways:
    - each file is written to a temporary sibling and renamed onto its name (a kill during a
      save leaves the previous checkpoint whole; Keras writes in place);
    - a checkpoint that cannot be read fails with WeightsFileError naming the file;
    - a resume is logged: "resuming from BACKUP: epoch E of N done, step S".
    The checkpoint is kept after the run (delete_checkpoint=False), so a finished run can be
    extended by raising its epochs.
    """

    def __init__(self, backup_dir: str, log=print):
        super().__init__(backup_dir, delete_checkpoint=False)
        self.log = log

    def _load_model(self):
        if not os.path.exists(self._weights_path):
            return
        try:
            epoch = int(read_json(self._training_metadata_path)["epoch"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise WeightsFileError(f"{self._training_metadata_path} cannot be read "
                                   f"({type(error).__name__}: {error}): the checkpoint in "
                                   f"{self.backup_dir} is damaged") from None
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        load_weights(self.model, self._weights_path)
        self.model._initial_epoch = epoch  # what BackupAndRestore sets: fit starts there
        self.log(f"resuming from {self.backup_dir}: epoch {epoch} of {self.params['epochs']} "
                 f"done, step {_step(self.model)}")

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        save_weights_atomically(self.model, self._weights_path)
        write_json(self._training_metadata_path,
                   {"epoch": self._current_epoch, "batch": self._last_batch_seen})


class StorySamples(keras.callbacks.Callback):
    """Every `every_epochs` epochs: the generator's stories (its weight average when the run
    keeps one) for fixed sentences and fixed noise, as RUN/samples/epoch_0001.png, ... (the
    1-based epoch, four digits) and as a TensorBoard image summary ("samples", under
    RUN/tensorboard/samples), so epochs compare like for like.

    stories: {"token_ids" [S, T, L], "sentences" S lists of T strings, and "labels" [S, T, C]
    when the generator takes labels}; noise [S, noise_dim].
    """

    def __init__(self, run_dir: str, stories: dict, noise: np.ndarray, every_epochs: int):
        super().__init__()
        if every_epochs < 1:
            raise ValueError(f"train.sample_every_epochs must be >= 1, got {every_epochs}")
        self.samples_dir = os.path.join(run_dir, SAMPLES_DIR)
        self.stories, self.noise, self.every_epochs = stories, noise, every_epochs
        self.write_summary = _image_summary_writer(os.path.join(run_dir, "tensorboard",
                                                                "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        with self.model.averaged_generator():
            images = generate_images(self.model.text_encoder, self.model.generator,
                                     self.stories["token_ids"], self.noise,
                                     self.stories.get("labels"))
        grid = story_grid(to_uint8(images), self.stories["sentences"])
        os.makedirs(self.samples_dir, exist_ok=True)
        Image.fromarray(grid).save(os.path.join(self.samples_dir, f"epoch_{epoch + 1:04d}.png"))
        self.write_summary(grid, epoch + 1)


class GenerationArtifacts(keras.callbacks.Callback):
    """At every epoch end, the run directory's generation artifacts
    (`run_dir.save_generation_artifacts`): config, vocabulary, text encoder and generator
    weights (the generator's weight average when the run keeps one: what export and evaluation
    use), and the manifest with the epoch and step they belong to."""

    def __init__(self, run_dir: str, config, vocabulary, manifest: dict):
        super().__init__()
        self.run_dir, self.config, self.vocabulary, self.manifest = (run_dir, config, vocabulary,
                                                                     manifest)

    def on_epoch_end(self, epoch, logs=None):
        with self.model.averaged_generator():
            save_generation_artifacts(self.run_dir, self.config, self.vocabulary,
                                      self.model.text_encoder, self.model.generator,
                                      {**self.manifest, "epoch": epoch + 1,
                                       "step": _step(self.model)})


class MetricsLog(keras.callbacks.Callback):
    """Appends one JSON line per epoch to RUN/metrics.jsonl: epoch (1-based), step, both
    learning rates and every logged loss term."""

    def __init__(self, run_dir: str):
        super().__init__()
        self.path = os.path.join(run_dir, METRICS_LOG)

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1, "step": _step(self.model),
                  "d_learning_rate": float(self.model.d_optimizer.learning_rate),
                  "g_learning_rate": float(self.model.g_optimizer.learning_rate),
                  **{name: float(value) for name, value in (logs or {}).items()}}
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")


class LearningRateDecay(keras.callbacks.Callback):
    """Step decay of both optimisers: rate x factor ** (epoch // every_epochs), set at every
    epoch start from the epoch number (authors' code: halved every 20 epochs), so a run resumed
    by BackupAndRestore continues with the right rates."""

    def __init__(self, discriminator_rate: float, generator_rate: float, every_epochs: int,
                 factor: float):
        super().__init__()
        if every_epochs < 1:
            raise ValueError(f"train.lr_decay_every_epochs must be >= 1, got {every_epochs}")
        self.rates = {"d_optimizer": discriminator_rate, "g_optimizer": generator_rate}
        self.every_epochs, self.factor = every_epochs, factor

    def on_epoch_begin(self, epoch, logs=None):
        decay = self.factor ** (epoch // self.every_epochs)
        for optimizer, rate in self.rates.items():
            getattr(self.model, optimizer).learning_rate = rate * decay


class HierarchicalReclustering(keras.callbacks.Callback):
    """Online hierarchical clustering (Table 4): after every train step at which the memory is
    due for re-clustering, Ward clustering of the memory on the host
    (`losses.clustering.hierarchical_centroids`) replaces the centroids. The in-graph update only
    fills the memory in this mode (see clustering_memory)."""

    def on_train_batch_end(self, batch, logs=None):
        memory = self.model.clustering
        if bool(memory.recluster_due()):
            memory.assign_centroids(hierarchical_centroids(np.asarray(memory.memory.numpy()),
                                                           memory.k))


def _image_summary_writer(log_dir: str):
    """write(image [H, W, 3] uint8, step): the image as TensorBoard summary "samples" in
    log_dir. TensorFlow's summary writer, imported here rather than with this module, which the
    JAX backend imports (StoryGAN.fit's HierarchicalReclustering) where TensorFlow may be
    missing; pipelines.train, which adds StorySamples, has it under either backend (tf.data)."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(log_dir)

    def write(image, step: int) -> None:
        with writer.as_default():
            tf.summary.image("samples", image[None], step=step)
        writer.flush()

    return write


def _step(model) -> int:
    """Optimisation steps taken: the generator's for a GAN, the optimiser's otherwise."""
    optimizer = getattr(model, "g_optimizer", None) or model.optimizer
    return int(optimizer.iterations.numpy())

"""Encoder pretraining (`python -m pipelines.pretrain`): text and image encoders trained from
scratch on the dataset's (frame, sentence) pairs, offline centroids, retrieval on val.

Objectives (config `pretrain.objective`):
- "damsm": AttnGAN's DAMSM, the encoders the field's GANs start from (METHOD_NOTES): the DAMSM
  word loss (region-context vectors, gamma1..3) and sentence loss between every frame and its
  sentence, in the encoders' own space (the image encoder projects into the text space, AttnGAN
  Eq. 6). Objective: lambda * word + sentence, lambda = `pretrain.word_loss_weight` (AttnGAN's
  `pretrain_DAMSM.py` sums them unweighted: set it to 1 for that). The projection heads f, g are
  not trained; they are saved as initialised, and the offline centroids are computed through them,
  so that a GAN starting from these heads starts from the clustered fusion features.
- "eq6": the main paper's offline-clustering pretraining, Eq. 6: contrastive terms at the four
  levels (SI-SS, I-S, R-W, SR-W) through the heads f, g plus the clustering loss (Eq. 5) on the
  fusion features X = f(v_region) g(s_word)^T, encoders and heads trained jointly. These are the
  terms of the GAN discriminator's objective on real pairs (`objectives`, Eq. 7 without GAN),
  with the same `config.losses` switches. The clustering term is ONLINE during pretraining: a
  memory of the last `clustering.memory_batches` batches re-clustered with in-graph K-means every
  `clustering.every_n_batches` batches (`ClusteringMemory`), zero until the memory is full.

With pretrain.character_weight > 0 (either objective; not in the paper) a linear head on each
encoder's global feature (the sentence vector, the frame's global image feature) names the
frame's characters from its labels (multi-label BCE, `losses.gan.character_loss`), and the
objective adds character_weight * (text head's loss + image head's loss). Why: a short DAMSM
pretraining can give sentences that differ only in the name nearly the same vector (measure
it with `python -m benchmarks.name_separation`; earlier sessions' figures in docs/RESULTS.md),
and the GAN's generator and discriminator, which see the text only through these frozen
encoders, cannot tell those characters apart. The heads are
auxiliary: they are not saved.

After training, the OFFLINE centroids (Sec. 3.3.3) are computed once over the training split's
clustering features (`clustering.features`, fusion by default) through the trained heads, with
K-means or Ward (`clustering.algorithm`), on at most `pretrain.centroid_instances` instances (a
seeded shuffle of the training stories). Retrieval on the val split is measured in the space the
objective aligned (encoder space for damsm, joint space for eq6), at story level (story image =
mean of frame globals, story text = mean of sentence vectors) and at frame level.
"""
import math
import os
import shutil
from collections.abc import Sequence
from typing import Any

import keras
import ml_collections
import numpy as np
import tensorflow as tf
from keras import ops

from storyvis_tf.data.loader import load_dataset, load_vocabulary, read_manifest
from storyvis_tf.evaluation.retrieval import r_precision, r_precision_chance, retrieval_recall
from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.losses.clustering import assign_to_centroids, hierarchical_centroids, kmeans
from storyvis_tf.losses.damsm import sentence_image_loss, word_region_loss
from storyvis_tf.losses.gan import character_loss
from storyvis_tf.models.image_encoder import encode_story_frames
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.stage_dirs import PRETRAIN_KIND, check_stage_directory, claim_stage_directory
from storyvis_tf.training import pretrained
from storyvis_tf.training.callbacks import CrashSafeBackup
from storyvis_tf.training.clustering_memory import (ALGORITHMS, FEATURES, ClusteringMemory,
                                                    clustering_feature_dim, clustering_features,
                                                    rows_per_frame)
from storyvis_tf.training.objectives import (CONTRASTIVE_SWITCHES, alignment_terms, embed_story,
                                             single_replica)
from storyvis_tf.training.resume import CHECKPOINTS, ResumeError, check_resume

OBJECTIVES = ("damsm", "eq6")
DAMSM_TERMS = ("word", "sentence")
TENSORBOARD = "tensorboard"


class PretrainArgumentError(ValueError):
    """The config, data or output directory cannot give a pretraining run; raised before work."""


def objective_terms(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """Names of the terms the objective logs (besides "total"), in order."""
    character = ("character",) if config.pretrain.character_weight else ()
    if config.pretrain.objective == "damsm":
        return (*DAMSM_TERMS, *character)
    switched_on = [key for key, switch in CONTRASTIVE_SWITCHES.items() if config.losses[switch]]
    return (*switched_on, *(("cluster",) if config.losses.cluster else ()), *character)


class EncoderPretrainer(keras.Model):
    """Text encoder, image encoder and projection heads f, g trained with one objective
    (module docstring), with a metric tracker per term.

    Training batches also hold "labels" [B, T, C] when pretrain.character_weight > 0 (the
    character heads, built over num_labels characters, are then part of the model).
    call(batch) embeds a batch {"images" [B, T, H, W, 3], "token_ids" [B, T, L]} for evaluation:
    {"story_image", "story_sentence": [B, D], "image", "sentence": [B, T, D]} in the space the
    objective aligned, and "clustering": the batch's clustering instances through f, g
    ([B*T, F] fusion features, or [2*B*T, D] individual features).
    """

    def __init__(self, encoders: dict[str, keras.Model], config: ml_collections.ConfigDict,
                 clustering: ClusteringMemory | None = None, num_labels: int = 0, **kwargs):
        super().__init__(**kwargs)
        if config.pretrain.objective not in OBJECTIVES:
            raise ValueError(f"unknown pretrain.objective {config.pretrain.objective!r}: expected "
                             f"one of {OBJECTIVES}")
        self.config = config
        self.objective = config.pretrain.objective
        self.text_encoder = encoders["text_encoder"]
        self.image_encoder = encoders["image_encoder"]
        self.visual_head = encoders["visual_head"]
        self.language_head = encoders["language_head"]
        # DAMSM has no heads: keep them out of the optimiser.
        self.visual_head.trainable = self.language_head.trainable = self.objective == "eq6"
        self.clustering = clustering
        self.text_characters = self.image_characters = None
        if config.pretrain.character_weight:
            if num_labels < 1:
                raise ValueError("pretrain.character_weight > 0 needs the dataset's character "
                                 "labels (num_labels >= 1)")
            self.text_characters = keras.layers.Dense(num_labels, name="text_characters")
            self.text_characters.build((None, config.text_encoder.hidden_dim))
            self.image_characters = keras.layers.Dense(num_labels, name="image_characters")
            self.image_characters.build((None, config.image_encoder.dim))
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in (*objective_terms(config), "total")}

    @property
    def encoders(self) -> dict[str, keras.Model]:
        return {"text_encoder": self.text_encoder, "image_encoder": self.image_encoder,
                "visual_head": self.visual_head, "language_head": self.language_head}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, batch, training=False):
        text = encode_stories(self.text_encoder, batch["token_ids"], training=training)
        joint = embed_story(self, batch["images"], text, self.config.losses.story_image)
        if self.objective == "eq6":
            aligned = joint
        else:
            visual = encode_story_frames(self.image_encoder, batch["images"], training=training)
            aligned = {"story_image": visual["story"], "image": visual["global"],
                       "story_sentence": text["story"], "sentence": text["sentence"]}
        instances = clustering_features(
            self.config.clustering.features,
            *(_frames(joint[key]) for key in ("regions", "words", "word_mask", "image",
                                              "sentence")))
        return {**{key: aligned[key] for key in ("story_image", "story_sentence", "image",
                                                 "sentence")},
                "clustering": instances}

    def compute_terms(self, batch, training):
        """(terms with "total", clustering instances of the batch's real pairs or None)."""
        text = encode_stories(self.text_encoder, batch["token_ids"], training=training)
        # The DAMSM terms and the character heads read the same encoding of the frames; eq6's
        # terms encode them inside `alignment_terms`, which returns projected features only.
        visual = (encode_story_frames(self.image_encoder, batch["images"], training=training)
                  if self.objective == "damsm" or self.text_characters is not None else None)
        if self.objective == "damsm":
            terms, instances = self._damsm_terms(visual, text), None
            total = self.config.pretrain.word_loss_weight * terms["word"] + terms["sentence"]
        else:
            terms, instances = alignment_terms(self, self.config, batch["images"], text,
                                                CONTRASTIVE_SWITCHES, single_replica)
            total = sum(terms.values())
        if self.text_characters is not None:
            terms["character"] = self._character_term(batch, text, visual)
            total = total + self.config.pretrain.character_weight * terms["character"]
        return {**terms, "total": total}, instances

    def _character_term(self, batch, text, visual):
        """The text head's and the image head's multi-label loss against the frames' labels."""
        if "labels" not in batch:
            raise ValueError("pretrain.character_weight > 0 needs the frames' character labels "
                             "in the batch")
        return (character_loss(self.text_characters(text["sentence"]), batch["labels"])
                + character_loss(self.image_characters(visual["global"]), batch["labels"]))

    def _damsm_terms(self, visual, text):
        """AttnGAN's DAMSM word loss (L1^w + L2^w) and sentence loss (L1^s + L2^s) over all
        frames of the batch (`losses.damsm.damsm_loss`'s two terms, logged separately), from
        the frames' `encode_story_frames` output."""
        p = self.config.pretrain
        return {"word": word_region_loss(_frames(visual["regions"]), _frames(text["words"]),
                                         _frames(text["mask"]), p.gamma1, p.gamma2, p.gamma3),
                "sentence": sentence_image_loss(_frames(visual["global"]),
                                                _frames(text["sentence"]), p.gamma3)}

    def train_step(self, data):
        batch, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            terms, instances = self.compute_terms(batch, training=True)
        gradients = tape.gradient(terms["total"], self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        if instances is not None:
            self.clustering.update(instances)
        return self._record(terms)

    def test_step(self, data):
        batch, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        terms, _ = self.compute_terms(batch, training=False)
        return self._record(terms)

    def _record(self, terms):
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def build_pretrainer(config: ml_collections.ConfigDict, vocab_size: int, image_size: int,
                     max_sentence_length: int, frames_per_story: int,
                     num_labels: int = 0) -> EncoderPretrainer:
    """The pretrainer with every weight and the Adam optimiser (pretrain.learning_rate) built,
    ready for `fit` and BackupAndRestore. num_labels: the dataset's characters, needed with
    pretrain.character_weight > 0."""
    encoders = pretrained.build_encoders(config, vocab_size, image_size, max_sentence_length)
    clustering = None
    if config.pretrain.objective == "eq6" and config.losses.cluster:
        regions = encoders["image_encoder"](ops.zeros((1, image_size, image_size, 3)))["regions"]
        kind = config.clustering.features
        # Pretraining clusters online whatever the GAN will do; Ward has no in-graph form, so the
        # online term uses K-means and `clustering.algorithm` applies to the offline centroids.
        online = ml_collections.ConfigDict({**config.clustering.to_dict(), "mode": "online",
                                            "algorithm": "kmeans"})
        clustering = ClusteringMemory(
            online, rows_per_batch=config.pretrain.batch_size * frames_per_story
            * rows_per_frame(kind),
            feature_dim=clustering_feature_dim(kind, regions.shape[1], max_sentence_length,
                                               config.image_encoder.dim),
            seed=config.seed, name="clustering")
    pretrainer = EncoderPretrainer(encoders, config, clustering, num_labels,
                                   name="encoder_pretrainer")
    pretrainer({"images": ops.zeros((1, frames_per_story, image_size, image_size, 3)),
                "token_ids": ops.ones((1, frames_per_story, max_sentence_length), "int32")})
    # XLA stays off: "auto" would compile the masked bi-LSTM and the data-dependent
    # re-clustering on GPUs, which is not tested here.
    pretrainer.compile(optimizer=keras.optimizers.Adam(config.pretrain.learning_rate),
                       jit_compile=False)
    pretrainer.optimizer.build(pretrainer.trainable_variables)
    return pretrainer


def offline_centroids(pretrainer: EncoderPretrainer, dataset: tf.data.Dataset,
                      config: ml_collections.ConfigDict) -> tuple[np.ndarray, dict[str, Any]]:
    """Sec. 3.3.3: centroids [k, F] of the clustering instances of `dataset` (the first
    `pretrain.centroid_instances` of them), by `clustering.algorithm`.

    Returns (centroids, facts for the manifest: algorithm, features, instances, cluster sizes).
    """
    limit = config.pretrain.centroid_instances
    instances = pretrainer.predict(dataset, verbose=0)["clustering"][:limit]
    k = config.clustering.k
    if len(instances) < k:
        raise ValueError(f"clustering.k = {k} centroids need at least {k} clustering instances; "
                         f"the training split gives {len(instances)}")
    if config.clustering.algorithm == "kmeans":
        centroids, _ = kmeans(ops.convert_to_tensor(instances), k,
                              config.clustering.lloyd_iterations, config.seed)
        centroids = ops.convert_to_numpy(centroids)
    else:
        centroids = hierarchical_centroids(instances, k)
    members = ops.convert_to_numpy(assign_to_centroids(ops.convert_to_tensor(instances),
                                                       ops.convert_to_tensor(centroids)))
    return centroids, {"algorithm": config.clustering.algorithm,
                       "features": config.clustering.features,
                       "instances": len(instances),
                       "cluster_sizes": np.bincount(members, minlength=k).tolist()}


def evaluate_retrieval(pretrainer: EncoderPretrainer, dataset: tf.data.Dataset,
                       config: ml_collections.ConfigDict) -> dict[str, Any]:
    """Recall@1/@5 both ways over the whole split and R-precision (the true text among
    `pretrain.r_precision_candidates` - 1 random others, at most the split's stories - 1,
    `pretrain.r_precision_trials` trials, cosine; DATASETS.md Sec. 5), for stories and for
    frames."""
    embedded = pretrainer.predict(dataset, verbose=0)
    p = config.pretrain
    candidates = r_precision_candidates(config, len(embedded["story_image"]))

    def scores(image, text):
        return {**retrieval_recall(image, text, ks=(1, 5)),
                "r_precision": r_precision(image, text, candidates, p.r_precision_trials,
                                           config.seed)}

    dim = embedded["image"].shape[-1]
    return {"space": "joint (f, g)" if pretrainer.objective == "eq6" else "encoder",
            "stories": len(embedded["story_image"]),
            "r_precision_candidates": candidates,
            "r_precision_chance": r_precision_chance(len(embedded["story_image"]), candidates),
            "story": scores(embedded["story_image"], embedded["story_sentence"]),
            "frame": scores(embedded["image"].reshape(-1, dim),
                            embedded["sentence"].reshape(-1, dim))}


def r_precision_candidates(config: ml_collections.ConfigDict, stories: int) -> int:
    """pretrain.r_precision_candidates, capped at a split of `stories` stories (a small
    sample's validation split may hold fewer than the field's 100)."""
    return min(config.pretrain.r_precision_candidates, stories)


def retrieval_table(retrieval: dict) -> str:
    """The manifest's retrieval figures as a text table, one row per level."""
    columns = ("image_to_text_r@1", "image_to_text_r@5", "text_to_image_r@1",
               "text_to_image_r@5", "r_precision")
    lines = [f"retrieval on {retrieval['split']} ({retrieval['stories']} stories, "
             f"{retrieval['space']} space; R-precision: 1 of {retrieval['r_precision_candidates']}"
             f" candidates, chance {100 * retrieval['r_precision_chance']:.1f}%)",
             f"{'level':<7}" + "".join(f"{name:>19}" for name in columns)]
    for level in ("story", "frame"):
        lines.append(f"{level:<7}" + "".join(f"{100 * retrieval[level][name]:>18.1f}%"
                                             for name in columns))
    return "\n".join(lines)


def check_pretrain_arguments(config: ml_collections.ConfigDict, data_dir: str, output_dir: str,
                             overwrite: bool = False) -> dict[str, Any]:
    """Raises PretrainArgumentError when the arguments cannot give a run; returns the data
    manifest. Checks only: nothing is read beyond manifests and nothing is written."""
    p = config.pretrain
    if p.objective not in OBJECTIVES:
        raise PretrainArgumentError(f"unknown pretrain.objective {p.objective!r}: expected one "
                                    f"of {OBJECTIVES}")
    if config.clustering.algorithm not in ALGORITHMS or config.clustering.features not in FEATURES:
        raise PretrainArgumentError(
            f"clustering.algorithm must be one of {ALGORITHMS} and clustering.features one of "
            f"{FEATURES}; got {config.clustering.algorithm!r}, {config.clustering.features!r}")
    if not data_dir:
        raise PretrainArgumentError("data_dir is required: a `python -m pipelines.preprocess` "
                                    "output directory")
    if not output_dir:
        raise PretrainArgumentError("output_dir is required: where the encoders go")
    try:
        data = read_manifest(data_dir)
    except ValueError as error:  # DatasetFormatError
        raise PretrainArgumentError(str(error)) from None
    mismatched = [f"data.{key} = {config.data[key]} but {data_dir} has {data[key]}"
                  for key in ("image_size", "frames_per_story") if config.data[key] != data[key]]
    if mismatched:
        raise PretrainArgumentError("the config does not match the preprocessed data: "
                                    + "; ".join(mismatched) + " (override --config.data.<key>)")
    if config.data.max_sentence_length <= 0:
        raise PretrainArgumentError(f"data.max_sentence_length must be positive, got "
                                    f"{config.data.max_sentence_length}")
    if p.character_weight and not data.get("label_names"):
        raise PretrainArgumentError(f"pretrain.character_weight = {p.character_weight} needs "
                                    f"character labels, and {data_dir} has none (its manifest "
                                    "lists no label_names): set it to 0")
    if data["splits"].get("train", 0) < p.batch_size:
        raise PretrainArgumentError(
            f"{data_dir} has {data['splits'].get('train', 0)} training stories, fewer than one "
            f"batch (pretrain.batch_size = {p.batch_size})")
    if data["splits"].get("val", 0) < 2:
        raise PretrainArgumentError(
            f"{data_dir} has {data['splits'].get('val', 0)} validation stories: retrieval on "
            "val needs at least 2 (preprocess with a validation split, e.g. --split)")
    try:
        check_stage_directory(output_dir, PRETRAIN_KIND)
        if not overwrite:
            finished = os.path.join(output_dir, pretrained.MANIFEST)
            check_resume(output_dir, config, epochs_key="pretrain.epochs",
                         epochs_done=(read_json(finished)["epochs"] if os.path.exists(finished)
                                      else None),
                         run_name="pretraining run")
    except ValueError as error:  # StageDirectoryError, ResumeError
        raise PretrainArgumentError(f"{error} (or pass --overwrite)" if isinstance(
            error, ResumeError) else str(error)) from None
    return data


def run_pretrain(config: ml_collections.ConfigDict, data_dir: str, output_dir: str, *,
                 overwrite: bool = False, callbacks: Sequence[keras.callbacks.Callback] = (),
                 verbose: str | int = "auto", log=print) -> dict[str, Any]:
    """Pretrains the encoders on `data_dir`'s train split, computes the offline centroids,
    measures retrieval on val and writes `output_dir` (layout in `training.pretrained`).

    Rerunning an interrupted run with the same config resumes it from its last finished epoch
    (`callbacks.CrashSafeBackup` in OUT/checkpoints, kept after the run), and raising
    pretrain.epochs extends a finished run (`resume`); `overwrite` starts afresh, but never in
    another stage's directory. `callbacks` run after the backup and TensorBoard callbacks.
    Returns the manifest.
    """
    data = check_pretrain_arguments(config, data_dir, output_dir, overwrite)
    if overwrite:
        _remove_outputs(output_dir)
    claim_stage_directory(output_dir, PRETRAIN_KIND)
    write_json(os.path.join(output_dir, pretrained.CONFIG), config.to_dict())
    # An extended run is incomplete until its new manifest is written.
    if os.path.exists(os.path.join(output_dir, pretrained.MANIFEST)):
        os.remove(os.path.join(output_dir, pretrained.MANIFEST))

    keras.utils.set_random_seed(config.seed)
    vocabulary = load_vocabulary(data_dir)
    p, length, frames = config.pretrain, config.data.max_sentence_length, data["frames_per_story"]
    pretrainer = build_pretrainer(config, len(vocabulary), data["image_size"], length, frames,
                                  len(data.get("label_names") or ()))

    train = story_batches(data_dir, "train", config, shuffle=True)
    val = story_batches(data_dir, "val", config, shuffle=False)
    if r_precision_candidates(config, data["splits"]["val"]) < p.r_precision_candidates:
        log(f"note: R-precision ranks each story among the {data['splits']['val']} validation "
            f"stories of {data_dir}, not pretrain.r_precision_candidates = "
            f"{p.r_precision_candidates} (chance is higher; the table says which)")
    pretrainer.fit(
        train, validation_data=val,
        epochs=p.epochs, verbose=verbose, shuffle=False,  # the loader shuffles
        callbacks=[CrashSafeBackup(os.path.join(output_dir, CHECKPOINTS), log),
                   keras.callbacks.TensorBoard(os.path.join(output_dir, TENSORBOARD)),
                   *callbacks])

    instance_batches = math.ceil(p.centroid_instances
                                 / (p.batch_size * frames
                                    * rows_per_frame(config.clustering.features)))
    centroids, clustering = offline_centroids(pretrainer, train.take(instance_batches), config)
    manifest = {"objective": p.objective, "epochs": p.epochs,
                "max_sentence_length": length, "image_size": data["image_size"],
                "frames_per_story": frames,
                "retrieval": {"split": "val", **evaluate_retrieval(pretrainer, val, config)},
                "clustering": clustering, "dataset": data}
    pretrained.save_pretrained(output_dir, config, vocabulary, pretrainer.encoders, centroids,
                               manifest)
    return read_json(os.path.join(output_dir, pretrained.MANIFEST))


def story_batches(data_dir: str, split: str, config: ml_collections.ConfigDict, *,
                  shuffle: bool) -> tf.data.Dataset:
    """Batches {"images", "token_ids"} (+ "labels" with pretrain.character_weight > 0) of
    `pretrain.batch_size` stories of `split`, sentences padded to data.max_sentence_length.
    Shuffled batches (training) are all full: the clustering memory's rows are fixed.

    The dataset states its length: on a dataset of unknown length Keras `fit` runs one more step
    per epoch that fails at the end of the data, after stateful updates that do not wait for the
    data (the optimiser's iteration count, the clustering memory's batch count) have run.
    """
    stories, size = read_manifest(data_dir)["splits"][split], config.pretrain.batch_size
    dataset = load_dataset(data_dir, split, size, shuffle=shuffle, drop_remainder=shuffle,
                           max_sentence_length=config.data.max_sentence_length, seed=config.seed)
    batches = stories // size if shuffle else math.ceil(stories / size)
    keys = ("images", "token_ids", *(("labels",) if config.pretrain.character_weight else ()))
    return (dataset.map(lambda batch: {key: batch[key] for key in keys})
            .apply(tf.data.experimental.assert_cardinality(batches)))


def _frames(x):
    """[B, T, ...] -> [B*T, ...]: every frame of the batch's stories as one batch."""
    return ops.reshape(x, (-1, *x.shape[2:]))


def _remove_outputs(output_dir):
    """Everything a pretraining run writes, so an overwrite leaves nothing stale."""
    for name in (CHECKPOINTS, TENSORBOARD):
        shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)
    for name in (pretrained.CONFIG, pretrained.MANIFEST, pretrained.VOCAB, pretrained.CENTROIDS,
                 *pretrained.ENCODER_WEIGHTS.values()):
        path = os.path.join(output_dir, name)
        if os.path.exists(path):
            os.remove(path)


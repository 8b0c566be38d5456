"""The pretrained-encoders directory: what `pipelines.pretrain` writes and the GAN reads back.

Layout (PRE = --output_dir of pipelines.pretrain, --pretrained_dir of pipelines.train):
  PRE/config.json                  the full experiment config of the pretraining run
  PRE/manifest.json                kind "storyvis_tf.pretrain_run", vocab_sha256,
                                   max_sentence_length, image_size, objective, epochs,
                                   retrieval metrics, centroids_shape, the dataset's manifest;
                                   written last, so its presence marks a complete run
  PRE/vocab.txt                    the vocabulary the text encoder was trained with
  PRE/text_encoder.weights.h5, PRE/image_encoder.weights.h5
  PRE/visual_head.weights.h5, PRE/language_head.weights.h5   projection heads f, g (Sec. 3.2)
  PRE/centroids.npy                [k, F] offline fusion-feature centroids (Sec. 3.3.3)
Weights are `.weights.h5` of models built from the config, so they load under either Keras
backend.
"""
import os
from typing import Any

import keras
import ml_collections
import numpy as np

from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.models.fusion import ProjectionHead
from storyvis_tf.models.image_encoder import ImageEncoder
from storyvis_tf.stage_kinds import PRETRAIN_KIND
from storyvis_tf.text.vocabulary import Vocabulary
from storyvis_tf.training.run_dir import build_text_encoder
from storyvis_tf.weights_files import load_weights, save_weights_atomically

CONFIG, MANIFEST, VOCAB, CENTROIDS = "config.json", "manifest.json", "vocab.txt", "centroids.npy"
ENCODER_WEIGHTS = {"text_encoder": "text_encoder.weights.h5",
                   "image_encoder": "image_encoder.weights.h5",
                   "visual_head": "visual_head.weights.h5",
                   "language_head": "language_head.weights.h5"}
# Config keys that shape the encoders' and heads' weights: a GAN config must agree with the
# pretraining config on all of them to load the weights.
ARCHITECTURE_KEYS = ("text_encoder.embedding_dim", "text_encoder.hidden_dim",
                     "image_encoder.backbone", "image_encoder.width", "image_encoder.dim")


def build_encoders(config: ml_collections.ConfigDict, vocab_size: int, image_size: int,
                   max_sentence_length: int) -> dict[str, keras.Model]:
    """Text and image encoders and the projection heads f (visual), g (language), with all
    weights created (one dummy forward pass each).

    The joint space of the heads is image_encoder.dim; DAMSM compares the two encoders' outputs
    directly, so text_encoder.hidden_dim must equal it.
    """
    if config.text_encoder.hidden_dim != config.image_encoder.dim:
        raise ValueError(
            f"text_encoder.hidden_dim ({config.text_encoder.hidden_dim}) must equal "
            f"image_encoder.dim ({config.image_encoder.dim}): words and regions are compared in "
            "one joint space")
    ie = config.image_encoder
    encoders = {"text_encoder": build_text_encoder(config, vocab_size),
                "image_encoder": ImageEncoder(ie.backbone, ie.dim, ie.width, ie.vgg16_weights,
                                              ie.inception_v3_weights),
                "visual_head": ProjectionHead(ie.dim, name="visual_head"),
                "language_head": ProjectionHead(ie.dim, name="language_head")}
    encoders["text_encoder"](keras.ops.ones((1, max_sentence_length), dtype="int32"))
    encoders["image_encoder"](keras.ops.zeros((1, image_size, image_size, 3)))
    encoders["visual_head"](keras.ops.zeros((1, ie.dim)))
    encoders["language_head"](keras.ops.zeros((1, config.text_encoder.hidden_dim)))
    return encoders


def save_pretrained(output_dir: str, config: ml_collections.ConfigDict, vocabulary: Vocabulary,
                    encoders: dict[str, keras.Model], centroids: np.ndarray,
                    manifest: dict[str, Any]) -> None:
    """Writes the directory of the module docstring; manifest.json last.

    `manifest` holds the run facts (max_sentence_length, image_size, objective, ...); kind,
    vocab_sha256 and centroids_shape are added here.
    """
    os.makedirs(output_dir, exist_ok=True)
    write_json(os.path.join(output_dir, CONFIG), config.to_dict())
    vocabulary.save(os.path.join(output_dir, VOCAB))
    for name, filename in ENCODER_WEIGHTS.items():
        save_weights_atomically(_weights_of(encoders[name], config),
                                os.path.join(output_dir, filename))
    np.save(os.path.join(output_dir, CENTROIDS), np.asarray(centroids, dtype=np.float32))
    write_json(os.path.join(output_dir, MANIFEST),
                {**manifest, "kind": PRETRAIN_KIND, "vocab_sha256": vocabulary.sha256(),
                 "centroids_shape": list(np.shape(centroids))})


def load_pretrained(pretrained_dir: str, config: ml_collections.ConfigDict,
                    expected_vocab_sha256: str | None = None) -> dict[str, Any]:
    """The pretrained encoders of a `pipelines.pretrain` run, built from `config`; call it
    inside the distribution strategy scope and dtype policy the models must live in.

    Returns {"text_encoder", "image_encoder", "visual_head", "language_head" (Keras models with
    the pretrained weights), "centroids" (np.ndarray [k, F]), "manifest" (dict),
    "vocabulary" (Vocabulary)}.
    Raises FileNotFoundError for a missing directory or file, ValueError for a manifest that
    is not a pretraining run's, a vocabulary that does not match its manifest or
    `expected_vocab_sha256` (e.g. the preprocessed data a GAN is about to train on), or a
    `config` whose encoder architecture differs from the pretraining config.
    """
    if not os.path.isdir(pretrained_dir):
        raise FileNotFoundError(f"pretrained encoders directory {pretrained_dir} does not exist "
                                "(the --output_dir of `python -m pipelines.pretrain`)")
    files = (CONFIG, MANIFEST, VOCAB, CENTROIDS, *ENCODER_WEIGHTS.values())
    missing = [name for name in files if not os.path.isfile(os.path.join(pretrained_dir, name))]
    if missing:
        raise FileNotFoundError(
            f"{pretrained_dir} is not a complete output of `python -m pipelines.pretrain`: "
            f"missing {', '.join(os.path.join(pretrained_dir, name) for name in missing)}")
    manifest_path = os.path.join(pretrained_dir, MANIFEST)
    manifest = read_json(manifest_path)
    if not isinstance(manifest, dict) or manifest.get("kind") != PRETRAIN_KIND:
        kind = manifest.get("kind") if isinstance(manifest, dict) else None
        raise ValueError(f"{manifest_path} is not a pretraining-run manifest (kind {kind!r}, "
                         f"expected {PRETRAIN_KIND!r})")
    vocabulary = Vocabulary.load(os.path.join(pretrained_dir, VOCAB))
    if vocabulary.sha256() != manifest["vocab_sha256"]:
        raise ValueError(f"{os.path.join(pretrained_dir, VOCAB)} does not match vocab_sha256 of "
                         f"{manifest_path}: the vocabulary was changed after pretraining")
    if expected_vocab_sha256 is not None and expected_vocab_sha256 != manifest["vocab_sha256"]:
        raise ValueError(
            f"the encoders in {pretrained_dir} were pretrained with another vocabulary "
            f"(vocab_sha256 {manifest['vocab_sha256'][:12]}..., expected "
            f"{expected_vocab_sha256[:12]}...): pretrain on the same preprocessed data")
    _check_architecture(config, ml_collections.ConfigDict(
        read_json(os.path.join(pretrained_dir, CONFIG))), pretrained_dir)

    encoders = build_encoders(config, len(vocabulary), manifest["image_size"],
                              manifest["max_sentence_length"])
    for name, filename in ENCODER_WEIGHTS.items():
        load_weights(_weights_of(encoders[name], config), os.path.join(pretrained_dir, filename))
    return {**encoders, "centroids": np.load(os.path.join(pretrained_dir, CENTROIDS)),
            "manifest": manifest, "vocabulary": vocabulary}


def _weights_of(network, config):
    """What saves and loads `network`'s weights: the model itself, or for a projection head (a
    Layer, which has no save_weights / load_weights) a Sequential view of it."""
    if isinstance(network, keras.Model):
        return network
    return keras.Sequential([keras.Input((config.image_encoder.dim,)), network])


def _check_architecture(config, pretrain_config, pretrained_dir):
    def value(c, dotted):
        section, key = dotted.split(".")
        return c[section][key]

    differing = [f"{key} = {value(config, key)!r} (pretrained: {value(pretrain_config, key)!r})"
                 for key in ARCHITECTURE_KEYS if value(config, key) != value(pretrain_config, key)]
    if differing:
        raise ValueError(
            f"the config does not match the encoders pretrained in {pretrained_dir} "
            f"({os.path.join(pretrained_dir, CONFIG)}): {'; '.join(differing)}")

"""The run directory: everything a later stage (export, evaluate) needs from a training run.

Layout written by `pipelines.train` (and by `save_generation_artifacts` alone in tests):
  RUN/config.json            the full experiment config
  RUN/manifest.json          run facts: step, epoch, shapes, vocabulary hash, dataset manifest
  RUN/vocab.txt              the training vocabulary (copied from the preprocessed data)
  RUN/text_encoder.weights.h5, RUN/generator.weights.h5   the weights generation needs
  RUN/checkpoints/, RUN/tensorboard/, RUN/samples/, RUN/metrics.jsonl   training by-products
Weights are `.weights.h5` built from the config, so they load under either Keras backend.
"""
import os
from typing import Any

import keras
import ml_collections

from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.models.text_encoder import TextEncoder
from storyvis_tf.stage_kinds import RUN_KIND
from storyvis_tf.text.vocabulary import Vocabulary
from storyvis_tf.training import families
from storyvis_tf.weights_files import load_weights, save_weights_atomically

CONFIG, MANIFEST, VOCAB = "config.json", "manifest.json", "vocab.txt"
TEXT_ENCODER_WEIGHTS, GENERATOR_WEIGHTS = "text_encoder.weights.h5", "generator.weights.h5"


def build_text_encoder(config: ml_collections.ConfigDict, vocab_size: int) -> TextEncoder:
    te = config.text_encoder
    return TextEncoder(vocab_size, te.embedding_dim, te.hidden_dim, te.dropout)


def build_generator(config: ml_collections.ConfigDict) -> keras.Model:
    """The generator of config.model.family (`families.build_generator`)."""
    return families.build_generator(config)


def build_generation_models(config, vocab_size: int, max_sentence_length: int):
    """Text encoder and generator with all weights created (a dummy forward pass)."""
    text_encoder = build_text_encoder(config, vocab_size)
    generator = build_generator(config)
    frames = config.data.frames_per_story
    tokens = keras.ops.ones((1, frames, max_sentence_length), dtype="int32")
    noise = keras.ops.zeros((1, config.generator.noise_dim))
    generate_images(text_encoder, generator, tokens, noise)
    return text_encoder, generator


def generate_images(text_encoder, generator, token_ids, noise, labels=None):
    """Story images in [-1, 1], [B, T, H, W, 3], from token ids [B, T, L] and noise [B, Z]."""
    return generation_outputs(text_encoder, generator, token_ids, noise, labels)["images"]


def generation_outputs(text_encoder, generator, token_ids, noise, labels=None) -> dict:
    """The generator's whole inference output (`StoryGenerator.call`: "images" and the attention
    stages' "relations") from token ids [B, T, L] and noise [B, Z]."""
    from storyvis_tf.models.text_encoder import encode_stories

    text = encode_stories(text_encoder, token_ids, training=False)
    inputs = {"noise": noise, "sentence": text["sentence"], "words": text["words"],
              "word_mask": text["mask"], "story": text["story"]}
    if labels is not None:
        inputs["labels"] = labels
    return generator(inputs, training=False)


def save_generation_artifacts(run_dir: str, config, vocabulary: Vocabulary, text_encoder,
                              generator, manifest: dict[str, Any]) -> None:
    """Writes config, vocabulary, manifest and the two weight files (atomic per file)."""
    os.makedirs(run_dir, exist_ok=True)
    write_json(os.path.join(run_dir, CONFIG), config.to_dict())
    vocabulary.save(os.path.join(run_dir, VOCAB))
    for model, name in ((text_encoder, TEXT_ENCODER_WEIGHTS), (generator, GENERATOR_WEIGHTS)):
        save_weights_atomically(model, os.path.join(run_dir, name))
    write_json(os.path.join(run_dir, MANIFEST),
                {"kind": RUN_KIND, "vocab_sha256": vocabulary.sha256(), **manifest})


def load_run(run_dir: str):
    """(config, manifest, vocabulary, text_encoder, generator) of a run directory.

    Refuses a directory that is not a run, or whose vocabulary does not match its manifest;
    WeightsFileError (a ValueError) names a weights file that cannot be loaded.
    """
    for name in (CONFIG, MANIFEST, VOCAB, TEXT_ENCODER_WEIGHTS, GENERATOR_WEIGHTS):
        if not os.path.exists(os.path.join(run_dir, name)):
            raise FileNotFoundError(f"{os.path.join(run_dir, name)} not found: {run_dir} is not a "
                                    "complete run directory of pipelines.train")
    config = ml_collections.ConfigDict(read_json(os.path.join(run_dir, CONFIG)))
    manifest = read_json(os.path.join(run_dir, MANIFEST))
    if manifest.get("kind") != RUN_KIND:
        raise ValueError(f"{os.path.join(run_dir, MANIFEST)} is not a training-run manifest")
    vocabulary = Vocabulary.load(os.path.join(run_dir, VOCAB))
    if vocabulary.sha256() != manifest["vocab_sha256"]:
        raise ValueError(f"{os.path.join(run_dir, VOCAB)} does not match the vocabulary hash in "
                         f"{os.path.join(run_dir, MANIFEST)}")
    text_encoder, generator = build_generation_models(config, len(vocabulary),
                                                      manifest["max_sentence_length"])
    load_weights(text_encoder, os.path.join(run_dir, TEXT_ENCODER_WEIGHTS))
    load_weights(generator, os.path.join(run_dir, GENERATOR_WEIGHTS))
    return config, manifest, vocabulary, text_encoder, generator


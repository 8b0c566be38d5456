"""The tf.data input pipeline over a preprocessed directory (see `storyvis_tf.data.schema`).

Shards are read in parallel (interleaved), stories parsed and their PNG frames decoded in parallel,
then batched and prefetched. Every element is a dict:
  images     float32 [B, T, H, W, 3] in [-1, 1]
  token_ids  int32   [B, T, L]  padded with PAD_ID = 0 / truncated to L words
  labels     float32 [B, T, C]
  sentences  string  [B, T]
  story_id   string  [B]
"""
import json
import os
from typing import Any

import tensorflow as tf

from storyvis_tf.data import schema
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.stage_dirs import DATA_KIND, describe
from storyvis_tf.text.vocabulary import PAD_ID, Vocabulary

_MANIFEST_FIELDS = ("dataset", "image_size", "frames_per_story", "splits", "vocab_size",
                    "vocab_sha256", "max_sentence_length", "label_names", "num_shards",
                    "compression")
_TF_COMPRESSION = {"none": "", "gzip": "GZIP"}


def read_manifest(preprocessed_dir: str) -> dict[str, Any]:
    """The manifest of a preprocessed directory; DatasetFormatError naming the file if unusable."""
    path = os.path.join(preprocessed_dir, schema.MANIFEST_FILE)
    if not tf.io.gfile.exists(path):
        raise DatasetFormatError(f"{path} not found: {preprocessed_dir} is not a complete output "
                                 "of `python -m pipelines.preprocess`")
    try:
        with tf.io.gfile.GFile(path) as f:
            manifest = json.load(f)
    except json.JSONDecodeError as error:
        raise DatasetFormatError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise DatasetFormatError(f"{path} must hold a JSON object, got {type(manifest).__name__}")
    if manifest.get("kind", DATA_KIND) != DATA_KIND:  # manifests before kinds: preprocessed
        raise DatasetFormatError(f"{path} is the manifest of {describe(manifest['kind'])}, not "
                                 "of preprocessed data (pipelines.preprocess)")
    missing = [field for field in _MANIFEST_FIELDS if field not in manifest]
    if missing:
        raise DatasetFormatError(f"{path} lacks the fields {', '.join(missing)}")
    if manifest["compression"] not in _TF_COMPRESSION:
        raise DatasetFormatError(f"{path}: unknown compression {manifest['compression']!r}, "
                                 f"expected one of {sorted(_TF_COMPRESSION)}")
    return manifest


def load_vocabulary(preprocessed_dir: str) -> Vocabulary:
    """The vocabulary the records were tokenised with, checked against the manifest's hash."""
    manifest = read_manifest(preprocessed_dir)
    path = os.path.join(preprocessed_dir, schema.VOCABULARY_FILE)
    vocabulary = Vocabulary.load(path)
    if vocabulary.sha256() != manifest["vocab_sha256"]:
        raise DatasetFormatError(f"{path} does not match vocab_sha256 of "
                                 f"{os.path.join(preprocessed_dir, schema.MANIFEST_FILE)}: the "
                                 "vocabulary was changed after preprocessing")
    return vocabulary


def _story_features(serialized: tf.Tensor, *, num_frames: int, image_size: int, num_labels: int,
                    max_sentence_length: int) -> dict[str, tf.Tensor]:
    story = schema.parse_example(serialized)
    frames = tf.ensure_shape(story["frames"], [num_frames, image_size, image_size, 3])
    token_ids = story["token_ids"].to_tensor(default_value=PAD_ID,
                                             shape=[num_frames, max_sentence_length])
    return {
        "images": tf.cast(frames, tf.float32) / 127.5 - 1.0,
        "token_ids": tf.cast(token_ids, tf.int32),
        "labels": tf.ensure_shape(story["labels"], [num_frames, num_labels]),
        "sentences": tf.ensure_shape(story["sentences"], [num_frames]),
        "story_id": story["story_id"],
    }


def load_dataset(preprocessed_dir: str, split: str, batch_size: int, *, shuffle: bool = False,
                 deterministic: bool = True, repeat: bool = False, drop_remainder: bool = False,
                 max_sentence_length: int | None = None, seed: int = 0,
                 shuffle_buffer: int = 1024) -> tf.data.Dataset:
    """Batched, prefetched stories of `split` (element layout in the module docstring).

    L = `max_sentence_length`, or the manifest's longest training sentence when None.
    `shuffle` shuffles the shard order and a buffer of `shuffle_buffer` serialised stories, seeded
    by `seed`; `deterministic=False` lets parallel reads and decodes return out of order (faster).
    """
    manifest = read_manifest(preprocessed_dir)
    if split not in manifest["splits"]:
        raise ValueError(f"split {split!r} is not in {preprocessed_dir} "
                         f"(splits: {', '.join(manifest['splits'])})")
    length = manifest["max_sentence_length"] if max_sentence_length is None else max_sentence_length
    if length <= 0:
        raise ValueError(f"max_sentence_length must be positive, got {length}")
    shards = schema.shard_paths(preprocessed_dir, split, manifest["num_shards"])
    missing = [path for path in shards if not tf.io.gfile.exists(path)]
    if missing:
        raise DatasetFormatError(f"{preprocessed_dir}: shards listed by the manifest are missing: "
                                 f"{', '.join(missing)}")
    for path in shards:  # manifests older than shard_bytes skip this check
        recorded = manifest.get("shard_bytes", {}).get(os.path.relpath(path, preprocessed_dir))
        if recorded is not None and tf.io.gfile.stat(path).length != recorded:
            raise DatasetFormatError(f"{path} has {tf.io.gfile.stat(path).length} bytes, "
                                     f"{recorded} when it was written (manifest.json): the shard "
                                     "was truncated or changed; preprocess again")

    files = tf.data.Dataset.from_tensor_slices(shards)
    if shuffle:
        files = files.shuffle(len(shards), seed=seed)
    compression = _TF_COMPRESSION[manifest["compression"]]
    records = files.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=compression),
        cycle_length=len(shards), num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic)
    if shuffle:
        records = records.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        records = records.repeat()
    stories = records.map(
        lambda serialized: _story_features(
            serialized, num_frames=manifest["frames_per_story"],
            image_size=manifest["image_size"], num_labels=len(manifest["label_names"]),
            max_sentence_length=length),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return stories.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

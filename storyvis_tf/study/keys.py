"""Content keys of a study's work, so that finished work is found again and reused.

Each key is the SHA-256 of the canonical JSON (sorted keys) of everything that determines the
output, without output paths:
- `data_key`: the preprocessed data: the data section, the seed of the reader, the raw
  dataset's directory.
- `pretrain_key`: the pretrained encoders: the config sections encoder pretraining reads
  (PRETRAIN_SECTIONS) and the seed; the damsm objective reads of `losses` only
  `story_image` (the contrastive and clustering switches shape eq6's objective alone), so rows
  that differ only in those switches share one pretraining.
- `row_key`: a finished (row, seed): its whole training config, its pretraining key and the
  evaluation it gets (split, shared seed).
"""
import hashlib
import json
from typing import Any

import ml_collections

# What `training.pretrain.run_pretrain` reads of an experiment config besides `seed`.
PRETRAIN_SECTIONS = ("data", "text_encoder", "image_encoder", "pretrain", "losses", "clustering")
# Config fields that hold where things are, not what they are.
_PATH_FIELDS = (("train", "pretrained_dir"), ("eval", "statistics_cache_dir"))


def content_key(value: Any) -> str:
    """SHA-256 hex of the canonical JSON of `value` (dicts in sorted key order, tuples as
    lists)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_key(config: ml_collections.ConfigDict, source_dir: str) -> str:
    return content_key({"data": config.data.to_dict(), "seed": config.seed,
                        "source_dir": source_dir})


def pretrain_key(config: ml_collections.ConfigDict) -> str:
    """The key of the encoders that `config` (at the seed they are pretrained with) gives."""
    sections = {name: config[name].to_dict() for name in PRETRAIN_SECTIONS}
    if config.pretrain.objective == "damsm":
        sections["losses"] = {"story_image": config.losses.story_image}
    return content_key({"sections": sections, "seed": config.seed})


def row_key(config: ml_collections.ConfigDict, pretrain: str, evaluation: dict) -> str:
    """The key of a (row, seed): its training `config`, the `pretrain` key of its encoders and
    its `evaluation` (split, shared seed)."""
    resolved = config.to_dict()
    for section, field in _PATH_FIELDS:
        resolved[section].pop(field, None)
    return content_key({"config": resolved, "pretrain": pretrain, "evaluation": evaluation})

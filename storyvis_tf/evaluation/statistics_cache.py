"""Reference feature statistics (mu, sigma, count) cached on disk under a key that names
everything that produced them.

A stale reference cache once gave the field a wrong published FID, so, as in StyleGAN2-ADA's
metric cache, the file name is the sha256 of a canonical JSON of the producing inputs (dataset
manifest / vocabulary hash, split, image size, extractor and its weights' identity, sample count,
code version): change any of them and the old file is simply never found. The JSON itself lies
beside the `.npz` so a person can see what a cache entry was computed from.
"""
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from absl import logging

from storyvis_tf.evaluation.frechet import feature_statistics

# The inputs a reference statistic depends on; a key without one of them could match a cache
# entry computed from something else. `extractor` is the extractor's `identity` dict (its name and
# the sha256 of its weights); `num_samples` is the requested sample count (0 = the whole split).
REQUIRED_KEY_FIELDS = ("dataset", "split", "image_size", "extractor", "num_samples",
                       "code_version")


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
    """Gaussian statistics of a feature set: mu `[F]`, sigma `[F, F]`, and the row count."""
    mu: np.ndarray
    sigma: np.ndarray
    count: int

    @classmethod
    def from_features(cls, features) -> "FeatureStatistics":
        """Statistics of a `[N, F]` feature array."""
        mu, sigma = feature_statistics(features)
        return cls(mu=mu, sigma=sigma, count=int(np.shape(features)[0]))


def cache_key(key_fields: dict) -> str:
    """sha256 hex digest of the canonical JSON (sorted keys, no spaces) of `key_fields`."""
    return hashlib.sha256(_canonical_json(key_fields).encode("utf-8")).hexdigest()


def load_or_compute(cache_dir: str | os.PathLike, key_fields: dict,
                    compute_fn: Callable[[], FeatureStatistics]) -> FeatureStatistics:
    """Returns the statistics cached for `key_fields`, computing and caching them on a miss.

    Args:
      cache_dir: directory of `<key>.npz` (mu, sigma, count, key) and `<key>.json` (the fields).
      key_fields: JSON-serialisable description of what produced the statistics; must hold
        every name in `REQUIRED_KEY_FIELDS`, may hold more.
      compute_fn: called with no argument on a miss; returns a `FeatureStatistics`.
    """
    missing = [name for name in REQUIRED_KEY_FIELDS if name not in key_fields]
    if missing:
        raise ValueError(f"reference statistics key is missing {missing}: a cache keyed without "
                         "them could return statistics computed from different inputs")
    key = cache_key(key_fields)
    cache_dir = Path(cache_dir)
    npz_path = cache_dir / f"{key}.npz"
    if npz_path.exists():
        logging.info("reference statistics: cache hit %s", npz_path)
        return _read_entry(npz_path, key)

    statistics = compute_fn()
    if not isinstance(statistics, FeatureStatistics):
        raise TypeError("compute_fn must return FeatureStatistics, got "
                        f"{type(statistics).__name__}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(cache_dir / f"{key}.json",
                      lambda f: f.write(json.dumps(key_fields, indent=2, sort_keys=True).encode()))
    # The .npz is written last: its presence marks a complete entry.
    _write_atomically(npz_path, lambda f: np.savez(f, mu=statistics.mu, sigma=statistics.sigma,
                                                   count=statistics.count, key=key))
    logging.info("reference statistics: computed %d rows, cached at %s", statistics.count, npz_path)
    return statistics


def fingerprint_path(path: str | os.PathLike) -> str:
    """sha256 of a weights file, or of a directory (e.g. a SavedModel) as its sorted relative
    file paths and contents: the 'weights identity' of an extractor in a cache key."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
            _update_with_file(digest, file)
    else:
        _update_with_file(digest, path)
    return digest.hexdigest()


def _canonical_json(key_fields: dict) -> str:
    try:
        return json.dumps(key_fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"reference statistics key fields must be plain JSON values "
                        f"(str, int, float, bool, None, list, dict): {error}") from error


def _read_entry(npz_path: Path, key: str) -> FeatureStatistics:
    with np.load(npz_path) as entry:
        if str(entry["key"]) != key:
            raise ValueError(f"{npz_path}: holds statistics for key {entry['key']}, not {key}; "
                             "the file was renamed or edited, delete it")
        return FeatureStatistics(mu=entry["mu"], sigma=entry["sigma"], count=int(entry["count"]))


def _write_atomically(path: Path, write: Callable) -> None:
    """Writes through a temporary file in the same directory, so a crash leaves no half entry."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _update_with_file(digest, file: Path) -> None:
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)

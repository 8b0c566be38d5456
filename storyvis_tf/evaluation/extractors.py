"""What every feature extractor of the evaluator shares: the [-1, 1] pixel convention, batched
extraction, and loading a user's local weights file with errors that say which file is wrong."""
import warnings
from pathlib import Path

import h5py
import keras
import numpy as np

# Pixel values may overshoot [-1, 1] by rounding (resampling, float16 generators).
_RANGE_TOLERANCE = 1e-3


def to_signed_unit_range(pixels, what: str) -> np.ndarray:
    """float32 pixels in [-1, 1], the input convention of every feature extractor here (the field
    feeds both Inception-v3 and R(2+1)D-18 with [-1, 1] pixels).

    uint8 pixels are mapped by x / 127.5 - 1; float pixels must already lie in [-1, 1].
    `what` names the array in error messages (e.g. "frames").
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(pixels.dtype, np.floating):
        raise ValueError(f"{what} must be uint8 or float in [-1, 1], got dtype {pixels.dtype}")
    if pixels.size:
        if not np.isfinite(pixels).all():
            raise ValueError(f"{what} contain NaN or infinite values")
        low, high = float(pixels.min()), float(pixels.max())
        if low < -1.0 - _RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
            raise ValueError(f"{what} must be float in [-1, 1], got values in "
                             f"[{low:.3g}, {high:.3g}] (uint8 [0, 255] arrays are accepted as they"
                             " are)")
    return pixels.astype(np.float32)


def batched_features(features_of_batch, pixels, batch_size: int, what: str) -> np.ndarray:
    """`features_of_batch` over consecutive batches of `pixels` (converted to float32 [-1, 1] one
    batch at a time, so uint8 datasets never exist in float32 as a whole), concatenated."""
    if len(pixels) == 0:
        raise ValueError(f"{what} are empty: there is nothing to extract features from")
    return np.concatenate([features_of_batch(to_signed_unit_range(pixels[i:i + batch_size], what))
                           for i in range(0, len(pixels), batch_size)], axis=0)


def build_with_weights(build, weights_path: str, network: str) -> keras.Model:
    """`build()`'s network with the weights of a local Keras weights file.

    The file is checked (exists, is HDF5) before the possibly large network is built. Keras only
    warns (and keeps random initial values) for parts of a `.weights.h5` it cannot match, so any
    such warning is treated as what it means here: the file is another network's. `network`
    names the architecture in error messages.
    """
    if not Path(weights_path).is_file():
        raise FileNotFoundError(f"{network} weights not found: {weights_path} (nothing is "
                                "downloaded; give a local weights file)")
    if not h5py.is_hdf5(weights_path):
        raise ValueError(f"{weights_path}: not an HDF5 Keras weights file (.weights.h5 / .h5), so "
                         f"these weights do not match {network}")
    model = build()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            model.load_weights(weights_path)
    except (ValueError, KeyError, UserWarning, OSError) as error:
        raise ValueError(f"{weights_path}: these weights do not match {network}: "
                         f"{str(error)[:300]}") from error
    return model

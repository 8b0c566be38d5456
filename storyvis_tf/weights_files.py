"""Keras `.weights.h5` files of the pipeline's artifacts and checkpoints: written atomically, so
a process killed mid-save never leaves a truncated file under the real name, and read with an
error that names the file (h5py's own errors name none).

  save_weights_atomically(model, path)   model.save_weights to a sibling temporary file, then
                                         os.replace onto `path`
  load_weights(model, path)              model.load_weights(path); WeightsFileError naming
                                         `path` when the file is missing, truncated or another
                                         model's
"""
import os

import keras


class WeightsFileError(ValueError):
    """A weights file cannot be loaded; the message names it and says why in one line."""


def save_weights_atomically(model: keras.Model, path: str) -> None:
    """Saves `model`'s weights to `path` (a `.weights.h5` name) through a temporary sibling."""
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".partial-{os.getpid()}-{name}")
    try:
        model.save_weights(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_weights(model: keras.Model, path: str) -> None:
    """Loads `path` into `model`; WeightsFileError "PATH cannot be loaded into MODEL (why)"."""
    if not os.path.isfile(path):
        raise WeightsFileError(f"{path} not found: no weights to load into {model.name}")
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise WeightsFileError(f"{path} cannot be loaded into {model.name} "
                               f"({type(error).__name__}: {reason}): the file is damaged "
                               "(e.g. truncated by a crash) or belongs to another model") from None

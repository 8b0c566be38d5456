"""Reading shared by the four public-dataset readers (DATASETS.md §1-4).

One decoding path for every release, so RGBA, palette and greyscale PNGs, film strips, resizing,
captions and the field's pickled `.npy` files behave the same in every reader, and every failure
becomes one of two errors: `DatasetFormatError` for a file the whole dataset needs,
`BadStoryError` for a file or entry only one story needs.

Frame choice: a clip of Pororo-SV or Flintstones-SV holds several stills and the field's loaders
draw one at random on every read. A preprocessing pipeline reads each story once, so here the
choice is made at preprocessing time and seeded by (seed, story id, frame index): a rerun writes
identical records, and 'first' / 'middle' give the deterministic frames evaluation needs.
"""
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from storyvis_tf.data.errors import BadStoryError, DatasetFormatError
from storyvis_tf.data.readers.base import FRAME_CHOICES, SPLITS

_REPLACEMENT_CHARACTERS = re.compile("\ufffd+")


def stories_of_split(stories: dict[str, Sequence], split: str) -> Sequence:
    """`stories[split]`, with a clear error for a split name the readers do not know."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return stories[split]


def required_path(data_dir: str, relative: str, expected: str, *, directory: bool = False) -> str:
    """Path of a file (or directory) the dataset cannot do without; names it and its format."""
    path = os.path.join(data_dir, relative)
    if not (os.path.isdir(path) if directory else os.path.isfile(path)):
        where = data_dir if os.path.isdir(data_dir) else f"{data_dir} (no such directory)"
        raise DatasetFormatError(f"{relative} not found in {where}: expected {expected}")
    return path


def read_dataset_file(path: str, expected: str, read: Callable[[str], Any]) -> Any:
    """`read(path)`, any failure reported as a DatasetFormatError naming the file and its format
    (unpickling or parsing a damaged file can raise any exception type)."""
    try:
        return read(path)
    except Exception as error:
        raise DatasetFormatError(f"{path} is unreadable ({type(error).__name__}: {error}): "
                                 f"expected {expected}") from None


def load_npy(path: str, expected: str) -> np.ndarray:
    """`np.load` the way the field saved its files: pickled objects, Python-2 strings as latin-1."""
    return read_dataset_file(path, expected,
                             lambda p: np.load(p, allow_pickle=True, encoding="latin1"))


def load_npy_dict(path: str, expected: str) -> dict:
    """The dict inside a 0-d object array written by `np.save(path, some_dict)`."""
    array = load_npy(path, expected)
    content = array.item() if array.shape == () else None
    if not isinstance(content, dict):
        raise DatasetFormatError(f"{path} holds a {array.dtype} array of shape {array.shape}, "
                                 f"not a saved dict: expected {expected}")
    return content


def read_rgb(path: str) -> np.ndarray:
    """uint8 [H, W, 3] of an image file.

    Palette and greyscale images are expanded; an alpha channel is dropped, not composited, as
    the field's `convert('RGB')` does (CLEVR-SV frames are RGBA with alpha 255).
    """
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise BadStoryError(path, "image file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise BadStoryError(path, f"unreadable image ({error})") from None


def strip_frame_count(strip: np.ndarray, source: str) -> int:
    """Number of square frames in a vertical strip (one Pororo-SV clip: width W, height k*W)."""
    height, width = strip.shape[:2]
    if height < width:
        raise BadStoryError(source, f"image is {width}x{height}: expected a vertical strip of "
                                    "square frames (height a multiple of the width)")
    return height // width


def strip_frame(strip: np.ndarray, index: int) -> np.ndarray:
    """Rows [index*W, (index+1)*W) of a vertical strip of width W."""
    width = strip.shape[1]
    return strip[index * width:(index + 1) * width]


def resize_square(frame: np.ndarray, size: int) -> np.ndarray:
    """`frame` at size x size.

    PIL bilinear with antialiasing, the filter of the field's torchvision `Resize` on PIL images.
    A non-square frame (CLEVR 320x240, Abstract Scenes 500x400) is squashed, not cropped, as the
    field's loaders do, so nothing drawn near the borders is lost.
    """
    if frame.shape[:2] == (size, size):
        return frame
    return np.asarray(Image.fromarray(frame).resize((size, size), Image.Resampling.BILINEAR))


def frame_rng(seed: int, story_id: str, frame: int) -> np.random.Generator:
    """The generator of one story frame's random choices, stable across processes and runs."""
    digest = hashlib.sha256(f"{seed}\0{story_id}\0{frame}".encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def choose_clip_frame(choice: str, num_frames: int, rng: np.random.Generator) -> int:
    """Index of the still used from a clip of `num_frames` stills: 'first', 'middle' or a seeded
    'random' one."""
    if choice not in FRAME_CHOICES:
        raise ValueError(f"frame choice must be one of {FRAME_CHOICES}, got {choice!r}")
    if choice == "first":
        return 0
    if choice == "middle":
        return num_frames // 2
    return int(rng.integers(num_frames))


def clean_caption(caption, source: str) -> str:
    """A caption as text: bytes decoded as UTF-8, each run of U+FFFD (characters the Pororo-SV
    release lost to a bad decoding) replaced by one space, outer whitespace stripped."""
    if caption is None:
        raise BadStoryError(source, "no caption")
    if isinstance(caption, bytes):
        try:
            caption = caption.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadStoryError(source, f"caption is not valid UTF-8 ({error})") from None
    if not isinstance(caption, str):
        raise BadStoryError(source, f"caption is a {type(caption).__name__}, not text")
    text = _REPLACEMENT_CHARACTERS.sub(" ", caption).strip()
    if not text:
        raise BadStoryError(source, "empty caption")
    return text


def binary_labels(values, label_names: Sequence[str], source: str, origin: str) -> np.ndarray:
    """float32 [C] of one annotation entry that must hold C values in {0, 1}, in label order."""
    try:
        labels = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise BadStoryError(source, f"{origin} entry is not numeric: {values!r}") from None
    if labels.shape != (len(label_names),):
        raise BadStoryError(source, f"{origin} entry has shape {labels.shape}: expected "
                                    f"{len(label_names)} binary values "
                                    f"({', '.join(label_names)})")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise BadStoryError(source, f"{origin} entry {labels.tolist()} is not binary")
    return labels

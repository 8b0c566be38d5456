"""CLEVR-SV reader (DATASETS.md §3): 4 frames per story, one object added per frame.

Frames are `images/CLEVR_new_<story:06d>_<k>.png` (320x240 RGBA, squashed to a square), whose
attribute vectors in `CLEVR_dict.npy` hold 4 objects x (shape 3, colour 8, material 2, size 2
one-hot + 3-D coordinates) + the camera's 'right' direction, objects not yet added being zero.
Stories are the story numbers of the dict's keys and of the frame files, in ascending order (a
story with frames but no dict entry is listed, and rejected with its reason). By default they are
split as CP-CSV does: train below 10000, test from 10000 to 12999 (CP-CSV's inclusive ranges put
story 10000 in both; here it is test only), and the remaining stories (13000-13754 of the full
release) are val. A sample of the release (e.g. its 96-story `clevr_dataset/`) needs its own
split, the `split` option (config data.split, `parse_split`): inclusive story-number ranges
"train=0-79,val=80-87,test=88-" (an open end reaches the last story; stories in no range are
left out) or fractions "train=0.8,val=0.1,test=0.1" of a seeded shuffle of the stories.

Labels: the 15 discrete attribute dimensions of the objects shown so far, OR-accumulated (as
StoryGAN does). The release has no sentences; each frame's sentence is rendered from the object
added in it, deterministically: "there is a large gray rubber cube" for the first, then
"a small red metal sphere is to the left of the large gray rubber cube", relative to the nearest
previously added object on the ground plane (the most recent on a tie), along the camera axis on
which they are further apart (left/right on a tie), with CLEVR's relation words. The camera's
'behind' direction is derived from its stored 'right' direction (up x right on the ground
plane). A frame's annotations list the attributes and coordinates of every object it shows.
The frame choice does not apply: a frame is one image.
"""
import os
import re

import numpy as np
from absl import logging

from storyvis_tf.data.errors import BadStoryError, DatasetFormatError
from storyvis_tf.data.readers.base import SPLITS, StoryReader
from storyvis_tf.data.readers.source_files import (load_npy_dict, read_rgb, required_path,
                                               resize_square, stories_of_split)
from storyvis_tf.data.story import Story, StoryRef

ATTRIBUTES = (("shape", ("cube", "sphere", "cylinder")),
              ("color", ("gray", "red", "blue", "green", "brown", "purple", "cyan", "yellow")),
              ("material", ("rubber", "metal")),
              ("size", ("large", "small")))
NUM_OBJECTS = 4
OBJECT_DIMS = 18   # 15 one-hot attribute values + 3-D coordinates
VECTOR_DIMS = NUM_OBJECTS * OBJECT_DIMS + 3
TEST_START, VAL_START = 10000, 13000
_DICT = ("a pickled dict 'CLEVR_new_<story:06d>_<k>.png' -> float (75,) attribute vector "
         "(DATASETS.md §3)")
_IMAGES = "a directory of CLEVR_new_<story:06d>_<k>.png frames, k = 1..4 (DATASETS.md §3)"
_FRAME_NAME = re.compile(r"CLEVR_new_(\d{6,})_([1-4])\.png")


def story_name(story: int) -> str:
    """The story id: the frame file names without their frame number."""
    return f"CLEVR_new_{story:06d}"


def frame_name(story: int, frame: int) -> str:
    """File name (and CLEVR_dict.npy key) of frame 1..4 of a story."""
    return f"{story_name(story)}_{frame}.png"


def parse_split(spec: str) -> dict[str, tuple[float, float] | float]:
    """{split: (first, last) story numbers, inclusive} or {split: fraction} of a data.split
    string (module docstring); ValueError naming what is wrong."""
    parsed = {}
    for item in spec.split(","):
        split, _, value = item.strip().partition("=")
        if split not in SPLITS or split in parsed or not value:
            raise ValueError(f"data.split {spec!r}: expected comma-separated <split>=<range or "
                             f"fraction> with splits among {', '.join(SPLITS)}, each once")
        try:
            if "-" in value:
                first, last = value.split("-")
                parsed[split] = (float(first), float(last) if last else float("inf"))
            else:
                parsed[split] = float(value)
        except ValueError:
            raise ValueError(f"data.split {spec!r}: {item!r} is neither a story-number range "
                             "such as 0-79 nor a fraction such as 0.8") from None
    kinds = {isinstance(value, tuple) for value in parsed.values()}
    if len(kinds) > 1:
        raise ValueError(f"data.split {spec!r} mixes story-number ranges and fractions")
    if kinds == {False} and (abs(sum(parsed.values()) - 1.0) > 1e-6
                             or min(parsed.values()) < 0):
        raise ValueError(f"data.split {spec!r}: the fractions must be >= 0 and sum to 1")
    return parsed


def split_stories(numbers: list[int], spec: str, seed: int) -> dict[str, list[int]]:
    """The story numbers of each split (ascending) under a data.split string; "" = the full
    release's split (module docstring)."""
    stories = {split: [] for split in SPLITS}
    if not spec:
        for number in numbers:
            stories["train" if number < TEST_START else "test" if number < VAL_START
                    else "val"].append(number)
        return stories
    parsed = parse_split(spec)
    if all(isinstance(value, tuple) for value in parsed.values()):
        for number in numbers:
            owners = [split for split, (first, last) in parsed.items() if first <= number <= last]
            if len(owners) > 1:
                raise ValueError(f"data.split {spec!r}: story {number} lies in the ranges of "
                                 f"{' and '.join(owners)}")
            if owners:
                stories[owners[0]].append(number)
        left_out = len(numbers) - sum(map(len, stories.values()))
        if left_out:
            logging.warning("data.split %r: %d of %d stories lie in no range and are left out",
                            spec, left_out, len(numbers))
        return stories
    shuffled = np.random.default_rng(seed).permutation(numbers)
    bounds = np.round(np.cumsum([parsed.get(split, 0.0) for split in SPLITS])
                      * len(numbers)).astype(int)
    for split, start, end in zip(SPLITS, [0, *bounds[:-1]], bounds):
        stories[split] = sorted(int(number) for number in shuffled[start:end])
    return stories


class ClevrReader(StoryReader):
    name = "clevr"
    label_names = tuple(value for _, values in ATTRIBUTES for value in values)
    frames_per_story = NUM_OBJECTS
    configurable_split = True

    def __init__(self, data_dir: str, *, split: str = "", **kwargs):
        self.split = split
        super().__init__(data_dir, **kwargs)

    def validate(self) -> None:
        images = required_path(self.data_dir, "images", _IMAGES, directory=True)
        path = required_path(self.data_dir, "CLEVR_dict.npy", _DICT)
        self._vectors = load_npy_dict(path, _DICT)
        numbers = set()
        for key in self._vectors:
            match = _FRAME_NAME.fullmatch(str(key))
            if match is None:
                raise DatasetFormatError(f"{path} has key {key!r}: expected {_DICT}")
            numbers.add(int(match.group(1)))
        numbers.update(int(match.group(1)) for match in map(_FRAME_NAME.fullmatch,
                                                             os.listdir(images)) if match)
        self._stories = split_stories(sorted(numbers), self.split, self.seed)

    def story_refs(self, split: str):
        for number in stories_of_split(self._stories, split):
            yield StoryRef(self.name, split, story_name(number), {"story": number})

    def load_story(self, ref: StoryRef) -> Story:
        frames, sentences, labels, sources, annotations = [], [], [], [], []
        shown = np.zeros(len(self.label_names), np.float32)
        for frame in range(1, NUM_OBJECTS + 1):
            name = frame_name(ref.payload["story"], frame)
            objects, right = self._frame_objects(name, frame)
            frames.append(resize_square(read_rgb(os.path.join(self.data_dir, "images", name)),
                                        self.image_size))
            sentences.append(_sentence(objects, right))
            shown = np.maximum(shown, [float(objects[-1][attribute] == value)
                                       for attribute, values in ATTRIBUTES for value in values])
            labels.append(shown)
            sources.append(name)
            annotations.append({"objects": objects})
        return Story(ref.story_id, np.stack(frames), sentences, np.stack(labels), sources,
                     annotations)

    def _frame_objects(self, name: str, frame: int) -> tuple[list[dict], np.ndarray]:
        """The objects frame `frame` shows (one-hots decoded) and the camera's right direction."""
        if name not in self._vectors:
            raise BadStoryError(name, "no entry in CLEVR_dict.npy")
        vector = np.asarray(self._vectors[name], dtype=np.float64)
        if vector.shape != (VECTOR_DIMS,):
            raise BadStoryError(name, f"CLEVR_dict.npy entry has shape {vector.shape}: expected "
                                      f"({VECTOR_DIMS},)")
        if not np.isfinite(vector).all():
            raise BadStoryError(name, "CLEVR_dict.npy entry holds non-finite values at "
                                      f"{np.flatnonzero(~np.isfinite(vector)).tolist()}")
        right = vector[-3:]
        if not np.any(right[:2]):
            raise BadStoryError(name, "CLEVR_dict.npy entry has no camera 'right' direction "
                                      "on the ground plane (last 3 values)")
        return [_decode_object(vector, index, name) for index in range(frame)], right


def _decode_object(vector: np.ndarray, index: int, source: str) -> dict:
    values = vector[index * OBJECT_DIMS:(index + 1) * OBJECT_DIMS]
    decoded, offset = {}, 0
    for attribute, names in ATTRIBUTES:
        group = values[offset:offset + len(names)]
        if not (np.isin(group, (0.0, 1.0)).all() and group.sum() == 1):
            raise BadStoryError(source, f"object {index + 1} has no one-hot {attribute} in "
                                        f"CLEVR_dict.npy: {group.tolist()}")
        decoded[attribute] = names[int(group.argmax())]
        offset += len(names)
    decoded["coords"] = values[offset:].tolist()
    return decoded


def _describe(obj: dict) -> str:
    return f"{obj['size']} {obj['color']} {obj['material']} {obj['shape']}"


def _sentence(objects: list[dict], right: np.ndarray) -> str:
    """The sentence of the frame whose newly added object is `objects[-1]` (module docstring)."""
    new = objects[-1]
    if len(objects) == 1:
        return f"there is a {_describe(new)}"
    position = np.asarray(new["coords"][:2])
    offsets = [position - np.asarray(obj["coords"][:2]) for obj in objects[:-1]]
    nearest = min(reversed(range(len(offsets))), key=lambda i: np.linalg.norm(offsets[i]))
    right = right[:2] / np.linalg.norm(right[:2])
    behind = np.array([-right[1], right[0]])
    lateral, depth = offsets[nearest] @ right, offsets[nearest] @ behind
    if abs(lateral) >= abs(depth):
        relation = "to the right of" if lateral > 0 else "to the left of"
    else:
        relation = "behind" if depth > 0 else "in front of"
    return f"a {_describe(new)} is {relation} the {_describe(objects[nearest])}"

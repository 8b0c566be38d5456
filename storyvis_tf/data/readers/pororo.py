"""Pororo-SV reader (DATASETS.md §1), the main benchmark.

A story is row r of the story caches: the clip `img_cache4.npy[r]` and its four followers
`following_cache4.npy[r]`. Every clip is a PNG holding a vertical strip of 128-pixel frames;
one frame per clip is used (`source_files` explains the seeded choice, which replaces the field's
per-read random draw at preprocessing time). Captions and the 9 character labels come from the
pickled dicts `descriptions.npy` and `labels.npy`, keyed by image id (the PNG's path relative to
the data directory, without extension), which is also each clip's source reference; the start
clip's id is the story id.

Splits: the split files hold lists of cache rows, read in their stored order (DuCo and VLC pair
generated files with stories by position). `train_seen_unseen_ids.npy` (train/val/test; DuCo,
VLC, StoryDALL-E, AR-LDM) is preferred; with only `train_test_ids.npy` (train/test; StoryGAN,
CP-CSV and the main paper) the val split is empty.

Caches: without `img_cache4.npy` and `following_cache4.npy` they are rebuilt in memory from
`frames_counter.npy` exactly as the field builds them, in the same row order, so the split files
still index the right stories. Nothing is written into the data directory.

Sentences: the first caption of each clip, except in train with frame choice 'random', where the
caption of a clip with several is drawn with the same seeded generator as its frame (the field
draws one per read in training).
"""
import os

import numpy as np

from storyvis_tf.data.errors import BadStoryError, DatasetFormatError
from storyvis_tf.data.readers.base import SPLITS, StoryReader
from storyvis_tf.data.readers.source_files import (binary_labels, choose_clip_frame, clean_caption,
                                               frame_rng, load_npy, load_npy_dict, read_rgb,
                                               required_path, resize_square, stories_of_split,
                                               strip_frame, strip_frame_count)
from storyvis_tf.data.story import Story, StoryRef

FOLLOWERS = 4
_LABELS = "a pickled dict image id -> 9 binary character values (DATASETS.md §1)"
_DESCRIPTIONS = "a pickled dict image id -> list of caption strings (DATASETS.md §1)"
_IMAGE_CACHE = "a 1-D bytes array of story-start image paths (DATASETS.md §1)"
_FOLLOWING_CACHE = ("an (N, 4) bytes array of the 4 clips following each story start "
                    "(DATASETS.md §1)")
_COUNTER = "a pickled dict 'Series/Series_epK/' -> largest frame number (DATASETS.md §1)"
_SPLIT_FILES = {"train_seen_unseen_ids.npy": SPLITS, "train_test_ids.npy": ("train", "test")}
_SPLIT = "an object array of {} lists of cache row indices (DATASETS.md §1)"


class PororoReader(StoryReader):
    name = "pororo"
    label_names = ("Pororo", "Loopy", "Crong", "Eddy", "Poby", "Petty", "Tongtong", "Rody",
                   "Harry")
    frames_per_story = 1 + FOLLOWERS

    def validate(self) -> None:
        self._labels = load_npy_dict(
            required_path(self.data_dir, "labels.npy", _LABELS), _LABELS)
        self._descriptions = load_npy_dict(
            required_path(self.data_dir, "descriptions.npy", _DESCRIPTIONS), _DESCRIPTIONS)
        self._starts, self._followers = self._story_caches()
        self._split_rows = self._read_split_rows()

    def story_refs(self, split: str):
        for row in stories_of_split(self._split_rows, split):
            yield StoryRef(self.name, split, self._starts[row],
                           {"row": row, "image_ids": [self._starts[row], *self._followers[row]]})

    def load_story(self, ref: StoryRef) -> Story:
        image_ids = ref.payload["image_ids"]
        if not all(image_ids):
            raise BadStoryError(ref.story_id, f"following_cache4.npy row {ref.payload['row']} has "
                                              f"{sum(map(bool, image_ids[1:]))} of {FOLLOWERS} "
                                              "followers")
        choice = self.frame_choice(ref.split)
        frames, sentences, labels, sources, annotations = [], [], [], [], []
        for index, image_id in enumerate(image_ids):
            rng = frame_rng(self.seed, ref.story_id, index)
            path = os.path.join(self.data_dir, image_id + ".png")
            strip = read_rgb(path)
            num_frames = strip_frame_count(strip, path)
            clip_frame = choose_clip_frame(choice, num_frames, rng)
            captions = self._entry(self._descriptions, image_id, "descriptions.npy")
            if not isinstance(captions, (list, tuple, np.ndarray)) or len(captions) == 0:
                raise BadStoryError(image_id, f"descriptions.npy entry {captions!r} is not a "
                                              "non-empty list of captions")
            caption_index = int(rng.integers(len(captions))) if choice == "random" else 0
            frames.append(resize_square(strip_frame(strip, clip_frame), self.image_size))
            sentences.append(clean_caption(captions[caption_index],
                                           f"{image_id} (descriptions.npy)"))
            labels.append(binary_labels(self._entry(self._labels, image_id, "labels.npy"),
                                        self.label_names, image_id, "labels.npy"))
            sources.append(image_id + ".png")
            annotations.append({"clip_frame": clip_frame, "clip_frames": num_frames,
                                "caption_index": caption_index})
        return Story(ref.story_id, np.stack(frames), sentences, np.stack(labels), sources,
                     annotations)

    @staticmethod
    def _entry(table: dict, image_id: str, file_name: str):
        try:
            return table[image_id]
        except KeyError:
            raise BadStoryError(image_id, f"no entry in {file_name}") from None

    def _story_caches(self) -> tuple[list[str], list[list[str]]]:
        """Story starts and their followers: the stored caches, else rebuilt from the counter."""
        cache_paths = [os.path.join(self.data_dir, name)
                       for name in ("img_cache4.npy", "following_cache4.npy")]
        if all(map(os.path.isfile, cache_paths)):
            return self._read_caches(*cache_paths)
        missing = " and ".join(os.path.basename(p) for p in cache_paths if not os.path.isfile(p))
        counter_path = os.path.join(self.data_dir, "frames_counter.npy")
        if not os.path.isfile(counter_path):
            raise DatasetFormatError(
                f"{missing} not found in {self.data_dir}, nor frames_counter.npy to rebuild the "
                f"story caches from: expected img_cache4.npy ({_IMAGE_CACHE}) and "
                f"following_cache4.npy ({_FOLLOWING_CACHE}), or frames_counter.npy ({_COUNTER})")
        return _rebuild_caches(self.data_dir, load_npy_dict(counter_path, _COUNTER))

    @staticmethod
    def _read_caches(image_path: str, following_path: str):
        image_cache = load_npy(image_path, _IMAGE_CACHE)
        following = load_npy(following_path, _FOLLOWING_CACHE)
        if image_cache.ndim != 1:
            raise DatasetFormatError(f"{image_path} has shape {image_cache.shape}: expected "
                                     f"{_IMAGE_CACHE}")
        if following.shape != (len(image_cache), FOLLOWERS):
            raise DatasetFormatError(f"{following_path} has shape {following.shape}, "
                                     f"img_cache4.npy has {len(image_cache)} rows: expected "
                                     f"{_FOLLOWING_CACHE}")
        starts = [_image_id(entry, image_path, row) for row, entry in enumerate(image_cache)]
        followers = [[_image_id(entry, following_path, row) for entry in entries]
                     for row, entries in enumerate(following)]
        return starts, followers

    def _read_split_rows(self) -> dict[str, list[int]]:
        for file_name, split_names in _SPLIT_FILES.items():
            path = os.path.join(self.data_dir, file_name)
            if os.path.isfile(path):
                break
        else:
            raise DatasetFormatError(
                f"neither of {', '.join(_SPLIT_FILES)} found in {self.data_dir}: expected "
                + _SPLIT.format("(train, val, test) or (train, test)"))
        expected = _SPLIT.format(f"({', '.join(split_names)})")
        lists = load_npy(path, expected)
        if lists.ndim == 0 or len(lists) != len(split_names):
            raise DatasetFormatError(f"{path} holds an array of shape {lists.shape}: expected "
                                     f"{expected}")
        rows = {split: [] for split in SPLITS}
        for split, values in zip(split_names, lists):
            values = np.asarray(values).reshape(-1)
            if values.dtype.kind not in "iuf" or not np.array_equal(values, np.round(values)):
                raise DatasetFormatError(f"{path}: the {split} list is not integral "
                                         f"({values.dtype}): expected {expected}")
            outside = values[(values < 0) | (values >= len(self._starts))]
            if outside.size:
                raise DatasetFormatError(f"{path}: {split} row {outside[0]:g} is outside the "
                                         f"{len(self._starts)} rows of the story cache")
            rows[split] = values.astype(np.int64).tolist()
        return rows


def _image_id(entry, path: str, row: int) -> str:
    """'Series/Series_epK/n' of a cache entry such as b'Series/Series_epK/n.png' ('' if empty).

    A leading '/' (a cache built from a data directory named without its trailing slash) is
    dropped so the id stays relative to the data directory.
    """
    if isinstance(entry, bytes):
        try:
            entry = entry.decode("utf-8")
        except UnicodeDecodeError:
            raise DatasetFormatError(f"{path} row {row}: entry {entry!r} is not UTF-8: expected "
                                     "image paths") from None
    return str(entry).strip().lstrip("/").removesuffix(".png")


def _rebuild_caches(data_dir: str, counter: dict) -> tuple[list[str], list[list[str]]]:
    """The field's cache construction (StoryGAN / CP-CSV `VideoFolderDataset`).

    Clips are visited in torchvision `ImageFolder` order (series directories sorted, then the
    sorted `os.walk` of each, file names sorted as strings, so '10.png' precedes '2.png'); every
    clip numbered at most counter - 4 starts a story whose followers are the next 4 numbers of the
    same episode. The order must match because the split files index rows of these caches.
    """
    starts, followers = [], []
    series_names = sorted(entry.name for entry in os.scandir(data_dir) if entry.is_dir())
    for series in series_names:
        for directory, _, file_names in sorted(os.walk(os.path.join(data_dir, series),
                                                       followlinks=True)):
            episode = os.path.relpath(directory, data_dir).replace(os.sep, "/") + "/"
            for file_name in sorted(file_names):
                stem, extension = os.path.splitext(file_name)
                if extension != ".png" or not stem.isdigit():
                    continue
                if episode not in counter:
                    raise DatasetFormatError(f"frames_counter.npy in {data_dir} has no entry for "
                                             f"{episode!r}, which holds {file_name}: expected "
                                             f"{_COUNTER}")
                number = int(stem)
                if number <= counter[episode] - FOLLOWERS:
                    starts.append(episode + stem)
                    followers.append([f"{episode}{number + k}" for k in range(1, FOLLOWERS + 1)])
    return starts, followers

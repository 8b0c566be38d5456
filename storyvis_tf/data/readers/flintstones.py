"""Flintstones-SV reader (DATASETS.md §2).

A story is a clip (globalID) of a split of `train-val-test_split.json` that has an entry in the
followers cache, plus the clips of that entry. The followers cache is `following_cache4.pkl`
or, without it, rebuilt as the field builds it: the next 4 clips of the sorted list of all
split clips, if they all belong to the same season and episode (the last clips of the list get
shorter entries). A split clip without an entry starts no story (the last 4 clips of an
episode; their number is logged); an entry with fewer than 4 followers is a bad story, which the
field drops silently.

Each clip is `video_frames_sampled/<globalID>.npy`, uint8 (5, 128, 128, 3); one still is used
(`source_files` explains the seeded choice). Sentences are the clip descriptions of
`flintstones_annotations_v1-0.json`; labels come from `labels.pkl` or, without it, are derived
from the annotated characters as the field derives them (a character is present if its
lower-cased name equals a lower-cased, stripped `entityLabel`). Annotations hold each clip's
annotated characters as written.
"""
import json
import logging
import os
import pickle

import numpy as np

from storyvis_tf.data.errors import BadStoryError, DatasetFormatError
from storyvis_tf.data.readers.base import SPLITS, StoryReader
from storyvis_tf.data.readers.source_files import (binary_labels, choose_clip_frame, clean_caption,
                                               frame_rng, read_dataset_file, required_path,
                                               resize_square, stories_of_split)
from storyvis_tf.data.story import Story, StoryRef

FOLLOWERS = 4
ANNOTATIONS_FILE = "flintstones_annotations_v1-0.json"
FRAMES_DIR = "video_frames_sampled"
_ANNOTATIONS = ("a JSON list of dicts with 'globalID', 'description' and 'characters' (each a "
                "dict with 'entityLabel') (DATASETS.md §2)")
_SPLIT = 'a JSON object {"train": [...], "val": [...], "test": [...]} of globalIDs (DATASETS.md §2)'
_FRAMES = "a directory of <globalID>.npy, uint8 (5, 128, 128, 3) RGB stills (DATASETS.md §2)"
_FOLLOWING = "a pickled dict globalID -> list of the next 4 globalIDs (DATASETS.md §2)"
_LABELS = "a pickled dict globalID -> 7 binary character values (DATASETS.md §2)"

_log = logging.getLogger(__name__)


class FlintstonesReader(StoryReader):
    name = "flintstones"
    label_names = ("Wilma", "Fred", "Betty", "Barney", "Dino", "Pebbles", "Mr Slate")
    frames_per_story = 1 + FOLLOWERS

    def validate(self) -> None:
        self._clips = _read_annotations(
            required_path(self.data_dir, ANNOTATIONS_FILE, _ANNOTATIONS))
        split_clips = _read_splits(
            required_path(self.data_dir, "train-val-test_split.json", _SPLIT))
        required_path(self.data_dir, FRAMES_DIR, _FRAMES, directory=True)
        following_path = os.path.join(self.data_dir, "following_cache4.pkl")
        if os.path.isfile(following_path):
            self._followers = _load_pickled_dict(following_path, _FOLLOWING)
        else:
            self._followers = _rebuild_followers(split_clips)
        labels_path = os.path.join(self.data_dir, "labels.pkl")
        self._labels = (_load_pickled_dict(labels_path, _LABELS)
                        if os.path.isfile(labels_path) else None)
        self._split_starts = {split: [clip for clip in clips if clip in self._followers]
                              for split, clips in split_clips.items()}
        for split in SPLITS:
            skipped = len(split_clips[split]) - len(self._split_starts[split])
            if skipped:
                _log.info("flintstones %s: %d clips start no story (no followers entry)",
                          split, skipped)

    def story_refs(self, split: str):
        for clip in stories_of_split(self._split_starts, split):
            yield StoryRef(self.name, split, clip,
                           {"clips": [clip, *map(str, self._followers[clip])]})

    def load_story(self, ref: StoryRef) -> Story:
        clips = ref.payload["clips"]
        if len(clips) != self.frames_per_story:
            raise BadStoryError(ref.story_id, f"has {len(clips) - 1} of {FOLLOWERS} followers in "
                                              "the followers cache")
        choice = self.frame_choice(ref.split)
        frames, sentences, labels, sources, annotations = [], [], [], [], []
        for index, clip in enumerate(clips):
            description, characters = self._annotation(clip)
            stills = self._read_stills(clip)
            clip_frame = choose_clip_frame(choice, len(stills),
                                           frame_rng(self.seed, ref.story_id, index))
            frames.append(resize_square(stills[clip_frame], self.image_size))
            sentences.append(clean_caption(description, f"{clip} ({ANNOTATIONS_FILE})"))
            labels.append(self._clip_labels(clip, characters))
            sources.append(f"{FRAMES_DIR}/{clip}.npy")
            annotations.append({"clip_frame": clip_frame, "clip_frames": len(stills),
                                "characters": characters})
        return Story(ref.story_id, np.stack(frames), sentences, np.stack(labels), sources,
                     annotations)

    def _annotation(self, clip: str) -> tuple[str, list[str]]:
        try:
            entry = self._clips[clip]
        except KeyError:
            raise BadStoryError(clip, f"no entry in {ANNOTATIONS_FILE}") from None
        characters = entry.get("characters")
        if not isinstance(characters, list) or not all(
                isinstance(c, dict) and isinstance(c.get("entityLabel"), str) for c in characters):
            raise BadStoryError(clip, f"'characters' in {ANNOTATIONS_FILE} is {characters!r}: "
                                      "expected a list of dicts with an 'entityLabel' string")
        return entry.get("description"), [c["entityLabel"] for c in characters]

    def _read_stills(self, clip: str) -> np.ndarray:
        path = os.path.join(self.data_dir, FRAMES_DIR, clip + ".npy")
        try:
            stills = np.load(path)
        except FileNotFoundError:
            raise BadStoryError(path, "frames file not found") from None
        except (OSError, ValueError, EOFError) as error:
            raise BadStoryError(path, f"unreadable npy ({error})") from None
        if (stills.dtype != np.uint8 or stills.ndim != 4 or stills.shape[0] == 0
                or stills.shape[-1] != 3):
            raise BadStoryError(path, f"frames array is {stills.dtype} {stills.shape}: expected "
                                      "uint8 (5, 128, 128, 3) RGB stills")
        return stills

    def _clip_labels(self, clip: str, characters: list[str]) -> np.ndarray:
        if self._labels is None:
            present = {c.strip().lower() for c in characters}
            return np.array([name.lower() in present for name in self.label_names], np.float32)
        if clip not in self._labels:
            raise BadStoryError(clip, "no entry in labels.pkl")
        return binary_labels(self._labels[clip], self.label_names, clip, "labels.pkl")


def _load_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _load_pickle(path: str):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _read_annotations(path: str) -> dict[str, dict]:
    entries = read_dataset_file(path, _ANNOTATIONS, _load_json)
    if not isinstance(entries, list):
        raise DatasetFormatError(f"{path} holds a {type(entries).__name__}: expected "
                                 f"{_ANNOTATIONS}")
    clips = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("globalID"), str):
            raise DatasetFormatError(f"{path}: entry {position} has no 'globalID' string: "
                                     f"expected {_ANNOTATIONS}")
        clips[entry["globalID"]] = {"description": entry.get("description"),
                                    "characters": entry.get("characters")}
    return clips


def _read_splits(path: str) -> dict[str, list[str]]:
    splits = read_dataset_file(path, _SPLIT, _load_json)
    if not isinstance(splits, dict) or not all(
            isinstance(splits.get(s), list) and all(isinstance(c, str) for c in splits[s])
            for s in SPLITS):
        raise DatasetFormatError(f"{path} does not hold string lists under 'train', 'val' and "
                                 f"'test': expected {_SPLIT}")
    return {split: splits[split] for split in SPLITS}


def _load_pickled_dict(path: str, expected: str) -> dict:
    content = read_dataset_file(path, expected, _load_pickle)
    if not isinstance(content, dict):
        raise DatasetFormatError(f"{path} holds a {type(content).__name__}: expected {expected}")
    return content


def _episode(clip: str) -> tuple[int, int]:
    """(season, episode) of a globalID such as 's_01_e_01_shot_000099_000173'."""
    parts = clip.split("_")
    try:
        return int(parts[1]), int(parts[3])
    except (IndexError, ValueError):
        raise DatasetFormatError(f"globalID {clip!r} in train-val-test_split.json does not read "
                                 "as s_<season>_e_<episode>_shot_<first>_<last>") from None


def _rebuild_followers(split_clips: dict[str, list[str]]) -> dict[str, list[str]]:
    """The field's `following_cache4.pkl`: over the sorted clips of all splits, the next 4 clips
    of each if all of them share its season and episode (fewer at the very end of the list)."""
    clips = sorted(clip for split in SPLITS for clip in split_clips[split])
    followers = {}
    for index, clip in enumerate(clips):
        following = clips[index + 1:index + 1 + FOLLOWERS]
        if all(_episode(other) == _episode(clip) for other in following):
            followers[clip] = following
    return followers

"""Abstract Scenes reader (Zitnick & Parikh, AbstractScenes_v1.1; DATASETS.md §4).

Story rule: the 10 scenes of a class were all drawn from one seed sentence and share children,
objects and setting; the main paper treats a class as a story but its loader is not public. Here
a class gives two 5-frame stories, its scenes 0-4 and 5-9 (`RenderedScenes/Scene<class>_<i>.png`,
scene index 10*class + i), so every scene is used once and a story has the benchmark's 5
frames. Stories are listed by class, then half, for the classes that have rendered scenes; a
listed story with a missing scene is a bad story.

Split, by class, so that no seed sentence is shared between splits: test is classes 800-899
(scenes 8000-8999, the 1000 test scenes of Zitnick, Parikh & Vanderwende 2013, which the paper
follows), val is classes 950-1001 (scenes 9500-10019, the validation scenes of Text2Scene's
split of the same release; the paper's 497 are probably these less scenes without a sentence or
clip art), train the other 850 classes: 1700 / 104 / 200 stories on the full release.

Sentences: one per scene, the first non-blank line of that scene in SimpleSentences1_10020.txt,
else in SimpleSentences2_10020.txt (some scenes have one group only); lines read
`<scene> <sentence index> <sentence>` (tab-separated in the release), blank lines are skipped.
A scene without any sentence is a bad story.

Labels: clip-art presence, read from Scenes_10020.txt when it is present: one label per clip-art
object, the boy's pose/expression pieces `hb0_*` counting as 'mike', the girl's `hb1_*` as
'jenny', every other piece by its file name (e.g. 's_3s'), sorted by name. The names are the
objects used anywhere in the file (58 on the full release, unverified here), so `label_names` is
set per reader at construction. Without Scenes_10020.txt the rendered images are the only
ground truth: labels are empty, [5, 0], and `label_names == ()`.

The frame choice does not apply: a frame is one rendered scene.
"""
import os
import re

import numpy as np

from storyvis_tf.data.errors import BadStoryError, DatasetFormatError
from storyvis_tf.data.readers.base import StoryReader
from storyvis_tf.data.readers.source_files import (clean_caption, read_dataset_file, read_rgb,
                                               required_path, resize_square, stories_of_split)
from storyvis_tf.data.story import Story, StoryRef

SCENES_PER_CLASS = 10
FRAMES = 5
TEST_CLASSES = range(800, 900)
FIRST_VAL_CLASS = 950
SENTENCE_FILES = ("SimpleSentences1_10020.txt", "SimpleSentences2_10020.txt")
_IMAGES = "a directory of Scene<class>_<instance>.png renderings (DATASETS.md §4)"
_SENTENCES = "lines '<scene>\\t<sentence index>\\t<sentence>' (DATASETS.md §4)"
_SCENES = ("the scene count, then per scene '<id> <number of pieces>' and one line "
           "'<png> <type> <object> <x> <y> <z> <flip>' per clip-art piece (DATASETS.md §4)")
_SCENE_IMAGE = re.compile(r"Scene(\d+)_(\d)\.png")
_PEOPLE = {"hb0": "mike", "hb1": "jenny"}


class AbstractScenesReader(StoryReader):
    name = "abstract"
    label_names = ()
    frames_per_story = FRAMES

    def validate(self) -> None:
        images = required_path(self.data_dir, "RenderedScenes", _IMAGES, directory=True)
        self._sentences = _first_sentences([
            required_path(self.data_dir, os.path.join("SimpleSentences", name), _SENTENCES)
            for name in SENTENCE_FILES])
        scenes_path = os.path.join(self.data_dir, "Scenes_10020.txt")
        self._clip_art = _read_clip_art(scenes_path) if os.path.isfile(scenes_path) else None
        if self._clip_art is not None:
            self.label_names = tuple(sorted({name for names in self._clip_art for name in names}))
        classes = sorted({int(match.group(1)) for match in map(_SCENE_IMAGE.fullmatch,
                                                                 os.listdir(images)) if match})
        self._stories = {"train": [], "val": [], "test": []}
        for scene_class in classes:
            split = ("test" if scene_class in TEST_CLASSES else
                     "val" if scene_class >= FIRST_VAL_CLASS else "train")
            self._stories[split] += [(scene_class, first)
                                     for first in range(0, SCENES_PER_CLASS, FRAMES)]

    def story_refs(self, split: str):
        for scene_class, first in stories_of_split(self._stories, split):
            instances = list(range(first, first + FRAMES))
            yield StoryRef(self.name, split, f"Scene{scene_class}_{first}-{instances[-1]}",
                           {"class": scene_class, "instances": instances})

    def load_story(self, ref: StoryRef) -> Story:
        frames, sentences, labels, sources, annotations = [], [], [], [], []
        scene_class = ref.payload["class"]
        for instance in ref.payload["instances"]:
            scene = SCENES_PER_CLASS * scene_class + instance
            name = f"Scene{scene_class}_{instance}.png"
            frames.append(resize_square(read_rgb(os.path.join(self.data_dir, "RenderedScenes",
                                                              name)), self.image_size))
            if scene not in self._sentences:
                raise BadStoryError(name, f"no sentence for scene {scene} in "
                                          f"{' or '.join(SENTENCE_FILES)}")
            sentences.append(clean_caption(self._sentences[scene],
                                           f"{name} (SimpleSentences, scene {scene})"))
            annotation = {"scene": scene}
            if self._clip_art is None:
                labels.append(np.zeros(0, np.float32))
            else:
                if scene >= len(self._clip_art):
                    raise BadStoryError(name, f"no entry for scene {scene} in Scenes_10020.txt "
                                              f"({len(self._clip_art)} scenes)")
                annotation["clip_art"] = self._clip_art[scene]
                labels.append(np.isin(self.label_names, annotation["clip_art"]).astype(np.float32))
            sources.append(f"RenderedScenes/{name}")
            annotations.append(annotation)
        return Story(ref.story_id, np.stack(frames), sentences, np.stack(labels), sources,
                     annotations)


def _first_sentences(paths: list[str]) -> dict[int, bytes]:
    """Scene index -> its first non-blank sentence over `paths` in order, undecoded (a sentence
    that is not UTF-8 fails only its own story)."""
    first = {}
    for path in paths:
        with open(path, "rb") as f:
            for line_number, line in enumerate(f, 1):
                fields = line.split(maxsplit=2)
                if not fields:
                    continue
                if len(fields) < 2 or not (fields[0].isdigit() and fields[1].isdigit()):
                    raise DatasetFormatError(f"{path} line {line_number} reads {line[:80]!r}: "
                                             f"expected {_SENTENCES}")
                if len(fields) == 3 and fields[2].strip():
                    first.setdefault(int(fields[0]), fields[2].strip())
    return first


def _clip_art_label(png: str) -> str:
    stem = png.removesuffix(".png")
    return _PEOPLE.get(stem.split("_")[0], stem)


def _numbered_fields(path: str) -> list[tuple[int, list[str]]]:
    """(line number, whitespace-separated fields) of each non-blank line of a text file."""
    with open(path, encoding="utf-8") as f:
        return [(number, line.split()) for number, line in enumerate(f, 1) if line.strip()]


def _read_clip_art(path: str) -> list[list[str]]:
    """The sorted clip-art labels of each scene of Scenes_10020.txt, in scene-index order."""
    rows = iter(read_dataset_file(path, _SCENES, _numbered_fields))

    def next_row(fields_ok, what: str) -> list[str]:
        number, fields = next(rows, (None, None))
        if fields is None:
            raise DatasetFormatError(f"{path} ends before {what}: expected {_SCENES}")
        if not fields_ok(fields):
            raise DatasetFormatError(f"{path} line {number} reads {' '.join(fields)!r} where "
                                     f"{what} belongs: expected {_SCENES}")
        return fields

    count = int(next_row(lambda f: len(f) == 1 and f[0].isdigit(), "the scene count")[0])
    scenes = []
    for scene in range(count):
        header = next_row(lambda f: len(f) == 2 and f[1].isdigit(), f"the header of scene {scene}")
        pieces = [next_row(lambda f: len(f) == 7, f"a clip-art piece of scene {scene}")[0]
                  for _ in range(int(header[1]))]
        scenes.append(sorted({_clip_art_label(png) for png in pieces}))
    return scenes

"""`StoryDatasetBuilder`: the TFDS builder shared by the four public formats (one subclass per
dataset in the sibling modules), over the dataset readers of `storyvis_tf.data.readers`.

Each example is one story of T frames at the config's image size S:
    story_id     string scalar (the reader's story id)
    frames       uint8 [T, S, S, 3] (stored as PNG, lossless)
    sentences    string [T]
    labels       float32 [T, C] multi-hot, named by `info.metadata["label_names"]`
    sources      string [T]: where each frame came from in the release
    annotations  string [T]: JSON of each frame's further ground truth

`download_and_prepare` reads the user's copy of the release from `manual_dir` and nothing else:
no URL is fetched and a prepared copy is never looked for on GCS (these datasets are not
distributed). Splits are the reader's; a split the release leaves empty (the val split of
Pororo-SV's two-way split file) is absent. Examples keep the reader's stored order (shuffling
disabled): the field pairs generated files with test stories by position.

Bad stories follow the Beam pipeline's rule (`storyvis_tf.data.preprocess`): a story whose
loading or checks fail is left out, written to `rejected.jsonl` beside the prepared files in the
pipeline's dead-letter format (split, story id, stage, reason, traceback), counted in
`info.metadata["rejected_per_split"]` and `["rejected"]`, and logged as a warning.
"""
import dataclasses
import json
import logging
import os
import traceback
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.preprocess import _load_checked_story, _rejection_record
from storyvis_tf.data.readers import make_reader, reader_class
from storyvis_tf.data.readers.base import SPLITS, StoryReader
from storyvis_tf.data.story import Story

REJECTED_FILE = "rejected.jsonl"

_log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class StoryConfig(tfds.core.BuilderConfig):
    """How stories are read: frame side in pixels, and the reader's train frame choice and seed
    ('first', 'middle' or a seeded 'random' still of each clip; val/test always use 'middle')."""

    image_size: int = 64
    train_frame_choice: str = "middle"
    seed: int = 0


class StoryDatasetBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Subclasses name their reader (`READER`, a key of `storyvis_tf.data.readers.DATASETS`) and
    set `MANUAL_DOWNLOAD_INSTRUCTIONS`, `DESCRIPTION`, `HOMEPAGE` and `CITATION`."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Stories of the public release, read by storyvis_tf's reader."}
    BUILDER_CONFIGS = [
        StoryConfig(name="64px", image_size=64,
                    description="64x64 frames (the benchmark's GAN resolution)"),
        StoryConfig(name="128px", image_size=128,
                    description="128x128 frames (the Pororo-SV and Flintstones-SV stills)"),
    ]
    READER = ""
    DESCRIPTION = ""
    HOMEPAGE = ""
    CITATION = ""

    def _info(self) -> tfds.core.DatasetInfo:
        reader = reader_class(self.READER)
        frames, size = reader.frames_per_story, self.builder_config.image_size
        # A reader whose label names come from the files (Abstract Scenes: the clip art of
        # Scenes_10020.txt) declares none at class level: their number is known after reading.
        num_labels = len(reader.label_names) or None
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict({
                "story_id": tfds.features.Text(),
                "frames": tfds.features.Sequence(tfds.features.Image(shape=(size, size, 3)),
                                                 length=frames),
                "sentences": tfds.features.Sequence(tfds.features.Text(), length=frames),
                "labels": tfds.features.Tensor(shape=(frames, num_labels), dtype=np.float32),
                "sources": tfds.features.Sequence(tfds.features.Text(), length=frames),
                "annotations": tfds.features.Sequence(tfds.features.Text(), length=frames),
            }),
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
            metadata=tfds.core.MetadataDict(),
            disable_shuffling=True,
        )

    def download_and_prepare(self, *, download_config: tfds.download.DownloadConfig | None = None,
                             **kwargs) -> None:
        """TFDS's `download_and_prepare`, never trying GCS for a prepared copy; logs a warning
        naming rejected.jsonl when stories were rejected (again on every reuse)."""
        download_config = dataclasses.replace(download_config or tfds.download.DownloadConfig(),
                                              try_download_gcs=False)
        super().download_and_prepare(download_config=download_config, **kwargs)
        if self.info.metadata.get("rejected"):
            _log.warning("%s: %d stories of the release were rejected (%s): their reasons are in "
                         "%s", self.name, self.info.metadata["rejected"],
                         ", ".join(f"{split} {n}" for split, n in
                                   self.info.metadata["rejected_per_split"].items()),
                         self.data_path / REJECTED_FILE)

    def _download_and_prepare(self, dl_manager, download_config) -> None:
        self._rejections = []
        super()._download_and_prepare(dl_manager, download_config)
        with (self.data_path / REJECTED_FILE).open("w") as f:
            f.writelines(json.dumps(record, sort_keys=True, default=str) + "\n"
                         for record in self._rejections)
        self.info.metadata["rejected_per_split"] = {
            split: sum(record["split"] == split for record in self._rejections)
            for split in SPLITS}
        self.info.metadata["rejected"] = len(self._rejections)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        reader = make_reader(self.READER, os.fspath(dl_manager.manual_dir),
                             image_size=config.image_size,
                             train_frame_choice=config.train_frame_choice, seed=config.seed)
        self.info.metadata["label_names"] = list(reader.label_names)
        return {split: self._generate_examples(reader, split) for split in SPLITS
                if next(reader.story_refs(split), None) is not None}

    def _generate_examples(self, reader: StoryReader, split: str):
        """(story id, features) of each story of `split` that loads and passes the checks; the
        others go to `self._rejections`. DatasetFormatError when none does (TFDS cannot write
        an empty split, and a release none of whose stories read is not the expected one)."""
        written = 0
        for ref in reader.story_refs(split):
            stage = "load"
            try:
                _, story = _load_checked_story(ref, reader, self.builder_config.image_size)
                stage = "serialise"
                example = _story_features(story)
            except Exception as error:  # noqa: BLE001 -- the Beam pipeline's dead-letter rule
                self._rejections.append(_rejection_record(
                    ref, (type(error), repr(error), traceback.format_exception(error)), stage))
                continue
            written += 1
            yield ref.story_id, example
        if not written:
            first = next(r for r in self._rejections if r["split"] == split)
            raise DatasetFormatError(f"{self.name}: every story of the {split} split in "
                                     f"{reader.data_dir} was rejected, e.g. {first['story_id']}: "
                                     f"{first['reason']}")


def _story_features(story: Story) -> dict[str, Any]:
    """The TFDS example of a loaded story; TypeError for an annotation that is not JSON."""
    return {
        "story_id": story.story_id,
        "frames": story.frames,
        "sentences": story.sentences,
        "labels": story.labels.astype(np.float32),
        "sources": story.sources,
        "annotations": [json.dumps(a, sort_keys=True) for a in story.annotations],
    }

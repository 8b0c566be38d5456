"""The in-memory story: what every reader produces and every TFRecord holds."""
import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class StoryRef:
    """A cheap, JSON-serialisable pointer to one story of a dataset, made before any pixel is read.

    `payload` holds whatever the reader needs to load the story later (paths, ids, seeds), so that
    listing is fast and loading (which may fail) runs in parallel inside the Beam pipeline.
    """

    dataset: str
    split: str
    story_id: str
    payload: dict[str, Any]


@dataclasses.dataclass
class Story:
    """One story: T frames, T sentences, T multi-hot label vectors.

    frames: uint8 [T, H, W, 3] RGB. labels: float32 [T, num_labels] in {0, 1}.
    sources: one source reference per frame (file path, image id, ...).
    annotations: one JSON-serialisable dict per frame with any further ground truth the dataset
    knows (for the synthetic dataset: each character's position, action, ...).
    """

    story_id: str
    frames: np.ndarray
    sentences: list[str]
    labels: np.ndarray
    sources: list[str]
    annotations: list[dict[str, Any]]

    def __post_init__(self):
        t = len(self.sentences)
        if self.frames.ndim != 4 or self.frames.shape[0] != t or self.frames.shape[-1] != 3:
            raise ValueError(f"story {self.story_id}: frames {self.frames.shape} do not match "
                             f"{t} sentences as [T, H, W, 3]")
        if self.frames.dtype != np.uint8:
            raise ValueError(f"story {self.story_id}: frames must be uint8, got {self.frames.dtype}")
        if self.labels.ndim != 2 or self.labels.shape[0] != t:
            raise ValueError(f"story {self.story_id}: labels {self.labels.shape} are not [T, C]")
        if len(self.sources) != t or len(self.annotations) != t:
            raise ValueError(f"story {self.story_id}: need one source and one annotation per frame")

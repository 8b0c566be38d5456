"""The interface every dataset reader implements.

A reader is constructed on the driver, checks the layout of `data_dir` at once
(`DatasetFormatError` naming the missing/unreadable file and the expected format), lists cheap
`StoryRef`s per split, and later loads each ref into a `Story` inside a Beam worker, raising
`BadStoryError` for a story that cannot be read (it goes to the dead-letter output).
Readers must be picklable (Beam ships them to workers).
"""
import abc
from collections.abc import Iterator

from storyvis_tf.data.story import Story, StoryRef

SPLITS = ("train", "val", "test")
FRAME_CHOICES = ("first", "middle", "random")


class StoryReader(abc.ABC):
    """Base class; subclasses set `name`, `label_names` and `frames_per_story`, and
    `configurable_split` when their constructor takes a `split` option (config data.split)."""

    name: str = ""
    label_names: tuple[str, ...] = ()
    frames_per_story: int = 5
    configurable_split: bool = False

    def __init__(self, data_dir: str, *, image_size: int = 64, train_frame_choice: str = "middle",
                 seed: int = 0):
        if train_frame_choice not in FRAME_CHOICES:
            raise ValueError(f"train_frame_choice must be one of {FRAME_CHOICES}, "
                             f"got {train_frame_choice!r}")
        self.data_dir = data_dir
        self.image_size = image_size
        self.train_frame_choice = train_frame_choice
        self.seed = seed
        self.validate()

    def frame_choice(self, split: str) -> str:
        """Val/test always use a deterministic frame; train may use the field's random choice."""
        return self.train_frame_choice if split == "train" else "middle"

    @abc.abstractmethod
    def validate(self) -> None:
        """Raise DatasetFormatError if a required file is missing or unreadable."""

    @abc.abstractmethod
    def story_refs(self, split: str) -> Iterator[StoryRef]:
        """The stories of `split` in the dataset's stored order."""

    @abc.abstractmethod
    def load_story(self, ref: StoryRef) -> Story:
        """Read one story at `self.image_size`; raise BadStoryError when it cannot be read."""

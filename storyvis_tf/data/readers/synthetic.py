"""Reader of the embedded synthetic dataset (`storyvis_tf.data.synthetic`): stories are generated
from seeds, not read from disk."""
from collections.abc import Iterator

import numpy as np

from configs import default as default_config
from storyvis_tf.data.readers.base import SPLITS, StoryReader
from storyvis_tf.data.story import Story, StoryRef
from storyvis_tf.data.synthetic import CHARACTER_NAMES, MIN_IMAGE_SIZE, generate_story


class SyntheticReader(StoryReader):
    """Lists seeded `StoryRef`s per split; `load_story` renders one story from its seed alone.

    `data_dir` is not read (the dataset is code): "" or any path is accepted, so the pipeline's
    flags stay uniform across datasets. `train_frame_choice` has no effect either: each frame is
    rendered as one image, there is no clip to pick a frame from. `num_stories` maps each split to
    its size (default: configs/default.py `data.synthetic_{train,val,test}`); `frames_per_story`
    its length (data.frames_per_story; 1 gives single-image text-to-image data). A story's seed is
    derived from (seed, split, index), so splits never share a seed and every story can be
    regenerated alone.
    """

    name = "synthetic"
    label_names = CHARACTER_NAMES
    frames_per_story = 5

    def __init__(self, data_dir: str, *, image_size: int = 64,
                 train_frame_choice: str = "middle", seed: int = 0,
                 num_stories: dict[str, int] | None = None, frames_per_story: int = 5):
        if num_stories is None:
            data = default_config.get_config().data
            num_stories = {"train": data.synthetic_train, "val": data.synthetic_val,
                           "test": data.synthetic_test}
        self.num_stories = dict(num_stories)
        self.frames_per_story = frames_per_story
        super().__init__(data_dir, image_size=image_size, train_frame_choice=train_frame_choice,
                         seed=seed)

    def validate(self) -> None:
        if sorted(self.num_stories) != sorted(SPLITS):
            raise ValueError(f"synthetic dataset: num_stories must give a count for each of "
                             f"{SPLITS}, got keys {sorted(self.num_stories)}")
        for split, count in self.num_stories.items():
            if not isinstance(count, int | np.integer) or count < 1:
                raise ValueError(f"synthetic dataset: num_stories[{split!r}] must be a positive "
                                 f"integer, got {count!r}")
        if self.image_size < MIN_IMAGE_SIZE or self.image_size % 16:
            raise ValueError(f"synthetic dataset: image_size must be a multiple of 16 and at least "
                             f"{MIN_IMAGE_SIZE}, got {self.image_size}")
        if not isinstance(self.frames_per_story, int | np.integer) or self.frames_per_story < 1:
            raise ValueError(f"synthetic dataset: frames_per_story must be a positive integer, "
                             f"got {self.frames_per_story!r}")
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ValueError(f"synthetic dataset: seed must be a non-negative integer, "
                             f"got {self.seed!r}")

    def story_refs(self, split: str) -> Iterator[StoryRef]:
        if split not in SPLITS:
            raise ValueError(f"synthetic dataset: unknown split {split!r}; choose one of {SPLITS}")
        for i in range(self.num_stories[split]):
            yield StoryRef(dataset=self.name, split=split, story_id=f"{split}-{i:06d}",
                           payload={"seed": self.story_seed(split, i)})

    def story_seed(self, split: str, index: int) -> int:
        """A 64-bit seed hashed from (reader seed, split, index) by numpy's SeedSequence."""
        state = np.random.SeedSequence((self.seed, SPLITS.index(split), index)).generate_state(
            1, np.uint64)
        return int(state[0])

    def load_story(self, ref: StoryRef) -> Story:
        return generate_story(ref.story_id, ref.payload["seed"], self.frames_per_story,
                              self.image_size)

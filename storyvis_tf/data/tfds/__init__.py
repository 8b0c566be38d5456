"""TFDS builders of the four public story-visualization formats, registered on import:
`pororo_sv`, `flintstones_sv`, `clevr_sv` and `abstract_scenes_sv` (configs `64px`, the default,
and `128px`). They read the user's copy of each release from `manual_dir` with the readers of
`storyvis_tf.data.readers`; `story_builder` describes the features and how bad stories are
reported. docs/TFDS.md shows `tfds.load` on each."""
from storyvis_tf.data.tfds.abstract_scenes_sv import AbstractScenesSv
from storyvis_tf.data.tfds.clevr_sv import ClevrSv
from storyvis_tf.data.tfds.flintstones_sv import FlintstonesSv
from storyvis_tf.data.tfds.pororo_sv import PororoSv
from storyvis_tf.data.tfds.story_builder import REJECTED_FILE, StoryConfig, StoryDatasetBuilder

__all__ = ["AbstractScenesSv", "ClevrSv", "FlintstonesSv", "PororoSv", "REJECTED_FILE",
           "StoryConfig", "StoryDatasetBuilder"]

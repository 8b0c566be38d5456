"""The tiny story GAN the train-step tests share: a config and random batches for it. No
TensorFlow here, so that a JAX worker on a machine without it can use them too
(tests/test_jax_without_tensorflow.py)."""
import numpy as np

from configs import smoke
from storyvis_tf.training.story_gan import mismatched_stories

VOCAB, LENGTH = 12, 5


def tiny_config(batch_size=2):
    """configs/smoke.py at 16x16 with 2-frame stories: every loss term and module on, seconds
    to build and step."""
    config = smoke.get_config()
    config.data.image_size = 16
    config.data.frames_per_story = 2
    config.data.max_sentence_length = LENGTH
    config.generator.attention_resolutions = (8, 16)
    config.train.batch_size = batch_size
    return config


def random_batch(config, stories, seed=0):
    """Stories of random frames and token ids; every sentence has at least two real words."""
    rng = np.random.default_rng(seed)
    frames, size = config.data.frames_per_story, config.data.image_size
    token_ids = rng.integers(1, VOCAB, (stories, frames, LENGTH)).astype("int32")
    token_ids[..., 2:] *= rng.random((stories, frames, LENGTH - 2)) < 0.5
    return {"images": rng.uniform(-1, 1, (stories, frames, size, size, 3)).astype("float32"),
            "token_ids": token_ids, "mismatched_token_ids": mismatched_stories(token_ids),
            "labels": np.zeros((stories, frames, 3), "float32")}

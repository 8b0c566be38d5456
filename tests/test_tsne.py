"""Fig. 4: the t-SNE map separates what is apart in feature space, and the figure is written
from a pretrained-style image encoder's global features, one colour per story."""
import numpy as np
from PIL import Image

from storyvis_tf.evaluation import tsne
from storyvis_tf.models.image_encoder import ImageEncoder


def test_two_separate_groups_stay_apart_in_two_dimensions():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0.0, 1.0, (15, 16)), rng.normal(8.0, 1.0, (15, 16))])
    groups = np.repeat([0, 1], 15)
    points = tsne.tsne_points(features, seed=0)

    assert points.shape == (30, 2) and points.dtype == np.float32
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    between = distances[groups[:, None] != groups[None]].min()
    within = distances[groups[:, None] == groups[None]].max()
    assert between > within  # each group's map fits inside a ball the other does not enter
    np.testing.assert_array_equal(tsne.tsne_points(features, seed=0), points)  # seeded


def test_figure_colours_each_story(tmp_path):
    encoder = ImageEncoder("compact", dim=8, width=4)
    stories = np.zeros((2, 3, 16, 16, 3), np.uint8)
    stories[1] = 255
    path = str(tmp_path / "tsne.png")
    points = tsne.write_story_tsne(path, encoder, stories, batch_size=4, seed=0)

    assert points.shape == (6, 2)
    picture = np.asarray(Image.open(path).convert("RGB"))
    assert picture.shape == (512, 512, 3)
    colours = {tuple(c) for c in picture.reshape(-1, 3)} - {(255, 255, 255), (0, 0, 0)}
    saturated = {c for c in colours if max(c) - min(c) > 150}  # the story colours, not edges
    assert len(saturated) == 2

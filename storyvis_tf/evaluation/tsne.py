"""The main paper's Fig. 4: a t-SNE map of generated frames' global image features, one colour
per story. Frames of one story should lie close together (consistency), stories apart.

The paper embeds 16 stories (80 frames) with a pretrained VGG-16's global feature; here the
features are the global vector of the image encoder of a `pipelines.pretrain` run (VGG-16 or the
from-scratch CNN, whichever it was pretrained with), the encoder the evaluator's Cosine and
R-precision use.
"""
import colorsys

import numpy as np
from PIL import Image, ImageDraw
from sklearn.manifold import TSNE

_SIZE = 512      # pixels of the square picture
_BORDER = 24     # pixels kept free around the points
_RADIUS = 5
_GOLDEN_RATIO = 0.618033988749895


def frame_features(image_encoder, stories: np.ndarray, batch_size: int) -> np.ndarray:
    """float32 [S*T, D]: the image encoder's global vector of every frame of uint8 stories
    [S, T, H, W, 3], story by story."""
    frames = stories.reshape(-1, *stories.shape[2:])
    features = []
    for start in range(0, len(frames), batch_size):
        pixels = frames[start:start + batch_size].astype(np.float32) / 127.5 - 1.0
        features.append(np.asarray(image_encoder(pixels, training=False)["global"], np.float32))
    return np.concatenate(features)


def tsne_points(features: np.ndarray, seed: int) -> np.ndarray:
    """float32 [N, 2]: scikit-learn's t-SNE of features [N, D] (N >= 2), PCA-initialised and
    seeded. The perplexity is scikit-learn's default 30, lowered to (N - 1) / 3 for small N
    (it must stay below N)."""
    count = len(features)
    perplexity = max(1.0, min(30.0, (count - 1) / 3))
    embedding = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return embedding.fit_transform(np.asarray(features, np.float64)).astype(np.float32)


def scatter_picture(points: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """uint8 [512, 512, 3]: points [N, 2] scaled to the picture, point i coloured by its group
    (int [N]; colours spread around the hue circle, so neighbouring groups differ)."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    pixels = _BORDER + (points - low) / span * (_SIZE - 2 * _BORDER)
    picture = Image.new("RGB", (_SIZE, _SIZE), "white")
    draw = ImageDraw.Draw(picture)
    for (x, y), group in zip(pixels, groups):
        hue = (int(group) * _GOLDEN_RATIO) % 1.0
        colour = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.85, 0.85))
        draw.ellipse((x - _RADIUS, _SIZE - y - _RADIUS, x + _RADIUS, _SIZE - y + _RADIUS),
                     fill=colour, outline="black")
    return np.asarray(picture)


def write_story_tsne(path: str, image_encoder, stories: np.ndarray, batch_size: int,
                     seed: int) -> np.ndarray:
    """Writes Fig. 4 for uint8 stories [S, T, H, W, 3] to `path` (PNG; the frames of story s
    share a colour) and returns the t-SNE points [S*T, 2]."""
    points = tsne_points(frame_features(image_encoder, stories, batch_size), seed)
    groups = np.repeat(np.arange(len(stories)), stories.shape[1])
    Image.fromarray(scatter_picture(points, groups)).save(path)
    return points

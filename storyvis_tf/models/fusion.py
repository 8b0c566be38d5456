"""The joint space of the main paper: projection heads f, g (Sec. 3.2) and fusion features (Eq. 3).

f maps visual features (story image, image, regions) and g maps language features (story
sentence, sentence, words) into one space R^D, where the contrastive losses (Eq. 1, 2) compare
them. The fusion feature of an (image, sentence) pair, X = f(v_region) g(s_word)^T, is what the
clustering loss (Eq. 4, 5) groups and what the discriminator judges (Sec. 3.4).
"""
import keras
from keras import ops


class ProjectionHead(keras.layers.Layer):
    """f or g of Sec. 3.2: a two-layer MLP on the last axis into the joint space R^dim.

    Works on any leading shape ([N, D], [N, R, D], [N, L, D], ...). The heads belong to the
    discriminator and learn from real pairs only (Sec. 3.4, following XMC-GAN).
    """

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.hidden = keras.layers.Dense(dim, activation="relu", name="hidden")
        self.projection = keras.layers.Dense(dim, name="projection")

    def call(self, features):
        return self.projection(self.hidden(features))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def fusion_features(regions, words, word_mask):
    """Eq. 3: X = f(v_region) g(s_word)^T, one fusion matrix per (image, sentence) pair.

    regions [N, R, D] (already projected by f), words [N, L, D] (already projected by g),
    word_mask bool [N, L] -> float32 X [N, R, L]; the columns of padded words are zero, so X does
    not depend on what the padding holds. Each entry is a sum over D, computed in float32 under
    any mixed-precision policy (it feeds K-means, Eq. 5 and the discriminator).
    """
    fusion = ops.matmul(ops.cast(regions, "float32"),
                        ops.transpose(ops.cast(words, "float32"), (0, 2, 1)))
    return fusion * ops.cast(word_mask, "float32")[:, None, :]


def flatten_fusion(fusion):
    """[N, R, L] -> [N, R * L]: one point per instance for clustering (Eq. 4) and Eq. 5."""
    return ops.reshape(fusion, (-1, fusion.shape[1] * fusion.shape[2]))

"""The fusion-feature discriminator of the main paper (Sec. 3.4), at the authors' code's layout.

Per frame, a 3x3 conv gives a Dt-dimensional regional feature at every pixel; its product with
the sentence's word matrix is the fusion map (Eq. 3), one channel per word position, [H, W, L].
Downsampling blocks (4x4 stride-2 convs, LeakyReLU 0.2, batch norm after all but the first,
spectral norm when discriminator.spectral_norm) take it to 4x4, and a 4x4 conv to one logit per
frame. Widths double from base_channels up to 8 * base_channels; larger images add blocks at
8 * base_channels (Sec. 4.2: "repeat the same downsampling blocks"). The Eq. 8 / 10 losses
average these per-frame logits over the frames of a story.
"""
import math

import keras
from keras import ops

from storyvis_tf.models.fusion import fusion_features


def _spectral(layer, spectral_norm: bool):
    """Wraps `layer` in spectral normalisation; the power iteration and the division by sigma
    run in float32 whatever the policy (in float16 they overflow), the conv itself does not."""
    if not spectral_norm:
        return layer
    return keras.layers.SpectralNormalization(layer, dtype="float32", name=layer.name)


class DownsamplingBlock(keras.layers.Layer):
    """4x4 stride-2 conv (spectrally normalised if asked), optional batch norm, LeakyReLU 0.2."""

    def __init__(self, channels: int, batch_norm: bool, spectral_norm: bool, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.batch_norm = batch_norm
        self.spectral_norm = spectral_norm
        self.conv = _spectral(keras.layers.Conv2D(channels, 4, strides=2, padding="same",
                                                  use_bias=False, name="conv"), spectral_norm)
        self.norm = keras.layers.BatchNormalization(name="norm") if batch_norm else None

    def call(self, x, training=False):
        x = self.conv(x, training=training)
        if self.norm is not None:
            x = self.norm(x, training=training)
        return ops.leaky_relu(x, negative_slope=0.2)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels,
                "batch_norm": self.batch_norm, "spectral_norm": self.spectral_norm}


class FusionDiscriminator(keras.Model):
    """Real/fake logit per (frame, sentence) pair, judged from their fusion map.

    Constructed from the `discriminator` config section (base_channels, spectral_norm), the text
    feature size Dt and the image size (a power of two >= 8).

    call({"images": [N, H, W, 3] in [-1, 1], "words": [N, L, Dt], "word_mask": bool [N, L]},
         training) -> float32 logits [N].
    The first block's input width is L, so weights are tied to data.max_sentence_length.
    """

    def __init__(self, config, text_dim: int, image_size: int, **kwargs):
        super().__init__(**kwargs)
        if image_size < 8 or 2 ** round(math.log2(image_size)) != image_size:
            raise ValueError(f"data.image_size must be a power of two >= 8, got {image_size}")
        self.region_features = keras.layers.Conv2D(text_dim, 3, padding="same", use_bias=False,
                                                   name="region_features")
        self.downsampling = [
            DownsamplingBlock(config.base_channels * 2 ** min(i, 3), batch_norm=i > 0,
                              spectral_norm=config.spectral_norm, name=f"downsample_{i}")
            for i in range(round(math.log2(image_size)) - 2)]
        self.logit = _spectral(keras.layers.Conv2D(1, 4, strides=4, name="logit"),
                               config.spectral_norm)

    def call(self, inputs, training=False):
        regions = self.region_features(inputs["images"])
        height, width, text_dim = regions.shape[1:]
        fusion = fusion_features(ops.reshape(regions, (-1, height * width, text_dim)),
                                 inputs["words"], ops.cast(inputs["word_mask"], "bool"))
        x = ops.reshape(fusion, (-1, height, width, fusion.shape[-1]))
        for block in self.downsampling:
            x = block(x, training=training)
        return ops.reshape(ops.cast(self.logit(x, training=training), "float32"), (-1,))

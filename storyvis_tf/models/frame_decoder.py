"""Per-frame image decoder shared by the baseline families (StoryGAN, the dynamic-block GAN).

A code vector per frame -> fully connected layer -> 4x4 features -> upsampling blocks to the
image size -> 3x3 conv -> tanh, at the widths of the main generator (`models.generator`: 8 *
base_channels at 4x4, halved at every doubling). Optional text blocks (the dynamic block) run
on the features at chosen resolutions with the frame's words.
"""
import keras
from keras import ops

from storyvis_tf.models.generator import (UpsamplingBlock, _feature_channels,
                                          _feature_resolutions)


class FrameDecoder(keras.layers.Layer):
    """call(code [N, D], words [N, L, Dt], word_mask bool [N, L], training) ->
    {"images": float32 [N, H, W, 3] in [-1, 1], "blocks": {resolution: the text block's
    output dict}}.

    text_blocks: {resolution: layer} with layer(features [N, r, r, C], words, word_mask,
    training) -> {"features": [N, r, r, C], ...}; the resolution must be a feature-map size
    (8, 16, ..., image_size), checked here with a message naming `config_field`.
    """

    def __init__(self, base_channels: int, image_size: int, text_blocks=None,
                 config_field: str = "text block resolutions", **kwargs):
        super().__init__(**kwargs)
        self.resolutions = _feature_resolutions(image_size)
        text_blocks = dict(text_blocks or {})
        stray = sorted(set(text_blocks) - set(self.resolutions[1:]))
        if stray:
            raise ValueError(f"{config_field} {stray} are not feature-map sizes of a "
                             f"{image_size}x{image_size} generator (allowed: "
                             f"{self.resolutions[1:]})")
        if _feature_channels(base_channels, image_size) < 1:
            raise ValueError(f"generator.base_channels={base_channels} is too small for "
                             f"image_size {image_size}: need at least {image_size // 32}")
        initial_channels = _feature_channels(base_channels, 4)
        self.initial_features = keras.layers.Dense(4 * 4 * initial_channels, use_bias=False,
                                                   name="initial_features")
        self.initial_norm = keras.layers.BatchNormalization(name="initial_norm")
        self.upsampling = [UpsamplingBlock(_feature_channels(base_channels, r),
                                           name=f"upsample_{r}") for r in self.resolutions[1:]]
        self.text_blocks = text_blocks
        self.to_rgb = keras.layers.Conv2D(3, 3, padding="same", name="to_rgb")

    def call(self, code, words=None, word_mask=None, training=False):
        x = ops.relu(self.initial_norm(self.initial_features(code), training=training))
        x = ops.reshape(x, (-1, 4, 4, x.shape[-1] // 16))
        blocks = {}
        for resolution, upsample in zip(self.resolutions[1:], self.upsampling):
            x = upsample(x, training=training)
            if resolution in self.text_blocks:
                blocks[resolution] = self.text_blocks[resolution](x, words, word_mask,
                                                                  training=training)
                x = blocks[resolution]["features"]
        return {"images": ops.tanh(ops.cast(self.to_rgb(x), "float32")), "blocks": blocks}

"""The story generator of the main paper (Sec. 3.1, 3.5): all frames of a story in one pass.

Noise and text -> fully connected layer -> 4x4 features -> upsampling blocks to the image size.
Every frame of a story shares the story's noise and (augmented) story condition and differs by
its own sentence; the T frames run as one batch of B*T images. At the resolutions in
generator.attention_resolutions an attention stage lets image regions attend to the frame's
words (WSA or BWSA), concatenates the word context to the features and refines them with
residual blocks. Widths follow the authors' code: 8 * base_channels at 4x4, halved at every
upsampling; base_channels = 256 (configs/paper_pororo.py) gives 69.7 M parameters at 64x64,
against 72.4 M for the authors' generator with its frame GRUs and dynamic filters (Table 1).
"""
import keras
from keras import ops

from storyvis_tf.models.attention import BidirectionalWordSpatialAttention, WordSpatialAttention
from storyvis_tf.models.conditioning import ConditioningAugmentation
from storyvis_tf.models.image_size import doublings_from_4x4

_ATTENTION = {"wsa": WordSpatialAttention, "bwsa": BidirectionalWordSpatialAttention}


class UpsamplingBlock(keras.layers.Layer):
    """Nearest-neighbour 2x upsampling, 3x3 conv, batch norm, ReLU (StoryGAN / authors' code)."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.upsample = keras.layers.UpSampling2D(2, interpolation="nearest")
        self.conv = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name="conv")
        self.norm = keras.layers.BatchNormalization(name="norm")

    def call(self, x, training=False):
        return ops.relu(self.norm(self.conv(self.upsample(x)), training=training))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


class ResidualBlock(keras.layers.Layer):
    """x + BN(conv(ReLU(BN(conv(x))))), 3x3 convs at constant width."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.conv_1 = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False,
                                          name="conv_1")
        self.norm_1 = keras.layers.BatchNormalization(name="norm_1")
        self.conv_2 = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False,
                                          name="conv_2")
        self.norm_2 = keras.layers.BatchNormalization(name="norm_2")

    def call(self, x, training=False):
        y = ops.relu(self.norm_1(self.conv_1(x), training=training))
        return x + self.norm_2(self.conv_2(y), training=training)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


class AttentionStage(keras.layers.Layer):
    """Word attention, [h, context] concatenation, residual blocks at 2C, 3x3 conv back to C.

    call(features [N, h, w, C], words [N, L, Dt], word_mask [N, L]) ->
    {"features": [N, h, w, C], "relations": float32 [N, h*w, L]} where "relations" is BWSA's
    relation matrix alpha (Fig. 5) or WSA's attention weights.
    """

    def __init__(self, channels: int, attention: str, residual_blocks: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.attention_kind = attention
        self.residual_blocks = residual_blocks
        self.attention = _ATTENTION[attention](name=attention)
        self.residuals = [ResidualBlock(2 * channels, name=f"residual_{i}")
                          for i in range(residual_blocks)]
        self.merge = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False,
                                         name="merge")
        self.merge_norm = keras.layers.BatchNormalization(name="merge_norm")

    def call(self, features, words, word_mask, training=False):
        attended = self.attention(features, words, word_mask)
        x = ops.concatenate([features, attended["context"]], axis=-1)
        for block in self.residuals:
            x = block(x, training=training)
        x = ops.relu(self.merge_norm(self.merge(x), training=training))
        relations = attended["relations"] if "relations" in attended else attended["weights"]
        return {"features": x, "relations": relations}

    def get_config(self):
        return {**super().get_config(), "channels": self.channels,
                "attention": self.attention_kind, "residual_blocks": self.residual_blocks}


def _feature_channels(base_channels: int, resolution: int) -> int:
    """Width of the generator's features at `resolution`: 8 * base at 4x4, halved per doubling."""
    return base_channels * 32 // resolution


def _feature_resolutions(image_size: int) -> list[int]:
    """4, 8, ..., image_size; the image size must be a power of two of at least 8."""
    return [4 * 2 ** k for k in range(doublings_from_4x4(image_size) + 1)]


class StoryGenerator(keras.Model):
    """Generates the T frames of each story from noise, its sentences and its story vector.

    Constructed from the `generator` config section (noise_dim, condition_dim,
    conditioning_augmentation, base_channels, attention, attention_resolutions, residual_blocks,
    use_character_labels, frame_gru), the image size, frames per story and the text feature size.

    call({"noise": [B, noise_dim], "sentence": [B, T, D], "words": [B, T, L, D],
          "word_mask": bool [B, T, L], "story": [B, D], "labels": [B, T, C] when
          use_character_labels, optionally "condition_noise": [B, condition_dim]}, training) ->
    {"images": float32 [B, T, H, W, 3] in [-1, 1],
     "relations": {resolution: float32 [B*T, r*r, L]} for each attention stage (empty when
                   attention is "none"),
     and, only when conditioning_augmentation is on, "mu", "logvar": float32 [B, condition_dim]
     of the story condition for the KL loss}.

    attention "none" removes the attention stages and their residual blocks (the paper's
    "w/o BWSA" ablation, Table 4). Without conditioning augmentation the story vector itself is
    the condition. "condition_noise" (standard normal) is the augmentation's reparameterisation
    noise in training; StoryGAN.train_step passes it, drawn for the global batch, so that the
    update does not depend on the replica count. Without it the ConditioningAugmentation layer
    draws its own (standalone training-mode calls); it is unused at inference and without
    augmentation. With frame_gru (the authors' code, not the paper) a GRU with text_dim units
    runs over the story's frames on [noise, sentence, labels] and its outputs replace them as
    the per-frame code, so each frame also sees the sentences before it.
    """

    def __init__(self, config, image_size: int, frames_per_story: int, text_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.resolutions = _feature_resolutions(image_size)
        attention_resolutions = tuple(config.attention_resolutions)
        if config.attention not in ("none", *_ATTENTION):
            raise ValueError(f"generator.attention must be one of none, wsa, bwsa; "
                             f"got {config.attention!r}")
        stray = sorted(set(attention_resolutions) - set(self.resolutions))
        if config.attention != "none" and stray:
            raise ValueError(f"generator.attention_resolutions {stray} are not feature-map "
                             f"sizes of a {image_size}x{image_size} generator "
                             f"(allowed: {self.resolutions})")
        if _feature_channels(config.base_channels, image_size) < 1:
            raise ValueError(f"generator.base_channels={config.base_channels} is too small for "
                             f"image_size {image_size}: need at least {image_size // 32}")
        self.frames_per_story = frames_per_story
        self.use_character_labels = config.use_character_labels
        self.conditioning = (ConditioningAugmentation(config.condition_dim, name="conditioning")
                             if config.conditioning_augmentation else None)
        self.frame_gru = (keras.layers.GRU(text_dim, return_sequences=True, name="frame_gru")
                          if config.frame_gru else None)
        initial_channels = _feature_channels(config.base_channels, 4)
        self.initial_features = keras.layers.Dense(4 * 4 * initial_channels, use_bias=False,
                                                   name="initial_features")
        self.initial_norm = keras.layers.BatchNormalization(name="initial_norm")
        self.upsampling = {r: UpsamplingBlock(_feature_channels(config.base_channels, r),
                                              name=f"upsample_{r}")
                           for r in self.resolutions[1:]}
        self.attention_stages = {} if config.attention == "none" else {
            r: AttentionStage(_feature_channels(config.base_channels, r), config.attention,
                              config.residual_blocks, name=f"attention_{r}")
            for r in attention_resolutions}
        self.to_rgb = keras.layers.Conv2D(3, 3, padding="same", name="to_rgb")

    def call(self, inputs, training=False):
        frames = self.frames_per_story
        length, text_dim = inputs["words"].shape[2], inputs["words"].shape[3]
        words = ops.reshape(inputs["words"], (-1, length, text_dim))
        word_mask = ops.reshape(ops.cast(inputs["word_mask"], "bool"), (-1, length))

        outputs = {}
        condition = inputs["story"]
        if self.conditioning is not None:
            augmented = self.conditioning(condition, noise=inputs.get("condition_noise"),
                                          training=training)
            condition = augmented["condition"]
            outputs.update(mu=augmented["mu"], logvar=augmented["logvar"])

        frame_code = [ops.repeat(inputs["noise"][:, None, :], frames, axis=1), inputs["sentence"]]
        if self.use_character_labels:
            if "labels" not in inputs:
                raise KeyError("StoryGenerator: generator.use_character_labels is on, so the "
                               "inputs need 'labels' [B, T, num_characters]")
            frame_code.append(ops.cast(inputs["labels"], inputs["sentence"].dtype))
        frame_code = ops.concatenate(frame_code, axis=-1)
        if self.frame_gru is not None:
            frame_code = self.frame_gru(frame_code, training=training)
        code = ops.concatenate(
            [ops.repeat(condition[:, None, :], frames, axis=1),
             ops.cast(frame_code, condition.dtype)], axis=-1)
        code = ops.reshape(code, (-1, code.shape[-1]))

        x = ops.relu(self.initial_norm(self.initial_features(code), training=training))
        x = ops.reshape(x, (-1, 4, 4, x.shape[-1] // 16))
        relations = {}
        for resolution in self.resolutions:
            if resolution in self.upsampling:
                x = self.upsampling[resolution](x, training=training)
            if resolution in self.attention_stages:
                staged = self.attention_stages[resolution](x, words, word_mask, training=training)
                x, relations[resolution] = staged["features"], staged["relations"]
        images = ops.tanh(ops.cast(self.to_rgb(x), "float32"))
        outputs["images"] = ops.reshape(images, (-1, frames, *images.shape[1:]))
        outputs["relations"] = relations
        return outputs


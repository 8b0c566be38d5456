"""The dynamic block and the single GAN built around it (Li & Lukasiewicz 2022, "Learning to
model multimodal semantic alignment for story visualization", `papers/semantic-alignment-
dynamic-block.txt`, Sec. 3, Fig. 1).

`DynamicBlock` (Sec. 3.1): image features a and a second input b attend with one shared
weight matrix, beta = softmax(a b^T), h = beta b, where b = a for self-attention (SA) and b =
the frame's words for word-level spatial attention (WSA). A selector w = sigmoid(mean(a) .
mean(b)) gives the probability of SA; Gumbel-softmax at temperature tau mixes h_SA and h_WSA
softly in training (Eq. 1-2) and picks one at inference (Eq. 3). The block is used in the
generator (`DynamicBlockGenerator`) and in the discriminator (`DynamicBlockDiscriminator`).
The rows of the paper's Table 2 are switches of config.model.dynamic_block: modes "both" |
"self" (SA only) | "word" (WSA only) | "none" (w/o both Attn), in_generator, in_discriminator
(w/o DB in G / D).
"""
import keras
from keras import ops

from storyvis_tf.models.discriminator import _downsampling_blocks, _spectral
from storyvis_tf.models.frame_decoder import FrameDecoder
from storyvis_tf.models.image_size import doublings_from_4x4

MODES = ("both", "self", "word", "none")
_MASKED_LOGIT = -1e9


def selection_probabilities(correlation, temperature: float, training: bool, gumbel=None):
    """[p(SA), p(WSA)] per frame, float32 [N, 2], from the selector's logit `correlation`
    [N] = mean(a) . mean(b), so w = sigmoid(correlation).

    training: the Gumbel-softmax of Eq. 1, softmax(((log w, log(1 - w)) + g) / tau) with
    `gumbel` [N, 2] the Gumbel noise -log(-log u) (one draw per choice, as Jang et al.; Eq. 1
    prints one z for both); inference: the hard choice of Eq. 3, one-hot on the likelier
    attention, without noise, so an exported generator is deterministic.
    """
    correlation = ops.cast(correlation, "float32")
    logits = ops.stack([ops.log_sigmoid(correlation), ops.log_sigmoid(-correlation)], axis=-1)
    if not training:
        return ops.one_hot(ops.argmax(logits, axis=-1), 2, dtype="float32")
    return ops.softmax((logits + ops.cast(gumbel, "float32")) / temperature, axis=-1)


def gumbel_noise(shape, seed):
    """-log(-log u), u ~ U(0, 1) (clipped away from 0 and 1), float32 of `shape`."""
    u = keras.random.uniform(shape, minval=1e-6, maxval=1.0 - 1e-6, dtype="float32", seed=seed)
    return -ops.log(-ops.log(u))


class DynamicBlock(keras.layers.Layer):
    """call(features a [N, h, w, C], words [N, L, Dt], word_mask bool [N, L], training) ->
    {"features": [N, h, w, C], "selection": float32 [N, 2] ([p(SA), p(WSA)]; one-hot at
    inference)}.

    Words are projected into the feature space (e' = U e, AttnGAN's word projection); a
    single query matrix W serves both attentions: beta_SA = softmax((W a) a^T),
    beta_WSA = softmax((W a) e'^T) over the real words. The chosen or mixed h goes back
    into the features as a + conv1x1(h). The selector compares the mean of a over positions
    with the mean of e' over the real words (the image-text correlation the paper describes).
    modes: "both" (the dynamic block), "self" or "word" (one attention, no selector), "none"
    (the block returns a unchanged and has no weights). Scores and softmaxes in float32.
    """

    def __init__(self, modes: str = "both", temperature: float = 1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if modes not in MODES:
            raise ValueError(f"model.dynamic_block.modes must be one of {', '.join(MODES)}; "
                             f"got {modes!r}")
        if temperature <= 0:
            raise ValueError(f"model.dynamic_block.temperature must be > 0, got {temperature}")
        self.modes, self.temperature, self.seed = modes, temperature, seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gumbel_seed")

    def build(self, features_shape, words_shape, word_mask_shape):
        if self.modes == "none":
            return
        channels = features_shape[-1]
        self.query = keras.layers.Dense(channels, use_bias=False, name="query")
        self.query.build(features_shape)
        if self.modes != "self":
            self.word_projection = keras.layers.Dense(channels, use_bias=False,
                                                      name="word_projection")
            self.word_projection.build(words_shape)
        self.fuse = keras.layers.Conv2D(channels, 1, name="fuse")
        self.fuse.build(features_shape)

    def call(self, features, words, word_mask, training=False):
        if self.modes == "none":
            return {"features": features,
                    "selection": ops.zeros((ops.shape(features)[0], 2), "float32")}
        height, width, channels = features.shape[1:]
        regions = ops.cast(ops.reshape(features, (-1, height * width, channels)), "float32")
        queries = ops.cast(ops.reshape(self.query(features), (-1, height * width, channels)),
                           "float32")
        attended, selection = [], None
        if self.modes in ("both", "self"):
            scores = ops.matmul(queries, ops.transpose(regions, (0, 2, 1)))
            attended.append(ops.matmul(ops.softmax(scores, axis=-1), regions))
        if self.modes in ("both", "word"):
            mask = ops.cast(word_mask, "bool")
            projected = ops.cast(self.word_projection(words), "float32")
            scores = ops.matmul(queries, ops.transpose(projected, (0, 2, 1)))
            weights = ops.softmax(ops.where(mask[:, None, :], scores, _MASKED_LOGIT), axis=-1)
            attended.append(ops.matmul(weights * ops.cast(mask, "float32")[:, None, :],
                                       projected))
        if self.modes == "both":
            mask = ops.cast(word_mask, "float32")
            word_mean = (ops.sum(projected * mask[..., None], axis=1)
                         / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0))
            correlation = ops.sum(ops.mean(regions, axis=1) * word_mean, axis=-1)
            gumbel = gumbel_noise((ops.shape(correlation)[0], 2), self.seed_generator) \
                if training else None
            selection = selection_probabilities(correlation, self.temperature, training, gumbel)
            hidden = (selection[:, 0, None, None] * attended[0]
                      + selection[:, 1, None, None] * attended[1])
        else:
            hidden = attended[0]
            selection = ops.one_hot(ops.zeros((ops.shape(regions)[0],), "int32")
                                    + (0 if self.modes == "self" else 1), 2, dtype="float32")
        hidden = ops.cast(ops.reshape(hidden, (-1, height, width, channels)), self.compute_dtype)
        return {"features": features + self.fuse(hidden), "selection": selection}

    def get_config(self):
        return {**super().get_config(), "modes": self.modes, "temperature": self.temperature,
                "seed": self.seed}


def _blocks(settings, resolutions, name):
    return {r: DynamicBlock(settings.modes, settings.temperature, name=f"{name}_{r}")
            for r in resolutions}


class DynamicBlockGenerator(keras.Model):
    """The paper's generator: per frame, the story's noise and the frame's sentence vector ->
    FC -> upsampling blocks (`FrameDecoder`), with a dynamic block on the features at every
    resolution of model.dynamic_block.generator_resolutions (none with in_generator off).

    call({"noise": [B, Z], "sentence": [B, T, D], "words": [B, T, L, D], "word_mask": bool
    [B, T, L], ...}, training) -> {"images": float32 [B, T, H, W, 3] in [-1, 1],
    "selections": {resolution: float32 [B*T, 2]}}. Other input keys ("story", "labels") are
    not read: the paper conditions on sentence vectors and words only.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        settings = config.model.dynamic_block
        self.frames_per_story = config.data.frames_per_story
        resolutions = settings.generator_resolutions if settings.in_generator else ()
        self.decoder = FrameDecoder(
            config.generator.base_channels, config.data.image_size,
            _blocks(settings, resolutions, "dynamic_block"),
            config_field="model.dynamic_block.generator_resolutions", name="decoder")

    def call(self, inputs, training=False):
        frames = self.frames_per_story
        length, text_dim = inputs["words"].shape[2], inputs["words"].shape[3]
        code = ops.concatenate([ops.repeat(inputs["noise"][:, None, :], frames, axis=1),
                                ops.cast(inputs["sentence"], inputs["noise"].dtype)], axis=-1)
        decoded = self.decoder(ops.reshape(code, (-1, code.shape[-1])),
                               ops.reshape(inputs["words"], (-1, length, text_dim)),
                               ops.reshape(inputs["word_mask"], (-1, length)), training=training)
        images = decoded["images"]
        return {"images": ops.reshape(images, (-1, frames, *images.shape[1:])),
                "selections": {r: out["selection"] for r, out in decoded["blocks"].items()}}


class DynamicBlockDiscriminator(keras.Model):
    """The paper's discriminator: 4x4 stride-2 downsampling blocks (`models.discriminator`'s,
    under the `discriminator` section's base_channels, spectral_norm, batch_norm) with a
    dynamic block fusing the frame's words into the features after every block whose output
    size is in model.dynamic_block.discriminator_resolutions (none with in_discriminator off);
    at 4x4 the sentence vector, tiled, is concatenated (the coarse conditioning the paper
    contrasts with) -> 3x3 conv, LeakyReLU -> 4x4 conv -> logit.

    call({"images": [N, H, W, 3], "words": [N, L, Dt], "word_mask": bool [N, L],
    "sentence": [N, Dt], ...}, training) -> {"conditional": float32 [N]}.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        settings, size = config.model.dynamic_block, config.data.image_size
        blocks = doublings_from_4x4(size)
        self.trunk = _downsampling_blocks(config.discriminator, blocks)
        self.block_sizes = [size // 2 ** (i + 1) for i in range(blocks)]
        resolutions = settings.discriminator_resolutions if settings.in_discriminator else ()
        stray = sorted(set(resolutions) - set(self.block_sizes))
        if stray:
            raise ValueError(f"model.dynamic_block.discriminator_resolutions {stray} are not "
                             f"feature-map sizes of a {size}x{size} discriminator (allowed: "
                             f"{self.block_sizes})")
        self.dynamic_blocks = _blocks(settings, resolutions, "dynamic_block")
        width = config.discriminator.base_channels * 2 ** min(blocks - 1, 3)
        spectral_norm = config.discriminator.spectral_norm
        self.joint = _spectral(keras.layers.Conv2D(width, 3, padding="same", name="joint"),
                               spectral_norm)
        self.logit = _spectral(keras.layers.Conv2D(1, 4, name="logit"), spectral_norm)

    def call(self, inputs, training=False):
        x = inputs["images"]
        for size, block in zip(self.block_sizes, self.trunk):
            x = block(x, training=training)
            if size in self.dynamic_blocks:
                x = self.dynamic_blocks[size](x, inputs["words"], inputs["word_mask"],
                                              training=training)["features"]
        sentence = ops.cast(inputs["sentence"], x.dtype)[:, None, None, :]
        joint = ops.concatenate(
            [x, ops.broadcast_to(sentence, (ops.shape(x)[0], *x.shape[1:3],
                                            sentence.shape[-1]))], axis=-1)
        joint = ops.leaky_relu(self.joint(joint, training=training), negative_slope=0.2)
        logit = self.logit(joint, training=training)
        return {"conditional": ops.reshape(ops.cast(logit, "float32"), (-1,))}

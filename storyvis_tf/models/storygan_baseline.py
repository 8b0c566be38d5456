"""StoryGAN (Li et al., CVPR 2019; `papers/storygan-notes.txt`), the baseline family's networks.

Generator (`StoryGANGenerator`):
  story encoder    h0 ~ N(mu(S), diag(sigma^2(S))) from the story's concatenated sentence
                   vectors (conditioning augmentation; its KL enters G's loss), `StoryEncoder`;
  context encoder  per frame t: i_t, g_t = GRU(s_t, eps_t, g_{t-1}); o_t, h_t =
                   Text2Gist(i_t, h_{t-1}) starting from h0, `ContextEncoder` / `Text2Gist`;
  image generator  each gist o_t -> one frame (`FrameDecoder`).
Discriminators (`StoryGANDiscriminator` holds both, so one optimiser trains them):
  image  D_I(x_t, s_t, h0): is frame x_t real and does it show sentence s_t in its story,
         `ImageDiscriminator`;
  story  D_S(X, S) = sigmoid(w^T (E_img(X) . E_txt(S)) + b) over the whole story,
         `StoryDiscriminator`.
The objective alpha L_image + beta L_story + L_KL is `training.storygan_objectives`.
"""
import keras
from keras import ops

from storyvis_tf.models.conditioning import ConditioningAugmentation
from storyvis_tf.models.discriminator import _downsampling_blocks, _spectral
from storyvis_tf.models.frame_decoder import FrameDecoder
from storyvis_tf.models.image_size import doublings_from_4x4


class StoryEncoder(keras.layers.Layer):
    """The story encoder: conditioning augmentation of the story's T sentence vectors,
    concatenated (as StoryGAN's code does), into the initial story context h0.

    call(sentences [B, T, D], noise [B, dim] or None, training) -> {"condition": h0 [B, dim],
    "mu", "logvar": float32 [B, dim]} (`ConditioningAugmentation`: h0 = mu at inference).
    """

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.augmentation = ConditioningAugmentation(dim, name="augmentation")

    def call(self, sentences, noise=None, training=False):
        story = ops.reshape(sentences, (-1, sentences.shape[1] * sentences.shape[2]))
        return self.augmentation(story, noise=noise, training=training)


def dynamic_filter(h, filters):
    """Filter(i_t) * h_t of Text2Gist: a per-example 1-D 'same' convolution of the context h
    [B, C] (one channel of length C) with K filters of width k generated from i_t,
    `filters` [B, k, K] (k odd) -> [B, C * K]."""
    width = filters.shape[1]
    padded = ops.pad(h, ((0, 0), (width // 2, width // 2)))
    windows = ops.stack([padded[:, j:j + h.shape[-1]] for j in range(width)], axis=-1)
    filtered = ops.einsum("bck,bkf->bcf", windows, filters)
    return ops.reshape(filtered, (-1, h.shape[-1] * filters.shape[-1]))


class Text2Gist(keras.layers.Layer):
    """The Text2Gist cell: a GRU-like update of the story context h from the local input i_t,
    and the gist o_t = Filter(i_t) * h_t:
      z = sigmoid(W_z i + U_z h + b_z), r = sigmoid(W_r i + U_r h + b_r),
      h_t = (1 - z) h + z tanh(W_h i + U_h (r . h) + b_h), o_t = `dynamic_filter`(h_t, F(i_t)).
    F is a linear map of i_t to `filters` filters of `filter_width` taps (the notes leave
    Filter's form open; StoryGAN's code generates 1-D filters from i_t).

    call(i [B, Di], h [B, C]) -> (o [B, C * filters], h_t [B, C]); C = `units`.
    """

    def __init__(self, units: int, filters: int, filter_width: int, **kwargs):
        super().__init__(**kwargs)
        if filter_width < 1 or filter_width % 2 == 0:
            raise ValueError(f"model.storygan.gist_filter_width must be odd and >= 1, got "
                             f"{filter_width}")
        self.units, self.filters, self.filter_width = units, filters, filter_width
        self.input_gates = keras.layers.Dense(3 * units, name="input_gates")
        self.update_reset = keras.layers.Dense(2 * units, use_bias=False, name="update_reset")
        self.candidate = keras.layers.Dense(units, use_bias=False, name="candidate")
        self.filter_generator = keras.layers.Dense(filter_width * filters, name="filters")

    def call(self, i, h):
        x_z, x_r, x_h = ops.split(self.input_gates(i), 3, axis=-1)
        h_z, h_r = ops.split(self.update_reset(h), 2, axis=-1)
        z, r = ops.sigmoid(x_z + h_z), ops.sigmoid(x_r + h_r)
        h = (1.0 - z) * h + z * ops.tanh(x_h + self.candidate(r * h))
        filters = ops.reshape(self.filter_generator(i), (-1, self.filter_width, self.filters))
        return dynamic_filter(h, filters), h

    def get_config(self):
        return {**super().get_config(), "units": self.units, "filters": self.filters,
                "filter_width": self.filter_width}


class ContextEncoder(keras.layers.Layer):
    """The context encoder: a GRU cell over the frames' inputs (sentence, noise) gives i_t,
    the Text2Gist cell turns (i_t, h_{t-1}) into the gist o_t and the next context h_t.

    call(frame_inputs [B, T, Din], h0 [B, C], training) -> gists [B, T, C * filters].
    """

    def __init__(self, gru_units: int, context_dim: int, filters: int, filter_width: int,
                 **kwargs):
        super().__init__(**kwargs)
        self.gru = keras.layers.GRUCell(gru_units, name="gru")
        self.text2gist = Text2Gist(context_dim, filters, filter_width, name="text2gist")

    def call(self, frame_inputs, h0, training=False):
        g = ops.zeros((ops.shape(frame_inputs)[0], self.gru.units), frame_inputs.dtype)
        h, gists = ops.cast(h0, frame_inputs.dtype), []
        for t in range(frame_inputs.shape[1]):
            i, g = self.gru(frame_inputs[:, t], g, training=training)
            gist, h = self.text2gist(i, h)
            gists.append(gist)
        return ops.stack(gists, axis=1)


class StoryGANGenerator(keras.Model):
    """Story encoder, context encoder and per-frame image generator.

    Constructed from the whole config: generator (noise_dim, condition_dim = h's size,
    conditioning_augmentation, base_channels, use_character_labels), model.storygan
    (gru_units, gist_filters, gist_filter_width), data (image_size, frames_per_story).

    call({"noise": [B, Z], "sentence": [B, T, D], (+ "labels" [B, T, C] with
    use_character_labels, optionally "condition_noise" [B, condition_dim]), ...}, training)
    -> {"images": float32 [B, T, H, W, 3] in [-1, 1]} (+ "mu", "logvar" [B, condition_dim]
    with conditioning augmentation). eps_t is the story's noise at every frame (one noise
    vector per story, the serving signature's); the GRU makes the frames' codes differ.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        generator, settings = config.generator, config.model.storygan
        self.frames_per_story = config.data.frames_per_story
        self.use_character_labels = generator.use_character_labels
        self.conditioning_augmentation = generator.conditioning_augmentation
        self.story_encoder = StoryEncoder(generator.condition_dim, name="story_encoder")
        self.context_encoder = ContextEncoder(settings.gru_units, generator.condition_dim,
                                              settings.gist_filters, settings.gist_filter_width,
                                              name="context_encoder")
        self.image_generator = FrameDecoder(generator.base_channels, config.data.image_size,
                                            name="image_generator")

    def call(self, inputs, training=False):
        frames = self.frames_per_story
        story = self.story_encoder(inputs["sentence"], noise=inputs.get("condition_noise"),
                                   training=training and self.conditioning_augmentation)
        frame_inputs = [inputs["sentence"], ops.repeat(inputs["noise"][:, None, :], frames, 1)]
        if self.use_character_labels:
            if "labels" not in inputs:
                raise KeyError("StoryGANGenerator: generator.use_character_labels is on, so the "
                               "inputs need 'labels' [B, T, num_characters]")
            frame_inputs.append(inputs["labels"])
        frame_inputs = ops.concatenate([ops.cast(x, "float32") for x in frame_inputs], axis=-1)
        gists = self.context_encoder(frame_inputs, story["condition"], training=training)
        images = self.image_generator(ops.reshape(gists, (-1, gists.shape[-1])),
                                      training=training)["images"]
        outputs = {"images": ops.reshape(images, (-1, frames, *images.shape[1:]))}
        if self.conditioning_augmentation:
            outputs.update(mu=story["mu"], logvar=story["logvar"])
        return outputs


class ImageDiscriminator(keras.Model):
    """D_I on (sentence, story context, frame) triples: downsampling blocks take the frame to
    4x4 features; the sentence vector and the story vector, concatenated and compressed by a
    linear layer (StackGAN's conditioning of D), are tiled over them -> 3x3 conv, LeakyReLU ->
    4x4 conv -> logit.

    call(images [N, H, W, 3], sentence [N, D], story [N, D], training) -> float32 [N].
    """

    def __init__(self, config, condition_dim: int, **kwargs):
        super().__init__(**kwargs)
        blocks = doublings_from_4x4(config.data.image_size)
        discriminator = config.discriminator
        self.trunk = _downsampling_blocks(discriminator, blocks)
        self.condition = keras.layers.Dense(condition_dim, name="condition")
        width = discriminator.base_channels * 2 ** min(blocks - 1, 3)
        self.joint = _spectral(keras.layers.Conv2D(width, 3, padding="same", name="joint"),
                               discriminator.spectral_norm)
        self.logit = _spectral(keras.layers.Conv2D(1, 4, name="logit"),
                               discriminator.spectral_norm)

    def call(self, images, sentence, story, training=False):
        x = images
        for block in self.trunk:
            x = block(x, training=training)
        condition = ops.leaky_relu(self.condition(ops.concatenate([sentence, story], axis=-1)),
                                   negative_slope=0.2)
        condition = ops.cast(condition, x.dtype)[:, None, None, :]
        joint = ops.concatenate([x, ops.broadcast_to(
            condition, (ops.shape(x)[0], *x.shape[1:3], condition.shape[-1]))], axis=-1)
        joint = ops.leaky_relu(self.joint(joint, training=training), negative_slope=0.2)
        return ops.reshape(ops.cast(self.logit(joint, training=training), "float32"), (-1,))


class StoryDiscriminator(keras.Model):
    """D_S: E_img(X) concatenates the T frames' image embeddings (downsampling blocks ->
    linear, `embedding_dim` each), E_txt(S) the T sentence vectors' linear embeddings; the
    logit is w^T (E_img(X) . E_txt(S)) + b (element-wise product).

    call(images [B, T, H, W, 3], sentences [B, T, D], training) -> float32 [B].
    """

    def __init__(self, config, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.trunk = _downsampling_blocks(config.discriminator,
                                          doublings_from_4x4(config.data.image_size),
                                          name="story_downsample")
        self.image_embedding = keras.layers.Dense(embedding_dim, name="image_embedding")
        self.text_embedding = keras.layers.Dense(embedding_dim, name="text_embedding")
        self.logit = keras.layers.Dense(1, name="logit")

    def call(self, images, sentences, training=False):
        frames = images.shape[1]
        x = ops.reshape(images, (-1, *images.shape[2:]))
        for block in self.trunk:
            x = block(x, training=training)
        image = self.image_embedding(ops.reshape(x, (-1, x.shape[1] * x.shape[2] * x.shape[3])))
        image = ops.reshape(image, (-1, frames * image.shape[-1]))          # E_img(X)
        text = self.text_embedding(sentences)
        text = ops.reshape(text, (-1, frames * text.shape[-1]))             # E_txt(S)
        joint = ops.cast(image, "float32") * ops.cast(text, "float32")
        return ops.reshape(ops.cast(self.logit(joint), "float32"), (-1,))


class StoryGANDiscriminator(keras.Model):
    """Both StoryGAN discriminators as one network (one optimiser, one parameter count).

    call({"images": [B, T, H, W, 3], "sentence": [B, T, D], "story": [B, D]}, training) ->
    {"image": float32 [B, T] (D_I per frame), "story": float32 [B] (D_S per story)}.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        settings = config.model.storygan
        self.image = ImageDiscriminator(config, settings.discriminator_condition_dim,
                                        name="image_discriminator")
        self.story = StoryDiscriminator(config, settings.story_embedding_dim,
                                        name="story_discriminator")

    def call(self, inputs, training=False):
        images, sentence = inputs["images"], inputs["sentence"]
        frames = images.shape[1]
        story = ops.repeat(inputs["story"][:, None, :], frames, axis=1)
        image = self.image(ops.reshape(images, (-1, *images.shape[2:])),
                           ops.reshape(sentence, (-1, sentence.shape[-1])),
                           ops.reshape(story, (-1, story.shape[-1])), training=training)
        return {"image": ops.reshape(image, (-1, frames)),
                "story": self.story(images, sentence, training=training)}

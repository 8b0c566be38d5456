"""The story GAN's discriminators: one logit dict per (frame, sentence) pair.

`FusionDiscriminator` is the main paper's (Sec. 3.4) at the authors' code's layout: it sees the
fusion map of its own conv's features only. `CoupledFusionDiscriminator` is the text's reading:
it judges the fusion features X = f(v) g(s)^T that the clustering term groups, built from the
frozen image encoder through the projection heads. `JointDiscriminator` adds an image trunk with an unconditional logit (our
departure, see its docstring and docs/REPRODUCTION_NOTES.md). `build_discriminator` picks
one by `discriminator.architecture`. Both return {"conditional": [N]} (+ "unconditional": [N]
for the joint one), float32; given num_labels > 0 (losses.character_classification) they also
return "characters" [N, num_labels]: logits of which characters the frame shows
(`CharacterClassifier`). With discriminator.minibatch_stddev_group > 0 the real/fake logits also
see ProGAN's minibatch standard deviation of the last 4x4 features (`MinibatchStddev`). With
discriminator.label_projection they take the frames' character labels too ("labels" [N, C]) and
their conditional logit adds the projection discriminator's class term (`LabelProjection`).

FusionDiscriminator: per frame, a 3x3 conv gives a Dt-dimensional regional feature at every
pixel; its product with the sentence's word matrix is the fusion map (Eq. 3), one channel per
word position, [H, W, L]. Downsampling blocks (4x4 stride-2 convs, LeakyReLU 0.2, batch norm
after all but the first when discriminator.batch_norm, spectral norm when
discriminator.spectral_norm) take it to 4x4, and a 4x4 conv to one logit per frame. Widths
double from base_channels up to 8 * base_channels; larger images add blocks at 8 *
base_channels (Sec. 4.2: "repeat the same downsampling blocks"). The Eq. 8 / 10 losses average
the per-frame logits over the frames of a story.
"""
import keras
from keras import ops

from storyvis_tf.models.fusion import fusion_features
from storyvis_tf.models.image_size import doublings_from_4x4


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


class CharacterClassifier(keras.layers.Layer):
    """Logits of which characters a frame shows (losses.character_classification), [N, C].

    discriminator.character_trunk = "shared": a 4x4 conv on the discriminator's last 4x4
    feature map (the StoryGAN code line's `cate_classify`), spectrally normalised with the rest;
    "separate": the same conv on a trunk of its own, the discriminator's widths without spectral
    or batch norm. Keras' spectral normalisation projects every kernel back to unit norm at each
    training call, and a shared spectral-normalised trunk learns the classification too slowly
    to guide the generator within a CPU run (docs/RESULTS.md); the classifier is
    not adversarial (it learns real frames, and with losses.character_fake_frames the fakes
    with their stories' labels), so it needs no Lipschitz safeguard.
    """

    def __init__(self, config, num_labels: int, blocks: int, **kwargs):
        super().__init__(**kwargs)
        if config.character_trunk not in ("shared", "separate"):
            raise ValueError(f"unknown discriminator.character_trunk {config.character_trunk!r}: "
                             "expected 'shared' or 'separate'")
        separate = config.character_trunk == "separate"
        self.trunk = (_downsampling_blocks(config, blocks, spectral_norm=False, batch_norm=False,
                                           name="character_downsample") if separate else None)
        self.head = _spectral(keras.layers.Conv2D(num_labels, 4, name="head"),
                              config.spectral_norm and not separate)

    def call(self, images, shared_features, training=False):
        x = shared_features
        if self.trunk is not None:
            x = images
            for block in self.trunk:
                x = block(x, training=training)
        logits = self.head(x, training=training)
        return ops.cast(ops.reshape(logits, (-1, logits.shape[-1])), "float32")


class LabelProjection(keras.layers.Layer):
    """The projection discriminator's class term (Miyato & Koyama 2018), for multi-label frames:
    sum_c y_c <e_c, phi(x)>, with phi(x) the sum of the last feature map over its positions
    (SNGAN's global sum pooling) and e_c a learnt embedding per character
    (discriminator.label_projection).

    Why: an auxiliary classifier trained on real frames names the characters of real frames
    but answers arbitrarily on fakes, so its gradient tells the generator little about how a
    character looks; this term is part of the real/fake logit, learnt on reals and fakes alike,
    so it measures how far a fake frame is from a real frame of the same characters. With
    mismatched pairs, real frames under another story's labels are negatives too.

    call(features [N, h, w, C], labels [N, num_labels]) -> float32 [N].
    """

    def __init__(self, num_labels: int, spectral_norm: bool, **kwargs):
        super().__init__(**kwargs)
        self.num_labels = num_labels
        self.spectral_norm = spectral_norm
        self.embedding = _spectral(keras.layers.Dense(num_labels, use_bias=False,
                                                      name="embedding"), spectral_norm)

    def call(self, features, labels, training=False):
        if labels.shape[-1] != self.num_labels:
            raise ValueError(f"LabelProjection: labels have {labels.shape[-1]} characters, the "
                             f"discriminator was built for {self.num_labels}")
        scores = self.embedding(ops.sum(features, axis=(1, 2)), training=training)
        return ops.sum(ops.cast(scores, "float32") * ops.cast(labels, "float32"), axis=-1)

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels,
                "spectral_norm": self.spectral_norm}


def _label_projection(config, projection_labels: int):
    """The LabelProjection of discriminator.label_projection over projection_labels
    characters, or None when it is off."""
    if not config.label_projection:
        return None
    if projection_labels < 1:
        raise ValueError("discriminator.label_projection needs the number of character labels "
                         "(the dataset's label_names)")
    return LabelProjection(projection_labels, config.spectral_norm, name="label_projection")


def _conditional_logit(logit, projection, features, inputs, training):
    """The conditional logit [N] float32, plus the label projection of `features` when on."""
    logit = ops.reshape(ops.cast(logit, "float32"), (-1,))
    if projection is None:
        return logit
    if "labels" not in inputs:
        raise KeyError("discriminator.label_projection is on, so the discriminator's inputs "
                       "need 'labels' [N, num_characters]")
    return logit + projection(features, inputs["labels"], training=training)


class MinibatchStddev(keras.layers.Layer):
    """ProGAN's minibatch standard deviation (Karras et al. 2018, Sec. 3): one more channel
    holding, for each group of `group_size` frames, the standard deviation of every feature
    across the group averaged to one number. A batch of fakes that all look alike (one
    background for every story) then differs visibly from a batch of real frames, so the
    discriminator can penalise the collapse. Groups take every (N / group_size)-th frame, so
    with story-major batches they span different stories.

    call(x [N, H, W, C]) -> [N, H, W, C + 1]; N must be a multiple of the group size (or
    smaller than it: one group of all N).
    """

    def __init__(self, group_size: int, **kwargs):
        super().__init__(**kwargs)
        if group_size < 2:
            raise ValueError(f"discriminator.minibatch_stddev_group must be 0 (off) or >= 2, "
                             f"got {group_size}")
        self.group_size = group_size

    def call(self, x):
        frames, height, width, channels = x.shape
        group = min(self.group_size, frames)
        if frames % group:
            raise ValueError(f"MinibatchStddev: a batch of {frames} frames does not split into "
                             f"groups of {group} (discriminator.minibatch_stddev_group)")
        grouped = ops.reshape(ops.cast(x, "float32"),
                              (group, frames // group, height, width, channels))
        deviation = ops.sqrt(ops.var(grouped, axis=0) + 1e-8)          # [N/g, H, W, C]
        statistic = ops.mean(deviation, axis=(1, 2, 3), keepdims=True)  # [N/g, 1, 1, 1]
        statistic = ops.tile(statistic, (group, height, width, 1))
        return ops.concatenate([x, ops.cast(statistic, x.dtype)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


def _minibatch_stddev(config):
    """The MinibatchStddev layer of config.minibatch_stddev_group, or None when it is 0."""
    group = config.minibatch_stddev_group
    return MinibatchStddev(group, name="minibatch_stddev") if group else None


def _with_stddev(layer, x):
    """x with the minibatch-stddev channel appended, or x itself when the layer is off."""
    return x if layer is None else layer(x)


def _character_classifier(config, num_labels: int, blocks: int):
    """A CharacterClassifier over num_labels characters; None without labels."""
    if not num_labels:
        return None
    return CharacterClassifier(config, num_labels, blocks, name="characters")


def _with_characters(logits: dict, classifier, images, features, training) -> dict:
    """`logits` plus the classifier's "characters" logits, if there is a classifier."""
    if classifier is not None:
        logits["characters"] = classifier(images, features, training=training)
    return logits


def _downsampling_blocks(config, blocks: int, spectral_norm=None, batch_norm=None,
                         name="downsample") -> list[DownsamplingBlock]:
    """`blocks` stride-2 blocks of widths base * {1, 2, 4, 8, 8, ...}, batch norm (if
    config.batch_norm, or batch_norm when given) after all but the first, spectral norm as
    config.spectral_norm unless spectral_norm is given."""
    spectral_norm = config.spectral_norm if spectral_norm is None else spectral_norm
    batch_norm = config.batch_norm if batch_norm is None else batch_norm
    return [DownsamplingBlock(config.base_channels * 2 ** min(i, 3),
                              batch_norm=batch_norm and i > 0,
                              spectral_norm=spectral_norm, name=f"{name}_{i}")
            for i in range(blocks)]


class FusionDiscriminator(keras.Model):
    """Real/fake logit per (frame, sentence) pair, judged from their fusion map.

    Constructed from the `discriminator` config section (base_channels, spectral_norm,
    batch_norm, label_projection), the text feature size Dt, the image size (a power of two >= 8),
    num_labels (0: no character head) and projection_labels (the characters of the label
    projection, needed with discriminator.label_projection).

    call({"images": [N, H, W, 3] in [-1, 1], "words": [N, L, Dt], "word_mask": bool [N, L]},
         (+ "labels" [N, C] with label_projection), training) -> {"conditional": float32
         logits [N]} (+ "characters" [N, num_labels]).
    The first block's input width is L, so weights are tied to data.max_sentence_length.
    """

    def __init__(self, config, text_dim: int, image_size: int, num_labels: int = 0,
                 projection_labels: int = 0, **kwargs):
        super().__init__(**kwargs)
        blocks = doublings_from_4x4(image_size)
        self.characters = _character_classifier(config, num_labels, blocks)
        self.label_projection = _label_projection(config, projection_labels)
        self.region_features = keras.layers.Conv2D(text_dim, 3, padding="same", use_bias=False,
                                                   name="region_features")
        self.downsampling = _downsampling_blocks(config, blocks)
        self.minibatch_stddev = _minibatch_stddev(config)
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
        logit = self.logit(_with_stddev(self.minibatch_stddev, x), training=training)
        logits = {"conditional": _conditional_logit(logit, self.label_projection, x, inputs,
                                                    training)}
        return _with_characters(logits, self.characters, inputs["images"], x, training)


class JointDiscriminator(keras.Model):
    """An image trunk with an unconditional and a fusion-conditioned logit per frame.

    Our departure from the fusion-only discriminator (docs/REPRODUCTION_NOTES.md): on
    the embedded dataset a discriminator that sees the image only through the fusion map
    overpowers the generator within a few hundred steps and gives it no usable gradient, while
    an image-only trunk stays balanced. This one keeps Sec. 3.4's fusion features as the
    conditional evidence and adds StackGAN++'s joint conditional + unconditional logits:
      trunk          4x4 stride-2 convs (spectral norm, LeakyReLU 0.2, batch norm only if
                     discriminator.batch_norm), widths base * {1, 2, 4, 8, 8, ...} down to
                     4x4: h [N, 4, 4, C];
      unconditional  a 4x4 conv on h -> logit ("is this a real frame?");
      conditional    the fusion map of h's regions (1x1 conv to Dt) with the frame's words,
                     Eq. 3 on the 4x4 grid, [N, 4, 4, L], and the sentence vector, tiled,
                     concatenated with h -> 3x3 conv, LeakyReLU -> 4x4 conv -> logit
                     ("does this frame show this sentence?"), plus `LabelProjection` of h
                     with discriminator.label_projection; with discriminator.story_condition
                     the story vector, tiled, joins the concatenation (StoryGAN's image
                     discriminator judges (sentence, story context, image)): a frame whose
                     sentence does not name the background is judged against its story's;
    characters       with num_labels > 0, `CharacterClassifier` on h or on a trunk of its own
                     -> [N, num_labels] ("who is in it?").

    call({"images" [N, H, W, 3], "words" [N, L, Dt], "word_mask" bool [N, L],
          "sentence" [N, Dt] (+ "story" [N, Dt], the frame's story vector, with story_condition;
          "labels" [N, C] with label_projection)}, training) ->
          {"conditional": [N], "unconditional": [N]
          (+ "characters" [N, num_labels])} float32.
    """

    def __init__(self, config, text_dim: int, image_size: int, num_labels: int = 0,
                 projection_labels: int = 0, **kwargs):
        super().__init__(**kwargs)
        blocks = doublings_from_4x4(image_size)
        self.characters = _character_classifier(config, num_labels, blocks)
        self.label_projection = _label_projection(config, projection_labels)
        self.story_condition = config.story_condition
        self.trunk = _downsampling_blocks(config, blocks)
        self.minibatch_stddev = _minibatch_stddev(config)
        width = config.base_channels * 2 ** min(blocks - 1, 3)
        self.region_features = _spectral(keras.layers.Conv2D(text_dim, 1, use_bias=False,
                                                             name="region_features"),
                                         config.spectral_norm)
        self.joint = _spectral(keras.layers.Conv2D(width, 3, padding="same", name="joint"),
                               config.spectral_norm)
        self.conditional_logit = _spectral(keras.layers.Conv2D(1, 4, name="conditional_logit"),
                                           config.spectral_norm)
        self.unconditional_logit = _spectral(
            keras.layers.Conv2D(1, 4, name="unconditional_logit"), config.spectral_norm)

    def call(self, inputs, training=False):
        x = inputs["images"]
        for block in self.trunk:
            x = block(x, training=training)
        regions = self.region_features(x, training=training)
        height, width, text_dim = regions.shape[1:]
        fusion = fusion_features(ops.reshape(regions, (-1, height * width, text_dim)),
                                 inputs["words"], ops.cast(inputs["word_mask"], "bool"))
        texts = [inputs["sentence"]]
        if self.story_condition:
            if "story" not in inputs:
                raise KeyError("discriminator.story_condition is on, so the discriminator's "
                               "inputs need 'story' [N, Dt]")
            texts.append(inputs["story"])
        judged = _with_stddev(self.minibatch_stddev, x)
        conditional = ops.concatenate(
            [judged, ops.cast(ops.reshape(fusion, (-1, height, width, fusion.shape[-1])), x.dtype),
             *(ops.broadcast_to(ops.cast(text, x.dtype)[:, None, None, :],
                                (ops.shape(x)[0], height, width, text.shape[-1]))
               for text in texts)], axis=-1)
        conditional = ops.leaky_relu(self.joint(conditional, training=training),
                                     negative_slope=0.2)
        logits = {"conditional": _conditional_logit(
                      self.conditional_logit(conditional, training=training),
                      self.label_projection, x, inputs, training),
                  "unconditional": ops.reshape(ops.cast(
                      self.unconditional_logit(judged, training=training), "float32"), (-1,))}
        return _with_characters(logits, self.characters, inputs["images"], x, training)


class CoupledFusionDiscriminator(keras.Model):
    """Real/fake logit per (frame, sentence) pair from the very fusion features the clustering
    term groups: the text's reading of Sec. 3.4 (discriminator.architecture = "coupled").

    The fusion map X = f(v_region) g(s_word)^T (Eq. 3) is built outside, by the training
    losses, from the frozen image encoder's regions and the text encoder's words through the
    projection heads f, g (`objectives.frame_logits`), so D's GAN loss trains the heads that
    the contrastive and clustering terms train ("feeding fusion features into the
    discriminator can help regularize training and stabilize clustering"). Here: the map on
    the encoder's region grid, [N, h, w, L], a 3x3 conv to base_channels (LeakyReLU 0.2),
    downsampling blocks to 4x4 (none when the grid is 4x4 or smaller), a conv over the whole
    remaining grid -> logit.

    Constructed like `FusionDiscriminator` plus region_grid (h = w, the image encoder's grid
    side: image_size / 8). call({"fusion": float32 [N, h*w, L], "images": [N, H, W, 3]
    (for a character head only), (+ "labels" [N, C] with label_projection)}, training) ->
    {"conditional": float32 [N]} (+ "characters" [N, num_labels]).
    """

    def __init__(self, config, text_dim: int, image_size: int, num_labels: int = 0,
                 projection_labels: int = 0, region_grid: int = 0, **kwargs):
        super().__init__(**kwargs)
        del text_dim   # the fusion map has one channel per word, whatever the feature size
        self.region_grid = region_grid or image_size // 8
        blocks = doublings_from_4x4(self.region_grid) if self.region_grid > 4 else 0
        self.characters = _character_classifier(config, num_labels,
                                                doublings_from_4x4(image_size))
        self.label_projection = _label_projection(config, projection_labels)
        self.fusion_conv = _spectral(keras.layers.Conv2D(config.base_channels, 3,
                                                         padding="same", name="fusion_conv"),
                                     config.spectral_norm)
        self.downsampling = _downsampling_blocks(config, blocks)
        self.minibatch_stddev = _minibatch_stddev(config)
        self.logit = _spectral(keras.layers.Conv2D(1, min(4, self.region_grid), name="logit"),
                               config.spectral_norm)

    def call(self, inputs, training=False):
        fusion = inputs["fusion"]
        side = self.region_grid
        x = ops.reshape(ops.cast(fusion, self.compute_dtype), (-1, side, side, fusion.shape[-1]))
        x = ops.leaky_relu(self.fusion_conv(x, training=training), negative_slope=0.2)
        for block in self.downsampling:
            x = block(x, training=training)
        logit = self.logit(_with_stddev(self.minibatch_stddev, x), training=training)
        logits = {"conditional": _conditional_logit(logit, self.label_projection, x, inputs,
                                                    training)}
        return _with_characters(logits, self.characters, inputs.get("images"), x, training)


ARCHITECTURES = {"fusion": FusionDiscriminator, "joint": JointDiscriminator,
                 "coupled": CoupledFusionDiscriminator}


def build_discriminator(config, text_dim: int, image_size: int, num_labels: int = 0,
                        projection_labels: int = 0, region_grid: int = 0):
    """The discriminator named by config.architecture (the `discriminator` config section),
    with a character head over num_labels characters when num_labels > 0 and, with
    config.label_projection, a label projection over projection_labels characters.
    region_grid: the image encoder's region grid side (the coupled discriminator's input;
    0 = image_size / 8)."""
    if config.architecture not in ARCHITECTURES:
        raise ValueError(f"unknown discriminator.architecture {config.architecture!r}: expected "
                         f"one of {', '.join(ARCHITECTURES)}")
    if config.story_condition and config.architecture != "joint":
        raise ValueError("discriminator.story_condition needs the joint discriminator "
                         f"(discriminator.architecture = 'joint', got {config.architecture!r})")
    extra = {"region_grid": region_grid} if config.architecture == "coupled" else {}
    return ARCHITECTURES[config.architecture](config, text_dim, image_size, num_labels,
                                              projection_labels, name="discriminator", **extra)

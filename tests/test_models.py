"""Models: shapes at tiny sizes, masking, attention ranges, config errors, weights round trips."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from configs import default
from storyvis_tf.models.attention import BidirectionalWordSpatialAttention, WordSpatialAttention
from storyvis_tf.models.conditioning import ConditioningAugmentation
from storyvis_tf.models.discriminator import (FusionDiscriminator, JointDiscriminator,
                                               MinibatchStddev, build_discriminator)
from storyvis_tf.models.fusion import ProjectionHead, flatten_fusion, fusion_features
from storyvis_tf.models.generator import StoryGenerator
from storyvis_tf.models.image_encoder import ImageEncoder, encode_story_frames
from storyvis_tf.models.text_encoder import TextEncoder, encode_stories

B, T, L, D = 2, 3, 6, 8          # stories, frames, words per sentence, text feature size
LENGTHS = np.array([[3, 6, 1], [2, 4, 0]])  # words per sentence; the last sentence is empty


def tiny_config(image_size=32, **generator):
    c = default.get_config()
    c.data.image_size = image_size
    c.generator.update(dict(noise_dim=6, condition_dim=5, base_channels=4, residual_blocks=1,
                            attention_resolutions=(image_size // 2, image_size), frame_gru=False))
    c.generator.update(generator)
    c.discriminator.base_channels = 4
    return c


def word_mask():
    return np.arange(L)[None, None, :] < LENGTHS[..., None]


def generator_inputs(seed=0, padding_value=None):
    """Random story inputs; padded word features are set to padding_value when given."""
    rng = np.random.default_rng(seed)
    words = rng.normal(size=(B, T, L, D)).astype("float32")
    if padding_value is not None:
        words[~word_mask()] = padding_value
    return {"noise": rng.normal(size=(B, 6)).astype("float32"),
            "sentence": rng.normal(size=(B, T, D)).astype("float32"),
            "words": words, "word_mask": word_mask(),
            "story": rng.normal(size=(B, D)).astype("float32")}


def discriminator_inputs(images, generated):
    return {"images": ops.reshape(images, (-1, *images.shape[2:])),
            "words": ops.reshape(generated["words"], (-1, L, D)),
            "word_mask": ops.reshape(generated["word_mask"], (-1, L)),
            "sentence": ops.reshape(generated["sentence"], (-1, D))}


@pytest.fixture(scope="module")
def models_32():
    """The generator (BWSA at 16 and 32) and discriminator most tests share, built once."""
    keras.utils.set_random_seed(0)
    config = tiny_config(32)
    generator = StoryGenerator(config.generator, 32, T, D)
    discriminator = build_discriminator(config.discriminator, D, 32)
    inputs = generator_inputs()
    discriminator(discriminator_inputs(generator(inputs)["images"], inputs))
    return generator, discriminator


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# --- text encoder ---------------------------------------------------------------------------

def test_text_encoder_shapes_and_padding():
    keras.utils.set_random_seed(0)
    encoder = TextEncoder(vocab_size=30, embedding_dim=12, hidden_dim=D, dropout=0.1)
    ids = np.array([[5, 9, 3, 0, 0, 0], [7, 0, 0, 0, 0, 0]])
    out = encoder(ids)
    assert out["words"].shape == (2, 6, D) and out["sentence"].shape == (2, D)
    np.testing.assert_array_equal(out["mask"], ids != 0)
    assert np.all(np.asarray(out["words"])[ids == 0] == 0)
    # More padding after the same sentence changes nothing.
    longer = encoder(np.pad(ids, ((0, 0), (0, 5))))
    np.testing.assert_allclose(longer["sentence"], out["sentence"], atol=1e-6)
    np.testing.assert_allclose(longer["words"][:, :6], out["words"], atol=1e-6)
    # Also with no padding at all: a padded one-word sentence encodes as the bare word.
    np.testing.assert_allclose(out["sentence"][1], encoder(np.array([[7]]))["sentence"][0],
                               atol=1e-6)


def test_encode_stories_shapes_and_story_mean():
    keras.utils.set_random_seed(0)
    encoder = TextEncoder(vocab_size=30, embedding_dim=12, hidden_dim=D, dropout=0.0)
    ids = np.random.default_rng(0).integers(1, 30, size=(B, T, L)) * word_mask()
    out = encode_stories(encoder, ids)
    assert out["words"].shape == (B, T, L, D) and out["mask"].shape == (B, T, L)
    assert out["sentence"].shape == (B, T, D) and out["story"].shape == (B, D)
    np.testing.assert_allclose(out["story"], np.mean(out["sentence"], axis=1), atol=1e-6)
    np.testing.assert_allclose(out["sentence"][1, 2], np.zeros(D))  # empty sentence


def test_text_encoder_rejects_odd_hidden_dim():
    with pytest.raises(ValueError, match="hidden_dim must be even"):
        TextEncoder(vocab_size=10, embedding_dim=4, hidden_dim=7, dropout=0.0)


# --- image encoder --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 64])
def test_compact_image_encoder_grid(size):
    encoder = ImageEncoder("compact", dim=D, width=4)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, size, size, 3)).astype("float32")
    out = encode_story_frames(encoder, images)
    regions = (size // 8) ** 2
    assert out["regions"].shape == (B, T, regions, D)
    assert out["global"].shape == (B, T, D) and out["story"].shape == (B, D)
    np.testing.assert_allclose(out["story"], np.mean(out["global"], axis=1), atol=1e-6)


def test_vgg16_image_encoder(tmp_path):
    missing = str(tmp_path / "vgg16_notop.h5")
    with pytest.raises(FileNotFoundError, match="vgg16_notop.h5.*Nothing is downloaded"):
        ImageEncoder("vgg16", dim=D, vgg16_weights=missing)
    garbage = tmp_path / "not_vgg.h5"
    garbage.write_bytes(b"not an HDF5 file")
    with pytest.raises(ValueError, match="not_vgg.h5 is not a VGG-16"):
        ImageEncoder("vgg16", dim=D, vgg16_weights=str(garbage))

    keras.utils.set_random_seed(1)
    imagenet = keras.applications.VGG16(include_top=False, weights=None)
    weights = str(tmp_path / "vgg16_notop.weights.h5")
    imagenet.save_weights(weights)
    encoder = ImageEncoder("vgg16", dim=D, vgg16_weights=weights)
    conv = encoder.backbone.get_layer("block1_conv1")
    np.testing.assert_array_equal(conv.kernel, imagenet.get_layer("block1_conv1").kernel)
    assert not encoder.backbone.trainable
    out = encoder(np.zeros((2, 32, 32, 3), "float32"))
    assert out["regions"].shape == (2, 16, D) and out["global"].shape == (2, D)
    assert len(encoder.trainable_weights) == 4  # the two projections only


def test_inception_v3_image_encoder_regions_from_mixed7_and_the_global_code_from_the_top():
    encoder = ImageEncoder("inception_v3", dim=D)      # random weights, trained whole
    assert encoder.backbone.trainable
    for output, name in zip(encoder.backbone.outputs, ("mixed7", "mixed10")):
        assert output is encoder.backbone.get_layer(name).output
    assert [tuple(x.shape) for x in encoder.backbone.outputs] == [(None, 17, 17, 768),
                                                                  (None, 8, 8, 2048)]
    images = np.random.default_rng(0).uniform(-1, 1, (1, 2, 32, 32, 3)).astype("float32")
    out = encode_story_frames(encoder, images)          # frames resized to 299 x 299
    assert out["regions"].shape == (1, 2, 17 * 17, D)
    assert out["global"].shape == (1, 2, D) and out["story"].shape == (1, D)
    with pytest.raises(FileNotFoundError, match="inception_v3_weights: .*Nothing is downloaded"):
        ImageEncoder("inception_v3", dim=D, inception_v3_weights="missing_notop.h5")


def test_image_encoder_rejects_unknown_backbone():
    with pytest.raises(ValueError, match="image_encoder.backbone"):
        ImageEncoder("resnet", dim=D)


# --- fusion, attention, conditioning ----------------------------------------------------------

def test_fusion_features_known_values():
    regions = np.array([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])        # [1, R=3, 2]
    words = np.array([[[3.0, 1.0], [0.5, -1.0], [9.0, 9.0]]])          # [1, L=3, 2]
    mask = np.array([[True, True, False]])
    fusion = fusion_features(regions, words, mask)
    expected = [[[3.0, 0.5, 0.0], [2.0, -2.0, 0.0], [4.0, -0.5, 0.0]]]
    np.testing.assert_allclose(fusion, expected)
    np.testing.assert_allclose(flatten_fusion(fusion), np.reshape(expected, (1, 9)))


def test_projection_head_maps_any_rank():
    head = ProjectionHead(5)
    assert head(np.ones((4, 7), "float32")).shape == (4, 5)
    assert head(np.ones((4, 3, 7), "float32")).shape == (4, 3, 5)


@pytest.mark.parametrize("layer_class",
                         [WordSpatialAttention, BidirectionalWordSpatialAttention])
def test_word_attention(layer_class):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(3, 4, 4, 6)).astype("float32")
    words = rng.normal(size=(3, 5, D)).astype("float32")
    mask = np.arange(5)[None, :] < np.array([[3], [5], [0]])
    layer = layer_class()
    out = layer(features, words, mask)
    assert out["context"].shape == (3, 4, 4, 6) and out["weights"].shape == (3, 16, 5)
    weights = np.asarray(out["weights"])
    assert np.all(weights[~np.broadcast_to(mask[:, None, :], weights.shape)] == 0)
    if layer_class is WordSpatialAttention:   # softmax over each region's words
        np.testing.assert_allclose(weights[:2].sum(-1), 1.0, rtol=1e-5)
    else:                                     # then over regions, for each real word
        np.testing.assert_allclose(weights[0, :, :3].sum(0), 1.0, rtol=1e-5)
        relations = np.asarray(out["relations"])
        assert relations.shape == (3, 16, 5)
        assert relations.min() >= -1 and relations.max() <= 1
        assert relations.min() < 0 < relations.max()   # both directions occur
    np.testing.assert_array_equal(out["context"][2], 0)   # no words, no context, no NaN
    padded = words.copy()
    padded[~mask] = 1e3
    again = layer(features, padded, mask)
    for key in out:
        np.testing.assert_array_equal(again[key], out[key])


def test_bwsa_matches_numpy_reference():
    """Sec. 3.5 written out in NumPy: WSA weights over words then regions, times
    alpha = tanh(tanh(h W_img) tanh(e W_txt)^T), context = (weights * alpha) e'."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(2, 2, 3, 4)).astype("float32")
    words = rng.normal(size=(2, 3, 5)).astype("float32")
    mask = np.array([[True, True, False], [True, True, True]])
    layer = BidirectionalWordSpatialAttention()
    out = layer(features, words, mask)
    h = features.reshape(2, 6, 4)
    projected = words @ np.asarray(layer.word_projection.kernel)
    logits = np.where(mask[:, None, :], h @ projected.transpose(0, 2, 1), -np.inf)
    over_words = np.exp(logits - logits.max(-1, keepdims=True))
    over_words /= over_words.sum(-1, keepdims=True)
    weights = np.exp(over_words) / np.exp(over_words).sum(1, keepdims=True) * mask[:, None, :]
    alpha = np.tanh(np.tanh(h @ np.asarray(layer.region_relation.kernel))
                    @ np.tanh(words @ np.asarray(layer.word_relation.kernel)).transpose(0, 2, 1))
    alpha *= mask[:, None, :]
    np.testing.assert_allclose(out["weights"], weights, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out["relations"], alpha, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["context"], ((weights * alpha) @ projected).reshape(2, 2, 3, 4),
                               rtol=1e-4, atol=1e-6)


def test_conditioning_augmentation():
    layer = ConditioningAugmentation(4, seed=3)
    x = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
    inference = layer(x)
    assert {k: v.shape for k, v in inference.items()} == {
        "condition": (5, 4), "mu": (5, 4), "logvar": (5, 4)}
    np.testing.assert_array_equal(inference["condition"], inference["mu"])
    sampled = layer(x, training=True)
    assert max_abs_diff(sampled["condition"], sampled["mu"]) > 1e-3
    assert max_abs_diff(layer(x, training=True)["condition"], sampled["condition"]) > 1e-3
    replay = ConditioningAugmentation(4, seed=3)   # same seed: the same first draw
    replay(x)
    replay.set_weights(layer.get_weights())
    np.testing.assert_allclose(replay(x, training=True)["condition"], sampled["condition"],
                               rtol=1e-6)


def test_conditioning_augmentation_uses_the_noise_it_is_given():
    layer = ConditioningAugmentation(4, seed=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7)).astype("float32")
    noise, other = rng.normal(size=(2, 5, 4)).astype("float32")
    given = layer(x, noise=noise, training=True)
    np.testing.assert_allclose(
        given["condition"], given["mu"] + np.exp(0.5 * np.asarray(given["logvar"])) * noise,
        rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(layer(x, noise=noise, training=True)["condition"],
                                  given["condition"])
    assert max_abs_diff(layer(x, noise=other, training=True)["condition"],
                        given["condition"]) > 1e-3
    np.testing.assert_array_equal(layer(x, noise=noise)["condition"], given["mu"])
    with pytest.raises(ValueError, match=r"condition noise must be \[N, 4\]"):
        layer(x, noise=noise[:, :3], training=True)


def test_generator_condition_noise_decides_the_training_images(models_32):
    generator = models_32[0]
    inputs = generator_inputs()
    noise, other = np.random.default_rng(1).normal(size=(2, B, 5)).astype("float32")
    images = generator({**inputs, "condition_noise": noise}, training=True)["images"]
    again = generator({**inputs, "condition_noise": noise}, training=True)["images"]
    np.testing.assert_array_equal(again, images)
    assert max_abs_diff(generator({**inputs, "condition_noise": other},
                                  training=True)["images"], images) > 1e-4


# --- generator --------------------------------------------------------------------------------

@pytest.mark.parametrize("size,attention", [(32, "bwsa"), (64, "wsa"), (32, "none")])
def test_generator_shapes(size, attention, models_32):
    if (size, attention) == (32, "bwsa"):
        generator = models_32[0]
    else:
        generator = StoryGenerator(tiny_config(size, attention=attention).generator, size, T, D)
    out = generator(generator_inputs(), training=True)
    assert out["images"].shape == (B, T, size, size, 3) and out["images"].dtype == "float32"
    images = np.asarray(out["images"])
    assert np.all(np.abs(images) <= 1) and np.isfinite(images).all()
    assert out["mu"].shape == (B, 5) and out["logvar"].shape == (B, 5)
    expected = {} if attention == "none" else {size // 2: (B * T, (size // 2) ** 2, L),
                                               size: (B * T, size ** 2, L)}
    assert {r: tuple(m.shape) for r, m in out["relations"].items()} == expected
    print(f"generator {size}x{size} {attention}: {generator.count_params()} parameters")


def test_generator_128_labels_gru_without_augmentation():
    config = tiny_config(128, attention_resolutions=(128,), use_character_labels=True,
                         frame_gru=True, conditioning_augmentation=False)
    generator = StoryGenerator(config.generator, 128, T, D)
    inputs = generator_inputs()
    inputs["labels"] = np.eye(4, dtype="float32")[np.arange(B * T) % 4].reshape(B, T, 4)
    out = generator(inputs)
    assert out["images"].shape == (B, T, 128, 128, 3)
    del inputs["labels"]
    with pytest.raises(KeyError, match="labels"):
        generator(inputs)
    assert "mu" not in out and "logvar" not in out
    assert generator.frame_gru is not None and generator.frame_gru.built
    print(f"generator 128x128 bwsa+labels+gru: {generator.count_params()} parameters")


def test_generator_ignores_padded_words(models_32):
    generator = models_32[0]
    out = generator(generator_inputs(padding_value=0.0))
    again = generator(generator_inputs(padding_value=50.0))
    np.testing.assert_array_equal(again["images"], out["images"])
    assert max_abs_diff(generator(generator_inputs(seed=1))["images"], out["images"]) > 1e-4


def test_generator_frames_share_noise_but_follow_their_sentence(models_32):
    generator = models_32[0]
    inputs = generator_inputs()
    inputs["sentence"][:, 1] = inputs["sentence"][:, 0]
    inputs["words"][:, 1] = inputs["words"][:, 0]
    inputs["word_mask"][:, 1] = inputs["word_mask"][:, 0]
    images = np.asarray(generator(inputs)["images"])
    np.testing.assert_allclose(images[:, 1], images[:, 0], atol=1e-6)
    assert np.max(np.abs(images[:, 2] - images[:, 0])) > 1e-4


def test_generator_config_errors():
    config = tiny_config(32, attention_resolutions=(32, 64))
    with pytest.raises(ValueError, match=r"attention_resolutions \[64\]"):
        StoryGenerator(config.generator, 32, T, D)
    with pytest.raises(ValueError, match="image_size must be a power of two"):
        StoryGenerator(tiny_config(32).generator, 48, T, D)
    with pytest.raises(ValueError, match="generator.attention must be"):
        StoryGenerator(tiny_config(32, attention="self").generator, 32, T, D)
    with pytest.raises(ValueError, match="base_channels=2 is too small"):
        StoryGenerator(tiny_config(128, base_channels=2).generator, 128, T, D)


# --- discriminator ----------------------------------------------------------------------------

@pytest.mark.parametrize("size,spectral_norm", [(32, True), (64, False)])
def test_fusion_discriminator_logit_per_frame(size, spectral_norm):
    config = tiny_config(size)
    config.discriminator.spectral_norm = spectral_norm
    discriminator = FusionDiscriminator(config.discriminator, D, size)
    generated = generator_inputs(padding_value=0.0)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, size, size, 3)).astype("float32")
    logits = discriminator(discriminator_inputs(images, generated), training=True)
    assert set(logits) == {"conditional"}
    assert logits["conditional"].shape == (B * T,) and logits["conditional"].dtype == "float32"
    assert np.isfinite(np.asarray(logits["conditional"])).all()
    assert len(discriminator.downsampling) == int(np.log2(size)) - 2
    wrapped = [isinstance(block.conv, keras.layers.SpectralNormalization)
               for block in discriminator.downsampling]
    assert wrapped == [spectral_norm] * len(wrapped)
    frozen = discriminator(discriminator_inputs(images, generated))["conditional"]
    padded = discriminator(discriminator_inputs(images, generator_inputs(padding_value=7.0)))
    np.testing.assert_array_equal(padded["conditional"], frozen)


def test_joint_discriminator_conditional_and_unconditional_logits(models_32):
    discriminator = models_32[1]
    assert isinstance(discriminator, JointDiscriminator)
    generated = generator_inputs(padding_value=0.0)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, 32, 32, 3)).astype("float32")
    logits = discriminator(discriminator_inputs(images, generated))
    assert {name: (v.shape, v.dtype) for name, v in logits.items()} == {
        "conditional": ((B * T,), "float32"), "unconditional": ((B * T,), "float32")}
    # Padded words do not count; other sentences change only the conditional logit.
    padded = discriminator(discriminator_inputs(images, generator_inputs(padding_value=7.0)))
    np.testing.assert_array_equal(padded["conditional"], logits["conditional"])
    other = discriminator(discriminator_inputs(images, generator_inputs(seed=1)))
    np.testing.assert_array_equal(other["unconditional"], logits["unconditional"])
    assert max_abs_diff(other["conditional"], logits["conditional"]) > 1e-6
    assert len(discriminator.trunk) == 3 and all(
        isinstance(block.conv, keras.layers.SpectralNormalization) and block.norm is None
        for block in discriminator.trunk)


@pytest.mark.parametrize("architecture, trunk", [("fusion", "shared"), ("joint", "shared"),
                                                  ("fusion", "separate"), ("joint", "separate")])
def test_character_classifier_gives_a_logit_per_character_and_frame(architecture, trunk):
    config = tiny_config(32).discriminator
    config.update(architecture=architecture, character_trunk=trunk)
    keras.utils.set_random_seed(0)
    plain = build_discriminator(config, D, 32)
    with_head = build_discriminator(config, D, 32, num_labels=4)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, 32, 32, 3)).astype("float32")
    logits = with_head(discriminator_inputs(images, generator_inputs()))
    assert logits["characters"].shape == (B * T, 4) and logits["characters"].dtype == "float32"
    assert np.isfinite(np.asarray(logits["characters"])).all()
    assert "characters" not in plain(discriminator_inputs(images, generator_inputs()))
    if architecture == "joint" or trunk == "separate":
        # Read from an image-only trunk: other sentences, same logits (the fusion D's own
        # features see the image only through the fusion map with the words).
        other = with_head(discriminator_inputs(images, generator_inputs(seed=1)))
        np.testing.assert_array_equal(other["characters"], logits["characters"])
    classifier = with_head.characters
    if trunk == "separate":
        assert len(classifier.trunk) == len(with_head.downsampling if architecture == "fusion"
                                            else with_head.trunk)
        assert not any(isinstance(block.conv, keras.layers.SpectralNormalization)
                       for block in classifier.trunk)
        assert not isinstance(classifier.head, keras.layers.SpectralNormalization)
    else:
        assert classifier.trunk is None
        assert isinstance(classifier.head, keras.layers.SpectralNormalization)


def test_minibatch_stddev_appends_each_groups_deviation():
    # 4 frames in groups of 2 take frames (0, 2) and (1, 3): the first pair differs by 2 in
    # every feature (deviation 1), the second is identical (deviation 0).
    x = np.zeros((4, 2, 2, 3), "float32")
    x[2] = 2.0
    x[1] = x[3] = 5.0
    out = np.asarray(MinibatchStddev(2)(x))
    assert out.shape == (4, 2, 2, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    np.testing.assert_allclose(out[..., 3], np.array([1.0, 0.0, 1.0, 0.0])[:, None, None] +
                               np.zeros((4, 2, 2)), atol=1e-4)
    # Fewer frames than the group size: one group of all of them.
    np.testing.assert_allclose(np.asarray(MinibatchStddev(8)(x[:2]))[..., 3], 2.5, atol=1e-4)
    with pytest.raises(ValueError, match="6 frames does not split into groups of 4"):
        MinibatchStddev(4)(np.zeros((6, 2, 2, 3), "float32"))
    with pytest.raises(ValueError, match="minibatch_stddev_group must be 0 .off. or >= 2"):
        MinibatchStddev(1)


@pytest.mark.parametrize("architecture", ["fusion", "joint"])
def test_minibatch_stddev_makes_the_real_fake_logits_see_the_batch(architecture):
    config = tiny_config(32).discriminator
    config.update(architecture=architecture, minibatch_stddev_group=2)
    keras.utils.set_random_seed(0)
    discriminator = build_discriminator(config, D, 32)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, 32, 32, 3)).astype("float32")
    logits = discriminator(discriminator_inputs(images, generator_inputs()))
    assert {name: value.shape for name, value in logits.items()} == {
        name: (B * T,) for name in logits}
    # Frame 0 unchanged, the rest of its batch replaced by copies of it: frame 0's logits move.
    alike = np.broadcast_to(images[:1, :1], images.shape).copy()
    moved = discriminator(discriminator_inputs(alike, generator_inputs()))
    for name in logits:
        assert abs(float(moved[name][0]) - float(logits[name][0])) > 1e-6


@pytest.mark.parametrize("architecture", ["fusion", "joint"])
def test_label_projection_adds_a_linear_term_per_present_character(architecture):
    config = tiny_config(32).discriminator
    config.update(architecture=architecture, label_projection=True)
    keras.utils.set_random_seed(0)
    discriminator = build_discriminator(config, D, 32, projection_labels=3)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, 32, 32, 3)).astype("float32")
    inputs = discriminator_inputs(images, generator_inputs())

    def logits(*present):
        labels = np.zeros((B * T, 3), "float32")
        labels[:, list(present)] = 1.0
        return discriminator({**inputs, "labels": labels})

    none, first, third, both = logits(), logits(0), logits(2), logits(0, 2)
    # sum_c y_c <e_c, phi(x)>: each character adds its own score, independently of the others.
    np.testing.assert_allclose(np.asarray(both["conditional"] - none["conditional"]),
                               np.asarray(first["conditional"] - none["conditional"]
                                          + third["conditional"] - none["conditional"]),
                               rtol=1e-4, atol=1e-5)
    worded = LENGTHS.reshape(-1) > 0   # the fusion D sees nothing of a frame without words
    assert np.abs(np.asarray(first["conditional"] - none["conditional"])[worded]).min() > 0
    if architecture == "joint":
        np.testing.assert_array_equal(first["unconditional"], none["unconditional"])
    with pytest.raises(KeyError, match="inputs need 'labels'"):
        discriminator(inputs)
    with pytest.raises(ValueError, match="labels have 2 characters, the discriminator was "
                                         "built for 3"):
        discriminator({**inputs, "labels": np.zeros((B * T, 2), "float32")})
    with pytest.raises(ValueError, match="label_projection needs the number of character labels"):
        build_discriminator(config, D, 32)


def test_story_condition_is_a_joint_discriminator_input():
    config = tiny_config(32).discriminator
    config.story_condition = True
    keras.utils.set_random_seed(0)
    discriminator = build_discriminator(config, D, 32)
    images = np.random.default_rng(0).uniform(-1, 1, (B, T, 32, 32, 3)).astype("float32")
    inputs = discriminator_inputs(images, generator_inputs())
    stories = np.random.default_rng(1).normal(size=(2, B * T, D)).astype("float32")
    first, second = (discriminator({**inputs, "story": story}) for story in stories)
    assert np.abs(np.asarray(first["conditional"] - second["conditional"])).min() > 0
    np.testing.assert_array_equal(first["unconditional"], second["unconditional"])
    with pytest.raises(KeyError, match="inputs need 'story'"):
        discriminator(inputs)
    config.architecture = "fusion"
    with pytest.raises(ValueError, match="story_condition needs the joint discriminator"):
        build_discriminator(config, D, 32)


def test_character_classifier_rejects_an_unknown_trunk():
    config = tiny_config(32).discriminator
    config.character_trunk = "own"
    with pytest.raises(ValueError, match="unknown discriminator.character_trunk 'own'"):
        build_discriminator(config, D, 32, num_labels=4)


def test_discriminator_rejects_bad_image_size_and_architecture():
    for architecture in ("fusion", "joint"):
        config = tiny_config().discriminator
        config.architecture = architecture
        with pytest.raises(ValueError, match="power of two"):
            build_discriminator(config, D, 100)
    config.architecture = "patch"
    with pytest.raises(ValueError, match="unknown discriminator.architecture 'patch'"):
        build_discriminator(config, D, 32)


# --- graphs, precision, weights -----------------------------------------------------------------

def test_models_trace_under_tf_function(models_32):
    generator, discriminator = models_32
    inputs = generator_inputs()

    @tf.function
    def forward(inputs):
        images = generator(inputs)["images"]
        return images, discriminator(discriminator_inputs(images, inputs))

    images, logits = forward(inputs)
    np.testing.assert_allclose(images, generator(inputs)["images"], atol=1e-5)
    assert logits["conditional"].shape == logits["unconditional"].shape == (B * T,)


def test_mixed_bfloat16_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        config = tiny_config(32)
        generator = StoryGenerator(config.generator, 32, T, D)
        discriminator = build_discriminator(config.discriminator, D, 32)
        generated = generator_inputs()
        out = generator(generated, training=True)
        logits = discriminator(discriminator_inputs(out["images"], generated), training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out["images"].dtype == "float32" and out["mu"].dtype == "float32"
    assert all(m.dtype == "float32" for m in out["relations"].values())
    assert all(v.dtype == "float32" and np.isfinite(np.asarray(v)).all()
               for v in logits.values())
    assert np.isfinite(np.asarray(out["images"])).all()


def test_weights_round_trip(tmp_path, models_32):
    generator, discriminator = models_32
    inputs = generator_inputs()
    # A training-mode pass moves batch-norm statistics and spectral-norm vectors off their
    # initial values, so the round trip covers non-trainable state too.
    discriminator(discriminator_inputs(generator(inputs, training=True)["images"], inputs),
                  training=True)
    images = generator(inputs)["images"]
    logits = discriminator(discriminator_inputs(images, inputs))
    generator.save_weights(str(tmp_path / "g.weights.h5"))
    discriminator.save_weights(str(tmp_path / "d.weights.h5"))

    keras.utils.set_random_seed(1)
    config = tiny_config(32)
    generator_2 = StoryGenerator(config.generator, 32, T, D)
    discriminator_2 = build_discriminator(config.discriminator, D, 32)
    assert max_abs_diff(generator_2(inputs)["images"], images) > 1e-4
    discriminator_2(discriminator_inputs(images, inputs))
    generator_2.load_weights(str(tmp_path / "g.weights.h5"))
    discriminator_2.load_weights(str(tmp_path / "d.weights.h5"))
    np.testing.assert_array_equal(generator_2(inputs)["images"], images)
    reloaded = discriminator_2(discriminator_inputs(images, inputs))
    for name in logits:
        np.testing.assert_array_equal(reloaded[name], logits[name])

"""The dynamic block (semantic-alignment paper, Sec. 3.1): Gumbel-softmax selection, the block's
modes, and the dynamic-block GAN's networks."""
import keras
import numpy as np
import pytest

from configs import dynamic_block as dynamic_block_config
from storyvis_tf.models.dynamic_block import (DynamicBlock, DynamicBlockDiscriminator,
                                              DynamicBlockGenerator, selection_probabilities)

N, H, C, L, D = 3, 4, 6, 5, 7


def _block_inputs(seed=0):
    rng = np.random.default_rng(seed)
    mask = np.arange(L)[None, :] < np.array([[2], [5], [3]])
    return (rng.normal(size=(N, H, H, C)).astype("float32"),
            rng.normal(size=(N, L, D)).astype("float32"), mask)


def test_selection_is_one_hot_at_inference_and_soft_in_training():
    correlation = np.array([2.0, -0.5, 0.1], "float32")
    hard = np.asarray(selection_probabilities(correlation, 1.0, training=False))
    np.testing.assert_array_equal(hard, [[1, 0], [0, 1], [1, 0]])   # p(SA) > p(WSA) iff w > 0.5
    gumbel = np.random.default_rng(0).gumbel(size=(3, 2)).astype("float32")
    soft = np.asarray(selection_probabilities(correlation, 1.0, training=True, gumbel=gumbel))
    np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-6)
    assert np.all((soft > 0) & (soft < 1))
    # Eq. 1 with tau = 1: softmax of (log w, log(1 - w)) + noise
    w = 1 / (1 + np.exp(-correlation))
    logits = np.stack([np.log(w), np.log(1 - w)], -1) + gumbel
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(soft, expected, rtol=1e-5)


def test_lower_temperature_selects_more_sharply():
    correlation = np.linspace(-1, 1, 50).astype("float32")
    gumbel = np.random.default_rng(1).gumbel(size=(50, 2)).astype("float32")

    def sharpness(tau):
        p = np.asarray(selection_probabilities(correlation, tau, training=True, gumbel=gumbel))
        return np.mean(np.abs(p[:, 0] - 0.5))

    assert sharpness(0.1) > sharpness(1.0) > sharpness(10.0)


@pytest.mark.parametrize("modes", ["both", "self", "word", "none"])
def test_block_shapes_and_selection_per_mode(modes):
    keras.utils.set_random_seed(0)
    features, words, mask = _block_inputs()
    block = DynamicBlock(modes, temperature=0.5)
    trained = block(features, words, mask, training=True)
    inferred = block(features, words, mask, training=False)
    assert trained["features"].shape == (N, H, H, C)
    selection = np.asarray(inferred["selection"])
    if modes == "none":
        np.testing.assert_array_equal(np.asarray(inferred["features"]), features)
        assert not block.weights
    else:
        assert set(np.unique(selection)) <= {0.0, 1.0}
        np.testing.assert_array_equal(selection.sum(-1), 1.0)
    if modes == "both":
        soft = np.asarray(trained["selection"])
        assert np.all((soft > 0) & (soft < 1))
    if modes in ("self", "word"):
        np.testing.assert_array_equal(selection[:, 0], float(modes == "self"))


def test_padded_words_do_not_change_the_block():
    keras.utils.set_random_seed(0)
    features, words, mask = _block_inputs()
    block = DynamicBlock("word")
    before = np.asarray(block(features, words, mask)["features"])
    words = np.where(mask[..., None], words, 100.0).astype("float32")
    np.testing.assert_allclose(np.asarray(block(features, words, mask)["features"]), before,
                               rtol=1e-5, atol=1e-5)


def test_bad_switches_name_the_field():
    with pytest.raises(ValueError, match="model.dynamic_block.modes"):
        DynamicBlock("cross")
    with pytest.raises(ValueError, match="model.dynamic_block.temperature"):
        DynamicBlock("both", temperature=0.0)
    config = tiny_config()
    config.model.dynamic_block.discriminator_resolutions = (32,)
    with pytest.raises(ValueError, match="discriminator_resolutions"):
        DynamicBlockDiscriminator(config)


def tiny_config():
    config = dynamic_block_config.get_config()
    config.data.image_size, config.data.frames_per_story = 16, 2
    config.generator.base_channels = config.discriminator.base_channels = 4
    config.generator.noise_dim = 3
    config.model.dynamic_block.generator_resolutions = (8, 16)
    config.model.dynamic_block.discriminator_resolutions = (8, 4)
    return config


def test_generator_and_discriminator_shapes_with_and_without_blocks():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    words = rng.normal(size=(2, 2, L, D)).astype("float32")
    inputs = {"noise": rng.normal(size=(2, 3)).astype("float32"),
              "sentence": rng.normal(size=(2, 2, D)).astype("float32"), "words": words,
              "word_mask": np.ones((2, 2, L), bool)}
    for in_networks in (True, False):
        config = tiny_config()
        config.model.dynamic_block.in_generator = in_networks
        config.model.dynamic_block.in_discriminator = in_networks
        out = DynamicBlockGenerator(config)(inputs, training=True)
        assert out["images"].shape == (2, 2, 16, 16, 3)
        assert sorted(out["selections"]) == ([8, 16] if in_networks else [])
        discriminator = DynamicBlockDiscriminator(config)
        logits = discriminator({"images": np.reshape(out["images"], (4, 16, 16, 3)),
                                "words": words.reshape(4, L, D),
                                "word_mask": np.ones((4, L), bool),
                                "sentence": inputs["sentence"].reshape(4, D)}, training=True)
        assert logits["conditional"].shape == (4,)
        assert len(discriminator.dynamic_blocks) == (2 if in_networks else 0)

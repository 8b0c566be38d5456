"""Model families (config.model.family): StoryGAN's blocks and objective, GAN-INT text
interpolation, one train step of each family, and train -> export -> generate for each."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from configs import dynamic_block as dynamic_block_config
from configs import smoke
from configs import storygan as storygan_config
from storyvis_tf.export import savedmodel
from storyvis_tf.losses.gan import kl_loss
from storyvis_tf.models.storygan_baseline import (ContextEncoder, StoryDiscriminator,
                                                  StoryEncoder, StoryGANDiscriminator,
                                                  StoryGANGenerator, Text2Gist, dynamic_filter)
from storyvis_tf.models.text_interpolation import interpolated_text
from storyvis_tf.text.vocabulary import Vocabulary
from storyvis_tf.training import families, run_dir, storygan_objectives
from storyvis_tf.training.story_gan import build_story_gan, loss_term_names

VOCAB, LENGTH, D = 12, 5, 16


def tiny_config(module, frames=2):
    """A family's CPU config at toy widths on 16x16 frames (smoke encoders)."""
    config = module.get_config()
    small = smoke.get_config()
    config.text_encoder, config.image_encoder = small.text_encoder, small.image_encoder
    config.data.image_size, config.data.frames_per_story = 16, frames
    config.data.max_sentence_length = LENGTH
    config.generator.update(dict(noise_dim=4, condition_dim=6, base_channels=4))
    config.discriminator.base_channels = 4
    config.model.storygan.update(dict(gru_units=5, gist_filter_width=3,
                                      discriminator_condition_dim=6, story_embedding_dim=6))
    config.model.dynamic_block.generator_resolutions = (8, 16)
    config.model.dynamic_block.discriminator_resolutions = (8,)
    config.train.batch_size, config.train.jit_compile = 2, False
    return config


FAMILY_CONFIGS = {"storygan": storygan_config, "dynamic_block": dynamic_block_config}


def random_batch(config, stories=2, seed=0):
    rng = np.random.default_rng(seed)
    frames, size = config.data.frames_per_story, config.data.image_size
    return {"images": rng.uniform(-1, 1, (stories, frames, size, size, 3)).astype("float32"),
            "token_ids": rng.integers(1, VOCAB, (stories, frames, LENGTH)).astype("int32"),
            "labels": np.zeros((stories, frames, 3), "float32")}


def test_text2gist_shapes_and_dynamic_filter_is_a_convolution():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, 7)).astype("float32")
    filters = rng.normal(size=(2, 3, 4)).astype("float32")
    expected = np.stack([np.stack([np.convolve(h[b], filters[b, ::-1, k], mode="same")
                                   for k in range(4)], -1) for b in range(2)]).reshape(2, 28)
    np.testing.assert_allclose(np.asarray(dynamic_filter(h, filters)), expected, rtol=1e-5,
                               atol=1e-6)
    gist, context = Text2Gist(7, filters=4, filter_width=3)(rng.normal(size=(2, 5)), h)
    assert gist.shape == (2, 28) and context.shape == (2, 7)
    with pytest.raises(ValueError, match="gist_filter_width"):
        Text2Gist(7, 4, 4)


def test_story_and_context_encoder_shapes():
    rng = np.random.default_rng(0)
    sentences = rng.normal(size=(2, 3, D)).astype("float32")
    story = StoryEncoder(6)(sentences, training=True)
    assert {k: tuple(v.shape) for k, v in story.items()} == {
        "condition": (2, 6), "mu": (2, 6), "logvar": (2, 6)}
    gists = ContextEncoder(5, 6, filters=2, filter_width=3)(sentences, story["condition"])
    assert gists.shape == (2, 3, 12)


def test_kl_of_known_mu_and_sigma():
    mu = np.array([[1.0, 0.0]], "float32")
    sigma = np.array([[1.0, 2.0]], "float32")
    # KL(N(mu, sigma^2) || N(0, 1)) per dimension: (sigma^2 + mu^2 - 1 - log sigma^2) / 2
    expected = np.mean((sigma ** 2 + mu ** 2 - 1 - np.log(sigma ** 2)) / 2)
    np.testing.assert_allclose(float(kl_loss(mu, np.log(sigma ** 2))), expected, rtol=1e-6)


def test_storygan_networks_shapes_and_objective():
    config = tiny_config(storygan_config, frames=3)
    rng = np.random.default_rng(0)
    inputs = {"noise": rng.normal(size=(2, 4)).astype("float32"),
              "sentence": rng.normal(size=(2, 3, D)).astype("float32"),
              "story": rng.normal(size=(2, D)).astype("float32")}
    generated = StoryGANGenerator(config)(inputs, training=True)
    assert generated["images"].shape == (2, 3, 16, 16, 3)
    assert generated["mu"].shape == generated["logvar"].shape == (2, 6)
    logits = StoryGANDiscriminator(config)({"images": generated["images"], **inputs})
    assert logits["image"].shape == (2, 3) and logits["story"].shape == (2,)
    terms = {"image": 1.0, "story": 2.0, "kl": 3.0, "interpolation": 4.0}
    config.model.storygan.update(dict(image_weight=0.5, story_weight=0.25))
    config.losses.kl_weight = 2.0
    assert storygan_objectives.storygan_objective(terms, config) == 0.5 * 5.0 + 0.25 * 2.0 + 6.0


def test_story_discriminator_prefers_matched_stories_after_training():
    """D_S learns matched (story images, story sentences) -> 1 and shuffled -> 0 on a toy batch
    where each story's frames are tinted by its sentences."""
    keras.utils.set_random_seed(0)
    config = tiny_config(storygan_config)
    rng = np.random.default_rng(0)
    sentences = rng.normal(size=(4, 2, D)).astype("float32")
    tint = np.tanh(sentences[..., :3])[:, :, None, None, :]
    images = np.clip(tint + 0.1 * rng.normal(size=(4, 2, 16, 16, 3)), -1, 1).astype("float32")
    shuffled = np.roll(sentences, 1, axis=0)
    discriminator = StoryDiscriminator(config, 8)
    optimizer = keras.optimizers.Adam(1e-3)

    def scores():
        return (np.asarray(discriminator(images, sentences)),
                np.asarray(discriminator(images, shuffled)))

    for _ in range(30):
        with tf.GradientTape() as tape:
            matched, mismatched = (discriminator(images, s, training=True)
                                   for s in (sentences, shuffled))
            loss = tf.reduce_mean(tf.nn.softplus(-matched) + tf.nn.softplus(mismatched))
        variables = discriminator.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
    matched, mismatched = scores()
    assert np.all(matched > mismatched), (matched, mismatched)


def test_text_interpolation_mixes_neighbouring_stories():
    rng = np.random.default_rng(0)
    inputs = {"noise": rng.normal(size=(3, 2)), "sentence": rng.normal(size=(3, 2, 4)),
              "story": rng.normal(size=(3, 4)), "words": rng.normal(size=(3, 2, 5, 4)),
              "word_mask": rng.random((3, 2, 5)) < 0.5}
    mixed = interpolated_text(inputs, 0.25)
    np.testing.assert_allclose(np.asarray(mixed["sentence"][1]),
                               0.25 * inputs["sentence"][1] + 0.75 * inputs["sentence"][0],
                               rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(mixed["word_mask"][0]),
                                  inputs["word_mask"][0] | inputs["word_mask"][2])
    np.testing.assert_array_equal(np.asarray(mixed["noise"]), inputs["noise"])


def test_families_refuse_unknown_names_and_unimplemented_switches():
    config = tiny_config(storygan_config)
    config.model.family = "vqgan"
    with pytest.raises(ValueError, match="model.family"):
        families.build_generator(config)
    config = tiny_config(storygan_config)
    config.losses.r1_gamma = 0.3
    with pytest.raises(ValueError, match="losses.r1_gamma"):
        families.build_generator(config)
    config = tiny_config(dynamic_block_config)
    config.generator.attention = "bwsa"
    with pytest.raises(ValueError, match="generator.attention"):
        families.build_generator(config)


@pytest.mark.parametrize("family,frames,interpolation", [
    ("storygan", 2, False), ("storygan", 1, True), ("dynamic_block", 2, True)])
def test_train_step_moves_both_networks_with_finite_losses(family, frames, interpolation):
    """frames = 1: a story of one frame, the single-image text-to-image model (GAN-INT-CLS with
    interpolation on)."""
    keras.utils.set_random_seed(0)
    config = tiny_config(FAMILY_CONFIGS[family], frames)
    config.model.text_interpolation = interpolation
    gan = build_story_gan(config, VOCAB, LENGTH)
    before = {name: [np.array(v.numpy()) for v in getattr(gan, name).trainable_variables]
              for name in ("generator", "discriminator")}
    logs = gan.train_step(random_batch(config))
    names = loss_term_names(config)
    assert set(logs) == {f"{side}_{term}" for side in names for term in names[side]}
    assert ("g_interpolation" in logs) == interpolation
    assert all(np.isfinite(float(value)) for value in logs.values())
    for name, values in before.items():
        after = getattr(gan, name).trainable_variables
        assert any(not np.array_equal(b, v.numpy()) for b, v in zip(values, after)), name


def test_trainer_reports_parameters_next_to_the_paper():
    config = tiny_config(dynamic_block_config)
    lines = families.parameter_report(config, {"generator": 2_500_000, "discriminator": 10})
    assert lines[0].startswith("generator (dynamic_block): 2.50 M")
    assert "paper: 25.1 M" in lines[0] and "paper: 23.5 M" in lines[1]


@pytest.mark.slow
@pytest.mark.parametrize("family", ["storygan", "dynamic_block"])
def test_run_directory_exports_and_generates(family, tmp_path):
    """Freshly built networks of each family -> run directory -> SavedModel; the export serves
    sentences with the shared signature and reproduces the in-process generator."""
    keras.utils.set_random_seed(0)
    config = tiny_config(FAMILY_CONFIGS[family])
    config.model.text_interpolation = True
    vocabulary = Vocabulary.from_sentences(["pororo plays with crong", "a b c"])
    text_encoder, generator = run_dir.build_generation_models(config, len(vocabulary), LENGTH)
    run = str(tmp_path / "run")
    run_dir.save_generation_artifacts(run, config, vocabulary, text_encoder, generator,
                                      {"max_sentence_length": LENGTH, "step": 1, "epoch": 1})
    exported = savedmodel.export_generator(run, str(tmp_path / "export"))
    assert os.path.basename(exported) == "1"
    served = tf.saved_model.load(exported).signatures["serving_default"](
        sentences=tf.constant([["pororo plays", "crong"]]), seed=tf.constant(3, tf.int64))
    assert served["images"].shape == (1, 2, 16, 16, 3) and served["images"].dtype == tf.uint8
    _, _, _, loaded_encoder, loaded_generator = run_dir.load_run(run)
    token_ids = np.array([[vocabulary.encode("pororo plays") + [0] * 3,
                           vocabulary.encode("crong") + [0] * 4]], np.int32)
    noise = tf.random.stateless_normal([config.generator.noise_dim], seed=[3, 0])[None]
    images = run_dir.generate_images(loaded_encoder, loaded_generator, token_ids, noise)
    pixels = np.round(np.clip((np.asarray(images) + 1) * 127.5, 0, 255))
    np.testing.assert_allclose(served["images"].numpy(), pixels, atol=1)

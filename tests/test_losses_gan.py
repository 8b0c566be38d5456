"""Adversarial losses (Eq. 8, 10), the character classification term and the
conditioning-augmentation KL against closed forms."""
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.losses import (character_loss, discriminator_gan_loss, generator_gan_loss,
                               kl_loss)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_undecided_discriminator_costs_log_2_per_term():
    zeros = np.zeros((2, 5), np.float32)
    assert float(discriminator_gan_loss(zeros, zeros)) == pytest.approx(2 * np.log(2), rel=1e-6)
    assert float(generator_gan_loss(zeros)) == pytest.approx(np.log(2), rel=1e-6)


def test_gan_losses_match_binary_cross_entropy_averaged_over_frames_and_stories():
    rng = np.random.RandomState(0)
    real, fake = rng.randn(2, 3, 5).astype(np.float64)
    expected_d = np.mean(-np.log(_sigmoid(real))) + np.mean(-np.log(1 - _sigmoid(fake)))
    expected_g = np.mean(-np.log(_sigmoid(fake)))
    assert float(discriminator_gan_loss(real.astype(np.float32), fake.astype(np.float32))) == (
        pytest.approx(expected_d, rel=1e-5))
    assert float(generator_gan_loss(fake.astype(np.float32))) == pytest.approx(expected_g,
                                                                               rel=1e-5)


def test_mismatched_pairs_share_the_negative_side_with_the_fakes():
    # GAN-INT-CLS: -log D(real) - (log(1 - D(fake)) + log(1 - D(mismatched))) / 2.
    real, fake, mismatched = (np.full((2, 5), value, np.float32) for value in (0.0, -30.0, 2.0))
    expected = np.log(2) + (np.log1p(np.exp(-30.0)) + np.log1p(np.exp(2.0))) / 2
    assert float(discriminator_gan_loss(real, fake, mismatched)) == pytest.approx(expected,
                                                                                  rel=1e-6)


def test_extreme_logits_give_finite_losses_and_gradients():
    real = tf.Variable(np.array([[1e4, -1e4]], np.float32))
    fake = tf.Variable(np.array([[-1e4, 1e4]], np.float32))
    with tf.GradientTape(persistent=True) as tape:
        d_loss = discriminator_gan_loss(real, fake)
        g_loss = generator_gan_loss(fake)
    # One confident-right and one confident-wrong frame per side: mean 1e4 / 2 each.
    assert float(d_loss) == pytest.approx(1e4, rel=1e-6)
    assert float(g_loss) == pytest.approx(5e3, rel=1e-6)
    for loss in (d_loss, g_loss):
        for gradient in tape.gradient(loss, [real, fake]):
            assert gradient is None or np.all(np.isfinite(gradient.numpy()))


def test_kl_is_zero_at_the_prior_and_the_per_dimension_gaussian_kl_elsewhere():
    zeros = np.zeros((4, 3), np.float32)
    assert float(kl_loss(zeros, zeros)) == 0.0
    rng = np.random.RandomState(1)
    mu, logvar = rng.randn(2, 4, 3)
    sigma = np.exp(0.5 * logvar)
    # KL(N(mu, sigma^2) || N(0, 1)) per dimension = -log sigma + (sigma^2 + mu^2) / 2 - 1/2.
    per_dimension = -np.log(sigma) + (sigma ** 2 + mu ** 2) / 2 - 0.5
    assert float(kl_loss(mu.astype(np.float32), logvar.astype(np.float32))) == pytest.approx(
        per_dimension.mean(), rel=1e-5)


def test_character_loss_is_binary_cross_entropy_averaged_over_characters_and_frames():
    # PyTorch's MultiLabelSoftMarginLoss, the StoryGAN code line's: mean over the C characters of
    # -y log sigmoid(x) - (1 - y) log(1 - sigmoid(x)), then over frames and stories.
    rng = np.random.RandomState(2)
    logits = rng.randn(2, 3, 4)
    labels = (rng.rand(2, 3, 4) < 0.4).astype(np.float64)
    expected = np.mean(-labels * np.log(_sigmoid(logits))
                       - (1 - labels) * np.log(1 - _sigmoid(logits)))
    assert float(character_loss(logits.astype(np.float32), labels.astype(np.float32))) == (
        pytest.approx(expected, rel=1e-5))
    # Undecided: log 2 whatever the labels; confidently right: ~0; confident and wrong: large.
    assert float(character_loss(np.zeros((1, 4), np.float32), labels[0, :1].astype(np.float32))
                 ) == pytest.approx(np.log(2), rel=1e-6)
    right = np.where(labels > 0, 30.0, -30.0).astype(np.float32)
    assert float(character_loss(right, labels.astype(np.float32))) < 1e-12
    assert float(character_loss(-right, labels.astype(np.float32))) == pytest.approx(30.0,
                                                                                     rel=1e-6)

"""Fréchet distance (FID / FSD): closed forms, the singular fallback, the imaginary-part rule."""
import numpy as np
import pytest

from storyvis_tf.evaluation.frechet import (feature_statistics, frechet_distance,
                                            frechet_distance_from_statistics)


def _random_covariance(rng, dim):
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def test_identical_feature_sets_are_at_distance_zero():
    features = np.random.default_rng(0).normal(size=(300, 16))
    assert abs(frechet_distance(features, features)) < 1e-6


def test_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3.0, size=6), rng.uniform(0.1, 3.0, size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2.0 * np.sqrt(s1 * s2))
    got = frechet_distance_from_statistics(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_equal_covariances_leave_only_the_mean_term():
    rng = np.random.default_rng(2)
    sigma = _random_covariance(rng, 8)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    got = frechet_distance_from_statistics(mu1, sigma, mu2, sigma)
    assert got == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-8)


def test_distance_is_symmetric_for_full_covariances():
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
    sigma1, sigma2 = _random_covariance(rng, 10), _random_covariance(rng, 10)
    forward = frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2)
    backward = frechet_distance_from_statistics(mu2, sigma2, mu1, sigma1)
    assert forward > 0
    assert forward == pytest.approx(backward, rel=1e-8)


def test_sampled_features_approach_the_population_distance():
    rng = np.random.default_rng(4)
    a = rng.normal(loc=0.0, scale=1.0, size=(20000, 3))
    b = rng.normal(loc=1.0, scale=2.0, size=(20000, 3))
    # 3 * (1^2) + 3 * (1 + 4 - 2 * 2) = 6
    assert frechet_distance(a, b) == pytest.approx(6.0, abs=0.15)


def test_feature_statistics_use_the_unbiased_covariance_over_rows():
    features = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, sigma = feature_statistics(features)
    np.testing.assert_allclose(mu, [2.0, 2.0])
    np.testing.assert_allclose(sigma, np.cov(features.T))
    assert sigma[0, 0] == pytest.approx(4.0)


def test_fewer_samples_than_features_gives_a_finite_distance():
    rng = np.random.default_rng(5)
    distance = frechet_distance(rng.normal(size=(5, 32)), rng.normal(size=(6, 32)))
    assert np.isfinite(distance)


def test_singular_product_falls_back_to_the_eps_offset():
    mu = np.zeros(3)
    sigma1, sigma2 = np.diag([1.0, 0.0, 4.0]), np.diag([4.0, 0.0, 1.0])
    # The shared zero-variance feature makes sigma1 sigma2 singular: the square root is taken of
    # (sigma1 + eps I)(sigma2 + eps I), the traces stay those of sigma1 and sigma2.
    eps = 0.01
    expected = 10.0 - 2.0 * (2.0 * np.sqrt((1.0 + eps) * (4.0 + eps)) + eps)
    assert frechet_distance_from_statistics(mu, sigma1, mu, sigma2, eps=eps) == pytest.approx(
        expected, rel=1e-10)
    # With the default eps the fallback is negligible: the exact distance is 1 + 1 = 2.
    assert frechet_distance_from_statistics(mu, sigma1, mu, sigma2) == pytest.approx(2.0, abs=1e-4)


def test_large_imaginary_component_raises():
    # A "covariance" with a negative eigenvalue: sqrtm of the product has imaginary part 1.
    with pytest.raises(ValueError, match="imaginary component"):
        frechet_distance_from_statistics(np.zeros(2), np.diag([-1.0, 1.0]), np.zeros(2), np.eye(2))


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="means have different shapes"):
        frechet_distance_from_statistics(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="at least 2 feature rows"):
        feature_statistics(np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"\[N, F\]"):
        feature_statistics(np.zeros(4))

"""The Fréchet distance between two Gaussians fitted to feature sets: one function for FID (frame
features) and FSD (story features), computed as the field's scorers do (pytorch-fid / TTUR).

NumPy/SciPy in float64, outside any graph: the matrix square root of a 2048 x 2048 product is
numerically delicate and cheap next to feature extraction.
"""
import warnings

import numpy as np
import scipy.linalg

# The field discards an imaginary part of sqrtm up to this size on the diagonal (numerical noise)
# and fails above it (the covariances are not what they should be).
_MAX_IMAGINARY_COMPONENT = 1e-3


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a feature set.

    Args:
      features: `[N, F]` array, one row per frame (FID) or story (FSD); N >= 2.

    Returns:
      `(mu [F], sigma [F, F])` in float64; sigma is the unbiased sample covariance
      (`np.cov(..., rowvar=False)`), as in the field's reference statistics.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be a [N, F] array, got shape {features.shape}")
    if features.shape[0] < 2:
        raise ValueError(f"a covariance needs at least 2 feature rows, got {features.shape[0]}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

        d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2))

    If the product is singular (SciPy reports it) or its square root is not finite, both
    covariances get `eps * I` added first, the field's fallback. An imaginary part of the square
    root is numerical noise when its largest magnitude on the diagonal is <= 1e-3 and is dropped;
    a larger one raises.

    Args:
      mu1, mu2: `[F]` means.
      sigma1, sigma2: `[F, F]` covariances.
      eps: diagonal offset of the singular-product fallback.

    Returns:
      The squared Fréchet distance as a Python float (what FID/FSD report).
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape:
        raise ValueError(f"the means have different shapes: {mu1.shape} vs {mu2.shape}")
    expected = (mu1.shape[0], mu1.shape[0])
    if sigma1.shape != expected or sigma2.shape != expected:
        raise ValueError(f"the covariances must be {expected} to match the means, got "
                         f"{sigma1.shape} and {sigma2.shape}")

    covmean = _sqrtm_of_product(sigma1, sigma2)
    if covmean is None:
        offset = np.eye(mu1.shape[0]) * eps
        covmean = _sqrtm_of_product(sigma1 + offset, sigma2 + offset)
        if covmean is None:
            raise ValueError(f"sqrtm(sigma1 sigma2) is singular or not finite even with {eps} * I "
                             "added to both covariances; check the features for NaN/inf")
    if np.iscomplexobj(covmean):
        largest = np.max(np.abs(np.diagonal(covmean).imag))
        if largest > _MAX_IMAGINARY_COMPONENT:
            raise ValueError(f"sqrtm(sigma1 sigma2) has an imaginary component of {largest:.3g} on "
                             f"its diagonal (> {_MAX_IMAGINARY_COMPONENT}): the covariances are "
                             "not positive semi-definite")
        covmean = covmean.real

    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between two feature sets `[N_a, F]` and `[N_b, F]` (FID / FSD)."""
    mu_a, sigma_a = feature_statistics(features_a)
    mu_b, sigma_b = feature_statistics(features_b)
    return frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b)


def _sqrtm_of_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray | None:
    """sqrtm(sigma1 sigma2), or None when SciPy finds the product singular or the root is not
    finite (a singular product can yield a finite but meaningless root, e.g. 1e291 entries)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        except scipy.linalg.LinAlgWarning:
            return None
    return covmean if np.isfinite(covmean).all() else None

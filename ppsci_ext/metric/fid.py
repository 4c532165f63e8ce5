"""Fréchet Inception Distance (Heusel et al. 2017) between Gaussian fits of features.

FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), in float64, with the
matrix square root from ``scipy.linalg.sqrtm``. As in the reference TTUR and
pytorch-fid code, a product that is too close to singular for a finite root
is retried with ``eps * I`` added to both covariances, and an imaginary part
left by round-off is dropped only when it is negligible.
"""

from __future__ import annotations

import warnings
from typing import Tuple

import numpy as np
import scipy.linalg

from ppsci_ext.errors import UserError


def feature_statistics(features) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof=1``, as ``np.cov``) of ``[N, D]`` features, in float64.

    Args:
        features: ``[N, D]`` array, N >= 2.

    Returns:
        Tuple[np.ndarray, np.ndarray]: ``mu`` ``[D]`` and ``sigma`` ``[D, D]``.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise UserError(f"FID statistics need [N, D] features with N >= 2, got shape {f.shape}.")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # A singular product is handled below by checking the result, not by scipy's warning.
        warnings.simplefilter("ignore")
        return scipy.linalg.sqrtm(a)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6, imag_atol: float = 1e-3) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1: Mean ``[D]`` of the first set (e.g. generated images).
        sigma1: Covariance ``[D, D]`` of the first set.
        mu2: Mean ``[D]`` of the second set (e.g. real images).
        sigma2: Covariance ``[D, D]`` of the second set.
        eps (float): Offset added to the diagonals when the square root of
            the product is not finite. Defaults to 1e-6.
        imag_atol (float): Largest imaginary part allowed on the diagonal of
            the square root before it is an error. Defaults to 1e-3.

    Returns:
        float: The distance (0 for equal statistics).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric import frechet_distance
        >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)
        4.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != mu2.shape or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise UserError(
            f"FID statistics do not match: mu {mu1.shape} / {mu2.shape}, sigma {sigma1.shape} / {sigma2.shape}; "
            "both sets must come from the same network layer (pool3, 2048 features)."
        )
    for name, value in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(value)):
            raise UserError(f"FID got non-finite {name}; check the images and the statistics file.")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(d) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(np.diagonal(covmean).imag).max()
        if imag > imag_atol:
            raise UserError(
                f"FID: the matrix square root has an imaginary part of {imag:.3g}; the covariances are "
                "ill-conditioned, usually because there are fewer images than features (2048). Use more images."
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))

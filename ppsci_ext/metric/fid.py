"""Fréchet Inception Distance (Heusel et al. 2017) between Gaussian fits of features.

FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), in float64. Only
the trace of the square root is needed, and for covariances (symmetric,
positive semi-definite) the eigenvalues of S1 S2 are those of the symmetric
S1^(1/2) S2 S1^(1/2), so

    tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i(S1^(1/2) S2 S1^(1/2)))

with S1 = F F^T: the eigenvalues of F^T S2 F are those of S1 S2. F is the
Cholesky factor of S1 (or, for a singular S1, its symmetric square root by
an eigen-decomposition), and one symmetric eigenvalue decomposition of
F^T S2 F gives the sum (``trace_sqrt_product``). On this
project's 2-core CPU that is many times faster than ``scipy.linalg.sqrtm`` of
the 2048x2048 product, which the reference TTUR / pytorch-fid code uses, and
agrees with it far below 1e-6 relative (``benchmarks/sqrtm.py``,
docs/metrics.md). It also needs no ``eps * I`` retry for singular products
(fewer images than features): rounding below zero is clipped to zero.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.progress import progress

# An eigenvalue below -NEGATIVE_TOL times the largest one means the matrix is not a covariance.
NEGATIVE_TOL = 1e-6


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


def _clipped(w: np.ndarray, name: str) -> np.ndarray:
    """Ascending eigenvalues ``w`` of a covariance with rounding below zero clipped; a clearly negative one is an error."""
    if w[0] < -NEGATIVE_TOL * max(abs(w[-1]), 1e-300):
        raise UserError(f"FID: {name} is not a covariance matrix (it has the eigenvalue {w[0]:.3g}, the largest "
                        f"being {w[-1]:.3g}); check the images and the statistics file.")
    return np.clip(w, 0.0, None)


def trace_sqrt_product(sigma1, sigma2, what: Optional[str] = None) -> float:
    """``tr((sigma1 @ sigma2)^(1/2))`` of two covariance matrices: the eigenvalues of ``F^T sigma2 F``, ``F F^T = sigma1``.

    Args:
        sigma1: Symmetric positive semi-definite ``[D, D]``.
        sigma2: Symmetric positive semi-definite ``[D, D]``.
        what (Optional[str]): Label of the progress bar (two steps) shown when it takes a while;
            None shows none. Defaults to None.

    Returns:
        float: The trace.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.fid import trace_sqrt_product
        >>> round(trace_sqrt_product(np.diag([1.0, 4.0]), np.diag([9.0, 1.0])), 6)  # sqrt(9) + sqrt(4)
        5.0
    """
    s1 = np.asarray(sigma1, dtype=np.float64)
    s2 = np.asarray(sigma2, dtype=np.float64)
    bar = progress(2, what, unit="step") if what else None
    try:
        factor = _factor(s1)
        if bar is not None:
            bar.update(1)
        m = factor.T @ s2 @ factor
        lam = _clipped(np.linalg.eigvalsh((m + m.T) / 2.0), "the second covariance")
        if bar is not None:
            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return float(np.sqrt(lam).sum())


def _factor(s1: np.ndarray) -> np.ndarray:
    """F with F F^T = s1: the Cholesky factor, or for a singular s1 (fewer samples than features) its root."""
    try:
        return np.linalg.cholesky(s1)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh((s1 + s1.T) / 2.0)
        return (v * np.sqrt(_clipped(w, "the first covariance"))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2, what: Optional[str] = "FID matrix square root") -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1: Mean ``[D]`` of the first set (e.g. generated images).
        sigma1: Covariance ``[D, D]`` of the first set.
        mu2: Mean ``[D]`` of the second set (e.g. real images).
        sigma2: Covariance ``[D, D]`` of the second set.
        what (Optional[str]): Label of the square root's progress bar (shown only when it takes
            a while); None shows none. Defaults to "FID matrix square root".

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
    covmean_trace = trace_sqrt_product(sigma1, sigma2, what)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * covmean_trace)

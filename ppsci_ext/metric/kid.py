"""Kernel Inception Distance (Binkowski et al. 2018): unbiased polynomial-kernel MMD^2.

With k(x, y) = (x . y / d + 1)^3 on d-dimensional features, each of
``num_subsets`` random subsets of ``subset_size`` features from each set
(drawn without replacement) gives the unbiased estimate

    MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
            - 2 sum_{i, j} k(x_i, y_j) / m^2,

and KID is the mean and standard deviation (``ddof=0``) over the subsets.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ppsci_ext.errors import UserError, check_positive
from ppsci_ext.progress import progress


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def polynomial_mmd2(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 of two equally sized feature sets with k(x, y) = (x . y / d + coef0) ^ degree."""
    m, d = x.shape
    kxx = (x @ x.T / d + coef0) ** degree
    kyy = (y @ y.T / d + coef0) ** degree
    kxy = (x @ y.T / d + coef0) ** degree
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.mean())


def kernel_inception_distance(
    features1, features2, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> Tuple[float, float]:
    """KID: mean and standard deviation of the unbiased polynomial MMD^2 over random subsets.

    Args:
        features1: ``[N1, D]`` features of the first set (e.g. generated images).
        features2: ``[N2, D]`` features of the second set (e.g. real images).
        num_subsets (int): Number of subsets. Defaults to 100.
        subset_size (int): Samples per subset from each set, at most min(N1, N2).
            Defaults to 1000.
        seed (int): Seed of the subset draws, so repeated calls agree. Defaults to 0.

    Returns:
        Tuple[float, float]: Mean and standard deviation of MMD^2 over the subsets.

    Examples:
        >>> from ppsci_ext.metric import kernel_inception_distance
        >>> kernel_inception_distance([[0.0], [0.0]], [[1.0], [1.0]], num_subsets=1, subset_size=2)
        (7.0, 0.0)
    """
    f1 = np.asarray(features1, dtype=np.float64)
    f2 = np.asarray(features2, dtype=np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise UserError(f"KID needs [N, D] features of equal D, got shapes {f1.shape} and {f2.shape}.")
    limit = min(len(f1), len(f2))
    if not _is_int(subset_size) or not 2 <= subset_size <= limit:
        raise UserError(
            f"KID subset_size must be an integer in [2, {limit}] (the size of the smaller set), got "
            f"{subset_size!r}; use more images or a smaller subset size."
        )
    check_positive(num_subsets, "KID num_subsets", whole=True)
    rng = np.random.default_rng(seed)
    values = []
    with progress(num_subsets, "KID subsets", unit="subset") as bar:
        for _ in range(num_subsets):
            values.append(polynomial_mmd2(f1[rng.choice(len(f1), subset_size, replace=False)],
                                          f2[rng.choice(len(f2), subset_size, replace=False)]))
            bar.update(1)
    return float(np.mean(values)), float(np.std(values))

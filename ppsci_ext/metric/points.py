"""Metrics for the user's own N x D points (``DATA.mode=file``): sliced Wasserstein distance and MMD.

Both compare generated with real points in any dimension D >= 1. The
experiment gives them the points in the standardised space of the data (every
dimension with mean 0 and standard deviation 1), so every dimension weighs
equally whatever its units.

- ``swd``: ``metric.toy.sliced_wasserstein`` (256 random unit directions of
  R^D; in 1-D it is the Wasserstein-1 distance itself).
- ``mmd``: the unbiased estimate of the squared maximum mean discrepancy
  (Gretton et al. 2012) with a Gaussian kernel averaged over five bandwidths
  half a decade apart, ``k(x, y) = mean_s exp(-|x - y|^2 / (2 (s h)^2))`` for
  ``s`` in (0.03, 0.1, 0.3, 1, 3). ``h`` is the median heuristic: the median distance
  between pairs of *real* points (in ``PointsMetric``, so the kernel is the same
  at every evaluation of a run and values are comparable along training), or of
  the pooled points when ``mmd`` is called without ``bandwidth``. The median
  alone sees the overall placement but blurs fine structure (narrow modes
  five times too wide go unnoticed on a mixture of 8 Gaussians); the small
  scales see it, at no loss for a shift of the whole distribution. 0 in expectation when the two sets come from one
  distribution (the unbiased estimate can then be slightly negative), larger
  the more they differ, at most 2.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from ppsci_ext.errors import UserError, check_finite
from ppsci_ext.metric.toy import _as_numpy, sliced_wasserstein

MMD_SCALES = (0.03, 0.1, 0.3, 1.0, 3.0)


def _points(x, what: str) -> np.ndarray:
    x = _as_numpy(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or len(x) < 2:
        raise UserError(f"{what} must be [N, D] points with N >= 2, got shape {list(x.shape)}.")
    return x


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def median_distance(x) -> float:
    """Median Euclidean distance between distinct pairs of points ``[N, D]`` (the median heuristic).

    Returns 1 when every pair coincides (all points equal), so a kernel built on it stays usable.
    """
    x = _points(x, "median_distance's points")
    d = _squared_distances(x, x)[np.triu_indices(len(x), k=1)]
    median = float(np.sqrt(np.median(d)))
    return median if median > 0 else 1.0


def mmd(a, b, bandwidth: Optional[float] = None, scales: Sequence[float] = MMD_SCALES) -> float:
    """Unbiased squared MMD between point sets ``a`` [M, D] and ``b`` [N, D], Gaussian kernel over several scales.

    Args:
        a: Points ``[M, D]`` (M >= 2); a 1-D array is M points of D = 1.
        b: Points ``[N, D]`` (N >= 2).
        bandwidth (Optional[float]): The base length ``h`` of the kernel; each scale ``s``
            contributes ``exp(-|x - y|^2 / (2 (s h)^2))``. Defaults to the median distance
            between pairs of the pooled points (so ``mmd(a, b) == mmd(b, a)``).
        scales (Sequence[float]): Multipliers of ``h``; the kernel is their mean. Defaults to
            (0.03, 0.1, 0.3, 1, 3).

    Returns:
        float: The estimate; about 0 for two samples of one distribution, at most 2.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.points import mmd
        >>> rng = np.random.default_rng(0)
        >>> same = mmd(rng.standard_normal((500, 3)), rng.standard_normal((500, 3)))
        >>> shifted = mmd(rng.standard_normal((500, 3)), rng.standard_normal((500, 3)) + 1.0)
        >>> abs(same) < 0.01 < shifted
        True
    """
    a = _points(a, "mmd's first points")
    b = _points(b, "mmd's second points")
    if a.shape[1] != b.shape[1]:
        raise UserError(f"mmd needs points of one dimension, got {a.shape[1]} and {b.shape[1]}.")
    if bandwidth is None:
        bandwidth = median_distance(np.concatenate([a, b]))
    if not (np.isfinite(bandwidth) and bandwidth > 0):
        raise UserError(f"the MMD bandwidth must be a positive number, got {bandwidth!r}.")
    gammas = [1.0 / (2.0 * (s * bandwidth) ** 2) for s in scales]

    def kernel_sum(x, y, same):
        d = _squared_distances(x, y)
        if same:
            np.fill_diagonal(d, 0.0)
        total = sum(float(np.exp(-g * d).sum()) for g in gammas) / len(gammas)
        return total - (len(x) if same else 0.0)  # k(x, x) = 1 on the diagonal

    m, n = len(a), len(b)
    return float(kernel_sum(a, a, True) / (m * (m - 1)) + kernel_sum(b, b, True) / (n * (n - 1))
                 - 2.0 * kernel_sum(a, b, False) / (m * n))


class PointsMetric:
    """FunctionalMetric-compatible ``swd`` and ``mmd`` of generated against real points, in any dimension.

    ``output_dict[key]`` holds the generated points and ``label_dict[key]`` as
    many real points (both standardised by the experiment). MMD uses the first
    ``mmd_points`` of each (its cost grows with the square of the count) and the
    median distance between those real points as bandwidth.

    Args:
        key (str): Name of the points in both dicts. Defaults to "x".
        num_projections (int): Directions of the sliced Wasserstein distance. Defaults to 256.
        mmd_points (int): Points of each set that MMD uses. Defaults to 2000.

    Examples:
        >>> import ppsci
        >>> from ppsci_ext.metric import PointsMetric
        >>> metric = ppsci.metric.FunctionalMetric(PointsMetric())
    """

    def __init__(self, key: str = "x", num_projections: int = 256, mmd_points: int = 2000):
        self.key = key
        self.num_projections = num_projections
        self.mmd_points = mmd_points

    def __call__(self, output_dict, label_dict: Optional[dict] = None) -> Dict[str, float]:
        fake = _points(output_dict[self.key], "the generated points")
        check_finite(fake, "the generated points")
        if not label_dict or self.key not in label_dict:
            raise UserError(f"PointsMetric needs real points under the label key {self.key!r}.")
        real = _points(label_dict[self.key], "the real points")
        real_m = real[:self.mmd_points]
        return {"swd": sliced_wasserstein(fake, real, self.num_projections),
                "mmd": mmd(fake[:self.mmd_points], real_m, bandwidth=median_distance(real_m))}

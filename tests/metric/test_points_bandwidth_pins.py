"""The points metric's MMD: bandwidth h = the median distance between the REAL points (not the pooled or generated).

The expected values are computed here from the definition, with a plain loop:
unbiased MMD^2 = mean_{i!=j} k(a_i, a_j) + mean_{i!=j} k(b_i, b_j) - 2 mean_{i,j} k(a_i, b_j),
k(x, y) = mean_s exp(-|x - y|^2 / (2 (s h)^2)), s in (0.03, 0.1, 0.3, 1, 3).
"""

import math

import numpy as np
import pytest

from ppsci_ext.metric.points import MMD_SCALES, PointsMetric, median_distance, mmd


def _kernel(x, y, h):
    d2 = float(np.sum((np.asarray(x) - np.asarray(y)) ** 2))
    return sum(math.exp(-d2 / (2 * (s * h) ** 2)) for s in (0.03, 0.1, 0.3, 1.0, 3.0)) / 5


def _mmd_by_hand(a, b, h):
    m, n = len(a), len(b)
    aa = sum(_kernel(a[i], a[j], h) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    bb = sum(_kernel(b[i], b[j], h) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    ab = sum(_kernel(a[i], b[j], h) for i in range(m) for j in range(n)) / (m * n)
    return aa + bb - 2 * ab


# real: distances 1, 3, 4 -> median 3 (exactly: the median of 1, 9, 16 squared is 9)
REAL = np.array([[0.0], [1.0], [4.0]])
# generated: widely spread, so its own median (and the pooled one) differ from 3
FAKE = np.array([[0.0], [10.0], [30.0]])


def test_scales_and_median_heuristic():
    assert MMD_SCALES == (0.03, 0.1, 0.3, 1.0, 3.0)
    assert median_distance(REAL) == 3.0
    assert median_distance(FAKE) == 20.0
    # pooled: 15 pair distances 0 1 1 3 4 4 6 9 10 10 20 26 29 30 30: the median is 9
    assert median_distance(np.concatenate([REAL, FAKE])) == 9.0
    assert median_distance(np.zeros((3, 2))) == 1.0  # all points equal
    # an even number of pairs (6): the median of the squared distances 1 4 9 16 36 49 is 12.5, then its root
    assert median_distance(np.array([[0.0], [1.0], [3.0], [7.0]])) == math.sqrt(12.5)


def test_points_metric_mmd_uses_the_real_points_median():
    out = PointsMetric(key="x", num_projections=8)({"x": FAKE}, {"x": REAL})
    expected = _mmd_by_hand(FAKE, REAL, 3.0)
    assert out["mmd"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # the other possible bandwidths give visibly different values
    assert abs(_mmd_by_hand(FAKE, REAL, 20.0) - expected) > 1e-3
    assert abs(_mmd_by_hand(FAKE, REAL, 9.0) - expected) > 1e-3
    assert out["mmd"] == mmd(FAKE, REAL, bandwidth=3.0)


def test_points_metric_mmd_uses_the_first_mmd_points_of_each():
    real = np.array([[0.0], [1.0], [4.0], [100.0], [-50.0]])
    fake = np.array([[0.0], [10.0], [30.0], [7.0], [8.0]])
    out = PointsMetric(key="x", num_projections=8, mmd_points=3)({"x": fake}, {"x": real})
    assert out["mmd"] == pytest.approx(_mmd_by_hand(FAKE, REAL, 3.0), rel=1e-12, abs=1e-15)


def test_mmd_without_bandwidth_uses_the_pooled_median_and_is_symmetric():
    got = mmd(FAKE, REAL)
    assert got == pytest.approx(_mmd_by_hand(FAKE, REAL, 9.0), rel=1e-12, abs=1e-15)
    assert mmd(REAL, FAKE) == pytest.approx(got, rel=1e-12)
    assert mmd(FAKE, REAL, bandwidth=7.5) == pytest.approx(_mmd_by_hand(FAKE, REAL, 7.5), rel=1e-12, abs=1e-15)

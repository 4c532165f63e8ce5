"""MMD and the sliced Wasserstein distance in D dimensions (ppsci_ext/metric/points.py), and their metric class."""

import math

import numpy as np
import paddle
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.metric import PointsMetric, median_distance, mmd, sliced_wasserstein


@pytest.mark.parametrize("d", [1, 2, 5])
def test_mmd_near_zero_for_one_distribution_larger_when_shifted_and_symmetric(d):
    rng = np.random.default_rng(d)
    a, b = rng.standard_normal((600, d)), rng.standard_normal((600, d))
    same = mmd(a, b)
    small, large = mmd(a, b + 0.3), mmd(a, b + 1.0)
    assert abs(same) < 0.001
    assert small > 0.003 and large > 5 * small
    assert mmd(b + 1.0, a) == pytest.approx(large, rel=1e-9)  # symmetric with the pooled median bandwidth
    h = median_distance(b)
    assert mmd(a, b + 1.0, bandwidth=h) == pytest.approx(mmd(b + 1.0, a, bandwidth=h), rel=1e-9)


def test_mmd_of_a_set_with_itself_and_its_bounds():
    a = np.random.default_rng(0).standard_normal((200, 3))
    # a set against itself: the cross term also counts the diagonal, so the estimate is
    # -2 / n * (1 - mean off-diagonal kernel), in (-2 / n, 0)
    assert -2 / 200 < mmd(a, a) < 0
    far = mmd(a, a + 100.0, bandwidth=1.0)  # no overlap: the cross term is 0, each self term at most 1
    assert 0 < far <= 2.0
    with pytest.raises(UserError, match="one dimension"):
        mmd(a, a[:, :2])
    with pytest.raises(UserError, match="N >= 2"):
        mmd(a[:1], a)
    assert mmd(a[:, 0], a[:, 0] + 1.0) > 0.05  # 1-D arrays are points of D = 1


def test_mmd_sees_narrow_modes_that_a_median_kernel_alone_blurs():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((8, 2)) * 2
    modes = centers[rng.integers(0, 8, 1000)] + 0.02 * rng.standard_normal((1000, 2))
    blurred = centers[rng.integers(0, 8, 1000)] + 0.1 * rng.standard_normal((1000, 2))  # modes 5 times too wide
    same = centers[rng.integers(0, 8, 1000)] + 0.02 * rng.standard_normal((1000, 2))
    h = median_distance(modes)
    assert mmd(blurred, modes, bandwidth=h) > 10 * abs(mmd(same, modes, bandwidth=h))
    assert mmd(blurred, modes, bandwidth=h) > mmd(blurred, modes, bandwidth=h, scales=(1.0,))


def test_median_distance():
    assert median_distance(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)  # distances 1, 2, 3
    assert median_distance(np.ones((5, 2))) == 1.0  # all points equal: a usable bandwidth


@pytest.mark.parametrize("d", [1, 2, 5])
def test_sliced_wasserstein_in_d_dimensions(d):
    a = np.random.default_rng(0).standard_normal((400, d))
    assert sliced_wasserstein(a, a) == 0.0
    shift = np.zeros(d)
    shift[0] = 3.0
    # a shift s moves each projection on unit u by s.u: SW1 = |s| E|u_1|, u uniform on the sphere of R^d
    expected = 3.0 * math.gamma(d / 2) / (math.sqrt(math.pi) * math.gamma((d + 1) / 2))
    assert sliced_wasserstein(a, a + shift, num_projections=4096) == pytest.approx(expected, rel=0.05)
    if d == 1:
        assert sliced_wasserstein(a, a + shift) == pytest.approx(3.0)  # the 1-D Wasserstein-1 distance itself


def test_points_metric_on_tensors():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((1000, 4)).astype(np.float32)
    good = rng.standard_normal((1000, 4)).astype(np.float32)
    bad = good * 0.3 + 1.0
    metric = PointsMetric()
    near = metric({"x": paddle.to_tensor(good)}, {"x": paddle.to_tensor(real)})
    far = metric({"x": bad}, {"x": real})
    assert set(near) == {"swd", "mmd"}
    assert far["swd"] > 5 * near["swd"] and far["mmd"] > 20 * abs(near["mmd"])
    with pytest.raises(UserError, match="NaN"):
        metric({"x": np.full((10, 4), np.nan, np.float32)}, {"x": real[:10]})

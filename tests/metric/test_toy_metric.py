import numpy as np
import paddle
import pytest

from ppsci_ext.data import mode_centers, mode_std, sample_toy
from ppsci_ext.metric import ToyMetric, mode_coverage, sliced_wasserstein


def test_mode_coverage_hand_made():
    centers = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    samples = np.array([[0.01, 0.0], [0.02, 0.0], [1.05, 0.0], [0.5, 0.5], [3.0, 3.0]])
    result = mode_coverage(samples, centers, std=0.03)  # radius 0.09
    assert result == {"modes": 2.0, "high_quality": pytest.approx(3 / 5)}


def test_mode_coverage_all_points_on_one_mode():
    centers = mode_centers("8gaussians")
    samples = np.repeat(centers[:1], 100, axis=0)
    assert mode_coverage(samples, centers, mode_std("8gaussians")) == {"modes": 1.0, "high_quality": 1.0}


def test_sliced_wasserstein_known_values():
    a = np.random.default_rng(0).standard_normal((500, 2))
    assert sliced_wasserstein(a, a) == 0.0
    shifted = a + np.array([3.0, 0.0])
    # projection of a shift d on unit direction u moves every point by d.u: SW1 = |d| E|u_x|
    expected = 3.0 * 2 / np.pi  # E|cos(theta)| over the circle
    assert sliced_wasserstein(a, shifted, num_projections=4096) == pytest.approx(expected, rel=0.03)
    with pytest.raises(ValueError):
        sliced_wasserstein(a, a[:10])


def test_toy_metric_callable_on_tensors():
    rng = np.random.default_rng(0)
    real = sample_toy("8gaussians", 2000, rng)
    fake = sample_toy("8gaussians", 2000, rng)
    out = ToyMetric("8gaussians")({"x": paddle.to_tensor(fake)}, {"x": paddle.to_tensor(real)})
    assert out["modes"] == 8 and out["high_quality"] > 0.97 and out["swd"] < 0.05
    noise = ToyMetric("8gaussians")({"x": rng.standard_normal((2000, 2))}, {"x": real})
    assert noise["swd"] > 5 * out["swd"] and noise["high_quality"] < 0.05
    roll = ToyMetric("swissroll")({"x": fake}, {"x": real})
    assert set(roll) == {"swd"}

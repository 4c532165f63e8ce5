"""Precision/recall (k=3), density/coverage (k=5) and PacGAN's reverse KL on known answers."""

import math

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.metric import PRDCMetric, density_coverage, knn_radii, precision_recall, reverse_kl


def test_identical_sets_score_one():
    x = np.random.default_rng(0).standard_normal((300, 8))
    assert precision_recall(x, x) == (1.0, 1.0)
    density, coverage = density_coverage(x, x)
    assert coverage == 1.0 and density >= 1.0  # each point sits in its own ball and in those of its neighbours


def test_disjoint_sets_score_zero():
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((200, 4)), rng.standard_normal((200, 4)) + 100.0
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert density_coverage(real, fake) == (0.0, 0.0)


def test_knn_radius_excludes_the_point_itself():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(x, 1), [1.0, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(knn_radii(x, 2), [3.0, 2.0, 3.0, 6.0])


def test_hand_made_precision_recall():
    # real balls (k=1): 0 -> 1, 1 -> 1, 10 -> 1, 11 -> 1; fakes at 0.5 (inside) and 5 (outside)
    real = np.array([[0.0], [1.0], [10.0], [11.0]])
    fake = np.array([[0.5], [5.0], [0.6]])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == pytest.approx(2 / 3)
    # fake balls (k=1): 0.5 -> 0.1, 5 -> 4.4, 0.6 -> 0.1; real points inside one: none of 0, 1, 10, 11? 1 is 4 from 5 -> yes
    assert recall == pytest.approx(1 / 4)


def test_hand_made_density_and_coverage():
    # real points 0, 1, 2, 10 with k=1 radii 1, 1, 1, 8
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    fake = np.array([[1.5], [1.5], [20.0]])
    density, coverage = density_coverage(real, fake, k=1)
    # 1.5 lies in the balls of 1 (|0.5| <= 1), 2 (|0.5| <= 1) and 10 (|8.5| > 8: no): 2 balls, twice; 20 in none
    assert density == pytest.approx((2 + 2 + 0) / (1 * 3))
    # covered: 1 and 2 (a fake within their radius); 0 is 1.5 away (> 1); 10 is 8.5 away (> 8)
    assert coverage == pytest.approx(2 / 4)


def test_adapter_and_bad_input():
    x = np.random.default_rng(2).standard_normal((50, 2))
    out = PRDCMetric(key="x")({"x": x}, {"x": x})
    assert out["precision"] == out["recall"] == out["coverage"] == 1.0
    with pytest.raises(UserError, match="differ in dimension"):
        precision_recall(x, x[:, :1])
    with pytest.raises(UserError, match="k must be a whole number"):
        precision_recall(x[:3], x[:3], k=3)
    with pytest.raises(UserError, match="NaN or infinite"):
        precision_recall(x, np.full((5, 2), np.nan))


def test_reverse_kl_of_mode_histograms():
    centers = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    even = np.repeat(centers, 25, axis=0) + 0.01
    assert reverse_kl(even, centers) == pytest.approx(0.0, abs=1e-12)
    assert reverse_kl(np.repeat(centers[:1], 10, axis=0), centers) == pytest.approx(math.log(4))
    half = np.concatenate([np.repeat(centers[:1], 30, axis=0), np.repeat(centers[1:2], 10, axis=0)])
    p = np.array([0.75, 0.25])
    assert reverse_kl(half, centers) == pytest.approx(float(np.sum(p * np.log(p * 4))))
    far = np.array([[50.0, 50.0]] * 4)  # far samples still count, binned to their nearest mode
    assert reverse_kl(far, centers) == pytest.approx(math.log(4))

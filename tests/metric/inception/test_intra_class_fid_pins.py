"""Intra-class FID: each class's generated samples against that class's own real mean AND covariance.

The classes below share the real mean (0) and differ only in covariance, so a
function that compared with another class's statistics, with a pooled
covariance, or with the means only would give different (pinned) values. The
expected numbers are worked out by hand: for diagonal covariances
FID = |mu1 - mu2|^2 + sum_i (s1_i + s2_i - 2 sqrt(s1_i s2_i)).
"""

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.metric.inception.metrics import intra_class_fid


def _cross(var_x, var_y, mean=(0.0, 0.0)):
    """Four 2-D points whose sample mean is ``mean`` and covariance (ddof=1) exactly diag(var_x, var_y)."""
    a, b = np.sqrt(1.5 * var_x), np.sqrt(1.5 * var_y)
    return np.array([[a, 0.0], [-a, 0.0], [0.0, b], [0.0, -b]]) + np.asarray(mean)


REAL = {
    0: {"mu": np.zeros(2), "sigma": np.diag([1.0, 1.0])},
    1: {"mu": np.zeros(2), "sigma": np.diag([4.0, 0.25])},
    2: {"mu": np.zeros(2), "sigma": np.diag([9.0, 1.0])},
}
GEN = {0: _cross(4.0, 1.0), 1: _cross(1.0, 4.0, mean=(1.0, 0.0)), 2: _cross(9.0, 1.0)}
# class 0: (4 + 1 - 2*2) + (1 + 1 - 2*1) = 1
# class 1: |(1,0)|^2 + (1 + 4 - 2*2) + (4 + 0.25 - 2*1) = 1 + 1 + 2.25 = 4.25
# class 2: identical statistics = 0
EXPECTED = {"intra_fid_0": 1.0, "intra_fid_1": 4.25, "intra_fid_2": 0.0}


def _interleaved():
    """Features with their labels interleaved (2, 0, 1, 2, 0, 1, ...), not grouped by class."""
    feats, labels = [], []
    for i in range(4):
        for c in (2, 0, 1):
            feats.append(GEN[c][i])
            labels.append(c)
    return np.array(feats), np.array(labels)


def test_each_class_against_its_own_covariance():
    feats, labels = _interleaved()
    result = intra_class_fid(feats, labels, REAL)
    assert list(result) == ["intra_fid_0", "intra_fid_1", "intra_fid_2", "intra_fid"]
    for key, value in EXPECTED.items():
        assert result[key] == pytest.approx(value, abs=1e-6), key
    assert result["intra_fid"] == pytest.approx((1.0 + 4.25 + 0.0) / 3, abs=1e-6)


def test_swapping_class_statistics_or_pooling_changes_the_values():
    feats, labels = _interleaved()
    swapped = intra_class_fid(feats, labels, {0: REAL[1], 1: REAL[0], 2: REAL[2]})
    # class 0 gen diag(4,1) vs diag(4,0.25): 0 + (1 + 0.25 - 1) = 0.25
    # class 1 gen diag(1,4) mean (1,0) vs diag(1,1): 1 + 0 + (4 + 1 - 4) = 2
    assert swapped["intra_fid_0"] == pytest.approx(0.25, abs=1e-6)
    assert swapped["intra_fid_1"] == pytest.approx(2.0, abs=1e-6)
    # the real mean is the same for every class: only the covariances set the values
    pooled = {c: {"mu": np.zeros(2), "sigma": np.diag([14.0 / 3, 2.25 / 3])} for c in REAL}
    pooled_result = intra_class_fid(feats, labels, pooled)
    for key in EXPECTED:
        assert abs(pooled_result[key] - EXPECTED[key]) > 0.1, key


def test_mean_not_median_and_class_names_keys():
    feats, labels = _interleaved()
    result = intra_class_fid(feats, labels, REAL, class_names=["cat", "dog", "frog"])
    assert list(result) == ["intra_fid_cat", "intra_fid_dog", "intra_fid_frog", "intra_fid"]
    assert result["intra_fid_cat"] == pytest.approx(1.0, abs=1e-6)
    assert result["intra_fid_dog"] == pytest.approx(4.25, abs=1e-6)
    assert result["intra_fid_frog"] == pytest.approx(0.0, abs=1e-6)
    assert result["intra_fid"] == pytest.approx(1.75, abs=1e-6)  # the median would be 1


def test_reference_order_does_not_matter_and_labels_as_column():
    feats, labels = _interleaved()
    result = intra_class_fid(feats, labels.reshape(-1, 1), {2: REAL[2], 1: REAL[1], 0: REAL[0]})
    assert list(result) == ["intra_fid_0", "intra_fid_1", "intra_fid_2", "intra_fid"]
    assert result["intra_fid_1"] == pytest.approx(4.25, abs=1e-6)


def test_two_samples_are_enough_one_is_not():
    base = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    ref = {0: {"mu": np.zeros(2), "sigma": np.eye(2)}, 1: {"mu": np.zeros(2), "sigma": np.eye(2)}}
    ok = intra_class_fid(base, np.array([0, 0, 1, 1]), ref)
    # class 0: points (+-1, 0): mean 0, cov diag(2, 0): (2 + 1 - 2 sqrt 2) + (0 + 1 - 0) = 4 - 2 sqrt 2
    assert ok["intra_fid_0"] == pytest.approx(4 - 2 * np.sqrt(2), abs=1e-3)
    with pytest.raises(UserError, match="class 1 has 1 generated samples"):
        intra_class_fid(base[:3], np.array([0, 0, 1]), ref)
    with pytest.raises(UserError, match="3 labels for 4 generated samples"):
        intra_class_fid(base, np.array([0, 0, 1]), ref)

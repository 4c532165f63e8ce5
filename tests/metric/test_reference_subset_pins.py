"""The compact statistics keep a random (seed 0), not a leading, subset of the features.

Real features are often stored sorted by class (a dataset read folder by
folder): a leading subset would then hold only the first classes. The rows
below encode their own index (index // 100, index % 100, exact in float16)
and their class, so the kept subset can be read back exactly.
"""

import numpy as np

from ppsci_ext.metric import reference


def _class_sorted(n, classes):
    idx = np.arange(n)
    label = idx * classes // n  # sorted by class, equal blocks
    return np.stack([idx // 100, idx % 100, label], axis=1).astype(np.float32), label


def _kept_rows(stats):
    f = stats["features"].astype(np.int64)
    return f[:, 0] * 100 + f[:, 1], f[:, 2]


def test_class_sorted_features_keep_an_unbiased_random_subset():
    n, classes = 20000, 10
    features, labels = _class_sorted(n, classes)
    stats = reference.compact(features)
    rows, kept_labels = _kept_rows(stats)
    assert stats["features"].dtype == np.float16 and len(rows) == reference.KEPT_FEATURES == 8000
    assert len(set(rows.tolist())) == 8000  # no row twice
    assert (np.diff(rows) > 0).all()  # rows in input order
    assert rows.tolist() != list(range(8000))  # not the leading 8,000
    assert rows.max() >= n - 50 and rows.min() <= 50  # drawn from the whole set
    # every class is kept in the proportion of the full set (800 each of 2,000; the leading subset: 2000 x 4)
    hist = np.bincount(kept_labels, minlength=classes)
    full = np.bincount(labels, minlength=classes) * 8000 / n
    assert np.abs(hist - full).max() <= 80, hist.tolist()
    np.testing.assert_array_equal(labels[rows], kept_labels)
    # the documented subset: numpy's default_rng(0) choice of 8,000 of the N rows, sorted
    expected = np.sort(np.random.default_rng(0).choice(n, 8000, replace=False))
    np.testing.assert_array_equal(rows, expected)


def test_subset_boundary_and_keep_argument():
    features, _ = _class_sorted(8001, 3)
    rows, _ = _kept_rows(reference.compact(features))
    assert len(rows) == 8000 and rows.tolist() != list(range(8000))
    np.testing.assert_array_equal(rows, np.sort(np.random.default_rng(0).choice(8001, 8000, replace=False)))
    features, _ = _class_sorted(8000, 3)
    rows, _ = _kept_rows(reference.compact(features))
    assert rows.tolist() == list(range(8000))  # no more than KEPT_FEATURES: all of them, in order
    features, _ = _class_sorted(12, 3)
    rows, _ = _kept_rows(reference.compact(features, keep=5))
    np.testing.assert_array_equal(rows, np.sort(np.random.default_rng(0).choice(12, 5, replace=False)))
    rows, _ = _kept_rows(reference.compact(features, keep=12))
    assert rows.tolist() == list(range(12))
    assert int(reference.compact(features, keep=5)["num_images"]) == 12

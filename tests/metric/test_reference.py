"""The compact form of real-data statistics (metric/reference.py): exact mu/sigma, a float16 subset, small files."""

import os

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.metric import reference
from ppsci_ext.metric.fid import feature_statistics


def test_compact_keeps_exact_moments_and_a_fixed_float16_subset(tmp_path):
    features = np.random.default_rng(0).random((9000, 2048), dtype=np.float32)
    stats = reference.compact(features)
    mu, sigma = feature_statistics(features)
    np.testing.assert_array_equal(stats["mu"], mu)
    np.testing.assert_array_equal(stats["sigma"], sigma)  # of all 9,000, in float64
    assert stats["features"].shape == (reference.KEPT_FEATURES, 2048) and stats["features"].dtype == np.float16
    assert int(stats["num_images"]) == 9000
    # the subset is a fixed one (seed 0), rows of the input in order
    again = reference.compact(features)
    np.testing.assert_array_equal(again["features"], stats["features"])
    rows = {r.tobytes() for r in features.astype(np.float16)}
    assert all(r.tobytes() in rows for r in stats["features"][:50])

    path = str(tmp_path / "stats.npz")
    reference.save(path, stats, weights_digest="abc")
    # 8,000 x 2048 float16 + the upper triangle of sigma in float64 + mu: the 50 MB bound of 50,000 images
    assert os.path.getsize(path) <= 49.7e6
    loaded = reference.load(path)
    np.testing.assert_array_equal(loaded["sigma"], sigma)  # rebuilt exactly from the triangle
    np.testing.assert_array_equal(loaded["features"], stats["features"])
    assert str(loaded["weights_digest"]) == "abc"


def test_small_sets_keep_every_feature_and_full_sigma_files_still_load(tmp_path):
    features = np.random.default_rng(1).random((30, 5))
    stats = reference.compact(features)
    assert len(stats["features"]) == 30
    ttur = str(tmp_path / "ttur.npz")  # TTUR-style: a full sigma, no features
    np.savez(ttur, mu=stats["mu"], sigma=stats["sigma"])
    np.testing.assert_array_equal(reference.load(ttur)["sigma"], stats["sigma"])
    damaged = str(tmp_path / "damaged.npz")
    np.savez(damaged, mu=stats["mu"], sigma_triu=np.ones(7))
    with pytest.raises(UserError, match="damaged sigma_triu"):
        reference.load(damaged)
    with pytest.raises(UserError, match="not found"):
        reference.load(str(tmp_path / "missing.npz"))


def test_cached_computes_once_and_gives_the_same_numbers(tmp_path):
    features = np.random.default_rng(2).random((40, 6))
    calls = []

    def compute():
        calls.append(1)
        return features

    path = str(tmp_path / "cache" / "x.npz")
    first = reference.cached(path, compute, 40, weights_digest="w")
    second = reference.cached(path, compute, 40, weights_digest="w")
    assert calls == [1]
    for key in ("mu", "sigma", "features"):
        np.testing.assert_array_equal(first[key], second[key])  # the first run already used the stored form
    with pytest.raises(UserError, match="come from 40 images, not 39"):
        reference.cached(path, compute, 39)


def test_a_cache_of_the_older_form_is_remade(tmp_path):
    features = np.random.default_rng(5).random((20, 4)).astype(np.float32)
    mu, sigma = feature_statistics(features)
    path = str(tmp_path / "old.npz")  # what earlier versions wrote: full sigma, every feature in float32
    np.savez(path, mu=mu, sigma=sigma, features=features, num_images=np.asarray(20))
    stats = reference.cached(path, lambda: features, 20)
    assert stats["features"].dtype == np.float16
    with np.load(path) as data:
        assert "sigma_triu" in data.files and data["features"].dtype == np.float16  # rewritten in the new form


def test_class_moments_are_cached_in_float32_triangles(tmp_path):
    rng = np.random.default_rng(3)
    features = rng.random((60, 4))
    labels = np.repeat([0, 1, 2], 20)
    calls = []

    def compute():
        calls.append(1)
        return features

    path = str(tmp_path / "classes.npz")
    first = reference.cached_classes(path, compute, labels)
    second = reference.cached_classes(path, compute, labels)
    assert calls == [1] and sorted(first) == [0, 1, 2]
    for c in range(3):
        mu, sigma = feature_statistics(features[labels == c])
        np.testing.assert_array_equal(first[c]["mu"], mu)
        np.testing.assert_allclose(first[c]["sigma"], sigma, rtol=1e-6)  # float32 on disk
        np.testing.assert_array_equal(first[c]["sigma"], second[c]["sigma"])
    with pytest.raises(UserError, match="other labels"):
        reference.cached_classes(path, compute, np.repeat([0, 1, 2], [19, 20, 21]))


def test_intra_class_fid():
    from ppsci_ext.metric import intra_class_fid

    rng = np.random.default_rng(4)
    real = {c: rng.normal(c, 1.0, (400, 3)) for c in range(3)}
    moments = reference.class_moments(np.concatenate(list(real.values())), np.repeat([0, 1, 2], 400))
    labels = np.repeat([0, 1, 2], 300)
    fake_right = np.concatenate([rng.normal(c, 1.0, (300, 3)) for c in range(3)])
    good = intra_class_fid(fake_right, labels, moments, ["a", "b", "c"])
    assert set(good) == {"intra_fid_a", "intra_fid_b", "intra_fid_c", "intra_fid"}
    assert good["intra_fid"] == pytest.approx(np.mean([good["intra_fid_a"], good["intra_fid_b"], good["intra_fid_c"]]))
    assert good["intra_fid"] < 0.1
    # the right images under the wrong labels: the overall set is the same, each class is off by 1 or 2 per axis
    swapped = intra_class_fid(fake_right, (labels + 1) % 3, moments)
    assert swapped["intra_fid"] > 20 * good["intra_fid"] + 1
    with pytest.raises(UserError, match="class 2 has 1 generated samples"):
        intra_class_fid(fake_right[:601], labels[:601], moments)

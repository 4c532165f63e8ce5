"""Checked .npy / .npz reading (ppsci_ext/io/arrays.py): declared sizes checked before allocating, one line per
problem, only regular files opened."""

import io
import os
import struct
import threading
import zipfile

import numpy as np
import pytest

from ppsci_ext.io import arrays
from ppsci_ext.io.arrays import NpzArchive, human_bytes, open_regular, read_npy, read_npy_stream
from ppsci_ext.errors import UserError


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def npy_bytes(array, version=None) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def forged_npy(path, shape, descr="|u1", size=1024):
    """A ``size``-byte .npy whose header declares ``shape`` (zeros after the header)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    header = buffer.getvalue()
    path.write_bytes(header + b"\0" * (size - len(header)))
    return str(path), len(header)


GOOD = np.arange(200, dtype=np.float64).reshape(100, 2)  # 1,600 bytes of data after a 128-byte header


# ----------------------------------------------------------------------------------------------- .npy
def test_forged_header_claiming_a_billion_images_is_one_line_before_any_allocation(tmp_path, monkeypatch):
    path, header = forged_npy(tmp_path / "bomb.npy", (10 ** 9, 32, 32, 3))
    assert os.path.getsize(path) == 1024 and header == 128

    def no_allocation(*args, **kwargs):
        raise AssertionError("allocated")

    monkeypatch.setattr(arrays, "_fill", no_allocation)
    with pytest.raises(UserError) as info:
        read_npy(path)
    assert one_line(info) == (f"{path} is truncated: its header declares shape [1000000000, 32, 32, 3] uint8 "
                              "(3.07 TB) but only 896 bytes follow it in the file; write it again.")


def test_truncated_npy_names_what_was_declared_and_what_is_there(tmp_path):
    data = npy_bytes(GOOD)
    (tmp_path / "cut.npy").write_bytes(data[:-40])
    with pytest.raises(UserError) as info:
        read_npy(str(tmp_path / "cut.npy"))
    assert one_line(info) == (f"{tmp_path / 'cut.npy'} is truncated: its header declares shape [100, 2] float64 "
                              "(1.6 KB) but only 1.56 KB follow it in the file; write it again.")
    (tmp_path / "whole.npy").write_bytes(data)
    assert np.array_equal(read_npy(str(tmp_path / "whole.npy")), GOOD)
    (tmp_path / "head.npy").write_bytes(data[:60])
    with pytest.raises(UserError, match=r"head.npy is truncated: it ends inside its .npy header"):
        read_npy(str(tmp_path / "head.npy"))
    (tmp_path / "magic.npy").write_bytes(data[:3])
    with pytest.raises(UserError, match=r"magic.npy is truncated: it ends inside its .npy header"):
        read_npy(str(tmp_path / "magic.npy"))


def test_one_byte_short_is_truncated_and_exact_size_is_read(tmp_path):
    data = npy_bytes(np.arange(10, dtype=np.uint8))
    with pytest.raises(UserError, match="only 9 bytes follow"):
        read_npy_stream(io.BytesIO(data[:-1]), len(data) - 1, "x.npy")
    assert read_npy_stream(io.BytesIO(data), len(data), "x.npy").tolist() == list(range(10))


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=">u2").reshape(3, 4),  # byte order kept
    np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),  # column-major data
    np.zeros((0, 5), np.uint8),  # no data at all
    np.array([(1, 2.5), (3, 4.5)], dtype=[("a", "<i4"), ("b", "<f8")]),  # structured
    np.array(7, dtype=np.int16),  # 0-d
])
def test_arrays_round_trip_like_numpy(array):
    data = npy_bytes(array)
    found = read_npy_stream(io.BytesIO(data), len(data), "x.npy")
    expected = np.load(io.BytesIO(data), allow_pickle=False)
    assert found.dtype == expected.dtype and found.shape == expected.shape and np.array_equal(found, expected)
    assert found.flags.f_contiguous == expected.flags.f_contiguous


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_header_version(version):
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    data = npy_bytes(array, version=version)
    assert data[6:8] == bytes(version)
    assert np.array_equal(read_npy_stream(io.BytesIO(data), len(data), "x.npy"), array)


def test_not_arrays_are_refused_with_the_hint(tmp_path):
    import pickle

    cases = {
        "pickled.npy": (pickle.dumps({"a": 1}), "holds pickled Python data, not a NumPy array; it is refused "
                                                "(loading it could run code). HINT."),
        "text.npy": (b"1,2\n3,4\n", "is not a .npy file (it does not start with NumPy's header); HINT."),
        "empty.npy": (b"", "is empty (0 bytes)"),
        "archive.npy": (b"PK\x03\x04rest", "is an .npz archive named .npy; rename it to .npz."),
    }
    for name, (content, phrase) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UserError) as info:
            read_npy(str(tmp_path / name), hint="HINT")
        assert one_line(info).startswith(str(tmp_path / name)) and phrase in str(info.value), name


def test_object_arrays_run_nothing(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    np.save(tmp_path / "obj.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(UserError) as info:
        read_npy(str(tmp_path / "obj.npy"))
    assert "holds an object array (pickled Python objects); it is refused (loading it could run code)" in \
        one_line(info)
    assert not (tmp_path / "ran").exists()


def test_damaged_header_and_negative_shape(tmp_path):
    data = bytearray(npy_bytes(GOOD))
    data[10:20] = b"#!garbage!"  # inside the header's dict literal
    (tmp_path / "bad.npy").write_bytes(bytes(data))
    with pytest.raises(UserError) as info:
        read_npy(str(tmp_path / "bad.npy"))
    assert "has a damaged .npy header (" in one_line(info) and info.value.args[0].endswith("write it again.")
    path, _ = forged_npy(tmp_path / "neg.npy", (-1, 2))
    with pytest.raises(UserError) as info:
        read_npy(path)
    assert "damaged .npy header (negative shape [-1, 2])" in one_line(info)


def test_the_memory_limit(tmp_path, monkeypatch):
    np.save(tmp_path / "a.npy", GOOD)
    monkeypatch.setattr(arrays, "MAX_ARRAY_BYTES", 1599)
    with pytest.raises(UserError) as info:
        read_npy(str(tmp_path / "a.npy"))
    assert one_line(info) == (f"{tmp_path / 'a.npy'} declares shape [100, 2] float64 (1.6 KB), more than this "
                              "machine's memory (1.6 KB); it cannot be loaded here: use a part of the data, or a "
                              "machine with more memory.")
    monkeypatch.setattr(arrays, "MAX_ARRAY_BYTES", 1600)  # exactly the array: allowed
    assert np.array_equal(read_npy(str(tmp_path / "a.npy")), GOOD)
    monkeypatch.setattr(arrays, "MAX_ARRAY_BYTES", None)
    assert arrays.max_array_bytes() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_data_ending_early_in_a_stream_is_truncation():
    data = npy_bytes(np.arange(100, dtype=np.uint8))

    class Short(io.BytesIO):  # a stream whose directory said more than it holds
        pass

    stream = Short(data[:-40])
    header = arrays.read_header(stream, "x.npz (array 'a')")
    with pytest.raises(UserError) as info:
        arrays._fill(stream, header, "x.npz (array 'a')")
    assert one_line(info) == ("x.npz (array 'a') is truncated: its header declares shape [100] uint8 (100 bytes) "
                              "but its data ends after 60 bytes; write it again.")


def test_chunked_fill_reads_every_chunk(monkeypatch):
    array = np.arange(1000, dtype=np.int64)
    data = npy_bytes(array)
    monkeypatch.setattr(arrays, "_CHUNK", 7)  # chunks that do not divide the item size
    assert np.array_equal(read_npy_stream(io.BytesIO(data), len(data), "x.npy"), array)


def test_human_bytes():
    assert [human_bytes(n) for n in (0, 1, 999, 1000, 1024, 999_499, 999_500, 3_072_000_000_000)] == [
        "0 bytes", "1 byte", "999 bytes", "1 KB", "1.02 KB", "999 KB", "1 MB", "3.07 TB"]


# ----------------------------------------------------------------------------------------------- .npz
def stored_npz(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_npz_members_are_read_by_name(tmp_path):
    images = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    np.savez_compressed(tmp_path / "c.npz", images=images, class_names=np.array(["a", "bb"]))
    np.savez(tmp_path / "s.npz", images=images, class_names=np.array(["a", "bb"]))
    for name in ("c.npz", "s.npz"):
        with NpzArchive(str(tmp_path / name)) as z:
            assert z.names == ["images", "class_names"]
            assert np.array_equal(z.read("images"), images) and z.read("class_names").tolist() == ["a", "bb"]


def test_truncated_npz_member_is_named_as_truncated(tmp_path):
    path = stored_npz(tmp_path / "cut.npz", {"images.npy": npy_bytes(GOOD)[:-40]})
    with NpzArchive(path) as z, pytest.raises(UserError) as info:
        z.read("images")
    assert one_line(info) == (f"{path} (array 'images') is truncated: its header declares shape [100, 2] float64 "
                              "(1.6 KB) but only 1.56 KB follow it in the archive; write it again.")


def test_compressed_member_with_a_forged_header(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10 ** 9, 28, 28)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", header.getvalue() + b"\0" * 1000)
    with NpzArchive(str(path)) as z, pytest.raises(UserError) as info:
        z.read("x")
    assert one_line(info) == (f"{path} (array 'x') is truncated: its header declares shape [1000000000, 28, 28] "
                              "uint8 (784 GB) but only 1 KB follow it in the archive; write it again.")


def _patch_directory(path, field_offset, value):
    """Overwrite a 4-byte field of the (single) central-directory entry of a zip file."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02") + field_offset
    data[at:at + 4] = struct.pack("<I", value)
    path.write_bytes(bytes(data))


def test_forged_directory_sizes(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", x=np.zeros(1000, np.uint8))
    _patch_directory(tmp_path / "c.npz", 24, 0x7FFFFFFF)  # uncompressed size: 2 GB from a few bytes
    with NpzArchive(str(tmp_path / "c.npz")) as z, pytest.raises(UserError) as info:
        z.read("x")
    assert "(array 'x') is damaged: the archive's directory gives it 2.15 GB from" in one_line(info)
    assert "more than deflate can expand (1032x)" in str(info.value)
    np.savez(tmp_path / "s.npz", x=np.zeros(1000, np.uint8))
    _patch_directory(tmp_path / "s.npz", 24, 5000)  # a stored member: both sizes must agree
    with NpzArchive(str(tmp_path / "s.npz")) as z, pytest.raises(UserError) as info:
        z.read("x")
    assert "gives it 5000 bytes and 1128 stored bytes, which must be equal" in one_line(info)
    np.savez(tmp_path / "big.npz", x=np.zeros(1000, np.uint8))
    size = os.path.getsize(tmp_path / "big.npz")
    _patch_directory(tmp_path / "big.npz", 20, 10 ** 6)  # compressed size beyond the whole file
    with NpzArchive(str(tmp_path / "big.npz")) as z, pytest.raises(UserError) as info:
        z.read("x")
    assert f"gives it 1 MB but the whole file holds {human_bytes(size)}" in one_line(info)


def test_deflate_ratio_boundary(tmp_path, monkeypatch):
    np.savez_compressed(tmp_path / "z.npz", x=np.zeros(100_000, np.uint8))
    with zipfile.ZipFile(tmp_path / "z.npz") as z:
        info = z.getinfo("x.npy")
    ratio = info.file_size / info.compress_size
    monkeypatch.setattr(arrays, "DEFLATE_MAX_RATIO", int(ratio))  # just below the member's own ratio
    with NpzArchive(str(tmp_path / "z.npz")) as z, pytest.raises(UserError, match="more than deflate can expand"):
        z.read("x")
    monkeypatch.setattr(arrays, "DEFLATE_MAX_RATIO", int(ratio) + 1)
    with NpzArchive(str(tmp_path / "z.npz")) as z:
        assert z.read("x").shape == (100_000,)


def test_bad_crc_is_damage(tmp_path):
    path = stored_npz(tmp_path / "crc.npz", {"x.npy": npy_bytes(np.zeros(100, np.uint8))})
    data = bytearray((tmp_path / "crc.npz").read_bytes())
    at = data.index(b"\x93NUMPY") + 128 + 50  # a data byte of the stored member
    data[at] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(data))
    with NpzArchive(path) as z, pytest.raises(UserError) as info:
        z.read("x")
    assert one_line(info).startswith(f"{path} (array 'x') is damaged (BadZipFile: Bad CRC-32")


def test_npz_that_is_not_an_archive(tmp_path):
    import pickle

    np.save(tmp_path / "a.npy", GOOD)
    (tmp_path / "named.npz").write_bytes((tmp_path / "a.npy").read_bytes())
    (tmp_path / "pickled.npz").write_bytes(pickle.dumps([1]))
    (tmp_path / "text.npz").write_bytes(b"hello")
    np.savez(tmp_path / "ok.npz", x=GOOD)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "ok.npz").read_bytes()[:300])
    expected = {
        "named.npz": "is a .npy file named .npz; rename it to .npy.",
        "pickled.npz": "holds pickled Python data, not a NumPy archive; it is refused (loading it could run code).",
        "text.npz": "is not a .npz file (not a zip archive); HINT.",
        "cut.npz": "is truncated or damaged (not a complete zip archive: File is not a zip file); write it again.",
    }
    for name, phrase in expected.items():
        with pytest.raises(UserError) as info:
            NpzArchive(str(tmp_path / name), hint="HINT")
        assert one_line(info).startswith(f"{tmp_path / name} {phrase}"), name


def test_a_member_that_is_not_an_array(tmp_path):
    path = stored_npz(tmp_path / "m.npz", {"readme.txt": b"hello", "x.npy": npy_bytes(GOOD)})
    with NpzArchive(path, hint="HINT") as z:
        assert z.names == ["readme.txt", "x"]
        with pytest.raises(UserError) as info:
            z.read("readme.txt")
        assert one_line(info) == (f"{path} (array 'readme.txt') is not a .npy file (it does not start with NumPy's "
                                  "header); HINT.")
        assert np.array_equal(z.read("x"), GOOD)


def test_archive_file_is_closed(tmp_path):
    np.savez(tmp_path / "a.npz", x=GOOD)
    z = NpzArchive(str(tmp_path / "a.npz"))
    z.close()
    assert z._file.closed
    (tmp_path / "t.npz").write_bytes(b"hello")
    opened = []
    real = arrays.open_regular

    def tracking(path):
        opened.append(real(path))
        return opened[-1]

    arrays.open_regular, saved = tracking, arrays.open_regular
    try:
        with pytest.raises(UserError):
            NpzArchive(str(tmp_path / "t.npz"))
    finally:
        arrays.open_regular = saved
    assert opened and opened[0].closed  # a refused archive leaves no open file


# ------------------------------------------------------------------------------------------ regular files
def _returns(func, wait=60.0):
    """Run ``func`` in a thread; the watchdog fails the test if it has not returned after ``wait`` seconds."""
    result = {}

    def run():
        try:
            result["value"] = func()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            result["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait)
    assert not thread.is_alive(), "the read blocked"
    return result


def test_only_regular_files_are_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.npy")
    os.symlink("/dev/zero", tmp_path / "zero.npy")
    (tmp_path / "folder.npy").mkdir()
    expected = {"pipe.npy": "it is a FIFO (named pipe), not a regular file",
                "zero.npy": "it is a character device, not a regular file",
                "folder.npy": "it is a folder, not a regular file"}
    for name, reason in expected.items():
        result = _returns(lambda: read_npy(str(tmp_path / name)))
        error = result["error"]
        assert isinstance(error, UserError)
        assert str(error) == f"{tmp_path / name} cannot be read ({reason}); give a regular .npy file.", name
        with pytest.raises(arrays.NotRegularFile) as info:
            open_regular(str(tmp_path / name))
        assert info.value.strerror == reason and info.value.filename == str(tmp_path / name)
    result = _returns(lambda: NpzArchive(str(tmp_path / "pipe.npy")))
    assert "cannot be read (it is a FIFO (named pipe), not a regular file); give a regular .npz file." in \
        str(result["error"])
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "missing.npy"))
    (tmp_path / "a.bin").write_bytes(b"abc")
    with open_regular(str(tmp_path / "a.bin")) as f:
        assert f.read() == b"abc"


def test_a_header_only_file_has_no_data_bytes(tmp_path):
    path, header = forged_npy(tmp_path / "h.npy", (5,), size=128)
    with pytest.raises(UserError, match=r"declares shape \[5\] uint8 \(5 bytes\) but only 0 bytes follow it"):
        read_npy(path)


def test_an_unknown_format_version(tmp_path):
    data = bytearray(npy_bytes(GOOD))
    data[6:8] = bytes([9, 0])
    (tmp_path / "v.npy").write_bytes(bytes(data))
    with pytest.raises(UserError) as info:
        read_npy(str(tmp_path / "v.npy"))
    assert one_line(info) == (f"{tmp_path / 'v.npy'} is a .npy file of format version 9.0, which this NumPy cannot "
                              "read; write it again with this NumPy's np.save.")


def test_a_stream_read_from_the_middle_of_a_file():
    data = npy_bytes(np.arange(10, dtype=np.uint8))
    stream = io.BytesIO(b"prefix" + data)
    stream.seek(6)
    assert read_npy_stream(stream, len(data), "x.npy").tolist() == list(range(10))
    stream.seek(6)
    with pytest.raises(UserError, match="only 9 bytes follow"):
        read_npy_stream(stream, len(data) - 1, "x.npy")


def test_an_archive_given_an_open_file_leaves_it_open(tmp_path):
    np.savez(tmp_path / "a.npz", x=GOOD)
    with open(tmp_path / "a.npz", "rb") as f:
        with NpzArchive(str(tmp_path / "a.npz"), file=f) as z:
            assert np.array_equal(z.read("x"), GOOD)
        assert not f.closed  # the caller's file: the caller closes it


def test_folder_entries_of_an_archive_are_not_arrays(tmp_path):
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as z:
        z.writestr("sub/", b"")
        z.writestr("x.npy", npy_bytes(GOOD))
    with NpzArchive(str(tmp_path / "d.npz")) as z:
        assert z.names == ["x"]


def test_an_archive_that_ends_inside_a_member(tmp_path):
    # a stored member of 100 data bytes whose header declares 190, and a directory that gives it room for 190:
    # the read runs into the end of the file
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (190,)})
    member = header.getvalue() + b"\1" * 100
    path = stored_npz(tmp_path / "e.npz", {"x.npy": member})
    size = os.path.getsize(path)
    assert size == 236 + 100 and len(member) == 228
    _patch_directory(tmp_path / "e.npz", 20, 318)  # compressed size
    _patch_directory(tmp_path / "e.npz", 24, 318)  # uncompressed size
    with NpzArchive(path) as z, pytest.raises(UserError) as info:
        z.read("x")
    assert one_line(info) == f"{path} (array 'x') is truncated: the archive ends inside it; write it again."


# ------------------------------------------------------------------------------------------- the points reader
def test_points_files_are_read_through_the_checks(tmp_path):
    from ppsci_ext.data import read_points

    path, _ = forged_npy(tmp_path / "p.npy", (10 ** 9, 2), descr="<f8")
    with pytest.raises(UserError) as info:
        read_points(path)
    assert one_line(info) == (f"{path} is truncated: its header declares shape [1000000000, 2] float64 (16 GB) but "
                              "only 896 bytes follow it in the file; write it again.")
    stored_npz(tmp_path / "p.npz", {"x.npy": npy_bytes(GOOD)[:-40]})
    with pytest.raises(UserError) as info:
        read_points(str(tmp_path / "p.npz"))
    assert one_line(info) == (f"{tmp_path / 'p.npz'} (array 'x') is truncated: its header declares shape [100, 2] "
                              "float64 (1.6 KB) but only 1.56 KB follow it in the archive; write it again.")
    os.mkfifo(tmp_path / "pipe.npy")
    result = _returns(lambda: read_points(str(tmp_path / "pipe.npy")))
    assert "it is a FIFO (named pipe), not a regular file" in str(result["error"])

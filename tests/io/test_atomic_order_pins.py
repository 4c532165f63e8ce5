"""The atomic writer flushes the temporary file to disk (fsync) BEFORE renaming it over the real name,
and syncs the folder after the rename."""

import os

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.io import atomic


def _fd_path(fd):
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.fixture
def calls(monkeypatch):
    log = []
    real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

    def fsync(fd):
        path = _fd_path(fd)
        log.append(("fsync", path, os.path.getsize(path) if os.path.isfile(path) else None))
        return real_fsync(fd)

    def replace(src, dst, *a, **k):
        log.append(("replace", str(src), str(dst)))
        return real_replace(src, dst, *a, **k)

    def rename(src, dst, *a, **k):
        log.append(("rename", str(src), str(dst)))
        return real_rename(src, dst, *a, **k)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", rename)
    return log


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name a file descriptor")
def test_fsync_of_the_complete_temporary_before_the_rename_then_the_folder(tmp_path, calls):
    path = str(tmp_path / "out.txt")
    atomic.atomic_write_text("hello world", path)
    tmp = f"{path}.tmp{os.getpid()}"
    assert calls == [("fsync", tmp, 11), ("replace", tmp, path), ("fsync", str(tmp_path), None)]
    with open(path, encoding="utf-8") as f:
        assert f.read() == "hello world"
    assert os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name a file descriptor")
def test_every_writer_goes_through_the_same_order(tmp_path, calls):
    for name, write in [("a.npz", lambda p: atomic.atomic_savez(p, x=np.arange(3))),
                        ("b.json", lambda p: atomic.atomic_write_json({"k": 1}, p)),
                        ("c.pdparams", lambda p: atomic.atomic_save({"w": np.zeros(2, np.float32)}, p))]:
        calls.clear()
        path = str(tmp_path / name)
        write(path)
        tmp = f"{path}.tmp{os.getpid()}"
        kinds = [(c[0], c[1]) for c in calls]
        assert kinds == [("fsync", tmp), ("replace", tmp), ("fsync", str(tmp_path))], name
        assert calls[0][2] == os.path.getsize(path)  # the whole file was on disk before the rename


def test_a_failing_fsync_renames_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old")
    renamed = []
    real_replace = os.replace

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    monkeypatch.setattr(os, "replace", lambda s, d: (renamed.append((s, d)), real_replace(s, d)))
    with pytest.raises(UserError, match="could not write .*Input/output error"):
        atomic.atomic_write_text("new", str(path))
    assert renamed == []
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]  # the temporary is removed

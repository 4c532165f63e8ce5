"""The one atomic writer: below a regular file, on a full disk, and the one-line report of disk errors."""

import errno

import pytest

from ppsci_ext.errors import UserError, exit_on_user_error
from ppsci_ext.io import atomic_savez, atomic_write_json, atomic_write_text


def test_a_path_below_a_regular_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    for write in (lambda p: atomic_write_text("a", p), lambda p: atomic_write_json({"a": 1}, p),
                  lambda p: atomic_savez(p, a=[1])):
        with pytest.raises(UserError, match="a part of its folder path is a regular file"):
            write(str(tmp_path / "file" / "sub" / "out.npz"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_savez_keeps_the_name_and_leaves_no_temporary(tmp_path):
    import numpy as np

    atomic_savez(str(tmp_path / "stats.npz"), mu=np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.npz"]


def test_a_full_disk_without_a_file_name_names_no_none(capsys):
    @exit_on_user_error
    def write():
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SystemExit):
        write()
    line = capsys.readouterr().err.strip()
    assert line.startswith("ERROR: No space left on device. Free disk space") and "None" not in line


FULL_DISK = r"""
import builtins, errno, gc, io, sys
import numpy as np
import ppsci_ext
from ppsci_ext.errors import UserError
from ppsci_ext.io import atomic_savez

real_open = builtins.open

class FullDisk(io.FileIO):
    written = 0
    def write(self, data):
        FullDisk.written += len(data)
        if FullDisk.written > 1000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

def fake_open(path, mode="r", *args, **kwargs):
    if ".tmp" in str(path) and "w" in mode:
        return FullDisk(path, "w")
    return real_open(path, mode, *args, **kwargs)

builtins.open = fake_open
try:
    atomic_savez(sys.argv[1], a=np.zeros((100, 100)))
except UserError as e:
    print("refused:", e)
gc.collect()
"""


def test_a_full_disk_leaves_no_partial_file_and_no_traceback(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "stats.npz"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(target)], capture_output=True, text=True)
    assert "refused: could not write" in proc.stdout and "No space left on device" in proc.stdout, proc.stdout
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []

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

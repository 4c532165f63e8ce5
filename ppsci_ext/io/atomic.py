"""The one atomic writer: every file the package writes goes through ``atomic_write``.

A file is written under a temporary name (``<name>.tmp<pid>``) in its own
folder, flushed to disk and renamed over the real name, so a kill or a full
disk never leaves a half-written file under the real name, and a failed write
removes its temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from typing import Any, Callable, List

import paddle

from ppsci_ext.errors import UserError

_TEMPORARY = re.compile(r"\.tmp(\d+)$")


def _fsync(path: str) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is atomic all the same
    finally:
        os.close(fd)


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` to write a temporary file, flush it to disk and rename it to ``path``.

    Raises:
        UserError: If the file cannot be written (disk full, no permission);
            whatever was at ``path`` before is left untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        os.makedirs(directory, exist_ok=True)
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if e.errno in (errno.EEXIST, errno.ENOTDIR):
            raise UserError(f"could not write {path}: a part of its folder path is a regular file, not a folder; "
                            "write it somewhere else.") from None
        raise UserError(
            f"could not write {path}: {e.strerror or e}. Free disk space or write to another, writable folder; "
            f"any previous {os.path.basename(path)} there is intact."
        ) from None
    _fsync_directory(directory)


def atomic_save(obj: Any, path: str) -> None:
    """``paddle.save`` to ``path`` through a temporary file and a rename (see ``atomic_write``)."""
    atomic_write(path, lambda tmp: paddle.save(obj, tmp))


def atomic_write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (see ``atomic_write``)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def atomic_savez(path: str, **arrays) -> None:
    """``np.savez`` to ``path`` atomically (see ``atomic_write``); the name is kept as given.

    The arrays are streamed into the temporary file, so memory holds no second
    copy of them (the decoded-images cache can be a gigabyte). The zip archive
    is closed here even when a write fails: numpy's own writer, interrupted by a
    full disk, would be left open and print a traceback when garbage-collected.
    """
    import zipfile

    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            archive = zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
            try:
                for name, value in arrays.items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
            finally:
                with contextlib.suppress(OSError, ValueError):  # the error that stopped the writing is reported
                    archive.close()

    atomic_write(path, write)


def atomic_write_json(obj: Any, path: str) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically (see ``atomic_write``)."""
    atomic_write_text(json.dumps(obj, indent=1), path)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: str) -> List[str]:
    """Delete ``*.tmp<pid>`` files that a killed writer left in ``directory``.

    Files of a process that still runs are kept. Returns the removed paths.
    """
    removed = []
    if not os.path.isdir(directory):
        return removed
    for name in sorted(os.listdir(directory)):
        match = _TEMPORARY.search(name)
        if match and int(match.group(1)) != os.getpid() and not _process_exists(int(match.group(1))):
            path = os.path.join(directory, name)
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass  # a leftover that cannot be removed harms nothing
    return removed

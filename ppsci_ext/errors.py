"""Errors a user can cause, reported as one clear message."""

from __future__ import annotations

import errno
import functools
import sys
from typing import Callable


class UserError(Exception):
    """A problem the user can fix: bad config, missing file, wrong checkpoint.

    The message says what is wrong and what to do. Example scripts print it
    without a traceback and exit with status 2.
    """


# File-system errors that the user's machine causes (full disk, quota, permissions, read-only mount).
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS})


def exit_on_user_error(func: Callable) -> Callable:
    """Decorate an entry point so a ``UserError`` ends in one line on stderr.

    So does an ``OSError`` of a full disk or a missing permission raised by any
    writer (pictures, logs, metrics); checkpoints are written atomically, so the
    previous ones stay intact.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as e:
            print(f"ERROR: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
        except OSError as e:
            if e.errno not in DISK_ERRNOS:
                raise
            print(f"ERROR: {e.strerror}: {e.filename}. Free disk space or fix the permissions, or choose "
                  f"another output_dir=...; finished checkpoints are intact.", file=sys.stderr, flush=True)
            sys.exit(2)

    return wrapper


def check_positive(value, name: str, whole: bool = False) -> None:
    """Raise ``UserError`` unless ``value`` is a positive number (a positive int with ``whole``)."""
    kinds = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        what = "whole number" if whole else "number"
        raise UserError(f"{name} must be a positive {what}, got {value!r}; set {name}=<{what} > 0>.")

"""Errors a user can cause, reported as one clear message."""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import numbers
import sys
from typing import Callable, Iterator


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
            print(f"ERROR: {' '.join(str(e).split())}", file=sys.stderr, flush=True)  # one line, whatever it quotes
            sys.exit(2)
        except OSError as e:
            if e.errno not in DISK_ERRNOS:
                raise
            where = f": {e.filename}" if e.filename else ""
            print(f"ERROR: {e.strerror}{where}. Free disk space or fix the permissions, or choose "
                  f"another output_dir=...; finished checkpoints are intact.", file=sys.stderr, flush=True)
            sys.exit(2)

    return wrapper


def check_positive(value, name: str, whole: bool = False) -> None:
    """Raise ``UserError`` unless ``value`` is a finite positive number (a positive integer with ``whole``)."""
    kinds = numbers.Integral if whole else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
        what = "whole number" if whole else "number"
        raise UserError(f"{name} must be a positive {what}, got {value!r}.")


def check_finite(values, what: str) -> None:
    """Raise ``UserError`` if ``values`` (an array or tensor) holds NaN or infinity, saying how many."""
    import numpy as np

    array = np.asarray(values.numpy() if hasattr(values, "numpy") else values)
    if np.issubdtype(array.dtype, np.floating):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise UserError(f"{what}: {bad} of {array.size} values are NaN or infinite; the generator has "
                            "diverged. Evaluate an earlier checkpoint, or train again with lower learning rates.")


@contextlib.contextmanager
def as_user_error(message: str) -> Iterator[None]:
    """Let a ``UserError`` raised in the block pass, and turn any other exception into one.

    For readers of files whose parsers raise many types on damaged input.
    ``message`` may hold ``{error}``, which becomes the exception's type and text.

    Examples:
        >>> from ppsci_ext.errors import as_user_error
        >>> with as_user_error("x.npz is not a readable .npz ({error})"):  # doctest: +SKIP
        ...     np.load("x.npz")
    """
    try:
        yield
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - the point is to catch what the parser raises
        raise UserError(message.replace("{error}", f"{type(e).__name__}: {' '.join(str(e).split())}")) from None


@contextlib.contextmanager
def about(subject: str) -> Iterator[None]:
    """Prefix a ``UserError`` raised in the block with ``subject`` (e.g. the config key whose value failed).

    Examples:
        >>> from ppsci_ext.errors import UserError, about
        >>> try:
        ...     with about("DATA.data_path=x.tar.gz"):
        ...         raise UserError("x.tar.gz does not exist")
        ... except UserError as e:
        ...     print(e)
        DATA.data_path=x.tar.gz: x.tar.gz does not exist
    """
    try:
        yield
    except UserError as e:
        raise type(e)(f"{subject}: {e}") from None

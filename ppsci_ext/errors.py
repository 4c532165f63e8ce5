"""Errors a user can cause, reported as one clear message."""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import numbers
import os
import signal
import sys
from typing import Callable, Iterator, List, Optional

from ppsci_ext.signals import Stopped, catch_stop_signals


class UserError(Exception):
    """A problem the user can fix: bad config, missing file, wrong checkpoint.

    The message says what is wrong and what to do. Example scripts print it
    without a traceback and exit with status 2.
    """


# File-system errors that the user's machine causes (full disk, quota, permissions, read-only mount).
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS})


# Run when an entry point ends on a user error (e.g. removing a refused run's empty folder), then the
# log files that also get the ERROR line (the run's log, when the run has one).
ON_USER_ERROR: List[Callable[[], object]] = []
ERROR_LOGS: List[str] = []


def on_user_error(action: Callable[[], object]) -> None:
    """Run ``action`` if the entry point ends on a user error (before the message is logged)."""
    ON_USER_ERROR.append(action)


def report(line: str, refused: bool = True) -> None:
    """Print the one-line ``ERROR:`` to stderr and append it to the run's log (see ``ERROR_LOGS``).

    ``refused``: the run ended on a user error, so the ``ON_USER_ERROR`` tidying runs first
    (a stop by a signal keeps everything the run made, its log included).
    """
    print(line, file=sys.stderr, flush=True)
    for action in ON_USER_ERROR if refused else ():
        try:
            action()
        except OSError:
            pass  # tidying up must never hide the message
    for path in ERROR_LOGS:
        try:
            if os.path.isdir(os.path.dirname(path) or "."):
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
        except OSError:
            pass  # a full or read-only disk: the message is on stderr already


def exit_on_user_error(func: Callable) -> Callable:
    """Decorate an entry point so a ``UserError`` ends in one line on stderr.

    So does an ``OSError`` of a full disk or a missing permission raised by any
    writer (pictures, logs, metrics); checkpoints are written atomically, so the
    previous ones stay intact.

    SIGINT (Ctrl-C) and SIGTERM end in one line too, with exit status 130 and
    143: while ``func`` runs they are handled by ``ppsci_ext.signals`` (the
    training loop stops at its next safe point and says what was kept and how
    to resume; anything else stops at once).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with catch_stop_signals(immediate=True):
                return func(*args, **kwargs)
        except UserError as e:
            _report(f"ERROR: {e}")
            sys.exit(2)
        except OSError as e:
            if e.errno not in DISK_ERRNOS:
                raise
            where = f": {e.filename}" if e.filename else ""
            _report(f"ERROR: {e.strerror}{where}. Free disk space or fix the permissions, or choose "
                    f"another output_dir=...; finished checkpoints are intact.")
            sys.exit(2)
        except Stopped as e:
            _report(str(e), refused=False)
            sys.exit(e.exit_status)
        except KeyboardInterrupt:  # a SIGINT that came where the handler was not installed (another thread's block)
            _report(str(Stopped(signal.SIGINT)), refused=False)
            sys.exit(128 + signal.SIGINT)

    return wrapper


def _report(message: str, refused: bool = True) -> None:
    """Report ``message`` as one line, whatever it quotes (``report``: stderr, the tidying, the run's log)."""
    report(" ".join(message.split()), refused)


def check_positive(value, name: str, whole: bool = False) -> None:
    """Raise ``UserError`` unless ``value`` is a finite positive number (a positive integer with ``whole``)."""
    kinds = numbers.Integral if whole else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
        what = "whole number" if whole else "number"
        raise UserError(f"{name} must be a positive {what}, got {value!r}.")


def check_number(value, name: str, low: Optional[float] = None, high: Optional[float] = None,
                 whole: bool = False, default=None, above: bool = False) -> None:
    """Raise ``UserError`` unless ``value`` is a finite number in ``[low, high]`` (a whole number with ``whole``).

    For command-line flags and API arguments: the message names the setting as
    ``name`` ("--batch-size", "seed"), quotes the value as it was given
    (``--batch-size 0``, ``seed=-1``) and says what it must be.

    Args:
        value: The value given.
        name (str): What the user calls it.
        low (Optional[float]): Smallest value allowed (None: no bound).
        high (Optional[float]): Largest value allowed (None: no bound).
        whole (bool): Only whole numbers (integers; not bools, not 2.0).
        default: Said in the message when given ("the default is 128").
        above (bool): ``low`` itself is not allowed (a learning rate > 0).

    Examples:
        >>> from ppsci_ext.errors import check_number
        >>> check_number(0, "--epochs", low=1, whole=True)
        Traceback (most recent call last):
        ...
        ppsci_ext.errors.UserError: --epochs 0 is not allowed: --epochs must be a whole number >= 1.
    """
    kinds = numbers.Integral if whole else numbers.Real
    ok = not isinstance(value, bool) and isinstance(value, kinds) and math.isfinite(value)
    ok = ok and (low is None or value > low or (value == low and not above)) and (high is None or value <= high)
    if ok:
        return
    kind = "whole number" if whole else "number"
    if low is not None and high is not None:
        bounds = f" from {low:,} to {high:,}" if whole else f" in {'(' if above else '['}{low}, {high}]"
    elif low is not None:
        bounds = f" {'>' if above else '>='} {low}"
    elif high is not None:
        bounds = f" <= {high}"
    else:
        bounds = " (finite)"
    hint = f" (the default is {default})" if default is not None else ""
    given = f"{name} {value!r}" if name.startswith("-") else f"{name}={value!r}"  # as typed: a flag, an argument
    raise UserError(f"{given} is not allowed: {name} must be a {kind}{bounds}{hint}.")


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

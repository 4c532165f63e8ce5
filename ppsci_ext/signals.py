"""Ending cleanly on SIGINT (Ctrl-C) and SIGTERM: training stops at a safe point, anything else at once.

Without this, Ctrl-C raises ``KeyboardInterrupt`` wherever the program
happens to be (a traceback of about a hundred lines) and SIGTERM reaches the
handler Paddle installs when it is imported, which prints its C++ stack
dump. While ``catch_stop_signals`` is active, both signals come here instead:

- in "deferred" mode (the training loop) the handler only records the signal;
  ``adversarial_epoch`` looks at ``pending()`` between generator iterations,
  where networks, optimizers, sampler and random state agree with each other,
  and the solver stops there;
- in "immediate" mode (evaluation, the rest of an entry point) there is no
  such point, and the handler raises ``Stopped`` at once. Every file the
  package writes is written atomically, so what was finished stays intact.

A second signal while one is pending stops at once in either mode, for a
run that does not reach its safe point soon. The entry points
(``ppsci_ext.errors.exit_on_user_error``) print the ``Stopped`` message as
one line and exit with 128 + the signal number (130 for SIGINT, 143 for
SIGTERM), as a shell does for a process the signal ended.

The handlers are installed only for the duration of the outermost context
(after Paddle was imported: its own are installed at import), and the previous
ones, Paddle's C-level handler included, are put back afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shlex
import signal
import sys
import threading
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

STOP_SIGNALS: Tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
# Bytes kept of a C ``struct sigaction``: more than it takes on every Linux and macOS ABI (152 on x86-64 glibc).
_SIGACTION_BYTES = 512


def signal_name(signum: int) -> str:
    """``"SIGINT (Ctrl-C)"``, ``"SIGTERM"``, ... for messages."""
    name = signal.Signals(signum).name
    return f"{name} (Ctrl-C)" if signum == signal.SIGINT else name


class Stopped(BaseException):
    """The program is ending because of SIGINT or SIGTERM; ``str()`` is the one line to print.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that the ``except
    Exception`` of readers and writers does not swallow it.

    Attributes:
        signum (int): The signal.
        where (str): Where it stopped ("at generator iteration 7 (epoch 3, iteration 1 of 2)",
            "during the evaluation after epoch 2", ...); set by the innermost code that knows.
    """

    def __init__(self, signum: int, message: str = "", where: str = ""):
        super().__init__(message or f"Stopped by {signal_name(signum)}; files written so far are complete (each is "
                                    "written atomically), nothing else was kept.")
        self.signum = int(signum)
        self.where = where

    @property
    def exit_status(self) -> int:
        """128 + the signal number: what a shell reports for a process the signal ended."""
        return 128 + self.signum

    def explained(self, message: str) -> "Stopped":
        """The same stop with ``message`` as its line."""
        return Stopped(self.signum, message, self.where)


class _State:
    """What the handler needs: the signal received (if any) and the current mode."""

    def __init__(self):
        self.pending: Optional[int] = None
        self.immediate = True
        self.depth = 0  # nesting of catch_stop_signals; the outermost one installs and restores
        self.saved: Dict[int, Tuple[object, Optional[bytes]]] = {}


_STATE = _State()


def pending() -> Optional[int]:
    """The stop signal received and not yet acted on, or None."""
    return _STATE.pending


def _handler(signum: int, frame) -> None:
    again = _STATE.pending is not None
    if not again:
        _STATE.pending = signum
    if _STATE.immediate or again:
        raise Stopped(signum)


def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def _raw_handler(signum: int) -> Optional[bytes]:
    """The C-level ``struct sigaction`` of ``signum``, which Python's ``signal.getsignal`` does not see
    (Paddle installs its handlers from C++); None where it cannot be read."""
    try:
        libc = _libc()
        if libc is None:
            return None
        buffer = ctypes.create_string_buffer(_SIGACTION_BYTES)
        if libc.sigaction(signum, None, buffer) != 0:
            return None
        return buffer.raw
    except (OSError, AttributeError):
        return None


def _restore_raw_handler(signum: int, raw: bytes) -> None:
    try:
        libc = _libc()
        if libc is not None:
            libc.sigaction(signum, ctypes.create_string_buffer(raw, len(raw)), None)
    except (OSError, AttributeError):
        pass  # Python's handler of before is back already; only a C-level one (Paddle's) is not


def _install() -> None:
    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)
        if previous == signal.SIG_IGN:
            continue  # ignored on purpose (nohup, a background job): keep it so
        _STATE.saved[signum] = (previous, _raw_handler(signum))
        signal.signal(signum, _handler)


def _restore() -> None:
    for signum, (previous, raw) in _STATE.saved.items():
        # Python's table first (None: a handler not installed from Python), then the C-level handler itself.
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        if raw is not None:
            _restore_raw_handler(signum, raw)
    _STATE.saved.clear()


@contextlib.contextmanager
def catch_stop_signals(immediate: bool) -> Iterator[None]:
    """Handle SIGINT and SIGTERM in the block: record them (``immediate=False``) or raise ``Stopped``.

    Nested blocks only switch the mode; the outermost one installs the
    handlers and restores the previous ones when it ends. Outside the main
    thread (where Python cannot install handlers) the block runs unchanged.

    Args:
        immediate (bool): Raise ``Stopped`` as soon as a signal arrives (and at
            the start of the block if one is pending). Otherwise only record it
            for ``pending()``; when the block ends inside an immediate one (or
            is the outermost), a signal recorded meanwhile is raised then.

    Raises:
        Stopped: As described above.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = _STATE.depth == 0
    if outermost:
        _STATE.pending = None
        _install()
    outer_mode = _STATE.immediate
    _STATE.immediate = immediate
    _STATE.depth += 1
    try:
        if immediate and _STATE.pending is not None:
            raise Stopped(_STATE.pending)
        yield
        if not immediate and outer_mode and _STATE.pending is not None:
            raise Stopped(_STATE.pending)  # recorded in a deferred block that ends where stopping is immediate
    finally:
        _STATE.depth -= 1
        _STATE.immediate = outer_mode
        if outermost:
            _restore()
            _STATE.pending = None
            _STATE.immediate = True


def deferred() -> contextlib.AbstractContextManager:
    """A block in which a signal is only recorded (e.g. a checkpoint being written): ``catch_stop_signals(False)``."""
    return catch_stop_signals(immediate=False)


def resume_command(checkpoint: str, output_dir: str, argv: Optional[Sequence[str]] = None) -> str:
    """The command that resumes this run: the same script and overrides, then the checkpoint and folder.

    Args:
        checkpoint (str): Full checkpoint to resume from.
        output_dir (str): Folder of the run.
        argv (Optional[Sequence[str]]): The command line (default ``sys.argv``): the script, then
            Hydra overrides; its ``TRAIN.checkpoint_path=`` and ``output_dir=`` are replaced.

    Returns:
        str: ``python SCRIPT OVERRIDES... TRAIN.checkpoint_path=CHECKPOINT output_dir=OUTPUT_DIR``,
        each word quoted for a POSIX shell where needed.

    Examples:
        >>> from ppsci_ext.signals import resume_command
        >>> resume_command("runs/a/checkpoints/latest.pdckpt", "runs/a", ["toy.py", "TRAIN.batch_size=8", "output_dir=a"])
        'python toy.py TRAIN.batch_size=8 TRAIN.checkpoint_path=runs/a/checkpoints/latest.pdckpt output_dir=runs/a'
    """
    argv = list(sys.argv if argv is None else argv)
    replaced = ("TRAIN.checkpoint_path", "output_dir")
    # Overrides may carry Hydra's "+" / "++" prefixes; those two keys are given anew either way.
    kept: List[str] = [word for word in argv[1:] if word.split("=", 1)[0].lstrip("+") not in replaced]
    words = ["python", argv[0] if argv else "SCRIPT", *kept,
             f"TRAIN.checkpoint_path={checkpoint}", f"output_dir={output_dir}"]
    return " ".join(shlex.quote(str(word)) for word in words)


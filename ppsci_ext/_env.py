"""CPU settings that must be chosen before Paddle loads.

Paddle's bundled MKL dispatches to slow generic kernels on AMD processors, and
Paddle pins OpenMP to one thread when ``OMP_NUM_THREADS`` is unset. Both halve
(or worse) the speed of GAN training on a CPU. ``configure_cpu`` fixes them by
setting environment defaults; a value the user has already set always wins.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

# ppsci log messages printed once per process, however often ppsci logs them (it logs this one per data loader).
ONCE_MESSAGES = ("Auto collation is disabled",)


class OnceFilter(logging.Filter):
    """Drops every repeat of the messages starting with one of ``ONCE_MESSAGES``."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for start in ONCE_MESSAGES:
            if message.startswith(start):
                if start in self.seen:
                    return False
                self.seen.add(start)
        return True


def quiet_repeats(name: str = "ppsci") -> None:
    """Attach ``OnceFilter`` to the logger ``name`` (kept when ppsci's ``init_logger`` replaces its handlers)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, OnceFilter) for f in logger.filters):
        logger.addFilter(OnceFilter())


def plain_colours(stream=None) -> bool:
    """No ANSI colour codes in ppsci's log lines when they do not go to a terminal (``NO_COLOR=1``).

    ppsci's logger colours its stdout lines with colorlog, which writes the codes
    into files and pipes too. colorlog honours ``NO_COLOR``; it is set here only
    when stdout is not a terminal and neither ``NO_COLOR`` nor ``FORCE_COLOR`` is
    set by the user. Returns whether it was set.
    """
    stream = sys.stdout if stream is None else stream
    if "NO_COLOR" in os.environ or "FORCE_COLOR" in os.environ:
        return False
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        terminal = False
    if terminal:
        return False
    os.environ["NO_COLOR"] = "1"
    return True


def _cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def configure_cpu() -> dict:
    """Set CPU kernel dispatch and thread count defaults for Paddle.

    Returns:
        dict: The environment variables this call set (empty if the user had
            set them all, or if Paddle was already loaded and it is too late).
    """
    changed = {}
    plain_colours()
    quiet_repeats()
    if "paddle" in sys.modules:
        return changed
    if _cpu_vendor() == "AuthenticAMD" and "MKL_DEBUG_CPU_TYPE" not in os.environ:
        # MKL's AVX2 code path, which it otherwise reserves for Intel CPUs.
        changed["MKL_DEBUG_CPU_TYPE"] = "5"
    if "OMP_NUM_THREADS" not in os.environ:
        changed["OMP_NUM_THREADS"] = str(_usable_cores())
    os.environ.update(changed)
    # Paddle warns about a missing compiler cache on import; it is irrelevant here.
    warnings.filterwarnings("ignore", message="No ccache found")
    if os.environ.get("OMP_NUM_THREADS", "1").strip() != "1":  # ours or the user's: the warning is the same
        _import_paddle_without_omp_warning()
    return changed


def _import_paddle_without_omp_warning() -> None:
    """Import Paddle without the two-line OMP_NUM_THREADS warning that any thread count above 1 triggers.

    Paddle prints it on import whenever OMP_NUM_THREADS > 1, because OpenBLAS
    builds cannot use several threads. The PyPI wheels use MKL, where the
    warning does not apply, so it is dropped for them; on an OpenBLAS build it
    is printed as usual. Everything else Paddle prints on import is kept.
    """
    import contextlib
    import io

    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        import paddle
    lines = captured.getvalue().splitlines(keepends=True)
    if getattr(paddle.version, "with_mkl", "OFF") == "ON":
        lines = [line for line in lines if not line.startswith(("WARNING: OMP_NUM_THREADS set to",
                                                                "PLEASE USE OMP_NUM_THREADS WISELY"))]
    sys.stderr.write("".join(lines))

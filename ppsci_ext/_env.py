"""CPU settings that must be chosen before Paddle loads.

Paddle's bundled MKL dispatches to slow generic kernels on AMD processors, and
Paddle pins OpenMP to one thread when ``OMP_NUM_THREADS`` is unset. Both halve
(or worse) the speed of GAN training on a CPU. ``configure_cpu`` fixes them by
setting environment defaults; a value the user has already set always wins.
"""

from __future__ import annotations

import os
import sys
import warnings


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
    if "OMP_NUM_THREADS" in changed:
        _import_paddle_without_omp_warning()
    return changed


def _import_paddle_without_omp_warning() -> None:
    """Import Paddle without the two-line OMP_NUM_THREADS warning that the thread default above triggers.

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

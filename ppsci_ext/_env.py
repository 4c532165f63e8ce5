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
    return changed

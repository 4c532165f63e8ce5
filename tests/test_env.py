"""Importing the package sets the CPU defaults without Paddle's OpenBLAS warning (the wheels use MKL)."""

import os
import subprocess
import sys

import pytest


def test_import_prints_no_omp_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE")}
    proc = subprocess.run([sys.executable, "-c", "import ppsci_ext, os; print(os.environ['OMP_NUM_THREADS'])"],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) >= 1
    assert "OMP_NUM_THREADS" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("threads", [None, "2", "3"])
def test_no_thread_warning_on_import_whoever_set_the_threads(threads):
    """Paddle's OpenBLAS warning does not apply to the MKL wheels: it is dropped whether the package or the user
    chose the thread count (a one-line error stays one line, also under a test runner that exports the count)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    proc = subprocess.run([sys.executable, "-c", "import ppsci_ext, os; print(os.environ['OMP_NUM_THREADS'])"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "OMP_NUM_THREADS" not in proc.stderr and "WISELY" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == (threads or str(len(os.sched_getaffinity(0))))

"""Importing the package sets the CPU defaults without Paddle's OpenBLAS warning (the wheels use MKL)."""

import os
import subprocess
import sys


def test_import_prints_no_omp_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE")}
    proc = subprocess.run([sys.executable, "-c", "import ppsci_ext, os; print(os.environ['OMP_NUM_THREADS'])"],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) >= 1
    assert "OMP_NUM_THREADS" not in proc.stderr, proc.stderr

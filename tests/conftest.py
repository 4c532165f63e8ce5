import os
import subprocess
import sys

import ppsci_ext  # noqa: F401  (before paddle: CPU defaults)
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "wgangp")


def run_example(script: str, *overrides: str, cwd: str) -> subprocess.CompletedProcess:
    """Run an example script the way a user does, capturing its output."""
    cmd = [sys.executable, os.path.join(EXAMPLES, script), *overrides]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)


@pytest.fixture
def example():
    return run_example

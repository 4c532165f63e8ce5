import os
import subprocess
import sys

import ppsci_ext  # noqa: F401  (before paddle: CPU defaults)
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Hermetic: `EVAL.inception_weights_path=auto` must never reach the internet from a test. An unreachable
# mirror makes a test that forgets to choose its weights fail at once with the offline message; the
# download itself is tested against a local server (tests/io/test_download.py). Subprocesses inherit this.
os.environ["PPSCI_EXT_INCEPTION_URL"] = "http://127.0.0.1:9/tests-have-no-network/pt_inception-2015-12-05-6726825d.pth"
os.environ["TORCH_HOME"] = os.path.join(ROOT, ".no-torch-home-in-tests")
EXAMPLES = os.path.join(ROOT, "examples", "wgangp")


def run_example(script: str, *overrides: str, cwd: str) -> subprocess.CompletedProcess:
    """Run an example script the way a user does, capturing its output."""
    cmd = [sys.executable, os.path.join(EXAMPLES, script), *overrides]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)


@pytest.fixture
def example():
    return run_example

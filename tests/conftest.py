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


def benchmark_module(name: str):
    """Import ``benchmarks/<name>.py`` for the duration of a ``with`` (a generator for module-scope fixtures)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def write_bad_point_files(folder):
    """Point files (``DATA.mode=file``) with every problem the reader names: [(kind, path, phrases of its message)]."""
    import pickle
    import zipfile

    import numpy as np

    folder = str(folder)

    def path(name):
        return os.path.join(folder, name)

    def text(name, content):
        with open(path(name), "w", encoding="utf-8", newline="") as f:
            f.write(content)
        return path(name)

    good = path("good.npy")
    np.save(good, np.arange(200, dtype=np.float64).reshape(100, 2))
    with open(good, "rb") as f:
        good_bytes = f.read()
    np.savez(path("good.npz"), x=np.ones((50, 3)))
    with open(path("good.npz"), "rb") as f:
        npz_bytes = f.read()
    with open(path("truncated.npy"), "wb") as f:
        f.write(good_bytes[:len(good_bytes) - 40])
    with open(path("cut_header.npy"), "wb") as f:
        f.write(good_bytes[:60])
    with open(path("truncated.npz"), "wb") as f:
        f.write(npz_bytes[:len(npz_bytes) // 2])
    with zipfile.ZipFile(path("bad_member.npz"), "w") as z:  # a complete archive whose array is cut
        z.writestr("x.npy", good_bytes[:len(good_bytes) - 40])
    np.save(path("object.npy"), np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.savez(path("object.npz"), x=np.array([[1, None]], dtype=object))
    with open(path("pickled.npy"), "wb") as f:
        f.write(pickle.dumps({"x": [1.0, 2.0]}))
    np.save(path("three_d.npy"), np.zeros((10, 2, 2)))
    np.save(path("one_point.npy"), np.ones((1, 3)))
    np.save(path("text.npy"), np.array(["1.0", "2.0"]))
    np.save(path("nan.npy"), np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, np.inf], [4.0, 5.0]]))
    np.savez(path("several.npz"), a=np.ones((5, 2)), b=np.ones((5, 2)))
    np.savez(path("nothing.npz"))
    with open(path("empty.npy"), "wb"):
        pass
    return [
        ("missing", path("missing.csv"), ["does not exist"]),
        ("a folder", folder, ["is a folder"]),
        ("unknown extension", text("points.txt", "1,2\n3,4\n"), ["unknown extension '.txt'", ".npy, .npz or .csv"]),
        ("empty csv", text("empty.csv", ""), ["is empty"]),
        ("empty npy", path("empty.npy"), ["is empty"]),
        ("only a header", text("header.csv", "x,y\n"), ["header line", "no points"]),
        ("only comments", text("blank.csv", "# nothing\n\n"), ["holds no points"]),
        ("truncated npy", path("truncated.npy"), ["truncated"]),
        ("npy cut in its header", path("cut_header.npy"), ["truncated"]),
        ("truncated npz", path("truncated.npz"), ["truncated or damaged"]),
        ("damaged npz member", path("bad_member.npz"), ["truncated"]),
        ("not numpy", text("fake.npy", "1,2\n3,4\n"), ["not a .npy file"]),
        ("non-numeric cell", text("word.csv", "x,y\n1,2\n3,abc\n5,6\n"), ["line 3", "'abc'", "not a number"]),
        ("empty cell", text("hole.csv", "1,2\n3,\n"), ["line 2", "empty"]),
        ("spaces for commas", text("spaces.csv", "1 2\n3 4\n"), ["line 1", "separated by commas"]),
        ("ragged rows", text("ragged.csv", "1,2\n3,4\n5,6,7\n"), ["line 3 has 3 values", "line 1 has 2", "ragged"]),
        ("not text", _binary(path("binary.csv")), ["not UTF-8 text"]),
        ("NaN in csv", text("nan.csv", "1,2\n3,nan\n5,6\ninf,1\n"), ["1 NaN and 1 infinite", "2 of its 4 points",
                                                                      "line 2, dimension 2"]),
        ("NaN in npy", path("nan.npy"), ["1 NaN and 1 infinite", "point 2, dimension 1"]),
        ("three dimensions", path("three_d.npy"), ["3 dimensions", "[10, 2, 2]", "reshape"]),
        ("one point", path("one_point.npy"), ["holds 1 point", "at least 2"]),
        ("one csv line", text("one.csv", "x,y\n1,2\n"), ["holds 1 point", "at least 2"]),
        ("object npy", path("object.npy"), ["object array", "refused"]),
        ("object npz", path("object.npz"), ["object array", "refused", "'x'"]),
        ("pickled", path("pickled.npy"), ["pickled", "refused"]),
        ("text npy", path("text.npy"), ["holds text", "not numbers"]),
        ("several arrays", path("several.npz"), ["2 arrays (a, b)", "none is named x or points"]),
        ("no arrays", path("nothing.npz"), ["holds no arrays"]),
    ]


def _binary(path):
    with open(path, "wb") as f:
        f.write(b"\xff\xfe\x00\x01binary")
    return path

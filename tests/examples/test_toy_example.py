"""End-to-end runs of examples/wgangp/wgangp_toy.py, as a user runs it."""

import hashlib
import json
import math

import pytest

SMALL = ["MODEL.width=16", "DATA.num_train_samples=4000", "DATA.num_eval_samples=400", "VIS.num_points=200",
         "TRAIN.batch_size=64", "TRAIN.n_critic=2", "TRAIN.iters_per_epoch=3", "TRAIN.eval_freq=1", "log_freq=1",
         "EVAL.batch_size=200"]


def _metrics(path):
    data = json.loads(path.read_text())
    assert data["metrics"], data
    assert all(math.isfinite(v) for v in data["metrics"].values())
    return data


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import run_example

    out = tmp_path_factory.mktemp("train")
    proc = run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=2", *SMALL, cwd=str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc


def test_train_writes_checkpoints_pictures_metrics(trained):
    out, proc = trained
    for name in ["latest.pdckpt", "latest_gen.pdparams", "latest_dis.pdparams", "best_gen.pdparams"]:
        assert (out / "checkpoints" / name).stat().st_size > 0
    assert not list((out / "checkpoints").glob("*.tmp*"))
    for name in ["toy_epoch_1.png", "toy_epoch_2.png", "training_curves.png"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = _metrics(out / "metrics.json")
    assert {"toy.modes", "toy.high_quality", "toy.swd"} <= set(data["metrics"])
    log = (out / "train.log").read_text()
    for word in ["wasserstein", "gradient_penalty", "critic_loss", "generator_loss", "lr:", "eta:"]:
        assert word in log
    history = json.loads((out / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == list(range(1, 7))


def test_resume_continues_from_saved_step(trained, tmp_path, example):
    out, _ = trained
    ckpt = out / "checkpoints" / "latest.pdckpt"
    before = _digest(ckpt)
    proc = example("wgangp_toy.py", f"output_dir={tmp_path}", "TRAIN.epochs=3", f"TRAIN.checkpoint_path={ckpt}", *SMALL,
                   cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((tmp_path / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == list(range(1, 10))  # 6 restored + 3 new
    assert "Resumed from" in (tmp_path / "train.log").read_text()
    assert _digest(ckpt) == before


def test_eval_of_trained_weights(trained, tmp_path, example):
    out, _ = trained
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path}", *SMALL,
                   f"EVAL.pretrained_gen_model_path={out / 'checkpoints' / 'latest_gen.pdparams'}",
                   f"EVAL.pretrained_dis_model_path={out / 'checkpoints' / 'latest_dis.pdparams'}", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "toy_eval.png").exists()
    assert _metrics(tmp_path / "metrics.json")["generator"].endswith("latest_gen.pdparams")


def _assert_user_error(proc, *phrases):
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error_lines) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in error_lines[0], error_lines[0]


@pytest.mark.parametrize("override,phrases", [
    ("DATA.mode=moons", ["DATA.mode='moons' is not allowed", "25gaussians"]),
    ("TRAIN.batch_size=0", ["TRAIN.batch_size=0 is not allowed", "a whole number >= 1"]),
    ("TRAIN.n_critic=0", ["TRAIN.n_critic=0 is not allowed", "a whole number >= 1"]),
    ("TRAIN.batch_size=-5", ["TRAIN.batch_size=-5 is not allowed", "a whole number >= 1"]),
])
def test_bad_config_values(tmp_path, example, override, phrases):
    proc = example("wgangp_toy.py", f"output_dir={tmp_path}", "TRAIN.epochs=1", *SMALL, override, cwd=str(tmp_path))
    _assert_user_error(proc, *phrases)


def test_missing_pretrained_path(tmp_path, example):
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path}",
                   f"EVAL.pretrained_gen_model_path={tmp_path / 'missing.pdparams'}", cwd=str(tmp_path))
    _assert_user_error(proc, "missing.pdparams does not exist")


def test_checkpoint_of_other_architecture(trained, tmp_path, example):
    out, _ = trained
    gen = out / "checkpoints" / "latest_gen.pdparams"
    # eval reads the width from the file: a contradicting MODEL.width on the command line is refused
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path}", *SMALL, "MODEL.width=32",
                   f"EVAL.pretrained_gen_model_path={gen}", cwd=str(tmp_path))
    _assert_user_error(proc, "MODEL.width=32 contradicts", str(gen), "MODEL.width=16")
    # weights of another experiment fail the key and shape check, listing the differences
    from ppsci_ext.pretrained import shipped_weights

    mnist_gen = shipped_weights("mnist", "cpu")[0]
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path}", f"EVAL.pretrained_gen_model_path={mnist_gen}",
                   cwd=str(tmp_path))
    _assert_user_error(proc, "different generator architecture", "missing net.0.weight")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(trained, tmp_path, example):
    out, _ = trained
    ckpt = out / "checkpoints" / "latest.pdckpt"
    before = _digest(ckpt)
    proc = example("wgangp_toy.py", f"output_dir={tmp_path}", "TRAIN.epochs=3", f"TRAIN.checkpoint_path={ckpt}",
                   "TRAIN.lr_critic=1e38", "TRAIN.lr_generator=1e38", "TRAIN.allow_resume_changes=true", *SMALL,
                   cwd=str(tmp_path))
    _assert_user_error(proc, "diverged", "generator iteration 8", str(ckpt))
    assert _digest(ckpt) == before
    assert not (tmp_path / "checkpoints" / "latest.pdckpt").exists()


def test_unknown_mode(tmp_path, example):
    proc = example("wgangp_toy.py", "mode=predict", f"output_dir={tmp_path}", cwd=str(tmp_path))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr


def test_eval_without_path_uses_shipped_weights(tmp_path, example):
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path}", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _metrics(tmp_path / "metrics.json")
    assert data["generator"].endswith("wgangp_toy_8gaussians_gen.pdparams")
    assert data["metrics"]["toy.modes"] == 8 and data["metrics"]["toy.high_quality"] >= 0.8
    assert (tmp_path / "toy_eval.png").exists()

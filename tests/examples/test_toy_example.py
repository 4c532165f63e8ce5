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
    error = [line for line in proc.stderr.splitlines() if line.startswith("ERROR: ")][0]
    assert (tmp_path / "train.log").read_text().splitlines()[-1] == error  # the run's log has the reason too
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


# ------------------------------------------------------------------ DATA.mode=file: the user's own N x D points
FILE_SMALL = ["MODEL.width=16", "DATA.num_eval_samples=300", "VIS.num_points=100", "TRAIN.batch_size=32",
              "TRAIN.n_critic=2", "TRAIN.iters_per_epoch=3", "TRAIN.eval_freq=1", "log_freq=1", "EVAL.batch_size=100"]


def _train_on(tmp_path, data_path, *extra):
    out = tmp_path / "run"
    from conftest import run_example

    proc = run_example("wgangp_toy.py", "DATA.mode=file", f"DATA.data_path={data_path}", f"output_dir={out}",
                       "TRAIN.epochs=2", *FILE_SMALL, *extra, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _file_metrics(out, dim):
    data = _metrics(out / "metrics.json")
    assert {"toy.swd", "toy.mmd"} <= set(data["metrics"]), data
    assert not {"toy.modes", "toy.reverse_kl"} & set(data["metrics"])
    assert data["data"] == "file" and data["data_dim"] == dim
    return data


@pytest.fixture(scope="module")
def points_2d(tmp_path_factory):
    """A D = 2 .npy of mean 100 and std 5, and a short run on it."""
    import numpy as np

    folder = tmp_path_factory.mktemp("points_2d")
    x = (np.random.default_rng(0).standard_normal((600, 2)) * 5.0 + 100.0).astype(np.float32)
    np.save(folder / "points.npy", x)
    return x, _train_on(folder, folder / "points.npy")


def test_file_mode_trains_on_a_1d_csv(tmp_path):
    import numpy as np

    values = np.random.default_rng(1).standard_normal(200) * 2.0 + 10.0
    (tmp_path / "heights.csv").write_text("height\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")
    out = _train_on(tmp_path, tmp_path / "heights.csv")
    data = _file_metrics(out, 1)
    assert data["num_samples"] == 200  # fewer points than DATA.num_eval_samples: all of them are scored
    assert data["dim_names"] == ["height"]
    assert np.allclose(data["data_mean"], [values.mean()], rtol=1e-5)
    for name in ["toy_epoch_1.png", "toy_epoch_2.png", "training_curves.png"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_file_mode_checkpoints_carry_the_statistics(points_2d):
    import numpy as np
    import paddle

    from ppsci_ext.solver import load_checkpoint

    x, out = points_2d
    data = _file_metrics(out, 2)
    for name in ["toy_epoch_1.png", "toy_epoch_2.png"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mean, std = x.astype(np.float64).mean(0), x.astype(np.float64).std(0)
    assert np.allclose(data["data_mean"], mean, rtol=1e-6) and np.allclose(data["data_std"], std, rtol=1e-5)
    generators = [load_checkpoint(str(out / "checkpoints" / "latest.pdckpt"))["generator"],
                  paddle.load(str(out / "checkpoints" / "latest_gen.pdparams")),
                  paddle.load(str(out / "checkpoints" / "best_gen.pdparams"))]
    for state in generators:
        assert np.allclose(np.asarray(state["data_mean"]), mean, rtol=1e-6)
        assert np.allclose(np.asarray(state["data_std"]), std, rtol=1e-5)
    assert "data_mean" not in paddle.load(str(out / "checkpoints" / "latest_dis.pdparams"))


def test_file_mode_eval_of_a_pdparams_maps_samples_back_to_data_space(points_2d, tmp_path, example):
    import numpy as np

    from ppsci_ext.arch import ToyGenerator
    from ppsci_ext.io.weights import load_checked, load_file

    x, out = points_2d
    gen = out / "checkpoints" / "latest_gen.pdparams"
    proc = example("wgangp_toy.py", "mode=eval", "DATA.mode=file", f"DATA.data_path={out.parent / 'points.npy'}",
                   f"output_dir={tmp_path}", f"EVAL.pretrained_gen_model_path={gen}", "DATA.num_eval_samples=300",
                   "VIS.num_points=100", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _file_metrics(tmp_path, 2)
    assert data["model"] == {"noise_dim": 2, "width": 16, "hidden_layers": 3, "data_dim": 2, "standardized": True}
    assert {"prdc.precision", "prdc.coverage"} <= set(data["metrics"])
    # the generated points are in the data's units (an untrained or short-trained generator gives about mean 100)
    assert np.all(np.abs(np.array(data["sample_mean"]) - 100.0) < 15.0), data["sample_mean"]
    assert (tmp_path / "toy_eval.png").is_file()
    # the standardisation round trip of the weights file is exact (to float32 rounding)
    generator = ToyGenerator(width=16, out_dim=2, data_mean=np.zeros(2), data_std=np.ones(2))
    load_checked(generator, load_file(str(gen)), "generator", str(gen))
    np.testing.assert_allclose(generator.to_data(generator.from_data(x)), x, rtol=1e-6)
    assert np.allclose(generator.statistics()[0], x.astype(np.float64).mean(0), rtol=1e-6)


def test_file_mode_on_a_5d_npz_with_a_pair_plot(tmp_path, example):
    import numpy as np

    x = np.random.default_rng(2).standard_normal((400, 5)) * [1, 2, 3, 4, 5]
    x[:, 2] = 7.0  # a constant dimension
    np.savez(tmp_path / "points.npz", x=x, labels=np.arange(400))
    out = _train_on(tmp_path, tmp_path / "points.npz", "VIS.pair_dims=3")
    data = _file_metrics(out, 5)
    assert data["data_std"][2] == 1.0 and data["data_mean"][2] == 7.0
    assert "dimension 3 is constant" in (out / "train.log").read_text()
    assert (out / "toy_epoch_2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # eval of the full checkpoint: D is read off its weights, the critic comes with it
    proc = example("wgangp_toy.py", "mode=eval", "DATA.mode=file", f"DATA.data_path={tmp_path / 'points.npz'}",
                   f"output_dir={tmp_path / 'eval'}",
                   f"EVAL.pretrained_gen_model_path={out / 'checkpoints' / 'latest.pdckpt'}",
                   "DATA.num_eval_samples=300", "VIS.num_points=100", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _file_metrics(tmp_path / "eval", 5)
    assert data["critic"].endswith("latest.pdckpt") and len(data["sample_mean"]) == 5
    assert abs(data["sample_mean"][2] - 7.0) < 3.0
    assert (tmp_path / "eval" / "toy_eval.png").is_file()


@pytest.mark.parametrize("kind", ["missing", "ragged rows", "object npy", "NaN in csv"])
def test_a_bad_point_file_ends_in_one_message(tmp_path, example, kind):
    from conftest import write_bad_point_files

    cases = {k: (path, phrases) for k, path, phrases in write_bad_point_files(tmp_path)}
    path, phrases = cases[kind]
    proc = example("wgangp_toy.py", "DATA.mode=file", f"DATA.data_path={path}", f"output_dir={tmp_path / 'out'}",
                   *FILE_SMALL, cwd=str(tmp_path))
    _assert_user_error(proc, f"DATA.data_path={path}: ", *phrases)
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_file_mode_eval_needs_weights(tmp_path, example):
    # DATA.mode=file without DATA.data_path, and DATA.data_path with another mode: test_config_boundary.py
    proc = example("wgangp_toy.py", "mode=eval", "DATA.mode=file", "DATA.data_path=points.npy",
                   f"output_dir={tmp_path / 'out'}", cwd=str(tmp_path))
    _assert_user_error(proc, "mode=eval with DATA.mode=file needs EVAL.pretrained_gen_model_path",
                       "no weights are shipped")


def test_file_weights_and_generated_data_are_not_mixed_up(points_2d, tmp_path, example):
    _, out = points_2d
    gen = out / "checkpoints" / "latest_gen.pdparams"
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path / 'a'}",
                   f"EVAL.pretrained_gen_model_path={gen}", cwd=str(tmp_path))
    _assert_user_error(proc, "trained on a data file", "DATA.mode=file")
    from ppsci_ext.pretrained import shipped_weights

    proc = example("wgangp_toy.py", "mode=eval", "DATA.mode=file", f"DATA.data_path={out.parent / 'points.npy'}",
                   f"output_dir={tmp_path / 'b'}",
                   f"EVAL.pretrained_gen_model_path={shipped_weights('toy', '8gaussians')[0]}",
                   cwd=str(tmp_path))
    _assert_user_error(proc, "not trained on a data file")

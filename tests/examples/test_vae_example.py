"""examples/wgangp/vae_mnist.py end to end: the VAE baseline trains tiny, resumes exactly, and mode=eval scores
its decoded digits with the MNIST metrics and its encoder with the test ELBO; the GAN's keys are not its keys."""

import json
import math
import re

import numpy as np
import paddle
import pytest

from mnist_fixtures import write_small_mnist

SMALL = ["MODEL.noise_dim=3", "MODEL.hidden_dim=8", "TRAIN.batch_size=10", "TRAIN.iters_per_epoch=2",
         "TRAIN.eval_freq=1", "log_freq=1", "EVAL.num_samples=60", "EVAL.batch_size=30", "VIS.every=1"]
TEST_DIGITS = 100  # the test split of write_small_mnist


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    return write_small_mnist(tmp_path_factory.mktemp("data") / "mnist.pkl.gz")


def _train(root, name, data, *extra):
    from conftest import run_example

    out = root / name
    proc = run_example("vae_mnist.py", f"output_dir={out}", f"DATA.data_path={data}", *SMALL, *extra, cwd=str(root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_data):
    """Two epochs straight, and the same run stopped after one epoch then resumed for the second."""
    root = tmp_path_factory.mktemp("vae")
    full = _train(root, "full", small_data, "TRAIN.epochs=2")
    half = _train(root, "half", small_data, "TRAIN.epochs=1")
    resumed = _train(root, "resumed", small_data, "TRAIN.epochs=2",
                     f"TRAIN.checkpoint_path={half / 'checkpoints' / 'latest.pdckpt'}")
    return {"root": root, "full": full, "half": half, "resumed": resumed}


def _metrics(folder):
    data = json.loads((folder / "metrics.json").read_text())
    assert all(math.isfinite(v) for v in data["metrics"].values()), data
    return data


def _elbo_parts_agree(metrics):
    assert metrics["vae.elbo"] == pytest.approx(-(metrics["vae.reconstruction"] + metrics["vae.kl"]), rel=1e-9)
    assert metrics["vae.kl"] >= 0 and 0 < metrics["vae.reconstruction"] < 784 * math.log(2) * 1.5


def test_training_writes_the_encoder_and_decoder_and_scores_both(runs):
    full = runs["full"]
    for name in ["latest.pdckpt", "best.pdckpt", "latest_gen.pdparams", "latest_enc.pdparams"]:
        assert (full / "checkpoints" / name).stat().st_size > 0, name
    assert not (full / "checkpoints" / "latest_dis.pdparams").exists()
    decoder = paddle.load(str(full / "checkpoints" / "latest_gen.pdparams"))
    encoder = paddle.load(str(full / "checkpoints" / "latest_enc.pdparams"))
    assert list(decoder["fc1.weight"].shape) == [3, 8] and list(decoder["fc2.weight"].shape) == [8, 784]
    assert list(encoder["fc2.weight"].shape) == [8, 6]  # mean and log-variance of T = 3
    data = _metrics(full)
    assert data["experiment"] == "vae_mnist" and data["step"] == 4
    assert {"mnist.score", "mnist.frechet", "vae.elbo", "vae.reconstruction", "vae.kl"} <= set(data["metrics"])
    _elbo_parts_agree(data["metrics"])
    assert data["sample_sizes"]["vae"] == {"real": TEST_DIGITS}
    history = json.loads((full / "train_history.json").read_text())
    assert [r["step"] for r in history["eval"]] == [2, 4]
    assert all("vae.elbo" in r for r in history["eval"])
    # one update per iteration: the training log has the loss and its two terms, and no critic
    assert [r["step"] for r in history["train"]] == [1, 2, 3, 4]
    for record in history["train"]:
        assert record["vae_loss"] == pytest.approx(record["reconstruction"] + record["kl"], rel=1e-5)
        assert "gradient_penalty" not in record


def test_a_resumed_run_ends_where_the_uninterrupted_one_does(runs):
    for part in ("gen", "enc"):
        a = paddle.load(str(runs["full"] / "checkpoints" / f"latest_{part}.pdparams"))
        b = paddle.load(str(runs["resumed"] / "checkpoints" / f"latest_{part}.pdparams"))
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(b[key].numpy(), a[key].numpy(), err_msg=f"{part}.{key}")
    histories = [json.loads((runs[k] / "train_history.json").read_text()) for k in ("full", "resumed")]
    assert [r["vae_loss"] for r in histories[1]["train"]] == [r["vae_loss"] for r in histories[0]["train"]]
    assert _metrics(runs["resumed"])["metrics"] == _metrics(runs["full"])["metrics"]


def test_the_log_counts_updates_not_generator_iterations(runs):
    """A VAE step is one update of both networks: checkpoint and resume lines say so."""
    log = (runs["resumed"] / "train.log").read_text()
    assert re.search(r"Resumed from \S+latest.pdckpt at epoch 1 \(update 2\)", log), log[-2000:]
    assert re.search(r"Saved checkpoint \S+latest.pdckpt \(update 4\)", log), log[-2000:]
    assert "generator iteration" not in log


def test_eval_of_a_checkpoint_scores_digits_and_the_test_elbo(runs, small_data, example):
    root, full = runs["root"], runs["full"]
    out = root / "eval"
    proc = example("vae_mnist.py", "mode=eval", f"output_dir={out}", f"DATA.data_path={small_data}",
                   f"EVAL.pretrained_gen_model_path={full / 'checkpoints' / 'latest.pdckpt'}", "EVAL.num_samples=60",
                   "EVAL.batch_size=30", cwd=str(root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _metrics(out)
    metrics = data["metrics"]
    assert {"mnist.score", "mnist.frechet", "mnist.precision", "mnist.coverage", "vae.elbo"} <= set(metrics)
    _elbo_parts_agree(metrics)
    # the same weights, test digits and noise as the run's last evaluation
    assert metrics["vae.elbo"] == pytest.approx(_metrics(full)["metrics"]["vae.elbo"], rel=1e-6)
    assert data["sample_sizes"]["vae"] == {"real": TEST_DIGITS}
    assert f"(n={TEST_DIGITS} real)" in proc.stdout + proc.stderr
    assert (out / "samples_eval.png").is_file() and (out / "interpolation.png").is_file()


def test_eval_of_weights_files_needs_the_encoder_for_the_elbo(runs, small_data, example):
    root, checkpoints = runs["root"], runs["full"] / "checkpoints"
    common = [f"DATA.data_path={small_data}", f"EVAL.pretrained_gen_model_path={checkpoints / 'latest_gen.pdparams'}",
              "EVAL.num_samples=60", "EVAL.batch_size=30"]
    alone = example("vae_mnist.py", "mode=eval", f"output_dir={root / 'alone'}", *common, cwd=str(root))
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "mnist.score" in _metrics(root / "alone")["metrics"]
    assert "vae.elbo" not in _metrics(root / "alone")["metrics"]
    paired = example("vae_mnist.py", "mode=eval", f"output_dir={root / 'paired'}", *common,
                     f"EVAL.pretrained_enc_model_path={checkpoints / 'latest_enc.pdparams'}", cwd=str(root))
    assert paired.returncode == 0, paired.stderr[-3000:]
    assert _metrics(root / "paired")["metrics"]["vae.elbo"] == pytest.approx(
        _metrics(runs["full"])["metrics"]["vae.elbo"], rel=1e-6)


@pytest.mark.parametrize("override", ["TRAIN.n_critic=2", "LOSS.gp_lambda=5", "TRAIN.lr_generator=1e-3",
                                      "MODEL.critic_dim=8"])
def test_the_gans_keys_are_refused(tmp_path, small_data, example, override):
    proc = example("vae_mnist.py", f"output_dir={tmp_path / 'out'}", f"DATA.data_path={small_data}", override,
                   cwd=str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1 and override.split("=")[0] in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_help_lists_the_vaes_keys_only(tmp_path, example):
    proc = example("vae_mnist.py", "--help", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    keys = [line.split("=")[0].strip() for line in proc.stdout.splitlines() if line.startswith("  ") and "=" in line]
    for key in ["MODEL.noise_dim", "MODEL.hidden_dim", "TRAIN.lr", "TRAIN.rho", "TRAIN.epsilon",
                "EVAL.pretrained_enc_model_path", "INFER.engine"]:
        assert key in keys, key
    for key in ["TRAIN.n_critic", "LOSS.gp_lambda", "TRAIN.beta1", "MODEL.dim", "EVAL.pretrained_dis_model_path"]:
        assert key not in keys, key


def test_a_vae_checkpoint_is_not_resumed_as_a_gan(runs, small_data, example):
    root = runs["root"]
    proc = example("wgangp_mnist.py", f"output_dir={root / 'as_gan'}", f"DATA.data_path={small_data}",
                   f"TRAIN.checkpoint_path={runs['full'] / 'checkpoints' / 'latest.pdckpt'}", cwd=str(root))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")][-1]
    assert "'vae_mnist' run" in line and "vae_mnist.py" in line


def test_eval_without_path_scores_the_shipped_vae(tmp_path, small_data, example):
    """The shipped decoder and encoder: trained (docs/vae.md), so far from an untrained VAE's figures."""
    from ppsci_ext.pretrained import shipped_weights

    decoder, encoder = shipped_weights("vae", "mnist")
    out = tmp_path / "eval"
    proc = example("vae_mnist.py", "mode=eval", f"output_dir={out}", f"DATA.data_path={small_data}",
                   "EVAL.num_samples=500", "EVAL.batch_size=250", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _metrics(out)
    assert data["generator"] == str(decoder) and encoder.endswith("vae_mnist_enc.pdparams")
    metrics = data["metrics"]
    _elbo_parts_agree(metrics)
    # untrained: score 1.0 and an ELBO of about -545 nats (784 grey pixels at p = 1/2); docs/vae.md: 4.8 and -137
    assert metrics["mnist.score"] > 3.0 and metrics["vae.elbo"] > -200.0


def test_the_shipped_decoder_loads_by_name():
    import ppsci_ext

    gen = ppsci_ext.pretrained.load("vae-mnist")
    assert gen.kind == "mnist" and gen.settings == {"noise_dim": 5, "hidden_dim": 256}
    digits = gen.sample(6, seed=1)
    assert digits.shape == (6, 28, 28, 1) and digits.dtype == np.uint8
    np.testing.assert_array_equal(gen.sample(6, seed=1), digits)


def test_export_then_infer_writes_digits(tmp_path, example):
    """The decoder as a static model; Paddle Inference's samples are uint8 digits like the GAN's."""
    out = tmp_path / "inf"
    for mode in ("export", "infer"):
        proc = example("vae_mnist.py", f"mode={mode}", f"output_dir={out}", "INFER.num_samples=12", cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "uint8 images [12, 28, 28, 1]" in proc.stdout + proc.stderr
    with np.load(out / "samples.npz") as data:
        images = [data[k] for k in data.files]
    assert any(a.dtype == np.uint8 and a.shape == (12, 28, 28, 1) and a.max() > 200 for a in images)

"""The config boundary, as a user meets it on the command line: every key honoured or refused, eval that
reads the architecture from the file and needs no training data, the resume change report, one output
folder, VisualDL/TensorBoard writers, and --help."""

import json
import os
import struct

import numpy as np
import pytest

from conftest import run_example

SMALL = ["MODEL.width=16", "DATA.num_train_samples=4000", "DATA.num_eval_samples=400", "VIS.num_points=200",
         "TRAIN.batch_size=64", "TRAIN.n_critic=2", "TRAIN.iters_per_epoch=3", "TRAIN.eval_freq=1", "log_freq=1",
         "EVAL.batch_size=200"]


def one_error(proc) -> str:
    """The single ERROR line of a run that a user error stopped (exit code 2, no traceback)."""
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished two-epoch toy run at width 16, its cwd kept apart to see that nothing lands there."""
    root = tmp_path_factory.mktemp("boundary")
    out, work = root / "out", root / "work"
    work.mkdir()
    proc = run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=2", "use_tbd=true", *SMALL, cwd=str(work))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"out": out, "work": work, "ckpt": out / "checkpoints" / "latest.pdckpt"}


def test_nothing_is_created_outside_output_dir(run):
    assert os.listdir(run["work"]) == []
    assert (run["out"] / ".hydra" / "config.yaml").is_file()  # Hydra's record of the run sits in output_dir
    assert (run["out"] / "train.log").stat().st_size > 0


def test_checkpoint_stores_the_config_the_user_ran(run):
    from ppsci_ext.solver import load_checkpoint

    config = load_checkpoint(str(run["ckpt"]))["config"]
    assert "width: 16" in config and "checkpoint_path: null" in config and "${" not in config


def _tensorboard_events(folder):
    """(tag, step, kind) of every summary in the TensorBoard event files under ``folder`` (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    found = []
    for name in sorted(os.listdir(folder)):
        data = (folder / name).read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            record = data[pos + 12:pos + 12 + length]
            pos += 12 + length + 4
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                found.append((value.tag, event.step, value.WhichOneof("value"), value.simple_value))
    return found


def test_tensorboard_scalars_and_images_are_written(run):
    events = _tensorboard_events(run["out"] / "tensorboard")
    tags = {tag for tag, *_ in events}
    for tag in ["train/wasserstein", "train/gradient_penalty", "train/critic_loss", "train/generator_loss",
                "train/lr_generator", "train/lr_critic", "eval/toy.swd", "eval/toy.modes"]:
        assert tag in tags, sorted(tags)
    assert [step for tag, step, *_ in events if tag == "train/wasserstein"] == list(range(1, 7))
    assert [step for tag, step, *_ in events if tag == "eval/toy.swd"] == [3, 6]
    history = json.loads((run["out"] / "train_history.json").read_text())
    logged = [v for tag, _, _, v in events if tag == "train/gradient_penalty"]
    np.testing.assert_allclose(logged, [r["gradient_penalty"] for r in history["train"]], rtol=1e-5)
    assert [kind for tag, _, kind, _ in events if tag == "samples"] == ["image", "image"]  # one grid per evaluation


def test_eval_reads_the_architecture_and_critic_from_a_checkpoint(run, tmp_path):
    out = tmp_path / "eval"
    proc = run_example("wgangp_toy.py", "mode=eval", f"output_dir={out}", f"EVAL.pretrained_gen_model_path={run['ckpt']}",
                       "DATA.num_eval_samples=400", "VIS.num_points=200", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]  # no MODEL.width=16 typed again
    data = json.loads((out / "metrics.json").read_text())
    assert data["model"] == {"noise_dim": 2, "width": 16, "hidden_layers": 3}
    assert data["critic"] == str(run["ckpt"])  # the contour comes from the checkpoint's critic
    assert "generator iteration 6" in (out / "eval.log").read_text()


def test_eval_reads_the_architecture_from_a_weights_file(run, tmp_path):
    out = tmp_path / "eval"
    gen = run["out"] / "checkpoints" / "latest_gen.pdparams"
    proc = run_example("wgangp_toy.py", "mode=eval", f"output_dir={out}", f"EVAL.pretrained_model_path={gen}",
                       "DATA.num_eval_samples=400", "VIS.num_points=200", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "metrics.json").read_text())
    assert data["generator"] == str(gen) and data["model"]["width"] == 16  # PaddleScience's key is honoured
    assert data["critic"] is None


def test_eval_draws_no_training_data(run, tmp_path):
    # 10^12 training points would take terabytes: eval must not draw them
    proc = run_example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path / 'eval'}", "DATA.num_train_samples=1000000000000",
                       f"EVAL.pretrained_gen_model_path={run['ckpt']}", "DATA.num_eval_samples=400", "VIS.num_points=200",
                       cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_resume_refuses_changed_training_settings_unless_allowed(run, tmp_path):
    ckpt = run["ckpt"]
    args = [f"TRAIN.checkpoint_path={ckpt}", "TRAIN.epochs=3", *SMALL]
    line = one_error(run_example("wgangp_toy.py", f"output_dir={tmp_path / 'a'}", *args, "TRAIN.batch_size=32",
                                 "TRAIN.n_critic=3", cwd=str(tmp_path)))
    for phrase in ["TRAIN.batch_size: 64 in file, 32 now", "TRAIN.n_critic: 2 in file, 3 now",
                   "TRAIN.allow_resume_changes=true"]:
        assert phrase in line, line
    assert not (tmp_path / "a" / "checkpoints").exists()
    proc = run_example("wgangp_toy.py", f"output_dir={tmp_path / 'b'}", *args, "TRAIN.batch_size=32",
                       "TRAIN.allow_resume_changes=true", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (tmp_path / "b" / "train.log").read_text()
    assert "changed training settings: TRAIN.batch_size: 64 in file, 32 now" in log
    assert "TRAIN.epochs: 2 in file, 3 now" in log  # a longer run is reported, not refused


@pytest.mark.parametrize("override,phrases", [
    ("use_amp=true", ["use_amp=True", "float32"]),
    ("to_static=true", ["to_static=True", "dynamic graphs"]),
    ("TRAIN.swa.use_swa=true", ["TRAIN.swa.use_swa=True", "TRAIN.ema.use_ema=true"]),
    ("TRAIN.pretrained_model_path=w.pdparams", ["TRAIN.pretrained_model_path=w.pdparams: weights file w.pdparams does not exist"]),
    ("TRAIN.update_freq=2", ["TRAIN.update_freq=2", "TRAIN.batch_size"]),
    ("INFER.batch_size=0", ["INFER.batch_size=0 is not allowed", "whole number >= 1 or null"]),
    ("INFER.device=ipu", ["INFER.device='ipu' is not allowed", "cpu, gpu, npu, xpu, sdaa"]),
    ("EVAL.compute_metric_by_batch=true", ["EVAL.compute_metric_by_batch"]),
    ("MODEL.width=0", ["MODEL.width=0 is not allowed", "whole number >= 1"]),
    ("MODEL.width=abc", ["MODEL.width='abc' is not allowed"]),
    ("mode=evaluate", ["mode='evaluate' is not allowed", "train, eval, export, infer"]),
    ("TRAIN.batch_size=1.5", ["TRAIN.batch_size=1.5 is not allowed"]),
    ("TRAIN.beta1=2", ["TRAIN.beta1=2 is not allowed", "< 1"]),
    ("LOSS.gp_lambda=nan", ["LOSS.gp_lambda=nan is not allowed"]),
    ("LOSS.gp_lambda=-1", ["LOSS.gp_lambda=-1 is not allowed"]),
    ("TRAIN.lr_critic=inf", ["TRAIN.lr_critic=inf is not allowed"]),
    ("MODEL.hidden_layers=-1", ["MODEL.hidden_layers=-1 is not allowed"]),
    ("use_vdl=yes_please", ["use_vdl='yes_please' is not allowed", "true or false"]),
    ("TRAIN.monitor=fid", ["TRAIN.monitor=fid is not among", "toy.swd"]),
    ("+wandb_config.project=x", ["wandb_config is set but use_wandb=false"]),
    ("TRAIN.ema.decay=2", ["TRAIN.ema.decay=2 is not allowed", "< 1"]),
    ("TRAIN.epochs=0", ["TRAIN.epochs=0 is not allowed"]),
    ("seed=abc", ["seed='abc' is not allowed"]),
    ("EVAL.batch_size=0", ["EVAL.batch_size=0 is not allowed"]),
    ("DATA.mode=file", ["DATA.mode=file needs DATA.data_path=PATH", ".npy, .npz or .csv"]),
    ("DATA.data_path=points.npy", ["DATA.data_path=points.npy is read only with DATA.mode=file"]),
    ("DATA.data_path=5", ["DATA.data_path=5 is not allowed", "a string or null"]),
    ("VIS.pair_dims=0", ["VIS.pair_dims=0 is not allowed", "whole number >= 1"]),
])
def test_bad_or_unused_keys_end_in_one_message(tmp_path, override, phrases):
    out, work = tmp_path / "out", tmp_path / "work"
    work.mkdir()
    line = one_error(run_example("wgangp_toy.py", f"output_dir={out}", *SMALL, override, cwd=str(work)))
    for phrase in phrases:
        assert phrase in line, line
    assert not (out / "checkpoints").exists() and os.listdir(work) == []


def test_gpu_on_a_cpu_build_is_refused(tmp_path):
    import paddle

    if paddle.device.is_compiled_with_cuda():
        pytest.skip("this Paddle has CUDA")
    line = one_error(run_example("wgangp_toy.py", f"output_dir={tmp_path}", "device=gpu", *SMALL, cwd=str(tmp_path)))
    assert "no GPU support" in line and "device=cpu" in line


@pytest.mark.parametrize("script", ["wgangp_toy.py", "wgangp_mnist.py", "wgangp_cifar10.py", "wgangp_images.py"])
def test_help_lists_the_package_keys(tmp_path, script):
    proc = run_example(script, "--help", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    assert text.startswith(f"{script}: WGAN-GP")
    for key in ["TRAIN.batch_size=", "TRAIN.n_critic=", "LOSS.gp_lambda=", "EVAL.pretrained_gen_model_path=",
                "use_tbd=", "TRAIN.allow_resume_changes="]:
        assert key in text, key
    for key in ["INFER.batch_size=", "INFER.engine=", "INFER.num_samples=", "INFER.pdmodel_path="]:
        assert key in text, key
    for unused in ["amp_level", "update_freq", "start_eval_epoch", "swa"]:
        assert unused not in text.split("Also honoured")[0], unused
    assert os.listdir(tmp_path) == []


def test_cifar10_eval_that_only_samples_needs_no_archive(tmp_path):
    import paddle

    from ppsci_ext.arch import CifarResNetGenerator

    paddle.seed(0)
    gen = tmp_path / "RANDOM_cifar_gen.pdparams"
    paddle.save(CifarResNetGenerator(dim=8, conditional=True).state_dict(), str(gen))
    out = tmp_path / "eval"
    proc = run_example("wgangp_cifar10.py", "mode=eval", f"output_dir={out}", f"EVAL.pretrained_gen_model_path={gen}",
                       f"DATA.data_path={tmp_path / 'no_such_archive.tar.gz'}", "EVAL.inception_weights_path=null",
                       "EVAL.export_samples=6", "EVAL.export_format=npz", "EVAL.batch_size=3", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "metrics.json").read_text())
    assert data["model"]["dim"] == 8 and data["model"]["conditional"] is True  # read off the weights
    with np.load(data["exported"]) as samples:
        assert samples["images"].shape == (6, 32, 32, 3) and samples["labels"].shape == (6,)
    assert (out / "samples_eval.png").is_file()


def test_a_missing_writer_package_is_named(tmp_path):
    import importlib.util

    if importlib.util.find_spec("visualdl") is not None:
        pytest.skip("visualdl is installed")
    line = one_error(run_example("wgangp_toy.py", f"output_dir={tmp_path}", "use_vdl=true", *SMALL, cwd=str(tmp_path)))
    assert 'pip install "ppsci_ext[vdl]"' in line and "use_vdl=false" in line

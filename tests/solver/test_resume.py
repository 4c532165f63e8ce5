"""Surviving interruptions and averaging the generator: exact resume, SIGKILL,
bad checkpoints, full or read-only disks, NaN gradients, and the generator EMA."""

import errno
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import paddle
import ppsci
import pytest
from conftest import EXAMPLES, run_example
from omegaconf import OmegaConf

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import sample_toy, toy_arrays
from ppsci_ext.errors import UserError, exit_on_user_error
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.metric import ToyMetric
from ppsci_ext.io import atomic as atomic_io
from ppsci_ext.io import load_network
from ppsci_ext.solver import AdversarialSolver, TrainingDiverged
from ppsci_ext.solver import state as ckpt
from ppsci_ext.solver import builders
from ppsci_ext.solver.ema import GeneratorEMA

# A run resumed at generator iteration N agrees with the uninterrupted run at 2N to this
# absolute tolerance (weights, generator average, optimizer moments) on CPU; in practice
# the two are bit-identical.
ATOL = 1e-6
WIDTH, ITERS, EPOCHS, SAMPLES = 32, 3, 4, 512  # 2N = EPOCHS * ITERS = 12 generator iterations


def make_solver(out, epochs=EPOCHS, checkpoint_path=None, width=WIDTH, ema=0.9, samples=SAMPLES, experiment="toy",
                validator=True, visualize_fn=None):
    paddle.seed(0)
    model = GAN(ToyGenerator(width=width), ToyCritic(width=width))
    objective = WGANGPLoss(0.1)
    constraint = builders.real_data_constraint(toy_arrays("8gaussians", samples, 0), 64, objective)
    rng = np.random.default_rng(1)
    validators = builders.sample_validator(
        {"z": rng.standard_normal((200, 2)).astype(np.float32)}, {"x": sample_toy("8gaussians", 200, rng)}, 100,
        {"toy": ToyMetric("8gaussians")}) if validator else None
    decay = 2 * EPOCHS * ITERS  # one LR schedule for the whole run and its halves (still > 0 at the end)
    return AdversarialSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-3, 0.5, 0.9, decay),
        builders.build_optimizer(model.critic.parameters(), 1e-3, 0.5, 0.9, decay),
        output_dir=str(out), epochs=epochs, iters_per_epoch=ITERS, n_critic=2, log_freq=2,
        eval_during_train=validator, eval_freq=1, monitor="swd" if validator else None, validator=validators,
        visualize_fn=visualize_fn, checkpoint_path=checkpoint_path, experiment=experiment,
        config_yaml=OmegaConf.to_yaml({"MODEL": {"width": width}, "DATA": {"num_train_samples": samples}}),
        ema_decay=ema, ema_start_step=2,
    )


def weights(layer):
    return {k: v.numpy().copy() for k, v in layer.state_dict().items()}


def numbers(solver):
    """Every array that determines how training continues, by name."""
    out = {f"generator.{k}": v for k, v in weights(solver.model.generator).items()}
    out.update({f"critic.{k}": v for k, v in weights(solver.model.critic).items()})
    if solver.ema_model is not None:
        out.update({f"ema.{k}": v.numpy() for k, v in solver.ema_model.state_dict().items()})
    for name, layer in (("optimizer_g", solver.model.generator), ("optimizer_d", solver.model.critic)):
        for k, v in ckpt.optimizer_state(getattr(solver, name), layer).items():
            if hasattr(v, "numpy"):
                out[f"{name}.{k}"] = v.numpy()
    return out


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """Checkpoints of one epoch of training with EMA on."""
    out = tmp_path_factory.mktemp("short")
    make_solver(out, epochs=1, validator=False).train()
    return out / "checkpoints"


# ------------------------------------------------------------------------ exact resume
def test_resume_continues_exactly(tmp_path):
    full = make_solver(tmp_path / "full")
    full.train()
    make_solver(tmp_path / "half", epochs=EPOCHS // 2).train()
    half = tmp_path / "half" / "checkpoints" / "latest.pdckpt"
    resumed = make_solver(tmp_path / "resumed", checkpoint_path=str(half))
    assert resumed.global_step == EPOCHS // 2 * ITERS and resumed.start_epoch == EPOCHS // 2 + 1
    resumed.train()
    assert resumed.global_step == full.global_step == EPOCHS * ITERS

    a, b = numbers(full), numbers(resumed)
    assert a.keys() == b.keys()
    for part in ("ema.", "moment1", "moment2", "beta1_pow"):
        assert any(part in k for k in a), part
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=0, atol=ATOL, err_msg=k)
    assert resumed.optimizer_g.get_lr() == full.optimizer_g.get_lr() > 0
    assert resumed.optimizer_d.get_lr() == full.optimizer_d.get_lr()
    assert [r["step"] for r in resumed.history["train"]] == [r["step"] for r in full.history["train"]]
    for ra, rb in zip(full.history["train"], resumed.history["train"]):
        assert rb["generator_loss"] == pytest.approx(ra["generator_loss"], abs=ATOL)
    np.testing.assert_array_equal(resumed.next_real_batch()[0]["x"].numpy(), full.next_real_batch()[0]["x"].numpy())


def test_noise_and_data_streams_are_restored(tmp_path):
    solver = make_solver(tmp_path / "a", epochs=1, validator=False)
    solver.train()
    path = str(tmp_path / "a" / "checkpoints" / "latest.pdckpt")
    expected_batch = solver.next_real_batch()[0]["x"].numpy()
    expected_noise = solver.model.sample_inputs(8)["z"].numpy()
    expected_numpy = np.random.random_sample(3)
    resumed = make_solver(tmp_path / "b", epochs=2, checkpoint_path=path, validator=False)
    np.testing.assert_array_equal(resumed.next_real_batch()[0]["x"].numpy(), expected_batch)
    np.testing.assert_array_equal(resumed.model.sample_inputs(8)["z"].numpy(), expected_noise)
    np.testing.assert_array_equal(np.random.random_sample(3), expected_numpy)


# ------------------------------------------------------------------------------ SIGKILL
def test_sigkill_mid_run_leaves_a_checkpoint_that_resumes(tmp_path):
    out = tmp_path / "run"
    settings = [f"output_dir={out}", "MODEL.width=32", "DATA.num_train_samples=2000", "TRAIN.batch_size=64",
                "TRAIN.n_critic=1", "TRAIN.iters_per_epoch=2", "TRAIN.save_freq=1", "TRAIN.eval_during_train=false",
                "TRAIN.lr_linear_decay=false", "TRAIN.ema.use_ema=true", "TRAIN.ema.start_step=0", "log_freq=1000"]
    log = open(tmp_path / "killed.log", "w")
    command = [sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), *settings, "TRAIN.epochs=1000000"]
    proc = subprocess.Popen(command, cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    checkpoints = out / "checkpoints"
    latest = checkpoints / "latest.pdckpt"
    try:
        while not latest.exists():
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            time.sleep(0.05)
        # Aim the kill at a checkpoint being written, if the polling catches one.
        for _ in range(2000):
            if any(".tmp" in name for name in os.listdir(checkpoints)):
                break
            time.sleep(0.001)
        assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL

    state = ckpt.load_checkpoint(str(latest))
    epoch = int(state["epoch"])
    assert epoch >= 1 and state["global_step"] == 2 * epoch and "generator_ema" in state
    for name in ("latest_gen.pdparams", "latest_gen_raw.pdparams", "latest_dis.pdparams"):
        critic = "dis" in name
        load_network(ToyCritic(width=32) if critic else ToyGenerator(width=32), str(checkpoints / name),
                     "critic" if critic else "generator")

    proc = run_example("wgangp_toy.py", *settings, f"TRAIN.epochs={epoch + 1}", f"TRAIN.checkpoint_path={latest}",
                       cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ckpt.load_checkpoint(str(latest))["global_step"] == 2 * (epoch + 1)
    assert json.loads((out / "train_history.json").read_text())["train"][-1]["step"] == 2 * (epoch + 1)
    assert not [name for name in os.listdir(checkpoints) if ".tmp" in name]  # leftovers of the kill removed


# ------------------------------------------------------------------- bad checkpoints
def test_checkpoint_of_another_experiment_or_architecture(short_run, tmp_path):
    path = str(short_run / "latest.pdckpt")
    with pytest.raises(UserError, match=r"experiment 'toy' in file, 'mnist' now"):
        make_solver(tmp_path, checkpoint_path=path, experiment="mnist")
    with pytest.raises(UserError) as info:
        make_solver(tmp_path, checkpoint_path=path, width=16)
    message = str(info.value)
    for phrase in ["cannot resume from", "different generator architecture: net.0.weight: shape [2, 32] in file, "
                   "[2, 16] in model", "different critic architecture", "train from scratch without it"]:
        assert phrase in message, message
    assert "written by ppsci_ext" not in message  # the same version: no noise about it
    with pytest.raises(UserError, match=r"real data: 512 samples in file, 256 now"):
        make_solver(tmp_path, checkpoint_path=path, samples=256)


def test_checkpoint_of_another_package_version(short_run, tmp_path):
    state = ckpt.load_checkpoint(str(short_run / "latest.pdckpt"))
    assert state["version"] == ckpt.package_version()
    state["version"] = "0.0.1"
    del state["sampler"]
    state["critic_ema"] = {}
    old = str(tmp_path / "old.pdckpt")
    atomic_io.atomic_save(state, old)
    with pytest.raises(UserError) as info:
        make_solver(tmp_path / "b", checkpoint_path=old)
    message = str(info.value)
    for phrase in [f"written by ppsci_ext 0.0.1, this is {ckpt.package_version()}", "missing sampler",
                   "unknown critic_ema", "package version that wrote it"]:
        assert phrase in message, message


def test_ema_switched_on_when_resuming_a_run_without_it(tmp_path):
    make_solver(tmp_path / "a", epochs=1, ema=None, validator=False).train()
    resumed = make_solver(tmp_path / "b", epochs=2, validator=False,
                          checkpoint_path=str(tmp_path / "a" / "checkpoints" / "latest.pdckpt"))
    raw = weights(resumed.model.generator)
    for k, v in resumed.ema_model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), raw[k])


# ------------------------------------------------------------------ disks and NaN
def _poison_disk(monkeypatch):
    def full_disk(obj, target):
        with open(target, "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_io.paddle, "save", full_disk)


def test_full_disk_keeps_previous_checkpoint(tmp_path, monkeypatch):
    solver = make_solver(tmp_path, epochs=1, validator=False)
    solver.train()
    before = digests(tmp_path / "checkpoints")
    assert {"latest.pdckpt", "latest_gen.pdparams", "latest_gen_raw.pdparams", "latest_dis.pdparams"} <= set(before)
    _poison_disk(monkeypatch)
    with pytest.raises(UserError, match=r"could not write .*: No space left on device\. Free disk space"):
        solver.save_checkpoint(1, "latest")
    assert digests(tmp_path / "checkpoints") == before  # same files, same bytes, no temporaries


def skip_if_read_only_is_writable(folder):
    """Skip when this user can write into a read-only folder anyway (root with CAP_DAC_OVERRIDE)."""
    try:
        (folder / "probe").write_bytes(b"")
    except PermissionError:
        return
    (folder / "probe").unlink()
    pytest.skip("this user may write into read-only folders (root with CAP_DAC_OVERRIDE)")


def test_read_only_folder_keeps_previous_checkpoint(tmp_path):
    solver = make_solver(tmp_path, epochs=1, validator=False)
    solver.train()
    folder = tmp_path / "checkpoints"
    before = digests(folder)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        skip_if_read_only_is_writable(folder)
        with pytest.raises(UserError, match="could not write .*Permission denied"):
            solver.save_checkpoint(1, "latest")
    finally:
        folder.chmod(stat.S_IRWXU)
    assert digests(folder) == before


def test_example_with_read_only_checkpoint_folder(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "latest.pdckpt").write_bytes(b"previous")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        skip_if_read_only_is_writable(folder)
        proc = run_example("wgangp_toy.py", f"output_dir={tmp_path / 'run'}", "MODEL.width=16", "TRAIN.epochs=1",
                           "TRAIN.iters_per_epoch=2", "DATA.num_train_samples=1000", "TRAIN.eval_during_train=false",
                           cwd=str(tmp_path))
    finally:
        folder.chmod(stat.S_IRWXU)
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "could not write" in errors[0] and "Permission denied" in errors[0], errors[0]
    assert (folder / "latest.pdckpt").read_bytes() == b"previous"


def test_disk_errors_elsewhere_end_in_one_line(capsys):
    @exit_on_user_error
    def draw():
        raise OSError(errno.ENOSPC, "No space left on device", "out/toy_epoch_3.png")

    with pytest.raises(SystemExit) as info:
        draw()
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: No space left on device: out/toy_epoch_3.png."), lines


def test_nan_gradient_stops_training_without_overwriting(tmp_path):
    solver = make_solver(tmp_path, epochs=2, validator=False)
    solver.train_epoch_func(solver, 1, 1)
    good = solver.save_checkpoint(1, "latest")
    before = digests(tmp_path / "checkpoints")
    objective = solver.generator_loss

    def finite_loss_nan_gradient(output_dict, label_dict):
        losses = objective(output_dict, label_dict)
        score = output_dict["score_fake"]
        # Value 0, gradient NaN (sqrt' = inf at 0, times 0).
        losses["generator_loss"] = losses["generator_loss"] + paddle.sqrt(score * 0.0).sum()
        return losses

    solver.generator_loss = finite_loss_nan_gradient
    with pytest.raises(TrainingDiverged, match=rf"the weights of the generator .*\(or their gradients\) became NaN or "
                                               rf"Inf by generator iteration {ITERS + 1}\..*{good}"):
        solver.train_epoch_func(solver, 2, 1)
    with pytest.raises(TrainingDiverged):
        solver.save_checkpoint(2, "latest")
    assert digests(tmp_path / "checkpoints") == before


# --------------------------------------------------------------------------------- EMA
def test_ema_matches_hand_computation():
    generator = ToyGenerator(width=4)
    decay, start = 0.9, 2
    average = GeneratorEMA(generator, decay=decay, start_step=start)
    rng = np.random.default_rng(0)
    expected = None
    for step in range(1, 7):
        for p in generator.parameters():
            p.set_value(rng.standard_normal(p.shape).astype("float32"))
        current = {k: v.astype("float64") for k, v in weights(generator).items()}
        average.update(step)
        expected = current if step <= start else {k: decay * expected[k] + (1 - decay) * current[k] for k in current}
    for k, v in average.state_dict().items():
        np.testing.assert_allclose(v.numpy(), expected[k], rtol=1e-6, atol=1e-6, err_msg=k)

    # Closed form: from theta_0, k updates towards constant weights theta give d^k theta_0 + (1 - d^k) theta.
    generator = ToyGenerator(width=4)
    theta0 = weights(generator)
    average = GeneratorEMA(generator, decay=0.5, every=2)
    for p in generator.parameters():
        p.set_value(np.full(p.shape, 3.0, "float32"))
    for step in range(1, 8):  # updates at steps 2, 4, 6: k = 3
        average.update(step)
    for k, v in average.state_dict().items():
        np.testing.assert_allclose(v.numpy(), 0.125 * theta0[k] + 0.875 * 3.0, rtol=1e-6, err_msg=k)


@pytest.mark.parametrize("kwargs,phrase", [({"decay": 1.0}, "EMA decay must be in"),
                                           ({"decay": 0.9, "start_step": -1}, "EMA start step"),
                                           ({"decay": 0.9, "every": 0}, "EMA update interval")])
def test_bad_ema_settings(kwargs, phrase):
    with pytest.raises(UserError, match=phrase):
        GeneratorEMA(ToyGenerator(width=4), **kwargs)


def test_ema_is_evaluated_drawn_and_saved(tmp_path):
    drawn = []
    solver = make_solver(tmp_path, epochs=1, visualize_fn=lambda s, tag: drawn.append(weights(s.model.generator)))
    solver.train()
    raw = weights(solver.model.generator)
    average = {k: v.numpy() for k, v in solver.ema_model.state_dict().items()}
    assert any(not np.array_equal(raw[k], average[k]) for k in raw)

    evaluated = []
    hook = solver.model.generator.register_forward_pre_hook(lambda layer, inputs: evaluated.append(weights(layer)))
    solver.evaluate("check")
    hook.remove()
    assert evaluated and len(drawn) == 2
    for seen in (evaluated[0], drawn[-1]):
        for k in average:
            np.testing.assert_array_equal(seen[k], average[k])
    for k, v in weights(solver.model.generator).items():  # the raw weights are back after evaluation
        np.testing.assert_array_equal(v, raw[k])

    folder = tmp_path / "checkpoints"
    for name, expected in (("latest_gen.pdparams", average), ("latest_gen_raw.pdparams", raw),
                           ("latest.pdckpt", average), ("best_gen.pdparams", None)):
        generator = ToyGenerator(width=WIDTH)
        load_network(generator, str(folder / name), "generator")
        if expected is not None:
            for k, v in weights(generator).items():
                np.testing.assert_array_equal(v, expected[k])


def test_settings_that_only_steer_saving_or_evaluation_may_change_on_resume():
    from ppsci_ext.experiment.settings import resume_changes

    saved = {"TRAIN.epochs": 2, "TRAIN.batch_size": 64, "TRAIN.overwrite": False, "TRAIN.eval_prdc": False,
             "TRAIN.allow_resume_changes": False, "TRAIN.checkpoint_path": None}
    now = {"TRAIN.epochs": 3, "TRAIN.batch_size": 32, "TRAIN.overwrite": True, "TRAIN.eval_prdc": True,
           "TRAIN.allow_resume_changes": True, "TRAIN.checkpoint_path": "x.pdckpt"}
    harmless, changing = resume_changes(saved, now)
    assert changing == ["TRAIN.batch_size: 64 in file, 32 now"]
    # the keys of the invocation (overwrite, allow_resume_changes, checkpoint_path) are not compared at all
    assert harmless == ["TRAIN.epochs: 2 in file, 3 now", "TRAIN.eval_prdc: false in file, true now"]


def test_the_history_is_on_disk_after_every_evaluation(tmp_path, monkeypatch):
    """train_history.json is rewritten after each evaluation (a long run's curve can be read while it goes on)."""
    solver = make_solver(tmp_path / "run", epochs=3)
    seen = []
    real_evaluate = AdversarialSolver.evaluate

    def evaluate(self, *args, **kwargs):  # before evaluation k, the file holds the k - 1 earlier ones
        path = tmp_path / "run" / "train_history.json"
        seen.append([r["step"] for r in json.loads(path.read_text())["eval"]] if path.exists() else None)
        return real_evaluate(self, *args, **kwargs)

    monkeypatch.setattr(AdversarialSolver, "evaluate", evaluate)
    solver.train()
    assert seen == [None, [ITERS], [ITERS, 2 * ITERS]]
    final = json.loads((tmp_path / "run" / "train_history.json").read_text())
    assert [r["step"] for r in final["eval"]] == [ITERS, 2 * ITERS, 3 * ITERS]
    assert {"toy.swd", "toy.modes"} <= set(final["eval"][-1])

"""SIGINT and SIGTERM end a run cleanly (ppsci_ext.signals, AdversarialSolver): training stops before the next
generator iteration and keeps (or, at an epoch boundary, writes) a checkpoint that resumes exactly; evaluation
stops at once; one line and exit status 130 / 143 from the example scripts; Paddle's handlers come back after."""

import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import paddle
import ppsci
import pytest
from conftest import EXAMPLES, run_example
from omegaconf import OmegaConf

from ppsci_ext import signals
from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import sample_toy, toy_arrays
from ppsci_ext.errors import exit_on_user_error
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.metric import ToyMetric
from ppsci_ext.solver import AdversarialSolver, builders
from ppsci_ext.solver import state as ckpt

WIDTH, ITERS, EPOCHS, SAMPLES = 16, 3, 4, 512
ARGV = ["wgangp_toy.py", "TRAIN.epochs=4", "output_dir=elsewhere", "TRAIN.checkpoint_path=old.pdckpt"]


# ------------------------------------------------------------------------------------------- the module
@pytest.fixture(autouse=True)
def signals_as_in_a_terminal():
    """The tests' precondition: SIGINT and SIGTERM not ignored, as for a run started at a terminal.

    A test runner started in the background (``&``, nohup, some CI harnesses) inherits an
    ignored SIGINT, which the package rightly leaves ignored; these tests are about the
    other case, so they set the default handlers for their duration.
    """
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.fixture
def python_handlers():
    """Python's view of the two handlers, which every test must leave as it found them."""
    before = {s: signal.getsignal(s) for s in signals.STOP_SIGNALS}
    yield before
    assert {s: signal.getsignal(s) for s in signals.STOP_SIGNALS} == before
    assert signals.pending() is None


def test_handlers_are_installed_for_the_block_only(python_handlers):
    with signals.catch_stop_signals(immediate=True):
        for signum in signals.STOP_SIGNALS:
            assert signal.getsignal(signum) is signals._handler
        with signals.deferred():  # nested: the same handlers
            assert signal.getsignal(signal.SIGTERM) is signals._handler
        assert signal.getsignal(signal.SIGINT) is signals._handler


@pytest.mark.parametrize("signum,status,name", [(signal.SIGINT, 130, "SIGINT (Ctrl-C)"),
                                                (signal.SIGTERM, 143, "SIGTERM")])
def test_immediate_block_stops_at_once(python_handlers, signum, status, name):
    reached = []
    with pytest.raises(signals.Stopped) as info:
        with signals.catch_stop_signals(immediate=True):
            signal.raise_signal(signum)
            reached.append(True)
    assert reached == []
    assert info.value.signum == signum and info.value.exit_status == status and info.value.where == ""
    assert str(info.value) == (f"Stopped by {name}; files written so far are complete (each is written "
                               "atomically), nothing else was kept.")
    assert signals.signal_name(signum) == name


def test_deferred_block_records_and_stops_where_stopping_is_immediate(python_handlers):
    seen = []
    with pytest.raises(signals.Stopped) as info:
        with signals.catch_stop_signals(immediate=True):
            with signals.deferred():
                signal.raise_signal(signal.SIGTERM)
                seen.append(signals.pending())  # still running: only recorded
            seen.append("not reached")
    assert seen == [signal.SIGTERM] and info.value.signum == signal.SIGTERM


def test_deferred_inside_deferred_waits_for_the_outermost(python_handlers):
    seen = []
    with pytest.raises(signals.Stopped):
        with signals.deferred():
            with signals.deferred():
                signal.raise_signal(signal.SIGINT)
            seen.append(signals.pending())  # the inner block ended inside a deferred one: no stop yet
    assert seen == [signal.SIGINT]


def test_a_pending_signal_stops_an_immediate_block_at_its_start(python_handlers):
    seen = []
    with pytest.raises(signals.Stopped) as info:
        with signals.deferred():
            signal.raise_signal(signal.SIGINT)
            with signals.catch_stop_signals(immediate=True):
                seen.append("not reached")
    assert seen == [] and info.value.signum == signal.SIGINT


def test_a_second_signal_stops_at_once_even_when_deferred(python_handlers):
    seen = []
    with pytest.raises(signals.Stopped) as info:
        with signals.deferred():
            signal.raise_signal(signal.SIGTERM)
            seen.append(1)
            signal.raise_signal(signal.SIGINT)
            seen.append(2)
    assert seen == [1] and info.value.signum == signal.SIGINT


def test_an_ignored_signal_stays_ignored(python_handlers):
    """A run started in the background of a script (SIGINT ignored) is not stopped by the terminal's Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with signals.catch_stop_signals(immediate=True):
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is signals._handler
            signal.raise_signal(signal.SIGINT)
            assert signals.pending() is None
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_the_block_runs_unchanged(python_handlers):
    out = []

    def work():
        with signals.catch_stop_signals(immediate=False):
            out.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert out == [python_handlers[signal.SIGTERM]]


def test_paddles_own_handler_is_put_back(tmp_path):
    """Paddle installs a C-level SIGTERM handler at import (its stack dump); the block restores it exactly."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the C struct sigaction of Linux")
    # The first field of struct sigaction is the handler's address (the rest holds padding that varies).
    code = textwrap.dedent("""
        import signal, sys
        import ppsci_ext, paddle
        from ppsci_ext import signals
        before = signals._raw_handler(signal.SIGTERM)[:8]
        with signals.catch_stop_signals(immediate=True):
            inside = signals._raw_handler(signal.SIGTERM)[:8]
        after = signals._raw_handler(signal.SIGTERM)[:8]
        print("RESULT", before != bytes(8), after == before, inside != before, flush=True)
        signal.raise_signal(signal.SIGTERM)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert "RESULT True True True" in output, output[-2000:]
    assert "Termination signal" in output and proc.returncode != 0  # Paddle's handler answered


def test_resume_command_replaces_the_checkpoint_and_folder():
    command = signals.resume_command("runs/a b/checkpoints/latest.pdckpt", "runs/a b", [
        "examples/wgangp/wgangp_toy.py", "TRAIN.batch_size=128", "output_dir=old", "+TRAIN.checkpoint_path=x",
        "++output_dir=y", "DATA.mode=swissroll", "TRAIN.checkpoint_path_note=kept"])
    assert command == ("python examples/wgangp/wgangp_toy.py TRAIN.batch_size=128 DATA.mode=swissroll "
                       "TRAIN.checkpoint_path_note=kept 'TRAIN.checkpoint_path=runs/a b/checkpoints/latest.pdckpt' "
                       "'output_dir=runs/a b'")
    assert shlex.split(command)[-1] == "output_dir=runs/a b"


def test_resume_command_reads_sys_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py", "log_freq=5"])
    assert signals.resume_command("c.pdckpt", "out") == ("python train.py log_freq=5 TRAIN.checkpoint_path=c.pdckpt "
                                                         "output_dir=out")


@pytest.mark.parametrize("raised,status,line", [
    (lambda: signals.Stopped(signal.SIGTERM, "Stopped by SIGTERM somewhere:\n kept  a file."), 143,
     "Stopped by SIGTERM somewhere: kept a file."),
    (lambda: KeyboardInterrupt(), 130,
     "Stopped by SIGINT (Ctrl-C); files written so far are complete (each is written atomically), nothing else was "
     "kept."),
])
def test_entry_points_end_a_stop_in_one_line(python_handlers, capsys, raised, status, line):
    @exit_on_user_error
    def main():
        raise raised()

    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == status
    assert capsys.readouterr().err.splitlines() == [line]


def test_entry_points_stop_at_once_on_sigterm(python_handlers, capsys):
    reached = []

    @exit_on_user_error
    def main():
        signal.raise_signal(signal.SIGTERM)
        reached.append(True)

    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 143 and reached == []
    assert capsys.readouterr().err.splitlines() == [
        "Stopped by SIGTERM; files written so far are complete (each is written atomically), nothing else was kept."]


# ------------------------------------------------------------------------------------------- the solver
def make_solver(out, epochs=EPOCHS, checkpoint_path=None, validator=False, save_freq=1, step_fn=None,
                visualize_fn=None):
    paddle.seed(0)
    model = GAN(ToyGenerator(width=WIDTH), ToyCritic(width=WIDTH))
    objective = WGANGPLoss(0.1)
    constraint = builders.real_data_constraint(toy_arrays("8gaussians", SAMPLES, 0), 64, objective)
    rng = np.random.default_rng(1)
    validators = builders.sample_validator(
        {"z": rng.standard_normal((200, 2)).astype(np.float32)}, {"x": sample_toy("8gaussians", 200, rng)}, 100,
        {"toy": ToyMetric("8gaussians")}) if validator else None
    decay = 2 * EPOCHS * ITERS
    return AdversarialSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-3, 0.5, 0.9, decay),
        builders.build_optimizer(model.critic.parameters(), 1e-3, 0.5, 0.9, decay),
        output_dir=str(out), epochs=epochs, iters_per_epoch=ITERS, n_critic=2, log_freq=2, save_freq=save_freq,
        eval_during_train=validator, eval_freq=1, validator=validators, step_fn=step_fn, visualize_fn=visualize_fn,
        checkpoint_path=checkpoint_path, experiment="toy",
        config_yaml=OmegaConf.to_yaml({"MODEL": {"width": WIDTH}, "DATA": {"num_train_samples": SAMPLES}}),
        ema_decay=0.9, ema_start_step=2,
    )


def numbers(solver):
    """Every array that decides how training continues."""
    out = {f"generator.{k}": v.numpy() for k, v in solver.model.generator.state_dict().items()}
    out.update({f"critic.{k}": v.numpy() for k, v in solver.model.critic.state_dict().items()})
    out.update({f"ema.{k}": v.numpy() for k, v in solver.ema_model.state_dict().items()})
    for name, layer in (("optimizer_g", solver.model.generator), ("optimizer_d", solver.model.critic)):
        for k, v in ckpt.optimizer_state(getattr(solver, name), layer).items():
            if hasattr(v, "numpy"):
                out[f"{name}.{k}"] = v.numpy()
    return out


def signal_at(step, signum=signal.SIGINT):
    """A step_fn that sends ``signum`` to this process after generator iteration ``step``."""
    def step_fn(solver):
        if solver.global_step == step:
            signal.raise_signal(signum)
    return step_fn


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    solver = make_solver(tmp_path_factory.mktemp("full"))
    solver.train()
    return numbers(solver), solver.history


def _assert_same(resumed, expected):
    numbers_expected, history = expected
    got = numbers(resumed)
    assert got.keys() == numbers_expected.keys()
    for key in got:
        np.testing.assert_array_equal(got[key], numbers_expected[key], err_msg=key)
    assert [r["step"] for r in resumed.history["train"]] == [r["step"] for r in history["train"]]


def test_stop_inside_an_epoch_keeps_the_last_checkpoint_which_resumes_exactly(tmp_path, monkeypatch, uninterrupted,
                                                                              python_handlers):
    monkeypatch.setattr(sys, "argv", ARGV)
    out = tmp_path / "stopped"
    solver = make_solver(out, step_fn=signal_at(5))
    with pytest.raises(signals.Stopped) as info:
        solver.train()
    latest = out / "checkpoints" / "latest.pdckpt"
    assert info.value.signum == signal.SIGINT and solver.global_step == 5
    assert str(info.value) == (
        f"Stopped by SIGINT (Ctrl-C) at generator iteration 5 (iteration 2 of 3 of epoch 2): kept {latest} "
        "(generator iteration 3, the end of epoch 1); the 2 generator iterations since then were not saved (a "
        "checkpoint inside an epoch could not resume exactly). Resume: python wgangp_toy.py TRAIN.epochs=4 "
        f"TRAIN.checkpoint_path={latest} output_dir={out}")
    state = ckpt.load_checkpoint(str(latest))
    assert (state["epoch"], state["global_step"]) == (1, 3)
    assert not [p for p in os.listdir(out / "checkpoints") if ".tmp" in p]

    resumed = make_solver(tmp_path / "resumed", checkpoint_path=str(latest))
    resumed.train()
    _assert_same(resumed, uninterrupted)


def test_stop_at_an_epoch_boundary_saves_it_even_off_schedule(tmp_path, monkeypatch, python_handlers):
    """The end of an epoch resumes exactly, so it is saved there although save_freq would not have saved it."""
    monkeypatch.setattr(sys, "argv", ARGV)
    full = make_solver(tmp_path / "full", save_freq=2)
    full.train()
    out = tmp_path / "stopped"
    solver = make_solver(out, save_freq=2, step_fn=signal_at(3, signal.SIGTERM))
    with pytest.raises(signals.Stopped) as info:
        solver.train()
    latest = out / "checkpoints" / "latest.pdckpt"
    assert info.value.signum == signal.SIGTERM and info.value.exit_status == 143
    assert str(info.value).startswith(
        f"Stopped by SIGTERM at the end of epoch 1 (generator iteration 3): kept {latest} (generator iteration 3, "
        "the end of epoch 1); nothing was lost. Resume: python wgangp_toy.py")
    assert ckpt.load_checkpoint(str(latest))["global_step"] == 3
    resumed = make_solver(tmp_path / "resumed", save_freq=2, checkpoint_path=str(latest))
    resumed.train()
    _assert_same(resumed, (numbers(full), full.history))


def test_stop_before_any_checkpoint_says_nothing_was_kept(tmp_path, monkeypatch, python_handlers):
    monkeypatch.setattr(sys, "argv", ["wgangp_toy.py", "TRAIN.save_freq=3"])
    solver = make_solver(tmp_path / "run", save_freq=3, step_fn=signal_at(1))
    with pytest.raises(signals.Stopped) as info:
        solver.train()
    assert str(info.value) == (
        "Stopped by SIGINT (Ctrl-C) at generator iteration 1 (iteration 1 of 3 of epoch 1): no checkpoint had been "
        "written yet (the first comes at the end of epoch 3), so nothing was kept. Start again: python "
        "wgangp_toy.py TRAIN.save_freq=3")
    assert not (tmp_path / "run" / "checkpoints" / "latest.pdckpt").exists()


def test_stop_right_after_resuming_keeps_the_resumed_checkpoint(tmp_path, monkeypatch, python_handlers):
    monkeypatch.setattr(sys, "argv", ARGV)
    make_solver(tmp_path / "first", epochs=1).train()
    first = tmp_path / "first" / "checkpoints" / "latest.pdckpt"
    solver = make_solver(tmp_path / "second", checkpoint_path=str(first), step_fn=signal_at(4))
    with pytest.raises(signals.Stopped) as info:
        solver.train()
    assert str(info.value).startswith(
        f"Stopped by SIGINT (Ctrl-C) at generator iteration 4 (iteration 1 of 3 of epoch 2): kept {first} (generator "
        "iteration 3, the end of epoch 1); the 1 generator iteration since then was not saved")
    assert str(info.value).endswith(f"TRAIN.checkpoint_path={first} output_dir={tmp_path / 'second'}")


def test_a_signal_during_a_save_lets_it_finish(tmp_path, monkeypatch, python_handlers):
    monkeypatch.setattr(sys, "argv", ARGV)
    real_save = ckpt.save_checkpoint
    saves = []

    def save_with_a_signal(solver, epoch_id, prefix):
        signal.raise_signal(signal.SIGTERM)  # arrives as the save starts
        saves.append(solver.global_step)
        return real_save(solver, epoch_id, prefix)

    monkeypatch.setattr(ckpt, "save_checkpoint", save_with_a_signal)
    out = tmp_path / "run"
    with pytest.raises(signals.Stopped) as info:
        make_solver(out).train()
    assert saves == [3]  # the save went through; the stop came before the next iteration, with nothing to add
    assert str(info.value).startswith(f"Stopped by SIGTERM at the end of epoch 1 (generator iteration 3): kept "
                                      f"{out / 'checkpoints' / 'latest.pdckpt'} (generator iteration 3, the end of "
                                      "epoch 1); nothing was lost.")
    for name in ("latest.pdckpt", "latest_gen.pdparams", "latest_gen_raw.pdparams", "latest_dis.pdparams"):
        assert (out / "checkpoints" / name).stat().st_size > 0


def test_stop_during_an_evaluation_in_training_is_immediate(tmp_path, monkeypatch, python_handlers):
    monkeypatch.setattr(sys, "argv", ARGV)
    drawn = []

    def picture(solver, tag):
        if tag == "epoch_2":
            signal.raise_signal(signal.SIGINT)
        drawn.append(tag)

    out = tmp_path / "run"
    solver = make_solver(out, validator=True, visualize_fn=picture)
    with pytest.raises(signals.Stopped) as info:
        solver.train()
    assert drawn == ["epoch_1"] and solver.global_step == 6
    state = ckpt.load_checkpoint(str(out / "checkpoints" / "latest.pdckpt"))
    epoch, step = state["epoch"], state["global_step"]  # the end of epoch 1, or of 2 when it is saved before eval
    assert epoch in (1, 2) and step == 3 * epoch
    lost = "nothing was lost" if step == 6 else "the 3 generator iterations since then were not saved"
    assert str(info.value).startswith(
        f"Stopped by SIGINT (Ctrl-C) during the evaluation after epoch 2: kept {out / 'checkpoints' / 'latest.pdckpt'}"
        f" (generator iteration {step}, the end of epoch {epoch}); {lost}")


def test_stop_during_an_evaluation_only_run(tmp_path, python_handlers):
    model = GAN(ToyGenerator(width=WIDTH), ToyCritic(width=WIDTH))
    rng = np.random.default_rng(1)
    validator = builders.sample_validator(
        {"z": rng.standard_normal((200, 2)).astype(np.float32)}, {"x": sample_toy("8gaussians", 200, rng)}, 100,
        {"toy": ToyMetric("8gaussians")})
    drawn = []

    def picture(solver, tag):
        signal.raise_signal(signal.SIGTERM)
        drawn.append(tag)

    solver = AdversarialSolver(model, None, None, None, None, output_dir=str(tmp_path), validator=validator,
                               visualize_fn=picture)
    solver.weights_label = "shipped weights"
    with pytest.raises(signals.Stopped) as info:
        solver.evaluate("eval")
    assert drawn == [] and info.value.exit_status == 143
    assert str(info.value) == ("Stopped by SIGTERM during the evaluation of shipped weights: its results "
                               "(metrics.json) were not written; the weights files are untouched. Run the evaluation "
                               "again to score them.")


def test_a_signal_after_the_last_iteration_still_ends_in_a_stop(tmp_path, monkeypatch, python_handlers):
    monkeypatch.setattr(sys, "argv", ARGV)
    out = tmp_path / "run"
    solver = make_solver(out, epochs=2, step_fn=signal_at(6))
    with pytest.raises(signals.Stopped) as info:
        solver.train()
    assert str(info.value).startswith(f"Stopped by SIGINT (Ctrl-C) at generator iteration 6: kept "
                                      f"{out / 'checkpoints' / 'latest.pdckpt'} (generator iteration 6, the end of "
                                      "epoch 2); nothing was lost.")
    assert ckpt.load_checkpoint(str(out / "checkpoints" / "latest.pdckpt"))["global_step"] == 6


def test_training_without_signals_is_unchanged(tmp_path, uninterrupted, python_handlers):
    solver = make_solver(tmp_path / "run")
    solver.train()
    _assert_same(solver, uninterrupted)
    assert solver.kept_checkpoint == (str(tmp_path / "run" / "checkpoints" / "latest.pdckpt"), 4, 12)


# ------------------------------------------------------------------------------------------- as a user runs it
SETTINGS = ["MODEL.width=16", "DATA.num_train_samples=2000", "TRAIN.batch_size=64", "TRAIN.n_critic=1",
            "TRAIN.iters_per_epoch=4", "TRAIN.eval_during_train=false", "TRAIN.lr_linear_decay=false", "log_freq=1"]


def _start(tmp_path, out, *extra):
    log = open(tmp_path / "stdout.log", "w")
    command = [sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), f"output_dir={out}", *SETTINGS, *extra]
    # SIGINT back to its default: a test run in the background of a shell would hand it over ignored
    proc = subprocess.Popen(command, cwd=str(tmp_path), stdout=log, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return proc, log


def _wait_for(proc, tmp_path, condition):
    while not condition():
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "stdout.log").read_text()[-3000:] + proc.stderr.read()[-3000:])
        time.sleep(0.02)


@pytest.mark.parametrize("signum,status,name", [(signal.SIGINT, 130, "SIGINT (Ctrl-C)"),
                                                (signal.SIGTERM, 143, "SIGTERM")])
def test_example_stopped_at_a_random_moment_ends_in_one_line_and_resumes(tmp_path, signum, status, name):
    out = tmp_path / "run"
    latest = out / "checkpoints" / "latest.pdckpt"
    proc, log = _start(tmp_path, out, "TRAIN.epochs=100000")
    delay = random.Random(os.urandom(8)).uniform(0.0, 0.5)
    try:
        _wait_for(proc, tmp_path, lambda: "[Iter 1/4]" in (tmp_path / "stdout.log").read_text())
        _wait_for(proc, tmp_path, latest.exists)  # so that there is something to resume from
        time.sleep(delay)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert proc.returncode == status, (delay, stderr[-3000:])
    lines = stderr.splitlines()
    assert len(lines) == 1, (delay, stderr[-3000:])
    found = re.fullmatch(rf"Stopped by {re.escape(name)} (.*): kept {re.escape(str(latest))} \(generator iteration "
                         r"(\d+), the end of epoch (\d+)\); (.*)\. Resume: (.*)", lines[0])
    assert found, lines[0]
    step, epoch = int(found.group(2)), int(found.group(3))
    state = ckpt.load_checkpoint(str(latest))
    assert (state["global_step"], state["epoch"]) == (step, epoch) and step == 4 * epoch
    assert not [p for p in os.listdir(out / "checkpoints") if ".tmp" in p]

    # The command it printed resumes (with a finite number of epochs instead of 100000).
    command = shlex.split(found.group(5))
    assert command[:2] == ["python", os.path.join(EXAMPLES, "wgangp_toy.py")]
    assert command[-2:] == [f"TRAIN.checkpoint_path={latest}", f"output_dir={out}"]
    overrides = [word.replace("TRAIN.epochs=100000", f"TRAIN.epochs={epoch + 1}") for word in command[2:]]
    proc = run_example("wgangp_toy.py", *overrides, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ckpt.load_checkpoint(str(latest))["global_step"] == 4 * (epoch + 1)
    steps = [r["step"] for r in json.loads((out / "train_history.json").read_text())["train"]]
    assert steps == list(range(1, 4 * (epoch + 1) + 1))


def test_example_stopped_before_its_first_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc, log = _start(tmp_path, out, "TRAIN.epochs=2", "TRAIN.iters_per_epoch=100000")
    try:
        _wait_for(proc, tmp_path, lambda: "[Iter      1/100000]" in (tmp_path / "stdout.log").read_text())
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert proc.returncode == 143
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    assert re.fullmatch(r"Stopped by SIGTERM at generator iteration \d+ \(iteration \d+ of 100000 of epoch 1\): no "
                        r"checkpoint had been written yet \(the first comes at the end of epoch 1\), so nothing was "
                        r"kept\. Start again: python .*wgangp_toy\.py .*TRAIN\.iters_per_epoch=100000", lines[0]), lines
    assert not (out / "checkpoints" / "latest.pdckpt").exists()

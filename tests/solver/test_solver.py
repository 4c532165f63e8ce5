import errno
import os

import numpy as np
import paddle
import ppsci
import pytest

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import toy_arrays
from ppsci_ext.errors import UserError
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.io import atomic_save, load_network
from ppsci_ext.io import atomic as atomic_io
from ppsci_ext.solver import AdversarialSolver
from ppsci_ext.solver import state as ckpt
from ppsci_ext.solver import builders


def make_solver(tmp_path, width=16, checkpoint_path=None, epochs=1, iters=2, decay=0):
    paddle.seed(0)
    model = GAN(ToyGenerator(width=width), ToyCritic(width=width))
    objective = WGANGPLoss(0.1)
    constraint = builders.real_data_constraint(toy_arrays("8gaussians", 512, 0), 64, objective)
    return AdversarialSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-3, 0.5, 0.9, decay),
        builders.build_optimizer(model.critic.parameters(), 1e-3, 0.5, 0.9, decay),
        output_dir=str(tmp_path), epochs=epochs, iters_per_epoch=iters, n_critic=2, log_freq=1,
        checkpoint_path=checkpoint_path, experiment="toy",
    )


def weights(layer):
    return {k: v.numpy().copy() for k, v in layer.state_dict().items()}


def changed(before, layer):
    return any(not np.array_equal(before[k], v.numpy()) for k, v in layer.state_dict().items())


def test_critic_step_leaves_generator_alone(tmp_path):
    solver = make_solver(tmp_path)
    g0, d0 = weights(solver.model.generator), weights(solver.model.critic)
    inputs, labels = solver.next_real_batch()
    losses = solver.critic_step(inputs, labels)
    assert set(losses) >= {"critic_loss", "wasserstein", "gradient_penalty"}
    assert not changed(g0, solver.model.generator)
    assert all(p.grad is None for p in solver.model.generator.parameters())
    assert changed(d0, solver.model.critic)


def test_generator_step_leaves_critic_alone(tmp_path):
    solver = make_solver(tmp_path)
    g0, d0 = weights(solver.model.generator), weights(solver.model.critic)
    losses = solver.generator_step(32)
    assert "generator_loss" in losses
    assert not changed(d0, solver.model.critic)
    assert all(p.grad is None for p in solver.model.critic.parameters())
    assert all(not p.stop_gradient for p in solver.model.critic.parameters())  # unfrozen again
    assert changed(g0, solver.model.generator)


def test_joint_and_separate_critic_passes_agree(tmp_path):
    results = []
    for coupled in (False, True):
        solver = make_solver(tmp_path)
        solver.model.critic.batch_coupled = coupled
        real = toy_arrays("8gaussians", 64, 3)
        paddle.seed(7)
        losses = solver.critic_step({"x": paddle.to_tensor(real["x"])}, {})
        results.append(({k: float(v) for k, v in losses.items()}, weights(solver.model.critic)))
    (loss_a, w_a), (loss_b, w_b) = results
    for k in loss_a:
        assert loss_a[k] == pytest.approx(loss_b[k], rel=1e-5, abs=1e-6)
    for k in w_a:
        np.testing.assert_allclose(w_a[k], w_b[k], rtol=1e-5, atol=1e-6)


def test_checkpoint_roundtrip_and_resume(tmp_path):
    solver = make_solver(tmp_path / "a", epochs=1, decay=4)
    solver.train()
    path = tmp_path / "a" / "checkpoints" / "latest.pdckpt"
    assert path.exists() and (tmp_path / "a" / "checkpoints" / "latest_gen.pdparams").exists()
    resumed = make_solver(tmp_path / "b", checkpoint_path=str(path), epochs=2, decay=4)
    assert resumed.start_epoch == 2 and resumed.global_step == 2
    assert resumed.optimizer_g.get_lr() == pytest.approx(0.5e-3)  # linear decay, half way
    assert resumed.optimizer_d.get_lr() == pytest.approx(0.5e-3)
    for k, v in solver.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), resumed.model.state_dict()[k].numpy())
    for name, opt in (("optimizer_g", "generator"), ("optimizer_d", "critic")):
        saved = ckpt.optimizer_state(getattr(solver, name), getattr(solver.model, opt))
        loaded = ckpt.optimizer_state(getattr(resumed, name), getattr(resumed.model, opt))
        assert saved.keys() == loaded.keys() and any("moment1" in k for k in saved)
        for k, v in saved.items():
            if hasattr(v, "numpy"):
                np.testing.assert_array_equal(v.numpy(), loaded[k].numpy())
    resumed.train()
    assert resumed.global_step == 4
    assert resumed.optimizer_g.get_lr() == pytest.approx(0.0)
    assert [r["step"] for r in resumed.history["train"]] == [1, 2, 3, 4]


def test_wrong_architecture_is_named(tmp_path):
    solver = make_solver(tmp_path / "a")
    solver.train()
    gen_file = str(tmp_path / "a" / "checkpoints" / "latest_gen.pdparams")
    with pytest.raises(UserError, match=r"different generator architecture: .*shape \[2, 16\] in file, \[2, 32\] in model"):
        load_network(ToyGenerator(width=32), gen_file, "generator")
    with pytest.raises(UserError, match="different generator architecture"):
        make_solver(tmp_path / "b", width=32, checkpoint_path=str(tmp_path / "a" / "checkpoints" / "latest.pdckpt"))
    with pytest.raises(UserError, match="not a full training checkpoint"):
        make_solver(tmp_path / "c", checkpoint_path=gen_file)
    with pytest.raises(UserError, match="does not exist"):
        load_network(ToyGenerator(), str(tmp_path / "nope.pdparams"), "generator")
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"not a weights file")
    with pytest.raises(UserError, match="not a readable Paddle weights file"):
        load_network(ToyGenerator(), str(junk), "generator")


def test_atomic_save_keeps_previous_file_on_disk_error(tmp_path, monkeypatch):
    path = str(tmp_path / "ck.pdckpt")
    atomic_save({"a": 1}, path)
    before = open(path, "rb").read()

    def full_disk(obj, target):
        with open(target, "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_io.paddle, "save", full_disk)
    with pytest.raises(UserError, match="No space left on device.*any previous ck.pdckpt there is intact"):
        atomic_save({"a": 2}, path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["ck.pdckpt"]


def test_unwritable_output_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="could not write"):
        atomic_save({"a": 1}, str(blocker / "checkpoints" / "latest.pdckpt"))


def test_nan_stops_training_without_overwriting(tmp_path):
    solver = make_solver(tmp_path, epochs=2)
    solver.train_epoch_func(solver, 1, 1)
    good = solver.save_checkpoint(1, "latest")
    before = open(good, "rb").read()
    solver.critic_constraint.loss = ppsci.loss.FunctionalLoss(WGANGPLoss(float("nan")).critic)
    with pytest.raises(UserError, match=r"diverged: a loss became NaN or Inf by generator iteration \d+.*latest.pdckpt"):
        solver.train_epoch_func(solver, 2, 1)
    with pytest.raises(UserError, match="diverged"):
        solver.save_checkpoint(2, "latest")
    assert open(good, "rb").read() == before


@pytest.mark.parametrize("field,value", [("epochs", 0), ("iters", -1)])
def test_non_positive_schedule_rejected(tmp_path, field, value):
    kwargs = {"epochs": 1, "iters": 1, field: value}
    with pytest.raises(UserError, match="must be a positive whole number"):
        make_solver(tmp_path, epochs=kwargs["epochs"], iters=kwargs["iters"])


def test_arch_shapes():
    gen, critic = ToyGenerator(noise_dim=3, width=32), ToyCritic(width=32, hidden_layers=2)
    x = gen({"z": paddle.randn([7, 3])})["x"]
    assert x.shape == [7, 2]
    assert critic({"x": x})["score"].shape == [7, 1]
    assert len([m for m in ToyGenerator().net if isinstance(m, paddle.nn.Linear)]) == 4
    assert ToyGenerator().num_params == 2 * 512 + 512 + 2 * (512 * 512 + 512) + 512 * 2 + 2

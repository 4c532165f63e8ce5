"""How an experiment wires its settings into training: the LR decay span and the AC-GAN loss weights.

``decay = TRAIN.epochs * TRAIN.iters_per_epoch`` generator iterations when
TRAIN.lr_linear_decay (0 otherwise), for both optimizers; the AC-GAN weights
LOSS.acgan_critic_scale / acgan_generator_scale reach ``WGANGPLoss`` in that
order (the toy has no class loss: 0, 0).
"""

import numpy as np
import pytest

import ppsci_ext.experiment.base as base
from ppsci_ext.experiment import folders
from ppsci_ext.experiment.fit import _image_set
from ppsci_ext.experiment.images import ImagesExperiment
from ppsci_ext.experiment.settings import from_values
from ppsci_ext.experiment.toy import ToyExperiment


class _Stop(Exception):
    pass


@pytest.fixture
def recorded(monkeypatch):
    """build_optimizer calls (lr, betas, decay) and the solver's constraint objective; training never starts."""
    calls = {"optimizers": []}
    real_build = base.build_optimizer
    real_constraint = base.real_data_constraint

    def build(params, lr, beta1, beta2, decay_iters=0):
        calls["optimizers"].append((lr, beta1, beta2, decay_iters))
        return real_build(params, lr, beta1, beta2, decay_iters)

    def constraint(arrays, batch_size, objective, labels=None):
        calls["constraint_objective"] = objective
        return real_constraint(arrays, batch_size, objective, labels=labels)

    def solver(*args, **kwargs):
        calls["solver_args"] = args
        calls["solver_kwargs"] = kwargs
        raise _Stop

    monkeypatch.setattr(base, "build_optimizer", build)
    monkeypatch.setattr(base, "real_data_constraint", constraint)
    monkeypatch.setattr(base, "AdversarialSolver", solver)
    return calls


def _toy(tmp_path, **values):
    settings = from_values("toy", ToyExperiment.all_keys(), {
        "output_dir": str(tmp_path / "run"), "DATA.num_train_samples": 256, "MODEL.width": 8,
        "TRAIN.batch_size": 32, "TRAIN.eval_during_train": False, **values})
    return ToyExperiment(settings)


def _run_until_solver(experiment):
    try:
        with pytest.raises(_Stop):
            experiment.train()
    finally:
        folders.release(experiment.lock)


@pytest.mark.parametrize("epochs,iters,n_critic", [(3, 5, 2), (7, 2, 3), (1, 11, 4)])
def test_decay_span_is_epochs_times_generator_iterations(tmp_path, recorded, epochs, iters, n_critic):
    exp = _toy(tmp_path, **{"TRAIN.epochs": epochs, "TRAIN.iters_per_epoch": iters, "TRAIN.n_critic": n_critic,
                            "TRAIN.lr_linear_decay": True, "TRAIN.lr_generator": 2e-4, "TRAIN.lr_critic": 3e-4,
                            "TRAIN.beta1": 0.25, "TRAIN.beta2": 0.75})
    _run_until_solver(exp)
    assert recorded["optimizers"] == [(2e-4, 0.25, 0.75, epochs * iters), (3e-4, 0.25, 0.75, epochs * iters)]
    g, d = recorded["solver_args"][3], recorded["solver_args"][4]
    for opt, lr in ((g, 2e-4), (d, 3e-4)):
        schedule = opt._learning_rate
        assert schedule.decay_steps == epochs * iters and schedule.end_lr == 0.0 and schedule.power == 1.0
        assert schedule.base_lr == pytest.approx(lr)
    assert recorded["solver_kwargs"]["epochs"] == epochs
    assert recorded["solver_kwargs"]["iters_per_epoch"] == iters
    assert recorded["solver_kwargs"]["n_critic"] == n_critic


def test_no_decay_without_lr_linear_decay(tmp_path, recorded):
    exp = _toy(tmp_path, **{"TRAIN.epochs": 3, "TRAIN.iters_per_epoch": 5, "TRAIN.lr_linear_decay": False,
                            "TRAIN.lr_generator": 2e-4, "TRAIN.lr_critic": 3e-4})
    _run_until_solver(exp)
    assert [c[3] for c in recorded["optimizers"]] == [0, 0]
    assert [c[0] for c in recorded["optimizers"]] == [2e-4, 3e-4]
    assert recorded["solver_args"][3]._learning_rate == pytest.approx(2e-4)  # a constant rate, no schedule


def test_toy_has_no_class_loss(tmp_path, recorded):
    exp = _toy(tmp_path, **{"LOSS.gp_lambda": 0.25})
    try:
        assert exp.objective.gp_lambda == 0.25
        assert (exp.objective.acgan_critic_scale, exp.objective.acgan_generator_scale) == (0.0, 0.0)
    finally:
        folders.release(exp.lock)


def test_toy_run_decays_to_zero_at_its_end(tmp_path):
    """A real (tiny) run: after epochs * iters_per_epoch generator iterations the learning rate is 0."""
    exp = _toy(tmp_path, **{"TRAIN.epochs": 2, "TRAIN.iters_per_epoch": 3, "TRAIN.n_critic": 1,
                            "TRAIN.lr_linear_decay": True, "TRAIN.lr_generator": 1e-3, "TRAIN.lr_critic": 2e-3,
                            "DATA.num_eval_samples": 64, "log_freq": 1})
    try:
        solver = exp.train()
    finally:
        folders.release(exp.lock)
    assert solver.global_step == 6
    assert solver.optimizer_g._learning_rate.decay_steps == 6 == solver.optimizer_d._learning_rate.decay_steps
    assert solver.optimizer_g.get_lr() == pytest.approx(0.0, abs=1e-12)
    assert solver.optimizer_d.get_lr() == pytest.approx(0.0, abs=1e-12)


def _images(tmp_path, critic_scale, generator_scale, **values):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (20, 32, 32, 1), dtype=np.uint8)
    y = np.arange(20) % 2
    settings = from_values("images", ImagesExperiment.all_keys(), {
        "output_dir": str(tmp_path / "img"), "DATA.data_path": "memory", "DATA.resolution": 32,
        "MODEL.conditional": True, "MODEL.dim": 8, "EVAL.inception_weights_path": None,
        "LOSS.acgan_critic_scale": critic_scale, "LOSS.acgan_generator_scale": generator_scale,
        "TRAIN.batch_size": 4, "TRAIN.eval_during_train": False, **values})
    data = _image_set(X, y, settings.DATA.resolution, settings.DATA.channels, settings.DATA.data_path)
    return ImagesExperiment(settings, data=data)


def test_acgan_scales_reach_the_objective_in_order(tmp_path, recorded):
    exp = _images(tmp_path, 0.3, 0.7, **{"LOSS.gp_lambda": 5.0, "TRAIN.epochs": 4, "TRAIN.iters_per_epoch": 6,
                                         "TRAIN.n_critic": 2, "TRAIN.lr_linear_decay": True})
    assert exp.acgan_scales() == (0.3, 0.7)
    assert exp.objective.acgan_critic_scale == 0.3
    assert exp.objective.acgan_generator_scale == 0.7
    assert exp.objective.gp_lambda == 5.0
    _run_until_solver(exp)
    assert recorded["constraint_objective"] is exp.objective  # the critic's loss is this objective
    assert recorded["solver_args"][2].loss_expr.__self__ is exp.objective  # and the generator's
    assert [c[3] for c in recorded["optimizers"]] == [24, 24]


def test_acgan_scales_other_values(tmp_path, recorded):
    exp = _images(tmp_path, 2.0, 0.0)
    try:
        assert (exp.objective.acgan_critic_scale, exp.objective.acgan_generator_scale) == (2.0, 0.0)
    finally:
        folders.release(exp.lock)


def test_an_mnist_split_is_decompressed_once_per_experiment(monkeypatch, tmp_path):
    """The validator and the VAE's test ELBO both ask for the test split; mnist.pkl.gz is read once."""
    from ppsci_ext.experiment import mnist as mnist_experiment
    from ppsci_ext.experiment.vae import VAEMNISTExperiment

    reads = []

    def read(path, split):
        reads.append(split)
        return np.full((3, 1, 28, 28), len(reads), np.float32), np.zeros(3, np.int64)

    monkeypatch.setattr(mnist_experiment.data, "read_mnist", read)
    monkeypatch.setattr(mnist_experiment.data, "resolve_mnist_path", lambda path: "mnist.pkl.gz")
    exp = VAEMNISTExperiment(from_values("vae_mnist", VAEMNISTExperiment.all_keys(),
                                         {"output_dir": str(tmp_path / "run")}))
    first = exp._read("test")
    assert exp._read("test") is first and exp._read("train")[0, 0, 0, 0] == 2
    assert reads == ["test", "train"]

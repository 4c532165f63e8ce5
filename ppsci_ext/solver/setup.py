"""Builders shared by the example scripts: config -> optimizers, solver, files."""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, Optional

import numpy as np
import paddle
import ppsci
from omegaconf import DictConfig, OmegaConf

from ppsci_ext.errors import UserError, check_positive
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver.adversarial import AdversarialSolver
from ppsci_ext.visualize import plot_history


def build_optimizer(params, lr: float, beta1: float, beta2: float, decay_iters: int = 0):
    """Adam with betas (beta1, beta2); with ``decay_iters`` > 0 the learning rate
    decays linearly to 0 over that many generator iterations, as in the paper's
    CIFAR-10 setting."""
    check_positive(lr, "learning rate")
    if decay_iters:
        lr = paddle.optimizer.lr.PolynomialDecay(learning_rate=lr, decay_steps=decay_iters, end_lr=0.0, power=1.0)
    return paddle.optimizer.Adam(learning_rate=lr, beta1=beta1, beta2=beta2, parameters=params)


def real_data_constraint(arrays: Dict[str, np.ndarray], batch_size: int, objective: WGANGPLoss,
                         labels: Optional[Dict[str, np.ndarray]] = None):
    """SupervisedConstraint over in-memory real data with the critic objective as its loss.

    It declares the data, the batch size and the batch policy (shuffled, incomplete
    batches dropped); ``AdversarialSolver`` draws those batches by index from its
    dataset with a checkpointed ``ArrayBatchSampler`` rather than through its loader.
    """
    check_positive(batch_size, "TRAIN.batch_size")
    n = len(next(iter(arrays.values())))
    if batch_size > n:
        raise UserError(f"TRAIN.batch_size={batch_size} exceeds the {n} training samples; lower it.")
    cfg = {
        "dataset": {"name": "NamedArrayDataset", "input": arrays, "label": labels or {}},
        "batch_size": int(batch_size),
        "sampler": {"name": "BatchSampler", "drop_last": True, "shuffle": True},
        "num_workers": 0,
    }
    return {"critic": ppsci.constraint.SupervisedConstraint(cfg, ppsci.loss.FunctionalLoss(objective.critic), name="critic")}


def sample_validator(noise: Dict[str, np.ndarray], real: Dict[str, np.ndarray], batch_size: int,
                     metrics: Dict[str, Callable], name: str = "samples"):
    """Validator that feeds fixed generator inputs and scores the samples against real data."""
    check_positive(batch_size, "EVAL.batch_size")
    cfg = {
        "dataset": {"name": "NamedArrayDataset", "input": noise, "label": real},
        "batch_size": int(batch_size),
        "sampler": {"name": "BatchSampler", "drop_last": False, "shuffle": False},
        "num_workers": 0,
    }
    validator = ppsci.validate.SupervisedValidator(
        cfg,
        ppsci.loss.FunctionalLoss(lambda *args: {}),
        metric={k: ppsci.metric.FunctionalMetric(fn) for k, fn in metrics.items()},
        name=name,
    )
    return {name: validator}


def build_solver(cfg: DictConfig, model, constraint, validator, visualize_fn, experiment: str,
                 step_fn: Optional[Callable] = None) -> AdversarialSolver:
    """AdversarialSolver from the TRAIN/LOSS sections of an example config (``step_fn``: see AdversarialSolver)."""
    t = cfg.TRAIN
    objective = WGANGPLoss(cfg.LOSS.gp_lambda, cfg.LOSS.get("acgan_critic_scale", 0.0),
                           cfg.LOSS.get("acgan_generator_scale", 0.0))
    decay = int(t.epochs * t.iters_per_epoch) if t.get("lr_linear_decay", False) else 0
    ema = t.get("ema") or {}  # ppsci's TRAIN/ema group plus start_step
    opt_g = build_optimizer(model.generator.parameters(), t.lr_generator, t.beta1, t.beta2, decay)
    opt_d = build_optimizer(model.critic.parameters(), t.lr_critic, t.beta1, t.beta2, decay)
    return AdversarialSolver(
        model,
        constraint,
        ppsci.loss.FunctionalLoss(objective.generator),
        opt_g,
        opt_d,
        output_dir=cfg.output_dir,
        epochs=t.epochs,
        iters_per_epoch=t.iters_per_epoch,
        n_critic=t.n_critic,
        generator_batch_size=t.get("generator_batch_size"),
        save_freq=t.save_freq,
        log_freq=cfg.log_freq,
        eval_during_train=t.eval_during_train,
        eval_freq=t.eval_freq,
        monitor=t.get("monitor"),
        validator=validator,
        visualize_fn=visualize_fn,
        step_fn=step_fn,
        checkpoint_path=t.checkpoint_path,
        config_yaml=OmegaConf.to_yaml(cfg),
        experiment=experiment,
        seed=cfg.seed,
        device=cfg.device,
        ema_decay=ema.get("decay") if ema.get("use_ema", False) else None,
        ema_start_step=ema.get("start_step", 0),
        ema_every=ema.get("avg_freq", 1),
    )


def write_training_results(solver: AdversarialSolver, **info) -> str:
    """After ``solver.train()``: draw ``training_curves.png`` and write the last
    evaluation's metrics (with its step, the checkpoint and ``info``) to ``metrics.json``.
    Only rank 0 of a data-parallel run writes (the others return None)."""
    if solver.rank != 0:
        return None
    plot_history(os.path.join(solver.output_dir, "training_curves.png"), solver.history)
    metrics = dict(solver.history["eval"][-1]) if solver.history["eval"] else {}
    step = metrics.pop("step", solver.global_step)
    return write_metrics(solver.output_dir, metrics, step=step, checkpoint=solver.last_checkpoint, **info)


def write_metrics(output_dir: str, metrics: Dict[str, float], **info) -> str:
    """Write ``metrics.json`` (metrics plus provenance such as weights and step)."""
    path = os.path.join(output_dir, "metrics.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"metrics": metrics, **info}, f, indent=1)
    return path

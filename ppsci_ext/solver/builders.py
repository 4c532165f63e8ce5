"""Builders of the ppsci pieces a WGAN-GP run needs, from plain values (no config)."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Union

import numpy as np
import paddle
import ppsci

from ppsci_ext.errors import UserError, check_positive
from ppsci_ext.loss import WGANGPLoss


def build_optimizer(params, lr: float, beta1: float, beta2: float, decay_iters: int = 0):
    """Adam with betas (beta1, beta2); with ``decay_iters`` > 0 the learning rate
    decays linearly to 0 over that many generator iterations, as in the paper's
    CIFAR-10 setting."""
    check_positive(lr, "learning rate")
    if decay_iters:
        lr = paddle.optimizer.lr.PolynomialDecay(learning_rate=lr, decay_steps=decay_iters, end_lr=0.0, power=1.0)
    return paddle.optimizer.Adam(learning_rate=lr, beta1=beta1, beta2=beta2, parameters=params)


def real_data_constraint(arrays: Dict[str, np.ndarray], batch_size: int, objective: Union[WGANGPLoss, Callable],
                         labels: Optional[Dict[str, np.ndarray]] = None):
    """SupervisedConstraint over in-memory real data with the critic objective as its loss.

    ``objective`` is a ``WGANGPLoss`` (its ``critic``) or the loss function itself
    (the VAE's ``loss.negative_elbo``).

    It declares the data, the batch size and the batch policy (shuffled, incomplete
    batches dropped); ``AdversarialSolver`` draws those batches by index from its
    dataset with a checkpointed ``ArrayBatchSampler`` rather than through its loader.
    """
    check_positive(batch_size, "batch_size", whole=True)
    n = len(next(iter(arrays.values())))
    if batch_size > n:
        raise UserError(f"the batch size {batch_size} exceeds the {n} training samples; lower it.")
    cfg = {
        "dataset": {"name": "NamedArrayDataset", "input": arrays, "label": labels or {}},
        "batch_size": int(batch_size),
        "sampler": {"name": "BatchSampler", "drop_last": True, "shuffle": True},
        "num_workers": 0,
    }
    loss_fn = objective.critic if isinstance(objective, WGANGPLoss) else objective
    return {"critic": ppsci.constraint.SupervisedConstraint(cfg, ppsci.loss.FunctionalLoss(loss_fn), name="critic")}


def sample_validator(noise: Dict[str, np.ndarray], real: Dict[str, np.ndarray], batch_size: int,
                     metrics: Dict[str, Callable], name: str = "samples"):
    """Validator that feeds fixed generator inputs and scores the samples against real data."""
    check_positive(batch_size, "batch_size", whole=True)
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

"""Adversarial WGAN-GP training on top of ``ppsci.solver.Solver``.

``AdversarialSolver.train()`` runs the whole training. Each generator
iteration (one Solver "iteration") performs ``n_critic`` critic updates, each
on a fresh real batch drawn by index from the constraint's in-memory dataset
(``ArrayBatchSampler``, whose state is checkpointed), then one generator
update. Critic updates draw fake samples under ``paddle.no_grad`` so no
generator graph is built; the generator update freezes the critic's
parameters so no critic weight gradient is computed.

Evaluation reuses ``Solver.eval`` with ppsci validators (the model maps noise
to samples), with the averaged generator when EMA is on. Checkpoints are
written every ``save_freq`` epochs and at the end, atomically, and hold
everything needed to resume exactly.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import math
import os
import shlex
import sys
import time
from typing import Callable, ContextManager, Dict, Optional

import numpy as np
import paddle
import ppsci
from paddle import io
from ppsci.utils import logger, misc

from ppsci_ext import _private
from ppsci_ext import signals
from ppsci_ext.data.sampler import ArrayBatchSampler
from ppsci_ext.errors import UserError, check_positive
from ppsci_ext.io.atomic import atomic_write_json, remove_stale_temporaries
from ppsci_ext.solver import state as checkpoint
from ppsci_ext.solver import distributed
from ppsci_ext.solver.ema import GeneratorEMA


class TrainingDiverged(UserError):
    """A loss, a gradient or a weight became NaN or Inf."""


def stop_prefetching(constraint: "ppsci.constraint.Constraint") -> None:
    """Stop the prefetch thread of the data loader iterator that a ppsci constraint starts.

    The solver draws real batches itself; left running, that thread would draw
    from NumPy's global random state (shuffling, CIFAR-10 dequantisation) at
    moments that vary from run to run, and a resumed run would not continue
    exactly.
    """
    loader_iter, constraint.data_iter = constraint.data_iter, None
    _private.stop_loader_thread(loader_iter)


def real_batch_sampler(constraint: "ppsci.constraint.Constraint", seed: int, rank: int = 0,
                       world_size: int = 1) -> ArrayBatchSampler:
    """Shuffled real batches (incomplete ones dropped) drawn by index from the
    constraint's ``NamedArrayDataset``, at the constraint's batch size (per
    process; ``world_size`` processes share one permutation)."""
    loader = constraint.data_loader
    dataset = loader.dataset
    if not isinstance(dataset, ppsci.data.dataset.NamedArrayDataset):
        raise ValueError(
            "AdversarialSolver draws real batches from a constraint over a NamedArrayDataset "
            f"(see ppsci_ext.solver.builders.real_data_constraint), not {type(dataset).__name__}."
        )
    sampler = loader.batch_sampler
    while isinstance(getattr(sampler, "sampler", None), io.BatchSampler):
        sampler = sampler.sampler  # ppsci wraps the declared batch sampler to index whole batches
    return ArrayBatchSampler(dataset.input, dataset.label, sampler.batch_size, seed, rank, world_size)


class _MetricsOnly(dict):
    """``Solver.eval_output_info`` without the validators' placeholder loss.

    The sample validators score generated images with metrics only; their
    loss is a stand-in that is always 0, and ppsci would print it as
    ``samples/loss: 0.00000`` in every eval line. Entries ending in ``/loss``
    are not kept (ppsci's updates go to a throwaway meter).
    """

    def __setitem__(self, key, value):
        if not str(key).endswith("/loss"):
            super().__setitem__(key, value)

    def __missing__(self, key):
        return misc.AverageMeter(key)


def format_value(value: float) -> str:
    """A metric for the log: whole numbers (mode counts, sample counts) as integers, others to 5 digits."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.5g}"


def _hms(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(max(seconds, 0))))


def _stops_at_safe_points(train: Callable) -> Callable:
    """Decorate ``AdversarialSolver.train``: SIGINT and SIGTERM stop it cleanly (``ppsci_ext.signals``).

    A signal is recorded and the loop stops before the next generator
    iteration (``adversarial_epoch``), where everything agrees; during an
    evaluation it stops at once. The ``Stopped`` that ends the run says which
    checkpoint was kept and the command that resumes from it. With several
    processes (data parallel) each stops at once instead: they could not agree
    on a safe point without one more collective call per iteration.
    """

    @functools.wraps(train)
    def wrapper(self: "AdversarialSolver") -> None:
        # The checkpoint kept so far: the one resumed from, if any (path, epoch, generator iteration).
        start = self.start_epoch - 1
        self.kept_checkpoint = (self.last_checkpoint, start, start * self.iters_per_epoch) if self.last_checkpoint \
            else None
        self.training = True
        try:
            with signals.catch_stop_signals(immediate=self.world_size > 1):
                return train(self)
        except signals.Stopped as stop:
            raise stop.explained(self.stop_message(stop)) from None
        finally:
            self.training = False

    return wrapper


def _stops_at_once(evaluate: Callable) -> Callable:
    """Decorate ``AdversarialSolver.evaluate``: SIGINT and SIGTERM stop it at once (it has no safe point),
    with a message of its own when it is not part of a training run."""

    @functools.wraps(evaluate)
    def wrapper(self: "AdversarialSolver", tag: str, epoch_id: Optional[int] = None) -> Dict[str, float]:
        try:
            with signals.catch_stop_signals(immediate=True):
                return evaluate(self, tag, epoch_id)
        except signals.Stopped as stop:
            stop.where = stop.where or ("during the evaluation" + (f" after epoch {epoch_id}" if epoch_id else ""))
            if getattr(self, "training", False):
                raise  # train() says what was kept
            raise stop.explained(
                f"Stopped by {signals.signal_name(stop.signum)} during the evaluation of {self.describe_weights()}: "
                "its results (metrics.json) were not written; the weights files are untouched. Run the "
                "evaluation again to score them."
            ) from None

    return wrapper


def _written_whole(save: Callable) -> Callable:
    """Decorate ``AdversarialSolver.save_checkpoint``: a signal during a save is acted on after it, so a
    save that began is finished (each file is atomic anyway; this keeps the set of files together)."""

    @functools.wraps(save)
    def wrapper(self: "AdversarialSolver", epoch_id: int, prefix: str) -> str:
        with signals.deferred():
            path = save(self, epoch_id, prefix)
            if prefix == "latest":
                self.kept_checkpoint = (path, epoch_id, self.global_step)
        return path

    return wrapper


class AdversarialSolver(ppsci.solver.Solver):
    """Solver that trains a ``ppsci_ext.arch.GAN`` with WGAN-GP.

    Args:
        model (GAN): Generator and critic pair.
        constraint (Optional[Dict[str, ppsci.constraint.SupervisedConstraint]]): One
            constraint over a ``NamedArrayDataset`` of real data (input key =
            ``model.sample_key``, optional label ``y``) whose loss is the critic
            objective (e.g. ``FunctionalLoss(WGANGPLoss().critic)``). Its batch
            size is used; batches are drawn shuffled, by index, by an
            ``ArrayBatchSampler`` seeded with ``seed`` and checkpointed.
        generator_loss (ppsci.loss.FunctionalLoss): Generator objective.
        optimizer_g (paddle.optimizer.Optimizer): Optimizer of the generator.
        optimizer_d (paddle.optimizer.Optimizer): Optimizer of the critic.
        output_dir (str): Where checkpoints, logs, metrics and pictures go.
        epochs (int): Number of epochs.
        iters_per_epoch (int): Generator iterations per epoch; checkpoints,
            evaluation and pictures happen at epoch ends.
        n_critic (int): Critic updates per generator iteration. Defaults to 5.
        generator_batch_size (Optional[int]): Batch of the generator update.
            Defaults to None (the real batch size).
        save_freq (int): Save a checkpoint every this many epochs (and at the
            end). Defaults to 1.
        log_freq (int): Log every this many generator iterations. Defaults to 20.
        eval_during_train (bool): Evaluate with the validators during training.
        eval_freq (int): Evaluate every this many epochs (and at the end).
        monitor (Optional[str]): Metric (``"validator_metric.key"`` or ``key``)
            whose lowest value selects the "best" checkpoint. Defaults to None.
        validator (Optional[Dict[str, ppsci.validate.Validator]]): Validators.
        visualize_fn (Optional[Callable[[AdversarialSolver, str], None]]): Called
            after each evaluation with a tag such as "epoch_3" to draw pictures.
        step_fn (Optional[Callable[[AdversarialSolver], None]]): Called after every
            generator iteration (e.g. to draw a sample grid every few
            iterations with ``solver.visualize(tag)``). Defaults to None.
        checkpoint_path (Optional[str]): Full checkpoint to resume from.
        config_yaml (Optional[str]): Config to store in checkpoints.
        experiment (str): Name stored in checkpoints and checked on resume.
        seed (int): Random seed. Defaults to 42.
        device (Optional[str]): "cpu" or "gpu". Defaults to Paddle's default.
        ema_decay (Optional[float]): Keep an exponential moving average of the
            generator's weights with this decay, and evaluate and draw with it
            (``GeneratorEMA``). Defaults to None (no average).
        ema_start_step (int): Generator iterations during which the average
            only copies the weights. Defaults to 0.
        ema_every (int): Update the average every this many generator
            iterations. Defaults to 1.
        use_vdl (bool): Write scalars and sample grids for VisualDL (``vdl/``).
        use_tbd (bool): Write them for TensorBoard (``tensorboard/``, through tensorboardX).
        use_wandb (bool): Send them to Weights & Biases, started with ``wandb_config``.
        wandb_config (Optional[Dict]): Arguments of ``wandb.init``.
        extra_metrics (Optional[Callable[[AdversarialSolver], Dict[str, float]]]): Metrics that are not
            computed from generated samples (e.g. the VAE's ELBO on test images), called at each evaluation
            after the validators, without gradients; their ``"group.name"`` keys join the validators'.

    With ``constraint=None`` (and no loss or optimizers) the solver only
    evaluates: ``evaluate()`` and ``visualize()`` work, ``train()`` does not.
    """

    uses_generator_loss = True  # a subclass that trains with the constraint's loss alone sets False
    step_name = "generator iteration"  # what global_step counts, in messages (the VAE's: "update")

    def __init__(
        self,
        model,
        constraint: Optional[Dict[str, "ppsci.constraint.Constraint"]],
        generator_loss: Optional["ppsci.loss.Loss"],
        optimizer_g: Optional[paddle.optimizer.Optimizer],
        optimizer_d: Optional[paddle.optimizer.Optimizer],
        output_dir: str,
        epochs: int = 1,
        iters_per_epoch: int = 1,
        n_critic: int = 5,
        generator_batch_size: Optional[int] = None,
        save_freq: int = 1,
        log_freq: int = 20,
        eval_during_train: bool = False,
        eval_freq: int = 1,
        monitor: Optional[str] = None,
        validator: Optional[Dict[str, "ppsci.validate.Validator"]] = None,
        visualize_fn: Optional[Callable[["AdversarialSolver", str], None]] = None,
        step_fn: Optional[Callable[["AdversarialSolver"], None]] = None,
        checkpoint_path: Optional[str] = None,
        config_yaml: Optional[str] = None,
        experiment: str = "wgangp",
        seed: int = 42,
        device: Optional[str] = None,
        ema_decay: Optional[float] = None,
        ema_start_step: int = 0,
        ema_every: int = 1,
        use_vdl: bool = False,
        use_tbd: bool = False,
        use_wandb: bool = False,
        wandb_config: Optional[Dict] = None,
        extra_metrics: Optional[Callable[["AdversarialSolver"], Dict[str, float]]] = None,
    ):
        for value, name in [
            (epochs, "epochs"),
            (iters_per_epoch, "iters_per_epoch"),
            (n_critic, "n_critic"),
            (save_freq, "save_freq"),
            (log_freq, "log_freq"),
            (eval_freq, "eval_freq"),
        ]:
            check_positive(value, name, whole=True)
        if generator_batch_size is not None:
            check_positive(generator_batch_size, "generator_batch_size", whole=True)
        # Without real data and optimizers the solver only evaluates (mode=eval builds neither).
        self.can_train = constraint is not None
        if self.can_train:
            if len(constraint) != 1 or optimizer_g is None or optimizer_d is None or (
                    generator_loss is None and self.uses_generator_loss):
                raise ValueError("AdversarialSolver trains with one constraint (the real data), a generator "
                                 "loss and two optimizers; pass constraint=None for an evaluation-only solver.")
            stop_prefetching(next(iter(constraint.values())))
            optimizers = ppsci.optimizer.OptimizerList((optimizer_g, optimizer_d))
            _private.clear_grad_clip(optimizers)  # read when ppsci wraps the optimizer for data-parallel training
        else:
            optimizers = None
        super().__init__(
            model,
            constraint,
            output_dir,
            optimizers,
            epochs=epochs,
            iters_per_epoch=iters_per_epoch,
            save_freq=save_freq,
            log_freq=log_freq,
            eval_during_train=eval_during_train,
            eval_freq=eval_freq,
            seed=seed,
            device=device,
            validator=validator,
            eval_with_no_grad=True,
            use_vdl=use_vdl,
            use_tbd=use_tbd,
        )
        if use_wandb and self.rank == 0:  # ppsci's Solver would start W&B without the run's wandb_config
            import wandb

            self.wandb_writer = wandb.init(**(wandb_config or {}))
        self.train_epoch_func = adversarial_epoch
        self.eval_output_info = _MetricsOnly()
        self.eval_seconds: list = []  # wall time of each evaluation during training, for the ETA
        if self.world_size > 1:
            # ppsci wrapped the pair in DataParallel (which copied rank 0's weights to
            # all ranks); the steps call generator and critic separately and average
            # the gradients themselves (ppsci_ext.solver.distributed).
            self._data_parallel = self.model  # kept alive: its reducer's hooks stay on the parameters
            self.model = distributed.unwrap(self.model)
            self.optimizer = optimizers
            misc.set_random_seed(seed + self.rank)  # each rank its own noise stream
        self.optimizer_g = optimizer_g
        self.optimizer_d = optimizer_d
        self.critic_constraint = next(iter(constraint.values())) if self.can_train else None
        self.real_batches = (real_batch_sampler(self.critic_constraint, seed, self.rank, self.world_size)
                             if self.can_train else None)
        self.ema_model: Optional[GeneratorEMA] = (
            GeneratorEMA(model.generator, ema_decay, ema_start_step, ema_every) if ema_decay is not None else None
        )
        self.generator_loss = generator_loss
        self.extra_metrics = extra_metrics
        self.n_critic = int(n_critic)
        self.generator_batch_size = generator_batch_size
        self.monitor = monitor
        self.visualize_fn = visualize_fn
        self.step_fn = step_fn
        self.config_yaml = config_yaml
        self.experiment = experiment
        self.start_epoch = 1
        self.best = {"metric": math.inf, "epoch": 0}
        self.history = {"train": [], "eval": []}
        self.last_checkpoint: Optional[str] = None
        self.weights_label: Optional[str] = None  # what evaluation-only solvers score ("shipped weights", ...)
        if checkpoint_path:
            self.resume(checkpoint_path)

    # ------------------------------------------------------------------ steps
    def critic_step(self, input_dict: Dict[str, paddle.Tensor], label_dict: Dict[str, paddle.Tensor]):
        """One critic update on a real batch; returns the loss dict (tensors)."""
        gan = self.model
        key = gan.sample_key
        real = input_dict[key]
        n = real.shape[0]
        with paddle.no_grad():
            fake = gan.generator(self.sample_noise(n, label_dict.get("y")))[key]
        eps = self.sample_eps([n] + [1] * (real.ndim - 1), real.dtype)
        x_interp = eps * real + (1.0 - eps) * fake
        x_interp.stop_gradient = False
        if getattr(gan.critic, "batch_coupled", True):
            outs = [gan.critic({key: x}) for x in (real, fake)]
        else:
            # One pass over real and fake together; the interpolates get their own
            # pass so the double backward of the penalty covers only their rows.
            joint = gan.critic({key: paddle.concat([real, fake])})
            outs = [{k: v[:n] for k, v in joint.items()}, {k: v[n:] for k, v in joint.items()}]
        outs.append(gan.critic({key: x_interp}))
        output_dict = {"x_interp": x_interp}
        for tag, out in zip(("real", "fake", "interp"), outs):
            for k, v in out.items():
                output_dict[f"{k}_{tag}"] = v
        losses = self.critic_constraint.loss(output_dict, label_dict)
        losses["critic_loss"].backward()
        distributed.allreduce_gradients(gan.critic.parameters())
        self.optimizer_d.step()
        self.optimizer_d.clear_grad()
        return losses

    def generator_step(self, batch_size: int):
        """One generator update with the critic frozen; returns the loss dict."""
        gan = self.model
        inputs = self.sample_noise(batch_size)
        critic_params = [p for p in gan.critic.parameters() if not p.stop_gradient]
        for p in critic_params:
            p.stop_gradient = True
        try:
            fake = gan.generator(inputs)[gan.sample_key]
            out = gan.critic({gan.sample_key: fake})
            output_dict = {f"{k}_fake": v for k, v in out.items()}
            losses = self.generator_loss(output_dict, {"y": inputs["y"]} if "y" in inputs else {})
            losses["generator_loss"].backward()
        finally:
            for p in critic_params:
                p.stop_gradient = False
        distributed.allreduce_gradients(gan.generator.parameters())
        self.optimizer_g.step()
        self.optimizer_g.clear_grad()
        return losses

    def train_iteration(self):
        """One generator iteration: ``n_critic`` critic updates on fresh real batches, then one generator update.

        Returns:
            (losses, batch size, seconds spent drawing real batches).
        """
        reader_cost = 0.0
        for _ in range(self.n_critic):
            reader_tic = time.perf_counter()
            input_dict, label_dict = self.next_real_batch()
            reader_cost += time.perf_counter() - reader_tic
            losses = self.critic_step(input_dict, label_dict)
        batch_size = input_dict[self.model.sample_key].shape[0]
        losses.update(self.generator_step(self.generator_batch_size or batch_size))
        return losses, batch_size, reader_cost

    def sample_noise(self, n: int, labels: Optional[paddle.Tensor] = None) -> Dict[str, paddle.Tensor]:
        """Generator inputs for ``n`` fakes (``GAN.sample_inputs``: noise, and labels when conditional)."""
        return self.model.sample_inputs(n, labels)

    def sample_eps(self, shape, dtype) -> paddle.Tensor:
        """Per-sample interpolation weights of the gradient penalty, uniform in [0, 1)."""
        return paddle.rand(shape, dtype=dtype)

    def next_real_batch(self):
        """Next (input, label) batch of real data; a new permutation starts at the end of the data."""
        return self.real_batches.next()

    # --------------------------------------------------------------- training
    @_stops_at_safe_points
    def train(self) -> None:
        """Train from ``start_epoch`` to ``epochs``, evaluating and saving on schedule."""
        if not self.can_train:
            raise RuntimeError("this AdversarialSolver was built for evaluation only (no constraint)")
        self.global_step = (self.start_epoch - 1) * self.iters_per_epoch
        self.max_steps = self.epochs * self.iters_per_epoch
        if self.start_epoch > self.epochs:
            logger.message(f"Checkpoint is already at epoch {self.epochs}; nothing to train.")
        if self.rank == 0:
            for path in remove_stale_temporaries(os.path.join(self.output_dir, "checkpoints")):
                logger.message(f"Removed {path}, a temporary file left by an interrupted run")
        for epoch_id in range(self.start_epoch, self.epochs + 1):
            self.train_epoch_func(self, epoch_id, self.log_freq)
            last = epoch_id == self.epochs
            save = epoch_id % self.save_freq == 0 or last
            if save:  # before the evaluation, so that a failing evaluation never costs the epoch's training
                self.save_checkpoint(epoch_id, "latest")
            if self.eval_during_train and (epoch_id % self.eval_freq == 0 or last):
                tic = time.perf_counter()
                self.evaluate(f"epoch_{epoch_id}", epoch_id)
                self.eval_seconds.append(time.perf_counter() - tic)
                if save:  # again, with the evaluation in its history (and the best metric) for an exact resume
                    self.save_checkpoint(epoch_id, "latest")
                self.write_history()  # the curve so far, readable while the run goes on (ppsci-ext-summarize --curve)
        self.write_history()

    def averaged_generator(self) -> ContextManager:
        """Context in which the generator holds its averaged weights (does nothing without EMA)."""
        return self.ema_model.applied() if self.ema_model is not None else contextlib.nullcontext()

    def visualize(self, tag: str) -> None:
        """Draw pictures with ``visualize_fn`` (with the averaged generator when EMA is on; rank 0 only).

        ``visualize_fn`` may return the path of the PNG it wrote; the picture then
        also goes to the VisualDL / TensorBoard / W&B writers that are on.
        """
        if self.visualize_fn is not None and self.rank == 0:
            with self.averaged_generator():
                path = self.visualize_fn(self, tag)
            if path:
                self.log_image("samples", path)

    def describe_weights(self) -> str:
        """What the generator holds, for picture titles: ``weights_label``, else the generator iteration."""
        return self.weights_label or f"{self.step_name} {self.global_step}"

    def _writers(self):
        return [w for w in (self.vdl_writer, self.tbd_writer, self.wandb_writer) if w is not None]

    def log_scalars(self, values: Dict[str, float]) -> None:
        """Send scalars at the current generator iteration to the writers that are on (rank 0)."""
        if self.rank == 0 and self._writers():
            logger.scalar(values, self.global_step, self.vdl_writer, self.wandb_writer, self.tbd_writer)

    def log_image(self, tag: str, path: str) -> None:
        """Send the PNG at ``path`` to the writers that are on (rank 0)."""
        if self.rank != 0 or not self._writers():
            return
        from PIL import Image

        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB"))
        if self.vdl_writer is not None:
            self.vdl_writer.add_image(tag, image, self.global_step)
        if self.tbd_writer is not None:
            self.tbd_writer.add_image(tag, image, self.global_step, dataformats="HWC")
        if self.wandb_writer is not None:
            import wandb

            self.wandb_writer.log({tag: wandb.Image(image), "step": self.global_step})

    @misc.run_on_eval_mode
    def eval(self, epoch_id: Optional[int] = None):
        """ppsci's ``Solver.eval`` with its summary line as this package prints metrics (counts as integers)."""
        self.eval_func = ppsci.solver.eval.eval_func
        with _private.eval_printer(log_eval_info):  # for this call only
            result = self.eval_func(self, epoch_id, self.log_freq)
        shown = ", ".join(f"{key}: {format_value(meter.avg)}" for key, meter in self.eval_output_info.items())
        logger.info(f"[Eval]{f'[Epoch {epoch_id}]' if isinstance(epoch_id, int) else ''}[Avg] {shown}")
        self.eval_output_info.clear()
        return result

    @_stops_at_once
    def evaluate(self, tag: str, epoch_id: Optional[int] = None) -> Dict[str, float]:
        """Run the validators, record the metrics, keep the best checkpoint, draw pictures.

        Validators, ``extra_metrics`` and pictures see the averaged generator when EMA is on.
        """
        metrics: Dict[str, float] = {}
        if self.validator or self.extra_metrics is not None:
            with self.averaged_generator():
                if self.validator:
                    _, groups = self.eval(epoch_id)
                    metrics = {f"{group}.{key}": float(value) for group, values in groups.items()
                               for key, value in values.items()}
                if self.extra_metrics is not None:
                    with paddle.no_grad():
                        extra = {k: float(v) for k, v in self.extra_metrics(self).items()}
                    shown = ", ".join(f"{key}: {format_value(value)}" for key, value in extra.items())
                    logger.info(f"[Eval]{f'[Epoch {epoch_id}]' if isinstance(epoch_id, int) else ''}[Avg] {shown}")
                    metrics.update(extra)
            self.log_scalars({f"eval/{k}": v for k, v in metrics.items()})
            if epoch_id is not None:
                self.history["eval"].append({"step": self.global_step, **metrics})
                self._update_best(metrics, epoch_id)
        self.visualize(tag)
        return metrics

    def _update_best(self, metrics: Dict[str, float], epoch_id: int) -> None:
        if not self.monitor:
            return
        matches = [v for k, v in metrics.items() if k == self.monitor or k.endswith("." + self.monitor)]
        if not matches:
            raise UserError(f"the monitored metric {self.monitor!r} is not computed; choose one of {sorted(metrics)}.")
        if matches[0] < self.best["metric"]:
            self.best = {"metric": matches[0], "epoch": epoch_id}
            self.save_checkpoint(epoch_id, "best")
            logger.info(f"[Eval] new best {self.monitor} = {matches[0]:.5f} at epoch {epoch_id}")

    # ------------------------------------------------------------ checkpoints
    def check_finite_weights(self) -> None:
        """Raise ``TrainingDiverged`` if a weight of either network (or of the
        generator average) is NaN or Inf. One host read.

        Gradients are covered too: the optimizer step adds a NaN or Inf
        gradient into the weights it belongs to, at the same iteration.
        """
        groups = {"generator": self.model.generator.parameters(), "critic": self.model.critic.parameters()}
        if self.ema_model is not None:
            groups["generator average"] = list(self.ema_model.params_shadow.values())
        flags = paddle.stack([paddle.stack([paddle.isfinite(p).all() for p in ps]).all() for ps in groups.values()])
        bad = [name for name, ok in zip(groups, flags.numpy()) if not ok]
        if bad:
            what = f"the weights of the {' and the '.join(bad)} (or their gradients)"
            raise TrainingDiverged(self._diverged_message(what))

    def _diverged_message(self, what: str) -> str:
        kept = self.last_checkpoint or "none was written yet"
        return (
            f"training diverged: {what} became NaN or Inf by generator iteration {self.global_step}. "
            f"Nothing was saved over the last good checkpoint ({kept}). Lower the learning rates "
            f"or raise the gradient-penalty weight, then resume from that file."
        )

    def checkpoint_state(self, epoch_id: int) -> Dict:
        """Everything needed to resume after ``epoch_id`` (``ppsci_ext.solver.state.checkpoint_state``)."""
        return checkpoint.checkpoint_state(self, epoch_id)

    @_written_whole
    def save_checkpoint(self, epoch_id: int, prefix: str) -> str:
        """Write ``checkpoints/{prefix}.pdckpt`` and the weights-only files (``ppsci_ext.solver.state.save_checkpoint``)."""
        return checkpoint.save_checkpoint(self, epoch_id, prefix)

    def resume(self, path: str, loaded: Optional[Dict] = None) -> None:
        """Continue from the full checkpoint at ``path``, or from its contents ``loaded`` by ``load_checkpoint``
        (``ppsci_ext.solver.state.resume``)."""
        checkpoint.resume(self, path, loaded)

    # ---------------------------------------------------------------- signals
    def stop_at_safe_point(self, epoch_id: int, iter_id: int) -> None:
        """Act on a SIGINT / SIGTERM recorded during training, before generator iteration ``iter_id`` of
        epoch ``epoch_id``: raise ``signals.Stopped``.

        At the start of an epoch the state is that of the end of the previous
        one, which resumes exactly: it is saved as ``latest`` when the schedule
        (``save_freq``) had not saved it. Inside an epoch nothing is saved: a
        resume starts at an epoch boundary, so a checkpoint taken there could
        not continue exactly; the last finished checkpoint is kept.
        """
        signum = signals.pending()
        done = epoch_id - 1
        kept = getattr(self, "kept_checkpoint", None)
        if iter_id == 1 and done >= 1 and (kept is None or kept[2] != self.global_step):
            self.save_checkpoint(done, "latest")
        if iter_id == 1 and done >= 1:
            where = f"at the end of epoch {done} ({self.step_name} {self.global_step})"
        else:
            where = (f"at {self.step_name} {self.global_step} (iteration {iter_id - 1} of "
                     f"{self.iters_per_epoch} of epoch {epoch_id})")
        raise signals.Stopped(signum, where=where)

    def stop_message(self, stop: "signals.Stopped") -> str:
        """The one line that ends a stopped training run: where it stopped, what was kept, how to go on."""
        where = stop.where or f"at {self.step_name} {self.global_step}"
        head = f"Stopped by {signals.signal_name(stop.signum)} {where}"
        kept = getattr(self, "kept_checkpoint", None)
        if kept is None:
            first = next(e for e in range(self.start_epoch, self.epochs + 1) if e % self.save_freq == 0
                         or e == self.epochs)  # as train() schedules the saves
            return (f"{head}: no checkpoint had been written yet (the first comes at the end of epoch "
                    f"{first}), so nothing was kept. Start again: python "
                    f"{' '.join(shlex.quote(word) for word in sys.argv)}")
        path, epoch, step = kept
        since = self.global_step - step
        plural = since > 1
        lost = (f"the {since} {self.step_name}{'s' * plural} since then {'were' if plural else 'was'} not saved "
                "(a checkpoint inside an epoch could not resume exactly)" if since > 0 else "nothing was lost")
        return (f"{head}: kept {path} ({self.step_name} {step}, the end of epoch {epoch}); {lost}. "
                f"Resume: {signals.resume_command(path, self.output_dir)}")

    def write_history(self) -> None:
        """Write the logged losses and metrics to ``train_history.json`` (atomically; rank 0 only)."""
        if self.rank != 0:
            return
        atomic_write_json(self.history, os.path.join(self.output_dir, "train_history.json"))


def adversarial_epoch(solver: AdversarialSolver, epoch_id: int, log_freq: int) -> None:
    """One epoch of WGAN-GP: ``iters_per_epoch`` generator iterations.

    Losses are accumulated on the device and read back only at log steps, so
    the inner loop never waits on the host. At log steps (always including
    the last iteration of the epoch, before any checkpoint) the losses and all
    weights are checked to be finite.
    """
    sums: Dict[str, paddle.Tensor] = {}
    count = 0
    batch_tic = time.perf_counter()
    for iter_id in range(1, solver.iters_per_epoch + 1):
        if signals.pending() is not None:  # SIGINT / SIGTERM: stop here, between two whole generator iterations
            solver.stop_at_safe_point(epoch_id, iter_id)
        losses, batch_size, reader_cost = solver.train_iteration()
        if solver.lr_scheduler is not None and not solver.lr_scheduler.by_epoch:
            solver.lr_scheduler.step()
        solver.global_step += 1
        if solver.ema_model is not None:
            solver.ema_model.update(solver.global_step)

        for k, v in losses.items():
            v = v.detach()
            sums[k] = sums[k] + v if k in sums else v
        count += 1
        solver.train_time_info["reader_cost"].update(reader_cost)
        solver.train_time_info["batch_cost"].update(time.perf_counter() - batch_tic)
        if solver.global_step % log_freq == 0 or iter_id == solver.iters_per_epoch or solver.global_step == 1:
            averages = {k: float(distributed.allreduce_mean(v)) / count for k, v in sums.items()}
            if not all(math.isfinite(v) for v in averages.values()):
                raise TrainingDiverged(solver._diverged_message("a loss"))
            solver.check_finite_weights()
            solver.train_output_info = {k: misc.AverageMeter(k, "7.5f") for k in averages}
            for k, v in averages.items():
                solver.train_output_info[k].update(v)
            log_train_info(solver, batch_size, epoch_id, iter_id)
            solver.history["train"].append(
                {"step": solver.global_step, "lr": solver.optimizer_g.get_lr(), **averages}
            )
            # log_train_info sent the losses (and one "train/lr") to the writers; add both rates
            solver.log_scalars({"train/lr_generator": solver.optimizer_g.get_lr(),
                                "train/lr_critic": solver.optimizer_d.get_lr()})
            sums, count = {}, 0
        if solver.step_fn is not None:
            solver.step_fn(solver)
        batch_tic = time.perf_counter()


def evaluations_left(solver, epoch_id: int) -> int:
    """Evaluations during training still to come after the current point of epoch ``epoch_id``."""
    if not solver.eval_during_train:
        return 0
    return sum(1 for e in range(epoch_id, solver.epochs + 1) if e % solver.eval_freq == 0 or e == solver.epochs)


def log_eval_info(solver, batch_size: int, epoch_id: Optional[int], iters_per_epoch: int, iter_id: int) -> None:
    """ppsci's per-batch eval line without the (empty until the end) metrics: the generation progress."""
    times = ", ".join(meter.mean for meter in solver.eval_time_info.values())
    batch_cost = solver.eval_time_info["batch_cost"].avg
    epoch = f"[Epoch {epoch_id}/{solver.epochs}]" if isinstance(epoch_id, int) else ""
    logger.info(f"[Eval]{epoch}[Batch {iter_id}/{iters_per_epoch}] generating samples: {times}, "
                f"ips: {batch_size / max(batch_cost, 1e-12):.2f}, "
                f"eta: {_hms((iters_per_epoch - iter_id) * batch_cost)} (then the metrics)")
    for meter in solver.eval_time_info.values():
        meter.reset()


def log_train_info(solver, batch_size: int, epoch_id: int, iter_id: int) -> None:
    """ppsci's training log line, with an ETA that includes the evaluations still to come.

    The ETA is the remaining iterations times the mean iteration time plus the
    remaining evaluations times the mean time of the evaluations so far; before
    the first one it says that evaluations are not counted yet.
    """
    losses = ", ".join(f"{key}: {meter.avg:.5f}" for key, meter in solver.train_output_info.items())
    times = ", ".join(meter.mean for meter in solver.train_time_info.values())
    batch_cost = solver.train_time_info["batch_cost"].avg
    iters_left = (solver.epochs - epoch_id + 1) * solver.iters_per_epoch - iter_id
    evals = evaluations_left(solver, epoch_id)
    eta = iters_left * batch_cost
    if evals and solver.eval_seconds:
        eta += evals * float(np.mean(solver.eval_seconds))
        eta_msg = f"eta: {_hms(eta)} (with {evals} eval{'s' * (evals > 1)})"
    elif evals:
        eta_msg = f"eta: {_hms(eta)} (+ {evals} eval{'s' * (evals > 1)}, not timed yet)"
    else:
        eta_msg = f"eta: {_hms(eta)}"
    epoch_width, iters_width = len(str(solver.epochs)), len(str(solver.iters_per_epoch))
    logger.info(
        f"[Train][Epoch {epoch_id:>{epoch_width}}/{solver.epochs}][Iter {iter_id:>{iters_width}}/"
        f"{solver.iters_per_epoch}] lr: {solver.optimizer.get_lr():.5f}, {losses}, {times}, "
        f"ips: {batch_size / batch_cost:.2f}, {eta_msg}"
    )
    for meter in solver.train_time_info.values():
        meter.reset()
    logger.scalar({"train/lr": solver.optimizer.get_lr(),
                   **{f"train/{key}": meter.avg for key, meter in solver.train_output_info.items()}},
                  step=solver.global_step, vdl_writer=solver.vdl_writer, wandb_writer=solver.wandb_writer,
                  tbd_writer=solver.tbd_writer)

"""The CIFAR-10 experiment: the paper's ResNet pair, unconditional or AC-GAN, scored by IS / FID / KID."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, Optional

import numpy as np

from ppsci_ext import data, metric
from ppsci_ext.arch import GAN, CifarResNetCritic, CifarResNetGenerator
from ppsci_ext.arch.cifar10 import NOISE_DIM, describe_weights
from ppsci_ext.errors import UserError, about
from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.config import Key
from ppsci_ext.solver.builders import sample_validator
from ppsci_ext.visualize import export_samples, interpolation_noise, save_image_grid

NUM_CLASSES = len(data.CLASS_NAMES)
# Lower-is-better metric names that TRAIN.monitor may name, per Inception metric.
MONITORABLE = {"fid": "fid", "kid": "kid_mean"}


class CIFAR10Experiment(Experiment):
    """WGAN-GP ResNet on CIFAR-10 (``examples/wgangp/wgangp_cifar10.py``)."""

    name = "cifar10"
    model_keys = ("dim", "conditional", "critic_norm")
    keys = [
        Key("DATA.data_path", str),
        Key("MODEL.dim", int, low=1),
        Key("MODEL.conditional", bool),
        Key("MODEL.critic_norm", str, choices=("layer",), nullable=True),
        Key("LOSS.acgan_critic_scale", float, low=0),
        Key("LOSS.acgan_generator_scale", float, low=0),
        Key("TRAIN.generator_batch_size", int, low=1, nullable=True),
        Key("TRAIN.eval_prdc", bool),
        Key("EVAL.inception_weights_path", str, nullable=True),
        Key("EVAL.metrics", list, choices=("is", "fid", "kid")),
        Key("EVAL.num_samples", int, low=2),
        Key("EVAL.num_samples_train", int, low=2),
        Key("EVAL.inception_batch_size", int, low=1),
        Key("EVAL.is_splits", int, low=1),
        Key("EVAL.kid_subsets", int, low=1),
        Key("EVAL.kid_subset_size", int, low=2),
        Key("EVAL.export_samples", int, low=0),
        Key("EVAL.export_format", str, choices=("png", "npz")),
    ]

    def check(self) -> None:
        self._arrays = None
        self.inception_weights = None  # the resolved path of EVAL.inception_weights_path
        self.scored = self._scored_metrics()

    def check_resume(self, state):
        for which in ("generator", "critic"):  # names the MODEL settings of another DIM or variant
            check_variant(state.get(which), which, self.cfg.MODEL.dim, self.cfg.MODEL.conditional,
                          self.cfg.TRAIN.checkpoint_path)

    def monitorable(self):
        return [f"inception.{MONITORABLE[m]}" for m in self.scored if m in MONITORABLE]

    def _scored_metrics(self):
        from ppsci.utils import logger

        if not self.cfg.EVAL.inception_weights_path:
            logger.message("EVAL.inception_weights_path is null: Inception Score, FID and KID are skipped "
                           "(`auto` fetches the standard weights; docs/metrics.md).")
            return ()
        return tuple(self.cfg.EVAL.metrics)

    def _inception(self) -> str:
        """The Inception weights, resolved (``auto`` fetched) when first needed, after the other checks.

        Weights without the fc layer drop the Inception Score from ``scored``, with a message.
        """
        from ppsci.utils import logger

        if self.inception_weights is None:
            given = self.cfg.EVAL.inception_weights_path
            with about(f"EVAL.inception_weights_path={given}"):
                self.inception_weights = metric.resolve_inception_weights(given)
                has_logits = metric.load_inception(self.inception_weights).fc is not None
            if "is" in self.scored and not has_logits:
                logger.message(f"{self.inception_weights} has no logits layer: Inception Score skipped "
                               "(FID and KID only).")
                self.scored = tuple(m for m in self.scored if m != "is")
        return self.inception_weights

    def build_model(self, settings: Dict[str, Any]) -> GAN:
        conditional = bool(settings["conditional"])
        generator = CifarResNetGenerator(dim=settings["dim"], conditional=conditional)
        critic = CifarResNetCritic(dim=settings["dim"], acgan=conditional, norm=settings["critic_norm"])
        return GAN(generator, critic, num_classes=NUM_CLASSES if conditional else 0)

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        found = describe_weights(generator_state, "generator") if isinstance(generator_state, dict) else None
        return {} if found is None else {"dim": found[0], "conditional": found[1]}

    def train_data(self):
        if self._arrays is None:  # read once: training and the FID reference share it
            with about(f"DATA.data_path={self.cfg.DATA.data_path}"):
                self._arrays = data.cifar10_arrays(self.cfg.DATA.data_path, bool(self.cfg.MODEL.conditional))
        return self._arrays

    def inputs(self, settings: Dict[str, Any], n: int, seed: int, labels: Optional[np.ndarray] = None):
        """Fixed generator inputs: noise from ``seed`` and, when conditional, labels (random unless given)."""
        rng = np.random.default_rng(seed)
        inputs = {"z": rng.standard_normal((n, NOISE_DIM)).astype(np.float32)}
        if settings["conditional"]:
            inputs["y"] = labels if labels is not None else rng.integers(0, NUM_CLASSES, n).astype(np.int64)
        return inputs

    def validator(self, settings: Dict[str, Any], training: bool):
        ev = self.cfg.EVAL
        if not self.scored:
            return None
        weights = self._inception()
        if not self.scored:
            return None
        stats, prdc = None, ()
        intra = settings["conditional"] and not training and "fid" in self.scored
        if {"fid", "kid"} & set(self.scored):
            # The real side: training-set statistics, named after the images' digest so that another
            # archive never reuses them. Only FID and KID (and then precision/recall) read the archive.
            arrays, labels = self.train_data()
            if intra and "y" not in labels:  # a conditional checkpoint evaluated without MODEL.conditional=true
                with about(f"DATA.data_path={self.cfg.DATA.data_path}"):
                    arrays, labels = data.cifar10_arrays(self.cfg.DATA.data_path, True)
            images = arrays["img"].images
            name = f"cifar10-train-{hashlib.sha256(images.tobytes()).hexdigest()[:12]}"
            stats = metric.dataset_statistics(images, name, weights, batch_size=ev.inception_batch_size,
                                              labels=labels["y"] if intra else None)
            prdc = ("prdc",) if not training or self.cfg.TRAIN.eval_prdc else ()
        scorer = metric.InceptionMetrics(
            weights, metrics=self.scored + prdc, key="img", reference=stats,
            batch_size=ev.inception_batch_size, is_splits=ev.is_splits, kid_subsets=ev.kid_subsets,
            kid_subset_size=ev.kid_subset_size, class_reference=stats.get("classes") if intra else None,
            class_names=data.CLASS_NAMES)
        n = ev.num_samples_train if training else ev.num_samples
        # conditional: every class equally often (intra-class FID compares each with its real images)
        labels = (np.arange(n) % NUM_CLASSES).astype(np.int64) if settings["conditional"] else None
        noise = self.inputs(settings, n, self.seed + 1, labels)
        # The label dict names the output to collect (the real side is the training-set statistics) and
        # carries the generated labels for intra-class FID.
        placeholder = {"img": np.zeros((n, 1), np.float32), **({"y": labels} if labels is not None else {})}
        return sample_validator(noise, placeholder, ev.batch_size, {"inception": scorer})

    def picture_fn(self, settings: Dict[str, Any], with_critic: bool):
        """A 10x10 grid from fixed noise; when conditional, row i shows class i (CLASS_NAMES order)."""
        from ppsci.utils import logger

        conditional = settings["conditional"]
        labels = np.repeat(np.arange(NUM_CLASSES), 10).astype(np.int64) if conditional else None
        inputs = self.inputs(settings, 100, self.seed + 2, labels)
        if conditional:
            logger.message(f"Sample grid rows, top to bottom: {', '.join(data.CLASS_NAMES)}")
        output_dir = self.output_dir

        def draw(solver, tag: str) -> str:
            images = solver.model.generate(inputs, 100)  # one batch of 100, as the official sample grid
            path = os.path.join(output_dir, f"samples_{tag}.png")
            save_image_grid(path, images, 10, 10, value_range=(-1.0, 1.0),
                            row_labels=data.CLASS_NAMES if conditional else None)
            return path

        return draw

    def after_eval(self, solver, settings: Dict[str, Any]) -> Dict[str, Any]:
        from ppsci.utils import logger

        ev = self.cfg.EVAL
        found = {"interpolation": self._interpolation(solver, settings)}
        if not ev.export_samples:
            return {**found, "exported": None}
        inputs = self.inputs(settings, ev.export_samples, self.seed + 3)
        exported = export_samples(os.path.join(self.output_dir, "samples"),
                                  solver.model.generate(inputs, ev.batch_size), ev.export_format, inputs.get("y"))
        logger.message(f"Wrote {ev.export_samples} samples to {exported}")
        return {**found, "exported": exported}

    def _interpolation(self, solver, settings: Dict[str, Any]) -> str:
        """interpolation.png: each row slerps between two fixed noise vectors (row i is class i when conditional)."""
        rows, steps = 8, 10
        inputs = {"z": interpolation_noise(NOISE_DIM, rows, steps, self.seed + 4)}
        names = None
        if settings["conditional"]:
            inputs["y"] = np.repeat(np.arange(rows) % NUM_CLASSES, steps).astype(np.int64)
            names = [data.CLASS_NAMES[i % NUM_CLASSES] for i in range(rows)]
        path = os.path.join(self.output_dir, "interpolation.png")
        return save_image_grid(path, solver.model.generate(inputs, rows * steps), rows, steps,
                               value_range=(-1.0, 1.0), row_labels=names)

    def result_info(self) -> Dict[str, Any]:
        ev = self.cfg.EVAL
        n = ev.num_samples if self.mode == "eval" else ev.num_samples_train
        return {"data": str(self.cfg.DATA.data_path), "num_samples": n, "inception_weights": self.inception_weights}


def check_variant(state, which: str, dim: int, conditional: bool, path: str) -> None:
    """Raise a clear ``UserError`` if ``state`` is a CIFAR-10 model of another DIM or variant.

    Args:
        state: Weights loaded from ``path``.
        which (str): "generator" or "critic".
        dim (int): ``MODEL.dim`` of this run.
        conditional (bool): ``MODEL.conditional`` of this run.
        path (str): File name for the message.
    """
    found = describe_weights(state, which) if isinstance(state, dict) else None
    if found is None or found == (dim, conditional):
        return  # not recognisable here: the key/shape check of load_checked reports it
    file_dim, file_cond = found
    kind = lambda c: "a conditional (AC-GAN)" if c else "an unconditional"  # noqa: E731
    raise UserError(
        f"{path} holds {kind(file_cond)} CIFAR-10 {which} with MODEL.dim={file_dim}, but this run builds "
        f"{kind(conditional)} one with MODEL.dim={dim}; run with MODEL.conditional={str(file_cond).lower()} "
        f"MODEL.dim={file_dim}, or give weights of this variant."
    )

"""The MNIST experiment: the paper's DCGAN-like pair, scored by the shipped digit classifier."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ppsci_ext import data, metric, visualize
from ppsci_ext.arch import GAN, MNISTCritic, MNISTGenerator
from ppsci_ext.arch.mnist import describe_mnist_generator
from ppsci_ext.errors import UserError, about
from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.config import Key, script, show
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.solver.builders import sample_validator

PRDC_K = 5  # density/coverage's neighbours (precision/recall use 3)


class MNISTExperiment(Experiment):
    """WGAN-GP on MNIST (``examples/wgangp/wgangp_mnist.py``)."""

    name = "mnist"
    model_keys = ("noise_dim", "dim", "critic_dim")
    sample_range = (0.0, 1.0)  # the sigmoid's
    keys = [
        Key("DATA.data_path", str, nullable=True),
        Key("MODEL.noise_dim", int, low=1),
        Key("MODEL.dim", int, low=1),
        Key("MODEL.critic_dim", int, low=1, nullable=True),
        Key("EVAL.num_samples", int, low=2),
        Key("EVAL.classifier_path", str, nullable=True),
        Key("EVAL.inception_weights_path", str, nullable=True),
        Key("EVAL.inception_metrics", list, choices=("fid", "is", "kid")),
        Key("TRAIN.eval_prdc", bool),
        Key("VIS.rows", int, low=1),
        Key("VIS.every", int, low=0),
    ]

    def check(self) -> None:
        ev = self.config.EVAL
        if ev.inception_weights_path and not ev.inception_metrics:
            raise UserError("EVAL.inception_metrics is empty although EVAL.inception_weights_path is set; "
                            "list some of fid, is, kid, or set EVAL.inception_weights_path=null.")
        scored = self.mode == "eval" or self.config.TRAIN.eval_during_train
        prdc = self.mode == "eval" or self.config.TRAIN.eval_prdc
        if scored and prdc and ev.num_samples <= PRDC_K:
            raise UserError(f"EVAL.num_samples={ev.num_samples} is too few for density/coverage, which compare each "
                            f"sample with its {PRDC_K} nearest neighbours; set EVAL.num_samples={PRDC_K + 1} or more"
                            f"{' (or TRAIN.eval_prdc=false)' if self.mode == 'train' else ''}.")
        kid = metric.PROTOCOL["kid_subset_size"]
        if scored and ev.inception_weights_path and "kid" in ev.inception_metrics and ev.num_samples < kid:
            raise UserError(f"EVAL.num_samples={ev.num_samples} is fewer than the {kid} samples of each KID subset; "
                            f"set EVAL.num_samples={kid} or more, or drop kid from EVAL.inception_metrics.")

    def monitorable(self):
        inception = {"fid": "inception.fid", "kid": "inception.kid_mean"}
        extra = [inception[m] for m in self.config.EVAL.inception_metrics if m in inception]
        return ["mnist.frechet"] + (extra if self.config.EVAL.inception_weights_path else [])

    def build_model(self, settings: Dict[str, Any]) -> GAN:
        critic_dim = settings["critic_dim"] if settings["critic_dim"] is not None else settings["dim"]
        if settings.get("arch") == "paddlescience":  # PaddleScience's example's generator (io/paddlescience.py)
            from ppsci_ext.arch.paddlescience import PaddleScienceMNISTGenerator

            generator = PaddleScienceMNISTGenerator(noise_dim=settings["noise_dim"], dim=settings["dim"])
            return GAN(generator, MNISTCritic(dim=critic_dim))
        return GAN(MNISTGenerator(noise_dim=settings["noise_dim"], dim=settings["dim"]), MNISTCritic(dim=critic_dim))

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        from ppsci_ext.arch.paddlescience import describe_paddlescience_generator

        theirs = describe_paddlescience_generator(generator_state)
        if theirs.get("kind") == "mnist":
            return {"noise_dim": theirs["noise_dim"], "dim": theirs["dim"], "arch": "paddlescience"}
        return describe_mnist_generator(generator_state)  # {} if not one: the key/shape check reports it

    def model_settings_from(self, obj: Any, path: str) -> Dict[str, Any]:
        """A checkpoint of another experiment (e.g. a toy run) is named as such: no MODEL setting can help."""
        from ppsci_ext.io.weights import CHECKPOINT_FORMAT

        other = obj.get("experiment") if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT else None
        if other is not None and other != self.name:
            raise UserError(f"{path} is a checkpoint of a {script(other)} run ({other!r}), not of a "
                            f"{script(self.name)} one; evaluate it with {script(other)}, or give the "
                            f"*_gen.pdparams or .pdckpt of a {script(self.name)} run.")
        return super().model_settings_from(obj, path)

    def _read(self, split: str) -> np.ndarray:
        """The images of ``split``, read once per experiment (the validator and the VAE's test ELBO share them)."""
        read = self.__dict__.setdefault("_split_images", {})
        if split not in read:
            with about(f"DATA.data_path={show(self.config.DATA.data_path)}"):
                read[split] = data.read_mnist(data.resolve_mnist_path(self.config.DATA.data_path), split)[0]
        return read[split]

    def write_metrics(self, metrics: Dict[str, float], **info) -> str:
        """metrics.json also names the classifier that scored the digits (EVAL.classifier_path or the shipped one)."""
        info.setdefault("classifier", self.config.EVAL.classifier_path or metric.classifier.SHIPPED_CLASSIFIER)
        return super().write_metrics(metrics, **info)

    def train_data(self):
        return {"img": self._read("train")}, None

    def validator(self, settings: Dict[str, Any], training: bool):
        ev = self.config.EVAL
        real_test = self._read("test")
        self._real_count = len(real_test)
        rng = np.random.default_rng(self.seed + 1)
        noise = {"z": rng.standard_normal((ev.num_samples, settings["noise_dim"])).astype(np.float32)}
        metrics = {}
        prdc = not training or bool(self.config.TRAIN.eval_prdc)
        name = f"mnist-test-{hashlib.sha256(real_test.tobytes()).hexdigest()[:12]}"  # per file: caches never mix
        if ev.inception_weights_path:  # first: a bad file fails before the classifier's reference pass
            with about(f"EVAL.inception_weights_path={ev.inception_weights_path}"):
                metrics["inception"] = metric.InceptionMetrics(
                    ev.inception_weights_path, metrics=tuple(ev.inception_metrics) + (("prdc",) if prdc else ()),
                    value_range=(0.0, 1.0), reference=data.to_uint8_images(real_test, (0.0, 1.0)),
                    dataset_name=name)
        with about(f"EVAL.classifier_path={show(ev.classifier_path)}"):
            metrics["mnist"] = metric.MNISTClassifierMetric(ev.classifier_path, reference_images=real_test,
                                                            batch_size=ev.batch_size, cache_name=name, prdc=prdc)
        return sample_validator(noise, {}, ev.batch_size, metrics)

    def picture_fn(self, settings: Dict[str, Any], with_critic: bool):
        rows = self.config.VIS.rows
        noise = np.random.default_rng(self.seed + 2).standard_normal(
            (rows * rows, settings["noise_dim"])).astype(np.float32)
        output_dir = self.output_dir

        def draw(solver, tag: str) -> str:
            digits = solver.model.generate({"z": noise})
            path = os.path.join(output_dir, f"samples_{tag}.png")
            visualize.save_image_grid(path, digits, rows, rows)
            return path

        return draw

    def after_eval(self, solver, settings: Dict[str, Any]) -> Dict[str, Any]:
        """interpolation.png: each of 8 rows slerps between two fixed noise vectors in 10 steps."""
        rows, steps = 8, 10
        noise = visualize.interpolation_noise(settings["noise_dim"], rows, steps, self.seed + 4)
        path = os.path.join(self.output_dir, "interpolation.png")
        return {"interpolation": visualize.save_image_grid(path, solver.model.generate({"z": noise}), rows, steps)}

    def step_fn(self):
        every = self.config.VIS.every
        if not every:
            return None

        def step(solver) -> None:
            if solver.global_step % every == 0:
                solver.visualize(f"{solver.global_step:06d}")  # with the generator average when EMA is on

        return step

    def shipped_weights(self) -> Optional[Tuple[str, Optional[str]]]:
        return shipped_weights("mnist", "cpu")

    def result_info(self) -> Dict[str, Any]:
        return {"data": "mnist", "num_samples": self.config.EVAL.num_samples}

    protocol_samples = 10000

    def sample_sizes(self) -> Dict[str, Dict[str, int]]:
        real = getattr(self, "_real_count", None)
        if real is None:
            return {}
        size = {"generated": self.config.EVAL.num_samples, "real": real,
                "real_kept": min(real, metric.reference.KEPT_FEATURES)}
        return {"mnist": dict(size), "inception": dict(size)}

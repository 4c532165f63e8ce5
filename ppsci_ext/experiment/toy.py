"""The toy experiment: 8gaussians, 25gaussians or swissroll with the paper's MLP pair."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ppsci_ext import data, metric, visualize
from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.config import Key
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.solver.builders import sample_validator


class ToyExperiment(Experiment):
    """WGAN-GP on 2-D toy data (``examples/wgangp/wgangp_toy.py``)."""

    name = "toy"
    model_keys = ("noise_dim", "width", "hidden_layers")
    keys = [
        Key("DATA.mode", str, choices=data.TOY_MODES),
        Key("DATA.num_train_samples", int, low=1),
        Key("DATA.num_eval_samples", int, low=2),
        Key("MODEL.noise_dim", int, low=1),
        Key("MODEL.width", int, low=1),
        Key("MODEL.hidden_layers", int, low=0),
        Key("EVAL.pretrained_dis_model_path", str, nullable=True),
        Key("VIS.num_points", int, low=1),
        Key("TRAIN.eval_prdc", bool),
    ]

    def monitorable(self):
        return ["toy.swd"]

    def build_model(self, settings: Dict[str, Any]) -> GAN:
        generator = ToyGenerator(noise_dim=settings["noise_dim"], width=settings["width"],
                                 hidden_layers=settings["hidden_layers"])
        critic = ToyCritic(width=settings["width"], hidden_layers=settings["hidden_layers"])
        return GAN(generator, critic)

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        weights = [v for k, v in generator_state.items() if k.endswith(".weight") and hasattr(v, "shape")]
        if not weights or len(weights[0].shape) != 2:
            return {}  # not a toy generator: the key and shape check reports it
        return {"noise_dim": int(weights[0].shape[0]), "width": int(weights[0].shape[1]),
                "hidden_layers": len(weights) - 1}

    def train_data(self):
        cfg = self.cfg.DATA
        return data.toy_arrays(cfg.mode, cfg.num_train_samples, self.seed), None

    def validator(self, settings: Dict[str, Any], training: bool):
        n = self.cfg.DATA.num_eval_samples
        rng = np.random.default_rng(self.seed + 1)
        noise = {"z": rng.standard_normal((n, settings["noise_dim"])).astype(np.float32)}
        real = {"x": data.sample_toy(self.cfg.DATA.mode, n, rng)}
        metrics = {"toy": metric.ToyMetric(self.cfg.DATA.mode)}
        if not training or self.cfg.TRAIN.eval_prdc:  # precision/recall, density/coverage on the raw points
            metrics["prdc"] = metric.PRDCMetric(key="x")
        return sample_validator(noise, real, self.cfg.EVAL.batch_size, metrics)

    def picture_fn(self, settings: Dict[str, Any], with_critic: bool):
        mode, n = self.cfg.DATA.mode, self.cfg.VIS.num_points
        rng = np.random.default_rng(self.seed + 2)
        real = data.sample_toy(mode, n, rng)
        noise = rng.standard_normal((n, settings["noise_dim"])).astype(np.float32)
        output_dir = self.output_dir

        def draw(solver, tag: str) -> str:
            fake = solver.model.generate({"z": noise})
            path = os.path.join(output_dir, f"toy_{tag}.png")
            visualize.plot_toy(path, real, fake, solver.model.critic if with_critic else None,
                               f"WGAN-GP {mode}, {solver.describe_weights()}")
            return path

        return draw

    def shipped_weights(self) -> Optional[Tuple[str, Optional[str]]]:
        return shipped_weights("toy", self.cfg.DATA.mode)

    def result_info(self) -> Dict[str, Any]:
        return {"data": self.cfg.DATA.mode, "num_samples": self.cfg.DATA.num_eval_samples}

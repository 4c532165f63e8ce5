"""The CIFAR-10 experiment: the paper's ResNet pair, unconditional or AC-GAN, scored by IS / FID / KID.

Everything but the data (the CIFAR-10 archive, its ten class names, 32x32 RGB)
is the image experiment's (``experiment.images``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict

from ppsci_ext import data
from ppsci_ext.arch.cifar10 import describe_weights
from ppsci_ext.errors import UserError, about
from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.config import Key
from ppsci_ext.experiment.images import IMAGE_KEYS, ImagesExperiment

NUM_CLASSES = len(data.CLASS_NAMES)


class CIFAR10Experiment(ImagesExperiment):
    """WGAN-GP ResNet on CIFAR-10 (``examples/wgangp/wgangp_cifar10.py``)."""

    name = "cifar10"
    keys = IMAGE_KEYS + [
        Key("DATA.data_path", str),
        Key("MODEL.dim", int, low=1),
        Key("MODEL.critic_norm", str, choices=("layer",), nullable=True),
    ]

    def __init__(self, config, data=None):
        self._arrays = None  # (inputs, labels) of the archive, read once
        super().__init__(config, data)

    def check_resume(self, state):
        for which in ("generator", "critic"):  # names the MODEL settings of another DIM or variant
            check_variant(state.get(which), which, self.config.MODEL.dim, self.config.MODEL.conditional,
                          self.config.TRAIN.checkpoint_path)

    def yaml_model_settings(self) -> Dict[str, Any]:
        return self._fixed(Experiment.yaml_model_settings(self))

    def model_settings_from(self, obj: Any, path: str) -> Dict[str, Any]:
        return self._fixed(Experiment.model_settings_from(self, obj, path))

    @staticmethod
    def _fixed(settings: Dict[str, Any]) -> Dict[str, Any]:
        """CIFAR-10's part of the settings: 32x32 RGB, ten classes (used when conditional)."""
        return {**settings, "resolution": 32, "channels": 3, "num_classes": NUM_CLASSES}

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        from ppsci_ext.arch.paddlescience import describe_paddlescience_generator

        theirs = describe_paddlescience_generator(generator_state)
        if theirs.get("kind") == "cifar10":  # PaddleScience's example's generator (io/paddlescience.py)
            return {"dim": theirs["dim"], "conditional": theirs["conditional"], "arch": "paddlescience"}
        found = describe_weights(generator_state, "generator") if isinstance(generator_state, dict) else None
        return {} if found is None else {"dim": found[0], "conditional": found[1]}

    def build_model(self, settings: Dict[str, Any]):
        gan = super().build_model(settings)
        if settings.get("arch") != "paddlescience":
            return gan
        from ppsci_ext.arch import GAN
        from ppsci_ext.arch.paddlescience import PaddleScienceCifar10Generator

        generator = PaddleScienceCifar10Generator(dim=settings["dim"], conditional=bool(settings["conditional"]),
                                                  num_classes=NUM_CLASSES)
        return GAN(generator, gan.critic, num_classes=gan.num_classes)

    def train_data(self):
        if self._arrays is None:  # read once: training and the FID reference share it
            with about(f"DATA.data_path={self.config.DATA.data_path}"):
                self._arrays = data.cifar10_arrays(self.config.DATA.data_path, bool(self.config.MODEL.conditional))
        return self._arrays

    def reference(self, settings: Dict[str, Any], with_classes: bool):
        """The training images, named after their digest so that another archive never reuses the statistics."""
        arrays, labels = self.train_data()
        if with_classes and "y" not in labels:  # a conditional checkpoint evaluated without MODEL.conditional=true
            with about(f"DATA.data_path={self.config.DATA.data_path}"):
                arrays, labels = data.cifar10_arrays(self.config.DATA.data_path, True)
        images = arrays["img"].images
        name = f"cifar10-train-{hashlib.sha256(images.tobytes()).hexdigest()[:12]}"
        return images, name, labels["y"] if with_classes else None

    def class_names(self, settings: Dict[str, Any]):
        return list(data.CLASS_NAMES)


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

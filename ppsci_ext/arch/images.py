"""The image GANs (32x32 and 64x64 ResNet pairs) built from, or read off, their settings.

``build_image_gan`` makes the generator and critic of resolved settings
(``resolution``, ``channels``, ``num_classes``, ``dim``, ``conditional``,
``critic_norm``); ``describe_image_generator`` reads those settings back off a
generator's weights, for eval, ``pretrained.load`` and export.
"""

from __future__ import annotations

from typing import Any, Dict

from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator, describe_weights
from ppsci_ext.arch.gan import GAN


def build_image_gan(settings: Dict[str, Any]) -> GAN:
    """The generator and critic for resolved image settings (resolution, channels, num_classes, dim, ...)."""
    conditional = bool(settings["conditional"])
    k = int(settings.get("num_classes") or 0) if conditional else 0
    kwargs = dict(dim=settings["dim"], channels=settings.get("channels", 3), num_classes=k or 10)
    if settings["resolution"] == 64:
        from ppsci_ext.arch import ResNet64Critic, ResNet64Generator

        generator, critic = ResNet64Generator(conditional=conditional, **kwargs), \
            ResNet64Critic(acgan=conditional, norm=settings["critic_norm"], **kwargs)
    else:
        generator = CifarResNetGenerator(conditional=conditional, **kwargs)
        critic = CifarResNetCritic(acgan=conditional, norm=settings["critic_norm"], **kwargs)
    return GAN(generator, critic, num_classes=k)


def describe_image_generator(state: Dict[str, Any]) -> Dict[str, Any]:
    """Settings read off a 32x32 or 64x64 ResNet generator's weights ({} when it is neither)."""
    if not isinstance(state, dict):
        return {}
    from ppsci_ext.arch.resnet64 import describe_resnet64

    found = describe_resnet64(state, "generator")
    if found is not None:
        return {"resolution": 64, "dim": found["dim"], "channels": found["channels"],
                "conditional": found["conditional"], "num_classes": found["num_classes"] if found["conditional"] else 0}
    found = describe_weights(state, "generator")  # the one reader of the 32x32 generator's DIM and variant
    try:
        channels = int(state["conv_out.weight"].shape[0])
        classes = int(state["block1.bn1.weight"].shape[0])
    except (KeyError, TypeError, AttributeError, IndexError):
        return {}
    if found is None:
        return {}
    dim, conditional = found
    return {"resolution": 32, "dim": dim, "channels": channels, "conditional": conditional,
            "num_classes": classes if conditional else 0}

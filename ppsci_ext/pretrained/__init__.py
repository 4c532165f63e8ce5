"""Weights shipped with the package (see docs/toy.md for how they were trained), and ``load`` for any generator."""

from __future__ import annotations

import os
from typing import Tuple

from ppsci_ext.errors import UserError

_HERE = os.path.dirname(os.path.abspath(__file__))


def shipped_weights(experiment: str, variant: str) -> Tuple[str, str]:
    """Paths of the shipped (generator, critic) weights of ``experiment``/``variant``."""
    if experiment == "vae":  # the VAE baseline: its decoder and encoder (examples/wgangp/vae_mnist.py)
        gen, dis = (os.path.join(_HERE, f"vae_{variant}_{part}.pdparams") for part in ("gen", "enc"))
    else:
        gen = os.path.join(_HERE, f"wgangp_{experiment}_{variant}_gen.pdparams")
        dis = os.path.join(_HERE, f"wgangp_{experiment}_{variant}_dis.pdparams")
    if not os.path.isfile(gen):
        raise UserError(
            f"no shipped weights for {experiment} {variant!r}; train them (python "
            f"examples/wgangp/wgangp_{experiment}.py) or give weights of your own"
        )
    return gen, (dis if os.path.isfile(dis) else None)


from ppsci_ext.pretrained.loader import SHIPPED, Generator, load  # noqa: E402

__all__ = ["SHIPPED", "Generator", "load", "shipped_weights"]

"""Generators, critics and the GAN pair (ppsci.arch.Arch subclasses)."""

from ppsci_ext.arch.gan import GAN
from ppsci_ext.arch.toy import ToyCritic, ToyGenerator

__all__ = ["GAN", "ToyCritic", "ToyGenerator"]

"""Generators, critics, the GAN pair and the FID Inception network (ppsci.arch.Arch subclasses)."""

from ppsci_ext.arch.gan import GAN
from ppsci_ext.arch.inception import InceptionV3FID, tf1_resize_bilinear
from ppsci_ext.arch.toy import ToyCritic, ToyGenerator

__all__ = ["GAN", "ToyCritic", "ToyGenerator", "InceptionV3FID", "tf1_resize_bilinear"]

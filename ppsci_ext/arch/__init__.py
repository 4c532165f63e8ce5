"""Generators, critics, the GAN pair and the FID Inception network (ppsci.arch.Arch subclasses)."""

from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator
from ppsci_ext.arch.gan import GAN
from ppsci_ext.arch.inception import InceptionV3FID, tf1_resize_bilinear
from ppsci_ext.arch.mnist import MNISTClassifier, MNISTCritic, MNISTGenerator
from ppsci_ext.arch.toy import ToyCritic, ToyGenerator

__all__ = ["GAN", "CifarResNetCritic", "CifarResNetGenerator", "InceptionV3FID", "MNISTClassifier", "MNISTCritic",
           "MNISTGenerator", "ToyCritic", "ToyGenerator", "tf1_resize_bilinear"]

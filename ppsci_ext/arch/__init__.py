"""Generators, critics and the GAN pair (ppsci.arch.Arch subclasses), plus the MNIST scoring classifier."""

from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator
from ppsci_ext.arch.gan import GAN
from ppsci_ext.arch.mnist import MNISTClassifier, MNISTCritic, MNISTGenerator
from ppsci_ext.arch.resnet64 import ResNet64Critic, ResNet64Generator
from ppsci_ext.arch.toy import ToyCritic, ToyGenerator

__all__ = ["GAN", "CifarResNetCritic", "CifarResNetGenerator", "MNISTClassifier", "MNISTCritic", "MNISTGenerator",
           "ResNet64Critic", "ResNet64Generator", "ToyCritic", "ToyGenerator"]

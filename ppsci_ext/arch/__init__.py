"""Generators, critics and the GAN pair (ppsci.arch.Arch subclasses), the VAE baseline's encoder and decoder,
plus the MNIST scoring classifiers (a CNN and an MLP)."""

from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator
from ppsci_ext.arch.gan import GAN
from ppsci_ext.arch.mnist import MNISTClassifier, MNISTCritic, MNISTGenerator, MNISTMLPClassifier
from ppsci_ext.arch.resnet64 import ResNet64Critic, ResNet64Generator
from ppsci_ext.arch.toy import ToyCritic, ToyGenerator
from ppsci_ext.arch.vae import VAE, VAEDecoder, VAEEncoder

__all__ = ["GAN", "CifarResNetCritic", "CifarResNetGenerator", "MNISTClassifier", "MNISTCritic", "MNISTGenerator",
           "MNISTMLPClassifier", "ResNet64Critic", "ResNet64Generator", "ToyCritic", "ToyGenerator", "VAE",
           "VAEDecoder", "VAEEncoder"]

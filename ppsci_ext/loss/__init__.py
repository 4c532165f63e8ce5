"""WGAN-GP losses and the VAE baseline's negative ELBO, as FunctionalLoss-compatible callables."""

from ppsci_ext.loss.vae import negative_elbo
from ppsci_ext.loss.wgangp import WGANGPLoss, gradient_penalty

__all__ = ["WGANGPLoss", "gradient_penalty", "negative_elbo"]

"""WGAN-GP losses as FunctionalLoss-compatible callables."""

from ppsci_ext.loss.wgangp import WGANGPLoss, gradient_penalty

__all__ = ["WGANGPLoss", "gradient_penalty"]

"""Readers for raw data files and samplers for generated data -> arrays."""

from ppsci_ext.data.cifar10 import DequantizedImages, cifar10_arrays, dequantize, read_cifar10
from ppsci_ext.data.mnist import read_mnist, resolve_mnist_path
from ppsci_ext.data.safe_pickle import safe_loads
from ppsci_ext.data.toy import TOY_MODES, mode_centers, mode_std, sample_toy, toy_arrays

__all__ = ["DequantizedImages", "TOY_MODES", "cifar10_arrays", "dequantize", "mode_centers", "mode_std", "read_cifar10",
           "read_mnist", "resolve_mnist_path", "safe_loads", "sample_toy", "toy_arrays"]

"""Readers for raw data files, samplers for generated data, and image conversion -> arrays."""

from ppsci_ext.data.cifar10 import CLASS_NAMES, DequantizedImages, cifar10_arrays, dequantize, read_cifar10
from ppsci_ext.data.image_sets import ImageSet, cached_image_set, read_image_set
from ppsci_ext.data.images import to_uint8_images
from ppsci_ext.data.mnist import read_mnist, resolve_mnist_path
from ppsci_ext.data.points import point_statistics, read_points, read_points_with_names, standardize, unstandardize
from ppsci_ext.data.toy import TOY_MODES, mode_centers, mode_std, sample_toy, toy_arrays

__all__ = ["CLASS_NAMES", "DequantizedImages", "ImageSet", "cached_image_set", "read_image_set", "TOY_MODES", "cifar10_arrays", "dequantize", "mode_centers", "mode_std",
           "point_statistics", "read_points", "read_points_with_names", "standardize", "unstandardize",
           "read_cifar10", "read_mnist", "resolve_mnist_path", "sample_toy", "to_uint8_images", "toy_arrays"]

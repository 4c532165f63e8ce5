"""Readers for raw data files and samplers for generated data -> arrays."""

from ppsci_ext.data.toy import TOY_MODES, mode_centers, mode_std, sample_toy, toy_arrays

__all__ = ["TOY_MODES", "mode_centers", "mode_std", "sample_toy", "toy_arrays"]

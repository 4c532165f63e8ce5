"""Sample-quality metrics as plain functions plus FunctionalMetric callables."""

from ppsci_ext.metric.toy import ToyMetric, mode_coverage, sliced_wasserstein

__all__ = ["ToyMetric", "mode_coverage", "sliced_wasserstein"]

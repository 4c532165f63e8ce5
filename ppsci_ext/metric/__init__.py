"""Sample-quality metrics as plain functions plus FunctionalMetric callables."""

from ppsci_ext.metric.classifier import (
    MNISTClassifierMetric,
    classifier_frechet_distance,
    classifier_outputs,
    load_classifier,
    mnist_score,
    prediction_confidence,
)
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from ppsci_ext.metric.inception import (
    PROTOCOL,
    FIDMetric,
    InceptionMetrics,
    ISMetric,
    KIDMetric,
    dataset_statistics,
    inception_outputs,
    intra_class_fid,
    load_inception,
    load_statistics,
    resolve_inception_weights,
    save_statistics,
    standard_weights,
    InceptionV3FID,
)
from ppsci_ext.metric.isc import inception_score
from ppsci_ext.metric.kid import kernel_inception_distance
from ppsci_ext.metric.points import PointsMetric, median_distance, mmd
from ppsci_ext.metric.prdc import PRDCMetric, density_coverage, knn_radii, prdc, precision_recall
from ppsci_ext.metric.toy import ToyMetric, mode_coverage, reverse_kl, sliced_wasserstein

__all__ = [
    "MNISTClassifierMetric",
    "classifier_frechet_distance",
    "classifier_outputs",
    "load_classifier",
    "mnist_score",
    "prediction_confidence",
    "ToyMetric",
    "PointsMetric",
    "median_distance",
    "mmd",
    "PRDCMetric",
    "density_coverage",
    "knn_radii",
    "prdc",
    "precision_recall",
    "reverse_kl",
    "mode_coverage",
    "sliced_wasserstein",
    "PROTOCOL",
    "FIDMetric",
    "ISMetric",
    "KIDMetric",
    "InceptionMetrics",
    "InceptionV3FID",
    "dataset_statistics",
    "feature_statistics",
    "frechet_distance",
    "inception_outputs",
    "intra_class_fid",
    "inception_score",
    "kernel_inception_distance",
    "load_inception",
    "load_statistics",
    "resolve_inception_weights",
    "save_statistics",
    "standard_weights",
]

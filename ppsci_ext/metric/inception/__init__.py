"""The TF-2015 Inception network, its weight conversion, features with a statistics cache, and IS / FID / KID."""

from ppsci_ext.metric.inception.convert import convert
from ppsci_ext.metric.inception.features import (
    PROTOCOL,
    dataset_statistics,
    default_cache_dir,
    inception_outputs,
    load_inception,
    load_statistics,
    resolve_inception_weights,
    save_statistics,
    statistics_of,
    weights_digest,
)
from ppsci_ext.metric.inception.metrics import FIDMetric, InceptionMetrics, ISMetric, KIDMetric, intra_class_fid
from ppsci_ext.metric.inception.network import InceptionV3FID, tf1_resize_bilinear
from ppsci_ext.metric.inception.standard import standard_weights

__all__ = ["PROTOCOL", "FIDMetric", "ISMetric", "InceptionMetrics", "InceptionV3FID", "KIDMetric", "convert",
           "dataset_statistics", "default_cache_dir", "inception_outputs", "intra_class_fid", "load_inception", "load_statistics",
           "resolve_inception_weights", "save_statistics", "standard_weights", "statistics_of",
           "tf1_resize_bilinear", "weights_digest"]

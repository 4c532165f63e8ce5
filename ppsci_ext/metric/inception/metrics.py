"""IS / FID / KID of generated images as one FunctionalMetric-compatible callable (see ``features`` for the protocol)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ppsci_ext.data.images import Images, to_uint8_images
from ppsci_ext.errors import UserError
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from ppsci_ext.metric.inception.features import (
    PROTOCOL,
    dataset_statistics,
    inception_outputs,
    load_inception,
    load_statistics,
    statistics_of,
)
from ppsci_ext.metric.isc import inception_score
from ppsci_ext.metric.kid import kernel_inception_distance


class InceptionMetrics:
    """FunctionalMetric-compatible IS / FID / KID of generated images, in one pass of the network.

    ``output_dict[key]`` holds the generated images (uint8, or floats in
    ``value_range``). The real side of FID and KID is ``reference`` when
    given, else ``label_dict[key]`` (real images of the validator).

    Args:
        weights_path (str): Converted Inception weights (``ppsci-ext-convert``).
        metrics (Sequence[str]): Any of "is", "fid", "kid". Defaults to ("is", "fid").
        key (str): Name of the images in both dicts. Defaults to "img".
        value_range (Tuple[float, float]): Range of float images. Defaults to (-1, 1).
        reference: Real side of FID / KID: a statistics ``.npz`` path, a dict with
            ``mu``, ``sigma`` (and ``features`` for KID), or real images. Defaults to None.
        dataset_name (Optional[str]): Cache real images' statistics under this
            name (see ``dataset_statistics``). Defaults to None (no file cache).
        cache_dir (Optional[str]): Cache root. Defaults to ``default_cache_dir()``.
        batch_size (int): Images per forward pass. Defaults to 50.
        is_splits (int): IS splits. Defaults to 10.
        kid_subsets (int): KID subsets. Defaults to 100.
        kid_subset_size (int): KID subset size. Defaults to 1000.

    Examples:
        >>> import ppsci
        >>> from ppsci_ext.metric import InceptionMetrics
        >>> metric = ppsci.metric.FunctionalMetric(InceptionMetrics(
        ...     "inception_fid_is.pdparams", ("is", "fid", "kid"), reference="cifar10_train.npz"))  # doctest: +SKIP
    """

    def __init__(
        self,
        weights_path: str,
        metrics: Sequence[str] = ("is", "fid"),
        key: str = "img",
        value_range: Tuple[float, float] = (-1.0, 1.0),
        reference=None,
        dataset_name: Optional[str] = None,
        cache_dir: Optional[str] = None,
        batch_size: int = PROTOCOL["batch_size"],
        is_splits: int = PROTOCOL["is_splits"],
        kid_subsets: int = PROTOCOL["kid_subsets"],
        kid_subset_size: int = PROTOCOL["kid_subset_size"],
    ):
        metrics = tuple(metrics)
        unknown = sorted(set(metrics) - {"is", "fid", "kid"})
        if unknown or not metrics:
            raise UserError(f"unknown Inception metrics {unknown or metrics}; choose from 'is', 'fid', 'kid'.")
        self.weights_path = weights_path
        self.metrics = metrics
        self.key = key
        self.value_range = tuple(value_range)
        self.dataset_name = dataset_name
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.is_splits = is_splits
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        net = load_inception(weights_path)
        if "is" in metrics:
            net.require_logits()  # fail at construction, not after a long evaluation
        self._reference = reference
        self._reference_stats: Optional[Dict[str, np.ndarray]] = None

    def reference_statistics(self, label_dict: Optional[dict] = None) -> Dict[str, np.ndarray]:
        """Statistics of the real side (from ``reference``, or from ``label_dict[key]``)."""
        if self._reference_stats is not None:
            return self._reference_stats
        ref = self._reference
        if ref is None:
            if not label_dict or self.key not in label_dict:
                raise UserError(
                    f"FID/KID need real images: pass reference=... (a statistics .npz) or give the validator "
                    f"real images under the label key {self.key!r}."
                )
            ref = to_uint8_images(label_dict[self.key], self.value_range)
        if isinstance(ref, str):
            stats = load_statistics(ref)
        elif isinstance(ref, dict):
            stats = dict(ref)
        elif self.dataset_name:
            stats = dataset_statistics(ref, self.dataset_name, self.weights_path, self.cache_dir, self.batch_size)
        else:
            stats = statistics_of(inception_outputs(ref, load_inception(self.weights_path), self.batch_size,
                                                    value_range=self.value_range,
                                                    what="Inception features of the real images")["pool3"])
        if "kid" in self.metrics and "features" not in stats:
            raise UserError("KID needs the real features, but the reference statistics hold only mu and sigma; "
                            "recompute them with `python -m ppsci_ext.cli.score IMAGES --save-stats PATH`.")
        if self._reference is not None:
            self._reference_stats = stats  # a fixed reference is read once; label images may change per call
        return stats

    def __call__(self, output_dict: Dict[str, Images], label_dict: Optional[dict] = None) -> Dict[str, float]:
        if self.key not in output_dict:
            raise UserError(f"no generated images under {self.key!r}; the outputs are {sorted(output_dict)}.")
        out = inception_outputs(  # of the generated images
            output_dict[self.key], load_inception(self.weights_path), self.batch_size,
            logits="is" in self.metrics, value_range=self.value_range,
        )
        result: Dict[str, float] = {}
        if "is" in self.metrics:
            result["is_mean"], result["is_std"] = inception_score(out["logits"], self.is_splits)
        if "fid" in self.metrics or "kid" in self.metrics:
            ref = self.reference_statistics(label_dict)
            if "fid" in self.metrics:
                mu, sigma = feature_statistics(out["pool3"])
                result["fid"] = frechet_distance(mu, sigma, ref["mu"], ref["sigma"])
            if "kid" in self.metrics:
                result["kid_mean"], result["kid_std"] = kernel_inception_distance(
                    out["pool3"], ref["features"], self.kid_subsets, self.kid_subset_size
                )
        return result


class ISMetric(InceptionMetrics):
    """FunctionalMetric-compatible Inception Score: ``{"is_mean", "is_std"}`` (see ``InceptionMetrics``)."""

    def __init__(self, weights_path: str, **kwargs):
        super().__init__(weights_path, metrics=("is",), **kwargs)


class FIDMetric(InceptionMetrics):
    """FunctionalMetric-compatible FID: ``{"fid"}`` (see ``InceptionMetrics``)."""

    def __init__(self, weights_path: str, **kwargs):
        super().__init__(weights_path, metrics=("fid",), **kwargs)


class KIDMetric(InceptionMetrics):
    """FunctionalMetric-compatible KID: ``{"kid_mean", "kid_std"}`` (see ``InceptionMetrics``)."""

    def __init__(self, weights_path: str, **kwargs):
        super().__init__(weights_path, metrics=("kid",), **kwargs)

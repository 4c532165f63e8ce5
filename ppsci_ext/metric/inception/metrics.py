"""IS / FID / KID of generated images as one FunctionalMetric-compatible callable (see ``features`` for the protocol)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ppsci_ext.data.images import Images, to_uint8_images
from ppsci_ext.errors import UserError
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from ppsci_ext.metric.inception.features import (
    PROTOCOL,
    check_same_weights,
    dataset_statistics,
    inception_outputs,
    load_inception,
    load_statistics,
    resolve_inception_weights,
    statistics_of,
)
from ppsci_ext.metric.isc import inception_score
from ppsci_ext.metric.kid import kernel_inception_distance
from ppsci_ext.metric.prdc import prdc
from ppsci_ext.progress import progress

METRICS = ("is", "fid", "kid", "prdc")


class InceptionMetrics:
    """FunctionalMetric-compatible IS / FID / KID / precision-recall-density-coverage, in one pass of the network.

    ``output_dict[key]`` holds the generated images (uint8, or floats in
    ``value_range``). The real side of FID and KID is ``reference`` when
    given, else ``label_dict[key]`` (real images of the validator).

    Args:
        weights_path (str): Converted Inception weights (``ppsci-ext-convert``).
        metrics (Sequence[str]): Any of "is", "fid", "kid", "prdc" (improved precision and
            recall with k=3, density and coverage with k=5, on pool3 features). Defaults to ("is", "fid").
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
        class_reference (Optional[Dict[int, Dict]]): ``{class: {"mu", "sigma"}}`` of the real images
            of each class (``dataset_statistics(..., labels=...)["classes"]``): with "fid" in
            ``metrics``, also the intra-class FID of a conditional generator, whose labels are
            ``label_dict[label_key]``. Defaults to None.
        class_names (Optional[Sequence[str]]): Names of the classes for the result keys. Defaults to None.
        label_key (str): Where the generated samples' labels are in ``label_dict``. Defaults to "y".

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
        class_reference: Optional[Dict[int, Dict[str, np.ndarray]]] = None,
        class_names: Optional[Sequence[str]] = None,
        label_key: str = "y",
    ):
        metrics = tuple(metrics)
        self.class_reference = class_reference
        self.class_names = class_names
        self.label_key = label_key
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown or not metrics:
            raise UserError(f"unknown Inception metrics {unknown or metrics}; choose from {', '.join(METRICS)}.")
        self.weights_path = resolve_inception_weights(weights_path)
        if self.weights_path is None:
            raise UserError("InceptionMetrics needs weights: `auto` or a converted .pdparams file.")
        self.metrics = metrics
        self.key = key
        self.value_range = tuple(value_range)
        self.dataset_name = dataset_name
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.is_splits = is_splits
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        net = load_inception(self.weights_path)
        if "is" in metrics:
            net.require_logits()  # fail at construction, not after a long evaluation
        self._reference = reference
        self._reference_stats: Optional[Dict[str, np.ndarray]] = None
        # what the last intra-class FID averaged and left out (see ``intra_class_report``)
        self.intra_report: Optional[Dict] = None

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
            check_same_weights(stats, self.weights_path, ref)
        elif isinstance(ref, dict):
            stats = dict(ref)
        elif self.dataset_name:
            stats = dataset_statistics(ref, self.dataset_name, self.weights_path, self.cache_dir, self.batch_size)
        else:
            stats = statistics_of(inception_outputs(ref, load_inception(self.weights_path), self.batch_size,
                                                    value_range=self.value_range,
                                                    what="Inception features of the real images")["pool3"])
        if {"kid", "prdc"} & set(self.metrics) and "features" not in stats:
            raise UserError("KID and precision/recall need real features, but the reference statistics hold only "
                            "mu and sigma; recompute them with `ppsci-ext-score --input1 IMAGES --save-stats PATH`.")
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
        if {"fid", "kid", "prdc"} & set(self.metrics):
            ref = self.reference_statistics(label_dict)
            if "fid" in self.metrics:
                mu, sigma = feature_statistics(out["pool3"])
                result["fid"] = frechet_distance(mu, sigma, ref["mu"], ref["sigma"])
                if self.class_reference is not None:
                    if not label_dict or self.label_key not in label_dict:
                        raise UserError(f"intra-class FID needs the samples' labels under {self.label_key!r}.")
                    self.intra_report = intra_class_report(label_dict[self.label_key], self.class_reference,
                                                           self.class_names)
                    result.update(intra_class_fid(out["pool3"], label_dict[self.label_key], self.class_reference,
                                                  self.class_names))
            if "kid" in self.metrics:
                result["kid_mean"], result["kid_std"] = kernel_inception_distance(
                    out["pool3"], ref["features"], self.kid_subsets, self.kid_subset_size
                )
            if "prdc" in self.metrics:
                result.update(prdc(ref["features"], out["pool3"]))
        return result



def _labels(labels) -> np.ndarray:
    return np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels).reshape(-1)


def _name(c: int, class_names: Optional[Sequence[str]]) -> str:
    return class_names[c] if class_names is not None and 0 <= c < len(class_names) else str(c)


def intra_class_report(labels, class_reference: Dict[int, Dict[str, np.ndarray]],
                       class_names: Optional[Sequence[str]] = None) -> Dict:
    """Which classes intra-class FID averages and which it leaves out (no real images), with their counts.

    Args:
        labels: ``[N]`` class of each generated sample.
        class_reference (Dict[int, Dict]): ``{class: {"mu", "sigma"}}`` of the real images (classes without
            real images are absent).
        class_names (Optional[Sequence[str]]): Names of the classes. Defaults to the class numbers.

    Returns:
        Dict: ``classes`` (number averaged), ``of`` (classes generated or with real images) and
        ``skipped``: a list of ``{"class", "real", "generated"}`` (real is 0: no real image of the class).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.inception.metrics import intra_class_report
        >>> intra_class_report([0, 1, 2, 2], {0: {}, 1: {}}, ["a", "b", "c"])
        {'classes': 2, 'of': 3, 'skipped': [{'class': 'c', 'real': 0, 'generated': 2}]}
    """
    labels = _labels(labels)
    generated, counts = np.unique(labels, return_counts=True)
    per_class = dict(zip(generated.tolist(), counts.tolist()))
    every = sorted(set(per_class) | set(class_reference))
    skipped = [{"class": _name(c, class_names), "real": 0, "generated": int(per_class[c])}
               for c in every if c not in class_reference]
    return {"classes": len(every) - len(skipped), "of": len(every), "skipped": skipped}


def describe_intra_report(report: Dict) -> str:
    """The report as the log shows it, e.g. ``mean of 8 of 10 classes; left out (no real images): cat (500 generated)``."""
    text = f"mean of {report['classes']} of {report['of']} classes"
    if report["skipped"]:
        text += "; left out (no real images): " + ", ".join(
            f"{s['class']} ({s['generated']} generated)" for s in report["skipped"])
    return text


def intra_class_fid(features, labels, class_reference: Dict[int, Dict[str, np.ndarray]],
                    class_names: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """FID of each class's generated samples against that class's real statistics, and their mean.

    Classes without real statistics are left out of the mean (``intra_class_report`` names them).

    Args:
        features: ``[N, D]`` features of the generated samples.
        labels: ``[N]`` class of each sample (the label it was generated with).
        class_reference (Dict[int, Dict]): ``{class: {"mu", "sigma"}}`` of the real images.
        class_names (Optional[Sequence[str]]): Names for the keys. Defaults to the class numbers.

    Returns:
        Dict[str, float]: ``intra_fid_<name>`` per class and ``intra_fid``, their mean.
    """
    features = np.asarray(features)
    labels = _labels(labels)
    if len(labels) != len(features):
        raise UserError(f"{len(labels)} labels for {len(features)} generated samples; give one label per sample.")
    result = {}
    classes = sorted(class_reference)
    with progress(len(classes), "intra-class FID", unit="class") as bar:
        for c in classes:
            name = _name(c, class_names)
            chosen = features[labels == c]
            if len(chosen) < 2:
                raise UserError(f"intra-class FID: class {name} has {len(chosen)} generated samples; it needs at "
                                "least 2 (and thousands for a meaningful value): evaluate more samples.")
            mu, sigma = feature_statistics(chosen)
            result[f"intra_fid_{name}"] = frechet_distance(mu, sigma, class_reference[c]["mu"],
                                                           class_reference[c]["sigma"], what=None)
            bar.update(1)
    result["intra_fid"] = float(np.mean(list(result.values())))
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

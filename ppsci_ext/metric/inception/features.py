"""IS, FID and KID of images with the 2015-12-05 Inception network, as published numbers are computed.

The protocol (defaults in ``PROTOCOL``): uint8 images, TensorFlow 1 bilinear
resize to 299x299, ``(x - 128) / 128``, the 2015-12-05 TensorFlow Inception
(``ppsci_ext.metric.inception.InceptionV3FID``); IS from its 1008-way softmax in 10
consecutive splits (50,000 samples in the literature); FID from the mean and
covariance of its 2048-d pool3 features (50,000 samples, against the training
set); KID from the same features (100 subsets of 1,000).

Real-data statistics (``mu``, ``sigma`` and 8,000 of the features, for KID
and precision / recall; see ``ppsci_ext.metric.reference``) are computed once
per dataset and cached in an ``.npz`` named after the dataset (whose name
carries a digest of the data) and a digest of the weights file, so other data
or another network never reuses them.

This module holds the protocol, the features and the statistics cache;
``metrics`` turns them into FunctionalMetric callables.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
import paddle

from ppsci_ext.data.images import Images, to_uint8_images
from ppsci_ext.errors import UserError, check_positive
from ppsci_ext.io.cache import default_cache_dir, weights_digest
from ppsci_ext.io.weights import cached_model, resolve_weights_path
from ppsci_ext.metric import reference
from ppsci_ext.metric.inception.network import InceptionV3FID
from ppsci_ext.progress import progress

# Every default of the protocol, in one place.
PROTOCOL = {
    "batch_size": 50,
    "is_splits": 10,
    "is_samples": 50000,
    "fid_samples": 50000,
    "kid_subsets": 100,
    "kid_subset_size": 1000,
}


def resolve_inception_weights(weights: Optional[str]) -> Optional[str]:
    """Local path of the converted Inception weights a user asked for.

    Args:
        weights (Optional[str]): ``"auto"`` for the standard weights (pytorch-fid's
            file, with the fc layer, downloaded and converted on first use: see
            ``standard.standard_weights``), a path or URL of a converted
            ``.pdparams``, or None / ``""`` for none.

    Returns:
        Optional[str]: The path, or None when no weights were asked for.
    """
    if weights is None or str(weights) == "":
        return None
    if str(weights) == "auto":
        from ppsci_ext.metric.inception.standard import standard_weights

        return standard_weights()
    return resolve_weights_path(str(weights))


def load_inception(weights_path: str) -> InceptionV3FID:
    """The network for converted weights, loaded once per file and process.

    Args:
        weights_path (str): Output of ``ppsci-ext-convert``, or ``"auto"`` (see ``resolve_inception_weights``).

    Returns:
        InceptionV3FID: The network in eval mode.
    """
    path = resolve_inception_weights(weights_path)
    if path is None:
        raise UserError("no Inception weights given; pass `auto`, or a file converted with `ppsci-ext-convert`.")
    return cached_model("inception", path, InceptionV3FID.from_pdparams)


def inception_outputs(
    images: Images,
    net: InceptionV3FID,
    batch_size: int = PROTOCOL["batch_size"],
    logits: bool = False,
    value_range: Optional[Tuple[float, float]] = None,
    what: str = "Inception features",
) -> Dict[str, np.ndarray]:
    """Run images through the network in batches (a progress bar appears when it takes a while).

    Args:
        images: uint8 images (see ``to_uint8_images`` for layouts; float images need ``value_range``).
        net (InceptionV3FID): The network, e.g. from ``load_inception``.
        batch_size (int): Images per forward pass. Defaults to 50.
        logits (bool): Also return the 1008 logits (IS). Defaults to False.
        value_range (Optional[Tuple[float, float]]): Range of float images.
        what (str): What the progress bar calls this step.

    Returns:
        Dict[str, np.ndarray]: ``pool3`` ``[N, 2048]`` float32, and ``logits`` ``[N, 1008]`` when asked.

    Examples:
        >>> from ppsci_ext.metric import inception_outputs, load_inception
        >>> out = inception_outputs(images_uint8, load_inception("inception_fid.pdparams"))  # doctest: +SKIP
        >>> out["pool3"].shape  # doctest: +SKIP
        (10000, 2048)
    """
    x = to_uint8_images(images, value_range)
    check_positive(batch_size, "batch_size", whole=True)
    if logits:
        net.require_logits()
    pool3, logit = [], []
    with paddle.no_grad(), progress(len(x), what) as bar:
        for start in range(0, len(x), batch_size):
            batch = paddle.to_tensor(x[start : start + batch_size].transpose(0, 3, 1, 2))
            features = net.pool3(net.preprocess(batch))
            pool3.append(features.numpy())
            if logits:
                logit.append(net.logits(features).numpy())
            bar.update(len(batch))
    out = {"pool3": np.concatenate(pool3) if pool3 else np.zeros((0, 2048), np.float32)}
    if logits:
        out["logits"] = np.concatenate(logit) if logit else np.zeros((0, 1008), np.float32)
    return out


def statistics_of(features: np.ndarray) -> Dict[str, np.ndarray]:
    """Compact statistics of pool3 features: exact ``mu`` and ``sigma``, 8,000 of the features in float16.

    See ``ppsci_ext.metric.reference`` for the form and what it does to KID and
    precision / recall.
    """
    return reference.compact_stored(features)


def save_statistics(path: str, stats: Dict[str, np.ndarray], **info) -> None:
    """Write statistics to ``path`` (``.npz``) atomically (``sigma`` as its upper triangle)."""
    reference.save(path, stats, **info)


def load_statistics(path: str) -> Dict[str, np.ndarray]:
    """Read statistics written by ``save_statistics`` (or any ``.npz`` with ``mu`` and ``sigma``, e.g. TTUR's).

    Args:
        path (str): ``.npz`` file.

    Returns:
        Dict[str, np.ndarray]: ``mu``, ``sigma`` and, when stored, ``features`` and provenance entries.
    """
    return reference.load(path)


def check_same_weights(stats: Dict[str, np.ndarray], weights_path: str, source: str) -> None:
    """Raise ``UserError`` if statistics record the digest of other Inception weights than ``weights_path``."""
    if "weights_digest" not in stats:
        return
    made_with, digest = str(stats["weights_digest"]), weights_digest(weights_path)  # one pass over the file
    if made_with != digest:
        raise UserError(
            f"{source} was made with other Inception weights (digest {made_with}) than {weights_path} "
            f"(digest {digest}), so its features cannot be compared with these; "
            "compute the statistics again with these weights, or use the weights they were made with."
        )


def dataset_statistics(
    images: Union[Images, Callable[[], Images]],
    name: str,
    weights_path: str,
    cache_dir: Optional[str] = None,
    batch_size: int = PROTOCOL["batch_size"],
    labels: Optional[np.ndarray] = None,
) -> Dict[str, np.ndarray]:
    """Statistics of a real dataset, computed once and cached per dataset and weights file.

    The cache file is ``<cache_dir>/inception_stats/<name>-<weights digest>.npz``;
    it holds ``mu``, ``sigma``, up to 8,000 pool3 ``features`` in float16 (for KID
    and precision / recall), ``num_images`` and the weights digest: at most
    49.6 MB (``ppsci_ext.metric.reference``).

    Args:
        images: uint8 images, or a function returning them (called only when
            the cache is missing, so an expensive read is skipped).
        name (str): Dataset name, e.g. "cifar10-train"; different data needs a different name.
        weights_path (str): Converted Inception weights.
        cache_dir (Optional[str]): Cache root. Defaults to ``default_cache_dir()``.
        batch_size (int): Images per forward pass. Defaults to 50.
        labels (Optional[np.ndarray]): Class of each image: also per-class ``mu`` / ``sigma``
            under ``classes`` (intra-class FID), cached in ``<name>-classes-<weights digest>.npz``.

    Returns:
        Dict[str, np.ndarray]: ``mu``, ``sigma``, ``features``, ``num_images``, ``weights_digest``
        (and ``classes`` with ``labels``).

    Examples:
        >>> from ppsci_ext.metric import dataset_statistics
        >>> stats = dataset_statistics(
        ...     lambda: train_images, "cifar10-train", "inception_fid.pdparams")  # doctest: +SKIP
    """
    if not name or os.sep in name or (os.altsep and os.altsep in name):
        raise UserError(f"dataset name {name!r} must be a non-empty file name without path separators.")
    weights_path = resolve_inception_weights(weights_path)
    if weights_path is None:
        raise UserError("no Inception weights given for the statistics; pass `auto` or a converted .pdparams file.")
    digest = weights_digest(weights_path)
    path = os.path.join(cache_dir or default_cache_dir(), "inception_stats", f"{name}-{digest}.npz")

    memo = {}

    def features() -> np.ndarray:  # one pass serves both caches
        if "pool3" not in memo:
            data = images() if callable(images) else images
            memo["pool3"] = inception_outputs(data, load_inception(weights_path), batch_size,
                                              what=f"Inception statistics of {name} (cached for later runs)")["pool3"]
        return memo["pool3"]

    stats = reference.cached(path, features, None if callable(images) else len(images), weights_digest=digest)
    if labels is not None:
        class_path = os.path.join(os.path.dirname(path), f"{name}-classes-{digest}.npz")
        stats["classes"] = reference.cached_classes(class_path, features, labels, weights_digest=digest)
    return stats

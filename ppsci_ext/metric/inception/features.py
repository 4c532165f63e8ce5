"""IS, FID and KID of images with the 2015-12-05 Inception network, as published numbers are computed.

The protocol (defaults in ``PROTOCOL``): uint8 images, TensorFlow 1 bilinear
resize to 299x299, ``(x - 128) / 128``, the 2015-12-05 TensorFlow Inception
(``ppsci_ext.metric.inception.InceptionV3FID``); IS from its 1008-way softmax in 10
consecutive splits (50,000 samples in the literature); FID from the mean and
covariance of its 2048-d pool3 features (50,000 samples, against the training
set); KID from the same features (100 subsets of 1,000).

Real-data statistics (``mu``, ``sigma`` and the features, for KID) are
computed once per dataset and cached in an ``.npz`` named after the dataset
and a digest of the weights file, so another network never reuses them.

This module holds the protocol, the features and the statistics cache;
``metrics`` turns them into FunctionalMetric callables.
"""

from __future__ import annotations

import hashlib
import os
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
import paddle

from ppsci_ext.data.images import Images, to_uint8_images
from ppsci_ext.errors import UserError, check_positive
from ppsci_ext.io.atomic import atomic_savez
from ppsci_ext.io.weights import cached_model
from ppsci_ext.metric.fid import feature_statistics
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


def default_cache_dir() -> str:
    """``$PPSCI_EXT_CACHE`` or ``~/.cache/ppsci_ext``."""
    return os.environ.get("PPSCI_EXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ppsci_ext")


def weights_digest(path: str) -> str:
    """First 16 hex digits of the SHA-256 of a weights file: the cache key of statistics made with it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _require_file(weights_path: str) -> str:
    if not weights_path or not os.path.isfile(weights_path):
        raise UserError(
            f"Inception weights {weights_path!r} not found; convert them with `ppsci-ext-convert "
            "SOURCE OUT.pdparams` and give the converted file (see docs/metrics.md)."
        )
    return weights_path


def load_inception(weights_path: str) -> InceptionV3FID:
    """The network for a converted ``.pdparams``, loaded once per file and process.

    Args:
        weights_path (str): Output of ``ppsci-ext-convert``.

    Returns:
        InceptionV3FID: The network in eval mode.
    """
    return cached_model("inception", _require_file(weights_path), InceptionV3FID.from_pdparams)


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
    """``mu``, ``sigma`` (float64) and ``features`` (float32) of pool3 features."""
    mu, sigma = feature_statistics(features)
    return {"mu": mu, "sigma": sigma, "features": np.asarray(features, dtype=np.float32)}


def save_statistics(path: str, stats: Dict[str, np.ndarray], **info) -> None:
    """Write statistics to ``path`` (``.npz``) atomically: a temporary file, then a rename."""
    atomic_savez(path, **stats, **{k: np.asarray(v) for k, v in info.items()})


def load_statistics(path: str) -> Dict[str, np.ndarray]:
    """Read statistics written by ``save_statistics`` (or any ``.npz`` with ``mu`` and ``sigma``, e.g. TTUR's).

    Args:
        path (str): ``.npz`` file.

    Returns:
        Dict[str, np.ndarray]: ``mu``, ``sigma`` and, when stored, ``features`` and provenance entries.
    """
    if not os.path.isfile(path):
        raise UserError(f"statistics file {path!r} not found; compute it with `python -m ppsci_ext.cli.score "
                        "IMAGES --save-stats PATH`.")
    try:
        with np.load(path, allow_pickle=False) as data:
            stats = {k: data[k] for k in data.files}
    except Exception as e:  # numpy raises several types for a file that is not an .npz
        raise UserError(f"{path!r} is not a readable .npz statistics file ({type(e).__name__}: {e}).") from None
    if "mu" not in stats or "sigma" not in stats:
        raise UserError(f"{path!r} has no 'mu' and 'sigma' arrays; it is not an FID statistics file.")
    return stats


def dataset_statistics(
    images: Union[Images, Callable[[], Images]],
    name: str,
    weights_path: str,
    cache_dir: Optional[str] = None,
    batch_size: int = PROTOCOL["batch_size"],
) -> Dict[str, np.ndarray]:
    """Statistics of a real dataset, computed once and cached per dataset and weights file.

    The cache file is ``<cache_dir>/inception_stats/<name>-<weights digest>.npz``;
    it holds ``mu``, ``sigma``, the pool3 ``features`` (for KID) and ``num_images``.

    Args:
        images: uint8 images, or a function returning them (called only when
            the cache is missing, so an expensive read is skipped).
        name (str): Dataset name, e.g. "cifar10-train"; different data needs a different name.
        weights_path (str): Converted Inception weights.
        cache_dir (Optional[str]): Cache root. Defaults to ``default_cache_dir()``.
        batch_size (int): Images per forward pass. Defaults to 50.

    Returns:
        Dict[str, np.ndarray]: ``mu``, ``sigma``, ``features``, ``num_images``.

    Examples:
        >>> from ppsci_ext.metric import dataset_statistics
        >>> stats = dataset_statistics(
        ...     lambda: train_images, "cifar10-train", "inception_fid.pdparams")  # doctest: +SKIP
    """
    if not name or os.sep in name or (os.altsep and os.altsep in name):
        raise UserError(f"dataset name {name!r} must be a non-empty file name without path separators.")
    digest = weights_digest(_require_file(weights_path))
    path = os.path.join(cache_dir or default_cache_dir(), "inception_stats", f"{name}-{digest}.npz")
    if os.path.isfile(path):
        stats = load_statistics(path)
        n = len(images) if not callable(images) else None
        if n is not None and int(stats.get("num_images", n)) != n:
            raise UserError(
                f"cached statistics {path} of {name!r} come from {int(stats['num_images'])} images, not {n}; "
                "use another dataset name for other data, or delete the file."
            )
        if "features" in stats:
            return stats
    data = images() if callable(images) else images
    stats = statistics_of(inception_outputs(data, load_inception(weights_path), batch_size,
                                            what=f"Inception statistics of {name} (cached for later runs)")["pool3"])
    stats["num_images"] = np.asarray(len(stats["features"]))
    save_statistics(path, stats, weights_digest=digest)
    return stats

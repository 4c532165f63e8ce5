"""IS, FID and KID of images with the 2015-12-05 Inception network, as published numbers are computed.

The protocol (defaults in ``PROTOCOL``): uint8 images, TensorFlow 1 bilinear
resize to 299x299, ``(x - 128) / 128``, the 2015-12-05 TensorFlow Inception
(``ppsci_ext.arch.InceptionV3FID``); IS from its 1008-way softmax in 10
consecutive splits (50,000 samples in the literature); FID from the mean and
covariance of its 2048-d pool3 features (50,000 samples, against the training
set); KID from the same features (100 subsets of 1,000).

Real-data statistics (``mu``, ``sigma`` and the features, for KID) are
computed once per dataset and cached in an ``.npz`` named after the dataset
and a digest of the weights file, so another network never reuses them.

Examples:
    >>> import ppsci
    >>> from ppsci_ext.metric import InceptionMetrics
    >>> metric = ppsci.metric.FunctionalMetric(
    ...     InceptionMetrics("inception_fid_is.pdparams", metrics=("is", "fid"), key="img",
    ...                      reference="cifar10_train_stats.npz"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import paddle

from ppsci_ext.arch.inception import InceptionV3FID
from ppsci_ext.errors import UserError
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from ppsci_ext.metric.isc import inception_score
from ppsci_ext.metric.kid import kernel_inception_distance

# Every default of the protocol, in one place.
PROTOCOL = {
    "batch_size": 50,
    "is_splits": 10,
    "is_samples": 50000,
    "fid_samples": 50000,
    "kid_subsets": 100,
    "kid_subset_size": 1000,
}

Images = Union[np.ndarray, paddle.Tensor]


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
            f"Inception weights {weights_path!r} not found; convert them with `python -m ppsci_ext.metric.convert "
            "SOURCE OUT.pdparams` and set EVAL.inception_weights_path / --weights (see docs/metrics.md)."
        )
    return weights_path


_NETS: Dict[Tuple[str, float, int], InceptionV3FID] = {}


def load_inception(weights_path: str) -> InceptionV3FID:
    """The network for a converted ``.pdparams``, loaded once per file and process.

    Args:
        weights_path (str): Output of ``python -m ppsci_ext.metric.convert``.

    Returns:
        InceptionV3FID: The network in eval mode.
    """
    _require_file(weights_path)
    stat = os.stat(weights_path)
    key = (os.path.abspath(weights_path), stat.st_mtime, stat.st_size)
    if key not in _NETS:
        _NETS.clear()  # one network of ~100 MB at a time is enough
        _NETS[key] = InceptionV3FID.from_pdparams(weights_path)
    return _NETS[key]


def to_uint8_images(images: Images, value_range: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Images as a ``[N, H, W, 3]`` uint8 array.

    The channel axis is axis 1 when it has 1 or 3 entries, else the last one;
    ``[N, H, W]`` and single-channel images are repeated to 3 channels (MNIST).
    Float images need ``value_range`` and are quantised as the WGAN-GP code
    does before scoring: ``floor((x - low) / (high - low) * 255.99)``, clipped.

    Args:
        images: Array or tensor of N images.
        value_range (Optional[Tuple[float, float]]): Range of float images, e.g.
            (-1, 1) for a tanh generator. Not used for uint8 images.

    Returns:
        np.ndarray: ``[N, H, W, 3]`` uint8.
    """
    x = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]  # [N, H, W] grayscale
    elif x.ndim != 4 or not ({x.shape[1], x.shape[-1]} & {1, 3}):
        raise UserError(f"expected images [N, H, W, 3], [N, 3, H, W] or [N, H, W], got shape {x.shape}.")
    elif x.shape[1] in (1, 3):
        x = x.transpose(0, 2, 3, 1)
    if x.dtype != np.uint8:
        if value_range is None:
            raise UserError(
                f"images are {x.dtype}, not uint8; pass value_range=(low, high) (e.g. (-1, 1) for a tanh "
                "generator) or convert them to uint8 in [0, 255]."
            )
        low, high = float(value_range[0]), float(value_range[1])
        if not high > low:
            raise UserError(f"value_range must be (low, high) with high > low, got {value_range!r}.")
        if not np.all(np.isfinite(x)):
            raise UserError("images contain NaN or infinity; the generator diverged.")
        x = np.clip(np.floor((x.astype(np.float64) - low) / (high - low) * 255.99), 0, 255).astype(np.uint8)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.ascontiguousarray(x)


def inception_outputs(
    images: Images,
    net: InceptionV3FID,
    batch_size: int = PROTOCOL["batch_size"],
    logits: bool = False,
    value_range: Optional[Tuple[float, float]] = None,
) -> Dict[str, np.ndarray]:
    """Run images through the network in batches.

    Args:
        images: uint8 images (see ``to_uint8_images`` for layouts; float images need ``value_range``).
        net (InceptionV3FID): The network, e.g. from ``load_inception``.
        batch_size (int): Images per forward pass. Defaults to 50.
        logits (bool): Also return the 1008 logits (IS). Defaults to False.
        value_range (Optional[Tuple[float, float]]): Range of float images.

    Returns:
        Dict[str, np.ndarray]: ``pool3`` ``[N, 2048]`` float32, and ``logits`` ``[N, 1008]`` when asked.

    Examples:
        >>> from ppsci_ext.metric import inception_outputs, load_inception
        >>> out = inception_outputs(images_uint8, load_inception("inception_fid.pdparams"))  # doctest: +SKIP
        >>> out["pool3"].shape  # doctest: +SKIP
        (10000, 2048)
    """
    x = to_uint8_images(images, value_range)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if logits:
        net.require_logits()
    pool3, logit = [], []
    with paddle.no_grad():
        for start in range(0, len(x), batch_size):
            batch = paddle.to_tensor(x[start : start + batch_size].transpose(0, 3, 1, 2))
            features = net.pool3(net.preprocess(batch))
            pool3.append(features.numpy())
            if logits:
                logit.append(net.logits(features).numpy())
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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **stats, **{k: np.asarray(v) for k, v in info.items()})
    os.replace(tmp, path)


def load_statistics(path: str) -> Dict[str, np.ndarray]:
    """Read statistics written by ``save_statistics`` (or any ``.npz`` with ``mu`` and ``sigma``, e.g. TTUR's).

    Args:
        path (str): ``.npz`` file.

    Returns:
        Dict[str, np.ndarray]: ``mu``, ``sigma`` and, when stored, ``features`` and provenance entries.
    """
    if not os.path.isfile(path):
        raise UserError(f"statistics file {path!r} not found; compute it with `python -m ppsci_ext.metric.score "
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
    stats = statistics_of(inception_outputs(data, load_inception(weights_path), batch_size)["pool3"])
    stats["num_images"] = np.asarray(len(stats["features"]))
    save_statistics(path, stats, weights_digest=digest)
    return stats


class InceptionMetrics:
    """FunctionalMetric-compatible IS / FID / KID of generated images, in one pass of the network.

    ``output_dict[key]`` holds the generated images (uint8, or floats in
    ``value_range``). The real side of FID and KID is ``reference`` when
    given, else ``label_dict[key]`` (real images of the validator).

    Args:
        weights_path (str): Converted Inception weights (``EVAL.inception_weights_path``).
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
                                                    value_range=self.value_range)["pool3"])
        if "kid" in self.metrics and "features" not in stats:
            raise UserError("KID needs the real features, but the reference statistics hold only mu and sigma; "
                            "recompute them with `python -m ppsci_ext.metric.score IMAGES --save-stats PATH`.")
        if self._reference is not None:
            self._reference_stats = stats  # a fixed reference is read once; label images may change per call
        return stats

    def __call__(self, output_dict: Dict[str, Images], label_dict: Optional[dict] = None) -> Dict[str, float]:
        if self.key not in output_dict:
            raise UserError(f"no generated images under {self.key!r}; the outputs are {sorted(output_dict)}.")
        out = inception_outputs(
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

"""Statistics of a real dataset's features, in the compact form that is cached, saved and compared against.

One form serves every metric that compares samples with real data, whatever
the features (Inception pool3, the MNIST classifier's):

- ``mu`` and ``sigma`` (float64) of *all* the features: FID (and the
  classifier's Fréchet distance) is exact. ``sigma`` is symmetric, so files
  hold its upper triangle (``sigma_triu``): 16.8 MB instead of 33.6 MB for
  2048 features.
- ``features``: at most ``KEPT_FEATURES`` (8,000) of the feature vectors,
  a fixed random subset (seed 0), in float16: the real side of KID and of
  precision / recall / density / coverage. 8,000 pool3 vectors take 32.8 MB,
  so the statistics of 50,000 CIFAR-10 images take 49.6 MB where all
  features in float32 took 443 MB.
- ``num_images``: how many images the statistics describe.

What the subset does: KID draws its real subsets (1,000 by default) from
8,000 vectors instead of 50,000 and stays unbiased. The k-NN balls of
precision / recall / density / coverage are built on 8,000 real points (most
papers use 10,000); with fewer real points the balls are larger, and coverage
in particular rises. float16 keeps about three significant digits, which
changed none of the figures visibly. ``benchmarks/reference_statistics.py``
measures both effects on real features (docs/metrics.md, "Statistics cache"). The same compact form is used on the
first run as on every later one (``compact`` is applied before anything is
scored), so a cached run and a fresh run give the same numbers.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Optional

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.io.atomic import atomic_savez
from ppsci_ext.metric.fid import feature_statistics
from ppsci_ext.progress import progress

KEPT_FEATURES = 8000


def compact(features: np.ndarray, keep: int = KEPT_FEATURES) -> Dict[str, np.ndarray]:
    """``mu``, ``sigma`` of all features, a fixed subset of ``keep`` features in float16, ``num_images``.

    Args:
        features: ``[N, D]`` features of the real images.
        keep (int): Largest number of feature vectors kept. Defaults to 8,000.

    Returns:
        Dict[str, np.ndarray]: The statistics.
    """
    features = np.asarray(features)
    mu, sigma = feature_statistics(features)
    n = len(features)
    index = np.sort(np.random.default_rng(0).choice(n, keep, replace=False)) if n > keep else np.arange(n)
    return {"mu": mu, "sigma": sigma, "features": features[index].astype(np.float16),
            "num_images": np.asarray(n, dtype=np.int64)}


def compact_stored(features: np.ndarray, keep: int = KEPT_FEATURES) -> Dict[str, np.ndarray]:
    """``compact(features)`` exactly as a saved file reads back (what every comparison scores against)."""
    return from_file(to_file(compact(features, keep)), "statistics")


def to_file(stats: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The arrays written to a file: ``sigma`` as its upper triangle."""
    out = {k: np.asarray(v) for k, v in stats.items() if k != "sigma"}
    sigma = np.asarray(stats["sigma"], dtype=np.float64)
    out["sigma_triu"] = sigma[np.triu_indices(len(sigma))]
    return out


def from_file(arrays: Dict[str, np.ndarray], source: str) -> Dict[str, np.ndarray]:
    """Statistics from the arrays of a file (``sigma_triu`` or a full ``sigma``, as TTUR's files hold)."""
    stats = dict(arrays)
    if "sigma_triu" in stats:
        triu = np.asarray(stats.pop("sigma_triu"), dtype=np.float64)
        d = int(round((np.sqrt(8 * triu.size + 1) - 1) / 2))
        mu = np.asarray(stats.get("mu"))
        if triu.ndim != 1 or d * (d + 1) // 2 != triu.size or mu.shape != (d,):
            raise UserError(f"{source} holds a damaged sigma_triu of {triu.size} values for mu of shape {mu.shape}; "
                            "compute the statistics again.")
        sigma = np.zeros((d, d))
        sigma[np.triu_indices(d)] = triu
        stats["sigma"] = sigma + np.triu(sigma, 1).T
    if "mu" not in stats or "sigma" not in stats:
        raise UserError(f"{source} has no 'mu' and 'sigma' arrays; it is not an FID statistics file.")
    return stats


def save(path: str, stats: Dict[str, np.ndarray], **info) -> None:
    """Write statistics (and ``info`` entries, e.g. the weights digest) to an ``.npz``, atomically."""
    atomic_savez(path, **to_file(stats), **{k: np.asarray(v) for k, v in info.items()})


def load(path: str) -> Dict[str, np.ndarray]:
    """Read statistics written by ``save`` (or any ``.npz`` with ``mu`` and ``sigma``)."""
    if not os.path.isfile(path):
        raise UserError(f"statistics file {path!r} not found; compute it with `ppsci-ext-score --input1 IMAGES "
                        "--save-stats PATH`.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as e:  # numpy raises several types for a file that is not an .npz
        raise UserError(f"{path!r} is not a readable .npz statistics file ({type(e).__name__}: {e}).") from None
    return from_file(arrays, repr(path))


def cached(path: str, features: Callable[[], np.ndarray], num_images: Optional[int] = None,
           **info) -> Dict[str, np.ndarray]:
    """Statistics from the cache file ``path``, or computed by ``features()``, compacted and written there.

    Args:
        path (str): Cache file; its name must carry everything the statistics depend on
            (the data's and the network's digests).
        features (Callable[[], np.ndarray]): Computes the ``[N, D]`` features, called only on a miss.
        num_images (Optional[int]): Expected number of images, checked against a cached file.
        **info: Entries stored next to the statistics (e.g. ``weights_digest``).

    Returns:
        Dict[str, np.ndarray]: The statistics, the same whether they came from the file or were computed.
    """
    if os.path.isfile(path):
        stats = load(path)
        # float16 features mark this form; a cache of the older form (all features in float32) is remade
        if "features" in stats and "num_images" in stats and stats["features"].dtype == np.float16:
            if num_images is not None and int(stats["num_images"]) != num_images:
                raise UserError(f"cached statistics {path} come from {int(stats['num_images'])} images, not "
                                f"{num_images}; delete the file (it is recomputed).")
            return stats
    computed = features()
    with progress(2, "reference statistics (moments, then the cache file)", unit="step") as bar:
        stats = compact(computed)
        bar.update(1)
        save(path, stats, **info)
        bar.update(1)
    return from_file(to_file(stats), path)  # exactly what a later run reads (compact_stored, without a recompute)


def class_moments(features: np.ndarray, labels: np.ndarray) -> Dict[int, Dict[str, np.ndarray]]:
    """``{class: {"mu", "sigma"}}`` of the features of each class (for intra-class FID)."""
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(features):
        raise UserError(f"{len(labels)} labels for {len(features)} images; give one label per image.")
    out = {}
    classes = np.unique(labels)
    with progress(len(classes), "reference statistics per class", unit="class") as bar:
        for c in classes:
            mu, sigma = feature_statistics(features[labels == c])
            out[int(c)] = {"mu": mu, "sigma": sigma}
            bar.update(1)
    return out


def cached_classes(path: str, features: Callable[[], np.ndarray], labels: np.ndarray,
                   **info) -> Dict[int, Dict[str, np.ndarray]]:
    """Per-class ``mu`` / ``sigma`` from the cache file ``path``, or computed and written there.

    On disk: ``mu`` ``[C, D]`` float64 and the upper triangles of the sigmas,
    ``[C, D (D + 1) / 2]`` in float32 (8.4 MB per class for D = 2048: 84 MB for
    CIFAR-10's ten classes; float32 keeps seven significant digits, far below
    the spread of an FID over samples), with ``classes`` and ``counts``.
    """
    labels = np.asarray(labels).reshape(-1)
    classes, counts = np.unique(labels, return_counts=True)
    if os.path.isfile(path):
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as e:  # numpy raises several types for a damaged file
            raise UserError(f"{path!r} is not a readable .npz ({type(e).__name__}: {e}); delete it.") from None
        if np.array_equal(arrays.get("classes"), classes) and np.array_equal(arrays.get("counts"), counts):
            d = arrays["mu"].shape[1]
            out = {}
            for i, c in enumerate(classes):
                sigma = np.zeros((d, d))
                sigma[np.triu_indices(d)] = arrays["sigma_triu"][i]
                out[int(c)] = {"mu": arrays["mu"][i], "sigma": sigma + np.triu(sigma, 1).T}
            return out
        raise UserError(f"cached class statistics {path} are of other labels (classes {arrays.get('classes')}, "
                        f"counts {arrays.get('counts')}); delete the file (it is recomputed).")
    moments = class_moments(features(), labels)
    d = len(next(iter(moments.values()))["mu"])
    rows = np.triu_indices(d)
    atomic_savez(path, classes=classes, counts=counts,
                 mu=np.stack([moments[int(c)]["mu"] for c in classes]),
                 sigma_triu=np.stack([moments[int(c)]["sigma"][rows].astype(np.float32) for c in classes]),
                 **{k: np.asarray(v) for k, v in info.items()})
    return cached_classes(path, features, labels)  # exactly what a later run reads

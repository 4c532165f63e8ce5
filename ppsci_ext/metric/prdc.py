"""Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

All four compare two sets of feature vectors through k-nearest-neighbour balls:
the ball of a point reaches to its k-th nearest neighbour within its own set.

- precision: the fraction of generated points inside at least one real ball (k = 3);
- recall: the fraction of real points inside at least one generated ball (k = 3);
- density: the number of real balls holding each generated point, averaged and divided by k (k = 5;
  about 1 when the generated points are distributed like the real ones, above 1 when they crowd);
- coverage: the fraction of real balls that hold at least one generated point (k = 5).

They work on any features: Inception pool3, the MNIST classifier's features, raw toy points.
Distances are computed in blocks, so memory stays at a few blocks of ``[1024, M]``.

Examples:
    >>> import numpy as np
    >>> from ppsci_ext.metric import density_coverage, precision_recall
    >>> x = np.random.default_rng(0).standard_normal((200, 2))
    >>> precision_recall(x, x)
    (1.0, 1.0)
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np

from ppsci_ext.errors import UserError, check_finite
from ppsci_ext.progress import progress

_BLOCK = 1024


def _features(x, name: str) -> np.ndarray:
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise UserError(f"{name} must be [N, D] features with N >= 2, got shape {x.shape}.")
    check_finite(x, name)
    return x


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)] (clipped at 0 against rounding)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def knn_radii(x: np.ndarray, k: int, bar=None) -> np.ndarray:
    """Distance of each point of ``x`` to its k-th nearest other point of ``x`` (``bar`` counts the points done)."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k < len(x):
        raise UserError(f"k must be a whole number in [1, {len(x) - 1}] (fewer than the points), got {k!r}.")
    radii = np.empty(len(x))
    for start in range(0, len(x), _BLOCK):
        d = _distances(x[start:start + _BLOCK], x)
        # column k of the sorted row: column 0 is the point itself (distance 0)
        radii[start:start + _BLOCK] = np.partition(d, k, axis=1)[:, k]
        if bar is not None:
            bar.update(len(d))
    return radii


def _inside_counts(points: np.ndarray, centers: np.ndarray, radii: np.ndarray, bar) -> np.ndarray:
    """For each point, how many balls (centers, radii) hold it."""
    counts = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), _BLOCK):
        block = points[start:start + _BLOCK]
        counts[start:start + _BLOCK] = (_distances(block, centers) <= radii[None, :]).sum(1)
        bar.update(len(block))
    return counts


def _pairs(real, fake):
    real, fake = _features(real, "the real features"), _features(fake, "the generated features")
    if real.shape[1] != fake.shape[1]:
        raise UserError(f"real and generated features differ in dimension: {real.shape[1]} and {fake.shape[1]}.")
    return real, fake


def _precision_recall(real, fake, k: int, bar) -> Tuple[float, float]:
    precision = float((_inside_counts(fake, real, knn_radii(real, k, bar), bar) > 0).mean())
    recall = float((_inside_counts(real, fake, knn_radii(fake, k, bar), bar) > 0).mean())
    return precision, recall


def _density_coverage(real, fake, k: int, bar) -> Tuple[float, float]:
    radii = knn_radii(real, k, bar)
    density = float(_inside_counts(fake, real, radii, bar).sum() / (k * len(fake)))
    nearest_fake = np.empty(len(real))
    for start in range(0, len(real), _BLOCK):
        nearest_fake[start:start + _BLOCK] = _distances(real[start:start + _BLOCK], fake).min(1)
        bar.update(len(nearest_fake[start:start + _BLOCK]))
    coverage = float((nearest_fake <= radii).mean())
    return density, coverage


def _search(total: int, what: str):
    return progress(total, what, unit="pt")


def precision_recall(real, fake, k: int = 3) -> Tuple[float, float]:
    """Improved precision and recall of ``fake`` against ``real`` features.

    Args:
        real: ``[N, D]`` features of real samples.
        fake: ``[M, D]`` features of generated samples.
        k (int): Neighbour that sets each ball's radius. Defaults to 3, the paper's.

    Returns:
        Tuple[float, float]: (precision, recall), each in [0, 1].
    """
    real, fake = _pairs(real, fake)
    with _search(2 * len(real) + 2 * len(fake), "precision/recall neighbour search") as bar:
        return _precision_recall(real, fake, k, bar)


def density_coverage(real, fake, k: int = 5) -> Tuple[float, float]:
    """Density and coverage of ``fake`` against ``real`` features (balls around the real points only).

    Args:
        real: ``[N, D]`` features of real samples.
        fake: ``[M, D]`` features of generated samples.
        k (int): Neighbour that sets each real ball's radius. Defaults to 5, the paper's.

    Returns:
        Tuple[float, float]: (density, in [0, N / k]; coverage, in [0, 1]).
    """
    real, fake = _pairs(real, fake)
    with _search(2 * len(real) + len(fake), "density/coverage neighbour search") as bar:
        return _density_coverage(real, fake, k, bar)


def prdc(real, fake, k_pr: int = 3, k_dc: int = 5) -> Dict[str, float]:
    """All four: ``precision``, ``recall`` (k = ``k_pr``), ``density``, ``coverage`` (k = ``k_dc``).

    Args:
        real: ``[N, D]`` real features (any float dtype, e.g. the float16 of cached statistics).
        fake: ``[M, D]`` generated features.
        k_pr (int): k of precision and recall. Defaults to 3.
        k_dc (int): k of density and coverage. Defaults to 5.

    Returns:
        Dict[str, float]: The four values.
    """
    real, fake = _pairs(real, fake)
    with _search(4 * len(real) + 3 * len(fake), "precision/recall/density/coverage neighbour search") as bar:
        precision, recall = _precision_recall(real, fake, k_pr, bar)
        density, coverage = _density_coverage(real, fake, k_dc, bar)
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


class PRDCMetric:
    """FunctionalMetric-compatible precision, recall, density and coverage of generated features.

    ``output_dict[key]`` holds the generated features (or points); the real side
    is ``reference`` when given, else ``label_dict[key]``.

    Args:
        reference (Optional[np.ndarray]): ``[N, D]`` real features. Defaults to None.
        key (str): Name of the features in both dicts. Defaults to "x".
        k_pr (int): k of precision and recall. Defaults to 3.
        k_dc (int): k of density and coverage. Defaults to 5.

    Examples:
        >>> import ppsci
        >>> from ppsci_ext.metric import PRDCMetric
        >>> metric = ppsci.metric.FunctionalMetric(PRDCMetric(key="x"))
    """

    def __init__(self, reference: Optional[np.ndarray] = None, key: str = "x", k_pr: int = 3, k_dc: int = 5):
        self.reference = reference
        self.key = key
        self.k_pr = k_pr
        self.k_dc = k_dc

    def __call__(self, output_dict: Dict, label_dict: Optional[Dict] = None) -> Dict[str, float]:
        real = self.reference
        if real is None:
            if not label_dict or self.key not in label_dict:
                raise UserError(f"precision/recall need real features: pass reference=... or give the validator "
                                f"real samples under the label key {self.key!r}.")
            real = label_dict[self.key]
        fake = output_dict[self.key]
        fake = fake.reshape([len(fake), -1]) if hasattr(fake, "reshape") else fake
        real = real.reshape([len(real), -1]) if hasattr(real, "reshape") else real
        return prdc(real, fake, self.k_pr, self.k_dc)

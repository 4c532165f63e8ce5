"""Metrics for the 2-D toy experiment.

- Mode coverage (VEEGAN / PacGAN protocol): a sample is high quality if it lies
  within 3 standard deviations of its nearest mode centre; a mode is covered if
  it is the nearest mode of at least one high-quality sample.
- Reverse KL (PacGAN): the KL divergence of the generated samples' nearest-mode
  histogram from the uniform one; 0 when the modes are hit evenly.
- Sliced Wasserstein distance (SWD): the mean, over random unit directions, of
  the 1-D Wasserstein-1 distance between the projected sample sets. It needs no
  modes, so it also scores the Swiss roll.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ppsci_ext.data.toy import check_toy_mode, mode_centers, mode_std
from ppsci_ext.errors import UserError, check_finite
from ppsci_ext.progress import progress


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def mode_coverage(samples, centers, std: float, num_std: float = 3.0) -> Dict[str, float]:
    """Modes covered and fraction of high-quality samples.

    Args:
        samples: Generated points, ``[N, D]`` array or tensor.
        centers: Mode centres, ``[K, D]``.
        std (float): Standard deviation of each mode.
        num_std (float): Radius, in standard deviations, of a high-quality
            sample. Defaults to 3.

    Returns:
        Dict[str, float]: ``modes`` (number covered), ``high_quality`` (fraction
            of samples in [0, 1]).

    Examples:
        >>> from ppsci_ext.metric import mode_coverage
        >>> mode_coverage([[0.0, 0.0], [5.0, 5.0]], [[0.0, 0.0], [1.0, 0.0]], std=0.1)
        {'modes': 1.0, 'high_quality': 0.5}
    """
    samples = _as_numpy(samples)
    centers = _as_numpy(centers)
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(samples)), nearest] <= num_std * std
    return {
        "modes": float(len(np.unique(nearest[good]))),
        "high_quality": float(good.mean()) if len(samples) else 0.0,
    }


def reverse_kl(samples, centers) -> float:
    """Reverse KL of the mode histogram from uniform, as PacGAN defines it for mixtures of Gaussians.

    Each sample is binned to its nearest mode centre (whatever its distance);
    the result is ``sum_k p_k log(p_k K)`` over the K modes, 0 when every mode
    gets the same share and ``log K`` when all samples fall on one mode.

    Args:
        samples: Generated points ``[N, D]``.
        centers: Mode centres ``[K, D]``.

    Returns:
        float: The divergence in nats.

    Examples:
        >>> from ppsci_ext.metric import reverse_kl
        >>> round(reverse_kl([[0.0, 0.0], [0.1, 0.0]], [[0.0, 0.0], [1.0, 0.0]]), 4)  # both on mode 0: log 2
        0.6931
    """
    samples = _as_numpy(samples)
    centers = _as_numpy(centers)
    if len(samples) == 0:
        raise UserError("reverse_kl needs at least one sample.")
    nearest = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1).argmin(axis=1)
    p = np.bincount(nearest, minlength=len(centers)) / len(samples)
    p = p[p > 0]  # 0 log 0 = 0
    return float(np.sum(p * np.log(p * len(centers))))


def sliced_wasserstein(a, b, num_projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two equally sized point sets.

    Args:
        a: Points ``[N, D]``.
        b: Points ``[N, D]``.
        num_projections (int): Number of random directions. Defaults to 256.
        seed (int): Seed of the directions, so repeated calls agree. Defaults to 0.

    Returns:
        float: The distance (0 for identical sets).
    """
    a = _as_numpy(a)
    b = _as_numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs equal shapes, got {a.shape} and {b.shape}")
    directions = np.random.default_rng(seed).standard_normal((a.shape[1], num_projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    pa = np.sort(a @ directions, axis=0)
    pb = np.sort(b @ directions, axis=0)
    return float(np.abs(pa - pb).mean())


class ToyMetric:
    """FunctionalMetric-compatible toy metric: modes, high_quality and swd.

    ``output_dict[key]`` holds generated points and ``label_dict[key]`` fresh
    real points of the same count; mode metrics are reported for the mixtures only.

    Args:
        mode (str): Toy dataset name.
        key (str): Name of the points in both dicts. Defaults to "x".

    Examples:
        >>> import ppsci
        >>> from ppsci_ext.metric import ToyMetric
        >>> metric = ppsci.metric.FunctionalMetric(ToyMetric("8gaussians"))
    """

    def __init__(self, mode: str, key: str = "x"):
        self.mode = check_toy_mode(mode)
        self.key = key

    def __call__(self, output_dict, label_dict: Optional[dict] = None) -> Dict[str, float]:
        fake = _as_numpy(output_dict[self.key])
        check_finite(fake, "the generated points")
        result = {}
        mixture = self.mode != "swissroll"
        real = label_dict is not None and self.key in label_dict
        with progress(2 * mixture + real, "toy metrics (modes, reverse KL, SWD)", unit="metric") as bar:
            if mixture:
                result.update(mode_coverage(fake, mode_centers(self.mode), mode_std(self.mode)))
                bar.update(1)
                result["reverse_kl"] = reverse_kl(fake, mode_centers(self.mode))
                bar.update(1)
            if real:
                result["swd"] = sliced_wasserstein(fake, _as_numpy(label_dict[self.key]))
                bar.update(1)
        return result

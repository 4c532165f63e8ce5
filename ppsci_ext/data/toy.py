"""The 2-D toy distributions of the WGAN-GP paper.

Each sampler follows the paper's definition (``gan_toy.py`` of the official
code): 8 Gaussians on a circle, a 5x5 grid of Gaussians, and a Swiss roll.
The arrays feed ``ppsci.data.dataset.NamedArrayDataset`` directly.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ppsci_ext.errors import UserError, check_positive

TOY_MODES = ("8gaussians", "25gaussians", "swissroll")

# (raw standard deviation, divisor) of the mixtures; the divisor rescales the data.
_MIXTURE = {"8gaussians": (0.02, 1.414), "25gaussians": (0.05, 2.828)}


def check_toy_mode(mode: str) -> str:
    """Return ``mode`` if it names a toy dataset, else raise ``UserError``."""
    if mode not in TOY_MODES:
        raise UserError(f"unknown toy data {mode!r}; choose one of {', '.join(TOY_MODES)}.")
    return mode


def mode_centers(mode: str) -> np.ndarray:
    """Centres of the Gaussian mixture, after rescaling, shape ``[K, 2]``.

    Args:
        mode (str): "8gaussians" or "25gaussians".

    Returns:
        np.ndarray: float64 array of the K mode centres.
    """
    check_toy_mode(mode)
    if mode == "8gaussians":
        s = 1.0 / np.sqrt(2.0)
        unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]
        centers = 2.0 * np.asarray(unit, dtype=np.float64)
    elif mode == "25gaussians":
        grid = np.arange(-2, 3, dtype=np.float64) * 2.0
        centers = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    else:
        raise UserError("swissroll has no discrete modes; use the distance metric (swd) for it.")
    return centers / _MIXTURE[mode][1]


def mode_std(mode: str) -> float:
    """Standard deviation of each mixture component after rescaling."""
    if mode not in _MIXTURE:
        check_toy_mode(mode)
        raise UserError("swissroll has no discrete modes; use the distance metric (swd) for it.")
    std, divisor = _MIXTURE[mode]
    return std / divisor


def _swiss_roll(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    # scikit-learn's make_swiss_roll, keeping the (x, z) plane.
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    height = 21.0 * rng.random(n)
    points = np.stack([t * np.cos(t), height, t * np.sin(t)], axis=1)
    points += noise * rng.standard_normal((n, 3))
    return points[:, [0, 2]]


def sample_toy(mode: str, n: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Draw ``n`` points of a toy distribution.

    Args:
        mode (str): One of "8gaussians", "25gaussians", "swissroll".
        n (int): Number of points.
        rng (Optional[np.random.Generator]): Source of randomness. Defaults to a
            fresh unseeded generator.

    Returns:
        np.ndarray: float32 array of shape ``[n, 2]``.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.toy import sample_toy
        >>> sample_toy("8gaussians", 4, np.random.default_rng(0)).shape
        (4, 2)
    """
    check_toy_mode(mode)
    check_positive(n, "the number of toy samples", whole=True)
    rng = np.random.default_rng() if rng is None else rng
    if mode == "swissroll":
        points = _swiss_roll(n, 0.25, rng) / 7.5
    else:
        std, divisor = _MIXTURE[mode]
        raw_centers = mode_centers(mode) * divisor
        which = rng.integers(0, len(raw_centers), size=n)
        points = (raw_centers[which] + std * rng.standard_normal((n, 2))) / divisor
    return points.astype(np.float32)


def toy_arrays(mode: str, n: int, seed: int) -> Dict[str, np.ndarray]:
    """Input arrays for a NamedArrayDataset of toy points: ``{"x": [n, 2]}``."""
    return {"x": sample_toy(mode, n, np.random.default_rng(seed))}

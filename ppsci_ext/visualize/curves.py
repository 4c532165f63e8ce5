"""Training curves: losses, Wasserstein estimate, penalty and metrics over steps."""

from __future__ import annotations

import math
from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ppsci_ext.io.atomic import atomic_write  # noqa: E402


def plot_history(path: str, history: Dict[str, List[dict]]) -> str:
    """Save one panel per logged quantity (train losses, then eval metrics) as a PNG.

    Args:
        path (str): Output PNG path.
        history (Dict[str, List[dict]]): ``{"train": [...], "eval": [...]}``, each a
            list of ``{"step": int, name: value, ...}`` rows, as kept by
            ``AdversarialSolver.history``.

    Returns:
        str: ``path``.
    """
    panels = []
    for part in ("train", "eval"):
        rows = history.get(part, [])
        names = [k for k in (rows[0] if rows else {}) if k not in ("step", "lr")]
        for name in names:
            steps = [r["step"] for r in rows if name in r]
            values = [r[name] for r in rows if name in r]
            panels.append((f"{part}: {name}", steps, values))
    cols = 3
    rows_n = max(1, math.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.0 * rows_n), dpi=100, squeeze=False)
    for ax, (title, steps, values) in zip(axes.ravel(), panels):
        ax.plot(steps, values, lw=1.2, marker="." if len(steps) < 30 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("generator iteration", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return path

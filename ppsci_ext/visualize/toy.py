"""Picture of the toy experiment: critic contour, real and generated points."""

from __future__ import annotations

from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import paddle  # noqa: E402

from ppsci_ext.io.atomic import atomic_write  # noqa: E402


@paddle.no_grad()
def critic_grid(critic, extent: float, resolution: int = 128, key: str = "x") -> np.ndarray:
    """Critic scores on a ``resolution`` x ``resolution`` grid over [-extent, extent]^2."""
    axis = np.linspace(-extent, extent, resolution, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    scores = critic({key: paddle.to_tensor(points)})["score"].numpy()
    return scores.reshape(resolution, resolution)


def plot_toy(
    path: str,
    real: np.ndarray,
    fake: np.ndarray,
    critic=None,
    title: str = "",
    extent: Optional[float] = None,
) -> str:
    """Save generated points over real points over the critic's contour as a PNG.

    Args:
        path (str): Output PNG path.
        real (np.ndarray): Real points ``[N, 2]``.
        fake (np.ndarray): Generated points ``[M, 2]``.
        critic: Optional critic Arch; when given its scores are drawn as contours.
        title (str): Figure title.
        extent (Optional[float]): Half-width of the plotted square. Defaults
            to just beyond the real data.

    Returns:
        str: ``path``.
    """
    if extent is None:
        extent = float(np.abs(real).max()) * 1.25
    fig, ax = plt.subplots(figsize=(6, 6), dpi=110)
    if critic is not None:
        was_training = critic.training
        critic.eval()
        scores = critic_grid(critic, extent)
        if was_training:
            critic.train()
        axis = np.linspace(-extent, extent, scores.shape[0])
        filled = ax.contourf(axis, axis, scores, levels=24, cmap="viridis", alpha=0.85)
        ax.contour(axis, axis, scores, levels=24, colors="k", linewidths=0.3, alpha=0.4)
        fig.colorbar(filled, ax=ax, fraction=0.046, pad=0.04, label="critic score")
    ax.scatter(real[:, 0], real[:, 1], s=14, c="#ff7f0e", alpha=0.5, label="real", linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="#ffffff", alpha=0.7, label="generated", linewidths=0)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_facecolor("#30123b")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, markerscale=3,
              facecolor="#30123b", labelcolor="w")
    ax.set_title(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return path

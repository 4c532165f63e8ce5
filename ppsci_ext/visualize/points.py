"""Pictures of the user's own points (``DATA.mode=file``), in the data's units, for any dimension D.

- D = 1: histograms of real and generated points, with the critic's score
  along the axis when a critic is given.
- D = 2: generated over real points over the critic's contour (as ``plot_toy``).
- D >= 3: a pair plot of the first ``max_dims`` dimensions: histograms on the
  diagonal, real and generated points scattered off it.

Scatter plots draw as many generated points as real ones (the first of each,
``equal_counts``), so the density of the two clouds can be compared by eye;
histograms are normalised and use every point.

The critic works in the standardised space the generator was trained in:
``to_critic`` maps points in data units to its inputs (``ToyGenerator.from_data``).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import paddle  # noqa: E402

from ppsci_ext.io.atomic import atomic_write  # noqa: E402

REAL_COLOR, FAKE_COLOR = "#ff7f0e", "#1f77b4"


def axis_limits(values: np.ndarray, margin: float = 0.12) -> Tuple[float, float]:
    """A plotting range for ``values``: their range widened by ``margin`` of it on each side."""
    lo, hi = float(np.min(values)), float(np.max(values))
    span = hi - lo
    if span <= 0:  # a constant dimension
        span = max(abs(lo), 1.0) * 0.2
    return lo - margin * span, hi + margin * span


@paddle.no_grad()
def critic_scores(critic, points: np.ndarray, to_critic: Optional[Callable] = None, key: str = "x") -> np.ndarray:
    """The critic's score ``[N]`` of points ``[N, D]`` in data units (mapped by ``to_critic`` first)."""
    was_training = critic.training
    critic.eval()
    try:
        inputs = to_critic(points) if to_critic is not None else points
        return critic({key: paddle.to_tensor(np.asarray(inputs, dtype=np.float32))})["score"].numpy().reshape(-1)
    finally:
        if was_training:
            critic.train()


def _names(names: Optional[Sequence[str]], d: int) -> List[str]:
    return list(names) if names is not None and len(names) == d else [f"x{i + 1}" for i in range(d)]


def _save(fig, path: str) -> str:
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return path


def plot_points(
    path: str,
    real: np.ndarray,
    fake: np.ndarray,
    critic=None,
    to_critic: Optional[Callable] = None,
    names: Optional[Sequence[str]] = None,
    title: str = "",
    max_dims: int = 4,
) -> str:
    """Save a PNG of real against generated points ``[N, D]`` (see the module docstring for each D).

    Args:
        path (str): Output PNG path.
        real (np.ndarray): Real points ``[N, D]`` in data units.
        fake (np.ndarray): Generated points ``[M, D]`` in data units.
        critic: Optional critic Arch (D = 1 and 2): its score is drawn.
        to_critic (Optional[Callable]): Data units -> critic inputs. Defaults to the identity.
        names (Optional[Sequence[str]]): Names of the D dimensions (axis labels). Defaults to x1, x2, ...
        title (str): Figure title.
        max_dims (int): Dimensions in the pair plot of D >= 3. Defaults to 4.

    Returns:
        str: ``path``.
    """
    real = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    fake = np.asarray(fake, dtype=np.float64).reshape(len(fake), -1)
    d = real.shape[1]
    labels = _names(names, d)
    if d == 1:
        return _plot_1d(path, real[:, 0], fake[:, 0], critic, to_critic, labels[0], title)
    if d == 2:
        return _plot_2d(path, real, fake, critic, to_critic, labels, title)
    return _pair_plot(path, real, fake, labels, title, max(1, min(int(max_dims), d)))


def equal_counts(real: np.ndarray, fake: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The first ``min(len(real), len(fake))`` points of each: equal clouds for a scatter plot."""
    m = min(len(real), len(fake))
    return real[:m], fake[:m]


def _histograms(ax, real: np.ndarray, fake: np.ndarray, limits: Tuple[float, float]) -> None:
    bins = np.linspace(limits[0], limits[1], 41)
    ax.hist(real, bins=bins, density=True, color=REAL_COLOR, alpha=0.55, label="real")
    ax.hist(np.clip(fake, *limits), bins=bins, density=True, histtype="step", color=FAKE_COLOR, linewidth=1.6,
            label="generated")
    ax.set_xlim(*limits)


def _plot_1d(path, real, fake, critic, to_critic, label, title) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    limits = axis_limits(real)
    _histograms(ax, real, fake, limits)
    ax.set_xlabel(label)
    ax.set_ylabel("density")
    handles, texts = ax.get_legend_handles_labels()
    if critic is not None:
        grid = np.linspace(limits[0], limits[1], 256)
        twin = ax.twinx()
        (line,) = twin.plot(grid, critic_scores(critic, grid[:, None], to_critic), color="k", linewidth=1.0,
                            label="critic score")
        twin.set_ylabel("critic score")
        handles, texts = handles + [line], texts + ["critic score"]
    ax.legend(handles, texts, loc="upper right")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _plot_2d(path, real, fake, critic, to_critic, labels, title) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=110)
    (x0, x1), (y0, y1) = axis_limits(real[:, 0]), axis_limits(real[:, 1])
    if critic is not None:
        xs, ys = np.linspace(x0, x1, 128), np.linspace(y0, y1, 128)
        xx, yy = np.meshgrid(xs, ys)
        scores = critic_scores(critic, np.stack([xx.ravel(), yy.ravel()], axis=1), to_critic).reshape(xx.shape)
        filled = ax.contourf(xs, ys, scores, levels=24, cmap="viridis", alpha=0.85)
        ax.contour(xs, ys, scores, levels=24, colors="k", linewidths=0.3, alpha=0.4)
        fig.colorbar(filled, ax=ax, fraction=0.046, pad=0.04, label="critic score")
        ax.set_facecolor("#30123b")
        fake_color, legend = "#ffffff", dict(facecolor="#30123b", labelcolor="w")
    else:
        fake_color, legend = FAKE_COLOR, {}
    real, fake = equal_counts(real, fake)
    ax.scatter(real[:, 0], real[:, 1], s=14, c=REAL_COLOR, alpha=0.5, label="real", linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c=fake_color, alpha=0.7, label="generated", linewidths=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, markerscale=3, **legend)
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _pair_plot(path, real, fake, labels, title, k) -> str:
    size = 2.4 if k > 1 else 5.0
    fig, axes = plt.subplots(k, k, figsize=(size * k + 0.5, size * k + 0.8), dpi=100, squeeze=False)
    limits = [axis_limits(real[:, i]) for i in range(k)]
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if i == j:
                _histograms(ax, real[:, i], fake[:, i], limits[i])
                ax.set_yticks([])
            else:
                shown_real, shown_fake = equal_counts(real, fake)
                ax.scatter(shown_real[:, j], shown_real[:, i], s=4, c=REAL_COLOR, alpha=0.35, linewidths=0,
                           label="real")
                ax.scatter(shown_fake[:, j], shown_fake[:, i], s=2, c=FAKE_COLOR, alpha=0.5, linewidths=0, label="generated")
                ax.set_xlim(*limits[j])
                ax.set_ylim(*limits[i])
            if i == k - 1:
                ax.set_xlabel(labels[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i != j:
                ax.set_ylabel(labels[i])
            elif j == 0:
                ax.set_ylabel(labels[i] + " (histogram)" if k > 1 else "density")
            elif i != j:
                ax.set_yticklabels([])
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=REAL_COLOR, label="real"),
               plt.Line2D([], [], marker="o", linestyle="", color=FAKE_COLOR, label="generated")]
    fig.legend(handles=handles, loc="lower center", ncol=2)
    shown = f" (first {k} of {real.shape[1]} dimensions)" if k < real.shape[1] else ""
    fig.suptitle(title + shown)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return _save(fig, path)

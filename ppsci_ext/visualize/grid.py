"""Sample grids: a rows x cols mosaic of images written as one PNG, and latent interpolation inputs."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ppsci_ext.io.atomic import atomic_write


def image_grid(images, rows: int = 10, cols: int = 10, padding: int = 1, pad_value: float = 1.0,
               value_range=(0.0, 1.0)) -> np.ndarray:
    """Tile images into one uint8 mosaic, row by row.

    Args:
        images: ``[N, C, H, W]`` (C = 1 or 3) or ``[N, H, W]`` array or tensor, N <= rows * cols.
        rows (int): Rows of the grid. Defaults to 10.
        cols (int): Columns of the grid. Defaults to 10.
        padding (int): Pixels between and around the images. Defaults to 1.
        pad_value (float): Value of the padding, in ``value_range``. Defaults to 1.0 (white
            lines, which separate the mostly black digits without drawing the eye).
        value_range (Tuple[float, float]): Range of the image values. Defaults to (0, 1).

    Returns:
        np.ndarray: ``[H', W']`` (grayscale) or ``[H', W', 3]`` uint8.
    """
    x = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or len(x) > rows * cols:
        raise ValueError(f"image_grid needs [N, 1 or 3, H, W] with N <= {rows * cols}, got shape {x.shape}")
    low, high = value_range
    n, c, h, w = x.shape
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, np.float64)
    for i in range(n):
        r, q = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top : top + h, left : left + w] = x[i]
    grid = np.clip((grid - low) / (high - low), 0.0, 1.0)
    grid = np.round(grid * 255.0).astype(np.uint8)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(path: str, images, rows: int = 10, cols: int = 10, padding: int = 1, scale: int = 2,
                    value_range=(0.0, 1.0), row_labels: Optional[Sequence[str]] = None) -> str:
    """Write a grid of images as a PNG (grayscale for one channel).

    Args:
        path (str): Output PNG path.
        images: See ``image_grid``.
        rows (int): Rows. Defaults to 10.
        cols (int): Columns. Defaults to 10.
        padding (int): Pixels between images before scaling. Defaults to 1.
        scale (int): Nearest-neighbour upscaling, so 28x28 digits are not tiny on screen. Defaults to 2.
        value_range (Tuple[float, float]): Range of the image values. Defaults to (0, 1).
        row_labels (Optional[Sequence[str]]): One name per row (e.g. the class of an AC-GAN row),
            written in a white margin left of the row. Defaults to None (no margin).

    Returns:
        str: ``path``.
    """
    from PIL import Image, ImageDraw, ImageFont  # Pillow comes with matplotlib, a dependency

    grid = image_grid(images, rows, cols, padding, value_range=value_range)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    picture = Image.fromarray(grid)
    if row_labels is not None:
        if len(row_labels) != rows:
            raise ValueError(f"row_labels has {len(row_labels)} names for {rows} rows")
        font = ImageFont.load_default()
        measure = ImageDraw.Draw(picture)
        width = max(int(measure.textlength(str(t), font=font)) for t in row_labels) + 8
        labelled = Image.new(picture.mode, (picture.width + width, picture.height), 255 if grid.ndim == 2 else
                             (255, 255, 255))
        labelled.paste(picture, (width, 0))
        draw = ImageDraw.Draw(labelled)
        step = picture.height / rows
        for i, text in enumerate(row_labels):
            draw.text((4, int((i + 0.5) * step) - 5), str(text), fill=0 if grid.ndim == 2 else (0, 0, 0), font=font)
        picture = labelled
    atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))  # a viewer never sees half a PNG
    return path


def slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between two noise vectors (White 2016), for each fraction in ``t``.

    Gaussian noise vectors of high dimension lie near a sphere; the straight
    line between two of them passes through points of unusually small norm,
    which the generator rarely saw. Slerp stays at the norms it was trained on.

    Args:
        z0, z1: ``[D]`` noise vectors.
        t: ``[S]`` fractions in [0, 1].

    Returns:
        np.ndarray: ``[S, D]``; row 0 is ``z0`` and row ``S - 1`` is ``z1`` when ``t`` runs from 0 to 1.
    """
    z0, z1, t = np.asarray(z0, np.float64), np.asarray(z1, np.float64), np.asarray(t, np.float64)[:, None]
    cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel to rounding: the straight line is the same path
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def interpolation_noise(noise_dim: int, rows: int, steps: int, seed: int) -> np.ndarray:
    """``[rows * steps, noise_dim]`` float32 noise: each row slerps between two fixed random vectors.

    Args:
        noise_dim (int): Noise dimension of the generator.
        rows (int): Pairs of end points (grid rows).
        steps (int): Points per row, end points included (grid columns).
        seed (int): Seed of the end points, so the grid is the same for every checkpoint.
    """
    ends = np.random.default_rng(seed).standard_normal((rows, 2, noise_dim))
    t = np.linspace(0.0, 1.0, steps)
    return np.concatenate([slerp(a, b, t) for a, b in ends]).astype(np.float32)

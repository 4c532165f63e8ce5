"""Sample grids: a rows x cols mosaic of images written as one PNG."""

from __future__ import annotations

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
                    value_range=(0.0, 1.0)) -> str:
    """Write a grid of images as a PNG (grayscale for one channel).

    Args:
        path (str): Output PNG path.
        images: See ``image_grid``.
        rows (int): Rows. Defaults to 10.
        cols (int): Columns. Defaults to 10.
        padding (int): Pixels between images before scaling. Defaults to 1.
        scale (int): Nearest-neighbour upscaling, so 28x28 digits are not tiny on screen. Defaults to 2.
        value_range (Tuple[float, float]): Range of the image values. Defaults to (0, 1).

    Returns:
        str: ``path``.
    """
    from PIL import Image  # Pillow comes with matplotlib, a dependency

    grid = image_grid(images, rows, cols, padding, value_range=value_range)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))  # a viewer never sees half a PNG
    return path

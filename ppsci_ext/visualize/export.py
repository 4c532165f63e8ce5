"""Generated colour images written for external scoring (PNG files or one .npz)."""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.io.atomic import atomic_savez, atomic_write
from ppsci_ext.progress import progress
from ppsci_ext.data.images import to_uint8_images


def export_samples(folder: str, images: np.ndarray, fmt: str = "png", labels: Optional[np.ndarray] = None) -> str:
    """Write generated images for external scoring: PNG files or one ``samples.npz``.

    The ``.npz`` holds ``images`` (uint8 ``[N, H, W, 3]``, the layout
    ``python -m ppsci_ext.cli.score`` and TTUR / torch-fidelity read) and,
    for a conditional generator, ``labels``; PNG files are named
    ``000000.png`` (or ``000000_<label>.png``).

    Args:
        folder (str): Output folder (created).
        images (np.ndarray): ``[N, 3, H, W]`` floats in [-1, 1].
        fmt (str): "png" or "npz". Defaults to "png".
        labels (Optional[np.ndarray]): Class of each image. Defaults to None.

    Returns:
        str: The folder (PNG) or the ``.npz`` path written.
    """
    if fmt not in ("png", "npz"):
        raise UserError(f"export format {fmt!r} is not supported; use png or npz.")
    os.makedirs(folder, exist_ok=True)
    pixels = to_uint8_images(images, value_range=(-1.0, 1.0))  # the Inception metrics' quantisation
    if fmt == "npz":
        path = os.path.join(folder, "samples.npz")
        arrays = {"images": pixels} if labels is None else {"images": pixels, "labels": np.asarray(labels)}
        atomic_savez(path, **arrays)
        return path
    from PIL import Image

    with progress(len(pixels), f"exporting samples to {folder}") as bar:
        for i, img in enumerate(pixels):
            name = f"{i:06d}.png" if labels is None else f"{i:06d}_{int(labels[i])}.png"
            atomic_write(os.path.join(folder, name), lambda tmp: Image.fromarray(img).save(tmp, format="PNG"))
            bar.update()
    return folder

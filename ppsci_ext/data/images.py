"""Image arrays: layouts and quantisation to uint8, as the metrics and pictures need them."""

from __future__ import annotations

import os
from typing import List, Optional, Tuple, Union

import numpy as np
import paddle

from ppsci_ext.errors import UserError, check_finite

Images = Union[np.ndarray, paddle.Tensor]


def to_uint8_images(images: Images, value_range: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Images as a ``[N, H, W, 3]`` uint8 array.

    The channel axis is axis 1 when it has 1 or 3 entries, else the last one;
    ``[N, H, W]`` and single-channel images are repeated to 3 channels (MNIST).
    Float images need ``value_range`` and are quantised as the WGAN-GP code
    does before scoring: ``floor((x - low) / (high - low) * 255.99)``, clipped.

    Args:
        images: Array or tensor of N images.
        value_range (Optional[Tuple[float, float]]): Range of float images, e.g.
            (-1, 1) for a tanh generator. Not used for uint8 images.

    Returns:
        np.ndarray: ``[N, H, W, 3]`` uint8.
    """
    x = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]  # [N, H, W] grayscale
    elif x.ndim != 4 or not ({x.shape[1], x.shape[-1]} & {1, 3}):
        raise UserError(f"expected images [N, H, W, 3], [N, 3, H, W] or [N, H, W], got shape {x.shape}.")
    elif x.shape[1] in (1, 3):
        x = x.transpose(0, 2, 3, 1)
    if x.dtype != np.uint8:
        if value_range is None:
            raise UserError(
                f"images are {x.dtype}, not uint8; pass value_range=(low, high) (e.g. (-1, 1) for a tanh "
                "generator) or convert them to uint8 in [0, 255]."
            )
        x = quantize(x, value_range)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.ascontiguousarray(x)


def quantize(x: np.ndarray, value_range: Tuple[float, float]) -> np.ndarray:
    """Float images in ``value_range`` -> uint8 of the same shape: ``floor((x - low) / (high - low) * 255.99)``, clipped.

    The quantisation the WGAN-GP code applies before scoring; every layout is kept.
    """
    low, high = float(value_range[0]), float(value_range[1])
    if not high > low:
        raise UserError(f"value_range must be (low, high) with high > low, got {value_range!r}.")
    check_finite(x, "the images")
    return np.clip(np.floor((x.astype(np.float64) - low) / (high - low) * 255.99), 0, 255).astype(np.uint8)


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


def read_image_folder(folder: str) -> np.ndarray:
    """All images of a folder (not recursive), in name order, as ``[N, H, W, 3]`` uint8.

    Each image is read as it looks, by the rules of ``ppsci_ext.data.image_sets``
    (``open_image``: only regular files, ``MAX_PIXELS``, EXIF orientation,
    16-bit scaled, transparency over white), then repeated to RGB when gray.
    Any image that cannot be read stops the read: scores need every image.

    Args:
        folder (str): Folder of equally sized images.

    Returns:
        np.ndarray: The images.
    """
    try:
        entries = sorted(os.listdir(folder))
    except OSError as e:
        raise UserError(f"cannot list the folder {folder!r} ({e.strerror or e}).") from None
    names = [n for n in entries if n.lower().endswith(IMAGE_EXTENSIONS)]
    others = [n for n in entries if n not in names]
    if not names:
        found = f"; it holds {len(others)} other entries, e.g. {others[0]!r}" if others else "; it is empty"
        raise UserError(f"{folder!r} has no {'/'.join(IMAGE_EXTENSIONS)} images{found}. Give a folder of images "
                        "(or an .npz of uint8 images).")
    return read_image_files(folder, names)


def read_image_files(folder: str, names: List[str]) -> np.ndarray:
    """The images ``names`` (paths relative to ``folder``) as one uint8 RGB array; every one must be readable
    and of the first one's size (one message naming the file otherwise)."""
    from ppsci_ext.data.image_sets import open_image, why_unreadable

    images = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            images.append(np.asarray(open_image(path).convert("RGB")))
        except Exception as e:  # Pillow raises OSError, ValueError, SyntaxError, ...; a FIFO is NotRegularFile
            raise UserError(f"cannot read image {path!r} ({why_unreadable(e)}); remove or replace it.") from None
        if images[-1].shape != images[0].shape:
            raise UserError(
                f"{names[0]} is {images[0].shape[1]}x{images[0].shape[0]} but {name} is "
                f"{images[-1].shape[1]}x{images[-1].shape[0]} (in {folder!r}); score images of one size."
            )
    return np.stack(images)

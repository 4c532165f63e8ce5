"""Reader for CIFAR-10 in its python format -> arrays for ppsci's ``NamedArrayDataset``.

Two layouts of the same files are read:

- the archive ``cifar-10-python.tar.gz``: its members
  ``cifar-10-batches-py/data_batch_1`` .. ``data_batch_5`` and ``test_batch``
  are read in memory, by name (the archive is never extracted, and no path
  stored in it is used);
- the extracted folder ``cifar-10-batches-py/`` (or the folder that holds it).

Each batch file is a pickle of a dict with ``data`` (uint8 ``[N, 3072]``, rows
of one 32x32 image in channel-major order: 1024 red, 1024 green, 1024 blue
values) and ``labels`` (N ints in 0..9). The pickles are read with the
restricted unpickler of ``ppsci_ext.io.safe_pickle`` (numpy arrays and
builtins only). The image count comes from the files.
"""

from __future__ import annotations

import io
import os
import tarfile
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ppsci_ext.io import safe_pickle
from ppsci_ext.errors import UserError, as_user_error

NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FOLDER = "cifar-10-batches-py"
SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
DOWNLOAD_HINT = ("download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and give its path "
                 "(or that of the extracted cifar-10-batches-py folder)")


def safe_load_batch(raw: bytes, source: str):
    """Unpickle a CIFAR-10 batch file with ``safe_pickle``'s restricted unpickler."""
    with as_user_error(f"{source} is not a readable pickle ({{error}}); the file is damaged. {DOWNLOAD_HINT}."):
        return safe_pickle._DataUnpickler(io.BytesIO(raw), source).load()


def _field(batch: dict, name: str, source: str):
    # Python 2 wrote str keys; read with latin-1 they are str, files written by Python 3 have bytes keys.
    for key in (name, name.encode()):
        if key in batch:
            return batch[key]
    raise UserError(f"{source} has no {name!r} entry (keys: {sorted(map(str, batch))}); it is not a CIFAR-10 "
                    f"batch file. {DOWNLOAD_HINT}.")


def parse_batch(raw: bytes, source: str) -> Tuple[np.ndarray, np.ndarray]:
    """Images and labels of one pickled CIFAR-10 batch.

    Args:
        raw (bytes): Content of a batch file (e.g. ``data_batch_1``).
        source (str): Name used in error messages.

    Returns:
        Tuple[np.ndarray, np.ndarray]: uint8 images ``[N, 3, 32, 32]`` and int64 labels ``[N]``.

    Raises:
        UserError: If the pickle names anything but numpy arrays and builtins, or its
            content does not have CIFAR-10's shapes, type or label range.
    """
    batch = safe_load_batch(raw, source)
    if not isinstance(batch, dict):
        raise UserError(f"{source} holds a {type(batch).__name__}, not a CIFAR-10 batch dict. {DOWNLOAD_HINT}.")
    data = np.asarray(_field(batch, "data", source))
    labels = _field(batch, "labels", source)
    size = int(np.prod(IMAGE_SHAPE))
    if data.ndim != 2 or data.shape[1] != size or data.dtype != np.uint8:
        raise UserError(f"{source}: 'data' is {data.dtype} with shape {list(data.shape)}, expected uint8 "
                        f"[N, {size}] (32x32 RGB images). The file is damaged or not CIFAR-10.")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{source}: 'labels' is not a list of integers.") from None
    if labels.shape != (len(data),):
        raise UserError(f"{source}: {labels.size} labels for {len(data)} images; the file is damaged.")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise UserError(f"{source}: labels range over {labels.min()}..{labels.max()}, outside 0..{NUM_CLASSES - 1}; "
                        "the file is damaged or not CIFAR-10.")
    return data.reshape((-1,) + IMAGE_SHAPE), labels


def _read_archive(path: str, members: Sequence[str]) -> Dict[str, bytes]:
    """Bytes of the named members of a tar archive, read in memory."""
    wanted = {f"{FOLDER}/{name}": name for name in members}
    found: Dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                name = wanted.get(info.name.lstrip("./"))
                if name is None:
                    continue
                if not info.isfile():
                    raise UserError(f"{path}: member {info.name} is not a regular file; the archive is not CIFAR-10.")
                found[name] = tar.extractfile(info).read()
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:  # gzip/zlib errors surface as these
        reason = (str(e).strip().splitlines() or [""])[0].rstrip(":")  # tarfile lists every method it tried
        raise UserError(f"{path} is not a readable tar.gz archive ({type(e).__name__}: {reason}); the download is "
                        f"incomplete or damaged. {DOWNLOAD_HINT}.") from None
    missing = [f"{FOLDER}/{name}" for name in members if name not in found]
    if missing:
        raise UserError(f"{path} has no member {', '.join(missing)}; it is not cifar-10-python.tar.gz. "
                        f"{DOWNLOAD_HINT}.")
    return found


def _read_folder(path: str, members: Sequence[str]) -> Dict[str, bytes]:
    folder = os.path.join(path, FOLDER) if os.path.isdir(os.path.join(path, FOLDER)) else path
    found = {}
    for name in members:
        file = os.path.join(folder, name)
        if not os.path.isfile(file):
            raise UserError(f"{file} does not exist; {path} is not an extracted cifar-10-batches-py folder. "
                            f"{DOWNLOAD_HINT}.")
        with open(file, "rb") as f:
            found[name] = f.read()
    return found


def read_cifar10(path: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """Read one split of CIFAR-10 from the archive or the extracted folder.

    Args:
        path (str): ``cifar-10-python.tar.gz``, the ``cifar-10-batches-py`` folder or its parent.
        split (str): "train" (``data_batch_1..5``) or "test" (``test_batch``). Defaults to "train".

    Returns:
        Tuple[np.ndarray, np.ndarray]: uint8 images ``[N, 3, 32, 32]`` and int64 labels ``[N]``;
            N = 50,000 (train) or 10,000 (test) for the real files.

    Raises:
        UserError: Missing path, unreadable archive, missing member, tampered pickle,
            wrong shapes or labels out of range.

    Examples:
        >>> from ppsci_ext.data import read_cifar10
        >>> images, labels = read_cifar10("cifar-10-python.tar.gz")  # doctest: +SKIP
        >>> images.shape, labels.dtype  # doctest: +SKIP
        ((50000, 3, 32, 32), dtype('int64'))
    """
    if split not in SPLITS:
        raise UserError(f"unknown CIFAR-10 split {split!r}; use 'train' or 'test'.")
    if not path:
        raise UserError(f"no CIFAR-10 path given; {DOWNLOAD_HINT}.")
    members = SPLITS[split]
    if os.path.isdir(path):
        raw = _read_folder(path, members)
    elif os.path.isfile(path):
        raw = _read_archive(path, members)
    else:
        raise UserError(f"CIFAR-10 data {path} does not exist; {DOWNLOAD_HINT}.")
    parts = [parse_batch(raw[name], f"{path}:{name}") for name in members]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if not len(images):
        raise UserError(f"{path} holds no {split} images.")
    return images, labels


def dequantize(images: np.ndarray, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """uint8 images -> float32 in [-1, 1) with the paper's dequantisation noise.

    As the official code: ``2 * (v / 256 - 0.5) + u`` with ``u ~ U[0, 1/128)``,
    so each of the 256 levels is spread over its own interval of width 1/128.

    Args:
        images (np.ndarray): uint8 images, any shape.
        rng (Optional[np.random.Generator]): Noise source. Defaults to NumPy's
            global RNG (seeded and checkpointed by the solver).

    Returns:
        np.ndarray: float32 array of the same shape.
    """
    noise = rng.random(images.shape, dtype=np.float32) if rng is not None else \
        np.random.random_sample(images.shape).astype(np.float32)
    return (images.astype(np.float32) / 128.0 - 1.0) + noise / 128.0


class DequantizedImages:
    """Array-like view of uint8 images that returns fresh dequantised floats on each indexing.

    The official code draws new dequantisation noise for every batch; passing
    this object as a ``NamedArrayDataset`` input does the same (the ppsci data
    loader indexes it with a whole batch of indices at once), while memory
    holds only the uint8 images.

    Args:
        images (np.ndarray): uint8 images ``[N, C, H, W]``, or ``[N, H, W, C]`` with ``channels_last``.
        channels_last (bool): The images are stored ``[N, H, W, C]``; each batch is returned
            ``[B, C, H, W]`` (transposed per batch, so memory holds only one copy). Defaults to False.
    """

    def __init__(self, images: np.ndarray, channels_last: bool = False):
        self.images = images
        self.channels_last = channels_last
        self.shape = (images.shape[0], images.shape[3], images.shape[1], images.shape[2]) if channels_last \
            else images.shape
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> np.ndarray:
        batch = self.images[index]
        if self.channels_last:
            batch = np.moveaxis(batch, -1, -3)
        return dequantize(batch)


def cifar10_arrays(path: str, conditional: bool = False) -> Tuple[Dict[str, object], Dict[str, np.ndarray]]:
    """Training inputs and labels for ``ppsci_ext.solver.builders.real_data_constraint``.

    Args:
        path (str): ``DATA.data_path``.
        conditional (bool): Also return the class labels under ``"y"`` (AC-GAN).

    Returns:
        Tuple[Dict[str, object], Dict[str, np.ndarray]]: ``{"img": DequantizedImages}``
            and ``{"y": int64 labels}`` (empty when not conditional).
    """
    images, labels = read_cifar10(path, "train")
    return {"img": DequantizedImages(images)}, ({"y": labels} if conditional else {})

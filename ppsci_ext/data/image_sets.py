"""A user's own image data set -> uint8 ``[N, R, R, C]`` at one resolution, with labels when it has classes.

Three sources are read (``read_image_set``):

- a **folder of images** (PNG, JPEG, BMP, WebP, through Pillow), searched
  recursively in path order; hidden files and folders are left out. When every
  image lies inside a first-level sub-folder, those sub-folders are the
  classes (their names, sorted, are the class names), as torchvision's
  ``ImageFolder`` reads them; an image directly in the folder makes the whole
  set unlabelled;
- an **``.npz`` or ``.npy``** of uint8 images ``[N, H, W]`` or ``[N, H, W, C]``
  (C = 1 or 3), read without pickle. An ``.npz`` holds the images as its only
  array or under ``images`` / ``x``, and optional labels under ``labels`` / ``y``
  and class names under ``class_names``;
- **MNIST-style idx files**: an ``*-images-idx3-ubyte[.gz]`` file (labels from the
  ``*-labels-idx1-ubyte[.gz]`` beside it, when there), or a folder holding
  ``train-images-idx3-ubyte[.gz]``.

Every image is centre-cropped to its largest square and resized to the
resolution with Pillow's bicubic filter (antialiased when shrinking: Pillow
widens the kernel by the scale factor). Grayscale stays one channel and colour
three, unless ``channels`` forces one of them; a folder that mixes the two is
refused, naming an image of each kind. Alpha is dropped.

Unreadable or truncated images in a folder are **skipped and counted** by
default (``bad_images="skip"``): a scraped folder of 100,000 files often holds
a few broken ones, and stopping would cost the user a whole decode for each
file found. The count and the first names are reported, and kept in the cache
and in ``metrics.json``. ``bad_images="stop"`` stops at the first one instead.

The decoded array is cached (``cached_image_set``) under a digest of the
source's bytes and the settings, so a second run reads one ``.npz`` instead of
decoding again. Memory: the images are held once as uint8, ``N * R * R * C``
bytes: 100,000 RGB images take 1.23 GB at 64x64 and 307 MB at 32x32 (see
``benchmarks/image_folder.py`` for the measured peak).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.progress import progress

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
ARRAY_SUFFIXES = (".npz", ".npy")
RESOLUTIONS = (32, 64)
BAD_IMAGES = ("skip", "stop")
FILTER = "bicubic"
CACHE_VERSION = 1  # bump when decoding changes, so older caches are remade
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
_SHOWN = 5  # names shown in a message


@dataclasses.dataclass
class ImageSet:
    """Decoded images of one source.

    Attributes:
        images (np.ndarray): uint8 ``[N, R, R, C]``, C = 1 or 3.
        labels (Optional[np.ndarray]): int64 ``[N]`` class indices (0..K-1), or None.
        class_names (Tuple[str, ...]): Name of each class (empty without labels).
        skipped (List[str]): Files that could not be read and were left out, with the reason.
        digest (str): SHA-256 of the source's bytes (hex).
        source (str): The path read.
    """

    images: np.ndarray
    labels: Optional[np.ndarray]
    class_names: Tuple[str, ...]
    skipped: List[str]
    digest: str
    source: str

    @property
    def channels(self) -> int:
        return int(self.images.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.labels is not None else 0

    def describe(self) -> str:
        """``60000 images 32x32x1, 10 classes`` (and the skipped count)."""
        n, r, _, c = self.images.shape
        text = f"{n} images {r}x{r}x{c}"
        text += f", {self.num_classes} classes" if self.num_classes else ", no labels"
        return text + (f", {len(self.skipped)} unreadable files skipped" if self.skipped else "")


def check_options(resolution: int, channels: Optional[int], bad_images: str) -> None:
    if resolution not in RESOLUTIONS:
        raise UserError(f"resolution {resolution!r} is not supported; use one of {RESOLUTIONS}.")
    if channels not in (None, 1, 3):
        raise UserError(f"channels {channels!r} must be None (as found), 1 (grayscale) or 3 (RGB).")
    if bad_images not in BAD_IMAGES:
        raise UserError(f"bad_images {bad_images!r} must be one of {BAD_IMAGES}.")


def read_image_set(path: str, resolution: int, channels: Optional[int] = None,
                   bad_images: str = "skip") -> ImageSet:
    """Read a folder, ``.npz`` / ``.npy`` or idx file of images (see the module docstring).

    Args:
        path (str): The source.
        resolution (int): Side of the square images returned (32 or 64).
        channels (Optional[int]): None keeps what is found; 1 or 3 converts every image.
        bad_images (str): "skip" (count and leave out unreadable images) or "stop".

    Returns:
        ImageSet: The images, labels and provenance.

    Examples:
        >>> from ppsci_ext.data import read_image_set
        >>> data = read_image_set("my_pngs/", 32)  # doctest: +SKIP
        >>> data.images.shape, data.class_names  # doctest: +SKIP
        ((1200, 32, 32, 3), ('cats', 'dogs'))
    """
    check_options(resolution, channels, bad_images)
    return _read_source(path, resolution, channels, bad_images)


def _read_source(path: str, resolution: int, channels: Optional[int], bad_images: str,
                 digest: Optional[str] = None, files: Optional[List[str]] = None,
                 classes: Optional[List[str]] = None) -> ImageSet:
    """``read_image_set`` given what the cache already computed: the digest (and a folder's listing)."""
    if not path:
        raise UserError("no data path given; give a folder of images, an .npz / .npy of uint8 images or an idx file.")
    if os.path.isdir(path):
        idx = _idx_in_folder(path)
        if idx:
            return _read_idx(idx, resolution, channels, digest)
        return _read_folder(path, resolution, channels, bad_images, files, classes, digest)
    if not os.path.isfile(path):
        raise UserError(f"{path} does not exist; give a folder of images, an .npz / .npy of uint8 images or an "
                        "idx file.")
    name = path.lower()
    if name.endswith(ARRAY_SUFFIXES):
        return _read_arrays(path, resolution, channels, digest)
    if "idx3-ubyte" in os.path.basename(name) or _has_idx_header(path):
        return _read_idx(path, resolution, channels, digest)
    if name.endswith(IMAGE_SUFFIXES):
        raise UserError(f"{path} is a single image; give the folder that holds the images.")
    raise UserError(f"{path} is neither a folder of images, an .npz / .npy of uint8 images nor an idx file.")


# ------------------------------------------------------------------ pixels
def _channels_of(mode: str) -> int:
    return 1 if mode in _GRAY_MODES else 3


def fit_square(im, resolution: int, channels: int):
    """A Pillow image centre-cropped to its largest square, resized (bicubic) and converted to ``channels``."""
    from PIL import Image

    im = im.convert("L" if channels == 1 else "RGB")
    w, h = im.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    if w != h:
        im = im.crop(box)  # cropped first: a resize with box= would blend in pixels outside it
    if side != resolution:
        im = im.resize((resolution, resolution), Image.BICUBIC)
    return np.asarray(im).reshape(resolution, resolution, channels)


def _fit_arrays(images: np.ndarray, resolution: int, channels: Optional[int], source: str) -> np.ndarray:
    """uint8 ``[N, H, W(, C)]`` -> ``[N, R, R, C]``: crop, resize and channel conversion as for files."""
    from PIL import Image

    if images.ndim == 3:
        images = images[..., None]
    found = images.shape[-1]
    want = channels or found
    n, h, w = images.shape[:3]
    if h == w == resolution and want == found:
        return np.ascontiguousarray(images)
    out = np.empty((n, resolution, resolution, want), np.uint8)
    with progress(n, f"resizing {source} to {resolution}x{resolution}") as bar:
        for i in range(n):
            im = Image.fromarray(images[i, ..., 0] if found == 1 else images[i])
            out[i] = fit_square(im, resolution, want)
            bar.update(1)
    return out


def _check_image_array(images: np.ndarray, source: str) -> np.ndarray:
    if images.dtype != np.uint8:
        raise UserError(f"{source} holds {images.dtype} images; give uint8 values 0..255 (e.g. "
                        "np.clip(x * 255, 0, 255).astype(np.uint8) for floats in [0, 1]).")
    if images.ndim == 4 and images.shape[-1] not in (1, 3):
        hint = " (it looks like [N, C, H, W]: transpose it to [N, H, W, C])" if images.shape[1] in (1, 3) else ""
        drop = " (drop the alpha channel)" if images.shape[-1] == 4 else ""
        raise UserError(f"{source} holds images of shape {list(images.shape)} with {images.shape[-1]} channels; "
                        f"expected [N, H, W] or [N, H, W, C] with C = 1 or 3{hint}{drop}.")
    if images.ndim not in (3, 4):
        raise UserError(f"{source} holds an array of shape {list(images.shape)}; expected uint8 images "
                        "[N, H, W] or [N, H, W, C].")
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise UserError(f"{source} holds no images (shape {list(images.shape)}).")
    return images


def _labels(values, n: int, names: Optional[Sequence[str]], source: str) -> Tuple[np.ndarray, Tuple[str, ...]]:
    """Any integer labels -> indices 0..K-1 in sorted order, and a name per class."""
    values = np.asarray(values)
    if values.dtype.kind not in "iu" or values.shape != (n,):
        raise UserError(f"{source}: the labels are {values.dtype} of shape {list(values.shape)}; expected {n} "
                        "integers, one per image.")
    found, index = np.unique(values, return_inverse=True)
    if names is None:
        return index.astype(np.int64), tuple(str(v) for v in found)
    names = tuple(str(s) for s in names)
    if found.min() < 0 or found.max() >= len(names):
        raise UserError(f"{source}: labels range over {found.min()}..{found.max()} but {len(names)} class names "
                        "are given; give a name for every label 0..K-1.")
    return values.astype(np.int64), names


# ------------------------------------------------------------------- arrays
def _file_digest(path: str) -> str:
    from ppsci_ext.io.download import sha256_of

    return sha256_of(path)


def _read_arrays(path: str, resolution: int, channels: Optional[int], digest: Optional[str] = None) -> ImageSet:
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:  # an object array: reading it would run pickle
        if "allow_pickle" in str(e) or "pickle" in str(e).lower():
            raise UserError(f"{path} holds Python objects (a pickled array), which are not read because loading "
                            "them could run code; save plain uint8 arrays with np.save / np.savez.") from None
        raise UserError(f"{path} is not a readable .npy / .npz file ({e}); write it again.") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is not a readable .npy / .npz file ({type(e).__name__}: {e}); it is truncated or "
                        "damaged, write it again.") from None
    labels = names = None
    try:
        if isinstance(loaded, np.ndarray):
            images = loaded
        else:
            with loaded:
                keys = list(loaded.files)
                key = next((k for k in ("images", "x") if k in keys), keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise UserError(f"{path} holds the arrays {keys}; name the images `images` (and the labels "
                                    "`labels`), or save the images alone.")
                images = loaded[key]
                label_key = next((k for k in ("labels", "y") if k in keys and k != key), None)
                labels = loaded[label_key] if label_key else None
                names = loaded["class_names"].tolist() if "class_names" in keys else None
    except ValueError as e:
        raise UserError(f"{path} holds Python objects (a pickled array), which are not read because loading them "
                        f"could run code ({e}); save plain arrays.") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is truncated or damaged ({type(e).__name__}: {e}); write it again.") from None
    images = _check_image_array(images, path)
    label_index, class_names = (None, ())
    if labels is not None:
        label_index, class_names = _labels(labels, len(images), names, path)
    return ImageSet(_fit_arrays(images, resolution, channels, path), label_index, class_names, [],
                    digest or _file_digest(path), path)


def _has_idx_header(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head[:2] == b"\x1f\x8b" or (len(head) == 4 and head[:3] == b"\x00\x00\x08")


def _idx_in_folder(folder: str) -> Optional[str]:
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _read_idx(path: str, resolution: int, channels: Optional[int], digest: Optional[str] = None) -> ImageSet:
    from ppsci_ext.data.mnist import read_idx

    images = read_idx(path)
    if images.ndim != 3:
        raise UserError(f"{path} is an idx file of shape {list(images.shape)}; an images file holds [N, H, W].")
    images = _check_image_array(images, path)
    labels, names = None, ()
    folder, base = os.path.split(path)
    label_file = os.path.join(folder, base.replace("images-idx3", "labels-idx1"))
    if label_file != path and os.path.isfile(label_file):
        values = read_idx(label_file)
        if values.shape != (len(images),):
            raise UserError(f"{label_file} holds {values.size} labels for the {len(images)} images of {path}; "
                            "one of the two files is damaged or they belong to different sets.")
        labels, names = _labels(values, len(images), None, label_file)
    return ImageSet(_fit_arrays(images, resolution, channels, path), labels, names, [], digest or _file_digest(path),
                    path)


# ------------------------------------------------------------------- folders
def list_image_files(folder: str) -> Tuple[List[str], Optional[List[str]]]:
    """Image files under ``folder`` (relative paths, sorted) and the class of each (or None).

    Raises:
        UserError: If the folder cannot be listed or holds no image.
    """
    found: List[str] = []
    others = 0

    def fail(e: OSError):
        raise UserError(f"cannot list the folder {e.filename} ({e.strerror or e}); check its permissions.")

    for root, dirs, files in os.walk(folder, onerror=fail, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if name.lower().endswith(IMAGE_SUFFIXES):
                found.append(os.path.relpath(os.path.join(root, name), folder))
            else:
                others += 1
    if not found:
        what = f"it holds {others} other files" if others else "it is empty"
        raise UserError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}, searched recursively): {what}. "
                        "Give a folder of images, an .npz / .npy of uint8 images or an idx file.")
    found.sort()
    parts = [p.split(os.sep) for p in found]
    if all(len(p) > 1 for p in parts):
        return found, [p[0] for p in parts]
    return found, None


def folder_digest(folder: str, files: Sequence[str]) -> str:
    """SHA-256 over the relative path and bytes of every file: any added, removed or changed image changes it."""
    h = hashlib.sha256()
    with progress(len(files), f"hashing {folder}") as bar:
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            h.update(name.replace(os.sep, "/").encode() + b"\0" + len(data).to_bytes(8, "little") + data)
            bar.update(1)
    return h.hexdigest()


def _read_folder(folder: str, resolution: int, channels: Optional[int], bad_images: str,
                 files: Optional[List[str]] = None, classes: Optional[List[str]] = None,
                 digest: Optional[str] = None) -> ImageSet:
    from PIL import Image

    if files is None:
        files, classes = list_image_files(folder)
    out: Optional[np.ndarray] = None
    first = None  # (name, channels) of the first image read
    kept: List[int] = []
    skipped: List[str] = []
    with progress(len(files), f"decoding the images of {folder}") as bar:
        for i, name in enumerate(files):
            path = os.path.join(folder, name)
            try:
                with Image.open(path) as im:
                    im.load()  # decodes now: a truncated file fails here
                    found = _channels_of(im.mode)
                    if first is None:
                        first = (name, found)
                    elif channels is None and found != first[1]:
                        kind = {1: "grayscale", 3: "colour"}
                        raise UserError(
                            f"{folder} mixes channel counts: {first[0]} is {kind[first[1]]} but {name} is "
                            f"{kind[found]}; set the channels to 3 (convert every image to RGB) or 1 (grayscale).")
                    pixels = fit_square(im, resolution, channels or first[1])
            except UserError:
                raise
            except Exception as e:  # Pillow raises OSError, ValueError, SyntaxError, DecompressionBombError, ...
                reason = f"{name} ({type(e).__name__}: {e})"
                if bad_images == "stop":
                    raise UserError(f"cannot read the image {path} ({type(e).__name__}: {e}); remove or replace "
                                    "it, or skip unreadable images.") from None
                skipped.append(reason)
                bar.update(1)
                continue
            if out is None:
                out = np.empty((len(files), resolution, resolution, pixels.shape[-1]), np.uint8)
            out[len(kept)] = pixels
            kept.append(i)
            bar.update(1)
    if not kept:
        raise UserError(f"none of the {len(files)} images in {folder} could be read (e.g. {skipped[0]}); they are "
                        "damaged or not images.")
    images = out[:len(kept)]
    labels, names = None, ()
    if classes is not None:  # the classes that kept an image, in name order
        names = tuple(sorted(set(classes[i] for i in kept)))
        index = {name: k for k, name in enumerate(names)}
        labels = np.array([index[classes[i]] for i in kept], np.int64)
    return ImageSet(images, labels, names, skipped, digest or folder_digest(folder, files), folder)


# --------------------------------------------------------------------- cache
def cached_image_set(path: str, resolution: int, channels: Optional[int] = None, bad_images: str = "skip",
                     cache_dir: Optional[str] = None) -> Tuple[ImageSet, Optional[str]]:
    """``read_image_set`` through a cache of the decoded array; returns the set and the cache file (or None).

    The cache file ``<cache_dir>/<digest>-r<R>-c<C>.npz`` is named after the
    SHA-256 of the source's bytes (for a folder, of every file's relative path
    and bytes) and the settings, so an edited folder is decoded again. A
    damaged cache file is remade. With ``cache_dir`` None nothing is cached.
    """
    from ppsci_ext.io.atomic import atomic_savez

    check_options(resolution, channels, bad_images)
    if cache_dir is None:
        return read_image_set(path, resolution, channels, bad_images), None
    files = classes = None
    if os.path.isdir(path) and not _idx_in_folder(path):
        files, classes = list_image_files(path)
        digest = folder_digest(path, files)
    elif os.path.isdir(path) or os.path.isfile(path):
        digest = _file_digest(_idx_in_folder(path) or path)
    else:
        return read_image_set(path, resolution, channels, bad_images), None  # says what is wrong
    file = os.path.join(cache_dir, f"{digest[:16]}-r{resolution}-c{channels or 'asfound'}-{bad_images}"
                                   f"-v{CACHE_VERSION}.npz")
    found = _load_cache(file, digest, resolution)
    if found is not None:
        found.source = path
        return found, file
    data = _read_source(path, resolution, channels, bad_images, digest, files, classes)
    arrays: Dict[str, np.ndarray] = {"images": data.images, "digest": np.array(data.digest),
                                     "class_names": np.array(data.class_names, dtype=str),
                                     "skipped": np.array(data.skipped, dtype=str)}
    if data.labels is not None:
        arrays["labels"] = data.labels
    try:
        os.makedirs(cache_dir, exist_ok=True)
        atomic_savez(file, **arrays)
    except OSError as e:  # a full disk or a read-only cache folder costs the cache, not the run
        from ppsci.utils import logger

        logger.warning(f"could not write the decoded-images cache {file} ({e.strerror or e}); continuing without it.")
        return data, None
    return data, file


def _load_cache(file: str, digest: str, resolution: int) -> Optional[ImageSet]:
    if not os.path.isfile(file):
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            images = z["images"]
            ok = (str(z["digest"]) == digest and images.dtype == np.uint8 and images.ndim == 4
                  and images.shape[1:3] == (resolution, resolution) and images.shape[3] in (1, 3) and len(images))
            labels = z["labels"].astype(np.int64) if "labels" in z.files else None
            names = tuple(z["class_names"].tolist())
            skipped = list(z["skipped"].tolist())
        if labels is not None and (labels.shape != (len(images),) or labels.min() < 0
                                   or labels.max() >= len(names)):
            ok = False
    except Exception:  # damaged: remade below by the caller
        ok = False
    if not ok:
        from ppsci.utils import logger

        logger.warning(f"the decoded-images cache {file} is damaged or stale; decoding the images again.")
        return None
    return ImageSet(images, labels, names, skipped, digest, file)

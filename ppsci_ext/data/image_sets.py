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

Every image is read as it looks, then centre-cropped to its largest square
and resized to the resolution with Pillow's bicubic filter (antialiased when
shrinking: Pillow widens the kernel by the scale factor). Reading as it looks
(``open_image``, ``visible``):

- the EXIF orientation is applied (``PIL.ImageOps.exif_transpose``): a phone
  photo stored sideways is read upright;
- every mode Pillow opens becomes gray (``L``) or colour (``RGB``):

  - ``1``: gray, 0 -> 0 and 1 -> 255;
  - ``L``: gray as it is; ``RGB``: colour as it is;
  - ``I;16``, ``I;16B``, ``I;16L``, ``I;16N`` and ``I`` (16-bit gray, e.g. a
    16-bit PNG): gray, ``round(v * 255 / 65535)`` with ``v`` clipped to
    0..65535 (Pillow's own conversion clips at 255, which turns a 16-bit
    picture white);
  - ``F`` (floats): gray, values in 0..1 scaled by 255 (rounded), clipped,
    NaN as 0;
  - ``LA``, ``La``, ``PA``, ``RGBA``, ``RGBa``, and ``P``, ``L``, ``RGB``,
    ``I;16`` with a transparent colour: **composited over white**, as a page
    shows them: ``round((c * a + 255 * (255 - a)) / 255)`` per channel; gray
    with ``LA``, ``La``, ``L``, ``I;16``, colour otherwise;
  - ``P`` (palette): colour, through its palette;
  - ``CMYK``, ``YCbCr``, ``HSV``, ``RGBX``: colour, by Pillow's conversion (no
    colour profile is applied); ``LAB``: colour, through littleCMS to sRGB.

  Pillow itself decodes 16-bit colour PNGs to 8-bit ``RGB`` / ``RGBA`` (by
  their high byte). Grayscale stays one channel and colour three, unless
  ``channels`` forces one of them (Pillow's ITU-R 601-2 luma for colour to
  gray); a folder that mixes the two is refused, naming an image of each kind.

What is read of a folder (``list_image_files``): only regular files. A link
is followed once, when it leads to a regular file or a folder inside the
folder. A link out of the folder, a link loop (a link to itself, or to a
folder it lies in), and a FIFO, a device or a socket named like an image are
skipped and counted as unreadable (below); a FIFO would block the reader
forever and ``/dev/zero`` would never end. An image larger than ``MAX_PIXELS``
(8192 x 8192) is skipped as unreadable too, before it is decoded: a tiny PNG
can declare a picture that takes gigabytes (a decompression bomb). An
``.npz`` / ``.npy`` is read through ``ppsci_ext.io.arrays``: every array's
declared shape and dtype is checked against the file's bytes and the
machine's memory before anything is allocated.

The decoded array is cached (``cached_image_set``) under a digest of the
source's bytes and the settings, so a second run reads one ``.npz`` instead of
decoding again; a cache that cannot be written (a full disk, a read-only
folder) costs the cache, not the run: one warning, and the run goes on.
Memory: the images are held once as uint8, ``N * R * R * C`` bytes: 100,000
RGB images take 1.23 GB at 64x64 and 307 MB at 32x32 (see
``benchmarks/image_folder.py`` for the measured peak).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import os
import stat
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.io.arrays import NotRegularFile, NpzArchive, file_kind, open_regular, read_npy
from ppsci_ext.progress import progress

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
ARRAY_SUFFIXES = (".npz", ".npy")
RESOLUTIONS = (32, 64)
BAD_IMAGES = ("skip", "stop")
FILTER = "bicubic"
CACHE_VERSION = 2  # bump when decoding changes, so older caches are remade (2: read as they look)
MAX_PIXELS = 8192 * 8192  # larger images are skipped before decoding (decompression bombs)
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_WITH_ALPHA = ("LA", "La", "PA", "RGBA", "RGBa")
_GRAY = ("1", "L", "LA", "La")
_SHOWN = 5  # names shown in a message
_ARRAY_HINT = "Save plain uint8 arrays with np.save / np.savez"


class BadImage(Exception):
    """Why an image is not read (over the pixel limit, a link out of the folder, ...): its text is the reason."""


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
                 digest: Optional[str] = None,
                 listing: Optional[Tuple[List[str], Optional[List[str]], List[str]]] = None) -> ImageSet:
    """``read_image_set`` given what the cache already computed: the digest (and a folder's listing)."""
    if not path:
        raise UserError("no data path given; give a folder of images, an .npz / .npy of uint8 images or an idx file.")
    if os.path.isdir(path):
        idx = _idx_in_folder(path)
        if idx:
            return _read_idx(idx, resolution, channels, digest)
        return _read_folder(path, resolution, channels, bad_images, listing, digest)
    if not os.path.isfile(path):
        if os.path.exists(path):  # a FIFO or a device: reading it would block or never end
            raise UserError(f"{path} is {file_kind(os.stat(path).st_mode)}, not a regular file; give a folder of "
                            "images, an .npz / .npy of uint8 images or an idx file.")
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
@functools.lru_cache(maxsize=1)
def _lab_to_srgb():
    from PIL import ImageCms

    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")


def visible(im):
    """A Pillow image as it looks, in mode ``L`` (gray) or ``RGB`` (colour), by the rules of the module docstring.

    Args:
        im: A loaded Pillow image of any mode.

    Returns:
        The image itself when it is already ``L`` / ``RGB`` without a transparent colour, else a new one.
    """
    from PIL import Image

    mode = im.mode
    transparent = im.info.get("transparency")
    if mode in ("L", "RGB") and transparent is None:
        return im
    if mode in _SIXTEEN_BIT:  # Pillow's convert("L") clips these at 255: a 16-bit picture would turn white
        raw = np.asarray(im).astype(np.int64)
        gray = ((np.clip(raw, 0, 65535) * 255 + 32767) // 65535).astype(np.uint8)  # round(v * 255 / 65535)
        if isinstance(transparent, int):
            gray[raw == transparent] = 255  # over white, as the composite below
        return Image.fromarray(gray, "L")
    if mode == "F":
        values = np.nan_to_num(np.asarray(im, np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        return Image.fromarray(np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8), "L")
    if mode == "LAB":  # Pillow has no LAB -> RGB conversion of its own
        from PIL import ImageCms

        return ImageCms.applyTransform(im, _lab_to_srgb())
    gray = mode in _GRAY
    if mode in _WITH_ALPHA or transparent is not None:
        # dropping alpha would show whatever colour the transparent pixels happen to hold
        pixels = np.asarray(im.convert("LA" if gray else "RGBA")).astype(np.uint32)
        colour, alpha = pixels[..., :-1], pixels[..., -1:]
        out = ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
        return Image.fromarray(out[..., 0], "L") if gray else Image.fromarray(out, "RGB")
    return im.convert("L" if gray else "RGB")


def open_image(path: str):
    """The image file at ``path`` decoded as it looks: a regular file, within ``MAX_PIXELS``, upright, ``L``/``RGB``.

    Args:
        path (str): The image file.

    Returns:
        A loaded Pillow image of mode ``L`` or ``RGB``.

    Raises:
        BadImage: Over the pixel limit.
        OSError: Not a regular file (``NotRegularFile``), missing, unreadable; Pillow's errors on damaged files
            (``OSError``, ``SyntaxError``, ``ValueError``, ...) pass too.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    with open_regular(path) as f:  # a FIFO or a device named *.png would block or never end
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the lower limit below is reported
            try:
                im = Image.open(f)
            except Image.DecompressionBombError as e:  # over Pillow's own limit, twice MAX_PIXELS and more
                raise BadImage(f"over the limit of {MAX_PIXELS:,} pixels ({e})") from None
            except UnidentifiedImageError:  # Pillow's text would name the file object, not the file
                raise BadImage("not an image: Pillow cannot identify its format") from None
        width, height = im.size
        if width * height > MAX_PIXELS:  # checked on the header: nothing is decoded yet
            raise BadImage(f"{width}x{height} = {width * height:,} pixels, over the limit of {MAX_PIXELS:,}; "
                           "shrink it")
        im.load()  # decodes now: a truncated file fails here
        if im.getexif().get(0x0112, 1) != 1:  # the EXIF orientation tag: a photo stored sideways
            im = ImageOps.exif_transpose(im)
    return visible(im)


def why_unreadable(e: BaseException) -> str:
    """Why a file was not read, for the skipped list and the messages."""
    if isinstance(e, BadImage):
        return str(e)
    if isinstance(e, NotRegularFile) or (isinstance(e, OSError) and e.strerror and e.filename):
        return e.strerror
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


def fit_square(im, resolution: int, channels: int):
    """A Pillow image centre-cropped to its largest square, resized (bicubic) and converted to ``channels``."""
    from PIL import Image

    if im.mode not in ("L", "RGB"):
        im = visible(im)
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
    """An ``.npy`` of images, or an ``.npz`` of images with optional labels and class names (io/arrays checks)."""
    labels = names = None
    if path.lower().endswith(".npy"):
        images = read_npy(path, _ARRAY_HINT)
    else:
        with NpzArchive(path, _ARRAY_HINT) as archive:
            keys = archive.names
            key = next((k for k in ("images", "x") if k in keys), keys[0] if len(keys) == 1 else None)
            if key is None:
                raise UserError(f"{path} holds the arrays {keys}; name the images `images` (and the labels "
                                "`labels`), or save the images alone.")
            images = archive.read(key)
            label_key = next((k for k in ("labels", "y") if k in keys and k != key), None)
            labels = archive.read(label_key) if label_key else None
            names = archive.read("class_names").tolist() if "class_names" in keys else None
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
def list_image_files(folder: str, bad_images: str = "skip") -> Tuple[List[str], Optional[List[str]], List[str]]:
    """Image files under ``folder`` (relative paths, sorted), the class of each (or None), and the entries skipped.

    Only regular files are listed. A link is followed once, when it leads to a
    regular file or a folder inside ``folder``; a link out of it, a link loop
    and a FIFO, device or socket named like an image are skipped with their
    reason (``name (reason)``), or refused with ``bad_images="stop"``.

    Raises:
        UserError: If a folder cannot be listed, the folder holds no image, or (``bad_images="stop"``) an entry
            cannot be read.
    """
    root = os.path.realpath(folder)
    found: List[str] = []
    skipped: List[str] = []
    others = 0

    def skip(name: str, reason: str) -> None:
        if bad_images == "stop":
            raise UserError(f"cannot read {os.path.join(folder, name)} ({reason}); remove it, or skip unreadable "
                            "images.")
        skipped.append(f"{name} ({reason})")

    # (real path, path from the folder, the (device, inode) of the folders it lies in: a link to one is a loop)
    pending = [(folder, "", frozenset())]
    while pending:
        directory, rel, above = pending.pop()
        try:
            st = os.stat(directory)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as e:
            raise UserError(f"cannot list the folder {directory} ({e.strerror or e}); check its "
                            "permissions.") from None
        above = above | {(st.st_dev, st.st_ino)}
        folders = []  # walked depth-first in name order: a stop names the first problem in path order
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = os.path.join(rel, entry.name) if rel else entry.name
            image = entry.name.lower().endswith(IMAGE_SUFFIXES)
            link = entry.is_symlink()
            try:
                target = os.stat(entry.path)  # follows links, once resolved by the kernel
            except OSError as e:
                if link and e.errno == errno.ELOOP:
                    skip(name, "a symbolic link loop")
                elif image:
                    skip(name, "a broken symbolic link" if link else (e.strerror or str(e)))
                else:
                    others += 1
                continue
            is_dir = stat.S_ISDIR(target.st_mode)
            if link and os.path.commonpath([root, os.path.realpath(entry.path)]) != root:
                if is_dir or image:
                    skip(name, f"a symbolic link out of the folder, to {os.path.realpath(entry.path)}")
                else:
                    others += 1
            elif is_dir:
                if (target.st_dev, target.st_ino) in above:
                    skip(name, "a symbolic link loop (to a folder it lies in)")
                else:
                    folders.append((entry.path, name, above))
            elif not image:
                others += 1
            elif stat.S_ISREG(target.st_mode):
                found.append(name)
            else:
                skip(name, f"{file_kind(target.st_mode)}, not a regular file")
        pending.extend(reversed(folders))
    if not found:
        what = f"it holds {others} other files" if others else "it is empty"
        if skipped:
            what += f" and {len(skipped)} unreadable entries (e.g. {skipped[0]})"
        raise UserError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}, searched recursively): {what}. "
                        "Give a folder of images, an .npz / .npy of uint8 images or an idx file.")
    found.sort()
    skipped.sort()
    parts = [p.split(os.sep) for p in found]
    if all(len(p) > 1 for p in parts):
        return found, [p[0] for p in parts], skipped
    return found, None, skipped


def folder_digest(folder: str, files: Sequence[str], skipped: Sequence[str] = ()) -> str:
    """SHA-256 over the relative path and bytes of every file: any added, removed or changed image changes it.

    Files are read in chunks through ``open_regular``, so a file swapped for a
    FIFO or a device after the listing cannot block or run forever; one that
    cannot be read adds its reason instead (the decoding then skips it). The
    entries skipped by the listing are added too, so a new broken link is seen.
    """
    h = hashlib.sha256()
    with progress(len(files), f"hashing {folder}") as bar:
        for name in files:
            h.update(name.replace(os.sep, "/").encode() + b"\0")
            try:
                with open_regular(os.path.join(folder, name)) as f:
                    h.update(os.fstat(f.fileno()).st_size.to_bytes(8, "little"))
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            except OSError as e:
                h.update(b"\xffunreadable: " + why_unreadable(e).encode())
            bar.update(1)
    for entry in skipped:
        h.update(b"\xffskipped: " + entry.replace(os.sep, "/").encode())
    return h.hexdigest()


def _read_folder(folder: str, resolution: int, channels: Optional[int], bad_images: str,
                 listing: Optional[Tuple[List[str], Optional[List[str]], List[str]]] = None,
                 digest: Optional[str] = None) -> ImageSet:
    files, classes, listed_skips = listing or list_image_files(folder, bad_images)
    out: Optional[np.ndarray] = None
    first = None  # (name, channels) of the first image read
    kept: List[int] = []
    skipped: List[str] = list(listed_skips)
    with progress(len(files), f"decoding the images of {folder}") as bar:
        for i, name in enumerate(files):
            path = os.path.join(folder, name)
            try:
                im = open_image(path)
                found = 1 if im.mode == "L" else 3
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
                if bad_images == "stop":
                    raise UserError(f"cannot read the image {path} ({why_unreadable(e)}); remove or replace it, or "
                                    "skip unreadable images.") from None
                skipped.append(f"{name} ({why_unreadable(e)})")
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
    return ImageSet(images, labels, names, skipped, digest or folder_digest(folder, files, listed_skips), folder)


# --------------------------------------------------------------------- cache
def cached_image_set(path: str, resolution: int, channels: Optional[int] = None, bad_images: str = "skip",
                     cache_dir: Optional[str] = None) -> Tuple[ImageSet, Optional[str]]:
    """``read_image_set`` through a cache of the decoded array; returns the set and the cache file (or None).

    The cache file ``<cache_dir>/<digest>-r<R>-c<C or asfound>-<bad_images>-v<CACHE_VERSION>.npz``
    is named after the SHA-256 of the source's bytes (for a folder, of every file's
    relative path and bytes), the settings and the decoder's version, so an edited
    folder (or a changed decoder) is decoded again. A
    damaged cache file is remade. With ``cache_dir`` None nothing is cached.
    """
    from ppsci_ext.io.atomic import atomic_savez

    check_options(resolution, channels, bad_images)
    if cache_dir is None:
        return read_image_set(path, resolution, channels, bad_images), None
    listing = None
    if os.path.isdir(path) and not _idx_in_folder(path):
        listing = list_image_files(path, bad_images)
        digest = folder_digest(path, listing[0], listing[2])
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
    data = _read_source(path, resolution, channels, bad_images, digest, listing)
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
        with NpzArchive(file) as z:  # sizes checked before allocating: a damaged cache cannot claim terabytes
            images = z.read("images")
            ok = (str(z.read("digest")) == digest and images.dtype == np.uint8 and images.ndim == 4
                  and images.shape[1:3] == (resolution, resolution) and images.shape[3] in (1, 3) and len(images))
            labels = z.read("labels").astype(np.int64) if "labels" in z.names else None
            names = tuple(z.read("class_names").tolist())
            skipped = list(z.read("skipped").tolist())
        if labels is not None and (labels.shape != (len(images),) or labels.min() < 0
                                   or labels.max() >= len(names)):
            ok = False
    except Exception:  # noqa: BLE001 - damaged (a UserError of the reader included): remade by the caller
        ok = False
    if not ok:
        from ppsci.utils import logger

        logger.warning(f"the decoded-images cache {file} is damaged or stale; decoding the images again.")
        return None
    return ImageSet(images, labels, names, skipped, digest, file)


def image_set_from_arrays(images: np.ndarray, labels: Optional[np.ndarray], resolution: int,
                          channels: Optional[int] = None, source: str = "X") -> ImageSet:
    """In-memory uint8 images (``ppsci_ext.fit``) as an ``ImageSet``, checked and converted as an .npz is.

    Args:
        images (np.ndarray): uint8 ``[N, H, W]`` or ``[N, H, W, C]`` (C = 1 or 3).
        labels (Optional[np.ndarray]): Integer class of each image, or None.
        resolution (int): 32 or 64.
        channels (Optional[int]): None keeps what is found; 1 or 3 converts.
        source (str): How messages and the checkpoint name the data.

    Raises:
        UserError: Naming ``source`` and the problem.
    """
    check_options(resolution, channels, "stop")
    images = _check_image_array(np.asarray(images), source)
    label_index, class_names = (None, ())
    if labels is not None:
        label_index, class_names = _labels(labels, len(images), None, source)
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()
    return ImageSet(_fit_arrays(images, resolution, channels, source), label_index, class_names, [], digest, source)

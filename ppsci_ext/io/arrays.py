"""Checked reading of ``.npy`` and ``.npz`` files: nothing is allocated before the declared size is checked.

``np.load`` trusts a file's header. A 1 KB ``.npy`` whose header declares 10^9
images makes it try to allocate terabytes (a "Unable to allocate 11.2 TiB"
traceback), and an array cut short inside an ``.npz`` surfaces as a
``ValueError`` that reads like the refusal of a pickled array. These readers
take the file apart themselves:

- Only regular files are opened (``open_regular``, after following links): a
  FIFO named ``x.npy`` would block the reader forever and a link to
  ``/dev/zero`` would never end.
- The header (format versions 1.0, 2.0 and 3.0) is read with
  ``numpy.lib.format`` without reading any data. Pickled data, an object dtype
  (it would need pickle: ``allow_pickle`` stays False) and a damaged header are
  refused.
- The data the header declares (the product of the shape times the item size)
  must be there: in the rest of the file for an ``.npy``; for an ``.npz``
  member, in the uncompressed size that the zip directory records for it.
  That size must equal the stored size of a stored member, and can be at most
  1,032 times the compressed size of a deflated one (deflate cannot expand
  more: ``DEFLATE_MAX_RATIO``). Less data than declared is named as
  truncation.
- It must also fit under ``max_array_bytes()``: the machine's physical memory,
  or ``MAX_ARRAY_BYTES`` when that is set.
- Only then is the array allocated, once, and filled from the file in chunks.
  A member whose data ends early is truncated; a bad CRC is damage.

Every problem ends in one ``UserError`` line that names the file (and the
array of an ``.npz``) and says what to do.

Examples:
    >>> import numpy as np, os, tempfile
    >>> from ppsci_ext.io.arrays import NpzArchive, read_npy
    >>> folder = tempfile.mkdtemp()
    >>> np.savez(os.path.join(folder, "a.npz"), images=np.zeros((2, 4, 4), np.uint8))
    >>> with NpzArchive(os.path.join(folder, "a.npz")) as z:
    ...     z.names, z.read("images").shape
    (['images'], (2, 4, 4))
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import zipfile
from typing import BinaryIO, Dict, List, Optional, Tuple

import numpy as np

from ppsci_ext.errors import UserError

MAX_ARRAY_BYTES: Optional[int] = None  # None: the machine's physical memory (max_array_bytes)
DEFLATE_MAX_RATIO = 1032  # deflate turns at most 2 bits into 258 bytes
DEFAULT_HINT = "Write it with np.save / np.savez (no object arrays)"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an archive, and an empty archive
_CHUNK = 1 << 22  # bytes read at a time into the array
_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """Raised by ``open_regular`` for a FIFO, a device, a socket or a folder; ``strerror`` says which."""


def file_kind(mode: int) -> str:
    """``a FIFO (named pipe)``, ``a character device``, ... for an ``st_mode`` that is not a regular file."""
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (links followed).

    The file is opened without blocking and checked on the open descriptor, so
    a FIFO (which would block ``open`` until a writer comes) or a device (whose
    reads never end) is refused before any read, and a file swapped for one
    after a listing is caught too.

    Raises:
        NotRegularFile: For anything but a regular file (an ``OSError``: callers report both alike).
        OSError: If the file cannot be opened (missing, permissions, a link loop).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, f"it is {file_kind(mode)}, not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def max_array_bytes() -> int:
    """The largest array the readers allocate: ``MAX_ARRAY_BYTES``, else the machine's physical memory."""
    if MAX_ARRAY_BYTES is not None:
        return int(MAX_ARRAY_BYTES)
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): 1 TB, still far below a forged header
        return 10 ** 12


def human_bytes(n: int) -> str:
    """``512 bytes``, ``1.02 KB``, ``3.07 TB``: decimal units, three significant digits."""
    if n < 1000:
        return f"{n} byte{'' if n == 1 else 's'}"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        n /= 1000
        if n < 999.5 or unit == "PB":
            return f"{n:.3g} {unit}"
    raise AssertionError("unreachable")


@dataclasses.dataclass(frozen=True)
class Header:
    """What a ``.npy`` header declares.

    Attributes:
        shape (Tuple[int, ...]): The array's shape.
        dtype (np.dtype): Its dtype (with byte order).
        fortran_order (bool): Whether the data is stored column-major.
        offset (int): Bytes from the start of the ``.npy`` to the data.
    """

    shape: Tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int

    @property
    def nbytes(self) -> int:
        """Bytes of data declared (a Python int: a forged shape cannot overflow it)."""
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        return f"shape {list(self.shape)} {self.dtype} ({human_bytes(self.nbytes)})"


def read_header(f: BinaryIO, what: str, hint: str = DEFAULT_HINT) -> Header:
    """The header of the ``.npy`` that starts at ``f``'s position; ``f`` is left at the start of the data.

    Args:
        f: A binary stream (a file or a zip member) positioned at the ``.npy``'s first byte.
        what (str): The file (and array) named in messages.
        hint (str): What the user should do, for files that are not arrays (a sentence without its period).

    Raises:
        UserError: Pickled data, not a ``.npy``, a header cut or damaged, an object dtype.
    """
    head = f.read(len(NPY_MAGIC))
    if not head:
        raise UserError(f"{what} is empty (0 bytes); it was not written completely, write it again.")
    if head[:1] == b"\x80":  # pickle's protocol opcode
        raise UserError(f"{what} holds pickled Python data, not a NumPy array; it is refused (loading it could run "
                        f"code). {hint}.")
    if head != NPY_MAGIC:
        if len(head) < len(NPY_MAGIC) and NPY_MAGIC.startswith(head):
            raise UserError(f"{what} is truncated: it ends inside its .npy header; write it again.")
        raise UserError(f"{what} is not a .npy file (it does not start with NumPy's header); {hint}.")
    fmt = np.lib.format
    try:
        version = tuple(f.read(2))
        if len(version) < 2:
            raise EOFError
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        elif version == (3, 0) and hasattr(fmt, "_read_array_header"):  # utf-8 field names; no public reader
            shape, fortran, dtype = fmt._read_array_header(f, version)
        else:
            raise UserError(f"{what} is a .npy file of format version {version[0]}.{version[1]}, which this NumPy "
                            f"cannot read; write it again with this NumPy's np.save.")
        offset = f.tell()
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged header raises several types
        if isinstance(e, EOFError) or str(e).startswith("EOF"):
            raise UserError(f"{what} is truncated: it ends inside its .npy header; write it again.") from None
        raise UserError(f"{what} has a damaged .npy header ({' '.join(str(e).split())}); write it "
                        "again.") from None
    if dtype.hasobject:
        raise UserError(f"{what} holds an object array (pickled Python objects); it is refused (loading it could "
                        f"run code). {hint}.")
    if any(d < 0 for d in shape):
        raise UserError(f"{what} has a damaged .npy header (negative shape {list(shape)}); write it again.")
    return Header(tuple(int(d) for d in shape), dtype, bool(fortran), offset)


def check_declared(header: Header, available: int, what: str, where: str = "follow its header") -> None:
    """Refuse a header that declares more data than ``available`` bytes, or more than ``max_array_bytes()``.

    Args:
        header (Header): The header read.
        available (int): Bytes that can hold the data.
        what (str): The file (and array) named in messages.
        where (str): Where those bytes are, completing "but only N bytes ...".
    """
    needed = header.nbytes
    if needed > available:
        raise UserError(f"{what} is truncated: its header declares {header.describe()} but only "
                        f"{human_bytes(max(available, 0))} {where}; write it again.")
    limit = max_array_bytes()
    if needed > limit:
        raise UserError(f"{what} declares {header.describe()}, more than this machine's memory "
                        f"({human_bytes(limit)}); it cannot be loaded here: use a part of the data, or a machine with "
                        "more memory.")


def _fill(f: BinaryIO, header: Header, what: str) -> np.ndarray:
    """Allocate the declared array once and read its bytes from ``f`` (positioned at the data)."""
    count = math.prod(header.shape)
    flat = np.empty(count, header.dtype)
    if header.nbytes:
        view = memoryview(flat.view(np.uint8))
        done = 0
        while done < header.nbytes:
            got = f.readinto(view[done:done + _CHUNK])
            if not got:
                raise UserError(f"{what} is truncated: its header declares {header.describe()} but its data ends "
                                f"after {human_bytes(done)}; write it again.")
            done += got
    if header.fortran_order:  # as numpy.lib.format.read_array lays it out
        return flat.reshape(header.shape[::-1]).transpose()
    return flat.reshape(header.shape)


def read_npy_stream(f: BinaryIO, size: int, what: str, hint: str = DEFAULT_HINT) -> np.ndarray:
    """The array of the ``.npy`` at ``f``'s position, ``size`` bytes long from there, checked before allocating.

    Args:
        f: An open binary file positioned at the ``.npy``'s first byte.
        size (int): Bytes of the ``.npy`` from that position (the file's size).
        what (str): The file named in messages.
        hint (str): What the user should do for files that are not arrays.

    Returns:
        np.ndarray: The array.
    """
    start = f.tell()
    header = read_header(f, what, hint)
    check_declared(header, size - (header.offset - start), what, "follow it in the file")
    try:
        return _fill(f, header, what)
    except OSError as e:
        raise UserError(f"{what} cannot be read ({e.strerror or e}); check the disk and write it again.") from None


def read_npy(path: str, hint: str = DEFAULT_HINT) -> np.ndarray:
    """The array of an ``.npy`` file, its header checked against the file's size before anything is allocated.

    Args:
        path (str): The file.
        hint (str): What the user should do for files that are not arrays (a sentence without its period).

    Returns:
        np.ndarray: The array.

    Raises:
        UserError: One line naming the file and its problem.
    """
    try:
        f = open_regular(path)
    except OSError as e:
        raise UserError(f"{path} cannot be read ({e.strerror or e}); give a regular .npy file.") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if f.read(4) in ZIP_MAGIC:
            raise UserError(f"{path} is an .npz archive named .npy; rename it to .npz.")
        f.seek(0)
        return read_npy_stream(f, size, path, hint)


class NpzArchive:
    """The arrays of an ``.npz``, each read with its declared size checked first.

    Args:
        path (str): The archive (named in messages).
        hint (str): What the user should do for members that are not arrays.
        file: An already opened binary file of the archive (positioned anywhere); opened here when None.

    Attributes:
        names (List[str]): The arrays, as ``np.load`` names them (``x.npy`` -> ``x``), in archive order.
    """

    def __init__(self, path: str, hint: str = DEFAULT_HINT, file: Optional[BinaryIO] = None):
        self.path, self.hint = path, hint
        self._own = file is None
        if file is None:
            try:
                file = open_regular(path)
            except OSError as e:
                raise UserError(f"{path} cannot be read ({e.strerror or e}); give a regular .npz file.") from None
        self._file = file
        try:
            self.size = os.fstat(file.fileno()).st_size
            file.seek(0)
            head = file.read(len(NPY_MAGIC))
            if head == NPY_MAGIC:
                raise UserError(f"{path} is a .npy file named .npz; rename it to .npy.")
            if head[:1] == b"\x80":
                raise UserError(f"{path} holds pickled Python data, not a NumPy archive; it is refused (loading it "
                                f"could run code). {hint}.")
            if not head.startswith(ZIP_MAGIC):
                raise UserError(f"{path} is not a .npz file (not a zip archive); {hint}.")
            try:
                self._zip = zipfile.ZipFile(file)
                infos = [i for i in self._zip.infolist() if not i.filename.endswith("/")]
            except Exception as e:  # noqa: BLE001 - zipfile raises several types on damaged archives
                raise UserError(f"{path} is truncated or damaged (not a complete zip archive: "
                                f"{' '.join(str(e).split())}); write it again.") from None
        except BaseException:
            self.close()
            raise
        self._members: Dict[str, zipfile.ZipInfo] = {
            (i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i for i in infos}
        self.names: List[str] = list(self._members)

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_zip", None) is not None:
            self._zip.close()
        if self._own:
            self._file.close()

    def read(self, name: str) -> np.ndarray:
        """The array ``name`` (one of ``names``), checked against the member's sizes before it is allocated."""
        info = self._members[name]
        what = f"{self.path} (array {name!r})"
        if info.compress_size > self.size:
            raise UserError(f"{what} is truncated: the archive's directory gives it {human_bytes(info.compress_size)} "
                            f"but the whole file holds {human_bytes(self.size)}; write it again.")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise UserError(f"{what} is damaged: the archive's directory gives it {info.file_size} bytes and "
                            f"{info.compress_size} stored bytes, which must be equal; write it again.")
        if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > DEFLATE_MAX_RATIO * info.compress_size:
            raise UserError(f"{what} is damaged: the archive's directory gives it {human_bytes(info.file_size)} "
                            f"from {human_bytes(info.compress_size)} compressed, more than deflate can expand "
                            f"({DEFLATE_MAX_RATIO}x); write it again.")
        try:
            with self._zip.open(info) as member:
                header = read_header(member, what, self.hint)
                # a compressed member's size is known only from the directory: checked here, and the data
                # is then read into the one array allocated, so a member shorter than declared is caught
                check_declared(header, info.file_size - header.offset, what, "follow it in the archive")
                return _fill(member, header, what)
        except UserError:
            raise
        except EOFError:
            raise UserError(f"{what} is truncated: the archive ends inside it; write it again.") from None
        except Exception as e:  # noqa: BLE001 - a bad CRC, a zlib error, a damaged local header
            raise UserError(f"{what} is damaged ({type(e).__name__}: {' '.join(str(e).split())}); write it "
                            "again.") from None

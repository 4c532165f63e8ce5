"""The user's own points: a ``.npy``, ``.npz`` or ``.csv`` file of N x D numbers -> a float32 array.

Rules (docs/toy.md, "Your own points"):

- ``.npy``: one array, read with ``allow_pickle=False``: a file that holds
  Python objects is refused before anything from it is built.
- ``.npz``: one array, or several of which one is named ``x`` or ``points``.
- ``.csv``: UTF-8 text, numbers separated by commas, one point per line. An
  optional first line of names (none of its cells a number) is a header and
  names the dimensions; blank lines are skipped, ``#`` starts a comment that
  runs to the end of its line; cells may be quoted ("1.5") and padded with
  spaces. Python's ``1_000`` is not a number here (NumPy's parser refuses it).
- A 1-D array (or a csv of one column) is N points of D = 1. At least 2
  points; no NaN or infinity; every value must fit a float32.

Every bad file ends in one ``UserError`` that says what is wrong and what to
do. The functions take plain paths; the experiment prefixes the config key
(``errors.about``).

Examples:
    >>> import numpy as np, os, tempfile
    >>> from ppsci_ext.data.points import read_points
    >>> path = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> _ = open(path, "w").write("a,b\\n1,2\\n3,4\\n")
    >>> read_points(path)
    array([[1., 2.],
           [3., 4.]], dtype=float32)
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from typing import Callable, List, Optional, Tuple

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.io.arrays import NpzArchive, open_regular, read_npy_stream

POINT_EXTENSIONS = (".npy", ".npz", ".csv")
NPZ_NAMES = ("x", "points")  # the array of an .npz that holds several
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SAVE_HINT = "Save your points with np.save(path, x.astype(np.float32)) or as a .csv"


def read_points(path: str) -> np.ndarray:
    """The points of a ``.npy``, ``.npz`` or ``.csv`` file as a float32 array ``[N, D]``.

    Args:
        path (str): The file.

    Returns:
        np.ndarray: float32 ``[N, D]`` with N >= 2, D >= 1, all values finite.

    Raises:
        UserError: One line saying what is wrong with the file and what to do.
    """
    return read_points_with_names(path)[0]


def read_points_with_names(path: str) -> Tuple[np.ndarray, Optional[List[str]]]:
    """``read_points`` plus the names of the dimensions (a csv header line), else None."""
    path = os.path.expanduser(str(path))
    ext = os.path.splitext(path)[1].lower()
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder; give a .npy, .npz or .csv file of N x D points.")
    if not os.path.exists(path):
        raise UserError(f"{path} does not exist; check the path (a .npy, .npz or .csv file of N x D points).")
    if ext not in POINT_EXTENSIONS:
        raise UserError(f"{path} has the unknown extension {ext or '(none)'!r}; give a .npy, .npz or .csv file of "
                        "N x D points (the extension says how it is read).")
    try:
        size = os.path.getsize(path)
        with open_regular(path) as f:  # a FIFO or a device named .npy would block or never end
            head = f.read(8)
            if not size:
                raise UserError(f"{path} is empty (0 bytes); it was not written completely, write it again.")
            names = None
            if ext == ".csv":
                array, names, where = _parse_csv(head + f.read(), path)
            elif ext == ".npy":
                f.seek(0)
                array, where = _parse_npy(f, size, path), _point
            else:
                array, where = _parse_npz(f, head, path), _point
    except OSError as e:
        raise UserError(f"{path} cannot be read ({e.strerror or e}); check its permissions.") from None
    return _checked(array, path, where), names


def _point(row: int) -> str:
    return f"point {row + 1}"


# ----------------------------------------------------------------------------------------------- npy / npz
def _parse_npy(f, size: int, what: str) -> np.ndarray:
    """The array of an open .npy file of ``size`` bytes, its header checked before anything is allocated."""
    return read_npy_stream(f, size, what, _SAVE_HINT)


def _parse_npz(f, head: bytes, path: str) -> np.ndarray:
    if not head.startswith(_ZIP_MAGIC):
        if head.startswith(_NPY_MAGIC):
            raise UserError(f"{path} is a .npy file named .npz; rename it to .npy.")
        raise UserError(f"{path} is not a .npz file (not a zip archive); save your points with "
                        "np.savez(path, x=points) or np.save to a .npy.")
    with NpzArchive(path, _SAVE_HINT, file=f) as archive:  # each member's declared size is checked on reading
        arrays = archive.names
        if not arrays:
            raise UserError(f"{path} holds no arrays; save your points with np.savez(path, x=points).")
        if len(arrays) == 1:
            name = arrays[0]
        else:
            named = [n for n in NPZ_NAMES if n in arrays]
            listed = ", ".join(sorted(arrays))
            if not named:
                raise UserError(f"{path} holds {len(arrays)} arrays ({listed}) and none is named x or points; name "
                                "the array of points x (np.savez(path, x=points)) or save it alone.")
            if len(named) > 1:
                raise UserError(f"{path} holds both x and points (of {listed}); keep only the array of points "
                                "under one of these names.")
            name = named[0]
        return archive.read(name)


# ------------------------------------------------------------------------------------------------------ csv
def _number(cell: str) -> Optional[float]:
    if "_" in cell:  # Python's float() takes 1_000, NumPy's parser does not: neither does this reader
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def _is_header(cells: List[str]) -> bool:
    """A line of names: none of its cells is a number, nor numbers separated by spaces, tabs or semicolons."""
    def numeric(cell: str) -> bool:
        parts = [p for p in re.split(r"[\s;]+", cell) if p]
        return bool(parts) and all(_number(p) is not None for p in parts)

    return bool(cells) and not any(numeric(c) for c in cells)


def _cells(cells: List[str]) -> List[str]:
    """Stripped cells of one csv line, without a ``#`` comment and what follows it."""
    out = []
    for cell in cells:
        cell = cell.strip()
        if "#" in cell:
            head = cell.split("#", 1)[0].strip()
            return out + ([head] if head or out else [])
        out.append(cell)
    return out


def _parse_csv(raw: bytes, path: str) -> Tuple[np.ndarray, Optional[List[str]], Callable[[int], str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start} is {raw[e.start:e.start + 1]!r}); a .csv must be "
                        "text of numbers separated by commas (a binary file? use its own extension).") from None
    if "\x00" in text:
        raise UserError(f"{path} holds NUL bytes, so it is not a text .csv; give numbers separated by commas.")
    fast = _fast_csv(text)
    if fast is not None:
        return fast
    return _slow_csv(text, path)


def _fast_csv(text: str):
    """NumPy's parser on a well-formed file; None sends the file to ``_slow_csv``, which names what is wrong."""
    pos = 0
    while pos < len(text):  # the first line that is neither blank nor a comment
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        first = text[pos:end].strip()
        if first and not first.startswith("#"):
            break
        pos = end + 1
    else:
        return None
    try:
        cells = _cells(next(csv.reader([first], skipinitialspace=True)))
    except (csv.Error, StopIteration):
        return None
    names = cells if _is_header(cells) else None
    body = text[end + 1:] if names is not None else text[pos:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "input contained no data"
            array = np.loadtxt(io.StringIO(body), delimiter=",", comments="#", ndmin=2, dtype=np.float64,
                               quotechar='"')
    except Exception:  # noqa: BLE001 - any problem: the careful parser reports it
        return None
    if array.size == 0 or not np.isfinite(array).all() or (names is not None and array.shape[1] != len(names)):
        return None
    return array, names, _point


def _slow_csv(text: str, path: str) -> Tuple[np.ndarray, Optional[List[str]], Callable[[int], str]]:
    """Line by line, stopping at the first problem with its line number."""
    rows: List[List[float]] = []
    lines: List[int] = []
    names: Optional[List[str]] = None
    width = first_line = header_line = None
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise UserError(f"{path}: line {reader.line_num} cannot be read as csv ({e}); give numbers separated "
                            "by commas, one point per line.") from None
        line = reader.line_num
        cells = _cells(cells)
        if not cells or all(not c for c in cells):
            continue  # a blank line or a comment
        values = [_number(c) for c in cells]
        if width is None and names is None and not rows and _is_header(cells):
            names = cells  # the header line
            width, first_line = len(cells), line
            header_line = line
            continue
        if width is None:
            width, first_line = len(cells), line
        if len(cells) != width:
            if len(cells) == width + 1 and not cells[-1]:
                raise UserError(f"{path}: line {line} ends in a comma (an empty last cell); remove it.")
            what = "the header" if first_line == header_line else f"line {first_line}"
            counted = f"{len(cells)} value{'s' if len(cells) > 1 else ''}"
            raise UserError(f"{path}: line {line} has {counted}, {what} has {width}; every line must hold "
                            "the same number of values (ragged rows).")
        for column, (cell, value) in enumerate(zip(cells, values)):
            if value is None:
                if not cell:
                    problem = f"cell {column + 1} is empty"
                else:
                    problem = f"cell {column + 1} is {cell[:40]!r}, not a number"
                    if any(sep in cell for sep in (";", "\t", " ")):
                        problem += " (cells must be separated by commas)"
                raise UserError(f"{path}: line {line}: {problem}; fix or remove that line.")
        rows.append(values)
        lines.append(line)
    if not rows:
        if names is not None:
            raise UserError(f"{path} holds a header line ({', '.join(names)}) but no points; add one point per line.")
        raise UserError(f"{path} holds no points (only blank or comment lines); add one point per line, numbers "
                        "separated by commas.")
    array = np.asarray(rows, dtype=np.float64)
    return array, names, (lambda row: f"line {lines[row]}")


# ------------------------------------------------------------------------------------------------- checks
def _checked(array: np.ndarray, path: str, where: Callable[[int], str]) -> np.ndarray:
    """``array`` as float32 [N, D] after the checks every format shares."""
    kind = array.dtype.kind
    if array.dtype.names is not None:
        raise UserError(f"{path} holds a structured array (fields {', '.join(array.dtype.names)}); save a plain "
                        f"N x D array of numbers: np.stack([x[name] for name in x.dtype.names], axis=1).")
    if kind in "USVOM":
        what = {"U": "text", "S": "bytes", "V": "raw bytes", "O": "Python objects", "M": "dates"}[kind]
        raise UserError(f"{path} holds {what} ({array.dtype}), not numbers; {_SAVE_HINT}.")
    if kind == "c":
        raise UserError(f"{path} holds complex numbers; save real numbers (e.g. np.stack([z.real, z.imag], axis=1)).")
    if kind == "m":
        raise UserError(f"{path} holds time spans ({array.dtype}), not numbers; convert them to floats first.")
    if array.ndim == 0:
        raise UserError(f"{path} holds a single number, not points; give an N x D array (or N numbers for D = 1).")
    if array.ndim > 2:
        raise UserError(f"{path} holds an array of {array.ndim} dimensions (shape {list(array.shape)}); points must be "
                        "N x D (or N numbers for D = 1): reshape it, e.g. x.reshape(len(x), -1).")
    if array.ndim == 1:
        array = array[:, None]
    n, d = array.shape
    if d == 0:
        raise UserError(f"{path} holds {n} points of no dimension (shape {list(array.shape)}); give at least one "
                        "column.")
    if n < 2:
        raise UserError(f"{path} holds {n} point{'' if n == 1 else 's'}; at least 2 are needed to train and score a "
                        "generator.")
    values = array.astype(np.float64) if kind in "biuf" else array
    finite = np.isfinite(values)
    if not finite.all():
        bad = np.argwhere(~finite)
        row, column = (int(i) for i in bad[0])
        nans = int(np.isnan(values).sum())
        infs = len(bad) - nans
        kinds = " and ".join(f"{count} {name}" for count, name in ((nans, "NaN"), (infs, "infinite"))
                             if count)
        raise UserError(f"{path} holds {kinds} value{'s' if len(bad) > 1 else ''} in "
                        f"{len(np.unique(bad[:, 0]))} of its {n} points (the first at {where(row)}, dimension "
                        f"{column + 1}); remove those points or fill in the values.")
    big = np.abs(values) > _FLOAT32_MAX
    if big.any():
        row, column = (int(i) for i in np.argwhere(big)[0])
        count = int(big.sum())
        raise UserError(f"{path} holds {count} value{'s' if count > 1 else ''} beyond the float32 range (+-3.4e38; "
                        f"the first at "
                        f"{where(row)}, dimension {column + 1}); rescale your data.")
    return np.ascontiguousarray(values, dtype=np.float32)


# ---------------------------------------------------------------------------------------------- statistics
def point_statistics(points: np.ndarray) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    """Per-dimension mean and standard deviation of ``points`` ``[N, D]`` (float32), for standardisation.

    A constant dimension (standard deviation 0, or below 1e-6 of its magnitude,
    i.e. float32 rounding) gets a standard deviation of 1, so it maps to 0
    rather than dividing by 0.

    Returns:
        Tuple: ``mean [D]``, ``std [D]`` (float32) and the 0-based indices of the constant dimensions.
    """
    x = np.asarray(points, dtype=np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    constant = [int(i) for i in np.flatnonzero(std <= 1e-6 * np.maximum(np.abs(mean), 1e-30))]
    std[constant] = 1.0
    return mean.astype(np.float32), std.astype(np.float32), constant


def standardize(points: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(points - mean) / std`` as float32 (computed in float64)."""
    x = np.asarray(points, dtype=np.float64)
    return ((x - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)).astype(np.float32)


def unstandardize(points: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``points * std + mean`` as float32 (computed in float64): the inverse of ``standardize``."""
    x = np.asarray(points, dtype=np.float64)
    return (x * np.asarray(std, np.float64) + np.asarray(mean, np.float64)).astype(np.float32)


def check_points(array: np.ndarray, what: str = "X") -> np.ndarray:
    """In-memory points (``ppsci_ext.fit``) as float32 [N, D], with the checks a points file gets.

    Raises:
        UserError: Naming ``what`` and the problem (shape, dtype, a NaN at row i, ...).
    """
    return _checked(np.asarray(array), what, _point)

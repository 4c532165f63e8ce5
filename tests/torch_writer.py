"""Test helper: write PyTorch weights files without PyTorch, and full pytorch-fid state dicts.

``write_torch_file`` writes what ``torch.save`` writes (its zip format, or the
pre-1.6 "legacy" format), checked against real torch files in
tests/metric/inception/test_inception.py; ``pytorch_fid_state`` builds a state
dict with every key and shape of pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``.
"""

import json
import os
import pickle
import struct
import zipfile
from typing import Dict, Optional

import numpy as np

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
# Keys and shapes of pytorch-fid's state dict.
PYTORCH_FID_KEYS = os.path.join(FIXTURES, "pytorch_fid_state_dict_keys.json")


def _tensor_pickle(state: dict, legacy: bool) -> bytes:
    """Pickle a flat state dict of NumPy arrays with the opcodes torch.save emits (protocol 2)."""
    def text(s: str) -> bytes:
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    def ints(values) -> bytes:
        return b"(" + b"".join(b"J" + struct.pack("<i", int(v)) for v in values) + b"t"

    storage_type = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
                    np.dtype(np.float16): "HalfStorage", np.dtype(np.int64): "LongStorage"}
    out = [b"\x80\x02ccollections\nOrderedDict\n)R("]
    for i, (key, value) in enumerate(state.items()):
        pid = b"(" + text("storage") + f"ctorch\n{storage_type[value.dtype]}\n".encode() + text(str(i)) + text("cpu")
        pid += b"J" + struct.pack("<i", value.size) + (b"N" if legacy else b"") + b"tQ"
        strides = [s // value.itemsize for s in value.strides]
        out.append(text(key) + b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J\x00\x00\x00\x00"
                   + ints(value.shape) + ints(strides) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R")
    out.append(b"u.")
    return b"".join(out)


def write_torch_file(path: str, state: dict, legacy: bool = False) -> None:
    """Write ``state`` in PyTorch's zip format (``archive/...``) or its pre-1.6 format."""
    state = {k: np.ascontiguousarray(v) for k, v in state.items()}
    body = _tensor_pickle(state, legacy)
    if legacy:
        with open(path, "wb") as f:
            f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2))
            f.write(pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2) + body)
            f.write(pickle.dumps([str(i) for i in range(len(state))], protocol=2))
            for value in state.values():
                f.write(struct.pack("<q", value.size) + value.astype(value.dtype.newbyteorder("<")).tobytes())
        return
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", body)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
        for i, value in enumerate(state.values()):
            zf.writestr(f"archive/data/{i}", value.astype(value.dtype.newbyteorder("<")).tobytes())


def pytorch_fid_state(paddle_state: Optional[Dict[str, np.ndarray]] = None, seed: int = 4) -> Dict[str, np.ndarray]:
    """A full pytorch-fid state dict: torchvision names and shapes, 1008-way fc, batch-norm scales of one.

    Args:
        paddle_state: Converted (Paddle-named) conv / batch-norm tensors to use, e.g. the real
            weights; random float32 values when not given.
        seed: Seed of the random fc layer (and of the random conv / batch-norm tensors).
    """
    with open(PYTORCH_FID_KEYS, encoding="utf-8") as f:
        shapes = json.load(f)
    rng = np.random.default_rng(seed)
    fc_weight = (rng.standard_normal((1008, 2048)) * 0.01).astype(np.float32)
    fc_bias = rng.standard_normal(1008).astype(np.float32)
    renames = {".bn.bias": ".bn.beta", ".bn.running_mean": ".bn.mean", ".bn.running_var": ".bn.var"}
    state = {}
    for key, shape in shapes.items():
        if key == "fc.weight":
            state[key] = fc_weight
        elif key == "fc.bias":
            state[key] = fc_bias
        elif key.endswith(".num_batches_tracked"):
            state[key] = np.array(0, np.int64)
        elif key.endswith(".bn.weight"):
            state[key] = np.ones(shape, np.float32)  # the ports store the absent TF scale as ones
        elif paddle_state is None:
            state[key] = rng.random(shape, np.float32)  # in [0, 1): a valid running variance too
        else:
            suffix = next((s for s in renames if key.endswith(s)), "")
            state[key] = paddle_state[key[: len(key) - len(suffix)] + renames.get(suffix, "")]
        assert list(state[key].shape) == shape, key
    return state

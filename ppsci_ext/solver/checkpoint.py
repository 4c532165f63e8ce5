"""Atomic checkpoints and checked weight loading.

A full checkpoint (``*.pdckpt``) is one ``paddle.save`` file holding both
networks, both optimizers (with their LR schedules), the step, the metric
history, the random state and the config that made it. Weights-only files
(``*_gen.pdparams``, ``*_dis.pdparams``) are written beside it for eval and
for sharing. Every file is written to a temporary name and then renamed, so a
kill or a full disk never leaves a half-written file under the real name.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

import paddle
from paddle import nn

from ppsci_ext.errors import UserError

CHECKPOINT_FORMAT = "ppsci_ext.wgangp.checkpoint/1"


def atomic_save(obj: Any, path: str) -> None:
    """``paddle.save`` to ``path`` through a temporary file and a rename.

    Raises:
        UserError: If the file cannot be written (disk full, no permission);
            whatever was at ``path`` before is left untouched.
    """
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        paddle.save(obj, tmp)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise UserError(
            f"could not write {path}: {e.strerror or e}. Free disk space or choose a "
            f"writable output_dir=...; the previous checkpoint there is intact."
        ) from None


def resolve_weights_path(path: str) -> str:
    """Local path of a weights file given as a path or an http(s) URL."""
    if str(path).startswith(("http://", "https://")):
        from ppsci.utils import download

        try:
            return download.get_weights_path_from_url(path)
        except Exception as e:  # network errors come in many types
            raise UserError(f"could not download weights from {path}: {e}") from None
    if not os.path.isfile(path):
        raise UserError(f"weights file {path} does not exist; check the path (or URL) you gave.")
    return path


def load_file(path: str) -> Any:
    """Load a ``paddle.save`` file, turning unreadable files into ``UserError``."""
    local = resolve_weights_path(path)
    try:
        return paddle.load(local)
    except Exception as e:
        raise UserError(
            f"{path} is not a readable Paddle weights file ({type(e).__name__}: {e}); "
            f"give a .pdparams or .pdckpt file written by this package."
        ) from None


def mismatches(layer: nn.Layer, state: Dict[str, Any]) -> List[str]:
    """Differences between a layer's parameters and a state dict, one line each."""
    own = layer.state_dict()
    lines = []
    for key in own:
        if key not in state:
            lines.append(f"missing {key}")
        elif list(state[key].shape) != list(own[key].shape):
            lines.append(f"{key}: shape {list(state[key].shape)} in file, {list(own[key].shape)} in model")
    lines += [f"unexpected {key}" for key in state if key not in own]
    return lines


def load_checked(layer: nn.Layer, state: Dict[str, Any], what: str, path: str) -> None:
    """Set ``layer``'s weights from ``state`` after checking every key and shape.

    Raises:
        UserError: Listing what does not match, if the file holds another architecture.
    """
    if not isinstance(state, dict):
        raise UserError(f"{path} does not hold {what} weights; give a .pdparams or .pdckpt file.")
    problems = mismatches(layer, state)
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise UserError(
            f"{path} holds weights of a different {what} architecture: {shown}{more}. "
            f"Use the MODEL settings of the run that wrote it, or another file."
        )
    layer.set_state_dict(state)


def extract_network(obj: Any, which: str, path: str) -> Dict[str, Any]:
    """The state dict of ``which`` ("generator" or "critic") from a loaded file.

    Accepts a full checkpoint or a weights-only file.
    """
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        return obj[which]
    if isinstance(obj, dict) and "format" in obj:
        raise UserError(f"{path} is a checkpoint of unknown format {obj['format']!r}.")
    return obj


def load_network(layer: nn.Layer, path: str, which: str) -> None:
    """Load ``which`` ("generator" or "critic") weights from a path or URL into ``layer``."""
    obj = load_file(path)
    load_checked(layer, extract_network(obj, which, path), which, path)


def optimizer_state(optimizer, layer: nn.Layer) -> Dict[str, Any]:
    """Optimizer state keyed by structured parameter names.

    Paddle keys accumulators by the unique runtime name of each parameter
    (``linear_44.w_0_moment1_0``), which depends on how many layers the process
    created before. Keying by the structured name (``net.0.weight``) makes the
    state loadable into a freshly built model in any process.
    """
    names = {p.name: name for name, p in layer.named_parameters()}
    state = {}
    for key, value in optimizer.state_dict().items():
        param = next((n for n in names if key.startswith(n + "_")), None)
        state[names[param] + key[len(param):] if param else key] = value
    return state


def load_optimizer_state(optimizer, layer: nn.Layer, state: Dict[str, Any]) -> None:
    """Inverse of ``optimizer_state``: restore accumulators into ``optimizer``."""
    names = {name: p.name for name, p in layer.named_parameters()}
    restored = {}
    for key, value in state.items():
        structured = next((n for n in names if key.startswith(n + "_")), None)
        restored[names[structured] + key[len(structured):] if structured else key] = value
    optimizer.set_state_dict(restored)


def load_checkpoint(path: str) -> Dict[str, Any]:
    """Load a full training checkpoint, checking that it is one."""
    obj = load_file(path)
    if not (isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT):
        raise UserError(
            f"{path} is not a full training checkpoint of this package; resume from a "
            f"checkpoints/*.pdckpt file (weights-only .pdparams files cannot resume training)."
        )
    return obj

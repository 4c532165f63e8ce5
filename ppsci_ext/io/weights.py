"""Weights files: path or URL, safe loading, and checked loading into a layer.

Every ``paddle.save`` file is read through the restricted unpickler
(``ppsci_ext.io.safe_pickle``), so a tampered file runs nothing. Weights are
loaded into a layer only after every key and shape has been checked.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Tuple

from paddle import nn

from ppsci_ext.errors import UserError
from ppsci_ext.io.safe_pickle import safe_paddle_load

CHECKPOINT_FORMAT = "ppsci_ext.wgangp.checkpoint/1"
# One model per kind ("inception", "mnist classifier"), keyed by the file it came from.
_MODELS: Dict[str, Tuple[Tuple[str, int, int], nn.Layer]] = {}


def resolve_weights_path(path: str) -> str:
    """Local path of a weights file given as a path or an http(s) URL."""
    if str(path).startswith(("http://", "https://")):
        from ppsci.utils import download

        try:
            return download.get_weights_path_from_url(path)
        except Exception as e:  # network errors come in many types
            raise UserError(f"could not download weights from {path}: {e}") from None
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder, not a weights file; give a .pdparams or .pdckpt file in it.")
    if not os.path.isfile(path):
        raise UserError(f"weights file {path} does not exist; check the path (or URL) you gave.")
    if os.path.getsize(path) == 0:
        raise UserError(f"weights file {path} is empty; it was not written completely, give another file.")
    return path


def load_file(path: str) -> Any:
    """Load a ``paddle.save`` file through the restricted unpickler, turning unreadable files into ``UserError``.

    A file that asks the unpickler for anything but arrays, containers and
    Paddle's random state is refused before anything from it runs
    (``ppsci_ext.io.safe_pickle.safe_paddle_load``).
    """
    return safe_paddle_load(resolve_weights_path(path), str(path),
                            "give a .pdparams or .pdckpt file written by this package.")


def mismatches(layer: nn.Layer, state: Dict[str, Any]) -> List[str]:
    """Differences between a layer's parameters and a state dict, one line each."""
    own = layer.state_dict()
    lines = []
    for key in own:
        if key not in state:
            lines.append(f"missing {key}")
        elif getattr(state[key], "shape", None) is None:
            lines.append(f"{key}: a {type(state[key]).__name__} in file, not a tensor")
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

    Accepts a full checkpoint or a weights-only file. From a full checkpoint of
    a run with EMA, "generator" gives the averaged generator (the one that was
    evaluated), like ``*_gen.pdparams``.
    """
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        if which == "generator" and "generator_ema" in obj:
            return obj["generator_ema"]
        if which not in obj:
            raise UserError(f"{path} is a training checkpoint without its {which!r} field; it is damaged or was "
                            "edited, use another checkpoint or its *_gen.pdparams / *_dis.pdparams files.")
        return obj[which]
    if isinstance(obj, dict) and "format" in obj:
        raise UserError(f"{path} is a checkpoint of unknown format {obj['format']!r}.")
    return obj


def load_network(layer: nn.Layer, path: str, which: str) -> None:
    """Load ``which`` ("generator" or "critic") weights from a path or URL into ``layer``."""
    obj = load_file(path)
    load_checked(layer, extract_network(obj, which, path), which, path)


def cached_model(kind: str, path: str, build: Callable[[str], nn.Layer]) -> nn.Layer:
    """``build(path)``, built once per ``kind`` and file version in this process.

    Only the latest model of each kind is kept (an Inception network holds ~100 MB).
    """
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    hit = _MODELS.get(kind)
    if hit is None or hit[0] != key:
        _MODELS.pop(kind, None)
        _MODELS[kind] = (key, build(path))
    return _MODELS[kind][1]

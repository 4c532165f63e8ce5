"""Weights files: path or URL, safe loading, and checked loading into a layer.

Every ``paddle.save`` file is read through the restricted unpickler
(``ppsci_ext.io.safe_pickle``), so a tampered file runs nothing. Weights are
loaded into a layer only after every key and shape has been checked.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

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
    refusal = nonfinite_refusal(state, what)
    if refusal:
        raise UserError(f"{path}: {refusal}")
    layer.set_state_dict(state)


def extract_network(obj: Any, which: str, path: str) -> Dict[str, Any]:
    """The state dict of ``which`` ("generator" or "critic") from a loaded file.

    Accepts a full checkpoint or a weights-only file. From a full checkpoint of
    a run with EMA, "generator" gives the averaged generator (the one that was
    evaluated), like ``*_gen.pdparams``.
    """
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        field = "generator_ema" if which == "generator" and "generator_ema" in obj else which
        if field not in obj:
            raise UserError(f"{path} is a training checkpoint without its {which!r} field; it is damaged or was "
                            "edited, use another checkpoint or its *_gen.pdparams / *_dis.pdparams files.")
        obj = obj[field]
    elif isinstance(obj, dict) and "format" in obj:
        raise UserError(f"{path} is a checkpoint of unknown format {obj['format']!r}.")
    if not isinstance(obj, dict):
        # paddle.save writes any object: a list or an array given as weights would fail later, deep in a builder
        raise UserError(f"{path} holds an object of type {type(obj).__name__}, not {which} weights (a dict of named "
                        "tensors); give a *_gen.pdparams / *_dis.pdparams or .pdckpt file written by this package.")
    if not obj:
        raise UserError(f"{path} holds no weights (an empty dict); give another file.")
    return obj


def nonfinite_weights(state: Dict[str, Any]) -> List[str]:
    """Keys of the floating-point tensors of ``state`` that hold NaN or infinity, in file order.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.io.weights import nonfinite_weights
        >>> nonfinite_weights({"a": np.ones(2), "b": np.array([1.0, np.nan]), "n": np.array(3)})
        ['b']
    """
    import numpy as np

    bad = []
    for key, value in state.items():
        if getattr(value, "shape", None) is None:
            continue
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            bad.append(key)
    return bad


def nonfinite_refusal(state: Dict[str, Any], what: str) -> Optional[str]:
    """The sentence refusing ``state`` if a weight holds NaN or Inf (naming the first), else None.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.io.weights import nonfinite_refusal
        >>> nonfinite_refusal({"a": np.array([np.inf]), "b": np.array([np.nan])}, "critic")[:55]
        'its critic weights hold NaN or Inf (in a and 1 more): t'
    """
    bad = nonfinite_weights(state)
    if not bad:
        return None
    more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
    return (f"its {what} weights hold NaN or Inf (in {bad[0]}{more}): the run had diverged when they were written. "
            "Give an earlier checkpoint of that run.")


class UnsafeStoredConfig(UserError):
    """A checkpoint's stored config asks YAML for an object (a ``!!python/...`` or other tag); nothing was run."""


# The tag in the message of yaml's ConstructorError ("could not determine a constructor for the tag '...'").
_TAG = re.compile(r"tag '([^']*)'")


def parse_stored_config(text: Any, path: str):
    """The config a checkpoint stores (``OmegaConf.to_yaml`` of the run's config), parsed without running anything.

    OmegaConf reads YAML with a safe loader, so ``!!python/object/apply:os.system``
    and its kind are never constructed; they fail with a parser error, which is
    turned here into one message naming the tag. The package writes plain
    mappings only: any tag, a config that is not a mapping, or unreadable
    YAML means the file was edited or is damaged.

    Args:
        text (Any): The checkpoint's ``config`` entry.
        path (str): The checkpoint, for messages.

    Returns:
        omegaconf.DictConfig: The stored config (interpolations unresolved).

    Raises:
        UnsafeStoredConfig: The YAML carries a tag (a ``UserError``).
        UserError: It is not text, not YAML, or not a mapping.

    Examples:
        >>> from ppsci_ext.io.weights import parse_stored_config
        >>> parse_stored_config("MODEL: {width: 512}", "a.pdckpt").MODEL.width
        512
    """
    import yaml
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(text, str):
        raise UserError(f"{path} stores a config of type {type(text).__name__}, not YAML text; it was edited or is "
                        "damaged. Use another checkpoint, or its *_gen.pdparams / *_dis.pdparams files.")
    try:
        config = OmegaConf.create(text)
    except yaml.constructor.ConstructorError as e:
        found = _TAG.search(str(e.problem or e))
        tag = found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "a YAML tag"
        what = "asks the reader to build a Python object" if "python" in tag else "this package never writes"
        raise UnsafeStoredConfig(
            f"{path} stores a config with the YAML tag {tag}, which {what}; refused, nothing from it was run. The "
            "file was edited or does not come from this package: use another checkpoint."
        ) from None
    except Exception as e:  # noqa: BLE001 - yaml and OmegaConf raise many types on damaged text
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError(f"{path} stores a config that is not readable YAML ({type(e).__name__}: {first}); it was "
                        "edited or is damaged. Use another checkpoint, or its *_gen.pdparams file.") from None
    if not isinstance(config, DictConfig):
        raise UserError(f"{path} stores a config of type {type(config).__name__}, not a mapping; it was edited "
                        "or is damaged. Use another checkpoint, or its *_gen.pdparams file.")
    return config


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

"""Atomic checkpoints and checked weight loading.

A full checkpoint (``*.pdckpt``) is one ``paddle.save`` file holding both
networks, both optimizers (with their LR schedules), the generator average
(when EMA is on), the step, the real-data sampler, the metric history, the
random state, the config that made it and the package version. Weights-only
files (``*_gen.pdparams``, ``*_dis.pdparams``, ``*_gen_raw.pdparams``) are
written beside it for eval and for sharing. Every file is written to a
temporary name, flushed to disk and renamed, so a kill or a full disk never
leaves a half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any, Callable, Dict, List, Optional, Sequence

import paddle
from omegaconf import OmegaConf
from paddle import nn

from ppsci_ext.data.safe_pickle import safe_paddle_load
from ppsci_ext.errors import UserError

CHECKPOINT_FORMAT = "ppsci_ext.wgangp.checkpoint/1"
# Keys of a full checkpoint; "generator_ema" only when EMA is on.
REQUIRED_KEYS = ("format", "version", "experiment", "generator", "critic", "optimizer_g", "optimizer_d", "epoch",
                 "global_step", "best", "history", "rng", "sampler", "config")
OPTIONAL_KEYS = ("generator_ema",)
_TEMPORARY = re.compile(r"\.tmp(\d+)$")


def package_version() -> str:
    """Version of ``ppsci_ext`` (stored in checkpoints)."""
    from ppsci_ext import __version__

    return __version__


def _fsync(path: str) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is atomic all the same
    finally:
        os.close(fd)


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` to write a temporary file, flush it to disk and rename it to ``path``.

    Raises:
        UserError: If the file cannot be written (disk full, no permission);
            whatever was at ``path`` before is left untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        os.makedirs(directory, exist_ok=True)
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise UserError(
            f"could not write {path}: {e.strerror or e}. Free disk space or choose a "
            f"writable output_dir=...; any previous {os.path.basename(path)} there is intact."
        ) from None
    _fsync_directory(directory)


def atomic_save(obj: Any, path: str) -> None:
    """``paddle.save`` to ``path`` through a temporary file and a rename (see ``atomic_write``)."""
    atomic_write(path, lambda tmp: paddle.save(obj, tmp))


def atomic_write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (see ``atomic_write``)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: str) -> List[str]:
    """Delete ``*.tmp<pid>`` files that a killed writer left in ``directory``.

    Files of a process that still runs are kept. Returns the removed paths.
    """
    removed = []
    if not os.path.isdir(directory):
        return removed
    for name in sorted(os.listdir(directory)):
        match = _TEMPORARY.search(name)
        if match and int(match.group(1)) != os.getpid() and not _process_exists(int(match.group(1))):
            path = os.path.join(directory, name)
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass  # a leftover that cannot be removed harms nothing
    return removed


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
    """Load a ``paddle.save`` file through the restricted unpickler, turning unreadable files into ``UserError``.

    A file that asks the unpickler for anything but arrays, containers and
    Paddle's random state is refused before anything from it runs
    (``ppsci_ext.data.safe_pickle.safe_paddle_load``).
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


def _flatten(node: Any, prefix: str = "") -> Dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix: node}
    flat: Dict[str, Any] = {}
    for key, value in node.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def config_differences(saved_yaml: Optional[str], current_yaml: Optional[str],
                       sections: Sequence[str] = ("MODEL", "DATA")) -> List[str]:
    """Settings of ``sections`` that differ between two configs, one line each ("KEY: A in file, B now")."""
    if not saved_yaml or not current_yaml:
        return []
    saved, current = (
        _flatten({k: v for k, v in OmegaConf.to_container(OmegaConf.create(y), resolve=False).items() if k in sections})
        for y in (saved_yaml, current_yaml)
    )
    missing = object()
    return [
        f"{key}: {saved.get(key, 'unset')} in file, {current.get(key, 'unset')} now"
        for key in sorted(set(saved) | set(current))
        if saved.get(key, missing) != current.get(key, missing)
    ]


def resume_problems(state: Dict[str, Any], experiment: str, layers: Dict[str, nn.Layer]) -> List[str]:
    """What keeps ``state`` (a loaded full checkpoint) from resuming this run, one line each.

    Checks the experiment name, the checkpoint's keys (a checkpoint of another
    package version may lack some or carry unknown ones) and the weights of
    ``layers`` ({"generator": ..., "critic": ...}) key by key and shape by shape.
    """
    problems = []
    if state.get("experiment") != experiment:
        problems.append(f"experiment {state.get('experiment')!r} in file, {experiment!r} now")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    unknown = [k for k in state if k not in REQUIRED_KEYS + OPTIONAL_KEYS]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(unknown)}")
    for which, layer in layers.items():
        lines = mismatches(layer, state[which]) if isinstance(state.get(which), dict) else []
        if lines:
            more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
            problems.append(f"different {which} architecture: {'; '.join(lines[:5])}{more}")
    return problems

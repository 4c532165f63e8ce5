"""What a training checkpoint holds, and the checks before resuming from one.

A full checkpoint (``*.pdckpt``) is one ``paddle.save`` file holding both
networks, both optimizers (with their LR schedules), the generator average
(when EMA is on), the step, the real-data sampler, the metric history, the
random state, the config that made it and the package version. Weights-only
files (``*_gen.pdparams``, ``*_dis.pdparams``, ``*_gen_raw.pdparams``) are
written beside it for eval and for sharing. All of them are written by
``ppsci_ext.io.atomic``; loading goes through ``ppsci_ext.io.weights``.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import paddle
from paddle import nn
from ppsci.utils import logger, misc

from ppsci_ext._version import __version__
from ppsci_ext.errors import UserError
from ppsci_ext.io.atomic import atomic_save
from ppsci_ext.io.weights import CHECKPOINT_FORMAT, load_file, mismatches

# Keys of a full checkpoint; "generator_ema" only when EMA is on.
REQUIRED_KEYS = ("format", "version", "experiment", "generator", "critic", "optimizer_g", "optimizer_d", "epoch",
                 "global_step", "best", "history", "rng", "sampler", "config")
OPTIONAL_KEYS = ("generator_ema",)


def package_version() -> str:
    """Version of ``ppsci_ext`` (stored in checkpoints)."""
    return __version__


def optimizer_state(optimizer, layer: nn.Layer) -> Dict[str, Any]:
    """Optimizer state keyed by structured parameter names.

    Paddle keys accumulators by the unique runtime name of each parameter
    (``linear_44.w_0_moment1_0``), which depends on how many layers the process
    created before. Keying by the structured name (``net.0.weight``) makes the
    state loadable into a freshly built model in any process.
    """
    names = {p.name: name for name, p in layer.named_parameters()}
    return {_renamed(key, names)[0]: value for key, value in optimizer.state_dict().items()}


def load_optimizer_state(optimizer, layer: nn.Layer, state: Dict[str, Any]) -> None:
    """Inverse of ``optimizer_state``: restore accumulators into ``optimizer``."""
    names = {name: p.name for name, p in layer.named_parameters()}
    optimizer.set_state_dict({_renamed(key, names)[0]: value for key, value in state.items()})


def _renamed(key: str, names: Dict[str, str]) -> Tuple[str, Optional[str]]:
    """The one name mapping of optimizer state: ``<param>_<suffix>`` -> ``names[<param>]_<suffix>``.

    The longest parameter name that prefixes ``key`` wins (``net.1.weight`` and
    ``net.1.weight_g`` are different parameters). Returns the new key and the
    matched parameter name (None, with ``key`` unchanged, for keys of no parameter
    such as the LR schedule's).
    """
    param = max((n for n in names if key.startswith(n + "_")), key=len, default=None)
    return (names[param] + key[len(param):], param) if param is not None else (key, None)


def load_checkpoint(path: str) -> Dict[str, Any]:
    """Load a full training checkpoint, checking that it is one."""
    obj = load_file(path)
    if not (isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT):
        raise UserError(
            f"{path} is not a full training checkpoint of this package; resume from a "
            f"checkpoints/*.pdckpt file (weights-only .pdparams files cannot resume training)."
        )
    return obj


def flatten(node: Any, prefix: str = "") -> Dict[str, Any]:
    """A nested dict as one dict of dotted keys ({"TRAIN": {"ema": {"decay": 0.9}}} -> {"TRAIN.ema.decay": 0.9})."""
    if not isinstance(node, dict):
        return {prefix: node}
    flat: Dict[str, Any] = {}
    for key, value in node.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _whole(value, low: int = 0) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def _weights_problem(value) -> Optional[str]:
    if not isinstance(value, dict) or not value:
        return "is not a dict of weights"
    for key, tensor in value.items():
        if getattr(tensor, "shape", None) is None:
            return f"holds a {type(tensor).__name__} at {key!r}, not a tensor"
        if not np.all(np.isfinite(np.asarray(tensor, dtype=np.float64))):
            return f"holds NaN or Inf weights (in {key}): the run had diverged when it was written"
    return None


def _optimizer_problem(value) -> Optional[str]:
    if not isinstance(value, dict):
        return "is not a dict"
    for key, item in value.items():
        if key == "LR_Scheduler":
            if not (isinstance(item, dict) and _whole(item.get("last_epoch"), -1)
                    and isinstance(item.get("last_lr"), numbers.Real) and math.isfinite(item["last_lr"])):
                return "has an LR schedule that is not {last_epoch: int, last_lr: number}"
        elif getattr(item, "shape", None) is None:
            return f"holds a {type(item).__name__} at {key!r}, not a tensor"
    return None


def _sampler_problem(value) -> Optional[str]:
    if not (isinstance(value, dict) and {"rng", "perm", "cursor"} <= set(value)):
        return "is not {rng, perm, cursor}"
    perm = value["perm"]
    if not (isinstance(perm, np.ndarray) and perm.ndim == 1 and np.issubdtype(perm.dtype, np.integer)):
        return "has a perm that is not a 1-D integer array"
    if not np.array_equal(np.sort(perm), np.arange(len(perm))):
        return f"has a perm that is not a permutation of 0..{len(perm) - 1}"
    if not (_whole(value["cursor"]) and value["cursor"] <= len(perm)):
        return f"has a cursor outside [0, {len(perm)}]"
    rng = value["rng"]
    if not (isinstance(rng, dict) and isinstance(rng.get("bit_generator"), str) and isinstance(rng.get("state"), dict)):
        return "has a random state that is not NumPy's bit-generator state"
    try:
        np.random.default_rng().bit_generator.state = rng
    except Exception:  # noqa: BLE001 - numpy says many ways that a state is malformed
        return "has a random state that NumPy cannot restore"
    return None


def _rng_problem(value) -> Optional[str]:
    if not (isinstance(value, dict) and isinstance(value.get("paddle"), list) and value["paddle"]
            and all(type(s).__name__ == "GeneratorState" for s in value["paddle"])):
        return "has no Paddle random state"
    state = value.get("numpy")
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == "MT19937"
            and isinstance(state[1], np.ndarray) and state[1].shape == (624,)):
        return "has no NumPy random state"
    return None


def _best_problem(value) -> Optional[str]:
    if not (isinstance(value, dict) and isinstance(value.get("metric"), numbers.Real)
            and not math.isnan(value["metric"]) and _whole(value.get("epoch"))):
        return "is not {metric: number, epoch: int}"
    return None


def _history_problem(value) -> Optional[str]:
    if not (isinstance(value, dict) and all(isinstance(value.get(k), list) for k in ("train", "eval"))
            and all(isinstance(r, dict) for k in ("train", "eval") for r in value[k])):
        return "is not {train: [records], eval: [records]}"
    return None


# What each field of a full checkpoint must hold: a function of the value -> a problem or None.
FIELD_CHECKS = {
    "version": lambda v: None if isinstance(v, str) else "is not a string",
    "experiment": lambda v: None if isinstance(v, str) else "is not a string",
    "generator": _weights_problem,
    "critic": _weights_problem,
    "generator_ema": _weights_problem,
    "optimizer_g": _optimizer_problem,
    "optimizer_d": _optimizer_problem,
    "epoch": lambda v: None if _whole(v) else "is not a whole number >= 0",
    "global_step": lambda v: None if _whole(v) else "is not a whole number >= 0",
    "best": _best_problem,
    "history": _history_problem,
    "rng": _rng_problem,
    "sampler": _sampler_problem,
    "config": lambda v: None if v is None or isinstance(v, str) else "is not a YAML string",
}


def field_problems(state: Dict[str, Any]) -> List[str]:
    """The fields of a loaded checkpoint that do not hold what this package writes, one line each."""
    problems = []
    for key, check in FIELD_CHECKS.items():
        if key in state:
            problem = check(state[key])
            if problem:
                problems.append(f"field {key!r} {problem}")
    if _whole(state.get("epoch")) and _whole(state.get("global_step")) and state["global_step"] < state["epoch"]:
        problems.append("field 'global_step' is smaller than 'epoch'")
    return problems


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
    problems += field_problems(state)
    for which, layer in layers.items():
        lines = mismatches(layer, state[which]) if isinstance(state.get(which), dict) else []
        if lines:
            more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
            problems.append(f"different {which} architecture: {'; '.join(lines[:5])}{more}")
        else:
            field = {"generator": "optimizer_g", "critic": "optimizer_d"}[which]
            if _optimizer_problem(state.get(field)) is None:
                problems += [f"field {field!r}: {line}" for line in _moment_mismatches(layer, state[field])[:3]]
    return problems


def _moment_mismatches(layer: nn.Layer, state: Dict[str, Any]) -> List[str]:
    """Adam moments (keyed by structured parameter names) whose shape is not their parameter's."""
    shapes = {name: list(p.shape) for name, p in layer.named_parameters()}
    lines = []
    for key, value in state.items():
        name = _renamed(key, {n: n for n in shapes})[1]
        if name is not None and "moment" in key[len(name):] and list(value.shape) != shapes[name]:
            lines.append(f"{key} has shape {list(value.shape)}, its parameter {shapes[name]}")
    return lines


def checkpoint_state(solver, epoch_id: int) -> Dict[str, Any]:
    """Everything needed to resume after ``epoch_id``."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": package_version(),
        "experiment": solver.experiment,
        "generator": solver.model.generator.state_dict(),
        "critic": solver.model.critic.state_dict(),
        "optimizer_g": optimizer_state(solver.optimizer_g, solver.model.generator),
        "optimizer_d": optimizer_state(solver.optimizer_d, solver.model.critic),
        "epoch": epoch_id,
        "global_step": solver.global_step,
        "best": dict(solver.best),
        "history": solver.history,
        "rng": {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state()},
        "sampler": solver.real_batches.state_dict(),
        "config": solver.config_yaml,
    }
    if solver.ema_model is not None:
        state["generator_ema"] = solver.ema_model.state_dict()
    return state

def save_checkpoint(solver, epoch_id: int, prefix: str) -> str:
    """Write ``checkpoints/{prefix}.pdckpt`` plus weights-only files, each atomically.

    ``{prefix}_gen.pdparams`` is the generator that evaluation uses: the
    average when EMA is on (the raw weights then go to
    ``{prefix}_gen_raw.pdparams``). The full checkpoint is written last.
    """
    if solver.ema_model is not None and solver.ema_model.is_applied:
        raise RuntimeError("save_checkpoint called inside averaged_generator(): the raw weights are swapped out")
    solver.check_finite_weights()
    directory = os.path.join(solver.output_dir, "checkpoints")
    if solver.rank != 0:  # data-parallel: every rank holds the same weights; rank 0 writes them
        return os.path.join(directory, f"{prefix}.pdckpt")
    generator = solver.model.generator.state_dict()
    files = {f"{prefix}_{getattr(solver.model, 'weights_tag', 'dis')}.pdparams": solver.model.critic.state_dict()}
    if solver.ema_model is None:
        files[f"{prefix}_gen.pdparams"] = generator
    else:
        files[f"{prefix}_gen.pdparams"] = solver.ema_model.state_dict()
        files[f"{prefix}_gen_raw.pdparams"] = generator
    for name, weights in files.items():
        atomic_save(weights, os.path.join(directory, name))
    path = os.path.join(directory, f"{prefix}.pdckpt")
    atomic_save(solver.checkpoint_state(epoch_id), path)
    if prefix == "latest":
        solver.last_checkpoint = path
    logger.message(f"Saved checkpoint {path} ({solver.step_name} {solver.global_step})")
    return path

def resume(solver, path: str, loaded: Optional[Dict[str, Any]] = None) -> None:
    """Restore networks, optimizers, generator average, step, history, the
    real-data sampler and the random state from ``path`` (its contents ``loaded``
    by ``load_checkpoint`` when the caller has already read it).

    Raises:
        UserError: Listing everything that does not match (experiment,
            checkpoint keys of another package version, architecture, data size).
    """
    state = loaded if loaded is not None else load_checkpoint(path)
    model = solver.model
    problems = resume_problems(state, solver.experiment, {"generator": model.generator, "critic": model.critic})
    sampler = state.get("sampler")
    if _sampler_problem(sampler) is None and len(sampler["perm"]) != solver.real_batches.num_samples:
        problems.append(f"real data: {len(sampler['perm'])} samples in file, {solver.real_batches.num_samples} now")
    if problems:
        version = state.get("version")
        written = "" if version == package_version() else \
            f" (written by ppsci_ext {version or 'of unknown version'}, this is {package_version()})"
        raise UserError(
            f"cannot resume from {path}{written}: {'; '.join(problems)}. Resume with the settings and package "
            f"version that wrote it, or train from scratch without it."
        )
    model.generator.set_state_dict(state["generator"])
    model.critic.set_state_dict(state["critic"])
    load_optimizer_state(solver.optimizer_g, model.generator, state["optimizer_g"])
    load_optimizer_state(solver.optimizer_d, model.critic, state["optimizer_d"])
    if solver.ema_model is not None:
        if "generator_ema" not in state:
            logger.message(f"{path} holds no generator average (EMA was off); it starts from the resumed weights.")
        solver.ema_model.set_state_dict(state.get("generator_ema", state["generator"]))
    elif "generator_ema" in state:
        logger.message(f"EMA is off: the generator average in {path} is not used.")
    solver.real_batches.set_state_dict(state["sampler"])
    solver.start_epoch = int(state["epoch"]) + 1
    solver.global_step = int(state["global_step"])
    solver.best = dict(state["best"])
    solver.history = state["history"]
    paddle.set_rng_state(state["rng"]["paddle"])
    np.random.set_state(state["rng"]["numpy"])
    if solver.world_size > 1:  # the file holds rank 0's streams; give each rank its own again
        misc.set_random_seed(int(np.random.default_rng([int(state["global_step"]), solver.rank]).integers(2**31)))
    solver.last_checkpoint = path
    logger.message(f"Resumed from {path} at epoch {state['epoch']} ({solver.step_name} {solver.global_step})")

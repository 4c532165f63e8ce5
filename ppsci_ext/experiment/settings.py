"""The door: a Hydra config or Python values become one typed, immutable ``Settings``, checked once.

Two front doors lead to the same object:

- ``from_hydra(cfg, keys)``: the example scripts' composed ``DictConfig``; the
  keys the user set on the command line are read from Hydra's overrides.
- ``from_values(name, keys, values)``: the Python API. The defaults are the
  example's YAML (``conf/wgangp_<name>.yaml``, read with OmegaConf, not Hydra:
  no global state is touched); ``values`` may be nested
  (``{"TRAIN": {"batch_size": 64}}``) or dotted (``{"TRAIN.batch_size": 64}``).

Both run the same checks (``config.check_config``, unknown keys, PaddleScience
keys), so a bad value gets the same one-line message from either door. What
comes out holds exactly the declared keys: reading an undeclared one is an
``AttributeError`` naming it, never a silent default.

``resumed(settings, stored_yaml, keys)`` is the third step of a resume: the
settings of the run being continued, with what the user set on top, compared
key by key (``RESUMABLE`` may change; anything else only with
``TRAIN.allow_resume_changes=true``).

Examples:
    >>> from ppsci_ext.experiment.settings import from_values
    >>> from ppsci_ext.experiment.toy import ToyExperiment
    >>> s = from_values("toy", ToyExperiment.all_keys(), {"TRAIN": {"batch_size": 64}, "output_dir": "runs/a"})
    >>> s.TRAIN.batch_size, "TRAIN.batch_size" in s.given
    (64, True)
"""

from __future__ import annotations

import os
from typing import Any, Dict, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Tuple

from omegaconf import DictConfig, ListConfig, OmegaConf

from ppsci_ext.errors import UserError
from ppsci_ext.experiment.config import (
    Key,
    check_config,
    check_ppsci_keys,
    check_unknown_keys,
    command_line_overrides,
    get,
    script_stem,
    show,
)
from ppsci_ext.solver.state import flatten

# Keys that describe this invocation, not the run: a resume takes them from the command line, not the file.
INVOCATION_KEYS = ("mode", "output_dir", "log_freq", "log_level", "device", "use_vdl", "use_tbd", "use_wandb",
                   "TRAIN.checkpoint_path", "TRAIN.allow_resume_changes", "TRAIN.overwrite")
# Stored keys a resume may change without changing what the next iterations compute (reported, not refused).
RESUMABLE = ("TRAIN.epochs", "TRAIN.save_freq", "TRAIN.eval_during_train", "TRAIN.eval_freq", "TRAIN.eval_prdc",
             "TRAIN.monitor", "EVAL.", "VIS.", "INFER.")
FREE_GROUPS = ("wandb_config",)  # passed on as they are (wandb.init's arguments)


class Section(Mapping):
    """An immutable group of settings with attribute access (``s.TRAIN.batch_size``).

    Args:
        path (str): Dotted name of the group ("" for the root, "TRAIN", "TRAIN.ema").
        values (Mapping[str, Any]): Its keys; nested dicts become ``Section``.
    """

    def __init__(self, path: str, values: Mapping[str, Any]):
        built = {}
        for key, value in values.items():
            where = f"{path}.{key}" if path else key
            built[key] = Section(where, value) if isinstance(value, Mapping) and key not in FREE_GROUPS else value
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_values", built)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        path = object.__getattribute__(self, "_path")
        raise AttributeError(f"{path + '.' if path else ''}{name} is not a setting of this experiment")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only; build new ones with from_values / resumed")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Section({self._path or 'root'}: {self.to_dict()})"

    def to_dict(self) -> Dict[str, Any]:
        """The settings as plain nested dicts."""
        return {k: v.to_dict() if isinstance(v, Section) else v for k, v in self._values.items()}


class Settings(Section):
    """A run's settings: every declared key, checked; ``given`` names those the user set explicitly.

    Args:
        values (Mapping[str, Any]): Nested values of the declared keys (and ``wandb_config``).
        given (FrozenSet[str]): Dotted keys set on the command line or by the caller.
    """

    def __init__(self, values: Mapping[str, Any], given: FrozenSet[str] = frozenset()):
        super().__init__("", values)
        object.__setattr__(self, "given", frozenset(given))

    def at(self, path: str) -> Any:
        """The value of a dotted key."""
        node: Any = self
        for part in path.split("."):
            node = node[part]
        return node

    def to_yaml(self) -> str:
        """The settings as stored in checkpoints (read back by ``resumed``)."""
        return OmegaConf.to_yaml(OmegaConf.create(self.to_dict()))


def _plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def check(cfg: DictConfig, keys: Sequence[Key], given: Sequence[str] = ()) -> Settings:
    """Check every key of ``cfg`` and return the declared ones as ``Settings``.

    Raises:
        UserError: The first problem, in one line naming the key.
    """
    check_config(cfg, keys)
    paths = [k.path for k in keys]
    check_unknown_keys(cfg, paths)
    check_ppsci_keys(cfg, paths)
    values: Dict[str, Any] = {}
    for key in keys:
        node = values
        *groups, last = key.path.split(".")
        for group in groups:
            node = node.setdefault(group, {})
        value = _plain(get(cfg, key.path, None))
        node[last] = list(value) if key.kind is list and value is not None else value
    for group in FREE_GROUPS:
        values[group] = _plain(cfg.get(group)) or {}
    return Settings(values, frozenset(p for p in given if p in paths or p.split(".")[0] in FREE_GROUPS))


def from_hydra(cfg: DictConfig, keys: Sequence[Key]) -> Settings:
    """The door of the example scripts: a composed Hydra config (what the command line set is ``given``).

    Hydra has made ``output_dir`` already: should the run be refused, a folder made for it
    (its default, which the command line did not name) is removed again (``folders``).
    """
    from ppsci_ext.experiment import folders

    given = list(command_line_overrides(cfg))
    try:
        output_dir = str(cfg.output_dir)
    except Exception:  # noqa: BLE001 - an unreadable output_dir is reported by the key checks below
        output_dir = None
    if output_dir:
        folders.discard_on_refusal(output_dir, made_for_the_run="output_dir" not in given)
    masked = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    job_dir = multirun_job_dir()
    if job_dir is not None:  # -m: each job writes into its own folder below output_dir
        masked = OmegaConf.merge(masked, {"output_dir": job_dir})
    return check(masked, keys, given)


def multirun_job_dir() -> Optional[str]:
    """Under ``-m`` (Hydra's multirun), this job's folder (``output_dir/<job number>``); None otherwise."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hydra_cfg = HydraConfig.get()
    except Exception:  # noqa: BLE001 - not under @hydra.main (a config composed by hand)
        return None
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return str(hydra_cfg.runtime.output_dir)


def example_yaml(name: str) -> str:
    """The YAML of ``examples/wgangp/conf/<script>.yaml`` (shipped inside the package as ``ppsci_ext/conf``)."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf",
                        f"{script_stem(name)}.yaml")
    if not os.path.isfile(here):
        raise UserError(f"the example config {here} is missing; reinstall ppsci_ext (pip install -e .).")
    return here


def dotted(values: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"TRAIN": {"batch_size": 1}, "TRAIN.n_critic": 2}`` -> ``{"TRAIN.batch_size": 1, "TRAIN.n_critic": 2}``."""
    flat: Dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise UserError(f"setting names are strings such as 'TRAIN.batch_size', not {key!r}.")
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and path.split(".")[0] not in FREE_GROUPS:
            flat.update(dotted(value, path))
        else:
            flat[path] = value
    return flat


def from_values(name: str, keys: Sequence[Key], values: Mapping[str, Any]) -> Settings:
    """The Python door: the example's YAML defaults with ``values`` on top, checked as the script checks them.

    Args:
        name (str): The example ("toy", "mnist", "cifar10", "images").
        keys (Sequence[Key]): The experiment's declared keys.
        values (Mapping[str, Any]): Nested or dotted settings (``output_dir`` should be among them).

    Raises:
        UserError: With the script's text for the same bad value or unknown key.
    """
    cfg = OmegaConf.load(example_yaml(name))
    for node in ("defaults", "hydra"):
        cfg.pop(node, None)
    flat = dotted(values)
    if "output_dir" not in flat:  # the YAML's default holds Hydra's ${now:...}
        flat["output_dir"] = f"outputs_{script_stem(name)}"
    for path, value in flat.items():
        OmegaConf.update(cfg, path, value, merge=False, force_add=True)
    return check(cfg, keys, list(flat))


def stored_settings(stored_yaml: Any, path: str) -> Dict[str, Any]:
    """The flat settings stored in a checkpoint (its config YAML), read without running any YAML tag
    (``io.weights.parse_stored_config``)."""
    from ppsci_ext.io.weights import parse_stored_config

    return flatten(OmegaConf.to_container(parse_stored_config(stored_yaml, path), resolve=False))


def resume_changes(stored: Mapping[str, Any], given: Mapping[str, Any]) -> Tuple[List[str], List[str]]:
    """Keys the user set to a value other than the stored one: (harmless, changing the training)."""
    harmless, changing = [], []
    for path, value in sorted(given.items()):
        if path in INVOCATION_KEYS or path not in stored or stored[path] == value:
            continue
        line = f"{path}: {show(stored[path])} in file, {show(value)} now"
        (harmless if any(path == r or (r.endswith(".") and path.startswith(r)) for r in RESUMABLE)
         else changing).append(line)
    return harmless, changing


def resumed(settings: Settings, stored_yaml: Any, keys: Sequence[Key], path: str,
            checked: Sequence[str] = ()) -> Tuple[Settings, List[str], List[str]]:
    """The settings of the run stored in a checkpoint, with what the user set on top.

    Every declared key takes the stored value unless the user set it (``settings.given``)
    or it describes this invocation (``INVOCATION_KEYS``); keys the file predates keep
    this run's value.

    Args:
        settings (Settings): This invocation's settings.
        stored_yaml: The checkpoint's ``config`` entry.
        keys (Sequence[Key]): The experiment's declared keys.
        path (str): The checkpoint, for messages.
        checked (Sequence[str]): Given keys the caller has already found to agree with the stored run
            (e.g. the same file spelt another way); they keep the stored value and are not compared.

    Returns:
        (Settings, List[str], List[str]): The merged settings, the harmless changes ("KEY: A in file,
        B now") and the changes to the training allowed by ``TRAIN.allow_resume_changes``.

    Raises:
        UserError: A change that alters the training without ``TRAIN.allow_resume_changes=true``, or a
            stored config that cannot be read.
    """
    stored = stored_settings(stored_yaml, path)
    given = {p: settings.at(p) for p in settings.given if p.split(".")[0] not in FREE_GROUPS and p not in checked}
    harmless, changing = resume_changes(stored, given)
    if changing and not settings.TRAIN.allow_resume_changes:
        raise UserError(f"{path} was trained with other settings: {'; '.join(changing)}. Drop them from the "
                        "command line (a resume continues with the run's own settings), or set "
                        "TRAIN.allow_resume_changes=true to continue with the new ones.")
    merged = OmegaConf.create(settings.to_dict())
    for key in keys:
        if key.path in stored and key.path not in given and key.path not in INVOCATION_KEYS:
            OmegaConf.update(merged, key.path, stored[key.path], merge=False)
    with_stored = check(merged, keys, sorted(settings.given))
    return with_stored, harmless, changing

"""The config boundary: every key a run accepts is declared here, checked once, and honoured or refused.

Each experiment declares the keys it reads as a list of ``Key`` (type, range,
choices). ``check_config`` validates them all before anything is built, with
one message per problem. The PaddleScience defaults list (``ppsci_default``,
``TRAIN: train_default``, ...) brings ~30 more keys; those this package
honours are declared too (``use_vdl``, ``use_tbd``, ``use_wandb``, ...), and
every other one must keep ppsci's default value: a changed one is refused with
a message naming the key and what to use instead (``PPSCI_REFUSED``), never
silently ignored.

Examples:
    >>> from omegaconf import OmegaConf
    >>> from ppsci_ext.experiment.config import Key, check_config
    >>> check_config(OmegaConf.create({"TRAIN": {"batch_size": 64}}), [Key("TRAIN.batch_size", int, low=1)])
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from omegaconf import DictConfig, ListConfig, OmegaConf

from ppsci_ext.errors import UserError
from ppsci_ext.solver.state import flatten

_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Key:
    """One config key the package reads: its type and the values it may take.

    Args:
        path (str): Dotted key, e.g. "TRAIN.batch_size".
        kind (type): int, float, bool, str or list. An int is accepted where a float is asked.
        low (Optional[float]): Smallest allowed value (inclusive unless ``low_open``).
        high (Optional[float]): Largest allowed value (inclusive unless ``high_open``).
        low_open (bool): ``low`` itself is not allowed.
        high_open (bool): ``high`` itself is not allowed.
        choices (Optional[Tuple]): The allowed values (for str keys, or list items).
        nullable (bool): null is allowed.
    """

    path: str
    kind: type
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    choices: Optional[Tuple] = None
    nullable: bool = False

    def describe(self) -> str:
        """What the key takes, in words ("a whole number >= 1")."""
        if self.choices is not None:
            what = "one of " + ", ".join(show(c) for c in self.choices)
            if self.kind is list:
                what = "a list of " + what
        else:
            what = {int: "a whole number", float: "a number", bool: "true or false", str: "a string",
                    list: "a list"}[self.kind]
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.low_open else '>='} {_number(self.low)}")
            if self.high is not None:
                bounds.append(f"{'<' if self.high_open else '<='} {_number(self.high)}")
            what += " " + " and ".join(bounds) if bounds else ""
        return what + (" or null" if self.nullable else "")

    def problem(self, value: Any) -> Optional[str]:
        """None if ``value`` is allowed, else why not."""
        if value is None:
            return None if self.nullable else "null"
        if self.kind is bool:
            return None if isinstance(value, bool) else repr(value)
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return repr(value)
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return repr(value)
            if not math.isfinite(value):
                return repr(value)
        elif self.kind is str:
            if not isinstance(value, str):
                return repr(value)
        elif self.kind is list:
            if not isinstance(value, (list, tuple, ListConfig)):
                return repr(value)
            if self.choices is not None and any(item not in self.choices for item in value):
                return repr(list(value))
            return None
        if self.choices is not None and value not in self.choices:
            return repr(value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return repr(value)
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return repr(value)
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def get(cfg: DictConfig, path: str, default: Any = _MISSING) -> Any:
    """The value at a dotted ``path`` of ``cfg`` (``default`` when it is absent)."""
    node: Any = cfg
    for part in path.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            if default is _MISSING:
                raise KeyError(path)
            return default
        node = node[part]
    return node


def check_config(cfg: DictConfig, keys: Iterable[Key]) -> None:
    """Check every declared key of ``cfg``; the first problem raises one clear message.

    Raises:
        UserError: Naming the key, the value given and what it takes.
    """
    for key in keys:
        try:
            value = get(cfg, key.path, None)
        except Exception as e:  # an interpolation that cannot be resolved
            raise UserError(f"{key.path} cannot be read ({e}); it must be {key.describe()}.") from None
        if isinstance(value, (DictConfig, ListConfig)) and key.kind is not list:
            given = OmegaConf.to_container(value, resolve=False)
            raise UserError(f"{key.path}={given!r} is not allowed: {key.path} must be {key.describe()}.")
        bad = key.problem(value)
        if bad is not None:
            raise UserError(f"{key.path}={bad} is not allowed: {key.path} must be {key.describe()}.")


# PaddleScience keys this package does not use, with what to use instead. Any of them
# at a value other than ppsci's default is refused.
PPSCI_REFUSED = {
    "use_amp": "this package trains in float32 (mixed precision would break the gradient penalty's double "
               "backward); remove use_amp",
    "amp_level": "there is no mixed precision here; remove amp_level",
    "to_static": "the double backward of the gradient penalty needs dynamic graphs; remove to_static",
    "prim": "remove prim",
    "TRAIN.update_freq": "use TRAIN.batch_size for larger batches instead of gradient accumulation",
    "TRAIN.start_eval_epoch": "use TRAIN.eval_freq",
    "TRAIN.swa": "stochastic weight averaging is not supported; average the generator with "
                 "TRAIN.ema.use_ema=true instead",
    "EVAL.eval_with_no_grad": "evaluation always runs without gradients; remove it",
    "EVAL.compute_metric_by_batch": "metrics are computed over all samples, as the published protocols do; "
                                    "remove it",
}


@functools.lru_cache(maxsize=1)
def ppsci_defaults() -> Dict[str, Any]:
    """ppsci's default value of every key its defaults list adds, flattened ("TRAIN.swa.use_swa": False)."""
    from ppsci.utils import config as ppsci_config

    groups = {
        "": ppsci_config.SolverConfig().model_dump(),
        "TRAIN": ppsci_config.TrainConfig().model_dump(),
        "TRAIN.ema": ppsci_config.EMAConfig().model_dump(),
        "TRAIN.swa": ppsci_config.SWAConfig().model_dump(),
        "EVAL": ppsci_config.EvalConfig().model_dump(),
        "INFER": ppsci_config.InferConfig().model_dump(),
    }
    flat: Dict[str, Any] = {}
    for prefix, values in groups.items():
        flat.update(flatten(values, prefix))
    return {k: v for k, v in flat.items() if k not in ("TRAIN", "EVAL", "INFER", "TRAIN.ema", "TRAIN.swa")}


def check_ppsci_keys(cfg: DictConfig, declared: Sequence[str]) -> None:
    """Refuse every PaddleScience key that this run would ignore but the user changed.

    Args:
        cfg (DictConfig): The composed config.
        declared (Sequence[str]): Keys the experiment reads (they are checked by ``check_config``).

    Raises:
        UserError: Naming the first such key and what to use instead.
    """
    declared = set(declared)
    for path, default in ppsci_defaults().items():
        if path in declared:
            continue
        value = get(cfg, path, default)
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value, resolve=True)
        if value == default:
            continue
        advice = next((a for prefix, a in PPSCI_REFUSED.items() if path == prefix or path.startswith(prefix + ".")),
                      None)
        advice = advice or "this package does not read it; remove it"
        raise UserError(f"{path}={value!r} is a PaddleScience setting this package does not use: {advice}.")


def check_unknown_keys(cfg: DictConfig, declared: Sequence[str], free: Sequence[str] = ("hydra", "wandb_config")) -> None:
    """Refuse keys that neither this package nor PaddleScience's defaults list know (a typo, a ``+KEY=``).

    Args:
        cfg (DictConfig): The composed config.
        declared (Sequence[str]): Keys the experiment reads.
        free (Sequence[str]): Groups whose content is not checked here (Hydra's own, W&B's arguments).

    Raises:
        UserError: Naming the first unknown key.
    """
    known = set(declared) | set(ppsci_defaults())
    values = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k not in free]), resolve=False)
    for path in flatten(values):
        if path not in known:
            raise UserError(f"{path} is not a key of this run; check its spelling (--help lists every key) "
                            "or remove it.")


def command_line_overrides(cfg: Optional[DictConfig] = None) -> Dict[str, str]:
    """``KEY: VALUE`` of the overrides given on the command line.

    Under ``@hydra.main`` they come from ``HydraConfig``; a config composed with
    ``compose(..., return_hydra_config=True)`` carries them in ``cfg.hydra``.
    Empty when neither is there (a config built by hand).
    """
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task)
    except Exception:  # not under @hydra.main
        overrides = list(get(cfg, "hydra.overrides.task", None) or []) if cfg is not None else []
    result = {}
    for item in overrides:
        key, _, value = str(item).lstrip("+~").partition("=")
        result[key] = value
    return result


# Example scripts whose name is not wgangp_<experiment>.py (their YAML is conf/<stem>.yaml).
SCRIPT_STEMS = {"vae_mnist": "vae_mnist"}


def script_stem(experiment: Any) -> str:
    """The example script of ``experiment`` without ".py": ``wgangp_mnist`` for "mnist", ``vae_mnist`` for the VAE."""
    return SCRIPT_STEMS.get(experiment, f"wgangp_{experiment}")


def script(experiment: Any) -> str:
    """The example script of ``experiment``, e.g. ``wgangp_mnist.py`` (what messages tell the user to run)."""
    return script_stem(experiment) + ".py"


def show(value: Any) -> str:
    """A config value as one writes it on the command line (true, null, 0.5, name)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def help_text(yaml_path: str, script: str) -> str:
    """``--help`` of an example: its title and the package's own keys with their YAML comments."""
    with open(yaml_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    title = lines[0].lstrip("# ").split(": python", 1)[0].strip() if lines and lines[0].startswith("#") else ""
    out = [f"{script}: {title}", "", f"Usage: python {script} [KEY=VALUE ...]   (Hydra overrides)", "",
           "Keys, with their defaults:"]
    stack: List[Tuple[int, str]] = []
    skip_indent: Optional[int] = None
    for line in lines:
        text = line.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip())
        if skip_indent is not None:
            if indent > skip_indent:
                continue
            skip_indent = None
        name, _, value = text.strip().partition(":")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if indent == 0 and name in ("defaults", "hydra"):
            skip_indent = 0
            continue
        if text.strip().startswith("-"):
            continue
        path = ".".join([p for _, p in stack] + [name])
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        if value.strip():
            out.append(f"  {path + '=' + value.strip():<38} {comment}".rstrip())
        else:
            stack.append((indent, name))
            if comment:
                out.append(f"  {path}.*: {comment}")
    out += ["", "Also honoured from PaddleScience: use_vdl, use_tbd, use_wandb, wandb_config, log_level;",
            "EVAL.pretrained_model_path is another name of EVAL.pretrained_gen_model_path.",
            "mode=export / mode=infer read PaddleScience's INFER.* keys (listed above; docs/deploy.md).",
            "Other PaddleScience keys (use_amp, to_static, TRAIN.swa, ...) are refused if changed.",
            "Hydra: --cfg job prints the composed config; see https://hydra.cc for --multirun and the rest."]
    return "\n".join(out) + "\n"


def _help_resolver(name: str) -> str:
    script = os.path.basename(sys.argv[0]) or f"{name}.py"
    yaml_path = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "conf", f"{name}.yaml")
    if not os.path.isfile(yaml_path):
        return f"{script}: see the YAML files in conf/\n"
    return help_text(yaml_path, script).replace("$", "$$")  # Hydra fills the template with string.Template


def register_help_resolver() -> None:
    """Make ``${ppsci_ext_help:NAME}`` (the examples' ``hydra.help.template``) available."""
    if not OmegaConf.has_resolver("ppsci_ext_help"):
        OmegaConf.register_new_resolver("ppsci_ext_help", _help_resolver)

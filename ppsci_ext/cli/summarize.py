"""Mean ± std over the runs of a seed sweep: ``ppsci-ext-summarize RUN_DIR [--json OUT] [--markdown OUT] [--floor]``.

::

    python examples/wgangp/wgangp_toy.py -m seed=0,1,2,3,4 output_dir=runs/toy_seeds
    ppsci-ext-summarize runs/toy_seeds                  # -> runs/toy_seeds/summary.json, summary.md
    ppsci-ext-summarize runs/toy_seeds --floor          # next to the real-vs-real floor of the toy data
    ppsci-ext-summarize runs/a runs/b runs/c --json ab.json   # run folders given one by one
    ppsci-ext-summarize runs/toy_seeds --curve          # every evaluation over training -> curve.json, curve.md

``RUN_DIR`` is the ``output_dir`` of a Hydra multirun (``-m``): job k wrote into
``RUN_DIR/k/`` and Hydra's ``multirun.yaml`` lies in ``RUN_DIR``. Every
``RUN_DIR/*/metrics.json`` is read (its ``metrics``: the last evaluation of the
run, i.e. its final weights). Several run folders may be given instead. For
each metric the command prints the number of runs N, mean ± std (the sample
standard deviation, ddof=1), min, max and each run's value, headed by its
seed, as Markdown, and writes the same table to ``RUN_DIR/summary.md`` and the
numbers to ``RUN_DIR/summary.json`` (``--json`` / ``--markdown`` write
elsewhere; with several run folders only these are written).

Jobs whose ``metrics.json`` is missing (the job failed, stopped, or still
runs) are listed as failed with the last ``ERROR:`` line of their log; jobs of
the sweep that never started (Hydra stops a sweep at a failed job) as not run.
Neither is averaged; the exit status is then 1. Runs of different experiments
or of different settings other than the seed (the jobs' ``.hydra/config.yaml``,
or the settings stored in a checkpoint) are refused, as are two runs of one seed.

``--curve`` reads each run's ``train_history.json`` (rewritten after every
evaluation, so runs still training count) instead and tabulates every
evaluation: a row per step, a column per metric (``--metrics`` chooses them),
mean ± std over the runs that reached the step.

``--floor`` (toy data only) computes the real-vs-real floor: ``--floor-draws``
independent sets of as many real points as the runs scored, each scored
against another independent set with the same metrics, as
``benchmarks/toy_quality.py`` does; it is kept in ``RUN_DIR/real_floor.json``
and read from there by later summaries. At 10,000 points it takes about 1 s
per draw, plus 10-15 s per draw when the runs scored precision / recall /
density / coverage (``TRAIN.eval_prdc=true``).
"""

from __future__ import annotations

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import argparse
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ppsci_ext.errors import UserError, check_number, exit_on_user_error
from ppsci_ext.metric import summary as S

# Settings that change nothing the metrics measure: they may differ between the runs of one summary.
IGNORED_SETTINGS = ("seed", "output_dir", "log_freq", "log_level", "use_vdl", "use_tbd", "use_wandb", "wandb_config",
                    "TRAIN.overwrite")
# metrics.json fields that must agree between runs (provenance), with what they are called in messages
SAME_FIELDS = {"experiment": "experiment", "data": "data", "num_samples": "points scored (num_samples)",
               "classifier": "scoring classifier (EVAL.classifier_path)"}
# Files that make a folder a run folder.
RUN_MARKERS = ("metrics.json", ".hydra", "train.log", "checkpoints")
FLOOR_FILE = "real_floor.json"
MAX_DIFFERENCES = 6


@dataclass
class Job:
    """One run of the summary: its folder, its metrics.json, its settings, and whether it finished."""

    label: str
    folder: str
    status: str = "ok"  # ok, failed, not run
    reason: str = ""
    seed: Optional[int] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    info: Dict[str, Any] = field(default_factory=dict)
    settings: Optional[Dict[str, Any]] = None
    overrides: List[str] = field(default_factory=list)
    curve: Dict[int, Dict[str, float]] = field(default_factory=dict)  # --curve: step -> that evaluation's metrics

    @property
    def name(self) -> str:
        return f"job {self.label}" if self.label.isdigit() else self.label

    def describe(self) -> str:
        seed = f" (seed {self.seed})" if self.seed is not None else ""
        return f"{self.name}{seed}: {self.reason}"


# --------------------------------------------------------------------- finding the runs
def is_run_folder(path: str) -> bool:
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in RUN_MARKERS)


def _job_order(name: str) -> Tuple[int, int, str]:
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def sweep_jobs(multirun_yaml: str) -> Optional[List[List[str]]]:
    """The override lists of every job of a Hydra multirun (as Hydra's basic sweeper expands them), in job order;
    None when the sweep cannot be expanded here (another sweeper, or an unreadable file)."""
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(multirun_yaml)
        target = str(OmegaConf.select(cfg, "hydra.sweeper._target_", default="") or "")
        if not target.endswith("BasicSweeper") or OmegaConf.select(cfg, "hydra.sweeper.params", default=None):
            return None
        task = [str(o) for o in OmegaConf.select(cfg, "hydra.overrides.task", default=[]) or []]
        lists = []
        for override in OverridesParser.create().parse_overrides(task):
            if override.is_sweep_override():
                key = override.get_key_element()
                lists.append([f"{key}={value}" for value in override.sweep_string_iterator()])
            else:
                lists.append([override.input_line])
        return [list(job) for job in itertools.product(*lists)]
    except Exception:  # noqa: BLE001 - a damaged multirun.yaml only loses the list of jobs that never ran
        return None


def find_jobs(paths: Sequence[str]) -> Tuple[List[Job], Optional[str]]:
    """The jobs of ``paths`` (one multirun folder, or run folders) and the folder the summary is written to by
    default (the multirun folder or the one run folder; None for several run folders)."""
    for path in paths:
        if not os.path.exists(path):
            raise UserError(f"{path} does not exist; give the output_dir of a multirun (-m) or run folders.")
        if not os.path.isdir(path):
            raise UserError(f"{path} is not a folder; give the output_dir of a multirun (-m) or run folders.")
    root = paths[0]
    multirun = os.path.join(root, "multirun.yaml")
    if len(paths) == 1 and (os.path.isfile(multirun) or not is_run_folder(root)):  # else: one run folder
        names = sorted((n for n in os.listdir(root) if is_run_folder(os.path.join(root, n))), key=_job_order)
        expected = sweep_jobs(multirun) if os.path.isfile(multirun) else None
        if names or expected:
            jobs = [Job(n, os.path.join(root, n)) for n in names]
            for k, overrides in enumerate(expected or []):
                if str(k) not in names:
                    job = Job(str(k), os.path.join(root, str(k)), status="not run",
                              reason="never started (Hydra stops a sweep at a failed job)", overrides=overrides)
                    job.seed = _seed_of(overrides)
                    jobs.append(job)
            return sorted(jobs, key=lambda j: _job_order(j.label)), root
        raise UserError(f"{root} holds no runs (no {os.path.join(root, '*', 'metrics.json')}, no multirun.yaml); "
                            "give the output_dir of a multirun (-m) or run folders.")
    labels = [os.path.basename(os.path.normpath(p)) or p for p in paths]
    if len(set(labels)) < len(labels):
        labels = list(paths)
    if len(set(os.path.realpath(p) for p in paths)) < len(paths):
        raise UserError(f"a run folder is given twice: {' '.join(paths)}.")
    jobs = [Job(label, path) for label, path in zip(labels, paths)]
    return jobs, (paths[0] if len(paths) == 1 else None)  # one run folder keeps its own summary / curve


def _seed_of(overrides: Sequence[str]) -> Optional[int]:
    for item in overrides:
        key, _, value = item.partition("=")
        if key.lstrip("+") == "seed":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------- reading a run
def _set_seed(job: Job, seed: Any) -> None:
    """Take ``seed`` as the job's seed when it is a whole number (a bool is not); else keep what it had."""
    if isinstance(seed, int) and not isinstance(seed, bool):
        job.seed = seed


def _last_error(folder: str) -> str:
    """The last ``ERROR:`` line of the run's log (train.log, or the log Hydra wrote), or ''."""
    for name in ("train.log", "run.log", os.path.basename(os.path.normpath(folder)) + ".log"):
        try:
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                lines = [line.strip() for line in f if "ERROR:" in line]
        except OSError:
            continue
        if lines:
            return lines[-1][lines[-1].index("ERROR:"):]
    return ""


def _flat(node: Any, prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if isinstance(node, dict) and node:
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = node
    return out


def read_settings(job: Job) -> None:
    """The run's settings: its ``.hydra/config.yaml``, else the config stored in its latest checkpoint."""
    from omegaconf import OmegaConf

    config = os.path.join(job.folder, ".hydra", "config.yaml")
    if os.path.isfile(config):
        try:
            job.settings = _flat(OmegaConf.to_container(OmegaConf.load(config), resolve=False))
            return
        except Exception as e:  # noqa: BLE001 - a damaged file: refused below, naming it
            raise UserError(f"{config} is not readable YAML ({type(e).__name__}: {e}); the run's settings cannot "
                            "be compared.") from None
    checkpoint = job.info.get("checkpoint") or os.path.join(job.folder, "checkpoints", "latest.pdckpt")
    if isinstance(checkpoint, str) and os.path.isfile(checkpoint):
        from ppsci_ext.io.weights import parse_stored_config
        from ppsci_ext.solver.state import load_checkpoint

        stored = load_checkpoint(checkpoint).get("config")
        if stored is not None:
            job.settings = _flat(OmegaConf.to_container(parse_stored_config(stored, checkpoint), resolve=False))


def read_job(job: Job) -> None:
    """Fill ``job`` from its folder: metrics, seed and settings, or why it failed."""
    if job.status != "ok":
        return
    path = os.path.join(job.folder, "metrics.json")
    if not os.path.isfile(path):
        error = _last_error(job.folder)
        job.status, job.reason = "failed", "no metrics.json" + (f" ({error})" if error else
                                                                  " (it failed, was stopped, or is still running)")
    else:
        try:
            with open(path, encoding="utf-8") as f:
                job.info = json.load(f)
            if not isinstance(job.info, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            job.info = {}
            job.status, job.reason = "failed", f"metrics.json is not readable ({type(e).__name__}: {e})"
        metrics = job.info.get("metrics")
        job.metrics = {k: float(v) for k, v in metrics.items() if S.is_number(v)} if isinstance(metrics, dict) else {}
        if job.status == "ok" and not job.metrics:
            job.status, job.reason = "failed", "metrics.json holds no metrics (TRAIN.eval_during_train=false?)"
    if os.path.isdir(job.folder):
        read_settings(job)
    _set_seed(job, job.info.get("seed", (job.settings or {}).get("seed")))
    total = _planned_iterations(job.settings or {})
    step = job.info.get("step")
    if job.status == "ok" and total and isinstance(step, int) and step < total:
        job.status, job.reason = "failed", f"unfinished: evaluated at generator iteration {step:,} of {total:,}"


def _planned_iterations(settings: Dict[str, Any]) -> Optional[int]:
    if settings.get("mode") != "train" or settings.get("TRAIN.checkpoint_path"):
        return None
    epochs, iters = settings.get("TRAIN.epochs"), settings.get("TRAIN.iters_per_epoch")
    return epochs * iters if isinstance(epochs, int) and isinstance(iters, int) else None


# --------------------------------------------------------------------- checks
def _names(jobs: Sequence[Job]) -> str:
    if all(j.label.isdigit() for j in jobs):
        return ("job " if len(jobs) == 1 else "jobs ") + ", ".join(j.label for j in jobs)
    return ", ".join(j.name for j in jobs)


def check_same_settings(jobs: Sequence[Job], where: str) -> None:
    """Refuse runs of different experiments or settings other than the seed, and two runs of one seed."""
    differences = []
    ok = [j for j in jobs if j.status == "ok"]
    for key, what in SAME_FIELDS.items():
        groups = _groups(ok, lambda j: j.info.get(key))
        if len(groups) > 1:
            differences.append(f"{what}: " + ", ".join(f"{v} in {_names(g)}" for v, g in groups))
    with_settings = [j for j in jobs if j.settings is not None]
    keys = sorted({k for j in with_settings for k in j.settings} - set(IGNORED_SETTINGS))
    for key in keys:
        groups = _groups(with_settings, lambda j: j.settings.get(key, "(not set)"))
        if len(groups) > 1:
            differences.append(f"{key}: " + ", ".join(f"{v} in {_names(g)}" for v, g in groups))
    if differences:
        more = len(differences) - MAX_DIFFERENCES
        shown = "; ".join(differences[:MAX_DIFFERENCES]) + (f"; and {more} more" if more > 0 else "")
        raise UserError(f"{where} mixes runs of different experiments or settings (only the seed may differ): "
                        f"{shown}. Summarize the runs of each setting on their own.")
    seeds = _groups([j for j in ok if j.seed is not None], lambda j: j.seed)
    twice = [(seed, group) for seed, group in seeds if len(group) > 1]
    if twice:
        raise UserError(f"{where} holds several runs of one seed: " + "; ".join(
            f"seed {seed} in {_names(g)}" for seed, g in twice) + ". Each run of a summary needs its own seed.")


def _groups(jobs: Sequence[Job], value) -> List[Tuple[Any, List[Job]]]:
    groups: Dict[str, Tuple[Any, List[Job]]] = {}
    for job in jobs:
        v = value(job)
        groups.setdefault(json.dumps(v, sort_keys=True, default=str), (v, []))[1].append(job)
    return list(groups.values())


# --------------------------------------------------------------------- the floor
def floor_parameters(ok: Sequence[Job]) -> Tuple[Optional[str], Optional[int], bool, str]:
    """(toy data mode, points per score, with PRDC, why there is no floor) of the runs."""
    from ppsci_ext.data.toy import TOY_MODES

    info = ok[0].info
    experiment, data, n = info.get("experiment"), info.get("data"), info.get("num_samples")
    if experiment != "toy" or data not in TOY_MODES:
        what = f"the {experiment} experiment" if experiment != "toy" else f"DATA.mode={data}"
        return None, None, False, (f"{what} has no real-vs-real floor here (it needs fresh points from one of the "
                                   f"toy samplers: {', '.join(TOY_MODES)})")
    if not isinstance(n, int) or n < 2:
        return None, None, False, "the runs' metrics.json do not say how many points they scored (num_samples)"
    prdc = any(k.startswith("prdc.") for j in ok for k in j.metrics)
    return data, n, prdc, ""


def get_floor(ok: Sequence[Job], out_dir: Optional[str], compute: bool, draws: int, seed: int
              ) -> Optional[Dict[str, Any]]:
    """The floor: computed (``compute``; saved to ``out_dir/real_floor.json``), or read from that file when it
    was computed for the same data, points and metrics; None otherwise."""
    mode, n, prdc, why = floor_parameters(ok)
    if mode is None:
        if compute:
            raise UserError(f"--floor: {why}.")
        return None
    path = os.path.join(out_dir, FLOOR_FILE) if out_dir else None
    if not compute:
        if not path or not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                floor = json.load(f)
        except (OSError, ValueError):
            print(f"warning: {path} is not readable; no floor (--floor computes it again)", file=sys.stderr)
            return None
        if not (isinstance(floor, dict) and floor.get("data") == mode and floor.get("num_samples") == n
                and floor.get("prdc") == prdc and isinstance(floor.get("draws"), list) and floor["draws"]):
            print(f"note: {path} is the floor of other runs; --floor computes this one", file=sys.stderr)
            return None
        floor["file"] = path
        return floor
    print(f"real-vs-real floor of {mode}: {draws} draws of {n:,} points"
          + (" (with precision/recall/density/coverage)" if prdc else ""), file=sys.stderr, flush=True)
    floor = {"data": mode, "num_samples": n, "prdc": prdc, "seed": seed,
             "draws": S.real_floor(mode, n, draws, seed, prdc)}
    if path:
        from ppsci_ext.io.atomic import atomic_write_text

        atomic_write_text(json.dumps(floor, indent=1) + "\n", path)
        floor["file"] = path
    return floor


# --------------------------------------------------------------------- the summary
def build_summary(jobs: Sequence[Job], where: str, floor: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The summary as a JSON-able dict: runs, failed / not-run jobs, per-metric statistics, the floor."""
    ok = [j for j in jobs if j.status == "ok"]
    labels = {j.label: seed_label(j) for j in ok}
    metrics = S.summarize_runs({labels[j.label]: j.metrics for j in ok})
    info = ok[0].info if ok else {}
    result = {
        "run_dir": where,
        "experiment": info.get("experiment"),
        "data": info.get("data"),
        "num_runs": len(ok),
        "seeds": [j.seed for j in ok],
        "std": "sample standard deviation (ddof=1)",
        "num_samples": info.get("num_samples"),
        "steps": sorted({j.info.get("step") for j in ok if isinstance(j.info.get("step"), int)}),
        "runs": [{"job": j.label, "folder": j.folder, "seed": j.seed, "column": labels[j.label]} for j in ok],
        "failed": [{"job": j.label, "folder": j.folder, "seed": j.seed, "status": j.status, "reason": j.reason}
                   for j in jobs if j.status != "ok"],
        "metrics": metrics,
        "floor": None,
    }
    if floor:
        result["floor"] = {"data": floor["data"], "num_samples": floor["num_samples"], "num_draws": len(floor["draws"]),
                           "seed": floor.get("seed"), "file": floor.get("file"),
                           "metrics": S.floor_for_keys(floor["draws"], list(metrics))}
    return result


def seed_label(job: Job) -> str:
    """The column of a run: ``seed 3`` (a multirun job, or a run with a seed), else its folder's name."""
    return f"seed {job.seed}" if job.seed is not None else job.label


def summary_markdown(summary: Dict[str, Any]) -> str:
    """The Markdown of a summary (what ``ppsci-ext-summarize`` prints and writes to summary.md)."""
    n = summary["num_runs"]
    what = summary["experiment"] or "runs"
    if summary["data"]:
        what += f" ({summary['data']})"
    lines = [f"## {what}: mean ± std over {n} run{'' if n == 1 else 's'}", ""]
    facts = [f"Runs in `{summary['run_dir']}`; {S.STD_NOTE}, undefined (-) for one run."]
    if summary["steps"]:
        facts.append(f"Each run's last evaluation (generator iteration {', '.join(f'{s:,}' for s in summary['steps'])}"
                     + (f", {summary['num_samples']:,} points" if isinstance(summary["num_samples"], int) else "")
                     + ").")
    floor = summary["floor"]
    if floor:
        facts.append(f"Real vs real: mean ± std of {floor['num_draws']} independent draws of "
                     f"{floor['num_samples']:,} real points, each against another draw.")
    lines += [" ".join(facts), ""]
    if n:
        labels = [r["column"] for r in summary["runs"]]
        lines += [S.summary_table(summary["metrics"], labels, floor["metrics"] if floor else None), ""]
    return "\n".join(lines + _left_out(summary["failed"]))


def _left_out(failed: Sequence[Dict[str, Any]]) -> List[str]:
    """The Markdown lines naming the runs not in the table, and why."""
    if not failed:
        return []
    lines = [f"Left out ({len(failed)}):"]
    for f in failed:
        name = f"job {f['job']}" if f["job"].isdigit() else f["job"]
        seed = f" (seed {f['seed']})" if f["seed"] is not None else ""
        lines.append(f"- {f['status'].upper()}: {name}{seed}: {f['reason']}")
    return lines + [""]


# --------------------------------------------------------------------- the curve
def read_curve(job: Job) -> None:
    """Fill ``job.curve`` from the run's ``train_history.json`` (rewritten after every evaluation), or say why not."""
    path = os.path.join(job.folder, "train_history.json")
    if job.status == "not run":
        return
    job.status, job.reason = "ok", ""
    if not os.path.isfile(path):
        job.status, job.reason = "failed", ("no train_history.json (the run has not evaluated yet, or trained with "
                                            "TRAIN.eval_during_train=false)")
        return
    try:
        with open(path, encoding="utf-8") as f:
            records = json.load(f).get("eval")
        if not isinstance(records, list):
            raise ValueError("no list of evaluations under 'eval'")
    except (OSError, ValueError, AttributeError) as e:
        job.status, job.reason = "failed", f"train_history.json is not readable ({type(e).__name__}: {e})"
        return
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            job.curve[record["step"]] = {k: float(v) for k, v in record.items() if k != "step" and S.is_number(v)}
    if not job.curve:
        job.status, job.reason = "failed", "train_history.json holds no evaluation yet"


def curve_columns(jobs: Sequence[Job], wanted: Optional[Sequence[str]]) -> List[str]:
    """The metric keys of the curve: ``wanted`` (full keys or short names, in that order), else every metric
    the runs evaluated but the per-split spreads (``*_std``), in table order."""
    keys = S.ordered_keys({k for j in jobs for record in j.curve.values() for k in record})
    if not wanted:
        return [k for k in keys if not k.endswith("_std")]
    columns = []
    for name in wanted:
        hits = [k for k in keys if k == name] or [k for k in keys if S.metric_name(k) == name]
        if not hits:
            raise UserError(f"--metrics: the runs evaluated no metric {name!r}; they have {', '.join(keys)}.")
        columns += [k for k in hits if k not in columns]
    return columns


def build_curve(jobs: Sequence[Job], where: str, wanted: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Each evaluation step's metrics over the runs that reached it: values (one run) or mean ± std."""
    ok = [j for j in jobs if j.status == "ok"]
    columns = curve_columns(ok, wanted)
    steps = sorted({step for j in ok for step in j.curve})
    rows = []
    for step in steps:
        row = {"step": step, "num_runs": sum(step in j.curve for j in ok), "metrics": {}}
        for key in columns:
            values = {seed_label(j): j.curve[step][key] for j in ok if key in j.curve.get(step, {})}
            if values:
                mean, std = S.mean_std(list(values.values()))
                row["metrics"][key] = {"mean": mean, "std": std, "values": values}  # values by seed, as summary.json
        rows.append(row)
    return {"run_dir": where, "num_runs": len(ok), "runs": [j.label for j in ok], "seeds": [j.seed for j in ok],
            "columns": columns, "rows": rows,
            "failed": [{"job": j.label, "seed": j.seed, "status": j.status, "reason": j.reason}
                       for j in jobs if j.status != "ok"]}


def curve_markdown(curve: Dict[str, Any]) -> str:
    """The Markdown of a curve: a row per evaluation, a column per metric."""
    n = curve["num_runs"]
    head = f"## Evaluations over training: {'one run' if n == 1 else f'mean ± std over {n} runs'}"
    lines = [head, "", f"Runs in `{curve['run_dir']}`" + ("" if n == 1 else f"; {S.STD_NOTE}") + ".", ""]
    several = n > 1 and any(row["num_runs"] < n for row in curve["rows"])
    header = ["step"] + (["runs"] if several else []) + curve["columns"]
    body = []
    for row in curve["rows"]:
        cells = [f"{row['step']:,}"] + ([str(row["num_runs"])] if several else [])
        for key in curve["columns"]:
            cell = row["metrics"].get(key)
            cells.append("-" if cell is None else S.format_value(cell["mean"]) if n == 1 else
                         S.format_mean_std(list(cell["values"].values())))
        body.append(cells)
    lines += [S.markdown_table(header, body), ""]
    return "\n".join(lines + _left_out(curve["failed"]))


def run_curve(args) -> int:
    """``--curve``: the table of every evaluation of the runs (finished or still training)."""
    jobs, out_dir = find_jobs(args.run_dirs)
    for job in jobs:
        read_curve(job)
        if os.path.isdir(job.folder):
            read_settings(job)
        _set_seed(job, (job.settings or {}).get("seed"))
    where = out_dir or " ".join(args.run_dirs)
    check_same_settings(jobs, where)
    if not any(j.status == "ok" for j in jobs):
        raise UserError(f"no run of {where} has evaluated yet: " + "; ".join(j.describe() for j in jobs) + ".")
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    curve = build_curve(jobs, where, wanted)
    return _write(args, out_dir, "curve", curve, curve_markdown(curve), jobs)


# --------------------------------------------------------------------- the command
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ppsci-ext-summarize",
        description="Mean ± std (sample std, ddof=1), min, max and per-seed values of every metric over the runs of "
                    "a multirun (-m) folder or of run folders; writes RUN_DIR/summary.json and summary.md.",
        epilog="Example: python examples/wgangp/wgangp_toy.py -m seed=0,1,2 output_dir=runs/sweep && "
               "ppsci-ext-summarize runs/sweep --floor (docs/training.md, 'Several seeds')")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="the output_dir of a multirun (its jobs RUN_DIR/*/ are read), or several run folders")
    parser.add_argument("--json", metavar="OUT", help="write the summary as JSON to OUT (default RUN_DIR/summary.json)")
    parser.add_argument("--markdown", metavar="OUT", help="write the Markdown to OUT (default RUN_DIR/summary.md)")
    parser.add_argument("--floor", action="store_true",
                        help="compute the real-vs-real floor of the toy data (kept in RUN_DIR/real_floor.json, "
                             "which later summaries read)")
    parser.add_argument("--floor-draws", type=int, default=10, metavar="K",
                        help="independent real-vs-real draws of the floor (default 10)")
    parser.add_argument("--floor-seed", type=int, default=S.FLOOR_SEED,
                        help=f"seed of the floor's draws (default {S.FLOOR_SEED}, as benchmarks/toy_quality.py)")
    parser.add_argument("--curve", action="store_true",
                        help="instead: every evaluation of the runs over training (their train_history.json, also "
                             "of runs still training), mean ± std at each step; writes RUN_DIR/curve.json, curve.md")
    parser.add_argument("--metrics", metavar="A,B",
                        help="--curve: these metrics only (e.g. mnist.score,mnist.frechet; default all but *_std)")
    return parser


# every numeric flag and its rule (tests check each one)
NUMERIC_FLAGS = {"--floor-draws": dict(low=1, whole=True, default=10),
                 "--floor-seed": dict(low=0, high=2 ** 32 - 1, whole=True, default=S.FLOOR_SEED)}


def run(args) -> int:
    for flag, rule in NUMERIC_FLAGS.items():
        check_number(getattr(args, flag[2:].replace("-", "_")), flag, **rule)
    if args.metrics and not args.curve:
        raise UserError("--metrics chooses the columns of --curve; add --curve, or leave --metrics out.")
    if args.curve:
        if args.floor:
            raise UserError("--floor belongs to the summary of final metrics, not to --curve; give one of them.")
        return run_curve(args)
    jobs, out_dir = find_jobs(args.run_dirs)
    for job in jobs:
        read_job(job)
    where = out_dir or " ".join(args.run_dirs)
    check_same_settings(jobs, where)
    ok = [j for j in jobs if j.status == "ok"]
    if not ok:
        raise UserError(f"no run of {where} has finished with a metrics.json: "
                        + "; ".join(j.describe() for j in jobs) + ".")
    floor = get_floor(ok, out_dir, args.floor, args.floor_draws, args.floor_seed)
    summary = build_summary(jobs, where, floor)
    return _write(args, out_dir, "summary", summary, summary_markdown(summary), jobs)


def _write(args, out_dir: Optional[str], name: str, result: Dict[str, Any], text: str, jobs: Sequence[Job]) -> int:
    """Print ``text``; write it and ``result`` to ``--markdown`` / ``--json`` or ``out_dir/name.{md,json}``;
    name the runs left out. Exit status 1 when some run was left out."""
    json_out = args.json or (os.path.join(out_dir, f"{name}.json") if out_dir else None)
    md_out = args.markdown or (os.path.join(out_dir, f"{name}.md") if out_dir else None)
    from ppsci_ext.io.atomic import atomic_write_text

    if json_out:
        atomic_write_text(json.dumps(_jsonable(result), indent=1) + "\n", json_out)
    if md_out:
        atomic_write_text(text + "\n", md_out)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    written = [p for p in (json_out, md_out) if p]
    print("written: " + ", ".join(written) if written else
          "nothing written (several run folders: give --json OUT and/or --markdown OUT)", file=sys.stderr)
    for job in jobs:
        if job.status != "ok":
            print(f"{job.status.upper()}: {job.describe()}", file=sys.stderr)
    return 1 if any(j.status != "ok" for j in jobs) else 0


def _jsonable(value):
    """NaN (the std of one run, a metric a run lacks) as null: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point of ``ppsci-ext-summarize``."""
    args = build_parser().parse_args(argv)
    sys.exit(exit_on_user_error(run)(args))


if __name__ == "__main__":
    main()

"""Quality of toy generators: modes, high-quality fraction, reverse KL, SWD, precision/recall, density/coverage.

Every score compares --num-samples (10,000) generated or real points with as many
fresh real points, like the metrics.json of examples/wgangp/wgangp_toy.py.

Without --seeds: for each toy dataset, scores the weights shipped with the
package (or those in --weights-dir, wgangp_toy_{mode}_gen.pdparams files as the
package ships them) and an untrained generator of the same architecture, next
to the real-vs-real floor, and prints one Markdown table:

    python benchmarks/toy_quality.py
    python benchmarks/toy_quality.py --weights-dir DIR --modes 8gaussians --floor-draws 3

With --seeds N: trains N independent runs per dataset (seeds 0..N-1, or from
--first-seed), each as its own process

    python examples/wgangp/wgangp_toy.py DATA.mode=M seed=S output_dir=WORK/M/seed_S \\
        DATA.num_eval_samples=NUM_SAMPLES TRAIN.eval_prdc=true [--epochs/--iters-per-epoch/--override ...]

on ONE thread (OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=1; the
package only sets its own thread default when OMP_NUM_THREADS is unset), --jobs
(default: the usable CPU cores) at a time, each writing stdout and stderr to
WORK/M/seed_S/run.log. It then reads every metrics.json (the last evaluation of
the run, i.e. its final weights) and prints per dataset a Markdown table of
every metric as mean ± std (sample std, ddof=1) over the seeds, with N, next to
the real-vs-real floor, plus the per-seed values and wall times. Means, std and tables come from
ppsci_ext/metric/summary.py, as in ``ppsci-ext-summarize``, which summarizes kept runs again
(``ppsci-ext-summarize WORK/M --floor``) and the jobs of ``wgangp_toy.py -m seed=...`` sweeps:

    python benchmarks/toy_quality.py --seeds 5                      # 3 datasets x 5 default trainings
    python benchmarks/toy_quality.py --seeds 5 --modes 25gaussians --jobs 2 --keep --work-dir /tmp/toy5
    python benchmarks/toy_quality.py --seeds 2 --modes 8gaussians \\
        --override TRAIN.epochs=1 TRAIN.iters_per_epoch=20 DATA.num_train_samples=20000 TRAIN.eval_freq=1
    python benchmarks/toy_quality.py --seeds 3 --epochs 200 --iters-per-epoch 500 \\
        --override TRAIN.lr_generator=1e-4 TRAIN.lr_critic=1e-4 TRAIN.lr_linear_decay=false   # the paper's setting

A default-length 8gaussians training (4,000 generator iterations) took about 1,110 s of CPU time on one thread here (docs/toy.md). A failed run is reported
with the tail of its log, its folder is kept, and the script exits with 1 once
the tables are printed. Without --keep the folders of the successful runs are
deleted at the end (--work-dir defaults to a new folder under the temp dir).
TRAIN.eval_prdc=true adds precision/recall/density/coverage to every evaluation
during training (about 10-15 s each at 10,000 points); --no-prdc leaves them out
of the runs and of the floor.

The floor (--floor-draws K, default 10; 0 skips it): K independent draws of
--num-samples real points, each scored against another independent draw of the
reference, reported as mean ± std over the K draws. It moves a lot between
draws (real-vs-real SWD of 10,000 points ranges from about 0.007 to 0.027), so
a single draw misleads; a trained generator within the floor's spread is as
close to the data as these metrics can tell.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY_SCRIPT = os.path.join(ROOT, "examples", "wgangp", "wgangp_toy.py")
# ppsci_ext.data.TOY_MODES, repeated so that --help needs no Paddle import (a test checks they agree)
TOY_MODES = ("8gaussians", "25gaussians", "swissroll")
# the order of the table columns (ppsci_ext.metric.summary.METRIC_ORDER, repeated for the same reason; a test checks)
METRIC_ORDER = ("modes", "high_quality", "reverse_kl", "swd", "precision", "recall", "density", "coverage")
# keys this script sets on each child's command line, and the option that sets them instead
SCRIPT_KEYS = {
    "mode": "the runs always train",
    "DATA.mode": "--modes",
    "seed": "--seeds / --first-seed",
    "output_dir": "--work-dir",
    "DATA.num_eval_samples": "--num-samples (the floor uses the same number)",
}
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
LOG_NAME = "run.log"
TAIL_LINES = 30


# ------------------------------------------------------------------ pure helpers
def override_key(override: str) -> str:
    """The key of a Hydra override: ``TRAIN.epochs=1`` -> ``TRAIN.epochs`` (also for ``+key=`` and ``~key``)."""
    return override.split("=", 1)[0].lstrip("+~")


def check_overrides(overrides: Sequence[str]) -> List[str]:
    """The overrides, checked: KEY=VALUE form, no key twice, none of the keys this script sets itself."""
    seen = set()
    for item in overrides:
        key = override_key(item)
        if "=" not in item and not item.startswith("~"):
            raise ValueError(f"--override {item!r} is not KEY=VALUE (e.g. TRAIN.epochs=1).")
        if key in SCRIPT_KEYS:
            raise ValueError(f"--override {item!r}: {key} is set by this script ({SCRIPT_KEYS[key]}).")
        if key in seen:
            raise ValueError(f"--override sets {key} twice.")
        seen.add(key)
    return list(overrides)


def training_overrides(overrides: Sequence[str], epochs: Optional[int] = None, iters_per_epoch: Optional[int] = None,
                       prdc: bool = True) -> List[str]:
    """--override plus --epochs / --iters-per-epoch and TRAIN.eval_prdc=true (unless --no-prdc or overridden)."""
    extra = []
    if epochs is not None:
        extra.append(f"TRAIN.epochs={epochs}")
    if iters_per_epoch is not None:
        extra.append(f"TRAIN.iters_per_epoch={iters_per_epoch}")
    if prdc and "TRAIN.eval_prdc" not in {override_key(o) for o in overrides}:
        extra.append("TRAIN.eval_prdc=true")
    return check_overrides(list(overrides) + extra)


def hydra_value(value: str) -> str:
    """A value quoted for Hydra's override grammar when it holds more than path-safe characters."""
    if re.fullmatch(r"[\w./+\-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def child_command(mode: str, seed: int, output_dir: str, num_samples: int, overrides: Sequence[str] = (),
                  python: str = sys.executable, script: str = TOY_SCRIPT) -> List[str]:
    """The command line of one training run."""
    return [python, script, f"DATA.mode={mode}", f"seed={seed}", f"output_dir={hydra_value(output_dir)}",
            f"DATA.num_eval_samples={num_samples}", *overrides]


def child_env(base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``base`` (default os.environ) with every math library pinned to one thread.

    ppsci_ext._env only chooses OMP_NUM_THREADS (all usable cores) when it is
    unset, so the child keeps the 1 given here; this script's own import of
    ppsci_ext put the parent's default into os.environ, which is why it is
    replaced, not merely defaulted.
    """
    env = dict(os.environ if base is None else base)
    env.update(THREAD_ENV)
    return env


def seed_label(seeds: Sequence[int]) -> str:
    """``0-4`` for consecutive seeds, else ``0, 2, 5``."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def log_tail(path: str, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as ex:
        return f"(no log: {ex})\n"


# ---------------------------------------------------------------------- scoring
# Means, std (ddof=1), formatting, Markdown tables and the real-vs-real floor are those of ppsci-ext-summarize:
# ppsci_ext.metric.summary, imported where used (importing the package loads Paddle; --help needs none).
def mean_std_cells(runs: Sequence[Mapping[str, float]], names: Sequence[str]) -> List[str]:
    """``mean ± std`` over runs of each metric in names (``-`` where no run has it)."""
    from ppsci_ext.metric.summary import aggregate_metrics, format_mean_std

    values = aggregate_metrics(runs)
    return [format_mean_std(values.get(n, [])) for n in names]


# ------------------------------------------------------------ shipped weights
def shipped_table(args) -> None:
    import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)
    import paddle

    from ppsci_ext.arch import ToyGenerator
    from ppsci_ext.data import sample_toy
    from ppsci_ext.io import load_network
    from ppsci_ext.metric.summary import format_value, markdown_table, real_floor, toy_scores as score
    from ppsci_ext.pretrained import shipped_weights

    @paddle.no_grad()
    def generate(generator: ToyGenerator, n: int, seed: int) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal((n, generator.noise_dim)).astype(np.float32)
        generator.eval()
        return generator({"z": paddle.to_tensor(z)})["x"].numpy()

    n, prdc = args.num_samples, not args.no_prdc
    names = [m for m in METRIC_ORDER if prdc or m not in ("precision", "recall", "density", "coverage")]
    rows = []
    for mode in args.modes:
        start = time.time()
        real = sample_toy(mode, n, np.random.default_rng(args.seed))
        paddle.seed(0)
        untrained = ToyGenerator()
        trained = ToyGenerator()
        if args.weights_dir:
            path = os.path.join(args.weights_dir, f"wgangp_toy_{mode}_gen.pdparams")
        else:
            path = shipped_weights("toy", mode)[0]
        load_network(trained, path, "generator")
        for name, generator in (("trained (" + os.path.basename(path) + ")", trained), ("untrained", untrained)):
            m = score(mode, generate(generator, n, args.seed + 1), real, prdc)
            rows.append([mode, name] + [format_value(m.get(k, math.nan)) for k in names])
        if args.floor_draws:
            floor = real_floor(mode, n, args.floor_draws, args.seed, prdc)
            rows.append([mode, f"real vs real, mean ± std of {len(floor)} draws"] + mean_std_cells(floor, names))
        print(f"{mode}: scored in {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    print(f"Each row: {n:,} points against {n:,} real ones; the real-vs-real row is mean ± std (ddof=1) over "
          f"independent draws.\n")
    print(markdown_table(["data", "generator"] + names, rows))


# ------------------------------------------------------------------ trainings
@dataclass
class Run:
    mode: str
    seed: int
    folder: str
    command: List[str]
    created: bool = False
    proc: Optional[subprocess.Popen] = None
    start: float = 0.0
    wall: float = math.nan
    cpu: float = math.nan
    returncode: Optional[int] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    info: Dict = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def log(self) -> str:
        return os.path.join(self.folder, LOG_NAME)

    @property
    def name(self) -> str:
        return f"{self.mode} seed {self.seed}"


def _reap(run: Run) -> bool:
    """True once ``run`` has exited (its exit code, wall and CPU time recorded)."""
    if hasattr(os, "wait4"):
        pid, status, usage = os.wait4(run.proc.pid, os.WNOHANG)
        if pid == 0:
            return False
        run.proc.returncode = os.waitstatus_to_exitcode(status)
        run.cpu = usage.ru_utime + usage.ru_stime
    elif run.proc.poll() is None:
        return False
    run.returncode = run.proc.returncode
    run.wall = time.time() - run.start
    return True


def _read_metrics(run: Run) -> None:
    path = os.path.join(run.folder, "metrics.json")
    try:
        if os.path.getmtime(path) < run.start:
            raise OSError("it predates this run")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as ex:
        run.error = f"no readable {path} ({ex})"
        return
    run.metrics = dict(data.get("metrics") or {})
    run.info = data
    if not run.metrics:
        run.error = f"{path} holds no metrics (was TRAIN.eval_during_train=false?)"


def run_all(runs: List[Run], jobs: int) -> None:
    """Run every training, at most ``jobs`` at a time; failures are recorded in ``run.error``."""
    pending, active, done = list(runs), [], 0
    env = child_env()

    def stop(signum, frame):  # SIGTERM: leave through the finally below, which stops the children
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while pending or active:
            while pending and len(active) < jobs:
                run = pending.pop(0)
                os.makedirs(run.folder, exist_ok=True)
                with open(run.log, "w", encoding="utf-8") as log:
                    log.write(" ".join(run.command) + "\n\n")
                    log.flush()
                    run.start = time.time()
                    run.proc = subprocess.Popen(run.command, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, env=env)
                active.append(run)
                print(f"started {run.name} (pid {run.proc.pid}) -> {run.folder}", file=sys.stderr, flush=True)
            time.sleep(0.5)
            for run in [r for r in active if _reap(r)]:
                active.remove(run)
                done += 1
                if run.returncode != 0:
                    run.error = f"exit code {run.returncode}"
                else:
                    _read_metrics(run)
                status = f"FAILED ({run.error})" if run.error else "done"
                swd = run.metrics.get("toy.swd")
                shown = f", swd {swd:.4f}" if swd is not None and not run.error else ""
                print(f"[{done}/{len(runs)}] {run.name} {status} in {run.wall:.0f} s{shown}", file=sys.stderr,
                      flush=True)
                if run.error:
                    print(f"--- last {TAIL_LINES} lines of {run.log}:\n{log_tail(run.log)}---", file=sys.stderr,
                          flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for run in active:  # interrupted: stop the children this script started
            run.proc.terminate()
        for run in active:
            try:
                run.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                run.proc.kill()


def seeds_report(mode: str, runs: Sequence[Run], floor: Optional[Sequence[Mapping[str, float]]], jobs: int) -> str:
    """The Markdown section of one dataset: mean ± std over the seeds, the floor, the per-seed values."""
    from ppsci_ext.metric.summary import aggregate_metrics, format_mean_std, format_value, markdown_table, ordered_names

    ok = [r for r in runs if not r.error]
    failed = [r for r in runs if r.error]
    lines = [f"### {mode}", ""]
    if not ok:
        lines += [f"{'All ' if len(runs) > 1 else ''}{_count(len(runs), 'run')} failed "
                  f"(seeds {seed_label([r.seed for r in runs])}).", ""]
        return "\n".join(lines)
    names = ordered_names(list(aggregate_metrics([r.metrics for r in ok])) + list(aggregate_metrics(floor or [])))
    steps = sorted({r.info.get("step") for r in ok}, key=str)
    samples = sorted({r.info.get("num_samples") for r in ok}, key=str)
    walls = [r.wall for r in ok]
    cpus = [r.cpu for r in ok if math.isfinite(r.cpu)]
    lines.append(f"{_count(len(ok), 'training')} (seeds {seed_label([r.seed for r in ok])}), final weights at "
                 f"generator iteration {', '.join(map(_int, steps))}, scored on {', '.join(map(_int, samples))} "
                 f"points. Wall time per run {format_mean_std(walls, 1)} s"
                 + (f" (CPU {format_mean_std(cpus, 1)} s)" if cpus else "") + f", one thread each, {jobs} at a time.")
    if failed:
        lines.append(f"Failed, left out: seeds {seed_label([r.seed for r in failed])}.")
    lines.append("")
    rows = [["trained, mean ± std", str(len(ok))] + mean_std_cells([r.metrics for r in ok], names)]
    if floor:
        rows.append(["real vs real, mean ± std", str(len(floor))] + mean_std_cells(floor, names))
    lines += [markdown_table(["", "N"] + names, rows), ""]
    per_seed = [[n] + [format_value(_get(r.metrics, n)) for r in ok] for n in names]
    per_seed.append(["wall time (s)"] + [f"{r.wall:.0f}" for r in ok])
    if cpus:
        per_seed.append(["CPU time (s)"] + [f"{r.cpu:.0f}" for r in ok])
    lines += [markdown_table(["seed"] + [str(r.seed) for r in ok], per_seed), ""]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _int(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _get(metrics: Mapping[str, float], name: str) -> float:
    from ppsci_ext.metric.summary import metric_name

    for key, value in metrics.items():
        if metric_name(key) == name:
            return value
    return math.nan


def seeds_tables(args, overrides: List[str]) -> int:
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    work = os.path.abspath(args.work_dir or tempfile.mkdtemp(prefix="toy_quality_"))
    runs = []
    for mode in args.modes:
        for seed in seeds:
            folder = os.path.join(work, mode, f"seed_{seed}")
            runs.append(Run(mode, seed, folder, child_command(mode, seed, folder, args.num_samples, overrides),
                            created=not os.path.exists(folder)))
    busy = [r.folder for r in runs if not r.created and any(os.path.exists(os.path.join(r.folder, name))
                                                               for name in ("checkpoints", "metrics.json"))]
    if busy and "TRAIN.overwrite" not in {override_key(o) for o in overrides}:
        print(f"error: these run folders already hold the results of a run: {', '.join(busy)}; choose another "
              "--work-dir, remove them, or pass --override TRAIN.overwrite=true to train over them.", file=sys.stderr)
        return 2
    jobs = min(args.jobs, len(runs))
    print(f"{_count(len(runs), 'training')} in {work}, {jobs} at a time, one thread each; overrides: "
          f"{' '.join(overrides) or 'none'}", file=sys.stderr, flush=True)
    start = time.time()
    try:
        run_all(runs, jobs)
    except (KeyboardInterrupt, SystemExit) as ex:
        print(f"interrupted: the runs were stopped; their folders are in {work}", file=sys.stderr)
        return ex.code if isinstance(ex, SystemExit) and isinstance(ex.code, int) else 130
    train_time = time.time() - start
    floors, floor_time = {}, 0.0
    if args.floor_draws:
        import ppsci_ext  # noqa: F401  (CPU defaults before Paddle loads)
        from ppsci_ext.metric.summary import real_floor

        start = time.time()
        for mode in args.modes:
            print(f"floor of {mode}: {args.floor_draws} draws", file=sys.stderr, flush=True)
            floors[mode] = real_floor(mode, args.num_samples, args.floor_draws, args.seed, not args.no_prdc)
        floor_time = time.time() - start
    print(f"## WGAN-GP toy quality over seeds\n\nOverrides: `{' '.join(overrides) or 'none'}`. Every score: "
          f"{args.num_samples:,} points against {args.num_samples:,} fresh real ones; std is the sample std "
          f"(ddof=1). " + (f"The real-vs-real floor: {_count(args.floor_draws, 'independent draw')}.\n"
                           if args.floor_draws else "No real-vs-real floor (--floor-draws 0).\n"))
    for mode in args.modes:
        for run in runs:
            n = run.info.get("num_samples")
            if run.mode == mode and not run.error and n not in (None, args.num_samples):
                print(f"warning: {run.name} scored {n} points, the floor {args.num_samples}", file=sys.stderr)
        print(seeds_report(mode, [r for r in runs if r.mode == mode], floors.get(mode), jobs))
    print(f"Total: {_count(len(runs), 'training')} in {train_time:.0f} s wall time ({jobs} at a time)"
          + (f"; floor in {floor_time:.0f} s." if args.floor_draws else "."))
    failed = [r for r in runs if r.error]
    for run in failed:
        print(f"FAILED: {run.name}: {run.error}; log {run.log}", file=sys.stderr)
    if args.keep:
        print(f"runs kept in {work}", file=sys.stderr)
    else:
        for run in runs:
            if run.created and not run.error:
                shutil.rmtree(run.folder, ignore_errors=True)
        for folder in [os.path.join(work, m) for m in args.modes] + [work]:
            try:
                os.rmdir(folder)  # only when empty: failed runs and files of others stay
            except OSError:
                pass
        if failed:
            print(f"folders of failed runs kept in {work}", file=sys.stderr)
    return 1 if failed else 0


# ------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", choices=TOY_MODES, default=list(TOY_MODES), metavar="MODE",
                        help=f"datasets ({', '.join(TOY_MODES)}; default all)")
    parser.add_argument("--num-samples", type=int, default=10000,
                        help="points per score, generated and real (default 10000; the runs get DATA.num_eval_samples)")
    parser.add_argument("--seed", type=int, default=1234,
                        help="seed of the floor's draws and of the shipped-weights table's points (default 1234)")
    parser.add_argument("--floor-draws", type=int, default=10, metavar="K",
                        help="real-vs-real draws of the floor (default 10; 0 skips the floor)")
    parser.add_argument("--no-prdc", action="store_true",
                        help="leave out precision/recall/density/coverage (faster)")
    parser.add_argument("--weights-dir", default=None,
                        help="without --seeds: score DIR/wgangp_toy_{mode}_gen.pdparams instead of the shipped weights")
    group = parser.add_argument_group("trainings (--seeds)")
    group.add_argument("--seeds", type=int, default=None, metavar="N",
                       help="train N runs per dataset and report mean ± std over them")
    group.add_argument("--first-seed", type=int, default=0, help="seeds are FIRST..FIRST+N-1 (default 0)")
    group.add_argument("--epochs", type=int, default=None, help="TRAIN.epochs of the runs")
    group.add_argument("--iters-per-epoch", type=int, default=None, help="TRAIN.iters_per_epoch of the runs")
    group.add_argument("--override", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                       help="further wgangp_toy.py overrides, e.g. TRAIN.lr_generator=1e-4 TRAIN.eval_freq=1")
    group.add_argument("--jobs", type=int, default=usable_cores(),
                       help=f"trainings at a time, one thread each (default: the usable cores, {usable_cores()})")
    group.add_argument("--work-dir", default=None,
                       help="runs go to WORK/MODE/seed_S (default: a new folder under the temp dir)")
    group.add_argument("--keep", action="store_true", help="keep the run folders (else deleted when done)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.modes = list(dict.fromkeys(args.modes))
    if args.num_samples < 2:
        parser.error("--num-samples must be at least 2")
    if args.floor_draws < 0:
        parser.error("--floor-draws must be 0 or more")
    if args.seeds is None:
        unused = [o for o, v in (("--epochs", args.epochs), ("--iters-per-epoch", args.iters_per_epoch),
                                 ("--override", args.override), ("--work-dir", args.work_dir),
                                 ("--keep", args.keep)) if v]
        if unused:
            parser.error(f"{', '.join(unused)} only apply with --seeds N")
        shipped_table(args)
        return 0
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    if args.weights_dir:
        parser.error("--weights-dir does not apply with --seeds (the runs train their own weights)")
    try:
        given = {override_key(o) for o in check_overrides(args.override)}
        for option, key in (("--epochs", "TRAIN.epochs"), ("--iters-per-epoch", "TRAIN.iters_per_epoch")):
            if getattr(args, option[2:].replace("-", "_")) is not None and key in given:
                parser.error(f"{option} and --override {key}=... both set {key}")
        overrides = training_overrides(args.override, args.epochs, args.iters_per_epoch, not args.no_prdc)
    except ValueError as ex:
        parser.error(str(ex))
    return seeds_tables(args, overrides)


if __name__ == "__main__":
    sys.exit(main())

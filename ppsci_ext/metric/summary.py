"""Mean ± std of metrics over independent runs (seeds), per-run values, Markdown tables, the toy real-vs-real floor.

Plain functions on plain dicts: ``ppsci-ext-summarize`` (``ppsci_ext/cli/summarize.py``) and
``benchmarks/toy_quality.py`` build their tables from them. The standard deviation is always
the sample standard deviation (``ddof=1``): with N runs, ``sqrt(sum((x - mean)**2) / (N - 1))``;
it is undefined (NaN, shown as ``-``) for one run.

Examples:
    >>> from ppsci_ext.metric.summary import format_mean_std, mean_std, summarize_values
    >>> mean_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    >>> format_mean_std([7.0, 8.0])
    '7.50 ± 0.71'
    >>> summarize_values([0.5, 0.25])["max"]
    0.5
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# The order of the toy metrics in tables; metrics.json names them toy.<name> and prdc.<name>.
METRIC_ORDER = ("modes", "high_quality", "reverse_kl", "swd", "precision", "recall", "density", "coverage")
STD_NOTE = "std is the sample standard deviation (ddof=1)"
# the seed of the floor's draws (benchmarks/toy_quality.py --seed uses the same default)
FLOOR_SEED = 1234


def metric_name(key: str) -> str:
    """``toy.swd`` -> ``swd``, ``prdc.precision`` -> ``precision`` (metrics.json prefixes the metric group)."""
    return key.rsplit(".", 1)[-1]


def ordered_names(names: Iterable[str]) -> List[str]:
    """Metric names in METRIC_ORDER, unknown ones after them in the order first seen."""
    seen = list(dict.fromkeys(names))
    return [n for n in METRIC_ORDER if n in seen] + [n for n in seen if n not in METRIC_ORDER]


def ordered_keys(keys: Iterable[str]) -> List[str]:
    """Full metric keys (``toy.swd``) ordered by their names as ``ordered_names`` orders them, ties as first seen."""
    seen = list(dict.fromkeys(keys))
    rank = {name: i for i, name in enumerate(ordered_names(metric_name(k) for k in seen))}
    return sorted(seen, key=lambda k: rank[metric_name(k)])  # sorted() is stable


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def aggregate_metrics(runs: Sequence[Mapping[str, float]], strip: bool = True) -> Dict[str, List[float]]:
    """The values of each metric over runs, in table order; a run lacking a metric is skipped.

    ``strip``: name metrics without their group prefix (``toy.swd`` -> ``swd``); else keep the keys as given.
    """
    values: Dict[str, List[float]] = {}
    for run in runs:
        for key, value in run.items():
            if is_number(value):
                values.setdefault(metric_name(key) if strip else key, []).append(float(value))
    order = ordered_names(values) if strip else ordered_keys(values)
    return {name: values[name] for name in order}


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; NaN for fewer than two values)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan


def summarize_values(values: Sequence[float]) -> Dict[str, float]:
    """``{"n", "mean", "std", "min", "max"}`` of values (std: ddof=1, NaN for one value; all NaN for none)."""
    mean, std = mean_std(values)
    x = np.asarray(values, dtype=np.float64)
    return {"n": int(x.size), "mean": mean, "std": std,
            "min": float(x.min()) if x.size else math.nan, "max": float(x.max()) if x.size else math.nan}


def format_value(value: Optional[float]) -> str:
    """One value at 4 significant digits (``8``, ``0.9887``, ``0.0002452``); ``-`` for none or NaN."""
    return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"


def format_mean_std(values: Sequence[float], decimals: Optional[int] = None) -> str:
    """``mean ± std``, both rounded to the second significant digit of std (or to ``decimals``); one value alone;
    ``-`` for none."""
    if not len(values):
        return "-"
    return format_stats(*mean_std(values), decimals=decimals)


def format_stats(mean: float, std: float, decimals: Optional[int] = None) -> str:
    """``mean ± std`` of a mean and a std already computed (NaN std: the mean alone), rounded as
    ``format_mean_std`` rounds."""
    if mean is None or not math.isfinite(mean):
        return "-"
    if decimals is not None:
        return f"{mean:.{decimals}f}" + (f" ± {std:.{decimals}f}" if std is not None and math.isfinite(std) else "")
    if std is None or not math.isfinite(std):
        return format_value(mean)
    if std == 0:
        return f"{format_value(mean)} ± 0"
    decimals = min(8, max(0, 1 - math.floor(math.log10(std))))
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summarize_runs(runs: Mapping[str, Mapping[str, float]]) -> Dict[str, Dict]:
    """Per metric key (as in metrics.json), over ``runs`` (label -> metrics): n, mean, std, min, max and ``values``
    (label -> value, only for the runs that have the metric)."""
    labels = list(runs)
    keys = ordered_keys(k for run in runs.values() for k, v in run.items() if is_number(v))
    result = {}
    for key in keys:
        values = {label: float(runs[label][key]) for label in labels if is_number(runs[label].get(key))}
        result[key] = {**summarize_values(list(values.values())), "values": values}
    return result


def floor_for_keys(floor: Sequence[Mapping[str, float]], keys: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """The floor's draws (metrics named without group, as ToyMetric / PRDCMetric return them) summarized under the
    jobs' keys (``swd`` -> ``toy.swd``); keys the floor lacks are left out."""
    values = aggregate_metrics(floor, strip=True)
    return {key: summarize_values(values[metric_name(key)]) for key in keys if metric_name(key) in values}


def summary_table(metrics: Mapping[str, Mapping], labels: Sequence[str],
                  floor: Optional[Mapping[str, Mapping[str, float]]] = None, floor_label: str = "real vs real") -> str:
    """Markdown: one row per metric with N, mean ± std, min, max, the value of each run (column ``labels``) and, with
    ``floor``, the floor's mean ± std (``-`` where it has none)."""
    header = ["metric", "N", "mean ± std", "min", "max"] + list(labels) + ([floor_label] if floor is not None else [])
    rows = []
    for key, stats in metrics.items():
        row = [key, str(stats["n"]), format_stats(stats["mean"], stats["std"]), format_value(stats["min"]),
               format_value(stats["max"])]
        row += [format_value(stats["values"].get(label)) for label in labels]
        if floor is not None:
            f = floor.get(key)
            row.append(format_stats(f["mean"], f["std"]) if f else "-")
        rows.append(row)
    return markdown_table(header, rows)


# ------------------------------------------------------------------- the toy floor
def toy_scores(mode: str, samples: np.ndarray, real: np.ndarray, prdc: bool = True) -> Dict[str, float]:
    """Toy metrics (and precision/recall/density/coverage) of ``samples`` against ``real``, as the experiment scores
    them (names without group: ``swd``, ``precision``)."""
    from ppsci_ext.metric.prdc import PRDCMetric
    from ppsci_ext.metric.toy import ToyMetric

    result = ToyMetric(mode)({"x": samples}, {"x": real})
    if prdc:
        result.update(PRDCMetric(key="x")({"x": samples}, {"x": real}))
    return result


def real_floor(mode: str, n: int, draws: int, seed: int = FLOOR_SEED, prdc: bool = True) -> List[Dict[str, float]]:
    """Metrics of ``draws`` independent sets of ``n`` real points, each against another independent set.

    Draw ``d`` of toy data ``mode`` uses ``np.random.default_rng([seed, TOY_MODES.index(mode), d])``, so a floor is
    the same wherever it is computed (``ppsci-ext-summarize --floor``, ``benchmarks/toy_quality.py``).
    """
    from ppsci_ext.data.toy import TOY_MODES, sample_toy

    runs = []
    for draw in range(draws):
        rng = np.random.default_rng([seed, TOY_MODES.index(mode), draw])
        samples, reference = sample_toy(mode, n, rng), sample_toy(mode, n, rng)
        runs.append(toy_scores(mode, samples, reference, prdc))
    return runs

"""ppsci_ext.metric.summary: mean ± std (ddof=1) over runs, formatting, the Markdown table, the toy floor.

The first three tests were those of benchmarks/toy_quality.py's helpers (tests/test_toy_quality_benchmark.py)
before the helpers moved into the package; the benchmark and ppsci-ext-summarize use these.
"""

import math

import numpy as np
import pytest

from ppsci_ext.metric import summary as S


def test_mean_std_uses_the_sample_std():
    mean, std = S.mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert std == pytest.approx(math.sqrt(5 / 3))  # ddof=1
    assert math.isnan(S.mean_std([0.3])[1])
    assert all(math.isnan(v) for v in S.mean_std([]))


def test_format_mean_std():
    assert S.format_mean_std([1.0, 2.0, 3.0]) == "2.0 ± 1.0"
    assert S.format_mean_std([7.0, 8.0]) == "7.50 ± 0.71"
    assert S.format_mean_std([0.0123, 0.0168, 0.0101]) == "0.0131 ± 0.0034"
    assert S.format_mean_std([8.0, 8.0, 8.0]) == "8 ± 0"
    assert S.format_mean_std([0.98765]) == "0.9877"  # one value: no std
    assert S.format_mean_std([]) == "-"
    assert S.format_mean_std([21.0146, 21.0150], decimals=1) == "21.0 ± 0.0"  # wall times
    assert S.format_mean_std([21.04], decimals=1) == "21.0"
    assert S.format_stats(2.5, math.nan) == "2.5"
    assert S.format_stats(math.nan, 1.0) == "-"


def test_aggregate_strips_prefixes_orders_and_skips_missing():
    runs = [
        {"toy.swd": 0.3, "prdc.precision": 0.5, "toy.modes": 7.0, "extra": 1.0},
        {"toy.modes": 8.0, "toy.swd": 0.1},
    ]
    values = S.aggregate_metrics(runs)
    assert list(values) == ["modes", "swd", "precision", "extra"]
    assert values["modes"] == [7.0, 8.0]
    assert values["swd"] == [0.3, 0.1]
    assert values["precision"] == [0.5]
    kept = S.aggregate_metrics(runs, strip=False)
    assert list(kept) == ["toy.modes", "toy.swd", "prdc.precision", "extra"]


def test_summarize_values_and_runs():
    stats = S.summarize_values([1.0, 2.0, 3.0, 4.0])
    assert stats == {"n": 4, "mean": 2.5, "std": pytest.approx(math.sqrt(5 / 3)), "min": 1.0, "max": 4.0}
    runs = {"seed 0": {"toy.swd": 0.5, "toy.modes": 8, "flag": True},
            "seed 1": {"toy.swd": 0.25},
            "seed 2": {"toy.swd": 0.75, "toy.modes": 6}}
    result = S.summarize_runs(runs)
    assert list(result) == ["toy.modes", "toy.swd"]  # table order; booleans are no metrics
    assert result["toy.swd"]["mean"] == 0.5 and result["toy.swd"]["std"] == 0.25
    assert result["toy.swd"]["values"] == {"seed 0": 0.5, "seed 1": 0.25, "seed 2": 0.75}
    assert result["toy.modes"]["n"] == 2 and result["toy.modes"]["values"] == {"seed 0": 8.0, "seed 2": 6.0}
    assert result["toy.modes"]["std"] == pytest.approx(math.sqrt(2))


def test_summary_table_text():
    runs = {"seed 0": {"toy.modes": 8.0, "toy.swd": 0.0123}, "seed 1": {"toy.modes": 7.0, "toy.swd": 0.0168},
            "seed 2": {"toy.modes": 8.0, "toy.swd": 0.0101}}
    metrics = S.summarize_runs(runs)
    floor = S.floor_for_keys([{"modes": 8.0, "swd": 0.007}, {"modes": 8.0, "swd": 0.027}], list(metrics))
    assert floor["toy.swd"]["mean"] == pytest.approx(0.017)
    assert S.summary_table(metrics, list(runs), floor) == "\n".join([
        "| metric | N | mean ± std | min | max | seed 0 | seed 1 | seed 2 | real vs real |",
        "|---|---|---|---|---|---|---|---|---|",
        "| toy.modes | 3 | 7.67 ± 0.58 | 7 | 8 | 8 | 7 | 8 | 8 ± 0 |",
        "| toy.swd | 3 | 0.0131 ± 0.0034 | 0.0101 | 0.0168 | 0.0123 | 0.0168 | 0.0101 | 0.017 ± 0.014 |",
    ])
    assert S.summary_table(metrics, ["seed 0"]).splitlines()[2] == "| toy.modes | 3 | 7.67 ± 0.58 | 7 | 8 | 8 |"


def test_real_floor_is_reproducible_and_real():
    """The floor's draws are fixed by (seed, mode, draw): the command and the benchmark get the same numbers."""
    first = S.real_floor("8gaussians", 200, 2, seed=5, prdc=False)
    assert first == S.real_floor("8gaussians", 200, 2, seed=5, prdc=False)
    assert first[0] != first[1]
    assert set(first[0]) == {"modes", "high_quality", "reverse_kl", "swd"}
    assert all(d["modes"] == 8 for d in first)
    with_prdc = S.real_floor("25gaussians", 100, 1, prdc=True)[0]
    assert {"precision", "recall", "density", "coverage"} <= set(with_prdc)
    assert np.isfinite(list(with_prdc.values())).all()

"""The pure helpers of benchmarks/toy_quality.py (no training, no scoring)."""

import math

import pytest

from conftest import benchmark_module


@pytest.fixture(scope="module")
def tq():
    yield from benchmark_module("toy_quality")


def test_toy_modes_match_the_package(tq):
    from ppsci_ext.data import TOY_MODES

    assert tuple(tq.TOY_MODES) == tuple(TOY_MODES)


def test_metric_order_matches_the_summary(tq):
    from ppsci_ext.metric.summary import METRIC_ORDER

    assert tuple(tq.METRIC_ORDER) == tuple(METRIC_ORDER)


# mean_std, format_mean_std, aggregate_metrics: tests/metric/test_summary.py (the benchmark uses those of the package)
def test_mean_std_cells(tq):
    runs = [
        {"toy.swd": 0.3, "prdc.precision": 0.5, "toy.modes": 7.0, "extra": 1.0},
        {"toy.modes": 8.0, "toy.swd": 0.1},
    ]
    assert tq.mean_std_cells(runs, ["modes", "precision", "recall"]) == ["7.50 ± 0.71", "0.5", "-"]


def test_seeds_report_uses_the_summary_code(tq):
    """The per-dataset section: mean ± std (ddof=1) over the seeds next to the floor, then the per-seed values."""
    runs = []
    for seed, (modes, swd, wall) in enumerate([(8.0, 0.0123, 20.0), (7.0, 0.0168, 22.0), (8.0, 0.0101, 21.0)]):
        run = tq.Run("8gaussians", seed, f"/w/8gaussians/seed_{seed}", [], wall=wall)
        run.metrics = {"toy.modes": modes, "toy.swd": swd}
        run.info = {"step": 4000, "num_samples": 10000}
        runs.append(run)
    failed = tq.Run("8gaussians", 3, "/w/8gaussians/seed_3", [], error="exit code 2")
    floor = [{"modes": 8.0, "swd": 0.007}, {"modes": 8.0, "swd": 0.027}]
    text = tq.seeds_report("8gaussians", runs + [failed], floor, 2)
    assert text == "\n".join([
        "### 8gaussians",
        "",
        "3 trainings (seeds 0-2), final weights at generator iteration 4,000, scored on 10,000 points. "
        "Wall time per run 21.0 ± 1.0 s, one thread each, 2 at a time.",
        "Failed, left out: seeds 3.",
        "",
        "|  | N | modes | swd |",
        "|---|---|---|---|",
        "| trained, mean ± std | 3 | 7.67 ± 0.58 | 0.0131 ± 0.0034 |",
        "| real vs real, mean ± std | 2 | 8 ± 0 | 0.017 ± 0.014 |",
        "",
        "| seed | 0 | 1 | 2 |",
        "|---|---|---|---|",
        "| modes | 8 | 7 | 8 |",
        "| swd | 0.0123 | 0.0168 | 0.0101 |",
        "| wall time (s) | 20 | 22 | 21 |",
        "",
    ])


def test_child_command_and_env(tq):
    cmd = tq.child_command("25gaussians", 3, "/tmp/w/25gaussians/seed_3", 10000, ["TRAIN.epochs=1"],
                           python="python", script="wgangp_toy.py")
    assert cmd == ["python", "wgangp_toy.py", "DATA.mode=25gaussians", "seed=3",
                   "output_dir=/tmp/w/25gaussians/seed_3", "DATA.num_eval_samples=10000", "TRAIN.epochs=1"]
    assert tq.child_command("swissroll", 0, "/tmp/a b", 10)[4] == "output_dir='/tmp/a b'"
    env = tq.child_env({"OMP_NUM_THREADS": "2", "PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["PATH"] == "/bin"


def test_training_overrides(tq):
    assert tq.training_overrides(["DATA.num_train_samples=20000"], epochs=1, iters_per_epoch=20) == [
        "DATA.num_train_samples=20000", "TRAIN.epochs=1", "TRAIN.iters_per_epoch=20", "TRAIN.eval_prdc=true"]
    assert tq.training_overrides(["TRAIN.eval_prdc=false"]) == ["TRAIN.eval_prdc=false"]
    assert tq.training_overrides([], prdc=False) == []
    for bad in (["seed=3"], ["output_dir=/x"], ["DATA.mode=swissroll"], ["DATA.num_eval_samples=5"],
                ["TRAIN.epochs"], ["TRAIN.epochs=1", "TRAIN.epochs=2"]):
        with pytest.raises(ValueError):
            tq.training_overrides(bad)
    with pytest.raises(ValueError):
        tq.training_overrides(["TRAIN.epochs=2"], epochs=1)


def test_parser_defaults(tq):
    args = tq.build_parser().parse_args(["--seeds", "2", "--override", "TRAIN.epochs=1", "TRAIN.eval_freq=1"])
    assert args.seeds == 2 and args.first_seed == 0 and args.floor_draws == 10
    assert args.modes == list(tq.TOY_MODES)
    assert args.override == ["TRAIN.epochs=1", "TRAIN.eval_freq=1"]
    assert args.jobs >= 1
    assert tq.build_parser().parse_args([]).seeds is None


def test_seed_label(tq):
    assert tq.seed_label([2, 0, 1, 3]) == "0-3"
    assert tq.seed_label([0, 1]) == "0, 1"
    assert tq.seed_label([0, 2, 5]) == "0, 2, 5"

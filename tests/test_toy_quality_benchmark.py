"""The pure helpers of benchmarks/toy_quality.py (no training, no scoring)."""

import importlib.util
import math
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tq():
    path = os.path.join(ROOT, "benchmarks", "toy_quality.py")
    spec = importlib.util.spec_from_file_location("toy_quality_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_toy_modes_match_the_package(tq):
    from ppsci_ext.data import TOY_MODES

    assert tuple(tq.TOY_MODES) == tuple(TOY_MODES)


def test_mean_std_uses_the_sample_std(tq):
    mean, std = tq.mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert std == pytest.approx(math.sqrt(5 / 3))  # ddof=1
    assert math.isnan(tq.mean_std([0.3])[1])


def test_format_mean_std(tq):
    assert tq.format_mean_std([1.0, 2.0, 3.0]) == "2.0 ± 1.0"
    assert tq.format_mean_std([7.0, 8.0]) == "7.50 ± 0.71"
    assert tq.format_mean_std([0.0123, 0.0168, 0.0101]) == "0.0131 ± 0.0034"
    assert tq.format_mean_std([8.0, 8.0, 8.0]) == "8 ± 0"
    assert tq.format_mean_std([0.98765]) == "0.9877"  # one value: no std
    assert tq.format_mean_std([]) == "-"
    assert tq.format_mean_std([21.0146, 21.0150], decimals=1) == "21.0 ± 0.0"  # wall times
    assert tq.format_mean_std([21.04], decimals=1) == "21.0"


def test_aggregate_strips_prefixes_orders_and_skips_missing(tq):
    runs = [
        {"toy.swd": 0.3, "prdc.precision": 0.5, "toy.modes": 7.0, "extra": 1.0},
        {"toy.modes": 8.0, "toy.swd": 0.1},
    ]
    values = tq.aggregate_metrics(runs)
    assert list(values) == ["modes", "swd", "precision", "extra"]
    assert values["modes"] == [7.0, 8.0]
    assert values["swd"] == [0.3, 0.1]
    assert values["precision"] == [0.5]
    assert tq.mean_std_cells(runs, ["modes", "precision", "recall"]) == ["7.50 ± 0.71", "0.5", "-"]


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

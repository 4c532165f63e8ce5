"""What the solver prints: eval lines without the placeholder loss, counts as integers, an ETA with evals."""

import os
import re
from types import SimpleNamespace

from ppsci.utils import misc

from ppsci_ext.solver.adversarial import _MetricsOnly, evaluations_left, format_value


def test_format_value():
    assert format_value(8.0) == "8" and format_value(10000.0) == "10000"
    assert format_value(0.123456789) == "0.12346" and format_value(0.0002) == "0.0002"


def test_placeholder_loss_is_not_kept():
    info = _MetricsOnly()
    for key in ("samples/loss", "samples/toy.modes"):  # as ppsci's eval loop does it
        if key not in info:
            info[key] = misc.AverageMeter(key)
        info[key].update(3.0, 1)
    assert list(info) == ["samples/toy.modes"] and info["samples/toy.modes"].avg == 3.0


def test_evaluations_left():
    solver = SimpleNamespace(eval_during_train=True, eval_freq=4, epochs=16)
    assert evaluations_left(solver, 1) == 4 and evaluations_left(solver, 13) == 1
    assert evaluations_left(SimpleNamespace(eval_during_train=True, eval_freq=5, epochs=12), 1) == 3  # 5, 10, 12
    assert evaluations_left(SimpleNamespace(eval_during_train=False, eval_freq=1, epochs=3), 1) == 0


def test_training_log(example, tmp_path):
    out = tmp_path / "run"
    proc = example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=2", "TRAIN.iters_per_epoch=10",
                   "TRAIN.eval_freq=1", "log_freq=5", "DATA.num_train_samples=5000", "DATA.num_eval_samples=500",
                   cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = open(os.path.join(out, "train.log")).read() if os.path.isfile(out / "train.log") else proc.stdout
    assert "samples/loss" not in log
    train = [line for line in log.splitlines() if "[Train]" in line]
    assert "(+ 2 evals, not timed yet)" in train[0]  # before the first eval has been timed
    assert re.search(r"eta: \d+:\d\d:\d\d \(with 1 eval\)", train[-1])  # after it: its time is counted
    summary = [line for line in log.splitlines() if "[Eval][Epoch 2][Avg]" in line][0]
    assert re.search(r"samples/toy\.modes: \d+(,|$)", summary)  # a count prints as an integer

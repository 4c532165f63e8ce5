"""ppsci_ext._private: each private ppsci / Paddle / Hydra piece is checked, and a moved one is named."""

import threading

import numpy as np
import pytest

from ppsci_ext import _private


def test_the_versions_it_was_written_for_are_the_pinned_ones():
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "pyproject.toml"), encoding="utf-8").read()
    for name, version in (("paddlesci", "1.4.0"), ("paddlepaddle", "3.3.1"), ("hydra-core", "1.3.8")):
        assert f'"{name}=={version}"' in text and f"{name} {version}" in _private.WRITTEN_FOR


def test_a_missing_eval_printer_is_named(monkeypatch):
    from ppsci.solver import printer

    monkeypatch.delattr(printer, "log_eval_info")
    with pytest.raises(_private.PrivateAPIChanged) as e:
        with _private.eval_printer(lambda *a: None):
            pass
    message = str(e.value)
    assert "ppsci.solver.printer.log_eval_info is missing" in message
    assert "written for paddlesci 1.4.0, paddlepaddle 3.3.1 and hydra-core 1.3.8" in message
    assert "paddlesci 1.4.0" in message.split("this machine has")[1]


def test_eval_printer_is_swapped_for_the_block_only():
    from ppsci.solver import printer

    original = printer.log_eval_info
    mine = lambda *a: None  # noqa: E731
    with _private.eval_printer(mine):
        assert printer.log_eval_info is mine
    assert printer.log_eval_info is original
    with pytest.raises(KeyError):
        with _private.eval_printer(mine):
            raise KeyError("x")
    assert printer.log_eval_info is original


def test_hydra_reporter_round_trip(monkeypatch):
    from hydra._internal import utils

    original = utils.run_and_report
    assert _private.hydra_reporter() is original
    mine = lambda func: func()  # noqa: E731
    monkeypatch.setattr(utils, "run_and_report", original)
    _private.set_hydra_reporter(mine)
    assert utils.run_and_report is mine
    monkeypatch.delattr(utils, "run_and_report")
    with pytest.raises(_private.PrivateAPIChanged, match=r"hydra\._internal\.utils\.run_and_report is missing"):
        _private.hydra_reporter()


def test_the_loader_thread_is_stopped():
    import paddle

    data = paddle.io.TensorDataset([paddle.to_tensor(np.arange(64, dtype=np.float32).reshape(32, 2))])
    loader = paddle.io.DataLoader(data, batch_size=4, num_workers=0)
    it = iter(loader)
    thread = getattr(it, "_thread", None)
    assert isinstance(thread, threading.Thread) and thread.is_alive()
    _private.stop_loader_thread(it)
    assert not thread.is_alive()


def test_a_changed_loader_iterator_is_named():
    class Half:
        _thread = threading.Thread(target=lambda: None)

    with pytest.raises(_private.PrivateAPIChanged, match="_thread_done_event, _blocking_queue"):
        _private.stop_loader_thread(Half())
    _private.stop_loader_thread(None)  # nothing to stop
    _private.stop_loader_thread(object())  # another form of iterator: left alone


def test_grad_clip_is_cleared_on_ppsci_optimizer_lists_only():
    import paddle
    import ppsci

    layer = paddle.nn.Linear(2, 2)
    optimizers = ppsci.optimizer.OptimizerList((paddle.optimizer.Adam(parameters=layer.parameters()),))
    _private.clear_grad_clip(optimizers)
    assert optimizers._grad_clip is None
    with pytest.raises(_private.PrivateAPIChanged, match="OptimizerList"):
        _private.clear_grad_clip([])


def test_importing_the_package_leaves_hydra_alone():
    import subprocess
    import sys

    code = ("import ppsci_ext; from hydra._internal import utils; "
            "assert not getattr(utils.run_and_report, '_ppsci_ext', False), 'swapped at import'; "
            "ppsci_ext.experiment.install_hydra_hooks(); "
            "assert utils.run_and_report._ppsci_ext")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)

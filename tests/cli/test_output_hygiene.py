"""The small things of issue 23: plain log lines in files, one 'Auto collation' line, messages that say what to do."""

import io
import logging

import pytest

from ppsci_ext import _env


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_no_colour_codes_when_stdout_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert _env.plain_colours(_Stream(tty=True)) is False
    assert "NO_COLOR" not in __import__("os").environ
    assert _env.plain_colours(_Stream(tty=False)) is True
    assert __import__("os").environ["NO_COLOR"] == "1"


def test_the_users_colour_choice_wins(monkeypatch):
    import os

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert _env.plain_colours(_Stream(tty=False)) is False
    assert "NO_COLOR" not in os.environ
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("NO_COLOR", "")
    assert _env.plain_colours(_Stream(tty=True)) is False
    assert os.environ["NO_COLOR"] == ""


def test_colorlog_writes_no_codes_with_no_color(monkeypatch):
    import colorlog

    monkeypatch.setenv("NO_COLOR", "1")
    formatter = colorlog.ColoredFormatter("%(log_color)s%(message)s", log_colors={"WARNING": "yellow"})
    record = logging.LogRecord("ppsci", logging.WARNING, __file__, 1, "plain", None, None)
    assert formatter.format(record) == "plain"


def test_auto_collation_message_is_logged_once():
    logger = logging.getLogger("ppsci_ext_test_once")
    logger.propagate = False
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    _env.quiet_repeats("ppsci_ext_test_once")
    _env.quiet_repeats("ppsci_ext_test_once")  # attached once
    assert sum(isinstance(f, _env.OnceFilter) for f in logger.filters) == 1
    for _ in range(2):
        logger.info("Auto collation is disabled and set num_workers to 0 to speed up batch sampling.")
        logger.info("another line")
    assert seen == ["Auto collation is disabled and set num_workers to 0 to speed up batch sampling.",
                    "another line", "another line"]


def test_ppsci_logger_has_the_filter():
    import ppsci_ext  # noqa: F401

    assert any(isinstance(f, _env.OnceFilter) for f in logging.getLogger("ppsci").filters)


def test_offline_advice_names_the_way_to_train_without_inception():
    from ppsci_ext.metric.inception.standard import offline_advice

    advice = offline_advice("/cache/inception")
    assert advice.endswith("and pass that file. To train or evaluate without the Inception metrics, set "
                           "EVAL.inception_weights_path=null.")
    assert "\n" not in advice


def test_a_toy_checkpoint_given_to_the_mnist_script_is_named(tmp_path, example):
    small = ["MODEL.width=8", "DATA.num_train_samples=256", "DATA.num_eval_samples=100", "VIS.num_points=50",
             "TRAIN.batch_size=32", "TRAIN.n_critic=1", "TRAIN.iters_per_epoch=1", "TRAIN.epochs=1",
             "TRAIN.eval_during_train=false"]
    toy = tmp_path / "toy"
    proc = example("wgangp_toy.py", f"output_dir={toy}", *small, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = toy / "checkpoints" / "latest.pdckpt"
    proc = example("wgangp_mnist.py", "mode=eval", f"output_dir={tmp_path / 'eval'}",
                   f"EVAL.pretrained_gen_model_path={ckpt}", cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = [x for x in proc.stderr.splitlines() if x.startswith("ERROR:")][-1]
    assert line.endswith(f"{ckpt} is a checkpoint of a wgangp_toy.py run ('toy'), not of a wgangp_mnist.py one; "
                         "evaluate it with wgangp_toy.py, or give the *_gen.pdparams or .pdckpt of a wgangp_mnist.py "
                         "run."), line
    assert "MODEL settings" not in proc.stderr

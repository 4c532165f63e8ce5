"""Every numeric flag of every console tool, at 0 and -1 (and at its edges): one line, exit status 2."""

import argparse
import subprocess
import sys

import pytest

from ppsci_ext.cli import convert as convert_cli
from ppsci_ext.cli import score as score_cli
from ppsci_ext.cli import train_classifier as classifier_cli

TOOLS = {"ppsci-ext-score": score_cli.main, "ppsci-ext-train-classifier": classifier_cli.main,
         "ppsci-ext-convert": convert_cli.main}
# The arguments each tool needs besides the flag under test; none of them is read before the flags are checked.
BASE = {"ppsci-ext-score": ["no-such-images.npz", "--isc"],
        "ppsci-ext-train-classifier": ["--out", "never-written.pdparams", "--data", "no-such-mnist.pkl.gz"],
        "ppsci-ext-convert": ["no-such.pth", "never-written.pdparams"]}
# Values of a flag the tool accepts: training then goes on to read the (missing) data.
ACCEPTED = "ERROR: MNIST data 'no-such-mnist.pkl.gz' does not exist"

WHOLE_FROM_1 = "must be a whole number >= 1"
CASES = [
    # (tool, flag, value as typed, the message's value, expected rule, default)
    *[("ppsci-ext-score", flag, typed, typed, WHOLE_FROM_1, default)
      for flag, default in [("--batch-size", 50), ("--is-splits", 10), ("--kid-subsets", 100),
                            ("--kid-subset-size", 1000)]
      for typed in ("0", "-1")],
    *[("ppsci-ext-train-classifier", flag, typed, typed, WHOLE_FROM_1, default)
      for flag, default in [("--epochs", 6), ("--batch-size", 128)] for typed in ("0", "-1")],
    ("ppsci-ext-train-classifier", "--lr", "0", "0.0", "must be a number > 0", 0.002),
    ("ppsci-ext-train-classifier", "--lr", "-1", "-1.0", "must be a number > 0", 0.002),
    ("ppsci-ext-train-classifier", "--lr", "nan", "nan", "must be a number > 0", 0.002),
    ("ppsci-ext-train-classifier", "--lr", "inf", "inf", "must be a number > 0", 0.002),
    ("ppsci-ext-train-classifier", "--seed", "-1", "-1", "must be a whole number from 0 to 4,294,967,295", 0),
    ("ppsci-ext-train-classifier", "--seed", "4294967296", "4294967296",
     "must be a whole number from 0 to 4,294,967,295", 0),
    ("ppsci-ext-train-classifier", "--min-accuracy", "-1", "-1.0", "must be a number in [0, 1]", 0.99),
    ("ppsci-ext-train-classifier", "--min-accuracy", "1.01", "1.01", "must be a number in [0, 1]", 0.99),
    ("ppsci-ext-train-classifier", "--min-accuracy", "nan", "nan", "must be a number in [0, 1]", 0.99),
]
# Values at the edge of what is allowed (0 is a seed and an accuracy bound).
VALID = [("--seed", "0"), ("--seed", "4294967295"), ("--min-accuracy", "0"), ("--min-accuracy", "1"),
         ("--lr", "1e-9"), ("--epochs", "1"), ("--batch-size", "1")]


class _Parsed(Exception):
    pass


def numeric_flags(main, monkeypatch):
    """The flags of a tool whose argparse type is int or float."""
    seen = {}

    def grab(parser, *args, **kwargs):
        seen["parser"] = parser
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", grab)
    with pytest.raises(_Parsed):
        main([])
    return {action.option_strings[0] for action in seen["parser"]._actions if action.type in (int, float)}


def run(tool, argv, capsys):
    with pytest.raises(SystemExit) as info:
        TOOLS[tool](BASE[tool] + argv)
    captured = capsys.readouterr()
    return info.value.code, captured.err.splitlines()


def test_every_numeric_flag_has_a_rule(monkeypatch):
    """A numeric flag added to a tool without a rule (and a case here) fails this test."""
    assert numeric_flags(score_cli.main, monkeypatch) == set(score_cli.NUMERIC_FLAGS)
    assert numeric_flags(classifier_cli.main, monkeypatch) == set(classifier_cli.FLAG_RULES)
    assert numeric_flags(convert_cli.main, monkeypatch) == set()
    covered = {(tool, flag) for tool, flag, *_ in CASES}
    assert covered == {("ppsci-ext-score", f) for f in score_cli.NUMERIC_FLAGS} | {
        ("ppsci-ext-train-classifier", f) for f in classifier_cli.FLAG_RULES}
    for tool, flag in covered:  # each at 0 (or, where 0 is allowed, at an edge) and at -1
        values = {typed for t, f, typed, *_ in CASES if (t, f) == (tool, flag)}
        assert "-1" in values and ("0" in values or (flag, "0") in VALID), (tool, flag)


@pytest.mark.parametrize("tool,flag,typed,shown,rule,default", CASES,
                         ids=[f"{c[0]}{c[1]}={c[2]}" for c in CASES])
def test_numeric_flag_out_of_range_is_one_line(tool, flag, typed, shown, rule, default, capsys):
    code, err = run(tool, [flag, typed], capsys)
    assert code == 2
    assert err == [f"ERROR: {flag} {shown} is not allowed: {flag} {rule} (the default is {default})."]


@pytest.mark.parametrize("flag,typed", VALID)
def test_numeric_flag_at_an_allowed_edge_passes(flag, typed, capsys):
    code, err = run("ppsci-ext-train-classifier", [flag, typed], capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith(ACCEPTED)


def test_classifier_batch_larger_than_the_data(tmp_path, capsys):
    """A batch size above the number of training digits would leave no step (and a zero-length schedule)."""
    import gzip
    import pickle

    import numpy as np

    split = (np.zeros((20, 784), np.float32), np.zeros(20, np.int64))
    with gzip.open(tmp_path / "mnist.pkl.gz", "wb") as f:
        pickle.dump((split, split, split), f)
    with pytest.raises(SystemExit) as info:
        classifier_cli.main(["--out", str(tmp_path / "c.pdparams"), "--data", str(tmp_path / "mnist.pkl.gz"),
                             "--batch-size", "21"])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "ERROR: batch size 21 exceeds the 20 training digits; give a smaller --batch-size."]
    assert not (tmp_path / "c.pdparams").exists()


@pytest.mark.parametrize("module,argv,line", [
    ("ppsci_ext.cli.score", ["x.npz", "--fid", "--kid-subset-size", "0"],
     "ERROR: --kid-subset-size 0 is not allowed: --kid-subset-size must be a whole number >= 1 (the default is 1000)."),
    ("ppsci_ext.cli.train_classifier", ["--out", "x.pdparams", "--epochs", "-1"],
     "ERROR: --epochs -1 is not allowed: --epochs must be a whole number >= 1 (the default is 6)."),
])
def test_console_tool_exits_2_with_one_line(module, argv, line, tmp_path):
    """As a user runs it: the whole stderr is the one line."""
    proc = subprocess.run([sys.executable, "-m", module, *argv], cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [line]
    assert proc.stdout == ""

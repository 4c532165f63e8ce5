"""Where the console tools write: ppsci-ext-score's results to a full or closed stdout, ppsci-ext-convert's
output file that exists already."""

import errno
import json
import os
import subprocess
import sys

import pytest

from ppsci_ext.cli import convert as convert_cli
from ppsci_ext.cli import score as score_cli

FULL_DISK_LINE = ("ERROR: could not write the results to standard output (the disk is full); the scores were "
                  "computed but not written: free space where the output goes, or send it elsewhere.")
RESULT = {"num_images": 3, "fid": 1.5}
# A score command whose scoring is replaced by a fixed result: what is tested is the writing.
FAKE_SCORE = ("import sys; from ppsci_ext.cli import score; score.score = lambda *args: {'num_images': 3, 'fid': 1.5}; "
              "score.main(sys.argv[1:])")


@pytest.fixture
def fixed_score(monkeypatch):
    calls = []

    def fake(*args):
        calls.append(args)
        return dict(RESULT)

    monkeypatch.setattr(score_cli, "score", fake)
    return calls


def test_json_is_one_object_on_stdout(fixed_score, capsys):
    score_cli.main(["a.npz", "b.npz", "--fid", "--json"])
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    assert json.loads(out) == RESULT
    assert len(fixed_score) == 1


@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "text"])
def test_results_to_a_full_device_end_in_one_line(tmp_path, json_flag):
    """``ppsci-ext-score ... > /dev/full``: one line, exit status 2, no second error when Python exits."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-c", FAKE_SCORE, "a.npz", "b.npz", "--fid", *json_flag],
                              cwd=str(tmp_path), stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [FULL_DISK_LINE]


class _FullStdout:
    """A stdout whose writes fail as on a full disk, with a real file descriptor to redirect."""

    def __init__(self, path, error=errno.ENOSPC):
        self.file = open(path, "w")
        self.error = error

    def write(self, text):
        raise OSError(self.error, os.strerror(self.error))

    def flush(self):
        pass

    def fileno(self):
        return self.file.fileno()


@pytest.mark.parametrize("error,line", [
    (errno.ENOSPC, FULL_DISK_LINE),
    (errno.EDQUOT, FULL_DISK_LINE),
    (errno.EPIPE, "ERROR: could not write the results to standard output (the program reading it closed it); the "
                  "scores were computed but not written: let it read everything, or write to a file."),
    (errno.EIO, "ERROR: could not write the results to standard output (Input/output error); the scores were "
                "computed but not written: free space where the output goes, or send it elsewhere."),
])
def test_json_write_failure_is_one_user_error(fixed_score, tmp_path, monkeypatch, capsys, error, line):
    stdout = _FullStdout(tmp_path / "out.txt", error)
    monkeypatch.setattr(sys, "stdout", stdout)
    with pytest.raises(SystemExit) as info:
        score_cli.main(["a.npz", "b.npz", "--fid", "--json"])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]
    stdout.file.close()


# ------------------------------------------------------------------------------ convert
@pytest.fixture
def fake_convert(monkeypatch):
    """``convert`` replaced by one that writes a marker: what is tested is the refusal before it."""
    calls = []

    def fake(source, out):
        calls.append((source, out))
        with open(out, "w") as f:
            f.write("converted")
        return {"format": "state_dict", "has_logits": True, "num_params": 7}

    monkeypatch.setattr(convert_cli, "convert", fake)
    return calls


def test_convert_refuses_to_replace_an_existing_file(tmp_path, fake_convert, capsys):
    out = tmp_path / "inception.pdparams"
    out.write_text("precious")
    with pytest.raises(SystemExit) as info:
        convert_cli.main(["weights.pth", str(out)])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"ERROR: {str(out)!r} exists already and was left as it is; add --overwrite to replace it, or give another "
        "output path."]
    assert out.read_text() == "precious" and fake_convert == []


def test_convert_overwrite_replaces_it(tmp_path, fake_convert, capsys):
    out = tmp_path / "inception.pdparams"
    out.write_text("precious")
    convert_cli.main(["--overwrite", "weights.pth", str(out)])
    assert out.read_text() == "converted" and fake_convert == [("weights.pth", str(out))]
    assert capsys.readouterr().out == (f"wrote {out}: 7 parameters from a state_dict file; pool3 and logits "
                                       "(IS, FID, KID)\n")


def test_convert_to_a_new_file_needs_no_flag(tmp_path, fake_convert):
    out = tmp_path / "new.pdparams"
    convert_cli.main(["weights.pth", str(out)])
    assert out.read_text() == "converted" and len(fake_convert) == 1


def test_convert_refuses_a_dangling_link_and_a_folder(tmp_path, fake_convert, capsys):
    link = tmp_path / "link.pdparams"
    link.symlink_to(tmp_path / "missing-target")
    with pytest.raises(SystemExit):
        convert_cli.main(["weights.pth", str(link)])
    assert "exists already" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        convert_cli.main(["--overwrite", "weights.pth", str(tmp_path)])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"ERROR: {str(tmp_path)!r} is a folder; give the path of the .pdparams file to write, e.g. "
        f"{os.path.join(str(tmp_path), 'inception_fid_is.pdparams')!r}."]
    assert fake_convert == []


def test_convert_refusal_as_a_user_runs_it(tmp_path):
    out = tmp_path / "inception.pdparams"
    out.write_bytes(b"precious")
    proc = subprocess.run([sys.executable, "-m", "ppsci_ext.cli.convert", "no-such.pth", str(out)],
                          cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "--overwrite" in proc.stderr and out.read_bytes() == b"precious"

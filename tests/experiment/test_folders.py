"""An output folder belongs to one run: the lock, the finished-run guard, resume in place, eval beside a run,
and a refused run leaving nothing behind."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLES
from ppsci_ext import errors
from ppsci_ext.errors import UserError
from ppsci_ext.experiment import folders

TINY = ["MODEL.width=32", "TRAIN.batch_size=64", "DATA.num_train_samples=2000", "DATA.num_eval_samples=200",
        "VIS.num_points=100", "TRAIN.iters_per_epoch=10", "TRAIN.eval_freq=1", "log_freq=5"]


def _files(folder, *names):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"x")


LOCK_IN_CHILD = ("import sys; from ppsci_ext.errors import UserError; from ppsci_ext.experiment import folders\n"
                 "try:\n    folders.lock_folder(sys.argv[1])\nexcept UserError as e:\n    print(e); sys.exit(2)\n")


def test_lock_is_exclusive_and_names_the_holder(tmp_path):
    handle = folders.lock_folder(str(tmp_path))
    try:
        assert open(tmp_path / folders.LOCK_NAME).read() == str(os.getpid())
        assert folders.lock_folder(str(tmp_path)) is handle  # this process's folder already
        child = subprocess.run([sys.executable, "-c", LOCK_IN_CHILD, str(tmp_path)], capture_output=True, text=True,
                               timeout=600)
        assert child.returncode == 2
        assert child.stdout.strip() == (f"output_dir={tmp_path} is in use by another run (pid {os.getpid()}); wait "
                                        "for it to end, or choose another output_dir=....")
    finally:
        folders.release(handle)
    child = subprocess.run([sys.executable, "-c", LOCK_IN_CHILD, str(tmp_path)], timeout=600)
    assert child.returncode == 0  # released: free again


def test_lock_dies_with_its_process(tmp_path):
    code = ("import sys; from ppsci_ext.experiment import folders; folders.lock_folder(sys.argv[1]); "
            "import os; os._exit(0)")  # no clean-up at all, as after a SIGKILL
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=600)
    folders.release(folders.lock_folder(str(tmp_path)))


def test_weights_only_folder_is_a_finished_run(tmp_path):
    _files(tmp_path / "checkpoints", "latest_gen.pdparams")
    with pytest.raises(UserError, match=r"holds the files of another run \(latest_gen.pdparams\); choose another"):
        folders.check_run_folder(str(tmp_path), None, overwrite=False)
    folders.check_run_folder(str(tmp_path), None, overwrite=True)
    assert folders.holds_run(str(tmp_path))
    assert not folders.holds_run(str(tmp_path / "checkpoints"))


def test_other_files_do_not_make_a_run(tmp_path):
    _files(tmp_path / "checkpoints", "notes.txt", "latest.pdckpt.tmp")
    folders.check_run_folder(str(tmp_path), None, overwrite=False)
    assert not folders.holds_run(str(tmp_path))
    _files(tmp_path, "train_history.json")
    assert folders.holds_run(str(tmp_path))


def test_resume_in_place_only_from_latest(tmp_path):
    ck = tmp_path / "checkpoints"
    _files(ck, "latest.pdckpt", "best.pdckpt", "latest_gen.pdparams")
    folders.check_run_folder(str(tmp_path), str(ck / "latest.pdckpt"), overwrite=False)
    with pytest.raises(UserError) as e:
        folders.check_run_folder(str(tmp_path), str(ck / "best.pdckpt"), overwrite=False)
    assert "is not the newest checkpoint" in str(e.value)
    assert f"TRAIN.checkpoint_path={ck / 'latest.pdckpt'}" in str(e.value)


def test_resume_from_run_a_into_run_b_is_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _files(a / "checkpoints", "latest.pdckpt")
    _files(b / "checkpoints", "latest.pdckpt", "best.pdckpt")
    with pytest.raises(UserError) as e:
        folders.check_run_folder(str(b), str(a / "checkpoints" / "latest.pdckpt"), overwrite=False)
    assert f"output_dir={b} holds the files of another run (best.pdckpt, latest.pdckpt)" in str(e.value)
    folders.check_run_folder(str(tmp_path / "c"), str(a / "checkpoints" / "latest.pdckpt"), overwrite=False)


def test_a_file_is_not_an_output_folder(tmp_path):
    _files(tmp_path, "f")
    for path in (tmp_path / "f", tmp_path / "f" / "below"):
        with pytest.raises(UserError, match=r"is not a folder \(.*f is a file\)"):
            folders.check_folder(str(path))
    folders.check_folder(str(tmp_path / "new" / "deeper"))


def test_a_refused_run_leaves_only_what_was_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(folders, "_MADE", set())

    def made_for_the_run(folder):
        folders._MADE.add(os.path.realpath(folder))
        return str(folder)

    made = tmp_path / "outputs" / "2026-01-01" / "10-00-00"
    _files(made / ".hydra", "config.yaml", "overrides.yaml")
    _files(made, "train.log", folders.LOCK_NAME)
    assert folders.discard_if_refused(made_for_the_run(made))
    assert not (tmp_path / "outputs").exists()  # the dated folders made for it went too
    named = tmp_path / "named"  # the user's own folder, which existed: never removed
    _files(named / ".hydra", "config.yaml")
    _files(named, "train.log")
    assert not folders.discard_if_refused(str(named)) and (named / "train.log").exists()
    kept = tmp_path / "kept"
    _files(kept / ".hydra", "config.yaml")
    _files(kept, "train.log", "notes.txt")
    assert not folders.discard_if_refused(made_for_the_run(kept)) and (kept / "notes.txt").exists()
    old = tmp_path / "old"
    _files(old, "train.log")
    os.utime(old / "train.log", (folders.PROCESS_START - 3600,) * 2)  # a log of an earlier run
    assert not folders.discard_if_refused(made_for_the_run(old)) and (old / "train.log").exists()
    run = tmp_path / "run"
    _files(run / "checkpoints", "latest.pdckpt")
    _files(run, "train.log")
    assert not folders.discard_if_refused(made_for_the_run(run))
    assert (run / "checkpoints" / "latest.pdckpt").exists()


def test_lock_folder_remembers_the_folders_it_made(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_MADE", set())
    new, old = tmp_path / "new", tmp_path / "old"
    old.mkdir()
    for folder in (new, old):
        folders.release(folders.lock_folder(str(folder)))
    assert folders._MADE == {os.path.realpath(new)}
    assert folders.discard_if_refused(str(new)) and not new.exists()
    assert not folders.discard_if_refused(str(old)) and old.exists()


def test_the_error_line_lands_in_the_runs_log(tmp_path, capsys, monkeypatch):
    log = tmp_path / "train.log"
    log.write_text("started\n")
    monkeypatch.setattr(errors, "ERROR_LOGS", [str(log)])
    monkeypatch.setattr(errors, "ON_USER_ERROR", [])
    errors.report("ERROR: something is wrong; fix it.")
    assert log.read_text() == "started\nERROR: something is wrong; fix it.\n"
    assert capsys.readouterr().err == "ERROR: something is wrong; fix it.\n"


def _script(out, *overrides):
    return [sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), f"output_dir={out}", *overrides]


def test_two_runs_started_together_into_one_folder(tmp_path):
    out = tmp_path / "run"
    args = [*TINY, "TRAIN.iters_per_epoch=400", "TRAIN.epochs=3", "TRAIN.eval_during_train=false"]
    procs = [subprocess.Popen(_script(out, *args), cwd=str(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p, *p.communicate(timeout=1800)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [(p.returncode, err[-1500:]) for p, _, err in results]
    winner = next(p for p, _, _ in results if p.returncode == 0)
    loser_err = next(err for p, _, err in results if p.returncode == 2)
    lines = [line for line in loser_err.splitlines() if line.strip() and "OMP_NUM_THREADS" not in line]
    assert lines == [f"ERROR: output_dir={out} is in use by another run (pid {winner.pid}); wait for it to end, "
                     "or choose another output_dir=...."], loser_err
    history = json.loads((out / "train_history.json").read_text())
    assert history["train"] and (out / "checkpoints" / "latest.pdckpt").exists()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("small_run")
    out = root / "run"
    proc = subprocess.run(_script(out, *TINY, "TRAIN.epochs=2"), cwd=str(root), capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, out


def test_resume_with_only_the_checkpoint_and_epochs(small_run):
    """The issue's case: a run with MODEL.width=32 TRAIN.batch_size=64 continues without retyping them."""
    root, out = small_run
    more = root / "more"
    proc = subprocess.run(_script(more, f"TRAIN.checkpoint_path={out}/checkpoints/latest.pdckpt", "TRAIN.epochs=3"),
                          cwd=str(root), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (more / "train.log").read_text()
    assert f"Resumed from {out}/checkpoints/latest.pdckpt at epoch 2 (generator iteration 20)" in log
    assert "Resuming" in log and "TRAIN.epochs: 2 in file, 3 now" in log
    assert "written by ppsci_ext" not in log and "TRAIN.checkpoint_path: None in file" not in log
    import paddle

    state = paddle.load(str(more / "checkpoints" / "latest.pdckpt"))
    assert state["global_step"] == 30 and state["epoch"] == 3
    assert "width: 32" in state["config"] and "batch_size: 64" in state["config"]
    assert list(state["generator"]["net.0.weight"].shape) == [2, 32]


def test_eval_beside_a_run_keeps_the_runs_files(small_run):
    root, out = small_run
    before = (out / "metrics.json").read_bytes()
    proc = subprocess.run(_script(out, "mode=eval", f"EVAL.pretrained_gen_model_path={out}/checkpoints/latest.pdckpt",
                                  "DATA.num_eval_samples=200", "VIS.num_points=100"),
                          cwd=str(root), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "metrics.json").read_bytes() == before
    assert json.loads((out / "eval" / "metrics.json").read_text())["generator"].endswith("latest.pdckpt")


def test_a_refused_script_run_leaves_no_folder(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), "TRAIN.batch_size=0"],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 2 and "TRAIN.batch_size=0 is not allowed" in proc.stderr
    assert os.listdir(tmp_path) == []
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), *TINY, "TRAIN.monitor=fid"],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 2 and "TRAIN.monitor=fid" in proc.stderr
    assert os.listdir(tmp_path) == []  # refused after the log started, before anything of the run was written
    out = tmp_path / "named"  # a folder the user named is kept, with the reason in its log
    proc = subprocess.run(_script(out, *TINY, "TRAIN.monitor=fid"), cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("ERROR: TRAIN.monitor=fid is not among")
    assert (out / "train.log").read_text().splitlines()[-1] == error
    assert not (out / "checkpoints").exists()


def test_the_readme_resume_line_runs_as_written(tmp_path):
    """README's 'Use' block: a run with TRAIN.batch_size=128, then its resume line exactly as written."""
    root = os.path.dirname(EXAMPLES.rstrip(os.sep).rsplit(os.sep, 1)[0])
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read().splitlines()
    first = next(line for line in readme if "output_dir=runs/toy128 " in line and "checkpoint_path" not in line)
    resume = next(line for line in readme if "TRAIN.checkpoint_path=runs/toy128/" in line)
    args = lambda line: line.split("#")[0].split()[2:]  # noqa: E731 - after "python wgangp_toy.py"
    quick = ["MODEL.width=16", "TRAIN.epochs=2", "TRAIN.iters_per_epoch=3", "DATA.num_train_samples=1000",
             "DATA.num_eval_samples=100", "VIS.num_points=50", "TRAIN.eval_freq=10"]
    script = os.path.join(EXAMPLES, "wgangp_toy.py")
    proc = subprocess.run([sys.executable, script, *args(first), *quick], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, script, *args(resume)], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import paddle

    state = paddle.load(str(tmp_path / "runs" / "toy128_more" / "checkpoints" / "latest.pdckpt"))
    assert state["epoch"] == 20 and state["global_step"] == 60
    assert "batch_size: 128" in state["config"] and "width: 16" in state["config"]


def test_a_stop_by_a_signal_keeps_the_folder(tmp_path, monkeypatch, capsys):
    """The tidying of a refused run never runs for a stop (Ctrl-C before the first checkpoint keeps the log)."""
    ran = []
    log = tmp_path / "train.log"
    monkeypatch.setattr(errors, "ON_USER_ERROR", [lambda: ran.append("tidied")])
    monkeypatch.setattr(errors, "ERROR_LOGS", [str(log)])
    errors.report("Stopped by SIGINT ...", refused=False)
    assert ran == [] and log.read_text() == "Stopped by SIGINT ...\n"
    errors.report("ERROR: refused")
    assert ran == ["tidied"]

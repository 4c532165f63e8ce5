"""ppsci-ext-summarize: mean ± std over the jobs of a multirun (-m), failed jobs listed, mixed runs refused.

Most tests build multirun folders by hand (metrics.json, .hydra/config.yaml, Hydra's multirun.yaml) so that
the numbers are known; the last one runs a real tiny 2-seed multirun of the toy script and the console command.
"""

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ppsci_ext.cli import summarize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOY_SCRIPT = os.path.join(ROOT, "examples", "wgangp", "wgangp_toy.py")
TINY = ["MODEL.width=16", "TRAIN.epochs=1", "TRAIN.iters_per_epoch=5", "DATA.num_train_samples=1000",
        "DATA.num_eval_samples=100", "VIS.num_points=50"]

CONFIG = {"mode": "train", "output_dir": "SWEEP", "log_freq": 100, "seed": 0,
          "TRAIN": {"epochs": 1, "iters_per_epoch": 5, "batch_size": 256, "checkpoint_path": None},
          "DATA": {"mode": "8gaussians", "num_eval_samples": 100}, "MODEL": {"width": 16}}


def write_job(root, name, seed, metrics=None, config=None, info=None, log=None):
    """A job folder: .hydra/config.yaml (CONFIG with ``config`` merged per group) and, unless ``metrics`` is None,
    metrics.json as the experiment writes it."""
    folder = os.path.join(str(root), str(name))
    os.makedirs(os.path.join(folder, ".hydra"), exist_ok=True)
    cfg = json.loads(json.dumps(CONFIG))
    cfg["seed"] = seed
    for key, value in (config or {}).items():
        if isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    with open(os.path.join(folder, ".hydra", "config.yaml"), "w") as f:
        yaml.safe_dump(cfg, f)
    if log is not None:
        with open(os.path.join(folder, "train.log"), "w") as f:
            f.write(log)
    if metrics is not None:
        data = {"metrics": metrics, "experiment": "toy", "seed": seed, "step": 5, "data": "8gaussians",
                "num_samples": 100, **(info or {})}
        with open(os.path.join(folder, "metrics.json"), "w") as f:
            json.dump(data, f)
    return folder


def write_multirun(root, task):
    os.makedirs(str(root), exist_ok=True)
    with open(os.path.join(str(root), "multirun.yaml"), "w") as f:
        yaml.safe_dump({"hydra": {"sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                                              "max_batch_size": None, "params": None},
                                  "overrides": {"hydra": ["hydra.mode=MULTIRUN"], "task": task}}}, f)


def three_seeds(root):
    write_multirun(root, ["seed=0,1,2", f"output_dir={root}", "MODEL.width=16"])
    write_job(root, 0, 0, {"toy.modes": 8.0, "toy.swd": 0.0123})
    write_job(root, 1, 1, {"toy.modes": 7.0, "toy.swd": 0.0168})
    write_job(root, 2, 2, {"toy.modes": 8.0, "toy.swd": 0.0101})


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        summarize.main([str(a) for a in argv])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_mean_std_min_max_and_per_seed_values(tmp_path, capsys):
    three_seeds(tmp_path)
    code, out, err = run([tmp_path], capsys)
    assert code == 0
    assert out == "\n".join([
        "## toy (8gaussians): mean ± std over 3 runs",
        "",
        f"Runs in `{tmp_path}`; std is the sample standard deviation (ddof=1), undefined (-) for one run. "
        "Each run's last evaluation (generator iteration 5, 100 points).",
        "",
        "| metric | N | mean ± std | min | max | seed 0 | seed 1 | seed 2 |",
        "|---|---|---|---|---|---|---|---|",
        "| toy.modes | 3 | 7.67 ± 0.58 | 7 | 8 | 8 | 7 | 8 |",
        "| toy.swd | 3 | 0.0131 ± 0.0034 | 0.0101 | 0.0168 | 0.0123 | 0.0168 | 0.0101 |",
        "", ""])
    assert err.strip() == f"written: {tmp_path}/summary.json, {tmp_path}/summary.md"
    with open(tmp_path / "summary.md") as f:
        assert f.read() == out
    with open(tmp_path / "summary.json") as f:
        data = json.load(f)
    assert data["num_runs"] == 3 and data["seeds"] == [0, 1, 2] and data["failed"] == []
    assert data["std"] == "sample standard deviation (ddof=1)"
    assert data["experiment"] == "toy" and data["data"] == "8gaussians" and data["num_samples"] == 100
    swd = data["metrics"]["toy.swd"]
    assert swd["mean"] == pytest.approx((0.0123 + 0.0168 + 0.0101) / 3, abs=1e-15)
    assert swd["std"] == pytest.approx(0.0034151623, abs=1e-10)  # ddof=1 (ddof=0 would be 0.0027885)
    assert (swd["min"], swd["max"], swd["n"]) == (0.0101, 0.0168, 3)
    assert swd["values"] == {"seed 0": 0.0123, "seed 1": 0.0168, "seed 2": 0.0101}
    modes = data["metrics"]["toy.modes"]
    assert modes["mean"] == pytest.approx(23 / 3) and modes["std"] == pytest.approx(math.sqrt(1 / 3))
    assert data["floor"] is None


def test_other_outputs_and_one_run(tmp_path, capsys):
    three_seeds(tmp_path / "sweep")
    out_json, out_md = tmp_path / "elsewhere" / "s.json", tmp_path / "s.md"
    code, out, err = run([tmp_path / "sweep", "--json", out_json, "--markdown", out_md], capsys)
    assert code == 0 and os.path.isfile(out_json) and os.path.isfile(out_md)
    assert not os.path.exists(tmp_path / "sweep" / "summary.json")
    # one run: its values, no std (null in JSON)
    only = tmp_path / "one"
    write_multirun(only, ["seed=4"])
    write_job(only, 0, 4, {"toy.swd": 0.25})
    code, out, err = run([only], capsys)
    assert code == 0
    assert "| toy.swd | 1 | 0.25 | 0.25 | 0.25 | 0.25 |" in out
    with open(only / "summary.json") as f:
        assert json.load(f)["metrics"]["toy.swd"]["std"] is None


def test_failed_and_never_started_jobs_are_listed(tmp_path, capsys):
    write_multirun(tmp_path, ["seed=0,-1,1,2", "MODEL.width=16"])
    write_job(tmp_path, 0, 0, {"toy.swd": 0.5})
    write_job(tmp_path, 1, -1, None, log="starting\nERROR: seed=-1 is not allowed: seed must be a whole number.\n")
    write_job(tmp_path, 2, 1, {"toy.swd": 0.25}, info={"step": 3})  # stopped early: evaluated at iteration 3 of 5
    code, out, err = run([tmp_path], capsys)
    assert code == 1  # summarized, but not every job counted
    assert "mean ± std over 1 run" in out
    assert out.endswith("\n".join([
        "Left out (3):",
        "- FAILED: job 1 (seed -1): no metrics.json (ERROR: seed=-1 is not allowed: seed must be a whole number.)",
        "- FAILED: job 2 (seed 1): unfinished: evaluated at generator iteration 3 of 5",
        "- NOT RUN: job 3 (seed 2): never started (Hydra stops a sweep at a failed job)",
        "", ""]))
    assert err.splitlines()[1:] == [
        "FAILED: job 1 (seed -1): no metrics.json (ERROR: seed=-1 is not allowed: seed must be a whole number.)",
        "FAILED: job 2 (seed 1): unfinished: evaluated at generator iteration 3 of 5",
        "NOT RUN: job 3 (seed 2): never started (Hydra stops a sweep at a failed job)"]
    with open(tmp_path / "summary.json") as f:
        data = json.load(f)
    assert [(f["job"], f["status"], f["seed"]) for f in data["failed"]] == [
        ("1", "failed", -1), ("2", "failed", 1), ("3", "not run", 2)]
    assert data["metrics"]["toy.swd"]["values"] == {"seed 0": 0.5}


def test_unreadable_or_empty_metrics_are_failed_jobs(tmp_path, capsys):
    write_job(tmp_path, 0, 0, {"toy.swd": 0.5})
    write_job(tmp_path, 1, 1, {})
    write_job(tmp_path, 2, 2, None)
    with open(tmp_path / "2" / "metrics.json", "w") as f:
        f.write('{"metrics": {"toy.sw')
    code, out, err = run([tmp_path], capsys)
    assert code == 1
    assert "- FAILED: job 1 (seed 1): metrics.json holds no metrics (TRAIN.eval_during_train=false?)" in out
    assert "- FAILED: job 2 (seed 2): metrics.json is not readable (JSONDecodeError: " in out


def refusal(argv, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("ERROR: ")
    return err.strip()


def test_runs_of_other_settings_or_experiments_are_refused(tmp_path, capsys):
    three_seeds(tmp_path)
    write_job(tmp_path, 3, 3, {"toy.swd": 0.1}, config={"TRAIN": {"batch_size": 64}})
    assert refusal([tmp_path], capsys) == (
        f"ERROR: {tmp_path} mixes runs of different experiments or settings (only the seed may differ): "
        "TRAIN.batch_size: 256 in jobs 0, 1, 2, 64 in job 3. Summarize the runs of each setting on their own.")
    assert not os.path.exists(tmp_path / "summary.json")
    shutil.rmtree(tmp_path / "3")
    write_job(tmp_path, 3, 3, {"mnist.score": 9.0}, info={"experiment": "mnist", "data": "mnist"})
    message = refusal([tmp_path], capsys)
    assert ("experiment: toy in jobs 0, 1, 2, mnist in job 3; data: 8gaussians in jobs 0, 1, 2, mnist in job 3"
            in message)
    shutil.rmtree(tmp_path / "3")
    write_job(tmp_path, 3, 3, {"toy.swd": 0.1}, info={"num_samples": 10000})
    assert "points scored (num_samples): 100 in jobs 0, 1, 2, 10000 in job 3" in refusal([tmp_path], capsys)
    # MNIST scores of two classifiers are different measures (metrics.json names the one that scored)
    for job in range(4):
        shutil.rmtree(tmp_path / str(job))
        write_job(tmp_path, job, job, {"mnist.score": 9.0}, info={"experiment": "mnist", "data": "mnist",
                                                                  "classifier": "mlp.pdparams" if job == 3 else "cnn"})
    assert "scoring classifier (EVAL.classifier_path): cnn in jobs 0, 1, 2, mlp.pdparams in job 3" in refusal(
        [tmp_path], capsys)
    # a log setting may differ; the seed may not repeat
    shutil.rmtree(tmp_path)
    three_seeds(tmp_path)
    write_job(tmp_path, 3, 1, {"toy.swd": 0.1}, config={"log_freq": 7})
    assert refusal([tmp_path], capsys) == (
        f"ERROR: {tmp_path} holds several runs of one seed: seed 1 in jobs 1, 3. Each run of a summary needs its "
        "own seed.")


def test_bad_input_is_one_line(tmp_path, capsys):
    assert refusal([tmp_path / "missing"], capsys) == (
        f"ERROR: {tmp_path}/missing does not exist; give the output_dir of a multirun (-m) or run folders.")
    (tmp_path / "file.txt").write_text("x")
    assert "is not a folder" in refusal([tmp_path / "file.txt"], capsys)
    (tmp_path / "empty").mkdir()
    assert refusal([tmp_path / "empty"], capsys) == (
        f"ERROR: {tmp_path}/empty holds no runs (no {tmp_path}/empty/*/metrics.json, no multirun.yaml); give the "
        "output_dir of a multirun (-m) or run folders.")
    write_job(tmp_path / "allfailed", 0, 0, None)
    assert refusal([tmp_path / "allfailed"], capsys) == (
        f"ERROR: no run of {tmp_path}/allfailed has finished with a metrics.json: job 0 (seed 0): no metrics.json "
        "(it failed, was stopped, or is still running).")
    three_seeds(tmp_path / "ok")
    assert refusal([tmp_path / "ok" / "0", tmp_path / "ok" / "0"], capsys).startswith("ERROR: a run folder is given")
    for flag, value in (("--floor-draws", "0"), ("--floor-draws", "-1"), ("--floor-seed", "-1"),
                        ("--floor-seed", str(2 ** 32))):
        message = refusal([tmp_path / "ok", flag, value], capsys)
        assert message.startswith(f"ERROR: {flag} {value} is not allowed: {flag} must be a whole number")


def test_every_numeric_flag_has_a_rule():
    numeric = {a.option_strings[0] for a in summarize.build_parser()._actions if a.type in (int, float)}
    assert numeric == set(summarize.NUMERIC_FLAGS)


def test_run_folders_given_one_by_one(tmp_path, capsys):
    a = write_job(tmp_path / "runs", "a", 10, {"toy.swd": 0.5}, config={"output_dir": "runs/a"})
    b = write_job(tmp_path / "runs", "b", 11, {"toy.swd": 0.25}, config={"output_dir": "runs/b"})
    code, out, err = run([a, b], capsys)
    assert code == 0 and "| toy.swd | 2 | 0.38 ± 0.18 | 0.25 | 0.5 | 0.5 | 0.25 |" in out
    assert "| metric | N | mean ± std | min | max | seed 10 | seed 11 |" in out
    assert "nothing written (several run folders: give --json OUT and/or --markdown OUT)" in err
    assert not os.path.exists(os.path.join(a, "summary.json"))
    code, out, err = run([a, b, "--json", tmp_path / "ab.json"], capsys)
    assert code == 0 and json.load(open(tmp_path / "ab.json"))["num_runs"] == 2
    # a run folder with an eval/ sub-folder (mode=eval into it) is one run, not a sweep of one job "eval"
    write_job(a, "eval", 10, {"toy.swd": 0.9})
    code, out, err = run([a], capsys)
    assert code == 0 and "| toy.swd | 1 | 0.5 |" in out
    # one run folder keeps its own summary (a long run's curve is read this way: docs/training.md)
    assert err.startswith(f"written: {a}/summary.json, {a}/summary.md")
    assert json.load(open(os.path.join(a, "summary.json")))["num_runs"] == 1


def test_the_floor_is_computed_kept_and_read(tmp_path, capsys):
    three_seeds(tmp_path)
    code, out, err = run([tmp_path, "--floor", "--floor-draws", "2"], capsys)
    assert code == 0
    assert "| metric | N | mean ± std | min | max | seed 0 | seed 1 | seed 2 | real vs real |" in out
    assert "Real vs real: mean ± std of 2 independent draws of 100 real points, each against another draw." in out
    from ppsci_ext.metric.summary import floor_for_keys, format_stats, real_floor

    expected = floor_for_keys(real_floor("8gaussians", 100, 2, 1234, prdc=False), ["toy.modes", "toy.swd"])
    assert f"| 0.0101 | {format_stats(expected['toy.swd']['mean'], expected['toy.swd']['std'])} |" in out
    data = json.load(open(tmp_path / "summary.json"))
    assert data["floor"]["metrics"]["toy.swd"]["mean"] == pytest.approx(expected["toy.swd"]["mean"])
    assert data["floor"]["num_draws"] == 2 and data["floor"]["file"] == f"{tmp_path}/real_floor.json"
    # later summaries read it; another number of points does not
    code, again, err = run([tmp_path], capsys)
    assert again == out
    for k in range(3):
        info = json.load(open(tmp_path / str(k) / "metrics.json"))
        info["num_samples"] = 50
        json.dump(info, open(tmp_path / str(k) / "metrics.json", "w"))
    code, out, err = run([tmp_path], capsys)
    assert "real vs real" not in out and "is the floor of other runs" in err


def test_the_floor_only_for_toy_samplers(tmp_path, capsys):
    write_job(tmp_path / "file", 0, 0, {"toy.swd": 0.5}, info={"data": "file"})
    assert refusal([tmp_path / "file", "--floor"], capsys) == (
        "ERROR: --floor: DATA.mode=file has no real-vs-real floor here (it needs fresh points from one of the toy "
        "samplers: 8gaussians, 25gaussians, swissroll).")
    write_job(tmp_path / "mnist", 0, 0, {"mnist.score": 9.0}, info={"experiment": "mnist", "data": "mnist"})
    assert refusal([tmp_path / "mnist", "--floor"], capsys).startswith(
        "ERROR: --floor: the mnist experiment has no real-vs-real floor here")


def write_history(folder, evals):
    """train_history.json with evaluations ``evals``: [(step, {metric: value}), ...]."""
    with open(os.path.join(str(folder), "train_history.json"), "w") as f:
        json.dump({"train": [{"step": 1, "critic_loss": -1.0}], "eval": [{"step": s, **m} for s, m in evals]}, f)


def curve_seeds(root):
    """Seeds 0 and 1 finished (evaluated at 2 and 4), seed 2 still training (evaluated at 2)."""
    three_seeds(root)
    write_history(root / "0", [(2, {"toy.swd": 0.5, "toy.modes": 6.0, "mnist.score_std": 0.1}),
                               (4, {"toy.swd": 0.25, "toy.modes": 8.0, "mnist.score_std": 0.1})])
    write_history(root / "1", [(2, {"toy.swd": 0.3, "toy.modes": 7.0}), (4, {"toy.swd": 0.15, "toy.modes": 8.0})])
    write_history(root / "2", [(2, {"toy.swd": 0.4, "toy.modes": 8.0})])


def test_the_curve_of_every_evaluation(tmp_path, capsys):
    curve_seeds(tmp_path)
    code, out, err = run([tmp_path, "--curve"], capsys)
    assert code == 0, err
    assert out == "\n".join([
        "## Evaluations over training: mean ± std over 3 runs",
        "",
        f"Runs in `{tmp_path}`; std is the sample standard deviation (ddof=1).",
        "",
        "| step | runs | toy.modes | toy.swd |",
        "|---|---|---|---|",
        "| 2 | 3 | 7.0 ± 1.0 | 0.40 ± 0.10 |",
        "| 4 | 2 | 8 ± 0 | 0.200 ± 0.071 |",
        "",
    ]) + "\n"
    assert err == f"written: {tmp_path / 'curve.json'}, {tmp_path / 'curve.md'}\n"
    curve = json.load(open(tmp_path / "curve.json"))
    assert curve["columns"] == ["toy.modes", "toy.swd"] and curve["seeds"] == [0, 1, 2]
    assert [r["step"] for r in curve["rows"]] == [2, 4] and [r["num_runs"] for r in curve["rows"]] == [3, 2]
    swd = curve["rows"][1]["metrics"]["toy.swd"]
    assert swd["values"] == {"seed 0": 0.25, "seed 1": 0.15} and swd["mean"] == pytest.approx(0.2)
    assert swd["std"] == pytest.approx(0.1 / math.sqrt(2))  # ddof=1
    assert open(tmp_path / "curve.md").read() == out
    # chosen columns, by short or full name, in the order given; one run: its values
    code, out, err = run([tmp_path / "0", "--curve", "--metrics", "swd,mnist.score_std"], capsys)
    assert code == 0 and err == f"written: {tmp_path / '0' / 'curve.json'}, {tmp_path / '0' / 'curve.md'}\n"
    assert open(tmp_path / "0" / "curve.md").read() == out  # one run folder: its curve beside its history
    assert "| step | toy.swd | mnist.score_std |\n|---|---|---|\n| 2 | 0.5 | 0.1 |\n| 4 | 0.25 | 0.1 |" in out
    assert out.startswith("## Evaluations over training: one run\n")


def test_the_curve_lists_runs_without_history_and_refuses_bad_flags(tmp_path, capsys):
    curve_seeds(tmp_path)
    os.remove(tmp_path / "2" / "train_history.json")
    code, out, err = run([tmp_path, "--curve"], capsys)
    assert code == 1
    assert "mean ± std over 2 runs" in out and "| step | toy.modes | toy.swd |" in out
    assert "- FAILED: job 2 (seed 2): no train_history.json (the run has not evaluated yet" in out
    assert err.splitlines()[-1].startswith("FAILED: job 2 (seed 2): no train_history.json")
    (tmp_path / "1" / "train_history.json").write_text("{not json")
    code, out, err = run([tmp_path, "--curve"], capsys)
    assert code == 1 and "- FAILED: job 1 (seed 1): train_history.json is not readable (JSONDecodeError" in out
    assert refusal([tmp_path, "--curve", "--metrics", "fid"], capsys) == (
        "ERROR: --metrics: the runs evaluated no metric 'fid'; they have toy.modes, toy.swd, mnist.score_std.")
    assert refusal([tmp_path, "--metrics", "swd"], capsys) == (
        "ERROR: --metrics chooses the columns of --curve; add --curve, or leave --metrics out.")
    assert refusal([tmp_path, "--curve", "--floor"], capsys).startswith("ERROR: --floor belongs to the summary")
    os.remove(tmp_path / "0" / "train_history.json")
    assert refusal([tmp_path / "0", "--curve"], capsys).startswith(
        f"ERROR: no run of {tmp_path / '0'} has evaluated yet: job 0 (seed 0): no train_history.json")


def test_a_real_two_seed_multirun_end_to_end(tmp_path):
    """-m seed=0,1 writes output_dir/0 and output_dir/1; the console command averages their metrics.json."""
    sweep = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, TOY_SCRIPT, "-m", "seed=0,1", f"output_dir={sweep}", *TINY],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(os.listdir(sweep)) == ["0", "1", "multirun.yaml"]
    assert os.listdir(tmp_path) == ["sweep"]  # no stray folders
    jobs = [json.load(open(sweep / k / "metrics.json")) for k in ("0", "1")]
    assert [j["seed"] for j in jobs] == [0, 1]
    command = shutil.which("ppsci-ext-summarize", path=os.path.dirname(sys.executable)) or shutil.which(
        "ppsci-ext-summarize")
    assert command, "ppsci-ext-summarize is not installed: pip install -e ."
    done = subprocess.run([command, str(sweep)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "## toy (8gaussians): mean ± std over 2 runs" in done.stdout
    assert "| metric | N | mean ± std | min | max | seed 0 | seed 1 |" in done.stdout
    summary = json.load(open(sweep / "summary.json"))
    for key in ("toy.modes", "toy.high_quality", "toy.reverse_kl", "toy.swd"):
        values = [j["metrics"][key] for j in jobs]
        stats = summary["metrics"][key]
        assert stats["mean"] == pytest.approx(sum(values) / 2)
        assert stats["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))  # ddof=1
        assert stats["values"] == {"seed 0": values[0], "seed 1": values[1]}
    assert open(sweep / "summary.md").read() == done.stdout
    # the same jobs' evaluations over training (one each: TRAIN.epochs=1)
    done = subprocess.run([command, str(sweep), "--curve", "--metrics", "modes,swd"], env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    curve = json.load(open(sweep / "curve.json"))
    assert [r["step"] for r in curve["rows"]] == [5]
    assert curve["rows"][0]["metrics"]["toy.swd"]["values"] == {f"seed {k}": j["metrics"]["toy.swd"]
                                                                for k, j in enumerate(jobs)}

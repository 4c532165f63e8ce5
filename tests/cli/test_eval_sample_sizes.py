"""Every reported metric carries its sample sizes, in the eval log line and in metrics.json (issue 23)."""

import json

from ppsci_ext.experiment.base import below_protocol, computed_sizes, describe_metrics


def test_log_line_shows_each_groups_sample_size():
    metrics = {"mnist.score": 9.0641, "mnist.frechet": 5.031, "inception.fid": 40.26, "inception.intra_fid": 61.0}
    sizes = {"mnist": {"generated": 10000, "real": 10000},
             "inception": {"generated": 500, "real": 50000, "real_kept": 8000}}
    notes = {"inception.intra_fid": "mean of 8 of 10 classes"}
    assert describe_metrics(metrics, sizes, notes) == (
        "mnist.score 9.064, mnist.frechet 5.031 (n=10000), inception.fid 40.26, "
        "inception.intra_fid 61 (mean of 8 of 10 classes) (n=500 generated, 50000 real; KID/PRDC on 8000 real)")
    assert describe_metrics({"toy.swd": 0.5}, {}, {}) == "toy.swd 0.5"
    assert describe_metrics({}, sizes, {}) == "no metrics"
    assert describe_metrics({"a.x": 1.0}, {"a": {"generated": 7}}, {}) == "a.x 1 (n=7)"
    assert describe_metrics({"a.x": 1.0}, {"a": {"generated": 7, "real": 7, "real_kept": 7}}, {}) == "a.x 1 (n=7)"


def test_only_computed_groups_have_sizes():
    sizes = {"mnist": {"generated": 5, "real": 9}, "inception": {"generated": 5}}
    assert computed_sizes({"mnist.score": 1.0}, sizes) == {"mnist": {"generated": 5, "real": 9}}
    assert computed_sizes({}, sizes) == {}
    assert computed_sizes({"mnistx.score": 1.0}, sizes) == {}


def test_below_protocol_warning():
    sizes = {"toy": {"generated": 300, "real": 300}, "prdc": {"generated": 300, "real": 300}}
    metrics = {"toy.swd": 0.1, "prdc.recall": 0.9}
    assert below_protocol(metrics, sizes, 10000, "DATA.num_eval_samples") == (
        "300 generated samples scored (prdc, toy), fewer than the 10000 of the protocol the documented figures use: "
        "these numbers are not comparable with them (docs/metrics.md, \"Sample size\"); set "
        "DATA.num_eval_samples=10000 to compare.")
    assert below_protocol(metrics, sizes, None) == ""
    assert below_protocol(metrics, sizes, 300) == ""
    assert below_protocol(metrics, sizes, 301).startswith("300 generated samples scored (prdc, toy), fewer than the 301 ")
    assert below_protocol({}, sizes, 10000) == ""
    assert below_protocol({"toy.swd": 0.1}, sizes, 10000).startswith("300 generated samples scored (toy), ")
    assert below_protocol({"toy.swd": 0.1}, sizes, 10000).endswith("set EVAL.num_samples=10000 to compare.")


def test_tiny_toy_eval_shows_n_and_the_protocol_warning(tmp_path, example):
    proc = example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path}", "DATA.num_eval_samples=300",
                   "VIS.num_points=100", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (tmp_path / "eval.log").read_text()
    line = next(x for x in log.splitlines() if "Evaluated " in x)
    assert "toy.swd" in line and line.count("(n=300)") == 2  # after the toy group and after the prdc group
    assert "prdc.coverage " in line and line.index("(n=300)") < line.index("prdc.precision")
    assert ("300 generated samples scored (prdc, toy), fewer than the 10000 of the protocol the documented figures "
            "use") in log
    assert "set DATA.num_eval_samples=10000 to compare." in log
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["sample_sizes"] == {"toy": {"generated": 300, "real": 300}, "prdc": {"generated": 300, "real": 300}}
    assert data["num_samples"] == 300

"""A conditional evaluation with a class missing from the real data reports it (issue 23)."""

import types

import numpy as np
import paddle
import pytest

from ppsci_ext.experiment.base import describe_metrics
from ppsci_ext.experiment.images import ImagesExperiment
from ppsci_ext.metric import InceptionMetrics


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    from ppsci_ext.metric.inception import InceptionV3FID

    paddle.seed(0)
    path = tmp_path_factory.mktemp("inception") / "random_inception.pdparams"
    paddle.save(InceptionV3FID(with_logits=False).state_dict(), str(path))
    return str(path)


def test_conditional_eval_reports_the_class_without_real_images(random_weights):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (9, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(9) % 3  # three classes generated, three samples each
    d = 2048
    stats = {"mu": np.zeros(d), "sigma": np.eye(d), "features": np.zeros((4, d), np.float16)}
    classes = {0: {"mu": np.zeros(d), "sigma": np.eye(d)}, 1: {"mu": np.zeros(d), "sigma": np.eye(d)}}  # no "eel"
    scorer = InceptionMetrics(random_weights, metrics=("fid",), key="img", reference=stats, class_reference=classes,
                              class_names=["cat", "dog", "eel"])
    assert scorer.intra_report is None
    result = scorer({"img": images}, {"y": labels})
    assert set(result) == {"fid", "intra_fid_cat", "intra_fid_dog", "intra_fid"}
    assert result["intra_fid"] == pytest.approx((result["intra_fid_cat"] + result["intra_fid_dog"]) / 2, rel=1e-12)
    report = {"classes": 2, "of": 3, "skipped": [{"class": "eel", "real": 0, "generated": 3}]}
    assert scorer.intra_report == report

    # what the image experiment makes of it: the log line's label and the metrics.json entry
    experiment = types.SimpleNamespace(_scorer=scorer)
    notes = ImagesExperiment.metric_notes(types.SimpleNamespace(_intra_report=lambda: ImagesExperiment._intra_report(
        experiment)))
    assert notes == {"inception.intra_fid": "mean of 2 of 3 classes; left out (no real images): eel (3 generated)"}
    line = describe_metrics({"inception.fid": 10.0, "inception.intra_fid": 20.0},
                            {"inception": {"generated": 9, "real": 4, "real_kept": 4}}, notes)
    assert line == ("inception.fid 10, inception.intra_fid 20 (mean of 2 of 3 classes; left out (no real images): "
                    "eel (3 generated)) (n=9 generated, 4 real)")
    assert ImagesExperiment._intra_report(types.SimpleNamespace()) is None
    assert ImagesExperiment.metric_notes(types.SimpleNamespace(_intra_report=lambda: None)) == {}


def _experiment(scored, weights, report=None):
    return types.SimpleNamespace(
        config=types.SimpleNamespace(EVAL=types.SimpleNamespace(num_samples=500, num_samples_train=100),
                                     DATA=types.SimpleNamespace(data_path="pngs")),
        mode="eval", scored=scored, inception_weights=weights, kid_subset_size=400, _sets={},
        _intra_report=lambda: report)


def test_metrics_json_entries_only_for_computed_inception_metrics():
    info = ImagesExperiment.result_info(_experiment(("fid", "kid"), "w.pdparams"))
    assert info == {"data": "pngs", "num_samples": 500, "inception_weights": "w.pdparams", "kid_subset_size": 400}
    info = ImagesExperiment.result_info(_experiment(("fid",), "w.pdparams"))
    assert info["kid_subset_size"] is None and info["num_samples"] == 500
    assert ImagesExperiment.result_info(_experiment((), None)) == {"data": "pngs"}  # inception_weights_path=null
    report = {"classes": 2, "of": 3, "skipped": [{"class": "eel", "real": 0, "generated": 3}]}
    assert ImagesExperiment.result_info(_experiment(("fid",), "w.pdparams", report))["intra_fid"] == report

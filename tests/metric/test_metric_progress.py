"""Every metric phase that can take a while shows a progress line (issue 23), and FID's square root route.

The bars appear after ``progress.DELAY`` seconds; the tests force it to 0, so
a phase's line appears at once, with its count.
"""

import threading

import numpy as np
import pytest
import scipy.linalg

from ppsci_ext import progress as progress_module
from ppsci_ext.errors import UserError
from ppsci_ext.metric import (
    density_coverage,
    frechet_distance,
    intra_class_fid,
    kernel_inception_distance,
    prdc,
    precision_recall,
)
from ppsci_ext.metric import reference
from ppsci_ext.metric.fid import trace_sqrt_product
from ppsci_ext.metric.toy import ToyMetric
from ppsci_ext.progress import progress


@pytest.fixture
def shown(monkeypatch, capsys):
    """Bars at once; returns a function giving what was written to stderr since the last call."""
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    capsys.readouterr()
    return lambda: capsys.readouterr().err


def _covariance(rng, d, n):
    x = rng.standard_normal((n, d)) * np.linspace(2.0, 0.1, d)
    return np.cov(x @ rng.standard_normal((d, d)), rowvar=False)


def _scipy_fid(mu1, s1, mu2, s2):
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


# --- the square root route ----------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 7, 40])
def test_fid_equals_scipy_sqrtm_route(d):
    rng = np.random.default_rng(d)
    s1, s2 = _covariance(rng, d, 5 * d), _covariance(rng, d, 5 * d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_scipy_fid(mu1, s1, mu2, s2), rel=1e-10)


def test_fid_value_pinned():
    rng = np.random.default_rng(3)
    s1, s2 = _covariance(rng, 5, 50), _covariance(rng, 5, 50)
    value = frechet_distance(np.zeros(5), s1, np.ones(5), s2)
    assert value == pytest.approx(_scipy_fid(np.zeros(5), s1, np.ones(5), s2), rel=1e-10)
    assert trace_sqrt_product(np.diag([1.0, 4.0]), np.diag([9.0, 1.0])) == pytest.approx(5.0, rel=1e-12)
    assert trace_sqrt_product(np.diag([4.0, 0.0]), np.diag([9.0, 1.0])) == pytest.approx(6.0, rel=1e-12)


def test_fid_of_singular_covariances_is_exact():
    # S1 is singular (no Cholesky factor): the eigen-decomposition root is used; S1 S2 has eigenvalues {9, 0, 0, 0}
    a = np.array([[1.0, 1.0, 1.0, -1.0], [-1.0, 0.0, 1.0, 1.0]]).T
    b = np.array([[0.0, -1.0, -1.0, 1.0]]).T
    assert frechet_distance(np.zeros(4), a @ a.T, np.zeros(4), b @ b.T) == pytest.approx(4.0, abs=1e-6)
    assert frechet_distance(np.zeros(4), b @ b.T, np.zeros(4), a @ a.T) == pytest.approx(4.0, abs=1e-6)


def test_fid_refuses_a_matrix_that_is_not_a_covariance():
    bad = np.diag([1.0, -1.0])
    with pytest.raises(UserError, match=r"^FID: the first covariance is not a covariance matrix \(it has the "
                                        r"eigenvalue -1, the largest being 1\); check the images"):
        frechet_distance(np.zeros(2), bad, np.zeros(2), np.eye(2))
    with pytest.raises(UserError, match=r"^FID: the second covariance is not a covariance matrix \(it has the "
                                        r"eigenvalue -1, the largest being 1\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), bad)
    # rounding just below zero is not an error
    tiny = np.diag([1.0, -1e-9])
    assert frechet_distance(np.zeros(2), tiny, np.zeros(2), np.eye(2)) == pytest.approx(1.0 + 2.0 - 2.0, abs=1e-6)


# --- one progress line per phase ----------------------------------------------------------------------


def test_fid_square_root_shows_progress(shown):
    frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), 2 * np.eye(3))
    err = shown()
    assert "FID matrix square root: 100%" in err and "2/2" in err and "step" in err
    frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), 2 * np.eye(3), what=None)
    assert shown() == ""


def test_no_progress_before_the_delay(capsys):
    frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), 2 * np.eye(3))  # DELAY is 5 s
    assert capsys.readouterr().err == ""


def test_intra_class_fid_shows_classes(shown):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((12, 3))
    labels = np.arange(12) % 2
    ref = {c: {"mu": np.zeros(3), "sigma": np.eye(3)} for c in (0, 1)}
    result = intra_class_fid(features, labels, ref, ["a", "b"])
    err = shown()
    assert "intra-class FID: 100%" in err and "2/2" in err and "class" in err
    assert "FID matrix square root" not in err  # one line for the phase, not one per class
    assert set(result) == {"intra_fid_a", "intra_fid_b", "intra_fid"}


def test_prdc_neighbour_search_counts_points(shown):
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((10, 2)), rng.standard_normal((8, 2))
    prdc(real, fake)
    err = shown()
    assert "precision/recall/density/coverage neighbour search: 100%" in err and "64/64" in err  # 4 * 10 + 3 * 8
    precision_recall(real, fake)
    err = shown()
    assert "precision/recall neighbour search: 100%" in err and "36/36" in err  # 2 * 10 + 2 * 8
    density_coverage(real, fake)
    err = shown()
    assert "density/coverage neighbour search: 100%" in err and "28/28" in err  # 2 * 10 + 8


def test_prdc_values_unchanged_by_the_bar():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    y = np.array([[0.5], [10.0], [2.0], [6.0]])
    assert prdc(x, y, k_pr=1, k_dc=1) == {**dict(zip(("precision", "recall"), precision_recall(x, y, 1))),
                                          **dict(zip(("density", "coverage"), density_coverage(x, y, 1)))}


def test_kid_subsets_show_progress(shown):
    kernel_inception_distance(np.zeros((4, 2)), np.ones((4, 2)), num_subsets=3, subset_size=2)
    err = shown()
    assert "KID subsets: 100%" in err and "3/3" in err and "subset" in err


def test_toy_metrics_show_progress(shown):
    result = ToyMetric("8gaussians")({"x": np.zeros((5, 2))}, {"x": np.zeros((5, 2))})
    err = shown()
    assert "toy metrics (modes, reverse KL, SWD): 100%" in err and "3/3" in err
    assert set(result) == {"modes", "high_quality", "reverse_kl", "swd"}
    ToyMetric("8gaussians")({"x": np.zeros((5, 2))})
    assert "2/2" in shown()


def test_classifier_pass_shows_progress(shown):
    from ppsci_ext.metric.classifier import classifier_outputs, load_classifier

    out = classifier_outputs(np.zeros((3, 1, 28, 28), np.float32), load_classifier(), batch_size=2)
    err = shown()
    assert "MNIST classifier features: 100%" in err and "3/3" in err
    assert out["features"].shape[0] == 3


def test_reference_statistics_show_progress(shown, tmp_path):
    features = np.random.default_rng(0).standard_normal((6, 2))
    reference.cached(str(tmp_path / "s.npz"), lambda: features)
    err = shown()
    assert "reference statistics (moments, then the cache file): 100%" in err and "2/2" in err
    reference.class_moments(features, np.array([0, 0, 0, 1, 1, 1]))
    err = shown()
    assert "reference statistics per class: 100%" in err and "2/2" in err


# --- the helper itself ----------------------------------------------------------------------------------


def test_bar_is_drawn_after_the_delay_without_updates(monkeypatch):
    """A step with no update still shows up: the bar's own thread draws it after the delay."""
    bar_class = progress_module._bar_class()
    drawn = threading.Event()

    def show(self):
        drawn.set()
        return False

    monkeypatch.setattr(bar_class, "show", show)
    monkeypatch.setattr(progress_module, "DELAY", 0.01)
    bar = progress(3, "a long single step", unit="step")
    drawn.wait()
    bar.close()
    assert drawn.is_set()


def test_show_draws_the_bar_until_closed(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "DELAY", 1000.0)
    bar = progress(4, "waiting step", unit="step")
    assert capsys.readouterr().err == ""
    assert bar.show() is True
    err = capsys.readouterr().err
    assert "waiting step:   0%" in err and "0/4" in err
    bar.close()
    assert capsys.readouterr().err.endswith("\n")  # the drawn line is finished
    assert bar.show() is False
    assert capsys.readouterr().err == ""


# --- intra-class FID names what it leaves out -----------------------------------------------------------


def test_intra_class_report_names_classes_without_real_images():
    from ppsci_ext.metric.inception.metrics import describe_intra_report, intra_class_report

    labels = np.array([0, 1, 2, 3, 2, 3, 3])
    ref = {0: {}, 1: {}}
    report = intra_class_report(labels, ref, ["cat", "dog", "eel", "fox"])
    assert report == {"classes": 2, "of": 4, "skipped": [{"class": "eel", "real": 0, "generated": 2},
                                                         {"class": "fox", "real": 0, "generated": 3}]}
    assert describe_intra_report(report) == ("mean of 2 of 4 classes; left out (no real images): eel (2 generated), "
                                             "fox (3 generated)")
    full = intra_class_report(np.array([0, 1, 1]), ref)
    assert full == {"classes": 2, "of": 2, "skipped": []}
    assert describe_intra_report(full) == "mean of 2 of 2 classes"
    assert intra_class_report(np.array([5]), {}, ["a"])["skipped"] == [{"class": "5", "real": 0, "generated": 1}]


def test_intra_class_fid_averages_only_classes_with_real_statistics():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((9, 2))
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    ref = {0: {"mu": np.zeros(2), "sigma": np.eye(2)}, 1: {"mu": np.ones(2), "sigma": np.eye(2)}}
    result = intra_class_fid(features, labels, ref)
    assert set(result) == {"intra_fid_0", "intra_fid_1", "intra_fid"}
    assert result["intra_fid"] == pytest.approx((result["intra_fid_0"] + result["intra_fid_1"]) / 2, rel=1e-12)

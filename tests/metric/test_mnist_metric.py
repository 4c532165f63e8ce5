"""The MNIST classifier score (ppsci_ext/metric/classifier.py): the score on hand-made predictions, the
Frechet distance of a set to itself, and the cached reference statistics."""

import numpy as np
import paddle
import pytest

from ppsci_ext.arch import MNISTClassifier
from ppsci_ext.errors import UserError
from ppsci_ext.metric import MNISTClassifierMetric, mnist_score, prediction_confidence
from ppsci_ext.metric.classifier import top_probability


def test_mnist_score_on_hand_made_predictions():
    assert mnist_score(np.zeros((50, 10)), splits=10) == pytest.approx((1.0, 0.0))
    for k in (1, 2, 5, 10):
        logits = np.full((10 * k * 3, 10), -1e4)
        logits[np.arange(len(logits)), np.arange(len(logits)) % k] = 0.0  # one-hot, evenly over k classes
        mean, std = mnist_score(logits, splits=3)
        assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_prediction_confidence_on_hand_made_predictions():
    # rows: sure of class 0; 50/50 between two classes; uniform over ten; top class 0.85 (just below 0.9)
    p = np.full((4, 10), 1e-12)
    p[0, 0] = 1.0
    p[1, :2] = 0.5
    p[2] = 0.1
    p[3, 0], p[3, 1:] = 0.85, 0.15 / 9
    h = [0.0, np.log(2), np.log(10), -(0.85 * np.log(0.85) + 0.15 * np.log(0.15 / 9))]
    r = prediction_confidence(np.log(p) + 3.0)  # logits: any shift per row gives the same softmax
    assert r["entropy"] == pytest.approx(np.mean(h), abs=1e-9)
    assert r["low_confidence"] == pytest.approx(0.75)
    assert r["low_confidence_entropy"] == pytest.approx(1.0, abs=1e-9)
    r = prediction_confidence(np.log(p), threshold=0.8)  # 0.85 counts as confident now
    assert r["low_confidence"] == pytest.approx(0.5)
    assert r["low_confidence_entropy"] == pytest.approx((h[1] + h[2]) / sum(h), abs=1e-9)
    # the top probability per row, shift-invariant and exact where the softmax saturates
    assert top_probability(np.log(p) + 3.0) == pytest.approx([1.0, 0.5, 0.1, 0.85], rel=1e-9)
    assert top_probability(np.array([[1e4, 0.0], [0.0, 0.0]])).tolist() == [1.0, 0.5]
    sure = prediction_confidence(np.eye(10) * 1e4)
    assert sure == {"entropy": 0.0, "low_confidence": 0.0, "low_confidence_entropy": 0.0}
    # the identity behind the docstring: score of one split = exp(H(mean p) - E H(y|x))
    logits = np.random.default_rng(0).normal(size=(200, 10)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    marginal = probs.mean(0)
    expected = np.exp(-(marginal * np.log(marginal)).sum() - prediction_confidence(logits)["entropy"])
    assert mnist_score(logits, splits=1)[0] == pytest.approx(expected, rel=1e-9)


def test_classifier_metric_is_zero_against_itself(tmp_path):
    paddle.seed(0)
    weights = tmp_path / "clf.pdparams"
    paddle.save(MNISTClassifier().state_dict(), str(weights))
    images = np.random.default_rng(0).random((60, 1, 28, 28)).astype(np.float32)
    metric = MNISTClassifierMetric(str(weights), reference_images=images, splits=3, batch_size=25)
    result = metric({"img": images})
    assert set(result) == {"score", "score_std", "frechet"}
    assert 1.0 <= result["score"] <= 10.0
    assert abs(result["frechet"]) < 1e-6
    assert metric({"img": 1.0 - images})["frechet"] > 1e-3
    with pytest.raises(UserError, match="not found"):
        MNISTClassifierMetric(str(tmp_path / "missing.pdparams"))


def test_classifier_reference_statistics_are_cached(tmp_path, monkeypatch):
    import ppsci_ext.metric.classifier as classifier

    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "cache"))
    paddle.seed(0)
    weights = tmp_path / "clf.pdparams"
    paddle.save(MNISTClassifier().state_dict(), str(weights))
    images = np.random.default_rng(0).random((60, 1, 28, 28)).astype(np.float32)
    first = MNISTClassifierMetric(str(weights), reference_images=images, batch_size=25, cache_name="digits-x",
                                  prdc=True)
    files = list((tmp_path / "cache" / "classifier_stats").glob("digits-x-*.npz"))
    assert len(files) == 1
    real_outputs = classifier.classifier_outputs
    monkeypatch.setattr(classifier, "classifier_outputs", lambda *a, **k: pytest.fail("recomputed the reference"))
    second = MNISTClassifierMetric(str(weights), reference_images=images, batch_size=25, cache_name="digits-x",
                                   prdc=True)
    for key in ("mu", "sigma", "features"):
        np.testing.assert_array_equal(first._reference[key], second._reference[key])
    monkeypatch.setattr(classifier, "classifier_outputs", real_outputs)
    result = first({"img": images})
    assert {"precision", "recall", "density", "coverage"} <= set(result)
    assert (result["precision"], result["recall"], result["coverage"]) == (1.0, 1.0, 1.0)  # the set itself
    with pytest.raises(UserError, match="come from 60 images, not 59"):
        MNISTClassifierMetric(str(weights), reference_images=images[:59], cache_name="digits-x")

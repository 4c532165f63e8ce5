"""A conditional images evaluation generates balanced labels: ``np.arange(n) % k``.

``ImagesExperiment.validator`` is called on a stand-in experiment (only the
attributes it reads), with the Inception scorer and the sample validator
replaced by recorders, so the generated labels can be read exactly.
"""

import types

import numpy as np
import pytest

import ppsci_ext.experiment.images as images
from ppsci_ext.experiment.images import ImagesExperiment


def _stand_in(n, n_train, scored=("fid",)):
    calls = {}
    ev = types.SimpleNamespace(num_samples=n, num_samples_train=n_train, batch_size=7, inception_batch_size=5,
                               is_splits=2, kid_subsets=3, kid_subset_size=4)
    exp = types.SimpleNamespace(config=types.SimpleNamespace(EVAL=ev, TRAIN=types.SimpleNamespace(eval_prdc=False)),
                                scored=scored, seed=11, kid_subset_size=None)
    exp._inception = lambda: "weights.pdparams"

    def real_statistics(settings, weights, with_classes):
        calls["with_classes"] = with_classes
        classes = {c: {"mu": np.full(2, c), "sigma": np.eye(2)} for c in range(settings["num_classes"])}
        return {"mu": np.zeros(2), "sigma": np.eye(2), "features": np.zeros((1000, 2)), "classes": classes}, with_classes

    exp.real_statistics = real_statistics
    exp._check_sample_sizes = lambda *a: calls.setdefault("sizes", a)
    exp.class_names = lambda settings: [f"c{i}" for i in range(settings["num_classes"])]
    exp.inputs = lambda settings, m, seed, labels=None: ImagesExperiment.inputs(exp, settings, m, seed, labels)
    return exp, calls


@pytest.fixture
def recorded(monkeypatch):
    made = {}

    class Scorer:
        def __init__(self, weights, **kwargs):
            made["scorer"] = kwargs

    monkeypatch.setattr(images.metric, "InceptionMetrics", Scorer)
    monkeypatch.setattr(images, "sample_validator",
                        lambda noise, placeholder, batch, metrics: (noise, placeholder, batch))
    return made


@pytest.mark.parametrize("n,k", [(10, 3), (12, 4), (25, 10), (7, 7), (11, 2)])
def test_generated_labels_are_arange_mod_k(recorded, n, k):
    exp, _ = _stand_in(n, 5)
    settings = {"conditional": True, "num_classes": k}
    noise, placeholder, batch = ImagesExperiment.validator(exp, settings, training=False)
    labels = placeholder["y"]
    assert labels.dtype == np.int64
    assert labels.tolist() == [i % k for i in range(n)]
    assert noise["y"].tolist() == labels.tolist()
    counts = np.bincount(labels, minlength=k).tolist()
    assert counts == [n // k + 1] * (n % k) + [n // k] * (k - n % k)  # the first n % k classes get one more
    assert noise["z"].shape == (n, images.NOISE_DIM) and placeholder["img"].shape == (n, 1)
    assert batch == 7


def test_exact_labels_of_ten_samples_three_classes(recorded):
    exp, calls = _stand_in(10, 4)
    _, placeholder, _ = ImagesExperiment.validator(exp, {"conditional": True, "num_classes": 3}, training=False)
    assert placeholder["y"].tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    # evaluation: intra-class FID against each class's statistics, with the class names
    assert calls["with_classes"] is True
    assert sorted(recorded["scorer"]["class_reference"]) == [0, 1, 2]
    assert recorded["scorer"]["class_names"] == ["c0", "c1", "c2"]


def test_training_eval_uses_train_count_and_no_intra_fid(recorded):
    exp, calls = _stand_in(10, 8)
    _, placeholder, _ = ImagesExperiment.validator(exp, {"conditional": True, "num_classes": 3}, training=True)
    assert placeholder["y"].tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert calls["with_classes"] is False
    assert recorded["scorer"]["class_reference"] is None


def test_unconditional_has_no_labels(recorded):
    exp, calls = _stand_in(6, 4)
    noise, placeholder, _ = ImagesExperiment.validator(exp, {"conditional": False, "num_classes": 0}, training=False)
    assert "y" not in placeholder and "y" not in noise
    assert recorded["scorer"]["class_reference"] is None and recorded["scorer"]["class_names"] is None

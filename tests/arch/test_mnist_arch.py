"""MNIST generator, critic and classifier (ppsci_ext/arch): shapes, and the critic's second derivative."""

import numpy as np
import paddle

from ppsci_ext.arch import MNISTClassifier, MNISTCritic, MNISTGenerator


def test_arch_shapes_and_penalty_gradient():
    paddle.seed(0)
    gen, critic = MNISTGenerator(dim=8), MNISTCritic(dim=8)
    img = gen({"z": paddle.randn([3, 128])})["img"]
    assert img.shape == [3, 1, 28, 28]
    assert 0.0 < float(img.min()) and float(img.max()) < 1.0  # sigmoid output
    assert critic.batch_coupled is False
    x = paddle.rand([3, 1, 28, 28])
    x.stop_gradient = False
    score = critic({"img": x})["score"]
    assert score.shape == [3, 1]
    # The gradient penalty needs a second derivative through every critic op.
    grad = paddle.grad(score.sum(), x, create_graph=True)[0]
    (grad.square().sum()).backward()
    weights = [p for p in critic.parameters() if p.ndim > 1]  # biases drop out of a piecewise-linear gradient
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in weights)
    # Rows do not interact (no batch norm): a row's score is the same alone or in a batch.
    np.testing.assert_allclose(critic({"img": x[:1]})["score"].numpy(), score[:1].numpy(), rtol=1e-5, atol=1e-6)
    out = MNISTClassifier().eval()({"img": x})
    assert out["logits"].shape == [3, 10] and out["features"].shape == [3, 128]

import numpy as np
import paddle
import pytest

from ppsci_ext.arch import ToyCritic
from ppsci_ext.loss import WGANGPLoss, gradient_penalty


@pytest.fixture
def float64():
    old = paddle.get_default_dtype()
    paddle.set_default_dtype("float64")
    yield
    paddle.set_default_dtype(old)


def _critic_value(critic, x_np):
    return critic({"x": paddle.to_tensor(x_np)})["score"].numpy()[:, 0]


def _fd_penalty(critic, x_np, h=1e-6):
    grads = np.zeros_like(x_np)
    for j in range(x_np.shape[1]):
        step = np.zeros_like(x_np)
        step[:, j] = h
        grads[:, j] = (_critic_value(critic, x_np + step) - _critic_value(critic, x_np - step)) / (2 * h)
    norms = np.linalg.norm(grads, axis=1)
    return np.mean((norms - 1.0) ** 2)


def test_gradient_penalty_value_matches_finite_differences(float64):
    paddle.seed(0)
    critic = ToyCritic(width=8, hidden_layers=2)
    x_np = np.random.default_rng(0).standard_normal((6, 2))
    x = paddle.to_tensor(x_np, stop_gradient=False)
    penalty = float(gradient_penalty(x, critic({"x": x})["score"]))
    assert penalty == pytest.approx(_fd_penalty(critic, x_np), rel=1e-6)


def test_gradient_penalty_parameter_gradient_matches_finite_differences(float64):
    paddle.seed(1)
    critic = ToyCritic(width=8, hidden_layers=2)
    x_np = np.random.default_rng(1).standard_normal((5, 2))
    x = paddle.to_tensor(x_np, stop_gradient=False)
    gradient_penalty(x, critic({"x": x})["score"]).backward()
    weight = critic.net[0].weight  # first Linear layer, [2, 8]
    analytic = weight.grad.numpy().copy()
    # A ReLU critic is piecewise linear in x, so the inner difference quotient is
    # exact up to rounding with a moderate step.
    h = 1e-5
    for idx in [(0, 0), (1, 3), (0, 7)]:
        base = weight.numpy().copy()
        values = []
        for sign in (1, -1):
            shifted = base.copy()
            shifted[idx] += sign * h
            weight.set_value(shifted)
            values.append(_fd_penalty(critic, x_np, h=1e-4))
        weight.set_value(base)
        assert analytic[idx] == pytest.approx((values[0] - values[1]) / (2 * h), rel=1e-5, abs=1e-8)


def test_penalty_is_per_sample_over_all_non_batch_dims(float64):
    # D(x) = sum(a * x) over C, H, W: per-sample gradient is a, norm ||a|| over all dims.
    a = np.random.default_rng(2).standard_normal((3, 4, 4))
    x = paddle.to_tensor(np.random.default_rng(3).standard_normal((5, 3, 4, 4)), stop_gradient=False)
    score = (x * paddle.to_tensor(a)).sum(axis=[1, 2, 3])
    expected = (np.linalg.norm(a) - 1.0) ** 2
    assert float(gradient_penalty(x, score)) == pytest.approx(expected, rel=1e-9)


def test_loss_signs_and_values():
    x = paddle.randn([4, 2])
    x.stop_gradient = False
    unit = paddle.to_tensor([[0.6], [0.8]])  # linear critic with unit gradient norm: penalty 0
    out = {
        "score_real": paddle.full([4, 1], 2.0),
        "score_fake": paddle.full([4, 1], -1.0),
        "x_interp": x,
        "score_interp": paddle.matmul(x, unit),
    }
    losses = WGANGPLoss(gp_lambda=10.0).critic(out)
    assert float(losses["wasserstein"]) == pytest.approx(3.0)
    assert float(losses["gradient_penalty"]) == pytest.approx(0.0, abs=1e-6)
    assert float(losses["critic_loss"]) == pytest.approx(-3.0, abs=1e-5)  # critic minimises -W
    gen = WGANGPLoss().generator({"score_fake": paddle.full([4, 1], -1.0)})
    assert float(gen["generator_loss"]) == pytest.approx(1.0)  # generator raises D(fake)


def test_penalty_weight_scales_critic_loss():
    x = paddle.randn([4, 2])
    x.stop_gradient = False
    out = {"score_real": paddle.zeros([4, 1]), "score_fake": paddle.zeros([4, 1]), "x_interp": x,
           "score_interp": (3.0 * x).sum(axis=1)}
    loss = WGANGPLoss(gp_lambda=0.5).critic(out)
    assert float(loss["critic_loss"]) == pytest.approx(0.5 * (np.sqrt(18) - 1) ** 2, rel=1e-5)


def test_acgan_terms_added_with_their_scales():
    x = paddle.randn([2, 2])
    x.stop_gradient = False
    logits = paddle.to_tensor([[2.0, 0.0], [0.0, 2.0]])
    labels = {"y": paddle.to_tensor([0, 0])}
    ce = float(paddle.nn.functional.cross_entropy(logits, labels["y"]))
    out = {"score_real": paddle.zeros([2, 1]), "score_fake": paddle.zeros([2, 1]), "x_interp": x,
           "score_interp": paddle.matmul(x, paddle.to_tensor([[1.0], [0.0]])), "logits_real": logits}
    critic = WGANGPLoss(acgan_critic_scale=1.0, acgan_generator_scale=0.1).critic(out, labels)
    assert float(critic["acgan_real"]) == pytest.approx(ce)
    assert float(critic["critic_loss"]) == pytest.approx(ce, abs=1e-5)
    gen = WGANGPLoss(acgan_generator_scale=0.1).generator({"score_fake": paddle.zeros([2, 1]), "logits_fake": logits}, labels)
    assert float(gen["generator_loss"]) == pytest.approx(0.1 * ce, rel=1e-5)

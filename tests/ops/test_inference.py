"""Inference-only oneDNN ops (ops/inference.py) against Paddle's own NHWC ops, and the Inception fast path."""

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppsci_ext.ops import onednn
from ppsci_ext.ops.inference import InferenceConv2D, InferencePool2D, concat_channels

pytestmark = pytest.mark.skipif(not onednn.available(), reason="Paddle's bundled oneDNN is not loadable")

RNG = np.random.default_rng(0)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("out_c,in_c,kh,kw,stride,padding,size", [
    (32, 3, 3, 3, 2, 0, 31),        # the stem's first layer (odd size, stride 2)
    (16, 8, 1, 7, 1, (0, 3), 9),    # factorised 7x7, asymmetric padding
    (16, 8, 7, 1, 1, (3, 0), 9),
    (24, 16, 1, 1, 1, 0, 8),
    (12, 16, 3, 3, 2, 0, 17),       # grid reduction
    (8, 4, 5, 5, 1, 2, 6),
])
@pytest.mark.parametrize("relu", [True, False])
def test_conv_matches_paddle(out_c, in_c, kh, kw, stride, padding, size, relu):
    w, b, x = _rand(out_c, in_c, kh, kw), _rand(out_c), _rand(3, size, size, in_c)
    conv = InferenceConv2D(w, b, stride, padding, relu=relu)
    got = conv(paddle.to_tensor(x)).numpy()
    ref = F.conv2d(paddle.to_tensor(x), paddle.to_tensor(w), paddle.to_tensor(b), stride=stride, padding=padding,
                   data_format="NHWC")
    ref = (F.relu(ref) if relu else ref).numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    assert (got < 0).any() != relu  # the ReLU is applied exactly when asked
    assert list(conv._plans.values())[0] is not None  # it really ran on oneDNN


@pytest.mark.parametrize("kind,kernel,stride,padding", [("max", 3, 2, 0), ("max", 3, 1, 1), ("avg", 3, 1, 1)])
def test_pool_matches_paddle(kind, kernel, stride, padding):
    x = paddle.to_tensor(_rand(2, 11, 11, 5))
    got = InferencePool2D(kind, kernel, stride, padding)(x).numpy()
    if kind == "max":
        ref = F.max_pool2d(x, kernel, stride, padding, data_format="NHWC")
    else:  # padding not counted: a corner averages 4 pixels, not 9
        ref = F.avg_pool2d(x, kernel, stride, padding, exclusive=True, data_format="NHWC")
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-6, atol=1e-6)
    if kind == "avg":
        corner = x.numpy()[:, :2, :2].mean(axis=(1, 2))
        np.testing.assert_allclose(got[:, 0, 0], corner, rtol=1e-5)


def test_concat_channels():
    parts = [paddle.to_tensor(_rand(2, 4, 5, c)) for c in (3, 1, 8)]
    np.testing.assert_array_equal(concat_channels(parts).numpy(), np.concatenate([p.numpy() for p in parts], -1))


def test_fallback_without_onednn_gives_the_same(monkeypatch):
    w, b, x = _rand(6, 5, 3, 3), _rand(6), paddle.to_tensor(_rand(2, 7, 7, 5))
    fast = InferenceConv2D(w, b, padding=1)(x).numpy()
    pooled = InferencePool2D("avg", 3, 1, 1)(x).numpy()
    monkeypatch.setenv("PPSCI_EXT_ONEDNN", "0")
    conv = InferenceConv2D(w, b, padding=1)
    np.testing.assert_allclose(conv(x).numpy(), fast, rtol=1e-4, atol=1e-4)
    assert list(conv._plans.values()) == [None]  # Paddle's kernels ran
    np.testing.assert_allclose(InferencePool2D("avg", 3, 1, 1)(x).numpy(), pooled, rtol=1e-6)


def test_inception_fast_path_matches_layers():
    """Random weights with non-trivial batch-norm statistics: folding them into the convolutions is exact."""
    from ppsci_ext.metric.inception import InceptionV3FID

    paddle.seed(3)
    net = InceptionV3FID(with_logits=False)
    rng = np.random.default_rng(1)
    state = {}
    for key, value in net.state_dict().items():
        shape = value.shape
        if key.endswith("bn.var"):
            state[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        elif key.endswith(("bn.mean", "bn.beta")):
            state[key] = rng.normal(0, 0.3, shape).astype(np.float32)
        else:
            state[key] = value.numpy()
    net.set_state_dict(state)
    x = net.preprocess(paddle.to_tensor(rng.integers(0, 256, (2, 3, 40, 40)).astype(np.uint8)))
    with paddle.no_grad():
        fast = net.pool3(x).numpy()
        layers = net._pool3_layers(x).numpy()
    assert np.abs(layers).max() > 0
    assert np.abs(fast - layers).max() <= 1e-4 * np.abs(layers).max()
    # new weights replace the folded ones
    state = {k: (v * 1.5 if k.endswith("conv.weight") else v) for k, v in state.items()}
    net.set_state_dict(state)
    with paddle.no_grad():
        fast, layers = net.pool3(x).numpy(), net._pool3_layers(x).numpy()
    assert np.abs(fast - layers).max() <= 1e-4 * np.abs(layers).max()


def test_many_batch_sizes_evict_plans_and_stay_correct():
    w, b = _rand(4, 3, 3, 3), _rand(4)
    conv, pool = InferenceConv2D(w, b, padding=1), InferencePool2D("max", 3, 2)
    for n in range(1, 12):  # more shapes than a cache keeps
        x = paddle.to_tensor(_rand(n, 6, 6, 3))
        ref = F.relu(F.conv2d(x, paddle.to_tensor(w), paddle.to_tensor(b), padding=1, data_format="NHWC"))
        np.testing.assert_allclose(conv(x).numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(pool(x).numpy(), F.max_pool2d(x, 3, 2, data_format="NHWC").numpy())
    assert 0 < len(conv._plans) <= 8 and 0 < len(pool._plans) <= 8

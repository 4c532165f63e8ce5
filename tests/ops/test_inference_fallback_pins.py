"""The no-oneDNN path of InferenceConv2D is Paddle's NHWC convolution (+ ReLU exactly when asked).

Runs whether or not the bundled oneDNN loads: with PPSCI_EXT_ONEDNN=0, and
with the library made unavailable, no plan is built and the values are
Paddle's own conv2d to the bit.
"""

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppsci_ext.ops import onednn
from ppsci_ext.ops.inference import InferenceConv2D

RNG = np.random.default_rng(3)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = [  # out_c, in_c, kh, kw, stride, padding, size
    (6, 5, 3, 3, 1, 1, 7),
    (4, 3, 3, 3, 2, 0, 9),
    (5, 2, 1, 7, 1, (0, 3), 6),
    (3, 4, 5, 5, (2, 1), (2, 1), 8),
]


def _reference(x, w, b, stride, padding, relu):
    y = F.conv2d(paddle.to_tensor(x), paddle.to_tensor(w), paddle.to_tensor(b), stride=stride, padding=padding,
                 data_format="NHWC")
    return (F.relu(y) if relu else y).numpy()


def _no_library(monkeypatch):
    monkeypatch.setattr(onednn, "_library", lambda: None)


def _switched_off(monkeypatch):
    monkeypatch.setenv("PPSCI_EXT_ONEDNN", "0")


@pytest.mark.parametrize("disable", [_switched_off, _no_library], ids=["PPSCI_EXT_ONEDNN=0", "no library"])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_fallback_is_paddles_conv(monkeypatch, disable, relu, case):
    out_c, in_c, kh, kw, stride, padding, size = case
    disable(monkeypatch)
    assert not onednn.available()
    w, b, x = _rand(out_c, in_c, kh, kw), _rand(out_c), _rand(2, size, size, in_c)
    conv = InferenceConv2D(w, b, stride, padding, relu=relu)
    got = conv(paddle.to_tensor(x)).numpy()
    ref = _reference(x, w, b, stride, padding, relu)
    assert got.shape == ref.shape == tuple(conv.out_shape(x.shape))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    assert list(conv._plans.values()) == [None]  # Paddle's kernel ran
    if relu:
        assert got.min() == 0.0 and (got == 0).any()
    else:
        assert (got < 0).any()  # negative values kept: no ReLU
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)


def test_fallback_values_by_hand(monkeypatch):
    """A 1x1 convolution is a matrix product plus bias: checked against NumPy, with and without ReLU."""
    _switched_off(monkeypatch)
    w = np.array([[[[1.0]], [[-2.0]]], [[[0.5]], [[1.0]]]], np.float32)  # [O=2, C=2, 1, 1]
    b = np.array([0.25, -1.0], np.float32)
    x = np.array([[[[1.0, 2.0], [3.0, -1.0]]]], np.float32)  # [1, 1, 2, 2] NHWC
    plain = InferenceConv2D(w, b, relu=False)(paddle.to_tensor(x)).numpy()
    # pixel (1, 2): [1 - 4 + 0.25, 0.5 + 2 - 1] = [-2.75, 1.5]; pixel (3, -1): [3 + 2 + 0.25, 1.5 - 1 - 1]
    np.testing.assert_allclose(plain, [[[[-2.75, 1.5], [5.25, -0.5]]]], rtol=0, atol=1e-6)
    rectified = InferenceConv2D(w, b)(paddle.to_tensor(x)).numpy()  # relu defaults to True
    np.testing.assert_allclose(rectified, [[[[0.0, 1.5], [5.25, 0.0]]]], rtol=0, atol=1e-6)


def test_non_float32_input_takes_the_fallback():
    w, b = _rand(3, 2, 3, 3), _rand(3)
    x = _rand(1, 5, 5, 2).astype(np.float64)
    conv = InferenceConv2D(w.astype(np.float64), b.astype(np.float64), padding=1, relu=False)
    conv.weight, conv.bias = paddle.to_tensor(w.astype(np.float64)), paddle.to_tensor(b.astype(np.float64))
    got = conv(paddle.to_tensor(x)).numpy()
    ref = _reference(x, w.astype(np.float64), b.astype(np.float64), 1, 1, False)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert conv._plans == {}  # no plan was even looked for

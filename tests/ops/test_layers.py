"""The bias-by-matmul layers give Paddle's results, gradients and gradient-penalty gradients."""

import numpy as np
import paddle
import pytest
from paddle import nn

from ppsci_ext.ops import layers
from ppsci_ext.loss import gradient_penalty

# (ours, Paddle's, args, input shape, with gradient penalty). Transposed convolutions
# only appear in generators, which never need a double backward (Paddle's own
# Conv2DTranspose double grad fails with "empty GradSlotMeta").
CASES = [
    (layers.Linear, nn.Linear, (7, 5), [6, 7], True),
    (layers.Conv2D, nn.Conv2D, (3, 4, 5), [2, 3, 9, 9], True),
    (layers.Conv2DTranspose, nn.Conv2DTranspose, (3, 4, 5), [2, 3, 4, 4], False),
]
KWARGS = {layers.Linear: {}, layers.Conv2D: {"stride": 2, "padding": 2},
          layers.Conv2DTranspose: {"stride": 2, "padding": 2, "output_padding": 1}}


def _grads(layer, x, penalty):
    """Output and the weight and bias grads of its mean (plus a gradient penalty on the input), as numpy."""
    x = x.clone()
    x.stop_gradient = False
    out = nn.functional.leaky_relu(layer(x), 0.2).reshape([x.shape[0], -1]).sum(axis=1)
    loss = out.mean() + (gradient_penalty(x, out) if penalty else 0.0)
    loss.backward()
    result = [out.numpy()] + [p.grad.numpy() for p in (layer.weight, layer.bias)]
    layer.clear_gradients()
    return result


@pytest.mark.parametrize("ours, theirs, args, shape, penalty", CASES, ids=["linear", "conv", "deconv"])
def test_same_results_and_gradients_as_paddle(ours, theirs, args, shape, penalty):
    paddle.seed(3)
    a = ours(*args, **KWARGS[ours])
    b = theirs(*args, **KWARGS[ours])
    b.set_state_dict(a.state_dict())
    with paddle.no_grad():
        a.bias.set_value(paddle.randn(a.bias.shape))  # non-zero bias so that its path is checked
        b.bias.set_value(a.bias)
    assert list(a.state_dict()) == list(b.state_dict())
    x = paddle.randn(shape)
    for got, want in zip(_grads(a, x, penalty), _grads(b, x, penalty)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_add_bias_matches_broadcast():
    y, bias = paddle.randn([3, 4, 2, 5]), paddle.randn([4])
    np.testing.assert_allclose(layers.add_bias(y, bias).numpy(),
                               (y + bias.reshape([1, 4, 1, 1])).numpy(), rtol=1e-6, atol=1e-6)
    assert layers.add_bias(y, None) is y

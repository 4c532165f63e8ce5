"""oneDNN convolutions give Paddle's values and gradients of first and second order."""

import glob
import os

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppsci_ext.ops import onednn

# (input shape, weight shape, stride, padding): the MNIST critic's 5x5/2, the ResNet's 3x3/1 and 1x1,
# an odd-sized non-square input, padding 0
CONVS = [
    ((3, 2, 12, 12), (4, 2, 5, 5), 2, 2),
    ((2, 5, 8, 8), (6, 5, 3, 3), 1, 1),
    ((2, 3, 8, 8), (4, 3, 1, 1), 1, 0),
    ((2, 3, 9, 7), (5, 3, 3, 3), 2, 1),
    ((2, 3, 7, 7), (2, 3, 3, 3), 1, 0),
]
# (input shape, weight shape [C_in, C_out, k, k], stride, padding, output_padding)
DECONVS = [
    ((3, 6, 4, 4), (6, 2, 5, 5), 2, 2, 1),  # the generators' 5x5/2 upsampling
    ((2, 4, 5, 5), (4, 3, 3, 3), 1, 1, 0),
    ((2, 4, 3, 4), (4, 3, 3, 3), 2, 1, 1),
]


@pytest.fixture
def onednn_only(monkeypatch):
    """The oneDNN path must run: Paddle's kernels (the fallback) fail the test, and the oneDNN calls are counted."""
    calls = []
    layer_op = onednn._layer_op

    def counted(*args, **kwargs):
        calls.append(args[0])
        return layer_op(*args, **kwargs)

    def no_fallback(*args, **kwargs):
        raise AssertionError("onednn fell back to Paddle's convolution: the oneDNN path did not run")

    monkeypatch.setattr(onednn, "_layer_op", counted)
    monkeypatch.setattr(onednn, "_paddle_conv2d", no_fallback)
    monkeypatch.setattr(onednn, "_paddle_conv2d_transpose", no_fallback)
    yield calls
    assert calls, "no convolution went through oneDNN"


def _value_and_grads(conv, x0, w0, second_order=True):
    """Output, first-order grads of a nonlinear loss, and grads of a gradient-penalty-like second loss."""
    x = paddle.to_tensor(x0, stop_gradient=False)
    w = paddle.to_tensor(w0, stop_gradient=False)
    y = conv(x, w)
    loss = paddle.tanh(y).sum()
    gx, gw = paddle.grad(loss, [x, w], create_graph=second_order)
    result = [y, gx, gw]
    if second_order:
        ((gx ** 2).sum() + (gw ** 2).sum()).backward()
        result += [x.grad, w.grad]
    return [t.numpy() for t in result]


def _assert_close(got, want, what):
    for i, (g, r) in enumerate(zip(got, want)):
        scale = np.abs(r).max() + 1e-12
        assert np.abs(g - r).max() <= 2e-5 * scale, f"{what}: result {i} differs by {np.abs(g - r).max() / scale:.2e}"


def test_bundled_library_loads():
    if not glob.glob(os.path.join(os.path.dirname(paddle.__file__), "libs", "libdnnl.so*")):
        pytest.skip("this Paddle build ships no oneDNN")
    assert onednn._library() is not None, onednn._LIB_ERROR
    assert onednn.available()


@pytest.mark.parametrize("xs, ws, stride, pad", CONVS)
@pytest.mark.usefixtures("onednn_only")
def test_conv_matches_paddle_to_second_order(xs, ws, stride, pad):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(xs).astype("float32")
    w0 = (rng.standard_normal(ws) * 0.3).astype("float32")
    got = _value_and_grads(lambda x, w: onednn.conv2d(x, w, stride=stride, padding=pad), x0, w0)
    want = _value_and_grads(lambda x, w: F.conv2d(x, w, stride=stride, padding=pad), x0, w0)
    _assert_close(got, want, f"conv {xs} {ws}")


def _deconv_reference(x, w, stride, pad, out_pad):
    """The transposed convolution as a plain convolution (which has a double grad in Paddle):
    insert stride - 1 zeros between pixels, pad by k - 1 - pad (plus out_pad at the end), flip the kernel."""
    n, c, h, wd = x.shape
    k = w.shape[2]
    if stride > 1:  # by 2-D products with 0/1 matrices (Paddle's concat has no usable double grad)
        def spread(size):
            u = np.zeros((size, size * stride - stride + 1), "float32")
            u[np.arange(size), np.arange(size) * stride] = 1
            return paddle.to_tensor(u)

        x = paddle.matmul(x.reshape([-1, wd]), spread(wd)).reshape([n, c, h, -1]).transpose([0, 1, 3, 2])
        x = paddle.matmul(x.reshape([-1, h]), spread(h)).reshape([n, c, -1, h * stride - stride + 1])
        x = x.transpose([0, 1, 3, 2])
    lo, hi = k - 1 - pad, k - 1 - pad + out_pad
    x = F.pad(x, [lo, hi, lo, hi])
    return F.conv2d(x, paddle.flip(w, [2, 3]).transpose([1, 0, 2, 3]))


@pytest.mark.parametrize("xs, ws, stride, pad, out_pad", DECONVS)
@pytest.mark.usefixtures("onednn_only")
def test_transposed_conv_matches_paddle(xs, ws, stride, pad, out_pad):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(xs).astype("float32")
    w0 = (rng.standard_normal(ws) * 0.3).astype("float32")

    def ours(x, w):
        return onednn.conv2d_transpose(x, w, stride=stride, padding=pad, output_padding=out_pad)

    # first order against Paddle's own transposed convolution
    want = _value_and_grads(lambda x, w: F.conv2d_transpose(x, w, stride=stride, padding=pad,
                                                            output_padding=out_pad), x0, w0, second_order=False)
    _assert_close(_value_and_grads(ours, x0, w0, second_order=False), want, f"deconv {xs}")
    # second order (Paddle's conv2d_transpose has no double grad kernel) against the conv-gradient form
    want = _value_and_grads(lambda x, w: _deconv_reference(x, w, stride, pad, out_pad), x0, w0)
    _assert_close(_value_and_grads(ours, x0, w0), want, f"deconv second order {xs}")


@pytest.mark.usefixtures("onednn_only")
def test_gradient_with_respect_to_input_only():
    """``paddle.grad(out, [x])`` while the weight also requires grad: the gradient penalty's call."""
    x = paddle.randn([2, 3, 8, 8])
    w = paddle.randn([4, 3, 3, 3])
    x.stop_gradient = w.stop_gradient = False
    (gx,) = paddle.grad(onednn.conv2d(x, w, padding=1).sum(), [x], create_graph=True)
    (want,) = paddle.grad(F.conv2d(x, w, padding=1).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    (gx ** 2).sum().backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0


@pytest.mark.usefixtures("onednn_only")
def test_non_contiguous_input():
    x = paddle.randn([2, 3, 9, 6]).transpose([0, 1, 3, 2])  # a strided view in Paddle 3
    w = paddle.randn([4, 3, 3, 3])
    np.testing.assert_allclose(onednn.conv2d(x, w, stride=2, padding=1).numpy(),
                               F.conv2d(x, w, stride=2, padding=1).numpy(), rtol=1e-5, atol=1e-5)


def test_falls_back_to_paddle(monkeypatch):
    x64 = paddle.randn([2, 3, 8, 8], dtype="float64")
    w64 = paddle.randn([4, 3, 3, 3], dtype="float64")
    # float64 (not supported by oneDNN here): Paddle's kernel, bit for bit
    np.testing.assert_array_equal(onednn.conv2d(x64, w64, padding=1).numpy(), F.conv2d(x64, w64, padding=1).numpy())
    x, w = x64.astype("float32"), w64.astype("float32")
    np.testing.assert_array_equal(onednn.conv2d(x, w, padding=1, groups=1, dilation=2).numpy(),
                                  F.conv2d(x, w, padding=1, dilation=2).numpy())
    monkeypatch.setenv("PPSCI_EXT_ONEDNN", "0")
    assert not onednn.available()
    np.testing.assert_array_equal(onednn.conv2d(x, w, stride=2).numpy(), F.conv2d(x, w, stride=2).numpy())


def test_plan_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(onednn, "_MAX_PLANS", 2)
    monkeypatch.setattr(onednn, "_PLANS", {})
    w = paddle.randn([4, 3, 3, 3])
    for size in (5, 6, 7, 5):  # the fourth reuses a shape whose plan was freed
        x = paddle.randn([2, 3, size, size])
        np.testing.assert_allclose(onednn.conv2d(x, w, padding=1).numpy(), F.conv2d(x, w, padding=1).numpy(),
                                   rtol=1e-5, atol=1e-5)
        assert len(onednn._PLANS) <= 2


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.usefixtures("onednn_only")
def test_bias_and_parameter_gradients(transpose):
    """With a bias: value and the grads of weight and bias, of a loss and of a gradient penalty."""
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((3, 4, 6, 6)).astype("float32")
    w0 = (rng.standard_normal((4, 5, 3, 3) if transpose else (5, 4, 3, 3)) * 0.3).astype("float32")
    b0 = rng.standard_normal(5).astype("float32")
    results = []
    for fn in ((onednn.conv2d_transpose, F.conv2d_transpose) if transpose else (onednn.conv2d, F.conv2d)):
        x = paddle.to_tensor(x0, stop_gradient=False)
        w = paddle.to_tensor(w0, stop_gradient=False)
        b = paddle.to_tensor(b0, stop_gradient=False)
        y = fn(x, w, b, stride=2, padding=1)
        loss = paddle.tanh(y).sum()
        if not transpose:  # Paddle's transposed convolution has no double grad
            (gx,) = paddle.grad(loss, [x], create_graph=True)
            loss = loss + (gx ** 2).sum()
        loss.backward()
        results.append([t.numpy() for t in (y, w.grad, b.grad, x.grad)])
    _assert_close(results[0], results[1], "with bias")


@pytest.mark.parametrize("which", ["mnist", "cifar10"])
def test_critic_objective_and_generator_grads_as_with_paddle_conv(monkeypatch, which):
    """A whole critic objective (scores + lambda * penalty) and a generator loss: the same loss values
    and parameter gradients with the oneDNN convolutions as with Paddle's (``PPSCI_EXT_ONEDNN=0``)."""
    from ppsci_ext.arch import CifarResNetCritic, CifarResNetGenerator, MNISTCritic, MNISTGenerator
    from ppsci_ext.loss import gradient_penalty

    paddle.seed(7)
    if which == "mnist":
        gen, critic, shape = MNISTGenerator(dim=8), MNISTCritic(dim=8), [6, 1, 28, 28]
    else:
        gen, critic, shape = CifarResNetGenerator(dim=8), CifarResNetCritic(dim=8), [6, 3, 32, 32]
    real, z, eps = paddle.rand(shape), paddle.randn([6, 128]), paddle.rand([6, 1, 1, 1])

    def run():
        fake = gen({"z": z})["img"]
        x = eps * real + (1 - eps) * fake.detach()
        x.stop_gradient = False
        score = critic({"img": x})["score"]
        critic_loss = critic({"img": fake.detach()})["score"].mean() - critic({"img": real})["score"].mean()
        critic_loss = critic_loss + 10.0 * gradient_penalty(x, score)
        critic_loss.backward()
        generator_loss = -critic({"img": fake})["score"].mean()
        critic.clear_gradients()
        generator_loss.backward()
        out = [float(critic_loss), float(generator_loss)]
        out += [p.grad.numpy() for p in gen.parameters() if p.grad is not None]
        gen.clear_gradients()
        critic.clear_gradients()
        return out

    # critic parameter grads of the objective: recompute them separately (clear_gradients above)
    def critic_grads():
        x = eps * real + (1 - eps) * gen({"z": z})["img"].detach()
        x.stop_gradient = False
        score = critic({"img": x})["score"]
        (score.mean() + 10.0 * gradient_penalty(x, score)).backward()
        grads = [p.grad.numpy() for p in critic.parameters()]
        critic.clear_gradients()
        return grads

    calls = []
    layer_op = onednn._layer_op
    monkeypatch.setattr(onednn, "_layer_op", lambda *a, **k: calls.append(a[0]) or layer_op(*a, **k))
    ours = run() + critic_grads()
    assert calls, "the networks' convolutions did not go through oneDNN"
    ran = len(calls)
    monkeypatch.setenv("PPSCI_EXT_ONEDNN", "0")
    theirs = run() + critic_grads()
    assert len(calls) == ran  # and the comparison ran on Paddle's kernels
    assert len(ours) == len(theirs) > 2
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-5 * max(1.0, float(np.abs(want).max())))

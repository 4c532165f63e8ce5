"""The paper's CIFAR-10 ResNet generator / critic (ppsci_ext/arch/cifar10.py): block and model shapes, the
fused resampling convolutions, parameter counts of the official model, initialisation and the norms."""

import math

import numpy as np
import paddle
import pytest

from ppsci_ext.arch.cifar10 import (
    BatchNorm,
    CifarResNetCritic,
    CifarResNetGenerator,
    DiscBlock,
    LayerNorm,
    OptimizedDiscBlock,
    UpBlock,
    count_parameters,
)
from ppsci_ext.arch import cifar10 as cifar10_arch
from ppsci_ext.arch.gan import GAN
from ppsci_ext.loss import gradient_penalty


def test_block_shapes():
    x = paddle.randn([2, 8, 4, 4])
    y = paddle.to_tensor([1, 7])
    assert UpBlock(8, 6)(x).shape == [2, 6, 8, 8]
    assert UpBlock(8, 8, num_classes=10)(x, y).shape == [2, 8, 8, 8]
    img = paddle.randn([2, 3, 32, 32])
    assert OptimizedDiscBlock(3, 8)(img).shape == [2, 8, 16, 16]
    h = paddle.randn([2, 8, 16, 16])
    assert DiscBlock(8, 8, down=True)(h).shape == [2, 8, 8, 8]
    plain = DiscBlock(8, 8)
    assert plain.shortcut is None and plain(h).shape == [2, 8, 16, 16]  # identity shortcut
    assert DiscBlock(8, 8, norm="layer")(h).shape == [2, 8, 16, 16]


@pytest.mark.parametrize("conditional", [False, True])
def test_model_shapes_both_variants(conditional):
    paddle.seed(0)
    gen = CifarResNetGenerator(dim=8, conditional=conditional)
    critic = CifarResNetCritic(dim=8, acgan=conditional)
    gan = GAN(gen, critic, num_classes=10 if conditional else 0)
    inputs = gan.sample_inputs(5)
    assert set(inputs) == ({"z", "y"} if conditional else {"z"}) and inputs["z"].shape == [5, 128]
    img = gan(inputs)["img"]
    assert img.shape == [5, 3, 32, 32] and float(img.abs().max()) <= 1.0
    out = critic({"img": img})
    assert out["score"].shape == [5, 1]
    assert ("logits" in out) == conditional and (not conditional or out["logits"].shape == [5, 10])
    assert critic.batch_coupled is False


# Counts derived by hand from the official gan_cifar_resnet.py layer shapes (DIM_G = DIM_D = 128):
# conv3x3 128->128: 128*128*9 + 128 = 147,584; conv1x1 128->128: 16,512; BN: 2*128; cond BN: 2*10*128.
_G_INPUT = 128 * 2048 + 2048                         # Generator.Input: 264,192
_G_BLOCK = 16512 + 147584 * 2 + 2 * 256              # shortcut, Conv1, Conv2, N1, N2: 312,192
_G_BLOCK_COND = 16512 + 147584 * 2 + 2 * 2560        # with conditional BN: 316,800
_G_OUT = 256 + (128 * 3 * 9 + 3)                     # Generator.OutputN + Generator.Output: 3,715
_D_BLOCK1 = (3 * 128 + 128) + (3 * 9 * 128 + 128) + 147584    # Discriminator.1: 151,680
_D_BLOCK2 = 16512 + 2 * 147584                       # Discriminator.2 (down): 311,680
_D_PLAIN = 2 * 147584                                # Discriminator.3 / .4 (identity shortcut): 295,168
_D_OUT = 128 + 1                                     # Discriminator.Output: 129
_D_ACGAN = 128 * 10 + 10                             # Discriminator.ACGANOutput: 1,290


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_resampling_convs_match_official_order(dtype):
    """conv_mean_pool / upsample_conv give the official conv-then-pool / upsample-then-conv,
    with the same gradients, including the gradient penalty's double backward for the pool.
    float64 runs Paddle's kernels, float32 the oneDNN path."""
    paddle.set_default_dtype(dtype)
    try:
        paddle.seed(5)
        conv = cifar10_arch.conv2d(4, 5, 3)
        with paddle.no_grad():
            conv.bias.set_value(paddle.randn([5]))
        x0 = paddle.randn([3, 4, 8, 8])
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)
        cases = [(lambda x: cifar10_arch.conv_mean_pool(conv, x), lambda x: cifar10_arch.mean_pool(conv(x)), True),
                 (lambda x: cifar10_arch.upsample_conv(conv, x), lambda x: conv(cifar10_arch.upsample(x)), False)]
        for fused, official, penalty in cases:
            results = []
            for fn in (fused, official):
                x = x0.clone()
                x.stop_gradient = False
                out = paddle.tanh(fn(x)).reshape([3, -1]).sum(axis=1)
                loss = out.mean() + (gradient_penalty(x, out) if penalty else 0.0)
                loss.backward()
                results.append([out.numpy(), conv.weight.grad.numpy(), conv.bias.grad.numpy(), x.grad.numpy()])
                conv.clear_gradients()
            for got, want in zip(*results):
                np.testing.assert_allclose(got, want, **tol)
    finally:
        paddle.set_default_dtype("float32")


def test_parameter_counts_match_official_model():
    assert count_parameters(CifarResNetGenerator()) == _G_INPUT + 3 * _G_BLOCK + _G_OUT == 1_204_483
    assert count_parameters(CifarResNetGenerator(conditional=True)) == _G_INPUT + 3 * _G_BLOCK_COND + _G_OUT \
        == 1_218_307
    assert count_parameters(CifarResNetCritic()) == _D_BLOCK1 + _D_BLOCK2 + 2 * _D_PLAIN + _D_OUT == 1_053_825
    assert count_parameters(CifarResNetCritic(acgan=True)) == 1_053_825 + _D_ACGAN == 1_055_115
    assert count_parameters(CifarResNetCritic(norm="layer")) == 1_053_825 + 3 * 2 * 256  # N1, N2 of blocks 2-4


def test_official_initialisation_ranges():
    paddle.seed(1)
    gen = CifarResNetGenerator()
    w = gen.block1.conv1.weight.numpy()  # He: std sqrt(4 / (9*128 + 9*128)), uniform
    assert abs(w.std() - math.sqrt(4 / 2304)) < 0.002 and np.abs(w).max() <= math.sqrt(3 * 4 / 2304) + 1e-6
    s = gen.block1.shortcut.weight.numpy()  # Glorot: std sqrt(2 / (128 + 128))
    assert abs(s.std() - math.sqrt(2 / 256)) < 0.002
    assert not gen.block1.conv1.bias.numpy().any()


def test_conditional_batch_norm_uses_label_row():
    bn = BatchNorm(4, num_classes=10)
    rng = np.random.default_rng(0)
    bn.weight.set_value(rng.normal(size=(10, 4)).astype(np.float32))
    bn.bias.set_value(rng.normal(size=(10, 4)).astype(np.float32))
    x = paddle.to_tensor(rng.normal(2.0, 3.0, (6, 4, 5, 5)).astype(np.float32))
    y = np.array([0, 3, 3, 9, 1, 5])
    out = bn(x, paddle.to_tensor(y)).numpy()
    xn = x.numpy()
    normed = (xn - xn.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(xn.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    want = normed * bn.weight.numpy()[y][:, :, None, None] + bn.bias.numpy()[y][:, :, None, None]
    np.testing.assert_allclose(out, want, atol=1e-4)
    # changing one class's row changes exactly the samples with that label
    w = bn.weight.numpy()
    w[3] += 1.0
    bn.weight.set_value(w)
    changed = np.abs(bn(x, paddle.to_tensor(y)).numpy() - out).reshape(6, -1).max(axis=1) > 1e-3
    assert changed.tolist() == [False, True, True, False, False, False]


def test_batch_norm_uses_batch_statistics_in_both_modes():
    bn = BatchNorm(4)
    bn.weight.set_value(np.array([1.0, 2.0, 0.5, -1.0], np.float32))
    bn.bias.set_value(np.array([0.0, 1.0, -1.0, 3.0], np.float32))
    xn = np.random.default_rng(1).normal(2.0, 3.0, (5, 4, 3, 3)).astype(np.float32)
    normed = (xn - xn.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(xn.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    want = normed * bn.weight.numpy()[None, :, None, None] + bn.bias.numpy()[None, :, None, None]
    np.testing.assert_allclose(bn(paddle.to_tensor(xn)).numpy(), want, atol=1e-4)
    bn.eval()  # the official code never uses moving averages, in training or sampling
    np.testing.assert_allclose(bn(paddle.to_tensor(xn)).numpy(), want, atol=1e-4)
    assert [name for name, _ in bn.named_buffers()] == []


def test_layer_norm_is_per_sample():
    ln = LayerNorm(4)
    x = paddle.randn([3, 4, 5, 5])
    full = ln(x).numpy()
    np.testing.assert_allclose(ln(x[1:2]).numpy(), full[1:2], atol=1e-5)  # no batch coupling
    np.testing.assert_allclose(full.reshape(3, -1).mean(1), 0, atol=1e-5)

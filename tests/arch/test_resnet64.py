"""The 64x64 ResNet generator and critic (official gan_64x64.py GoodGenerator / GoodDiscriminator).

Shapes at a small width, parameter counts at the official DIM = 64 against a hand derivation, the fused
resampling convolutions against plain upsample / pool references, the gradient penalty's double backward,
and ``describe_resnet64``.
"""

import math

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppsci_ext.arch import CifarResNetCritic, CifarResNetGenerator, ResNet64Critic, ResNet64Generator
from ppsci_ext.arch.cifar10 import count_parameters
from ppsci_ext.arch.gan import GAN
from ppsci_ext.arch.resnet64 import _down, _up, describe_resnet64
from ppsci_ext.errors import UserError

# --- shapes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("conditional", [False, True])
def test_shapes(channels, conditional):
    paddle.seed(0)
    gen = ResNet64Generator(dim=4, conditional=conditional, num_classes=5, channels=channels)
    critic = ResNet64Critic(dim=4, acgan=conditional, num_classes=5, channels=channels)
    gan = GAN(gen, critic, num_classes=5 if conditional else 0)
    inputs = gan.sample_inputs(3)
    assert gen.input_keys == (("z", "y") if conditional else ("z",)) and inputs["z"].shape == [3, 128]
    img = gan(inputs)["img"]
    assert img.shape == [3, channels, 64, 64] and float(img.abs().max()) <= 1.0
    out = critic({"img": img})
    assert set(out) == ({"score", "logits"} if conditional else {"score"}) and out["score"].shape == [3, 1]
    if conditional:
        assert out["logits"].shape == [3, 5]
        assert gen.block1.bn1.weight.shape == [5, 32] and gen.bn_out.weight.shape == [4]  # final BN unconditional
    assert critic.batch_coupled is False
    assert ResNet64Critic(dim=4, norm=None, channels=channels)({"img": img})["score"].shape == [3, 1]


def test_block_shapes_and_bias_free_first_conv():
    up, down = _up(6, 4, 0), _down(4, 6, "layer")
    assert up(paddle.randn([2, 6, 4, 4])).shape == [2, 4, 8, 8]
    assert down(paddle.randn([2, 4, 8, 8])).shape == [2, 6, 4, 4]
    assert up.conv1.bias is None and down.conv1.bias is None  # official biases=False on Conv1
    assert up.conv2.bias is not None and down.conv2.bias is not None and up.shortcut.bias is not None
    assert down.conv1.weight.shape == [4, 4, 3, 3]  # down: conv1 keeps the input channels


def test_critic_is_per_sample_and_rejects_unknown_norm():
    paddle.seed(2)
    critic = ResNet64Critic(dim=4)
    x = paddle.randn([3, 3, 64, 64])
    np.testing.assert_allclose(critic({"img": x[1:2]})["score"].numpy(), critic({"img": x})["score"].numpy()[1:2],
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(UserError, match="norm 'batch'"):
        ResNet64Critic(dim=4, norm="batch")


# --- parameter counts at the official DIM = 64 -------------------------------------------------------
# Derived by hand from gan_64x64.py (DIM = 64, so D = 64, 2D = 128, 4D = 256, 8D = 512; 4*4*8*DIM = 8192).
# conv k x k a->b: a*b*k*k (+ b with bias); BN / LN over c channels: 2*c (scale, offset); cond BN: 2*K*c.
#
# Generator
#   Input      Linear 128 -> 8192:              128*8192 + 8192                                 = 1,056,768
#   Res1 up 512->512: shortcut 512*512+512 = 262,656; BN1 2*512 = 1,024; Conv1 512*512*9 (no bias)
#                     = 2,359,296; BN2 2*512 = 1,024; Conv2 512*512*9+512 = 2,359,808          = 4,983,808
#   Res2 up 512->256: shortcut 512*256+256 = 131,328; BN1 2*512 = 1,024; Conv1 512*256*9 = 1,179,648;
#                     BN2 2*256 = 512; Conv2 256*256*9+256 = 590,080                           = 1,902,592
#   Res3 up 256->128: shortcut 256*128+128 = 32,896; BN1 2*256 = 512; Conv1 256*128*9 = 294,912;
#                     BN2 2*128 = 256; Conv2 128*128*9+128 = 147,584                           =   476,160
#   Res4 up 128->64:  shortcut 128*64+64 = 8,256; BN1 2*128 = 256; Conv1 128*64*9 = 73,728;
#                     BN2 2*64 = 128; Conv2 64*64*9+64 = 36,928                                =   119,296
#   OutputN BN 2*64 = 128; Output conv 64->3: 64*3*9+3 = 1,731                                 =     1,859
#   total                                                                                      = 8,540,483
#   channels 1: Output conv 64*1*9+1 = 577 instead of 1,731 (-1,154)                           = 8,539,329
#   conditional (K = 10): the 8 block BNs have 2*10*c instead of 2*c scalars, +18*c each, over
#     c = 512+512 + 512+256 + 256+128 + 128+64 = 2,368 channels: +18*2,368 = +42,624           = 8,583,107
#
# Critic (layer norm, the official WGAN-GP mode)
#   Input      conv 3->64 (Glorot): 3*64*9+64                                                   =     1,792
#   Res1 down 64->128:  shortcut 64*128+128 = 8,320; LN1 2*64 = 128; Conv1 64*64*9 (no bias) = 36,864;
#                       LN2 2*64 = 128; Conv2 64*128*9+128 = 73,856                            =   119,296
#   Res2 down 128->256: shortcut 128*256+256 = 33,024; LN1 256; Conv1 128*128*9 = 147,456;
#                       LN2 256; Conv2 128*256*9+256 = 295,168                                 =   476,160
#   Res3 down 256->512: shortcut 256*512+512 = 131,584; LN1 512; Conv1 256*256*9 = 589,824;
#                       LN2 512; Conv2 256*512*9+512 = 1,180,160                               = 1,902,592
#   Res4 down 512->512: shortcut 262,656; LN1 1,024; Conv1 2,359,296; LN2 1,024; Conv2 2,359,808 = 4,983,808
#   Output     Linear 8192 -> 1: 8192 + 1                                                      =     8,193
#   total                                                                                      = 7,491,841
#   norm=None: minus the LN scalars 2*(64+64 + 128+128 + 256+256 + 512+512) = 3,840            = 7,488,001
#   channels 1: Input conv 1*64*9+64 = 640 instead of 1,792 (-1,152)                           = 7,490,689
#   AC-GAN (K = 10): + Linear 8192 -> 10: 8192*10 + 10 = 81,930                                = 7,573,771
_G = {"input": 128 * 8192 + 8192,
      "res1": (512 * 512 + 512) + 2 * 512 + 512 * 512 * 9 + 2 * 512 + (512 * 512 * 9 + 512),
      "res2": (512 * 256 + 256) + 2 * 512 + 512 * 256 * 9 + 2 * 256 + (256 * 256 * 9 + 256),
      "res3": (256 * 128 + 128) + 2 * 256 + 256 * 128 * 9 + 2 * 128 + (128 * 128 * 9 + 128),
      "res4": (128 * 64 + 64) + 2 * 128 + 128 * 64 * 9 + 2 * 64 + (64 * 64 * 9 + 64),
      "out": 2 * 64 + (64 * 3 * 9 + 3)}
_G_COND_EXTRA = (10 - 1) * 2 * (512 + 512 + 512 + 256 + 256 + 128 + 128 + 64)
_LN = 2 * (64 + 64 + 128 + 128 + 256 + 256 + 512 + 512)
_D = {"input": 3 * 64 * 9 + 64,
      "res1": (64 * 128 + 128) + 64 * 64 * 9 + (64 * 128 * 9 + 128),
      "res2": (128 * 256 + 256) + 128 * 128 * 9 + (128 * 256 * 9 + 256),
      "res3": (256 * 512 + 512) + 256 * 256 * 9 + (256 * 512 * 9 + 512),
      "res4": (512 * 512 + 512) + 512 * 512 * 9 + (512 * 512 * 9 + 512),
      "out": 8192 + 1}
_D_ACGAN = 8192 * 10 + 10


def test_parameter_counts_match_official_model():
    assert [_G[k] for k in ("input", "res1", "res2", "res3", "res4", "out")] == \
        [1_056_768, 4_983_808, 1_902_592, 476_160, 119_296, 1_859]
    assert [_D[k] for k in ("input", "res1", "res2", "res3", "res4", "out")] == \
        [1_792, 119_296 - 256, 476_160 - 512, 1_902_592 - 1_024, 4_983_808 - 2_048, 8_193]  # LN counted apart
    paddle.seed(0)
    gen = ResNet64Generator()
    assert count_parameters(gen) == sum(_G.values()) == 8_540_483
    assert count_parameters(ResNet64Generator(channels=1)) == 8_540_483 - 2 * 9 * 64 - 2 == 8_539_329
    assert count_parameters(ResNet64Generator(conditional=True)) == 8_540_483 + _G_COND_EXTRA == 8_583_107
    critic = ResNet64Critic()
    assert count_parameters(critic) == sum(_D.values()) + _LN == 7_491_841
    assert count_parameters(ResNet64Critic(norm=None)) == 7_491_841 - _LN == 7_488_001
    assert count_parameters(ResNet64Critic(channels=1)) == 7_491_841 - 2 * 9 * 64 == 7_490_689
    assert count_parameters(ResNet64Critic(acgan=True)) == 7_491_841 + _D_ACGAN == 7_573_771
    # tflib initialisation: hidden convs He, shortcut and critic input Glorot, generator output He (official default)
    for w, fan, he in ((gen.block2.conv1.weight, 512 * 9 + 256 * 9, True),
                       (gen.block2.shortcut.weight, 512 + 256, False),
                       (gen.conv_out.weight, 64 * 9 + 3 * 9, True),
                       (critic.input.weight, 3 * 9 + 64 * 9, False)):
        std = math.sqrt((4.0 if he else 2.0) / fan)
        assert abs(float(w.numpy().std()) - std) < 0.1 * std and float(w.abs().max()) <= std * math.sqrt(3) + 1e-6


# --- fused resampling against the plain operations ----------------------------------------------------


def _randomise(layer, seed):
    """Non-trivial values for every parameter (biases, norm scales and offsets included)."""
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.set_value((rng.normal(size=p.shape) * (0.3 if p.ndim == 4 else 1.0)).astype(p.numpy().dtype))


def _bn(x, w, b):
    mean = x.mean(axis=[0, 2, 3], keepdim=True)
    var = ((x - mean) ** 2).mean(axis=[0, 2, 3], keepdim=True)
    return (x - mean) / paddle.sqrt(var + 1e-5) * w.reshape([1, -1, 1, 1]) + b.reshape([1, -1, 1, 1])


def _ln(x, w, b):
    mean = x.mean(axis=[1, 2, 3], keepdim=True)
    var = ((x - mean) ** 2).mean(axis=[1, 2, 3], keepdim=True)
    return (x - mean) / paddle.sqrt(var + 1e-5) * w.reshape([1, -1, 1, 1]) + b.reshape([1, -1, 1, 1])


def _up_reference(block, x):
    """The official order with Paddle's own ops: nearest upsample, then each conv."""
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
    shortcut = F.conv2d(up(x), block.shortcut.weight, block.shortcut.bias)
    h = F.conv2d(up(F.relu(_bn(x, block.bn1.weight, block.bn1.bias))), block.conv1.weight, None, padding=1)
    h = F.conv2d(F.relu(_bn(h, block.bn2.weight, block.bn2.bias)), block.conv2.weight, block.conv2.bias, padding=1)
    return shortcut + h


def _down_reference(block, x):
    """The official order with Paddle's own ops: pool then conv1x1; conv3x3 then pool."""
    shortcut = F.conv2d(F.avg_pool2d(x, 2, 2), block.shortcut.weight, block.shortcut.bias)
    h = F.conv2d(F.relu(_ln(x, block.norm1.weight, block.norm1.bias)), block.conv1.weight, None, padding=1)
    h = F.conv2d(F.relu(_ln(h, block.norm2.weight, block.norm2.bias)), block.conv2.weight, block.conv2.bias,
                 padding=1)
    return shortcut + F.avg_pool2d(h, 2, 2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_resampling_blocks_match_plain_reference(dtype):
    """float32 runs the oneDNN path of the fused convs, float64 Paddle's kernels; values and gradients agree."""
    paddle.set_default_dtype(dtype)
    try:
        paddle.seed(3)
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)
        for block, reference, shape, seed in ((_up(6, 5, 0), _up_reference, [3, 6, 4, 4], 1),
                                              (_down(5, 6, "layer"), _down_reference, [3, 5, 8, 8], 2)):
            _randomise(block, seed)
            x0 = paddle.to_tensor(np.random.default_rng(seed + 10).normal(size=shape), dtype=dtype)
            results = []
            for fn in (block, lambda x: reference(block, x)):
                x = x0.clone()
                x.stop_gradient = False
                out = fn(x)
                paddle.tanh(out).sum().backward()
                results.append([out.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in block.parameters()])
                block.clear_gradients()
            assert len(results[0]) == 2 + len(block.parameters())
            for got, want in zip(*results):
                np.testing.assert_allclose(got, want, **tol)
    finally:
        paddle.set_default_dtype("float32")


# --- gradient penalty --------------------------------------------------------------------------------


@pytest.mark.parametrize("norm,acgan", [("layer", False), (None, True)])
def test_critic_gradient_penalty_double_backward(norm, acgan):
    paddle.seed(4)
    critic = ResNet64Critic(dim=4, norm=norm, acgan=acgan, channels=3)
    x = paddle.rand([3, 3, 64, 64]) * 2 - 1
    x.stop_gradient = False
    out = critic({"img": x})
    score = out["score"]
    (grad,) = paddle.grad(score.sum(), x, create_graph=True)
    penalty = ((grad.reshape([3, -1]).norm(axis=1) - 1.0) ** 2).mean()
    loss = score.mean() + 10.0 * penalty
    if acgan:  # so that the class head has a gradient too
        loss = loss + F.cross_entropy(out["logits"], paddle.to_tensor([0, 3, 9]))
    loss.backward()
    assert np.isfinite(float(penalty))
    grads = {name: p.grad for name, p in critic.named_parameters()}
    assert all(g is not None for g in grads.values())
    assert all(np.isfinite(g.numpy()).all() for g in grads.values())
    # the penalty reaches the first layer's weights through the double backward
    assert float(grads["input.weight"].abs().sum()) > 0 and float(grads["block1.conv1.weight"].abs().sum()) > 0


# --- describe_resnet64 -------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("conditional", [False, True])
def test_describe_round_trip(channels, conditional):
    paddle.seed(5)
    gen = ResNet64Generator(dim=4, conditional=conditional, num_classes=7, channels=channels)
    critic = ResNet64Critic(dim=4, acgan=conditional, num_classes=7, channels=channels)
    want = {"dim": 4, "channels": channels, "conditional": conditional, "num_classes": 7 if conditional else 0}
    info = describe_resnet64(gen.state_dict(), "generator")
    assert info == want
    assert describe_resnet64(critic.state_dict(), "critic") == want
    assert describe_resnet64(ResNet64Critic(dim=4, norm=None, channels=channels).state_dict(), "critic") == \
        dict(want, conditional=False, num_classes=0)
    numpy_state = {k: v.numpy() for k, v in gen.state_dict().items()}
    assert describe_resnet64(numpy_state, "generator") == want
    # the settings rebuild a model that takes the weights
    rebuilt = ResNet64Generator(**info)
    rebuilt.set_state_dict(gen.state_dict())
    z = {"z": paddle.randn([2, 128])}
    if conditional:
        z["y"] = paddle.to_tensor([0, 6])
    np.testing.assert_allclose(rebuilt(z)["img"].numpy(), gen(z)["img"].numpy(), atol=1e-6)
    # a generator file is not a critic and vice versa
    assert describe_resnet64(gen.state_dict(), "critic") is None
    assert describe_resnet64(critic.state_dict(), "generator") is None


def test_describe_rejects_cifar_and_junk():
    paddle.seed(6)
    for conditional in (False, True):
        assert describe_resnet64(CifarResNetGenerator(dim=8, conditional=conditional).state_dict(),
                                 "generator") is None
        assert describe_resnet64(CifarResNetCritic(dim=8, acgan=conditional).state_dict(), "critic") is None
        assert describe_resnet64(CifarResNetCritic(dim=8, norm="layer").state_dict(), "critic") is None
    for junk in ({}, None, "junk", [1, 2], {"input.weight": paddle.zeros([3])}, {"conv_out.weight": 5}):
        assert describe_resnet64(junk, "generator") is None
        assert describe_resnet64(junk, "critic") is None
    state = ResNet64Generator(dim=4).state_dict()
    state["block3.conv2.weight"] = paddle.zeros([16, 16, 3, 3])  # one layer of another width (8 -> 8 here)
    assert describe_resnet64(state, "generator") is None
    state = ResNet64Critic(dim=4).state_dict()
    del state["block4.conv1.weight"]
    assert describe_resnet64(state, "critic") is None
    with pytest.raises(ValueError, match="which"):
        describe_resnet64({}, "classifier")

"""arch/paddlescience.py: this package's implementation of PaddleScience's WGAN-GP MNIST and CIFAR-10 generators,
against NumPy forwards of their networks (tests/paddlescience_reference.py) and Paddle's own layers."""

import ppsci_ext  # noqa: F401  (before paddle)
import numpy as np
import paddle
import pytest

import paddlescience_reference as ref
from ppsci_ext.arch import CifarResNetGenerator, MNISTGenerator
from ppsci_ext.arch.paddlescience import (
    PaddleScienceCifar10Generator,
    PaddleScienceMNISTGenerator,
    SameConvTranspose2D,
    build_paddlescience_generator,
    describe_paddlescience_generator,
    same_padding,
)
from ppsci_ext.io import paddlescience
from ppsci_ext.io.weights import load_checked


def _loaded(state, kind):
    mapped = paddlescience.translate(state, "f.pdparams", kind)
    generator = build_paddlescience_generator(describe_paddlescience_generator(mapped))
    load_checked(generator, mapped, "generator", "f.pdparams")
    return generator


@pytest.mark.parametrize("size, output_padding, start, out", [(4, 0, 1, 8), (7, 1, 2, 14), (14, 0, 1, 28),
                                                              (5, 0, 2, 9), (6, 1, 1, 13)])
def test_paddles_same_transposed_convolution_is_the_documented_crop(size, output_padding, start, out):
    """Paddle's own Conv2DTranspose(padding="same") = the full transposed conv from P // 2 (the reference's rule)."""
    paddle.seed(size)
    layer = paddle.nn.Conv2DTranspose(3, 2, 5, [2, 2], "same", output_padding=output_padding)
    x = paddle.randn([2, 3, size, size])
    expected = ref.same_conv_transpose(x.numpy().astype(np.float64), layer.weight.numpy(), layer.bias.numpy(),
                                       output_padding=output_padding)
    assert expected.shape[-1] == out and same_padding(size, 5, 2)[0] == start
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-5)
    ours = SameConvTranspose2D(3, 2, output_padding=output_padding)
    ours.weight.set_value(layer.weight)
    ours.bias.set_value(layer.bias)
    np.testing.assert_allclose(ours(x).numpy(), expected, atol=1e-5)


def test_paddles_batchnorm_in_eval_mode_uses_the_stored_statistics():
    """The fact RunningBatchNorm is built on: nn.BatchNorm, eval mode, (x - _mean) / sqrt(_variance + 1e-5)."""
    bn = paddle.nn.BatchNorm(4)
    rng = np.random.default_rng(0)
    values = {"weight": rng.uniform(0.5, 1.5, 4), "bias": rng.standard_normal(4), "_mean": rng.standard_normal(4),
              "_variance": rng.uniform(0.5, 2, 4)}
    bn.set_state_dict({k: paddle.to_tensor(v.astype(np.float32)) for k, v in values.items()})
    bn.eval()
    x = paddle.randn([3, 4, 2, 2])
    r = lambda v: v.reshape(1, -1, 1, 1)  # noqa: E731
    expected = (x.numpy() - r(values["_mean"])) / np.sqrt(r(values["_variance"]) + 1e-5) * r(values["weight"]) + \
        r(values["bias"])
    np.testing.assert_allclose(bn(x).numpy(), expected, atol=1e-5)


def test_four_copies_and_pixel_shuffle_is_the_documented_channel_mix():
    from ppsci_ext.arch.paddlescience import shuffle_up

    x = paddle.randn([2, 6, 3, 3])
    up = paddle.nn.PixelShuffle(2)(paddle.concat([x, x, x, x], axis=1)).numpy()
    np.testing.assert_array_equal(shuffle_up(x).numpy(), up)
    np.testing.assert_array_equal(up, ref.four_copies_pixel_shuffle(x.numpy()))


@pytest.mark.parametrize("dim", [2, 3])
def test_mnist_generator_equals_their_forward(dim):
    state = ref.their_mnist_state(dim=dim, seed=dim)
    generator = _loaded(state, "mnist")
    assert isinstance(generator, PaddleScienceMNISTGenerator) and generator.noise_dim == 128
    z = np.random.default_rng(1).standard_normal((5, 128)).astype(np.float32)
    with paddle.no_grad():
        ours = generator({"z": paddle.to_tensor(z)})["img"].numpy()
    theirs = ref.their_mnist_forward(state, z)
    assert ours.shape == theirs.shape == (5, 1, 28, 28)
    assert 0 < ours.min() and ours.max() < 1 and theirs.std() > 0.01
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("conditional", [False, True])
def test_cifar10_generator_equals_their_forward_in_eval_mode(conditional):
    state = ref.their_cifar10_state(dim=4, conditional=conditional, seed=5)
    generator = _loaded(state, "cifar10")
    assert isinstance(generator, PaddleScienceCifar10Generator) and generator.conditional is conditional
    assert generator.input_keys == (("z", "y") if conditional else ("z",)) and generator.output_keys == ("img",)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((6, 128)).astype(np.float32)
    y = np.array([0, 3, 9, 3, 1, 7], np.int64)
    inputs = {"z": paddle.to_tensor(z), **({"y": paddle.to_tensor(y)} if conditional else {})}
    with paddle.no_grad():
        ours = generator(inputs)["img"].numpy()
    theirs = ref.their_cifar10_forward(state, z, y if conditional else None)
    assert ours.shape == theirs.shape == (6, 3, 32, 32)
    assert -1 < ours.min() and ours.max() < 1 and theirs.std() > 0.01
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    # running statistics: a sample does not depend on the rest of its batch
    with paddle.no_grad():
        alone = generator({k: v[:2] for k, v in inputs.items()})["img"].numpy()
    np.testing.assert_allclose(alone, ours[:2], atol=1e-5)


def test_the_labels_matter_only_when_conditional():
    z = paddle.randn([2, 128])
    conditional = _loaded(ref.their_cifar10_state(dim=2, conditional=True, seed=1), "cifar10")
    with paddle.no_grad():
        a = conditional({"z": z, "y": paddle.to_tensor([0, 0])})["img"].numpy()
        b = conditional({"z": z, "y": paddle.to_tensor([4, 4])})["img"].numpy()
    assert np.abs(a - b).max() > 1e-3
    with pytest.raises(ValueError, match="labels y"):
        conditional.blocks[0].norm1(paddle.randn([1, 2, 4, 4]))


def test_describe_recognises_only_these_archs():
    assert describe_paddlescience_generator(PaddleScienceMNISTGenerator(dim=3).state_dict()) == \
        {"kind": "mnist", "noise_dim": 128, "dim": 3}
    assert describe_paddlescience_generator(PaddleScienceCifar10Generator(dim=2, conditional=True).state_dict()) == \
        {"kind": "cifar10", "noise_dim": 128, "dim": 2, "conditional": True, "num_classes": 10}
    for other in (MNISTGenerator(dim=2), CifarResNetGenerator(dim=2)):
        assert describe_paddlescience_generator(other.state_dict()) == {}
    assert describe_paddlescience_generator([1]) == {}

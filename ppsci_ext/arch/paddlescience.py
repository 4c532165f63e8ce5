"""The generators of PaddleScience's WGAN-GP example (``examples/wgangp``), written for this package.

PaddleScience publishes trained weights of its example (``model_generator_mnist.pdparams``,
``model_generator_cifar10.pdparams``). Its MNIST and CIFAR-10 generators compute other
functions than this package's ``MNISTGenerator`` and ``CifarResNetGenerator``, so their
weights cannot be mapped onto those; the two archs here compute what theirs compute (from
the operations their layers are documented to perform), with their parameters under this
module's own names, and ``io.paddlescience.translate`` maps a file of theirs onto them.

``PaddleScienceMNISTGenerator`` (their ``WganGpMnistGenerator``): noise ``z`` [N, 128] ->
Linear(128, 64*dim) -> ReLU -> [4*dim, 4, 4] -> 5x5 stride-2 transposed conv with Paddle's
``padding="same"`` (2*dim, 8x8) -> ReLU -> crop to 7x7 -> the same kind of layer with
``output_padding=1`` (dim, 14x14) -> ReLU -> the same (1, 28x28) -> sigmoid: ``img`` in (0, 1).

Paddle's ``"same"`` transposed convolution (``SameConvTranspose2D``): for an input of size
H, stride s and kernel k it pads ``P = max((ceil(H / s) - 1) * s + k - H, 0)`` in total,
``P // 2`` before and the rest after, and adds ``output_padding`` at the end: the output is
the full transposed convolution (size ``(H - 1) * s + k``) from index ``P // 2``, of size
``(H - 1) * s + k - P + output_padding``. For the MNIST net: 4 -> 8 from index 1, 7 -> 14
from index 2, 14 -> 28 from index 1; this package's layer (the official ``gan_mnist.py``
alignment) starts at index 2 every time, so the first and last layers differ by one pixel.

``PaddleScienceCifar10Generator`` (their ``WganGpCifar10Generator``, unconditional or with
class-conditional batch norm): noise ``z`` [N, 128] -> Linear(128, 16*dim) -> [dim, 4, 4] ->
three up blocks (4 -> 8 -> 16 -> 32) -> batch norm -> ReLU -> 3x3 conv to 3 channels -> tanh:
``img`` in (-1, 1). An up block is ``shortcut(x) + conv2(relu(norm2(conv1(relu(norm1(x))))))``
where ``shortcut`` is a 1x1 conv after ``shuffle_up`` and ``conv1`` a 3x3 conv after
``shuffle_up``; ``conv2`` is 3x3; every conv is 'same' (stride 1, zero padding k // 2).

- ``shuffle_up`` is their upsampling, four copies of the input along the channels followed
  by Paddle's ``PixelShuffle(2)`` (channel-major): output ``[c, 2h + i, 2w + j]`` is input
  ``[(4c + 2i + j) mod C, h, w]``. Each 2x2 phase reads another channel: this is not
  nearest-neighbour upsampling (``arch.cifar10.upsample``).
- Their example evaluates in Paddle's eval mode, where the batch norms normalise with the
  running statistics stored in the file (``RunningBatchNorm``):
  ``(x - mean) / sqrt(variance + 1e-5) * weight + bias``, with ``weight`` and ``bias`` rows
  picked by the label ``y`` in the conditional blocks (the last norm is unconditional).
  A sample therefore does not depend on the other samples of its batch, unlike this
  package's ResNet, which always uses the batch's statistics.

Examples:
    >>> import paddle
    >>> from ppsci_ext.arch.paddlescience import PaddleScienceCifar10Generator
    >>> list(PaddleScienceCifar10Generator(dim=4)({"z": paddle.randn([2, 128])})["img"].shape)
    [2, 3, 32, 32]
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import paddle
import paddle.nn.functional as F
from paddle import nn
from ppsci.arch import base

from ppsci_ext.arch.cifar10 import BatchNorm
from ppsci_ext.ops import onednn
from ppsci_ext.ops.layers import Conv2D, Linear

NOISE_DIM = 128
EPS = 1e-5  # Paddle's BatchNorm default and their conditional batch norm's


def same_padding(size: int, kernel: int, stride: int) -> Tuple[int, int]:
    """(before, after) of Paddle's ``padding="same"`` for a transposed convolution of an input of ``size``."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConvTranspose2D(nn.Layer):
    """A transposed convolution with Paddle's ``padding="same"`` (see the module's docstring).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel (int): Kernel size. Defaults to 5.
        stride (int): Stride. Defaults to 2.
        output_padding (int): Pixels added at the end of each spatial dimension. Defaults to 0.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 5, stride: int = 2,
                 output_padding: int = 0):
        super().__init__()
        self.kernel, self.stride, self.output_padding = kernel, stride, output_padding
        self.weight = self.create_parameter([in_channels, out_channels, kernel, kernel])
        self.bias = self.create_parameter([out_channels], is_bias=True)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        size = int(x.shape[2])
        if int(x.shape[3]) != size:
            raise ValueError(f"SameConvTranspose2D takes square inputs, not {list(x.shape)}")
        before, after = same_padding(size, self.kernel, self.stride)
        full = (size - 1) * self.stride + self.kernel
        out = full - before - after + self.output_padding
        # symmetric padding `before`, then either a few more pixels at the end or a crop of the last ones
        extra = out - (full - 2 * before)
        y = onednn.conv2d_transpose(x, self.weight, self.bias, stride=self.stride, padding=before,
                                    output_padding=max(extra, 0))
        return y[:, :, :out, :out] if extra < 0 else y


class PaddleScienceMNISTGenerator(base.Arch):
    """PaddleScience's MNIST generator: ``z`` [N, noise_dim] -> ``img`` [N, 1, 28, 28] in (0, 1).

    Args:
        input_keys (Tuple[str, ...]): Name of the noise. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the images. Defaults to ("img",).
        noise_dim (int): Noise dimension (theirs: 128). Defaults to 128.
        dim (int): Base width (theirs: 64). Defaults to 64.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.paddlescience import PaddleScienceMNISTGenerator
        >>> list(PaddleScienceMNISTGenerator(dim=4)({"z": paddle.randn([2, 128])})["img"].shape)
        [2, 1, 28, 28]
    """

    def __init__(self, input_keys: Tuple[str, ...] = ("z",), output_keys: Tuple[str, ...] = ("img",),
                 noise_dim: int = NOISE_DIM, dim: int = 64):
        super().__init__()
        self.input_keys, self.output_keys = tuple(input_keys), tuple(output_keys)
        self.noise_dim, self.dim = noise_dim, dim
        self.linear = Linear(noise_dim, 4 * 4 * 4 * dim)
        self.tconv1 = SameConvTranspose2D(4 * dim, 2 * dim)
        self.tconv2 = SameConvTranspose2D(2 * dim, dim, output_padding=1)
        self.tconv3 = SameConvTranspose2D(dim, 1)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        h = F.relu(self.linear(x[self.input_keys[0]])).reshape([-1, 4 * self.dim, 4, 4])
        h = F.relu(self.tconv1(h))[:, :, :7, :7]
        h = F.relu(self.tconv2(h))
        return {self.output_keys[0]: F.sigmoid(self.tconv3(h))}


class RunningBatchNorm(BatchNorm):
    """Batch norm with the stored running statistics (Paddle's eval mode), optionally class-conditional.

    The parameters are the 32x32 ResNet's ``BatchNorm`` (``weight``, ``bias``, conditional rows);
    the buffers ``mean`` and ``variance`` are the running statistics it normalises with.

    Args:
        channels (int): Channels.
        num_classes (int): > 0: ``weight`` and ``bias`` are ``[num_classes, channels]``, the row picked
            by the label. Defaults to 0.
    """

    def __init__(self, channels: int, num_classes: int = 0):
        super().__init__(channels, num_classes)
        self.register_buffer("mean", paddle.zeros([channels]))
        self.register_buffer("variance", paddle.ones([channels]))

    def forward(self, x: paddle.Tensor, y: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        inv = paddle.rsqrt(self.variance + EPS)
        if not self.num_classes:
            scale, shift = self.weight * inv, self.bias - self.mean * self.weight * inv
            return x * scale.reshape([1, -1, 1, 1]) + shift.reshape([1, -1, 1, 1])
        if y is None:
            raise ValueError("the conditional batch norm needs the labels y")
        h = (x - self.mean.reshape([1, -1, 1, 1])) * inv.reshape([1, -1, 1, 1])
        weight, bias = paddle.gather(self.weight, y, axis=0), paddle.gather(self.bias, y, axis=0)
        return h * weight.unsqueeze([2, 3]) + bias.unsqueeze([2, 3])


def shuffle_up(x: paddle.Tensor) -> paddle.Tensor:
    """Their x2 upsampling: four copies of ``x`` along the channels, then Paddle's ``PixelShuffle(2)``."""
    return F.pixel_shuffle(paddle.tile(x, [1, 4, 1, 1]), 2)


class ShuffleUpBlock(nn.Layer):
    """Their generator's residual block (``resample="up"``), see the module's docstring.

    Args:
        channels (int): Input and output channels.
        num_classes (int): > 0 for the class-conditional batch norms. Defaults to 0.
    """

    def __init__(self, channels: int, num_classes: int = 0):
        super().__init__()
        self.shortcut = Conv2D(channels, channels, 1)
        self.norm1 = RunningBatchNorm(channels, num_classes)
        self.conv1 = Conv2D(channels, channels, 3, padding=1)
        self.norm2 = RunningBatchNorm(channels, num_classes)
        self.conv2 = Conv2D(channels, channels, 3, padding=1)

    def forward(self, x: paddle.Tensor, y: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        shortcut = self.shortcut(shuffle_up(x))
        h = self.conv1(shuffle_up(F.relu(self.norm1(x, y))))
        return shortcut + self.conv2(F.relu(self.norm2(h, y)))


class PaddleScienceCifar10Generator(base.Arch):
    """PaddleScience's CIFAR-10 generator: ``z`` [N, 128] (and ``y`` [N] when conditional) ->
    ``img`` [N, 3, 32, 32] in (-1, 1).

    Args:
        noise_dim (int): Noise dimension (theirs: 128). Defaults to 128.
        dim (int): Channels of the blocks (theirs: 128). Defaults to 128.
        conditional (bool): Class-conditional batch norms in the blocks (their ``use_label``). Defaults to False.
        num_classes (int): Classes when conditional. Defaults to 10.
    """

    def __init__(self, noise_dim: int = NOISE_DIM, dim: int = 128, conditional: bool = False, num_classes: int = 10):
        super().__init__()
        self.conditional = bool(conditional)
        self.input_keys = ("z", "y") if self.conditional else ("z",)
        self.output_keys = ("img",)
        self.noise_dim, self.dim = noise_dim, dim
        self.num_classes = num_classes if self.conditional else 0
        self.linear = Linear(noise_dim, 4 * 4 * dim)
        self.blocks = nn.LayerList([ShuffleUpBlock(dim, self.num_classes) for _ in range(3)])
        self.norm = RunningBatchNorm(dim)
        self.conv = Conv2D(dim, 3, 3, padding=1)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        y = x["y"] if self.conditional else None
        h = self.linear(x["z"]).reshape([-1, self.dim, 4, 4])
        for block in self.blocks:
            h = block(h, y)
        return {"img": paddle.tanh(self.conv(F.relu(self.norm(h))))}


def describe_paddlescience_generator(state: Any) -> Dict[str, Any]:
    """Settings of a state dict under this module's names ({} when it is not one of these archs).

    Returns:
        Dict[str, Any]: ``{"kind": "mnist", "noise_dim", "dim"}`` or ``{"kind": "cifar10", "noise_dim", "dim",
        "conditional", "num_classes"}``.
    """
    if not isinstance(state, dict):
        return {}

    def shape(key):
        found = getattr(state.get(key), "shape", None)
        return tuple(int(s) for s in found) if found is not None else ()

    linear = shape("linear.weight")
    if len(linear) != 2:
        return {}
    if len(shape("tconv1.weight")) == 4 and linear[1] % 64 == 0:
        return {"kind": "mnist", "noise_dim": linear[0], "dim": linear[1] // 64}
    norm = shape("blocks.0.norm1.weight")
    if len(shape("blocks.0.conv1.weight")) == 4 and norm and linear[1] % 16 == 0:
        conditional = len(norm) == 2
        return {"kind": "cifar10", "noise_dim": linear[0], "dim": linear[1] // 16, "conditional": conditional,
                "num_classes": norm[0] if conditional else 0}
    return {}


def build_paddlescience_generator(found: Dict[str, Any]) -> base.Arch:
    """The generator of ``describe_paddlescience_generator``'s settings."""
    if found["kind"] == "mnist":
        return PaddleScienceMNISTGenerator(noise_dim=found["noise_dim"], dim=found["dim"])
    return PaddleScienceCifar10Generator(noise_dim=found["noise_dim"], dim=found["dim"],
                                         conditional=found["conditional"], num_classes=found["num_classes"] or 10)

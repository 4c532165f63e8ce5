"""The paper's ResNet generator and critic for CIFAR-10 (official ``gan_cifar_resnet.py``).

Generator (DIM_G = 128): Linear(128 -> 4*4*DIM) -> [DIM, 4, 4] -> three
up-sampling residual blocks (4 -> 8 -> 16 -> 32) -> BN -> ReLU -> conv3x3 to 3
channels -> tanh. Each up block is pre-activation:
``BN -> ReLU -> upsample + conv3x3 -> BN -> ReLU -> conv3x3`` plus the shortcut
``upsample + conv1x1``; "upsample" is nearest neighbour (the official
``depth_to_space`` of four channel copies is exactly that). When conditional,
the blocks' batch norms take a per-class scale and offset (conditional batch
norm); the final batch norm is unconditional, as in the official code.

Critic (DIM_D = 128), 32 -> 16 -> 8 -> 8 -> 8:
``OptimizedResBlockDisc1`` (conv3x3 -> ReLU -> conv3x3 -> mean-pool; shortcut
mean-pool -> conv1x1), one down-sampling residual block (ReLU -> conv3x3 ->
ReLU -> conv3x3 -> mean-pool; shortcut conv1x1 -> mean-pool), two plain
residual blocks with identity shortcuts, ReLU, mean over H and W, Linear to 1
("score") and, for AC-GAN, Linear to 10 ("logits"). No normalisation by
default (as the official run); ``norm="layer"`` adds the official per-sample
layer norm (statistics over C, H, W; per-channel scale and offset).

Batch norm in the generator always uses the statistics of the current batch,
in training and in evaluation, because the official code does (its moving
averages are never read). Generate in batches of about 100 (the official
sampling batch), never one image at a time.

Initialisation, as the official ``tflib``: conv weights uniform with standard
deviation ``sqrt(4 / (fan_in + fan_out))`` ("He", hidden convs) or
``sqrt(2 / (fan_in + fan_out))`` (Glorot: shortcuts and the output conv), with
``fan = channels * k * k``; Linear layers Glorot uniform; biases 0; norm scales
1 and offsets 0.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import paddle
import paddle.nn.functional as F
from paddle import nn
from ppsci.arch import base

from ppsci_ext.ops import onednn
from ppsci_ext.ops.layers import Conv2D, Linear
from ppsci_ext.errors import UserError

NOISE_DIM = 128
NUM_CLASSES = 10
_EPS = 1e-5  # tflib's batch norm and layer norm epsilon


def _uniform_attr(std: float) -> paddle.ParamAttr:
    limit = std * math.sqrt(3.0)
    return paddle.ParamAttr(initializer=nn.initializer.Uniform(-limit, limit))


def _zero_attr() -> paddle.ParamAttr:
    return paddle.ParamAttr(initializer=nn.initializer.Constant(0.0))


def conv2d(in_ch: int, out_ch: int, kernel: int, he_init: bool = True, bias: bool = True) -> Conv2D:
    """'SAME' convolution with tflib's initialisation (uniform, He or Glorot fan average).

    ``bias=False`` makes a convolution without bias (tflib's ``biases=False``); its ``bias`` is None.
    """
    fan_in, fan_out = in_ch * kernel * kernel, out_ch * kernel * kernel
    std = math.sqrt((4.0 if he_init else 2.0) / (fan_in + fan_out))
    return Conv2D(in_ch, out_ch, kernel, padding=kernel // 2, weight_attr=_uniform_attr(std),
                     bias_attr=_zero_attr() if bias else False)


def linear(in_features: int, out_features: int) -> Linear:
    """Linear layer with tflib's default (Glorot uniform) initialisation."""
    std = math.sqrt(2.0 / (in_features + out_features))
    return Linear(in_features, out_features, weight_attr=_uniform_attr(std), bias_attr=_zero_attr())


def mean_pool(x: paddle.Tensor) -> paddle.Tensor:
    """2x2 mean pool with stride 2 (the official sum of four strided slices / 4)."""
    return F.avg_pool2d(x, 2, 2)


def upsample(x: paddle.Tensor) -> paddle.Tensor:
    """Nearest-neighbour x2 upsampling (the official depth_to_space of four channel copies)."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


# A 3x3 'SAME' convolution next to a x2 resampling is one 4x4 stride-2 (transposed)
# convolution whose kernel is spread from the 3x3 one: K[u, v] = sum_kl S[u, k] w[k, l] S[v, l].
# It gives the same results with 2.25x fewer multiply-adds and no separate resampling op.
# Mean-pool after the conv: output pixel 2i + a (a = 0, 1) averages kernel taps k with
# u = a + k, so S[u, k] = 1 where 0 <= u - k <= 1 (and the result is divided by 4).
_POOL_SPREAD = ((1, 0, 0), (1, 1, 0), (0, 1, 1), (0, 0, 1))
# Nearest upsampling before the conv: output row 2i takes input rows i - 1 (tap 0) and i
# (taps 1, 2); row 2i + 1 takes i (taps 0, 1) and i + 1 (tap 2). As a transposed conv with
# padding 1 (output 2i + a gets input m through kernel row 2i + a + 1 - 2m): S below.
_UP_SPREAD = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))


def _spread_kernel(weight: paddle.Tensor, spread) -> paddle.Tensor:
    """``[O, C, 3, 3] -> [O, C, 4, 4]``: ``K[o, c] = S @ w[o, c] @ S^T`` (2-D matmuls only)."""
    o, c, k, _ = weight.shape
    s = paddle.to_tensor(spread, dtype=weight.dtype)  # [4, 3]
    t = paddle.matmul(weight.reshape([-1, k]), s, transpose_y=True)  # [O*C*3 (k), 4 (v)]
    t = t.reshape([o * c, k, 4]).transpose([0, 2, 1]).reshape([-1, k])  # [O*C*4 (v), 3 (k)]
    t = paddle.matmul(t, s, transpose_y=True)  # [O*C*4 (v), 4 (u)]
    return t.reshape([o, c, 4, 4]).transpose([0, 1, 3, 2])


def conv_mean_pool(conv: Conv2D, x: paddle.Tensor) -> paddle.Tensor:
    """``mean_pool(conv(x))`` for a 3x3 'SAME' ``conv`` (with or without bias), as one 4x4 stride-2 convolution."""
    return onednn.conv2d(x, _spread_kernel(conv.weight, _POOL_SPREAD) * 0.25, conv.bias, stride=2, padding=1)


def upsample_conv(conv: Conv2D, x: paddle.Tensor) -> paddle.Tensor:
    """``conv(upsample(x))`` for a 3x3 'SAME' ``conv`` (with or without bias), as one 4x4 stride-2 transposed
    convolution."""
    kernel = _spread_kernel(conv.weight, _UP_SPREAD).transpose([1, 0, 2, 3])  # [C_in, C_out, 4, 4]
    return onednn.conv2d_transpose(x, kernel, conv.bias, stride=2, padding=1)


class BatchNorm(nn.Layer):
    """Batch norm over N, H, W with batch statistics always; optionally class-conditional.

    Args:
        channels (int): Number of channels.
        num_classes (int): > 0 for conditional batch norm: scale and offset are rows
            ``[num_classes, channels]`` picked by the label (Dumoulin et al. 2016).
            Defaults to 0.
    """

    def __init__(self, channels: int, num_classes: int = 0):
        super().__init__()
        shape = [num_classes, channels] if num_classes else [channels]
        self.num_classes = num_classes
        self.weight = self.create_parameter(shape, default_initializer=nn.initializer.Constant(1.0))
        self.bias = self.create_parameter(shape, default_initializer=nn.initializer.Constant(0.0))

    def forward(self, x: paddle.Tensor, y: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        # Paddle's fused kernel with training=True normalises with the batch statistics; it is about
        # ten times faster on the CPU than the same reductions written out. The running statistics it
        # updates are throw-away tensors: nothing reads them, as in the official code.
        channels = x.shape[1]
        running_mean, running_var = paddle.zeros([channels]), paddle.ones([channels])
        if not self.num_classes:
            return F.batch_norm(x, running_mean, running_var, self.weight, self.bias, training=True, epsilon=_EPS)
        if y is None:
            raise ValueError("conditional batch norm needs the labels y")
        x = F.batch_norm(x, running_mean, running_var, None, None, training=True, epsilon=_EPS)
        scale, offset = F.embedding(y, self.weight), F.embedding(y, self.bias)
        return x * scale.unsqueeze([2, 3]) + offset.unsqueeze([2, 3])


class LayerNorm(nn.Layer):
    """Per-sample normalisation over C, H, W with per-channel scale and offset (tflib ``Layernorm``).

    Args:
        channels (int): Number of channels.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.weight = self.create_parameter([channels], default_initializer=nn.initializer.Constant(1.0))
        self.bias = self.create_parameter([channels], default_initializer=nn.initializer.Constant(0.0))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        mean = x.mean(axis=[1, 2, 3], keepdim=True)
        var = ((x - mean) ** 2).mean(axis=[1, 2, 3], keepdim=True)
        x = (x - mean) * paddle.rsqrt(var + _EPS)
        return x * self.weight.reshape([1, -1, 1, 1]) + self.bias.reshape([1, -1, 1, 1])


class UpBlock(nn.Layer):
    """Generator residual block that doubles H and W (official ``ResidualBlock(resample='up')``).

    Args:
        in_ch (int): Input channels.
        out_ch (int): Output channels.
        num_classes (int): > 0 for conditional batch norm. Defaults to 0.
        conv1_bias (bool): The first conv has a bias (the 64x64 model's has none). Defaults to True.
    """

    def __init__(self, in_ch: int, out_ch: int, num_classes: int = 0, conv1_bias: bool = True):
        super().__init__()
        self.shortcut = conv2d(in_ch, out_ch, 1, he_init=False)
        self.bn1 = BatchNorm(in_ch, num_classes)
        self.conv1 = conv2d(in_ch, out_ch, 3, bias=conv1_bias)
        self.bn2 = BatchNorm(out_ch, num_classes)
        self.conv2 = conv2d(out_ch, out_ch, 3)

    def forward(self, x: paddle.Tensor, y: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        # conv1x1 and nearest upsampling commute; convolving first is 4x cheaper.
        shortcut = upsample(self.shortcut(x))
        h = upsample_conv(self.conv1, F.relu(self.bn1(x, y)))
        h = self.conv2(F.relu(self.bn2(h, y)))
        return shortcut + h


class OptimizedDiscBlock(nn.Layer):
    """First critic block (official ``OptimizedResBlockDisc1``): no activation before the first conv.

    Args:
        in_ch (int): Input channels (3).
        out_ch (int): Output channels.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.shortcut = conv2d(in_ch, out_ch, 1, he_init=False)
        self.conv1 = conv2d(in_ch, out_ch, 3)
        self.conv2 = conv2d(out_ch, out_ch, 3)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.shortcut(mean_pool(x)) + conv_mean_pool(self.conv2, F.relu(self.conv1(x)))


class DiscBlock(nn.Layer):
    """Pre-activation critic residual block, optionally halving H and W (official ``ResidualBlock``).

    With ``down``: conv1 keeps the channels, conv2 is followed by mean-pool, and the
    shortcut is conv1x1 then mean-pool. Without ``down`` and equal channels the
    shortcut is the identity.

    Args:
        in_ch (int): Input channels.
        out_ch (int): Output channels.
        down (bool): Halve H and W. Defaults to False.
        norm (Optional[str]): None or "layer". Defaults to None.
        conv1_bias (bool): The first conv has a bias (the 64x64 model's has none). Defaults to True.
    """

    def __init__(self, in_ch: int, out_ch: int, down: bool = False, norm: Optional[str] = None,
                 conv1_bias: bool = True):
        super().__init__()
        self.down = down
        mid = in_ch if down else out_ch
        self.shortcut = conv2d(in_ch, out_ch, 1, he_init=False) if (down or in_ch != out_ch) else None
        self.norm1 = LayerNorm(in_ch) if norm == "layer" else None
        self.conv1 = conv2d(in_ch, mid, 3, bias=conv1_bias)
        self.norm2 = LayerNorm(mid) if norm == "layer" else None
        self.conv2 = conv2d(mid, out_ch, 3)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        # The official shortcut is conv1x1 then mean-pool; both are linear and commute,
        # and pooling first is 4x cheaper.
        shortcut = x if self.shortcut is None else self.shortcut(mean_pool(x) if self.down else x)
        h = self.conv1(F.relu(self.norm1(x) if self.norm1 is not None else x))
        h = F.relu(self.norm2(h) if self.norm2 is not None else h)
        return shortcut + (conv_mean_pool(self.conv2, h) if self.down else self.conv2(h))


class CifarResNetGenerator(base.Arch):
    """ResNet generator of the paper's CIFAR-10 model: ``z`` [N, 128] (and ``y``) -> ``img`` [N, 3, 32, 32].

    Args:
        dim (int): Channels of every block (official DIM_G). Defaults to 128.
        conditional (bool): Class-conditional batch norm in the residual blocks;
            the input then also needs labels ``y`` (int64 [N]). Defaults to False.
        noise_dim (int): Noise dimension. Defaults to 128.
        num_classes (int): Classes when conditional. Defaults to 10.
        channels (int): Channels of the images made: 3 (RGB, CIFAR-10) or 1 (grayscale). Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import CifarResNetGenerator
        >>> gen = CifarResNetGenerator(dim=8)
        >>> gen({"z": paddle.randn([4, 128])})["img"].shape
        [4, 3, 32, 32]
    """

    def __init__(self, dim: int = 128, conditional: bool = False, noise_dim: int = NOISE_DIM,
                 num_classes: int = NUM_CLASSES, channels: int = 3):
        super().__init__()
        self.input_keys = ("z", "y") if conditional else ("z",)
        self.output_keys = ("img",)
        self.dim = dim
        self.noise_dim = noise_dim
        self.conditional = conditional
        classes = num_classes if conditional else 0
        self.input = linear(noise_dim, 4 * 4 * dim)
        self.block1 = UpBlock(dim, dim, classes)
        self.block2 = UpBlock(dim, dim, classes)
        self.block3 = UpBlock(dim, dim, classes)
        self.bn_out = BatchNorm(dim)
        self.conv_out = conv2d(dim, channels, 3, he_init=False)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        y = x["y"] if self.conditional else None
        h = self.input(x["z"]).reshape([-1, self.dim, 4, 4])
        for block in (self.block1, self.block2, self.block3):
            h = block(h, y)
        h = self.conv_out(F.relu(self.bn_out(h)))
        return {self.output_keys[0]: paddle.tanh(h)}


class CifarResNetCritic(base.Arch):
    """ResNet critic of the paper's CIFAR-10 model: ``img`` [N, 3, 32, 32] -> ``score`` [N, 1] (and ``logits``).

    No layer mixes samples of a batch, so real and fake batches may share one
    forward pass (``batch_coupled = False``).

    Args:
        dim (int): Channels of every block (official DIM_D). Defaults to 128.
        acgan (bool): Add the AC-GAN class head ``logits`` [N, num_classes]. Defaults to False.
        norm (Optional[str]): None (official) or "layer" (per-sample layer norm). Defaults to None.
        num_classes (int): Classes of the AC-GAN head. Defaults to 10.
        channels (int): Channels of the images scored: 3 (RGB) or 1 (grayscale). Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import CifarResNetCritic
        >>> critic = CifarResNetCritic(dim=8, acgan=True)
        >>> {k: v.shape for k, v in critic({"img": paddle.randn([4, 3, 32, 32])}).items()}
        {'score': [4, 1], 'logits': [4, 10]}
    """

    batch_coupled = False

    def __init__(self, dim: int = 128, acgan: bool = False, norm: Optional[str] = None,
                 num_classes: int = NUM_CLASSES, channels: int = 3):
        super().__init__()
        if norm not in (None, "layer"):
            raise UserError(f"critic norm {norm!r} is not supported; use None (official) or 'layer'.")
        self.input_keys = ("img",)
        self.output_keys = ("score", "logits") if acgan else ("score",)
        self.dim = dim
        self.block1 = OptimizedDiscBlock(channels, dim)
        self.block2 = DiscBlock(dim, dim, down=True, norm=norm)
        self.block3 = DiscBlock(dim, dim, norm=norm)
        self.block4 = DiscBlock(dim, dim, norm=norm)
        self.output = linear(dim, 1)
        self.acgan = linear(dim, num_classes) if acgan else None

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        h = self.block4(self.block3(self.block2(self.block1(x[self.input_keys[0]]))))
        h = F.relu(h).mean(axis=[2, 3])
        out = {"score": self.output(h)}
        if self.acgan is not None:
            out["logits"] = self.acgan(h)
        return out


def count_parameters(layer: nn.Layer) -> int:
    """Number of trainable scalars of a layer."""
    return int(sum(math.prod(p.shape) for p in layer.parameters() if not p.stop_gradient))


def describe_weights(state: Dict[str, paddle.Tensor], which: str) -> Optional[Tuple[int, bool]]:
    """(DIM, conditional) of a CIFAR-10 generator or critic state dict, or None if it is not one.

    Used to say which MODEL settings a weights file needs, instead of a list of
    mismatching keys.

    Args:
        state (Dict[str, paddle.Tensor]): Weights (``state_dict()``).
        which (str): "generator" or "critic".

    Returns:
        Optional[Tuple[int, bool]]: Channel width and whether the file is conditional (AC-GAN).
    """
    try:
        if which == "generator":
            return int(state["input.weight"].shape[1]) // 16, len(state["block1.bn1.weight"].shape) == 2
        return int(state["block1.conv1.weight"].shape[0]), "acgan.weight" in state
    except (KeyError, TypeError, AttributeError, IndexError):
        return None

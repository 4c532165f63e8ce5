"""The paper's 64x64 ResNet generator and critic (official ``gan_64x64.py``, ``GoodGenerator`` / ``GoodDiscriminator``).

Generator (DIM = 64): Linear(128 -> 4*4*8*DIM) -> [8*DIM, 4, 4] -> four
up-sampling residual blocks 8D -> 8D -> 4D -> 2D -> D (4 -> 8 -> 16 -> 32 -> 64)
-> BN -> ReLU -> conv3x3 to 3 channels -> tanh.

Critic (DIM = 64): conv3x3 3 -> D at 64x64 -> four down-sampling residual
blocks D -> 2D -> 4D -> 8D -> 8D (64 -> 32 -> 16 -> 8 -> 4) -> flatten
[4*4*8*DIM] -> Linear to 1 ("score") and, for AC-GAN, Linear to the classes
("logits"). There is no ReLU between the last block and the flatten, as in the
official code.

The residual blocks are pre-activation (official ``ResidualBlock``):

- up: ``N1 -> ReLU -> upsample + conv3x3 (no bias) -> N2 -> ReLU -> conv3x3``
  plus the shortcut ``upsample + conv1x1``;
- down: ``N1 -> ReLU -> conv3x3 in->in (no bias) -> N2 -> ReLU -> conv3x3 +
  mean-pool`` plus the shortcut ``mean-pool + conv1x1``.

The official code passes ``biases=False`` to every block's first conv (a
normalisation follows it, whose offset plays the bias's part). "upsample" is
nearest neighbour (the official ``depth_to_space`` of four channel copies);
"mean-pool" is the 2x2 mean. A 3x3 conv next to a resampling runs as one 4x4
stride-2 (transposed) convolution (``cifar10.upsample_conv`` /
``cifar10.conv_mean_pool``), with the same results.

Normalisation, as the official WGAN-GP mode: the generator's norms are batch
norm over N, H, W with the statistics of the current batch always (training and
sampling, as ``cifar10.BatchNorm``; generate in batches, never one image at a
time); the critic's are per-sample layer norm over C, H, W with per-channel
scale and offset (``cifar10.LayerNorm``), or none with ``norm=None``. The
AC-GAN variant (this package's extension, as for the 32x32 pair) makes the
generator blocks' batch norms class-conditional (the final one stays
unconditional) and adds a class head to the critic.

Initialisation is tflib's (see ``cifar10``): hidden convs He, shortcuts Glorot,
the critic's input conv Glorot (``he_init=False``), the generator's output conv
He (the official ``Generator.Output`` keeps tflib's default ``he_init=True``,
unlike the CIFAR-10 model), Linear layers Glorot, biases 0, norm scales 1 and
offsets 0.
"""

from __future__ import annotations

from typing import Dict, Optional

import paddle
import paddle.nn.functional as F
from ppsci.arch import base

from ppsci_ext.arch.cifar10 import NOISE_DIM, NUM_CLASSES, BatchNorm, DiscBlock, UpBlock, conv2d, linear
from ppsci_ext.errors import UserError

__all__ = ["ResNet64Critic", "ResNet64Generator", "describe_resnet64"]


def _up(in_ch: int, out_ch: int, num_classes: int) -> UpBlock:
    """The official up block: the 32x32 one with a bias-free first conv."""
    return UpBlock(in_ch, out_ch, num_classes, conv1_bias=False)


def _down(in_ch: int, out_ch: int, norm: Optional[str]) -> DiscBlock:
    """The official down block (pool-then-conv1x1 shortcut, conv in->in, conv+mean-pool), first conv without bias."""
    return DiscBlock(in_ch, out_ch, down=True, norm=norm, conv1_bias=False)

_MULTIPLIERS_G = (8, 8, 4, 2, 1)  # block channels of the generator, in units of DIM
_MULTIPLIERS_D = (1, 2, 4, 8, 8)  # and of the critic


class ResNet64Generator(base.Arch):
    """ResNet generator of the paper's 64x64 model: ``z`` [N, 128] (and ``y``) -> ``img`` [N, C, 64, 64].

    Args:
        dim (int): Width unit (official DIM); the blocks have 8, 8, 4, 2, 1 times as many
            channels. Defaults to 64.
        conditional (bool): Class-conditional batch norm in the residual blocks;
            the input then also needs labels ``y`` (int64 [N]). Defaults to False.
        noise_dim (int): Noise dimension. Defaults to 128.
        num_classes (int): Classes when conditional. Defaults to 10.
        channels (int): Channels of the images made: 3 (RGB) or 1 (grayscale). Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ResNet64Generator
        >>> gen = ResNet64Generator(dim=4)
        >>> list(gen({"z": paddle.randn([4, 128])})["img"].shape)
        [4, 3, 64, 64]
    """

    def __init__(self, dim: int = 64, conditional: bool = False, noise_dim: int = NOISE_DIM,
                 num_classes: int = NUM_CLASSES, channels: int = 3):
        super().__init__()
        if conditional and num_classes < 1:
            raise UserError(f"a conditional generator needs num_classes >= 1, not {num_classes}.")
        self.input_keys = ("z", "y") if conditional else ("z",)
        self.output_keys = ("img",)
        self.dim = dim
        self.noise_dim = noise_dim
        self.conditional = conditional
        classes = num_classes if conditional else 0
        widths = [m * dim for m in _MULTIPLIERS_G]
        self.input = linear(noise_dim, 4 * 4 * widths[0])
        self.block1 = _up(widths[0], widths[1], classes)
        self.block2 = _up(widths[1], widths[2], classes)
        self.block3 = _up(widths[2], widths[3], classes)
        self.block4 = _up(widths[3], widths[4], classes)
        self.bn_out = BatchNorm(dim)
        self.conv_out = conv2d(dim, channels, 3)  # official Generator.Output: tflib's default He init

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        y = x["y"] if self.conditional else None
        h = self.input(x["z"]).reshape([-1, 8 * self.dim, 4, 4])
        for block in (self.block1, self.block2, self.block3, self.block4):
            h = block(h, y)
        h = self.conv_out(F.relu(self.bn_out(h)))
        return {self.output_keys[0]: paddle.tanh(h)}


class ResNet64Critic(base.Arch):
    """ResNet critic of the paper's 64x64 model: ``img`` [N, C, 64, 64] -> ``score`` [N, 1] (and ``logits``).

    No layer mixes samples of a batch (layer norm is per sample), so real and
    fake batches may share one forward pass (``batch_coupled = False``).

    Args:
        dim (int): Width unit (official DIM); the input conv has DIM channels and the
            blocks 2, 4, 8, 8 times as many. Defaults to 64.
        acgan (bool): Add the AC-GAN class head ``logits`` [N, num_classes]. Defaults to False.
        norm (Optional[str]): "layer" (official WGAN-GP: per-sample layer norm) or None. Defaults to "layer".
        num_classes (int): Classes of the AC-GAN head. Defaults to 10.
        channels (int): Channels of the images scored: 3 (RGB) or 1 (grayscale). Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ResNet64Critic
        >>> critic = ResNet64Critic(dim=4, acgan=True)
        >>> {k: list(v.shape) for k, v in critic({"img": paddle.randn([4, 3, 64, 64])}).items()}
        {'score': [4, 1], 'logits': [4, 10]}
    """

    batch_coupled = False

    def __init__(self, dim: int = 64, acgan: bool = False, norm: Optional[str] = "layer",
                 num_classes: int = NUM_CLASSES, channels: int = 3):
        super().__init__()
        if norm not in (None, "layer"):
            raise UserError(f"critic norm {norm!r} is not supported; use 'layer' (official) or None.")
        if acgan and num_classes < 1:
            raise UserError(f"an AC-GAN critic needs num_classes >= 1, not {num_classes}.")
        self.input_keys = ("img",)
        self.output_keys = ("score", "logits") if acgan else ("score",)
        self.dim = dim
        widths = [m * dim for m in _MULTIPLIERS_D]
        self.input = conv2d(channels, dim, 3, he_init=False)
        self.block1 = _down(widths[0], widths[1], norm)
        self.block2 = _down(widths[1], widths[2], norm)
        self.block3 = _down(widths[2], widths[3], norm)
        self.block4 = _down(widths[3], widths[4], norm)
        self.output = linear(4 * 4 * widths[4], 1)
        self.acgan = linear(4 * 4 * widths[4], num_classes) if acgan else None

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        h = self.input(x[self.input_keys[0]])
        h = self.block4(self.block3(self.block2(self.block1(h))))
        h = h.reshape([-1, 4 * 4 * 8 * self.dim])  # C, H, W order, as the official NCHW reshape
        out = {"score": self.output(h)}
        if self.acgan is not None:
            out["logits"] = self.acgan(h)
        return out


def _shape(state: Dict[str, paddle.Tensor], key: str) -> tuple:
    return tuple(int(s) for s in state[key].shape)


def describe_resnet64(state: Dict[str, paddle.Tensor], which: str) -> Optional[dict]:
    """Settings of a 64x64 ResNet generator or critic state dict, or None if it is not one.

    Used to say which model settings a weights file needs, instead of a list of
    mismatching keys. The shapes are checked against each other, so a 32x32
    CIFAR-10 file (or anything else) gives None.

    Args:
        state (Dict[str, paddle.Tensor]): Weights (``state_dict()``; numpy arrays work too).
        which (str): "generator" or "critic".

    Returns:
        Optional[dict]: ``{"dim", "channels", "conditional", "num_classes"}``; for the
        critic "conditional" means the AC-GAN head. ``num_classes`` is 0 when not
        conditional. The critic's ``norm`` is not reported.

    Examples:
        >>> from ppsci_ext.arch import ResNet64Generator
        >>> from ppsci_ext.arch.resnet64 import describe_resnet64
        >>> describe_resnet64(ResNet64Generator(dim=4, channels=1).state_dict(), "generator")
        {'dim': 4, 'channels': 1, 'conditional': False, 'num_classes': 0}
    """
    if which not in ("generator", "critic"):
        raise ValueError(f"which must be 'generator' or 'critic', not {which!r}")
    try:
        if which == "generator":
            dim, channels = _shape(state, "conv_out.weight")[1], _shape(state, "conv_out.weight")[0]
            widths = [m * dim for m in _MULTIPLIERS_G]
            expected = {"input.weight": (_shape(state, "input.weight")[0], 16 * widths[0]),
                        "conv_out.weight": (channels, dim, 3, 3), "bn_out.weight": (dim,)}
            for i in range(4):
                expected[f"block{i + 1}.conv1.weight"] = (widths[i + 1], widths[i], 3, 3)
                expected[f"block{i + 1}.conv2.weight"] = (widths[i + 1], widths[i + 1], 3, 3)
            bn = _shape(state, "block1.bn1.weight")
            conditional = len(bn) == 2
            classes = bn[0] if conditional else 0
            for i in range(4):
                for name, width in (("bn1", widths[i]), ("bn2", widths[i + 1])):
                    expected[f"block{i + 1}.{name}.weight"] = (classes, width) if conditional else (width,)
            extra_bias = "block1.conv1.bias" in state  # 32x32-style convs, not this model
        else:
            dim, channels = _shape(state, "input.weight")[0], _shape(state, "input.weight")[1]
            widths = [m * dim for m in _MULTIPLIERS_D]
            expected = {"input.weight": (dim, channels, 3, 3), "output.weight": (16 * widths[4], 1)}
            for i in range(4):
                expected[f"block{i + 1}.conv1.weight"] = (widths[i], widths[i], 3, 3)
                expected[f"block{i + 1}.conv2.weight"] = (widths[i + 1], widths[i], 3, 3)
            conditional = "acgan.weight" in state
            classes = _shape(state, "acgan.weight")[1] if conditional else 0
            if conditional:
                expected["acgan.weight"] = (16 * widths[4], classes)
            extra_bias = "block1.conv1.bias" in state
        if extra_bias or dim < 1 or classes < (1 if conditional else 0):
            return None
        if any(_shape(state, key) != shape for key, shape in expected.items()):
            return None
        return {"dim": int(dim), "channels": int(channels), "conditional": bool(conditional),
                "num_classes": int(classes)}
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        return None

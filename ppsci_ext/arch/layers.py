"""Linear and convolution layers whose bias is added by a matrix product (faster on Paddle's CPU).

Same parameters, state-dict keys and results as ``paddle.nn.Linear``,
``Conv2D`` and ``Conv2DTranspose``; only how the bias is added differs. Paddle
adds a bias by broadcasting it over the batch (and over H, W for
convolutions), and the gradient of that broadcast is a reduction that Paddle's
CPU kernels run on one thread: for the toy critic (batch 256, width 512) it
took about 0.26 ms per layer against 0.02 ms for the same sum as a matrix
product, and it was about 15% of a WGAN-GP iteration for both the toy and the
MNIST model. Here the bias is expanded to the output's shape by a product with
a column of ones, ``ones[N, 1] @ bias[1, ...]``, and added elementwise, so
both its forward and its gradient are BLAS calls (and the gradient-penalty
double backward stays differentiable: it only involves matmul and add).
``benchmarks/layer_bias.py`` measures the difference.

The convolutions themselves run on the oneDNN library that ships with Paddle
(``ppsci_ext.arch.onednn``) where it applies, and on Paddle's kernels otherwise.
"""

from __future__ import annotations

import math

import paddle
from paddle import nn

from ppsci_ext.arch import onednn


def add_bias(y: paddle.Tensor, bias: paddle.Tensor) -> paddle.Tensor:
    """``y + bias`` broadcast over the batch (dim 0) and the trailing spatial dims of ``y``.

    Args:
        y (paddle.Tensor): ``[N, C]`` or ``[N, C, *spatial]``.
        bias (paddle.Tensor): ``[C]``.

    Returns:
        paddle.Tensor: ``y`` plus the bias, same shape.
    """
    if bias is None:
        return y
    n, c = y.shape[0], y.shape[1]
    spatial = math.prod(y.shape[2:])
    row = bias.unsqueeze(0)  # [1, C]
    if spatial > 1:  # [1, C * S]: each channel's bias repeated over its S pixels
        row = paddle.matmul(bias.unsqueeze(1), paddle.ones([1, spatial], y.dtype)).reshape([1, c * spatial])
    return y + paddle.matmul(paddle.ones([n, 1], y.dtype), row).reshape(y.shape)


class Linear(nn.Linear):
    """``paddle.nn.Linear`` with the bias added by ``add_bias`` (same parameters and results).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.layers import Linear
        >>> Linear(3, 2)(paddle.ones([4, 3])).shape
        [4, 2]
    """

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if x.ndim != 2:
            return super().forward(x)
        return add_bias(paddle.matmul(x, self.weight), self.bias)


def conv2d(x: paddle.Tensor, weight: paddle.Tensor, bias=None, stride=1, padding=0, dilation=1,
           groups=1) -> paddle.Tensor:
    """Functional form of ``Conv2D``: ``onednn.conv2d`` where it applies, else Paddle's with ``add_bias``."""
    if onednn.applies(x, weight, padding, dilation, groups):
        return onednn.conv2d(x, weight, bias, stride=stride, padding=padding)
    y = nn.functional.conv2d(x, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return add_bias(y, bias)


def conv2d_transpose(x: paddle.Tensor, weight: paddle.Tensor, bias=None, stride=1, padding=0, output_padding=0,
                     dilation=1, groups=1) -> paddle.Tensor:
    """Functional form of ``Conv2DTranspose`` (same dispatch as ``conv2d``)."""
    if onednn.applies(x, weight, padding, dilation, groups):
        return onednn.conv2d_transpose(x, weight, bias, stride=stride, padding=padding,
                                       output_padding=output_padding)
    y = nn.functional.conv2d_transpose(x, weight, None, stride=stride, padding=padding,
                                       output_padding=output_padding, dilation=dilation, groups=groups)
    return add_bias(y, bias)


class Conv2D(nn.Conv2D):
    """``paddle.nn.Conv2D`` (NCHW) computed by ``conv2d`` above."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self._data_format != "NCHW" or self._padding_mode != "zeros":
            return super().forward(x)
        return conv2d(x, self.weight, self.bias, self._stride, self._padding, self._dilation, self._groups)


class Conv2DTranspose(nn.Conv2DTranspose):
    """``paddle.nn.Conv2DTranspose`` (NCHW) computed by ``conv2d_transpose`` above."""

    def forward(self, x: paddle.Tensor, output_size=None) -> paddle.Tensor:
        if self._data_format != "NCHW" or output_size is not None:
            return super().forward(x, output_size)
        return conv2d_transpose(x, self.weight, self.bias, self._stride, self._padding, self.output_padding,
                                self._dilation, self._groups)

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
(``ppsci_ext.ops.onednn``) where it applies, and on Paddle's kernels otherwise.
"""

from __future__ import annotations

import paddle
from paddle import nn

from ppsci_ext.ops import onednn
from ppsci_ext.ops.bias import add_bias

__all__ = ["Conv2D", "Conv2DTranspose", "Linear", "add_bias"]


class Linear(nn.Linear):
    """``paddle.nn.Linear`` with the bias added by ``add_bias`` (same parameters and results).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.ops.layers import Linear
        >>> Linear(3, 2)(paddle.ones([4, 3])).shape
        [4, 2]
    """

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if x.ndim != 2:
            return super().forward(x)
        return add_bias(paddle.matmul(x, self.weight), self.bias)


class Conv2D(nn.Conv2D):
    """``paddle.nn.Conv2D`` (NCHW) computed by ``onednn.conv2d`` (which falls back to Paddle's with ``add_bias``)."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self._data_format != "NCHW" or self._padding_mode != "zeros":
            return super().forward(x)
        return onednn.conv2d(x, self.weight, self.bias, self._stride, self._padding, self._dilation, self._groups)


class Conv2DTranspose(nn.Conv2DTranspose):
    """``paddle.nn.Conv2DTranspose`` (NCHW) computed by ``onednn.conv2d_transpose`` (same fallback)."""

    def forward(self, x: paddle.Tensor, output_size=None) -> paddle.Tensor:
        if self._data_format != "NCHW" or output_size is not None:
            return super().forward(x, output_size)
        return onednn.conv2d_transpose(x, self.weight, self.bias, self._stride, self._padding, self.output_padding,
                                       self._dilation, self._groups)

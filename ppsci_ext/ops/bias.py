"""Bias added by a matrix product (faster gradients on Paddle's CPU; see ``layers``).

A leaf module so that both ``layers`` and ``onednn`` can use it.
"""

from __future__ import annotations

import math
from typing import Sequence

import paddle


def broadcast_bias(bias: paddle.Tensor, shape: Sequence[int]) -> paddle.Tensor:
    """``bias`` [C] expanded to ``shape`` [N, C, *spatial] by products with ones (forward and gradient are BLAS)."""
    n, c = shape[0], shape[1]
    spatial = math.prod(shape[2:])
    row = bias.unsqueeze(0)  # [1, C]
    if spatial > 1:  # [1, C * S]: each channel's bias repeated over its S pixels
        row = paddle.matmul(bias.unsqueeze(1), paddle.ones([1, spatial], bias.dtype)).reshape([1, c * spatial])
    return paddle.matmul(paddle.ones([n, 1], bias.dtype), row).reshape(list(shape))


def add_bias(y: paddle.Tensor, bias: paddle.Tensor) -> paddle.Tensor:
    """``y + bias`` broadcast over the batch (dim 0) and the trailing spatial dims of ``y``.

    Args:
        y (paddle.Tensor): ``[N, C]`` or ``[N, C, *spatial]``.
        bias (paddle.Tensor): ``[C]``, or None (``y`` is returned).

    Returns:
        paddle.Tensor: ``y`` plus the bias, same shape.
    """
    if bias is None:
        return y
    return y + broadcast_bias(bias, y.shape)

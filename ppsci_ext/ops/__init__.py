"""CPU kernels and the layers built on them: oneDNN convolutions, bias added by a matmul."""

from ppsci_ext.ops.layers import Conv2D, Conv2DTranspose, Linear

__all__ = ["Conv2D", "Conv2DTranspose", "Linear"]

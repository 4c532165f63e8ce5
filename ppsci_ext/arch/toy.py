"""Generator and critic of the paper's 2-D toy experiment: 4-layer ReLU MLPs."""

from __future__ import annotations

from typing import Dict, Tuple

import paddle
from paddle import nn
from ppsci.arch import base

from ppsci_ext.ops.layers import Linear


def _mlp(in_features: int, width: int, out_features: int, hidden_layers: int) -> nn.Sequential:
    """ReLU MLP with He-initialised hidden layers and a Glorot output layer."""
    he = paddle.ParamAttr(initializer=nn.initializer.KaimingUniform(nonlinearity="relu"))
    glorot = paddle.ParamAttr(initializer=nn.initializer.XavierUniform())
    zero = paddle.ParamAttr(initializer=nn.initializer.Constant(0.0))
    layers = []
    features = in_features
    for _ in range(hidden_layers):
        layers += [Linear(features, width, weight_attr=he, bias_attr=zero), nn.ReLU()]
        features = width
    layers.append(Linear(features, out_features, weight_attr=glorot, bias_attr=zero))
    return nn.Sequential(*layers)


class ToyGenerator(base.Arch):
    """Generator of the toy experiment: noise ``z`` [N, noise_dim] -> points ``x`` [N, 2].

    Args:
        input_keys (Tuple[str, ...]): Name of the noise input. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the generated points. Defaults to ("x",).
        noise_dim (int): Noise dimension. Defaults to 2, as in the paper.
        width (int): Hidden width. Defaults to 512.
        hidden_layers (int): Number of hidden ReLU layers. Defaults to 3 (4 Linear layers).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyGenerator
        >>> gen = ToyGenerator()
        >>> gen({"z": paddle.randn([8, 2])})["x"].shape
        [8, 2]
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("z",),
        output_keys: Tuple[str, ...] = ("x",),
        noise_dim: int = 2,
        width: int = 512,
        hidden_layers: int = 3,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.net = _mlp(noise_dim, width, 2, hidden_layers)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        z = self.concat_to_tensor(x, self.input_keys, axis=-1)
        return {self.output_keys[0]: self.net(z)}


class ToyCritic(base.Arch):
    """Critic of the toy experiment: points ``x`` [N, 2] -> score [N, 1].

    It has no batch-coupled layer, so real, fake and interpolated points can
    share one forward pass (``batch_coupled = False``).

    Args:
        input_keys (Tuple[str, ...]): Name of the points. Defaults to ("x",).
        output_keys (Tuple[str, ...]): Name of the score. Defaults to ("score",).
        width (int): Hidden width. Defaults to 512.
        hidden_layers (int): Number of hidden ReLU layers. Defaults to 3.
    """

    batch_coupled = False

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("x",),
        output_keys: Tuple[str, ...] = ("score",),
        width: int = 512,
        hidden_layers: int = 3,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.net = _mlp(2, width, 1, hidden_layers)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        points = self.concat_to_tensor(x, self.input_keys, axis=-1)
        return {self.output_keys[0]: self.net(points)}

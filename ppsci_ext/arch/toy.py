"""Generator and critic of the paper's 2-D toy experiment: 4-layer ReLU MLPs (any data dimension D >= 1)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
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
    """Generator of the toy experiment: noise ``z`` [N, noise_dim] -> points ``x`` [N, out_dim].

    Trained on a data file (``DATA.mode=file``), the generator works in the
    standardised space of that data and carries the per-dimension mean and
    standard deviation as non-trainable buffers ``data_mean`` and ``data_std``
    (saved in its state dict, so in every checkpoint and ``*_gen.pdparams``);
    ``to_data`` maps its output back to the data's units. Without them (the
    generated 2-D distributions, the shipped weights) ``to_data`` is the identity.

    Args:
        input_keys (Tuple[str, ...]): Name of the noise input. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the generated points. Defaults to ("x",).
        noise_dim (int): Noise dimension. Defaults to 2, as in the paper.
        width (int): Hidden width. Defaults to 512.
        hidden_layers (int): Number of hidden ReLU layers. Defaults to 3 (4 Linear layers).
        out_dim (int): Dimension D of the points. Defaults to 2.
        data_mean (Optional[np.ndarray]): ``[out_dim]`` mean of the data; with ``data_std``
            registers the standardisation buffers. Defaults to None (no standardisation).
        data_std (Optional[np.ndarray]): ``[out_dim]`` standard deviation of the data (all > 0).

    Examples:
        >>> import numpy as np
        >>> import paddle
        >>> from ppsci_ext.arch import ToyGenerator
        >>> gen = ToyGenerator()
        >>> gen({"z": paddle.randn([8, 2])})["x"].shape
        [8, 2]
        >>> gen = ToyGenerator(width=8, out_dim=3, data_mean=np.full(3, 100.0), data_std=np.full(3, 5.0))
        >>> gen.to_data(np.zeros((1, 3), np.float32))
        array([[100., 100., 100.]], dtype=float32)
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("z",),
        output_keys: Tuple[str, ...] = ("x",),
        noise_dim: int = 2,
        width: int = 512,
        hidden_layers: int = 3,
        out_dim: int = 2,
        data_mean: Optional[np.ndarray] = None,
        data_std: Optional[np.ndarray] = None,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.out_dim = out_dim
        self.net = _mlp(noise_dim, width, out_dim, hidden_layers)
        if (data_mean is None) != (data_std is None):
            raise ValueError("give both data_mean and data_std, or neither")
        if data_mean is not None:
            mean = np.asarray(data_mean, dtype=np.float32).reshape(-1)
            std = np.asarray(data_std, dtype=np.float32).reshape(-1)
            if mean.shape != (out_dim,) or std.shape != (out_dim,):
                raise ValueError(f"data_mean and data_std must have {out_dim} values, got {mean.size} and {std.size}")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
                raise ValueError("data_mean must be finite and data_std finite and > 0")
            self.register_buffer("data_mean", paddle.to_tensor(mean), persistable=True)
            self.register_buffer("data_std", paddle.to_tensor(std), persistable=True)

    @property
    def standardized(self) -> bool:
        """Whether the generator works in the standardised space of a data file (has ``data_mean`` / ``data_std``)."""
        return "data_mean" in self._buffers

    def statistics(self) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """(mean, std) of the data as float32 arrays, or None without standardisation."""
        if not self.standardized:
            return None
        return self._buffers["data_mean"].numpy(), self._buffers["data_std"].numpy()

    def to_data(self, x) -> np.ndarray:
        """Generated points (numpy ``[N, out_dim]``, the generator's space) in the data's units: ``x * std + mean``."""
        from ppsci_ext.data.points import unstandardize

        stats = self.statistics()
        x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float32)
        return x if stats is None else unstandardize(x, *stats)

    def from_data(self, x) -> np.ndarray:
        """Points in the data's units (numpy) in the generator's (and critic's) space: ``(x - mean) / std``."""
        from ppsci_ext.data.points import standardize

        stats = self.statistics()
        x = np.asarray(x, dtype=np.float32)
        return x if stats is None else standardize(x, *stats)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        z = self.concat_to_tensor(x, self.input_keys, axis=-1)
        return {self.output_keys[0]: self.net(z)}


class ToyCritic(base.Arch):
    """Critic of the toy experiment: points ``x`` [N, in_dim] -> score [N, 1].

    It has no batch-coupled layer, so real, fake and interpolated points can
    share one forward pass (``batch_coupled = False``).

    Args:
        input_keys (Tuple[str, ...]): Name of the points. Defaults to ("x",).
        output_keys (Tuple[str, ...]): Name of the score. Defaults to ("score",).
        width (int): Hidden width. Defaults to 512.
        hidden_layers (int): Number of hidden ReLU layers. Defaults to 3.
        in_dim (int): Dimension D of the points. Defaults to 2.
    """

    batch_coupled = False

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("x",),
        output_keys: Tuple[str, ...] = ("score",),
        width: int = 512,
        hidden_layers: int = 3,
        in_dim: int = 2,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.in_dim = in_dim
        self.net = _mlp(in_dim, width, 1, hidden_layers)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        points = self.concat_to_tensor(x, self.input_keys, axis=-1)
        return {self.output_keys[0]: self.net(points)}


def describe_toy_generator(state: Dict[str, Any]) -> Dict[str, Any]:
    """Settings read off a toy generator's weights ({} when it is not one).

    Returns:
        Dict[str, Any]: ``noise_dim``, ``hidden_layers``, ``width`` (when there is a hidden
        layer), ``data_dim`` (D) and ``standardized`` (whether it carries ``data_mean`` / ``data_std``).
    """
    weights = [v for k, v in state.items() if k.endswith(".weight") and hasattr(v, "shape")]
    if not weights or len(weights[0].shape) != 2:
        return {}
    found = {"noise_dim": int(weights[0].shape[0]), "hidden_layers": len(weights) - 1}
    if len(weights) > 1:  # without hidden layers there is no width to read
        found["width"] = int(weights[0].shape[1])
    if len(weights[-1].shape) == 2:
        found["data_dim"] = int(weights[-1].shape[1])
    found["standardized"] = "data_mean" in state and "data_std" in state
    return found

"""The paper's MNIST generator and critic, and a small classifier for the MNIST score.

Generator and critic follow ``gan_mnist.py`` of the official WGAN-GP code
(igul222/improved_wgan_training) in its ``wgan-gp`` mode, where the batch
norm layers of the generator and critic are switched off (they are only used in
its ``wgan`` mode):

- generator: noise [N, 128] -> Linear(128, 4*4*4*dim) -> ReLU -> [4*dim, 4, 4]
  -> Deconv 5x5/2 (2*dim, 8x8) -> ReLU -> crop to 7x7 -> Deconv 5x5/2 (dim, 14x14)
  -> ReLU -> Deconv 5x5/2 (1, 28x28) -> sigmoid;
- critic: [N, 1, 28, 28] -> Conv 5x5/2 (dim) -> LeakyReLU(0.2) -> Conv 5x5/2 (2*dim)
  -> LeakyReLU -> Conv 5x5/2 (4*dim, 4x4) -> LeakyReLU -> Linear(4*4*4*dim, 1).

TensorFlow's "SAME" padding is emulated with symmetric padding 2 (and
``output_padding=1`` for the transposed convolutions), which gives the same
output sizes; TF pads stride-2 convolutions of even inputs asymmetrically, so
the pixel alignment differs by one pixel, which does not matter for training.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import paddle
from paddle import nn
from ppsci.arch import base

from ppsci_ext.errors import UserError
from ppsci_ext.ops.layers import Conv2D, Conv2DTranspose, Linear


def _deconv(in_channels: int, out_channels: int) -> Conv2DTranspose:
    """5x5 stride-2 transposed convolution that doubles the spatial size."""
    return Conv2DTranspose(in_channels, out_channels, 5, stride=2, padding=2, output_padding=1)


class MNISTGenerator(base.Arch):
    """Generator of the paper's MNIST experiment: noise ``z`` [N, 128] -> digits ``img`` [N, 1, 28, 28] in (0, 1).

    Args:
        input_keys (Tuple[str, ...]): Name of the noise input. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the images. Defaults to ("img",).
        noise_dim (int): Noise dimension. Defaults to 128, as in the paper.
        dim (int): Base width (channels of the last hidden layer). Defaults to 64, as in the paper.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import MNISTGenerator
        >>> MNISTGenerator(dim=8)({"z": paddle.randn([2, 128])})["img"].shape
        [2, 1, 28, 28]
    """

    def __init__(self, input_keys: Tuple[str, ...] = ("z",), output_keys: Tuple[str, ...] = ("img",),
                 noise_dim: int = 128, dim: int = 64):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.dim = dim
        self.fc = Linear(noise_dim, 4 * 4 * 4 * dim)
        self.deconv1 = _deconv(4 * dim, 2 * dim)
        self.deconv2 = _deconv(2 * dim, dim)
        self.deconv3 = _deconv(dim, 1)
        self.relu = nn.ReLU()

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        z = self.concat_to_tensor(x, self.input_keys, axis=-1)
        h = self.relu(self.fc(z)).reshape([-1, 4 * self.dim, 4, 4])
        h = self.relu(self.deconv1(h))[:, :, :7, :7]  # 8x8 -> 7x7 so two more doublings give 28x28
        h = self.relu(self.deconv2(h))
        return {self.output_keys[0]: paddle.nn.functional.sigmoid(self.deconv3(h))}


class MNISTCritic(base.Arch):
    """Critic of the paper's MNIST experiment: ``img`` [N, 1, 28, 28] -> ``score`` [N, 1]. No batch norm.

    Without batch-coupled layers, real and fake batches can share one forward
    pass (``batch_coupled = False``).

    Args:
        input_keys (Tuple[str, ...]): Name of the images. Defaults to ("img",).
        output_keys (Tuple[str, ...]): Name of the score. Defaults to ("score",).
        dim (int): Base width (channels of the first convolution). Defaults to 64, as in the paper.
    """

    batch_coupled = False

    def __init__(self, input_keys: Tuple[str, ...] = ("img",), output_keys: Tuple[str, ...] = ("score",),
                 dim: int = 64):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.dim = dim
        act = nn.LeakyReLU(0.2)
        self.net = nn.Sequential(
            Conv2D(1, dim, 5, stride=2, padding=2), act,  # 28 -> 14
            Conv2D(dim, 2 * dim, 5, stride=2, padding=2), act,  # 14 -> 7
            Conv2D(2 * dim, 4 * dim, 5, stride=2, padding=2), act,  # 7 -> 4
        )
        self.fc = Linear(4 * 4 * 4 * dim, 1)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        # reshape, not nn.Flatten: Paddle has no second derivative of flatten, which the penalty needs
        h = self.net(x[self.input_keys[0]]).reshape([-1, 4 * 4 * 4 * self.dim])
        return {self.output_keys[0]: self.fc(h)}


class _DigitClassifier(base.Arch):
    """What the two scoring classifiers share: ``body`` maps images to the penultimate features, then
    dropout -> Linear(feature_dim, 10) gives the logits. The body is built first (its weights are drawn
    before the head's), as the shipped classifiers were."""

    def __init__(self, input_keys: Tuple[str, ...], output_keys: Tuple[str, ...], body: nn.Layer, feature_dim: int,
                 dropout: float):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.body = body
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, 10)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        features = self.body(x[self.input_keys[0]])
        logits = self.head(self.dropout(features))
        return {self.output_keys[0]: logits, self.output_keys[1]: features}


class MNISTClassifier(_DigitClassifier):
    """LeNet-like digit classifier whose softmax and penultimate features give the MNIST score and distance.

    conv 5x5 (32) -> ReLU -> max-pool -> conv 5x5 (64) -> ReLU -> max-pool ->
    Linear(3136, ``feature_dim``) -> ReLU (``features``) -> dropout -> Linear(feature_dim, 10) (``logits``).

    Args:
        input_keys (Tuple[str, ...]): Name of the images [N, 1, 28, 28] in [0, 1]. Defaults to ("img",).
        output_keys (Tuple[str, ...]): Names of the logits and the penultimate features.
            Defaults to ("logits", "features").
        feature_dim (int): Width of the penultimate layer. Defaults to 128.
        dropout (float): Dropout before the last layer (training only). Defaults to 0.5.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import MNISTClassifier
        >>> out = MNISTClassifier()({"img": paddle.rand([2, 1, 28, 28])})
        >>> out["logits"].shape, out["features"].shape
        ([2, 10], [2, 128])
    """

    def __init__(self, input_keys: Tuple[str, ...] = ("img",), output_keys: Tuple[str, ...] = ("logits", "features"),
                 feature_dim: int = 128, dropout: float = 0.5):
        body = nn.Sequential(
            nn.Conv2D(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2D(2),  # 28 -> 14
            nn.Conv2D(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2D(2),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, feature_dim), nn.ReLU(),
        )
        super().__init__(input_keys, output_keys, body, feature_dim, dropout)


class MNISTMLPClassifier(_DigitClassifier):
    """A second digit classifier without convolutions, to check that a generator's MNIST score is not one network's.

    Flatten -> Linear(784, ``hidden_dim``) -> ReLU -> dropout -> Linear(hidden_dim, ``feature_dim``) -> ReLU
    (``features``) -> dropout -> Linear(feature_dim, 10) (``logits``). Same inputs and outputs as
    ``MNISTClassifier``, so either gives the MNIST score and Frechet distance (``EVAL.classifier_path``).

    Args:
        input_keys (Tuple[str, ...]): Name of the images [N, 1, 28, 28] in [0, 1]. Defaults to ("img",).
        output_keys (Tuple[str, ...]): Names of the logits and the penultimate features.
            Defaults to ("logits", "features").
        hidden_dim (int): Width of the first layer. Defaults to 1024.
        feature_dim (int): Width of the penultimate layer. Defaults to 128.
        dropout (float): Dropout after each hidden layer (training only). Defaults to 0.3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import MNISTMLPClassifier
        >>> out = MNISTMLPClassifier()({"img": paddle.rand([2, 1, 28, 28])})
        >>> out["logits"].shape, out["features"].shape
        ([2, 10], [2, 128])
    """

    def __init__(self, input_keys: Tuple[str, ...] = ("img",), output_keys: Tuple[str, ...] = ("logits", "features"),
                 hidden_dim: int = 1024, feature_dim: int = 128, dropout: float = 0.3):
        body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_dim, feature_dim), nn.ReLU(),
        )
        super().__init__(input_keys, output_keys, body, feature_dim, dropout)


CLASSIFIER_ARCHS = {"cnn": MNISTClassifier, "mlp": MNISTMLPClassifier}


def build_mnist_classifier(state: Dict[str, Any], path: str) -> base.Arch:
    """The untrained classifier whose layers ``state`` fills: ``MNISTClassifier`` or ``MNISTMLPClassifier``.

    Read off the weights: the CNN's first layer is a 5x5 convolution, the MLP's a Linear(784, hidden_dim).
    """
    first_cnn, first_mlp = state.get("body.0.weight"), state.get("body.1.weight")
    if len(getattr(first_cnn, "shape", ())) == 4:
        return MNISTClassifier(feature_dim=int(state["head.weight"].shape[0]))
    if list(getattr(first_mlp, "shape", ()))[:1] == [28 * 28] and "body.4.weight" in state:
        return MNISTMLPClassifier(hidden_dim=int(first_mlp.shape[1]), feature_dim=int(state["body.4.weight"].shape[1]))
    raise UserError(f"{path} is not the weights of an MNIST classifier (MNISTClassifier or MNISTMLPClassifier); "
                    "give a file written by ppsci-ext-train-classifier, or null for the shipped classifier.")


def describe_mnist_generator(state: Dict[str, Any]) -> Dict[str, Any]:
    """``noise_dim`` and ``dim`` read off an MNIST generator's weights ({} when it is not one)."""
    fc = state.get("fc.weight")
    if getattr(fc, "shape", None) is None or len(fc.shape) != 2 or fc.shape[1] % 64:
        return {}
    return {"noise_dim": int(fc.shape[0]), "dim": int(fc.shape[1]) // 64}

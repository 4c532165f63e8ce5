"""The Bernoulli VAE baseline of the MNIST experiment: a convolutional encoder, an MLP decoder, and the pair.

The shapes are those of numpy-ml's ``BernoulliVAE`` defaults (a likelihood-model
baseline that WGAN-GP papers compare with):

- encoder: ``img`` [N, 1, 28, 28] -> Conv 5x5 (32, no padding, 24x24) -> ReLU ->
  max-pool 2x2 stride 2 (12x12) -> Conv 5x5 (64, 8x8) -> ReLU -> max-pool 2x2
  stride 1 (7x7) -> flatten (3136) -> Linear(3136, hidden) -> ReLU ->
  Linear(hidden, 2 * T), split into the mean and the log-variance of q(z | x);
- decoder: ``z`` [N, T] -> Linear(T, hidden) -> ReLU -> Linear(hidden, 784) ->
  sigmoid: the Bernoulli means of the 784 pixels, as ``img`` [N, 1, 28, 28].

Every weight starts Glorot-uniform, every bias at zero. ``VAE`` holds the
decoder where a ``GAN`` holds its generator (it maps prior noise to digits, so
evaluation, pictures, export and ``pretrained.load`` treat it as one) and the
encoder where a ``GAN`` holds its critic; its weights files are
``*_gen.pdparams`` (decoder) and ``*_enc.pdparams`` (encoder).
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import paddle
import paddle.nn.functional as F
from paddle import nn
from ppsci.arch import base

from ppsci_ext.arch.gan import GAN
from ppsci_ext.ops.layers import Conv2D, Linear

PIXELS = 28 * 28
ENCODER_FEATURES = 7 * 7 * 64  # after the second pool


def _glorot(layer: nn.Layer) -> nn.Layer:
    """Glorot-uniform weights and zero biases (Paddle's Xavier-uniform uses the same fans as Glorot)."""
    nn.initializer.XavierUniform()(layer.weight)
    nn.initializer.Constant(0.0)(layer.bias)
    return layer


class VAEEncoder(base.Arch):
    """q(z | x): ``img`` [N, 1, 28, 28] in [0, 1] -> ``mean`` and ``log_var`` [N, T].

    Args:
        input_keys (Tuple[str, ...]): Name of the images. Defaults to ("img",).
        output_keys (Tuple[str, ...]): Names of the mean and the log-variance. Defaults to ("mean", "log_var").
        latent_dim (int): T, the latent dimension. Defaults to 5.
        hidden_dim (int): Width of the hidden Linear layer. Defaults to 256.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.vae import VAEEncoder
        >>> out = VAEEncoder()({"img": paddle.rand([2, 1, 28, 28])})
        >>> out["mean"].shape, out["log_var"].shape
        ([2, 5], [2, 5])
    """

    batch_coupled = False

    def __init__(self, input_keys: Tuple[str, ...] = ("img",), output_keys: Tuple[str, ...] = ("mean", "log_var"),
                 latent_dim: int = 5, hidden_dim: int = 256):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.conv1 = _glorot(Conv2D(1, 32, 5))
        self.conv2 = _glorot(Conv2D(32, 64, 5))
        self.fc1 = _glorot(Linear(ENCODER_FEATURES, hidden_dim))
        self.fc2 = _glorot(Linear(hidden_dim, 2 * latent_dim))

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        h = F.max_pool2d(F.relu(self.conv1(x[self.input_keys[0]])), 2, stride=2)  # 24x24 -> 12x12
        h = F.max_pool2d(F.relu(self.conv2(h)), 2, stride=1)  # 8x8 -> 7x7
        h = F.relu(self.fc1(h.reshape([-1, ENCODER_FEATURES])))
        out = self.fc2(h)
        return {self.output_keys[0]: out[:, :self.latent_dim], self.output_keys[1]: out[:, self.latent_dim:]}


class VAEDecoder(base.Arch):
    """p(x | z): ``z`` [N, T] -> ``img`` [N, 1, 28, 28], the Bernoulli mean of each pixel.

    ``noise_dim`` is T: sampling draws ``z`` from the prior N(0, I), as a generator draws its noise.

    Args:
        input_keys (Tuple[str, ...]): Name of the latent input. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the images. Defaults to ("img",).
        noise_dim (int): T, the latent dimension. Defaults to 5.
        hidden_dim (int): Width of the hidden Linear layer. Defaults to 256.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.vae import VAEDecoder
        >>> VAEDecoder()({"z": paddle.randn([2, 5])})["img"].shape
        [2, 1, 28, 28]
    """

    def __init__(self, input_keys: Tuple[str, ...] = ("z",), output_keys: Tuple[str, ...] = ("img",),
                 noise_dim: int = 5, hidden_dim: int = 256):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.hidden_dim = hidden_dim
        self.fc1 = _glorot(Linear(noise_dim, hidden_dim))
        self.fc2 = _glorot(Linear(hidden_dim, PIXELS))

    def logits(self, z: paddle.Tensor) -> paddle.Tensor:
        """The Bernoulli logits [N, 784] of ``z`` [N, T] (the loss reads these, not the sigmoid)."""
        return self.fc2(F.relu(self.fc1(z)))

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        z = self.concat_to_tensor(x, self.input_keys, axis=-1)
        return {self.output_keys[0]: F.sigmoid(self.logits(z)).reshape([-1, 1, 28, 28])}


class VAE(GAN):
    """The encoder and decoder of a VAE, held as a ``GAN`` holds its pair (see the module docstring).

    Calling it decodes ``{"z": ...}`` into digits; ``encoder`` and ``decoder`` name the two networks.

    Args:
        decoder (VAEDecoder): p(x | z), in the generator's place.
        encoder (VAEEncoder): q(z | x), in the critic's place.
    """

    weights_tag = "enc"  # checkpoints/*_enc.pdparams holds the encoder (a GAN's *_dis.pdparams holds its critic)

    def __init__(self, decoder: VAEDecoder, encoder: VAEEncoder):
        super().__init__(decoder, encoder)

    @property
    def decoder(self) -> VAEDecoder:
        return self.generator

    @property
    def encoder(self) -> VAEEncoder:
        return self.critic

    def encode_decode(self, images: paddle.Tensor, eps: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        """The tensors of the negative ELBO for ``images`` [N, 1, 28, 28], with z = mean + exp(log_var / 2) * eps.

        Returns ``mean``, ``log_var`` [N, T], ``logits`` [N, 784] and the ``target`` pixels [N, 784].
        """
        q = self.encoder({self.encoder.input_keys[0]: images})
        mean, log_var = q[self.encoder.output_keys[0]], q[self.encoder.output_keys[1]]
        z = mean + paddle.exp(0.5 * log_var) * eps
        return {"mean": mean, "log_var": log_var, "logits": self.decoder.logits(z),
                "target": images.reshape([-1, PIXELS])}


def describe_vae_decoder(state: Dict[str, Any]) -> Dict[str, Any]:
    """``noise_dim`` and ``hidden_dim`` read off a VAE decoder's weights ({} when it is not one)."""
    fc1, fc2 = state.get("fc1.weight"), state.get("fc2.weight")
    shapes = [getattr(w, "shape", None) for w in (fc1, fc2)]
    if any(s is None or len(s) != 2 for s in shapes) or shapes[1][1] != PIXELS or shapes[0][1] != shapes[1][0]:
        return {}
    return {"noise_dim": int(shapes[0][0]), "hidden_dim": int(shapes[0][1])}

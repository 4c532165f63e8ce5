"""A NumPy reading of the Bernoulli VAE (arch.vae) and its negative ELBO (loss.vae), written from the
formulas, for the VAE tests to compare the Paddle code with (tests/ is on sys.path)."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _np(state):
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v, np.float64) for k, v in state.items()}


def conv_valid(x, weight, bias):
    """x [N, C, H, W], weight [O, C, k, k]: the 'valid' cross-correlation, stride 1."""
    k = weight.shape[-1]
    windows = sliding_window_view(x, (k, k), axis=(2, 3))  # [N, C, H-k+1, W-k+1, k, k]
    return np.einsum("nchwij,ocij->nohw", windows, weight) + bias[None, :, None, None]


def max_pool(x, stride):
    """2x2 max-pooling with the given stride (no padding)."""
    windows = sliding_window_view(x, (2, 2), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(-1, -2))


def relu(x):
    return np.maximum(x, 0.0)


def encoder(state, images):
    """(mean, log_var) of q(z | x) for images [N, 1, 28, 28]."""
    s = _np(state)
    h = max_pool(relu(conv_valid(images, s["conv1.weight"], s["conv1.bias"])), 2)
    h = max_pool(relu(conv_valid(h, s["conv2.weight"], s["conv2.bias"])), 1)
    h = relu(h.reshape(len(h), -1) @ s["fc1.weight"] + s["fc1.bias"])  # Paddle's Linear weight is [in, out]
    out = h @ s["fc2.weight"] + s["fc2.bias"]
    t = out.shape[1] // 2
    return out[:, :t], out[:, t:]


def decoder_logits(state, z):
    s = _np(state)
    return relu(z @ s["fc1.weight"] + s["fc1.bias"]) @ s["fc2.weight"] + s["fc2.bias"]


def negative_elbo_terms(logits, target, mean, log_var):
    """Per-image Bernoulli negative log-likelihood and KL(N(mean, exp(log_var)) || N(0, I)), in nats."""
    p = 1.0 / (1.0 + np.exp(-logits))
    reconstruction = -(target * np.log(p) + (1 - target) * np.log(1 - p)).sum(axis=1)
    kl = 0.5 * (np.exp(log_var) + mean ** 2 - 1.0 - log_var).sum(axis=1)
    return reconstruction, kl


def elbo(encoder_state, decoder_state, images, eps):
    """Per-image ELBO with z = mean + exp(log_var / 2) * eps."""
    mean, log_var = encoder(encoder_state, images)
    z = mean + np.exp(0.5 * log_var) * eps
    reconstruction, kl = negative_elbo_terms(decoder_logits(decoder_state, z), images.reshape(len(images), -1),
                                             mean, log_var)
    return -(reconstruction + kl), reconstruction, kl

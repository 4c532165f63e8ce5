"""The negative ELBO of a Bernoulli VAE, a plain function of dicts of tensors for ``ppsci.loss.FunctionalLoss``.

For an image x with pixels in [0, 1], q(z | x) = N(mean, diag(exp(log_var)))
and decoder logits l(z) for one draw z = mean + exp(log_var / 2) * eps:

    -ELBO(x) = sum_pixels BCE(l(z), x) + KL(q(z | x) || N(0, I))
    BCE(l, x) = softplus(l) - x * l            (the Bernoulli negative log-likelihood)
    KL        = -1/2 sum_latent (1 + log_var - mean^2 - exp(log_var))

in nats per image. The loss is its mean over the batch. The pixels are
MNIST's grey levels, not binarised ones, as in numpy-ml's ``BernoulliVAE``: the
likelihood term is a cross-entropy against grey levels, so the figures are not
the binarised-MNIST negative log-likelihoods of the VAE literature.
"""

from __future__ import annotations

from typing import Dict, Optional

import paddle
import paddle.nn.functional as F


def negative_elbo_terms(output_dict: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
    """Per-image ``reconstruction`` (Bernoulli negative log-likelihood) and ``kl`` [N], in nats.

    ``output_dict`` holds ``logits`` and ``target`` [N, P] and ``mean``, ``log_var`` [N, T]
    (``arch.vae.VAE.encode_decode``).
    """
    logits, target = output_dict["logits"], output_dict["target"]
    reconstruction = (F.softplus(logits) - target * logits).sum(axis=1)
    mean, log_var = output_dict["mean"], output_dict["log_var"]
    kl = -0.5 * (1.0 + log_var - mean * mean - paddle.exp(log_var)).sum(axis=1)
    return {"reconstruction": reconstruction, "kl": kl}


def negative_elbo(output_dict: Dict[str, paddle.Tensor], label_dict: Optional[Dict[str, paddle.Tensor]] = None,
                  weight_dict: Optional[Dict[str, paddle.Tensor]] = None) -> Dict[str, paddle.Tensor]:
    """The batch's mean negative ELBO as ``vae_loss`` (to minimise), with its two terms as diagnostics.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss.vae import negative_elbo
        >>> out = {"logits": paddle.zeros([2, 4]), "target": paddle.ones([2, 4]),
        ...        "mean": paddle.zeros([2, 3]), "log_var": paddle.zeros([2, 3])}
        >>> round(float(negative_elbo(out)["vae_loss"]), 4)  # 4 pixels at p = 1/2, q equal to the prior
        2.7726
    """
    terms = negative_elbo_terms(output_dict)
    reconstruction, kl = terms["reconstruction"].mean(), terms["kl"].mean()
    return {"reconstruction": reconstruction, "kl": kl, "vae_loss": reconstruction + kl}

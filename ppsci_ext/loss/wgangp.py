"""The WGAN-GP objectives, shared by every experiment.

Critic:    E[D(fake)] - E[D(real)] + lambda * E[(||grad D(x_hat)||_2 - 1)^2]
Generator: -E[D(fake)]
with x_hat = eps * real + (1 - eps) * fake, eps ~ U[0, 1] per sample, and the
norm taken per sample over all non-batch dimensions. With AC-GAN, the critic
adds ``acgan_critic_scale`` times the cross-entropy of its class logits on real
samples, and the generator adds ``acgan_generator_scale`` times that of the
critic's logits on fake samples against the labels it was given.

Both objectives are plain functions of dicts of tensors, so they plug into
``ppsci.loss.FunctionalLoss``. The solver fills the dicts with these keys:

- critic: ``score_real``, ``score_fake``, ``x_interp`` (requires grad),
  ``score_interp``; with AC-GAN also ``logits_real`` and label ``y``.
- generator: ``score_fake``; with AC-GAN also ``logits_fake`` and label ``y``.
"""

from __future__ import annotations

from typing import Dict, Optional

import paddle
import paddle.nn.functional as F

# Keeps sqrt differentiable where a ReLU critic has an exactly zero input gradient.
_NORM_EPS = 1e-12


def gradient_penalty(x_interp: paddle.Tensor, score_interp: paddle.Tensor) -> paddle.Tensor:
    """Mean of (||dD/dx||_2 - 1)^2 over the batch, differentiable twice.

    Args:
        x_interp (paddle.Tensor): Interpolated samples ``[N, ...]`` with
            ``stop_gradient=False``, the input that produced ``score_interp``.
        score_interp (paddle.Tensor): Critic scores ``[N, 1]`` or ``[N]``.

    Returns:
        paddle.Tensor: Scalar penalty (without the lambda factor).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import gradient_penalty
        >>> x = paddle.randn([4, 2]); x.stop_gradient = False
        >>> float(gradient_penalty(x, (3.0 * x).sum(axis=1)))  # ||grad|| = sqrt(18)
        10.514718...
    """
    (grad,) = paddle.grad(score_interp.sum(), x_interp, create_graph=True)
    grad = grad.reshape([grad.shape[0], -1])
    norm = paddle.sqrt((grad * grad).sum(axis=1) + _NORM_EPS)
    return ((norm - 1.0) ** 2).mean()


class WGANGPLoss:
    """WGAN-GP critic and generator objectives with optional AC-GAN terms.

    Args:
        gp_lambda (float): Weight of the gradient penalty. Defaults to 10.
        acgan_critic_scale (float): Weight of the critic's class loss on real
            samples (AC-GAN). Defaults to 0 (unconditional).
        acgan_generator_scale (float): Weight of the generator's class loss on
            fake samples (AC-GAN). Defaults to 0.

    Examples:
        >>> import ppsci
        >>> from ppsci_ext.loss import WGANGPLoss
        >>> objective = WGANGPLoss(gp_lambda=0.1)
        >>> critic_loss = ppsci.loss.FunctionalLoss(objective.critic)
        >>> generator_loss = ppsci.loss.FunctionalLoss(objective.generator)
    """

    def __init__(
        self,
        gp_lambda: float = 10.0,
        acgan_critic_scale: float = 0.0,
        acgan_generator_scale: float = 0.0,
    ):
        self.gp_lambda = float(gp_lambda)
        self.acgan_critic_scale = float(acgan_critic_scale)
        self.acgan_generator_scale = float(acgan_generator_scale)

    def critic(
        self,
        output_dict: Dict[str, paddle.Tensor],
        label_dict: Optional[Dict[str, paddle.Tensor]] = None,
        weight_dict: Optional[Dict[str, paddle.Tensor]] = None,
    ) -> Dict[str, paddle.Tensor]:
        """Critic objective; returns ``critic_loss`` (to minimise) and diagnostics.

        ``wasserstein`` is the estimate E[D(real)] - E[D(fake)] and
        ``gradient_penalty`` the unweighted penalty.
        """
        wasserstein = output_dict["score_real"].mean() - output_dict["score_fake"].mean()
        penalty = gradient_penalty(output_dict["x_interp"], output_dict["score_interp"])
        total = -wasserstein + self.gp_lambda * penalty
        losses = {"wasserstein": wasserstein, "gradient_penalty": penalty}
        if self.acgan_critic_scale and "logits_real" in output_dict:
            ac = F.cross_entropy(output_dict["logits_real"], label_dict["y"])
            total = total + self.acgan_critic_scale * ac
            losses["acgan_real"] = ac
        losses["critic_loss"] = total
        return losses

    def generator(
        self,
        output_dict: Dict[str, paddle.Tensor],
        label_dict: Optional[Dict[str, paddle.Tensor]] = None,
        weight_dict: Optional[Dict[str, paddle.Tensor]] = None,
    ) -> Dict[str, paddle.Tensor]:
        """Generator objective; returns ``generator_loss`` (to minimise)."""
        total = -output_dict["score_fake"].mean()
        losses = {}
        if self.acgan_generator_scale and "logits_fake" in output_dict:
            ac = F.cross_entropy(output_dict["logits_fake"], label_dict["y"])
            total = total + self.acgan_generator_scale * ac
            losses["acgan_fake"] = ac
        losses["generator_loss"] = total
        return losses

"""Training and scoring the VAE baseline with the adversarial solver's loop, checkpoints and evaluation.

``VAESolver`` is an ``AdversarialSolver`` whose iteration is one VAE update:
a shuffled real batch (the same checkpointed ``ArrayBatchSampler``), one draw
of the reparameterisation noise from Paddle's global generator (checkpointed
with the rest), the constraint's loss (the negative ELBO, ``loss.vae``), and a
step of both optimizers. Everything else is the GAN's: the epoch loop and its
logs, checkpoints that resume exactly, stopping on signals, the averaged
decoder (``TRAIN.ema``), evaluation with the validators, and the pictures.
``test_elbo`` scores the ELBO of held-out images as an ``extra_metrics`` of the
solver, with noise of its own so the figure does not depend on the run.
"""

from __future__ import annotations

import time
from typing import Callable, Dict

import numpy as np
import paddle

from ppsci_ext.loss.vae import negative_elbo_terms
from ppsci_ext.progress import progress
from ppsci_ext.solver import distributed
from ppsci_ext.solver.adversarial import AdversarialSolver


class VAESolver(AdversarialSolver):
    """Trains an ``arch.vae.VAE``: the model's decoder in the generator's place, its encoder in the critic's.

    Takes ``AdversarialSolver``'s arguments; ``optimizer_g`` updates the decoder,
    ``optimizer_d`` the encoder, the constraint's loss is the negative ELBO
    (``ppsci.loss.FunctionalLoss(loss.negative_elbo)``), and there is no
    generator loss and no ``n_critic``.
    """

    uses_generator_loss = False
    step_name = "update"  # one VAE update per step (the GAN's step is a generator iteration)

    def __init__(self, model, constraint, optimizer_decoder, optimizer_encoder, output_dir: str, **kwargs):
        super().__init__(model, constraint, None, optimizer_decoder, optimizer_encoder, output_dir, n_critic=1,
                         **kwargs)

    def train_iteration(self):
        """One VAE update on a fresh real batch; returns (losses, batch size, seconds spent drawing the batch)."""
        tic = time.perf_counter()
        input_dict, label_dict = self.next_real_batch()
        reader_cost = time.perf_counter() - tic
        images = input_dict[self.model.sample_key]
        eps = paddle.randn([images.shape[0], self.model.decoder.noise_dim], dtype=images.dtype)
        losses = self.critic_constraint.loss(self.model.encode_decode(images, eps), label_dict)
        losses["vae_loss"].backward()
        distributed.allreduce_gradients(self.model.parameters())
        for optimizer in (self.optimizer_g, self.optimizer_d):
            optimizer.step()
            optimizer.clear_grad()
        return losses, images.shape[0], reader_cost

    def _diverged_message(self, what: str) -> str:
        kept = self.last_checkpoint or "none was written yet"
        return (f"training diverged: {what} became NaN or Inf by update {self.global_step}. Nothing was saved "
                f"over the last good checkpoint ({kept}). Lower TRAIN.lr, then resume from that file.")


def test_elbo(images: np.ndarray, batch_size: int, seed: int) -> Callable[[AdversarialSolver], Dict[str, float]]:
    """``extra_metrics`` scoring the mean ELBO of ``images`` [N, 1, 28, 28] in [0, 1], in nats per image.

    One draw of z per image from q(z | x), with noise fixed by ``seed`` (the same at every evaluation).
    Returns ``vae.elbo`` (higher is better) and its two terms, ``vae.reconstruction`` (the Bernoulli
    negative log-likelihood) and ``vae.kl``, so that elbo = -(reconstruction + kl).
    """
    n = len(images)

    def score(solver: AdversarialSolver) -> Dict[str, float]:
        model = solver.model
        eps = np.random.default_rng(seed).standard_normal((n, model.decoder.noise_dim)).astype(np.float32)
        sums = {"reconstruction": 0.0, "kl": 0.0}
        with progress(n, "test ELBO") as bar:
            for start in range(0, n, batch_size):
                batch = paddle.to_tensor(np.ascontiguousarray(images[start:start + batch_size], dtype=np.float32))
                terms = negative_elbo_terms(model.encode_decode(batch, paddle.to_tensor(eps[start:start + len(batch)])))
                for key in sums:
                    sums[key] += float(terms[key].sum())
                bar.update(len(batch))
        reconstruction, kl = sums["reconstruction"] / n, sums["kl"] / n
        return {"vae.elbo": -(reconstruction + kl), "vae.reconstruction": reconstruction, "vae.kl": kl}

    return score

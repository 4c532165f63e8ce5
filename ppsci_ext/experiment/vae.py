"""The VAE baseline of the MNIST experiment (``examples/wgangp/vae_mnist.py``): same data, same metrics.

``VAEMNISTExperiment`` is the MNIST experiment with another model and
objective: the Bernoulli VAE of ``arch.vae`` trained on the negative ELBO
(``loss.vae``) with RMSProp by ``solver.vae.VAESolver``. Everything else is
the MNIST experiment's: the data, the checks, checkpoints and exact resume,
``mode=eval`` (MNIST score, Frechet distance, PRDC, optional Inception
metrics, the grid and the interpolation, all on digits decoded from prior
noise), export and infer. Evaluation adds the ELBO of the real test split
(``vae.elbo`` and its two terms) when the encoder is at hand: always in
training, and in ``mode=eval`` with a ``.pdckpt``, the shipped weights, or
``EVAL.pretrained_enc_model_path``.

MODEL.noise_dim is the latent dimension T (the prior's noise, as for a generator).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import paddle

from ppsci_ext.arch.vae import VAE, VAEDecoder, VAEEncoder, describe_vae_decoder
from ppsci_ext.experiment.base import COMMON_KEYS
from ppsci_ext.experiment.config import Key
from ppsci_ext.experiment.mnist import MNISTExperiment
from ppsci_ext.loss.vae import negative_elbo
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.solver.vae import VAESolver, test_elbo

# COMMON_KEYS of the adversarial training that a VAE has no use for (its YAML does not have them).
GAN_ONLY_KEYS = ("TRAIN.n_critic", "TRAIN.lr_generator", "TRAIN.lr_critic", "TRAIN.beta1", "TRAIN.beta2",
                 "LOSS.gp_lambda")
_MNIST_GAN_KEYS = ("MODEL.dim", "MODEL.critic_dim")


def build_rmsprop(params, lr: float, rho: float, epsilon: float, decay_iters: int = 0) -> paddle.optimizer.RMSProp:
    """RMSProp with decay ``rho``; with ``decay_iters`` > 0 the learning rate decays linearly to 0 over them."""
    if decay_iters:
        lr = paddle.optimizer.lr.PolynomialDecay(learning_rate=lr, decay_steps=decay_iters, end_lr=0.0, power=1.0)
    return paddle.optimizer.RMSProp(learning_rate=lr, rho=rho, epsilon=epsilon, parameters=params)


class VAEMNISTExperiment(MNISTExperiment):
    """The Bernoulli VAE baseline on MNIST (see the module docstring)."""

    name = "vae_mnist"
    network_names = ("decoder", "encoder")
    model_keys = ("noise_dim", "hidden_dim")
    keys = [k for k in MNISTExperiment.keys if k.path not in _MNIST_GAN_KEYS] + [
        Key("MODEL.hidden_dim", int, low=1),
        Key("TRAIN.lr", float, low=0, low_open=True),
        Key("TRAIN.rho", float, low=0, high=1, high_open=True),
        Key("TRAIN.epsilon", float, low=0, low_open=True),
        Key("EVAL.pretrained_enc_model_path", str, nullable=True),
    ]

    @classmethod
    def all_keys(cls) -> List[Key]:
        return [k for k in COMMON_KEYS if k.path not in GAN_ONLY_KEYS] + list(cls.keys)

    def build_objective(self) -> Callable:
        return negative_elbo

    def build_model(self, settings: Dict[str, Any]) -> VAE:
        return VAE(VAEDecoder(noise_dim=settings["noise_dim"], hidden_dim=settings["hidden_dim"]),
                   VAEEncoder(latent_dim=settings["noise_dim"], hidden_dim=settings["hidden_dim"]))

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        return describe_vae_decoder(generator_state)

    def training_solver(self, model: VAE, constraint: Dict[str, Any], settings: Dict[str, Any]) -> VAESolver:
        t = self.config.TRAIN
        decay = int(t.epochs * t.iters_per_epoch) if t.lr_linear_decay else 0
        return VAESolver(model, constraint,
                         build_rmsprop(model.decoder.parameters(), t.lr, t.rho, t.epsilon, decay),
                         build_rmsprop(model.encoder.parameters(), t.lr, t.rho, t.epsilon, decay),
                         **self._training_options(settings))

    def extra_metrics(self, settings: Dict[str, Any], training: bool) -> Optional[Callable]:
        images = self._read("test")
        self._elbo_count = len(images)
        return test_elbo(images, self.config.EVAL.batch_size, self.seed + 5)

    def critic_weights(self) -> Optional[str]:
        return self.config.EVAL.pretrained_enc_model_path

    def shipped_weights(self) -> Optional[Tuple[str, Optional[str]]]:
        return shipped_weights("vae", "mnist")

    def sample_sizes(self) -> Dict[str, Dict[str, int]]:
        sizes = super().sample_sizes()
        count = getattr(self, "_elbo_count", None)
        if count is not None:
            sizes["vae"] = {"real": count}
        return sizes

"""The VAE baseline's negative ELBO (loss.vae) against the Bernoulli likelihood and the Gaussian KL written out."""

import numpy as np
import paddle
import ppsci
import pytest

import vae_reference as ref
from ppsci_ext.loss import negative_elbo
from ppsci_ext.loss.vae import negative_elbo_terms


def _batch(seed=0, n=6, pixels=20, latent=4, scale=3.0):
    rng = np.random.default_rng(seed)
    return {"logits": rng.normal(0, scale, (n, pixels)), "target": rng.random((n, pixels)),
            "mean": rng.normal(0, 1, (n, latent)), "log_var": rng.normal(0, 1, (n, latent))}


def _tensors(batch):
    return {k: paddle.to_tensor(v.astype(np.float32)) for k, v in batch.items()}


def test_terms_are_the_bernoulli_nll_and_the_gaussian_kl():
    batch = _batch()
    terms = negative_elbo_terms(_tensors(batch))
    reconstruction, kl = ref.negative_elbo_terms(batch["logits"], batch["target"], batch["mean"], batch["log_var"])
    assert list(terms["reconstruction"].shape) == [6] and list(terms["kl"].shape) == [6]
    np.testing.assert_allclose(terms["reconstruction"].numpy(), reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"].numpy(), kl, rtol=1e-5, atol=1e-6)


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    batch = _batch(1)
    batch["mean"][:] = 0.0
    batch["log_var"][:] = 0.0
    assert not negative_elbo_terms(_tensors(batch))["kl"].numpy().any()
    batch["mean"][0, 0] = 2.0  # KL = mean^2 / 2 for one shifted coordinate
    np.testing.assert_allclose(negative_elbo_terms(_tensors(batch))["kl"].numpy()[0], 2.0, rtol=1e-6)


def test_loss_is_the_batch_mean_of_both_terms():
    batch = _batch(2)
    reconstruction, kl = ref.negative_elbo_terms(batch["logits"], batch["target"], batch["mean"], batch["log_var"])
    out = negative_elbo(_tensors(batch))
    assert float(out["reconstruction"]) == pytest.approx(reconstruction.mean(), rel=1e-5)
    assert float(out["kl"]) == pytest.approx(kl.mean(), rel=1e-5)
    assert float(out["vae_loss"]) == pytest.approx(reconstruction.mean() + kl.mean(), rel=1e-5)


def test_saturated_logits_stay_finite():
    batch = _batch(3, scale=200.0)
    out = negative_elbo(_tensors(batch))
    assert np.isfinite(float(out["vae_loss"]))
    # far from the target, softplus(l) - x * l grows like |l|; next to it, like 0
    np.testing.assert_allclose(negative_elbo_terms(_tensors({**batch, "logits": np.full((6, 20), 100.0),
                                                               "target": np.ones((6, 20))}))["reconstruction"].numpy(),
                               0.0, atol=1e-6)


def test_gradients_are_those_of_the_formula():
    batch = _batch(4)
    t = _tensors(batch)
    for key in ("logits", "mean", "log_var"):
        t[key].stop_gradient = False
    negative_elbo(t)["vae_loss"].backward()
    n = len(batch["logits"])
    p = 1 / (1 + np.exp(-batch["logits"]))
    np.testing.assert_allclose(t["logits"].grad.numpy(), (p - batch["target"]) / n, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(t["mean"].grad.numpy(), batch["mean"] / n, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(t["log_var"].grad.numpy(), 0.5 * (np.exp(batch["log_var"]) - 1) / n, rtol=1e-4,
                               atol=1e-7)


def test_it_plugs_into_ppsci_functional_loss():
    batch = _batch(5)
    loss = ppsci.loss.FunctionalLoss(negative_elbo)
    out = loss(_tensors(batch), {})
    assert float(out["vae_loss"]) == pytest.approx(float(negative_elbo(_tensors(batch))["vae_loss"]), rel=1e-6)

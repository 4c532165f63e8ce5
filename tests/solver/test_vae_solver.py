"""The VAE baseline's solver (solver.vae): one update is RMSProp on the negative ELBO of one batch for both
networks, training resumes exactly, and the test ELBO is the documented mean over the images."""

import types

import numpy as np
import paddle
import pytest

import vae_reference as ref
from ppsci_ext.arch.vae import VAE, VAEDecoder, VAEEncoder
from ppsci_ext.experiment.vae import build_rmsprop
from ppsci_ext.loss import negative_elbo
from ppsci_ext.solver import builders
from ppsci_ext.solver import state as ckpt
from ppsci_ext.solver.vae import VAESolver, test_elbo as elbo_metric

LR, RHO, EPSILON, BATCH, HIDDEN, T = 1e-3, 0.9, 1e-7, 8, 16, 3


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 28, 28)).astype(np.float32)


def make_solver(out, epochs=2, iters=3, checkpoint_path=None, decay=0):
    paddle.seed(0)
    model = VAE(VAEDecoder(noise_dim=T, hidden_dim=HIDDEN), VAEEncoder(latent_dim=T, hidden_dim=HIDDEN))
    constraint = builders.real_data_constraint({"img": _images(40)}, BATCH, negative_elbo)
    return VAESolver(model, constraint, build_rmsprop(model.decoder.parameters(), LR, RHO, EPSILON, decay),
                     build_rmsprop(model.encoder.parameters(), LR, RHO, EPSILON, decay), output_dir=str(out),
                     epochs=epochs, iters_per_epoch=iters, log_freq=1, eval_during_train=False,
                     checkpoint_path=checkpoint_path, experiment="vae_mnist", config_yaml="MODEL: {}\n")


def _weights(layer):
    return {k: v.numpy().copy() for k, v in layer.state_dict().items()}


def test_one_update_is_rmsprop_on_the_batch_negative_elbo(tmp_path):
    solver = make_solver(tmp_path)
    model = solver.model
    before = {"decoder": _weights(model.decoder), "encoder": _weights(model.encoder)}
    seen = []
    draw = solver.next_real_batch
    solver.next_real_batch = lambda: seen.append(draw()) or seen[-1]
    paddle.seed(21)
    eps = paddle.randn([BATCH, T])
    paddle.seed(21)
    losses, batch_size, _ = solver.train_iteration()
    assert len(seen) == 1 and batch_size == BATCH  # one batch per update, no n_critic loop

    # The same loss on a copy of the starting weights, and RMSProp's first step by hand.
    copy = VAE(VAEDecoder(noise_dim=T, hidden_dim=HIDDEN), VAEEncoder(latent_dim=T, hidden_dim=HIDDEN))
    copy.decoder.set_state_dict(before["decoder"])
    copy.encoder.set_state_dict(before["encoder"])
    images = seen[0][0]["img"]
    loss = negative_elbo(copy.encode_decode(images, eps))
    assert float(losses["vae_loss"]) == pytest.approx(float(loss["vae_loss"]), rel=1e-6)
    assert float(losses["kl"]) == pytest.approx(float(loss["kl"]), rel=1e-5)
    loss["vae_loss"].backward()
    for part in ("decoder", "encoder"):
        for name, p in getattr(copy, part).named_parameters():
            g = p.grad.numpy().astype(np.float64)
            expected = before[part][name] - LR * g / np.sqrt((1 - RHO) * g * g + EPSILON)
            np.testing.assert_allclose(getattr(model, part).state_dict()[name].numpy(), expected, rtol=1e-4,
                                       atol=1e-6, err_msg=f"{part}.{name}")


def test_training_resumes_exactly(tmp_path):
    full = make_solver(tmp_path / "full", epochs=2, decay=12)
    full.train()
    make_solver(tmp_path / "half", epochs=1, decay=12).train()
    resumed = make_solver(tmp_path / "resumed", epochs=2, decay=12,
                          checkpoint_path=str(tmp_path / "half" / "checkpoints" / "latest.pdckpt"))
    assert resumed.global_step == 3
    resumed.train()
    assert resumed.global_step == full.global_step == 6
    for part in ("decoder", "encoder"):
        a, b = _weights(getattr(full.model, part)), _weights(getattr(resumed.model, part))
        for k in a:
            np.testing.assert_array_equal(b[k], a[k], err_msg=f"{part}.{k}")
    for name, layer in (("optimizer_g", full.model.decoder), ("optimizer_d", full.model.encoder)):
        a = ckpt.optimizer_state(getattr(full, name), layer)
        b = ckpt.optimizer_state(getattr(resumed, name), getattr(resumed.model, name == "optimizer_g" and
                                                                 "decoder" or "encoder"))
        arrays = [k for k in a if hasattr(a[k], "numpy")]
        assert any("mean_square" in k for k in arrays), sorted(a)
        for k in arrays:
            np.testing.assert_array_equal(b[k].numpy(), a[k].numpy(), err_msg=k)
    assert resumed.optimizer_g.get_lr() == full.optimizer_g.get_lr() > 0
    losses = [[r["vae_loss"] for r in s.history["train"]] for s in (full, resumed)]
    assert losses[1] == losses[0]
    assert (tmp_path / "full" / "checkpoints" / "latest_enc.pdparams").is_file()  # the encoder's own file name


def test_test_elbo_is_the_mean_per_image_elbo_with_its_own_noise():
    paddle.seed(5)
    model = VAE(VAEDecoder(noise_dim=T, hidden_dim=HIDDEN), VAEEncoder(latent_dim=T, hidden_dim=HIDDEN))
    images = _images(7, seed=2)
    eps = np.random.default_rng(9).standard_normal((7, T))
    elbo, reconstruction, kl = ref.elbo(model.encoder.state_dict(), model.decoder.state_dict(),
                                        images.astype(np.float64), eps)
    owner = types.SimpleNamespace(model=model)
    got = elbo_metric(images, 3, seed=9)(owner)  # 3 + 3 + 1: batching changes nothing
    assert got["vae.elbo"] == pytest.approx(elbo.mean(), rel=1e-5)
    assert got["vae.reconstruction"] == pytest.approx(reconstruction.mean(), rel=1e-5)
    assert got["vae.kl"] == pytest.approx(kl.mean(), rel=1e-4)
    assert elbo_metric(images, 100, seed=9)(owner)["vae.elbo"] == pytest.approx(got["vae.elbo"], rel=1e-6)
    assert elbo_metric(images, 3, seed=9)(owner) == got  # the same noise at every evaluation
    assert elbo_metric(images, 3, seed=10)(owner)["vae.elbo"] != got["vae.elbo"]

"""The VAE baseline's archs (arch.vae): numpy-ml's shapes, Glorot-uniform starts, the forward passes against
a NumPy reading of them, the reparameterisation, and reading the widths off a decoder's weights."""

import math

import numpy as np
import paddle
import pytest

import vae_reference as ref
from ppsci_ext.arch import GAN, MNISTGenerator
from ppsci_ext.arch.vae import VAE, VAEDecoder, VAEEncoder, describe_vae_decoder


@pytest.fixture(scope="module")
def vae():
    paddle.seed(3)
    return VAE(VAEDecoder(noise_dim=5, hidden_dim=16), VAEEncoder(latent_dim=5, hidden_dim=16))


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 28, 28)).astype(np.float32)


def test_parameter_shapes_are_numpy_mls():
    enc, dec = VAEEncoder(), VAEDecoder()
    assert {k: list(v.shape) for k, v in enc.state_dict().items()} == {
        "conv1.weight": [32, 1, 5, 5], "conv1.bias": [32], "conv2.weight": [64, 32, 5, 5], "conv2.bias": [64],
        "fc1.weight": [7 * 7 * 64, 256], "fc1.bias": [256], "fc2.weight": [256, 10], "fc2.bias": [10]}
    assert {k: list(v.shape) for k, v in dec.state_dict().items()} == {
        "fc1.weight": [5, 256], "fc1.bias": [256], "fc2.weight": [256, 784], "fc2.bias": [784]}


@pytest.mark.parametrize("name,fan_in,fan_out", [
    ("conv1", 25, 32 * 25), ("conv2", 32 * 25, 64 * 25), ("fc1", 3136, 256), ("fc2", 256, 10)])
def test_encoder_starts_glorot_uniform_with_zero_biases(name, fan_in, fan_out):
    paddle.seed(0)
    layer = getattr(VAEEncoder(), name)
    w = layer.weight.numpy()
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.08)
    assert not layer.bias.numpy().any()


def test_decoder_starts_glorot_uniform_with_zero_biases():
    paddle.seed(0)
    dec = VAEDecoder()
    for layer, (fan_in, fan_out) in ((dec.fc1, (5, 256)), (dec.fc2, (256, 784))):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = layer.weight.numpy()
        assert np.abs(w).max() <= limit and w.std() == pytest.approx(limit / math.sqrt(3), rel=0.05)
        assert not layer.bias.numpy().any()


def _perturbed(layer, seed):
    """Non-zero biases, so that the reference also checks where they are added."""
    rng = np.random.default_rng(seed)
    for name, p in layer.named_parameters():
        if name.endswith("bias"):
            p.set_value(rng.normal(0, 0.1, p.shape).astype(np.float32))
    return layer


def test_encoder_is_the_documented_network(vae):
    _perturbed(vae.encoder, 1)
    images = _images(3)
    out = vae.encoder({"img": paddle.to_tensor(images)})
    mean, log_var = ref.encoder(vae.encoder.state_dict(), images.astype(np.float64))
    assert list(out["mean"].shape) == [3, 5] and list(out["log_var"].shape) == [3, 5]
    np.testing.assert_allclose(out["mean"].numpy(), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["log_var"].numpy(), log_var, rtol=1e-4, atol=1e-5)


def test_decoder_is_the_documented_network(vae):
    _perturbed(vae.decoder, 2)
    z = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    images = vae({"z": paddle.to_tensor(z)})["img"].numpy()
    logits = ref.decoder_logits(vae.decoder.state_dict(), z.astype(np.float64))
    assert images.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(images.reshape(3, -1), 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vae.decoder.logits(paddle.to_tensor(z)).numpy(), logits, rtol=1e-4, atol=1e-5)


def test_encode_decode_reparameterises_with_the_standard_deviation(vae):
    _perturbed(vae.encoder, 5)
    images = _images(4, seed=1)
    eps = np.random.default_rng(6).standard_normal((4, 5)).astype(np.float32)
    out = vae.encode_decode(paddle.to_tensor(images), paddle.to_tensor(eps))
    mean, log_var = ref.encoder(vae.encoder.state_dict(), images.astype(np.float64))
    z = mean + np.exp(0.5 * log_var) * eps  # the standard deviation, exp(log_var / 2), scales the noise
    np.testing.assert_allclose(out["mean"].numpy(), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["log_var"].numpy(), log_var, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["logits"].numpy(), ref.decoder_logits(vae.decoder.state_dict(), z),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(out["target"].numpy(), images.reshape(4, 784))


def test_the_pair_sits_in_the_gans_slots(vae):
    assert isinstance(vae, GAN)
    assert vae.generator is vae.decoder and vae.critic is vae.encoder
    assert vae.weights_tag == "enc" and GAN.weights_tag == "dis"
    assert vae.sample_inputs(7)["z"].shape == [7, 5]


def test_widths_are_read_off_a_decoders_weights():
    assert describe_vae_decoder(VAEDecoder(noise_dim=3, hidden_dim=12).state_dict()) == {"noise_dim": 3,
                                                                                          "hidden_dim": 12}
    assert describe_vae_decoder(MNISTGenerator(dim=4).state_dict()) == {}
    assert describe_vae_decoder({}) == {}

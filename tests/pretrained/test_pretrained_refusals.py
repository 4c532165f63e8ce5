"""``ppsci_ext.pretrained``: files that hold no generator are refused by name, NaN weights and tagged configs
are refused, and ``Generator.sample`` checks its arguments, each in one line."""

import os

import numpy as np
import paddle
import pytest

import ppsci_ext
from ppsci_ext.arch import MNISTCritic, ResNet64Critic, ToyCritic, ToyGenerator
from ppsci_ext.arch.cifar10 import CifarResNetCritic
from ppsci_ext.errors import UserError
from ppsci_ext.io.weights import CHECKPOINT_FORMAT, UnsafeStoredConfig
from ppsci_ext.pretrained import loader

SHIPPED = os.path.dirname(os.path.abspath(ppsci_ext.pretrained.__file__))
INSTEAD = "not a generator; give the generator of that run: its *_gen.pdparams or its .pdckpt."


def _save(tmp_path, name, obj):
    path = str(tmp_path / name)
    paddle.save(obj, path)
    return path


@pytest.mark.parametrize("variant", ["8gaussians", "25gaussians", "swissroll"])
def test_shipped_critics_are_refused_by_name(variant):
    path = os.path.join(SHIPPED, f"wgangp_toy_{variant}_dis.pdparams")
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(path)
    assert str(info.value) == f"{path}: it holds a toy critic (*_dis.pdparams), {INSTEAD}"


@pytest.mark.parametrize("critic,what", [
    (lambda: ToyCritic(in_dim=5, width=8), "a toy critic (*_dis.pdparams)"),
    (lambda: ToyCritic(in_dim=1, width=8, hidden_layers=1), "a toy critic (*_dis.pdparams)"),
    (lambda: MNISTCritic(dim=4), "the MNIST critic (*_dis.pdparams)"),
    (lambda: CifarResNetCritic(dim=8), "a ResNet critic (*_dis.pdparams)"),
    (lambda: CifarResNetCritic(dim=8, acgan=True, channels=1), "a ResNet critic (*_dis.pdparams)"),
    (lambda: ResNet64Critic(dim=4, channels=1), "a ResNet critic (*_dis.pdparams)"),
])
def test_critics_of_every_kind_are_refused_by_name(tmp_path, critic, what):
    path = _save(tmp_path, "run_dis.pdparams", critic().state_dict())
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(path)
    assert str(info.value) == f"{path}: it holds {what}, {INSTEAD}"


def test_the_scoring_classifier_is_refused_by_name():
    path = os.path.join(SHIPPED, "mnist_classifier.pdparams")
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(path)
    assert str(info.value) == f"{path}: it holds the MNIST scoring classifier, {INSTEAD}"


def test_generators_of_one_dimensional_points_still_load(tmp_path):
    """A generator of 1-D points carries the data statistics, which a critic never has."""
    gen = ToyGenerator(noise_dim=1, width=8, out_dim=1, data_mean=[10.0], data_std=[2.0])
    path = _save(tmp_path, "points_gen.pdparams", gen.state_dict())
    loaded = ppsci_ext.pretrained.load(path)
    assert loaded.kind == "toy" and loaded.sample(4, seed=0).shape == (4, 1)
    assert loader.not_a_generator(ToyGenerator(width=8).state_dict()) is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_weights_with_nan_or_inf_are_refused_naming_the_file(tmp_path, value):
    state = ToyGenerator(width=8).state_dict()
    bad = state["net.2.weight"].numpy()
    bad[0, 0] = value
    state["net.2.weight"] = paddle.to_tensor(bad)
    path = _save(tmp_path, "diverged_gen.pdparams", state)
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(path)
    assert str(info.value) == (f"{path}: its generator weights hold NaN or Inf (in net.2.weight): the run had "
                               "diverged when they were written. Give an earlier checkpoint of that run.")
    state["net.0.bias"] = paddle.full([8], value)
    state["net.6.weight"] = paddle.full([8, 2], value)
    path = _save(tmp_path, "worse_gen.pdparams", state)
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(path)
    assert "(in net.0.bias and 2 more)" in str(info.value)


def _checkpoint(tmp_path, config, name="run.pdckpt"):
    gen = ToyGenerator(width=8)
    return _save(tmp_path, name, {"format": CHECKPOINT_FORMAT, "generator": gen.state_dict(),
                                  "critic": ToyCritic(width=8).state_dict(), "config": config})


def test_checkpoint_whose_config_carries_a_python_tag_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = _checkpoint(tmp_path, f"MODEL: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(UnsafeStoredConfig) as info:
        ppsci_ext.pretrained.load(path)
    assert str(info.value) == (f"{path}: it stores a config with the YAML tag !!python/object/apply:os.system, which "
                               "asks the reader to build a Python object; refused, nothing from it was run. The file "
                               "was edited or does not come from this package: use another checkpoint.")
    assert not marker.exists()


def test_checkpoint_with_a_damaged_config_still_loads_from_its_shapes(tmp_path):
    for config in ["MODEL: [1, 2\n", "- just\n- a list\n"]:
        gen = ppsci_ext.pretrained.load(_checkpoint(tmp_path, config))
        assert gen.settings["width"] == 8 and gen.sample(3).shape == (3, 2)
    gen = ppsci_ext.pretrained.load(_checkpoint(tmp_path, "MODEL:\n  width: 8\n"))
    assert gen.settings["width"] == 8


# --------------------------------------------------------------------------------- sample
@pytest.fixture(scope="module")
def toy():
    return ppsci_ext.pretrained.load("toy-8gaussians")


@pytest.mark.parametrize("kwargs,message", [
    (dict(n=10**12), "n=1000000000000 is more samples than one call draws (at most 1,000,000); draw them in parts, "
                     "each with its own seed (sample(n, seed=0), sample(n, seed=1), ...)."),
    (dict(n=1_000_001), "n=1000001 is more samples than one call draws (at most 1,000,000); draw them in parts, "
                        "each with its own seed (sample(n, seed=0), sample(n, seed=1), ...)."),
    (dict(n=0), "n=0 is not allowed: n must be a whole number from 1 to 1,000,000."),
    (dict(n=-1), "n=-1 is not allowed: n must be a whole number from 1 to 1,000,000."),
    (dict(n=2.0), "n=2.0 is not allowed: n must be a whole number from 1 to 1,000,000."),
    (dict(n=True), "n=True is not allowed: n must be a whole number from 1 to 1,000,000."),
    (dict(n="5"), "n='5' is not allowed: n must be a whole number from 1 to 1,000,000."),
    (dict(n=3, seed="a"), "seed='a' is not allowed: seed must be a whole number from 0 to 4,294,967,295."),
    (dict(n=3, seed=-1), "seed=-1 is not allowed: seed must be a whole number from 0 to 4,294,967,295."),
    (dict(n=3, seed=2**32), "seed=4294967296 is not allowed: seed must be a whole number from 0 to 4,294,967,295."),
    (dict(n=3, seed=1.5), "seed=1.5 is not allowed: seed must be a whole number from 0 to 4,294,967,295."),
    (dict(n=3, seed=None), "seed=None is not allowed: seed must be a whole number from 0 to 4,294,967,295."),
    (dict(n=3, batch_size=0), "batch_size=0 is not allowed: batch_size must be a whole number >= 1."),
    (dict(n=3, batch_size=-2), "batch_size=-2 is not allowed: batch_size must be a whole number >= 1."),
])
def test_sample_refuses_bad_arguments_in_one_line(toy, kwargs, message):
    with pytest.raises(UserError) as info:
        toy.sample(**kwargs)
    assert str(info.value) == message


def test_sample_accepts_the_edges(toy):
    assert loader.MAX_SAMPLES == 1_000_000 and loader.MAX_SEED == 2**32 - 1
    for seed in (0, 2**32 - 1, np.uint32(7), np.int64(2**32 - 1)):
        assert toy.sample(2, seed=seed).shape == (2, 2)
    assert np.array_equal(toy.sample(np.int64(3), seed=5), toy.sample(3, seed=5))
    assert toy.sample(1, seed=0, batch_size=1).shape == (1, 2)
    np.testing.assert_allclose(toy.sample(5, seed=2, batch_size=2), toy.sample(5, seed=2), rtol=0, atol=1e-5)

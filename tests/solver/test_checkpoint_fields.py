"""Every field of a full checkpoint, tampered with: removed, of the wrong type, out of range. Each is refused
when the checkpoint is loaded for resuming, with one message naming the field; the file is never changed and
a resumed run never fails later because of it."""

import copy
import hashlib

import numpy as np
import paddle
import ppsci
import pytest

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import toy_arrays
from ppsci_ext.errors import UserError
from ppsci_ext.io import atomic_save, load_file
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver import AdversarialSolver, builders


def make_solver(out, checkpoint_path=None):
    paddle.seed(0)
    model = GAN(ToyGenerator(width=8), ToyCritic(width=8))
    objective = WGANGPLoss(0.1)
    return AdversarialSolver(
        model, builders.real_data_constraint(toy_arrays("8gaussians", 256, 0), 32, objective),
        ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-3, 0.5, 0.9, 8),
        builders.build_optimizer(model.critic.parameters(), 1e-3, 0.5, 0.9, 8),
        output_dir=str(out), epochs=2, iters_per_epoch=2, n_critic=1, log_freq=1, experiment="toy",
        checkpoint_path=checkpoint_path, ema_decay=0.9)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    out = tmp_path_factory.mktemp("fields")
    make_solver(out).train()
    path = out / "checkpoints" / "latest.pdckpt"
    return load_file(str(path))


def _nan_weights(state):
    key = next(iter(state))
    state[key] = paddle.full(state[key].shape, float("nan"))
    return state


def _set(key, value):
    def tamper(state):
        state[key] = value

    return tamper


def _edit(key, edit):
    def tamper(state):
        state[key] = edit(copy.deepcopy(state[key]))

    return tamper


def _drop(key):
    def tamper(state):
        del state[key]

    return tamper


def _sampler(**changes):
    def edit(sampler):
        sampler.update(changes)
        return sampler

    return _edit("sampler", edit)


CASES = {
    # removed
    **{f"no {key}": (_drop(key), f"missing {key}") for key in
       ["generator", "critic", "optimizer_g", "optimizer_d", "epoch", "global_step", "best", "history", "rng",
        "sampler", "config", "version", "experiment"]},
    # wrong type
    "generator a list": (_set("generator", [1, 2]), "field 'generator' is not a dict of weights"),
    "critic holds a string": (_edit("critic", lambda s: {**s, next(iter(s)): "x"}), "field 'critic' holds a str"),
    "optimizer junk": (_set("optimizer_d", {"LR_Scheduler": "junk"}), "field 'optimizer_d' has an LR schedule"),
    "optimizer a string": (_set("optimizer_g", "adam"), "field 'optimizer_g' is not a dict"),
    "string epoch": (_set("epoch", "2"), "field 'epoch' is not a whole number"),
    "float step": (_set("global_step", 4.5), "field 'global_step' is not a whole number"),
    "None best": (_set("best", None), "field 'best' is not {metric"),
    "None rng": (_set("rng", None), "field 'rng' has no Paddle random state"),
    "numpy rng junk": (_edit("rng", lambda r: {**r, "numpy": ("MT19937", 5)}), "field 'rng' has no NumPy random state"),
    "history a list": (_set("history", []), "field 'history' is not {train"),
    "config a number": (_set("config", 3), "field 'config' is not a YAML string"),
    "experiment a number": (_set("experiment", 7), "field 'experiment' is not a string"),
    "sampler without perm": (_edit("sampler", lambda s: {k: v for k, v in s.items() if k != "perm"}),
                             "field 'sampler' is not {rng, perm, cursor}"),
    "sampler perm of floats": (_sampler(perm=np.zeros(256)), "perm that is not a 1-D integer array"),
    "sampler rng junk": (_sampler(rng={"bit_generator": "PCG64", "state": {"state": "x"}}),
                         "random state that NumPy cannot restore"),
    # out of range
    "negative epoch": (_set("epoch", -1), "field 'epoch' is not a whole number >= 0"),
    "step below epoch": (_set("global_step", 0), "'global_step' is smaller than 'epoch'"),
    "sampler perm out of range": (_sampler(perm=np.arange(256) + 5), "perm that is not a permutation of 0..255"),
    "sampler cursor past the end": (_sampler(cursor=10**6), "cursor outside [0, 256]"),
    "NaN best": (_edit("best", lambda b: {**b, "metric": float("nan")}), "field 'best' is not {metric"),
    "NaN generator": (_edit("generator", _nan_weights), "field 'generator' holds NaN or Inf weights"),
    "NaN generator average": (_edit("generator_ema", _nan_weights), "field 'generator_ema' holds NaN or Inf"),
    "Adam moment of another shape": (_edit("optimizer_d", lambda o: {**o, next(k for k in o if "moment1" in k):
                                      paddle.zeros([3, 3])}), "field 'optimizer_d': "),
    "LR schedule step a string": (_edit("optimizer_g", lambda o: {**o, "LR_Scheduler": {"last_epoch": "4",
                                  "last_lr": 0.1}}), "field 'optimizer_g' has an LR schedule"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_field_is_refused_at_load(good, tmp_path, case):
    tamper, phrase = CASES[case]
    state = {k: (dict(v) if isinstance(v, dict) else v) for k, v in good.items()}
    tamper(state)
    path = tmp_path / "tampered.pdckpt"
    atomic_save(state, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(UserError) as info:
        make_solver(tmp_path / "resumed", checkpoint_path=str(path))
    message = str(info.value)
    assert phrase in message and str(path) in message, message
    assert "\n" not in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not (tmp_path / "resumed" / "checkpoints").exists()


def test_untampered_checkpoint_resumes(good, tmp_path):
    path = tmp_path / "good.pdckpt"
    atomic_save(good, str(path))
    solver = make_solver(tmp_path / "resumed", checkpoint_path=str(path))
    assert solver.global_step == 4 and solver.start_epoch == 3


def test_optimizer_state_names_take_the_longest_parameter_prefix():
    from ppsci_ext.solver.state import _renamed

    names = {"linear_1.w_0": "net.0.weight", "linear_1.w_0_g": "net.0.weight_g"}
    assert _renamed("linear_1.w_0_moment1_0", names) == ("net.0.weight_moment1_0", "linear_1.w_0")
    assert _renamed("linear_1.w_0_g_moment1_0", names) == ("net.0.weight_g_moment1_0", "linear_1.w_0_g")
    assert _renamed("LR_Scheduler", names) == ("LR_Scheduler", None)
    assert _renamed("linear_1.w_0", names) == ("linear_1.w_0", None)  # the parameter itself: no suffix


def test_optimizer_state_round_trips_into_a_fresh_layer():
    import paddle

    from ppsci_ext.solver.state import load_optimizer_state, optimizer_state

    def build():
        layer = paddle.nn.Sequential(paddle.nn.Linear(3, 4), paddle.nn.Linear(4, 2))
        return layer, paddle.optimizer.Adam(parameters=layer.parameters())

    layer, opt = build()
    layer(paddle.ones([5, 3])).sum().backward()
    opt.step()
    saved = optimizer_state(opt, layer)
    assert {"0.weight_moment1_0", "1.bias_moment2_0"} <= set(saved)  # structured names, not runtime ones
    fresh, fresh_opt = build()  # other runtime names in this process
    load_optimizer_state(fresh_opt, fresh, saved)
    again = optimizer_state(fresh_opt, fresh)
    for key in ("0.weight_moment1_0", "1.bias_moment2_0"):
        np.testing.assert_array_equal(again[key].numpy(), saved[key].numpy())

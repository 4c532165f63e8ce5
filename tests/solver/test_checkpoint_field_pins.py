"""Each checkpoint field's check (solver/state.py FIELD_CHECKS), value by value, with the exact message.

``field_problems`` only looks at the fields present, so each field is checked
alone: what this package writes is accepted, every other type or range gives
exactly one line naming the field. Then a checkpoint written exactly at the
end of a shuffle (the sampler's permutation exhausted) resumes exactly.
"""

import math

import numpy as np
import paddle
import ppsci
import pytest

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import toy_arrays
from ppsci_ext.data.sampler import ArrayBatchSampler
from ppsci_ext.io import load_file
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver import AdversarialSolver, builders
from ppsci_ext.solver.state import FIELD_CHECKS, field_problems


def _one(key, value):
    return field_problems({key: value})


def test_the_checked_fields_are_exactly_these():
    assert list(FIELD_CHECKS) == ["version", "experiment", "generator", "critic", "generator_ema", "optimizer_g",
                                  "optimizer_d", "epoch", "global_step", "best", "history", "rng", "sampler",
                                  "config"]


@pytest.mark.parametrize("key", ["version", "experiment"])
def test_version_and_experiment_are_strings(key):
    assert _one(key, "0.3.1") == []
    assert _one(key, "") == []
    for bad in (3, 0.3, None, b"0.3", ["0.3"], ("0", "3")):
        assert _one(key, bad) == [f"field {key!r} is not a string"], bad


@pytest.mark.parametrize("key", ["generator", "critic", "generator_ema"])
def test_weights_fields(key):
    assert _one(key, {"w": np.zeros((2, 3), np.float32), "b": paddle.ones([3])}) == []
    for bad in ({}, [np.zeros(2)], None, "weights", np.zeros(2)):
        assert _one(key, bad) == [f"field {key!r} is not a dict of weights"], bad
    assert _one(key, {"w": np.zeros(2), "b": "x"}) == [f"field {key!r} holds a str at 'b', not a tensor"]
    assert _one(key, {"w": [1.0, 2.0]}) == [f"field {key!r} holds a list at 'w', not a tensor"]
    for value in (np.array([1.0, np.nan]), np.array([np.inf]), np.array([-np.inf]), paddle.full([2], float("nan"))):
        assert _one(key, {"w": np.zeros(2), "v": value}) == [
            f"field {key!r} holds NaN or Inf weights (in v): the run had diverged when it was written"]


@pytest.mark.parametrize("key", ["optimizer_g", "optimizer_d"])
def test_optimizer_fields(key):
    lr = {"last_epoch": 3, "last_lr": 1e-4}
    assert _one(key, {}) == []
    assert _one(key, {"w_moment1_0": np.zeros(2), "LR_Scheduler": lr}) == []
    assert _one(key, {"LR_Scheduler": {"last_epoch": -1, "last_lr": 0}}) == []  # a fresh schedule
    assert _one(key, {"LR_Scheduler": {"last_epoch": np.int64(2), "last_lr": np.float32(0.5)}}) == []
    for bad in ("adam", [1], None, 3):
        assert _one(key, bad) == [f"field {key!r} is not a dict"], bad
    schedule = f"field {key!r} has an LR schedule that is not {{last_epoch: int, last_lr: number}}"
    for bad in ("junk", None, {"last_epoch": -2, "last_lr": 0.1}, {"last_epoch": "4", "last_lr": 0.1},
                {"last_epoch": 4.0, "last_lr": 0.1}, {"last_epoch": True, "last_lr": 0.1},
                {"last_epoch": 4, "last_lr": "0.1"}, {"last_epoch": 4, "last_lr": math.nan},
                {"last_epoch": 4, "last_lr": math.inf}, {"last_epoch": 4}, {"last_lr": 0.1}):
        assert _one(key, {"LR_Scheduler": bad}) == [schedule], bad
    assert _one(key, {"w_moment1_0": 0.5}) == [f"field {key!r} holds a float at 'w_moment1_0', not a tensor"]


@pytest.mark.parametrize("key", ["epoch", "global_step"])
def test_whole_number_fields(key):
    for good in (0, 1, 10**9, np.int64(7), np.int32(0)):
        assert _one(key, good) == [], good
    for bad in (-1, np.int64(-3), True, False, 2.0, "2", None, [2]):
        assert _one(key, bad) == [f"field {key!r} is not a whole number >= 0"], bad


def test_global_step_not_below_epoch():
    assert field_problems({"epoch": 3, "global_step": 3}) == []
    assert field_problems({"epoch": 3, "global_step": 2}) == ["field 'global_step' is smaller than 'epoch'"]
    assert field_problems({"epoch": 0, "global_step": 0}) == []
    # only when both are whole numbers; otherwise the type lines alone
    assert field_problems({"epoch": 3, "global_step": -1}) == ["field 'global_step' is not a whole number >= 0"]
    assert field_problems({"global_step": 0}) == []


def test_best_field():
    assert _one("best", {"metric": 0.25, "epoch": 2}) == []
    assert _one("best", {"metric": np.float32(-1.5), "epoch": 0}) == []
    assert _one("best", {"metric": 3, "epoch": np.int64(1)}) == []
    msg = ["field 'best' is not {metric: number, epoch: int}"]
    for bad in (None, [], {"metric": math.nan, "epoch": 1}, {"metric": "0.2", "epoch": 1}, {"metric": None, "epoch": 1},
                {"metric": 0.2, "epoch": -1}, {"metric": 0.2, "epoch": 1.0}, {"metric": 0.2}, {"epoch": 1}):
        assert _one("best", bad) == msg, bad


def test_history_field():
    assert _one("history", {"train": [], "eval": []}) == []
    assert _one("history", {"train": [{"step": 1}], "eval": [{"swd": 0.1}], "other": 3}) == []
    msg = ["field 'history' is not {train: [records], eval: [records]}"]
    for bad in ([], None, {"train": []}, {"eval": []}, {"train": (), "eval": []}, {"train": [], "eval": [1]},
                {"train": [[1]], "eval": []}, {"train": "x", "eval": []}):
        assert _one("history", bad) == msg, bad


def test_rng_field():
    good = {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state()}
    assert _one("rng", good) == []
    paddle_msg = ["field 'rng' has no Paddle random state"]
    for bad in (None, [], {"numpy": good["numpy"]}, {**good, "paddle": []}, {**good, "paddle": ["state"]},
                {**good, "paddle": tuple(good["paddle"])}):
        assert _one("rng", bad) == paddle_msg
    numpy_msg = ["field 'rng' has no NumPy random state"]
    state = good["numpy"]
    for bad in (None, list(state), state[:4], ("PCG64",) + state[1:], (state[0], state[1][:623]) + state[2:],
                (state[0], list(state[1])) + state[2:]):
        assert _one("rng", {**good, "numpy": bad}) == numpy_msg


def _sampler_state(n=6, cursor=2):
    s = ArrayBatchSampler({"x": np.zeros((n, 1), np.float32)}, batch_size=2, seed=3)
    state = s.state_dict()
    state["cursor"] = cursor
    return state


def test_sampler_field():
    assert _one("sampler", _sampler_state()) == []
    assert _one("sampler", _sampler_state(cursor=0)) == []
    assert _one("sampler", _sampler_state(cursor=6)) == []  # exhausted permutation: the end of a shuffle
    assert _one("sampler", {**_sampler_state(), "perm": np.array([2, 0, 1, 5, 3, 4], np.int32)}) == []
    shape = ["field 'sampler' is not {rng, perm, cursor}"]
    for bad in (None, [], {"rng": 1, "perm": 2}, {"perm": np.arange(3), "cursor": 0}):
        assert _one("sampler", bad) == shape
    ints = ["field 'sampler' has a perm that is not a 1-D integer array"]
    for perm in (np.arange(6.0), list(range(6)), np.arange(6).reshape(2, 3), np.array([True] * 6)):
        assert _one("sampler", {**_sampler_state(), "perm": perm}) == ints
    perm_msg = ["field 'sampler' has a perm that is not a permutation of 0..5"]
    for perm in (np.array([0, 1, 2, 3, 4, 4]), np.arange(1, 7), np.array([5, 4, 3, 2, 1, -1])):
        assert _one("sampler", {**_sampler_state(), "perm": perm}) == perm_msg
    cursor_msg = ["field 'sampler' has a cursor outside [0, 6]"]
    for cursor in (7, -1, 2.0, True, "2", None):
        assert _one("sampler", _sampler_state(cursor=cursor)) == cursor_msg, cursor
    rng_msg = ["field 'sampler' has a random state that is not NumPy's bit-generator state"]
    good_rng = _sampler_state()["rng"]
    for rng in (None, (1, 2), {"state": good_rng["state"]}, {**good_rng, "bit_generator": 3},
                {**good_rng, "state": 5}):
        assert _one("sampler", {**_sampler_state(), "rng": rng}) == rng_msg
    restore_msg = ["field 'sampler' has a random state that NumPy cannot restore"]
    for rng in ({**good_rng, "bit_generator": "MT19937"}, {**good_rng, "state": {"state": "x"}}):
        assert _one("sampler", {**_sampler_state(), "rng": rng}) == restore_msg


def test_config_field():
    assert _one("config", None) == []
    assert _one("config", "MODEL:\n  width: 8\n") == []
    for bad in (3, b"MODEL: {}", {"MODEL": {}}, ["x"]):
        assert _one("config", bad) == ["field 'config' is not a YAML string"], bad


def test_problems_come_in_field_order_one_line_each():
    state = {"config": 3, "version": 1, "epoch": -1, "experiment": None, "sampler": None, "unknown": object()}
    assert field_problems(state) == ["field 'version' is not a string", "field 'experiment' is not a string",
                                     "field 'epoch' is not a whole number >= 0",
                                     "field 'sampler' is not {rng, perm, cursor}",
                                     "field 'config' is not a YAML string"]


# ------------------------------------------------------------- a checkpoint at the end of a shuffle
def test_sampler_state_at_an_exhausted_permutation_continues_exactly():
    x = np.arange(8, dtype=np.float32).reshape(8, 1)
    a = ArrayBatchSampler({"x": x}, batch_size=4, seed=5)
    first = [a.next()[0]["x"].numpy().ravel().tolist() for _ in range(2)]
    assert sorted(first[0] + first[1]) == list(range(8))  # one whole pass
    state = a.state_dict()
    assert state["cursor"] == 8 and state["perm"].tolist() == np.random.default_rng(5).permutation(8).tolist()
    b = ArrayBatchSampler({"x": x}, batch_size=4, seed=99)
    b.set_state_dict(state)
    rest_a = [a.next()[0]["x"].numpy().ravel().tolist() for _ in range(4)]
    rest_b = [b.next()[0]["x"].numpy().ravel().tolist() for _ in range(4)]
    assert rest_a == rest_b
    rng = np.random.default_rng(5)
    rng.permutation(8)
    second, third = rng.permutation(8), rng.permutation(8)
    assert rest_a == [second[:4].tolist(), second[4:].tolist(), third[:4].tolist(), third[4:].tolist()]


SAMPLES, BATCH, ITERS, N_CRITIC = 256, 64, 2, 2  # 2 x 2 critic batches of 64 = one pass over 256 per epoch


def _solver(out, epochs, checkpoint_path=None):
    paddle.seed(0)
    model = GAN(ToyGenerator(width=8), ToyCritic(width=8))
    objective = WGANGPLoss(0.1)
    return AdversarialSolver(
        model, builders.real_data_constraint(toy_arrays("8gaussians", SAMPLES, 0), BATCH, objective),
        ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-3, 0.5, 0.9, 16),
        builders.build_optimizer(model.critic.parameters(), 1e-3, 0.5, 0.9, 16),
        output_dir=str(out), epochs=epochs, iters_per_epoch=ITERS, n_critic=N_CRITIC, log_freq=1,
        experiment="toy", checkpoint_path=checkpoint_path, ema_decay=0.9)


def test_checkpoint_at_the_end_of_a_shuffle_resumes_exactly(tmp_path):
    full = _solver(tmp_path / "full", epochs=3)
    full.train()
    _solver(tmp_path / "half", epochs=1).train()
    path = tmp_path / "half" / "checkpoints" / "latest.pdckpt"
    saved = load_file(str(path))["sampler"]
    assert int(saved["cursor"]) == SAMPLES == len(saved["perm"])  # the permutation is used up exactly
    resumed = _solver(tmp_path / "resumed", epochs=3, checkpoint_path=str(path))
    assert resumed.global_step == ITERS and resumed.start_epoch == 2
    resumed.train()
    for name in ("generator", "critic"):
        a = getattr(full.model, name).state_dict()
        b = getattr(resumed.model, name).state_dict()
        for k in a:
            np.testing.assert_array_equal(b[k].numpy(), a[k].numpy(), err_msg=f"{name}.{k}")
    assert [r["generator_loss"] for r in resumed.history["train"]] == \
        [r["generator_loss"] for r in full.history["train"]]
    np.testing.assert_array_equal(resumed.next_real_batch()[0]["x"].numpy(), full.next_real_batch()[0]["x"].numpy())

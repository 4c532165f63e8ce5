"""TRAIN.pretrained_model_path: a new run that starts from given weights (fine-tuning).

The generator comes from a ``*_gen.pdparams`` or a full checkpoint (its evaluated,
averaged generator); a checkpoint gives the critic too. Optimizers, iterations and
the EMA start afresh; the file's architecture must be the run's.
"""

import json
import os
import pickle

import ppsci_ext  # noqa: F401  (before paddle)
import numpy as np
import paddle
import pytest

from ppsci_ext.arch import ToyGenerator
from ppsci_ext.errors import UserError
from ppsci_ext.experiment.settings import from_values
from ppsci_ext.experiment.toy import ToyExperiment
from ppsci_ext.io import load_file
from ppsci_ext.io.weights import extract_network

SMALL = {"MODEL.width": 16, "DATA.num_train_samples": 2000, "DATA.num_eval_samples": 300, "VIS.num_points": 100,
         "TRAIN.batch_size": 64, "TRAIN.n_critic": 2, "TRAIN.iters_per_epoch": 3, "TRAIN.eval_freq": 1,
         "log_freq": 1, "EVAL.batch_size": 100, "TRAIN.ema.use_ema": True, "TRAIN.ema.start_step": 1}


def toy(out, **values):
    return ToyExperiment(from_values("toy", ToyExperiment.all_keys(), {"output_dir": str(out), **SMALL, **values}))


def weights(layer):
    return {k: v.numpy().copy() for k, v in layer.state_dict().items()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A finished 2-epoch toy run with EMA (its checkpoint's generator is the average)."""
    out = tmp_path_factory.mktemp("first")
    toy(out, **{"TRAIN.epochs": 2, "seed": 3}).train()
    return out


def test_a_checkpoint_gives_the_averaged_generator_and_the_critic(first_run, tmp_path):
    path = str(first_run / "checkpoints" / "latest.pdckpt")
    state = load_file(path)
    exp = toy(tmp_path / "b", **{"TRAIN.pretrained_model_path": path})
    model = exp.build_model(exp.yaml_model_settings())
    exp.warm_start(model, exp.yaml_model_settings(), path)
    gen, critic = weights(model.generator), weights(model.critic)
    for k, v in extract_network(state, "generator", path).items():
        np.testing.assert_array_equal(gen[k], np.asarray(v))
    for k, v in extract_network(state, "critic", path).items():
        np.testing.assert_array_equal(critic[k], np.asarray(v))
    # the average, not the raw weights: the two differ after training with EMA
    raw = load_file(str(first_run / "checkpoints" / "latest_gen_raw.pdparams"))
    assert any(not np.array_equal(gen[k], np.asarray(raw[k])) for k in gen)


def test_a_generator_file_leaves_the_critic_as_built(first_run, tmp_path):
    path = str(first_run / "checkpoints" / "latest_gen.pdparams")
    exp = toy(tmp_path / "b", **{"TRAIN.pretrained_model_path": path})
    settings = exp.yaml_model_settings()
    model = exp.build_model(settings)
    before = weights(model.critic)
    exp.warm_start(model, settings, path)
    after = weights(model.critic)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    file = load_file(path)
    assert all(np.array_equal(weights(model.generator)[k], np.asarray(file[k])) for k in file)


def test_training_starts_from_the_weights_at_iteration_zero_and_resumes_without_reloading(first_run, tmp_path):
    path = str(first_run / "checkpoints" / "latest.pdckpt")
    out = tmp_path / "b"
    toy(out, **{"TRAIN.epochs": 1, "TRAIN.pretrained_model_path": path}).train()
    log = (out / "train.log").read_text()
    assert f"Starting from the generator and critic of {path}" in log
    state = load_file(str(out / "checkpoints" / "latest.pdckpt"))
    assert state["global_step"] == 3  # iterations start afresh: one epoch of 3
    assert json.load(open(out / "metrics.json"))["step"] == 3
    # a resume of the fine-tuned run continues from its own checkpoint, not from the file it started from
    exp = ToyExperiment(from_values("toy", ToyExperiment.all_keys(), {
        "output_dir": str(out), "TRAIN.epochs": 2, "TRAIN.checkpoint_path": str(out / "checkpoints" / "latest.pdckpt")}))
    assert exp.config.TRAIN.pretrained_model_path == path  # the run's own setting, kept as its provenance
    exp.train()
    assert "Starting from" not in (out / "train.log").read_text().split("Resuming")[-1]
    assert load_file(str(out / "checkpoints" / "latest.pdckpt"))["global_step"] == 6


def test_starting_changes_what_is_trained(first_run, tmp_path):
    """The same seed with and without the weights: the first evaluation differs (the weights were used)."""
    path = str(first_run / "checkpoints" / "latest.pdckpt")
    swd = []
    for name, extra in (("plain", {}), ("warm", {"TRAIN.pretrained_model_path": path})):
        toy(tmp_path / name, **{"TRAIN.epochs": 1, "seed": 5, **extra}).train()
        swd.append(json.load(open(tmp_path / name / "metrics.json"))["metrics"]["toy.swd"])
    assert swd[0] != swd[1]


def test_another_architecture_is_named_with_the_key_to_set(first_run, tmp_path):
    path = str(first_run / "checkpoints" / "latest_gen.pdparams")
    exp = toy(tmp_path / "b", **{"MODEL.width": 32, "TRAIN.pretrained_model_path": path})
    with pytest.raises(UserError) as e:
        exp.train()
    text = str(e.value)
    assert text.startswith(f"TRAIN.pretrained_model_path={path}: it holds a model with MODEL.width=16, but this run "
                           "has MODEL.width=32; set MODEL.width=16")
    assert "\n" not in text
    assert not os.path.exists(tmp_path / "b" / "checkpoints")


def test_a_resume_with_another_starting_file_is_refused(first_run, tmp_path):
    path = str(first_run / "checkpoints" / "latest.pdckpt")
    with pytest.raises(UserError) as e:
        toy(tmp_path / "b", **{"TRAIN.pretrained_model_path": path, "TRAIN.checkpoint_path": path})
    assert str(e.value) == (f"TRAIN.checkpoint_path={path}: TRAIN.pretrained_model_path={path} is set, but the run of "
                            "this checkpoint started from random weights: a resume continues with the checkpoint's "
                            "own weights; drop TRAIN.pretrained_model_path (or start a new run without "
                            "TRAIN.checkpoint_path).")


def test_the_same_command_plus_checkpoint_path_continues_a_fine_tuning_run(first_run, tmp_path, monkeypatch):
    path = str(first_run / "checkpoints" / "latest_gen.pdparams")
    out = tmp_path / "b"
    toy(out, **{"TRAIN.epochs": 1, "TRAIN.pretrained_model_path": path}).train()
    ckpt = str(out / "checkpoints" / "latest.pdckpt")
    exp = toy(out, **{"TRAIN.epochs": 2, "TRAIN.pretrained_model_path": path, "TRAIN.checkpoint_path": ckpt})
    assert exp.resume_changes == []
    exp.train()
    assert "Starting from" not in (out / "train.log").read_text().split("Resuming")[-1]
    assert load_file(ckpt)["global_step"] == 6
    # the same file spelt another way (relative to the working directory) is the same start
    monkeypatch.chdir(first_run)
    exp = toy(out, **{"TRAIN.epochs": 2, "TRAIN.pretrained_model_path": os.path.join("checkpoints", ".",
                                                                                       "latest_gen.pdparams"),
                      "TRAIN.checkpoint_path": ckpt})
    assert exp.resume_changes == [] and exp.resume_report == []
    assert exp.config.TRAIN.pretrained_model_path == path  # the run's own spelling, as its provenance
    other = str(first_run / "checkpoints" / "best_gen.pdparams")
    with pytest.raises(UserError, match=rf"^TRAIN.checkpoint_path=.*: TRAIN.pretrained_model_path={other} is set, but "
                                        rf"the run of this checkpoint started from {path}: "):
        toy(out, **{"TRAIN.epochs": 3, "TRAIN.pretrained_model_path": other, "TRAIN.checkpoint_path": ckpt})


def test_a_missing_file_is_one_line_before_any_data_is_read(tmp_path, monkeypatch):
    exp = toy(tmp_path / "b", **{"TRAIN.pretrained_model_path": str(tmp_path / "nope.pdparams")})
    monkeypatch.setattr(ToyExperiment, "train_data", lambda self: pytest.fail("data read before the weights"))
    with pytest.raises(UserError, match=r"^TRAIN.pretrained_model_path=.*nope.pdparams: weights file .* does not "
                                        r"exist; check the path"):
        exp.train()


def test_their_mnist_generator_is_refused_for_training(tmp_path):
    import paddlescience_reference as ref  # tests/ is on sys.path

    from ppsci_ext.experiment.mnist import MNISTExperiment

    path = str(tmp_path / "their_mnist.pdparams")
    paddle.save({k: paddle.to_tensor(np.zeros_like(v)) for k, v in ref.their_mnist_state(64).items()}, path)
    exp = MNISTExperiment(from_values("mnist", MNISTExperiment.all_keys(), {
        "output_dir": str(tmp_path / "run"), "TRAIN.pretrained_model_path": path}))
    model = exp.build_model(exp.yaml_model_settings())
    with pytest.raises(UserError, match=r"^it holds PaddleScience's example's generator.*not trained on; start from "
                                        r"weights written by this package\.$"):
        exp.warm_start(model, exp.yaml_model_settings(), path)


def test_the_toy_generator_of_a_weights_file_is_what_eval_reads(tmp_path):
    """A plain state dict of another width names the width to set (the file is read as eval reads it)."""
    path = str(tmp_path / "g.pdparams")
    paddle.save(ToyGenerator(width=24).state_dict(), path)
    exp = toy(tmp_path / "b", **{"TRAIN.pretrained_model_path": path})
    with pytest.raises(UserError, match=r"MODEL.width=24, but this run has MODEL.width=16; set MODEL.width=24 "):
        exp.warm_start(exp.build_model(exp.yaml_model_settings()), exp.yaml_model_settings(), path)


def test_the_vae_starts_from_its_decoder_and_encoder(tmp_path):
    """The VAE baseline's checkpoint gives both of its networks, named as such."""
    from ppsci_ext.experiment.vae import VAEMNISTExperiment
    from mnist_fixtures import write_small_mnist  # tests/ is on sys.path

    data = tmp_path / "mnist.pkl.gz"
    write_small_mnist(data)
    small = {"DATA.data_path": str(data), "MODEL.hidden_dim": 8, "TRAIN.epochs": 1, "TRAIN.iters_per_epoch": 2,
             "TRAIN.batch_size": 16, "TRAIN.eval_during_train": False, "EVAL.num_samples": 64, "EVAL.batch_size": 32}
    VAEMNISTExperiment(from_values("vae_mnist", VAEMNISTExperiment.all_keys(),
                                   {"output_dir": str(tmp_path / "a"), **small})).train()
    path = str(tmp_path / "a" / "checkpoints" / "latest.pdckpt")
    exp = VAEMNISTExperiment(from_values("vae_mnist", VAEMNISTExperiment.all_keys(), {
        "output_dir": str(tmp_path / "b"), **small, "TRAIN.pretrained_model_path": path}))
    model = exp.build_model(exp.yaml_model_settings())
    exp.warm_start(model, exp.yaml_model_settings(), path)
    state = load_file(path)
    for net, which in ((model.decoder, "generator"), (model.encoder, "critic")):
        mine = weights(net)
        assert all(np.array_equal(mine[k], np.asarray(v)) for k, v in extract_network(state, which, path).items())
    assert "Starting from the decoder and encoder of" in (tmp_path / "b" / "train.log").read_text()


def test_a_checkpoint_of_another_experiment_names_its_script(first_run, tmp_path):
    from ppsci_ext.experiment.mnist import MNISTExperiment

    path = str(first_run / "checkpoints" / "latest.pdckpt")
    exp = MNISTExperiment(from_values("mnist", MNISTExperiment.all_keys(), {
        "output_dir": str(tmp_path / "run"), "TRAIN.pretrained_model_path": path}))
    with pytest.raises(UserError, match=r"^it is a checkpoint of a wgangp_toy.py run, not of a wgangp_mnist.py one; "
                                        r"give the \*_gen.pdparams or .pdckpt of a wgangp_mnist.py run\.$"):
        exp.warm_start(exp.build_model(exp.yaml_model_settings()), exp.yaml_model_settings(), path)


class _Payload:
    """Unpickling this would create a folder (a stand-in for any code a weights file could run)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _empty(path, good, tmp_path):
    path.write_bytes(b"")


def _truncated(path, good, tmp_path):
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def _nan(path, good, tmp_path):
    state = {k: np.asarray(v).copy() for k, v in load_file(str(good)).items()}
    state[sorted(state)[0]][...] = np.nan
    paddle.save(state, str(path))


def _tampered(path, good, tmp_path):
    state = {k: np.asarray(v) for k, v in load_file(str(good)).items()}
    first = sorted(state)[0]
    state[first] = (state[first], _Payload(str(tmp_path / "pwned")))
    path.write_bytes(pickle.dumps(state, protocol=4))


@pytest.mark.parametrize("damage,phrase", [
    (_empty, "is empty; it was not written completely"),
    (_truncated, "give a .pdparams or .pdckpt file written by this package."),
    (_tampered, "refusing to load"),
    (_nan, "weights hold NaN or Inf (in net.0.bias): the run had diverged"),
])
def test_a_damaged_file_is_one_line_and_runs_nothing(first_run, tmp_path, monkeypatch, damage, phrase):
    path = tmp_path / "bad_gen.pdparams"
    damage(path, first_run / "checkpoints" / "latest_gen.pdparams", tmp_path)
    exp = toy(tmp_path / "b", **{"TRAIN.pretrained_model_path": str(path)})
    monkeypatch.setattr(ToyExperiment, "train_data", lambda self: pytest.fail("data read before the weights"))
    with pytest.raises(UserError) as e:
        exp.train()
    text = str(e.value)
    assert text.startswith(f"TRAIN.pretrained_model_path={path}: ") and phrase in text and "\n" not in text
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "b" / "checkpoints").exists()


# ------------------------------------------------------------------- toy points of a file: whose standardisation
def _points_file(path, mean, std, dim=2, n=500):
    np.savetxt(path, np.random.default_rng(1).normal(mean, std, (n, dim)), delimiter=",")
    return str(path)


def _toy_generator_file(path, mean=None, std=None, dim=2):
    paddle.seed(5)
    gen = ToyGenerator(width=16, out_dim=dim, data_mean=mean, data_std=std)
    paddle.save(gen.state_dict(), str(path))
    return str(path), {k: v.numpy().copy() for k, v in gen.state_dict().items()}


def _started(tmp_path, path, **values):
    exp = toy(tmp_path / "run", **{"TRAIN.pretrained_model_path": path, **values})
    settings = exp.yaml_model_settings()
    model = exp.build_model(settings)
    exp.warm_start(model, settings, path)
    log = (tmp_path / "run" / "train.log").read_text()
    return model.generator, log


def test_points_of_another_file_are_standardised_with_their_own_statistics(tmp_path):
    """The network comes from the file; mean and std are the new data's, as the run's first lines report."""
    path, theirs = _toy_generator_file(tmp_path / "a_gen.pdparams", np.full(2, 5.0), np.full(2, 2.0))
    data = _points_file(tmp_path / "b.csv", 100.0, 30.0)
    gen, log = _started(tmp_path, path, **{"DATA.mode": "file", "DATA.data_path": data})
    points = np.loadtxt(data, delimiter=",", dtype=np.float64)
    mean, std = gen.statistics()
    np.testing.assert_allclose(mean, points.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std, points.std(0), rtol=1e-4)
    for k, v in weights(gen).items():
        if k.startswith("net."):
            np.testing.assert_array_equal(v, theirs[k])
    assert ("The weights were trained on data of mean [5, 5] and std [2, 2]; the generator's standardisation is this "
            "run's data's (above).") in log


def test_the_same_statistics_say_nothing_more(tmp_path):
    data = _points_file(tmp_path / "a.csv", 5.0, 2.0)
    exp = toy(tmp_path / "run", **{"DATA.mode": "file", "DATA.data_path": data})
    settings = exp.yaml_model_settings()
    model = exp.build_model(settings)
    path, _ = _toy_generator_file(tmp_path / "a_gen.pdparams", *model.generator.statistics())
    exp.warm_start(model, settings, path)
    assert "The weights were trained on" not in (tmp_path / "run" / "train.log").read_text()


def test_a_file_generator_starts_a_built_in_data_run_in_its_own_units(tmp_path):
    path, theirs = _toy_generator_file(tmp_path / "a_gen.pdparams", np.full(2, 5.0), np.full(2, 2.0))
    gen, log = _started(tmp_path, path)
    assert gen.statistics() is None
    assert all(np.array_equal(v, theirs[k]) for k, v in weights(gen).items())
    assert ("The weights were trained on data of mean [5, 5] and std [2, 2]; the generator's standardisation is "
            "none: DATA.mode=8gaussians is trained in its own units.") in log


def test_a_built_in_data_generator_starts_a_file_run(tmp_path):
    path, theirs = _toy_generator_file(tmp_path / "g_gen.pdparams")
    data = _points_file(tmp_path / "b.csv", 100.0, 30.0)
    gen, log = _started(tmp_path, path, **{"DATA.mode": "file", "DATA.data_path": data})
    np.testing.assert_allclose(gen.statistics()[0], np.loadtxt(data, delimiter=",").mean(0), rtol=1e-5)
    assert all(np.array_equal(v, theirs[k]) for k, v in weights(gen).items() if k.startswith("net."))
    assert "The weights were trained on" not in log


def test_points_of_another_dimension_are_one_line(tmp_path):
    path, _ = _toy_generator_file(tmp_path / "a_gen.pdparams", np.zeros(2), np.ones(2))
    data = _points_file(tmp_path / "c.csv", 0.0, 1.0, dim=3)
    exp = toy(tmp_path / "run", **{"TRAIN.pretrained_model_path": path, "DATA.mode": "file", "DATA.data_path": data})
    with pytest.raises(UserError) as e:
        exp.train()
    assert str(e.value) == (f"TRAIN.pretrained_model_path={path}: it holds a generator of points of 2 dimensions, but "
                            f"DATA.data_path={data} has points of 3; start from a generator trained on points of 3 "
                            "dimensions.")
    assert not (tmp_path / "run" / "checkpoints").exists()

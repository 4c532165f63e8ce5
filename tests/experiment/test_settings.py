"""The door: Settings from a Hydra config and from Python values, the same checks and messages, resume rules."""

import os

import pytest
from omegaconf import OmegaConf

from ppsci_ext.errors import UserError
from ppsci_ext.experiment import config, settings
from ppsci_ext.experiment.base import COMMON_KEYS
from ppsci_ext.experiment.images import ImagesExperiment
from ppsci_ext.experiment.mnist import MNISTExperiment
from ppsci_ext.experiment.toy import ToyExperiment

TOY_KEYS = ToyExperiment.all_keys()


def toy(values=None, **more):
    return settings.from_values("toy", TOY_KEYS, {"output_dir": "runs/x", **(values or {}), **more})


def test_yaml_defaults_become_typed_values():
    s = toy()
    assert s.TRAIN.batch_size == 256 and s.TRAIN.n_critic == 5 and s.MODEL.width == 512
    assert s.LOSS.gp_lambda == pytest.approx(0.1) and s.DATA.mode == "8gaussians" and s.mode == "train"
    assert s.TRAIN.ema.decay == pytest.approx(0.999) and s.TRAIN.ema.use_ema is False
    assert s.given == frozenset({"output_dir"})
    assert s.wandb_config == {}


def test_nested_and_dotted_values_are_the_same():
    a = toy({"TRAIN": {"batch_size": 64, "ema": {"decay": 0.5}}})
    b = toy({"TRAIN.batch_size": 64, "TRAIN.ema.decay": 0.5})
    assert a.to_dict() == b.to_dict()
    assert a.TRAIN.batch_size == 64 and a.TRAIN.ema.decay == 0.5 and a.TRAIN.n_critic == 5
    assert {"TRAIN.batch_size", "TRAIN.ema.decay"} <= a.given and "TRAIN.n_critic" not in a.given


def test_settings_are_read_only_and_hold_only_declared_keys():
    s = toy()
    with pytest.raises(AttributeError, match="read-only"):
        s.TRAIN.batch_size = 3
    with pytest.raises(AttributeError, match=r"LOSS\.acgan_critic_scale is not a setting of this experiment"):
        s.LOSS.acgan_critic_scale  # an image-experiment key: the toy run has no silent default for it
    with pytest.raises(AttributeError, match=r"^nope is not a setting"):
        s.nope
    assert s.at("TRAIN.ema.avg_freq") == 1
    assert "swa" not in s.TRAIN  # PaddleScience keys this package does not read are checked, not carried


def test_each_experiment_declares_its_own_keys():
    paths = {k.path for k in ImagesExperiment.all_keys()}
    assert {"LOSS.acgan_critic_scale", "LOSS.acgan_generator_scale", "TRAIN.generator_batch_size"} <= paths
    assert "LOSS.acgan_critic_scale" not in {k.path for k in TOY_KEYS}
    assert "EVAL.pretrained_dis_model_path" in {k.path for k in TOY_KEYS}
    assert "EVAL.pretrained_dis_model_path" not in {k.path for k in MNISTExperiment.all_keys()}


def _hydra_message(overrides, tmp_path):
    """The message the script's door gives for ``overrides`` (composed as the script composes them)."""
    from hydra import compose, initialize_config_dir

    conf = os.path.dirname(settings.example_yaml("toy"))
    with initialize_config_dir(config_dir=conf, version_base=None):
        cfg = compose("wgangp_toy.yaml", overrides=[f"output_dir={tmp_path}", *overrides], return_hydra_config=True)
    with pytest.raises(UserError) as e:
        settings.from_hydra(cfg, TOY_KEYS)
    return str(e.value)


@pytest.mark.parametrize("override, value", [
    ("TRAIN.batch_size=0", 0), ("TRAIN.n_critic=abc", "abc"), ("TRAIN.lr_generator=nan", float("nan")),
    ("LOSS.gp_lambda=-1", -1), ("DATA.mode=circles", "circles"), ("TRAIN.ema.decay=1", 1),
    ("+TRAIN.batchsize=3", 3), ("use_amp=true", True),
])
def test_python_door_gives_the_script_text(override, value, tmp_path):
    key = override.lstrip("+").split("=")[0]
    from_script = _hydra_message([override], tmp_path)
    with pytest.raises(UserError) as e:
        settings.from_values("toy", TOY_KEYS, {"output_dir": str(tmp_path), key: value})
    assert str(e.value) == from_script
    assert key in from_script


def test_declared_ranges_are_the_documented_ones():
    """Pinned independently of the declarations (a sweep derived from them cannot catch a wrong range)."""
    keys = {k.path: k for k in TOY_KEYS}
    allowed = {"TRAIN.batch_size": (1, 0), "TRAIN.n_critic": (1, 0), "TRAIN.epochs": (1, 0),
               "TRAIN.iters_per_epoch": (1, 0), "TRAIN.save_freq": (1, 0), "TRAIN.eval_freq": (1, 0),
               "LOSS.gp_lambda": (0, -0.001), "TRAIN.lr_generator": (1e-9, 0), "TRAIN.lr_critic": (1e-9, 0),
               "TRAIN.beta1": (0, -0.1), "TRAIN.beta2": (0.999, 1), "TRAIN.ema.decay": (0.5, 1),
               "TRAIN.ema.start_step": (0, -1), "TRAIN.ema.avg_freq": (1, 0), "seed": (2**32 - 1, 2**32),
               "DATA.num_eval_samples": (2, 1), "MODEL.hidden_layers": (0, -1), "VIS.pair_dims": (1, 0)}
    for path, (good, bad) in allowed.items():
        assert keys[path].problem(good) is None, path
        assert keys[path].problem(bad) is not None, path
    assert keys["TRAIN.ema.decay"].problem(0) is not None and keys["TRAIN.beta1"].problem(1) is not None
    assert keys["mode"].choices == ("train", "eval", "export", "infer")
    assert keys["device"].nullable and not keys["TRAIN.batch_size"].nullable


def test_given_comes_from_the_command_line(tmp_path):
    from hydra import compose, initialize_config_dir

    conf = os.path.dirname(settings.example_yaml("toy"))
    with initialize_config_dir(config_dir=conf, version_base=None):
        cfg = compose("wgangp_toy.yaml", overrides=[f"output_dir={tmp_path}", "MODEL.width=32", "seed=3"],
                      return_hydra_config=True)
    s = settings.from_hydra(cfg, TOY_KEYS)
    assert s.given == frozenset({"output_dir", "MODEL.width", "seed"})
    assert s.MODEL.width == 32 and s.seed == 3 and s.output_dir == str(tmp_path)


def _stored():
    s = toy({"MODEL.width": 32, "TRAIN.batch_size": 64, "seed": 7, "EVAL.batch_size": 100})
    return s.to_yaml()


def test_resume_takes_the_runs_settings():
    now = toy({"TRAIN.checkpoint_path": "a.pdckpt", "TRAIN.epochs": 30})
    merged, report, changed = settings.resumed(now, _stored(), TOY_KEYS, "a.pdckpt")
    assert changed == []
    assert merged.MODEL.width == 32 and merged.TRAIN.batch_size == 64 and merged.seed == 7
    assert merged.EVAL.batch_size == 100
    assert merged.TRAIN.epochs == 30 and merged.TRAIN.checkpoint_path == "a.pdckpt"
    assert merged.output_dir == "runs/x"  # the invocation's folder, not the stored one
    assert report == ["TRAIN.epochs: 16 in file, 30 now"]


def test_resume_refuses_changes_that_alter_training():
    now = toy({"TRAIN.checkpoint_path": "a.pdckpt", "TRAIN.batch_size": 32, "MODEL.width": 64})
    with pytest.raises(UserError) as e:
        settings.resumed(now, _stored(), TOY_KEYS, "a.pdckpt")
    assert "MODEL.width: 32 in file, 64 now; TRAIN.batch_size: 64 in file, 32 now" in str(e.value)
    assert "TRAIN.allow_resume_changes=true" in str(e.value)
    allowed = toy({"TRAIN.checkpoint_path": "a.pdckpt", "TRAIN.batch_size": 32, "TRAIN.allow_resume_changes": True})
    merged, report, changed = settings.resumed(allowed, _stored(), TOY_KEYS, "a.pdckpt")
    assert merged.TRAIN.batch_size == 32 and merged.MODEL.width == 32
    assert report == [] and changed == ["TRAIN.batch_size: 64 in file, 32 now"]


def test_resume_change_classes():
    stored = {"TRAIN.epochs": 1, "TRAIN.eval_freq": 1, "EVAL.batch_size": 1, "VIS.num_points": 1, "seed": 1,
              "LOSS.gp_lambda": 1.0, "TRAIN.lr_critic": 1.0, "output_dir": "a", "TRAIN.overwrite": False}
    given = {"TRAIN.epochs": 2, "TRAIN.eval_freq": 2, "EVAL.batch_size": 2, "VIS.num_points": 2, "seed": 2,
             "LOSS.gp_lambda": 2.0, "TRAIN.lr_critic": 2.0, "output_dir": "b", "TRAIN.overwrite": True}
    harmless, changing = settings.resume_changes(stored, given)
    assert [h.split(":")[0] for h in harmless] == ["EVAL.batch_size", "TRAIN.epochs", "TRAIN.eval_freq",
                                                  "VIS.num_points"]
    assert [c.split(":")[0] for c in changing] == ["LOSS.gp_lambda", "TRAIN.lr_critic", "seed"]


@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['touch PWNED']",
                                  "MODEL: !!python/name:os.system", "[1, 2", 42])
def test_a_stored_config_is_never_run(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"a\.pdckpt stores"):
        settings.resumed(toy(), text, TOY_KEYS, "a.pdckpt")
    assert not os.path.exists(tmp_path / "PWNED")


def test_help_lists_what_the_door_reads():
    text = config.help_text(settings.example_yaml("toy"), "wgangp_toy.py")
    for key in COMMON_KEYS:
        if key.path.startswith(("TRAIN", "LOSS", "MODEL")) and key.path != "TRAIN.checkpoint_path":
            assert key.path in text, key.path


def test_from_values_never_touches_hydra(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    conf = os.path.dirname(settings.example_yaml("toy"))
    with initialize_config_dir(config_dir=conf, version_base=None):
        hydra_state = GlobalHydra.instance().config_loader()
        toy({"TRAIN.batch_size": 8})
        with pytest.raises(UserError):
            toy({"TRAIN.batch_size": 0})
        assert GlobalHydra.instance().is_initialized()
        assert GlobalHydra.instance().config_loader() is hydra_state
        cfg = compose("wgangp_toy.yaml", overrides=[f"output_dir={tmp_path}"])
    assert OmegaConf.select(cfg, "TRAIN.batch_size") == 256


@pytest.mark.parametrize("name", ["toy", "mnist", "cifar10", "images"])
def test_help_says_where_the_shared_caches_go(name):
    text = config.help_text(settings.example_yaml(name), f"wgangp_{name}.py")
    line = next(line for line in text.splitlines() if line.strip().startswith("output_dir="))
    assert "$PPSCI_EXT_CACHE or ~/.cache/ppsci_ext" in line and "nowhere else" not in line

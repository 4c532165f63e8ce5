"""Weights files that hold something else: not a dict, no weights, NaN weights, a stored config with YAML tags."""

import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
from conftest import EXAMPLES

from ppsci_ext.arch import ToyCritic, ToyGenerator
from ppsci_ext.errors import UserError
from ppsci_ext.io.weights import (
    CHECKPOINT_FORMAT,
    UnsafeStoredConfig,
    extract_network,
    load_checked,
    load_file,
    load_network,
    nonfinite_refusal,
    nonfinite_weights,
    parse_stored_config,
)

ADVICE = "give a *_gen.pdparams / *_dis.pdparams or .pdckpt file written by this package."


def _saved(tmp_path, name, obj):
    path = str(tmp_path / name)
    paddle.save(obj, path)
    return path


@pytest.mark.parametrize("obj,kind", [([1, 2, 3], "list"), ((1.0, 2.0), "tuple"), (np.zeros((2, 2)), "Tensor"),
                                      ("weights", "str"), (7, "int")])
def test_weights_file_of_no_dict_is_one_line(tmp_path, obj, kind):
    path = _saved(tmp_path, "w.pdparams", obj)
    with pytest.raises(UserError) as info:
        extract_network(load_file(path), "generator", path)
    assert str(info.value) == (f"{path} holds an object of type {kind}, not generator weights (a dict of named "
                               f"tensors); {ADVICE}")
    with pytest.raises(UserError) as info:  # the path every loader takes
        load_network(ToyGenerator(width=4), path, "critic")
    assert str(info.value).startswith(f"{path} holds an object of type {kind}, not critic weights")


def test_checkpoint_whose_network_field_is_a_list(tmp_path):
    path = _saved(tmp_path, "c.pdckpt", {"format": CHECKPOINT_FORMAT, "generator": [1, 2], "critic": {}})
    with pytest.raises(UserError) as info:
        extract_network(load_file(path), "generator", path)
    assert str(info.value).startswith(f"{path} holds an object of type list, not generator weights")
    with pytest.raises(UserError) as info:
        extract_network(load_file(path), "critic", path)
    assert str(info.value) == f"{path} holds no weights (an empty dict); give another file."


def test_checkpoint_gives_the_average_when_it_has_one():
    ema, raw = {"a": np.ones(1)}, {"a": np.zeros(1)}
    obj = {"format": CHECKPOINT_FORMAT, "generator": raw, "generator_ema": ema, "critic": {"b": np.ones(2)}}
    assert extract_network(obj, "generator", "x") is ema
    assert extract_network(obj, "critic", "x") is obj["critic"]
    assert extract_network({"format": CHECKPOINT_FORMAT, "generator": raw}, "generator", "x") is raw
    with pytest.raises(UserError, match="without its 'critic' field"):
        extract_network({"format": CHECKPOINT_FORMAT, "generator": raw}, "critic", "x")
    with pytest.raises(UserError, match="unknown format 'other/2'"):
        extract_network({"format": "other/2", "generator": raw}, "generator", "x")


def test_a_list_as_eval_weights_of_the_example_is_one_line(tmp_path):
    path = _saved(tmp_path, "list_gen.pdparams", [np.zeros(3), np.ones(3)])
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), "mode=eval",
                           f"output_dir={tmp_path / 'eval'}", f"EVAL.pretrained_gen_model_path={path}"],
                          cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and f"{path} holds an object of type list, not generator weights" in errors[0]


def test_nonfinite_weights_names_each_bad_tensor_in_order():
    state = {
        "fine": paddle.ones([2, 2]),
        "nan": paddle.to_tensor([1.0, float("nan")]),
        "ints": np.array([1, 2], np.int64),
        "inf": np.array([[np.inf]], np.float32),
        "minus_inf": np.array([-np.inf, 0.0], np.float64),
        "scalar": 3.0,  # no shape: not a tensor, not judged here
        "half": np.array([np.nan], np.float16),
    }
    assert nonfinite_weights(state) == ["nan", "inf", "minus_inf", "half"]
    assert nonfinite_weights({"a": np.zeros((3, 3), np.float32), "b": paddle.zeros([1])}) == []


def test_nonfinite_refusal_names_the_first_bad_tensor_and_counts_the_rest():
    assert nonfinite_refusal({"a": np.ones(2), "b": np.zeros(1)}, "critic") is None
    assert nonfinite_refusal({"a": np.ones(2), "b": np.array([np.nan])}, "critic") == (
        "its critic weights hold NaN or Inf (in b): the run had diverged when they were written. Give an earlier "
        "checkpoint of that run.")
    text = nonfinite_refusal({"c": np.array([np.inf]), "a": np.array([-np.inf]), "b": np.array([np.nan])}, "x")
    assert text.startswith("its x weights hold NaN or Inf (in c and 2 more): ")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_load_checked_refuses_nonfinite_weights_and_leaves_the_layer_as_it_was(value):
    layer = ToyGenerator(width=4)
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    state = {k: v.numpy().copy() + 1.0 for k, v in layer.state_dict().items()}
    key = sorted(state)[-1]
    state[key].flat[0] = value
    with pytest.raises(UserError) as info:
        load_checked(layer, state, "generator", "g.pdparams")
    assert str(info.value) == (f"g.pdparams: its generator weights hold NaN or Inf (in {key}): the run had diverged "
                               "when they were written. Give an earlier checkpoint of that run.")
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    state[key].flat[0] = 0.0
    load_checked(layer, state, "generator", "g.pdparams")  # finite: loaded
    np.testing.assert_array_equal(layer.state_dict()[key].numpy(), state[key])


@pytest.mark.parametrize("which", ["gen", "dis"])
def test_eval_of_nan_weights_is_one_line_naming_the_file(tmp_path, which):
    gen, critic = ToyGenerator(width=16), ToyCritic(width=16)
    states = {"gen": {k: v.numpy() for k, v in gen.state_dict().items()},
              "dis": {k: v.numpy() for k, v in critic.state_dict().items()}}
    first = sorted(states[which])[0]
    states[which][first] = np.full_like(states[which][first], np.nan)
    gen_path = _saved(tmp_path, "run_gen.pdparams", states["gen"])
    dis_path = _saved(tmp_path, "run_dis.pdparams", states["dis"])
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "wgangp_toy.py"), "mode=eval", "MODEL.width=16",
                           f"output_dir={tmp_path / 'eval'}", f"EVAL.pretrained_gen_model_path={gen_path}",
                           f"EVAL.pretrained_dis_model_path={dis_path}"],
                          cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    bad = gen_path if which == "gen" else dis_path
    what = "generator" if which == "gen" else "critic"
    assert len(errors) == 1 and f"{bad}: its {what} weights hold NaN or Inf (in {first})" in errors[0], errors
    assert not os.path.exists(tmp_path / "eval" / "metrics.json")


# ------------------------------------------------------------------------------- stored configs
@pytest.mark.parametrize("yaml_text,tag", [
    ("MODEL: !!python/object/apply:os.system ['touch {marker}']\n", "!!python/object/apply:os.system"),
    ("MODEL:\n  width: !!python/object/apply:subprocess.call [['touch', '{marker}']]\n",
     "!!python/object/apply:subprocess.call"),
    ("!!python/object/new:os.system ['touch {marker}']\n", "!!python/object/new:os.system"),
    ("TRAIN: !!python/name:os.system\n", "!!python/name:os.system"),
    ("MODEL: {width: !!python/tuple [1, 2]}\n", "!!python/tuple"),
])
def test_python_tags_in_a_stored_config_are_refused_and_never_run(tmp_path, yaml_text, tag):
    marker = tmp_path / "ran"
    with pytest.raises(UnsafeStoredConfig) as info:
        parse_stored_config(yaml_text.replace("{marker}", str(marker)), "run.pdckpt")
    assert str(info.value) == (f"run.pdckpt stores a config with the YAML tag {tag}, which asks the reader to build a "
                               "Python object; refused, nothing from it was run. The file was edited or does not "
                               "come from this package: use another checkpoint.")
    assert isinstance(info.value, UserError) and not marker.exists()


def test_other_tags_and_damaged_configs_are_one_line():
    with pytest.raises(UnsafeStoredConfig) as info:
        parse_stored_config("MODEL: !custom 3\n", "a.pdckpt")
    assert str(info.value).startswith("a.pdckpt stores a config with the YAML tag !custom, which this package never "
                                      "writes; refused, nothing from it was run.")
    for text, phrase in [
        ("- 1\n- 2\n", "a.pdckpt stores a config of type ListConfig, not a mapping; it was edited or is damaged."),
        ("MODEL: [1, 2\n", "a.pdckpt stores a config that is not readable YAML (ParserError: "),
        (b"MODEL: {}", "a.pdckpt stores a config of type bytes, not YAML text;"),
        (None, "a.pdckpt stores a config of type NoneType, not YAML text;"),
    ]:
        with pytest.raises(UserError) as info:
            parse_stored_config(text, "a.pdckpt")
        assert str(info.value).startswith(phrase) and "\n" not in str(info.value)
        assert not isinstance(info.value, UnsafeStoredConfig)


def test_a_plain_stored_config_is_read_as_written():
    config = parse_stored_config("MODEL:\n  width: 512\n  name: !!str 12\nTRAIN:\n  lr: ${MODEL.width}\n", "a")
    assert config.MODEL.width == 512 and config.MODEL.name == "12" and config.TRAIN.lr == 512

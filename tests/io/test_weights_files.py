"""Weights files that hold something else: not a dict, no weights, NaN weights, a stored config with YAML tags."""

import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
from conftest import EXAMPLES

from ppsci_ext.arch import ToyGenerator
from ppsci_ext.errors import UserError
from ppsci_ext.io.weights import (
    CHECKPOINT_FORMAT,
    UnsafeStoredConfig,
    extract_network,
    load_file,
    load_network,
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

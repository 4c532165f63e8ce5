"""The Python API: ppsci_ext.pretrained.load / Generator.sample and ppsci_ext.fit, and the runnable page
docs/api.md, whose code blocks are run here as written."""

import hashlib
import os
import re

import numpy as np
import paddle
import pytest

import ppsci_ext
from ppsci_ext.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_docs_page_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    namespace = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
    # what the page says it prints
    samples = namespace["samples"]
    assert np.all(np.abs(samples.mean(axis=0) - [100.0, -1.0, 5.0]) < 0.5 * np.array([5.0, 0.5, 1.0]))
    assert np.all(np.abs(samples.std(axis=0) / [5.0, 0.5, 1.0] - 1) < 0.5)
    assert namespace["gen"].sample(8, seed=0).shape == (8, 32, 32, 1)
    assert not (tmp_path / "runs" / "fit_points" / "data").exists()  # trained in memory
    assert (tmp_path / "runs" / "fit_points" / "checkpoints" / "latest.pdckpt").is_file()
    assert (tmp_path / "runs" / "fit_images" / "checkpoints" / "latest.pdckpt").is_file()
    out = capsys.readouterr().out
    assert "(16, 28, 28, 1) uint8" in out and "(8, 32, 32, 1)" in out


def test_sample_is_fixed_by_the_seed_and_shaped_per_kind():
    gen = ppsci_ext.pretrained.load("toy-25gaussians")
    a, b = gen.sample(64, seed=3), gen.sample(64, seed=4)
    assert a.shape == (64, 2) and a.dtype == np.float32 and not np.array_equal(a, b)
    assert np.array_equal(a, gen.sample(64, seed=3))
    digits = ppsci_ext.pretrained.load("mnist").sample(3, seed=1)
    assert digits.dtype == np.uint8 and digits.shape == (3, 28, 28, 1) and digits.max() > 100


def test_load_reads_the_architecture_of_any_weights_file(tmp_path):
    from ppsci_ext.arch import CifarResNetGenerator, ResNet64Generator

    for network, expect in [(CifarResNetGenerator(dim=8, conditional=True, num_classes=4, channels=1),
                             (32, 1, 4)), (ResNet64Generator(dim=4, channels=3), (64, 3, 0))]:
        path = str(tmp_path / f"{type(network).__name__}_gen.pdparams")
        paddle.save(network.state_dict(), path)
        gen = ppsci_ext.pretrained.load(path)
        resolution, channels, classes = expect
        assert gen.kind == "images" and gen.settings["resolution"] == resolution and gen.num_classes == classes
        images = gen.sample(6, seed=0, labels=np.array([0, 1, 2, 3, 0, 1]) if classes else None)
        assert images.shape == (6, resolution, resolution, channels) and images.dtype == np.uint8
        # the loaded network computes what the saved one does
        network.eval()
        with paddle.no_grad():
            z = paddle.to_tensor(np.random.default_rng(0).standard_normal((6, 128)).astype(np.float32))
            inputs = {"z": z, "y": paddle.to_tensor(np.array([0, 1, 2, 3, 0, 1]))} if classes else {"z": z}
            expected = network(inputs)["img"].numpy()
        pixels = np.clip(np.floor((expected.astype(np.float64) + 1) / 2 * 255.99), 0, 255).astype(np.uint8)
        assert np.array_equal(images, pixels.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("bad,phrase", [
    ("no-such-name", "neither a shipped generator"),
    ("", "give a shipped name"),
])
def test_load_refuses_unknown_names_in_one_line(bad, phrase):
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(bad)
    assert phrase in str(info.value) and "\n" not in str(info.value)


def test_load_refuses_files_of_no_generator(tmp_path):
    path = str(tmp_path / "other.pdparams")
    paddle.save({"w": paddle.zeros([3, 3])}, path)
    with pytest.raises(UserError) as info:
        ppsci_ext.pretrained.load(path)
    assert "holds no generator of this package" in str(info.value) and path in str(info.value)
    (tmp_path / "junk.pdparams").write_bytes(b"not a weights file")
    with pytest.raises(UserError):
        ppsci_ext.pretrained.load(str(tmp_path / "junk.pdparams"))


def test_sample_checks_its_labels():
    gen = ppsci_ext.pretrained.load("toy-8gaussians")
    with pytest.raises(UserError) as info:
        gen.sample(4, labels=np.zeros(4, np.int64))
    assert "unconditional" in str(info.value)
    with pytest.raises(UserError):
        gen.sample(0)


@pytest.mark.parametrize("X,phrase", [
    (np.zeros((10, 4, 4), np.float32), "give points [N, D] of floats, or uint8 images"),
    (np.zeros((10, 2), np.int64), "give points [N, D] of floats"),
])
def test_fit_refuses_arrays_it_cannot_model(tmp_path, X, phrase):
    with pytest.raises(UserError) as info:
        ppsci_ext.fit(X, output_dir=str(tmp_path / "run"))
    assert phrase in str(info.value)


def test_fit_refuses_bad_overrides_in_one_line(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 2))
    with pytest.raises(UserError) as info:
        ppsci_ext.fit(X, output_dir=str(tmp_path / "run"), overrides=["TRAIN.batch_size=-1"])
    assert str(info.value).startswith("TRAIN.batch_size=-1 is not allowed")
    with pytest.raises(UserError) as info:
        ppsci_ext.fit(X, output_dir=str(tmp_path / "run2"), overrides=["NOT.A.KEY=1"])
    assert "\n" not in str(info.value)


def test_fit_gives_noise_of_at_least_the_data_dimension(tmp_path):
    X = np.random.default_rng(0).normal(size=(400, 5))
    gen, critic = ppsci_ext.fit(X, epochs=1, output_dir=str(tmp_path / "run"),
                                overrides=["MODEL.width=8", "DATA.num_eval_samples=100", "VIS.num_points=50"])
    assert gen.noise_dim == 5 and gen.sample(10).shape == (10, 5)
    assert critic({"x": paddle.zeros([2, 5])})["score"].shape == [2, 1]


def _script_error(tmp_path, *overrides):
    """The one-line error of wgangp_toy.py for ``overrides`` (without the ``ERROR: `` prefix)."""
    from conftest import run_example

    proc = run_example("wgangp_toy.py", f"output_dir={tmp_path / 'script'}", *overrides, cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr[-2000:]
    return proc.stderr.strip().splitlines()[-1][len("ERROR: "):]


@pytest.mark.parametrize("override, keyword", [
    ("TRAIN.batch_size=0", {"TRAIN": {"batch_size": 0}}),
    ("TRAIN.n_critic=abc", {"TRAIN": {"n_critic": "abc"}}),
    ("TRAIN.lr_critic=nan", {"settings": {"TRAIN.lr_critic": float("nan")}}),
    ("+MODEL.widht=3", {"MODEL": {"widht": 3}}),
])
def test_fit_raises_the_scripts_text_inside_a_hydra_app(tmp_path, override, keyword):
    """fit in a composed Hydra app: the script's message, and Hydra's state is left as it was."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ppsci_ext.experiment.settings import example_yaml

    expected = _script_error(tmp_path, "DATA.mode=file", "DATA.data_path=points.npy", override)
    X = np.random.default_rng(0).normal(size=(300, 2))
    with initialize_config_dir(config_dir=os.path.dirname(example_yaml("toy")), version_base=None):
        loader = GlobalHydra.instance().config_loader()
        with pytest.raises(UserError) as info:
            ppsci_ext.fit(X, output_dir=str(tmp_path / "run"), **keyword)
        assert GlobalHydra.instance().is_initialized() and GlobalHydra.instance().config_loader() is loader
        assert compose("wgangp_toy.yaml", overrides=["output_dir=x"]).TRAIN.batch_size == 256
    assert str(info.value) == expected
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_fit_trains_in_memory_and_returns_the_trained_networks(tmp_path):
    X = np.random.default_rng(1).normal([3.0, -1.0], [1.0, 0.5], size=(512, 2))
    out = tmp_path / "run"
    gen, critic = ppsci_ext.fit(X, epochs=1, output_dir=str(out), TRAIN={"batch_size": 64, "ema": {"use_ema": True,
                                "start_step": 0, "decay": 0.5}}, MODEL={"width": 16},
                                settings={"DATA.num_eval_samples": 100, "VIS.num_points": 50})
    assert not any(name.endswith((".npy", ".npz")) for _, _, files in os.walk(out) for name in files)
    state = paddle.load(str(out / "checkpoints" / "latest.pdckpt"))
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:16]
    assert f"<in-memory X: [512, 2] float64, sha256 {digest}>" in state["config"]
    # the returned generator is the average (EMA), identical to the saved one, and was not reloaded from it
    saved = paddle.load(str(out / "checkpoints" / "latest_gen.pdparams"))
    for key, value in gen.network.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), np.asarray(saved[key]), err_msg=key)
    raw = paddle.load(str(out / "checkpoints" / "latest_gen_raw.pdparams"))
    assert not np.array_equal(raw["net.0.weight"].numpy() if hasattr(raw["net.0.weight"], "numpy")
                              else raw["net.0.weight"], np.asarray(saved["net.0.weight"]))
    assert gen.source == str(out) and gen.kind == "toy" and gen.settings["width"] == 16
    # iterations per epoch: N // (batch * n_critic) = 512 // (64 * 5) = 1
    assert state["global_step"] == 1
    critic_saved = paddle.load(str(out / "checkpoints" / "latest_dis.pdparams"))
    np.testing.assert_array_equal(critic.state_dict()["net.0.weight"].numpy(),
                                  np.asarray(critic_saved["net.0.weight"]))


def test_fit_refuses_an_earlier_fits_folder_before_writing(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 2))
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "latest_gen.pdparams").write_bytes(b"earlier")
    with pytest.raises(UserError, match="holds the files of another run"):
        ppsci_ext.fit(X, output_dir=str(out), MODEL={"width": 8})
    assert (out / "checkpoints" / "latest_gen.pdparams").read_bytes() == b"earlier"
    assert sorted(os.listdir(out)) == [".ppsci_ext.lock", "checkpoints"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is not a folder"):
        ppsci_ext.fit(X, output_dir=str(tmp_path / "file"))


def test_fit_takes_a_pathlib_folder(tmp_path):
    import pathlib

    X = np.random.default_rng(0).normal(size=(300, 2))
    with pytest.raises(UserError, match=r"^TRAIN.batch_size=0 is not allowed"):  # the path itself is accepted
        ppsci_ext.fit(X, output_dir=pathlib.Path(tmp_path / "run"), TRAIN={"batch_size": 0})

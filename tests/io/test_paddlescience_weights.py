"""PaddleScience's WGAN-GP example weights (io/paddlescience.py): the toy generator mapped onto ToyGenerator,
the MNIST and CIFAR-10 ones onto this package's implementation of their networks (arch/paddlescience.py).

The state dicts are built here with the names and shapes of PaddleScience's
``examples/wgangp`` model files (random values), and the toy network's forward
is re-implemented from its documented structure (three Linear + ReLU layers on
2-D noise, then a Linear to 2).
"""

import json
import os

import ppsci_ext  # noqa: F401  (before paddle)
import numpy as np
import paddle
import pytest

from ppsci_ext.arch import ToyGenerator
from ppsci_ext.errors import UserError
from ppsci_ext.io import paddlescience
from ppsci_ext.io.weights import load_checked

import paddlescience_reference as ref  # tests/ is on sys.path


def toy_state(dim=512, prefix="generator.", seed=0):
    """PaddleScience's ``WganGpToyGenerator(dim).state_dict()``: names and shapes, random values."""
    rng = np.random.default_rng(seed)
    shapes = {"reluLayer1.linear.weight": (2, dim), "reluLayer1.linear.bias": (dim,),
              "reluLayer2.linear.weight": (dim, dim), "reluLayer2.linear.bias": (dim,),
              "reluLayer3.linear.weight": (dim, dim), "reluLayer3.linear.bias": (dim,),
              "linear.weight": (dim, 2), "linear.bias": (2,)}
    return {prefix + k: (rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float32) for k, s in shapes.items()}


def their_toy_forward(state, z, prefix="generator."):
    """The toy generator's forward from its documented structure, in NumPy."""
    h = z.astype(np.float64)
    for i in (1, 2, 3):
        h = np.maximum(h @ state[f"{prefix}reluLayer{i}.linear.weight"] + state[f"{prefix}reluLayer{i}.linear.bias"], 0)
    return h @ state[f"{prefix}linear.weight"] + state[f"{prefix}linear.bias"]


def mnist_state(dim=8):
    """PaddleScience's ``WganGpMnistGenerator(dim=dim).state_dict()`` names and shapes (zeros)."""
    return {k: np.zeros_like(v) for k, v in ref.their_mnist_state(dim).items()}


def cifar10_state(dim=8, conditional=False):
    """PaddleScience's ``WganGpCifar10Generator`` state dict names and shapes (zeros)."""
    return {k: np.zeros_like(v) for k, v in ref.their_cifar10_state(dim, conditional).items()}


@pytest.mark.parametrize("prefix", ["generator.", ""])
def test_toy_weights_land_on_the_right_parameters(prefix):
    state = toy_state(dim=16, prefix=prefix)
    mapped = paddlescience.translate(state, "f.pdparams", "toy")
    assert sorted(mapped) == ["net.0.bias", "net.0.weight", "net.2.bias", "net.2.weight", "net.4.bias",
                              "net.4.weight", "net.6.bias", "net.6.weight"]
    assert mapped["net.0.weight"] is state[prefix + "reluLayer1.linear.weight"]
    assert mapped["net.2.bias"] is state[prefix + "reluLayer2.linear.bias"]
    assert mapped["net.4.weight"] is state[prefix + "reluLayer3.linear.weight"]
    assert mapped["net.6.weight"] is state[prefix + "linear.weight"]
    generator = ToyGenerator(width=16)
    load_checked(generator, mapped, "generator", "f.pdparams")
    z = np.random.default_rng(1).standard_normal((64, 2)).astype(np.float32)
    with paddle.no_grad():
        ours = generator({"z": paddle.to_tensor(z)})["x"].numpy()
    np.testing.assert_allclose(ours, their_toy_forward(state, z, prefix), atol=1e-5, rtol=1e-5)


def test_the_toy_experiment_reads_the_architecture_off_their_file(tmp_path):
    from ppsci_ext.experiment.toy import ToyExperiment

    path = str(tmp_path / "model_generator_toy_8gaussians.pdparams")
    paddle.save({k: paddle.to_tensor(v) for k, v in toy_state(dim=512).items()}, path)
    from ppsci_ext.experiment.settings import from_values

    exp = ToyExperiment(from_values("toy", ToyExperiment.all_keys(), {
        "mode": "eval", "output_dir": str(tmp_path / "run"), "EVAL.pretrained_gen_model_path": path,
        "DATA.num_eval_samples": 300, "VIS.num_points": 100}))
    obj = exp.load_generator_file(path)
    assert exp.model_settings_from(obj, path) == {"noise_dim": 2, "width": 512, "hidden_layers": 3, "data_dim": 2,
                                                  "standardized": False}
    metrics = exp.evaluate()
    assert {"toy.swd", "toy.mode_coverage"} <= set(metrics) or "toy.swd" in metrics
    saved = json.load(open(str(tmp_path / "run" / "metrics.json")))
    assert saved["generator"] == path and saved["model"]["width"] == 512


def test_a_checkpoint_or_another_state_dict_passes_unchanged():
    ours = {"net.0.weight": np.zeros((2, 4), np.float32)}
    assert paddlescience.translate(ours, "f", "toy") is ours
    checkpoint = {"format": "ppsci_ext-checkpoint", "generator": {"reluLayer1.linear.weight": 0}}
    assert paddlescience.translate(checkpoint, "f", "toy") is checkpoint
    assert paddlescience.detect([1, 2]) is None


def test_damaged_toy_files_are_refused_in_one_line():
    state = toy_state(dim=8)
    state["generator.reluLayer2.linear.weight"] = np.zeros((8, 9), np.float32)
    with pytest.raises(UserError, match=r"^f.pdparams: generator.reluLayer2.linear.weight has the shape \[8, 9\], "
                                        r"not \[8, 8\] as in PaddleScience's toy generator"):
        paddlescience.translate(state, "f.pdparams", "toy")
    state = toy_state(dim=8)
    del state["generator.linear.bias"]
    with pytest.raises(UserError, match=r"^f.pdparams looks like PaddleScience's toy generator but lacks "
                                        r"generator.linear.bias"):
        paddlescience.translate(state, "f.pdparams", "toy")
    state = toy_state(dim=8)
    state["generator.extra.weight"] = np.zeros(1, np.float32)
    with pytest.raises(UserError, match=r"has the unexpected generator.extra.weight"):
        paddlescience.translate(state, "f.pdparams", "toy")


def test_their_toy_file_in_another_experiment_names_the_script():
    with pytest.raises(UserError, match=r"^f holds PaddleScience's toy WGAN-GP generator; use it with wgangp_toy.py\.$"):
        paddlescience.translate(toy_state(dim=4), "f", "mnist")


@pytest.mark.parametrize("kind, state", [("mnist", mnist_state()), ("cifar10", cifar10_state()),
                                         ("cifar10", cifar10_state(conditional=True))])
def test_mnist_and_cifar10_files_in_another_experiment_name_the_script(kind, state):
    assert paddlescience.detect(state) == kind
    for experiment in {"toy", "mnist", "cifar10", "images"} - {kind}:
        with pytest.raises(UserError, match=rf"^model_generator.pdparams holds PaddleScience's {kind} WGAN-GP "
                                            rf"generator; use it with wgangp_{kind}.py\.$"):
            paddlescience.translate(state, "model_generator.pdparams", experiment)


def test_why_mnist_cannot_be_mapped_their_same_padding_is_shifted_by_one_pixel():
    """Paddle's 'same' 5x5 stride-2 transposed conv = this package's layer shifted by one pixel (the refusal's fact)."""
    from ppsci_ext.arch.mnist import _deconv

    paddle.seed(0)
    theirs = paddle.nn.Conv2DTranspose(4, 3, 5, [2, 2], "same")
    ours = _deconv(4, 3)
    ours.weight.set_value(theirs.weight)
    ours.bias.set_value(theirs.bias)
    x = paddle.randn([2, 4, 4, 4])
    a, b = theirs(x).numpy(), ours(x).numpy()
    assert a.shape == b.shape == (2, 3, 8, 8)
    np.testing.assert_allclose(a[:, :, 1:, 1:], b[:, :, :-1, :-1], atol=1e-5)  # theirs[o] = ours[o - 1]
    assert np.abs(a - b).max() > 0.1
    second = paddle.nn.Conv2DTranspose(4, 3, 5, [2, 2], "same", output_padding=1)
    assert second(paddle.randn([1, 4, 7, 7])).shape == [1, 3, 14, 14]  # 13 from "same" (2 + 2 cropped), + 1


def test_why_cifar10_cannot_be_mapped_their_upsampling_mixes_channels():
    """Four copies + Paddle's PixelShuffle(2): phase (i, j) of channel c is input channel (4c + 2i + j) mod C."""
    x = paddle.randn([1, 8, 3, 3])
    up = paddle.nn.PixelShuffle(2)(paddle.concat([x, x, x, x], axis=1)).numpy()
    xs = x.numpy()
    for c in range(8):
        for i in (0, 1):
            for j in (0, 1):
                np.testing.assert_array_equal(up[0, c, i::2, j::2], xs[0, (4 * c + 2 * i + j) % 8])
    nearest = paddle.nn.functional.interpolate(x, scale_factor=2, mode="nearest").numpy()
    assert np.abs(up - nearest).max() > 0.1


def test_pretrained_load_reads_paddlescience_toy_weights(tmp_path):
    """ppsci_ext.pretrained.load understands the PaddleScience example's toy generator file too."""
    state = toy_state(dim=32)
    path = tmp_path / "model_generator_toy_8gaussians.pdparams"
    paddle.save({k: paddle.to_tensor(v) for k, v in state.items()}, str(path))
    gen = ppsci_ext.pretrained.load(str(path))
    assert gen.kind == "toy" and gen.settings["width"] == 32
    z = np.random.default_rng(3).standard_normal((7, 2)).astype(np.float32)  # what sample(7, seed=3) draws
    np.testing.assert_allclose(gen.sample(7, seed=3), their_toy_forward(state, z), rtol=1e-5, atol=1e-5)


# ------------------------------------------------ MNIST and CIFAR-10: this package's implementation of their networks


def _save(state, path):
    paddle.save({k: paddle.to_tensor(v) for k, v in state.items()}, str(path))
    return str(path)


def test_the_reference_builders_have_the_names_and_shapes_of_the_builders_here():
    for ours, theirs in ((mnist_state(dim=8), ref.their_mnist_state(dim=8)),
                         (cifar10_state(dim=8), ref.their_cifar10_state(dim=8)),
                         (cifar10_state(dim=8, conditional=True), ref.their_cifar10_state(dim=8, conditional=True))):
        assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


@pytest.mark.parametrize("prefix", ["generator.", ""])
def test_mnist_tensors_land_on_the_parameters_of_the_same_role(prefix):
    state = ref.their_mnist_state(dim=3, prefix=prefix)
    mapped = paddlescience.translate(state, "f.pdparams", "mnist")
    roles = {"linear1": "linear", "conv2d_transpose1": "tconv1", "conv2d_transpose2": "tconv2",
             "conv2d_transpose3": "tconv3"}
    expected = {f"{ours}.{p}": f"{prefix}{theirs}.{p}" for theirs, ours in roles.items() for p in ("weight", "bias")}
    assert set(mapped) == set(expected)
    for ours, theirs in expected.items():
        assert mapped[ours] is state[theirs]


@pytest.mark.parametrize("conditional", [False, True])
def test_cifar10_tensors_land_on_the_parameters_of_the_same_role(conditional):
    state = ref.their_cifar10_state(dim=2, conditional=conditional)
    mapped = paddlescience.translate(state, "f.pdparams", "cifar10")
    norm = {"scale": "weight", "offset": "bias", "mean": "mean", "var": "variance"} if conditional else \
        {"weight": "weight", "bias": "bias", "_mean": "mean", "_variance": "variance"}
    expected = {"linear.weight": "linear1.weight", "linear.bias": "linear1.bias", "conv.weight": "conv.weight",
                "conv.bias": "conv.bias", "norm.weight": "Normalize.normalize.weight",
                "norm.bias": "Normalize.normalize.bias", "norm.mean": "Normalize.normalize._mean",
                "norm.variance": "Normalize.normalize._variance"}
    for b in range(3):
        for theirs, ours in (("conv_shortcut.conv2D", "shortcut"), ("conv_1.conv2D", "conv1"), ("conv_2", "conv2")):
            expected.update({f"blocks.{b}.{ours}.{p}": f"ResidualBlocks.{b}.{theirs}.{p}" for p in ("weight", "bias")})
        for n in (1, 2):
            expected.update({f"blocks.{b}.norm{n}.{q}": f"ResidualBlocks.{b}.normalize{n}.normalize.{p}"
                             for p, q in norm.items()})
    assert set(mapped) == set(expected) and len(expected) == len(state)
    for ours, theirs in expected.items():
        assert mapped[ours] is state["generator." + theirs]


@pytest.mark.parametrize("kind", ["mnist", "cifar10"])
def test_damaged_mnist_and_cifar10_files_are_refused_in_one_line(kind):
    build = ref.their_mnist_state if kind == "mnist" else ref.their_cifar10_state
    what = {"mnist": "MNIST", "cifar10": "CIFAR-10"}[kind]
    state = build(dim=2)
    name = "generator.conv2d_transpose2.bias" if kind == "mnist" else "generator.ResidualBlocks.1.conv_2.weight"
    state[name] = np.zeros((3,), np.float32)
    with pytest.raises(UserError, match=rf"^f.pdparams: {name} has the shape \[3\], not \[.*\] as in PaddleScience's "
                                        rf"{what} generator of width 2; the file is damaged or another model's\.$"):
        paddlescience.translate(state, "f.pdparams", kind)
    state = build(dim=2)
    del state[name]
    with pytest.raises(UserError, match=rf"^f.pdparams looks like PaddleScience's {what} generator but lacks {name}"):
        paddlescience.translate(state, "f.pdparams", kind)
    state = build(dim=2)
    state["generator.linear1.weight"] = np.zeros((128, 7), np.float32)
    with pytest.raises(UserError, match=r"^f.pdparams: generator.linear1.weight has the shape \[128, 7\]"):
        paddlescience.translate(state, "f.pdparams", kind)


def test_pretrained_load_samples_their_mnist_and_cifar10_generators(tmp_path):
    from ppsci_ext.data.images import quantize

    state = ref.their_mnist_state(dim=2, seed=4)
    gen = ppsci_ext.pretrained.load(_save(state, tmp_path / "model_generator_mnist.pdparams"))
    assert gen.kind == "mnist" and gen.settings["arch"] == "paddlescience" and gen.settings["dim"] == 2
    z = np.random.default_rng(3).standard_normal((5, 128)).astype(np.float32)  # what sample(5, seed=3) draws
    expected = quantize(ref.their_mnist_forward(state, z), (0.0, 1.0)).transpose(0, 2, 3, 1)
    assert np.abs(gen.sample(5, seed=3).astype(int) - expected.astype(int)).max() <= 1  # uint8, rounding at edges

    for conditional in (False, True):
        state = ref.their_cifar10_state(dim=2, conditional=conditional, seed=6)
        gen = ppsci_ext.pretrained.load(_save(state, tmp_path / f"model_generator_cifar10_{conditional}.pdparams"))
        assert gen.kind == "images" and gen.num_classes == (10 if conditional else 0)
        z = np.random.default_rng(3).standard_normal((12, 128)).astype(np.float32)
        y = np.arange(12) % 10 if conditional else None
        expected = quantize(ref.their_cifar10_forward(state, z, y), (-1.0, 1.0)).transpose(0, 2, 3, 1)
        sample = gen.sample(12, seed=3)
        assert sample.shape == (12, 32, 32, 3) and sample.dtype == np.uint8
        assert np.abs(sample.astype(int) - expected.astype(int)).max() <= 1


def test_the_eval_commands_of_their_doc_run_on_their_mnist_and_cifar10_files(tmp_path, tmp_path_factory):
    """python wgangp_{mnist,cifar10}.py mode=eval EVAL.pretrained_gen_model_path=FILE, exit 0, finite metrics."""
    import math

    from cifar10_fixtures import _inception_weights, make_members, write_archive
    from conftest import run_example
    from mnist_fixtures import _splits, _write_pickle

    mnist_data = _write_pickle(tmp_path / "mnist.pkl.gz", _splits(n=(60, 10, 40)))
    path = _save(ref.their_mnist_state(dim=64, seed=1), tmp_path / "model_generator_mnist.pdparams")
    out = tmp_path / "mnist_eval"
    proc = run_example("wgangp_mnist.py", "mode=eval", f"EVAL.pretrained_gen_model_path={path}",
                       f"DATA.data_path={mnist_data}", f"output_dir={out}", "EVAL.num_samples=40",
                       "EVAL.batch_size=20", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "read as PaddleScience's wgangp_mnist generator (dim 64" in proc.stdout
    data = json.loads((out / "metrics.json").read_text())
    assert data["model"]["arch"] == "paddlescience" and data["model"]["dim"] == 64
    assert {"mnist.score", "mnist.frechet"} <= set(data["metrics"])
    assert all(math.isfinite(v) for v in data["metrics"].values())

    archive = write_archive(tmp_path / "cifar-10-python.tar.gz", make_members(per_batch=4, n_test=4))
    weights, _ = _inception_weights(tmp_path_factory)
    path = _save(ref.their_cifar10_state(dim=16, seed=2), tmp_path / "model_generator_cifar10.pdparams")
    out = tmp_path / "cifar_eval"
    env_cache = os.environ.get("PPSCI_EXT_CACHE")
    os.environ["PPSCI_EXT_CACHE"] = str(tmp_path / "cache")
    try:
        proc = run_example("wgangp_cifar10.py", "mode=eval", f"EVAL.pretrained_gen_model_path={path}",
                           f"DATA.data_path={archive}", f"output_dir={out}", f"EVAL.inception_weights_path={weights}",
                           "EVAL.metrics=[kid]", "EVAL.num_samples=8", "EVAL.batch_size=8", "EVAL.kid_subset_size=8",
                           "EVAL.kid_subsets=10", cwd=str(tmp_path))
    finally:
        if env_cache is None:
            del os.environ["PPSCI_EXT_CACHE"]
        else:
            os.environ["PPSCI_EXT_CACHE"] = env_cache
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "read as PaddleScience's wgangp_cifar10 generator (dim 16, stored running statistics" in proc.stdout
    data = json.loads((out / "metrics.json").read_text())
    assert data["model"]["arch"] == "paddlescience" and data["model"]["dim"] == 16
    assert data["metrics"] and all(math.isfinite(v) for v in data["metrics"].values()), data


@pytest.mark.parametrize("kind, conditional", [("mnist", False), ("cifar10", False), ("cifar10", True)])
def test_their_generators_export_and_run_under_paddle_inference(kind, conditional, tmp_path):
    """mode=export needs nothing special for them: their ops trace as they are (parity with their forward)."""
    import types

    from ppsci_ext.arch.paddlescience import build_paddlescience_generator, describe_paddlescience_generator
    from ppsci_ext.experiment import deploy

    state = ref.their_mnist_state(dim=2) if kind == "mnist" else ref.their_cifar10_state(dim=2, conditional=conditional)
    mapped = paddlescience.translate(state, "f.pdparams", kind)
    generator = build_paddlescience_generator(describe_paddlescience_generator(mapped))
    load_checked(generator, mapped, "generator", "f.pdparams")
    inputs = {"z": np.random.default_rng(0).standard_normal((7, 128)).astype(np.float32)}
    if conditional:
        inputs["y"] = (np.arange(7) % 10).astype(np.int64)
    model_file, params_file = deploy.export_generator(generator, str(tmp_path / "inference" / "generator"))
    infer = types.SimpleNamespace(device="cpu", engine="native", precision="fp32", ir_optim=True, min_subgraph_size=30,
                                  gpu_mem=2000, gpu_id=0, max_batch_size=1024, num_cpu_threads=1, pdiparams_path=None)
    got = deploy.open_predictor(model_file, params_file, infer).predict(inputs, None)
    want = ref.their_mnist_forward(state, inputs["z"]) if kind == "mnist" else \
        ref.their_cifar10_forward(state, inputs["z"], inputs.get("y"))
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)

"""mode=export / mode=infer (experiment/deploy.py): parity of Paddle Inference with eager sampling, the INFER keys."""

import json
import os
import types

import ppsci_ext  # noqa: F401  (before paddle)
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppsci_ext.arch import CifarResNetGenerator, MNISTGenerator, ToyGenerator, VAEDecoder
from ppsci_ext.arch.cifar10 import BatchNorm
from ppsci_ext.errors import UserError
from ppsci_ext.experiment import deploy
from ppsci_ext.experiment.settings import from_values
from ppsci_ext.experiment.toy import ToyExperiment


def infer_settings(**changes):
    values = dict(device="cpu", engine="native", precision="fp32", ir_optim=True, min_subgraph_size=30, gpu_mem=2000,
                  gpu_id=0, max_batch_size=1024, num_cpu_threads=1, pdiparams_path=None)
    values.update(changes)
    return types.SimpleNamespace(**values)


def eager(generator, inputs):
    with paddle.no_grad():
        out = generator({k: paddle.to_tensor(v) for k, v in inputs.items()})[generator.output_keys[0]].numpy()
    return out


def served(generator, tmp_path, inputs, batch_size=None, **infer):
    model_file, params_file = deploy.export_generator(generator, str(tmp_path / "inference" / "generator"))
    predictor = deploy.open_predictor(model_file, params_file, infer_settings(**infer))
    return predictor.predict(inputs, batch_size)


def noise(n, dim, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


GENERATORS = {
    "toy": lambda: ToyGenerator(width=32),
    "mnist": lambda: MNISTGenerator(dim=8),
    "resnet": lambda: CifarResNetGenerator(dim=8),
    "resnet_acgan": lambda: CifarResNetGenerator(dim=8, conditional=True),
    "vae": lambda: VAEDecoder(hidden_dim=8),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_paddle_inference_gives_the_eager_samples(name, tmp_path):
    paddle.seed(3)
    generator = GENERATORS[name]()
    inputs = {"z": noise(12, generator.noise_dim)}
    if name == "resnet_acgan":
        inputs["y"] = (np.arange(12) % 10).astype(np.int64)
    want = eager(generator, inputs)
    got = served(generator, tmp_path, inputs)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5
    assert np.abs(want).max() > 1e-3  # not a trivially zero output
    # the eager generator is left as it was (dynamic, oneDNN) after the export
    np.testing.assert_array_equal(eager(generator, inputs), want)


def test_the_batch_dimension_is_dynamic(tmp_path):
    paddle.seed(4)
    generator = MNISTGenerator(dim=8)
    z = noise(7, 128)
    got = served(generator, tmp_path, {"z": z}, batch_size=3)  # batches of 3, 3 and 1
    assert got.shape == (7, 1, 28, 28)
    assert np.abs(got - eager(generator, {"z": z})).max() <= 1e-5


def test_the_resnet_normalises_with_each_batchs_statistics(tmp_path):
    paddle.seed(5)
    generator = CifarResNetGenerator(dim=8)
    z = noise(8, 128)
    got = served(generator, tmp_path, {"z": z}, batch_size=4)
    np.testing.assert_allclose(got[:4], eager(generator, {"z": z[:4]}), atol=1e-5, rtol=0)
    assert np.abs(got[:4] - eager(generator, {"z": z})[:4]).max() > 1e-3  # another batch, other statistics


def test_toy_export_includes_the_destandardisation(tmp_path):
    paddle.seed(6)
    generator = ToyGenerator(width=16, out_dim=3, data_mean=np.array([100.0, -5.0, 0.5]),
                             data_std=np.array([10.0, 2.0, 0.25]))
    z = noise(9, 2)
    got = served(generator, tmp_path, {"z": z})
    want = generator.to_data(eager(generator, {"z": z}))
    assert np.abs(got - want).max() <= 1e-4 * 100  # float32 rounding at the scale of the data
    assert np.abs(got.mean(0) - np.array([100.0, -5.0, 0.5])).max() < 30


def test_plain_ops_equal_the_eager_ones():
    paddle.seed(7)
    x = paddle.randn([5, 4, 3, 3])
    np.testing.assert_array_equal(deploy.nearest_up(x).numpy(), F.interpolate(x, scale_factor=2, mode="nearest").numpy())
    for classes in (0, 3):
        norm = BatchNorm(4, classes)
        norm.weight.set_value(paddle.rand(norm.weight.shape) + 0.5)
        norm.bias.set_value(paddle.randn(norm.bias.shape))
        y = paddle.to_tensor(np.array([0, 1, 2, 1, 0]), dtype="int64") if classes else None
        want = norm(x, y).numpy()
        twin = deploy.traceable(norm)
        assert type(twin) is deploy.BatchStatisticsNorm and type(norm) is BatchNorm
        np.testing.assert_allclose(twin(x, y).numpy(), want, atol=2e-6, rtol=0)


def test_traceable_swaps_every_batch_norm_and_up_block():
    generator = CifarResNetGenerator(dim=8, conditional=True)
    twin = deploy.traceable(generator)
    kinds = [type(m).__name__ for m in twin.sublayers()]
    assert kinds.count("BatchStatisticsNorm") == 7 and kinds.count("PlainUpBlock") == 3
    assert "BatchNorm" not in kinds and "UpBlock" not in kinds
    assert sorted(twin.state_dict()) == sorted(generator.state_dict())


@pytest.mark.parametrize("key, value, phrase", [
    ("device", "gpu", "INFER.device=gpu"),
    ("device", "npu", "INFER.device=npu"),
    ("engine", "tensorrt", "INFER.engine=tensorrt"),
    ("engine", "onnx", "INFER.engine=onnx"),
    ("precision", "fp16", "INFER.precision=fp16"),
    ("precision", "int8", "INFER.precision=int8"),
])
def test_values_this_build_cannot_serve_are_refused(key, value, phrase):
    if key == "device" and value == "gpu" and paddle.device.is_compiled_with_cuda():
        pytest.skip("a CUDA build serves gpu")
    with pytest.raises(UserError) as e:
        deploy.check_serving(infer_settings(**{key: value}))
    assert str(e.value).startswith(phrase) and "\n" not in str(e.value)


def test_cpu_native_and_mkldnn_are_served():
    for engine in ("native", "mkldnn"):
        deploy.check_serving(infer_settings(engine=engine))


@pytest.mark.parametrize("key, value, phrase", [
    ("INFER.batch_size", 0, "INFER.batch_size=0 is not allowed: INFER.batch_size must be a whole number >= 1 or null"),
    ("INFER.num_samples", 0, "INFER.num_samples=0 is not allowed"),
    ("INFER.engine", "fast", "INFER.engine='fast' is not allowed: INFER.engine must be one of native, tensorrt, onnx"),
    ("INFER.num_cpu_threads", 0, "INFER.num_cpu_threads=0 is not allowed"),
    ("INFER.gpu_id", -1, "INFER.gpu_id=-1 is not allowed"),
    ("mode", "serve", "mode='serve' is not allowed: mode must be one of train, eval, export, infer"),
])
def test_bad_infer_values_end_in_one_line(key, value, phrase, tmp_path):
    with pytest.raises(UserError) as e:
        from_values("toy", ToyExperiment.all_keys(), {key: value, "output_dir": str(tmp_path / "run")})
    assert str(e.value).startswith(phrase)


def toy_run(tmp_path, mode, **values):
    settings = from_values("toy", ToyExperiment.all_keys(),
                           {"mode": mode, "output_dir": str(tmp_path / "run"), **values})
    return ToyExperiment(settings)


def test_export_then_infer_writes_the_eager_samples_in_the_datas_units(tmp_path):
    model_file = toy_run(tmp_path, "export").export()
    assert model_file == str(tmp_path / "run" / "inference" / "generator.json")
    info = json.load(open(str(tmp_path / "run" / "inference" / "generator.ppsci_ext.json")))
    assert info["experiment"] == "toy" and info["inputs"] == {"z": [2]} and info["value_range"] is None
    assert info["model"] == {"noise_dim": 2, "width": 512, "hidden_layers": 3, "data_dim": 2, "standardized": False}
    assert info["weights"] == "shipped weights"
    path = toy_run(tmp_path, "infer", **{"INFER.num_samples": 50, "INFER.batch_size": 16}).infer()
    samples = np.load(path)["samples"]
    assert samples.dtype == np.float32 and samples.shape == (50, 2)
    # the same noise (seed + 3) through the shipped generator, eagerly
    import ppsci_ext.pretrained as pretrained

    gen = pretrained.load("toy-8gaussians")
    z = np.random.default_rng(42 + 3).standard_normal((50, 2)).astype(np.float32)
    want = eager(gen.network, {"z": z})
    assert np.abs(samples - want).max() <= 1e-5
    assert os.path.isfile(str(tmp_path / "run" / "toy_infer.png"))


def test_infer_refuses_missing_damaged_and_foreign_models(tmp_path):
    with pytest.raises(UserError, match=r"^output_dir: the model file .*generator.json does not exist; run mode=export"):
        toy_run(tmp_path, "infer").infer()
    toy_run(tmp_path, "export").export()
    folder = tmp_path / "run" / "inference"
    info = folder / "generator.ppsci_ext.json"
    text = info.read_text()
    info.write_text(text.replace('"experiment": "toy"', '"experiment": "mnist"'))
    with pytest.raises(UserError, match=r"exported by wgangp_mnist.py, not wgangp_toy.py"):
        toy_run(tmp_path, "infer").infer()
    info.unlink()
    with pytest.raises(UserError, match=r"generator.ppsci_ext.json is missing or unreadable"):
        toy_run(tmp_path, "infer").infer()
    info.write_text(text)
    params = folder / "generator.pdiparams"
    params.write_bytes(params.read_bytes()[:100])
    with pytest.raises(UserError, match=r"^output_dir: Paddle Inference cannot read .* damaged or truncated"):
        toy_run(tmp_path, "infer").infer()
    with pytest.raises(UserError, match=r"^INFER.pdmodel_path: the model file .*nowhere.json does not exist"):
        toy_run(tmp_path, "infer", **{"INFER.pdmodel_path": str(tmp_path / "nowhere.pdmodel")}).infer()


def test_export_of_a_file_mode_run_needs_weights(tmp_path):
    points = tmp_path / "p.npy"
    np.save(str(points), np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32))
    exp = toy_run(tmp_path, "export", **{"DATA.mode": "file", "DATA.data_path": str(points)})
    with pytest.raises(UserError, match=r"^mode=export needs generator weights: set INFER.pretrained_model_path"):
        exp.export()


def _experiment(kind, tmp_path, mode, **values):
    from ppsci_ext.experiment.images import ImagesExperiment
    from ppsci_ext.experiment.mnist import MNISTExperiment
    from ppsci_ext.experiment.vae import VAEMNISTExperiment

    cls = {"mnist": MNISTExperiment, "vae_mnist": VAEMNISTExperiment, "images": ImagesExperiment}[kind]
    return cls(from_values(kind, cls.all_keys(), {"mode": mode, "output_dir": str(tmp_path / "run"), **values}))


@pytest.mark.parametrize("kind, low", [("mnist", 0.0), ("vae_mnist", 0.0), ("images", -1.0)])
def test_infer_writes_images_quantised_from_the_generators_own_range(kind, low, tmp_path):
    """MNIST's sigmoid draws [0, 1], the images' tanh [-1, 1]: uint8 = floor((x - low) / (1 - low) * 255.99)."""
    import ppsci_ext.pretrained as pretrained
    from ppsci_ext.data.images import quantize

    values = {}
    if kind == "images":  # no shipped weights: a small untrained ResNet generator's
        paddle.seed(5)
        weights = str(tmp_path / "small_gen.pdparams")
        paddle.save(CifarResNetGenerator(dim=8).state_dict(), weights)
        values["INFER.pretrained_model_path"] = weights
    _experiment(kind, tmp_path, "export", **values).export()
    info = json.load(open(str(tmp_path / "run" / "inference" / "generator.ppsci_ext.json")))
    assert info["value_range"] == [low, 1.0]
    path = _experiment(kind, tmp_path, "infer", **{"INFER.num_samples": 20}).infer()
    got = np.load(path)["samples"]
    gen = pretrained.load(values.get("INFER.pretrained_model_path") or kind.replace("_", "-"))
    z = np.random.default_rng(42 + 3).standard_normal((20, gen.noise_dim)).astype(np.float32)
    want = quantize(eager(gen.network, {"z": z}), (low, 1.0)).transpose(0, 2, 3, 1)
    assert got.dtype == np.uint8 and got.shape == want.shape
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1  # floor() may tip over on float noise
    assert np.mean(got != want) < 0.01

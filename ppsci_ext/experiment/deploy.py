"""``mode=export`` and ``mode=infer``: the generator as a static Paddle Inference model, and sampling from it.

Export reads the architecture from the weights exactly as ``mode=eval`` does
(``Experiment.model_settings_from``, ``build_model``, ``load_checked``), wraps
the generator in a small ``ppsci.arch.Arch`` (``ExportedGenerator``: the
generator, its class input ``y`` when conditional and, for the toy experiment,
the data's de-standardisation ``x * std + mean``) and saves it with ppsci's
``Solver.export(input_spec, export_path)``: a static program with a dynamic
batch dimension (``<prefix>.json`` + ``<prefix>.pdiparams`` under Paddle 3's
PIR), plus ``<prefix>.ppsci_ext.json``, which says what the model is (the
experiment, its MODEL settings, inputs, value range) so that ``mode=infer``
can draw its inputs and pictures.

What is traced is the same function as eager sampling, built from plain Paddle
ops:

- the oneDNN convolutions of ``ops/onednn.py`` are ctypes ``PyLayer`` calls
  that a static graph cannot hold; tracing runs with ``PPSCI_EXT_ONEDNN=0``
  (``onednn._applies`` then picks Paddle's own convolution, bias by
  ``add_bias``), the switch the package documents;
- the ResNet generators normalise with the statistics of the current batch,
  in sampling too (``arch/cifar10.py``). Paddle's fused ``batch_norm`` with
  ``training=True`` and the nearest ``interpolate`` both fail under Paddle
  Inference's oneDNN kernels on this build (a crash and an unsupported
  attribute), so the exported copy computes batch statistics with ``mean``
  ops (``BatchStatisticsNorm``) and upsamples by ``expand`` + ``reshape``
  (``PlainUpBlock``). The exported ResNet therefore also normalises with the
  statistics of each batch it is given: samples depend on the batch, as in
  eager sampling, and the same batch gives the same images.

Infer runs the exported files with Paddle Inference through PaddleScience's
``deploy.python_infer.base.Predictor`` (shipped in the paddlesci wheel), driven
by the ``INFER.*`` keys; values this build cannot serve are refused in one
line (``check_serving``). It writes ``samples.npz`` in the data's units
(float32 points, or uint8 images ``[N, H, W, C]``) and the picture eval draws.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from typing import Any, Dict, Iterator, Optional, Tuple

import numpy as np
import paddle
import paddle.nn.functional as F
from ppsci.arch import base

from ppsci_ext.arch.cifar10 import BatchNorm, UpBlock, upsample_conv
from ppsci_ext.errors import UserError
from ppsci_ext.experiment.config import script
from ppsci_ext.io.atomic import atomic_savez, atomic_write_json
from ppsci_ext.io.weights import extract_network, load_checked

EXPORT_NAME = "generator"         # output_dir/inference/generator.{json,pdiparams}
INFO_SUFFIX = ".ppsci_ext.json"   # what the exported model is, beside it
INFO_FORMAT = "ppsci_ext-inference-1"
_EPS = 1e-5  # arch.cifar10's batch-norm epsilon


# ------------------------------------------------------------------ tracing
@contextlib.contextmanager
def paddle_kernels() -> Iterator[None]:
    """``PPSCI_EXT_ONEDNN=0`` for the duration: convolutions on Paddle's kernels, which a static graph can hold."""
    old = os.environ.get("PPSCI_EXT_ONEDNN")
    os.environ["PPSCI_EXT_ONEDNN"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PPSCI_EXT_ONEDNN", None)
        else:
            os.environ["PPSCI_EXT_ONEDNN"] = old


class BatchStatisticsNorm(BatchNorm):
    """``arch.cifar10.BatchNorm`` written out: batch mean and (biased) variance over N, H, W, then scale and offset."""

    def forward(self, x: paddle.Tensor, y: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        mean = x.mean(axis=[0, 2, 3], keepdim=True)
        var = ((x - mean) ** 2).mean(axis=[0, 2, 3], keepdim=True)
        x = (x - mean) * paddle.rsqrt(var + _EPS)
        if not self.num_classes:
            return x * self.weight.reshape([1, -1, 1, 1]) + self.bias.reshape([1, -1, 1, 1])
        scale, offset = F.embedding(y, self.weight), F.embedding(y, self.bias)
        return x * scale.unsqueeze([2, 3]) + offset.unsqueeze([2, 3])


def nearest_up(x: paddle.Tensor) -> paddle.Tensor:
    """Nearest-neighbour x2 upsampling of ``[N, C, H, W]`` by expand and reshape (N may be dynamic)."""
    _, c, h, w = x.shape
    return x.unsqueeze([3, 5]).expand([-1, -1, -1, 2, -1, 2]).reshape([-1, c, 2 * h, 2 * w])


class PlainUpBlock(UpBlock):
    """``arch.cifar10.UpBlock`` with the shortcut's upsampling written as ``nearest_up``."""

    def forward(self, x: paddle.Tensor, y: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        shortcut = nearest_up(self.shortcut(x))
        h = upsample_conv(self.conv1, F.relu(self.bn1(x, y)))
        h = self.conv2(F.relu(self.bn2(h, y)))
        return shortcut + h


def traceable(generator: paddle.nn.Layer) -> paddle.nn.Layer:
    """A copy of ``generator`` whose batch norms and up blocks are the plain-op versions (same parameters)."""
    twin = copy.deepcopy(generator)
    for layer in twin.sublayers(include_self=True):
        if type(layer) is BatchNorm:
            layer.__class__ = BatchStatisticsNorm
        elif type(layer) is UpBlock:
            layer.__class__ = PlainUpBlock
    return twin


class ExportedGenerator(base.Arch):
    """What ``mode=export`` saves: the generator's samples (toy: in the data's units).

    Args:
        generator (base.Arch): A generator of this package (its ``input_keys`` are the model's inputs).
    """

    def __init__(self, generator: base.Arch):
        super().__init__()
        self.generator = generator
        self.input_keys = tuple(generator.input_keys)
        self.output_keys = tuple(generator.output_keys[:1])
        self.destandardize = bool(getattr(generator, "standardized", False))

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        out = self.generator(x)[self.output_keys[0]]
        if self.destandardize:  # ToyGenerator.to_data: x * std + mean
            out = out * self.generator.data_std + self.generator.data_mean
        return {self.output_keys[0]: out}


def input_spec(generator: base.Arch) -> Dict[str, Any]:
    """``InputSpec`` of every generator input, with a dynamic batch dimension."""
    from paddle.static import InputSpec

    spec = {"z": InputSpec([None, int(generator.noise_dim)], "float32", "z")}
    if "y" in generator.input_keys:
        spec["y"] = InputSpec([None], "int64", "y")
    return spec


def export_generator(generator: base.Arch, prefix: str, weights: Optional[str] = None) -> Tuple[str, str]:
    """Save ``generator`` as a static inference model at ``prefix`` with ppsci's ``Solver.export``.

    Args:
        generator (base.Arch): The loaded generator (it is copied; the eager one is left as it is).
        prefix (str): Path prefix of the files (``prefix.json`` + ``prefix.pdiparams`` under PIR).
        weights (Optional[str]): Where the weights came from (ppsci warns of random weights without it).

    Returns:
        Tuple[str, str]: The model file and the parameters file written.
    """
    import ppsci

    with paddle_kernels():
        arch = ExportedGenerator(traceable(generator))
        solver = ppsci.solver.Solver(arch, output_dir=os.path.dirname(os.path.abspath(prefix)))
        solver.pretrained_model_path = weights or "in memory"
        try:
            solver.export([input_spec(generator)], prefix)
        finally:
            paddle.jit.enable_to_static(True)  # Solver.export leaves dynamic-to-static switched off globally
    return model_files(prefix)


def model_files(prefix: str) -> Tuple[str, str]:
    """(model file, parameters file) of an export prefix: ``.json`` under PIR (Paddle 3), else ``.pdmodel``."""
    suffix = ".json" if paddle.framework.use_pir_api() else ".pdmodel"
    return prefix + suffix, prefix + ".pdiparams"


# ------------------------------------------------------------------- export
def export_weights(experiment) -> Tuple[str, bool]:
    """(generator weights, shipped?): INFER.pretrained_model_path, else EVAL.pretrained_gen_model_path, else shipped."""
    given = experiment.config.INFER.pretrained_model_path
    if given:
        return given, False
    ev = experiment.config.EVAL
    if ev.pretrained_gen_model_path or ev.pretrained_model_path:
        return experiment.eval_weights()[0], False
    shipped = experiment.shipped_weights()
    if shipped is None:
        raise UserError(f"mode=export needs generator weights: set INFER.pretrained_model_path=PATH_OR_URL (e.g. "
                        f"checkpoints/best_gen.pdparams of a {script(experiment.name)} run).")
    return shipped[0], True


def export_prefix(experiment) -> str:
    """INFER.export_path, else OUTPUT_DIR/inference/generator."""
    return experiment.config.INFER.export_path or os.path.join(experiment.output_dir, "inference", EXPORT_NAME)


def export(experiment) -> str:
    """``mode=export``: the generator of the weights as a static inference model; returns the model file."""
    from ppsci.utils import logger

    path, shipped = export_weights(experiment)
    obj = experiment.load_generator_file(path)
    settings = experiment.model_settings_from(obj, path)
    model = experiment.build_model(settings)
    load_checked(model.generator, extract_network(obj, "generator", path), "generator", path)
    generator = model.generator
    prefix = export_prefix(experiment)
    model_file, params_file = export_generator(generator, prefix, str(path))
    conditional = "y" in generator.input_keys
    info = {
        "format": INFO_FORMAT,
        "experiment": experiment.name,
        "model": settings,
        "weights": "shipped weights" if shipped else str(path),
        "inputs": {"z": [int(generator.noise_dim)], **({"y": int(model.num_classes or 10)} if conditional else {})},
        "output": generator.output_keys[0],
        "value_range": list(experiment.sample_range) if experiment.sample_range is not None else None,
        "batch_statistics": any(isinstance(m, BatchNorm) for m in generator.sublayers()),
    }
    atomic_write_json(info, prefix + INFO_SUFFIX)
    logger.message(f"Exported the generator of {path} to {model_file} and {params_file} (inputs "
                   f"{', '.join(info['inputs'])}, dynamic batch); run it with mode=infer"
                   f"{'' if experiment.config.INFER.export_path else f' output_dir={experiment.output_dir}'}.")
    return model_file


# -------------------------------------------------------------------- infer
def check_serving(infer) -> None:
    """Refuse, in one line naming the key, INFER values this Paddle build cannot serve."""
    device = infer.device
    if device != "cpu":
        compiled = {"gpu": paddle.device.is_compiled_with_cuda, "xpu": paddle.device.is_compiled_with_xpu}.get(device)
        if compiled is None or not compiled():
            raise UserError(f"INFER.device={device} was asked for, but this Paddle build has no {device.upper()} "
                            "support; set INFER.device=cpu (or install a Paddle build for that device).")
    if infer.engine == "tensorrt":
        raise UserError("INFER.engine=tensorrt needs a GPU build of Paddle with TensorRT and INFER.device=gpu; "
                        "set INFER.engine=native (or mkldnn) on this CPU build.")
    if infer.engine == "onnx":
        raise UserError("INFER.engine=onnx is not served: mode=export writes a Paddle Inference model, not ONNX "
                        "(paddle2onnx does not read Paddle 3's PIR programs); set INFER.engine=native.")
    if infer.precision != "fp32":
        raise UserError(f"INFER.precision={infer.precision} needs TensorRT on a GPU (PaddleScience's predictor "
                        "would turn it into bfloat16 on the CPU); set INFER.precision=fp32.")


def _with_suffix(path: str) -> str:
    if paddle.framework.use_pir_api() and path.endswith(".pdmodel"):
        return path[: -len(".pdmodel")] + ".json"  # Paddle 3 with PIR writes .json (as PaddleScience's Predictor)
    return path


def inference_files(experiment) -> Tuple[str, str, str]:
    """(model file, parameters file, the key that named them) for mode=infer."""
    ic = experiment.config.INFER
    if ic.pdmodel_path:
        model_file = _with_suffix(ic.pdmodel_path)
        stem = model_file.rsplit(".", 1)[0] if model_file.endswith((".json", ".pdmodel")) else model_file
        return model_file, ic.pdiparams_path or stem + ".pdiparams", "INFER.pdmodel_path"
    model_file, params_file = model_files(export_prefix(experiment))
    return model_file, ic.pdiparams_path or params_file, \
        "INFER.export_path" if ic.export_path else "output_dir"


def read_info(model_file: str, key: str, experiment) -> Dict[str, Any]:
    """The ``.ppsci_ext.json`` that mode=export wrote beside ``model_file``, checked against the experiment."""
    prefix = model_file.rsplit(".", 1)[0]
    path = prefix + INFO_SUFFIX
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or info.get("format") != INFO_FORMAT or not isinstance(info.get("model"), dict):
        raise UserError(f"{key}: {path} is missing or unreadable; it is written by mode=export beside "
                        f"{os.path.basename(model_file)} and says what the model is: export the generator again "
                        f"with {script(experiment.name)} mode=export.")
    if info.get("experiment") != experiment.name:
        raise UserError(f"{key}: {model_file} holds a generator exported by {script(info.get('experiment'))}, not "
                        f"{script(experiment.name)}; run mode=infer with that script, or export this one's.")
    return info


def predictor_class():
    """PaddleScience's ``deploy.python_infer.base.Predictor`` with a batched ``predict`` for generator inputs."""
    from deploy.python_infer.base import Predictor

    class GeneratorPredictor(Predictor):
        """Paddle Inference on the exported generator (``predict(inputs, batch_size)`` -> its output)."""

        def predict(self, inputs: Dict[str, np.ndarray], batch_size: Optional[int] = None) -> np.ndarray:
            names = self.predictor.get_input_names()
            missing = [k for k in names if k not in inputs]
            if missing:
                raise UserError(f"the exported model needs the inputs {names}, but {missing} were not given; "
                                "export it again with mode=export.")
            handles = {k: self.predictor.get_input_handle(k) for k in names}
            output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])
            n = len(inputs["z"])
            step = batch_size or max(n, 1)
            out = []
            for start in range(0, n, step):
                for k, handle in handles.items():
                    handle.copy_from_cpu(np.ascontiguousarray(inputs[k][start:start + step]))
                self.predictor.run()
                out.append(output.copy_to_cpu())
            return np.concatenate(out) if out else np.zeros((0,), np.float32)

        def _create_paddle_predictor(self):
            # The base's config, less ``enable_memory_optim()``: with Paddle 3.3's PIR programs that
            # pass stops create_predictor ("pass_result_info.h: Expected map.count(predictor_id)").
            # The CPU threads are set for native too (the base sets them only for mkldnn; Paddle 3
            # runs native on oneDNN as well).
            from paddle import inference as paddle_inference

            config = paddle_inference.Config(self.pdmodel_path, self.pdiparams_path)
            if self.device == "gpu":
                config.enable_use_gpu(self.gpu_mem, self.gpu_id)
            elif self.device == "xpu":
                config.enable_xpu(10 * 1024 * 1024)
            elif self.device != "cpu":
                config.enable_custom_device(self.device)
            else:
                config.disable_gpu()
                if self.engine == "mkldnn":
                    config.enable_mkldnn()
                config.set_cpu_math_library_num_threads(self.num_cpu_threads)
            config.switch_use_feed_fetch_ops(False)
            config.switch_ir_optim(self.ir_optim)
            return paddle_inference.create_predictor(config), config

    return GeneratorPredictor


def open_predictor(model_file: str, params_file: str, infer, key: str = "INFER.pdmodel_path"):
    """A ``GeneratorPredictor`` on the files, honouring INFER.device / engine / precision / ir_optim / threads."""
    for what, path in (("model", model_file), ("parameters", params_file)):
        if not os.path.isfile(path):
            which = "INFER.pdiparams_path" if what == "parameters" and infer.pdiparams_path else key
            raise UserError(f"{which}: the {what} file {path} does not exist; run mode=export first (it writes "
                            "OUTPUT_DIR/inference/generator.json and .pdiparams), or set INFER.pdmodel_path and "
                            "INFER.pdiparams_path to its files.")
    check_serving(infer)
    threads = infer.num_cpu_threads or int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    try:
        return predictor_class()(model_file, params_file, device=infer.device, engine=infer.engine,
                                 precision=infer.precision, ir_optim=bool(infer.ir_optim),
                                 min_subgraph_size=infer.min_subgraph_size, gpu_mem=infer.gpu_mem,
                                 gpu_id=infer.gpu_id, max_batch_size=infer.max_batch_size, num_cpu_threads=threads)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - Paddle's own errors on a damaged or truncated file
        first = (str(e).strip().splitlines() or [type(e).__name__])[-1][:200]
        raise UserError(f"{key}: Paddle Inference cannot read {model_file} with {params_file} ({first}); the files "
                        "are damaged or truncated, or not a pair: run mode=export again.") from None


class ServedGenerator:
    """Stands in for a solver in an experiment's ``picture_fn``: ``model.generate`` runs the predictor."""

    def __init__(self, predictor, batch_size: Optional[int], label: str):
        self.predictor = predictor
        self.batch_size = batch_size
        self.label = label
        self.model = self
        self.generator = self   # toy, DATA.mode=file: the export already gives the data's units
        self.critic = None

    def generate(self, inputs: Dict[str, np.ndarray], batch_size: Optional[int] = None,
                 what: str = "generating samples") -> np.ndarray:
        return self.predictor.predict(inputs, batch_size or self.batch_size)

    @staticmethod
    def to_data(x) -> np.ndarray:
        return np.asarray(x, dtype=np.float32)

    from_data = to_data

    def describe_weights(self) -> str:
        return self.label


def sample_inputs(info: Dict[str, Any], n: int, seed: int) -> Dict[str, np.ndarray]:
    """Noise for ``n`` samples from ``seed`` and, when conditional, labels 0, 1, ..., k-1, 0, ... (every class)."""
    rng = np.random.default_rng(seed)
    inputs = {"z": rng.standard_normal((n, int(info["inputs"]["z"][0]))).astype(np.float32)}
    if "y" in info["inputs"]:
        inputs["y"] = (np.arange(n) % int(info["inputs"]["y"])).astype(np.int64)
    return inputs


def to_data_units(samples: np.ndarray, info: Dict[str, Any]) -> np.ndarray:
    """Float32 points as they are; images as uint8 ``[N, H, W, C]`` (``data.images.quantize``)."""
    if info.get("value_range") is None:
        return np.asarray(samples, dtype=np.float32)
    from ppsci_ext.data.images import quantize

    return quantize(samples, tuple(info["value_range"])).transpose(0, 2, 3, 1)


def infer(experiment) -> str:
    """``mode=infer``: INFER.num_samples samples from the exported model; writes samples.npz and the picture."""
    from ppsci.utils import logger

    ic = experiment.config.INFER
    check_serving(ic)
    model_file, params_file, key = inference_files(experiment)
    if not os.path.isfile(model_file):
        open_predictor(model_file, params_file, ic, key)  # raises the missing-file message
    info = read_info(model_file, key, experiment)
    predictor = open_predictor(model_file, params_file, ic, key)
    inputs = sample_inputs(info, ic.num_samples, experiment.seed + 3)
    samples = to_data_units(predictor.predict(inputs, ic.batch_size), info)
    path = os.path.join(experiment.output_dir, "samples.npz")
    arrays = {"samples": samples, **({"labels": inputs["y"]} if "y" in inputs else {})}
    atomic_savez(path, **arrays)
    served = ServedGenerator(predictor, ic.batch_size, f"Paddle Inference, {info.get('weights')}")
    draw = experiment.picture_fn(info["model"], with_critic=False)
    picture = draw(served, "infer") if draw is not None else None
    logger.message(f"Generated {len(samples)} samples with Paddle Inference from {model_file} "
                   f"({'uint8 images' if samples.dtype == np.uint8 else 'float32 points'} {list(samples.shape)}): "
                   f"{path}{f', {picture}' if picture else ''}.")
    return path

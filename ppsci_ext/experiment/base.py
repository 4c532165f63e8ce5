"""``Experiment``: the one place where the typed settings become archs, data, objective, solver and results.

An example script builds one experiment from its Hydra config (converted once,
at the door, by ``settings.from_hydra``) and calls ``train()`` or
``evaluate()``; ``ppsci_ext.fit`` builds the same ``Settings`` from Python
values (``settings.from_values``). Every key is checked before anything is
built, a resume takes the settings of the run it continues
(``settings.resumed``), and every check that depends on the data runs before
the first training step (the data is read and the validators are built before
the solver trains). Below the door the experiments read the immutable
``Settings`` (``self.config``), never a ``DictConfig``. Subclasses
(``toy``, ``mnist``, ``images``, ``cifar10``) say what differs per data set: the
keys they read, the networks, the real data, the validators and the pictures.

Evaluation reads the architecture from the weights file (the config stored in
a ``.pdckpt``, or the shapes of a ``.pdparams``), builds no optimizer and
reads no training data unless a metric needs it.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from omegaconf import DictConfig

from ppsci_ext.arch import GAN
from ppsci_ext.errors import UserError, about
from ppsci_ext.experiment import folders
from ppsci_ext.experiment.config import Key, script, show
from ppsci_ext.experiment.settings import Settings, from_hydra, resumed, stored_settings
from ppsci_ext.io import paddlescience
from ppsci_ext.io.atomic import atomic_write_json
from ppsci_ext.io.weights import CHECKPOINT_FORMAT, extract_network, load_checked, load_file
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver.adversarial import AdversarialSolver
from ppsci_ext.solver.builders import build_optimizer, real_data_constraint
from ppsci_ext.solver.state import load_checkpoint
from ppsci_ext.visualize import plot_history

DEVICES = ("cpu", "gpu", "xpu")

# Keys every experiment reads.
COMMON_KEYS = [
    Key("mode", str, choices=("train", "eval", "export", "infer")),
    Key("seed", int, low=0, high=2**32 - 1),
    Key("output_dir", str),
    Key("log_freq", int, low=1),
    Key("log_level", str, choices=("debug", "info", "warning", "error")),
    Key("device", str, choices=DEVICES, nullable=True),
    Key("use_vdl", bool),
    Key("use_tbd", bool),
    Key("use_wandb", bool),
    Key("TRAIN.epochs", int, low=1),
    Key("TRAIN.iters_per_epoch", int, low=1),
    Key("TRAIN.batch_size", int, low=1),
    Key("TRAIN.n_critic", int, low=1),
    Key("TRAIN.lr_generator", float, low=0, low_open=True),
    Key("TRAIN.lr_critic", float, low=0, low_open=True),
    Key("TRAIN.lr_linear_decay", bool),
    Key("TRAIN.beta1", float, low=0, high=1, high_open=True),
    Key("TRAIN.beta2", float, low=0, high=1, high_open=True),
    Key("TRAIN.save_freq", int, low=1),
    Key("TRAIN.eval_during_train", bool),
    Key("TRAIN.eval_freq", int, low=1),
    Key("TRAIN.monitor", str, nullable=True),
    Key("TRAIN.checkpoint_path", str, nullable=True),
    Key("TRAIN.pretrained_model_path", str, nullable=True),
    Key("TRAIN.allow_resume_changes", bool),
    Key("TRAIN.overwrite", bool),
    Key("TRAIN.ema.use_ema", bool),
    Key("TRAIN.ema.decay", float, low=0, high=1, low_open=True, high_open=True),
    Key("TRAIN.ema.avg_freq", int, low=1),
    Key("TRAIN.ema.start_step", int, low=0),
    Key("LOSS.gp_lambda", float, low=0),
    Key("EVAL.pretrained_gen_model_path", str, nullable=True),
    Key("EVAL.pretrained_model_path", str, nullable=True),
    Key("EVAL.batch_size", int, low=1),
    # PaddleScience's INFER group (mode=export / mode=infer, experiment/deploy.py); values this
    # build cannot serve (another device, TensorRT, ONNX, fp16 / int8) are refused by deploy.check_serving.
    Key("INFER.pretrained_model_path", str, nullable=True),
    Key("INFER.export_path", str, nullable=True),
    Key("INFER.pdmodel_path", str, nullable=True),
    Key("INFER.pdiparams_path", str, nullable=True),
    Key("INFER.onnx_path", str, nullable=True),
    Key("INFER.device", str, choices=("cpu", "gpu", "npu", "xpu", "sdaa")),
    Key("INFER.engine", str, choices=("native", "tensorrt", "onnx", "mkldnn")),
    Key("INFER.precision", str, choices=("fp32", "fp16", "int8")),
    Key("INFER.ir_optim", bool),
    Key("INFER.min_subgraph_size", int, low=1),
    Key("INFER.gpu_mem", int, low=1),
    Key("INFER.gpu_id", int, low=0),
    Key("INFER.max_batch_size", int, low=1),
    Key("INFER.num_cpu_threads", int, low=1, nullable=True),
    Key("INFER.batch_size", int, low=1, nullable=True),
    Key("INFER.num_samples", int, low=1),
]
WRITER_PACKAGES = {"use_vdl": ("visualdl", "vdl"), "use_tbd": ("tensorboardX", "tensorboard"),
                   "use_wandb": ("wandb", "wandb")}


class Experiment:
    """Base of the toy, MNIST, image and CIFAR-10 experiments (see the module docstring).

    Args:
        config (Union[Settings, DictConfig]): The run's settings, or the example's composed Hydra config
            (converted once here; it is never written to).
        data (Optional[Any]): In-memory training data (``ppsci_ext.fit``): points ``[N, D]`` for the toy
            experiment, a ``data.ImageSet`` for the image experiment. None reads ``DATA.data_path``.
    """

    name = "wgangp"            # stored in checkpoints and checked on resume
    keys: List[Key] = []       # the experiment's own keys, besides COMMON_KEYS
    model_keys: Tuple[str, ...] = ()  # MODEL keys that define the architecture
    network_names = ("generator", "critic")  # what the pair's two networks are called in messages
    sample_range: Optional[Tuple[float, float]] = None  # the generator's image values (None: it draws points)

    @classmethod
    def all_keys(cls) -> List[Key]:
        """Every key this experiment reads (COMMON_KEYS and its own)."""
        return COMMON_KEYS + list(cls.keys)

    def __init__(self, config: Union[Settings, DictConfig], data: Optional[Any] = None):
        self.config = config if isinstance(config, Settings) else from_hydra(config, self.all_keys())
        self.data = data
        self.resumed: Optional[Dict[str, Any]] = None  # the checkpoint a training run continues
        self.resume_report: List[str] = []   # harmless changes of a resume ("KEY: A in file, B now")
        self.resume_changes: List[str] = []  # changes to the training, allowed by TRAIN.allow_resume_changes
        self.output_dir = str(self.config.output_dir)
        folders.check_folder(self.output_dir)
        if self.config.mode == "train" and self.config.TRAIN.checkpoint_path:
            self._read_resumed()
        c = self.config
        self.mode = c.mode
        self.seed = int(c.seed)
        self._check_writers()
        self._check_device()
        self.objective = self.build_objective()
        if self.mode == "eval" and folders.holds_run(self.output_dir):
            self.output_dir = folders.eval_folder(self.output_dir)  # never replace a training run's files
        self.lock = folders.lock_folder(self.output_dir)
        if self.mode == "train":
            folders.check_run_folder(self.output_dir, c.TRAIN.checkpoint_path, c.TRAIN.overwrite)
        self._start_logging()
        self.check()
        self._check_monitor()

    def _read_resumed(self) -> None:
        """Load TRAIN.checkpoint_path once and continue with the settings of the run that wrote it."""
        path = self.config.TRAIN.checkpoint_path
        with about(f"TRAIN.checkpoint_path={path}"):
            state = load_checkpoint(path)
            if state.get("experiment") != self.name:
                raise UserError(f"it holds a {state.get('experiment')!r} run, not a {self.name} one; resume it with "
                                f"{script(state.get('experiment'))}, or give a checkpoint of a {script(self.name)} "
                                "run.")
            start = self.config.TRAIN.pretrained_model_path
            if start:  # the same command plus TRAIN.checkpoint_path continues a fine-tuning run
                began = stored_settings(state.get("config"), path).get("TRAIN.pretrained_model_path")
                if not _same_file(began, start):
                    raise UserError(f"TRAIN.pretrained_model_path={start} is set, but the run of this checkpoint "
                                    f"started from {began or 'random weights'}: a resume continues with the "
                                    "checkpoint's own weights; drop TRAIN.pretrained_model_path (or start a new run "
                                    "without TRAIN.checkpoint_path).")
            self.config, self.resume_report, self.resume_changes = resumed(
                self.config, state.get("config"), self.all_keys(), path,
                checked=("TRAIN.pretrained_model_path",) if start else ())
        self.resumed = state

    # ---------------------------------------------------------- per experiment
    def build_objective(self) -> Any:
        """The training objective (``WGANGPLoss`` from LOSS.*); its ``critic`` is the real-data constraint's loss."""
        return WGANGPLoss(self.config.LOSS.gp_lambda, *self.acgan_scales())

    def acgan_scales(self) -> Tuple[float, float]:
        """(critic, generator) weights of the AC-GAN class loss; 0 where there is no class loss."""
        return 0.0, 0.0

    def generator_batch_size(self) -> Optional[int]:
        """Batch of each generator update (None: the critic's TRAIN.batch_size)."""
        return None

    def critic_weights(self) -> Optional[str]:
        """Critic weights given for mode=eval (the toy contour), if the experiment reads any."""
        return None

    def check(self) -> None:
        """Checks across keys that a ``Key`` cannot express (raise ``UserError``)."""

    def check_resume(self, state: Dict[str, Any]) -> None:
        """Checks of a loaded checkpoint before any data is read (e.g. a clearer message for another variant)."""

    def monitorable(self) -> List[str]:
        """Lower-is-better metrics the validators compute ("group.name"), which TRAIN.monitor may name."""
        return []

    def build_model(self, settings: Dict[str, Any]) -> GAN:
        """The generator and critic for the MODEL ``settings``."""
        raise NotImplementedError

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        """MODEL settings read off a generator's weights (those that can be)."""
        return {}

    def train_data(self) -> Tuple[Dict[str, Any], Optional[Dict[str, np.ndarray]]]:
        """Real training data: (inputs, labels) for ``real_data_constraint``."""
        raise NotImplementedError

    def validator(self, settings: Dict[str, Any], training: bool):
        """Validators scoring the samples (None: nothing to score)."""
        return None

    def extra_metrics(self, settings: Dict[str, Any], training: bool) -> Optional[Callable]:
        """The solver's ``extra_metrics``: metrics not computed from samples (the VAE's test ELBO); None here."""
        return None

    def picture_fn(self, settings: Dict[str, Any], with_critic: bool) -> Optional[Callable]:
        """``draw(solver, tag) -> png path``, called after each evaluation."""
        return None

    def step_fn(self) -> Optional[Callable]:
        """Called after every generator iteration (e.g. a grid every VIS.every iterations)."""
        return None

    def shipped_weights(self) -> Optional[Tuple[str, Optional[str]]]:
        """(generator, critic) weights shipped with the package for this config, if any."""
        return None

    def after_eval(self, solver: AdversarialSolver, settings: Dict[str, Any]) -> Dict[str, Any]:
        """Extra work at the end of ``evaluate`` (e.g. exporting samples); returns entries for metrics.json."""
        return {}

    def result_info(self) -> Dict[str, Any]:
        """Provenance entries of metrics.json (the data, the number of samples, ...)."""
        return {}

    # Generated samples of the protocol the docs compare with (None: no published protocol for this data).
    protocol_samples: Optional[int] = None
    samples_key = "EVAL.num_samples"  # the key that sets how many samples are scored

    def sample_sizes(self) -> Dict[str, Dict[str, int]]:
        """``{metric group: {"generated": N, "real": M}}`` of the last validator built (``real_kept``: KID / PRDC)."""
        return {}

    def metric_notes(self) -> Dict[str, str]:
        """Words shown in brackets after a metric in the eval log line (e.g. the classes intra-FID averages)."""
        return {}

    # ------------------------------------------------------------------ settings
    def yaml_model_settings(self) -> Dict[str, Any]:
        """MODEL settings as the config gives them."""
        return {k: self.config.MODEL[k] for k in self.model_keys}

    def _check_monitor(self) -> None:
        t = self.config.TRAIN
        if self.mode != "train" or not t.eval_during_train or not t.monitor:
            return
        names = self.monitorable()
        if not names:
            return  # nothing is scored (e.g. CIFAR-10 without Inception weights): there is nothing to monitor
        if not any(t.monitor == name or name.endswith("." + t.monitor) for name in names):
            raise UserError(f"TRAIN.monitor={t.monitor} is not among the lower-is-better metrics computed "
                            f"({', '.join(names)}); set TRAIN.monitor to one of them, or null.")

    def _check_writers(self) -> None:
        c = self.config
        if c.wandb_config and not c.use_wandb:
            raise UserError("wandb_config is set but use_wandb=false; set use_wandb=true to send the run to "
                            "Weights & Biases, or remove wandb_config.")
        for key, (module, extra) in WRITER_PACKAGES.items():
            if c[key] and importlib.util.find_spec(module) is None:
                raise UserError(f"{key}=true needs the {module} package: pip install \"ppsci_ext[{extra}]\" "
                                f"(or pip install {module}), or set {key}=false.")

    def _check_device(self) -> None:
        device = self.config.device
        if device is None or device == "cpu":
            return
        import paddle

        compiled = {"gpu": paddle.device.is_compiled_with_cuda, "xpu": paddle.device.is_compiled_with_xpu}[device]
        if not compiled():
            raise UserError(f"device={device} was asked for, but this Paddle build has no {device.upper()} support; "
                            f"install a {device.upper()} build of paddlepaddle (https://www.paddlepaddle.org.cn/install) "
                            "or set device=cpu.")

    def _start_logging(self) -> None:
        from ppsci.utils import logger, misc

        misc.set_random_seed(self.seed)
        log_file = os.path.join(self.output_dir, f"{self.mode}.log")
        logger.init_logger("ppsci", log_file, self.config.log_level)
        folders.log_errors_to(log_file)
        path = self.config.TRAIN.checkpoint_path
        if self.resume_report:
            logger.message(f"Resuming {path} with: {'; '.join(self.resume_report)}")
        if self.resume_changes:
            logger.warning(f"Resuming {path} with changed training settings: {'; '.join(self.resume_changes)}")

    # --------------------------------------------------------------------- train
    def train(self) -> AdversarialSolver:
        """Train (continuing the run of TRAIN.checkpoint_path when set), then write curves and metrics.json.

        Everything that depends on the data is checked before the first training step; the
        last epoch's checkpoint is written before the evaluation that follows it.
        """
        t = self.config.TRAIN
        if self.resumed is not None:
            with about(f"TRAIN.checkpoint_path={t.checkpoint_path}"):
                self.check_resume(self.resumed)
        settings = self.yaml_model_settings()
        model = self.build_model(settings)
        if self.resumed is None and t.pretrained_model_path:
            with about(f"TRAIN.pretrained_model_path={t.pretrained_model_path}"):
                self.warm_start(model, settings, t.pretrained_model_path)
        arrays, labels = self.train_data()
        n = len(next(iter(arrays.values())))
        if t.batch_size > n:
            raise UserError(f"TRAIN.batch_size={t.batch_size} exceeds the {n} training samples; lower it.")
        constraint = real_data_constraint(arrays, t.batch_size, self.objective, labels=labels)
        solver = self.training_solver(model, constraint, settings)
        if self.resumed is not None:
            with about(f"TRAIN.checkpoint_path={t.checkpoint_path}"):
                solver.resume(t.checkpoint_path, self.resumed)
            self.resumed = None  # its tensors now live in the solver
        solver.train()
        self.write_training_results(solver)
        return solver

    def warm_start(self, model: GAN, settings: Dict[str, Any], path: str) -> None:
        """Start training from the weights in ``path`` (PaddleScience's TRAIN.pretrained_model_path).

        The generator comes from any generator file eval reads (``*_gen.pdparams``, a
        full checkpoint, whose generator is the evaluated one: the average under EMA,
        PaddleScience's example's names); a full checkpoint also gives the critic.
        Optimizers, iteration count and EMA start afresh. The file's architecture
        must be this run's MODEL.* (a resume reads it from the checkpoint instead).
        """
        from ppsci.utils import logger

        obj = self.load_generator_file(path)
        full = isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT
        if full and obj.get("experiment") != self.name:
            raise UserError(f"it is a checkpoint of a {script(obj.get('experiment'))} run, not of a "
                            f"{script(self.name)} one; give the *_gen.pdparams or .pdckpt of a {script(self.name)} run.")
        found = self.file_model_settings(obj, path)
        if found.get("arch") == "paddlescience":
            raise UserError("it holds PaddleScience's example's generator, whose layers differ from this package's: "
                            "it can be evaluated, exported and sampled (mode=eval / export / infer), not trained "
                            "on; start from weights written by this package.")
        wrong = {k: v for k, v in found.items() if k in settings and settings[k] != v}
        if wrong:
            theirs = ", ".join(f"MODEL.{k}={show(v)}" for k, v in wrong.items())
            ours = ", ".join(f"MODEL.{k}={show(settings[k])}" for k in wrong)
            raise UserError(f"it holds a model with {theirs}, but this run has {ours}; set "
                            f"{' '.join(f'MODEL.{k}={show(v)}' for k, v in wrong.items())} to start from it, or "
                            "give another file.")
        state = self.starting_generator_state(model, extract_network(obj, "generator", path))
        load_checked(model.generator, state, "generator", path)
        parts = self.network_names[0]
        if full:
            load_checked(model.critic, extract_network(obj, "critic", path), "critic", path)
            parts = " and ".join(self.network_names)
        logger.message(f"Starting from the {parts} of {path} (optimizers, iterations and EMA start afresh).")

    def starting_generator_state(self, model: GAN, state: Dict[str, Any]) -> Dict[str, Any]:
        """The generator weights a warm start loads from ``state`` (a file's); experiments may adapt or refuse them."""
        return state

    def training_solver(self, model: GAN, constraint: Dict[str, Any], settings: Dict[str, Any]) -> AdversarialSolver:
        """The solver that trains ``model`` on the real-data ``constraint``: Adam on both networks (TRAIN.*)."""
        import ppsci

        t = self.config.TRAIN
        decay = int(t.epochs * t.iters_per_epoch) if t.lr_linear_decay else 0
        return AdversarialSolver(
            model,
            constraint,
            ppsci.loss.FunctionalLoss(self.objective.generator),
            build_optimizer(model.generator.parameters(), t.lr_generator, t.beta1, t.beta2, decay),
            build_optimizer(model.critic.parameters(), t.lr_critic, t.beta1, t.beta2, decay),
            n_critic=t.n_critic,
            generator_batch_size=self.generator_batch_size(),
            **self._training_options(settings),
        )

    def _training_options(self, settings: Dict[str, Any]) -> Dict[str, Any]:
        """The solver arguments of a training run besides the objective and the optimizers."""
        t = self.config.TRAIN
        ema = t.ema
        return dict(
            monitor=t.monitor,
            validator=self.validator(settings, training=True) if t.eval_during_train else None,
            extra_metrics=self.extra_metrics(settings, training=True) if t.eval_during_train else None,
            visualize_fn=self.picture_fn(settings, with_critic=True),
            step_fn=self.step_fn(),
            config_yaml=self.config.to_yaml(),
            epochs=t.epochs,
            iters_per_epoch=t.iters_per_epoch,
            save_freq=t.save_freq,
            eval_during_train=t.eval_during_train,
            eval_freq=t.eval_freq,
            ema_decay=ema.decay if ema.use_ema else None,
            ema_start_step=ema.start_step,
            ema_every=ema.avg_freq,
            **self._solver_options(),
        )

    def _solver_options(self) -> Dict[str, Any]:
        c = self.config
        return dict(output_dir=self.output_dir, log_freq=c.log_freq, experiment=self.name, seed=self.seed,
                    device=c.device, use_vdl=c.use_vdl, use_tbd=c.use_tbd, use_wandb=c.use_wandb,
                    wandb_config=dict(c.wandb_config))

    def write_training_results(self, solver: AdversarialSolver) -> Optional[str]:
        """``training_curves.png`` and ``metrics.json`` (last evaluation, its step, the checkpoint); rank 0 only."""
        if solver.rank != 0:
            return None
        plot_history(os.path.join(self.output_dir, "training_curves.png"), solver.history)
        metrics = dict(solver.history["eval"][-1]) if solver.history["eval"] else {}
        step = metrics.pop("step", solver.global_step)
        return self.write_metrics(metrics, step=step, checkpoint=solver.last_checkpoint, **self.result_info())

    def write_metrics(self, metrics: Dict[str, float], **info) -> str:
        """Write ``metrics.json`` atomically: the metrics plus provenance (weights, step, data)."""
        path = os.path.join(self.output_dir, "metrics.json")
        sizes = computed_sizes(metrics, self.sample_sizes())
        if sizes:
            info["sample_sizes"] = sizes
        atomic_write_json({"metrics": metrics, "experiment": self.name, "seed": self.seed, **info}, path)
        return path

    # ---------------------------------------------------------------------- eval
    def load_generator_file(self, path: str) -> Any:
        """A generator weights file as loaded, PaddleScience's example's names understood (``io.paddlescience``)."""
        return paddlescience.translate(load_file(path), str(path), self.name)

    def eval_weights(self) -> Tuple[str, Optional[str], bool]:
        """(generator path, critic path or None, shipped?) for mode=eval."""
        ev = self.config.EVAL
        gen, alias = ev.pretrained_gen_model_path, ev.pretrained_model_path
        if gen and alias and gen != alias:
            raise UserError(f"EVAL.pretrained_model_path={alias} and EVAL.pretrained_gen_model_path={gen} name two "
                            "generators; set only one of them.")
        gen = gen or alias
        dis = self.critic_weights()
        if gen:
            return gen, dis, False
        shipped = self.shipped_weights()
        if shipped is None:
            raise UserError("mode=eval needs generator weights: set EVAL.pretrained_gen_model_path=PATH_OR_URL "
                            "(e.g. checkpoints/best_gen.pdparams of a training run).")
        return shipped[0], dis or shipped[1], True

    def file_model_settings(self, obj: Any, path: str) -> Dict[str, Any]:
        """The MODEL settings a loaded file tells: a checkpoint's stored config, else read off the generator."""
        if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT and isinstance(obj.get("config"), str):
            stored = stored_settings(obj["config"], path)
            return {k: stored[f"MODEL.{k}"] for k in self.model_keys if f"MODEL.{k}" in stored}
        return self.infer_model(extract_network(obj, "generator", path))

    def model_settings_from(self, obj: Any, path: str) -> Dict[str, Any]:
        """MODEL settings of the generator in a loaded file; a contradicting command-line MODEL.* is refused."""
        settings = self.yaml_model_settings()
        found = self.file_model_settings(obj, path)
        given = self.config.given
        for key, value in found.items():
            if f"MODEL.{key}" in given and settings[key] != value:
                raise UserError(f"MODEL.{key}={show(settings[key])} contradicts {path}, which holds a model with "
                                f"MODEL.{key}={show(value)}; drop MODEL.{key} from the command line (eval reads the "
                                "architecture from the file) or give another file.")
            settings[key] = value
        return settings

    def evaluate(self) -> Dict[str, float]:
        """Score the generator weights of EVAL.* (or the shipped ones), draw the pictures, write metrics.json."""
        from ppsci.utils import logger

        gen_path, dis_path, shipped = self.eval_weights()
        gen_obj = self.load_generator_file(gen_path)
        settings = self.model_settings_from(gen_obj, gen_path)
        model = self.build_model(settings)
        load_checked(model.generator, extract_network(gen_obj, "generator", gen_path), "generator", gen_path)
        if dis_path is None and isinstance(gen_obj, dict) and gen_obj.get("format") == CHECKPOINT_FORMAT:
            dis_path = gen_path  # a full checkpoint holds the critic too
        if dis_path:
            dis_obj = gen_obj if dis_path == gen_path else load_file(dis_path)
            load_checked(model.critic, extract_network(dis_obj, "critic", dis_path), "critic", dis_path)
        step = gen_obj.get("global_step") if isinstance(gen_obj, dict) and "format" in gen_obj else None
        solver = AdversarialSolver(
            model, None, None, None, None,
            validator=self.validator(settings, training=False),
            extra_metrics=self.extra_metrics(settings, training=False) if dis_path else None,
            visualize_fn=self.picture_fn(settings, with_critic=bool(dis_path)),
            **self._solver_options(),
        )
        solver.weights_label = "shipped weights" if shipped else (
            f"{solver.step_name} {step}" if step is not None else os.path.basename(str(gen_path)))
        metrics = solver.evaluate("eval")
        extra = self.after_eval(solver, settings)
        path = self.write_metrics(metrics, generator=str(gen_path), critic=str(dis_path) if dis_path else None,
                                  model=settings, **self.result_info(), **extra)
        shown = describe_metrics(metrics, self.sample_sizes(), self.metric_notes())
        warning = below_protocol(metrics, self.sample_sizes(), self.protocol_samples, self.samples_key)
        if warning:
            logger.warning(warning)
        logger.message(f"Evaluated {gen_path} ({solver.weights_label}): {shown}. Results in {self.output_dir} "
                       f"({os.path.basename(path)}, pictures).")
        return metrics

    # ------------------------------------------------------------ export / infer
    def export(self) -> str:
        """``mode=export``: the generator as a static Paddle Inference model (``experiment/deploy.py``)."""
        from ppsci_ext.experiment import deploy

        return deploy.export(self)

    def infer(self) -> str:
        """``mode=infer``: samples and the picture from the exported model under Paddle Inference (``deploy.py``)."""
        from ppsci_ext.experiment import deploy

        return deploy.infer(self)


def computed_sizes(metrics: Dict[str, float], sizes: Dict[str, Dict[str, int]]) -> Dict[str, Dict[str, int]]:
    """The sample sizes of the metric groups that were computed (a group without a metric has none)."""
    return {group: dict(size) for group, size in sizes.items() if any(k.startswith(group + ".") for k in metrics)}


def _size_text(size: Dict[str, int]) -> str:
    generated, real = size.get("generated"), size.get("real")
    if generated is None:  # a metric of real data alone (the VAE's test ELBO)
        return f"n={real} real"
    text = f"n={generated}" if real is None or real == generated else f"n={generated} generated, {real} real"
    kept = size.get("real_kept")
    if kept is not None and kept != real:
        text += f"; KID/PRDC on {kept} real"
    return text


def describe_metrics(metrics: Dict[str, float], sizes: Dict[str, Dict[str, int]], notes: Dict[str, str]) -> str:
    """The eval log line's metrics, each group followed by its sample sizes.

    Example: ``mnist.score 9.273, mnist.frechet 2.275 (n=10000)``.
    """
    groups: Dict[str, List[str]] = {}
    for key, value in metrics.items():
        note = f" ({notes[key]})" if key in notes else ""
        groups.setdefault(key.split(".")[0], []).append(f"{key} {value:.4g}{note}")
    parts = []
    for group, shown in groups.items():
        size = f" ({_size_text(sizes[group])})" if group in sizes else ""
        parts.append(", ".join(shown) + size)
    return ", ".join(parts) or "no metrics"


def below_protocol(metrics: Dict[str, float], sizes: Dict[str, Dict[str, int]], protocol: Optional[int],
                   key: str = "EVAL.num_samples") -> str:
    """A one-line warning when fewer samples were scored than the protocol the docs compare with, else ''."""
    if not protocol:
        return ""
    low = {g: s["generated"] for g, s in computed_sizes(metrics, sizes).items()
           if s.get("generated", protocol) < protocol}
    if not low:
        return ""
    n = min(low.values())
    return (f"{n} generated samples scored ({', '.join(sorted(low))}), fewer than the {protocol} of the protocol the "
            f"documented figures use: these numbers are not comparable with them (docs/metrics.md, \"Sample size\"); "
            f"set {key}={protocol} to compare.")


def _same_file(stored: Optional[str], given: str) -> bool:
    """Whether a stored path and a given one name the same file (equal text, or two spellings of one file)."""
    if not stored:
        return False
    if stored == given:
        return True
    try:
        return os.path.samefile(stored, given)
    except OSError:  # either is missing now: only equal text counts
        return False

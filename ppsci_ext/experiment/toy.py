"""The toy experiment: 8gaussians, 25gaussians or swissroll, or the user's own N x D points, with the paper's MLP pair.

``DATA.mode=file`` trains on ``DATA.data_path`` (``.npy``, ``.npz``, ``.csv``;
``data.points``) in the standardised space of that data; the generator keeps
the data's mean and standard deviation as buffers (``ToyGenerator.to_data``),
the metrics are the sliced Wasserstein distance and MMD in that space
(``metric.points``), and the pictures are drawn in the data's units
(``visualize.points``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ppsci_ext import data, metric, visualize
from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.arch.toy import describe_toy_generator
from ppsci_ext.data import points as points_module
from ppsci_ext.errors import UserError, about
from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.config import Key
from ppsci_ext.io.weights import extract_network
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.solver.builders import sample_validator

FILE_MODE = "file"
DATA_MODES = tuple(data.TOY_MODES) + (FILE_MODE,)
PRDC_MIN_POINTS = 6  # density/coverage use k = 5 neighbours


def _stored_statistics(generator_state: Dict[str, Any]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(data_mean, data_std) of a toy generator's weights as float32 vectors, or None when it has none."""
    if not ("data_mean" in generator_state and "data_std" in generator_state):
        return None
    return tuple(np.asarray(generator_state[k].numpy() if hasattr(generator_state[k], "numpy") else generator_state[k],
                            dtype=np.float32).reshape(-1) for k in ("data_mean", "data_std"))


def _listed(values) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


class ToyExperiment(Experiment):
    """WGAN-GP on 2-D toy data or on N x D points of a file (``examples/wgangp/wgangp_toy.py``)."""

    name = "toy"
    model_keys = ("noise_dim", "width", "hidden_layers")
    keys = [
        Key("DATA.mode", str, choices=DATA_MODES),
        Key("DATA.data_path", str, nullable=True),
        Key("DATA.num_train_samples", int, low=1),
        Key("DATA.num_eval_samples", int, low=2),
        Key("MODEL.noise_dim", int, low=1),
        Key("MODEL.width", int, low=1),
        Key("MODEL.hidden_layers", int, low=0),
        Key("EVAL.pretrained_dis_model_path", str, nullable=True),
        Key("VIS.num_points", int, low=1),
        Key("VIS.pair_dims", int, low=1),
        Key("TRAIN.eval_prdc", bool),
    ]

    def __init__(self, config, data: Optional[np.ndarray] = None):
        self._file_points = None if data is None else points_module.check_points(data, "X")
        self._names: Optional[list] = None
        self._resume_statistics: Optional[Tuple[np.ndarray, np.ndarray]] = None  # (mean, std) of a resumed generator
        super().__init__(config, data)

    # ------------------------------------------------------------------ checks
    @property
    def file_mode(self) -> bool:
        """Whether the run reads the user's points (``DATA.mode=file``)."""
        return self.config.DATA.mode == FILE_MODE

    def critic_weights(self) -> Optional[str]:
        return self.config.EVAL.pretrained_dis_model_path

    def check(self) -> None:
        path = self.config.DATA.data_path
        if self._file_points is not None:
            return  # in-memory points (ppsci_ext.fit): DATA.data_path only names them
        if self.file_mode and path is None:
            raise UserError("DATA.mode=file needs DATA.data_path=PATH: a .npy, .npz or .csv file of N x D points "
                            "(N points of D >= 1 numbers).")
        if not self.file_mode and path is not None:
            raise UserError(f"DATA.data_path={path} is read only with DATA.mode=file (DATA.mode={self.config.DATA.mode} "
                            "generates its points); add DATA.mode=file to train on that file, or remove "
                            "DATA.data_path.")
        ev = self.config.EVAL
        weights = ev.pretrained_gen_model_path or ev.pretrained_model_path
        if self.file_mode and self.mode == "eval" and not weights:
            raise UserError("mode=eval with DATA.mode=file needs EVAL.pretrained_gen_model_path=PATH (no weights are "
                            "shipped for your data): e.g. checkpoints/best_gen.pdparams or checkpoints/latest.pdckpt "
                            "of the training run.")

    def monitorable(self):
        return ["toy.swd", "toy.mmd"] if self.file_mode else ["toy.swd"]

    # --------------------------------------------------------------- the file
    def _points(self) -> np.ndarray:
        """The points of DATA.data_path (read once), float32 [N, D] in the data's units."""
        if self._file_points is None:
            path = self.config.DATA.data_path
            with about(f"DATA.data_path={path}"):
                self._file_points, self._names = data.read_points_with_names(path)
        return self._file_points

    def _points_for(self, settings: Dict[str, Any]) -> np.ndarray:
        """The file's points, checked against the dimension of the generator (read off its weights in eval)."""
        points = self._points()
        dim = settings.get("data_dim", points.shape[1])
        if points.shape[1] != dim:
            raise UserError(f"DATA.data_path={self.config.DATA.data_path} holds points of {points.shape[1]} "
                            f"dimension{'s' if points.shape[1] > 1 else ''}, but the generator's weights make points "
                            f"of {dim}; give the data file the generator was trained on.")
        return points

    def _train_statistics(self) -> Tuple[np.ndarray, np.ndarray]:
        """Mean and std that standardise the training data: the data's, or those of a checkpoint resumed from."""
        from ppsci.utils import logger

        points = self._points()
        n, d = points.shape
        mean, std, constant = data.point_statistics(points)
        where = f"DATA.data_path={self.config.DATA.data_path}"
        logger.message(f"{where}: {n} points of {d} dimension{'s' if d > 1 else ''}; training in standardised units "
                       f"(mean {_listed(mean)}, std {_listed(std)}).")
        names = self._names if self._names is not None and len(self._names) == d else None
        for i in constant:
            label = f"{i + 1} ({names[i]})" if names else f"{i + 1}"
            logger.message(f"{where}: dimension {label} is constant ({float(mean[i]):.6g} in every point); its "
                           "standard deviation is taken as 1.")
        stored = self._resume_statistics
        if stored is None:
            return mean, std
        if stored[0].shape != mean.shape:
            raise UserError(f"TRAIN.checkpoint_path={self.config.TRAIN.checkpoint_path} holds a generator of points of "
                            f"{len(stored[0])} dimensions, but {where} holds points of {d}; resume with the data file "
                            "it was trained on, or start a new run.")
        if not (np.all(np.abs(stored[0] - mean) <= 1e-5 * std) and np.allclose(stored[1], std, rtol=1e-5, atol=0)):
            logger.message(f"{where}: the data's statistics differ from those stored in TRAIN.checkpoint_path; the "
                           f"stored ones are kept (mean {_listed(stored[0])}, std {_listed(stored[1])}), so the "
                           "resumed generator keeps its units.")
        return stored

    # --------------------------------------------------------------- networks
    def build_model(self, settings: Dict[str, Any]) -> GAN:
        dim, mean, std = 2, None, None
        if self.file_mode:
            if "data_dim" in settings:  # eval: the weights bring the statistics
                dim = settings["data_dim"]
                mean, std = np.zeros(dim, np.float32), np.ones(dim, np.float32)
            else:
                mean, std = self._train_statistics()
                dim = len(mean)
                if settings["noise_dim"] < dim:
                    from ppsci.utils import logger

                    logger.message(f"MODEL.noise_dim={settings['noise_dim']} is below the data's {dim} dimensions: "
                                   f"the generated points lie on a {settings['noise_dim']}-dimensional surface; "
                                   f"MODEL.noise_dim={dim} or more lets them fill the space.")
        generator = ToyGenerator(noise_dim=settings["noise_dim"], width=settings["width"],
                                 hidden_layers=settings["hidden_layers"], out_dim=dim, data_mean=mean, data_std=std)
        critic = ToyCritic(width=settings["width"], hidden_layers=settings["hidden_layers"], in_dim=dim)
        self._generator = generator
        return GAN(generator, critic)

    def starting_generator_state(self, model: GAN, state: Dict[str, Any]) -> Dict[str, Any]:
        """A warm start takes the file's network; the standardisation is always this run's data's.

        A generator from a data file of other statistics (or from built-in data,
        which has none) would otherwise train on points standardised with
        statistics that are not theirs: far from unit scale, and not the ones the
        start-of-run log line reports.
        """
        from ppsci.utils import logger

        dim = model.generator.out_dim
        found = describe_toy_generator(state)
        if found.get("data_dim", dim) != dim:
            d = self.config.DATA
            where = f"DATA.data_path={d.data_path}" if self.file_mode else f"DATA.mode={d.mode}"
            n = found["data_dim"]
            raise UserError(f"it holds a generator of points of {n} dimension{'s' if n > 1 else ''}, but {where} has "
                            f"points of {dim}; start from a generator trained on points of {dim} dimensions.")
        theirs = _stored_statistics(state)
        state = {k: v for k, v in state.items() if k not in ("data_mean", "data_std")}
        ours = model.generator.statistics()
        if ours is not None:
            state["data_mean"], state["data_std"] = ours
        if theirs is not None:
            mean, std = theirs
            kept = ("this run's data's (above)" if ours is not None
                    else f"none: DATA.mode={self.config.DATA.mode} is trained in its own units")
            if ours is None or not (np.array_equal(mean, ours[0]) and np.array_equal(std, ours[1])):
                logger.message(f"The weights were trained on data of mean {_listed(mean)} and std {_listed(std)}; the "
                               f"generator's standardisation is {kept}.")
        return state

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        return describe_toy_generator(generator_state)  # {} if not a toy generator: the key/shape check reports it

    def model_settings_from(self, obj: Any, path: str) -> Dict[str, Any]:
        settings = super().model_settings_from(obj, path)
        found = self.infer_model(extract_network(obj, "generator", path))  # a .pdckpt's config does not say D
        if not self.file_mode:
            if found.get("standardized"):
                raise UserError(f"{path} holds a generator trained on a data file (points of {found.get('data_dim')} "
                                "dimensions, with their mean and std); evaluate it with DATA.mode=file "
                                "DATA.data_path=<that file>.")
            return settings  # 2-D points: the key and shape check reports a generator of another D
        if "standardized" in found and not found["standardized"]:
            raise UserError(f"{path} holds a generator that was not trained on a data file (it has no data_mean / "
                            "data_std); give the weights of a DATA.mode=file run, or evaluate it with the DATA.mode it "
                            "was trained on.")
        settings.update({k: found[k] for k in ("data_dim", "standardized") if k in found})
        return settings

    def check_resume(self, state: Dict[str, Any]) -> None:
        gen = state.get("generator")
        if not isinstance(gen, dict):
            return  # the resume check reports a damaged checkpoint
        stored = _stored_statistics(gen) is not None
        where = f"it was {'' if stored else 'not '}trained on a data file"
        if self.file_mode and not stored:
            raise UserError(f"cannot resume DATA.mode=file from this checkpoint: {where} (its generator has no "
                            "data_mean / data_std); start a new run, or resume with the DATA.mode it was trained on.")
        if not self.file_mode and stored:
            raise UserError(f"cannot resume DATA.mode={self.config.DATA.mode} from this checkpoint: {where}; resume "
                            "it with DATA.mode=file DATA.data_path=<that file>.")
        if stored:
            self._resume_statistics = _stored_statistics(gen)

    def _statistics(self) -> Tuple[np.ndarray, np.ndarray]:
        """The generator's (mean, std): set from the data in training, loaded from the weights in eval."""
        return self._generator.statistics()

    # ------------------------------------------------------------------- data
    def train_data(self):
        d_ = self.config.DATA
        if self.file_mode:
            return {"x": data.standardize(self._points(), *self._statistics())}, None
        return data.toy_arrays(d_.mode, d_.num_train_samples, self.seed), None

    def _eval_count(self) -> int:
        n = self.config.DATA.num_eval_samples
        return min(n, len(self._points())) if self.file_mode else n

    def _subset(self, points: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Up to ``n`` points of the file in random order (so the first 2,000, which MMD takes, are unbiased)."""
        return points[rng.permutation(len(points))[:n]]

    def validator(self, settings: Dict[str, Any], training: bool):
        n = self.config.DATA.num_eval_samples
        if self.file_mode:
            n = min(n, len(self._points_for(settings)))
        rng = np.random.default_rng(self.seed + 1)
        noise = {"z": rng.standard_normal((n, settings["noise_dim"])).astype(np.float32)}
        self._eval_noise = noise["z"]
        if self.file_mode:  # real points of the file, scored in the generator's standardised space
            real = {"x": data.standardize(self._subset(self._points(), n, rng), *self._statistics())}
            metrics = {"toy": metric.PointsMetric()}
        else:
            real = {"x": data.sample_toy(self.config.DATA.mode, n, rng)}
            metrics = {"toy": metric.ToyMetric(self.config.DATA.mode)}
        if (not training or self.config.TRAIN.eval_prdc) and n >= PRDC_MIN_POINTS:
            metrics["prdc"] = metric.PRDCMetric(key="x")  # precision/recall, density/coverage on the scored points
        return sample_validator(noise, real, self.config.EVAL.batch_size, metrics)

    # --------------------------------------------------------------- pictures
    def picture_fn(self, settings: Dict[str, Any], with_critic: bool):
        mode, n = self.config.DATA.mode, self.config.VIS.num_points
        rng = np.random.default_rng(self.seed + 2)
        output_dir = self.output_dir
        if self.file_mode:
            real = self._subset(self._points_for(settings), n, rng)
            label = os.path.basename(str(self.config.DATA.data_path))
        else:
            real = data.sample_toy(mode, n, rng)
        noise = rng.standard_normal((n, settings["noise_dim"])).astype(np.float32)
        names, pair_dims = self._names, self.config.VIS.pair_dims

        def draw(solver, tag: str) -> str:
            fake = solver.model.generate({"z": noise})
            path = os.path.join(output_dir, f"toy_{tag}.png")
            critic = solver.model.critic if with_critic else None
            if self.file_mode:
                generator = solver.model.generator
                visualize.plot_points(path, real, generator.to_data(fake), critic, generator.from_data, names,
                                      f"WGAN-GP {label}, {solver.describe_weights()}", pair_dims)
            else:
                visualize.plot_toy(path, real, fake, critic, f"WGAN-GP {mode}, {solver.describe_weights()}")
            return path

        return draw

    # ---------------------------------------------------------------- results
    def shipped_weights(self) -> Optional[Tuple[str, Optional[str]]]:
        if self.file_mode:
            return None  # check() already asked for EVAL.pretrained_gen_model_path
        return shipped_weights("toy", self.config.DATA.mode)

    def after_eval(self, solver, settings: Dict[str, Any]) -> Dict[str, Any]:
        if not self.file_mode:
            return {}
        fake = solver.model.generate({"z": self._eval_noise}, self.config.EVAL.batch_size)
        samples = solver.model.generator.to_data(fake).astype(np.float64)
        return {"sample_mean": samples.mean(0).tolist(), "sample_std": samples.std(0).tolist()}

    protocol_samples = 10000
    samples_key = "DATA.num_eval_samples"

    def sample_sizes(self) -> Dict[str, Dict[str, int]]:
        n = self._eval_count()
        return {"toy": {"generated": n, "real": n}, "prdc": {"generated": n, "real": n}}

    def result_info(self) -> Dict[str, Any]:
        if not self.file_mode:
            return {"data": self.config.DATA.mode, "num_samples": self.config.DATA.num_eval_samples}
        mean, std = self._statistics()
        points = self._points()
        return {"data": FILE_MODE, "data_path": str(self.config.DATA.data_path), "data_dim": int(points.shape[1]),
                "num_points": int(len(points)), "num_samples": self._eval_count(),
                "dim_names": self._names, "data_mean": mean.tolist(), "data_std": std.tolist()}

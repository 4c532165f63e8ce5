"""Image experiments: the paper's ResNet pairs on a user's own images (and, as a subclass, on CIFAR-10).

``ImagesExperiment`` (``examples/wgangp/wgangp_images.py``) trains on any
folder, ``.npz`` / ``.npy`` or idx file that ``ppsci_ext.data.read_image_set``
reads, at 32x32 (the paper's CIFAR-10 ResNet) or 64x64 (the ResNet of the
official ``gan_64x64.py``), grayscale or RGB, unconditional or AC-GAN with the
classes of the data. It scores the samples with the Inception FID / KID / IS
and precision-recall against the user's own images (statistics cached under
the data's digest), and draws sample grids (one row per class when
conditional), interpolation grids and exported samples.

The architecture is described by the settings ``resolution``, ``channels``,
``num_classes`` (all read off the data when training, off the weights when
evaluating), ``dim``, ``conditional`` and ``critic_norm``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ppsci_ext import data, metric
from ppsci_ext.arch import GAN
from ppsci_ext.arch.images import build_image_gan, describe_image_generator
from ppsci_ext.arch.cifar10 import NOISE_DIM
from ppsci_ext.data.image_sets import BAD_IMAGES, CACHE_VERSION, RESOLUTIONS, ImageSet
from ppsci_ext.errors import UserError, about
from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.config import Key
from ppsci_ext.io.weights import extract_network
from ppsci_ext.solver.builders import sample_validator
from ppsci_ext.visualize import export_samples, interpolation_noise, save_image_grid

# Lower-is-better metric names that TRAIN.monitor may name, per Inception metric.
MONITORABLE = {"fid": "fid", "kid": "kid_mean"}
OFFICIAL_DIM = {32: 128, 64: 64}  # gan_cifar_resnet.py DIM_G = DIM_D = 128; gan_64x64.py DIM = 64
OFFICIAL_NORM = {32: None, 64: "layer"}  # the critics' normalisation in the official WGAN-GP runs
MAX_GRID_ROWS = 20
PRDC_K = 5  # density/coverage's neighbours (precision/recall use 3)

# Keys of every image experiment (the user's images and CIFAR-10).
IMAGE_KEYS = [
    Key("MODEL.conditional", bool),
    Key("LOSS.acgan_critic_scale", float, low=0),
    Key("LOSS.acgan_generator_scale", float, low=0),
    Key("TRAIN.generator_batch_size", int, low=1, nullable=True),
    Key("TRAIN.eval_prdc", bool),
    Key("EVAL.inception_weights_path", str, nullable=True),
    Key("EVAL.metrics", list, choices=("is", "fid", "kid")),
    Key("EVAL.num_samples", int, low=2),
    Key("EVAL.num_samples_train", int, low=2),
    Key("EVAL.inception_batch_size", int, low=1),
    Key("EVAL.is_splits", int, low=1),
    Key("EVAL.kid_subsets", int, low=1),
    Key("EVAL.kid_subset_size", int, low=2),
    Key("EVAL.export_samples", int, low=0),
    Key("EVAL.export_format", str, choices=("png", "npz")),
]


class ImagesExperiment(Experiment):
    """WGAN-GP ResNet on the user's own images (``examples/wgangp/wgangp_images.py``)."""

    name = "images"
    model_keys = ("dim", "conditional", "critic_norm")
    sample_range = (-1.0, 1.0)  # the tanh's
    keys = IMAGE_KEYS + [
        Key("DATA.data_path", str, nullable=True),
        Key("DATA.resolution", int, choices=RESOLUTIONS),
        Key("DATA.channels", int, choices=(1, 3), nullable=True),
        Key("DATA.bad_images", str, choices=BAD_IMAGES),
        Key("DATA.cache_dir", str, nullable=True),
        Key("MODEL.dim", int, low=1, nullable=True),
        Key("MODEL.critic_norm", str, choices=("auto", "layer"), nullable=True),
        Key("EVAL.reference_path", str, nullable=True),
    ]

    def __init__(self, config, data: Optional[ImageSet] = None):
        self._sets: Dict[tuple, ImageSet] = {}
        self.inception_weights = None  # the resolved path of EVAL.inception_weights_path
        self.kid_subset_size: Optional[int] = None  # as used (EVAL.kid_subset_size, or the smaller set's size)
        super().__init__(config, data)

    def acgan_scales(self):
        return self.config.LOSS.acgan_critic_scale, self.config.LOSS.acgan_generator_scale

    def generator_batch_size(self) -> Optional[int]:
        return self.config.TRAIN.generator_batch_size

    def check(self) -> None:
        if self.data is not None:
            self._sets[(self.config.DATA.data_path, self.config.DATA.channels, self.config.DATA.resolution)] = self.data
        d, ev = self.config.DATA, self.config.EVAL
        if not d.data_path:
            what = "to train on" if self.mode == "train" else "the samples are scored against"
            scored = ev.inception_weights_path and {"fid", "kid"} & set(ev.metrics) and not ev.reference_path
            if self.mode == "train" or (self.mode == "eval" and scored):  # export / infer read no images
                raise UserError(f"DATA.data_path is not set: give the images {what} (a folder, an .npz / .npy of "
                                "uint8 images or an idx file), e.g. DATA.data_path=my_pngs/.")
        self.scored = self._scored_metrics()

    # ------------------------------------------------------------------- data
    def read_set(self, path: str, key: str, channels: Optional[int] = None,
                 resolution: Optional[int] = None) -> ImageSet:
        """The image set at ``path`` (read once per run, through the decoded-images cache).

        ``channels`` and ``resolution`` default to DATA.channels and DATA.resolution; eval passes
        the model's, read off its weights.
        """
        d = self.config.DATA
        channels = channels if channels is not None else d.channels
        resolution = resolution or d.resolution
        if (path, channels, resolution) not in self._sets:
            from ppsci.utils import logger

            with about(f"{key}={path}"):
                try:
                    found, cache = data.cached_image_set(path, resolution, channels, d.bad_images, self._cache_dir())
                except UserError as e:
                    raise UserError(name_channels_key(str(e))) from None
            logger.message(f"{key}={path}: {found.describe()}" + (f" (cache {cache})" if cache else ""))
            if found.skipped:
                shown = "; ".join(found.skipped[:5]) + (" ..." if len(found.skipped) > 5 else "")
                logger.warning(f"{key}={path}: skipped {len(found.skipped)} unreadable of "
                               f"{len(found.skipped) + len(found.images)} files (DATA.bad_images=skip): {shown}")
            self._sets[(path, channels, resolution)] = found
        return self._sets[(path, channels, resolution)]

    def _cache_dir(self) -> Optional[str]:
        given = self.config.DATA.cache_dir
        if given != "auto":
            return given
        from ppsci_ext.io.cache import default_cache_dir

        return os.path.join(default_cache_dir(), "images")

    def training_set(self) -> ImageSet:
        return self.read_set(self.config.DATA.data_path, "DATA.data_path")

    def reference_set(self, settings: Dict[str, Any]) -> ImageSet:
        """The real images the samples are scored against: EVAL.reference_path, else the training data."""
        path, key = (self.config.EVAL.reference_path, "EVAL.reference_path") if self.config.EVAL.reference_path else \
            (self.config.DATA.data_path, "DATA.data_path")
        resolution = settings["resolution"]
        found = self.read_set(path, key, resolution=resolution)  # as the training data is read (usually already)
        if found.channels != settings["channels"]:  # converted to the model's channels, for a like comparison
            found = self.read_set(path, key, settings["channels"], resolution)
        return found

    @staticmethod
    def reference_name(images: ImageSet) -> str:
        """Statistics cache name: the data's digest, the resolution / channels and the decoder's version
        (statistics of images decoded by older rules are never reused)."""
        r, c = images.images.shape[1], images.images.shape[3]
        return f"images-{images.digest[:16]}-r{r}c{c}-v{CACHE_VERSION}"

    def check_classes(self, found: ImageSet, conditional: bool, key: str) -> None:
        if not conditional:
            return
        if found.num_classes < 2:
            raise UserError(f"MODEL.conditional=true needs images of at least 2 classes, but {key}={found.source} "
                            f"has {'one class' if found.num_classes == 1 else 'no labels'}; put each class in its "
                            "own sub-folder (or give labels in the .npz), or set MODEL.conditional=false.")
        counts = np.bincount(found.labels, minlength=found.num_classes)
        few = [k for k in range(found.num_classes) if counts[k] < 2]
        if few:
            def images(k):
                return "a single image" if counts[k] == 1 else "no image"

            if len(few) == 1:
                what = f"the class {found.class_names[few[0]]} has {images(few[0])}"
            else:
                what = "the classes " + ", ".join(f"{found.class_names[k]} ({images(k)})" for k in few) + \
                    " have fewer than 2 images"
            raise UserError(f"{key}={found.source}: {what}; an AC-GAN needs at least 2 images of "
                            "every class (per-class FID needs their covariance). Add images, remove the class, or "
                            "set MODEL.conditional=false.")

    def train_data(self):
        found = self.training_set()
        conditional = bool(self.config.MODEL.conditional)
        self.check_classes(found, conditional, "DATA.data_path")
        labels = {"y": found.labels} if conditional else {}
        return {"img": data.DequantizedImages(found.images, channels_last=True)}, labels

    # --------------------------------------------------------------- settings
    def yaml_model_settings(self) -> Dict[str, Any]:
        """MODEL settings plus what the training data decides (channels, classes)."""
        settings = {**super().yaml_model_settings(), "resolution": self.config.DATA.resolution}
        if self.mode != "train":
            return settings  # eval: the weights decide the rest (model_settings_from), then it is resolved
        found = self.training_set()
        settings["channels"] = found.channels
        settings["num_classes"] = found.num_classes if settings["conditional"] else 0
        return self.resolve_settings(settings)

    @staticmethod
    def resolve_settings(settings: Dict[str, Any]) -> Dict[str, Any]:
        """``dim`` null and ``critic_norm`` auto become the official choice of the resolution."""
        r = settings["resolution"]
        out = dict(settings)
        out["dim"] = settings["dim"] if settings.get("dim") is not None else OFFICIAL_DIM[r]
        out["critic_norm"] = OFFICIAL_NORM[r] if settings.get("critic_norm") == "auto" else settings.get("critic_norm")
        return out

    def model_settings_from(self, obj: Any, path: str) -> Dict[str, Any]:
        settings = super().model_settings_from(obj, path)
        found = self.infer_model(extract_network(obj, "generator", path))
        if not found:
            raise UserError(f"{path} does not hold a generator of this experiment (a 32x32 or 64x64 ResNet); "
                            "give the *_gen.pdparams or .pdckpt of a wgangp_images.py run.")
        # MODEL.* contradictions are refused by the base class; DATA.resolution is decided by the weights too
        if "DATA.resolution" in self.config.given and settings["resolution"] != found["resolution"]:
            raise UserError(f"DATA.resolution={settings['resolution']} contradicts {path}, which holds a model "
                            f"with resolution {found['resolution']}; drop it from the command line.")
        settings.update(found)
        return self.resolve_settings(settings)

    def infer_model(self, generator_state: Dict[str, Any]) -> Dict[str, Any]:
        return describe_image_generator(generator_state)

    def build_model(self, settings: Dict[str, Any]) -> GAN:
        return build_image_gan(settings)

    # -------------------------------------------------------------- metrics
    def monitorable(self):
        return [f"inception.{MONITORABLE[m]}" for m in self.scored if m in MONITORABLE]

    def _scored_metrics(self):
        from ppsci.utils import logger

        if not self.config.EVAL.inception_weights_path:
            logger.message("EVAL.inception_weights_path is null: Inception Score, FID and KID are skipped "
                           "(`auto` fetches the standard weights; docs/metrics.md).")
            return ()
        return tuple(self.config.EVAL.metrics)

    def _inception(self) -> str:
        """The Inception weights, resolved (``auto`` fetched) when first needed, after the other checks.

        Weights without the fc layer drop the Inception Score from ``scored``, with a message.
        """
        from ppsci.utils import logger

        if self.inception_weights is None:
            given = self.config.EVAL.inception_weights_path
            with about(f"EVAL.inception_weights_path={given}"):
                self.inception_weights = metric.resolve_inception_weights(given)
                has_logits = metric.load_inception(self.inception_weights).fc is not None
            if "is" in self.scored and not has_logits:
                logger.message(f"{self.inception_weights} has no logits layer: Inception Score skipped "
                               "(FID and KID only).")
                self.scored = tuple(m for m in self.scored if m != "is")
        return self.inception_weights

    def reference(self, settings: Dict[str, Any], with_classes: bool):
        """(uint8 images, statistics cache name, labels or None) of the real images scored against."""
        found = self.reference_set(settings)
        if with_classes and found.class_names != tuple(self.class_names(settings)):
            from ppsci.utils import logger

            logger.message(f"the reference images have the classes {list(found.class_names)}, not the model's: "
                           "intra-class FID skipped.")
            with_classes = False
        return found.images, self.reference_name(found), found.labels if with_classes else None

    def real_statistics(self, settings: Dict[str, Any], weights: str, with_classes: bool):
        """Inception statistics of the reference images (and per class when ``with_classes``), cached by name."""
        images, name, labels = self.reference(settings, with_classes)
        stats = metric.dataset_statistics(images, name, weights, batch_size=self.config.EVAL.inception_batch_size,
                                          labels=labels)
        return stats, labels is not None

    def validator(self, settings: Dict[str, Any], training: bool):
        ev = self.config.EVAL
        if not self.scored:
            return None
        weights = self._inception()
        if not self.scored:
            return None
        stats, prdc = None, ()
        k = settings["num_classes"] if settings["conditional"] else 0
        intra = bool(k) and not training and "fid" in self.scored
        if {"fid", "kid"} & set(self.scored):
            stats, intra = self.real_statistics(settings, weights, intra)
            prdc = ("prdc",) if not training or self.config.TRAIN.eval_prdc else ()
        n = ev.num_samples_train if training else ev.num_samples
        n_real = len(stats["features"]) if stats is not None and "features" in stats else n
        self._check_sample_sizes(n, n_real, training, bool(prdc), k if intra else 0)
        self._sizes = {"inception": {"generated": n, **({} if stats is None else {
            "real": int(stats["num_images"]) if "num_images" in stats else n_real, "real_kept": n_real})}}
        self._scorer = scorer = metric.InceptionMetrics(
            weights, metrics=self.scored + prdc, key="img", reference=stats,
            batch_size=ev.inception_batch_size, is_splits=ev.is_splits, kid_subsets=ev.kid_subsets,
            kid_subset_size=self.kid_subset_size or ev.kid_subset_size,
            class_reference=stats.get("classes") if intra else None,
            class_names=self.class_names(settings) if k else None)
        # conditional: every class equally often (intra-class FID compares each with its real images)
        labels = (np.arange(n) % k).astype(np.int64) if k else None
        noise = self.inputs(settings, n, self.seed + 1, labels)
        # The label dict names the output to collect (the real side is the statistics) and
        # carries the generated labels for intra-class FID.
        placeholder = {"img": np.zeros((n, 1), np.float32), **({"y": labels} if labels is not None else {})}
        return sample_validator(noise, placeholder, ev.batch_size, {"inception": scorer})

    def _check_sample_sizes(self, n: int, n_real: int, training: bool, prdc: bool, classes: int) -> None:
        """The metrics' sample-size needs, checked when the validator is built (before any training step).

        KID's subset may not exceed the smaller of the two sets: a subset size the user set is
        refused, the default is lowered to fit (logged, and reported in metrics.json).
        PRDC needs more points than its k = 5 neighbours; intra-class FID 2 samples per class.
        """
        from ppsci.utils import logger

        key = "EVAL.num_samples_train" if training else "EVAL.num_samples"
        smaller = min(n, n_real)
        if prdc and smaller <= PRDC_K:
            which = f"{key}={n}" if n <= n_real else f"the {n_real} real images"
            raise UserError(f"density/coverage compare each point with its {PRDC_K} nearest neighbours, so they need "
                            f"more than {PRDC_K} points on each side, but {which} are scored; raise {key} or give "
                            f"more images{', or set TRAIN.eval_prdc=false' if training else ''}.")
        if classes and n // classes < 2:
            raise UserError(f"{key}={n} gives {n // classes} generated samples to each of the {classes} classes, but "
                            f"intra-class FID needs at least 2 per class; set {key}={2 * classes} or more.")
        size = self.config.EVAL.kid_subset_size
        self.kid_subset_size = size
        if "kid" not in self.scored or size <= smaller:
            return
        sets = f"{key}={n} generated samples" if n <= n_real else f"the {n_real} real images"
        if "EVAL.kid_subset_size" in self.config.given:
            raise UserError(f"EVAL.kid_subset_size={size} exceeds {sets}, the smaller set KID draws its subsets "
                            f"from; set EVAL.kid_subset_size={smaller} or fewer.")
        self.kid_subset_size = smaller
        logger.message(f"EVAL.kid_subset_size: KID subsets of {smaller} (not {size}), the size of the smaller set "
                       f"({sets}); reported as kid_subset_size in metrics.json.")

    # ------------------------------------------------------------- pictures
    def class_names(self, settings: Dict[str, Any]) -> List[str]:
        """Names of the model's classes: the data's when it is readable and has as many, else their numbers."""
        k = settings["num_classes"]
        path = self.config.DATA.data_path
        if k and self.data is not None and self.data.num_classes == k:  # in-memory images (ppsci_ext.fit)
            return list(self.data.class_names)
        if k and path and os.path.exists(path):
            found = self.read_set(path, "DATA.data_path", resolution=settings["resolution"])
            if found.num_classes == k:
                return list(found.class_names)
        return [str(i) for i in range(k)]

    def inputs(self, settings: Dict[str, Any], n: int, seed: int, labels: Optional[np.ndarray] = None):
        """Fixed generator inputs: noise from ``seed`` and, when conditional, labels (random unless given)."""
        rng = np.random.default_rng(seed)
        inputs = {"z": rng.standard_normal((n, NOISE_DIM)).astype(np.float32)}
        if settings["conditional"]:
            inputs["y"] = labels if labels is not None else \
                rng.integers(0, settings["num_classes"], n).astype(np.int64)
        return inputs

    def _grid_rows(self, settings: Dict[str, Any]) -> Optional[Sequence[str]]:
        """Row names of a conditional grid (one row per class, at most MAX_GRID_ROWS), or None."""
        if not settings["conditional"]:
            return None
        names = self.class_names(settings)
        return names[:MAX_GRID_ROWS]

    def picture_fn(self, settings: Dict[str, Any], with_critic: bool):
        """A grid from fixed noise: 10x10, or one row of 10 per class when conditional."""
        from ppsci.utils import logger

        names = self._grid_rows(settings)
        rows = len(names) if names else 10
        labels = np.repeat(np.arange(rows), 10).astype(np.int64) if names else None
        inputs = self.inputs(settings, rows * 10, self.seed + 2, labels)
        if names:
            more = f" (the first {rows} of {settings['num_classes']} classes)" if rows < settings["num_classes"] else ""
            logger.message(f"Sample grid rows, top to bottom{more}: {', '.join(names)}")
        output_dir = self.output_dir

        def draw(solver, tag: str) -> str:
            images = solver.model.generate(inputs, 100)  # batches of 100, as the official sample grid
            path = os.path.join(output_dir, f"samples_{tag}.png")
            save_image_grid(path, images, rows, 10, value_range=(-1.0, 1.0), row_labels=names)
            return path

        return draw

    def after_eval(self, solver, settings: Dict[str, Any]) -> Dict[str, Any]:
        from ppsci.utils import logger

        ev = self.config.EVAL
        found = {"interpolation": self._interpolation(solver, settings)}
        if not ev.export_samples:
            return {**found, "exported": None}
        inputs = self.inputs(settings, ev.export_samples, self.seed + 3)
        exported = export_samples(os.path.join(self.output_dir, "samples"),
                                  solver.model.generate(inputs, ev.batch_size), ev.export_format, inputs.get("y"))
        logger.message(f"Wrote {ev.export_samples} samples to {exported}")
        return {**found, "exported": exported}

    def _interpolation(self, solver, settings: Dict[str, Any]) -> str:
        """interpolation.png: each row slerps between two fixed noise vectors (row i is class i when conditional)."""
        rows, steps = 8, 10
        inputs = {"z": interpolation_noise(NOISE_DIM, rows, steps, self.seed + 4)}
        names = None
        if settings["conditional"]:
            k = settings["num_classes"]
            all_names = self.class_names(settings)
            inputs["y"] = np.repeat(np.arange(rows) % k, steps).astype(np.int64)
            names = [all_names[i % k] for i in range(rows)]
        path = os.path.join(self.output_dir, "interpolation.png")
        return save_image_grid(path, solver.model.generate(inputs, rows * steps), rows, steps,
                               value_range=(-1.0, 1.0), row_labels=names)

    @property
    def protocol_samples(self) -> Optional[int]:
        return 50000 if self.name == "cifar10" else None  # IS / FID of the published CIFAR-10 figures

    def sample_sizes(self) -> Dict[str, Dict[str, int]]:
        return getattr(self, "_sizes", {})

    def _intra_report(self) -> Optional[Dict]:
        scorer = getattr(self, "_scorer", None)
        return scorer.intra_report if scorer is not None else None

    def metric_notes(self) -> Dict[str, str]:
        report = self._intra_report()
        return {"inception.intra_fid": metric.inception.metrics.describe_intra_report(report)} if report else {}

    def result_info(self) -> Dict[str, Any]:
        ev = self.config.EVAL
        n = ev.num_samples if self.mode == "eval" else ev.num_samples_train
        info = {"data": str(self.config.DATA.data_path)}
        if self.scored and self.inception_weights:  # no Inception metric computed: no claims about them
            info.update({"num_samples": n, "inception_weights": self.inception_weights,
                         "kid_subset_size": self.kid_subset_size if "kid" in self.scored else None})
        report = self._intra_report()
        if report:
            info["intra_fid"] = report
        for (path, _, _), found in self._sets.items():
            info.setdefault("data_sets", {})[path] = {"images": int(len(found.images)), "digest": found.digest,
                                                     "skipped": len(found.skipped)}
        return info


CHANNELS_ADVICE = "set the channels to 3 (convert every image to RGB) or 1 (grayscale)"


def name_channels_key(message: str) -> str:
    """The image reader's advice on mixed channel counts, with the key that sets them (DATA.channels)."""
    return message.replace(CHANNELS_ADVICE, "set DATA.channels=3 (convert every image to RGB) or DATA.channels=1 "
                                            "(grayscale)")

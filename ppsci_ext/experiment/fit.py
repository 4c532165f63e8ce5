"""``fit``: WGAN-GP on an in-memory array, through the same settings, checks and solver as the examples.

Points ``[N, D]`` (floats) go to the toy experiment in ``DATA.mode=file``;
uint8 images ``[N, H, W]`` or ``[N, H, W, C]`` go to the image experiment. The
settings are built by the Python door (``settings.from_values``): the example's
YAML defaults with the caller's values on top, checked exactly as the script
checks them, without Hydra (its global state is never touched). The array is
trained on in memory; the checkpoint's stored ``DATA.data_path`` records its
shape, dtype and SHA-256, so a run can always be traced to its data.

Examples:
    >>> import numpy as np, ppsci_ext
    >>> X = np.random.default_rng(0).normal([3.0, -1.0], [2.0, 0.5], (4000, 2))
    >>> gen, critic = ppsci_ext.fit(X, epochs=2, output_dir="runs/fit_demo")  # doctest: +SKIP
    >>> gen.sample(1000, seed=0).mean(axis=0)  # doctest: +SKIP
    array([ 2.9, -1.0], dtype=float32)
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from ppsci_ext.errors import UserError


class TrainedPair(NamedTuple):
    """What ``fit`` returns: ``gen, critic = fit(...)``."""

    generator: Any  # ppsci_ext.pretrained.Generator: sample(n, seed) -> numpy
    critic: Any  # the critic network (a ppsci.arch.base.Arch)


def parse_overrides(overrides: Sequence[str]) -> Dict[str, Any]:
    """Command-line style ``KEY=VALUE`` strings as ``{KEY: value}``, typed as the command line types them.

    Uses Hydra's override grammar as a plain parser (no config search path, no global state).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise UserError(f"override {item!r} must be a string KEY=VALUE, e.g. 'TRAIN.batch_size=128'.")
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError(f"the overrides {list(overrides)} cannot be read ({first}); write them as on the command "
                        "line, e.g. 'MODEL.width=64'.") from None
    return {o.key_or_group: o.value() for o in parsed}


def describe_array(X: np.ndarray, name: str = "X") -> str:
    """What the checkpoint stores as DATA.data_path of in-memory data: shape, dtype and SHA-256."""
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:16]
    return f"<in-memory {name}: {list(X.shape)} {X.dtype}, sha256 {digest}>"


def _image_set(X: np.ndarray, y: Optional[np.ndarray], resolution: int, channels: Optional[int], source: str):
    from ppsci_ext.data.image_sets import image_set_from_arrays

    return image_set_from_arrays(X, y, resolution, channels, source)


def fit(X, y: Optional[np.ndarray] = None, epochs: int = 10, output_dir: str = "outputs_fit",
        overrides: Sequence[str] = (), resolution: int = 32, settings: Optional[Mapping[str, Any]] = None,
        save_data: bool = False, **keys: Any) -> TrainedPair:
    """Train WGAN-GP on ``X`` and return the trained (generator, critic).

    One epoch is one pass of the critic over the data: ``N // (batch_size * n_critic)``
    generator iterations (at least one). The batch is lowered to N when N is smaller
    (unless TRAIN.batch_size is given).

    Args:
        X: Points ``[N, D]`` (or ``[N]``) of floats, or uint8 images ``[N, H, W]`` / ``[N, H, W, C]``.
        y (Optional[np.ndarray]): Integer class of each image: trains the AC-GAN variant.
        epochs (int): Passes over the data. Defaults to 10.
        output_dir (str): The run's folder (checkpoints, pictures, metrics.json).
        overrides (Sequence[str]): Keys as on the example's command line (``["MODEL.width=64"]``).
        resolution (int): Images only: 32 or 64. Defaults to 32.
        settings (Optional[Mapping[str, Any]]): Keys of the example, nested (``{"TRAIN": {"batch_size": 64}}``)
            or dotted (``{"TRAIN.batch_size": 64}``).
        save_data (bool): Also write ``X`` (and ``y``) into ``output_dir/data/`` and name that file as
            DATA.data_path, so that the example script can evaluate or resume the run. Defaults to False
            (trained in memory; the checkpoint records the array's shape, dtype and SHA-256).
        **keys: The same as keyword arguments (``TRAIN={"batch_size": 64}``, ``seed=3``).

    Returns:
        TrainedPair: ``generator`` (``ppsci_ext.pretrained.Generator``, ``sample(n, seed)``) and ``critic``.

    Raises:
        UserError: A bad value or unknown key, with the example script's text.
    """
    from ppsci_ext.errors import check_positive
    from ppsci_ext.experiment import folders
    from ppsci_ext.experiment.images import ImagesExperiment
    from ppsci_ext.experiment.settings import dotted, from_values
    from ppsci_ext.experiment.toy import ToyExperiment

    check_positive(epochs, "epochs", whole=True)
    X = np.asarray(X)
    points = X.dtype.kind == "f" and X.ndim in (1, 2)
    if not points and not (X.dtype == np.uint8 and X.ndim in (3, 4)):
        raise UserError(f"X is {X.dtype} of shape {list(X.shape)}; give points [N, D] of floats, or uint8 images "
                        "[N, H, W] / [N, H, W, C] (np.clip(x * 255, 0, 255).astype(np.uint8) for floats in [0, 1]).")
    if points and y is not None:
        raise UserError("y (class labels) is for images; points are modelled without labels.")
    given = {**dotted(dict(settings or {})), **dotted(keys), **parse_overrides(overrides)}
    n = len(X)
    output_dir = os.fspath(output_dir)  # a pathlib.Path is as good as a string
    own: Dict[str, Any] = {"output_dir": output_dir, "TRAIN.epochs": epochs}
    saved = os.path.join(str(output_dir), "data", "points.npy" if points else "images.npz") if save_data else None
    if points:
        name, cls = "toy", ToyExperiment
        own.update({"DATA.mode": "file", "DATA.data_path": saved or describe_array(X)})
    else:
        name, cls = "images", ImagesExperiment
        own.update({"DATA.data_path": saved or describe_array(X), "DATA.resolution": resolution,
                    "MODEL.conditional": y is not None,
                    "EVAL.inception_weights_path": None})  # FID needs Inception weights: ask for them
    first = from_values(name, cls.all_keys(), {**own, **given})
    if points and "MODEL.noise_dim" not in given:  # noise of fewer dimensions than the data: a thinner manifold
        own["MODEL.noise_dim"] = max(first.MODEL.noise_dim, X.reshape(n, -1).shape[1])
    batch = first.TRAIN.batch_size if "TRAIN.batch_size" in given else min(first.TRAIN.batch_size, n)
    own.update({"TRAIN.batch_size": batch, "TRAIN.iters_per_epoch": max(1, n // (batch * first.TRAIN.n_critic))})
    run = from_values(name, cls.all_keys(), {**own, **given})
    data = X if points else _image_set(X, y, run.DATA.resolution, run.DATA.channels, run.DATA.data_path)
    experiment = None
    try:
        experiment = cls(run, data=data)  # the folder is locked and checked: nothing of another run is replaced
        if saved:
            _save_data(saved, X, y, points)
        solver = experiment.train()
    except UserError:
        folders.discard_if_refused(str(run.output_dir))
        raise
    finally:
        if experiment is not None:
            folders.release(experiment.lock)
    return TrainedPair(_trained_generator(experiment, solver, name), solver.model.critic)


def _save_data(path: str, X: np.ndarray, y: Optional[np.ndarray], points: bool) -> None:
    """``X`` (and ``y``) as the file the example scripts read (atomically)."""
    from ppsci_ext.io.atomic import atomic_savez, atomic_write

    os.makedirs(os.path.dirname(path), exist_ok=True)
    if points:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to the temporary name
                np.save(f, X.reshape(len(X), -1), allow_pickle=False)

        atomic_write(path, write)
    else:
        atomic_savez(path, **({"images": X} if y is None else {"images": X, "labels": np.asarray(y)}))


def _trained_generator(experiment, solver, kind: str):
    """The generator just trained (its average when EMA is on), wrapped for ``sample``; nothing is reloaded."""
    from ppsci_ext.pretrained.loader import Generator

    arch = experiment.yaml_model_settings()
    network = solver.model.generator
    if solver.ema_model is not None:  # a second network holding the average; the trained one stays raw
        network = experiment.build_model(arch).generator
        network.set_state_dict(solver.ema_model.state_dict())
    network.eval()
    if kind == "toy":
        arch = {**arch, "data_dim": int(network.out_dim), "standardized": True}
    return Generator(network, kind, arch, str(experiment.output_dir))

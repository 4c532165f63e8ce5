"""``fit``: WGAN-GP on an in-memory array, through the same experiments, checks and solver as the examples.

Points ``[N, D]`` (floats) go to the toy experiment in ``DATA.mode=file``;
uint8 images ``[N, H, W]`` or ``[N, H, W, C]`` go to the image experiment. The
array is written into the run's folder (``output_dir/data/``) and the run is
composed from the example's YAML with the same Hydra overrides a command
line takes, so every key is checked and the checkpoint stores the config.

Examples:
    >>> import numpy as np, ppsci_ext
    >>> X = np.random.default_rng(0).normal([3.0, -1.0], [2.0, 0.5], (4000, 2))
    >>> gen, critic = ppsci_ext.fit(X, epochs=2, output_dir="runs/fit_demo")  # doctest: +SKIP
    >>> gen.sample(1000, seed=0).mean(axis=0)  # doctest: +SKIP
    array([ 2.9, -1.0], dtype=float32)
"""

from __future__ import annotations

import os
from typing import Any, Dict, NamedTuple, Optional, Sequence

import numpy as np

from ppsci_ext.errors import UserError


class TrainedPair(NamedTuple):
    """What ``fit`` returns: ``gen, critic = fit(...)``."""

    generator: Any  # ppsci_ext.pretrained.Generator: sample(n, seed) -> numpy
    critic: Any  # the critic network (a ppsci.arch.base.Arch)


def config_dir() -> str:
    """The example YAML files shipped inside the package (``ppsci_ext/conf`` is ``examples/wgangp/conf``)."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")
    if not os.path.isfile(os.path.join(here, "wgangp_toy.yaml")):
        raise UserError(f"the example configs are missing from {here}; reinstall ppsci_ext (pip install -e .).")
    return here


def compose(name: str, overrides: Sequence[str]):
    """The config of ``wgangp_<name>.yaml`` with Hydra ``overrides``, as the example script would compose it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if GlobalHydra.instance().is_initialized():  # e.g. called from inside a Hydra app
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base=None):
            return hydra_compose(config_name=f"wgangp_{name}.yaml", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError(f"the overrides {list(overrides)} are not valid for wgangp_{name}.yaml ({first}); write "
                        "them as on the command line, e.g. 'MODEL.width=64'.") from None


def _merge(defaults: Dict[str, Any], overrides: Sequence[str]) -> list:
    """Overrides as ``KEY=VALUE`` strings; the user's win over ``fit``'s own defaults."""
    given = {}
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise UserError(f"override {item!r} must be a string KEY=VALUE, e.g. 'TRAIN.batch_size=128'.")
        given[item.split("=", 1)[0].lstrip("+")] = item
    return [f"{k}={v}" for k, v in defaults.items() if k not in given] + list(given.values())


def fit(X, y: Optional[np.ndarray] = None, epochs: int = 10, output_dir: str = "outputs_fit",
        overrides: Sequence[str] = (), resolution: int = 32) -> TrainedPair:
    """Train WGAN-GP on ``X`` and return the trained (generator, critic).

    One epoch is one pass of the critic over the data: ``N // (batch_size * n_critic)``
    generator iterations (at least one). The batch is lowered to N when N is smaller.

    Args:
        X: Points ``[N, D]`` (or ``[N]``) of floats, or uint8 images ``[N, H, W]`` / ``[N, H, W, C]``.
        y (Optional[np.ndarray]): Integer class of each image: trains the AC-GAN variant.
        epochs (int): Passes over the data. Defaults to 10.
        output_dir (str): The run's folder (checkpoints, pictures, metrics.json, the data).
        overrides (Sequence[str]): Any other key of the example, as on its command line
            (``["MODEL.width=64", "TRAIN.lr_generator=1e-4"]``).
        resolution (int): Images only: 32 or 64. Defaults to 32.

    Returns:
        TrainedPair: ``generator`` (``ppsci_ext.pretrained.Generator``, ``sample(n, seed)``) and ``critic``.
    """
    from ppsci_ext.errors import check_positive
    from ppsci_ext.experiment.images import ImagesExperiment
    from ppsci_ext.experiment.toy import ToyExperiment
    from ppsci_ext.io.atomic import atomic_savez, atomic_write
    from ppsci_ext.pretrained.loader import load

    check_positive(epochs, "epochs", whole=True)
    X = np.asarray(X)
    points = X.dtype.kind == "f" and X.ndim in (1, 2)
    if not points and not (X.dtype == np.uint8 and X.ndim in (3, 4)):
        raise UserError(f"X is {X.dtype} of shape {list(X.shape)}; give points [N, D] of floats, or uint8 images "
                        "[N, H, W] / [N, H, W, C] (np.clip(x * 255, 0, 255).astype(np.uint8) for floats in [0, 1]).")
    if points and y is not None:
        raise UserError("y (class labels) is for images; points are modelled without labels.")
    n = len(X)
    folder = os.path.join(output_dir, "data")
    os.makedirs(folder, exist_ok=True)
    if points:
        path = os.path.join(folder, "points.npy")
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to the temporary name
                np.save(f, X.reshape(n, -1), allow_pickle=False)

        atomic_write(path, write)
        name, cls, own = "toy", ToyExperiment, {"DATA.mode": "file", "DATA.data_path": path}
    else:
        path = os.path.join(folder, "images.npz")
        arrays = {"images": X} if y is None else {"images": X, "labels": np.asarray(y)}
        atomic_savez(path, **arrays)
        name, cls = "images", ImagesExperiment
        own = {"DATA.data_path": path, "DATA.resolution": resolution, "MODEL.conditional": str(y is not None).lower(),
               "EVAL.inception_weights_path": "null"}  # FID needs Inception weights: ask for them in overrides
    first = compose(name, _merge({"output_dir": output_dir, **own}, overrides))
    if points:  # noise of fewer dimensions than the data would confine the samples to a thinner manifold
        own["MODEL.noise_dim"] = max(int(first.MODEL.noise_dim), X.reshape(n, -1).shape[1])
    batch = min(int(first.TRAIN.batch_size), n)
    iters = max(1, n // (batch * int(first.TRAIN.n_critic)))
    own.update({"output_dir": output_dir, "TRAIN.epochs": epochs, "TRAIN.iters_per_epoch": iters,
                "TRAIN.batch_size": batch})
    cfg = compose(name, _merge(own, overrides))
    solver = cls(cfg).train()
    checkpoint = os.path.join(output_dir, "checkpoints", "latest_gen.pdparams")  # the EMA average when it is on
    return TrainedPair(load(checkpoint), solver.model.critic)

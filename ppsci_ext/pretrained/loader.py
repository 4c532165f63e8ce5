"""``load``: a trained generator from a shipped name or any weights file, with ``sample(n, seed)`` -> numpy.

The architecture comes from the file: the MODEL settings stored in a
``.pdckpt`` and, for every file, the shapes of the generator's weights (toy
MLP with its data statistics, MNIST's DCGAN-like net, or the 32x32 / 64x64
ResNet with its channels and classes). Nothing else is needed to sample.

Examples:
    >>> import ppsci_ext
    >>> gen = ppsci_ext.pretrained.load("toy-8gaussians")
    >>> gen.sample(5, seed=0).shape
    (5, 2)
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Dict, Optional

import numpy as np

from ppsci_ext.errors import UserError, about
from ppsci_ext.io import paddlescience

SHIPPED = {"mnist": ("mnist", "cpu"), "toy-8gaussians": ("toy", "8gaussians"),
           "toy-25gaussians": ("toy", "25gaussians"), "toy-swissroll": ("toy", "swissroll"),
           "vae-mnist": ("vae", "mnist")}
# Most samples one call draws: a million 64x64 RGB images already take 12 GB; larger sets are drawn in parts.
MAX_SAMPLES = 1_000_000
# Seeds NumPy's generators take everywhere (legacy RandomState included): 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1


class Generator:
    """A trained generator that samples numpy arrays in the data's own units.

    Attributes:
        network: The generator (a ``ppsci.arch.base.Arch``).
        kind (str): "toy" (points), "mnist" or "images".
        settings (Dict[str, Any]): The architecture read off the file.
        source (str): The file (or shipped name) it came from.
    """

    def __init__(self, network, kind: str, settings: Dict[str, Any], source: str):
        self.network = network
        self.kind = kind
        self.settings = dict(settings)
        self.source = source

    @property
    def noise_dim(self) -> int:
        return int(self.network.noise_dim)

    @property
    def num_classes(self) -> int:
        """Classes of a conditional (AC-GAN) generator, 0 for an unconditional one."""
        return int(self.settings.get("num_classes") or 0) if self.settings.get("conditional") else 0

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        return f"Generator({self.kind}: {shown}; from {self.source})"

    def sample(self, n: int, seed: int = 0, labels: Optional[np.ndarray] = None,
               batch_size: Optional[int] = None) -> np.ndarray:
        """``n`` samples from the noise of ``seed`` (the same seed gives the same samples).

        Args:
            n (int): Number of samples, 1 to ``MAX_SAMPLES`` (1,000,000).
            seed (int): Seed of the noise (and of nothing else), 0 to 2**32 - 1. Defaults to 0.
            labels (Optional[np.ndarray]): Class of each sample, for a conditional generator;
                None gives every class in turn (0, 1, ..., K-1, 0, ...).
            batch_size (Optional[int]): Samples per forward pass; the ResNet generators
                normalise with the statistics of their batch, so keep it near 100 (the default).

        Returns:
            np.ndarray: Points ``[n, D]`` (float32, in the data's units) or images
            ``[n, H, W, C]`` (uint8, C = 1 or 3).

        Raises:
            UserError: ``n``, ``seed``, ``labels`` or ``batch_size`` out of range, in one line.
        """
        import paddle

        from ppsci_ext.errors import check_number

        if isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > MAX_SAMPLES:
            raise UserError(f"n={n} is more samples than one call draws (at most {MAX_SAMPLES:,}); draw them in "
                            "parts, each with its own seed (sample(n, seed=0), sample(n, seed=1), ...).")
        check_number(n, "n", low=1, high=MAX_SAMPLES, whole=True)
        check_number(seed, "seed", low=0, high=MAX_SEED, whole=True)
        if batch_size is not None:
            check_number(batch_size, "batch_size", low=1, whole=True)
        rng = np.random.default_rng(seed)
        inputs = {"z": rng.standard_normal((n, self.noise_dim)).astype(np.float32)}
        if self.num_classes:
            y = np.arange(n) % self.num_classes if labels is None else np.asarray(labels)
            if y.shape != (n,) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= self.num_classes:
                raise UserError(f"labels must be {n} integers in 0..{self.num_classes - 1}, one per sample.")
            inputs["y"] = y.astype(np.int64)
        elif labels is not None:
            raise UserError("this generator is unconditional; sample it without labels.")
        step = batch_size or (n if self.kind == "toy" else 100)
        key = self.network.output_keys[0]
        out = []
        with paddle.no_grad():
            for start in range(0, n, step):
                batch = {k: paddle.to_tensor(v[start:start + step]) for k, v in inputs.items()}
                out.append(self.network(batch)[key].numpy())
        x = np.concatenate(out)
        if self.kind == "toy":
            return self.network.to_data(x)
        from ppsci_ext.data.images import quantize

        value_range = (0.0, 1.0) if self.kind == "mnist" else (-1.0, 1.0)  # MNIST's sigmoid, the ResNets' tanh
        return np.ascontiguousarray(quantize(x, value_range).transpose(0, 2, 3, 1))


def _build(state: Dict[str, Any], stored: Dict[str, Any]):
    """(network, kind, settings) for a generator state dict, or None when no known architecture matches."""
    from ppsci_ext.arch import MNISTGenerator, ToyGenerator
    from ppsci_ext.arch.mnist import describe_mnist_generator
    from ppsci_ext.arch.toy import describe_toy_generator
    from ppsci_ext.arch.vae import VAEDecoder, describe_vae_decoder
    from ppsci_ext.arch.images import build_image_gan, describe_image_generator

    from ppsci_ext.arch.paddlescience import build_paddlescience_generator, describe_paddlescience_generator

    found = describe_paddlescience_generator(state)  # PaddleScience's example's networks (io/paddlescience.py)
    if found:
        settings = {**found, "arch": "paddlescience"}
        if found["kind"] == "cifar10":
            settings.update(resolution=32, channels=3)
        return build_paddlescience_generator(found), "mnist" if found["kind"] == "mnist" else "images", settings
    found = describe_image_generator(state)
    if found:
        settings = {"critic_norm": None, **found}
        return build_image_gan(settings).generator, "images", settings
    found = describe_mnist_generator(state)
    if found:
        return MNISTGenerator(**found), "mnist", found
    found = describe_vae_decoder(state)  # the VAE baseline's decoder draws digits from prior noise like a generator
    if found:
        return VAEDecoder(**found), "mnist", found
    found = describe_toy_generator(state)
    if "data_dim" in found:
        settings = {"width": stored.get("width", 512), **found}
        stats = {k: np.asarray(state[k]) for k in ("data_mean", "data_std")} if found["standardized"] else {}
        network = ToyGenerator(noise_dim=settings["noise_dim"], width=settings["width"],
                               hidden_layers=settings["hidden_layers"], out_dim=settings["data_dim"], **stats)
        return network, "toy", settings
    return None


def not_a_generator(state: Dict[str, Any]) -> Optional[str]:
    """What else of this package's networks ``state`` is ("a toy critic", ...), or None.

    The critics are told apart by their single output: a toy critic is an MLP
    ending in one unit without the data statistics that every generator of
    one-dimensional points carries (so it would otherwise pass for such a
    generator); the MNIST and ResNet critics end in ``fc`` / ``output`` with
    one unit.
    """
    from ppsci_ext.arch.toy import describe_toy_generator

    def shape(key):
        return tuple(getattr(state.get(key), "shape", None) or ())

    if len(shape("output.weight")) == 2 and shape("output.weight")[1] == 1 and "conv_out.weight" not in state:
        return "a ResNet critic (*_dis.pdparams)"
    if len(shape("fc.weight")) == 2 and shape("fc.weight")[1] == 1 and len(shape("net.0.weight")) == 4:
        return "the MNIST critic (*_dis.pdparams)"
    if shape("head.weight")[-1:] == (10,) and "body.0.weight" in state:
        return "the MNIST scoring classifier"
    toy = describe_toy_generator(state)
    if toy.get("data_dim") == 1 and not toy["standardized"]:
        return "a toy critic (*_dis.pdparams)"
    return None


def load(name_or_path: str) -> Generator:
    """A trained generator, ready to ``sample``.

    Args:
        name_or_path (str): A shipped generator ("mnist", "toy-8gaussians",
            "toy-25gaussians", "toy-swissroll", or the VAE baseline's decoder "vae-mnist"), or the path (or URL) of any
            ``.pdckpt`` or ``*_gen.pdparams`` this package wrote.

    Returns:
        Generator: With the architecture read off the file.

    Raises:
        UserError: An unknown name, an unreadable file, or weights of no known generator.
    """
    from ppsci_ext.io.weights import (
        CHECKPOINT_FORMAT,
        UnsafeStoredConfig,
        extract_network,
        load_checked,
        load_file,
        nonfinite_refusal,
        parse_stored_config,
    )
    from ppsci_ext.pretrained import shipped_weights

    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path):
        raise UserError(f"give a shipped name ({', '.join(SHIPPED)}) or the path of a weights file, "
                        f"not {name_or_path!r}.")
    name = str(name_or_path)
    if name in SHIPPED:
        path = shipped_weights(*SHIPPED[name])[0]
    elif os.path.exists(name) or "://" in name:
        path = name
    else:
        raise UserError(f"{name!r} is neither a shipped generator ({', '.join(SHIPPED)}) nor an existing file; "
                        "give one of those names or the path of a .pdckpt / *_gen.pdparams.")
    with about(path):
        obj = load_file(path)
        if paddlescience.detect(obj) is not None:  # PaddleScience's example's weights, under their own names
            obj = paddlescience.translate(obj, path, paddlescience.detect(obj))
        state = extract_network(obj, "generator", path)
        stored: Dict[str, Any] = {}
        if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT and isinstance(obj.get("config"), str):
            try:
                stored = dict(parse_stored_config(obj["config"], "it").get("MODEL") or {})
            except UnsafeStoredConfig:
                raise
            except Exception:  # noqa: BLE001 - a damaged stored config: the weights' shapes still say enough
                stored = {}
        other = not_a_generator(state)
        if other:
            raise UserError(f"it holds {other}, not a generator; give the generator of that run: its "
                            "*_gen.pdparams or its .pdckpt.")
        refusal = nonfinite_refusal(state, "generator")
        if refusal:
            raise UserError(refusal)
        built = _build(state, stored)
        if built is None:
            raise UserError("it holds no generator of this package (toy MLP, MNIST, or 32x32 / 64x64 ResNet); give "
                            "the .pdckpt or *_gen.pdparams of a wgangp_*.py run.")
        network, kind, settings = built
        load_checked(network, state, "generator", path)
    return Generator(network, kind, settings, name)

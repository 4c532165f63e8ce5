"""Generator weights saved by PaddleScience's WGAN-GP example (``examples/wgangp``), read by this package.

That example saves ``generator_model.state_dict()`` of its ``WganGp*Generator``
archs, which wrap the network as ``generator``; the published files are
``model_generator_toy_8gaussians.pdparams``, ``model_generator_mnist.pdparams``
and ``model_generator_cifar10.pdparams``. Their parameter names and what the
networks compute (from the example's public model files):

- toy (``WganGpToyGenerator``, ``dim`` 512): ``generator.reluLayer{1,2,3}.linear.{weight,bias}``
  ([2, dim], [dim, dim], [dim, dim]; ReLU after each) and ``generator.linear.{weight,bias}``
  ([dim, 2]) on 2-D standard normal noise. This is the function of ``ToyGenerator(noise_dim=2,
  width=dim, hidden_layers=3)``: the names are mapped onto ``net.0``, ``net.2``, ``net.4``, ``net.6``.
- MNIST (``WganGpMnistGenerator``): ``generator.linear1`` [128, 64*dim] and
  ``generator.conv2d_transpose{1,2,3}`` (5x5, stride 2, ``padding="same"``). Paddle's "same"
  transposed convolution starts the 4 -> 8 and 14 -> 28 layers' outputs one pixel before this
  package's layers (the official ``gan_mnist.py`` alignment), so no 5x5 kernel of this package's
  generator reproduces it: the file is read into ``arch.paddlescience.PaddleScienceMNISTGenerator``,
  which computes their function (``linear1`` -> ``linear``, ``conv2d_transpose{i}`` -> ``tconv{i}``).
- CIFAR-10 (``WganGpCifar10Generator``): ``generator.linear1``, ``generator.ResidualBlocks.{0,1,2}``
  (``conv_shortcut.conv2D``, ``conv_1.conv2D``, ``conv_2``, ``normalize{1,2}.normalize``),
  ``generator.Normalize.normalize`` and ``generator.conv``. Its upsampling (four copies of the
  input and Paddle's channel-major ``PixelShuffle(2)``) feeds each 2x2 pixel phase from another
  channel, and in eval its batch norms use the stored running statistics (``_mean`` /
  ``_variance``, or ``mean`` / ``var`` with the per-class ``scale`` / ``offset`` when
  conditional): not this package's ResNet. The file is read into
  ``arch.paddlescience.PaddleScienceCifar10Generator`` (``linear1`` -> ``linear``,
  ``ResidualBlocks.{b}`` -> ``blocks.{b}`` with ``conv_shortcut.conv2D`` -> ``shortcut``,
  ``conv_1.conv2D`` -> ``conv1``, ``conv_2`` -> ``conv2``, ``normalize{n}.normalize`` -> ``norm{n}``,
  ``Normalize.normalize`` -> ``norm``; ``_mean`` / ``mean`` -> ``mean``, ``_variance`` / ``var`` ->
  ``variance``, ``scale`` -> ``weight``, ``offset`` -> ``bias``).

``translate`` is called where a generator file is loaded (``Experiment.load_generator_file``,
``pretrained.load``): a PaddleScience file becomes a state dict under this package's names (the
toy one of ``ToyGenerator``, the others of ``arch.paddlescience``, which
``arch.paddlescience.describe_paddlescience_generator`` recognises by its names), a file of
another experiment's script is refused in one line, anything else is returned unchanged.

Examples:
    >>> import numpy as np
    >>> from ppsci_ext.io.paddlescience import translate
    >>> state = {"generator.reluLayer1.linear.weight": np.zeros((2, 4), np.float32)}
    >>> sorted(translate({"w": 1}, "f.pdparams", "toy"))
    ['w']
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ppsci_ext.errors import UserError

SCRIPTS = {"toy": "wgangp_toy.py", "mnist": "wgangp_mnist.py", "cifar10": "wgangp_cifar10.py"}
# A name only PaddleScience's generator of each kind has (with or without the ``generator.`` prefix).
MARKERS = {
    "toy": "reluLayer1.linear.weight",
    "mnist": "conv2d_transpose1.weight",
    "cifar10": "ResidualBlocks.0.conv_1.conv2D.weight",
}
TOY_LAYERS = (("reluLayer1.linear", "net.0"), ("reluLayer2.linear", "net.2"), ("reluLayer3.linear", "net.4"),
              ("linear", "net.6"))


def _shape(value: Any) -> Optional[tuple]:
    shape = getattr(value, "shape", None)
    return tuple(int(s) for s in shape) if shape is not None else None


def _prefix(state: Dict[str, Any], marker: str) -> Optional[str]:
    for prefix in ("generator.", ""):
        if prefix + marker in state:
            return prefix
    return None


def detect(obj: Any) -> Optional[str]:
    """"toy", "mnist" or "cifar10" when ``obj`` is a state dict with PaddleScience's generator names, else None."""
    if not isinstance(obj, dict) or "format" in obj:
        return None  # a checkpoint of this package (or not weights at all)
    for kind, marker in MARKERS.items():
        if _prefix(obj, marker) is not None:
            return kind
    return None


def toy_state(state: Dict[str, Any], path: str) -> Dict[str, Any]:
    """PaddleScience's toy generator weights under this package's names (``ToyGenerator`` with 3 hidden layers).

    Raises:
        UserError: A name missing or extra, or a shape that is not [2, dim], [dim, dim], [dim, dim], [dim, 2].
    """
    prefix = _prefix(state, MARKERS["toy"]) or ""
    expected = {f"{prefix}{theirs}.{p}": f"{ours}.{p}" for theirs, ours in TOY_LAYERS for p in ("weight", "bias")}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        what = f"lacks {', '.join(missing)}" if missing else f"has the unexpected {', '.join(extra[:3])}"
        raise UserError(f"{path} looks like PaddleScience's toy generator but {what}; give the "
                        "model_generator_*.pdparams that its wgangp_toy.py saved.")
    dim = _shape(state[f"{prefix}reluLayer1.linear.weight"])
    dim = dim[1] if dim is not None and len(dim) == 2 else None
    shapes = {"reluLayer1.linear.weight": (2, dim), "reluLayer1.linear.bias": (dim,),
              "reluLayer2.linear.weight": (dim, dim), "reluLayer2.linear.bias": (dim,),
              "reluLayer3.linear.weight": (dim, dim), "reluLayer3.linear.bias": (dim,),
              "linear.weight": (dim, 2), "linear.bias": (2,)}
    for name, shape in shapes.items():
        found = _shape(state[prefix + name])
        if dim is None or found != shape:
            raise UserError(f"{path}: {prefix}{name} has the shape {list(found) if found else None}, not "
                            f"{list(shape)} as in PaddleScience's toy generator (2-D noise, width {dim}); the file is "
                            "damaged or another model's.")
    return {ours: state[theirs] for theirs, ours in expected.items()}


def _name_map(kind: str, state: Dict[str, Any], prefix: str) -> Dict[str, str]:
    """{their name: this package's name} of PaddleScience's MNIST or CIFAR-10 generator."""
    names = {}
    if kind == "mnist":
        layers = [("linear1", "linear")] + [(f"conv2d_transpose{i}", f"tconv{i}") for i in (1, 2, 3)]
        for theirs, ours in layers:
            names.update({f"{theirs}.{p}": f"{ours}.{p}" for p in ("weight", "bias")})
    else:
        conditional = f"{prefix}ResidualBlocks.0.normalize1.normalize.scale" in state
        norm = {"scale": "weight", "offset": "bias", "mean": "mean", "var": "variance"} if conditional else \
            {"weight": "weight", "bias": "bias", "_mean": "mean", "_variance": "variance"}
        for theirs, ours in (("linear1", "linear"), ("conv", "conv")):
            names.update({f"{theirs}.{p}": f"{ours}.{p}" for p in ("weight", "bias")})
        names.update({f"Normalize.normalize.{p}": f"norm.{q}" for p, q in
                      (("weight", "weight"), ("bias", "bias"), ("_mean", "mean"), ("_variance", "variance"))})
        for b in range(3):
            for theirs, ours in (("conv_shortcut.conv2D", "shortcut"), ("conv_1.conv2D", "conv1"),
                                 ("conv_2", "conv2")):
                names.update({f"ResidualBlocks.{b}.{theirs}.{p}": f"blocks.{b}.{ours}.{p}" for p in ("weight", "bias")})
            for n in (1, 2):
                names.update({f"ResidualBlocks.{b}.normalize{n}.normalize.{p}": f"blocks.{b}.norm{n}.{q}"
                              for p, q in norm.items()})
    return {prefix + theirs: ours for theirs, ours in names.items()}


def network_state(kind: str, state: Dict[str, Any], path: str) -> Dict[str, Any]:
    """PaddleScience's MNIST or CIFAR-10 generator weights under the names of ``arch.paddlescience``.

    Raises:
        UserError: A name missing or extra, or a shape that differs from their network's of that width.
    """
    from ppsci_ext.arch.paddlescience import build_paddlescience_generator, describe_paddlescience_generator

    what = {"mnist": "MNIST", "cifar10": "CIFAR-10"}[kind]
    prefix = _prefix(state, MARKERS[kind]) or ""
    names = _name_map(kind, state, prefix)
    missing = sorted(set(names) - set(state))
    extra = sorted(set(state) - set(names))
    if missing or extra:
        said = f"lacks {', '.join(missing[:3])}" if missing else f"has the unexpected {', '.join(extra[:3])}"
        raise UserError(f"{path} looks like PaddleScience's {what} generator but {said}; give the "
                        f"model_generator_*.pdparams that its {SCRIPTS[kind]} saved.")
    mapped = {ours: state[theirs] for theirs, ours in names.items()}
    found = describe_paddlescience_generator(mapped)
    theirs_of = {ours: theirs for theirs, ours in names.items()}
    if found.get("kind") != kind:
        linear = f"{prefix}linear1.weight"
        raise UserError(f"{path}: {linear} has the shape {list(_shape(state[linear]) or ())}, not that of "
                        f"PaddleScience's {what} generator ([128, {64 if kind == 'mnist' else 16} * dim]); the file "
                        "is damaged or another model's.")
    network = build_paddlescience_generator(found)
    own = network.state_dict()
    for ours, value in own.items():
        if _shape(mapped[ours]) != tuple(value.shape):
            raise UserError(f"{path}: {theirs_of[ours]} has the shape {list(_shape(mapped[ours]) or ())}, not "
                            f"{list(value.shape)} as in PaddleScience's {what} generator of width {found['dim']}; "
                            "the file is damaged or another model's.")
    return mapped


def translate(obj: Any, path: str, experiment: str) -> Any:
    """A loaded generator file in this package's names (PaddleScience's example's weights mapped).

    Args:
        obj: What ``io.weights.load_file`` returned.
        path (str): The file, for messages.
        experiment (str): The experiment reading it ("toy", "mnist", "images", "cifar10").

    Returns:
        The state dict under this package's names (``ToyGenerator``'s, or ``arch.paddlescience``'s for
        their MNIST and CIFAR-10 generators), or ``obj`` unchanged when it is not PaddleScience's.

    Raises:
        UserError: PaddleScience's generator of another experiment, or a damaged file of theirs.
    """
    kind = detect(obj)
    if kind is None:
        return obj
    if experiment != kind:
        raise UserError(f"{path} holds PaddleScience's {kind} WGAN-GP generator; use it with {SCRIPTS[kind]}.")
    from ppsci.utils import logger

    if kind == "toy":
        mapped = toy_state(obj, path)
        logger.message(f"{path}: read as PaddleScience's wgangp_toy generator (width "
                       f"{_shape(mapped['net.0.weight'])[1]}, its names mapped onto this package's ToyGenerator).")
        return mapped
    from ppsci_ext.arch.paddlescience import describe_paddlescience_generator

    mapped = network_state(kind, obj, path)
    found = describe_paddlescience_generator(mapped)
    arch = "PaddleScienceMNISTGenerator" if kind == "mnist" else "PaddleScienceCifar10Generator"
    variant = f", {'conditional, ' if found.get('conditional') else ''}stored running statistics" \
        if kind == "cifar10" else ""
    logger.message(f"{path}: read as PaddleScience's {SCRIPTS[kind][:-3]} generator (dim {found['dim']}{variant}; "
                   f"this package's implementation of their network, arch.paddlescience.{arch}).")
    return mapped

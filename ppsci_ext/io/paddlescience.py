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
  transposed convolution crops 1 pixel before and 2 after (and ignores the ``output_padding=1``
  of the second layer), where this package's (the official ``gan_mnist.py`` alignment) crops 2
  before and 1 after: each layer's output is shifted by one pixel, and no 5x5 kernel of this
  package's layer reproduces it. Refused.
- CIFAR-10 (``WganGpCifar10Generator``): ``generator.linear1``, ``generator.ResidualBlocks.{0,1,2}``
  (``conv_shortcut.conv2D``, ``conv_1.conv2D``, ``conv_2``, ``normalize{1,2}.normalize``),
  ``generator.Normalize.normalize`` and ``generator.conv``. Its upsampling concatenates four copies
  of the input and applies ``PixelShuffle(2)``, which in Paddle's NCHW layout is channel-major: output
  pixel phase ``(i, j)`` of channel ``c`` reads input channel ``(4c + 2i + j) mod C``, a different
  channel mix per phase, not nearest-neighbour upsampling; and in eval its normalisation uses stored
  running statistics (``_mean`` / ``_variance``, or ``mean`` / ``var`` when conditional), not the
  batch's. Neither maps onto this package's ResNet. Refused.

``translate`` is called where a generator file is loaded (``Experiment.load_generator_file``):
a PaddleScience toy file becomes this package's state dict, the other two are refused in one line,
anything else is returned unchanged.

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
WHY_NOT = {
    "mnist": "its 5x5 stride-2 transposed convolutions use Paddle's padding='same', which crops 1 pixel before "
             "and 2 after, where this package's crop 2 before and 1 after (gan_mnist.py): every layer's output is "
             "shifted by one pixel, which no 5x5 kernel of this package's generator reproduces",
    "cifar10": "its upsampling (four copies + Paddle's channel-major PixelShuffle) feeds each 2x2 pixel phase from "
               "a different quarter of the channels instead of nearest-neighbour upsampling, and its batch norm "
               "uses stored running statistics where this package's uses the batch's",
}


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


def translate(obj: Any, path: str, experiment: str) -> Any:
    """A loaded generator file in this package's names: PaddleScience's toy weights mapped, the others refused.

    Args:
        obj: What ``io.weights.load_file`` returned.
        path (str): The file, for messages.
        experiment (str): The experiment reading it ("toy", "mnist", "images", "cifar10").

    Returns:
        The state dict under this package's names, or ``obj`` unchanged when it is not PaddleScience's.

    Raises:
        UserError: PaddleScience's generator of another experiment, or of an architecture that differs.
    """
    kind = detect(obj)
    if kind is None:
        return obj
    if kind in WHY_NOT:
        raise UserError(f"{path} holds PaddleScience's {kind} WGAN-GP generator, which computes another function "
                        f"than this package's: {WHY_NOT[kind]}; it cannot be evaluated here.")
    if experiment != kind:
        raise UserError(f"{path} holds PaddleScience's {kind} WGAN-GP generator; use it with {SCRIPTS[kind]}.")
    from ppsci.utils import logger

    mapped = toy_state(obj, path)
    logger.message(f"{path}: read as PaddleScience's wgangp_toy generator (width "
                   f"{_shape(mapped['net.0.weight'])[1]}, its names mapped onto this package's ToyGenerator).")
    return mapped

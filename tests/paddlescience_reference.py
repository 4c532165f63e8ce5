"""PaddleScience's WGAN-GP example generators (MNIST, CIFAR-10) as state dicts of their names and shapes
(random values) and their forward passes in NumPy, written from the operations their layers document:

- ``nn.Linear``: ``x @ weight + bias`` (weight [in, out]);
- ``nn.Conv2DTranspose(k, stride s, padding="same", output_padding=p)``: the full transposed convolution
  (``out[s*h + u, s*w + v] += x[c, h, w] * weight[c, o, u, v]``, size ``(H - 1) * s + k``) read from
  ``P // 2`` for ``(H - 1) * s + k - P + p`` pixels, ``P = max((ceil(H / s) - 1) * s + k - H, 0)``;
- ``nn.Conv2D(k, padding="same")`` at stride 1: zero padding ``k // 2``, cross-correlation;
- four channel copies + ``nn.PixelShuffle(2)``: ``out[c, 2h + i, 2w + j] = x[(4c + 2i + j) mod C, h, w]``;
- ``nn.BatchNorm`` in eval mode: ``(x - _mean) / sqrt(_variance + 1e-5) * weight + bias``; their
  conditional batch norm: ``(x - mean) / sqrt(var + 1e-5) * scale[y] + offset[y]``.

Imported by tests/io/test_paddlescience_weights.py and tests/arch/test_paddlescience_arch.py (tests/ is on
sys.path).
"""

import numpy as np


def their_mnist_state(dim=4, seed=0, prefix="generator."):
    """``WganGpMnistGenerator(dim).state_dict()``: names and shapes, random values."""
    rng = np.random.default_rng(seed)
    shapes = {"linear1.weight": (128, 64 * dim), "linear1.bias": (64 * dim,),
              "conv2d_transpose1.weight": (4 * dim, 2 * dim, 5, 5), "conv2d_transpose1.bias": (2 * dim,),
              "conv2d_transpose2.weight": (2 * dim, dim, 5, 5), "conv2d_transpose2.bias": (dim,),
              "conv2d_transpose3.weight": (dim, 1, 5, 5), "conv2d_transpose3.bias": (1,)}
    return {prefix + k: (rng.standard_normal(s) / np.sqrt(s[0] * (25 if len(s) == 4 else 1) / 4)).astype(np.float32)
            for k, s in shapes.items()}


def their_cifar10_state(dim=4, conditional=False, seed=0, prefix="generator."):
    """``WganGpCifar10Generator(dim=dim, use_label=conditional, label_num=10).state_dict()``: names, shapes,
    random values (positive variances)."""
    rng = np.random.default_rng(seed)
    shapes = {"linear1.weight": (128, 16 * dim), "linear1.bias": (16 * dim,), "conv.weight": (3, dim, 3, 3),
              "conv.bias": (3,)}
    norm = {"scale": (10, dim), "offset": (10, dim), "mean": (dim,), "var": (dim,)} if conditional else \
        {"weight": (dim,), "bias": (dim,), "_mean": (dim,), "_variance": (dim,)}
    for b in range(3):
        p = f"ResidualBlocks.{b}."
        shapes.update({p + "conv_shortcut.conv2D.weight": (dim, dim, 1, 1), p + "conv_shortcut.conv2D.bias": (dim,),
                       p + "conv_1.conv2D.weight": (dim, dim, 3, 3), p + "conv_1.conv2D.bias": (dim,),
                       p + "conv_2.weight": (dim, dim, 3, 3), p + "conv_2.bias": (dim,)})
        for n in (1, 2):
            shapes.update({f"{p}normalize{n}.normalize.{k}": s for k, s in norm.items()})
    shapes.update({f"Normalize.normalize.{k}": (dim,) for k in ("weight", "bias", "_mean", "_variance")})
    state = {}
    for k, s in shapes.items():
        if k.endswith(("var", "_variance")):
            v = rng.uniform(0.5, 2.0, s)
        elif k.endswith(("scale", ".weight")) and "normalize" in k.lower():
            v = rng.uniform(0.5, 1.5, s)
        elif len(s) == 4:
            v = rng.standard_normal(s) / np.sqrt(s[1] * s[2] * s[3])
        elif len(s) == 2 and k.startswith("linear"):
            v = rng.standard_normal(s) / np.sqrt(s[0])
        else:
            v = rng.standard_normal(s) * 0.3
        state[prefix + k] = v.astype(np.float32)
    return state


def linear(x, w, b):
    return x @ w.astype(np.float64) + b


def same_conv_transpose(x, w, b, stride=2, output_padding=0):
    """Paddle's ``Conv2DTranspose(..., padding="same", output_padding=output_padding)``, square inputs."""
    n, c, h, _ = x.shape
    _, o, k, _ = w.shape
    full = np.zeros((n, o, (h - 1) * stride + k, (h - 1) * stride + k))
    for u in range(k):
        for v in range(k):
            contrib = np.einsum("nchw,co->nohw", x, w[:, :, u, v])
            full[:, :, u:u + stride * (h - 1) + 1:stride, v:v + stride * (h - 1) + 1:stride] += contrib
    pad = max((-(-h // stride) - 1) * stride + k - h, 0)
    size = (h - 1) * stride + k - pad + output_padding
    start = pad // 2
    return full[:, :, start:start + size, start:start + size] + b.reshape(1, -1, 1, 1)


def same_conv(x, w, b):
    """Paddle's ``Conv2D(..., padding="same")`` at stride 1 (odd kernels: zero padding k // 2)."""
    k = w.shape[2]
    p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    h, wd = x.shape[2], x.shape[3]
    out = np.zeros((x.shape[0], w.shape[0], h, wd))
    for u in range(k):
        for v in range(k):
            out += np.einsum("nchw,oc->nohw", xp[:, :, u:u + h, v:v + wd], w[:, :, u, v])
    return out + b.reshape(1, -1, 1, 1)


def four_copies_pixel_shuffle(x):
    """``PixelShuffle(2)(concat([x, x, x, x], 1))`` in NCHW: ``out[c, 2h + i, 2w + j] = x[(4c + 2i + j) % C]``."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, 2 * h, 2 * w))
    for ch in range(c):
        for i in (0, 1):
            for j in (0, 1):
                out[:, ch, i::2, j::2] = x[:, (4 * ch + 2 * i + j) % c]
    return out


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0)


def their_mnist_forward(state, z, prefix="generator."):
    """``MnistGenerator.forward`` with the noise ``z`` given: images [N, 1, 28, 28] in (0, 1), float64."""
    s = {k[len(prefix):]: v.astype(np.float64) for k, v in state.items()}
    dim = s["linear1.weight"].shape[1] // 64
    h = relu(linear(z.astype(np.float64), s["linear1.weight"], s["linear1.bias"])).reshape(-1, 4 * dim, 4, 4)
    h = relu(same_conv_transpose(h, s["conv2d_transpose1.weight"], s["conv2d_transpose1.bias"]))[:, :, :7, :7]
    h = relu(same_conv_transpose(h, s["conv2d_transpose2.weight"], s["conv2d_transpose2.bias"], output_padding=1))
    return sigmoid(same_conv_transpose(h, s["conv2d_transpose3.weight"], s["conv2d_transpose3.bias"]))


def _norm(s, name, x, y):
    r = lambda v: v.reshape(1, -1, 1, 1)  # noqa: E731
    if name + ".scale" in s:  # conditional batch norm, eval: stored mean / var, the label's scale / offset
        h = (x - r(s[name + ".mean"])) / np.sqrt(r(s[name + ".var"]) + 1e-5)
        return h * s[name + ".scale"][y][:, :, None, None] + s[name + ".offset"][y][:, :, None, None]
    return (x - r(s[name + "._mean"])) / np.sqrt(r(s[name + "._variance"]) + 1e-5) * r(s[name + ".weight"]) + \
        r(s[name + ".bias"])


def their_cifar10_forward(state, z, y=None, prefix="generator."):
    """``Cifar10Generator.forward`` in eval mode with the noise ``z`` (and labels ``y``) given:
    images [N, 3, 32, 32] in (-1, 1), float64 (their output is this, flattened to [N, 3072])."""
    s = {k[len(prefix):]: v.astype(np.float64) for k, v in state.items()}
    dim = s["linear1.weight"].shape[1] // 16
    x = linear(z.astype(np.float64), s["linear1.weight"], s["linear1.bias"]).reshape(-1, dim, 4, 4)
    for b in range(3):
        p = f"ResidualBlocks.{b}."
        shortcut = same_conv(four_copies_pixel_shuffle(x), s[p + "conv_shortcut.conv2D.weight"],
                             s[p + "conv_shortcut.conv2D.bias"])
        h = relu(_norm(s, p + "normalize1.normalize", x, y))
        h = same_conv(four_copies_pixel_shuffle(h), s[p + "conv_1.conv2D.weight"], s[p + "conv_1.conv2D.bias"])
        h = relu(_norm(s, p + "normalize2.normalize", h, y))
        x = shortcut + same_conv(h, s[p + "conv_2.weight"], s[p + "conv_2.bias"])
    x = relu(_norm(s, "Normalize.normalize", x, y))
    return np.tanh(same_conv(x, s["conv.weight"], s["conv.bias"]))

"""2-D convolutions on Paddle's bundled oneDNN library, usable inside the gradient penalty.

Why: Paddle 3.3's eager CPU convolution is an im2col plus small matrix products
per sample, which barely gains from a second thread (on this project's 2-core
machine one MNIST critic convolution took 131 ms on one thread and 77 ms on
two, PyTorch's oneDNN convolution 48 ms on two). The Paddle wheel ships the
oneDNN library (``paddle/libs/libdnnl.so.3``), but eager mode does not route
convolutions to it. This module calls that library through its C API with
``ctypes`` (nothing is compiled; the wheel has no oneDNN C++ headers).

Three linear operations cover a convolution and every derivative of it:

- ``forward(x, w)``: the convolution ``y``;
- ``backward_data(dy, w)``: its input gradient (a transposed convolution);
- ``backward_weights(x, dy)``: its weight gradient.

Their gradients are written with the same three operations (PyLayers), so
gradients of any order exist; the critic's gradient penalty needs the second
order. ``backward()`` and ``paddle.grad`` for the inputs (the gradient
penalty) work; a ``paddle.grad`` that asks for only some of the tensors a
layer's PyLayer takes (say a weight but not its bias) fails in Paddle's PyLayer
check, which wants None for gradients not asked for. The package never asks
for that; ``PPSCI_EXT_ONEDNN=0`` avoids it.

``conv2d`` and ``conv2d_transpose`` are the public entry points. They fall
back to ``paddle.nn.functional`` (bias added by ``bias.add_bias``) where oneDNN does not apply (not float32 on
CPU, groups or dilation other than 1, library not loadable, no primitive for
the shape) or when ``PPSCI_EXT_ONEDNN=0`` is set in the environment.
``benchmarks/vs_pytorch.py --paddle-conv`` measures the effect;
``tests/ops/test_onednn.py`` checks values and gradients of order 1 and 2 against
Paddle's own convolution.
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
from typing import Dict, Optional, Sequence, Tuple

import paddle
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from ppsci_ext.ops.bias import add_bias, broadcast_bias

# oneDNN 3.x C API constants (oneapi/dnnl/dnnl_types.h, dnnl_common_types.h); stable across 3.x.
_CPU_ENGINE = 1
_STREAM_IN_ORDER = 1
_F32 = 3
_TAG_ANY = 1
_FORWARD_TRAINING = 64
_CONVOLUTION_DIRECT = 1
_Q_SRC, _Q_DIFF_SRC, _Q_WEIGHTS, _Q_DIFF_WEIGHTS, _Q_DST, _Q_DIFF_DST = 129, 130, 131, 132, 133, 134
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS = 1, 17, 33
_ARG_DIFF_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS = 129, 145, 161
_ARG_FROM, _ARG_TO = 1, 17

_Dims = ctypes.c_int64 * 12
_p = ctypes.c_void_p


class _ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", _p)]


class OneDNNError(RuntimeError):
    """A oneDNN C API call failed (the status code is in the message)."""


def _dims(values: Sequence[int]) -> _Dims:
    d = _Dims()
    for i, v in enumerate(values):
        d[i] = int(v)
    return d


class _Library:
    """The loaded ``libdnnl`` with one CPU engine and stream."""

    def __init__(self, path: str):
        lib = ctypes.CDLL(path)
        self.lib = lib
        for name in ("dnnl_engine_create", "dnnl_stream_create", "dnnl_stream_wait",
                     "dnnl_memory_desc_create_with_strides", "dnnl_memory_desc_create_with_tag",
                     "dnnl_convolution_forward_primitive_desc_create",
                     "dnnl_convolution_backward_data_primitive_desc_create",
                     "dnnl_convolution_backward_weights_primitive_desc_create",
                     "dnnl_reorder_primitive_desc_create", "dnnl_primitive_create", "dnnl_primitive_execute",
                     "dnnl_memory_create", "dnnl_memory_set_data_handle", "dnnl_primitive_destroy",
                     "dnnl_primitive_desc_destroy", "dnnl_memory_destroy", "dnnl_memory_desc_destroy"):
            getattr(lib, name).restype = ctypes.c_int
        lib.dnnl_primitive_desc_query_md.restype = _p
        lib.dnnl_primitive_desc_query_md.argtypes = [_p, ctypes.c_int, ctypes.c_int]
        lib.dnnl_memory_desc_equal.restype = ctypes.c_int
        lib.dnnl_memory_desc_equal.argtypes = [_p, _p]
        lib.dnnl_memory_set_data_handle.argtypes = [_p, _p]
        lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        lib.dnnl_memory_desc_get_size.argtypes = [_p]
        lib.dnnl_primitive_execute.argtypes = [_p, _p, ctypes.c_int, ctypes.POINTER(_ExecArg)]
        self.engine = _p()
        self.check("dnnl_engine_create", ctypes.byref(self.engine), _CPU_ENGINE, ctypes.c_size_t(0))
        self.stream = _p()
        self.check("dnnl_stream_create", ctypes.byref(self.stream), self.engine, ctypes.c_uint(_STREAM_IN_ORDER))

    def check(self, name: str, *args) -> None:
        status = getattr(self.lib, name)(*args)
        if status != 0:
            raise OneDNNError(f"oneDNN call {name} failed with status {status}")

    def plain_md(self, shape: Sequence[int]) -> _p:
        """Descriptor of a contiguous row-major float32 tensor (NCHW / OIHW)."""
        strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        md = _p()
        self.check("dnnl_memory_desc_create_with_strides", ctypes.byref(md), len(shape), _dims(shape), _F32,
                   _dims(strides))
        return md

    def any_md(self, shape: Sequence[int]) -> _p:
        """Descriptor that lets the primitive pick its fastest layout."""
        md = _p()
        self.check("dnnl_memory_desc_create_with_tag", ctypes.byref(md), len(shape), _dims(shape), _F32, _TAG_ANY)
        return md

    def memory(self, md: _p) -> _p:
        """A memory object without data; each call points it at a tensor's data."""
        mem = _p()
        self.check("dnnl_memory_create", ctypes.byref(mem), md, self.engine, _p(0))
        return mem

    def primitive(self, pd: _p) -> _p:
        prim = _p()
        self.check("dnnl_primitive_create", ctypes.byref(prim), pd)
        return prim

    def reorder(self, src_md: _p, dst_md: _p) -> _p:
        pd = _p()
        self.check("dnnl_reorder_primitive_desc_create", ctypes.byref(pd), src_md, self.engine, dst_md, self.engine,
                   None)
        prim = self.primitive(pd)
        self.lib.dnnl_primitive_desc_destroy(pd)  # the primitive keeps its own copy
        return prim

    def execute(self, prim: _p, args: Sequence[Tuple[int, _p]]) -> None:
        arr = (_ExecArg * len(args))(*[_ExecArg(a, m) for a, m in args])
        self.check("dnnl_primitive_execute", prim, self.stream, len(args), arr)


class _Plan:
    """One convolution primitive for fixed shapes, with the reorders between Paddle's plain layout and its own.

    ``args`` lists (execution argument, query, shape, is_output) for the three
    tensors the primitive touches. Primitives and reorders are made once and
    reused for every call with these shapes. The buffers in the primitive's own
    layout are only needed during a call, so all plans share three (``_SCRATCH``,
    grown to the largest size seen): one set per plan would hold several
    activations' worth of memory per layer, and fresh ones per call cost page
    faults on every call.
    """

    def __init__(self, lib: _Library, pd: _p, args: Sequence[Tuple[int, int, Sequence[int], bool]],
                 owned_pds: Sequence[_p], owned_mds: Sequence[_p]):
        self.lib = lib
        self.prim = lib.primitive(pd)
        self.owned_mds = list(owned_mds)
        self.slots = []  # (arg, user memory, inner memory or None, reorder or None, is_output)
        self.inner_floats = []  # size of each inner buffer, in float32 elements
        for arg, query, shape, is_output in args:
            user_md = lib.plain_md(shape)
            self.owned_mds.append(user_md)
            inner_md = _p(lib.lib.dnnl_primitive_desc_query_md(pd, query, 0))  # keep it 64-bit
            user_mem = lib.memory(user_md)
            if lib.lib.dnnl_memory_desc_equal(user_md, inner_md):
                self.slots.append((arg, user_mem, None, None, is_output))
                continue
            inner_mem = lib.memory(inner_md)
            reorder = lib.reorder(inner_md, user_md) if is_output else lib.reorder(user_md, inner_md)
            self.slots.append((arg, user_mem, inner_mem, reorder, is_output))
            self.inner_floats.append(-(-lib.lib.dnnl_memory_desc_get_size(inner_md) // 4))
        for owned in owned_pds:  # primitives and memories keep copies of what they need
            lib.lib.dnnl_primitive_desc_destroy(owned)

    def __call__(self, pointers: Sequence[int]) -> None:
        lib = self.lib
        prim_args = []
        inner_ptrs = iter(_scratch(i, n).data_ptr() for i, n in enumerate(self.inner_floats))
        for (arg, user_mem, inner_mem, reorder, is_output), ptr in zip(self.slots, pointers):
            lib.check("dnnl_memory_set_data_handle", user_mem, _p(ptr))
            if inner_mem is None:
                prim_args.append((arg, user_mem))
                continue
            lib.check("dnnl_memory_set_data_handle", inner_mem, _p(next(inner_ptrs)))
            if not is_output:
                lib.execute(reorder, [(_ARG_FROM, user_mem), (_ARG_TO, inner_mem)])
            prim_args.append((arg, inner_mem))
        lib.execute(self.prim, prim_args)
        for arg, user_mem, inner_mem, reorder, is_output in self.slots:
            if is_output and inner_mem is not None:
                lib.execute(reorder, [(_ARG_FROM, inner_mem), (_ARG_TO, user_mem)])
        lib.check("dnnl_stream_wait", lib.stream)

    def close(self) -> None:
        """Free the oneDNN objects of this plan."""
        lib = self.lib.lib
        for _, user_mem, inner_mem, reorder, _ in self.slots:
            lib.dnnl_memory_destroy(user_mem)
            if inner_mem is not None:
                lib.dnnl_memory_destroy(inner_mem)
                lib.dnnl_primitive_destroy(reorder)
        lib.dnnl_primitive_destroy(self.prim)
        for md in self.owned_mds:
            lib.dnnl_memory_desc_destroy(md)
        self.slots = []


_SCRATCH: list = []  # float32 tensors, one per buffer position of a call; calls run one at a time


def _scratch(index: int, floats: int) -> paddle.Tensor:
    """Shared buffer number ``index`` with room for ``floats`` float32 values."""
    while len(_SCRATCH) <= index:
        _SCRATCH.append(None)
    if _SCRATCH[index] is None or _SCRATCH[index].shape[0] < floats:
        _SCRATCH[index] = paddle.empty([floats], dtype="float32")
    return _SCRATCH[index]


_MAX_PLANS = 256  # distinct (op, shapes) kept; a training run uses a few dozen
_LIB: Optional[_Library] = None
_LIB_ERROR: Optional[str] = None
_PLANS: Dict[tuple, _Plan] = {}


def _library() -> Optional[_Library]:
    """The bundled oneDNN, loaded on first use; None (and the reason in ``_LIB_ERROR``) if unusable."""
    global _LIB, _LIB_ERROR
    if _LIB is None and _LIB_ERROR is None:
        libs = sorted(glob.glob(os.path.join(os.path.dirname(paddle.__file__), "libs", "libdnnl.so*")))
        if not libs:
            _LIB_ERROR = "Paddle ships no libdnnl"
        else:
            try:
                _LIB = _Library(libs[0])
            except (OSError, AttributeError, OneDNNError) as exc:
                _LIB_ERROR = f"cannot use {libs[0]}: {exc}"
    return _LIB


def _plan(kind: str, src: Sequence[int], wei: Sequence[int], dst: Sequence[int], stride: Tuple[int, int],
          pad_l: Tuple[int, int], pad_r: Tuple[int, int]) -> _Plan:
    key = (kind, tuple(src), tuple(wei), tuple(dst), stride, pad_l, pad_r)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    lib = _library()
    if len(_PLANS) >= _MAX_PLANS:  # e.g. evaluation at many batch sizes: start over
        for old in _PLANS.values():
            old.close()
        _PLANS.clear()
    src_md, wei_md, dst_md = lib.any_md(src), lib.any_md(wei), lib.any_md(dst)
    mds = [src_md, wei_md, dst_md]
    geometry = (_dims(stride), None, _dims(pad_l), _dims(pad_r))
    fwd = _p()
    lib.check("dnnl_convolution_forward_primitive_desc_create", ctypes.byref(fwd), lib.engine, _FORWARD_TRAINING,
              _CONVOLUTION_DIRECT, src_md, wei_md, None, dst_md, *geometry, None)
    if kind == "forward":
        plan = _Plan(lib, fwd, [(_ARG_SRC, _Q_SRC, src, False), (_ARG_WEIGHTS, _Q_WEIGHTS, wei, False),
                                (_ARG_DST, _Q_DST, dst, True)], [fwd], mds)
    elif kind == "backward_data":
        pd = _p()
        lib.check("dnnl_convolution_backward_data_primitive_desc_create", ctypes.byref(pd), lib.engine,
                  _CONVOLUTION_DIRECT, src_md, wei_md, dst_md, *geometry, fwd, None)
        plan = _Plan(lib, pd, [(_ARG_DIFF_DST, _Q_DIFF_DST, dst, False), (_ARG_WEIGHTS, _Q_WEIGHTS, wei, False),
                               (_ARG_DIFF_SRC, _Q_DIFF_SRC, src, True)], [pd, fwd], mds)
    else:
        pd = _p()
        lib.check("dnnl_convolution_backward_weights_primitive_desc_create", ctypes.byref(pd), lib.engine,
                  _CONVOLUTION_DIRECT, src_md, wei_md, None, dst_md, *geometry, fwd, None)
        plan = _Plan(lib, pd, [(_ARG_SRC, _Q_SRC, src, False), (_ARG_DIFF_DST, _Q_DIFF_DST, dst, False),
                               (_ARG_DIFF_WEIGHTS, _Q_DIFF_WEIGHTS, wei, True)], [pd, fwd], mds)
    _PLANS[key] = plan
    return plan


def _supported(kind: str, geo: "_Geometry") -> bool:
    """Whether oneDNN makes a primitive for this op (made and cached now); False sends it to Paddle."""
    if min(geo.pad_r) < 0:
        return False
    try:
        _plan(kind, geo.src, geo.wei, geo.dst, geo.stride, geo.pad_l, geo.pad_r)
    except OneDNNError:
        return False
    return True


def _contiguous(t: paddle.Tensor) -> paddle.Tensor:
    return t if t.is_contiguous() else t.contiguous()


class _Geometry:
    """Shapes and padding of one convolution ``src [N, C, H, W] * wei [O, C, kh, kw] -> dst [N, O, Ho, Wo]``."""

    def __init__(self, src: Sequence[int], wei: Sequence[int], dst: Sequence[int], stride: Tuple[int, int],
                 padding: Tuple[int, int]):
        self.src, self.wei, self.dst = list(src), list(wei), list(dst)
        self.stride = tuple(stride)
        self.pad_l = tuple(padding)
        # right/bottom padding that makes the sizes consistent (Paddle floors, oneDNN wants them exact)
        self.pad_r = tuple((dst[2 + i] - 1) * stride[i] + wei[2 + i] - src[2 + i] - padding[i] for i in range(2))

    def shape(self, kind: str):
        """Shape of the result of ``kind``."""
        return {"forward": self.dst, "backward_data": self.src, "backward_weights": self.wei}[kind]

    def run(self, kind: str, a: paddle.Tensor, b: paddle.Tensor) -> paddle.Tensor:
        """One of the three ops on oneDNN: a new tensor from the contiguous data of ``a`` and ``b``."""
        a, b = _contiguous(a), _contiguous(b)
        out = paddle.empty(self.shape(kind), dtype="float32")
        _plan(kind, self.src, self.wei, self.dst, self.stride, self.pad_l, self.pad_r)(
            [a.data_ptr(), b.data_ptr(), out.data_ptr()])
        return out


class _Ref:
    """Hands a tensor to ``PyLayer.apply`` without making it an input of the layer."""

    def __init__(self, tensor: paddle.Tensor):
        self.tensor = tensor


class _Bilinear(PyLayer):
    """``geo.run(kind, a, b)``, differentiable in both (for the ops made inside a backward pass)."""

    @staticmethod
    def forward(ctx, a, b, kind: str, geo: _Geometry):
        ctx.kind, ctx.geo = kind, geo
        ctx.needs = (not a.stop_gradient, not b.stop_gradient)
        ctx.save_for_backward(a, b)
        return geo.run(kind, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensor()
        return (_GRAD_FIRST[ctx.kind](b, g, ctx.geo) if ctx.needs[0] else None,
                _GRAD_SECOND[ctx.kind](a, g, ctx.geo) if ctx.needs[1] else None)


class _InputPath(PyLayer):
    """``geo.run(kind, x, w)``, differentiable in the layer input ``x`` only (``w`` is held by reference)."""

    @staticmethod
    def forward(ctx, x, w: _Ref, kind: str, geo: _Geometry):
        ctx.w, ctx.kind, ctx.geo = w.tensor, kind, geo
        return geo.run(kind, x, w.tensor)

    @staticmethod
    def backward(ctx, g):
        return _GRAD_FIRST[ctx.kind](ctx.w, g, ctx.geo)


class _WeightPath(PyLayer):
    """The bias broadcast to the output's shape (zeros without bias), carrying the weight and bias gradients."""

    @staticmethod
    def forward(ctx, w, bias, x: _Ref, kind: str, geo: _Geometry):
        ctx.x, ctx.kind, ctx.geo, ctx.has_bias = x.tensor, kind, geo, bias is not None
        ctx.needs = (not w.stop_gradient, bias is not None and not bias.stop_gradient)
        shape = geo.shape(kind)
        return paddle.zeros(shape, dtype=w.dtype) if bias is None else broadcast_bias(bias, shape)

    @staticmethod
    def backward(ctx, g):
        dw = _GRAD_SECOND[ctx.kind](ctx.x, g, ctx.geo) if ctx.needs[0] else None
        if not ctx.has_bias:
            return dw
        dbias = None
        if ctx.needs[1]:
            n, c = g.shape[0], g.shape[1]
            per_pixel = paddle.matmul(paddle.ones([1, n], g.dtype), g.reshape([n, -1])).reshape([c, -1])
            dbias = paddle.matmul(per_pixel, paddle.ones([per_pixel.shape[1], 1], g.dtype)).reshape([c])
        return dw, dbias


def _layer_op(kind: str, x: paddle.Tensor, w: paddle.Tensor, bias: Optional[paddle.Tensor],
              geo: _Geometry) -> paddle.Tensor:
    """A layer's ``geo.run(kind, x, w) + bias``, with gradients of every order.

    Two PyLayers: one gives the value and the gradient for ``x``, the other adds
    the bias and carries the gradients for ``w`` and ``bias``. One layer with all
    three inputs would not do: ``paddle.grad(out, [x])`` (the gradient penalty)
    makes a PyLayer fail when it returns a gradient for an input that was not
    asked for, and a PyLayer cannot know which were. Split this way, that call
    never reaches the second layer. Bias broadcast and bias gradient are matrix
    products (``bias.broadcast_bias`` and its transpose).
    """
    out = _InputPath.apply(x, _Ref(w), kind, geo)
    if bias is None and w.stop_gradient:
        return out
    return out + _WeightPath.apply(w, bias, _Ref(x), kind, geo)


# Gradients of the three bilinear ops, written with the same ops (so they are differentiable again):
#   y  = forward(x, w):           dx = backward_data(g, w),   dw = backward_weights(x, g)
#   dx = backward_data(dy, w):    ddy = forward(g, w),        dw = backward_weights(g, dy)
#   dw = backward_weights(x, dy): dx = backward_data(dy, g),  ddy = forward(x, g)
_GRAD_FIRST = {  # (second argument, output gradient) -> gradient of the first argument
    "forward": lambda w, g, geo: _Bilinear.apply(g, w, "backward_data", geo),
    "backward_data": lambda w, g, geo: _Bilinear.apply(g, w, "forward", geo),
    "backward_weights": lambda dy, g, geo: _Bilinear.apply(dy, g, "backward_data", geo),
}
_GRAD_SECOND = {  # (first argument, output gradient) -> gradient of the second argument
    "forward": lambda x, g, geo: _Bilinear.apply(x, g, "backward_weights", geo),
    "backward_data": lambda dy, g, geo: _Bilinear.apply(g, dy, "backward_weights", geo),
    "backward_weights": lambda x, g, geo: _Bilinear.apply(x, g, "forward", geo),
}


def _pair(v) -> Tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) == 2:
            return int(v[0]), int(v[1])
        if len(v) == 1:
            return int(v[0]), int(v[0])
        raise ValueError(f"expected 1 or 2 values, got {v}")
    return int(v), int(v)


def _applies(x: paddle.Tensor, w: paddle.Tensor, padding, dilation, groups) -> bool:
    """Whether ``conv2d`` / ``conv2d_transpose`` of these arguments run on oneDNN (else on Paddle's kernels)."""
    if os.environ.get("PPSCI_EXT_ONEDNN", "1") == "0":
        return False
    if x.dtype != paddle.float32 or w.dtype != paddle.float32 or not x.place.is_cpu_place():
        return False
    if groups != 1 or _pair(dilation) != (1, 1) or isinstance(padding, str) or x.ndim != 4:
        return False
    if isinstance(padding, (list, tuple)) and len(padding) not in (1, 2):
        return False
    return _library() is not None


def _paddle_conv2d(x, weight, bias, stride, padding, dilation, groups) -> paddle.Tensor:
    """The fallback: Paddle's convolution, bias added by ``add_bias``."""
    y = F.conv2d(x, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return add_bias(y, bias)


def _paddle_conv2d_transpose(x, weight, bias, stride, padding, output_padding, dilation, groups) -> paddle.Tensor:
    """The fallback: Paddle's transposed convolution, bias added by ``add_bias``."""
    y = F.conv2d_transpose(x, weight, None, stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, groups=groups)
    return add_bias(y, bias)


def available() -> bool:
    """Whether the bundled oneDNN loaded (and ``PPSCI_EXT_ONEDNN`` does not switch it off)."""
    return os.environ.get("PPSCI_EXT_ONEDNN", "1") != "0" and _library() is not None


def conv2d(x: paddle.Tensor, weight: paddle.Tensor, bias: Optional[paddle.Tensor] = None, stride=1, padding=0,
           dilation=1, groups=1) -> paddle.Tensor:
    """``paddle.nn.functional.conv2d`` (NCHW), on oneDNN where it applies, else Paddle's with ``add_bias``.

    Args:
        x (paddle.Tensor): ``[N, C, H, W]``.
        weight (paddle.Tensor): ``[O, C, kh, kw]``.
        bias (paddle.Tensor, optional): ``[O]``.
        stride, padding, dilation, groups: as in ``paddle.nn.functional.conv2d``
            (padding an int or a pair).

    Returns:
        paddle.Tensor: ``[N, O, Ho, Wo]``.
    """
    if not _applies(x, weight, padding, dilation, groups):
        return _paddle_conv2d(x, weight, bias, stride, padding, dilation, groups)
    s, p = _pair(stride), _pair(padding)
    n, _, h, w_in = x.shape
    o, _, kh, kw = weight.shape
    out = [n, o, (h + 2 * p[0] - kh) // s[0] + 1, (w_in + 2 * p[1] - kw) // s[1] + 1]
    geo = _Geometry(x.shape, weight.shape, out, s, p)
    if not _supported("forward", geo):
        return _paddle_conv2d(x, weight, bias, stride, padding, dilation, groups)
    return _layer_op("forward", x, weight, bias, geo)


def conv2d_transpose(x: paddle.Tensor, weight: paddle.Tensor, bias: Optional[paddle.Tensor] = None, stride=1,
                     padding=0, output_padding=0, dilation=1, groups=1) -> paddle.Tensor:
    """``paddle.nn.functional.conv2d_transpose`` (NCHW), on oneDNN where it applies, else Paddle's with ``add_bias``.

    Args:
        x (paddle.Tensor): ``[N, C_in, H, W]``.
        weight (paddle.Tensor): ``[C_in, C_out, kh, kw]`` (Paddle's layout for transposed convolutions).
        bias (paddle.Tensor, optional): ``[C_out]``.
        stride, padding, output_padding, dilation, groups: as in Paddle.

    Returns:
        paddle.Tensor: ``[N, C_out, (H - 1) * stride - 2 * padding + kh + output_padding, ...]``.
    """
    if not _applies(x, weight, padding, dilation, groups):
        return _paddle_conv2d_transpose(x, weight, bias, stride, padding, output_padding, dilation, groups)
    s, p, op = _pair(stride), _pair(padding), _pair(output_padding)
    n, _, h, w_in = x.shape
    c_in, c_out, kh, kw = weight.shape
    out = [n, c_out, (h - 1) * s[0] - 2 * p[0] + kh + op[0], (w_in - 1) * s[1] - 2 * p[1] + kw + op[1]]
    # the transposed convolution is the input gradient of the convolution out -> x with this weight
    geo = _Geometry(out, weight.shape, x.shape, s, p)
    if not _supported("backward_data", geo):
        return _paddle_conv2d_transpose(x, weight, bias, stride, padding, output_padding, dilation, groups)
    return _layer_op("backward_data", x, weight, bias, geo)

"""Inference-only convolutions on the bundled oneDNN: bias and ReLU fused, channels-last, weights reordered once.

Why: feature extraction (the Inception network of IS / FID) needs no
gradient, so it can use what training cannot: oneDNN's ``forward_inference``
primitive with the bias and the ReLU applied inside the convolution (a
post-op), activations kept channels-last (NHWC) so that no layout conversion
runs between layers, and weights converted to the primitive's own layout once
per input shape instead of at every call. ``benchmarks/inception_speed.py``
measures the effect against PyTorch.

``InferenceConv2D`` is the entry point. Where oneDNN is unusable
(``ops.onednn.available()`` is False, e.g. ``PPSCI_EXT_ONEDNN=0``) or builds
no primitive for a shape, it computes the same thing with Paddle's NHWC
convolution.
"""

from __future__ import annotations

import ctypes
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import paddle
import paddle.nn.functional as F

from ppsci_ext.ops import onednn

_FORWARD_INFERENCE = 96
_ELTWISE_RELU = 0x20
_ARG_BIAS = 41
_p = ctypes.c_void_p


def _nhwc_md(lib, n: int, c: int, h: int, w: int) -> _p:
    """Descriptor of a dense NHWC float32 tensor, given with oneDNN's logical NCHW dims.

    (A strided one, to write a convolution straight into its slice of a
    concatenation, makes oneDNN 3.6 fall back to a reference kernel about 90
    times slower, so blocks are joined by ``concat_channels`` instead.)
    """
    md = _p()
    lib.check("dnnl_memory_desc_create_with_strides", ctypes.byref(md), 4, onednn._dims([n, c, h, w]),
              onednn._F32, onednn._dims([h * w * c, 1, w * c, c]))
    return md


class _InferencePlan:
    """The primitive for one input shape, its weights in the primitive's layout, and memory objects to point."""

    def __init__(self, lib, src: Sequence[int], weight: paddle.Tensor, bias: paddle.Tensor, stride, pad_l, pad_r,
                 dst: Sequence[int], relu: bool):
        self.lib = lib
        c = lib.lib
        self.mds = [_nhwc_md(lib, *src), lib.any_md(weight.shape), lib.plain_md(bias.shape), _nhwc_md(lib, *dst)]
        attr = _p()
        post_ops = _p()
        if relu:
            lib.check("dnnl_primitive_attr_create", ctypes.byref(attr))
            lib.check("dnnl_post_ops_create", ctypes.byref(post_ops))
            lib.check("dnnl_post_ops_append_eltwise", post_ops, _ELTWISE_RELU, ctypes.c_float(0.0),
                      ctypes.c_float(0.0))
            lib.check("dnnl_primitive_attr_set_post_ops", attr, post_ops)
        pd = _p()
        try:
            lib.check("dnnl_convolution_forward_primitive_desc_create", ctypes.byref(pd), lib.engine,
                      _FORWARD_INFERENCE, onednn._CONVOLUTION_DIRECT, self.mds[0], self.mds[1], self.mds[2],
                      self.mds[3], onednn._dims(stride), None, onednn._dims(pad_l), onednn._dims(pad_r),
                      attr if relu else None)
        finally:
            if relu:
                c.dnnl_post_ops_destroy(post_ops)
                c.dnnl_primitive_attr_destroy(attr)
        try:
            self.prim = lib.primitive(pd)
            inner_md = _p(c.dnnl_primitive_desc_query_md(pd, onednn._Q_WEIGHTS, 0))
            self.weight = paddle.empty([-(-c.dnnl_memory_desc_get_size(inner_md) // 4)], dtype="float32")
            user_md = lib.plain_md(weight.shape)
            self.mds.append(user_md)
            self.mem = {arg: lib.memory(md) for arg, md in
                        ((onednn._ARG_SRC, self.mds[0]), (onednn._ARG_DST, self.mds[3]), (_ARG_BIAS, self.mds[2]))}
            self.mem[onednn._ARG_WEIGHTS] = lib.memory(inner_md)
            lib.check("dnnl_memory_set_data_handle", self.mem[onednn._ARG_WEIGHTS], _p(self.weight.data_ptr()))
            user_mem = lib.memory(user_md)
            lib.check("dnnl_memory_set_data_handle", user_mem, _p(weight.data_ptr()))
            reorder = lib.reorder(user_md, inner_md)
            lib.execute(reorder, [(onednn._ARG_FROM, user_mem), (onednn._ARG_TO, self.mem[onednn._ARG_WEIGHTS])])
            lib.check("dnnl_stream_wait", lib.stream)
            c.dnnl_primitive_destroy(reorder)
            c.dnnl_memory_destroy(user_mem)
        finally:
            c.dnnl_primitive_desc_destroy(pd)

    def close(self) -> None:
        """Free the oneDNN objects (the reordered weights are a Paddle tensor)."""
        c = self.lib.lib
        for mem in self.mem.values():
            c.dnnl_memory_destroy(mem)
        c.dnnl_primitive_destroy(self.prim)
        for md in self.mds:
            c.dnnl_memory_desc_destroy(md)
        self.mem, self.mds = {}, []

    def __call__(self, x: paddle.Tensor, bias: paddle.Tensor, out_ptr: int) -> None:
        lib = self.lib
        for arg, ptr in ((onednn._ARG_SRC, x.data_ptr()), (onednn._ARG_DST, out_ptr), (_ARG_BIAS, bias.data_ptr())):
            lib.check("dnnl_memory_set_data_handle", self.mem[arg], _p(ptr))
        lib.execute(self.prim, list(self.mem.items()))
        lib.check("dnnl_stream_wait", lib.stream)


class InferenceConv2D:
    """``relu(conv2d(x, weight) + bias)`` (or without the ReLU) on NHWC float32 tensors, for inference only.

    Args:
        weight (np.ndarray): ``[O, C, kh, kw]`` float32.
        bias (np.ndarray): ``[O]`` float32.
        stride (int | Tuple[int, int]): Stride. Defaults to 1.
        padding (int | Tuple[int, int]): Zero padding on each side. Defaults to 0.
        relu (bool): Apply a ReLU to the result. Defaults to True.

    Examples:
        >>> import numpy as np, paddle
        >>> from ppsci_ext.ops.inference import InferenceConv2D
        >>> conv = InferenceConv2D(np.ones([4, 3, 3, 3], "float32"), np.zeros([4], "float32"), padding=1)
        >>> conv(paddle.ones([2, 5, 5, 3])).shape
        [2, 5, 5, 4]
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, stride=1, padding=0, relu: bool = True):
        self.weight = paddle.to_tensor(np.ascontiguousarray(weight, dtype=np.float32))
        self.bias = paddle.to_tensor(np.ascontiguousarray(bias, dtype=np.float32))
        self.stride = onednn._pair(stride)
        self.padding = onednn._pair(padding)
        self.relu = relu
        self._plans: Dict[Tuple[int, ...], Optional[_InferencePlan]] = {}

    def out_shape(self, shape: Sequence[int]) -> Tuple[int, int, int, int]:
        n, h, w, _ = shape
        o, _, kh, kw = self.weight.shape
        (sh, sw), (ph, pw) = self.stride, self.padding
        return n, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1, o

    def _plan(self, shape: Tuple[int, ...]) -> Optional[_InferencePlan]:
        key = shape
        if key not in self._plans:
            if len(self._plans) >= 8:  # e.g. many batch sizes: keep memory bounded
                _evict(self._plans)
            plan = None
            if onednn.available():
                n, h, w, c = shape
                _, ho, wo, o = self.out_shape(shape)
                kh, kw = self.weight.shape[2:]
                pad_r = tuple((d - 1) * s + k - i - p for d, s, k, i, p in
                              zip((ho, wo), self.stride, (kh, kw), (h, w), self.padding))
                if min(pad_r) >= 0:
                    try:
                        plan = _InferencePlan(onednn._library(), [n, c, h, w], self.weight, self.bias, self.stride,
                                              self.padding, pad_r, [n, o, ho, wo], self.relu)
                    except onednn.OneDNNError:
                        plan = None
            self._plans[key] = plan
        return self._plans[key]

    def __call__(self, x: paddle.Tensor) -> paddle.Tensor:
        x = x if x.is_contiguous() else x.contiguous()
        shape = self.out_shape(x.shape)
        plan = self._plan(tuple(x.shape)) if x.dtype == paddle.float32 and x.place.is_cpu_place() else None
        if plan is None:
            y = F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding, data_format="NHWC")
            return F.relu(y) if self.relu else y
        out = paddle.empty(list(shape), dtype="float32")
        plan(x, self.bias, out.data_ptr())
        return out


_POOL_ALG = {"max": 0x1FF, "avg": 0x3FF}  # dnnl_pooling_max, dnnl_pooling_avg_exclude_padding
_ARG_MULTIPLE_SRC = 1024


class _Executable:
    """A primitive with one memory object per argument, pointed at new data for every call."""

    def __init__(self, lib, pd: _p, args: Sequence[Tuple[int, _p]], mds: Sequence[_p]):
        self.lib = lib
        self.mds = list(mds)
        try:
            self.prim = lib.primitive(pd)
        finally:
            lib.lib.dnnl_primitive_desc_destroy(pd)
        self.mem = [(arg, lib.memory(md)) for arg, md in args]

    def close(self) -> None:
        """Free the oneDNN objects."""
        c = self.lib.lib
        for _, mem in self.mem:
            c.dnnl_memory_destroy(mem)
        c.dnnl_primitive_destroy(self.prim)
        for md in self.mds:
            c.dnnl_memory_desc_destroy(md)
        self.mem, self.mds = [], []

    def __call__(self, pointers: Sequence[int]) -> None:
        lib = self.lib
        for (_, mem), ptr in zip(self.mem, pointers):
            lib.check("dnnl_memory_set_data_handle", mem, _p(ptr))
        lib.execute(self.prim, self.mem)
        lib.check("dnnl_stream_wait", lib.stream)


def _pool_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class InferencePool2D:
    """Max or average pooling (padding not counted) of NHWC float32 tensors on oneDNN, for inference.

    Args:
        kind (str): "max" or "avg" (the average over the real pixels only,
            Paddle's ``exclusive=True``).
        kernel (int): Square window size.
        stride (int): Stride.
        padding (int): Padding on each side. Defaults to 0.
    """

    def __init__(self, kind: str, kernel: int, stride: int, padding: int = 0):
        self.kind, self.kernel, self.stride, self.padding = kind, kernel, stride, padding
        self._plans: Dict[Tuple[int, ...], Optional[_Executable]] = {}

    def _plan(self, shape: Tuple[int, ...]) -> Optional[_Executable]:
        if shape not in self._plans:
            if len(self._plans) >= 8:
                _evict(self._plans)
            plan = None
            if onednn.available():
                lib = onednn._library()
                n, h, w, c = shape
                k, s, p = self.kernel, self.stride, self.padding
                ho, wo = _pool_out(h, k, s, p), _pool_out(w, k, s, p)
                pad_r = [(ho - 1) * s + k - h - p, (wo - 1) * s + k - w - p]
                src, dst = _nhwc_md(lib, n, c, h, w), _nhwc_md(lib, n, c, ho, wo)
                pd = _p()
                try:
                    lib.check("dnnl_pooling_forward_primitive_desc_create", ctypes.byref(pd), lib.engine,
                              _FORWARD_INFERENCE, _POOL_ALG[self.kind], src, dst, onednn._dims([s, s]),
                              onednn._dims([k, k]), onednn._dims([0, 0]), onednn._dims([p, p]), onednn._dims(pad_r),
                              None)
                    plan = _Executable(lib, pd, [(onednn._ARG_SRC, src), (onednn._ARG_DST, dst)], [src, dst])
                except onednn.OneDNNError:
                    plan = None
            self._plans[shape] = plan
        return self._plans[shape]

    def __call__(self, x: paddle.Tensor) -> paddle.Tensor:
        x = x if x.is_contiguous() else x.contiguous()
        plan = self._plan(tuple(x.shape)) if x.dtype == paddle.float32 and x.place.is_cpu_place() else None
        k, s, p = self.kernel, self.stride, self.padding
        if plan is None:
            if self.kind == "max":
                return F.max_pool2d(x, k, s, p, data_format="NHWC")
            return F.avg_pool2d(x, k, s, p, exclusive=True, data_format="NHWC")
        n, h, w, c = x.shape
        out = paddle.empty([n, _pool_out(h, k, s, p), _pool_out(w, k, s, p), c], dtype="float32")
        plan([x.data_ptr(), out.data_ptr()])
        return out


def _evict(plans: dict) -> None:
    """Forget every plan of a cache that grew full (e.g. many batch sizes), freeing its oneDNN objects."""
    for plan in plans.values():
        if plan is not None:
            plan.close()
    plans.clear()


_CONCATS: Dict[Tuple[Tuple[int, ...], ...], Optional[_Executable]] = {}


def concat_channels(parts: Sequence[paddle.Tensor]) -> paddle.Tensor:
    """NHWC float32 tensors joined along channels (the last axis), by oneDNN's concat where it applies."""
    parts = [t if t.is_contiguous() else t.contiguous() for t in parts]
    key = tuple(tuple(t.shape) for t in parts)
    if key not in _CONCATS:
        if len(_CONCATS) >= 64:
            _evict(_CONCATS)
        plan = None
        if onednn.available() and all(t.dtype == paddle.float32 and t.place.is_cpu_place() for t in parts):
            lib = onednn._library()
            n, h, w = parts[0].shape[:3]
            srcs = [_nhwc_md(lib, n, t.shape[3], h, w) for t in parts]
            dst = _nhwc_md(lib, n, sum(t.shape[3] for t in parts), h, w)
            pd = _p()
            try:
                lib.check("dnnl_concat_primitive_desc_create", ctypes.byref(pd), lib.engine, dst, len(srcs), 1,
                          (_p * len(srcs))(*srcs), None)
                args = [(_ARG_MULTIPLE_SRC + i, md) for i, md in enumerate(srcs)] + [(onednn._ARG_DST, dst)]
                plan = _Executable(lib, pd, args, srcs + [dst])
            except onednn.OneDNNError:
                plan = None
        _CONCATS[key] = plan
    plan = _CONCATS[key]
    if plan is None:
        return paddle.concat(parts, axis=3)
    n, h, w = parts[0].shape[:3]
    out = paddle.empty([n, h, w, sum(t.shape[3] for t in parts)], dtype="float32")
    plan([t.data_ptr() for t in parts] + [out.data_ptr()])
    return out

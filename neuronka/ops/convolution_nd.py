"""Convolutions over N >= 3 spatial axes (Conv3D and above), channels_last, beside the tuned 2-D paths.

:mod:`.convolution` checks the arguments of ``keras.ops.conv`` / ``conv_transpose`` / ``depthwise_conv``
and hands a rank-(N + 2) input with N >= 3 here. With x (n, *S, c) and W (*K, c, o) stored as Keras
stores them, strides s, dilation d and x_pad the input zero-padded by ``pad`` before each axis::

    y[n, i, o] = Σ_{a, c} x_pad[n, i·s + a·d, c] · W[a, c, o]                 (i, a: N-D indices)
    dL/dW[a, c, o] = Σ_{n, i} x_pad[n, i·s + a·d, c] · gy[n, i, o]
    dL/dx_pad[n, p, c] = Σ_{i·s + a·d = p} Σ_o gy[n, i, o] · W[a, c, o]

How, first match wins:

* stride 1, NumPy arrays whose BLAS :mod:`.blas` calls directly, at most ``_MAX_JUNK`` grid positions per
  output position (or ``set_strategy("grid")``): the **shifted products** of the 2-D path in N dimensions.
  The padded images, laid end to end, are one (rows, c) matrix on which tap a is the row offset
  off_a = Σ_axes a·d·pitch; y_grid = Σ_a x_grid[p + off_a] · W[a] is ``blas.shifted_matmul`` (the compiled
  kernels of ``_shifted.c`` where built, else one GEMM per tap), cropped to the valid positions. dx is the
  same product on the padded gy with the flipped kernel W̃[a, o, c] = W[K − 1 − a, c, o] (the stride-1
  convolution :meth:`GeometryND.transposed`), and dW[a] = Σ_p x_grid[p + off_a]ᵀ · gy_grid[p]
  (``blas.shifted_matmul_t``). No gather, no scatter.
* otherwise **im2col by one strided view** — the windows of the padded input are the as_strided view
(n, *out, *K, c) of it (no copy); copying it gives the "columns" (n·∏out, ∏K·c) and y is one GEMM
with W viewed as (∏K·c, o). dW is the columns' transpose times gy (one GEMM); dx is "col2im": one GEMM
gy·Wᵀ gives every tap's contribution (n·∏out, ∏K·c), added tap by tap (∏K strided whole-array adds, no
loop over positions) into a zeroed padded buffer, then cropped. The batch is cut into chunks shared
among threads by :func:`.threads.map_batch`, as the 2-D paths do. A transposed convolution is the
adjoint of a convolution: its forward is that convolution's col2im, its input gradient the convolution
itself. Depthwise convolutions multiply and add the ∏K tap views elementwise.

Measured (one thread, CPU time, Conv3D 16 → 32, 3×3×3, batch 8 of 16³, "valid"): the shifted products
take 12 / 16 / 11 ms for y / dx / dW where im2col takes 14 / 30 / 13 ms — col2im's tap-by-tap adds run over
runs of only c elements.
"""
from __future__ import annotations

import itertools
import math

import numpy

from ..autograd import Function
from ..backend import get_array_module
from . import blas
from . import convolution as _conv
from .conv_args import conv_output_length, same_padding
from .threads import _SHIFTED_CHUNK_BYTES, _sum, map_batch, scratch

_MAX_JUNK = 2.0  # grid positions per output position above which the shifted products give way to im2col


class GeometryND:
    """Sizes of x (n, *size, c) ⋆ W (*kernel, c, o) → y (n, *out, o), N = len(size) spatial axes.

    ``pad``: x_pad[p] = x[p − pad] along each axis; the windows read x_pad[i·s + a·d] for i < out,
    a < kernel, i.e. its first ``reach`` = (out − 1)·s + (k − 1)·d + 1 elements; ``buf`` = max(reach,
    pad + size) covers both the windows and the placed input.
    """

    __slots__ = ("size", "out", "kernel", "strides", "dilation", "pad", "reach", "buf")

    def __init__(self, size, out, kernel, strides, dilation, pad):
        self.size, self.out, self.kernel = tuple(size), tuple(out), tuple(kernel)
        self.strides, self.dilation, self.pad = tuple(strides), tuple(dilation), tuple(pad)
        self.reach = tuple((o - 1) * s + (k - 1) * d + 1 for o, k, s, d in zip(out, kernel, strides, dilation))
        self.buf = tuple(max(r, p + n) for r, p, n in zip(self.reach, pad, size))

    @property
    def taps(self) -> int:
        return math.prod(self.kernel)

    @property
    def positions(self) -> int:
        return math.prod(self.out)

    def needs_copy(self) -> bool:
        """True unless x itself holds the padded input (no padding read)."""
        return any(self.pad) or any(r > n for r, n in zip(self.reach, self.size))

    def is_pointwise(self) -> bool:
        """A 1×…×1, stride-1, unpadded convolution: y = x @ W, nothing to gather."""
        return all(k == 1 and s == 1 for k, s in zip(self.kernel, self.strides)) and not self.needs_copy() \
            and self.out == self.size

    def transposed(self) -> GeometryND:
        """The stride-1 convolution computing dL/dx from gy with the flipped kernel:
        dx[p] = Σ_a gy[p + pad − a·d] W[a] = Σ_a' gy_pad[p + a'·d] W[K − 1 − a'], gy shifted by (k − 1)·d − pad."""
        return GeometryND(self.out, self.size, self.kernel, self.strides, self.dilation,
                          [(k - 1) * d - p for k, d, p in zip(self.kernel, self.dilation, self.pad)])


def geometry(size, kernel, strides, dilation, padding: str) -> GeometryND:
    """The geometry of a Keras convolution or pooling ("valid", or "same" with TensorFlow's split)."""
    out = [conv_output_length(n, k, s, padding, d) for n, k, s, d in zip(size, kernel, strides, dilation)]
    pad = [same_padding(n, k, s, d)[0] if padding == "same" else 0
           for n, k, s, d in zip(size, kernel, strides, dilation)]
    return GeometryND(size, out, kernel, strides, dilation, pad)


# ----------------------------------------------------------------------------------
# per-chunk building blocks: the padded input, its windows, the tap views
# ----------------------------------------------------------------------------------
def _buffer(name, shape, dtype, xp):
    """Scratch (its contents garbage) that a thread reuses, or a fresh array off NumPy."""
    return scratch(name, shape, dtype) if xp is numpy else xp.empty(shape, dtype)


def padded_chunk(x, n0, n1, g: GeometryND, fill=0, name="nd_pad"):
    """x[n0:n1] placed at offset ``pad`` in a (nb, *buf, c) buffer of ``fill``."""
    if not g.needs_copy():
        return x[n0:n1]
    xp = get_array_module(x)
    buf = _buffer(name, (n1 - n0, *g.buf, x.shape[-1]), x.dtype, xp)
    buf.fill(fill)
    buf[(slice(None), *(slice(p, p + n) for p, n in zip(g.pad, g.size)))] = x[n0:n1]
    return buf


def window_view(xpad, g: GeometryND):
    """The windows as a view, no copy: view[n, i, a, c] = x_pad[n, i·s + a·d, c] (i, a: N-D)."""
    xp = get_array_module(xpad)
    st = xpad.strides
    spatial = st[1:-1]
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=(xpad.shape[0], *g.out, *g.kernel, xpad.shape[-1]),
        strides=(st[0], *(t * s for t, s in zip(spatial, g.strides)), *(t * d for t, d in zip(spatial, g.dilation)),
                 st[-1]))


def columns(x, n0, n1, g: GeometryND):
    """im2col of x[n0:n1] as a (nb·∏out, ∏K·c) matrix: cols[(n, i), (a, c)] = x_pad[n, i·s + a·d, c]."""
    xp = get_array_module(x)
    nb, c = n1 - n0, x.shape[-1]
    cols = _buffer("nd_cols", (nb, *g.out, *g.kernel, c), x.dtype, xp)
    cols[...] = window_view(padded_chunk(x, n0, n1, g), g)
    return cols.reshape(nb * g.positions, g.taps * c)


def tap_views(xpad, g: GeometryND):
    """The ∏K strided views x_pad[:, a·d + i·s, :] (i < out), one per tap a, in row-major tap order."""
    for tap in itertools.product(*(range(k) for k in g.kernel)):
        yield xpad[(slice(None), *(slice(a * d, a * d + (o - 1) * s + 1, s)
                                   for a, d, o, s in zip(tap, g.dilation, g.out, g.strides)))]


def crop(xpad, g: GeometryND):
    """The input's place in a padded buffer: xpad[:, pad:pad + size]."""
    return xpad[(slice(None), *(slice(p, p + n) for p, n in zip(g.pad, g.size)))]


def _zeroed(name, nb, g: GeometryND, c, dtype, xp):
    buf = _buffer(name, (nb, *g.buf, c), dtype, xp)
    buf.fill(0)
    return buf


def _bytes_per_image(g: GeometryND, c: int, itemsize: int) -> int:
    """Scratch per image: the padded input and its columns."""
    return (g.positions * g.taps + math.prod(g.buf)) * c * itemsize


# ----------------------------------------------------------------------------------
# stride 1: the shifted products on the padded grid
# ----------------------------------------------------------------------------------
def _use_grid(g: GeometryND, *arrays) -> bool:
    """Stride 1, no negative padding, NumPy arrays of one float dtype with a directly callable BLAS, the strategy
    not forced to im2col, and (unless forced to "grid") at most ``_MAX_JUNK`` grid positions per output position."""
    strategy = _conv._STRATEGY
    if strategy == "im2col" or any(s != 1 for s in g.strides) or min(g.pad) < 0 \
            or not all(type(a) is numpy.ndarray and a.dtype == arrays[0].dtype for a in arrays) \
            or arrays[0].dtype.kind != "f" \
            or not blas.available(arrays[0].dtype):
        return False
    return strategy == "grid" or math.prod(g.buf) <= _MAX_JUNK * g.positions


def _offsets(g: GeometryND) -> list[int]:
    """Row offset of every tap on the grid: off_a = Σ_axes a·d·pitch, pitch = ∏ of the later buffer sizes."""
    pitch = [math.prod(g.buf[i + 1:]) for i in range(len(g.buf))]
    return [sum(a * d * p for a, d, p in zip(tap, g.dilation, pitch))
            for tap in itertools.product(*(range(k) for k in g.kernel))]


def _grid(x, n0, n1, g: GeometryND):
    """x[n0:n1] padded on its (nb, *buf, c) grid, as a C-contiguous (nb·∏buf, c) matrix."""
    return numpy.ascontiguousarray(padded_chunk(x, n0, n1, g)).reshape(-1, x.shape[-1])


def _flipped(w):
    """W̃[a, o, c] = W[K − 1 − a, c, o] as a (∏K, o, c) stack: the kernel of the input gradient."""
    nd = w.ndim - 2
    w = w[(slice(None, None, -1),) * nd]
    return numpy.ascontiguousarray(numpy.swapaxes(w, -1, -2)).reshape(-1, w.shape[-1], w.shape[-2])


def _grid_conv(x, w_taps, g: GeometryND):
    """y[n, i, o] = Σ_a x_grid[row(n, i) + off_a] · w_taps[a], w_taps (∏K, c, o), on the valid rows only."""
    n, c, o = x.shape[0], x.shape[-1], w_taps.shape[-1]
    w_taps = numpy.ascontiguousarray(w_taps, dtype=x.dtype)
    offsets, rows = _offsets(g), math.prod(g.buf)
    valid = (slice(None), *(slice(0, m) for m in g.out))
    y = numpy.empty((n, *g.out, o), x.dtype)

    def chunk(n0, n1):
        nb = n1 - n0
        full = scratch("nd_full", (nb * rows, o), x.dtype)
        blas.shifted_matmul(_grid(x, n0, n1, g), offsets, w_taps, full[:nb * rows - max(offsets)])
        y[n0:n1] = full.reshape(nb, *g.buf, o)[valid]

    map_batch(chunk, n, rows * (c + o) * x.itemsize, chunk_bytes=_SHIFTED_CHUNK_BYTES)
    return y


def _grid_wgrad(x, gy, g: GeometryND):
    """dW[a] = Σ_p x_grid[p + off_a]ᵀ · gy_grid[p], gy_grid being gy on the output grid (zeros elsewhere)."""
    n, c, o = x.shape[0], x.shape[-1], gy.shape[-1]
    offsets, rows = _offsets(g), math.prod(g.buf)
    valid = (slice(None), *(slice(0, m) for m in g.out))

    def chunk(n0, n1):
        nb = n1 - n0
        gy_grid = scratch("nd_gy", (nb, *g.buf, o), gy.dtype)
        gy_grid.fill(0)
        gy_grid[valid] = gy[n0:n1]
        dw = numpy.empty((len(offsets), c, o), x.dtype)
        blas.shifted_matmul_t(_grid(x, n0, n1, g), offsets, gy_grid.reshape(-1, o)[:nb * rows - max(offsets)], dw)
        return dw

    return _sum(map_batch(chunk, n, rows * (c + o) * x.itemsize, chunk_bytes=_SHIFTED_CHUNK_BYTES))


# ----------------------------------------------------------------------------------
# the three products of a convolution
# ----------------------------------------------------------------------------------
def conv_forward(x, w, g: GeometryND):
    """y = cols(x) · W, W viewed as (∏K·c, o) (or the shifted products, stride 1)."""
    xp = get_array_module(x)
    n, c, o = x.shape[0], x.shape[-1], w.shape[-1]
    w2 = w.reshape(-1, o)
    if g.is_pointwise():
        return (x.reshape(-1, c) @ w2).reshape(n, *g.out, o)
    if _use_grid(g, x, w):
        return _grid_conv(x, w.reshape(-1, c, o), g)
    y = xp.empty((n, *g.out, o), x.dtype)

    def chunk(n0, n1):
        xp.matmul(columns(x, n0, n1, g), w2, out=y[n0:n1].reshape(-1, o))

    map_batch(chunk, n, _bytes_per_image(g, c, x.itemsize), xp)
    return y


def _col2im(gy2, w2t, nb, g: GeometryND, c, out):
    """out (nb, *size, c) = Σ_taps (gy · W[a]ᵀ) placed at x_pad[i·s + a·d], cropped: the input gradient."""
    xp = get_array_module(gy2)
    dcols = _buffer("nd_dcols", (gy2.shape[0], w2t.shape[1]), gy2.dtype, xp)
    xp.matmul(gy2, w2t, out=dcols)  # dcols[(n, i), (a, c)] = Σ_o gy[n, i, o] W[a, c, o]
    dcols = dcols.reshape(nb, *g.out, g.taps, c)
    dxp = _zeroed("nd_dpad", nb, g, c, gy2.dtype, xp)
    for t, view in enumerate(tap_views(dxp, g)):
        view += dcols[..., t, :]
    out[...] = crop(dxp, g)


def conv_backward(x, w, gy, g: GeometryND, need_x=True, need_w=True):
    """(dL/dx, dL/dW): dW = cols(x)ᵀ · gy, dx = col2im(gy · Wᵀ), chunk by chunk."""
    xp = get_array_module(gy)
    n, c, o = x.shape[0], x.shape[-1], w.shape[-1]
    w2 = w.reshape(-1, o)
    if g.is_pointwise():
        gy2 = gy.reshape(-1, o)
        return ((gy2 @ w2.T).reshape(x.shape) if need_x else None,
                (x.reshape(-1, c).T @ gy2).reshape(w.shape) if need_w else None)
    if _use_grid(g, x, w, gy) and _use_grid(g.transposed(), gy):
        return (_grid_conv(gy, _flipped(w), g.transposed()) if need_x else None,
                _grid_wgrad(x, gy, g).reshape(w.shape) if need_w else None)
    dx = xp.empty(x.shape, x.dtype) if need_x else None
    w2t = xp.ascontiguousarray(w2.T)

    def chunk(n0, n1):
        gy2 = gy[n0:n1].reshape(-1, o)
        if need_x:
            _col2im(gy2, w2t, n1 - n0, g, c, dx[n0:n1])
        return columns(x, n0, n1, g).T @ gy2 if need_w else None

    parts = map_batch(chunk, n, 2 * _bytes_per_image(g, c, x.itemsize), xp)
    return dx, (_sum(parts).reshape(w.shape) if need_w else None)


def conv_transpose_forward(x, k, g: GeometryND):
    """y = Aᵀx, A the convolution by K (*K, out, in) mapping y's shape to x's: the col2im of x."""
    xp = get_array_module(x)
    n, c_in, c_out = x.shape[0], k.shape[-1], k.shape[-2]
    if _use_grid(g.transposed(), x, k):
        return _grid_conv(x, _flipped(k), g.transposed())
    y = xp.empty((n, *g.size, c_out), x.dtype)
    k2t = xp.ascontiguousarray(k.reshape(-1, c_in).T)  # (in, ∏K·out)

    def chunk(n0, n1):
        _col2im(x[n0:n1].reshape(-1, c_in), k2t, n1 - n0, g, c_out, y[n0:n1])

    map_batch(chunk, n, _bytes_per_image(g, c_out, x.itemsize), xp)
    return y


def conv_transpose_backward(x, k, gy, g: GeometryND, need_x=True, need_k=True):
    """(dL/dx, dL/dK) of y = Aᵀx: dx = A·gy = cols(gy)·K, dK = cols(gy)ᵀ·x, from the same columns."""
    xp = get_array_module(gy)
    n, c_in, c_out = x.shape[0], k.shape[-1], k.shape[-2]
    k2 = k.reshape(-1, c_in)
    if _use_grid(g, gy, k, x):
        return (_grid_conv(gy, k.reshape(-1, c_out, c_in), g) if need_x else None,
                _grid_wgrad(gy, x, g).reshape(k.shape) if need_k else None)
    dx = xp.empty(x.shape, x.dtype) if need_x else None

    def chunk(n0, n1):
        cols = columns(gy, n0, n1, g)
        if need_x:
            xp.matmul(cols, k2, out=dx[n0:n1].reshape(-1, c_in))
        return cols.T @ x[n0:n1].reshape(-1, c_in) if need_k else None

    parts = map_batch(chunk, n, _bytes_per_image(g, c_out, gy.itemsize), xp)
    return dx, (_sum(parts).reshape(k.shape) if need_k else None)


# ----------------------------------------------------------------------------------
# Functions
# ----------------------------------------------------------------------------------
class ConvND(Function):
    """y = x ⋆ W over N >= 3 spatial axes (``geometry`` set by :mod:`.convolution`'s ``conv``)."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return conv_forward(x, w, self.geometry)

    def backward(self, gy):
        # dL/dx_pad[n, i·s + a·d, c] += Σ_o gy[n, i, o] W[a, c, o]
        # dL/dW[a, c, o] = Σ_{n, i} x_pad[n, i·s + a·d, c] gy[n, i, o]
        return conv_backward(self.x, self.w, gy, self.geometry, self.inputs[0].requires_grad,
                             self.inputs[1].requires_grad)


class ConvTransposeND(Function):
    """y = x ⋆ᵀ K: the input gradient of the convolution y ⋆ K (kernel (*K, out, in)) taken at x."""

    def forward(self, x, k):
        self.x, self.k = x, k
        return conv_transpose_forward(x, k, self.geometry)

    def backward(self, gy):
        # y = Aᵀx with A the convolution by K: dL/dx = A·gy = gy ⋆ K;  dL/dK = Σ cols(gy)ᵀ·x
        return conv_transpose_backward(self.x, self.k, gy, self.geometry, self.inputs[0].requires_grad,
                                       self.inputs[1].requires_grad)


class DepthwiseConvND(Function):
    """M filters per input channel: y[n, i, c·M + m] = Σ_a x_pad[n, i·s + a·d, c] · W[a, c, m]."""

    def forward(self, x, w):
        self.x, self.w = x, w
        g = self.geometry
        xp = get_array_module(x)
        n, c, m = x.shape[0], x.shape[-1], w.shape[-1]
        w_taps = w.reshape(g.taps, c, m)
        y = xp.empty((n, *g.out, c, m), x.dtype)

        def chunk(n0, n1):
            out = y[n0:n1]
            for t, win in enumerate(tap_views(padded_chunk(x, n0, n1, g), g)):
                if t == 0:
                    xp.multiply(win[..., None], w_taps[t], out=out)
                else:
                    out += win[..., None] * w_taps[t]

        map_batch(chunk, n, (math.prod(g.buf) + 2 * g.positions * m) * c * x.itemsize, xp)
        return y.reshape(n, *g.out, c * m)

    def backward(self, gy):
        # dL/dW[a, c, m] = Σ_{n, i} x_pad[n, i·s + a·d, c] gy[n, i, c, m]
        # dL/dx_pad[n, i·s + a·d, c] += Σ_m gy[n, i, c, m] W[a, c, m]
        g, x, w = self.geometry, self.x, self.w
        xp = get_array_module(gy)
        n, c, m = x.shape[0], x.shape[-1], w.shape[-1]
        w_taps = w.reshape(g.taps, c, m)
        gy = gy.reshape(n, *g.out, c, m)
        need_x, need_w = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        dx = xp.empty(x.shape, x.dtype) if need_x else None
        spatial = "".join("ijklpqrs"[:len(g.out)])

        def chunk(n0, n1):
            gyc, dw = gy[n0:n1], None
            if need_w:
                dw = xp.stack([xp.einsum(f"n{spatial}c,n{spatial}cm->cm", win, gyc)
                               for win in tap_views(padded_chunk(x, n0, n1, g), g)])
            if need_x:
                dxp = _zeroed("nd_dpad", n1 - n0, g, c, x.dtype, xp)
                for t, view in enumerate(tap_views(dxp, g)):
                    view += gyc[..., 0] * w_taps[t, :, 0] if m == 1 else \
                        xp.einsum(f"n{spatial}cm,cm->n{spatial}c", gyc, w_taps[t])
                dx[n0:n1] = crop(dxp, g)
            return dw

        parts = map_batch(chunk, n, (2 * math.prod(g.buf) + 2 * g.positions * m) * c * x.itemsize, xp)
        return dx, (_sum(parts).reshape(w.shape) if need_w else None)

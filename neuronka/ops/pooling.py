"""Pooling, channels_last, with Keras 3's ``keras.ops`` signatures.

A pooling window is a convolution window (see :mod:`.conv`) with a kernel of ones and no
channel mixing: for each tap (a, b) of the pool, the strided view
x_pad[:, a + i·s_h, b + j·s_w, :] is one operand of an elementwise max or sum, so the work
is pool_h·pool_w whole-array operations, chunked over the batch and shared among threads.

    max:      y[n, i, j, c] = max_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c]     (padding never wins)
    average:  y[n, i, j, c] = Σ_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c] / count[i, j]

where ``count`` is the number of real (not padded) elements of the window, as TensorFlow counts.
3-D pooling (rank-5 inputs) is checked here and computed by :mod:`.pooling_nd`, the same way in N dimensions.
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from . import kernels
from .conv_args import (
    Geometry,
    conv_geometry,
    from_channels_last,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    to_channels_last,
)
from .conv_im2col import padded_chunk, tap_views
from .threads import map_batch, scratch


def _grad_buffer(nb, g: Geometry, c, dtype, xp):
    """A zeroed (nb, hq, wq, c) buffer covering both the windows and the (offset) input."""
    shape = (nb, max(g.hp, g.pt + g.h), max(g.wp, g.pl + g.w), c)
    buf = scratch("pad", shape, dtype) if xp is numpy else xp.empty(shape, dtype)
    buf.fill(0)
    return buf


def _disjoint(g: Geometry) -> bool:
    """No input element is in two windows (stride >= pool): the taps' gradients can be written, not added."""
    return g.sh >= g.kh and g.sw >= g.kw


class MaxPool(Function):
    """y = max over each window; the gradient goes to the window's first maximum (as torch routes it)."""

    def forward(self, x):
        g = self.geometry
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[3]
        y = xp.empty((n, g.ho, g.wo, c), x.dtype)

        def chunk(n0, n1):
            yc = y[n0:n1]
            views = tap_views(padded_chunk(x, n0, n1, g, fill=-numpy.inf), g)
            yc[...] = next(views)
            for v in views:
                xp.maximum(yc, v, out=yc)

        map_batch(chunk, n, (g.hp * g.wp + g.ho * g.wo) * c * x.itemsize, xp)
        self.x, self.y = x, y  # the argmax is recomputed in backward: inference pays nothing for it
        return y

    def backward(self, gy):
        # dL/dx_pad[first argmax of window (i, j)] += gy[i, j]; "first" in row-major tap order, so that
        # tied maxima do not share the gradient: hit_t = (x_t == y) ∧ ¬(an earlier tap hit)
        g, x, y = self.geometry, self.x, self.y
        xp = get_array_module(gy)
        n, c = x.shape[0], x.shape[3]
        dx = xp.empty(x.shape, x.dtype)
        if kernels.usable(x, y, gy, dx):  # the same routing in one compiled pass per image
            map_batch(lambda n0, n1: kernels.max_pool_grad(x, y, gy, dx, g, n0, n1), n,
                      (g.h * g.w + 2 * g.ho * g.wo) * c * x.itemsize, xp)
            return dx
        disjoint = _disjoint(g)

        def chunk(n0, n1):
            gyc, yc = gy[n0:n1], y[n0:n1]
            xpad = padded_chunk(x, n0, n1, g, fill=-numpy.inf, name="xpad")
            dxp = _grad_buffer(n1 - n0, g, c, x.dtype, xp)
            taken = None
            for xv, dv in zip(tap_views(xpad, g), tap_views(dxp, g)):
                hit = xv == yc
                if taken is None:
                    taken = hit
                else:
                    hit &= ~taken
                    taken |= hit
                if disjoint:
                    xp.multiply(gyc, hit, out=dv)
                else:
                    dv += gyc * hit
            dx[n0:n1] = dxp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w]

        map_batch(chunk, n, (2 * g.hp * g.wp + 3 * g.ho * g.wo) * c * gy.itemsize, xp)
        return dx


class AveragePool(Function):
    """y = (Σ over each window) / (number of real elements in it)."""

    def forward(self, x):
        g = self.geometry
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[3]
        self.inv_count = xp.asarray(1.0 / _window_counts(g), dtype=x.dtype)[None, :, :, None]
        y = xp.empty((n, g.ho, g.wo, c), x.dtype)

        def chunk(n0, n1):
            yc = y[n0:n1]
            views = tap_views(padded_chunk(x, n0, n1, g), g)
            yc[...] = next(views)
            for v in views:
                yc += v
            yc *= self.inv_count

        map_batch(chunk, n, (g.hp * g.wp + g.ho * g.wo) * c * x.itemsize, xp)
        self.x_shape, self.dtype = x.shape, x.dtype
        return y

    def backward(self, gy):  # dL/dx_pad[window (i, j)] += gy[i, j] / count[i, j]
        g = self.geometry
        xp = get_array_module(gy)
        n, c = self.x_shape[0], self.x_shape[3]
        dx = xp.empty(self.x_shape, self.dtype)
        if kernels.usable(gy, dx):  # the same sums in one compiled pass per image
            inv_count = numpy.ascontiguousarray(self.inv_count[0, :, :, 0])
            map_batch(lambda n0, n1: kernels.average_pool_grad(gy, inv_count, dx, g, n0, n1), n,
                      (g.h * g.w + g.ho * g.wo) * c * gy.itemsize, xp)
            return dx
        disjoint = _disjoint(g)

        def chunk(n0, n1):
            share = gy[n0:n1] * self.inv_count
            dxp = _grad_buffer(n1 - n0, g, c, self.dtype, xp)
            for v in tap_views(dxp, g):
                if disjoint:
                    v[...] = share
                else:
                    v += share
            dx[n0:n1] = dxp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w]

        map_batch(chunk, n, (g.hp * g.wp + 2 * g.ho * g.wo) * c * gy.itemsize, xp)
        return dx


def _window_counts(g: Geometry):
    """count[i, j] = real rows in window i × real columns in window j (padding excluded)."""
    def real(length, out, k, s, pad):
        start = numpy.arange(out) * s - pad
        return numpy.minimum(start + k, length) - numpy.maximum(start, 0)

    return numpy.outer(real(g.h, g.ho, g.kh, g.sh, g.pt), real(g.w, g.wo, g.kw, g.sw, g.pl)).astype(numpy.float64)


def _pool(fn, cls, inputs, pool_size, strides, padding, data_format):
    shape = tuple(inputs.shape) if hasattr(inputs, "shape") else numpy.shape(inputs)
    if len(shape) < 3:
        raise ValueError(f"{fn}: expected inputs of rank 3 (batch, width, channels), 4 (batch, height, width, "
                         f"channels) or 5 (batch, depth, height, width, channels), received shape {shape}")
    nd = len(shape) - 2
    data_format = normalize_data_format(data_format, fn)
    pool = normalize_tuple(pool_size, nd, "pool_size", fn)
    strides = pool if strides is None else normalize_tuple(strides, nd, "strides", fn)
    padding = normalize_padding(padding, fn)
    from .math import cast, reshape

    x = inputs if isinstance(inputs, Tensor) else Tensor(inputs)
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = cast(x, "float32")
    x = to_channels_last(x, data_format)
    spatial = x.shape[1:-1]
    if padding == "valid" and any(p > length for p, length in zip(pool, spatial)):
        raise ValueError(f"{fn}: with padding='valid' the pool {pool} must fit in the input's spatial size "
                         f"{tuple(spatial)}; received inputs of shape {shape}")
    if nd >= 3:  # depth, height, width (and more): the N-D windows of pooling_nd
        from . import pooling_nd  # noqa: PLC0415 (it builds on convolution_nd, which builds on this package)

        g = pooling_nd.geometry(spatial, pool, strides, (1,) * nd, padding)
        cls = pooling_nd.MaxPoolND if cls is MaxPool else pooling_nd.AveragePoolND
        return from_channels_last(cls.apply(x, geometry=g), data_format)
    if nd == 1:
        x = reshape(x, (x.shape[0], 1, *x.shape[1:]))
        pool, strides = (1, *pool), (1, *strides)
    g = conv_geometry(x.shape[1:3], pool, strides, (1, 1), padding)
    y = cls.apply(x, geometry=g)
    if nd == 1:
        y = reshape(y, (y.shape[0], *y.shape[2:]))
    return from_channels_last(y, data_format)


def max_pool(inputs, pool_size, strides=None, padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Max pooling (1-D, 2-D or 3-D, from the rank of ``inputs``), as ``keras.ops.max_pool``.

    y[n, i, j, c] = max_{a < p_h, b < p_w} x_pad[n, i·s_h + a, j·s_w + b, c]; ``strides``
    default to ``pool_size``; "same" pads as TensorFlow (the padding never wins).
    dL/dx: each gy[n, i, j, c] goes to its window's first maximum.
    """
    return _pool("max_pool", MaxPool, inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Average pooling (1-D, 2-D or 3-D), as ``keras.ops.average_pool``.

    y[n, i, j, c] = Σ_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c] / count[i, j], count being the number
    of real elements in the window (TensorFlow's "same"). dL/dx: gy[i, j] / count[i, j] to each.
    """
    return _pool("average_pool", AveragePool, inputs, pool_size, strides, padding, data_format)


def _global(fn, reduce, inputs, keepdims, data_format):
    shape = tuple(inputs.shape) if hasattr(inputs, "shape") else numpy.shape(inputs)
    if len(shape) < 3:
        raise ValueError(f"{fn}: expected inputs of rank >= 3 (batch, ..., channels), received shape {shape}")
    data_format = normalize_data_format(data_format, fn)
    axes = tuple(range(1, len(shape) - 1)) if data_format == "channels_last" else tuple(range(2, len(shape)))
    return reduce(inputs, axis=axes, keepdims=keepdims)


def global_average_pool(inputs, keepdims: bool = False, data_format: str | None = None) -> Tensor:
    """Mean over the spatial axes (GlobalAveragePooling1D/2D/3D): y[n, c] = (1/HW) Σ_{i,j} x[n, i, j, c]."""
    from .math import mean

    return _global("global_average_pool", mean, inputs, keepdims, data_format)


def global_max_pool(inputs, keepdims: bool = False, data_format: str | None = None) -> Tensor:
    """Max over the spatial axes (GlobalMaxPooling1D/2D/3D); tied maxima share the gradient (as TensorFlow)."""
    from .math import max as _max

    return _global("global_max_pool", _max, inputs, keepdims, data_format)


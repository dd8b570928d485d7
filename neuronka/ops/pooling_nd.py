"""Max and average pooling over N >= 3 spatial axes (MaxPooling3D, AveragePooling3D), channels_last.

:mod:`.pooling` checks the arguments of ``keras.ops.max_pool`` / ``average_pool`` and hands a rank-(N + 2)
input with N >= 3 here. A window is a convolution window with no channel mixing (see :mod:`.convolution_nd`):
for each tap a of the pool the strided view x_pad[:, i·s + a, :] is one operand of an elementwise max or
sum, so the work is ∏pool whole-array operations, chunked over the batch and shared among threads::

    max:      y[n, i, c] = max_a x_pad[n, i·s + a, c]                  (padding never wins)
    average:  y[n, i, c] = Σ_a x_pad[n, i·s + a, c] / count[i]

``count`` being the number of real (not padded) elements of window i (TensorFlow's rule), the product of
the real lengths along each axis.
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function
from ..backend import get_array_module
from .convolution_nd import GeometryND, _zeroed, crop, geometry, padded_chunk, tap_views
from .threads import map_batch

__all__ = ["AveragePoolND", "MaxPoolND", "geometry", "window_counts"]


def _disjoint(g: GeometryND) -> bool:
    """No input element is in two windows (stride >= pool): the taps' gradients can be written, not added."""
    return all(s >= k for s, k in zip(g.strides, g.kernel))


class MaxPoolND(Function):
    """y = max over each window; the gradient goes to the window's first maximum (as torch routes it)."""

    def forward(self, x):
        g = self.geometry
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[-1]
        y = xp.empty((n, *g.out, c), x.dtype)

        def chunk(n0, n1):
            yc = y[n0:n1]
            views = tap_views(padded_chunk(x, n0, n1, g, fill=-numpy.inf), g)
            yc[...] = next(views)
            for v in views:
                xp.maximum(yc, v, out=yc)

        map_batch(chunk, n, (math.prod(g.buf) + g.positions) * c * x.itemsize, xp)
        self.x, self.y = x, y  # the argmax is recomputed in backward: inference pays nothing for it
        return y

    def backward(self, gy):
        # dL/dx_pad[first argmax of window i] += gy[i]; "first" in row-major tap order, so that tied maxima
        # do not share the gradient: hit_t = (x_t == y) ∧ ¬(an earlier tap hit)
        g, x, y = self.geometry, self.x, self.y
        xp = get_array_module(gy)
        n, c = x.shape[0], x.shape[-1]
        dx = xp.empty(x.shape, x.dtype)
        disjoint = _disjoint(g)

        def chunk(n0, n1):
            gyc, yc = gy[n0:n1], y[n0:n1]
            xpad = padded_chunk(x, n0, n1, g, fill=-numpy.inf, name="nd_xpad")
            dxp = _zeroed("nd_dpad", n1 - n0, g, c, x.dtype, xp)
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
            dx[n0:n1] = crop(dxp, g)

        map_batch(chunk, n, (2 * math.prod(g.buf) + 3 * g.positions) * c * gy.itemsize, xp)
        return dx


class AveragePoolND(Function):
    """y = (Σ over each window) / (number of real elements in it)."""

    def forward(self, x):
        g = self.geometry
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[-1]
        self.inv_count = xp.asarray(1.0 / window_counts(g), dtype=x.dtype)[None, ..., None]
        y = xp.empty((n, *g.out, c), x.dtype)

        def chunk(n0, n1):
            yc = y[n0:n1]
            views = tap_views(padded_chunk(x, n0, n1, g), g)
            yc[...] = next(views)
            for v in views:
                yc += v
            yc *= self.inv_count

        map_batch(chunk, n, (math.prod(g.buf) + g.positions) * c * x.itemsize, xp)
        self.x_shape, self.dtype = x.shape, x.dtype
        return y

    def backward(self, gy):  # dL/dx_pad[window i] += gy[i] / count[i]
        g = self.geometry
        xp = get_array_module(gy)
        n, c = self.x_shape[0], self.x_shape[-1]
        dx = xp.empty(self.x_shape, self.dtype)
        disjoint = _disjoint(g)

        def chunk(n0, n1):
            share = gy[n0:n1] * self.inv_count
            dxp = _zeroed("nd_dpad", n1 - n0, g, c, self.dtype, xp)
            for v in tap_views(dxp, g):
                if disjoint:
                    v[...] = share
                else:
                    v += share
            dx[n0:n1] = crop(dxp, g)

        map_batch(chunk, n, (math.prod(g.buf) + 2 * g.positions) * c * gy.itemsize, xp)
        return dx


def window_counts(g: GeometryND):
    """count[i] = ∏ over the axes of the real (unpadded) elements of window i along that axis."""
    count = numpy.ones((), numpy.float64)
    for size, out, k, s, pad in zip(g.size, g.out, g.kernel, g.strides, g.pad):
        start = numpy.arange(out) * s - pad
        real = numpy.minimum(start + k, size) - numpy.maximum(start, 0)
        count = numpy.multiply.outer(count, real)
    return count

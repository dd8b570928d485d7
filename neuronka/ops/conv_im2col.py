"""The im2col convolution: gather the windows of a chunk of images as columns, then one GEMM.

The batch is cut into chunks of a few images whose "columns" (n, Ho, Wo, kh, kw, C) fit in the cache; each
chunk is gathered by kh strided copies whose innermost run is kw·C long, then multiplied by W as one GEMM::

    cols[n, i, j, a, b, c] = x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c]
    y = cols · W                      dW = Σ_chunks colsᵀ · gy

The input gradient (:class:`_InputGrad`) of a stride-1 convolution is a stride-1 convolution of the
zero-padded output gradient with the flipped, transposed kernel; with strides it is a "col2im" add of
gy·Wᵀ, tap by tap, into a zeroed chunk buffer. The transposed convolution is that input gradient.
Any strides, dilations and array module: the path every other algorithm falls back to.
"""
from __future__ import annotations

import numpy

from ..backend import get_array_module
from .conv_args import Geometry
from .threads import _sum, map_batch, scratch


# ----------------------------------------------------------------------------------
# per-chunk building blocks: padding, im2col, and the three products
# ----------------------------------------------------------------------------------
def padded_chunk(x, n0, n1, g: Geometry, fill=0, name="pad"):
    """x[n0:n1] placed at offset (pt, pl) in a (nb, hp, wp, c) buffer of ``fill`` (cropped where it overhangs)."""
    if not g.needs_copy():
        return x[n0:n1]
    xp = get_array_module(x)
    shape = (n1 - n0, g.hp, g.wp, x.shape[3])
    buf = scratch(name, shape, x.dtype) if xp is numpy else xp.empty(shape, x.dtype)
    buf.fill(fill)
    r0, r1 = max(g.pt, 0), min(g.pt + g.h, g.hp)
    c0, c1 = max(g.pl, 0), min(g.pl + g.w, g.wp)
    if r1 > r0 and c1 > c0:
        buf[:, r0:r1, c0:c1] = x[n0:n1, r0 - g.pt:r1 - g.pt, c0 - g.pl:c1 - g.pl]
    return buf


def _columns(x, n0, n1, g: Geometry):
    """im2col of x[n0:n1] as a (nb·ho·wo, kh·kw·c) matrix:
    cols[n, i, j, a, b, c] = x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c], made by
    kh copies, each of a strided window view whose innermost run is kw·c long when d_w = 1.
    """
    xpad = padded_chunk(x, n0, n1, g)
    xp = get_array_module(x)
    nb, c = n1 - n0, x.shape[3]
    shape = (nb, g.ho, g.wo, g.kh, g.kw, c)
    cols = scratch("cols", shape, x.dtype) if xp is numpy else xp.empty(shape, x.dtype)
    s_n, s_h, s_w, s_c = xpad.strides
    for a in range(g.kh):
        cols[:, :, :, a] = xp.lib.stride_tricks.as_strided(
            xpad[:, a * g.dh:], shape=(nb, g.ho, g.wo, g.kw, c),
            strides=(s_n, s_h * g.sh, s_w * g.sw, s_w * g.dw, s_c))
    return cols.reshape(nb * g.ho * g.wo, g.kh * g.kw * c)


def _chunk_bytes(g: Geometry, c: int, itemsize: int) -> int:
    """Scratch per image: the padded input and its columns (or the col2im taps)."""
    return (g.ho * g.wo * g.kh * g.kw + max(g.hp, g.pt + g.h) * max(g.wp, g.pl + g.w)) * c * itemsize


class _InputGrad:
    """dL/dx of y = x ⋆ W, chunk by chunk (also the forward of a transposed convolution).

    Stride 1 (and no more gy channels o than x channels c): dx = gy_pad ⋆ W̃ with
    W̃[a, b, o, c] = W[kh−1−a, kw−1−b, c, o] (see Geometry.transposed), a gather and a GEMM.
    Otherwise ("col2im"): per tap (a, b), dx_pad[:, a·d_h + i·s_h, b·d_w + j·s_w] += (gy · W[a, b]ᵀ)[:, i, j],
    then crop; it moves c/o as much data, which wins for strides (no zeros to multiply) and thin x
    (an RGB stem: 3×3 taps, 3 channels).
    """

    def __init__(self, w, g: Geometry):
        xp = get_array_module(w)
        self.g, self.c, self.o = g, w.shape[2], w.shape[3]
        if g.sh == 1 and g.sw == 1 and self.o <= self.c:
            self.gt = g.transposed()
            self.w2 = xp.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(-1, self.c)
        else:
            self.gt = None
            taps = g.kh * g.kw
            self.w_taps = xp.ascontiguousarray(w.reshape(taps, self.c, self.o).transpose(0, 2, 1))  # (taps, o, c)

    def bytes_per_image(self, itemsize):
        return _chunk_bytes(self.gt or self.g, self.o if self.gt else self.c, itemsize)

    def __call__(self, gy, n0, n1, dx):
        g, c = self.g, self.c
        xp = get_array_module(gy)
        if self.gt is not None:
            xp.matmul(_columns(gy, n0, n1, self.gt), self.w2, out=dx[n0:n1].reshape(-1, c))
            return
        nb, taps = n1 - n0, g.kh * g.kw
        gy2 = gy[n0:n1].reshape(1, -1, self.o)
        dcols = scratch("cols", (taps, gy2.shape[1], c), gy.dtype) if xp is numpy else None
        dcols = xp.matmul(gy2, self.w_taps, out=dcols)  # dcols[t] = gy · W[t]ᵀ
        shape = (nb, max(g.hp, g.pt + g.h), max(g.wp, g.pl + g.w), c)
        dxp = scratch("pad", shape, gy.dtype) if xp is numpy else xp.empty(shape, gy.dtype)
        dxp.fill(0)
        for t, view in enumerate(tap_views(dxp, g)):
            view += dcols[t].reshape(nb, g.ho, g.wo, c)
        dx[n0:n1] = dxp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def tap_views(xpad, g: Geometry):
    """The kh·kw strided views x_pad[:, a·d_h + i·s_h, b·d_w + j·s_w, :] (i < ho, j < wo), tap-major."""
    for a in range(g.kh):
        for b in range(g.kw):
            rows = slice(a * g.dh, a * g.dh + (g.ho - 1) * g.sh + 1, g.sh)
            yield xpad[:, rows, b * g.dw:b * g.dw + (g.wo - 1) * g.sw + 1:g.sw]


def im2col_forward(x, w, g: Geometry):
    """y = x ⋆ W: per chunk, im2col then (nb·ho·wo, kh·kw·c) @ (kh·kw·c, o)."""
    xp = get_array_module(x)
    n, c, o = x.shape[0], x.shape[3], w.shape[3]
    w2 = w.reshape(-1, o)
    y = xp.empty((n, g.ho, g.wo, o), x.dtype)

    def chunk(n0, n1):
        xp.matmul(_columns(x, n0, n1, g), w2, out=y[n0:n1].reshape(-1, o))

    map_batch(chunk, n, _chunk_bytes(g, c, x.itemsize), xp)
    return y


def im2col_backward(x, w, gy, g: Geometry, need_x: bool, need_w: bool, dx=None):
    """(dL/dx, dL/dW) in one pass over the batch: dW = Σ_chunks colsᵀ · gy, dx by :class:`_InputGrad`; a
    ``dx`` given has been computed already (by the strided compiled kernels), only dW is left here."""
    xp = get_array_module(gy)
    n, c, o = x.shape[0], x.shape[3], gy.shape[3]
    input_grad = _InputGrad(w, g) if need_x and dx is None else None
    if input_grad is not None:
        dx = xp.empty(x.shape, x.dtype)
    def chunk(n0, n1):
        dw = _columns(x, n0, n1, g).T @ gy[n0:n1].reshape(-1, o) if need_w else None
        if input_grad is not None:
            input_grad(gy, n0, n1, dx)
        return dw

    per_image = max(_chunk_bytes(g, c, x.itemsize), input_grad.bytes_per_image(x.itemsize) if input_grad else 0)
    parts = map_batch(chunk, n, per_image, xp)
    return dx, (_sum(parts).reshape(w.shape) if need_w else None)


def conv_transpose_forward(x, k, g: Geometry):
    """y = x ⋆ᵀ K: the input gradient of the convolution y ⋆ K, taken at gy = x."""
    xp = get_array_module(x)
    n, c = x.shape[0], k.shape[2]
    if g.is_pointwise():
        return (x.reshape(-1, k.shape[3]) @ k.reshape(c, -1).T).reshape(n, g.h, g.w, c)
    y = xp.empty((n, g.h, g.w, c), x.dtype)
    input_grad = _InputGrad(k, g)
    map_batch(lambda n0, n1: input_grad(x, n0, n1, y), n, input_grad.bytes_per_image(x.itemsize), xp)
    return y


def conv_transpose_backward(x, k, gy, g: Geometry, need_x=True, need_k=True):
    """(dL/dx, dL/dK) of y = Aᵀx, A being the convolution by K: dx = A·gy = gy ⋆ K and
    dK = Σ cols(gy)ᵀ · x, both from the same columns of gy."""
    xp = get_array_module(gy)
    n, c, o = gy.shape[0], gy.shape[3], x.shape[3]
    k2 = k.reshape(-1, o)
    if g.is_pointwise():
        gy2 = gy.reshape(-1, c)
        return ((gy2 @ k2).reshape(x.shape) if need_x else None,
                (gy2.T @ x.reshape(-1, o)).reshape(k.shape) if need_k else None)
    dx = xp.empty(x.shape, x.dtype) if need_x else None

    def chunk(n0, n1):
        cols = _columns(gy, n0, n1, g)
        if need_x:
            xp.matmul(cols, k2, out=dx[n0:n1].reshape(-1, o))
        return cols.T @ x[n0:n1].reshape(-1, o) if need_k else None

    parts = map_batch(chunk, n, _chunk_bytes(g, c, gy.itemsize), xp)
    return dx, (_sum(parts).reshape(k.shape) if need_k else None)

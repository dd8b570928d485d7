"""The shifted-GEMM convolution of stride 1: no im2col at all.

The padded images are laid end to end as one (rows, channels) matrix (:class:`_Grid`); on it each tap of
the kernel is a row offset, so y = Σ_taps x_grid[p + off] · W[tap] is kh·kw GEMMs on contiguous rows
accumulated in place (BLAS called directly, ``blas.py``, or the compiled kernels of ``_shifted.c`` that keep
a tile of outputs in registers across all taps). Both gradients are shifted GEMMs too (dx with the flipped
kernel on the padded gy, dW with x's grid against gy). When it applies: :func:`grid_for`.
"""
from __future__ import annotations

import numpy

from . import blas, threads
from .conv_args import Geometry
from .threads import _sum, map_batch, scratch


class _Grid:
    """The images of a stride-1 convolution laid end to end as one (rows, channels) matrix, zero-padded.

    Each image becomes an (hq, wq) grid: its h rows of w pixels, each row followed by z zero pixels and the
    image by zr zero rows, flattened row-major, images one after another; the data starts ``lead`` = top·wq
    + left rows into the matrix (zeros before it) and ``slack`` zero rows close it. With z = max(left,
    right) and zr = max(top, bottom) padding the zeros after a row serve as its right border and as the
    next row's left border (likewise between images). On that matrix a tap (a, b) of the kernel is a plain
    row offset, off = a·d_h·wq + b·d_w, so that on the same (hq, wq) grid

        y[p] = Σ_{a, b} x_grid[p + off_ab] · W[a, b]          (p = i·wq + j of one image)

    is one GEMM per tap on contiguous rows, summed in place. Grid pixels with i ≥ ho or j ≥ wo are junk
    (their windows run into the border or the next image): the compiled kernels skip them, the per-tap
    GEMMs compute and crop them; there they cost
    (hq·wq − ho·wo)/(ho·wo) more arithmetic (6 % on a 32×32 "same" 3×3, 27 % on 8×8) and no gathering.
    """

    def __init__(self, g: Geometry, top: int, left: int):
        bottom, right = max(g.hp - top - g.h, 0), max(g.wp - left - g.w, 0)
        self.hq, self.wq = g.h + max(top, bottom), g.w + max(left, right)
        self.lead = top * self.wq + left
        self.offsets = [a * g.dh * self.wq + b * g.dw for a in range(g.kh) for b in range(g.kw)]
        self.slack = self.offsets[-1]  # ≥ lead: the reads of the last image's junk pixels

    def place(self, x, n0, n1, name, lead: int | None = None):
        """x[n0:n1] (nb, h, w, c), h ≤ hq and w ≤ wq, on the grid from row ``lead`` (default: the padded
        input's): a zeroed (nb·hq·wq + slack, c) scratch matrix."""
        nb, h, w, c = n1 - n0, x.shape[1], x.shape[2], x.shape[3]
        lead = self.lead if lead is None else lead
        rows = nb * self.hq * self.wq
        buf = scratch(name, (rows + self.slack, c), x.dtype)
        images = buf[lead:lead + rows].reshape(nb, self.hq, self.wq, c)
        images[:, :h, :w] = x[n0:n1]
        images[:, :h, w:] = 0  # the zeros only: every element is written once
        images[:, h:] = 0
        buf[:lead] = 0
        buf[lead + rows:] = 0
        return buf

    def bytes_per_image(self, channels: int, itemsize: int) -> int:
        return self.hq * self.wq * channels * itemsize


def grid_for(g: Geometry, *arrays, max_junk: float | None = None) -> _Grid | None:
    """The padded input's grid when the shifted GEMMs apply, else None: stride 1, NumPy arrays of a float
    dtype whose BLAS GEMM can be called directly, and (if ``max_junk``) at most that many
    grid pixels per output pixel.

    Measured on the 2-core machine (``python benchmarks/paths.py --only conv``): the shifted GEMMs
    beat im2col on every 3×3 layer of a CIFAR ResNet, forward and backward. On smaller grids the junk
    pixels grow (4×4: 25 grid pixels per 16 outputs), hence the forward's ``max_junk`` of 1.5 where the
    gather takes over.
    """
    if not (g.sh == 1 and g.sw == 1 and blas.available(arrays[0].dtype)
            and all(type(a) is numpy.ndarray and a.dtype.kind == "f" for a in arrays)):
        return None
    grid = _Grid(g, g.pt, g.pl)
    if max_junk is not None and grid.hq * grid.wq > max_junk * g.ho * g.wo:
        return None
    return grid


def _shifted_forward(x, w, g: Geometry, grid: _Grid, bias=None, relu=False):
    """y = x ⋆ W, stride 1: y_grid = Σ_taps x_grid[p + off] · W[a, b] (see :class:`_Grid`) on the valid
    pixels of the grid only, written straight into y (``blas.shifted_matmul(..., grid=)``)."""
    n, c, o = x.shape[0], x.shape[3], w.shape[3]
    w_taps = numpy.ascontiguousarray(w, dtype=x.dtype).reshape(-1, c, o)
    y = numpy.empty((n, g.ho, g.wo, o), x.dtype)

    def chunk(n0, n1):
        xq = grid.place(x, n0, n1, "pad")
        blas.shifted_matmul(xq, grid.offsets, w_taps, y[n0:n1], grid=(grid.hq, grid.wq), bias=bias, relu=relu)

    map_batch(chunk, n, grid.bytes_per_image(c + o, x.itemsize), chunk_bytes=threads._SHIFTED_CHUNK_BYTES)
    return y


def _shifted_backward(x, w, gy, g: Geometry, x_grid: _Grid, need_x, need_w):
    """(dL/dx, dL/dW) of a stride-1 convolution, both by shifted GEMMs on the padded output gradient:

    dx_grid = Σ_taps gy_grid[p + off'] · W̃[a, b],  W̃[a, b] = W[kh−1−a, kw−1−b]ᵀ   (Geometry.transposed)
    dW[a, b] = Σ_p x_grid[p + off_ab]ᵀ · gy[p]   (gy on x's grid, zero on the junk pixels)

    When the two grids coincide (a "same" convolution), gy on x's grid is the padded gy itself, read
    from its first data row: its junk pixels fall on the zero border.
    """
    n, c, o = x.shape[0], x.shape[3], gy.shape[3]
    gt = g.transposed()
    gy_grid = _Grid(gt, gt.pt, gt.pl)
    same_grid = (x_grid.hq, x_grid.wq) == (gy_grid.hq, gy_grid.wq)
    wt_taps = numpy.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2), dtype=x.dtype).reshape(-1, o, c) \
        if need_x else None
    dx = numpy.empty(x.shape, x.dtype) if need_x else None
    rows_x = x_grid.hq * x_grid.wq

    def chunk(n0, n1):
        nb = n1 - n0
        gq = gy_grid.place(gy, n0, n1, "gy")
        dw = None
        if need_w:
            xq = x_grid.place(x, n0, n1, "pad")
            if same_grid:  # gy on x's grid, zero on the junk pixels: the padded gy itself, from its data on
                g_on_x = gq[gy_grid.lead:gy_grid.lead + nb * rows_x]
            else:
                g_on_x = x_grid.place(gy, n0, n1, "gyx", lead=0)[:nb * rows_x]
            dw = numpy.empty((len(x_grid.offsets), c, o), x.dtype)
            blas.shifted_matmul_t(xq, x_grid.offsets, g_on_x, dw)
        if need_x:
            blas.shifted_matmul(gq, gy_grid.offsets, wt_taps, dx[n0:n1], grid=(gy_grid.hq, gy_grid.wq))
        return dw

    per_image = gy_grid.bytes_per_image(o + c, x.itemsize) + x_grid.bytes_per_image(c, x.itemsize)
    parts = map_batch(chunk, n, per_image, chunk_bytes=threads._SHIFTED_CHUNK_BYTES)
    return dx, (_sum(parts).reshape(w.shape) if need_w else None)

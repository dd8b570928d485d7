"""The compiled register-blocked convolution kernels of ``_shifted.c`` (through ``blas.py``), where they
apply:

- 3×3 "same", stride 1, up to 64 outputs: on the **unpadded images** (``blas.conv3x3_same``; the taps
  that would read the zero border are skipped, nothing is copied; dx and dW likewise): :func:`borderless_applies`;
- stride s > 1 with up to 128 × 128 channels: x read at stride s in the kernels' tiles
  (:func:`_strided_forward`), and its dx phase by phase (:func:`_strided_input_grad`): :func:`strided_applies`.
"""
from __future__ import annotations

import numpy

from . import blas, threads
from .conv_args import Geometry
from .conv_shifted import _Grid
from .threads import _sum, map_batch, num_workers, scratch


def borderless_applies(g: Geometry, x, w, o: int, wgrad: bool = False) -> bool:
    """Whether the 3×3 "same" kernels that read the unpadded images (``blas.conv3x3_same``, no grid placement;
    with ``wgrad`` also ``conv3x3_same_wgrad``) take this convolution with ``o`` output channels: stride 1,
    dilation 1, padding 1 all round, NumPy float arrays of one dtype, and shapes the kernels
    cover (asked on an empty batch)."""
    if not ((g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl) == (3, 3, 1, 1, 1, 1, 1, 1)
            and (g.ho, g.wo) == (g.h, g.w) and type(x) is numpy.ndarray and type(w) is numpy.ndarray
            and x.dtype.kind == "f" and x.dtype == w.dtype and blas.direct_available(x.dtype)):
        return False
    c = x.shape[3]
    key = (g.h, g.w, c, o, x.dtype.str, wgrad)
    if (known := _BORDERLESS_SHAPES.get(key)) is not None:
        return known
    empty, k, out = numpy.empty((0, g.h, g.w, c), x.dtype), numpy.empty((3, 3, c, o), x.dtype), \
        numpy.empty((0, g.h, g.w, o), x.dtype)
    taken = blas.conv3x3_same_wgrad(empty, out, k) if wgrad else blas.conv3x3_same(empty, k, out)
    _BORDERLESS_SHAPES[key] = taken
    return taken


# multiply-adds from which a single image's rows are shared among the threads: handing work to the pool costs
# about 0.1 ms (`python benchmarks/paths.py --only batch1`, 2 threads, batch 1: 16 → 16 channels @32×32, 2.4 M:
# 0.11 ms alone, 0.20 ms shared; 32 → 32 @112×112, 116 M: 2.97 ms alone, 1.88 ms shared)
_ROW_SPLIT_MACS = 16_000_000
_BORDERLESS_SHAPES: dict = {}  # (h, w, c, o, dtype, wgrad) → whether the kernels take it (asked once per shape)


def _borderless_forward(x, w, g: Geometry, bias=None, relu=False):
    """y = x ⋆ W of a 3×3 "same" convolution on the unpadded images, chunk by chunk on the worker threads."""
    n, o = x.shape[0], w.shape[3]
    x, w = numpy.ascontiguousarray(x), numpy.ascontiguousarray(w)
    y = numpy.empty((n, g.ho, g.wo, o), x.dtype)
    workers = num_workers()
    if 0 < n < workers and n * g.h * g.w * x.shape[3] * o * 9 >= _ROW_SPLIT_MACS:
        # fewer images than threads (a batch of 1) and enough work: the threads share the output rows
        bounds = [n * g.h * t // workers for t in range(workers + 1)]
        done = threads.run_parallel([(blas.conv3x3_same, (x, w, y, bias, relu, False, (bounds[t], bounds[t + 1])))
                                     for t in range(workers)])
        if not all(done):
            raise RuntimeError("conv3x3_same refused a shape that _borderless accepted")
        return y

    def chunk(n0, n1):
        if not blas.conv3x3_same(x[n0:n1], w, y[n0:n1], bias, relu):  # _borderless asked first
            raise RuntimeError("conv3x3_same refused a shape that _borderless accepted")

    map_batch(chunk, n, g.h * g.w * (x.shape[3] + o) * x.itemsize, chunk_bytes=threads._SHIFTED_CHUNK_BYTES)
    return y


def _borderless_backward(x, w, gy, g: Geometry, need_x, need_w):
    """(dL/dx, dL/dW) of a 3×3 "same" convolution on the unpadded arrays: dx = gy ⋆ W̃ (the flipped,
    transposed kernel: the same kind of convolution) and dW by ``blas.conv3x3_same_wgrad``, no grid."""
    n, c, o = x.shape[0], x.shape[3], gy.shape[3]
    x, gy = numpy.ascontiguousarray(x), numpy.ascontiguousarray(gy)
    wt = numpy.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)) if need_x else None
    dx = numpy.empty(x.shape, x.dtype) if need_x else None

    def chunk(n0, n1):
        dw = None
        done = True
        if need_w:
            dw = numpy.empty(w.shape, x.dtype)
            done = blas.conv3x3_same_wgrad(x[n0:n1], gy[n0:n1], dw)
        if need_x:
            done = blas.conv3x3_same(gy[n0:n1], wt, dx[n0:n1]) and done
        if not done:  # _borderless asked first
            raise RuntimeError("conv3x3_same refused a shape that _borderless accepted")
        return dw

    parts = map_batch(chunk, n, g.h * g.w * (c + o) * x.itemsize, chunk_bytes=threads._SHIFTED_CHUNK_BYTES)
    return dx, (_sum(parts) if need_w else None)


def _strided_forward(x, w, g: Geometry, bias=None, relu=False):
    """y = x ⋆ W with stride s > 1 in the compiled kernels: output (i, j) reads the grid pixels
    (s·i + a·d, s·j + b·d), the taps being row offsets as in the stride-1 case (``shifted_matmul(...,
    stride=s)``), no im2col. A "valid" convolution reads x itself (no copy at all: a ZeroPadding2D before it
    has padded it already); otherwise each chunk is placed on the padded input's grid first."""
    n, c, o = x.shape[0], x.shape[3], w.shape[3]
    w_taps = numpy.ascontiguousarray(w, dtype=x.dtype).reshape(-1, c, o)
    y = numpy.empty((n, g.ho, g.wo, o), x.dtype)
    if not g.needs_copy():
        x = numpy.ascontiguousarray(x)
        offsets = [a * g.dh * g.w + b * g.dw for a in range(g.kh) for b in range(g.kw)]

        def chunk(n0, n1):
            blas.shifted_matmul(x[n0:n1].reshape(-1, c), offsets, w_taps, y[n0:n1], grid=(g.h, g.w), bias=bias,
                                relu=relu, stride=g.sh)

        per_image = g.h * g.w * c * x.itemsize
    else:
        grid = _Grid(g, g.pt, g.pl)

        def chunk(n0, n1):
            xq = grid.place(x, n0, n1, "pad")
            blas.shifted_matmul(xq, grid.offsets, w_taps, y[n0:n1], grid=(grid.hq, grid.wq), bias=bias, relu=relu,
                                stride=g.sh)

        per_image = grid.bytes_per_image(c, x.itemsize)
    map_batch(chunk, n, per_image + g.ho * g.wo * o * x.itemsize, chunk_bytes=threads._SHIFTED_CHUNK_BYTES)
    return y


def strided_applies(g: Geometry, x, w) -> bool:
    """Whether :func:`_strided_forward` applies: one stride s > 1 on both axes, NumPy float arrays, the compiled
    kernels built for the dtype and the output channels (a multiple of the vector's lanes);
    at most 128 × 128 channels in × out and an image per worker thread.

    Measured, forward ms compiled / im2col, 2 threads: batch 128, 3×3, 16 → 32 @34 1.31 / 2.67, 32 → 64 @18
    1.20 / 2.10; batch 16, 7×7 3 → 64 @230 12.0 / 26.2; batch 8, 3×3 128 → 128 @58 6.0 / 8.2, but 256 → 256
    @30 8.5 / 8.1, 512 → 512 @16 11.0 / 7.4, 1×1 1024 → 2048 @14 25.2 / 7.1 (larger kernels leave the caches and
    BLAS's GEMM wins); batch 1, 128 → 128 @58 1.36 / 1.18 (one image: one thread, where BLAS uses two)."""
    return (g.sh == g.sw > 1 and type(x) is numpy.ndarray and type(w) is numpy.ndarray
            and x.dtype.kind == "f" and x.dtype == w.dtype and blas.direct_available(x.dtype)
            and w.shape[3] % blas.direct_lanes(x.dtype) == 0 and w.shape[2] * w.shape[3] <= 128 * 128
            and x.shape[0] >= num_workers())


def _strided_input_grad(w, gy, g: Geometry, x_shape):
    """dL/dx of a stride-s convolution (dilation 1) in the compiled kernels, phase by phase, no col2im.

    dx[p, q] = Σ_{a, b} gy[(p + pt − a)/s, (q + pl − b)/s] · W[a, b]ᵀ over the taps with p + pt ≡ a and
    q + pl ≡ b (mod s). The pixels p = rh + s·u, q = rw + s·v of one phase (rh, rw) share their taps, and
    gy's row is u + m_a with m_a = (rh + pt − a)/s: a stride-1 product of the zero-bordered gy with those
    taps, written to dx at stride s (``blas.shifted_rows``). The kernel must be at least s wide and high, so
    that every phase has a tap (a 1×1 of stride 2 leaves three of four phases to zeros: col2im does that).
    """
    s, (kh, kw), (pt, pl) = g.sh, (g.kh, g.kw), (g.pt, g.pl)
    assert kh >= s and kw >= s, "every phase needs a tap"
    n, h, wd, c = x_shape
    o = gy.shape[3]
    phases = []  # (rh, rw, [(m_a, m_b)], stack (T, o, c))
    for rh in range(s):
        for rw in range(s):
            taps = [(a, b) for a in range(kh) for b in range(kw) if (rh + pt - a) % s == 0 and (rw + pl - b) % s == 0]
            shifts = [((rh + pt - a) // s, (rw + pl - b) // s) for a, b in taps]
            stack = numpy.ascontiguousarray(numpy.stack([w[a, b].T for a, b in taps]), dtype=gy.dtype)
            phases.append((rh, rw, shifts, stack))
    shifts = [m for phase in phases for m in phase[2]]
    top = max([0] + [-m for m, _ in shifts])
    left = max([0] + [-m for _, m in shifts])
    gh = top + max([gy.shape[1]] + [-(-(h - rh) // s) + m for (rh, _, ms, _) in phases for m, _ in ms])
    gw = left + max([gy.shape[2]] + [-(-(wd - rw) // s) + m for (_, rw, ms, _) in phases for _, m in ms])
    dx = numpy.empty(x_shape, gy.dtype)

    def chunk(n0, n1):
        nb = n1 - n0
        buf = scratch("gy", (nb, gh, gw, o), gy.dtype)
        buf.fill(0)
        buf[:, top:top + gy.shape[1], left:left + gy.shape[2]] = gy[n0:n1]
        flat, out = buf.reshape(-1, o), dx[n0:n1].reshape(-1, c)
        for rh, rw, ms, stack in phases:
            offsets = [(m_a + top) * gw + m_b + left for m_a, m_b in ms]
            blas.shifted_rows(flat, offsets, stack, out, nb, -(-(h - rh) // s), -(-(wd - rw) // s),
                              (0, gh * gw, gw, 1), (rh * wd + rw, h * wd, s * wd, s))

    map_batch(chunk, n, (gh * gw * o + h * wd * c) * gy.itemsize, chunk_bytes=threads._SHIFTED_CHUNK_BYTES)
    return dx

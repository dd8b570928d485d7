"""Compiled row kernels of the attention op (optional, Numba; float32): the softmax over the keys and its backward,
each one pass over a row that stays in the L1 cache.

====================  =====================================================================
kernel                computes, for every row r of a C-contiguous (R, S) matrix, in place
====================  =====================================================================
softmax_rows          P = e^(x − max x) / Σ e^(x − max x);  a row whose max is ``fill`` (every key masked)
                      is flagged in ``dead`` and, with ``zero_dead``, set to 0
softmax_grad_rows     dS = P ⊙ (dP − D),  D = Σ_j P_j dP_j  (the softmax's backward; dP in, dS out)
====================  =====================================================================

Why compiled: NumPy's float32 ``exp`` ran at about 2.4 ns per element on the 2-core reference machine, and
the max, subtract, exp, sum and divide are five passes over the score tensor, each a temporary; on the
(32, 8, 128, 128) scores of a Transformer layer that made the softmax longer than the two matrix products.
Here e^x = 2^n · 2^f (x·log₂e = n + f, n an integer, |f| ≤ ½) with 2^f from its Taylor polynomial to f⁶
(relative error ≤ 2·10⁻⁷, about float32's rounding) and 2^n written into the exponent bits; the loops
vectorize (LLVM, AVX2). Inputs below about −87.7 (e^x under float32's normal range) give 0. float64 and arrays of other
modules take the NumPy path of ``attention.py``, which stays the reference (``tests/test_layers_keras_attention``
compares the two).
"""
from __future__ import annotations

import numpy

from .kernels import cached_jit, numba
from .kernels import enabled as _kernels_enabled

# reassociation (vectorized sums), contraction (FMA), reciprocal, no signed zeros; NaN and inf stay IEEE
_FAST = {"reassoc", "contract", "arcp", "nsz", "afn"}


def usable(*arrays) -> bool:
    """Whether the compiled kernels take these arrays: Numba present and enabled, NumPy float32, C-contiguous."""
    return (numba is not None and _kernels_enabled()
            and all(type(a) is numpy.ndarray and a.dtype == numpy.float32 and a.flags.c_contiguous for a in arrays))


if numba is not None:
    _jit = cached_jit(nogil=True, fastmath=_FAST)

    @_jit
    def _softmax_rows(s, dead, fill, zero_dead):
        rows, cols = s.shape
        bits = numpy.empty(cols, numpy.int32)  # 2^n as float32 bit patterns
        pow2n = bits.view(numpy.float32)
        log2e = numpy.float32(1.4426950408889634)
        lo = numpy.float32(-127.0)
        half = numpy.float32(0.5)
        c1, c2, c3 = numpy.float32(0.6931471805599453), numpy.float32(0.2402265069591007), \
            numpy.float32(0.05550410866482158)
        c4, c5, c6 = numpy.float32(0.009618129107628477), numpy.float32(0.0013333558146428443), \
            numpy.float32(0.00015403530393381608)
        one, zero = numpy.float32(1.0), numpy.float32(0.0)
        for r in range(rows):
            row = s[r]
            m = row[0]
            for j in range(cols):
                m = max(m, row[j])
            if m == fill:  # every key masked
                dead[r] = 1
                if zero_dead:
                    for j in range(cols):
                        row[j] = zero
                    continue
            else:
                dead[r] = 0
            for j in range(cols):
                x = max((row[j] - m) * log2e, lo)  # e^(x − m) = 2^x', x' ≤ 0
                n = numpy.floor(x + half)
                f = x - n  # |f| ≤ ½
                row[j] = one + f * (c1 + f * (c2 + f * (c3 + f * (c4 + f * (c5 + f * c6)))))
                bits[j] = (numpy.int32(n) + numpy.int32(127)) << 23  # x ≤ −126.5: n = −127, the bits 0: e^x → 0
            total = zero
            for j in range(cols):
                v = row[j] * pow2n[j]
                row[j] = v
                total += v
            inv = one / total
            for j in range(cols):
                row[j] *= inv

    @_jit
    def _softmax_grad_rows(ds, p):
        rows, cols = ds.shape
        for r in range(rows):
            g, pr = ds[r], p[r]
            d = numpy.float32(0.0)
            for j in range(cols):
                d += g[j] * pr[j]
            for j in range(cols):
                g[j] = pr[j] * (g[j] - d)


def softmax_rows(s2, fill: float, zero_dead: bool):
    """In place, the softmax of every row of the float32 (R, S) matrix ``s2``; returns the (R,) uint8 flags of
    the rows whose every entry was ``fill`` (set to 0 with ``zero_dead``, else left uniform)."""
    dead = numpy.empty(s2.shape[0], numpy.uint8)
    _softmax_rows(s2, dead, numpy.float32(fill), bool(zero_dead))
    return dead


def softmax_grad_rows(ds2, p2) -> None:
    """In place, dS = P ⊙ (dP − Σ_j P_j dP_j) row by row (``ds2`` holds dP on entry), float32 (R, S) matrices."""
    _softmax_grad_rows(ds2, p2)


def load() -> None:
    """Compile (or load from Numba's disk cache) both kernels now; a no-op without Numba."""
    if numba is None:
        return
    s = numpy.zeros((2, 4), numpy.float32)
    softmax_rows(s, -1.0, False)
    softmax_grad_rows(s, s.copy())

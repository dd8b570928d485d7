"""Compiled, fused CPU kernels for the memory-bound ops of a convolutional network (optional, Numba).

NumPy evaluates ``k · (g − mean(g) − x̂ · mean(g·x̂))`` as one full pass over memory per operator, with a
temporary array per step; on a CIFAR ResNet that made batch norm and ReLU a third of a training step.
The kernels here do the same math in one or two passes, on two threads, with no temporaries:

====================  ==================================================  =================
kernel                computes (x, g, y, dx of shape (M, C); vectors (C,))  passes over memory
====================  ==================================================  =================
channel_moments       μ_c = Σ_i x_ic / M,  σ²_c = Σ_i (x_ic − μ_c)² / M        1 read
channel_sums          Σ_i g_ic,  Σ_i g_ic · (x_ic − μ_c)                    2 reads
affine                y_ic = a_c · (x_ic − μ_c) + b_c                       1 read, 1 write
affine2               dx_ic = a_c · g_ic + b_c · (x_ic − μ_c) + d_c         2 reads, 1 write
relu                  y = max(x, 0)                                         1 read, 1 write
relu_grad             dx = g where y > 0 else 0                             2 reads, 1 write
add, add_relu         y = a + b,  y = max(a + b, 0)                         2 reads, 1 write
lstm_cell             σ = ½·tanh(z/2) + ½ of 3 gates; c = f·c_prev + i·c̃     1 pass over a step
lstm_cell_grad        the whole elementwise backward of an LSTM step          1 pass over a step
max_pool_grad         dx[first argmax of each window] += gy                 1 pass (x, y, gy, dx)
average_pool_grad     dx[each window] += gy / count                          1 pass (gy, dx)
====================  ==================================================  =================

``affine``, ``channel_sums`` and ``affine2`` also take a fused ReLU (batch norm → ReLU in one step:
``relu=True`` forward, ``relu_out=y`` backward, where g·[y > 0] stands for g); ``add_relu`` is an Add
layer followed by a ReLU (``models/fusion.py`` finds both patterns in a model's graph).

Sums are accumulated in float64 whatever the data's dtype. The NumPy formulas in
``normalization.py`` and ``activations.py`` stay the reference: ``tests/test_kernels.py`` checks each
kernel against them, and the op-level gradient tests (central differences, PyTorch) run on whichever
path is active.

Each matrix kernel runs on ranges of whole rows, two threads sharing a matrix (the convolutions' thread pool,
as many threads as BLAS has), the per-column vectors tiled to blocks of ~512 elements so that the inner loop
vectorizes however few columns there are. The kernels are used when Numba imports, the arrays are NumPy
arrays, C-contiguous, float32 or float64, at least ``_MIN_SIZE`` elements (below it NumPy's fewer Python
steps win) and ``NEURONKA_KERNELS`` is not ``0``; otherwise the callers take the NumPy path (the LSTM cell
kernels take any size: they replace a dozen NumPy calls per time step). Compiled code is cached on disk
in the user's cache folder (:func:`cached_jit`, the ``kernel_cache`` setting), so only the first run on a
machine pays the compilation.
"""
from __future__ import annotations

import os

import numpy

from .. import config

try:  # optional dependency: without it the NumPy reference path runs
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is absent
    numba = None

_ENABLED = numba is not None and config.get("kernels")


def kernel_cache_dir() -> str:
    """Where the compiled kernels are cached: the ``kernel_cache`` setting, else the user's cache folder."""
    chosen = config.get("kernel_cache")
    if chosen:
        return os.path.expanduser(str(chosen))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "neuronka", "numba")


def cached_jit(**options):
    """``numba.njit(cache=True, **options)`` whose on-disk cache is :func:`kernel_cache_dir` (Numba's default
    is the ``__pycache__`` beside the source, inside the installed package). Numba picks a function's cache
    folder when it is decorated, so the folder is set for that moment only: other Numba users in the process
    keep theirs. ``NUMBA_CACHE_DIR``, when the user set it, is left to rule."""
    def decorate(fn):
        if os.environ.get("NUMBA_CACHE_DIR"):
            return numba.njit(cache=True, **options)(fn)
        from numba.core import config as numba_config  # noqa: PLC0415

        previous, numba_config.CACHE_DIR = numba_config.CACHE_DIR, kernel_cache_dir()
        try:
            return numba.njit(cache=True, **options)(fn)
        finally:
            numba_config.CACHE_DIR = previous

    return decorate
_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def enabled() -> bool:
    """True when the compiled kernels are in use."""
    return _ENABLED


def set_enabled(flag: bool) -> bool:
    """Switch the compiled kernels on or off (off: the NumPy reference path); returns the previous state.

    Switching on without Numba installed raises ``RuntimeError``.
    """
    global _ENABLED
    if flag and numba is None:
        raise RuntimeError("neuronka.ops.kernels: expected numba to be installed to enable the compiled kernels")
    previous, _ENABLED = _ENABLED, bool(flag)
    return previous


_MIN_SIZE = 1 << 15  # elements below which the NumPy path wins: fewer Python steps (a batch-1 forward)


def usable(*arrays) -> bool:
    """Whether the kernels take these arrays: NumPy, C-contiguous, one float dtype, at least ``_MIN_SIZE``
    elements, kernels enabled."""
    if not _ENABLED or arrays[0].size < _MIN_SIZE:
        return False
    dtype = arrays[0].dtype
    return all(type(a) is numpy.ndarray and a.flags.c_contiguous and a.dtype == dtype for a in arrays) \
        and dtype in _FLOATS


if numba is not None:
    # Each kernel works on the rows [lo, hi) of a C-contiguous (M, C) matrix seen flat, and releases the GIL,
    # so that ``_split`` can hand the halves of a matrix to two threads. The per-column vectors come tiled
    # to a block of R whole rows (length L = R·C, see ``_block``): the inner loop then runs over L
    # contiguous elements whatever C is, and vectorizes (over only C = 16 columns it did not). (Numba's
    # own ``prange`` was slower here: its loops did not vectorize, and its threads compete with BLAS's.)
    _jit = cached_jit(nogil=True, fastmath=False)

    # Indices start at 0 inside each slice: Numba then knows they are not negative and emits no wraparound
    # check, which would stop the vectorization.
    @_jit
    def _colmoments(x, shift, lo, hi):
        # one pass: Σ (x − s) and Σ (x − s)² with s a value of each column (its first row): shifted, the
        # float64 sums lose no digits to a large mean (σ² = E[(x − s)²] − E[x − s]²)
        L = shift.shape[0]
        acc = numpy.zeros(L)
        acc2 = numpy.zeros(L)
        for base in range(lo, hi, L):
            xb = x[base:min(base + L, hi)]
            for t in range(xb.shape[0]):
                d = xb[t] - shift[t]
                acc[t] += d
                acc2[t] += d * d
        return acc, acc2

    @_jit
    def _sums(g, x, mu, lo, hi):
        L = mu.shape[0]
        sg = numpy.zeros(L)
        sgx = numpy.zeros(L)
        for base in range(lo, hi, L):
            gb, xb = g[base:min(base + L, hi)], x[base:min(base + L, hi)]
            for t in range(gb.shape[0]):
                v = gb[t]
                sg[t] += v
                sgx[t] += v * (xb[t] - mu[t])
        return sg, sgx

    @_jit
    def _affine(x, mu, a, b, y, lo, hi):
        L = mu.shape[0]
        for base in range(lo, hi, L):
            xb, yb = x[base:min(base + L, hi)], y[base:min(base + L, hi)]
            for t in range(xb.shape[0]):
                yb[t] = a[t] * (xb[t] - mu[t]) + b[t]

    @_jit
    def _affine2(g, x, mu, a, b, d, out, lo, hi):
        L = mu.shape[0]
        for base in range(lo, hi, L):
            gb, xb, ob = g[base:min(base + L, hi)], x[base:min(base + L, hi)], out[base:min(base + L, hi)]
            for t in range(gb.shape[0]):
                ob[t] = a[t] * gb[t] + b[t] * (xb[t] - mu[t]) + d[t]

    # ---- the same with a ReLU fused after (batch norm → ReLU, add → ReLU in residual blocks) -------------
    @_jit
    def _affine_relu(x, mu, a, b, y, lo, hi):
        L = mu.shape[0]
        zero = y.dtype.type(0)
        for base in range(lo, hi, L):
            xb, yb = x[base:min(base + L, hi)], y[base:min(base + L, hi)]
            for t in range(xb.shape[0]):
                yb[t] = max(a[t] * (xb[t] - mu[t]) + b[t], zero)

    @_jit
    def _sums_masked(g, x, mu, y, lo, hi):
        # the sums of g·[y > 0]: the gradient through the fused ReLU first
        L = mu.shape[0]
        sg = numpy.zeros(L)
        sgx = numpy.zeros(L)
        zero = y.dtype.type(0)
        for base in range(lo, hi, L):
            gb, xb, yb = g[base:min(base + L, hi)], x[base:min(base + L, hi)], y[base:min(base + L, hi)]
            for t in range(gb.shape[0]):
                v = gb[t] if yb[t] > zero else zero
                sg[t] += v
                sgx[t] += v * (xb[t] - mu[t])
        return sg, sgx

    @_jit
    def _affine2_masked(g, x, mu, a, b, d, y, out, lo, hi):
        L = mu.shape[0]
        zero = y.dtype.type(0)
        for base in range(lo, hi, L):
            gb, xb, ob = g[base:min(base + L, hi)], x[base:min(base + L, hi)], out[base:min(base + L, hi)]
            yb = y[base:min(base + L, hi)]
            for t in range(gb.shape[0]):
                v = gb[t] if yb[t] > zero else zero
                ob[t] = a[t] * v + b[t] * (xb[t] - mu[t]) + d[t]

    @_jit
    def _add(a, b, y, lo, hi):
        as_, bs, ys = a[lo:hi], b[lo:hi], y[lo:hi]
        for k in range(as_.shape[0]):
            ys[k] = as_[k] + bs[k]

    @_jit
    def _add_relu(a, b, y, lo, hi):
        zero = y.dtype.type(0)
        as_, bs, ys = a[lo:hi], b[lo:hi], y[lo:hi]
        for k in range(as_.shape[0]):
            ys[k] = max(as_[k] + bs[k], zero)

    @_jit
    def _relu(x, y, lo, hi):
        zero = x.dtype.type(0)
        xs, ys = x[lo:hi], y[lo:hi]
        for k in range(xs.shape[0]):
            ys[k] = max(xs[k], zero)

    @_jit
    def _relu_grad(g, y, out, lo, hi):
        zero = g.dtype.type(0)
        gs, ys, os_ = g[lo:hi], y[lo:hi], out[lo:hi]
        for k in range(gs.shape[0]):
            os_[k] = gs[k] if ys[k] > zero else zero


    # ---- one LSTM step (gates in the op's order i, f, o, c̃; σ = sigmoid, A = tanh) -------------------
    @_jit
    def _lstm_cell(g, c_prev, c, u):
        # g holds tanh(z/2) for the three σ gates and tanh(z) for c̃:  σ = ½·tanh(z/2) + ½;  c = f·c_prev + i·c̃
        half = g.dtype.type(0.5)
        for r in range(g.shape[0]):
            gs = g[r, :3 * u]
            for j in range(gs.shape[0]):
                gs[j] = half * gs[j] + half
            gi, gf, gc = g[r, :u], g[r, u:2 * u], g[r, 3 * u:]
            cp, cr = c_prev[r], c[r]
            for j in range(u):
                cr[j] = gf[j] * cp[j] + gi[j] * gc[j]

    @_jit
    def _lstm_cell_grad(g, tc, c_prev, dh, dc, dz, u):
        # dL/do = dh·A(c); dc += dh·o·(1 − A(c)²); dL/di = dc·c̃; dL/df = dc·c_prev; dL/dc̃ = dc·i;
        # through the activations (σ' = σ(1 − σ), tanh' = 1 − tanh²); then dc ← dc·f for the step before
        one = g.dtype.type(1)
        for r in range(g.shape[0]):
            gi, gf, go, gc = g[r, :u], g[r, u:2 * u], g[r, 2 * u:3 * u], g[r, 3 * u:]
            zi, zf, zo, zc = dz[r, :u], dz[r, u:2 * u], dz[r, 2 * u:3 * u], dz[r, 3 * u:]
            tr, cp, hr, cr = tc[r], c_prev[r], dh[r], dc[r]
            for j in range(u):
                i, f, o, cc, t = gi[j], gf[j], go[j], gc[j], tr[j]
                d = cr[j] + hr[j] * o * (one - t * t)
                zi[j] = d * cc * i * (one - i)
                zf[j] = d * cp[j] * f * (one - f)
                zo[j] = hr[j] * t * o * (one - o)
                zc[j] = d * i * (one - cc * cc)
                cr[j] = d * f

    # ---- pooling backward, channels_last (N, H, W, C), images [n0, n1) --------------------------------
    # A window (i, j) covers the input rows i·s_h + a − p_t (a < k_h) and columns j·s_w + b − p_l that lie
    # inside the image: padding is skipped, so it never receives a gradient.
    @_jit
    def _window_taps(i, stride, pad, k, length):
        """The taps [a0, a1) of window i that lie inside the image: 0 ≤ i·stride + a − pad < length."""
        start = i * stride - pad
        return max(0, -start), min(k, length - start)

    @_jit
    def _zero_rows(dx, n, done, stop):
        """Zero dx[n] rows [done, stop) (none if stop ≤ done); the rows zeroed so far: each dx row is cleared
        just before the first window that reaches it, while it is in cache, not the whole image up front."""
        for r in range(done, stop):
            dx[n, r] = 0
        return max(done, stop)

    @_jit
    def _max_pool_grad(x, y, gy, dx, kh, kw, sh, sw, pt, pl, n0, n1):
        # dx[first argmax of window (i, j)] += gy[i, j], "first" in row-major tap order (ties do not share);
        # branch-free so that the channel loop vectorizes: m = open if x = y else 0 (open is 1 until the first
        # hit, then 0, in dx's float type: one lane width throughout), add gy·m, open −= m. As in the NumPy
        # path (gy · hit), a non-finite gy[i, j] reaches every tap of its window (inf · 0 = NaN).
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        still_open = numpy.empty(c, dx.dtype)
        zero, one = dx.dtype.type(0), dx.dtype.type(1)
        for n in range(n0, n1):
            done = 0  # dx rows [0, done) zeroed
            for i in range(y.shape[1]):
                a0, a1 = _window_taps(i, sh, pt, kh, h)
                done = _zero_rows(dx, n, done, i * sh - pt + a1)
                for j in range(y.shape[2]):
                    b0, b1 = _window_taps(j, sw, pl, kw, w)
                    still_open[:] = one
                    yv, gv = y[n, i, j], gy[n, i, j]
                    for a in range(a0, a1):
                        for b in range(b0, b1):
                            r, q = i * sh + a - pt, j * sw + b - pl
                            xv, dv = x[n, r, q], dx[n, r, q]
                            for k in range(c):
                                m = still_open[k] if xv[k] == yv[k] else zero
                                dv[k] += gv[k] * m
                                still_open[k] -= m
            _zero_rows(dx, n, done, h)  # rows no window reaches

    @_jit
    def _average_pool_grad(gy, inv_count, dx, kh, kw, sh, sw, pt, pl, n0, n1):
        # dx[window (i, j)] += gy[i, j] / count[i, j]
        h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
        share = numpy.empty(c, dx.dtype)
        for n in range(n0, n1):
            done = 0  # dx rows [0, done) zeroed
            for i in range(gy.shape[1]):
                a0, a1 = _window_taps(i, sh, pt, kh, h)
                done = _zero_rows(dx, n, done, i * sh - pt + a1)
                for j in range(gy.shape[2]):
                    b0, b1 = _window_taps(j, sw, pl, kw, w)
                    gv, f = gy[n, i, j], inv_count[i, j]
                    for k in range(c):
                        share[k] = gv[k] * f
                    for a in range(a0, a1):
                        for b in range(b0, b1):
                            dv = dx[n, i * sh + a - pt, j * sw + b - pl]
                            for k in range(c):
                                dv[k] += share[k]
            _zero_rows(dx, n, done, h)

_MIN_SPLIT = 1 << 16  # elements below which one thread does the whole matrix
_BLOCK = 512  # about this many elements per tiled block (whole rows)


def _split(kernel, m, cols, *args):
    """Run ``kernel(*args, lo, hi)`` over flat ranges of whole rows covering the (m, cols) matrix, one per
    worker thread; the results."""
    from .threads import num_workers, run_parallel  # noqa: PLC0415 - the batch-parallel ops' thread pool

    workers = min(num_workers(), m) if m * cols >= _MIN_SPLIT else 1
    bounds = [(m * t // workers) * cols for t in range(workers + 1)]
    return run_parallel([(kernel, (*args, bounds[t], bounds[t + 1])) for t in range(workers)])


def _block(cols: int) -> int:
    """Rows per tiled block: about ``_BLOCK`` elements, at least one row."""
    return max(1, _BLOCK // max(cols, 1))


def _matrix(a):
    """A C-contiguous array viewed as (rows, last axis)."""
    return a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(1, -1)


def _vec(v, dtype):
    return numpy.ascontiguousarray(numpy.asarray(v, dtype).reshape(-1))


def _tiled(v, dtype, rows):
    """A per-column vector repeated for ``rows`` rows: element t of a block belongs to column t mod C."""
    v = numpy.asarray(v).reshape(-1)
    out = numpy.empty((rows, v.shape[0]), dtype)
    out[:] = v
    return out.reshape(-1)


def _fold(acc, cols):
    """Σ over the rows of a block-shaped accumulator: its per-column totals."""
    return acc.reshape(-1, cols).sum(axis=0)


def channel_moments(x2):
    """(μ, σ²) per column of the (M, C) matrix x2, float64 vectors; σ² the biased variance, in one pass:
    the sums of d = x − s and d² with s the first row (μ = s + Σd/M, σ² = Σd²/M − (Σd/M)²)."""
    m, c = x2.shape
    r, flat = _block(c), x2.reshape(-1)
    shift = x2[0].astype(numpy.float64)
    parts = _split(_colmoments, m, c, flat, _tiled(shift, numpy.float64, r))
    mean_d = _fold(sum(p[0] for p in parts), c) / m
    var = numpy.maximum(_fold(sum(p[1] for p in parts), c) / m - mean_d * mean_d, 0.0)
    return shift + mean_d, var


def channel_sums(g2, x2, mu, relu_out=None):
    """(Σ_i g_ic, Σ_i g_ic·(x_ic − μ_c)) per column, float64 vectors; with ``relu_out`` (the output of a
    fused ReLU), g·[relu_out > 0] in place of g."""
    m, c = g2.shape
    mu_t = _tiled(mu, numpy.float64, _block(c))
    if relu_out is None:
        parts = _split(_sums, m, c, g2.reshape(-1), x2.reshape(-1), mu_t)
    else:
        parts = _split(_sums_masked, m, c, g2.reshape(-1), x2.reshape(-1), mu_t, relu_out.reshape(-1))
    return _fold(sum(p[0] for p in parts), c), _fold(sum(p[1] for p in parts), c)


def affine(x2, mu, a, b, relu: bool = False):
    """y = a·(x − μ) + b per column (μ, a, b vectors of length C), a new array of x2's dtype; with ``relu``
    max(·, 0)."""
    m, c = x2.shape
    y = numpy.empty_like(x2)
    dt, r = x2.dtype, _block(c)
    _split(_affine_relu if relu else _affine, m, c, x2.reshape(-1), _tiled(mu, dt, r), _tiled(a, dt, r),
           _tiled(b, dt, r), y.reshape(-1))
    return y


def affine2(g2, x2, mu, a, b, d, relu_out=None):
    """dx = a·g + b·(x − μ) + d per column, a new array of g2's dtype; with ``relu_out``, g·[relu_out > 0] in
    place of g."""
    m, c = g2.shape
    out = numpy.empty_like(g2)
    dt, r = g2.dtype, _block(c)
    vectors = (_tiled(mu, dt, r), _tiled(a, dt, r), _tiled(b, dt, r), _tiled(d, dt, r))
    if relu_out is None:
        _split(_affine2, m, c, g2.reshape(-1), x2.reshape(-1), *vectors, out.reshape(-1))
    else:
        _split(_affine2_masked, m, c, g2.reshape(-1), x2.reshape(-1), *vectors, relu_out.reshape(-1),
               out.reshape(-1))
    return out


def add(a, b):
    """a + b of two arrays of one shape, a new array (on both threads: a gradient summed over two paths)."""
    y = numpy.empty_like(a)
    _split(_add, a.size, 1, a.reshape(-1), b.reshape(-1), y.reshape(-1))
    return y


def add_relu(a, b):
    """max(a + b, 0) of two arrays of one shape, a new array."""
    y = numpy.empty_like(a)
    _split(_add_relu, a.size, 1, a.reshape(-1), b.reshape(-1), y.reshape(-1))
    return y


def relu(x):
    """max(x, 0), a new array shaped like x."""
    y = numpy.empty_like(x)
    _split(_relu, x.size, 1, x.reshape(-1), y.reshape(-1))
    return y


def relu_grad(g, y):
    """g where y > 0 else 0 (y = relu(x), so y > 0 ⇔ x > 0)."""
    out = numpy.empty_like(g)
    _split(_relu_grad, g.size, 1, g.reshape(-1), y.reshape(-1), out.reshape(-1))
    return out


def lstm_cell(g, c_prev, c, u: int) -> None:
    """In place, one LSTM step after the gate pre-activations went through tanh (z/2 for the σ gates):
    g[:, :3u] ← σ = ½·tanh(z/2) + ½ (i, f, o); c ← f ⊙ c_prev + i ⊙ c̃. Arrays (N, 4u), (N, u), (N, u)."""
    _lstm_cell(g, c_prev, c, u)


def lstm_cell_grad(g, tc, c_prev, dh, dc, dz, u: int) -> None:
    """In place, the backward of one LSTM step with σ gates and tanh: dz (N, 4u) ← dL/d(pre-activations)
    from dh (= dL/dh_t), dc (= dL/dc_t, then overwritten with dL/dc_{t−1} = dc ⊙ f), the gates g (N, 4u),
    tc = tanh(c_t) and c_prev = c_{t−1}."""
    _lstm_cell_grad(g, tc, c_prev, dh, dc, dz, u)


def max_pool_grad(x, y, gy, dx, g, n0: int, n1: int) -> None:
    """dx[n0:n1] ← dL/dx of y = max-pool(x) (geometry g: pool k_h×k_w, strides, top/left padding), the
    gradient gy routed to each window's first maximum; x, dx (N, H, W, C), y, gy (N, H_o, W_o, C)."""
    _max_pool_grad(x, y, gy, dx, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, n0, n1)


def average_pool_grad(gy, inv_count, dx, g, n0: int, n1: int) -> None:
    """dx[n0:n1] ← dL/dx of y = average-pool(x): gy[i, j]·inv_count[i, j] added to every real element of
    window (i, j); inv_count (H_o, W_o) of dx's dtype."""
    _average_pool_grad(gy, inv_count, dx, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, n0, n1)


def load() -> None:
    """Compile (or load from the disk cache) every compiled kernel now, for float32 and float64, and the
    BLAS tap loops of the shifted convolutions; a no-op without Numba.

    Otherwise each is loaded at its first call. Loading brings in Numba's LLVM runtime, about 60 MiB of
    resident memory once per process: ``benchmarks/vs_torch.py`` loads it before its memory baseline, as
    PyTorch's compiled kernels are loaded by ``import torch``.
    """
    if numba is None:
        return
    from . import blas  # the shifted convolutions' loops (neuronka/ops/blas.py)

    for dtype in _FLOATS:
        a = numpy.ones((2, 4), dtype)
        flat = a.reshape(-1)
        v = numpy.ones(4, dtype)
        _colmoments(flat, v.astype(numpy.float64), 0, 8)
        _sums(flat, flat, v.astype(numpy.float64), 0, 8)
        _affine(flat, v, v, v, numpy.empty_like(flat), 0, 8)
        _affine2(flat, flat, v, v, v, v, numpy.empty_like(flat), 0, 8)
        _relu(flat, numpy.empty_like(flat), 0, 8)
        _affine_relu(flat, v, v, v, numpy.empty_like(flat), 0, 8)
        _sums_masked(flat, flat, v.astype(numpy.float64), flat, 0, 8)
        _affine2_masked(flat, flat, v, v, v, v, flat, numpy.empty_like(flat), 0, 8)
        _add(flat, flat, numpy.empty_like(flat), 0, 8)
        _add_relu(flat, flat, numpy.empty_like(flat), 0, 8)
        _relu_grad(flat, flat, numpy.empty_like(flat), 0, 8)
        g, s = numpy.zeros((2, 4), dtype), numpy.zeros((2, 1), dtype)
        _lstm_cell(g, s, s.copy(), 1)
        _lstm_cell_grad(g, s, s, s, s.copy(), numpy.zeros((2, 4), dtype), 1)
        img = numpy.ones((1, 2, 2, 1), dtype)
        _max_pool_grad(img, img, img, numpy.empty_like(img), 1, 1, 1, 1, 0, 0, 0, 1)
        _average_pool_grad(img, numpy.ones((2, 2), dtype), numpy.empty_like(img), 1, 1, 1, 1, 0, 0, 0, 1)
        if blas.available(dtype):
            blas.shifted_matmul(a, [0], numpy.ones((1, 4, 3), dtype), numpy.empty((2, 3), dtype))
            blas.shifted_matmul_t(a, [0], numpy.ones((2, 3), dtype), numpy.empty((1, 4, 3), dtype))


config.register_applier("kernels", set_enabled)

"""Compiled, fused CPU kernels for the memory-bound ops of a convolutional network (optional, Numba).

NumPy evaluates ``k · (g − mean(g) − x̂ · mean(g·x̂))`` as one full pass over memory per operator, with a
temporary array per step; on a CIFAR ResNet that made batch norm and ReLU a third of a training step.
The kernels here do the same math in one or two passes, on two threads, with no temporaries:

====================  ==================================================  =================
kernel                computes (x, g, y, dx of shape (M, C); vectors (C,))  passes over memory
====================  ==================================================  =================
channel_moments       μ_c = Σ_i x_ic / M,  σ²_c = Σ_i (x_ic − μ_c)² / M        2 reads
channel_sums          Σ_i g_ic,  Σ_i g_ic · (x_ic − μ_c)                    2 reads
affine                y_ic = a_c · (x_ic − μ_c) + b_c                       1 read, 1 write
affine2               dx_ic = a_c · g_ic + b_c · (x_ic − μ_c) + d_c         2 reads, 1 write
relu                  y = max(x, 0)                                         1 read, 1 write
relu_grad             dx = g where y > 0 else 0                             2 reads, 1 write
====================  ==================================================  =================

Sums are accumulated in float64 whatever the data's dtype. The NumPy formulas in
``normalization.py`` and ``activations.py`` stay the reference: ``tests/test_kernels.py`` checks each
kernel against them, and the op-level gradient tests (central differences, PyTorch) run on whichever
path is active.

Each kernel runs on row ranges, two threads sharing a matrix (the convolutions' thread pool, as many
threads as BLAS has). The kernels are used when Numba imports, the arrays are NumPy arrays, C-contiguous, float32 or
float64, and ``NEURONKA_KERNELS`` is not ``0``; otherwise the callers take the NumPy path. Compiled
code is cached on disk (``cache=True``), so only the first run on a machine pays the compilation.
"""
from __future__ import annotations

import os

import numpy

try:  # optional dependency: without it the NumPy reference path runs
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is absent
    numba = None

_ENABLED = numba is not None and os.environ.get("NEURONKA_KERNELS", "1") != "0"
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


def usable(*arrays) -> bool:
    """Whether the kernels can take these arrays: NumPy, C-contiguous, one float dtype, kernels enabled."""
    if not _ENABLED:
        return False
    dtype = arrays[0].dtype
    return all(type(a) is numpy.ndarray and a.flags.c_contiguous and a.dtype == dtype for a in arrays) \
        and dtype in _FLOATS


if numba is not None:
    # Each kernel works on rows [lo, hi) of 2-D C-contiguous arrays and releases the GIL, so that
    # ``_split`` can hand the halves of a matrix to two threads. (Numba's own ``prange`` was slower
    # here: its loops did not vectorize, and its threads compete with BLAS's.)
    _jit = numba.njit(cache=True, nogil=True)

    @_jit
    def _colsum(x, lo, hi):
        acc = numpy.zeros(x.shape[1])
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                acc[j] += x[i, j]
        return acc

    @_jit
    def _colsq(x, mu, lo, hi):
        acc = numpy.zeros(x.shape[1])
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                d = x[i, j] - mu[j]
                acc[j] += d * d
        return acc

    @_jit
    def _sums(g, x, mu, lo, hi):
        sg = numpy.zeros(x.shape[1])
        sgx = numpy.zeros(x.shape[1])
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                v = g[i, j]
                sg[j] += v
                sgx[j] += v * (x[i, j] - mu[j])
        return sg, sgx

    @_jit
    def _affine(x, mu, a, b, y, lo, hi):
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                y[i, j] = a[j] * (x[i, j] - mu[j]) + b[j]

    @_jit
    def _affine2(g, x, mu, a, b, d, out, lo, hi):
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                out[i, j] = a[j] * g[i, j] + b[j] * (x[i, j] - mu[j]) + d[j]

    @_jit
    def _relu(x, y, lo, hi):
        zero = x.dtype.type(0)
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                y[i, j] = max(x[i, j], zero)

    @_jit
    def _relu_grad(g, y, out, lo, hi):
        zero = g.dtype.type(0)
        for i in range(lo, hi):
            for j in range(g.shape[1]):
                out[i, j] = g[i, j] if y[i, j] > zero else zero


_MIN_SPLIT = 1 << 16  # elements below which one thread does the whole matrix


def _split(kernel, m, size, *args):
    """Run ``kernel(*args, lo, hi)`` over row ranges covering [0, m), one per worker thread; the results."""
    from .convolution import num_workers, run_parallel  # the thread pool the convolutions use

    workers = min(num_workers(), m) if size >= _MIN_SPLIT else 1
    bounds = [m * t // workers for t in range(workers + 1)]
    return run_parallel([(kernel, (*args, bounds[t], bounds[t + 1])) for t in range(workers)])


def _matrix(a):
    """A C-contiguous array viewed as (rows, last axis)."""
    return a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(1, -1)


def _vec(v, dtype):
    return numpy.ascontiguousarray(numpy.asarray(v, dtype).reshape(-1))


def channel_moments(x2):
    """(μ, σ²) per column of the (M, C) matrix x2, float64 vectors; σ² the biased variance (two passes)."""
    m = x2.shape[0]
    mean = sum(_split(_colsum, m, x2.size, x2)) / m
    return mean, sum(_split(_colsq, m, x2.size, x2, mean)) / m


def channel_sums(g2, x2, mu):
    """(Σ_i g_ic, Σ_i g_ic·(x_ic − μ_c)) per column, float64 vectors."""
    parts = _split(_sums, g2.shape[0], g2.size, g2, x2, _vec(mu, numpy.float64))
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def affine(x2, mu, a, b):
    """y = a·(x − μ) + b per column (μ, a, b vectors of length C), a new array of x2's dtype."""
    y = numpy.empty_like(x2)
    dt = x2.dtype
    _split(_affine, x2.shape[0], x2.size, x2, _vec(mu, dt), _vec(a, dt), _vec(b, dt), y)
    return y


def affine2(g2, x2, mu, a, b, d):
    """dx = a·g + b·(x − μ) + d per column, a new array of g2's dtype."""
    out = numpy.empty_like(g2)
    dt = g2.dtype
    _split(_affine2, g2.shape[0], g2.size, g2, x2, _vec(mu, dt), _vec(a, dt), _vec(b, dt), _vec(d, dt), out)
    return out


def relu(x):
    """max(x, 0), a new array shaped like x."""
    y = numpy.empty_like(x)
    x2, y2 = _matrix(x), _matrix(y)
    _split(_relu, x2.shape[0], x2.size, x2, y2)
    return y


def relu_grad(g, y):
    """g where y > 0 else 0 (y = relu(x), so y > 0 ⇔ x > 0)."""
    out = numpy.empty_like(g)
    g2, y2, o2 = _matrix(g), _matrix(y), _matrix(out)
    _split(_relu_grad, g2.shape[0], g2.size, g2, y2, o2)
    return out

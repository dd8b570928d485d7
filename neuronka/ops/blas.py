"""Direct calls of the BLAS GEMM that NumPy itself links (OpenBLAS in NumPy's wheels), through ctypes.

``numpy.matmul`` cannot accumulate (C ← A·B + C) nor read a matrix whose rows are further apart than its
width; the shifted-GEMM convolution (``conv_shifted.py``) needs both: nine products summed into one output,
each reading the padded input at another offset. ``gemm`` is the BLAS call
``C ← α·op(A)·op(B) + β·C`` on row-major 2-D views (any row stride, unit column stride). ctypes releases the
GIL during the call, so the convolution's worker threads multiply concurrently (BLAS single-threaded inside
each, as ``map_batch`` arranges).

The library is found next to NumPy (``numpy.libs``, ``numpy/.dylibs``) and its ``cblas_?gemm`` symbol looked
up under the names NumPy's OpenBLAS builds export (``scipy_cblas_sgemm64_``: 64-bit integers) or a plain
``cblas_sgemm``. Where none is found (another BLAS, CuPy arrays) :func:`available` is False and the callers
keep their NumPy path. ``NEURONKA_BLAS=0`` switches the direct calls off.

The two shifted products run first of all in the compiled kernels of ``_shifted.c`` (in the library that
``pip install`` builds when a C compiler is there, ``native.py``; :func:`direct_available`), which keep a
tile of outputs in vector registers across all taps: 1.4-3x the GFLOP/s of one OpenBLAS GEMM per tap at
16-64 channels. Where those kernels are missing or do not apply (output channels not a multiple of the
vector's lanes; for the weight gradient fewer than 8 input channels or more than 160 channels in and out
together), one BLAS GEMM per tap. ``NEURONKA_DIRECT=0`` or :func:`set_direct` switch the kernels off
(tests compare both).
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy

from .. import config
from . import native

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_lib = None
_ilp64 = False
_funcs: dict = {}


def _find():
    """{dtype: ctypes function} of the cblas GEMMs in NumPy's own BLAS library, or {}."""
    root = os.path.dirname(numpy.__file__)
    paths = sorted(glob.glob(os.path.join(root, "..", "numpy.libs", "*openblas*"))
                   + glob.glob(os.path.join(root, ".dylibs", "*openblas*")))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, int_t in (("scipy_", "64_", ctypes.c_int64), ("", "64_", ctypes.c_int64),
                                      ("scipy_", "", ctypes.c_int), ("", "", ctypes.c_int)):
            funcs = {}
            for letter, dtype, real_t in (("s", numpy.float32, ctypes.c_float), ("d", numpy.float64, ctypes.c_double)):
                fn = getattr(lib, f"{prefix}cblas_{letter}gemm{suffix}", None)
                if fn is None:
                    break
                fn.restype = None
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t, real_t,
                               ctypes.c_void_p, int_t, ctypes.c_void_p, int_t, real_t, ctypes.c_void_p, int_t]
                funcs[numpy.dtype(dtype)] = fn
            if len(funcs) == 2:
                global _lib, _ilp64
                _lib, _ilp64 = lib, int_t is ctypes.c_int64
                return funcs
    return {}


if config.get("blas"):
    _funcs = _find()


def available(dtype) -> bool:
    """True when :func:`gemm` can multiply arrays of this dtype."""
    return numpy.dtype(dtype) in _funcs


def gemm_address(dtype) -> tuple[int, bool] | None:
    """(address of the cblas ?gemm :func:`gemm` calls, whether it takes 64-bit integers), for compiled code
    that calls it itself (``_recurrent.c``); None where unavailable."""
    fn = _funcs.get(numpy.dtype(dtype))
    return None if fn is None else (ctypes.cast(fn, ctypes.c_void_p).value, _ilp64)


def _rows(a, name):
    """The row stride (in elements) of a 2-D view with unit column stride."""
    item = a.itemsize
    if a.ndim != 2 or (a.shape[1] > 1 and a.strides[1] != item) or a.strides[0] % item:
        raise ValueError(f"blas.gemm: expected {name} to be a 2-D view with contiguous rows, "
                         f"received shape {a.shape} and strides {a.strides}")
    return max(a.strides[0] // item, a.shape[1], 1)


def gemm(a, b, c, beta: float = 0.0, trans_a: bool = False, trans_b: bool = False, alpha: float = 1.0) -> None:
    """c ← alpha·op(a)·op(b) + beta·c in place, op(m) = mᵀ where asked; all NumPy views of one float dtype.

    Shapes: op(a) (M, K), op(b) (K, N), c (M, N). Rows may be strided (a window of a bigger buffer).
    """
    fn = _funcs[c.dtype]
    m, n = c.shape
    am, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    bk, bn = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if (am, bn, bk) != (m, n, k) or a.dtype != c.dtype or b.dtype != c.dtype:
        raise ValueError(f"blas.gemm: expected op(a) (M, K), op(b) (K, N) and c (M, N) of one dtype; received "
                         f"a {a.shape} {a.dtype} (trans_a={trans_a}), b {b.shape} {b.dtype} (trans_b={trans_b}), "
                         f"c {c.shape} {c.dtype}")
    fn(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS, m, n, k, alpha,
       a.ctypes.data, _rows(a, "a"), b.ctypes.data, _rows(b, "b"), beta, c.ctypes.data, _rows(c, "c"))


# ----------------------------------------------------------------------------------
# sums of products over shifted windows of one matrix (the shifted-GEMM convolution)
# ----------------------------------------------------------------------------------
def _checked_offsets(op, a, offsets, m, stack, other):
    """The offsets as int64, after refusing what would make the compiled loops read or write out of bounds:
    dtypes or layouts that differ, offsets past the rows of ``a``, a (T, K, N) ``stack`` of another shape."""
    arrays = (a, stack, other)
    if any(o.dtype != a.dtype or not o.flags.c_contiguous for o in arrays) or a.dtype not in _funcs:
        raise ValueError(f"blas.{op}: expected C-contiguous arrays of one float dtype; received "
                         + ", ".join(f"{o.dtype} {o.shape}" for o in arrays))
    if a.ndim != 2 or len(offsets) == 0 or min(offsets) < 0 or max(offsets) + m > a.shape[0]:
        raise ValueError(f"blas.{op}: expected a C-contiguous (rows, K) matrix holding rows [off, off + {m}) "
                         f"for every offset; received shape {a.shape} and offsets {min(offsets)}..{max(offsets)}")
    expected = (len(offsets), a.shape[1], other.shape[1])
    if stack.shape != expected:
        raise ValueError(f"blas.{op}: expected a stack of shape (T, K, N) = {expected}, received {stack.shape}")
    return numpy.asarray(offsets, numpy.int64)


def shifted_matmul(a, offsets, b, c, accumulate: bool = False, grid: tuple[int, int] | None = None,
                   bias=None, relu: bool = False, stride: int = 1) -> None:
    """c ← Σ_t a[off_t : off_t + M] · b[t]  (+ c if ``accumulate``), in place.

    a: (R, K) C-contiguous; b: (T, K, N) C-contiguous; c: (M, N) C-contiguous; offsets: T row offsets.
    With ``grid`` = (hq, wq), c is (nb, ho, wo, N) instead and receives only the rows p = n·hq·wq + i·wq + j
    with i < ho, j < wo of the (nb·hq·wq, N) product: the valid pixels of a convolution on that grid
    (``conv_shifted._Grid``), written in place by the compiled kernels, or cropped from the full product;
    then (grid mode only) c ← max(c + bias, 0) per column with ``bias`` (N,) and ``relu``, in the compiled
    kernels' store (no extra pass). With ``stride`` s (grid mode only), output (i, j) is grid pixel (s·i, s·j):
    p = n·hq·wq + s·i·wq + s·j, a convolution of stride s.
    """
    if (bias is not None or relu) and grid is None:
        raise ValueError("blas.shifted_matmul: bias and relu apply to the grid form only (pass grid=)")
    if grid is not None:
        nb, ho, wo, n = c.shape
        hq, wq = grid
        if stride * (ho - 1) >= hq or stride * (wo - 1) >= wq:
            raise ValueError(f"blas.shifted_matmul: expected an output of at most the grid's {hq}x{wq} pixels "
                             f"(at stride {stride}), received {ho}x{wo}")
        flat = c.reshape(-1, n)
        kernel = _direct_kernel(0, c.dtype, n)
        last = (nb - 1) * hq * wq + stride * ((ho - 1) * wq + wo - 1) + 1 if kernel is not None else nb * hq * wq
        offs = _checked_offsets("shifted_matmul", a, offsets, last, b, flat)
        if bias is not None and (bias.shape != (n,) or bias.dtype != c.dtype or not bias.flags.c_contiguous):
            raise ValueError(f"blas.shifted_matmul: expected a contiguous bias of shape ({n},) and dtype {c.dtype}, "
                             f"received {bias.shape} {bias.dtype}")
        if kernel is None:  # the whole grid, then the crop
            full = numpy.empty((nb * hq * wq, n), c.dtype)
            shifted_matmul(a, offsets, b, full)
            full = full.reshape(nb, hq, wq, n)[:, ::stride, ::stride][:, :ho, :wo]
            if accumulate:
                c += full
            else:
                c[...] = full
            if bias is not None:
                c += bias
            if relu:
                numpy.maximum(c, 0, out=c)
            return
        _direct_rows[c.dtype](a.ctypes.data, a.shape[1], offs.ctypes.data, len(offs), b.ctypes.data, n,
                              c.ctypes.data, nb, ho, wo, hq * wq, stride * wq, stride, ho * wo, wo, 1, int(accumulate),
                              None if bias is None else bias.ctypes.data, int(relu))
        return
    m = c.shape[0]
    offs = _checked_offsets("shifted_matmul", a, offsets, m, b, c)
    if (kernel := _direct_kernel(0, c.dtype, c.shape[1])) is not None:
        kernel(a.ctypes.data, a.shape[1], offs.ctypes.data, len(offs), b.ctypes.data, c.shape[1], c.ctypes.data,
               m, int(accumulate))
        return
    if _numba_kernels is not None:
        _numba_kernels[0][c.dtype](a, offs, b, c, 1.0 if accumulate else 0.0)
        return
    for t, off in enumerate(offs):
        gemm(a[off:off + m], b[t], c, beta=1.0 if (accumulate or t) else 0.0)


def shifted_rows(a, offsets, b, y, images: int, rows: int, cols: int, a_at: tuple[int, int, int, int],
                 y_at: tuple[int, int, int, int], accumulate: bool = False) -> None:
    """The compiled kernels' rows form in full, for n < images, i < rows, j < cols:

        y[y0 + n·y_image + i·y_row + j·y_step] (+)= Σ_t a[a0 + n·a_image + i·a_row + j·a_step + off_t] · b[t]

    a (R, K) and y (P, N) C-contiguous matrices, one row per pixel; b (T, K, N); ``a_at`` = (a0, a_image, a_row,
    a_step), ``y_at`` likewise (every stride ≥ 0). One phase of a strided convolution's input gradient
    (``conv_direct._strided_input_grad``). Compiled kernels only (``direct_available`` and N a multiple of the
    lanes); every row read and written is checked to lie inside a and y first.
    """
    arrays = (a, b, y)
    if y.ndim != 2 or _direct_kernel(0, y.dtype, y.shape[1]) is None \
            or any(m.dtype != y.dtype or not m.flags.c_contiguous for m in arrays):
        raise ValueError(f"blas.shifted_rows: expected C-contiguous arrays of one dtype with compiled kernels for "
                         f"{y.shape[-1]} output columns; received {a.dtype} {b.dtype} {y.dtype} of shapes {a.shape} "
                         f"{b.shape} {y.shape}")
    offs = numpy.asarray(offsets, numpy.int64)
    if not len(offs):
        raise ValueError("blas.shifted_rows: expected at least one offset, received none")
    if b.shape != (len(offs), a.shape[1], y.shape[1]):
        raise ValueError(f"blas.shifted_rows: expected a stack of shape {(len(offs), a.shape[1], y.shape[1])}, "
                         f"received {b.shape}")

    def last(at):
        return at[0] + (images - 1) * at[1] + (rows - 1) * at[2] + (cols - 1) * at[3]

    if min(*a_at, *y_at) < 0 or offs.min() < 0 or last(a_at) + offs.max() >= a.shape[0] \
            or last(y_at) >= y.shape[0]:
        raise ValueError(f"blas.shifted_rows: the pixels read ({a_at}, offsets {offsets}) or written ({y_at}) "
                         f"leave the arrays of {a.shape[0]} and {y.shape[0]} rows")
    if images <= 0 or rows <= 0 or cols <= 0:
        return
    _direct_rows[y.dtype](a.ctypes.data + a_at[0] * a.strides[0], a.shape[1], offs.ctypes.data, len(offs),
                          b.ctypes.data, y.shape[1], y.ctypes.data + y_at[0] * y.strides[0], images, rows, cols,
                          a_at[1], a_at[2], a_at[3], y_at[1], y_at[2], y_at[3], int(accumulate), None, 0)


def shifted_matmul_t(a, offsets, g, out, accumulate: bool = False) -> None:
    """out[t] ← a[off_t : off_t + M]ᵀ · g  (+ out[t] if ``accumulate``), in place, for every t.

    a: (R, K) C-contiguous; g: (M, N) C-contiguous; out: (T, K, N) C-contiguous.
    """
    m = g.shape[0]
    offs = _checked_offsets("shifted_matmul_t", a, offsets, m, out, g)
    # the compiled weight gradient wins at 8-64 channels (2-3x per tap GEMMs at 16-32); with K + N above
    # ~160 its pixel blocks shrink and BLAS wins (512 -> 512 channels at 7x7: 91 against 50 ms)
    if 8 <= a.shape[1] and a.shape[1] + g.shape[1] <= 160 \
            and (kernel := _direct_kernel(1, g.dtype, g.shape[1])) is not None:
        kernel(a.ctypes.data, a.shape[1], offs.ctypes.data, len(offs), g.ctypes.data, g.shape[1],
               out.ctypes.data, m, int(accumulate))
        return
    if _numba_kernels is not None:
        _numba_kernels[1][g.dtype](a, offs, g, out, 1.0 if accumulate else 0.0)
        return
    for t, off in enumerate(offs):
        gemm(a[off:off + m], g, out[t], beta=1.0 if accumulate else 0.0, trans_a=True)


def _compile_numba_kernels():
    """The two tap loops as compiled functions calling the BLAS pointer directly (no Python per GEMM).

    Not cached on disk: the BLAS function's address is compiled in as a constant.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency; without it the Python loops run
        return None
    forward, transposed = {}, {}
    for dtype, fn in _funcs.items():
        def make(fn=fn):
            @numba.njit(nogil=True)
            def fwd(a, offs, b, c, beta0):
                m, n = c.shape
                k = a.shape[1]
                item = a.itemsize
                for t in range(offs.shape[0]):
                    fn(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, a.ctypes.data + offs[t] * k * item, k,
                       b.ctypes.data + t * k * n * item, n, beta0 if t == 0 else 1.0, c.ctypes.data, n)

            @numba.njit(nogil=True)
            def bwd(a, offs, g, out, beta):
                m, n = g.shape
                k = a.shape[1]
                item = a.itemsize
                for t in range(offs.shape[0]):
                    fn(_ROW_MAJOR, _TRANS, _NO_TRANS, k, n, m, 1.0, a.ctypes.data + offs[t] * k * item, k,
                       g.ctypes.data, n, beta, out.ctypes.data + t * k * n * item, n)

            return fwd, bwd

        forward[dtype], transposed[dtype] = make()
    return forward, transposed


_numba_kernels = _compile_numba_kernels() if _funcs and config.get("kernels") else None


# ----------------------------------------------------------------------------------
# the compiled kernels of _shifted.c (register-blocked; see that file)
# ----------------------------------------------------------------------------------
_same3: dict = {}  # {dtype: (conv3x3_same, conv3x3_same_wgrad)} of _shifted.c


def _load_direct():
    """({dtype: (forward, transposed)}, {dtype: forward on rows}, vector bytes) from the compiled library
    (``native.py``), or ({}, {}, 0). Only a library built for AVX2 + FMA or AVX-512 serves them
    (``shifted_simd_level``): compiled for the SSE2 baseline, the register tiles are far slower than BLAS (one
    ResNet-20 step: 23.7 s against 2.1 s), so there the convolutions take the BLAS paths and only the LSTM
    loops come from the library."""
    level = native.function("shifted_simd_level", [], ctypes.c_int)
    if native.library() is None or level is None or level() < 1:
        return {}, {}, 0
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    kernels, rows = {}, {}
    for name, dtype in (("f32", numpy.float32), ("f64", numpy.float64)):
        _same3[numpy.dtype(dtype)] = (
            native.function("conv3x3_same_" + name, [ptr, i64, ptr, i64, ptr, i64, i64, i64, ctypes.c_int, ptr,
                                                      ctypes.c_int, i64, i64], ctypes.c_int),
            native.function("conv3x3_same_wgrad_" + name, [ptr, i64, ptr, i64, ptr, i64, i64, i64, ctypes.c_int],
                            ctypes.c_int))
        rows[numpy.dtype(dtype)] = native.function("shifted_conv_" + name, [ptr, i64, ptr, i64, ptr, i64, ptr]
                                                   + [i64] * 9 + [ctypes.c_int, ptr, ctypes.c_int])
        kernels[numpy.dtype(dtype)] = tuple(
            native.function(prefix + name, [ptr, i64, ptr, i64, ptr, i64, ptr, i64, ctypes.c_int])
            for prefix in ("shifted_matmul_", "shifted_matmul_t_"))
    return kernels, rows, native.function("shifted_vector_bytes", [], ctypes.c_int)()


_direct, _direct_rows, _vector_bytes = _load_direct()
_use_direct = bool(_direct) and config.get("direct")


def _same3_arrays(op, x, k, out, k_shape, out_shape):
    if not (_use_direct and x.dtype in _same3 and x.ndim == 4 and k.dtype == x.dtype == out.dtype
            and x.flags.c_contiguous and k.flags.c_contiguous and out.flags.c_contiguous
            and k.shape == k_shape and out.shape == out_shape):
        raise ValueError(f"blas.{op}: expected C-contiguous arrays of one float dtype, x (n, H, W, C), a kernel of "
                         f"shape {k_shape} and an output of shape {out_shape}; received x {x.shape} {x.dtype}, "
                         f"{k.shape} {k.dtype}, {out.shape} {out.dtype} (or the compiled kernels are off)")


def conv3x3_same(x, w, y, bias=None, relu: bool = False, accumulate: bool = False, rows=None) -> bool:
    """y (+)= x ⋆ W, a 3×3 "same" convolution (stride 1, dilation 1, one pixel of zeros around), computed on
    the unpadded NHWC images (no grid, no copy: ``_shifted.c``, conv3x3_same); then max(y + bias, 0) with
    ``bias`` / ``relu`` as in :func:`shifted_matmul`. x (n, H, W, C), w (3, 3, C, O), y (n, H, W, O).
    ``rows`` = (begin, end): only those of the n·H output rows (the rest of y untouched), so that threads
    can share the rows of one image.

    False, with nothing done, where the kernels do not take the shape (more than 4 vectors of outputs, or W
    no multiple of their tile widths); call it on an empty batch to ask."""
    n, h, wd, c = x.shape
    r0, r1 = (0, n * h) if rows is None else rows
    if not 0 <= r0 <= r1 <= n * h:
        raise ValueError(f"blas.conv3x3_same: expected rows within [0, {n * h}], received {rows}")
    o = w.shape[-1]
    _same3_arrays("conv3x3_same", x, w, y, (3, 3, c, o), (n, h, wd, o))
    if bias is not None and (bias.shape != (o,) or bias.dtype != y.dtype or not bias.flags.c_contiguous):
        raise ValueError(f"blas.conv3x3_same: expected a contiguous bias of shape ({o},) and dtype {y.dtype}, "
                         f"received {bias.shape} {bias.dtype}")
    return _same3[y.dtype][0](x.ctypes.data, c, w.ctypes.data, o, y.ctypes.data, n, h, wd, int(accumulate),
                              None if bias is None else bias.ctypes.data, int(relu), r0, r1) == 0


def conv3x3_same_wgrad(x, g, dw, accumulate: bool = False) -> bool:
    """dW (+)= Σ_{n,i,j} x[n, i + a − 1, j + b − 1] ⊗ g[n, i, j] over the taps inside the image: the weight
    gradient of :func:`conv3x3_same`, on the unpadded images. dw (3, 3, C, O). False, doing nothing, where O
    is no multiple of the vector's lanes or more than 4 vectors — more than 2 with AVX2, where the grid path's
    tiles are faster there (any C: the channels that the tiles' channel counts leave over go one at a time)."""
    n, h, wd, c = x.shape
    o = g.shape[-1]
    _same3_arrays("conv3x3_same_wgrad", x, dw, g, (3, 3, c, o), (n, h, wd, o))
    return _same3[g.dtype][1](x.ctypes.data, c, g.ctypes.data, o, dw.ctypes.data, n, h, wd, int(accumulate)) == 0


def direct_available(dtype=numpy.float32) -> bool:
    """True when the compiled shifted-product kernels were built and are switched on for this dtype."""
    return _use_direct and numpy.dtype(dtype) in _direct


def set_direct(enabled: bool) -> bool:
    """Switch the compiled kernels on or off (off: one BLAS GEMM per tap); returns the previous setting.
    Switching on does nothing where the kernels were not built."""
    global _use_direct
    previous, _use_direct = _use_direct, bool(enabled) and bool(_direct)
    return previous


def direct_lanes(dtype) -> int:
    """Elements of this dtype in the kernels' vector: the output channels must be a multiple of it."""
    return _vector_bytes // numpy.dtype(dtype).itemsize if _vector_bytes else 0


def _direct_kernel(which: int, dtype, n: int):
    """The compiled kernel (0: shifted_matmul, 1: shifted_matmul_t) for N output columns, or None."""
    if not _use_direct or dtype not in _direct or n % (_vector_bytes // dtype.itemsize):
        return None
    return _direct[dtype][which]


config.register_applier("direct", set_direct)

"""Convolutions, channels_last, with Keras 3's ``keras.ops`` signatures.

Every convolution is computed on 4-D NHWC arrays (a 1-D one gets a height of 1)::

    y[n, i, j, o] = Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, o]

with W stored as Keras stores it, (kh, kw, in, out), strides s, dilation d and x_pad the
input zero-padded by (pad_top, pad_left) before and as much as the windows need after.
Its derivatives, written next to each Function below:

    dL/dW[a, b, c, o] = Σ_{n, i, j} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · gy[n, i, j, o]
    dL/dx_pad[n, p, q, c] = Σ_{i·s_h + a·d_h = p} Σ_{j·s_w + b·d_w = q} Σ_o gy[n, i, j, o] · W[a, b, c, o]

How it is computed (measured, see docs/performance.md), first match wins where the compiled kernels of
``_shifted.c`` are built: a 3×3 "same" convolution with up to 64 outputs runs on the **unpadded images**
(``blas.conv3x3_same``: the taps that would read the zero border are skipped, nothing is copied; dx and
dW likewise); a strided one with up to 128 × 128 channels reads x at stride s in the kernels' tiles
(:func:`_strided_forward`) and its dx goes phase by phase (:func:`_strided_input_grad`). Else, stride 1:
the **shifted GEMMs** of :class:`_Grid` — the padded images laid end to end as one matrix, on
which each tap of the kernel is a row offset, so y = Σ_taps x_grid[p + off] · W[tap] is kh·kw GEMMs on
contiguous rows accumulated in place (BLAS called directly, ``blas.py``), with no im2col at all; both
gradients are shifted GEMMs too (dx with the flipped kernel on the padded gy, dW with x's grid against
gy). Otherwise (strides, or a BLAS that cannot be called directly) the **im2col** path: the batch is cut
into chunks of a few images whose "columns" (n, Ho, Wo, kh, kw, C) fit in the cache; each chunk is
gathered by kh strided copies whose innermost run is kw·C long, then multiplied by W as one GEMM; the
input gradient of a stride-1 convolution is a stride-1 convolution of the zero-padded output gradient
with the flipped, transposed kernel, and with strides it is a "col2im" add of gy·Wᵀ, tap by tap, into a
zeroed chunk buffer. ``set_strategy("im2col")`` (or ``NEURONKA_CONV=im2col``) forces the second path;
the tests compare the two.

Either way the chunks are shared among worker threads, one per BLAS thread, each taking the next chunk
as it comes free, while BLAS runs single-threaded inside each (NumPy and ctypes release the GIL in
copies and GEMMs; the BLAS limit needs the optional ``threadpoolctl``, without which the chunks run
serially).
"""
from __future__ import annotations

import contextlib
import itertools
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy

from .. import config
from ..autograd import Function, Tensor, _as_array
from ..backend import get_array_module
from . import blas

# ----------------------------------------------------------------------------------
# argument checking shared by conv, pooling and image ops
# ----------------------------------------------------------------------------------
_SPATIAL_NAMES = {1: "(batch, width, channels)", 2: "(batch, height, width, channels)"}


def normalize_tuple(value, n: int, name: str, fn: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, each >= ``minimum``, as a tuple of ``n`` ints."""
    given = value
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
        ok = len(out) == n and all(int(v) == v for v in value) and not any(isinstance(v, bool) for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok or any(v < minimum for v in out):
        raise ValueError(f"{fn}: expected {name} to be an integer >= {minimum} or a tuple of {n} such integers, "
                         f"received {name}={given!r}")
    return out


def normalize_padding(padding, fn: str, allowed=("valid", "same")) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in allowed:
        expected = " or ".join(repr(a) for a in allowed)
        raise ValueError(f"{fn}: expected padding {expected}, received padding={padding!r}")
    return p


def normalize_data_format(data_format, fn: str) -> str:
    """``data_format`` checked and lower-cased; None gives ``keras.config.image_data_format()`` (as Keras)."""
    if data_format is None:
        from ..config import image_data_format  # noqa: PLC0415

        return image_data_format()
    df = data_format.lower() if isinstance(data_format, str) else data_format
    if df not in ("channels_last", "channels_first"):
        raise ValueError(f"{fn}: expected data_format 'channels_last' or 'channels_first', "
                         f"received data_format={data_format!r}")
    return df


def check_rank(shape, nd: int, fn: str, what: str, reason: str = "") -> None:
    if len(shape) != nd + 2:
        raise ValueError(f"{fn}: expected {what} of rank {nd + 2} {_SPATIAL_NAMES[nd]}{reason}, "
                         f"received shape {tuple(shape)}")


def to_channels_last(x, data_format):
    """Move the channel axis last (a differentiable transpose), or return x unchanged."""
    if data_format == "channels_last":
        return x
    from .math import transpose

    nd = len(_shape(x))
    return transpose(x, (0, *range(2, nd), 1))


def from_channels_last(y, data_format):
    if data_format == "channels_last":
        return y
    from .math import transpose

    nd = y.ndim
    return transpose(y, (0, nd - 1, *range(1, nd - 1)))


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else numpy.shape(x)


def _float_pair(x, k):
    """x and kernel as Tensors of one float dtype (the input's if it is a float, as Keras computes)."""
    from .math import cast

    x = x if isinstance(x, Tensor) else Tensor(_as_array(x))
    k = k if isinstance(k, Tensor) else Tensor(_as_array(k))
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = cast(x, k.dtype if numpy.issubdtype(k.dtype, numpy.floating) else "float32")
    if k.dtype != x.dtype:
        k = cast(k, x.dtype)
    return x, k


# ----------------------------------------------------------------------------------
# output sizes and paddings (Keras / TensorFlow rules)
# ----------------------------------------------------------------------------------
def conv_output_length(length: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Keras's output length: ceil(L/s) for "same"/"causal", ceil((L − k_eff + 1)/s) for "valid",
    k_eff = (k − 1)·d + 1."""
    k_eff = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-length // stride)
    return max(-(-(length - k_eff + 1) // stride), 0)


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" split: total = max((ceil(L/s) − 1)·s + k_eff − L, 0), the extra one after."""
    k_eff = (kernel - 1) * dilation + 1
    total = max((-(-length // stride) - 1) * stride + k_eff - length, 0)
    return total // 2, total - total // 2


def conv_transpose_output_length(length: int, kernel: int, stride: int, padding: str,
                                 output_padding: int | None = None, dilation: int = 1) -> int:
    """Keras's transposed-convolution length (k_eff = (k − 1)·d + 1):
    valid: L·s + max(k_eff − s, 0), or (L − 1)·s + k_eff + output_padding;
    same: L·s, or (L − 1)·s + k_eff mod 2 + output_padding."""
    k_eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        return length * stride + max(k_eff - stride, 0) if output_padding is None else \
            (length - 1) * stride + k_eff + output_padding
    return length * stride if output_padding is None else (length - 1) * stride + k_eff % 2 + output_padding


def _conv_transpose_crop(kernel: int, stride: int, padding: str, output_padding: int | None, dilation: int) -> int:
    """Where Keras's transposed output starts inside the full (L − 1)·s + k_eff one (the JAX backend's rule).

    JAX pads the stride-dilated input by (k_eff − 1 − crop) on the left, with
    valid: crop = 0; same: crop = k_eff − 1 − min(ceil(P/2), k_eff − 1), where
    P = s + k_eff − 2 (no output_padding) or k_eff + k_eff mod 2 − 2 + output_padding.
    It is also the left padding of the convolution this one transposes.
    """
    k_eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        return 0
    total = stride + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
    return k_eff - 1 - min(-(-total // 2), k_eff - 1)


# ----------------------------------------------------------------------------------
# geometry of one 2-D convolution on NHWC arrays
# ----------------------------------------------------------------------------------
class Geometry:
    """Sizes of x (n, h, w, c) ⋆ W (kh, kw, c, o) → y (n, ho, wo, o).

    ``pad`` = (top, left): x_pad[p] = x[p − top]; the windows read rows
    i·s + a·d for i < ho, a < kh, i.e. the first ``hp`` rows of x_pad.
    """

    __slots__ = ("h", "w", "ho", "wo", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "hp", "wp")

    def __init__(self, in_hw, out_hw, kernel_hw, strides, dilation, pad):
        self.h, self.w = in_hw
        self.ho, self.wo = out_hw
        self.kh, self.kw = kernel_hw
        self.sh, self.sw = strides
        self.dh, self.dw = dilation
        self.pt, self.pl = pad
        self.hp = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        self.wp = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1

    def needs_copy(self) -> bool:
        """True unless x itself holds the padded input (no padding read)."""
        return self.pt != 0 or self.pl != 0 or self.hp > self.h or self.wp > self.w

    def is_pointwise(self) -> bool:
        """A 1×1, stride-1, unpadded convolution: y = x @ W, no gathering at all."""
        return (self.kh, self.kw, self.sh, self.sw) == (1, 1, 1, 1) and not self.needs_copy() \
            and (self.ho, self.wo) == (self.h, self.w)

    def transposed(self) -> Geometry:
        """The stride-1 convolution that computes dL/dx from gy with the flipped kernel.

        dx[p] = Σ_a gy[p + pt − a·d] W[a] = Σ_a' gy_pad[p + a'·d] W[k − 1 − a'],
        gy_pad being gy shifted by (k − 1)·d − pt.
        """
        assert self.sh == 1 and self.sw == 1
        return Geometry((self.ho, self.wo), (self.h, self.w), (self.kh, self.kw), (1, 1), (self.dh, self.dw),
                        ((self.kh - 1) * self.dh - self.pt, (self.kw - 1) * self.dw - self.pl))


def conv_geometry(in_hw, kernel_hw, strides, dilation, padding) -> Geometry:
    """The geometry of a Keras convolution ("valid", "same" or "causal", which pads only before)."""
    out, pad = [], []
    for length, k, s, d in zip(in_hw, kernel_hw, strides, dilation):
        out.append(conv_output_length(length, k, s, padding, d))
        if padding == "same":
            pad.append(same_padding(length, k, s, d)[0])
        elif padding == "causal":
            pad.append((k - 1) * d)
        else:
            pad.append(0)
    return Geometry(in_hw, out, kernel_hw, strides, dilation, pad)


# ----------------------------------------------------------------------------------
# threads and scratch buffers
# ----------------------------------------------------------------------------------
_CHUNK_BYTES = 3_000_000  # scratch per chunk (padded input + im2col columns): stays in the cache
_SHIFTED_CHUNK_BYTES = 1_000_000  # scratch per chunk of the shifted GEMMs (grids of x, y, gy): in L2
_SCRATCH_KEEP = 64 << 20  # larger scratch buffers are allocated per call, not kept per thread
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None  # threadpoolctl controller of the BLAS libraries, False when unavailable
_lock = threading.Lock()


def _blas_controller():
    global _blas
    if _blas is None:
        with _lock:
            if _blas is None:
                try:  # optional: without threadpoolctl the chunks run serially, BLAS threaded
                    import threadpoolctl

                    ctrl = threadpoolctl.ThreadpoolController().select(user_api="blas")
                    _blas = ctrl if ctrl.lib_controllers else False
                except Exception:  # any failure to inspect the BLAS libraries means: no thread control
                    _blas = False
    return _blas


def num_workers() -> int:
    """Threads that share a batch: the BLAS thread count (1 without threadpoolctl).

    ``NEURONKA_CONV_THREADS`` overrides it (1 runs the chunks serially, BLAS threaded).
    """
    threads = config.get("conv_threads")
    if threads:
        return int(threads)
    ctrl = _blas_controller()
    if not ctrl:
        return 1
    return max(1, min(lc.num_threads for lc in ctrl.lib_controllers))


def scratch(name: str, shape, dtype):
    """A per-thread reusable buffer (its old contents are garbage): no page faults on every call.

    Buffers above ``_SCRATCH_KEEP`` bytes (one huge image's columns) are not kept.
    """
    nbytes = math.prod(shape) * numpy.dtype(dtype).itemsize
    if nbytes > _SCRATCH_KEEP:
        return numpy.empty(shape, dtype)
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.size < nbytes:
        buf = bufs[name] = numpy.empty(max(nbytes, 64), numpy.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def _get_pool(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < threads:
            _pool, _pool_size = ThreadPoolExecutor(threads, thread_name_prefix="neuronka-conv"), threads
        return _pool


def run_parallel(tasks) -> list:
    """Run ``fn(*args)`` for each (fn, args) of ``tasks``, the first in this thread, the others in the pool;
    their results in order. For work that releases the GIL and does not call BLAS (compiled kernels)."""
    if len(tasks) == 1:
        fn, args = tasks[0]
        return [fn(*args)]
    pool = _get_pool(len(tasks) - 1)
    futures = [pool.submit(fn, *args) for fn, args in tasks[1:]]
    fn, args = tasks[0]
    return [fn(*args)] + [f.result() for f in futures]


def map_batch(fn, n: int, bytes_per_image: int, xp=numpy, chunk_bytes: int | None = None) -> list:
    """Call ``fn(n0, n1)`` on chunks [n0, n1) covering [0, n); return the non-None results in chunk order.

    Chunks hold about ``chunk_bytes`` (default ``_CHUNK_BYTES``) of scratch; ``num_workers()`` threads take
    the next chunk as they come free (a core slowed by another process then does fewer chunks instead of
    holding up the rest), BLAS being limited to one thread meanwhile. The results keep the chunks' order
    whichever thread ran them, so sums over them are the same from run to run.
    """
    workers = num_workers() if xp is numpy else 1
    nb = max(1, min((chunk_bytes or _CHUNK_BYTES) // max(bytes_per_image, 1), -(-n // workers)))
    n_chunks = -(-n // nb)
    workers = min(workers, n_chunks)
    if workers == 1:
        return [r for n0 in range(0, n, nb) if (r := fn(n0, min(n0 + nb, n))) is not None]
    results = [None] * n_chunks
    next_chunk = itertools.count()  # next() on it is atomic under the GIL

    def run():
        while (k := next(next_chunk)) < n_chunks:
            results[k] = fn(k * nb, min(k * nb + nb, n))

    pool = _get_pool(workers - 1)
    ctrl = _blas_controller()
    with ctrl.limit(limits=1) if ctrl else contextlib.nullcontext():
        futures = [pool.submit(run) for _ in range(1, workers)]
        run()
        for f in futures:
            f.result()
    return [r for r in results if r is not None]


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


def _sum(parts):
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total


# ----------------------------------------------------------------------------------
# stride 1: the shifted-GEMM convolution (no im2col at all)
# ----------------------------------------------------------------------------------
_STRATEGY = config.get("conv_strategy")  # "auto", "grid" or "im2col" (see set_strategy)
_STRATEGIES = ("auto", "grid", "im2col")


def set_strategy(name: str) -> str:
    """Choose how convolutions run: ``"auto"`` (the fastest path that applies: 3×3 "same" on the unpadded
    images, shifted products on a padded grid, strided compiled kernels, im2col), ``"grid"`` (stride 1 always
    on the padded grid, strides by im2col) or ``"im2col"`` (always gather the columns); returns the previous
    choice. For tests and benchmarks (``NEURONKA_CONV`` sets it at import)."""
    global _STRATEGY
    if name not in _STRATEGIES:
        raise ValueError(f"set_strategy: expected one of {_STRATEGIES}, received {name!r}")
    previous, _STRATEGY = _STRATEGY, name
    return previous


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


def _shifted_grid(g: Geometry, *arrays, max_junk: float | None = None) -> _Grid | None:
    """The padded input's grid when the shifted GEMMs apply, else None: stride 1, NumPy arrays of a float
    dtype whose BLAS GEMM can be called directly, not forced off, and (if ``max_junk``) at most that many
    grid pixels per output pixel.

    Measured on the 2-core machine (``python benchmarks/paths.py --only conv``): the shifted GEMMs
    beat im2col on every 3×3 layer of a CIFAR ResNet, forward and backward. On smaller grids the junk
    pixels grow (4×4: 25 grid pixels per 16 outputs), hence the forward's ``max_junk`` of 1.5 where the
    gather takes over.
    """
    if not (_STRATEGY in ("auto", "grid") and g.sh == 1 and g.sw == 1 and blas.available(arrays[0].dtype)
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

    map_batch(chunk, n, grid.bytes_per_image(c + o, x.itemsize), chunk_bytes=_SHIFTED_CHUNK_BYTES)
    return y


def _borderless(g: Geometry, x, w, o: int, wgrad: bool = False) -> bool:
    """Whether the 3×3 "same" kernels that read the unpadded images (``blas.conv3x3_same``, no grid placement;
    with ``wgrad`` also ``conv3x3_same_wgrad``) take this convolution with ``o`` output channels: stride 1,
    dilation 1, padding 1 all round, NumPy float arrays of one dtype, not forced off, and shapes the kernels
    cover (asked on an empty batch)."""
    if not (_STRATEGY == "auto" and (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl) == (3, 3, 1, 1, 1, 1, 1, 1)
            and (g.ho, g.wo) == (g.h, g.w) and type(x) is numpy.ndarray and type(w) is numpy.ndarray
            and x.dtype.kind == "f" and x.dtype == w.dtype and blas.direct_available(x.dtype)):
        return False
    c = x.shape[3]
    empty, k, out = numpy.empty((0, g.h, g.w, c), x.dtype), numpy.empty((3, 3, c, o), x.dtype), \
        numpy.empty((0, g.h, g.w, o), x.dtype)
    return blas.conv3x3_same_wgrad(empty, out, k) if wgrad else blas.conv3x3_same(empty, k, out)


def _borderless_forward(x, w, g: Geometry, bias=None, relu=False):
    """y = x ⋆ W of a 3×3 "same" convolution on the unpadded images, chunk by chunk on the worker threads."""
    n, o = x.shape[0], w.shape[3]
    x, w = numpy.ascontiguousarray(x), numpy.ascontiguousarray(w)
    y = numpy.empty((n, g.ho, g.wo, o), x.dtype)

    def chunk(n0, n1):
        if not blas.conv3x3_same(x[n0:n1], w, y[n0:n1], bias, relu):  # _borderless asked first
            raise RuntimeError("conv3x3_same refused a shape that _borderless accepted")

    map_batch(chunk, n, g.h * g.w * (x.shape[3] + o) * x.itemsize, chunk_bytes=_SHIFTED_CHUNK_BYTES)
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

    parts = map_batch(chunk, n, g.h * g.w * (c + o) * x.itemsize, chunk_bytes=_SHIFTED_CHUNK_BYTES)
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
    map_batch(chunk, n, per_image + g.ho * g.wo * o * x.itemsize, chunk_bytes=_SHIFTED_CHUNK_BYTES)
    return y


def _strided_direct(g: Geometry, x, w) -> bool:
    """Whether :func:`_strided_forward` applies: one stride s > 1 on both axes, NumPy float arrays, the compiled
    kernels built for the dtype and the output channels (a multiple of the vector's lanes), not forced off;
    at most 128 × 128 channels in × out and an image per worker thread.

    Measured, forward ms compiled / im2col, 2 threads: batch 128, 3×3, 16 → 32 @34 1.31 / 2.67, 32 → 64 @18
    1.20 / 2.10; batch 16, 7×7 3 → 64 @230 12.0 / 26.2; batch 8, 3×3 128 → 128 @58 6.0 / 8.2, but 256 → 256
    @30 8.5 / 8.1, 512 → 512 @16 11.0 / 7.4, 1×1 1024 → 2048 @14 25.2 / 7.1 (larger kernels leave the caches and
    BLAS's GEMM wins); batch 1, 128 → 128 @58 1.36 / 1.18 (one image: one thread, where BLAS uses two)."""
    return (_STRATEGY == "auto" and g.sh == g.sw > 1 and type(x) is numpy.ndarray and type(w) is numpy.ndarray
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

    map_batch(chunk, n, (gh * gw * o + h * wd * c) * gy.itemsize, chunk_bytes=_SHIFTED_CHUNK_BYTES)
    return dx


def _fast_forward(x, w, g: Geometry, bias=None, relu=False):
    """y = x ⋆ W (then max(y + bias, 0)) on the first of the compiled / shifted paths that applies: the 3×3
    "same" kernels on the unpadded images, the shifted products on a padded grid, the strided compiled
    kernels; None where none does (the caller gathers columns instead)."""
    o = w.shape[3]
    if _borderless(g, x, w, o):
        return _borderless_forward(x, w, g, bias, relu)
    if (grid := _shifted_grid(g, x, w, max_junk=1.5)) is not None:
        return _shifted_forward(x, w, g, grid, bias, relu)
    if _strided_direct(g, x, w):
        return _strided_forward(x, w, g, bias, relu)
    return None


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
    parts = map_batch(chunk, n, per_image, chunk_bytes=_SHIFTED_CHUNK_BYTES)
    return dx, (_sum(parts).reshape(w.shape) if need_w else None)


def conv_forward(x, w, g: Geometry, bias=None, relu: bool = False):
    """y = x ⋆ W on NHWC arrays: per chunk, im2col then (nb·ho·wo, kh·kw·c) @ (kh·kw·c, o).

    With ``bias`` (o,) and / or ``relu``: max(x ⋆ W + bias, 0), inside the compiled kernels' store where
    the shifted path runs (inference plans fold batch norm and ReLU into it: ``models/replay.py``)."""
    xp = get_array_module(x)
    n, c, o = x.shape[0], x.shape[3], w.shape[3]
    if bias is not None or relu:
        bias_c = xp.ascontiguousarray(bias, dtype=x.dtype) if bias is not None else None
        if (y := _fast_forward(x, w, g, bias_c, relu)) is not None:
            return y
        y = conv_forward(x, w, g)
        if bias is not None:
            y += bias
        return xp.maximum(y, 0, out=y) if relu else y
    w2 = w.reshape(-1, o)
    if g.is_pointwise():  # one big BLAS-threaded GEMM, nothing to gather
        return (x.reshape(-1, c) @ w2).reshape(n, g.ho, g.wo, o)
    if (y := _fast_forward(x, w, g)) is not None:
        return y
    y = xp.empty((n, g.ho, g.wo, o), x.dtype)

    def chunk(n0, n1):
        xp.matmul(_columns(x, n0, n1, g), w2, out=y[n0:n1].reshape(-1, o))

    map_batch(chunk, n, _chunk_bytes(g, c, x.itemsize), xp)
    return y


def conv_backward(x, w, gy, g: Geometry, need_x=True, need_w=True):
    """(dL/dx, dL/dW) of y = x ⋆ W in one pass over the batch:

    dW = Σ_chunks colsᵀ · gy, i.e. dW[a, b, c, o] = Σ_{n,i,j} x_pad[n, i·s + a·d, j·s + b·d, c] gy[n, i, j, o];
    dx by :class:`_InputGrad`.
    """
    xp = get_array_module(gy)
    n, c, o = x.shape[0], x.shape[3], gy.shape[3]
    if g.is_pointwise():
        gy2 = gy.reshape(-1, o)
        dx = (gy2 @ w.reshape(c, o).T).reshape(x.shape) if need_x else None
        dw = (x.reshape(-1, c).T @ gy2).reshape(w.shape) if need_w else None
        return dx, dw
    if (not need_w or _borderless(g, x, w, o, wgrad=True)) and (not need_x or _borderless(g, gy, w, c)):
        return _borderless_backward(x, w, gy.astype(x.dtype, copy=False), g, need_x, need_w)
    if (grid := _shifted_grid(g, x, w, gy)) is not None:
        # the gradient in the input's dtype (a float64 gy reaching a float32 layer is cast, as torch keeps
        # every gradient in its tensor's dtype); any strides: the grid copies it anyway
        return _shifted_backward(x, w, gy.astype(x.dtype, copy=False), g, grid, need_x, need_w)
    # the compiled phases where every phase has a tap (kernel ≥ stride; a 1×1 stride-2 one: col2im, 1.05 ms
    # against 1.48 at 64 → 128 @56, batch 8); 3×3 stride 2, batch 128, 16 → 32 @34: 3.86 ms against 4.83
    strided_dx = need_x and g.dh == g.dw == 1 and g.kh >= g.sh and g.kw >= g.sw \
        and _strided_direct(g, gy, w.transpose(0, 1, 3, 2))
    dx = _strided_input_grad(w, gy.astype(x.dtype, copy=False), g, x.shape) if strided_dx else \
        xp.empty(x.shape, x.dtype) if need_x else None
    input_grad = _InputGrad(w, g) if need_x and not strided_dx else None

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


# ----------------------------------------------------------------------------------
# Functions
# ----------------------------------------------------------------------------------
class Conv(Function):
    """y = x ⋆ W on NHWC arrays (``geometry`` set by :func:`conv`)."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return conv_forward(x, w, self.geometry)

    def backward(self, gy):
        # dL/dx[n, p, q, c] = Σ_{taps landing on (p, q)} Σ_o gy[n, i, j, o] W[a, b, c, o]
        # dL/dW[a, b, c, o] = Σ_{n,i,j} x_pad[n, i·s + a·d, j·s + b·d, c] gy[n, i, j, o]
        return conv_backward(self.x, self.w, gy, self.geometry, self.inputs[0].requires_grad,
                             self.inputs[1].requires_grad)


class ConvTranspose(Function):
    """y = x ⋆ᵀ K: the input gradient of the convolution y ⋆ K (kernel (kh, kw, out, in)) taken at x."""

    def forward(self, x, k):
        self.x, self.k = x, k
        return conv_transpose_forward(x, k, self.geometry)

    def backward(self, gy):
        # y = Aᵀx with A the convolution by K: dL/dx = A·gy = gy ⋆ K;  dL/dK = Σ cols(gy)ᵀ·x
        return conv_transpose_backward(self.x, self.k, gy, self.geometry, self.inputs[0].requires_grad,
                                       self.inputs[1].requires_grad)


class DepthwiseConv(Function):
    """M filters per input channel:

    y[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, m]
    """

    def forward(self, x, w):
        self.x, self.w = x, w
        g = self.geometry
        xp = get_array_module(x)
        n, c, m = x.shape[0], x.shape[3], w.shape[3]
        y = xp.empty((n, g.ho, g.wo, c, m), x.dtype)

        def chunk(n0, n1):
            xpad = padded_chunk(x, n0, n1, g)
            out = y[n0:n1]
            for t, win in enumerate(tap_views(xpad, g)):
                a, b = divmod(t, g.kw)
                if t == 0:
                    xp.multiply(win[..., None], w[a, b], out=out)
                else:
                    out += win[..., None] * w[a, b]

        map_batch(chunk, n, (g.hp * g.wp + 2 * g.ho * g.wo * m) * c * x.itemsize, xp)
        return y.reshape(n, g.ho, g.wo, c * m)

    def backward(self, gy):
        # dL/dW[a, b, c, m] = Σ_{n,i,j} x_pad[n, i·s + a·d, j·s + b·d, c] gy[n, i, j, c, m]
        # dL/dx_pad[n, i·s + a·d, j·s + b·d, c] += Σ_m gy[n, i, j, c, m] W[a, b, c, m]
        g, x, w = self.geometry, self.x, self.w
        xp = get_array_module(gy)
        n, c, m = x.shape[0], x.shape[3], w.shape[3]
        gy = gy.reshape(n, g.ho, g.wo, c, m)
        need_x, need_w = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        dx = xp.empty(x.shape, x.dtype) if need_x else None
        hq, wq = max(g.hp, g.pt + g.h), max(g.wp, g.pl + g.w)

        def chunk(n0, n1):
            nb, gyc = n1 - n0, gy[n0:n1]
            dw = None
            if need_w:
                xpad = padded_chunk(x, n0, n1, g)
                dw = xp.stack([xp.einsum("nijc,nijcm->cm", win, gyc) for win in tap_views(xpad, g)])
            if need_x:
                dxp = scratch("pad", (nb, hq, wq, c), x.dtype) if xp is numpy else xp.empty((nb, hq, wq, c), x.dtype)
                dxp.fill(0)
                for t, win in enumerate(tap_views(dxp, g)):
                    a, b = divmod(t, g.kw)
                    win += gyc[..., 0] * w[a, b, :, 0] if m == 1 else xp.einsum("nijcm,cm->nijc", gyc, w[a, b])
                dx[n0:n1] = dxp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w]
            return dw

        parts = map_batch(chunk, n, (g.hp * g.wp + 2 * g.ho * g.wo * m) * c * x.itemsize, xp)
        return dx, (_sum(parts).reshape(w.shape) if need_w else None)


# ----------------------------------------------------------------------------------
# keras.ops entry points
# ----------------------------------------------------------------------------------
def _prepare(fn, inputs, kernel, strides, padding, data_format, dilation_rate, channels: str, allow_causal=False):
    """Check the arguments, move channels last and view 1-D as 2-D; returns what the Functions need.

    ``channels`` names the kernel's last two axes, for the messages.
    """
    x_shape, k_shape = _shape(inputs), _shape(kernel)
    nd = len(k_shape) - 2
    if nd not in (1, 2):
        unsupported = " (3-D convolutions are not supported by neuronka)" if nd == 3 else ""
        raise ValueError(f"{fn}: expected a kernel of rank 3 (width, {channels}) or 4 (height, width, {channels})"
                         f"{unsupported}, received kernel shape {tuple(k_shape)}")
    data_format = normalize_data_format(data_format, fn)
    kernel_word = "1-D" if nd == 1 else "2-D"
    check_rank(x_shape, nd, fn, "inputs", f" for a {kernel_word} kernel")
    if data_format == "channels_first":
        x_shape = (x_shape[0], *x_shape[2:], x_shape[1])
    padding = normalize_padding(padding, fn, ("valid", "same", "causal") if allow_causal and nd == 1
                                else ("valid", "same"))
    strides = normalize_tuple(strides, nd, "strides", fn)
    dilation = normalize_tuple(dilation_rate, nd, "dilation_rate", fn)
    x, k = _float_pair(inputs, kernel)
    x = to_channels_last(x, data_format)
    if nd == 1:  # (n, w, c) -> (n, 1, w, c); kernel gets a height of 1
        from .math import reshape

        x = reshape(x, (x_shape[0], 1, *x_shape[1:]))
        k = reshape(k, (1, *k_shape))
        strides, dilation = (1, *strides), (1, *dilation)
    return x, k, nd, x_shape, strides, dilation, padding, data_format


def _finish(y, n, nd, data_format):
    if nd == 1:
        from .math import reshape

        y = reshape(y, (n, y.shape[2], y.shape[3]))
    return from_channels_last(y, data_format)


def _check_spatial(fn, x_shape, k_shape, dilation, padding, nd):
    """A "valid" window must fit in the input."""
    if padding != "valid":
        return
    for length, k, d in zip(x_shape[1:1 + nd], k_shape[:nd], dilation[-nd:]):
        if (k - 1) * d + 1 > length:
            raise ValueError(f"{fn}: with padding='valid' the dilated kernel ({(k - 1) * d + 1}) must fit in the "
                             f"input's spatial size {length}; received inputs of shape {tuple(x_shape)} and kernel "
                             f"of shape {tuple(k_shape)}")


def conv(inputs, kernel, strides=1, padding: str = "valid", data_format: str | None = None,
         dilation_rate=1) -> Tensor:
    """N-D convolution (N = 1 or 2), as ``keras.ops.conv``.

    y[n, i, j, o] = Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, o]

    ``inputs``: (batch, width, channels) or (batch, height, width, channels) (channels_last);
    ``kernel``: (kw, in, out) or (kh, kw, in, out). ``padding``: "valid", "same" (TensorFlow's
    split, the extra zero after) or, for 1-D, "causal" (all (k − 1)·d zeros before; an extension:
    Keras's ``ops.conv`` has no causal padding, its Conv1D pads before calling it).
    Output length: ceil(L/s) for "same"/"causal", ceil((L − k_eff + 1)/s) for "valid".
    A kernel with in = channels/G input channels (G > 1 dividing both channels and out) is a grouped
    convolution, as Keras's: group g maps input channels [g·in, (g + 1)·in) to outputs [g·out/G, (g + 1)·out/G).
    3-D convolutions are not supported.
    """
    fn = "conv"
    k_shape = _shape(kernel)
    groups = _groups(inputs, kernel, data_format)
    if groups > 1:
        return _grouped_conv(inputs, kernel, groups, strides, padding, data_format, dilation_rate)
    x, k, nd, x_shape, strides, dilation, padding, data_format = _prepare(
        fn, inputs, kernel, strides, padding, data_format, dilation_rate, "in_channels, out_channels",
        allow_causal=True)
    if x_shape[-1] != k_shape[-2]:
        raise ValueError(f"conv: the inputs have {x_shape[-1]} channels but the kernel expects {k_shape[-2]} "
                         f"(kernel shape {tuple(k_shape)}: (..., in_channels, out_channels)); received inputs of "
                         f"shape {tuple(_shape(inputs))}")
    _check_spatial(fn, x_shape, k_shape, dilation, padding, nd)
    g = conv_geometry(x.shape[1:3], k.shape[:2], strides, dilation, padding)
    return _finish(Conv.apply(x, k, geometry=g), x_shape[0], nd, data_format)


def _groups(inputs, kernel, data_format) -> int:
    """G of a grouped convolution (input channels = G × the kernel's), or 1."""
    x_shape, k_shape = _shape(inputs), _shape(kernel)
    if len(k_shape) < 3 or len(x_shape) != len(k_shape):
        return 1
    channels = x_shape[1] if normalize_data_format(data_format, "conv") == "channels_first" else x_shape[-1]
    k_in, k_out = k_shape[-2], k_shape[-1]
    if k_in and channels != k_in and channels % k_in == 0 and k_out % (channels // k_in) == 0:
        return channels // k_in
    return 1


def _grouped_conv(inputs, kernel, groups, strides, padding, data_format, dilation_rate) -> Tensor:
    """conv of each of ``groups`` channel slices with its slice of the kernel's outputs, concatenated."""
    from .math import concatenate, reshape, split  # noqa: PLC0415

    k_shape = _shape(kernel)
    if k_shape[-2] == 1 and padding != "causal":  # one input channel per group: a depthwise convolution,
        # kernel (..., 1, G·M) read as (..., G, M) (output channel g·M + m in both)
        depthwise = reshape(kernel, (*k_shape[:-2], groups, k_shape[-1] // groups))
        return depthwise_conv(inputs, depthwise, strides, padding, data_format, dilation_rate)
    axis = 1 if normalize_data_format(data_format, "conv") == "channels_first" else -1
    xs, ks = split(inputs, groups, axis=axis), split(kernel, groups, axis=-1)
    return concatenate([conv(x, k, strides, padding, data_format, dilation_rate) for x, k in zip(xs, ks)], axis=axis)


def depthwise_conv(inputs, kernel, strides=1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate=1) -> Tensor:
    """Depthwise convolution, as ``keras.ops.depthwise_conv``: every input channel c has its own
    ``depth_multiplier`` filters, output channel c·M + m.

    y[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, m]

    ``kernel``: (kw, in, M) or (kh, kw, in, M). Padding and output sizes as :func:`conv`.
    """
    fn = "depthwise_conv"
    k_shape = _shape(kernel)
    x, k, nd, x_shape, strides, dilation, padding, data_format = _prepare(
        fn, inputs, kernel, strides, padding, data_format, dilation_rate, "in_channels, depth_multiplier")
    if x_shape[-1] != k_shape[-2]:
        raise ValueError(f"depthwise_conv: the inputs have {x_shape[-1]} channels but the kernel expects "
                         f"{k_shape[-2]} (kernel shape {tuple(k_shape)}: (..., in_channels, depth_multiplier)); "
                         f"received inputs of shape {tuple(_shape(inputs))}")
    _check_spatial(fn, x_shape, k_shape, dilation, padding, nd)
    g = conv_geometry(x.shape[1:3], k.shape[:2], strides, dilation, padding)
    return _finish(DepthwiseConv.apply(x, k, geometry=g), x_shape[0], nd, data_format)


def conv_transpose(inputs, kernel, strides=1, padding: str = "valid", output_padding=None,
                   data_format: str | None = None, dilation_rate=1) -> Tensor:
    """Transposed convolution, as ``keras.ops.conv_transpose``: the adjoint of :func:`conv`.

    y = Aᵀx, where A is the convolution by ``kernel`` that maps y's shape to x's; the
    ``kernel`` is laid out (kw, out, in) or (kh, kw, out, in) as Keras stores it.
    Output length (k_eff = (k − 1)·d + 1): "valid": L·s + max(k_eff − s, 0);
    "same": L·s; with ``output_padding`` p: (L − 1)·s + k_eff + p ("valid") or
    (L − 1)·s + k_eff mod 2 + p ("same").
    """
    fn = "conv_transpose"
    k_shape = _shape(kernel)
    x, k, nd, x_shape, strides, dilation, padding, data_format = _prepare(
        fn, inputs, kernel, strides, padding, data_format, dilation_rate, "out_channels, in_channels")
    if x_shape[-1] != k_shape[-1]:
        raise ValueError(f"conv_transpose: the inputs have {x_shape[-1]} channels but the kernel expects "
                         f"{k_shape[-1]} (kernel shape {tuple(k_shape)}: (..., out_channels, in_channels)); "
                         f"received inputs of shape {tuple(_shape(inputs))}")
    if output_padding is not None:
        output_padding = normalize_tuple(output_padding, nd, "output_padding", fn, minimum=0)
        output_padding = (None, *output_padding) if nd == 1 else output_padding
    else:
        output_padding = (None, None)
    in_hw = x.shape[1:3]
    out_hw, crop = [], []
    for length, kk, s, d, p in zip(in_hw, k.shape[:2], strides, dilation, output_padding):
        out_hw.append(conv_transpose_output_length(length, kk, s, padding, p, d))
        crop.append(_conv_transpose_crop(kk, s, padding, p, d))
    # the convolution being transposed maps (out_hw, out channels) -> (in_hw, in channels)
    g = Geometry(tuple(out_hw), tuple(in_hw), k.shape[:2], strides, dilation, tuple(crop))
    return _finish(ConvTranspose.apply(x, k, geometry=g), x_shape[0], nd, data_format)


def reference_conv2d(x, w, strides: Sequence[int], dilation: Sequence[int], pad: Sequence[int], out_hw):
    """The plain definition, for tests: one big im2col (no chunks, no threads) and one einsum."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    ho, wo = out_hw
    hp, wp = (ho - 1) * strides[0] + (kh - 1) * dilation[0] + 1, (wo - 1) * strides[1] + (kw - 1) * dilation[1] + 1
    xpad = numpy.zeros((n, max(hp, pad[0] + h), max(wp, pad[1] + wd), c), x.dtype)
    xpad[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    cols = numpy.stack([numpy.stack([
        xpad[:, a * dilation[0]:a * dilation[0] + (ho - 1) * strides[0] + 1:strides[0],
             b * dilation[1]:b * dilation[1] + (wo - 1) * strides[1] + 1:strides[1]]
        for b in range(kw)], axis=3) for a in range(kh)], axis=3)
    return numpy.einsum("nijabc,abco->nijo", cols, w)


config.register_applier("conv_strategy", set_strategy)

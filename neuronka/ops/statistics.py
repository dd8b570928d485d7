"""Statistics of ``keras.ops`` (exported through :mod:`.reduction`): order statistics (quantile, median,
percentile and their nan-ignoring forms), histogram, bincount, corrcoef, correlate and the segment
reductions (segment_sum, segment_max, segment_min, segment_prod).

The order statistics sort the reduced values and interpolate between two neighbours of the sorted row;
their gradient flows back through the interpolation weights and the sorting permutation.
"""
from __future__ import annotations

import builtins
import math as _pymath
import numbers

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ..dtypes import result_type
from . import math as _m
from ._util import data, dtype_of, float_dtype_of, undifferentiable, wrap
from .math import _norm_axis

__all__ = [
    "median", "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile", "histogram", "bincount",
    "corrcoef", "correlate", "segment_sum", "segment_max", "segment_min", "segment_prod",
]


# ----------------------------------------------------------------------------------
# quantiles
# ----------------------------------------------------------------------------------
_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


class Quantile(Function):
    """The q-quantiles of x along its last axis (the public functions move the reduced axes there).

    The row sorted is xs; position p = q·(n − 1) (n: the count of non-NaN values when ``skip_nan``) lies
    between lo and hi; y = xs[lo] + w·(xs[hi] − xs[lo]), with lo, hi, w chosen by ``method``.
    """

    def forward(self, x):
        xp = get_array_module(x)
        n = x.shape[-1]
        self.order = xp.argsort(x, axis=-1, kind="stable")  # NaN sorts last
        xs = xp.take_along_axis(x, self.order, axis=-1)
        nan = xp.isnan(x)
        count = (~nan).sum(axis=-1, keepdims=True) if self.skip_nan else xp.full(x.shape[:-1] + (1,), n)
        q = xp.asarray(self.q, dtype=x.dtype).reshape(self.q.shape + (1,) * x.ndim)
        pos = q * (count - 1).astype(x.dtype)  # shape q.shape + x.shape[:-1] + (1,)
        lo, hi, w = _interpolation(xp, pos, self.method)
        top = xp.maximum(count - 1, 0)
        lo, hi = xp.clip(lo, 0, top).astype(numpy.int64), xp.clip(hi, 0, top).astype(numpy.int64)
        rows = xp.broadcast_to(xs, self.q.shape + xs.shape)
        v_lo, v_hi = xp.take_along_axis(rows, lo, axis=-1), xp.take_along_axis(rows, hi, axis=-1)
        y = (v_lo + w * (v_hi - v_lo))[..., 0]
        invalid = (count == 0) if self.skip_nan else nan.any(axis=-1, keepdims=True)
        self.lo, self.hi, self.w, self.valid, self.n = lo, hi, w, ~invalid, n
        return xp.where(invalid[..., 0], xp.asarray(numpy.nan, x.dtype), y) if invalid.any() else y

    def backward(self, gy):
        # y = (1 − w)·xs[lo] + w·xs[hi] and xs[j] = x[order[j]]:
        # dL/dx[order[lo]] += (1 − w)·gy, dL/dx[order[hi]] += w·gy (nothing where y is NaN)
        xp = get_array_module(gy)
        g = gy[..., None] * self.valid
        j = xp.arange(self.n)
        g_sorted = (j == self.lo) * (g * (1 - self.w)) + (j == self.hi) * (g * self.w)
        g_sorted = g_sorted.reshape((-1,) + g_sorted.shape[self.q.ndim:]).sum(axis=0)  # over the q's
        out = xp.zeros(g_sorted.shape, gy.dtype)
        xp.put_along_axis(out, self.order, g_sorted.astype(gy.dtype, copy=False), axis=-1)
        return out


def _interpolation(xp, pos, method):
    """(lo, hi, w) of each position for ``method``."""
    lo, hi = xp.floor(pos), xp.ceil(pos)
    zero = xp.zeros((), pos.dtype)
    if method == "linear":
        return lo, hi, pos - lo
    if method == "lower":
        return lo, lo, zero
    if method == "higher":
        return hi, hi, zero
    if method == "midpoint":
        return lo, hi, xp.asarray(0.5, pos.dtype)
    nearest = xp.round(pos)  # halves to even, as torch and NumPy
    return nearest, nearest, zero


def _quantile(op: str, x, q, axis, method, keepdims, skip_nan):
    arr = data(x)
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"{op}: expected method in {_QUANTILE_METHODS}, received method={method!r}")
    q_arr = numpy.asarray(data(q), dtype=numpy.float64)
    if q_arr.ndim > 1:
        raise ValueError(f"{op}: expected q to be a scalar or 1-D, received shape {q_arr.shape}")
    if q_arr.size and (numpy.isnan(q_arr).any() or q_arr.min() < 0 or q_arr.max() > 1):
        raise ValueError(f"{op}: expected q in [0, 1] (percentiles in [0, 100]), received {q_arr.tolist()}")
    compute = numpy.dtype(result_type(arr.dtype, "float32"))  # float16 and ints computed in float32
    out_dtype = numpy.dtype(dtype_of(arr, 0.0))
    if arr.dtype != compute:
        x = _m.cast(x, compute) if isinstance(x, Tensor) and arr.dtype.kind == "f" else arr.astype(compute)
    axes = _norm_axis(axis, arr.ndim, op)
    kept = [i for i in range(arr.ndim) if i not in axes]
    if list(kept) + list(axes) != list(range(arr.ndim)):
        x = _m.transpose(x, kept + list(axes))
    reduced = _pymath.prod([arr.shape[a] for a in axes])
    x = _m.reshape(x, [arr.shape[i] for i in kept] + [reduced])
    if reduced == 0:
        raise ValueError(f"{op}: expected a non-empty reduction, received shape {arr.shape} and axis={axis!r}")
    y = Quantile.apply(x, q=q_arr, method=method, skip_nan=skip_nan)
    if keepdims:
        y = _m.reshape(y, list(q_arr.shape) + [1 if i in axes else n for i, n in enumerate(arr.shape)])
    return _m.cast(y, out_dtype) if y.dtype != out_dtype else y


def quantile(x, q, axis=None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The q-th quantiles (q in [0, 1], a scalar or 1-D; a 1-D q puts its axis first) over ``axis``:
    the sorted values interpolated at position q·(n − 1) by ``method`` ("linear", "lower", "higher",
    "midpoint", "nearest"). NaN in a reduced row gives NaN. Integer inputs give floatx."""
    return _quantile("quantile", x, q, axis, method, keepdims, skip_nan=False)


def percentile(x, q, axis=None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """quantile at q / 100 (q in [0, 100])."""
    return _quantile("percentile", x, numpy.asarray(data(q), dtype=numpy.float64) / 100.0, axis, method, keepdims,
                     skip_nan=False)


def median(x, axis=None, keepdims: bool = False) -> Tensor:
    """quantile at 0.5: the middle value, or the mean of the two middle values."""
    return _quantile("median", x, 0.5, axis, "linear", keepdims, skip_nan=False)


def nanquantile(x, q, axis=None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """quantile over the non-NaN values (NaN where a row has none)."""
    return _quantile("nanquantile", x, q, axis, method, keepdims, skip_nan=True)


def nanpercentile(x, q, axis=None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """percentile over the non-NaN values."""
    return _quantile("nanpercentile", x, numpy.asarray(data(q), dtype=numpy.float64) / 100.0, axis, method,
                     keepdims, skip_nan=True)


def nanmedian(x, axis=None, keepdims: bool = False) -> Tensor:
    """median over the non-NaN values."""
    if axis == () or axis == []:
        return x if isinstance(x, Tensor) else wrap(data(x))
    return _quantile("nanmedian", x, 0.5, axis, "linear", keepdims, skip_nan=True)


# ----------------------------------------------------------------------------------
# counting
# ----------------------------------------------------------------------------------
def histogram(x, bins: int = 10, range=None) -> tuple[Tensor, Tensor]:  # noqa: A002 - Keras's argument name
    """(counts, bin_edges) of the 1-D x in ``bins`` equal bins over ``range`` (default: [min x, max x]); the
    last bin includes its right edge. Both are float, in x's dtype (floatx for integer x). Not
    differentiable."""
    if not isinstance(bins, numbers.Integral) or isinstance(bins, bool):
        raise TypeError(f"histogram: expected bins to be an int, received bins={bins!r}")
    if bins < 0:
        raise ValueError(f"histogram: expected a non-negative number of bins, received bins={bins}")
    if range:
        if not isinstance(range, tuple) or len(range) != 2:
            raise ValueError(f"histogram: expected range as a tuple (low, high), received range={range!r}")
        if range[1] < range[0]:
            raise ValueError(f"histogram: expected range[1] >= range[0], received range={range!r}")
    arr = data(x)
    if arr.ndim > 1:
        raise ValueError(f"histogram: expected a 1-D tensor, received shape {arr.shape}")
    if arr.dtype.kind not in "f":
        arr = arr.astype(float_dtype_of(arr))
    xp = get_array_module(arr)
    counts, edges = xp.histogram(arr, bins=int(bins), range=range)
    return undifferentiable("histogram", counts.astype(arr.dtype), x), undifferentiable("histogram", edges.astype(
        arr.dtype), x)


class WeightedBincount(Function):
    def forward(self, w):
        xp = get_array_module(w)
        y = xp.bincount(self.bins.reshape(-1), weights=w.reshape(-1), minlength=self.size)
        return y.reshape(self.shape).astype(self.dtype)

    def backward(self, gy):  # y_b = Σ_{i: x_i = b} w_i: dL/dw_i = gy[x_i]
        return gy.reshape(-1)[self.bins]


def bincount(x, weights=None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """y_b = the number of entries of x equal to b (or the sum of their ``weights``), b in [0, max(max x + 1,
    minlength)); a 2-D x counts each row (one length for all). Counts are int32; weighted sums take the
    promoted dtype of x and weights and are differentiable in the weights."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (neuronka has no sparse tensors); "
                         "received sparse=True")
    arr = data(x)
    xp = get_array_module(arr)
    if arr.dtype.kind not in "iub":
        raise ValueError(f"bincount: expected an integer tensor, received dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"bincount: expected a 1-D or 2-D tensor, received shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"bincount: expected non-negative values, received a minimum of {arr.min()}")
    length = builtins.max(int(arr.max()) + 1 if arr.size else 0, int(minlength))
    rows = arr.shape[0] if arr.ndim == 2 else 1
    bins = arr.astype(numpy.int64)
    if arr.ndim == 2:
        bins = bins + (xp.arange(rows, dtype=numpy.int64) * length)[:, None]
    shape = (rows, length) if arr.ndim == 2 else (length,)
    if weights is None:
        return wrap(xp.bincount(bins.reshape(-1), minlength=rows * length).reshape(shape).astype(numpy.int32))
    w_arr = data(weights)
    if w_arr.shape != arr.shape:
        raise ValueError(f"bincount: expected weights of x's shape {arr.shape}, received {w_arr.shape}")
    dtype = numpy.dtype(dtype_of(arr, w_arr))
    return WeightedBincount.apply(weights, bins=bins, size=rows * length, shape=shape, dtype=dtype)


# ----------------------------------------------------------------------------------
# correlations
# ----------------------------------------------------------------------------------
def corrcoef(x) -> Tensor:
    """Pearson correlation coefficients of the rows of x (each row a variable, each column an
    observation): C_ij = cov_ij / √(cov_ii·cov_jj). A 1-D x gives 1."""
    arr = data(x)
    if arr.ndim not in (1, 2):
        raise ValueError(f"corrcoef: expected a 1-D or 2-D tensor, received shape {arr.shape}")
    if arr.dtype.kind not in "fc":
        x = arr.astype("float64" if arr.dtype == numpy.int64 else float_dtype_of(arr))
    centered = _m.subtract(x, _m.mean(x, axis=-1, keepdims=True))
    if arr.ndim == 1:
        square = _m.sum(_m.multiply(centered, centered))
        return _m.divide(square, square)
    cov = _m.matmul(centered, _m.transpose(centered))
    norm = _m.sqrt(_m.sum(_m.multiply(centered, centered), axis=-1))  # √cov_ii
    return _m.divide(cov, _m.multiply(_m.expand_dims(norm, 1), _m.expand_dims(norm, 0)))


class Correlate(Function):
    """The full cross-correlation c_k = Σ_j x1[k − (m − 1) + j]·x2[j] (x1 zero outside), k in [0, n + m − 1),
    cropped to [start, start + length)."""

    def forward(self, x1, x2):
        xp = get_array_module(x1)
        m = x2.shape[0]
        self.x1_padded = xp.pad(x1, (m - 1, m - 1))
        self.x2, self.n = x2, x1.shape[0]
        full = xp.correlate(self.x1_padded, x2, mode="valid")
        return full[self.start:self.start + self.length]

    def backward(self, gy):
        # dL/dx2_j = Σ_k g_k·x1p[k + j]  (a correlation of x1p with g);
        # dL/dx1p_i = Σ_k g_k·x2[i − k]  (the full convolution of g with x2), then cropped to x1.
        xp = get_array_module(gy)
        m = self.x2.shape[0]
        g = xp.zeros(self.n + m - 1, gy.dtype)
        g[self.start:self.start + self.length] = gy
        g1 = xp.convolve(g, self.x2, mode="full")[m - 1:m - 1 + self.n]
        g2 = xp.correlate(self.x1_padded, g, mode="valid")
        return g1, g2


def correlate(x1, x2, mode: str = "valid") -> Tensor:
    """The cross-correlation of two 1-D tensors, c_k = Σ_j x1[k + j]·x2[j] with NumPy's offsets. ``mode``:
    "full" (length n + m − 1), "same" (length of x1, centred) or "valid" (length max − min + 1). Results
    are float32 (float64 for 64-bit inputs, float16 kept).

    Keras's torch backend squeezes a result of length 1 to a scalar; neuronka keeps shape (1,) as NumPy."""
    a1, a2 = data(x1), data(x2)
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: expected mode in ('valid', 'same', 'full'), received mode={mode!r}")
    if a1.ndim != 1 or a2.ndim != 1 or not a1.size or not a2.size:
        raise ValueError(f"correlate: expected two non-empty 1-D tensors, received shapes {a1.shape} and {a2.shape}")
    dtype = dtype_of(a1, a2)
    dtype = numpy.dtype("float64" if dtype in ("int64", "float64") else dtype if dtype == "float16" else "float32")
    x1 = _m.cast(x1, dtype) if a1.dtype != dtype else x1
    x2 = _m.cast(x2, dtype) if a2.dtype != dtype else x2
    n, m = a1.shape[0], a2.shape[0]
    full = n + m - 1
    length = {"full": full, "same": n, "valid": builtins.max(n, m) - builtins.min(n, m) + 1}[mode]
    return Correlate.apply(x1, x2, start=(full - length) // 2, length=length)


# ----------------------------------------------------------------------------------
# segment reductions
# ----------------------------------------------------------------------------------
class SegmentReduce(Function):
    """y_s = the sum / max / min / product of the rows x_i with segment_ids_i = s (ids outside [0, S)
    dropped). Empty segments give 0, −∞ (max; the dtype's minimum for integers), +∞ (min) or 1."""

    def forward(self, x):
        xp = get_array_module(x)
        shape = (self.num_segments,) + x.shape[1:]
        self.rows = x[self.keep]
        if self.kind == "sum":
            y = xp.zeros(shape, x.dtype)
            xp.add.at(y, self.ids, self.rows)
        elif self.kind == "prod":
            y = xp.ones(shape, x.dtype)
            xp.multiply.at(y, self.ids, self.rows)
        else:
            fill = _extreme_fill(x.dtype, lowest=self.kind == "max")
            y = xp.full(shape, fill, x.dtype)
            (xp.maximum if self.kind == "max" else xp.minimum).at(y, self.ids, self.rows)
        self.y, self.x_shape = y, x.shape
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        ids, rows = self.ids, self.rows
        g_rows = gy[ids]  # sum: dL/dx_i = gy_{s(i)}
        if self.kind in ("max", "min"):  # d max/dx_i = [x_i is its segment's extreme] / (number of ties)
            hit = rows == self.y[ids]
            ties = xp.zeros(self.y.shape, gy.dtype)
            xp.add.at(ties, ids, hit.astype(gy.dtype))
            g_rows = g_rows * hit / ties[ids]
        elif self.kind == "prod":  # d Π/dx_i = Π of the others in the segment (zeros handled as in prod)
            zero = rows == 0
            zeros = xp.zeros(self.y.shape, numpy.int64)
            xp.add.at(zeros, ids, zero.astype(numpy.int64))
            safe = xp.where(zero, xp.ones((), rows.dtype), rows)
            product_nonzero = xp.ones(self.y.shape, rows.dtype)
            xp.multiply.at(product_nonzero, ids, safe)
            p, z = product_nonzero[ids], zeros[ids]
            g_rows = g_rows * xp.where(zero, (z == 1) * p, (z == 0) * p / safe)
        g = xp.zeros(self.x_shape, gy.dtype)
        g[self.keep] = g_rows
        return g


def _extreme_fill(dtype, lowest: bool):
    if dtype.kind == "f":
        return -numpy.inf if lowest else numpy.inf
    if dtype.kind == "b":
        return not lowest
    info = numpy.iinfo(dtype)
    return info.min if lowest else info.max


def _segment(kind: str, data_, segment_ids, num_segments):
    op = f"segment_{kind}"
    arr, ids = data(data_), data(segment_ids)
    if ids.ndim != 1:
        raise ValueError(f"{op}: expected segment_ids to be a 1-D vector, received shape {ids.shape}")
    if arr.ndim == 0 or ids.shape[0] != arr.shape[0]:
        raise ValueError(f"{op}: expected segment_ids and data with the same leading dimension, received shapes "
                         f"{ids.shape} and {arr.shape}")
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{op}: expected integer segment_ids, received dtype {ids.dtype}")
    if not num_segments:  # None (or 0, as Keras): one past the largest id
        num_segments = int(ids.max()) + 1 if ids.size else 0
    num_segments = int(data(num_segments)) if not isinstance(num_segments, int) else num_segments
    keep = (ids >= 0) & (ids < num_segments)
    return SegmentReduce.apply(data_, kind=kind, ids=ids[keep], keep=keep, num_segments=num_segments)


def segment_sum(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """y_s = Σ_{i: segment_ids_i = s} data_i (rows along axis 0); ``num_segments`` defaults to max id + 1;
    ids outside [0, num_segments) are dropped; ``sorted`` is accepted and not needed."""
    return _segment("sum", data, segment_ids, num_segments)


def segment_max(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """y_s = max_{i: segment_ids_i = s} data_i (−∞ for an empty segment); tied maxima share the gradient."""
    return _segment("max", data, segment_ids, num_segments)


def segment_min(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """y_s = min_{i: segment_ids_i = s} data_i (+∞ for an empty segment); tied minima share the gradient."""
    return _segment("min", data, segment_ids, num_segments)


def segment_prod(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """y_s = Π_{i: segment_ids_i = s} data_i (1 for an empty segment); zeros handled exactly in the gradient."""
    return _segment("prod", data, segment_ids, num_segments)

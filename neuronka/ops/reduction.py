"""Reductions of ``keras.ops``: prod, std, all/any, argmax/argmin, cumulative sums and products,
logsumexp, the nan-ignoring reductions, average, ptp, count_nonzero, diff and trapezoid. Order statistics
(median, quantile, percentile), histogram, bincount, correlations and the segment reductions are in
:mod:`.statistics` (exported from here); sum, mean, var, max and min, which every layer uses, in
:mod:`.math`.

Each differentiable op is a :class:`~neuronka.autograd.Function` with its derivative beside it, or a
short composition of such ops (nanmean = nansum / count). Integer and boolean results carry no graph.
"""
from __future__ import annotations

import math as _pymath
import numbers

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ..dtypes import standardize_dtype
from . import math as _m
from ._util import data, dtype_of, float_dtype_of, wrap
from .math import _expand, _norm_axis
from .statistics import (
    bincount,
    corrcoef,
    correlate,
    histogram,
    median,
    nanmedian,
    nanpercentile,
    nanquantile,
    percentile,
    quantile,
    segment_max,
    segment_min,
    segment_prod,
    segment_sum,
)

__all__ = [
    "amax", "amin", "std", "prod", "all", "any", "argmax", "argmin", "cumsum", "cumprod", "logsumexp",
    "nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanstd", "nanvar", "nanargmax", "nanargmin",
    "nancumsum", "nancumprod", "average", "ptp", "count_nonzero", "diff", "trapezoid",
    # from .statistics
    "median", "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile", "histogram",
    "bincount", "corrcoef", "correlate", "segment_sum", "segment_max", "segment_min", "segment_prod",
]

# Keras (like JAX) reduces bool and narrow integers in int32 (prod, cumsum, trace, ...)
_NARROW_INTS = ("bool", "uint8", "int8", "int16")


def _size(shape, axes) -> int:
    return _pymath.prod([shape[a] for a in axes])


# ----------------------------------------------------------------------------------
# extremes, spreads and products
# ----------------------------------------------------------------------------------
def amax(x, axis=None, keepdims: bool = False) -> Tensor:
    """max over ``axis``, as :func:`max` without ``initial``; tied maxima share the gradient equally."""
    return _m.max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims: bool = False) -> Tensor:
    """min over ``axis``, as :func:`min` without ``initial``; tied minima share the gradient equally."""
    return _m.min(x, axis=axis, keepdims=keepdims)


def ptp(x, axis=None, keepdims: bool = False) -> Tensor:
    """max − min over ``axis`` (the range of the values)."""
    if data(x).dtype == bool:
        raise TypeError("ptp: expected a numeric tensor, received dtype bool (max − min of booleans is undefined)")
    return _m.subtract(_m.max(x, axis=axis, keepdims=keepdims), _m.min(x, axis=axis, keepdims=keepdims))


class Std(Function):
    def forward(self, x):
        self.axes = _norm_axis(self.axis, x.ndim, "std")
        self.n = _size(x.shape, self.axes)
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        self.y = get_array_module(x).sqrt((self.centered * self.centered).mean(axis=self.axes, keepdims=True))
        return self.y if self.keepdims else self.y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):  # d std/dx_i = (x_i − mean) / (n·std)   (NaN where std = 0, as torch)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return _expand(gy, self.centered.shape, self.axes, self.keepdims) * self.centered / (self.n * self.y)


def std(x, axis=None, keepdims: bool = False) -> Tensor:
    """√((1/n) Σ (x − mean)²), the biased standard deviation; integer and bool inputs give float32."""
    if data(x).dtype.kind not in "fc":
        x = data(x).astype(numpy.float32)
    return Std.apply(x, axis=axis, keepdims=keepdims)


class Prod(Function):
    def forward(self, x):
        self.axes = _norm_axis(self.axis, x.ndim, "prod")
        self.x = x
        return x.prod(axis=self.axes, keepdims=self.keepdims, dtype=self.dtype)

    def backward(self, gy):
        # d Πx/dx_i = Π_{j≠i} x_j: y/x_i when no x_j is 0; with exactly one zero only that entry gets the
        # product of the others; with two or more zeros every derivative is 0.
        xp = get_array_module(gy)
        x, axes = self.x, self.axes
        zero = x == 0
        zeros = zero.sum(axis=axes, keepdims=True)
        safe = xp.where(zero, xp.ones((), x.dtype), x)
        product_nonzero = safe.prod(axis=axes, keepdims=True)
        others = xp.where(zero, (zeros == 1) * product_nonzero, (zeros == 0) * product_nonzero / safe)
        return (_expand(gy, x.shape, axes, self.keepdims) * others).astype(x.dtype, copy=False)


def prod(x, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """Π x over ``axis``. ``dtype`` (default: x's, with bool, uint8, int8 and int16 multiplied as int32, as
    Keras) is the dtype of the product. Zeros in x are handled exactly in the gradient."""
    arr = data(x)
    if dtype is None:
        dtype = "int32" if arr.dtype.name in _NARROW_INTS else arr.dtype.name
    return Prod.apply(x, axis=axis, keepdims=keepdims, dtype=numpy.dtype(standardize_dtype(dtype)))


# ----------------------------------------------------------------------------------
# logical reductions, arg-extremes, counts
# ----------------------------------------------------------------------------------
def all(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - keras.ops name
    """True where every value over ``axis`` is nonzero (bool)."""
    arr = data(x)
    return wrap(get_array_module(arr).all(arr, axis=_norm_axis(axis, arr.ndim, "all"), keepdims=keepdims))


def any(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - keras.ops name
    """True where some value over ``axis`` is nonzero (bool)."""
    arr = data(x)
    return wrap(get_array_module(arr).any(arr, axis=_norm_axis(axis, arr.ndim, "any"), keepdims=keepdims))


def _arg_extreme(op: str, x, axis, keepdims):
    arr = data(x)
    xp = get_array_module(arr)
    if axis is not None:
        axis = _norm_axis(axis, arr.ndim, op)[0] if arr.ndim else None
    find = xp.argmax if op.endswith("max") else xp.argmin
    if arr.size == 0:
        raise ValueError(f"{op}: expected a non-empty tensor, received shape {arr.shape}")
    return find(arr, axis=axis, keepdims=keepdims).astype(numpy.int32)


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """The index of the largest value along ``axis`` (of the flattened x if None), int32; the first one
    among ties."""
    return wrap(_arg_extreme("argmax", x, axis, keepdims))


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """The index of the smallest value along ``axis`` (of the flattened x if None), int32; the first one
    among ties."""
    return wrap(_arg_extreme("argmin", x, axis, keepdims))


def count_nonzero(x, axis=None) -> Tensor:
    """The number of nonzero values over ``axis`` (int32)."""
    arr = data(x)
    if axis == () or axis == []:
        return wrap((arr != 0).astype(numpy.int32))
    axes = _norm_axis(axis, arr.ndim, "count_nonzero")
    return wrap((arr != 0).sum(axis=axes, dtype=numpy.int32))


# ----------------------------------------------------------------------------------
# cumulative sums and products
# ----------------------------------------------------------------------------------
def _cumulative_dtype(arr, dtype) -> numpy.dtype:
    """Keras's dtype of cumsum / cumprod: ``dtype`` or x's, bool counted as int32."""
    name = standardize_dtype(dtype if dtype is not None else arr.dtype)
    return numpy.dtype("int32" if name == "bool" else name)


def _reverse_cumsum(g, axis):  # r_i = Σ_{k≥i} g_k
    return get_array_module(g).flip(get_array_module(g).flip(g, axis).cumsum(axis), axis)


class CumSum(Function):
    def forward(self, x):
        self.shape, self.x_dtype = x.shape, x.dtype
        return x.reshape(-1).cumsum(dtype=self.dtype) if self.axis is None else x.cumsum(self.axis, dtype=self.dtype)

    def backward(self, gy):  # y_k = Σ_{i≤k} x_i: dL/dx_i = Σ_{k≥i} dL/dy_k
        g = _reverse_cumsum(gy, 0 if self.axis is None else self.axis)
        return g.astype(self.x_dtype, copy=False).reshape(self.shape)


class CumProd(Function):
    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(-1) if self.axis is None else x
        self.y = self.x.cumprod(0 if self.axis is None else self.axis, dtype=self.dtype)
        return self.y

    def backward(self, gy):
        # y_k = Π_{j≤k} x_j: dL/dx_i = Σ_{k≥i} gy_k·Π_{j≤k, j≠i} x_j. Before the first zero z of a row this
        # is Σ_{k≥i} gy_k·y_k / x_i; at z it is Σ_{k≥z} gy_k·y'_k with y' the cumprod of x with x_z set to 1;
        # after z every term holds x_z = 0.
        xp = get_array_module(gy)
        axis = 0 if self.axis is None else self.axis
        x, y = self.x, self.y
        zero = x == 0
        zeros_so_far = zero.cumsum(axis)
        one = xp.ones((), x.dtype)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            g = xp.where(zeros_so_far == 0, _reverse_cumsum(gy * y, axis) / xp.where(zero, one, x), 0)
        first_zero = zero & (zeros_so_far == 1)
        if first_zero.any():
            y_without = xp.where(first_zero, one, x).cumprod(axis)
            g = xp.where(first_zero, _reverse_cumsum(gy * y_without, axis), g)
        return g.astype(x.dtype, copy=False).reshape(self.shape)


def cumsum(x, axis=None, dtype=None) -> Tensor:
    """y_k = Σ_{i≤k} x_i along ``axis`` (of the flattened x if None); ``dtype`` defaults to x's (bool:
    int32)."""
    arr = data(x)
    if axis is not None:
        axis = _norm_axis(axis, arr.ndim, "cumsum")[0]
    return CumSum.apply(x, axis=axis, dtype=_cumulative_dtype(arr, dtype))


def cumprod(x, axis=None, dtype=None) -> Tensor:
    """y_k = Π_{i≤k} x_i along ``axis`` (of the flattened x if None); ``dtype`` defaults to x's (bool:
    int32). Zeros in x are handled exactly in the gradient."""
    arr = data(x)
    if axis is not None:
        axis = _norm_axis(axis, arr.ndim, "cumprod")[0]
    return CumProd.apply(x, axis=axis, dtype=_cumulative_dtype(arr, dtype))


# ----------------------------------------------------------------------------------
# logsumexp
# ----------------------------------------------------------------------------------
class LogSumExp(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.axes = _norm_axis(self.axis, x.ndim, "logsumexp")
        self.x = x
        m = x.max(axis=self.axes, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)  # stable: e^(x − m) ≤ 1; an all −∞ row stays −∞
        with numpy.errstate(divide="ignore"):
            self.y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return self.y if self.keepdims else self.y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):  # d log Σ e^x / dx_i = e^(x_i − y) (the softmax)
        xp = get_array_module(gy)
        with numpy.errstate(invalid="ignore"):
            return _expand(gy, self.x.shape, self.axes, self.keepdims) * xp.exp(self.x - self.y)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log Σ e^x over ``axis``, computed as m + log Σ e^(x − m) with m = max x (no overflow)."""
    if data(x).dtype.kind not in "fc":
        x = data(x).astype(float_dtype_of(data(x)))
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


# ----------------------------------------------------------------------------------
# the nan-ignoring reductions: NaN entries replaced by the neutral value, their gradient 0
# ----------------------------------------------------------------------------------
class FillNaN(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.nan = xp.isnan(x)
        return xp.where(self.nan, xp.asarray(self.value, x.dtype), x)

    def backward(self, gy):  # d/dx = 1 where x is a number, 0 at NaN
        return gy * ~self.nan


def _fill_nan(x, value):
    """x with its NaN entries replaced by ``value`` (float inputs; others are returned as they are)."""
    return FillNaN.apply(x, value=value) if data(x).dtype.kind in "fc" else x


def _nan_count(x, axis, keepdims, op):
    arr = data(x)
    axes = _norm_axis(axis, arr.ndim, op)
    valid = ~get_array_module(arr).isnan(arr) if arr.dtype.kind in "fc" else numpy.ones(arr.shape, bool)
    return valid.sum(axis=axes, keepdims=keepdims)


def nansum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Σ x over ``axis``, NaN counted as 0 (dtypes as :func:`sum`)."""
    return _m.sum(_fill_nan(x, 0), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims: bool = False) -> Tensor:
    """Π x over ``axis``, NaN counted as 1 (dtypes as :func:`prod`)."""
    return prod(_fill_nan(x, 1), axis=axis, keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None) -> Tensor:
    """cumsum with NaN counted as 0. (Keras on torch also turns ±inf into the largest finite values here;
    neuronka keeps them, as NumPy does.)"""
    return cumsum(_fill_nan(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None) -> Tensor:
    """cumprod with NaN counted as 1 (±inf kept, as NumPy)."""
    return cumprod(_fill_nan(x, 1), axis=axis, dtype=dtype)


def _as_float(x):
    """Integer and bool inputs as floatx, as Keras computes the nan-means and -variances."""
    arr = data(x)
    return x if arr.dtype.kind in "fc" else arr.astype(float_dtype_of(arr))


def nanmean(x, axis=None, keepdims: bool = False) -> Tensor:
    """(Σ x) / n over ``axis`` counting only the non-NaN entries (NaN where all are NaN)."""
    if axis == () or axis == []:
        return x if isinstance(x, Tensor) else wrap(data(x))
    x = _as_float(x)
    count = _nan_count(x, axis, keepdims, "nanmean")
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return _m.divide(nansum(x, axis=axis, keepdims=keepdims), count.astype(data(x).dtype))


def nanvar(x, axis=None, keepdims: bool = False) -> Tensor:
    """(1/n) Σ (x − nanmean)² over the non-NaN entries (biased)."""
    x = _as_float(x)
    if axis == () or axis == []:
        return wrap(get_array_module(data(x)).where(get_array_module(data(x)).isnan(data(x)), data(x), 0))
    centered = _fill_nan(_m.subtract(x, nanmean(x, axis=axis, keepdims=True)), 0)
    count = _nan_count(x, axis, keepdims, "nanvar")
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return _m.divide(_m.sum(_m.multiply(centered, centered), axis=axis, keepdims=keepdims),
                         count.astype(data(x).dtype))


def nanstd(x, axis=None, keepdims: bool = False) -> Tensor:
    """√nanvar."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return _m.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_extreme(kind, x, axis, keepdims):
    arr = data(x)
    if arr.dtype.kind not in "fc":
        return _m.max(x, axis=axis, keepdims=keepdims) if kind == "max" else _m.min(x, axis=axis, keepdims=keepdims)
    if axis == () or axis == []:
        return x if isinstance(x, Tensor) else wrap(arr)
    xp = get_array_module(arr)
    filled = _fill_nan(x, -numpy.inf if kind == "max" else numpy.inf)
    y = _m.max(filled, axis=axis, keepdims=keepdims) if kind == "max" else _m.min(filled, axis=axis, keepdims=keepdims)
    all_nan = xp.isnan(arr).all(axis=_norm_axis(axis, arr.ndim, f"nan{kind}"), keepdims=keepdims)
    return _m.where(all_nan, xp.asarray(numpy.nan, arr.dtype), y) if all_nan.any() else y


def nanmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """max over ``axis`` ignoring NaN (NaN where all are NaN); tied maxima share the gradient."""
    return _nan_extreme("max", x, axis, keepdims)


def nanmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """min over ``axis`` ignoring NaN (NaN where all are NaN); tied minima share the gradient."""
    return _nan_extreme("min", x, axis, keepdims)


def _nan_arg_extreme(op, x, axis, keepdims):
    arr = data(x)
    if arr.dtype.kind not in "fc":
        return wrap(_arg_extreme(op[3:], arr, axis, keepdims))
    xp = get_array_module(arr)
    nan = xp.isnan(arr)
    filled = xp.where(nan, -numpy.inf if op == "nanargmax" else numpy.inf, arr)
    found = _arg_extreme(op, filled, axis, keepdims)
    axes = None if axis is None else _norm_axis(axis, arr.ndim, op)
    return wrap(xp.where(nan.all(axis=axes, keepdims=keepdims), numpy.int32(-1), found).astype(numpy.int32))


def nanargmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """argmax ignoring NaN; −1 where all values are NaN (int32)."""
    return _nan_arg_extreme("nanargmax", x, axis, keepdims)


def nanargmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """argmin ignoring NaN; −1 where all values are NaN (int32)."""
    return _nan_arg_extreme("nanargmin", x, axis, keepdims)


# ----------------------------------------------------------------------------------
# average, differences, integration
# ----------------------------------------------------------------------------------
def average(x, axis=None, weights=None) -> Tensor:
    """Σ x·w / Σ w over ``axis`` (all axes if None); without weights the mean. ``weights`` has x's shape,
    or is 1-D along ``axis``. Results are float (floatx for integer inputs).

    As NumPy and Keras's documentation; Keras's torch backend divides by the weights' sum over their last
    axis, which differs when axis is None or not the last axis with full-shape weights."""
    arr = data(x)
    dtype = numpy.dtype(dtype_of(arr, 0.0) if weights is None else dtype_of(arr, 0.0, data(weights)))
    x = _m.cast(x, dtype) if arr.dtype != dtype else x
    if weights is None:
        return _m.mean(x, axis=axis)
    w_arr = data(weights)
    weights = _m.cast(weights, dtype) if w_arr.dtype != dtype else weights
    if w_arr.shape != arr.shape:
        if axis is None:
            raise ValueError(f"average: axis must be specified when the shapes of x {arr.shape} and weights "
                             f"{w_arr.shape} differ")
        if not isinstance(axis, numbers.Integral):
            raise ValueError(f"average: expected an int axis with 1-D weights, received axis={axis!r}")
        ax = _norm_axis(axis, arr.ndim, "average")[0]
        if w_arr.ndim != 1 or w_arr.shape[0] != arr.shape[ax]:
            raise ValueError(f"average: expected weights of shape {arr.shape} or ({arr.shape[ax]},) along axis "
                             f"{axis}, received shape {w_arr.shape}")
        weights = _m.reshape(weights, [-1 if i == ax else 1 for i in range(arr.ndim)])
    return _m.divide(_m.sum(_m.multiply(x, weights), axis=axis), _m.sum(weights, axis=axis))


class Diff(Function):
    def forward(self, x):
        return get_array_module(x).diff(x, axis=self.axis)

    def backward(self, gy):  # y_i = x_{i+1} − x_i: dL/dx_j = gy_{j−1} − gy_j (0 beyond the ends)
        xp = get_array_module(gy)
        pad = [(0, 0)] * gy.ndim
        pad[self.axis] = (1, 1)
        padded = xp.pad(gy, pad)
        n = padded.shape[self.axis]
        lead = (slice(None),) * self.axis
        return padded[lead + (slice(0, n - 1),)] - padded[lead + (slice(1, n),)]


def diff(a, n: int = 1, axis: int = -1) -> Tensor:
    """The n-th difference along ``axis``: y_i = a_{i+1} − a_i, applied n times (booleans: a_{i+1} ≠ a_i)."""
    arr = data(a)
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"diff: expected n to be a non-negative int, received n={n!r}")
    axis = _norm_axis(axis, arr.ndim, "diff")[0]
    y = a
    for _ in range(n):
        y = Diff.apply(y, axis=axis)
    return y if isinstance(y, Tensor) else wrap(arr)


def trapezoid(y, x=None, dx=1.0, axis: int = -1) -> Tensor:
    """∫ y by the trapezoidal rule along ``axis``: Σ_i (x_{i+1} − x_i)·(y_i + y_{i+1})/2, with the sample
    points ``x`` (1-D along axis, or y's shape) or the constant spacing ``dx``."""
    y_arr = data(y)
    if y_arr.dtype.kind not in "fc":
        y = y_arr.astype(float_dtype_of(y_arr))
    ndim = y_arr.ndim
    ax = _norm_axis(axis, ndim, "trapezoid")[0]
    n = y_arr.shape[ax]
    lead = (slice(None),) * ax
    mean_pairs = _m.multiply(_m.add(_m.getitem(y, lead + (slice(1, n),)), _m.getitem(y, lead + (slice(0, n - 1),))),
                             0.5)
    if x is None:
        return _m.multiply(_m.sum(mean_pairs, axis=ax), dx)
    x_arr = data(x)
    if x_arr.ndim == 1:
        if x_arr.shape[0] != n:
            raise ValueError(f"trapezoid: expected x of length {n} (y's axis {axis}), received shape {x_arr.shape}")
        x = _m.reshape(x, [-1 if i == ax else 1 for i in range(ndim)])
    elif x_arr.shape != y_arr.shape:
        raise ValueError(f"trapezoid: expected x of shape ({n},) or {y_arr.shape}, received {x_arr.shape}")
    return _m.sum(_m.multiply(diff(x, axis=ax), mean_pairs), axis=ax)

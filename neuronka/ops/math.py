"""Elementwise arithmetic, reductions and matmul; the shape operations in :mod:`.shapes`, re-exported here.

Each op is a :class:`~neuronka.autograd.Function` whose forward and backward sit
side by side, the derivative written as a comment. Names follow ``keras.ops``.

The elementwise ops convert and promote their operands as Keras does (:mod:`.promotion`:
``add(int32_array, 1.5)`` is float32, ``divide`` of ints ``floatx()``).
"""
from __future__ import annotations

import math as _pymath
import numbers

import numpy

from ..autograd import Function, Tensor, _as_array, unbroadcast
from ..backend import get_array_module
from ..dtypes import result_type
from .promotion import (  # noqa: F401 - Keras's operand rules; cast is a public op of this module
    Cast,
    _apply_binary,
    _array_of,
    _as_dtype,
    _check_broadcast,
    _float_input,
    _is_floating,
    _no_graph,
    _operands,
    _refuse_bool,
    _result_dtype,
    _unary_input,
    cast,
)


def _pair(a, b):
    """Python scalars take the dtype of the tensor beside them (Keras's weak typing)."""
    if isinstance(a, numbers.Number) and not isinstance(b, numbers.Number):
        a = _as_array(a, _as_array(b).dtype if _is_float(b) else None)
    elif isinstance(b, numbers.Number) and not isinstance(a, numbers.Number):
        b = _as_array(b, _as_array(a).dtype if _is_float(a) else None)
    return a, b


def _is_float(x) -> bool:
    return numpy.issubdtype(_as_array(x).dtype, numpy.floating)


# ----------------------------------------------------------------------------------
# elementwise binary
# ----------------------------------------------------------------------------------
class Add(Function):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a + b

    def backward(self, gy):  # d(a+b)/da = 1, d(a+b)/db = 1
        return unbroadcast(gy, self.sa), unbroadcast(gy, self.sb)


class Subtract(Function):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a - b

    def backward(self, gy):  # d(a-b)/da = 1, d(a-b)/db = -1
        return unbroadcast(gy, self.sa), unbroadcast(-gy, self.sb)


class Multiply(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):  # d(ab)/da = b, d(ab)/db = a
        ga = unbroadcast(gy * self.b, self.a.shape) if self.inputs[0].requires_grad else None
        gb = unbroadcast(gy * self.a, self.b.shape) if self.inputs[1].requires_grad else None
        return ga, gb


class Divide(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        ga = unbroadcast(gy / self.b, self.a.shape) if self.inputs[0].requires_grad else None
        gb = unbroadcast(-gy * self.a / (self.b * self.b), self.b.shape) if self.inputs[1].requires_grad else None
        return ga, gb


class Power(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):  # d(a^b)/da = b·a^(b-1), d(a^b)/db = a^b·ln a (0 where a <= 0)
        xp = get_array_module(gy)
        ga = gb = None
        if self.inputs[0].requires_grad:
            ga = unbroadcast(gy * self.b * self.a ** (self.b - 1), self.a.shape)
        if self.inputs[1].requires_grad:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                log_a = xp.where(self.a > 0, xp.log(xp.where(self.a > 0, self.a, 1)), 0)
            gb = unbroadcast(gy * self.y * log_a, self.b.shape)
        return ga, gb


class Maximum(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.sb = a.shape, b.shape
        y = xp.maximum(a, b)
        self.a_share = xp.where(a == b, 0.5, a > b).astype(y.dtype)  # ties share the gradient, as in torch
        return y

    def backward(self, gy):  # d max(a,b)/da = [a > b] + ½[a = b], /db = [a < b] + ½[a = b]
        return unbroadcast(gy * self.a_share, self.sa), unbroadcast(gy * (1 - self.a_share), self.sb)


class Minimum(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.sb = a.shape, b.shape
        y = xp.minimum(a, b)
        self.a_share = xp.where(a == b, 0.5, a < b).astype(y.dtype)
        return y

    def backward(self, gy):  # d min(a,b)/da = [a < b] + ½[a = b], /db = [a > b] + ½[a = b]
        return unbroadcast(gy * self.a_share, self.sa), unbroadcast(gy * (1 - self.a_share), self.sb)


def add(x1, x2) -> Tensor:
    """x1 + x2, broadcasting; the dtype is Keras's promotion of the two (bool + bool is logical or)."""
    return _apply_binary(Add, *_operands("add", x1, x2))


def subtract(x1, x2) -> Tensor:
    """x1 − x2, broadcasting (booleans are refused, as in Keras)."""
    a, b, dtype = _operands("subtract", x1, x2)
    _refuse_bool("subtract", dtype)
    return _apply_binary(Subtract, a, b, dtype)


def multiply(x1, x2) -> Tensor:
    """x1 · x2 elementwise, broadcasting (bool · bool is logical and)."""
    return _apply_binary(Multiply, *_operands("multiply", x1, x2))


def divide(x1, x2) -> Tensor:
    """x1 / x2 elementwise, broadcasting; true division, so ints and bools give ``floatx()``."""
    return _apply_binary(Divide, *_operands("divide", x1, x2, floating=True))


def power(x1, x2) -> Tensor:
    """x1 ** x2 elementwise, in the promoted dtype of the two (an int to a negative int power is an error)."""
    a, b, dtype = _operands("power", x1, x2)
    _refuse_bool("power", dtype)
    if dtype[0] in "iu" and bool((_array_of(b) < 0).any()):
        raise ValueError(f"power: integers to negative integer powers are not allowed; received dtype {dtype} "
                         f"with a negative exponent (cast x1 to a float dtype)")
    return _apply_binary(Power, a, b, dtype)


def maximum(x1, x2) -> Tensor:
    """max(x1, x2) elementwise; at ties each side receives half the gradient (as PyTorch's)."""
    return _apply_binary(Maximum, *_operands("maximum", x1, x2))


def minimum(x1, x2) -> Tensor:
    """min(x1, x2) elementwise; at ties each side receives half the gradient (as PyTorch's)."""
    return _apply_binary(Minimum, *_operands("minimum", x1, x2))


# ----------------------------------------------------------------------------------
# elementwise unary
# ----------------------------------------------------------------------------------
class Negative(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):  # d(-x)/dx = -1
        return -gy


class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):  # d e^x/dx = e^x
        return gy * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):  # d ln x/dx = 1/x
        return gy / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):  # d √x/dx = 1/(2√x)
        return gy / (2 * self.y)


class Square(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):  # d x²/dx = 2x
        return gy * (2 * self.x)


class Abs(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, gy):  # d|x|/dx = sign(x)
        return gy * self.sign


class Clip(Function):
    def forward(self, x, lo, hi):
        xp = get_array_module(x)
        self.shapes = x.shape, lo.shape, hi.shape
        self.inside = (x >= lo) & (x <= hi)
        self.below = (x < lo) & (lo <= hi)
        self.above = (x > hi) | (lo > hi)  # with lo > hi every value is hi, as in NumPy and PyTorch
        return xp.minimum(xp.maximum(x, lo), hi)

    def backward(self, gy):  # dy/dx = [lo <= x <= hi], dy/dlo = [x < lo <= hi], dy/dhi = [x > hi or lo > hi]
        sx, slo, shi = self.shapes
        return (unbroadcast(gy * self.inside, sx), unbroadcast(gy * self.below, slo),
                unbroadcast(gy * self.above, shi))


def negative(x) -> Tensor:
    """−x (booleans are refused, as in Keras)."""
    x = _unary_input(x)
    _refuse_bool("negative", x.dtype.name)
    return Negative.apply(x) if _is_floating(x) else _no_graph(-_array_of(x))


def exp(x) -> Tensor:
    """e^x; ints and bools give ``floatx()``."""
    return Exp.apply(_float_input(x))


def log(x) -> Tensor:
    """ln x; ints and bools give ``floatx()``."""
    return Log.apply(_float_input(x))


def sqrt(x) -> Tensor:
    """√x; ints and bools give ``floatx()``."""
    return Sqrt.apply(_float_input(x))


def square(x) -> Tensor:
    """x², in x's dtype (booleans give int32, as in Keras)."""
    x = _unary_input(x)
    if _is_floating(x):
        return Square.apply(x)
    arr = _array_of(x)
    arr = arr.astype(numpy.int32) if arr.dtype == bool else arr
    return _no_graph(arr * arr)


def abs(x) -> Tensor:  # noqa: A001 - keras.ops name
    """|x|, in x's dtype; its derivative sign(x) is 0 at 0."""
    x = _unary_input(x)
    if _is_floating(x):
        return Abs.apply(x)
    arr = _array_of(x)
    return _no_graph(arr if arr.dtype == bool else get_array_module(arr).abs(arr))


def absolute(x) -> Tensor:
    """|x| (the same as :func:`abs`)."""
    return abs(x)


def clip(x, x_min, x_max) -> Tensor:
    """min(max(x, x_min), x_max), broadcasting; where x_min > x_max every value is x_max.

    The dtype is Keras's promotion of the three (booleans give int32). The gradient reaches x inside
    [x_min, x_max] (0 outside), x_min where it clipped from below and x_max where it clipped from above.
    ``None`` for a bound leaves that side open (NumPy's convention; Keras requires both).
    """
    x_in = _unary_input(x)
    if x_min is None and x_max is None:
        raise ValueError("clip: expected at least one of x_min and x_max, received None for both")
    dtype = _result_dtype(*(v for v in (x_in, x_min, x_max) if v is not None))
    dtype = "int32" if dtype == "bool" else dtype
    lo = _open_bound(dtype, low=True) if x_min is None else x_min
    hi = _open_bound(dtype, low=False) if x_max is None else x_max
    for name, bound in (("x_min", lo), ("x_max", hi)):
        _check_broadcast(f"clip ({name})", x_in, bound)
    x_in, lo, hi = (_as_dtype(v, dtype) for v in (x_in, lo, hi))
    if dtype[0] == "f":
        return Clip.apply(x_in, lo, hi)
    xp = get_array_module(_array_of(x_in))
    return _no_graph(xp.minimum(xp.maximum(_array_of(x_in), _array_of(lo)), _array_of(hi)))


def _open_bound(dtype: str, low: bool):
    info = numpy.finfo(dtype) if dtype[0] == "f" else numpy.iinfo(dtype)
    return numpy.asarray(-numpy.inf if low else numpy.inf, dtype) if dtype[0] == "f" else \
        numpy.asarray(info.min if low else info.max, dtype)


# ----------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------
def _norm_axis(axis, ndim, op: str = "reduction"):
    """``axis`` (None, an int or a sequence of ints) as a sorted tuple of axes in [0, ndim)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, numbers.Integral):
        axis = (axis,)
    out = []
    for a in axis:
        if not (-ndim <= a < ndim or (ndim == 0 and a in (0, -1))):  # a scalar takes axis 0 / -1 as torch does
            raise ValueError(f"{op}: expected axis in [-{ndim}, {ndim}) for an input of rank {ndim}, "
                             f"received axis={a}")
        if ndim:
            out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in axis={axis!r}")
    return tuple(sorted(out))


def _expand(g, shape, axes, keepdims):
    """Put back the reduced axes so that g broadcasts against the input."""
    if keepdims:
        return g
    return g.reshape([1 if i in axes else n for i, n in enumerate(shape)])


# Keras (like JAX) sums bool and narrow integers as int32; wider integers keep their dtype.
_SUMMED_AS_INT32 = frozenset(("bool", "uint8", "int8", "int16"))


class Sum(Function):
    def forward(self, x):
        self.shape = x.shape
        self.axes = _norm_axis(self.axis, x.ndim, "sum")
        if x.dtype.kind in "fc":
            return x.sum(axis=self.axes, keepdims=self.keepdims)
        dtype = numpy.int32 if x.dtype.name in _SUMMED_AS_INT32 else x.dtype  # NumPy would give int64
        return x.sum(axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, gy):  # d Σx/dx_i = 1: broadcast gy back
        xp = get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.shape, self.axes, self.keepdims), self.shape)


class Mean(Function):
    def forward(self, x):
        self.shape = x.shape
        self.axes = _norm_axis(self.axis, x.ndim, "mean")
        self.n = _pymath.prod([x.shape[a] for a in self.axes])
        if x.dtype.kind in "fc":
            return x.mean(axis=self.axes, keepdims=self.keepdims)
        return x.mean(axis=self.axes, keepdims=self.keepdims, dtype=numpy.float32)  # ints and bools: float32

    def backward(self, gy):  # d mean/dx_i = 1/n
        xp = get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.shape, self.axes, self.keepdims) / self.n, self.shape)


class Var(Function):
    def forward(self, x):
        self.axes = _norm_axis(self.axis, x.ndim, "var")
        self.n = _pymath.prod([x.shape[a] for a in self.axes])
        if x.dtype.kind not in "fc":  # ints and bools: computed in float32, returned as floatx
            from ._util import float_dtype_of  # noqa: PLC0415 - _util imports this package's modules lazily

            return self.forward(x.astype(numpy.float32)).astype(float_dtype_of(x))
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        return (self.centered * self.centered).mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # d var/dx_i = 2(x_i − mean)/n
        return _expand(gy, self.centered.shape, self.axes, self.keepdims) * (2.0 / self.n) * self.centered


class MaxMin(Function):
    def forward(self, x):
        self.axes = _norm_axis(self.axis, x.ndim, self.kind)
        y = x.max(axis=self.axes, keepdims=True) if self.kind == "max" else x.min(axis=self.axes, keepdims=True)
        # the gradient is shared equally between tied extremes (as torch.amax does)
        self.mask = x == y
        if self.initial is not None:  # y = max(max x, initial): x gets the gradient where it reaches initial
            xp = get_array_module(x)
            initial = xp.asarray(self.initial, dtype=y.dtype)  # Keras casts initial to the result's dtype
            bounded = xp.maximum(y, initial) if self.kind == "max" else xp.minimum(y, initial)
            self.x_wins = bounded == y
            y = bounded
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):  # d max/dx_i = [x_i is the max] / (number of maxima)
        count = self.mask.sum(axis=self.axes, keepdims=True).astype(gy.dtype)  # not int64: gy keeps its dtype
        g = _expand(gy, self.mask.shape, self.axes, self.keepdims)
        if self.initial is not None:  # no gradient where initial is the result
            g = g * self.x_wins
        return self.mask * (g / count)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Σ x over ``axis`` (all axes if None; ``()``: none). Bool, uint8, int8 and int16 sum as int32, as in
    Keras; other dtypes keep theirs."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """(1/n) Σ x over ``axis``; integer and bool inputs give float32 (Keras's ``ops.mean``)."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims: bool = False) -> Tensor:
    """(1/n) Σ (x − mean)², the biased variance (Keras's ``ops.var``); integer and bool inputs give floatx."""
    return Var.apply(x, axis=axis, keepdims=keepdims)


def _extreme(kind, x, axis, keepdims, initial):
    data = _as_array(x)
    if data.size == 0:  # nothing to compare: only ``initial`` can answer
        if initial is None:
            raise ValueError(f"{kind}: cannot compute the {kind} of an empty tensor (shape {data.shape}) "
                             f"without initial=; received initial=None")
        axes = _norm_axis(axis, data.ndim, kind)
        reduce = data.max if kind == "max" else data.min
        return Tensor(reduce(axis=axes, keepdims=keepdims, initial=initial))
    return MaxMin.apply(x, axis=axis, keepdims=keepdims, kind=kind, initial=initial)


def max(x, axis=None, keepdims: bool = False, initial=None) -> Tensor:  # noqa: A001
    """max over ``axis`` (and ``initial``, when given: max(max x, initial)); tied maxima share the gradient
    equally, as torch's amax does. An empty x needs ``initial``."""
    return _extreme("max", x, axis, keepdims, initial)


def min(x, axis=None, keepdims: bool = False, initial=None) -> Tensor:  # noqa: A001
    """min over ``axis`` (and ``initial``, when given); tied minima share the gradient equally."""
    return _extreme("min", x, axis, keepdims, initial)


# ----------------------------------------------------------------------------------
# linear algebra
# ----------------------------------------------------------------------------------
class MatMul(Function):
    def forward(self, a, b):
        self.a_vector, self.b_vector = a.ndim == 1, b.ndim == 1
        self.a = a[None, :] if self.a_vector else a  # a vector as a 1×k matrix, b as a k×1 one
        self.b = b[:, None] if self.b_vector else b
        if a.ndim > 2 and b.ndim == 2:  # a stack of rows times one matrix: one GEMM, not one per 2-D slice
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])
        return a @ b

    def backward(self, gy):  # y = a@b: dL/da = gy@bᵀ, dL/db = aᵀ@gy (batch axes summed where broadcast)
        a, b = self.a, self.b
        if self.b_vector:
            gy = gy[..., None]
        if self.a_vector:
            gy = gy[..., None, :]
        ga = gb = None
        if self.inputs[0].requires_grad:
            ga = unbroadcast(gy @ b.swapaxes(-1, -2), a.shape)
            ga = ga[0] if self.a_vector else ga
        if self.inputs[1].requires_grad:
            gb = unbroadcast(a.swapaxes(-1, -2) @ gy, b.shape)
            gb = gb[:, 0] if self.b_vector else gb
        return ga, gb


def matmul(x1, x2) -> Tensor:
    """x1 @ x2, batched over leading axes (NumPy's matmul rules: a 1-D operand is a vector).

    The dtype is Keras's promotion of the two, except int8 @ int8, which accumulates in int32 (as Keras);
    integer and boolean products carry no graph."""
    sa, sb = numpy.shape(getattr(x1, "data", x1)), numpy.shape(getattr(x2, "data", x2))
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: expected tensors of rank >= 1, received shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(
            f"matmul: the last axis of the first operand must equal the "
            f"{'only' if len(sb) == 1 else 'second-to-last'} axis of the second; received shapes {sa} and {sb}"
        )
    try:
        numpy.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: the batch axes of shapes {sa} and {sb} do not broadcast together") from None
    a, b, dtype = _operands("matmul", x1, x2, broadcast=False)
    if dtype == "int8":
        a, b, dtype = _as_dtype(a, "int32"), _as_dtype(b, "int32"), "int32"
    return _apply_binary(MatMul, a, b, dtype)


def dot(x1, x2) -> Tensor:
    """The product of Keras's ``ops.dot``: ``matmul`` for tensors of rank >= 1, and x1 · x2 when either is a
    scalar (a Python number counts as a tensor here: ``dot(uint8_array, 2)`` is int32, as in Keras)."""
    if numpy.ndim(getattr(x1, "data", x1)) and numpy.ndim(getattr(x2, "data", x2)):
        return matmul(x1, x2)
    a, b = _unary_input(x1), _unary_input(x2)
    dtype = result_type(a.dtype, b.dtype)
    return _apply_binary(Multiply, _as_dtype(a, dtype), _as_dtype(b, dtype), dtype)


# the shape operations (reshape, concatenate, pad, where, ...) live in .shapes, which uses _pair and _norm_axis
# above: imported here, at the end, so that either module may be imported first
from .shapes import (  # noqa: E402, F401 - re-exported: ops.math has always had them
    Concatenate,
    GetItem,
    Pad,
    PadFromInside,
    Reshape,
    Stack,
    Take,
    Transpose,
    Where,
    _common_dtype,
    _has_array_index,
    _shape,
    concatenate,
    expand_dims,
    getitem,
    pad,
    reshape,
    split,
    squeeze,
    stack,
    take,
    take_along_last,
    transpose,
    where,
)

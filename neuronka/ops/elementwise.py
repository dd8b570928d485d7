"""Elementwise math of ``keras.ops`` beyond the four arithmetic ops (which are in :mod:`.math`): the other
divisions and remainders, fmax/fmin, ldexp, nextafter, heaviside, rounding (sign, round, floor, ceil, trunc,
fabs), nan_to_num, the parts of complex numbers, and ``view`` (a bitcast).

Exponentials and logarithms are in :mod:`.exponential`, trigonometric and hyperbolic functions in
:mod:`.trigonometric`, erf / erfinv / i0 / sinc in :mod:`.special`, comparisons and logical ops in
:mod:`.comparison`, bitwise ops in :mod:`.bitwise`. Each differentiable op is a Function with its derivative
beside it; operands are converted and promoted as Keras does (see :mod:`.promotion`).
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import standardize_dtype
from ._util import undifferentiable
from .math import divide
from .promotion import (
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
)

__all__ = [
    "true_divide", "divide_no_nan", "floor_divide", "fmod", "mod", "fmax", "fmin", "ldexp", "nextafter",
    "heaviside", "sign", "signbit", "round", "floor", "ceil", "trunc", "fabs", "nan_to_num", "real", "imag",
    "conj", "conjugate", "angle", "view",
]


# ----------------------------------------------------------------------------------
# divisions and remainders
# ----------------------------------------------------------------------------------
class DivideNoNan(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.a, self.zero = a, b == 0
        self.safe_b = xp.where(self.zero, xp.ones_like(b), b)
        return xp.where(self.zero, 0, a / self.safe_b).astype(a.dtype, copy=False)

    def backward(self, gy):  # y = a/b where b ≠ 0 (else 0): dy/da = 1/b, dy/db = -a/b² (both 0 where b = 0)
        gy = gy * ~self.zero
        ga = unbroadcast(gy / self.safe_b, self.a.shape) if self.inputs[0].requires_grad else None
        gb = None
        if self.inputs[1].requires_grad:
            gb = unbroadcast(-gy * self.a / (self.safe_b * self.safe_b), self.safe_b.shape)
        return ga, gb


class Fmod(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.b = a.shape, b
        self.quotient = xp.trunc(a / b)
        return xp.fmod(a, b)

    def backward(self, gy):  # y = a − b·trunc(a/b): dy/da = 1, dy/db = −trunc(a/b)
        return unbroadcast(gy, self.sa), unbroadcast(-gy * self.quotient, self.b.shape)


class Mod(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.b = a.shape, b
        self.quotient = xp.floor(a / b)
        return xp.remainder(a, b)

    def backward(self, gy):  # y = a − b·floor(a/b) (the sign of b): dy/da = 1, dy/db = −floor(a/b)
        return unbroadcast(gy, self.sa), unbroadcast(-gy * self.quotient, self.b.shape)


def true_divide(x1, x2) -> Tensor:
    """x1 / x2 (the same as ``divide``): ints and bools give ``floatx()``."""
    return divide(x1, x2)


def divide_no_nan(x1, x2) -> Tensor:
    """x1 / x2, and 0 wherever x2 = 0 (so no inf or nan from a zero divisor); ints and bools give ``floatx()``.

    The gradient is 0 where x2 = 0."""
    a, b, dtype = _operands("divide_no_nan", x1, x2, floating=True)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return _apply_binary(DivideNoNan, a, b, dtype)


def _integer_divisor(op: str, b, dtype: str) -> None:
    if dtype[0] in "iub" and bool((_array_of(b) == 0).any()):
        raise ZeroDivisionError(f"{op}: integer division by zero (received a divisor x2 with zeros, dtype {dtype})")


def floor_divide(x1, x2) -> Tensor:
    """⌊x1 / x2⌋ in the promoted dtype of the two (Python's ``//``: the quotient rounded toward −∞).

    Not differentiable (as in Keras on PyTorch); booleans are refused and an integer zero divisor raises."""
    a, b, dtype = _operands("floor_divide", x1, x2)
    _refuse_bool("floor_divide", dtype)
    _integer_divisor("floor_divide", b, dtype)
    a_arr, b_arr = _array_of(a), _array_of(b)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        value = get_array_module(a_arr).floor_divide(a_arr, b_arr)
    return undifferentiable("floor_divide", value, a, b)


def _remainder(fn_class, op: str, x1, x2) -> Tensor:
    a, b, dtype = _operands(op, x1, x2)
    if dtype == "bool":  # as in Keras: booleans are computed as int32
        a, b, dtype = _as_dtype(a, "int32"), _as_dtype(b, "int32"), "int32"
    _integer_divisor(op, b, dtype)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return _apply_binary(fn_class, a, b, dtype)


def fmod(x1, x2) -> Tensor:
    """x1 − x2·trunc(x1/x2): the remainder with the sign of x1 (C's ``fmod``).

    Gradient: 1 for x1, −trunc(x1/x2) for x2. Booleans are computed as int32 (as Keras)."""
    return _remainder(Fmod, "fmod", x1, x2)


def mod(x1, x2) -> Tensor:
    """x1 − x2·⌊x1/x2⌋: the remainder with the sign of x2 (Python's ``%``).

    Gradient: 1 for x1, −⌊x1/x2⌋ for x2. Booleans are computed as int32 (as Keras)."""
    return _remainder(Mod, "mod", x1, x2)


# ----------------------------------------------------------------------------------
# fmax, fmin, ldexp, nextafter, heaviside
# ----------------------------------------------------------------------------------
class Fmax(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.sb = a.shape, b.shape
        self.a_wins = (a >= b) | xp.isnan(b)  # NaN loses to a number; ties go to a (as PyTorch)
        return xp.fmax(a, b)

    def backward(self, gy):  # d fmax/da = [a is taken], d fmax/db = [b is taken]
        return unbroadcast(gy * self.a_wins, self.sa), unbroadcast(gy * ~self.a_wins, self.sb)


class Fmin(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.sb = a.shape, b.shape
        self.a_wins = (a <= b) | xp.isnan(b)
        return xp.fmin(a, b)

    def backward(self, gy):  # d fmin/da = [a is taken], d fmin/db = [b is taken]
        return unbroadcast(gy * self.a_wins, self.sa), unbroadcast(gy * ~self.a_wins, self.sb)


class Ldexp(Function):
    def forward(self, mantissa):
        xp = get_array_module(mantissa)
        self.scale = xp.ldexp(xp.ones((), mantissa.dtype), self.exponent)
        return xp.ldexp(mantissa, self.exponent)

    def backward(self, gy):  # d(m·2^e)/dm = 2^e (e is an integer: no gradient)
        return unbroadcast(gy * self.scale, self.inputs[0].shape)


class NextAfter(Function):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return get_array_module(a).nextafter(a, b)

    def backward(self, gy):  # nextafter(a, b) = a ± one ulp: dy/da = 1, dy/db = 0
        return unbroadcast(gy, self.sa), None


def fmax(x1, x2) -> Tensor:
    """max(x1, x2) elementwise, ignoring NaN (NaN only where both are NaN); the gradient goes to the value
    taken (to x1 at ties, as PyTorch)."""
    return _apply_binary(Fmax, *_operands("fmax", x1, x2))


def fmin(x1, x2) -> Tensor:
    """min(x1, x2) elementwise, ignoring NaN (NaN only where both are NaN); the gradient goes to the value
    taken (to x1 at ties, as PyTorch)."""
    return _apply_binary(Fmin, *_operands("fmin", x1, x2))


def ldexp(x1, x2) -> Tensor:
    """x1 · 2^x2, with x2 an integer exponent; the result is a float (ints give ``floatx()``).

    Differentiable in x1 (d/dx1 = 2^x2); an x2 that is not of an integer dtype raises TypeError."""
    exponent = _array_of(x2) if not isinstance(x2, Tensor) else x2.data
    if exponent.dtype.kind not in "iu":
        raise TypeError(f"ldexp: expected x2 (the exponent) of an integer dtype, received dtype {exponent.dtype}")
    mantissa, _, dtype = _operands("ldexp", x1, x2, floating=True)
    exponent = exponent.astype(numpy.int64 if exponent.dtype.itemsize == 8 else numpy.int32, copy=False)
    return Ldexp.apply(mantissa, exponent=exponent)


def nextafter(x1, x2) -> Tensor:
    """The next floating-point value after x1 in the direction of x2 (x2 where they are equal); ints give
    ``floatx()``.

    Computed in the result's own precision, as NumPy: ``nextafter(float32(1), 2)`` is 1 + 2⁻²³. (Keras on
    PyTorch computes in float64 and rounds back, which returns x1 itself for float32 inputs.) Gradient: 1
    for x1, 0 for x2."""
    return _apply_binary(NextAfter, *_operands("nextafter", x1, x2, floating=True))


def heaviside(x1, x2) -> Tensor:
    """The step function: 0 where x1 < 0, x2 where x1 = 0, 1 where x1 > 0.

    The dtype is the promotion of the two, ints giving ``floatx()`` (int64: float64) and bools bool, as in
    Keras. Not differentiable (as in Keras on PyTorch)."""
    _check_broadcast("heaviside", x1, x2)
    dtype = _result_dtype(x1, x2)
    if dtype == "int64":
        dtype = "float64"
    elif dtype[0] in "iu":
        dtype = floatx()
    compute = floatx() if dtype == "bool" else dtype
    a, b = _as_dtype(x1, compute), _as_dtype(x2, compute)
    a_arr, b_arr = _array_of(a), _array_of(b)
    value = get_array_module(a_arr).heaviside(a_arr, b_arr).astype(dtype, copy=False)
    return undifferentiable("heaviside", value, a, b)


# ----------------------------------------------------------------------------------
# rounding
# ----------------------------------------------------------------------------------
class Rounding(Function):
    """sign, round, floor, ceil, trunc: piecewise constant, so the derivative is 0 wherever it exists (PyTorch
    and Keras give 0 everywhere)."""

    def forward(self, x):
        xp = get_array_module(x)
        if self.kind == "round":
            return xp.round(x, self.decimals)
        return getattr(xp, self.kind)(x)

    def backward(self, gy):  # d round(x)/dx = 0 (a.e.)
        return get_array_module(gy).zeros_like(gy)


def sign(x) -> Tensor:
    """−1, 0 or 1 by the sign of x (NaN stays NaN), in x's dtype; booleans are returned as they are.
    Zero gradient."""
    x = _unary_input(x)
    if _is_floating(x):
        return Rounding.apply(x, kind="sign")
    arr = _array_of(x)
    return _no_graph(arr if arr.dtype == bool else get_array_module(arr).sign(arr))


def signbit(x) -> Tensor:
    """Whether the sign bit of x is set (True for −0.0 and negative numbers), as booleans."""
    arr = _array_of(_unary_input(x))
    xp = get_array_module(arr)
    return _no_graph(xp.zeros(arr.shape, bool) if arr.dtype == bool else xp.signbit(arr))


def round(x, decimals: int = 0) -> Tensor:  # noqa: A001 - keras.ops name
    """x rounded to ``decimals`` decimal places, halves to even (round(2.5) = 2, round(0.125, 2) = 0.12).

    Floats round in their own dtype as x·10^decimals → nearest even → /10^decimals. Integers keep their
    dtype: unchanged for decimals >= 0, rounded to tens, hundreds, ... for negative decimals. Booleans are
    refused, as in Keras. Zero gradient."""
    if not isinstance(decimals, (int, numpy.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: expected an integer number of decimals, received decimals={decimals!r}")
    x = _unary_input(x)
    _refuse_bool("round", x.dtype.name)
    if _is_floating(x):
        return Rounding.apply(x, kind="round", decimals=int(decimals))
    arr = _array_of(x)
    if decimals >= 0 or arr.dtype.kind not in "iu":
        return _no_graph(arr)
    xp = get_array_module(arr)
    return _no_graph(xp.round(arr.astype(numpy.float64), int(decimals)).astype(arr.dtype))


def _floor_or_ceil(kind: str, x) -> Tensor:
    x = _unary_input(x)
    if not _is_floating(x):  # ints and bools give floatx (as Keras)
        x = _as_dtype(x, floatx())
    return Rounding.apply(x, kind=kind)


def floor(x) -> Tensor:
    """⌊x⌋, the largest integer <= x, as a float (ints and bools give ``floatx()``). Zero gradient."""
    return _floor_or_ceil("floor", x)


def ceil(x) -> Tensor:
    """⌈x⌉, the smallest integer >= x, as a float (ints and bools give ``floatx()``). Zero gradient."""
    return _floor_or_ceil("ceil", x)


def trunc(x) -> Tensor:
    """x rounded toward zero, in x's dtype (integers and booleans are returned as they are). Zero gradient."""
    x = _unary_input(x)
    return Rounding.apply(x, kind="trunc") if _is_floating(x) else _no_graph(_array_of(x))


class Fabs(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, gy):  # d|x|/dx = sign(x)
        return gy * self.sign


def fabs(x) -> Tensor:
    """|x| as a float (ints and bools give ``floatx()``); the derivative sign(x) is 0 at 0."""
    return Fabs.apply(_float_input(x))


# ----------------------------------------------------------------------------------
# nan_to_num; the parts of complex numbers; view
# ----------------------------------------------------------------------------------
class NanToNum(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, gy):  # dy/dx = 1 where x is finite, 0 where it was replaced
        return gy * self.finite


def nan_to_num(x, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """x with NaN replaced by ``nan``, +inf by ``posinf`` and −inf by ``neginf`` (None: the largest / most
    negative finite value of x's dtype); x's dtype is kept, integers and booleans returned as they are.

    The gradient is 1 where x is finite and 0 where a value was replaced (as PyTorch)."""
    x = _unary_input(x)
    if _is_floating(x):
        return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)
    arr = _array_of(x)
    if arr.dtype.kind == "c":
        return _no_graph(get_array_module(arr).nan_to_num(arr, nan=nan, posinf=posinf, neginf=neginf))
    return _no_graph(arr)


def real(x) -> Tensor:
    """The real part of x; a real x is returned as it is (its gradient passes through)."""
    x = _unary_input(x)
    if x.dtype.kind != "c":
        return x if isinstance(x, Tensor) else _no_graph(x)
    return _no_graph(_array_of(x).real.copy())


def imag(x) -> Tensor:
    """The imaginary part of x (complex inputs), as the real dtype of the same precision.

    For a real x this is an array of zeros of x's dtype (NumPy's and JAX's answer; Keras on PyTorch raises)."""
    arr = _array_of(_unary_input(x))
    if arr.dtype.kind != "c":  # a constant 0: no graph
        return _no_graph(get_array_module(arr).zeros_like(arr))
    return _no_graph(arr.imag.copy())


def conj(x) -> Tensor:
    """The complex conjugate of x; a real x is returned as it is (its gradient passes through)."""
    x = _unary_input(x)
    if x.dtype.kind != "c":
        return x if isinstance(x, Tensor) else _no_graph(x)
    arr = _array_of(x)
    return _no_graph(get_array_module(arr).conj(arr))


def conjugate(x) -> Tensor:
    """The complex conjugate of x (the same as :func:`conj`)."""
    return conj(x)


class Angle(Function):
    def forward(self, x):
        xp = get_array_module(x)
        y = xp.where(x < 0, numpy.pi, 0.0).astype(x.dtype)
        return xp.where(xp.isnan(x), x, y)

    def backward(self, gy):  # the angle of a real number is 0 or π: dy/dx = 0
        return get_array_module(gy).zeros_like(gy)


def angle(x) -> Tensor:
    """The argument of x in radians, atan2(imag, real); for a real x, π where x < 0 and 0 elsewhere (−0.0
    included, as PyTorch), NaN kept. Ints and bools give ``floatx()``; zero gradient for real inputs."""
    x = _unary_input(x)
    if x.dtype.kind == "c":
        arr = _array_of(x)
        return _no_graph(get_array_module(arr).angle(arr))
    return Angle.apply(_float_input(x))


def view(x, dtype=None) -> Tensor:
    """The bytes of x reinterpreted as ``dtype`` (a bitcast; None keeps x's dtype).

    A wider dtype joins neighbouring values of the last axis, a narrower one splits each value (so the last
    axis's length changes by the ratio of the item sizes and, when joining, must divide by it). Not
    differentiable (a reinterpretation of bits has no derivative); viewing as x's own dtype returns x."""
    x = _unary_input(x)
    arr = _array_of(x)
    if dtype is None or numpy.dtype(standardize_dtype(dtype)) == arr.dtype:
        return x if isinstance(x, Tensor) else _no_graph(x)
    target = numpy.dtype(standardize_dtype(dtype))
    xp = get_array_module(arr)
    if target.itemsize != arr.dtype.itemsize:
        if arr.ndim == 0:
            raise ValueError(f"view: a scalar cannot be viewed as a dtype of another size; received dtype "
                             f"{arr.dtype} viewed as {target}")
        if target.itemsize > arr.dtype.itemsize and (arr.shape[-1] * arr.dtype.itemsize) % target.itemsize:
            raise ValueError(f"view: the last axis ({arr.shape[-1]} values of {arr.dtype}) does not divide into "
                             f"values of {target}; received shape {arr.shape}")
    return undifferentiable("view", xp.ascontiguousarray(arr).view(target), x)

"""Trigonometric and hyperbolic functions of ``keras.ops`` and their inverses, arctan2, hypot, and the
conversions between degrees and radians.

All are float-valued: float inputs keep their dtype, ints and bools give ``floatx()`` (as Keras). Each is a
Function with its derivative beside it.
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import floatx, get_array_module
from .promotion import (
    _apply_binary,
    _as_dtype,
    _check_broadcast,
    _float_input,
    _operands,
    _refuse_bool,
    _result_dtype,
    _unary_input,
)

__all__ = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
           "arctan2", "hypot", "deg2rad", "rad2deg"]


class Sin(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, gy):  # d sin x/dx = cos x
        return gy * get_array_module(gy).cos(self.x)


class Cos(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, gy):  # d cos x/dx = −sin x
        return gy * -get_array_module(gy).sin(self.x)


class Tan(Function):
    def forward(self, x):
        self.y = get_array_module(x).tan(x)
        return self.y

    def backward(self, gy):  # d tan x/dx = 1 + tan² x
        return gy * (1 + self.y * self.y)


class Arcsin(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsin(x)

    def backward(self, gy):  # d asin x/dx = 1/√(1 − x²)
        return gy / get_array_module(gy).sqrt(1 - self.x * self.x)


class Arccos(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arccos(x)

    def backward(self, gy):  # d acos x/dx = −1/√(1 − x²)
        return -gy / get_array_module(gy).sqrt(1 - self.x * self.x)


class Arctan(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arctan(x)

    def backward(self, gy):  # d atan x/dx = 1/(1 + x²)
        return gy / (1 + self.x * self.x)


class Sinh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).sinh(x)

    def backward(self, gy):  # d sinh x/dx = cosh x
        return gy * get_array_module(gy).cosh(self.x)


class Cosh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).cosh(x)

    def backward(self, gy):  # d cosh x/dx = sinh x
        return gy * get_array_module(gy).sinh(self.x)


class Arcsinh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsinh(x)

    def backward(self, gy):  # d asinh x/dx = 1/√(x² + 1)
        return gy / get_array_module(gy).sqrt(self.x * self.x + 1)


class Arccosh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arccosh(x)

    def backward(self, gy):  # d acosh x/dx = 1/√(x² − 1)
        return gy / get_array_module(gy).sqrt(self.x * self.x - 1)


class Arctanh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arctanh(x)

    def backward(self, gy):  # d atanh x/dx = 1/(1 − x²)
        return gy / (1 - self.x * self.x)


class Arctan2(Function):
    def forward(self, y, x):
        self.y, self.x = y, x
        return get_array_module(y).arctan2(y, x)

    def backward(self, gy):  # θ = atan2(y, x): dθ/dy = x/(x² + y²), dθ/dx = −y/(x² + y²)
        r2 = self.x * self.x + self.y * self.y
        gy_ = unbroadcast(gy * self.x / r2, self.y.shape) if self.inputs[0].requires_grad else None
        gx = unbroadcast(gy * -self.y / r2, self.x.shape) if self.inputs[1].requires_grad else None
        return gy_, gx


class Hypot(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.h = get_array_module(a).hypot(a, b)
        return self.h

    def backward(self, gy):  # h = √(a² + b²): dh/da = a/h, dh/db = b/h
        ga = unbroadcast(gy * self.a / self.h, self.a.shape) if self.inputs[0].requires_grad else None
        gb = unbroadcast(gy * self.b / self.h, self.b.shape) if self.inputs[1].requires_grad else None
        return ga, gb


class Scale(Function):
    def forward(self, x):
        return x * x.dtype.type(self.factor)

    def backward(self, gy):  # d(c·x)/dx = c
        return gy * gy.dtype.type(self.factor)


def sin(x) -> Tensor:
    """sin x (x in radians); ints and bools give ``floatx()``."""
    return Sin.apply(_float_input(x))


def cos(x) -> Tensor:
    """cos x (x in radians); ints and bools give ``floatx()``."""
    return Cos.apply(_float_input(x))


def tan(x) -> Tensor:
    """tan x (x in radians); ints and bools give ``floatx()``."""
    return Tan.apply(_float_input(x))


def arcsin(x) -> Tensor:
    """The inverse sine, in [−π/2, π/2] (NaN outside [−1, 1]); ints and bools give ``floatx()``."""
    with numpy.errstate(invalid="ignore"):
        return Arcsin.apply(_float_input(x))


def arccos(x) -> Tensor:
    """The inverse cosine, in [0, π] (NaN outside [−1, 1]); ints and bools give ``floatx()``."""
    with numpy.errstate(invalid="ignore"):
        return Arccos.apply(_float_input(x))


def arctan(x) -> Tensor:
    """The inverse tangent, in (−π/2, π/2); ints and bools give ``floatx()``."""
    return Arctan.apply(_float_input(x))


def sinh(x) -> Tensor:
    """sinh x = (e^x − e^−x)/2; ints and bools give ``floatx()``."""
    return Sinh.apply(_float_input(x))


def cosh(x) -> Tensor:
    """cosh x = (e^x + e^−x)/2; ints and bools give ``floatx()``."""
    return Cosh.apply(_float_input(x))


def arcsinh(x) -> Tensor:
    """The inverse hyperbolic sine, ln(x + √(x² + 1)); ints and bools give ``floatx()``."""
    return Arcsinh.apply(_float_input(x))


def arccosh(x) -> Tensor:
    """The inverse hyperbolic cosine, ln(x + √(x² − 1)) (NaN below 1); ints and bools give ``floatx()``."""
    with numpy.errstate(invalid="ignore"):
        return Arccosh.apply(_float_input(x))


def arctanh(x) -> Tensor:
    """The inverse hyperbolic tangent, ½ ln((1 + x)/(1 − x)) (NaN outside [−1, 1]); ints and bools give
    ``floatx()``."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return Arctanh.apply(_float_input(x))


def arctan2(x1, x2) -> Tensor:
    """The angle of the point (x2, x1) in radians, in [−π, π] (the quadrant from both signs); ints and bools
    give ``floatx()``.

    Gradient: x2/(x1² + x2²) for x1 and −x1/(x1² + x2²) for x2."""
    return _apply_binary(Arctan2, *_operands("arctan2", x1, x2, floating=True))


def hypot(x1, x2) -> Tensor:
    """√(x1² + x2²), without overflow; integers give ``floatx()`` (int64: float64) and booleans are refused,
    as in Keras.

    Gradient: x1/h for x1 and x2/h for x2."""
    _check_broadcast("hypot", x1, x2)
    dtype = _result_dtype(x1, x2)
    _refuse_bool("hypot", dtype)
    if dtype[0] in "iu":
        dtype = "float64" if dtype == "int64" else floatx()
    return _apply_binary(Hypot, _as_dtype(x1, dtype), _as_dtype(x2, dtype), dtype)


def _int64_wide(x):
    """A float-valued op's input: int64 becomes float64 (as Keras's deg2rad and rad2deg), other ints floatx."""
    x = _unary_input(x)
    return _float_input(_as_dtype(x, "float64") if x.dtype == numpy.int64 else x)


def deg2rad(x) -> Tensor:
    """x degrees in radians, x · π/180; ints and bools give ``floatx()`` (int64: float64)."""
    return Scale.apply(_int64_wide(x), factor=math.pi / 180)


def rad2deg(x) -> Tensor:
    """x radians in degrees, x · 180/π; ints and bools give ``floatx()`` (int64: float64)."""
    return Scale.apply(_int64_wide(x), factor=180 / math.pi)

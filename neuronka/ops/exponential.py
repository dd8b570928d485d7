"""Exponentials, logarithms and powers of ``keras.ops`` beyond exp / log / sqrt / square (in :mod:`.math`):
exp2, expm1, log10, log1p, log2, logaddexp, logaddexp2, rsqrt, cbrt, reciprocal.

All are float-valued: float inputs keep their dtype, ints and bools give ``floatx()`` (as Keras). Each is a
Function with its derivative beside it.
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import get_array_module
from .promotion import _apply_binary, _float_input, _operands, _unary_input

__all__ = ["exp2", "expm1", "log10", "log1p", "log2", "logaddexp", "logaddexp2", "rsqrt", "cbrt", "reciprocal"]

LN2 = math.log(2.0)
LN10 = math.log(10.0)


class Exp2(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp2(x)
        return self.y

    def backward(self, gy):  # d 2^x/dx = 2^x · ln 2
        return gy * (self.y * LN2)


class Expm1(Function):
    def forward(self, x):
        self.y = get_array_module(x).expm1(x)
        return self.y

    def backward(self, gy):  # d(e^x − 1)/dx = e^x = y + 1
        return gy * (self.y + 1)


class Log10(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log10(x)

    def backward(self, gy):  # d log10 x/dx = 1/(x · ln 10)
        return gy / (self.x * LN10)


class Log1p(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, gy):  # d ln(1 + x)/dx = 1/(1 + x)
        return gy / (1 + self.x)


class Log2(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log2(x)

    def backward(self, gy):  # d log2 x/dx = 1/(x · ln 2)
        return gy / (self.x * LN2)


class Rsqrt(Function):
    def forward(self, x):
        self.y = 1 / get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):  # d x^(−1/2)/dx = −½ x^(−3/2) = −½ y³
        return gy * (-0.5 * self.y**3)


class Cbrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).cbrt(x)
        return self.y

    def backward(self, gy):  # d x^(1/3)/dx = 1/(3 y²) (infinite at 0)
        return gy / (3 * self.y * self.y)


class Reciprocal(Function):
    def forward(self, x):
        self.y = 1 / x
        return self.y

    def backward(self, gy):  # d(1/x)/dx = −1/x² = −y²
        return gy * -(self.y * self.y)


class LogAddExp(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.a, self.b = a, b
        self.y = xp.logaddexp2(a, b) if self.base2 else xp.logaddexp(a, b)
        return self.y

    def backward(self, gy):  # y = ln(e^a + e^b): dy/da = e^(a−y), dy/db = e^(b−y) (base 2: 2^(a−y), 2^(b−y))
        xp = get_array_module(gy)
        power = xp.exp2 if self.base2 else xp.exp
        ga = unbroadcast(gy * power(self.a - self.y), self.a.shape) if self.inputs[0].requires_grad else None
        gb = unbroadcast(gy * power(self.b - self.y), self.b.shape) if self.inputs[1].requires_grad else None
        return ga, gb


def exp2(x) -> Tensor:
    """2^x; ints and bools give ``floatx()``."""
    return Exp2.apply(_float_input(x))


def expm1(x) -> Tensor:
    """e^x − 1, accurate for small x; ints and bools give ``floatx()``."""
    return Expm1.apply(_float_input(x))


def log10(x) -> Tensor:
    """log₁₀ x; ints and bools give ``floatx()``."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return Log10.apply(_float_input(x))


def log1p(x) -> Tensor:
    """ln(1 + x), accurate for small x; ints and bools give ``floatx()``."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return Log1p.apply(_float_input(x))


def log2(x) -> Tensor:
    """log₂ x; ints and bools give ``floatx()``."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return Log2.apply(_float_input(x))


def rsqrt(x) -> Tensor:
    """1/√x; ints and bools give ``floatx()``."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return Rsqrt.apply(_float_input(x))


def cbrt(x) -> Tensor:
    """The real cube root ∛x (negative for negative x); ints and bools give ``floatx()``, int64 float64 (as
    Keras)."""
    x = _unary_input(x)
    return Cbrt.apply(_float_input(x.astype(numpy.float64) if x.dtype == numpy.int64 else x))


def reciprocal(x) -> Tensor:
    """1/x; ints and bools give ``floatx()``."""
    with numpy.errstate(divide="ignore"):
        return Reciprocal.apply(_float_input(x))


def logaddexp(x1, x2) -> Tensor:
    """ln(e^x1 + e^x2), computed without overflow; ints and bools give ``floatx()``.

    Gradient: e^(x1−y) for x1 (the softmax weight of x1), e^(x2−y) for x2."""
    return _apply_binary(LogAddExp, *_operands("logaddexp", x1, x2, floating=True), base2=False)


def logaddexp2(x1, x2) -> Tensor:
    """log₂(2^x1 + 2^x2), computed without overflow; ints and bools give ``floatx()``.

    Gradient: 2^(x1−y) for x1, 2^(x2−y) for x2."""
    return _apply_binary(LogAddExp, *_operands("logaddexp2", x1, x2, floating=True), base2=True)

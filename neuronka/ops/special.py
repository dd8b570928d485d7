"""Special functions of ``keras.ops``: erf, erfc, erfinv, i0 (the modified Bessel function of order 0) and the
normalized sinc.

NumPy lacks erf, erfc, erfinv and a float32 i0, so these use SciPy's ``scipy.special`` (CuPy's
``cupyx.scipy.special`` for GPU arrays). All are float-valued: float inputs keep their dtype, ints and bools
give ``floatx()`` (as Keras). Each is a Function with its derivative beside it.
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .promotion import _as_dtype, _float_input, _unary_input

__all__ = ["erf", "erfc", "erfinv", "i0", "sinc"]

TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2


def _special(xp):
    """The module of special functions for arrays of ``xp`` (scipy.special, or cupyx's for CuPy)."""
    if xp is numpy:
        import scipy.special  # noqa: PLC0415 - loaded when first needed

        return scipy.special
    import cupyx.scipy.special  # noqa: PLC0415 - optional dependency

    return cupyx.scipy.special


def _in_dtype(value, dtype):
    """SciPy computes float16 in float32 and some functions only in float64: back to the input's dtype."""
    return value.astype(dtype, copy=False)


class Erf(Function):
    def forward(self, x):
        self.x = x
        return _in_dtype(_special(get_array_module(x)).erf(x), x.dtype)

    def backward(self, gy):  # d erf x/dx = 2/√π · e^(−x²)
        return gy * (TWO_OVER_SQRT_PI * get_array_module(gy).exp(-self.x * self.x))


class Erfc(Function):
    def forward(self, x):
        self.x = x
        return _in_dtype(_special(get_array_module(x)).erfc(x), x.dtype)

    def backward(self, gy):  # d erfc x/dx = −2/√π · e^(−x²)
        return gy * (-TWO_OVER_SQRT_PI * get_array_module(gy).exp(-self.x * self.x))


class Erfinv(Function):
    def forward(self, x):
        self.y = _in_dtype(_special(get_array_module(x)).erfinv(x), x.dtype)
        return self.y

    def backward(self, gy):  # y = erfinv x, x = erf y: dy/dx = 1/erf'(y) = √π/2 · e^(y²)
        return gy * (SQRT_PI_OVER_TWO * get_array_module(gy).exp(self.y * self.y))


class I0(Function):
    def forward(self, x):
        self.x = x
        return _in_dtype(_special(get_array_module(x)).i0(x), x.dtype)

    def backward(self, gy):  # d I₀(x)/dx = I₁(x)
        return gy * _in_dtype(_special(get_array_module(gy)).i1(self.x), gy.dtype)


class Sinc(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        self.y = xp.sinc(x)
        return self.y

    def backward(self, gy):  # sinc x = sin(πx)/(πx): d/dx = (cos(πx) − sinc x)/x, and 0 at x = 0
        xp = get_array_module(gy)
        zero = self.x == 0
        safe_x = xp.where(zero, 1, self.x)
        slope = (xp.cos(numpy.pi * self.x) - self.y) / safe_x
        return gy * xp.where(zero, 0, slope)


def erf(x) -> Tensor:
    """The error function, 2/√π ∫₀ˣ e^(−t²) dt; ints and bools give ``floatx()``."""
    return Erf.apply(_float_input(x))


def erfc(x) -> Tensor:
    """The complementary error function, 1 − erf x (accurate where erf x is near 1); ints and bools give
    ``floatx()``."""
    return Erfc.apply(_float_input(x))


def erfinv(x) -> Tensor:
    """The inverse error function: y with erf y = x, for x in [−1, 1] (±inf at ±1, NaN outside); ints and
    bools give ``floatx()``.

    Gradient: √π/2 · exp(erfinv(x)²)."""
    return Erfinv.apply(_float_input(x))


def i0(x) -> Tensor:
    """The modified Bessel function of the first kind of order 0, I₀(x) = Σ (x/2)^(2k)/(k!)²; ints and bools
    give ``floatx()``, int64 float64 (as Keras).

    Gradient: I₁(x)."""
    x = _unary_input(x)
    return I0.apply(_float_input(_as_dtype(x, "float64") if x.dtype == numpy.int64 else x))


def sinc(x) -> Tensor:
    """The normalized sinc, sin(πx)/(πx), with sinc 0 = 1; ints and bools give ``floatx()``.

    Gradient: (cos(πx) − sinc x)/x, continued by 0 at x = 0 (the removable singularity)."""
    return Sinc.apply(_float_input(x))

"""Comparisons, logical operations and tests of values (``keras.ops``): equal, not_equal, greater,
greater_equal, less, less_equal, logical_and / or / xor / not, isnan, isinf, isfinite, isneginf, isposinf,
isreal, isclose, allclose.

All return booleans and carry no graph (a comparison has no derivative). Two operands are compared in their
promoted dtype (Keras's rules, see :mod:`.promotion`).
"""
from __future__ import annotations

import numbers

from ..autograd import Tensor
from ..backend import get_array_module
from .promotion import _array_of, _no_graph, _operands, _unary_input

__all__ = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
           "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "isneginf", "isposinf", "isreal", "isclose",
           "allclose"]


def _arrays(op: str, x1, x2):
    a, b, _ = _operands(op, x1, x2)
    a, b = _array_of(a), _array_of(b)
    return get_array_module(a, b), a, b


def equal(x1, x2) -> Tensor:
    """x1 == x2 elementwise, broadcasting (NaN equals nothing)."""
    xp, a, b = _arrays("equal", x1, x2)
    return _no_graph(xp.equal(a, b))


def not_equal(x1, x2) -> Tensor:
    """x1 != x2 elementwise, broadcasting."""
    xp, a, b = _arrays("not_equal", x1, x2)
    return _no_graph(xp.not_equal(a, b))


def greater(x1, x2) -> Tensor:
    """x1 > x2 elementwise, broadcasting."""
    xp, a, b = _arrays("greater", x1, x2)
    return _no_graph(xp.greater(a, b))


def greater_equal(x1, x2) -> Tensor:
    """x1 >= x2 elementwise, broadcasting."""
    xp, a, b = _arrays("greater_equal", x1, x2)
    return _no_graph(xp.greater_equal(a, b))


def less(x1, x2) -> Tensor:
    """x1 < x2 elementwise, broadcasting."""
    xp, a, b = _arrays("less", x1, x2)
    return _no_graph(xp.less(a, b))


def less_equal(x1, x2) -> Tensor:
    """x1 <= x2 elementwise, broadcasting."""
    xp, a, b = _arrays("less_equal", x1, x2)
    return _no_graph(xp.less_equal(a, b))


def logical_and(x1, x2) -> Tensor:
    """x1 AND x2, each value true when nonzero."""
    xp, a, b = _arrays("logical_and", x1, x2)
    return _no_graph(xp.logical_and(a, b))


def logical_or(x1, x2) -> Tensor:
    """x1 OR x2, each value true when nonzero."""
    xp, a, b = _arrays("logical_or", x1, x2)
    return _no_graph(xp.logical_or(a, b))


def logical_xor(x1, x2) -> Tensor:
    """x1 XOR x2 (exactly one true), each value true when nonzero."""
    xp, a, b = _arrays("logical_xor", x1, x2)
    return _no_graph(xp.logical_xor(a, b))


def logical_not(x) -> Tensor:
    """NOT x: true where x is zero."""
    arr = _array_of(_unary_input(x))
    return _no_graph(get_array_module(arr).logical_not(arr))


def _test_floats(x, test, default: bool) -> Tensor:
    """``test`` on a float or complex x; integers and booleans are all ``default`` (never NaN or infinite)."""
    arr = _array_of(_unary_input(x))
    xp = get_array_module(arr)
    if arr.dtype.kind in "fc":
        return _no_graph(test(xp, arr))
    return _no_graph(xp.full(arr.shape, default))


def isnan(x) -> Tensor:
    """Whether each value is NaN."""
    return _test_floats(x, lambda xp, a: xp.isnan(a), False)


def isinf(x) -> Tensor:
    """Whether each value is +inf or −inf."""
    return _test_floats(x, lambda xp, a: xp.isinf(a), False)


def isfinite(x) -> Tensor:
    """Whether each value is finite (not NaN, not ±inf)."""
    return _test_floats(x, lambda xp, a: xp.isfinite(a), True)


def isneginf(x) -> Tensor:
    """Whether each value is −inf."""
    return _test_floats(x, lambda xp, a: xp.isinf(a) & (a.real < 0), False)


def isposinf(x) -> Tensor:
    """Whether each value is +inf."""
    return _test_floats(x, lambda xp, a: xp.isinf(a) & (a.real > 0), False)


def isreal(x) -> Tensor:
    """Whether each value is real: true everywhere for a real dtype, where the imaginary part is 0 for a
    complex one."""
    arr = _array_of(_unary_input(x))
    xp = get_array_module(arr)
    return _no_graph(arr.imag == 0 if arr.dtype.kind == "c" else xp.ones(arr.shape, bool))


def _check_tolerance(op: str, rtol, atol) -> None:
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(f"{op}: expected {name} a non-negative number, received {name}={value!r}")


def isclose(x1, x2, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|x1 − x2| <= atol + rtol·|x2| elementwise (equal infinities are close; NaN is close to NaN only with
    ``equal_nan``). Integers and booleans are compared for equality, as Keras does."""
    _check_tolerance("isclose", rtol, atol)
    xp, a, b = _arrays("isclose", x1, x2)
    if a.dtype.kind not in "fc":
        return _no_graph(xp.equal(a, b))
    return _no_graph(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Whether every pair is :func:`isclose`: a scalar boolean tensor."""
    return _no_graph(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan).data.all())

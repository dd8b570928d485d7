"""Bitwise operations and integer number theory of ``keras.ops``: bitwise_and / or / xor / not (invert),
left and right shifts, gcd and lcm.

Integers and booleans only (floats raise TypeError); the dtype is Keras's promotion of the operands (a
Python int beside an array takes the array's dtype). No graph: these have no derivative.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from .promotion import _array_of, _no_graph, _operands, _unary_input

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert", "bitwise_left_shift",
           "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm"]


def _integer_arrays(op: str, x1, x2, bool_ok: bool = True):
    a, b, dtype = _operands(op, x1, x2)
    if dtype[0] not in "iu" and not (bool_ok and dtype == "bool"):
        allowed = "integer or boolean" if bool_ok else "integer"
        raise TypeError(f"{op}: expected {allowed} inputs, received operands of promoted dtype {dtype}")
    a, b = _array_of(a), _array_of(b)
    return get_array_module(a, b), a, b


def bitwise_and(x, y) -> Tensor:
    """x AND y bit by bit (logical and for booleans)."""
    xp, a, b = _integer_arrays("bitwise_and", x, y)
    return _no_graph(xp.bitwise_and(a, b))


def bitwise_or(x, y) -> Tensor:
    """x OR y bit by bit (logical or for booleans)."""
    xp, a, b = _integer_arrays("bitwise_or", x, y)
    return _no_graph(xp.bitwise_or(a, b))


def bitwise_xor(x, y) -> Tensor:
    """x XOR y bit by bit (logical xor for booleans)."""
    xp, a, b = _integer_arrays("bitwise_xor", x, y)
    return _no_graph(xp.bitwise_xor(a, b))


def bitwise_not(x) -> Tensor:
    """NOT x bit by bit: −x − 1 for signed integers, the complement for unsigned ones, logical not for
    booleans."""
    arr = _array_of(_unary_input(x))
    if arr.dtype.kind not in "iub":
        raise TypeError(f"bitwise_not: expected an integer or boolean input, received dtype {arr.dtype}")
    return _no_graph(get_array_module(arr).invert(arr))


def bitwise_invert(x) -> Tensor:
    """NOT x bit by bit (the same as :func:`bitwise_not`)."""
    return bitwise_not(x)


def bitwise_left_shift(x, y) -> Tensor:
    """x shifted left by y bits, x · 2^y in the integer dtype (bits shifted out are lost).

    Two booleans are refused, as in Keras; a Python int ``y`` takes the dtype of ``x``. (Keras on PyTorch gives
    int64 for a boolean x and a Python int y; neuronka follows Keras's promotion rule, int32.)"""
    xp, a, b = _integer_arrays("bitwise_left_shift", x, y, bool_ok=False)
    return _no_graph(xp.left_shift(a, b))


def bitwise_right_shift(x, y) -> Tensor:
    """x shifted right by y bits (⌊x / 2^y⌋: arithmetic, the sign kept, for signed integers).

    Two booleans are refused, as in Keras; a Python int ``y`` takes the dtype of ``x``."""
    xp, a, b = _integer_arrays("bitwise_right_shift", x, y, bool_ok=False)
    return _no_graph(xp.right_shift(a, b))


def left_shift(x, y) -> Tensor:
    """x shifted left by y bits (the same as :func:`bitwise_left_shift`)."""
    return bitwise_left_shift(x, y)


def right_shift(x, y) -> Tensor:
    """x shifted right by y bits (the same as :func:`bitwise_right_shift`)."""
    return bitwise_right_shift(x, y)


def gcd(x1, x2) -> Tensor:
    """The greatest common divisor of |x1| and |x2| elementwise (gcd(0, 0) = 0); integers only."""
    xp, a, b = _integer_arrays("gcd", x1, x2, bool_ok=False)
    return _no_graph(xp.gcd(a, b))


def lcm(x1, x2) -> Tensor:
    """The least common multiple of |x1| and |x2| elementwise (0 if either is 0); integers only."""
    xp, a, b = _integer_arrays("lcm", x1, x2, bool_ok=False)
    return _no_graph(xp.lcm(a, b))

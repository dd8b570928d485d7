"""Operands as Keras converts and promotes them, shared by the elementwise ops (:mod:`.math`,
:mod:`.elementwise`, :mod:`.exponential`, ...), and ``cast``.

Keras's ``convert_to_tensor`` makes a Python ``int`` int32, a ``float`` ``floatx()`` and a list of Python
numbers the promoted dtype of its items; arrays and tensors keep theirs. Operands of different dtypes are
promoted by Keras's rules (:func:`neuronka.dtypes.result_type`), a Python scalar (or NumPy scalar, as
PyTorch treats it) beside an array being weakly typed: ``add(int32_array, 1.5)`` is float32,
``add(float16_array, 2)`` float16. A tensor that requires gradients is converted through ``cast`` (part of
the graph), so its gradient comes back in its own dtype. Integer, boolean and complex results carry no graph.
"""
from __future__ import annotations

import numbers

import numpy

from ..autograd import Function, Tensor, _as_array
from ..backend import floatx
from ..dtypes import result_type, standardize_dtype


def _check_broadcast(name, a, b):
    """The broadcast shape of a and b, or a ValueError naming the op and both shapes."""
    sa, sb = numpy.shape(getattr(a, "data", a)), numpy.shape(getattr(b, "data", b))
    if sa == sb or not sb:  # the common cases, without NumPy's slower general check
        return sa
    try:
        return numpy.broadcast_shapes(sa, sb)
    except ValueError:
        raise ValueError(
            f"{name}: expected shapes that broadcast together, received "
            f"{numpy.shape(getattr(a, 'data', a))} and {numpy.shape(getattr(b, 'data', b))}"
        ) from None


_INT32_RANGE = (-(2**31), 2**31)


def _array_of(x):
    """``x`` as an array the way Keras's ``convert_to_tensor`` makes it: Tensors and arrays keep their dtype,
    a Python int is int32 (int64 when it does not fit), a float ``floatx()``, a bool bool, and a list of
    Python numbers takes the promoted dtype of its items (ints int32, floats ``floatx()``)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, bool):
        return numpy.asarray(x)
    if isinstance(x, int):
        return numpy.asarray(x, numpy.int32 if _INT32_RANGE[0] <= x < _INT32_RANGE[1] else numpy.int64)
    if isinstance(x, complex):
        return numpy.asarray(x, numpy.complex64)
    if isinstance(x, (list, tuple)) and x and not _has_arrays(x):
        arr = numpy.asarray(x)
        if arr.dtype == numpy.int64 and arr.size and _INT32_RANGE[0] <= arr.min() and arr.max() < _INT32_RANGE[1]:
            return arr.astype(numpy.int32)
        return arr.astype(floatx()) if arr.dtype == numpy.float64 else arr
    return _as_array(x)


def _has_arrays(items) -> bool:
    """Whether a nested list holds arrays or NumPy scalars (whose dtypes count) rather than Python numbers."""
    return any(_has_arrays(i) if isinstance(i, (list, tuple)) else not isinstance(i, (bool, int, float, complex))
               for i in items)


def _operand_dtype(x):
    """What :func:`~neuronka.dtypes.result_type` takes for ``x``: a dtype name, or the Python type ``int`` or
    ``float`` for a weakly typed scalar (Python numbers and NumPy scalars, as PyTorch treats them)."""
    if isinstance(x, bool) or isinstance(x, numpy.bool_):
        return "bool"
    if isinstance(x, numbers.Integral):
        return int
    if isinstance(x, (float, numpy.floating)):
        return float
    dtype = getattr(x, "dtype", None)
    return standardize_dtype(dtype if dtype is not None else _array_of(x).dtype)


def _result_dtype(*xs, floating: bool = False) -> str:
    """Keras's dtype of an op on ``xs``; with ``floating``, ints and bools give ``floatx()`` (as divide, arctan2)."""
    dtypes = [_operand_dtype(x) for x in xs]
    if floating:
        dtypes.append(float)
    return result_type(*dtypes)


def _as_dtype(x, dtype):
    """``x`` in ``dtype``: a Tensor that requires gradients is cast through the graph, anything else converted."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else cast(x, dtype)
    if isinstance(x, (bool, int, float, complex)):  # straight to dtype (0.1 not rounded to float32 on the way)
        return numpy.asarray(x).astype(dtype)
    arr = _array_of(x)
    return arr if arr.dtype == dtype else arr.astype(dtype)


def _operands(op: str, x1, x2, floating: bool = False, broadcast: bool = True):
    """``x1`` and ``x2`` converted to Keras's result dtype (and checked to broadcast), and that dtype."""
    if broadcast:
        _check_broadcast(op, x1, x2)
    d1, d2 = getattr(x1, "dtype", None), getattr(x2, "dtype", None)
    if d1 is not None and d2 is not None and d1 == d2 and d1.kind == "f":  # the common case: one float dtype
        return x1, x2, _name(d1)
    if d1 is not None and d1.kind == "f" and type(x2) in (int, float):  # a float tensor and a Python number
        return x1, numpy.asarray(x2, d1), _name(d1)
    if d2 is not None and d2.kind == "f" and type(x1) in (int, float):
        return numpy.asarray(x1, d2), x2, _name(d2)
    dtype = _result_dtype(x1, x2, floating=floating)
    return _as_dtype(x1, dtype), _as_dtype(x2, dtype), dtype


_NAMES: dict = {}


def _name(dtype: numpy.dtype) -> str:
    """``dtype.name``, remembered (NumPy computes it in Python each time)."""
    name = _NAMES.get(dtype)
    if name is None:
        name = _NAMES[dtype] = dtype.name
    return name


def _refuse_bool(op: str, dtype: str, what: str = "boolean inputs") -> None:
    if dtype == "bool":
        raise TypeError(f"{op}: {what} are not supported (as in Keras); cast them to an integer or float dtype "
                        f"first, received dtype bool")


def _no_graph(result) -> Tensor:
    """An integer, boolean or complex result: a Tensor outside any graph."""
    return Tensor(result)


def _apply_binary(fn_class, a, b, dtype: str, **config) -> Tensor:
    """A two-input Function on operands already in ``dtype``; integer and boolean results carry no graph;
    complex results of tensors that require gradients raise when differentiated (gradients here are real)."""
    if dtype.startswith("float"):
        return fn_class.apply(a, b, **config)
    result = fn_class(**config).forward(_array_of(a), _array_of(b))
    if dtype.startswith("complex"):
        from ._util import undifferentiable  # noqa: PLC0415

        return undifferentiable(f"{fn_class.__name__.lower()} of complex values (neuronka differentiates real "
                                f"tensors only)", result, a, b)
    return _no_graph(result)


def _unary_input(x):
    """A Tensor stays itself; anything else becomes an array as Keras converts it."""
    return x if isinstance(x, Tensor) else _array_of(x)


def _float_input(x):
    """``x`` in the dtype of a float-valued op on it: floats keep theirs, ints and bools become ``floatx()``."""
    x = _unary_input(x)
    return x if x.dtype.kind in "fc" else _as_dtype(x, floatx())


def _is_floating(x) -> bool:
    return x.dtype.kind == "f"


class Cast(Function):
    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):  # the identity, back in the input's dtype
        return gy.astype(self.src)


def cast(x, dtype) -> Tensor:
    """x converted to ``dtype`` (a name, a NumPy dtype or a Python type; None: ``floatx()``).

    Float to float keeps the graph (the gradient is converted back); a cast to an integer or boolean dtype
    carries none. A Tensor already of ``dtype`` is returned as it is (as Keras does)."""
    name = standardize_dtype(dtype)
    try:
        target = numpy.dtype(name)
    except TypeError:
        raise ValueError(f"cast: dtype {name!r} has no NumPy equivalent, so neuronka cannot hold it; "
                         f"received dtype={dtype!r}") from None
    if isinstance(x, Tensor):
        if x.dtype == target:
            return x
        if target.kind == "f" and x.dtype.kind == "f":
            return Cast.apply(x, dtype=target)
        return _no_graph(x.data.astype(target))
    if isinstance(x, (bool, int, float, complex)):  # exactly, not through int32 or floatx first
        return _no_graph(numpy.asarray(x).astype(target))
    return _no_graph(_array_of(x).astype(target, copy=False))

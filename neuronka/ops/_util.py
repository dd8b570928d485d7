"""Small helpers shared by the op modules: arrays in, Tensors out, Keras's dtype rules, axes, and ops
whose gradient is undefined.

* :func:`data` — the array inside a Tensor (or ``asarray`` of anything else), Python floats as floatx.
* :func:`wrap` — an array as a Tensor with no graph (integer, boolean and other non-differentiable
  results; a differentiable op is a :class:`~neuronka.autograd.Function`).
* :func:`undifferentiable` — a result whose backward raises a clear error naming the op when a
  gradient is asked through it (never a silent zero).
* :func:`float_dtype_of` — the dtype a float-valued op returns (ints and bools → ``floatx()``, as Keras).
* :func:`norm_axes` — an ``axis`` argument as a sorted tuple of non-negative axes (None: all).
"""
from __future__ import annotations

import numbers

import numpy

from ..autograd import Function, Tensor, _as_array, is_grad_enabled
from ..backend import floatx
from ..dtypes import result_type, standardize_dtype

# the symbolic tensor types (neuronka.layers.symbolic.KerasTensor registers itself): an op called on one
# records a node of a functional model instead of computing (see symbolic_dispatch)
SYMBOLIC_TYPES: set = set()


def _any_symbolic(values) -> bool:
    for v in values:
        t = type(v)
        if t in SYMBOLIC_TYPES:
            return True
        if (t is list or t is tuple) and v and _any_symbolic(v):
            return True
    return False


def symbolic_dispatch(fn):
    """``fn`` that, given a symbolic tensor among its arguments (or inside a list/tuple argument), returns
    the symbolic outputs of a functional-model node running ``fn`` (neuronka.layers.operation) instead."""
    import functools  # noqa: PLC0415

    symbolic = SYMBOLIC_TYPES

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if symbolic and (_any_symbolic(args) or (kwargs and _any_symbolic(kwargs.values()))):
            from ..layers.operation import symbolic_op_call  # noqa: PLC0415 - layers import ops

            return symbolic_op_call(fn, args, kwargs)
        return fn(*args, **kwargs)

    op._symbolic_dispatch = True
    return op


def data(x, dtype=None):
    """The array of a Tensor, or ``x`` as an array (Python floats and float lists become floatx)."""
    return _as_array(x, dtype)


def wrap(array) -> Tensor:
    """A Tensor around ``array`` that takes no part in differentiation."""
    return Tensor(array)


class _Undifferentiable(Function):
    def forward(self, x):
        return self.value

    def backward(self, gy):
        raise RuntimeError(f"{self.op}: the gradient of this op is undefined, so it cannot be differentiated "
                           f"(received a gradient of shape {tuple(gy.shape)}); use ops.stop_gradient on its "
                           f"input if no gradient should flow there")


def undifferentiable(op: str, value, *inputs) -> Tensor:
    """``value`` as a Tensor; when an input requires gradients, a backward through it raises naming ``op``."""
    tensors = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not tensors or not is_grad_enabled() or numpy.asarray(value).dtype.kind not in "fc":
        return Tensor(value)
    return _Undifferentiable.apply(tensors[0], value=value, op=op)


def float_dtype_of(*xs) -> str:
    """The result dtype of a float-valued op (sqrt, mean, sin, ...): float inputs keep their dtype
    (promoted together), ints and bools give ``floatx()``."""
    dt = result_type(*[_dtype_arg(x) for x in xs]) if xs else floatx()
    return dt if (dt.startswith("float") or dt.startswith("complex") or dt == "bfloat16") else floatx()


def _dtype_arg(x):
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, numbers.Integral):
        return int
    if isinstance(x, numbers.Real):
        return float
    return standardize_dtype(getattr(x, "dtype", None) or numpy.asarray(x).dtype)


def dtype_of(*xs) -> str:
    """Keras's result dtype of the values ``xs`` (arrays, Tensors, Python scalars weakly typed)."""
    return result_type(*[_dtype_arg(x) for x in xs])


def norm_axes(axis, ndim: int, op: str = "op") -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as a sorted tuple of axes in [0, ndim)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of bounds for an input of rank {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in axis={axis!r}")
    return tuple(sorted(out))

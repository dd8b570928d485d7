"""Core ops of ``keras.ops``: conversion (convert_to_tensor, convert_to_numpy, is_tensor, shape, dtype,
saturate_cast, copy), stop_gradient and custom_gradient, and windows and scatters (slice, slice_update,
scatter, scatter_update). The control flow (cond, switch, while_loop, fori_loop, scan, associative_scan,
map, vectorized_map, vectorize) lives in :mod:`.control_flow` and is exported from here.

Each differentiable op is a :class:`~neuronka.autograd.Function` with its backward beside it.
"""
from __future__ import annotations

import builtins
import functools
import inspect
from collections.abc import Callable

import numpy

from .. import tree
from ..autograd import Function, Tensor, no_grad, unbroadcast
from ..backend import asnumpy, floatx, get_array_module
from ..dtypes import result_type, standardize_dtype
from .math import cast, clip, getitem, reshape

__all__ = [
    "associative_scan", "cond", "convert_to_numpy", "convert_to_tensor", "copy", "custom_gradient", "dtype",
    "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice",
    "slice_update", "stop_gradient", "switch", "vectorize", "vectorized_map", "while_loop",
]


# ----------------------------------------------------------------------------------------------
# conversion
# ----------------------------------------------------------------------------------------------
class _Identity(Function):
    """y = x (a copy when ``copy``); a Variable read as a tensor, ``ops.copy``."""

    def forward(self, x):
        return x.copy() if self.copy else x

    def backward(self, gy):  # dy/dx = 1
        return gy


def _is_variable(x) -> bool:
    from ..layers.base import Variable  # noqa: PLC0415 - layers import ops

    return isinstance(x, Variable)


def _python_scalar_dtype(x) -> str:
    """Keras's dtype of a Python scalar: bool, int32 (int64 beyond its range), floatx, complex64."""
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        return "int64" if not -(2**31) <= x < 2**31 else "int32"
    if isinstance(x, float):
        return floatx()
    return "complex64"


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None) -> Tensor:
    """``x`` as a Tensor of ``dtype`` (default: its own).

    A Tensor of that dtype is returned as is (the same object, its graph kept); another dtype is a
    differentiable cast. A Variable gives a tensor reading it (gradients reach the variable). Python
    scalars: bool → bool, int → int32 (int64 beyond int32's range), float → ``floatx()``, complex →
    complex64. Lists and tuples take Keras's promotion of their items (``[1, 2.0]`` → float32; a list
    holding Tensors is stacked); NumPy arrays keep their dtype. ``sparse=True`` and ``ragged=True`` raise
    (neuronka has neither kind of tensor).
    """
    if sparse:
        raise ValueError("convert_to_tensor: `sparse=True` is not supported: neuronka has no sparse tensors")
    if ragged:
        raise ValueError("convert_to_tensor: `ragged=True` is not supported: neuronka has no ragged tensors")
    dtype = None if dtype is None else standardize_dtype(dtype)
    if isinstance(x, Tensor):
        if _is_variable(x):
            x = _Identity.apply(x, copy=False)
        return x if dtype is None or standardize_dtype(x.dtype) == dtype else cast(x, dtype)
    if isinstance(x, (bool, int, float, complex)):  # numpy.float64 is a float: floatx, as in Keras
        return Tensor(numpy.asarray(x, dtype=dtype or _python_scalar_dtype(x)))
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, Tensor) for e in x):
            from .math import stack  # noqa: PLC0415

            stacked = stack([convert_to_tensor(e) for e in x])
            return stacked if dtype is None else convert_to_tensor(stacked, dtype)
        if dtype is None:
            leaves = tree.flatten(x)
            if any(isinstance(e, (str, bytes)) for e in leaves):
                raise ValueError(f"convert_to_tensor: expected numbers, received strings in {x!r}")
            dtype = result_type(*[getattr(e, "dtype", type(e)) for e in leaves])
        try:
            return Tensor(numpy.asarray(x, dtype=dtype))
        except ValueError as err:
            raise ValueError(f"convert_to_tensor: cannot make a tensor of {type(x).__name__} {x!r}: {err}") from None
    xp = get_array_module(x)
    array = xp.asarray(x)
    if array.dtype.kind not in "biufc":
        raise ValueError(f"convert_to_tensor: expected numbers, received an array of dtype {array.dtype}")
    return Tensor(array if dtype is None else array.astype(dtype))


def convert_to_numpy(x) -> numpy.ndarray:
    """``x`` as a NumPy array (a copy; a list or tuple of tensors becomes one stacked array)."""
    def one(v):
        return numpy.array(asnumpy(v.data)) if isinstance(v, Tensor) else numpy.array(v)

    if isinstance(x, (list, tuple)):
        return numpy.array([one(v) for v in x])
    return one(x)


def is_tensor(x) -> bool:
    """Whether ``x`` is a neuronka Tensor; a Variable is not one (as in Keras), nor a NumPy array."""
    return isinstance(x, Tensor) and not _is_variable(x)


def shape(x) -> tuple:
    """``x.shape`` as a tuple."""
    if not hasattr(x, "shape"):
        raise AttributeError(f"shape: expected a tensor or array, received {type(x).__name__} (no `shape`)")
    return tuple(x.shape)


def dtype(x) -> str:
    """The standardized name of ``x.dtype`` (``"float32"``, ``"int32"``, ...)."""
    if not hasattr(x, "dtype"):
        raise AttributeError(f"dtype: expected a tensor or array, received {type(x).__name__} (no `dtype`)")
    return standardize_dtype(x.dtype)


def _value_range(dtype_name: str) -> tuple:
    """The smallest and largest finite values of a dtype (bool: 0 and 1), as exact Python numbers."""
    if dtype_name == "bool":
        return 0, 1
    if "int" in dtype_name:
        info = numpy.iinfo(dtype_name)
        return int(info.min), int(info.max)
    info = numpy.finfo(dtype_name)
    return float(info.min), float(info.max)


def _limit_in(dtype_name: str, bound, inside: Callable) -> numpy.generic:
    """``bound`` as a value of ``dtype_name``, moved toward 0 by one step if rounding put it outside
    the target range (float32 cannot hold 2**31 - 1: it rounds to 2**31, so 2**31 - 128 is used)."""
    value = numpy.asarray(bound).astype(dtype_name)[()]
    if not inside(value.item()):
        value = numpy.nextafter(value, numpy.zeros((), dtype_name))
    return value


def saturate_cast(x, dtype) -> Tensor:
    """``cast(clip(x, lo, hi), dtype)`` where [lo, hi] is the range of ``dtype`` (within that of x's
    dtype), so out-of-range values saturate instead of wrapping: float → uint8 maps −1.5 to 0 and 300 to
    255, and ±inf to the finite limits; NaN becomes 0 for integer targets. Differentiable between float
    dtypes (gradient 1 inside the range, 0 where clipped).

    Keras 3.15.1 computes its limits with NumPy 2 comparisons that round (float32 → int32 sends 3e9 to
    −2**31, int64 → float32 sends every value to −9.2e18); neuronka uses exact limits.
    """
    dtype = standardize_dtype(dtype)
    x = convert_to_tensor(x)
    in_dtype = standardize_dtype(x.dtype)
    if in_dtype == "bool":  # 0 and 1 fit every dtype
        return cast(x, dtype)
    in_min, in_max = _value_range(in_dtype)
    out_min, out_max = _value_range(dtype)
    lo = _limit_in(in_dtype, builtins.max(in_min, out_min), lambda v: v >= out_min)
    hi = _limit_in(in_dtype, builtins.min(in_max, out_max), lambda v: v <= out_max)
    if x.dtype.kind == "f" and dtype != "bool" and "int" in dtype:  # an integer result carries no graph
        xp = get_array_module(x.data)
        clipped = xp.clip(x.data, lo, hi)
        with numpy.errstate(invalid="ignore"):
            return Tensor(xp.where(xp.isnan(clipped), 0, clipped).astype(dtype))
    return cast(clip(x, lo, hi), dtype)


def copy(x) -> Tensor:
    """A new tensor holding a copy of x's values (gradient: the identity)."""
    return _Identity.apply(convert_to_tensor(x), copy=True)


def stop_gradient(variable) -> Tensor:
    """The value of ``variable`` cut from the graph: no gradient flows back through it."""
    x = convert_to_tensor(variable) if not isinstance(variable, Tensor) else variable
    return Tensor(x.data)


# ----------------------------------------------------------------------------------------------
# custom gradients
# ----------------------------------------------------------------------------------------------
class _CustomGradient(Function):
    """The output ``f`` computed (``value``), with the user's ``grad_fn`` as the backward."""

    def forward(self, *xs):
        return self.value

    def backward(self, gy):  # dL/dx_i = grad_fn(upstream=dL/dy)[i]
        upstream = self.unpack(Tensor(gy))
        with no_grad():
            grads = _call_grad_fn(self.grad_fn, self.args, upstream)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != len(self.args):
            raise ValueError(f"custom_gradient: grad_fn must return one gradient per positional argument of the "
                             f"decorated function ({len(self.args)}), received {len(grads)}")
        return tuple(_gradient_like(grads[i], node, i) for i, node in zip(self.positions, self.inputs))


def _call_grad_fn(grad_fn, args, upstream):
    """Keras's PyTorch form ``grad_fn(*args, upstream=...)`` when grad_fn accepts it, else the JAX and
    TensorFlow form ``grad_fn(upstream)``."""
    try:
        inspect.signature(grad_fn).bind(*args, upstream=upstream)
    except TypeError:
        return grad_fn(upstream)
    except ValueError:  # no signature (a builtin): the Keras-on-PyTorch form
        pass
    return grad_fn(*args, upstream=upstream)


def _gradient_like(grad, node, position: int):
    """A gradient from grad_fn as an array of the input's shape and dtype (None stays None)."""
    if grad is None:
        return None
    g = grad.data if isinstance(grad, Tensor) else numpy.asarray(grad)
    if g.shape != tuple(node.shape):
        try:
            g = get_array_module(g).broadcast_to(unbroadcast(g, node.shape), node.shape)
        except ValueError:
            raise ValueError(f"custom_gradient: grad_fn's gradient for argument {position} has shape {g.shape}, "
                             f"expected the argument's shape {tuple(node.shape)}") from None
    return g.astype(node.dtype, copy=False)


def custom_gradient(f: Callable) -> Callable:
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; the decorated function returns ``output``
    and, when differentiated, takes the gradients of ``args`` from ``grad_fn`` instead of from the ops
    inside ``f`` (which run without recording a graph).

    ``grad_fn`` is called as Keras on PyTorch calls it, ``grad_fn(*args, upstream=dL/d(output))`` (``def
    grad(*args, upstream)``), or, when its signature does not accept that, as on JAX and TensorFlow,
    ``grad_fn(upstream)``; it returns one gradient per positional argument (a tuple when several; None
    for an argument without a gradient). For an output of several tensors, ``upstream`` has the output's
    structure. Only Tensor arguments are differentiated; keyword arguments are passed to ``f`` as they are.
    """
    if not callable(f):
        raise TypeError(f"custom_gradient: expected a callable, received {type(f).__name__}")

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        with no_grad():
            result = f(*args, **kwargs)
        if not (isinstance(result, (tuple, list)) and len(result) == 2 and callable(result[1])):
            raise ValueError(f"custom_gradient: expected {getattr(f, '__name__', 'f')} to return a pair "
                             f"(output, grad_fn), received {type(result).__name__}")
        output, grad_fn = result
        leaves = [convert_to_tensor(t) for t in tree.flatten(output)]
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not any(args[i].requires_grad for i in positions) or not leaves:
            return tree.pack_sequence_as(output, leaves)
        sizes = [t.size for t in leaves]
        packed_dtype = result_type(*[t.dtype for t in leaves]) if len(leaves) > 1 else leaves[0].dtype
        xp = get_array_module(leaves[0].data)
        value = leaves[0].data if len(leaves) == 1 else \
            xp.concatenate([t.data.reshape(-1).astype(packed_dtype) for t in leaves])

        def unpack(g):  # the packed gradient as the output's structure
            if len(leaves) == 1:
                return g
            parts, start = [], 0
            for t, n in zip(leaves, sizes):
                parts.append(Tensor(g.data[start:start + n].reshape(t.shape)))
                start += n
            return tree.pack_sequence_as(output, parts)

        y = _CustomGradient.apply(*[args[i] for i in positions], value=value, grad_fn=grad_fn, args=args,
                                  positions=positions, unpack=unpack)
        if len(leaves) == 1:
            return tree.pack_sequence_as(output, [y])
        outs, start = [], 0
        for t, n in zip(leaves, sizes):
            part = reshape(getitem(y, builtins.slice(start, start + n)), t.shape)
            outs.append(part if part.dtype == t.dtype else cast(part, t.dtype))
            start += n
        return tree.pack_sequence_as(output, outs)

    return decorated


# ----------------------------------------------------------------------------------------------
# windows: slice and slice_update
# ----------------------------------------------------------------------------------------------
def _int_vector(values, op: str, name: str) -> list[int]:
    array = numpy.asarray(values.data if isinstance(values, Tensor) else values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"{op}: expected {name} to be a list of integers, received {values!r}")
    return [int(v) for v in array]


def _window(op: str, in_shape: tuple, starts: list[int], sizes: list[int]) -> tuple:
    """The slices ``start:start + size`` along each axis, checked to lie inside ``in_shape``."""
    if len(starts) != len(in_shape) or len(sizes) != len(in_shape):
        raise ValueError(f"{op}: expected start_indices and the window shape to have one entry per axis of the "
                         f"input ({len(in_shape)}), received start_indices={starts} and shape {sizes} for an "
                         f"input of shape {in_shape}")
    window = []
    for axis, (n, start, size) in enumerate(zip(in_shape, starts, sizes)):
        if size == -1:  # to the end of the axis, as Keras's symbolic shape rule and TensorFlow read it
            size = n - start
        if start < 0 or size < 0 or start + size > n:
            raise ValueError(f"{op}: the window [{start}, {start + size}) on axis {axis} lies outside the input "
                             f"(size {n}); received start_indices={starts}, shape {sizes}, input shape {in_shape}")
        window.append(builtins.slice(start, start + size))
    return tuple(window)


def slice(inputs, start_indices, shape) -> Tensor:  # noqa: A001 - keras.ops name
    """``inputs[s0:s0 + n0, s1:s1 + n1, ...]`` for ``start_indices`` (s) and ``shape`` (n; −1: to the
    end of the axis). The window must lie inside the input. Backward: the gradient placed in the
    window of zeros.

    Keras on PyTorch truncates windows past the end and gives an empty result for −1; neuronka raises for
    the first and reads −1 as Keras's shape inference (and TensorFlow) do.
    """
    x = convert_to_tensor(inputs)
    window = _window("slice", tuple(x.shape), _int_vector(start_indices, "slice", "start_indices"),
                     _int_vector(shape, "slice", "shape"))
    return getitem(x, window)


class _SliceUpdate(Function):
    """y = x with the window replaced by u."""

    def forward(self, x, u):
        self.u_dtype = u.dtype
        y = x.copy()
        y[self.window] = u
        return y

    def backward(self, gy):  # dL/dx = gy outside the window (0 inside, overwritten); dL/du = gy[window]
        gx = gu = None
        if self.inputs[0].requires_grad:
            gx = gy.copy()
            gx[self.window] = 0
        if self.inputs[1].requires_grad:
            gu = gy[self.window].astype(self.u_dtype)
        return gx, gu


def _apply(fn_class, out_dtype, *inputs, **config) -> Tensor:
    """``fn_class.apply``, without a graph when the result is not a float (no gradient can flow)."""
    if numpy.dtype(out_dtype).kind not in "fc":
        with no_grad():
            return fn_class.apply(*inputs, **config)
    return fn_class.apply(*inputs, **config)


def slice_update(inputs, start_indices, updates) -> Tensor:
    """``inputs`` with the window starting at ``start_indices`` (of ``updates``' shape) replaced by
    ``updates`` (cast to the inputs' dtype). Backward: the gradient outside the window goes to
    ``inputs``, inside it to ``updates``."""
    x, u = convert_to_tensor(inputs), convert_to_tensor(updates)
    if u.ndim != x.ndim:
        raise ValueError(f"slice_update: expected updates of the inputs' rank {x.ndim}, received shape "
                         f"{tuple(u.shape)} for inputs of shape {tuple(x.shape)}")
    window = _window("slice_update", tuple(x.shape), _int_vector(start_indices, "slice_update", "start_indices"),
                     list(u.shape))
    return _apply(_SliceUpdate, x.dtype, x, u, window=window)


# ----------------------------------------------------------------------------------------------
# scatters
# ----------------------------------------------------------------------------------------------
def _index_rows(indices, op: str, target_shape: tuple, flatten_leading: bool) -> numpy.ndarray:
    """``indices`` as an integer array of rows (N, k), each row an index into the first k axes of
    ``target_shape``, negatives wrapped, checked in range."""
    array = numpy.asarray(asnumpy(indices.data) if isinstance(indices, Tensor) else indices)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{op}: expected integer indices, received dtype {array.dtype}")
    array = array.astype(numpy.int64)
    if flatten_leading:
        if array.ndim < 1:
            raise ValueError(f"{op}: expected indices of rank >= 1 (..., k), received a scalar")
        array = array.reshape(-1, array.shape[-1])
    elif array.ndim != 2:
        raise ValueError(f"{op}: expected indices of shape (N, k), received shape {array.shape}")
    k = array.shape[1]
    if not 1 <= k <= len(target_shape):
        raise ValueError(f"{op}: each index row must address 1 to {len(target_shape)} axes of shape {target_shape}, "
                         f"received rows of {k}")
    bounds = numpy.asarray(target_shape[:k], dtype=numpy.int64)
    if array.size and ((array < -bounds) | (array >= bounds)).any():
        bad = array[((array < -bounds) | (array >= bounds)).any(axis=1)][0].tolist()
        raise IndexError(f"{op}: index {bad} is out of range for the axes {tuple(target_shape[:k])}")
    return numpy.where(array < 0, array + bounds, array)


def _rows_to_index(rows: numpy.ndarray, xp) -> tuple:
    return tuple(xp.asarray(column) for column in rows.T)


class _Scatter(Function):
    """y = zeros(shape); y[index_j] += v_j for each row j (duplicates add)."""

    def forward(self, v):
        xp = get_array_module(v)
        y = xp.zeros(self.shape, dtype=v.dtype)
        xp.add.at(y, self.index, v.reshape(self.rows_shape))
        return y

    def backward(self, gy):  # dL/dv_j = gy[index_j]
        return gy[self.index].reshape(self.values_shape)


def scatter(indices, values, shape) -> Tensor:
    """A tensor of ``shape``, zero except at ``indices``: ``out[indices[j]] += values[j]`` (repeated
    indices add). ``indices`` (..., k) address the first k axes; ``values`` hold one entry of shape
    ``shape[k:]`` per index. The dtype is that of ``values``. Backward: dL/dvalues_j = dL/dout[indices_j]."""
    target = tuple(int(n) for n in (shape.data if isinstance(shape, Tensor) else shape))
    v = convert_to_tensor(values)
    rows = _index_rows(indices, "scatter", target, flatten_leading=True)
    rows_shape = (rows.shape[0], *target[rows.shape[1]:])
    if v.size != numpy.prod(rows_shape, dtype=numpy.int64):
        raise ValueError(f"scatter: expected values with {rows.shape[0]} entries of shape {target[rows.shape[1]:]}, "
                         f"received values of shape {tuple(v.shape)}")
    xp = get_array_module(v.data)
    return _apply(_Scatter, v.dtype, v, shape=target, index=_rows_to_index(rows, xp), rows_shape=rows_shape,
                  values_shape=tuple(v.shape))


def _groups(keys: numpy.ndarray) -> list[numpy.ndarray]:
    """The positions of equal keys, one array per distinct key (in order of position)."""
    order = numpy.argsort(keys, kind="stable")
    cuts = numpy.flatnonzero(numpy.diff(keys[order])) + 1
    return numpy.split(order, cuts)


class _ScatterUpdate(Function):
    """y = x with y[index_j] replaced by (or combined with) u_j, one row j at a time."""

    def forward(self, x, u):
        xp = get_array_module(x)
        self.u_shape = u.shape
        u = xp.broadcast_to(u, self.rows_shape)
        y = x.copy()
        if self.reduction is None:  # the last of repeated indices wins
            y[self.winner_index] = u[self.winners]
        elif self.reduction == "add":
            xp.add.at(y, self.index, u)
        elif self.reduction == "mul":
            self.x, self.u = x, u
            xp.multiply.at(y, self.index, u)
        else:
            xp.maximum.at(y, self.index, u) if self.reduction == "max" else xp.minimum.at(y, self.index, u)
            self.x_hits = x == y  # which values reached the result (ties share the gradient)
            self.u_hits = u == y[self.index]
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        r = self.reduction
        if r is None:  # dL/dx = gy where nothing was written; dL/du_j = gy[index_j] if u_j was written last
            gx = gy.copy()
            gx[self.index] = 0
            gu = xp.zeros(self.rows_shape, gy.dtype)
            gu[self.winners] = gy[self.winner_index]
        elif r == "add":  # dL/dx = gy; dL/du_j = gy[index_j]
            gx, gu = gy, gy[self.index]
        elif r == "mul":  # y = x·Πu: dL/dx = gy·Πu; dL/du_j = gy[index_j]·x[index_j]·Π_{i≠j} u_i
            products = xp.ones_like(self.x)
            xp.multiply.at(products, self.index, self.u)
            gx = gy * products
            gu = gy[self.index] * self.x[self.index] * self._others_product(xp)
        else:  # max/min: the gradient goes to the values equal to the result, shared among ties
            count = self.x_hits.astype(gy.dtype)
            xp.add.at(count, self.index, self.u_hits.astype(gy.dtype))
            share = gy / count
            gx = share * self.x_hits
            gu = share[self.index] * self.u_hits
        return gx, unbroadcast(gu, self.u_shape).reshape(self.u_shape)

    def _others_product(self, xp):
        """For each row j, the product of the other updates written to the same place (1 if none)."""
        out = xp.ones_like(self.u)
        for members in self.groups:
            if len(members) < 2:
                continue
            values = self.u[members]
            ones = xp.ones_like(values[:1])
            before = xp.concatenate([ones, xp.cumprod(values, axis=0)[:-1]])
            after = xp.concatenate([xp.cumprod(values[::-1], axis=0)[::-1][1:], ones])
            out[members] = before * after
        return out


def scatter_update(inputs, indices, updates, reduction=None) -> Tensor:
    """``inputs`` with ``inputs[indices[j]]`` set to ``updates[j]`` for each row of ``indices`` (N, k)
    (k ≤ rank: the first k axes; each update then has shape ``inputs.shape[k:]``). ``reduction``: None
    (replace; the last of repeated indices wins), ``"add"``, ``"mul"``, ``"max"`` or ``"min"`` (combine
    with the current value). ``updates`` are cast to the inputs' dtype.

    Backward: None — dL/dinputs is dL/dout where nothing was written, dL/dupdates_j = dL/dout[index_j]
    for the update written last (0 for the overwritten ones); add — both get dL/dout (gathered); mul —
    d(x·Πu)/dx = Πu and d/du_j = x·Π_{i≠j}u_i; max/min — the values equal to the result share dL/dout.
    """
    if reduction is not None:
        reduction = str(reduction).lower()
        if reduction not in ("add", "max", "min", "mul"):
            raise ValueError(f"Invalid reduction: {reduction}. Supported values are: None, 'add', 'max', 'min', "
                             f"'mul'.")
    x = convert_to_tensor(inputs)
    u = convert_to_tensor(updates, dtype=x.dtype)
    rows = _index_rows(indices, "scatter_update", tuple(x.shape), flatten_leading=False)
    rows_shape = (rows.shape[0], *x.shape[rows.shape[1]:])
    try:
        numpy.broadcast_shapes(tuple(u.shape), rows_shape)
    except ValueError:
        raise ValueError(f"scatter_update: expected updates of shape {rows_shape} (one per index row), received "
                         f"shape {tuple(u.shape)}") from None
    xp = get_array_module(x.data)
    keys = numpy.ravel_multi_index(tuple(rows.T), x.shape[:rows.shape[1]]) if rows.size else rows[:, 0]
    groups = _groups(keys)
    winners = numpy.zeros(rows.shape[0], dtype=bool)
    winners[[g[-1] for g in groups if len(g)]] = True
    return _apply(_ScatterUpdate, x.dtype, x, u, reduction=reduction, index=_rows_to_index(rows, xp),
                  rows_shape=rows_shape, winners=xp.asarray(winners),
                  winner_index=_rows_to_index(rows[winners], xp), groups=groups)



# the control flow, written on the conversions above (hence imported last)
from .control_flow import (  # noqa: E402
    associative_scan,
    cond,
    fori_loop,
    map,
    scan,
    switch,
    vectorize,
    vectorized_map,
    while_loop,
)

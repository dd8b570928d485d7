"""Sorting, searching and indexing (``keras.ops``): take_along_axis, select, sort, argsort, argpartition,
top_k, in_top_k, searchsorted, digitize, unique, nonzero, isin, unravel_index. (take and where, which the
layers use, are in :mod:`.math`.)

Values picked from x (take_along_axis, sort, top_k's values) are differentiable: the gradient is
scattered back to the positions they came from. Indices, counts and masks are integer or boolean results
with no graph.
"""
from __future__ import annotations

import math as _pymath
import numbers

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import get_array_module
from . import math as _m
from ._util import data, dtype_of, undifferentiable, wrap
from .math import _norm_axis, _shape

__all__ = [
    "take_along_axis", "select", "sort", "argsort", "argpartition", "top_k", "in_top_k", "searchsorted",
    "digitize", "unique", "nonzero", "isin", "unravel_index",
]


class TakeAlongAxis(Function):
    """y = x[..., indices[..., j, ...], ...] along ``axis``, x and indices broadcast against each other on
    the other axes."""

    def forward(self, x):
        xp = get_array_module(x)
        self.src_shape = x.shape
        return xp.take_along_axis(xp.broadcast_to(x, self.x_shape), self.indices, axis=self.axis)

    def backward(self, gy):  # scatter-add: dL/dx_i = Σ over the picks of x_i of dL/dy
        xp = get_array_module(gy)
        g = xp.zeros(self.x_shape, gy.dtype)
        index = list(xp.indices(self.indices.shape, sparse=True))
        index[self.axis] = self.indices
        xp.add.at(g, tuple(index), gy)
        return unbroadcast(g, self.src_shape)


def take_along_axis(x, indices, axis=None) -> Tensor:
    """y[..., j, ...] = x[..., indices[..., j, ...], ...] along ``axis`` (of the flattened x if None); the
    other axes of x and indices broadcast. Negative indices count from the end."""
    arr, idx = data(x), data(indices)
    xp = get_array_module(arr)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: expected integer indices, received dtype {idx.dtype}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None expected 1-D indices, received shape {idx.shape}")
        x, arr = _m.reshape(x, (-1,)), arr.reshape(-1)
        axis = 0
    if idx.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: expected indices of x's rank {arr.ndim}, received shape {idx.shape}")
    ax = _norm_axis(axis, arr.ndim, "take_along_axis")[0]
    n = arr.shape[ax]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"take_along_axis: index out of range [-{n}, {n}) along axis {axis} of shape {arr.shape}")
    idx = xp.where(idx < 0, idx + n, idx)
    other = lambda s: s[:ax] + (1,) + s[ax + 1:]  # noqa: E731
    try:
        common = numpy.broadcast_shapes(other(arr.shape), other(idx.shape))
    except ValueError:
        raise ValueError(f"take_along_axis: the shapes of x {arr.shape} and indices {idx.shape} do not broadcast "
                         f"outside axis {axis}") from None
    x_shape = common[:ax] + (n,) + common[ax + 1:]
    idx = xp.broadcast_to(idx, common[:ax] + (idx.shape[ax],) + common[ax + 1:])
    return TakeAlongAxis.apply(x, indices=idx, axis=ax, x_shape=x_shape)


def select(condlist, choicelist, default=0) -> Tensor:
    """choicelist[k] where condlist[k] is the first true condition, else ``default`` (all broadcast)."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(f"select: expected lists condlist and choicelist, received {type(condlist).__name__} "
                         f"and {type(choicelist).__name__}")
    if not condlist or not choicelist:
        raise ValueError("select: expected non-empty condlist and choicelist, received an empty list")
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: expected as many conditions as choices, received {len(condlist)} and "
                         f"{len(choicelist)}")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = _m.where(cond, choice, out)
    return out if isinstance(out, Tensor) else wrap(data(out))


# ----------------------------------------------------------------------------------
# sorting
# ----------------------------------------------------------------------------------
class Sort(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.order = xp.argsort(x, axis=self.axis, kind="stable")
        return xp.take_along_axis(x, self.order, axis=self.axis)

    def backward(self, gy):  # y_j = x_{order_j}: dL/dx_{order_j} = dL/dy_j (a permutation)
        xp = get_array_module(gy)
        g = xp.empty(gy.shape, gy.dtype)
        xp.put_along_axis(g, self.order, gy, axis=self.axis)
        return g


def _flat_or_axis(op, x, axis):
    if axis is None:
        return _m.reshape(x, (-1,)) if isinstance(x, Tensor) else data(x).reshape(-1), 0
    return x, _norm_axis(axis, len(_shape(x)), op)[0]


def sort(x, axis=-1) -> Tensor:
    """x sorted ascending along ``axis`` (the flattened x if None), NaN last; the gradient follows the
    permutation back."""
    x, ax = _flat_or_axis("sort", x, axis)
    if len(_shape(x)) == 0:
        return x if isinstance(x, Tensor) else wrap(data(x))
    return Sort.apply(x, axis=ax)


def argsort(x, axis=-1) -> Tensor:
    """The indices that sort x along ``axis`` (int32; a stable sort, NaN last). Integer: no gradient."""
    x, ax = _flat_or_axis("argsort", x, axis)
    arr = data(x)
    return wrap(get_array_module(arr).argsort(arr, axis=ax if arr.ndim else -1, kind="stable").astype(numpy.int32))


def argpartition(x, kth: int, axis: int = -1) -> Tensor:
    """Indices that put the kth smallest value of x at position kth along ``axis``, the smaller ones before
    it and the larger ones after, each side in no particular order (int32).

    Keras's torch backend first casts x to int32 (so 1.5 and 1.2 tie); neuronka partitions the values as
    they are."""
    x, ax = _flat_or_axis("argpartition", x, axis)
    arr = data(x)
    n = arr.shape[ax]
    if not isinstance(kth, numbers.Integral) or not -n <= kth < n:
        raise ValueError(f"argpartition: expected kth in [-{n}, {n}), received kth={kth!r}")
    return wrap(get_array_module(arr).argpartition(arr, int(kth), axis=ax).astype(numpy.int32))


def _descending_order(xp, arr):
    """Indices sorting the last axis descending, ties by ascending index (NaN counted largest)."""
    n = arr.shape[-1]
    reversed_order = xp.argsort(arr[..., ::-1], axis=-1, kind="stable")[..., ::-1]
    return n - 1 - reversed_order


def top_k(x, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002 - Keras's argument name
    """(values, indices) of the k largest entries along the last axis, largest first (also with
    sorted=False), ties by ascending index. Indices are int32 (Keras's torch backend gives int64, its
    other backends int32); the values are differentiable."""
    arr = data(x)
    if arr.ndim == 0:
        raise ValueError("top_k: expected a tensor of rank >= 1, received a scalar")
    n = arr.shape[-1]
    if not isinstance(k, numbers.Integral) or not 0 <= k <= n:
        raise ValueError(f"top_k: expected k in [0, {n}] (the last axis of shape {arr.shape}), received k={k!r}")
    xp = get_array_module(arr)
    indices = _descending_order(xp, arr)[..., :int(k)]
    values = TakeAlongAxis.apply(x, indices=indices, axis=arr.ndim - 1, x_shape=arr.shape)
    return values, wrap(indices.astype(numpy.int32))


def in_top_k(targets, predictions, k: int) -> Tensor:
    """True where the prediction for the target class is among the k largest of its row (ties with the kth
    largest count as in), bool of shape (batch,)."""
    t, p = numpy.asarray(data(targets)), data(predictions)
    xp = get_array_module(p)
    if p.ndim != 2 or t.ndim != 1 or t.shape[0] != p.shape[0]:
        raise ValueError(f"in_top_k: expected targets of shape (batch,) and predictions of shape (batch, classes), "
                         f"received {t.shape} and {p.shape}")
    if not isinstance(k, numbers.Integral) or not 1 <= k <= p.shape[1]:
        raise ValueError(f"in_top_k: expected k in [1, {p.shape[1]}], received k={k!r}")
    target_values = xp.take_along_axis(p, xp.asarray(t.astype(numpy.int64))[:, None], axis=1)
    kth_largest = -xp.partition(-p, int(k) - 1, axis=1)[:, int(k) - 1:int(k)]
    return wrap((target_values >= kth_largest)[:, 0])


# ----------------------------------------------------------------------------------
# searching
# ----------------------------------------------------------------------------------
def searchsorted(sorted_sequence, values, side: str = "left") -> Tensor:
    """For each value, the index at which it would be inserted into the 1-D ascending ``sorted_sequence``
    to keep it sorted ("left": before equal entries, "right": after them); int32."""
    seq, v = data(sorted_sequence), data(values)
    if seq.ndim != 1:
        raise ValueError(f"searchsorted: expected a 1-D sorted_sequence, received shape {seq.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: expected side 'left' or 'right', received side={side!r}")
    return wrap(get_array_module(seq).searchsorted(seq, v, side=side).astype(numpy.int32))


def digitize(x, bins) -> Tensor:
    """i such that bins[i − 1] <= x < bins[i] for the ascending ``bins`` (0 below, len(bins) above); int32."""
    arr, b = data(x), data(bins)
    if b.ndim != 1:
        raise ValueError(f"digitize: expected 1-D bins, received shape {b.shape}")
    if arr.dtype == bool:
        arr = arr.astype(numpy.uint8)
    return wrap(get_array_module(arr).searchsorted(b, arr, side="right").astype(numpy.int32))


def nonzero(x) -> tuple[Tensor, ...]:
    """The indices of the nonzero entries of x, one int32 tensor per axis (NumPy's tuple; Keras's torch
    backend stacks them into one (rank, count) tensor, whose rows are these)."""
    arr = data(x)
    return tuple(wrap(i.astype(numpy.int32)) for i in get_array_module(arr).nonzero(arr))


def isin(x1, x2, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an entry of x1 is among the values of x2 (False with ``invert``); bool of x1's shape."""
    a1, a2 = data(x1), data(x2)
    return wrap(get_array_module(a1).isin(a1, a2, assume_unique=assume_unique, invert=invert))


def unravel_index(indices, shape) -> tuple[Tensor, ...]:
    """The coordinates, one tensor per axis of ``shape``, of the flat (row-major) ``indices``; in the
    indices' dtype."""
    arr = data(indices)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected integer indices, received dtype {arr.dtype}")
    shape = tuple(int(n) for n in shape)
    total = _pymath.prod(shape)
    if arr.size and (arr.min() < 0 or arr.max() >= total):
        raise ValueError(f"unravel_index: expected indices in [0, {total}) for shape {shape}, received "
                         f"[{arr.min()}, {arr.max()}]")
    dtype = numpy.dtype(dtype_of(arr))
    return tuple(wrap(c.astype(dtype)) for c in get_array_module(arr).unravel_index(arr, shape))


# ----------------------------------------------------------------------------------
# unique
# ----------------------------------------------------------------------------------
def unique(x, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis=None, size=None, fill_value=None):
    """The distinct values of x (of the flattened x if ``axis`` is None; else the distinct slices along
    ``axis``), in ascending order (also with sorted=False, which allows any order). With ``return_index``
    the index of each one's first occurrence, ``return_inverse`` the index into them of every entry of x
    (x's shape when axis is None), ``return_counts`` how often each occurs (these int64). ``size`` pads
    with ``fill_value`` (default 0; the index and counts with 0; Keras's torch backend pads the index with 1)
    or truncates to that many. Returns the values alone, or a tuple in that order. Not differentiable: a
    gradient asked through the values raises."""
    arr = data(x)
    xp = get_array_module(arr)
    ax = None if axis is None else _norm_axis(axis, arr.ndim, "unique")[0]
    values, index, inverse, counts = xp.unique(arr, return_index=True, return_inverse=True, return_counts=True,
                                               axis=ax)
    if ax is None:
        inverse = inverse.reshape(arr.shape)
    dim = 0 if ax is None else ax
    if size is not None:
        size = int(size)
        have = values.shape[dim]
        if have >= size:
            values = xp.take(values, xp.arange(size), axis=dim)
            index, counts = index[:size], counts[:size]
        else:
            pad = [(0, 0)] * values.ndim
            pad[dim] = (0, size - have)
            values = xp.pad(values, pad, constant_values=0 if fill_value is None else fill_value)
            index, counts = xp.pad(index, (0, size - have)), xp.pad(counts, (0, size - have))
    out = [undifferentiable("unique", values, x)]
    if return_index:
        out.append(wrap(index.astype(numpy.int64)))
    if return_inverse:
        out.append(wrap(inverse.astype(numpy.int64)))
    if return_counts:
        out.append(wrap(counts.astype(numpy.int64)))
    return out[0] if len(out) == 1 else tuple(out)

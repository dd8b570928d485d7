"""Shape operations: reshape, transpose, expand / squeeze, concatenate, stack, split, indexing (``getitem``,
``take``), constant and reflecting padding, ``where``.

Each op is a :class:`~neuronka.autograd.Function` whose forward and backward sit side by side; the backward
of a pure rearrangement is the inverse rearrangement of the gradient (dL/dx = reshape(dL/dy, x.shape), the
inverse permutation, the slices of a concatenation, a scatter-add for indexing). Split from :mod:`.math`,
which re-exports every name here.
"""
from __future__ import annotations

import math as _pymath
import numbers

import numpy

from ..autograd import Function, Tensor, _as_array, unbroadcast
from ..backend import get_array_module
from .math import _norm_axis, _pair  # math imports this module at its end, after defining them
from .promotion import cast


# ----------------------------------------------------------------------------------
# shapes
# ----------------------------------------------------------------------------------
class Reshape(Function):
    def forward(self, x):
        self.src = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.src)


class Transpose(Function):
    def forward(self, x):
        self.perm = tuple(range(x.ndim))[::-1] if self.axes is None else tuple(a % x.ndim for a in self.axes)
        return x.transpose(self.perm)

    def backward(self, gy):  # the inverse permutation
        return gy.transpose(numpy.argsort(self.perm))


class Concatenate(Function):
    def forward(self, *xs):
        xp = get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        idx = numpy.cumsum(self.sizes)[:-1]
        return tuple(xp.split(gy, idx, axis=self.axis))


class Stack(Function):
    def forward(self, *xs):
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        n = gy.shape[self.axis]
        return tuple(xp.squeeze(p, axis=self.axis) for p in xp.split(gy, n, axis=self.axis))


class GetItem(Function):
    def forward(self, x):
        self.src_shape, self.src_dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):  # scatter-add back into zeros (repeated indices accumulate)
        xp = get_array_module(gy)
        g = xp.zeros(self.src_shape, dtype=self.src_dtype)
        xp.add.at(g, self.index, gy) if _has_array_index(self.index) else g.__setitem__(self.index, gy)
        return g


def _has_array_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


class Take(Function):
    def forward(self, x):
        self.src_shape = x.shape
        self.src_dtype = x.dtype
        return get_array_module(x).take(x, self.indices, axis=self.axis)

    def backward(self, gy):  # scatter-add: each row of x gets the sum of the gradients of its copies
        xp = get_array_module(gy)
        g = xp.zeros(self.src_shape, dtype=self.src_dtype)
        if self.axis is None:
            xp.add.at(g.reshape(-1), self.indices, gy)
        else:
            ax = self.axis % len(self.src_shape)
            idx = (slice(None),) * ax + (self.indices,)
            xp.add.at(g, idx, gy)
        return g


class Pad(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.pad_width, x.shape))
        if numpy.ndim(self.constant_values) == 0:  # a filled array, x placed inside
            shape = tuple(lo + n + hi for (lo, hi), n in zip(self.pad_width, x.shape))
            if xp is numpy and x.ndim >= 2 and self.pad_width[0] == (0, 0) and x.size >= 1 << 16:
                return self._pad_batch(x, shape)
            y = xp.full(shape, self.constant_values, dtype=x.dtype)
            y[self.slices] = x
            return y
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.constant_values)

    def _pad_batch(self, x, shape):
        """The constant padding of a batch (no padding along axis 0), its images split between the worker
        threads, each writing its images' borders and copying x inside: every element written once."""
        from .threads import num_workers, run_parallel  # noqa: PLC0415 - the batch-parallel ops' thread pool

        y = numpy.empty(shape, x.dtype)
        n, value = x.shape[0], self.constant_values

        def part(n0, n1):
            out = y[n0:n1]
            for axis, (lo, hi) in enumerate(self.pad_width[1:], start=1):
                before = (slice(None),) * axis
                if lo:
                    out[before + (slice(0, lo),)] = value
                if hi:
                    out[before + (slice(out.shape[axis] - hi, None),)] = value
            out[(slice(None),) + self.slices[1:]] = x[n0:n1]

        workers = n if n < num_workers() else num_workers()  # n ≥ 1 here (min and max are ops in this module)
        run_parallel([(part, (n * t // workers, n * (t + 1) // workers)) for t in range(workers)])
        return y

    def backward(self, gy):  # the gradient of the padding is dropped
        return gy[self.slices]


class PadFromInside(Function):
    """reflect / symmetric / edge / wrap padding: every output value is a copy of an input value, chosen
    axis by axis (``sources[axis]``: the input index of each output index along that axis)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.src_shape = x.shape
        for axis, idx in enumerate(self.sources):
            x = xp.take(x, xp.asarray(idx), axis=axis)
        return x

    def backward(self, gy):  # y = x[i(j)] per axis: dL/dx_i = Σ_{j: i(j) = i} dL/dy_j, one axis at a time
        xp = get_array_module(gy)
        for axis in reversed(range(len(self.sources))):
            g = xp.zeros(gy.shape[:axis] + (self.src_shape[axis],) + gy.shape[axis + 1:], dtype=gy.dtype)
            xp.add.at(g, (slice(None),) * axis + (xp.asarray(self.sources[axis]),), gy)
            gy = g
        return gy


class Where(Function):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return get_array_module(a).where(self.condition, a, b)

    def backward(self, gy):  # d/da = [cond], d/db = [not cond]
        return unbroadcast(gy * self.condition, self.sa), unbroadcast(gy * ~self.condition, self.sb)


def _shape(x) -> tuple[int, ...]:
    return numpy.shape(getattr(x, "data", x))


def _common_dtype(xs, originals=None) -> list:
    """The values ``xs`` in Keras's common dtype of them all (of ``originals``, where given: Python scalars
    there are weakly typed); a no-op when they agree. NumPy alone would widen int32 with float32 to float64."""
    dtypes = {getattr(x, "dtype", None) for x in xs}
    if len(dtypes) == 1 and None not in dtypes:
        return list(xs)
    from ._util import dtype_of  # noqa: PLC0415 - _util imports autograd only, but keep math's imports light

    target = numpy.dtype(dtype_of(*(xs if originals is None else originals)))
    return [(x if x.dtype == target else cast(x, target)) if isinstance(x, Tensor) else _as_array(x, target)
            for x in xs]


def reshape(x, newshape) -> Tensor:
    """The same values in another shape (one axis may be −1)."""
    if isinstance(newshape, numbers.Integral):
        newshape = (newshape,)
    newshape = tuple(int(n) for n in newshape)
    size = getattr(x, "size", None) or numpy.size(x)
    known = _pymath.prod([n for n in newshape if n != -1])
    if (-1 not in newshape and known != size) or (-1 in newshape and (known == 0 or size % known)) \
            or newshape.count(-1) > 1:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {_shape(x)} ({size} values) into "
                         f"shape {newshape}")
    return Reshape.apply(x, shape=newshape)


def transpose(x, axes=None) -> Tensor:
    """Permute the axes (reverse them if ``axes`` is None): y[i_p0, i_p1, ...] = x[i_0, i_1, ...]."""
    if axes is not None:
        ndim = len(_shape(x))
        axes = tuple(int(a) for a in axes)
        if sorted(a % ndim if -ndim <= a < ndim else a for a in axes) != list(range(ndim)):
            raise ValueError(f"transpose: expected axes to be a permutation of range({ndim}), received axes={axes}")
    return Transpose.apply(x, axes=axes)


def expand_dims(x, axis) -> Tensor:
    """x with new axes of length 1 inserted at ``axis`` (an int or a tuple, positions in the result)."""
    shape = list(_shape(x))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out_ndim = len(shape) + len(axes)
    for a in sorted(_norm_axis(axes, out_ndim, "expand_dims")):
        shape.insert(a, 1)
    return Reshape.apply(x, shape=tuple(shape))


def squeeze(x, axis=None) -> Tensor:
    """x without its axes of length 1 (all of them, or those in ``axis``, each of which must be 1)."""
    shape = _shape(x)
    if axis is None:
        axes = [i for i, n in enumerate(shape) if n == 1]
    else:
        axes = _norm_axis(axis, len(shape), "squeeze")
        wrong = [a for a in axes if shape[a] != 1]
        if wrong:
            raise ValueError(f"squeeze: cannot squeeze axis {wrong[0]} of a tensor of shape {shape}: its length is "
                             f"{shape[wrong[0]]}, not 1")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


def concatenate(xs, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; every other axis must agree. Mixed dtypes are promoted as
    Keras does (int32 with float32 → float32)."""
    shapes = [_shape(x) for x in xs]
    if not shapes:
        raise ValueError("concatenate: expected at least one tensor, received none")
    ref = shapes[0]
    if not ref:
        raise ValueError(f"concatenate: expected tensors of rank >= 1, received shapes {shapes}")
    ax = _norm_axis(axis, len(ref), "concatenate")[0]
    for s in shapes[1:]:
        if len(s) != len(ref) or any(a != b for i, (a, b) in enumerate(zip(s, ref)) if i != ax):
            raise ValueError(f"concatenate: shapes must agree except on axis {axis}; received {shapes}")
    return Concatenate.apply(*_common_dtype(xs), axis=ax)


def stack(x, axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis (at position ``axis`` of the result)."""
    shapes = [_shape(t) for t in x]
    if len(set(shapes)) != 1:
        raise ValueError(f"stack: expected tensors of one shape, received {shapes}")
    ax = _norm_axis(axis, len(shapes[0]) + 1, "stack")[0]
    return Stack.apply(*_common_dtype(x), axis=ax)


def split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """Split along ``axis`` into ``indices_or_sections`` equal parts (an int, which must divide the axis),
    or at the given indices (each part is a slice, x[..., i_k:i_{k+1}, ...])."""
    shape = _shape(x)
    ax = _norm_axis(axis, len(shape), "split")[0]
    n = shape[ax]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of length {n} (shape {shape}) does not divide into "
                             f"indices_or_sections={k} equal sections")
        bounds = [n // k * i for i in range(k + 1)]
    else:
        bounds = [0, *(int(i) for i in numpy.asarray(_as_array(indices_or_sections)).reshape(-1)), n]
    return [getitem(x, (slice(None),) * ax + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def getitem(x, index) -> Tensor:
    """x[index]; the backward scatter-adds into zeros."""
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(x, index=index)


def take(x, indices, axis=None) -> Tensor:
    """Values of x at ``indices`` along ``axis`` (of the flattened x if None); y has shape
    x.shape[:axis] + indices.shape + x.shape[axis+1:]. Negative indices count from the end. The backward
    scatter-adds."""
    indices = _as_array(indices)
    if indices.dtype.kind not in "iu":
        indices = indices.astype(numpy.int64)  # Keras takes float indices as integers too
    if axis is not None:
        axis = _norm_axis(axis, len(_shape(x)), "take")[0]
    return Take.apply(x, indices=indices, axis=axis)


_PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap", "circular")


def pad(x, pad_width, mode: str = "constant", constant_values=None) -> Tensor:
    """x with ``pad_width`` = ((before, after), ...) values added along each axis (one pair, one int or
    ``(int,)`` stands for every axis). ``mode``: "constant" (``constant_values``, default 0), "reflect"
    (mirrored without the edge), "symmetric" (mirrored with it), "edge" (the edge repeated), "wrap" or
    "circular" (periodic), NumPy's meanings. Keras on torch pads "symmetric" as "edge"; neuronka keeps
    NumPy's (and Keras's documented) meaning."""
    ndim = len(_shape(x))
    try:
        pw = numpy.broadcast_to(numpy.asarray(pad_width, dtype=int), (ndim, 2)).tolist()
    except ValueError:
        raise ValueError(f"pad: expected pad_width as ((before, after),) * {ndim} (or one pair, or one int) for "
                         f"an input of shape {_shape(x)}, received pad_width={pad_width!r}") from None
    if any(w < 0 for pair in pw for w in pair):
        raise ValueError(f"pad: expected non-negative pad widths, received pad_width={pad_width!r}")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: expected mode in {_PAD_MODES}, received mode={mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values can only be given with mode='constant'; received mode={mode!r}")
    if mode == "constant":
        value = 0 if constant_values is None else _as_array(constant_values).tolist()
        return Pad.apply(x, pad_width=tuple(map(tuple, pw)), constant_values=value)
    shape = _shape(x)
    np_mode = {"circular": "wrap"}.get(mode, mode)
    if any(n == 0 and lo + hi > 0 for n, (lo, hi) in zip(shape, pw)):
        raise ValueError(f"pad: cannot pad an empty axis with mode={mode!r} (input shape {shape})")
    sources = tuple(numpy.pad(numpy.arange(n), (lo, hi), mode=np_mode) for n, (lo, hi) in zip(shape, pw))
    return PadFromInside.apply(x, sources=sources)


def where(condition, x1=None, x2=None) -> Tensor | tuple[Tensor, ...]:
    """x1 where ``condition`` holds, else x2 (all three broadcast; mixed dtypes promoted as Keras does). With
    neither x1 nor x2: the indices of the true entries, as ``nonzero(condition)``."""
    if x1 is None and x2 is None:
        from .indexing import nonzero  # noqa: PLC0415 - indexing imports this module

        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: expected both x1 and x2, or neither; received only one of them")
    cond = _as_array(condition).astype(bool, copy=False)
    x1, x2 = _common_dtype(_pair(x1, x2), (x1, x2))
    return Where.apply(x1, x2, condition=cond)


def take_along_last(x, indices) -> Tensor:
    """x[..., indices[...]]: one value per row of the last axis (backward scatters into zeros)."""
    xp = get_array_module(getattr(x, "data", x))
    idx = xp.asarray(indices)
    lead = tuple(xp.indices(idx.shape, sparse=True)) if idx.ndim else ()
    return getitem(x, (*lead, idx))

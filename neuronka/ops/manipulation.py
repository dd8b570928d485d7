"""Rearranging arrays (``keras.ops``): the stack and split families, unstack, tile, repeat, flip, roll,
rot90, moveaxis, swapaxes, broadcast_to, ravel, diag / diagonal / diagflat, tril / triu, trace, append,
rearrange (einops notation), get_item, size and ndim. reshape, transpose, expand_dims, squeeze,
concatenate, stack, split and pad, which every layer uses, are in :mod:`.math`.

Every op here moves or copies values without arithmetic, so each backward sends the gradient back along
the same map: a flip flips it back, a tile sums the copies, a diagonal scatters into zeros.
"""
from __future__ import annotations

import math as _pymath
import numbers
import re

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import get_array_module
from . import math as _m
from ._util import data
from .math import _norm_axis, _shape

__all__ = [
    "hstack", "vstack", "dstack", "array_split", "hsplit", "vsplit", "dsplit", "unstack", "tile", "repeat", "flip",
    "fliplr", "flipud", "roll", "rot90", "moveaxis", "swapaxes", "broadcast_to", "ravel", "diag", "diagonal",
    "diagflat", "tril", "triu", "trace", "append", "rearrange", "get_item", "size", "ndim",
]


def _ints(values, op: str, name: str) -> tuple[int, ...]:
    """An int, a sequence of ints or an integer tensor as a tuple of Python ints."""
    arr = numpy.asarray(data(values)) if not isinstance(values, (list, tuple)) else numpy.asarray(values)
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"{op}: expected integer {name}, received {values!r}")
    return tuple(int(v) for v in arr.reshape(-1))


# ----------------------------------------------------------------------------------
# stacking and splitting
# ----------------------------------------------------------------------------------
def _at_least(x, ndim: int, where: str):
    """x with axes of length 1 added (NumPy's atleast_2d / atleast_3d placements)."""
    shape = _shape(x)
    if len(shape) >= ndim:
        return x
    if ndim == 1:
        new = (1,)
    elif ndim == 2:
        new = (1,) * (2 - len(shape)) + shape
    else:  # atleast_3d: () → (1, 1, 1), (n,) → (1, n, 1), (m, n) → (m, n, 1)
        new = {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)]
    return _m.reshape(x, new)


def hstack(xs) -> Tensor:
    """Join along the second axis (the first for 1-D tensors)."""
    xs = [_at_least(x, 1, "hstack") for x in xs]
    return _m.concatenate(xs, axis=0 if len(_shape(xs[0])) == 1 else 1)


def vstack(xs) -> Tensor:
    """Join along the first axis, 1-D tensors taken as rows."""
    return _m.concatenate([_at_least(x, 2, "vstack") for x in xs], axis=0)


def dstack(xs) -> Tensor:
    """Join along the third axis (1-D: (1, n, 1), 2-D: (m, n, 1) first)."""
    return _m.concatenate([_at_least(x, 3, "dstack") for x in xs], axis=2)


def array_split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """Split along ``axis`` into k = ``indices_or_sections`` near-equal parts, the first n mod k of them one
    longer (Keras takes only a count here; use :func:`split` for indices)."""
    shape = _shape(x)
    ax = _norm_axis(axis, len(shape), "array_split")[0]
    n = shape[ax]
    if not isinstance(indices_or_sections, numbers.Integral):  # as Keras, which takes only a count here
        raise TypeError(f"array_split: expected indices_or_sections to be an int (a number of sections), received "
                        f"indices_or_sections={indices_or_sections!r}")
    k = int(indices_or_sections)
    if k <= 0:
        raise ValueError(f"array_split: expected a positive number of sections, received {k}")
    sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    bounds = [0, *numpy.cumsum(sizes).tolist()]
    return [_m.getitem(x, (slice(None),) * ax + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _split_at(op: str, x, indices_or_sections, axis: int, min_ndim: int) -> list[Tensor]:
    if len(_shape(x)) < min_ndim:
        raise ValueError(f"{op}: expected a tensor of rank >= {min_ndim}, received shape {_shape(x)}")
    return _m.split(x, indices_or_sections, axis=axis)


def hsplit(x, indices_or_sections) -> list[Tensor]:
    """split along the second axis (the first for 1-D tensors)."""
    return _split_at("hsplit", x, indices_or_sections, 0 if len(_shape(x)) == 1 else 1, 1)


def vsplit(x, indices_or_sections) -> list[Tensor]:
    """split along the first axis (rank >= 2)."""
    return _split_at("vsplit", x, indices_or_sections, 0, 2)


def dsplit(x, indices_or_sections) -> list[Tensor]:
    """split along the third axis (rank >= 3)."""
    return _split_at("dsplit", x, indices_or_sections, 2, 3)


def unstack(x, num=None, axis: int = 0) -> list[Tensor]:
    """The slices of x along ``axis``, that axis removed (``num``, if given, must be its length)."""
    shape = _shape(x)
    ax = _norm_axis(axis, len(shape), "unstack")[0]
    if num is not None and num != shape[ax]:
        raise ValueError(f"unstack: num={num} differs from the length {shape[ax]} of axis {axis} (shape {shape})")
    return [_m.getitem(x, (slice(None),) * ax + (i,)) for i in range(shape[ax])]


# ----------------------------------------------------------------------------------
# copies: tile, repeat, broadcast_to
# ----------------------------------------------------------------------------------
class Tile(Function):
    def forward(self, x):
        self.shape = x.shape
        return get_array_module(x).tile(x, self.reps)

    def backward(self, gy):  # each input value has prod(reps) copies: sum them
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        split = [n for pair in zip(self.reps, shape) for n in pair]  # (r0, s0, r1, s1, ...)
        return gy.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.shape)


def tile(x, repeats) -> Tensor:
    """x repeated ``repeats`` times along each axis (missing leading repeats are 1; missing leading axes of x
    are added)."""
    reps = _ints(repeats, "tile", "repeats")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: expected non-negative repeats, received {reps}")
    reps = (1,) * (len(_shape(x)) - len(reps)) + reps
    return Tile.apply(x, reps=reps)


class Repeat(Function):
    def forward(self, x):
        self.shape = x.shape
        return get_array_module(x).repeat(x, self.repeats, axis=self.axis)

    def backward(self, gy):  # y_j = x_{i(j)}: dL/dx_i = Σ_{j: i(j)=i} dL/dy_j
        xp = get_array_module(gy)
        ax, n = self.axis, self.shape[self.axis]
        if numpy.ndim(self.repeats) == 0:  # r copies side by side: sum each run of r
            return gy.reshape(gy.shape[:ax] + (n, int(self.repeats)) + gy.shape[ax + 1:]).sum(axis=ax + 1)
        g = xp.zeros(self.shape, gy.dtype)
        source = xp.repeat(xp.arange(n), xp.asarray(self.repeats))
        xp.add.at(g, (slice(None),) * ax + (source,), gy)
        return g


def repeat(x, repeats, axis=None) -> Tensor:
    """Each value of x repeated ``repeats`` times (an int, or one count per entry along ``axis``), along
    ``axis`` (of the flattened x if None)."""
    if axis is None:
        x, axis = _m.reshape(x, (-1,)), 0
    shape = _shape(x)
    ax = _norm_axis(axis, len(shape), "repeat")[0]
    reps = _ints(repeats, "repeat", "repeats")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: expected non-negative repeats, received {reps}")
    if isinstance(repeats, numbers.Integral) or len(reps) == 1:
        reps = reps[0]
    elif len(reps) != shape[ax]:
        raise ValueError(f"repeat: expected one count per entry of axis {axis} ({shape[ax]}), received "
                         f"{len(reps)} counts")
    return Repeat.apply(x, repeats=reps if isinstance(reps, int) else numpy.asarray(reps), axis=ax)


class BroadcastTo(Function):
    def forward(self, x):
        self.src = x.shape
        return get_array_module(x).broadcast_to(x, self.shape).copy()  # a writable array, not a view

    def backward(self, gy):  # each value has as many copies as it was broadcast to: sum them
        return unbroadcast(gy, self.src)


def broadcast_to(x, shape) -> Tensor:
    """x broadcast to ``shape`` (NumPy's rules)."""
    shape = _ints(shape, "broadcast_to", "shape")
    try:
        numpy.broadcast_shapes(_shape(x), shape)
        if numpy.broadcast_shapes(_shape(x), shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {_shape(x)} to shape {shape}") from None
    return BroadcastTo.apply(x, shape=shape)


# ----------------------------------------------------------------------------------
# reversals and rotations
# ----------------------------------------------------------------------------------
class Flip(Function):
    def forward(self, x):
        return get_array_module(x).flip(x, axis=self.axes)

    def backward(self, gy):  # a flip is its own inverse
        return get_array_module(gy).flip(gy, axis=self.axes)


def flip(x, axis=None) -> Tensor:
    """x with the order of the entries along ``axis`` (all axes if None) reversed."""
    return Flip.apply(x, axes=_norm_axis(axis, len(_shape(x)), "flip"))


def fliplr(x) -> Tensor:
    """flip along the second axis (rank >= 2)."""
    if len(_shape(x)) < 2:
        raise ValueError(f"fliplr: expected a tensor of rank >= 2, received shape {_shape(x)}")
    return flip(x, 1)


def flipud(x) -> Tensor:
    """flip along the first axis (rank >= 1)."""
    if len(_shape(x)) < 1:
        raise ValueError("fliplr: expected a tensor of rank >= 1, received a scalar")
    return flip(x, 0)


class Roll(Function):
    def forward(self, x):
        return get_array_module(x).roll(x, self.shift, axis=self.axis)

    def backward(self, gy):  # rolled back by −shift
        shift = tuple(-s for s in self.shift) if isinstance(self.shift, tuple) else -self.shift
        return get_array_module(gy).roll(gy, shift, axis=self.axis)


def roll(x, shift, axis=None) -> Tensor:
    """y_{(i + shift) mod n} = x_i along ``axis`` (of the flattened x if None, then reshaped back); ``shift``
    and ``axis`` may be tuples of one length."""
    shifts = _ints(shift, "roll", "shift")
    if axis is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: expected one shift without axis, received shift={shift!r}")
        return Roll.apply(x, shift=shifts[0], axis=None)
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    ndim = len(_shape(x))
    axes = tuple(_norm_axis(a, ndim, "roll")[0] for a in axes)
    if len(shifts) == 1 and len(axes) == 1:
        return Roll.apply(x, shift=shifts[0], axis=axes[0])
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: expected as many shifts as axes, received shift={shift!r} and axis={axis!r}")
    return Roll.apply(x, shift=shifts, axis=axes)


class Rot90(Function):
    def forward(self, x):
        return get_array_module(x).rot90(x, self.k, axes=self.axes)

    def backward(self, gy):  # rotated back by −k quarter turns
        return get_array_module(gy).rot90(gy, -self.k, axes=self.axes)


def rot90(array, k: int = 1, axes=(0, 1)) -> Tensor:
    """``array`` rotated by k quarter turns in the plane of ``axes``, from the first axis towards the
    second."""
    ndim = len(_shape(array))
    if ndim < 2:
        raise ValueError(f"rot90: expected a tensor of rank >= 2, received shape {_shape(array)}")
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"rot90: expected two axes, received axes={axes}")
    plane = tuple(_norm_axis(a, ndim, "rot90")[0] for a in axes)
    if plane[0] == plane[1]:
        raise ValueError(f"rot90: expected two different axes, received axes={axes}")
    return Rot90.apply(array, k=int(k) % 4, axes=plane)


def moveaxis(x, source, destination) -> Tensor:
    """x with its axes ``source`` moved to the positions ``destination``, the others kept in order."""
    ndim = len(_shape(x))
    src = [_norm_axis(a, ndim, "moveaxis")[0] for a in _ints(source, "moveaxis", "source")]
    dst = [_norm_axis(a, ndim, "moveaxis")[0] for a in _ints(destination, "moveaxis", "destination")]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: expected source and destination of one length without repeats, received "
                         f"source={source!r} and destination={destination!r}")
    rest = [a for a in range(ndim) if a not in src]
    perm = [None] * ndim
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    perm = [next(it) if p is None else p for p in perm]
    return _m.transpose(x, perm)


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """x with the axes ``axis1`` and ``axis2`` exchanged."""
    ndim = len(_shape(x))
    a, b = _norm_axis(axis1, ndim, "swapaxes")[0], _norm_axis(axis2, ndim, "swapaxes")[0]
    perm = list(range(ndim))
    perm[a], perm[b] = b, a
    return _m.transpose(x, perm)


def ravel(x) -> Tensor:
    """x flattened to 1-D (row-major)."""
    return _m.reshape(x, (-1,))


# ----------------------------------------------------------------------------------
# diagonals and triangles
# ----------------------------------------------------------------------------------
def _diagonal_index(n1: int, n2: int, offset: int):
    """The (rows, columns) of the diagonal ``offset`` of an n1 × n2 matrix."""
    length = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    rows = numpy.arange(length) + max(-offset, 0)
    return rows, rows + offset


class Diagonal(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.shape = x.shape
        return xp.diagonal(x, self.offset, self.axis1, self.axis2).copy()

    def backward(self, gy):  # the gradient goes back onto the diagonal, zeros elsewhere
        xp = get_array_module(gy)
        moved = xp.moveaxis(xp.zeros(self.shape, gy.dtype), (self.axis1, self.axis2), (-2, -1))
        rows, cols = _diagonal_index(moved.shape[-2], moved.shape[-1], self.offset)
        moved[..., rows, cols] = gy
        return xp.moveaxis(moved, (-2, -1), (self.axis1, self.axis2))


class DiagonalMatrix(Function):
    def forward(self, x):  # the 1-D x on the diagonal k of a square matrix
        xp = get_array_module(x)
        n = x.shape[0] + abs(self.k)
        y = xp.zeros((n, n), x.dtype)
        rows, cols = _diagonal_index(n, n, self.k)
        y[rows, cols] = x
        return y

    def backward(self, gy):  # the gradient read back from the diagonal
        rows, cols = _diagonal_index(gy.shape[0], gy.shape[1], self.k)
        return gy[rows, cols]


def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """y[..., i] = x[..., i, i + offset, ...] over the axes ``axis1`` and ``axis2`` (moved to the end)."""
    ndim = len(_shape(x))
    if ndim < 2:
        raise ValueError(f"diagonal: expected a tensor of rank >= 2, received shape {_shape(x)}")
    a1, a2 = _norm_axis(axis1, ndim, "diagonal")[0], _norm_axis(axis2, ndim, "diagonal")[0]
    if a1 == a2:
        raise ValueError(f"diagonal: expected two different axes, received axis1={axis1}, axis2={axis2}")
    return Diagonal.apply(x, offset=int(offset), axis1=a1, axis2=a2)


def diag(x, k: int = 0) -> Tensor:
    """A 1-D x: the square matrix with x on its diagonal k; a 2-D x: its diagonal k."""
    ndim = len(_shape(x))
    if ndim == 1:
        return DiagonalMatrix.apply(x, k=int(k))
    if ndim == 2:
        return Diagonal.apply(x, offset=int(k), axis1=0, axis2=1)
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, received shape {_shape(x)}")


def diagflat(x, k: int = 0) -> Tensor:
    """The square matrix with the flattened x on its diagonal k."""
    return DiagonalMatrix.apply(ravel(x), k=int(k))


class Triangle(Function):
    def forward(self, x):
        xp = get_array_module(x)
        return xp.tril(x, self.k) if self.lower else xp.triu(x, self.k)

    def backward(self, gy):  # the kept entries pass their gradient, the zeroed ones none
        xp = get_array_module(gy)
        return xp.tril(gy, self.k) if self.lower else xp.triu(gy, self.k)


def tril(x, k: int = 0) -> Tensor:
    """x with the entries above the diagonal k (of the last two axes) set to 0."""
    if len(_shape(x)) < 2:
        raise ValueError(f"tril: expected a tensor of rank >= 2, received shape {_shape(x)}")
    return Triangle.apply(x, k=int(k), lower=True)


def triu(x, k: int = 0) -> Tensor:
    """x with the entries below the diagonal k (of the last two axes) set to 0."""
    if len(_shape(x)) < 2:
        raise ValueError(f"triu: expected a tensor of rank >= 2, received shape {_shape(x)}")
    return Triangle.apply(x, k=int(k), lower=False)


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Σ_i x[..., i, i + offset, ...]: the sum of :func:`diagonal` (integers as :func:`sum`: bool, uint8,
    int8, int16 as int32)."""
    return _m.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def append(x1, x2, axis=None) -> Tensor:
    """x2 joined after x1 along ``axis`` (both flattened if None)."""
    if axis is None:
        return _m.concatenate([ravel(x1), ravel(x2)], axis=0)
    return _m.concatenate([x1, x2], axis=axis)


# ----------------------------------------------------------------------------------
# rearrange (einops)
# ----------------------------------------------------------------------------------
_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")


def _parse_side(side: str, pattern: str) -> list[list[str]]:
    """'b (h w) c' → [['b'], ['h', 'w'], ['c']] ('...' stands for the unnamed axes; '1' for a length-1 axis)."""
    groups, current = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in pattern {pattern!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced ')' in pattern {pattern!r}")
            groups.append(current)
            current = None
        elif token == "..." or token.isidentifier() or token.isdigit():
            if token.isdigit() and token != "1":
                raise ValueError(f"rearrange: the only number allowed as an axis is 1, received {token!r} in "
                                 f"{pattern!r}")
            if current is not None:
                current.append(token)
            else:
                groups.append([token])
        else:
            raise ValueError(f"rearrange: unexpected {token!r} in pattern {pattern!r}")
    if current is not None:
        raise ValueError(f"rearrange: unbalanced '(' in pattern {pattern!r}")
    return groups


def rearrange(tensor, pattern: str, **axes_lengths) -> Tensor:
    """Reorder, merge and split axes by an einops pattern such as ``"b h w c -> b (h w) c"`` or
    ``"b (h p) w -> b h p w"`` (lengths of split axes given by keyword, e.g. ``p=2``; one per group may be
    inferred). ``...`` stands for the axes not named; ``1`` and ``()`` for axes of length 1. Done as
    reshape, transpose, reshape, so the gradient flows back through them."""
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"rearrange: expected a pattern 'input axes -> output axes', received {pattern!r}")
    left, right = (_parse_side(side, pattern) for side in pattern.split("->"))
    shape = _shape(tensor)
    has_ellipsis = any("..." in g for g in left)
    named = sum(1 for g in left if g != ["..."])
    if (has_ellipsis and named > len(shape)) or (not has_ellipsis and named != len(shape)):
        raise ValueError(f"rearrange: pattern {pattern!r} names {named} axes, the tensor has shape {shape}")
    lengths: dict[str, int] = {}
    decomposed: list[str] = []
    dims = iter(shape)
    for group in left:
        if group == ["..."]:
            ellipsis = [next(dims) for _ in range(len(shape) - named)]
            for i, n in enumerate(ellipsis):
                lengths[f"...{i}"] = n
                decomposed.append(f"...{i}")
            continue
        if "..." in group:
            raise ValueError(f"rearrange: '...' cannot be inside parentheses on the input side of {pattern!r}")
        size = next(dims)
        unknown = [a for a in group if a != "1" and a not in axes_lengths]
        known = _pymath.prod(int(axes_lengths[a]) for a in group if a in axes_lengths)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the lengths of {unknown} in {pattern!r}; give them as keywords")
        if unknown:
            if known == 0 or size % known:
                raise ValueError(f"rearrange: axis of length {size} does not split into {group} with {axes_lengths}")
            lengths[unknown[0]] = size // known
        elif known != size:
            raise ValueError(f"rearrange: axis of length {size} does not match {group} with {axes_lengths}")
        for a in group:
            if a == "1":
                continue
            if a in decomposed:
                raise ValueError(f"rearrange: axis {a!r} appears twice on the input side of {pattern!r}")
            lengths.setdefault(a, int(axes_lengths.get(a, 0)))
            decomposed.append(a)
    unnamed = [f"...{i}" for i in range(len(shape) - named)] if has_ellipsis else []
    out_groups = []
    for group in right:
        if group == ["..."]:  # the unnamed axes, each its own output axis
            out_groups.extend([a] for a in unnamed)
        else:  # '...' inside parentheses: merged with the group
            out_groups.append([b for a in group for b in (unnamed if a == "..." else [a])])
    used = [a for g in out_groups for a in g if a != "1"]
    if sorted(used) != sorted(decomposed):
        raise ValueError(f"rearrange: the output side of {pattern!r} must use each input axis once; input axes "
                         f"{decomposed}, output axes {used}")
    x = _m.reshape(tensor, [lengths[a] for a in decomposed])
    perm = [decomposed.index(a) for a in used]
    if perm != list(range(len(perm))):
        x = _m.transpose(x, perm)
    return _m.reshape(x, [_pymath.prod(lengths[a] for a in g if a != "1") for g in out_groups])


# ----------------------------------------------------------------------------------
# indexing and sizes
# ----------------------------------------------------------------------------------
def get_item(x, key) -> Tensor:
    """x[key] (NumPy's indexing: ints, slices, None, Ellipsis, integer and boolean arrays)."""
    return _m.getitem(x, key)


def size(x) -> int:
    """The number of values in x."""
    return _pymath.prod(_shape(x))


def ndim(x) -> int:
    """The number of axes of x."""
    return len(_shape(x))

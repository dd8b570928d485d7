"""Tensor products of ``keras.ops`` (``keras.ops.numpy``): einsum, tensordot, kron, outer, inner, vdot, cross,
and the pairwise distances cdist.

One :class:`Einsum` Function carries tensordot, kron, outer, inner and vdot too: each is a contraction
written as Einstein subscripts, and the gradient of a contraction w.r.t. one operand is itself a contraction
of the output gradient with the other operands (letters that only that operand has are broadcast back,
repeated letters put back on their diagonal, size-1 axes that were broadcast summed). Results follow Keras's
type promotion (int32 stays int32, int32 with float32 gives float32; einsum of int8 operands gives int32).
"""
from __future__ import annotations

import builtins
import numbers
import string
from collections import Counter

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import result_type
from ._util import data
from .math import cast, getitem, pad, reshape, transpose

__all__ = ["cdist", "cross", "einsum", "inner", "kron", "outer", "tensordot", "vdot"]


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(data(x))


def _promoted(*xs) -> list[Tensor]:
    """The operands in Keras's common dtype (``result_type``)."""
    ts = [_tensor(x) for x in xs]
    common = result_type(*[t.dtype for t in ts])
    return [t if t.dtype == common else cast(t, common) for t in ts]


# ----------------------------------------------------------------------------------------------------
# einsum
# ----------------------------------------------------------------------------------------------------
def _parse(subscripts: str, shapes) -> tuple[list[str], str, dict[str, int]]:
    """Subscripts with the ellipsis spelled out as letters (broadcast from the right), the output letters
    (implicit mode: the ellipsis, then the letters used once, in alphabetical order) and each letter's size."""
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise ValueError(f"einsum: expected at most one '->' in the subscripts, received {subscripts!r}")
    lhs, rhs = s.split("->") if "->" in s else (s, None)
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(terms)} operands, received {len(shapes)}")
    used = {c for c in s if c.isalpha()}
    bad = {c for c in s.replace("...", "").replace("->", "").replace(",", "") if c not in string.ascii_letters}
    if bad:
        raise ValueError(f"einsum: subscripts must be letters, '...', ',' and '->'; received {subscripts!r}")
    spare = [c for c in string.ascii_letters if c not in used]
    ell_ndims = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        n = len(shape) - named if "..." in term else 0
        if n < 0 or ("..." not in term and named != len(shape)):
            raise ValueError(f"einsum: the subscripts {term!r} do not fit an operand of shape {tuple(shape)}")
        ell_ndims.append(n)
    n_ell = builtins.max(ell_ndims, default=0)
    ell = "".join(spare[:n_ell])
    ins = [term.replace("...", ell[n_ell - n:]) for term, n in zip(terms, ell_ndims)]
    if rhs is None:
        counts = Counter("".join(terms).replace(".", ""))
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1))
    else:
        out = rhs.replace("...", ell)
        missing = set(out) - set("".join(ins))
        if missing or len(set(out)) != len(out):
            raise ValueError(f"einsum: the output subscripts {rhs!r} must be distinct letters of the inputs")
    sizes: dict[str, int] = {}
    for term, shape in zip(ins, shapes):
        for c, n in zip(term, shape):
            if sizes.get(c, 1) != 1 and n not in (1, sizes[c]):
                raise ValueError(f"einsum: the subscript {c!r} has sizes {sizes[c]} and {n} in operands of shapes "
                                 f"{[tuple(sh) for sh in shapes]}")
            if n != 1 or c not in sizes:
                sizes[c] = n
    return ins, out, sizes


class Einsum(Function):
    def forward(self, *ops):
        xp = get_array_module(*ops)
        self.ops = ops
        self.full = [xp.broadcast_to(o, tuple(self.sizes[c] for c in t)) for o, t in zip(ops, self.ins)]
        return xp.einsum(",".join(self.ins) + "->" + self.out, *self.full, optimize=len(ops) > 1)

    def backward(self, g):
        return tuple(self._grad(k, g) if self.inputs[k].requires_grad else None for k in range(len(self.ops)))

    def _grad(self, k: int, g):
        # y = Σ Π_j x_j: x̄_k = Σ ḡ Π_{j≠k} x_j — a contraction of ḡ with the other operands
        xp = get_array_module(g)
        term, sizes = self.ins[k], self.sizes
        others = [j for j in range(len(self.ins)) if j != k]
        target = "".join(dict.fromkeys(term))  # distinct letters, in order
        present = set(self.out).union(*[self.ins[j] for j in others])
        keep = "".join(c for c in target if c in present)
        expr = ",".join([self.out] + [self.ins[j] for j in others]) + "->" + keep
        gk = xp.einsum(expr, g, *[self.full[j] for j in others], optimize=bool(others))
        if len(keep) < len(target):  # letters of x_k alone were summed: their gradient is broadcast
            gk = xp.broadcast_to(gk.reshape(tuple(sizes[c] if c in present else 1 for c in target)),
                                 tuple(sizes[c] for c in target))
        if len(target) < len(term):  # a repeated letter read a diagonal: the gradient goes back onto it
            full = xp.zeros(tuple(sizes[c] for c in term), dtype=g.dtype)
            grid = {c: xp.arange(sizes[c]).reshape([-1 if i == p else 1 for i in range(len(target))])
                    for p, c in enumerate(target)}
            full[tuple(grid[c] for c in term)] = gk
            gk = full
        shape = self.ops[k].shape
        summed = tuple(i for i, (c, n) in enumerate(zip(term, shape)) if n == 1 and sizes[c] != 1)
        if summed:  # an axis of size 1 that was broadcast
            gk = gk.sum(axis=summed, keepdims=True)
        return xp.array(gk, dtype=g.dtype)


def _einsum(ins: list[str], out: str, tensors: list[Tensor]) -> Tensor:
    ins_out = _parse(",".join(ins) + "->" + out, [t.shape for t in tensors])
    return Einsum.apply(*tensors, ins=ins_out[0], out=ins_out[1], sizes=ins_out[2])


def einsum(subscripts: str, *operands, **kwargs) -> Tensor:
    """Einstein summation: y[out] = Σ over the letters not in ``out`` of Π_k x_k[subscripts_k], with ``...``
    for broadcast leading axes and NumPy's implicit output (no ``->``: the letters used once, sorted).
    Operands are promoted to a common dtype (all int8: int32). ``kwargs`` are accepted and ignored, as Keras
    does on PyTorch."""
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    ts = [_tensor(x) for x in operands]
    if all(t.dtype == numpy.int8 for t in ts):
        ts = [cast(t, "int32") for t in ts]
    ts = _promoted(*ts)
    ins, out, sizes = _parse(subscripts, [t.shape for t in ts])
    return Einsum.apply(*ts, ins=ins, out=out, sizes=sizes)


# ----------------------------------------------------------------------------------------------------
# products written as contractions
# ----------------------------------------------------------------------------------------------------
_L = string.ascii_letters


def tensordot(x1, x2, axes=2) -> Tensor:
    """Σ over paired axes: with ``axes`` = N, the last N axes of x1 with the first N of x2; with a pair
    ``(axes1, axes2)`` (ints or sequences), those axes. The output has x1's free axes then x2's."""
    t1, t2 = _promoted(x1, x2)
    n1, n2 = t1.ndim, t2.ndim
    if isinstance(axes, numbers.Integral):
        if not 0 <= axes <= builtins.min(n1, n2):
            raise ValueError(f"tensordot: expected 0 <= axes <= min(x1.ndim, x2.ndim), received axes={axes} for "
                             f"shapes {tuple(t1.shape)} and {tuple(t2.shape)}")
        a1, a2 = list(range(n1 - axes, n1)), list(range(axes))
    else:
        first, second = axes
        a1 = [first] if isinstance(first, numbers.Integral) else list(first)
        a2 = [second] if isinstance(second, numbers.Integral) else list(second)
        a1, a2 = [a % n1 for a in a1], [a % n2 for a in a2]
    if len(a1) != len(a2) or any(t1.shape[i] != t2.shape[j] for i, j in zip(a1, a2)):
        raise ValueError(f"tensordot: the summed axes {a1} of x1 {tuple(t1.shape)} and {a2} of x2 "
                         f"{tuple(t2.shape)} must pair up with equal sizes")
    s1 = _L[:n1]
    s2 = list(_L[n1:n1 + n2])
    for i, j in zip(a1, a2):
        s2[j] = s1[i]
    s2 = "".join(s2)
    out = "".join(c for i, c in enumerate(s1) if i not in a1) + "".join(c for j, c in enumerate(s2) if j not in a2)
    return _einsum([s1, s2], out, [t1, t2])


def kron(x1, x2) -> Tensor:
    """The Kronecker product: y[i·q + k, ...] = x1[i, ...] x2[k, ...] along every axis (the operand of lower
    rank gets leading axes of size 1)."""
    t1, t2 = _promoted(x1, x2)
    n = builtins.max(t1.ndim, t2.ndim)
    t1 = reshape(t1, (1,) * (n - t1.ndim) + tuple(t1.shape)) if t1.ndim < n else t1
    t2 = reshape(t2, (1,) * (n - t2.ndim) + tuple(t2.shape)) if t2.ndim < n else t2
    s1, s2 = _L[:n], _L[n:2 * n]
    y = _einsum([s1, s2], "".join(a + b for a, b in zip(s1, s2)), [t1, t2])
    return reshape(y, tuple(p * q for p, q in zip(t1.shape, t2.shape)))


def outer(x1, x2) -> Tensor:
    """y[i, j] = x1.flat[i] · x2.flat[j]."""
    t1, t2 = _promoted(x1, x2)
    return _einsum(["i", "j"], "ij", [reshape(t1, (-1,)), reshape(t2, (-1,))])


def inner(x1, x2) -> Tensor:
    """Σ over the last axes: y[..., ...'] = Σ_k x1[..., k] x2[...', k] (a scalar operand multiplies)."""
    t1, t2 = _promoted(x1, x2)
    if t1.ndim and t2.ndim and t1.shape[-1] != t2.shape[-1]:
        raise ValueError(f"inner: the last axes must have one size, received shapes {tuple(t1.shape)} and "
                         f"{tuple(t2.shape)}")
    if not t1.ndim or not t2.ndim:
        s1, s2 = _L[:t1.ndim], _L[t1.ndim:t1.ndim + t2.ndim]
        return _einsum([s1, s2], s1 + s2, [t1, t2])
    s1 = _L[:t1.ndim - 1] + "Z"
    s2 = _L[t1.ndim - 1:t1.ndim + t2.ndim - 2] + "Z"
    return _einsum([s1, s2], s1[:-1] + s2[:-1], [t1, t2])


def vdot(x1, x2) -> Tensor:
    """Σ_i conj(x1.flat[i]) · x2.flat[i], a scalar (both flattened, of one size)."""
    t1, t2 = _promoted(x1, x2)
    if t1.size != t2.size:
        raise ValueError(f"vdot: expected inputs of one size, received shapes {tuple(t1.shape)} and "
                         f"{tuple(t2.shape)}")
    if t1.dtype.kind == "c":
        t1 = Tensor(get_array_module(t1.data).conj(t1.data))
    return _einsum(["i", "i"], "", [reshape(t1, (-1,)), reshape(t2, (-1,))])


# ----------------------------------------------------------------------------------------------------
# cross product
# ----------------------------------------------------------------------------------------------------
class Cross3(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).cross(a, b)

    def backward(self, g):  # ⟨ḡ, a × b⟩ = ⟨a, b × ḡ⟩ = ⟨b, ḡ × a⟩
        xp = get_array_module(g)
        ga = unbroadcast(xp.cross(self.b, g), self.a.shape) if self.inputs[0].requires_grad else None
        gb = unbroadcast(xp.cross(g, self.a), self.b.shape) if self.inputs[1].requires_grad else None
        return ga, gb


def _vectors_last(t: Tensor, axis: int, name: str) -> tuple[Tensor, int]:
    if not -t.ndim <= axis < t.ndim:
        raise ValueError(f"cross: axis {axis} is out of bounds for {name} of shape {tuple(t.shape)}")
    axis %= t.ndim
    if axis != t.ndim - 1:
        t = transpose(t, [i for i in range(t.ndim) if i != axis] + [axis])
    n = t.shape[-1]
    if n not in (2, 3):
        raise ValueError(f"cross: {name}'s dim on axis={axis} must be either 2 or 3, but received: {n}")
    if n == 2:  # a plane vector: its third component is 0
        t = pad(t, [(0, 0)] * (t.ndim - 1) + [(0, 1)])
    return t, n


def cross(x1, x2, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis=None) -> Tensor:
    """The cross product a × b = (a₂b₃ − a₃b₂, a₃b₁ − a₁b₃, a₁b₂ − a₂b₁) of (broadcast arrays of) vectors on
    axis ``axisa`` of x1 and ``axisb`` of x2, put on axis ``axisc`` of the result (``axis`` sets all three).
    Vectors of 2 components have a third one of 0; if both have 2, the result is the z-component alone.
    NumPy's semantics, which Keras documents (its PyTorch backend, with ``axis=None``, uses the first axis of
    size 3 instead of the last, and takes neither 2-vectors nor axisa/axisb/axisc)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    t1, t2 = _promoted(x1, x2)
    a, na = _vectors_last(t1, axisa, "x1")
    b, nb = _vectors_last(t2, axisb, "x2")
    c = Cross3.apply(a, b)
    if na == 2 and nb == 2:
        return getitem(c, (Ellipsis, 2))
    nd = c.ndim
    if not -nd <= axisc < nd:
        raise ValueError(f"cross: axisc {axisc} is out of bounds for a result of rank {nd}")
    axisc %= nd
    if axisc != nd - 1:
        perm = list(range(nd - 1))
        perm.insert(axisc, nd - 1)
        c = transpose(c, perm)
    return c


# ----------------------------------------------------------------------------------------------------
# pairwise distances
# ----------------------------------------------------------------------------------------------------
class CDist(Function):
    def forward(self, x, y):
        self.x, self.y = x, y
        diff = x[..., :, None, :] - y[..., None, :, :]
        self.d = get_array_module(x).sqrt((diff * diff).sum(axis=-1))
        return self.d

    def backward(self, g):
        # d_ij = ‖x_i − y_j‖: x̄_i = Σ_j w_ij (x_i − y_j), ȳ_j = −Σ_i w_ij (x_i − y_j), w = ḡ / d (0 where d = 0)
        xp = get_array_module(g)
        w = xp.where(self.d == 0, 0, g / xp.where(self.d == 0, 1, self.d))
        gx = gy = None
        if self.inputs[0].requires_grad:
            gx = unbroadcast(self.x * w.sum(axis=-1)[..., None] - w @ self.y, self.x.shape)
        if self.inputs[1].requires_grad:
            gy = unbroadcast(self.y * w.sum(axis=-2)[..., None] - w.swapaxes(-1, -2) @ self.x, self.y.shape)
        return gx, gy


def cdist(x, y) -> Tensor:
    """Euclidean distances between the rows: d[..., i, j] = ‖x[..., i, :] − y[..., j, :]‖ for x (..., M, D) and
    y (..., N, D), leading axes broadcast (Keras's cdist has no p: it is the 2-norm). Ints give floatx. The
    gradient at d = 0 is taken as 0."""
    tx, ty = _tensor(x), _tensor(y)
    if tx.ndim < 2 or ty.ndim < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2, received shapes {tuple(tx.shape)} and "
                         f"{tuple(ty.shape)}")
    if tx.shape[-1] != ty.shape[-1]:
        raise ValueError(f"cdist: the last axes of the inputs must match, received shapes {tuple(tx.shape)} and "
                         f"{tuple(ty.shape)}")
    try:
        numpy.broadcast_shapes(tx.shape[:-2], ty.shape[:-2])
    except ValueError:
        raise ValueError(f"cdist: the leading axes of shapes {tuple(tx.shape)} and {tuple(ty.shape)} do not "
                         f"broadcast") from None
    common = result_type(tx.dtype, ty.dtype, float)
    if common.startswith("complex"):
        raise TypeError(f"cdist: expected real tensors, received dtypes {tx.dtype} and {ty.dtype}")
    if not common.startswith("float"):
        common = floatx()
    tx = tx if tx.dtype == common else cast(tx, common)
    ty = ty if ty.dtype == common else cast(ty, common)
    return CDist.apply(tx, ty)

"""Linear algebra (``keras.ops.linalg``): inv, det, slogdet / logdet, solve, solve_triangular, cholesky,
cholesky_inverse, norm and jvp here; the decompositions (eigh, eig, svd, qr, lu_factor) and what is built on
them (pinv, lstsq, matrix_rank) in :mod:`.decompositions`, re-exported so that ``ops.linalg`` has all of
Keras's names. Tensor products (einsum, tensordot, kron, ...) are in :mod:`.products`.

Every matrix argument may carry leading batch axes ``(..., M, M)``. Integer and boolean inputs are computed in
``floatx()`` (Keras on PyTorch rejects most of them; its JAX backend converts them, as here), float16 in
float32 and cast back. Each op is a :class:`~neuronka.autograd.Function` with its derivative written beside
its backward (Xᵀ swaps the last two axes; a gradient Ḡ = ∂L/∂output).
"""
from __future__ import annotations

import builtins
import numbers
from collections.abc import Callable

import numpy

from ..autograd import Function, Tensor, enable_grad, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import result_type, standardize_dtype
from ._util import data
from .decompositions import (
    _T,
    check_matrix,
    eig,
    eigh,
    floating,
    fold_lower,
    fold_upper,
    is_vector_rhs,
    lstsq,
    lu_factor,
    matrix_rank,
    pinv,
    qr,
    restore,
    svd,
)
from .math import cast, reshape

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "logdet", "lstsq", "lu_factor",
           "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd"]


def _linalg_error(op: str, err: Exception, what: str):
    return numpy.linalg.LinAlgError(f"{op}: {what} ({err})")


# ----------------------------------------------------------------------------------------------------
# inverse and determinants
# ----------------------------------------------------------------------------------------------------
class Inv(Function):
    def forward(self, a):
        try:
            self.y = get_array_module(a).linalg.inv(a)
        except numpy.linalg.LinAlgError as err:
            raise _linalg_error("inv", err, "the matrix is singular") from None
        return self.y

    def backward(self, g):  # Y = A⁻¹: Ā = −Yᵀ Ḡ Yᵀ
        yt = _T(self.y)
        return -(yt @ g @ yt)


def inv(x) -> Tensor:
    """x⁻¹ of a square matrix (..., M, M); raises ``LinAlgError`` (a ValueError) when it is singular."""
    t, dt = floating(x, "inv")
    check_matrix("inv", t, square=True)
    return restore(Inv.apply(t), dt)


def _cofactors(a):
    """The cofactor matrix adj(A)ᵀ, also of a singular A, from the SVD A = U S Vᵀ:
    adj(A)ᵀ = det(U) det(V) U diag(Π_{j≠i} s_j) Vᵀ."""
    xp = get_array_module(a)
    u, s, vh = xp.linalg.svd(a)
    ones = xp.ones_like(s[..., :1])
    before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)  # Π_{j<i} s_j
    after = xp.cumprod(xp.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]  # Π_{j>i} s_j
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    return sign[..., None, None] * ((u * (before * after)[..., None, :]) @ vh)


class Det(Function):
    def forward(self, a):
        self.a = a
        return get_array_module(a).linalg.det(a)

    def backward(self, g):  # ∂det/∂A = adj(A)ᵀ (= det · A⁻ᵀ where A is invertible)
        return g[..., None, None] * _cofactors(self.a)


def det(x) -> Tensor:
    """det(x) of square matrices (..., M, M) → (...)."""
    t, dt = floating(x, "det")
    check_matrix("det", t, square=True)
    return restore(Det.apply(t), dt)


class LogAbsDet(Function):
    def forward(self, a):
        self.a = a
        sign, logabs = get_array_module(a).linalg.slogdet(a)
        if self.nan_if_negative:  # logdet: the log of a negative determinant is nan
            logabs = get_array_module(a).where(sign < 0, numpy.nan, logabs)
        return logabs

    def backward(self, g):  # ∂ log|det A| / ∂A = A⁻ᵀ
        try:
            return g[..., None, None] * _T(get_array_module(g).linalg.inv(self.a))
        except numpy.linalg.LinAlgError as err:
            raise _linalg_error("slogdet", err, "the gradient of log|det| is infinite at a singular matrix") \
                from None


def slogdet(x) -> tuple[Tensor, Tensor]:
    """(sign(det x), log |det x|) of square matrices (..., M, M). The sign is piecewise constant (no gradient);
    log|det x| has the gradient x⁻ᵀ."""
    t, dt = floating(x, "slogdet")
    check_matrix("slogdet", t, square=True)
    sign = get_array_module(t.data).linalg.slogdet(t.data)[0]
    return restore(Tensor(sign.astype(t.dtype)), dt), restore(LogAbsDet.apply(t, nan_if_negative=False), dt)


def logdet(x) -> Tensor:
    """log det(x) of square matrices (..., M, M) (meant for positive definite ones: nan where the determinant is
    negative, −inf where it is 0); gradient x⁻ᵀ."""
    t, dt = floating(x, "logdet")
    check_matrix("logdet", t, square=True)
    return restore(LogAbsDet.apply(t, nan_if_negative=True), dt)


# ----------------------------------------------------------------------------------------------------
# linear systems
# ----------------------------------------------------------------------------------------------------
class Solve(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.sa, self.sb = a.shape, b.shape
        if self.triangle is not None:  # only the triangle is read
            a = xp.tril(a) if self.triangle == "lower" else xp.triu(a)
        self.a = a
        try:
            self.x = xp.linalg.solve(a, b[..., None] if self.vector else b)
        except numpy.linalg.LinAlgError as err:
            raise _linalg_error(self.op, err, "the matrix is singular") from None
        return self.x[..., 0] if self.vector else self.x

    def backward(self, g):  # X = A⁻¹ B: B̄ = A⁻ᵀ Ḡ, Ā = −B̄ Xᵀ (on the triangle read)
        xp = get_array_module(g)
        gm = g[..., None] if self.vector else g
        gb = xp.linalg.solve(_T(self.a), gm)
        ga = None
        if self.inputs[0].requires_grad:
            ga = -(gb @ _T(self.x))
            if self.triangle is not None:
                ga = xp.tril(ga) if self.triangle == "lower" else xp.triu(ga)
            ga = unbroadcast(ga, self.sa)
        gb = unbroadcast(gb[..., 0] if self.vector else gb, self.sb)
        return ga, gb


def _solve(op: str, a, b, triangle):
    ta, dta = floating(a, op)
    tb, dtb = floating(b, op)
    check_matrix(op, ta, square=True)
    if tb.ndim < 1:
        raise ValueError(f"{op}: expected b of rank >= 1, received a scalar")
    vector = is_vector_rhs(ta.shape, tb.shape)
    rows = tb.shape[-1] if vector else tb.shape[-2]
    if rows != ta.shape[-1]:
        raise ValueError(f"{op}: incompatible shapes, expected b of shape (..., M) or (..., M, K) with "
                         f"M = a.shape[-1]; received a.shape={tuple(ta.shape)}, b.shape={tuple(tb.shape)}")
    common = result_type(ta.dtype, tb.dtype)
    ta = ta if ta.dtype == common else cast(ta, common)
    tb = tb if tb.dtype == common else cast(tb, common)
    asked = result_type(dta or ta.dtype, dtb or tb.dtype)  # float16 only when both were
    y = Solve.apply(ta, tb, vector=vector, triangle=triangle, op=op)
    return restore(y, asked if asked != common else None)


def solve(a, b) -> Tensor:
    """x = a⁻¹ b, the solution of a x = b: ``a`` (..., M, M); ``b`` a vector (..., M) (when it has one axis
    fewer than ``a`` and ``a``'s leading shape, or is 1-D) or matrices (..., M, K). Batch axes broadcast."""
    return _solve("solve", a, b, None)


def solve_triangular(a, b, lower: bool = False) -> Tensor:
    """x = a⁻¹ b for triangular ``a``, reading only its lower (``lower=True``) or upper triangle; shapes as
    :func:`solve`. The gradient w.r.t. ``a`` lies on that triangle."""
    return _solve("solve_triangular", a, b, "lower" if lower else "upper")


# ----------------------------------------------------------------------------------------------------
# Cholesky
# ----------------------------------------------------------------------------------------------------
def _phi(m):
    """Φ(M): the lower triangle of M with its diagonal halved."""
    xp = get_array_module(m)
    return xp.tril(m) - 0.5 * xp.tril(xp.triu(m))


class Cholesky(Function):
    def forward(self, a):
        xp = get_array_module(a)
        tri = xp.triu(a) if self.upper else xp.tril(a)  # only this triangle is read
        sym = tri + _T(xp.triu(tri, 1) if self.upper else xp.tril(tri, -1))
        try:
            self.l = xp.linalg.cholesky(sym)
        except numpy.linalg.LinAlgError as err:
            raise ValueError(f"cholesky: Cholesky decomposition failed: the input is not positive definite "
                             f"({err})") from None
        return _T(self.l) if self.upper else self.l

    def backward(self, g):
        # A = L Lᵀ (Murray 2016): Ḡ_sym = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹, folded onto the triangle read; upper: L̄ = Ūᵀ
        xp = get_array_module(g)
        l = self.l  # noqa: E741 - the Cholesky factor's name
        gl = _T(g) if self.upper else g
        inner = xp.linalg.solve(_T(l), _phi(_T(l) @ gl))  # L⁻ᵀ Φ(Lᵀ L̄)
        gs = _T(xp.linalg.solve(_T(l), _T(inner)))  # (...) L⁻¹
        return fold_upper(gs) if self.upper else fold_lower(gs)


def cholesky(x, upper: bool = False) -> Tensor:
    """The Cholesky factor of a symmetric positive-definite matrix: lower L with x = L Lᵀ, or upper U = Lᵀ with
    x = Uᵀ U when ``upper``; reads only that triangle of ``x``. Raises ValueError if x is not positive
    definite."""
    t, dt = floating(x, "cholesky")
    check_matrix("cholesky", t, square=True)
    return restore(Cholesky.apply(t, upper=bool(upper)), dt)


class CholeskyInverse(Function):
    def forward(self, f):
        xp = get_array_module(f)
        self.f = xp.triu(f) if self.upper else xp.tril(f)  # the factor's triangle
        try:
            f_inv = xp.linalg.inv(self.f)
        except numpy.linalg.LinAlgError as err:
            raise ValueError(f"cholesky_inverse: Cholesky inverse failed: the factor is singular ({err})") from None
        self.y = f_inv @ _T(f_inv) if self.upper else _T(f_inv) @ f_inv  # (UᵀU)⁻¹ = U⁻¹U⁻ᵀ, (LLᵀ)⁻¹ = L⁻ᵀL⁻¹
        return self.y

    def backward(self, g):
        # Y = A⁻¹, A = L Lᵀ: Ā = −Yᵀ Ḡ Yᵀ, so L̄ = −tril((Y Ḡ Y + Y Ḡᵀ Y) L); upper A = UᵀU: Ū = −triu(U (…))
        xp = get_array_module(g)
        y = self.y
        s = y @ (g + _T(g)) @ y
        return -xp.triu(self.f @ s) if self.upper else -xp.tril(s @ self.f)


def cholesky_inverse(x, upper: bool = False) -> Tensor:
    """The inverse of A = L Lᵀ (or Uᵀ U when ``upper``) given its Cholesky factor ``x``: A⁻¹ = L⁻ᵀ L⁻¹; reads
    only the factor's triangle."""
    t, dt = floating(x, "cholesky_inverse")
    check_matrix("cholesky_inverse", t, square=True)
    return restore(CholeskyInverse.apply(t, upper=bool(upper)), dt)


# ----------------------------------------------------------------------------------------------------
# norms
# ----------------------------------------------------------------------------------------------------
class VectorNorm(Function):
    """‖x‖_p over ``axes`` (kept as size-1 axes)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x, p, ax = x, self.ord, self.axes
        ab = xp.abs(x)
        if p == 2:
            y = xp.sqrt((x * x).sum(axis=ax, keepdims=True))
        elif p == numpy.inf:
            y = ab.max(axis=ax, keepdims=True)
        elif p == -numpy.inf:
            y = ab.min(axis=ax, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=ax, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = ab.sum(axis=ax, keepdims=True)
        else:
            with numpy.errstate(divide="ignore"):
                y = (ab ** p).sum(axis=ax, keepdims=True) ** (1.0 / p)
        self.y = y
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x, y, p = self.x, self.y, self.ord
        if p == 2:  # ∂‖x‖/∂x = x / ‖x‖ (0 at x = 0)
            return g * xp.where(y == 0, 0, x / xp.where(y == 0, 1, y))
        if p in (numpy.inf, -numpy.inf):  # sign(x) at the extreme |x|, shared between ties
            hit = xp.abs(x) == y
            return g * xp.sign(x) * hit / hit.sum(axis=self.axes, keepdims=True)
        if p == 0:  # a count: constant almost everywhere
            return xp.zeros_like(x)
        if p == 1:  # ∂Σ|x|/∂x = sign(x)
            return g * xp.sign(x)
        with numpy.errstate(divide="ignore", invalid="ignore"):  # ∂‖x‖_p/∂x = sign(x) |x|^(p−1) / ‖x‖^(p−1)
            d = xp.sign(x) * xp.abs(x) ** (p - 1) / y ** (p - 1)
        return g * xp.where(xp.isfinite(d), d, 0)


class SpectralNorm(Function):
    """Σ s (nuclear), s_max or s_min of the matrices on the last two axes (kept as size-1 axes)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.u, s, self.vh = xp.linalg.svd(x, full_matrices=False)
        self.pick = {"nuc": None, 2: 0, -2: -1}[self.ord]
        y = s.sum(axis=-1) if self.pick is None else s[..., self.pick]
        return y[..., None, None]

    def backward(self, g):  # ∂Σs/∂A = U Vᵀ, ∂s_i/∂A = u_i v_iᵀ
        if self.pick is None:
            return g * (self.u @ self.vh)
        i = self.pick
        return g * (self.u[..., :, i:i + 1 if i != -1 else None] @ self.vh[..., i:i + 1 if i != -1 else None, :])


class MoveAxes(Function):
    def forward(self, x):
        return get_array_module(x).moveaxis(x, self.src, self.dst)

    def backward(self, g):
        return get_array_module(g).moveaxis(g, self.dst, self.src)


_MATRIX_ORDS = (None, "fro", "nuc", numpy.inf, -numpy.inf, 1, -1, 2, -2)


def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A002 - Keras's argument name
    """Vector or matrix norm.

    Vector (``axis`` an int, or None on a 1-D input; None on any input with ``ord`` None flattens it):
    ord None or 2: √Σx²; inf / −inf: max / min |x|; 0: the count of nonzeros; other p: (Σ|x|^p)^(1/p).
    Matrix (``axis`` a pair, or None on a 2-D input with ``ord`` given): None or "fro": √Σx²; "nuc": Σ s;
    inf / −inf: max / min over rows of Σ|x| along a row; 1 / −1: max / min over columns of Σ|x| down a column;
    2 / −2: the largest / smallest singular value. Ints and bools give ``floatx()``; floats keep their dtype.
    Gradients: x/‖x‖ (0 at 0), sign(x) at the extremes (shared between ties), U Vᵀ, u_i v_iᵀ."""
    t = x if isinstance(x, Tensor) else Tensor(data(x))
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ValueError(f"norm: invalid `ord` argument, expected one of {{'fro', 'nuc'}} when using a string. "
                         f"Received: ord={ord}")
    nd = t.ndim
    if axis is None:
        axes = tuple(range(nd)) if ord is None or nd in (1, 2) else None
        if axes is None:
            raise ValueError(f"norm: with axis=None and ord={ord!r} the input must be 1-D or 2-D, received shape "
                             f"{tuple(t.shape)}")
        if ord is None:  # the 2-norm of all values
            return _finish(_norm_in_float(t, lambda u: VectorNorm.apply(u, ord=2, axes=axes)), axes, keepdims)
    else:
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        for a in axes:
            if not -nd <= a < builtins.max(nd, 1):
                raise ValueError(f"norm: axis {a} is out of bounds for an input of rank {nd}")
        axes = tuple(a % nd for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"norm: repeated axis in axis={axis!r}")
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: invalid `ord` argument for a vector norm. Received: ord={ord}")
        p = 2 if ord is None else float(ord)
        return _finish(_norm_in_float(t, lambda u: VectorNorm.apply(u, ord=p, axes=axes)), axes, keepdims)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must name 1 or 2 axes (a vector or matrix norm), received axis={axis!r}")
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"norm: invalid `ord` argument for a matrix norm. Received: ord={ord}")
    return _finish(_norm_in_float(t, lambda u: _matrix_norm(u, ord, axes)), axes, keepdims)


def _matrix_norm(u: Tensor, ord, axes: tuple[int, int]) -> Tensor:  # noqa: A002
    """The matrix norm of ``u`` over ``axes`` = (rows, cols), kept as size-1 axes."""
    rows, cols = axes
    if ord in (None, "fro"):
        return VectorNorm.apply(u, ord=2, axes=axes)
    if ord in ("nuc", 2, -2):
        spectral = SpectralNorm.apply(MoveAxes.apply(u, src=axes, dst=(-2, -1)), ord=ord)
        return MoveAxes.apply(spectral, src=(-2, -1), dst=axes)
    # ±inf: the extreme of the row sums Σ_cols |x|; ±1: of the column sums Σ_rows |x|
    summed, across = (cols, rows) if ord in (numpy.inf, -numpy.inf) else (rows, cols)
    extreme = numpy.inf if ord in (numpy.inf, 1) else -numpy.inf
    return VectorNorm.apply(VectorNorm.apply(u, ord=1, axes=(summed,)), ord=extreme, axes=(across,))


def _norm_in_float(t: Tensor, fn: Callable) -> Tensor:
    if t.dtype.kind not in "biuf":
        raise TypeError(f"norm: expected a real (float, int or bool) tensor, received dtype {t.dtype}")
    name = standardize_dtype(t.dtype)
    if t.dtype.kind in "biu":
        return fn(Tensor(t.data.astype(floatx())))
    if t.dtype.kind == "f" and t.dtype.itemsize < 4:
        return cast(fn(cast(t, "float32")), name)
    return fn(t)


def _finish(y: Tensor, axes, keepdims: bool) -> Tensor:
    if keepdims:
        return y
    return reshape(y, tuple(n for i, n in enumerate(y.shape) if i not in axes))


# ----------------------------------------------------------------------------------------------------
# forward-mode differentiation
# ----------------------------------------------------------------------------------------------------
def _flatten(tree) -> tuple[list, Callable]:
    """The leaves of nested tuples / lists / dicts, and a function rebuilding the structure from new leaves."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(v) for v in tree]
        leaves = [leaf for p in parts for leaf in p[0]]
        kind = type(tree)

        def rebuild(new):
            out, i = [], 0
            for (ls, rb) in parts:
                out.append(rb(new[i:i + len(ls)]))
                i += len(ls)
            return kind(out)
        return leaves, rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild_values = _flatten([tree[k] for k in keys])
        return leaves, lambda new: dict(zip(keys, rebuild_values(new)))
    return [tree], lambda new: new[0]


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """The Jacobian-vector product J(primals) · tangents of ``fun`` (Keras's forward-mode ``jvp``).

    Returns ``(fun(*primals), J · tangents)``, or ``(outputs, tangents_out, aux)`` when ``has_aux`` (``fun``
    returns ``(outputs, aux)``). neuronka differentiates in reverse mode, so this computes the product exactly
    from rows of the Jacobian: for each element y_k of each float output, one backward pass gives ∂y_k/∂x
    and (J·t)_k = Σ ⟨∂y_k/∂x, t⟩ — one pass per output element (cheap for the small outputs jvp is used on;
    no finite differences)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: expected primals and tangents as tuples or lists, received {type(primals).__name__} "
                        f"and {type(tangents).__name__}")
    p_leaves, p_rebuild = _flatten(list(primals))
    t_leaves, _ = _flatten(list(tangents))
    if len(p_leaves) != len(t_leaves):
        raise ValueError(f"jvp: primals and tangents must have the same structure, received {len(p_leaves)} and "
                         f"{len(t_leaves)} arrays")
    inputs = []
    for p, tan in zip(p_leaves, t_leaves):
        arr = data(p)
        if numpy.shape(data(tan)) != arr.shape:
            raise ValueError(f"jvp: each tangent must have the shape of its primal, received {numpy.shape(data(tan))} "
                             f"for a primal of shape {arr.shape}")
        inputs.append(Tensor(arr, requires_grad=arr.dtype.kind == "f"))
    with enable_grad():
        result = fun(*p_rebuild(inputs))
    out, aux = result if has_aux else (result, None)
    o_leaves, o_rebuild = _flatten(out)
    o_leaves = [o if isinstance(o, Tensor) else Tensor(data(o)) for o in o_leaves]
    tangents_out = [_jvp_of(o, inputs, [data(tan) for tan in t_leaves]) for o in o_leaves]
    detached = [Tensor(o.data) for o in o_leaves]
    if has_aux:
        return o_rebuild(detached), o_rebuild(tangents_out), aux
    return o_rebuild(detached), o_rebuild(tangents_out)


def _jvp_of(y: Tensor, inputs: list[Tensor], tangents: list) -> Tensor:
    xp = get_array_module(y.data)
    out = xp.zeros(y.shape, dtype=y.dtype)
    if not y.requires_grad or y.dtype.kind != "f":
        return Tensor(out)
    flat = out.reshape(-1)
    for k in range(y.size):  # row k of the Jacobian, dotted with the tangents
        for x in inputs:
            x.grad = None
        seed = xp.zeros(y.size, dtype=y.dtype)
        seed[k] = 1
        y.backward(seed.reshape(y.shape), retain_graph=True)
        flat[k] = builtins.sum(float((x.grad * xp.asarray(t, dtype=x.grad.dtype)).sum())
                               for x, t in zip(inputs, tangents) if x.grad is not None)
    return Tensor(out)

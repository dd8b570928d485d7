"""Matrix decompositions of ``keras.ops.linalg`` and what is built on them: eigh, eig, svd, qr, lu_factor,
pinv, lstsq and matrix_rank (the rest of ``keras.ops.linalg`` is in :mod:`.linalg`, which re-exports these).

Every matrix argument may carry leading batch axes ``(..., M, N)``. Integer and boolean inputs are computed in
``floatx()``, float16 in float32 and cast back; float32 stays float32 and float64 float64.

The graph knows one output per :class:`~neuronka.autograd.Function`, so a decomposition with several
differentiable outputs (eigh's ``(w, V)``, svd's ``(U, S, Vᴴ)``, qr's ``(Q, R)``) is a :class:`MultiOutput`:
its forward returns the outputs packed into one flat array, and the caller gets them back as slices of it; the
slices' backwards scatter their gradients into one packed gradient (zeros for an output left unused), which
the backward unpacks. Each backward is the textbook formula, written beside it (for a matrix X, Xᵀ swaps the
last two axes; ∘ is the elementwise product).
"""
from __future__ import annotations

import math as pymath

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import floatx, get_array_module
from ._util import data, undifferentiable, wrap
from .math import cast, getitem, reshape

__all__ = ["eig", "eigh", "lstsq", "lu_factor", "matrix_rank", "pinv", "qr", "svd"]


# ----------------------------------------------------------------------------------------------------
# shared helpers (also used by .linalg)
# ----------------------------------------------------------------------------------------------------
def _T(a):
    """aᵀ over the last two axes."""
    return a.swapaxes(-1, -2)


def _eye_like(a, n=None):
    xp = get_array_module(a)
    return xp.eye(a.shape[-1] if n is None else n, dtype=a.dtype)


def _solve_right(a, b):
    """b · a⁻¹ (solves x a = b)."""
    return _T(get_array_module(a).linalg.solve(_T(a), _T(b)))


def floating(x, op: str) -> tuple[Tensor, numpy.dtype | None]:
    """``x`` as a Tensor the linear algebra computes on, and the dtype to cast results back to (None: keep).

    Integers and booleans become ``floatx()`` (no graph: they cannot require gradients); float16 is computed
    in float32 (through a differentiable cast) and cast back. Complex matrices are refused: the formulas here
    are written for real ones (transposes, not conjugate transposes)."""
    t = x if isinstance(x, Tensor) else Tensor(data(x))
    kind = t.dtype.kind
    if kind in "biu":
        return Tensor(t.data.astype(floatx())), None
    if kind == "f" and t.dtype.itemsize < 4:
        return cast(t, "float32"), t.dtype
    if kind != "f":
        raise TypeError(f"{op}: expected a real (float, int or bool) tensor, received dtype {t.dtype}")
    return t, None


def restore(y: Tensor, dtype) -> Tensor:
    """The result in the caller's dtype (see :func:`floating`)."""
    return y if dtype is None else cast(y, dtype)


def check_matrix(op: str, t: Tensor, square: bool = False) -> None:
    """Keras's checks: rank >= 2, and square last two axes where ``square``."""
    if t.ndim < 2:
        raise ValueError(f"{op}: expected input to have rank >= 2 (..., M, N), received shape {tuple(t.shape)}")
    if square and t.shape[-1] != t.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix (..., M, M), received non-square input with shape "
                         f"{tuple(t.shape)}")


def is_vector_rhs(a_shape, b_shape) -> bool:
    """Whether ``b`` in ``a x = b`` is a (batch of) vector(s) rather than matrices: b is 1-D, or b has one axis
    fewer than a and the shape of a without its last axis (PyTorch's rule, which Keras on PyTorch follows)."""
    return len(b_shape) == 1 or (len(b_shape) == len(a_shape) - 1 and tuple(b_shape) == tuple(a_shape[:-1]))


class MultiOutput(Function):
    """A Function with several differentiable outputs of one dtype.

    Subclasses define ``outputs(*arrays) -> tuple of arrays`` and ``grads(*output_grads) -> input grads``;
    :meth:`call` returns the outputs as Tensors. The forward packs them into one flat array (the node the graph
    records); the backward unpacks the packed gradient (zeros where an output was not used)."""

    @classmethod
    def call(cls, *inputs, **config) -> tuple[Tensor, ...]:
        shapes: list[tuple[int, ...]] = []
        packed = cls.apply(*inputs, out_shapes=shapes, **config)
        outs, start = [], 0
        for shape in shapes:
            size = pymath.prod(shape)
            outs.append(reshape(getitem(packed, slice(start, start + size)), shape))
            start += size
        return tuple(outs)

    def forward(self, *xs):
        outs = self.outputs(*xs)
        self.out_shapes[:] = [o.shape for o in outs]
        return get_array_module(*outs).concatenate([o.reshape(-1) for o in outs])

    def backward(self, gy):
        pieces, start = [], 0
        for shape in self.out_shapes:
            size = pymath.prod(shape)
            pieces.append(gy[start:start + size].reshape(shape))
            start += size
        return self.grads(*pieces)

    def outputs(self, *xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def grads(self, *gs):  # pragma: no cover - abstract
        raise NotImplementedError


def _undefined(op: str, what: str):
    raise RuntimeError(f"{op}: the gradient is undefined here: {what}")


# ----------------------------------------------------------------------------------------------------
# symmetric eigendecomposition
# ----------------------------------------------------------------------------------------------------
def fold_lower(gs):
    """The gradient w.r.t. an input of which only the lower triangle is read (the upper one mirrors it):
    ∂/∂A_ij = G_ij + G_ji below the diagonal, G_ii on it, 0 above."""
    xp = get_array_module(gs)
    return xp.tril(gs + _T(gs), -1) + xp.tril(xp.triu(gs))


def fold_upper(gs):
    """As :func:`fold_lower`, for an input of which only the upper triangle is read."""
    xp = get_array_module(gs)
    return xp.triu(gs + _T(gs), 1) + xp.tril(xp.triu(gs))


def _off_diagonal_inverse(d):
    """F_ij = 1 / d_ij off the diagonal, 0 on it (d_ij = λ_j − λ_i for distinct λ)."""
    xp = get_array_module(d)
    eye = xp.eye(d.shape[-1], dtype=bool)
    with numpy.errstate(divide="ignore"):
        return xp.where(eye, 0, 1 / xp.where(eye, 1, d))


class Eigh(MultiOutput):
    def outputs(self, a):
        self.w, self.v = get_array_module(a).linalg.eigh(a, UPLO="L")  # reads the lower triangle, as Keras
        return self.w, self.v

    def grads(self, gw, gv):
        # A = V diag(w) Vᵀ, distinct w: Ḡ = V (diag(ḡw) + F ∘ (Vᵀ ḡV)) Vᵀ with F_ij = 1/(w_j − w_i),
        # then folded onto the lower triangle that was read
        w, v = self.w, self.v
        f = _off_diagonal_inverse(w[..., None, :] - w[..., :, None])
        inner = f * (_T(v) @ gv)
        idx = get_array_module(w).arange(w.shape[-1])
        inner[..., idx, idx] += gw
        return fold_lower(v @ inner @ _T(v))


def eigh(x) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix: x = V diag(w) Vᵀ, reading only the lower
    triangle of ``x``. Differentiable for distinct eigenvalues (the gradient divides by w_j − w_i)."""
    t, dt = floating(x, "eigh")
    check_matrix("eigh", t, square=True)
    w, v = Eigh.call(t)
    return restore(w, dt), restore(v, dt)


def eig(x) -> tuple[Tensor, Tensor]:
    """Eigenvalues and right eigenvectors of a general square matrix, as complex tensors (complex64 for float32
    input, complex128 for float64): x V = V diag(w), each eigenvector of unit length. Not differentiable
    (complex, and undefined for repeated eigenvalues): differentiating through it raises."""
    t, dt = floating(x, "eig")
    check_matrix("eig", t, square=True)
    xp = get_array_module(t.data)
    w, v = xp.linalg.eig(t.data)
    ctype = numpy.result_type(t.dtype, numpy.complex64)
    return undifferentiable("eig", w.astype(ctype), x), undifferentiable("eig", v.astype(ctype), x)


# ----------------------------------------------------------------------------------------------------
# singular value decomposition
# ----------------------------------------------------------------------------------------------------
class SVD(MultiOutput):
    def outputs(self, a):
        xp = get_array_module(a)
        full = self.compute_uv and self.full_matrices and a.shape[-1] != a.shape[-2]
        u, self.s, vh = xp.linalg.svd(a, full_matrices=full)
        k = self.s.shape[-1]
        self.u, self.vh = u[..., :, :k], vh[..., :k, :]  # the reduced factors, for the backward
        return (u, self.s, vh) if self.compute_uv else (self.s,)

    def grads(self, *gs):
        u, s, vh = self.u, self.s, self.vh
        if not self.compute_uv:  # ∂s_i/∂A = u_i v_iᵀ
            return u @ (gs[0][..., :, None] * vh)
        gu, gs_, gvh = gs
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if self.full_matrices:
            if m > k and gu[..., :, k:].any():
                _undefined("svd", "the last M − K columns of U (full_matrices=True) are not unique; "
                                  "use full_matrices=False")
            if n > k and gvh[..., k:, :].any():
                _undefined("svd", "the last N − K rows of Vᴴ (full_matrices=True) are not unique; "
                                  "use full_matrices=False")
            gu, gvh = gu[..., :, :k], gvh[..., :k, :]
        # Townsend (2016), distinct nonzero singular values, F_ij = 1/(s_j² − s_i²), J = UᵀŪ, K = VᵀV̄:
        # Ā = U [(F∘(J − Jᵀ)) S + diag(s̄) + S (F∘(K − Kᵀ))] Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ)
        gv = _T(gvh)
        s2 = s * s
        f = _off_diagonal_inverse(s2[..., None, :] - s2[..., :, None])
        j = _T(u) @ gu
        kk = vh @ gv
        inner = (f * (j - _T(j))) * s[..., None, :] + s[..., :, None] * (f * (kk - _T(kk)))
        idx = get_array_module(s).arange(k)
        inner[..., idx, idx] += gs_
        ga = u @ inner @ vh
        if m > k:
            ga = ga + ((gu - u @ j) / s[..., None, :]) @ vh
        if n > k:
            ga = ga + u @ ((gvh - _T(kk) @ vh) / s[..., :, None])
        return ga


def svd(x, full_matrices: bool = True, compute_uv: bool = True):
    """x = U diag(S) Vᴴ with S descending: returns ``(U, S, Vᴴ)`` (U: (..., M, M), Vᴴ: (..., N, N), or K = min(M, N)
    columns / rows when ``full_matrices`` is False), or S alone when ``compute_uv`` is False.

    Differentiable for distinct nonzero singular values; S always, U and Vᴴ where unique (their columns are
    defined up to sign, so a loss should not depend on that sign). The extra columns of U or rows of Vᴴ that
    ``full_matrices=True`` adds are not unique: differentiating through them raises."""
    t, dt = floating(x, "svd")
    check_matrix("svd", t)
    outs = SVD.call(t, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    outs = tuple(restore(o, dt) for o in outs)
    return outs if compute_uv else outs[0]


# ----------------------------------------------------------------------------------------------------
# QR
# ----------------------------------------------------------------------------------------------------
def _qr_grad_square_r(q, r, gq, gr):
    """A = QR with R square (K×K), Q (M×K), M ≥ K: Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ, M = R R̄ᵀ − Q̄ᵀ Q, where
    copyltu(M) is the symmetric matrix with M's lower triangle."""
    xp = get_array_module(q)
    mm = r @ _T(gr) - _T(gq) @ q
    mm = xp.tril(mm) + _T(xp.tril(mm, -1))
    return _solve_right(_T(r), gq + q @ mm)


class QR(MultiOutput):
    def outputs(self, a):
        self.q, self.r = get_array_module(a).linalg.qr(a, mode=self.mode)
        return self.q, self.r

    def grads(self, gq, gr):
        xp = get_array_module(gq)
        q, r = self.q, self.r
        m, n = q.shape[-2], r.shape[-1]
        if m > n and self.mode == "complete":  # Q's last M − N columns span the complement: not unique
            if gq[..., :, n:].any():
                _undefined("qr", "the last M − N columns of Q (mode='complete', M > N) are not unique; "
                                 "use mode='reduced'")
            q, gq, r, gr = q[..., :, :n], gq[..., :, :n], r[..., :n, :], gr[..., :n, :]
        if m >= n:
            return _qr_grad_square_r(q, r, gq, gr)
        # wide, A = [X | Y] = Q [U | V]: Ȳ = Q V̄, and X = QU is the square case with Q̄ + Y V̄ᵀ
        u, v, gu, gv = r[..., :, :m], r[..., :, m:], gr[..., :, :m], gr[..., :, m:]
        gx = _qr_grad_square_r(q, u, gq + (q @ v) @ _T(gv), gu)
        return xp.concatenate([gx, q @ gv], axis=-1)


def qr(x, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """x = Q R with Q orthonormal columns and R upper triangular: ``mode="reduced"`` gives Q (..., M, K) and
    R (..., K, N), K = min(M, N); ``"complete"`` gives Q (..., M, M) and R (..., M, N). Differentiable where R's
    leading K×K block is invertible (for ``"complete"`` with M > N, not through Q's extra columns)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` argument value not supported. Expected one of {{'reduced', 'complete'}}. "
                         f"Received: mode={mode}")
    t, dt = floating(x, "qr")
    check_matrix("qr", t)
    q, r = QR.call(t, mode=mode)
    return restore(q, dt), restore(r, dt)


# ----------------------------------------------------------------------------------------------------
# LU with partial pivoting
# ----------------------------------------------------------------------------------------------------
def lu_arrays(a):
    """Gaussian elimination with partial pivoting (LAPACK's getrf order): returns ``lu`` (L below the diagonal,
    unit diagonal implied, U on and above), ``pivots`` (int32: row i was swapped with row pivots[i], 0-based)
    and ``perm`` (a[..., perm, :] = L U)."""
    xp = get_array_module(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    lu = a.reshape((-1, m, n)).copy()
    b = lu.shape[0]
    rows = xp.arange(b)
    pivots = xp.empty((b, k), dtype=numpy.int32)
    perm = xp.tile(xp.arange(m), (b, 1))
    for j in range(k):
        p = xp.argmax(xp.abs(lu[:, j:, j]), axis=1) + j  # the largest |entry| at or below the diagonal
        pivots[:, j] = p
        lu[rows, j], lu[rows, p] = lu[rows, p], lu[rows, j].copy()
        perm[rows, j], perm[rows, p] = perm[rows, p], perm[rows, j].copy()
        pivot = lu[:, j, j]
        lu[:, j + 1:, j] /= xp.where(pivot == 0, 1, pivot)[:, None]  # a zero pivot has a zero column below
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
    return lu.reshape(a.shape), pivots.reshape(batch + (k,)), perm.reshape(batch + (m,))


class LUFactor(Function):
    def forward(self, a):
        self.lu, pivots, self.perm = lu_arrays(a)
        self.extras["pivots"] = pivots
        return self.lu

    def backward(self, glu):
        # Pᵀ A = L U. With X = L⁻¹ Pᵀ dA U⁻¹: dL = L tril₋₁(X), dU = triu(X) U (square), so
        # Ā = P L⁻ᵀ [tril₋₁(Lᵀ L̄) + triu(Ū Uᵀ)] U⁻ᵀ; wide and tall blocks below follow from the same X.
        xp = get_array_module(glu)
        lu = self.lu
        m, n = lu.shape[-2:]
        k = min(m, n)
        lower = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
        upper = xp.triu(lu[..., :k, :])
        gl, gu = xp.tril(glu[..., :, :k], -1), xp.triu(glu[..., :k, :])
        if m == n:
            mm = xp.tril(_T(lower) @ gl, -1) + xp.triu(gu @ _T(upper))
            g = _solve_right(_T(upper), xp.linalg.solve(_T(lower), mm))
        elif m < n:  # U = [U₁ | U₂]: Ā₂ = P L⁻ᵀ Ū₂, and M gains −tril₋₁(Ū₂ U₂ᵀ)
            u1, u2, gu1, gu2 = upper[..., :m], upper[..., m:], gu[..., :m], gu[..., m:]
            mm = xp.tril(_T(lower) @ gl - gu2 @ _T(u2), -1) + xp.triu(gu1 @ _T(u1))
            g = xp.concatenate([_solve_right(_T(u1), xp.linalg.solve(_T(lower), mm)),
                                xp.linalg.solve(_T(lower), gu2)], axis=-1)
        else:  # L = [L₁; L₂]: Ā₂ = P L̄₂ U⁻ᵀ, and M gains −triu(L₂ᵀ L̄₂)
            l1, l2, gl1, gl2 = lower[..., :n, :], lower[..., n:, :], gl[..., :n, :], gl[..., n:, :]
            mm = xp.tril(_T(l1) @ gl1, -1) + xp.triu(gu @ _T(upper) - _T(l2) @ gl2)
            g = xp.concatenate([_solve_right(_T(upper), xp.linalg.solve(_T(l1), mm)),
                                _solve_right(_T(upper), gl2)], axis=-2)
        ga = xp.empty_like(g)
        xp.put_along_axis(ga, self.perm[..., :, None], g, axis=-2)  # undo the row permutation
        return ga


def lu_factor(x) -> tuple[Tensor, Tensor]:
    """LU factorization with partial pivoting, x = P L U: returns ``(lu, pivots)``, ``lu`` (..., M, N) holding
    L's strictly lower part (unit diagonal implied) and U, ``pivots`` (..., min(M, N)) int32, 0-based (row i was
    swapped with row pivots[i]). ``lu`` is differentiable where U is invertible; the pivots are integers."""
    t, dt = floating(x, "lu_factor")
    check_matrix("lu_factor", t)
    extras: dict = {}
    lu = LUFactor.apply(t, extras=extras)
    return restore(lu, dt), wrap(extras["pivots"])


# ----------------------------------------------------------------------------------------------------
# pseudo-inverse, least squares, rank
# ----------------------------------------------------------------------------------------------------
def _default_rtol(a) -> float:
    return float(numpy.finfo(a.dtype).eps) * max(a.shape[-2:])


def _pinv_array(a, rtol):
    """A⁺ = V diag(1/s) Uᵀ over the singular values s > rtol · s_max (the others count as zero)."""
    xp = get_array_module(a)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    cutoff = rtol * s[..., :1] if s.shape[-1] else 0
    keep = s > cutoff
    s_inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype)
    return _T(vh) @ (s_inv[..., :, None] * _T(u))


def _pinv_grad(a, p, gp):
    """Ā for P = A⁺ at constant rank (Golub & Pereyra):
    Ā = −Pᵀ P̄ Pᵀ + (I − A P) P̄ᵀ P Pᵀ + Pᵀ P P̄ᵀ (I − P A)."""
    pt, gpt = _T(p), _T(gp)
    ap, pa = a @ p, p @ a
    return -pt @ gp @ pt + (gpt - ap @ gpt) @ (p @ pt) + (pt @ p) @ (gpt - gpt @ pa)


class Pinv(Function):
    def forward(self, a):
        self.a = a
        self.p = _pinv_array(a, self.rtol)
        return self.p

    def backward(self, gp):
        return _pinv_grad(self.a, self.p, gp)


def pinv(x, rcond=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse x⁺ (..., N, M), from the SVD: singular values ≤ rcond · s_max count as
    zero (``rcond`` None: machine epsilon of the dtype · max(M, N), as PyTorch). Differentiable at constant
    rank."""
    t, dt = floating(x, "pinv")
    check_matrix("pinv", t)
    rtol = _default_rtol(t.data) if rcond is None else float(rcond)
    return restore(Pinv.apply(t, rtol=rtol), dt)


class Lstsq(Function):
    def forward(self, a, b):
        self.a, self.sb = a, b.shape
        self.p = _pinv_array(a, self.rtol)
        self.b = b[..., None] if self.vector else b
        x = self.p @ self.b
        return x[..., 0] if self.vector else x

    def backward(self, g):  # x = A⁺ b: b̄ = A⁺ᵀ ḡ, Ā = pinv's backward of P̄ = ḡ bᵀ
        g = g[..., None] if self.vector else g
        ga = gb = None
        if self.inputs[0].requires_grad:
            ga = unbroadcast(_pinv_grad(self.a, self.p, g @ _T(self.b)), self.a.shape)
        if self.inputs[1].requires_grad:
            gb = _T(self.p) @ g
            gb = unbroadcast(gb[..., 0] if self.vector else gb, self.sb)
        return ga, gb


def lstsq(a, b, rcond=None) -> Tensor:
    """The least-squares solution of a x = b, of least norm where it is not unique: x = a⁺ b, with singular
    values of ``a`` ≤ rcond · s_max counted as zero (None: machine epsilon · max(M, N)). ``a`` (..., M, N),
    ``b`` (..., M) or (..., M, K) → x (..., N) or (..., N, K). Differentiable at constant rank."""
    ta, dta = floating(a, "lstsq")
    tb, _ = floating(b, "lstsq")
    check_matrix("lstsq", ta)
    vector = is_vector_rhs(ta.shape, tb.shape)
    rows = tb.shape[-1] if vector else (tb.shape[-2] if tb.ndim >= 2 else None)
    if tb.ndim < 1 or rows != ta.shape[-2]:
        raise ValueError(f"lstsq: expected b of shape (..., M) or (..., M, K) with M = a.shape[-2]; received "
                         f"a.shape={tuple(ta.shape)}, b.shape={tuple(tb.shape)}")
    if tb.dtype != ta.dtype:
        tb = cast(tb, ta.dtype)
    rtol = _default_rtol(ta.data) if rcond is None else float(rcond)
    return restore(Lstsq.apply(ta, tb, rtol=rtol, vector=vector), dta)


def matrix_rank(x, tol=None) -> Tensor:
    """The number of singular values above the threshold (int32, per matrix): ``tol`` if given, else
    s_max · max(M, N) · machine epsilon of the dtype. An integer: it carries no gradient."""
    t, _ = floating(x, "matrix_rank")
    check_matrix("matrix_rank", t)
    xp = get_array_module(t.data)
    s = xp.linalg.svd(t.data, compute_uv=False)
    if tol is None:
        threshold = (s[..., :1] if s.shape[-1] else 0) * _default_rtol(t.data)
    else:
        threshold = float(tol)
    return wrap((s > threshold).sum(axis=-1).astype(numpy.int32))

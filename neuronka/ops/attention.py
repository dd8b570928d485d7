"""Scaled dot-product attention, ``keras.ops.dot_product_attention``, as one Function, and what the attention
layers build on it.

With query q (B, T, N, H), key k (B, S, K, H) and value v (B, S, K, Hv), N = G·K query heads sharing
each of the K key/value heads (G = 1: multi-head, K = 1: multi-query, else grouped-query attention):

    S  = c · q kᵀ (+ bias), masked entries set to L          (B, N, T, S)   c = scale, default 1/√H
    P  = softmax(S) along the keys
    P̃  = P ⊙ M / (1 − r)                                     attention dropout (the layers', in training)
    O  = P̃ v                                                 (B, T, N, Hv)

and, given dO, the backward (dP is the gradient w.r.t. P; D_i = Σ_j P_ij dP_ij, one row sum):

    dv = P̃ᵀ dO        dP = (dO vᵀ) ⊙ M / (1 − r)        dS = P ⊙ (dP − D)
    dq = c · dS k     dk = c · dSᵀ q    dbias = dS summed over the axes the bias broadcasts along

How: the query heads of one key/value head are laid side by side, q as (B·K, G·T, H), so each product
is one batched matmul over all heads with no copy of k or v per query head; no Python loop runs per head.
The batch is cut into chunks whose scores fit in the cache, shared by the worker threads of the
convolutions (``threads.map_batch``: one per BLAS thread, BLAS single-threaded inside): per chunk the
scores are computed into the one (B·K, G·T, S) array the forward keeps (P), masked and softmaxed there in
place while they are in the cache, then multiplied by v; the backward goes chunk by chunk likewise, its dS
a chunk-sized temporary. The row softmax and its backward are compiled kernels on float32 NumPy arrays
(``_attention_kernels.py``), NumPy otherwise. A boolean mask and the causal mask are written into the scores
in place (``copyto`` with ``where``), never materialised at full size.

Masked entries get L = −0.7 · (largest finite float32), as Keras does. A row with every key masked ("empty")
then averages all values (``empty_rows="uniform"``: Keras's ``dot_product_attention``) — the output does not
depend on the scores there, so their gradient is zero (torch's autograd, through Keras's additive mask,
passes a nonzero one: the forwards agree) — or, with ``empty_rows="zero"``, gets P = 0 and a zero output
(Keras's attention layers when they softmax with their Softmax layer: with dropout, or returning the scores).
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor, _as_array, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import result_type, standardize_dtype
from . import _attention_kernels as _kernels

__all__ = ["dot_product_attention"]

_CHUNK_BYTES = 1_500_000  # scores per chunk (and the backward's dS): they stay in the cache between the steps


def _large_negative(dtype) -> float:
    """The value masked logits get (Keras's choice): −0.7 × the largest float32, or float16's."""
    return -0.7 * (65500.0 if numpy.dtype(dtype) == numpy.float16 else 3.38953e38)


def _by_chunks(fn, b: int, bytes_per_item: int, xp) -> list:
    """``fn(b0, b1)`` over chunks of the batch [0, b), on the convolutions' worker threads for NumPy arrays."""
    if xp is not numpy:
        return [fn(0, b)]
    from .threads import map_batch  # noqa: PLC0415

    return map_batch(fn, b, bytes_per_item, chunk_bytes=_CHUNK_BYTES)


def _rows(a, b0: int, b1: int):
    """The batch rows [b0, b1) of an array broadcast along its first axis (size 1: all of it)."""
    return a if a.shape[0] == 1 else a[b0:b1]


def _softmax_in_place(s, fill, zero_empty: bool, masked: bool):
    """The softmax of the last axis of the C-contiguous scores ``s``, in place; returns the (rows..., 1) boolean
    flags of the empty rows (every entry ``fill``) when ``masked``, else None. With ``zero_empty`` those rows
    become 0 (else uniform)."""
    xp = get_array_module(s)
    if _kernels.usable(s):
        flags = _kernels.softmax_rows(s.reshape(-1, s.shape[-1]), fill, zero_empty)
        return flags.reshape(*s.shape[:-1], 1).astype(bool) if masked else None
    top = s.max(axis=-1, keepdims=True)
    empty = (top == s.dtype.type(fill)) if masked else None
    s -= top
    xp.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    if zero_empty and empty is not None:
        xp.copyto(s, 0, where=empty)
    return empty


def _softmax_backward_in_place(ds, p) -> None:
    """dS = P ⊙ (dP − Σ_j P_j dP_j) over the last axis, written over dP (``ds``)."""
    if _kernels.usable(ds, p):
        _kernels.softmax_grad_rows(ds.reshape(-1, ds.shape[-1]), p.reshape(-1, p.shape[-1]))
        return
    d = (ds * p).sum(axis=-1, keepdims=True)
    ds -= d
    ds *= p


class DotProductAttention(Function):
    """Inputs q (B, T, N, H), k (B, S, K, H), v (B, S, K, Hv) and optionally a bias (broadcastable to
    (B, N, T, S)); config: ``scale``, ``mask`` (bool, broadcastable to (B, N, T, S), True = attend), ``causal``,
    ``empty_rows`` ("uniform" / "zero"), ``rate`` (attention dropout) with ``rng`` (a NumPy Generator)."""

    empty_rows = "uniform"
    rate = 0.0
    rng = None

    def forward(self, q, k, v, *bias):
        xp = get_array_module(q)
        b, t, n, h = q.shape
        s, kh, hv = k.shape[1], k.shape[2], v.shape[3]
        g, dt = n // kh, q.dtype
        # query heads grouped by their key/value head: (B·K, G·T, H), pre-multiplied by the scale
        qg = xp.empty((b, n, t, h), dt)
        xp.multiply(q.transpose(0, 2, 1, 3), dt.type(self.scale), out=qg)
        self.qg = qg.reshape(b * kh, g * t, h)
        self.kg = xp.ascontiguousarray(k.transpose(0, 2, 1, 3)).reshape(b * kh, s, h)
        self.vg = xp.ascontiguousarray(v.transpose(0, 2, 1, 3)).reshape(b * kh, s, hv)
        self.p = p = xp.empty((b * kh, g * t, s), dt)  # the one score tensor: S, then P in place
        out = xp.empty((b * kh, g * t, hv), dt)
        fill = _large_negative(dt)
        masked = None if self.mask is None else ~_grouped(xp.asarray(self.mask), kh, g)  # True = masked
        biased = _grouped(bias[0], kh, g) if bias else None
        causal = xp.triu(xp.ones((t, s), bool), 1) if self.causal else None  # key j > query i: top-left aligned
        zero_empty = self.empty_rows == "zero"
        self.keep = None
        if self.rate:  # drawn here, before the threads: the same mask whatever thread runs which chunk
            u = self.rng.random((b * kh, g * t, s), dtype=numpy.float64 if dt == numpy.float64 else numpy.float32)
            self.keep = xp.asarray(u >= self.rate)

        def chunk(b0, b1):
            z0, z1 = b0 * kh, b1 * kh
            sc = p[z0:z1]
            xp.matmul(self.qg[z0:z1], self.kg[z0:z1].swapaxes(-1, -2), out=sc)
            grid = sc.reshape(b1 - b0, kh, g, t, s)
            if biased is not None:
                grid += _rows(biased, b0, b1)
            if masked is not None:
                xp.copyto(grid, dt.type(fill), where=_rows(masked, b0, b1))
            if causal is not None:
                xp.copyto(grid, dt.type(fill), where=causal)
            empty = _softmax_in_place(sc, fill, zero_empty, masked is not None)
            xp.matmul(self._dropped(sc, z0, z1), self.vg[z0:z1], out=out[z0:z1])
            return empty

        flags = _by_chunks(chunk, b, kh * g * t * s * dt.itemsize, xp)
        self.empty = None  # rows whose output ignores the scores ("uniform"): their dS is zero
        if masked is not None and not zero_empty:
            empty = xp.concatenate(flags) if len(flags) > 1 else flags[0]
            self.empty = empty if bool(empty.any()) else None
        return xp.ascontiguousarray(out.reshape(b, n, t, hv).transpose(0, 2, 1, 3))

    def _dropped(self, pz, z0: int, z1: int):
        """P̃ = P ⊙ M / (1 − r) of the rows [z0, z1) (P itself without dropout)."""
        if self.keep is None:
            return pz
        return pz * self.keep[z0:z1] * pz.dtype.type(1.0 / (1.0 - self.rate))

    def backward(self, gy):
        # dv = P̃ᵀ dO; dP = dO vᵀ ⊙ M/(1 − r); dS = P ⊙ (dP − D); dq = c·dS k; dk = c·dSᵀ q (q held scaled)
        xp = get_array_module(gy)
        b, t, n, hv = gy.shape
        z, s, h = self.kg.shape
        kh, g = z // b, n // (z // b)
        dt = gy.dtype
        need = [x.requires_grad for x in self.inputs]
        need_bias = len(need) > 3 and need[3]
        go = xp.ascontiguousarray(gy.transpose(0, 2, 1, 3)).reshape(z, g * t, hv)
        dq = xp.empty((z, g * t, h), dt) if need[0] else None
        dk = xp.empty((z, s, h), dt) if need[1] else None
        dv = xp.empty((z, s, hv), dt) if need[2] else None
        dbias = xp.empty((z, g * t, s), dt) if need_bias else None
        inv_keep = dt.type(1.0 / (1.0 - self.rate)) if self.keep is not None else None

        def chunk(b0, b1):
            z0, z1 = b0 * kh, b1 * kh
            pz = self.p[z0:z1]
            if dv is not None:
                xp.matmul(self._dropped(pz, z0, z1).swapaxes(-1, -2), go[z0:z1], out=dv[z0:z1])
            if dq is None and dk is None and dbias is None:
                return
            ds = xp.matmul(go[z0:z1], self.vg[z0:z1].swapaxes(-1, -2))  # dP̃, then dP, then dS in place
            if self.keep is not None:
                ds *= self.keep[z0:z1]
                ds *= inv_keep
            _softmax_backward_in_place(ds, pz)
            if self.empty is not None:
                xp.copyto(ds, 0, where=self.empty[z0:z1])
            if dq is not None:
                xp.matmul(ds, self.kg[z0:z1], out=dq[z0:z1])
            if dk is not None:
                xp.matmul(ds.swapaxes(-1, -2), self.qg[z0:z1], out=dk[z0:z1])
            if dbias is not None:
                dbias[z0:z1] = ds

        _by_chunks(chunk, b, kh * g * t * s * dt.itemsize, xp)
        if dq is not None:
            dq *= dt.type(self.scale)
            dq = dq.reshape(b, n, t, h).transpose(0, 2, 1, 3)
        if dk is not None:
            dk = dk.reshape(b, kh, s, h).transpose(0, 2, 1, 3)
        if dv is not None:
            dv = dv.reshape(b, kh, s, hv).transpose(0, 2, 1, 3)
        grads = (dq, dk, dv)
        if len(need) == 3:
            return grads
        if dbias is not None:
            shape = self.inputs[3].shape
            dbias = unbroadcast(dbias.reshape(b, n, t, s), (1,) * (4 - len(shape)) + tuple(shape)).reshape(shape)
        return grads + (dbias,)


class MaskedSoftmax(Function):
    """P = softmax over the last axis of scores x with masked entries set to L (see the module docstring);
    config ``mask`` (bool, broadcastable to x, True = keep), ``causal`` (the last two axes' upper triangle
    masked), ``empty_rows`` ("zero": an empty row is 0, as Keras's Softmax layer; "uniform"). Backward
    dx = P ⊙ (dP − Σ_j P_j dP_j); zero on empty rows."""

    def forward(self, x):
        xp = get_array_module(x)
        p = xp.array(x, copy=True, order="C")
        fill = _large_negative(p.dtype)
        if self.mask is not None:
            xp.copyto(p, p.dtype.type(fill), where=~xp.asarray(self.mask))
        if self.causal:
            t, s = p.shape[-2:]
            xp.copyto(p, p.dtype.type(fill), where=xp.triu(xp.ones((t, s), bool), 1))
        empty = _softmax_in_place(p, fill, self.empty_rows == "zero", self.mask is not None)
        self.empty = empty if empty is not None and self.empty_rows != "zero" and bool(empty.any()) else None
        self.p = p
        return p

    def backward(self, gy):
        ds = get_array_module(gy).array(gy, copy=True, order="C")
        _softmax_backward_in_place(ds, self.p)
        if self.empty is not None:
            get_array_module(gy).copyto(ds, 0, where=self.empty)
        return ds


def _grouped(a, kh: int, g: int):
    """An array broadcastable to (B, N, T, S) as one broadcastable to the grouped scores (B, K, G, T, S)."""
    a = a.reshape((1,) * (4 - a.ndim) + a.shape)
    if a.shape[1] == 1:
        return a[:, :, None]
    return a.reshape(a.shape[0], kh, g, *a.shape[2:])


def _as_dtype(a, dtype: str):
    """A Tensor as is (or cast, keeping its graph) when of another dtype; anything else as an array of ``dtype``."""
    if isinstance(a, Tensor):
        if a.dtype == dtype:
            return a
        from .math import cast  # noqa: PLC0415

        return cast(a, dtype)
    return _as_array(a).astype(dtype, copy=False)


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else numpy.shape(x)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal: bool = False,
                          flash_attention=None, attn_logits_soft_cap=None) -> Tensor:
    """Scaled dot-product attention, as ``keras.ops.dot_product_attention``:
    O = softmax(scale · Q Kᵀ + bias, masked) V over the keys, per head.

    ``query`` (B, T, N, H), ``key`` (B, S, K, H), ``value`` (B, S, K, Hv) with N a multiple of K (grouped
    query attention; K = N: multi-head). ``bias``: added to the logits, broadcastable to (B, N, T, S).
    ``mask``: boolean, broadcastable to (B, N, T, S), True where a query may attend to a key (exclusive with
    ``bias``, as Keras). ``scale`` defaults to 1/√H. ``is_causal``: query i attends to keys j ≤ i.
    Returns (B, T, N, Hv) in the promoted float dtype of the inputs. Differentiable in query, key, value
    and bias. ``flash_attention`` is accepted and changes nothing (a kernel choice in Keras, with the same
    result; Keras's torch backend raises for True where its flash kernel cannot run, e.g. on a CPU), and
    ``attn_logits_soft_cap`` is refused as on every Keras backend but JAX on TPU.
    """
    fn = "dot_product_attention"
    if attn_logits_soft_cap is not None:
        raise ValueError(f"{fn}: attn_logits_soft_cap is only supported for JAX on TPU in Keras; set "
                         f"attn_logits_soft_cap=None (received {attn_logits_soft_cap!r})")
    if bias is not None and mask is not None:
        raise ValueError(f"{fn}: only one of `bias` and `mask` can be provided; received both")
    inputs, scale = _checked(fn, query, key, value, scale)
    b, t, n, _ = _shape(inputs[0])
    target = (b, n, t, _shape(inputs[1])[1])
    for name, extra in (("bias", bias), ("mask", mask)):
        if extra is not None:
            _check_broadcastable(fn, name, _shape(extra), target)
    if bias is not None:
        inputs.append(_as_dtype(bias, standardize_dtype(inputs[0].dtype)))
    mask_array = None if mask is None else _as_array(mask).astype(bool, copy=False)
    return DotProductAttention.apply(*inputs, scale=scale, mask=mask_array, causal=bool(is_causal))


def _checked(fn: str, query, key, value, scale):
    """The three operands in their promoted float dtype, after the shape checks, and the scale (1/√H default)."""
    shapes = [_shape(a) for a in (query, key, value)]
    if any(len(sh) != 4 for sh in shapes):
        raise ValueError(f"{fn}: only 4-D inputs are supported; received query.shape={shapes[0]}, "
                         f"key.shape={shapes[1]}, value.shape={shapes[2]}")
    (b, t, n, h), (bk, s, kh, hk), (bv, sv, khv, _) = shapes
    if (bk, s, kh) != (bv, sv, khv) or b != bk or h != hk:
        raise ValueError(f"{fn}: expected query (B, T, N, H), key (B, S, K, H) and value (B, S, K, Hv) with the "
                         f"same B, S, K and H; received query.shape={shapes[0]}, key.shape={shapes[1]}, "
                         f"value.shape={shapes[2]}")
    if n % kh:
        raise ValueError(f"{fn}: the number of query heads ({n}) must be a multiple of the number of key/value "
                         f"heads ({kh}); received query.shape={shapes[0]}, key.shape={shapes[1]}")
    dtypes = [standardize_dtype(getattr(a, "dtype", None) or numpy.asarray(a).dtype) for a in (query, key, value)]
    dtype = result_type(*dtypes)
    if not dtype.startswith("float"):
        dtype = floatx()
    return [_as_dtype(a, dtype) for a in (query, key, value)], (1.0 / math.sqrt(h) if scale is None else float(scale))


def _check_broadcastable(fn: str, name: str, shape, target) -> None:
    try:
        ok = len(shape) <= len(target) and numpy.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{fn}: expected {name} broadcastable to (B, N, T, S) = {tuple(target)}, received "
                         f"{name}.shape={tuple(shape)}")


def multi_head_attention(query, key, value, mask=None, scale=None, is_causal: bool = False,
                         empty_rows: str = "uniform", dropout: float = 0.0, rng=None,
                         return_scores: bool = False):
    """The attention of the layers (``MultiHeadAttention``, ``GroupedQueryAttention``, ``Attention``):
    :func:`dot_product_attention` plus attention dropout and the probabilities.

    Shapes and ``mask``/``scale``/``is_causal`` as :func:`dot_product_attention`. ``empty_rows``: what a
    query row with every key masked gives, "uniform" (the mean of the values, Keras's op) or "zero" (Keras's
    Softmax layer). ``dropout``: the rate r of P̃ = P ⊙ M/(1 − r), drawn from the NumPy Generator ``rng``.
    Returns O (B, T, N, Hv), or (O, P) with ``return_scores``: P (B, N, T, S), the probabilities before the
    dropout, differentiable too (then computed as separate ops, the key/value heads repeated for the query
    heads: the fused path keeps P as its private state).
    """
    fn = "multi_head_attention"
    if empty_rows not in ("uniform", "zero"):
        raise ValueError(f"{fn}: expected empty_rows 'uniform' or 'zero', received {empty_rows!r}")
    inputs, scale = _checked(fn, query, key, value, scale)
    b, t, n, _ = _shape(inputs[0])
    s, kh = _shape(inputs[1])[1:3]
    mask_array = None
    if mask is not None:
        _check_broadcastable(fn, "mask", _shape(mask), (b, n, t, s))
        mask_array = _as_array(mask).astype(bool, copy=False)
    rate = float(dropout)
    if rate and rng is None:
        raise ValueError(f"{fn}: dropout={rate} needs a NumPy Generator as rng")
    if not return_scores:
        return DotProductAttention.apply(*inputs, scale=scale, mask=mask_array, causal=bool(is_causal),
                                         empty_rows=empty_rows, rate=rate, rng=rng)
    from . import math as nmath  # noqa: PLC0415
    from .manipulation import repeat  # noqa: PLC0415
    from .random import dropout as _dropout  # noqa: PLC0415

    q, k, v = inputs
    if kh != n:  # each key/value head serves n // kh query heads
        k, v = repeat(k, n // kh, axis=2), repeat(v, n // kh, axis=2)
    q = nmath.multiply(q, numpy.asarray(scale, dtype=q.dtype))
    scores = nmath.matmul(nmath.transpose(q, (0, 2, 1, 3)), nmath.transpose(k, (0, 2, 3, 1)))  # (B, N, T, S)
    probs = MaskedSoftmax.apply(scores, mask=mask_array, causal=bool(is_causal), empty_rows=empty_rows)
    dropped = _dropout(probs, rate, rng=rng) if rate else probs
    out = nmath.transpose(nmath.matmul(dropped, nmath.transpose(v, (0, 2, 1, 3))), (0, 2, 1, 3))
    return out, probs


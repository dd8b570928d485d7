"""Scaled dot-product attention, ``keras.ops.dot_product_attention``, as one Function.

With query q (B, T, N, H), key k (B, S, K, H) and value v (B, S, K, Hv), N = G·K query heads sharing
each of the K key/value heads (G = 1: multi-head, K = 1: multi-query, else grouped-query attention):

    S  = c · q kᵀ (+ bias), masked entries set to L          (B, N, T, S)   c = scale, default 1/√H
    P  = softmax(S) along the keys
    O  = P v                                                 (B, T, N, Hv)

and, given dO, the backward (D_i = Σ_j P_ij dP_ij = dO_i · O_i, so no second pass over P is needed):

    dv = Pᵀ dO        dP = dO vᵀ        dS = P ⊙ (dP − D)
    dq = c · dS k     dk = c · dSᵀ q    dbias = dS summed over the axes the bias broadcasts along

How: the query heads of one key/value head are laid side by side, q as (B, K, G·T, H), so each product
is one batched matmul over all heads with no copy of k or v per query head; the softmax runs in place
on the score tensor, which is the only (B, N, T, S) array the forward keeps (P). A boolean mask and the
causal mask are written into it in place (``copyto`` with ``where``), never materialised at full size.
Masked entries get L = −0.7 · (largest finite float32), as Keras does; a row with every key masked thus
averages all values (Keras's result). There the output does not depend on the scores, so their gradient
is zero (torch's autograd, through Keras's additive mask, passes a nonzero one: the forwards agree).
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor, _as_array, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import result_type, standardize_dtype

__all__ = ["dot_product_attention"]


def _large_negative(dtype) -> float:
    """The value masked logits get (Keras's choice): −0.7 × the largest float32, or float16's."""
    return -0.7 * (65500.0 if numpy.dtype(dtype) == numpy.float16 else 3.38953e38)


class DotProductAttention(Function):
    """Inputs q (B, T, N, H), k (B, S, K, H), v (B, S, K, Hv) and optionally a bias (broadcastable to
    (B, N, T, S)); config: ``scale``, ``mask`` (bool, broadcastable to (B, N, T, S), True = attend) and
    ``causal``."""

    def forward(self, q, k, v, *bias):
        xp = get_array_module(q)
        b, t, n, _ = q.shape
        s, kh = k.shape[1], k.shape[2]
        g = n // kh
        # query heads grouped by their key/value head: (B, K, G·T, H), pre-multiplied by the scale
        qg = xp.empty((b, n, t, q.shape[3]), q.dtype)
        xp.multiply(q.transpose(0, 2, 1, 3), q.dtype.type(self.scale), out=qg)
        self.qg = qg = qg.reshape(b, kh, g * t, q.shape[3])
        self.kg, self.vg = k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3)  # (B, K, S, H) views
        scores = xp.matmul(qg, self.kg.swapaxes(-1, -2))  # (B, K, G·T, S): the one score tensor
        grid = scores.reshape(b, kh, g, t, s)
        if bias:
            grid += _grouped(bias[0], kh, g)
        big_negative = _large_negative(q.dtype)
        if self.mask is not None:
            xp.copyto(grid, q.dtype.type(big_negative), where=~_grouped(self.mask, kh, g))
        if self.causal:  # key j > query i is masked (top-left aligned, as torch and Keras)
            xp.copyto(grid, q.dtype.type(big_negative), where=xp.triu(xp.ones((t, s), bool), 1))
        # softmax over the keys, in place: P = e^(S − max) / Σ e^(S − max)
        top = scores.max(axis=-1, keepdims=True)
        self.dead = (top == q.dtype.type(big_negative)) if self.mask is not None else None  # rows all masked
        scores -= top
        xp.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        self.p = scores
        self.out = xp.matmul(scores, self.vg)  # (B, K, G·T, Hv)
        out = self.out.reshape(b, n, t, v.shape[3]).transpose(0, 2, 1, 3)
        return xp.ascontiguousarray(out)

    def backward(self, gy):
        # D = rowsum(dO ⊙ O); dS = P ⊙ (dO vᵀ − D); dq = c·dS k; dk = c·dSᵀ q (q held scaled); dv = Pᵀ dO
        xp = get_array_module(gy)
        b, t, n, hv = gy.shape
        kh, s = self.kg.shape[1], self.kg.shape[2]
        g = n // kh
        need = [x.requires_grad for x in self.inputs]
        go = xp.ascontiguousarray(gy.transpose(0, 2, 1, 3)).reshape(b, kh, g * t, hv)
        dq = dk = dv = dbias = None
        if need[2]:
            dv = xp.matmul(self.p.swapaxes(-1, -2), go).transpose(0, 2, 1, 3)
        if need[0] or need[1] or (len(need) > 3 and need[3]):
            d = (go * self.out).sum(axis=-1, keepdims=True)
            ds = xp.matmul(go, self.vg.swapaxes(-1, -2))  # dP, then dS in place
            ds -= d
            ds *= self.p
            if self.dead is not None:
                xp.copyto(ds, 0, where=self.dead)
            if need[0]:
                dq = xp.matmul(ds, self.kg) * self.qg.dtype.type(self.scale)
                dq = dq.reshape(b, n, t, -1).transpose(0, 2, 1, 3)
            if need[1]:
                dk = xp.matmul(ds.swapaxes(-1, -2), self.qg).transpose(0, 2, 1, 3)
            if len(need) > 3 and need[3]:
                shape = self.inputs[3].shape
                full = ds.reshape(b, n, t, s)
                dbias = unbroadcast(full, (1,) * (4 - len(shape)) + tuple(shape)).reshape(shape)
        grads = (dq, dk, dv)
        return grads + (dbias,) if len(need) > 3 else grads


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
    shapes = [_shape(a) for a in (query, key, value)]
    if any(len(sh) != 4 for sh in shapes):
        raise ValueError(f"{fn}: only 4-D inputs are supported; received query.shape={shapes[0]}, "
                         f"key.shape={shapes[1]}, value.shape={shapes[2]}")
    if bias is not None and mask is not None:
        raise ValueError(f"{fn}: only one of `bias` and `mask` can be provided; received both")
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
    inputs = [_as_dtype(a, dtype) for a in (query, key, value)]
    target = (b, n, t, s)
    for name, extra in (("bias", bias), ("mask", mask)):
        if extra is None:
            continue
        esh = _shape(extra)
        try:
            ok = len(esh) <= 4 and numpy.broadcast_shapes(esh, target) == target
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{fn}: expected {name} broadcastable to (B, N, T, S) = {target}, received "
                             f"{name}.shape={esh}")
    if bias is not None:
        inputs.append(_as_dtype(bias, dtype))
    mask_array = None if mask is None else _as_array(mask).astype(bool, copy=False)
    scale = 1.0 / math.sqrt(h) if scale is None else float(scale)
    return DotProductAttention.apply(*inputs, scale=scale, mask=mask_array, causal=bool(is_causal))

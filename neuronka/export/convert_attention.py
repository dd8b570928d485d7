"""MultiHeadAttention as MatMul / Softmax (queries (N, T, d), keys and values (N, S, d)):

    Q = (x_q·W_q + b_q)/√k → (N, H, T, k)      K, V likewise → (N, H, S, k), (N, H, S, v)
    P = softmax(Q·Kᵀ) over S, masked scores replaced by −10⁹ (a fully masked row averages the values)
    y = concat_heads(P·V)·W_o + b_o

The mask is the AND of the query's mask (N, T, 1), the value's and key's (N, 1, S), ``attention_mask`` and
the causal one (lower triangle) with ``use_causal_mask``, as neuronka's layer computes it.
"""
from __future__ import annotations

import math

import numpy

from ..layers.multi_head_attention import MultiHeadAttention
from .convert_core import weight
from .onnx_graph import Value
from .registry import register, unsupported

BOOL = 9


def _project(g, dense, x: str, heads: int, dim: int) -> str:
    """EinsumDense "abc,cde->abde" (N, T, d) → (N, T, H, dim)."""
    kernel = weight(dense.kernel)
    y = g.op("MatMul", [x, g.const(kernel.reshape(kernel.shape[0], heads * dim), f"{dense.name}_kernel")])
    if getattr(dense, "bias", None) is not None:
        y = g.op("Add", [y, g.const(weight(dense.bias).reshape(heads * dim), f"{dense.name}_bias")])
    return g.op("Reshape", [y, g.ints([0, 0, heads, dim])])


@register(MultiHeadAttention)
def multi_head_attention(g, layer, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
                         attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
    key = value if key is None else key
    if query.rank != 3 or tuple(layer._attention_axes) != (1,) or layer._output_shape is not None:
        raise unsupported(layer, "inputs of rank ≠ 3, attention_axes or output_shape (the (N, T, d) form is "
                                 "exported)")
    if getattr(layer, "_sliding_window", None) is not None:
        raise unsupported(layer, "sliding_window")
    h, kd, vd = layer._num_heads, layer._key_dim, layer._value_dim
    qn, vn, kn = g.keras(query), g.keras(value), g.keras(key)
    q = g.op("Transpose", [_project(g, layer._query_dense, qn, h, kd)], perm=[0, 2, 1, 3])  # (N, H, T, k)
    q = g.op("Mul", [q, g.scalar(1.0 / math.sqrt(float(kd)))])
    k = g.op("Transpose", [_project(g, layer._key_dense, kn, h, kd)], perm=[0, 2, 3, 1])  # (N, H, k, S)
    v = g.op("Transpose", [_project(g, layer._value_dense, vn, h, vd)], perm=[0, 2, 1, 3])  # (N, H, S, v)
    scores = g.op("MatMul", [q, k], hint="scores")  # (N, H, T, S)

    masks = []
    qm = query.mask if isinstance(query.mask, Value) else query_mask
    for m, axes in ((qm, [1, 3]), (value_mask if value_mask is not None else value.mask, [1, 2]),
                    (key_mask if key_mask is not None else key.mask, [1, 2])):
        if isinstance(m, Value):
            masks.append(g.op("Unsqueeze", [g.keras(m), g.ints(axes)]))
    if isinstance(attention_mask, Value):  # (N, T, S) → (N, 1, T, S)
        am = g.keras(attention_mask)
        if attention_mask.dtype != BOOL:
            am = g.op("Cast", [am], to=BOOL)
        masks.append(g.op("Unsqueeze", [am, g.ints([1])]))
    elif attention_mask is not None:
        raise unsupported(layer, "a constant `attention_mask` (pass it as a model input)")
    if use_causal_mask:  # row t sees the columns s ≤ t
        size = g.op("Concat", [g.op("Slice", [g.op("Shape", [qn]), g.ints([1]), g.ints([2])]),
                               g.op("Slice", [g.op("Shape", [vn]), g.ints([1]), g.ints([2])])], axis=0)
        ones = g.op("ConstantOfShape", [size], value=g.onnx.numpy_helper.from_array(numpy.ones(1, numpy.float32)))
        masks.append(g.op("Cast", [g.op("Trilu", [ones], upper=0)], to=BOOL))
    if masks:
        mask = masks[0]
        for m in masks[1:]:
            mask = g.op("And", [mask, m])
        scores = g.op("Where", [mask, scores, g.scalar(-1e9)], hint="masked_scores")
    probs = g.op("Softmax", [scores], axis=-1, hint="attention")
    out = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])  # (N, T, H, v)
    if getattr(layer, "_use_gate", False):  # o ⊙ σ(x_q·W_g + b_g)
        gate = g.op("Sigmoid", [_project(g, layer._gate_dense, qn, h, vd)])
        out = g.op("Mul", [out, gate])
    out = g.op("Reshape", [out, g.ints([0, 0, h * vd])])
    wo = weight(layer._output_dense.kernel)
    y = g.op("MatMul", [out, g.const(wo.reshape(h * vd, wo.shape[-1]), "output_kernel")])
    if getattr(layer._output_dense, "bias", None) is not None:
        y = g.op("Add", [y, g.const(weight(layer._output_dense.bias), "output_bias")])
    result = g.value(y, (query.shape[0], query.shape[1], wo.shape[-1]))
    if return_attention_scores:
        s = value.shape[1]
        return [result, g.value(probs, (query.shape[0], h, query.shape[1], s), mask=None)]
    return result

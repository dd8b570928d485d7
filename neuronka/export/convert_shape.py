"""Merges (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) and the layers that move
elements around (Flatten, Reshape, Permute, RepeatVector).

An element-wise merge of inputs that all exist channels-first stays channels-first (a residual addition
between two convolutions needs no Transpose); Flatten, Reshape and Permute work on Keras's element order.
"""
from __future__ import annotations

from ..layers import merging, reshaping
from .onnx_graph import Value
from .registry import register, unsupported

BOOL = 9


def _merged_mask(g, inputs: list[Value]):
    """The output mask of a merge: None if an input has none, else the OR of the masks (neuronka's rule)."""
    masks = [v.mask if isinstance(v.mask, Value) else None for v in inputs]
    if any(m is None for m in masks):
        return None
    if all(m is masks[0] for m in masks):
        return masks[0]
    out = g.keras(masks[0])
    for m in masks[1:]:
        out = g.op("Or", [out, g.keras(m)])
    return g.value(out, masks[0].shape, dtype=BOOL)


def _aligned(g, layer, inputs: list[Value]) -> tuple[list[str], str, tuple]:
    """The inputs' names in a common layout; lower-rank inputs get length-1 axes after the batch axis."""
    top = max(v.rank for v in inputs)
    if any(v.rank != top for v in inputs):
        names = []
        for v in inputs:
            n = g.keras(v)
            if v.rank < top:
                n = g.op("Unsqueeze", [n, g.ints(list(range(1, 1 + top - v.rank)))])
            names.append(n)
        layout = "keras"
    else:
        layout = g.common_layout(inputs)
        names = [g.name_in(v, layout) for v in inputs]
    shape = tuple(layer.compute_output_shape([v.shape for v in inputs]))
    return names, layout, shape


def _elementwise_merge(op: str, mean: bool = False):
    def convert(g, layer, inputs, mask=None):
        if mask is not None:
            raise unsupported(layer, "an explicit `mask` argument")
        if isinstance(layer, (merging.Maximum, merging.Minimum)) and any(isinstance(v.mask, Value) for v in inputs):
            raise unsupported(layer, "masked inputs (a masked entry takes the other input's value)")
        names, layout, shape = _aligned(g, layer, list(inputs))
        y = names[0]
        for n in names[1:]:
            y = g.op(op, [y, n])
        if mean:
            y = g.op("Mul", [y, g.scalar(1.0 / len(names))])
        out = g.value(y, shape, layout=layout)
        out.mask = _merged_mask(g, list(inputs))
        return out
    return convert


register(merging.Add)(_elementwise_merge("Add"))
register(merging.Subtract)(_elementwise_merge("Sub"))
register(merging.Multiply)(_elementwise_merge("Mul"))
register(merging.Average)(_elementwise_merge("Add", mean=True))
register(merging.Maximum)(_elementwise_merge("Max"))
register(merging.Minimum)(_elementwise_merge("Min"))


@register(merging.Concatenate)
def concatenate(g, layer, inputs, mask=None):
    inputs = list(inputs)
    if any(isinstance(v.mask, Value) for v in inputs) or mask is not None:
        raise unsupported(layer, "masked inputs")
    rank = inputs[0].rank
    layout = g.common_layout(inputs)
    axis = g.axis(inputs[0], layout, layer.axis)
    y = g.op("Concat", [g.name_in(v, layout) for v in inputs], axis=axis)
    out = g.value(y, tuple(layer.compute_output_shape([v.shape for v in inputs])), layout=layout if rank >= 3
                  else "keras")
    out.mask = None
    return out


@register(merging.Dot)
def dot(g, layer, inputs):  # per-sample contraction of axes (a, b): Einsum; (N, 1) when nothing is left
    x, y = inputs
    ax, ay = layer._resolved([x.shape, y.shape])
    letters = "abcdefghijklmnopqrstuvwxyz"
    sx = ["n"] + [letters[i] for i in range(x.rank - 1)]
    sy = ["n"] + [letters[x.rank - 1 + i] for i in range(y.rank - 1)]
    sy[ay] = sx[ax]
    out_sub = [s for i, s in enumerate(sx) if i != ax] + [s for i, s in enumerate(sy) if i not in (0, ay)]
    xn, yn = g.keras(x), g.keras(y)
    if layer.normalize:  # x / √max(Σx², 1e-12)
        def l2(n, axis):
            sq = g.op("ReduceSum", [g.op("Mul", [n, n]), g.ints([axis])], keepdims=1)
            return g.op("Div", [n, g.op("Sqrt", [g.op("Max", [sq, g.scalar(1e-12)])])])
        xn, yn = l2(xn, ax), l2(yn, ay)
    z = g.op("Einsum", [xn, yn], equation=f"{''.join(sx)},{''.join(sy)}->{''.join(out_sub)}")
    if len(out_sub) == 1:
        z = g.op("Unsqueeze", [z, g.ints([1])])
    return g.value(z, tuple(layer.compute_output_shape([x.shape, y.shape])))


@register(reshaping.Flatten)
def flatten(g, layer, x):  # (N, d1, …) → (N, Πd) in Keras's element order
    if layer.data_format == "channels_first" and x.rank > 2:  # Keras flattens channels-last order then
        y = g.op("Flatten", [g.op("Transpose", [g.keras(x)], perm=[0, *range(2, x.rank), 1])], axis=1)
    else:
        y = g.op("Flatten", [g.keras(x)], axis=1)
    return g.value(y, tuple(layer.compute_output_shape(x.shape)))


@register(reshaping.Reshape)
def reshape(g, layer, x):  # (N, …) → (N, *target_shape); 0 keeps the batch size
    target = [-1 if d is None else int(d) for d in layer.target_shape]
    y = g.op("Reshape", [g.keras(x), g.ints([0, *target])])
    return g.value(y, tuple(layer.compute_output_shape(x.shape)))


@register(reshaping.Permute)
def permute(g, layer, x):
    y = g.op("Transpose", [g.keras(x)], perm=[0, *[int(d) for d in layer.dims]])
    return g.value(y, tuple(layer.compute_output_shape(x.shape)))


@register(reshaping.RepeatVector)
def repeat_vector(g, layer, x):  # (N, D) → (N, n, D)
    y = g.op("Tile", [g.op("Unsqueeze", [g.keras(x), g.ints([1])]), g.ints([1, layer.n, 1])])
    return g.value(y, tuple(layer.compute_output_shape(x.shape)))


"""Core layers: Dense, Embedding (Gather), the identities of inference (Dropout and noise), LayerNormalization,
the preprocessing layers Rescaling and Normalization, Masking, and the custom layers of neuronka's applications
(ZeroPadShortcut, ImageNetPreprocessing, PositionEmbedding)."""
from __future__ import annotations

import numpy

from ..applications.cifar_resnet import ZeroPadShortcut
from ..applications.text import MaskedMean, PositionEmbedding
from ..layers import core, masking, normalization, preprocessing, regularization
from ..layers.embedding import Embedding
from ..transfer import ImageNetPreprocessing
from .convert_activations import apply_activation
from .onnx_graph import Value
from .registry import register, unsupported

BOOL = 9


def weight(v) -> numpy.ndarray:
    """A layer weight as a float32 NumPy array."""
    return numpy.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=numpy.float32)


@register(core.Dense)
def dense(g, layer, x):  # y = activation(x·W + b), W (in, units)
    kernel = weight(layer._lora_merged() if getattr(layer, "lora_enabled", False) else layer.kernel)
    y = g.op("MatMul", [g.keras(x), g.const(kernel, "kernel")])
    if layer.use_bias:
        y = g.op("Add", [y, g.const(weight(layer.bias), "bias")])
    return apply_activation(g, layer, layer.activation, g.value(y, (*x.shape[:-1], layer.units)))


def identity(g, layer, x, **kwargs):
    """Inference is the identity for dropout and noise layers."""
    return Value(x.shape, x.dtype, dict(x.names), x.primary)


register(core.Dropout, core.Identity, regularization.SpatialDropout1D, regularization.SpatialDropout2D,
         regularization.SpatialDropout3D, regularization.GaussianNoise, regularization.GaussianDropout,
         regularization.AlphaDropout, regularization.ActivityRegularization)(identity)


@register(Embedding)
def embedding(g, layer, x):  # y[n, t] = E[x[n, t]]; mask = (x ≠ 0) with mask_zero
    if getattr(layer, "lora_enabled", False):
        raise unsupported(layer, "LoRA embeddings (merge the LoRA weights first)")
    ids = g.keras(x)
    if x.dtype != 7:
        ids = g.op("Cast", [ids], to=7)
    out = g.value(g.op("Gather", [g.const(weight(layer.embeddings), "embeddings"), ids], axis=0),
                  (*x.shape, layer.output_dim))
    if layer.mask_zero:
        zero = g.const(numpy.asarray(0, dtype=numpy.int64), "zero_id")
        out.mask = g.value(g.op("Not", [g.op("Equal", [ids, zero])], hint="mask"), x.shape, dtype=BOOL)
    else:
        out.mask = None
    return out


@register(masking.Masking)
def masking_layer(g, layer, x):  # mask[n, t] = any_c(x[n, t, c] ≠ mask_value); masked steps set to 0
    xk = g.keras(x)
    keep = g.op("Not", [g.op("Equal", [xk, g.scalar(float(layer.mask_value))])])
    keep = g.op("Cast", [g.op("ReduceMax", [g.op("Cast", [keep], to=1), g.ints([-1])], keepdims=0)], to=BOOL)
    y = g.op("Where", [g.op("Unsqueeze", [keep, g.ints([-1])]), xk, g.scalar(0.0)])
    out = g.value(y, x.shape)
    out.mask = g.value(keep, x.shape[:-1], dtype=BOOL)
    return out


@register(normalization.LayerNormalization)
def layer_normalization(g, layer, x):  # y = (x − μ)/√(σ² + ε)·γ + β over `axis`
    r = x.rank
    axes = sorted(a % r for a in layer.axis)
    if axes != list(range(axes[0], r)):
        raise unsupported(layer, f"axis={layer.axis} is not a trailing block of axes of a rank-{r} input")
    norm_shape = [x.shape[a] for a in axes]
    gamma = weight(layer.gamma).reshape(norm_shape) if layer.gamma is not None else numpy.ones(norm_shape, "float32")
    xk = g.keras(x)
    if layer.rms_scaling:  # y = x/√(var(x) + ε)·γ, Keras's rms_scaling (the variance, centred)
        var = g.op("ReduceMean", [g.op("Mul", [d := g.op("Sub", [xk, g.op("ReduceMean", [xk, g.ints(axes)])]), d]),
                                  g.ints(axes)])
        y = g.op("Div", [xk, g.op("Sqrt", [g.op("Add", [var, g.scalar(layer.epsilon)])])])
        return g.value(g.op("Mul", [y, g.const(gamma, "gamma")]), x.shape)
    beta = weight(layer.beta).reshape(norm_shape) if layer.beta is not None else numpy.zeros(norm_shape, "float32")
    y = g.op("LayerNormalization", [xk, g.const(gamma, "gamma"), g.const(beta, "beta")], axis=axes[0],
             epsilon=float(layer.epsilon))
    return g.value(y, x.shape)


@register(normalization.RMSNormalization)
def rms_normalization(g, layer, x):  # y = x/√(mean(x²) + ε)·scale over `axis`
    axes = sorted(a % x.rank for a in layer.axis)
    scale = weight(layer.scale).reshape([x.shape[a] if a in axes else 1 for a in range(1, x.rank)])
    xk = g.keras(x)
    ms = g.op("ReduceMean", [g.op("Mul", [xk, xk]), g.ints(axes)], keepdims=1)
    y = g.op("Div", [xk, g.op("Sqrt", [g.op("Add", [ms, g.scalar(layer.epsilon)])])])
    return g.value(g.op("Mul", [y, g.const(scale, "scale")]), x.shape)


@register(normalization.GroupNormalization)
def group_normalization(g, layer, x):
    """Channels-first (N, C, …) → (N, G, C/G·…): x̂ = (x − μ)/√(σ² + ε) per row, back, then γ_c·x̂ + β_c."""
    if layer.axis % x.rank != x.rank - 1 or x.rank < 3:
        raise unsupported(layer, f"axis={layer.axis} (the channel axis, last, of an input of rank ≥ 3 is exported)")
    c = x.shape[-1]
    xc = g.cf(x)
    grouped = g.op("Reshape", [xc, g.ints([0, layer.groups, -1])])
    mean = g.op("ReduceMean", [grouped, g.ints([2])], keepdims=1)
    d = g.op("Sub", [grouped, mean])
    var = g.op("ReduceMean", [g.op("Mul", [d, d]), g.ints([2])], keepdims=1)
    y = g.op("Reshape", [g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.scalar(layer.epsilon)])])]),
                         g.op("Shape", [xc])])
    bshape = (c, *(1,) * (x.rank - 2))
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(weight(layer.gamma).reshape(bshape), "gamma")])
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(weight(layer.beta).reshape(bshape), "beta")])
    return g.value(y, x.shape, layout="cf")


@register(normalization.UnitNormalization)
def unit_normalization(g, layer, x):  # y = x / max(‖x‖₂, ε) over `axis`
    axes = [a % x.rank for a in (layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis])]
    xk = g.keras(x)
    norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [xk, xk]), g.ints(axes)], keepdims=1)])
    return g.value(g.op("Div", [xk, g.op("Max", [norm, g.scalar(1e-12)])]), x.shape)


def _keras_broadcast(g, x: Value, array, hint: str) -> tuple[str, str]:
    """(input name, constant name) for ``x ∘ array`` with ``array`` broadcast Keras-style: a scalar in any
    layout, a per-channel vector in Keras's layout."""
    a = numpy.asarray(array, dtype=numpy.float32)
    if a.size == 1:
        layout = x.primary if x.primary in x.names else next(iter(x.names))
        return x.names[layout], g.const(a.reshape(()), hint)
    return g.keras(x), g.const(a, hint)


def _as_float(g, x: Value) -> Value:
    if x.dtype == 1:
        return x
    return g.value(g.op("Cast", [g.keras(x)], to=1), x.shape)


def _affine(g, x: Value, scale, offset) -> Value:
    """y = x·scale + offset (scalars, or arrays broadcast against Keras's layout)."""
    x = _as_float(g, x)
    s, o = numpy.asarray(scale, dtype=numpy.float32), numpy.asarray(offset, dtype=numpy.float32)
    if s.size == 1 and o.size == 1:
        return g.elementwise(x, lambda n, layout: g.op("Add", [g.op("Mul", [n, g.scalar(float(s))]),
                                                                g.scalar(float(o))]))
    n, sc = _keras_broadcast(g, x, s, "scale")
    if s.size == 1:
        n = g.keras(x)
    return g.value(g.op("Add", [g.op("Mul", [n, sc]), g.const(o, "offset")]), x.shape)


@register(preprocessing.Rescaling)
def rescaling(g, layer, x):  # y = x·scale + offset
    return _affine(g, x, layer.scale, layer.offset)


@register(normalization.Normalization)
def normalization_layer(g, layer, x):  # y = (x − μ)/max(√σ², ε), or x·max(√σ², ε) + μ with invert
    mean, var = (numpy.asarray(v, dtype=numpy.float64) for v in layer._stats())
    std = numpy.maximum(numpy.sqrt(var), normalization._EPSILON)
    mean, std = mean.reshape(mean.shape[1:]), std.reshape(std.shape[1:])  # drop the batch axis of 1
    if layer.invert:
        return _affine(g, x, std, mean)
    return _affine(g, x, 1.0 / std, -mean / std)


@register(ImageNetPreprocessing)
def imagenet_preprocessing(g, layer, x):  # y = x·A + b over the channel axis
    x = _as_float(g, x)
    a, b = layer._a.astype(numpy.float32), layer._b.astype(numpy.float32)
    y = g.op("Add", [g.op("MatMul", [g.keras(x), g.const(a, "A")]), g.const(b, "b")])
    return g.value(y, x.shape)


@register(ZeroPadShortcut)
def zero_pad_shortcut(g, layer, x):  # x[:, ::s, ::s, :], channels zero-padded to `filters`
    s = layer.strides
    xc = g.cf(x)
    if s > 1:
        xc = g.op("Slice", [xc, g.ints([0, 0]), g.ints([2 ** 62, 2 ** 62]), g.ints([2, 3]), g.ints([s, s])])
    extra = layer.filters - x.shape[-1]
    if extra:
        before = extra // 2
        xc = g.op("Pad", [xc, g.ints([0, before, 0, 0, 0, extra - before, 0, 0])])
    n, h, w, _ = x.shape
    shape = (n, None if h is None else -(-h // s), None if w is None else -(-w // s), layer.filters)
    return g.value(xc, shape, layout="cf")


@register(PositionEmbedding)
def position_embedding(g, layer, x):  # y[n, t] = x[n, t] + P[t], P sliced to the input's length
    p = weight(layer.embeddings)
    xk = g.keras(x)
    if x.shape[1] is not None:
        return g.value(g.op("Add", [xk, g.const(p[: x.shape[1]], "positions")]), x.shape)
    length = g.op("Slice", [g.op("Shape", [xk]), g.ints([1]), g.ints([2])])
    sliced = g.op("Slice", [g.const(p, "positions"), g.ints([0]), length, g.ints([0])])
    return g.value(g.op("Add", [xk, sliced]), x.shape)


@register(MaskedMean)
def masked_mean(g, layer, x, mask=None):  # y[n] = Σ_t m[n, t]·x[n, t] / max(Σ_t m[n, t], 1)
    m = mask if mask is not None else (x.mask if isinstance(x.mask, Value) else None)
    shape = tuple(layer.compute_output_shape(x.shape))
    xk = g.keras(x)
    if m is None:
        return g.value(g.op("ReduceMean", [xk, g.ints([1])], keepdims=int(layer.keepdims)), shape)
    mf = g.op("Unsqueeze", [g.op("Cast", [g.keras(m)], to=1), g.ints([-1])])
    total = g.op("ReduceSum", [g.op("Mul", [xk, mf]), g.ints([1])], keepdims=int(layer.keepdims))
    count = g.op("Max", [g.op("ReduceSum", [mf, g.ints([1])], keepdims=int(layer.keepdims)),
                         g.const(numpy.ones((), numpy.float32), "one")])
    out = g.value(g.op("Div", [total, count]), shape)
    out.mask = None
    return out

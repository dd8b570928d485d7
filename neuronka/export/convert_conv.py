"""Convolutions (1-3D, grouped, depthwise, separable, transposed), pooling (windows, global, adaptive),
BatchNormalization, zero padding, cropping, up-sampling and Resizing — written channels-first, as ONNX's ops
want, on the channels-first copy of the input (see onnx_graph.py).

Keras's "same" padding puts the extra cell at the end: total = max((⌈L/s⌉ − 1)·s + k_eff − L, 0),
before = ⌊total/2⌋ (k_eff = (k − 1)·d + 1); written as explicit ONNX pads when the length is known,
``auto_pad="SAME_UPPER"`` otherwise.
"""
from __future__ import annotations

import numpy

from ..layers import convolutional as conv
from ..layers import normalization, pooling, preprocessing, reshaping
from ..ops.convolution import _conv_transpose_crop, conv_transpose_output_length
from .convert_activations import apply_activation
from .convert_core import weight
from .onnx_graph import Value
from .registry import register, unsupported


def _check_channels_last(layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise unsupported(layer, f"data_format={layer.data_format!r} (the exporter writes channels_last models)")


def _same_pads(lengths, kernel, strides, dilation) -> list[int] | None:
    before, after = [], []
    for length, k, s, d in zip(lengths, kernel, strides, dilation):
        if length is None:
            return None
        k_eff = (k - 1) * d + 1
        total = max((-(-length // s) - 1) * s + k_eff - length, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


def _window_attrs(layer, x, kernel, strides, dilation, padding) -> dict:
    rank = len(kernel)
    attrs = {"kernel_shape": list(kernel), "strides": list(strides)}
    if dilation is not None:
        attrs["dilations"] = list(dilation)
    if padding == "valid":
        attrs["pads"] = [0] * (2 * rank)
    elif padding == "causal":  # Conv1D: (k − 1)·d zeros before
        attrs["pads"] = [(kernel[0] - 1) * dilation[0], 0]
    else:
        pads = _same_pads(x.shape[1:-1], kernel, strides, dilation or (1,) * rank)
        if pads is None:
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = pads
    return attrs


def _out_shape(layer, x, channels):
    return tuple(layer.compute_output_shape(x.shape)[:-1]) + (channels,)


def _fold(kernel_oihw, bias, bn):
    """W' = W·s, b' = (b − μ)·s + β, s = γ/√(σ² + ε) per output channel (axis 0 of ``kernel_oihw``)."""
    gamma = weight(bn.gamma) if bn.gamma is not None else 1.0
    beta = weight(bn.beta) if bn.beta is not None else 0.0
    mean, var = weight(bn.moving_mean).astype(numpy.float64), weight(bn.moving_variance).astype(numpy.float64)
    s = numpy.asarray(gamma, numpy.float64) / numpy.sqrt(var + bn.epsilon)
    w = kernel_oihw.astype(numpy.float64) * s.reshape(-1, *(1,) * (kernel_oihw.ndim - 1))
    b = ((0.0 if bias is None else bias.astype(numpy.float64)) - mean) * s + beta
    return w.astype(numpy.float32), b.astype(numpy.float32)


def convolution(g, layer, x, fold=None):
    """Conv1D/2D/3D (groups), DepthwiseConv1D/2D; ``fold``: a BatchNormalization folded into the weights."""
    _check_channels_last(layer)
    rank = layer.rank
    spatial = list(range(rank))
    if isinstance(layer, conv._DepthwiseConv):
        k = weight(layer.depthwise_kernel)  # (*ks, C, M) → (C·M, 1, *ks), output channel c·M + m
        c, m = k.shape[-2], k.shape[-1]
        w = k.transpose(rank, rank + 1, *spatial).reshape(c * m, 1, *k.shape[:rank])
        group = c
    else:
        k = weight(layer._lora_merged().numpy() if getattr(layer, "lora_enabled", False) else layer.kernel)
        w = k.transpose(rank + 1, rank, *spatial)  # (*ks, C/G, F) → (F, C/G, *ks)
        group = layer.groups
    b = weight(layer.bias) if layer.use_bias else None
    if fold is not None:
        w, b = _fold(w, b, fold)
    attrs = _window_attrs(layer, x, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    inputs = [g.cf(x), g.const(w, "kernel")] + ([g.const(b, "bias")] if b is not None else [])
    y = g.op("Conv", inputs, group=group, **attrs)
    out = g.value(y, _out_shape(layer, x, w.shape[0]), layout="cf")
    return apply_activation(g, layer, layer.activation, out) if fold is None else out


register(conv.Conv1D, conv.Conv2D, conv.Conv3D, conv.DepthwiseConv1D, conv.DepthwiseConv2D)(convolution)


@register(conv.SeparableConv1D, conv.SeparableConv2D)
def separable_convolution(g, layer, x):  # depthwise (groups = C), then a 1×1 convolution with the bias
    _check_channels_last(layer)
    rank = layer.rank
    k = weight(layer.depthwise_kernel)
    c, m = k.shape[-2], k.shape[-1]
    wd = k.transpose(rank, rank + 1, *range(rank)).reshape(c * m, 1, *k.shape[:rank])
    attrs = _window_attrs(layer, x, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    z = g.op("Conv", [g.cf(x), g.const(wd, "depthwise_kernel")], group=c, **attrs)
    p = weight(layer.pointwise_kernel)
    wp = p.reshape(p.shape[-2], p.shape[-1]).T.reshape(p.shape[-1], p.shape[-2], *(1,) * rank)
    inputs = [z, g.const(wp, "pointwise_kernel")] + ([g.const(weight(layer.bias), "bias")] if layer.use_bias else [])
    y = g.op("Conv", inputs, kernel_shape=[1] * rank)
    out = g.value(y, _out_shape(layer, x, layer.filters), layout="cf")
    return apply_activation(g, layer, layer.activation, out)


@register(conv.Conv1DTranspose, conv.Conv2DTranspose, conv.Conv3DTranspose)
def convolution_transpose(g, layer, x):
    """ONNX's ConvTranspose gives the full (L − 1)·s + k_eff (+ output_padding) output; Keras's starts
    ``crop`` cells into it (neuronka.ops.convolution._conv_transpose_crop) and is L_out long."""
    _check_channels_last(layer)
    rank = layer.rank
    k = weight(layer.kernel)  # (*ks, F, C) → (C, F, *ks)
    w = k.transpose(rank + 1, rank, *range(rank))
    begin, end, extra = [], [], []
    for i, length in enumerate(x.shape[1:-1]):
        if length is None:
            raise unsupported(layer, "a transposed convolution over an axis of unknown length")
        ks, s, d = layer.kernel_size[i], layer.strides[i], layer.dilation_rate[i]
        op = None if layer.output_padding is None else layer.output_padding[i]
        crop = _conv_transpose_crop(ks, s, layer.padding, op, d)
        out = conv_transpose_output_length(length, ks, s, layer.padding, op, d)
        tail = (length - 1) * s + (ks - 1) * d + 1 - crop - out
        begin.append(crop)
        end.append(max(tail, 0))
        extra.append(max(-tail, 0))
    inputs = [g.cf(x), g.const(w, "kernel")] + ([g.const(weight(layer.bias), "bias")] if layer.use_bias else [])
    y = g.op("ConvTranspose", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
             dilations=list(layer.dilation_rate), pads=begin + end,
             output_padding=extra if any(extra) else None)
    out = g.value(y, _out_shape(layer, x, layer.filters), layout="cf")
    return apply_activation(g, layer, layer.activation, out)


# ---- pooling ---------------------------------------------------------------------------------------------
_MAX = (pooling.MaxPooling1D, pooling.MaxPooling2D, pooling.MaxPooling3D)
_AVG = (pooling.AveragePooling1D, pooling.AveragePooling2D, pooling.AveragePooling3D)


@register(*_MAX, *_AVG)
def window_pooling(g, layer, x):  # max or mean over each window; "same" averages only the real cells
    _check_channels_last(layer)
    attrs = _window_attrs(layer, x, layer.pool_size, layer.strides, None, layer.padding)
    if isinstance(layer, _MAX):
        y = g.op("MaxPool", [g.cf(x)], **attrs)
    else:
        y = g.op("AveragePool", [g.cf(x)], count_include_pad=0, **attrs)
    return g.value(y, tuple(layer.compute_output_shape(x.shape)), layout="cf")


@register(pooling.GlobalAveragePooling1D, pooling.GlobalAveragePooling2D, pooling.GlobalAveragePooling3D,
          pooling.GlobalMaxPooling1D, pooling.GlobalMaxPooling2D, pooling.GlobalMaxPooling3D)
def global_pooling(g, layer, x, mask=None):
    _check_channels_last(layer)
    is_max = "Max" in type(layer).__name__
    shape = tuple(layer.compute_output_shape(x.shape))
    m = mask if mask is not None else (x.mask if isinstance(x.mask, Value) else None)
    out_mask = None
    if m is not None and isinstance(layer, pooling.GlobalAveragePooling1D):
        # y[n, c] = Σ_t m[n, t]·x[n, t, c] / Σ_t m[n, t]
        mf = g.op("Unsqueeze", [g.op("Cast", [g.keras(m)], to=1), g.ints([-1])])
        total = g.op("ReduceSum", [g.op("Mul", [g.keras(x), mf]), g.ints([1])], keepdims=int(layer.keepdims))
        count = g.op("ReduceSum", [mf, g.ints([1])], keepdims=int(layer.keepdims))
        return _with_mask(g.value(g.op("Div", [total, count]), shape), out_mask)
    y = g.op("GlobalMaxPool" if is_max else "GlobalAveragePool", [g.cf(x)])  # (N, C, 1, …)
    if layer.keepdims:
        return _with_mask(g.value(y, shape, layout="cf"), out_mask)
    return _with_mask(g.value(g.op("Flatten", [y], axis=1), shape), out_mask)


def _with_mask(v, mask):
    v.mask = mask
    return v


@register(pooling.AdaptiveAveragePooling1D, pooling.AdaptiveAveragePooling2D, pooling.AdaptiveAveragePooling3D,
          pooling.AdaptiveMaxPooling1D, pooling.AdaptiveMaxPooling2D, pooling.AdaptiveMaxPooling3D)
def adaptive_pooling(g, layer, x):
    """Bin i of an axis of length L into n bins covers [⌊iL/n⌋, ⌈(i + 1)L/n⌉): a plain pooling window when
    n divides L, else one Reduce per bin (lengths must be known)."""
    _check_channels_last(layer)
    is_max = "Max" in type(layer).__name__
    sizes = list(layer.output_size) if isinstance(layer.output_size, (list, tuple)) else [layer.output_size]
    lengths = list(x.shape[1:-1])
    sizes = sizes * len(lengths) if len(sizes) == 1 else sizes
    if any(length is None for length in lengths):
        raise unsupported(layer, "adaptive pooling over an axis of unknown length")
    shape = tuple(layer.compute_output_shape(x.shape))
    if all(length % n == 0 for length, n in zip(lengths, sizes)):
        ks = [length // n for length, n in zip(lengths, sizes)]
        y = g.op("MaxPool" if is_max else "AveragePool", [g.cf(x)], kernel_shape=ks, strides=ks)
        return g.value(y, shape, layout="cf")
    y = g.cf(x)
    reduce = "ReduceMax" if is_max else "ReduceMean"
    for axis, (length, n) in enumerate(zip(lengths, sizes)):
        parts = []
        for i in range(n):
            lo, hi = (i * length) // n, -(-((i + 1) * length) // n)
            part = g.op("Slice", [y, g.ints([lo]), g.ints([hi]), g.ints([axis + 2])])
            parts.append(g.op(reduce, [part, g.ints([axis + 2])], keepdims=1))
        y = g.op("Concat", parts, axis=axis + 2)
    return g.value(y, shape, layout="cf")


# ---- BatchNormalization ---------------------------------------------------------------------------------
@register(normalization.BatchNormalization)
def batch_normalization(g, layer, x):  # y = γ(x − μ)/√(σ² + ε) + β with the moving statistics
    c = x.shape[layer.axis]
    ones = numpy.ones((c,), numpy.float32)
    gamma = weight(layer.gamma) if layer.gamma is not None else ones
    beta = weight(layer.beta) if layer.beta is not None else ones * 0
    mean, var = weight(layer.moving_mean), weight(layer.moving_variance)
    axis = layer.axis % x.rank
    if axis == x.rank - 1 and x.rank >= 2:  # the channel axis: ONNX's op, channels-first
        inputs = [g.cf(x)] + [g.const(a, n) for a, n in ((gamma, "gamma"), (beta, "beta"), (mean, "mean"),
                                                          (var, "variance"))]
        return g.value(g.op("BatchNormalization", inputs, epsilon=float(layer.epsilon)),
                       x.shape, layout="cf" if x.rank >= 3 else "keras")
    s = gamma / numpy.sqrt(var.astype(numpy.float64) + layer.epsilon)
    shape = [1] * x.rank
    shape[axis] = c
    y = g.op("Add", [g.op("Mul", [g.keras(x), g.const(s.reshape(shape), "scale")]),
                     g.const((beta - mean * s).reshape(shape), "shift")])
    return g.value(y, x.shape)


# ---- padding, cropping, up-sampling, resizing ------------------------------------------------------------
@register(reshaping.ZeroPadding1D, reshaping.ZeroPadding2D, reshaping.ZeroPadding3D)
def zero_padding(g, layer, x):
    _check_channels_last(layer)
    pads = [tuple(p) for p in layer.padding]
    begin, end = [p[0] for p in pads], [p[1] for p in pads]
    y = g.op("Pad", [g.cf(x), g.ints([0, 0, *begin, 0, 0, *end])])
    return g.value(y, tuple(layer.compute_output_shape(x.shape)), layout="cf")


@register(reshaping.Cropping1D, reshaping.Cropping2D, reshaping.Cropping3D)
def cropping(g, layer, x):
    _check_channels_last(layer)
    crops = [tuple(c) for c in layer.cropping]
    axes = list(range(2, 2 + len(crops)))
    ends = [-c[1] if c[1] else 2 ** 62 for c in crops]
    y = g.op("Slice", [g.cf(x), g.ints([c[0] for c in crops]), g.ints(ends), g.ints(axes)])
    return g.value(y, tuple(layer.compute_output_shape(x.shape)), layout="cf")


@register(reshaping.UpSampling1D, reshaping.UpSampling2D, reshaping.UpSampling3D)
def up_sampling(g, layer, x):  # nearest: y[i] = x[⌊i/s⌋]; bilinear: half-pixel centres
    _check_channels_last(layer)
    size = list(layer.size)
    interpolation = getattr(layer, "interpolation", "nearest")
    if interpolation not in ("nearest", "bilinear"):
        raise unsupported(layer, f"interpolation={interpolation!r}")
    scales = g.const(numpy.asarray([1.0, 1.0, *size], numpy.float32), "scales")
    if interpolation == "nearest":
        y = g.op("Resize", [g.cf(x), "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                 nearest_mode="floor")
    else:
        y = g.op("Resize", [g.cf(x), "", scales], mode="linear", coordinate_transformation_mode="half_pixel")
    return g.value(y, tuple(layer.compute_output_shape(x.shape)), layout="cf")


@register(preprocessing.Resizing)
def resizing(g, layer, x):  # bilinear / nearest resize to (height, width), half-pixel centres, no antialias
    _check_channels_last(layer)
    if layer.crop_to_aspect_ratio or getattr(layer, "pad_to_aspect_ratio", False):
        raise unsupported(layer, "crop_to_aspect_ratio / pad_to_aspect_ratio")
    if getattr(layer, "antialias", False):
        raise unsupported(layer, "antialias=True")
    modes = {"bilinear": ("linear", {}), "nearest": ("nearest", {"nearest_mode": "round_prefer_ceil"}),
             "bicubic": ("cubic", {"cubic_coeff_a": -0.5})}
    if layer.interpolation not in modes or x.rank != 4:
        raise unsupported(layer, f"interpolation={layer.interpolation!r} on a rank-{x.rank} input")
    mode, extra = modes[layer.interpolation]
    xc = g.cf(x)
    if x.dtype != 1:
        xc = g.op("Cast", [xc], to=1)
    batch_channels = g.op("Slice", [g.op("Shape", [xc]), g.ints([0]), g.ints([2])])
    sizes = g.op("Concat", [batch_channels, g.ints([layer.height, layer.width])], axis=0)
    y = g.op("Resize", [xc, "", "", sizes], mode=mode, coordinate_transformation_mode="half_pixel", **extra)
    return g.value(y, tuple(layer.compute_output_shape(x.shape)), layout="cf")


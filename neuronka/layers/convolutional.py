"""Convolution layers: Conv1D/2D, Conv1DTranspose/2DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D.

A convolution layer slides a small kernel over the spatial axes of its input; at every output
position it computes one weighted sum of the window under the kernel (a Dense layer applied to
each patch, with the same weights everywhere), then adds the bias and applies the activation::

    y[n, i, j, o] = A( Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, o] + bias[o] )

The arithmetic (and its backward pass) lives in :mod:`neuronka.ops.convolution`; these layers hold the
configuration and the weights, check their inputs and answer ``compute_output_shape``. Layouts are
Keras's: inputs (batch, [height,] width, channels) ("channels_last", the default) or
(batch, channels, [height,] width) ("channels_first"); kernels (kh, kw, in, out), transposed
kernels (kh, kw, out, in), depthwise kernels (kh, kw, in, depth_multiplier).

Output length along one spatial axis (L the input length, k_eff = (k − 1)·d + 1):
"valid": ⌊(L − k_eff)/s⌋ + 1; "same" and "causal": ⌈L/s⌉.
"""
from __future__ import annotations

import re
from typing import Any

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from ..ops import convolution as _conv
from .base import InputSpec, Layer, unique_name
from .core import check_positive_int, weight_arguments
from .lora import LoRAMixin
from .reshaping import standardize_data_format

__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
]


# ----------------------------------------------------------------------------------
# argument checking and shape arithmetic shared by every convolution layer
# ----------------------------------------------------------------------------------
def default_name(cls: type, kwargs: dict) -> None:
    """Give the layer Keras's default name when none is passed: Conv2D → "conv2d", "conv2d_1", ...;
    MaxPooling2D → "max_pooling2d" (a digit does not start a new word, as in Keras)."""
    if kwargs.get("name") is None:
        name = re.sub(r"\W+", "", cls.__name__)
        name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
        kwargs["name"] = unique_name(re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower())


def _tuple(layer: str, arg: str, value, rank: int, minimum: int = 1) -> tuple[int, ...]:
    """An int or ``rank`` ints (each >= ``minimum``) as a tuple of ``rank`` ints; the error names the layer."""
    return _conv.normalize_tuple(value, rank, arg, layer, minimum=minimum)


def _padding(layer: str, padding, allow_causal: bool) -> str:
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    return _conv.normalize_padding(padding, layer, allowed)


def _check_strides_dilation(layer: str, strides, dilation_rate) -> None:
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(f"{layer}: `strides > 1` not supported in conjunction with `dilation_rate > 1`; "
                         f"expected one of them to be 1, received strides={strides} and dilation_rate={dilation_rate}")


def _spatial(shape, data_format: str) -> tuple:
    """The spatial sizes of an input shape (batch first)."""
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def _with_channels(batch, spatial, channels, data_format: str) -> tuple:
    if data_format == "channels_last":
        return (batch, *spatial, channels)
    return (batch, channels, *spatial)


def _conv_out_length(layer, input_shape, length, k, s, d, padding):
    """⌊(L − k_eff)/s⌋ + 1 ("valid") or ⌈L/s⌉ ("same", "causal"); None stays None; a size <= 0 is an error."""
    if length is None:
        return None
    out = _conv.conv_output_length(length, k, s, padding, d)
    if out <= 0 or (padding == "valid" and length < (k - 1) * d + 1):
        raise ValueError(
            f"{layer.__class__.__name__} {layer.name!r}: computed output size would be non-positive; expected "
            f"every spatial size of the input to be >= the dilated kernel size {(k - 1) * d + 1} with "
            f"padding='valid', received input shape {tuple(input_shape)} (kernel_size={layer.kernel_size}, "
            f"dilation_rate={layer.dilation_rate})")
    return out


def _input_channels(layer, input_shape) -> int:
    """The channel count of ``input_shape``: it must be known to create the kernel."""
    rank = layer.rank + 2
    if len(input_shape) != rank:  # the input spec says the same; kept for direct build() calls
        raise ValueError(f"Input 0 of layer {layer.name!r} is incompatible with the layer: expected ndim={rank}, "
                         f"found ndim={len(input_shape)}. Full shape received: {tuple(input_shape)}")
    channels = input_shape[-1] if layer.data_format == "channels_last" else input_shape[1]
    if channels is None:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: the channel dimension of the inputs must be "
                         f"known to create the kernel, received input shape {tuple(input_shape)}")
    return int(channels)


class _ConvBase(Layer):
    """What every convolution layer shares: kernel size, strides, padding, data format, dilation,
    activation, bias, the input spec and the final ``activation(y + bias)``."""

    rank = 2
    allow_causal = False

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, **kwargs):
        default_name(type(self), kwargs)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        self.kernel_size = _tuple(cls, "kernel_size", kernel_size, self.rank)
        self.strides = _tuple(cls, "strides", strides, self.rank)
        self.padding = _padding(cls, padding, self.allow_causal)
        self.data_format = standardize_data_format(cls, data_format)
        self.dilation_rate = _tuple(cls, "dilation_rate", dilation_rate, self.rank)
        _check_strides_dilation(cls, self.strides, self.dilation_rate)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _fix_channels(self, channels: int) -> None:
        """After build the channel count is part of the input spec: another one is an error."""
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def _add_bias(self, channels: int) -> None:
        self.bias = (self.add_weight(shape=(channels,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
                     if self.use_bias else None)

    def _finish(self, y):
        """activation(y + bias), the bias broadcast over the channel axis."""
        if self.bias is not None:
            bias = self.bias if self.data_format == "channels_last" else \
                ops.reshape(self.bias, (-1, *(1,) * self.rank))
            y = y + bias
        return y if self.activation is _activations.linear else self.activation(y)

    def _conv_output_shape(self, input_shape, channels):
        spatial = [_conv_out_length(self, input_shape, length, k, s, d, self.padding)
                   for length, k, s, d in zip(_spatial(input_shape, self.data_format), self.kernel_size,
                                              self.strides, self.dilation_rate)]
        return _with_channels(input_shape[0], spatial, channels, self.data_format)

    def _window_config(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding}


# ----------------------------------------------------------------------------------
# Conv1D, Conv2D
# ----------------------------------------------------------------------------------
class _Conv(LoRAMixin, _ConvBase):
    """y = activation(conv(x, kernel) + bias), kernel (*kernel_size, in_channels // groups, filters).

    With ``groups`` = G the channels are cut into G groups and group g of the output
    (filters/G channels) sees only group g of the input: y_g = x_g ⋆ kernel[..., g·F/G:(g+1)·F/G].
    Weights: kernel, then bias (filters,). Parameters: ∏kernel_size · in/G · filters + filters.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        cls = type(self).__name__
        self.filters = check_positive_int(cls, "filters", filters)
        self.groups = check_positive_int(cls, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{cls}: expected `filters` to be divisible by `groups`, received "
                             f"filters={self.filters} and groups={self.groups}")
        self._init_lora(lora_rank, lora_alpha)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = _input_channels(self, input_shape)
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected the number of input channels to be "
                             f"divisible by groups={self.groups}, received an input of shape {tuple(input_shape)} "
                             f"({channels} channels)")
        self.compute_output_shape(input_shape)  # a window larger than the input is an error now, not later
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)
        self._fix_channels(channels)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def _convolve(self, x, kernel):
        return _conv.conv(x, kernel, strides=self.strides, padding=self.padding, data_format=self.data_format,
                          dilation_rate=self.dilation_rate)

    def call(self, inputs):
        # groups > 1: ops.conv reads the groups from the kernel's shape (a depthwise op when each has one channel)
        kernel = self._lora_merged() if self.lora_enabled else self.kernel
        return self._finish(self._convolve(inputs, kernel))

    def compute_output_shape(self, input_shape):
        return self._conv_output_shape(input_shape, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"filters": self.filters, **self._window_config(), "data_format": self.data_format,
                       "dilation_rate": self.dilation_rate, "groups": self.groups,
                       "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                       **weight_arguments(self, "kernel", "bias")})
        return self._lora_config(config)


class Conv1D(_Conv):
    """1-D convolution (temporal): inputs (batch, steps, channels), kernel (kernel_size, in_channels, filters).

    y[n, t, o] = activation( Σ_{a, c} x_pad[n, t·s + a·d, c] · kernel[a, c, o] + bias[o] )

    ``padding="causal"`` pads (k − 1)·d zeros before the sequence only, so y[t] never sees x[t' > t].
    """

    rank = 1
    allow_causal = True


class Conv2D(_Conv):
    """2-D convolution (spatial): inputs (batch, height, width, channels), kernel (kh, kw, in_channels, filters).

    y[n, i, j, o] = activation( Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, o] + bias[o] )

    Conv2D(32, 3) on 3 channels has 3·3·3·32 + 32 = 896 parameters.
    """

    rank = 2


# ----------------------------------------------------------------------------------
# Conv1DTranspose, Conv2DTranspose
# ----------------------------------------------------------------------------------
class _ConvTranspose(_ConvBase):
    """y = activation(conv_transpose(x, kernel) + bias): the adjoint (gradient) of a convolution, mapping a
    convolution's output shape back to its input shape; kernel (*kernel_size, filters, in_channels).

    Output length (k_eff = (k − 1)·d + 1): "valid": L·s + max(k_eff − s, 0); "same": L·s; with
    ``output_padding`` p: (L − 1)·s + k_eff + p ("valid") or (L − 1)·s + (k_eff mod 2) + p ("same").
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        cls = type(self).__name__
        self.filters = check_positive_int(cls, "filters", filters)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = _tuple(cls, "output_padding", output_padding, self.rank, minimum=0)
            for p, s in zip(self.output_padding, self.strides):
                if p >= s:
                    raise ValueError(f"{cls}: expected every `output_padding` to be < its stride, received "
                                     f"output_padding={self.output_padding} and strides={self.strides}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = _input_channels(self, input_shape)
        self.kernel = self.add_weight(shape=(*self.kernel_size, self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)
        self._fix_channels(channels)
        self.built = True

    def call(self, inputs):
        y = _conv.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                 output_padding=self.output_padding, data_format=self.data_format,
                                 dilation_rate=self.dilation_rate)
        return self._finish(y)

    def compute_output_shape(self, input_shape):
        pads = self.output_padding or (None,) * self.rank
        spatial = [None if length is None else
                   _conv.conv_transpose_output_length(length, k, s, self.padding, p, d)
                   for length, k, s, d, p in zip(_spatial(input_shape, self.data_format), self.kernel_size,
                                                 self.strides, self.dilation_rate, pads)]
        return _with_channels(input_shape[0], spatial, self.filters, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"filters": self.filters, **self._window_config(), "output_padding": self.output_padding,
                       "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                       "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                       **weight_arguments(self, "kernel", "bias")})
        return config


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution: inputs (batch, steps, channels), kernel (kernel_size, filters, in_channels).

    y = Aᵀx, A being the 1-D convolution by ``kernel`` that maps y's shape to x's:
    y[n, t·s + a·d, o] += x[n, t, c] · kernel[a, o, c] (then cropped as "same"/"valid" requires).
    """

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"): inputs (batch, height, width, channels),
    kernel (kh, kw, filters, in_channels).

    y = Aᵀx, A being the 2-D convolution by ``kernel`` that maps y's shape to x's:
    y[n, i·s_h + a·d_h, j·s_w + b·d_w, o] += x[n, i, j, c] · kernel[a, b, o, c] (then cropped).
    """

    rank = 2


# ----------------------------------------------------------------------------------
# DepthwiseConv1D, DepthwiseConv2D
# ----------------------------------------------------------------------------------
class _DepthwiseConv(_ConvBase):
    """Every input channel c convolved with its own ``depth_multiplier`` filters, output channel c·M + m:

    y[n, i, j, c·M + m] = activation( Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, m]
                                      + bias[c·M + m] )

    Weights (Keras 3 names): kernel (*kernel_size, in_channels, depth_multiplier), also reachable as
    ``depthwise_kernel``; bias (in_channels · depth_multiplier,).
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = check_positive_int(type(self).__name__, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    @property
    def depthwise_kernel(self):
        """The kernel (its Keras 2 name)."""
        return self.kernel

    def build(self, input_shape):
        channels = _input_channels(self, input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self._add_bias(channels * self.depth_multiplier)
        self._fix_channels(channels)
        self.built = True

    def call(self, inputs):
        y = _conv.depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                 data_format=self.data_format, dilation_rate=self.dilation_rate)
        return self._finish(y)

    def compute_output_shape(self, input_shape):
        channels = input_shape[self._channel_axis]
        return self._conv_output_shape(input_shape, None if channels is None else channels * self.depth_multiplier)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"depth_multiplier": self.depth_multiplier, **self._window_config(),
                       "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                       "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                       **weight_arguments(self, "depthwise", "bias")})
        return config


class DepthwiseConv1D(_DepthwiseConv):
    """1-D depthwise convolution: y[n, t, c·M + m] = Σ_a x_pad[n, t·s + a·d, c] · kernel[a, c, m] (+ bias)."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """2-D depthwise convolution: y[n, i, j, c·M + m] = Σ_{a,b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] ·
    kernel[a, b, c, m] (+ bias). DepthwiseConv2D(3) on 8 channels has 3·3·8 + 8 = 80 parameters."""

    rank = 2


# ----------------------------------------------------------------------------------
# SeparableConv1D, SeparableConv2D
# ----------------------------------------------------------------------------------
class _SeparableConv(_ConvBase):
    """A depthwise convolution followed by a pointwise (1×1) one:

    z = depthwise_conv(x, depthwise_kernel)                       (channels c·M + m)
    y = activation( Σ_{c'} z[n, i, j, c'] · pointwise_kernel[0, 0, c', o] + bias[o] )

    Weights: depthwise_kernel (*kernel_size, in, M), pointwise_kernel (1, 1, in·M, filters), bias (filters,).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        cls = type(self).__name__
        self.filters = check_positive_int(cls, "filters", filters)
        self.depth_multiplier = check_positive_int(cls, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = _input_channels(self, input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)
        self._fix_channels(channels)
        self.built = True

    def call(self, inputs):
        z = _conv.depthwise_conv(inputs, self.depthwise_kernel, strides=self.strides, padding=self.padding,
                                 data_format=self.data_format, dilation_rate=self.dilation_rate)
        y = _conv.conv(z, self.pointwise_kernel, strides=1, padding="valid", data_format=self.data_format)
        return self._finish(y)

    def compute_output_shape(self, input_shape):
        return self._conv_output_shape(input_shape, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"depth_multiplier": self.depth_multiplier, "filters": self.filters, **self._window_config(),
                       "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                       "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                       **weight_arguments(self, "depthwise", "pointwise", "bias")})
        return config


class SeparableConv1D(_SeparableConv):
    """1-D separable convolution: a DepthwiseConv1D then a pointwise Conv1D(filters, 1), one bias at the end."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """2-D separable convolution: a DepthwiseConv2D then a pointwise Conv2D(filters, 1), one bias at the end.
    Parameters: kh·kw·in·M + in·M·filters + filters."""

    rank = 2


# Keras's aliases
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

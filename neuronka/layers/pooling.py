"""Pooling layers: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D, their global forms, and adaptive pooling
(AdaptiveAveragePooling1D/2D/3D, AdaptiveMaxPooling1D/2D/3D).

A pooling layer summarizes each window of ``pool_size`` (moved by ``strides``, which default to
``pool_size``) with its maximum or its mean, channel by channel, with no weights::

    max:      y[n, i, j, c] = max_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c]
    average:  y[n, i, j, c] = Σ_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c] / (real elements in the window)

Output length along one spatial axis: ⌊(L − p)/s⌋ + 1 ("valid") or ⌈L/s⌉ ("same", where the
padding never wins a max and is not counted in a mean). Global pooling reduces every spatial axis:
y[n, c] = max or mean over (i, j) of x[n, i, j, c]. Adaptive pooling picks the windows from the output
size O wanted along each axis of length L: window i covers [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉). The arithmetic and
its backward pass live in :mod:`neuronka.ops.pooling` (1-D, 2-D), :mod:`neuronka.ops.pooling_nd` (3-D) and
:mod:`neuronka.ops.nn` (adaptive).
"""
from __future__ import annotations

from typing import Any

from .. import ops
from ..backend import get_array_module
from ..ops import convolution as _conv
from ..ops import pooling as _pooling
from .base import InputSpec, Layer
from .convolutional import default_name
from .reshaping import standardize_data_format

__all__ = [
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
]


class _Pooling(Layer):
    """Max or average pooling over ``rank`` spatial axes (see the module docstring for the formulas)."""

    rank = 2
    mode = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        kwargs["name"] = name
        default_name(type(self), kwargs)
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = _conv.normalize_tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = self.pool_size if strides is None else _conv.normalize_tuple(strides, self.rank, "strides", cls)
        self.padding = _conv.normalize_padding(padding, cls)
        self.data_format = standardize_data_format(cls, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._build_at_init()

    def call(self, inputs):
        pool = _pooling.max_pool if self.mode == "max" else _pooling.average_pool
        return pool(inputs, pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                    data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        last = self.data_format == "channels_last"
        spatial = tuple(input_shape[1:-1]) if last else tuple(input_shape[2:])
        out = []
        for length, p, s in zip(spatial, self.pool_size, self.strides):
            if length is None:
                out.append(None)
            elif self.padding == "same":
                out.append(-(-length // s))
            elif length < p:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: computed output size would be non-positive; expected "
                    f"every spatial size of the input to be >= pool_size={self.pool_size} with padding='valid', "
                    f"received input shape {tuple(input_shape)}")
            else:
                out.append((length - p) // s + 1)
        if last:
            return (input_shape[0], *out, input_shape[-1])
        return (input_shape[0], input_shape[1], *out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """y[n, t, c] = max_{a < pool_size} x_pad[n, t·s + a, c]; inputs (batch, steps, channels).
    The gradient goes to each window's (first) maximum."""

    rank, mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling2D(_Pooling):
    """y[n, i, j, c] = max_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c]; inputs (batch, height, width, channels).
    The gradient goes to each window's (first) maximum."""

    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling3D(_Pooling):
    """y[n, i, j, k, c] = max_{a, b, e} x_pad[n, i·s_d + a, j·s_h + b, k·s_w + e, c]; inputs
    (batch, depth, height, width, channels). The gradient goes to each window's (first) maximum."""

    rank, mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_Pooling):
    """y[n, t, c] = Σ_a x_pad[n, t·s + a, c] / count[t]; count = the window's real (unpadded) elements.
    dL/dx: gy[t]/count[t] to every element of window t."""

    rank, mode = 1, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(_Pooling):
    """y[n, i, j, c] = Σ_{a,b} x_pad[n, i·s_h + a, j·s_w + b, c] / count[i, j]; count = the window's real
    elements. dL/dx: gy[i, j]/count[i, j] to every element of window (i, j)."""

    rank, mode = 2, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling3D(_Pooling):
    """y[n, i, j, k, c] = Σ_{a,b,e} x_pad[n, i·s_d + a, j·s_h + b, k·s_w + e, c] / count[i, j, k]; count = the
    window's real elements. dL/dx: gy[i, j, k]/count[i, j, k] to every element of window (i, j, k)."""

    rank, mode = 3, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


# ----------------------------------------------------------------------------------
# global pooling
# ----------------------------------------------------------------------------------
class _GlobalPooling(Layer):
    """Reduce every spatial axis: (batch, ..., channels) → (batch, channels), or (batch, 1, ..., 1, channels)
    with ``keepdims=True`` (channels_first: (batch, channels[, 1, ...]))."""

    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        default_name(type(self), kwargs)
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(type(self).__name__, data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._build_at_init()

    @property
    def _spatial_axes(self) -> tuple[int, ...]:
        if self.data_format == "channels_last":
            return tuple(range(1, self.rank + 1))
        return tuple(range(2, self.rank + 2))

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            channels = input_shape[-1]
            return (input_shape[0], *(1,) * self.rank, channels) if self.keepdims else (input_shape[0], channels)
        channels = input_shape[1]
        return (input_shape[0], channels, *(1,) * self.rank) if self.keepdims else (input_shape[0], channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    """y[n, c] = max_t x[n, t, c]; tied maxima share the gradient."""

    rank = 1

    def call(self, inputs):
        return ops.max(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """y[n, c] = max_{i, j} x[n, i, j, c]; tied maxima share the gradient."""

    rank = 2

    def call(self, inputs):
        return ops.max(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling):
    """y[n, c] = Σ_t m[n, t]·x[n, t, c] / Σ_t m[n, t], m the input's mask (all ones without one), so that
    masked (padded) time steps are left out of the mean. The output carries no mask."""

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        axis = self._spatial_axes
        if mask is None:
            return ops.mean(inputs, axis=axis, keepdims=self.keepdims)
        m = mask.data if hasattr(mask, "data") else mask
        xp = get_array_module(inputs.data)
        m = xp.asarray(m).astype(bool)
        if tuple(m.shape) != tuple(inputs.shape[:1]) + tuple(inputs.shape[axis[0]:axis[0] + 1]):
            raise ValueError(f"GlobalAveragePooling1D {self.name!r}: expected a mask of shape (batch, steps) = "
                             f"{(inputs.shape[0], inputs.shape[axis[0]])}, received a mask of shape {tuple(m.shape)}")
        m = m[:, :, None] if self.data_format == "channels_last" else m[:, None, :]
        total = ops.sum(ops.where(m, inputs, 0.0), axis=axis, keepdims=self.keepdims)
        count = m.astype(inputs.dtype).sum(axis=axis, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """y[n, c] = (1/(H·W)) Σ_{i, j} x[n, i, j, c]."""

    rank = 2

    def call(self, inputs):
        return ops.mean(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


class GlobalMaxPooling3D(_GlobalPooling):
    """y[n, c] = max_{i, j, k} x[n, i, j, k, c]; tied maxima share the gradient."""

    rank = 3

    def call(self, inputs):
        return ops.max(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


class GlobalAveragePooling3D(_GlobalPooling):
    """y[n, c] = (1/(D·H·W)) Σ_{i, j, k} x[n, i, j, k, c]."""

    rank = 3

    def call(self, inputs):
        return ops.mean(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


# ----------------------------------------------------------------------------------
# adaptive pooling
# ----------------------------------------------------------------------------------
_AXES_WORDS = {1: "tuple of 1 integer", 2: "(height, width) tuple", 3: "(depth, height, width) tuple"}


class _AdaptivePooling(Layer):
    """Pool every spatial axis of length L to the given length O, window i covering [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉)
    (overlapping or not, whatever L and O): the mean or the max of each window, channel by channel.
    Output (batch, *output_size, channels) (channels_first: (batch, channels, *output_size)); no weights.
    As Keras's, the layer has no input spec: an input of the wrong rank is refused by the op."""

    rank = 2
    mode = "average"

    def __init__(self, output_size, data_format=None, **kwargs):
        cls = type(self).__name__
        if isinstance(output_size, int) and not isinstance(output_size, bool):
            output_size = (output_size,) * self.rank
        elif isinstance(output_size, (tuple, list)) and (len(output_size) == self.rank or self.rank == 1):
            if len(output_size) != self.rank:
                raise ValueError(f"{cls}: for 1D input, `output_size` tuple must have length 1. "
                                 f"Received: output_size={output_size}")
            output_size = tuple(output_size)
        else:
            raise TypeError(f"{cls}: `output_size` must be an integer or {_AXES_WORDS[self.rank]}. "
                            f"Received: output_size={output_size} of type {type(output_size)}")
        default_name(type(self), kwargs)
        super().__init__(**kwargs)
        self.output_size = output_size
        self.data_format = standardize_data_format(cls, data_format)

    def call(self, inputs):
        pool = ops.adaptive_average_pool if self.mode == "average" else ops.adaptive_max_pool
        return pool(inputs, output_size=self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """y[n, i, c] = mean_{t ∈ [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉)} x[n, t, c]; inputs (batch, length, channels)."""

    rank, mode = 1, "average"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """y[n, i, j, c] = mean of x[n, rows(i), cols(j), c] over the adaptive windows of each axis."""

    rank, mode = 2, "average"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """y[n, i, j, k, c] = mean of x over the adaptive windows of depth, height and width."""

    rank, mode = 3, "average"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """y[n, i, c] = max_{t ∈ [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉)} x[n, t, c]; the gradient goes to each window's maximum."""

    rank, mode = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """y[n, i, j, c] = max of x[n, rows(i), cols(j), c] over the adaptive windows of each axis."""

    rank, mode = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """y[n, i, j, k, c] = max of x over the adaptive windows of depth, height and width."""

    rank, mode = 3, "max"


# Keras's aliases
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D

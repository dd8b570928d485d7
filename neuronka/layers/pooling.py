"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and their global forms.

A pooling layer summarizes each window of ``pool_size`` (moved by ``strides``, which default to
``pool_size``) with its maximum or its mean, channel by channel, with no weights::

    max:      y[n, i, j, c] = max_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c]
    average:  y[n, i, j, c] = Σ_{a, b} x_pad[n, i·s_h + a, j·s_w + b, c] / (real elements in the window)

Output length along one spatial axis: ⌊(L − p)/s⌋ + 1 ("valid") or ⌈L/s⌉ ("same", where the
padding never wins a max and is not counted in a mean). Global pooling reduces every spatial axis:
y[n, c] = max or mean over (i, j) of x[n, i, j, c]. The arithmetic and its backward pass live in
:mod:`neuronka.ops.pooling`.
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
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
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


# Keras's aliases
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D

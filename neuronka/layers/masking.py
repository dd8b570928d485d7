"""Masking: marks the time steps whose features all equal ``mask_value`` as padding for the layers after it."""
from __future__ import annotations

from .. import ops
from ..autograd import Tensor
from ..backend import get_array_module
from .base import Layer

__all__ = ["Masking"]


class Masking(Layer):
    """Skips the padded time steps of a sequence (Keras's ``keras.layers.Masking``).

    mask[n, t] = any_f (x[n, t, f] ≠ mask_value) — True where the step is used; the output is
    y[n, t, :] = x[n, t, :] where mask[n, t], else 0 (dL/dx is g where mask[n, t], else 0). The mask travels
    with the output to the layers that take one (RNNs, TimeDistributed, GlobalAveragePooling1D, attention,
    ...), which then skip the masked steps. ``mask_value``: a number (or a serialized tensor, as Keras's
    config may hold).
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and mask_value.get("config", None):
            from ..serialization import deserialize_keras_object  # noqa: PLC0415

            mask_value = deserialize_keras_object(mask_value)
        self.mask_value = mask_value
        self.supports_masking = True
        self._build_at_init()

    def _keep(self, inputs):
        x = inputs.data if isinstance(inputs, Tensor) else inputs
        value = self.mask_value.data if isinstance(self.mask_value, Tensor) else self.mask_value
        return get_array_module(x).any(x != value, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return self._keep(inputs)

    def call(self, inputs):
        keep = self._keep(inputs)
        outputs = ops.where(keep[..., None], inputs, get_array_module(keep).zeros((), dtype=inputs.dtype))
        outputs._keras_mask = keep
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}

"""ReversibleEmbedding: an Embedding that can also map vectors back to scores over its vocabulary."""
from __future__ import annotations

from .. import ops
from .embedding import Embedding
from .symbolic import KerasTensor

__all__ = ["ReversibleEmbedding"]


class ReversibleEmbedding(Embedding):
    """An :class:`Embedding` with a reverse call (Keras's ``keras.layers.ReversibleEmbedding``), as used to tie a
    language model's input embedding to its output projection.

    ``layer(ids)``: y = E[ids], E (input_dim, output_dim), with the mask ``ids != 0`` when ``mask_zero``.
    ``layer(h, reverse=True)``: logits = h · Eᵀ (``tie_weights=True``) or h · R with a separate trainable
    ``reverse_embeddings`` R (output_dim, input_dim) (``tie_weights=False``, initialized as E), of shape
    (..., input_dim); ``reverse_dtype`` casts h and the kernel first (the logits then have that dtype);
    ``logit_soft_cap`` c bounds them smoothly: logits ← c·tanh(logits / c).
    Weights: ``embeddings``, then ``reverse_embeddings`` when untied. Keras's int8/int4 quantization is not
    supported (``quantization_config`` must be None, as for Embedding).
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self._reverse_shape = False  # set while a symbolic call with reverse=True asks for its output shape

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings", trainable=True)

    def __call__(self, inputs, *args, reverse=False, **kwargs):
        if not reverse:
            return super().__call__(inputs, *args, **kwargs)
        if isinstance(inputs, KerasTensor) and not self.built:
            self.build()
        self._reverse_shape = True
        try:
            return super().__call__(inputs, *args, reverse=True, **kwargs)
        finally:
            self._reverse_shape = False

    def call(self, inputs, reverse=False):
        if not reverse:
            result = super().call(inputs)
            mask = super().compute_mask(inputs)
            if mask is not None:
                result._keras_mask = mask
            return result
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs = ops.cast(inputs, self.reverse_dtype)
            kernel = ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)  # dL/dh = g·kernelᵀ, dL/dkernel = hᵀ·g
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)  # d/dz c·tanh(z/c) = 1 − tanh²(z/c)
        return logits

    def compute_mask(self, inputs, mask=None):
        """None: the forward call attaches its mask itself (the reverse call has none)."""
        return None

    def compute_output_shape(self, input_shape, reverse=None):
        reverse = self._reverse_shape if reverse is None else reverse
        shape = list(input_shape)
        if reverse:
            shape[-1] = self.input_dim
        else:
            shape.append(self.output_dim)
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}

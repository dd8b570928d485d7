"""Wrappers: layers that hold another layer and change how it is applied.

* :class:`Wrapper` — the base (Keras's ``keras.layers.Wrapper``): holds ``layer``, builds it, serializes it.
* :class:`TimeDistributed` — the same layer (same weights) on every time step: y[:, t] = layer(x[:, t]).
  The steps are folded into the batch axis, so the layer runs once on (N·T, ...) rather than T times.
* :class:`SpectralNormalization` — divides the wrapped layer's kernel by its largest singular value, found
  by power iteration, at each training call (Miyato et al., 2018).

(Bidirectional, also a wrapper in Keras, is in :mod:`.bidirectional`.)
"""
from __future__ import annotations

import numpy

from .. import initializers, ops
from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from .base import InputSpec, Layer

__all__ = ["SpectralNormalization", "TimeDistributed", "Wrapper"]


def _serialize(obj):
    from ..serialization import serialize_keras_object  # noqa: PLC0415

    return serialize_keras_object(obj)


def _deserialize(config, custom_objects=None):
    from ..serialization import deserialize_keras_object  # noqa: PLC0415

    return deserialize_keras_object(config, custom_objects=custom_objects)


class Wrapper(Layer):
    """Base class of the layers that wrap another one (``layer``): it builds the wrapped layer on the shape it
    is given, and its config is the base config plus ``"layer"`` (the wrapped layer serialized). A subclass
    writes ``call`` (the base has none, as in Keras)."""

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = _deserialize(layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer type. Please ensure wrapped "
                             f"layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
            if input_shape is not None and self.layer._build_input_shape is None:
                self.layer._build_input_shape = (None, *tuple(input_shape)[1:])
        self.built = True

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


def _mixes_the_batch(layer: Layer) -> bool:
    """Whether ``layer`` (or a layer inside it) computes across the batch in training (BatchNormalization)."""
    from .normalization import BatchNormalization  # noqa: PLC0415

    stack = [layer]
    while stack:
        current = stack.pop()
        if isinstance(current, BatchNormalization):
            return True
        stack.extend(current._layers)
    return False


def _map_outputs(fn, outputs):
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_map_outputs(fn, o) for o in outputs)
    return fn(outputs)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every time step of (batch, time, ...) inputs, with the same weights at each step:

    y[n, t, ...] = layer(x[:, t])[n, ...]. Computed at once on the steps folded into the batch: x is
    reshaped to (N·T, ...), the layer called once, and its output reshaped to (N, T, ...) — the same result
    as Keras's loop over the steps for any layer that treats samples independently, and T times fewer calls.
    A layer that computes across the batch in training (BatchNormalization, also inside a model) is run
    step by step then, as Keras does (batch statistics per step). ``mask`` (batch, time, ...) is passed to
    the layer folded the same way when its ``call`` takes one; the output keeps the input's mask. The layer
    is run through its ``call`` (as Keras does: no activity regularization of the inner layer).
    """

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = _deserialize(layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _get_child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: {input_shape}")
        return (input_shape[0], *tuple(input_shape)[2:])

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._get_child_input_shape(input_shape))
        return (child[0], input_shape[1], *tuple(child)[1:])

    def build(self, input_shape):
        super().build(self._get_child_input_shape(input_shape))

    def _check_mask(self, inputs, mask) -> None:
        shape = tuple(mask.shape)
        if len(shape) < 2:
            raise ValueError(f"The `mask` passed to the `TimeDistributed` layer must be at least 2D (e.g., "
                             f"`(batch_size, timesteps)`), but it has {len(shape)} dimension(s) with shape {shape}.")
        if shape[:2] != tuple(inputs.shape[:2]):
            raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape {shape} that is "
                             f"incompatible with the input shape {tuple(inputs.shape)}. The first two dimensions of "
                             f"the mask (batch size and timesteps) must match the input's first two dimensions. "
                             f"Expected mask shape prefix: ({inputs.shape[0]}, {inputs.shape[1]}).")

    def call(self, inputs, training=None, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            self._check_mask(inputs, mask)
        n, t = inputs.shape[0], inputs.shape[1]
        inner = self.layer
        kwargs = {}
        if inner._call_has_training:
            kwargs["training"] = bool(training)
        mask_array = None
        if mask is not None and inner._call_has_mask:
            m = mask.data if isinstance(mask, Tensor) else mask
            mask_array = get_array_module(m).asarray(m)
        if training and _mixes_the_batch(inner):  # per-step batch statistics, as Keras's loop
            steps = []
            for s in range(t):
                step_kwargs = dict(kwargs)
                if mask_array is not None:
                    step_kwargs["mask"] = mask_array[:, s]
                steps.append(inner.call(ops.getitem(inputs, (slice(None), s)), **step_kwargs))
            return _stack_steps(steps)
        folded = ops.reshape(inputs, (n * t, *tuple(inputs.shape[2:])))
        if mask_array is not None:
            kwargs["mask"] = mask_array.reshape(n * t, *mask_array.shape[2:])
        outputs = inner.call(folded, **kwargs)
        return _map_outputs(lambda y: ops.reshape(y, (n, t, *tuple(y.shape[1:]))), outputs)


def _stack_steps(steps):
    """Per-step outputs (each a tensor or a structure of them) stacked on axis 1."""
    first = steps[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_stack_steps([s[i] for s in steps]) for i in range(len(first)))
    return ops.stack(steps, axis=1)


class SpectralNormalization(Wrapper):
    """Spectral normalization of the wrapped layer's ``kernel`` (or ``embeddings``): W ← W / σ(W).

    σ is estimated by power iteration on W as a matrix (all axes but the last flattened, W_m of shape
    (K, C)), from the stored estimate u (``vector_u``, (1, C), a non-trainable weight)::

        repeat power_iterations times:  v = u W_mᵀ / ‖u W_mᵀ‖,  u = v W_m / ‖v W_m‖
        σ = v W_m uᵀ

    At each **training** call the kernel is replaced by W/σ and u by the new estimate (both assigned, out of
    the gradient's path: the gradient is the wrapped layer's, with respect to the normalized kernel); an
    all-zero kernel is left as it is. At inference the wrapped layer runs on the stored kernel. The output
    is cast to a float input's dtype. ‖·‖ is Keras's ``normalize``: x·min(1/√Σx², 1/ε).

    Unlike Keras, the output of a wrapped layer fed integers (an Embedding's indices) stays float: Keras casts
    it to the indices' integer dtype, which truncates the embeddings to zeros.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, (int, numpy.integer)) \
                or power_iterations <= 0:
            raise ValueError(f"`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        if hasattr(self.layer, "kernel"):
            kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            kernel = self.layer.embeddings
        else:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")
        self.kernel = kernel  # tracked here too: Keras saves it with the wrapper's own variables
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        name="vector_u", dtype=kernel.dtype)

    def call(self, inputs, training=False):
        if training:
            with no_grad():
                if not bool(get_array_module(self.kernel.data).all(self.kernel.data == 0)):
                    vector_u, kernel = self.normalized_weights()
                    self.vector_u.assign(vector_u)
                    self.kernel.assign(kernel)
        output = self.layer(inputs)
        if inputs.dtype.kind != "f":  # integer indices (a wrapped Embedding): the float output is kept
            return output
        return _map_outputs(lambda y: y if y.dtype == inputs.dtype else ops.cast(y, inputs.dtype), output)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def normalized_weights(self):
        """(u, W/σ) from the current kernel and u (see the class docstring), as arrays; nothing is assigned."""
        w = self.kernel.data
        xp = get_array_module(w)
        matrix = w.reshape(-1, self.kernel_shape[-1])
        u = self.vector_u.data
        v = None
        for _ in range(self.power_iterations):
            v = _l2_normalize(xp, u @ matrix.T)
            u = _l2_normalize(xp, v @ matrix)
        sigma = (v @ matrix) @ u.T
        return u.astype(self.vector_u.dtype), (w / sigma).reshape(self.kernel_shape).astype(w.dtype)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _l2_normalize(xp, x):
    """x / ‖x‖ over all of x, as Keras's normalize(axis=None): x·min(1/√Σx², 1/ε)."""
    from .. import config  # noqa: PLC0415

    with numpy.errstate(divide="ignore"):
        inv = 1.0 / xp.sqrt(xp.sum(x * x))
    return x * xp.minimum(inv, 1.0 / config.epsilon()).astype(x.dtype)

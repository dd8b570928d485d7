"""MultiHeadAttention (Vaswani et al., 2017), as Keras 3's ``keras.layers.MultiHeadAttention``.

With a query (B, T, dim_q), a value (B, S, dim_v) and a key (B, S, dim_k, the value when not given), N heads of
size H (``key_dim``) and Hv (``value_dim``)::

    Q = query · W_q + b_q         (B, T, N, H)     EinsumDense "query"   kernel (dim_q, N, H)
    K = key · W_k + b_k           (B, S, N, H)     EinsumDense "key"     kernel (dim_k, N, H)
    V = value · W_v + b_v         (B, S, N, Hv)    EinsumDense "value"   kernel (dim_v, N, Hv)
    P = softmax(Q Kᵀ / √H, masked) over the keys, per head                (B, N, T, S)
    O = Σ_heads (P V) · W_o + b_o (B, T, dim_q)    EinsumDense "attention_output" kernel (N, Hv, dim_q)

The attention itself is ``neuronka.ops.attention.multi_head_attention`` (the fused Function of
``ops.dot_product_attention``: one batched matmul per product over all heads, the softmax in place, one fused
backward); the projections are EinsumDense's single GEMMs. Masks, merged with AND into one boolean mask
(True = may attend): the query's Keras mask (B, T, 1) — taken from the mask attached to ``query`` (Keras reads
that one, not the ``query_mask`` argument), the value's (B, 1, S), the key's (B, 1, S), ``attention_mask``
(B, T, S) (broadcast over the heads), the causal mask (query i sees keys j ≤ i) with ``use_causal_mask`` and a
band |i − j| < ``sliding_window``. The output carries the query's mask.

``attention_axes`` other than the sequence axis (inputs of rank > 3, e.g. images (B, H, W, C) with
``attention_axes=(1, 2)``): the attention runs over those axes jointly, every other axis a batch axis; the
tensors are transposed so that the same Function runs on (batch·others, positions, N, H).

Where Keras computes the softmax with its Softmax layer (attention dropout, returning the scores, or axes
other than one sequence axis) a query row with every key masked attends to nothing (a zero output before the
output projection); otherwise (Keras's ``dot_product_attention``) it averages all values. Its scores'
gradient is zero in the second case (see ``neuronka/ops/attention.py``), where Keras's torch autograd passes
a nonzero one; both give the same outputs.
"""
from __future__ import annotations

import inspect
import math
import string

import numpy

from .. import config as _config
from .. import constraints, initializers, regularizers
from ..autograd import Tensor
from ..backend import array_module, get_array_module, to_backend
from ..ops import attention as _attention
from ..random import SeedGenerator, generator
from .activations import Softmax
from .base import Layer, _ctx, current_training
from .core import Dropout
from .einsum_dense import EinsumDense

__all__ = ["MultiHeadAttention"]


# ----------------------------------------------------------------------------------------------------
# the call of a layer taking several tensor arguments (query, value, key), as Keras's __call__ does it
# ----------------------------------------------------------------------------------------------------
_TENSOR_ARGS = ("query", "value", "key")


def call_with_tensor_arguments(layer: Layer, args: tuple, kwargs: dict):
    """``layer(query, value, key=None, ...)``: Keras's ``__call__`` for a layer whose ``call`` takes several
    tensors. Symbolic tensors record a node (the functional API); real ones are cast to the layer's dtype, build
    the layer with ``build(query_shape, value_shape[, key_shape])`` on the first call, and their attached masks
    fill ``value_mask`` / ``key_mask`` (and ``query_mask``) where those are not given; a layer with
    ``_query_mask_from_query`` (MultiHeadAttention, as Keras's) reads the query's attached mask whatever
    ``query_mask`` says. The output carries the query's attached mask."""
    from . import symbolic  # noqa: PLC0415 - symbolic imports base

    signature = inspect.signature(layer.call)
    try:
        named = signature.bind(*args, **kwargs).arguments
    except TypeError as e:
        raise TypeError(f"{type(layer).__name__} {layer.name!r}: {e}; expected "
                        f"{type(layer).__name__}(query, value, key=None, ...)") from None
    tensors = {n: named[n] for n in _TENSOR_ARGS if named.get(n) is not None}
    for n in ("query", "value"):
        if n not in tensors:
            raise ValueError(f"{type(layer).__name__} {layer.name!r}: expected a `{n}` tensor, received none")
    if any(isinstance(v, symbolic.KerasTensor) for v in tensors.values()):
        return _symbolic_call(layer, args, kwargs, named, tensors)
    tensors = {n: layer._convert_input(t) for n, t in tensors.items()}
    if not layer.built:
        layer.build(**{f"{n}_shape": tuple(t.shape) for n, t in tensors.items()})
        layer.built = True
        layer._build_input_shape = (None, *tuple(tensors["query"].shape[1:]))
    call = {k: v for k, v in named.items() if k not in ("training",)}
    call.update(tensors)
    attached = tensors["query"]._keras_mask
    if layer._query_mask_from_query or call.get("query_mask") is None:
        call["query_mask"] = attached
    for n in ("value", "key"):
        if n in tensors and call.get(f"{n}_mask") is None:
            call[f"{n}_mask"] = tensors[n]._keras_mask
    training = named.get("training")
    training = current_training() if training is None else bool(training)
    previous, _ctx.training = getattr(_ctx, "training", False), training
    outermost = not getattr(_ctx, "in_call", False)
    if outermost:  # called on its own: the losses of this call only, the sub-layers' included
        _ctx.in_call = True
        layer._clear_losses()
    try:
        outputs = layer.call(**call, training=training)
    finally:
        _ctx.training = previous
        if outermost:
            _ctx.in_call = False
    out = outputs[0] if isinstance(outputs, tuple) else outputs
    if layer.activity_regularizer is not None:
        layer.add_loss(layer.activity_regularizer(out) / out.shape[0])
    if attached is not None:  # the output carries the query's mask
        out._keras_mask = attached
    return outputs


def _symbolic_call(layer, args, kwargs, named, tensors):
    from .symbolic import KerasTensor, Node  # noqa: PLC0415

    shapes = {f"{n}_shape": tuple(t.shape) for n, t in tensors.items()}
    if not layer.built:
        layer.build(**shapes)
        layer.built = True
        layer._build_input_shape = shapes["query_shape"]
    out = KerasTensor(layer.compute_output_shape(*shapes.values()), dtype=layer.dtype, name=layer.name)
    outputs = out
    if named.get("return_attention_scores"):
        scores = layer._scores_shape(*shapes.values())
        outputs = (out, KerasTensor(scores, dtype=layer.dtype, name=layer.name))
    args, node_kwargs = list(args), dict(kwargs)
    first = args.pop(0) if args else node_kwargs.pop("query")  # the node's first input, as it was passed
    Node(layer, first, tuple(args), node_kwargs, outputs)
    return outputs


# ----------------------------------------------------------------------------------------------------
# masks (booleans of the backend's array module, Keras's shapes)
# ----------------------------------------------------------------------------------------------------
def _bool(mask):
    """A mask (Tensor, array, nested list) as a boolean array (nonzero = True, as Keras's cast)."""
    a = mask.data if isinstance(mask, Tensor) else to_backend(mask)
    return a if a.dtype == bool else a.astype(bool)


def causal_mask(t: int, s: int):
    """(1, T, S): query i may attend to key j ≤ i (top-left aligned, as Keras)."""
    xp = array_module()
    return xp.tril(xp.ones((t, s), bool))[None]


def sliding_window_mask(t: int, s: int, window: int):
    """(1, T, S): |i − j| < window."""
    xp = array_module()
    return (xp.abs(xp.arange(t)[:, None] - xp.arange(s)[None, :]) < window)[None]


def attention_mask_of(query_mask, value_mask, key_mask, attention_mask, t: int, s: int, sliding_window=None):
    """The AND of the masks given (Keras's ``_compute_attention_mask`` without the causal one): query (B, T) →
    (B, T, 1), value and key (B, S) → (B, 1, S), the band (1, T, S), ``attention_mask`` as given; None if none."""
    auto = None
    for m, expand in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
        if m is not None:
            m = _bool(m)
            m = get_array_module(m).expand_dims(m, expand)
            auto = m if auto is None else auto & m
    if sliding_window is not None:
        band = sliding_window_mask(t, s, sliding_window)
        auto = band if auto is None else auto & band
    mask = None if attention_mask is None else _bool(attention_mask)
    if auto is not None:
        mask = auto if mask is None else mask & auto
    return mask


def expand_mask(mask, rank: int, axis: int):
    """``mask`` with axes of size 1 inserted at ``axis`` until it has ``rank`` axes (Keras's expansion of the
    attention mask over the heads)."""
    while mask.ndim < rank:
        mask = get_array_module(mask).expand_dims(mask, axis)
    return mask


def checked_positive_int(layer: str, arg: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for argument `{arg}`, expected a positive integer"
                         f"{' or `None`' if allow_none else ''}. Received: {arg}={value}")
    return int(value)


def check_sliding_window(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0):
        raise ValueError(f"`sliding_window` must be `None` or a positive integer. Received: sliding_window={value}")
    return None if value is None else int(value)


def clone_initializer(init):
    """A new initializer from ``init``'s config (each sub-layer draws its own values, as Keras)."""
    return type(init).from_config(init.get_config())


# ----------------------------------------------------------------------------------------------------
# einsum equations of the projections (Keras's layout: free axes, then the bound ones, then the new ones)
# ----------------------------------------------------------------------------------------------------
def projection_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """(equation, bias axes, output rank) of a projection: x's ``free_dims`` axes kept, its last ``bound_dims``
    contracted with the kernel, ``output_dims`` new axes from the kernel."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    new = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free + bound},{bound + new}->{free + new}", new, free_dims + output_dims


def _partial_shape(output_rank: int, known: list) -> list:
    return [None] * (output_rank - len(known)) + list(known)


class MultiHeadAttention(Layer):
    """Multi-head attention (see the module docstring). Keras's arguments: ``num_heads``, ``key_dim`` (H),
    ``value_dim`` (Hv, default H), ``dropout`` (on the attention probabilities, in training), ``use_bias``,
    ``output_shape`` (the output's trailing shape, default the query's last axis), ``attention_axes``,
    ``sliding_window``, ``flash_attention`` (accepted; the result is the same, and as in Keras it refuses
    ``dropout`` and returning the scores), the kernel/bias initializers, regularizers and constraints and the
    activity regularizer (given to the four projections, each with its own initializer), ``use_gate``
    (O ⊙ sigmoid(query · W_g + b_g) before the output projection, an EinsumDense "gate") and ``seed`` (of the
    dropout). Call: ``layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)``; with
    ``return_attention_scores`` it returns (output, P), P of shape (B, N, T, S) (before the dropout).
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        checked_positive_int("MultiHeadAttention", "num_heads", num_heads)
        checked_positive_int("MultiHeadAttention", "key_dim", key_dim)
        checked_positive_int("MultiHeadAttention", "value_dim", value_dim, allow_none=True)
        super().__init__(**kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"Invalid value received for argument `dropout`. Expected a float value between 0 and "
                             f"1. Received: dropout={dropout!r}")
        self._dropout = dropout
        self._use_bias = use_bias
        self._use_gate = use_gate
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, the `output_shape` "
                                 f"should be of type tuple, list, or int.") from None
        self._output_shape = output_shape
        self._flash_attention = flash_attention or _config.is_flash_attention_enabled()
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` must be an int, list, or tuple.Received: "
                             f"attention_axes={attention_axes}")
        self._attention_axes = attention_axes
        self._sliding_window = check_sliding_window(sliding_window)
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        if self._flash_attention and self._dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. Please set dropout to 0.0 "
                             "to use flash attention.")
        self._seed_generator = SeedGenerator(seed) if dropout > 0 else None

    # ---- Keras's read-only properties ------------------------------------------------------------
    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    _query_mask_from_query = True  # Keras's MultiHeadAttention reads the query's mask, not `query_mask`

    def __call__(self, *args, **kwargs):
        return call_with_tensor_arguments(self, args, kwargs)

    def get_config(self):
        config = {
            "num_heads": self._num_heads, "key_dim": self._key_dim, "value_dim": self._value_dim,
            "dropout": self._dropout, "use_bias": self._use_bias, "use_gate": self._use_gate,
            "output_shape": self._output_shape, "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}

    def _sublayer_kwargs(self) -> dict:
        return {"kernel_regularizer": self._kernel_regularizer, "bias_regularizer": self._bias_regularizer,
                "activity_regularizer": self._activity_regularizer, "kernel_constraint": self._kernel_constraint,
                "bias_constraint": self._bias_constraint, "dtype": self.dtype_policy,
                "kernel_initializer": clone_initializer(self._kernel_initializer),
                "bias_initializer": clone_initializer(self._bias_initializer)}

    def _projection(self, rank: int, size: int, name: str, activation=None) -> EinsumDense:
        equation, bias_axes, out_rank = projection_equation(rank - 1, bound_dims=1, output_dims=2)
        extra = {"activation": activation} if activation else {}
        return EinsumDense(equation, output_shape=_partial_shape(out_rank - 1, [self._num_heads, size]),
                           bias_axes=bias_axes if self._use_bias else None, name=name, **extra,
                           **self._sublayer_kwargs())

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        self._query_dense = self._projection(len(query_shape), self._key_dim, "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._projection(len(key_shape), self._key_dim, "key")
        self._key_dense.build(key_shape)
        if self._use_gate:
            self._gate_dense = self._projection(len(query_shape), self._value_dim, "gate", activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._projection(len(value_shape), self._value_dim, "value")
        self._value_dense.build(value_shape)
        rank = len(query_shape) + 1  # of the projected tensors (B, ..., N, H)
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
        n_axes = len(self._attention_axes)
        scores_rank = rank - 1 - n_axes + 2 * n_axes  # batch axes and heads, the query's axes, the key's
        self._softmax = Softmax(axis=tuple(range(scores_rank - n_axes, scores_rank)), dtype=self.dtype_policy)
        self._dropout_layer = Dropout(rate=self._dropout, dtype=self.dtype_policy, seed=self.seed)
        out_dims = self._output_shape if self._output_shape else [query_shape[-1]]
        equation, bias_axes, out_rank = projection_equation(len(query_shape) - 1, bound_dims=2,
                                                            output_dims=len(out_dims))
        self._output_dense = EinsumDense(equation, output_shape=_partial_shape(out_rank - 1, out_dims),
                                         bias_axes=bias_axes if self._use_bias else None, name="attention_output",
                                         **self._sublayer_kwargs())
        projected = list(self._query_dense.compute_output_shape(query_shape))
        projected[-1] = self._value_dim
        self._output_dense.build(tuple(projected))

    # ---- the computation ----------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        key = value if key is None else key
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash attention is enabled. Please "
                             "disable flash attention to access attention scores.")
        mask = attention_mask_of(query_mask, value_mask, key_mask, attention_mask, query.shape[1], value.shape[1],
                                 self._sliding_window)
        gate = self._gate_dense(query) if self._use_gate else None
        q, k, v = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        out, scores = self._attend(q, k, v, mask, bool(use_causal_mask), bool(training), bool(return_attention_scores))
        if gate is not None:
            out = out * gate
        out = self._output_dense(out)
        return (out, scores) if return_attention_scores else out

    def _rng(self, training: bool):
        if not training or not self._dropout:
            return 0.0, None
        return float(self._dropout), generator(self._seed_generator)

    def _attend(self, q, k, v, mask, causal: bool, training: bool, return_scores: bool):
        """(O, P or None) from the projected Q (B, ..., N, H), K, V; ``mask`` Keras's boolean mask without the
        causal one, or None."""
        rank, axes = q.ndim, self._attention_axes
        rate, rng = self._rng(training)
        # Keras's dot_product_attention (empty rows average the values) unless it softmaxes itself
        empty = "zero" if (self._dropout > 0.0 or return_scores or rank != 4) else "uniform"
        if rank == 4 and axes == (1,):
            if mask is not None:
                mask = expand_mask(mask, 4, -3)
            result = _attention.multi_head_attention(q, k, v, mask=mask, scale=self._inverse_sqrt_key_dim,
                                                     is_causal=causal, empty_rows=empty, dropout=rate, rng=rng,
                                                     return_scores=return_scores)
            return result if return_scores else (result, None)
        return self._attend_over_axes(q, k, v, mask, causal, rate, rng, return_scores)

    def _attend_over_axes(self, q, k, v, mask, causal: bool, rate: float, rng, return_scores: bool):
        """Attention over ``attention_axes`` of rank > 4 projections: the other axes become one batch axis."""
        from .. import ops  # noqa: PLC0415

        rank, axes = q.ndim, self._attention_axes
        if rank - 2 in axes or any(not 1 <= a < rank - 2 for a in axes):
            raise NotImplementedError(f"MultiHeadAttention {self.name!r}: attention_axes={axes} must name axes of "
                                      f"the inputs between the batch axis and the feature axis (the heads axis "
                                      f"{rank - 2} of the projections cannot be attended over)")
        others = [i for i in range(rank - 2) if i not in axes]
        perm = others + list(axes) + [rank - 2, rank - 1]

        def flat(x):
            shape = x.shape
            y = ops.transpose(x, perm)
            return ops.reshape(y, (math.prod(shape[i] for i in others), math.prod(shape[a] for a in axes),
                                   shape[rank - 2], shape[rank - 1]))

        qf, kf, vf = flat(q), flat(k), flat(v)
        n = q.shape[rank - 2]
        scores_shape = ([q.shape[i] for i in others] + [n] + [q.shape[a] for a in axes]
                        + [k.shape[a] for a in axes])
        if causal:
            c = causal_mask(q.shape[1], v.shape[1])
            mask = c if mask is None else mask & c
        flat_mask = None
        if mask is not None:
            expanded = expand_mask(mask, len(scores_shape), -len(axes) * 2 - 1)
            full = get_array_module(expanded).broadcast_to(expanded, scores_shape)
            flat_mask = full.reshape(qf.shape[0], n, qf.shape[1], kf.shape[1])
        result = _attention.multi_head_attention(qf, kf, vf, mask=flat_mask, scale=self._inverse_sqrt_key_dim,
                                                 empty_rows="zero", dropout=rate, rng=rng,
                                                 return_scores=return_scores)
        out, scores = result if return_scores else (result, None)
        inverse = [perm.index(i) for i in range(rank)]
        out = ops.reshape(out, [q.shape[i] for i in others] + [q.shape[a] for a in axes] + [n, v.shape[-1]])
        out = ops.transpose(out, inverse)
        if scores is not None:
            scores = ops.reshape(scores, scores_shape)
        return out, scores

    # ---- shapes -------------------------------------------------------------------------------------------
    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def _scores_shape(self, query_shape, value_shape, key_shape=None):
        """The shape of the returned scores: (batch and other axes..., N, query positions..., key positions...).
        (Keras's symbolic shape is (B, N, T, T) even when S ≠ T; the eager one is this.)"""
        key_shape = value_shape if key_shape is None else key_shape
        rank = len(query_shape) + 1
        axes = self._attention_axes if self.built else tuple(range(1, rank - 2))
        others = [i for i in range(rank - 2) if i not in axes]
        return (tuple(query_shape[i] for i in others) + (self._num_heads,) + tuple(query_shape[a] for a in axes)
                + tuple(key_shape[a] for a in axes))

"""The recurrent cells: SimpleRNNCell, LSTMCell, GRUCell — one time step each (``cell.call(x_t, states)``).

The layers that run them over a sequence (RNN, SimpleRNN, LSTM, GRU) are in :mod:`.recurrent`, which
re-exports the cells. Weights in Keras's layout: ``kernel`` (F, k·U), ``recurrent_kernel`` (U, k·U),
``bias`` (k·U,) (GRU with ``reset_after``: (2, 3U)), gate blocks LSTM (i, f, c, o), GRU (z, r, h).
"""
from __future__ import annotations

import inspect

import numpy

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from ..autograd import Tensor
from ..backend import array_module, get_array_module, to_backend
from ..ops import random as _random
from .base import Layer

__all__ = ["GRUCell", "LSTMCell", "SimpleRNNCell"]


def _positive_int(layer: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"{layer}: expected a positive integer for `{arg}`, received {arg}={value!r}")
    return int(value)


def _rate(layer: str, arg: str, value) -> float:
    """Keras clips dropout rates to [0, 1]; anything that is not a number is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.floating, numpy.integer)):
        raise ValueError(f"{layer}: expected a float in [0, 1] for `{arg}`, received {arg}={value!r}")
    return min(1.0, max(0.0, float(value)))


def _active(rate: float) -> bool:
    return 0.0 < rate < 1.0

def _accepts(fn, arg: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())



# ----------------------------------------------------------------------------------
# cells
# ----------------------------------------------------------------------------------
class DropoutMasks:
    """Keras's DropoutRNNCell: the input and recurrent dropout masks m/(1 − rate) of a sequence, drawn on
    first use by the cell's ``_draw(like, rate)`` and kept until ``reset_*`` (the RNN resets them per call).
    The cell holds ``dropout``, ``recurrent_dropout``, ``_dropout_mask`` and ``_recurrent_dropout_mask``."""

    def get_dropout_mask(self, step_input):
        """The input dropout mask(s) for this sequence (drawn on first use)."""
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._draw(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        """The recurrent dropout mask(s) on h_{t−1} for this sequence (drawn on first use)."""
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._draw(step_state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None


class _Cell(DropoutMasks, Layer):
    """What the three cells share: the weight arguments, and dropout masks drawn once per sequence
    (:class:`DropoutMasks`)."""

    _gates = 1
    _kind = "RNNCell"

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                 kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                 recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, implementation=2, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.units = _positive_int(kind, "units", units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(kind, "dropout", dropout)
        self.recurrent_dropout = _rate(kind, "recurrent_dropout", recurrent_dropout)
        self.implementation = 1 if self.recurrent_dropout != 0.0 else int(implementation)
        self.seed = seed
        self._rng = numpy.random.default_rng(seed) if seed is not None else None
        self._dropout_mask = None
        self._recurrent_dropout_mask = None
        self.output_size = self.units

    # ---- dropout masks (one per gate with implementation 1, else one) -------------------
    def _draw(self, like, rate):
        count = self._gates if self.implementation == 1 else 1
        xp = get_array_module(like.data if isinstance(like, Tensor) else like)
        masks = [_random.dropout_mask(tuple(like.shape), rate, dtype=like.dtype, rng=self._rng, xp=xp)
                 for _ in range(count)]
        return masks if count > 1 else masks[0]

    def _masked_inputs(self, inputs, h_tm1, training):
        """Per gate (a list of ``_gates``, or one), the dropped-out input and previous state."""
        x_masks = self.get_dropout_mask(inputs) if training and _active(self.dropout) else None
        h_masks = self.get_recurrent_dropout_mask(h_tm1) if training and _active(self.recurrent_dropout) else None
        if self.implementation != 1:
            return (inputs if x_masks is None else inputs * x_masks), (h_tm1 if h_masks is None else h_tm1 * h_masks)
        xs = [inputs if x_masks is None else inputs * m for m in (x_masks or [None] * self._gates)]
        hs = [h_tm1 if h_masks is None else h_tm1 * m for m in (h_masks or [None] * self._gates)]
        return xs, hs

    # ---- weights ------------------------------------------------------------------------
    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_value(self, shape, dtype):
        return None  # the initializer's value

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the last axis of the input (features) must be "
                             f"known, received input shape {tuple(input_shape)}")
        k, u = self._gates, self.units
        self.kernel = self.add_weight(shape=(input_dim, k * u), name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(u, k * u), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            shape = self._bias_shape()
            self.bias = self.add_weight(shape=shape, name="bias", initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
            value = self._bias_value(shape, self.bias.dtype)
            if value is not None:
                self.bias.assign(value)
        else:
            self.bias = None
        for w in self._tracked_weights:  # the orthogonal initializer gives Fortran-ordered arrays
            if not w.data.flags.c_contiguous:
                w.data = get_array_module(w.data).ascontiguousarray(w.data)
        self.built = True

    def _block(self, w, g, axis=-1):
        """Gate block g of a weight (columns g·U:(g+1)·U)."""
        u = self.units
        index = (slice(None),) * (w.ndim - 1 if axis == -1 else axis) + (slice(g * u, (g + 1) * u),)
        return ops.getitem(w, index)

    @property
    def state_size(self):
        return self.units

    def get_initial_state(self, batch_size=None):
        return [Tensor(array_module().zeros((batch_size, s), dtype=self._dtype))
                for s in (self.state_size if isinstance(self.state_size, list) else [self.state_size])]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    # Keras's key order of each cell's config (after the base keys)
    _config_keys: tuple[str, ...] = ()

    def _argument_config(self) -> dict:
        """Every argument of the cell by name, serialized as Keras writes it."""
        out = {"units": self.units, "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
               "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}
        for w in ("kernel", "recurrent", "bias"):
            out[f"{w}_initializer"] = initializers.serialize(getattr(self, f"{w}_initializer"))
            out[f"{w}_regularizer"] = regularizers.serialize(getattr(self, f"{w}_regularizer"))
            out[f"{w}_constraint"] = constraints.serialize(getattr(self, f"{w}_constraint"))
        if hasattr(self, "recurrent_activation"):
            out["recurrent_activation"] = _activations.serialize(self.recurrent_activation)
        for extra in ("unit_forget_bias", "reset_after"):
            if hasattr(self, extra):
                out[extra] = getattr(self, extra)
        return out

    def get_config(self):
        args = self._argument_config()
        return {**super().get_config(), **{k: args[k] for k in self._config_keys}}


_WEIGHT_ARGS = ("kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
                "bias_constraint")


class SimpleRNNCell(_Cell):
    """One step of a fully-connected RNN: h_t = A(x_t·W + b + h_{t−1}·U); output h_t.

    ``kernel`` W (F, U), ``recurrent_kernel`` U (U, U), ``bias`` b (U,).
    """

    _gates = 1
    _config_keys = ("units", "activation", "use_bias", *_WEIGHT_ARGS, "dropout", "recurrent_dropout", "seed")

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.implementation = 2  # a single block: one mask either way

    def call(self, sequence, states, training=False):
        nested = isinstance(states, (list, tuple))
        prev = states[0] if nested else states
        x, prev = self._masked_inputs(sequence, prev, training)
        h = ops.matmul(x, self.kernel)
        if self.bias is not None:
            h = h + self.bias
        out = self.activation(h + ops.matmul(prev, self.recurrent_kernel))
        return out, ([out] if nested else out)


class LSTMCell(_Cell):
    """One LSTM step (Hochreiter & Schmidhuber, 1997), gates in Keras's order (i, f, c, o):

    i = σ(x W_i + h U_i + b_i), f = σ(x W_f + h U_f + b_f), c̃ = A(x W_c + h U_c + b_c),
    o = σ(x W_o + h U_o + b_o); c_t = f ⊙ c_{t−1} + i ⊙ c̃, h_t = o ⊙ A(c_t)  (σ = recurrent_activation,
    A = activation). ``unit_forget_bias`` initializes b_f to 1. States [h, c]; output h.
    """

    _gates = 4
    _config_keys = ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", *_WEIGHT_ARGS,
                    "dropout", "recurrent_dropout", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_value(self, shape, dtype):
        if not self.unit_forget_bias:
            return None
        u = self.units
        init = self.bias_initializer
        xp = array_module()
        return xp.concatenate([to_backend(init((u,), dtype=dtype)), xp.ones(u, dtype=dtype),
                               to_backend(init((2 * u,), dtype=dtype))]).astype(dtype)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        x, h = self._masked_inputs(inputs, h_tm1, training)
        if self.implementation == 1:  # one mask per gate: per-gate matmuls
            z = []
            for g in range(4):
                zg = (ops.matmul(x[g], self._block(self.kernel, g))
                      + ops.matmul(h[g], self._block(self.recurrent_kernel, g)))
                if self.bias is not None:
                    zg = zg + self._block(self.bias, g)
                z.append(zg)
        else:
            zz = ops.matmul(x, self.kernel) + ops.matmul(h, self.recurrent_kernel)
            if self.bias is not None:
                zz = zz + self.bias
            z = ops.split(zz, 4, axis=1)
        ract = self.recurrent_activation
        i, f, o = ract(z[0]), ract(z[1]), ract(z[3])
        c = f * c_tm1 + i * self.activation(z[2])
        h_t = o * self.activation(c)
        return h_t, [h_t, c]



class GRUCell(_Cell):
    """One GRU step (Cho et al., 2014), gates in Keras's order (z, r, h):

    z = σ(x W_z + b_z + h U_z [+ b'_z]), r = σ(x W_r + b_r + h U_r [+ b'_r]);
    ``reset_after=True`` (default; bias (2, 3U) = [input bias b, recurrent bias b']):
    h̃ = A(x W_h + b_h + r ⊙ (h U_h + b'_h)); ``reset_after=False`` (bias (3U,)):
    h̃ = A(x W_h + b_h + (r ⊙ h) U_h); then h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃. State [h]; output h.
    """

    _gates = 3
    _config_keys = ("units", "activation", "recurrent_activation", "use_bias", *_WEIGHT_ARGS, "dropout",
                    "recurrent_dropout", "reset_after", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_tm1 = states[0] if nested else states
        x, h = self._masked_inputs(inputs, h_tm1, training)
        if self.implementation != 1:
            x, h = [x] * 3, [h] * 3
        b_in = b_rec = None
        if self.bias is not None:
            if self.reset_after:
                b_in, b_rec = ops.getitem(self.bias, 0), ops.getitem(self.bias, 1)
            else:
                b_in = self.bias
        w, rk = self.kernel, self.recurrent_kernel
        xz, xr, xh = (ops.matmul(x[g], self._block(w, g)) for g in range(3))
        if b_in is not None:
            xz, xr, xh = xz + self._block(b_in, 0), xr + self._block(b_in, 1), xh + self._block(b_in, 2)
        rz, rr = ops.matmul(h[0], self._block(rk, 0)), ops.matmul(h[1], self._block(rk, 1))
        if b_rec is not None:
            rz, rr = rz + self._block(b_rec, 0), rr + self._block(b_rec, 1)
        z = self.recurrent_activation(xz + rz)
        r = self.recurrent_activation(xr + rr)
        if self.reset_after:
            rh = ops.matmul(h[2], self._block(rk, 2))
            if b_rec is not None:
                rh = rh + self._block(b_rec, 2)
            rh = r * rh
        else:
            rh = ops.matmul(r * h[2], self._block(rk, 2))
        hh = self.activation(xh + rh)
        h_t = z * h_tm1 + (1.0 - z) * hh
        return h_t, ([h_t] if nested else h_t)

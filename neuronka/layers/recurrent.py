"""Recurrent layers: SimpleRNN, LSTM, GRU (and their cells) and the generic RNN(cell); Bidirectional is in
:mod:`.bidirectional`.

Keras 3's layout: the weights live in the layer's ``cell`` (``lstm/lstm_cell/kernel`` ...):
``kernel`` (F, k·U), ``recurrent_kernel`` (U, k·U), ``bias`` (k·U,) — GRU with ``reset_after=True``:
(2, k·U), input and recurrent bias — with the gate blocks in Keras's order: LSTM (i, f, c, o),
GRU (z, r, h), SimpleRNN one block.

Two ways to run a sequence:

* the fused whole-sequence ops of :mod:`neuronka.ops.recurrent` (one Function, hand-written BPTT),
  used whenever they can express the layer: the activations are among tanh, sigmoid, relu,
  hard_sigmoid, linear, and no recurrent dropout is active. Input dropout is a mask on x drawn once
  per sequence (shape (N, 1, F), shared by all time steps, as Keras's cell does);
* otherwise a step loop that calls ``cell.call(x_t, states)`` once per time step with ordinary ops
  (any activation, recurrent dropout, user-defined cells in ``RNN(cell)``). It is slower (a Python
  step with several ops per time step) but follows the same equations and masking rules.

Masking (Keras 3): a mask (N, T) — e.g. from ``Embedding(mask_zero=True)`` — marks the steps to use. At
a masked step the states are carried over unchanged and the output repeats the previous output
(or is zero with ``zero_output_for_mask``, which Bidirectional turns on when returning sequences).
``go_backwards`` processes the sequence from its last step and returns the outputs in that order.
"""
from __future__ import annotations

import inspect

import numpy

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from ..autograd import Tensor
from ..backend import get_array_module
from ..ops import random as _random
from ..ops import recurrent as _rec_ops
from .base import InputSpec, Layer

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "SimpleRNN", "SimpleRNNCell"]


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


def _fusable(activation) -> bool:
    """Whether the fused recurrent ops implement this activation (they derive A' from A's output)."""
    try:
        _rec_ops._get_act(activation, "activation", "check")
    except NotImplementedError:
        return False
    return True


def _accepts(fn, arg: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _deserialize(config):
    from .. import saving  # noqa: PLC0415

    return saving.deserialize_keras_object(config)


def _serialize(obj):
    from .. import saving  # noqa: PLC0415

    return saving.serialize_keras_object(obj)


def _mask_array(mask, n: int, t: int, layer: str):
    """A (N, T) or (N, T, 1) mask (array or Tensor) → bool array (N, T)."""
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
        if mask is None:
            return None
    m = mask.data if isinstance(mask, Tensor) else mask
    xp = get_array_module(m)
    m = xp.asarray(m)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.shape != (n, t):
        raise ValueError(f"{layer}: expected a mask of shape {(n, t)} (batch, timesteps), received shape {m.shape}")
    return m.astype(bool)


# ----------------------------------------------------------------------------------
# cells
# ----------------------------------------------------------------------------------
class _Cell(Layer):
    """What the three cells share: the weight arguments, and dropout masks drawn once per sequence
    (Keras's DropoutRNNCell: ``get_dropout_mask`` caches until ``reset_dropout_mask``)."""

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

    def get_dropout_mask(self, step_input):
        """The input dropout mask m/(1 − dropout) for this sequence (drawn on first use)."""
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._draw(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        """The recurrent dropout mask m/(1 − recurrent_dropout) on h_{t−1} for this sequence."""
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._draw(step_state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None

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
                w.data = numpy.ascontiguousarray(w.data)
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
        return [Tensor(numpy.zeros((batch_size, s), dtype=self._dtype))
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
        return numpy.concatenate([numpy.asarray(init((u,), dtype=dtype)), numpy.ones(u, dtype=dtype),
                                  numpy.asarray(init((2 * u,), dtype=dtype))]).astype(dtype)

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



# ----------------------------------------------------------------------------------
# the RNN layer
# ----------------------------------------------------------------------------------
class RNN(Layer):
    """Runs a cell over the time axis of (batch, timesteps, features) inputs (Keras 3 ``keras.layers.RNN``).

    For t = 1..T (T..1 with ``go_backwards``): output_t, states_t = cell(x_t, states_{t−1}); masked steps
    keep states_{t−1} and repeat the previous output (zero with ``zero_output_for_mask``). Returns the last
    output (N, U), or all of them (N, T, U) with ``return_sequences``; with ``return_state`` a list
    [output, *final_states]. ``initial_state=`` (call argument): a list of (N, state_size) tensors
    (zeros by default). ``stateful=True`` starts each call from the previous call's final states (fixed
    batch size; ``reset_state()`` zeroes them). ``unroll`` is accepted and ignored.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, dict):
            cell = _deserialize(cell)
        if isinstance(cell, (list, tuple)):
            raise NotImplementedError(f"{type(self).__name__}: a list of cells (StackedRNNCells) is not supported; "
                                      f"stack RNN layers with return_sequences=True instead, received cell={cell!r}")
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"{type(self).__name__}: expected `cell` to have a `call(inputs, states)` method, "
                             f"received cell={cell!r}")
        if getattr(cell, "state_size", None) is None:
            raise ValueError(f"{type(self).__name__}: the RNN cell should have a `state_size` attribute (an int or a "
                             f"list of ints, one per state), received cell={cell!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        size = cell.state_size
        if isinstance(size, (int, numpy.integer)):
            self.state_size = [int(size)]
        elif isinstance(size, (list, tuple)) and all(isinstance(s, (int, numpy.integer)) for s in size):
            self.state_size = [int(s) for s in size]
        else:
            raise ValueError(f"{type(self).__name__}: expected the cell's `state_size` to be an int or a list of "
                             f"ints, received {size!r}")
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)
        self.states = None

    # ---- life cycle -------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        step_shape = (sequences_shape[0], *tuple(sequences_shape[2:]))
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
            self.cell._build_input_shape = (None, *step_shape[1:])
        if isinstance(self.cell, Layer):
            for w in self.cell._tracked_weights:
                w.path = f"{self.name}/{self.cell.name}/{w.name}"
        if self.stateful and self.states is not None:
            self.reset_state()
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        n, t = sequences_shape[0], sequences_shape[1]
        out_size = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (n, t, out_size) if self.return_sequences else (n, out_size)
        if self.return_state:
            return [out] + [(n, s) for s in self.state_size]
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * len(self.state_size)
        return out_mask

    # ---- states ---------------------------------------------------------------------------
    def get_initial_state(self, batch_size):
        return [Tensor(numpy.zeros((batch_size, s), dtype=self._dtype)) for s in self.state_size]

    def reset_state(self, states=None) -> None:
        """Zero the stored states of a stateful layer (or set them to ``states``, a list of arrays)."""
        if self.states is None:
            return
        if states is None:
            for s in self.states:
                s.data[...] = 0
            return
        states = states if isinstance(states, (list, tuple)) else [states]
        if len(states) != len(self.states):
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected {len(self.states)} states, "
                             f"received {len(states)}")
        for s, v in zip(self.states, states):
            v = numpy.asarray(v.data if isinstance(v, Tensor) else v)
            if v.shape != s.shape:
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected a state of shape {s.shape}, "
                                 f"received shape {v.shape}")
            s.data[...] = v

    reset_states = reset_state

    def _initial_states(self, x, initial_state) -> list:
        n = x.shape[0]
        xp = get_array_module(x.data)
        name = f"{type(self).__name__} {self.name!r}"
        if initial_state is None:
            if self.stateful:
                if self.states is None:
                    self.states = [Tensor(xp.zeros((n, s), dtype=x.dtype)) for s in self.state_size]
                elif self.states[0].shape[0] != n:
                    raise ValueError(f"{name}: a stateful layer keeps the batch size of its first call "
                                     f"({self.states[0].shape[0]}); received a batch of {n}. Pass a fixed "
                                     f"batch_size (and shuffle=False) or call reset_state() after a rebuild")
                return list(self.states)
            return [Tensor(xp.zeros((n, s), dtype=x.dtype)) for s in self.state_size]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(self.state_size):
            raise ValueError(f"{name}: expected `initial_state` to be a list of {len(self.state_size)} tensors "
                             f"(one per state, each (batch, size)), received {len(states)}")
        out = []
        for i, (s, size) in enumerate(zip(states, self.state_size)):
            if not isinstance(s, Tensor):
                s = Tensor(xp.asarray(s, dtype=x.dtype))
            elif s.dtype != x.dtype:
                s = ops.cast(s, x.dtype)
            if tuple(s.shape) != (n, size):
                raise ValueError(f"{name}: expected initial_state[{i}] of shape {(n, size)}, received shape "
                                 f"{tuple(s.shape)}")
            out.append(s)
        return out

    # ---- running ---------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        x = sequences
        name = f"{type(self).__name__} {self.name!r}"
        if x.ndim < 3:
            raise ValueError(f"{name}: expected inputs of rank 3 (batch, timesteps, features), received shape "
                             f"{tuple(x.shape)}")
        n, t = x.shape[0], x.shape[1]
        if t == 0:
            raise ValueError(f"{name}: expected at least one time step, received inputs of shape {tuple(x.shape)}")
        states = self._initial_states(x, initial_state)
        m = _mask_array(mask, n, t, name)
        output, final = self._run(x, states, m, bool(training))
        if self.stateful:
            self.states = [Tensor(s.data.copy()) for s in final]
        if self.return_state:
            if self.return_sequences and m is not None:
                output._keras_mask = m
            return [output, *final]
        return output

    def _run(self, x, states, mask, training):
        """(output, final states) for the whole sequence; subclasses use the fused ops when they can."""
        return self._step_loop(x, states, mask, training)

    def _step_loop(self, x, states, mask, training):
        """One ``cell.call`` per time step (any cell, any activation, recurrent dropout)."""
        cell = self.cell
        kwargs = {"training": training} if _accepts(cell.call, "training") else {}
        t = x.shape[1]
        order = range(t - 1, -1, -1) if self.go_backwards else range(t)
        rest = (slice(None),) * (x.ndim - 2)
        outputs = []
        try:
            for s in order:
                xt = ops.getitem(x, (slice(None), s, *rest))
                out, new = cell.call(xt, list(states), **kwargs)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                if mask is not None and not bool(mask[:, s].all()):
                    keep = mask[:, s].reshape(-1, *([1] * (out.ndim - 1)))
                    if self.zero_output_for_mask:
                        out = ops.where(keep, out, get_array_module(keep).zeros((), dtype=out.dtype))
                    else:
                        out = ops.where(keep, out, states[0])
                    new = [ops.where(keep.reshape(-1, *([1] * (ns.ndim - 1))), ns, os) for ns, os in zip(new, states)]
                states = new
                outputs.append(out)
        finally:
            for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
                if hasattr(cell, reset):
                    getattr(cell, reset)()
        output = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return output, states

    def _input_dropout(self, x, training):
        """x · m/(1 − dropout) with one mask (N, 1, F) for every time step (the cell's input dropout)."""
        cell = self.cell
        if not (training and _active(cell.dropout)):
            return x
        xp = get_array_module(x.data)
        mask = _random.dropout_mask((x.shape[0], 1, x.shape[2]), cell.dropout, dtype=x.dtype, rng=cell._rng, xp=xp)
        return x * mask

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "cell": _serialize(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            from ..serialization import deserialize_keras_object  # noqa: PLC0415

            cell = deserialize_keras_object(cell, custom_objects=custom_objects)
        return cls(cell, **config)


class _BuiltinRNN(RNN):
    """SimpleRNN / LSTM / GRU: the cell is built from the layer's arguments; its arguments are the layer's."""

    _cell_args: tuple[str, ...] = ()

    def _init_builtin(self, cell, use_cudnn, activity_regularizer, return_sequences, return_state, go_backwards,
                      stateful, unroll, kwargs):
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: expected `use_cudnn` to be one of 'auto', True, False; "
                             f"received use_cudnn={use_cudnn!r}")
        self.use_cudnn = use_cudnn  # no cuDNN here: the fused NumPy kernels are used either way

    def __getattr__(self, name):
        # units, activation, kernel_initializer, dropout, ... are the cell's (Keras exposes them as properties)
        cell = self.__dict__.get("cell")
        if cell is not None and name in type(self)._cell_args:
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _fused_ok(self, training) -> bool:
        cell = self.cell
        if training and _active(cell.recurrent_dropout):
            return False
        return all(_fusable(getattr(cell, a)) for a in ("activation", "recurrent_activation") if hasattr(cell, a))

    _config_keys: tuple[str, ...] = ()  # Keras's order of the cell's arguments in the layer's config

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        args = self.cell._argument_config()
        args["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return {**config, **{k: args[k] for k in self._config_keys}}

    @classmethod
    def from_config(cls, config):
        return Layer.from_config.__func__(cls, config)


_COMMON = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
           "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
           "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


class SimpleRNN(_BuiltinRNN):
    """Fully-connected RNN, h_t = A(x_t·W + h_{t−1}·U + b) (A = ``activation``, tanh by default).

    Weights (in ``layer.cell``): kernel (F, U), recurrent_kernel (U, U), bias (U,): U·(F + U + 1) parameters.
    """

    _cell_args = _COMMON
    _config_keys = ("units", "activation", "use_bias", *_WEIGHT_ARGS[:6], "activity_regularizer", *_WEIGHT_ARGS[6:],
                    "dropout", "recurrent_dropout")  # Keras's SimpleRNN config has no seed

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        use_cudnn = "auto"  # Keras's SimpleRNN has no use_cudnn argument
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                             kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                             recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                             dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                             dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                             name="simple_rnn_cell")
        self._init_builtin(cell, use_cudnn, activity_regularizer, return_sequences, return_state, go_backwards,
                           stateful, unroll, kwargs)

    def _run(self, x, states, mask, training):
        if not self._fused_ok(training):
            return self._step_loop(x, states, mask, training)
        cell = self.cell
        out, h = ops.simple_rnn(self._input_dropout(x, training), states[0], cell.kernel, cell.recurrent_kernel,
                                cell.bias, mask=mask, go_backwards=self.go_backwards, activation=cell.activation,
                                return_sequences=self.return_sequences,
                                zero_output_for_mask=self.zero_output_for_mask)
        return out, [h]


class LSTM(_BuiltinRNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997); the step is :class:`LSTMCell`'s:

    i, f, c̃, o = σ(·), σ(·), A(·), σ(·) of x_t W + h_{t−1} U + b (gate blocks i, f, c, o);
    c_t = f ⊙ c_{t−1} + i ⊙ c̃, h_t = o ⊙ A(c_t). Weights (in ``layer.cell``): kernel (F, 4U),
    recurrent_kernel (U, 4U), bias (4U,) (forget block initialized to 1 with ``unit_forget_bias``):
    4U·(F + U + 1) parameters. ``return_state`` → [output, h_T, c_T].
    """

    _cell_args = (*_COMMON, "recurrent_activation", "unit_forget_bias")
    _config_keys = ("units", "activation", "recurrent_activation", "use_bias", *_WEIGHT_ARGS[:3], "unit_forget_bias",
                    *_WEIGHT_ARGS[3:6], "activity_regularizer", *_WEIGHT_ARGS[6:], "dropout", "recurrent_dropout",
                    "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                        kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                        bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                        kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                        bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                        recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
                        trainable=kwargs.get("trainable", True), name="lstm_cell",
                        implementation=kwargs.pop("implementation", 2))
        self._init_builtin(cell, use_cudnn, activity_regularizer, return_sequences, return_state, go_backwards,
                           stateful, unroll, kwargs)

    def _run(self, x, states, mask, training):
        if not self._fused_ok(training):
            return self._step_loop(x, states, mask, training)
        cell = self.cell
        out, h, c = ops.lstm(self._input_dropout(x, training), states[0], states[1], cell.kernel,
                             cell.recurrent_kernel, cell.bias, mask=mask, go_backwards=self.go_backwards,
                             activation=cell.activation, recurrent_activation=cell.recurrent_activation,
                             return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask)
        return out, [h, c]


class GRU(_BuiltinRNN):
    """Gated recurrent unit (Cho et al., 2014); the step is :class:`GRUCell`'s (gate blocks z, r, h):

    z = σ(·), r = σ(·); ``reset_after=True`` (Keras's default, PyTorch's convention):
    h̃ = A(x W_h + b_h + r ⊙ (h U_h + b'_h)), bias (2, 3U); else h̃ = A(x W_h + b_h + (r ⊙ h) U_h),
    bias (3U,); h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃. Parameters: 3U·(F + U) + 6U (reset_after) or + 3U.
    """

    _cell_args = (*_COMMON, "recurrent_activation", "reset_after")
    _config_keys = ("units", "activation", "recurrent_activation", "use_bias", *_WEIGHT_ARGS[:6],
                    "activity_regularizer", *_WEIGHT_ARGS[6:], "dropout", "recurrent_dropout", "reset_after", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                       kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                       kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                       seed=seed, reset_after=reset_after, dtype=kwargs.get("dtype"),
                       trainable=kwargs.get("trainable", True), name="gru_cell",
                       implementation=kwargs.pop("implementation", 2))
        self._init_builtin(cell, use_cudnn, activity_regularizer, return_sequences, return_state, go_backwards,
                           stateful, unroll, kwargs)

    def _run(self, x, states, mask, training):
        if not self._fused_ok(training):
            return self._step_loop(x, states, mask, training)
        cell = self.cell
        out, h = ops.gru(self._input_dropout(x, training), states[0], cell.kernel, cell.recurrent_kernel, cell.bias,
                         mask=mask, go_backwards=self.go_backwards, reset_after=cell.reset_after,
                         activation=cell.activation, recurrent_activation=cell.recurrent_activation,
                         return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask)
        return out, [h]

"""Recurrent layers: SimpleRNN, LSTM, GRU and the generic RNN(cell); their cells are in :mod:`.recurrent_cells`
(re-exported here), StackedRNNCells in :mod:`.stacked_rnn_cells`, Bidirectional in :mod:`.bidirectional`.

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
a masked step the states are carried over unchanged and the output repeats the previous output (zeros
before the first unmasked step, whatever the initial state, as Keras's torch backend does), or is zero
with ``zero_output_for_mask``, which Bidirectional turns on when returning sequences.
``go_backwards`` processes the sequence from its last step and returns the outputs in that order.
"""
from __future__ import annotations

import numpy

from .. import ops, regularizers
from ..autograd import Tensor
from ..backend import array_module, get_array_module, to_backend
from ..ops import random as _random
from ..ops import recurrent as _rec_ops
from .base import InputSpec, Layer, _build_scope
from .recurrent_cells import _WEIGHT_ARGS, GRUCell, LSTMCell, SimpleRNNCell, _accepts, _active, _Cell
from .stacked_rnn_cells import StackedRNNCells

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "SimpleRNN", "SimpleRNNCell"]


def _fusable(activation) -> bool:
    """Whether the fused recurrent ops implement this activation (they derive A' from A's output)."""
    try:
        _rec_ops._get_act(activation, "activation", "check")
    except NotImplementedError:
        return False
    return True


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


def _is_int(v) -> bool:
    return isinstance(v, (int, numpy.integer)) and not isinstance(v, bool)


def _all_ints(v) -> bool:
    return isinstance(v, (list, tuple)) and all(_is_int(s) for s in v)


def _flatten_states(states) -> list:
    """The state tensors of a (possibly nested, as StackedRNNCells's) list of states, in order."""
    if isinstance(states, (list, tuple)):
        return [t for s in states for t in _flatten_states(s)]
    return [states]


def _pack_states(structure, flat) -> list:
    """``flat`` (a list of tensors) in the nesting of ``structure``."""
    it = iter(flat)

    def pack(s):
        return [pack(v) for v in s] if isinstance(s, (list, tuple)) else next(it)

    return pack(structure)


def _map_states(fn, states):
    return [_map_states(fn, s) for s in states] if isinstance(states, (list, tuple)) else fn(states)


def _reset_dropout_masks(cell) -> None:
    """Forget the dropout masks drawn for this sequence (in every stacked cell)."""
    for c in getattr(cell, "cells", None) or [cell]:
        for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            if hasattr(c, reset):
                getattr(c, reset)()


# ----------------------------------------------------------------------------------
# the RNN layer
# ----------------------------------------------------------------------------------
class RNN(Layer):
    """Runs a cell over the time axis of (batch, timesteps, ...) inputs (Keras 3 ``keras.layers.RNN``).

    For t = 1..T (T..1 with ``go_backwards``): output_t, states_t = cell(x_t, states_{t−1}); at a masked step
    the states keep states_{t−1} and the output repeats the previous step's output (zero before the first
    unmasked step, and everywhere masked with ``zero_output_for_mask``). Returns the last output (N, U), or all
    of them (N, T, U) with ``return_sequences``; with ``return_state`` a list [output, *final_states].
    ``cell``: a cell, or a list of cells (made a :class:`StackedRNNCells`, whose states are one list per cell).
    ``initial_state=`` (call argument): the states in the cell's structure (zeros by default, or the cell's
    ``get_initial_state``). ``stateful=True`` starts each call from the previous call's final states (fixed
    batch size; ``reset_state()`` zeroes them). ``unroll=True``: neuronka runs the loop over time eagerly
    either way, so the results are the same; as in Keras, it needs a known number of timesteps (an error at
    build otherwise).
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, dict):
            cell = _deserialize(cell)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
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
        if _is_int(size):
            self.state_size = [int(size)]
        elif isinstance(size, (list, tuple)) and all(_is_int(s) or _all_ints(s) for s in size):
            self.state_size = [int(s) if _is_int(s) else [int(v) for v in s] for s in size]
        else:
            raise ValueError(f"{type(self).__name__}: expected the cell's `state_size` to be an int or a list of "
                             f"ints (or of lists of ints, one list per stacked cell), received {size!r}")
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)
        self.states = None

    # ---- life cycle -------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        if self.unroll and len(sequences_shape) > 1 and sequences_shape[1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: cannot unroll an RNN whose time dimension is "
                             f"undefined (input shape {tuple(sequences_shape)}); give the Input a shape with the "
                             f"number of timesteps, or use unroll=False")
        step_shape = (sequences_shape[0], *tuple(sequences_shape[2:]))
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
            self.cell._build_input_shape = (None, *step_shape[1:])
        if isinstance(self.cell, Layer):  # Keras's paths, also for a cell built before: [outer/]rnn/cell/kernel
            scope = [layer.name for layer in _build_scope()] or [self.name]
            for w in self.cell._tracked_weights:
                w.path = "/".join([*scope, self.cell.name, w.name])
        if self.stateful and self.states is not None:
            self.reset_state()
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        n, t = sequences_shape[0], sequences_shape[1]
        out_size = getattr(self.cell, "output_size", None)
        if out_size is None:
            out_size = self.state_size[0]
        out = (n, t, out_size) if self.return_sequences else (n, out_size)
        if self.return_state:
            return [out] + [(n, s) if _is_int(s) else [(n, v) for v in s] for s in self.state_size]
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
        """The cell's ``get_initial_state(batch_size)`` as a list, or zeros (batch_size, size) per state."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is None:
            return [Tensor(array_module().zeros((batch_size, s), dtype=self._dtype)) for s in self.state_size]
        states = make(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def reset_state(self, states=None) -> None:
        """Zero the stored states of a stateful layer (or set them to ``states``, in the states' structure)."""
        if self.states is None:
            return
        own = _flatten_states(self.states)
        if states is None:
            for s in own:
                s.data[...] = 0
            return
        given = _flatten_states(states if isinstance(states, (list, tuple)) else [states])
        if len(given) != len(own):
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected {len(own)} states, "
                             f"received {len(given)}")
        for s, v in zip(own, given):
            v = to_backend(v)  # the stored states live on the backend
            if v.shape != s.shape:
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected a state of shape {s.shape}, "
                                 f"received shape {v.shape}")
            s.data[...] = v

    reset_states = reset_state

    def _zero_states(self, x) -> list:
        """Fresh initial states for the batch of ``x``, in the cell's structure, in x's dtype and array module."""
        n = x.shape[0]
        xp = get_array_module(x.data)
        if all(_is_int(s) for s in self.state_size) and (
                isinstance(self.cell, _Cell) or getattr(self.cell, "get_initial_state", None) is None):
            return [Tensor(xp.zeros((n, s), dtype=x.dtype)) for s in self.state_size]
        return _map_states(lambda s: Tensor(xp.zeros(s.shape, dtype=x.dtype)), self.get_initial_state(n))

    def _initial_states(self, x, initial_state) -> list:
        n = x.shape[0]
        xp = get_array_module(x.data)
        name = f"{type(self).__name__} {self.name!r}"
        if initial_state is None:
            if self.stateful:
                if self.states is None:
                    self.states = self._zero_states(x)
                else:
                    first = _flatten_states(self.states)[0]
                    if first.shape[0] != n:
                        raise ValueError(f"{name}: a stateful layer keeps the batch size of its first call "
                                         f"({first.shape[0]}); received a batch of {n}. Pass a fixed "
                                         f"batch_size (and shuffle=False) or call reset_state() after a rebuild")
                return list(self.states)
            return self._zero_states(x)
        expected = self._zero_states(x)
        flat_expected = _flatten_states(expected)
        given = _flatten_states(list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state])
        if len(given) != len(flat_expected):
            raise ValueError(f"{name}: expected `initial_state` to be a list of {len(flat_expected)} tensors "
                             f"(one per state, each (batch, size)), received {len(given)}")
        out = []
        for i, (s, want) in enumerate(zip(given, flat_expected)):
            if not isinstance(s, Tensor):
                s = Tensor(xp.asarray(s, dtype=x.dtype))
            elif s.dtype != x.dtype:
                s = ops.cast(s, x.dtype)
            if tuple(s.shape) != tuple(want.shape):
                raise ValueError(f"{name}: expected initial_state[{i}] of shape {tuple(want.shape)}, received shape "
                                 f"{tuple(s.shape)}")
            out.append(s)
        return _pack_states(expected, out)

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
            self.states = _map_states(lambda s: Tensor(s.data.copy()), final)
        if self.return_state:
            if self.return_sequences and m is not None:
                output._keras_mask = m
            return [output, *final]
        return output

    def _run(self, x, states, mask, training):
        """(output, final states) for the whole sequence; subclasses use the fused ops when they can."""
        return self._step_loop(x, states, mask, training)

    def _step_loop(self, x, states, mask, training, step=None):
        """One ``cell.call`` per time step (any cell, any activation, recurrent dropout).

        ``step(s, states) -> (output, new_states)``, when given, replaces ``cell.call(x[:, s], states)``
        (a layer that computes the input part of every step at once, as ConvLSTM does)."""
        cell = self.cell
        if step is None:
            kwargs = {"training": training} if _accepts(cell.call, "training") else {}
            rest = (slice(None),) * (x.ndim - 2)

            def step(s, states):
                return cell.call(ops.getitem(x, (slice(None), s, *rest)), list(states), **kwargs)

        t = x.shape[1]
        order = range(t - 1, -1, -1) if self.go_backwards else range(t)
        outputs, prev_out = [], None
        try:
            for s in order:
                out, new = step(s, states)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                if mask is not None and not bool(mask[:, s].all()):
                    # a masked step: the states stay, the output repeats the previous one (zeros at first)
                    keep = mask[:, s].reshape(-1, *([1] * (out.ndim - 1)))
                    xp = get_array_module(keep)
                    if self.zero_output_for_mask or prev_out is None:
                        out = ops.where(keep, out, xp.zeros((), dtype=out.dtype))
                    else:
                        out = ops.where(keep, out, prev_out)
                    flat = [ops.where(mask[:, s].reshape(-1, *([1] * (ns.ndim - 1))), ns, os)
                            for ns, os in zip(_flatten_states(new), _flatten_states(states))]
                    new = _pack_states(new, flat)
                states, prev_out = new, out
                outputs.append(out)
        finally:
            _reset_dropout_masks(cell)
        output = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return output, states

    def _zero_before_first_step(self, output, mask):
        """Keras's outputs before a sequence's first unmasked step (in processing order) are zeros, whatever the
        initial state; the fused ops repeat the initial state there, so those outputs are zeroed here."""
        if mask is None:
            return output
        xp = get_array_module(mask)
        seen = xp.logical_or.accumulate(mask[:, ::-1] if self.go_backwards else mask, axis=1)
        if bool(seen[:, 0].all()):
            return output
        keep = seen if self.return_sequences else seen[:, -1]
        return ops.where(keep.reshape(*keep.shape, *([1] * (output.ndim - keep.ndim))), output,
                         xp.zeros((), dtype=output.dtype))

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
        return self._zero_before_first_step(out, mask), [h]


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
        return self._zero_before_first_step(out, mask), [h, c]


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
        return self._zero_before_first_step(out, mask), [h]

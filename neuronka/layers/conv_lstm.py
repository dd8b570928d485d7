"""Convolutional LSTMs (Shi et al., 2015): ConvLSTM1D, ConvLSTM2D, ConvLSTM3D.

An LSTM whose input and recurrent transformations are convolutions, over sequences of 1-, 2- or 3-D
feature maps (batch, time, *spatial, channels) (``channels_first``: (batch, time, channels, *spatial)).
One step, gates in Keras's order (i, f, c, o), ∗ a convolution, σ = ``recurrent_activation``, A =
``activation``::

    z = x_t ∗ W + b + h_{t−1} ∗ U          W: kernel (*kernel_size, C, 4F), U: recurrent_kernel (*kernel_size, F, 4F)
    i, f, c̃, o = σ(z_i), σ(z_f), A(z_c), σ(z_o)
    c_t = f ⊙ c_{t−1} + i ⊙ c̃,   h_t = o ⊙ A(c_t)

x ∗ W uses the layer's ``strides``, ``padding`` and ``dilation_rate``; h ∗ U is always stride 1, "same"
padding, no dilation, so the states keep the spatial shape of x ∗ W. How it is computed: the input
convolution of every time step at once (the steps folded into the batch: one convolution of (N·T, ...)),
then per step one convolution of h_{t−1} with U and the gate arithmetic; the gradients come from the ops
(``ops.conv`` and the elementwise ops each carry their backward), through the time loop of
:class:`~neuronka.layers.RNN` (masking, ``go_backwards``, ``stateful``, ``return_state``). ``channels_first``
inputs are moved to channels-last once for the whole sequence. With ``dropout``/``recurrent_dropout`` in
training, each gate gets its own mask, drawn once per sequence (Keras's cell), and the convolutions are done
per gate.
"""
from __future__ import annotations

import numpy

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from ..autograd import Tensor
from ..backend import array_module, get_array_module, to_backend
from ..ops import convolution as _conv
from ..ops import random as _random
from ..random import SeedGenerator
from .base import InputSpec, Layer
from .recurrent import RNN
from .recurrent_cells import DropoutMasks, _rate
from .reshaping import standardize_data_format

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_CELL_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


def _to_last(t: Tensor, channel_axis: int) -> Tensor:
    """Move axis ``channel_axis`` to the end."""
    axes = [a for a in range(t.ndim) if a != channel_axis] + [channel_axis]
    return ops.transpose(t, axes)


def _from_last(t: Tensor, channel_axis: int) -> Tensor:
    """Move the last axis back to ``channel_axis``."""
    axes = list(range(t.ndim - 1))
    axes.insert(channel_axis, t.ndim - 1)
    return ops.transpose(t, axes)


class ConvLSTMCell(DropoutMasks, Layer):
    """One ConvLSTM step (see the module docstring): ``call(x_t, [h, c]) -> (h_t, [h_t, c_t])``, x_t of shape
    (batch, *spatial, C) (``channels_first``: (batch, C, *spatial)). The arguments are the layer's."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        kind = "ConvLSTM"
        if rank not in (1, 2, 3):
            raise ValueError(f"Rank {rank} convolutions are not currently implemented. Received: rank={rank}")
        if isinstance(filters, bool) or not isinstance(filters, (int, numpy.integer)) or filters <= 0:
            raise ValueError(f"{kind}: expected `filters` to be a positive integer, received filters={filters!r}")
        self.rank = int(rank)
        self.filters = int(filters)
        self.kernel_size = _conv.normalize_tuple(kernel_size, rank, "kernel_size", kind)
        self.strides = _conv.normalize_tuple(strides, rank, "strides", kind)
        self.padding = _conv.normalize_padding(padding, kind)
        self.data_format = standardize_data_format(kind, data_format)
        self.dilation_rate = _conv.normalize_tuple(dilation_rate, rank, "dilation_rate", kind)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please provide "
                             f"`strides=1` or `dilation_rate=1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(kind, "dropout", dropout)
        self.recurrent_dropout = _rate(kind, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.state_size = -1  # the states are feature maps: their shapes come from get_initial_state
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    @property
    def _channel_axis(self) -> int:
        """The channel axis of a step input (batch, ...)."""
        return -1 if self.data_format == "channels_last" else 1

    def build(self, inputs_shape, states_shape=None):
        inputs_shape = tuple(inputs_shape)
        spatial = inputs_shape[1:-1] if self.data_format == "channels_last" else inputs_shape[2:]
        if None in spatial:
            raise ValueError(f"ConvLSTM layers only support static input shapes for the spatial dimension. Received "
                             f"invalid input shape: input_shape={inputs_shape}")
        channels = inputs_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs (last axis) should be defined. Found None. Full "
                             f"input shape received: input_shape={inputs_shape}")
        self.spatial_dims = tuple(int(s) for s in spatial)
        self.input_dim = int(channels)
        f = self.filters
        self.kernel_shape = (*self.kernel_size, self.input_dim, 4 * f)
        self.kernel = self.add_weight(shape=self.kernel_shape, initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(*self.kernel_size, f, 4 * f),
                                                initializer=self.recurrent_initializer, name="recurrent_kernel",
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(shape=(4 * f,), name="bias", initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
            if self.unit_forget_bias:  # [b_i, 1, b_c, b_o]: the forget gate starts open
                init, dtype = self.bias_initializer, self.bias.dtype
                xp = array_module()
                self.bias.assign(xp.concatenate([to_backend(init((f,), dtype=dtype)), xp.ones(f, dtype),
                                                 to_backend(init((2 * f,), dtype=dtype))]))
        else:
            self.bias = None
        for w in self._tracked_weights:  # the orthogonal initializer may give Fortran-ordered arrays
            if not w.data.flags.c_contiguous:
                w.data = get_array_module(w.data).ascontiguousarray(w.data)
        self.built = True

    # ---- dropout masks: four per sequence (one per gate), as Keras's cell ---------------------------
    def _draw(self, like, rate):
        xp = get_array_module(like.data if isinstance(like, Tensor) else like)
        return [_random.dropout_mask(tuple(like.shape), rate, dtype=like.dtype, rng=self.seed_generator.generator(),
                                     xp=xp) for _ in range(4)]

    # ---- the convolutions (channels last) ---------------------------------------------------------
    def _gate(self, w, g):
        """Gate block g of a kernel (…, 4F) or of the bias (4F,)."""
        f = self.filters
        return ops.getitem(w, (Ellipsis, slice(g * f, (g + 1) * f)))

    def _input_conv(self, x, kernel, bias):
        """x ∗ W + b, channels last (x: (batch, *spatial, C))."""
        y = ops.conv(x, kernel, strides=self.strides, padding=self.padding, data_format="channels_last",
                     dilation_rate=self.dilation_rate)
        return y if bias is None else y + bias

    def _recurrent_conv(self, h, kernel):
        """h ∗ U, stride 1, "same", channels last."""
        return ops.conv(h, kernel, strides=1, padding="same", data_format="channels_last")

    def step(self, xz, h_tm1, c_tm1, training: bool):
        """One step from the input part xz = x_t ∗ W + b (channels last, (N, *spatial', 4F)) and the states."""
        rec_masks = self.get_recurrent_dropout_mask(h_tm1) if training and 0 < self.recurrent_dropout < 1 else None
        if rec_masks is None:
            z = xz + self._recurrent_conv(h_tm1, self.recurrent_kernel)
            zi, zf, zc, zo = ops.split(z, 4, axis=-1)
        else:
            parts = ops.split(xz, 4, axis=-1)
            zi, zf, zc, zo = (p + self._recurrent_conv(h_tm1 * m, self._gate(self.recurrent_kernel, g))
                              for g, (p, m) in enumerate(zip(parts, rec_masks)))
        ract = self.recurrent_activation
        i, f, o = ract(zi), ract(zf), ract(zo)
        c = f * c_tm1 + i * self.activation(zc)
        h = o * self.activation(c)
        return h, c

    def call(self, inputs, states, training=False):
        """h_t, [h_t, c_t] for one step (inputs and states in the layer's data_format)."""
        axis = self._channel_axis
        last = axis == -1
        x = inputs if last else _to_last(inputs, 1)
        h_tm1, c_tm1 = (states[0], states[1]) if last else (_to_last(states[0], 1), _to_last(states[1], 1))
        xz = self._gated_input(x, self.get_dropout_mask(x) if training and 0 < self.dropout < 1 else None)
        h, c = self.step(xz, h_tm1, c_tm1, bool(training))
        if not last:
            h, c = _from_last(h, 1), _from_last(c, 1)
        return h, [h, c]

    def _gated_input(self, x, masks):
        """x ∗ W + b (channels last), or per gate (x ⊙ m_g) ∗ W_g + b_g with four dropout masks."""
        if masks is None:
            return self._input_conv(x, self.kernel, self.bias)
        return ops.concatenate([self._input_conv(x * m, self._gate(self.kernel, g),
                                                 None if self.bias is None else self._gate(self.bias, g))
                                for g, m in enumerate(masks)], axis=-1)

    # ---- shapes and states ---------------------------------------------------------------------------
    def compute_output_shape(self, inputs_shape, states_shape=None):
        inputs_shape = tuple(inputs_shape)
        first = self.data_format == "channels_first"
        spatial = inputs_shape[2:] if first else inputs_shape[1:-1]
        out = tuple(None if s is None else _conv.conv_output_length(s, k, st, self.padding, d)
                    for s, k, st, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        shape = (inputs_shape[0], self.filters, *out) if first else (inputs_shape[0], *out, self.filters)
        return shape, [shape, shape]

    def get_initial_state(self, batch_size=None):
        """[h_0, c_0]: zeros of the state's shape (the input convolution's output shape)."""
        if self.data_format == "channels_last":
            step = (batch_size, *self.spatial_dims, self.input_dim)
        else:
            step = (batch_size, self.input_dim, *self.spatial_dims)
        shape = self.compute_output_shape(step)[0]
        xp = array_module()
        return [Tensor(xp.zeros(shape, dtype=self._dtype)), Tensor(xp.zeros(shape, dtype=self._dtype))]

    def _argument_config(self) -> dict:
        return {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": _activations.serialize(self.activation),
                "recurrent_activation": _activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}

    def get_config(self):
        return {**super().get_config(), "rank": self.rank, **self._argument_config()}


class ConvLSTM(RNN):
    """The N-D convolutional LSTM layer (base of ConvLSTM1D/2D/3D; see the module docstring).

    Input (batch, time, *spatial, channels) (``channels_first``: (batch, time, channels, *spatial)); output
    the last h (batch, *spatial', filters), or every step's with ``return_sequences`` (batch, time, ...);
    with ``return_state`` [output, h_T, c_T]. Weights (in ``layer.cell``): ``kernel`` (*kernel_size, C, 4F),
    ``recurrent_kernel`` (*kernel_size, F, 4F), ``bias`` (4F,) (forget block initialized to 1 with
    ``unit_forget_bias``), gate blocks i, f, c, o.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(rank=rank, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                            recurrent_activation=recurrent_activation, use_bias=use_bias,
                            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell",
                            dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)
        self.input_spec = InputSpec(ndim=rank + 3)

    def __getattr__(self, name):
        # filters, kernel_size, padding, activation, dropout, ... are the cell's (Keras's properties)
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_KEYS:
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        n, steps = sequences_shape[0], sequences_shape[1]
        state = tuple(self.cell.compute_output_shape((n, *tuple(sequences_shape)[2:]))[0][1:])
        out = (n, steps, *state) if self.return_sequences else (n, *state)
        if self.return_state:
            return [out, (n, *state), (n, *state)]
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out_mask = mask if self.return_sequences else None
        return [out_mask, None, None] if self.return_state else out_mask

    def _run(self, x, states, mask, training):
        """The input convolution of all steps at once, then the recurrent step per time step (channels last)."""
        cell = self.cell
        first = cell.data_format == "channels_first"
        if first:  # (N, T, C, *spatial) → (N, T, *spatial, C); states (N, F, *s) → (N, *s, F)
            x = _to_last(x, 2)
            states = [_to_last(s, 1) for s in states]
        n, t = x.shape[0], x.shape[1]
        step_shape = tuple(x.shape[2:])
        masks = cell.get_dropout_mask(ops.getitem(x, (slice(None), 0))) \
            if training and 0 < cell.dropout < 1 else None
        if masks is None:
            xz = cell._gated_input(ops.reshape(x, (n * t, *step_shape)), None)
        else:  # each gate's mask (N, *spatial, C) is shared by every step
            xz = ops.concatenate([
                cell._input_conv(ops.reshape(x * m[:, None], (n * t, *step_shape)),
                                 cell._gate(cell.kernel, g), None if cell.bias is None else cell._gate(cell.bias, g))
                for g, m in enumerate(masks)], axis=-1)
        xz = ops.reshape(xz, (n, t, *tuple(xz.shape[1:])))
        rest = (slice(None),) * (xz.ndim - 2)

        def step(s, states):
            h, c = cell.step(ops.getitem(xz, (slice(None), s, *rest)), states[0], states[1], training)
            return h, [h, c]

        output, final = self._step_loop(x, states, mask, training, step=step)
        if first:
            output = _from_last(output, 2 if self.return_sequences else 1)
            final = [_from_last(s, 1) for s in final]
        return output, final

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        args = self.cell._argument_config()
        args["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        keys = (*_CELL_KEYS[:16], "activity_regularizer", *_CELL_KEYS[16:])
        return {**config, **{k: args[k] for k in keys}}

    @classmethod
    def from_config(cls, config):
        return Layer.from_config.__func__(cls, config)


def _make_conv_lstm(rank: int, name: str, shape_doc: str):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, **kwargs):
        ConvLSTM.__init__(self, rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                          dilation_rate=dilation_rate, activation=activation,
                          recurrent_activation=recurrent_activation, use_bias=use_bias,
                          kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                          bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                          kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                          bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                          kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                          bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                          seed=seed, return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, **kwargs)

    doc = (f"{rank}-D convolutional LSTM (see :class:`ConvLSTM` and the module docstring): input {shape_doc}.")
    return type(name, (ConvLSTM,), {"__init__": __init__, "__doc__": doc, "rank": rank, "__module__": __name__})


ConvLSTM1D = _make_conv_lstm(1, "ConvLSTM1D", "(batch, time, width, channels)")
ConvLSTM2D = _make_conv_lstm(2, "ConvLSTM2D", "(batch, time, height, width, channels)")
ConvLSTM3D = _make_conv_lstm(3, "ConvLSTM3D", "(batch, time, depth, height, width, channels)")

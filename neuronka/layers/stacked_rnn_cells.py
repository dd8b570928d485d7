"""StackedRNNCells: several recurrent cells used as one (``keras.layers.StackedRNNCells``).

At each time step the cells run in order, each on the previous one's output:
y⁰ = x_t; yᵏ, statesᵏ_t = cellᵏ(yᵏ⁻¹, statesᵏ_{t−1}); the output is the last cell's. The states are one
entry per cell (that cell's own structure: a list [h, c] for an LSTMCell), so ``RNN(StackedRNNCells(...),
return_state=True)`` returns [output, states of cell 0, states of cell 1, ...], as in Keras.
"""
from __future__ import annotations

import inspect

from ..autograd import Tensor
from ..backend import array_module
from .base import Layer

__all__ = ["StackedRNNCells"]


def _takes_training(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class StackedRNNCells(Layer):
    """A list of RNN cells run one after the other at every step, as one cell (see the module docstring).

    ``state_size``: the list of the cells' state sizes; ``output_size``: the last cell's. Cell k is built on
    inputs of size ``output_size`` of cell k − 1. ``RNN([cell, cell, ...])`` makes one of these. The cells
    are run with their ``call`` (not ``__call__``: no per-step mask or dtype bookkeeping). Unlike Keras, a
    stack of one cell keeps its states as a one-entry list at every step (Keras unwraps it, which breaks
    the next step of a one-LSTMCell stack).
    """

    def __init__(self, cells, **kwargs):
        if isinstance(cells, Layer) or not isinstance(cells, (list, tuple)):
            raise ValueError(f"StackedRNNCells: expected `cells` to be a list of RNN cells, received cells={cells!r}")
        cells = [self._deserialize(c) if isinstance(c, dict) else c for c in cells]
        super().__init__(**kwargs)
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(f"All cells must have a `call` method. Received cell without a `call` method: {cell}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError(f"All cells must have a `state_size` attribute. Received cell without a "
                                 f"`state_size`: {cell}")
        self.cells = list(cells)

    @staticmethod
    def _deserialize(config):
        from ..serialization import deserialize_keras_object  # noqa: PLC0415

        return deserialize_keras_object(config)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    @staticmethod
    def _cell_output_size(cell):
        if getattr(cell, "output_size", None) is not None:
            return cell.output_size
        size = cell.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, batch_size=None):
        """One entry per cell: its ``get_initial_state(batch_size)``, or zeros (batch, size) per state."""
        out = []
        for cell in self.cells:
            make = getattr(cell, "get_initial_state", None)
            if make is not None:
                out.append(make(batch_size=batch_size))
            elif isinstance(cell.state_size, (list, tuple)):
                out.append([Tensor(array_module().zeros((batch_size, d), dtype=self._dtype))
                            for d in cell.state_size])
            else:
                out.append(Tensor(array_module().zeros((batch_size, cell.state_size), dtype=self._dtype)))
        return out

    def build(self, input_shape):
        """Build cell k on (batch, output size of cell k − 1), cell 0 on ``input_shape``."""
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
                cell._build_input_shape = (None, *tuple(input_shape)[1:])
            input_shape = (batch, self._cell_output_size(cell))
        self.built = True

    def call(self, inputs, states, training=False):
        """yᵏ, statesᵏ = cellᵏ(yᵏ⁻¹, statesᵏ) for k = 0, 1, ...; returns (y_last, [states⁰, states¹, ...])."""
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            nested = isinstance(cell_states, (list, tuple))
            kwargs = {"training": training} if _takes_training(cell.call) else {}
            inputs, cell_states = cell.call(inputs, list(cell_states) if nested else [cell_states], **kwargs)
            cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states]
            if len(cell_states) == 1 and not nested:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states

    def get_config(self):
        from ..serialization import serialize_keras_object  # noqa: PLC0415

        return {**super().get_config(), "cells": [serialize_keras_object(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..serialization import deserialize_keras_object  # noqa: PLC0415

        config = dict(config)
        cells = [deserialize_keras_object(c, custom_objects=custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)

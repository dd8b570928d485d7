"""Bidirectional: a recurrent layer run forwards and a copy of it backwards over the sequence, merged."""
from __future__ import annotations

from .. import ops
from .base import Layer, _build_scope

__all__ = ["Bidirectional"]


def _serialize(obj):
    from ..serialization import serialize_keras_object  # noqa: PLC0415

    return serialize_keras_object(obj)


def _deserialize(config):
    from ..serialization import deserialize_keras_object  # noqa: PLC0415

    return deserialize_keras_object(config)


def _removeprefix(s: str, prefix: str) -> str:
    return s[len(prefix):] if s.startswith(prefix) else s


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards over the sequence and merges the two.

    forward = layer(x); backward = layer'(x) with ``go_backwards=True`` (its sequence output is reversed
    back into time order); ``merge_mode``: "concat" [y_f, y_b] on the last axis (default), "sum"
    y_f + y_b, "mul" y_f ⊙ y_b, "ave" (y_f + y_b)/2, None → the tuple (y_f, y_b). With
    ``return_state`` a tuple: the output(s), the forward states, then the backward ones. Masked steps give
    zero outputs when returning sequences (``zero_output_for_mask`` is turned on in both copies).
    ``initial_state``: the forward states followed by the backward ones. ``weights``: initial weights,
    forward layer's then backward layer's. The copies are made as Keras makes them (the layer serialized,
    renamed ``forward_<name>``/``backward_<name>``, deserialized); unlike Keras, a ``dtype`` given to the
    wrapper is given to the copies too.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if isinstance(layer, dict):
            layer = _deserialize(layer)
        if isinstance(backward_layer, dict):
            backward_layer = _deserialize(backward_layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: expected `layer` to be a recurrent layer instance (LSTM, GRU, ...), "
                             f"received layer={layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: expected `backward_layer` to be a Layer instance, received "
                             f"backward_layer={backward_layer!r}")
        if not hasattr(layer, "go_backwards"):
            raise ValueError(f"Bidirectional: expected a recurrent layer with a `go_backwards` argument, received "
                             f"a {type(layer).__name__}")
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(f"Bidirectional: invalid merge mode; expected one of 'sum', 'mul', 'ave', 'concat', "
                             f"None, received merge_mode={merge_mode!r}")
        super().__init__(**kwargs)

        def copy(**changes):  # Keras's copy: the layer serialized (built as it was), changed, deserialized
            config = _serialize(layer)
            config["config"].update(changes)
            if kwargs.get("dtype") is not None:  # neuronka: an explicit dtype on the wrapper applies to the copies
                config["config"]["dtype"] = Layer.get_config(self)["dtype"]
            return _deserialize(config)

        self.forward_layer = copy(name="forward_" + _removeprefix(layer.name, "forward_"))
        if backward_layer is None:
            self.backward_layer = copy(go_backwards=True, name="backward_" + _removeprefix(layer.name, "backward_"))
        else:
            self.backward_layer = backward_layer
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(f"Bidirectional: the forward and backward layers should have different `go_backwards` "
                             f"values, received forward_layer.go_backwards={f.go_backwards}, "
                             f"backward_layer.go_backwards={b.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(f, a) != getattr(b, a):
                raise ValueError(f"Bidirectional: the forward and backward layers should have the same {a!r}, "
                                 f"received {getattr(f, a)} (forward) and {getattr(b, a)} (backward)")
        for sub in (f, b):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights is not None else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(sequences_shape)
                sub._build_input_shape = (None, *tuple(sequences_shape)[1:])
            outer = [layer.name for layer in _build_scope()] or [self.name]
            for w in sub.weights:  # Keras's paths: [outer/]bidirectional/forward_lstm/lstm_cell/kernel
                parts = w.path.split("/")
                below = parts[parts.index(sub.name) + 1:] if sub.name in parts else parts[-1:]
                w.path = "/".join([*outer, sub.name, *below])
        if self._initial_weights:
            nw = len(self._initial_weights)
            self.forward_layer.set_weights(self._initial_weights[: nw // 2])
            self.backward_layer.set_weights(self._initial_weights[nw // 2:])
            self._initial_weights = None
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=False):
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=fwd_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, mask=mask, training=training)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.getitem(y_rev, (slice(None), slice(None, None, -1)))
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) * 0.5
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else (output,)) + states
        return output

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        """Keras's structure. Unlike Keras (which doubles the forward layer's shape), a custom backward layer
        of another size counts with its own size, so the shape is the one ``call`` returns."""
        out = self.forward_layer.compute_output_shape(sequences_shape)
        back = self.backward_layer.compute_output_shape(sequences_shape)
        f_states = b_states = ()
        if self.return_state:
            out, f_states = out[0], tuple(tuple(s) for s in out[1:])
            back, b_states = back[0], tuple(tuple(s) for s in back[1:])
        out, back = tuple(out), tuple(back)
        if self.merge_mode == "concat":
            out = (*out[:-1], out[-1] + back[-1])
        elif self.merge_mode is None:
            out = (out, back)
        if self.return_state:
            return (out if self.merge_mode is None else (out,)) + f_states + b_states
        return out

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states + self.backward_layer.states)
        return None

    def compute_mask(self, inputs, mask=None):
        """The sequence mask on the sequence output(s) (both of them with ``merge_mode=None``), None on the states.
        (Keras's own version fails for a stateful layer returning its states; neuronka returns None for them.)"""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = (mask, mask) if not self.merge_mode else mask
        else:
            output_mask = (None, None) if not self.merge_mode else None
        if self.return_state and self.states is not None:
            state_mask = (None,) * len(self.states)
            return (output_mask if isinstance(output_mask, tuple) else (output_mask,)) + state_mask
        return output_mask

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError(f"Bidirectional {self.name!r}: reset_state() needs a stateful layer")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": _serialize(self.forward_layer),
                "backward_layer": _serialize(self.backward_layer)}

"""SimpleRNN, LSTM, GRU and Bidirectional as ONNX's RNN, LSTM and GRU ops.

Gate orders: Keras's LSTM kernel is [i | f | c | o], ONNX's W is [i | o | f | c] (rows), so the blocks are
reordered (0, 3, 1, 2); GRU is [z | r | h] in both. Keras's W (in, k·u) is ONNX's Wᵀ; the bias goes into
the input half of ONNX's B = [Wb | Rb], except GRU's ``reset_after=True`` bias (2, 3u), whose second row is
the recurrent bias Rb, inside the reset gate: ``linear_before_reset=1``.

Masks, exact for any pattern (right padding, Keras's default left padding of ``pad_sequences``, holes):
a masked step leaves the state unchanged, so the RNN over x equals the RNN over the unmasked steps alone,
moved to the front in their order ("compacted": a stable sort of the time indices by "masked", TopK over
mask·T + t ... with the masked ones last), with ONNX's ``sequence_lens`` = their count L. The outputs go back
to their time steps through c_t = Σ_{s≤t} m_s (the count of real steps so far): the output at step t is the
compacted output c_t − 1 (Keras repeats the last output at a masked step), 0 before the first real step and,
with ``zero_output_for_mask`` (Bidirectional), 0 at every masked step.
"""
from __future__ import annotations

import numpy

from ..layers import recurrent
from ..layers.bidirectional import Bidirectional
from .convert_activations import activation_name
from .convert_core import weight
from .onnx_graph import Value
from .registry import register, unsupported

_ONNX_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
_KINDS = {recurrent.LSTM: "LSTM", recurrent.GRU: "GRU", recurrent.SimpleRNN: "RNN"}


def _activation(layer, fn) -> str:
    name = activation_name(fn)
    if name not in _ONNX_ACTIVATIONS:
        raise unsupported(layer, f"the recurrent activation {getattr(fn, '__name__', fn)!r}; ONNX's recurrent "
                                 f"ops take {', '.join(_ONNX_ACTIVATIONS)}")
    return _ONNX_ACTIVATIONS[name]


def _check(layer):
    if type(layer) not in _KINDS:
        raise unsupported(layer, f"a recurrent layer of class {type(layer).__name__} (LSTM, GRU and SimpleRNN "
                                 f"are exported)")
    if layer.stateful:
        raise unsupported(layer, "stateful=True")


def _weights(layer) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, list[str], dict]:
    """(W, R, B, activations, attributes) of one direction, in ONNX's layout."""
    cell = layer.cell
    u = cell.units
    w, r = weight(cell.kernel).T, weight(cell.recurrent_kernel).T  # (k·u, in), (k·u, u)
    k = w.shape[0] // u
    if cell.bias is None:
        wb, rb = numpy.zeros(k * u, numpy.float32), numpy.zeros(k * u, numpy.float32)
    else:
        b = weight(cell.bias)
        wb, rb = (b[0], b[1]) if b.ndim == 2 else (b, numpy.zeros_like(b))
    attrs = {}
    if isinstance(layer, recurrent.LSTM):  # [i f c o] → [i o f c]
        order = [0, 3, 1, 2]

        def reorder(a):
            return numpy.concatenate([a[j * u:(j + 1) * u] for j in order])
        w, r, wb, rb = reorder(w), reorder(r), reorder(wb), reorder(rb)
        acts = [_activation(layer, cell.recurrent_activation), _activation(layer, cell.activation),
                _activation(layer, cell.activation)]
    elif isinstance(layer, recurrent.GRU):
        acts = [_activation(layer, cell.recurrent_activation), _activation(layer, cell.activation)]
        attrs["linear_before_reset"] = int(cell.reset_after)
    else:
        acts = [_activation(layer, cell.activation)]
    return w, r, numpy.concatenate([wb, rb]), acts, attrs


def _run(g, layers: list, x: Value, direction: str):
    """The ONNX recurrent op over ``x`` (N, T, C): (Y (T, D, N, U), Y_h (D, N, U), Y_c or None, lengths)."""
    first = layers[0]
    parts = [_weights(layer) for layer in layers]
    w = numpy.stack([p[0] for p in parts])
    r = numpy.stack([p[1] for p in parts])
    b = numpy.stack([p[2] for p in parts])
    acts = [a for p in parts for a in p[3]]
    xk, lengths, counts = g.keras(x), None, None
    if isinstance(x.mask, Value):
        xk, lengths, counts = _compact(g, xk, g.keras(x.mask))
    xt = g.op("Transpose", [xk], perm=[1, 0, 2])  # (T, N, C)
    kind = _KINDS[type(first)]
    n_out = 3 if kind == "LSTM" else 2
    outs = g.op(kind, [xt, g.const(w, "W"), g.const(r, "R"), g.const(b, "B"), lengths or ""], outputs=n_out,
                hidden_size=first.cell.units, direction=direction, activations=acts, **parts[0][4])
    return outs[0], outs[1], outs[2] if n_out == 3 else None, counts


def _compact(g, x: str, mask: str) -> tuple[str, str, str]:
    """(x with the unmasked steps first, in order; their count L (N,) int32; c = cumsum of the mask (N, T))."""
    m = g.op("Cast", [mask], to=7)  # (N, T) int64
    t = g.op("Slice", [g.op("Shape", [x]), g.ints([1]), g.ints([2])])
    zero, one = g.const(numpy.asarray(0, numpy.int64), "zero"), g.const(numpy.asarray(1, numpy.int64), "one")
    steps = g.op("Range", [zero, g.op("Squeeze", [t, g.ints([0])]), one])  # 0 … T − 1
    key = g.op("Add", [g.op("Mul", [g.op("Sub", [one, m]), t]), steps])  # (1 − m_t)·T + t
    _, order = g.op("TopK", [key, t], outputs=2, axis=1, largest=0, sorted=1)  # (N, T): real steps first
    index = g.op("Expand", [g.op("Unsqueeze", [order, g.ints([-1])]), g.op("Shape", [x])])
    compacted = g.op("GatherElements", [x, index], axis=1, hint="compacted")
    lengths = g.op("Cast", [g.op("ReduceSum", [m, g.ints([1])], keepdims=0)], to=6, hint="sequence_lens")
    return compacted, lengths, g.op("CumSum", [m, one], hint="counts")


def _uncompact(g, seq: str, counts: str, mask: str, zero_masked: bool, extra: int) -> str:
    """Outputs (N, T, …) of the compacted run back at their steps: y_t = ŷ[c_t − 1], 0 where c_t = 0 and, with
    ``zero_masked``, where step t is masked."""
    one = g.const(numpy.asarray(1, numpy.int64), "one")
    pos = g.op("Max", [g.op("Sub", [counts, one]), g.const(numpy.asarray(0, numpy.int64), "zero")])
    trailing = g.ints(list(range(2, 2 + extra)))  # (N, T) → (N, T, 1, …) against seq's (N, T, …)
    index = g.op("Expand", [g.op("Unsqueeze", [pos, trailing]), g.op("Shape", [seq])])
    y = g.op("GatherElements", [seq, index], axis=1)
    keep = g.op("GreaterOrEqual", [counts, one])
    if zero_masked:
        keep = g.op("And", [keep, mask])
    return g.op("Where", [g.op("Unsqueeze", [keep, trailing]), y, g.scalar(0.0)])


@register(recurrent.LSTM, recurrent.GRU, recurrent.SimpleRNN)
def rnn(g, layer, x, initial_state=None, mask=None, training=None):
    _check(layer)
    if initial_state is not None or mask is not None:
        raise unsupported(layer, "`initial_state` / `mask` call arguments (the mask of an Embedding(mask_zero) "
                                 "input is supported)")
    if x.shape[1] is None and layer.go_backwards and layer.return_sequences:
        raise unsupported(layer, "go_backwards with return_sequences over sequences of unknown length")
    u = layer.cell.units
    y, y_h, y_c, counts = _run(g, [layer], x, "reverse" if layer.go_backwards else "forward")
    n, t = x.shape[0], x.shape[1]
    h = g.op("Squeeze", [y_h, g.ints([0])])  # (N, U)
    if layer.return_sequences:
        seq = g.op("Transpose", [g.op("Squeeze", [y, g.ints([1])])], perm=[1, 0, 2])  # (N, T, U)
        if counts is not None:
            seq = _uncompact(g, seq, counts, g.keras(x.mask), layer.zero_output_for_mask, 1)
        if layer.go_backwards:  # Keras returns the outputs in the order it ran them
            if isinstance(x.mask, Value):
                raise unsupported(layer, "go_backwards with return_sequences on a masked input")
            seq = g.op("Slice", [seq, g.ints([-1]), g.ints([-(2 ** 62)]), g.ints([1]), g.ints([-1])])
        out = g.value(seq, (n, t, u))
        out.mask = x.mask if isinstance(x.mask, Value) else None
    else:
        out = g.value(h, (n, u))
        out.mask = None
    if not layer.return_state:
        return out
    states = [g.value(h, (n, u), mask=None)]
    if y_c is not None:
        states.append(g.value(g.op("Squeeze", [y_c, g.ints([0])]), (n, u), mask=None))
    return [out, *states]


@register(Bidirectional)
def bidirectional(g, layer, x, initial_state=None, mask=None, training=None):
    fwd, bwd = layer.forward_layer, layer.backward_layer
    for sub in (fwd, bwd):
        _check(sub)
    if type(fwd) is not type(bwd) or fwd.cell.units != bwd.cell.units or fwd.go_backwards or not bwd.go_backwards:
        raise unsupported(layer, "a backward layer that differs from the forward one in kind or units")
    if initial_state is not None or mask is not None or layer.return_state:
        raise unsupported(layer, "initial_state, an explicit mask argument, or return_state")
    if layer.merge_mode is None:
        raise unsupported(layer, "merge_mode=None (two outputs)")
    u = fwd.cell.units
    y, y_h, _, counts = _run(g, [fwd, bwd], x, "bidirectional")
    n, t = x.shape[0], x.shape[1]
    if fwd.return_sequences:
        both = g.op("Transpose", [y], perm=[2, 0, 1, 3])  # (N, T, 2, U), both in time order
        if counts is not None:  # both directions output zeros at masked steps (zero_output_for_mask)
            both = _uncompact(g, both, counts, g.keras(x.mask), True, 2)
        axis, keep = 2, [0, 0]
    else:
        both = g.op("Transpose", [y_h], perm=[1, 0, 2])  # (N, 2, U)
        axis, keep = 1, [0]
    mode = layer.merge_mode
    if mode == "concat":
        merged, width = g.op("Reshape", [both, g.ints([*keep, 2 * u])]), 2 * u
    elif mode in ("sum", "ave"):
        merged = g.op("ReduceSum" if mode == "sum" else "ReduceMean", [both, g.ints([axis])], keepdims=0)
        width = u
    else:  # mul
        a, b = g.op("Split", [both, g.ints([1, 1])], outputs=2, axis=axis)
        merged, width = g.op("Squeeze", [g.op("Mul", [a, b]), g.ints([axis])]), u
    out = g.value(merged, (n, t, width) if fwd.return_sequences else (n, width))
    out.mask = x.mask if fwd.return_sequences and isinstance(x.mask, Value) else None
    return out

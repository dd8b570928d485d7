"""Recurrent dropout values against a plain-NumPy reference loop with the masks the layer drew.

Keras's rule (keras/src/layers/rnn/dropout_rnn_cell.py, lstm.py, gru.py, simple_rnn.py): a training call draws
the input mask and the recurrent mask once, on its first step, and uses them at every step of that call; the
input mask multiplies x_t, the recurrent mask multiplies h_{t−1} where it enters the recurrent kernel (never the
carry c_{t−1} of an LSTM, nor the h_{t−1} of a GRU's update z ⊙ h_{t−1}); with recurrent dropout the cell runs
implementation 1, where LSTM draws one mask per gate (i, f, c, o) and GRU one per gate (z, r, h); SimpleRNN
draws one. Masks are m/(1 − rate) with m ~ Bernoulli(1 − rate).

The masks are read through the cells' public ``get_dropout_mask`` / ``get_recurrent_dropout_mask`` (wrapped
to record what they return), then the whole sequence is recomputed in NumPy, float64.
"""
from __future__ import annotations

import numpy
import pytest

from neuronka import layers

RATE_X, RATE_H = 0.3, 0.4
N, T, F, U = 3, 5, 4, 6


def sigmoid(a):
    return 1.0 / (1.0 + numpy.exp(-a))


def record_masks(cell) -> dict[str, list]:
    """Wrap the cell's mask getters: every value they return during the call, per kind."""
    seen = {"input": [], "recurrent": []}
    get_x, get_h = cell.get_dropout_mask, cell.get_recurrent_dropout_mask

    def wrapped_x(step_input):
        mask = get_x(step_input)
        seen["input"].append(mask)
        return mask

    def wrapped_h(step_state):
        mask = get_h(step_state)
        seen["recurrent"].append(mask)
        return mask

    cell.get_dropout_mask, cell.get_recurrent_dropout_mask = wrapped_x, wrapped_h
    return seen


def as_list(masks, gates: int) -> list[numpy.ndarray]:
    masks = masks if isinstance(masks, (list, tuple)) else [masks]
    assert len(masks) == gates, f"{len(masks)} masks, expected one per gate ({gates})"
    return [numpy.asarray(m, dtype=numpy.float64) for m in masks]


def the_one_mask_of_the_call(calls: list, gates: int, shape, rate: float) -> list[numpy.ndarray]:
    """The masks one call used: the same at every step, scaled keep-masks m/(1 − rate) of the step's shape."""
    assert len(calls) == T, f"the mask was asked for {len(calls)} times in a {T}-step call"
    first = as_list(calls[0], gates)
    for step, later in enumerate(calls[1:], start=1):
        for a, b in zip(first, as_list(later, gates)):
            numpy.testing.assert_array_equal(b, a, err_msg=f"step {step} used another mask than step 0")
    for m in first:
        assert m.shape == shape, f"mask of shape {m.shape}, expected {shape}"
        assert set(numpy.unique(m)) <= {0.0, 1.0 / (1.0 - rate)}, f"not a scaled keep-mask: {numpy.unique(m)}"
        assert 0 < (m == 0).sum() < m.size, "a mask with nothing (or everything) dropped checks little"
    if gates > 1:
        assert not all(numpy.array_equal(first[0], m) for m in first[1:]), "the gates share one mask"
    return first


def reference_lstm(x, kernel, recurrent, bias, dx, dh):
    """i, f, c̃, o = σ/σ/tanh/σ((x_t ⊙ dx_g) K_g + (h_{t−1} ⊙ dh_g) R_g + b_g);
    c_t = f c_{t−1} + i c̃; h_t = o tanh(c_t)."""
    h, c, outs = numpy.zeros((N, U)), numpy.zeros((N, U)), []
    block = lambda w, g: w[..., g * U:(g + 1) * U]  # noqa: E731
    for t in range(T):
        z = [(x[:, t] * dx[g]) @ block(kernel, g) + (h * dh[g]) @ block(recurrent, g) + block(bias, g)
             for g in range(4)]
        i, f, o = sigmoid(z[0]), sigmoid(z[1]), sigmoid(z[3])
        c = f * c + i * numpy.tanh(z[2])
        h = o * numpy.tanh(c)
        outs.append(h)
    return numpy.stack(outs, axis=1)


def reference_gru(x, kernel, recurrent, bias, dx, dh, reset_after: bool):
    """z, r = σ((x_t ⊙ dx_g) W_g + b_g + (h_{t−1} ⊙ dh_g) U_g [+ b'_g]);
    h̃ = tanh((x_t ⊙ dx_h) W_h + b_h + r ⊙ ((h_{t−1} ⊙ dh_h) U_h + b'_h)) (reset_after)
    or tanh(… + (r ⊙ h_{t−1} ⊙ dh_h) U_h); h_t = z h_{t−1} + (1 − z) h̃."""
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, numpy.zeros_like(bias))
    h, outs = numpy.zeros((N, U)), []
    block = lambda w, g: w[..., g * U:(g + 1) * U]  # noqa: E731
    for t in range(T):
        xz, xr, xh = ((x[:, t] * dx[g]) @ block(kernel, g) + block(b_in, g) for g in range(3))
        z = sigmoid(xz + (h * dh[0]) @ block(recurrent, 0) + block(b_rec, 0))
        r = sigmoid(xr + (h * dh[1]) @ block(recurrent, 1) + block(b_rec, 1))
        if reset_after:
            hh = numpy.tanh(xh + r * ((h * dh[2]) @ block(recurrent, 2) + block(b_rec, 2)))
        else:
            hh = numpy.tanh(xh + (r * (h * dh[2])) @ block(recurrent, 2))
        h = z * h + (1.0 - z) * hh
        outs.append(h)
    return numpy.stack(outs, axis=1)


def reference_simple_rnn(x, kernel, recurrent, bias, dx, dh):
    """h_t = tanh((x_t ⊙ dx) K + b + (h_{t−1} ⊙ dh) R)."""
    h, outs = numpy.zeros((N, U)), []
    for t in range(T):
        h = numpy.tanh((x[:, t] * dx[0]) @ kernel + bias + (h * dh[0]) @ recurrent)
        outs.append(h)
    return numpy.stack(outs, axis=1)


CASES = {
    "lstm": (lambda **kw: layers.LSTM(U, unit_forget_bias=False, **kw), 4,
             lambda x, k, r, b, dx, dh: reference_lstm(x, k, r, b, dx, dh)),
    "gru_reset_after": (lambda **kw: layers.GRU(U, reset_after=True, **kw), 3,
                        lambda x, k, r, b, dx, dh: reference_gru(x, k, r, b, dx, dh, reset_after=True)),
    "gru_reset_before": (lambda **kw: layers.GRU(U, reset_after=False, **kw), 3,
                         lambda x, k, r, b, dx, dh: reference_gru(x, k, r, b, dx, dh, reset_after=False)),
    "simple_rnn": (lambda **kw: layers.SimpleRNN(U, **kw), 1, reference_simple_rnn),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_recurrent_dropout_outputs_equal_a_numpy_loop_with_the_masks_drawn_once_per_call(kind):
    make, gates, reference = CASES[kind]
    rng = numpy.random.default_rng(5)
    x = rng.standard_normal((N, T, F))
    layer = make(dropout=RATE_X, recurrent_dropout=RATE_H, seed=7, return_sequences=True, dtype="float64",
                 bias_initializer="random_normal")
    layer(x)  # build
    cell = layer.cell
    if gates > 1:
        assert cell.implementation == 1, "recurrent dropout runs implementation 1 (one mask per gate), as in Keras"
    kernel, recurrent, bias = (numpy.asarray(w.numpy(), dtype=numpy.float64)
                               for w in (cell.kernel, cell.recurrent_kernel, cell.bias))

    drawn = []
    for call in range(2):  # two training calls: each draws its own masks
        seen = record_masks(cell)
        y = layer(x, training=True).numpy()
        del cell.get_dropout_mask, cell.get_recurrent_dropout_mask  # back to the class's methods
        dx = the_one_mask_of_the_call(seen["input"], gates, (N, F), RATE_X)
        dh = the_one_mask_of_the_call(seen["recurrent"], gates, (N, U), RATE_H)
        assert y.dtype == numpy.float64
        numpy.testing.assert_allclose(y, reference(x, kernel, recurrent, bias, dx, dh), rtol=1e-12, atol=1e-12,
                                      err_msg=f"{kind}, training call {call}")
        drawn.append(dx + dh)
    assert not all(numpy.array_equal(a, b) for a, b in zip(*drawn)), "the second call reused the first's masks"

    # inference: no mask is asked for, the outputs are the loop's without dropout
    seen = record_masks(cell)
    y = layer(x, training=False).numpy()
    del cell.get_dropout_mask, cell.get_recurrent_dropout_mask
    ones_x, ones_h = [numpy.ones((N, F))] * gates, [numpy.ones((N, U))] * gates
    numpy.testing.assert_allclose(y, reference(x, kernel, recurrent, bias, ones_x, ones_h), rtol=1e-12, atol=1e-12)
    assert all(m is None for m in seen["input"] + seen["recurrent"]), "inference drew dropout masks"

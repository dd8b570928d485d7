"""Recurrent layers: one table through the layer harness (shapes, config, parameter counts, gradients, and
forward + input/weight gradients against torch.nn.LSTM / GRU / RNN with the weights copied and the gate
blocks permuted), then masking, initial states, statefulness, dropout, the step-loop path and the errors."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers
from neuronka.layers.embedding import Embedding

from .helpers import LazyModule, torch_module
from .layer_harness import LayerCase, copy_into, layer_cases

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)


# ---- torch equivalents ------------------------------------------------------------------
def _gru_perm(u):
    """Keras GRU blocks (z, r, h) ↔ torch (r, z, n): swap the first two blocks (its own inverse)."""
    return numpy.r_[u:2 * u, 0:u, 2 * u:3 * u]


def _torch_cell_module(layer, bidirectional=False):
    """torch.nn.LSTM / GRU / RNN (batch_first) with the Keras layer's weights (forward then backward copy)."""
    subs = [layer.forward_layer, layer.backward_layer] if bidirectional else [layer]
    cell = subs[0].cell
    f, u = cell.kernel.shape[0], cell.units
    kind = type(subs[0]).__name__
    if kind == "LSTM":
        mod = torch.nn.LSTM(f, u, batch_first=True, bidirectional=bidirectional)
    elif kind == "GRU":
        mod = torch.nn.GRU(f, u, batch_first=True, bidirectional=bidirectional)
    else:
        nonlinearity = nk.activations.serialize(cell.activation)
        mod = torch.nn.RNN(f, u, batch_first=True, bidirectional=bidirectional, nonlinearity=nonlinearity)
    for sub, suffix in zip(subs, ["_l0", "_l0_reverse"]):
        c = sub.cell
        perm = _gru_perm(u) if kind == "GRU" else numpy.arange(c.kernel.shape[1])
        copy_into(getattr(mod, "weight_ih" + suffix), c.kernel.numpy()[:, perm].T)
        copy_into(getattr(mod, "weight_hh" + suffix), c.recurrent_kernel.numpy()[:, perm].T)
        if kind == "GRU":
            copy_into(getattr(mod, "bias_ih" + suffix), c.bias.numpy()[0][perm])
            copy_into(getattr(mod, "bias_hh" + suffix), c.bias.numpy()[1][perm])
        else:
            copy_into(getattr(mod, "bias_ih" + suffix), c.bias.numpy())
            copy_into(getattr(mod, "bias_hh" + suffix), numpy.zeros_like(c.bias.numpy()))
    return mod


@torch_module
class TorchRNN:
    """A Keras recurrent layer's outputs from a torch recurrent module: the last output or the sequence (in
    processing order when going backwards), then the final states."""

    def __init__(self, layer):
        super().__init__()
        self.rnn = _torch_cell_module(layer)
        self.layer = layer

    def forward(self, x):
        layer = self.layer
        if layer.go_backwards:
            x = x.flip(1)
        seq, state = self.rnn(x)
        y = seq if layer.return_sequences else seq[:, -1]
        if not layer.return_state:
            return y
        states = state if isinstance(state, tuple) else (state,)
        return [y, *[s[0] for s in states]]


@torch_module
class TorchBidirectional:
    """torch's bidirectional module merged as Keras's Bidirectional (the backward output back in time order)."""

    def __init__(self, layer):
        super().__init__()
        self.rnn = _torch_cell_module(layer, bidirectional=True)
        self.layer = layer

    def forward(self, x):
        seq, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        u = h.shape[-1]
        if self.layer.return_sequences:
            fwd, bwd = seq[..., :u], seq[..., u:]
        else:
            fwd, bwd = h[0], h[1]
        mode = self.layer.merge_mode
        if mode == "concat":
            return torch.cat([fwd, bwd], dim=-1)
        if mode == "sum":
            return fwd + bwd
        if mode == "mul":
            return fwd * bwd
        if mode == "ave":
            return (fwd + bwd) / 2
        return [fwd, bwd]


def torch_rnn(layer):
    return TorchRNN(layer), None, None


def torch_bidirectional(layer):
    return TorchBidirectional(layer), None, None


def _grads_for(layer, mod, suffix):
    cell = layer.cell
    u = cell.units
    kind = type(layer).__name__
    perm = _gru_perm(u) if kind == "GRU" else numpy.arange(cell.kernel.shape[1])
    w_ih, w_hh = getattr(mod, "weight_ih" + suffix), getattr(mod, "weight_hh" + suffix)
    b_ih, b_hh = getattr(mod, "bias_ih" + suffix), getattr(mod, "bias_hh" + suffix)
    pairs = [(cell.kernel, lambda: w_ih.grad.numpy().T[:, perm]),
             (cell.recurrent_kernel, lambda: w_hh.grad.numpy().T[:, perm])]
    if kind == "GRU":
        pairs.append((cell.bias, lambda: numpy.stack([b_ih.grad.numpy()[perm], b_hh.grad.numpy()[perm]])))
    else:
        pairs.append((cell.bias, lambda: b_ih.grad.numpy()))
    return pairs


def rnn_weight_map(layer, module):
    return _grads_for(layer, module.rnn, "_l0")


def bidirectional_weight_map(layer, module):
    return (_grads_for(layer.forward_layer, module.rnn, "_l0")
            + _grads_for(layer.backward_layer, module.rnn, "_l0_reverse"))


TORCH = {"torch_equivalent": torch_rnn, "weight_map": rnn_weight_map, "torch_training_modes": (False, True)}
BI = {"torch_equivalent": torch_bidirectional, "weight_map": bidirectional_weight_map}
S = (3, 5, 4)  # (batch, timesteps, features)

CASES = [
    # parameter counts of the brief: 4U(F + U + 1), 3U(F + U) + 6U, U(F + U + 1) for U = 64, F = 32
    LayerCase("lstm_64_on_32_features", layers.LSTM, {"units": 64}, (2, 4, 32), expected_output_shape=(2, 64),
              expected_num_trainable_weights=3, expected_num_non_trainable_weights=0, expected_num_params=24832,
              rtol=2e-4, atol=2e-5, **TORCH),
    LayerCase("gru_64_on_32_features", layers.GRU, {"units": 64}, (2, 4, 32), expected_output_shape=(2, 64),
              expected_num_trainable_weights=3, expected_num_params=18816, rtol=2e-4, atol=2e-5, **TORCH),
    LayerCase("simple_rnn_64_on_32_features", layers.SimpleRNN, {"units": 64}, (2, 4, 32),
              expected_output_shape=(2, 64), expected_num_trainable_weights=3, expected_num_params=6208,
              rtol=2e-4, atol=2e-5, **TORCH),
    # LSTM
    LayerCase("lstm_last_output", layers.LSTM, {"units": 3}, (2, 3, 2), expected_output_shape=(2, 3),
              gradcheck=True, **TORCH),
    LayerCase("lstm_sequences_and_states", layers.LSTM, {"units": 6, "return_sequences": True, "return_state": True},
              S, expected_output_shape=[(3, 5, 6), (3, 6), (3, 6)], **TORCH),
    LayerCase("lstm_go_backwards", layers.LSTM, {"units": 6, "return_sequences": True, "go_backwards": True}, S,
              **TORCH),
    LayerCase("lstm_no_unit_forget_bias", layers.LSTM, {"units": 4, "unit_forget_bias": False}, S, **TORCH),
    LayerCase("lstm_input_dropout", layers.LSTM, {"units": 4, "dropout": 0.5, "seed": 1}, S,
              training_modes=(False, True), training_changes_output=True),
    LayerCase("lstm_recurrent_dropout_step_loop", layers.LSTM,
              {"units": 4, "dropout": 0.2, "recurrent_dropout": 0.3, "seed": 2}, S, training_modes=(False, True),
              training_changes_output=True),
    # GRU
    LayerCase("gru_last_output", layers.GRU, {"units": 3}, (2, 3, 2), gradcheck=True, **TORCH),
    LayerCase("gru_sequences_and_state", layers.GRU, {"units": 6, "return_sequences": True, "return_state": True}, S,
              expected_output_shape=[(3, 5, 6), (3, 6)], **TORCH),
    LayerCase("gru_go_backwards", layers.GRU, {"units": 5, "go_backwards": True}, S, **TORCH),
    LayerCase("gru_reset_before", layers.GRU, {"units": 3, "reset_after": False}, (2, 3, 2),
              expected_num_params=3 * 3 * (2 + 3) + 9, gradcheck=True),
    LayerCase("gru_hard_sigmoid_relu", layers.GRU,
              {"units": 3, "activation": "relu", "recurrent_activation": "hard_sigmoid"}, (2, 3, 2), gradcheck=True),
    # SimpleRNN
    LayerCase("simple_rnn_tanh", layers.SimpleRNN, {"units": 3}, (2, 3, 2), gradcheck=True, **TORCH),
    LayerCase("simple_rnn_relu_sequences", layers.SimpleRNN,
              {"units": 5, "activation": "relu", "return_sequences": True}, S, **TORCH),
    LayerCase("simple_rnn_elu_step_loop", layers.SimpleRNN, {"units": 3, "activation": "elu"}, (2, 3, 2),
              gradcheck=True),
    # Bidirectional
    LayerCase("bidirectional_lstm_concat_sequences", layers.Bidirectional,
              {"layer": layers.LSTM(4, return_sequences=True)}, S, expected_output_shape=(3, 5, 8),
              expected_num_trainable_weights=6, expected_num_params=2 * 4 * 4 * (4 + 4 + 1), **BI),
    LayerCase("bidirectional_lstm_concat_last", layers.Bidirectional, {"layer": layers.LSTM(4)}, S,
              expected_output_shape=(3, 8), **BI),
    LayerCase("bidirectional_gru_sum", layers.Bidirectional,
              {"layer": layers.GRU(3, return_sequences=True), "merge_mode": "sum"}, S, expected_output_shape=(3, 5, 3),
              **BI),
    LayerCase("bidirectional_rnn_mul", layers.Bidirectional, {"layer": layers.SimpleRNN(3), "merge_mode": "mul"}, S,
              **BI),
    LayerCase("bidirectional_lstm_ave", layers.Bidirectional,
              {"layer": layers.LSTM(3, return_sequences=True), "merge_mode": "ave"}, S, **BI),
    LayerCase("bidirectional_lstm_no_merge", layers.Bidirectional,
              {"layer": layers.LSTM(3, return_sequences=True), "merge_mode": None}, S,
              expected_output_shape=[(3, 5, 3), (3, 5, 3)], **BI),
    LayerCase("bidirectional_lstm_states", layers.Bidirectional,
              {"layer": layers.LSTM(3, return_state=True)}, S,
              expected_output_shape=[(3, 6), (3, 3), (3, 3), (3, 3), (3, 3)]),
    LayerCase("bidirectional_small_gradcheck", layers.Bidirectional,
              {"layer": layers.GRU(2, return_sequences=True)}, (2, 3, 2), gradcheck=True),
    # the generic RNN over a cell (the step loop)
    LayerCase("rnn_lstm_cell", layers.RNN, {"cell": layers.LSTMCell(3), "return_sequences": True}, (2, 3, 2),
              expected_num_params=4 * 3 * (2 + 3 + 1)),  # no float64 check: the cell instance keeps its dtype
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- helpers ------------------------------------------------------------------------------------------
def _copy_weights(dst, src):
    dst.set_weights(src.get_weights())


def _run(layer, x, **kwargs):
    return layer(nk.Tensor(x), **kwargs)


# ---- the step loop agrees with the fused ops ------------------------------------------------------------
@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_step_loop_equals_fused_op_forward_and_gradients_with_masks(cls, go_backwards, monkeypatch):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((3, 6, 4)).astype(numpy.float32)
    mask = numpy.ones((3, 6), dtype=bool)
    mask[0, 4:] = False  # right padding
    mask[1, :2] = False  # left padding
    mask[2, 3] = False   # a hole
    results = []
    for fused in (True, False):
        layer = cls(5, return_sequences=True, return_state=True, go_backwards=go_backwards, name=f"l{fused}")
        layer(nk.Tensor(x))
        if results:
            _copy_weights(layer, results[0][0])
        else:
            for w in layer.weights:
                w.assign(w.numpy() + 0.1 * rng.standard_normal(w.shape).astype(numpy.float32))
        if not fused:
            monkeypatch.setattr(layer, "_fused_ok", lambda training: False)
        t = nk.Tensor(x, requires_grad=True)
        outs = layer(t, mask=mask)
        total = sum(nk.ops.sum(o * numpy.linspace(-1, 1, o.size, dtype=numpy.float32).reshape(o.shape))
                    for o in outs)
        total.backward()
        results.append((layer, [o.numpy() for o in outs], t.grad, [w.grad for w in layer.weights]))
    (_, o1, g1, w1), (_, o2, g2, w2) = results
    for a, b in zip(o1, o2):
        numpy.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(g2, g1, rtol=1e-4, atol=1e-6)
    for a, b in zip(w1, w2):
        numpy.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_generic_rnn_over_lstm_cell_equals_lstm_layer():
    x = numpy.random.default_rng(1).standard_normal((2, 4, 3)).astype(numpy.float32)
    lstm = layers.LSTM(5, return_sequences=True)
    rnn = layers.RNN(layers.LSTMCell(5), return_sequences=True)
    lstm(nk.Tensor(x))
    rnn(nk.Tensor(x))
    _copy_weights(rnn, lstm)
    numpy.testing.assert_allclose(_run(rnn, x).numpy(), _run(lstm, x).numpy(), rtol=1e-5, atol=1e-6)


def test_generic_rnn_runs_a_user_defined_keras_style_cell():
    class MinimalRNNCell(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev = states[0]
            out = nk.ops.matmul(inputs, self.kernel) + nk.ops.matmul(prev, self.recurrent_kernel)
            return out, [out]

    x = numpy.random.default_rng(2).standard_normal((2, 4, 3)).astype(numpy.float32)
    layer = layers.RNN(MinimalRNNCell(5), return_sequences=True)
    y = _run(layer, x).numpy()
    w, r = layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()
    h = numpy.zeros((2, 5), dtype=numpy.float32)
    for t in range(4):
        h = x[:, t] @ w + h @ r
        numpy.testing.assert_allclose(y[:, t], h, rtol=1e-5, atol=1e-6)


# ---- masking ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_padded_batch_from_embedding_mask_equals_unpadded_sequences_one_at_a_time(cls):
    rng = numpy.random.default_rng(3)
    lengths = [5, 2, 4]
    seqs = [rng.integers(1, 20, size=n) for n in lengths]
    padded = numpy.zeros((3, 5), dtype=numpy.int64)
    for i, s in enumerate(seqs):
        padded[i, :len(s)] = s
    emb = Embedding(20, 4, mask_zero=True)
    rnn = cls(6)
    seq_rnn = cls(6, return_sequences=True, name=f"{cls.__name__.lower()}_seq")
    e = emb(padded)
    assert e._keras_mask is not None and e._keras_mask.shape == (3, 5)
    batch_last = rnn(e).numpy()
    seq_rnn(emb(padded))
    batch_seq = seq_rnn(emb(padded))
    numpy.testing.assert_array_equal(batch_seq._keras_mask, padded != 0)  # the mask propagates with sequences
    for i, s in enumerate(seqs):
        one = emb(s[None])
        assert bool(numpy.all(one._keras_mask))
        numpy.testing.assert_allclose(batch_last[i], rnn(one).numpy()[0], rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(batch_seq.numpy()[i, :len(s)], seq_rnn(one).numpy()[0], rtol=1e-5, atol=1e-6)
        # masked steps repeat the last valid output (Keras: zero_output_for_mask=False)
        numpy.testing.assert_allclose(batch_seq.numpy()[i, len(s):], numpy.broadcast_to(
            batch_seq.numpy()[i, len(s) - 1], (5 - len(s), 6)), rtol=1e-6)


def test_bidirectional_on_padded_batch_equals_unpadded_sequences_and_zeroes_padding():
    rng = numpy.random.default_rng(4)
    lengths = [4, 2]
    padded = numpy.zeros((2, 4), dtype=numpy.int64)
    for i, n in enumerate(lengths):
        padded[i, :n] = rng.integers(1, 10, size=n)
    emb = Embedding(10, 3, mask_zero=True)
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True))
    bi_last = layers.Bidirectional(layers.GRU(4))
    y = bi(emb(padded))
    last = bi_last(emb(padded)).numpy()
    numpy.testing.assert_array_equal(y._keras_mask, padded != 0)
    for i, n in enumerate(lengths):
        one = emb(padded[i:i + 1, :n])
        numpy.testing.assert_allclose(y.numpy()[i, :n], bi(one).numpy()[0], rtol=1e-5, atol=1e-6)
        numpy.testing.assert_array_equal(y.numpy()[i, n:], 0.0)
        numpy.testing.assert_allclose(last[i], bi_last(one).numpy()[0], rtol=1e-5, atol=1e-6)


def test_mask_propagates_through_a_sequential_model():
    model = nk.models.Sequential([Embedding(12, 4, mask_zero=True), layers.LSTM(3), layers.Dense(2)])
    padded = numpy.array([[3, 5, 7, 0, 0], [1, 2, 3, 4, 5]])
    out = model(padded).numpy()
    short = model(padded[:1, :3]).numpy()
    numpy.testing.assert_allclose(out[0], short[0], rtol=1e-5, atol=1e-6)


# ---- initial states, return_state, stateful -------------------------------------------------------------
def test_lstm_initial_state_and_final_states_match_torch_with_gradients_to_the_states():
    rng = numpy.random.default_rng(6)
    x = rng.standard_normal((3, 4, 2)).astype(numpy.float32)
    h0 = rng.standard_normal((3, 5)).astype(numpy.float32)
    c0 = rng.standard_normal((3, 5)).astype(numpy.float32)
    layer = layers.LSTM(5, return_sequences=True, return_state=True)
    layer(nk.Tensor(x))
    mod = _torch_cell_module(layer)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    seq, (hn, cn) = mod(tx, (th[None], tc[None]))
    nx, nh, nc = (nk.Tensor(a, requires_grad=True) for a in (x, h0, c0))
    out, h, c = layer(nx, initial_state=[nh, nc])
    for a, b in ((out, seq), (h, hn[0]), (c, cn[0])):
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    (nk.ops.sum(out) + nk.ops.sum(h * 2.0) + nk.ops.sum(c * 3.0)).backward()
    (seq.sum() + (hn[0] * 2).sum() + (cn[0] * 3).sum()).backward()
    for a, b in ((nx, tx), (nh, th), (nc, tc)):
        numpy.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_gru_initial_state_as_numpy_array_and_state_output_is_last_output():
    x = numpy.random.default_rng(7).standard_normal((2, 3, 4)).astype(numpy.float32)
    layer = layers.GRU(3, return_state=True)
    out, h = layer(x, initial_state=[numpy.ones((2, 3), numpy.float32)])
    numpy.testing.assert_array_equal(out.numpy(), h.numpy())
    out0, _ = layer(x)
    assert not numpy.allclose(out.numpy(), out0.numpy())


def test_stateful_lstm_continues_from_its_last_states_and_reset_state_zeroes_them():
    x = numpy.random.default_rng(8).standard_normal((2, 6, 3)).astype(numpy.float32)
    full = layers.LSTM(4)
    stateful = layers.LSTM(4, stateful=True)
    full(x)
    stateful(x[:, :3])
    _copy_weights(stateful, full)
    stateful.reset_state()
    stateful(x[:, :3])
    numpy.testing.assert_allclose(stateful(x[:, 3:]).numpy(), full(x).numpy(), rtol=1e-5, atol=1e-6)
    stateful.reset_state()
    numpy.testing.assert_allclose(stateful(x[:, :3]).numpy(), full(x[:, :3]).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="batch"):
        stateful(x[:1])


def test_symbolic_initial_state_in_a_functional_encoder_decoder():
    enc_in, dec_in = layers.Input(shape=(5, 3)), layers.Input(shape=(4, 2))
    _, h, c = layers.LSTM(6, return_state=True)(enc_in)
    dec = layers.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    assert dec.shape == (None, 4, 6)
    model = nk.models.Model([enc_in, dec_in], dec)
    rng = numpy.random.default_rng(9)
    y = model([rng.standard_normal((2, 5, 3)).astype(numpy.float32),
               rng.standard_normal((2, 4, 2)).astype(numpy.float32)])
    assert y.shape == (2, 4, 6)


# ---- dropout ------------------------------------------------------------------------------------------
def test_input_dropout_is_one_mask_per_sequence_shared_by_all_time_steps():
    x = numpy.random.default_rng(10).standard_normal((4, 5, 6)).astype(numpy.float32)
    layer = layers.LSTM(3, dropout=0.5, seed=11, return_sequences=True)
    plain = layers.LSTM(3, return_sequences=True)
    layer(x)
    plain(x)
    _copy_weights(plain, layer)
    y = layer(x, training=True).numpy()
    mask = nk.ops.random.dropout_mask((4, 1, 6), 0.5, rng=numpy.random.default_rng(11))
    numpy.testing.assert_allclose(y, plain(x * mask).numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_array_equal(layer(x).numpy(), plain(x).numpy())  # inference: no dropout


def test_recurrent_dropout_changes_training_outputs_only_and_gradients_flow():
    x = nk.Tensor(numpy.random.default_rng(12).standard_normal((3, 4, 2)).astype(numpy.float32), requires_grad=True)
    for cls in (layers.LSTM, layers.GRU, layers.SimpleRNN):
        layer = cls(4, recurrent_dropout=0.5, seed=0)
        a, b = layer(x).numpy(), layer(x).numpy()
        numpy.testing.assert_array_equal(a, b)
        y = layer(x, training=True)
        assert not numpy.allclose(y.numpy(), a)
        nk.ops.sum(y).backward()
        assert len(layer.trainable_weights) == 3, f"{cls.__name__}: kernel, recurrent kernel and bias expected"
        assert all(w.grad is not None for w in layer.trainable_weights)


# ---- configuration and errors --------------------------------------------------------------------------
def test_config_has_keras_arguments_and_weights_have_keras_names():
    layer = layers.GRU(4, name="gru_x")
    layer(numpy.zeros((1, 2, 3), numpy.float32))
    config = layer.get_config()
    for key in ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "reset_after",
                "dropout", "recurrent_dropout", "seed", "return_sequences", "return_state", "go_backwards", "stateful",
                "unroll"):
        assert key in config
    assert [w.path for w in layer.weights] == ["gru_x/gru_cell/kernel", "gru_x/gru_cell/recurrent_kernel",
                                               "gru_x/gru_cell/bias"]
    assert layer.cell.bias.shape == (2, 12)
    lstm = layers.LSTM(2)
    lstm.build((None, 3, 5))
    numpy.testing.assert_array_equal(lstm.cell.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])  # unit_forget_bias
    assert layer.units == 4 and layer.reset_after and lstm.unit_forget_bias


def test_frozen_recurrent_layer_has_no_trainable_weights():
    layer = layers.Bidirectional(layers.LSTM(2))
    layer(numpy.zeros((1, 3, 2), numpy.float32))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 6


@pytest.mark.parametrize("make, match", [
    (lambda: layers.LSTM(0), "units"),
    (lambda: layers.GRU(-2), "units"),
    (lambda: layers.LSTM(2, use_cudnn="yes"), "use_cudnn"),
    (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"), "merge mode"),
    (lambda: layers.Bidirectional(layers.Dense(2)), "go_backwards"),
    (lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2)), "go_backwards"),
    (lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=True,
                                                                          return_sequences=True)),
     "return_sequences"),
])
def test_bad_arguments_raise_errors_naming_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_raise_clear_errors():
    layer = layers.LSTM(3)
    with pytest.raises(ValueError, match="ndim=3"):
        layer(numpy.zeros((2, 4), numpy.float32))
    with pytest.raises(ValueError, match="initial_state"):
        layer(numpy.zeros((2, 4, 3), numpy.float32), initial_state=[numpy.zeros((2, 3), numpy.float32)])
    with pytest.raises(ValueError, match=r"initial_state\[1\] of shape \(2, 3\)"):
        layer(numpy.zeros((2, 4, 3), numpy.float32),
              initial_state=[numpy.zeros((2, 3), numpy.float32), numpy.zeros((2, 4), numpy.float32)])
    with pytest.raises(ValueError, match="mask"):
        layer(numpy.zeros((2, 4, 3), numpy.float32), mask=numpy.ones((2, 5), bool))
    with pytest.raises(ValueError, match="`call` method"):
        layers.RNN([layers.LSTMCell(2), object()])


# ---- Bidirectional specifics ----------------------------------------------------------------------------
def test_bidirectional_halves_are_the_forward_layer_and_the_reversed_backward_layer():
    x = numpy.random.default_rng(13).standard_normal((2, 4, 3)).astype(numpy.float32)
    bi = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode=None)
    y_f, y_b = bi(x)
    fwd, bwd = layers.GRU(3, return_sequences=True), layers.GRU(3, return_sequences=True, go_backwards=True)
    fwd(x)
    bwd(x)
    _copy_weights(fwd, bi.forward_layer)
    _copy_weights(bwd, bi.backward_layer)
    numpy.testing.assert_allclose(y_f.numpy(), fwd(x).numpy(), rtol=1e-6)
    numpy.testing.assert_allclose(y_b.numpy(), bwd(x).numpy()[:, ::-1], rtol=1e-6)
    assert bi.forward_layer.name.startswith("forward_") and bi.backward_layer.go_backwards


def test_bidirectional_initial_weights_initial_states_and_custom_backward_layer():
    rng = numpy.random.default_rng(14)
    x = rng.standard_normal((2, 4, 3)).astype(numpy.float32)
    src = layers.Bidirectional(layers.LSTM(2, return_state=True))
    out, *states = src(x)
    assert len(states) == 4 and out.shape == (2, 4)
    copy = layers.Bidirectional(layers.LSTM(2, return_state=True), weights=src.get_weights())
    numpy.testing.assert_allclose(copy(x)[0].numpy(), out.numpy(), rtol=1e-6)
    init = [rng.standard_normal((2, 2)).astype(numpy.float32) for _ in range(4)]
    y = src(x, initial_state=init)[0].numpy()
    f = src.forward_layer(x, initial_state=init[:2])[0].numpy()
    b = src.backward_layer(x, initial_state=init[2:])[0].numpy()
    numpy.testing.assert_allclose(y, numpy.concatenate([f, b], axis=-1), rtol=1e-6)
    custom = layers.Bidirectional(layers.LSTM(3), backward_layer=layers.GRU(2, go_backwards=True))
    assert custom(x).shape == (2, 5)
    assert custom.compute_output_shape((None, 4, 3)) == (None, 5)
    rebuilt = layers.Bidirectional.from_config(custom.get_config())
    assert isinstance(rebuilt.backward_layer, layers.GRU) and rebuilt(x).shape == (2, 5)


def test_unroll_needs_a_known_time_dimension_and_changes_nothing_else():
    """Keras refuses unroll=True on an undefined time axis; with a known one the outputs are the loop's."""
    with pytest.raises(ValueError, match="cannot unroll an RNN whose time dimension is undefined"):
        nk.layers.LSTM(3, unroll=True)(nk.Input((None, 2)))
    x = numpy.random.default_rng(0).standard_normal((2, 4, 2)).astype(numpy.float32)
    rolled, unrolled = nk.layers.LSTM(3, seed=1), nk.layers.LSTM(3, unroll=True, seed=1)
    rolled.build((None, 4, 2))
    unrolled.build((None, 4, 2))
    unrolled.set_weights(rolled.get_weights())
    numpy.testing.assert_array_equal(unrolled(x).data, rolled(x).data)
    assert nk.layers.LSTM(3, unroll=True)(nk.Input((4, 2))).shape == (None, 3)

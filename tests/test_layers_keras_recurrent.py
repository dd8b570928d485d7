"""Recurrent layers against real Keras: one row per argument set (see tests/layer_harness.py).

The weights are copied into Keras in Keras's order (``cell`` kernel, recurrent_kernel, bias; gate blocks
i, f, c, o for LSTM, z, r, h for GRU), so equal outputs and gradients also prove the gate layout."""
from __future__ import annotations

from neuronka import layers

from .layer_harness import LayerCase, layer_cases
from .test_layers_keras_core import time_mask

SEQ = (3, 5, 4)
RNN_TOL = {"keras_rtol": 1e-4, "keras_atol": 2e-5}


def lstm_cell(keras):
    return {"cell": keras.layers.LSTMCell(3)}


def gru_cell_sequences(keras):
    return {"cell": keras.layers.GRUCell(2, reset_after=False), "return_sequences": True}


def bidirectional(inner_kwargs, **wrapper):
    """(neuronka kwargs, Keras kwargs factory) for Bidirectional(<inner>(**inner_kwargs), **wrapper)."""
    kind, args = inner_kwargs

    def keras_kwargs(keras):
        return {"layer": getattr(keras.layers, kind)(**args), **wrapper}

    return (lambda: {"layer": getattr(layers, kind)(**args), **wrapper}), keras_kwargs


BI_CONCAT = bidirectional(("LSTM", {"units": 3, "return_sequences": True}))
BI_SUM_GRU = bidirectional(("GRU", {"units": 2}), merge_mode="sum")
BI_NONE_STATES = bidirectional(("LSTM", {"units": 2, "return_sequences": True, "return_state": True}),
                               merge_mode=None)
BI_AVE_SIMPLE = bidirectional(("SimpleRNN", {"units": 3, "return_sequences": True}), merge_mode="ave")
BI_MUL_STATES = bidirectional(("GRU", {"units": 2, "return_state": True}), merge_mode="mul")

CASES = [
    LayerCase("simple_rnn", layers.SimpleRNN, {"units": 3}, SEQ, keras=True, gradcheck=True, **RNN_TOL),
    LayerCase("simple_rnn_sequences_relu", layers.SimpleRNN,
              {"units": 4, "activation": "relu", "return_sequences": True, "use_bias": False}, SEQ, keras=True,
              **RNN_TOL),
    LayerCase("simple_rnn_backwards_states", layers.SimpleRNN,
              {"units": 2, "go_backwards": True, "return_state": True, "kernel_regularizer": "l2"}, SEQ, keras=True,
              **RNN_TOL),
    LayerCase("simple_rnn_masked", layers.SimpleRNN, {"units": 3, "return_sequences": True}, SEQ, keras=True,
              keras_mask_maker=time_mask, **RNN_TOL),
    LayerCase("lstm", layers.LSTM, {"units": 3}, SEQ, keras=True, gradcheck=True, **RNN_TOL),
    LayerCase("lstm_sequences_states", layers.LSTM,
              {"units": 4, "return_sequences": True, "return_state": True, "unit_forget_bias": False,
               "recurrent_activation": "hard_sigmoid"}, SEQ, keras=True, **RNN_TOL),
    LayerCase("lstm_backwards_regularized", layers.LSTM,
              {"units": 2, "go_backwards": True, "activity_regularizer": "l1", "recurrent_regularizer": "l2",
               "bias_initializer": "ones", "dropout": 0.1, "recurrent_dropout": 0.2, "seed": 3}, SEQ, keras=True,
              **RNN_TOL),
    LayerCase("lstm_masked", layers.LSTM, {"units": 3, "return_sequences": True}, SEQ, keras=True,
              keras_mask_maker=time_mask, **RNN_TOL),
    LayerCase("gru", layers.GRU, {"units": 3}, SEQ, keras=True, gradcheck=True, **RNN_TOL),
    LayerCase("gru_reset_before", layers.GRU, {"units": 3, "reset_after": False, "return_sequences": True}, SEQ,
              keras=True, gradcheck=True, **RNN_TOL),
    LayerCase("gru_states_backwards_no_bias", layers.GRU,
              {"units": 2, "return_state": True, "go_backwards": True, "use_bias": False}, SEQ, keras=True,
              **RNN_TOL),
    LayerCase("gru_masked_last", layers.GRU, {"units": 3}, SEQ, keras=True, keras_mask_maker=time_mask, **RNN_TOL),
    LayerCase("rnn_lstm_cell", layers.RNN, lambda: {"cell": layers.LSTMCell(3)}, SEQ, keras_kwargs=lstm_cell,
              **RNN_TOL),
    LayerCase("rnn_gru_cell_sequences", layers.RNN,
              lambda: {"cell": layers.GRUCell(2, reset_after=False), "return_sequences": True}, SEQ,
              keras_kwargs=gru_cell_sequences, **RNN_TOL),
    LayerCase("bidirectional_lstm_concat", layers.Bidirectional, BI_CONCAT[0], SEQ, keras_kwargs=BI_CONCAT[1],
              **RNN_TOL),
    LayerCase("bidirectional_gru_sum", layers.Bidirectional, BI_SUM_GRU[0], SEQ, keras_kwargs=BI_SUM_GRU[1],
              **RNN_TOL),
    LayerCase("bidirectional_lstm_none_states", layers.Bidirectional, BI_NONE_STATES[0], SEQ,
              keras_kwargs=BI_NONE_STATES[1], **RNN_TOL),
    LayerCase("bidirectional_simple_rnn_ave_masked", layers.Bidirectional, BI_AVE_SIMPLE[0], SEQ,
              keras_kwargs=BI_AVE_SIMPLE[1], keras_mask_maker=time_mask, **RNN_TOL),
    LayerCase("bidirectional_gru_mul_states", layers.Bidirectional, BI_MUL_STATES[0], SEQ,
              keras_kwargs=BI_MUL_STATES[1], **RNN_TOL),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()



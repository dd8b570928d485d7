"""ConvLSTM1D, ConvLSTM2D, ConvLSTM3D against real Keras (see tests/layer_harness.py).

The weights are copied into Keras in Keras's order (``cell`` kernel, recurrent_kernel, bias; gate blocks
i, f, c, o), so equal outputs and gradients also prove the gate layout and the convolution geometry (strides,
padding, dilation, data_format) of both the input and the recurrent convolutions."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .keras_oracle import clear_keras_session, keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .test_layers_keras_core import time_mask

TOL = {"keras_rtol": 1e-4, "keras_atol": 3e-5}



@pytest.fixture(autouse=True)
def _fresh_keras_names():
    yield
    clear_keras_session()


def leading_mask(rng, shapes):
    """(batch, time): sample 1 starts with two masked steps, the others keep their first step."""
    m = time_mask(rng, shapes)
    if m.shape[0] > 1:
        m[1, :2] = False
    return m


CASES = [
    # ---- ConvLSTM1D: (batch, time, width, channels) ------------------------------------------------------------------
    LayerCase("conv_lstm1d", layers.ConvLSTM1D, {"filters": 2, "kernel_size": 3}, (2, 3, 6, 2), keras=True, **TOL),
    LayerCase("conv_lstm1d_small_float64", layers.ConvLSTM1D, {"filters": 2, "kernel_size": 2, "padding": "same"},
              (1, 2, 3, 1), keras=True, gradcheck=True, **TOL),
    LayerCase("conv_lstm1d_same_sequences_states", layers.ConvLSTM1D,
              {"filters": 3, "kernel_size": 2, "padding": "same", "return_sequences": True, "return_state": True},
              (2, 4, 5, 1), keras=True, **TOL),
    LayerCase("conv_lstm1d_strided_backwards_channels_first", layers.ConvLSTM1D,
              {"filters": 2, "kernel_size": 3, "strides": 2, "go_backwards": True, "data_format": "channels_first",
               "return_sequences": True}, (2, 3, 2, 7), keras=True, **TOL),
    LayerCase("conv_lstm1d_dilated_masked", layers.ConvLSTM1D,
              {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "return_sequences": True}, (3, 4, 6, 2),
              keras=True, keras_mask_maker=leading_mask, **TOL),
    # ---- ConvLSTM2D: (batch, time, height, width, channels) --------------------------------------------------------
    LayerCase("conv_lstm2d", layers.ConvLSTM2D, {"filters": 2, "kernel_size": 2}, (1, 2, 3, 3, 1), keras=True,
              gradcheck=True, **TOL),
    LayerCase("conv_lstm2d_same_sequences", layers.ConvLSTM2D,
              {"filters": 3, "kernel_size": 3, "padding": "same", "return_sequences": True}, (2, 3, 5, 4, 2),
              keras=True, **TOL),
    LayerCase("conv_lstm2d_states_backwards_masked", layers.ConvLSTM2D,
              {"filters": 2, "kernel_size": (3, 2), "return_state": True, "go_backwards": True}, (3, 4, 5, 4, 1),
              keras=True, keras_mask_maker=leading_mask, **TOL),
    LayerCase("conv_lstm2d_channels_first_strided", layers.ConvLSTM2D,
              {"filters": 2, "kernel_size": 3, "strides": (2, 1), "padding": "same", "data_format": "channels_first",
               "return_sequences": True, "return_state": True}, (2, 3, 2, 5, 4), keras=True, **TOL),
    LayerCase("conv_lstm2d_options", layers.ConvLSTM2D,
              {"filters": 2, "kernel_size": 2, "activation": "relu", "recurrent_activation": "hard_sigmoid",
               "use_bias": False, "unit_forget_bias": False, "kernel_regularizer": "l2",
               "recurrent_regularizer": "l1", "activity_regularizer": "l2", "kernel_initializer": "he_normal",
               "recurrent_initializer": "glorot_uniform"}, (2, 3, 4, 4, 2), keras=True, **TOL),
    LayerCase("conv_lstm2d_bias_regularized_dilated", layers.ConvLSTM2D,
              {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1), "bias_regularizer": "l2",
               "bias_initializer": "ones", "kernel_constraint": "max_norm", "return_sequences": True},
              (2, 2, 5, 4, 1), keras=True, **TOL),
    LayerCase("conv_lstm2d_dropout_inference", layers.ConvLSTM2D,
              {"filters": 2, "kernel_size": 2, "dropout": 0.3, "recurrent_dropout": 0.2, "seed": 4},
              (2, 3, 4, 4, 1), keras=True, training_modes=(False, True), **TOL),
    # ---- ConvLSTM3D: (batch, time, depth, height, width, channels) -------------------------------------------------
    LayerCase("conv_lstm3d", layers.ConvLSTM3D, {"filters": 2, "kernel_size": 2}, (1, 2, 3, 3, 3, 1), keras=True,
              gradcheck=True, **TOL),
    LayerCase("conv_lstm3d_same_sequences_channels_first", layers.ConvLSTM3D,
              {"filters": 2, "kernel_size": 2, "padding": "same", "return_sequences": True,
               "data_format": "channels_first"}, (2, 2, 1, 3, 4, 3), keras=True, **TOL),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()


def _copy_into_keras(ours, theirs):
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    for w, kw in zip(ours.weights, theirs.weights):
        kw.assign(w.numpy())


@keras_api("layers.ConvLSTM2D", "layers.ConvLSTM1D")
@pytest.mark.parametrize("cls, shape", [("ConvLSTM1D", (2, 3, 5, 2)), ("ConvLSTM2D", (2, 2, 4, 3, 1))])
def test_stateful_conv_lstm_carries_its_states_between_calls_as_keras(cls, shape):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(5)
    kw = {"filters": 2, "kernel_size": 2, "padding": "same", "stateful": True, "return_sequences": True}
    ours, theirs = getattr(layers, cls)(**kw), getattr(keras.layers, cls)(**kw)
    xs = [rng.standard_normal(shape).astype(numpy.float32) for _ in range(3)]
    ours(xs[0])
    theirs(torch.from_numpy(xs[0]))
    ours.reset_state()
    theirs.reset_state()
    for w in ours.weights:
        w.assign(w.numpy() + 0.2 * rng.standard_normal(w.shape).astype(numpy.float32))
    _copy_into_keras(ours, theirs)
    for i, x in enumerate(xs):
        if i == 2:
            ours.reset_state()
            theirs.reset_state()
        numpy.testing.assert_allclose(ours(x).numpy(), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-4,
                                      atol=2e-5, err_msg=f"call {i}")
    assert [tuple(s.shape) for s in ours.states] == [tuple(s.shape) for s in theirs.states]


@keras_api("layers.ConvLSTM2D")
def test_conv_lstm_dropout_is_seeded_per_gate_and_off_at_inference():
    rng = numpy.random.default_rng(6)
    x = rng.standard_normal((4, 3, 5, 5, 2)).astype(numpy.float32)

    def make(seed):
        layer = layers.ConvLSTM2D(3, 3, padding="same", dropout=0.5, recurrent_dropout=0.4, seed=seed)
        layer(x)
        for w in layer.weights:
            w.assign(numpy.full(w.shape, 0.1, numpy.float32))
        return layer

    a, b, c = make(1), make(1), make(2)
    plain = layers.ConvLSTM2D(3, 3, padding="same")
    plain(x)
    plain.set_weights(a.get_weights())
    numpy.testing.assert_allclose(a(x, training=False).numpy(), plain(x).numpy(), rtol=1e-6)
    ya, yb, yc = a(x, training=True).numpy(), b(x, training=True).numpy(), c(x, training=True).numpy()
    numpy.testing.assert_array_equal(ya, yb)  # the same seed, the same masks
    assert not numpy.allclose(ya, yc) and not numpy.allclose(ya, plain(x).numpy())
    masks = a.cell._draw(nk.Tensor(numpy.ones((2000, 2), numpy.float32)), 0.5)
    assert len(masks) == 4 and not numpy.array_equal(masks[0], masks[1])  # one mask per gate (i, f, c, o)
    kept = numpy.mean([numpy.mean(m > 0) for m in masks])
    assert abs(kept - 0.5) < 0.03 and set(numpy.unique(masks[0])) == {0.0, 2.0}
    a(x, training=True).backward(numpy.ones((4, 5, 5, 3), numpy.float32))
    assert all(w.grad is not None for w in a.trainable_weights)


@keras_api("layers.ConvLSTM2D")
def test_conv_lstm_cell_step_equals_the_layer_on_one_step_and_errors_are_clear():
    rng = numpy.random.default_rng(7)
    x = rng.standard_normal((2, 1, 4, 4, 2)).astype(numpy.float32)
    for fmt in ("channels_last", "channels_first"):
        layer = layers.ConvLSTM2D(3, 2, data_format=fmt, return_state=True)
        xx = x if fmt == "channels_last" else numpy.moveaxis(x, -1, 2).copy()
        y, h, c = layer(xx)
        zeros = layer.cell.get_initial_state(2)
        h1, (h2, c2) = layer.cell.call(nk.Tensor(xx[:, 0]), zeros)
        numpy.testing.assert_allclose(h1.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(c2.numpy(), c.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="ndim=5"):
        layers.ConvLSTM2D(2, 2)(numpy.zeros((2, 3, 4, 4), numpy.float32))
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.ConvLSTM2D(2, 2, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        layers.ConvLSTM1D(2, 2, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        layers.ConvLSTM2D(2, (2, 2, 2))


@keras_api("layers.ConvLSTM2D")
def test_conv_lstm2d_keras_file_round_trip_both_ways(tmp_path):
    keras = keras_or_skip()
    from .test_keras_saving import assert_predictions, h5_tree, predict, randomize  # noqa: PLC0415

    def build(K):
        return K.Sequential([K.Input((3, 6, 6, 1)),
                             K.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
                             K.layers.ConvLSTM2D(2, 2, strides=2, data_format="channels_last"),
                             K.layers.Flatten(), K.layers.Dense(2)])

    x = numpy.random.default_rng(8).standard_normal((2, 3, 6, 6, 1)).astype(numpy.float32)
    km = build(keras)
    randomize(km, seed=5)
    km.save(tmp_path / "k.keras")
    loaded = nk.saving.load_model(tmp_path / "k.keras")
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in km.layers]
    assert_predictions(predict(loaded, x), predict(km, x))
    nm = build(nk)
    randomize(nm, seed=6)
    nm.save(tmp_path / "n.keras")
    assert_predictions(predict(keras.saving.load_model(tmp_path / "n.keras"), x), predict(nm, x))
    nm.save_weights(tmp_path / "n.weights.h5")
    km.save_weights(tmp_path / "k.weights.h5")
    assert h5_tree(str(tmp_path / "n.weights.h5")) == h5_tree(str(tmp_path / "k.weights.h5"))

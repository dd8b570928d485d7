"""Embedding, Rescaling, Resizing, InputLayer and the recurrent cells against real Keras
(see tests/layer_harness.py)."""
from __future__ import annotations

import json

import numpy
import pytest

from neuronka import layers

from .keras_oracle import clear_keras_session, keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .layer_harness_keras import assert_configs_equal


def indices(high, dtype="int32", zero_free=False):
    def make(rng, shape):
        return rng.integers(1 if zero_free else 0, high, shape).astype(dtype)

    return make


def pixels(rng, shape):
    return rng.uniform(0, 255, shape).astype(numpy.float32)


def uint8_pixels(rng, shape):
    return rng.integers(0, 256, shape).astype(numpy.uint8)



@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keras's global name counters back to zero after each test (other tests compare default names)."""
    yield
    clear_keras_session()

CASES = [
    LayerCase("embedding", layers.Embedding, {"input_dim": 7, "output_dim": 3}, (2, 4), keras=True,
              input_maker=indices(7), check_input_grads=False),
    LayerCase("embedding_mask_zero_int64", layers.Embedding,
              {"input_dim": 5, "output_dim": 2, "mask_zero": True, "embeddings_regularizer": "l2",
               "embeddings_initializer": "glorot_uniform"}, (3, 4), keras=True, input_maker=indices(5, "int64"),
              check_input_grads=False),
    LayerCase("embedding_lora", layers.Embedding, {"input_dim": 6, "output_dim": 4, "lora_rank": 2}, (2, 3),
              keras=True, input_maker=indices(6), check_input_grads=False),
    LayerCase("embedding_3d_indices", layers.Embedding, {"input_dim": 9, "output_dim": 2, "dtype": "float64"},
              (2, 3, 2), keras=True, input_maker=indices(9), check_input_grads=False),
    LayerCase("rescaling", layers.Rescaling, {"scale": 1 / 255}, (2, 3, 3, 2), keras=True, input_maker=pixels),
    LayerCase("rescaling_offset_per_channel", layers.Rescaling, {"scale": [0.5, 2.0, 1.0], "offset": -1.0},
              (2, 2, 2, 3), keras=True, gradcheck=True),
    LayerCase("resizing_bilinear", layers.Resizing, {"height": 4, "width": 6}, (2, 5, 3, 2), keras=True,
              input_maker=pixels, keras_rtol=1e-5, keras_atol=1e-3),
    LayerCase("resizing_nearest_channels_first", layers.Resizing,
              {"height": 3, "width": 3, "interpolation": "nearest", "data_format": "channels_first"}, (2, 2, 6, 6),
              keras=True),
    LayerCase("resizing_crop_to_aspect_ratio", layers.Resizing,
              {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, (1, 6, 8, 1), keras=True, input_maker=pixels,
              keras_atol=1e-3),
    LayerCase("resizing_pad_to_aspect_ratio", layers.Resizing,
              {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 1.0}, (1, 6, 8, 1), keras=True,
              input_maker=pixels, keras_atol=1e-3),
    LayerCase("resizing_uint8", layers.Resizing, {"height": 3, "width": 5}, (2, 6, 4, 3), keras=True,
              input_maker=uint8_pixels, check_input_grads=False, check_symbolic=False),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()


# ---- InputLayer / Input ------------------------------------------------------------------------------
INPUTS = [
    ({"shape": (3,)}, "shape"),
    ({"shape": (None, 4), "batch_size": 2, "dtype": "int32", "name": "tokens"}, "batch_size_dtype_name"),
    ({"batch_shape": (None, 5, 5, 3)}, "batch_shape"),
    ({"shape": (2,), "optional": True}, "optional"),
]


@keras_api("layers.InputLayer", "layers.Input")
@pytest.mark.parametrize("kwargs", [k for k, _ in INPUTS], ids=[i for _, i in INPUTS])
def test_input_layer_config_and_input_tensor_match_keras(kwargs):
    keras = keras_or_skip()
    ours, theirs = layers.InputLayer(**kwargs), keras.layers.InputLayer(**kwargs)
    assert_configs_equal(ours.get_config(), theirs.get_config(), f"InputLayer({kwargs})")
    rebuilt = layers.InputLayer.from_config(json.loads(json.dumps(theirs.get_config())))
    assert_configs_equal(rebuilt.get_config(), theirs.get_config(), "InputLayer.from_config(Keras's config)")
    keras.layers.InputLayer.from_config(json.loads(json.dumps(ours.get_config())))
    t, kt = layers.Input(**kwargs), keras.Input(**kwargs)
    assert tuple(t.shape) == tuple(kt.shape) and t.dtype == kt.dtype
    assert ours.weights == [] and ours.get_build_config() == theirs.get_build_config()


# ---- the recurrent cells, one step -----------------------------------------------------------------------
CELLS = [
    ("SimpleRNNCell", {"units": 3}, 1),
    ("SimpleRNNCell", {"units": 2, "activation": "relu", "use_bias": False}, 1),
    ("LSTMCell", {"units": 3}, 2),
    ("LSTMCell", {"units": 2, "unit_forget_bias": False, "recurrent_activation": "tanh"}, 2),
    ("GRUCell", {"units": 3}, 1),
    ("GRUCell", {"units": 2, "reset_after": False}, 1),
]


@keras_api("layers.SimpleRNNCell", "layers.LSTMCell", "layers.GRUCell")
@pytest.mark.parametrize("name, kwargs, n_states", CELLS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CELLS)])
def test_cell_step_config_weights_and_gradients_match_keras(name, kwargs, n_states):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(5)
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    assert_configs_equal(ours.get_config(), theirs.get_config(), f"{name}({kwargs}), unbuilt")
    ours.build((4, 5))
    theirs.build((4, 5))
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    for w, kw in zip(ours.weights, theirs.weights):
        value = rng.standard_normal(w.shape).astype(numpy.float32) * 0.5
        w.assign(value)
        kw.assign(value)
    assert_configs_equal(ours.get_config(), theirs.get_config(), f"{name}({kwargs})")
    assert ours.get_build_config() == theirs.get_build_config()
    x = rng.standard_normal((4, 5)).astype(numpy.float32)
    states = [rng.standard_normal((4, kwargs["units"])).astype(numpy.float32) for _ in range(n_states)]
    import neuronka as nk  # noqa: PLC0415

    tx = nk.Tensor(x, requires_grad=True)
    ts = [nk.Tensor(s, requires_grad=True) for s in states]
    out, new = ours(tx, ts)
    kx = torch.from_numpy(x).requires_grad_(True)
    ks = [torch.from_numpy(s).requires_grad_(True) for s in states]
    kout, knew = theirs(kx, ks)
    numpy.testing.assert_allclose(out.numpy(), kout.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(new, knew):
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(out.shape).astype(numpy.float32)
    nk.ops.sum(out * g).backward()
    (kout * torch.from_numpy(g)).sum().backward()
    numpy.testing.assert_allclose(numpy.asarray(tx.grad), kx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for a, b in zip(ts, ks):
        numpy.testing.assert_allclose(numpy.asarray(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    for w, kw in zip(ours.weights, theirs.weights):
        numpy.testing.assert_allclose(numpy.asarray(w.grad), kw.value.grad.numpy(), rtol=1e-4, atol=1e-5)

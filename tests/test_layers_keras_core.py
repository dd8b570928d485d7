"""Core and activation layers against real Keras: one row per argument set (see tests/layer_harness.py)."""
from __future__ import annotations

from neuronka import layers

from .layer_harness import LayerCase, layer_cases


def random_mask(rng, shapes):
    """A boolean mask with the first input's shape, at least one True per row."""
    m = rng.random(shapes[0]) < 0.6
    m[..., 0] = True
    return m


def time_mask(rng, shapes):
    """A (batch, timesteps) mask for a (batch, timesteps, ...) input; sample 0 keeps every step."""
    n, t = shapes[0][:2]
    m = rng.random((n, t)) < 0.6
    m[0] = True
    m[:, 0] = True
    return m

CASES = [
    LayerCase("dense", layers.Dense, {"units": 3}, (2, 4), keras=True, gradcheck=True),
    LayerCase("dense_relu_no_bias_3d", layers.Dense, {"units": 5, "activation": "relu", "use_bias": False},
              (2, 3, 4), keras=True),
    LayerCase("dense_regularized", layers.Dense,
              {"units": 2, "activation": "tanh", "kernel_initializer": "he_normal", "kernel_regularizer": "l2",
               "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.1}}, "activity_regularizer": "l1",
               "kernel_constraint": "max_norm", "bias_initializer": "ones"}, (3, 4), keras=True),
    LayerCase("dense_lora", layers.Dense, {"units": 3, "lora_rank": 2, "lora_alpha": 4}, (2, 4), keras=True),
    LayerCase("activation_softmax", layers.Activation, {"activation": "softmax"}, (2, 5), keras=True),
    LayerCase("activation_gelu", layers.Activation, {"activation": "gelu"}, (2, 3, 4), keras=True),
    LayerCase("identity", layers.Identity, {}, (2, 3), keras=True),
    LayerCase("dropout", layers.Dropout, {"rate": 0.3}, (2, 5), keras=True),
    LayerCase("dropout_noise_shape", layers.Dropout, {"rate": 0.5, "noise_shape": (None, 1, 4), "seed": 3},
              (2, 3, 4), keras=True),
    LayerCase("dropout_zero", layers.Dropout, {"rate": 0}, (2, 3), keras=True, keras_training=True),
    LayerCase("relu", layers.ReLU, {}, (2, 3, 4), keras=True),
    LayerCase("relu_capped_leaky_threshold", layers.ReLU, {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.2},
              (3, 5), keras=True, gradcheck=True),
    LayerCase("relu_6", layers.ReLU, {"max_value": 6}, (2, 4), keras=True),
    LayerCase("leaky_relu", layers.LeakyReLU, {}, (2, 5), keras=True),
    LayerCase("leaky_relu_slope", layers.LeakyReLU, {"negative_slope": 0.01}, (2, 3, 2), keras=True),
    LayerCase("elu", layers.ELU, {}, (2, 5), keras=True),
    LayerCase("elu_alpha_float64", layers.ELU, {"alpha": 0.5, "dtype": "float64"}, (2, 3), keras=True),
    LayerCase("elu_frozen", layers.ELU, {"alpha": 2.0, "trainable": False}, (2, 3), keras=True),
    LayerCase("softmax", layers.Softmax, {}, (2, 5), keras=True, gradcheck=True),
    LayerCase("softmax_axis_1", layers.Softmax, {"axis": 1}, (2, 3, 4), keras=True),
    LayerCase("softmax_two_axes", layers.Softmax, {"axis": [1, 2]}, (2, 3, 4), keras=True),
    LayerCase("softmax_masked", layers.Softmax, {}, (3, 6), keras=True, keras_mask_maker=random_mask),
    LayerCase("prelu", layers.PReLU, {}, (2, 5), keras=True, gradcheck=True),
    LayerCase("prelu_shared", layers.PReLU, {"shared_axes": [1, 2], "alpha_initializer": "ones"}, (2, 3, 4, 2),
              keras=True),
    LayerCase("prelu_regularized", layers.PReLU,
              {"alpha_regularizer": "l2", "alpha_constraint": "non_neg", "shared_axes": 1}, (2, 3, 4), keras=True),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()

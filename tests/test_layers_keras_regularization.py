"""Regularization layers against real Keras (see tests/layer_harness.py). Their training outputs are random,
so Keras compares them at inference; the training-time statistics are tested in test_layers_regularization.py.
DropConnect and StochasticDepth are neuronka's own layers (no Keras counterpart)."""
from __future__ import annotations

from neuronka import layers

from .layer_harness import LayerCase, layer_cases

CASES = [
    LayerCase("spatial_dropout1d", layers.SpatialDropout1D, {"rate": 0.3}, (2, 4, 3), keras=True),
    LayerCase("spatial_dropout2d", layers.SpatialDropout2D, {"rate": 0.5, "seed": 2}, (2, 3, 3, 4), keras=True),
    LayerCase("spatial_dropout2d_channels_first", layers.SpatialDropout2D,
              {"rate": 0.2, "data_format": "channels_first", "name": "sd"}, (2, 4, 3, 3), keras=True),
    LayerCase("spatial_dropout3d", layers.SpatialDropout3D, {"rate": 0.5, "dtype": "float64"}, (2, 2, 3, 2, 3),
              keras=True),
    LayerCase("gaussian_noise", layers.GaussianNoise, {"stddev": 0.5, "seed": 1}, (2, 5), keras=True),
    LayerCase("gaussian_noise_zero", layers.GaussianNoise, {"stddev": 0}, (2, 5), keras=True, keras_training=True),
    LayerCase("gaussian_dropout", layers.GaussianDropout, {"rate": 0.4}, (2, 3, 4), keras=True),
    LayerCase("alpha_dropout", layers.AlphaDropout, {"rate": 0.2, "noise_shape": (None, 1)}, (3, 4), keras=True),
    LayerCase("alpha_dropout_zero", layers.AlphaDropout, {"rate": 0.0}, (3, 4), keras=True, keras_training=True),
    LayerCase("activity_regularization", layers.ActivityRegularization, {"l1": 0.01, "l2": 0.1}, (3, 4),
              keras=True),
    LayerCase("activity_regularization_default", layers.ActivityRegularization, {}, (2, 3, 2), keras=True),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()

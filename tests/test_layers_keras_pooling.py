"""Pooling layers against real Keras: one row per argument set (see tests/layer_harness.py)."""
from __future__ import annotations

from neuronka import layers

from .layer_harness import LayerCase, layer_cases
from .test_layers_keras_core import time_mask

CASES = [
    LayerCase("max_pooling1d", layers.MaxPooling1D, {}, (2, 6, 3), keras=True, gradcheck=True),
    LayerCase("max_pooling1d_same_strided", layers.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"},
              (2, 7, 2), keras=True),
    LayerCase("max_pooling1d_channels_first", layers.MaxPooling1D, {"pool_size": 2, "data_format": "channels_first"},
              (2, 3, 6), keras=True),
    LayerCase("max_pooling2d", layers.MaxPooling2D, {}, (2, 4, 6, 3), keras=True),
    LayerCase("max_pooling2d_same_strided", layers.MaxPooling2D,
              {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}, (2, 5, 5, 2), keras=True, gradcheck=True),
    LayerCase("max_pooling2d_channels_first", layers.MaxPooling2D, {"pool_size": 2, "data_format": "channels_first"},
              (2, 3, 4, 4), keras=True),
    LayerCase("average_pooling1d", layers.AveragePooling1D, {"pool_size": 2}, (2, 6, 3), keras=True,
              gradcheck=True),
    LayerCase("average_pooling1d_same", layers.AveragePooling1D, {"pool_size": 3, "strides": 2, "padding": "same"},
              (2, 7, 2), keras=True),
    LayerCase("average_pooling2d", layers.AveragePooling2D, {"pool_size": (2, 2)}, (2, 4, 6, 3), keras=True),
    LayerCase("average_pooling2d_same_channels_first", layers.AveragePooling2D,
              {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}, (2, 2, 5, 5),
              keras=True, gradcheck=True),
    LayerCase("global_max_pooling1d", layers.GlobalMaxPooling1D, {}, (2, 5, 3), keras=True, gradcheck=True),
    LayerCase("global_max_pooling1d_keepdims_cf", layers.GlobalMaxPooling1D,
              {"keepdims": True, "data_format": "channels_first"}, (2, 3, 5), keras=True),
    LayerCase("global_max_pooling2d", layers.GlobalMaxPooling2D, {}, (2, 3, 4, 2), keras=True),
    LayerCase("global_max_pooling2d_keepdims", layers.GlobalMaxPooling2D, {"keepdims": True}, (2, 3, 4, 2),
              keras=True),
    LayerCase("global_average_pooling1d", layers.GlobalAveragePooling1D, {}, (2, 5, 3), keras=True,
              gradcheck=True),
    LayerCase("global_average_pooling1d_masked", layers.GlobalAveragePooling1D, {}, (3, 5, 2), keras=True,
              keras_mask_maker=time_mask),
    LayerCase("global_average_pooling1d_keepdims_cf", layers.GlobalAveragePooling1D,
              {"keepdims": True, "data_format": "channels_first"}, (2, 3, 5), keras=True),
    LayerCase("global_average_pooling2d", layers.GlobalAveragePooling2D, {}, (2, 3, 4, 2), keras=True),
    LayerCase("global_average_pooling2d_cf_keepdims", layers.GlobalAveragePooling2D,
              {"data_format": "channels_first", "keepdims": True}, (2, 2, 3, 4), keras=True),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()

"""Convolution layers against real Keras: one row per argument set (see tests/layer_harness.py)."""
from __future__ import annotations

from neuronka import layers

from .layer_harness import LayerCase, layer_cases

CASES = [
    LayerCase("conv1d", layers.Conv1D, {"filters": 3, "kernel_size": 3}, (2, 7, 2), keras=True, gradcheck=True),
    LayerCase("conv1d_causal_dilated", layers.Conv1D,
              {"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 2, "activation": "relu"},
              (2, 6, 3), keras=True),
    LayerCase("conv1d_same_strided_channels_first", layers.Conv1D,
              {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
              (2, 3, 7), keras=True),
    LayerCase("conv1d_groups_lora", layers.Conv1D, {"filters": 4, "kernel_size": 2, "groups": 2, "lora_rank": 2},
              (2, 5, 4), keras=True),
    LayerCase("conv2d", layers.Conv2D, {"filters": 3, "kernel_size": 3}, (2, 5, 5, 2), keras=True, gradcheck=True),
    LayerCase("conv2d_same_strided", layers.Conv2D,
              {"filters": 4, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "use_bias": False,
               "kernel_initializer": "he_normal", "kernel_regularizer": "l2", "activity_regularizer": "l1"},
              (2, 7, 6, 3), keras=True),
    LayerCase("conv2d_dilated_channels_first", layers.Conv2D,
              {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "data_format": "channels_first",
               "activation": "tanh", "bias_constraint": "non_neg"}, (2, 3, 6, 6), keras=True),
    LayerCase("conv2d_groups", layers.Conv2D, {"filters": 6, "kernel_size": 3, "groups": 3, "padding": "same"},
              (2, 4, 4, 6), keras=True),
    LayerCase("conv1d_transpose", layers.Conv1DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2},
              (2, 4, 2), keras=True, gradcheck=True),
    LayerCase("conv1d_transpose_same_padded", layers.Conv1DTranspose,
              {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
              (2, 5, 3), keras=True),
    LayerCase("conv2d_transpose", layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3}, (2, 4, 4, 3),
              keras=True),
    LayerCase("conv2d_transpose_strided_same_channels_first", layers.Conv2DTranspose,
              {"filters": 3, "kernel_size": (2, 3), "strides": 2, "padding": "same",
               "data_format": "channels_first", "activation": "relu"}, (2, 2, 3, 4), keras=True),
    LayerCase("conv2d_transpose_dilated", layers.Conv2DTranspose,
              {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (1, 3, 3, 2), keras=True),
    LayerCase("depthwise_conv1d", layers.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2},
              (2, 6, 3), keras=True, gradcheck=True),
    LayerCase("depthwise_conv2d", layers.DepthwiseConv2D, {"kernel_size": 3}, (2, 5, 5, 3), keras=True),
    LayerCase("depthwise_conv2d_same_strided", layers.DepthwiseConv2D,
              {"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 2,
               "depthwise_regularizer": "l2", "activation": "relu"}, (2, 5, 6, 2), keras=True),
    LayerCase("depthwise_conv2d_channels_first", layers.DepthwiseConv2D,
              {"kernel_size": 2, "data_format": "channels_first", "dilation_rate": 2}, (2, 3, 5, 5), keras=True),
    LayerCase("separable_conv1d", layers.SeparableConv1D, {"filters": 4, "kernel_size": 3}, (2, 6, 3),
              keras=True, gradcheck=True),
    LayerCase("separable_conv2d", layers.SeparableConv2D, {"filters": 4, "kernel_size": 3}, (2, 5, 5, 3),
              keras=True),
    LayerCase("separable_conv2d_strided_multiplier", layers.SeparableConv2D,
              {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same", "depth_multiplier": 2,
               "pointwise_initializer": "he_uniform", "use_bias": False}, (2, 5, 5, 2), keras=True),
    LayerCase("separable_conv2d_channels_first", layers.SeparableConv2D,
              {"filters": 2, "kernel_size": 3, "data_format": "channels_first", "activation": "sigmoid"},
              (2, 3, 5, 5), keras=True),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()

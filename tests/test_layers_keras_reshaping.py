"""Reshaping layers against real Keras: one row per argument set (see tests/layer_harness.py)."""
from __future__ import annotations

import pytest

from neuronka import layers

from .layer_harness import LayerCase, layer_cases
from .test_layers_keras_core import time_mask

CASES = [
    LayerCase("flatten", layers.Flatten, {}, (2, 3, 4), keras=True, gradcheck=True),
    LayerCase("flatten_channels_first", layers.Flatten, {"data_format": "channels_first"}, (2, 3, 2, 2), keras=True),
    LayerCase("flatten_2d", layers.Flatten, {}, (3, 5), keras=True),
    LayerCase("reshape", layers.Reshape, {"target_shape": (4, 3)}, (2, 3, 4), keras=True, gradcheck=True),
    LayerCase("reshape_infer", layers.Reshape, {"target_shape": (-1, 2)}, (2, 3, 4), keras=True),
    LayerCase("reshape_list", layers.Reshape, {"target_shape": [12]}, (2, 3, 4), keras=True),
    LayerCase("permute", layers.Permute, {"dims": (2, 1)}, (2, 3, 4), keras=True, gradcheck=True),
    LayerCase("permute_3", layers.Permute, {"dims": [3, 1, 2]}, (2, 3, 4, 2), keras=True),
    LayerCase("repeat_vector", layers.RepeatVector, {"n": 3}, (2, 4), keras=True, gradcheck=True),
    LayerCase("zero_padding1d", layers.ZeroPadding1D, {}, (2, 4, 3), keras=True, gradcheck=True),
    LayerCase("zero_padding1d_pair", layers.ZeroPadding1D, {"padding": (1, 2)}, (2, 4, 3), keras=True),
    LayerCase("zero_padding1d_channels_first", layers.ZeroPadding1D, {"padding": 2, "data_format": "channels_first"},
              (2, 3, 4), keras=True),
    LayerCase("zero_padding2d", layers.ZeroPadding2D, {}, (2, 3, 4, 2), keras=True),
    LayerCase("zero_padding2d_pairs", layers.ZeroPadding2D, {"padding": ((1, 0), (2, 1))}, (2, 3, 4, 2),
              keras=True),
    LayerCase("zero_padding2d_sym_channels_first", layers.ZeroPadding2D,
              {"padding": (1, 2), "data_format": "channels_first"}, (2, 2, 3, 3), keras=True),
    LayerCase("zero_padding3d", layers.ZeroPadding3D, {"padding": 1}, (2, 2, 3, 2, 2), keras=True),
    LayerCase("zero_padding3d_pairs", layers.ZeroPadding3D, {"padding": ((1, 0), (0, 2), (1, 1))}, (1, 2, 2, 2, 3),
              keras=True),
    LayerCase("cropping1d", layers.Cropping1D, {}, (2, 5, 3), keras=True, gradcheck=True),
    LayerCase("cropping1d_pair", layers.Cropping1D, {"cropping": (2, 0)}, (2, 5, 3), keras=True),
    LayerCase("cropping2d", layers.Cropping2D, {"cropping": 1}, (2, 4, 5, 2), keras=True),
    LayerCase("cropping2d_pairs_channels_first", layers.Cropping2D,
              {"cropping": ((1, 0), (0, 2)), "data_format": "channels_first"}, (2, 2, 4, 5), keras=True),
    LayerCase("cropping3d", layers.Cropping3D, {}, (2, 4, 4, 3, 2), keras=True),
    LayerCase("cropping3d_sym", layers.Cropping3D, {"cropping": (1, 0, 1)}, (1, 3, 3, 3, 2), keras=True),
    LayerCase("up_sampling1d", layers.UpSampling1D, {}, (2, 3, 2), keras=True, gradcheck=True),
    LayerCase("up_sampling1d_size", layers.UpSampling1D, {"size": 3}, (2, 3, 2), keras=True),
    LayerCase("up_sampling2d", layers.UpSampling2D, {}, (2, 3, 2, 2), keras=True),
    LayerCase("up_sampling2d_bilinear", layers.UpSampling2D, {"size": (2, 3), "interpolation": "bilinear"},
              (2, 3, 4, 2), keras=True),
    LayerCase("up_sampling2d_bicubic_channels_first", layers.UpSampling2D,
              {"interpolation": "bicubic", "data_format": "channels_first"}, (1, 2, 3, 3), keras=True,
              keras_atol=1e-4),
    LayerCase("up_sampling3d", layers.UpSampling3D, {}, (1, 2, 2, 3, 2), keras=True),
    LayerCase("up_sampling3d_channels_first", layers.UpSampling3D, {"size": (1, 2, 3), "data_format": "channels_first"},
              (1, 2, 2, 2, 2), keras=True),
    LayerCase("flatten_masked_drops_the_mask", layers.Flatten, {}, (2, 4, 3), keras=True, keras_mask_maker=time_mask,
              marks=pytest.mark.filterwarnings("ignore:Layer 'flatten.*does not support masking")),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()

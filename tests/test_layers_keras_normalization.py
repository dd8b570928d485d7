"""Normalization layers against real Keras: one row per argument set (see tests/layer_harness.py)."""
from __future__ import annotations

import numpy
import pytest

from neuronka import layers

from .layer_harness import LayerCase, layer_cases
from .test_layers_keras_core import time_mask


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape).astype(numpy.float32)


CASES = [
    LayerCase("batch_norm", layers.BatchNormalization, {}, (4, 3), keras=True, keras_training=True, gradcheck=True),
    LayerCase("batch_norm_conv_momentum", layers.BatchNormalization, {"momentum": 0.9, "epsilon": 1e-5},
              (3, 4, 4, 2), keras=True, keras_training=True),
    LayerCase("batch_norm_channels_first", layers.BatchNormalization,
              {"axis": 1, "center": False, "gamma_initializer": "random_normal", "gamma_regularizer": "l2"},
              (3, 2, 4, 4), keras=True, keras_training=True),
    LayerCase("batch_norm_no_scale", layers.BatchNormalization,
              {"scale": False, "beta_constraint": "non_neg",
               "moving_variance_initializer": {"class_name": "RandomUniform",
                                               "config": {"minval": 0.5, "maxval": 1.5}}},
              (4, 5), keras=True, keras_training=True),
    LayerCase("batch_norm_masked", layers.BatchNormalization, {}, (3, 5, 2), keras=True, keras_training=True,
              keras_mask_maker=time_mask),
    LayerCase("batch_norm_renorm", layers.BatchNormalization,
              {"renorm": True, "renorm_clipping": {"rmax": 1.5, "rmin": 0.5, "dmax": 0.3}, "renorm_momentum": 0.9},
              (4, 3), keras=True, keras_training=True),
    LayerCase("batch_norm_frozen", layers.BatchNormalization, {"trainable": False}, (4, 3), keras=True,
              keras_training=True),
    LayerCase("layer_norm", layers.LayerNormalization, {}, (3, 4), keras=True, gradcheck=True),
    LayerCase("layer_norm_axes", layers.LayerNormalization, {"axis": [3, 2], "epsilon": 1e-5}, (2, 3, 4, 2),
              keras=True),
    LayerCase("layer_norm_no_center", layers.LayerNormalization,
              {"center": False, "gamma_initializer": "random_uniform", "gamma_regularizer": "l1"}, (2, 3, 5),
              keras=True),
    LayerCase("layer_norm_rms_scaling", layers.LayerNormalization, {"rms_scaling": True}, (2, 5), keras=True,
              marks=pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")),
    LayerCase("rms_norm", layers.RMSNormalization, {}, (3, 4), keras=True, gradcheck=True),
    LayerCase("rms_norm_axes", layers.RMSNormalization, {"axis": [1, 2], "epsilon": 1e-3}, (2, 3, 4), keras=True),
    LayerCase("group_norm", layers.GroupNormalization, {"groups": 2}, (2, 4), keras=True, gradcheck=True),
    LayerCase("group_norm_images", layers.GroupNormalization, {"groups": 3, "epsilon": 1e-5}, (2, 3, 3, 6),
              keras=True),
    LayerCase("group_norm_instance_no_center", layers.GroupNormalization, {"groups": -1, "center": False},
              (2, 4, 3), keras=True),
    LayerCase("group_norm_channels_first", layers.GroupNormalization, {"groups": 2, "axis": 1}, (2, 4, 3, 3),
              keras=True),
    LayerCase("unit_norm", layers.UnitNormalization, {}, (3, 4), keras=True, gradcheck=True),
    LayerCase("unit_norm_axes", layers.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4), keras=True),
    LayerCase("normalization_given", layers.Normalization, {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 0.25]},
              (2, 3), keras=True),
    LayerCase("normalization_given_scalar_invert", layers.Normalization,
              {"axis": None, "mean": 2.0, "variance": 9.0, "invert": True}, (2, 3), keras=True),
    LayerCase("normalization_unadapted_axes", layers.Normalization, {"axis": (1, 2)}, (2, 3, 4), keras=True,
              input_maker=positive),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()

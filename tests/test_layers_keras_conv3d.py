"""3-D convolution and pooling layers, and adaptive pooling (1-D to 3-D), against real Keras 3.15.1: one row
per argument set (see tests/layer_harness.py), float64 gradchecks on small shapes, and Conv3D models through
``.keras`` files both ways (written by Keras and read by neuronka, and the reverse)."""
from __future__ import annotations

import pytest

import neuronka as nk
from neuronka import layers

from .keras_oracle import keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .test_keras_saving import assert_predictions, make_inputs, predict, randomize

CONV = [
    LayerCase("conv3d", layers.Conv3D, {"filters": 3, "kernel_size": 2}, (2, 4, 3, 4, 2), keras=True,
              gradcheck=True),
    LayerCase("conv3d_same_strided", layers.Conv3D,
              {"filters": 4, "kernel_size": (3, 2, 3), "strides": (2, 1, 2), "padding": "same", "use_bias": False,
               "kernel_initializer": "he_normal", "kernel_regularizer": "l2", "activity_regularizer": "l1"},
              (2, 5, 4, 6, 3), keras=True),
    LayerCase("conv3d_dilated_channels_first", layers.Conv3D,
              {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1, 2), "data_format": "channels_first",
               "activation": "tanh", "bias_constraint": "non_neg"}, (2, 3, 5, 4, 5), keras=True),
    LayerCase("conv3d_same_channels_first_grad", layers.Conv3D,
              {"filters": 2, "kernel_size": 3, "padding": "same", "data_format": "channels_first"},
              (1, 2, 3, 4, 3), keras=True, gradcheck=True),
    LayerCase("conv3d_groups", layers.Conv3D, {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"},
              (2, 3, 4, 3, 4), keras=True),
    LayerCase("conv3d_groups_depthwise", layers.Conv3D,  # one input channel per group: the depthwise path
              {"filters": 6, "kernel_size": 2, "groups": 3, "strides": 2, "activation": "relu"}, (2, 5, 4, 5, 3),
              keras=True, gradcheck=True),
    LayerCase("conv3d_lora", layers.Conv3D, {"filters": 3, "kernel_size": 2, "lora_rank": 2}, (2, 3, 3, 3, 2),
              keras=True),
    LayerCase("conv3d_transpose", layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2},
              (2, 2, 3, 2, 3), keras=True, gradcheck=True),
    LayerCase("conv3d_transpose_valid", layers.Conv3DTranspose, {"filters": 3, "kernel_size": (3, 2, 2)},
              (2, 3, 3, 2, 2), keras=True),
    LayerCase("conv3d_transpose_same_padded", layers.Conv3DTranspose,
              {"filters": 2, "kernel_size": 3, "strides": (2, 1, 2), "padding": "same",
               "output_padding": (1, 0, 1), "activation": "sigmoid"}, (2, 3, 2, 3, 2), keras=True),
    LayerCase("conv3d_transpose_dilated_channels_first", layers.Conv3DTranspose,
              {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "data_format": "channels_first",
               "use_bias": False}, (1, 3, 3, 2, 3), keras=True, gradcheck=True),
]

POOL = [
    LayerCase("max_pooling3d", layers.MaxPooling3D, {}, (2, 4, 4, 6, 3), keras=True),
    LayerCase("max_pooling3d_same_strided", layers.MaxPooling3D,
              {"pool_size": (3, 2, 3), "strides": (2, 1, 2), "padding": "same"}, (2, 5, 4, 5, 2), keras=True,
              gradcheck=True),
    LayerCase("max_pooling3d_channels_first", layers.MaxPooling3D,
              {"pool_size": 2, "strides": 1, "data_format": "channels_first"}, (2, 3, 3, 4, 3), keras=True),
    LayerCase("average_pooling3d", layers.AveragePooling3D, {"pool_size": 2}, (2, 4, 4, 6, 3), keras=True,
              gradcheck=True),
    # "same" with an even padding total on every axis: Keras's torch backend pads unevenly by replicating the
    # edge, where neuronka (as TensorFlow and JAX) counts only the real elements (tests/test_keras_ops_nn.py)
    LayerCase("average_pooling3d_same_channels_first", layers.AveragePooling3D,
              {"pool_size": 3, "strides": (2, 1, 2), "padding": "same", "data_format": "channels_first"},
              (2, 2, 5, 4, 5), keras=True, gradcheck=True),
    LayerCase("average_pooling3d_overlapping", layers.AveragePooling3D, {"pool_size": (2, 3, 2), "strides": 1},
              (2, 3, 4, 3, 2), keras=True),
    LayerCase("global_max_pooling3d", layers.GlobalMaxPooling3D, {}, (2, 3, 4, 2, 3), keras=True, gradcheck=True),
    LayerCase("global_max_pooling3d_keepdims_cf", layers.GlobalMaxPooling3D,
              {"keepdims": True, "data_format": "channels_first"}, (2, 3, 2, 4, 3), keras=True),
    LayerCase("global_average_pooling3d", layers.GlobalAveragePooling3D, {}, (2, 3, 4, 2, 3), keras=True,
              gradcheck=True),
    LayerCase("global_average_pooling3d_keepdims", layers.GlobalAveragePooling3D, {"keepdims": True},
              (2, 3, 2, 4, 3), keras=True),
    LayerCase("global_average_pooling3d_channels_first", layers.GlobalAveragePooling3D,
              {"data_format": "channels_first"}, (2, 3, 2, 4, 3), keras=True),
]

ADAPTIVE = []
for _mode in ("Average", "Max"):
    _cls = {r: getattr(layers, f"Adaptive{_mode}Pooling{r}D") for r in (1, 2, 3)}
    _m = _mode.lower()
    ADAPTIVE += [
        LayerCase(f"adaptive_{_m}_pooling1d", _cls[1], {"output_size": 4}, (2, 9, 3), keras=True, gradcheck=True),
        LayerCase(f"adaptive_{_m}_pooling1d_tuple_cf", _cls[1], {"output_size": (3,), "data_format": "channels_first"},
                  (2, 3, 7), keras=True),
        LayerCase(f"adaptive_{_m}_pooling2d", _cls[2], {"output_size": (3, 4)}, (2, 7, 10, 2), keras=True,
                  gradcheck=True),
        LayerCase(f"adaptive_{_m}_pooling2d_int_cf_upsampling", _cls[2],
                  {"output_size": 5, "data_format": "channels_first"}, (2, 3, 4, 6), keras=True),
        LayerCase(f"adaptive_{_m}_pooling3d", _cls[3], {"output_size": (2, 3, 2)}, (2, 5, 7, 4, 2), keras=True,
                  gradcheck=True),
        LayerCase(f"adaptive_{_m}_pooling3d_int_cf", _cls[3], {"output_size": 2, "data_format": "channels_first"},
                  (2, 3, 4, 6, 5), keras=True),
    ]


@layer_cases(CONV + POOL + ADAPTIVE)
def test_layer_matches_keras(case):
    case.run()


@pytest.mark.parametrize("make,message,error", [
    (lambda: layers.AdaptiveAveragePooling1D((2, 3)), "length 1", ValueError),
    (lambda: layers.AdaptiveMaxPooling2D((2, 3, 4)), "integer or", TypeError),
    (lambda: layers.AdaptiveAveragePooling3D("2"), "integer or", TypeError),
    (lambda: layers.Conv3DTranspose(2, 2, strides=2, output_padding=2), "output_padding", ValueError),
    (lambda: layers.Conv3D(2, (2, 2)), "kernel_size", ValueError),
    (lambda: layers.Conv3D(2, 2, strides=2, dilation_rate=2), "dilation_rate", ValueError),
    (lambda: layers.MaxPooling3D(pool_size=(2, 2)), "pool_size", ValueError),
])
def test_bad_3d_arguments_raise_keras_errors(make, message, error):
    with pytest.raises(error, match=message):
        make()


def test_conv3d_transpose_takes_data_format_before_output_padding_as_keras():
    layer = layers.Conv3DTranspose(2, 3, 2, "same", "channels_first", 1)
    assert layer.data_format == "channels_first" and layer.output_padding == (1, 1, 1)


# ---------------------------------------------------------------------------------------------- .keras files
FAMILIES = {
    "conv3d": (lambda K: K.Sequential([
        K.Input((4, 5, 4, 2)), K.layers.Conv3D(3, 3, padding="same", activation="relu"), K.layers.MaxPooling3D(),
        K.layers.Conv3DTranspose(2, 2, strides=2), K.layers.AveragePooling3D(2),
        K.layers.AdaptiveMaxPooling3D((1, 2, 2)), K.layers.GlobalAveragePooling3D(), K.layers.Dense(2)]),
        ((2, 4, 5, 4, 2),)),
}


@pytest.fixture(scope="module")
def keras():
    k = keras_or_skip()
    yield k
    k.utils.clear_session()
    nk.utils.clear_session()


@keras_api("saving.save_model", "saving.load_model", "layers.Conv3D", "layers.Conv3DTranspose")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_keras_file_saved_by_keras_loads_in_neuronka_and_back(tmp_path, keras, family):
    build, spec = FAMILIES[family]
    x = make_inputs(spec)
    km = build(keras)
    randomize(km, seed=5)
    km.save(tmp_path / "k.keras")
    loaded = nk.saving.load_model(tmp_path / "k.keras")
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in km.layers]
    assert_predictions(predict(loaded, x), predict(km, x))

    nm = build(nk)
    randomize(nm, seed=4)
    nm.save(tmp_path / "n.keras")
    back = keras.saving.load_model(tmp_path / "n.keras")
    assert_predictions(predict(back, x), predict(nm, x))

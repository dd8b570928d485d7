"""Pooling layers: one table through the layer harness (shapes incl. symbolic, config round trip, gradients,
forward + input gradients vs PyTorch float32, float64 central differences on small rows), then the masked
GlobalAveragePooling1D, Keras's output-shape rules and errors.

Keras "same" pooling is emulated on torch with ``F.pad`` (−inf for max: the padding never wins; for average
the window sum is divided by the number of real elements, TensorFlow's count, which excludes the padding).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers
from neuronka.layers.base import reset_names

from .helpers import LazyModule
from .layer_harness import LayerCase, channels_last_to_first, layer_cases

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)
F = LazyModule("torch.nn.functional")


def tf_same_pads(length: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's "same": total = max((⌈L/s⌉ − 1)·s + k − L, 0), the odd one after."""
    total = max((-(-length // s) - 1) * s + k - length, 0)
    return total // 2, total - total // 2


def torch_pad(x, pads_per_axis, value=0.0):
    flat = []
    for before, after in reversed(pads_per_axis):
        flat += [before, after]
    return F.pad(x, flat, value=value) if any(flat) else x


def layout(layer):
    if layer.data_format == "channels_last":
        return channels_last_to_first, lambda y: y.movedim(1, -1)
    return None, None


def torch_pool(layer):
    rank = len(layer.pool_size)
    max_pool = F.max_pool1d if rank == 1 else F.max_pool2d
    avg_pool = F.avg_pool1d if rank == 1 else F.avg_pool2d

    def pads(x):
        if layer.padding == "valid":
            return [(0, 0)] * rank
        return [tf_same_pads(n, p, s) for n, p, s in zip(x.shape[2:], layer.pool_size, layer.strides)]

    def fn(x):
        if isinstance(layer, layers.MaxPooling1D | layers.MaxPooling2D):
            return max_pool(torch_pad(x, pads(x), value=-torch.inf), layer.pool_size, layer.strides)
        total = avg_pool(torch_pad(x, pads(x)), layer.pool_size, layer.strides)
        count = avg_pool(torch_pad(torch.ones_like(x), pads(x)), layer.pool_size, layer.strides)
        return total / count  # Σ / (real elements): TensorFlow's average at the borders

    return (fn, *layout(layer))


def torch_global(layer):
    rank = 1 if isinstance(layer, layers.GlobalMaxPooling1D | layers.GlobalAveragePooling1D) else 2
    is_max = isinstance(layer, layers.GlobalMaxPooling1D | layers.GlobalMaxPooling2D)
    if rank == 1:
        pool = F.adaptive_max_pool1d if is_max else F.adaptive_avg_pool1d
    else:
        pool = F.adaptive_max_pool2d if is_max else F.adaptive_avg_pool2d

    def fn(x):
        y = pool(x, 1)  # (N, C, 1[, 1])
        if not layer.keepdims:
            return y.flatten(1)
        return y.movedim(1, -1) if layer.data_format == "channels_last" else y

    return fn, (channels_last_to_first if layer.data_format == "channels_last" else None), None


def pool_case(id, cls, kwargs, shape, **checks):  # noqa: A002
    return LayerCase(id, cls, kwargs, shape, torch_equivalent=torch_pool, expected_num_params=0, **checks)


def global_case(id, cls, kwargs, shape, **checks):  # noqa: A002
    return LayerCase(id, cls, kwargs, shape, torch_equivalent=torch_global, expected_num_params=0, **checks)


CASES = [
    # ---- MaxPooling ----
    pool_case("max2d_default_2x2", layers.MaxPooling2D, {}, (2, 7, 6, 3), expected_output_shape=(2, 3, 3, 3)),
    pool_case("max2d_3x3_stride2_same", layers.MaxPooling2D, {"pool_size": 3, "strides": 2, "padding": "same"},
              (2, 7, 6, 3), expected_output_shape=(2, 4, 3, 3)),
    pool_case("max2d_overlapping_stride1_same_even", layers.MaxPooling2D, {"pool_size": 2, "strides": 1,
                                                                           "padding": "same"},
              (2, 5, 4, 2), expected_output_shape=(2, 5, 4, 2)),
    pool_case("max2d_rectangular_valid", layers.MaxPooling2D, {"pool_size": (2, 3), "strides": (1, 2)},
              (2, 5, 7, 2), expected_output_shape=(2, 4, 3, 2)),
    pool_case("max2d_channels_first", layers.MaxPooling2D, {"pool_size": 2, "data_format": "channels_first"},
              (2, 3, 6, 5), expected_output_shape=(2, 3, 3, 2)),
    pool_case("max2d_float64_gradcheck", layers.MaxPooling2D, {"pool_size": 2, "strides": 1}, (1, 3, 3, 2),
              gradcheck=True),
    pool_case("max1d_default", layers.MaxPooling1D, {}, (2, 9, 3), expected_output_shape=(2, 4, 3)),
    pool_case("max1d_3_stride1_same", layers.MaxPooling1D, {"pool_size": 3, "strides": 1, "padding": "same"},
              (2, 6, 3), expected_output_shape=(2, 6, 3), gradcheck=True),
    # ---- AveragePooling ----
    pool_case("avg2d_2x2", layers.AveragePooling2D, {"pool_size": (2, 2)}, (2, 6, 7, 3),
              expected_output_shape=(2, 3, 3, 3)),
    pool_case("avg2d_3x3_stride2_same_excludes_padding", layers.AveragePooling2D,
              {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 2), expected_output_shape=(2, 3, 4, 2)),
    pool_case("avg2d_2x2_stride1_same_pads_after", layers.AveragePooling2D,
              {"pool_size": 2, "strides": 1, "padding": "same"}, (2, 4, 5, 2), expected_output_shape=(2, 4, 5, 2)),
    pool_case("avg2d_channels_first_valid_stride1", layers.AveragePooling2D,
              {"pool_size": (2, 3), "strides": 1, "data_format": "channels_first"}, (2, 2, 5, 6),
              expected_output_shape=(2, 2, 4, 4)),
    pool_case("avg2d_float64_gradcheck", layers.AveragePooling2D, {"pool_size": 2, "strides": 1, "padding": "same"},
              (1, 3, 3, 2), gradcheck=True),
    pool_case("avg1d_3_stride2_same", layers.AveragePooling1D, {"pool_size": 3, "strides": 2, "padding": "same"},
              (2, 8, 3), expected_output_shape=(2, 4, 3), gradcheck=True),
    pool_case("avg1d_2", layers.AveragePooling1D, {"pool_size": 2}, (2, 7, 2), expected_output_shape=(2, 3, 2)),
    # ---- global pooling ----
    global_case("global_max2d", layers.GlobalMaxPooling2D, {}, (2, 4, 5, 3), expected_output_shape=(2, 3)),
    global_case("global_max2d_keepdims", layers.GlobalMaxPooling2D, {"keepdims": True}, (2, 4, 5, 3),
                expected_output_shape=(2, 1, 1, 3)),
    global_case("global_max1d", layers.GlobalMaxPooling1D, {}, (2, 6, 3), expected_output_shape=(2, 3),
                gradcheck=True),
    global_case("global_avg2d", layers.GlobalAveragePooling2D, {}, (2, 4, 5, 3), expected_output_shape=(2, 3),
                gradcheck=True),
    global_case("global_avg2d_channels_first_keepdims", layers.GlobalAveragePooling2D,
                {"data_format": "channels_first", "keepdims": True}, (2, 3, 4, 5), expected_output_shape=(2, 3, 1, 1)),
    global_case("global_avg1d", layers.GlobalAveragePooling1D, {}, (2, 6, 3), expected_output_shape=(2, 3)),
    global_case("global_avg1d_keepdims", layers.GlobalAveragePooling1D, {"keepdims": True}, (2, 6, 3),
                expected_output_shape=(2, 1, 3)),
    global_case("global_max1d_channels_first", layers.GlobalMaxPooling1D, {"data_format": "channels_first"},
                (2, 3, 6), expected_output_shape=(2, 3)),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- masked GlobalAveragePooling1D -----------------------------------------------------------------
MASK = numpy.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling1d_masked_mean_and_gradient_match_torch(keepdims):
    """y[n, c] = Σ_t m[n, t] x[n, t, c] / Σ_t m[n, t]: padded steps neither count nor get a gradient."""
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4)).astype(numpy.float32)
    gy = rng.standard_normal((3, 1, 4) if keepdims else (3, 4)).astype(numpy.float32)
    layer = layers.GlobalAveragePooling1D(keepdims=keepdims)
    xt = nk.Tensor(x, requires_grad=True)
    y = layer(xt, mask=MASK)
    y.backward(gy)
    tx = torch.tensor(x, requires_grad=True)
    tm = torch.tensor(MASK, dtype=torch.float32)[:, :, None]
    ty = (tx * tm).sum(1, keepdim=keepdims) / tm.sum(1, keepdim=keepdims)
    ty.backward(torch.tensor(gy))
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert numpy.all(xt.grad[~MASK] == 0)


def test_global_average_pooling1d_takes_the_mask_carried_by_its_input_and_drops_it():
    x = nk.Tensor(numpy.random.default_rng(1).standard_normal((3, 5, 2)).astype(numpy.float32))
    x._keras_mask = MASK  # as an upstream masking layer leaves it
    y = layers.GlobalAveragePooling1D()(x)
    want = numpy.stack([x.numpy()[i][MASK[i]].mean(0) for i in range(3)])
    numpy.testing.assert_allclose(y.numpy(), want, rtol=1e-6)
    assert y._keras_mask is None
    unmasked = layers.GlobalAveragePooling1D()(nk.Tensor(x.numpy()))
    numpy.testing.assert_allclose(unmasked.numpy(), x.numpy().mean(1), rtol=1e-6)


def test_global_average_pooling1d_masked_channels_first():
    x = numpy.random.default_rng(2).standard_normal((3, 2, 5)).astype(numpy.float32)
    y = layers.GlobalAveragePooling1D(data_format="channels_first")(x, mask=MASK)
    want = numpy.stack([x[i][:, MASK[i]].mean(1) for i in range(3)])
    numpy.testing.assert_allclose(y.numpy(), want, rtol=1e-6)


def test_global_average_pooling1d_rejects_a_mask_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D .*expected a mask of shape \(batch, steps\)"):
        layers.GlobalAveragePooling1D()(numpy.zeros((3, 5, 2), numpy.float32), mask=MASK[:, :4])


# ---- Keras's rules ------------------------------------------------------------------------------
def test_strides_default_to_pool_size_and_config_says_so():
    layer = layers.MaxPooling2D(pool_size=(3, 2))
    assert layer.strides == (3, 2)
    config = layer.get_config()
    assert config["pool_size"] == (3, 2) and config["strides"] == (3, 2) and config["padding"] == "valid"
    assert layers.MaxPooling1D().pool_size == (2,) and layers.MaxPooling2D().pool_size == (2, 2)
    with pytest.raises(TypeError, match="pool_size"):  # Keras's AveragePooling has no default pool size
        layers.AveragePooling2D()


def test_output_shapes_follow_keras_formulas():
    assert layers.MaxPooling2D().compute_output_shape((None, 28, 28, 16)) == (None, 14, 14, 16)
    assert layers.MaxPooling2D(3, 2).compute_output_shape((None, 28, 27, 16)) == (None, 13, 13, 16)
    assert layers.AveragePooling2D(3, 2, "same").compute_output_shape((4, 28, 27, 16)) == (4, 14, 14, 16)
    assert layers.MaxPooling1D(2).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert layers.MaxPooling2D(data_format="channels_first").compute_output_shape((1, 3, 8, 6)) == (1, 3, 4, 3)
    assert layers.GlobalMaxPooling2D(keepdims=True).compute_output_shape((None, 5, 5, 7)) == (None, 1, 1, 7)


def test_symbolic_inputs_with_unknown_spatial_sizes():
    x = layers.Input(shape=(None, None, 3))
    assert layers.MaxPooling2D()(x).shape == (None, None, None, 3)
    assert layers.GlobalAveragePooling2D()(x).shape == (None, 3)


def test_default_names_follow_keras():
    reset_names()
    assert [layers.MaxPooling2D().name, layers.MaxPooling2D().name, layers.AveragePooling1D(2).name,
            layers.GlobalAveragePooling2D().name] == [
        "max_pooling2d", "max_pooling2d_1", "average_pooling1d", "global_average_pooling2d"]


def test_wrong_rank_gives_keras_input_spec_error():
    with pytest.raises(ValueError, match=r"Input 0 of layer 'pool' is incompatible with the layer: expected ndim=4, "
                                         r"found ndim=3\. Full shape received: \(2, 8, 8\)"):
        layers.MaxPooling2D(name="pool")(numpy.zeros((2, 8, 8), numpy.float32))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        layers.GlobalAveragePooling1D()(numpy.zeros((2, 8, 8, 1), numpy.float32))


def test_pool_larger_than_input_is_an_error_naming_the_layer():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'small'.*non-positive.*\(1, 2, 2, 3\)"):
        layers.MaxPooling2D(3, name="small").compute_output_shape((1, 2, 2, 3))


@pytest.mark.parametrize("make, match", [
    (lambda: layers.MaxPooling2D(0), r"MaxPooling2D: expected pool_size .* received pool_size=0"),
    (lambda: layers.MaxPooling2D((2, 2, 2)), r"MaxPooling2D: expected pool_size .*tuple of 2"),
    (lambda: layers.AveragePooling1D(2, strides=0), r"AveragePooling1D: expected strides"),
    (lambda: layers.MaxPooling2D(padding="causal"), r"MaxPooling2D: expected padding 'valid' or 'same', "
                                                    r"received padding='causal'"),
    (lambda: layers.GlobalMaxPooling2D(data_format="NHWC"), r"GlobalMaxPooling2D: expected data_format"),
])
def test_bad_arguments_raise_errors_naming_the_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_aliases():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D

"""Regularization layers: the table (contract, inference vs PyTorch, training changes the output), then the
statistics that make each one what it is (which entries are dropped, with which scale)."""
from __future__ import annotations

import math

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .helpers import LazyModule
from .layer_harness import (
    LayerCase,
    channels_first_to_last,
    channels_last_to_first,
    copy_into,
    grad_of,
    layer_cases,
)

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)

TRAIN = {"training_modes": (False, True), "training_changes_output": True}


def identity_at_inference(layer):
    return (lambda *xs: xs[0] if len(xs) == 1 else xs), None, None


def torch_wrapped_linear(layer):
    """DropConnect(Dense) at inference is the plain Dense: nn.Linear with weight = kernelᵀ."""
    dense = layer.layer
    lin = torch.nn.Linear(*dense.kernel.shape)
    copy_into(lin.weight, dense.kernel.numpy().T)
    copy_into(lin.bias, dense.bias.numpy())
    return lin, None, None


def wrapped_linear_map(layer, lin):
    return [(layer.layer.kernel, grad_of(lin.weight, lambda g: g.T)), (layer.layer.bias, grad_of(lin.bias))]


def torch_wrapped_conv2d(layer):
    """DropConnect(Conv2D) at inference is the plain Conv2D: nn.Conv2d with weight (out, in, kh, kw)."""
    conv = layer.layer
    kh, kw, cin, cout = conv.kernel.shape
    tconv = torch.nn.Conv2d(cin, cout, (kh, kw))
    copy_into(tconv.weight, conv.kernel.numpy().transpose(3, 2, 0, 1))
    copy_into(tconv.bias, conv.bias.numpy())
    return tconv, channels_last_to_first, channels_first_to_last


def wrapped_conv2d_map(layer, tconv):
    return [(layer.layer.kernel, grad_of(tconv.weight, lambda g: g.permute(2, 3, 1, 0))),
            (layer.layer.bias, grad_of(tconv.bias))]


CASES = [
    LayerCase("spatial_dropout_1d", layers.SpatialDropout1D, {"rate": 0.5, "seed": 1}, (4, 5, 6),
              torch_equivalent=identity_at_inference, **TRAIN),
    LayerCase("spatial_dropout_2d", layers.SpatialDropout2D, {"rate": 0.5, "seed": 1}, (4, 3, 3, 6),
              torch_equivalent=identity_at_inference, **TRAIN),
    LayerCase("spatial_dropout_2d_channels_first", layers.SpatialDropout2D,
              {"rate": 0.5, "data_format": "channels_first", "seed": 1}, (4, 6, 3, 3), **TRAIN),
    LayerCase("spatial_dropout_3d", layers.SpatialDropout3D, {"rate": 0.5, "seed": 1}, (2, 2, 2, 2, 6), **TRAIN),
    LayerCase("gaussian_noise", layers.GaussianNoise, {"stddev": 0.5, "seed": 1}, (4, 6),
              torch_equivalent=identity_at_inference, **TRAIN),
    LayerCase("gaussian_dropout", layers.GaussianDropout, {"rate": 0.3, "seed": 1}, (4, 6),
              torch_equivalent=identity_at_inference, **TRAIN),
    LayerCase("alpha_dropout", layers.AlphaDropout, {"rate": 0.2, "seed": 1}, (4, 6),
              torch_equivalent=identity_at_inference, **TRAIN),
    LayerCase("activity_regularization", layers.ActivityRegularization, {"l1": 0.01, "l2": 0.02}, (4, 6),
              torch_equivalent=identity_at_inference),
    LayerCase("drop_connect_dense", layers.DropConnect, {"layer": layers.Dense(3), "rate": 0.5, "seed": 1}, (4, 5),
              expected_output_shape=(4, 3), expected_num_trainable_weights=2, expected_num_params=18,
              torch_equivalent=torch_wrapped_linear, weight_map=wrapped_linear_map, **TRAIN),
    LayerCase("drop_connect_conv2d", layers.DropConnect, {"layer": layers.Conv2D(4, 3), "rate": 0.3, "seed": 1},
              (2, 5, 5, 3), expected_output_shape=(2, 3, 3, 4), expected_num_params=3 * 3 * 3 * 4 + 4,
              torch_equivalent=torch_wrapped_conv2d, weight_map=wrapped_conv2d_map, **TRAIN),
    LayerCase("stochastic_depth_on_shortcut_and_residual", layers.StochasticDepth, {"rate": 0.3, "seed": 1},
              [(6, 3, 4), (6, 3, 4)], torch_equivalent=lambda layer: (lambda s, r: s + 0.7 * r, None, None), **TRAIN),
    LayerCase("stochastic_depth_on_a_branch", layers.StochasticDepth, {"rate": 0.5, "seed": 1}, (6, 4),
              torch_equivalent=lambda layer: (lambda r: 0.5 * r, None, None), **TRAIN),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- spatial dropout ----------------------------------------------------------------------------
@pytest.mark.parametrize("layer, shape, channel_axis", [
    (layers.SpatialDropout1D(0.4, seed=0), (64, 7, 32), -1),
    (layers.SpatialDropout2D(0.4, seed=0), (64, 3, 3, 32), -1),
    (layers.SpatialDropout2D(0.4, data_format="channels_first", seed=0), (64, 32, 3, 3), 1),
])
def test_spatial_dropout_drops_whole_channels_and_scales_the_kept_ones(layer, shape, channel_axis):
    y = layer(numpy.ones(shape, dtype=numpy.float32), training=True).numpy()
    y = numpy.moveaxis(y, channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    per_channel = y[:, :, :1]
    numpy.testing.assert_array_equal(y, numpy.broadcast_to(per_channel, y.shape))  # one draw per (sample, channel)
    numpy.testing.assert_allclose(numpy.unique(per_channel), [0.0, 1 / 0.6], rtol=1e-6)
    assert abs((per_channel == 0).mean() - 0.4) < 0.05


# ---- noise ------------------------------------------------------------------------------------------
def test_gaussian_noise_adds_zero_mean_noise_of_stddev_in_training_only():
    x = numpy.full((200, 500), 3.0, dtype=numpy.float32)
    layer = layers.GaussianNoise(0.5, seed=0)
    noise = layer(x, training=True).numpy() - x
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.5) < 0.01
    numpy.testing.assert_array_equal(layer(x).numpy(), x)


def test_gaussian_dropout_multiplies_by_mean_one_noise_of_dropout_variance():
    rate = 0.2
    y = layers.GaussianDropout(rate, seed=0)(numpy.ones((200, 500), dtype=numpy.float32), training=True).numpy()
    assert abs(y.mean() - 1.0) < 0.01
    assert abs(y.std() - math.sqrt(rate / (1 - rate))) < 0.01


def test_alpha_dropout_keeps_zero_mean_and_unit_variance_of_selu_activations():
    x = numpy.random.default_rng(0).standard_normal((400, 500)).astype(numpy.float32)
    y = layers.AlphaDropout(0.2, seed=0)(x, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805  # −λα, SELU's negative saturation
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p**2)) ** -0.5
    dropped = numpy.isclose(y, a * alpha_p - a * alpha_p * 0.2)  # every dropped entry becomes a·α' + b
    assert abs(dropped.mean() - 0.2) < 0.01


def test_activity_regularization_adds_l1_and_l2_of_the_activations_to_the_losses():
    x = numpy.array([[1.0, -2.0, 3.0]], dtype=numpy.float32)
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    numpy.testing.assert_array_equal(layer(x).numpy(), x)
    assert len(layer.losses) == 1
    numpy.testing.assert_allclose(float(layer.losses[0].numpy()), 0.1 * 6 + 0.01 * 14, rtol=1e-6)


# ---- DropConnect -------------------------------------------------------------------------------------------
def test_drop_connect_drops_weights_not_units():
    rate, n_in, units = 0.5, 32, 64
    layer = layers.DropConnect(layers.Dense(units, use_bias=False), rate=rate, seed=0)
    eye = numpy.eye(n_in, dtype=numpy.float32)  # x = I, so y = x·W̃ is the effective kernel itself
    kernel = layer(eye).numpy()
    numpy.testing.assert_allclose(layer.layer.kernel.numpy(), kernel)  # inference: the plain weights
    effective = layer(eye, training=True).numpy()
    dropped = effective == 0
    assert abs(dropped.mean() - rate) < 0.05
    numpy.testing.assert_allclose(effective[~dropped], kernel[~dropped] / (1 - rate), rtol=1e-6)
    # units are not dropped: every output unit keeps some weights and loses others
    assert dropped.any(axis=0).all() and (~dropped).any(axis=0).all()


def test_drop_connect_gradient_reaches_the_real_kernel_through_the_mask():
    rate = 0.25
    layer = layers.DropConnect(layers.Dense(6), rate=rate, seed=3)
    eye = numpy.eye(5, dtype=numpy.float32)
    layer(eye)
    y = layer(eye, training=True)
    g = numpy.random.default_rng(0).standard_normal(y.shape).astype(numpy.float32)
    y.backward(g)
    kept = (y.numpy() - layer.layer.bias.numpy()) != 0
    numpy.testing.assert_allclose(layer.layer.kernel.grad, g * kept / (1 - rate), rtol=1e-6)
    numpy.testing.assert_allclose(layer.layer.bias.grad, g.sum(0), rtol=1e-5)  # the bias is never dropped
    assert isinstance(layer.layer.kernel, layers.Variable)  # the real kernel is back after the call


def test_drop_connect_drops_convolution_kernel_entries_not_feature_maps():
    rate = 0.5
    layer = layers.DropConnect(layers.Conv2D(8, 3, use_bias=False), rate=rate, seed=0)
    # 27 one-hot 3×3×3 images, one per kernel entry (r, q, c): a valid 3×3 convolution of image i reads
    # out that entry of every filter, so the outputs are the (effective) kernel itself
    probes = numpy.zeros((27, 3, 3, 3), dtype=numpy.float32)
    for i, (r, q, c) in enumerate(numpy.ndindex(3, 3, 3)):
        probes[i, r, q, c] = 1.0
    kernel = layer(probes).numpy().reshape(3, 3, 3, 8)
    numpy.testing.assert_allclose(kernel, layer.layer.kernel.numpy(), rtol=1e-6)  # inference: plain weights
    effective = layer(probes, training=True).numpy().reshape(3, 3, 3, 8)
    dropped = effective == 0
    assert abs(dropped.mean() - rate) < 0.1
    numpy.testing.assert_allclose(effective[~dropped], kernel[~dropped] / (1 - rate), rtol=1e-5)
    per_filter = dropped.reshape(-1, 8)
    assert per_filter.any(axis=0).all() and (~per_filter).any(axis=0).all()  # no feature map dropped whole


def test_drop_connect_rejects_a_layer_without_a_kernel():
    with pytest.raises(ValueError, match=r"DropConnect .*expected a wrapped layer with a `kernel` weight.*ReLU"):
        layers.DropConnect(layers.ReLU(), rate=0.5)(numpy.ones((2, 3), dtype=numpy.float32))
    with pytest.raises(ValueError, match=r"DropConnect: expected `layer` to be a Layer instance"):
        layers.DropConnect("dense", rate=0.5)
    with pytest.raises(ValueError, match=r"Expected a float value between 0 and 1. Received: rate=1.5"):
        layers.DropConnect(layers.Dense(2), rate=1.5)


# ---- StochasticDepth -----------------------------------------------------------------------------------------
def test_stochastic_depth_drops_the_residual_branch_per_sample_in_training_and_scales_it_at_inference():
    rate = 0.3
    layer = layers.StochasticDepth(rate, seed=0)
    shortcut = numpy.full((2000, 3, 4), 2.0, dtype=numpy.float32)
    residual = numpy.ones((2000, 3, 4), dtype=numpy.float32)
    y = layer([shortcut, residual], training=True).numpy() - shortcut
    per_sample = y.reshape(len(y), -1)
    assert (per_sample == per_sample[:, :1]).all()  # a sample's branch is kept or dropped whole
    assert set(numpy.unique(per_sample)) == {0.0, 1.0}  # unscaled in training (Huang et al.)
    assert abs(per_sample[:, 0].mean() - (1 - rate)) < 0.03  # survival probability 1 − rate
    inference = layer([shortcut, residual]).numpy()
    numpy.testing.assert_allclose(inference, shortcut + (1 - rate) * residual, rtol=1e-6)  # E[training output]


def test_stochastic_depth_gradient_of_a_dropped_sample_is_zero_for_the_branch_only():
    layer = layers.StochasticDepth(0.5, seed=1)
    s = nk.Tensor(numpy.ones((64, 3), dtype=numpy.float32), requires_grad=True)
    r = nk.Tensor(numpy.ones((64, 3), dtype=numpy.float32), requires_grad=True)
    y = layer([s, r], training=True)
    y.backward(numpy.ones((64, 3), dtype=numpy.float32))
    numpy.testing.assert_array_equal(s.grad, 1.0)
    numpy.testing.assert_array_equal(r.grad, y.numpy() - 1.0)  # gate b_n: 1 kept, 0 dropped


def test_stochastic_depth_rejects_bad_inputs():
    ones = numpy.ones((2, 3), dtype=numpy.float32)
    with pytest.raises(ValueError, match=r"StochasticDepth .*same shape, received shapes \(2, 3\) and \(2, 4\)"):
        layers.StochasticDepth(0.2)([ones, numpy.ones((2, 4), dtype=numpy.float32)])
    with pytest.raises(ValueError, match=r"StochasticDepth .*received a list of 3 inputs"):
        layers.StochasticDepth(0.2)([ones, ones, ones])

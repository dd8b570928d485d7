"""Normalization layers: one table through the layer harness (shapes, config, weight counts, gradients, and
forward + input/weight gradients against torch.nn.BatchNorm1d/2d in training and eval mode, nn.LayerNorm,
nn.GroupNorm and formulas), then the moving statistics, freezing, masks and the Normalization layer's adapt."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .helpers import LazyModule, torch_module
from .layer_harness import LayerCase, channels_first_to_last, channels_last_to_first, copy_into, grad_of, layer_cases

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)
F = LazyModule("torch.nn.functional")


# ---- BatchNormalization vs torch ------------------------------------------------------------------------
class _Inputs:
    """An input_maker that remembers what it made (the moving statistics are checked against NumPy)."""

    def __init__(self):
        self.arrays = []

    def __call__(self, rng, shape):
        a = rng.standard_normal(shape).astype(numpy.float32) * 2.0 + 0.5
        self.arrays.append(a)
        return a


def torch_batchnorm(layer):
    """nn.BatchNorm1d/2d/3d with torch momentum = 1 − Keras momentum and the layer's weights and statistics;
    the channels axis moved to position 1 when the layer normalizes the last axis."""
    ndim = layer.input_spec.ndim
    channels = layer.moving_mean.shape[0]
    cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}[ndim]
    affine = layer.scale or layer.center
    bn = cls(channels, eps=layer.epsilon, momentum=1.0 - layer.momentum, affine=affine)
    if affine:
        copy_into(bn.weight, layer.gamma.numpy() if layer.scale else numpy.ones(channels))
        copy_into(bn.bias, layer.beta.numpy() if layer.center else numpy.zeros(channels))
    copy_into(bn.running_mean, layer.moving_mean.numpy())
    copy_into(bn.running_var, layer.moving_variance.numpy())
    last = layer.axis in (-1, ndim - 1) and ndim > 2
    return bn, (channels_last_to_first if last else None), (channels_first_to_last if last else None)


def batchnorm_weight_map(layer, bn):
    pairs = []
    if layer.scale:
        pairs.append((layer.gamma, grad_of(bn.weight)))
    if layer.center:
        pairs.append((layer.beta, grad_of(bn.bias)))
    return pairs


def batchnorm_state_map(inputs: _Inputs):
    """After a training call: moving_mean equals torch's running_mean (same formula with momentum 1 − m), and
    moving_variance equals the Keras formula with the *biased* batch variance, computed in NumPy (torch's
    running_var uses the unbiased one). After an inference call both are unchanged."""

    def state_map(layer, bn):
        old_var = layer.moving_variance.numpy().copy()
        old_mean = layer.moving_mean.numpy().copy()
        x = inputs.arrays[0]
        red = tuple(a for a in range(x.ndim) if a != layer.axis % x.ndim)
        m = layer.momentum
        if bn.training:
            return [(layer.moving_mean, lambda: bn.running_mean),
                    (layer.moving_variance, lambda: old_var * m + x.var(axis=red) * (1 - m))]
        return [(layer.moving_mean, lambda: old_mean), (layer.moving_variance, lambda: old_var)]

    return state_map


def bn_case(id, kwargs, shape, **checks):  # noqa: A002
    inputs = _Inputs()
    return LayerCase(id, layers.BatchNormalization, kwargs, shape, input_maker=inputs,
                     torch_equivalent=torch_batchnorm, weight_map=batchnorm_weight_map,
                     state_map=batchnorm_state_map(inputs), training_modes=(False, True),
                     torch_training_modes=(False, True), training_changes_output=True, **checks)


# ---- other torch equivalents ----------------------------------------------------------------------------
def torch_layernorm(layer):
    """nn.LayerNorm over the trailing axes (the layer's axes are the last ones, in order or reversed)."""
    gamma = layer.gamma.numpy() if layer.gamma is not None else None
    shape = (gamma if gamma is not None else layer.beta.numpy()).shape
    transposed = list(layer.axis) != sorted(layer.axis)
    norm_shape = shape[::-1] if transposed else shape
    ln = torch.nn.LayerNorm(norm_shape, eps=layer.epsilon, elementwise_affine=gamma is not None,
                            bias=layer.beta is not None)
    if gamma is not None:
        copy_into(ln.weight, gamma.T if transposed else gamma)
    if layer.beta is not None:
        copy_into(ln.bias, layer.beta.numpy().T if transposed else layer.beta.numpy())
    return ln, None, None


def layernorm_weight_map(layer, ln):
    flip = (lambda g: g.T) if list(layer.axis) != sorted(layer.axis) else None
    pairs = []
    if layer.gamma is not None:
        pairs.append((layer.gamma, grad_of(ln.weight, flip)))
    if layer.beta is not None:
        pairs.append((layer.beta, grad_of(ln.bias, flip)))
    return pairs


@torch_module
class _Affine:
    """A torch function of x with trainable per-feature gamma (and beta) copied from the layer."""

    def __init__(self, fn, gamma=None, beta=None):
        super().__init__()
        self.fn = fn
        self.gamma = None if gamma is None else torch.nn.Parameter(torch.from_numpy(numpy.array(gamma)))
        self.beta = None if beta is None else torch.nn.Parameter(torch.from_numpy(numpy.array(beta)))

    def forward(self, x):
        return self.fn(x, self.gamma, self.beta)


def torch_rms_scaling(layer):
    def fn(x, g, b):
        return x * torch.rsqrt(x.var(dim=-1, unbiased=False, keepdim=True) + layer.epsilon) * g

    return _Affine(fn, layer.gamma.numpy()), None, None


def torch_rmsnorm(layer):
    def fn(x, g, b):
        return x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + layer.epsilon) * g

    return _Affine(fn, layer.scale.numpy()), None, None


def affine_weight_map(layer, module):
    pairs = []
    for name in ("gamma", "scale"):
        w = getattr(layer, name, None)
        if isinstance(w, nk.layers.Variable):
            pairs.append((w, grad_of(module.gamma)))
    return pairs


def torch_groupnorm(layer):
    channels = layer.gamma.shape[0]
    gn = torch.nn.GroupNorm(layer.groups, channels, eps=layer.epsilon)
    copy_into(gn.weight, layer.gamma.numpy())
    copy_into(gn.bias, layer.beta.numpy())
    return gn, channels_last_to_first, channels_first_to_last


def groupnorm_weight_map(layer, gn):
    return [(layer.gamma, grad_of(gn.weight)), (layer.beta, grad_of(gn.bias))]


def fn(f):
    return lambda layer: (f(layer), None, None)


CASES = [
    # BatchNormalization: training (batch statistics, moving-statistics update) and inference, vs torch
    bn_case("batchnorm_dense", {}, (8, 5), expected_num_trainable_weights=2, expected_num_non_trainable_weights=2,
            expected_num_params=20),
    bn_case("batchnorm_64_channels", {}, (4, 64), expected_num_params=256),
    bn_case("batchnorm_images_channels_last", {"momentum": 0.9}, (3, 4, 5, 6)),
    bn_case("batchnorm_sequences", {"epsilon": 1e-5}, (4, 7, 3)),
    bn_case("batchnorm_channels_first_axis_1", {"axis": 1}, (3, 4, 5, 2)),
    bn_case("batchnorm_no_center_no_scale", {"center": False, "scale": False}, (6, 3),
            expected_num_trainable_weights=0, expected_num_params=6),
    LayerCase("batchnorm_gradcheck", layers.BatchNormalization, {}, (4, 3), gradcheck=True),
    # LayerNormalization
    LayerCase("layernorm_last_axis", layers.LayerNormalization, {}, (4, 6), expected_num_params=12,
              torch_equivalent=torch_layernorm, weight_map=layernorm_weight_map, gradcheck=True),
    LayerCase("layernorm_sequences", layers.LayerNormalization, {"epsilon": 1e-5}, (3, 4, 8),
              torch_equivalent=torch_layernorm, weight_map=layernorm_weight_map),
    LayerCase("layernorm_two_axes", layers.LayerNormalization, {"axis": [1, 2]}, (3, 4, 5),
              expected_num_params=40, torch_equivalent=torch_layernorm, weight_map=layernorm_weight_map),
    LayerCase("layernorm_axes_reversed", layers.LayerNormalization, {"axis": [2, 1]}, (3, 4, 5),
              torch_equivalent=torch_layernorm, weight_map=layernorm_weight_map, gradcheck=True),
    LayerCase("layernorm_no_center", layers.LayerNormalization, {"center": False}, (3, 6),
              expected_num_trainable_weights=1, torch_equivalent=torch_layernorm, weight_map=layernorm_weight_map),
    LayerCase("layernorm_rms_scaling", layers.LayerNormalization, {"rms_scaling": True}, (3, 6),
              expected_num_trainable_weights=1, torch_equivalent=torch_rms_scaling, weight_map=affine_weight_map,
              gradcheck=True, marks=pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")),
    # RMSNormalization, GroupNormalization, UnitNormalization
    LayerCase("rmsnorm", layers.RMSNormalization, {}, (3, 6), expected_num_params=6, torch_equivalent=torch_rmsnorm,
              weight_map=affine_weight_map, gradcheck=True),
    LayerCase("groupnorm_images", layers.GroupNormalization, {"groups": 2}, (2, 3, 3, 4), expected_num_params=8,
              torch_equivalent=torch_groupnorm, weight_map=groupnorm_weight_map),
    LayerCase("groupnorm_sequences_instance_norm", layers.GroupNormalization, {"groups": 3, "epsilon": 1e-5},
              (2, 5, 3), torch_equivalent=torch_groupnorm, weight_map=groupnorm_weight_map, gradcheck=True),
    LayerCase("unitnorm", layers.UnitNormalization, {}, (3, 5),
              torch_equivalent=fn(lambda layer: lambda x: F.normalize(x, dim=-1, eps=1e-6)), gradcheck=True),
    LayerCase("unitnorm_two_axes", layers.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4),
              torch_equivalent=fn(lambda layer: lambda x: x / x.square().sum(dim=(1, 2), keepdim=True).sqrt())),
    # Normalization (preprocessing) with given statistics
    LayerCase("normalization_given_stats", layers.Normalization,
              {"mean": [1.0, 2.0, 3.0], "variance": [4.0, 1.0, 0.25]}, (4, 3), expected_num_params=0,
              torch_equivalent=fn(lambda layer: lambda x: (x - torch.tensor([1.0, 2.0, 3.0])) / torch.tensor(
                  [2.0, 1.0, 0.5])), gradcheck=True),
    LayerCase("normalization_invert_scalar", layers.Normalization,
              {"mean": 2.0, "variance": 9.0, "axis": None, "invert": True}, (4, 3),
              torch_equivalent=fn(lambda layer: lambda x: x * 3.0 + 2.0)),
    LayerCase("normalization_adapted_weights", layers.Normalization, {"axis": -1}, (4, 3), expected_num_params=7,
              expected_num_non_trainable_weights=3),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- BatchNormalization ---------------------------------------------------------------------------------
def _bn(x_shape=(16, 4), **kwargs):
    layer = layers.BatchNormalization(**kwargs)
    layer.build(x_shape)
    return layer


def test_batchnorm_moving_statistics_follow_keras_formula_with_biased_variance():
    rng = numpy.random.default_rng(0)
    layer = _bn((16, 4), momentum=0.8)
    mean, var = numpy.zeros(4), numpy.ones(4)
    for _ in range(3):
        x = (rng.standard_normal((16, 4)) * 3 + 1).astype(numpy.float32)
        layer(x, training=True)
        mean = mean * 0.8 + x.mean(0) * 0.2
        var = var * 0.8 + x.var(0) * 0.2  # biased (ddof=0), unlike torch's running_var
    numpy.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5, atol=1e-6)
    x = rng.standard_normal((5, 4)).astype(numpy.float32)
    y = layer(x).numpy()  # inference: the moving statistics
    numpy.testing.assert_allclose(y, (x - mean) / numpy.sqrt(var + 1e-3), rtol=1e-5, atol=1e-5)


def test_batchnorm_param_counts_64_channels():
    layer = _bn((None, 64))
    assert layer.count_params() == 256
    assert sum(w.size for w in layer.non_trainable_weights) == 128
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]


def test_frozen_batchnorm_runs_in_inference_mode_and_keeps_its_statistics():
    rng = numpy.random.default_rng(1)
    layer = _bn((8, 3))
    layer(rng.standard_normal((8, 3)).astype(numpy.float32), training=True)
    layer.trainable = False
    before = [w.numpy().copy() for w in layer.weights]
    x = (rng.standard_normal((8, 3)) * 5).astype(numpy.float32)
    y_train = layer(x, training=True).numpy()
    y_infer = layer(x, training=False).numpy()
    numpy.testing.assert_array_equal(y_train, y_infer)
    for b, w in zip(before, layer.weights):
        numpy.testing.assert_array_equal(w.numpy(), b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and not layer.moving_mean.trainable


def test_frozen_model_containing_batchnorm_freezes_it_too():
    model = nk.models.Sequential([layers.Input(shape=(3,)), layers.Dense(3), layers.BatchNormalization()])
    model.trainable = False
    bn = model.layers[-1]
    before = bn.moving_mean.numpy().copy()
    model(numpy.ones((4, 3), numpy.float32), training=True)
    numpy.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_batchnorm_with_mask_uses_only_unmasked_entries():
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((3, 5, 2)).astype(numpy.float32)
    mask = numpy.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
    masked, plain = _bn((3, 5, 2), momentum=0.5), _bn((None, 2), momentum=0.5)
    for w in (masked.gamma, masked.beta):
        w.assign(rng.standard_normal(2).astype(numpy.float32))
    plain.set_weights(masked.get_weights())
    xt = nk.Tensor(x, requires_grad=True)
    y = masked(xt, training=True, mask=mask)
    valid = nk.Tensor(x[mask], requires_grad=True)
    y_valid = plain(valid, training=True)
    numpy.testing.assert_allclose(y.numpy()[mask], y_valid.numpy(), rtol=1e-4, atol=1e-5)
    numpy.testing.assert_allclose(masked.moving_mean.numpy(), plain.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(masked.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(numpy.float32)
    g[~mask] = 0
    y.backward(g)
    y_valid.backward(g[mask])
    numpy.testing.assert_allclose(xt.grad[mask], valid.grad, rtol=1e-3, atol=1e-5)
    numpy.testing.assert_allclose(masked.gamma.grad, plain.gamma.grad, rtol=1e-4, atol=1e-5)


def test_batchnorm_mask_of_wrong_rank_is_an_error():
    layer = _bn((2, 3, 4))
    with pytest.raises(ValueError, match="one dimension less"):
        layer(numpy.zeros((2, 3, 4), numpy.float32), training=True, mask=numpy.ones((2, 3, 4), bool))


def test_batchnorm_float64_training_step():
    x = numpy.random.default_rng(3).standard_normal((6, 2))
    layer = layers.BatchNormalization(dtype="float64")
    y = layer(x, training=True)
    assert y.dtype == numpy.float64 and layer.moving_mean.dtype == numpy.float64
    numpy.testing.assert_allclose(y.numpy(), (x - x.mean(0)) / numpy.sqrt(x.var(0) + 1e-3), rtol=1e-12)


@pytest.mark.parametrize("make, err, match", [
    (lambda: layers.BatchNormalization(momentum=1.5), ValueError, "momentum"),
    (lambda: layers.BatchNormalization(axis="last"), TypeError, "axis"),
    (lambda: layers.BatchNormalization(epsilon=0), ValueError, "epsilon"),
    (lambda: layers.LayerNormalization(axis=1.5), TypeError, "axis"),
    (lambda: layers.GroupNormalization(groups=0), ValueError, "groups"),
    (lambda: layers.Normalization(mean=1.0), ValueError, "variance"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0]), ValueError, "same shape"),
])
def test_bad_arguments_raise_errors_naming_the_argument(make, err, match):
    with pytest.raises(err, match=match):
        make()


@pytest.mark.parametrize("layer, shape, match", [
    (lambda: layers.BatchNormalization(axis=3), (2, 3), "out of range"),
    (lambda: layers.LayerNormalization(axis=[1, 4]), (2, 3, 4), "out of range"),
    (lambda: layers.GroupNormalization(groups=4), (2, 6), "divide"),
    (lambda: layers.GroupNormalization(groups=8), (2, 6), "at most 6 groups"),
])
def test_bad_input_shapes_raise_clear_errors(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(numpy.zeros(shape, numpy.float32))


# ---- Normalization.adapt --------------------------------------------------------------------------------
def test_normalization_adapt_matches_keras_docstring_examples():
    data = numpy.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]], dtype=numpy.float32)
    layer = layers.Normalization(axis=-1)
    layer.adapt(data)
    numpy.testing.assert_allclose(layer(numpy.array([[0.0, 7.0, 4.0]], numpy.float32)).numpy(), [[-1, -1, -1]])
    inverse = layers.Normalization(axis=-1, invert=True)
    inverse.adapt(data)
    numpy.testing.assert_allclose(inverse(numpy.array([[1.0, 2.0, 3.0]], numpy.float32)).numpy(), [[2, 10, 8]])
    assert int(layer.count.numpy()) == 4


def test_normalization_adapt_over_batches_equals_adapt_over_all_data():
    rng = numpy.random.default_rng(4)
    data = (rng.standard_normal((50, 3, 2)) * [1, 5] + [3, -2]).astype(numpy.float32)
    whole = layers.Normalization(axis=(1, 2))
    whole.adapt(data)
    batched = layers.Normalization(axis=(1, 2))
    batched.adapt([data[:7], data[7:30], (data[30:], None)])
    numpy.testing.assert_allclose(whole.adapt_mean.numpy(), data.mean(0), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(whole.adapt_variance.numpy(), data.var(0), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(batched.adapt_mean.numpy(), data.mean(0), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(batched.adapt_variance.numpy(), data.var(0), rtol=1e-5, atol=1e-6)
    y = whole(data).numpy()
    numpy.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    numpy.testing.assert_allclose(y.std(0), 1, rtol=1e-4)


def test_normalization_axis_none_adapts_one_scalar_mean_and_variance():
    data = numpy.arange(12, dtype=numpy.float32).reshape(4, 3)
    layer = layers.Normalization(axis=None)
    layer.adapt(data)
    assert layer.adapt_mean.shape == ()
    numpy.testing.assert_allclose(layer(data).numpy(), (data - data.mean()) / data.std(), rtol=1e-5)


def test_normalization_adapt_errors():
    layer = layers.Normalization()
    layer.adapt(numpy.zeros((4, 3), numpy.float32))
    with pytest.raises(ValueError, match="adapt"):
        layer.adapt(numpy.zeros((4, 5), numpy.float32))
    with pytest.raises(ValueError, match="no data"):
        layers.Normalization().adapt([])
    with pytest.raises(ValueError, match="constructor"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(numpy.zeros((2, 2)))

"""Core and activation layers: one table through the layer harness (shapes, config, weights, gradients,
PyTorch), then the facts a table row cannot state (parameter counts, dropout statistics, errors)."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .helpers import LazyModule, torch_module
from .layer_harness import (
    LayerCase,
    channels_first_to_last,
    channels_last_to_first,
    copy_into,
    grad_of,
    layer_cases,
    run_layer_test,
)

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)
F = LazyModule("torch.nn.functional")


# ---- torch equivalents ------------------------------------------------------------------
def torch_linear(layer):
    """nn.Linear with the Dense weights: torch's weight is (units, input_dim) = kernelᵀ."""
    lin = torch.nn.Linear(layer.kernel.shape[0], layer.units, bias=layer.use_bias)
    copy_into(lin.weight, layer.kernel.numpy().T)
    if layer.use_bias:
        copy_into(lin.bias, layer.bias.numpy())
    activation = {"linear": None, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[
        nk.activations.serialize(layer.activation)]
    return (lin if activation is None else torch.nn.Sequential(lin, _Fn(activation))), None, None


def linear_weight_map(layer, module):
    lin = module if isinstance(module, torch.nn.Linear) else module[0]
    pairs = [(layer.kernel, grad_of(lin.weight, lambda g: g.T))]
    if layer.use_bias:
        pairs.append((layer.bias, grad_of(lin.bias)))
    return pairs


@torch_module
class _Fn:
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def fn(f):
    """torch_equivalent for a weightless layer whose torch form is ``f(layer)(x)``."""
    return lambda layer: (f(layer), None, None)


def torch_relu(layer):
    def f(x):
        y = torch.where(x >= layer.threshold, x, layer.negative_slope * (x - layer.threshold))
        return y if layer.max_value is None else torch.clamp(y, max=layer.max_value)

    return f


def torch_prelu(layer):
    """nn.PReLU over channels_first inputs: one slope per channel (Keras: shared_axes = every spatial axis)."""
    channels = layer.alpha.shape[-1]
    prelu = torch.nn.PReLU(num_parameters=channels)
    copy_into(prelu.weight, layer.alpha.numpy().reshape(-1))
    return prelu, channels_last_to_first, channels_first_to_last


def prelu_weight_map(layer, prelu):
    return [(layer.alpha, grad_of(prelu.weight, lambda g: g.reshape(layer.alpha.shape)))]


def torch_prelu_full(layer):
    """PReLU with one slope per feature: y = max(x, 0) + α · min(x, 0), α a torch leaf."""
    alpha = torch.nn.Parameter(torch.from_numpy(layer.alpha.numpy().copy()))
    module = _Fn(lambda x: torch.clamp(x, min=0) + alpha * torch.clamp(x, max=0))
    module.alpha = alpha
    return module, None, None


def softmax_over(axes):
    return lambda x: torch.exp(x - torch.logsumexp(x, dim=axes, keepdim=True))


CASES = [
    LayerCase("dense", layers.Dense, {"units": 3}, (4, 5), expected_output_shape=(4, 3),
              expected_num_trainable_weights=2, expected_num_non_trainable_weights=0, expected_num_params=18,
              torch_equivalent=torch_linear, weight_map=linear_weight_map, gradcheck=True),
    LayerCase("dense_relu_no_bias", layers.Dense, {"units": 4, "activation": "relu", "use_bias": False}, (3, 6),
              expected_num_trainable_weights=1, expected_num_params=24,
              torch_equivalent=torch_linear, weight_map=linear_weight_map),
    LayerCase("dense_on_sequences", layers.Dense, {"units": 2, "activation": "tanh"}, (2, 3, 4),
              expected_output_shape=(2, 3, 2), torch_equivalent=torch_linear, weight_map=linear_weight_map),
    LayerCase("activation_sigmoid", layers.Activation, {"activation": "sigmoid"}, (3, 4),
              torch_equivalent=fn(lambda layer: torch.sigmoid)),
    LayerCase("dropout", layers.Dropout, {"rate": 0.5, "seed": 1}, (8, 16), training_modes=(False, True),
              training_changes_output=True, torch_equivalent=fn(lambda layer: lambda x: x)),
    LayerCase("dropout_rate_0", layers.Dropout, {"rate": 0.0}, (4, 4), training_modes=(False, True),
              training_changes_output=False),
    LayerCase("identity", layers.Identity, {}, (2, 3), torch_equivalent=fn(lambda layer: lambda x: x)),
    LayerCase("relu", layers.ReLU, {}, (3, 7), torch_equivalent=fn(lambda layer: torch.relu)),
    LayerCase("relu_max_value", layers.ReLU, {"max_value": 0.5}, (3, 7), torch_equivalent=fn(torch_relu)),
    LayerCase("relu_slope_threshold", layers.ReLU, {"negative_slope": 0.1, "threshold": 0.3, "max_value": 1.2},
              (3, 7), torch_equivalent=fn(torch_relu)),
    LayerCase("leaky_relu_default", layers.LeakyReLU, {}, (3, 7),
              torch_equivalent=fn(lambda layer: lambda x: F.leaky_relu(x, 0.3))),
    LayerCase("leaky_relu_0_1", layers.LeakyReLU, {"negative_slope": 0.1}, (3, 7),
              torch_equivalent=fn(lambda layer: lambda x: F.leaky_relu(x, 0.1))),
    LayerCase("elu", layers.ELU, {"alpha": 0.7}, (3, 7), torch_equivalent=fn(lambda layer: lambda x: F.elu(x, 0.7))),
    LayerCase("softmax", layers.Softmax, {}, (3, 7), torch_equivalent=fn(lambda layer: lambda x: torch.softmax(x, -1))),
    LayerCase("softmax_axis_1", layers.Softmax, {"axis": 1}, (2, 4, 3),
              torch_equivalent=fn(lambda layer: lambda x: torch.softmax(x, 1))),
    LayerCase("softmax_two_axes", layers.Softmax, {"axis": [1, 2]}, (2, 4, 3),
              torch_equivalent=fn(lambda layer: softmax_over((1, 2))), gradcheck=True),
    LayerCase("prelu_per_channel", layers.PReLU, {"shared_axes": [1, 2]}, (2, 4, 5, 3), expected_num_params=3,
              torch_equivalent=torch_prelu, weight_map=prelu_weight_map),
    LayerCase("prelu_per_feature", layers.PReLU, {"alpha_initializer": "ones"}, (3, 6), expected_num_params=6,
              torch_equivalent=torch_prelu_full,
              weight_map=lambda layer, m: [(layer.alpha, grad_of(m.alpha))], gradcheck=True),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- Dense ----------------------------------------------------------------------------------
def test_dense_10_units_on_784_inputs_has_7850_params():
    layer = layers.Dense(10)
    layer.build((None, 784))
    assert layer.count_params() == 784 * 10 + 10 == 7850
    assert [tuple(w.shape) for w in layer.weights] == [(784, 10), (10,)]


def test_dense_forward_and_backward_match_torch_linear_with_kernel_as_weight_transposed():
    rng = numpy.random.default_rng(3)
    layer = layers.Dense(7, activation="relu")
    x = rng.standard_normal((5, 11)).astype(numpy.float32)
    layer(x)
    layer.bias.assign(rng.standard_normal(7).astype(numpy.float32))
    lin = torch.nn.Linear(11, 7)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.kernel.numpy().T))
        lin.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    xt, xn = torch.from_numpy(x).requires_grad_(), nk.Tensor(x, requires_grad=True)
    y, yt = layer(xn), torch.relu(lin(xt))
    numpy.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(numpy.float32)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    numpy.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(layer.kernel.grad, lin.weight.grad.numpy().T, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(layer.bias.grad, lin.bias.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_fed_another_feature_size_after_build_raises_a_clear_error():
    layer = layers.Dense(10)
    layer(numpy.zeros((2, 784), dtype=numpy.float32))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 784.*\(2, 100\)"):
        layer(numpy.zeros((2, 100), dtype=numpy.float32))


# ---- Dropout ----------------------------------------------------------------------------------
def test_dropout_zeroes_rate_of_units_and_scales_the_rest_in_training_and_is_identity_at_inference():
    rate = 0.3
    layer = layers.Dropout(rate, seed=0)
    x = numpy.ones((200, 500), dtype=numpy.float32)
    y = layer(x, training=True).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - rate) < 0.01, dropped
    numpy.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01  # E[y] = x: inverted dropout needs no rescaling at inference
    numpy.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    numpy.testing.assert_array_equal(layer(x).numpy(), x)  # inference by default


def test_dropout_masks_differ_between_calls_but_a_seed_makes_them_reproducible():
    x = numpy.ones((10, 50), dtype=numpy.float32)
    a, b = layers.Dropout(0.5, seed=7), layers.Dropout(0.5, seed=7)
    first, second = a(x, training=True).numpy(), a(x, training=True).numpy()
    assert not numpy.array_equal(first, second)
    numpy.testing.assert_array_equal(b(x, training=True).numpy(), first)


# ---- activation layers ------------------------------------------------------------------------------
def test_leaky_relu_layer_default_slope_is_keras_0_3_not_the_function_default_0_2():
    y = layers.LeakyReLU()(numpy.array([[-10.0, 5.0]], dtype=numpy.float32)).numpy()
    numpy.testing.assert_allclose(y, [[-3.0, 5.0]])
    assert layers.LeakyReLU().get_config()["negative_slope"] == 0.3


def test_leaky_relu_accepts_the_deprecated_alpha_argument():
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


@pytest.mark.parametrize("arg", ["max_value", "negative_slope", "threshold"])
def test_relu_rejects_a_negative_argument_naming_it(arg):
    with pytest.raises(ValueError, match=rf"{arg} of a ReLU layer cannot be .*negative value. Received: {arg}=-1"):
        layers.ReLU(**{arg: -1})


def test_relu_follows_keras_piecewise_formula():
    x = numpy.array([[-2.0, 0.1, 0.5, 3.0]], dtype=numpy.float32)
    y = layers.ReLU(max_value=2.0, negative_slope=0.5, threshold=0.2)(x).numpy()
    numpy.testing.assert_allclose(y, [[0.5 * (-2.2), 0.5 * (0.1 - 0.2), 0.5, 2.0]], rtol=1e-6)


def test_softmax_mask_gives_masked_entries_zero_probability():
    x = numpy.array([[1.0, 2.0, 3.0, 4.0]], dtype=numpy.float32)
    mask = numpy.array([[True, True, False, True]])
    y = layers.Softmax()(x, mask=mask).numpy()
    assert y[0, 2] < 1e-8
    e = numpy.exp([1.0, 2.0, 4.0])
    numpy.testing.assert_allclose(y[0, [0, 1, 3]], e / e.sum(), rtol=1e-6)


def test_softmax_uses_the_mask_carried_by_its_input():
    x = nk.Tensor(numpy.zeros((1, 4), dtype=numpy.float32))
    x._keras_mask = numpy.array([[True, False, True, False]])
    numpy.testing.assert_allclose(layers.Softmax()(x).numpy(), [[0.5, 0.0, 0.5, 0.0]], atol=1e-7)


def test_prelu_shares_slopes_over_shared_axes():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 8, 8, 3))
    assert tuple(layer.alpha.shape) == (1, 1, 3)
    with pytest.raises(ValueError, match="shared axis 4 does not exist"):
        layers.PReLU(shared_axes=[4]).build((None, 8, 8, 3))


# ---- the harness itself ----------------------------------------------------------------------------------
def test_harness_refuses_a_torch_comparison_that_leaves_weight_gradients_unchecked():
    with pytest.raises(AssertionError, match="weight_map does not map the trainable weights"):
        run_layer_test(layers.Dense, {"units": 2}, (2, 3), torch_equivalent=torch_linear)


def test_harness_catches_a_torch_mismatch():
    def untransposed(layer):  # the classic bug: kernel copied without the transpose
        lin = torch.nn.Linear(3, 3)
        copy_into(lin.weight, layer.kernel.numpy())
        copy_into(lin.bias, layer.bias.numpy())
        return lin, None, None

    with pytest.raises(AssertionError, match="forward output 0 differs from PyTorch"):
        run_layer_test(layers.Dense, {"units": 3}, (2, 3), torch_equivalent=untransposed,
                       weight_map=lambda layer, m: [(layer.kernel, grad_of(m.weight)), (layer.bias, grad_of(m.bias))])


def test_harness_gradcheck_catches_a_wrong_backward():
    class WrongSquare(nk.Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, gy):  # wrong on purpose: d(x²)/dx is 2x
            return gy * 3 * self.x

    class Square(layers.Layer):
        def call(self, x):
            return WrongSquare.apply(x)

    with pytest.raises(AssertionError, match="float64 gradient of input 0 vs central differences"):
        run_layer_test(Square, {}, (2, 3), gradcheck=True)


def test_harness_catches_a_config_that_forgets_an_argument():
    class Forgetful(layers.Layer):
        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, x):
            return x * self.scale

        def get_config(self):  # overrides Keras's automatic config, and forgets `scale`
            return super().get_config()

    with pytest.raises(AssertionError, match="forgot the argument 'scale'"):
        run_layer_test(Forgetful, {"scale": 2.0}, (2, 3))

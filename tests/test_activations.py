"""One table of activation cases, each run through one harness:

(a) the backward against central differences in float64 (``neuronka.gradcheck``),
(b) forward and backward against PyTorch in float32 over several shapes,
(c) finite outputs and gradients in float32 for |x| up to 1e4, with no overflow or invalid operation.

A row: (id, neuronka function, torch function given the torch module). Inputs
are kept at least 0.1 away from every kink (0, ±3, 6 and the thresholds used).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import activations

from .helpers import compare_with_torch, torch_or_skip


def _f(t):
    return t.nn.functional


# id, neuronka fn, torch fn (given the torch module)
CASES = [
    ("linear", activations.linear, lambda t: lambda x: x * 1.0),
    ("sigmoid", activations.sigmoid, lambda t: t.sigmoid),
    ("tanh", activations.tanh, lambda t: t.tanh),
    ("relu", activations.relu, lambda t: _f(t).relu),
    ("relu_max_value", lambda x: activations.relu(x, max_value=4.0), lambda t: lambda x: t.clamp(x, 0.0, 4.0)),
    ("relu_threshold", lambda x: activations.relu(x, threshold=0.5), lambda t: lambda x: _f(t).threshold(x, 0.5, 0.0)),
    ("relu_slope_threshold_max", lambda x: activations.relu(x, negative_slope=0.1, max_value=4.0, threshold=-0.5),
     lambda t: lambda x: t.where(x > -0.5, t.clamp(x, 0.0, 4.0), 0.1 * (x + 0.5))),
    ("leaky_relu_keras_default_0.2", activations.leaky_relu, lambda t: lambda x: _f(t).leaky_relu(x, 0.2)),
    ("leaky_relu_notes_0.1", lambda x: activations.leaky_relu(x, negative_slope=0.1),
     lambda t: lambda x: _f(t).leaky_relu(x, 0.1)),
    ("relu6", activations.relu6, lambda t: _f(t).relu6),
    ("elu", activations.elu, lambda t: _f(t).elu),
    ("elu_alpha_0.5", lambda x: activations.elu(x, alpha=0.5), lambda t: lambda x: _f(t).elu(x, alpha=0.5)),
    ("selu", activations.selu, lambda t: _f(t).selu),
    ("gelu_exact_keras_default", activations.gelu, lambda t: lambda x: _f(t).gelu(x, approximate="none")),
    ("gelu_tanh", lambda x: activations.gelu(x, approximate=True),
     lambda t: lambda x: _f(t).gelu(x, approximate="tanh")),
    ("silu", activations.silu, lambda t: _f(t).silu),
    ("swish", activations.swish, lambda t: _f(t).silu),
    ("softplus", activations.softplus, lambda t: _f(t).softplus),
    ("softsign", activations.softsign, lambda t: _f(t).softsign),
    ("hard_sigmoid", activations.hard_sigmoid, lambda t: _f(t).hardsigmoid),  # Keras 3: relu6(x + 3)/6
    ("softmax", activations.softmax, lambda t: lambda x: t.softmax(x, dim=-1)),
    ("softmax_axis0", lambda x: activations.softmax(x, axis=0), lambda t: lambda x: t.softmax(x, dim=0)),
    ("log_softmax", activations.log_softmax, lambda t: lambda x: t.log_softmax(x, dim=-1)),
    ("log_softmax_axis0", lambda x: activations.log_softmax(x, axis=0), lambda t: lambda x: t.log_softmax(x, dim=0)),
    ("celu", activations.celu, lambda t: _f(t).celu),
    ("celu_alpha_0.5", lambda x: activations.celu(x, alpha=0.5), lambda t: lambda x: _f(t).celu(x, alpha=0.5)),
    ("exponential", activations.exponential, lambda t: t.exp),
    ("glu_of_x_and_x_halved", lambda x: activations.glu(nk.ops.concatenate([x, 0.5 * x], axis=-1)),
     lambda t: lambda x: _f(t).glu(t.cat([x, 0.5 * x], dim=-1), dim=-1)),
    ("hard_shrink", activations.hard_shrink, lambda t: _f(t).hardshrink),
    ("hard_silu", activations.hard_silu, lambda t: _f(t).hardswish),
    ("hard_swish", activations.hard_swish, lambda t: _f(t).hardswish),
    ("hard_tanh", activations.hard_tanh, lambda t: _f(t).hardtanh),
    ("log_sigmoid", activations.log_sigmoid, lambda t: _f(t).logsigmoid),
    ("mish", activations.mish, lambda t: _f(t).mish),
    ("soft_shrink", activations.soft_shrink, lambda t: _f(t).softshrink),
    ("sparse_plus", activations.sparse_plus,
     lambda t: lambda x: t.where(x <= -1, 0.0 * x, t.where(x < 1, 0.25 * (x + 1) ** 2, x))),
    ("sparse_sigmoid", activations.sparse_sigmoid, lambda t: lambda x: 0.5 * (t.clamp(x, -1.0, 1.0) + 1)),
    ("sparsemax", activations.sparsemax, lambda t: lambda x: _torch_sparsemax(t, x, -1)),
    ("sparsemax_axis0", lambda x: activations.sparsemax(x, axis=0), lambda t: lambda x: _torch_sparsemax(t, x, 0)),
    ("squareplus", activations.squareplus, lambda t: lambda x: (x + t.sqrt(x * x + 4)) / 2),
    ("squareplus_b_1", lambda x: activations.squareplus(x, b=1), lambda t: lambda x: (x + t.sqrt(x * x + 1)) / 2),
    ("tanh_shrink", activations.tanh_shrink, lambda t: _f(t).tanhshrink),
    ("threshold", lambda x: activations.threshold(x, 0.5, -2.0), lambda t: lambda x: _f(t).threshold(x, 0.5, -2.0)),
]


def _torch_sparsemax(t, x, dim):
    """Sparsemax as defined (Martins & Astudillo, 2016), differentiated by torch's autograd."""
    z = t.sort(x, dim=dim, descending=True).values
    csum = z.cumsum(dim)
    shape = [1] * x.dim()
    shape[dim] = -1
    j = t.arange(1, x.shape[dim] + 1, dtype=x.dtype).reshape(shape)
    k = (1 + j * z > csum).sum(dim=dim, keepdim=True)
    tau = (csum.gather(dim, k - 1) - 1) / k
    return t.clamp(x - tau, min=0.0)

IDS = [c[0] for c in CASES]
SHAPES = [(7,), (4, 5), (2, 3, 4)]
KINKS = numpy.array([0.0, -3.0, 3.0, 6.0, 0.5, -0.5, 4.0, 1.0, -1.0])
EXTREMES = numpy.array([-1e4, -100.0, -88.0, -20.0, -1.0, 0.0, 1.0, 20.0, 88.0, 100.0, 1e4])
OVERFLOWING = {"exponential": 88.0}  # e^x is finite in float32 up to x ≈ 88.7, in Keras as here


def away_from_kinks(rng, shape, low=-7.0, high=7.0):
    """Uniform values with no entry within 0.1 of a kink (where finite differences and torch may disagree)."""
    x = rng.uniform(low, high, shape)
    near = (numpy.abs(x[..., None] - KINKS) < 0.1).any(-1)
    return numpy.where(near, x + 0.25, x)


@pytest.mark.parametrize("name,fn,torch_fn", CASES, ids=IDS)
def test_activation_gradient_matches_central_differences(name, fn, torch_fn):
    x = away_from_kinks(numpy.random.default_rng(0), (3, 4))
    assert nk.gradcheck(fn, [x])


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,torch_fn", CASES, ids=IDS)
def test_activation_forward_and_backward_match_torch(name, fn, torch_fn, shape):
    torch = torch_or_skip()

    x = away_from_kinks(numpy.random.default_rng(1), shape)
    compare_with_torch(fn, torch_fn(torch), [x])


@pytest.mark.parametrize("name,fn,torch_fn", CASES, ids=IDS)
def test_activation_is_finite_in_float32_for_inputs_up_to_1e4(name, fn, torch_fn):
    values = numpy.concatenate([EXTREMES, -EXTREMES[::-1] * 0.5])
    values = numpy.minimum(values, OVERFLOWING.get(name, numpy.inf))
    x = nk.Tensor(values.astype(numpy.float32).reshape(2, 11), requires_grad=True)
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        y = fn(x)
        y.backward(numpy.ones(y.shape, numpy.float32))
    assert y.dtype == numpy.float32 and x.grad.dtype == numpy.float32
    assert numpy.isfinite(y.numpy()).all(), y.numpy()
    assert numpy.isfinite(x.grad).all(), x.grad


def test_every_keras_activation_name_is_in_the_table():
    missing = [n for n in activations.ALL_OBJECTS_DICT if not any(i == n or i.startswith(n + "_") for i in IDS)]
    assert not missing, f"activations without a row in CASES: {missing}"


def test_leaky_relu_with_the_notes_slope_is_max_of_0_1x_and_x_with_derivative_1_or_0_1():
    x = numpy.array([-5.0, -1.0, -0.25, 0.25, 1.0, 5.0], numpy.float32)
    y, dy = activations.derivative("leaky_relu", x, negative_slope=0.1)
    numpy.testing.assert_allclose(y, numpy.maximum(0.1 * x, x), rtol=1e-6)
    numpy.testing.assert_array_equal(dy, numpy.where(x > 0, 1.0, 0.1).astype(numpy.float32))
    # Keras's default slope is 0.2, not the notes' 0.1
    assert activations.derivative("leaky_relu", [-1.0])[1][0] == pytest.approx(0.2)


def test_derivative_of_softmax_is_its_jacobian_diag_p_minus_p_pT():
    x = numpy.random.default_rng(0).standard_normal((2, 4))
    y, jac = activations.derivative("softmax", x)
    assert jac.shape == (2, 4, 4)
    for p, j in zip(y, jac):
        numpy.testing.assert_allclose(j, numpy.diag(p) - numpy.outer(p, p), atol=1e-12)
    _, jac0 = activations.derivative("log_softmax", x, axis=0)  # the axis is moved last
    p0 = numpy.exp(x) / numpy.exp(x).sum(0)
    numpy.testing.assert_allclose(jac0[1], numpy.eye(2) - p0[:, 1][None, :], atol=1e-12)


def test_derivative_of_sigmoid_is_sigma_times_one_minus_sigma():
    x = numpy.linspace(-4, 4, 9)
    y, dy = activations.derivative("sigmoid", x)
    numpy.testing.assert_allclose(dy, y * (1 - y), rtol=1e-12)


def test_get_of_unknown_name_names_the_received_value_and_the_accepted_ones():
    with pytest.raises(ValueError, match="received 'nonexistent'.*relu"):
        activations.get("nonexistent")
    with pytest.raises(ValueError, match="received 3"):
        activations.get(3)


def test_get_serialize_deserialize_round_trip_every_builtin():
    for name, fn in activations.ALL_OBJECTS_DICT.items():
        assert activations.get(name) is fn
        assert activations.deserialize(activations.serialize(fn)) is fn
    assert activations.serialize(activations.swish) == "silu"
    assert activations.get(None) is activations.linear
    assert activations.get({"class_name": "function", "config": "relu"}) is activations.relu
    custom = lambda x: x  # noqa: E731
    assert activations.get(custom) is custom


def test_gelu_by_name_is_exact_as_in_keras_activations():
    x = numpy.array([-1.0, 0.5, 2.0])
    exact = activations.gelu(x, approximate=False).numpy()
    numpy.testing.assert_allclose(activations.get("gelu")(x).numpy(), exact)
    assert not numpy.allclose(activations.gelu(x, approximate=True).numpy(), exact, atol=1e-6, rtol=0)


def test_plot_activations_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from neuronka.plotting import plot_activations

    path = plot_activations(names=["relu", "leaky_relu", "sigmoid"], path=tmp_path / "act.png")
    data = (tmp_path / "act.png").read_bytes()
    assert path == str(tmp_path / "act.png")
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="softmax"):
        plot_activations(names=["softmax"], path=tmp_path / "no.png")

"""3-D (and N-D) convolutions and pooling of keras.ops against real Keras 3.15.1 (rows in the style of
tests/test_keras_ops_nn.py: values, shapes, dtypes, float64 central-difference gradients), their gradients
against PyTorch's conv3d / conv_transpose3d / max_pool3d / avg_pool3d, and a 4-D convolution (beyond Keras)
against its definition.

Average pooling rows with "same" padding keep an even padding total on every axis: Keras's torch backend
pads an uneven one by replicating the edge, where neuronka counts only the real elements (TensorFlow's rule,
see tests/test_keras_ops_nn.py).
"""
from __future__ import annotations

import itertools
import warnings

import numpy
import pytest

import neuronka as nk
from neuronka.ops import convolution as C

from .helpers import torch_or_skip
from .keras_oracle import OpCase, op_cases

F32 = "float32"


def normal(*shapes, dtype=F32):
    return lambda r: tuple(r.normal(s, dtype=dtype) for s in shapes)


def _conv_rows():
    rows = []
    for pad in ("valid", "same"):
        for kw in ({}, {"strides": 2}, {"dilation_rate": 2}, {"strides": (2, 1, 3)}):
            kw = {**kw, "padding": pad}
            tag = "_".join(f"{k}{v}" for k, v in kw.items())
            rows.append(OpCase("ops.conv", normal((2, 7, 6, 8, 3), (3, 2, 3, 3, 4)), kw, id=f"3d_{tag}", atol=1e-5))
            rows.append(OpCase("ops.depthwise_conv", normal((2, 7, 6, 8, 3), (3, 2, 3, 3, 2)), kw, id=f"3d_{tag}"))
            rows.append(OpCase("ops.conv_transpose", normal((2, 4, 3, 5, 3), (3, 2, 3, 4, 3)), kw, id=f"3d_{tag}"))
    rows += [
        OpCase("ops.conv", normal((1, 4, 3, 4, 2), (3, 2, 3, 2, 2)), {"padding": "same"}, id="3d_grad", grad=(0, 1)),
        OpCase("ops.conv", normal((2, 5, 4, 5, 2), (2, 2, 2, 2, 3)), {"strides": (2, 1, 2)}, id="3d_strided_grad",
               grad=(0, 1)),
        OpCase("ops.conv", normal((2, 3, 6, 5, 7), (3, 3, 3, 3, 4)),
               {"data_format": "channels_first", "strides": 2, "padding": "same"}, id="3d_channels_first"),
        OpCase("ops.conv", normal((2, 4, 5, 4, 4), (3, 3, 3, 2, 6)), {"padding": "same"}, id="3d_groups2"),
        OpCase("ops.conv", normal((1, 4, 4, 3, 3), (2, 2, 2, 1, 6)), {}, id="3d_groups3_depthwise_grad",
               grad=(0, 1)),
        OpCase("ops.conv", normal((2, 5, 4, 6, 3), (1, 1, 1, 3, 4)), {}, id="3d_pointwise"),
        OpCase("ops.conv", normal((2, 5, 4, 6, 3), (3, 3, 3, 3, 4), dtype="float64"), {"padding": "same"},
               id="3d_float64"),
        OpCase("ops.conv_transpose", normal((2, 3, 2, 3, 3), (3, 3, 3, 4, 3)), {"strides": 2, "output_padding": 1},
               id="3d_output_padding"),
        OpCase("ops.conv_transpose", normal((2, 3, 3, 2, 4), (3, 2, 3, 2, 3)),
               {"strides": (2, 1, 2), "padding": "same", "output_padding": (1, 0, 0), "data_format": "channels_first"},
               id="3d_channels_first"),
        OpCase("ops.conv_transpose", normal((1, 2, 3, 2, 2), (2, 3, 2, 2, 2)), {"strides": 2, "padding": "same"},
               id="3d_grad", grad=(0, 1)),
        OpCase("ops.depthwise_conv", normal((2, 3, 5, 4, 6), (3, 3, 3, 3, 2)), {"data_format": "channels_first"},
               id="3d_channels_first"),
        OpCase("ops.depthwise_conv", normal((1, 4, 3, 4, 2), (3, 2, 3, 2, 2)), {"padding": "same"}, id="3d_grad",
               grad=(0, 1)),
        OpCase("ops.depthwise_conv", normal((1, 4, 3, 4, 2), (2, 2, 2, 2, 1)), {"strides": 2}, id="3d_m1_grad",
               grad=(0, 1)),
        OpCase("ops.separable_conv", normal((2, 5, 4, 6, 3), (3, 3, 3, 3, 2), (1, 1, 1, 6, 4)), {"padding": "same"},
               id="3d"),
        OpCase("ops.separable_conv", normal((1, 4, 3, 4, 2), (2, 2, 2, 2, 1), (1, 1, 1, 2, 3)), id="3d_grad",
               grad=(0, 1, 2)),
    ]
    return rows


def _pool_rows():
    rows = []
    for name in ("ops.max_pool", "ops.average_pool"):
        rows += [
            OpCase(name, normal((2, 4, 6, 8, 3)), {"pool_size": 2}, id="3d_2x2x2"),
            OpCase(name, normal((2, 7, 5, 9, 3)), {"pool_size": 3, "strides": 2}, id="3d_3_stride2_valid"),
            OpCase(name, normal((2, 7, 5, 9, 3)), {"pool_size": 3, "strides": 2, "padding": "same"},
                   id="3d_3_stride2_same"),
            OpCase(name, normal((2, 4, 5, 3, 2)), {"pool_size": 3, "strides": 1, "padding": "same"},
                   id="3d_3_stride1_same"),
            OpCase(name, normal((2, 5, 6, 7, 2)), {"pool_size": (2, 3, 1), "strides": (1, 2, 3)}, id="3d_rect"),
            OpCase(name, normal((2, 3, 4, 6, 8)), {"pool_size": 2, "data_format": "channels_first"},
                   id="3d_channels_first"),
            OpCase(name, normal((1, 4, 3, 5, 2)), {"pool_size": 3, "strides": 1, "padding": "same"}, id="3d_grad",
                   grad=(0,)),
            OpCase(name, normal((1, 4, 5, 4, 2)), {"pool_size": (2, 3, 2), "strides": 2}, id="3d_disjoint_grad",
                   grad=(0,)),
            OpCase(name, normal((2, 4, 4, 6, 3), dtype="float64"), {"pool_size": 2}, id="3d_float64"),
        ]
    return rows


CASES = _conv_rows() + _pool_rows()


@op_cases(CASES)
def test_3d_op_matches_keras(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case.run()


# ---------------------------------------------------------------------------------------------- gradients vs torch
def _grads(fn, *arrays, gy_seed=1):
    """(y, dL/d arrays) of neuronka's fn for L = Σ y·gy, gy random."""
    tensors = [nk.Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*tensors)
    gy = numpy.random.default_rng(gy_seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(nk.Tensor(gy))
    return y.numpy(), gy, [t.grad for t in tensors]


def _torch_grads(fn, *arrays, gy):
    torch = torch_or_skip()
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*tensors)
    y.backward(torch.tensor(gy))
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


CF = (0, 4, 1, 2, 3)  # channels_last -> channels_first
CL = (0, 2, 3, 4, 1)


@pytest.fixture(params=["im2col", "grid"])
def strategy(request):
    """Both N-D paths: the gathered columns, and the shifted products on the padded grid (stride 1)."""
    previous = C.set_strategy(request.param)
    yield request.param
    C.set_strategy(previous)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("strides,padding,dilation", [
    ((1, 1, 1), "valid", (1, 1, 1)), ((2, 1, 3), "valid", (1, 1, 1)), ((1, 1, 1), "same", (1, 1, 1)),
    ((1, 1, 1), "valid", (2, 1, 2)), ((1, 1, 1), "same", (1, 2, 1)),
])
def test_conv3d_and_conv_transpose3d_gradients_match_torch(strides, padding, dilation, strategy):
    torch = torch_or_skip()
    r = numpy.random.default_rng(0)
    x, w = r.standard_normal((2, 6, 5, 7, 3)), r.standard_normal((3, 2, 3, 3, 4))
    y, gy, (dx, dw) = _grads(lambda a, b: nk.ops.conv(a, b, strides, padding, dilation_rate=dilation), x, w)
    ty, (tdx, tdw) = _torch_grads(
        lambda a, b: torch.nn.functional.conv3d(a.permute(*CF), b.permute(4, 3, 0, 1, 2), stride=strides,
                                                padding=padding, dilation=dilation).permute(*CL), x, w, gy=gy)
    numpy.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-10)
    numpy.testing.assert_allclose(dx, tdx, rtol=1e-10, atol=1e-10)
    numpy.testing.assert_allclose(dw, tdw, rtol=1e-10, atol=1e-10)
    if padding == "valid":  # the adjoint: conv_transpose of y-shaped data with the same kernel
        k = r.standard_normal((3, 2, 3, 3, 4))  # (kd, kh, kw, out, in)
        z, gz, (dy, dk) = _grads(lambda a, b: nk.ops.conv_transpose(a, b, strides, "valid", dilation_rate=dilation),
                                 y, k)
        tz, (tdy, tdk) = _torch_grads(
            lambda a, b: torch.nn.functional.conv_transpose3d(a.permute(*CF), b.permute(4, 3, 0, 1, 2),
                                                              stride=strides, dilation=dilation).permute(*CL),
            y, k, gy=gz)
        numpy.testing.assert_allclose(z, tz, rtol=1e-10, atol=1e-10)
        numpy.testing.assert_allclose(dy, tdy, rtol=1e-10, atol=1e-10)
        numpy.testing.assert_allclose(dk, tdk, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pool,strides", [((2, 2, 2), None), ((3, 2, 3), (1, 2, 2)), ((2, 3, 2), (2, 1, 1))])
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pool3d_gradients_match_torch(kind, pool, strides):
    torch = torch_or_skip()
    x = numpy.random.default_rng(0).standard_normal((2, 6, 5, 7, 3))
    op = nk.ops.max_pool if kind == "max" else nk.ops.average_pool
    tfn = torch.nn.functional.max_pool3d if kind == "max" else torch.nn.functional.avg_pool3d
    y, gy, (dx,) = _grads(lambda a: op(a, pool, strides), x)
    ty, (tdx,) = _torch_grads(lambda a: tfn(a.permute(*CF), pool, strides or pool).permute(*CL), x, gy=gy)
    numpy.testing.assert_allclose(y, ty, rtol=1e-12, atol=1e-12)
    numpy.testing.assert_allclose(dx, tdx, rtol=1e-12, atol=1e-12)


def test_max_pool3d_gradient_goes_to_the_first_of_tied_maxima_as_torch():
    x = numpy.zeros((1, 2, 2, 4, 1))  # two windows, all eight elements of each tied
    _, gy, (dx,) = _grads(lambda a: nk.ops.max_pool(a, 2), x)
    expected = numpy.zeros_like(x)
    expected[0, 0, 0, 0, 0], expected[0, 0, 0, 2, 0] = gy.ravel()
    numpy.testing.assert_array_equal(dx, expected)


# ---------------------------------------------------------------------------------------------- N-D (beyond Keras)
def _reference_conv(x, w, strides, dilation):
    """y[n, i, o] = Σ_{a, c} x[n, i·s + a·d, c] W[a, c, o], "valid", by a loop over the taps."""
    nd = x.ndim - 2
    out = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(x.shape[1:-1], w.shape[:nd], strides, dilation)]
    y = numpy.zeros((x.shape[0], *out, w.shape[-1]))
    for tap in itertools.product(*(range(k) for k in w.shape[:nd])):
        view = x[(slice(None), *(slice(a * d, a * d + (o - 1) * s + 1, s)
                                 for a, d, o, s in zip(tap, dilation, out, strides)))]
        y += view @ w[tap]
    return y


@pytest.mark.parametrize("kwargs", [{"padding": "same"}, {"dilation_rate": (2, 1, 1)}, {}])
def test_conv3d_shifted_products_gradcheck(kwargs):
    r = numpy.random.default_rng(1)
    x, w, k = r.standard_normal((2, 4, 3, 4, 2)), r.standard_normal((2, 3, 2, 2, 3)), r.standard_normal((2, 3, 2, 3, 2))
    previous = C.set_strategy("grid")
    try:
        nk.gradcheck(lambda a, b: nk.ops.conv(a, b, **kwargs), [x, w])
        nk.gradcheck(lambda a, b: nk.ops.conv_transpose(a, b, **kwargs), [x, k])
    finally:
        C.set_strategy(previous)


def test_conv3d_paths_agree_on_a_benchmark_sized_layer():
    # large enough that "auto" takes the shifted products: they equal im2col's columns
    r = numpy.random.default_rng(2)
    x, w = r.standard_normal((2, 10, 9, 11, 8)).astype(F32), r.standard_normal((3, 3, 3, 8, 16)).astype(F32)
    results = {}
    for name in ("auto", "im2col"):
        previous = C.set_strategy(name)
        try:
            results[name] = _grads(lambda a, b: nk.ops.conv(a, b, padding="same"), x, w)
        finally:
            C.set_strategy(previous)
    (y, _, (dx, dw)), (y2, _, (dx2, dw2)) = results["auto"], results["im2col"]
    for a, b in ((y, y2), (dx, dx2), (dw, dw2)):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_4d_convolution_is_its_definition_with_gradients():
    r = numpy.random.default_rng(0)
    x, w = r.standard_normal((2, 4, 3, 5, 4, 2)), r.standard_normal((2, 2, 3, 2, 2, 3))
    y = nk.ops.conv(x, w, strides=(1, 2, 1, 2), dilation_rate=1)
    numpy.testing.assert_allclose(y.numpy(), _reference_conv(x, w, (1, 2, 1, 2), (1, 1, 1, 1)), rtol=1e-12)
    nk.gradcheck(lambda a, b: nk.ops.conv(a, b, padding="same"), [x[:1, :3], w])
    nk.gradcheck(lambda a: nk.ops.max_pool(a, 2, 1), [x[:1, :3]])

"""Normalization ops: one table of cases, each checked by float64 central differences and against
PyTorch in float32 (forward and the gradients of every input).

A row: (name, neuronka function, torch function (given the torch module), input shapes, input maker).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import ops
from neuronka.ops import normalization as nn

from .helpers import compare_with_torch, torch_or_skip


def normal(rng, shapes):
    return [rng.standard_normal(s) for s in shapes]


def stats_inputs(rng, shapes):
    """x, mean, variance (positive), then any offset/scale."""
    out = [rng.standard_normal(s) for s in shapes]
    out[2] = rng.uniform(0.5, 2.0, shapes[2])
    return out


def _flat(*ts):
    return ops.concatenate([ops.reshape(t, (-1,)) for t in ts])


def _torch_bn_last(t):  # batch norm over every axis but the last (channels_last)
    f = t.nn.functional
    return lambda x, g, b: f.batch_norm(x.movedim(-1, 1), None, None, g, b, training=True, eps=1e-3).movedim(1, -1)


def _torch_bn_inference(axis):
    def make(t):
        def run(x, m, v, o=None, s=None):
            shape = [1] * x.ndim
            shape[axis] = -1
            y = (x - m.reshape(shape)) / t.sqrt(v.reshape(shape) + 1e-3)
            if s is not None:
                y = y * s.reshape(shape)
            if o is not None:
                y = y + o.reshape(shape)
            return y

        return run

    return make


def _torch_layer_norm_axis1(t):  # normalize over axis 1 of (N, C, L), gamma (C,)
    def run(x, g, b):
        m = x.mean(1, keepdim=True)
        v = x.var(1, unbiased=False, keepdim=True)
        return (x - m) / t.sqrt(v + 1e-3) * g[:, None] + b[:, None]

    return run


CASES = [
    ("batch_norm_train_channels_last", lambda x, g, b: nn.batch_norm_train(x, g, b)[0], _torch_bn_last,
     [(4, 3, 5), (5,), (5,)], normal),
    ("batch_norm_train_channels_last_wide_rows", lambda x, g, b: nn.batch_norm_train(x, g, b)[0], _torch_bn_last,
     [(8, 4, 4, 8), (8,), (8,)], normal),
    ("batch_norm_train_dense", lambda x, g, b: nn.batch_norm_train(x, g, b)[0], _torch_bn_last,
     [(6, 3), (3,), (3,)], normal),
    ("batch_norm_train_channels_first", lambda x, g, b: nn.batch_norm_train(x, g, b, axis=1, epsilon=1e-5)[0],
     lambda t: lambda x, g, b: t.nn.functional.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
     [(3, 4, 2, 2), (4,), (4,)], normal),
    ("batch_norm_train_fused_relu", lambda x, g, b: nn.batch_norm_train(x, g, b, relu=True)[0],
     lambda t: lambda x, g, b: t.relu(_torch_bn_last(t)(x, g, b)), [(6, 2, 4), (4,), (4,)], normal),
    ("batch_norm_train_no_center_no_scale", lambda x: nn.batch_norm_train(x)[0],
     lambda t: lambda x: t.nn.functional.batch_norm(x, None, None, training=True, eps=1e-3), [(5, 3)], normal),
    ("batch_norm_train_scale_only_feature_axes_1_2",
     lambda x, g: nn.batch_norm_train(x, g, None, axis=(1, 2))[0],
     lambda t: lambda x, g: t.nn.functional.batch_norm(x.reshape(5, 6), None, None, g.reshape(6), None,
                                                       training=True, eps=1e-3).reshape(5, 2, 3),
     [(5, 2, 3), (2, 3)], normal),
    ("batch_normalization_inference_last_axis",
     lambda x, m, v, o, s: nn.batch_normalization(x, m, v, axis=-1, offset=o, scale=s),
     _torch_bn_inference(-1), [(4, 2, 3), (3,), (3,), (3,), (3,)], stats_inputs),
    ("batch_normalization_inference_wide_rows",
     lambda x, m, v, o, s: nn.batch_normalization(x, m, v, axis=-1, offset=o, scale=s),
     _torch_bn_inference(-1), [(16, 4, 8), (8,), (8,), (8,), (8,)], stats_inputs),
    ("batch_normalization_broadcastable_statistics",
     lambda x, m, v, s: nn.batch_normalization(x, m, v, axis=-1, scale=s),
     lambda t: lambda x, m, v, s: (x - m) / t.sqrt(v + 1e-3) * s, [(2, 3, 4), (3, 1), (3, 1), (4,)], stats_inputs),
    ("batch_normalization_inference_axis1_no_offset_scale",
     lambda x, m, v: nn.batch_normalization(x, m, v, axis=1), _torch_bn_inference(1),
     [(2, 3, 4), (3,), (3,)], stats_inputs),
    ("layer_norm_last_axis", lambda x, g, b: nn.layer_normalization(x, g, b, epsilon=1e-3),
     lambda t: lambda x, g, b: t.nn.functional.layer_norm(x, (5,), g, b, eps=1e-3), [(3, 2, 5), (5,), (5,)],
     normal),
    ("layer_norm_two_trailing_axes", lambda x, g, b: nn.layer_normalization(x, g, b, axis=(-2, -1), epsilon=1e-3),
     lambda t: lambda x, g, b: t.nn.functional.layer_norm(x, (2, 4), g, b, eps=1e-3), [(3, 2, 4), (2, 4), (2, 4)],
     normal),
    ("layer_norm_middle_axis", lambda x, g, b: nn.layer_normalization(x, g, b, axis=1, epsilon=1e-3),
     _torch_layer_norm_axis1, [(2, 4, 3), (4,), (4,)], normal),
    ("layer_norm_no_affine", lambda x: nn.layer_normalization(x, epsilon=1e-5),
     lambda t: lambda x: t.nn.functional.layer_norm(x, (4,), eps=1e-5), [(3, 4)], normal),
    ("rms_normalization_scale", lambda x, s: nn.rms_normalization(x, s),
     lambda t: lambda x, s: t.nn.functional.rms_norm(x, (4,), s, eps=1e-7), [(3, 4), (4,)], normal),
    ("rms_normalization_two_axes", lambda x: nn.rms_normalization(x, axis=(1, 2), epsilon=1e-3),
     lambda t: lambda x: t.nn.functional.rms_norm(x, (2, 3), eps=1e-3), [(2, 2, 3)], normal),
    ("normalize_l2", lambda x: nn.normalize(x), lambda t: lambda x: t.nn.functional.normalize(x, p=2, dim=-1, eps=1e-7),
     [(3, 4)], normal),
    ("normalize_l1_axis0", lambda x: nn.normalize(x, axis=0, order=1),
     lambda t: lambda x: t.nn.functional.normalize(x, p=1, dim=0, eps=1e-7), [(3, 4)], normal),
    ("normalize_l3", lambda x: nn.normalize(x, order=3),
     lambda t: lambda x: t.nn.functional.normalize(x, p=3, dim=-1, eps=1e-7), [(3, 4)], normal),
    ("moments", lambda x: _flat(*nn.moments(x, axes=(0, 2))),
     lambda t: lambda x: t.cat([x.mean((0, 2)), x.var((0, 2), unbiased=False)]), [(3, 2, 4)], normal),
]


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=[c[0] for c in CASES])
def test_normalization_gradients_match_central_differences(name, fn, torch_fn, shapes, maker):
    rng = numpy.random.default_rng(5)
    nk.gradcheck(fn, maker(rng, shapes))


@pytest.mark.torch
@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=[c[0] for c in CASES])
def test_normalization_forward_and_gradients_match_torch(name, fn, torch_fn, shapes, maker):
    torch = torch_or_skip()
    rng = numpy.random.default_rng(9)
    compare_with_torch(fn, torch_fn(torch), maker(rng, shapes), rtol=1e-4, atol=2e-5)


def test_batch_norm_train_returns_the_batch_mean_and_biased_variance_without_gradients():
    rng = numpy.random.default_rng(0)
    x = (rng.standard_normal((8, 4, 4, 3)) * 2 + 1).astype(numpy.float32)
    y, m, v = nn.batch_norm_train(nk.Tensor(x, requires_grad=True), numpy.ones(3, numpy.float32),
                                  numpy.zeros(3, numpy.float32))
    numpy.testing.assert_allclose(m.numpy(), x.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(v.numpy(), x.var((0, 1, 2)), rtol=1e-5)  # ddof=0
    assert m.shape == v.shape == (3,) and not m.requires_grad and not v.requires_grad
    assert y.dtype == m.dtype == v.dtype == numpy.float32
    # the normalized output has zero mean and (almost) unit variance per channel
    numpy.testing.assert_allclose(y.numpy().mean((0, 1, 2)), 0, atol=1e-5)
    numpy.testing.assert_allclose(y.numpy().var((0, 1, 2)), v.numpy() / (v.numpy() + 1e-3), rtol=1e-4)


def test_batch_norm_train_float32_stays_float32_and_frozen_parameters_get_no_gradient():
    rng = numpy.random.default_rng(0)
    x = nk.Tensor(rng.standard_normal((16, 5)).astype(numpy.float32), requires_grad=True)
    g = nk.Tensor(numpy.ones(5, numpy.float32))
    b = nk.Tensor(numpy.zeros(5, numpy.float32), requires_grad=True)
    y, _, _ = nn.batch_norm_train(x, g, b)
    (y * y).sum().backward()
    assert x.grad.dtype == numpy.float32 and b.grad.dtype == numpy.float32
    assert g.grad is None


def test_parameter_shapes_and_axes_are_validated_with_the_received_value():
    x = numpy.zeros((2, 3, 4), numpy.float32)
    with pytest.raises(ValueError, match="gamma"):
        nn.batch_norm_train(x, numpy.ones(3, numpy.float32))
    with pytest.raises(ValueError, match="out of range"):
        nn.layer_normalization(x, axis=3)
    with pytest.raises(ValueError, match="no axis"):
        nn.batch_norm_train(x, axis=(0, 1, 2))
    with pytest.raises(ValueError, match="mean"):
        nn.batch_normalization(x, numpy.zeros(3), numpy.ones(4), axis=-1)
    with pytest.raises(ValueError, match="order"):
        nn.normalize(x, order=0)


def test_normalize_below_epsilon_divides_by_epsilon():
    x = numpy.array([[3e-8, 4e-8], [3.0, 4.0]])
    y = nn.normalize(x).numpy()
    numpy.testing.assert_allclose(y, [[0.3, 0.4], [0.6, 0.8]])

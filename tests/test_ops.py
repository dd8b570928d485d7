"""One table of op cases, each checked twice: central differences in float64 and PyTorch in float32.

A row: (name, neuronka function, torch function, input shapes, input maker).
Inputs avoid kinks (|x| away from 0 for abs/relu) and ties so that the
finite differences are meaningful.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import ops

from .helpers import compare_with_torch, torch_or_skip


def normal(rng, shape):
    return rng.standard_normal(shape)


def away_from_zero(rng, shape):
    x = rng.uniform(0.2, 2.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def distinct(rng, shape):
    """Values with no ties (for max/min)."""
    n = int(numpy.prod(shape))
    return (rng.permutation(n).reshape(shape) / n * 4 - 2) + rng.uniform(0, 0.01, shape)


# name, neuronka fn, torch fn (given the torch module), shapes, maker
CASES = [
    ("add", ops.add, lambda t: t.add, [(3, 4), (4,)], normal),
    ("add_broadcast_both", ops.add, lambda t: t.add, [(3, 1), (1, 4)], normal),
    ("subtract", ops.subtract, lambda t: t.subtract, [(2, 3, 4), (3, 1)], normal),
    ("multiply", ops.multiply, lambda t: t.multiply, [(3, 4), (3, 4)], normal),
    ("multiply_broadcast", ops.multiply, lambda t: t.multiply, [(2, 3, 4), (1, 4)], normal),
    ("divide", ops.divide, lambda t: t.divide, [(3, 4), (4,)], away_from_zero),
    ("power", ops.power, lambda t: t.pow, [(3, 4), (3, 4)], positive),
    ("negative", ops.negative, lambda t: t.neg, [(5,)], normal),
    ("exp", ops.exp, lambda t: t.exp, [(3, 4)], normal),
    ("log", ops.log, lambda t: t.log, [(3, 4)], positive),
    ("sqrt", ops.sqrt, lambda t: t.sqrt, [(3, 4)], positive),
    ("abs", ops.abs, lambda t: t.abs, [(3, 4)], away_from_zero),
    ("square", ops.square, lambda t: t.square, [(3, 4)], normal),
    ("maximum", ops.maximum, lambda t: t.maximum, [(3, 4), (3, 4)], distinct),
    ("minimum", ops.minimum, lambda t: t.minimum, [(3, 4), (4,)], distinct),
    ("clip", lambda x: ops.clip(x, -0.5, 0.7), lambda t: lambda x: t.clamp(x, -0.5, 0.7), [(4, 5)], away_from_zero),
    ("matmul", ops.matmul, lambda t: t.matmul, [(3, 4), (4, 5)], normal),
    ("matmul_batched", ops.matmul, lambda t: t.matmul, [(2, 3, 4), (2, 4, 5)], normal),
    ("matmul_broadcast", ops.matmul, lambda t: t.matmul, [(2, 3, 4), (4, 5)], normal),
    ("matmul_vector", ops.matmul, lambda t: t.matmul, [(3, 4), (4,)], normal),
    ("sum_all", ops.sum, lambda t: t.sum, [(3, 4)], normal),
    ("sum_axis_keepdims", lambda x: ops.sum(x, axis=1, keepdims=True),
     lambda t: lambda x: t.sum(x, dim=1, keepdim=True), [(3, 4, 2)], normal),
    ("mean_axes", lambda x: ops.mean(x, axis=(0, 2)), lambda t: lambda x: t.mean(x, dim=(0, 2)), [(3, 4, 2)], normal),
    ("var", lambda x: ops.var(x, axis=-1), lambda t: lambda x: t.var(x, dim=-1, unbiased=False), [(3, 5)], normal),
    ("max_axis", lambda x: ops.max(x, axis=1), lambda t: lambda x: t.amax(x, dim=1), [(3, 5)], distinct),
    ("min_all", ops.min, lambda t: t.amin, [(3, 5)], distinct),
    ("reshape", lambda x: ops.reshape(x, (6, -1)), lambda t: lambda x: t.reshape(x, (6, -1)), [(3, 4)], normal),
    ("transpose", lambda x: ops.transpose(x, (2, 0, 1)), lambda t: lambda x: x.permute(2, 0, 1), [(2, 3, 4)], normal),
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), lambda t: lambda a, b: t.cat([a, b], dim=1),
     [(2, 3), (2, 5)], normal),
    ("stack", lambda a, b: ops.stack([a, b], axis=1), lambda t: lambda a, b: t.stack([a, b], dim=1),
     [(2, 3), (2, 3)], normal),
    ("split", lambda x: ops.split(x, 3, axis=1)[1] * 2.0, lambda t: lambda x: t.split(x, 2, dim=1)[1] * 2.0,
     [(2, 6)], normal),
    ("slice", lambda x: x[1:, ::2], lambda t: lambda x: x[1:, ::2], [(3, 5)], normal),
    ("take_repeated", lambda x: ops.take(x, numpy.array([0, 2, 2, 1]), axis=1),
     lambda t: lambda x: t.index_select(x, 1, t.tensor([0, 2, 2, 1])), [(3, 4)], normal),
    ("fancy_index", lambda x: x[numpy.array([0, 0, 2])], lambda t: lambda x: x[t.tensor([0, 0, 2])], [(3, 4)],
     normal),
    ("pad", lambda x: ops.pad(x, ((1, 2), (0, 1))), lambda t: lambda x: t.nn.functional.pad(x, (0, 1, 1, 2)),
     [(3, 4)], normal),
    ("where", lambda a, b: ops.where(numpy.arange(12).reshape(3, 4) % 3 == 0, a, b),
     lambda t: lambda a, b: t.where(t.arange(12).reshape(3, 4) % 3 == 0, a, b), [(3, 4), (4,)], normal),
]


@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=[c[0] for c in CASES])
def test_op_gradient_matches_central_differences(name, fn, torch_fn, shapes, maker):
    rng = numpy.random.default_rng(0)
    inputs = [maker(rng, s) for s in shapes]
    assert nk.gradcheck(fn, inputs)


@pytest.mark.torch
@pytest.mark.parametrize("name,fn,torch_fn,shapes,maker", CASES, ids=[c[0] for c in CASES])
def test_op_forward_and_backward_match_torch(name, fn, torch_fn, shapes, maker):
    torch = torch_or_skip()

    rng = numpy.random.default_rng(0)
    inputs = [maker(rng, s) for s in shapes]
    compare_with_torch(fn, torch_fn(torch), inputs)


def test_threaded_constant_padding_of_a_batch_equals_numpy_pad():
    # a batch large enough for Pad._pad_batch (the images split between the threads; borders written, x copied)
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((64, 16, 8, 9)).astype(numpy.float32)
    width = ((0, 0), (1, 1), (2, 0), (3, 1))
    xt = nk.Tensor(x, requires_grad=True)
    y = ops.pad(xt, width, constant_values=0.5)
    numpy.testing.assert_array_equal(y.numpy(), numpy.pad(x, width, constant_values=0.5))
    gy = rng.standard_normal(y.shape).astype(numpy.float32)
    y.backward(gy)
    numpy.testing.assert_array_equal(xt.grad, gy[:, 1:17, 2:10, 3:12])

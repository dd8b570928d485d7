"""Dropout and stochastic depth: one table of cases through one harness.

Each case checks, on one draw: the kept fraction ≈ 1 − rate (a binomial bound), kept values are
exactly x/(1 − rate) and dropped ones 0, the mask is constant along the broadcast axes of
``noise_shape``, the gradient is mask/(1 − rate), the same integer seed gives the same mask, and
central differences agree (the integer seed makes the mask a fixed function).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka.ops import random as nkr

# name, input shape, rate, noise_shape (None: elementwise), function of (x, seed)
CASES = [
    ("dropout_elementwise", (64, 50), 0.3, None, lambda x, s: nkr.dropout(x, 0.3, seed=s)),
    ("dropout_high_rate", (40, 40), 0.9, None, lambda x, s: nkr.dropout(x, 0.9, seed=s)),
    ("spatial_dropout_2d", (16, 6, 6, 32), 0.5, (16, 1, 1, 32),
     lambda x, s: nkr.dropout(x, 0.5, noise_shape=(None, 1, 1, None), seed=s)),
    ("spatial_dropout_1d", (32, 10, 24), 0.25, (32, 1, 24),
     lambda x, s: nkr.dropout(x, 0.25, noise_shape=(32, 1, 24), seed=s)),
    ("stochastic_depth", (400, 3, 3, 2), 0.2, (400, 1, 1, 1), lambda x, s: nkr.stochastic_depth(x, 0.2, seed=s)),
]


@pytest.mark.parametrize("name,shape,rate,noise_shape,fn", CASES, ids=[c[0] for c in CASES])
def test_dropout_mask_statistics_scaling_broadcasting_gradient_and_seed(name, shape, rate, noise_shape, fn):
    rng = numpy.random.default_rng(0)
    x_np = rng.uniform(0.5, 1.5, shape).astype(numpy.float32)  # nonzero, so dropped entries are visible
    x = nk.Tensor(x_np, requires_grad=True)
    y = fn(x, 42)
    assert y.dtype == numpy.float32
    yv = y.numpy()
    kept = yv != 0
    numpy.testing.assert_allclose(yv[kept], x_np[kept] / (1 - rate), rtol=1e-6)
    # one Bernoulli draw per noise_shape entry, broadcast along the other axes
    ns = noise_shape or shape
    draws = kept[tuple(slice(0, 1) if d == 1 else slice(None) for d in ns)]
    assert numpy.array_equal(numpy.broadcast_to(draws, shape), kept)
    n = draws.size
    bound = 4 * numpy.sqrt(rate * (1 - rate) / n) + 1e-9
    assert abs(draws.mean() - (1 - rate)) < bound, (draws.mean(), 1 - rate)
    # the gradient is the scaled mask
    y.backward(numpy.ones(shape, numpy.float32))
    numpy.testing.assert_allclose(x.grad, kept / numpy.float32(1 - rate), rtol=1e-6)
    # the same integer seed gives the same mask; another seed another one
    assert numpy.array_equal(fn(x_np, 42).numpy(), yv)
    assert not numpy.array_equal(fn(x_np, 43).numpy() != 0, kept)
    # central differences (on a small slice of the shape, float64)
    small = numpy.random.default_rng(1).uniform(0.5, 1.5, tuple(min(d, 3) for d in shape))
    small_ns = None if noise_shape is None else tuple(min(d, 3) if d != 1 else 1 for d in noise_shape)
    nk.gradcheck(lambda t: nkr.dropout(t, rate, noise_shape=small_ns, seed=7), [small])


def test_set_seed_makes_the_module_generator_reproducible():
    x = numpy.ones((20, 20), numpy.float32)
    nkr.set_seed(123)
    a = nkr.dropout(x, 0.5).numpy(), nkr.dropout(x, 0.5).numpy()
    nkr.set_seed(123)
    b = nkr.dropout(x, 0.5).numpy(), nkr.dropout(x, 0.5).numpy()
    assert numpy.array_equal(a[0], b[0]) and numpy.array_equal(a[1], b[1])
    assert not numpy.array_equal(a[0], a[1])  # the generator advances between calls


def test_a_passed_generator_is_used_and_advanced():
    x = numpy.ones((30, 30))
    r1, r2 = numpy.random.default_rng(5), numpy.random.default_rng(5)
    first = nkr.dropout(x, 0.4, rng=r1).numpy()
    assert numpy.array_equal(first, nkr.dropout(x, 0.4, seed=r2).numpy())
    assert not numpy.array_equal(first, nkr.dropout(x, 0.4, rng=r1).numpy())


def test_rate_zero_is_identity_rate_one_is_zeros_and_bad_arguments_are_named():
    x = nk.Tensor(numpy.ones((3, 4), numpy.float32), requires_grad=True)
    assert nkr.dropout(x, 0.0) is x
    y = nkr.dropout(x, 1.0, seed=0)
    assert not y.numpy().any()
    y.backward(numpy.ones((3, 4), numpy.float32))
    assert not x.grad.any()
    with pytest.raises(ValueError, match="rate"):
        nkr.dropout(x, 1.5)
    with pytest.raises(ValueError, match="noise_shape"):
        nkr.dropout(x, 0.5, noise_shape=(3, 2))
    with pytest.raises(ValueError, match="noise_shape"):
        nkr.dropout(x, 0.5, noise_shape=(3,))
    with pytest.raises(TypeError, match="seed"):
        nkr.dropout(x, 0.5, seed="abc")


def test_dropout_mask_helper_for_reused_masks_has_mean_one():
    m = nkr.dropout_mask((200, 100), 0.25, dtype="float32", seed=0)
    assert m.dtype == numpy.float32 and set(numpy.unique(m)) <= {0.0, numpy.float32(1 / 0.75)}
    assert abs(m.mean() - 1.0) < 0.02

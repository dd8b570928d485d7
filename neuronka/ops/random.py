"""Seeded random masks: dropout (inverted), spatial dropout via ``noise_shape``, stochastic depth.

Randomness comes from a NumPy ``Generator``: the module's own (reseeded by :func:`set_seed`),
a fresh one from an integer ``seed`` (the same mask on every call, as Keras's integer seeds),
or one passed in as ``seed`` or ``rng``. Masks are drawn on the CPU and moved to x's device.

Inverted dropout keeps each unit with probability 1 − rate and scales the kept ones by
1/(1 − rate), so E[y] = x and inference needs no rescaling:

    y = x · m/(1 − rate),  m ~ Bernoulli(1 − rate);   dL/dx = g · m/(1 − rate)

Drop-connect style masking of weights is the same product (``ops.multiply(w, mask)``).
"""
from __future__ import annotations

import numbers

import numpy

from ..autograd import Function, Tensor, _as_array, as_tensor
from ..backend import get_array_module


def set_seed(seed: int | None) -> None:
    """Reseed the global generator used when no ``seed``/``rng`` is given (``neuronka.random.set_random_seed``;
    ``None``: fresh entropy)."""
    from .. import random as _random  # noqa: PLC0415 - neuronka.random imports this module

    if seed is None:
        _random._global_generator = None
    else:
        _random.set_random_seed(int(seed))


def get_rng(seed=None, rng: numpy.random.Generator | None = None) -> numpy.random.Generator:
    """The generator to draw from: ``rng`` if given, else Keras's ``seed`` argument turned into one by
    :func:`neuronka.random.generator` (None: the global SeedGenerator; an int: the same values on every
    call; a SeedGenerator: its next state; a numpy Generator: itself)."""
    from .. import random as _random  # noqa: PLC0415

    if rng is not None:
        if not isinstance(rng, numpy.random.Generator):
            raise TypeError(f"expected rng to be a numpy.random.Generator, received {type(rng).__name__}")
        return rng
    try:
        return _random.generator(seed)
    except ValueError:
        raise TypeError(f"expected seed to be None, an int, a SeedGenerator or a numpy.random.Generator, "
                        f"received {seed!r}") from None


def _check_rate(rate, op):
    if not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
        raise ValueError(f"{op}: expected rate to be a float in [0, 1], received rate={rate!r}")
    return float(rate)


def _noise_shape(noise_shape, shape, op):
    if noise_shape is None:
        return tuple(shape)
    ns = tuple(noise_shape)
    if len(ns) != len(shape):
        raise ValueError(f"{op}: expected noise_shape of rank {len(shape)} for an input of shape {tuple(shape)}, "
                         f"received noise_shape={ns}")
    ns = tuple(n if d is None else int(d) for d, n in zip(ns, shape))  # None: the input's size (Keras)
    if any(d not in (1, n) for d, n in zip(ns, shape)):
        raise ValueError(f"{op}: each noise_shape entry must be 1 or the input's size; received noise_shape={ns} "
                         f"for an input of shape {tuple(shape)}")
    return ns


def dropout_mask(shape, rate: float, dtype="float32", seed=None, rng=None, xp=numpy):
    """The scaled keep-mask m/(1 − rate), m ~ Bernoulli(1 − rate), as an array of ``shape``.

    For masks reused across steps (an RNN's dropout) or applied to weights (drop-connect).
    """
    rate = _check_rate(rate, "dropout_mask")
    dtype = numpy.dtype(dtype)
    if rate == 1.0:
        return xp.zeros(shape, dtype=dtype)
    u = get_rng(seed, rng).random(shape, dtype=numpy.float64 if dtype == numpy.float64 else numpy.float32)
    keep = (u >= rate).astype(dtype)
    keep *= 1.0 / (1.0 - rate)
    return xp.asarray(keep)


class Dropout(Function):
    def forward(self, x):
        return x * self.factor

    def backward(self, gy):  # dL/dx = g · m/(1 − rate)
        return gy * self.factor


def dropout(x, rate: float, noise_shape=None, seed=None, rng=None) -> Tensor:
    """``keras.random.dropout``: y = x · m/(1 − rate), m ~ Bernoulli(1 − rate), drawn once per
    ``noise_shape`` entry and broadcast (``noise_shape=(N, 1, 1, C)``: SpatialDropout2D; a None entry
    means the input's size). ``rate`` 0 returns x itself; ``rate`` 1 gives zeros.
    """
    rate = _check_rate(rate, "dropout")
    x = as_tensor(x)
    if rate == 0.0:
        return x
    ns = _noise_shape(noise_shape, x.shape, "dropout")
    factor = dropout_mask(ns, rate, dtype=x.dtype, seed=seed, rng=rng, xp=get_array_module(x.data))
    return Dropout.apply(x, factor=factor)


def stochastic_depth(x, rate: float, seed=None, rng=None) -> Tensor:
    """Drop whole samples of a residual branch: y = x · m_n/(1 − rate), one m_n ~ Bernoulli(1 − rate)
    per sample (a mask of shape (N, 1, …, 1))."""
    xd = _as_array(x)
    return dropout(x, rate, noise_shape=(xd.shape[0],) + (1,) * (xd.ndim - 1), seed=seed, rng=rng)

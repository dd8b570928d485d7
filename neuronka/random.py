"""``neuronka.random``: Keras 3's random ops and the one source of randomness of the framework.

Every random draw of neuronka — initializers, Dropout and the noise layers, augmentation, ``fit``'s
shuffling — goes through :func:`generator`, which turns Keras's ``seed`` argument into a NumPy
``Generator``:

* ``seed=None``: the global :class:`SeedGenerator` (a new state on every call);
* an ``int``: the same values on every call (Keras's random ops are stateless for integer seeds);
* a :class:`SeedGenerator`: its next state, so successive calls differ but the sequence is reproducible;
* a ``numpy.random.Generator`` (neuronka's extension): drawn from directly.

:func:`set_random_seed` (also ``keras.utils.set_random_seed``) resets the global generator and seeds
Python's and NumPy's global generators, so that a whole program — weights, masks, shuffles — runs the
same twice. States are turned into generators through ``numpy.random.SeedSequence([seed, counter])``
(PCG64), so neighbouring states give independent streams. Draws happen on the CPU, as NumPy arrays
wrapped in Tensors.
"""
from __future__ import annotations

import numbers
import random as _python_random
import threading

import numpy

from . import config
from .autograd import Tensor, _as_array
from .backend import get_uid
from .dtypes import standardize_dtype

_lock = threading.Lock()
_global_generator: SeedGenerator | None = None
_global_seed: int | None = None


def make_default_seed() -> int:
    """A seed for an unseeded SeedGenerator or initializer, from Python's generator (which
    :func:`set_random_seed` seeds), as Keras draws it."""
    return _python_random.randint(1, int(1e9))


class SeedGenerator:
    """A reproducible stream of random states: ``(seed, counter)``, the counter advancing on every draw.

    ``SeedGenerator(42)`` gives the same sequence of draws in every run; ``SeedGenerator()`` takes its
    seed from Python's generator (reproducible after :func:`set_random_seed`).
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs.pop("backend", None) is not None:
            pass  # Keras's custom backends: neuronka has one
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        if name is None:  # seed_generator, seed_generator_1, ... as Keras names them
            uid = get_uid("seed_generator") - 1
            name = "seed_generator" if uid == 0 else f"seed_generator_{uid}"
        self.name = name
        self._initial_seed = seed
        if seed is None:
            seed = make_default_seed()
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        self.state = numpy.array([int(seed), 0], dtype="int64")
        self._lock = threading.Lock()

    def next(self, ordered: bool = True):
        """The current state (a copy), then advance: the counter by one (``ordered``), or to a
        scrambled next value (Keras's ``ordered=False``)."""
        with self._lock:
            current = self.state.copy()
            if ordered:
                self.state[1] += 1
            else:
                self.state[:] = (self.state + 1) * 5387 % 933199
            return current

    def generator(self) -> numpy.random.Generator:
        """A NumPy generator for the next state."""
        seed, counter = (int(v) for v in self.next())
        return numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence([seed & 0xFFFFFFFFFFFF,
                                                                                    counter])))

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config_dict):
        return cls(**config_dict)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name} state={self.state.tolist()}>"


def global_seed_generator() -> SeedGenerator:
    """The generator used when ``seed`` is None (created on first use; reset by :func:`set_random_seed`)."""
    global _global_generator
    with _lock:
        if _global_generator is None:
            _global_generator = SeedGenerator(name="global_seed_generator")
        return _global_generator


def set_random_seed(seed: int) -> None:
    """Seed everything: the global SeedGenerator, Python's ``random`` and NumPy's global generator.

    After ``set_random_seed(s)`` a program's weights, dropout masks and shuffles are the same in every
    run; another ``s`` gives other ones.
    """
    global _global_generator, _global_seed
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})")
    with _lock:
        _global_seed = seed
        _python_random.seed(seed)
        numpy.random.seed(seed % (1 << 32))
        _global_generator = SeedGenerator(seed, name="global_seed_generator")


def get_random_seed() -> int | None:
    """The seed given to :func:`set_random_seed`, or None."""
    return _global_seed


def generator(seed=None) -> numpy.random.Generator:
    """The NumPy generator for Keras's ``seed`` argument (see the module docstring)."""
    if seed is None:
        return global_seed_generator().generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator()
    if isinstance(seed, numpy.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0])))
    raise ValueError(f"Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
                     f"Received: seed={seed} (of type {type(seed)})")


# ------------------------------------------------------------------------------------------------
# the draws
# ------------------------------------------------------------------------------------------------
def _shape(shape, op):
    try:
        shape = (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: expected `shape` to be a tuple of non-negative ints, "
                         f"received shape={shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"{op}: expected `shape` to be a tuple of non-negative ints, received shape={shape}")
    return shape


def _float_dtype(dtype, op) -> str:
    dtype = standardize_dtype(dtype or config.floatx())
    if not dtype.startswith("float") or dtype == "bfloat16":
        raise ValueError(f"`keras.random.{op}` requires a floating point `dtype`. Received: dtype={dtype} ")
    return dtype


def _draw_float(draw, dtype):
    """``draw(numpy_float_dtype)`` in float32 or float64 (float16: drawn in float32, then cast)."""
    out = draw(numpy.float64 if dtype == "float64" else numpy.float32)
    return Tensor(out.astype(dtype, copy=False))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """x ~ N(mean, stddev²)."""
    shape, dtype = _shape(shape, "normal"), _float_dtype(dtype, "normal")
    rng = generator(seed)
    return _draw_float(lambda dt: rng.standard_normal(shape, dtype=dt) * dt(stddev) + dt(mean), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> Tensor:
    """x ~ U[minval, maxval)."""
    shape = _shape(shape, "uniform")
    if dtype and not standardize_dtype(dtype).startswith("float"):
        raise ValueError(f"`keras.random.uniform` requires a floating point `dtype`. Received: dtype={dtype} "
                         f"To draw integers, use `keras.random.randint` instead.")
    dtype = _float_dtype(dtype, "uniform")
    rng = generator(seed)
    return _draw_float(lambda dt: rng.random(shape, dtype=dt) * dt(maxval - minval) + dt(minval), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """x ~ N(mean, stddev²) restricted to |x − mean| ≤ 2·stddev: samples outside are redrawn."""
    shape, dtype = _shape(shape, "truncated_normal"), _float_dtype(dtype, "truncated_normal")
    rng = generator(seed)

    def draw(dt):
        x = rng.standard_normal(shape, dtype=dt)
        flat = x.reshape(-1)
        redo = numpy.flatnonzero(numpy.abs(flat) > 2.0)
        while redo.size:
            flat[redo] = rng.standard_normal(redo.size, dtype=dt)
            redo = redo[numpy.abs(flat[redo]) > 2.0]
        return x * dt(stddev) + dt(mean)

    return _draw_float(draw, dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None) -> Tensor:
    """Integers drawn uniformly from [minval, maxval)."""
    shape = _shape(shape, "randint")
    dtype = standardize_dtype(dtype)
    if not (dtype.startswith("int") or dtype.startswith("uint")):
        raise ValueError(f"`keras.random.randint` requires an integer `dtype`. Received: dtype={dtype} ")
    if int(maxval) <= int(minval):
        raise ValueError(f"randint: expected minval < maxval, received minval={minval}, maxval={maxval}")
    return Tensor(generator(seed).integers(int(minval), int(maxval), size=shape).astype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None) -> Tensor:
    """For each row of ``logits`` (batch, classes), ``num_samples`` class indices drawn with
    P(class) = softmax(logits): the Gumbel-max draw argmax(logits + G), G ~ Gumbel(0, 1)."""
    logits = _as_array(logits)
    if logits.ndim != 2:
        raise ValueError(f"`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
                         f"Received: logits={logits}")
    num_samples = int(num_samples)
    rng = generator(seed)
    u = rng.random((logits.shape[0], num_samples, logits.shape[1]))
    gumbel = -numpy.log(-numpy.log(numpy.clip(u, 1e-300, 1.0)))
    with numpy.errstate(invalid="ignore"):
        scores = logits.astype(numpy.float64)[:, None, :] + gumbel
    return Tensor(scores.argmax(axis=-1).astype(standardize_dtype(dtype)))


def dropout(inputs, rate, noise_shape=None, seed=None) -> Tensor:
    """Inverted dropout: y = x · m / (1 − rate), m ~ Bernoulli(1 − rate); dL/dx = g · m / (1 − rate)."""
    from .ops.random import dropout as _dropout  # noqa: PLC0415 - ops import this module's generator

    return _dropout(inputs, rate, noise_shape=noise_shape, seed=seed if seed is not None else generator(None))


def shuffle(x, axis=0, seed=None) -> Tensor:
    """x with its entries along ``axis`` in a random order (a gather: gradients flow back to x)."""
    from .ops.math import take  # noqa: PLC0415

    data = _as_array(x)
    axis = int(axis) % max(data.ndim, 1)
    order = generator(seed).permutation(data.shape[axis])
    return take(x, order, axis=axis)


def gamma(shape, alpha, dtype=None, seed=None) -> Tensor:
    """x ~ Gamma(alpha, 1) (density x^(α−1) e^(−x) / Γ(α))."""
    shape, dtype = _shape(shape, "gamma"), _float_dtype(dtype, "gamma")
    rng = generator(seed)
    return _draw_float(lambda dt: rng.standard_gamma(numpy.asarray(_as_array(alpha), numpy.float64), size=shape)
                       .astype(dt), dtype)


def beta(shape, alpha, beta, dtype=None, seed=None) -> Tensor:  # noqa: A002 - Keras's argument name
    """x ~ Beta(alpha, beta) on [0, 1]."""
    shape, dtype = _shape(shape, "beta"), _float_dtype(dtype, "beta")
    rng = generator(seed)
    a = numpy.asarray(_as_array(alpha), numpy.float64)
    b = numpy.asarray(_as_array(beta), numpy.float64)
    return _draw_float(lambda dt: rng.beta(a, b, size=shape).astype(dt), dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> Tensor:
    """The number of successes in ``counts`` trials of probability ``probabilities`` (as floats)."""
    shape = _shape(shape, "binomial")
    dtype = standardize_dtype(dtype or config.floatx())
    rng = generator(seed)
    n = numpy.asarray(_as_array(counts), numpy.float64)
    p = numpy.asarray(_as_array(probabilities), numpy.float64)
    return Tensor(rng.binomial(n.astype(numpy.int64), p, size=shape).astype(dtype))


__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
           "truncated_normal", "uniform"]

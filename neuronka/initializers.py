"""Weight initializers, with Keras 3's names, arguments and formulas.

An initializer is a small callable with a config: ``init(shape, dtype=None)``
returns a new NumPy array (``dtype`` defaults to ``neuronka.backend.floatx()``).

Fans follow Keras (:func:`compute_fans`): a dense kernel ``(in, out)`` has
fan_in = in and fan_out = out; a convolution kernel ``(*receptive_field, in, out)``
(e.g. ``(kh, kw, in, out)``) has fan_in = kh·kw·in and fan_out = kh·kw·out.

Seeding: an initializer built with an integer ``seed`` gives the same values
on every call (as in Keras). One built without a seed draws from a global
generator, which :func:`set_seed` reseeds, so a whole model's initial weights
are reproducible after ``set_seed(n)``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy

from . import random as _random
from .backend import floatx


def set_seed(seed: int | None) -> None:
    """Reseed the global generator that unseeded initializers draw from (``neuronka.random``)."""
    from .ops.random import set_seed as _set_seed  # noqa: PLC0415

    _set_seed(seed)


def compute_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them.

    () → (1, 1); (n,) → (n, n); (in, out) → (in, out);
    (*k, in, out) → (in · ∏k, out · ∏k) (a convolution kernel: receptive field × channels).
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _dtype(dtype):
    return numpy.dtype(floatx() if dtype is None else dtype)


def _float_dtype(owner: str, dtype):
    dt = _dtype(dtype)
    if not numpy.issubdtype(dt, numpy.floating):
        raise ValueError(f"{owner}: expected a floating-point dtype, received dtype={dt.name!r}")
    return dt


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, numpy.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


class Initializer:
    """Base class: ``init(shape, dtype=None) -> array`` with ``get_config`` / ``from_config``."""

    def __call__(self, shape, dtype=None):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None)")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return self.__class__.from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ----------------------------------------------------------------------------------
# constants
# ----------------------------------------------------------------------------------
class Zeros(Initializer):
    """w = 0."""

    def __call__(self, shape, dtype=None):
        return numpy.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """w = 1."""

    def __call__(self, shape, dtype=None):
        return numpy.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """w = value (a scalar, or an array broadcast to the shape)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return numpy.full(_shape(shape), self.value, dtype=_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, numpy.ndarray):
            value = value.tolist()
        elif isinstance(value, numpy.generic):
            value = value.item()
        return {"value": value}


class Identity(Initializer):
    """w = gain · I (2-D shapes only; a non-square shape gets ones on the main diagonal)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity: the identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        return (float(self.gain) * numpy.eye(*shape)).astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


# ----------------------------------------------------------------------------------
# random
# ----------------------------------------------------------------------------------
class RandomInitializer(Initializer):
    """Base of the random initializers: ``seed`` (an int, or None for the global generator)."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(
                f"{type(self).__name__}: expected `seed` to be a non-negative int or None, received seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)

    def _rng(self) -> numpy.random.Generator:
        """A fresh generator from the seed (same values every call), else the global one."""
        return _random.generator(None) if self.seed is None else numpy.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def _truncated_standard_normal(rng: numpy.random.Generator, shape: tuple[int, ...]):
    """Standard normal samples, each |x| > 2 redrawn until none is left (std of the result ≈ 0.87962566)."""
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    redo = numpy.flatnonzero(numpy.abs(flat) > 2.0)
    while redo.size:
        flat[redo] = rng.standard_normal(redo.size)
        redo = redo[numpy.abs(flat[redo]) > 2.0]
    return x


class RandomNormal(RandomInitializer):
    """w ~ N(mean, stddev²)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("RandomNormal", dtype)
        x = self._rng().standard_normal(_shape(shape))
        return (float(self.mean) + float(self.stddev) * x).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    """w ~ U[minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("RandomUniform", dtype)
        return self._rng().uniform(float(self.minval), float(self.maxval), _shape(shape)).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class TruncatedNormal(RandomInitializer):
    """w ~ N(mean, stddev²) restricted to [mean − 2·stddev, mean + 2·stddev] (values outside are redrawn).

    The resulting standard deviation is ≈ 0.87962566 · stddev.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("TruncatedNormal", dtype)
        x = _truncated_standard_normal(self._rng(), _shape(shape))
        return (float(self.mean) + float(self.stddev) * x).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


# std of a standard normal truncated to [-2, 2]: dividing by it makes the truncated samples' std the target
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(RandomInitializer):
    """Samples with variance scale / n, n = fan_in, fan_out or (fan_in + fan_out) / 2 (``mode``; n ≥ 1).

    distribution="truncated_normal" (or "normal"): truncated normal at ±2σ with
    σ = sqrt(scale / n) / 0.87962566, so the samples' std is sqrt(scale / n);
    "untruncated_normal": N(0, scale / n); "uniform": U[−limit, limit], limit = sqrt(3 · scale / n).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None):
        if not scale > 0.0:
            raise ValueError(f"VarianceScaling: argument `scale` must be positive float. Received: scale={scale!r}")
        if mode not in self._MODES:
            raise ValueError(
                f"VarianceScaling: invalid `mode` argument: received {mode!r}; expected one of {self._MODES}"
            )
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling: invalid `distribution` argument: received {distribution!r}; "
                f"expected one of {self._DISTRIBUTIONS}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed)

    def variance(self, shape) -> float:
        """The target variance scale / n for this shape."""
        fan_in, fan_out = compute_fans(_shape(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return float(self.scale) / max(1.0, n)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype(type(self).__name__, dtype)
        shape = _shape(shape)
        var = self.variance(shape)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            x = (math.sqrt(var) / _TRUNCATED_STD) * _truncated_standard_normal(rng, shape)
        elif self.distribution == "untruncated_normal":
            x = math.sqrt(var) * rng.standard_normal(shape)
        else:
            limit = math.sqrt(3.0 * var)
            x = rng.uniform(-limit, limit, shape)
        return x.astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, **super().get_config()}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution; its config is just the seed."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed: int | None = None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with std sqrt(2 / (fan_in + fan_out))."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: U[−limit, limit], limit = sqrt(6 / (fan_in + fan_out))."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with std sqrt(2 / fan_in)."""

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


class HeUniform(_FixedVarianceScaling):
    """He uniform: U[−limit, limit], limit = sqrt(6 / fan_in)."""

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with std sqrt(1 / fan_in)."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: U[−limit, limit], limit = sqrt(3 / fan_in)."""

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


class Orthogonal(RandomInitializer):
    """w = gain · Q, Q from the QR decomposition of a standard-normal matrix, signs fixed by diag(R).

    The shape is flattened to (∏shape[:-1], shape[-1]); Q has orthonormal
    columns when that matrix is tall (Wᵀ W = gain² I) and orthonormal rows when
    it is wide (W Wᵀ = gain² I).
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("Orthogonal", dtype)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal: the tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = numpy.linalg.qr(a)
        q *= numpy.sign(numpy.diag(r))  # make the decomposition unique: Q·diag(sign r_ii)
        if rows < cols:
            q = q.T
        return (float(self.gain) * q).reshape(shape).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, **super().get_config()}


OrthogonalInitializer = Orthogonal


# ----------------------------------------------------------------------------------
# lookup by name
# ----------------------------------------------------------------------------------
_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
            GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal)


def _snake(name: str) -> str:
    out = [name[0].lower()]
    for c in name[1:]:
        out.append(f"_{c.lower()}" if c.isupper() else c)
    return "".join(out)


ALL_INITIALIZERS: dict[str, type[Initializer]] = {cls.__name__: cls for cls in _CLASSES}
ALL_INITIALIZERS.update({_snake(cls.__name__): cls for cls in _CLASSES})
ALL_INITIALIZERS.update({
    "OrthogonalInitializer": Orthogonal,
    "orthogonal_initializer": Orthogonal,
    "uniform": RandomUniform,
    "normal": RandomNormal,
    "one": Ones,
    "zero": Zeros,
})


def serialize(initializer: Initializer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of an initializer."""
    if not isinstance(initializer, Initializer):
        raise ValueError(f"serialize: expected an Initializer instance, received {initializer!r}")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def _unknown(identifier) -> ValueError:
    return ValueError(
        f"Could not interpret initializer identifier: received {identifier!r}; expected an Initializer, "
        f"a callable, a config dict or one of the names {sorted(ALL_INITIALIZERS)}"
    )


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Initializer:
    """The initializer described by ``{"class_name": ..., "config": {...}}``."""
    known = {**ALL_INITIALIZERS, **(custom_objects or {})}
    name = config.get("class_name")
    if name not in known:
        raise _unknown(name)
    return known[name].from_config(dict(config.get("config") or {}))


def get(identifier):
    """Resolve an initializer: a name ("he_normal", "HeNormal", ...), a config dict, a class, an instance or a callable.

    Names are case-sensitive as in Keras (snake_case or the class name). ``None`` stays ``None``.
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_INITIALIZERS.get(identifier)
        if cls is None:
            raise _unknown(identifier)
        return cls()
    if isinstance(identifier, type):
        if issubclass(identifier, Initializer):
            return identifier()
        raise _unknown(identifier)
    if callable(identifier):
        return identifier
    raise _unknown(identifier)

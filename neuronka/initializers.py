"""``keras.initializers``: weight initializers, with Keras 3's names, arguments, configs and formulas.

An initializer is a small callable with a config: ``init(shape, dtype=None)`` returns a new array of the
backend's array module (``neuronka.backend.array_module()``, NumPy today; ``dtype`` defaults to
``keras.config.floatx()``). Random draws, QR and windows are computed on the host (``neuronka.random``'s NumPy
generator) and moved to the backend once. (Keras returns a backend tensor; neuronka's layers and ops
take arrays, so the array is handed over as is.)

Fans follow Keras (:func:`compute_fans`): a dense kernel ``(in, out)`` has fan_in = in and fan_out = out; a
convolution kernel ``(*receptive_field, in, out)`` has fan_in = ∏receptive_field · in and fan_out =
∏receptive_field · out; ``input_axes`` / ``output_axes`` name the axes explicitly.

Seeding, as Keras 3: a random initializer built with ``seed=None`` draws a seed of its own when it is
constructed (:func:`neuronka.random.make_default_seed`, reproducible after ``keras.utils.set_random_seed``),
so, like one built with an int seed, it gives the same values on every call; one built with a
:class:`neuronka.random.SeedGenerator` gives new values on every call. All draws go through
:mod:`neuronka.random`.

======================  ==================================================================
Zeros, Ones, Constant   w = 0, 1, value
Identity                w = gain · I (2-D)
STFT                    w = window · cos or sin(−2π·t·f / (2(F − 1))) / scaling, shape (T, 1, F)
RandomNormal            w ~ N(mean, stddev²)
RandomUniform           w ~ U[minval, maxval)
TruncatedNormal         w ~ N(mean, stddev²) cut at ±2·stddev (redrawn)
VarianceScaling         variance scale / n, n = fan_in, fan_out or their mean
Glorot/He/Lecun …       VarianceScaling with fixed scale, mode and distribution
Orthogonal              w = gain · Q, Q from the QR decomposition of a normal matrix
======================  ==================================================================
"""
from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy

from . import random as _random
from .autograd import Tensor
from .backend import array_module, to_backend
from .dtypes import standardize_dtype


def set_seed(seed: int | None) -> None:
    """Reseed the global generators (``neuronka.random.set_random_seed``): the default seeds that
    initializers built from now on draw become reproducible."""
    from .ops.random import set_seed as _set_seed  # noqa: PLC0415

    _set_seed(seed)


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them.

    With ``input_axes`` and ``output_axes``: the products of those axes' sizes. Otherwise
    () → (1, 1); (n,) → (n, n); (in, out) → (in, out);
    (*k, in, out) → (in · ∏k, out · ∏k) (a convolution kernel: receptive field × channels).
    """
    shape = tuple(int(d) for d in shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _dtype(dtype) -> numpy.dtype:
    return numpy.dtype(standardize_dtype(dtype))


def _float_dtype(owner: str, dtype) -> str:
    dt = standardize_dtype(dtype)
    if not dt.startswith("float"):
        raise ValueError(f"{owner}: expected a floating-point dtype, received dtype={dt!r}")
    return dt


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _serialize_value(value):
    """Keras's serialized form of a config value: arrays as ``{"class_name": "__numpy__", ...}``."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, numpy.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, _random.SeedGenerator):
        return {"module": "keras.random", "class_name": "SeedGenerator", "config": value.get_config(),
                "registered_name": None}
    return value


def _deserialize_value(value):
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return numpy.asarray(value["config"]["value"], dtype=value["config"].get("dtype"))
    if isinstance(value, dict) and value.get("class_name") == "SeedGenerator":
        return _random.SeedGenerator.from_config(value.get("config", {}))
    return value


class Initializer:
    """Base class: ``init(shape, dtype=None) -> array`` with ``get_config`` / ``from_config`` / ``clone``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

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
# deterministic
# ----------------------------------------------------------------------------------
class Zeros(Initializer):
    """w = 0."""

    def __call__(self, shape, dtype=None):
        return array_module().zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """w = 1."""

    def __call__(self, shape, dtype=None):
        return array_module().ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """w = value · 1 (a scalar, or an array broadcast against the shape, as Keras multiplies them)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        dt = _dtype(dtype)
        value = numpy.asarray(self.value.data if isinstance(self.value, Tensor) else self.value).astype(dt)
        return to_backend(value) * array_module().ones(_shape(shape), dtype=dt)

    def get_config(self) -> dict[str, Any]:
        return {"value": _serialize_value(self.value)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constant:
        return cls(_deserialize_value(config.get("value", 0.0)))  # Keras raises KeyError on {} ("constant")


class Identity(Initializer):
    """w = gain · I (2-D shapes only; a non-square shape gets ones on the main diagonal)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        dt = _dtype(dtype)
        return (self.gain * array_module().eye(*shape, dtype=dt)).astype(dt, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


class STFT(Initializer):
    """The kernel of a short-time Fourier transform as a convolution, shape (T, 1, F) for ``shape`` =
    (T = frame_length, input_channels, F = fft bins):

    w[t, 0, f] = win[t] · cos(−2π·t·f / N) / s  (``side="real"``; sin for ``"imag"``), N = 2(F − 1)

    ``window``: a SciPy window name (``scipy.signal.get_window``, ``periodic`` or symmetric), an array of
    length T, or None (no window). ``scaling``: s = sqrt(Σ win²) (``"density"``), Σ|win| (``"spectrum"``),
    or 1 (None).
    """

    def __init__(self, side: str = "real", window="hann", scaling: str | None = "density", periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            _window(window, 1, periodic)  # an unknown name fails here, as in Keras
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        dt = _dtype(dtype)
        frame_length, _, fft_length = _shape(shape)
        kernel_dtype = numpy.float64
        t = numpy.arange(frame_length, dtype=kernel_dtype).reshape(frame_length, 1, 1)
        f = numpy.arange(fft_length, dtype=kernel_dtype).reshape(1, 1, fft_length) / ((fft_length - 1) * 2)
        angle = -2.0 * t * f * math.pi
        kernel = numpy.cos(angle) if self.side == "real" else numpy.sin(angle)
        if self.window is not None:
            win = self.window
            if isinstance(win, str):
                win = _window(win, frame_length, self.periodic)
            win = numpy.asarray(win, dtype=dt).astype(kernel_dtype)
            if win.ndim != 1 or win.shape[-1] != frame_length:
                raise ValueError(f"The shape of `window` must be equal to [frame_length].Received: window "
                                 f"shape={win.shape}")
            scale = 1.0
            if self.scaling == "density":
                scale = math.sqrt(float(numpy.sum(win * win)))
            elif self.scaling == "spectrum":
                scale = float(numpy.sum(numpy.abs(win)))
            kernel = kernel * win.reshape(frame_length, 1, 1) / scale
        return to_backend(kernel.astype(dt))  # computed on the host (a SciPy window), moved once

    def get_config(self) -> dict[str, Any]:
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


def _window(name: str, length: int, periodic: bool):
    import scipy.signal  # noqa: PLC0415 - SciPy's window table (NumPy has only a few windows)

    return scipy.signal.get_window(name, length, periodic)


# ----------------------------------------------------------------------------------
# random
# ----------------------------------------------------------------------------------
class RandomInitializer(Initializer):
    """Base of the random initializers: ``seed`` is an int, a :class:`neuronka.random.SeedGenerator`, or
    None (a seed is drawn now, so this instance repeats its values; see the module docstring)."""

    def __init__(self, seed=None):
        self._init_seed = seed
        if seed is None:
            seed = _random.make_default_seed()
        elif isinstance(seed, dict):
            seed = _deserialize_value(seed)
        elif isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, _random.SeedGenerator)):
            raise ValueError("`seed` argument should be an instance of `keras.random.SeedGenerator()` or an "
                             f"integer. Received: seed={seed}")
        self.seed = int(seed) if isinstance(seed, numbers.Integral) else seed

    def get_config(self) -> dict[str, Any]:
        return {"seed": _serialize_value(self._init_seed)}


class RandomNormal(RandomInitializer):
    """w ~ N(mean, stddev²)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("RandomNormal", dtype)
        return to_backend(_random.normal(_shape(shape), mean=self.mean, stddev=self.stddev, dtype=dt, seed=self.seed))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """w ~ U[minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("RandomUniform", dtype)
        return to_backend(_random.uniform(_shape(shape), minval=self.minval, maxval=self.maxval, dtype=dt,
                                          seed=self.seed))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class TruncatedNormal(RandomInitializer):
    """w ~ N(mean, stddev²) restricted to [mean − 2·stddev, mean + 2·stddev] (values outside are redrawn).

    The resulting standard deviation is ≈ 0.87962566 · stddev.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("TruncatedNormal", dtype)
        return to_backend(_random.truncated_normal(_shape(shape), mean=self.mean, stddev=self.stddev, dtype=dt,
                                                   seed=self.seed))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


# std of a standard normal truncated to [-2, 2]: dividing by it makes the truncated samples' std the target
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(RandomInitializer):
    """Samples with variance scale / n, n = max(1, fan_in, fan_out or (fan_in + fan_out) / 2) (``mode``).

    distribution="truncated_normal" (or "normal"): truncated normal at ±2σ with σ = sqrt(scale / n) / 0.87962566,
    so the samples' std is sqrt(scale / n); "untruncated_normal": N(0, scale / n);
    "uniform": U[−limit, limit], limit = sqrt(3 · scale / n). Fans from :func:`compute_fans`.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of {set(self._MODES)}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: {distribution}. "
                             f"Please use one of {set(self._DISTRIBUTIONS)}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def variance(self, shape) -> float:
        """The target variance scale / n for this shape."""
        fan_in, fan_out = compute_fans(_shape(shape), self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype(type(self).__name__, dtype)
        shape = _shape(shape)
        var = self.variance(shape)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(var) / _TRUNCATED_STD
            return to_backend(_random.truncated_normal(shape, mean=0.0, stddev=stddev, dtype=dt, seed=self.seed))
        if self.distribution == "untruncated_normal":
            return to_backend(_random.normal(shape, mean=0.0, stddev=math.sqrt(var), dtype=dt, seed=self.seed))
        limit = math.sqrt(3.0 * var)
        return to_backend(_random.uniform(shape, minval=-limit, maxval=limit, dtype=dt, seed=self.seed))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed scale / mode / distribution; its config is the seed and the axes."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": _serialize_value(self._init_seed), "input_axes": self.input_axes,
                "output_axes": self.output_axes}


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

    The shape is flattened to (∏shape[:-1], shape[-1]); Q has orthonormal columns when that matrix is tall
    (Wᵀ W = gain² I) and orthonormal rows when it is wide (W Wᵀ = gain² I).
    """

    def __init__(self, gain: float = 1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dt = _float_dtype("Orthogonal", dtype)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _random.normal((max(rows, cols), min(rows, cols)), dtype=dt, seed=self.seed).data
        q, r = numpy.linalg.qr(a.astype(numpy.float64))
        q *= numpy.sign(numpy.diag(r))  # make the decomposition unique: Q·diag(sign r_ii)
        if rows < cols:
            q = q.T
        return to_backend((self.gain * q).reshape(shape).astype(dt))  # QR on the host, moved once

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}


# Keras's other public names of the same classes
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT
constant, zeros, ones, identity, stft = Constant, Zeros, Ones, Identity, STFT
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform


# ----------------------------------------------------------------------------------
# lookup by name
# ----------------------------------------------------------------------------------
_CLASSES = (Initializer, Zeros, Ones, Constant, Identity, STFT, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform,
            Orthogonal)


def _snake(name: str) -> str:
    """Keras's snake case of a class name: "HeNormal" → "he_normal", "STFT" → "stft"."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"_+", "_", re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower())


ALL_INITIALIZERS: dict[str, type[Initializer]] = {cls.__name__: cls for cls in _CLASSES}
ALL_INITIALIZERS.update({_snake(cls.__name__): cls for cls in _CLASSES})
ALL_INITIALIZERS.update({"IdentityInitializer": Identity, "normal": RandomNormal, "one": Ones,
                         "STFTInitializer": STFT, "OrthogonalInitializer": Orthogonal, "uniform": RandomUniform,
                         "zero": Zeros})


def serialize(initializer) -> dict[str, Any]:
    """``{"module": "keras.initializers", "class_name": ..., "config": ..., "registered_name": None}``."""
    if not isinstance(initializer, Initializer):
        raise ValueError(f"serialize: expected an Initializer instance, received {initializer!r}")
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def _unknown(identifier) -> ValueError:
    return ValueError(
        f"Could not interpret initializer identifier: {identifier!r}; expected an Initializer, a callable, an "
        f"array, a config dict or one of the names {sorted(ALL_INITIALIZERS)}"
    )


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Initializer:
    """The initializer described by ``{"class_name": ..., "config": {...}}`` (or a bare name)."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    known = {**ALL_INITIALIZERS, **(custom_objects or {})}
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in known:
        raise _unknown(name if name is not None else config)
    return known[name].from_config(dict(config.get("config") or {}))


def _from_array(value):
    """An initializer returning ``value`` (cast to the dtype asked), for a weight of exactly its shape."""
    value = numpy.asarray(value.data if isinstance(value, Tensor) else value)

    def initialize(shape, dtype=None):
        if tuple(_shape(shape)) != value.shape:
            raise ValueError(f"Expected `shape` to be {value.shape} for direct tensor as initializer. "
                             f"Received shape={tuple(shape)}")
        return to_backend(value.astype(_dtype(dtype)))

    return initialize


def get(identifier):
    """Resolve an initializer: a name ("he_normal", "HeNormal", ...; case-sensitive as in Keras), a config
    dict, a class (instantiated), an array or Tensor (used as the value), or any callable. ``None`` stays
    ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    elif isinstance(identifier, (Tensor, numpy.ndarray, numpy.generic)):
        obj = _from_array(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if isinstance(obj, type) else obj
    raise _unknown(identifier)

"""``keras.constraints``: projections applied to a weight after each optimizer update (``kernel_constraint``).

With ‖w‖ the L2 norm over ``axis`` (Keras's default axis 0: each output unit's incoming weights) and
ε = ``keras.config.epsilon()``:

    MaxNorm(m):                w ← w · clip(‖w‖, 0, m) / (ε + ‖w‖)
    MinMaxNorm(lo, hi, rate):  w ← w · (rate · clip(‖w‖, lo, hi) + (1 − rate) · ‖w‖) / (ε + ‖w‖)
    UnitNorm:                  w ← w / (ε + ‖w‖)
    NonNeg:                    w ← max(w, 0)

A constraint takes an array (the optimizer passes ``var.data`` and writes the result back in place) or a
Tensor (and then returns one). Constraints are projections, not differentiated through.
"""
from __future__ import annotations

from typing import Any

from . import config
from .autograd import Tensor
from .backend import get_array_module
from .serialization import deserialize_in, get_in, serialize_in


def _on_arrays(fn):
    """Run ``fn`` on the array of a Tensor argument and wrap the result back; arrays pass through."""
    def call(self, w):
        if isinstance(w, Tensor):
            return Tensor(fn(self, w.data))
        return fn(self, w)

    call.__doc__ = fn.__doc__
    return call


def _norms(w, axis):
    xp = get_array_module(w)
    axis = tuple(axis) if isinstance(axis, list) else axis
    return xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))


class Constraint:
    """Base class: ``constraint(w) -> w'`` (the identity) with ``get_config`` / ``from_config``."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


class MaxNorm(Constraint):
    """w ← w · clip(‖w‖, 0, max_value) / (ε + ‖w‖): norms above ``max_value`` are scaled down to it."""

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value = max_value
        self.axis = axis

    @_on_arrays
    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = get_array_module(w).clip(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """w ← max(w, 0)."""

    @_on_arrays
    def __call__(self, w):
        return get_array_module(w).maximum(w, 0)


class UnitNorm(Constraint):
    """w ← w / (ε + ‖w‖)."""

    def __init__(self, axis=0):
        self.axis = axis

    @_on_arrays
    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """w ← w · (rate · clip(‖w‖, min_value, max_value) + (1 − rate) · ‖w‖) / (ε + ‖w‖)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    @_on_arrays
    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * get_array_module(w).clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

ALL_OBJECTS_DICT: dict[str, type] = {}
for _cls, _snake in ((Constraint, "constraint"), (MaxNorm, "max_norm"), (MinMaxNorm, "min_max_norm"),
                     (NonNeg, "non_neg"), (UnitNorm, "unit_norm")):
    ALL_OBJECTS_DICT[_cls.__name__] = ALL_OBJECTS_DICT[_snake] = _cls
ALL = ALL_OBJECTS_DICT


def serialize(constraint) -> dict[str, Any] | None:
    """Keras's serialized dict ``{"module": "keras.constraints", "class_name", "config", ...}`` (None: None)."""
    return serialize_in(constraint, "keras.constraints")


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Constraint:
    """The constraint described by ``{"class_name": ..., "config": {...}}`` (or a bare name)."""
    return deserialize_in(config, ALL_OBJECTS_DICT, "constraint", custom_objects)


def get(identifier):
    """None, a name, a config dict, a class (instantiated), an instance or any callable (Keras's ``get``)."""
    return get_in(identifier, ALL_OBJECTS_DICT, "constraint", deserialize)

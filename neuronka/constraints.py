"""Weight constraints, applied to a weight after each optimizer step (Keras's ``kernel_constraint``).

    MaxNorm(m):   w ← w · clip(‖w‖, 0, m)/‖w‖   (norm over ``axis``, Keras default axis 0)
    NonNeg:       w ← max(w, 0)
    UnitNorm:     w ← w/‖w‖
    MinMaxNorm:   w ← w · (rate·clip(‖w‖, lo, hi) + (1 − rate)·‖w‖)/‖w‖

They act on arrays in place and are not differentiated through.
"""
from __future__ import annotations

from . import _identifiers
from .backend import get_array_module

EPSILON = 1e-7


class Constraint:
    def __call__(self, w):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _norm(w, axis):
    xp = get_array_module(w)
    return xp.sqrt((w * w).sum(axis=axis, keepdims=True))


class MaxNorm(Constraint):
    def __init__(self, max_value: float = 2.0, axis=0):
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, w):
        xp = get_array_module(w)
        norms = _norm(w, self.axis)
        return w * (xp.clip(norms, 0, self.max_value) / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        return w * (w >= 0)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (EPSILON + _norm(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = float(min_value), float(max_value), float(rate), axis

    def __call__(self, w):
        xp = get_array_module(w)
        norms = _norm(w, self.axis)
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
ALL = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
       "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}


def serialize(c) -> dict | None:
    return _identifiers.serialize(c)


def get(identifier):
    return _identifiers.get(identifier, Constraint, ALL, "constraint")

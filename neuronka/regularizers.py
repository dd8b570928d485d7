"""``keras.regularizers``: weight penalties added to the loss, with Keras 3's names, configs and formulas.

    L1:    λ₁ Σ|w|                                   d/dw = λ₁ sign(w)
    L2:    λ₂ Σ w²                                   d/dw = 2 λ₂ w     (Keras's L2 has no ½)
    L1L2:  λ₁ Σ|w| + λ₂ Σ w²
    OrthogonalRegularizer (2-D w, mode "rows"):  with the rows normalized, ŵᵢ = wᵢ / ‖wᵢ‖,
           f · Σ_{i≠j} |ŵᵢ·ŵⱼ| / (n(n − 1))       ("columns": the same on the columns)

A regularizer is a small callable ``reg(weight) -> scalar Tensor`` with a config, resolved by name through
:func:`get`. The penalty is computed with neuronka's ops, so its gradient flows into the weight when it is
added to the loss.
"""
from __future__ import annotations

import math
from typing import Any

import numpy

from . import ops
from .autograd import Tensor
from .serialization import deserialize_in, get_in, serialize_in


def validate_float_arg(value, name: str) -> float:
    """``value`` as a float, if it is a finite non-negative number (else Keras's ValueError)."""
    if (isinstance(value, bool) or not isinstance(value, (float, int, numpy.floating, numpy.integer))
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. Received: {name}={value}")
    return float(value)


def _dtype_of(x):
    return (x.data if isinstance(x, Tensor) else numpy.asarray(x)).dtype


class Regularizer:
    """Base class: ``reg(weight) -> scalar`` (the base penalty is 0) with ``get_config`` / ``from_config``."""

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{self} does not implement get_config()")


class L1L2(Regularizer):
    """λ₁ Σ|w| + λ₂ Σ w² (None counts as 0), in the weight's dtype."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x):
        dtype = _dtype_of(x)
        total = ops.sum(ops.abs(x)) * dtype.type(self.l1) if self.l1 else None  # λ₁ Σ|w|
        if self.l2:
            term = ops.sum(ops.square(x)) * dtype.type(self.l2)  # λ₂ Σ w²
            total = term if total is None else total + term
        return total if total is not None else ops.sum(x) * dtype.type(0.0)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


def _float32(value: float) -> float:
    """The value rounded to float32, as Keras keeps L1's and OrthogonalRegularizer's factors (in a float32
    tensor: ``L1(0.01).get_config()`` is ``{"l1": 0.009999999776482582}``)."""
    return float(numpy.float32(value))


class L1(Regularizer):
    """λ Σ|w| (default λ = 0.01; λ kept in float32 precision, as Keras)."""

    def __init__(self, l1: float = 0.01):
        self.l1 = _float32(validate_float_arg(0.01 if l1 is None else l1, name="l1"))

    def __call__(self, x):
        return ops.sum(ops.abs(x)) * _dtype_of(x).type(self.l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """λ Σ w² (default λ = 0.01)."""

    def __init__(self, l2: float = 0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, name="l2")

    def __call__(self, x):
        return ops.sum(ops.square(x)) * _dtype_of(x).type(self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (``mode="rows"``) or columns of a 2-D weight:

    ŵ = rows scaled to unit norm (x · min(1/‖x‖, 1/ε), ε = ``keras.config.epsilon()``); ``factor`` is kept in
    float32 precision, as Keras;
    P = ŵ ŵᵀ with its diagonal zeroed;  penalty = factor · ½ Σ|P| / (n(n − 1)/2), n the number of rows.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _float32(validate_float_arg(factor, name="factor"))
        if mode not in ("rows", "columns"):
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", "columns"}. '
                             f"Received: mode={mode}")
        self.mode = mode

    def __call__(self, inputs):
        shape = tuple(inputs.shape)
        if len(shape) != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={shape}")
        dtype = _dtype_of(inputs)
        if self.mode == "rows":
            w = ops.normalize(inputs, axis=1)
            product, size = ops.matmul(w, ops.transpose(w)), shape[0]
        else:
            w = ops.normalize(inputs, axis=0)
            product, size = ops.matmul(ops.transpose(w), w), shape[1]
        off_diagonal = product * (1.0 - numpy.eye(size, dtype=dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return ops.sum(ops.abs(off_diagonal)) * dtype.type(self.factor * 0.5 / num_pairs)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

ALL_OBJECTS_DICT: dict[str, type] = {}
for _cls, _snake in ((Regularizer, "regularizer"), (L1, "l1"), (L2, "l2"), (L1L2, "l1l2"),
                     (OrthogonalRegularizer, "orthogonal_regularizer")):
    ALL_OBJECTS_DICT[_cls.__name__] = ALL_OBJECTS_DICT[_snake] = _cls
ALL_OBJECTS_DICT["l1_l2"] = L1L2  # neuronka's extra name (Keras's get() knows only "l1l2")
ALL = ALL_OBJECTS_DICT


def serialize(regularizer) -> dict[str, Any] | None:
    """Keras's serialized dict ``{"module": "keras.regularizers", "class_name", "config", ...}`` (None: None)."""
    return serialize_in(regularizer, "keras.regularizers")


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Regularizer:
    """The regularizer described by ``{"class_name": ..., "config": {...}}`` (or a bare name)."""
    return deserialize_in(config, ALL_OBJECTS_DICT, "regularizer", custom_objects)


def get(identifier):
    """None, a name, a config dict, a class (instantiated), an instance or any callable (Keras's ``get``)."""
    return get_in(identifier, ALL_OBJECTS_DICT, "regularizer", deserialize)

"""Weight penalties added to the loss (the notes' L1, L2 / weight decay).

    L1:   λ₁ Σ|w|        d/dw = λ₁ sign(w)
    L2:   λ₂ Σ w²        d/dw = 2 λ₂ w     (Keras's L2 has no ½)
    L1L2: both

A regularizer is a small callable ``reg(weight) -> scalar Tensor`` with a config,
resolved by name through :func:`get`, as in Keras.
"""
from __future__ import annotations

from . import _identifiers, ops


class Regularizer:
    def __call__(self, x):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _check_factor(name, value):
    value = float(value)
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative factor, received {name.split('.')[-1]}={value}")
    return value


class L1L2(Regularizer):
    """λ₁ Σ|w| + λ₂ Σ w²."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _check_factor("L1L2.l1", l1)
        self.l2 = _check_factor("L1L2.l2", l2)

    def __call__(self, x):
        total = None
        if self.l1:
            total = ops.sum(ops.abs(x)) * self.l1
        if self.l2:
            term = ops.sum(ops.square(x)) * self.l2
            total = term if total is None else total + term
        return total if total is not None else ops.sum(x) * 0.0

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """λ Σ|w| (Keras default λ = 0.01)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """λ Σ w² (Keras default λ = 0.01)."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor · mean |off-diagonal of (W Wᵀ)| over normalized rows (or columns), as Keras."""

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: expected mode 'rows' or 'columns', received mode={mode!r}")
        self.factor, self.mode = _check_factor("OrthogonalRegularizer.factor", factor), mode

    def __call__(self, x):
        w = x if self.mode == "rows" else ops.transpose(x)
        w = w / ops.sqrt(ops.sum(ops.square(w), axis=1, keepdims=True) + 1e-12)
        prod = ops.matmul(w, ops.transpose(w))
        n = prod.shape[0]
        import numpy  # noqa: PLC0415 (identity mask only)

        off = ops.abs(prod * (1.0 - numpy.eye(n, dtype=prod.dtype)))
        return ops.sum(off) * (self.factor / (n * n - n) if n > 1 else 0.0)

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2 = L1, L2, L1L2
ALL = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer,
       "L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer}


def serialize(reg) -> dict | None:
    return _identifiers.serialize(reg)


def get(identifier):
    """None, a name ("l1", "l2", "l1_l2"), a config dict, an instance or a callable."""
    return _identifiers.get(identifier, Regularizer, ALL, "regularizer")

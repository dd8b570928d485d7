"""Elementwise math of ``keras.ops`` beyond the four arithmetic ops: rounding, trigonometric and hyperbolic
functions, exponentials and logarithms, special functions (erf, erfinv, i0, sinc), two-argument functions
(arctan2, hypot, logaddexp, fmod, ...), comparisons, logical and bitwise ops. Each differentiable op is a
Function with its derivative beside it."""
from __future__ import annotations

__all__: list[str] = []

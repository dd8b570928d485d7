"""The array module: NumPy now, CuPy later.

Math code never does ``import numpy`` for computing; it asks the data which
module holds it (``xp = get_array_module(x)``), so the same code runs on a GPU
array once CuPy is installed.
"""
from __future__ import annotations

import numpy

_FLOATX = "float32"


def floatx() -> str:
    """The default float dtype of new weights and tensors (Keras: ``keras.config.floatx``)."""
    return _FLOATX


def set_floatx(dtype: str) -> None:
    """Set the default float dtype: ``"float32"`` or ``"float64"`` (gradient checks use float64)."""
    global _FLOATX
    if dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float16', 'float32' or 'float64', received {dtype!r}")
    _FLOATX = dtype


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    for a in arrays:
        a = getattr(a, "data", a)
        mod = type(a).__module__
        if mod.startswith("cupy"):
            import cupy  # noqa: PLC0415  (optional dependency)

            return cupy
    return numpy


def asnumpy(x):
    """A NumPy copy of ``x`` wherever it lives (a no-op for NumPy arrays)."""
    x = getattr(x, "data", x)
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    return numpy.asarray(x)

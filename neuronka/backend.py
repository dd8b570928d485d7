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


_ALLOCATOR_TUNED = False


def tune_allocator() -> bool:
    """Let glibc's malloc reuse freed large blocks instead of returning them to the OS (Linux only).

    By default glibc serves every block above 128 KiB–32 MiB with a fresh ``mmap`` and unmaps it on
    ``free``, so each new activation or gradient array of a training step page-faults on its first
    write: measured here, a third of a batch-norm step. Raising the mmap threshold to 1 GiB and the
    trim threshold to 2 GiB keeps those blocks in the heap for the next step (the process's resident
    memory then stays at its peak instead of shrinking between steps). Called once on
    ``import neuronka`` (by this module); ``NEURONKA_MALLOC_TUNING=0`` in the environment skips it. Returns whether it
    was applied.
    """
    global _ALLOCATOR_TUNED
    import os
    import sys

    if _ALLOCATOR_TUNED or os.environ.get("NEURONKA_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return _ALLOCATOR_TUNED
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameters, <malloc.h>
        _ALLOCATOR_TUNED = bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(
            libc.mallopt(m_trim_threshold, (1 << 31) - 1))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        _ALLOCATOR_TUNED = False
    return _ALLOCATOR_TUNED


tune_allocator()  # on import: every array of the framework benefits (see the docstring above)

"""The array module: NumPy now, CuPy later.

Math code never does ``import numpy`` for computing; it asks the data which
module holds it (``xp = get_array_module(x)``), so the same code runs on a GPU
array once CuPy is installed.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy

from . import config
from .config import epsilon, floatx, image_data_format, set_epsilon, set_image_data_format  # noqa: F401 (keras.backend)
from .dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype  # noqa: F401 (keras.backend)


def set_floatx(dtype: str) -> None:
    """Set the default float dtype: ``"float16"``, ``"float32"`` or ``"float64"`` (gradient checks use float64)."""
    config.set_floatx(dtype)


def backend() -> str:
    """``"neuronka"``: the engine computing the ops (Keras returns ``"torch"``, ``"jax"``, ...)."""
    return config.backend()


_uids: dict[str, int] = {}
_uid_lock = threading.Lock()


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... for successive calls with the same prefix (layer names: dense, dense_1, ...)."""
    with _uid_lock:
        _uids[prefix] = _uids.get(prefix, 0) + 1
        return _uids[prefix]


def clear_session(free_memory: bool = True) -> None:
    """Forget the names handed out so far (the next Dense is ``dense`` again), as Keras does; with
    ``free_memory``, also collect garbage."""
    _uids.clear()
    if free_memory:
        import gc  # noqa: PLC0415

        gc.collect()


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor (the output of ``Input`` or of a layer called on one)."""
    from .layers.symbolic import KerasTensor  # noqa: PLC0415 - layers import this module

    return isinstance(x, KerasTensor)


# The backend's array module: where new data (weights, states, batches) is created. NumPy today; a GPU
# backend sets its module (CuPy) here, and every array of its type is then recognized as its data.
_array_module = numpy
_array_types: dict[type, Any] = {}  # array type -> its module, for modules other than NumPy


def array_module():
    """The backend's array module, where new data is created (initializers, zero states, batches,
    ``Variable``): ``numpy`` unless :func:`set_array_module` chose another."""
    return _array_module


def set_array_module(module=None, array_type: type | None = None):
    """Make ``module`` (a NumPy-compatible array module, e.g. ``cupy``) the backend's array module and return
    the previous one; ``array_type`` (e.g. ``cupy.ndarray``) is the type of its arrays, so that
    :func:`get_array_module` recognizes them. ``None`` (or ``numpy``) goes back to NumPy."""
    global _array_module
    previous = _array_module
    _array_module = numpy if module is None else module
    if array_type is not None and _array_module is not numpy:
        _array_types[array_type] = _array_module
    return previous


def get_array_module(*arrays):
    """The module holding the arrays: a registered backend module (:func:`set_array_module`) or ``cupy`` if
    any argument is one of its arrays, else ``numpy``."""
    for a in arrays:
        if _array_types and type(a) in _array_types:  # before .data: an ndarray subclass's .data is its buffer
            return _array_types[type(a)]
        a = getattr(a, "data", a)  # a Tensor's array
        t = type(a)
        if _array_types and t in _array_types:
            return _array_types[t]
        if t.__module__.startswith("cupy"):
            import cupy  # noqa: PLC0415  (optional dependency)

            return cupy
    return numpy


def to_backend(x, dtype=None):
    """``x`` (a host array, a list, a scalar, or a Tensor) as an array of the backend's module, in ``dtype`` when
    given. An array already in the backend's module is returned as is (cast when ``dtype`` differs): the data is
    moved (copied) only when it lives elsewhere — the one host→device move of weights, states and batches."""
    from .autograd import Tensor  # noqa: PLC0415 - autograd imports this module

    x = x.data if isinstance(x, Tensor) else x
    xp = _array_module
    if xp is numpy:  # exactly numpy.asarray: no copy for an ndarray of that dtype
        return numpy.asarray(x, dtype=dtype)
    if hasattr(x, "shape") and hasattr(x, "dtype") and get_array_module(x) is xp:
        return x if dtype is None else x.astype(dtype, copy=False)
    if get_array_module(x) is not numpy:  # another device's array: through the host
        x = asnumpy(x)
    return xp.asarray(x, dtype=dtype)


def asnumpy(x):
    """A NumPy copy of ``x`` wherever it lives (a no-op for NumPy arrays)."""
    x = getattr(x, "data", x)
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    return numpy.asarray(x)


_ALLOCATOR_TUNED = False


def tune_allocator(explicit: bool = False) -> bool:
    """Let glibc's malloc reuse freed large blocks instead of returning them to the OS (Linux only).

    By default glibc serves every block above 128 KiB–32 MiB with a fresh ``mmap`` and unmaps it on
    ``free``, so each new activation or gradient array of a training step page-faults on its first
    write: measured here, a third of a batch-norm step. Raising the mmap threshold to 1 GiB and the
    trim threshold to 2 GiB keeps those blocks in the heap for the next step (the process's resident
    memory then stays at its peak instead of shrinking between steps).

    A library must not retune its host process's allocator on import, so ``import neuronka`` does it only
    when ``NEURONKA_MALLOC_TUNING=1`` (the ``malloc_tuning`` setting); the ``neuronka`` command and the
    benchmarks call ``tune_allocator(explicit=True)`` themselves (``NEURONKA_MALLOC_TUNING=0`` still keeps
    them from it). Returns whether the tuning is in effect.
    """
    global _ALLOCATOR_TUNED
    import os
    import sys

    wanted = config.get("malloc_tuning")
    if explicit:
        wanted = os.environ.get(config.SETTINGS["malloc_tuning"].env, "1") not in ("0", "false", "no", "off")
    if _ALLOCATOR_TUNED or not wanted or not sys.platform.startswith("linux"):
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


tune_allocator()  # on import only when NEURONKA_MALLOC_TUNING=1 asks for it (see the docstring)

"""neuronka's compiled C library (``_native``: ``_shifted.c`` and ``_recurrent.c``), loaded through ctypes.

``pip install`` builds it from those files as an optional extension (``setup.py``); it holds no Python API,
only plain C functions, so it is opened with ``ctypes.CDLL`` and ctypes releases the GIL during each call.
:func:`library` is None where it was not built (no C compiler at install time) or ``NEURONKA_NATIVE=0``;
its callers (``blas.py``, ``recurrent.py``) then keep their other paths. After editing a C file,
``python setup.py build_ext --inplace`` rebuilds it. On x86-64 three builds exist (any CPU, AVX2, AVX-512;
see setup.py): the widest one the running CPU supports is loaded.
"""
from __future__ import annotations

import ctypes
import importlib.machinery
import os
import warnings

from .. import config

_lib = None
_loaded = False
_variant: str | None = None

# the builds of setup.py, widest first, and the CPU features each needs (x86-64-v4 / -v3 levels)
_VARIANTS = (
    ("_native_avx512", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx2", "fma", "bmi2"}),
    ("_native_avx2", {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"}),
    ("_native", set()),
)


def cpu_flags() -> set[str]:
    """The running CPU's feature flags (from /proc/cpuinfo on Linux; empty elsewhere: the baseline build)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    if "abm" in flags:  # lzcnt's older name
                        flags.add("lzcnt")
                    if "bmi1" not in flags and "bmi2" in flags:
                        flags.add("bmi1")  # reported as "bmi1" by recent kernels, implied by bmi2 here
                    return flags
    except OSError:
        pass
    return set()


def _find(name: str, here: str) -> str | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(here, name + suffix)
        if os.path.exists(path):
            return path
    return None


def library():
    """The loaded compiled library — the widest build the CPU supports — or None."""
    global _lib, _loaded, _variant
    if not _loaded:
        _loaded = True
        if config.get("native"):
            here = os.path.dirname(os.path.abspath(__file__))
            flags = cpu_flags()
            wanted = {"auto": None, "avx512": "_native_avx512", "avx2": "_native_avx2", "baseline": "_native"}
            choice = wanted.get(config.get("native_build"), "?")
            if choice == "?":
                raise ValueError(f"neuronka.config 'native_build': expected 'auto', 'avx512', 'avx2' or 'baseline', "
                                 f"received {config.get('native_build')!r}")
            for name, needs in _VARIANTS:
                path = _find(name, here)
                if path is None or not needs <= flags or (choice is not None and name != choice):
                    continue
                try:
                    _lib, _variant = ctypes.CDLL(path), name
                    break
                except OSError as err:
                    warnings.warn(f"neuronka: could not load the compiled kernels {path} ({err}); trying a "
                                  f"narrower build", RuntimeWarning, stacklevel=2)
    return _lib


def variant() -> str | None:
    """Which build was loaded (``_native_avx512``, ``_native_avx2`` or ``_native``), or None."""
    library()
    return _variant


def function(name: str, argtypes, restype=None):
    """A function of the library with its ctypes signature, or None without the library."""
    lib = library()
    if lib is None:
        return None
    fn = getattr(lib, name, None)  # a library built from older sources may lack a function
    if fn is None:
        return None
    fn.argtypes, fn.restype = argtypes, restype
    return fn

"""neuronka's compiled C library (``_native``: ``_shifted.c`` and ``_lstm.c``), loaded through ctypes.

``pip install`` builds it from those files as an optional extension (``setup.py``); it holds no Python API,
only plain C functions, so it is opened with ``ctypes.CDLL`` and ctypes releases the GIL during each call.
:func:`library` is None where it was not built (no C compiler at install time) or ``NEURONKA_NATIVE=0``;
its callers (``blas.py``, ``recurrent.py``) then keep their other paths. After editing a C file,
``python setup.py build_ext --inplace`` rebuilds it.
"""
from __future__ import annotations

import ctypes
import importlib.machinery
import os

from .. import config

_lib = None
_loaded = False


def library():
    """The loaded ``_native`` library, or None."""
    global _lib, _loaded
    if not _loaded:
        _loaded = True
        if config.get("native"):
            here = os.path.dirname(os.path.abspath(__file__))
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(here, "_native" + suffix)
                if os.path.exists(path):
                    try:
                        _lib = ctypes.CDLL(path)
                        break
                    except OSError:
                        continue
    return _lib


def function(name: str, argtypes, restype=None):
    """A function of the library with its ctypes signature, or None without the library."""
    lib = library()
    if lib is None:
        return None
    fn = getattr(lib, name)
    fn.argtypes, fn.restype = argtypes, restype
    return fn

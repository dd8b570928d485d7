"""Dtype names and Keras 3's type promotion (``keras.backend.standardize_dtype`` / ``result_type``).

Every op that mixes dtypes asks :func:`result_type` for its output dtype, so ``int32 + float32`` is
float32, ``uint8 + int8`` is int16 and a Python scalar beside an array takes the array's dtype ("weak"
typing), exactly as Keras (and JAX) promote. The promotion is the least upper bound on this lattice
(an arrow means "promotes to")::

    bool -> int*                     int* -> uint8, int8, complex64     (int*: a Python int, weak)
    uint8 -> int16, uint16           uint16 -> int32, uint32            uint32 -> int64, uint64
    int8 -> int16 -> int32 -> int64 -> float*                           uint64 -> float*
    float* -> bfloat16, float16      (float*: a Python float, weak)     bfloat16, float16 -> float32
    float32 -> float64, complex64    float64 -> complex128              complex64 -> complex128

A weak result (only Python scalars involved) resolves to the precision of ``config.floatx()``
(``int32`` / ``float32``). Keras then maps every 64-bit result to 32 bits (a JAX-without-x64 convention),
so that ``uint32 + int8`` gives int32; neuronka does the same unless an input is itself 64-bit — one
deliberate difference: Keras on PyTorch promotes ``float64 + float64`` to float32, neuronka keeps float64
(what its gradient checks compute in).
"""
from __future__ import annotations

import functools

import numpy

from . import config

BOOL_TYPES = ("bool",)
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
COMPLEX_TYPES = ("complex64", "complex128")
FLOAT8_TYPES = ("float8_e4m3fn", "float8_e5m2")
WEAK_TYPES = ("int", "float")
ALLOWED_DTYPES = (*FLOAT_TYPES, *INT_TYPES, "bool", "string", *FLOAT8_TYPES, *COMPLEX_TYPES)

PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32",
                 complex: "complex64"}

# each dtype and the dtypes it promotes to directly ("int" and "float": Python scalars, weak)
_LATTICE = {
    "bool": ("int",),
    "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"), "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",),
    "complex64": ("complex128",), "complex128": (),
}


def _upper_bounds() -> dict[str, frozenset]:
    """For each dtype, every dtype reachable from it (itself included)."""
    bounds = {}
    for start in _LATTICE:
        seen, stack = {start}, [start]
        while stack:
            for up in _LATTICE[stack.pop()]:
                if up not in seen:
                    seen.add(up)
                    stack.append(up)
        bounds[start] = frozenset(seen)
    return bounds


_UPPER = _upper_bounds()


def standardize_dtype(dtype) -> str:
    """The dtype's name as a string (``None``: ``floatx()``; Python ``int``: ``"int32"``; NumPy dtypes
    and scalar types by name)."""
    if dtype is None:
        return config.floatx()
    dtype = PYTHON_DTYPES.get(dtype, dtype) if isinstance(dtype, (type, str)) else dtype
    if hasattr(dtype, "name") and not isinstance(dtype, str):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif not isinstance(dtype, str) and ("torch" in str(dtype) or "jax.numpy" in str(dtype)):
        dtype = str(dtype).split(".")[-1]
    if dtype == "str":
        dtype = "string"
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


def is_float_dtype(dtype) -> bool:
    return standardize_dtype(dtype) in FLOAT_TYPES or standardize_dtype(dtype).startswith("float")


def is_int_dtype(dtype) -> bool:
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


_WIDE = ("int64", "uint64", "float64", "complex128")
_NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


@functools.lru_cache(512)
def _least_upper_bound(*nodes: str) -> str:
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    least = (common & set(nodes)) or {c for c in common if common <= _UPPER[c]}
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(nodes)} have no available implicit dtype promotion path. "
                         f"Try explicitly casting inputs to the desired output type.")
    return next(iter(least))


def _weak(dtype: str) -> str:
    if dtype == "bool":
        return dtype
    return "float" if ("float" in dtype or dtype == "bfloat16") else ("int" if "int" in dtype else "complex64")


def result_type(*dtypes) -> str:
    """The dtype of an op's result on inputs of these dtypes (Keras's promotion; see the module docstring).

    The Python types ``int`` and ``float`` stand for weakly typed scalars. No argument: ``floatx()``.
    """
    if not dtypes:
        return config.floatx()
    if any(d in FLOAT8_TYPES for d in dtypes if isinstance(d, str)):
        raise ValueError(f"There is no implicit conversions from float8 dtypes to others. You must cast it "
                         f"internally. Received: {dtypes}")
    names = [config.floatx() if d is None else standardize_dtype(d) for d in dtypes]
    weak = [d is int or d is float for d in dtypes]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(*set(names)), True
    else:
        out = _least_upper_bound(*{_weak(n) if w else n for n, w in zip(names, weak)})
        out_weak = out in WEAK_TYPES
    if out_weak and out != "bool":
        precision = config.floatx()[-2:]
        kind = _weak(out) if out not in WEAK_TYPES else out
        out = {"int": f"int{precision}", "float": f"float{precision}"}.get(kind, out)
    if not any(n in _WIDE for n, w in zip(names, weak) if not w):
        out = _NARROW.get(out, out)  # a 64-bit result only from a 64-bit input (uint32 + int8 → int32, as Keras)
    return out


def result_type_of(*values) -> str:
    """:func:`result_type` of arrays, tensors and Python scalars (scalars are weak)."""
    dtypes = []
    for v in values:
        if isinstance(v, bool):
            dtypes.append("bool")
        elif isinstance(v, int):
            dtypes.append(int)
        elif isinstance(v, float):
            dtypes.append(float)
        elif isinstance(v, complex):
            dtypes.append("complex64")
        else:
            dtypes.append(getattr(v, "dtype", None) if hasattr(v, "dtype") else numpy.asarray(v).dtype)
    return result_type(*dtypes)

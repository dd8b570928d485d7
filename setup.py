"""Build of neuronka's compiled library (loaded with ctypes by neuronka/ops/native.py): the shifted-product
kernels of the convolutions (_shifted.c) and the LSTM and GRU time loops (_recurrent.c).

Everything else lives in pyproject.toml. The extension is optional: where no C compiler is found the
install still succeeds and the other paths run (neuronka.ops.native.library() is None).

Portable builds: on x86-64 the same sources are compiled three times — ``_native`` for any x86-64 CPU,
``_native_avx2`` for x86-64-v3 (AVX2, FMA) and ``_native_avx512`` for x86-64-v4 (AVX-512) — and
neuronka.ops.native loads the widest one the running CPU supports, so a wheel or a built tree moved to an
older CPU runs instead of dying with an illegal instruction. ``NEURONKA_NATIVE_MARCH=native`` builds only
one library tuned to the build machine (``-march=native``), as earlier versions did.
"""
import os
import platform
import sys

from setuptools import Extension, setup

SOURCES = ["neuronka/ops/_shifted.c", "neuronka/ops/_recurrent.c"]
# -ffp-contract=fast: a·b + c as one fused multiply-add where the target has it (ISO modes turn that off)
BASE = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=fast"]


def _extensions():
    if sys.platform == "win32":
        return [Extension("neuronka.ops._native", SOURCES, extra_compile_args=BASE, optional=True)]
    if os.environ.get("NEURONKA_NATIVE_MARCH") == "native":
        return [Extension("neuronka.ops._native", SOURCES, extra_compile_args=BASE + ["-march=native"], optional=True)]
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return [Extension("neuronka.ops._native", SOURCES, extra_compile_args=BASE, optional=True)]
    return [Extension("neuronka.ops._native", SOURCES, extra_compile_args=BASE + ["-march=x86-64"], optional=True),
            Extension("neuronka.ops._native_avx2", SOURCES, extra_compile_args=BASE + ["-march=x86-64-v3"],
                      optional=True),
            Extension("neuronka.ops._native_avx512", SOURCES, extra_compile_args=BASE + ["-march=x86-64-v4"],
                      optional=True)]


setup(ext_modules=_extensions())

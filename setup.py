"""Build of neuronka's compiled library ``neuronka.ops._native`` (loaded with ctypes by neuronka/ops/native.py):
the shifted-product kernels of the convolutions (_shifted.c) and the LSTM time loops (_lstm.c).

Everything else lives in pyproject.toml. The extension is optional: where no C compiler is found the
install still succeeds and the other paths run (neuronka.ops.native.library() is None).
``-march=native`` tunes the kernels to the machine that builds them (AVX-512 where it has it); a wheel meant
for other machines should be built with NEURONKA_PORTABLE_BUILD=1.
"""
import os
import sys

from setuptools import Extension, setup

# -ffp-contract=fast: a·b + c as one fused multiply-add (ISO modes such as -std=c99 turn that off: 40 % slower)
flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=fast"]
if sys.platform != "win32" and os.environ.get("NEURONKA_PORTABLE_BUILD", "0") != "1":
    flags.append("-march=native")

setup(ext_modules=[Extension("neuronka.ops._native", ["neuronka/ops/_shifted.c", "neuronka/ops/_lstm.c"],
                             extra_compile_args=flags, optional=True)])

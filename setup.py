"""Build of neuronka's one compiled file, the shifted-product kernels (neuronka/ops/_shifted.c).

Everything else lives in pyproject.toml. The extension is optional: where no C compiler is found the
install still succeeds and the convolutions use NumPy's BLAS instead (neuronka.ops.blas.direct_available()).
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

setup(ext_modules=[Extension("neuronka.ops._shifted", ["neuronka/ops/_shifted.c"], extra_compile_args=flags,
                             optional=True)])

"""The compiled library's portable builds: the widest build the CPU supports is loaded, a build the CPU cannot
run never is, and every build computes the same convolutions."""
from __future__ import annotations

import subprocess
import sys

import pytest

from neuronka.ops import native

SCRIPT = """
import numpy
from neuronka.ops import native, blas
from neuronka.ops import convolution as C
print(native.variant())
rng = numpy.random.default_rng(0)
x = rng.standard_normal((2, 8, 8, 16)).astype("float32")
w = rng.standard_normal((3, 3, 16, 16)).astype("float32")
from neuronka import ops
y = ops.conv(x, w, padding="same").numpy()  # the compiled kernels where they apply
C.set_strategy("im2col")
ref = ops.conv(x, w, padding="same").numpy()
print(float(numpy.abs(y - ref).max() / numpy.abs(ref).max()), blas.direct_available(numpy.float32))
"""


def _run(build):
    import os

    env = dict(os.environ, NEURONKA_NATIVE_BUILD=build)
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def _available():
    import importlib.machinery
    import os

    here = os.path.dirname(native.__file__)
    found = []
    for name, needs in native._VARIANTS:
        if any(os.path.exists(os.path.join(here, name + s)) for s in importlib.machinery.EXTENSION_SUFFIXES):
            found.append((name, needs <= native.cpu_flags()))
    return found


def test_the_widest_build_the_cpu_supports_is_loaded():
    found = _available()
    if not found:
        pytest.skip("the C library is not built here (no compiler at install time)")
    runnable = [name for name, ok in found if ok]
    assert native.variant() == runnable[0]


@pytest.mark.parametrize("build,name", [("baseline", "_native"), ("avx2", "_native_avx2"),
                                        ("avx512", "_native_avx512")])
def test_every_build_the_cpu_runs_computes_the_same_convolution(build, name):
    found = dict(_available())
    if name not in found:
        pytest.skip(f"{name} is not built here")
    variant, rel_err, direct = _run(build)
    if not found[name]:
        assert variant == "None", "a build this CPU cannot run was loaded"
        return
    # the baseline build serves the LSTM loops; its convolution tiles are slower than BLAS, so they stay off
    assert variant == name and direct == ("False" if name == "_native" else "True")
    assert float(rel_err) < 1e-5

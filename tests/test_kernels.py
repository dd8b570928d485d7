"""The compiled kernels (neuronka.ops.kernels) against the NumPy reference path they replace."""
from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from neuronka import Tensor, ops
from neuronka.ops import kernels

pytestmark = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed: only the NumPy path exists")

SHAPES = [(1, 1), (7, 3), (513, 16), (4096, 5), (2, 3, 5, 64)]


@contextlib.contextmanager
def path(fused: bool):
    """The compiled kernels on (for arrays of any size, small test arrays too) or off."""
    previous, min_size = kernels.set_enabled(fused), kernels._MIN_SIZE
    kernels._MIN_SIZE = 0
    try:
        yield
    finally:
        kernels.set_enabled(previous)
        kernels._MIN_SIZE = min_size


def _rand(shape, dtype, seed=0, loc=0.0):
    return (numpy.random.default_rng(seed).standard_normal(shape) * 2 + loc).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (513, 16), (4096, 5)])
def test_matrix_kernels_equal_numpy_formulas(shape, dtype):
    x, g = _rand(shape, dtype, 1, loc=3.0), _rand(shape, dtype, 2)
    mu, var = kernels.channel_moments(x)
    numpy.testing.assert_allclose(mu, x.astype("float64").mean(axis=0), rtol=1e-12, atol=1e-12)
    numpy.testing.assert_allclose(var, x.astype("float64").var(axis=0), rtol=1e-10, atol=1e-12)
    far = x + numpy.asarray(1e4 if dtype == "float32" else 1e9, dtype)  # one-pass moments, a large mean
    mu_far, var_far = kernels.channel_moments(far)
    numpy.testing.assert_allclose(mu_far, far.astype("float64").mean(axis=0), rtol=1e-12)
    numpy.testing.assert_allclose(var_far, far.astype("float64").var(axis=0), rtol=1e-9, atol=1e-12)
    sg, sgx = kernels.channel_sums(g, x, mu)
    numpy.testing.assert_allclose(sg, g.astype("float64").sum(axis=0), rtol=1e-10, atol=1e-9)
    numpy.testing.assert_allclose(sgx, (g.astype("float64") * (x - mu)).sum(axis=0), rtol=1e-6, atol=1e-6)
    a, b, d = _rand(shape[1], "float64", 3), _rand(shape[1], "float64", 4), _rand(shape[1], "float64", 5)
    tol = 1e-5 if dtype == "float32" else 1e-12
    y = kernels.affine(x, mu, a, b)
    assert y.dtype == x.dtype and y.shape == x.shape
    numpy.testing.assert_allclose(y, a * (x - mu) + b, rtol=tol, atol=tol)
    dx = kernels.affine2(g, x, mu, a, b, d)
    assert dx.dtype == g.dtype
    numpy.testing.assert_allclose(dx, a * g + b * (x - mu) + d, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_kernels(dtype):
    x, g = _rand((3, 1001), dtype, 6), _rand((3, 1001), dtype, 7)
    x[0, :5] = 0.0
    y = kernels.relu(x)
    numpy.testing.assert_array_equal(y, numpy.maximum(x, 0))
    numpy.testing.assert_array_equal(kernels.relu_grad(g, y), g * (x > 0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_relu_kernels_equal_numpy_formulas(dtype):
    x, g, b = _rand((300, 16), dtype, 14, loc=0.5), _rand((300, 16), dtype, 15), _rand((300, 16), dtype, 16)
    mu, var = kernels.channel_moments(x)
    a, c, d = _rand(16, "float64", 17), _rand(16, "float64", 18), _rand(16, "float64", 19)
    tol = 1e-5 if dtype == "float32" else 1e-12
    y = kernels.affine(x, mu, a, c, relu=True)
    numpy.testing.assert_allclose(y, numpy.maximum(a * (x - mu) + c, 0), rtol=tol, atol=tol)
    assert (y == 0).mean() > 0.2  # the mask is exercised
    gm = g * (y > 0)
    sg, sgx = kernels.channel_sums(g, x, mu, relu_out=y)
    numpy.testing.assert_allclose(sg, gm.astype("float64").sum(axis=0), rtol=1e-10, atol=1e-9)
    numpy.testing.assert_allclose(sgx, (gm.astype("float64") * (x - mu)).sum(axis=0), rtol=1e-6, atol=1e-6)
    dx = kernels.affine2(g, x, mu, a, c, d, relu_out=y)
    numpy.testing.assert_allclose(dx, a * gm + c * (x - mu) + d, rtol=tol, atol=tol)
    numpy.testing.assert_array_equal(kernels.add_relu(x, b), numpy.maximum(x + b, 0))


def _bn_step(x, gamma, beta, gy, relu=False):
    xt, gt, bt = Tensor(x, requires_grad=True), Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True)
    y, mean, var = ops.batch_norm_train(xt, gt, bt, axis=-1, epsilon=1e-3, relu=relu)
    ops.sum(y * Tensor(gy)).backward()
    return [y.data, mean.data, var.data, xt.grad, gt.grad, bt.grad]


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(9, 4), (4, 5, 6, 16), (2, 3, 3, 64)])
def test_batch_norm_fused_path_equals_numpy_path(shape, dtype, relu):
    x, gy = _rand(shape, dtype, 8, loc=1.5), _rand(shape, dtype, 9)
    gamma, beta = _rand(shape[-1], dtype, 10), _rand(shape[-1], dtype, 11)
    with path(True):
        fused = _bn_step(x, gamma, beta, gy, relu)
    with path(False):
        reference = _bn_step(x, gamma, beta, gy, relu)
    tol = 2e-5 if dtype == "float32" else 1e-11
    for name, a, b in zip(["y", "mean", "var", "dx", "dgamma", "dbeta"], fused, reference):
        assert a.dtype == b.dtype == numpy.dtype(dtype), name
        numpy.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, numpy.abs(b).max()), err_msg=name)


def test_relu_op_fused_path_equals_numpy_path():
    x, gy = _rand((4, 8, 8, 16), "float32", 12), _rand((4, 8, 8, 16), "float32", 13)
    out = {}
    for fused in (True, False):
        with path(fused):
            xt = Tensor(x, requires_grad=True)
            y = ops.relu(xt)
            ops.sum(y * Tensor(gy)).backward()
            out[fused] = (y.data, xt.grad)
    for a, b in zip(out[True], out[False]):
        numpy.testing.assert_array_equal(a, b)



POOLS = [((2, 2), (2, 2), "valid", (3, 8, 8, 5)), ((3, 3), (2, 2), "same", (2, 9, 11, 16)),
         ((3, 3), (1, 1), "same", (2, 7, 6, 3)), ((3, 2), (3, 1), "valid", (2, 10, 7, 4)),
         ((2, 2), (1, 1), "same", (1, 5, 5, 64))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pool,strides,padding,shape", POOLS)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_backward_kernels_equal_the_numpy_path(kind, pool, strides, padding, shape, dtype):
    # rounded inputs so that windows hold tied maxima: the gradient must go to the first one, as the NumPy path
    x = numpy.round(_rand(shape, dtype, 14))
    pool_op = ops.max_pool if kind == "max" else ops.average_pool
    out = {}
    for fused in (True, False):
        with path(fused):
            xt = Tensor(x, requires_grad=True)
            y = pool_op(xt, pool, strides, padding)
            ops.sum(y * Tensor(_rand(y.shape, dtype, 15))).backward()
            out[fused] = (y.data, xt.grad)
    assert out[True][1].dtype == numpy.dtype(dtype)
    numpy.testing.assert_array_equal(out[True][0], out[False][0])
    tol = 1e-6 if dtype == "float32" else 1e-14
    numpy.testing.assert_allclose(out[True][1], out[False][1], rtol=tol, atol=tol)
    if kind == "max":  # every window's gradient lands on exactly one input: the sums agree exactly
        assert numpy.count_nonzero(out[True][1]) == numpy.count_nonzero(out[False][1])

def test_kernels_decline_what_they_cannot_take():
    x = numpy.ones((4, 3), numpy.float32)
    assert not kernels.usable(x)  # below _MIN_SIZE: the NumPy path is faster
    assert kernels.usable(numpy.ones((kernels._MIN_SIZE,), numpy.float32)) == kernels.enabled()
    kernels._MIN_SIZE, min_size = 0, kernels._MIN_SIZE
    try:
        assert kernels.usable(x) == kernels.enabled()
        assert not kernels.usable(x.T)  # not C-contiguous
        assert not kernels.usable(x.astype(numpy.int32))
        assert not kernels.usable(x, x.astype(numpy.float64))  # mixed dtypes
    finally:
        kernels._MIN_SIZE = min_size
    with path(False):
        assert not kernels.usable(x)


@pytest.mark.parametrize("with_offset", [True, False])
def test_batch_norm_inference_fused_path_equals_numpy_path(with_offset):
    x, gy = _rand((4, 5, 5, 8), "float32", 14), _rand((4, 5, 5, 8), "float32", 15)
    mean, var = _rand(8, "float32", 16), numpy.abs(_rand(8, "float32", 17)) + 0.1
    offset, scale = _rand(8, "float32", 18), _rand(8, "float32", 19)
    out = {}
    for fused in (True, False):
        with path(fused):
            xt = Tensor(x, requires_grad=True)
            y = ops.batch_normalization(xt, mean, var, axis=-1, offset=offset if with_offset else None, scale=scale)
            ops.sum(y * Tensor(gy)).backward()
            out[fused] = (y.data, xt.grad)
    for a, b in zip(out[True], out[False]):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("go_backwards, return_sequences", [(False, True), (True, False)])
def test_lstm_cell_kernels_equal_numpy_steps(dtype, go_backwards, return_sequences):
    rng = numpy.random.default_rng(20)
    n, t, f, u = 3, 6, 4, 5
    shapes = [(n, t, f), (n, u), (n, u), (f, 4 * u), (u, 4 * u), (4 * u,)]  # x, h0, c0, kernel, recurrent, bias
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    gys = None
    out = {}
    for fused in (True, False):
        with path(fused):
            ts = [Tensor(a, requires_grad=True) for a in arrays]
            ys = ops.lstm(*ts, go_backwards=go_backwards, return_sequences=return_sequences)
            if gys is None:
                gys = [rng.standard_normal(y.shape).astype(dtype) for y in ys]
            total = sum((ops.sum(y * Tensor(g)) for y, g in zip(ys, gys)), start=Tensor(numpy.zeros((), dtype)))
            total.backward()
            out[fused] = [y.data for y in ys] + [x.grad for x in ts]
    tol = 2e-5 if dtype == "float32" else 1e-12
    for k, (a, b) in enumerate(zip(out[True], out[False])):
        assert a.dtype == b.dtype == numpy.dtype(dtype), k
        numpy.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"output/gradient {k}")


def test_load_compiles_every_kernel_up_front():
    # in a fresh process: here the other tests have compiled the kernels already
    code = ("from neuronka.ops import kernels, blas\n"
            "k = kernels\n"
            "fns = [k._colmoments, k._affine, k._relu_grad, k._lstm_cell, k._lstm_cell_grad]\n"
            "assert all(len(f.signatures) == 0 for f in fns)\n"
            "kernels.load()\n"
            "assert all(len(f.signatures) >= 2 for f in fns), [f.signatures for f in fns]\n"
            "assert blas._numba_kernels is None or all(f.signatures for f in blas._numba_kernels[0].values())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_compiled_kernels_are_cached_in_the_user_cache_folder_not_the_package(tmp_path):
    """#15 item 13: Numba's cache goes to the kernel_cache setting (the user's cache folder by default); the
    process-wide Numba cache folder is left as it was."""
    import os
    import textwrap

    pytest.importorskip("numba")
    code = textwrap.dedent("""
        import os, numpy
        from numba.core import config as numba_config
        before = numba_config.CACHE_DIR
        from neuronka.ops import kernels
        @kernels.cached_jit(nogil=True)
        def twice(x):
            return 2 * x
        assert twice(numpy.float32(2)) == 4
        assert numba_config.CACHE_DIR == before, (numba_config.CACHE_DIR, before)
        print(kernels.kernel_cache_dir())
    """)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["NEURONKA_KERNEL_CACHE"] = str(tmp_path / "cache")
    script = tmp_path / "uses_kernels.py"  # Numba caches only functions defined in a file
    script.write_text(code)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300,
                         cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "cache")
    cached = [p.name for p in (tmp_path / "cache").rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert any(name.endswith(".nbi") for name in cached) and any(name.endswith(".nbc") for name in cached)
    beside = tmp_path / "__pycache__"  # Numba's default: the __pycache__ beside the source (the package's)
    assert not list(beside.glob("*.nbi")), "the cache went beside the source file"

"""The work split across threads (``neuronka.config.set("conv_threads", n)``, docs/settings.md) computes what one
thread computes, and what plain NumPy computes in float64: convolutions split by batch chunks, the compiled
(Numba) batch-norm, ReLU and add kernels split by rows. Sizes are odd so that the split is uneven (batch 1, 3,
7; channels 5, 13, 61; 72,163 elements), and the thread pool's submissions are counted to prove the work was
really split (none with one thread)."""
from __future__ import annotations

import concurrent.futures
import contextlib

import numpy
import pytest

import neuronka as nk
from neuronka import layers, ops
from neuronka.ops import kernels

THREADS = (1, 2, 3)


@contextlib.contextmanager
def conv_threads(n: int):
    nk.config.set("conv_threads", n)
    try:
        yield
    finally:
        nk.config.reset("conv_threads")


@pytest.fixture
def submissions(monkeypatch):
    """The number of tasks handed to a thread pool since the last reset (``counter[0] = 0``)."""
    counter = [0]
    submit = concurrent.futures.ThreadPoolExecutor.submit

    def counting(self, *args, **kwargs):
        counter[0] += 1
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", counting)
    return counter


# ---- convolution ------------------------------------------------------------------------------------------
def reference_conv(x, w, s):
    """'valid' convolution, stride s: y[n, i, j, o] = Σ_{a,b,c} x[n, s·i + a, s·j + b, c] · w[a, b, c, o]."""
    kh, kw = w.shape[:2]
    ho, wo = (x.shape[1] - kh) // s + 1, (x.shape[2] - kw) // s + 1
    y = numpy.zeros((x.shape[0], ho, wo, w.shape[3]))
    for a in range(kh):
        for b in range(kw):
            y += x[:, a:a + s * ho:s, b:b + s * wo:s, :] @ w[a, b]
    return y


def reference_conv_grads(x, w, s, gy):
    """dL/dx and dL/dw of L = Σ gy · conv(x, w): each tap scatters gy · w[a, b]ᵀ back, and gathers x · gy."""
    kh, kw = w.shape[:2]
    ho, wo = gy.shape[1:3]
    dx, dw = numpy.zeros_like(x), numpy.zeros_like(w)
    for a in range(kh):
        for b in range(kw):
            dx[:, a:a + s * ho:s, b:b + s * wo:s, :] += gy @ w[a, b].T
            dw[a, b] = numpy.einsum("nijc,nijo->co", x[:, a:a + s * ho:s, b:b + s * wo:s, :], gy)
    return dx, dw


@pytest.mark.parametrize("batch, channels, stride", [(1, 5, 1), (3, 13, 1), (7, 13, 2), (7, 5, 1)])
def test_convolution_split_over_threads_equals_one_thread_and_numpy(batch, channels, stride, submissions):
    rng = numpy.random.default_rng(batch * 100 + channels)
    x = rng.standard_normal((batch, 11, 9, channels)).astype(numpy.float32)
    w = rng.standard_normal((3, 3, channels, 7)).astype(numpy.float32)
    results = {}
    for n in THREADS:
        with conv_threads(n):
            submissions[0] = 0
            xt, wt = nk.Tensor(x, requires_grad=True), nk.Tensor(w, requires_grad=True)
            y = ops.conv(xt, wt, strides=stride, padding="valid")
            gy = numpy.random.default_rng(1).standard_normal(y.shape).astype(numpy.float32)
            y.backward(gy)
            results[n] = (y.numpy(), numpy.asarray(xt.grad), numpy.asarray(wt.grad))
            if n == 1 or batch == 1:
                assert submissions[0] == 0, f"{n} thread(s), batch {batch}: {submissions[0]} tasks sent to a pool"
            else:
                assert submissions[0] >= 2, f"{n} threads, batch {batch}: the work was not split (forward, backward)"

    x64, w64 = x.astype(numpy.float64), w.astype(numpy.float64)
    y_ref = reference_conv(x64, w64, stride)
    dx_ref, dw_ref = reference_conv_grads(x64, w64, stride, gy.astype(numpy.float64))
    for n, (y, dx, dw) in results.items():
        what = f"{n} thread(s), batch {batch}, {channels} channels, stride {stride}"
        numpy.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4, err_msg=f"{what}: output vs NumPy")
        numpy.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-4, err_msg=f"{what}: dL/dx vs NumPy")
        numpy.testing.assert_allclose(dw, dw_ref, rtol=1e-4, atol=1e-3, err_msg=f"{what}: dL/dw vs NumPy")
        y1, dx1, dw1 = results[1]
        numpy.testing.assert_allclose(y, y1, rtol=1e-6, atol=1e-6, err_msg=f"{what}: output vs one thread")
        numpy.testing.assert_allclose(dx, dx1, rtol=1e-6, atol=1e-6, err_msg=f"{what}: dL/dx vs one thread")
        numpy.testing.assert_allclose(dw, dw1, rtol=1e-5, atol=1e-5, err_msg=f"{what}: dL/dw vs one thread")



@pytest.mark.skipif(not ops.convolution.blas.direct_available(numpy.float32),
                    reason="the compiled kernels of neuronka/ops/_shifted.c are not built here")
def test_a_single_image_3x3_same_convolution_is_split_by_rows_and_equals_one_thread(submissions):
    # batch 1: fewer images than threads, so the threads share the output rows of the one image (from
    # _ROW_SPLIT_MACS multiply-adds on: 65·64·16·32·9 = 19 M here; a small image is not worth the hand-over)
    rng = numpy.random.default_rng(4)
    small = rng.standard_normal((1, 8, 16, 16)).astype(numpy.float32)
    with conv_threads(2):
        submissions[0] = 0
        ops.conv(nk.Tensor(small), nk.Tensor(rng.standard_normal((3, 3, 16, 32)).astype(numpy.float32)),
                 padding="same")
        assert submissions[0] == 0, "a 1 M multiply-add image was split"
    x = rng.standard_normal((1, 65, 64, 16)).astype(numpy.float32)
    w = rng.standard_normal((3, 3, 16, 32)).astype(numpy.float32)
    x64, w64 = numpy.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).astype(numpy.float64), w.astype(numpy.float64)
    y_ref = reference_conv(x64, w64, 1)
    results = {}
    for n in THREADS:
        with conv_threads(n):
            submissions[0] = 0
            results[n] = ops.conv(nk.Tensor(x), nk.Tensor(w), padding="same").numpy()
            assert (submissions[0] == 0) if n == 1 else (submissions[0] >= 1), f"{n} threads: {submissions[0]}"
    for n, y in results.items():
        numpy.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4, err_msg=f"{n} thread(s) vs NumPy")
        numpy.testing.assert_array_equal(y, results[1], err_msg=f"{n} threads vs one: each row is computed alone")

# ---- the compiled row kernels (batch norm, ReLU, add) -------------------------------------------------------
needs_kernels = pytest.mark.skipif(not kernels.enabled(), reason="numba is not installed (or the compiled kernels "
                                   "are switched off): the row kernels and their split do not exist here")
SHAPE = (7, 13, 13, 61)  # 1,183 rows of 61 columns, 72,163 elements: over the split threshold, split unevenly


@needs_kernels
def test_batch_norm_kernels_split_over_threads_equal_one_thread_and_numpy(submissions):
    rng = numpy.random.default_rng(3)
    x = (rng.standard_normal(SHAPE) * 2.0 + 5.0).astype(numpy.float32)  # a mean far from 0
    gy = rng.standard_normal(SHAPE).astype(numpy.float32)
    gamma, beta = 1.0 + 0.3 * rng.standard_normal(SHAPE[-1]), 0.3 * rng.standard_normal(SHAPE[-1])
    eps = 1e-3
    results = {}
    for n in THREADS:
        with conv_threads(n):
            bn = layers.BatchNormalization(epsilon=eps)
            bn.build(SHAPE)
            bn.gamma.assign(gamma.astype(numpy.float32))
            bn.beta.assign(beta.astype(numpy.float32))
            xt = nk.Tensor(x, requires_grad=True)
            submissions[0] = 0
            y = bn(xt, training=True)
            y.backward(gy)
            results[n] = (y.numpy(), numpy.asarray(xt.grad), numpy.asarray(bn.gamma.grad),
                          numpy.asarray(bn.beta.grad), bn.moving_mean.numpy(), bn.moving_variance.numpy())
            if n == 1:
                assert submissions[0] == 0, f"one thread: {submissions[0]} tasks sent to a pool"
            else:
                assert submissions[0] >= 4, f"{n} threads: the kernels were not split ({submissions[0]} tasks)"

    # the reference, float64: x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β;
    # dL/dx = (γ/√(σ² + ε)) (g − mean(g) − x̂ · mean(g x̂)), dL/dγ = Σ g x̂, dL/dβ = Σ g (over every axis but the last)
    x64, g64 = x.astype(numpy.float64).reshape(-1, SHAPE[-1]), gy.astype(numpy.float64).reshape(-1, SHAPE[-1])
    mu, var = x64.mean(0), x64.var(0)
    xhat = (x64 - mu) / numpy.sqrt(var + eps)
    y_ref = gamma * xhat + beta
    dx_ref = gamma / numpy.sqrt(var + eps) * (g64 - g64.mean(0) - xhat * (g64 * xhat).mean(0))
    expected = (y_ref.reshape(SHAPE), dx_ref.reshape(SHAPE), (g64 * xhat).sum(0), g64.sum(0),
                0.01 * mu, 0.99 + 0.01 * var)  # moving statistics after one step, momentum 0.99
    names = ("output", "dL/dx", "dL/dgamma", "dL/dbeta", "moving_mean", "moving_variance")
    for n, got in results.items():
        for name, a, ref, one in zip(names, got, expected, results[1]):
            numpy.testing.assert_allclose(a, ref, rtol=1e-4, atol=1e-4, err_msg=f"{n} thread(s): {name} vs NumPy")
            numpy.testing.assert_allclose(a, one, rtol=1e-5, atol=1e-5,
                                          err_msg=f"{n} thread(s): {name} vs one thread")


@needs_kernels
def test_relu_and_gradient_sum_kernels_split_over_threads_equal_one_thread_and_numpy_exactly(submissions):
    rng = numpy.random.default_rng(4)
    a, b = (rng.standard_normal(SHAPE).astype(numpy.float32) for _ in range(2))
    gy = rng.standard_normal(SHAPE).astype(numpy.float32)
    for n in THREADS:
        with conv_threads(n):
            submissions[0] = 0
            at, bt = nk.Tensor(a, requires_grad=True), nk.Tensor(b, requires_grad=True)
            y = ops.relu(at + bt) + at  # a residual: a's gradient is the sum of two paths' (the add kernel)
            y.backward(gy)
            # elementwise: every element computed once, by one thread, the same way: equal to the bit
            numpy.testing.assert_array_equal(y.numpy(), numpy.maximum(a + b, 0) + a, err_msg=f"{n} thread(s): y")
            numpy.testing.assert_array_equal(numpy.asarray(bt.grad), gy * (a + b > 0), err_msg=f"{n} thread(s): dy/db")
            numpy.testing.assert_array_equal(numpy.asarray(at.grad), gy * (a + b > 0) + gy,
                                             err_msg=f"{n} thread(s): dy/da, two paths summed")
            if n == 1:
                assert submissions[0] == 0, f"one thread: {submissions[0]} tasks sent to a pool"
            else:
                assert submissions[0] >= 3, (f"{n} threads: relu, its gradient and the gradient sum were not all "
                                             f"split ({submissions[0]} tasks)")

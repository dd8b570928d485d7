"""The C time loops of the LSTM (neuronka/ops/_lstm.c) against the Numba cell kernels and the NumPy steps,
and the C code's vectorized tanh against float64's."""
from __future__ import annotations

import ctypes

import numpy
import pytest

from neuronka import Tensor, ops
from neuronka.ops import kernels, native, recurrent

LANES = native.function("lstm_lanes", [], ctypes.c_int)
needs_native = pytest.mark.skipif(LANES is None or recurrent._c_loops(numpy.zeros(1, numpy.float32), 16 * 8)
                                  is None, reason="the compiled library (neuronka/ops/_native) was not built "
                                  "or NumPy's BLAS cannot be called directly: the LSTM runs the Numba kernels")


def _lstm_outputs(arrays, gys, how, **kwargs):
    """Outputs and every input gradient, with the C loops ("c"), the Numba cells ("numba") or NumPy ("numpy")."""
    saved_loops, saved_enabled, saved_min = recurrent._C_LOOPS, kernels.enabled(), kernels._MIN_SIZE
    kernels._MIN_SIZE = 0
    if how == "numba":
        recurrent._C_LOOPS = False
    kernels.set_enabled(how != "numpy")
    try:
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        ys = ops.lstm(*ts, **kwargs)
        total = sum((ops.sum(y * Tensor(g)) for y, g in zip(ys, gys)), start=Tensor(numpy.zeros((), "float32")))
        total.backward()
        return [y.data for y in ys] + [x.grad for x in ts]
    finally:
        recurrent._C_LOOPS, kernels._MIN_SIZE = saved_loops, saved_min
        kernels.set_enabled(saved_enabled)


@needs_native
@pytest.mark.parametrize("n", [1, 5, 20])
@pytest.mark.parametrize("go_backwards, return_sequences", [(False, True), (True, False), (False, False)])
def test_c_loops_equal_the_numba_cells_and_the_numpy_steps(n, go_backwards, return_sequences):
    lanes = LANES()
    rng = numpy.random.default_rng(n)
    t, f, u = 7, 5, 2 * lanes
    shapes = [(n, t, f), (n, u), (n, u), (f, 4 * u), (u, 4 * u), (4 * u,)]  # x, h0, c0, kernel, recurrent, bias
    arrays = [(rng.standard_normal(s) * 0.7).astype("float32") for s in shapes]
    out_shapes = [(n, t, u) if return_sequences else (n, u), (n, u), (n, u)]
    gys = [rng.standard_normal(s).astype("float32") for s in out_shapes]
    kwargs = dict(go_backwards=go_backwards, return_sequences=return_sequences)
    results = {how: _lstm_outputs(arrays, gys, how, **kwargs) for how in ("c", "numba", "numpy")}
    for other in ("numba", "numpy"):
        for k, (a, b) in enumerate(zip(results["c"], results[other])):
            assert a.dtype == numpy.float32, k
            numpy.testing.assert_allclose(a, b, rtol=3e-5, atol=3e-5, err_msg=f"{other}: output/gradient {k}")


@needs_native
def test_the_c_loops_run_where_they_apply_and_not_elsewhere(monkeypatch):
    lanes = LANES()
    calls = []
    fwd, bwd, *rest = recurrent._C_LOOPS
    monkeypatch.setattr(recurrent, "_C_LOOPS", (lambda *a: calls.append("fwd") or fwd(*a),
                                                lambda *a: calls.append("bwd") or bwd(*a), *rest))
    for units, dtype, expected in ((lanes, "float32", True), (lanes + 1, "float32", False),
                                   (lanes, "float64", False)):
        calls.clear()
        shapes = [(2, 3, 4), (2, units), (2, units), (4, 4 * units), (units, 4 * units)]
        ts = [Tensor(numpy.full(s, 0.1, dtype), requires_grad=True) for s in shapes]
        ops.sum(ops.lstm(*ts)[0]).backward()
        assert calls == (["fwd", "bwd"] if expected else []), (units, dtype)
    previous = kernels.set_enabled(False)
    try:
        ts = [Tensor(numpy.full(s, 0.1, "float32"), requires_grad=True)
              for s in [(2, 3, 4), (2, lanes), (2, lanes), (4, 4 * lanes), (lanes, 4 * lanes)]]
        calls.clear()
        ops.lstm(*ts)
    finally:
        kernels.set_enabled(previous)
    assert calls == []


@needs_native
def test_vectorized_tanh_is_within_two_float32_ulps_of_one_and_keeps_nan():
    tanh = native.function("tanh_f32", [ctypes.c_void_p, ctypes.c_int64])
    lanes = LANES()
    x = numpy.concatenate([numpy.linspace(-12, 12, 200_000 * lanes, dtype=numpy.float32),
                           numpy.float32([0.0, -0.0, 1e-30, -1e-8, 0.2499, 0.25, 0.2501, 8.99, 9.0, 88.0, -88.0,
                                          numpy.inf, -numpy.inf, numpy.nan])])
    x = numpy.concatenate([x, numpy.zeros(-len(x) % lanes, numpy.float32)])
    y = x.copy()
    tanh(y.ctypes.data, y.size)
    finite = ~numpy.isnan(x)
    ref = numpy.tanh(x[finite].astype(numpy.float64))
    assert numpy.abs(y[finite] - ref).max() <= 1.2e-7
    assert numpy.isnan(y[~finite]).all()
    assert numpy.array_equal(numpy.sign(y[finite]), numpy.sign(ref))  # odd, and 0 stays 0

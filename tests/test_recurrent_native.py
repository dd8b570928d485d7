"""The C time loops of the LSTM and the GRU (neuronka/ops/_recurrent.c) against the Numba cell kernels and the
NumPy steps, and the C code's vectorized tanh against float64's."""
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


def _outputs(op, arrays, gys, how, **kwargs):
    """Outputs and every input gradient of ``op`` (ops.lstm, ops.gru), with the C loops ("c"), the Numba cells
    ("numba": the LSTM's) or the NumPy steps ("numpy")."""
    saved_loops, saved_enabled, saved_min = recurrent._C_LOOPS, kernels.enabled(), kernels._MIN_SIZE
    kernels._MIN_SIZE = 0
    if how == "numba":
        recurrent._C_LOOPS = False
    kernels.set_enabled(how != "numpy")
    try:
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        ys = op(*ts, **kwargs)
        total = sum((ops.sum(y * Tensor(g)) for y, g in zip(ys, gys)), start=Tensor(numpy.zeros((), "float32")))
        total.backward()
        return [y.data for y in ys] + [x.grad for x in ts]
    finally:
        recurrent._C_LOOPS, kernels._MIN_SIZE = saved_loops, saved_min
        kernels.set_enabled(saved_enabled)


def _assert_close(got, expected, what=""):
    """Every output and gradient float32 and equal within 3e-5 (the C loops against another path)."""
    for k, (a, b) in enumerate(zip(got, expected)):
        assert a.dtype == numpy.float32, k
        numpy.testing.assert_allclose(a, b, rtol=3e-5, atol=3e-5, err_msg=f"{what}output/gradient {k}")


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
    results = {how: _outputs(ops.lstm, arrays, gys, how, **kwargs) for how in ("c", "numba", "numpy")}
    for other in ("numba", "numpy"):
        _assert_close(results["c"], results[other], f"{other}: ")


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
@pytest.mark.parametrize("n", [1, 6])
@pytest.mark.parametrize("go_backwards, return_sequences, bias", [(False, True, True), (True, False, True),
                                                                  (False, False, False)])
def test_gru_c_loop_equals_the_numpy_steps(n, go_backwards, return_sequences, bias):
    lanes = LANES()
    rng = numpy.random.default_rng(10 + n)
    t, f, u = 7, 5, 2 * lanes
    shapes = [(n, t, f), (n, u), (f, 3 * u), (u, 3 * u)] + ([(2, 3 * u)] if bias else [])
    arrays = [(rng.standard_normal(s) * 0.7).astype("float32") for s in shapes]
    gys = [rng.standard_normal(s).astype("float32") for s in [(n, t, u) if return_sequences else (n, u), (n, u)]]
    kwargs = dict(go_backwards=go_backwards, return_sequences=return_sequences)
    _assert_close(_outputs(ops.gru, arrays, gys, "c", **kwargs), _outputs(ops.gru, arrays, gys, "numpy", **kwargs))


@needs_native
def test_the_gru_c_loop_runs_where_it_applies_and_not_elsewhere(monkeypatch):
    lanes = LANES()
    calls = []
    loops = list(recurrent._C_LOOPS)
    fwd, bwd = loops[5], loops[6]
    loops[5] = lambda *a: calls.append("fwd") or fwd(*a)
    loops[6] = lambda *a: calls.append("bwd") or bwd(*a)
    monkeypatch.setattr(recurrent, "_C_LOOPS", tuple(loops))
    base = dict(reset_after=True, activation="tanh", recurrent_activation="sigmoid")
    for units, dtype, change, expected in ((lanes, "float32", {}, ["fwd", "bwd"]),
                                           (lanes + 1, "float32", {}, []), (lanes, "float64", {}, []),
                                           (lanes, "float32", {"reset_after": False}, []),
                                           (lanes, "float32", {"activation": "relu"}, []),
                                           (lanes, "float32", {"recurrent_activation": "hard_sigmoid"}, [])):
        calls.clear()
        kw = {**base, **change}
        bias = (2, 3 * units) if kw["reset_after"] else (3 * units,)
        shapes = [(2, 3, 4), (2, units), (4, 3 * units), (units, 3 * units), bias]
        ts = [Tensor(numpy.full(s, 0.1, dtype), requires_grad=True) for s in shapes]
        ops.sum(ops.gru(*ts, **kw)[0]).backward()
        assert calls == expected, (units, dtype, change)
    # a mask in training takes the masked steps; one that only cuts rows short, without gradients, the C loop
    shapes = [(2, 3, 4), (2, lanes), (4, 3 * lanes), (lanes, 3 * lanes), (2, 3 * lanes)]
    mask = numpy.array([[True, True, False], [True, True, True]])
    calls.clear()
    ops.sum(ops.gru(*[Tensor(numpy.full(s, 0.1, "float32"), requires_grad=True) for s in shapes],
                    mask=mask)[0]).backward()
    assert calls == []
    from neuronka import autograd  # noqa: PLC0415

    with autograd.no_grad():
        ops.gru(*[Tensor(numpy.full(s, 0.1, "float32")) for s in shapes], mask=mask)
    assert calls == ["fwd"]


@needs_native
@pytest.mark.parametrize("cfg", [{}, {"return_sequences": False}, {"zero_output_for_mask": True}])
def test_gru_inference_with_a_right_padding_mask_equals_the_masked_steps(cfg):
    from neuronka import autograd  # noqa: PLC0415

    lanes = LANES()
    rng = numpy.random.default_rng(3)
    n, t, f, u = 4, 7, 5, lanes
    shapes = [(n, t, f), (n, u), (f, 3 * u), (u, 3 * u), (2, 3 * u)]
    arrays = [(rng.standard_normal(s) * 0.7).astype("float32") for s in shapes]
    mask = numpy.arange(t)[None, :] < numpy.array([7, 4, 1, 0])[:, None]
    arrays[0][~mask] = 50.0  # large values in the padding: they must not leak into any state
    stepwise = [y.numpy() for y in ops.gru(*[Tensor(a, requires_grad=True) for a in arrays], mask=mask, **cfg)]
    with autograd.no_grad():
        fast = [y.numpy() for y in ops.gru(*[Tensor(a) for a in arrays], mask=mask, **cfg)]
    for a, b in zip(fast, stepwise):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


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

"""keras.ops reductions against real Keras 3.15.1: values, shapes and dtypes, and every differentiable one's
gradient against central differences in float64 (``grad=``), zeros, ties and NaN entries included."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import ops

from .keras_oracle import OpCase, assert_same, keras_api, keras_or_skip, op_cases


def with_nan(a, every=5):
    """a with every ``every``-th entry NaN (no row left all NaN for the shapes used here)."""
    a = numpy.array(a, dtype=a.dtype)
    a.reshape(-1)[::every] = numpy.nan
    return a


def all_nan_row(a):
    a = numpy.array(a)
    a[0] = numpy.nan
    return a


def with_zeros(a, positions):
    a = numpy.array(a)
    a.reshape(-1)[list(positions)] = 0
    return a


def with_ties(a):
    """Each row's maximum and minimum appear twice (two-way ties: the central difference gives 1/2 each)."""
    a = numpy.array(a)
    for row in a.reshape(-1, a.shape[-1]):
        row[numpy.argsort(row)[-2]] = row.max()
        row[numpy.argsort(row)[1]] = row.min()
    return a


def distinct(r, shape):
    """Well-separated values, no ties (for order statistics)."""
    n = int(numpy.prod(shape))
    return ((r.rng.permutation(n).reshape(shape) - n / 2) / 3 + r.uniform(shape, 0, 0.05)).astype("float32")


def weighted(name):
    """keras.ops.<name> and neuronka's with the second positional argument passed as ``weights=``."""
    return {"keras_fn": lambda x, w, **kw: getattr(keras_or_skip().ops, name)(x, weights=w, **kw),
            "nk_fn": lambda x, w, **kw: getattr(ops, name)(x, weights=w, **kw)}


X34 = lambda r: (r.normal((3, 4)),)  # noqa: E731
X234 = lambda r: (r.normal((2, 3, 4)),)  # noqa: E731
I34 = lambda r: (r.ints((3, 4), -5, 6),)  # noqa: E731
B34 = lambda r: (r.bools((3, 4)),)  # noqa: E731

CASES = [
    # ---- sum, mean, var, std ----------------------------------------------------------------------
    OpCase("ops.sum", X34, id="all", grad=(0,)),
    OpCase("ops.sum", X234, {"axis": (0, 2), "keepdims": True}, id="axes_keepdims", grad=(0,)),
    OpCase("ops.sum", X234, {"axis": -1}, id="last"),
    OpCase("ops.sum", I34, {"axis": 1}, id="int32"),
    OpCase("ops.sum", B34, {"axis": 0}, id="bool_to_int32"),
    OpCase("ops.sum", lambda r: (r.ints((3, 4), -5, 6, dtype="int8"),), id="int8_to_int32"),
    OpCase("ops.sum", lambda r: (r.ints((3, 4), 0, 200, dtype="uint8"),), {"axis": 1}, id="uint8_to_int32"),
    OpCase("ops.sum", X34, {"axis": ()}, id="empty_axis"),
    OpCase("ops.mean", X234, {"axis": (1, 2)}, id="axes", grad=(0,)),
    OpCase("ops.mean", X34, {"axis": 0, "keepdims": True}, id="keepdims", grad=(0,)),
    OpCase("ops.mean", I34, {"axis": 1}, id="int32_to_float32"),
    OpCase("ops.mean", B34, id="bool_to_float32"),
    OpCase("ops.var", X234, {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.var", X34, {"keepdims": True}, id="all_keepdims", grad=(0,)),
    OpCase("ops.var", I34, {"axis": 0}, id="int32"),
    OpCase("ops.std", X234, {"axis": (0, 2)}, id="axes", grad=(0,)),
    OpCase("ops.std", X34, id="all", grad=(0,)),
    OpCase("ops.std", I34, {"axis": 1, "keepdims": True}, id="int32_to_float32"),
    # ---- extremes --------------------------------------------------------------------------------------
    OpCase("ops.max", X234, {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.max", X34, {"axis": (0, 1), "keepdims": True}, id="all_axes_keepdims", grad=(0,)),
    OpCase("ops.max", X34, {"axis": 1, "initial": 0.5}, id="initial", grad=(0,)),
    OpCase("ops.max", lambda r: (with_ties(r.normal((3, 4))),), {"axis": 1}, id="ties_share", grad=(0,)),
    OpCase("ops.max", I34, {"axis": 0}, id="int32"),
    OpCase("ops.max", B34, {"axis": 1}, id="bool"),
    OpCase("ops.min", X234, {"axis": (0, 2)}, id="axes", grad=(0,)),
    OpCase("ops.min", X34, {"axis": 0, "initial": -0.3}, id="initial", grad=(0,)),
    OpCase("ops.min", lambda r: (with_ties(r.normal((3, 4))),), {"axis": -1}, id="ties_share", grad=(0,)),
    OpCase("ops.min", I34, id="int32"),
    OpCase("ops.amax", X234, {"axis": (1, 2), "keepdims": True}, id="axes", grad=(0,)),
    OpCase("ops.amax", I34, {"axis": 1}, id="int32"),
    OpCase("ops.amin", X234, {"axis": 0}, id="axis", grad=(0,)),
    OpCase("ops.amin", lambda r: (with_ties(r.normal((2, 5))),), id="ties_share", grad=(0,)),
    OpCase("ops.ptp", X34, {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.ptp", X234, {"axis": (0, 2), "keepdims": True}, id="axes"),
    OpCase("ops.ptp", I34, id="int32"),
    # ---- prod ---------------------------------------------------------------------------------------------
    OpCase("ops.prod", lambda r: (r.uniform((3, 4), 0.5, 1.5),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.prod", lambda r: (with_zeros(r.uniform((3, 4), 0.5, 1.5), [1, 5, 6]),), {"axis": 1},
           id="zeros_one_and_two_per_row", grad=(0,)),
    OpCase("ops.prod", lambda r: (with_zeros(r.uniform((2, 3, 2), 0.5, 1.5), [4]),), {"axis": (0, 2),
                                                                                      "keepdims": True},
           id="zero_axes_keepdims", grad=(0,)),
    OpCase("ops.prod", lambda r: (r.uniform((2, 3), 0.5, 1.5),), id="all", grad=(0,)),
    OpCase("ops.prod", lambda r: (r.ints((3, 4), -3, 4, dtype="int8"),), {"axis": 0}, id="int8_to_int32"),
    OpCase("ops.prod", B34, {"axis": 1}, id="bool_to_int32"),
    OpCase("ops.prod", I34, {"axis": 1, "dtype": "float32"}, id="dtype"),
    # ---- logical, arg-extremes, counts --------------------------------------------------------------------
    OpCase("ops.all", B34, {"axis": 1}, id="bool"),
    OpCase("ops.all", X34, {"keepdims": True}, id="float_keepdims"),
    OpCase("ops.any", lambda r: (r.bools((2, 3, 4)),), {"axis": (0, 2)}, id="bool_axes"),
    OpCase("ops.any", I34, id="int"),
    OpCase("ops.argmax", X234, {"axis": 1}, id="axis"),
    OpCase("ops.argmax", X34, id="flat"),
    OpCase("ops.argmax", I34, {"axis": -1, "keepdims": True}, id="int_keepdims"),
    OpCase("ops.argmax", B34, {"axis": 0}, id="bool_first_of_ties"),
    OpCase("ops.argmin", X234, {"axis": 2}, id="axis"),
    OpCase("ops.argmin", I34, id="int_flat"),
    OpCase("ops.count_nonzero", I34, id="all"),
    OpCase("ops.count_nonzero", I34, {"axis": 1}, id="axis"),
    OpCase("ops.count_nonzero", lambda r: (r.bools((2, 3, 4)),), {"axis": (0, 2)}, id="bool_axes"),
    # ---- cumulative -----------------------------------------------------------------------------------------
    OpCase("ops.cumsum", X34, {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.cumsum", X234, id="flat", grad=(0,)),
    OpCase("ops.cumsum", I34, {"axis": 0}, id="int32"),
    OpCase("ops.cumsum", B34, {"axis": 1}, id="bool_to_int32"),
    OpCase("ops.cumsum", I34, {"axis": 1, "dtype": "float32"}, id="dtype"),
    OpCase("ops.cumprod", lambda r: (r.uniform((3, 4), 0.5, 1.5),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.cumprod", lambda r: (with_zeros(r.uniform((4, 5), 0.5, 1.5), [2, 6, 8, 11, 12, 19]),),
           {"axis": 1}, id="zeros_first_second_and_last", grad=(0,)),
    OpCase("ops.cumprod", lambda r: (with_zeros(r.uniform((3, 4), 0.5, 1.5), [4]),), {"axis": 0},
           id="zero_axis0", grad=(0,)),
    OpCase("ops.cumprod", lambda r: (r.uniform((2, 3), 0.5, 1.5),), id="flat", grad=(0,)),
    OpCase("ops.cumprod", lambda r: (r.ints((3, 4), -3, 4),), {"axis": 1}, id="int32"),
    # ---- logsumexp ----------------------------------------------------------------------------------------
    OpCase("ops.logsumexp", X34, {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.logsumexp", X234, {"axis": (0, 2), "keepdims": True}, id="axes_keepdims", grad=(0,)),
    OpCase("ops.logsumexp", lambda r: (r.normal((3, 4)) * 300,), {"axis": 1}, id="large_values_stable",
           rtol=1e-6, grad=(0,), grad_atol=1e-4),
    OpCase("ops.logsumexp", lambda r: (numpy.array([[-numpy.inf, 1.0], [-numpy.inf, -numpy.inf]], "float32"),),
           {"axis": 1}, id="minus_inf"),
    OpCase("ops.logsumexp", X34, id="all", grad=(0,)),
    # ---- nan-ignoring ----------------------------------------------------------------------------------
    OpCase("ops.nansum", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nansum", I34, id="int32"),
    OpCase("ops.nanmean", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nanmean", lambda r: (all_nan_row(r.normal((3, 4))),), {"axis": 1}, id="all_nan_row"),
    OpCase("ops.nanmean", I34, id="int32_to_float32"),
    OpCase("ops.nanvar", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 0}, id="axis", grad=(0,)),
    OpCase("ops.nanvar", lambda r: (with_nan(r.normal((2, 3, 4)), 3),), {"axis": (0, 2), "keepdims": True},
           id="axes_keepdims", grad=(0,)),
    OpCase("ops.nanstd", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nanstd", lambda r: (with_nan(r.normal((3, 4))),), id="all", grad=(0,)),
    OpCase("ops.nanmax", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nanmax", lambda r: (all_nan_row(r.normal((3, 4))),), {"axis": 1}, id="all_nan_row"),
    OpCase("ops.nanmax", I34, {"axis": 0}, id="int32"),
    OpCase("ops.nanmin", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 0, "keepdims": True}, id="axis",
           grad=(0,)),
    OpCase("ops.nanmin", lambda r: (all_nan_row(r.normal((3, 4))),), {"axis": 1}, id="all_nan_row"),
    OpCase("ops.nanprod", lambda r: (with_nan(r.uniform((3, 4), 0.5, 1.5)),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nanprod", I34, {"axis": 1}, id="int32"),
    OpCase("ops.nanargmax", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 1}, id="axis"),
    OpCase("ops.nanargmax", lambda r: (all_nan_row(r.normal((3, 4))),), {"axis": 1}, id="all_nan_row_minus_one"),
    OpCase("ops.nanargmin", lambda r: (all_nan_row(r.normal((3, 4))),), {"axis": 1}, id="all_nan_row_minus_one"),
    OpCase("ops.nanargmin", I34, {"axis": 0}, id="int32"),
    OpCase("ops.nancumsum", lambda r: (with_nan(r.normal((3, 4))),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nancumsum", lambda r: (with_nan(r.normal((3, 4))),), id="flat"),
    OpCase("ops.nancumprod", lambda r: (with_nan(r.uniform((3, 4), 0.5, 1.5)),), {"axis": 1}, id="axis",
           grad=(0,)),
    OpCase("ops.nanmedian", lambda r: (with_nan(distinct(r, (3, 5))),), {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.nanmedian", lambda r: (all_nan_row(distinct(r, (3, 4))),), {"axis": 1}, id="all_nan_row"),
    OpCase("ops.nanquantile", lambda r: (with_nan(distinct(r, (3, 5)), 4), [0.25, 0.9]), {"axis": 1},
           id="q_vector", grad=(0,)),
    OpCase("ops.nanpercentile", lambda r: (with_nan(distinct(r, (4, 3))), 30.0), {"axis": 0, "keepdims": True},
           id="keepdims", grad=(0,)),
    # ---- order statistics -------------------------------------------------------------------------------
    OpCase("ops.median", lambda r: (distinct(r, (3, 4)),), {"axis": 1}, id="even", grad=(0,)),
    OpCase("ops.median", lambda r: (distinct(r, (3, 5)),), {"axis": 1, "keepdims": True}, id="odd", grad=(0,)),
    OpCase("ops.median", lambda r: (distinct(r, (2, 3, 4)),), {"axis": (0, 2)}, id="axes", grad=(0,)),
    OpCase("ops.median", I34, id="int32_to_float32"),
    OpCase("ops.quantile", lambda r: (distinct(r, (3, 6)), 0.3), {"axis": 1}, id="linear", grad=(0,)),
    OpCase("ops.quantile", lambda r: (distinct(r, (2, 3, 4)), numpy.array([0.1, 0.5, 1.0], "float32")),
           {"axis": (1, 2), "keepdims": True}, id="q_vector_axes_keepdims", grad=(0,)),
    OpCase("ops.quantile", lambda r: (distinct(r, (3, 6)), [0.3, 0.75]), {"axis": 0, "method": "lower"},
           id="lower", grad=(0,)),
    OpCase("ops.quantile", lambda r: (distinct(r, (3, 6)), [0.3, 0.75]), {"axis": 1, "method": "higher"},
           id="higher", grad=(0,)),
    OpCase("ops.quantile", lambda r: (distinct(r, (3, 6)), [0.3, 0.5, 0.75]), {"axis": 1, "method": "midpoint"},
           id="midpoint", grad=(0,)),
    OpCase("ops.quantile", lambda r: (distinct(r, (3, 5)), [0.1, 0.375, 0.625, 0.9]),
           {"axis": 1, "method": "nearest"}, id="nearest_halves", grad=(0,)),
    OpCase("ops.quantile", lambda r: (distinct(r, (3, 4)), 0.4), id="flat"),
    OpCase("ops.quantile", lambda r: (r.ints((3, 4)), 0.4), {"axis": 1}, id="int32"),
    OpCase("ops.percentile", lambda r: (distinct(r, (3, 6)), [10.0, 50.0, 95.0]), {"axis": 1}, id="vector",
           grad=(0,)),
    OpCase("ops.percentile", lambda r: (distinct(r, (4, 3)), 62.5), {"axis": 0, "method": "nearest"},
           id="nearest"),
    # ---- average --------------------------------------------------------------------------------------
    OpCase("ops.average", X234, {"axis": 1}, id="unweighted", grad=(0,)),
    OpCase("ops.average", lambda r: (r.normal((3, 4)), r.positive((4,))), {"axis": -1}, id="weights_1d",
           grad=(0, 1), **weighted("average")),
    OpCase("ops.average", lambda r: (r.normal((3, 4)), r.positive((3, 4))), {"axis": 1}, id="weights_full",
           grad=(0, 1), **weighted("average")),
    OpCase("ops.average", lambda r: (r.ints((2, 4)), r.positive((4,))), {"axis": 1}, id="int_x", **weighted("average")),
    OpCase("ops.average", I34, id="int_unweighted"),
    # ---- differences and integration ----------------------------------------------------------------------
    OpCase("ops.diff", X34, id="last", grad=(0,)),
    OpCase("ops.diff", lambda r: (r.normal((5, 3)),), {"n": 2, "axis": 0}, id="n2_axis0", grad=(0,)),
    OpCase("ops.diff", lambda r: (r.normal((2, 6)),), {"n": 3}, id="n3", grad=(0,)),
    OpCase("ops.diff", I34, {"axis": 0}, id="int32"),
    OpCase("ops.diff", B34, id="bool_not_equal"),
    OpCase("ops.trapezoid", X34, id="dx_default", grad=(0,)),
    OpCase("ops.trapezoid", X234, {"dx": 0.5, "axis": 1}, id="dx", grad=(0,)),
    OpCase("ops.trapezoid", lambda r: (r.normal((3, 4)), numpy.sort(r.normal((4,)))), id="x_1d", grad=(0, 1)),
    OpCase("ops.trapezoid", lambda r: (r.normal((3, 4)), r.normal((3, 4))), {"axis": -1}, id="x_full",
           grad=(0, 1)),
    OpCase("ops.trapezoid", I34, id="int32_to_float32"),
    # ---- counting ----------------------------------------------------------------------------------------
    OpCase("ops.histogram", lambda r: (r.normal((40,)),), id="default_bins"),
    OpCase("ops.histogram", lambda r: (r.normal((30,)),), {"bins": 4, "range": (-1.0, 1.5)}, id="range"),
    OpCase("ops.bincount", lambda r: (r.ints((12,), 0, 6),), id="counts"),
    OpCase("ops.bincount", lambda r: (r.ints((12,), 0, 6),), {"minlength": 9}, id="minlength"),
    OpCase("ops.bincount", lambda r: (r.ints((12,), 0, 6), r.normal((12,))), id="weights", grad=(1,)),
    OpCase("ops.bincount", lambda r: (r.ints((12,), 0, 6), r.ints((12,), 0, 5)), id="int_weights"),
    OpCase("ops.bincount", lambda r: (r.ints((3, 5), 0, 4),), {"minlength": 4}, id="2d"),
    OpCase("ops.bincount", lambda r: (r.ints((3, 5), 0, 4), r.normal((3, 5))), {"minlength": 4}, id="2d_weights",
           grad=(1,)),
    # ---- correlations -------------------------------------------------------------------------------
    OpCase("ops.corrcoef", lambda r: (r.normal((3, 6)),), id="rows", rtol=1e-4, atol=1e-5, grad=(0,)),
    OpCase("ops.corrcoef", lambda r: (r.ints((2, 5)),), id="int32", rtol=1e-4, atol=1e-5),
    OpCase("ops.correlate", lambda r: (r.normal((6,)), r.normal((3,))), id="valid", grad=(0, 1)),
    OpCase("ops.correlate", lambda r: (r.normal((4,)), r.normal((3,))), {"mode": "full"}, id="full", grad=(0, 1)),
    OpCase("ops.correlate", lambda r: (r.normal((5,)), r.normal((3,))), {"mode": "same"}, id="same", grad=(0, 1)),
    OpCase("ops.correlate", lambda r: (r.normal((3,)), r.normal((5,))), {"mode": "valid"}, id="shorter_first",
           grad=(0, 1)),
    OpCase("ops.correlate", lambda r: (r.normal((4,)), r.normal((6,))), {"mode": "same"}, id="same_shorter_first",
           grad=(0, 1)),
    OpCase("ops.correlate", lambda r: (r.ints((5,)), r.ints((2,))), {"mode": "full"}, id="int32_to_float32"),
    # ---- segment reductions ------------------------------------------------------------------------------
    OpCase("ops.segment_sum", lambda r: (r.normal((6, 3)), numpy.array([0, 0, 1, 3, 1, 0])), id="unsorted",
           grad=(0,)),
    OpCase("ops.segment_sum", lambda r: (r.normal((5,)), numpy.array([0, 1, 1, 2, 2])), {"num_segments": 5,
                                                                                         "sorted": True},
           id="num_segments_empty", grad=(0,)),
    OpCase("ops.segment_sum", lambda r: (r.ints((5, 2)), numpy.array([2, 0, 2, 1, 0])), id="int32"),
    OpCase("ops.segment_max", lambda r: (r.normal((6, 2)), numpy.array([1, 0, 1, 3, 0, 1])), id="empty_is_minus_inf"),
    OpCase("ops.segment_max", lambda r: (with_ties(r.normal((2, 6))).T, numpy.array([1, 0, 1, 2, 0, 1])),
           id="ties_share", grad=(0,)),
    OpCase("ops.segment_max", lambda r: (r.ints((5,)), numpy.array([0, 0, 1, 1, 1])), {"num_segments": 2},
           id="int32"),
    OpCase("ops.segment_min", lambda r: (r.normal((6,)), numpy.array([2, 0, 1, 1, 0, 2])), {"num_segments": 4},
           id="empty_is_inf"),
    OpCase("ops.segment_min", lambda r: (r.normal((6, 2)), numpy.array([2, 0, 1, 1, 0, 2])), id="values",
           grad=(0,)),
    OpCase("ops.segment_prod", lambda r: (r.uniform((6, 2), 0.5, 1.5), numpy.array([0, 1, 0, 2, 1, 0])),
           id="values", grad=(0,)),
    OpCase("ops.segment_prod", lambda r: (with_zeros(r.uniform((6,), 0.5, 1.5), [0, 3, 5]),
                                          numpy.array([0, 1, 0, 1, 2, 1])), id="zeros", grad=(0,)),
]


@op_cases(CASES)
def test_reduction_matches_keras(case):
    case.run()


# ---- behaviour beyond the table ---------------------------------------------------------------------------
@keras_api("ops.max", "ops.min")
def test_max_min_of_empty_tensor_raise_without_initial_as_keras():
    keras = keras_or_skip()
    empty = numpy.zeros((0, 3), "float32")
    for name in ("max", "min"):
        with pytest.raises(ValueError):
            getattr(keras.ops, name)(empty)
        with pytest.raises(ValueError, match="empty"):
            getattr(ops, name)(empty)


def test_reductions_reject_out_of_range_axis_with_value_error():
    x = numpy.ones((2, 3), "float32")
    for fn in (ops.sum, ops.mean, ops.var, ops.std, ops.max, ops.prod, ops.argmax, ops.cumsum, ops.cumprod,
               ops.logsumexp, ops.median, lambda x, axis: ops.quantile(x, 0.5, axis=axis)):
        with pytest.raises(ValueError, match="axis"):
            fn(x, axis=2)


@keras_api("ops.histogram")
def test_histogram_rejects_what_keras_rejects():
    keras = keras_or_skip()
    x = numpy.arange(6, dtype="float32")
    for kwargs in ({"bins": 2.5}, {"bins": -1}, {"range": (3.0, 1.0)}):
        with pytest.raises((TypeError, ValueError)):
            keras.ops.histogram(x, **kwargs)
        with pytest.raises((TypeError, ValueError), match="histogram"):
            ops.histogram(x, **kwargs)
    with pytest.raises(ValueError, match="1-D"):
        ops.histogram(x.reshape(2, 3))


def test_undifferentiable_results_raise_when_differentiated():
    x = nk.Tensor(numpy.linspace(-1, 1, 8), requires_grad=True)
    for result in ops.histogram(x, bins=3):
        with pytest.raises(RuntimeError, match="histogram"):
            ops.sum(result).backward()
    assert not ops.argmax(x).requires_grad and not ops.count_nonzero(x).requires_grad
    assert ops.argmax(x).dtype == numpy.int32


def test_average_follows_numpy_where_keras_torch_divides_by_the_last_axis():
    # Keras's torch backend divides by the weights' sum over their last axis; NumPy (and Keras's documentation)
    # by the sum over ``axis``: neuronka follows the documentation.
    rng = numpy.random.default_rng(0)
    x, w = rng.normal(size=(3, 4)), rng.uniform(0.5, 2, (3, 4))
    numpy.testing.assert_allclose(ops.average(x, weights=w).numpy(), numpy.average(x, weights=w))
    numpy.testing.assert_allclose(ops.average(x, axis=0, weights=w).numpy(), numpy.average(x, axis=0, weights=w))
    numpy.testing.assert_allclose(ops.average(x, axis=0, weights=w[:, 0]).numpy(),
                                  numpy.average(x, axis=0, weights=w[:, 0]))
    with pytest.raises(ValueError, match="axis must be specified"):
        ops.average(x, weights=w[0])


@keras_api("ops.segment_sum")
def test_segment_ops_validate_ids_as_keras():
    keras = keras_or_skip()
    x = numpy.ones((4, 2), "float32")
    for ids in (numpy.zeros((4, 1), "int32"), numpy.zeros((3,), "int32")):
        with pytest.raises(ValueError):
            keras.ops.segment_sum(x, ids)
        with pytest.raises(ValueError, match="segment_ids"):
            ops.segment_sum(x, ids)


@keras_api("ops.logsumexp")
def test_logsumexp_gradient_is_softmax_for_huge_inputs():
    x = nk.Tensor(numpy.array([[1000.0, 1000.0, 990.0]]), requires_grad=True)
    ops.sum(ops.logsumexp(x, axis=1)).backward()
    e = numpy.exp(numpy.array([0.0, 0.0, -10.0]))
    numpy.testing.assert_allclose(x.grad, [e / e.sum()], rtol=1e-12)
    keras = keras_or_skip()
    assert_same(ops.logsumexp(x.data, axis=1), keras.ops.logsumexp(x.data, axis=1))


def test_nan_reductions_give_zero_gradient_at_nan_entries():
    data = numpy.array([[1.0, numpy.nan, 2.0], [numpy.nan, 3.0, -1.0]])
    for fn in (ops.nansum, ops.nanmean, ops.nanvar, ops.nanstd, ops.nanmax, ops.nanmin, ops.nanprod,
               ops.nanmedian, ops.nancumsum, ops.nancumprod):
        x = nk.Tensor(data, requires_grad=True)
        y = fn(x, axis=1)
        ops.sum(y).backward()
        assert numpy.all(x.grad[numpy.isnan(data)] == 0), fn.__name__
        assert numpy.all(numpy.isfinite(x.grad)), fn.__name__


def test_keepdims_with_axis_none_keeps_every_axis_as_numpy():
    # Keras's torch backend drops keepdims when axis is None for sum, prod, max, min, amax, amin and ptp
    # (a scalar); its other reductions, NumPy and JAX keep a (1, 1, ...) shape, and so does neuronka.
    x = numpy.random.default_rng(0).normal(size=(2, 3))
    for name in ("sum", "prod", "max", "min", "amax", "amin", "ptp", "mean", "var", "std", "all", "any", "argmax",
                 "logsumexp", "median"):
        assert getattr(ops, name)(x, keepdims=True).shape == (1, 1), name
    numpy.testing.assert_allclose(ops.sum(x, keepdims=True).numpy(), x.sum(keepdims=True))


def test_max_of_empty_tensor_with_initial_is_numpy_shaped():
    empty = numpy.zeros((0, 3), "float32")
    numpy.testing.assert_array_equal(ops.max(empty, axis=0, initial=-1.0).numpy(), [-1.0, -1.0, -1.0])
    assert ops.min(empty, initial=2.0, keepdims=True).shape == (1, 1)

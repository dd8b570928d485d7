"""keras.ops sorting, searching and indexing against real Keras 3.15.1: values, shapes and dtypes, the
gradient of the values they pick (central differences in float64), and undifferentiable results."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import ops

from .keras_oracle import OpCase, assert_same, keras_api, keras_or_skip, op_cases, to_numpy


def distinct(r, shape):
    """Well-separated values, no ties."""
    n = int(numpy.prod(shape))
    return ((r.rng.permutation(n).reshape(shape) - n / 2) / 3 + r.uniform(shape, 0, 0.05)).astype("float32")


def top_k_values_and_int32_indices(actual, expected):
    """top_k: values as Keras; indices equal in value (neuronka int32, Keras on torch int64)."""
    assert_same(actual[0], expected[0], what="top_k values")
    idx = to_numpy(actual[1])
    assert idx.dtype == numpy.int32, idx.dtype
    numpy.testing.assert_array_equal(idx, to_numpy(expected[1]))


def same_sets_per_row(actual, expected):
    """top_k with sorted=False: the same values and indices per row, in any order."""
    for a, e in zip(actual, expected):
        a, e = to_numpy(a), to_numpy(e)
        numpy.testing.assert_allclose(numpy.sort(a, axis=-1), numpy.sort(e, axis=-1))


def partitions_like(x_of):
    """argpartition: every index once; positions before kth hold values <= x[kth], after it >= (Keras's order
    within each side is its own)."""
    def compare(actual, expected):
        x, kth, axis = x_of()
        a, e = to_numpy(actual), to_numpy(expected)
        assert a.dtype == numpy.int32 and a.shape == e.shape
        numpy.testing.assert_array_equal(numpy.sort(a, axis=axis), numpy.sort(e, axis=axis))
        picked = numpy.take_along_axis(x, a, axis=axis)
        ref = numpy.take_along_axis(x, e, axis=axis)
        pivot = numpy.take(picked, [kth], axis=axis)
        numpy.testing.assert_array_equal(pivot, numpy.take(ref, [kth], axis=axis))
        n = x.shape[axis]
        assert numpy.all(numpy.take(picked, range(kth), axis=axis) <= pivot)
        assert numpy.all(numpy.take(picked, range(kth + 1, n), axis=axis) >= pivot)
    return compare


def stacked_rows(actual, expected):
    """nonzero / where(condition): neuronka's tuple of int32 index arrays are the rows of Keras's (rank, n)
    (int32 for nonzero; Keras's torch where(condition) gives int64 there, neuronka int32 as nonzero)."""
    assert isinstance(actual, tuple)
    assert_same(numpy.stack([to_numpy(a) for a in actual]), expected, what="indices", check_dtype=False)
    assert all(to_numpy(a).dtype == numpy.int32 for a in actual)
    assert to_numpy(expected).dtype in (numpy.int32, numpy.int64)


def _argpartition_input():
    return numpy.random.default_rng(0).integers(-20, 20, (3, 7)).astype("int32"), 2, -1


X34 = lambda r: (r.normal((3, 4)),)  # noqa: E731
COND = lambda r: r.bools((3, 4))  # noqa: E731

CASES = [
    # ---- take, take_along_axis -----------------------------------------------------------------------
    OpCase("ops.take", lambda r: (r.normal((4, 3)), numpy.array([0, 2, 2, -1])), {"axis": 0},
           id="rows_repeated_negative", grad=(0,)),
    OpCase("ops.take", lambda r: (r.normal((2, 5)), numpy.array([[1, 4], [4, 0]])), {"axis": 1},
           id="index_matrix", grad=(0,)),
    OpCase("ops.take", lambda r: (r.normal((2, 3)), numpy.array([5, 0, 5])), id="flat", grad=(0,)),
    OpCase("ops.take", lambda r: (r.ints((3, 4)), numpy.array([1, 1])), {"axis": -1}, id="int32"),
    OpCase("ops.take_along_axis", lambda r: (r.normal((3, 4)), r.ints((3, 2), 0, 4)), {"axis": 1},
           id="axis1", grad=(0,)),
    OpCase("ops.take_along_axis", lambda r: (r.normal((3, 4)), r.ints((5, 4), -3, 3)), {"axis": 0},
           id="negative_repeated", grad=(0,)),
    OpCase("ops.take_along_axis", lambda r: (r.normal((3, 4)), r.ints((1, 6), 0, 4)), {"axis": 1},
           id="broadcast_indices", grad=(0,)),
    OpCase("ops.take_along_axis", lambda r: (r.normal((1, 4)), r.ints((3, 2), 0, 4)), {"axis": -1},
           id="broadcast_x", grad=(0,)),
    OpCase("ops.take_along_axis", lambda r: (r.normal((2, 3)), numpy.array([5, 0, 3])), id="flat", grad=(0,)),
    OpCase("ops.take_along_axis", lambda r: (r.ints((3, 4)), r.ints((3, 1), 0, 4)), {"axis": 1}, id="int32"),
    # ---- where, select -----------------------------------------------------------------------------------
    OpCase("ops.where", lambda r: (COND(r), r.normal((3, 4)), r.normal((3, 4))), id="same_shapes", grad=(1, 2)),
    OpCase("ops.where", lambda r: (COND(r), r.normal((4,)), r.normal((3, 1))), id="broadcast", grad=(1, 2)),
    OpCase("ops.where", lambda r: (COND(r), r.ints((3, 4)), r.normal((3, 4))), id="int32_float32_is_float32"),
    OpCase("ops.where", lambda r: (COND(r), r.ints((3, 4)), 7), id="int32_python_int_is_int32"),
    OpCase("ops.where", lambda r: (COND(r), r.normal((3, 4)), 0.5), id="python_float", grad=(1,)),
    OpCase("ops.where", lambda r: (COND(r),), id="condition_only", compare=stacked_rows),
    OpCase("ops.select", lambda r: ([r.bools((3, 4)), r.bools((3, 4))], [r.normal((3, 4)), r.normal((3, 4))]),
           id="two_choices"),
    OpCase("ops.select", lambda r: ([r.bools((3, 4)), r.bools((3, 4))], [r.ints((3, 4)), r.ints((4,))], -1),
           id="int32_broadcast_default"),
    # ---- sorting -------------------------------------------------------------------------------------------
    OpCase("ops.sort", lambda r: (distinct(r, (3, 5)),), id="last", grad=(0,)),
    OpCase("ops.sort", lambda r: (distinct(r, (3, 5)),), {"axis": 0}, id="axis0", grad=(0,)),
    OpCase("ops.sort", lambda r: (distinct(r, (2, 3)),), {"axis": None}, id="flat", grad=(0,)),
    OpCase("ops.sort", lambda r: (r.ints((3, 5)),), id="int32"),
    OpCase("ops.sort", lambda r: (r.bools((3, 5)),), id="bool"),
    OpCase("ops.sort", lambda r: (numpy.array([2.0, numpy.nan, -1.0, 0.5], "float32"),), id="nan_last"),
    OpCase("ops.argsort", lambda r: (r.normal((3, 5)),), id="last"),
    OpCase("ops.argsort", lambda r: (r.ints((4, 6), 0, 3),), {"axis": 0}, id="ties_stable"),
    OpCase("ops.argsort", lambda r: (r.normal((2, 3)),), {"axis": None}, id="flat"),
    OpCase("ops.argsort", lambda r: (r.bools((6,)),), id="bool"),
    OpCase("ops.argpartition", lambda r: _argpartition_input()[:2], id="int32",
           compare=partitions_like(_argpartition_input)),
    OpCase("ops.top_k", lambda r: (distinct(r, (3, 6)), 3), id="rows", compare=top_k_values_and_int32_indices,
           grad=(0,), grad_fn=lambda x, k: ops.top_k(x, k)[0]),
    OpCase("ops.top_k", lambda r: (distinct(r, (2, 3, 4)), 1), id="batched", compare=top_k_values_and_int32_indices,
           grad=(0,), grad_fn=lambda x, k: ops.top_k(x, k)[0]),
    OpCase("ops.top_k", lambda r: (r.ints((8,), -50, 50), 4), id="int32_vector",
           compare=top_k_values_and_int32_indices),
    OpCase("ops.top_k", lambda r: (distinct(r, (3, 6)), 4), {"sorted": False}, id="unsorted",
           compare=same_sets_per_row),
    OpCase("ops.in_top_k", lambda r: (numpy.array([0, 3, 1]), r.normal((3, 5)), 2), id="rows"),
    OpCase("ops.in_top_k", lambda r: (numpy.array([1, 0]), numpy.array([[0.3, 0.5, 0.5, 0.1], [0.2, 0.2, 0.6, 0.2]],
                                                                        "float32"), 2), id="ties_count_in"),
    # ---- searching -----------------------------------------------------------------------------------------
    OpCase("ops.searchsorted", lambda r: (numpy.array([1.0, 2.0, 2.0, 5.0], "float32"),
                                          numpy.array([[2.0, 0.5], [6.0, 2.5]], "float32")), id="left"),
    OpCase("ops.searchsorted", lambda r: (numpy.array([1, 2, 2, 5], "int32"), numpy.array([2, 5, 0], "int32")),
           {"side": "right"}, id="right_int32"),
    OpCase("ops.digitize", lambda r: (r.normal((3, 4)), numpy.array([-1.0, 0.0, 0.5], "float32")), id="floats"),
    OpCase("ops.digitize", lambda r: (numpy.array([0, 1, 2, 3, 4], "int32"), numpy.array([1, 3], "int32")),
           id="edges_int32"),
    OpCase("ops.nonzero", lambda r: (r.ints((3, 4), -1, 2),), id="int32", compare=stacked_rows),
    OpCase("ops.nonzero", lambda r: (r.bools((2, 3, 2)),), id="bool", compare=stacked_rows),
    OpCase("ops.isin", lambda r: (r.ints((3, 4)), numpy.array([1, 3, 5], "int32")), id="ints"),
    OpCase("ops.isin", lambda r: (r.ints((3, 4)), numpy.array([5, 1, 3], "int32")), {"invert": True}, id="invert"),
    OpCase("ops.isin", lambda r: (numpy.array([1.0, 2.5, 3.0], "float32"), numpy.array([2.5, 1.0], "float32")),
           {"assume_unique": True}, id="floats_unique"),
    OpCase("ops.unravel_index", lambda r: (numpy.array([0, 5, 11, 7], "int32"), (3, 4)), id="int32"),
    OpCase("ops.unravel_index", lambda r: (numpy.array([[3, 23]], "int64"), (2, 3, 4)), id="int64_3d"),
    # ---- unique --------------------------------------------------------------------------------------------
    OpCase("ops.unique", lambda r: (r.ints((10,), 0, 5),), id="values"),
    OpCase("ops.unique", lambda r: (r.ints((10,), 0, 5),), {"return_index": True, "return_counts": True},
           id="index_counts"),
    OpCase("ops.unique", lambda r: (r.ints((3, 4), 0, 5),), {"return_inverse": True, "return_counts": True},
           id="2d_inverse_has_x_shape"),
    OpCase("ops.unique", lambda r: (numpy.array([[1, 2], [0, 1], [1, 2]], "int32"),),
           {"axis": 0, "return_inverse": True, "return_counts": True}, id="rows"),
    OpCase("ops.unique", lambda r: (r.normal((6,)).round(0),), {"size": 8, "fill_value": -9.0, "return_counts": True},
           id="size_pads"),
    OpCase("ops.unique", lambda r: (r.ints((12,), 0, 9),), {"size": 3, "return_counts": True}, id="size_truncates"),
]


@op_cases(CASES)
def test_indexing_matches_keras(case):
    case.run()


# ---- behaviour beyond the table ---------------------------------------------------------------------------
def test_indices_and_counts_carry_no_gradient():
    x = nk.Tensor(numpy.array([[0.3, -1.0, 2.0], [1.5, 0.2, 0.2]]), requires_grad=True)
    for result in (ops.argsort(x), ops.argpartition(x, 1), ops.top_k(x, 2)[1], ops.searchsorted(x[0], x[1]),
                   ops.digitize(x, numpy.array([0.0, 1.0])), *ops.nonzero(x), ops.isin(x, x),
                   ops.unique(x, return_inverse=True, return_counts=True)[1]):
        assert not result.requires_grad
    assert ops.argsort(x).dtype == numpy.int32


def test_unique_values_raise_when_differentiated():
    x = nk.Tensor(numpy.array([0.5, 0.5, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="unique"):
        ops.sum(ops.unique(x)).backward()


def test_sort_gradient_follows_the_permutation():
    x = nk.Tensor(numpy.array([3.0, 1.0, 2.0]), requires_grad=True)
    ops.sort(x).backward(numpy.array([10.0, 20.0, 30.0]))
    numpy.testing.assert_array_equal(x.grad, [30.0, 10.0, 20.0])


def test_top_k_gradient_reaches_only_the_picked_entries():
    x = nk.Tensor(numpy.array([[0.1, 0.9, 0.5, 0.7]]), requires_grad=True)
    values, _ = ops.top_k(x, 2)
    values.backward(numpy.array([[1.0, 2.0]]))
    numpy.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0, 2.0]])


@keras_api("ops.searchsorted")
def test_searchsorted_rejects_a_sequence_that_is_not_1d_as_keras():
    keras = keras_or_skip()
    seq = numpy.ones((2, 2), "float32")
    with pytest.raises(ValueError):
        keras.ops.searchsorted(seq, numpy.ones(2, "float32"))
    with pytest.raises(ValueError, match="1-D"):
        ops.searchsorted(seq, numpy.ones(2, "float32"))


@keras_api("ops.select")
def test_select_rejects_what_keras_rejects():
    keras = keras_or_skip()
    for condlist, choicelist in ((numpy.ones(2, bool), [numpy.ones(2)]), ([], [])):
        with pytest.raises(ValueError):
            keras.ops.select(condlist, choicelist)
        with pytest.raises(ValueError, match="select"):
            ops.select(condlist, choicelist)


def test_select_gradient_goes_to_the_chosen_entries():
    c1, c2 = numpy.array([True, False, False]), numpy.array([True, True, False])

    def f(a, b):
        return ops.select([c1, c2], [a, b], default=0.0)

    nk.gradcheck(f, [numpy.array([1.0, 2.0, 3.0]), numpy.array([4.0, 5.0, 6.0])])


def test_unique_with_index_on_a_matrix_where_keras_torch_fails():
    # Keras's torch backend raises for return_index on a matrix with axis=None; NumPy's answer is the intent.
    x = numpy.array([[3, 1], [3, 2]])
    values, index = ops.unique(x, return_index=True)
    ref_values, ref_index = numpy.unique(x, return_index=True)
    numpy.testing.assert_array_equal(values.numpy(), ref_values)
    numpy.testing.assert_array_equal(index.numpy(), ref_index)


def test_argpartition_partitions_real_values_where_keras_torch_truncates_to_int32():
    x = numpy.array([1.7, 1.2, 1.5, 0.9], "float32")
    idx = ops.argpartition(x, 1).numpy()
    assert x[idx[1]] == numpy.float32(1.2) and x[idx[0]] == numpy.float32(0.9)

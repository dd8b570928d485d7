"""keras.ops array creation against real Keras 3.15.1: shapes, values and dtypes (the defaults: floatx for
shapes, the promotion of Python scalars for arange / linspace / full_like, x's dtype for *_like), and
gradients against central differences in float64 where creation is differentiable (linspace, logspace and
geomspace in start and stop, vander and meshgrid in their inputs, full in a tensor fill value).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk

from .keras_oracle import OpCase, assert_same, op_cases, resolve

F32 = "float32"


def _same_shape_and_dtype(actual, expected):
    """empty / empty_like: the values are whatever memory held; shape and dtype must agree."""
    a, e = numpy.asarray(actual), numpy.asarray(expected)
    assert a.shape == e.shape and a.dtype == e.dtype, f"{a.shape} {a.dtype} != Keras's {e.shape} {e.dtype}"


CASES = [
    # filled arrays
    OpCase("ops.zeros", lambda r: ((2, 3),), id="tuple"),
    OpCase("ops.zeros", lambda r: (3, "int32"), id="int_shape_int32"),
    OpCase("ops.zeros", lambda r: ((0, 2),), {"dtype": "bool"}, id="empty_bool"),
    OpCase("ops.ones", lambda r: ((2, 1, 3),), id="tuple"),
    OpCase("ops.ones", lambda r: (4,), {"dtype": "uint8"}, id="uint8"),
    OpCase("ops.ones", lambda r: ((),), {"dtype": "float16"}, id="scalar_float16"),
    OpCase("ops.empty", lambda r: ((2, 3),), id="tuple", compare=_same_shape_and_dtype),
    OpCase("ops.empty", lambda r: ((2, 3), "int32"), id="int32", compare=_same_shape_and_dtype),
    OpCase("ops.full", lambda r: ((2, 3), 2), id="python_int"),
    OpCase("ops.full", lambda r: ((2, 3), 2.5), id="python_float"),
    OpCase("ops.full", lambda r: ((2,), True), id="python_bool"),
    OpCase("ops.full", lambda r: ((2, 3), 7, "int32"), id="dtype_int32"),
    OpCase("ops.full", lambda r: ((2, 3), numpy.array([1, 2, 3], "int32")), id="array_fill"),
    OpCase("ops.full", lambda r: ((4, 2, 3), r.normal((2, 3))), id="array_fill_float32", grad=(1,),
           grad_fn=lambda shape, value: nk.ops.full(shape, value, "float64")),
    OpCase("ops.zeros_like", lambda r: (r.ints((2, 3), 0, 5),), id="int32"),
    OpCase("ops.zeros_like", lambda r: (r.normal((2, 3)),), {"dtype": "uint8"}, id="dtype"),
    OpCase("ops.ones_like", lambda r: (r.bools((3,)),), id="bool"),
    OpCase("ops.ones_like", lambda r: (r.normal((2, 3)).astype("float16"),), id="float16"),
    OpCase("ops.empty_like", lambda r: (r.ints((2, 3), 0, 5, "uint8"),), id="uint8", compare=_same_shape_and_dtype),
    OpCase("ops.empty_like", lambda r: (r.normal((2, 3)), "int32"), id="dtype", compare=_same_shape_and_dtype),
    OpCase("ops.full_like", lambda r: (r.ints((2, 3), 0, 5), 2.7), id="int32_keeps_dtype"),
    OpCase("ops.full_like", lambda r: (r.ints((2, 3), 0, 5), 2.7, F32), id="dtype"),
    OpCase("ops.full_like", lambda r: (r.normal((2, 3)), numpy.array([1.0, 2.0, 3.0], F32)), id="array_fill"),
    OpCase("ops.full_like", lambda r: (r.bools((2,)), 1), id="bool"),
    # array
    OpCase("ops.array", lambda r: ([1, 2, 3],), id="int_list"),
    OpCase("ops.array", lambda r: ([1.0, 2, 3],), id="float_list"),
    OpCase("ops.array", lambda r: ([[True, False]],), id="bool_list"),
    OpCase("ops.array", lambda r: (r.normal((2, 3), "float64"),), id="float64_array"),
    OpCase("ops.array", lambda r: (r.ints((2, 3), 0, 9, "uint8"),), id="uint8_array"),
    OpCase("ops.array", lambda r: (3,), id="python_int"),
    OpCase("ops.array", lambda r: (2.5,), id="python_float"),
    OpCase("ops.array", lambda r: ([1, 2], "float16"), id="dtype"),
    OpCase("ops.array", lambda r: (r.normal((2,)), "int32"), id="float32_to_int32"),
    # ranges
    OpCase("ops.arange", lambda r: (5,), id="stop"),
    OpCase("ops.arange", lambda r: (2, 9, 3), id="start_stop_step"),
    OpCase("ops.arange", lambda r: (0.5, 3), id="float_start"),
    OpCase("ops.arange", lambda r: (1, 10, 2.5), id="float_step"),
    OpCase("ops.arange", lambda r: (5, 0, -1), id="negative_step"),
    OpCase("ops.arange", lambda r: (-1.0, 1.0, 0.3), id="fractional_count"),
    OpCase("ops.arange", lambda r: (5,), {"dtype": F32}, id="dtype_float32"),
    OpCase("ops.arange", lambda r: (0, 5, 1.5), {"dtype": "int32"}, id="float_step_int32"),
    OpCase("ops.arange", lambda r: (-2.5, 3, 1.7), {"dtype": "int32"}, id="float_start_int32"),
    OpCase("ops.arange", lambda r: (numpy.int32(4),), id="numpy_int"),
    OpCase("ops.arange", lambda r: (numpy.float64(4),), id="numpy_float64"),
    OpCase("ops.arange", lambda r: (3, 3), id="empty"),
    OpCase("ops.linspace", lambda r: (0, 1, 5), id="python"),
    OpCase("ops.linspace", lambda r: (0, 1), id="default_num"),
    OpCase("ops.linspace", lambda r: (-2.0, 3.0, 7), {"endpoint": False}, id="no_endpoint"),
    OpCase("ops.linspace", lambda r: (0, 10, 4), {"dtype": "int32"}, id="int32"),
    OpCase("ops.linspace", lambda r: (0, 1, 1), id="num=1"),
    OpCase("ops.linspace", lambda r: (0, 1, 0), id="num=0"),
    OpCase("ops.linspace", lambda r: (0.0, 2.0, 5), {"retstep": True}, id="retstep"),
    OpCase("ops.linspace", lambda r: (r.normal((3,)), r.normal((3,)), 4), id="arrays", grad=(0, 1)),
    OpCase("ops.linspace", lambda r: (r.normal((2, 3)), r.normal((2, 3)), 5), {"endpoint": False},
           id="arrays_no_endpoint", grad=(0, 1)),
    OpCase("ops.linspace", lambda r: (r.normal((2,)), r.normal((2,)), 4), {"retstep": True}, id="arrays_retstep",
           rtol=1e-5, atol=1e-5),
    OpCase("ops.linspace", lambda r: (numpy.int32(0), numpy.int32(10), 5), id="numpy_ints"),
    OpCase("ops.logspace", lambda r: (0, 2, 5), id="python"),
    OpCase("ops.logspace", lambda r: (0, 2, 5), {"base": 2, "endpoint": False}, id="base_2_no_endpoint"),
    OpCase("ops.logspace", lambda r: (-1.0, 1.0, 4), {"dtype": "float64"}, id="float64"),
    OpCase("ops.logspace", lambda r: (r.normal((2,)), r.normal((2,)), 3), id="arrays", grad=(0, 1), rtol=1e-5,
           atol=1e-5),
    OpCase("ops.geomspace", lambda r: (1, 100, 5), id="python", rtol=1e-5, atol=1e-5),
    OpCase("ops.geomspace", lambda r: (-1, -1000, 4), id="negative", rtol=1e-5, atol=1e-5),
    OpCase("ops.geomspace", lambda r: (2.0, 64.0, 6), {"endpoint": False}, id="no_endpoint", rtol=1e-5, atol=1e-5),
    OpCase("ops.geomspace", lambda r: (r.positive((2,)), r.positive((2,)) * 10, 4), id="arrays", grad=(0, 1),
           rtol=1e-5, atol=1e-5),
    # matrices and grids
    OpCase("ops.eye", lambda r: (3,), id="square"),
    OpCase("ops.eye", lambda r: (3, 4), {"k": 1, "dtype": "int32"}, id="k=1"),
    OpCase("ops.eye", lambda r: (4, 3), {"k": -2}, id="k=-2"),
    OpCase("ops.eye", lambda r: (3, 4), {"k": 5}, id="k_outside"),
    OpCase("ops.eye", lambda r: (2,), {"dtype": "bool"}, id="bool"),
    OpCase("ops.identity", lambda r: (3,), id="float"),
    OpCase("ops.identity", lambda r: (3, "bool"), id="bool"),
    OpCase("ops.tri", lambda r: (3,), id="square"),
    OpCase("ops.tri", lambda r: (3, 4), {"k": -1, "dtype": "int32"}, id="k=-1"),
    OpCase("ops.tri", lambda r: (2, 5), {"k": 2}, id="k=2"),
    OpCase("ops.meshgrid", lambda r: (r.normal((3,)), r.normal((4,))), id="xy"),
    OpCase("ops.meshgrid", lambda r: (numpy.arange(3), numpy.arange(4), numpy.arange(2)), {"indexing": "ij"},
           id="ij_three"),
    OpCase("ops.meshgrid", lambda r: (numpy.arange(3, dtype="int32"),), id="one"),
    OpCase("ops.meshgrid", lambda r: (r.normal((2,)), r.normal((3,)), r.normal((4,))), id="xy_three"),
    OpCase("ops.vander", lambda r: (r.normal((3,)),), id="float32", grad=(0,)),
    OpCase("ops.vander", lambda r: (r.normal((4,)), 2), {"increasing": True}, id="N_increasing", grad=(0,)),
    OpCase("ops.vander", lambda r: (r.ints((3,), -3, 4), 4), id="int32"),
    OpCase("ops.vander", lambda r: (r.bools((4,)),), id="bool"),
    # windows
    OpCase("ops.bartlett", lambda r: (5,), id="odd"),
    OpCase("ops.bartlett", lambda r: (1,), id="one"),
    OpCase("ops.blackman", lambda r: (6,), id="even"),
    OpCase("ops.hamming", lambda r: (7,), id="odd"),
    OpCase("ops.hamming", lambda r: (1,), id="one"),
    OpCase("ops.hanning", lambda r: (6,), id="even"),
    OpCase("ops.hanning", lambda r: (0,), id="zero"),
    OpCase("ops.kaiser", lambda r: (6, 14.0), id="beta=14", rtol=1e-5, atol=1e-5),
    OpCase("ops.kaiser", lambda r: (5, 0.5), id="beta=0.5"),
]




def _exact_dtypes(case: OpCase) -> OpCase:
    """Rows without 64-bit inputs must match Keras's dtype exactly (the harness otherwise accepts neuronka's
    64-bit twin of a 32-bit dtype)."""
    if "64" not in case.id and case.compare is None:
        case.compare = lambda actual, expected, c=case: assert_same(actual, expected, rtol=c.rtol, atol=c.atol,
                                                                    what=c.test_id, narrowed_ok=False)
    return case


CASES = [_exact_dtypes(c) for c in CASES]


@op_cases(CASES)
def test_creation_matches_keras(case):
    case.run()


def test_meshgrid_is_differentiable_in_each_vector():
    rng = numpy.random.default_rng(0)
    assert nk.gradcheck(lambda a, b: nk.ops.multiply(*nk.ops.meshgrid(a, b)), [rng.normal(size=3), rng.normal(size=4)])
    assert nk.gradcheck(lambda a, b: nk.ops.meshgrid(a, b, indexing="ij")[1], [rng.normal(size=2), rng.normal(size=3)])


def test_linspace_takes_any_axis_like_numpy():
    start, stop = numpy.array([0.0, 1.0]), numpy.array([1.0, 3.0])
    y = nk.ops.linspace(start, stop, 5, axis=1)
    numpy.testing.assert_allclose(y.numpy(), numpy.linspace(start, stop, 5, axis=1))
    assert nk.gradcheck(lambda a, b: nk.ops.linspace(a, b, 4, axis=-1), [start, stop])
    assert nk.gradcheck(lambda a, b: nk.ops.geomspace(a, b, 4, axis=1), [start + 1, stop + 1])


def test_arange_toward_the_wrong_side_is_empty_like_numpy():
    y = nk.ops.arange(5, 0)
    assert y.shape == (0,) and y.dtype == numpy.int32


def test_tri_with_no_columns_is_empty_like_numpy():
    assert nk.ops.tri(3, 0).shape == (3, 0)


def test_linspace_step_follows_tensor_start_and_stop():
    a = nk.Tensor(numpy.array([0.0, 1.0]), requires_grad=True)
    samples, step = nk.ops.linspace(a, 5.0, 3, retstep=True)
    numpy.testing.assert_allclose(step.numpy(), [2.5, 2.0])
    step.backward(numpy.ones(2))
    numpy.testing.assert_allclose(a.grad, [-0.5, -0.5])


BAD = [
    ("ops.zeros", ((2, -1),), ValueError, "zeros: expected a shape of non-negative integers"),
    ("ops.full", ((2, 3), numpy.ones(4)), ValueError, "full: fill_value of shape"),
    ("ops.arange", (0, 5, 0), ValueError, "arange: expected a nonzero step"),
    ("ops.arange", (numpy.ones(2),), ValueError, "arange: expected a scalar start"),
    ("ops.linspace", (0, 1, -1), ValueError, "linspace: expected num"),
    ("ops.linspace", (0, 1, 5, True, False, None, 2), ValueError, "linspace: expected axis"),
    ("ops.geomspace", (0, 10, 3), ValueError, "geomspace: a geometric sequence cannot include zero"),
    ("ops.geomspace", (-1, 10, 3), ValueError, "geomspace: expected start and stop of one sign"),
    ("ops.eye", (-1,), ValueError, "eye: expected N"),
    ("ops.meshgrid", (numpy.ones(2),), ValueError, None),
    ("ops.vander", (numpy.ones((2, 2)),), ValueError, "vander: expected a 1-D x"),
    ("ops.hamming", (2.5,), ValueError, "hamming: expected the window length"),
    ("ops.zeros", ((2,), "foo"), ValueError, "Invalid dtype"),
]


@pytest.mark.parametrize("name,args,error,message", [pytest.param(*row, id=f"{row[0]}[{i}]")
                                                     for i, row in enumerate(BAD)])
def test_bad_arguments_raise_a_clear_error(name, args, error, message):
    if name == "ops.meshgrid":
        with pytest.raises(error, match="meshgrid: expected indexing"):
            nk.ops.meshgrid(*args, indexing="yx")
        return
    with pytest.raises(error, match=message):
        resolve(nk, name)(*args)

"""keras.ops elementwise math against real Keras 3.15.1: values, shapes and dtypes for float32, float16,
int32, uint8 and bool inputs and Python scalars mixed with arrays (Keras's weak typing), broadcasting, and
gradients against central differences in float64 for every differentiable op (plus Keras's own gradients
where the derivative has a convention: ties, clipping, zero divisors, removable singularities).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk

from .keras_oracle import Inputs, OpCase, assert_same, keras_api, keras_or_skip, op_cases, resolve

F32, F16 = "float32", "float16"

# log(0), x/0 and 0**-1 are inf or NaN, as in Keras; NumPy also warns, which is noise here
pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")


def _ints(low, high, dtype="int32", shape=(2, 3)):
    return lambda r: (r.ints(shape, low, high, dtype),)


# ----------------------------------------------------------------------------------------------
# unary ops: a float32 row (with the float64 gradient check), a float16 row and int32 / uint8 / bool rows
# ----------------------------------------------------------------------------------------------
DOMAINS = {  # name: (float maker, integer range for the int rows, differentiable)
    "exp": (lambda r, s: r.normal(s), (0, 5), True),
    "exp2": (lambda r, s: r.normal(s), (0, 5), True),
    "expm1": (lambda r, s: r.normal(s), (0, 5), True),
    "log": (lambda r, s: r.positive(s), (1, 6), True),
    "log10": (lambda r, s: r.positive(s), (1, 6), True),
    "log2": (lambda r, s: r.positive(s), (1, 6), True),
    "log1p": (lambda r, s: r.uniform(s, -0.5, 2.0), (0, 6), True),
    "sqrt": (lambda r, s: r.positive(s), (0, 6), True),
    "rsqrt": (lambda r, s: r.positive(s), (1, 6), True),
    "cbrt": (lambda r, s: r.positive(s) * r.rng.choice([-1, 1], s).astype(F32), (-5, 6), True),
    "reciprocal": (lambda r, s: r.positive(s) * r.rng.choice([-1, 1], s).astype(F32), (1, 6), True),
    "square": (lambda r, s: r.normal(s), (-5, 6), True),
    "abs": (lambda r, s: r.positive(s) * r.rng.choice([-1, 1], s).astype(F32), (-5, 6), True),
    "absolute": (lambda r, s: r.positive(s) * r.rng.choice([-1, 1], s).astype(F32), (-5, 6), True),
    "fabs": (lambda r, s: r.positive(s) * r.rng.choice([-1, 1], s).astype(F32), (-5, 6), True),
    "negative": (lambda r, s: r.normal(s), (-5, 6), True),
    "sign": (lambda r, s: r.normal(s), (-5, 6), True),
    "floor": (lambda r, s: r.normal(s) * 3, (-5, 6), True),
    "ceil": (lambda r, s: r.normal(s) * 3, (-5, 6), True),
    "trunc": (lambda r, s: r.normal(s) * 3, (-5, 6), True),
    "deg2rad": (lambda r, s: r.normal(s) * 90, (-5, 6), True),
    "rad2deg": (lambda r, s: r.normal(s), (-5, 6), True),
    "sin": (lambda r, s: r.normal(s), (-5, 6), True),
    "cos": (lambda r, s: r.normal(s), (-5, 6), True),
    "tan": (lambda r, s: r.uniform(s, -1.2, 1.2), (-1, 2), True),
    "arcsin": (lambda r, s: r.uniform(s, -0.9, 0.9), (0, 2), True),
    "arccos": (lambda r, s: r.uniform(s, -0.9, 0.9), (0, 2), True),
    "arctan": (lambda r, s: r.normal(s), (-5, 6), True),
    "sinh": (lambda r, s: r.normal(s), (-5, 6), True),
    "cosh": (lambda r, s: r.normal(s), (-5, 6), True),
    "arcsinh": (lambda r, s: r.normal(s), (-5, 6), True),
    "arccosh": (lambda r, s: r.uniform(s, 1.2, 3.0), (1, 6), True),
    "arctanh": (lambda r, s: r.uniform(s, -0.9, 0.9), (0, 1), True),
    "sinc": (lambda r, s: r.normal(s), (-3, 4), True),
    "i0": (lambda r, s: r.normal(s), (-3, 4), True),
    "erf": (lambda r, s: r.normal(s), (-3, 4), True),
    "erfc": (lambda r, s: r.normal(s), (-3, 4), True),
    "erfinv": (lambda r, s: r.uniform(s, -0.9, 0.9), (0, 1), True),
    "nan_to_num": (lambda r, s: r.normal(s), (-5, 6), True),
    "real": (lambda r, s: r.normal(s), (-5, 6), True),
    "conj": (lambda r, s: r.normal(s), (-5, 6), True),
    "conjugate": (lambda r, s: r.normal(s), (-5, 6), True),
    "angle": (lambda r, s: r.normal(s), (-5, 6), True),
    "signbit": (lambda r, s: r.normal(s), (-5, 6), False),
    "isnan": (lambda r, s: r.normal(s), (-5, 6), False),
    "isinf": (lambda r, s: r.normal(s), (-5, 6), False),
    "isfinite": (lambda r, s: r.normal(s), (-5, 6), False),
    "isneginf": (lambda r, s: r.normal(s), (-5, 6), False),
    "isposinf": (lambda r, s: r.normal(s), (-5, 6), False),
    "isreal": (lambda r, s: r.normal(s), (-5, 6), False),
    "logical_not": (lambda r, s: r.normal(s).round(), (-2, 3), False),
    "round": (lambda r, s: r.normal(s) * 3, (-50, 60), True),
}
# dtypes Keras refuses for an op (PyTorch has no kernel for them); neuronka's refusal is tested below
REFUSED = {"negative": ("bool",), "round": ("bool",)}


def _unary_rows():
    rows = []
    for name, (maker, (low, high), differentiable) in DOMAINS.items():
        key = f"ops.{name}"
        rows.append(OpCase(key, lambda r, m=maker: (m(r, (3, 4)),), id="float32",
                           grad=(0,) if differentiable else (), rtol=2e-5, atol=1e-5))
        rows.append(OpCase(key, lambda r, m=maker: (m(r, (2, 1, 3)).astype(F16),), id="float16", rtol=2e-3,
                           atol=2e-3))
        rows.append(OpCase(key, _ints(low, high), id="int32", rtol=1e-5, atol=1e-5))
        rows.append(OpCase(key, _ints(max(low, 0), max(high, 1), "uint8"), id="uint8", rtol=1e-5, atol=1e-5))
        if "bool" not in REFUSED.get(name, ()):
            rows.append(OpCase(key, lambda r: (r.bools((2, 3)),), id="bool", rtol=1e-5, atol=1e-5))
    return rows


SPECIAL_VALUES = numpy.array([[0.0, -0.0, 1.5, -2.5, numpy.nan], [numpy.inf, -numpy.inf, 3.0, -1e30, 1e-30]], F32)

UNARY_EXTRA = [
    OpCase("ops.round", lambda r: (numpy.array([0.5, 1.5, 2.5, -0.5, -1.5, 3.5, 0.49, -2.51], F32),),
           id="halves_to_even"),
    OpCase("ops.round", lambda r: (numpy.array([0.125, 1.55, 2.5, -0.375, -1.25, 12.345], F32),),
           {"decimals": 2}, id="decimals=2"),
    OpCase("ops.round", lambda r: (r.normal((3, 4)) * 100,), {"decimals": 1}, id="decimals=1", grad=(0,)),
    OpCase("ops.round", lambda r: (r.normal((3, 4)) * 100,), {"decimals": -1}, id="float_decimals=-1"),
    OpCase("ops.round", lambda r: (numpy.array([15, 25, 35, -15, 123, -250], "int32"),), {"decimals": -1},
           id="int_decimals=-1"),
    OpCase("ops.round", lambda r: (numpy.array([150, 250, 1234], "int32"),), {"decimals": -2}, id="int_decimals=-2"),
    OpCase("ops.round", lambda r: (numpy.array([15, 25], "int32"),), {"decimals": 1}, id="int_decimals=1"),
    OpCase("ops.sign", lambda r: (numpy.nan_to_num(SPECIAL_VALUES),), id="special_values"),
    OpCase("ops.signbit", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.isnan", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.isinf", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.isfinite", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.isneginf", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.isposinf", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.nan_to_num", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.nan_to_num", lambda r: (SPECIAL_VALUES,), {"nan": 7.0, "posinf": 100.0, "neginf": -50.0},
           id="replacements"),
    OpCase("ops.nan_to_num", lambda r: (SPECIAL_VALUES.astype("float64"),), {"nan": -1.0}, id="float64"),
    OpCase("ops.floor", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.ceil", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.trunc", lambda r: (SPECIAL_VALUES,), id="special_values"),
    OpCase("ops.angle", lambda r: (numpy.array([1.0, -2.0, 0.0, numpy.nan], F32),), id="signs"),
    OpCase("ops.sinc", lambda r: (numpy.array([0.0, 0.5, -1.0, 2.25, 1e-3], F32),), id="zero", grad=(0,)),
    OpCase("ops.erfinv", lambda r: (numpy.array([-1.0, 1.0, 0.0, 0.999], F32),), id="ends"),
    OpCase("ops.arccos", lambda r: (numpy.array([1.0, -1.0, 0.0, 1.5], F32),), id="edges_and_nan"),
    OpCase("ops.exp", lambda r: (r.normal((3,), "float64"),), id="float64"),
    OpCase("ops.exp", lambda r: (2,), id="python_int"),
    OpCase("ops.sqrt", lambda r: (2.0,), id="python_float"),
    OpCase("ops.abs", lambda r: (-3,), id="python_int"),
    OpCase("ops.sin", lambda r: ([0.5, 1, 2],), id="python_list"),
    OpCase("ops.i0", lambda r: (numpy.array([1, -2, 3], "int64"),), id="int64"),
    OpCase("ops.cbrt", lambda r: (numpy.array([1, -8, 27], "int64"),), id="int64"),
    OpCase("ops.deg2rad", lambda r: (numpy.array([90, -180], "int64"),), id="int64"),
    OpCase("ops.isreal", lambda r: (numpy.array([1 + 0j, 1 + 2j, -3j], "complex64"),), id="complex64"),
    OpCase("ops.real", lambda r: (numpy.array([1 + 0j, 1 + 2j, -3j], "complex64"),), id="complex64"),
    OpCase("ops.imag", lambda r: (numpy.array([1 + 0j, 1 + 2j, -3j], "complex64"),), id="complex64"),
    OpCase("ops.conj", lambda r: (numpy.array([1 + 0j, 1 + 2j, -3j], "complex64"),), id="complex64"),
    OpCase("ops.conjugate", lambda r: (numpy.array([1 + 0j, 1 + 2j, -3j], "complex128"),), id="complex128"),
    OpCase("ops.angle", lambda r: (numpy.array([1 + 0j, 1 + 2j, -3j, -1 + 0j], "complex64"),), id="complex64"),
    OpCase("ops.bitwise_not", _ints(-5, 6), id="int32"),
    OpCase("ops.bitwise_not", _ints(0, 255, "uint8"), id="uint8"),
    OpCase("ops.bitwise_not", lambda r: (r.bools((2, 3)),), id="bool"),
    OpCase("ops.bitwise_invert", _ints(-5, 6), id="int32"),
    OpCase("ops.bitwise_invert", lambda r: (r.bools((2, 3)),), id="bool"),
]


# ----------------------------------------------------------------------------------------------
# binary ops
# ----------------------------------------------------------------------------------------------
def _away(r, s, dtype=F32):
    return (r.positive(s) * r.rng.choice([-1, 1], s)).astype(dtype)


def _distinct(r, s):
    n = int(numpy.prod(s))
    return (r.rng.permutation(n).reshape(s) / n * 4 - 2 + r.rng.uniform(0, 0.01, s)).astype(F32)


BINARY = {  # name: (float maker for x1, float maker for x2, int range of x1, int range of x2, differentiable)
    "add": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-5, 6), (-5, 6), True),
    "subtract": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-5, 6), (-5, 6), True),
    "multiply": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-5, 6), (-5, 6), True),
    "divide": (lambda r, s: r.normal(s), _away, (-5, 6), (1, 6), True),
    "true_divide": (lambda r, s: r.normal(s), _away, (-5, 6), (1, 6), True),
    "divide_no_nan": (lambda r, s: r.normal(s), _away, (-5, 6), (0, 3), True),
    "power": (lambda r, s: r.positive(s), lambda r, s: r.normal(s), (0, 5), (0, 4), True),
    "maximum": (_distinct, _distinct, (-5, 6), (-5, 6), True),
    "minimum": (_distinct, _distinct, (-5, 6), (-5, 6), True),
    "fmax": (_distinct, _distinct, (-5, 6), (-5, 6), True),
    "fmin": (_distinct, _distinct, (-5, 6), (-5, 6), True),
    "fmod": (lambda r, s: r.uniform(s, 0.1, 0.4) + r.ints(s, -4, 5).astype(F32), lambda r, s: r.uniform(s, 1, 1.1) *
             r.rng.choice([-1, 1], s).astype(F32), (-9, 10), (1, 4), True),
    "mod": (lambda r, s: r.uniform(s, 0.1, 0.4) + r.ints(s, -4, 5).astype(F32), lambda r, s: r.uniform(s, 1, 1.1) *
            r.rng.choice([-1, 1], s).astype(F32), (-9, 10), (1, 4), True),
    "floor_divide": (lambda r, s: r.normal(s) * 5, _away, (-9, 10), (1, 4), False),
    "hypot": (lambda r, s: r.normal(s), _away, (-5, 6), (-5, 6), True),
    "arctan2": (lambda r, s: r.normal(s), _away, (-5, 6), (-5, 6), True),
    "logaddexp": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-5, 6), (-5, 6), True),
    "logaddexp2": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-5, 6), (-5, 6), True),
    "nextafter": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-5, 6), (-5, 6), True),
    "heaviside": (lambda r, s: r.normal(s).round(), lambda r, s: r.uniform(s), (-2, 3), (0, 3), False),
    "equal": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-2, 3), (-2, 3), False),
    "not_equal": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-2, 3), (-2, 3), False),
    "greater": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-2, 3), (-2, 3), False),
    "greater_equal": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-2, 3), (-2, 3), False),
    "less": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-2, 3), (-2, 3), False),
    "less_equal": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-2, 3), (-2, 3), False),
    "logical_and": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-1, 2), (-1, 2), False),
    "logical_or": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-1, 2), (-1, 2), False),
    "logical_xor": (lambda r, s: r.normal(s).round(), lambda r, s: r.normal(s).round(), (-1, 2), (-1, 2), False),
    "isclose": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-2, 3), (-2, 3), False),
    "allclose": (lambda r, s: r.normal(s), lambda r, s: r.normal(s), (-2, 3), (-2, 3), False),
}
# (x1 dtype, x2 dtype) pairs Keras refuses for an op; neuronka's refusals are tested below
BINARY_REFUSED = {"subtract": ("bool",), "power": ("bool",), "floor_divide": ("bool",), "hypot": ("bool",),
                  "fmod": ("bool",), "mod": ("bool",)}
GRAD_ATOL = {"nextafter": 1e-4}


def _binary_rows():
    rows = []
    for name, (m1, m2, (lo1, hi1), (lo2, hi2), differentiable) in BINARY.items():
        key = f"ops.{name}"
        grad = (0, 1) if differentiable else ()
        tol = {"rtol": 2e-5, "atol": 1e-5}
        rows += [
            OpCase(key, lambda r, a=m1, b=m2: (a(r, (3, 1)), b(r, (1, 4))), id="float32_broadcast", grad=grad,
                   grad_atol=GRAD_ATOL.get(name, 1e-5), **tol),
            OpCase(key, lambda r, a=m1, b=m2: (a(r, (2, 3)).astype(F16), b(r, (3,)).astype(F16)), id="float16",
                   rtol=2e-3, atol=2e-3),
            OpCase(key, lambda r, a=m1, b=m2: (a(r, (2, 3)).astype(F16), b(r, (3,)).astype(F32)),
                   id="float16_float32", **tol),
            OpCase(key, lambda r, a=m1, b=m2: (a(r, (2, 3)).astype("float64"), b(r, (3,)).astype(F32)),
                   id="float64_float32", **tol),
            OpCase(key, lambda r, a=lo1, b=hi1, c=lo2, d=hi2: (r.ints((2, 3), a, b), r.ints((3,), c, d)),
                   id="int32", **tol),
            OpCase(key, lambda r, c=lo2, d=hi2: (r.ints((2, 3), 0, 9, "uint8"), r.ints((2, 3), max(c, 0), d, "uint8")),
                   id="uint8", **tol),
            OpCase(key, lambda r, c=lo2, d=hi2: (r.ints((2, 3), 0, 9, "uint8"), r.ints((3,), c, d)),
                   id="uint8_int32", **tol),
            OpCase(key, lambda r, a=lo1, b=hi1, m=m2: (r.ints((2, 3), a, b), m(r, (2, 3))), id="int32_float32", **tol),
            OpCase(key, lambda r, a=lo1, b=hi1: (r.ints((2, 3), a, b), 2), id="int32_python_int", **tol),
            OpCase(key, lambda r, a=lo1, b=hi1: (r.ints((2, 3), a, b), 1.5), id="int32_python_float", **tol),
            OpCase(key, lambda r: (r.ints((2, 3), 0, 9, "uint8"), 3), id="uint8_python_int", **tol),
            OpCase(key, lambda r, a=m1: (a(r, (2, 3)).astype(F16), 3), id="float16_python_int", rtol=2e-3, atol=2e-3),
            OpCase(key, lambda r, m=m2: (2, m(r, (2, 3))), id="python_int_float32", **tol),
            OpCase(key, lambda r, c=lo2, d=hi2: (1.5, r.ints((2, 3), c, d)), id="python_float_int32", **tol),
        ]
        if "bool" not in BINARY_REFUSED.get(name, ()):
            rows += [
                OpCase(key, lambda r: (r.bools((2, 3)), r.bools((2, 3))), id="bool", **tol),
                OpCase(key, lambda r, m=m2: (r.bools((2, 3)), m(r, (2, 3))), id="bool_float32", **tol),
                OpCase(key, lambda r: (r.bools((2, 3)), 2), id="bool_python_int", **tol),
            ]
    return rows


NAN_PAIR = (numpy.array([1.0, numpy.nan, numpy.nan, -2.0, 3.0], F32), numpy.array([numpy.nan, 2.0, numpy.nan, -2.0,
                                                                                     1.0], F32))

BINARY_EXTRA = [
    OpCase("ops.fmax", lambda r: NAN_PAIR, id="nan"),
    OpCase("ops.fmin", lambda r: NAN_PAIR, id="nan"),
    OpCase("ops.maximum", lambda r: NAN_PAIR, id="nan"),
    OpCase("ops.minimum", lambda r: NAN_PAIR, id="nan"),
    OpCase("ops.nextafter", lambda r: (r.normal((2, 3), "float64"), r.normal((3,), "float64")), id="float64"),
    OpCase("ops.divide_no_nan", lambda r: (numpy.array([1.0, -2.0, 0.0, 3.0], F32), numpy.array([0.0, 4.0, 0.0, -2.0],
                                                                                                 F32)), id="zeros"),
    OpCase("ops.divide", lambda r: (numpy.array([1.0, -1.0, 0.0], F32), numpy.array([0.0, 0.0, 0.0], F32)),
           id="by_zero"),
    OpCase("ops.fmod", lambda r: (numpy.array([7, -7, 7, -7], "int32"), numpy.array([3, 3, -3, -3], "int32")),
           id="int_signs"),
    OpCase("ops.mod", lambda r: (numpy.array([7, -7, 7, -7], "int32"), numpy.array([3, 3, -3, -3], "int32")),
           id="int_signs"),
    OpCase("ops.floor_divide", lambda r: (numpy.array([7, -7, 7, -7], "int32"), numpy.array([3, 3, -3, -3], "int32")),
           id="int_signs"),
    OpCase("ops.floor_divide", lambda r: (numpy.array([7.5, -7.5, 0.3, -1.0], F32), 0.1), id="float_python"),
    OpCase("ops.fmod", lambda r: (r.bools((2, 3)), True), id="bool_true"),
    OpCase("ops.mod", lambda r: (r.bools((2, 3)), True), id="bool_true"),
    OpCase("ops.power", lambda r: (r.ints((2, 3), -3, 4), 3), id="int_cube"),
    OpCase("ops.power", lambda r: (r.normal((2, 3)), 2), id="float32_squared", grad=(0,)),
    OpCase("ops.power", lambda r: (2.0, r.normal((2, 3))), id="python_base", grad=(1,)),
    OpCase("ops.ldexp", lambda r: (r.normal((2, 3)), r.ints((3,), -3, 4)), id="float32_int32", grad=(0,)),
    OpCase("ops.ldexp", lambda r: (r.normal((2, 3)).astype(F16), 2), id="float16_python_int"),
    OpCase("ops.ldexp", lambda r: (r.ints((2, 3), -3, 4), r.ints((2, 3), 0, 3)), id="int32_int32"),
    OpCase("ops.ldexp", lambda r: (r.ints((2, 3), 0, 9, "uint8"), r.ints((2, 3), 0, 3, "uint8")), id="uint8"),
    OpCase("ops.ldexp", lambda r: (r.bools((2, 3)), r.ints((3,), 0, 3)), id="bool_int32"),
    OpCase("ops.heaviside", lambda r: (numpy.array([-1.5, 0.0, 2.0, 0.0], F32), numpy.array([0.5, 0.5, 0.5, 1.0],
                                                                                            F32)), id="zeros"),
    OpCase("ops.heaviside", lambda r: (numpy.array([-1, 0, 2], "int64"), numpy.array([0, 1, 1], "int64")), id="int64"),
    OpCase("ops.hypot", lambda r: (numpy.array([3, -5], "int64"), numpy.array([4, 12], "int64")), id="int64"),
    OpCase("ops.isclose", lambda r: (numpy.array([1.0, 1.0, numpy.nan, numpy.inf, 1e-9], F32),
                                     numpy.array([1.0 + 1e-6, 1.1, numpy.nan, numpy.inf, 0.0], F32)), id="defaults"),
    OpCase("ops.isclose", lambda r: (numpy.array([1.0, 1.0, numpy.nan], F32), numpy.array([1.05, 1.2, numpy.nan], F32)),
           {"rtol": 0.1, "atol": 0.0, "equal_nan": True}, id="keywords"),
    OpCase("ops.allclose", lambda r: (numpy.array([1.0, 2.0], F32), numpy.array([1.0 + 1e-6, 2.0], F32)), id="true"),
    OpCase("ops.allclose", lambda r: (numpy.array([1.0, numpy.nan], F32), numpy.array([1.0, numpy.nan], F32)),
           {"equal_nan": True}, id="equal_nan"),
    OpCase("ops.equal", lambda r: (r.ints((2, 3), 0, 3), 1.5), id="int_vs_fraction"),
    OpCase("ops.greater", lambda r: (r.ints((2, 3), 0, 9, "uint8"), 4), id="uint8_python_int"),
]

BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor"]
SHIFTS = ["bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift"]
INTEGER_ROWS = (
    [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), -50, 50), r.ints((3,), -50, 50)), id="int32") for n in BITWISE]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), 0, 255, "uint8"), r.ints((2, 3), 0, 255, "uint8")), id="uint8")
       for n in BITWISE]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), 0, 255, "uint8"), r.ints((3,), 0, 300)), id="uint8_int32")
       for n in BITWISE]
    + [OpCase(f"ops.{n}", lambda r: (r.bools((2, 3)), r.bools((2, 3))), id="bool") for n in BITWISE]
    + [OpCase(f"ops.{n}", lambda r: (r.bools((2, 3)), r.ints((2, 3), 0, 9)), id="bool_int32") for n in BITWISE]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), 0, 255, "uint8"), 6), id="uint8_python_int") for n in BITWISE]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), -50, 50), r.ints((2, 3), 0, 8)), id="int32") for n in SHIFTS]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), 0, 255, "uint8"), r.ints((3,), 0, 8, "uint8")), id="uint8")
       for n in SHIFTS]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), 0, 255, "uint8"), 3), id="uint8_python_int") for n in SHIFTS]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), -9, 9, "int8"), r.ints((2, 3), 0, 3, "uint8")), id="int8_uint8")
       for n in SHIFTS]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((3, 4), -30, 30), r.ints((4,), -12, 13)), id="int32")
       for n in ("gcd", "lcm")]
    + [OpCase(f"ops.{n}", lambda r: (r.ints((2, 3), 0, 30, "uint8"), 12), id="uint8_python_int")
       for n in ("gcd", "lcm")]
    + [OpCase(f"ops.{n}", lambda r: (r.bools((2, 3)), r.ints((2, 3), 1, 9)), id="bool_int32") for n in ("gcd", "lcm")]
)


# ----------------------------------------------------------------------------------------------
# clip, cast, view, matmul, dot
# ----------------------------------------------------------------------------------------------
OTHER_ROWS = [
    OpCase("ops.clip", lambda r: (r.normal((3, 4)), -0.5, 0.7), id="float32_python_bounds", grad=(0,)),
    OpCase("ops.clip", lambda r: (r.normal((3, 4)), r.uniform((4,), -1, -0.2), r.uniform((3, 1), 0.2, 1)),
           id="array_bounds", grad=(0, 1, 2)),
    OpCase("ops.clip", lambda r: (r.normal((3, 4)), 0.5, -0.5), id="min_above_max", grad=(0, 2)),
    OpCase("ops.clip", lambda r: (r.ints((2, 3), -5, 6), 0, 2), id="int32_int_bounds"),
    OpCase("ops.clip", lambda r: (r.ints((2, 3), -5, 6), 0.5, 2.5), id="int32_float_bounds"),
    OpCase("ops.clip", lambda r: (r.ints((2, 3), 0, 255, "uint8"), 3, 100), id="uint8"),
    OpCase("ops.clip", lambda r: (r.bools((2, 3)), 0, 1), id="bool"),
    OpCase("ops.clip", lambda r: (r.normal((2, 3)).astype(F16), 0, 1), id="float16"),
    OpCase("ops.clip", lambda r: (r.normal((2, 3)), numpy.zeros(3, F32), numpy.ones(3, "float64")),
           id="float64_bound"),
    OpCase("ops.cast", lambda r: (r.normal((2, 3)) * 3, "int32"), id="float32_to_int32"),
    OpCase("ops.cast", lambda r: (r.normal((2, 3)), "bool"), id="float32_to_bool"),
    OpCase("ops.cast", lambda r: (r.normal((2, 3)), "float16"), id="float32_to_float16", rtol=1e-3, atol=1e-3),
    OpCase("ops.cast", lambda r: (r.normal((2, 3)), "float64"), id="float32_to_float64", grad=(0,)),
    OpCase("ops.cast", lambda r: (r.ints((2, 3), 0, 255, "uint8"), "int32"), id="uint8_to_int32"),
    OpCase("ops.cast", lambda r: (r.bools((2, 3)), "float32"), id="bool_to_float32"),
    OpCase("ops.cast", lambda r: ([1, 2, 3], "float32"), id="list"),
    OpCase("ops.cast", lambda r: (2.5, "int32"), id="python_float"),
    OpCase("ops.cast", lambda r: (r.normal((2, 3)), None), id="dtype_none"),
    OpCase("ops.cast", lambda r: (r.normal((2, 3)) * 3, int), id="python_type"),
    OpCase("ops.view", lambda r: (r.normal((2, 3)), "int32"), id="float32_as_int32"),
    OpCase("ops.view", lambda r: (r.normal((2, 3)), "uint8"), id="float32_as_uint8"),
    OpCase("ops.view", lambda r: (r.ints((2, 4), -9, 9), "int16"), id="int32_as_int16"),
    OpCase("ops.view", lambda r: (r.ints((3, 8), 0, 255, "uint8"), "float32"), id="uint8_as_float32"),
    OpCase("ops.view", lambda r: (r.normal((2, 3)),), id="dtype_none"),
    OpCase("ops.view", lambda r: (r.normal((4,)).astype(F16), "int16"), id="float16_as_int16"),
    OpCase("ops.matmul", lambda r: (r.normal((3, 4)), r.normal((4, 5))), id="2d", grad=(0, 1)),
    OpCase("ops.matmul", lambda r: (r.normal((2, 3, 4)), r.normal((4,))), id="batched_vector", grad=(0, 1)),
    OpCase("ops.matmul", lambda r: (r.normal((4,)), r.normal((2, 4, 3))), id="vector_batched", grad=(0, 1)),
    OpCase("ops.matmul", lambda r: (r.normal((2, 1, 3, 4)), r.normal((3, 4, 2))), id="broadcast_batch", grad=(0, 1)),
    OpCase("ops.matmul", lambda r: (r.ints((3, 4), -5, 6), r.ints((4, 2), -5, 6)), id="int32"),
    OpCase("ops.matmul", lambda r: (r.ints((3, 4), -5, 6, "int8"), r.ints((4, 2), -5, 6, "int8")), id="int8"),
    OpCase("ops.matmul", lambda r: (r.ints((3, 4), 0, 9, "uint8"), r.ints((4, 2), 0, 9, "uint8")), id="uint8"),
    OpCase("ops.matmul", lambda r: (r.bools((3, 4)), r.bools((4, 2))), id="bool"),
    OpCase("ops.matmul", lambda r: (r.ints((3, 4), -5, 6), r.normal((4, 2))), id="int32_float32"),
    OpCase("ops.matmul", lambda r: (r.normal((3, 4)).astype(F16), r.normal((4, 2))), id="float16_float32"),
    OpCase("ops.dot", lambda r: (r.normal((3, 4)), r.normal((4, 5))), id="2d", grad=(0, 1)),
    OpCase("ops.dot", lambda r: (r.normal((4,)), r.normal((4,))), id="vectors", grad=(0, 1)),
    OpCase("ops.dot", lambda r: (r.normal((2, 3, 4)), r.normal((4, 2))), id="3d_2d", grad=(0, 1)),
    OpCase("ops.dot", lambda r: (r.normal((2, 3)), numpy.float32(2.5)), id="scalar_array", grad=(0,)),
    OpCase("ops.dot", lambda r: (r.ints((2, 3), 0, 9, "uint8"), 2), id="uint8_python_int"),
    OpCase("ops.dot", lambda r: (r.ints((2, 3), 0, 9), 1.5), id="int32_python_float"),
    OpCase("ops.dot", lambda r: (r.ints((3, 4), -5, 6), r.ints((4,), -5, 6)), id="int32"),
    OpCase("ops.dot", lambda r: (r.bools((3, 4)), r.bools((4, 2))), id="bool"),
]

CASES = _unary_rows() + UNARY_EXTRA + _binary_rows() + BINARY_EXTRA + INTEGER_ROWS + OTHER_ROWS


def _exact_dtypes(case: OpCase) -> OpCase:
    """Rows without 64-bit inputs must match Keras's dtype exactly (the harness otherwise accepts neuronka's
    64-bit twin of a 32-bit dtype, for the narrowing Keras on PyTorch does)."""
    if "64" not in case.id and case.compare is None:
        case.compare = lambda actual, expected, c=case: assert_same(actual, expected, rtol=c.rtol, atol=c.atol,
                                                                    what=c.test_id, narrowed_ok=False)
    return case


CASES = [_exact_dtypes(c) for c in CASES]


@op_cases(CASES)
def test_op_matches_keras(case):
    case.run()


# ----------------------------------------------------------------------------------------------
# gradients where the derivative is a convention: compared with Keras's own (torch autograd through it)
# ----------------------------------------------------------------------------------------------
def _keras_gradients(name, args, wrt, gy):
    keras_or_skip()
    import torch  # noqa: PLC0415 - the oracle's autograd

    tensors = [torch.tensor(a, requires_grad=i in wrt) if isinstance(a, numpy.ndarray) else a
               for i, a in enumerate(args)]
    y = resolve(__import__("keras"), name)(*tensors)
    y.backward(torch.tensor(gy))
    return [tensors[i].grad.numpy() for i in wrt]


def _neuronka_gradients(name, args, wrt, gy):
    tensors = [nk.Tensor(a, requires_grad=i in wrt) if isinstance(a, numpy.ndarray) else a
               for i, a in enumerate(args)]
    y = resolve(nk, name)(*tensors)
    y.backward(gy)
    return [tensors[i].grad for i in wrt]


TIES = numpy.array([1.0, -2.0, 0.5, 3.0], F32), numpy.array([1.0, 0.0, 0.5, -3.0], F32)
CONVENTION_GRADIENTS = [
    ("ops.maximum", TIES, (0, 1)),
    ("ops.minimum", TIES, (0, 1)),
    ("ops.fmax", TIES, (0, 1)),
    ("ops.fmin", TIES, (0, 1)),
    ("ops.clip", (numpy.array([-1.0, -0.5, 0.0, 0.7, 2.0], F32), numpy.array([-0.5], F32), numpy.array([0.7], F32)),
     (0, 1, 2)),
    ("ops.clip", (numpy.array([-1.0, 0.0, 2.0], F32), numpy.array([1.0, 1.0, 1.0], F32), numpy.array([0.0], F32)),
     (0, 1, 2)),
    ("ops.divide_no_nan", (numpy.array([1.0, 2.0, 0.0], F32), numpy.array([0.0, 4.0, 0.0], F32)), (0, 1)),
    ("ops.sinc", (numpy.array([0.0, 1.0, -0.5], F32),), (0,)),
    ("ops.abs", (numpy.array([0.0, 1.0, -0.5], F32),), (0,)),
    ("ops.sign", (numpy.array([0.0, 1.0, -0.5], F32),), (0,)),
    ("ops.round", (numpy.array([0.5, 1.2, -0.5], F32),), (0,)),
    ("ops.floor", (numpy.array([0.5, 1.0, -0.5], F32),), (0,)),
    ("ops.ceil", (numpy.array([0.5, 1.0, -0.5], F32),), (0,)),
    ("ops.trunc", (numpy.array([0.5, 1.0, -0.5], F32),), (0,)),
    ("ops.angle", (numpy.array([0.5, 1.0, -0.5], F32),), (0,)),
    ("ops.nan_to_num", (numpy.array([numpy.nan, 1.0, -numpy.inf, numpy.inf], F32),), (0,)),
    ("ops.fmod", (numpy.array([5.5, -5.5, 2.0], F32), numpy.array([2.0, 2.0, -1.5], F32)), (0, 1)),
    ("ops.mod", (numpy.array([5.5, -5.5, 2.0], F32), numpy.array([2.0, 2.0, -1.5], F32)), (0, 1)),
    ("ops.erfinv", (numpy.array([0.0, 0.5, -0.9], F32),), (0,)),
    ("ops.i0", (numpy.array([0.0, 0.5, -3.0], F32),), (0,)),
    ("ops.logaddexp", (numpy.array([0.0, 50.0, -3.0], F32), numpy.array([0.0, -50.0, 2.0], F32)), (0, 1)),
    ("ops.hypot", (numpy.array([3.0, -1.0], F32), numpy.array([4.0, 2.0], F32)), (0, 1)),
]


@pytest.mark.parametrize("name,args,wrt", [pytest.param(n, a, w, id=f"{n}[{i}]", marks=keras_api(n))
                                           for i, (n, a, w) in enumerate(CONVENTION_GRADIENTS)])
def test_gradient_convention_matches_keras(name, args, wrt):
    out = resolve(nk, name)(*args)
    gy = Inputs(1).normal(out.shape)
    expected = _keras_gradients(name, args, wrt, gy)
    actual = _neuronka_gradients(name, args, wrt, gy)
    for i, a, e in zip(wrt, actual, expected):
        assert_same(a, e, what=f"{name} gradient of argument {i}")


# ----------------------------------------------------------------------------------------------
# refusals: where Keras raises, neuronka raises a clear error naming the op
# ----------------------------------------------------------------------------------------------
B = numpy.array([True, False])
REFUSALS = [
    ("ops.subtract", (B, B), TypeError, "subtract: boolean"),
    ("ops.negative", (B,), TypeError, "negative: boolean"),
    ("ops.power", (B, B), TypeError, "power: boolean"),
    ("ops.round", (B,), TypeError, "round: boolean"),
    ("ops.floor_divide", (B, B), TypeError, "floor_divide: boolean"),
    ("ops.hypot", (B, B), TypeError, "hypot: boolean"),
    ("ops.power", (numpy.array([2, 3], "int32"), -1), ValueError, "negative integer powers"),
    ("ops.ldexp", (numpy.ones(2, F32), numpy.ones(2, F32)), TypeError, "ldexp: expected x2"),
    ("ops.ldexp", (numpy.ones(2, F32), 1.5), TypeError, "ldexp: expected x2"),
    ("ops.bitwise_and", (numpy.ones(2, F32), numpy.ones(2, "int32")), TypeError, "bitwise_and: expected integer"),
    ("ops.bitwise_not", (numpy.ones(2, F32),), TypeError, "bitwise_not: expected an integer"),
    ("ops.left_shift", (B, B), TypeError, "bitwise_left_shift: expected integer"),
    ("ops.gcd", (numpy.ones(2, F32), numpy.ones(2, F32)), TypeError, "gcd: expected integer"),
    ("ops.fmod", (numpy.array([1, 2], "int32"), numpy.array([0, 1], "int32")), ZeroDivisionError, "fmod: integer"),
    ("ops.floor_divide", (numpy.array([1, 2], "int32"), 0), ZeroDivisionError, "floor_divide: integer"),
    ("ops.add", (numpy.ones((2, 3), F32), numpy.ones((4,), F32)), ValueError, "add: expected shapes that broadcast"),
    ("ops.matmul", (numpy.ones((2, 3), F32), numpy.ones((4, 2), F32)), ValueError, "matmul: the last axis"),
    ("ops.matmul", (numpy.ones((2, 3), F32), 2.0), ValueError, "matmul: expected tensors of rank >= 1"),
    ("ops.view", (numpy.ones((2, 3), "uint8"), "int32"), ValueError, "view: the last axis"),
    ("ops.cast", (numpy.ones(2, F32), "foo"), ValueError, "Invalid dtype"),
    ("ops.clip", (numpy.ones(2, F32), None, None), ValueError, "clip: expected at least one"),
    ("ops.isclose", (numpy.ones(2, F32), numpy.ones(2, F32), -1.0), ValueError, "isclose: expected rtol"),
]


@pytest.mark.parametrize("name,args,error,message", [pytest.param(*row, id=f"{row[0]}[{i}]")
                                                     for i, row in enumerate(REFUSALS)])
def test_bad_input_raises_a_clear_error(name, args, error, message):
    with pytest.raises(error, match=message):
        resolve(nk, name)(*args)


@pytest.mark.parametrize("name,extra", [("ops.floor_divide", (numpy.array([0.7, 0.3, 1.0]),)),
                                        ("ops.heaviside", (numpy.array([0.7, 0.3, 1.0]),)),
                                        ("ops.view", ("float32",))])
def test_undefined_gradient_raises_when_asked_for(name, extra):
    x = nk.Tensor(numpy.array([0.5, -1.5, 2.0]), requires_grad=True)
    y = resolve(nk, name)(x, *extra)
    with pytest.raises(RuntimeError, match=name.split(".")[-1]):
        y.backward(numpy.ones(y.shape, y.dtype))


def test_integer_results_carry_no_graph():
    x = nk.Tensor(numpy.array([0.5, -1.5, 2.0]), requires_grad=True)
    for y in (nk.ops.view(x, "int64"), nk.ops.cast(x, "int32"), nk.ops.greater(x, 1.0), nk.ops.signbit(x),
              nk.ops.isnan(x)):
        assert not y.requires_grad and y.dtype.kind in "biu"


# ----------------------------------------------------------------------------------------------
# semantics where neuronka deliberately differs from Keras on PyTorch (documented in the docstrings)
# ----------------------------------------------------------------------------------------------
def test_nextafter_steps_one_ulp_in_the_result_dtype_like_numpy():
    x1, x2 = numpy.array([1.0, 0.0, -2.0], F32), numpy.array([2.0, -1.0, -2.0], F32)
    y = nk.ops.nextafter(x1, x2)
    assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal(y.numpy(), numpy.nextafter(x1, x2))
    y64 = nk.ops.nextafter(x1.astype("float64"), x2.astype("float64"))
    numpy.testing.assert_array_equal(y64.numpy(), numpy.nextafter(x1.astype("float64"), x2.astype("float64")))


def test_sign_of_nan_is_nan_like_numpy():
    y = nk.ops.sign(numpy.array([numpy.nan, -0.0, -2.0], F32))
    numpy.testing.assert_array_equal(y.numpy(), [numpy.nan, 0.0, -1.0])


def test_imag_of_a_real_array_is_zeros():
    y = nk.ops.imag(numpy.array([1.5, -2.0], F32))
    assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal(y.numpy(), [0.0, 0.0])


def test_shift_of_bool_by_python_int_follows_keras_promotion_to_int32():
    y = nk.ops.left_shift(numpy.array([True, False]), 2)
    assert y.dtype == numpy.int32
    numpy.testing.assert_array_equal(y.numpy(), [4, 0])


def test_operations_keep_float64_where_keras_on_torch_narrows():
    x = numpy.array([1.5, -0.5])
    for name in ("maximum", "floor_divide", "heaviside", "logaddexp", "arctan2", "hypot", "divide_no_nan"):
        assert resolve(nk, f"ops.{name}")(x, x.astype(F32)).dtype == numpy.float64, name
    assert nk.ops.floor(x).dtype == numpy.float64


def test_python_float_beside_float64_keeps_full_precision():
    y = nk.ops.add(numpy.zeros(1), 0.1)
    assert y.dtype == numpy.float64 and y.numpy()[0] == 0.1


def test_cast_to_the_same_dtype_returns_the_tensor_and_float_casts_keep_the_graph():
    x = nk.Tensor(numpy.array([0.5, 1.5]), requires_grad=True)
    assert nk.ops.cast(x, "float64") is x
    y = nk.ops.cast(x, "float32")
    y.backward(numpy.ones(2, F32))
    assert x.grad.dtype == numpy.float64 and x.grad.tolist() == [1.0, 1.0]


def test_mixed_dtype_gradients_come_back_in_each_inputs_dtype():
    a = nk.Tensor(numpy.array([1.0, 2.0], F32), requires_grad=True)
    b = nk.Tensor(numpy.array([3.0, 4.0]), requires_grad=True)
    y = nk.ops.multiply(a, b)
    assert y.dtype == numpy.float64
    y.backward(numpy.ones(2))
    assert a.grad.dtype == numpy.float32 and b.grad.dtype == numpy.float64
    numpy.testing.assert_array_equal(a.grad, [3.0, 4.0])
    numpy.testing.assert_array_equal(b.grad, [1.0, 2.0])

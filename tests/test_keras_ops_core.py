"""keras.ops core ops (conversion, control flow, custom gradients, slices and scatters) against real Keras.

Rows whose argument is a callable build it from each library's own ``ops`` (``build(ops)`` returns the
function under test), so Keras runs Keras ops and neuronka runs neuronka's. Control flow runs eagerly in
neuronka and differentiates through the ops it runs: the float64 gradchecks of the rows (``grad=``)
prove it for each construct, and ``test_gradient_matches_keras`` compares the gradients with PyTorch's
autograd through Keras's own control flow.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from tests.keras_oracle import Inputs, OpCase, assert_same, keras_api, keras_or_skip, op_cases, to_numpy

F64 = "float64"


def with_ops(name, build, make, **kw) -> OpCase:
    """A row whose function is ``build(ops)`` for each library (Keras's ops, then neuronka's)."""
    return OpCase(name, make, keras_fn=lambda *a, **k: build(keras_or_skip().ops)(*a, **k),
                  nk_fn=lambda *a, **k: build(nk.ops)(*a, **k), **kw)


def joined(fn):
    """``fn`` with its float outputs (any structure) flattened into one vector, for gradcheck."""
    def f(*args, **kwargs):
        leaves = [t for t in nk.tree.flatten(fn(*args, **kwargs)) if t.dtype.kind == "f"]
        return nk.ops.concatenate([nk.ops.reshape(t, (-1,)) for t in leaves])
    return f


def flow(name, build, make, grad=(), **kw) -> OpCase:
    """A row of a function returning a structure; gradchecked on all its float outputs joined."""
    row = with_ops(name, build, make, grad=grad, **kw)
    row.grad_fn = joined(row.nk_fn)
    return row


def tensors_of(ops, *arrays):
    return [ops.convert_to_tensor(a) for a in arrays]


# ----------------------------------------------------------------------------------------------
# conversion
# ----------------------------------------------------------------------------------------------
CONVERSION = [
    OpCase("ops.convert_to_tensor", lambda r: ([[1, 2], [3, 4]],), id="int-lists-int32"),
    OpCase("ops.convert_to_tensor", lambda r: ([1, 2.5],), id="mixed-list-floatx"),
    OpCase("ops.convert_to_tensor", lambda r: ([True, False],), id="bool-list"),
    OpCase("ops.convert_to_tensor", lambda r: ([True, 1],), id="bool-and-int-int32"),
    OpCase("ops.convert_to_tensor", lambda r: ([],), id="empty-list-floatx"),
    OpCase("ops.convert_to_tensor", lambda r: (3,), id="python-int"),
    OpCase("ops.convert_to_tensor", lambda r: (2**40,), id="python-int-beyond-int32"),
    OpCase("ops.convert_to_tensor", lambda r: (3.5,), id="python-float"),
    OpCase("ops.convert_to_tensor", lambda r: (numpy.float64(3.5),), id="numpy-float64-scalar-is-a-float"),
    OpCase("ops.convert_to_tensor", lambda r: (True,), id="python-bool"),
    OpCase("ops.convert_to_tensor", lambda r: (r.normal((2, 3), F64),), id="float64-array-kept", grad=(0,)),
    OpCase("ops.convert_to_tensor", lambda r: (r.ints((4,), dtype="int64"),), id="int64-array"),
    OpCase("ops.convert_to_tensor", lambda r: (numpy.array([1.7, -2.7], "float32"),), {"dtype": "int32"},
           id="dtype-truncates"),
    OpCase("ops.convert_to_tensor", lambda r: (r.normal((3,)),), {"dtype": "float16"}, id="dtype-float16",
           rtol=1e-3),
    OpCase("ops.convert_to_tensor", lambda r: ([1.5, 2.5],), {"sparse": False, "ragged": False},
           id="sparse-false"),
    with_ops("ops.convert_to_tensor", lambda ops: lambda a, b: ops.convert_to_tensor(tensors_of(ops, a, b)),
             lambda r: (r.normal((2,)), r.normal((2,))), id="list-of-tensors-stacked"),
    with_ops("ops.convert_to_numpy", lambda ops: lambda x: ops.convert_to_numpy(ops.convert_to_tensor(x)),
             lambda r: (r.normal((2, 3)),), id="tensor"),
    with_ops("ops.convert_to_numpy", lambda ops: lambda a, b: ops.convert_to_numpy(tensors_of(ops, a, b)),
             lambda r: (r.ints((3,)), r.ints((3,))), id="list-of-tensors"),
    OpCase("ops.convert_to_numpy", lambda r: ([[1, 2]],), id="nested-list"),
    OpCase("ops.convert_to_numpy", lambda r: (2.5,), id="python-float"),
    with_ops("ops.is_tensor", lambda ops: lambda x: ops.is_tensor(ops.convert_to_tensor(x)),
             lambda r: (r.normal((2,)),), id="tensor"),
    OpCase("ops.is_tensor", lambda r: (r.normal((2,)),), id="numpy-array"),
    OpCase("ops.is_tensor", lambda r: (3,), id="python-int"),
    with_ops("ops.shape", lambda ops: lambda x: ops.shape(ops.convert_to_tensor(x)),
             lambda r: (r.normal((2, 3, 4)),), id="tensor"),
    OpCase("ops.shape", lambda r: (r.normal(()),), id="scalar-array"),
    OpCase("ops.shape", lambda r: (r.ints((5, 1)),), id="numpy-array"),
    with_ops("ops.dtype", lambda ops: lambda x: ops.dtype(ops.convert_to_tensor(x)), lambda r: ([1, 2],),
             id="int-list-tensor"),
    OpCase("ops.dtype", lambda r: (r.normal((2,), F64),), id="float64-array"),
    OpCase("ops.dtype", lambda r: (r.bools((2,)),), id="bool-array"),
    OpCase("ops.copy", lambda r: ([1, 2],), id="int-list"),
    OpCase("ops.copy", lambda r: (r.normal((3, 2)),), id="float", grad=(0,)),
    with_ops("ops.stop_gradient", lambda ops: lambda x: ops.stop_gradient(ops.convert_to_tensor(x)),
             lambda r: (r.normal((2, 3)),), id="value"),
]

SATURATE = [
    OpCase("ops.saturate_cast", lambda r: (numpy.array([-1.5, 0.4, 254.6, 300, numpy.inf, -numpy.inf, numpy.nan],
                                                       "float32"),), {"dtype": "uint8"}, id="float32-to-uint8"),
    OpCase("ops.saturate_cast", lambda r: (numpy.array([-5, 300, 7], "int32"),), {"dtype": "uint8"},
           id="int32-to-uint8"),
    OpCase("ops.saturate_cast", lambda r: (numpy.array([-500, 300, 7], "int32"),), {"dtype": "int8"},
           id="int32-to-int8"),
    OpCase("ops.saturate_cast", lambda r: (numpy.array([0, 200], "uint8"),), {"dtype": "int8"},
           id="uint8-to-int8"),
    OpCase("ops.saturate_cast", lambda r: (numpy.array([1e5, -1e6, numpy.inf, 1.0]),), {"dtype": "float16"},
           id="float64-to-float16"),
    OpCase("ops.saturate_cast", lambda r: (numpy.array([numpy.inf, -numpy.inf, 1.5], "float32"),),
           {"dtype": "float64"}, id="float32-inf-to-float64-saturates"),
    OpCase("ops.saturate_cast", lambda r: (r.bools((4,)),), {"dtype": "float32"}, id="bool-to-float32"),
    OpCase("ops.saturate_cast", lambda r: (numpy.array([0.0, 0.3, 2.0, -1.0], "float32"),), {"dtype": "bool"},
           id="float32-to-bool-clips-negatives"),
    OpCase("ops.saturate_cast", lambda r: (r.normal((3, 2), F64),), {"dtype": F64}, id="float64-grad", grad=(0,)),
]

WINDOWS = [
    OpCase("ops.slice", lambda r: (r.normal((4, 5)), [1, 2], [2, 3]), id="2d", grad=(0,)),
    OpCase("ops.slice", lambda r: (r.normal((3, 4, 2)), (0, 1, 1), (3, 2, 1)), id="3d-tuples", grad=(0,)),
    OpCase("ops.slice", lambda r: (r.ints((6,)), numpy.array([2]), numpy.array([4])), id="int-array-starts"),
    OpCase("ops.slice", lambda r: (r.normal((4, 5)), [0, 0], [4, 5]), id="whole"),
    OpCase("ops.slice_update", lambda r: (r.normal((4, 5)), [1, 2], r.normal((2, 3))), id="2d", grad=(0, 2)),
    OpCase("ops.slice_update", lambda r: (r.normal((2, 3, 4)), (1, 0, 2), r.normal((1, 3, 2))), id="3d",
           grad=(0, 2)),
    OpCase("ops.slice_update", lambda r: (r.ints((5,)), [1], numpy.full(2, 1.7, "float32")),
           id="int-inputs-truncate-float-updates"),
    OpCase("ops.slice_update", lambda r: (numpy.zeros(5, "float32"), [3], [1, 2]), id="list-updates"),
    OpCase("ops.scatter", lambda r: ([[0, 1], [1, 1], [0, 1]], r.normal((3,)), (2, 2)), id="duplicates-add",
           grad=(1,)),
    OpCase("ops.scatter", lambda r: ([[0], [2]], r.normal((2, 3)), (4, 3)), id="rows", grad=(1,)),
    OpCase("ops.scatter", lambda r: (numpy.array([[[0], [1]], [[3], [1]]]), r.normal((2, 2)), [4]),
           id="batched-indices", grad=(1,)),
    OpCase("ops.scatter", lambda r: ([[0], [1]], [1, 2], (3,)), id="int-list-values"),
    OpCase("ops.scatter", lambda r: ([[-1, 0]], r.normal((1,), F64), (2, 3)), id="negative-index-float64"),
    OpCase("ops.scatter_update", lambda r: (r.normal((4, 3)), [[0, 1], [3, 2]], r.normal((2,))), id="elements",
           grad=(0, 2)),
    OpCase("ops.scatter_update", lambda r: (r.normal((4, 3)), [[1], [3]], r.normal((2, 3))), id="rows",
           grad=(0, 2)),
    OpCase("ops.scatter_update", lambda r: (r.normal((3,)), [[0], [0], [1]], r.normal((3,))),
           id="duplicates-last-wins", grad=(0, 2)),
    OpCase("ops.scatter_update", lambda r: (r.ints((2, 3)), [[1]], numpy.array([[1.5, 2.5, 3.5]])),
           id="int-inputs-cast-updates"),
    OpCase("ops.scatter_update", lambda r: (r.normal((4,)), [[0], [0], [2]], r.normal((3,))),
           {"reduction": "add"}, id="add", grad=(0, 2)),
    OpCase("ops.scatter_update", lambda r: (r.normal((4, 2)), [[0], [0], [2], [0]], r.normal((4, 2))),
           {"reduction": "mul"}, id="mul", grad=(0, 2)),
    OpCase("ops.scatter_update", lambda r: (r.normal((4,)), [[0], [0], [2]], r.normal((3,))),
           {"reduction": "MAX"}, id="max-any-case", grad=(0, 2)),
    OpCase("ops.scatter_update", lambda r: (r.normal((3, 2)), [[0, 1], [0, 1], [2, 0]], r.normal((3,))),
           {"reduction": "min"}, id="min", grad=(0, 2)),
]


# ----------------------------------------------------------------------------------------------
# control flow
# ----------------------------------------------------------------------------------------------
def _cumprod_step(c, x):
    return c * x, c * x


def _power_loop(ops):
    def power(x):  # x⁴ by repeated multiplication: (i, v) ← (i + 1, v·x) while i < 3
        x = ops.convert_to_tensor(x)
        return ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x), (0, x))
    return power


def _capped_loop(ops):
    def capped(x):  # a loop of 30 steps cut to 4 by maximum_iterations, on a list of vars
        x = ops.convert_to_tensor(x)
        return ops.while_loop(lambda i, v: i < 30, lambda i, v: [i + 1, v * 0.5 + x], [0, x], maximum_iterations=4)
    return capped


CONTROL = [
    with_ops("ops.cond", lambda ops: lambda p, x: ops.cond(p, lambda: x * 2.0, lambda: x - 1.0),
             lambda r: (numpy.array(True), r.normal((3,))), id="true", grad=(1,)),
    with_ops("ops.cond", lambda ops: lambda p, x: ops.cond(p, lambda: x * 2.0, lambda: x * x),
             lambda r: (numpy.array(False), r.normal((3,))), id="false", grad=(1,)),
    with_ops("ops.cond", lambda ops: lambda x: ops.cond(False, lambda: (x, x * 2.0), lambda: (x * 3.0, x)),
             lambda r: (r.normal((2,)),), id="python-bool-tuple-out"),
    *[with_ops("ops.switch", lambda ops: lambda index, x, y: ops.switch(index, [lambda a, b: a + b,
                                                                             lambda a, b: a * b,
                                                                             lambda a, b: a - b], x, y),
               lambda r, i=i: (i, r.normal((3,)), r.normal((3,))), id=f"index{i}", grad=(1, 2))
      for i in (-2, 0, 1, 2, 7)],
    with_ops("ops.switch", lambda ops: lambda i, x: ops.switch(i, [lambda a: a + 1.0, lambda a: a * 10.0], x),
             lambda r: (numpy.array(1, "int32"), r.normal((2,))), id="array-index"),
    flow("ops.while_loop", lambda ops: _power_loop(ops), lambda r: (r.normal((3,)),),
         id="power-by-repeated-multiplication", grad=(0,)),
    flow("ops.while_loop", lambda ops: _capped_loop(ops), lambda r: (r.normal((2, 2)),),
         id="list-maximum-iterations", grad=(0,)),
    with_ops("ops.while_loop", lambda ops: lambda x: ops.while_loop(lambda v: ops.sum(v) < 10.0, lambda v: v * 2.0,
                                                                    x),
             lambda r: (r.positive((3,)),), id="single-var", grad=(0,)),
    flow("ops.while_loop", lambda ops: lambda x: ops.while_loop(lambda d: d["n"] < 2,
                                                                lambda d: {"n": d["n"] + 1, "v": d["v"] * d["v"]},
                                                                {"n": 0, "v": x}),
         lambda r: (r.positive((2,)),), id="dict-vars", grad=(0,)),
    with_ops("ops.fori_loop", lambda ops: lambda x: ops.fori_loop(0, 4, lambda i, v: v * x + i, x),
             lambda r: (r.normal((3,)),), id="polynomial", grad=(0,)),
    with_ops("ops.fori_loop", lambda ops: lambda x: ops.fori_loop(3, 1, lambda i, v: v * 2.0, x),
             lambda r: (r.normal((3,)),), id="no-iteration"),
    flow("ops.scan", lambda ops: lambda init, xs: ops.scan(_cumprod_step, init, xs),
         lambda r: (numpy.array(1.5, "float32"), r.positive((5,))), id="cumulative-product", grad=(0, 1)),
    flow("ops.scan", lambda ops: lambda init, xs: ops.scan(_cumprod_step, init, xs, reverse=True),
         lambda r: (r.normal((2,)), r.normal((4, 2))), id="reverse", grad=(0, 1)),
    flow("ops.scan", lambda ops: lambda init, xs: ops.scan(lambda c, x: (c * x, c + x), init, xs, unroll=True),
         lambda r: (r.normal((3,)), r.normal((4, 3))), id="unroll-bool", grad=(0, 1)),
    flow("ops.scan", lambda ops: lambda a, x0, x1: ops.scan(
        lambda c, x: ({"s": c["s"] + x[0] * x[1], "p": c["p"] * x[1]}, (x[0], c["s"])),
        {"s": a, "p": a}, (x0, x1)),
         lambda r: (r.normal((2,)), r.normal((3, 2)), r.normal((3, 2))), id="nested-carry-and-xs", grad=(0, 1, 2)),
    flow("ops.scan", lambda ops: lambda init: ops.scan(lambda c, x: (c * 1.5 + 1.0, c), init, None, length=4),
         lambda r: (r.normal((2,)),), id="length-without-xs", grad=(0,)),
    flow("ops.scan", lambda ops: lambda init, xs: ops.scan(lambda c, x: (c + x, None), init, xs),
         lambda r: (r.normal((2,)), r.normal((3, 2))), id="y-none-stacks-zeros", grad=(0, 1)),
    *[with_ops("ops.associative_scan", lambda ops: lambda x: ops.associative_scan(lambda a, b: a + b, x),
               lambda r, n=n: (r.normal((n, 2)),), id=f"sum-{n}", grad=(0,)) for n in (1, 2, 5, 8, 11)],
    with_ops("ops.associative_scan", lambda ops: lambda x: ops.associative_scan(lambda a, b: a * b, x, axis=1,
                                                                                reverse=True),
             lambda r: (r.positive((2, 7)),), id="product-axis1-reverse", grad=(0,)),
    with_ops("ops.associative_scan", lambda ops: lambda x: ops.associative_scan(lambda a, b: a + b, x, axis=-1),
             lambda r: (r.normal((3, 6)),), id="axis-minus-1", grad=(0,)),
    flow("ops.associative_scan", lambda ops: lambda x, y: ops.associative_scan(
        lambda a, b: [a[0] + b[0], a[1] * b[1]], [x, y]),
         lambda r: (r.normal((6,)), r.positive((6,))), id="list-of-elems", grad=(0, 1)),
    flow("ops.associative_scan", lambda ops: lambda x, y: ops.associative_scan(
        lambda a, b: {"m": ops.maximum(a["m"], b["m"]), "s": a["s"] + b["s"]}, {"m": x, "s": y}, reverse=True),
         lambda r: (r.normal((5, 2)), r.normal((5, 2))), id="dict-running-max", grad=(0, 1)),
    with_ops("ops.associative_scan", lambda ops: lambda x: ops.associative_scan(lambda a, b: a + b, x),
             lambda r: (r.ints((9,)),), id="int-values", check_dtype=False),
    with_ops("ops.map", lambda ops: lambda xs: ops.map(lambda x: x * x + 1.0, xs),
             lambda r: (r.normal((4, 3)),), id="square", grad=(0,)),
    flow("ops.map", lambda ops: lambda a, b: ops.map(lambda x: {"y1": x[0] * x[1], "y2": x[0] * 10.0}, (a, b)),
         lambda r: (r.normal((3, 2)), r.normal((3, 2))), id="nested", grad=(0, 1)),
    with_ops("ops.vectorized_map", lambda ops: lambda x: ops.vectorized_map(lambda e: ops.sum(e * e),
                                                                            ops.convert_to_tensor(x)),
             lambda r: (r.normal((4, 3)),), id="row-norms", grad=(0,)),
    with_ops("ops.vectorized_map", lambda ops: lambda a, b: ops.vectorized_map(
        lambda es: ops.matmul(es[0], es[1]), tensors_of(ops, a, b)),
             lambda r: (r.normal((3, 2, 4)), r.normal((3, 4))), id="list-batched-matvec", grad=(0, 1)),
    with_ops("ops.vectorize", lambda ops: lambda a, b: ops.vectorize(lambda x, y: x * y + 1.0)(a, b),
             lambda r: (r.normal((3, 1)), r.normal((4,))), id="broadcast-scalars", grad=(0, 1)),
    with_ops("ops.vectorize", lambda ops: lambda a, b: ops.vectorize(lambda x, y: x + y)(a, b),
             lambda r: ([1, 2, 3, 4], 2), id="keras-example"),
    with_ops("ops.vectorize", lambda ops: lambda m, v: ops.vectorize(lambda x, y: ops.matmul(x, y),
                                                                     signature="(m,n),(n)->(m)")(m, v),
             lambda r: (r.normal((4, 2, 3)), r.normal((3,))), id="signature-matvec", grad=(0, 1)),
    with_ops("ops.vectorize", lambda ops: lambda a: ops.vectorize(lambda x, y: (x * y, x + y),
                                                                  signature="(),()->(),()")(a, a),
             lambda r: (r.normal((2, 3)),), id="two-outputs"),
    with_ops("ops.vectorize", lambda ops: lambda a: ops.vectorize(lambda x, s: x * s, excluded={1})(a, 2.0),
             lambda r: (r.normal((3,)),), id="excluded-scalar", grad=(0,)),
]


@op_cases(CONVERSION + SATURATE + WINDOWS + CONTROL)
def test_op_matches_keras(case):
    case.run()


# ----------------------------------------------------------------------------------------------
# gradients against PyTorch's autograd through Keras
# ----------------------------------------------------------------------------------------------
def _weights(shape, offset):
    return numpy.cos(numpy.arange(int(numpy.prod(shape))) + offset).reshape(shape)


def _loss(leaves, multiply_sum):
    """Σ_k Σ leaf_k · w_k with fixed weights, so every output element reaches the gradient."""
    total = 0.0
    for k, leaf in enumerate(leaves):
        total = total + multiply_sum(leaf, _weights(tuple(leaf.shape), k))
    return total


def _gradients(build, args, wrt):
    """(neuronka's, Keras's) gradients of the weighted sum of build(ops)(*args) w.r.t. args[wrt]."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415 - the oracle's backend

    kt = [torch.tensor(a, requires_grad=i in wrt) if i in wrt else a for i, a in enumerate(args)]
    k_out = [t for t in keras.tree.flatten(build(keras.ops)(*kt)) if t.dtype.is_floating_point]
    _loss(k_out, lambda t, w: (t * torch.tensor(w, dtype=t.dtype)).sum()).backward()
    nt = [nk.Tensor(a, requires_grad=True) if i in wrt else a for i, a in enumerate(args)]
    n_out = [t for t in nk.tree.flatten(build(nk.ops)(*nt)) if t.dtype.kind == "f"]
    _loss(n_out, lambda t, w: nk.ops.sum(t * w.astype(t.dtype))).backward()
    return [nt[i].grad for i in wrt], [kt[i].grad for i in wrt]


def _custom_log1pexp(ops):
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):  # the backend-agnostic form in Keras's docstring
            if upstream is None:
                (upstream,) = args
            return upstream * (1.0 - 1.0 / (1.0 + e))

        return ops.log(1.0 + e), grad
    return log1pexp


def _custom_two_inputs(ops):
    @ops.custom_gradient
    def scaled_product(x, y):
        def grad(*args, upstream):  # the PyTorch form: the forward's arguments, then upstream
            a, b = args
            return upstream * b * 3.0, upstream * a * 3.0  # 3x the true gradient: the custom one must win
        return x * y, grad
    return scaled_product


GRADIENT_ROWS = [  # (name, build, the shapes of the arguments, all differentiated)
    ("ops.scan", lambda ops: lambda init, xs: ops.scan(_cumprod_step, init, xs), [(), (5,)]),
    ("ops.while_loop", lambda ops: lambda x: ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x), (0, x)),
     [(3,)]),
    ("ops.cond", lambda ops: lambda x: ops.cond(True, lambda: x * x, lambda: x), [(4,)]),
    ("ops.switch", lambda ops: lambda x: ops.switch(1, [lambda a: a, lambda a: a * a * a], x), [(4,)]),
    ("ops.fori_loop", lambda ops: lambda x: ops.fori_loop(0, 3, lambda i, v: v * x, x), [(3,)]),
    ("ops.associative_scan", lambda ops: lambda x: ops.associative_scan(lambda a, b: a * b, x), [(7,)]),
    ("ops.map", lambda ops: lambda x: ops.map(lambda r: r * r, x), [(3, 2)]),
    ("ops.stop_gradient", lambda ops: lambda x: x * ops.stop_gradient(x * x), [(4,)]),
    ("ops.slice", lambda ops: lambda x: ops.slice(x, [1, 1], [2, 2]) * 2.0, [(3, 4)]),
    ("ops.slice_update", lambda ops: lambda x, u: ops.slice_update(x, [1, 0], u) * x, [(3, 3), (1, 2)]),
    ("ops.scatter", lambda ops: lambda v: ops.scatter([[0], [2], [0]], v, (4,)), [(3,)]),
    ("ops.scatter_update", lambda ops: lambda x, u: ops.scatter_update(x, [[0], [2]], u, reduction="add"),
     [(4,), (2,)]),
    ("ops.scatter_update", lambda ops: lambda x, u: ops.scatter_update(x, [[0], [2]], u) * x, [(4,), (2,)]),
    ("ops.copy", lambda ops: lambda x: ops.copy(x) * x, [(3,)]),
    ("ops.custom_gradient", lambda ops: lambda x: _custom_log1pexp(ops)(x), [(5,)]),
    ("ops.custom_gradient", lambda ops: lambda x, y: _custom_two_inputs(ops)(x, y), [(3,), (3,)]),
]


@pytest.mark.parametrize("name, build, shapes", [
    pytest.param(*row, id=f"{row[0]}-{i}", marks=keras_api(row[0])) for i, row in enumerate(GRADIENT_ROWS)])
def test_gradient_matches_keras(name, build, shapes):
    r = Inputs(3)
    args = [r.positive(s) for s in shapes]
    ours, theirs = _gradients(build, args, tuple(range(len(shapes))))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_same(a, b, rtol=1e-5, atol=1e-5, what=f"{name}: dL/d(argument {i})")


# ----------------------------------------------------------------------------------------------
# custom_gradient and stop_gradient
# ----------------------------------------------------------------------------------------------
@keras_api("ops.custom_gradient")
def test_custom_gradient_log1pexp_is_stable_and_matches_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    x = numpy.array([-3.0, 0.0, 5.0, 100.0], "float32")  # exp(100) overflows float32: autodiff gives nan
    kx = torch.tensor(x, requires_grad=True)
    k_out = _custom_log1pexp(keras.ops)(kx)
    k_out.sum().backward()
    nx = nk.Tensor(x, requires_grad=True)
    with numpy.errstate(over="ignore"):
        n_out = _custom_log1pexp(nk.ops)(nx)
        n_out.sum().backward()
    assert_same(n_out, k_out)
    assert_same(nx.grad, kx.grad)
    numpy.testing.assert_allclose(nx.grad, 1 / (1 + numpy.exp(-x)), rtol=1e-6)


def test_custom_gradient_replaces_the_gradient_of_the_ops_inside():
    @nk.ops.custom_gradient
    def identity_with_gradient_42(x):
        return x * 1.0, lambda upstream: upstream * 42.0  # the JAX/TensorFlow form grad(upstream)

    x = nk.Tensor(numpy.ones(3), requires_grad=True)
    nk.ops.sum(identity_with_gradient_42(x)).backward()
    numpy.testing.assert_array_equal(x.grad, numpy.full(3, 42.0))


def test_custom_gradient_keyword_and_non_tensor_arguments():
    received = {}

    @nk.ops.custom_gradient
    def scale(x, factor, *, offset=0.0):
        def grad(*args, upstream):
            received["args"] = args
            return upstream * factor, None
        return x * factor + offset, grad

    x = nk.Tensor(numpy.arange(3.0), requires_grad=True)
    y = scale(x, 2.5, offset=1.0)
    numpy.testing.assert_allclose(y.data, numpy.arange(3.0) * 2.5 + 1.0)
    nk.ops.sum(y).backward()
    numpy.testing.assert_allclose(x.grad, numpy.full(3, 2.5))
    assert received["args"][0] is x and received["args"][1] == 2.5


def test_custom_gradient_several_outputs_receive_their_upstreams():
    @nk.ops.custom_gradient
    def pair(x):
        def grad(*args, upstream):
            first, second = upstream
            return first * 2.0 + second * 3.0
        return (x * 2.0, x * 3.0), grad

    x = nk.Tensor(numpy.array([1.0, -1.0]), requires_grad=True)
    a, b = pair(x)
    nk.ops.sum(a * a + b).backward()  # dL/da = 2a = 4x, dL/db = 1
    numpy.testing.assert_allclose(x.grad, 2.0 * 4.0 * numpy.array([1.0, -1.0]) + 3.0)


def test_custom_gradient_rejects_a_function_without_grad_fn():
    with pytest.raises(ValueError, match="custom_gradient: expected .* pair"):
        nk.ops.custom_gradient(lambda x: x * 2.0)(nk.Tensor(numpy.ones(2), requires_grad=True))


def test_custom_gradient_rejects_a_wrong_number_of_gradients():
    @nk.ops.custom_gradient
    def f(x, y):
        return x * y, lambda *args, upstream: upstream
    x = nk.Tensor(numpy.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="one gradient per positional argument"):
        nk.ops.sum(f(x, x)).backward()


def test_stop_gradient_blocks_the_backward():
    x = nk.Tensor(numpy.array([1.0, 2.0]), requires_grad=True)
    y = nk.ops.stop_gradient(x)
    assert not y.requires_grad
    nk.ops.sum(x * y).backward()  # d(x·sg(x))/dx = sg(x)
    numpy.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_convert_to_tensor_keeps_a_tensor_and_reads_a_variable_with_its_gradient():
    t = nk.Tensor(numpy.ones(2, "float32"), requires_grad=True)
    assert nk.ops.convert_to_tensor(t) is t and nk.ops.convert_to_tensor(t, "float32") is t
    v = nk.Variable(numpy.array([1.0, 2.0], "float32"))
    read = nk.ops.convert_to_tensor(v)
    assert nk.ops.is_tensor(read) and not nk.ops.is_tensor(v)
    nk.ops.sum(read * 3.0).backward()
    numpy.testing.assert_array_equal(v.grad, [3.0, 3.0])


@keras_api("ops.is_tensor")
def test_is_tensor_is_false_for_variables_as_in_keras():
    keras = keras_or_skip()
    assert keras.ops.is_tensor(keras.Variable(numpy.ones(2, "float32"))) is False
    assert nk.ops.is_tensor(nk.Variable(numpy.ones(2, "float32"))) is False


# ----------------------------------------------------------------------------------------------
# where neuronka deliberately differs from Keras 3.15.1 on PyTorch (bugs there; see the docstrings)
# ----------------------------------------------------------------------------------------------
def test_saturate_cast_uses_exact_limits():
    # Keras: [-2**31, -2**31, 1] (3e9 wraps) and [-9.2e18, -9.2e18] (every value wraps)
    out = nk.ops.saturate_cast(numpy.array([-3e9, 3e9, 1.5], "float32"), "int32")
    numpy.testing.assert_array_equal(out.data, [-2**31, 2**31 - 128, 1])  # 2**31 - 128: float32's largest below
    out = nk.ops.saturate_cast(numpy.array([2**62, 5], "int64"), "float32")
    numpy.testing.assert_array_equal(out.data, numpy.array([2.0**62, 5.0], "float32"))


def test_slice_minus_one_reads_to_the_end_and_windows_must_fit():
    x = numpy.arange(10.0)
    numpy.testing.assert_array_equal(nk.ops.slice(x, [2], [-1]).data, x[2:])
    for starts, shape in (([4], [7]), ([-1], [1])):
        with pytest.raises(ValueError, match="slice: the window"):
            nk.ops.slice(x, starts, shape)
    with pytest.raises(ValueError, match="slice_update: the window"):
        nk.ops.slice_update(x, [9], numpy.ones(2))


def test_associative_scan_keeps_the_input_dtype():
    out = nk.ops.associative_scan(lambda a, b: a + b, numpy.arange(6, dtype="int32"))
    assert out.dtype == numpy.int32
    numpy.testing.assert_array_equal(out.data, numpy.cumsum(numpy.arange(6)))


def test_vectorize_passes_keyword_arguments_and_excluded_objects():
    def scaled(x, table, scale=1.0):
        return x * table["w"] * scale
    out = nk.ops.vectorize(scaled, excluded={1})(numpy.arange(3.0), {"w": 2.0}, scale=10.0)
    numpy.testing.assert_allclose(out.data, numpy.arange(3.0) * 20.0)


def test_scan_rejects_a_length_other_than_the_leading_axis():
    with pytest.raises(ValueError, match="length=3 differs"):
        nk.ops.scan(lambda c, x: (c + x, c), 0.0, numpy.arange(5.0), length=3)


# ----------------------------------------------------------------------------------------------
# errors: the exception type Keras raises, and a message naming the function
# ----------------------------------------------------------------------------------------------
ERRORS = [
    ("ops.convert_to_tensor", lambda ops: ops.convert_to_tensor([1.0], sparse=True), ValueError),
    ("ops.convert_to_tensor", lambda ops: ops.convert_to_tensor([1.0], ragged=True), ValueError),
    ("ops.convert_to_tensor", lambda ops: ops.convert_to_tensor([1], dtype="foo"), ValueError),
    ("ops.shape", lambda ops: ops.shape([1, 2]), AttributeError),
    ("ops.dtype", lambda ops: ops.dtype([1, 2]), AttributeError),
    ("ops.scatter_update", lambda ops: ops.scatter_update(numpy.zeros(3), [[0]], numpy.ones(1), reduction="sum"),
     ValueError),
    ("ops.scan", lambda ops: ops.scan(lambda c, x: (c, c), 0), ValueError),
    ("ops.scan", lambda ops: ops.scan(lambda c, x: (c, c), 0, numpy.ones(2), unroll=0), ValueError),
    ("ops.scan", lambda ops: ops.scan("not callable", 0, numpy.ones(2)), TypeError),
    ("ops.associative_scan", lambda ops: ops.associative_scan(None, numpy.ones(2)), TypeError),
    ("ops.associative_scan", lambda ops: ops.associative_scan(lambda a, b: [a[0] + b[0], a[1] + b[1]],
                                                              [numpy.ones(2), numpy.ones(3)]), ValueError),
    ("ops.cond", lambda ops: ops.cond(numpy.array([True, False]), lambda: 1, lambda: 2), ValueError),
    ("ops.vectorize", lambda ops: ops.vectorize(3), ValueError),
    ("ops.vectorize", lambda ops: ops.vectorize(lambda a: a, signature="(m)->(m")(numpy.ones(2)), ValueError),
    ("ops.vectorize", lambda ops: ops.vectorize(lambda a, b: a, signature="(m),(m)->(m)")(
        numpy.ones(2, "float32"), numpy.ones(3, "float32")), ValueError),
    ("ops.vectorize", lambda ops: ops.vectorize(lambda a: a, signature="(m),(m)->(m)")(numpy.ones(2, "float32")),
     TypeError),
    ("ops.slice_update", lambda ops: ops.slice_update(numpy.zeros(5), [4], numpy.ones(2)), (ValueError, RuntimeError)),
]


@pytest.mark.parametrize("name, call, error", [
    pytest.param(*row, id=f"{row[0]}-{i}", marks=keras_api(row[0])) for i, row in enumerate(ERRORS)])
def test_bad_input_raises_as_keras(name, call, error):
    keras = keras_or_skip()
    with pytest.raises(error):
        call(keras.ops)
    ours = error[0] if isinstance(error, tuple) else error
    with pytest.raises(ours):
        call(nk.ops)


def test_errors_name_the_function_and_the_argument():
    with pytest.raises(ValueError, match=r"scatter_update: expected indices of shape \(N, k\), received shape \(2,\)"):
        nk.ops.scatter_update(numpy.zeros(3), [0, 1], numpy.ones(2))
    with pytest.raises(IndexError, match="scatter: index"):
        nk.ops.scatter([[5]], numpy.ones(1), (3,))
    with pytest.raises(ValueError, match="scatter: expected values with 2 entries"):
        nk.ops.scatter([[0], [1]], numpy.ones(3), (3,))
    with pytest.raises(ValueError, match="switch: expected at least one branch"):
        nk.ops.switch(0, [])
    with pytest.raises(ValueError, match="vectorized_map: expected elements"):
        nk.ops.vectorized_map(lambda e: e, [numpy.ones(2), numpy.ones(3)])


def test_results_are_tensors_and_python_values_where_keras_gives_them():
    out = nk.ops.fori_loop(0, 4, lambda i, s: s + i, 0)
    assert out == 6 and isinstance(out, int)  # fori_loop passes Python ints, as Keras on PyTorch
    carry, ys = nk.ops.scan(lambda c, x: (c + x, c), 0.0, numpy.arange(3.0, dtype="float32"))
    assert isinstance(carry, nk.Tensor) and isinstance(ys, nk.Tensor)
    assert to_numpy(ys).tolist() == [0.0, 0.0, 1.0]

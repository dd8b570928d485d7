"""Real Keras 3.15.1 (PyTorch backend) as a test oracle, and the table-driven comparison of ops.

neuronka never imports Keras; the tests do, through :func:`keras_or_skip`, with ``KERAS_BACKEND=torch``
(set here before the first import). A test that compares a public Keras name with neuronka's says so
with the marker ``@keras_api("ops.argmax", ...)`` (qualified names below the ``keras`` package); the
coverage report (``python tools/keras_coverage.py``) counts a name as compared only when a test carrying
its marker passed in the run. Mark only tests that call real Keras and assert equality with it.

Ops are compared by rows of a table::

    CASES = [
        OpCase("ops.argmax", lambda r: (r.normal((3, 4)),), {"axis": 1}),
        OpCase("ops.sin", lambda r: (r.normal((2, 3)),), grad=(0,)),
    ]

    @op_cases(CASES)
    def test_op_matches_keras(case):
        case.run()

``OpCase.run`` calls ``keras.<name>(*args, **kwargs)`` and ``neuronka.<name>(*args, **kwargs)`` on the
same freshly made inputs and asserts: the same structure (tuples/lists/dicts), shapes, values
(``rtol``/``atol``) and dtypes (``check_dtype``; 64-bit inputs are exempt where Keras's torch backend
narrows them to 32 bits and neuronka keeps them, see neuronka/dtypes.py). With ``grad=(i, ...)`` it
also runs neuronka's ``gradcheck`` on those arguments in float64 (the other arguments as made), and
with ``torch_grad=True`` the float32 gradient against Keras's own (torch autograd through Keras's op).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy
import pytest

# The exhaustive comparisons (every application with every argument set against Keras): ~30 minutes on 2 cores,
# so neither the suite nor CI runs them; NEURONKA_EXHAUSTIVE=1 does (tests/conftest.py). Slow as well, so that the
# quick subset (-m "not slow") never includes them either.
EXHAUSTIVE = (pytest.mark.slow, pytest.mark.exhaustive)

os.environ.setdefault("KERAS_BACKEND", "torch")

import neuronka as nk  # noqa: E402

from .oracles import ORACLE_SKIP_PREFIX, missing  # noqa: E402

keras_api = pytest.mark.keras_api


def keras_or_skip():
    """The real Keras module (torch backend), or skip: the test extra installs keras==3.15.1."""
    if os.environ.get("KERAS_BACKEND") != "torch":
        pytest.skip(f"the Keras oracle runs on its torch backend; KERAS_BACKEND={os.environ.get('KERAS_BACKEND')}")
    reason = missing("keras")
    if reason:
        pytest.skip(reason)
    import keras  # noqa: PLC0415
    if keras.__version__ != "3.15.1":
        pytest.skip(f"the oracle is Keras 3.15.1, found {keras.__version__}")
    return keras


def clear_keras_session() -> None:
    """Keras's global name counters back to zero (fixtures' teardown), when the test loaded Keras: without
    the oracle there is nothing to clear, and a teardown must not turn a passed test into a skipped one."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        keras.backend.clear_session(free_memory=False)


def resolve(module, qualified: str):
    """``resolve(keras, "ops.nn.relu")`` → keras.ops.nn.relu."""
    obj = module
    for part in qualified.split("."):
        obj = getattr(obj, part)
    return obj


# ----------------------------------------------------------------------------------------------
# conversion and comparison
# ----------------------------------------------------------------------------------------------
def to_numpy(x):
    """Keras/torch/neuronka outputs as NumPy, structures kept (tuples, lists, dicts)."""
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_numpy(v) for v in x)
    if isinstance(x, nk.Tensor):
        return numpy.asarray(x.data)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    if hasattr(x, "value") and hasattr(x, "assign"):  # a Keras Variable
        return to_numpy(x.value)
    if x is None or isinstance(x, (str, bytes)):
        return x
    return numpy.asarray(x)


def _dtype_name(a) -> str:
    return numpy.asarray(a).dtype.name


def assert_same(actual, expected, *, rtol=1e-5, atol=1e-6, check_dtype=True, what="output", narrowed_ok=True):
    """``actual`` (neuronka's) equals ``expected`` (Keras's): structure, shape, dtype, values.

    ``narrowed_ok``: where Keras gives a 32-bit dtype and neuronka its 64-bit twin, accept (Keras on torch
    narrows 64-bit results, neuronka keeps them)."""
    actual, expected = to_numpy(actual), to_numpy(expected)
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), \
            f"{what}: keys {sorted(actual) if isinstance(actual, dict) else type(actual)} != {sorted(expected)}"
        for k in expected:
            assert_same(actual[k], expected[k], rtol=rtol, atol=atol, check_dtype=check_dtype, what=f"{what}[{k!r}]",
                        narrowed_ok=narrowed_ok)
        return
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{what}: expected a {type(expected).__name__}, got {type(actual)}"
        assert len(actual) == len(expected), f"{what}: {len(actual)} items, Keras gives {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, rtol=rtol, atol=atol, check_dtype=check_dtype, what=f"{what}[{i}]",
                        narrowed_ok=narrowed_ok)
        return
    if expected is None or isinstance(expected, (str, bytes)):
        assert actual == expected, f"{what}: {actual!r} != Keras's {expected!r}"
        return
    a, e = numpy.asarray(actual), numpy.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, Keras gives {e.shape}"
    if check_dtype:
        ad, ed = _dtype_name(a), _dtype_name(e)
        widened = {("float64", "float32"), ("int64", "int32"), ("uint64", "uint32"), ("complex128", "complex64")}
        assert ad == ed or (narrowed_ok and (ad, ed) in widened), f"{what}: dtype {ad}, Keras gives {ed}"
    if e.dtype.kind in "biu" and a.dtype.kind in "biu":
        numpy.testing.assert_array_equal(a, e, err_msg=what)
    else:
        numpy.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what, equal_nan=True)


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------
class Inputs:
    """Deterministic inputs for a case: ``r.normal(shape)`` (float32 unless ``dtype``), ``r.uniform``,
    ``r.positive``, ``r.ints(shape, low, high)``, ``r.bools(shape)``."""

    def __init__(self, seed: int = 0):
        self.rng = numpy.random.default_rng(seed)

    def normal(self, shape, dtype="float32"):
        return self.rng.standard_normal(shape).astype(dtype)

    def uniform(self, shape, low=0.0, high=1.0, dtype="float32"):
        return self.rng.uniform(low, high, shape).astype(dtype)

    def positive(self, shape, dtype="float32"):
        return self.rng.uniform(0.5, 2.0, shape).astype(dtype)

    def ints(self, shape, low=0, high=10, dtype="int32"):
        return self.rng.integers(low, high, shape).astype(dtype)

    def bools(self, shape):
        return self.rng.random(shape) < 0.5


def _copy(args):
    if isinstance(args, numpy.ndarray):
        return args.copy()
    if isinstance(args, (list, tuple)):
        return type(args)(_copy(a) for a in args)
    if isinstance(args, dict):
        return {k: _copy(v) for k, v in args.items()}
    return args


@dataclass
class OpCase:
    """One row: a Keras name, how to make its arguments, and what to check (see the module docstring).

    ``make(r: Inputs) -> tuple`` returns the positional arguments; ``kwargs`` are passed to both;
    ``nk_name`` names neuronka's function when it differs; ``keras_fn``/``nk_fn`` replace the looked-up
    functions (e.g. a lambda adapting a callable argument); ``id`` tells rows of one name apart.
    ``grad``: argument indices whose gradients ``gradcheck`` checks in float64 (float arguments are
    cast to float64 for it); ``grad_fn``: the function gradchecked (default: neuronka's op with kwargs).
    """

    name: str
    make: Callable[[Inputs], tuple]
    kwargs: dict = field(default_factory=dict)
    id: str = ""
    rtol: float = 1e-5
    atol: float = 1e-6
    check_dtype: bool = True
    grad: Sequence[int] = ()
    grad_fn: Callable | None = None
    grad_atol: float = 1e-5
    grad_rtol: float = 1e-4
    keras_fn: Callable | None = None
    nk_fn: Callable | None = None
    nk_name: str | None = None
    seed: int = 0
    marks: Sequence[Any] = ()
    compare: Callable | None = None  # compare(nk_out, keras_out) replacing assert_same

    @property
    def test_id(self) -> str:
        return f"{self.name}[{self.id}]" if self.id else self.name

    def neuronka_fn(self):
        return self.nk_fn if self.nk_fn is not None else resolve(nk, self.nk_name or self.name)

    def run(self):
        reason = missing("keras")
        if reason:  # no oracle: neuronka's op still runs, and its float64 gradcheck needs none
            args = self.make(Inputs(self.seed))
            self.neuronka_fn()(*_copy(args), **_copy(self.kwargs))
            if not self.grad:
                pytest.skip(reason)
            self.run_gradcheck(args)
            pytest.skip(f"{ORACLE_SKIP_PREFIX} (neuronka's forward, float64 gradcheck); not compared with Keras "
                        f"({reason})")
        keras = keras_or_skip()
        kfn = self.keras_fn if self.keras_fn is not None else resolve(keras, self.name)
        nfn = self.neuronka_fn()
        args = self.make(Inputs(self.seed))
        expected = kfn(*_copy(args), **_copy(self.kwargs))
        actual = nfn(*_copy(args), **_copy(self.kwargs))
        if self.compare is not None:
            self.compare(actual, expected)
        else:
            assert_same(actual, expected, rtol=self.rtol, atol=self.atol, check_dtype=self.check_dtype,
                        what=self.test_id)
        if self.grad:
            self.run_gradcheck(args)

    def run_gradcheck(self, args):
        fn = self.grad_fn if self.grad_fn is not None else self.neuronka_fn()
        wrt = list(self.grad)
        arrays = [numpy.asarray(a, dtype=numpy.float64) if i in wrt else a for i, a in enumerate(args)]
        kwargs = self.kwargs

        def f(*tensors):
            full = list(arrays)
            for i, t in zip(wrt, tensors):
                full[i] = t
            return fn(*full, **kwargs)

        nk.gradcheck(f, [arrays[i] for i in wrt], atol=self.grad_atol, rtol=self.grad_rtol)


def op_cases(cases: Sequence[OpCase]):
    """Parametrize a test over the rows, each marked with its Keras name (for the coverage report)."""
    params = [pytest.param(c, id=c.test_id, marks=[keras_api(c.name), *c.marks]) for c in cases]
    return pytest.mark.parametrize("case", params)

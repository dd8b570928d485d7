"""keras.activations against real Keras 3.15.1: every activation's values, shapes and dtypes (float32 over
several shapes, float64, int32 where Keras's torch backend accepts it) with Keras's defaults and keyword
arguments, its gradient against central differences in float64, and serialize / deserialize / get on every
name, on named and registered functions and on Keras's own serialized forms.

Deliberate differences tested here without Keras: integer inputs to the activations Keras's torch backend
has no integer kernel for give floatx() (Keras raises); sparsemax computes τ as defined (Keras 3.15.1's
outputs do not sum to 1 once the support has two or more entries).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import activations

from .keras_oracle import OpCase, assert_same, keras_api, keras_or_skip, op_cases

KINKS = numpy.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 3.0, -3.0, 6.0])


def smooth(shape, low=-5.0, high=5.0, dtype="float32"):
    """Uniform inputs kept 0.15 away from every kink of the activations (0, ±0.5, ±1, ±1.5, ±3, 6)."""
    def make(r):
        x = r.uniform(shape, low, high, dtype="float64")
        near = (numpy.abs(x[..., None] - KINKS) < 0.15).any(-1)
        return (numpy.where(near, x + 0.3, x).astype(dtype),)
    return make


def one_peak(shape, axis=-1):
    """Inputs whose largest entry along ``axis`` leads the next by more than 1: sparsemax's support is one entry
    (where Keras 3.15.1's sparsemax is right)."""
    def make(r):
        x = r.normal(shape, dtype="float64")
        top = numpy.argmax(x, axis=axis)
        numpy.put_along_axis(x, numpy.expand_dims(top, axis), numpy.max(x, axis=axis, keepdims=True) + 1.5, axis)
        return (x.astype("float32"),)
    return make


def ints(shape, low=-4, high=5):
    return lambda r: (r.ints(shape, low, high),)


SHAPES = [(7,), (3, 4), (2, 3, 4)]
# name: (extra keyword-argument rows, accepts int32 in Keras's torch backend)
ELEMENTWISE = {
    "celu": ([{"alpha": 0.5}], False),
    "elu": ([{"alpha": 0.7}], False),
    "exponential": ([], True),
    "gelu": ([{"approximate": True}], False),
    "hard_shrink": ([{"threshold": 1.5}], False),
    "hard_sigmoid": ([], False),
    "hard_silu": ([], False),
    "hard_swish": ([], False),
    "hard_tanh": ([], True),
    "leaky_relu": ([{"negative_slope": 0.1}], False),
    "linear": ([], True),
    "log_sigmoid": ([], False),
    "mish": ([], False),
    "relu": ([{"negative_slope": 0.1}, {"max_value": 3.0}, {"threshold": 0.5},
              {"negative_slope": 0.1, "max_value": 3.0, "threshold": -0.5}, {"max_value": 6.0}], True),
    "relu6": ([], True),
    "selu": ([], False),
    "sigmoid": ([], True),
    "silu": ([], False),
    "soft_shrink": ([{"threshold": 1.0}], False),
    "softplus": ([], False),
    "softsign": ([], True),
    "sparse_plus": ([], True),
    "sparse_sigmoid": ([], True),
    "squareplus": ([{"b": 1}], True),
    "swish": ([], False),
    "tanh": ([], True),
    "tanh_shrink": ([], True),
}


def _rows():
    rows = []
    for name, (extras, int_ok) in ELEMENTWISE.items():
        q = f"activations.{name}"
        low = -3.0 if name == "exponential" else -5.0
        for shape in SHAPES:
            rows.append(OpCase(q, smooth(shape, low), id=f"float32_{shape}", grad=(0,) if shape == (3, 4) else ()))
        rows.append(OpCase(q, smooth((3, 4), low, dtype="float64"), id="float64"))
        for i, kw in enumerate(extras):
            rows.append(OpCase(q, smooth((3, 4)), kw, id=f"kwargs{i}", grad=(0,)))
        if int_ok:
            rows.append(OpCase(q, ints((2, 5)), id="int32"))
    rows += [
        OpCase("activations.threshold", smooth((3, 4)), {"threshold": 0.5, "default_value": -2.0}, grad=(0,)),
        OpCase("activations.threshold", smooth((2, 3, 4)), {"threshold": -1.0, "default_value": 0.0}, id="3d"),
        OpCase("activations.threshold", ints((2, 5)), {"threshold": 1, "default_value": 7}, id="int32"),
        OpCase("activations.softmax", smooth((3, 5)), grad=(0,)),
        OpCase("activations.softmax", smooth((4, 3)), {"axis": 0}, id="axis0", grad=(0,)),
        OpCase("activations.softmax", smooth((2, 3, 4)), {"axis": (1, 2)}, id="axis_tuple", grad=(0,)),
        OpCase("activations.softmax", smooth((2, 3), dtype="float64"), id="float64"),
        OpCase("activations.log_softmax", smooth((3, 5)), grad=(0,)),
        OpCase("activations.log_softmax", smooth((4, 3)), {"axis": 0}, id="axis0", grad=(0,)),
        OpCase("activations.log_softmax", smooth((2, 3, 4)), {"axis": 1}, id="axis1"),
        OpCase("activations.glu", smooth((3, 8)), grad=(0,)),
        OpCase("activations.glu", smooth((4, 3)), {"axis": 0}, id="axis0", grad=(0,)),
        OpCase("activations.glu", smooth((2, 6, 2), dtype="float64"), {"axis": 1}, id="float64_axis1"),
        OpCase("activations.sparsemax", one_peak((3, 5)), grad=(0,)),
        OpCase("activations.sparsemax", one_peak((4, 3), axis=0), {"axis": 0}, id="axis0", grad=(0,)),
        OpCase("activations.sparsemax", one_peak((2, 3, 4)), id="3d"),
    ]
    return rows


CASES = _rows()


@op_cases(CASES)
def test_activation_matches_keras(case):
    case.run()


def test_every_keras_activation_has_a_row():
    keras = keras_or_skip()
    names = {n for n in dir(keras.activations) if not n.startswith("_") and callable(getattr(keras.activations, n))}
    covered = {c.name.split(".", 1)[1] for c in CASES} | {"serialize", "deserialize", "get"}
    assert names <= covered, f"keras.activations names without a row: {sorted(names - covered)}"
    assert all(hasattr(activations, n) for n in names), sorted(n for n in names if not hasattr(activations, n))


@pytest.mark.parametrize("name", ["celu", "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
                                  "leaky_relu", "log_sigmoid", "log_softmax", "mish", "selu", "silu", "soft_shrink",
                                  "softmax", "softplus"])
def test_integer_inputs_give_floatx_where_keras_torch_backend_has_no_integer_kernel(name):
    x = numpy.array([[-2, -1, 0, 1], [2, 3, -3, 0]], dtype="int32")
    y = getattr(activations, name)(x)
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.numpy(), getattr(activations, name)(x.astype("float32")).numpy(), rtol=1e-6)


def test_sparsemax_sums_to_one_where_keras_3_15_1_does_not():
    keras = keras_or_skip()
    x = numpy.array([[0.5, 0.4, 0.0], [1.0, 2.0, 3.0], [0.3, 0.2, 0.1]], "float32")
    y = activations.sparsemax(x).numpy()
    numpy.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-6)
    # the Euclidean projection onto the simplex: y = max(x − τ, 0) with τ = (Σ_support x − 1)/|support|
    numpy.testing.assert_allclose(y[0], [0.5 + 1 / 30, 0.4 + 1 / 30, 1 / 30], rtol=1e-5)
    numpy.testing.assert_allclose(y[1], [0.0, 0.0, 1.0])
    kept = numpy.asarray(keras.activations.sparsemax(x))
    assert not numpy.allclose(kept.sum(-1), 1.0), "Keras's sparsemax was fixed: compare with it directly"
    numpy.testing.assert_allclose(kept[1], y[1])  # one-entry support: both agree


def test_sparsemax_jacobian_is_the_projection_on_the_support():
    x = numpy.array([0.5, 0.4, 0.0, -2.0])
    y, jac = activations.derivative("sparsemax", x)
    support = y > 0
    expect = numpy.where(support[:, None] & support[None, :], numpy.eye(4) - 1 / support.sum(), 0.0)
    numpy.testing.assert_allclose(jac, expect, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# serialize / deserialize / get
# ----------------------------------------------------------------------------------------------
def named_activation(x):
    return x * 2


@keras_api("activations.serialize", "activations.deserialize", "activations.get")
def test_every_name_serializes_and_resolves_as_in_keras():
    keras = keras_or_skip()
    names = [n for n in dir(keras.activations) if not n.startswith("_") and n not in ("serialize", "deserialize",
                                                                                          "get")]
    for name in names:
        kfn, nfn = keras.activations.get(name), activations.get(name)
        assert nfn is getattr(activations, name), name
        assert activations.serialize(nfn) == keras.activations.serialize(kfn), name
        assert activations.deserialize(name) is nfn
        assert activations.deserialize(activations.serialize(nfn)) is activations.get(activations.serialize(nfn))
        assert nfn.__name__ == kfn.__name__, name
    assert activations.get(None) is activations.linear and keras.activations.get(None) is keras.activations.linear


@keras_api("activations.serialize", "activations.deserialize", "activations.get")
def test_named_and_registered_functions_serialize_to_keras_dicts_and_back():
    keras = keras_or_skip()
    assert activations.serialize(named_activation) == keras.activations.serialize(named_activation)
    config = activations.serialize(named_activation)
    assert activations.deserialize(config, custom_objects={"named_activation": named_activation}) is named_activation
    assert activations.get(named_activation) is named_activation
    with pytest.raises(TypeError, match="named_activation"):
        activations.deserialize(config)  # neither registered nor in custom_objects

    def registered(x):
        return x

    kreg = keras.saving.register_keras_serializable(package="nn_test")(registered)
    nreg = nk.saving.register_keras_serializable(package="nn_test")(registered)
    try:
        assert activations.serialize(nreg) == keras.activations.serialize(kreg)
        assert activations.deserialize(activations.serialize(nreg)) is registered
        assert activations.get(keras.activations.serialize(kreg)) is registered
    finally:
        keras.saving.get_custom_objects().pop("nn_test>registered", None)
        for key in ("nn_test>registered", "registered"):
            nk.saving.get_custom_objects().pop(key, None)


@keras_api("activations.deserialize", "activations.get")
def test_keras_serialized_forms_resolve_to_the_builtins():
    keras = keras_or_skip()
    for config in ({"class_name": "function", "config": "relu", "module": "builtins", "registered_name": None},
                   {"class_name": "function", "config": "gelu", "module": "keras.activations",
                    "registered_name": None}):
        expected = keras.activations.get(config)
        got = activations.get(config)
        assert got.__name__ == expected.__name__ and got is activations.get(expected.__name__)
        assert activations.deserialize(config) is got
    x = numpy.linspace(-2, 2, 5).astype("float32")
    assert_same(activations.get("gelu")(x), keras.activations.get("gelu")(x))  # exact GELU by name


@keras_api("activations.get")
def test_get_refuses_what_keras_refuses():
    keras = keras_or_skip()
    for bad in ("nonexistent", 3):
        with pytest.raises(ValueError):
            keras.activations.get(bad)
        with pytest.raises(ValueError, match=f"received {bad!r}"):
            activations.get(bad)


def test_serialize_refuses_lambdas_and_unknown_objects():
    with pytest.raises(ValueError, match="lambda"):
        activations.serialize(lambda x: x)
    with pytest.raises(ValueError, match="cannot be serialized"):
        activations.serialize("relu")
    with pytest.raises(ValueError, match="unknown activation"):
        activations.deserialize("nonexistent")  # Keras returns the string itself; a string is no activation


def test_objects_with_get_config_round_trip():
    class Scaled:
        def __init__(self, factor=2.0):
            self.factor = factor

        def __call__(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    config = activations.serialize(Scaled(3.0))
    assert config["class_name"] == "Scaled" and config["config"] == {"factor": 3.0}
    rebuilt = activations.deserialize(config, custom_objects={"Scaled": Scaled})
    assert isinstance(rebuilt, Scaled) and rebuilt.factor == 3.0

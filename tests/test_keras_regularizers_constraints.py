"""keras.regularizers and keras.constraints against real Keras 3.15.1: values, dtypes, configs, serialized forms,
``get``, errors; and the penalties' gradients against central differences in float64 (a regularizer's penalty
is added to the loss, so it must differentiate through neuronka's ops)."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import constraints, regularizers

from .keras_oracle import Inputs, OpCase, assert_same, keras_api, keras_or_skip, op_cases


def _case(namespace, cls_name, make, kwargs=None, id="", grad=False, **extra):
    """A row comparing ``<namespace>.<cls_name>(**kwargs)(w)`` in both libraries (and its gradient)."""
    kwargs = kwargs or {}

    def keras_fn(w):
        import keras  # noqa: PLC0415 - the row runs only after keras_or_skip

        return getattr(getattr(keras, namespace), cls_name)(**kwargs)(keras.ops.convert_to_tensor(w))

    def nk_fn(w):
        return getattr(getattr(nk, namespace), cls_name)(**kwargs)(nk.Tensor(w))

    def grad_fn(w):
        return getattr(getattr(nk, namespace), cls_name)(**kwargs)(w)

    return OpCase(f"{namespace}.{cls_name}", make, id=id, keras_fn=keras_fn, nk_fn=nk_fn,
                  grad=(0,) if grad else (), grad_fn=grad_fn, **extra)


REGULARIZER_CASES = [
    _case("regularizers", "L1", lambda r: (r.normal((4, 3)),), id="default", grad=True),
    _case("regularizers", "L1", lambda r: (r.normal((2, 3, 4), dtype="float64"),), {"l1": 0.3}, id="f64", grad=True),
    _case("regularizers", "L2", lambda r: (r.normal((4, 3)),), id="default", grad=True),
    _case("regularizers", "L2", lambda r: (r.normal((7,)),), {"l2": 2}, id="int_factor", grad=True),
    _case("regularizers", "L1L2", lambda r: (r.normal((4, 3)),), id="zero"),
    _case("regularizers", "L1L2", lambda r: (r.normal((4, 3)),), {"l1": 0.1, "l2": 0.2}, id="both", grad=True),
    _case("regularizers", "L1L2", lambda r: (r.normal((5,)),), {"l1": None, "l2": 0.5}, id="none_l1", grad=True),
    _case("regularizers", "l1_l2", lambda r: (r.normal((3, 3)),), {"l1": 0.01, "l2": 0.01}, id="alias", grad=True),
    _case("regularizers", "l1", lambda r: (r.normal((3, 3)),), id="alias"),
    _case("regularizers", "l2", lambda r: (r.normal((3, 3)),), id="alias"),
    _case("regularizers", "OrthogonalRegularizer", lambda r: (r.normal((4, 6)),), id="rows", grad=True),
    _case("regularizers", "OrthogonalRegularizer", lambda r: (r.normal((6, 4)),), {"factor": 0.5, "mode": "columns"},
          id="columns", grad=True),
    _case("regularizers", "orthogonal_regularizer", lambda r: (r.normal((3, 5), dtype="float64"),), {"factor": 2},
          id="alias_f64", grad=True),
]

CONSTRAINT_CASES = [
    _case("constraints", "MaxNorm", lambda r: (2 * r.normal((4, 3)),), id="default"),
    _case("constraints", "MaxNorm", lambda r: (r.normal((3, 3, 2, 4)),), {"max_value": 0.7, "axis": [0, 1, 2]},
          id="conv_axes"),
    _case("constraints", "max_norm", lambda r: (r.normal((5, 2), dtype="float64"),), {"max_value": 1, "axis": 1},
          id="alias_axis1"),
    _case("constraints", "NonNeg", lambda r: (r.normal((4, 3)),), id="default"),
    _case("constraints", "non_neg", lambda r: (r.normal((6,), dtype="float64"),), id="alias"),
    _case("constraints", "UnitNorm", lambda r: (r.normal((4, 3)),), id="default"),
    _case("constraints", "unit_norm", lambda r: (r.normal((4, 3)),), {"axis": -1}, id="alias_last_axis"),
    _case("constraints", "MinMaxNorm", lambda r: (3 * r.normal((4, 5)),), id="default"),
    _case("constraints", "MinMaxNorm", lambda r: (r.normal((4, 5)),), {"min_value": 0.5, "max_value": 1.5,
                                                                       "rate": 0.3, "axis": 1}, id="rate"),
    _case("constraints", "min_max_norm", lambda r: (r.normal((2, 2, 3), dtype="float64"),), {"max_value": 0.2},
          id="alias"),
    _case("constraints", "Constraint", lambda r: (r.normal((3, 2)),), id="identity"),
]


@op_cases(REGULARIZER_CASES + CONSTRAINT_CASES)
def test_value_and_gradient_match_keras(case):
    case.run()


@keras_api("regularizers.L1", "regularizers.L2", "regularizers.L1L2")
def test_penalty_gradient_is_the_formula():
    """d/dw of λ₁Σ|w| + λ₂Σw² is λ₁ sign(w) + 2λ₂ w (Keras's L2 has no ½)."""
    keras_or_skip()
    w = Inputs(3).normal((4, 3), dtype="float64")
    x = nk.Tensor(w.copy(), requires_grad=True)
    regularizers.L1L2(l1=0.3, l2=0.2)(x).backward()
    numpy.testing.assert_allclose(x.grad, 0.3 * numpy.sign(w) + 2 * 0.2 * w, rtol=1e-12)


@keras_api("regularizers.L2", "constraints.MaxNorm")
def test_layer_weights_use_the_regularizer_and_constraint_in_training():
    """A Dense kernel with an L2 penalty and a MaxNorm constraint: the penalty is in the loss, and after a
    step the constraint holds (the optimizer projects the kernel, as Keras's does)."""
    keras_or_skip()
    nk.utils.set_random_seed(0)
    model = nk.Sequential([nk.Input((4,)), nk.layers.Dense(3, kernel_regularizer="l2",
                                                             kernel_constraint=nk.constraints.MaxNorm(0.5))])
    model.compile(optimizer=nk.optimizers.SGD(1.0), loss="mse")
    kernel = model.layers[0].kernel
    x, y = numpy.ones((8, 4), "float32"), 10 * numpy.ones((8, 3), "float32")
    penalty = float(regularizers.L2()(kernel).data)
    loss = model.train_on_batch(x, y)
    assert loss > penalty > 0
    norms = numpy.sqrt((kernel.data**2).sum(axis=0))
    assert numpy.all(norms <= 0.5 + 1e-6)


# ----------------------------------------------------------------------------------------------
# configs, serialization, get, errors
# ----------------------------------------------------------------------------------------------
CONFIG_CASES = [
    ("regularizers", "L1", {}), ("regularizers", "L1", {"l1": 0.2}), ("regularizers", "L2", {"l2": 3}),
    ("regularizers", "L1L2", {}), ("regularizers", "L1L2", {"l1": 0.1, "l2": None}),
    ("regularizers", "OrthogonalRegularizer", {}), ("regularizers", "OrthogonalRegularizer",
                                                     {"factor": 0.3, "mode": "columns"}),
    ("constraints", "MaxNorm", {}), ("constraints", "MaxNorm", {"max_value": 3.5, "axis": [0, 1]}),
    ("constraints", "NonNeg", {}), ("constraints", "UnitNorm", {"axis": 1}), ("constraints", "MinMaxNorm", {}),
    ("constraints", "MinMaxNorm", {"min_value": 0.5, "max_value": 2.0, "rate": 0.5, "axis": -1}),
    ("constraints", "Constraint", {}),
]


@pytest.mark.parametrize("namespace, cls_name, kwargs", [
    pytest.param(ns, c, k, id=f"{c}-{i}", marks=keras_api(f"{ns}.{c}", f"{ns}.serialize", f"{ns}.deserialize"))
    for i, (ns, c, k) in enumerate(CONFIG_CASES)])
def test_config_and_serialized_form_equal_keras(namespace, cls_name, kwargs):
    keras = keras_or_skip()
    k_obj = getattr(getattr(keras, namespace), cls_name)(**kwargs)
    n_obj = getattr(getattr(nk, namespace), cls_name)(**kwargs)
    assert n_obj.get_config() == k_obj.get_config()
    n_ser, k_ser = getattr(nk, namespace).serialize(n_obj), getattr(keras, namespace).serialize(k_obj)
    assert n_ser == k_ser
    again = getattr(nk, namespace).deserialize(k_ser)
    assert type(again) is type(n_obj) and again.get_config() == n_obj.get_config()
    k_again = getattr(keras, namespace).deserialize(n_ser)
    assert type(k_again).__name__ == cls_name and k_again.get_config() == k_obj.get_config()


@keras_api("regularizers.Regularizer")
def test_regularizer_base_is_zero_and_has_no_config_as_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        assert m.regularizers.Regularizer()(numpy.ones(3)) == 0.0
        with pytest.raises(NotImplementedError):
            m.regularizers.Regularizer().get_config()


GET_CASES = [("regularizers", n) for n in ("l1", "l2", "l1l2", "orthogonal_regularizer", "L1", "L2", "L1L2",
                                           "OrthogonalRegularizer", "regularizer", "Regularizer")] + [
    ("constraints", n) for n in ("max_norm", "non_neg", "unit_norm", "min_max_norm", "MaxNorm", "NonNeg", "UnitNorm",
                                 "MinMaxNorm", "constraint", "Constraint")]


@pytest.mark.parametrize("namespace, name", [pytest.param(ns, n, id=f"{ns}-{n}", marks=keras_api(f"{ns}.get"))
                                             for ns, n in GET_CASES])
def test_get_resolves_names_as_keras(namespace, name):
    keras = keras_or_skip()
    k_obj, n_obj = getattr(keras, namespace).get(name), getattr(nk, namespace).get(name)
    assert type(n_obj).__name__ == type(k_obj).__name__


@keras_api("regularizers.get", "constraints.get")
def test_get_passes_instances_classes_callables_and_configs_and_rejects_the_rest_as_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        for namespace, cls_name, bad_name in (("regularizers", "L2", "l3"), ("constraints", "MaxNorm", "max_nrm")):
            ns = getattr(m, namespace)
            obj = getattr(ns, cls_name)()
            assert ns.get(obj) is obj and ns.get(None) is None
            assert type(ns.get(getattr(ns, cls_name))).__name__ == cls_name

            def fn(w):
                return w

            assert ns.get(fn) is fn
            assert type(ns.get({"class_name": cls_name, "config": {}})).__name__ == cls_name
            with pytest.raises(ValueError, match=f"Could not interpret {namespace[:-1]} identifier"):
                ns.get(bad_name)
            with pytest.raises(ValueError, match=f"Could not interpret {namespace[:-1]} identifier"):
                ns.get(3)


@keras_api("regularizers.get")
def test_l1_l2_name_resolves_where_keras_get_does_not():
    """A deliberate extension: Keras's get() knows "l1l2" (the snake case of L1L2) but not "l1_l2", the name of
    the function ``keras.regularizers.l1_l2``; neuronka accepts both."""
    keras = keras_or_skip()
    with pytest.raises(ValueError):
        keras.regularizers.get("l1_l2")
    assert type(regularizers.get("l1_l2")) is regularizers.L1L2


@keras_api("regularizers.L1", "regularizers.L2", "regularizers.L1L2", "regularizers.OrthogonalRegularizer")
def test_argument_errors_match_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        for cls_name, kwargs in (("L1", {"l1": -0.1}), ("L2", {"l2": float("nan")}), ("L1L2", {"l2": "big"}),
                                 ("OrthogonalRegularizer", {"factor": -1.0}), ("L2", {"l2": float("inf")})):
            with pytest.raises(ValueError, match="Invalid value for argument"):
                getattr(m.regularizers, cls_name)(**kwargs)
        with pytest.raises(ValueError, match="mode"):
            m.regularizers.OrthogonalRegularizer(mode="diagonal")
        with pytest.raises(ValueError, match="rank 2"):
            m.regularizers.OrthogonalRegularizer()(numpy.ones((2, 3, 4), "float32"))


@keras_api("constraints.NonNeg", "constraints.MaxNorm")
def test_constraints_take_arrays_and_tensors():
    w = Inputs(2).normal((4, 3))
    for c in (constraints.NonNeg(), constraints.MaxNorm(0.5), constraints.UnitNorm(), constraints.MinMaxNorm()):
        from_array, from_tensor = c(w), c(nk.Tensor(w))
        assert isinstance(from_array, numpy.ndarray) and isinstance(from_tensor, nk.Tensor)
        assert_same(from_tensor, from_array)

"""The base ``Layer`` contract against real Keras: the same custom layer written on both sides (weights in
Keras's order, config, build config, losses, freezing, errors); ``InputSpec``; ``layers.serialize`` /
``deserialize``; the functional merge forms (``layers.add`` ...); ``Lambda`` with a named function."""
from __future__ import annotations

import json

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .keras_oracle import clear_keras_session, keras_api, keras_or_skip
from .layer_harness_keras import assert_configs_equal


def scaled_shift(x, shift=0.0):
    """A named function for Lambda rows: 2x + shift (named, so that both sides can serialize it)."""
    return x * 2.0 + shift


def make_custom(base):
    """The same layer on top of ``base`` (neuronka's or Keras's Layer): a non-trainable weight created first,
    then a trainable one, then a Dense sub-layer; an activity loss; a regularized weight."""
    dense_cls = base.__module__.startswith("neuronka") and layers.Dense

    class Custom(base):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="w",
                                     regularizer="l2")
            self.proj = (dense_cls or _keras().layers.Dense)(2, name="proj", dtype=self.dtype)
            self.proj.build((None, self.units))

        def call(self, x):
            y = self.proj(x @ self.w)
            self.add_loss((y * y).sum() * 0.01 if hasattr(y, "sum") else None)
            return y

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Custom


def _keras():
    return keras_or_skip()



@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keras's global name counters back to zero after each test (other tests compare default names)."""
    yield
    clear_keras_session()

@keras_api("layers.Layer")
def test_custom_layer_weights_config_build_config_and_losses_match_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    ours = make_custom(layers.Layer)(units=3, name="custom", dtype="float64")
    theirs = make_custom(keras.layers.Layer)(units=3, name="custom", dtype="float64")
    assert_configs_equal(ours.get_config(), theirs.get_config(), "custom layer (unbuilt)")
    x = numpy.random.default_rng(0).standard_normal((4, 5))
    y = ours(x)
    ky = theirs(torch.from_numpy(x))
    names = [w.path.split("/", 1)[1] for w in ours.weights]
    assert names == [w.path.split("/", 1)[1] for w in theirs.weights] == ["w", "count", "proj/kernel", "proj/bias"]
    assert ours.count_params() == theirs.count_params()
    for w, kw in zip(ours.weights, theirs.weights):
        kw.assign(w.numpy())
    y, ky = ours(x), theirs(torch.from_numpy(x))
    assert y.dtype == numpy.float64 and str(ky.dtype) == "torch.float64"
    numpy.testing.assert_allclose(y.numpy(), ky.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert_configs_equal(ours.get_config(), theirs.get_config(), "custom layer")
    assert json.loads(json.dumps(ours.get_build_config())) == json.loads(json.dumps(theirs.get_build_config()))
    # the latest call's activity loss, then the weight regularization (Keras's order)
    numpy.testing.assert_allclose([float(v.numpy()) for v in ours.losses],
                                  [float(v.detach().numpy()) for v in theirs.losses], rtol=1e-6)
    ours.trainable = theirs.trainable = False
    assert ours.trainable_weights == [] and theirs.trainable_weights == []
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.name for w in ours.non_trainable_weights] == [w.name for w in theirs.non_trainable_weights]
    assert len(ours.losses) == len(theirs.losses) == 1  # frozen: the activity loss only, no weight penalty


@keras_api("layers.Layer")
def test_layer_argument_errors_match_keras():
    keras = keras_or_skip()
    for kwargs in ({"foo": 1}, {"trainable": 1}, {"name": "a/b"}):
        with pytest.raises(ValueError) as keras_error:
            keras.layers.Dense(2, **kwargs)
        with pytest.raises(ValueError) as our_error:
            layers.Dense(2, **kwargs)
        assert str(our_error.value).split(":")[0] == str(keras_error.value).split(":")[0]


@keras_api("layers.Layer")
@pytest.mark.parametrize("dtype", [None, "float64", "float16", "int32"])
def test_dtype_policy_config_matches_keras(dtype):
    keras = keras_or_skip()
    ours, theirs = layers.Identity(dtype=dtype), keras.layers.Identity(dtype=dtype)
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
    assert (ours.dtype, ours.compute_dtype, ours.dtype_policy.name) == (
        theirs.dtype, theirs.compute_dtype, theirs.dtype_policy.name)
    policy_dict = theirs.get_config()["dtype"]
    assert layers.Identity(dtype=policy_dict).dtype_policy.name == theirs.dtype_policy.name


@keras_api("layers.InputSpec")
@pytest.mark.parametrize("kwargs", [{}, {"ndim": 3, "axes": {-1: 4}}, {"shape": (None, 3), "dtype": "int32"},
                                    {"min_ndim": 2, "max_ndim": 4, "name": "x", "optional": True}])
def test_input_spec_config_matches_keras(kwargs):
    keras = keras_or_skip()
    ours, theirs = layers.InputSpec(**kwargs), keras.layers.InputSpec(**kwargs)
    assert json.loads(json.dumps(ours.get_config())) == json.loads(json.dumps(theirs.get_config()))
    assert layers.InputSpec.from_config(theirs.get_config()).get_config() == ours.get_config()


@keras_api("layers.serialize", "layers.deserialize")
def test_layers_serialize_and_deserialize_match_keras():
    keras = keras_or_skip()
    ours, theirs = layers.Conv2D(3, 2, name="c"), keras.layers.Conv2D(3, 2, name="c")
    ours.build((None, 5, 5, 2))
    theirs.build((None, 5, 5, 2))
    a, b = json.loads(json.dumps(layers.serialize(ours))), json.loads(json.dumps(keras.layers.serialize(theirs)))
    assert a == b
    assert isinstance(layers.deserialize(b), layers.Conv2D) and layers.deserialize(b).built
    assert isinstance(keras.layers.deserialize(a), keras.layers.Conv2D)
    with pytest.raises(ValueError, match="not a `keras.layers.Layer`"):
        layers.deserialize(nk.initializers.serialize(nk.initializers.Zeros()))


MERGE_FUNCTIONS = [("add", {}), ("subtract", {}), ("multiply", {}), ("average", {}), ("maximum", {}),
                   ("minimum", {}), ("concatenate", {"axis": 1}), ("dot", {"axes": 1, "normalize": True})]


@keras_api(*[f"layers.{name}" for name, _ in MERGE_FUNCTIONS])
@pytest.mark.parametrize("name, kwargs", MERGE_FUNCTIONS, ids=[n for n, _ in MERGE_FUNCTIONS])
def test_functional_merge_forms_match_keras(name, kwargs):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(1)
    xs = [rng.standard_normal((3, 4)).astype(numpy.float32) for _ in range(2)]
    ours = getattr(layers, name)([nk.Tensor(x) for x in xs], **kwargs)
    theirs = getattr(keras.layers, name)([torch.from_numpy(x) for x in xs], **kwargs)
    numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    sym = getattr(layers, name)([layers.Input((4,)), layers.Input((4,))], **kwargs)
    ksym = getattr(keras.layers, name)([keras.Input((4,)), keras.Input((4,))], **kwargs)
    assert tuple(sym.shape) == tuple(ksym.shape)


@keras_api("layers.Lambda")
def test_lambda_with_a_named_function_matches_keras_and_refuses_python_lambdas():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    kwargs = {"function": scaled_shift, "arguments": {"shift": 1.5}, "output_shape": (4,), "name": "lam"}
    with nk.saving.custom_object_scope({"scaled_shift": scaled_shift}):
        ours, theirs = layers.Lambda(**kwargs), keras.layers.Lambda(**kwargs)
        x = numpy.arange(8, dtype=numpy.float32).reshape(2, 4)
        numpy.testing.assert_allclose(ours(x).numpy(), theirs(torch.from_numpy(x)).numpy())
        assert ours.compute_output_shape((None, 4)) == theirs.compute_output_shape((None, 4))
        config, k_config = json.loads(json.dumps(ours.get_config())), json.loads(json.dumps(theirs.get_config()))
        assert config["function"]["config"] == k_config["function"]["config"] == "scaled_shift"
        assert {k: v for k, v in config.items() if k != "function"} == \
            {k: v for k, v in k_config.items() if k != "function"}
        rebuilt = layers.Lambda.from_config(k_config)
        numpy.testing.assert_allclose(rebuilt(x).numpy(), ours(x).numpy())
    with pytest.raises(NotImplementedError, match="Python lambda"):
        layers.Lambda(lambda t: t).get_config()
    bytecode = json.loads(json.dumps(keras.layers.Lambda(lambda t: t + 1).get_config()))
    with pytest.raises(ValueError, match="never runs code from a file"):
        layers.Lambda.from_config(bytecode)


@keras_api("layers.Layer")
def test_a_layer_without_get_config_gets_keras_automatic_config():
    keras = keras_or_skip()

    def plain(base):
        class Plain(base):
            def __init__(self, units=3, act="relu", **kwargs):
                super().__init__(**kwargs)
                self.units = units

        class Opaque(base):
            def __init__(self, fn=None, **kwargs):
                super().__init__(**kwargs)

        return Plain, Opaque

    (ours, our_opaque), (theirs, their_opaque) = plain(layers.Layer), plain(keras.layers.Layer)
    for kwargs in ({}, {"units": 4, "name": "p", "trainable": False}, {"dtype": "float64", "act": None}):
        assert_configs_equal(ours(**kwargs).get_config(), theirs(**kwargs).get_config(), f"auto config {kwargs}")
    with pytest.raises(NotImplementedError, match="non-serializable argument values"):
        their_opaque(fn=len).get_config()
    with pytest.raises(NotImplementedError, match="non-serializable argument values"):
        our_opaque(fn=len).get_config()

"""Ops called on symbolic tensors in a functional model are written and read in Keras's form.

Keras records ``keras.ops.add(x, 3.0)`` as a node of its operation class ``Add`` (module
``keras.src.ops.numpy``), its constructor arguments in the config and its call arguments in the node
(``neuronka/layers/keras_operations.py``). These tests build the same model in both frameworks and check the
configs are equal, that ``.keras`` files move both ways with equal predictions, and that Keras's MobileNetV3
(whose hard-sigmoid is ``ops.add`` / ``ops.multiply``) is saved and loaded.
"""
from __future__ import annotations

import json

import numpy
import pytest

import neuronka as nk
from neuronka.layers import keras_operations
from neuronka.layers.operation import OperationLayer

from .keras_oracle import keras_api, keras_or_skip


def build(k):
    """The same functional model in Keras or neuronka (``k`` is either module): ops with constructor arguments
    (sum, concatenate, reshape, transpose, einsum, clip), call-time constants (add, multiply) and a layer."""
    x = k.Input((4, 3), name="x")
    h = k.ops.multiply(k.layers.ReLU(6.0)(k.ops.add(x, 3.0)), 1.0 / 6.0)
    s = k.ops.sum(h, axis=-1, keepdims=True)
    c = k.ops.concatenate([h, s], axis=-1)
    t = k.ops.transpose(k.ops.reshape(c, (-1, 2, 8)), (0, 2, 1))
    e = k.ops.einsum("bij,bkj->bik", t, t)
    out = k.layers.Dense(2, name="head")(k.ops.clip(k.layers.Flatten()(e), -5.0, 5.0))
    return k.Model(x, out, name="ops_model")


def _layers(config: dict) -> list:
    return json.loads(json.dumps(config["config"]["layers"]))


@keras_api("saving.serialize_keras_object")
def test_a_functional_model_with_ops_serializes_as_keras_does():
    keras = keras_or_skip()
    nk.backend.clear_session()  # automatic names ("add_2") count from the start in both frameworks
    keras.backend.clear_session()
    ours = nk.saving.serialize_keras_object(build(nk))
    theirs = keras.saving.serialize_keras_object(build(keras))
    n_layers, k_layers = _layers(ours), _layers(theirs)
    assert [(lay["class_name"], lay["module"]) for lay in n_layers] == \
        [(lay["class_name"], lay["module"]) for lay in k_layers]
    for n_layer, k_layer in zip(n_layers, k_layers):
        if k_layer["module"].startswith("keras.src.ops."):  # the op nodes: config and call arguments exactly
            assert n_layer == k_layer, k_layer["class_name"]


def _copy_weights(src, dst):
    dst.set_weights([numpy.asarray(w) for w in src.get_weights()])


@keras_api("saving.load_model")
def test_a_keras_file_with_ops_loads_in_neuronka_and_predicts_the_same(tmp_path):
    keras = keras_or_skip()
    model = build(keras)
    path = tmp_path / "ops.keras"
    model.save(str(path))
    loaded = nk.saving.load_model(str(path))
    x = numpy.random.default_rng(0).standard_normal((5, 4, 3)).astype(numpy.float32)
    numpy.testing.assert_allclose(loaded.predict(x, verbose=0), numpy.asarray(model.predict(x, verbose=0)),
                                  rtol=1e-5, atol=1e-6)
    assert sum(isinstance(layer, OperationLayer) for layer in loaded._layers) == 8  # add … clip


@keras_api("saving.load_model")
def test_a_neuronka_file_with_ops_loads_in_keras_and_predicts_the_same(tmp_path):
    keras = keras_or_skip()
    model = build(nk)
    path = tmp_path / "ops.keras"
    model.save(str(path))
    loaded = keras.saving.load_model(str(path))
    x = numpy.random.default_rng(1).standard_normal((5, 4, 3)).astype(numpy.float32)
    numpy.testing.assert_allclose(numpy.asarray(loaded.predict(x, verbose=0)), model.predict(x, verbose=0),
                                  rtol=1e-5, atol=1e-6)


def test_a_round_trip_in_neuronka_keeps_the_graph_and_the_outputs(tmp_path):
    model = build(nk)
    path = tmp_path / "ops.keras"
    model.save(str(path))
    loaded = nk.saving.load_model(str(path))
    x = numpy.random.default_rng(2).standard_normal((3, 4, 3)).astype(numpy.float32)
    numpy.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert _layers(nk.saving.serialize_keras_object(loaded)) == _layers(nk.saving.serialize_keras_object(model))


@keras_api("applications.MobileNetV3Small")
def test_mobilenet_v3_moves_between_keras_and_neuronka(tmp_path):
    keras = keras_or_skip()
    theirs = keras.applications.MobileNetV3Small(weights=None, input_shape=(64, 64, 3), classes=10)
    ours = nk.applications.MobileNetV3Small(weights=None, input_shape=(64, 64, 3), classes=10)
    _copy_weights(theirs, ours)
    x = numpy.random.default_rng(3).uniform(0, 255, (2, 64, 64, 3)).astype(numpy.float32)
    expected = numpy.asarray(theirs.predict(x, verbose=0))
    keras_file, our_file = tmp_path / "keras.keras", tmp_path / "ours.keras"
    theirs.save(str(keras_file))
    ours.save(str(our_file))
    numpy.testing.assert_allclose(nk.saving.load_model(str(keras_file)).predict(x, verbose=0), expected,
                                  rtol=1e-4, atol=1e-5)
    numpy.testing.assert_allclose(numpy.asarray(keras.saving.load_model(str(our_file)).predict(x, verbose=0)),
                                  expected, rtol=1e-4, atol=1e-5)


def test_the_table_names_a_neuronka_function_for_every_keras_operation():
    for class_name, entry in keras_operations.table().items():
        fn, _ = keras_operations.function_of(class_name, {"name": "op"})
        assert fn.__name__ == entry["function"], class_name
    assert keras_operations.class_of(nk.ops.absolute.__wrapped__, "absolute")["class_name"] == "Absolute"


def test_an_unknown_operation_class_or_argument_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown Keras operation class 'Frobnicate'"):
        keras_operations.function_of("Frobnicate", {"name": "f"})
    with pytest.raises(ValueError, match="unexpected config keys \\['bogus'\\]"):
        keras_operations.function_of("Sum", {"name": "s", "axis": 1, "bogus": 2})
    config = {"module": "keras.src.ops.numpy", "class_name": "Frobnicate", "config": {"name": "f"},
              "registered_name": "Frobnicate"}
    with pytest.raises(ValueError, match="Frobnicate"):
        nk.models.model.deserialize_layer(config)


def test_an_op_keras_does_not_have_cannot_be_saved_and_says_which():
    x = nk.Input((3,))

    def custom(v):
        return v * 2.0

    from neuronka.layers.operation import symbolic_op_call

    y = symbolic_op_call(custom, (x,), {})
    model = nk.Model(x, y)
    with pytest.raises(NotImplementedError, match="ops.custom .*no operation class"):
        nk.saving.serialize_keras_object(model)

"""The lookup and encoding preprocessing layers against real Keras 3.15.1: StringLookup, IntegerLookup, Hashing,
HashedCrossing, Discretization, CategoryEncoding.

Keras's StringLookup, IntegerLookup, Hashing, HashedCrossing and Discretization.adapt need TensorFlow even on
its torch backend, and the test environment has none: their answers were recorded from real Keras (with
tensorflow-cpu installed beside it) by ``tests/keras_tf_oracle.py`` into ``tests/data/keras_lookup_oracle.json``
— configs, vocabularies, idf weights, outputs (values, dtypes, shapes) for every output mode, OOV and mask
handling, inversion, adapt results, errors, ``compute_output_shape`` — and every recorded case is replayed here
on neuronka. Where TensorFlow is importable, ``test_recording_is_what_keras_answers_now`` (slow) re-runs Keras
live on every case. CategoryEncoding and Discretization with given boundaries run in Keras without TensorFlow and
are compared live (the layer harness, and direct comparisons). ``.keras`` files: one written by Keras
(``tests/data/keras_lookup_model.keras``) is read, neuronka's are read back, and — with TensorFlow — read by Keras.
"""
from __future__ import annotations

import json
import os
import re
import zipfile

import numpy
import pytest

import neuronka as nk
from neuronka import layers
from neuronka.layers.hash_functions import fingerprint64, fingerprint_cat64, siphash64

from .keras_oracle import keras_api, keras_or_skip
from .keras_tf_oracle import DATA_PATH, MODEL_CALLS, MODEL_PATH, build_model, describe, model_layer_outputs, run_case
from .layer_harness import LayerCase, layer_cases
from .layer_harness_keras import assert_configs_equal

with open(DATA_PATH, encoding="utf-8") as _f:
    ORACLE = json.load(_f)


@pytest.fixture(autouse=True)
def _fresh_names():
    """Layer counters back to zero before each test (configs hold default names)."""
    nk.backend.clear_session()
    yield


def _strip_counters(obj):
    if isinstance(obj, dict):
        return {k: (re.sub(r"_\d+$", "", v) if k == "name" and isinstance(v, str) else _strip_counters(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip_counters(v) for v in obj]
    return obj


def assert_output_equal(ours: dict, theirs: dict, what: str) -> None:
    """A described output (or error) equal to Keras's: the exception class, or dtype, shape and values."""
    if "error" in theirs or "error" in ours:
        assert ours.get("error") == theirs.get("error"), f"{what}: neuronka {ours}, Keras {theirs}"
        return
    assert (ours["dt"], ours["shape"]) == (theirs["dt"], theirs["shape"]), (
        f"{what}: dtype/shape {ours['dt']} {ours['shape']}, Keras's {theirs['dt']} {theirs['shape']}")
    if theirs["dt"] in ("str", "bool") or theirs["dt"].startswith(("int", "uint")):
        assert ours["v"] == theirs["v"], f"{what}: {str(ours['v'])[:300]}\nKeras's {str(theirs['v'])[:300]}"
    else:
        numpy.testing.assert_allclose(ours["v"], theirs["v"], rtol=1e-6, atol=1e-7, err_msg=what)


def assert_same_answers(ours: dict, theirs: dict, what: str) -> None:
    """Everything a recorded case holds: errors, config (in Keras's key order), vocabulary, idf weights, outputs."""
    for step in ("init", "adapt"):
        if step in theirs or step in ours:
            assert (ours.get(step) or {}).get("error") == (theirs.get(step) or {}).get("error"), (
                f"{what}: {step}: neuronka {ours.get(step)}, Keras {theirs.get(step)}")
    if "init" in theirs or "adapt" in theirs:
        return
    assert _strip_counters(ours["config"]) == _strip_counters(theirs["config"]), (
        f"{what}: config\n{ours['config']}\nKeras's\n{theirs['config']}")
    assert list(ours["config"]) == list(theirs["config"]), f"{what}: config key order"
    for key in ("vocabulary", "vocabulary_size", "output_shapes"):
        assert ours.get(key) == theirs.get(key), f"{what}: {key} {ours.get(key)}, Keras's {theirs.get(key)}"
    if "idf_weights" in theirs or "idf_weights" in ours:
        numpy.testing.assert_allclose(ours["idf_weights"], theirs["idf_weights"], rtol=1e-6, err_msg=what)
    assert len(ours["calls"]) == len(theirs["calls"])
    for i, (a, b) in enumerate(zip(ours["calls"], theirs["calls"])):
        assert_output_equal(a, b, f"{what}: call {i}")


def _oracle_params():
    return [pytest.param(case, id=case["id"], marks=keras_api(f"layers.{case['layer']}")) for case in ORACLE]


@pytest.mark.parametrize("case", _oracle_params())
def test_layer_answers_what_keras_answered(case, tmp_path):
    assert_same_answers(run_case(layers, case, str(tmp_path)), case["keras"], case["id"])


@pytest.mark.slow
@keras_api("layers.StringLookup", "layers.IntegerLookup", "layers.Hashing", "layers.HashedCrossing",
           "layers.Discretization")
def test_recording_is_what_keras_answers_now(tmp_path):
    pytest.importorskip("tensorflow", reason="Keras's lookup and hashing layers need TensorFlow")
    keras = keras_or_skip()
    for case in ORACLE:
        keras.backend.clear_session()
        assert_same_answers(run_case(keras.layers, case, str(tmp_path)), case["keras"], f"live Keras: {case['id']}")


# ---- the hashes, on their own --------------------------------------------------------------------------------
def test_hashes_of_known_values():
    """Bins of the recorded Keras answers pinned as plain numbers: fingerprint64("a") mod 5 = 4 etc."""
    assert (fingerprint64([b"a", b"b", b"hello"]) % numpy.uint64(2**63 - 1)).tolist() == [
        3694432073954588132, 2572224033622389015, 3786372426573024489]  # tf.strings.to_hash_bucket_fast
    assert fingerprint64([b""]).tolist() == [0x9AE16A3B2F90404F]  # the empty string hashes to k2
    cross = fingerprint_cat64(fingerprint_cat64(numpy.uint64(0xDECAFCAFFE), numpy.uint64(1)), fingerprint64([b"a"]))
    assert int(cross[0]) % (2**63 - 1) == 6586076667385110638  # tf.sparse.cross_hashed([[1]], [["a"]])
    assert siphash64([b"x", b"y"], [5, 5]).dtype == numpy.uint64


# ---- CategoryEncoding and Discretization: live Keras ---------------------------------------------------------
def indices(high, dtype="int64"):
    def make(rng, shape):
        return rng.integers(0, high, shape).astype(dtype)

    return make


CASES = [
    LayerCase("category_encoding_multi_hot", layers.CategoryEncoding, {"num_tokens": 6}, (3, 4), keras=True,
              input_maker=indices(6), check_input_grads=False),
    LayerCase("category_encoding_one_hot", layers.CategoryEncoding, {"num_tokens": 5, "output_mode": "one_hot"},
              (4, 1), keras=True, input_maker=indices(5, "int32"), check_input_grads=False),
    LayerCase("category_encoding_one_hot_2d", layers.CategoryEncoding, {"num_tokens": 5, "output_mode": "one_hot"},
              (2, 3), keras=True, input_maker=indices(5), check_input_grads=False),
    LayerCase("category_encoding_count", layers.CategoryEncoding, {"num_tokens": 4, "output_mode": "count"},
              (3, 5), keras=True, input_maker=indices(4), check_input_grads=False),
    LayerCase("category_encoding_count_weights", layers.CategoryEncoding, {"num_tokens": 4, "output_mode": "count"},
              (2, 3), keras=True, input_maker=indices(4), check_input_grads=False,
              keras_call_kwargs={"count_weights": numpy.array([[0.5, 1.0, 2.0], [3.0, -1.0, 0.25]], "float32")}),
    LayerCase("category_encoding_binary_float64", layers.CategoryEncoding,
              {"num_tokens": 3, "output_mode": "binary", "dtype": "float64"}, (2, 2), keras=True,
              input_maker=indices(3), check_input_grads=False),
]


@layer_cases(CASES)
def test_category_encoding_matches_keras(case):
    case.run()


@keras_api("layers.CategoryEncoding")
def test_category_encoding_count_weights_gradient_matches_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    x = numpy.array([[0, 1, 1], [3, 3, 2]])
    w = numpy.array([[0.5, 1.0, 2.0], [3.0, -1.0, 0.25]], "float32")
    g = numpy.arange(8, dtype="float32").reshape(2, 4)
    tw = nk.Tensor(w, requires_grad=True)
    y = layers.CategoryEncoding(num_tokens=4, output_mode="count")(x, count_weights=tw)
    nk.ops.sum(y * g).backward()
    kw = torch.from_numpy(w).requires_grad_(True)
    ky = keras.layers.CategoryEncoding(num_tokens=4, output_mode="count")(torch.from_numpy(x), count_weights=kw)
    (ky * torch.from_numpy(g)).sum().backward()
    numpy.testing.assert_allclose(y.numpy(), ky.detach().numpy())
    numpy.testing.assert_allclose(numpy.asarray(tw.grad), kw.grad.numpy())  # ∂L/∂w_i = g[row, x_i]


def test_category_encoding_refuses_out_of_range_and_non_count_weights():
    with pytest.raises(ValueError, match=r"num_tokens=3"):
        layers.CategoryEncoding(num_tokens=3)(numpy.array([[0, 3]]))
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(num_tokens=3)(numpy.array([[0, 1]]), count_weights=numpy.ones((1, 2)))
    with pytest.raises(ValueError, match="sparse"):
        layers.CategoryEncoding(num_tokens=3, sparse=True)


DISCRETIZATION = [
    ({"bin_boundaries": [-1.0, 0.0, 1.5]}, (3, 4)),
    ({"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, (4, 1)),
    ({"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, (2, 3)),
    ({"bin_boundaries": [-0.5, 0.5], "output_mode": "multi_hot"}, (3, 4)),
    ({"bin_boundaries": [-0.5, 0.5], "output_mode": "count"}, (2, 3, 4)),
    ({"bin_boundaries": [0.25], "output_mode": "count"}, (5,)),
    ({"bin_boundaries": [], "output_mode": "int"}, (2, 2)),
]


@keras_api("layers.Discretization")
@pytest.mark.parametrize("kwargs, shape", DISCRETIZATION, ids=[f"{k.get('output_mode', 'int')}-{len(s)}d-{i}"
                                                                for i, (k, s) in enumerate(DISCRETIZATION)])
def test_discretization_with_boundaries_matches_keras(kwargs, shape):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    x.reshape(-1)[:2] = [0.0, 1.0]  # values on boundaries: bins[i-1] <= x < bins[i]
    ours, theirs = layers.Discretization(**kwargs), keras.layers.Discretization(**kwargs)
    assert_configs_equal(ours.get_config(), theirs.get_config(), f"Discretization({kwargs})")
    tx = nk.Tensor(x, requires_grad=True)
    y, ky = ours(tx), theirs(torch.from_numpy(x))
    assert not y.requires_grad  # a step function of x: no gradient, as in Keras
    assert y.dtype == ky.detach().numpy().dtype and y.shape == tuple(ky.shape)
    numpy.testing.assert_array_equal(y.numpy(), ky.detach().numpy())
    assert_configs_equal(ours.get_config(), theirs.get_config(), f"Discretization({kwargs}), called")
    for batch_shape in [(None, *shape[1:])]:
        assert tuple(ours.compute_output_shape(batch_shape)) == tuple(theirs.compute_output_shape(batch_shape))
    rebuilt = layers.Discretization.from_config(json.loads(json.dumps(theirs.get_config())))
    assert_configs_equal(rebuilt.get_config(), theirs.get_config(), "from_config(Keras's config)")
    k_rebuilt = keras.saving.deserialize_keras_object(nk.saving.serialize_keras_object(ours))
    assert_configs_equal(ours.get_config(), k_rebuilt.get_config(), "Keras's deserialize(neuronka's dict)")


@keras_api("layers.Discretization")
def test_discretization_adapted_config_loads_in_keras_and_back():
    keras = keras_or_skip()
    ours = layers.Discretization(num_bins=4)
    ours.adapt(numpy.arange(100, dtype="float32"))
    config = json.loads(json.dumps(ours.get_config()))
    theirs = keras.layers.Discretization.from_config(config)
    assert theirs.bin_boundaries == ours.bin_boundaries and theirs.num_bins == 4
    x = numpy.array([[1.0, 24.5, 50.0, 99.0]], "float32")
    numpy.testing.assert_array_equal(ours(x).numpy(), theirs(x).numpy())
    back = layers.Discretization.from_config(theirs.get_config())
    assert back.bin_boundaries == ours.bin_boundaries


# ---- calling conventions neuronka adds: symbolic inputs, tensors, no gradients --------------------------------
def test_lookup_layers_in_a_functional_model_with_string_inputs():
    words = layers.Input(shape=(2,), dtype="string")
    lookup = layers.StringLookup(vocabulary=["a", "b"])
    hot = layers.CategoryEncoding(num_tokens=3, output_mode="multi_hot")
    ids = lookup(words)
    assert ids.dtype == "int64" and ids.shape == (None, 2)
    model = nk.Model(words, hot(ids))
    out = model(numpy.array([["a", "q"], ["b", "b"]]))
    numpy.testing.assert_array_equal(out.numpy(), [[1, 1, 0], [0, 0, 1]])
    inverted = layers.StringLookup(vocabulary=["a", "b"], invert=True)(layers.Input(shape=(2,), dtype="int64"))
    assert inverted.dtype == "string"
    tf_idf = layers.StringLookup(vocabulary=["a"], output_mode="tf_idf", idf_weights=[2.0])(words)
    assert tf_idf.dtype == "float32" and tf_idf.shape == (None, 2)


def test_outputs_carry_no_graph():
    x = nk.Tensor(numpy.array([[0.5, -1.0]], "float32"), requires_grad=True)
    for layer in (layers.Discretization(bin_boundaries=[0.0], output_mode="one_hot"),
                  layers.Hashing(num_bins=3, output_mode="count"), layers.IntegerLookup(vocabulary=[1, 2])):
        y = layer(x)
        assert isinstance(y, nk.Tensor) and not y.requires_grad, type(layer).__name__


def test_inverted_string_lookup_keeps_the_input_shape():
    """Keras's torch backend returns a Python list and fails beyond one axis; here a Tensor of strings of the
    input's shape (the TensorFlow backend's answer)."""
    layer = layers.StringLookup(vocabulary=["a", "b"], invert=True)
    out = layer(numpy.array([[0, 1], [2, 3]]))
    assert out.numpy().tolist() == [["[UNK]", "a"], ["b", "[UNK]"]]


def test_adapt_reads_a_neuronka_dataset():
    data = numpy.array(["x", "y", "y", "z", "z", "z"])
    dataset = nk.utils.Dataset(len(data), lambda idx, batched=True: data[idx], batch_size=4)
    layer = layers.StringLookup()
    layer.adapt(dataset)
    assert layer.get_vocabulary() == ["[UNK]", "z", "y", "x"]
    bins = layers.Discretization(num_bins=2)
    values = numpy.arange(10, dtype="float32")
    bins.adapt(nk.utils.Dataset(10, lambda idx, batched=True: values[idx], batch_size=5))
    assert bins.bin_boundaries == [4.0]


# ---- .keras files -----------------------------------------------------------------------------------------------
def _assert_model_layers_as_recorded(model, expected: dict) -> None:
    got = model_layer_outputs(model)
    for name, want in expected.items():
        extra = "vocabulary" if "vocabulary" in want else "bin_boundaries"
        assert got[name][extra] == want[extra], f"{name}: {extra} {got[name][extra]}, expected {want[extra]}"
        assert_output_equal(got[name], want, name)


@keras_api("layers.StringLookup", "layers.IntegerLookup", "layers.Discretization")
def test_keras_written_file_loads_with_its_vocabularies_and_boundaries():
    with open(MODEL_PATH + ".json", encoding="utf-8") as f:
        expected = json.load(f)
    model = nk.saving.load_model(MODEL_PATH)
    _assert_model_layers_as_recorded(model, expected)


def test_neuronka_file_holds_the_vocabulary_as_keras_does_and_reads_back(tmp_path):
    with open(MODEL_PATH + ".json", encoding="utf-8") as f:
        expected = json.load(f)
    model = build_model(nk)
    _assert_model_layers_as_recorded(model, expected)  # the same adapt data gives Keras's state
    path = str(tmp_path / "lookups.keras")
    model.save(path)
    names = zipfile.ZipFile(path).namelist()
    assert sorted(n for n in names if n.startswith("assets/")) == sorted(
        n for n in zipfile.ZipFile(MODEL_PATH).namelist() if n.startswith("assets/"))
    _assert_model_layers_as_recorded(nk.saving.load_model(path), expected)
    folder = str(tmp_path / "folder")
    nk.saving.save_model(model, folder, zipped=False)
    assert os.path.isfile(os.path.join(folder, "assets", "layers", "string_lookup", "vocabulary.txt"))
    _assert_model_layers_as_recorded(nk.saving.load_model(folder), expected)


@keras_api("layers.StringLookup", "layers.IntegerLookup", "layers.Discretization")
def test_keras_reads_the_neuronka_file(tmp_path):
    pytest.importorskip("tensorflow", reason="Keras's lookup layers need TensorFlow")
    keras = keras_or_skip()
    with open(MODEL_PATH + ".json", encoding="utf-8") as f:
        expected = json.load(f)
    path = str(tmp_path / "lookups.keras")
    build_model(nk).save(path)
    _assert_model_layers_as_recorded(keras.saving.load_model(path), expected)


def test_model_calls_describe_like_keras():
    """The JSON the file tests compare is the same description on both sides."""
    assert describe(nk.Tensor(numpy.array(MODEL_CALLS["ints"])))["dt"] == "int64"

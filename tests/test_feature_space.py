"""``keras.utils.FeatureSpace`` against real Keras 3.15.1 and hand-computed expectations.

Keras's FeatureSpace needs TensorFlow to adapt and to be called (``tf.data``, its lookup layers), so its answers
for one feature space of every feature type — configs before and after adapt, learned vocabularies, boundaries
and normalization statistics, the encoded features' shapes, the encodings of a batch and of a single sample, in
"concat" and "dict" modes — were recorded by ``tests/keras_tf_oracle.py`` (with TensorFlow) into
``tests/data/keras_feature_space.json`` and are compared here. The parts of Keras's FeatureSpace that run without
TensorFlow (one of float features: construction, config, serialization both ways) are compared live; adapting on
a neuronka ``Dataset``, the functional model of ``get_inputs``/``get_encoded_features``, ``.keras`` round trips
and the errors are checked against hand-computed expectations.
"""
from __future__ import annotations

import json
import re

import numpy
import pytest

import neuronka as nk
from neuronka.utils import FeatureSpace

from .keras_oracle import keras_api, keras_or_skip
from .keras_tf_oracle import (
    FEATURE_SPACE_FILE,
    FEATURE_SPACE_PATH,
    build_feature_space,
    feature_space_answers,
    feature_space_data,
    save_feature_space,
)
from .layer_harness_keras import assert_configs_equal

with open(FEATURE_SPACE_PATH, encoding="utf-8") as _f:
    RECORDED = json.load(_f)


@pytest.fixture(autouse=True)
def _fresh_names():
    nk.backend.clear_session()
    yield


def _strip(obj):
    if isinstance(obj, dict):
        return {k: (re.sub(r"_\d+$", "", v) if k == "name" and isinstance(v, str) else _strip(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _without_build_configs(obj):
    """Configs without ``build_config`` entries (Keras builds its sub-layers at other moments than neuronka)."""
    if isinstance(obj, dict):
        return {k: _without_build_configs(v) for k, v in obj.items() if k != "build_config"}
    if isinstance(obj, list):
        return [_without_build_configs(v) for v in obj]
    return obj


def _assert_encoded_equal(ours: dict, theirs: dict, what: str) -> None:
    assert (ours["dt"], ours["shape"]) == (theirs["dt"], theirs["shape"]), (
        f"{what}: {ours['dt']} {ours['shape']}, Keras's {theirs['dt']} {theirs['shape']}")
    numpy.testing.assert_allclose(ours["v"], theirs["v"], rtol=1e-5, atol=1e-6, err_msg=what)


@keras_api("utils.FeatureSpace")
@pytest.mark.parametrize("mode", ["concat", "dict"])
def test_feature_space_answers_what_keras_answered(mode):
    ours, theirs = feature_space_answers(nk.utils)[mode], RECORDED[mode]
    for key in ("config", "adapted_config"):
        a, b = _without_build_configs(_strip(ours[key])), _without_build_configs(_strip(theirs[key]))
        assert a == b, f"{mode}: {key}\n{a}\nKeras's\n{b}"
        assert_configs_equal(a, b, f"{mode}: {key}")  # key order too
    assert ours["vocabularies"] == theirs["vocabularies"]
    assert ours["bin_boundaries"] == theirs["bin_boundaries"]
    numpy.testing.assert_allclose(ours["normalization"], theirs["normalization"], rtol=1e-5)
    assert ours["encoded_shapes"] == theirs["encoded_shapes"]
    for key in ("batch", "one"):
        if mode == "dict":
            assert sorted(ours[key]) == sorted(theirs[key])
            for name in theirs[key]:
                _assert_encoded_equal(ours[key][name], theirs[key][name], f"{mode}: {key}[{name!r}]")
        else:
            _assert_encoded_equal(ours[key], theirs[key], f"{mode}: {key}")


@keras_api("utils.FeatureSpace")
def test_float_feature_space_config_and_serialization_match_keras_live():
    keras = keras_or_skip()

    def make(utils):
        fs = utils.FeatureSpace
        return fs(features={"a": "float", "b": fs.float_rescaled(scale=2.0, name="b"),
                            "c": fs.float_discretized(num_bins=3, bin_boundaries=None, name="c"),
                            "d": "float_normalized"}, output_mode="dict", hashing_dim=8)

    ours, theirs = make(nk.utils), make(keras.utils)
    assert_configs_equal(_strip(ours.get_config()), _strip(theirs.get_config()), "FeatureSpace config")
    k_dict = keras.saving.serialize_keras_object(theirs)
    n_dict = nk.saving.serialize_keras_object(ours)
    assert_configs_equal(_strip(n_dict), _strip(k_dict), "serialize_keras_object(FeatureSpace)")
    rebuilt = nk.saving.deserialize_keras_object(json.loads(json.dumps(k_dict)))
    assert isinstance(rebuilt, FeatureSpace)
    assert_configs_equal(_strip(rebuilt.get_config()), _strip(theirs.get_config()), "neuronka from Keras's dict")
    k_rebuilt = keras.saving.deserialize_keras_object(json.loads(json.dumps(n_dict)))
    assert type(k_rebuilt).__name__ == "FeatureSpace"
    assert_configs_equal(_strip(k_rebuilt.get_config()), _strip(ours.get_config()), "Keras from neuronka's dict")


# ---- hand-computed expectations ---------------------------------------------------------------------------------
def _small():
    return FeatureSpace(features={"s": "string_categorical", "x": "float_normalized",
                                  "n": FeatureSpace.integer_categorical(name="n")},
                        crosses=[FeatureSpace.cross(("s", "n"), crossing_dim=4)], output_mode="concat")


SMALL = {"s": ["a", "b", "a", "a"], "x": numpy.array([1.0, 2.0, 3.0, 6.0], "float32"), "n": [7, 7, 8, 9]}


def test_small_feature_space_by_hand():
    fs = FeatureSpace(features={"s": "string_categorical", "x": "float_normalized"}, output_mode="concat")
    fs.adapt(SMALL)
    assert fs.preprocessors["s"].get_vocabulary() == ["[UNK]", "a", "b"]
    out = fs({"s": ["b", "q"], "x": [3.0, 0.0]}).numpy()
    std = numpy.std([1.0, 2.0, 3.0, 6.0])
    expected = [[0, 0, 1, (3.0 - 3.0) / std], [1, 0, 0, (0.0 - 3.0) / std]]  # sorted names: s (multi-hot), x
    numpy.testing.assert_allclose(out, expected, rtol=1e-6)
    one = fs({"s": "a", "x": 6.0}).numpy()  # one sample: no batch axis
    numpy.testing.assert_allclose(one, [0, 1, 0, (6.0 - 3.0) / std], rtol=1e-6)


def test_dict_mode_int_feature_and_cross_are_left_as_indices():
    fs = FeatureSpace(features={"s": "string_categorical", "n": FeatureSpace.integer_categorical(output_mode="int",
                                                                                                   name="n")},
                      crosses=[FeatureSpace.cross(("s", "n"), crossing_dim=4, output_mode="int")], output_mode="dict")
    fs.adapt(SMALL)
    out = fs({"s": ["a", "b"], "n": [7, 100]})
    assert sorted(out) == ["n", "s", "s_X_n"]
    assert out["n"].numpy().tolist() == [[1], [0]]  # 7 is the most frequent: index 1; 100 is OOV: 0
    assert out["s"].numpy().tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    crossed = out["s_X_n"].numpy()
    assert crossed.dtype == numpy.int64 and crossed.shape == (2, 1) and ((crossed >= 0) & (crossed < 4)).all()
    again = nk.layers.HashedCrossing(num_bins=4)([numpy.array([[1], [2]]), numpy.array([[1], [0]])])
    assert crossed.tolist() == again.numpy().tolist()  # the cross of the preprocessed features


def test_adapt_on_a_neuronka_dataset_equals_adapt_on_the_dict():
    data = {k: numpy.asarray(v) for k, v in SMALL.items()}

    def load(idx, batched=True):
        return {k: v[idx] for k, v in data.items()}

    from_dict, from_dataset = _small(), _small()
    from_dict.adapt(SMALL)
    from_dataset.adapt(nk.utils.Dataset(4, load, batch_size=3))
    for name in ("s", "n"):
        assert from_dict.preprocessors[name].get_vocabulary() == from_dataset.preprocessors[name].get_vocabulary()
    numpy.testing.assert_allclose(from_dict.preprocessors["x"].adapt_mean.numpy(),
                                  from_dataset.preprocessors["x"].adapt_mean.numpy(), rtol=1e-6)
    batch = {"s": ["a", "z"], "x": [1.0, 2.0], "n": [9, 7]}
    numpy.testing.assert_allclose(from_dict(batch).numpy(), from_dataset(batch).numpy(), rtol=1e-6)


def test_inputs_and_encoded_features_make_a_model_that_encodes_the_same():
    fs = _small()
    fs.adapt(SMALL)
    inputs = fs.get_inputs()
    assert {k: (v.shape, v.dtype) for k, v in inputs.items()} == {
        "s": ((None, 1), "string"), "x": ((None, 1), "float32"), "n": ((None, 1), "int32")}
    encoded = fs.get_encoded_features()
    assert encoded.shape == (None, 4 + 3 + 1 + 4) and encoded.dtype == "float32"  # n, s, x, then s_X_n
    model = nk.Model(inputs, encoded)
    batch = {"s": numpy.array([["a"], ["b"]]), "x": numpy.array([[1.0], [5.0]], "float32"),
             "n": numpy.array([[7], [9]])}
    numpy.testing.assert_allclose(model(batch).numpy(), fs(batch).numpy(), rtol=1e-6)


def test_concat_refuses_an_unencoded_integer_feature():
    fs = FeatureSpace(features={"n": FeatureSpace.integer_categorical(output_mode="int", name="n")})
    with pytest.raises(ValueError, match="Cannot concatenate features because feature 'n' has not been encoded"):
        fs.adapt({"n": [1, 2]})


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="cannot be None or empty"):
        FeatureSpace(features={})
    with pytest.raises(ValueError, match="Invalid feature type: float64"):
        FeatureSpace(features={"a": "float64"})
    with pytest.raises(ValueError, match="unknown features"):
        FeatureSpace(features={"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace(features={"a": "float"}, output_mode="list")
    fs = FeatureSpace(features={"s": "string_categorical"})
    with pytest.raises(ValueError, match=r"call `\.adapt\(dataset\)`"):
        fs({"s": ["a"]})
    with pytest.raises(ValueError, match="dict of arrays"):
        fs.adapt(numpy.array(["a"]))
    fs.adapt({"s": ["a"]})
    with pytest.raises(ValueError, match="can only be called with a dict"):
        fs(["a"])


def test_float_only_feature_space_needs_no_adapt():
    fs = FeatureSpace(features={"a": "float", "b": FeatureSpace.float_rescaled(scale=10.0, name="b")})
    out = fs({"a": [1.0, 2.0], "b": [0.5, 0.25]}).numpy()
    numpy.testing.assert_allclose(out, [[1.0, 5.0], [2.0, 2.5]])


@pytest.mark.parametrize("mode", ["concat", "dict"])
def test_saved_feature_space_reads_back_and_encodes_the_same(tmp_path, mode):
    fs = build_feature_space(nk.utils, mode)
    data = feature_space_data()
    fs.adapt(data)
    path = str(tmp_path / "features.keras")
    fs.save(path)
    loaded = nk.saving.load_model(path)
    assert isinstance(loaded, FeatureSpace)
    assert loaded.preprocessors["city"].get_vocabulary() == fs.preprocessors["city"].get_vocabulary()
    batch = {k: v[:5] for k, v in data.items()}
    ours, back = fs(batch), loaded(batch)
    if mode == "dict":
        for name in ours:
            numpy.testing.assert_allclose(back[name].numpy(), ours[name].numpy(), rtol=1e-6, err_msg=name)
    else:
        numpy.testing.assert_allclose(back.numpy(), ours.numpy(), rtol=1e-6)


@keras_api("utils.FeatureSpace")
def test_keras_written_feature_space_file_loads_and_encodes_as_keras_did():
    loaded = nk.saving.load_model(FEATURE_SPACE_FILE)
    assert isinstance(loaded, FeatureSpace)
    data = feature_space_data()
    assert loaded.preprocessors["city"].get_vocabulary() == RECORDED["concat"]["vocabularies"]["city"]
    assert loaded.preprocessors["income"].bin_boundaries == RECORDED["concat"]["bin_boundaries"]
    encoded = loaded({k: v[:8] for k, v in data.items()}).numpy()
    numpy.testing.assert_allclose(encoded, RECORDED["concat"]["batch"]["v"], rtol=1e-5, atol=1e-6)


@keras_api("utils.FeatureSpace")
def test_keras_reads_the_neuronka_feature_space_file(tmp_path):
    pytest.importorskip("tensorflow", reason="Keras's FeatureSpace needs TensorFlow")
    keras = keras_or_skip()
    path = str(tmp_path / "features.keras")
    ours = save_feature_space(nk.utils, path)
    theirs = keras.saving.load_model(path)
    batch = {k: v[:8] for k, v in feature_space_data().items()}
    numpy.testing.assert_allclose(numpy.asarray(theirs(batch)), ours(batch).numpy(), rtol=1e-5, atol=1e-6)

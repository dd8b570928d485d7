"""Keras's TensorFlow-bound preprocessing layers as a recorded oracle.

Keras 3.15.1's ``StringLookup``, ``IntegerLookup``, ``Hashing``, ``HashedCrossing`` (and ``Discretization.adapt``,
which looks for ``tf.data``) need TensorFlow even on the torch backend, and the test environment has none. So
their behaviour is recorded once, by running this module with a Python that has ``tensorflow-cpu`` next to
Keras 3.15.1 (``KERAS_BACKEND=torch``)::

    python -m venv --system-site-packages /tmp/tforacle && /tmp/tforacle/bin/pip install tensorflow-cpu
    /tmp/tforacle/bin/python -m tests.keras_tf_oracle          # writes tests/data/keras_lookup_oracle.json

The JSON holds, for every case of :data:`CASES`: the layer, its arguments, the data it adapts on, the inputs it
is called on, and what Keras answered — outputs (values, dtype, shape) or the exception's class, the config,
vocabulary, ``compute_output_shape``. ``tests/test_layers_keras_lookup.py`` replays every case on neuronka and
compares; when TensorFlow is importable it also re-runs Keras live and checks that the recording is current.

Data specs (JSON-able): ``{"v": nested list, "dt": dtype}`` for an array (dtype "str" for strings), a bare
str/int/float for a scalar, ``{"list": [...]}`` for a Python list argument, ``{"batches": [spec, ...]}`` for an
iterable of batches, ``{"file": [line, ...]}`` for a vocabulary file written with those lines.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy

DATA_PATH = os.path.join(os.path.dirname(__file__), "data", "keras_lookup_oracle.json")
MODEL_PATH = os.path.join(os.path.dirname(__file__), "data", "keras_lookup_model.keras")

# the model of MODEL_PATH: its layers' adapt data, and inputs to call each on
MODEL_ADAPT = {
    "words": ["the", "cat", "sat", "on", "the", "mat", "é", "é", "é", "日本"],
    "ints": [3, 3, 1, 0, 0, 9, 9, 9, 12],
    "floats": [float(v) for v in range(40)],
}
MODEL_CALLS = {
    "words": [["the", "zz"], ["é", "mat"]],
    "ints": [[3, 0], [9, 77]],
    "floats": [[0.5], [12.0], [39.0]],
}


# ----------------------------------------------------------------------------------------------------
# data specs
# ----------------------------------------------------------------------------------------------------
def A(value, dtype="str"):  # noqa: N802 - a short name for the table
    return {"v": value, "dt": dtype}


def materialize(spec, tmpdir: str | None = None):
    """The Python/NumPy object a data spec describes."""
    if isinstance(spec, dict):
        if "v" in spec:
            return numpy.array(spec["v"], dtype=str if spec["dt"] == "str" else spec["dt"])
        if "list" in spec:
            return list(spec["list"])
        if "bytes" in spec:
            return numpy.array([v.encode() for v in spec["bytes"]], dtype=object)
        if "batches" in spec:
            return iter([materialize(b, tmpdir) for b in spec["batches"]])
        if "file" in spec:
            # a fresh folder per file: TensorFlow caches a lookup table by its file name
            path = os.path.join(tempfile.mkdtemp(dir=tmpdir), "vocab.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in spec["file"]))
            return path
        return {k: materialize(v, tmpdir) for k, v in spec.items()}
    return spec


def _random_strings(seed: int, n: int) -> list[str]:
    rng = numpy.random.default_rng(seed)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,")
    alphabet += ["é", "ß", "日", "本", "😀"]
    lengths = list(range(0, 80)) + rng.integers(0, 300, n - 80).tolist()
    return ["".join(rng.choice(alphabet, size=k).tolist()) for k in lengths]


WORDS = ["the", "cat", "sat", "on", "the", "mat", "the", "cat", "ran", "a", "b", "b", "é", "日本"]
STR_VOCAB = ["a", "b", "c", "é"]
INT_VOCAB = [10, 20, 30, 7]


def _lookup_cases() -> list[dict]:
    cases = []
    two_d = A([["a", "z"], ["c", "c"], ["é", ""]])
    int_2d = A([[10, 5], [30, 30], [7, -1]], "int64")
    for mode in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
        extra = {"idf_weights": [0.5, 1.0, 2.0, 4.0]} if mode == "tf_idf" else {}
        cases.append(dict(id=f"string_vocab_{mode}", layer="StringLookup",
                          kwargs={"vocabulary": STR_VOCAB, "output_mode": mode, **extra},
                          calls=[two_d, A(["a", "zz", "c"]), {"list": ["b", "q"]}, "a", A([[["a", "b"], ["c", "z"]]])],
                          shapes=[[None, 2], [None, 1], [None, 3, 2]]))
        cases.append(dict(id=f"integer_vocab_{mode}", layer="IntegerLookup",
                          kwargs={"vocabulary": INT_VOCAB, "output_mode": mode, **extra},
                          calls=[int_2d, A([10, 5, 30], "int32"), A([[10], [8]], "int64"), 20],
                          shapes=[[None, 2], [None, 1]]))
    cases += [
        dict(id="string_mask_two_oov", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "mask_token": "", "num_oov_indices": 2},
             calls=[A(["", "a", "zz", "yy", "q", "é", "x"])]),
        dict(id="string_mask_multi_hot_drops_mask", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "mask_token": "", "output_mode": "multi_hot"},
             calls=[A([["", "a"], ["", ""]])]),
        dict(id="string_mask_count_pad", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "mask_token": "[M]", "output_mode": "count", "max_tokens": 8,
                     "pad_to_max_tokens": True}, calls=[A([["[M]", "a", "a", "q"]])], shapes=[[None, 4]]),
        dict(id="string_oov_zero_error", layer="StringLookup", kwargs={"vocabulary": STR_VOCAB, "num_oov_indices": 0},
             calls=[A(["a", "b"]), A(["a", "zz"])]),
        dict(id="string_five_oov_farmhash", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "num_oov_indices": 5},
             calls=[A(_random_strings(1, 120))]),
        dict(id="string_three_oov_salt", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "num_oov_indices": 3, "salt": [7, 11]},
             calls=[A(_random_strings(2, 100))]),
        dict(id="string_oov_salt_int", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "num_oov_indices": 4, "salt": 5}, calls=[A(["x", "y", "z", "w", "a"])]),
        dict(id="string_vocab_with_special_tokens", layer="StringLookup",
             kwargs={"vocabulary": ["", "[UNK]", "a", "b"], "mask_token": ""}, calls=[A(["", "a", "b", "q"])]),
        dict(id="string_vocab_repeated_error", layer="StringLookup", kwargs={"vocabulary": ["a", "b", "a"]}),
        dict(id="string_vocab_mask_inside_error", layer="StringLookup",
             kwargs={"vocabulary": ["a", "", "b"], "mask_token": ""}),
        dict(id="string_vocab_too_large_error", layer="StringLookup",
             kwargs={"vocabulary": ["a", "b", "c"], "max_tokens": 3}),
        dict(id="string_invert", layer="StringLookup", kwargs={"vocabulary": STR_VOCAB, "invert": True},
             calls=[A([0, 1, 2, 3, 4, 9], "int64")]),
        dict(id="string_invert_mask", layer="StringLookup",
             kwargs={"vocabulary": STR_VOCAB, "invert": True, "mask_token": "[M]", "oov_token": "?"},
             calls=[A([0, 1, 2, 5, 6], "int64")]),
        dict(id="string_vocab_file", layer="StringLookup", kwargs={"vocabulary": {"file": ["x", "y", "é", "z z"]}},
             calls=[A(["x", "z z", "é", "w"])]),
        dict(id="string_vocab_file_multi_hot", layer="StringLookup",
             kwargs={"vocabulary": {"file": ["x", "y"]}, "output_mode": "multi_hot"}, calls=[A([["x", "q"]])]),
        dict(id="string_invert_error_mode", layer="StringLookup", kwargs={"invert": True, "output_mode": "count"}),
        dict(id="string_bad_output_mode", layer="StringLookup", kwargs={"output_mode": "dense"}),
        dict(id="string_sparse_error", layer="StringLookup", kwargs={"sparse": True, "output_mode": "count"}),
        dict(id="string_max_tokens_error", layer="StringLookup", kwargs={"max_tokens": 1}),
        dict(id="string_pad_without_max_error", layer="StringLookup", kwargs={"pad_to_max_tokens": True}),
        dict(id="string_idf_without_tf_idf_error", layer="StringLookup",
             kwargs={"vocabulary": ["a"], "idf_weights": [1.0]}),
        dict(id="string_tf_idf_vocab_without_idf_error", layer="StringLookup",
             kwargs={"vocabulary": ["a"], "output_mode": "tf_idf"}),
        dict(id="string_tf_idf_with_special_tokens", layer="StringLookup",
             kwargs={"vocabulary": ["[UNK]", "a", "b"], "output_mode": "tf_idf", "idf_weights": [0.1, 1.0, 2.0]},
             calls=[A([["a", "q", "b", "b"]])]),
        dict(id="string_tf_idf_pad", layer="StringLookup",
             kwargs={"vocabulary": ["a", "b"], "output_mode": "tf_idf", "idf_weights": [1.0, 3.0], "max_tokens": 6,
                     "pad_to_max_tokens": True}, calls=[A([["a", "q", "b", "b"]])]),
        dict(id="string_unadapted_multi_hot_error", layer="StringLookup", kwargs={"output_mode": "multi_hot"},
             calls=[A([["a"]])]),
        dict(id="string_bytes_input", layer="StringLookup", kwargs={"vocabulary": STR_VOCAB},
             calls=[{"bytes": ["a", "c", "é"]}]),
        # adapt
        dict(id="string_adapt_1d", layer="StringLookup", kwargs={}, adapt=A(WORDS), calls=[A(WORDS)]),
        dict(id="string_adapt_2d_max_tokens", layer="StringLookup", kwargs={"max_tokens": 5},
             adapt=A([["the", "cat"], ["the", "b"], ["mat", "b"], ["zz", "the"]]), calls=[A(["the", "b", "zz"])]),
        dict(id="string_adapt_list", layer="StringLookup", kwargs={"mask_token": "", "num_oov_indices": 2},
             adapt={"list": ["a", "", "b", "b", "[UNK]", "c"]}, calls=[A(["", "a", "b", "c", "d"])]),
        dict(id="string_adapt_batches_steps", layer="StringLookup", kwargs={},
             adapt={"batches": [A(["a", "b"]), A([["c"], ["c"]]), A(["d", "d", "d"])]}, adapt_steps=2,
             calls=[A(["a", "b", "c", "d"])]),
        dict(id="string_adapt_tf_idf", layer="StringLookup", kwargs={"output_mode": "tf_idf"},
             adapt=A([["the", "cat", "the"], ["a", "cat", "b"], ["b", "b", "b"], ["the", "é", "é"]]),
             calls=[A([["the", "cat", "zz"], ["b", "é", "é"]])], shapes=[[None, 3]]),
        dict(id="string_adapt_tf_idf_batches_pad", layer="StringLookup",
             kwargs={"output_mode": "tf_idf", "max_tokens": 10, "pad_to_max_tokens": True},
             adapt={"batches": [A(["x", "y", "x"]), A([["y", "z"], ["q", "q"]])]}, calls=[A([["x", "q", "w"]])]),
        dict(id="string_adapt_count", layer="StringLookup", kwargs={"output_mode": "count", "max_tokens": 4},
             adapt=A(WORDS), calls=[A([["the", "the", "cat", "zz"]])]),
        dict(id="string_adapt_one_hot_ties", layer="StringLookup", kwargs={"output_mode": "one_hot"},
             adapt=A(["b", "a", "d", "c", "B", "日", "é"]), calls=[A([["a"], ["日"]])]),
        dict(id="string_adapt_with_vocab_error", layer="StringLookup", kwargs={"vocabulary": ["a"]}, adapt=A(["b"])),
        dict(id="integer_adapt", layer="IntegerLookup", kwargs={"max_tokens": 6, "mask_token": 0},
             adapt=A([3, 3, 1, 0, 0, 0, 9, 9, 9, -1, 12, 5, 5], "int64"), calls=[A([[0, 3, 12], [9, 4, -1]], "int64")]),
        dict(id="integer_adapt_tf_idf", layer="IntegerLookup", kwargs={"output_mode": "tf_idf"},
             adapt=A([[1, 2, 2], [3, 1, 1], [5, 5, 5]], "int64"), calls=[A([[1, 5, 9]], "int64")]),
        dict(id="integer_adapt_float_input", layer="IntegerLookup", kwargs={},
             adapt=A([1.7, 2.2, 2.9, -1.5], "float32"),
             calls=[A([1.2, 2.0, -1.9], "float64")]),
        dict(id="integer_three_oov_floormod", layer="IntegerLookup",
             kwargs={"vocabulary": [1, 2], "num_oov_indices": 3},
             calls=[A([-7, 5, 6, 7, 1, -300, 2**40], "int64")]),
        dict(id="integer_three_oov_farmhash", layer="IntegerLookup",
             kwargs={"vocabulary": [1, 2], "num_oov_indices": 3, "oov_method": "farmhash"},
             calls=[A(list(range(-40, 60)) + [2**40, -(2**50)], "int64")]),
        dict(id="integer_four_oov_salt", layer="IntegerLookup",
             kwargs={"vocabulary": [1, 2], "num_oov_indices": 4, "oov_method": "farmhash", "salt": [1, 2]},
             calls=[A(list(range(-30, 30)), "int64")]),
        dict(id="integer_salt_floormod_error", layer="IntegerLookup", kwargs={"salt": 3}),
        dict(id="integer_bad_oov_method", layer="IntegerLookup", kwargs={"oov_method": "mod"}),
        dict(id="integer_invert", layer="IntegerLookup", kwargs={"vocabulary": INT_VOCAB, "invert": True},
             calls=[A([[0, 1], [2, 3], [4, 9]], "int64")]),
        dict(id="integer_invert_mask", layer="IntegerLookup",
             kwargs={"vocabulary": [10, 20], "invert": True, "mask_token": 0}, calls=[A([[0, 1], [2, 3]], "int64")]),
        dict(id="integer_vocab_file", layer="IntegerLookup", kwargs={"vocabulary": {"file": ["4", "-2", "100"]}},
             calls=[A([4, 100, -2, 5], "int64")]),
        dict(id="integer_vocab_dtype_error", layer="IntegerLookup", kwargs={"vocabulary_dtype": "int32"}),
        dict(id="integer_max_tokens_error", layer="IntegerLookup", kwargs={"max_tokens": 0}),
        dict(id="integer_negative_oov_error", layer="IntegerLookup", kwargs={"num_oov_indices": -1}),
        dict(id="integer_set_vocabulary", layer="IntegerLookup", kwargs={"output_mode": "multi_hot", "mask_token": 0},
             set_vocabulary={"vocabulary": [5, 6, 7]}, calls=[A([[0, 5, 9], [7, 7, 0]], "int64")]),
        dict(id="string_set_vocabulary_tf_idf", layer="StringLookup", kwargs={"output_mode": "tf_idf"},
             set_vocabulary={"vocabulary": ["x", "y"], "idf_weights": [1, 2]}, calls=[A([["x", "y", "y", "q"]])]),
    ]
    return cases


def _hash_cases() -> list[dict]:
    strings = _random_strings(3, 600)
    rng = numpy.random.default_rng(4)
    ints = rng.integers(-(2**62), 2**62, 300).tolist() + list(range(-50, 50))
    return [
        dict(id="hashing_strings_many_bins", layer="Hashing", kwargs={"num_bins": 1000003}, calls=[A(strings)]),
        dict(id="hashing_strings_2d", layer="Hashing", kwargs={"num_bins": 7},
             calls=[A([[s] for s in strings[:50]]), "abc", {"list": ["a", "b"]}], shapes=[[None, 1], [None, 3]]),
        dict(id="hashing_ints", layer="Hashing", kwargs={"num_bins": 2**31 - 1}, calls=[A(ints, "int64")]),
        dict(id="hashing_int32_floats_bools", layer="Hashing", kwargs={"num_bins": 97},
             calls=[A([[1], [2], [-3]], "int32"), A([1.7, 2.2, -3.9, 0.5], "float32"), A([True, False], "bool")]),
        dict(id="hashing_mask_string", layer="Hashing", kwargs={"num_bins": 5, "mask_value": ""},
             calls=[A(["", "a", "b", "", "hello"])]),
        dict(id="hashing_mask_int", layer="Hashing", kwargs={"num_bins": 6, "mask_value": 0},
             calls=[A([[0, 1, 2], [3, 0, 5]], "int64")]),
        dict(id="hashing_salt_pair", layer="Hashing", kwargs={"num_bins": 1009, "salt": [133, 137]},
             calls=[A(strings)]),
        dict(id="hashing_salt_int", layer="Hashing", kwargs={"num_bins": 13, "salt": 42},
             calls=[A(ints[:60], "int64")]),
        dict(id="hashing_one_hot", layer="Hashing", kwargs={"num_bins": 5, "output_mode": "one_hot"},
             calls=[A([["a"], ["b"], ["c"]]), A(["a", "b"])], shapes=[[None, 1], [None]]),
        dict(id="hashing_multi_hot", layer="Hashing", kwargs={"num_bins": 5, "output_mode": "multi_hot"},
             calls=[A([["a", "b"], ["b", "b"]]), A(["a", "b", "q"]), A([[["a", "b"], ["c", "d"]]])]),
        dict(id="hashing_count_int32", layer="Hashing",
             kwargs={"num_bins": 4, "output_mode": "count", "dtype": "int32"},
             calls=[A([["a", "b", "a"], ["b", "b", "c"]])]),
        dict(id="hashing_bad_bins", layer="Hashing", kwargs={"num_bins": 0}),
        dict(id="hashing_bad_dtype", layer="Hashing", kwargs={"num_bins": 3, "dtype": "float32"}),
        dict(id="hashing_bad_salt", layer="Hashing", kwargs={"num_bins": 3, "salt": "x"}),
        dict(id="crossing_int_string", layer="HashedCrossing", kwargs={"num_bins": 10},
             calls=[[A([1, 2, 3], "int64"), A(["a", "b", "c"])], [A([[1], [2]], "int32"), A([["a"], ["b"]])],
                    [A(1, "int64"), A("a")]], shapes=[[[None, 1], [None, 1]]]),
        dict(id="crossing_many", layer="HashedCrossing", kwargs={"num_bins": 2**31 - 1},
             calls=[[A(ints[:200], "int64"), A(strings[:200]), A(ints[200:400], "int64")]]),
        dict(id="crossing_one_hot", layer="HashedCrossing", kwargs={"num_bins": 4, "output_mode": "one_hot"},
             calls=[[A([1, 2], "int64"), A([3, 4], "int64")], [A([[1], [2]], "int64"), A([[3], [4]], "int64")]],
             shapes=[[[None, 1], [None, 1]], [[None, 2], [None, 2]]]),
        dict(id="crossing_float_error", layer="HashedCrossing", kwargs={"num_bins": 4},
             calls=[[A([1.0], "float32"), A([2], "int64")], [A([1], "int64")], [A([1, 2], "int64"), A([1], "int64")]]),
        dict(id="crossing_bad_mode", layer="HashedCrossing", kwargs={"num_bins": 4, "output_mode": "count"}),
    ]


def _discretization_cases() -> list[dict]:
    rng = numpy.random.default_rng(5)
    normal = rng.standard_normal(1000).round(4).tolist()
    return [
        dict(id="discretization_adapt_arange", layer="Discretization", kwargs={"num_bins": 4},
             adapt=A(list(range(100)), "float32"), calls=[A([[1.0, 50.0, 99.0]], "float32")]),
        dict(id="discretization_adapt_normal", layer="Discretization", kwargs={"num_bins": 10, "epsilon": 0.05},
             adapt=A(normal, "float32"), calls=[A(normal[:20], "float32")]),
        dict(id="discretization_adapt_batches", layer="Discretization", kwargs={"num_bins": 5},
             adapt={"batches": [A(normal[:300], "float32"), A(normal[300:700], "float32"),
                                A([[v] for v in normal[700:]], "float32")]}, calls=[A(normal[:30], "float32")]),
        dict(id="discretization_adapt_list_of_scalars", layer="Discretization", kwargs={"num_bins": 3},
             adapt={"list": [1.0, 5.0, 2.0, 8.0, 3.0, 9.0, 4.0]}, calls=[A([0.0, 2.5, 4.5, 10.0], "float32")]),
        dict(id="discretization_adapt_small", layer="Discretization", kwargs={"num_bins": 8},
             adapt=A([3.0, 1.0, 2.0], "float32"), calls=[A([0.0, 1.5, 2.5, 3.5], "float32")]),
        dict(id="discretization_adapt_2d_one_hot", layer="Discretization",
             kwargs={"num_bins": 3, "output_mode": "one_hot", "epsilon": 0.001},
             adapt=A([[v, 2 * v] for v in normal[:200]], "float32"), calls=[A([[0.1], [-2.0]], "float32")]),
        dict(id="discretization_adapt_steps", layer="Discretization", kwargs={"num_bins": 2},
             adapt={"batches": [A([1.0, 2.0], "float32"), A([100.0, 200.0], "float32")]}, adapt_steps=1,
             calls=[A([1.4, 1.6], "float32")]),
        dict(id="discretization_adapt_with_boundaries_error", layer="Discretization", kwargs={"bin_boundaries": [0.0]},
             adapt=A([1.0], "float32")),
    ]


CASES = _lookup_cases() + _hash_cases() + _discretization_cases()


# ----------------------------------------------------------------------------------------------------
# running a case (Keras or neuronka: the same steps) and describing the answers
# ----------------------------------------------------------------------------------------------------
def describe(value):
    """An output as JSON: {"v", "dt", "shape"} (strings: dt "str")."""
    if isinstance(value, list):  # Keras's inverted StringLookup on torch: a list of str
        value = numpy.array(value, dtype=str)
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy"):
        value = value.numpy()
    arr = numpy.asarray(value)
    if arr.dtype.kind in "USO":
        return {"v": numpy.vectorize(lambda s: s.decode() if isinstance(s, bytes) else str(s), otypes=[object])(
            arr).tolist() if arr.size else arr.tolist(), "dt": "str", "shape": list(arr.shape)}
    return {"v": arr.tolist(), "dt": str(arr.dtype), "shape": list(arr.shape)}


def _error(e: Exception) -> dict:
    return {"error": type(e).__name__, "message": str(e)[:300]}


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def run_case(layers, case: dict, tmpdir: str | None = None) -> dict:
    """Build ``layers.<case["layer"]>`` and run the case's steps; what it answered, as JSON."""
    tmpdir = tmpdir or tempfile.mkdtemp()
    kwargs = {k: materialize(v, tmpdir) for k, v in case.get("kwargs", {}).items()}
    out: dict = {}
    try:
        layer = getattr(layers, case["layer"])(**kwargs)
    except Exception as e:  # noqa: BLE001 - the error is the answer
        out["init"] = _error(e)
        return out
    if "adapt" in case:
        try:
            layer.adapt(materialize(case["adapt"], tmpdir), **({"steps": case["adapt_steps"]}
                                                              if "adapt_steps" in case else {}))
        except Exception as e:  # noqa: BLE001
            out["adapt"] = _error(e)
            return out
    if "set_vocabulary" in case:
        layer.set_vocabulary(**case["set_vocabulary"])
    out["config"] = _jsonable(layer.get_config())
    if hasattr(layer, "get_vocabulary"):
        out["vocabulary"] = _jsonable(layer.get_vocabulary())
        out["vocabulary_size"] = int(layer.vocabulary_size())
    if getattr(layer, "idf_weights", None) is not None and hasattr(layer, "get_vocabulary"):
        idf = layer.idf_weights
        idf = idf.numpy() if hasattr(idf, "numpy") else idf
        out["idf_weights"] = numpy.asarray(idf, dtype=numpy.float64).tolist()
    calls = []
    for spec in case.get("calls", []):
        arg = [materialize(s, tmpdir) for s in spec] if isinstance(spec, list) else materialize(spec, tmpdir)
        try:
            calls.append(describe(layer(arg)))
        except Exception as e:  # noqa: BLE001
            calls.append(_error(e))
    out["calls"] = calls
    shapes = []
    for shape in case.get("shapes", []):
        shape = [tuple(s) for s in shape] if shape and isinstance(shape[0], list) else tuple(shape)
        try:
            shapes.append(list(layer.compute_output_shape(shape)))
        except Exception as e:  # noqa: BLE001
            shapes.append(_error(e))
    out["output_shapes"] = _jsonable(shapes)
    return out


def record() -> list[dict]:
    """Every case with Keras's answers (needs TensorFlow next to Keras 3.15.1)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras  # noqa: PLC0415

    assert keras.__version__ == "3.15.1", keras.__version__
    recorded = []
    for case in CASES:
        keras.backend.clear_session()
        recorded.append({**case, "keras": run_case(keras.layers, case)})
    return recorded


def build_model(keras):
    """A functional model with an adapted StringLookup, IntegerLookup (mask 0), Discretization, a StringLookup
    whose vocabulary is in its config and an adapted "tf_idf" StringLookup (Keras's or neuronka's: the same
    code)."""
    words = keras.Input(shape=(2,), dtype="string", name="words")
    ints = keras.Input(shape=(2,), dtype="int64", name="ints")
    floats = keras.Input(shape=(1,), name="floats")
    words_lookup = keras.layers.StringLookup(name="words_lookup", num_oov_indices=2)
    words_lookup.adapt(MODEL_ADAPT["words"])
    ints_lookup = keras.layers.IntegerLookup(name="ints_lookup", mask_token=0, output_mode="multi_hot")
    ints_lookup.adapt(MODEL_ADAPT["ints"])
    bins = keras.layers.Discretization(num_bins=4, name="bins")
    bins.adapt(numpy.asarray(MODEL_ADAPT["floats"], dtype="float32"))
    fixed = keras.layers.StringLookup(vocabulary=["cat", "the"], output_mode="count", name="fixed")
    tf_idf = keras.layers.StringLookup(output_mode="tf_idf", name="tf_idf")  # its idf weights saved by name
    tf_idf.adapt(numpy.asarray(MODEL_ADAPT["words"]).reshape(5, 2))
    outputs = [words_lookup(words), ints_lookup(ints), bins(floats), fixed(words), tf_idf(words)]
    return keras.Model({"words": words, "ints": ints, "floats": floats}, outputs, name="lookups")


FEATURE_SPACE_PATH = os.path.join(os.path.dirname(__file__), "data", "keras_feature_space.json")
FEATURE_SPACE_FILE = os.path.join(os.path.dirname(__file__), "data", "keras_feature_space.keras")


def feature_space_data() -> dict:
    """60 rows of structured data: floats, strings, integers."""
    rng = numpy.random.default_rng(6)
    n = 60
    return {
        "age": rng.normal(40, 12, n).round(1).astype("float32"),
        "score": rng.uniform(0, 1, n).round(3).astype("float32"),
        "ratio": rng.uniform(0, 10, n).round(2).astype("float32"),
        "income": rng.lognormal(10, 1, n).round(0).astype("float32"),
        "city": rng.choice(["paris", "lyon", "nice", "brest", "lille"], n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
        "code": rng.choice([3, 14, 15, 92, 65], n).astype("int64"),
        "tag": rng.choice(["x", "y", "z", "w"], n),
        "zip": rng.integers(1000, 1100, n).astype("int64"),
    }


def build_feature_space(utils, output_mode: str):
    """The same FeatureSpace in Keras (``utils`` = keras.utils) or neuronka (neuronka.utils)."""
    fs = utils.FeatureSpace
    features = {
        "age": "float_normalized",
        "score": "float",
        "ratio": fs.float_rescaled(scale=0.1, offset=-0.5, name="ratio"),
        "income": fs.float_discretized(num_bins=4, name="income"),
        "city": "string_categorical",
        "code": fs.integer_categorical(max_tokens=4, num_oov_indices=2, name="code"),
        "tag": fs.string_hashed(num_bins=5, name="tag"),
        "zip": fs.integer_hashed(num_bins=7, output_mode="int" if output_mode == "dict" else "one_hot", name="zip"),
    }
    crosses = [("city", "code"), fs.cross(("tag", "zip"), crossing_dim=6,
                                           output_mode="int" if output_mode == "dict" else "one_hot")]
    return fs(features=features, crosses=crosses, crossing_dim=9, output_mode=output_mode)


def feature_space_answers(utils) -> dict:
    """What a FeatureSpace says before and after adapting, and its encodings of a batch and of one sample."""
    data = feature_space_data()
    out = {}
    for mode in ("concat", "dict"):
        fs = build_feature_space(utils, mode)
        answers = {"config": _jsonable(fs.get_config())}
        fs.adapt({k: v for k, v in data.items()})
        answers["adapted_config"] = _jsonable(fs.get_config())
        answers["vocabularies"] = {k: _jsonable(fs.preprocessors[k].get_vocabulary()) for k in ("city", "code")}
        answers["bin_boundaries"] = _jsonable(fs.preprocessors["income"].bin_boundaries)
        norm = fs.preprocessors["age"]
        answers["normalization"] = [float(numpy.asarray(describe(norm.adapt_mean)["v"]).reshape(-1)[0]),
                                    float(numpy.asarray(describe(norm.adapt_variance)["v"]).reshape(-1)[0])]
        encoded = fs.get_encoded_features()
        shapes = {k: list(v.shape) for k, v in encoded.items()} if isinstance(encoded, dict) else list(encoded.shape)
        answers["encoded_shapes"] = _jsonable(shapes)
        batch = fs({k: v[:8] for k, v in data.items()})
        one = fs({k: v[9].item() if hasattr(v[9], "item") else v[9] for k, v in data.items()})
        if isinstance(batch, dict):
            answers["batch"] = {k: describe(v) for k, v in batch.items()}
            answers["one"] = {k: describe(v) for k, v in one.items()}
        else:
            answers["batch"], answers["one"] = describe(batch), describe(one)
        out[mode] = answers
    return out


def save_feature_space(utils, path: str):
    """The "concat" feature space adapted on :func:`feature_space_data`, saved to ``path``; returned."""
    fs = build_feature_space(utils, "concat")
    fs.adapt(feature_space_data())
    fs.save(path)
    return fs


def model_layer_outputs(model) -> dict:
    """Each lookup layer of the model called on MODEL_CALLS, as JSON (the expected outputs after loading)."""
    inputs = {"words_lookup": "words", "ints_lookup": "ints", "bins": "floats", "fixed": "words", "tf_idf": "words"}
    out = {}
    for name, key in inputs.items():
        layer = model.get_layer(name)
        x = numpy.asarray(MODEL_CALLS[key], dtype=str if key == "words" else "float32" if key == "floats" else "int64")
        out[name] = describe(layer(x))
        if hasattr(layer, "get_vocabulary"):
            out[name]["vocabulary"] = _jsonable(layer.get_vocabulary())
        else:
            out[name]["bin_boundaries"] = _jsonable(layer.bin_boundaries)
    return out


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    data = _jsonable(record())
    os.makedirs(os.path.dirname(DATA_PATH), exist_ok=True)
    with open(DATA_PATH, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(data)} cases to {DATA_PATH}")
    import keras

    model = build_model(keras)
    model.save(MODEL_PATH)
    with open(MODEL_PATH + ".json", "w", encoding="utf-8") as f:
        json.dump(model_layer_outputs(model), f, ensure_ascii=False)
    print(f"wrote {MODEL_PATH}")
    with open(FEATURE_SPACE_PATH, "w", encoding="utf-8") as f:
        json.dump(feature_space_answers(keras.utils), f, ensure_ascii=False)
    print(f"wrote {FEATURE_SPACE_PATH}")
    save_feature_space(keras.utils, FEATURE_SPACE_FILE)
    print(f"wrote {FEATURE_SPACE_FILE}")

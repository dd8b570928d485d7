"""TextVectorization against Keras 3's documented behaviour: one table of (layer arguments, adapt data, inputs,
expected vocabulary, expected output), then the bag-of-words modes on a hand-computed corpus, the vocabulary API,
the config round trip and the errors."""
import json
import math
import re

import numpy
import pytest

from neuronka.autograd import Tensor
from neuronka.layers.text_vectorization import TextVectorization

from .conftest import dataset_path

# Keras's default punctuation regex, as documented for standardize="lower_and_strip_punctuation"
KERAS_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'

# (id, layer kwargs, adapt data (None: no adapt), inputs, expected get_vocabulary(), expected int output)
INT_CASES = [
    # the example of Keras's docstring
    ("keras_docstring_adapt", dict(max_tokens=5000, output_sequence_length=4),
     ["foo bar", "bar baz", "baz bada boom"], [["foo qux bar"], ["qux baz"]],
     ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"], [[4, 1, 3, 0], [1, 2, 0, 0]]),
    ("keras_docstring_vocabulary", dict(output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"]),
     None, ["Earth, wind & FIRE! and water"],
     ["", "[UNK]", "earth", "wind", "and", "fire"], [[2, 3, 5, 4]]),
    # punctuation removed, ASCII lowercased; tokens are joined where punctuation sat inside them
    ("standardize_default", dict(), ["hello world its aok"], ["Hello, World!! It's A-OK.", "HELLO"],
     ["", "[UNK]", "world", "its", "hello", "aok"], [[4, 2, 3, 5], [4, 0, 0, 0]]),
    # tf.strings.lower without encoding lowercases ASCII only: 'É' stays
    ("standardize_ascii_lower_only", dict(), ["École"], ["ÉCOLE école"], ["", "[UNK]", "École"], [[2, 1]]),
    ("standardize_lower_keeps_punctuation", dict(standardize="lower"), ["a, b"], ["A, B b"],
     ["", "[UNK]", "b", "a,"], [[3, 2, 2]]),
    ("standardize_strip_keeps_case", dict(standardize="strip_punctuation"), ["A. a"], ["A a! b"],
     ["", "[UNK]", "a", "A"], [[3, 2, 1]]),
    ("standardize_none", dict(standardize=None), ["A. a"], ["A. a A"], ["", "[UNK]", "a", "A."], [[3, 2, 1]]),
    # split on runs of ASCII whitespace only: '\xa0' stays inside a token
    ("split_ascii_whitespace", dict(), ["  a\tb\n\nc \x0bd\x0ce\r "], ["a\xa0b c"],
     ["", "[UNK]", "e", "d", "c", "b", "a"], [[1, 4]]),
    ("split_character", dict(split="character"), ["abca"], ["ab c"], ["", "[UNK]", "a", "c", "b"], [[2, 4, 1, 3]]),
    # split=None: the whole standardized string is one token
    ("split_none", dict(split=None), ["new york", "new york", "paris"], ["New York!", "Rome"],
     ["", "[UNK]", "new york", "paris"], [[2], [1]]),
    # descending count, ties broken by descending token
    ("order_count_then_token_desc", dict(), ["b a c", "c", "d"], ["a b c d z"],
     ["", "[UNK]", "c", "d", "b", "a"], [[5, 4, 2, 3, 1]]),
    # max_tokens counts '' and '[UNK]'
    ("max_tokens_truncates", dict(max_tokens=4), ["b a c", "c", "d"], ["a b c d"],
     ["", "[UNK]", "c", "d"], [[1, 1, 2, 3]]),
    ("sequence_length_truncates_at_end", dict(output_sequence_length=2), ["a b c"], ["c b a", "a"],
     ["", "[UNK]", "c", "b", "a"], [[2, 3], [4, 0]]),
    ("sequence_length_pads_at_end", dict(output_sequence_length=5), ["a b c"], ["c x", ""],
     ["", "[UNK]", "c", "b", "a"], [[2, 1, 0, 0, 0], [0, 0, 0, 0, 0]]),
    ("no_sequence_length_pads_to_longest", dict(), ["a b c"], ["a", "a b c a", "zz yy"],
     ["", "[UNK]", "c", "b", "a"], [[4, 0, 0, 0], [4, 3, 2, 4], [1, 1, 0, 0]]),
    # ngrams=2 means widths (1, 2): all unigrams, then all bigrams
    ("ngrams_2", dict(ngrams=2), ["a b c"], ["a b c", "c a"],
     ["", "[UNK]", "c", "b c", "b", "a b", "a"], [[6, 4, 2, 5, 3], [2, 6, 1, 0, 0]]),
    ("ngrams_tuple_bigrams_only", dict(ngrams=(2,)), ["a b c", "a b"], ["a b c d"],
     ["", "[UNK]", "a b", "b c"], [[2, 3, 1]]),
    # '[UNK]' seen in the data is not learned as a token
    ("oov_token_not_learned", dict(standardize=None), ["[UNK] a"], ["[UNK] a"], ["", "[UNK]", "a"], [[1, 2]]),
]


@pytest.mark.parametrize("kwargs, adapt_data, inputs, vocab, expected",
                         [c[1:] for c in INT_CASES], ids=[c[0] for c in INT_CASES])
def test_int_mode_matches_keras_documented_behaviour(kwargs, adapt_data, inputs, vocab, expected):
    layer = TextVectorization(**kwargs)
    if adapt_data is not None:
        layer.adapt(adapt_data)
    assert layer.get_vocabulary() == vocab
    assert layer.get_vocabulary(include_special_tokens=False) == vocab[2:]
    assert layer.vocabulary_size() == len(vocab)
    out = layer(inputs)
    assert isinstance(out, Tensor)
    assert out.dtype == numpy.int64
    numpy.testing.assert_array_equal(out.numpy(), numpy.array(expected, dtype=numpy.int64))


def test_default_standardization_strips_exactly_the_characters_of_the_keras_regex():
    regex = re.compile(KERAS_STRIP_REGEX)
    layer = TextVectorization(standardize="strip_punctuation", split=None, vocabulary=["x"])
    chars = [chr(c) for c in range(32, 127)] + ["\u2019", "\u00ab", "\u2014"]
    standardized = [toks[0] for toks in layer._preprocess([f"x{c}x" for c in chars])]
    for c, s in zip(chars, standardized):
        assert s == ("xx" if regex.fullmatch(c) else f"x{c}x"), repr(c)


def test_input_forms_give_the_same_output():
    layer = TextVectorization(vocabulary=["a", "b"])
    expected = numpy.array([[2, 3], [3, 0]])
    for inputs in (["a b", "b"], ("a b", "b"), numpy.array(["a b", "b"]), numpy.array([["a b"], ["b"]]),
                   numpy.array(["a b", "b"], dtype=object), [b"a b", b"b"], Tensor(numpy.array(["a b", "b"]))):
        numpy.testing.assert_array_equal(layer(inputs).numpy(), expected)
    numpy.testing.assert_array_equal(layer("a b").numpy(), [2, 3])  # a single string → one sequence


def test_padding_token_maps_to_0_in_int_mode_and_is_dropped_otherwise():
    layer = TextVectorization(split=None, vocabulary=["a"])
    numpy.testing.assert_array_equal(layer(["", "a", "b"]).numpy(), [[0], [2], [1]])
    layer = TextVectorization(split=None, output_mode="count", vocabulary=["a"])
    numpy.testing.assert_array_equal(layer(["", "a", "b"]).numpy(), [[0, 0], [0, 1], [1, 0]])


# ---- bag-of-words modes on a tiny corpus, computed by hand -------------------------------------------------
# corpus: counts a:3, b:2, c:1 → vocabulary ['[UNK]', 'a', 'b', 'c'] (no padding token outside int mode);
# documents containing a: 2, b: 2, c: 1 out of N = 3 → idf = log(1 + 3 / (1 + df))
CORPUS = ["a a b", "b c", "a"]
IDF_A = IDF_B = math.log(1 + 3 / 3)
IDF_C = math.log(1 + 3 / 2)
IDF_OOV = (IDF_A + IDF_B + IDF_C) / 3  # the OOV slot gets the mean idf
INPUTS = ["a a d c", "", "b b b e e"]
BOW_CASES = [
    ("multi_hot", [[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 0]]),
    ("count", [[1, 2, 0, 1], [0, 0, 0, 0], [2, 0, 3, 0]]),
    ("tf_idf", [[IDF_OOV, 2 * IDF_A, 0, IDF_C], [0, 0, 0, 0], [2 * IDF_OOV, 0, 3 * IDF_B, 0]]),
]


@pytest.mark.parametrize("mode, expected", BOW_CASES, ids=[c[0] for c in BOW_CASES])
def test_bag_of_words_modes_match_hand_computed_values(mode, expected):
    layer = TextVectorization(output_mode=mode)
    layer.adapt(CORPUS)
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    out = layer(INPUTS)
    assert out.dtype == numpy.float32
    numpy.testing.assert_allclose(out.numpy(), numpy.array(expected), rtol=1e-6)
    # pad_to_max_tokens widens the output with zero columns (zero idf weights)
    padded = TextVectorization(output_mode=mode, max_tokens=6, pad_to_max_tokens=True)
    padded.adapt(CORPUS)
    wide = padded(INPUTS).numpy()
    assert wide.shape == (3, 6)
    numpy.testing.assert_allclose(wide[:, :4], numpy.array(expected), rtol=1e-6)
    assert not wide[:, 4:].any()
    assert padded.compute_output_shape((None,)) == (None, 6)


def test_max_tokens_reserves_one_slot_outside_int_mode():
    layer = TextVectorization(output_mode="multi_hot", max_tokens=3)
    layer.adapt(CORPUS)
    assert layer.get_vocabulary() == ["[UNK]", "a", "b"]
    numpy.testing.assert_array_equal(layer(["c a"]).numpy(), [[1, 1, 0]])


def test_tf_idf_set_vocabulary_pads_oov_weight_with_mean_of_given_weights():
    layer = TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[1.0, 3.0])
    assert layer.get_vocabulary() == ["[UNK]", "a", "b"]
    numpy.testing.assert_allclose(layer(["a b b z"]).numpy(), [[2.0, 1.0, 6.0]])
    # with the special tokens given, the weights are taken as they are
    layer.set_vocabulary(["[UNK]", "a", "b"], idf_weights=[0.5, 1.0, 3.0])
    numpy.testing.assert_allclose(layer(["a b b z"]).numpy(), [[0.5, 1.0, 6.0]])


# ---- vocabulary API ---------------------------------------------------------------------------------------
def test_set_vocabulary_accepts_special_tokens_first_and_a_file(tmp_path):
    layer = TextVectorization()
    assert layer.get_vocabulary() == ["", "[UNK]"] and layer.vocabulary_size() == 2
    layer.set_vocabulary(["", "[UNK]", "x", "y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]
    f = tmp_path / "vocab.txt"
    f.write_text("x\ny\nzé\n", encoding="utf-8")
    layer.set_vocabulary(str(f))
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y", "zé"]
    numpy.testing.assert_array_equal(layer(["zé x q"]).numpy(), [[4, 2, 1]])


@pytest.mark.parametrize("kwargs, vocab, idf, message", [
    (dict(), ["a", "b", "a"], None, "repeated"),
    (dict(), ["a", "", "b"], None, "reserved padding token"),
    (dict(max_tokens=3), ["a", "b"], None, "larger than max_tokens"),
    (dict(), [], None, "empty vocabulary"),
    (dict(output_mode="tf_idf"), ["a"], None, "idf_weights"),
    (dict(output_mode="tf_idf"), ["a"], [1.0, 2.0], "length of the vocabulary"),
    (dict(), ["a"], [1.0], "only be set"),
], ids=["repeated", "padding_inside", "too_large", "empty", "tf_idf_without_idf", "idf_length", "idf_not_tf_idf"])
def test_set_vocabulary_rejects_invalid_vocabularies(kwargs, vocab, idf, message):
    layer = TextVectorization(**kwargs)
    with pytest.raises(ValueError, match=message):
        layer.set_vocabulary(vocab, idf_weights=idf)


@pytest.mark.parametrize("kwargs, message", [
    (dict(output_mode="multi_hot", output_sequence_length=3), "output_sequence_length"),
    (dict(output_mode="one_hot"), "output_mode"),
    (dict(standardize="upper"), "standardize"),
    (dict(split="comma"), "split"),
    (dict(max_tokens=1), "max_tokens"),
    (dict(pad_to_max_tokens=True, output_mode="count"), "max_tokens"),
    (dict(ngrams=0), "ngrams"),
    (dict(sparse=True, output_mode="count"), "sparse"),
    (dict(ragged=True), "ragged"),
    (dict(idf_weights=[1.0]), "idf_weights"),
    (dict(vocabulary=["a"], output_mode="tf_idf"), "idf_weights"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_invalid_arguments_are_rejected_with_the_argument_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TextVectorization(**kwargs)


def test_bag_of_words_output_needs_a_vocabulary_and_static_vocabulary_cannot_be_adapted():
    with pytest.raises(RuntimeError, match="vocabulary must be set"):
        TextVectorization(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="cannot adapt"):
        TextVectorization(vocabulary=["a"]).adapt(["a b"])


def test_adapt_accepts_an_iterable_of_batches_and_steps():
    def batches():
        yield ["a b", "b"]
        yield numpy.array([["c c c"]])
        yield ["d d d d"]

    layer = TextVectorization()
    layer.adapt(batches())
    assert layer.get_vocabulary() == ["", "[UNK]", "d", "c", "b", "a"]
    layer = TextVectorization()
    layer.adapt(batches(), steps=2)
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]
    layer.adapt(["z"])  # adapting again starts from scratch
    assert layer.get_vocabulary() == ["", "[UNK]", "z"]


def test_callable_standardize_and_split_receive_the_batch():
    def keep_vowels(batch):
        return [re.sub(r"[^aeiou ]", "", s) for s in batch]

    def split_on_commas(batch):
        return [s.split(",") for s in batch]

    layer = TextVectorization(standardize=keep_vowels, split="whitespace")
    layer.adapt(["banana apple", "kiwi"])
    assert layer.get_vocabulary() == ["", "[UNK]", "ii", "ae", "aaa"]
    layer = TextVectorization(standardize=None, split=split_on_commas, vocabulary=["x", "y z"])
    numpy.testing.assert_array_equal(layer(["x,y z", "q"]).numpy(), [[2, 3], [1, 0]])


def test_compute_output_shape():
    assert TextVectorization(output_sequence_length=7).compute_output_shape((None,)) == (None, 7)
    assert TextVectorization().compute_output_shape((5, 1)) == (5, None)
    layer = TextVectorization(output_mode="count")
    layer.adapt(CORPUS)
    assert layer.compute_output_shape((None, 1)) == (None, 4)


# ---- config: the vocabulary travels with it -----------------------------------------------------------------
CONFIG_CASES = [
    ("int_adapted", dict(max_tokens=6, output_sequence_length=5), CORPUS + ["d e f g"]),
    ("int_ngrams_tuple", dict(ngrams=(1, 3)), ["a b c d", "b c d"]),
    ("multi_hot", dict(output_mode="multi_hot"), CORPUS),
    ("count_padded", dict(output_mode="count", max_tokens=9, pad_to_max_tokens=True), CORPUS),
    ("tf_idf", dict(output_mode="tf_idf"), CORPUS),
    ("character", dict(split="character", standardize="lower"), ["Hello", "World"]),
]


@pytest.mark.parametrize("kwargs, data", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_config_round_trip_through_json_keeps_vocabulary_and_outputs(kwargs, data):
    layer = TextVectorization(**kwargs)
    layer.adapt(data)
    config = json.loads(json.dumps(layer.get_config()))
    assert config["vocabulary"] == layer.get_vocabulary()
    clone = TextVectorization.from_config(config)
    assert clone.get_vocabulary() == layer.get_vocabulary()
    assert clone.get_config() == config
    probe = ["a b c d z", "", "hello world b a", "g f e d c b a"]
    numpy.testing.assert_array_equal(clone(probe).numpy(), layer(probe).numpy())
    clone.adapt(["q q r"])  # an adapted vocabulary stays adaptable after loading
    fresh = TextVectorization(**kwargs)
    fresh.adapt(["q q r"])
    assert clone.get_vocabulary() == fresh.get_vocabulary()


def test_registered_callables_round_trip_through_the_config():
    from neuronka import saving

    @saving.register_keras_serializable(package="TestTextVectorization")
    def drop_digits(batch):
        return [s.translate(str.maketrans("", "", "0123456789")) for s in batch]

    layer = TextVectorization(standardize=drop_digits, vocabulary=["ab"])
    clone = TextVectorization.from_config(json.loads(json.dumps(layer.get_config())))
    assert clone.standardize is drop_digits
    numpy.testing.assert_array_equal(clone(["a1b 2ab3 c"]).numpy(), [[2, 2, 1]])


def test_symbolic_call_gives_the_output_shape_and_dtype():
    from neuronka.layers.symbolic import Input

    out = TextVectorization(output_sequence_length=5, vocabulary=["a"])(Input(shape=(1,), dtype="str"))
    assert tuple(out.shape) == (None, 5) and out.dtype == "int64"
    out = TextVectorization(output_mode="count", vocabulary=["a", "b"])(Input(shape=(), dtype="str"))
    assert tuple(out.shape) == (None, 3) and out.dtype == "float32"


def test_config_of_a_layer_with_an_unregistered_callable_cannot_be_saved():
    layer = TextVectorization(standardize=lambda b: b, vocabulary=["a"])
    with pytest.raises(ValueError, match="register"):
        layer.get_config()


def test_adapt_on_the_real_sms_spam_texts():
    path = dataset_path("text", "sms-spam-collection", "SMSSpamCollection")
    lines = path.read_text(encoding="utf-8").split("\n")
    texts = [line.split("\t", 1)[1] for line in lines if line]
    layer = TextVectorization(max_tokens=20000, output_sequence_length=64)
    layer.adapt(texts)
    vocab = layer.get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"] and len(vocab) == len(set(vocab)) > 5000
    out = layer(texts[:100]).numpy()
    assert out.shape == (100, 64) and out.min() >= 0 and out.max() < len(vocab)

"""Text loaders on the real shared files (skipped when ../shared/datasets is absent), on small files the tests
write, and the text augmentation functions (determinism and invariants)."""
import collections

import numpy
import pytest

from neuronka.datasets.text import (
    SENTIMENT_CLASS_NAMES,
    SMS_SPAM_CLASS_NAMES,
    load_sentiment,
    load_sms_spam,
    random_token_dropout,
    random_token_swap,
    stratified_split,
)

from .conftest import dataset_path


def _multiset(x, y):
    return collections.Counter(zip(x.tolist(), y.tolist()))


# ---- real files ----------------------------------------------------------------------------------------
def test_sms_spam_has_5574_messages_747_spam_and_a_stratified_seeded_split():
    path = dataset_path("text", "sms-spam-collection", "SMSSpamCollection")
    (x_train, y_train), (x_test, y_test) = load_sms_spam(path)
    assert SMS_SPAM_CLASS_NAMES == ("ham", "spam")
    assert x_train.dtype.kind == "U" and y_train.dtype == numpy.int64
    assert len(x_train) + len(x_test) == 5574
    assert int(y_train.sum() + y_test.sum()) == 747
    assert len(x_test) == 965 + 149 and int(y_test.sum()) == 149  # round(0.2 * 4827) + round(0.2 * 747)
    # every line lands in exactly one side
    lines = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").split("\n") if line]
    expected = collections.Counter((text, SMS_SPAM_CLASS_NAMES.index(label)) for label, text in lines)
    assert _multiset(x_train, y_train) + _multiset(x_test, y_test) == expected
    # same seed → same split; another seed → another split
    (x_train2, _), (x_test2, y_test2) = load_sms_spam(path.parent)
    numpy.testing.assert_array_equal(x_test2, x_test)
    numpy.testing.assert_array_equal(x_train2, x_train)
    (_, _), (x_test3, y_test3) = load_sms_spam(path, seed=7)
    assert int(y_test3.sum()) == 149 and x_test3.tolist() != x_test.tolist()


def test_sentiment_has_3000_balanced_sentences_and_a_stratified_split():
    folder = dataset_path("text", "sentiment-labelled-sentences")
    (x_train, y_train), (x_test, y_test) = load_sentiment(folder)
    assert SENTIMENT_CLASS_NAMES == ("negative", "positive")
    assert len(x_train) == 2400 and len(x_test) == 600
    assert int(y_train.sum()) == 1200 and int(y_test.sum()) == 300
    assert set(numpy.unique(numpy.concatenate([y_train, y_test])).tolist()) == {0, 1}
    # the imdb file holds U+0085 inside sentences: it is not a line break
    assert "The script is\x85was there a script?" in set(x_train.tolist()) | set(x_test.tolist())
    (x_train2, _), (x_test2, _) = load_sentiment(folder)
    numpy.testing.assert_array_equal(x_test2, x_test)
    numpy.testing.assert_array_equal(x_train2, x_train)
    (xi_train, yi_train), (xi_test, yi_test) = load_sentiment(folder, sources="imdb", test_fraction=0.1)
    assert len(xi_train) + len(xi_test) == 1000 and len(xi_test) == 100
    assert int(yi_train.sum() + yi_test.sum()) == 500 and int(yi_test.sum()) == 50


def test_default_path_finds_the_shared_files():
    dataset_path("text", "sms-spam-collection", "SMSSpamCollection")
    (x_train, _), (x_test, _) = load_sms_spam()
    assert len(x_train) + len(x_test) == 5574


# ---- small files ---------------------------------------------------------------------------------------------
def _write_sentiment(folder, lines_per_source):
    folder.mkdir(parents=True, exist_ok=True)
    names = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
    for source, lines in lines_per_source.items():
        (folder / names[source]).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_loaders_read_neuronka_data_and_handle_crlf(tmp_path, monkeypatch):
    sms = tmp_path / "text" / "sms-spam-collection" / "SMSSpamCollection"
    sms.parent.mkdir(parents=True)
    sms.write_bytes("ham\tHi there\r\nspam\tWIN £100 now\r\nham\tok\r\n\r\n".encode())
    _write_sentiment(tmp_path / "text" / "sentiment-labelled-sentences",
                     {s: ["Good one.  \t1", "Bad.\t0", f"{s} good\t1", f"{s} bad\t0"]
                      for s in ("amazon", "imdb", "yelp")})
    monkeypatch.setenv("NEURONKA_DATA", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = load_sms_spam(test_fraction=0.0)
    assert len(x_test) == 0
    assert sorted(zip(x_train.tolist(), y_train.tolist())) == [("Hi there", 0), ("WIN £100 now", 1), ("ok", 0)]
    (x_train, y_train), (x_test, y_test) = load_sentiment(test_fraction=0.5)
    assert len(x_train) == len(x_test) == 6
    assert sorted(x_test.tolist() + x_train.tolist()).count("Good one.") == 3  # trailing blanks removed
    assert int(y_test.sum()) == 3  # one per (source, label) pair


@pytest.mark.parametrize("content, where", [
    ("ham\tfine\nthis line has no label\n", "line 2"),
    ("ham\tfine\n\nspamm\ttypo\n", "line 3"),
])
def test_malformed_sms_lines_are_reported_with_file_and_line(tmp_path, content, where):
    f = tmp_path / "SMSSpamCollection"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=where) as info:
        load_sms_spam(f)
    assert str(f) in str(info.value)


def test_malformed_sentiment_lines_and_bad_utf8_are_reported(tmp_path):
    folder = tmp_path / "sentiment-labelled-sentences"
    _write_sentiment(folder, {"amazon": ["Nice.\t1", "No label here"], "imdb": ["x\t1"], "yelp": ["y\t0"]})
    with pytest.raises(ValueError, match=r"amazon_cells_labelled\.txt, line 2"):
        load_sentiment(tmp_path)
    (folder / "amazon_cells_labelled.txt").write_bytes(b"Nice.\t1\nCaf\xe9\t0\n")
    with pytest.raises(ValueError, match=r"line 2: not valid UTF-8"):
        load_sentiment(folder)
    with pytest.raises(ValueError, match="sources"):
        load_sentiment(folder, sources=("twitter",))


def test_missing_files_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="SMSSpamCollection") as info:
        load_sms_spam(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)
    with pytest.raises(FileNotFoundError, match="sentiment-labelled-sentences"):
        load_sentiment(tmp_path)


def test_stratified_split_is_disjoint_complete_seeded_and_stratified():
    labels = numpy.array([0] * 90 + [1] * 10 + [2] * 3)
    train, test = stratified_split(labels, test_fraction=0.3, seed=5)
    assert len(numpy.intersect1d(train, test)) == 0
    assert sorted(numpy.concatenate([train, test]).tolist()) == list(range(len(labels)))
    assert collections.Counter(labels[test].tolist()) == {0: 27, 1: 3, 2: 1}
    train2, test2 = stratified_split(labels, test_fraction=0.3, seed=5)
    numpy.testing.assert_array_equal(train, train2)
    numpy.testing.assert_array_equal(test, test2)
    assert stratified_split(labels, 0.3, seed=6)[1].tolist() != test.tolist()
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(labels, 1.0)


# ---- augmentation ----------------------------------------------------------------------------------------------
TEXTS = ["the quick brown fox jumps over the lazy dog", "a  b\tc", "single", "", "one two"]
MATRIX = numpy.array([[5, 6, 7, 8, 9, 0], [2, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [4, 4, 4, 4, 4, 4]])


def _is_subsequence(small, big):
    it = iter(big)
    return all(tok in it for tok in small)


def test_token_dropout_is_deterministic_and_rate_0_is_identity():
    assert random_token_dropout(TEXTS, 0.0, seed=1) == TEXTS
    numpy.testing.assert_array_equal(random_token_dropout(MATRIX, 0.0, seed=1), MATRIX)
    a = random_token_dropout(TEXTS, 0.4, seed=3)
    assert a == random_token_dropout(TEXTS, 0.4, seed=3)
    assert any(random_token_dropout(TEXTS, 0.4, seed=s) != a for s in range(4, 10))
    for original, dropped in zip(TEXTS, a):
        assert _is_subsequence(dropped.split(), original.split())
    assert random_token_dropout(TEXTS, 1.0, seed=0) == [""] * len(TEXTS)
    assert random_token_dropout("a b c", 0.0) == "a b c"
    out = random_token_dropout(numpy.array(TEXTS), 0.5, seed=0)
    assert isinstance(out, numpy.ndarray) and out.shape == (len(TEXTS),)
    with pytest.raises(ValueError, match="rate"):
        random_token_dropout(TEXTS, 1.5)


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_token_dropout_on_token_matrices_keeps_order_and_padding_side(padding):
    out = random_token_dropout(MATRIX, 0.5, seed=11, padding=padding)
    assert out.shape == MATRIX.shape and out.dtype == MATRIX.dtype
    numpy.testing.assert_array_equal(out, random_token_dropout(MATRIX, 0.5, seed=11, padding=padding))
    for row, new in zip(MATRIX, out):
        kept = new[new != 0]
        assert _is_subsequence(kept.tolist(), row[row != 0].tolist())
        k = len(kept)
        if padding == "post":
            assert not new[k:].any()
        else:
            assert not new[:len(new) - k].any()
    assert not random_token_dropout(MATRIX, 1.0, seed=0).any()


def test_token_swap_is_deterministic_permutes_tokens_and_0_swaps_is_identity():
    assert random_token_swap(TEXTS, n_swaps=0, seed=1) == TEXTS
    assert random_token_swap(TEXTS, rate=0.0, seed=1) == TEXTS
    numpy.testing.assert_array_equal(random_token_swap(MATRIX, n_swaps=0, seed=1), MATRIX)
    a = random_token_swap(TEXTS, n_swaps=2, seed=3)
    assert a == random_token_swap(TEXTS, n_swaps=2, seed=3)
    assert any(random_token_swap(TEXTS, n_swaps=2, seed=s) != a for s in range(4, 10))
    for original, swapped in zip(TEXTS, a):
        assert sorted(swapped.split()) == sorted(original.split())
    assert a[2] == "single" and a[3] == ""  # fewer than two tokens: unchanged
    assert random_token_swap("x y", seed=0) == "y x"  # one swap of the only pair
    with pytest.raises(ValueError, match="not both"):
        random_token_swap(TEXTS, n_swaps=1, rate=0.5)


def test_token_swap_on_token_matrices_keeps_padding_in_place():
    m = numpy.array([[5, 0, 6, 7, 0, 8], [2, 3, 0, 0, 0, 0], [9, 0, 0, 0, 0, 0]])
    out = random_token_swap(m, rate=0.5, seed=2)
    numpy.testing.assert_array_equal(out == 0, m == 0)
    for row, new in zip(m, out):
        assert sorted(new.tolist()) == sorted(row.tolist())
    numpy.testing.assert_array_equal(out, random_token_swap(m, rate=0.5, seed=2))
    numpy.testing.assert_array_equal(random_token_swap(m[1], seed=0), [3, 2, 0, 0, 0, 0])

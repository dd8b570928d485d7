"""TextVectorization: strings → token indices or bag-of-words vectors (Keras 3 ``keras.layers.TextVectorization``).

Each string goes through five steps, as in Keras:

1. standardize: ``"lower_and_strip_punctuation"`` (default) lowercases ASCII letters (``tf.strings.lower``
   without an encoding, so ``É`` stays ``É``) and deletes the 32 ASCII punctuation characters
   ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``; also ``"lower"``, ``"strip_punctuation"``, ``None`` or a callable;
2. split: ``"whitespace"`` (runs of ASCII whitespace ``" \\t\\n\\r\\v\\f"``, leading/trailing ignored),
   ``"character"`` (one token per Unicode code point), ``None`` (the whole string is one token) or a callable;
3. ngrams: ``ngrams=n`` adds the 1-, 2-, …, n-grams (joined with one space), ``ngrams=(2, 3)`` exactly those
   widths; all n-grams of the first width come first, then those of the next width;
4. index: ``""`` (padding, 0) and ``"[UNK]"`` (out of vocabulary, 1) come first in ``"int"`` mode; in the other
   modes only ``"[UNK]"`` (0) is reserved. ``adapt`` orders the learned tokens by decreasing count, ties by
   decreasing token (code-point order, i.e. UTF-8 byte order), and keeps ``max_tokens`` minus the reserved ones;
5. encode: ``"int"`` gives an int64 matrix (N, L) padded with 0 at the end (L = ``output_sequence_length``, or
   the longest row of the batch); ``"multi_hot"`` gives x[n, v] = 1 if token v occurs in string n,
   ``"count"`` x[n, v] = #occurrences, ``"tf_idf"`` x[n, v] = count[n, v] · idf[v] with
   idf[v] = log(1 + N_docs / (1 + df[v])) learned by ``adapt`` (the OOV slot gets the mean idf), all float32
   of width ``vocabulary_size()`` (``max_tokens`` with ``pad_to_max_tokens=True``).

Pure Python/NumPy: ``str.translate`` for standardization, ``dict`` look-ups and vectorized scatters for the
outputs. The vocabulary (and the idf weights) travel in ``get_config()``, so they save and load with the model's
JSON config.
"""
from __future__ import annotations

import collections
import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy

from ..autograd import Tensor
from ..backend import floatx
from .base import Layer

__all__ = ["TextVectorization"]

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"

# The characters Keras's default regex r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']' matches: exactly the 32 ASCII
# punctuation characters (',-\.' is the range ',' '-' '.').
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_LOWER_TABLE = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_STRIP_TABLE = dict.fromkeys(map(ord, _PUNCTUATION))
_STANDARDIZE_TABLES = {
    "lower_and_strip_punctuation": {**_LOWER_TABLE, **_STRIP_TABLE},
    "lower": _LOWER_TABLE,
    "strip_punctuation": _STRIP_TABLE,
}
# tf.strings.split splits on ASCII whitespace only (so '\xa0' or '\x85' stay inside tokens)
_ASCII_WHITESPACE_TO_SPACE = str.maketrans("\t\n\r\v\f", "     ")

_OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
_OUTPUT_MODE_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}


def split_whitespace(text: str) -> list[str]:
    """Tokens of ``text`` separated by runs of ASCII whitespace (as ``tf.strings.split``), no empty tokens."""
    return [t for t in text.translate(_ASCII_WHITESPACE_TO_SPACE).split(" ") if t]


def _make_ngrams(tokens: list[str], widths: tuple[int, ...]) -> list[str]:
    """All n-grams of ``tokens`` for each width in ``widths`` (in that order), joined by one space."""
    out: list[str] = []
    n = len(tokens)
    for w in widths:
        if w == 1:
            out.extend(tokens)
        else:
            out.extend(" ".join(tokens[i:i + w]) for i in range(n - w + 1))
    return out


def _callable_config(fn, arg: str):
    """A JSON-able reference to a registered function (``neuronka.saving.register_keras_serializable``)."""
    from .. import saving  # noqa: PLC0415

    name = saving.get_registered_name(fn)
    if saving.get_registered_object(name) is not fn:
        raise ValueError(
            f"TextVectorization: cannot serialize `{arg}`={fn!r}: a callable must be registered with "
            f"`neuronka.saving.register_keras_serializable()` to be saved (its code is never stored)"
        )
    return {"module": None, "class_name": "function", "config": name, "registered_name": name}


def _callable_from_config(value, arg: str):
    if not isinstance(value, dict):
        return value
    from .. import saving  # noqa: PLC0415

    name = value.get("registered_name") or value.get("config")
    fn = saving.get_registered_object(name)
    if fn is None:
        raise ValueError(
            f"TextVectorization: could not find the function {name!r} given for `{arg}`; register it with "
            f"`neuronka.saving.register_keras_serializable()` or pass it in `custom_objects`"
        )
    return fn


class TextVectorization(Layer):
    """Maps a batch of strings to token indices (``"int"``) or bag-of-words vectors (``"multi_hot"``,
    ``"count"``, ``"tf_idf"``); see the module docstring for the exact steps.

    tf_idf: x[n, v] = count(v in string n) · idf[v], idf[v] = log(1 + N_docs / (1 + df[v])).

    The layer has no weights: its state is the vocabulary (and idf weights), learned by :meth:`adapt` or given
    with ``vocabulary=`` / :meth:`set_vocabulary`, and stored in :meth:`get_config`.
    Input: a list, tuple or NumPy array of str (or bytes, decoded with ``encoding``) of shape (N,) or (N, 1),
    a neuronka Tensor holding one, or a single string.

    Config: Keras's keys in Keras's order (``max_tokens`` ... ``vocabulary_size``) plus ``has_input_vocabulary``.
    Deliberately unlike Keras, whose config holds only a vocabulary given to the constructor (an adapted one
    goes to the saved file's assets), ``vocabulary``/``idf_weights`` hold the layer's current vocabulary, so
    the config alone rebuilds an adapted layer; ``has_input_vocabulary`` tells the two cases apart. (Keras's
    TextVectorization needs TensorFlow, so it is not compared with Keras here.)
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | Callable | None = "lower_and_strip_punctuation",
                 split: str | Callable | None = "whitespace", ngrams: int | Sequence[int] | None = None,
                 output_mode: str = "int", output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Sequence[str] | str | None = None, idf_weights=None, sparse: bool = False,
                 ragged: bool = False, encoding: str = "utf-8", name: str | None = None, **kwargs):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)  # in Keras's config; the vocabulary itself decides here
        super().__init__(name=name, **kwargs)
        if standardize is not None and not callable(standardize) and standardize not in _STANDARDIZE_TABLES:
            raise ValueError(
                f"TextVectorization: expected `standardize` to be None, a callable or one of "
                f"{list(_STANDARDIZE_TABLES)}, received standardize={standardize!r}"
            )
        if split is not None and not callable(split) and split not in ("whitespace", "character"):
            raise ValueError(
                f"TextVectorization: expected `split` to be None, a callable, 'whitespace' or 'character', "
                f"received split={split!r}"
            )
        output_mode = _OUTPUT_MODE_ALIASES.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"TextVectorization: expected `output_mode` to be one of {list(_OUTPUT_MODES)}, "
                f"received output_mode={output_mode!r}"
            )
        if max_tokens is not None:
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, numpy.integer)) or max_tokens <= 1:
                raise ValueError(
                    f"TextVectorization: if set, `max_tokens` must be an integer greater than 1, "
                    f"received max_tokens={max_tokens!r}"
                )
            max_tokens = int(max_tokens)
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("TextVectorization: pad_to_max_tokens=True requires `max_tokens`, "
                             "received max_tokens=None")
        self._ngrams_arg = ngrams
        self._ngrams = self._check_ngrams(ngrams)
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(
                    f"TextVectorization: `output_sequence_length` must not be set if `output_mode` is not 'int', "
                    f"received output_sequence_length={output_sequence_length!r} with output_mode={output_mode!r}"
                )
            if (isinstance(output_sequence_length, bool) or not isinstance(output_sequence_length, (int, numpy.integer))
                    or output_sequence_length <= 0):
                raise ValueError(
                    f"TextVectorization: expected `output_sequence_length` to be None or a positive integer, "
                    f"received output_sequence_length={output_sequence_length!r}"
                )
            output_sequence_length = int(output_sequence_length)
        if sparse:
            raise ValueError("TextVectorization: sparse=True is not supported (neuronka has no sparse tensors; "
                             "Keras allows it with the TensorFlow backend only), received sparse=True")
        if ragged:
            raise ValueError("TextVectorization: ragged=True is not supported (neuronka has no ragged tensors; "
                             "Keras allows it with the TensorFlow backend only), received ragged=True")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                f"TextVectorization: `idf_weights` should only be set if `output_mode` is 'tf_idf', "
                f"received output_mode={output_mode!r}"
            )
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("TextVectorization: when `vocabulary` is given with output_mode='tf_idf', "
                             "`idf_weights` must also be given, received idf_weights=None")
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.sparse = False
        self.ragged = False
        self.encoding = encoding
        self._has_input_vocabulary = bool(has_input_vocabulary)
        # state: learned tokens (no special tokens), token -> index, idf weights (length vocabulary_size())
        self._tokens: list[str] = []
        self._index: dict[str, int] = {}
        self._idf: numpy.ndarray | None = None
        self._vocabulary_set = False
        self._rebuild_index()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ---- helpers --------------------------------------------------------------------------
    @staticmethod
    def _check_ngrams(ngrams) -> tuple[int, ...] | None:
        if ngrams is None:
            return None
        if isinstance(ngrams, (int, numpy.integer)) and not isinstance(ngrams, bool) and ngrams >= 1:
            return tuple(range(1, int(ngrams) + 1))
        if (isinstance(ngrams, (tuple, list)) and ngrams
                and all(isinstance(n, (int, numpy.integer)) and not isinstance(n, bool) and n >= 1 for n in ngrams)):
            return tuple(int(n) for n in ngrams)
        raise ValueError(f"TextVectorization: expected `ngrams` to be None, a positive integer or a tuple of positive "
                         f"integers, received ngrams={ngrams!r}")

    def _token_start(self) -> int:
        """Number of reserved indices: 2 ('' and '[UNK]') in int mode, 1 ('[UNK]') otherwise."""
        return 2 if self.output_mode == "int" else 1

    def _oov_index(self) -> int:
        return 1 if self.output_mode == "int" else 0

    def _rebuild_index(self) -> None:
        start = self._token_start()
        index = {tok: i for i, tok in enumerate(self._tokens, start)}
        # the padding token '' maps to 0 in int mode and is dropped (-1) in the other modes
        index[PAD_TOKEN] = 0 if self.output_mode == "int" else -1
        self._index = index

    def _to_strings(self, data) -> tuple[list[str], bool]:
        """A flat list of str from a batch, and whether the input was a single string."""
        if isinstance(data, Tensor):
            data = data.numpy()
        if isinstance(data, (str, bytes)):
            return [data.decode(self.encoding) if isinstance(data, bytes) else data], True
        if isinstance(data, numpy.ndarray):
            arr = data
        else:
            arr = numpy.asarray(list(data) if not isinstance(data, (list, tuple)) else data, dtype=object)
        if arr.ndim == 0:
            v = arr.item()
            return [v.decode(self.encoding) if isinstance(v, bytes) else str(v)], True
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"TextVectorization {self.name!r}: expected a batch of strings of shape (N,) or (N, 1), "
                f"received an input of shape {tuple(arr.shape)}"
            )
        if arr.dtype.kind == "U":
            return arr.tolist(), False
        out = []
        for v in arr.tolist():
            if isinstance(v, bytes):
                v = v.decode(self.encoding)
            elif not isinstance(v, str):
                raise TypeError(f"TextVectorization {self.name!r}: expected strings, received an element {v!r} "
                                f"of type {type(v).__name__}")
            out.append(v)
        return out, False

    def _preprocess(self, texts: list[str]) -> list[list[str]]:
        """Standardize, split and form n-grams: one token list per string."""
        std = self.standardize
        if std is None:
            pass
        elif callable(std):
            n = len(texts)
            out = std(numpy.asarray(texts, dtype=object))
            if isinstance(out, Tensor):
                out = out.numpy()
            texts = [v.decode(self.encoding) if isinstance(v, bytes) else str(v)
                     for v in numpy.asarray(out, dtype=object).ravel().tolist()]
            if len(texts) != n:
                raise ValueError(f"TextVectorization {self.name!r}: the `standardize` callable must return one "
                                 f"string per input, received {len(texts)} for {n} inputs")
        else:
            table = _STANDARDIZE_TABLES[std]
            texts = [t.translate(table) for t in texts]
        split = self.split
        if split is None:
            token_lists = [[t] for t in texts]
        elif split == "whitespace":
            token_lists = [split_whitespace(t) for t in texts]
        elif split == "character":
            token_lists = [list(t) for t in texts]
        else:
            n = len(texts)
            result = split(numpy.asarray(texts, dtype=object))
            token_lists = [[v.decode(self.encoding) if isinstance(v, bytes) else str(v) for v in toks]
                           for toks in result]
            if len(token_lists) != n:
                raise ValueError(f"TextVectorization {self.name!r}: the `split` callable must return one token "
                                 f"sequence per input, received {len(token_lists)} for {n} inputs")
        if self._ngrams is not None:
            widths = self._ngrams
            token_lists = [_make_ngrams(toks, widths) for toks in token_lists]
        return token_lists

    # ---- vocabulary ------------------------------------------------------------------------
    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and the idf weights in ``"tf_idf"`` mode) from ``data``.

        ``data``: a list/tuple/array of strings (each one a document), a single string, or an iterable of such
        batches (``steps`` limits how many batches are read). Tokens are ranked by count, ties by decreasing token;
        the first ``max_tokens - (2 if int mode else 1)`` are kept. idf[v] = log(1 + N_docs / (1 + df[v])), the
        OOV slot getting the mean idf of the kept tokens.
        """
        if self._has_input_vocabulary:
            raise ValueError(
                f"TextVectorization {self.name!r}: cannot adapt a layer whose vocabulary was set with the "
                f"`vocabulary` argument; create the layer without `vocabulary` to learn one"
            )
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps < 0):
            raise ValueError(f"TextVectorization.adapt: expected `steps` to be None or a non-negative integer, "
                             f"received steps={steps!r}")
        if isinstance(data, (list, tuple, numpy.ndarray, Tensor, str, bytes)):
            batches: Iterable = [data]
        elif hasattr(data, "__iter__"):
            batches = data if steps is None else itertools.islice(data, int(steps))
        else:
            raise TypeError(f"TextVectorization.adapt: expected a list or array of strings, or an iterable of "
                            f"batches of strings, received {type(data).__name__}")
        counts: collections.Counter = collections.Counter()
        doc_counts: collections.Counter = collections.Counter()
        n_docs = 0
        tf_idf = self.output_mode == "tf_idf"
        for batch in batches:
            texts, _ = self._to_strings(batch)
            token_lists = self._preprocess(texts)
            counts.update(itertools.chain.from_iterable(token_lists))
            if tf_idf:
                doc_counts.update(itertools.chain.from_iterable(map(set, token_lists)))
                n_docs += len(token_lists)
        counts.pop(PAD_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        if not counts:
            # as Keras: adapting on data without any token leaves the layer as it was
            return
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[:self.max_tokens - self._token_start()]
        self._tokens = [tok for tok, _ in ranked]
        if tf_idf:
            df = numpy.array([doc_counts[tok] for tok in self._tokens], dtype=numpy.float64)
            idf = numpy.log(1.0 + n_docs / (1.0 + df)).astype(floatx())
            self._idf = numpy.concatenate([numpy.full(1, idf.mean(), dtype=idf.dtype), idf])
        self._rebuild_index()
        self._vocabulary_set = True

    def set_vocabulary(self, vocabulary: Sequence[str] | str, idf_weights=None) -> None:
        """Set the vocabulary (a sequence of str, or the path of a UTF-8 file with one token per line).

        The special tokens may be left out, or given first in exactly Keras's order (``["", "[UNK]"]`` in int
        mode, ``["[UNK]"]`` otherwise). ``idf_weights`` (tf_idf mode only, required there) has the length of
        ``vocabulary``; when the special tokens are left out, the OOV slot gets the mean of the given weights.
        """
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("TextVectorization.set_vocabulary: `idf_weights` must be set if output_mode is "
                                 "'tf_idf', received idf_weights=None")
        elif idf_weights is not None:
            raise ValueError(f"TextVectorization.set_vocabulary: `idf_weights` should only be set if output_mode is "
                             f"'tf_idf', received output_mode={self.output_mode!r}")
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"TextVectorization.set_vocabulary: vocabulary file {path!r} does not exist")
            if self.output_mode == "tf_idf":
                raise ValueError("TextVectorization.set_vocabulary: output_mode 'tf_idf' does not support loading a "
                                 "vocabulary from a file; pass a list and `idf_weights`")
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        if isinstance(vocabulary, Tensor):
            vocabulary = vocabulary.numpy()
        vocab = [v.decode(self.encoding) if isinstance(v, bytes) else str(v)
                 for v in (vocabulary.tolist() if isinstance(vocabulary, numpy.ndarray) else vocabulary)]
        if not vocab:
            raise ValueError(f"TextVectorization.set_vocabulary: cannot set an empty vocabulary, "
                             f"received {vocabulary!r}")
        start = self._token_start()
        special = [PAD_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]
        found_special = vocab[:start] == special
        tokens = vocab[start:] if found_special else vocab
        if len(set(tokens)) != len(tokens):
            repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
            raise ValueError(f"TextVectorization.set_vocabulary: the vocabulary has repeated terms {repeated[:10]}; "
                             f"expected unique terms")
        if PAD_TOKEN in tokens:
            raise ValueError(
                f"TextVectorization.set_vocabulary: found the reserved padding token '' at vocabulary index "
                f"{len(vocab) - 1 - vocab[::-1].index(PAD_TOKEN)}; leave the special tokens out, or put them first "
                f"in exactly this order: {special}"
            )
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"TextVectorization.set_vocabulary: attempted to set a vocabulary of size "
                             f"{start + len(tokens)}, larger than max_tokens={self.max_tokens}")
        idf = None
        if self.output_mode == "tf_idf":
            if isinstance(idf_weights, Tensor):
                idf_weights = idf_weights.numpy()
            w = numpy.asarray(idf_weights, dtype=numpy.float64)
            if w.ndim != 1:
                raise ValueError(f"TextVectorization.set_vocabulary: expected 1-D `idf_weights`, received shape "
                                 f"{tuple(w.shape)}")
            if len(w) != len(vocab):
                raise ValueError(f"TextVectorization.set_vocabulary: `idf_weights` must have the length of the "
                                 f"vocabulary, received len(idf_weights)={len(w)} and len(vocabulary)={len(vocab)}")
            if not found_special:
                w = numpy.concatenate([numpy.full(start, w.mean() if len(w) else 0.0), w])
            idf = w.astype(floatx())
        self._tokens = tokens
        self._idf = idf
        self._rebuild_index()
        self._vocabulary_set = True

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary, index i holding the token the layer maps to i (special tokens first unless excluded)."""
        if not include_special_tokens:
            return list(self._tokens)
        special = [PAD_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]
        return special + list(self._tokens)

    def vocabulary_size(self) -> int:
        """Size of the vocabulary including the reserved indices (2 in int mode, 1 otherwise)."""
        return self._token_start() + len(self._tokens)

    @property
    def idf_weights(self) -> numpy.ndarray | None:
        """The tf_idf weights, one per vocabulary index (None outside tf_idf mode or before a vocabulary)."""
        return None if self._idf is None else self._idf.copy()

    # ---- calling ------------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        from .symbolic import KerasTensor  # noqa: PLC0415

        if isinstance(inputs, KerasTensor) or (
                isinstance(inputs, (list, tuple)) and any(isinstance(x, KerasTensor) for x in inputs)):
            out = super().__call__(inputs, *args, **kwargs)
            out.dtype = "int64" if self.output_mode == "int" else floatx()
            return out
        # strings are not tensors of numbers: skip the numeric input conversion of Layer.__call__
        return self.call(inputs)

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return int(self.max_tokens)
        if not self._vocabulary_set:
            raise RuntimeError(
                f"TextVectorization {self.name!r}: with output_mode={self.output_mode!r} and pad_to_max_tokens=False "
                f"the vocabulary must be set before calling the layer: pass `vocabulary=` or call `adapt()` first"
            )
        return self.vocabulary_size()

    def call(self, inputs) -> Tensor:
        """Encode a batch of strings: int64 (N, L) in int mode, float32 (N, depth) otherwise."""
        texts, single = self._to_strings(inputs)
        token_lists = self._preprocess(texts)
        n = len(token_lists)
        get = self._index.get
        oov = self._oov_index()
        ids = numpy.fromiter((get(t, oov) for toks in token_lists for t in toks), dtype=numpy.int64)
        lengths = numpy.fromiter(map(len, token_lists), dtype=numpy.int64, count=n)
        rows = numpy.repeat(numpy.arange(n), lengths)
        if self.output_mode == "int":
            width = self.output_sequence_length
            if width is None:
                width = int(lengths.max()) if n else 0
            starts = numpy.cumsum(lengths) - lengths
            cols = numpy.arange(len(ids)) - numpy.repeat(starts, lengths)
            keep = cols < width
            out = numpy.zeros((n, width), dtype=numpy.int64)
            out[rows[keep], cols[keep]] = ids[keep]
        else:
            depth = self._depth()
            keep = ids >= 0  # the padding token is dropped
            rows, ids = rows[keep], ids[keep]
            out = numpy.zeros((n, depth), dtype=floatx())
            if self.output_mode == "multi_hot":
                out[rows, ids] = 1
            else:
                numpy.add.at(out, (rows, ids), 1)
                if self.output_mode == "tf_idf":
                    if self._idf is None:
                        raise RuntimeError(f"TextVectorization {self.name!r}: tf_idf output needs idf weights: call "
                                           f"`adapt()` or pass `vocabulary=` and `idf_weights=`")
                    idf = numpy.zeros(depth, dtype=out.dtype)
                    idf[:len(self._idf)] = self._idf[:depth]
                    out *= idf
        if single:
            out = out[0]
        return Tensor(out)

    def compute_output_shape(self, input_shape):
        batch = input_shape[0] if len(input_shape) else None
        if self.output_mode == "int":
            return (batch, self.output_sequence_length)
        if self.pad_to_max_tokens:
            return (batch, self.max_tokens)
        return (batch, self.vocabulary_size() if self._vocabulary_set else None)

    # ---- serialization --------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The layer's arguments plus its vocabulary (with special tokens) and idf weights, all JSON-able."""
        standardize = self.standardize
        if callable(standardize):
            standardize = _callable_config(standardize, "standardize")
        split = self.split
        if callable(split):
            split = _callable_config(split, "split")
        ngrams = list(self._ngrams_arg) if isinstance(self._ngrams_arg, (tuple, list)) else self._ngrams_arg
        idf = None if self._idf is None else [float(v) for v in self._idf.tolist()]
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "standardize": standardize,
            "split": split,
            "ngrams": ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": self.sparse,
            "ragged": self.ragged,
            "vocabulary": self.get_vocabulary() if self._vocabulary_set else None,
            "idf_weights": idf,
            "encoding": self.encoding,
            "vocabulary_size": self.vocabulary_size(),
            "has_input_vocabulary": self._has_input_vocabulary,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["standardize"] = _callable_from_config(config.get("standardize"), "standardize")
        config["split"] = _callable_from_config(config.get("split"), "split")
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

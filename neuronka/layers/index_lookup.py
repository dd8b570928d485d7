"""StringLookup and IntegerLookup: vocabulary terms ↔ integer indices (Keras 3's, on NumPy).

The index space, as Keras lays it out (``int`` output mode)::

    0                        the mask token (only when ``mask_token`` is set)
    next num_oov_indices     out-of-vocabulary (OOV) buckets
    then                     the vocabulary terms, in order

In the other output modes the mask token has no index (masked inputs are dropped) and the OOV buckets start
at 0. An OOV input goes to the single OOV index, or with several buckets to bucket fingerprint64(term) mod n
(strings; SipHash-2-4 keyed by ``salt`` instead when given; FarmHash of the decimal text for integers with
``oov_method="farmhash"``), or term mod n (integers, ``oov_method="floormod"``) — Keras's buckets exactly
(:mod:`.hash_functions`). With ``num_oov_indices=0`` an OOV input is an error.

``output_mode``: "int" (the indices, int64, any shape), or encoded as in
:func:`~neuronka.layers.categorical.encode_categorical`: "one_hot", "multi_hot", "count" (int64 vectors, as
Keras's layers really return them) and "tf_idf" (float32: count[v]·idf[v]), of width ``vocabulary_size()``
(``max_tokens`` with ``pad_to_max_tokens=True``). ``invert=True`` maps indices back to terms.

:meth:`adapt` counts the terms of the data and keeps the most frequent (ties: the larger term first), up to
``max_tokens`` indices in all; in "tf_idf" mode it also learns idf[v] = log(1 + N_docs/(1 + df[v])), the
OOV indices getting the mean idf. The layers are not differentiable (outputs carry no graph).

State and saving, as in Keras: a vocabulary passed to the constructor is in ``get_config()``; an adapted one
(or one read from a file) is not — it is saved as the asset ``vocabulary.txt`` of a ``.keras`` file
(:meth:`save_assets` / :meth:`load_assets`), and ``vocabulary_size`` in the config records its size.
"""
from __future__ import annotations

import collections
import os

import numpy

from ..autograd import Tensor
from ..backend import floatx
from .categorical import DataPreprocessingLayer, as_array, check_string_arg, encode_categorical
from .hash_functions import fingerprint64, siphash64

__all__ = ["IntegerLookup", "StringLookup"]

_INT64_MAX = numpy.iinfo(numpy.int64).max
_DROPPED = -2  # the index of a masked input in the encoded modes: outside [0, depth), so it encodes to zeros


def _listify(x):
    """A vocabulary or weights argument as Keras's config holds it (arrays and tensors as lists)."""
    if isinstance(x, Tensor):
        x = x.numpy()
    if isinstance(x, numpy.ndarray):
        return x.tolist()
    return x


class IndexLookup(DataPreprocessingLayer):
    """The shared machinery of :class:`StringLookup` and :class:`IntegerLookup` (see the module docstring).
    Subclasses say how inputs become keys (``_keys``) and terms become text (``_term_text``)."""

    _is_string = False

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", name=None, salt=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        check_string_arg(type(self).__name__, "oov_method", oov_method, ("floormod", "farmhash"))
        if salt is not None:
            if not self._is_string and oov_method != "farmhash":
                raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: "
                                 f"oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, (int, numpy.integer)) and not isinstance(salt, bool):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError(f"The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_string_arg(type(self).__name__, "output_mode", output_mode,
                         ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError(f"`sparse` may only be true if `output_mode` is `'one_hot'`, `'multi_hot'`, `'count'` or "
                             f"`'tf_idf'`. Received: sparse={sparse} and output_mode={output_mode}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                             f"idf_weights={idf_weights} and output_mode={output_mode}")
        frozen = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)  # Keras's lookup layers keep neither: always trainable, float32 policy
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword argument(s): {kwargs}")
        super().__init__(name=name)
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._frozen_vocab_size = frozen
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, (str, os.PathLike)) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._set_tokens([])
        self.idf_weights = None  # float32, one per index (tf_idf mode)
        if output_mode == "tf_idf":
            if self._has_input_vocabulary and idf_weights is None:
                raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                                 "`idf_weights` argument must also be provided.")
            if idf_weights is not None:
                self.idf_weights = numpy.asarray(as_array(idf_weights), dtype=floatx())
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ---- subclass hooks ------------------------------------------------------------------------------
    def _keys(self, data) -> numpy.ndarray:
        raise NotImplementedError

    def _term_text(self, term) -> str:
        return str(term)

    # ---- the index space ---------------------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _set_tokens(self, tokens) -> None:
        """Install the vocabulary terms (no special tokens) and the sorted index used to look them up."""
        dtype = object if self._is_string else numpy.int64
        self._tokens = numpy.asarray(list(tokens), dtype=dtype).reshape(-1)
        self._order = numpy.argsort(self._tokens, kind="stable")
        self._sorted = self._tokens[self._order]

    def vocabulary_size(self) -> int:
        """The number of indices: the special ones and the terms."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The term of each index (the mask token at 0 and the OOV token at the OOV indices, unless left out)."""
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        vocab = special + self._tokens.tolist()
        return vocab[self._token_start_index():] if not include_special_tokens else vocab

    def _record_vocabulary_size(self) -> None:
        size = self.vocabulary_size()
        if (self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is not None
                and size != self._frozen_vocab_size):
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, the "
                               f"vocabulary size cannot be changed after the layer is called. Old vocab size is "
                               f"{self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    # ---- vocabulary ---------------------------------------------------------------------------------------
    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary: a sequence of terms (the special tokens may lead it, in the index order) or the
        path of a text file with one term per line (taken as it is); ``idf_weights`` in "tf_idf" mode, one per
        term (the OOV indices then get their mean) or per index."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            self._set_vocabulary_file(os.fspath(vocabulary))
            return
        if as_array(vocabulary).size == 0:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        vocab = self._keys(vocabulary).reshape(-1)
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = vocab[:token_start].tolist() == special
        tokens = vocab[token_start:] if found_special else vocab
        counts = collections.Counter(tokens.tolist())
        repeated = [t for t, c in counts.items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        for what, token, check in (("mask", self.mask_token, True), ("OOV", self.oov_token, self.invert)):
            if token is not None and check and token in counts:
                where = int(numpy.flatnonzero(vocab == token)[-1])
                raise ValueError(f"Found reserved {what} token at unexpected location in `vocabulary`. Note that "
                                 f"passed `vocabulary` does not need to include the OOV and mask tokens. Either remove "
                                 f"all mask and OOV tokens, or include them only at the start of the vocabulary in "
                                 f"precisely this order: {special}. Received: "
                                 f"{'mask_token' if what == 'mask' else 'oov_token'}={token} at vocabulary index "
                                 f"{where}")
        new_size = token_start + len(tokens)
        if self.max_tokens is not None and new_size > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {new_size}; `max_tokens` is {self.max_tokens}.")
        weights = None
        if self.output_mode == "tf_idf":
            w = numpy.asarray(as_array(idf_weights))
            if len(vocab) != len(w):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(w)}; len(vocabulary) is {len(vocab)}")
            if w.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: type(idf_weights)={type(w)}")
            front, front_value = (0, 0.0) if found_special else (token_start, numpy.average(w))
            back = self.max_tokens - front - len(w) if self.pad_to_max_tokens and self.max_tokens is not None else 0
            weights = numpy.pad(w, (front, back), "constant", constant_values=(front_value, 0)).astype(floatx())
        previous = self._tokens
        self._set_tokens(tokens.tolist())
        try:
            self._record_vocabulary_size()
        except RuntimeError:
            self._set_tokens(previous.tolist())
            raise
        if weights is not None:
            self.idf_weights = weights

    def _set_vocabulary_file(self, path: str) -> None:
        if not os.path.exists(path):
            raise ValueError(f"Vocabulary file {path} does not exist.")
        if self.output_mode == "tf_idf":
            raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        terms = self._keys(numpy.asarray(lines, dtype=object)) if lines else numpy.asarray([], dtype=object)
        repeated = [t for t, c in collections.Counter(terms.tolist()).items() if c > 1]
        if repeated:
            raise ValueError(f"{type(self).__name__}: the vocabulary file {path} has repeated terms {repeated[:10]}")
        previous = self._tokens
        self._set_tokens(terms.tolist())
        try:
            self._record_vocabulary_size()
        except RuntimeError:
            self._set_tokens(previous.tolist())
            raise

    # ---- adapt ---------------------------------------------------------------------------------------------
    def adapt(self, data, steps=None) -> None:
        """Learn the vocabulary from ``data``: an array, list, tuple or Tensor (each element one term, or one
        row per document for a 2-D input), or any other iterable of batches (a neuronka ``Dataset``, a
        generator), at most ``steps`` of them; a 1-D batch of such an iterable is one document."""
        self.reset_state()
        if isinstance(data, (list, tuple, numpy.ndarray, Tensor, str, bytes, int, numpy.generic)):
            arr = self._keys(data)
            if arr.ndim == 1:
                arr = arr[:, None]
            self.update_state(arr)
        elif hasattr(data, "__iter__"):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            raise TypeError(f"{type(self).__name__}.adapt: expected an array, a list or an iterable of batches, "
                            f"received {type(data).__name__}")
        self.finalize_state()

    def update_state(self, data) -> None:
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             f"argument or `set_vocabulary()` method.")
        arr = self._keys(data)
        if arr.ndim == 0:
            arr = arr[None]
        if arr.ndim == 1:
            arr = arr[None, :]
        self._token_counts.update(arr.reshape(-1).tolist())
        if self.output_mode == "tf_idf":
            for row in arr.reshape(arr.shape[0], -1):
                self._document_counts.update(set(row.tolist()))
            self._num_documents += arr.shape[0]

    def finalize_state(self) -> None:
        counts = self._token_counts
        if self._has_input_vocabulary or not counts:
            self._record_vocabulary_size()
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start_index()]
        tokens = [t for t, _ in ranked]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            df = numpy.asarray([self._document_counts[t] for t in tokens], dtype=numpy.float64)
            idf = numpy.log(1 + self._num_documents / (1 + df)).astype(floatx())
            idf = numpy.pad(idf, (self._token_start_index(), 0), constant_values=idf.mean(dtype=idf.dtype))
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = numpy.pad(idf, (0, self.max_tokens - idf.size), constant_values=0)
            self.idf_weights = idf.astype(floatx())
        self.reset_state()
        self._record_vocabulary_size()

    def reset_state(self) -> None:
        if self._has_input_vocabulary:
            return
        self._token_counts: collections.Counter = collections.Counter()
        self._document_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    # ---- calling -------------------------------------------------------------------------------------------
    def _output_dtype(self) -> str:
        if self.invert:
            return "string" if self._is_string else "int64"
        return floatx() if self.output_mode == "tf_idf" else "int64"

    def _positions(self, keys: numpy.ndarray) -> numpy.ndarray:
        """The vocabulary position of each key (−1 where it is not a term)."""
        n = len(self._sorted)
        if n == 0:
            return numpy.full(keys.shape, -1, dtype=numpy.int64)
        pos = numpy.minimum(numpy.searchsorted(self._sorted, keys), n - 1)
        found = self._sorted[pos] == keys
        return numpy.where(found, self._order[pos], -1).astype(numpy.int64)

    def _oov_buckets(self, keys: numpy.ndarray) -> numpy.ndarray:
        n = self.num_oov_indices
        if not self._is_string and self.oov_method != "farmhash":
            return numpy.mod(keys, n)  # floor mod: −7 mod 3 = 2
        data = [self._term_bytes(k) for k in keys.tolist()]
        h = siphash64(data, self.salt) if self.salt is not None else fingerprint64(data)
        return (h % numpy.uint64(n)).astype(numpy.int64)

    def _term_bytes(self, term) -> bytes:
        return str(term).encode()

    def _lookup(self, keys: numpy.ndarray) -> numpy.ndarray:
        """Indices of the keys (flat), with the mask and the OOV rules applied."""
        pos = self._positions(keys)
        out = numpy.where(pos >= 0, pos + self._token_start_index(), -1)
        if self.mask_token is not None:
            masked = keys == self.mask_token
            out[masked] = 0 if self.output_mode == "int" else _DROPPED
        else:
            masked = numpy.zeros(keys.shape, dtype=bool)
        oov = (pos < 0) & ~masked
        if oov.any():
            if self.num_oov_indices == 0:
                raise RuntimeError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                   f"{keys[oov].tolist()[:20]}, consider setting `num_oov_indices=1`.")
            if self.num_oov_indices == 1:
                out[oov] = self._oov_start_index()
            else:
                out[oov] = self._oov_buckets(keys[oov]) + self._oov_start_index()
        return out

    def _invert(self, indices: numpy.ndarray) -> numpy.ndarray:
        pos = indices - self._token_start_index()
        valid = (pos >= 0) & (pos < len(self._tokens))
        terms = self._tokens[numpy.where(valid, pos, 0)] if len(self._tokens) else numpy.zeros(pos.shape, object)
        out = numpy.where(valid, terms, numpy.asarray(self.oov_token, dtype=object))
        if self.mask_token is not None:
            out = numpy.where(indices == 0, numpy.asarray(self.mask_token, dtype=object), out)
        return out.astype(str) if self._is_string else out.astype(numpy.int64)

    def call(self, inputs):
        if self.invert:
            x = as_array(inputs)
            if x.dtype.kind not in "iu":
                raise ValueError(f"{type(self).__name__} {self.name!r} (invert=True): expected integer indices, "
                                 f"received an input of dtype {x.dtype}")
            return self._invert(x.astype(numpy.int64))
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is None:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must "
                               f"set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to "
                               f"the layer, or call `adapt` with some sample data.")
        keys = self._keys(inputs)
        indices = self._lookup(keys.reshape(-1)).reshape(keys.shape)
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode != "tf_idf":
            return encode_categorical(indices, self.output_mode, depth, numpy.int64)
        if self.idf_weights is None:
            raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be provided.")
        counts = encode_categorical(indices, "count", depth, numpy.int64)
        return counts.astype(self.idf_weights.dtype) * self.idf_weights

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    # ---- config and saving -----------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": _listify(self.input_idf_weights),
                "vocabulary": _listify(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method, "salt": self.salt}

    def get_build_config(self) -> dict:
        return {}

    def build_from_config(self, config) -> None:
        self.built = True

    def save_assets(self, dir_path: str) -> None:
        """Write ``vocabulary.txt`` (one term per line, special tokens included) for a vocabulary that the
        config does not hold (adapted, or read from a file), as Keras does."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(self._term_text(w) for w in self.get_vocabulary(include_special_tokens=True)))

    def load_assets(self, dir_path: str) -> None:
        """Read what :meth:`save_assets` (or Keras) wrote."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = [line for line in lines] if self._is_string else [int(line) for line in lines]
        if self.output_mode == "tf_idf":
            self.set_vocabulary(values, idf_weights=self.idf_weights)
        else:
            self.set_vocabulary(values)

    def save_own_variables(self, store) -> None:
        """Keras's: ``store["idf_weights"]`` in "tf_idf" mode."""
        for key, value in self._named_saved_state().items():
            if value is not None:
                store[key] = value

    def load_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf":
            self._load_named_saved_state("idf_weights", store["idf_weights"])

    def _named_saved_state(self) -> dict:
        """What a weights file holds for this layer by name (``neuronka.saving`` reads and writes it): the idf
        weights in "tf_idf" mode, as Keras saves them."""
        return {"idf_weights": self.idf_weights} if self.output_mode == "tf_idf" else {}

    def _load_named_saved_state(self, key: str, value) -> None:
        self.idf_weights = numpy.asarray(value, dtype=floatx())


class StringLookup(IndexLookup):
    """Strings → indices (or indices → strings with ``invert=True``); see the module docstring. Inputs: str or
    bytes (decoded as UTF-8) in a list, tuple, NumPy array or Tensor of any shape, or a single string. Inverted
    outputs are a Tensor of NumPy strings of the input's shape (Keras's torch backend returns a Python list,
    and fails on more than one axis). ``sparse=True`` is Keras's error for a backend without sparse tensors."""

    _is_string = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def _keys(self, data) -> numpy.ndarray:
        """An object array of str: bytes decoded as UTF-8 (undecodable bytes kept distinct)."""
        arr = as_array(data)
        if arr.dtype.kind == "U":
            return arr.astype(object)
        if arr.dtype.kind == "S" or arr.dtype == object:
            flat = arr.reshape(-1).tolist()
            out = numpy.empty(len(flat), dtype=object)
            for i, v in enumerate(flat):
                if isinstance(v, bytes):
                    v = v.decode("utf-8", errors="surrogateescape")
                elif not isinstance(v, str):
                    raise ValueError(f"StringLookup {self.name!r}: expected strings, received {v!r} of type "
                                     f"{type(v).__name__}")
                out[i] = v
            return out.reshape(arr.shape)
        raise ValueError(f"StringLookup {self.name!r}: expected strings, received an input of dtype {arr.dtype}")

    def _term_bytes(self, term) -> bytes:
        return term.encode("utf-8", errors="surrogateescape")

    def get_config(self) -> dict:
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Integers → indices (or indices → integers with ``invert=True``); see the module docstring. Inputs: any
    integer array, list or Tensor (floats are truncated, as Keras's cast does); terms are int64."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype=vocabulary_dtype,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _keys(self, data) -> numpy.ndarray:
        arr = as_array(data)
        if arr.dtype == object and arr.size and isinstance(arr.reshape(-1)[0], bytes):
            try:  # lines of a vocabulary file
                return numpy.asarray([int(v) for v in arr.reshape(-1).tolist()], dtype=numpy.int64).reshape(arr.shape)
            except ValueError:
                raise ValueError(f"IntegerLookup {self.name!r}: the vocabulary file holds a line that is not an "
                                 f"integer") from None
        if arr.size == 0:
            return arr.astype(numpy.int64)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"IntegerLookup {self.name!r}: expected integers, received an input of dtype {arr.dtype}")
        return arr.astype(numpy.int64)

    def get_config(self) -> dict:
        config = super().get_config()
        if config["oov_token"] is not None:
            config["oov_token"] = int(config["oov_token"])
        if config["mask_token"] is not None:
            config["mask_token"] = int(config["mask_token"])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config

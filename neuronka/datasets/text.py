"""The two text data sets of the shared folder, and text augmentation by noise (token dropout, token swaps).

- :func:`load_sms_spam`: UCI SMS Spam Collection (Almeida & Hidalgo, 2011; CC BY 4.0), 5,574 messages
  ``label<TAB>text``, 4,827 ham (0) and 747 spam (1). Imbalanced: report precision, recall and F1.
- :func:`load_sentiment`: UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015), 1,000 sentences
  ``sentence<TAB>0|1`` from each of amazon, imdb and yelp, 500 positive (1) and 500 negative (0) in each.

Both return ``(x_train, y_train), (x_test, y_test)``: x a NumPy array of str, y int64, split by a fixed seeded
stratified split (:func:`stratified_split`; same seed → same split; each class, and for the sentences each
(source, class) pair, contributes ``round(test_fraction · n)`` examples to the test set). The files are read as
UTF-8 and split on ``"\\n"`` only (the imdb file holds U+0085, which ``str.splitlines`` would wrongly treat as a
line break); a malformed line raises a ``ValueError`` naming the file and the line number.

Where the files are looked for when no ``path`` is given: ``$NEURONKA_DATA/text/...`` (``NEURONKA_DATA`` being
the folder that holds ``text/``), then ``../shared/datasets/text/...`` relative to the working directory, then
the ``shared/datasets`` folder beside this checkout.

Augmentation (off unless called; the notes' "adding noise to text"): :func:`random_token_dropout` removes each
token with probability ``rate``; :func:`random_token_swap` swaps random pairs of tokens. Both work on strings
(tokens = runs of non-ASCII-whitespace, as ``TextVectorization`` splits them) or on int token matrices
(N, L) where 0 is padding, and are deterministic given ``seed``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy

from .. import config
from .. import random as _random
from ..layers.text_vectorization import split_whitespace

__all__ = [
    "SENTIMENT_CLASS_NAMES",
    "SENTIMENT_SOURCES",
    "SMS_SPAM_CLASS_NAMES",
    "load_sentiment",
    "load_sms_spam",
    "random_token_dropout",
    "random_token_swap",
    "stratified_split",
]

SMS_SPAM_CLASS_NAMES = ("ham", "spam")
SENTIMENT_CLASS_NAMES = ("negative", "positive")
SENTIMENT_SOURCES = ("amazon", "imdb", "yelp")

_SMS_PARTS = ("text", "sms-spam-collection", "SMSSpamCollection")
_SENTIMENT_PARTS = ("text", "sentiment-labelled-sentences")
_SENTIMENT_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}


# ----------------------------------------------------------------------------------
# finding and reading the files
# ----------------------------------------------------------------------------------
def _default_roots() -> list[Path]:
    """Folders that may hold ``text/``: $NEURONKA_DATA, ../shared/datasets (from the working directory),
    and the shared/datasets folder beside this checkout."""
    roots = []
    env = config.get("data")  # neuronka.config: NEURONKA_DATA
    if env:
        roots.append(Path(env))
    roots.append(Path.cwd().parent / "shared" / "datasets")
    checkout_side = Path(__file__).resolve().parents[3] / "shared" / "datasets"
    if checkout_side not in roots:
        roots.append(checkout_side)
    return roots


def _resolve(path, parts: tuple[str, ...], want_dir: bool, what: str, marker: str | None = None) -> Path:
    """The file (or folder holding ``marker``) of a data set: ``path`` itself, or ``parts`` under ``path`` or
    under the default roots."""
    if path is not None:
        base = Path(path).expanduser()
        # accept the file/folder itself, or any folder above it down the expected layout
        candidates = [base] + [base.joinpath(*parts[i:]) for i in range(len(parts))]
    else:
        candidates = [root.joinpath(*parts) for root in _default_roots()]
    for c in candidates:
        if (c.is_dir() and (marker is None or (c / marker).is_file())) if want_dir else c.is_file():
            return c
    looked = ", ".join(str(c) for c in candidates)
    hint = "pass `path=`" if path is not None else "pass `path=` or set NEURONKA_DATA to the folder holding text/"
    raise FileNotFoundError(f"{what} not found; looked for {'/'.join(parts)} at: {looked} ({hint})")


def _read_lines(file: Path) -> list[tuple[int, str]]:
    """(line number, line) for each non-empty line of a UTF-8 file, line endings stripped; split on '\\n' only."""
    data = file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{file}, line {line}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    out = []
    for i, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if line:
            out.append((i, line))
    return out


# ----------------------------------------------------------------------------------
# the split
# ----------------------------------------------------------------------------------
def stratified_split(groups, test_fraction: float = 0.2,
                     seed: int | None = 1337) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Indices (train, test) of a seeded stratified split of ``len(groups)`` examples.

    Each distinct value g of ``groups`` sends round(test_fraction · n_g) of its n_g examples, chosen at random,
    to the test set; both index arrays come shuffled (so a later ``validation_split``, which takes the tail, sees
    every class). The same ``groups``, ``test_fraction`` and ``seed`` always give the same split.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 <= test_fraction < 1:
        raise ValueError(f"stratified_split: expected `test_fraction` in [0, 1), received {test_fraction!r}")
    groups = numpy.asarray(groups)
    rng = _random.generator(None) if seed is None else numpy.random.default_rng(seed)
    _, inverse = numpy.unique(groups, return_inverse=True)
    inverse = inverse.reshape(-1)
    train, test = [], []
    for g in range(int(inverse.max()) + 1 if inverse.size else 0):
        idx = rng.permutation(numpy.flatnonzero(inverse == g))
        n_test = int(numpy.floor(test_fraction * len(idx) + 0.5))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train_idx = rng.permutation(numpy.concatenate(train)) if train else numpy.zeros(0, dtype=numpy.int64)
    test_idx = rng.permutation(numpy.concatenate(test)) if test else numpy.zeros(0, dtype=numpy.int64)
    return train_idx.astype(numpy.int64), test_idx.astype(numpy.int64)


def _split(texts: list[str], labels: list[int], groups, test_fraction: float, seed):
    x = numpy.array(texts, dtype=str)
    y = numpy.array(labels, dtype=numpy.int64)
    train, test = stratified_split(groups, test_fraction, seed)
    return (x[train], y[train]), (x[test], y[test])


# ----------------------------------------------------------------------------------
# loaders
# ----------------------------------------------------------------------------------
def load_sms_spam(path: str | os.PathLike | None = None, test_fraction: float = 0.2, seed: int | None = 1337):
    """The SMS Spam Collection as ``(x_train, y_train), (x_test, y_test)``; spam = 1, ham = 0.

    ``path``: the ``SMSSpamCollection`` file or a folder above it (``sms-spam-collection/``, ``text/`` or the
    data sets folder); default: see the module docstring. The split is stratified by label.
    """
    file = _resolve(path, _SMS_PARTS, want_dir=False, what="SMS Spam Collection")
    texts, labels = [], []
    for i, line in _read_lines(file):
        label, sep, message = line.partition("\t")
        if not sep or label not in SMS_SPAM_CLASS_NAMES:
            raise ValueError(f"{file}, line {i}: expected 'ham<TAB>message' or 'spam<TAB>message', "
                             f"received {line[:80]!r}")
        texts.append(message)
        labels.append(SMS_SPAM_CLASS_NAMES.index(label))
    return _split(texts, labels, labels, test_fraction, seed)


def load_sentiment(path: str | os.PathLike | None = None, sources: Sequence[str] | str = SENTIMENT_SOURCES,
                   test_fraction: float = 0.2, seed: int | None = 1337):
    """The Sentiment Labelled Sentences as ``(x_train, y_train), (x_test, y_test)``; positive = 1, negative = 0.

    ``path``: the ``sentiment-labelled-sentences`` folder or a folder above it; ``sources``: any of
    ``("amazon", "imdb", "yelp")``, read in that order. The split is stratified by (source, label), hence by
    label. Whitespace before the tab that ends a sentence is removed.
    """
    if isinstance(sources, str):
        sources = (sources,)
    sources = tuple(dict.fromkeys(sources))
    bad = [s for s in sources if s not in _SENTIMENT_FILES]
    if bad or not sources:
        raise ValueError(f"load_sentiment: expected `sources` to be a non-empty selection of "
                         f"{list(SENTIMENT_SOURCES)}, received {list(sources)!r}")
    folder = _resolve(path, _SENTIMENT_PARTS, want_dir=True, what="Sentiment Labelled Sentences",
                      marker=_SENTIMENT_FILES[sources[0]])
    texts, labels, groups = [], [], []
    for k, source in enumerate(s for s in SENTIMENT_SOURCES if s in sources):
        file = folder / _SENTIMENT_FILES[source]
        if not file.is_file():
            raise FileNotFoundError(f"Sentiment Labelled Sentences: {file} not found (source {source!r})")
        for i, line in _read_lines(file):
            sentence, sep, label = line.rpartition("\t")
            label = label.strip()
            if not sep or label not in ("0", "1"):
                raise ValueError(f"{file}, line {i}: expected 'sentence<TAB>0' or 'sentence<TAB>1', "
                                 f"received {line[:80]!r}")
            texts.append(sentence.rstrip())
            labels.append(int(label))
            groups.append(2 * k + int(label))
    return _split(texts, labels, groups, test_fraction, seed)


# ----------------------------------------------------------------------------------
# augmentation: noise on tokens
# ----------------------------------------------------------------------------------
def _generator(seed) -> numpy.random.Generator:
    """``seed`` as a generator: a Generator itself, an int a fresh one, None neuronka.random's global one."""
    if isinstance(seed, numpy.random.Generator):
        return seed
    return _random.generator(None) if seed is None else numpy.random.default_rng(seed)


def _check_fraction(fn: str, arg: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{fn}: expected `{arg}` in [0, 1], received {arg}={value!r}")
    return float(value)


def _as_texts(texts, fn: str):
    """(list of str, how to rebuild the caller's container) or None when ``texts`` is an int token matrix."""
    if isinstance(texts, str):
        return [texts], lambda out: out[0]
    if isinstance(texts, numpy.ndarray):
        if texts.dtype.kind in "iu":
            return None
        if texts.ndim != 1 or texts.dtype.kind not in "UO":
            raise ValueError(f"{fn}: expected a 1-D array of str or a 2-D int token matrix, received an array of "
                             f"shape {texts.shape} and dtype {texts.dtype}")
        dtype = texts.dtype
        return texts.tolist(), lambda out: numpy.array(out, dtype=object if dtype.kind == "O" else str)
    if isinstance(texts, (list, tuple)):
        if texts and not all(isinstance(t, str) for t in texts):
            arr = numpy.asarray(texts)
            if arr.dtype.kind in "iu":
                return None
            raise ValueError(f"{fn}: expected a list of str or an int token matrix, received {texts[:3]!r}...")
        return list(texts), list
    raise TypeError(f"{fn}: expected a str, a list/array of str or an int token matrix, "
                    f"received {type(texts).__name__}")


def _as_matrix(texts, fn: str) -> tuple[numpy.ndarray, bool]:
    x = numpy.array(texts)
    if x.ndim == 1:
        return x[None, :], True
    if x.ndim != 2:
        raise ValueError(f"{fn}: expected an int token matrix of shape (N, L), received shape {x.shape}")
    return x, False


def random_token_dropout(texts, rate: float, seed=None, padding: str = "post"):
    """Remove each token independently with probability ``rate`` (keep it with probability 1 − rate).

    Strings: tokens are split on ASCII whitespace; a string that loses a token is re-joined with single spaces,
    one that loses none is returned unchanged. Int token matrices (N, L), 0 = padding: the kept tokens stay in
    order and the row is re-padded with 0 at the end (``padding="post"``, TextVectorization's layout) or the
    start (``"pre"``); the shape is kept. ``rate=0`` returns the input unchanged (a copy); the result is
    deterministic given ``seed`` (an int or a ``numpy.random.Generator``).
    """
    rate = _check_fraction("random_token_dropout", "rate", rate)
    if padding not in ("post", "pre"):
        raise ValueError(f"random_token_dropout: expected padding='post' or 'pre', received padding={padding!r}")
    rng = _generator(seed)
    as_texts = _as_texts(texts, "random_token_dropout")
    if as_texts is None:
        x, single = _as_matrix(texts, "random_token_dropout")
        if rate == 0:
            out = x.copy()
        else:
            keep = (x != 0) & (rng.random(x.shape) >= rate)
            n_kept = keep.sum(axis=1, keepdims=True)
            positions = numpy.arange(x.shape[1])[None, :]
            if padding == "post":  # kept tokens first, in order
                order = numpy.argsort(~keep, axis=1, kind="stable")
                empty = positions >= n_kept
            else:  # kept tokens last, in order
                order = numpy.argsort(keep, axis=1, kind="stable")
                empty = positions < x.shape[1] - n_kept
            out = numpy.take_along_axis(x, order, axis=1)
            out[empty] = 0
        return out[0] if single else out
    strings, rebuild = as_texts
    if rate == 0:
        return rebuild(list(strings))
    token_lists = [split_whitespace(s) for s in strings]
    lengths = [len(t) for t in token_lists]
    drawn = rng.random(sum(lengths)) >= rate
    out, start = [], 0
    for s, toks, n in zip(strings, token_lists, lengths):
        keep = drawn[start:start + n]
        start += n
        out.append(s if keep.all() else " ".join(t for t, k in zip(toks, keep) if k))
    return rebuild(out)


def _swap_counts(lengths: numpy.ndarray, n_swaps, rate) -> numpy.ndarray:
    if rate is not None:
        return numpy.floor(rate * lengths + 1e-9).astype(numpy.int64)
    return numpy.full(lengths.shape, n_swaps, dtype=numpy.int64)


def _pair(u: numpy.ndarray, k: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Two distinct positions in [0, k) from two uniforms (k ≥ 2): i uniform, j uniform among the others."""
    i = numpy.minimum((u[..., 0] * k).astype(numpy.int64), k - 1)
    j = (i + 1 + numpy.minimum((u[..., 1] * (k - 1)).astype(numpy.int64), k - 2)) % k
    return i, j


def random_token_swap(texts, n_swaps: int | None = None, rate: float | None = None, seed=None):
    """Swap random pairs of tokens within each sequence (the "random swap" of EDA, Wei & Zou 2019).

    Each sequence of k ≥ 2 tokens gets ``n_swaps`` swaps (default 1), or ⌊rate · k⌋ with ``rate=``; each swap
    exchanges two distinct positions chosen uniformly. Strings: tokens split on ASCII whitespace and re-joined
    with single spaces (strings without a swap are returned unchanged). Int token matrices (N, L): only
    non-zero entries move, padding 0 stays in place. ``n_swaps=0`` or ``rate=0`` returns the input unchanged;
    the result is deterministic given ``seed`` (an int or a ``numpy.random.Generator``).
    """
    if n_swaps is not None and rate is not None:
        raise ValueError(f"random_token_swap: pass `n_swaps` or `rate`, not both; received n_swaps={n_swaps!r}, "
                         f"rate={rate!r}")
    if rate is not None:
        rate = _check_fraction("random_token_swap", "rate", rate)
    else:
        n_swaps = 1 if n_swaps is None else n_swaps
        if isinstance(n_swaps, bool) or not isinstance(n_swaps, (int, numpy.integer)) or n_swaps < 0:
            raise ValueError(f"random_token_swap: expected `n_swaps` to be a non-negative integer, "
                             f"received n_swaps={n_swaps!r}")
        n_swaps = int(n_swaps)
    rng = _generator(seed)
    as_texts = _as_texts(texts, "random_token_swap")
    if as_texts is None:
        x, single = _as_matrix(texts, "random_token_swap")
        out = x.copy()
        nonzero = out != 0
        k = nonzero.sum(axis=1)
        counts = numpy.where(k >= 2, _swap_counts(k, n_swaps, rate), 0)
        steps = int(counts.max()) if counts.size else 0
        if steps:
            # positions of the tokens of each row, in order (padding positions after them)
            pos = numpy.argsort(~nonzero, axis=1, kind="stable")
            u = rng.random((steps, out.shape[0], 2))
            rows_all = numpy.arange(out.shape[0])
            for s in range(steps):  # vectorized over rows; one pass per swap
                rows = rows_all[counts > s]
                i, j = _pair(u[s, rows], k[rows])
                ci, cj = pos[rows, i], pos[rows, j]
                out[rows, ci], out[rows, cj] = out[rows, cj], out[rows, ci]
        return out[0] if single else out
    strings, rebuild = as_texts
    token_lists = [split_whitespace(s) for s in strings]
    k = numpy.array([len(t) for t in token_lists], dtype=numpy.int64)
    counts = numpy.where(k >= 2, _swap_counts(k, n_swaps, rate), 0)
    steps = int(counts.max()) if counts.size else 0
    if not steps:
        return rebuild(list(strings))
    u = rng.random((len(strings), steps, 2))
    out = []
    for n, (s, toks) in enumerate(zip(strings, token_lists)):
        c = int(counts[n])
        if c == 0:
            out.append(s)
            continue
        i, j = _pair(u[n, :c], numpy.full(c, len(toks)))
        for a, b in zip(i.tolist(), j.tolist()):
            toks[a], toks[b] = toks[b], toks[a]
        out.append(" ".join(toks))
    return rebuild(out)

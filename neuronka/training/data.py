"""The data of a training job and its randomness: loading (and limiting) the image or text sets, the
seeded batches of token sequences (:class:`TokenBatches`), and :func:`reseed`, which makes everything random
in an epoch a function of ``(seed, epoch)`` (the key to bit-identical resuming).
"""
from __future__ import annotations

import math
import random

import numpy

from .settings import JobError


# ======================================================================================
# randomness
# ======================================================================================
def _all_layers(model) -> list:
    """The model and every nested layer, each once, in a fixed (depth-first) order."""
    out, seen, stack = [], set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(reversed(getattr(layer, "_layers", [])))
    return out


def _seed_int(*parts: int) -> int:
    return int(numpy.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def reseed(model, seed: int, epoch: int, rank: int = 0) -> None:
    """Reseed every generator training draws from, as a function of ``(seed, epoch)`` (epoch −1: before training);
    data-parallel process ``rank`` > 0 of ``(seed, epoch, rank)`` (its own dropout masks).

    NumPy's and Python's global generators, :func:`neuronka.ops.random.set_seed` (layers without a seed of
    their own), :func:`neuronka.initializers.set_seed`, and the private generator of every layer built with
    an integer ``seed`` (``layer._rng``); cached recurrent dropout masks are dropped.
    """
    from .. import initializers  # noqa: PLC0415
    from ..ops import random as ops_random  # noqa: PLC0415

    s = _seed_int(seed, epoch + 1, 0x5EED, *([rank] if rank else []))  # epoch −1: the initial weights
    numpy.random.seed(s % (1 << 32))
    random.seed(s)
    ops_random.set_seed(s)
    initializers.set_seed(s)
    if model is None:
        return
    for i, layer in enumerate(_all_layers(model)):
        if isinstance(getattr(layer, "_rng", None), numpy.random.Generator):
            layer._rng = numpy.random.default_rng([int(seed), int(epoch) + 1, i, *([int(rank)] if rank else [])])
        for attr in ("_dropout_mask", "_recurrent_dropout_mask"):
            if getattr(layer, attr, None) is not None:
                setattr(layer, attr, None)


# ======================================================================================
# text batches
# ======================================================================================
class TokenBatches:
    """Seeded ``(x, y)`` batches of token matrices for ``model.fit`` (the ``PyDataset`` protocol).

    Batch ``i`` of epoch ``e`` depends only on ``(seed, e, i)``: the shuffle comes from ``(seed, e, 0)``, and
    the text noise (``dropout``: each token removed with that probability and the row re-padded;
    ``swap``: ⌊swap · k⌋ random pairs of a row's k tokens exchanged) from ``(seed, e, i + 1)``.
    ``on_epoch_end()`` moves to the next epoch; set ``epoch`` to continue a run. ``num_shards``/``shard_id``: this
    process's shard for data-parallel training, as :class:`~neuronka.datasets.ImageBatches` takes it
    (:func:`~neuronka.datasets.pipeline.epoch_order`; the noise then from ``(seed, e, i + 1, shard_id)``).
    """

    def __init__(self, x: numpy.ndarray, y: numpy.ndarray | None, batch_size: int = 32, shuffle: bool = True,
                 seed: int = 0, dropout: float = 0.0, swap: float = 0.0, num_shards: int = 1, shard_id: int = 0):
        from ..datasets.pipeline import _check_shard  # noqa: PLC0415

        self.x, self.y = numpy.asarray(x), None if y is None else numpy.asarray(y)
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.dropout, self.swap = float(dropout), float(swap)
        self.num_shards, self.shard_id = _check_shard("TokenBatches", num_shards, shard_id)
        self.epoch = 0
        self._cached_order: tuple[int, numpy.ndarray] | None = None

    @property
    def num_rows(self) -> int:
        """Rows per epoch of this pipeline (of this shard)."""
        from ..datasets.pipeline import shard_rows  # noqa: PLC0415

        return shard_rows(len(self.x), self.shuffle, self.num_shards, self.shard_id)

    def __len__(self) -> int:
        return math.ceil(self.num_rows / self.batch_size)

    @property
    def num_batches(self) -> int:
        return len(self)

    def __getitem__(self, index: int):
        from ..datasets.pipeline import batch_generator, epoch_order  # noqa: PLC0415
        from ..datasets.text import random_token_dropout, random_token_swap  # noqa: PLC0415

        if not 0 <= index < len(self):
            raise IndexError(f"TokenBatches: batch index {index} out of range for {len(self)} batches")
        if self._cached_order is None or self._cached_order[0] != self.epoch:  # drawn once per epoch
            order = epoch_order(len(self.x), self.epoch, self.seed, self.shuffle, self.num_shards, self.shard_id)
            self._cached_order = (self.epoch, order)
        sel = self._cached_order[1][index * self.batch_size:(index + 1) * self.batch_size]
        xb = self.x[sel]
        if self.dropout or self.swap:
            rng = batch_generator(self.seed, self.epoch, index, self.num_shards, self.shard_id)
            if self.dropout:
                xb = random_token_dropout(xb, self.dropout, seed=rng)
            if self.swap:
                xb = random_token_swap(xb, rate=self.swap, seed=rng)
        return xb if self.y is None else (xb, self.y[sel])

    def on_epoch_end(self) -> None:
        self.epoch += 1


# ======================================================================================
# data
# ======================================================================================
def _load_image_data(s: dict, data, need_train: bool = True):
    """((x_train, y_train), (x_test, y_test), class names) with the limits applied; y as (N,) int64."""
    from ..datasets import cifar10, cifar100  # noqa: PLC0415

    if s["dataset"] == "cifar10":
        (xtr, ytr), (xte, yte) = cifar10.load_data(path=data)
        names = list(cifar10.CLASS_NAMES)
    else:
        mode = s.get("label_mode", "fine")
        (xtr, ytr), (xte, yte) = cifar100.load_data(label_mode=mode, path=data)
        names = list(cifar100.FINE_LABEL_NAMES if mode == "fine" else cifar100.COARSE_LABEL_NAMES)
    ytr, yte = ytr.reshape(-1).astype(numpy.int64), yte.reshape(-1).astype(numpy.int64)
    if s.get("limit_train"):
        xtr, ytr = xtr[:s["limit_train"]], ytr[:s["limit_train"]]
    if s.get("limit_test"):
        xte, yte = xte[:s["limit_test"]], yte[:s["limit_test"]]
    return (xtr, ytr), (xte, yte), names


def _load_text_data(s: dict, data):
    from ..datasets import text  # noqa: PLC0415

    if s["dataset"] == "sms-spam":
        (xtr, ytr), (xte, yte) = text.load_sms_spam(path=data)
        names = list(text.SMS_SPAM_CLASS_NAMES)
    else:
        (xtr, ytr), (xte, yte) = text.load_sentiment(path=data)
        names = list(text.SENTIMENT_CLASS_NAMES)
    if s.get("limit_train"):
        xtr, ytr = xtr[:s["limit_train"]], ytr[:s["limit_train"]]
    if s.get("limit_test"):
        xte, yte = xte[:s["limit_test"]], yte[:s["limit_test"]]
    return (xtr, ytr.astype(numpy.int64)), (xte, yte.astype(numpy.int64)), names


def _guard_data(fn, *args):
    """Run a loader; missing or unreadable data becomes a :class:`JobError` carrying the loader's message."""
    try:
        return fn(*args)
    except FileNotFoundError as e:
        raise JobError(f"{e} (neuronka train/evaluate: pass the dataset's file or folder with --data PATH, or set "
                       f"NEURONKA_DATA to the folder holding it)") from None
    except ValueError as e:
        raise JobError(f"cannot read the dataset: {e}") from None


def _vectorizer_from_config(config: dict):
    from ..layers.text_vectorization import TextVectorization  # noqa: PLC0415

    return TextVectorization.from_config(config)

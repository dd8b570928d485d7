"""Data adapters of ``fit`` / ``evaluate`` / ``predict`` (Keras 3's ``trainers/data_adapters``).

One adapter per kind of input, each with ``batches()`` (the ``(x, y, sample_weight)`` batches of one epoch),
``num_batches`` (None when unknown) and ``on_epoch_end()``:

- :class:`_ArrayData`: NumPy arrays, or lists / dicts of them (several inputs or outputs); shuffled each
  epoch with ``neuronka.random``'s generator (``shuffle="batch"``: the batches' order, then within each);
- :class:`_IterableData`: a Python generator (consumed across epochs) or a re-iterable of batches;
- :class:`_IndexedData`: a ``PyDataset`` (``__len__`` + ``__getitem__``), its batches prepared ahead by its
  workers.

:func:`_make_data` picks the adapter; :class:`_EpochIterator` turns one into ``(step, batch)`` per epoch
(with ``steps_per_epoch`` carrying the iterator over epochs); :func:`train_validation_split` holds out
``validation_split``. The helpers on top handle nested structures of arrays (``_flat`` / ``_pack``) and
Keras's rules for ``x``/``y``/``sample_weight`` and ``class_weight``.
"""
from __future__ import annotations

import math

import numpy

from .. import random as _random
from ..autograd import Tensor
from ..backend import array_module, asnumpy, floatx, get_array_module, to_backend


def _flat(s) -> list:
    """Leaves of a list/tuple/dict structure, dicts in insertion order."""
    if isinstance(s, (list, tuple)):
        return [x for e in s for x in _flat(e)]
    if isinstance(s, dict):
        return [x for v in s.values() for x in _flat(v)]
    return [s]


def _pack(like, leaves):
    """The inverse of :func:`_flat`: ``leaves`` put back in the structure of ``like``."""
    it = iter(leaves)

    def rec(s):
        if isinstance(s, (list, tuple)):
            return type(s)(rec(e) for e in s)
        if isinstance(s, dict):
            return {k: rec(v) for k, v in s.items()}
        return next(it)

    return rec(like)


def _is_arraylike(v) -> bool:
    return isinstance(v, (numpy.ndarray, Tensor)) or (hasattr(v, "__array__") and hasattr(v, "shape"))


def _to_numpy(v):
    """``v`` as an array: data already in the backend's array module (a device array) stays there; anything else
    becomes a host NumPy array (moved to the backend batch by batch, :func:`_on_backend`)."""
    if v is None:
        return None
    a = v.data if isinstance(v, Tensor) else v
    xp = array_module()
    if xp is numpy or get_array_module(a) is not xp or not hasattr(a, "dtype"):
        a = asnumpy(a) if isinstance(v, Tensor) else numpy.asarray(a)
    if a.dtype == object:
        raise ValueError(f"Expected numeric arrays as model data, received an object array of shape {a.shape}")
    if a.dtype.kind == "f" and a.dtype != numpy.dtype(floatx()):
        a = a.astype(floatx())  # Keras casts every float input to floatx
    return a


def _is_structure(seq) -> bool:
    """A list/tuple of arrays (or of dicts / nested lists of arrays), as opposed to a list of numbers."""
    return bool(seq) and all(
        isinstance(e, dict) or _is_arraylike(e) or (isinstance(e, (list, tuple)) and _is_structure(e)) for e in seq)


def _standardize(struct):
    """NumPy arrays (floats as floatx) in the structure; a list of numbers (not of arrays) is one array."""
    if struct is None:
        return None
    if isinstance(struct, dict):
        return {k: _standardize(v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)) and _is_structure(struct):
        return type(struct)(_standardize(e) for e in struct)
    return _to_numpy(struct)


def unpack_x_y_sample_weight(data):
    """``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` → ``(x, y, sample_weight)`` (Keras's rule)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a tuple of {len(data)} elements")


def _batch_size_of(x) -> int:
    for leaf in _flat(x):
        if hasattr(leaf, "shape") and len(leaf.shape):
            return int(leaf.shape[0])
    return 1


def _class_weight_to_sample_weight(y, class_weight: dict) -> numpy.ndarray:
    """w[i] = class_weight[class of sample i] (argmax for one-hot rows; 1 for classes not listed)."""
    try:
        cw = {int(k): float(v) for k, v in class_weight.items()}
    except (AttributeError, TypeError, ValueError) as e:
        raise ValueError(f"`class_weight` must be a dict mapping integer class indices to weights, "
                         f"received class_weight={class_weight!r}") from e
    y = numpy.asarray(y) if get_array_module(y) is numpy else asnumpy(y)  # labels: bookkeeping on the host
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y[..., 0]
    if y.ndim != 1:
        raise ValueError(f"`class_weight` needs one class per sample (integer labels or one-hot rows), "
                         f"received targets of shape {y.shape}")
    labels = numpy.round(y).astype(numpy.int64)
    w = numpy.ones(len(labels), dtype=floatx())
    for k, v in cw.items():
        w[labels == k] = v
    return w


def _check_cardinality(x, y, sw) -> int:
    sizes = {name: [int(a.shape[0]) for a in _flat(s) if a is not None and getattr(a, "ndim", 0) > 0]
             for name, s in (("x", x), ("y", y), ("sample_weight", sw))}
    distinct = {n for v in sizes.values() for n in v}
    if len(distinct) > 1:
        detail = "\n".join(f"'{k}' sizes: {', '.join(map(str, v))}" for k, v in sizes.items() if v)
        raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                         f"samples.\n{detail}")
    if not distinct:
        raise ValueError("Expected at least one array with a batch axis as input data, received "
                         f"x of type {type(x).__name__}")
    return distinct.pop()


def _is_iterable_data(x) -> bool:
    """A generator, an iterable of batches or a PyDataset (anything but arrays and structures of arrays)."""
    if x is None or isinstance(x, (numpy.ndarray, Tensor, list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "__array__") and hasattr(x, "shape"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


class _ArrayData:
    """Batches of arrays (shuffled each epoch when ``shuffle``)."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle, class_weight=None, evaluation=False):
        x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        self.n = _check_cardinality(x, y, sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            if y is None or len(_flat(y)) != 1:
                raise ValueError("`class_weight` is only supported for Models with a single output, "
                                 f"received y with {0 if y is None else len(_flat(y))} arrays")
            sample_weight = _class_weight_to_sample_weight(_flat(y)[0], class_weight)
        self.structs = (x, y, sample_weight)
        self.leaves = [_flat(s) if s is not None else None for s in self.structs]
        if self.n == 0:
            raise ValueError("Expected at least one sample in `x`, received arrays of 0 samples")
        for leaf in self.leaves[0]:
            if getattr(leaf, "dtype", None) is not None and numpy.dtype(leaf.dtype).kind == "c":
                raise ValueError(f"Expected real-valued inputs, received complex inputs of dtype {leaf.dtype}: a "
                                 f"model computes on real numbers (pass the real and imaginary parts as features)")
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = shuffle
        # under a multi-process DataParallel: (processes, shared seed) to train, (processes, rank) to evaluate
        self.shards = _data_parallel_shards(evaluation)
        self.evaluation = bool(evaluation)
        self.epoch = 0
        if self.shards is None:
            rows = self.n
        elif evaluation:  # every sample once: process r takes r, r + P, r + 2P, ...
            rows = len(range(self.shards[1], self.n, self.shards[0]))
        else:
            rows = self.n // self.shards[0]
        if rows == 0:
            raise ValueError(f"Expected at least one sample per process, received {self.n} samples for "
                             f"{self.shards[0]} processes")
        self.num_batches = max(1, math.ceil(rows / self.batch_size))

    def _take(self, k, idx):
        s, leaves = self.structs[k], self.leaves[k]
        if s is None:
            return None
        if isinstance(s, numpy.ndarray):
            return s[idx]
        return _pack(s, [a[idx] for a in leaves])

    def batches(self):
        n, bs = self.n, self.batch_size
        order = None
        if self.shards is not None and self.evaluation:  # this process's rows, in order, none left out
            order = numpy.arange(self.shards[1], n, self.shards[0])
        elif self.shards is not None:  # this process's shard of the epoch's permutation (neuronka.distribution)
            from ..distribution import shard_indices  # noqa: PLC0415

            order = shard_indices(n, self.epoch, self.shards[1], shuffle=bool(self.shuffle))
            self.epoch += 1
        elif self.shuffle:  # drawn from neuronka.random's global generator (set_random_seed makes it repeatable)
            rng = _random.generator(None)
            if self.shuffle == "batch":
                starts = rng.permutation(self.num_batches) * bs
                order = numpy.concatenate([rng.permutation(numpy.arange(s, min(s + bs, n))) for s in starts])
            else:
                order = rng.permutation(n)
        for i in range(self.num_batches):
            idx = slice(i * bs, (i + 1) * bs) if order is None else order[i * bs:(i + 1) * bs]
            yield self._take(0, idx), self._take(1, idx), self._take(2, idx)

    def on_epoch_end(self):
        pass


def _data_parallel_shards(evaluation: bool = False):
    """(processes, seed) when a ``DataParallel`` distribution spans several MPI processes and shards the data
    (``auto_shard_dataset``): each process then takes its part of every epoch's permutation, drawn from a seed
    that process 0 chose and sent to all (``neuronka.distribution.shard_indices``); else None.

    For ``evaluation`` (evaluate, predict, validation): (processes, this process's rank); process r takes the
    samples r, r + P, r + 2P, ... in order, none left out (``neuronka.distribution.evaluation`` combines them)."""
    import sys  # noqa: PLC0415

    dist = sys.modules.get("neuronka.distribution")
    current = dist.distribution() if dist is not None else None
    if current is None or not getattr(current, "auto_shard_dataset", False) or dist.num_processes() < 2:
        return None
    from ..distribution import mpi  # noqa: PLC0415

    if evaluation:
        return dist.num_processes(), dist.process_id()
    seed = int(_random.generator(None).integers(2**31)) if dist.process_id() == 0 else None
    return dist.num_processes(), int(mpi.broadcast_object(seed))


def _standardize_batch(batch, class_weight=None):
    x, y, sw = unpack_x_y_sample_weight(batch)
    x, y, sw = _standardize(x), _standardize(y), _standardize(sw)
    if class_weight is not None and y is not None:
        if sw is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        if len(_flat(y)) != 1:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        sw = _class_weight_to_sample_weight(_flat(y)[0], class_weight)
    return x, y, sw


class _IterableData:
    """Batches from a generator (consumed across epochs) or a re-iterable object (restarted each epoch)."""

    def __init__(self, data, class_weight=None):
        self.data = data
        self.class_weight = class_weight
        self.restartable = hasattr(data, "__iter__") and not hasattr(data, "__next__")
        self._it = None if self.restartable else iter(data)
        self.num_batches = len(data) if self.restartable and hasattr(data, "__len__") else None

    def batches(self):
        it = iter(self.data) if self.restartable else self._it
        for batch in it:
            yield _standardize_batch(batch, self.class_weight)

    def on_epoch_end(self):
        pass


class _IndexedData:
    """Batches ``data[i]`` of a PyDataset-like object (``__len__`` + ``__getitem__``), order shuffled if asked."""

    def __init__(self, data, shuffle, class_weight=None):
        self.data = data
        self.shuffle = bool(shuffle)
        self.class_weight = class_weight
        self.num_batches = len(data)

    def batches(self):
        from ..utils.pydataset import iterate_batches  # noqa: PLC0415 - utils import models lazily

        hook = getattr(self.data, "on_epoch_begin", None)
        if callable(hook):
            hook()
        order = _random.generator(None).permutation(self.num_batches) if self.shuffle else range(self.num_batches)
        for batch in iterate_batches(self.data, [int(i) for i in order]):  # prepared ahead by its workers
            yield _standardize_batch(batch, self.class_weight)

    def on_epoch_end(self):
        hook = getattr(self.data, "on_epoch_end", None)
        if callable(hook):
            hook()


def _check_batch_size(batch_size) -> int:
    """``batch_size`` (None: 32) as a positive int; anything else is an error, not a silent rounding."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be a positive integer (or None for 32), "
                         f"received batch_size={batch_size!r}")
    return int(batch_size)


def _make_data(x, y=None, sample_weight=None, batch_size=None, shuffle=False, class_weight=None, evaluation=False):
    if _is_iterable_data(x):
        if y is not None:
            raise ValueError(f"Argument `y` must be None when `x` is a generator, an iterable or a PyDataset "
                             f"(the batches carry the targets); received y of type {type(y).__name__}")
        if sample_weight is not None:
            raise ValueError("Argument `sample_weight` must be None when `x` is a generator, an iterable or a "
                             "PyDataset (yield (x, y, sample_weight) batches instead)")
        if hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "__next__"):
            return _IndexedData(x, shuffle, class_weight)
        return _IterableData(x, class_weight)
    if x is None:
        raise ValueError("Expected input data `x`, received x=None")
    return _ArrayData(x, y, sample_weight, batch_size, shuffle, class_weight, evaluation)


def _on_backend(data):
    """The batches of ``data`` with every array moved to the backend's array module, one batch at a time (host
    arrays are sliced on the host, so a device holds one batch, not the data set); nothing to do on NumPy."""
    if array_module() is numpy:
        yield from data.batches()
        return
    for batch in data.batches():
        yield _map_leaves(lambda a: None if a is None else to_backend(a), batch)


class _EpochIterator:
    """``(step, batch)`` for one epoch; with ``steps_per_epoch`` the underlying iterator carries over epochs.
    The batches are on the backend's array module (:func:`_on_backend`)."""

    def __init__(self, data, steps_per_epoch=None):
        self.data = data
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.num_batches = data.num_batches
        self._current = None
        self._seen = 0
        self.exhausted = False

    @property
    def steps(self):
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return self.num_batches

    def __iter__(self):
        self.exhausted = False
        if self.steps_per_epoch is None:
            yield from enumerate(_on_backend(self.data))
            self.data.on_epoch_end()
            return
        if self._current is None:
            self._current = _on_backend(self.data)
            self._seen = 0
        for step in range(self.steps_per_epoch):
            if self.num_batches is not None and self._seen >= self.num_batches:
                self._current = _on_backend(self.data)
                self._seen = 0
                self.data.on_epoch_end()
            try:
                batch = next(self._current)
            except StopIteration:
                self.exhausted = True
                if self.num_batches is None:
                    return
                self._current = _on_backend(self.data)
                self._seen = 0
                batch = next(self._current)
            self._seen += 1
            yield step, batch


def train_validation_split(arrays, validation_split: float):
    """(train, validation): the LAST ``validation_split`` fraction of the samples, taken before any shuffling.

    split_at = ⌊n · (1 − validation_split)⌋.
    """
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in (0, 1), received validation_split={validation_split}")
    leaves = [a for a in _flat(arrays) if a is not None]
    n = int(leaves[0].shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a validation and "
            f"training set as specified by `validation_split={validation_split}`. Either provide more data, "
            f"or a different value for the `validation_split` argument."
        )

    def part(s, sl):
        if s is None:
            return None
        return _pack(s, [a[sl] for a in _flat(s)]) if not isinstance(s, numpy.ndarray) else s[sl]

    train = tuple(part(s, slice(0, split_at)) for s in arrays)
    val = tuple(part(s, slice(split_at, n)) for s in arrays)
    return train, val


def _map_leaves(fn, s):
    if isinstance(s, (list, tuple)):
        return type(s)(_map_leaves(fn, e) for e in s)
    if isinstance(s, dict):
        return {k: _map_leaves(fn, v) for k, v in s.items()}
    return fn(s)

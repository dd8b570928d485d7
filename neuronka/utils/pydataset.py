"""``keras.utils.PyDataset``: a Python data set fed to ``fit`` batch by batch, with batches prepared in
parallel when asked.

``workers > 1`` (or ``use_multiprocessing=True``) makes :func:`iterate_batches` prepare up to
``max_queue_size`` batches ahead while the model trains on the current one: in a pool of threads (good
when ``__getitem__`` waits on files or releases the GIL, as NumPy and Pillow do), or with
``use_multiprocessing`` in a pool of processes (for pure-Python work). Batches come back in the order
asked for, whatever order the workers finish in. A process pool is made anew each epoch, so that a
dataset changed by ``on_epoch_end`` (a reshuffle) is what the workers see; its batches must pickle.
"""
from __future__ import annotations

import itertools
import multiprocessing
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor


class PyDataset:
    """Base class for Python data sets fed to ``fit`` batch by batch.

    Subclasses define ``__len__`` (the number of batches; or the ``num_batches`` property, None for an
    endless one) and ``__getitem__(index)`` returning ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` for
    one batch; ``on_epoch_begin`` / ``on_epoch_end`` run around every epoch. ``workers``: how many batches
    are prepared at once; ``use_multiprocessing``: in processes instead of threads; ``max_queue_size``:
    how many batches may wait, prepared ahead.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"PyDataset: expected `workers` to be a positive int, received workers={workers!r}")
        if not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ValueError(f"PyDataset: expected `max_queue_size` to be a positive int, "
                             f"received max_queue_size={max_queue_size!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        if not hasattr(self, "_workers"):
            self._workers, self._use_multiprocessing, self._max_queue_size = 1, False, 10
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in its constructor. "
                          "`**kwargs` can include `workers`, `use_multiprocessing`, `max_queue_size`. Do not pass "
                          "these arguments to `fit()`, as they will be ignored.", stacklevel=3)

    @property
    def workers(self) -> int:
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__ (one batch)")

    def __iter__(self):
        n = self.num_batches
        for index in (range(n) if n is not None else itertools.count()):
            yield self[index]

    @property
    def num_batches(self):
        """The number of batches (``len(self)``), or None for an endless data set."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ or the num_batches property")

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


Sequence = PyDataset

_worker_dataset = None  # the dataset inside a worker process


def _init_worker(dataset) -> None:
    global _worker_dataset
    _worker_dataset = dataset


def _get_in_worker(index: int):
    return _worker_dataset[index]


def _process_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def iterate_batches(dataset, order):
    """``dataset[i]`` for each ``i`` of ``order``, in that order; prepared ahead by the dataset's workers
    (threads, or processes with ``use_multiprocessing``) when it has more than one or asks for processes."""
    workers = getattr(dataset, "workers", 1) or 1
    processes = bool(getattr(dataset, "use_multiprocessing", False))
    if workers <= 1 and not processes:
        for i in order:
            yield dataset[i]
        return
    ahead = max(int(getattr(dataset, "max_queue_size", 10) or 10), workers)
    if processes:
        with _process_context().Pool(workers, initializer=_init_worker, initargs=(dataset,)) as pool:
            yield from pool.imap(_get_in_worker, order, chunksize=1)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pydataset") as pool:
        pending: deque = deque()
        it = iter(order)
        for i in itertools.islice(it, ahead):
            pending.append(pool.submit(dataset.__getitem__, i))
        try:
            while pending:
                batch = pending.popleft().result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(dataset.__getitem__, nxt))
                yield batch
        finally:
            for f in pending:
                f.cancel()

"""Data-parallel training over MPI: the gradient averaging every optimizer applies (Horovod's
``DistributedOptimizer`` idea), the broadcast of the weights from rank 0, and the sharding of an
epoch's samples across the ranks.

One training step on P processes, each with its own shard of the global batch B = P·b:

1. every rank runs forward and backward on its b samples: g_p = ∇ (1/b) Σ_{i ∈ shard p} ℓ_i;
2. the gradients are packed into flat buckets of about :data:`BUCKET_BYTES`, in reverse order of the
   variables (the last layers' gradients are final first in the backward pass, as in PyTorch DDP and
   Horovod), and each bucket is sum-allreduced (``MPI_Iallreduce``). With overlap on (the setting
   ``allreduce_overlap``, default), the trainer registers :meth:`GradientAverager.start_step`'s hook with
   the backward pass: a gradient is packed the moment it is final, and a bucket's allreduce starts as soon
   as all its gradients are in, while the backward of the earlier layers is still running. The optimizer's
   :meth:`~neuronka.optimizers.Optimizer.apply` then calls :class:`GradientAverager`, which starts what is
   left, waits, and scales: ḡ = (1/P) Σ_p g_p = ∇ (1/B) Σ_{i ∈ batch} ℓ_i, the gradient of the global batch
   (equal shard sizes). With overlap off (or an optimizer that rewrites the gradients before averaging, or a
   custom loop) the same buckets are packed and started from ``apply``, after the whole backward pass;
3. every rank applies the same update to the same weights, so the weights stay bitwise identical.

Every rank starts the buckets in the same order (bucket k only after bucket k − 1, whatever finished first),
as MPI requires of collectives. Without an asynchronous progress thread (MPICH's default) a started
``MPI_Iallreduce`` advances only inside MPI calls: every arriving gradient calls ``MPI_Testall`` on the
outstanding requests; ``MPICH_ASYNC_PROGRESS=1`` gives MPICH a thread that progresses them in the
background (at the cost of a core's share).

Before an optimizer's first update, its variables and its state (slots, step count) are broadcast from
rank 0, so the ranks start from rank 0's weights whatever their seeds were.
"""
from __future__ import annotations

import collections
import time
import weakref

import numpy

from .. import config
from ..callbacks.base import Callback
from ..optimizers import base as _optimizer_base
from . import mpi

BUCKET_BYTES = 4 * 2**20
"""Size of a gradient bucket: gradients are packed into flat buffers of about this many bytes, one
allreduce each (a gradient larger than this travels alone)."""


class GradientAverager:
    """ḡ_k = (1/P) Σ_p g_{k,p} for every gradient k, over the P MPI processes, in buckets.

    Called by the optimizer as ``averager(optimizer, grads, variables)``; returns new arrays (views
    into reused flat buffers, valid until the next call) and leaves the caller's gradients untouched.
    :meth:`start_step`, called by the trainer before the backward pass, returns the hook that starts the
    buckets during the backward pass (overlap).

    ``stats`` holds, for the last steps averaged, a dict: ``buckets`` (how many), ``started_in_backward``
    (how many had been started before the backward pass ended: 0 without overlap), ``overlapped`` (of those,
    how many started while gradients of the step were still to come: the communication that can hide behind
    the rest of the backward pass), ``exposed_s`` (seconds
    from the end of the backward pass until the averaged gradients were ready: the communication the
    overlap did not hide) and ``wait_s`` (of which waiting in ``MPI_Waitall``).
    """

    def __init__(self, bucket_bytes: int = BUCKET_BYTES, root: int = 0):
        if int(bucket_bytes) <= 0:
            raise ValueError(f"GradientAverager: expected bucket_bytes > 0, received bucket_bytes={bucket_bytes}")
        self.bucket_bytes = int(bucket_bytes)
        self.root = int(root)
        self._plans: dict[tuple, list] = {}  # gradient shapes and dtypes -> buckets
        self._synced: weakref.WeakSet = weakref.WeakSet()  # optimizers whose state was broadcast
        self._step: _OverlapStep | None = None
        self._subsets: set = set()  # (plan key, positions) of gradient subsets already checked against the ranks
        self.stats: collections.deque = collections.deque(maxlen=10000)

    def _plan(self, key: tuple) -> list:
        """Buckets ``(buffer, [(k, offset, size, shape), ...])`` for gradients of shapes and dtypes ``key``:
        taken in reverse order (k = n−1 first), consecutive gradients of one dtype up to ``bucket_bytes``
        each. Checked once against the other ranks."""
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        groups: list[tuple[numpy.dtype, list]] = []
        filled = 0
        for k in reversed(range(len(key))):
            shape, dtype = key[k][0], numpy.dtype(key[k][1])
            size = int(numpy.prod(shape, dtype=numpy.int64))
            nbytes = size * dtype.itemsize
            if not groups or groups[-1][0] != dtype or (filled + nbytes > self.bucket_bytes and filled > 0):
                groups.append((dtype, []))
                filled = 0
            groups[-1][1].append((k, size, shape))
            filled += nbytes
        _check_same_layout(key, "gradients to average")
        plan = []
        for dtype, members in groups:
            items, offset = [], 0
            for k, size, shape in members:
                items.append((k, offset, size, shape))
                offset += size
            plan.append((numpy.empty(offset, dtype), items))
        self._plans[key] = plan
        return plan

    def start_step(self, optimizer, variables: list):
        """Before a training step's backward pass: the hook ``on_leaf_grad(tensor)`` to give
        :meth:`~neuronka.autograd.Tensor.backward`, which packs each of ``variables``' gradients when it is
        final and starts each bucket's allreduce once it is full; None when the overlap is off (the setting
        ``allreduce_overlap``) or ``optimizer`` rewrites the gradients before averaging them (a
        LossScaleOptimizer or MultiOptimizer: then ``apply`` averages them after the backward pass)."""
        if self._step is not None:  # a step whose gradients never reached apply (no gradient at all)
            self._step.abandon()
            self._step = None
        if not config.get("allreduce_overlap") or type(optimizer).apply is not _optimizer_base.Optimizer.apply:
            return None
        variables = list(variables)
        if not variables:
            return None
        key = tuple((tuple(v.data.shape), v.data.dtype.str) for v in variables)
        self._step = _OverlapStep(self._plan(key), key, optimizer, variables)
        return self._step.on_leaf_grad

    def __call__(self, optimizer, grads: list, variables: list) -> list:
        if optimizer not in self._synced:
            broadcast_optimizer_state(optimizer, self.root)
            self._synced.add(optimizer)
        step, self._step = self._step, None
        ended = time.perf_counter()  # the backward pass has ended
        host = [numpy.asarray(g) for g in grads]  # the NumPy engine: MPI reads host memory
        if step is not None:
            out = step.finish(self, optimizer, host, variables, ended)
            if out is not None:
                return out
        size = mpi.num_processes()
        key = tuple((g.shape, g.dtype.str) for g in host)
        plan = self._plan(key)
        requests = []
        for buffer, items in plan:
            for k, offset, n, _ in items:
                buffer[offset:offset + n] = host[k].reshape(-1)
            requests.append(mpi.start_allreduce_sum_(buffer))  # travels while the next bucket is packed
        waited = time.perf_counter()
        mpi.wait_all(requests)
        done = time.perf_counter()
        self.stats.append({"buckets": len(plan), "started_in_backward": 0, "overlapped": 0, "exposed_s": done - ended,
                           "wait_s": done - waited})
        return _scaled(plan, len(host), size)


def _scaled(plan: list, count: int, size: int) -> list:
    """The summed buckets × 1/P, as views shaped like the gradients (indexed as in the plan)."""
    out: list = [None] * count
    scale = 1.0 / size
    for buffer, items in plan:
        buffer *= buffer.dtype.type(scale)  # Σ_p g_p → (1/P) Σ_p g_p
        for k, offset, n, shape in items:
            out[k] = buffer[offset:offset + n].reshape(shape)
    return out


class _OverlapStep:
    """One training step's buckets, packed and started from the backward pass as the gradients become final."""

    def __init__(self, plan: list, key: tuple, optimizer, variables: list):
        self.plan, self.key, self.optimizer, self.variables = plan, key, optimizer, variables
        self.where = {id(variables[item[0]]): (b, item) for b, (_, items) in enumerate(plan) for item in items}
        self.missing = [len(items) for _, items in plan]  # gradients each bucket still waits for
        self.to_come = len(variables)  # gradients of the step not packed yet
        self.overlapped = 0  # buckets started while gradients were still to come
        self.packed: dict[int, object] = {}  # id(variable) -> the gradient array packed
        self.requests: list = []
        self.started = 0  # buckets started, always a prefix of the plan: the same order on every rank
        self.broken = False  # a gradient of an unexpected shape or dtype: apply averages everything again

    def on_leaf_grad(self, leaf) -> None:
        """Called by the backward pass when ``leaf.grad`` is final: pack it; start every full bucket whose
        predecessors have started."""
        entry = self.where.get(id(leaf))
        if entry is None or self.broken:
            return
        b, (_, offset, n, shape) = entry
        buffer = self.plan[b][0]
        g = leaf.grad
        if id(leaf) in self.packed or tuple(g.shape) != tuple(shape) or g.dtype != buffer.dtype:
            self.broken = True
            return
        buffer[offset:offset + n] = numpy.asarray(g).reshape(-1)
        self.packed[id(leaf)] = g
        self.missing[b] -= 1
        self.to_come -= 1
        mpi.test_all(self.requests)  # without a progress thread, the started allreduces advance only in MPI calls
        while self.started < len(self.plan) and self.missing[self.started] == 0:
            self.requests.append(mpi.start_allreduce_sum_(self.plan[self.started][0]))
            self.started += 1
            self.overlapped += self.to_come > 0

    def abandon(self) -> None:
        mpi.wait_all(self.requests)

    def finish(self, averager: GradientAverager, optimizer, grads: list, variables: list, ended: float):
        """The averaged ``grads`` (those the optimizer applies), or None when they are not the gradients the
        backward pass handed over (then the caller averages them afresh)."""
        in_backward = self.started
        position = {id(v): k for k, v in enumerate(self.variables)}
        if (self.broken or optimizer is not self.optimizer
                or any(self.packed.get(id(v)) is not g for g, v in zip(grads, variables))):
            self.abandon()
            return None
        if len(variables) != len(self.variables):  # a subset: check once that every rank has the same one
            subset = (self.key, tuple(sorted(position[id(v)] for v in variables)))
            if subset not in averager._subsets:
                _check_same_layout(subset, "gradients to average")
                averager._subsets.add(subset)
        for buffer, items in self.plan[self.started:]:
            for k, offset, n, _ in items:
                if id(self.variables[k]) not in self.packed:  # no gradient (on every rank): not applied
                    buffer[offset:offset + n] = 0
            self.requests.append(mpi.start_allreduce_sum_(buffer))
        self.started = len(self.plan)
        waited = time.perf_counter()
        mpi.wait_all(self.requests)
        done = time.perf_counter()
        averager.stats.append({"buckets": len(self.plan), "started_in_backward": in_backward,
                               "overlapped": self.overlapped,
                               "exposed_s": done - ended, "wait_s": done - waited})
        by_position = _scaled(self.plan, len(self.variables), mpi.num_processes())
        return [by_position[position[id(v)]] for v in variables]


def _check_same_layout(key: tuple, what: str) -> None:
    """Every rank must send the same arrays in the same order (checked once per new layout: a cheap allgather),
    or the collectives would mix unrelated arrays or wait forever."""
    layouts = mpi.allgather(key)
    if any(other != key for other in layouts):
        first = next(r for r, other in enumerate(layouts) if other != layouts[0])
        raise RuntimeError(
            f"GradientAverager: the ranks have different {what} (rank 0: {len(layouts[0])} arrays, "
            f"rank {first}: {len(layouts[first])}; shapes and dtypes must match in order). Every rank must train the "
            "same model with the same trainable variables, and a variable without a gradient on one rank must have "
            "none on every rank")


def _broadcast_array_(array, root: int) -> None:
    if array.flags.c_contiguous and array.flags.writeable:
        mpi.broadcast_(array, root)
    else:
        tmp = numpy.ascontiguousarray(array)
        mpi.broadcast_(tmp, root)
        array[...] = tmp


def broadcast_optimizer_state(optimizer, root: int = 0) -> None:
    """The optimizer's variables, slots and step count ← rank ``root``'s (every rank must call it)."""
    arrays = [v.data for v in optimizer._variables] + [s[k] for s in optimizer._slots for k in sorted(s)]
    _check_same_layout(tuple((a.shape, a.dtype.str) for a in arrays), "optimizer variables to broadcast")
    for array in arrays:
        _broadcast_array_(array, root)
    optimizer._calls = int(mpi.broadcast_object(int(optimizer._calls), root))


def broadcast_weights(model_or_variables, root: int = 0) -> None:
    """Every weight (trainable or not: moving statistics too) ← rank ``root``'s, in place, on every rank.

    Takes a model or layer (its ``weights``) or a list of variables; a no-op with one process."""
    variables = getattr(model_or_variables, "weights", model_or_variables)
    if mpi.num_processes() == 1:
        return
    for var in variables:
        _broadcast_array_(var.data, root)


class BroadcastWeights(Callback):
    """At the start of ``fit``, every weight of the model ← rank ``root``'s (Horovod's
    ``BroadcastGlobalVariablesCallback``). The optimizer's first update broadcasts the trainable
    weights anyway; this callback also makes the first step's gradients start from rank 0's weights,
    and covers non-trainable weights (BatchNormalization's moving statistics)."""

    def __init__(self, root: int = 0):
        super().__init__()
        self.root = int(root)

    def on_train_begin(self, logs=None) -> None:
        broadcast_weights(self.model, self.root)


def synchronized_batch_norm_reducer():
    """The allreduce ``BatchNormalization(synchronized=True)`` gives its op in training: :func:`mpi.allreduce_sum_`
    while a ``DataParallel`` distribution spans several MPI processes, else None (the statistics stay local:
    one process has nothing to synchronize)."""
    from .distribution_lib import DataParallel, distribution  # noqa: PLC0415 - distribution_lib imports this module

    current = distribution()
    if isinstance(current, DataParallel) and current.num_processes > 1:
        return mpi.allreduce_sum_
    return None


def is_secondary_process() -> bool:
    """True on the processes other than 0 while a distribution over several MPI processes is set: they train
    and evaluate like process 0 but print nothing and write no files (fit / evaluate / predict, through
    :func:`process_zero_callbacks`)."""
    from .distribution_lib import distribution  # noqa: PLC0415 - distribution_lib imports this module

    current = distribution()
    return current is not None and current.num_processes > 1 and mpi.process_id() != 0


def process_zero_callbacks(callbacks) -> list:
    """``callbacks`` (a list, possibly nested, or None) without those that print or write — ProgbarLogger,
    ModelCheckpoint, CSVLogger, TensorBoard, RemoteMonitor — for a process other than 0. The others (EarlyStopping,
    ReduceLROnPlateau, ...) stay: every process must take the same decisions (they see the same, combined,
    epoch metrics). BackupAndRestore stays too: every process must restore; give each its own ``backup_dir``."""
    from ..callbacks import CSVLogger, ModelCheckpoint, ProgbarLogger, RemoteMonitor, TensorBoard  # noqa: PLC0415

    writers = (ProgbarLogger, ModelCheckpoint, CSVLogger, TensorBoard, RemoteMonitor)
    flat: list = []
    stack = [callbacks] if callbacks is not None else []
    while stack:
        item = stack.pop(0)
        if isinstance(item, (list, tuple)):
            stack[:0] = list(item)
        elif not isinstance(item, writers):
            flat.append(item)
    return flat


def shard_indices(n: int, epoch: int, seed: int, num_shards: int | None = None, shard_id: int | None = None,
                  shuffle: bool = True) -> numpy.ndarray:
    """This rank's sample indices for ``epoch``: a permutation of range(n) drawn from (seed, epoch) —
    the same on every rank — cut to n' = n − (n mod P) samples and dealt out round-robin:
    shard r = order[r], order[r + P], order[r + 2P], ... (n'/P indices).

    Dealing round-robin makes batch j of every shard (batch size b) a part of batch j of the global order
    with batch size P·b, and the P parts together are exactly that global batch: the averaged gradient
    equals the single-process gradient at batch P·b. The n mod P samples left over (a different few each
    epoch) are skipped, so every rank runs the same number of steps (a rank with one more batch would wait
    forever in the allreduce).

    ``num_shards`` and ``shard_id`` default to the MPI processes (P and this rank); ``shuffle=False``
    deals out range(n) in order.
    """
    n, epoch = int(n), int(epoch)
    if n < 0:
        raise ValueError(f"shard_indices: expected n >= 0, received n={n}")
    num_shards = mpi.num_processes() if num_shards is None else int(num_shards)
    shard_id = mpi.process_id() if shard_id is None else int(shard_id)
    if num_shards < 1:
        raise ValueError(f"shard_indices: expected num_shards >= 1, received num_shards={num_shards}")
    if not 0 <= shard_id < num_shards:
        raise ValueError(f"shard_indices: expected shard_id in [0, {num_shards}), received shard_id={shard_id}")
    if shuffle:
        # a generator of its own, from (seed, epoch) only: identical on every rank, independent of the global one
        rng = numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence([int(seed) & 0xFFFFFFFF, epoch])))
        order = rng.permutation(n)
    else:
        order = numpy.arange(n)
    keep = n - n % num_shards
    return order[:keep][shard_id::num_shards]

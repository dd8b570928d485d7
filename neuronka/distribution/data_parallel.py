"""Data-parallel training over MPI: the gradient averaging every optimizer applies (Horovod's
``DistributedOptimizer`` idea), the broadcast of the weights from rank 0, and the sharding of an
epoch's samples across the ranks.

One training step on P processes, each with its own shard of the global batch B = P·b:

1. every rank runs forward and backward on its b samples: g_p = ∇ (1/b) Σ_{i ∈ shard p} ℓ_i;
2. the optimizer's :meth:`~neuronka.optimizers.Optimizer.apply` calls :class:`GradientAverager`,
   which packs the gradients into flat buckets of about :data:`BUCKET_BYTES`, sum-allreduces each
   bucket (``MPI_Iallreduce``, started as soon as the bucket is packed so the next bucket is packed
   while the previous one travels) and scales: ḡ = (1/P) Σ_p g_p = ∇ (1/B) Σ_{i ∈ batch} ℓ_i, the
   gradient of the global batch (equal shard sizes);
3. every rank applies the same update to the same weights, so the weights stay bitwise identical.

Before an optimizer's first update, its variables and its state (slots, step count) are broadcast from
rank 0, so the ranks start from rank 0's weights whatever their seeds were. The averaging starts once
the backward pass is complete: overlapping it with the backward pass needs a per-gradient hook in
the autograd, which neuronka does not have yet (docs/distributed.md).
"""
from __future__ import annotations

import weakref

import numpy

from ..callbacks.base import Callback
from . import mpi

BUCKET_BYTES = 4 * 2**20
"""Size of a gradient bucket: gradients are packed into flat buffers of about this many bytes, one
allreduce each (a gradient larger than this travels alone)."""


class GradientAverager:
    """ḡ_k = (1/P) Σ_p g_{k,p} for every gradient k, over the P MPI processes, in buckets.

    Called by the optimizer as ``averager(optimizer, grads, variables)``; returns new arrays (views
    into reused flat buffers, valid until the next call) and leaves the caller's gradients untouched.
    """

    def __init__(self, bucket_bytes: int = BUCKET_BYTES, root: int = 0):
        if int(bucket_bytes) <= 0:
            raise ValueError(f"GradientAverager: expected bucket_bytes > 0, received bucket_bytes={bucket_bytes}")
        self.bucket_bytes = int(bucket_bytes)
        self.root = int(root)
        self._plans: dict[tuple, list] = {}  # gradient shapes and dtypes -> buckets
        self._synced: weakref.WeakSet = weakref.WeakSet()  # optimizers whose state was broadcast

    def _plan(self, grads: list) -> list:
        """Buckets ``(buffer, [(k, offset, size, shape), ...])``: consecutive gradients of one dtype,
        up to ``bucket_bytes`` each."""
        key = tuple((g.shape, g.dtype.str) for g in grads)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        groups: list[tuple[numpy.dtype, list]] = []
        filled = 0
        for k, g in enumerate(grads):
            nbytes = g.size * g.dtype.itemsize
            if not groups or groups[-1][0] != g.dtype or (filled + nbytes > self.bucket_bytes and filled > 0):
                groups.append((g.dtype, []))
                filled = 0
            groups[-1][1].append((k, g.size, g.shape))
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

    def __call__(self, optimizer, grads: list, variables: list) -> list:
        if optimizer not in self._synced:
            broadcast_optimizer_state(optimizer, self.root)
            self._synced.add(optimizer)
        size = mpi.num_processes()
        host = [numpy.asarray(g) for g in grads]  # the NumPy engine: MPI reads host memory
        plan = self._plan(host)
        requests = []
        for buffer, items in plan:
            for k, offset, n, _ in items:
                buffer[offset:offset + n] = host[k].reshape(-1)
            requests.append(mpi.start_allreduce_sum_(buffer))  # travels while the next bucket is packed
        mpi.wait_all(requests)
        out: list = [None] * len(host)
        scale = 1.0 / size
        for buffer, items in plan:
            buffer *= buffer.dtype.type(scale)  # Σ_p g_p → (1/P) Σ_p g_p
            for k, offset, n, shape in items:
                out[k] = buffer[offset:offset + n].reshape(shape)
        return out


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

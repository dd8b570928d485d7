"""A training job on several MPI processes (``mpiexec -n P python -m neuronka train ...``, docs/distributed.md).

Launched by MPI with P > 1 processes, the job sets a :class:`~neuronka.distribution.DataParallel` distribution
itself (:func:`start`); then:

- every process trains on its shard of each epoch (the pipelines' ``num_shards``/``shard_id``,
  :func:`~neuronka.datasets.pipeline.epoch_order`): ``--batch-size`` is per process, the global batch P times it;
- process 0 alone decides (:func:`on_process_zero`: the settings, the run folder's checks, resume or not; the
  other processes receive its answer or its error) and writes (the lock, config, checkpoints, logs, plots, report);
- after a resume every process has loaded the checkpoint, and :func:`check_same_weights` makes sure they agree;
- at the end of every epoch the weights are broadcast from process 0 (:func:`share_weights`): the trainable ones
  are already identical (averaged gradients), the batch-normalization moving statistics are each process's own
  (its shards' batches) until then, so that validation, the checkpoint and the final model are process 0's on every
  process and a resumed run continues exactly as an uninterrupted one (with the same P).
"""
from __future__ import annotations

import contextlib
import hashlib

from ..distribution import mpi
from .settings import JobError


def start() -> tuple[int, int]:
    """(P, rank): under an MPI launch with P > 1 processes, set a ``DataParallel`` distribution (unless one is set)."""
    if mpi.launched_size() <= 1:
        return 1, 0
    from .. import distribution  # noqa: PLC0415

    if distribution.distribution() is None:
        distribution.set_distribution(distribution.DataParallel())
    return mpi.num_processes(), mpi.process_id()


def processes() -> int:
    """P (1 without an MPI launch; mpi4py is not imported then)."""
    return mpi.num_processes() if mpi.launched_size() > 1 else 1


def rank() -> int:
    return mpi.process_id() if mpi.launched_size() > 1 else 0


class AgreedJobError(JobError):
    """A :class:`JobError` every process raises together (from :func:`on_process_zero`): each process may just exit,
    process 0 alone printing it (``quiet`` elsewhere)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.quiet = rank() != 0


def on_process_zero(fn, *args):
    """``fn(*args)`` on process 0; its result on every process, or its :class:`JobError` raised on every process."""
    if processes() == 1:
        return fn(*args)
    result, error = None, None
    if rank() == 0:
        try:
            result = fn(*args)
        except JobError as e:
            error = str(e)
    result, error = mpi.broadcast_object((result, error))
    if error is not None:
        raise AgreedJobError(error)
    return result


def lock_on_process_zero(lock):
    """``lock`` (a context manager) on process 0, nothing elsewhere."""
    return lock if rank() == 0 else contextlib.nullcontext()


def weights_checksum(model) -> str:
    """SHA-256 of every weight of ``model`` (names, shapes, dtypes and bytes, in order)."""
    from ..backend import asnumpy  # noqa: PLC0415

    h = hashlib.sha256()
    for v in model.weights:
        a = asnumpy(v.data)
        h.update(f"{v.name}{a.shape}{a.dtype.str}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def checksums(model) -> list[str]:
    """Every process's :func:`weights_checksum`, in rank order (one allgather)."""
    return mpi.allgather(weights_checksum(model)) if processes() > 1 else [weights_checksum(model)]


def check_same_weights(model, when: str) -> None:
    """Raise (every process) unless every process holds the same weights."""
    sums = checksums(model)
    if len(set(sums)) > 1:
        differ = [r for r, s in enumerate(sums) if s != sums[0]]
        raise RuntimeError(f"{when}: the processes {differ} hold other weights than process 0 (is the run folder on "
                           f"a file system every process reads?)")


def share_weights(model) -> None:
    """Every weight ← process 0's (the moving statistics of batch normalization included); nothing with one process."""
    if processes() > 1:
        from ..distribution import broadcast_weights  # noqa: PLC0415

        broadcast_weights(model)


def gather_predictions(probs):
    """All the test set's rows from every process's rows r, r + P, ... (the unshuffled shards), in order."""
    if processes() == 1:
        return probs
    from ..distribution.evaluation import gather_in_order  # noqa: PLC0415

    return gather_in_order(probs)

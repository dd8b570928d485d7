"""Evaluation over several MPI processes: each process evaluates its shard, then the metrics' states are
summed over the processes so that every process reports the result on all the data; predictions are
gathered back into the order of the input.

Keras's metrics keep additive states (a total and a count, confusion counts, sums of products), so the
state of the whole data set is the sum of the shards' states:

    total = Σ_p total_p,  count = Σ_p count_p,  result = f(total, count)

which is what a single process computes over all the samples, up to the order of the float sums.
"""
from __future__ import annotations

import copy
import numbers

import numpy

from . import mpi


def active_data_parallel():
    """The current ``DataParallel`` when it spans several MPI processes and shards the data itself
    (``auto_shard_dataset``); else None."""
    from .distribution_lib import DataParallel, distribution  # noqa: PLC0415 - distribution_lib imports us indirectly

    current = distribution()
    if isinstance(current, DataParallel) and current.num_processes > 1 and current.auto_shard_dataset:
        return current
    return None


def metric_state_names(metric) -> list[str]:
    """The attributes ``metric.reset_state()`` assigns — the metric's state (Keras's metric variables),
    found by running it on a deep copy that records its assignments. The metric itself is untouched."""
    assigned: list[str] = []

    def record(self, name, value):
        assigned.append(name)
        object.__setattr__(self, name, value)

    probe = copy.deepcopy(metric)
    probe.__class__ = type(type(metric).__name__, (type(metric),), {"__setattr__": record})
    probe.reset_state()
    return list(dict.fromkeys(assigned))


def _is_state(value) -> bool:
    return value is None or isinstance(value, (numbers.Number, numpy.ndarray, numpy.generic))


def allreduce_metric_states(metrics) -> None:
    """Every metric's state ← its sum over the processes, in place, on every process (one allgather of all the
    states, summed in rank order, so every process gets bitwise the same totals). A state that is None on some
    processes (a metric built lazily at its first batch) counts as nothing there.

    Every process must call it with the same metrics in the same order."""
    if mpi.num_processes() == 1:
        return
    states = []
    for m in metrics:
        names = [k for k in metric_state_names(m) if _is_state(getattr(m, k, None))]
        states.append((type(m).__name__, m.name, [(k, getattr(m, k, None)) for k in names]))
    gathered = mpi.allgather(states)
    layout = [(cls, name, [k for k, _ in items]) for cls, name, items in states]
    for rank, other in enumerate(gathered):
        if [(cls, name, [k for k, _ in items]) for cls, name, items in other] != layout:
            raise RuntimeError(f"evaluate: the processes have different metrics to combine (rank {rank} differs from "
                               f"rank {mpi.process_id()}); every process must compile the same model and metrics")
    for i, m in enumerate(metrics):
        for j, (k, _) in enumerate(states[i][2]):
            parts = [other[i][2][j][1] for other in gathered if other[i][2][j][1] is not None]
            if not parts:
                continue
            total = parts[0] if not isinstance(parts[0], numpy.ndarray) else parts[0].copy()
            for p in parts[1:]:
                total = total + p
            setattr(m, k, total)


def gather_in_order(part):
    """The full array from every process's rows ``rank, rank + P, rank + 2P, ...`` (the evaluation sharding),
    on every process: out[r::P] = part_r, n = Σ_r len(part_r) rows. ``part`` may be a nested list/tuple/dict
    of arrays (a model with several outputs); the structure is kept."""
    parts = mpi.allgather(part)
    size = len(parts)

    def merge(leaves):
        first = leaves[0]
        if isinstance(first, dict):
            return {k: merge([leaf[k] for leaf in leaves]) for k in first}
        if isinstance(first, (list, tuple)):
            return type(first)(merge([leaf[i] for leaf in leaves]) for i in range(len(first)))
        n = sum(len(leaf) for leaf in leaves)
        out = numpy.empty((n, *first.shape[1:]), dtype=numpy.result_type(*leaves))
        for r, leaf in enumerate(leaves):
            out[r::size] = leaf
        return out

    return merge(parts)

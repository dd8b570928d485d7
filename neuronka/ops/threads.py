"""The one worker pool of the batch-parallel ops, and their per-thread scratch buffers.

:func:`map_batch` cuts a batch into chunks of a few images and shares them among :func:`num_workers`
threads (the calling one and the pool's), each taking the next chunk as it comes free, BLAS running
single-threaded meanwhile (NumPy and ctypes release the GIL in copies and GEMMs); :func:`run_parallel`
runs a fixed list of tasks the same way. :func:`scratch` hands each thread reusable buffers.

The rules, and why:

- **One pool** for the process, of ``max(cores, conv_threads) − 1`` threads (the caller is the last
  worker), ``cores`` being the CPUs this process may run on (``os.sched_getaffinity``): nothing assumes
  two. How the work is cut (the chunks, hence every sum's order) depends on :func:`num_workers` only —
  ``config.conv_threads``, else the BLAS thread count (``OMP_NUM_THREADS``) — never on how many threads
  happen to run it, so results are the same bit for bit whatever the scheduling.
- **No waiting on queued work**: every task is claimed from a shared counter by whichever thread is free,
  the caller included, and the caller waits only for tasks another thread has started. Two user threads
  sharing the pool, or a pool too busy to start anything, therefore finish (the caller does the work).
- **Nested calls run inline**: a parallel op called from inside a task (in the pool or in the caller)
  runs its tasks itself, in order: the outer call already keeps every core busy.
- **BLAS single-threaded while any parallel region runs**, OpenBLAS's thread count being process-wide:
  the first region to start sets it to 1, the last to end restores what it found, both under one lock
  (a counted region, not a save/restore per call that a second thread would undo); within a region
  :func:`num_workers` answers the count found, not the 1 set meanwhile. The control needs the optional
  ``threadpoolctl``; without it the chunks run on the calling thread (BLAS threaded).
- **Shut down properly**: :func:`shutdown` at interpreter exit (``atexit``); a forked child starts with
  no pool, no region and BLAS as its parent found it (``os.register_at_fork``).
"""
from __future__ import annotations

import atexit
import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy

from .. import config

_CHUNK_BYTES = 3_000_000  # scratch per chunk (padded input + im2col columns): stays in the cache
_SHIFTED_CHUNK_BYTES = 1_000_000  # scratch per chunk of the shifted GEMMs (grids of x, y, gy): in L2
_SCRATCH_KEEP = 64 << 20  # larger scratch buffers are allocated per call, not kept per thread
_local = threading.local()  # per thread: scratch buffers; ``inside``: running a task of a parallel call
_lock = threading.Lock()  # guards the pool and the BLAS region count
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None  # threadpoolctl controller of the BLAS libraries, False when unavailable
_regions = 0  # parallel regions running now (BLAS is single-threaded while > 0)
_blas_found: list[int] | None = None  # the BLAS thread counts the first region found, restored by the last


def cores() -> int:
    """The CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _blas_controller():
    global _blas
    if _blas is None:
        with _lock:
            if _blas is None:
                try:  # optional: without threadpoolctl the chunks run serially, BLAS threaded
                    import threadpoolctl  # noqa: PLC0415

                    ctrl = threadpoolctl.ThreadpoolController().select(user_api="blas")
                    _blas = ctrl if ctrl.lib_controllers else False
                except Exception:  # any failure to inspect the BLAS libraries means: no thread control
                    _blas = False
    return _blas


def num_workers() -> int:
    """How many workers a batch is cut for: ``config.conv_threads`` (``NEURONKA_CONV_THREADS``; 1 runs the
    chunks serially, BLAS threaded), else the BLAS thread count found outside any parallel region (1 without
    ``threadpoolctl``)."""
    threads = config.get("conv_threads")
    if threads:
        return int(threads)
    ctrl = _blas_controller()
    if not ctrl:
        return 1
    with _lock:
        counts = _blas_found if _regions else [lc.num_threads for lc in ctrl.lib_controllers]
    return max(1, min(counts))


def pool_size() -> int:
    """Threads of the pool (made on first use): the cores found, or ``conv_threads`` if more, less one (the
    calling thread is the last worker)."""
    return max(cores(), int(config.get("conv_threads") or 0)) - 1


def _get_pool() -> ThreadPoolExecutor | None:
    """The process's one pool (None on a single core): made on first use, replaced only when
    ``conv_threads`` asks for more threads than it has (the old one shut down)."""
    global _pool, _pool_size
    size = pool_size()
    with _lock:
        if (_pool is None or _pool_size < size) and size > 0:
            old, _pool, _pool_size = _pool, ThreadPoolExecutor(size, thread_name_prefix="neuronka-worker"), size
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def shutdown() -> None:
    """Stop the pool's threads (they finish the task they run); the next parallel call makes a new pool."""
    global _pool, _pool_size
    with _lock:
        pool, _pool, _pool_size = _pool, None, 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _after_fork_in_child() -> None:
    """The child of a fork has one thread: no pool thread came along, so forget the pool; a region some
    other thread of the parent had open never ends here, so give BLAS back the count it found."""
    global _pool, _pool_size, _lock, _regions, _blas_found
    _lock = threading.Lock()
    _pool, _pool_size = None, 0
    if _regions and _blas:
        for lc, n in zip(_blas.lib_controllers, _blas_found):
            _set_blas_threads(lc, n)
    _regions, _blas_found = 0, None
    _local.inside = False


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _set_blas_threads(lc, n: int) -> None:
    """Set a BLAS library's (process-wide) thread count. threadpoolctl ≥ 3.6 lets only the first Python thread
    that sets OpenBLAS's count change it again (others are ignored, silently), which would leave BLAS at 1
    when another thread ends the last region; this module's lock already keeps its changes from fighting, so
    it calls the library's own setter."""
    getattr(lc, "_real_set_num_threads", lc.set_num_threads)(n)


def _enter_blas_region() -> None:
    global _regions, _blas_found
    ctrl = _blas_controller()
    if not ctrl:
        return
    with _lock:
        if _regions == 0:
            _blas_found = [lc.num_threads for lc in ctrl.lib_controllers]
            for lc in ctrl.lib_controllers:
                _set_blas_threads(lc, 1)
        _regions += 1


def _exit_blas_region() -> None:
    global _regions, _blas_found
    ctrl = _blas_controller()
    if not ctrl:
        return
    with _lock:
        _regions -= 1
        if _regions == 0:
            for lc, n in zip(ctrl.lib_controllers, _blas_found):
                _set_blas_threads(lc, n)
            _blas_found = None


def _share(work, count: int, workers: int, single_threaded_blas: bool) -> None:
    """Run ``work(k)`` for k in [0, count) on up to ``workers`` threads: this one and the pool's, each
    claiming the next k as it comes free; returns when all have run, raising the first error."""
    if workers <= 1 or count <= 1 or getattr(_local, "inside", False):  # nested: run inline
        for k in range(count):
            work(k)
        return
    claim = itertools.count()  # next() on it is atomic under the GIL
    left, errors = [count], []
    done = threading.Event()
    counted = threading.Lock()

    def drain():
        outer, _local.inside = getattr(_local, "inside", False), True
        try:
            while (k := next(claim)) < count:
                try:
                    work(k)
                except BaseException as e:  # noqa: BLE001 - handed to the caller below
                    errors.append(e)
                with counted:
                    left[0] -= 1
                    if left[0] == 0:
                        done.set()
        finally:
            _local.inside = outer

    if single_threaded_blas:
        _enter_blas_region()
    try:
        pool = _get_pool()
        helpers = min(workers - 1, _pool_size) if pool is not None else 0
        for _ in range(helpers):
            try:
                pool.submit(drain)
            except RuntimeError:  # the pool was shut down (interpreter exit): this thread does the rest
                break
        drain()
        done.wait()  # only for tasks another thread has claimed, hence started
    finally:
        if single_threaded_blas:
            _exit_blas_region()
    if errors:
        raise errors[0]


def scratch(name: str, shape, dtype):
    """A per-thread reusable buffer (its old contents are garbage): no page faults on every call.

    Buffers above ``_SCRATCH_KEEP`` bytes (one huge image's columns) are not kept.
    """
    nbytes = math.prod(shape) * numpy.dtype(dtype).itemsize
    if nbytes > _SCRATCH_KEEP:
        return numpy.empty(shape, dtype)
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.size < nbytes:
        buf = bufs[name] = numpy.empty(max(nbytes, 64), numpy.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def run_parallel(tasks) -> list:
    """Run ``fn(*args)`` for each (fn, args) of ``tasks`` on the calling thread and the pool's; their results
    in order. For work that releases the GIL and does not call BLAS (compiled kernels)."""
    results = [None] * len(tasks)

    def work(k):
        fn, args = tasks[k]
        results[k] = fn(*args)

    _share(work, len(tasks), len(tasks), single_threaded_blas=False)
    return results


def map_batch(fn, n: int, bytes_per_image: int, xp=numpy, chunk_bytes: int | None = None) -> list:
    """Call ``fn(n0, n1)`` on chunks [n0, n1) covering [0, n); return the non-None results in chunk order.

    Chunks hold about ``chunk_bytes`` (default ``_CHUNK_BYTES``) of scratch; ``num_workers()`` threads take
    the next chunk as they come free (a core slowed by another process then does fewer chunks instead of
    holding up the rest), BLAS being limited to one thread meanwhile. The chunks depend on ``num_workers()``
    only and the results keep their order whichever thread ran them, so sums over them are the same from
    run to run.
    """
    workers = num_workers() if xp is numpy else 1
    nb = max(1, min((chunk_bytes or _CHUNK_BYTES) // max(bytes_per_image, 1), -(-n // workers)))
    n_chunks = -(-n // nb)
    workers = min(workers, n_chunks)
    if workers == 1:
        return [r for n0 in range(0, n, nb) if (r := fn(n0, min(n0 + nb, n))) is not None]
    results = [None] * n_chunks

    def work(k):
        results[k] = fn(k * nb, min(k * nb + nb, n))

    _share(work, n_chunks, workers, single_threaded_blas=True)
    return [r for r in results if r is not None]


def _sum(parts):
    """The chunks' partial sums added in chunk order (the same sum whichever threads ran them)."""
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total

"""The worker threads of the batch-parallel ops, and their per-thread scratch buffers.

:func:`map_batch` cuts a batch into chunks of a few images and shares them among :func:`num_workers`
threads (the calling one and the pool's), each taking the next chunk as it comes free, BLAS running
single-threaded inside each (NumPy and ctypes release the GIL in copies and GEMMs); :func:`run_parallel`
runs a fixed list of tasks the same way. :func:`scratch` hands each thread reusable buffers.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy

from .. import config

# ----------------------------------------------------------------------------------
# threads and scratch buffers
# ----------------------------------------------------------------------------------
_CHUNK_BYTES = 3_000_000  # scratch per chunk (padded input + im2col columns): stays in the cache
_SHIFTED_CHUNK_BYTES = 1_000_000  # scratch per chunk of the shifted GEMMs (grids of x, y, gy): in L2
_SCRATCH_KEEP = 64 << 20  # larger scratch buffers are allocated per call, not kept per thread
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None  # threadpoolctl controller of the BLAS libraries, False when unavailable
_lock = threading.Lock()


def _blas_controller():
    global _blas
    if _blas is None:
        with _lock:
            if _blas is None:
                try:  # optional: without threadpoolctl the chunks run serially, BLAS threaded
                    import threadpoolctl

                    ctrl = threadpoolctl.ThreadpoolController().select(user_api="blas")
                    _blas = ctrl if ctrl.lib_controllers else False
                except Exception:  # any failure to inspect the BLAS libraries means: no thread control
                    _blas = False
    return _blas


def num_workers() -> int:
    """Threads that share a batch: the BLAS thread count (1 without threadpoolctl).

    ``NEURONKA_CONV_THREADS`` overrides it (1 runs the chunks serially, BLAS threaded).
    """
    threads = config.get("conv_threads")
    if threads:
        return int(threads)
    ctrl = _blas_controller()
    if not ctrl:
        return 1
    return max(1, min(lc.num_threads for lc in ctrl.lib_controllers))


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


def _get_pool(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < threads:
            _pool, _pool_size = ThreadPoolExecutor(threads, thread_name_prefix="neuronka-conv"), threads
        return _pool


def run_parallel(tasks) -> list:
    """Run ``fn(*args)`` for each (fn, args) of ``tasks``, the first in this thread, the others in the pool;
    their results in order. For work that releases the GIL and does not call BLAS (compiled kernels)."""
    if len(tasks) == 1:
        fn, args = tasks[0]
        return [fn(*args)]
    pool = _get_pool(len(tasks) - 1)
    futures = [pool.submit(fn, *args) for fn, args in tasks[1:]]
    fn, args = tasks[0]
    return [fn(*args)] + [f.result() for f in futures]


def map_batch(fn, n: int, bytes_per_image: int, xp=numpy, chunk_bytes: int | None = None) -> list:
    """Call ``fn(n0, n1)`` on chunks [n0, n1) covering [0, n); return the non-None results in chunk order.

    Chunks hold about ``chunk_bytes`` (default ``_CHUNK_BYTES``) of scratch; ``num_workers()`` threads take
    the next chunk as they come free (a core slowed by another process then does fewer chunks instead of
    holding up the rest), BLAS being limited to one thread meanwhile. The results keep the chunks' order
    whichever thread ran them, so sums over them are the same from run to run.
    """
    workers = num_workers() if xp is numpy else 1
    nb = max(1, min((chunk_bytes or _CHUNK_BYTES) // max(bytes_per_image, 1), -(-n // workers)))
    n_chunks = -(-n // nb)
    workers = min(workers, n_chunks)
    if workers == 1:
        return [r for n0 in range(0, n, nb) if (r := fn(n0, min(n0 + nb, n))) is not None]
    results = [None] * n_chunks
    next_chunk = itertools.count()  # next() on it is atomic under the GIL

    def run():
        while (k := next(next_chunk)) < n_chunks:
            results[k] = fn(k * nb, min(k * nb + nb, n))

    pool = _get_pool(workers - 1)
    ctrl = _blas_controller()
    with ctrl.limit(limits=1) if ctrl else contextlib.nullcontext():
        futures = [pool.submit(run) for _ in range(1, workers)]
        run()
        for f in futures:
            f.result()
    return [r for r in results if r is not None]


def _sum(parts):
    """The chunks' partial sums added in chunk order (the same sum whichever threads ran them)."""
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total

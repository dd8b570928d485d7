"""The MPI processes: is this process one of several launched by mpiexec / mpirun / srun, which one,
and the few collectives neuronka uses (broadcast, sum-allreduce), all through mpi4py.

mpi4py is imported lazily: only when the environment says the process was launched by an MPI launcher
with more than one process (:func:`launched_size` > 1), or when :func:`initialize` is called
explicitly. A plain ``python train.py`` never imports it, and then this process is the only one
(``num_processes() == 1``, ``process_id() == 0``).

Faults: once MPI is initialized with more than one process, an uncaught exception on any rank
prints which rank failed and calls ``MPI_Abort``, so the other ranks (possibly blocked in a
collective) are killed by the launcher instead of hanging. A rank killed by a signal is handled by
the launcher itself (MPICH's and Open MPI's mpiexec end the job when one process dies).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback

# Set by the launchers, read before importing mpi4py: (environment variable, launcher).
_SIZE_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "Open MPI mpirun"),
    ("PMI_SIZE", "MPICH / Intel MPI mpiexec (Hydra), srun --mpi=pmi2"),
    ("PMIX_SIZE", "PMIx launchers"),
    ("MV2_COMM_WORLD_SIZE", "MVAPICH mpirun_rsh"),
    ("SLURM_STEP_NUM_TASKS", "Slurm srun"),
)

_FLUSH_SECONDS = 0.5
_lock = threading.Lock()
_comm = None  # mpi4py's COMM_WORLD once initialized
_MPI = None  # the mpi4py.MPI module once imported


def launched_size() -> int:
    """The number of processes the launcher started, read from its environment variables (1 when none
    is set, i.e. a plain ``python`` run). Does not import mpi4py."""
    for name, _ in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value:
            try:
                return max(1, int(value))
            except ValueError:
                continue
    return 1


def is_initialized() -> bool:
    """True once :func:`initialize` has imported mpi4py in this process."""
    return _comm is not None


def initialize(required: bool = False):
    """Import mpi4py and return COMM_WORLD when this process was launched by MPI with more than one
    process (or when ``required``); ``None`` otherwise. Idempotent.

    Raises ImportError, saying how to install it, when mpi4py is needed but missing.
    """
    global _comm, _MPI
    if _comm is not None:
        return _comm
    if not required and launched_size() <= 1:
        return None
    with _lock:
        if _comm is None:
            try:
                from mpi4py import MPI  # noqa: PLC0415 - optional dependency, imported only under MPI
            except ImportError as e:
                raise ImportError(
                    f"neuronka.distribution: this process was launched by MPI ({launched_size()} processes) or MPI "
                    "was requested, but mpi4py is not installed. Install the MPI extra: "
                    "`pip install neuronka[mpi]` (mpi4py + mpich), or `pip install mpi4py` against your cluster's MPI."
                ) from e
            _MPI = MPI
            _comm = MPI.COMM_WORLD
            if _comm.Get_size() > 1:
                _install_abort_on_error()
    return _comm


def num_processes() -> int:
    """P: the number of MPI processes (1 without MPI)."""
    comm = initialize()
    return 1 if comm is None else comm.Get_size()


def process_id() -> int:
    """This process's rank in [0, P) (0 without MPI)."""
    comm = initialize()
    return 0 if comm is None else comm.Get_rank()


# ---- faults -------------------------------------------------------------------------------------------
def abort(message: str, errorcode: int = 1) -> None:
    """Print ``message`` (naming this rank) to stderr and end every rank of the job (``MPI_Abort``)."""
    _say(message, errorcode)
    _end(errorcode)


def _end(errorcode: int) -> None:
    time.sleep(_FLUSH_SECONDS)  # let the launcher forward the messages before it kills the job
    if _comm is not None:
        _comm.Abort(errorcode)
    os._exit(errorcode)  # pragma: no cover - Abort does not return


def _say(message: str, errorcode: int) -> None:
    sys.stderr.write(f"neuronka.distribution: rank {process_id()} of {num_processes()}: {message}; "
                     f"aborting all ranks (MPI_Abort, error code {errorcode})\n")
    sys.stderr.flush()


def _install_abort_on_error() -> None:
    """Chain ``sys.excepthook`` (and threading's) so an uncaught exception on this rank aborts the job:
    a peer waiting in an allreduce would otherwise wait forever."""
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        message = f"uncaught {exc_type.__name__}: {exc}"
        _say(message, 1)  # the one line first: the launcher may cut the output short once a rank aborts
        previous(exc_type, exc, tb)
        _end(1)

    def thread_excepthook(args):
        message = f"uncaught {args.exc_type.__name__} in thread {getattr(args.thread, 'name', '?')}: {args.exc_value}"
        _say(message, 1)
        traceback.print_exception(args.exc_type, args.exc_value, args.exc_traceback)
        _end(1)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


# ---- collectives ---------------------------------------------------------------------------------------
def _check_buffer(what: str, array) -> None:
    if not getattr(array, "flags", None) or not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"neuronka.distribution.{what}: expected a writeable C-contiguous NumPy array, "
                         f"received {type(array).__name__}")


def broadcast_(array, root: int = 0) -> None:
    """array ← rank ``root``'s array, in place on every rank (``MPI_Bcast``); nothing without MPI."""
    comm = initialize()
    if comm is None or comm.Get_size() == 1:
        return
    _check_buffer("broadcast_", array)
    comm.Bcast(array, root=root)


def allreduce_sum_(array) -> None:
    """array ← Σ_p array_p over the ranks, in place on every rank (``MPI_Allreduce`` with SUM)."""
    comm = initialize()
    if comm is None or comm.Get_size() == 1:
        return
    _check_buffer("allreduce_sum_", array)
    comm.Allreduce(_MPI.IN_PLACE, array, op=_MPI.SUM)


def start_allreduce_sum_(array):
    """Start array ← Σ_p array_p in place (``MPI_Iallreduce``); returns the request to wait on."""
    comm = initialize(required=True)
    return comm.Iallreduce(_MPI.IN_PLACE, array, op=_MPI.SUM)


def test_all(requests) -> bool:
    """Let MPI advance the started requests (``MPI_Testall``) without waiting; True when all are done. Without
    an asynchronous progress thread (MPICH's default; ``MPICH_ASYNC_PROGRESS=1`` starts one) a nonblocking
    collective progresses only inside MPI calls such as this one."""
    return bool(_MPI.Request.Testall(requests)) if requests else True


def wait_all(requests) -> None:
    """Wait until every request of :func:`start_allreduce_sum_` is done (``MPI_Waitall``)."""
    if requests:
        _MPI.Request.Waitall(requests)


def allgather(obj) -> list:
    """The list of ``obj`` from every rank, in rank order (pickled; for small values such as checksums)."""
    comm = initialize()
    if comm is None:
        return [obj]
    return comm.allgather(obj)


def broadcast_object(obj, root: int = 0):
    """Rank ``root``'s ``obj`` on every rank (pickled; for small values such as a step count)."""
    comm = initialize()
    if comm is None:
        return obj
    return comm.bcast(obj, root=root)

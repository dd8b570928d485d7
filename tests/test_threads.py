"""The one worker pool of the batch-parallel ops (neuronka/ops/threads.py): two user threads running
convolutions do not disturb each other, nested parallel calls finish, the pool is sized from the cores found
and goes away at shutdown and in a forked child."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy
import pytest

from neuronka.ops import convolution as C
from neuronka.ops import threads as T

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [lc.num_threads for lc in T._blas_controller().lib_controllers]


def _conv_step(x, w, gy, g):
    y = C.conv_forward(x, w, g)
    dx, dw = C.conv_backward(x, w, gy, g)
    return y, dx, dw


def _case(rng, n, hw, k, stride, padding, c, o):
    x = rng.standard_normal((n, hw, hw, c)).astype(numpy.float32)
    w = rng.standard_normal((k, k, c, o)).astype(numpy.float32)
    g = C.conv_geometry((hw, hw), (k, k), (stride, stride), (1, 1), padding)
    gy = rng.standard_normal((n, g.ho, g.wo, o)).astype(numpy.float32)
    return x, w, gy, g


def test_two_user_threads_running_convolutions_equal_sequential_runs_and_leave_blas_as_found(monkeypatch):
    monkeypatch.delenv("NEURONKA_CONV_THREADS", raising=False)
    if not T._blas_controller():
        pytest.skip("the BLAS thread count cannot be controlled here: the chunks run on one thread")
    rng = numpy.random.default_rng(0)
    # a stride-1 "same" convolution (compiled / shifted paths) and a strided one (im2col / strided kernels):
    # the batch is cut for num_workers() workers, so a wrong worker count changes dW's summation order
    cases = [_case(rng, 16, 12, 3, 1, "same", 8, 16), _case(rng, 16, 13, 3, 2, "valid", 5, 7)]
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        found = _blas_threads()
        expected = [_conv_step(*case) for case in cases]
        outs: list[list] = [[], []]
        barrier = threading.Barrier(2, timeout=60)

        def user(i):
            barrier.wait()
            for _ in range(20):
                outs[i].append(_conv_step(*cases[i]))

        users = [threading.Thread(target=user, args=(i,)) for i in range(2)]
        for t in users:
            t.start()
        for t in users:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in users), "the two user threads did not finish"
        assert [len(o) for o in outs] == [20, 20]
        for i in range(2):
            for run in outs[i]:
                for got, want in zip(run, expected[i]):
                    assert numpy.array_equal(got, want), f"case {i}: a concurrent run differs from the sequential one"
        assert _blas_threads() == found, "BLAS is left with another thread count than it had"
        assert T.num_workers() == 2


NESTED = textwrap.dedent("""
    import numpy
    from neuronka.ops import threads as T

    def outer(k):
        # a task of a parallel call that itself calls a parallel op (eight one-image chunks)
        parts = T.map_batch(lambda n0, n1: numpy.full(3, float(n0)), 8, 1, chunk_bytes=1)
        return float(T._sum(parts).sum())

    print(T.run_parallel([(outer, (k,)) for k in range(4)]))
""")


def test_a_parallel_call_nested_in_a_pool_task_completes():
    env = {**os.environ, "NEURONKA_CONV_THREADS": "2"}  # a pool of one thread on two cores: the tightest case
    try:
        done = subprocess.run([sys.executable, "-c", NESTED], env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("a parallel call nested in a pool task deadlocked (no result after 90 s)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([84.0] * 4)  # 3 · (0 + 1 + ... + 7) per outer task


def test_the_pool_is_sized_from_the_cores_found_and_the_setting(monkeypatch):
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    monkeypatch.delenv("NEURONKA_CONV_THREADS", raising=False)
    T.shutdown()
    try:
        assert T.cores() == 5 and T.pool_size() == 4  # the cores found, whatever BLAS's thread count
        ran_on = set()
        barrier = threading.Barrier(5, timeout=60)

        def task():
            barrier.wait()  # five threads at once, or a BrokenBarrierError
            ran_on.add(threading.current_thread().name)

        T.run_parallel([(task, ())] * 5)
        assert len(ran_on) == 5
        monkeypatch.setenv("NEURONKA_CONV_THREADS", "7")
        assert T.num_workers() == 7 and T.pool_size() == 6  # a setting above the cores is honoured
        monkeypatch.setenv("NEURONKA_CONV_THREADS", "3")
        assert T.num_workers() == 3 and T.pool_size() == 4
    finally:
        T.shutdown()


def test_shutdown_stops_the_pool_threads_and_the_next_call_makes_a_new_pool():
    T.run_parallel([(int, ("1",)), (int, ("2",))])
    T.shutdown()
    assert T._pool is None
    assert not [t for t in threading.enumerate() if t.name.startswith("neuronka-worker") and t.is_alive()]
    assert T.run_parallel([(int, ("3",)), (int, ("4",))]) == [3, 4]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_without_the_parents_pool_and_runs_parallel_ops(monkeypatch):
    monkeypatch.setenv("NEURONKA_CONV_THREADS", "2")
    assert T.run_parallel([(int, ("1",)), (int, ("2",))]) == [1, 2]  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # the child: a stale pool would queue the task for threads that do not exist here
        import signal

        signal.alarm(30)  # a hang kills the child: the parent sees a failure, not a hang
        ok = T._pool is None and T.run_parallel([(int, ("3",)), (int, ("4",))]) == [3, 4]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_overlapping_parallel_regions_of_two_user_threads_leave_blas_as_they_found_it(monkeypatch):
    """Thread A starts a parallel op, thread B starts one while A's runs and ends after it: BLAS must come out
    with the thread count it had (a save / restore per call would leave B's saved 1 behind)."""
    monkeypatch.setenv("NEURONKA_CONV_THREADS", "2")
    if not T._blas_controller():
        pytest.skip("the BLAS thread count cannot be controlled here")
    a_inside, both_inside = threading.Event(), threading.Barrier(2, timeout=60)

    def chunk_a(n0, n1):
        if n0 == 0:
            a_inside.set()
            both_inside.wait()

    def chunk_b(n0, n1):
        if n0 == 0:
            both_inside.wait()
            threading.Event().wait(0.3)  # B's region ends last

    def user_b():
        a_inside.wait(60)
        T.map_batch(chunk_b, 2, 1, chunk_bytes=1)

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        found = _blas_threads()
        b = threading.Thread(target=user_b)
        b.start()
        T.map_batch(chunk_a, 2, 1, chunk_bytes=1)
        b.join(timeout=60)
        assert not b.is_alive()
        assert _blas_threads() == found


def test_image_decoding_processes_follow_the_cores_found(monkeypatch):
    from neuronka.datasets import images

    sizes = []

    class Pool:  # records the size asked for, decodes in this process
        def __init__(self, processes):
            sizes.append(processes)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def imap(self, fn, tasks):
            return map(fn, tasks)

    class Context:
        pass

    Context.Pool = Pool
    monkeypatch.setattr(images.multiprocessing, "get_context", lambda method: Context)
    monkeypatch.setattr(images, "_POOL_MIN_IMAGES", 0)
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert images.decode_many(iter([]), expected_count=1) == []
    assert sizes == [3]

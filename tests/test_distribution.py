"""neuronka.distribution: Keras's distribution API without MPI (compared with real Keras), the sharding of
an epoch, and data-parallel training on 2 MPI ranks (``mpiexec -n 2 python tests/mpi_worker.py``, in a
subprocess with a timeout so that a hang fails instead of blocking the suite).

Tolerance of the 2 ranks × batch 32 against 1 process × batch 64 comparison: rtol 1e-5, atol 1e-6 on every
weight after 8 SGD-with-momentum steps. Both compute the mean gradient of the same 64 samples; they differ
only in the order of the float32 sums (two means of 32 then averaged, against one mean of 64), a few ulps
per step (measured: at most 2e-7 on weights of magnitude ~0.25 that moved by ~0.25).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy
import pytest

import neuronka as nk
from neuronka.optimizers import base as optimizer_base

from .helpers import communicate_or_kill
from .keras_oracle import keras_api, keras_or_skip

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "mpi_worker.py"
sys.path.insert(0, str(ROOT / "tests"))
import mpi_worker  # noqa: E402


def _mpiexec_or_skip() -> str:
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed: pip install -e '.[mpi]' (mpi4py + mpich)")
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if not found:
        pytest.skip("no `mpiexec` on PATH: pip install mpich (or your MPI library's launcher)")
    return found


def _launch(scenario: str, outdir: Path, timeout: float) -> tuple[int, str, float]:
    """Run the worker on 2 ranks; (exit code, output, seconds). A run past ``timeout`` is killed (its whole
    process group) and fails the test."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [_mpiexec_or_skip(), "-n", "2", sys.executable, str(WORKER), scenario, str(outdir)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    rc, out = communicate_or_kill(proc, timeout, f"mpiexec -n 2 ... {scenario}")
    return rc, out, time.monotonic() - start


# ---- without MPI: Keras's objects ---------------------------------------------------------------------
@keras_api("distribution.DeviceMesh", "distribution.TensorLayout", "distribution.DataParallel",
           "distribution.distribution", "distribution.set_distribution")
def test_distribution_objects_match_keras_without_mpi():
    keras = keras_or_skip()
    kd, nd = keras.distribution, nk.distribution
    for shape, names, devices in [((1,), ["batch"], ["cpu:0"]),
                                  ((2, 2), ["batch", "model"], [f"cpu:{i}" for i in range(4)])]:
        km, nm = kd.DeviceMesh(shape, names, devices=devices), nd.DeviceMesh(shape, names, devices=devices)
        assert (nm.shape, nm.axis_names, repr(nm)) == (km.shape, km.axis_names, repr(km))
        numpy.testing.assert_array_equal(nm.devices, km.devices)
    kp, np_ = kd.DataParallel(devices=["cpu:0"]), nd.DataParallel(devices=["cpu:0"])
    for attr in ("batch_dim_name", "num_processes", "num_model_replicas", "data_shard_id", "auto_shard_dataset"):
        assert getattr(np_, attr) == getattr(kp, attr), attr
    assert repr(np_) == repr(kp)
    assert repr(np_.device_mesh) == repr(kp.device_mesh)
    assert np_.get_data_layout((4, 3)).axes == kp.get_data_layout((4, 3)).axes == ("batch", None)
    assert (np_.get_variable_layout(nk.Variable(numpy.ones((2, 3), "float32"))).axes
            == kp.get_variable_layout(keras.Variable(numpy.ones((2, 3), "float32"))).axes)
    assert np_.get_tensor_layout("x") is None and kp.get_tensor_layout("x") is None
    kmesh, nmesh = kd.DeviceMesh((1,), ["data"], devices=["cpu:0"]), nd.DeviceMesh((1,), ["data"], devices=["cpu:0"])
    assert nd.DataParallel(device_mesh=nmesh).batch_dim_name == kd.DataParallel(device_mesh=kmesh).batch_dim_name
    assert nd.distribution() is None and kd.distribution() is None
    with np_.scope(), kp.scope():
        assert nd.distribution() is np_ and kd.distribution() is kp
    assert nd.distribution() is None and kd.distribution() is None
    nd.set_distribution(np_)
    kd.set_distribution(kp)
    try:
        assert nd.distribution() is np_ and kd.distribution() is kp
    finally:
        nd.set_distribution(None)
        kd.set_distribution(None)


@keras_api("distribution.DeviceMesh", "distribution.TensorLayout", "distribution.DataParallel")
@pytest.mark.parametrize("make, received", [
    (lambda d: d.DeviceMesh((2,), ["batch"], devices=["cpu:0"]), "devices.shape=(1,)"),
    (lambda d: d.DeviceMesh((), ["batch"], devices=["cpu:0"]), "shape=()"),
    (lambda d: d.DeviceMesh((1,), ["a", "b"], devices=["cpu:0"]), "axis_names=['a', 'b']"),
    (lambda d: d.DataParallel(device_mesh="mesh"), "=mesh (of type <class 'str'>)"),
    (lambda d: d.TensorLayout(("model",), d.DeviceMesh((1,), ["batch"], devices=["cpu:0"])), "Got {'model'}"),
], ids=["shape_vs_devices", "empty_shape", "names_vs_shape", "mesh_not_a_mesh", "layout_unknown_axis"])
def test_distribution_bad_arguments_raise_like_keras(make, received):
    keras = keras_or_skip()
    with pytest.raises(ValueError) as expected:
        make(keras.distribution)
    with pytest.raises(ValueError) as got:
        make(nk.distribution)
    assert received in str(expected.value) and received in str(got.value), (str(got.value), str(expected.value))


def test_without_mpi_one_cpu_device_and_no_gradient_averaging():
    d = nk.distribution
    assert d.list_devices() == d.list_devices("cpu") == d.list_devices("CPU") == ["cpu:0"]
    assert d.get_device_count() == 1 and d.list_devices("gpu") == []
    with pytest.raises(ValueError, match="device_type"):
        d.list_devices("xpu")
    assert (d.num_processes(), d.process_id()) == (1, 0)
    dp = d.DataParallel()
    assert dp.device_mesh.shape == (1,) and list(dp.device_mesh.devices) == ["cpu:0"]
    with dp.scope():
        assert optimizer_base.gradient_reducer is None  # one process: nothing to average
    with pytest.raises(ValueError, match="Distribution or None"):
        d.set_distribution("data_parallel")
    d.initialize()  # nothing to start
    d.initialize(num_processes=1, process_id=0)
    with pytest.raises(ValueError, match="num_processes=2 but this process was not started by an MPI launcher"):
        d.initialize(num_processes=2)
    with pytest.raises(ValueError, match="process_id=1"):
        d.initialize(process_id=1)
    assert "mpi4py" not in sys.modules or d.mpi.is_initialized()  # initialize() alone did not import it


def test_plain_python_never_imports_mpi4py():
    code = ("import sys, neuronka as k; d = k.distribution; d.set_distribution(d.DataParallel()); "
            "d.shard_indices(10, 0, 1); assert 'mpi4py' not in sys.modules, 'mpi4py imported'")
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE",
                                                            "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


# ---- sharding -------------------------------------------------------------------------------------------
def test_shard_indices_deal_one_permutation_into_disjoint_equal_shards():
    d = nk.distribution
    n, p, b = 103, 3, 4
    shards = [d.shard_indices(n, epoch=5, seed=7, num_shards=p, shard_id=r) for r in range(p)]
    assert all(len(s) == n // p for s in shards)  # the n mod P left over are skipped: equal step counts
    union = numpy.concatenate(shards)
    assert len(numpy.unique(union)) == len(union) == n - n % p and union.min() >= 0 and union.max() < n
    whole = d.shard_indices(n, epoch=5, seed=7, num_shards=1, shard_id=0)
    for j in range(len(shards[0]) // b):  # batch j of the shards together = batch j of the global order (P·b)
        parts = numpy.concatenate([s[j * b:(j + 1) * b] for s in shards])
        assert sorted(parts) == sorted(whole[j * p * b:(j + 1) * p * b])
    assert not numpy.array_equal(whole, d.shard_indices(n, epoch=6, seed=7, num_shards=1, shard_id=0))
    numpy.testing.assert_array_equal(d.shard_indices(6, 0, 0, 2, 1, shuffle=False), [1, 3, 5])
    with pytest.raises(ValueError, match="shard_id"):
        d.shard_indices(10, 0, 0, num_shards=2, shard_id=2)


# ---- 2 MPI ranks ----------------------------------------------------------------------------------------
def test_two_ranks_stay_bitwise_identical_and_match_one_process_at_twice_the_batch(tmp_path):
    rc, out, seconds = _launch("train", tmp_path, timeout=180)
    assert rc == 0, out[-3000:]
    stats = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    steps = mpi_worker.EPOCHS * mpi_worker.N_SAMPLES // (2 * mpi_worker.PER_RANK_BATCH)
    for s in stats:  # per fit: one check before the first step, one after each step
        assert s["mismatches"] == [] and s["checks"] == mpi_worker.EPOCHS + steps and s["iterations"] == steps
        assert s["buckets"] and min(s["buckets"]) > 1  # the gradients travelled in several buckets
    w0, w1 = (numpy.load(tmp_path / f"rank{r}.npz") for r in (0, 1))
    assert all(numpy.array_equal(w0[k], w1[k]) for k in w0.files)

    x, y = mpi_worker.make_data()
    reference = mpi_worker.build_model(mpi_worker.INIT_SEED)  # rank 0's initial weights, broadcast to rank 1
    start = [nk.asnumpy(v.data).copy() for v in reference.weights]
    for epoch in range(mpi_worker.EPOCHS):
        idx = nk.distribution.shard_indices(mpi_worker.N_SAMPLES, epoch, mpi_worker.DATA_SEED, 1, 0)
        reference.fit(x[idx], y[idx], batch_size=2 * mpi_worker.PER_RANK_BATCH, epochs=1, shuffle=False, verbose=0)
    for i, v in enumerate(reference.weights):
        expected = nk.asnumpy(v.data)
        assert numpy.abs(expected - start[i]).max() > 1e-2  # training moved it: the comparison can fail
        numpy.testing.assert_allclose(w0[f"arr_{i}"], expected, rtol=1e-5, atol=1e-6, err_msg=v.name)


def test_fit_shards_the_data_itself_under_data_parallel_and_matches_one_process(tmp_path):
    """With auto_shard_dataset, each rank's fit(x, y) takes its part of every batch: 2 ranks × batch 32 on all the
    data equal 1 process × batch 64 (shuffle=False: the global order is 0, 1, 2, ...)."""
    rc, out, _ = _launch("auto", tmp_path, timeout=180)
    assert rc == 0, out[-3000:]
    stats = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    steps = mpi_worker.EPOCHS * mpi_worker.N_SAMPLES // (2 * mpi_worker.PER_RANK_BATCH)
    assert all(s["mismatches"] == [] and s["iterations"] == steps for s in stats)
    w0 = numpy.load(tmp_path / "rank0.npz")
    x, y = mpi_worker.make_data()
    reference = mpi_worker.build_model(mpi_worker.INIT_SEED)
    reference.fit(x, y, batch_size=2 * mpi_worker.PER_RANK_BATCH, epochs=mpi_worker.EPOCHS, shuffle=False, verbose=0)
    for i, v in enumerate(reference.weights):
        numpy.testing.assert_allclose(w0[f"arr_{i}"], nk.asnumpy(v.data), rtol=1e-5, atol=1e-6, err_msg=v.name)


@pytest.mark.parametrize("scenario", ["fault_exception", "fault_kill", "mismatch"])
def test_a_failing_rank_ends_the_job_within_60_seconds(tmp_path, scenario):
    rc, out, seconds = _launch(scenario, tmp_path, timeout=90)
    assert rc != 0 and seconds < 60, (rc, seconds, out[-3000:])
    assert not (tmp_path / "rank0.npz").exists()  # rank 0 did not carry on alone
    if scenario == "fault_exception":
        assert "rank 1 of 2: uncaught RuntimeError: injected failure" in out and "MPI_Abort" in out, out[-3000:]
    elif scenario == "fault_kill":
        assert "signal 9" in out or "BAD TERMINATION" in out, out[-3000:]
    else:
        assert "GradientAverager: the ranks have different" in out and "MPI_Abort" in out, out[-3000:]


# ---- synchronized batch normalization ---------------------------------------------------------------------
class _ThreadAllreduce:
    """Σ over P threads of a float64 vector, in place on each (a stand-in for MPI's allreduce in one process)."""

    def __init__(self, parties: int):
        self.barrier, self.lock, self.total = threading.Barrier(parties), threading.Lock(), None

    def __call__(self, buf):
        with self.lock:
            self.total = buf.copy() if self.total is None else self.total + buf
        self.barrier.wait()
        total = self.total.copy()
        self.barrier.wait()
        self.total = None
        self.barrier.wait()
        buf[...] = total


def _bn_step(x, w, gamma, beta, relu, allreduce_sum=None):
    """y, μ, σ², dL/dx, dL/dγ, dL/dβ of L = Σ w·batch_norm_train(x)."""
    from neuronka.autograd import Tensor
    from neuronka.ops.normalization import batch_norm_train

    xt, gt, bt = (Tensor(a, requires_grad=True) for a in (x, gamma, beta))
    y, mean, var = batch_norm_train(xt, gt, bt, axis=-1, epsilon=1e-3, relu=relu, allreduce_sum=allreduce_sum)
    (y * Tensor(w)).sum().backward()
    return [nk.asnumpy(a) for a in (y.data, mean.data, var.data, xt.grad, gt.grad, bt.grad)]


@pytest.mark.parametrize("shape, dtype, relu, tol", [
    ((8, 5, 5, 3), "float64", False, 1e-12),  # the NumPy path
    ((8, 5, 5, 3), "float64", True, 1e-12),
    ((64, 8, 8, 16), "float32", True, 2e-5),  # the compiled kernels' path (large enough)
    ((16, 3), "float32", False, 2e-5),
], ids=["numpy_f64", "numpy_f64_relu", "kernels_f32_relu", "dense_f32"])
def test_synchronized_batch_norm_on_two_halves_equals_batch_norm_on_the_whole_batch(shape, dtype, relu, tol):
    """Two threads, each with half of the batch and an allreduce between them: each half's y, μ, σ² and dL/dx
    are those of the whole batch; dL/dγ and dL/dβ are the halves' shares (they sum to the whole batch's)."""
    rng = numpy.random.default_rng(0)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w = rng.standard_normal(shape).astype(dtype)
    gamma, beta = (rng.standard_normal(shape[-1]).astype(dtype) for _ in range(2))
    whole = _bn_step(x, w, gamma, beta, relu)
    alone = _bn_step(x, w, gamma, beta, relu, allreduce_sum=lambda buf: None)  # one process: the same op
    for a, b in zip(whole, alone):
        numpy.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    reducer, h, parts = _ThreadAllreduce(2), shape[0] // 2, [None, None]

    def half(r):
        sl = slice(r * h, (r + 1) * h)
        parts[r] = _bn_step(numpy.ascontiguousarray(x[sl]), numpy.ascontiguousarray(w[sl]), gamma, beta, relu,
                            allreduce_sum=reducer)

    threads = [threading.Thread(target=half, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    y, mean, var, dx, dgamma, dbeta = whole
    scale = {k: max(1.0, float(numpy.abs(v).max())) for k, v in zip("ymvxgb", whole)}
    numpy.testing.assert_allclose(numpy.concatenate([parts[0][0], parts[1][0]]), y, atol=tol * scale["y"])
    numpy.testing.assert_allclose(numpy.concatenate([parts[0][3], parts[1][3]]), dx, atol=tol * scale["x"])
    for p in parts:
        numpy.testing.assert_allclose(p[1], mean, atol=tol * scale["m"])
        numpy.testing.assert_allclose(p[2], var, atol=tol * scale["v"])
    numpy.testing.assert_allclose(parts[0][4] + parts[1][4], dgamma, atol=tol * scale["g"] * 10)
    numpy.testing.assert_allclose(parts[0][5] + parts[1][5], dbeta, atol=tol * scale["b"] * 10)
    local = _bn_step(numpy.ascontiguousarray(x[:h]), numpy.ascontiguousarray(w[:h]), gamma, beta, relu)
    assert numpy.abs(local[1] - mean).max() > 1e-3  # the halves' own statistics differ: the test can fail


def test_synchronized_batch_norm_matches_one_process_at_twice_the_batch_and_local_does_not(tmp_path):
    """Conv2D + BatchNormalization + ReLU, fit on 2 ranks × batch 32 (auto-sharded, 8 steps): with
    synchronized=True every weight — moving statistics too — equals 1 process × batch 64 within rtol 1e-5,
    atol 1e-6 (measured ≤ 2e-7) and is bitwise identical on both ranks; with synchronized=False each rank
    normalizes by its own 32 samples' statistics, and the weights drift from the single-process ones by far
    more than rounding (measured up to 0.04 after 8 steps; asserted > 1e-3), the moving statistics differing
    between the ranks."""
    rc, out, _ = _launch("bn", tmp_path, timeout=180)
    assert rc == 0, out[-3000:]
    steps = mpi_worker.EPOCHS * mpi_worker.N_SAMPLES // (2 * mpi_worker.PER_RANK_BATCH)
    for tag in ("sync", "local"):  # sync: all weights checked identical after every step; local: trainable ones
        stats = [json.loads((tmp_path / f"rank{r}_{tag}.json").read_text()) for r in (0, 1)]
        assert all(s["mismatches"] == [] and s["iterations"] == steps for s in stats), stats
    x, y = mpi_worker.make_data()
    reference = mpi_worker.build_bn_model(mpi_worker.INIT_SEED, synchronized=True)  # one process: plain batch norm
    start = [nk.asnumpy(v.data).copy() for v in reference.weights]
    reference.fit(x, y, batch_size=2 * mpi_worker.PER_RANK_BATCH, epochs=mpi_worker.EPOCHS, shuffle=False, verbose=0)
    sync, local = (numpy.load(tmp_path / f"rank0_{tag}.npz") for tag in ("sync", "local"))
    sync1, local1 = (numpy.load(tmp_path / f"rank1_{tag}.npz") for tag in ("sync", "local"))
    drift = 0.0
    for i, v in enumerate(reference.weights):
        expected = nk.asnumpy(v.data)
        numpy.testing.assert_allclose(sync[f"arr_{i}"], expected, rtol=1e-5, atol=1e-6, err_msg=v.name)
        assert numpy.array_equal(sync[f"arr_{i}"], sync1[f"arr_{i}"]), v.name
        if v.trainable:
            drift = max(drift, float(numpy.abs(local[f"arr_{i}"] - expected).max()))
    assert max(float(numpy.abs(reference.weights[i].data - start[i]).max()) for i in range(len(start))) > 1e-2
    assert drift > 1e-3, drift
    names = [v.name for v in reference.weights]
    moving = names.index("moving_mean")
    assert not numpy.array_equal(local[f"arr_{moving}"], local1[f"arr_{moving}"])


# ---- evaluate, predict and the logs over 2 ranks ----------------------------------------------------------
def test_evaluate_predict_and_epoch_logs_over_two_ranks_equal_one_process_on_all_the_data(tmp_path):
    """Each rank evaluates / predicts its rows (r, r + 2, ...) of 203 samples; the metrics' states (loss total and
    count, accuracy, top-3, precision, recall, F1's confusion counts) are summed over the ranks, so both ranks
    return single-process evaluate on all 203 samples (rtol 1e-5: only the order of the float sums differs), and
    predict returns all 203 rows in order. fit's epoch logs and validation logs are combined too (rtol 1e-4:
    the weights after the steps agree within 1e-5). Both ranks ask for verbose=1 and a CSVLogger: only rank 0
    prints progress bars and writes the log."""
    rc, out, _ = _launch("evaluate", tmp_path, timeout=180)
    assert rc == 0, out[-3000:]
    results = [json.loads((tmp_path / f"rank{r}_eval.json").read_text()) for r in (0, 1)]
    preds = [numpy.load(tmp_path / f"rank{r}_pred.npy") for r in (0, 1)]
    x, y, weights = mpi_worker.make_eval_data()
    reference = mpi_worker.build_eval_model(mpi_worker.INIT_SEED)  # rank 0's weights
    expected_pred = reference.predict(x, batch_size=16, verbose=0)
    expected = mpi_worker.eval_results(reference, x, y, weights, fit_batch=2 * mpi_worker.PER_RANK_BATCH)
    assert preds[0].shape == preds[1].shape == expected_pred.shape == (mpi_worker.N_EVAL, 10)
    for pred in preds:
        numpy.testing.assert_allclose(pred, expected_pred, rtol=1e-6, atol=1e-7)
    assert 0 < expected["plain"]["precision"] < 1 and 0 < expected["plain"]["f1_score"] < 1  # not trivial values
    for got in results:
        for kind in ("plain", "weighted"):
            assert got[kind].keys() == expected[kind].keys()
            for k, v in expected[kind].items():
                assert got[kind][k] == pytest.approx(v, rel=1e-5, abs=1e-7), (kind, k)
        assert got["history"].keys() == expected["history"].keys()
        for k, v in expected["history"].items():
            assert got["history"][k] == pytest.approx(v, rel=1e-4, abs=1e-6), k
    assert results[0]["weighted"]["loss"] != pytest.approx(results[0]["plain"]["loss"], rel=1e-3)
    assert (tmp_path / "log_rank0.csv").exists() and not (tmp_path / "log_rank1.csv").exists()
    assert out.count("7/7") == 2, out[-3000:]  # the end of the two evaluates' progress bars, from rank 0 alone


# ---- the allreduce overlapped with the backward pass -------------------------------------------------------
def test_overlapped_allreduce_starts_buckets_during_backward_and_gives_the_same_weights(tmp_path):
    """Two models (Conv2D + Dense; Conv2D + synchronized BatchNormalization + Dense, whose backward runs a blocking
    allreduce between the buckets' nonblocking ones), each trained 2 epochs on 2 ranks with ``allreduce_overlap`` on
    and off, buckets of 1 KiB (3 of them). On: every step had buckets started before the backward pass ended;
    off: none. (With the overlap, the Dense layer's two buckets start while the convolution's gradients are still
    to come.) The weights are bitwise identical on the ranks after every step, and on and off agree within
    rtol 1e-5 (the sums are the same elementwise a + b, so they are in fact equal)."""
    rc, out, _ = _launch("overlap", tmp_path, timeout=240)
    assert rc == 0, out[-3000:]
    steps = mpi_worker.EPOCHS * mpi_worker.N_SAMPLES // (2 * mpi_worker.PER_RANK_BATCH)
    for name in ("plain", "syncbn"):
        weights = {}
        for mode in ("on", "off"):
            for r in (0, 1):
                s = json.loads((tmp_path / f"rank{r}_{name}_{mode}.json").read_text())
                assert s["mismatches"] == [] and s["iterations"] == steps, (name, mode, s["mismatches"])
                assert len(s["stats"]) == steps and all(st["buckets"] == 3 for st in s["stats"])
                started = [(st["started_in_backward"], st["overlapped"]) for st in s["stats"]]
                if mode == "on":  # the overlap happened, at every step: the Dense layer's 2 buckets started
                    # while the convolution's gradients were still to come; the last bucket at the end of backward
                    assert all(st == (3, 2) for st in started), (name, started)
                else:
                    assert all(st == (0, 0) for st in started), (name, started)  # the measure can fail
                weights[mode, r] = numpy.load(tmp_path / f"rank{r}_{name}_{mode}.npz")
        w = weights["on", 0]
        for k in w.files:
            for other in (weights["on", 1], weights["off", 0], weights["off", 1]):
                numpy.testing.assert_allclose(w[k], other[k], rtol=1e-5, atol=0, err_msg=f"{name} {k}")
            assert numpy.array_equal(w[k], weights["on", 1][k]), (name, k)  # bitwise across the ranks

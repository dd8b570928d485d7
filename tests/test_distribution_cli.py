"""``mpiexec -n 2 python -m neuronka train``: the job's data-parallel run on a tiny CIFAR-format archive written here.

Without MPI: the pipelines' shards (disjoint parts of one permutation per epoch, augmentation per rank, the
unshuffled evaluation rows dealt r, r + P, ...). With ``mpiexec -n 2`` (skipped without mpi4py / mpiexec, as in
tests/test_distribution.py): one run folder and one report, equal to a single-process evaluation of the saved model;
the weights identical on both ranks; a 2-rank checkpoint resumed by 1 process and a 1-process one by 2 ranks; a rank
killed mid-epoch ends the job non-zero within 60 s and ``--resume`` then reaches, bit for bit, the weights of an
uninterrupted 2-rank run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

import neuronka as nk
from neuronka import cli
from neuronka.datasets.pipeline import ImageBatches
from neuronka.training import parallel
from neuronka.training.data import TokenBatches

from .helpers import communicate_or_kill
from .test_cli import checkpoint_arrays, write_cifar10_archive
from .test_distribution import _mpiexec_or_skip

ROOT = Path(__file__).resolve().parents[1]
# 64 training images, 2 steps of 16 per rank and epoch; 40 test images (20 per rank); no augmentation, a small lr
ARGS = ("--model", "resnet20", "--dataset", "cifar10", "--batch-size", 16, "--limit-train", 64, "--limit-test", 40,
        "--seed", 3, "--lr", 0.02, "--augment", "none", "--verbose", 2)
EPOCHS = 3


# ---- without MPI: the shards of the pipelines --------------------------------------------------------------
def test_shuffled_pipelines_deal_each_epoch_into_disjoint_equal_shards_with_their_own_augmentation():
    rng = numpy.random.default_rng(0)
    x = rng.integers(0, 256, (23, 8, 8, 3)).astype(numpy.uint8)
    y = numpy.arange(23)
    whole = ImageBatches(x, y, batch_size=4, seed=5, augment={"crop_padding": 2, "horizontal_flip": True})
    shards = [ImageBatches(x, y, batch_size=4, seed=5, augment={"crop_padding": 2, "horizontal_flip": True},
                           num_shards=2, shard_id=r) for r in range(2)]
    assert whole.num_rows == 23 and [s.num_rows for s in shards] == [11, 11] and [len(s) for s in shards] == [3, 3]
    for epoch in range(3):
        rows = [numpy.concatenate([b[1] for b in s]) for s in shards]  # y = the row index
        expected = nk.distribution.shard_indices(23, epoch, 5, num_shards=2, shard_id=0)
        assert sorted(rows[0]) == sorted(expected)  # shard 0 of the shared permutation (per batch: sorted rows)
        assert len(set(rows[0]) | set(rows[1])) == 22 and not set(rows[0]) & set(rows[1])  # disjoint, 1 left over
    assert not numpy.array_equal(rows[0], numpy.concatenate([b[1] for b in shards[0]]))  # a new order each epoch
    # the same image on both ranks gets its own augmentation: same rows, different pixels
    a, b = (ImageBatches(x[:1].repeat(4, 0), y[:4], batch_size=4, seed=5, augment={"crop_padding": 2},
                         num_shards=2, shard_id=r)[0][0] for r in range(2))
    assert a.shape == b.shape and not numpy.array_equal(a, b)
    tokens = numpy.arange(23 * 5).reshape(23, 5)
    parts = [TokenBatches(tokens, y, 4, seed=5, num_shards=2, shard_id=r) for r in range(2)]
    rows = [numpy.concatenate([p[i][1] for i in range(len(p))]) for p in parts]
    assert numpy.array_equal(numpy.sort(rows[0]), numpy.sort(nk.distribution.shard_indices(23, 0, 5, 2, 0)))
    assert not set(rows[0]) & set(rows[1]) and len(rows[0]) == len(rows[1]) == 11


def test_unshuffled_pipelines_deal_every_row_once_as_gather_in_order_expects():
    x = numpy.zeros((7, 2, 2, 1), numpy.uint8)
    for cls, kw in ((ImageBatches, {"normalize": False}), (TokenBatches, {})):
        data = numpy.arange(7) if cls is TokenBatches else x
        got = []
        for r in range(2):
            b = cls(data, numpy.arange(7), batch_size=3, shuffle=False, num_shards=2, shard_id=r, **kw)
            got.append(numpy.concatenate([b[i][1] for i in range(len(b))]))
        assert [list(g) for g in got] == [[0, 2, 4, 6], [1, 3, 5]], cls.__name__
    with pytest.raises(ValueError, match="shard_id"):
        ImageBatches(x, None, num_shards=2, shard_id=2)


# ---- mpiexec -n 2 -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mpi_cli")
    write_cifar10_archive(root / "c10.tar.gz", n_train=100, n_test=50)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.delenv("NEURONKA_DATA", raising=False)
        yield root


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def _start(workdir: Path, *argv) -> subprocess.Popen:
    cmd = [_mpiexec_or_skip(), "-n", "2", sys.executable, "-m", "neuronka", "train",
           *[str(a) for a in (*ARGS, "--data", workdir / "c10.tar.gz", *argv)]]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
                            start_new_session=True, cwd=workdir)


def _wait(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    return communicate_or_kill(proc, timeout, "mpiexec -n 2 ... neuronka train")


def _mpi_train(workdir: Path, *argv, timeout: float = 240) -> str:
    rc, out = _wait(_start(workdir, *argv), timeout)
    assert rc == 0, out[-3000:]
    return out


def _one_process_train(workdir: Path, capsys, *argv) -> str:
    code = cli.main([str(a) for a in ("train", *ARGS, "--data", workdir / "c10.tar.gz", *argv)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return out


@pytest.fixture(scope="module")
def two_rank_run(workdir):
    """An uninterrupted 2-rank run of EPOCHS epochs: (run folder, output)."""
    run = workdir / "full"
    return run, _mpi_train(workdir, "--epochs", EPOCHS, "--out", run)


def _saved_model_checksum(run: Path) -> str:
    model, _ = nk.training.load_run(run)
    return parallel.weights_checksum(model)


def test_two_rank_train_writes_one_run_folder_whose_report_equals_one_process_evaluating_the_saved_model(
        two_rank_run, workdir):
    run, out = two_rank_run
    assert out.count("Data parallel on 2 MPI processes: batch 16 per process × 2 = global batch 32") == 1, out
    assert out.count("Classification report on the test set (40 samples)") == 1  # printed by rank 0 alone
    assert out.count(f"Epoch {EPOCHS}/{EPOCHS}") == 1
    assert sorted(p.name for p in run.iterdir()) == sorted(
        [".lock", "checkpoint", "checkpoint.json", "config.json", "confusion_matrix.png", "history.csv", "model.keras",
         "report.json", "report.txt", "results.json", "steps.csv", "training_curves.png"])
    assert [p.name for p in (run / "checkpoint").iterdir()] == [f"epoch-{EPOCHS:04d}.weights.npz"]
    results = json.loads((run / "results.json").read_text())
    assert results["processes"] == 2 and results["global_batch_size"] == 32
    assert results["train_items"] == EPOCHS * 64  # both ranks' 32 images per epoch
    steps = (run / "steps.csv").read_text().splitlines()
    assert len(steps) == 1 + EPOCHS * 2  # 2 global steps of 32 per epoch (rank 0's shard's losses)
    report = json.loads((run / "report.json").read_text())
    assert report["test_samples"] == 40 and numpy.asarray(report["confusion_matrix"]).sum() == 40

    # one process, the saved model, all 40 test images: the same report
    single = nk.training.evaluate(run, data=workdir / "c10.tar.gz", limit_test=40, verbose=0)
    numpy.testing.assert_array_equal(report["confusion_matrix"], single["confusion_matrix"])
    flat = {(c, k): v for c, row in report["report"].items() for k, v in (row.items() if isinstance(row, dict)
                                                                           else [("value", row)])}
    assert flat == pytest.approx({(c, k): v for c, row in single["report"].items()
                                  for k, v in (row.items() if isinstance(row, dict) else [("value", row)])}, rel=1e-12)
    assert report["top5_accuracy"] == single["top5_accuracy"]
    # the comparison can fail: the predictions in the order of the shards (not put back in order) score otherwise
    from neuronka.metrics.classification import confusion_matrix

    model, config = nk.training.load_run(run)
    (_, _), (xte, yte) = nk.datasets.cifar10.load_data(path=workdir / "c10.tar.gz")
    norm = config["normalization"]
    probs = model.predict(ImageBatches(xte[:40], None, batch_size=64, shuffle=False, mean=norm["mean"],
                                       std=norm["std"]), verbose=0)
    y = yte[:40].reshape(-1).astype(numpy.int64)
    numpy.testing.assert_array_equal(confusion_matrix(y, probs.argmax(1), num_classes=10), single["confusion_matrix"])
    shard_order = numpy.concatenate([probs[0::2], probs[1::2]])
    assert not numpy.array_equal(confusion_matrix(y, shard_order.argmax(1), num_classes=10), single["confusion_matrix"])


def test_two_ranks_end_with_bitwise_identical_weights_those_of_the_saved_model(two_rank_run):
    run, _ = two_rank_run
    results = json.loads((run / "results.json").read_text())
    sums = results["weights_sha256"]  # every rank's SHA-256 of all its weights, moving statistics included
    assert len(sums) == 2 and sums[0] == sums[1] == _saved_model_checksum(run)


def test_a_two_rank_checkpoint_resumes_in_one_process_and_a_one_process_checkpoint_on_two_ranks(workdir, capsys):
    a = workdir / "two_then_one"
    _mpi_train(workdir, "--epochs", 2, "--stop-after-epoch", 1, "--out", a)
    state = json.loads((a / "checkpoint.json").read_text())
    assert (state["epoch"], state["processes"], state["global_batch_size"]) == (1, 2, 32)
    out = _one_process_train(workdir, capsys, "--out", a, "--resume")
    assert "after epoch 1 of 2 (checkpoint written by 2 processes, now 1: global batch 32 → 16)" in out
    results = json.loads((a / "results.json").read_text())
    assert results["status"] == "finished" and "processes" not in results
    assert len((a / "steps.csv").read_text().splitlines()) == 1 + 2 + 4  # epoch 1: 2 steps of 32, epoch 2: 4 of 16

    b = workdir / "one_then_two"
    _one_process_train(workdir, capsys, "--epochs", 2, "--stop-after-epoch", 1, "--out", b)
    assert json.loads((b / "checkpoint.json").read_text())["processes"] == 1
    before = checkpoint_arrays(b)
    out = _mpi_train(workdir, "--out", b, "--resume")
    assert "after epoch 1 of 2 (checkpoint written by 1 process, now 2: global batch 16 → 32)" in out
    results = json.loads((b / "results.json").read_text())
    assert results["status"] == "finished" and results["processes"] == 2
    assert results["weights_sha256"][0] == results["weights_sha256"][1] == _saved_model_checksum(b)
    assert any(not numpy.array_equal(v, checkpoint_arrays(b)[k]) for k, v in before.items())  # it trained on


def _rank_pid(marker: str, rank: int) -> int | None:
    """The process of MPI rank ``rank`` whose command line holds ``marker`` (from /proc: MPICH's PMI_RANK,
    Open MPI's OMPI_COMM_WORLD_RANK)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker not in cmdline or "mpiexec" in cmdline or "hydra" in cmdline:
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PMI_RANK={rank}".encode() in env or f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            return int(entry.name)
    return None


def test_a_rank_killed_mid_epoch_ends_the_job_within_60_s_and_resume_equals_an_uninterrupted_run(
        workdir, two_rank_run):
    if not Path("/proc/self/environ").exists():
        pytest.skip("finding the rank to kill reads /proc (Linux)")
    run = workdir / "killed"
    proc = _start(workdir, "--epochs", EPOCHS, "--out", run)
    deadline = time.monotonic() + 240
    while not (run / "checkpoint.json").is_file():  # epoch 1 done: rank 1 is then in epoch 2
        if proc.poll() is not None or time.monotonic() > deadline:
            _wait(proc, 1)
            pytest.fail("the run ended or stalled before its first checkpoint")
        time.sleep(0.05)
    pid = _rank_pid(str(run), 1)
    assert pid is not None, "rank 1's process not found"
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    rc, out = _wait(proc, 90)
    seconds = time.monotonic() - killed_at
    assert rc != 0 and seconds < 60, (rc, seconds, out[-3000:])
    state = json.loads((run / "checkpoint.json").read_text())
    assert 1 <= state["epoch"] < EPOCHS and not (run / "results.json").exists(), state
    print(f"killed rank 1 after epoch {state['epoch']}: mpiexec exited with {rc} after {seconds:.1f} s")

    out = _mpi_train(workdir, "--out", run, "--resume")
    assert f"Resuming {run} after epoch {state['epoch']} of {EPOCHS}" in out and "now 2" not in out
    full, _ = two_rank_run
    expected, got = checkpoint_arrays(full), checkpoint_arrays(run)
    assert expected.keys() == got.keys()
    for k in expected:
        assert numpy.array_equal(expected[k], got[k]), k  # bit for bit, optimizer state included
    assert _saved_model_checksum(run) == _saved_model_checksum(full)
    assert (run / "history.csv").read_text() == (full / "history.csv").read_text()

"""The program tests/test_distribution.py launches with ``mpiexec -n 2 python tests/mpi_worker.py SCENARIO OUTDIR``.

Scenarios:
- ``train``: a small Conv2D + Dense model, a different initial seed on each rank, DataParallel set,
  2 epochs of per-rank batches of 32 on the rank's shard; after every step each rank checks (allgather of a
  SHA-256 of all weights) that the weights are bitwise identical on all ranks; rank r writes
  OUTDIR/rank{r}.npz (final weights) and OUTDIR/rank{r}.json (checks made, all equal).
- ``auto``: the same model and data, but ``fit`` gets all 256 samples on each rank and shards them itself
  (``DataParallel(auto_shard_dataset=True)``, ``shuffle=False``), 2 epochs in one fit.
- ``fault_exception``: rank 1 raises in the middle of the first epoch (the other rank then waits in the
  allreduce); the job must end non-zero with neuronka's message.
- ``fault_kill``: rank 1 kills itself with SIGKILL in the middle of the first epoch.
- ``mismatch``: rank 1 freezes its convolution, so the ranks have different gradients to average.
- ``bn``: a Conv2D + BatchNormalization + ReLU model trained as in ``auto``, once with
  ``BatchNormalization(synchronized=True)`` (OUTDIR/rank{r}_sync.npz; every weight, moving statistics too, checked
  bitwise identical after every step) and once with ``synchronized=False`` (OUTDIR/rank{r}_local.npz; only the
  trainable weights are identical: each rank's moving statistics are its own batches').
- ``overlap``: the ``train`` model, then the ``bn`` model with ``synchronized=True`` (a blocking allreduce inside the
  backward pass, between the buckets' nonblocking ones), each trained as in ``auto`` twice: with the setting
  ``allreduce_overlap`` on (buckets started during the backward pass) and off; rank r writes
  OUTDIR/rank{r}_{model}_{on|off}.npz and .json (bitwise checks, and the averager's per-step statistics).
- ``evaluate``: rank 0's model of :func:`build_eval_model` (broadcast), then on all N_EVAL samples on every rank
  (sharded by evaluate/predict themselves): ``evaluate`` (loss, accuracy, top-3, precision, recall, F1) and
  ``predict``, then one epoch of ``fit`` with validation data; rank r writes OUTDIR/rank{r}_eval.json (the results)
  and OUTDIR/rank{r}_pred.npy. Both ranks run with verbose=1 and a CSVLogger: only rank 0 prints and writes.

:func:`build_model` and :func:`make_data` are imported by the test for the single-process reference.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sys

import numpy

import neuronka as keras

N_SAMPLES = 256
EPOCHS = 2
PER_RANK_BATCH = 32
DATA_SEED = 1234  # the shared seed of the epochs' permutations
BUCKET_BYTES = 1024  # kernel 144×10 (5760 B) alone, conv kernel + bias together, ...
INIT_SEED = 100  # rank r initializes its model with INIT_SEED + r: the broadcast must make them rank 0's


def make_data():
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((N_SAMPLES, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, size=(N_SAMPLES,)).astype("int32")
    return x, y


def build_model(seed: int):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    return model


def build_bn_model(seed: int, synchronized: bool):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3),
        keras.layers.BatchNormalization(synchronized=synchronized, momentum=0.9),
        keras.layers.ReLU(),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    return model


N_EVAL = 203  # not a multiple of the 2 processes nor of the batch size


def make_eval_data():
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((N_EVAL, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, size=(N_EVAL,)).astype("int32")
    weights = rng.uniform(0.5, 2.0, size=(N_EVAL,)).astype("float32")
    return x, numpy.eye(10, dtype="float32")[y], weights


def build_eval_model(seed: int):
    model = build_model(seed)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), loss="categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=3),
                           keras.metrics.Precision(thresholds=0.15), keras.metrics.Recall(thresholds=0.15),
                           keras.metrics.F1Score(average="macro", threshold=0.1)])
    return model


def eval_results(model, x, y, weights, verbose: int = 0, callbacks=None, fit_batch: int = PER_RANK_BATCH) -> dict:
    """evaluate (plain and weighted), then a 1-epoch fit on 128 samples with validation data."""
    plain = model.evaluate(x, y, batch_size=16, verbose=verbose, return_dict=True)
    weighted = model.evaluate(x, y, sample_weight=weights, batch_size=16, verbose=verbose, return_dict=True)
    history = model.fit(x[:128], y[:128], batch_size=fit_batch, epochs=1, shuffle=False, verbose=verbose,
                        validation_data=(x, y), callbacks=callbacks)
    return {"plain": plain, "weighted": weighted,
            "history": {k: [float(v) for v in vals] for k, vals in history.history.items()}}


def weights_digest(model, trainable_only: bool = False) -> str:
    h = hashlib.sha256()
    for w in model.trainable_weights if trainable_only else model.weights:
        h.update(numpy.ascontiguousarray(keras.asnumpy(w.data)).tobytes())
    return h.hexdigest()


class CheckIdentical(keras.callbacks.Callback):
    """Before the first step and after every step: the weights' digests of all ranks are equal."""

    def __init__(self, trainable_only: bool = False):
        super().__init__()
        self.trainable_only = trainable_only
        self.checks = 0
        self.mismatches = []

    def _check(self, when):
        digests = keras.distribution.mpi.allgather(weights_digest(self.model, self.trainable_only))
        self.checks += 1
        if len(set(digests)) != 1:
            self.mismatches.append(when)

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self._check("before step 0 of a fit (after BroadcastWeights)")

    def on_train_batch_end(self, batch, logs=None):
        self._check(f"after step {batch}")


class Fault(keras.callbacks.Callback):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def on_train_batch_end(self, batch, logs=None):
        if keras.distribution.process_id() == 1 and batch == 1:
            if self.kind == "fault_kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("injected failure on rank 1 after step 1")


def main(scenario: str, outdir: str) -> None:
    dist = keras.distribution
    rank, size = dist.process_id(), dist.num_processes()
    if size < 2:
        raise SystemExit(f"mpi_worker: expected to be launched by `mpiexec -n 2`, found {size} process")
    # "auto": fit gets all the data and shards it itself (auto_shard_dataset); the others shard by hand
    dist.set_distribution(dist.DataParallel(auto_shard_dataset=scenario in ("auto", "bn", "evaluate", "overlap")))
    averager = dist.distribution()._averager
    averager.bucket_bytes = BUCKET_BYTES  # small: the gradients travel in several buckets
    if scenario == "bn":
        run_bn(outdir, rank)
        return
    if scenario == "evaluate":
        run_evaluate(outdir, rank)
        return
    if scenario == "overlap":
        run_overlap(outdir, rank, averager)
        return
    x, y = make_data()
    model = build_model(INIT_SEED + rank)
    if scenario == "mismatch" and rank == 1:
        model.layers[0].trainable = False  # rank 1 has fewer gradients: the averager must refuse, not hang
    checker = CheckIdentical()
    callbacks = [dist.BroadcastWeights(), checker]
    if scenario.startswith("fault"):
        callbacks.append(Fault(scenario))
    if scenario == "auto":  # in order (shuffle=False): process r takes samples r, r + 2, r + 4, ...
        model.fit(x, y, batch_size=PER_RANK_BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
    for epoch in range(EPOCHS if scenario != "auto" else 0):
        idx = dist.shard_indices(N_SAMPLES, epoch, DATA_SEED)
        model.fit(x[idx], y[idx], batch_size=PER_RANK_BATCH, epochs=1, shuffle=False, verbose=0,
                  callbacks=callbacks)
    numpy.savez(os.path.join(outdir, f"rank{rank}.npz"), *[keras.asnumpy(w.data) for w in model.weights])
    with open(os.path.join(outdir, f"rank{rank}.json"), "w") as f:
        json.dump({"checks": checker.checks, "mismatches": checker.mismatches,
                   "iterations": int(model.optimizer.iterations),
                   "buckets": [len(plan) for plan in averager._plans.values()]}, f)


def run_bn(outdir: str, rank: int) -> None:
    """fit(all data) on each rank, auto-sharded, once with synchronized batch norm and once without."""
    dist = keras.distribution
    x, y = make_data()
    for synchronized, tag in ((True, "sync"), (False, "local")):
        model = build_bn_model(INIT_SEED + rank, synchronized)
        checker = CheckIdentical(trainable_only=not synchronized)
        model.fit(x, y, batch_size=PER_RANK_BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
                  callbacks=[dist.BroadcastWeights(), checker])
        numpy.savez(os.path.join(outdir, f"rank{rank}_{tag}.npz"), *[keras.asnumpy(w.data) for w in model.weights])
        with open(os.path.join(outdir, f"rank{rank}_{tag}.json"), "w") as f:
            json.dump({"checks": checker.checks, "mismatches": checker.mismatches,
                       "iterations": int(model.optimizer.iterations)}, f)


def run_overlap(outdir: str, rank: int, averager) -> None:
    """The same training with the allreduce overlapped with the backward pass and not."""
    dist = keras.distribution
    x, y = make_data()
    builders = {"plain": build_model, "syncbn": lambda seed: build_bn_model(seed, synchronized=True)}
    for name, build in builders.items():
        for overlap in (True, False):
            keras.config.set("allreduce_overlap", overlap)
            averager.stats.clear()
            model = build(INIT_SEED + rank)
            checker = CheckIdentical()
            model.fit(x, y, batch_size=PER_RANK_BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
                      callbacks=[dist.BroadcastWeights(), checker])
            tag = f"rank{rank}_{name}_{'on' if overlap else 'off'}"
            numpy.savez(os.path.join(outdir, f"{tag}.npz"), *[keras.asnumpy(w.data) for w in model.weights])
            with open(os.path.join(outdir, f"{tag}.json"), "w") as f:
                json.dump({"checks": checker.checks, "mismatches": checker.mismatches,
                           "iterations": int(model.optimizer.iterations), "stats": list(averager.stats)}, f)
    keras.config.reset("allreduce_overlap")


def run_evaluate(outdir: str, rank: int) -> None:
    dist = keras.distribution
    x, y, weights = make_eval_data()
    model = build_eval_model(INIT_SEED + rank)
    dist.broadcast_weights(model)
    pred = model.predict(x, batch_size=16, verbose=0)
    # both ranks ask for progress bars and a log file: under DataParallel only rank 0 prints and writes
    log = os.path.join(outdir, f"log_rank{rank}.csv")
    results = eval_results(model, x, y, weights, verbose=1,
                           callbacks=[keras.callbacks.CSVLogger(log)])
    numpy.save(os.path.join(outdir, f"rank{rank}_pred.npy"), pred)
    with open(os.path.join(outdir, f"rank{rank}_eval.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

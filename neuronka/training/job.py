"""The training job itself: :func:`train` (new run or ``resume``), the per-epoch callback (reseed, timing,
learning rate, checkpoint), the :class:`_Job` that holds a run's state and writes its checkpoints, and the
image and text variants of preparing the data and fitting.
"""
from __future__ import annotations

import datetime
import time
from pathlib import Path

import numpy

from . import parallel
from .data import TokenBatches, _guard_data, _load_image_data, _load_text_data, _vectorizer_from_config, reseed
from .recipe import _attach_weight_decay, _compile, _targets, build_model
from .report import _finish
from .runfolder import (
    _existing,
    _history_csv,
    _read_json,
    _remove_orphans,
    _resume_settings,
    _run_folder,
    _run_lock,
    _say,
    _write_json,
    _write_text,
)
from .settings import JobError, parse_augment, parse_text_augment, resolve_settings


# ======================================================================================
# the per-epoch callback: reseed, time, learning rate, checkpoint
# ======================================================================================
def _current_lr(model) -> float:
    opt = model.optimizer
    sched = getattr(opt, "learning_rate_schedule", None)
    if sched is not None:
        return float(sched(opt.iterations))
    return float(opt.learning_rate)


def _epoch_callback(job: _Job):
    from ..callbacks import Callback  # noqa: PLC0415

    class EpochCallback(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reseed(job.model, job.s["seed"], epoch, job.rank)
            job.lr_at_epoch_start = _current_lr(job.model)
            job.step_rows, job.seen_in_epoch, job.loss_total = [], 0, 0.0
            job.train_phase_start = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            job.step_lr = _current_lr(job.model)

        def on_train_batch_end(self, batch, logs=None):
            # logs["loss"] is the running mean over the epoch: recover this batch's own loss
            size = min(job.batch_size, job.images_per_epoch - batch * job.batch_size)
            if logs is None or "loss" not in logs or size <= 0:
                return
            job.seen_in_epoch += size
            total = float(logs["loss"]) * job.seen_in_epoch
            job.step_rows.append((int(job.model.optimizer.iterations), len(job.history.get("loss", [])) + 1,
                                  (total - job.loss_total) / size, job.step_lr))
            job.loss_total = total

        def _end_train_phase(self):
            if job.train_phase_start is not None:
                job.train_seconds += time.perf_counter() - job.train_phase_start
                job.train_phase_start = None

        def on_test_begin(self, logs=None):
            self._end_train_phase()
            parallel.share_weights(job.model)  # validate with process 0's moving statistics everywhere

        def on_epoch_end(self, epoch, logs=None):
            self._end_train_phase()
            parallel.share_weights(job.model)  # what the checkpoint holds is then every process's state
            job.images_seen += job.images_per_epoch * job.processes
            if logs is not None:
                logs["learning_rate"] = job.lr_at_epoch_start
            job.checkpoint(epoch, logs or {})
            if job.stop_after_epoch is not None and epoch + 1 >= job.stop_after_epoch:
                self.model.stop_training = True

    return EpochCallback()


# ======================================================================================
# the job
# ======================================================================================
class _Job:
    def __init__(self, run: Path, s: dict, verbose: int, stop_after_epoch: int | None):
        self.run, self.s, self.verbose, self.stop_after_epoch = run, s, verbose, stop_after_epoch
        self.history: dict[str, list[float]] = {}
        self.train_seconds = 0.0
        self.images_seen = 0
        self.images_per_epoch = 0
        self.train_phase_start = None
        self.lr_at_epoch_start = 0.0
        self.model = None
        self.epochs_done = 0
        self.data = None
        self.batch_size = int(s["batch_size"])
        self.step_rows: list[tuple] = []
        self.seen_in_epoch, self.loss_total, self.step_lr = 0, 0.0, 0.0
        self.processes, self.rank = parallel.processes(), parallel.rank()  # P MPI processes, this one's rank
        self.shard = {"num_shards": self.processes, "shard_id": self.rank}  # the pipelines' part of the data

    # ---- checkpoints ------------------------------------------------------------------
    def checkpoint(self, epoch: int, logs: dict) -> None:
        from ..saving import save_weights  # noqa: PLC0415

        for k, v in logs.items():
            if numpy.ndim(v) == 0:
                self.history.setdefault(k, []).append(float(v))
        self.epochs_done = epoch + 1
        if self.rank != 0:  # process 0 writes the run folder
            return
        folder = self.run / "checkpoint"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch + 1:04d}.weights.npz"
        save_weights(self.model, folder / name)  # atomic: weights + optimizer state
        state = {"epoch": epoch + 1, "weights": f"checkpoint/{name}", "history": self.history,
                 "pipeline": {"seed": self.s["seed"], "epoch": epoch + 1},
                 "rng": {"seed": self.s["seed"], "scheme": "every generator reseeded from (seed, epoch)"},
                 "train_seconds": self.train_seconds, "images_seen": self.images_seen, "processes": self.processes,
                 "global_batch_size": self.batch_size * self.processes,
                 "saved": datetime.datetime.now().isoformat(timespec="seconds")}
        _write_json(self.run / "checkpoint.json", state)  # atomic: the checkpoint now points to the new file
        for old in folder.glob("epoch-*.weights.npz"):
            if old.name != name:
                old.unlink(missing_ok=True)
        _write_text(self.run / "history.csv", _history_csv(self.history))
        self._write_steps(epoch + 1)

    def _write_steps(self, epoch: int) -> None:
        """steps.csv: step, epoch, the batch's training loss, its learning rate (rows of finished epochs only)."""
        path = self.run / "steps.csv"
        kept = []
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                kept = [line for line in f.read().splitlines()[1:] if line and int(line.split(",")[1]) < epoch]
        rows = [f"{step},{ep},{loss!r},{lr!r}" for step, ep, loss, lr in self.step_rows]
        _write_text(path, "\n".join(["step,epoch,loss,learning_rate", *kept, *rows]) + "\n")

    def restore(self) -> int:
        """Load checkpoint.json's weights and optimizer state (every process: the same file, checked); returns the
        number of finished epochs."""
        state = parallel.on_process_zero(_read_json, self.run / "checkpoint.json")
        weights = self.run / state["weights"]
        if not weights.is_file():
            raise JobError(f"{self.run / 'checkpoint.json'} points to {weights}, which does not exist")
        self.model.load_weights(weights)
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.images_seen = int(state.get("images_seen", 0))
        self.epochs_done = int(state["epoch"])
        self.resumed_from_processes = int(state.get("processes", 1))
        if self.processes > 1:
            parallel.check_same_weights(self.model, f"--resume from {weights}")
        return self.epochs_done


def train(options: dict | None = None, **kwargs) -> dict:
    """Run (or continue) a training job; returns the results (also written to ``<run>/results.json``).

    Options (keyword arguments or a dict; None = default): ``model``, ``dataset`` (cifar10, cifar100,
    sms-spam, sentiment), ``epochs``, ``batch_size``, ``augment`` ("crop,flip", ..., "none"), ``optimizer``
    (sgd, adam, adamw, rmsprop), ``lr``, ``momentum``, ``weight_decay``, ``schedule`` (cosine, step, onecycle,
    constant), ``warmup_epochs``, ``label_mode`` (cifar100), ``limit_train``, ``limit_test``, ``seed``,
    ``label_smoothing``; text: ``max_tokens``, ``sequence_length``, ``embedding_dim``, ``units``,
    ``class_weight`` ("balanced"), ``augment_text`` ("dropout=0.1,swap=0.1"); and for this invocation only:
    ``data`` (dataset path), ``out`` (run folder), ``resume``, ``verbose`` (0, 1, 2), ``stop_after_epoch``
    (stop after that epoch as if interrupted), ``evaluate_before`` (evaluate the untrained model first).
    """
    options = {**(options or {}), **kwargs}
    wall_start = time.perf_counter()
    verbose = int(options.get("verbose") if options.get("verbose") is not None else 1)
    resume = bool(options.get("resume"))
    size, rank = parallel.start()  # several MPI processes: a DataParallel distribution, process 0 decides and writes
    run, s, has_checkpoint, data = parallel.on_process_zero(_open_run, options, verbose if rank == 0 else 0)
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
    try:
        with parallel.lock_on_process_zero(_run_lock(run)):  # one `neuronka train` per run folder at a time
            return _train_locked(run, s, data, verbose if rank == 0 else 0, resume, has_checkpoint, options,
                                 wall_start)
    except Exception as e:
        if size > 1:  # raised on some processes only: the others may be waiting in a collective, end them all
            from ..distribution import mpi  # noqa: PLC0415

            mpi.abort(f"neuronka train: {'' if isinstance(e, JobError) else type(e).__name__ + ': '}{e}",
                      2 if isinstance(e, JobError) else 1)
        raise


def _open_run(options: dict, verbose: int):
    """The run folder, its settings, whether it has a checkpoint, the data path (process 0 decides)."""
    resume = bool(options.get("resume"))
    data = options.get("data")
    if data is not None:
        data = str(Path(data).expanduser().resolve())
    out = options.get("out")
    if resume and out is None:
        raise JobError("--resume needs --out, the run folder to continue")
    if resume and not (Path(out) / "config.json").is_file():
        raise JobError(f"--resume: {out} holds no run to continue (no config.json): check --out, or drop --resume "
                       f"to start a new run there")
    if resume:
        run = Path(out)
        s = _resume_settings(run, options)
        has_checkpoint = (run / "checkpoint.json").is_file()
        if not has_checkpoint:
            _say(verbose, f"{run}: no checkpoint yet, starting from epoch 1")
    else:
        s = resolve_settings(options)
        run = _run_folder(out, s)
        has_checkpoint = False
        if (run / "config.json").is_file() or (run / "checkpoint.json").is_file():
            raise JobError(f"{run} already holds a run: pass --resume to continue it, or choose another --out")
        if run.exists() and (not run.is_dir() or any(p.name != ".lock" for p in run.iterdir())):
            raise JobError(f"{run} is not empty and holds no neuronka run: the run would write over the files "
                           f"there; choose an empty or new folder for --out")
    if data is None and resume and (run / "config.json").is_file():
        data = _existing(_read_json(run / "config.json").get("data"))  # where the run read its data from
    return run, s, has_checkpoint, data


def _train_locked(run, s, data, verbose, resume, has_checkpoint, options, wall_start):
    if parallel.rank() == 0:
        _remove_orphans(run)
    job = _Job(run, s, verbose, options.get("stop_after_epoch"))
    job.data = data
    if s.get("weights") is not None:  # an ImageNet-pretrained network fine-tuned (neuronka/transfer.py)
        if job.processes > 1:
            raise JobError("neuronka train --weights (transfer learning) runs on one process; launch it without "
                           "mpiexec / srun")
        from ..transfer import train_transfer  # noqa: PLC0415

        return train_transfer(job, data, resume and has_checkpoint, options, wall_start)
    if s["kind"] == "image":
        return _train_image(job, data, resume and has_checkpoint, options, wall_start)
    return _train_text(job, data, resume and has_checkpoint, options, wall_start)


def _say_processes(job: _Job, unit: str) -> None:
    """Under MPI: the processes, the per-process and the global batch (printed once, by process 0)."""
    if job.processes > 1:
        _say(job.verbose, f"Data parallel on {job.processes} MPI processes: batch {job.batch_size} per process × "
                          f"{job.processes} = global batch {job.batch_size * job.processes}; each process trains on "
                          f"{job.images_per_epoch:,} {unit} of every epoch")


def _write_config(job: _Job, extra: dict) -> None:
    """config.json: the settings, the data's description and where it was read from (written once per run, by
    process 0)."""
    from .. import __version__  # noqa: PLC0415

    path = job.run / "config.json"
    if job.rank != 0 or path.is_file():
        return
    config = {"neuronka_version": __version__, "created": datetime.datetime.now().isoformat(timespec="seconds"),
              "settings": job.s, "data": job.data, **extra}
    job.run.mkdir(parents=True, exist_ok=True)
    _write_json(path, config)


def _fit(job: _Job, train_data, val_data, class_weight, resuming: bool, wall_start: float, options: dict):
    """Restore (when resuming), fit the remaining epochs; returns the number of finished epochs."""
    s, model = job.s, job.model
    start_epoch = job.restore() if resuming else 0
    if resuming:
        before = job.resumed_from_processes
        _say(job.verbose, f"Resuming {job.run} after epoch {start_epoch} of {s['epochs']}"
                          + (f" (checkpoint written by {before} process{'es' if before > 1 else ''}, now "
                             f"{job.processes}: global batch {job.batch_size * before} → "
                             f"{job.batch_size * job.processes})" if before != job.processes else ""))
    train_data.epoch = start_epoch  # the pipeline's randomness is a function of (seed, epoch)
    if options.get("evaluate_before") and not resuming:
        before = model.evaluate(val_data, verbose=0, return_dict=True)
        job.history_before = {k: float(v) for k, v in before.items()}
        _say(job.verbose, "Before training: " + ", ".join(f"val_{k}={v:.4f}" for k, v in before.items()))
    if start_epoch < s["epochs"]:
        model.fit(train_data, epochs=s["epochs"], initial_epoch=start_epoch, validation_data=val_data,
                  shuffle=False, class_weight=class_weight, callbacks=[_epoch_callback(job)],
                  verbose=job.verbose)
    return job.epochs_done


def _prepare_image(job: _Job, data):
    from ..datasets.pipeline import ImageBatches  # noqa: PLC0415

    s = job.s
    (xtr, ytr), (xte, yte), names = _guard_data(_load_image_data, s, data)
    k = len(names)
    train_b = ImageBatches(xtr, _targets(s, ytr, k), batch_size=s["batch_size"], shuffle=True,
                           augment=parse_augment(s["augment"]), normalize=True, seed=s["seed"], **job.shard)
    val_b = ImageBatches(xte, _targets(s, yte, k), batch_size=s["batch_size"], shuffle=False, augment=None,
                         normalize=True, mean=train_b.mean, std=train_b.std, seed=s["seed"], **job.shard)
    info = {"kind": "image", "class_names": names, "num_classes": k, "input_shape": list(xtr.shape[1:]),
            "normalization": {"rescale": 1.0 / 255.0, "mean": train_b.mean.tolist(), "std": train_b.std.tolist()},
            "train_images": int(len(xtr)), "test_images": int(len(xte))}
    return train_b, val_b, yte, info


def _train_image(job: _Job, data, resuming: bool, options: dict, wall_start: float) -> dict:
    s = job.s
    train_b, val_b, yte, info = _prepare_image(job, data)
    reseed(None, s["seed"], -1)
    job.model = build_model(s, info["num_classes"], info["input_shape"])
    if s["weight_decay"] and s["optimizer"] != "adamw":
        _attach_weight_decay(job.model, s["weight_decay"])
    _compile(job.model, s, info["num_classes"], len(train_b))
    _write_config(job, info)
    job.images_per_epoch = train_b.num_rows
    _say(job.verbose, f"Run folder: {job.run}\nTraining {s['model']} ({job.model.count_params():,} parameters) "
                      f"on {info['train_images']:,} {s['dataset']} images, testing on {info['test_images']:,}")
    _say_processes(job, "images")
    done = _fit(job, train_b, val_b, None, resuming, wall_start, options)
    return _finish(job, val_b, yte, info, done, wall_start)


def _prepare_text(job: _Job, data):
    from ..layers.text_vectorization import TextVectorization  # noqa: PLC0415

    s = job.s
    (xtr, ytr), (xte, yte), names = _guard_data(_load_text_data, s, data)
    k = len(names)
    vec_file = job.run / "vectorizer.json"
    if vec_file.is_file():  # resuming: the vocabulary the run was started with
        vec = _vectorizer_from_config(_read_json(vec_file))
    else:
        vec = TextVectorization(max_tokens=s["max_tokens"], output_mode="int",
                                output_sequence_length=s["sequence_length"])
        vec.adapt(list(xtr))
    ttr, tte = numpy.asarray(vec(list(xtr))), numpy.asarray(vec(list(xte)))
    aug = parse_text_augment(s["augment_text"])
    train_b = TokenBatches(ttr, _targets(s, ytr, k), s["batch_size"], shuffle=True, seed=s["seed"],
                           dropout=aug.get("dropout", 0.0), swap=aug.get("swap", 0.0), **job.shard)
    val_b = TokenBatches(tte, _targets(s, yte, k), s["batch_size"], shuffle=False, seed=s["seed"], **job.shard)
    class_weight = None
    if s["class_weight"] == "balanced":  # w_c = n / (K · n_c)
        counts = numpy.bincount(ytr, minlength=k)
        class_weight = {c: float(len(ytr) / (k * counts[c])) for c in range(k) if counts[c]}
    info = {"kind": "text", "class_names": names, "num_classes": k, "vocabulary_size": vec.vocabulary_size(),
            "vectorizer_file": "vectorizer.json", "vocabulary_file": "vocabulary.txt", "class_weight": class_weight,
            "train_texts": int(len(xtr)), "test_texts": int(len(xte))}
    return vec, train_b, val_b, yte, class_weight, info


def _train_text(job: _Job, data, resuming: bool, options: dict, wall_start: float) -> dict:
    s = job.s
    vec, train_b, val_b, yte, class_weight, info = _prepare_text(job, data)
    reseed(None, s["seed"], -1)
    job.model = build_model(s, info["num_classes"], vocab_size=info["vocabulary_size"])
    if s["weight_decay"] and s["optimizer"] != "adamw":
        _attach_weight_decay(job.model, s["weight_decay"])
    _compile(job.model, s, info["num_classes"], len(train_b))
    _write_config(job, info)
    if job.rank == 0 and not (job.run / "vectorizer.json").is_file():
        _write_json(job.run / "vectorizer.json", vec.get_config())
        _write_text(job.run / "vocabulary.txt", "\n".join(vec.get_vocabulary()) + "\n")
    job.images_per_epoch = train_b.num_rows
    _say(job.verbose, f"Run folder: {job.run}\nTraining {s['model']} ({job.model.count_params():,} parameters) "
                      f"on {info['train_texts']:,} {s['dataset']} texts (vocabulary {info['vocabulary_size']:,}), "
                      f"testing on {info['test_texts']:,}"
                      + (f"; class weights {class_weight}" if class_weight else ""))
    _say_processes(job, "texts")
    done = _fit(job, train_b, val_b, class_weight, resuming, wall_start, options)
    return _finish(job, val_b, yte, info, done, wall_start)

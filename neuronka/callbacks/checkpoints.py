"""Saving during training: :class:`ModelCheckpoint` (models or weights, every epoch or every N batches, optionally
only the best) and :class:`BackupAndRestore` (resume an interrupted ``fit`` where it stopped).

Files are written through ``neuronka.saving`` (atomically: an interrupted write leaves the previous file
intact). The file names follow Keras's rules; the contents are neuronka's formats (a ``.keras`` zip with
``.npz`` weights), not Keras's HDF5.
"""
from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy

from .base import Callback, print_msg
from .monitors import MonitorCallback


def _check_save_freq(save_freq, message: str) -> None:
    """``"epoch"`` or a positive number of batches (Keras takes any int; 0 or less would save every batch)."""
    if save_freq == "epoch":
        return
    if isinstance(save_freq, bool) or not isinstance(save_freq, (int, numpy.integer)) or save_freq <= 0:
        raise ValueError(message)


class _BatchCounter:
    """Counts the batches seen across epochs (batch numbers restart at 0 each epoch); ``step(batch)`` is
    True every ``freq`` batches."""

    def __init__(self, freq: int) -> None:
        self.freq = freq
        self.since_last = 0
        self.last_batch = None

    def step(self, batch: int) -> bool:
        if self.last_batch is None or batch <= self.last_batch:  # a new epoch began
            self.since_last += batch + 1
        else:
            self.since_last += batch - self.last_batch
        self.last_batch = batch
        if self.since_last >= self.freq:
            self.since_last = 0
            return True
        return False


class ModelCheckpoint(MonitorCallback):
    """Save the model (``filepath`` ending in ``.keras``) or only its weights (``save_weights_only=True``,
    ``filepath`` ending in ``.weights.h5``; neuronka also takes ``.weights.npz``) during training.

    ``filepath`` may hold ``str.format`` fields filled with ``epoch`` (counted from 1), ``batch`` (from 1,
    with ``save_freq`` in batches) and the logged values: ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``.
    ``save_freq``: ``"epoch"`` (at each epoch end) or a positive number of batches. With ``save_best_only`` a
    file is written only when ``monitor`` improves on the best value so far (``initial_value_threshold``, if
    given, is the first one to beat); a missing ``monitor`` warns and saves anyway.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._current_epoch = 0
        _check_save_freq(save_freq, f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or "
                                    "integer values (a positive number of batches)")
        self._batches = _BatchCounter(save_freq if save_freq != "epoch" else 0)
        if save_weights_only:
            if not self.filepath.endswith((".weights.h5", ".weights.npz")):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
                    f"`.weights.h5` (Keras weights format). Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                f"The filepath provided must end in `.keras` (Keras model format). Received: filepath={self.filepath}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch" and self._batches.step(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_model(self, epoch: int, logs: dict, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if numpy.ndim(current.numpy() if hasattr(current, "numpy") else current) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                          f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e} (the logged '
                           f"values are {sorted(logs)}, with epoch and batch)") from None

    def _save_model(self, epoch: int, batch: int | None, logs) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                          f"existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


class BackupAndRestore(Callback):
    """Back up the weights (with the optimizer state) and the epoch reached, to resume an interrupted ``fit``.

    At each epoch end (or every ``save_freq`` batches) the weights go to ``backup_dir/latest.weights.npz``
    and ``{"epoch": epochs completed, "batch": last batch}`` to ``backup_dir/training_metadata.json``. At the
    start of ``fit``, an existing backup is loaded and ``model._initial_epoch`` set, so ``fit`` resumes at
    that epoch (a mid-epoch backup restarts its epoch). With ``double_checkpoint`` the previous backup is kept
    as ``*.bkp`` and used when the latest cannot be read. ``delete_checkpoint``: remove ``backup_dir`` when
    ``fit`` completes. The model must be built before ``fit``.

    Keras names the weights file ``latest.weights.h5``; neuronka's is ``latest.weights.npz`` (its format).
    """

    def __init__(self, backup_dir, save_freq: str | int = "epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._last_batch_seen = 0
        self._current_epoch = 0
        if not backup_dir:
            raise ValueError(f"Empty `backup_dir` argument passed. Received: backup_dir={backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        _check_save_freq(save_freq, f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                                    "Expected either 'epoch' or an integer value (a positive number of batches).")
        self._batches = _BatchCounter(save_freq if save_freq != "epoch" else 0)
        self._batches.last_batch = 0

    def on_train_begin(self, logs=None):
        try:
            self._load_model()
        except (OSError, ValueError) as e:
            if isinstance(e, ValueError) and "must be built" in str(e):
                raise
            # the latest backup cannot be read (an interrupted write): fall back to the previous one
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        if not getattr(self.model, "built", True):
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call `fit()`. "
                f"Model {self.model} is unbuilt. You can build it beforehand by calling it on a batch of data."
            )
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path, encoding="utf-8") as f:
                epoch = json.loads(f.read())["epoch"]
            self.model._initial_epoch = epoch
            self._current_epoch = epoch  # Keras leaves 0 here: a mid-epoch backup before the next epoch end
            #                               would then record epoch 0 and a later resume would start over

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        self._batches.last_batch = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._last_batch_seen = batch
        if self._batches.step(batch):
            self._save_model()

    def _save_model(self) -> None:
        from .. import saving  # noqa: PLC0415

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._prev_weights_path)
        if self.double_checkpoint and os.path.exists(self._training_metadata_path):
            shutil.copyfile(self._training_metadata_path, self._prev_training_metadata_path)
        self.model.save_weights(self._weights_path, overwrite=True)
        meta = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        saving.atomic_write_bytes(self._training_metadata_path, json.dumps(meta).encode("utf-8"))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)

"""Callbacks: code that ``fit`` / ``evaluate`` / ``predict`` run at fixed points of the loop (Keras 3 API).

``fit`` wraps the user's callbacks in a :class:`CallbackList` (adding a :class:`History` and, unless
``verbose=0``, a :class:`ProgbarLogger`) and calls, in order::

    on_train_begin
      on_epoch_begin(epoch)
        on_train_batch_begin(batch) ... on_train_batch_end(batch, logs)      # per step
        on_test_begin ... on_test_end(val logs)                             # validation, if any
      on_epoch_end(epoch, logs)         # logs: loss, metrics, val_loss, val_metrics (+ learning_rate)
    on_train_end

A callback stops training by setting ``model.stop_training = True``. The ``logs`` dict of
``on_epoch_end`` is shared by all callbacks in the list, in order, so a callback can add entries
(``LearningRateScheduler`` / ``ReduceLROnPlateau`` add ``"learning_rate"``) that the ones after it
(the History, appended last) record.

Monitoring callbacks compare a value with the best one seen so far: in ``"min"`` mode an improvement
is ``current + min_delta < best``, in ``"max"`` mode ``current - min_delta > best`` (``min_delta ≥ 0``).
"""
from __future__ import annotations

import collections.abc
import csv
import json
import math
import os
import shutil
import warnings
from collections.abc import Callable
from typing import Any

import numpy

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]

_HOOKS = (
    "on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end",
    "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


def _print(msg: str) -> None:
    print(msg, flush=True)


def _to_float(value) -> float:
    """A Python float from a float, NumPy scalar/0-d array or neuronka Tensor."""
    if hasattr(value, "numpy") and not isinstance(value, numpy.ndarray):
        value = value.numpy()
    return float(numpy.asarray(value))


def _get_lr(model) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"expected a compiled model whose optimizer has a `learning_rate` attribute, "
            f"received optimizer={optimizer!r}"
        )
    return _to_float(optimizer.learning_rate)


class Callback:
    """Base class of callbacks: every hook does nothing.

    ``params`` (set by ``set_params``): ``verbose``, ``epochs``, ``steps``. ``model`` (set by
    ``set_model``): the model being trained. ``on_train_batch_begin/end`` fall back to
    ``on_batch_begin/end`` as in Keras.
    """

    def __init__(self) -> None:
        self.params: dict = {}
        self._model = None

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model) -> None:
        self._model = model

    @property
    def model(self):
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model = value

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A backwards-compatibility alias of ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A backwards-compatibility alias of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """At the start of an epoch (``fit`` only)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """At the end of an epoch; ``logs`` holds the epoch's metrics and validation metrics."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a batch of ``evaluate`` (or of the validation in ``fit``)."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a batch of ``evaluate``; ``logs`` holds the running metrics."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a batch of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a batch of ``predict``; ``logs`` holds ``outputs``."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """At the start of ``fit``."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """At the end of ``fit`` (also after an early stop)."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """At the start of ``evaluate`` / of a validation pass."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """At the end of ``evaluate`` / of a validation pass."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """At the end of ``predict``."""


def _pythonify_logs(logs: dict) -> dict:
    """Nested dicts flattened, scalar arrays/tensors turned into Python floats (as Keras does for batch logs)."""
    out: dict = {}
    for key, value in sorted(logs.items()):
        if isinstance(value, dict):
            out.update(_pythonify_logs(value))
            continue
        try:
            value = _to_float(value)
        except (TypeError, ValueError):
            pass
        out[key] = value
    return out


class CallbackList(Callback):
    """A list of callbacks called as one; ``fit`` adds a ``History`` (and a ``ProgbarLogger`` unless silent).

    ``CallbackList(callbacks, add_history=False, add_progbar=False, model=None, **params)``: ``params``
    (``verbose``, ``epochs``, ``steps``) go to every callback's ``set_params``; with a model, the
    History becomes ``model.history``.
    """

    def __init__(self, callbacks=None, add_history: bool = False, add_progbar: bool = False, model=None,
                 **params) -> None:
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks: list[Callback] = []
        for cb in _flatten_callbacks(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"CallbackList: expected keras.callbacks.Callback instances, received {cb!r} "
                    f"of type {type(cb).__name__}"
                )
            self.callbacks.append(cb)
        self._history: History | None = None
        self._progbar: ProgbarLogger | None = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict) -> None:
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def _call(self, hook: str, *args, logs=None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=_pythonify_logs(logs or {}))

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=_pythonify_logs(logs or {}))

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=_pythonify_logs(logs or {}))

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


def _flatten_callbacks(items) -> list:
    if isinstance(items, (list, tuple)):
        return [c for item in items for c in _flatten_callbacks(item)]
    if isinstance(items, CallbackList):
        return list(items.callbacks)
    return [items]


class History(Callback):
    """Records the epoch logs: ``history.history[key]`` is the list of per-epoch values, ``history.epoch`` the epochs.

    ``fit`` returns it and sets it as ``model.history``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` and a progress bar with the running metrics (``neuronka.utils.progbar.Progbar``).

    ``verbose=1``: a bar updated each step; ``verbose=2``: one line per epoch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self) -> None:
        if self.progbar is None:
            from .utils.progbar import Progbar  # noqa: PLC0415

            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _update_progbar(self, batch, logs=None) -> None:
        logs = logs or {}
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs) -> None:
        logs = logs or {}
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list(logs.items()), finalize=True)


# ----------------------------------------------------------------------------------
# monitoring a quantity
# ----------------------------------------------------------------------------------
_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "true_positives",
              "true_negatives", "cosine_similarity")
_MIN_HINTS = ("loss", "error", "crossentropy", "hinge", "mse", "mae", "mape", "msle", "rmse", "false_positives",
              "false_negatives", "poisson", "divergence", "logcosh", "huber")


def _infer_direction(model, monitor: str) -> str | None:
    """"up" or "down" for ``monitor``: the model's metric ``_direction`` if it has one, else the name."""
    name = monitor.removeprefix("val_")
    if name == "loss":
        return "down"
    metrics = getattr(model, "metrics", None) or []
    try:
        metrics = list(metrics)
    except TypeError:
        metrics = []
    stack = list(metrics)
    while stack:
        m = stack.pop()
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)
        if getattr(m, "name", None) == name and getattr(m, "_direction", None) in ("up", "down"):
            return m._direction
    lowered = name.lower()
    if any(h in lowered for h in _MIN_HINTS):
        return "down"
    if any(h in lowered for h in _MAX_HINTS):
        return "up"
    return None


class _MonitorCallback(Callback):
    """Shared by EarlyStopping and ModelCheckpoint: which way is better, and is a value an improvement."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.best = baseline
        self.monitor_op: Callable | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            direction = "down"
        elif self.mode == "max":
            direction = "up"
        else:
            direction = _infer_direction(self.model, self.monitor)
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor!r}, but it cannot be "
                    f"determined automatically whether that metric should be maximized or minimized. "
                    f"Pass `mode='max'` to use the highest value, or `mode='min'` for the lowest value."
                )
        self.monitor_op = numpy.greater if direction == "up" else numpy.less
        self._sign = 1.0 if direction == "up" else -1.0
        if self.best is None:
            self.best = -numpy.inf if direction == "up" else numpy.inf

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        # "min": value + min_delta < reference; "max": value - min_delta > reference
        return bool(self.monitor_op(_to_float(value) - self._sign * self.min_delta, reference))


class EarlyStopping(_MonitorCallback):
    """Stop training when the monitored quantity has stopped improving.

    Each epoch (from ``start_from_epoch`` on) ``wait`` grows by one; an improvement over the best value
    (by more than ``min_delta``) records it as the best and resets ``wait`` to 0 — but only if it also
    beats ``baseline`` when one is given. When ``wait >= patience`` (and it is not the first epoch),
    ``model.stop_training`` is set. With ``restore_best_weights``, the weights of the best epoch are put
    back at the end of training, whether training was stopped early or ran all its epochs.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor=monitor, mode=mode, baseline=None, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # instances can be reused across fit() calls
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self.best = None
        self.monitor_op = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # nothing recorded yet: the current weights are the best so far
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = _to_float(current)
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs.keys())}",
                stacklevel=2,
            )
        return value


# ----------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------
_WEIGHTS_SUFFIXES = (".weights.h5", ".weights.npz")
_MODEL_SUFFIXES = (".keras", ".h5")


class ModelCheckpoint(_MonitorCallback):
    """Save the model (``.keras``) or its weights (``.weights.h5`` / ``.weights.npz``) during training.

    ``filepath`` may hold ``str.format`` fields filled with ``epoch`` (1-based) and the log values, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``. With ``save_best_only`` a file is written only when the
    monitored value improves on the best so far (starting from ``initial_value_threshold`` if given).
    ``save_freq``: ``"epoch"`` or a number of batches. Writes are atomic (``neuronka.saving``): an
    interrupted save leaves the previous checkpoint intact.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq <= 0):
            raise ValueError(
                f"ModelCheckpoint: unrecognized save_freq: expected 'epoch' or a positive integer, "
                f"received save_freq={save_freq!r}"
            )
        if save_weights_only:
            if not self.filepath.endswith(_WEIGHTS_SUFFIXES):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end "
                    f"in `.weights.h5` or `.weights.npz`. Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith(_MODEL_SUFFIXES):
            raise ValueError(
                f"The filepath provided must end in `.keras` (Keras model format). Received: filepath={self.filepath}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch started
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if numpy.ndim(current) > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                f"Falling back to `save_best_only=False`.", stacklevel=3,
            )
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = _to_float(current)
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                       f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _get_file_path(self, epoch, batch, logs) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e} is not among the '
                f"logged values {sorted(logs)} (nor epoch/batch)"
            ) from None

    def _save_model(self, epoch, batch, logs) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise OSError(
                f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                f"directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        from . import saving  # noqa: PLC0415

        if self.save_weights_only:
            saver = getattr(self.model, "save_weights", None)
            if saver is None:
                saving.save_weights(self.model, filepath, overwrite=True)
            else:
                saver(filepath, overwrite=True)
        else:
            saver = getattr(self.model, "save", None)
            if saver is None:
                saving.save_model(self.model, filepath, overwrite=True)
            else:
                saver(filepath, overwrite=True)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


class BackupAndRestore(Callback):
    """Back up the weights (and optimizer state) and the epoch reached, to resume an interrupted ``fit``.

    At the end of each epoch (or every ``save_freq`` batches) the weights go to
    ``backup_dir/latest.weights.npz`` and the next epoch to ``backup_dir/training_metadata.json``.
    At the start of ``fit``, an existing backup is loaded and ``model._initial_epoch`` is set, so the
    loop resumes at that epoch. The backup is deleted at the end of a completed ``fit`` when
    ``delete_checkpoint``. With ``double_checkpoint`` the previous backup is kept as a fallback.
    """

    def __init__(self, backup_dir, save_freq: str | int = "epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(f"BackupAndRestore: expected a directory for `backup_dir`, received {backup_dir!r}")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq <= 0):
            raise ValueError(
                f"BackupAndRestore: expected save_freq='epoch' or a positive integer, received save_freq={save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._prev_weights_path = os.path.join(self.backup_dir, "latest.weights.prev.npz")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_training_metadata_path = os.path.join(self.backup_dir, "training_metadata.prev.json")
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def on_train_begin(self, logs=None):
        from . import saving  # noqa: PLC0415

        if not os.path.exists(self._weights_path):
            return
        candidates = [(self._weights_path, self._training_metadata_path)]
        if self.double_checkpoint:
            candidates.append((self._prev_weights_path, self._prev_training_metadata_path))
        errors = []
        for weights_path, meta_path in candidates:
            try:
                with open(meta_path, encoding="utf-8") as f:
                    meta = json.load(f)
                epoch = int(meta["epoch"])
                saving.load_weights(self.model, weights_path)
            except (OSError, ValueError, KeyError, TypeError) as e:
                errors.append(f"{weights_path}: {e}")
                continue
            self._current_epoch = epoch
            self.model._initial_epoch = epoch
            return
        raise ValueError("BackupAndRestore: could not restore the backup: " + "; ".join(errors))

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        add = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save_model()

    def _save_model(self) -> None:
        from . import saving  # noqa: PLC0415

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._prev_weights_path)
            if os.path.exists(self._training_metadata_path):
                shutil.copyfile(self._training_metadata_path, self._prev_training_metadata_path)
        saving.save_weights(self.model, self._weights_path, overwrite=True)
        meta = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}).encode("utf-8")
        saving.atomic_write_bytes(self._training_metadata_path, meta)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


# ----------------------------------------------------------------------------------
# learning rate
# ----------------------------------------------------------------------------------
class LearningRateScheduler(Callback):
    """At the start of each epoch: ``optimizer.learning_rate = schedule(epoch, current_lr)`` (epoch from 0).

    A one-argument ``schedule(epoch)`` is also accepted. Adds ``"learning_rate"`` to the epoch logs.
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = _to_float(optimizer.learning_rate)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:  # the old one-argument API
            new_lr = self.schedule(epoch)
        if hasattr(new_lr, "numpy") and not isinstance(new_lr, numpy.ndarray):
            new_lr = new_lr.numpy()
        if isinstance(new_lr, numpy.ndarray) and new_lr.ndim == 0:
            new_lr = new_lr[()]
        if isinstance(new_lr, bool) or not isinstance(new_lr, (float, int, numpy.floating, numpy.integer)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {new_lr!r}")
        optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when the monitored quantity stops improving.

    An improvement is ``current < best - min_delta`` (``"min"``; ``"auto"`` unless the name holds
    ``"acc"``) or ``current > best + min_delta`` (``"max"``). After ``patience`` epochs without one:
    ``lr = max(lr · factor, min_lr)`` (only while ``lr > min_lr``), then ``cooldown`` epochs during
    which the wait counter stays 0. Adds ``"learning_rate"`` (before the reduction) to the epoch logs.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unrecognized keyword arguments {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0.0
        self.mode = mode
        self.monitor_op: Callable | None = None
        self._reset()

    def _reset(self) -> None:
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(f"Learning rate reduction mode {self.mode} is unknown, fallback to auto mode.",
                          stacklevel=2)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = numpy.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -numpy.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = _get_lr(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs.keys())}.",
                stacklevel=2,
            )
            return
        current = _to_float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(self.model)
                if old_lr > numpy.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# ----------------------------------------------------------------------------------
# logging and misc
# ----------------------------------------------------------------------------------
class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file: columns ``epoch`` then the log keys sorted by name.

    The keys are fixed by the first epoch (plus the model's expected ``val_*`` metrics); a missing value
    is written ``NA``. ``append=True`` continues an existing file without repeating its header.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            self.append_header = True
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(v):
            if isinstance(v, str):
                return v
            if hasattr(v, "numpy") and not isinstance(v, numpy.ndarray):
                v = v.numpy()
            if isinstance(v, numpy.ndarray) and v.ndim == 0:
                return v.item()
            if isinstance(v, collections.abc.Iterable):
                return f'"[{", ".join(map(str, v))}]"'
            return v

        if self.keys is None:
            self.keys = sorted(logs.keys())
            expected = getattr(self.model, "metrics_names", None) or []
            for name in expected:
                if isinstance(name, str) and name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self.writer is None:
            sep = self.sep

            class _Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training (``model.stop_training = True``) as soon as a batch loss is NaN or infinite."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = _to_float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Stopping training.")
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions: ``on_epoch_begin(epoch, logs)``, ``on_train_begin(logs)``,
    ``on_train_batch_end(batch, logs)``, ... (any ``on_*`` hook may be given as a keyword)."""

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        for name, fn in given.items():
            if fn is None:
                continue
            if name not in _HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; expected one of {list(_HOOKS)}")
            if not callable(fn):
                raise TypeError(f"LambdaCallback: expected a callable for `{name}`, received {fn!r}")
            setattr(self, name, fn)

"""Callbacks watching one logged quantity: :class:`MonitorCallback`, :class:`EarlyStopping`, :class:`ReduceLROnPlateau`.

Which way is better: ``mode="min"`` / ``"max"``, or ``"auto"``: ``loss`` / ``val_loss`` are minimized,
otherwise the model's compiled metric of that name says (its ``_direction``, ``"up"`` or ``"down"``).
An improvement over the reference value is, with ``min_delta ≥ 0``::

    "min":  current + min_delta < reference          "max":  current - min_delta > reference

(no reference yet: always an improvement).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy

from .base import Callback, learning_rate_of, print_msg

# neuronka's fallback when the model does not list the metric (Keras raises): the usual names' direction
_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "true_positives",
              "true_negatives", "cosine_similarity")
_MIN_HINTS = ("loss", "error", "crossentropy", "hinge", "mse", "mae", "mape", "msle", "rmse", "false_positives",
              "false_negatives", "poisson", "divergence", "logcosh", "huber")


def metric_direction(model, monitor: str) -> str | None:
    """``"up"`` or ``"down"`` for ``monitor``: ``loss`` is minimized; else the model's metric of that name
    (``val_`` removed) says by its ``_direction``; else a guess from the name; else ``None``."""
    name = monitor.removeprefix("val_")
    direction = "down" if name == "loss" else None
    try:
        stack = list(getattr(model, "metrics", None) or [])
    except TypeError:
        stack = []
    while stack:
        m = stack.pop()
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)
        if getattr(m, "name", None) == name and getattr(m, "_direction", None) in ("up", "down"):
            return m._direction
    if direction is not None:
        return direction
    lowered = name.lower()
    if any(h in lowered for h in _MIN_HINTS):
        return "down"
    if any(h in lowered for h in _MAX_HINTS):
        return "up"
    return None


class MonitorCallback(Callback):
    """Base of the callbacks that track the best value of ``monitor`` (EarlyStopping, ReduceLROnPlateau,
    ModelCheckpoint). ``monitor_op`` (``numpy.less`` or ``numpy.greater``) is chosen at the first epoch end,
    once the model's metrics exist. An unknown ``mode`` warns and falls back to ``"auto"``.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            direction = "down"
        elif self.mode == "max":
            direction = "up"
        else:
            direction = metric_direction(self.model, self.monitor)
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but it cannot be determined "
                    "automatically whether that metric should be maximized or minimized. Pass `mode='max'` in "
                    "order to monitor based on the highest metric value, or pass `mode='min'` in order to use the "
                    "lowest value."
                )
        self.monitor_op = numpy.greater if direction == "up" else numpy.less
        self._signed_delta = self.min_delta if direction == "up" else -self.min_delta

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        if reference_value is None:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        # "max": current - min_delta > reference;  "min": current + min_delta < reference
        return bool(self.monitor_op(monitor_value - self._signed_delta, reference_value))


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has stopped improving.

    At each epoch end from ``start_from_epoch`` on: ``wait += 1``; an improvement on ``best`` (by more
    than ``min_delta``) makes it the new ``best`` (and ``best_epoch``) and resets ``wait`` to 0 — only if it
    also improves on ``baseline`` when one is given. Once ``wait >= patience`` (never at epoch 0),
    ``stopped_epoch = epoch`` and ``model.stop_training = True``. With ``restore_best_weights`` the weights
    of ``best_epoch`` are put back at the end of training, whether it stopped early or not.
    A missing ``monitor`` in the logs warns and skips the epoch.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        # the same instance may serve several fit() calls
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

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
            self.best = current
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
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """``logs[monitor]``, or ``None`` with a warning naming the available keys."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs.keys())}",
                stacklevel=2,
            )
        return value


def optimizers_of(model) -> list[tuple[str, object]]:
    """``[("", optimizer)]``, or for an optimizer made of several (``.optimizers``): ``[(name, inner), ...]``."""
    optimizer = model.optimizer
    if hasattr(optimizer, "optimizers"):
        return [(opt.name, opt) for opt in optimizer.optimizers]
    return [("", optimizer)]


def log_learning_rates(model, logs: dict) -> None:
    """``logs["learning_rate"]`` (or ``logs["learning_rate_<name>"]`` per inner optimizer) as a float."""
    for name, opt in optimizers_of(model):
        logs[f"learning_rate_{name}" if name else "learning_rate"] = learning_rate_of(opt)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving.

    At each epoch end the current rate is logged as ``"learning_rate"``. An improvement (by more than
    ``min_delta``) resets ``wait``; otherwise, outside the ``cooldown`` epochs that follow a reduction,
    ``wait += 1``, and once ``wait >= patience``, while ``lr > min_lr``::

        lr ← max(lr · factor, min_lr);   cooldown_counter ← cooldown;   wait ← 0

    ``factor`` must be < 1. Extra keyword arguments are ignored as in Keras (with a warning here).
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        if kwargs:
            warnings.warn(f"ReduceLROnPlateau: ignoring unrecognized keyword arguments {sorted(kwargs)}",
                          stacklevel=2)
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _reduce_optimizer_lr(self, optimizer, epoch: int, name: str = "") -> bool:
        old_lr = learning_rate_of(optimizer)
        if not old_lr > numpy.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            label = f" {name}" if name else ""
            print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{label} learning rate to {new_lr}.")
        return True

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = {} if logs is None else logs
        log_learning_rates(self.model, logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs.keys())}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                reduced = [self._reduce_optimizer_lr(opt, epoch, name) for name, opt in optimizers_of(self.model)]
                if any(reduced):
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

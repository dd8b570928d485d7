"""The callback protocol: :class:`Callback` (every hook a no-op) and :class:`CallbackList` (many called as one).

``fit`` wraps the user's callbacks in a :class:`CallbackList` (adding a ``History`` and, unless
``verbose=0``, a ``ProgbarLogger``) and calls, in order::

    on_train_begin
      on_epoch_begin(epoch)
        on_train_batch_begin(batch) ... on_train_batch_end(batch, logs)      # per step
        on_test_begin ... on_test_end(val logs)                             # validation, if any
      on_epoch_end(epoch, logs)         # logs: loss, metrics, val_loss, val_metrics
    on_train_end(last epoch logs)

Every hook of the list first turns its ``logs`` into a new flat dict, keys sorted, values Python floats
where they convert (Keras's ``pythonify_logs``); that one dict is handed to every callback in turn, so a
callback can add entries (``LearningRateScheduler`` / ``ReduceLROnPlateau`` add ``"learning_rate"``)
that the callbacks after it (the History, appended last) see. A callback stops training by setting
``model.stop_training = True``.
"""
from __future__ import annotations

from typing import Any

import numpy

HOOKS = (
    "on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end",
    "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


def print_msg(msg: str) -> None:
    """What a callback says with ``verbose > 0`` (Keras prints through ``io_utils.print_msg``)."""
    print(msg, flush=True)


def to_float(value) -> float:
    """A Python float from a float, NumPy scalar / 0-d array or neuronka Tensor."""
    if hasattr(value, "numpy") and not isinstance(value, numpy.ndarray):
        value = value.numpy()
    return float(numpy.asarray(value))


def learning_rate_of(optimizer) -> float:
    """``optimizer.learning_rate`` as a Python float (a schedule evaluated at the current step)."""
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError('Optimizer must have a "learning_rate" attribute. '
                         f"Received: optimizer={optimizer!r}")
    return to_float(optimizer.learning_rate)


def pythonify_logs(logs: dict | None) -> dict:
    """A new flat dict: nested dicts merged in, keys sorted, scalars (0-d arrays, tensors, NumPy numbers) as
    Python floats. Arrays with dimensions (``predict``'s ``outputs``) are kept as they are."""
    out: dict = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
            continue
        try:
            if numpy.ndim(value.numpy() if hasattr(value, "numpy") else value) == 0:
                value = to_float(value)
        except (TypeError, ValueError, AttributeError):
            pass
        out[key] = value
    return out


class Callback:
    """Base class of callbacks: every hook does nothing; subclass and override the ones you need.

    Attributes: ``params`` (``None`` until ``set_params``; in ``fit``: ``{"verbose", "epochs", "steps"}``)
    and ``model`` (set by ``set_model``: the model being trained, evaluated or run).
    ``on_train_batch_begin/end`` call ``on_batch_begin/end``, their older names, as in Keras.
    """

    def __init__(self) -> None:
        self.params: dict | None = None
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
        """The older name of ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """The older name of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """At the start of an epoch (``fit`` only)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """At the end of an epoch; ``logs`` holds the epoch's metrics and the ``val_`` metrics."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a training batch of ``fit``."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a training batch; ``logs`` holds the running metrics of the epoch."""
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
        """At the end of ``fit`` (also after an early stop); ``logs``: the last epoch's."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """At the start of ``evaluate`` / of a validation pass."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """At the end of ``evaluate`` / of a validation pass; ``logs``: the final metrics."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """At the end of ``predict``."""


def _flatten_callbacks(items) -> list:
    if isinstance(items, (list, tuple)):
        return [c for item in items for c in _flatten_callbacks(item)]
    if isinstance(items, CallbackList):
        return list(items.callbacks)
    return [items]


class CallbackList(Callback):
    """Callbacks called as one: ``CallbackList(callbacks, add_history=False, add_progbar=False, model=None, **params)``.

    ``callbacks`` (nested lists are flattened) keep their order; ``add_history`` / ``add_progbar`` append a
    ``History`` / ``ProgbarLogger`` unless one is already there. ``params`` (``fit`` passes ``verbose``,
    ``epochs``, ``steps``) go to every callback's ``set_params`` when not empty; with a ``model``, every
    callback's ``set_model`` is called and the History becomes ``model.history``.

    Beyond Keras: ``append(callback)``, ``len()`` and iteration over ``callbacks``; callbacks that are not
    :class:`Callback` instances are refused with a TypeError here (Keras fails later, at the first hook).
    """

    def __init__(self, callbacks=None, add_history: bool = False, add_progbar: bool = False, model=None,
                 **params: Any) -> None:
        super().__init__()
        self.callbacks: list[Callback] = []
        for cb in _flatten_callbacks(callbacks) if callbacks else []:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"CallbackList: expected keras.callbacks.Callback instances, received {cb!r} "
                    f"of type {type(cb).__name__}"
                )
            self.callbacks.append(cb)
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        from .history import History, ProgbarLogger  # noqa: PLC0415 - history imports this module

        self._history = self._progbar = None
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

    def append(self, callback: Callback) -> None:
        """Add a callback at the end (it gets this list's model and params)."""
        if not isinstance(callback, Callback):
            raise TypeError(f"CallbackList.append: expected a keras.callbacks.Callback, received {callback!r}")
        self.callbacks.append(callback)
        if self.params:
            callback.set_params(self.params)
        if self._model is not None:
            callback.set_model(self._model)

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

    # every hook: one pythonified logs dict, handed to each callback in order
    def _epoch_hook(self, hook: str, index: int, logs) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(index, logs)

    def _batch_hook(self, hook: str, batch: int, logs) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(batch, logs=logs)

    def _phase_hook(self, hook: str, logs) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_hook("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_hook("on_epoch_end", epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        self._batch_hook("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._batch_hook("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_hook("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._batch_hook("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._batch_hook("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._batch_hook("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._batch_hook("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_hook("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._phase_hook("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._phase_hook("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._phase_hook("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._phase_hook("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._phase_hook("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._phase_hook("on_predict_end", logs)

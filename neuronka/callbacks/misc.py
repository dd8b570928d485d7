"""Small callbacks: :class:`LearningRateScheduler`, :class:`TerminateOnNaN`, :class:`LambdaCallback` and
:class:`SwapEMAWeights` (evaluate with the optimizer's moving averages of the weights)."""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy

from .base import HOOKS, Callback, learning_rate_of, print_msg, to_float
from .monitors import log_learning_rates, optimizers_of


class LearningRateScheduler(Callback):
    """At the start of each epoch: ``optimizer.learning_rate = schedule(epoch, current_lr)`` (epoch from 0).

    A one-argument ``schedule(epoch)`` (the older API) is used when the two-argument call raises TypeError.
    The schedule must return a float (Python or NumPy float32/float64; an int is refused, as in Keras).
    Adds ``"learning_rate"`` to the epoch logs (``"learning_rate_<name>"`` per optimizer of a multi-optimizer).
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def _update_optimizer_lr(self, optimizer, epoch: int) -> float:
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, learning_rate_of(optimizer))
        except TypeError:  # the older one-argument schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, numpy.float32, numpy.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = lr
        return lr

    def on_epoch_begin(self, epoch, logs=None):
        for name, opt in optimizers_of(self.model):
            lr = self._update_optimizer_lr(opt, epoch)
            if self.verbose > 0:
                which = f"{name} " if name else ""
                print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting {which}learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            log_learning_rates(self.model, logs)


class TerminateOnNaN(Callback):
    """Stop training (``model.stop_training = True``) after the first batch whose ``loss`` is NaN or ±inf;
    with ``raise_error=True``, raise a RuntimeError there instead (the rest of ``fit`` does not run)."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = to_float(loss)
        if math.isnan(value) or math.isinf(value):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions, with the hooks' signatures: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``; any other hook
    (``on_test_begin``, ``on_predict_batch_end``, ...) may be given by keyword too.

    Other keyword arguments become attributes (as in Keras); an unknown ``on_*`` name (a misspelt hook)
    raises ValueError here, where Keras would silently never call it.
    """

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, value in kwargs.items():
            if name.startswith("on_") and name not in HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; expected one of {list(HOOKS)}")
            if name in HOOKS:
                given[name] = value
            else:
                setattr(self, name, value)
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: expected a callable for `{name}`, received {fn!r}")
            setattr(self, name, fn)


# ----------------------------------------------------------------------------------
# the optimizer's moving averages of the weights
# ----------------------------------------------------------------------------------
def _values(x):
    """The array behind a variable, a tensor or an array (writable, in place)."""
    return x.data if hasattr(x, "data") and not isinstance(x, numpy.ndarray) else x


def ema_pairs(optimizer) -> list[tuple[Any, Any]]:
    """``[(variable, its moving average), ...]`` of an optimizer built with ``use_ema=True``.

    Reads Keras's attributes (``_trainable_variables`` and ``_model_variables_moving_average``) when the
    optimizer has them, else neuronka's (``_variables`` and the ``"average"`` slot of ``_slots``)."""
    averages = getattr(optimizer, "_model_variables_moving_average", None)
    if averages is not None:
        return list(zip(optimizer._trainable_variables, averages))
    slots = getattr(optimizer, "_slots", None)
    if getattr(optimizer, "use_ema", False) and slots is not None and all("average" in s for s in slots):
        return list(zip(optimizer._variables, (s["average"] for s in slots)))
    return []


def _ema_optimizers(model) -> list:
    """The optimizers whose averages SwapEMAWeights swaps (inside a loss-scale or multi-optimizer too)."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    if hasattr(optimizer, "optimizers"):
        inner = [opt for opt in optimizer.optimizers if getattr(opt, "use_ema", False)]
        if not inner:
            raise ValueError("SwapEMAWeights must be used when at least one inner optimizer has `use_ema=True` "
                             "set. Received a MultiOptimizer with all inner optimizers having `use_ema=False`.")
    else:
        inner = [optimizer]
    for opt in inner:
        if not getattr(opt, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                             f"Received: use_ema={getattr(opt, 'use_ema', False)}")
    return inner


class SwapEMAWeights(Callback):
    """Evaluate and predict with the optimizer's exponential moving averages of the weights (``use_ema=True``).

    At ``on_test_begin`` / ``on_predict_begin`` the model's weights w and their averages a are swapped
    (w ↔ a), and swapped back at ``on_test_end`` / ``on_predict_end``, so validation inside ``fit``,
    ``evaluate`` and ``predict`` see the averaged weights while training goes on with the raw ones.
    ``swap_on_epoch=True``: also swap at each epoch end (so callbacks after this one, e.g. ModelCheckpoint,
    see the averages) and back at the next epoch begin; at the last epoch the averages are set to the raw
    weights (a ← w) so that ``fit``'s final ``finalize_variable_values`` leaves the averaged weights in place.

    Keras 3.15.1 forgets to swap back at ``on_predict_end`` (its test reads the wrong flag), leaving the
    averages in the model after ``predict``; neuronka swaps back.
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _swap_variables(self) -> None:
        for opt in _ema_optimizers(self.model):
            for var, average in ema_pairs(opt):
                w, a = _values(var), _values(average)
                raw = copy.copy(numpy.array(w))
                w[...] = a  # w ↔ a
                a[...] = raw

    def _finalize_ema_values(self) -> None:
        for opt in _ema_optimizers(self.model):
            for var, average in ema_pairs(opt):
                _values(average)[...] = _values(var)  # a ← w

    def _swap_in(self) -> None:
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def _swap_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            # fit ends with finalize_variable_values (w ← a): keep the averages it will copy equal to what is in
            # the model now
            if self.params and epoch == self.params.get("epochs", 0) - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()

"""``keras.optimizers``: Keras 3's optimizers, their names, arguments, defaults and update formulas.

===================  =============================================================================
base.py              Optimizer: learning rate, clipping, weight decay, EMA, gradient accumulation,
                     loss scale factor, constraints, state (``get_state``/``set_state``), config
sgd.py               SGD (momentum, Nesterov), Lion
adam.py              Adam, AdamW, Adamax, Nadam, Lamb
adaptive.py          RMSprop, Adagrad, Adadelta, Ftrl
adafactor.py         Adafactor
muon.py              Muon (Newton–Schulz orthogonalized momentum; AdamW for the other variables)
schedule_free.py     ScheduleFreeAdamW
wrappers.py          LossScaleOptimizer, MultiOptimizer, OptimizerMap
schedules.py         ``keras.optimizers.schedules``: learning-rate schedules
===================  =============================================================================

:func:`get` resolves an optimizer from an instance, a name ("adam", "SGD", ...: case-insensitive, as in
Keras) or a config dict; :func:`serialize` / :func:`deserialize` write and read Keras's
``{"module", "class_name", "config", "registered_name"}`` form.
"""
from __future__ import annotations

from typing import Any

from . import schedules
from .adafactor import Adafactor
from .adam import Adam, Adamax, AdamW, Lamb, Nadam
from .adaptive import Adadelta, Adagrad, Ftrl, RMSprop
from .base import Optimizer
from .muon import Muon
from .schedule_free import ScheduleFreeAdamW
from .sgd import SGD, Lion
from .wrappers import LossScaleOptimizer, MultiOptimizer, OptimizerMap

ALL_OPTIMIZERS: dict[str, type] = {
    cls.__name__.lower(): cls
    for cls in (Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Adafactor, Muon, MultiOptimizer,
                OptimizerMap, Nadam, Ftrl, Lion, Lamb, LossScaleOptimizer, ScheduleFreeAdamW)
}


def serialize(optimizer) -> dict[str, Any]:
    """``{"module": "keras.optimizers", "class_name": ..., "config": ..., "registered_name": None}``: the
    optimizer's configuration (not its state)."""
    if not isinstance(optimizer, (Optimizer, OptimizerMap)):
        raise ValueError(f"serialize: expected an Optimizer, received {optimizer!r}")
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def _unknown(identifier) -> ValueError:
    return ValueError(
        f"Could not interpret optimizer identifier: received {identifier!r}; expected an Optimizer, a config dict "
        f"or one of the names {sorted(n for n in ALL_OPTIMIZERS if n not in _NOT_BY_NAME)} (case-insensitive)"
    )


_NOT_BY_NAME = {"optimizer", "multioptimizer", "optimizermap", "lossscaleoptimizer"}  # need arguments


def deserialize(config, custom_objects: dict[str, Any] | None = None):
    """The optimizer described by ``{"class_name": ..., "config": {...}}`` (class names case-insensitive;
    ``custom_objects`` maps other class names to classes)."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise _unknown(config)
    name = config["class_name"]
    custom = custom_objects or {}
    cls = custom.get(name) or (ALL_OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None)
    if cls is None:
        raise _unknown(name)
    inner = dict(config.get("config") or {})
    try:
        return cls.from_config(inner, custom_objects=custom_objects)
    except TypeError as e:
        if "custom_objects" not in str(e):
            raise
        return cls.from_config(inner)


def get(identifier):
    """Resolve an optimizer: an instance (returned as is), a name ("adam", "SGD", ...) or a config dict.
    ``None`` stays ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    else:
        raise _unknown(identifier)
    if not isinstance(obj, Optimizer):
        raise _unknown(identifier)
    return obj


__all__ = ["SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb", "Lion",
           "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer", "OptimizerMap", "RMSprop",
           "ScheduleFreeAdamW", "deserialize", "get", "schedules", "serialize"]

"""``neuronka.losses``: Keras 3's ``keras.losses`` — loss classes, their function forms, and ``get``.

Where things are:

* :mod:`.loss` — the :class:`Loss` base class: dtype, mask, ``sample_weight`` and ``reduction`` (Keras's rules);
  :class:`LossFunctionWrapper` turns a per-sample function into a Loss.
* :mod:`.regression` — mean squared / absolute / percentage / squared-logarithmic error, cosine similarity,
  Huber, log-cosh.
* :mod:`.probabilistic` — binary / categorical / sparse cross-entropy, focal and generalized cross-entropy,
  KL divergence, Poisson, CTC.
* :mod:`.hinge` — hinge, squared hinge, categorical hinge.
* :mod:`.overlap` — Dice, Tversky; :mod:`.metric_learning` — Circle.
* :mod:`.serialization` — Keras's serialized dicts (shared with ``neuronka.metrics``).

Each function returns one value per sample and is differentiable in ``y_pred``: built from neuronka ops (each
with its backward) or from the fused Functions of :mod:`neuronka.ops.losses` and :mod:`neuronka.ops.ctc`.
"""
from __future__ import annotations

import inspect
from typing import Any

from . import hinge as _hinge
from . import metric_learning as _metric_learning
from . import overlap as _overlap
from . import probabilistic as _probabilistic
from . import regression as _regression
from .hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from .loss import (
    REDUCTIONS,
    Loss,
    LossFunctionWrapper,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)
from .metric_learning import Circle, circle
from .overlap import Dice, Tversky, dice, tversky
from .probabilistic import (
    CTC,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    ctc,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from .regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from .serialization import deserialize_object, serialize_object

# Keras's legacy aliases of the function forms
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy

_MODULES = (_regression, _probabilistic, _hinge, _overlap, _metric_learning)
CLASSES: tuple[type[Loss], ...] = tuple(c for mod in _MODULES for c in mod.CLASSES)
FUNCTIONS = tuple(f for mod in _MODULES for f in mod.FUNCTIONS)
ALL_OBJECTS = (Loss, LossFunctionWrapper, *CLASSES, *FUNCTIONS)
ALL_OBJECTS_DICT: dict[str, Any] = {obj.__name__: obj for obj in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape, "msle": msle,
                         "MSLE": msle, "kld": kld, "KLD": kld, "bce": bce, "BCE": bce})
_BUILTIN = {Loss, LossFunctionWrapper, *CLASSES}


def serialize(loss) -> dict | str | None:
    """Keras's dict of a loss: ``{"module", "class_name", "config", "registered_name"}`` for a Loss, and
    ``{"module": "builtins", "class_name": "function", "config": name, ...}`` for a function."""
    return serialize_object(loss, "keras.losses", _BUILTIN)


def deserialize(name, custom_objects: dict | None = None):
    """Inverse of :func:`serialize`; a name gives the function (``"mse"``) or an instance of the class
    (``"MeanSquaredError"``)."""
    return deserialize_object(name, ALL_OBJECTS_DICT, custom_objects, "loss")


def get(identifier):
    """Resolve a loss as ``keras.losses.get``: a name (a function name such as ``"mse"`` gives the function,
    a class name such as ``"CategoricalCrossentropy"`` gives an instance), a config dict, a Loss class
    (instantiated), a Loss instance or a callable; ``None`` gives ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(
        f"Could not interpret loss identifier: received {identifier!r}; expected one of "
        f"{sorted(ALL_OBJECTS_DICT)}, a Loss instance or class, a callable, or a dict "
        f"{{'class_name': ..., 'config': {{...}}}}"
    )


__all__ = sorted([obj.__name__ for obj in ALL_OBJECTS] + [
    "REDUCTIONS", "deserialize", "get", "serialize", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
    "kld", "KLD", "bce", "BCE", "reduce_weighted_values", "squeeze_or_expand_to_same_rank", "standardize_reduction",
])

"""The table of Keras 3's metric objects and functions, and their resolution by name: ``get``, ``serialize``,
``deserialize``.

The metrics themselves live by concept: :mod:`.base` (Metric, Sum, Mean, MeanMetricWrapper), :mod:`.accuracy_metrics`,
:mod:`.regression` (errors, R²), :mod:`.probabilistic` (cross-entropies, KL, Poisson, hinges), :mod:`.correlation`,
:mod:`.confusion` (counts, precision/recall, the XAtY metrics, AUC), :mod:`.iou` and :mod:`.fscore`.
"""
from __future__ import annotations

import inspect
from typing import Any

from .. import losses as _losses
from ..losses.serialization import deserialize_object, serialize_object
from . import accuracy_metrics, confusion, correlation, fscore, iou, probabilistic, regression
from .accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from .base import Mean, MeanMetricWrapper, Metric, Sum, snake_case
from .confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from .correlation import ConcordanceCorrelation, PearsonCorrelation, concordance_correlation, pearson_correlation
from .fscore import F1Score, FBetaScore
from .iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from .regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)

# the loss functions keras.metrics exports (the same objects as keras.losses's)
binary_crossentropy = _losses.binary_crossentropy
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy
categorical_hinge = _losses.categorical_hinge
hinge = _losses.hinge
huber = _losses.huber
kl_divergence = _losses.kl_divergence
log_cosh = _losses.log_cosh
mean_absolute_error = _losses.mean_absolute_error
mean_absolute_percentage_error = _losses.mean_absolute_percentage_error
mean_squared_error = _losses.mean_squared_error
mean_squared_logarithmic_error = _losses.mean_squared_logarithmic_error
poisson = _losses.poisson
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
squared_hinge = _losses.squared_hinge

_CLASSES: list[type[Metric]] = [Mean, Sum, *accuracy_metrics.CLASSES, *regression.CLASSES, *probabilistic.CLASSES,
                                *correlation.CLASSES, *confusion.CLASSES, *iou.CLASSES, *fscore.CLASSES]
FUNCTIONS = (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
             sparse_top_k_categorical_accuracy, pearson_correlation, concordance_correlation, binary_crossentropy,
             binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy, categorical_hinge,
             hinge, huber, kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
             mean_squared_error, mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
             squared_hinge, accuracy)

# name → class: Keras's table (class names and their snake-case, plus the short aliases) and "acc"
ALL_OBJECTS: dict[str, type] = {}
for _cls in _CLASSES:
    ALL_OBJECTS[_cls.__name__] = _cls
    ALL_OBJECTS[snake_case(_cls.__name__)] = _cls
ALL_OBJECTS.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy, "rmse": RootMeanSquaredError, "kld": KLDivergence,
})
del _cls
_BUILTIN = {Metric, MeanMetricWrapper, *_CLASSES}
_FUNCTIONS_BY_NAME: dict[str, Any] = {f.__name__: f for f in FUNCTIONS}


def serialize(metric) -> dict | str | None:
    """Keras's dict of a metric (``{"module": "keras.metrics", "class_name", "config", "registered_name"}``) or of
    a function (``{"module": "builtins", "class_name": "function", ...}``)."""
    return serialize_object(metric, "keras.metrics", _BUILTIN)


def deserialize(config, custom_objects: dict | None = None):
    """Inverse of :func:`serialize`: a metric instance from its dict, or from a name."""
    return deserialize_object(config, {**ALL_OBJECTS, "MeanMetricWrapper": MeanMetricWrapper}, custom_objects,
                              "metric")


def deserialize_function(config, custom_objects: dict | None = None):
    """The metric or loss function a name or function dict stands for (a MeanMetricWrapper's ``fn``)."""
    table = {**_losses.ALL_OBJECTS_DICT, **_FUNCTIONS_BY_NAME}
    table = {k: v for k, v in table.items() if not inspect.isclass(v)}
    return deserialize_object(config, table, custom_objects, "metric function")


def get(identifier) -> Metric | None:
    """A metric object from a name (``"mse"``, ``"precision"``, ``"SparseCategoricalAccuracy"``), a config dict,
    a metric instance or class, or a function ``fn(y_true, y_pred)``. A function is wrapped in a
    :class:`MeanMetricWrapper` named after it (Keras returns the bare function; neuronka's ``compile`` needs a
    metric object)."""
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OBJECTS.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}; expected one of "
                f"{sorted(k for k in ALL_OBJECTS if not k[0].isupper())}, a Metric instance or a function"
            )
        return cls()
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r} of type {type(identifier).__name__}")


__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "ConcordanceCorrelation", "CosineSimilarity", "F1Score",
    "FBetaScore", "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError", "Mean",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU", "MeanMetricWrapper", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Metric", "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation", "Poisson",
    "Precision", "PrecisionAtRecall", "R2Score", "Recall", "RecallAtPrecision", "RootMeanSquaredError",
    "SensitivityAtSpecificity", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SpecificityAtSensitivity", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives", "accuracy", "binary_accuracy", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_accuracy", "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
    "concordance_correlation", "deserialize", "get", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "pearson_correlation", "poisson", "serialize", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
]

"""``neuronka.metrics``: Keras 3's ``keras.metrics`` — metric objects (for ``compile(metrics=...)``), the metric
functions, and ``get`` / ``serialize`` / ``deserialize`` (:mod:`.objects`, which also says where each family
lives); plus classification reports equal to scikit-learn's (:mod:`.classification`) and their plots."""
# classification reports (NumPy, equal to scikit-learn's figures) and their plots
from .classification import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    format_report,
    precision_recall_fscore_support,
    top_k_accuracy,
)
from .objects import *  # noqa: F403 - keras.metrics's names, listed in objects.__all__
from .objects import __all__ as _objects_all
from .plots import plot_confusion_matrix, plot_history

__all__ = sorted([*_objects_all, "accuracy_score", "classification_report", "confusion_matrix", "format_report",
                  "precision_recall_fscore_support", "top_k_accuracy", "plot_confusion_matrix", "plot_history"])

# Which way each metric improves (Keras's ``_direction``): what EarlyStopping / ModelCheckpoint /
# ReduceLROnPlateau use in mode "auto". A MeanMetricWrapper of a loss function points down.
_UP = ("AUC", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "ConcordanceCorrelation", "CosineSimilarity",
       "FBetaScore", "PearsonCorrelation", "Precision", "R2Score", "Recall", "SparseCategoricalAccuracy",
       "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy", "IoU", "SensitivityAtSpecificity",
       "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision")
_DOWN = ("BinaryCrossentropy", "CategoricalCrossentropy", "CategoricalHinge", "Hinge", "LogCoshError",
         "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError",
         "RootMeanSquaredError", "SparseCategoricalCrossentropy", "SquaredHinge")
for _name in _UP + _DOWN:
    globals()[_name]._direction = "up" if _name in _UP else "down"
del _name

"""``neuronka.metrics``: Keras 3's metric objects (for ``compile(metrics=...)``) and metric functions.

Metric objects live in :mod:`.objects`.
"""
# classification reports (NumPy, equal to scikit-learn's figures) and their plots
from .classification import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    format_report,
    precision_recall_fscore_support,
    top_k_accuracy,
)
from .objects import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    FalseNegatives,
    FalsePositives,
    KLDivergence,
    Mean,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanMetricWrapper,
    MeanSquaredError,
    Metric,
    Precision,
    Recall,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy,
    Sum,
    TopKCategoricalAccuracy,
    TrueNegatives,
    TruePositives,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    deserialize,
    get,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    serialize,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from .plots import plot_confusion_matrix, plot_history

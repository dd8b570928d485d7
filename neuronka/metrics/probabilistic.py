"""Metrics that are the weighted Mean of a loss function of ``neuronka.losses``: the cross-entropies, KL
divergence, Poisson and the hinge losses (no graph is recorded)."""
from __future__ import annotations

from .. import losses as _losses
from .regression import _LossMean


class BinaryCrossentropy(_LossMean):
    """The Mean of binary cross-entropy (``from_logits``, ``label_smoothing`` as the loss)."""

    def __init__(self, name: str = "binary_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0):
        super().__init__(_losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing


class CategoricalCrossentropy(_LossMean):
    """The Mean of categorical cross-entropy for one-hot labels."""

    def __init__(self, name: str = "categorical_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1):
        super().__init__(_losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(_LossMean):
    """The Mean of sparse categorical cross-entropy for integer labels (``ignore_class`` entries weigh 0 when
    sample weights are given, and count as 0 otherwise, as in Keras)."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype=None, from_logits: bool = False,
                 ignore_class: int | None = None, axis: int = -1):
        super().__init__(_losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis


class KLDivergence(_LossMean):
    """The Mean of Σ y·log(y/ŷ)."""

    def __init__(self, name: str = "kl_divergence", dtype=None):
        super().__init__(_losses.kl_divergence, name=name, dtype=dtype)


class Poisson(_LossMean):
    """The Mean of mean(ŷ − y·log(ŷ + ε))."""

    def __init__(self, name: str = "poisson", dtype=None):
        super().__init__(_losses.poisson, name=name, dtype=dtype)


class Hinge(_LossMean):
    """The Mean of mean(max(1 − y·ŷ, 0)) (0/1 labels mapped to −1/1)."""

    def __init__(self, name: str = "hinge", dtype=None):
        super().__init__(_losses.hinge, name=name, dtype=dtype)


class SquaredHinge(_LossMean):
    """The Mean of mean(max(1 − y·ŷ, 0)²)."""

    def __init__(self, name: str = "squared_hinge", dtype=None):
        super().__init__(_losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_LossMean):
    """The Mean of max(max_{c≠y} ŷ_c − ŷ_y + 1, 0)."""

    def __init__(self, name: str = "categorical_hinge", dtype=None):
        super().__init__(_losses.categorical_hinge, name=name, dtype=dtype)


CLASSES = (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
           SquaredHinge, CategoricalHinge)

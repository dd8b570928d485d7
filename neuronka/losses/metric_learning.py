"""Metric-learning losses: the Circle loss over a batch of embeddings."""
from __future__ import annotations

import numpy

from ..autograd import Tensor, _as_array
from ..backend import get_array_module
from ..ops import math as m
from ..ops.activations import softplus
from ..ops.losses import float_tensor, masked_logsumexp
from .loss import Loss, LossFunctionWrapper


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal: bool = True, gamma: float = 80,
           margin: float = 0.4) -> Tensor:
    """Circle loss (Sun et al., 2020) of each embedding ŷ_i (rows, expected unit-norm) against the reference
    embeddings (default: ŷ itself) with integer labels y.

    d_ij = max(1 − ŷ_i·r_j, 0) (cosine distance); positives P (same label, the diagonal left out when
    ``remove_diagonal``), negatives N (other labels):

        L_i = softplus( LSE_{j∈P} −γ [m + d_ij]₊ (m − d_ij)  +  LSE_{j∈N} γ [1 + m − d_ij]₊ (1 − m − d_ij) )

    The result carries L_i > 0 as its Keras mask (rows without positives or negatives give 0 and are left
    out of a Loss's average).
    """
    y_pred = float_tensor(y_pred)
    labels = numpy.asarray(_as_array(y_true)).astype(numpy.int32)
    ref = y_pred if ref_embeddings is None else float_tensor(ref_embeddings, y_pred.dtype)
    ref_lab = labels if ref_labels is None else numpy.asarray(_as_array(ref_labels)).astype(numpy.int32)
    distances = m.maximum(m.subtract(1.0, m.matmul(y_pred, m.transpose(ref))), 0.0)
    xp = get_array_module(y_pred.data)
    positive = xp.asarray(labels.reshape(-1, 1) == ref_lab.reshape(1, -1))
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~xp.eye(labels.size, ref_lab.size, dtype=bool)
    pos_weights = m.maximum(m.multiply(m.add(distances, margin), positive.astype(y_pred.dtype)), 0.0)
    neg_weights = m.maximum(m.multiply(m.subtract(1.0 + margin, distances), negative.astype(y_pred.dtype)), 0.0)
    pos_terms = m.multiply(m.multiply(pos_weights, m.subtract(margin, distances)), -float(gamma))
    neg_terms = m.multiply(m.multiply(neg_weights, m.subtract(1.0 - margin, distances)), float(gamma))
    loss = softplus(m.add(masked_logsumexp(pos_terms, positive), masked_logsumexp(neg_terms, negative)))
    loss._keras_mask = loss.data > 0
    return loss


class Circle(LossFunctionWrapper):
    """The Circle loss of each embedding of the batch against the others (see :func:`circle`), averaged over the
    embeddings whose loss is positive."""

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction="sum_over_batch_size", name: str = "circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal


CLASSES: tuple[type[Loss], ...] = (Circle,)
FUNCTIONS = (circle,)

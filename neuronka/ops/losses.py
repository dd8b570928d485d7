"""Loss functions as differentiable ops: per-sample values, reduced by the caller.

Each returns one value per sample (the mean over the last axis where Keras
takes one); :mod:`neuronka.losses` wraps them in Keras's classes with
``reduction``. Cross-entropies have a fused Function so that softmax + log and
its derivative (p − y) stay stable for large logits.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, _as_array, as_tensor, unbroadcast
from ..backend import get_array_module
from . import math as m
from .activations import log_softmax, sigmoid

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [ε, 1 − ε]


def _targets_like(y_true, y_pred: Tensor) -> Tensor:
    """y_true in y_pred's dtype (Keras casts targets to the predictions' dtype; no float64 leak, no int math)."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype == y_pred.dtype else m.cast(y_true, y_pred.dtype)
    return Tensor(_as_array(y_true).astype(y_pred.dtype, copy=False))


def _squeeze_or_expand(x, axis_op):
    if isinstance(x, Tensor):
        return m.squeeze(x, axis=-1) if axis_op == "squeeze" else m.expand_dims(x, -1)
    xp = get_array_module(x)
    return xp.squeeze(x, axis=-1) if axis_op == "squeeze" else xp.expand_dims(x, -1)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's rank alignment: where the ranks differ by one and the longer ends in 1, drop that axis
    (or, when the shorter is rank 1, add a trailing 1 to it). Works on Tensors (keeping the graph) and arrays."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _squeeze_or_expand(x2, "expand")
        else:
            x1 = _squeeze_or_expand(x1, "squeeze")
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = _squeeze_or_expand(x1, "expand")
        else:
            x2 = _squeeze_or_expand(x2, "squeeze")
    return x1, x2


def _regression_inputs(y_true, y_pred):
    y_pred = as_tensor(y_pred)
    return squeeze_or_expand_to_same_rank(_targets_like(y_true, y_pred), y_pred)


def mean_squared_error(y_true, y_pred) -> Tensor:
    """mean((y − ŷ)²) over the last axis; d/dŷ = 2(ŷ − y)/n."""
    y_true, y_pred = _regression_inputs(y_true, y_pred)
    return m.mean(m.square(m.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """mean(|y − ŷ|) over the last axis; d/dŷ = sign(ŷ − y)/n."""
    y_true, y_pred = _regression_inputs(y_true, y_pred)
    return m.mean(m.abs(m.subtract(y_pred, y_true)), axis=-1)


class _Huber(Function):
    def forward(self, y_true, y_pred):
        xp = get_array_module(y_pred)
        self.shapes = y_true.shape, y_pred.shape
        self.d = y_pred - y_true
        a = xp.abs(self.d)
        self.small = a <= self.delta
        return xp.where(self.small, 0.5 * self.d * self.d, self.delta * a - 0.5 * self.delta**2).mean(axis=-1)

    def backward(self, gy):  # d/dŷ = d if |d| ≤ δ else δ·sign(d), over n
        xp = get_array_module(gy)
        n = self.d.shape[-1]
        g = xp.where(self.small, self.d, self.delta * xp.sign(self.d)) * (gy[..., None] / n)
        return unbroadcast(-g, self.shapes[0]), unbroadcast(g, self.shapes[1])


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """½d² if |d| ≤ δ else δ(|d| − ½δ), d = ŷ − y, averaged over the last axis."""
    y_true, y_pred = _regression_inputs(y_true, y_pred)
    return _Huber.apply(y_true, y_pred, delta=float(delta))


class _SoftmaxCrossEntropy(Function):
    """−Σ y·log softmax(z): forward and the fused derivative softmax(z) − y."""

    def forward(self, y_true, logits):
        xp = get_array_module(logits)
        z = logits - logits.max(axis=self.axis, keepdims=True)
        log_p = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        self.log_p, self.y = log_p, y_true
        return -(y_true * log_p).sum(axis=self.axis)

    def backward(self, gy):  # dL/dz = (softmax(z)·Σy − y)·gy ; dL/dy = −log p·gy
        xp = get_array_module(gy)
        g = xp.expand_dims(gy, self.axis)
        p = xp.exp(self.log_p)
        g_logits = (p * self.y.sum(axis=self.axis, keepdims=True) - self.y) * g
        g_true = -self.log_p * g if self.inputs[0].requires_grad else None
        return g_true, g_logits


class _SparseSoftmaxCrossEntropy(Function):
    """−log softmax(z)[label], without building the one-hot matrix."""

    def forward(self, logits):
        xp = get_array_module(logits)
        z = logits - logits.max(axis=-1, keepdims=True)
        log_p = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
        self.log_p = log_p
        return -xp.take_along_axis(log_p, self.labels[..., None], axis=-1)[..., 0]

    def backward(self, gy):  # dL/dz = softmax(z) − onehot(label)
        xp = get_array_module(gy)
        g = xp.exp(self.log_p)
        idx = self.labels[..., None]
        xp.put_along_axis(g, idx, xp.take_along_axis(g, idx, axis=-1) - 1, axis=-1)
        return g * gy[..., None]


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """−Σ_c y_c log p_c. With ``label_smoothing`` ε: y ← y(1 − ε) + ε/C.

    ``from_logits=False`` takes probabilities (renormalised and clipped to
    [ε, 1 − ε], as Keras does); ``True`` takes logits and is exact and stable.
    """
    y_true = as_tensor(y_true)
    y_pred = as_tensor(y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"categorical_crossentropy: expected y_true of the shape of y_pred {tuple(y_pred.shape)} "
            f"(one-hot labels), received {tuple(y_true.shape)}; integer labels need sparse_categorical_crossentropy"
        )
    y = y_true.data.astype(y_pred.dtype, copy=False)
    if label_smoothing:
        n = y.shape[axis]
        y = y * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        return _SoftmaxCrossEntropy.apply(y, y_pred, axis=axis)
    p = m.divide(y_pred, m.sum(y_pred, axis=axis, keepdims=True))
    p = m.clip(p, EPSILON, 1 - EPSILON)
    return m.negative(m.sum(m.multiply(y, m.log(p)), axis=axis))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False, axis: int = -1,
                                    ignore_class=None) -> Tensor:
    """−log p[label] for integer labels (shape of y_pred without its class axis, or with a trailing 1).

    ``ignore_class``: labels equal to it give loss 0 and no gradient; the result carries
    the valid positions as its Keras mask (``_keras_mask``), so that the Keras loss
    reduction averages over the valid entries only.
    """
    y_pred = as_tensor(y_pred)
    xp = get_array_module(y_pred.data)
    if axis % y_pred.ndim != y_pred.ndim - 1:  # bring the class axis last
        perm = [i for i in range(y_pred.ndim) if i != axis % y_pred.ndim] + [axis % y_pred.ndim]
        y_pred = m.transpose(y_pred, perm)
    labels = xp.asarray(getattr(y_true, "data", y_true))
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse_categorical_crossentropy: expected integer labels of shape {tuple(y_pred.shape[:-1])}, "
            f"received shape {tuple(labels.shape)}"
        )
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = xp.where(valid, labels, 0)
    labels = labels.astype(xp.int64)
    n = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise ValueError(f"sparse_categorical_crossentropy: labels must lie in [0, {n}) for {n} classes"
                         f"{'' if ignore_class is None else f' (or equal ignore_class={ignore_class!r})'}, "
                         f"received values in [{labels.min()}, {labels.max()}]")
    if from_logits:
        res = _SparseSoftmaxCrossEntropy.apply(y_pred, labels=labels)
    else:
        p = m.divide(y_pred, m.sum(y_pred, axis=-1, keepdims=True))
        p = m.clip(p, EPSILON, 1 - EPSILON)
        res = m.negative(m.log(m.take_along_last(p, labels)))
    if valid is not None:
        res = m.where(valid, res, 0.0)
        res._keras_mask = valid
    return res


class _SigmoidCrossEntropy(Function):
    """Binary cross-entropy on logits: max(z,0) − z·y + log(1 + e^−|z|)."""

    def forward(self, y_true, logits):
        xp = get_array_module(logits)
        self.y, self.z = y_true, logits
        return xp.maximum(logits, 0) - logits * y_true + xp.log1p(xp.exp(-xp.abs(logits)))

    def backward(self, gy):  # dL/dz = σ(z) − y ; dL/dy = −z
        s = sigmoid(self.z).data
        g_true = -self.z * gy if self.inputs[0].requires_grad else None
        return g_true, (s - self.y) * gy


def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """−[y log p + (1 − y) log(1 − p)], averaged over ``axis``. Smoothing: y ← y(1 − ε) + ε/2.

    ``from_logits=False`` clips p to [ε, 1 − ε] (Keras); ``True`` uses the stable form on logits z:
    max(z, 0) − zy + log(1 + e^−|z|), with derivative σ(z) − y.
    """
    y_pred = as_tensor(y_pred)
    y = as_tensor(y_true).data.astype(y_pred.dtype, copy=False)
    if y.shape != y_pred.shape:
        raise ValueError(f"binary_crossentropy: expected y_true of shape {tuple(y_pred.shape)}, "
                         f"received {tuple(y.shape)}")
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return m.mean(_SigmoidCrossEntropy.apply(y, y_pred), axis=axis)
    p = m.clip(y_pred, EPSILON, 1 - EPSILON)
    ll = m.add(m.multiply(y, m.log(p)), m.multiply(1.0 - y, m.log(m.subtract(1.0, p))))
    return m.negative(m.mean(ll, axis=axis))


def kl_divergence(y_true, y_pred) -> Tensor:
    """Σ y log(y/ŷ) over the last axis, both clipped to [ε, 1] (Keras's ``KLDivergence``)."""
    p = as_tensor(y_pred)
    y = m.clip(_targets_like(y_true, p), EPSILON, 1.0)
    p = m.clip(p, EPSILON, 1.0)
    return m.sum(m.multiply(y, m.log(m.divide(y, p))), axis=-1)


# the log-softmax path is re-exported so that users can build their own NLL losses
__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "huber",
    "kl_divergence",
    "log_softmax",
    "mean_absolute_error",
    "mean_squared_error",
    "sparse_categorical_crossentropy",
    "squeeze_or_expand_to_same_rank",
]

"""The cross-entropies of ``keras.ops.nn`` and the fused pieces of loss math, each with its derivative.

``keras.ops`` names (elementwise, no reduction; Keras's argument names ``target``, ``output``):

    binary_crossentropy(t, o)             −[t·log p + (1 − t)·log(1 − p)]  elementwise
    categorical_crossentropy(t, o, axis)  −Σ_c t_c·log p_c                 over ``axis``
    sparse_categorical_crossentropy       −log p[t]                        over ``axis``, t integer labels

``p`` is ``o`` clipped to [ε, 1 − ε] (renormalised over ``axis`` for the categorical ones), or the
sigmoid / softmax of ``o`` when ``from_logits``. On logits the loss and its derivative (p − t) come from
one fused Function, stable for any logit. The loss functions users call (``keras.losses.*``, which
average, smooth labels and weigh) live in :mod:`neuronka.losses` and are built from these and from the
other ops, each of which has its own backward.
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor, _as_array, as_tensor, unbroadcast
from ..backend import floatx, get_array_module
from . import math as m
from .activations import log_softmax

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [ε, 1 − ε]


# ----------------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------------
def _squeeze_or_expand(x, axis_op):
    if isinstance(x, Tensor):
        return m.squeeze(x, axis=-1) if axis_op == "squeeze" else m.expand_dims(x, -1)
    xp = get_array_module(x)
    return xp.squeeze(x, axis=-1) if axis_op == "squeeze" else xp.expand_dims(x, -1)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's rank alignment: where the ranks differ by one and the longer ends in 1, drop that axis
    (or, when the shorter is rank 1 and ``expand_rank_1``, add a trailing 1 to it). Works on Tensors
    (keeping the graph) and on arrays."""
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


def float_tensor(x, dtype=None) -> Tensor:
    """``x`` as a Tensor of a float dtype: ``dtype`` if given, else its own float dtype (integers and
    booleans become ``floatx()``). A Tensor is cast inside the graph so its gradient flows."""
    t = as_tensor(x)
    if dtype is None:
        dtype = t.dtype if t.dtype.kind == "f" else numpy.dtype(floatx())
    return t if t.dtype == dtype else m.cast(t, dtype)


def like(y, ref: Tensor) -> Tensor:
    """``y`` in ``ref``'s dtype (Keras casts the targets to the predictions' dtype)."""
    return float_tensor(y, ref.dtype)


def _class_axis(axis, ndim: int, op: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer)):
        raise ValueError(f"{op}: `axis` must be of type `int`; received axis={axis!r} of type {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: expected axis in [-{ndim}, {ndim}) for an output of rank {ndim}, "
                         f"received axis={axis}")
    return int(axis) % ndim


# ----------------------------------------------------------------------------------------------
# fused Functions
# ----------------------------------------------------------------------------------------------
class SigmoidCrossEntropy(Function):
    """−[t log σ(z) + (1 − t) log(1 − σ(z))] = max(z, 0) − z·t + log(1 + e^−|z|), elementwise."""

    def forward(self, target, logits):
        xp = get_array_module(logits)
        self.t, self.z = target, logits
        return xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))

    def backward(self, gy):  # dL/dz = σ(z) − t ; dL/dt = −z
        xp = get_array_module(gy)
        sigma = 0.5 * (1.0 + xp.tanh(0.5 * self.z))  # σ(z), overflow-free
        g_target = unbroadcast(-self.z * gy, self.t.shape) if self.inputs[0].requires_grad else None
        return g_target, unbroadcast((sigma - self.t) * gy, self.z.shape)


class SoftmaxCrossEntropy(Function):
    """−Σ_c t_c·log softmax(z)_c over ``axis``."""

    def forward(self, target, logits):
        xp = get_array_module(logits)
        z = logits - logits.max(axis=self.axis, keepdims=True)
        self.log_p = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        self.t = target
        return -(target * self.log_p).sum(axis=self.axis)

    def backward(self, gy):  # dL/dz = (softmax(z)·Σt − t)·gy ; dL/dt = −log p·gy
        xp = get_array_module(gy)
        g = xp.expand_dims(gy, self.axis)
        g_logits = (xp.exp(self.log_p) * self.t.sum(axis=self.axis, keepdims=True) - self.t) * g
        g_target = -self.log_p * g if self.inputs[0].requires_grad else None
        return g_target, g_logits


class SparseSoftmaxCrossEntropy(Function):
    """−log softmax(z)[label] over the last axis, without building the one-hot matrix."""

    def forward(self, logits):
        xp = get_array_module(logits)
        z = logits - logits.max(axis=-1, keepdims=True)
        self.log_p = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
        return -xp.take_along_axis(self.log_p, self.labels[..., None], axis=-1)[..., 0]

    def backward(self, gy):  # dL/dz = softmax(z) − onehot(label)
        xp = get_array_module(gy)
        g = xp.exp(self.log_p)
        idx = self.labels[..., None]
        xp.put_along_axis(g, idx, xp.take_along_axis(g, idx, axis=-1) - 1, axis=-1)
        return g * gy[..., None]


class LogCosh(Function):
    """log(cosh(x)) = |x| + log(1 + e^−2|x|) − log 2, elementwise (no overflow for large |x|)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        a = xp.abs(x)
        return a + xp.log1p(xp.exp(-2.0 * a)) - x.dtype.type(math.log(2.0))

    def backward(self, gy):  # d log cosh(x)/dx = tanh(x)
        return gy * get_array_module(gy).tanh(self.x)


class Huber(Function):
    """½d² where |d| ≤ δ, else δ(|d| − ½δ), with d = ŷ − y, averaged over the last axis."""

    def forward(self, y_true, y_pred):
        xp = get_array_module(y_pred)
        self.shapes = y_true.shape, y_pred.shape
        self.d = y_pred - y_true
        a = xp.abs(self.d)
        self.small = a <= self.delta
        half = self.d.dtype.type(0.5)
        return xp.where(self.small, half * self.d * self.d, self.delta * a - half * self.delta ** 2).mean(axis=-1)

    def backward(self, gy):  # dL/dŷ = d if |d| ≤ δ else δ·sign(d), over n ; dL/dy = −dL/dŷ
        xp = get_array_module(gy)
        n = self.d.shape[-1]
        g = xp.where(self.small, self.d, self.delta * xp.sign(self.d)) * (gy[..., None] / n)
        return unbroadcast(-g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class MaskedLogSumExp(Function):
    """log Σ_{j: mask_ij} e^{x_ij} along the last axis; −∞ on rows with no valid entry."""

    def forward(self, x):
        xp = get_array_module(x)
        masked = xp.where(self.mask, x, -xp.inf)
        top = masked.max(axis=-1, keepdims=True)
        safe_top = xp.where(xp.isfinite(top), top, 0)
        e = xp.where(self.mask, xp.exp(masked - safe_top), 0)
        s = e.sum(axis=-1, keepdims=True)
        self.weights = xp.divide(e, s, out=xp.zeros_like(e), where=s > 0)  # softmax over the valid entries
        with numpy.errstate(divide="ignore"):
            return (xp.log(s) + safe_top)[..., 0]

    def backward(self, gy):  # d LSE/dx_ij = softmax_j over the valid entries (0 elsewhere)
        return self.weights * gy[..., None]


def masked_logsumexp(x, mask) -> Tensor:
    """log Σ exp(x) over the entries of the last axis where ``mask`` holds (−∞ where none does)."""
    return MaskedLogSumExp.apply(x, mask=_as_array(mask).astype(bool))


# ----------------------------------------------------------------------------------------------
# keras.ops.nn cross-entropies
# ----------------------------------------------------------------------------------------------
def binary_crossentropy(target, output, from_logits: bool = False) -> Tensor:
    """Elementwise −[t·log p + (1 − t)·log(1 − p)], with p = clip(output, ε, 1 − ε), or σ(output) when
    ``from_logits`` (then computed as max(z, 0) − z·t + log(1 + e^−|z|); derivative σ(z) − t)."""
    output = float_tensor(output)
    target = like(target, output)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"binary_crossentropy: arguments `target` and `output` must have the same shape; "
                         f"received target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    if from_logits:
        return SigmoidCrossEntropy.apply(target, output)
    p = m.clip(output, EPSILON, 1.0 - EPSILON)
    log_likelihood = m.add(m.multiply(target, m.log(p)), m.multiply(m.subtract(1.0, target), m.log(m.subtract(1.0, p))))
    return m.negative(log_likelihood)


def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1) -> Tensor:
    """−Σ_c t_c·log p_c over ``axis``: p = softmax(output) when ``from_logits`` (fused; derivative
    softmax·Σt − t), else output / Σ output clipped to [ε, 1 − ε]."""
    output = float_tensor(output)
    target = like(target, output)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(
            f"categorical_crossentropy: arguments `target` and `output` must have the same shape; expected "
            f"target of shape {tuple(output.shape)} (one-hot labels), received {tuple(target.shape)}; "
            f"integer labels need sparse_categorical_crossentropy"
        )
    if output.ndim < 1:
        raise ValueError(f"categorical_crossentropy: arguments `target` and `output` must be at least rank 1; "
                         f"received shape {tuple(output.shape)}")
    axis = _class_axis(axis, output.ndim, "categorical_crossentropy")
    if from_logits:
        return SoftmaxCrossEntropy.apply(target, output, axis=axis)
    p = m.clip(m.divide(output, m.sum(output, axis=axis, keepdims=True)), EPSILON, 1.0 - EPSILON)
    return m.negative(m.sum(m.multiply(target, m.log(p)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1) -> Tensor:
    """−log p[t] over the class ``axis``, t integer labels of ``output``'s shape without that axis (or with
    it of size 1). p = softmax(output) when ``from_logits`` (fused; derivative softmax − onehot(t)), else
    output / Σ output clipped to [ε, 1 − ε]."""
    output = float_tensor(output)
    if output.ndim < 1:
        raise ValueError(f"sparse_categorical_crossentropy: argument `output` must be at least rank 1; received "
                         f"shape {tuple(output.shape)}")
    axis = _class_axis(axis, output.ndim, "sparse_categorical_crossentropy")
    labels = numpy.asarray(_as_array(target))
    if labels.ndim == output.ndim and labels.shape[axis] == 1:
        labels = numpy.squeeze(labels, axis=axis)
    if axis != output.ndim - 1:  # bring the class axis last
        output = m.transpose(output, [i for i in range(output.ndim) if i != axis] + [axis])
    if labels.shape != tuple(output.shape[:-1]):
        raise ValueError(
            f"sparse_categorical_crossentropy: expected integer labels of shape {tuple(output.shape[:-1])}, "
            f"received shape {tuple(labels.shape)}"
        )
    n = output.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise ValueError(f"sparse_categorical_crossentropy: labels must lie in [0, {n}) for {n} classes, "
                         f"received values in [{labels.min()}, {labels.max()}]")
    labels = labels.astype(numpy.int64)
    if from_logits:
        return SparseSoftmaxCrossEntropy.apply(output, labels=labels)
    p = m.clip(m.divide(output, m.sum(output, axis=-1, keepdims=True)), EPSILON, 1.0 - EPSILON)
    return m.negative(m.log(m.take_along_last(p, labels)))


__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "log_softmax",
    "masked_logsumexp",
    "sparse_categorical_crossentropy",
    "squeeze_or_expand_to_same_rank",
]

"""Activation functions A(x) and their derivatives A'(x), side by side.

Each class's ``forward`` computes A(x) and its ``backward`` multiplies the
incoming gradient by A'(x) (the chain rule: dL/dx = dL/dy · A'(x)). Every
formula is written so that float32 stays finite for |x| up to 1e4
(``exponential`` excepted: e^x overflows float32 above x ≈ 88, as in Keras).

The public functions take Keras's ``keras.ops`` names and defaults. Integer and
boolean inputs give ``floatx()`` results, except for the piecewise-linear ops that
Keras keeps integer (relu, relu6, hard_tanh, threshold). The activations acting
along an axis (softmax, log_softmax, sparsemax, glu) follow the elementwise ones.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy

from ..autograd import Function, Tensor, _as_array, as_tensor, unbroadcast
from ..backend import floatx, get_array_module
from . import kernels


def _floats(x):
    """``x`` itself when it is floating; ints and bools (arrays, Tensors, Python numbers) as ``floatx()``."""
    a = x.data if isinstance(x, Tensor) else x
    dtype = getattr(a, "dtype", None)
    if dtype is None:
        a = _as_array(a)
        dtype = a.dtype
    return a.astype(floatx()) if dtype.kind in "biu" else x


# linear: A(x) = x, A'(x) = 1
def linear(x) -> Tensor:
    """A(x) = x; A'(x) = 1."""
    return as_tensor(x)


class Sigmoid(Function):
    def forward(self, x):
        xp = get_array_module(x)
        # σ(x) = 1/(1+e^-x) = e^x/(1+e^x); choose the form whose exponent is ≤ 0
        e = xp.exp(-xp.abs(x))
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.y

    def backward(self, gy):  # σ'(x) = σ(x)(1 − σ(x)): keep only the output
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):  # tanh'(x) = 1 − tanh²(x)
        return gy * (1 - self.y * self.y)


class Relu(Function):
    def forward(self, x):  # keeps its output only: y > 0 ⇔ x > 0
        self.y = kernels.relu(x) if kernels.usable(x) else get_array_module(x).maximum(x, 0)
        return self.y

    def backward(self, gy):  # ReLU'(x) = 1 if x > 0 else 0
        if kernels.usable(gy, self.y):
            return kernels.relu_grad(gy, self.y)
        return gy * (self.y > 0)


class AddRelu(Function):
    """y = max(a + b, 0): an Add layer and the ReLU after it (the end of a residual block) in one pass."""

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        if a.shape == b.shape and kernels.usable(a, b):
            self.y = kernels.add_relu(a, b)
        else:
            y = a + b
            self.y = get_array_module(y).maximum(y, 0, out=y)
        return self.y

    def backward(self, gy):  # d max(a + b, 0)/da = d/db = 1 where a + b > 0, else 0
        g = kernels.relu_grad(gy, self.y) if kernels.usable(gy, self.y) else gy * (self.y > 0)
        return unbroadcast(g, self.sa), unbroadcast(g, self.sb)


class LeakyRelu(Function):
    def forward(self, x):
        self.positive = x > 0
        return get_array_module(x).where(self.positive, x, x * self.negative_slope)

    def backward(self, gy):  # A(x) = x if x > 0 else αx; A'(x) = 1 if x > 0 else α
        return get_array_module(gy).where(self.positive, gy, gy * self.negative_slope)


class Relu6(Function):
    def forward(self, x):
        self.inside = (x > 0) & (x < 6)
        return get_array_module(x).clip(x, 0, 6)

    def backward(self, gy):  # A(x) = min(max(x, 0), 6); A'(x) = 1 on (0, 6) else 0
        return gy * self.inside


class Elu(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        self.em1 = xp.expm1(xp.minimum(x, 0))  # e^x − 1 on the negative side
        return xp.where(self.positive, x, self.alpha * self.em1)

    def backward(self, gy):  # A(x) = x if x > 0 else α(e^x − 1); A'(x) = 1 or α e^x
        return get_array_module(gy).where(self.positive, gy, gy * self.alpha * (self.em1 + 1))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Selu(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        self.em1 = xp.expm1(xp.minimum(x, 0))
        return (SELU_SCALE * xp.where(self.positive, x, SELU_ALPHA * self.em1)).astype(x.dtype, copy=False)

    def backward(self, gy):  # A'(x) = λ if x > 0 else λα e^x
        xp = get_array_module(gy)
        return (SELU_SCALE * xp.where(self.positive, gy, gy * SELU_ALPHA * (self.em1 + 1))).astype(gy.dtype, copy=False)


def _erf(xp, x):
    if hasattr(xp, "special"):  # pragma: no cover - cupy has cupyx.scipy.special instead
        return xp.special.erf(x)
    try:
        from scipy.special import erf  # noqa: PLC0415

        return erf(x).astype(x.dtype, copy=False)
    except ImportError:  # pragma: no cover
        return xp.vectorize(math.erf)(x).astype(x.dtype)


class Gelu(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        if self.approximate:
            # 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
            c = math.sqrt(2 / math.pi)
            self.t = xp.tanh(c * (x + 0.044715 * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf(xp, x / math.sqrt(2)))  # Φ(x)
        return x * self.cdf

    def backward(self, gy):
        xp = get_array_module(gy)
        x = self.x
        if self.approximate:
            # d/dx = 0.5(1+t) + 0.5x(1−t²)·√(2/π)(1 + 3·0.044715x²)
            c = math.sqrt(2 / math.pi)
            return gy * (0.5 * (1 + self.t) + 0.5 * x * (1 - self.t * self.t) * c * (1 + 3 * 0.044715 * x * x))
        # exact: d/dx xΦ(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
        pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return gy * (self.cdf + x * pdf)


class Silu(Function):
    def forward(self, x):
        self.x = x
        self.s = Sigmoid().forward(x)
        return x * self.s

    def backward(self, gy):  # A(x) = xσ(x); A'(x) = σ(x)(1 + x(1 − σ(x)))
        return gy * self.s * (1 + self.x * (1 - self.s))


class Softplus(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        # ln(1 + e^x) = max(x, 0) + ln(1 + e^−|x|)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):  # A'(x) = σ(x)
        return gy * Sigmoid().forward(self.x)


class Softsign(Function):
    def forward(self, x):
        self.d = 1 + get_array_module(x).abs(x)
        return x / self.d

    def backward(self, gy):  # A(x) = x/(1+|x|); A'(x) = 1/(1+|x|)²
        return gy / (self.d * self.d)


class HardSigmoid(Function):
    def forward(self, x):
        # Keras 3: relu6(x + 3) / 6
        self.inside = (x > -3) & (x < 3)
        return get_array_module(x).clip(x / 6 + 0.5, 0, 1)

    def backward(self, gy):  # A'(x) = 1/6 on (−3, 3) else 0
        return gy * self.inside * (1 / 6)


class HardSilu(Function):
    def forward(self, x):
        self.x = x
        return x * get_array_module(x).clip(x / 6 + 0.5, 0, 1)  # x·relu6(x + 3)/6

    def backward(self, gy):  # A'(x) = 0 for x < −3, 1 for x > 3, (2x + 3)/6 between
        xp = get_array_module(gy)
        x = self.x
        return xp.where(x < -3, 0, xp.where(x > 3, gy, gy * (x / 3 + 0.5))).astype(gy.dtype, copy=False)


class HardTanh(Function):
    def forward(self, x):
        self.inside = (x > -1) & (x < 1)
        return get_array_module(x).clip(x, -1, 1)

    def backward(self, gy):  # A(x) = clip(x, −1, 1); A'(x) = 1 on (−1, 1) else 0
        return gy * self.inside


class HardShrink(Function):
    def forward(self, x):
        self.outside = get_array_module(x).abs(x) > self.threshold
        return x * self.outside

    def backward(self, gy):  # A(x) = x if |x| > λ else 0; A'(x) = [|x| > λ]
        return gy * self.outside


class SoftShrink(Function):
    def forward(self, x):
        lam = self.threshold
        self.outside = get_array_module(x).abs(x) > lam
        return x - get_array_module(x).clip(x, -lam, lam)  # x ∓ λ outside [−λ, λ], else 0

    def backward(self, gy):  # A'(x) = [|x| > λ]
        return gy * self.outside


class TanhShrink(Function):
    def forward(self, x):
        self.t = get_array_module(x).tanh(x)
        return x - self.t

    def backward(self, gy):  # A(x) = x − tanh x; A'(x) = 1 − (1 − tanh²x) = tanh²x
        return gy * self.t * self.t


class Threshold(Function):
    def forward(self, x):
        self.keep = x > self.threshold
        return get_array_module(x).where(self.keep, x, x.dtype.type(self.default_value))

    def backward(self, gy):  # A(x) = x if x > θ else v; A'(x) = [x > θ]
        return gy * self.keep


class Celu(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        self.em1 = xp.expm1(xp.minimum(x, 0) / self.alpha)  # e^(x/α) − 1 on the negative side
        return xp.where(self.positive, x, self.alpha * self.em1).astype(x.dtype, copy=False)

    def backward(self, gy):  # A(x) = x if x > 0 else α(e^(x/α) − 1); A'(x) = 1 or e^(x/α)
        return get_array_module(gy).where(self.positive, gy, gy * (self.em1 + 1)).astype(gy.dtype, copy=False)


class LogSigmoid(Function):
    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))  # e^−|x| ≤ 1: no overflow
        self.sig_neg = xp.where(x >= 0, e / (1 + e), 1 / (1 + e)).astype(x.dtype, copy=False)  # σ(−x)
        return xp.minimum(x, 0) - xp.log1p(e)  # log σ(x) = −softplus(−x) = min(x, 0) − ln(1 + e^−|x|)

    def backward(self, gy):  # A'(x) = 1 − σ(x) = σ(−x)
        return gy * self.sig_neg


class Mish(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        self.s = Sigmoid().forward(x)
        self.t = xp.tanh(xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x))))  # tanh(softplus(x))
        return x * self.t

    def backward(self, gy):  # A(x) = x·tanh(sp(x)); A'(x) = tanh(sp) + x·(1 − tanh²(sp))·σ(x), sp' = σ
        t = self.t
        return gy * (t + self.x * (1 - t * t) * self.s)


class Exponential(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):  # A(x) = e^x; A'(x) = e^x
        return gy * self.y


class SparsePlus(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.c1 = xp.clip(x, -1, 1) + 1  # x + 1 on [−1, 1], 0 below, 2 above
        self.linear = x >= 1
        return xp.where(self.linear, x, self.c1 * self.c1 * 0.25).astype(x.dtype, copy=False)

    def backward(self, gy):  # A(x) = 0 | (x + 1)²/4 | x; A'(x) = 0 | (x + 1)/2 | 1 (x ≤ −1 | −1 < x < 1 | x ≥ 1)
        xp = get_array_module(gy)
        return xp.where(self.linear, gy, gy * self.c1 * 0.5).astype(gy.dtype, copy=False)


class SparseSigmoid(Function):
    def forward(self, x):
        self.inside = (x > -1) & (x < 1)
        return (get_array_module(x).clip(x, -1, 1) + 1) * 0.5

    def backward(self, gy):  # A(x) = (clip(x, −1, 1) + 1)/2; A'(x) = ½ on (−1, 1) else 0
        return gy * self.inside * 0.5


class Squareplus(Function):
    def forward(self, x):
        xp = get_array_module(x)
        b = self.b
        self.r = xp.sqrt(x * x + b)  # r = √(x² + b)
        # (x + r)/2, written b/(2(r − x)) for x < 0, where x + r cancels
        with numpy.errstate(divide="ignore", invalid="ignore"):
            self.y = xp.where(x >= 0, (x + self.r) * 0.5, b / (2 * (self.r - x))).astype(x.dtype, copy=False)
        return self.y

    def backward(self, gy):  # A'(x) = (1 + x/r)/2 = (r + x)/(2r) = A(x)/r
        return gy * self.y / self.r


class Softmax(Function):
    def forward(self, x):
        xp = get_array_module(x)
        z = x - x.max(axis=self.axis, keepdims=True)  # shift: e^(x−m) never overflows
        e = xp.exp(z)
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, gy):  # dL/dx = y ⊙ (gy − Σ gy·y)
        return self.y * (gy - (gy * self.y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x):
        xp = get_array_module(x)
        z = x - x.max(axis=self.axis, keepdims=True)
        self.y = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, gy):  # dL/dx = gy − softmax(x)·Σ gy
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


class Sparsemax(Function):
    """y = max(x − τ, 0) along ``axis``, τ chosen so that Σ y = 1 (the Euclidean projection onto the simplex).

    With z sorted in decreasing order, the support size is k = max{j : 1 + j·z_j > Σ_{i≤j} z_i} and
    τ = (Σ_{i≤k} z_i − 1)/k."""

    def forward(self, x):
        xp = get_array_module(x)
        xm = xp.moveaxis(x, self.axis, -1)
        z = -xp.sort(-xm, axis=-1)  # decreasing
        csum = xp.cumsum(z, axis=-1)
        j = xp.arange(1, z.shape[-1] + 1, dtype=x.dtype)
        k = (1 + j * z > csum).sum(axis=-1, keepdims=True)  # ≥ 1: j = 1 always qualifies
        tau = (xp.take_along_axis(csum, k - 1, axis=-1) - 1) / k
        y = xp.maximum(xm - tau.astype(x.dtype, copy=False), 0)
        self.support, self.k = y > 0, k
        return xp.moveaxis(y, -1, self.axis)

    def backward(self, gy):  # on the support S: dL/dx_i = g_i − (1/|S|) Σ_{j∈S} g_j; 0 elsewhere
        xp = get_array_module(gy)
        g = xp.moveaxis(gy, self.axis, -1) * self.support
        g -= self.support * (g.sum(axis=-1, keepdims=True) / self.k).astype(gy.dtype, copy=False)
        return xp.moveaxis(g, -1, self.axis)


class Glu(Function):
    """y = a ⊙ σ(b), where x = [a, b] is split in two halves along ``axis``."""

    def forward(self, x):
        xp = get_array_module(x)
        self.a, b = xp.split(x, 2, axis=self.axis)
        self.s = Sigmoid().forward(b)
        return self.a * self.s

    def backward(self, gy):  # dL/da = g·σ(b); dL/db = g·a·σ(b)(1 − σ(b))
        xp = get_array_module(gy)
        ga = gy * self.s
        return xp.concatenate([ga, ga * self.a * (1 - self.s)], axis=self.axis)


def _check_axis(op: str, axis, ndim: int) -> None:
    if isinstance(axis, numbers.Integral) and not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op}: expected axis in [-{ndim}, {ndim}) for an input of rank {ndim}, received axis={axis}")


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else numpy.shape(x)


# ---------------------------------------------------------------------------------------------
# the keras.ops functions
# ---------------------------------------------------------------------------------------------
def sigmoid(x) -> Tensor:
    """σ(x) = 1/(1 + e^−x); σ'(x) = σ(x)(1 − σ(x))."""
    return Sigmoid.apply(_floats(x))


def tanh(x) -> Tensor:
    """tanh(x); tanh'(x) = 1 − tanh²(x)."""
    return Tanh.apply(_floats(x))


def relu(x, negative_slope: float = 0.0, max_value=None, threshold: float = 0.0) -> Tensor:
    """max(0, x); derivative 1 for x > 0, else 0. Integer inputs stay integer (as Keras).

    Keras's extra arguments (those of ``keras.activations.relu``; ``keras.ops.relu`` takes x only)
    compose other ops, as Keras does:
    A(x) = clip(x·[x > threshold], 0, max_value) − α·max(threshold − x, 0), α = ``negative_slope``.
    """
    negative_slope, threshold = float(negative_slope), float(threshold)
    if max_value is None and threshold == 0.0:
        return LeakyRelu.apply(_floats(x), negative_slope=negative_slope) if negative_slope else Relu.apply(x)
    from . import math as m  # noqa: PLC0415

    x = as_tensor(x)
    y = m.where(x.data > threshold, x, 0.0) if threshold else Relu.apply(x)  # x where x > threshold, else 0
    if max_value is not None:
        y = m.clip(y, 0.0, float(max_value))
    if negative_slope:
        y = m.subtract(y, m.multiply(Relu.apply(m.subtract(threshold, x)), negative_slope))  # slope α below
    return y


def add_relu(a, b) -> Tensor:
    """relu(a + b) as one op (the gradient g·[a + b > 0] to both); not in ``keras.ops``: ``models/fusion.py``
    uses it for an Add layer followed by a ReLU. a and b of one dtype, broadcasting as ``add``."""
    return AddRelu.apply(a, b)


def leaky_relu(x, negative_slope: float = 0.2) -> Tensor:
    """A(x) = x if x > 0 else αx; A'(x) = 1 or α.

    Keras's default α is 0.2; the notes' max(0.1x, x) is ``leaky_relu(x, 0.1)``.
    """
    return LeakyRelu.apply(_floats(x), negative_slope=float(negative_slope))


def relu6(x) -> Tensor:
    """min(max(x, 0), 6); derivative 1 on (0, 6). Integer inputs stay integer."""
    return Relu6.apply(x)


def elu(x, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else α(e^x − 1); derivative 1 or αe^x."""
    return Elu.apply(_floats(x), alpha=float(alpha))


def selu(x) -> Tensor:
    """λ·(x if x > 0 else α(e^x − 1)), λ ≈ 1.0507, α ≈ 1.6733."""
    return Selu.apply(_floats(x))


def celu(x, alpha: float = 1.0) -> Tensor:
    """CELU: A(x) = x if x > 0 else α(e^(x/α) − 1); A'(x) = 1 or e^(x/α). α ≠ 0."""
    if float(alpha) == 0.0:
        raise ValueError(f"celu: expected a non-zero alpha (it divides x), received alpha={alpha!r}")
    return Celu.apply(_floats(x), alpha=float(alpha))


def gelu(x, approximate: bool = True) -> Tensor:
    """xΦ(x) exactly, or 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (Keras's default ``approximate=True``)."""
    return Gelu.apply(_floats(x), approximate=approximate)


def silu(x) -> Tensor:
    """x·σ(x); derivative σ(x)(1 + x(1 − σ(x)))."""
    return Silu.apply(_floats(x))


swish = silu


def hard_silu(x) -> Tensor:
    """Hard SiLU (hard swish): A(x) = x·relu6(x + 3)/6; A'(x) = 0 below −3, 1 above 3, (2x + 3)/6 between."""
    return HardSilu.apply(_floats(x))


hard_swish = hard_silu


def softplus(x) -> Tensor:
    """ln(1 + e^x); derivative σ(x)."""
    return Softplus.apply(_floats(x))


def softsign(x) -> Tensor:
    """x/(1 + |x|); derivative 1/(1 + |x|)²."""
    return Softsign.apply(_floats(x))


def squareplus(x, b=4) -> Tensor:
    """Squareplus: A(x) = (x + √(x² + b))/2; A'(x) = (1 + x/√(x² + b))/2."""
    return Squareplus.apply(_floats(x), b=float(b))


def sparse_plus(x) -> Tensor:
    """SparsePlus: 0 for x ≤ −1, (x + 1)²/4 on (−1, 1), x for x ≥ 1; derivative 0, (x + 1)/2, 1."""
    return SparsePlus.apply(_floats(x))


def hard_sigmoid(x) -> Tensor:
    """clip(x/6 + 1/2, 0, 1) (Keras 3); derivative 1/6 on (−3, 3)."""
    return HardSigmoid.apply(_floats(x))


def sparse_sigmoid(x) -> Tensor:
    """Sparse sigmoid: A(x) = 0 for x ≤ −1, (x + 1)/2 on (−1, 1), 1 for x ≥ 1; A'(x) = ½ on (−1, 1)."""
    return SparseSigmoid.apply(_floats(x))


def log_sigmoid(x) -> Tensor:
    """log σ(x) = −softplus(−x), computed as min(x, 0) − ln(1 + e^−|x|); derivative σ(−x) = 1 − σ(x)."""
    return LogSigmoid.apply(_floats(x))


def hard_tanh(x) -> Tensor:
    """clip(x, −1, 1); derivative 1 on (−1, 1). Integer inputs stay integer (as Keras)."""
    return HardTanh.apply(x)


def hard_shrink(x, threshold: float = 0.5) -> Tensor:
    """Hard shrink: A(x) = x if |x| > λ else 0 (λ = ``threshold``); A'(x) = [|x| > λ]."""
    return HardShrink.apply(_floats(x), threshold=float(threshold))


def soft_shrink(x, threshold: float = 0.5) -> Tensor:
    """Soft shrink: A(x) = x − λ for x > λ, x + λ for x < −λ, else 0; A'(x) = [|x| > λ]."""
    return SoftShrink.apply(_floats(x), threshold=float(threshold))


def tanh_shrink(x) -> Tensor:
    """A(x) = x − tanh(x); A'(x) = tanh²(x)."""
    return TanhShrink.apply(_floats(x))


def threshold(x, threshold, default_value) -> Tensor:
    """A(x) = x if x > ``threshold`` else ``default_value``; A'(x) = [x > threshold]. Integers stay integer."""
    return Threshold.apply(x, threshold=threshold, default_value=default_value)


def mish(x) -> Tensor:
    """Mish (``keras.activations.mish``): A(x) = x·tanh(softplus(x));
    A'(x) = tanh(softplus(x)) + x·σ(x)·(1 − tanh²(softplus(x)))."""
    return Mish.apply(_floats(x))


def exponential(x) -> Tensor:
    """``keras.activations.exponential``: A(x) = e^x = A'(x)."""
    return Exponential.apply(_floats(x))


def softmax(x, axis=-1) -> Tensor:
    """e^(x_i) / Σ_j e^(x_j) along ``axis`` (an int, a tuple of axes, or None for all).

    Warns, as Keras, when the axis has size 1 (the result is then always 1)."""
    x = _floats(x)
    if isinstance(axis, numbers.Integral):
        shape = _shape(x)
        _check_axis("softmax", axis, len(shape))
        if shape and shape[axis] == 1:
            warnings.warn(f"softmax over axis {axis} of a tensor of shape {shape}: this axis has size 1, so the "
                          f"result is always 1; did you mean a sigmoid?", stacklevel=2)
    return Softmax.apply(x, axis=axis if axis is None or isinstance(axis, numbers.Integral) else tuple(axis))


def log_softmax(x, axis=-1) -> Tensor:
    """x_i − log Σ_j e^(x_j) along ``axis`` (an int, a tuple, or None), computed stably."""
    x = _floats(x)
    if isinstance(axis, numbers.Integral):
        _check_axis("log_softmax", axis, len(_shape(x)))
    return LogSoftmax.apply(x, axis=axis if axis is None or isinstance(axis, numbers.Integral) else tuple(axis))


def sparsemax(x, axis: int = -1) -> Tensor:
    """Sparsemax along ``axis``: y = max(x − τ, 0) with τ such that Σ y = 1 (sparse probabilities).

    Derivative on the support S = {y > 0}: dy_i/dx_j = [i, j ∈ S](δ_ij − 1/|S|).
    Keras 3.15.1 sums the cumulative sums over the support instead of taking the last one when computing
    τ, so its outputs do not sum to 1 once the support has two or more elements; neuronka computes τ as
    defined (Martins & Astudillo, 2016) and agrees with Keras where the support has one element.
    """
    x = _floats(x)
    _check_axis("sparsemax", axis, len(_shape(x)))
    return Sparsemax.apply(x, axis=int(axis))


def glu(x, axis: int = -1) -> Tensor:
    """Gated linear unit: x split in halves [a, b] along ``axis``, y = a ⊙ σ(b) (half the size along axis)."""
    x = _floats(x)
    shape = _shape(x)
    _check_axis("glu", axis, len(shape))
    if shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be divisible by 2, received x.shape={shape}")
    return Glu.apply(x, axis=int(axis))



def get(identifier):
    """Resolve an activation as ``keras.activations.get`` does (delegates to :func:`neuronka.activations.get`).

    Names resolve to the ``keras.activations`` functions, whose defaults can differ
    from the ``keras.ops`` ones here (``"gelu"`` is the exact GELU, as in Keras).
    """
    from .. import activations  # noqa: PLC0415  (the public namespace owns the name table)

    return activations.get(identifier)


def serialize(fn) -> str | dict:
    """A built-in activation's name (see :func:`neuronka.activations.serialize`)."""
    from .. import activations  # noqa: PLC0415

    return activations.serialize(fn)

"""Activation functions A(x) and their derivatives A'(x), side by side.

Each class's ``forward`` computes A(x) and its ``backward`` multiplies the
incoming gradient by A'(x) (the chain rule: dL/dx = dL/dy · A'(x)). Every
formula is written so that float32 stays finite for |x| up to 1e4.
"""
from __future__ import annotations

import math

from ..autograd import Function, Tensor, as_tensor, unbroadcast
from ..backend import get_array_module
from . import kernels


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


def sigmoid(x) -> Tensor:
    """σ(x) = 1/(1 + e^−x); σ'(x) = σ(x)(1 − σ(x))."""
    return Sigmoid.apply(x)


def tanh(x) -> Tensor:
    """tanh(x); tanh'(x) = 1 − tanh²(x)."""
    return Tanh.apply(x)


def relu(x, negative_slope: float = 0.0, max_value=None, threshold: float = 0.0) -> Tensor:
    """max(0, x); derivative 1 for x > 0, else 0.

    Keras's extra arguments compose other ops, as ``keras.activations.relu`` does:
    A(x) = clip(x·[x > threshold], 0, max_value) − α·max(threshold − x, 0), α = ``negative_slope``.
    """
    negative_slope, threshold = float(negative_slope), float(threshold)
    if max_value is None and threshold == 0.0:
        return LeakyRelu.apply(x, negative_slope=negative_slope) if negative_slope else Relu.apply(x)
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
    return LeakyRelu.apply(x, negative_slope=float(negative_slope))


def relu6(x) -> Tensor:
    """min(max(x, 0), 6)."""
    return Relu6.apply(x)


def elu(x, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else α(e^x − 1); derivative 1 or αe^x."""
    return Elu.apply(x, alpha=float(alpha))


def selu(x) -> Tensor:
    """λ·(x if x > 0 else α(e^x − 1)), λ ≈ 1.0507, α ≈ 1.6733."""
    return Selu.apply(x)


def gelu(x, approximate: bool = True) -> Tensor:
    """xΦ(x) exactly, or 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (Keras's default ``approximate=True``)."""
    return Gelu.apply(x, approximate=approximate)


def silu(x) -> Tensor:
    """x·σ(x); derivative σ(x)(1 + x(1 − σ(x)))."""
    return Silu.apply(x)


swish = silu


def softplus(x) -> Tensor:
    """ln(1 + e^x); derivative σ(x)."""
    return Softplus.apply(x)


def softsign(x) -> Tensor:
    """x/(1 + |x|); derivative 1/(1 + |x|)²."""
    return Softsign.apply(x)


def hard_sigmoid(x) -> Tensor:
    """clip(x/6 + 1/2, 0, 1) (Keras 3); derivative 1/6 on (−3, 3)."""
    return HardSigmoid.apply(x)


def softmax(x, axis: int = -1) -> Tensor:
    """e^(x_i) / Σ_j e^(x_j) along ``axis``."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """x_i − log Σ_j e^(x_j), computed stably."""
    return LogSoftmax.apply(x, axis=axis)


ACTIVATIONS = {
    "linear": linear,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "relu6": relu6,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "silu": silu,
    "swish": swish,
    "softplus": softplus,
    "softsign": softsign,
    "hard_sigmoid": hard_sigmoid,
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def get(identifier):
    """Resolve an activation as ``keras.activations.get`` does (delegates to :func:`neuronka.activations.get`).

    Names resolve to the ``keras.activations`` functions, whose defaults can differ
    from the ``keras.ops`` ones here (``"gelu"`` is the exact GELU, as in Keras).
    """
    from .. import activations  # noqa: PLC0415  (the public namespace owns the name table)

    return activations.get(identifier)


def serialize(fn) -> str | None:
    """The name of a built-in activation (see :func:`neuronka.activations.serialize`)."""
    from .. import activations  # noqa: PLC0415

    return activations.serialize(fn)

"""Activations: the functions of ``keras.activations`` (as the ``activation=`` of a layer or an ``Activation``
layer) and the activation layers ReLU, LeakyReLU, PReLU, ELU, Softmax.

Every activation is element-wise (softmax, log_softmax and glu along the last Keras axis), so it is written in
its input's own layout (no Transpose). Parameters the functions take by default (leaky_relu's slope, elu's α,
…) are read from the function's signature, so the file says what neuronka computes.
"""
from __future__ import annotations

import inspect
import math

import numpy

from .. import activations as _act
from ..layers import activations as _layers
from ..layers.core import Activation
from .onnx_graph import GraphBuilder, Value
from .registry import register, unsupported


def _default(fn, arg: str):
    return inspect.signature(fn).parameters[arg].default


def _gelu(g, x):  # ½x(1 + erf(x/√2)), or the tanh form ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    if _default(_act.gelu, "approximate"):
        inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [g.scalar(0.044715), g.op("Pow", [x, g.scalar(3.0)])])]),
                             g.scalar(math.sqrt(2 / math.pi))])
        t = g.op("Tanh", [inner])
    else:
        t = g.op("Erf", [g.op("Mul", [x, g.scalar(1 / math.sqrt(2))])])
    return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), g.op("Add", [t, g.scalar(1.0)])], hint="gelu")


def _sparse_plus(g, x):  # 0 (x ≤ −1), (x + 1)²/4 (|x| < 1), x (x ≥ 1)
    mid = g.op("Mul", [g.op("Mul", [g.op("Add", [x, g.scalar(1.0)]), g.op("Add", [x, g.scalar(1.0)])]),
                       g.scalar(0.25)])
    low = g.op("Where", [g.op("LessOrEqual", [x, g.scalar(-1.0)]), g.scalar(0.0), mid])
    return g.op("Where", [g.op("GreaterOrEqual", [x, g.scalar(1.0)]), x, low], hint="sparse_plus")


def _squareplus(g, x):  # (x + √(x² + b)) / 2
    b = _default(_act.squareplus, "b")
    root = g.op("Sqrt", [g.op("Add", [g.op("Mul", [x, x]), g.scalar(b)])])
    return g.op("Mul", [g.op("Add", [x, root]), g.scalar(0.5)], hint="squareplus")


def _hard_shrink(g, x):  # x if |x| > t else 0
    t = _default(_act.hard_shrink, "threshold")
    return g.op("Where", [g.op("Greater", [g.op("Abs", [x]), g.scalar(t)]), x, g.scalar(0.0)], hint="hard_shrink")


# name → fn(g, onnx name, channel/last axis in this layout) → onnx name
ELEMENTWISE = {
    "linear": lambda g, x, a: x,
    "relu": lambda g, x, a: g.op("Relu", [x]),
    "relu6": lambda g, x, a: g.op("Clip", [x, g.scalar(0.0), g.scalar(6.0)], hint="relu6"),
    "sigmoid": lambda g, x, a: g.op("Sigmoid", [x]),
    "tanh": lambda g, x, a: g.op("Tanh", [x]),
    "softmax": lambda g, x, a: g.op("Softmax", [x], axis=a),
    "log_softmax": lambda g, x, a: g.op("LogSoftmax", [x], axis=a),
    "leaky_relu": lambda g, x, a: g.op("LeakyRelu", [x], alpha=float(_default(_act.leaky_relu, "negative_slope"))),
    "elu": lambda g, x, a: g.op("Elu", [x], alpha=float(_default(_act.elu, "alpha"))),
    "celu": lambda g, x, a: g.op("Celu", [x], alpha=float(_default(_act.celu, "alpha"))),
    "selu": lambda g, x, a: g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805),
    "gelu": lambda g, x, a: _gelu(g, x),
    "silu": lambda g, x, a: g.op("Mul", [x, g.op("Sigmoid", [x])], hint="silu"),
    "hard_sigmoid": lambda g, x, a: g.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5),  # relu6(x + 3)/6
    "hard_silu": lambda g, x, a: g.op("HardSwish", [x]),  # x·relu6(x + 3)/6
    "softplus": lambda g, x, a: g.op("Softplus", [x]),
    "softsign": lambda g, x, a: g.op("Softsign", [x]),
    "exponential": lambda g, x, a: g.op("Exp", [x]),
    "mish": lambda g, x, a: g.op("Mish", [x]),
    "hard_tanh": lambda g, x, a: g.op("Clip", [x, g.scalar(-1.0), g.scalar(1.0)], hint="hard_tanh"),
    "tanh_shrink": lambda g, x, a: g.op("Sub", [x, g.op("Tanh", [x])], hint="tanh_shrink"),
    "log_sigmoid": lambda g, x, a: g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])], hint="log_sigmoid"),
    "soft_shrink": lambda g, x, a: g.op("Shrink", [x], bias=float(_default(_act.soft_shrink, "threshold")),
                                        lambd=float(_default(_act.soft_shrink, "threshold"))),
    "hard_shrink": lambda g, x, a: _hard_shrink(g, x),
    "sparse_plus": lambda g, x, a: _sparse_plus(g, x),
    "sparse_sigmoid": lambda g, x, a: g.op("Clip", [g.op("Mul", [g.op("Add", [x, g.scalar(1.0)]), g.scalar(0.5)]),
                                                    g.scalar(0.0), g.scalar(1.0)], hint="sparse_sigmoid"),
    "squareplus": lambda g, x, a: _squareplus(g, x),
}
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def activation_name(fn) -> str | None:
    """The built-in name of an activation function (None for anything else)."""
    name = _act._builtin_name(fn)
    return ALIASES.get(name, name)


def apply_activation(g: GraphBuilder, layer, fn, x: Value) -> Value:
    """``fn(x)`` for a built-in activation ``fn`` (the ``activation=`` of ``layer``)."""
    name = activation_name(fn)
    if name == "linear":
        return x
    if name == "glu":  # a·σ(b), the last axis cut in two halves
        xk = g.keras(x)
        half = x.shape[-1] // 2 if x.shape[-1] is not None else None
        if half is None:
            raise unsupported(layer, "glu needs a known last axis")
        a, b = g.op("Split", [xk, g.ints([half, half])], outputs=2, axis=-1)
        return g.value(g.op("Mul", [a, g.op("Sigmoid", [b])], hint="glu"), (*x.shape[:-1], half))
    if name not in ELEMENTWISE:
        raise unsupported(layer, f"the activation {getattr(fn, '__name__', fn)!r} has no ONNX form; supported: "
                                 f"{', '.join(sorted([*ELEMENTWISE, 'glu', *ALIASES]))}")
    return g.elementwise(x, lambda n, layout: ELEMENTWISE[name](g, n, g.axis(x, layout, -1)))


@register(Activation)
def activation_layer(g, layer, x):
    return apply_activation(g, layer, layer.activation, x)


@register(_layers.ReLU)
def relu_layer(g, layer, x):
    # y = max_value if x ≥ max_value; x if threshold ≤ x < max_value; slope·(x − threshold) below
    m, slope, t = layer.max_value, float(layer.negative_slope), float(layer.threshold)

    def fn(n, layout):
        if slope == 0.0 and t == 0.0:
            y = g.op("Relu", [n])
        else:
            below = g.op("Mul", [g.op("Sub", [n, g.scalar(t)]), g.scalar(slope)])
            y = g.op("Where", [g.op("GreaterOrEqual", [n, g.scalar(t)]), n, below])
        if m is not None:
            y = g.op("Min", [y, g.scalar(float(m))], hint="relu_max")
        return y
    return g.elementwise(x, fn)


@register(_layers.LeakyReLU)
def leaky_relu_layer(g, layer, x):
    return g.elementwise(x, lambda n, layout: g.op("LeakyRelu", [n], alpha=float(layer.negative_slope)))


@register(_layers.ELU)
def elu_layer(g, layer, x):
    return g.elementwise(x, lambda n, layout: g.op("Elu", [n], alpha=float(layer.alpha)))


@register(_layers.Softmax)
def softmax_layer(g, layer, x, mask=None):
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if len(axes) != 1:
        raise unsupported(layer, f"a softmax over several axes {layer.axis} (ONNX's Softmax takes one axis)")
    if mask is not None:
        raise unsupported(layer, "an explicit `mask` argument")
    return g.elementwise(x, lambda n, layout: g.op("Softmax", [n], axis=g.axis(x, layout, axes[0])))


@register(_layers.PReLU)
def prelu_layer(g, layer, x):  # y = x (x ≥ 0), α·x below; α of shape input_shape[1:] (1 on shared axes)
    alpha = numpy.asarray(layer.alpha.numpy() if hasattr(layer.alpha, "numpy") else layer.alpha, dtype=numpy.float32)
    return g.value(g.op("PRelu", [g.keras(x), g.const(alpha, "alpha")]), x.shape)

"""``neuronka.activations``: Keras 3's ``keras.activations`` namespace.

The math (each A(x) with its derivative A'(x) beside it) lives in
:mod:`neuronka.ops.activations`; this module names the functions as Keras does,
resolves them by name (:func:`get`, :func:`serialize`, :func:`deserialize`) and
offers :func:`derivative`, which prints what the notes explain::

    >>> y, dy = derivative("leaky_relu", [-2.0, 3.0], negative_slope=0.1)
    >>> y, dy          # A(x) = max(0.1x, x), A'(x) = 0.1 or 1
    (array([-0.2,  3. ], dtype=float32), array([0.1, 1. ], dtype=float32))

Keras defaults worth knowing:

- ``leaky_relu``'s default slope is ``negative_slope=0.2``; the notes'
  A(x) = max(0.1x, x) with derivative 1 or 0.1 is ``leaky_relu(x, negative_slope=0.1)``.
- ``gelu`` here is ``keras.activations.gelu``: exact (``approximate=False``) by default,
  whereas ``keras.ops.gelu`` (:func:`neuronka.ops.gelu`) defaults to the tanh approximation.
- ``hard_sigmoid`` is Keras 3's relu6(x + 3)/6 = clip(x/6 + 1/2, 0, 1) (Keras 2 used 0.2x + 0.5).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from .autograd import Tensor
from .backend import asnumpy, floatx
from .ops.activations import (
    elu,
    hard_sigmoid,
    leaky_relu,
    linear,
    log_softmax,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
    tanh,
)
from .ops.activations import gelu as _ops_gelu


def gelu(x, approximate: bool = False) -> Tensor:
    """GELU, ``keras.activations.gelu``: A(x) = xΦ(x) = ½x(1 + erf(x/√2)); A'(x) = Φ(x) + xφ(x).

    ``approximate=True`` uses ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (the ``keras.ops.gelu`` default).
    """
    return _ops_gelu(x, approximate=approximate)


ALL_OBJECTS_DICT: dict[str, Callable] = {
    fn.__name__: fn
    for fn in (linear, sigmoid, tanh, relu, leaky_relu, relu6, elu, selu, gelu, silu, softplus, softsign,
               hard_sigmoid, softmax, log_softmax)
}
ALL_OBJECTS_DICT["swish"] = silu  # Keras's alias (``swish is silu``)

# activations that act along an axis rather than elementwise: their derivative is a Jacobian
AXIS_ACTIVATIONS = ("softmax", "log_softmax")


def serialize(activation) -> str | dict:
    """The name of a built-in activation (``"relu"``), or ``{"class_name", "config"}`` for a configurable object."""
    for name, fn in ALL_OBJECTS_DICT.items():
        if fn is activation and name != "swish":
            return name
    if hasattr(activation, "get_config"):
        return {"class_name": type(activation).__name__, "config": activation.get_config()}
    name = getattr(activation, "__name__", None)
    if callable(activation) and name and name != "<lambda>":
        return name
    raise ValueError(
        f"activations.serialize: expected a built-in activation, a named function or an object with get_config(), "
        f"received {activation!r}"
    )


def deserialize(config, custom_objects: dict | None = None) -> Callable:
    """Inverse of :func:`serialize`: a name (looked up in ``custom_objects`` first) or a Keras config dict."""
    custom_objects = custom_objects or {}
    if isinstance(config, dict):
        inner = config.get("config")
        if isinstance(inner, str):  # Keras's {"class_name": "function", "config": "relu", ...}
            config = inner
        elif config.get("class_name") in custom_objects:
            return custom_objects[config["class_name"]](**(inner or {}))
    if isinstance(config, str):
        fn = custom_objects.get(config) or ALL_OBJECTS_DICT.get(config)
        if fn is not None:
            return fn
    raise ValueError(
        f"activations.deserialize: unknown activation {config!r}; expected one of {sorted(ALL_OBJECTS_DICT)} "
        f"or a name in custom_objects"
    )


def get(identifier: Any) -> Callable:
    """Resolve an activation as ``keras.activations.get``: None → linear, a name, a config dict, or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    obj = ALL_OBJECTS_DICT.get(identifier) if isinstance(identifier, str) else identifier
    if callable(obj):
        return obj
    raise ValueError(
        f"Could not interpret activation function identifier: received {identifier!r}; "
        f"expected one of {sorted(ALL_OBJECTS_DICT)}, a callable, a config dict or None"
    )


def derivative(name: str | Callable, x, **kwargs) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(A(x), A'(x)) as NumPy arrays, A'(x) computed by the autograd (backward of A at x).

    For an elementwise activation A'(x) has the shape of x: the backward of Σ A(x)
    gives dA(x_i)/dx_i. For ``softmax``/``log_softmax`` (over ``axis``, default −1) it is the
    Jacobian J[..., i, j] = ∂y_i/∂x_j over that axis (moved last), shape ``(..., n, n)``;
    for softmax J = diag(p) − p pᵀ. ``kwargs`` go to the activation (``negative_slope=0.1``).
    """
    fn = get(name)
    # Python numbers and lists become floatx(), as Tensor(...) does; arrays keep a float dtype
    x = numpy.asarray(asnumpy(x)) if isinstance(x, (numpy.ndarray, Tensor)) else numpy.asarray(x, dtype=floatx())
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = x.astype(floatx())
    if fn in (softmax, log_softmax):
        axis = kwargs.pop("axis", -1)
        xm = numpy.moveaxis(x, axis, -1)
        n = xm.shape[-1]
        # one backward for the whole Jacobian: copy k of x gets the output gradient e_k
        xb = Tensor(numpy.ascontiguousarray(numpy.broadcast_to(xm, (n, *xm.shape))), requires_grad=True)
        yb = fn(xb, axis=-1, **kwargs)
        eye = numpy.eye(n, dtype=x.dtype).reshape((n,) + (1,) * (xm.ndim - 1) + (n,))
        yb.backward(numpy.broadcast_to(eye, yb.shape))
        y = numpy.moveaxis(yb.numpy()[0], -1, axis)
        return y, numpy.moveaxis(asnumpy(xb.grad), 0, -2)
    t = Tensor(x.copy(), requires_grad=True)
    y = fn(t, **kwargs)
    y.backward(numpy.ones(y.shape, dtype=y.dtype))
    grad = t.grad if t.grad is not None else numpy.zeros_like(x)
    return y.numpy(), asnumpy(grad)


__all__ = [
    "derivative",
    "deserialize",
    "elu",
    "gelu",
    "get",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]

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
- ``relu`` takes Keras's ``negative_slope``, ``max_value`` and ``threshold``.
- ``swish`` is ``silu`` and ``hard_swish`` is ``hard_silu`` (the same functions, serialized by the
  latter names).

Serialization follows Keras: a built-in serializes to its name; another named function to
``{"module": "builtins", "class_name": "function", "config": <registered name>, "registered_name":
"function"}``; an object with ``get_config`` to ``{"module", "class_name", "config",
"registered_name"}``.
"""
from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy

from .autograd import Tensor
from .backend import asnumpy, floatx
from .ops.activations import (
    celu,
    elu,
    exponential,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_tanh,
    leaky_relu,
    linear,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    tanh,
    tanh_shrink,
    threshold,
)
from .ops.activations import gelu as _ops_gelu


def gelu(x, approximate: bool = False) -> Tensor:
    """GELU, ``keras.activations.gelu``: A(x) = xΦ(x) = ½x(1 + erf(x/√2)); A'(x) = Φ(x) + xφ(x).

    ``approximate=True`` uses ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (the ``keras.ops.gelu`` default).
    """
    return _ops_gelu(x, approximate=approximate)


swish = silu
hard_swish = hard_silu

ALL_OBJECTS_DICT: dict[str, Callable] = {
    fn.__name__: fn
    for fn in (relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus, soft_shrink,
               sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid, sparse_sigmoid, exponential,
               hard_sigmoid, hard_silu, hard_tanh, hard_shrink, linear, mish, log_softmax, log_sigmoid, sparsemax)
}
ALL_OBJECTS_DICT["swish"] = silu  # Keras's aliases: the same functions
ALL_OBJECTS_DICT["hard_swish"] = hard_silu

# activations that act along an axis rather than elementwise: their derivative is a Jacobian
AXIS_ACTIVATIONS = ("softmax", "log_softmax", "sparsemax")


def _builtin_name(activation) -> str | None:
    for fn in ALL_OBJECTS_DICT.values():
        if fn is activation:
            return fn.__name__  # swish → "silu", hard_swish → "hard_silu", as Keras
    return None


def serialize(activation) -> str | dict:
    """A built-in activation's name (``"relu"``; ``swish`` gives ``"silu"``); for another named function
    ``{"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}``
    (the name registered with ``neuronka.saving.register_keras_serializable``, as ``"package>name"``);
    for an object with ``get_config`` its ``{"module", "class_name", "config", "registered_name"}``.

    Lambdas are refused (Keras pickles their bytecode, which neuronka never loads back).
    """
    from . import saving  # noqa: PLC0415 - saving imports the models, which import this module

    name = _builtin_name(activation)
    if name is not None:
        return name
    if isinstance(activation, types.FunctionType):
        if activation.__name__ == "<lambda>":
            raise ValueError("activations.serialize: a lambda cannot be serialized; define a named function "
                             "(registered with neuronka.saving.register_keras_serializable) instead")
        return {"module": "builtins", "class_name": "function", "config": saving.get_registered_name(activation),
                "registered_name": "function"}
    if hasattr(activation, "get_config"):
        return saving.serialize_keras_object(activation)
    raise ValueError(
        f"Unknown activation function {activation!r} cannot be serialized: expected a built-in activation, a "
        f"named function or an object with get_config(); register custom activations with "
        f"neuronka.saving.register_keras_serializable"
    )


def _lookup(name: str, custom_objects: dict | None):
    """A name in ``custom_objects``, the registered custom objects (``"package>name"`` or ``"name"``), then
    the built-ins; None when none has it."""
    from . import saving  # noqa: PLC0415

    found = saving.get_registered_object(name, custom_objects)
    if found is None and ">" in name:  # "package>name" saved by Keras, registered here under its plain name
        found = saving.get_registered_object(name.split(">", 1)[1], custom_objects)
    return found if found is not None else ALL_OBJECTS_DICT.get(name)


def deserialize(config, custom_objects: dict | None = None) -> Callable | None:
    """Inverse of :func:`serialize`: a name, a function config ``{"class_name": "function", "config": name,
    ...}`` or an object config ``{"class_name": cls, "config": {...}}``, resolved in ``custom_objects``,
    the registered custom objects, then the built-ins. None gives None and a callable is returned as is
    (as Keras). Unknown names raise (Keras returns an unknown string unchanged)."""
    if config is None or callable(config):
        return config
    if isinstance(config, str):
        fn = _lookup(config, custom_objects)
        if fn is None:
            raise ValueError(f"activations.deserialize: unknown activation function {config!r}; expected one of "
                             f"{sorted(ALL_OBJECTS_DICT)}, a name in custom_objects or a registered name")
        return fn
    if not isinstance(config, dict):
        raise ValueError(f"activations.deserialize: expected a name, a config dict or None, received {config!r}")
    if "class_name" not in config:
        raise ValueError(f"activations.deserialize: unknown config as a dict (no 'class_name'), received {config!r}")
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        if not isinstance(inner, str):
            raise TypeError(f"activations.deserialize: expected the function's name as 'config', received {config!r}")
        fn = _lookup(inner, custom_objects)
        if fn is None:
            raise TypeError(f"activations.deserialize: could not locate function {inner!r}; register it with "
                            f"neuronka.saving.register_keras_serializable or pass it in custom_objects "
                            f"(config {config!r})")
        return fn
    registered = config.get("registered_name")
    cls = None
    for key in (registered, class_name):
        if isinstance(key, str) and cls is None:
            cls = _lookup(key, custom_objects)
    if cls is None:
        raise TypeError(f"activations.deserialize: could not locate class {class_name!r}; register it with "
                        f"neuronka.saving.register_keras_serializable or pass it in custom_objects")
    if isinstance(cls, type):
        inner = inner or {}
        return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)
    return cls


def get(identifier: Any) -> Callable:
    """Resolve an activation as ``keras.activations.get``: None → linear, a built-in name, a config dict
    (through :func:`deserialize`), or any callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj
    raise ValueError(
        f"Could not interpret activation function identifier: received {identifier!r}; "
        f"expected one of {sorted(ALL_OBJECTS_DICT)}, a callable, a config dict or None"
    )


def derivative(name: str | Callable, x, **kwargs) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(A(x), A'(x)) as NumPy arrays, A'(x) computed by the autograd (backward of A at x).

    For an elementwise activation A'(x) has the shape of x: the backward of Σ A(x)
    gives dA(x_i)/dx_i. For ``softmax``/``log_softmax``/``sparsemax`` (over ``axis``, default −1) it is
    the Jacobian J[..., i, j] = ∂y_i/∂x_j over that axis (moved last), shape ``(..., n, n)``;
    for softmax J = diag(p) − p pᵀ. ``kwargs`` go to the activation (``negative_slope=0.1``).
    """
    fn = get(name)
    # Python numbers and lists become floatx(), as Tensor(...) does; arrays keep a float dtype
    x = numpy.asarray(asnumpy(x)) if isinstance(x, (numpy.ndarray, Tensor)) else numpy.asarray(x, dtype=floatx())
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = x.astype(floatx())
    if fn in (softmax, log_softmax, sparsemax):
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
    "celu",
    "derivative",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
]

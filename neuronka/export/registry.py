"""Layer class → ONNX converter: the one place a new layer is added.

A converter is ``fn(g, layer, x, *args, **kwargs) -> Value | list[Value]``: the layer's ``call`` arguments
with every symbolic tensor replaced by its :class:`~neuronka.export.onnx_graph.Value`, ``g`` the
:class:`~neuronka.export.onnx_graph.GraphBuilder`. Lookup is by exact class: a subclass may change
``call``, so it gets its own row (or a clear error) rather than its parent's converter.
"""
from __future__ import annotations

from collections.abc import Callable

CONVERTERS: dict[type, Callable] = {}


class UnsupportedLayerError(NotImplementedError):
    """A layer (or a setting of one) without an ONNX form."""


def register(*classes: type):
    """Decorator: ``@register(Dense)`` makes the function the converter of those classes."""
    def decorate(fn):
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn
    return decorate


def converter_of(layer) -> Callable:
    fn = CONVERTERS.get(type(layer))
    if fn is None:
        raise UnsupportedLayerError(
            f"export(format='onnx'): layer {layer.name!r} of class {type(layer).__name__} has no ONNX converter; "
            f"supported: {', '.join(sorted({c.__name__ for c in CONVERTERS}))}")
    return fn


def unsupported(layer, what: str) -> UnsupportedLayerError:
    """The error for a supported class used with a setting the exporter cannot write."""
    return UnsupportedLayerError(f"export(format='onnx'): layer {layer.name!r} ({type(layer).__name__}): {what}")


def load_all() -> None:
    """Import the converter modules (each registers its rows)."""
    from . import (  # noqa: F401, PLC0415
        convert_activations,
        convert_attention,
        convert_conv,
        convert_core,
        convert_recurrent,
        convert_shape,
    )

"""Layer classes by name, and a layer's Keras 3 dict form (what ``config.json`` and ``to_json`` hold).

:func:`get_layer_class` finds a class by name (``custom_objects``, neuronka's layers, its models, then the
classes registered with ``neuronka.saving.register_keras_serializable``: :data:`CUSTOM_OBJECTS`), never by
importing what a file names; :func:`serialize_layer` / :func:`deserialize_layer` go between a layer and
``{"module", "class_name", "config", "registered_name", "build_config"}``.
"""
from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy

from ..layers.base import Layer

# Classes registered by ``neuronka.saving.register_keras_serializable``: name (and "package>Name") → class.
CUSTOM_OBJECTS: dict[str, Any] = {}


def _model_classes() -> dict[str, type]:
    from .functional import Functional  # noqa: PLC0415
    from .model import Model  # noqa: PLC0415
    from .sequential import Sequential  # noqa: PLC0415

    return {"Model": Model, "Functional": Functional, "Sequential": Sequential}


def get_layer_class(name: str, custom_objects: dict | None = None) -> type:
    """The layer (or model) class called ``name``: ``custom_objects``, neuronka's layers, its models,
    then the classes registered with ``neuronka.saving.register_keras_serializable`` (:data:`CUSTOM_OBJECTS`).
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    from .. import layers  # noqa: PLC0415

    registry = layers._registry()
    if name in registry:
        return registry[name]
    models = _model_classes()
    if name in models:
        return models[name]
    if name in CUSTOM_OBJECTS:
        return CUSTOM_OBJECTS[name]
    for key, obj in CUSTOM_OBJECTS.items():  # "package>Name" registered, looked up by "Name"
        if key.split(">")[-1] == name:
            return obj
    raise ValueError(
        f"Unknown layer: '{name}'. Could not locate class '{name}'. Make sure custom classes are decorated "
        f"with `@neuronka.saving.register_keras_serializable()` or passed in `custom_objects`."
    )


def _registered_name(cls) -> str | None:
    for key, obj in CUSTOM_OBJECTS.items():
        if obj is cls and ">" in key:
            return key
    return None


def _jsonable_shape(shape):
    if isinstance(shape, dict):
        return {k: _jsonable_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return None if shape is None else int(shape)


def to_shape(shape):
    """A shape (tuple) or a structure of shapes (list/dict of tuples) from its JSON form."""
    if isinstance(shape, dict):
        return {k: to_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(s is None or isinstance(s, (int, numpy.integer)) for s in shape):
            return tuple(None if s is None else int(s) for s in shape)
        return [to_shape(s) for s in shape]
    return shape


def layer_build_config(layer: Layer) -> dict | None:
    """Keras's ``build_config`` of a layer: ``{"input_shape": ...}`` when the layer is built and has a ``build`` of
    its own (a layer with the default build — Dropout, Flatten in Keras — has none); a model's own."""
    getter = getattr(layer, "get_build_config", None)
    if callable(getter):
        return getter()
    shape = getattr(layer, "_build_input_shape", None)
    if not layer.built or shape is None or type(layer).build is Layer.build:
        return None
    return {"input_shape": _jsonable_shape(shape)}


def serialize_layer(layer: Layer) -> dict:
    """Keras 3's form of a layer: ``{"module", "class_name", "config", "registered_name"[, "build_config"]}``,
    with Keras's public module names (``"keras.layers"``) and a registered class's ``"package>Name"``."""
    from ..serialization import serialize_keras_object  # noqa: PLC0415 - serialization imports the models

    out = serialize_keras_object(layer)  # a model's comes with its build_config and compile_config
    if out.get("registered_name") is None:  # a class put in CUSTOM_OBJECTS under "package>Name" by hand
        out["registered_name"] = _registered_name(type(layer))
    if "build_config" not in out:
        build = layer_build_config(layer)
        if build is not None:
            out["build_config"] = build
    return out


def deserialize_layer(config: dict, custom_objects: dict | None = None) -> Layer:
    """A layer from :func:`serialize_layer`'s dict; the class is found by name (never imported from the dict)."""
    if isinstance(config, Layer):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize_layer: expected a dict with 'class_name' and 'config', received {config!r}")
    if str(config.get("module", "")).startswith("keras.src.ops."):  # an op on symbolic tensors (Keras's form)
        from ..layers.operation import OperationLayer  # noqa: PLC0415

        return OperationLayer.from_keras_config(config["class_name"], config.get("config") or {})
    cls = None
    registered = config.get("registered_name")
    if registered:
        cls = (custom_objects or {}).get(registered) or CUSTOM_OBJECTS.get(registered)
    if cls is None:
        cls = get_layer_class(config["class_name"], custom_objects)
    inner = copy.deepcopy(config.get("config") or {})
    if custom_objects and hasattr(cls, "from_config") and "custom_objects" in inspect.signature(
            cls.from_config).parameters:
        layer = cls.from_config(inner, custom_objects=custom_objects)
    else:
        layer = cls.from_config(inner)
    build = config.get("build_config")
    if build and build.get("input_shape") is not None and not layer.built:
        shape = to_shape(build["input_shape"])
        layer.build(shape)
        layer.built = True
        layer._build_input_shape = shape
    return layer

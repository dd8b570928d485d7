"""Keras's serialized form of losses and metrics, shared by ``neuronka.losses`` and ``neuronka.metrics``.

    an object with get_config → {"module": "keras.losses", "class_name": "Huber", "config": {...},
                                 "registered_name": None}
    a function              → {"module": "builtins", "class_name": "function", "config": "huber",
                                 "registered_name": "function"}

Objects are found by name only in the namespace's table, ``custom_objects`` and the classes registered with
``neuronka.saving.register_keras_serializable``; no module named in a config is ever imported.
"""
from __future__ import annotations

import inspect
from typing import Any


def _registered() -> dict[str, Any]:
    from ..saving import get_custom_objects  # noqa: PLC0415 - saving imports the models, which import us

    return get_custom_objects()


def serialize_object(obj, module: str, builtin: set) -> dict | str | None:
    """Keras's dict for a Loss/Metric instance or a function (``module``: "keras.losses" or "keras.metrics" for
    the built-in classes, listed in ``builtin``); ``None`` and strings are returned as they are."""
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "get_config") and not inspect.isclass(obj):
        cls = type(obj)
        if cls in builtin:
            return {"module": module, "class_name": cls.__name__, "config": obj.get_config(), "registered_name": None}
        from ..saving import get_registered_name  # noqa: PLC0415

        return {"module": cls.__module__, "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": get_registered_name(cls)}
    name = getattr(obj, "__name__", None)
    if callable(obj) and name and name != "<lambda>":
        return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
    raise ValueError(f"serialize: expected an object with get_config() or a named function, received {obj!r}")


def deserialize_object(config, objects: dict[str, Any], custom_objects: dict | None, what: str):
    """The object a serialized ``config`` describes: a name (a class is instantiated, a function returned), a
    function dict, or ``{"class_name": ..., "config": {...}}`` (``from_config``)."""
    table = {**objects, **_registered(), **(custom_objects or {})}
    if config is None:
        return None
    if isinstance(config, str):
        obj = table.get(config)
        if obj is None:
            raise ValueError(f"Could not interpret {what} identifier: received {config!r}; expected one of "
                             f"{sorted(objects)}, or a name registered with register_keras_serializable")
        return obj() if inspect.isclass(obj) else obj
    if isinstance(config, dict) and "class_name" in config:
        inner = config.get("config")
        if config["class_name"] == "function" or isinstance(inner, str):
            return deserialize_object(inner, objects, custom_objects, what)
        registered = config.get("registered_name")
        cls = table.get(registered) if registered else None
        cls = cls or table.get(config["class_name"])
        if cls is None:
            raise ValueError(f"Could not interpret {what} config: unknown class_name {config['class_name']!r}; "
                             f"expected one of {sorted(n for n in objects if n[:1].isupper())}, or a class passed "
                             f"in custom_objects")
        return cls.from_config(dict(inner or {}))
    raise ValueError(f"Could not interpret {what} config {config!r}; expected a name or a dict "
                     f"{{'class_name': ..., 'config': {{...}}}}")

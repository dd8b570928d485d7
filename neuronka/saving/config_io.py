"""A model as Keras 3's ``config.json`` object, and back — safely.

Writing: ``serialize_keras_object(model)`` (``module``, ``class_name``, ``config``, ``registered_name``) plus
``build_config`` (``model.get_build_config()``) and ``compile_config`` (``model.get_compile_config()``, ``{}``
when the model is not compiled), as Keras writes them.

Reading never runs code from the file and never imports a module it names: classes are looked up only among
``custom_objects``, the registered custom objects and neuronka's own namespaces
(:func:`neuronka.serialization.deserialize_keras_object`). A Python lambda stored in a config (Keras's
``__lambda__`` object: marshalled bytecode, or Keras 2's ``Lambda`` ``function`` list) is refused before
anything is built — with ``safe_mode=True`` as Keras does, and with ``safe_mode=False`` too, since neuronka never
executes code from a file.
"""
from __future__ import annotations

import json
import warnings
from typing import Any

import numpy

from ..serialization import CustomObjectScope, deserialize_keras_object, serialize_keras_object
from . import limits


def jsonable(value):
    """Configs as plain JSON: tuples → lists, NumPy scalars / arrays → Python numbers / lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, numpy.dtype):
        return value.name
    return value


def json_bytes(obj, what: str) -> bytes:
    try:
        return json.dumps(jsonable(obj)).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} is not JSON-serializable: {e}") from e


def json_object(data: bytes | str, source: str, cap: int = limits.MAX_CONFIG_BYTES):
    """Parse JSON text of at most ``cap`` bytes; ``ValueError`` naming ``source`` when it is not JSON."""
    if len(data) > cap:
        raise ValueError(f"{source}: {len(data)} bytes of JSON, more than the cap of {cap} bytes")
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{source}: invalid JSON ({e})") from e


# ---------------------------------------------------------------------------------------------- writing
def model_config(model, include_compile: bool = True) -> dict:
    """``config.json``'s object for ``model`` (fails before any file is touched when something cannot be saved)."""
    config = serialize_keras_object(model)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"save: the model {model!r} did not serialize to a Keras object config")
    getter = getattr(model, "get_build_config", None)
    build = getter() if callable(getter) else None
    if build is not None:
        config["build_config"] = jsonable(build)
    config.pop("compile_config", None)
    if include_compile:
        getter = getattr(model, "get_compile_config", None)
        compile_config = getter() if callable(getter) else None
        config["compile_config"] = jsonable(compile_config or {})
    return jsonable(config)


# ---------------------------------------------------------------------------------------------- reading
def _layer_label(obj: dict, trail: list[str]) -> str:
    cfg = obj.get("config") if isinstance(obj.get("config"), dict) else {}
    name = obj.get("name") or cfg.get("name")
    return "/".join(trail + [f"{obj.get('class_name')} {name!r}" if name else str(obj.get("class_name"))])


def refuse_code(config, source: str, safe_mode: bool) -> None:
    """Raise if any object of the config is a Python lambda (code that loading would have to run)."""
    stack: list[tuple[Any, list[str]]] = [(config, [])]
    while stack:
        node, trail = stack.pop()
        if isinstance(node, list):
            stack.extend((v, trail) for v in node)
            continue
        if not isinstance(node, dict):
            continue
        cls = node.get("class_name")
        inner = node.get("config")
        keras2_lambda = cls == "Lambda" and isinstance(inner, dict) and (
            isinstance(inner.get("function"), list) or inner.get("function_type") == "lambda")
        if cls == "__lambda__" or keras2_lambda:
            how = ("Keras refuses it under safe_mode=True; neuronka refuses it with safe_mode=False too, since it "
                   "never runs code from a file" if safe_mode else
                   "safe_mode=False does not change this: neuronka never runs code from a file")
            raise ValueError(f"{source}: {'/'.join(trail) or 'the config'} holds a Python lambda (its bytecode is "
                             f"stored in the file). Loading it would execute code from the file: {how}. Rewrite the "
                             f"lambda as a named function registered with "
                             f"@keras.saving.register_keras_serializable() (or a custom layer) and save again.")
        here = trail + [_layer_label(node, [])] if isinstance(cls, str) else trail
        stack.extend((v, here) for v in node.values())


_POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy")


def standardize(config):
    """Small rewrites of a Keras config that neuronka's layers do not read yet, all meaning-preserving:
    a dtype policy object ``{"class_name": "DTypePolicy", "config": {"name": "float32"}}`` becomes its name, and an
    ``InputLayer``'s ``ragged: false`` / ``optional: false`` (Keras 3's defaults) are dropped."""
    if isinstance(config, list):
        return [standardize(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {}
    for key, value in config.items():
        if key == "dtype" and isinstance(value, dict) and value.get("class_name") in _POLICY_CLASSES \
                and isinstance(value.get("config"), dict) and isinstance(value["config"].get("name"), str):
            value = value["config"]["name"]
        out[key] = standardize(value)
    if out.get("class_name") == "InputLayer" and isinstance(out.get("config"), dict):
        inner = dict(out["config"])
        for flag in ("ragged", "optional"):
            if inner.get(flag) is False:
                inner.pop(flag)
        out["config"] = inner
    return out


def model_from_config(config, source: str, custom_objects: dict | None = None, safe_mode: bool = True):
    """Rebuild (and build) the model described by a ``config.json`` object; ``ValueError`` naming ``source``."""
    from ..models.model import Model  # noqa: PLC0415

    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"{source}: expected a JSON object with a 'class_name' (a Keras model config), received "
                         f"{type(config).__name__}")
    if not isinstance(config.get("config"), (dict, list)):
        raise ValueError(f"{source}: the model config of {config['class_name']!r} has no 'config' object")
    refuse_code(config, source, safe_mode)
    config = standardize(config)
    head = {k: config.get(k) for k in ("module", "class_name", "config", "registered_name")}
    with CustomObjectScope(custom_objects or {}):
        try:
            model = deserialize_keras_object(head, custom_objects=custom_objects, safe_mode=safe_mode)
        except Exception as e:  # noqa: BLE001 - whatever a bad config makes a layer raise, it is a bad file
            raise ValueError(f"{source}: could not rebuild {config['class_name']} from its config: "
                             f"{type(e).__name__}: {e}") from e
        if not isinstance(model, Model) and not getattr(model, "_saved_as_model", False):  # FeatureSpace is saved too
            raise ValueError(f"{source}: the config describes a {type(model).__name__}, not a model")
        build = config.get("build_config")
        if build and not model.built and callable(getattr(model, "build_from_config", None)):
            try:
                model.build_from_config(build)
            except Exception as e:  # noqa: BLE001
                raise ValueError(f"{source}: could not build {config['class_name']} from its build_config {build}: "
                                 f"{type(e).__name__}: {e}") from e
    return model


def compile_from_config(model, compile_config, source: str, custom_objects: dict | None = None) -> bool:
    """Compile ``model`` from a saved ``compile_config``; as Keras, a failure warns and leaves it uncompiled."""
    if not compile_config:
        return False
    try:
        with CustomObjectScope(custom_objects or {}):
            model.compile_from_config(standardize(compile_config))
    except Exception as e:  # noqa: BLE001
        warnings.warn(f"{source}: the model could not be compiled from its saved compile_config "
                      f"({type(e).__name__}: {e}); it is returned uncompiled", stacklevel=4)
        return False
    return True

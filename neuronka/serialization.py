"""Objects as JSON-ready configs in Keras 3's format, and back: ``serialize_keras_object`` /
``deserialize_keras_object``, and the registry of custom objects.

An object with ``get_config`` becomes ``{"module", "class_name", "config", "registered_name"}`` with
Keras's public module names (``"keras.layers"``, ``"keras.initializers"``, ...), so a config written here
reads in Keras and one written by Keras reads here. Functions become ``{"class_name": "function",
"config": name}``, arrays ``{"class_name": "__numpy__", ...}``, tensors ``"__tensor__"``.

Reading is safe: a class is looked up only among ``custom_objects``, the registered objects and neuronka's
own namespaces — a module named in a file is never imported and no code from a file is ever run
(``__lambda__`` configs, Python bytecode, are refused with or without ``safe_mode``).
"""
from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy

_MISSING = object()
_REGISTERED_NAMES: dict[Any, str] = {}  # registered object -> "package>Name"

# neuronka module (prefix) -> Keras's public module of its classes
_KERAS_MODULES = (
    ("neuronka.layers", "keras.layers"),
    ("neuronka.initializers", "keras.initializers"),
    ("neuronka.losses", "keras.losses"),
    ("neuronka.metrics", "keras.metrics"),
    ("neuronka.schedules", "keras.optimizers.schedules"),
    ("neuronka.optimizers.schedules", "keras.optimizers.schedules"),
    ("neuronka.optimizers", "keras.optimizers"),
    ("neuronka.regularizers", "keras.regularizers"),
    ("neuronka.constraints", "keras.constraints"),
    ("neuronka.random", "keras.random"),
    ("neuronka.dtype_policies", "keras"),
    ("neuronka.models", "keras"),
)


# ======================================================================================================
# the registry of custom objects
# ======================================================================================================
def get_custom_objects() -> dict[str, Any]:
    """The global dict of custom objects, name → class or function (``register_keras_serializable`` fills it)."""
    from .models import model as _model  # noqa: PLC0415 - models import this module

    return _model.CUSTOM_OBJECTS


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Decorator registering a class or function for deserialization under ``"package>Name"``.

    A registered class must have ``get_config`` (and ``from_config`` unless ``cls(**config)`` rebuilds it).
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: expected a package name without '>', received {package!r}")

    def decorator(obj):
        class_name = name if name is not None else getattr(obj, "__name__", None)
        if not class_name:
            raise ValueError(f"register_keras_serializable: cannot find a name for {obj!r}; pass `name=`")
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register a class that does not have a get_config() method: {obj.__name__}")
        registered = f"{package}>{class_name}"
        objects = get_custom_objects()
        objects[registered] = obj
        objects[class_name] = obj
        _REGISTERED_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """``"package>Name"`` of a registered object, else its ``__name__``."""
    if obj in _REGISTERED_NAMES:
        return _REGISTERED_NAMES[obj]
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None):
    """The object registered (or given in ``custom_objects`` / ``module_objects``) under ``name``, else None."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    objects = get_custom_objects()
    if name in objects:
        return objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):`` — the objects are resolvable by name inside the block."""

    def __init__(self, custom_objects: dict | None = None, *more: dict) -> None:
        self.custom_objects = dict(custom_objects or {})
        for extra in more:
            self.custom_objects.update(extra or {})
        self._previous: dict[str, Any] = {}

    def __enter__(self):
        objects = get_custom_objects()
        self._previous = {k: objects.get(k, _MISSING) for k in self.custom_objects}
        objects.update(self.custom_objects)
        return self

    def __exit__(self, *exc):
        objects = get_custom_objects()
        for key, value in self._previous.items():
            if value is _MISSING:
                objects.pop(key, None)
            else:
                objects[key] = value
        return False


custom_object_scope = CustomObjectScope


# ======================================================================================================
# the namespaces' get / serialize / deserialize (regularizers, constraints)
# ======================================================================================================
def serialize_in(obj, module: str) -> dict | None:
    """``{"module": module, "class_name", "config", "registered_name": None}`` of a built-in object (None: None)."""
    if obj is None:
        return None
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(), "registered_name": None}


def deserialize_in(config, table: dict, what: str, custom_objects: dict | None = None):
    """The object of ``table`` (or ``custom_objects``) named by ``config`` (a bare name or a config dict)."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    known = {**table, **(custom_objects or {})}
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in known:
        raise ValueError(f"Could not interpret {what} identifier: {config!r}; expected one of {sorted(table)}, "
                         f"a config dict or a callable")
    return known[name].from_config(dict(config.get("config") or {}))


def get_in(identifier, table: dict, what: str, deserialize):
    """Keras's ``get`` of a namespace: None, a name in ``table`` (a class is instantiated), a config dict
    (through ``deserialize``), a class (instantiated), an instance or any callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = table.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if isinstance(obj, type) else obj
    raise ValueError(f"Could not interpret {what} identifier: {identifier!r}; expected one of {sorted(table)}, "
                     f"a config dict or a callable")


# ======================================================================================================
# writing
# ======================================================================================================
def keras_module_of(cls: type) -> str:
    """The module Keras names for a class of neuronka (``"keras.layers"`` for Dense), else the class's own."""
    mod = cls.__module__
    if "_keras_module" in vars(cls):  # a class that names its Keras module itself (keras.utils.FeatureSpace)
        return vars(cls)["_keras_module"]
    for prefix, keras_module in _KERAS_MODULES:
        if mod == prefix or mod.startswith(prefix + "."):
            return keras_module
    return mod


def _function_name(fn) -> str:
    if fn in _REGISTERED_NAMES:
        return _REGISTERED_NAMES[fn]
    return fn.__name__


def serialize_keras_object(obj):
    """``obj`` as a JSON-ready structure in Keras 3's format (see the module docstring)."""
    from .autograd import Tensor  # noqa: PLC0415

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, numpy.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, Tensor):
        return {"class_name": "__tensor__", "config": {"value": obj.numpy().tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, numpy.dtype):
        return obj.name
    if isinstance(obj, (list, tuple)):
        return type(obj)(serialize_keras_object(v) for v in obj)
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        raise ValueError("serialize_keras_object: a lambda cannot be serialized (neuronka never saves code); "
                         "use a named function registered with @register_keras_serializable()")
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return {"module": "builtins", "class_name": "function", "config": _function_name(obj),
                "registered_name": "function"}
    if isinstance(obj, type):
        return {"module": keras_module_of(obj), "class_name": obj.__name__, "config": None,
                "registered_name": _REGISTERED_NAMES.get(obj)}
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize_keras_object: cannot serialize {obj!r} (of type {type(obj).__name__}): "
                        f"expected a built-in value, an array, a function or an object with get_config()")
    cls = type(obj)
    # a class Keras exports under another name (GroupedQueryAttention → "GroupQueryAttention") says so itself
    out = {"module": keras_module_of(cls), "class_name": cls.__dict__.get("_keras_export_name", cls.__name__),
           "config": serialize_keras_object(obj.get_config()),
           "registered_name": _REGISTERED_NAMES.get(cls, vars(cls).get("_keras_registered_name"))}
    if cls.__name__ == "Functional":
        out["module"], out["registered_name"] = "keras.src.models.functional", "Functional"
    identity = getattr(obj, "_keras_serialized_class", None)
    if callable(identity):  # an op on symbolic tensors: Keras's operation class (neuronka.layers.operation)
        out["module"], out["class_name"], out["registered_name"] = identity()
    build_config = obj.get_build_config() if callable(getattr(obj, "get_build_config", None)) else None
    if build_config is not None:  # Keras's: the build arguments, so that loading can build before the weights
        out["build_config"] = serialize_keras_object(build_config)
    compile_getter = getattr(obj, "get_compile_config", None)
    if callable(compile_getter):  # a model: its compile arguments too ({} when not compiled), as Keras
        out["compile_config"] = serialize_keras_object(compile_getter() or {})
    return out


# ======================================================================================================
# reading
# ======================================================================================================
def _namespaces_for(module: str | None) -> list:
    """neuronka's namespaces to look a class up in, for the Keras module named in a config."""
    from . import (  # noqa: PLC0415
        activations,
        constraints,
        dtype_policies,
        initializers,
        layers,
        losses,
        metrics,
        models,
        optimizers,
        random,
        regularizers,
        schedules,
    )

    table = [("layers", layers), ("initializers", initializers), ("losses", losses), ("metrics", metrics),
             ("schedules", schedules), ("optimizers", optimizers), ("regularizers", regularizers),
             ("constraints", constraints), ("activations", activations), ("random", random)]
    everything = [ns for _, ns in table] + [models, dtype_policies]
    if not module:
        return everything
    parts = module.split(".")
    if parts[0] != "keras":
        return []
    if module in ("keras.utils", "keras.src.layers.preprocessing.feature_space"):
        from .utils import feature_space  # noqa: PLC0415

        return [feature_space]
    for key, ns in table:
        if key in parts:
            return [ns]
    if module in ("keras", "keras.models") or "models" in parts:
        return [models, dtype_policies, layers]
    return everything if module.startswith("keras.src") else [dtype_policies, models]


def _lookup(class_name: str, module: str | None, registered_name: str | None, custom_objects: dict | None):
    for name in (registered_name, class_name):
        if name and custom_objects and name in custom_objects:
            return custom_objects[name]
    objects = get_custom_objects()
    for name in (registered_name, class_name):
        if name and name in objects:
            return objects[name]
    for ns in _namespaces_for(module):
        obj = getattr(ns, class_name, None)
        if isinstance(obj, type):
            return obj
    if module is None or module.startswith("keras"):  # layers and models by name (Functional, Sequential, ...)
        from .models import model as _model  # noqa: PLC0415

        try:
            return _model.get_layer_class(class_name)
        except (KeyError, ValueError, TypeError):
            pass
    return None


def _lookup_function(name: str, custom_objects: dict | None):
    found = get_registered_object(name, custom_objects)
    if found is not None:
        return found
    from . import activations, losses, metrics  # noqa: PLC0415

    for ns in (activations, losses, metrics):
        fn = getattr(ns, name, None)
        if callable(fn) and not isinstance(fn, type):
            return fn
    return None


def deserialize_keras_object(config, custom_objects: dict | None = None, safe_mode: bool = True, **kwargs):
    """Rebuild what :func:`serialize_keras_object` (or Keras) wrote. Classes come from ``custom_objects``,
    the registry and neuronka's namespaces only; ``__lambda__`` (Python bytecode) is always refused."""
    from .autograd import Tensor  # noqa: PLC0415

    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, (list, tuple)):
        return type(config)(deserialize_keras_object(v, custom_objects, safe_mode) for v in config)
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object: expected a dict, a list or a plain value, received {config!r}")
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode) for k, v in config.items()}
    class_name, inner = config["class_name"], config.get("config")
    module, registered = config.get("module"), config.get("registered_name")
    if class_name in ("__numpy__", "__tensor__"):
        if not isinstance(inner, dict) or "value" not in inner:
            raise ValueError(f"deserialize_keras_object: a {class_name} config needs 'value' and 'dtype', "
                             f"received {inner!r}")
        value = numpy.asarray(inner["value"], dtype=inner.get("dtype"))
        return value if class_name == "__numpy__" else Tensor(value)
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__lambda__":
        raise ValueError("Requested the deserialization of a Python lambda (its bytecode is stored in the config). "
                         "neuronka never runs code from a file: rewrite the lambda as a named function registered "
                         "with @register_keras_serializable()")
    if class_name == "function":
        if not isinstance(inner, str):
            raise ValueError(f"deserialize_keras_object: a function config names the function; received {inner!r}")
        fn = _lookup_function(inner, custom_objects)
        if fn is None:
            raise ValueError(f"Could not locate function '{inner}'. Make sure custom functions are decorated with "
                             f"`@keras.saving.register_keras_serializable()` or passed in `custom_objects`.")
        return fn
    cls = _lookup(class_name, module, registered, custom_objects)
    if cls is None:
        raise TypeError(f"Could not locate class '{class_name}' (module {module!r}, registered name {registered!r}). "
                        f"Make sure custom classes are decorated with `@keras.saving.register_keras_serializable()` "
                        f"or passed in `custom_objects`. Full object config: {config}")
    if inner is None and isinstance(cls, type) and not config.get("config", True):
        return cls
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name}, instead got {type(inner)}. "
                        f"Full config: {config}")
    with CustomObjectScope(custom_objects):
        if hasattr(cls, "from_config"):
            try:
                instance = cls.from_config(inner)
            except TypeError as err:
                raise TypeError(f"{class_name}.from_config() could not rebuild the object from {inner}: {err}") \
                    from err
            build_config = config.get("build_config")
            if build_config and not getattr(instance, "built", True) and hasattr(instance, "build_from_config"):
                instance.build_from_config(build_config)  # Keras's: built before its weights are loaded
            return instance
        try:
            return cls(**inner)
        except TypeError as err:
            raise TypeError(f"Unable to reconstruct an instance of '{class_name}' because the class is missing a "
                            f"`from_config()` method and its constructor refuses the config ({err}). Full object "
                            f"config: {config}") from err

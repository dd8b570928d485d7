"""Saving and loading models and weights in a format whose loading never runs code from the file.

File formats
------------
**Weights file** (``save_weights`` → ``*.weights.npz``; a ``*.weights.h5`` name is accepted too and holds
the same format — it is *not* HDF5): a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

- ``__neuronka__``: a ``uint8`` array, the UTF-8 bytes of a JSON manifest::

      {"format": "neuronka.weights", "version": 1,
       "weights": [{"key": "w00000", "path": "dense/kernel", "shape": [4, 3], "dtype": "float32"}, ...],
       "optimizer": null | {"class_name": "Adam", "variables": [0, 1, ...],
                            "state": [{"name": "iterations", "key": "o00000"}, ...]}}

- ``w00000``, ``w00001``, ...: the model's weights in the model's structural order (the order in which
  layers create them, independent of ``trainable``), matched on loading by order and shape;
- ``o00000``, ...: the optimizer state (``Optimizer.get_state()``) when the model is compiled.
  ``optimizer.variables`` lists, for each variable the optimizer tracks, its index among the weights.

**Model file** (``save_model`` → ``*.keras``): a zip archive, as Keras 3's ``.keras``, of

- ``metadata.json``: ``{"format": "neuronka.keras", "version": 1, "neuronka_version": ..., "date_saved": ...}``;
- ``config.json``: ``{"module", "class_name", "registered_name", "config": model.get_config(),
  "build_config", "compile_config"}``; the class is looked up by name among neuronka's models and
  layers and the registered custom objects — never imported from a module named in the file;
- ``model.weights.npz``: a weights file as above (with the optimizer state).

Safety: arrays are read with ``numpy.load(..., allow_pickle=False)`` (an object array or a pickled
``.npy`` is refused), configs are plain JSON, and classes come only from the registry. Every problem
(a truncated or non-zip file, bad JSON, a missing or extra weight, a wrong shape, a non-numeric array)
raises ``ValueError`` *before* anything is assigned: the target model is left untouched. Optimizer state
that does not fit the model's optimizer (another class, other slot shapes) is skipped with a warning, as
Keras does, and the optimizer is left as it was.

Writes are atomic: the file is written to a temporary file in the same directory, flushed, fsynced,
then renamed over the target with ``os.replace``; a failure part-way leaves the previous file intact
and removes the temporary file.
"""
from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import tempfile
import warnings
import zipfile
from typing import Any

import numpy

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]

FORMAT_VERSION = 1
_MANIFEST_KEY = "__neuronka__"
_MODEL_MEMBERS = ("metadata.json", "config.json", "model.weights.npz")
_MAX_JSON_BYTES = 64 * 1024 * 1024
_NUMERIC_KINDS = "biufc"


# the registry of custom objects and the Keras-format (de)serialization live in neuronka/serialization.py
from .serialization import (  # noqa: E402, F401 (re-exported: keras.saving)
    _REGISTERED_NAMES,
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)


def _resolve_class(class_name: str, registered_name: str | None = None):
    """The class called ``class_name``: registered custom objects, then neuronka's layers and models.

    Only these registries are consulted; no module named in a file is ever imported.
    """
    from .models import model as _model  # noqa: PLC0415

    objects = _model.CUSTOM_OBJECTS
    if registered_name and registered_name in objects:
        return objects[registered_name]
    try:
        return _model.get_layer_class(class_name)
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(
            f"Could not locate class {class_name!r} (registered name {registered_name!r}): {e}. Make sure custom "
            f"classes are decorated with `@neuronka.saving.register_keras_serializable()` or passed in "
            f"`custom_objects`."
        ) from None


def _jsonable(value):
    """Configs as plain JSON: tuples → lists, NumPy scalars/arrays → Python numbers/lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, numpy.dtype):
        return value.name
    return value


def _json_dumps(obj, what: str) -> bytes:
    try:
        return json.dumps(_jsonable(obj), indent=2, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} is not JSON-serializable: {e}") from e


# ======================================================================================
# atomic writes
# ======================================================================================
def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _write_all(f, data: bytes) -> None:
    """Write ``data`` to the open temporary file (the step a crash can interrupt)."""
    f.write(data)


def atomic_write_bytes(filepath, data: bytes, overwrite: bool = True) -> None:
    """Write ``data`` to ``filepath`` atomically: temp file in the same directory, flush, fsync, ``os.replace``."""
    filepath = os.fspath(filepath)
    if os.path.isdir(filepath):
        raise IsADirectoryError(f"expected a file path to write, received an existing directory: {filepath}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists and overwrite=False")
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    mode = (os.stat(filepath).st_mode & 0o777) if os.path.exists(filepath) else (0o666 & ~_UMASK)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(filepath)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename durable too (POSIX)
        with contextlib.suppress(OSError):
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


# ======================================================================================
# weights: model variables <-> npz
# ======================================================================================
def _model_variables(model) -> list:
    """The model's weights in structural order (stable when layers are frozen or unfrozen)."""
    weights = list(model.weights)
    all_weights = getattr(model, "_all_weights", None)
    if callable(all_weights):
        structural = list(all_weights())
        if len(structural) == len(weights) and {id(w) for w in structural} == {id(w) for w in weights}:
            return structural
    return weights


def _var_path(var, index: int) -> str:
    return str(getattr(var, "path", None) or getattr(var, "name", None) or f"weight_{index}")


def _to_numpy(value) -> numpy.ndarray:
    if hasattr(value, "numpy") and not isinstance(value, numpy.ndarray):
        return numpy.asarray(value.numpy())
    return numpy.asarray(value)


def _weights_payload(model, include_optimizer: bool = True) -> bytes:
    """The ``.npz`` bytes of the model's weights (and its optimizer state when compiled)."""
    variables = _model_variables(model)
    arrays: dict[str, numpy.ndarray] = {}
    entries = []
    for i, var in enumerate(variables):
        arr = _check_numeric(numpy.asarray(_to_numpy(var), order="C"), f"save_weights: weight {_var_path(var, i)}")
        key = f"w{i:05d}"
        arrays[key] = arr
        entries.append({"key": key, "path": _var_path(var, i), "shape": list(arr.shape), "dtype": arr.dtype.name})
    manifest: dict[str, Any] = {"format": "neuronka.weights", "version": FORMAT_VERSION, "weights": entries,
                                "optimizer": None}
    optimizer = getattr(model, "optimizer", None) if include_optimizer else None
    if optimizer is not None and callable(getattr(optimizer, "get_state", None)):
        state = optimizer.get_state()
        index = {id(v): i for i, v in enumerate(variables)}
        tracked = getattr(optimizer, "_variables", None)
        if tracked is None:
            tracked = [v for v in variables if getattr(v, "trainable", True)]
        opt_vars = [index.get(id(v)) for v in tracked]
        if all(i is not None for i in opt_vars):
            state_entries = []
            for j, (name, value) in enumerate(state.items()):
                key = f"o{j:05d}"
                arrays[key] = _check_numeric(numpy.asarray(_to_numpy(value), order="C"),
                                             f"save_weights: optimizer state {name!r}")
                state_entries.append({"name": str(name), "key": key})
            manifest["optimizer"] = {"class_name": type(optimizer).__name__, "variables": opt_vars,
                                     "state": state_entries}
        else:
            warnings.warn("save_weights: the optimizer tracks variables that are not the model's weights; "
                          "its state is not saved", stacklevel=3)
    arrays[_MANIFEST_KEY] = numpy.frombuffer(_json_dumps(manifest, "the weights manifest"), dtype=numpy.uint8)
    buf = io.BytesIO()
    numpy.savez(buf, **arrays)
    return buf.getvalue()


class _WeightsFile:
    """A parsed, validated weights payload: the manifest plus every array, already read."""

    def __init__(self, weights: list[tuple[str, numpy.ndarray]], optimizer: dict | None):
        self.weights = weights  # [(path, array)]
        self.optimizer = optimizer  # None or {"class_name", "variables", "state": {name: array}}


def _parse_weights(data: bytes, source: str) -> _WeightsFile:
    if not data.startswith(b"PK"):
        if data.startswith(b"\x89HDF"):
            raise ValueError(f"{source}: this is an HDF5 file (Keras's own format), which neuronka does not read; "
                             f"expected a neuronka weights file (.npz)")
        raise ValueError(f"{source}: not a neuronka weights file (expected an .npz zip archive)")
    try:
        npz = numpy.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is a corrupt file
        raise ValueError(f"{source}: cannot read the weights archive (truncated or corrupted?): {e}") from e
    with npz:
        if _MANIFEST_KEY not in npz.files:
            raise ValueError(f"{source}: the weights archive has no '{_MANIFEST_KEY}' manifest; "
                             f"not a neuronka weights file")

        def read(key: str) -> numpy.ndarray:
            if key not in npz.files:
                raise ValueError(f"{source}: the weights archive is missing the array {key!r}")
            try:
                arr = npz[key]
            except ValueError as e:  # object arrays need pickle: refused
                raise ValueError(f"{source}: array {key!r} cannot be loaded safely ({e}); "
                                 f"pickled / object arrays are refused") from e
            except Exception as e:  # noqa: BLE001
                raise ValueError(f"{source}: array {key!r} is corrupted: {e}") from e
            return arr

        raw = read(_MANIFEST_KEY)
        if raw.dtype != numpy.uint8 or raw.ndim != 1:
            raise ValueError(f"{source}: the manifest must be a 1-D uint8 array, received {raw.dtype} {raw.shape}")
        manifest = _json_loads(raw.tobytes(), f"{source} (weights manifest)")
        if not isinstance(manifest, dict) or manifest.get("format") != "neuronka.weights":
            raise ValueError(f"{source}: the manifest does not describe neuronka weights: {str(manifest)[:200]}")
        if not isinstance(manifest.get("version"), int) or manifest["version"] > FORMAT_VERSION:
            raise ValueError(f"{source}: weights format version {manifest.get('version')!r} is not supported "
                             f"(this neuronka reads versions up to {FORMAT_VERSION})")
        entries = manifest.get("weights")
        if not isinstance(entries, list):
            raise ValueError(f"{source}: the manifest has no list of weights")
        weights = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                raise ValueError(f"{source}: weight entry {i} of the manifest is malformed: {entry!r}")
            arr = _check_numeric(read(entry["key"]), f"{source}: weight {i} ({entry.get('path')})")
            if list(arr.shape) != list(entry.get("shape", arr.shape)):
                raise ValueError(f"{source}: weight {i} ({entry.get('path')}) has shape {arr.shape} but the manifest "
                                 f"says {tuple(entry.get('shape'))}; the file is inconsistent")
            weights.append((str(entry.get("path", f"weight_{i}")), arr))
        optimizer = None
        opt = manifest.get("optimizer")
        if opt is not None:
            if (not isinstance(opt, dict) or not isinstance(opt.get("state"), list)
                    or not isinstance(opt.get("variables"), list)):
                raise ValueError(f"{source}: the optimizer entry of the manifest is malformed")
            state = {}
            for entry in opt["state"]:
                if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                    raise ValueError(f"{source}: an optimizer state entry is malformed: {entry!r}")
                state[str(entry.get("name"))] = _check_numeric(read(entry["key"]), f"{source}: optimizer state "
                                                                                   f"{entry.get('name')!r}")
            variables = opt["variables"]
            if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(weights) for i in variables):
                raise ValueError(f"{source}: the optimizer's variable indices are out of range")
            optimizer = {"class_name": opt.get("class_name"), "variables": variables, "state": state}
    return _WeightsFile(weights, optimizer)


def _check_numeric(arr: numpy.ndarray, what: str) -> numpy.ndarray:
    if arr.dtype.kind not in _NUMERIC_KINDS or arr.dtype.fields is not None:
        raise ValueError(f"{what}: expected a numeric array, received dtype {arr.dtype}")
    return arr


def _json_loads(data: bytes, source: str):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{source}: invalid JSON ({e})") from e


def _apply_weights(model, wf: _WeightsFile, source: str, skip_mismatch: bool = False,
                   load_optimizer: bool = True) -> None:
    """Check everything against the model, then assign; on any error the model is unchanged."""
    targets = _model_variables(model)
    name = getattr(model, "name", type(model).__name__)
    if len(wf.weights) != len(targets):
        built = "" if getattr(model, "built", True) else " (the model is not built: call it on data or build() first)"
        raise ValueError(
            f"{source}: model {name!r} expects {len(targets)} weights{built}, but the file holds "
            f"{len(wf.weights)}. Expected {[_var_path(v, i) for i, v in enumerate(targets)]}, "
            f"received {[p for p, _ in wf.weights]}"
        )
    plan = []
    for i, (var, (path, arr)) in enumerate(zip(targets, wf.weights)):
        expected = tuple(var.shape)
        if tuple(arr.shape) != expected:
            msg = (f"{source}: weight {i} of layer {_var_path(var, i).rsplit('/', 1)[0]!r} "
                   f"({_var_path(var, i)}) expected shape {expected}, received shape {tuple(arr.shape)} "
                   f"(saved as {path!r})")
            if skip_mismatch:
                warnings.warn(msg + "; skipped", stacklevel=3)
                continue
            raise ValueError(msg)
        plan.append((var, arr.astype(numpy.dtype(var.dtype), copy=False)))
    optimizer = getattr(model, "optimizer", None)
    restore_opt = (load_optimizer and wf.optimizer is not None and optimizer is not None
                   and callable(getattr(optimizer, "set_state", None)))
    if restore_opt:
        opt_vars = [targets[i] for i in wf.optimizer["variables"]]
        saved_cls = wf.optimizer.get("class_name")
        if saved_cls != type(optimizer).__name__:
            warnings.warn(f"{source}: the optimizer state was saved from {saved_cls}, the model's optimizer is "
                          f"{type(optimizer).__name__}; skipping the optimizer state", stacklevel=3)
        else:
            backup = None
            if callable(getattr(optimizer, "get_state", None)):
                backup = (optimizer.get_state(), list(getattr(optimizer, "_variables", []) or []))
            try:
                optimizer.set_state(wf.optimizer["state"], opt_vars)
            except Exception as e:  # noqa: BLE001 - as Keras: put the optimizer back, warn, load the weights
                if backup is not None:
                    with contextlib.suppress(Exception):
                        optimizer.set_state(backup[0], backup[1])
                warnings.warn(f"{source}: skipping the optimizer state, which does not fit the model's optimizer "
                              f"({type(optimizer).__name__}): {e}", stacklevel=3)
    for var, arr in plan:
        var.assign(arr)


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write the model's weights (and optimizer state, when compiled) to ``filepath`` atomically.

    ``filepath`` must end in ``.weights.npz`` or ``.weights.h5`` (the latter holds the same npz format).
    """
    filepath = os.fspath(filepath)
    if not filepath.endswith((".weights.npz", ".weights.h5")):
        raise ValueError(f"The filename must end in `.weights.npz` or `.weights.h5`. Received: filepath={filepath}")
    atomic_write_bytes(filepath, _weights_payload(model), overwrite=overwrite)


def _read_file(filepath: str) -> bytes:
    try:
        with open(filepath, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"No such file: {filepath}") from None
    except IsADirectoryError:
        raise ValueError(f"expected a file, received a directory: {filepath}") from None


def load_weights(model, filepath, skip_mismatch: bool = False) -> None:
    """Load weights saved by :func:`save_weights` (or the weights inside a ``.keras`` file) into ``model``.

    Weights are matched by order and shape; a mismatch raises ``ValueError`` naming the layer and both
    shapes, and leaves the model unchanged. The optimizer state is restored when the model has an optimizer.
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(".keras") or (os.path.isfile(filepath) and _is_model_archive(filepath)):
        members = _read_model_archive(filepath)
        wf = _parse_weights(members["model.weights.npz"], f"{filepath}:model.weights.npz")
    else:
        wf = _parse_weights(_read_file(filepath), filepath)
    _apply_weights(model, wf, filepath, skip_mismatch=skip_mismatch)


# ======================================================================================
# whole models
# ======================================================================================
def _build_config(model) -> dict | None:
    getter = getattr(model, "get_build_config", None)
    if callable(getter):
        with contextlib.suppress(Exception):
            cfg = getter()
            if cfg is not None:
                return _jsonable(cfg)
    for attr in ("_build_input_shape", "_build_shapes"):
        shape = getattr(model, attr, None)
        if shape is not None:
            return {"input_shape": _jsonable(shape)}
    return None


def _compile_config(model) -> dict | None:
    getter = getattr(model, "get_compile_config", None)
    if callable(getter):
        try:
            cfg = getter()
        except Exception as e:  # noqa: BLE001
            warnings.warn(f"save_model: the compile configuration could not be saved ({e})", stacklevel=3)
            return None
        return None if cfg is None else _jsonable(cfg)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    from . import losses, optimizers  # noqa: PLC0415

    cfg: dict[str, Any] = {"optimizer": optimizers.serialize(optimizer)}
    loss = getattr(model, "loss", None)
    try:
        cfg["loss"] = _serialize_loss(loss, losses)
    except ValueError as e:
        warnings.warn(f"save_model: the loss could not be serialized ({e}); the model will load without it",
                      stacklevel=3)
        cfg["loss"] = None
    metrics = getattr(model, "_compile_metrics", None)
    cfg["metrics"] = _jsonable(metrics) if _is_json_plain(metrics) else None
    return _jsonable(cfg)


def _serialize_loss(loss, losses):
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return [_serialize_loss(x, losses) for x in loss]
    if isinstance(loss, dict):
        return {k: _serialize_loss(v, losses) for k, v in loss.items()}
    return losses.serialize(loss)


def _is_json_plain(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _model_archive_bytes(model, include_optimizer: bool = True) -> bytes:
    """Everything serialized in memory first: a config error leaves the file system untouched."""
    cls = type(model)
    config = {
        "module": cls.__module__,
        "class_name": cls.__name__,
        "registered_name": get_registered_name(cls),
        "config": model.get_config(),
        "build_config": _build_config(model),
        "compile_config": _compile_config(model) if include_optimizer else None,
    }
    from . import __version__  # noqa: PLC0415

    metadata = {"format": "neuronka.keras", "version": FORMAT_VERSION, "neuronka_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    members = {
        "metadata.json": _json_dumps(metadata, "the metadata"),
        "config.json": _json_dumps(config, f"the config of model {getattr(model, 'name', cls.__name__)!r}"),
        "model.weights.npz": _weights_payload(model, include_optimizer=include_optimizer),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in _MODEL_MEMBERS:
            zf.writestr(name, members[name])
    return buf.getvalue()


def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True, **kwargs) -> None:
    """Save the architecture (config), weights and compile state / optimizer state to a ``.keras`` zip, atomically.

    ``overwrite=False`` refuses to replace an existing file (``FileExistsError``).
    """
    kwargs.pop("zipped", None)
    kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save_model: unrecognized keyword arguments {sorted(kwargs)}")
    filepath = os.fspath(filepath)
    if not filepath.endswith((".keras", ".h5")):
        raise ValueError(
            f"Invalid filepath extension for saving. Please add the `.keras` extension at the end of the "
            f"filename. Received: filepath={filepath}"
        )
    atomic_write_bytes(filepath, _model_archive_bytes(model, include_optimizer), overwrite=overwrite)


def _is_model_archive(filepath: str) -> bool:
    try:
        with zipfile.ZipFile(filepath) as zf:
            return "config.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _read_model_archive(filepath: str) -> dict[str, bytes]:
    """The members of a ``.keras`` zip (or of a directory holding the same files), validated."""
    members: dict[str, bytes] = {}
    if os.path.isdir(filepath):
        for name in _MODEL_MEMBERS:
            path = os.path.join(filepath, name)
            if not os.path.isfile(path):
                raise ValueError(f"{filepath}: not a neuronka model directory: {name} is missing")
            members[name] = _read_file(path)
        return members
    data = _read_file(filepath)
    if not data.startswith(b"PK"):
        raise ValueError(f"{filepath}: not a .keras model file (expected a zip archive; truncated or wrong file?)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            missing = [n for n in ("config.json", "model.weights.npz") if n not in names]
            if missing:
                raise ValueError(f"{filepath}: not a neuronka .keras file: missing {missing} (found {sorted(names)})")
            for name in _MODEL_MEMBERS:
                if name not in names:
                    continue
                info = zf.getinfo(name)
                if name.endswith(".json") and info.file_size > _MAX_JSON_BYTES:
                    raise ValueError(f"{filepath}: {name} is implausibly large ({info.file_size} bytes)")
                members[name] = zf.read(name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError) as e:
        raise ValueError(f"{filepath}: cannot read the .keras archive (truncated or corrupted?): {e}") from e
    except RuntimeError as e:  # encrypted members and the like
        raise ValueError(f"{filepath}: cannot read the .keras archive: {e}") from e
    return members


def _rebuild(config: dict, source: str):
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"{source}: config.json must be an object with a 'class_name'")
    if not isinstance(config.get("config"), (dict, list)):
        raise ValueError(f"{source}: config.json has no model 'config'")
    cls = _resolve_class(config["class_name"], config.get("registered_name"))
    if not isinstance(cls, type) or not callable(getattr(cls, "from_config", None)):
        raise ValueError(f"{source}: {config['class_name']!r} resolves to {cls!r}, which is not a model class")
    build_cfg = config.get("build_config")
    try:
        model = cls.from_config(config["config"])
        if build_cfg and (not getattr(model, "built", True) or not _model_variables(model)):
            if callable(getattr(model, "build_from_config", None)):
                model.build_from_config(build_cfg)
            elif isinstance(build_cfg, dict) and build_cfg.get("input_shape") is not None:
                shape = build_cfg["input_shape"]
                model.build(tuple(shape) if shape and not isinstance(shape[0], list) else [tuple(s) for s in shape])
    except Exception as e:  # noqa: BLE001 - a bad config is a bad file
        raise ValueError(f"{source}: could not rebuild {config['class_name']} from its config: "
                         f"{type(e).__name__}: {e}") from e
    return model


def _compile_from_config(model, cfg: dict, source: str, custom_objects: dict | None) -> bool:
    compile_from = getattr(model, "compile_from_config", None)
    try:
        if callable(compile_from):
            compile_from(cfg)
        else:
            from . import losses, optimizers  # noqa: PLC0415

            optimizer = optimizers.deserialize(cfg["optimizer"], custom_objects) if cfg.get("optimizer") else None
            loss = cfg.get("loss")
            if loss is not None:
                loss = _deserialize_loss(loss, losses, custom_objects)
            model.compile(optimizer=optimizer, loss=loss, metrics=cfg.get("metrics"))
    except Exception as e:  # noqa: BLE001 - as Keras: warn, return the uncompiled model
        warnings.warn(f"{source}: the model could not be compiled from its saved compile config "
                      f"({type(e).__name__}: {e}); it is returned uncompiled", stacklevel=3)
        return False
    return True


def _deserialize_loss(loss, losses, custom_objects):
    if isinstance(loss, list):
        return [_deserialize_loss(x, losses, custom_objects) for x in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {k: _deserialize_loss(v, losses, custom_objects) for k, v in loss.items()}
    return losses.deserialize(loss, custom_objects)


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Rebuild a model saved by :func:`save_model`: config → classes from the registry → weights → compile.

    ``custom_objects`` maps class names to classes for this load (on top of the registered ones).
    ``compile=True`` restores the optimizer / loss / metrics and the optimizer state.
    ``safe_mode`` is accepted for Keras compatibility: loading never executes code from the file anyway.
    """
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"File not found: filepath={filepath}. Please ensure the file is an accessible "
                                f"`.keras` zip file.")
    members = _read_model_archive(filepath)
    config = _json_loads(members["config.json"], f"{filepath}:config.json")
    if "metadata.json" in members:
        meta = _json_loads(members["metadata.json"], f"{filepath}:metadata.json")
        version = meta.get("version", 1) if isinstance(meta, dict) else 1
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise ValueError(f"{filepath}: saved with format version {version}; this neuronka reads up to "
                             f"{FORMAT_VERSION}")
    wf = _parse_weights(members["model.weights.npz"], f"{filepath}:model.weights.npz")
    with CustomObjectScope(custom_objects):
        model = _rebuild(config, f"{filepath}:config.json")
        compiled = False
        compile_cfg = config.get("compile_config") if isinstance(config, dict) else None
        if compile and compile_cfg:
            compiled = _compile_from_config(model, compile_cfg, filepath, custom_objects)
    _apply_weights(model, wf, filepath, load_optimizer=compiled)
    return model

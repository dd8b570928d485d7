"""Keras 2's HDF5 files (``.h5`` / ``.hdf5``), read and written: whole models and weights alone.

This is the format of Keras's published ImageNet weights (``resnet50_weights_tf_dim_ordering_tf_kernels.h5``
and the others), which is why :func:`load_weights_from_hdf5` is a function of its own.

Weights (a weights-only file's root, or a model file's ``model_weights`` group)::

    attributes  layer_names = [b"conv1_pad", b"conv1_conv", ...]    model.layers, in order
                backend = b"numpy", keras_version = b"3.15.1"
    conv1_conv/                      one group per layer (created in name order)
        attribute  weight_names = [b"conv1_conv/kernel", b"conv1_conv/bias"]
        conv1_conv/kernel, conv1_conv/bias                        the datasets those names point to
    top_level_model_weights/         the model's own weights (usually none)

A layer's weights are ``layer.trainable_weights + layer.non_trainable_weights`` (Keras's legacy order); lists of
names too long for an HDF5 object header are split into ``layer_names0``, ``layer_names1``, ...

A whole model adds, at the root, the attributes ``model_config`` (JSON: ``{"class_name", "config"}``, the layers
without ``module`` / ``registered_name``, as Keras writes it), ``training_config`` (JSON: the compile arguments with
``optimizer_config``), ``keras_version`` and ``backend``, and an ``optimizer_weights`` group (``weight_names`` =
``["adam/iteration", ...]``: the optimizer's variables in Keras 3's order).

Loading weights goes by topological order (the i-th layer with weights in the file → the i-th layer with weights
in the model; the counts must agree) or, ``by_name=True``, by layer name (layers absent from the file keep their
weights). ``skip_mismatch=True`` skips, with a warning, a weight whose shape differs (and, by name, a layer whose
number of weights differs). Everything is read and checked before the first assignment (:mod:`.h5io`'s rules:
hard links only, shapes checked before reading, finite floats), so a failed load leaves the model untouched.
"""
from __future__ import annotations

import os
import warnings

import numpy

from . import config_io, h5io, limits, transfer
from .atomic import atomic_write_bytes
from .h5io import WeightMismatch
from .object_tree import own_variables
from .saving_lib import KERAS_FORMAT_VERSION

BACKEND = "numpy"


# ---------------------------------------------------------------------------------------------- weights
def legacy_weights(layer) -> list:
    """Keras's legacy order of a layer's weights: trainable, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _weight_names(layer, weights) -> list[str]:
    """Unique dataset names for a layer's weights, Keras-style ("lstm/lstm_cell/kernel")."""
    names, taken = [], set()
    for i, w in enumerate(weights):
        path = str(getattr(w, "path", None) or getattr(w, "name", None) or f"weight_{i}")
        name = path if path.startswith(f"{layer.name}/") else f"{layer.name}/{path}"
        base, k = name, 1
        while name in taken or any(t.startswith(name + "/") or name.startswith(t + "/") for t in taken):
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        names.append(name)
    return names


def _write_subset(group, layer, weights) -> None:
    from .stores import _check_saveable, _to_numpy  # noqa: PLC0415

    names = _weight_names(layer, weights)
    h5io.set_names_attr(group, "weight_names", names)
    for name, w in zip(names, weights):
        group.create_dataset(name, data=_check_saveable(_to_numpy(w), f"{layer.name}: {name}"))


def save_weights_to_group(group, model) -> None:
    """Write ``model``'s weights into an HDF5 group in Keras 2's layout."""
    layers = list(model.layers)
    h5io.set_names_attr(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = BACKEND.encode("utf-8")
    group.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode("utf-8")
    for layer in sorted(layers, key=lambda la: la.name):
        _write_subset(group.create_group(layer.name), layer, legacy_weights(layer))
    _write_subset(group.create_group("top_level_model_weights"), model, own_variables(model))


def save_weights_to_hdf5(model, filepath, overwrite: bool = True) -> None:
    """Write ``model``'s weights as a Keras 2 weights file (the layout of Keras's published weights), atomically."""
    f, buf = h5io.new_file()
    with f:
        save_weights_to_group(f, model)
    atomic_write_bytes(os.fspath(filepath), buf.getvalue(), overwrite=overwrite)


def _weights_root(f, source: str):
    if "layer_names" in f.attrs or "layer_names0" in f.attrs:
        return f
    group = h5io.child(f, "model_weights", source, kind="group")
    if group is not None and ("layer_names" in group.attrs or "layer_names0" in group.attrs):
        return group
    raise ValueError(f"{source}: not a Keras 2 weights file: no 'layer_names' attribute at its root or in "
                     f"'model_weights'")


def _saved_datasets(root, name: str, source: str) -> list:
    group = h5io.child(root, name, source, kind="group")
    if group is None:
        raise ValueError(f"{source}: 'layer_names' lists {name!r}, but the file has no group of that name")
    names = h5io.read_names_attr(group, "weight_names", source) or []
    datasets = []
    for wname in names:
        ds = h5io.dataset_at(group, wname, source)
        if ds is None:
            raise ValueError(f"{source}: layer {name!r} lists the weight {wname!r}, which the file does not hold")
        datasets.append(ds)
    return datasets


def _plan_layer(owner, label: str, targets: list, datasets: list, source: str, skip_mismatch: bool, plan: list):
    for var, ds in zip(targets, datasets):
        try:
            array = h5io.read_array(ds, tuple(var.shape), numpy.dtype(var.dtype), source, f"{label}: {var.path}")
        except WeightMismatch as e:
            if not skip_mismatch:
                raise WeightMismatch(f"{source}: shape mismatch in {label} for weight "
                                     f"{getattr(var, 'path', var)}: {e}") from None
            warnings.warn(f"Skipping loading weights for {label} due to mismatch in shape: {e}", stacklevel=4)
            continue
        plan.append((owner, var, array))


def load_weights_from_hdf5(model, filepath, by_name: bool = False, skip_mismatch: bool = False) -> None:
    """Load a Keras 2 weights file (or the weights of a Keras 2 model file) into ``model``.

    ``by_name=False``: the layers with weights, in order, must match the file's layers with weights, in order
    (count mismatch: ``ValueError`` even with ``skip_mismatch``). ``by_name=True``: each layer of the file goes
    to the model's layer of the same name. ``filepath`` may also be an open ``h5py`` group."""
    h5py = h5io.h5py_module()
    if isinstance(filepath, (h5py.File, h5py.Group)):
        source = getattr(filepath.file, "filename", "<h5>")
        _load_weights(model, filepath, source, by_name, skip_mismatch)
        return
    source = os.fspath(filepath)
    f = h5io.open_h5(source, source)
    try:
        _load_weights(model, f, source, by_name, skip_mismatch)
    finally:
        f.close()


def _load_weights(model, f, source, by_name, skip_mismatch):
    root = _weights_root(f, source)
    names = h5io.read_names_attr(root, "layer_names", source) or []
    plan: list = []
    layers = list(model.layers)
    if by_name:
        index: dict[str, list] = {}
        for layer in layers:
            index.setdefault(layer.name, []).append(layer)
        for k, name in enumerate(names):
            targets = index.get(name)
            if not targets:
                continue
            datasets = _saved_datasets(root, name, source)
            for layer in targets:
                weights = legacy_weights(layer)
                label = f"layer #{k} (named {layer.name})"
                if len(weights) != len(datasets):
                    msg = (f"{source}: weight count mismatch for {label}: the layer expects {len(weights)} "
                           f"weight(s), the file holds {len(datasets)}")
                    if not skip_mismatch:
                        raise WeightMismatch(msg)
                    warnings.warn(msg + "; skipped", stacklevel=3)
                    continue
                _plan_layer(layer, label, weights, datasets, source, skip_mismatch, plan)
    else:
        with_weights = [layer for layer in layers if legacy_weights(layer)]
        saved = [(name, _saved_datasets(root, name, source)) for name in names]
        saved = [(name, ds) for name, ds in saved if ds]
        if len(saved) != len(with_weights):
            raise WeightMismatch(f"{source}: layer count mismatch when loading weights from file. Model expected "
                                 f"{len(with_weights)} layers with weights "
                                 f"{[la.name for la in with_weights][:8]}{' ...' if len(with_weights) > 8 else ''}, "
                                 f"found {len(saved)} saved layers {[n for n, _ in saved][:8]}"
                                 f"{' ...' if len(saved) > 8 else ''}")
        for k, ((name, datasets), layer) in enumerate(zip(saved, with_weights)):
            weights = legacy_weights(layer)
            label = f"layer #{k} (named {layer.name} in the model, {name} in the file)"
            if len(weights) != len(datasets):
                raise WeightMismatch(f"{source}: weight count mismatch for {label}: the layer expects {len(weights)} "
                                     f"weight(s), the file holds {len(datasets)}")
            _plan_layer(layer, label, weights, datasets, source, skip_mismatch, plan)
    top = h5io.child(root, "top_level_model_weights", source, kind="group")
    if top is not None:
        datasets = _saved_datasets(root, "top_level_model_weights", source)
        own = own_variables(model)
        if len(own) != len(datasets):
            msg = (f"{source}: weight count mismatch for the top-level weights of the model: it expects {len(own)}, "
                   f"the file holds {len(datasets)}")
            if not (skip_mismatch and by_name):
                raise WeightMismatch(msg)
            warnings.warn(msg + "; skipped", stacklevel=3)
        else:
            _plan_layer(model, "top-level model", own, datasets, source, skip_mismatch, plan)
    transfer.assign(plan)


# ---------------------------------------------------------------------------------------------- whole models
def _strip_layer_entries(config):
    """Keras's legacy form of a model config: entries of a ``layers`` list lose module / registered_name /
    build_config / compile_config (a registered class keeps its registered name as class_name)."""
    if isinstance(config, list):
        return [_strip_layer_entries(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {}
    for key, value in config.items():
        if key == "layers" and isinstance(value, list):
            entries = []
            for entry in value:
                if isinstance(entry, dict) and "class_name" in entry:
                    entry = dict(entry)
                    registered = entry.pop("registered_name", None)
                    if registered and ">" in str(registered):
                        entry["class_name"] = registered
                    for dropped in ("module", "build_config", "compile_config"):
                        entry.pop(dropped, None)
                entries.append(_strip_layer_entries(entry))
            out[key] = entries
        else:
            out[key] = _strip_layer_entries(value)
    return out


def _training_config(model) -> dict | None:
    optimizer = getattr(model, "optimizer", None)
    getter = getattr(model, "get_compile_config", None)
    config = getter() if callable(getter) else None
    if optimizer is None or not config:
        return None
    from ..serialization import get_registered_name  # noqa: PLC0415

    config = {k: v for k, v in config.items() if k != "optimizer"}
    config["optimizer_config"] = {"class_name": get_registered_name(type(optimizer)),
                                  "config": optimizer.get_config()}
    return config_io.jsonable(config)


def save_model_to_hdf5(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` as a Keras 2 ``.h5`` model file (config, weights, compile config, optimizer), atomically."""
    config = config_io.model_config(model, include_compile=False)
    legacy = {"class_name": config["class_name"], "config": _strip_layer_entries(config["config"])}
    training = _training_config(model) if include_optimizer else None
    f, buf = h5io.new_file()
    with f:
        f.attrs["keras_version"] = KERAS_FORMAT_VERSION
        f.attrs["backend"] = BACKEND
        f.attrs["model_config"] = config_io.json_bytes(legacy, "the model config")
        if training is not None:
            f.attrs["training_config"] = config_io.json_bytes(training, "the training config")
        save_weights_to_group(f.create_group("model_weights"), model)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None:
            from .stores import _check_saveable, _to_numpy  # noqa: PLC0415

            variables = list(optimizer.variables)
            group = f.create_group("optimizer_weights")
            names = [f"{optimizer.name}/{v.name}" for v in variables]
            h5io.set_names_attr(group, "weight_names", names)
            for name, v in zip(names, variables):
                group.create_dataset(name, data=_check_saveable(_to_numpy(v), name))
    atomic_write_bytes(os.fspath(filepath), buf.getvalue(), overwrite=overwrite)


class _OptimizerWeights:
    """The ``optimizer_weights`` group seen as a store (``vars`` → datasets by position)."""

    def __init__(self, f, source: str):
        self.source = source
        self.datasets = {}
        group = h5io.child(f, "optimizer_weights", source, kind="group")
        if group is not None:
            names = h5io.read_names_attr(group, "weight_names", source) or []
            for i, name in enumerate(names):
                ds = h5io.dataset_at(group, name, source)
                if ds is None:
                    raise ValueError(f"{source}: optimizer_weights lists {name!r}, which the file does not hold")
                self.datasets[i] = ds

    def vars(self, path):
        return self.datasets or None

    def read(self, handle, shape, dtype, what):
        return h5io.read_array(handle, shape, dtype, self.source, what)


def _legacy_standardize(config):
    """Keras 2 → Keras 3 spellings the loader needs: a BatchNormalization ``axis`` of ``[3]`` becomes ``3``."""
    if isinstance(config, list):
        return [_legacy_standardize(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: _legacy_standardize(v) for k, v in config.items()}
    inner = out.get("config")
    if out.get("class_name") in ("BatchNormalization", "LayerNormalization") and isinstance(inner, dict):
        axis = inner.get("axis")
        if isinstance(axis, list) and len(axis) == 1:
            out["config"] = {**inner, "axis": int(axis[0])}
    return out


def load_model_from_hdf5(filepath, custom_objects: dict | None = None, compile: bool = True,
                         safe_mode: bool = True):
    """Rebuild a model from a Keras 2 ``.h5`` model file (config, weights, compile config, optimizer state)."""
    source = os.fspath(filepath)
    f = h5io.open_h5(source, source)
    try:
        text = h5io.read_text_attr(f, "model_config", limits.MAX_CONFIG_BYTES, source)
        if text is None:
            raise ValueError(f"{source}: no model config found in the file (a weights-only file? use "
                             f"model.load_weights)")
        config = _legacy_standardize(config_io.json_object(text, f"{source}: model_config"))
        model = config_io.model_from_config(config, f"{source}: model_config", custom_objects, safe_mode)
        weights_group = h5io.child(f, "model_weights", source, kind="group")
        if weights_group is None:
            raise ValueError(f"{source}: the model file has no 'model_weights' group")
        compiled = False
        if compile:
            text = h5io.read_text_attr(f, "training_config", limits.MAX_CONFIG_BYTES, source)
            if text is None:
                warnings.warn(f"{source}: no training configuration found in the save file, so the model was *not* "
                              f"compiled. Compile it manually.", stacklevel=3)
            else:
                training = config_io.json_object(text, f"{source}: training_config")
                compiled = _compile_from_training_config(model, training, source, custom_objects)
        restore = None
        if compiled:
            restore = transfer.plan_optimizer(model.optimizer, list(model.trainable_weights),
                                              _OptimizerWeights(f, source), "optimizer", source)
        _load_weights(model, weights_group, source, by_name=False, skip_mismatch=False)
        if restore is not None:
            restore()
    finally:
        f.close()
    return model


def _compile_from_training_config(model, training, source, custom_objects) -> bool:
    if not isinstance(training, dict) or not isinstance(training.get("optimizer_config"), dict):
        warnings.warn(f"{source}: the training configuration has no optimizer_config; the model is not compiled",
                      stacklevel=4)
        return False
    compile_config = {k: v for k, v in training.items() if k != "optimizer_config"}
    compile_config["optimizer"] = training["optimizer_config"]
    for key in ("run_eagerly", "steps_per_execution", "jit_compile"):
        compile_config.pop(key, None)
    return config_io.compile_from_config(model, compile_config, source, custom_objects)


__all__ = ["load_model_from_hdf5", "load_weights_from_hdf5", "save_model_to_hdf5", "save_weights_to_hdf5",
           "save_weights_to_group"]

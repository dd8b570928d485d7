"""``keras.saving``: models and weights in Keras's own file formats, read and written with h5py.

========================  ==============================================  =========================================
file                      written by                                      read by
========================  ==============================================  =========================================
``x.keras``               ``model.save`` / ``save_model``                 ``load_model``, ``load_weights``
``x.weights.h5``          ``model.save_weights``                          ``load_weights``
``x.weights.npz``         ``model.save_weights`` (neuronka's own: the     ``load_weights``
                          ``.weights.h5`` layout in a NumPy archive)
``x.h5`` / ``x.hdf5``     ``model.save`` (a whole model, Keras 2's        ``load_model`` (whole models),
                          format), ``legacy_h5.save_weights_to_hdf5``     ``load_weights`` (by order or
                          (weights alone, the layout of Keras's           ``by_name=True``),
                          published ImageNet weights)                     ``legacy_h5.load_weights_from_hdf5``
========================  ==============================================  =========================================

The layouts are Keras 3.15.1's (:mod:`.saving_lib`, :mod:`.object_tree`, :mod:`.legacy_h5`): a model saved by
Keras loads here and one saved here loads in Keras.

Safety: saves are atomic (a temporary file beside the target, fsync, rename: :mod:`.atomic`); loading never runs
code from a file (a Python lambda in a config is refused, ``safe_mode`` or not) and never imports a module a file
names (classes come from ``custom_objects``, the registered objects and neuronka's own namespaces); every read is
capped (:mod:`.limits`: zip members by declared size and by the bytes counted while inflating, HDF5 datasets by
the shape of the variable they fill, JSON and name lists by their stored size); zip member names such as
``../x`` or ``/x`` are refused; a failed load — a truncated or foreign file, a wrong layout, a shape or count
mismatch, an unknown class, a lambda, NaN weights or integers where floats belong — raises ``ValueError`` naming
the file and what was expected, before anything is assigned: the model is left exactly as it was.
"""
from __future__ import annotations

import os

# the registry of custom objects and the Keras-format (de)serialization live in neuronka/serialization.py
from ..serialization import (  # noqa: F401 (re-exported: keras.saving)
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
from . import legacy_h5, limits, saving_lib  # noqa: F401
from .atomic import _write_all, atomic_write_bytes  # noqa: F401 (tests replace _write_all to simulate a crash)
from .file_editor import KerasFileEditor

__all__ = [
    "CustomObjectScope",
    "KerasFileEditor",
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

_H5 = (".h5", ".hdf5")


class _MissingFile(FileNotFoundError, ValueError):
    """A path that does not exist: a ``FileNotFoundError`` and, as Keras raises, a ``ValueError``."""


def _path(filepath) -> str:
    if hasattr(filepath, "read") or hasattr(filepath, "write"):
        raise TypeError(f"expected a file path (str or os.PathLike), received a file object {filepath!r}")
    return os.fspath(filepath)


def save_model(model, filepath, overwrite: bool = True, zipped: bool | None = None, **kwargs) -> None:
    """Save ``model`` (architecture, weights, compile config, optimizer state) to ``filepath``, atomically.

    ``.keras``: Keras 3's archive (``zipped=False``: the same files in a directory); ``.h5`` / ``.hdf5``: Keras 2's
    HDF5 model file. ``include_optimizer=False`` leaves out the optimizer state and the compile config.
    ``overwrite=False`` refuses to replace an existing file (``FileExistsError``)."""
    include_optimizer = kwargs.pop("include_optimizer", True)
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    filepath = _path(filepath)
    if save_format and not filepath.endswith((".keras", *_H5)):
        raise ValueError(f"The `save_format` argument is deprecated in Keras 3. Please remove this argument and pass "
                         f"a file path with either `.keras` or `.h5` extension. Received: save_format={save_format}")
    if zipped is False:
        if filepath.endswith(".keras"):
            raise ValueError(f"When using `zipped=False`, the `filepath` argument should not end in `.keras`. "
                             f"Received: filepath={filepath}")
        return saving_lib.save_model(model, filepath, overwrite, include_optimizer, zipped=False)
    if filepath.endswith(".keras"):
        return saving_lib.save_model(model, filepath, overwrite, include_optimizer)
    if filepath.endswith(_H5):
        return legacy_h5.save_model_to_hdf5(model, filepath, overwrite, include_optimizer)
    raise ValueError(f"Invalid filepath extension for saving. Please add either a `.keras` extension for the native "
                     f"Keras format (recommended) or a `.h5` extension. Received: filepath={filepath}.")


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Rebuild a model saved by :func:`save_model` (or by Keras): config → classes → weights → compile.

    ``custom_objects`` maps names to classes / functions for this load; ``compile=True`` restores the loss,
    metrics, optimizer and its state; ``safe_mode=True`` (Keras's default) refuses Python lambdas — and so does
    ``safe_mode=False``, since neuronka never runs code from a file."""
    filepath = _path(filepath)
    if not os.path.exists(filepath):
        raise _MissingFile(f"File not found: filepath={filepath}. Please ensure the file is an accessible `.keras` "
                           f"zip file.")
    if os.path.isdir(filepath):
        if os.path.isfile(os.path.join(filepath, saving_lib.CONFIG_NAME)):
            return saving_lib.load_model(filepath, custom_objects, compile, safe_mode)
        raise ValueError(f"{filepath}: a directory without {saving_lib.CONFIG_NAME}: not a saved Keras model")
    if filepath.endswith(_H5):
        return legacy_h5.load_model_from_hdf5(filepath, custom_objects, compile, safe_mode)
    if filepath.endswith(".keras") or _starts_with(filepath, b"PK"):
        return saving_lib.load_model(filepath, custom_objects, compile, safe_mode)
    raise ValueError(f"File format not supported: filepath={filepath}. neuronka reads Keras 3 `.keras` files and "
                     f"legacy H5 files (`.h5` extension).")


def _starts_with(filepath: str, prefix: bytes) -> bool:
    try:
        with open(filepath, "rb") as f:
            return f.read(len(prefix)) == prefix
    except OSError:
        return False


def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None, **kwargs) -> None:
    """Write the model's weights and its optimizer's state to a ``.weights.h5`` (Keras 3's layout) or a
    ``.weights.npz`` file (the same layout in a NumPy archive), atomically."""
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    if max_shard_size is not None:
        raise NotImplementedError("save_weights: sharded weights (max_shard_size, .weights.json) are not supported")
    filepath = _path(filepath)
    if not filepath.endswith((".weights.h5", ".weights.npz")):
        raise ValueError(f"The filename must end in `.weights.h5` (or `.weights.npz`, neuronka's NumPy variant). "
                         f"Received: filepath={filepath}")
    saving_lib.save_weights(model, filepath, overwrite=overwrite)


def _h5_layout(filepath: str) -> str | None:
    """"keras2" (``layer_names`` / ``model_config`` at the root), "keras3" (a ``vars`` group at the root), or None
    for an HDF5 file that is neither, or a file that is not HDF5."""
    from . import h5io  # noqa: PLC0415

    if not _starts_with(filepath, h5io.HDF5_SIGNATURE):
        return None
    f = h5io.open_h5(filepath, filepath)
    try:
        if any(k in f.attrs for k in ("layer_names", "layer_names0", "model_config")):
            return "keras2"
        return "keras3" if "vars" in f or "layers" in f else None
    finally:
        f.close()


def load_weights(model, filepath, skip_mismatch: bool = False, **kwargs) -> None:
    """Load weights into ``model`` from a ``.weights.h5`` / ``.weights.npz`` / ``.keras`` file (Keras 3's layout),
    or from a Keras 2 ``.h5`` file (by topological order, or ``by_name=True``).

    ``skip_mismatch=True`` skips, with a warning, what does not fit (a layer whose variables differ in number or
    shape); everything else is checked before anything is assigned. Keras 3 files also restore the optimizer's
    state when the model is compiled (building the optimizer first if needed)."""
    by_name = kwargs.pop("by_name", None)
    objects_to_skip = kwargs.pop("objects_to_skip", None)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    filepath = _path(filepath)
    if not os.path.exists(filepath):
        raise _MissingFile(f"No such file: {filepath}")
    legacy = filepath.endswith(_H5) and not filepath.endswith(".weights.h5")
    layout = _h5_layout(filepath) if filepath.endswith(_H5) else None
    if legacy and layout == "keras3" and by_name is None:
        legacy = False  # Keras 3's layout in a file named .h5: read it as what it is
    elif not legacy and layout == "keras2":
        legacy = True  # a Keras 2 file named .weights.h5
    if legacy:
        if objects_to_skip is not None:
            raise ValueError(f"`objects_to_skip` only supports loading '.weights.h5' files. Received: {filepath}")
        return legacy_h5.load_weights_from_hdf5(model, filepath, by_name=bool(by_name), skip_mismatch=skip_mismatch)
    if by_name is not None:
        raise ValueError(f"`by_name` only supports loading legacy '.h5' or '.hdf5' files. Received: {filepath}")
    if objects_to_skip is not None and filepath.endswith(".keras"):
        raise ValueError(f"`objects_to_skip` only supports loading '.weights.h5' files. Received: {filepath}")
    saving_lib.load_weights(model, filepath, skip_mismatch=skip_mismatch, objects_to_skip=objects_to_skip or ())

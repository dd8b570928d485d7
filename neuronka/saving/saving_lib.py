"""Keras 3's native formats: the ``.keras`` archive and the ``.weights.h5`` file (plus ``.weights.npz``).

``.keras`` is a zip archive (members stored uncompressed, as Keras writes them) of

- ``metadata.json``: ``{"keras_version": "3.15.1", "date_saved": "YYYY-MM-DD@HH:MM:SS", "neuronka_version": ...}``
  — ``keras_version`` names the Keras release whose format neuronka writes (and is checked against), not a Keras
  that wrote the file; ``neuronka_version`` says which neuronka did;
- ``config.json``: the model's config (:mod:`.config_io`);
- ``model.weights.h5``: the weights in Keras 3's layout (:mod:`.object_tree`), the optimizer's under
  ``optimizer/vars`` — unless ``include_optimizer=False``, which leaves out both the optimizer state and the
  compile config (Keras 3 ignores that argument for ``.keras``; neuronka honours it, as Keras's ``.h5`` does).

``save_model(..., zipped=False)`` writes the same three files into a directory, as Keras does.

``.weights.h5`` is the HDF5 weights file alone, the same layout as ``model.weights.h5``. ``.weights.npz`` is
neuronka's own (Keras has no such file): the same paths as keys (``"layers/dense/vars/0"``) in a NumPy archive —
``save_weights`` writes either by the file name's ending.
"""
from __future__ import annotations

import datetime
import os
import tempfile
import warnings

from . import config_io, limits, stores, transfer
from .archive import open_archive, zip_bytes
from .atomic import atomic_write_bytes, read_file
from .object_tree import walk

KERAS_FORMAT_VERSION = "3.15.1"
CONFIG_NAME, METADATA_NAME, WEIGHTS_NAME = "config.json", "metadata.json", "model.weights.h5"


def _metadata() -> dict:
    from .. import __version__  # noqa: PLC0415

    return {"keras_version": KERAS_FORMAT_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "neuronka_version": __version__}


def _warn_unbuilt(model) -> None:
    if not getattr(model, "built", True):
        warnings.warn("You are saving a model that has not yet been built. It might not contain any weights yet. "
                      "Consider building the model first by calling it on some data.", stacklevel=4)


def model_members(model, include_optimizer: bool = True) -> dict[str, bytes]:
    """The three members of a ``.keras`` file, all serialized in memory (an error leaves no file touched)."""
    _warn_unbuilt(model)
    config = config_io.model_config(model, include_compile=include_optimizer)
    what = f"the config of model {getattr(model, 'name', type(model).__name__)!r}"
    return {METADATA_NAME: config_io.json_bytes(_metadata(), "the metadata"),
            CONFIG_NAME: config_io.json_bytes(config, what),
            WEIGHTS_NAME: stores.write_h5(walk(model, include_optimizer=include_optimizer)),
            **_asset_members(model)}


def _asset_members(model) -> dict[str, bytes]:
    """``assets/<path>/<file>``: the files each object with a ``save_assets(dir)`` method writes (a lookup
    layer's ``vocabulary.txt``), under the object's path in Keras's walk, as Keras stores them."""
    members: dict[str, bytes] = {}
    for entry in walk(model, include_optimizer=False):
        save = getattr(entry.owner, "save_assets", None)
        if not callable(save):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            save(tmp)
            for name in sorted(os.listdir(tmp)):
                with open(os.path.join(tmp, name), "rb") as f:
                    members["/".join(p for p in ("assets", entry.path, name) if p)] = f.read()
    return members


def _load_assets(model, assets: dict[str, bytes], source: str) -> None:
    """Hand each object with a ``load_assets(dir)`` method the files saved under its path; warn about files
    that no object reads."""
    unused = set(assets)
    for entry in walk(model, include_optimizer=False):
        load = getattr(entry.owner, "load_assets", None)
        prefix = "/".join(p for p in ("assets", entry.path) if p) + "/"
        mine = {k[len(prefix):]: v for k, v in assets.items() if k.startswith(prefix) and "/" not in k[len(prefix):]}
        if not callable(load) or not mine:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in mine.items():
                with open(os.path.join(tmp, name), "wb") as f:
                    f.write(data)
            load(tmp)
        unused -= {prefix + name for name in mine}
    if unused:
        names = sorted(unused)
        warnings.warn(f"{source}: the archive holds assets ({names[:3]}{' ...' if len(names) > 3 else ''}: files a "
                      f"layer saved beside its weights, such as a vocabulary) that no layer of the model reads; the "
                      f"layers keep what their config holds", stacklevel=3)


def save_model(model, filepath: str, overwrite: bool = True, include_optimizer: bool = True,
               zipped: bool = True) -> None:
    """Write ``model`` as a ``.keras`` archive atomically (or, ``zipped=False``, as a directory of its members)."""
    members = model_members(model, include_optimizer)
    if zipped:
        atomic_write_bytes(filepath, zip_bytes(members), overwrite=overwrite)
        return
    if os.path.exists(filepath) and not os.path.isdir(filepath):
        raise ValueError(f"save_model(zipped=False) writes a directory, but {filepath} is a file")
    if not overwrite and os.path.isdir(filepath) and os.listdir(filepath):
        raise FileExistsError(f"{filepath} already exists and overwrite=False")
    os.makedirs(filepath, exist_ok=True)
    for name in sorted(n for n in members if n.startswith("assets/")):
        os.makedirs(os.path.dirname(os.path.join(filepath, name)), exist_ok=True)
        atomic_write_bytes(os.path.join(filepath, name), members[name])
    for name in (WEIGHTS_NAME, CONFIG_NAME, METADATA_NAME):  # config last but one, metadata last
        atomic_write_bytes(os.path.join(filepath, name), members[name])


def _read_members(filepath: str) -> dict[str, bytes]:
    """config.json, metadata.json (if present) and model.weights.h5 of a ``.keras`` zip or directory."""
    caps = {CONFIG_NAME: limits.MAX_CONFIG_BYTES, METADATA_NAME: limits.MAX_METADATA_BYTES,
            WEIGHTS_NAME: limits.MAX_WEIGHTS_BYTES}
    members: dict[str, bytes] = {}
    if os.path.isdir(filepath):
        for name, cap in caps.items():
            path = os.path.join(filepath, name)
            if os.path.isfile(path):
                members[name] = read_file(path, cap, name)
        assets_dir = os.path.join(filepath, "assets")
        for root, _, files in os.walk(assets_dir):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), filepath).replace(os.sep, "/")
                members[rel] = read_file(os.path.join(root, name), limits.MAX_WEIGHTS_BYTES, rel)
    else:
        with open_archive(filepath) as archive:
            for name, cap in caps.items():
                if name in archive:
                    members[name] = archive.read(name, cap)
            for name in archive.names:  # files layers saved beside their weights (a lookup layer's vocabulary)
                if name.startswith("assets/") and not name.endswith("/"):
                    members[name] = archive.read(name, limits.MAX_WEIGHTS_BYTES)
            if WEIGHTS_NAME not in archive and "model.weights.npz" in archive:
                raise ValueError(f"{filepath}: the weights were saved with weights_format='npz', which Keras stores "
                                 f"as pickled objects; neuronka never unpickles. Save it again with the default "
                                 f"weights_format='h5'.")
    missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if n not in members]
    if missing:
        raise ValueError(f"{filepath}: not a Keras model file: {', '.join(missing)} missing")
    return members


def _check_metadata(data: bytes | None, source: str) -> None:
    if data is None:
        return
    meta = config_io.json_object(data, f"{source}:{METADATA_NAME}", limits.MAX_METADATA_BYTES)
    if not isinstance(meta, dict):
        raise ValueError(f"{source}:{METADATA_NAME}: expected a JSON object")
    version = str(meta.get("keras_version", "3"))
    if version.split(".")[0].isdigit() and int(version.split(".")[0]) < 3:
        raise ValueError(f"{source}: saved by Keras {version}; a .keras file is Keras 3's format")


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Rebuild a model from a ``.keras`` file (or a directory saved with ``zipped=False``)."""
    members = _read_members(filepath)
    _check_metadata(members.get(METADATA_NAME), filepath)
    config = config_io.json_object(members[CONFIG_NAME], f"{filepath}:{CONFIG_NAME}")
    store = stores.H5Store(members[WEIGHTS_NAME], f"{filepath}:{WEIGHTS_NAME}")
    try:
        model = config_io.model_from_config(config, f"{filepath}:{CONFIG_NAME}", custom_objects, safe_mode)
        compiled = compile and config_io.compile_from_config(model, config.get("compile_config"), filepath,
                                                             custom_objects)
        load_weights_from_store(model, store, filepath, skip_mismatch=False, load_optimizer=compiled)
        _load_assets(model, {k: v for k, v in members.items() if k.startswith("assets/")}, filepath)
    finally:
        store.close()
    return model


def load_weights_from_store(model, store, source: str, skip_mismatch: bool = False,
                            load_optimizer: bool = True, objects_to_skip=()) -> None:
    """Plan every layer's variables and the optimizer's state, then assign (nothing assigned on error)."""
    if not getattr(model, "built", True):
        raise ValueError(f"{source}: you are loading weights into a model that has not yet been built. Try building "
                         f"the model first by calling it on some data or by using `build()`.")
    entries = walk(model, include_optimizer=False, skip=objects_to_skip)
    plan = transfer.plan_weights(model, store, source, skip_mismatch=skip_mismatch, entries=entries,
                                 warn_unused=not objects_to_skip)
    restore = None
    optimizer = getattr(model, "optimizer", None) if load_optimizer else None
    if optimizer is not None and hasattr(optimizer, "variables"):
        trainable = list(getattr(model, "trainable_weights", []) or [])
        if not trainable and not hasattr(model, "trainable_weights"):
            trainable = [w for w in getattr(model, "weights", []) if getattr(w, "trainable", True)]
        restore = transfer.plan_optimizer(optimizer, trainable, store, "optimizer", source)
    transfer.assign(plan)
    if restore is not None:
        restore()


def save_weights(model, filepath: str, overwrite: bool = True) -> None:
    """Write the weights (and the optimizer's state) to a ``.weights.h5`` or ``.weights.npz`` file atomically."""
    if not getattr(model, "built", True):
        raise ValueError("You are saving a model that has not yet been built. Try building the model first by "
                         "calling it on some data or by using `build()`.")
    entries = walk(model, include_optimizer=True)
    data = stores.write_npz(entries) if str(filepath).endswith(".npz") else stores.write_h5(entries)
    atomic_write_bytes(filepath, data, overwrite=overwrite)


def load_weights(model, filepath: str, skip_mismatch: bool = False, objects_to_skip=()) -> None:
    """Load a ``.weights.h5`` / ``.weights.npz`` file, or the weights of a ``.keras`` file, into ``model``."""
    if str(filepath).endswith(".keras") or os.path.isdir(filepath):
        members = _read_members(filepath)
        store = stores.H5Store(members[WEIGHTS_NAME], f"{filepath}:{WEIGHTS_NAME}")
    else:
        store = stores.open_store(filepath)
    try:
        load_weights_from_store(model, store, filepath, skip_mismatch=skip_mismatch, objects_to_skip=objects_to_skip)
    finally:
        store.close()

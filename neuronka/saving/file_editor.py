"""``keras.saving.KerasFileEditor``: inspect, edit and resave the weights of a ``.keras`` / ``.weights.h5`` file.

The weights are read into ``weights_dict``, a nested dict following Keras 3's layout with each object's ``vars``
group folded into the object: ``{"layers": {"dense": {"0": kernel, "1": bias}, "lstm": {"cell": {...}}},
"optimizer": {"0": ..., ...}}`` (the model's own variables, if any, under ``"vars"``). Objects can be renamed,
deleted and added, weights deleted and added, the result compared with a model and saved as ``.weights.h5``.

Differences from Keras 3.15.1's editor, deliberately: an object whose own ``vars`` group is empty but which holds
sub-objects (an LSTM and its ``cell``, a Bidirectional and its two layers) keeps them — Keras's editor drops them,
so its ``compare`` fails on the file Keras itself wrote and ``save`` loses those weights; ``compare`` counts each
mismatch once; messages are printed as plain text. Reading follows :mod:`.h5io`'s rules (hard links only, no
external or virtual datasets, numbers only) and caps each dataset's declared size by what it stores
(:mod:`.limits`); ``save`` writes atomically.
"""
from __future__ import annotations

import os

import numpy

from . import config_io, h5io, limits
from .atomic import atomic_write_bytes
from .object_tree import walk


def _read_dataset(ds, source: str, budget: list) -> numpy.ndarray:
    where = f"{source}: {ds.name}"
    if ds.external:
        raise ValueError(f"{where}: the dataset keeps its data in another file; refused")
    if ds.is_virtual:
        raise ValueError(f"{where}: the dataset is virtual; refused")
    dtype = ds.dtype
    if dtype.fields is not None or dtype.kind not in "biuf":
        raise ValueError(f"{where}: expected numbers, received dtype {dtype}")
    shape = tuple(int(s) for s in (ds.shape or ()))
    declared = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    stored = int(ds.id.get_storage_size())
    if declared > max(limits.MAX_DEFLATE_RATIO * stored, limits.MiB):
        raise ValueError(f"{where}: declares {declared} bytes but stores {stored}: refusing a decompression bomb")
    budget[0] += declared
    if budget[0] > limits.MAX_WEIGHTS_BYTES:
        raise ValueError(f"{source}: the weights exceed the cap of {limits.MAX_WEIGHTS_BYTES} bytes")
    try:
        return numpy.asarray(ds[()])
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{where}: cannot read the data (truncated or corrupted?): {e}") from e


def _extract(group, source: str, path: str, metadata: dict, budget: list) -> dict:
    """The nested dict of ``group``: its ``vars`` datasets as leaves (the model's own under ``"vars"``, as Keras's
    editor shows them), its other groups as sub-dicts; ``metadata[path]``: the attributes of each ``vars``."""
    out: dict = {}
    names = h5io.keys(group, source)
    if "vars" in names:
        var_group = h5io.child(group, "vars", source, kind="group")
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in var_group.attrs.items()}
        if attrs:
            metadata[path or "/vars"] = attrs
        leaves = {key: _read_dataset(h5io.child(var_group, key, source, kind="dataset"), source, budget)
                  for key in h5io.keys(var_group, source)}
        if path:
            out.update(leaves)
        elif leaves:
            out["vars"] = leaves
        names = [n for n in names if n != "vars"]
    for key in names:
        obj = h5io.child(group, key, source)
        if hasattr(obj, "keys"):
            sub = _extract(obj, source, f"{path}/{key}", metadata, budget)
            if sub:
                out[key] = sub
        else:
            out[key] = _read_dataset(obj, source, budget)
    return out


class KerasFileEditor:
    """Inspect and edit the weights of a ``.keras`` or ``.weights.h5`` file, then ``save`` them."""

    def __init__(self, filepath) -> None:
        from .saving_lib import CONFIG_NAME, METADATA_NAME, WEIGHTS_NAME, _read_members  # noqa: PLC0415

        filepath = os.fspath(filepath)
        self.filepath = filepath
        self.metadata = None
        self.config = None
        if filepath.endswith(".keras"):
            members = _read_members(filepath)
            self.config = config_io.json_object(members[CONFIG_NAME], f"{filepath}:{CONFIG_NAME}")
            if METADATA_NAME in members:
                self.metadata = config_io.json_object(members[METADATA_NAME], f"{filepath}:{METADATA_NAME}",
                                                      limits.MAX_METADATA_BYTES)
            source, f = f"{filepath}:{WEIGHTS_NAME}", h5io.open_h5(members[WEIGHTS_NAME], f"{filepath}:{WEIGHTS_NAME}")
        elif filepath.endswith(".weights.h5"):
            source, f = filepath, h5io.open_h5(filepath, filepath)
        else:
            raise ValueError(f"Invalid filename: expected a `.keras` `.weights.h5` extension. Received: "
                             f"filepath={filepath}")
        self.object_metadata: dict = {}
        try:
            self.weights_dict = _extract(f, source, "", self.object_metadata, [0])
        finally:
            f.close()
        print(f"Keras model file '{filepath}'")
        if isinstance(self.metadata, dict):
            print(f"Saved with Keras {self.metadata.get('keras_version')} - date: {self.metadata.get('date_saved')}")

    # ---- looking ----------------------------------------------------------------------------------------------
    def summary(self) -> None:
        """Print the tree of objects and weights (shape and dtype of each)."""
        print("Weights structure")
        self._print_tree(self.weights_dict, "  ", "")

    def _print_tree(self, tree: dict, prefix: str, path: str) -> None:
        items = list(tree.items())
        for i, (key, value) in enumerate(items):
            last = i == len(items) - 1
            connector = "└─ " if last else "├─ "
            here = f"{path}/{key}"
            if isinstance(value, dict):
                name = self.object_metadata.get(here, {}).get("name")
                print(f"{prefix}{connector}{key}" + (f" ('{name}')" if name else ""))
                self._print_tree(value, prefix + ("    " if last else "│   "), here)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model) -> dict:
        """Compare the file's weights with ``reference_model``'s: every object and weight present in one and not in
        the other, and every shape that differs, is printed and counted once.

        Returns ``{"status": "success" | "error", "error_count": ..., "match_count": ...}``."""
        print("Running comparison")
        spec: dict = {}
        for entry in walk(reference_model, include_optimizer=True):
            if not entry.variables:
                continue
            node = spec
            for part in ([p for p in entry.path.split("/") if p] or ["vars"]):
                node = node.setdefault(part, {})
            for i, var in enumerate(entry.variables):
                node[str(i)] = tuple(var.shape)
        errors, matches = self._compare(self.weights_dict, spec, "")
        print("─────────────────────")
        if errors:
            print(f"Found {errors} error{'s' if errors != 1 else ''}: saved file is not compatible with the "
                  f"reference model")
        else:
            print(f"Comparison successful: saved file is compatible with the reference model\n    Found {matches} "
                  f"matching weight{'s' if matches != 1 else ''}")
        return {"status": "error" if errors else "success", "error_count": errors, "match_count": matches}

    def _compare(self, saved: dict, spec: dict, path: str) -> tuple[int, int]:
        errors = matches = 0
        for key in list(spec) + [k for k in saved if k not in spec]:
            here = f"{path}/{key}"
            if key not in saved or key not in spec:
                where, other = ("saved file", "reference model") if key in saved else ("reference model",
                                                                                        "saved file")
                kind = "Object" if isinstance(saved.get(key, spec.get(key)), dict) else "Weight"
                print(f"...{kind} {here} present in {where}, missing from {other}")
                errors += 1
            elif isinstance(spec[key], dict) and isinstance(saved[key], dict):
                e, m = self._compare(saved[key], spec[key], here)
                errors, matches = errors + e, matches + m
            elif isinstance(spec[key], dict) or isinstance(saved[key], dict):
                print(f"...{here} is an object in one and a weight in the other")
                errors += 1
            elif tuple(saved[key].shape) != tuple(spec[key]):
                print(f"...Weight shape mismatch for {here}\n    In reference model: shape={tuple(spec[key])}\n"
                      f"    In saved file: shape={tuple(saved[key].shape)}")
                errors += 1
            else:
                matches += 1
        return errors, matches

    # ---- editing -------------------------------------------------------------------------------------------------
    def _locate(self, source_name: str) -> tuple[dict, str]:
        """(the dict holding ``source_name``, its key): a path ("layers/dense_2") or a name found exactly once."""
        if "/" in source_name:
            parts = source_name.split("/")
            node = self.weights_dict
            for part in parts[:-1]:
                if not isinstance(node.get(part), dict):
                    raise ValueError(f"Path '{source_name}' not found in model.")
                node = node[part]
            if parts[-1] not in node:
                raise ValueError(f"Path '{source_name}' not found in model.")
            return node, parts[-1]
        found = []

        def search(node: dict) -> None:
            for key, value in node.items():
                if key == source_name:
                    found.append(node)
                if isinstance(value, dict):
                    search(value)

        search(self.weights_dict)
        if len(found) > 1:
            raise ValueError(f"Name '{source_name}' occurs more than once in the model; try passing a complete path")
        if not found:
            raise ValueError(f"Source name '{source_name}' does not appear in the model. Use `editor.summary()` to "
                             f"list all objects.")
        return found[0], source_name

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename an object (``"dense_2"`` or ``"layers/dense_2"``) to ``new_name`` (a leaf name)."""
        if "/" in new_name:
            raise ValueError(f"Argument `target_name` should be a leaf name, not a full path name. Received: "
                             f"target_name='{new_name}'")
        node, key = self._locate(object_name)
        node[new_name] = node.pop(key)

    def delete_object(self, object_name: str) -> None:
        """Remove an object (``"dense_2"`` or ``"layers/dense_2"``) and its weights."""
        node, key = self._locate(object_name)
        node.pop(key)

    def add_object(self, object_path: str, weights: dict) -> None:
        """Add an object at ``object_path`` (``"layers/dense_2"``) with ``weights`` (``{"0": kernel, ...}``)."""
        weights = self._check_weights(weights)
        parts = object_path.split("/")
        node = self.weights_dict
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ValueError(f"Path '{'/'.join(parts[:-1])}' not found in model.")
            node = node[part]
        node[parts[-1]] = weights

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove the weight ``weight_name`` (``"0"``) of an object."""
        node, key = self._locate(object_name)
        if not isinstance(node[key], dict) or weight_name not in node[key]:
            found = list(node[key]) if isinstance(node[key], dict) else []
            raise ValueError(f"Weight {weight_name} not found in object {object_name}. Weights found: {found}")
        node[key].pop(weight_name)

    def add_weights(self, object_name: str, weights: dict) -> None:
        """Add weights (``{"2": array, ...}``) to an existing object."""
        weights = self._check_weights(weights)
        node, key = self._locate(object_name)
        node[key].update(weights)

    @staticmethod
    def _check_weights(weights) -> dict:
        if not isinstance(weights, dict):
            raise ValueError(f"Argument `weights` should be a dict where keys are weight names (usually '0', '1', "
                             f"etc.) and values are NumPy arrays. Received: type(weights)={type(weights)}")
        return {str(k): numpy.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in weights.items()}

    # ---- saving --------------------------------------------------------------------------------------------------
    def save(self, filepath) -> None:
        """Write the (edited) weights as a ``.weights.h5`` file, atomically."""
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(f"Invalid `filepath` argument: expected a `.weights.h5` extension. Received: "
                             f"filepath={filepath}")
        f, buf = h5io.new_file()
        with f:
            self._write(f, self.weights_dict, "")
        atomic_write_bytes(filepath, buf.getvalue())

    def _write(self, f, tree: dict, path: str) -> None:
        leaves = {k: v for k, v in tree.items() if not isinstance(v, dict)}
        if path and leaves:
            self._write_vars(f, f"{path}/vars", leaves, f"/{path}")
        for key, value in tree.items():
            if not isinstance(value, dict) or not value:
                continue
            if not path and key == "vars":  # the model's own variables
                self._write_vars(f, "vars", value, "/vars")
            else:
                self._write(f, value, f"{path}/{key}" if path else key)

    def _write_vars(self, f, group_path: str, leaves: dict, meta_key: str) -> None:
        group = f.create_group(group_path)
        name = self.object_metadata.get(meta_key, {}).get("name")
        if name:
            group.attrs["name"] = name
        for key, value in leaves.items():
            group.create_dataset(key, data=numpy.asarray(value))

    def resave_weights(self, filepath) -> None:
        """``save``, under Keras's other name."""
        self.save(filepath)

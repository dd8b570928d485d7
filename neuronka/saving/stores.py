"""The containers of Keras 3's weights layout: HDF5 (``.weights.h5``, ``model.weights.h5``) and neuronka's
``.weights.npz`` (the same paths as keys, ``"layers/dense/vars/0"``, in a NumPy ``.npz`` archive).

Both expose ``vars(path)`` → ``{index: handle}`` (None when the path holds no ``vars`` group) and
``read(handle, shape, dtype, what)`` → a checked array, so the loaders do not care which container they read.
"""
from __future__ import annotations

import io
import os
import re

import numpy

from . import h5io, limits
from .archive import Archive, open_archive

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def _to_numpy(var) -> numpy.ndarray:
    value = var.numpy() if hasattr(var, "numpy") else var
    from ..backend import asnumpy  # noqa: PLC0415

    return numpy.array(asnumpy(value), order="C", copy=True)


def _check_saveable(arr: numpy.ndarray, what: str) -> numpy.ndarray:
    if arr.dtype.kind not in "biuf" or arr.dtype.fields is not None:
        raise ValueError(f"save: {what} has dtype {arr.dtype}; only numeric weights can be saved")
    return arr


# ---------------------------------------------------------------------------------------------- HDF5
class H5Store:
    """A Keras 3 weights file opened read-only (from a path, or from the bytes of a ``.keras`` member)."""

    def __init__(self, file, source: str):
        self.source = source
        self.file = h5io.open_h5(file, source)

    def close(self) -> None:
        self.file.close()

    def vars(self, path: str, named: tuple = ()) -> dict[int, object] | None:
        """The numbered variables under ``<path>/vars`` (``named``: the names a layer saves besides, skipped)."""
        group = h5io.group_at(self.file, f"{path}/vars" if path else "vars", self.source)
        if group is None:
            return None
        out = {}
        for key in h5io.keys(group, self.source):
            if key in named:
                continue
            if not _INDEX.match(key):
                raise ValueError(f"{self.source}: {group.name}/{key}: expected variables named 0, 1, 2, ...")
            out[int(key)] = h5io.child(group, key, self.source, kind="dataset")
        return out

    def named(self, path: str, names: tuple) -> dict[str, object]:
        """The datasets among ``names`` under ``<path>/vars`` (arrays a layer saves by name, as Keras's lookup
        layers save ``idf_weights``)."""
        group = h5io.group_at(self.file, f"{path}/vars" if path else "vars", self.source)
        if group is None:
            return {}
        present = set(h5io.keys(group, self.source))
        return {n: h5io.child(group, n, self.source, kind="dataset") for n in names if n in present}

    def read(self, handle, shape, dtype, what: str) -> numpy.ndarray:
        return h5io.read_array(handle, shape, dtype, self.source, what)

    def var_paths(self) -> list[str]:
        """Every path whose ``vars`` group holds datasets (for the warning about weights nothing loaded)."""
        found = []

        def visit(group, path: str) -> None:
            for key in h5io.keys(group, self.source):
                sub = h5io.child(group, key, self.source)
                if not hasattr(sub, "keys"):
                    continue
                if key == "vars":
                    if len(sub):
                        found.append(path)
                else:
                    visit(sub, f"{path}/{key}" if path else key)

        visit(self.file, "")
        return found


def write_h5(entries) -> bytes:
    """The bytes of a Keras 3 weights file holding ``entries`` (see :mod:`.object_tree`)."""
    f, buf = h5io.new_file()
    with f:
        for entry in entries:
            group = f.create_group(entry.group)
            if entry.name:
                group.attrs["name"] = entry.name
            for i, var in enumerate(entry.variables):
                group.create_dataset(str(i), data=_check_saveable(_to_numpy(var), f"{entry.group}/{i}"))
            for key, value in entry.named.items():
                if value is not None:
                    group.create_dataset(key, data=_check_saveable(_to_numpy(value), f"{entry.group}/{key}"))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- .npz
def _parse_npy(data: bytes, where: str):
    """(shape, dtype, fortran_order, offset) of a ``.npy`` payload, its size checked against the bytes stored."""
    fmt = numpy.lib.format
    stream = io.BytesIO(data)
    try:
        version = fmt.read_magic(stream)
        header = fmt.read_array_header_1_0(stream) if version == (1, 0) else fmt.read_array_header_2_0(stream)
    except (ValueError, SyntaxError, EOFError) as e:
        raise ValueError(f"{where}: not a valid .npy array: {e}") from e
    shape, fortran, dtype = header
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise ValueError(f"{where}: holds dtype {dtype}; only numeric arrays are read (pickled / object arrays "
                         f"are refused)")
    offset = stream.tell()
    expected = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    if expected != len(data) - offset:
        raise ValueError(f"{where}: its header declares shape {shape} ({expected} bytes) but {len(data) - offset} "
                         f"bytes are stored")
    return tuple(shape), dtype, fortran, offset


class NpzStore:
    """A ``.weights.npz`` file: arrays keyed ``"<path>/vars/<i>"``, parsed without pickle."""

    def __init__(self, filepath: str, source: str):
        self.source = source
        archive: Archive = open_archive(filepath, source)
        self.members: dict[str, bytes] = {}
        total = 0
        with archive:
            for name in archive.names:
                if not name.endswith(".npy"):
                    raise ValueError(f"{source}: unexpected member {name!r} in a .weights.npz archive")
                data = archive.read(name, limits.MAX_WEIGHTS_BYTES - total)
                total += len(data)
                self.members[name[:-len(".npy")]] = data
        self.groups: dict[str, dict[int, str]] = {}
        for key in self.members:
            path, sep, index = key.rpartition("vars/")
            if not sep or (path and not path.endswith("/")) or not _INDEX.match(index):
                raise ValueError(f"{source}: unexpected array {key!r}: expected keys such as 'layers/dense/vars/0'")
            self.groups.setdefault(path[:-1] if path else "", {})[int(index)] = key

    def close(self) -> None:
        pass

    def vars(self, path: str) -> dict[int, str] | None:
        return self.groups.get(path)

    def read(self, handle: str, shape, dtype, what: str) -> numpy.ndarray:
        where = f"{self.source}: {handle} ({what})"
        data = self.members[handle]
        stored_shape, stored_dtype, fortran, offset = _parse_npy(data, where)
        if stored_shape != tuple(shape):
            raise h5io.WeightMismatch(f"{where}: expected shape {tuple(shape)}, received shape {stored_shape}")

        def values():
            flat = numpy.frombuffer(data, dtype=stored_dtype, offset=offset)
            return flat.reshape(stored_shape, order="F" if fortran else "C").copy()

        return h5io.checked_values(stored_dtype, dtype, where, values)

    def var_paths(self) -> list[str]:
        return list(self.groups)


def write_npz(entries) -> bytes:
    arrays = {}
    for entry in entries:
        for i, var in enumerate(entry.variables):
            key = f"{entry.group}/{i}"
            arrays[key] = _check_saveable(_to_numpy(var), key)
    buf = io.BytesIO()
    numpy.savez(buf, **arrays)
    return buf.getvalue()


def open_store(filepath: str, source: str | None = None):
    """The store for a ``.weights.h5`` (HDF5) or ``.weights.npz`` file, chosen by the file's first bytes."""
    source = source or filepath
    if not os.path.isfile(filepath):
        if os.path.isdir(filepath):
            raise ValueError(f"{source}: expected a weights file, received a directory")
        raise FileNotFoundError(f"No such file: {filepath}")
    with open(filepath, "rb") as f:
        head = f.read(8)
    if head[:2] == b"PK":
        return NpzStore(filepath, source)
    return H5Store(filepath, source)


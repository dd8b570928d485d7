"""HDF5 files read and written with h5py, refusing what a weights file has no reason to hold.

Reading:

- every step down the file is a hard link: soft links and external links (which can point into other files)
  are refused; datasets with external storage or virtual (mapped) data are refused;
- a dataset is read only after its declared shape has been found equal to the shape of the variable it fills,
  so decompressing a chunked / gzip dataset never yields more than the model itself holds (:mod:`.limits`);
- a dataset must be numeric: floats for float variables (an integer dataset where a float weight is expected is
  refused, not cast), integers for integer variables (the optimizer's step count); float values must be finite;
- a names attribute (``layer_names``, ``weight_names``) or a JSON attribute is read only after its stored size has
  been found below its cap.

Every problem is a ``ValueError`` naming the file and the path inside it; a mismatch with the model (a shape,
a number of weights) is a :class:`WeightMismatch`, the one kind ``skip_mismatch=True`` skips.
"""
from __future__ import annotations

import io
import os

import numpy

from . import limits


class WeightMismatch(ValueError):
    """The file's weights do not fit the model (count or shape): skipped, with a warning, under skip_mismatch."""


def h5py_module():
    try:
        import h5py  # noqa: PLC0415 - an optional import until a file is read or written
    except ImportError as e:  # pragma: no cover - h5py is a dependency of neuronka
        raise ImportError("Reading and writing Keras's .keras / .h5 files needs the h5py package "
                          "(`pip install h5py`)") from e
    return h5py


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def open_h5(file, source: str):
    """An ``h5py.File`` opened read-only on a path or on bytes; a ``ValueError`` naming ``source`` otherwise."""
    h5py = h5py_module()
    if isinstance(file, (bytes, bytearray)):
        head, target = bytes(file[:8]), io.BytesIO(file)
    else:
        path = os.fspath(file)
        if os.path.isdir(path):
            raise ValueError(f"{source}: expected an HDF5 file, received a directory")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such file: {path}")
        with open(path, "rb") as f:
            head = f.read(8)
        target = path
    if head != HDF5_SIGNATURE:
        kind = "a zip archive" if head[:2] == b"PK" else "not an HDF5 file"
        raise ValueError(f"{source}: expected an HDF5 file (Keras's .weights.h5 / .h5 format), but the file is "
                         f"{kind} (truncated, or the wrong file?)")
    try:
        return h5py.File(target, "r")
    except (OSError, ValueError) as e:
        raise ValueError(f"{source}: cannot open the HDF5 file (truncated or corrupted?): {e}") from e


def child(group, name: str, source: str, kind: str | None = None):
    """``group[name]`` through a hard link, or None when absent; ``kind``: "group" or "dataset" to require one."""
    h5py = h5py_module()
    where = f"{source}: {group.name.rstrip('/')}/{name}"
    try:
        link = group.get(name, default=None, getlink=True)
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{where}: cannot be read (corrupted file?): {e}") from e
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise ValueError(f"{where}: is a {type(link).__name__}; links to other places or files are refused")
    try:
        obj = group[name]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{where}: cannot be read (corrupted file?): {e}") from e
    if kind == "group" and not isinstance(obj, h5py.Group):
        raise ValueError(f"{where}: expected a group, found a {type(obj).__name__}")
    if kind == "dataset" and not isinstance(obj, h5py.Dataset):
        raise ValueError(f"{where}: expected a dataset, found a {type(obj).__name__}")
    return obj


def group_at(root, path: str, source: str):
    """The group at ``path`` ("a/b/c"), each step a hard link; None when a step is missing."""
    group = root
    for part in path.split("/"):
        if not part:
            continue
        group = child(group, part, source, kind="group")
        if group is None:
            return None
    return group


def dataset_at(group, path: str, source: str):
    """The dataset at the relative ``path`` (which may hold "/": a Keras 2 weight name), or None."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    parent = group_at(group, "/".join(parts[:-1]), source) if len(parts) > 1 else group
    if parent is None:
        return None
    return child(parent, parts[-1], source, kind="dataset")


def keys(group, source: str) -> list[str]:
    try:
        return list(group.keys())
    except (OSError, ValueError) as e:
        raise ValueError(f"{source}: {group.name}: cannot list the group (corrupted file?): {e}") from e


def read_array(ds, expected_shape: tuple, expected_dtype, source: str, what: str) -> numpy.ndarray:
    """The values of dataset ``ds`` for a variable of ``expected_shape`` / ``expected_dtype``, checked first."""
    where = f"{source}: {ds.name} ({what})"
    if ds.external:
        raise ValueError(f"{where}: the dataset keeps its data in another file ({ds.external}); refused")
    if ds.is_virtual:
        raise ValueError(f"{where}: the dataset is virtual (mapped from other datasets); refused")
    shape = tuple(int(s) for s in ds.shape) if ds.shape is not None else None
    if shape != tuple(expected_shape):
        raise WeightMismatch(f"{where}: expected shape {tuple(expected_shape)}, received shape {shape}")
    return checked_values(ds.dtype, expected_dtype, where, lambda: ds[()])


def checked_values(dtype, expected_dtype, where: str, read) -> numpy.ndarray:
    """``read()`` after checking ``dtype`` against ``expected_dtype``; floats must come out finite."""
    expected = numpy.dtype(expected_dtype)
    dtype = numpy.dtype(dtype)
    if dtype.fields is not None or dtype.kind not in "biuf":
        raise ValueError(f"{where}: expected numbers of dtype {expected.name}, received dtype {dtype}")
    if expected.kind == "f" and dtype.kind != "f":
        raise ValueError(f"{where}: expected floating-point weights ({expected.name}), received dtype {dtype.name}")
    if expected.kind in "iu" and dtype.kind not in "iub":
        raise ValueError(f"{where}: expected integers ({expected.name}), received dtype {dtype.name}")
    if expected.kind == "b" and dtype.kind != "b":
        raise ValueError(f"{where}: expected booleans, received dtype {dtype.name}")
    try:
        values = numpy.asarray(read())
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{where}: cannot read the data (truncated or corrupted?): {e}") from e
    if values.dtype.kind == "f" and not numpy.all(numpy.isfinite(values)):
        bad = int(numpy.size(values) - numpy.count_nonzero(numpy.isfinite(values)))
        raise ValueError(f"{where}: holds {bad} NaN or infinite value(s); expected finite weights")
    return values


def _attr_size(group, name: str) -> int:
    try:
        return int(group.attrs.get_id(name).get_storage_size())
    except (OSError, ValueError, KeyError, AttributeError, RuntimeError):  # an empty attribute stores nothing
        return 0


def read_text_attr(group, name: str, cap: int, source: str) -> str | None:
    """A string attribute (bytes decoded as UTF-8), at most ``cap`` bytes; None when absent."""
    if name not in group.attrs:
        return None
    size = _attr_size(group, name)
    where = f"{source}: attribute {name!r} of {group.name}"
    if size > cap:
        raise ValueError(f"{where} holds {size} bytes, more than the cap of {cap} bytes")
    try:
        value = group.attrs[name]
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{where} cannot be read: {e}") from e
    if isinstance(value, numpy.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, (bytes, numpy.bytes_)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{where} is not UTF-8 text: {e}") from e
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected text, received {type(value).__name__}")
    if len(value.encode("utf-8")) > cap:
        raise ValueError(f"{where} holds more than the cap of {cap} bytes")
    return value


def read_names_attr(group, name: str, source: str) -> list[str] | None:
    """A list of names stored as attribute ``name`` (or split over ``name0``, ``name1``, ... as Keras does
    when the list exceeds an HDF5 object header); None when absent."""
    attrs = group.attrs
    if name in attrs:
        parts = [name]
    else:
        parts = []
        while f"{name}{len(parts)}" in attrs:
            parts.append(f"{name}{len(parts)}")
        if not parts:
            return None
    total = sum(_attr_size(group, p) for p in parts)
    if total > limits.MAX_NAMES_BYTES:
        raise ValueError(f"{source}: attribute {name!r} of {group.name} holds {total} bytes, more than the cap of "
                         f"{limits.MAX_NAMES_BYTES} bytes")
    names = []
    for p in parts:
        try:
            values = attrs[p]
        except (OSError, ValueError, TypeError) as e:
            raise ValueError(f"{source}: attribute {p!r} of {group.name} cannot be read: {e}") from e
        for v in numpy.atleast_1d(numpy.asarray(values, dtype=object)):
            if isinstance(v, (bytes, numpy.bytes_)):
                v = bytes(v).decode("utf-8", errors="strict")
            if not isinstance(v, str):
                raise ValueError(f"{source}: attribute {name!r} of {group.name}: expected names, received {v!r}")
            names.append(v)
    return names


# ---------------------------------------------------------------------------------------------- writing
HDF5_OBJECT_HEADER_LIMIT = 64512  # bytes an attribute may hold in an HDF5 object header


def new_file():
    """An in-memory HDF5 file open for writing, and its buffer (``buffer.getvalue()`` once closed)."""
    buf = io.BytesIO()
    return h5py_module().File(buf, "w"), buf


def set_names_attr(group, name: str, names: list[str]) -> None:
    """Store ``names`` as a fixed-length byte-string attribute (Keras's form), split into ``name0``,
    ``name1``, ... when it would not fit in an HDF5 object header."""
    encoded = [n.encode("utf-8") for n in names]
    too_long = [n for n in encoded if len(n) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise ValueError(f"cannot store the names {too_long[:3]} in HDF5: longer than {HDF5_OBJECT_HEADER_LIMIT} "
                         f"bytes")
    array = numpy.array(encoded, dtype=f"S{max([len(n) for n in encoded] + [1])}")
    chunks = 1
    while array.nbytes / chunks > HDF5_OBJECT_HEADER_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = array
    else:
        for i, part in enumerate(numpy.array_split(array, chunks)):
            group.attrs[f"{name}{i}"] = part

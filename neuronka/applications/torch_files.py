"""Reading PyTorch weight files without torch: ``torch.save`` state dicts (``.pth``/``.pt``) and ``.safetensors``.

:func:`read_state_dict` returns ``{name: numpy.ndarray}`` (or, for a ``.pth`` holding more than a state dict,
the unpickled object with every tensor as an array). Nothing in a file is ever executed:

**torch.save's zip format** (torch ≥ 1.6): a zip archive ``<name>/data.pkl`` (a pickle of the object, whose
tensors refer to their storages by persistent id ``("storage", <torch.FloatStorage>, key, location, numel)``),
``<name>/data/<key>`` (each storage's raw little-endian bytes) and ``<name>/byteorder``. The pickle is read
by a **restricted unpickler**: the only globals it resolves are the few a state dict names —
``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_parameter``
(``_with_state``) and the ``torch.*Storage`` classes — each mapped to a function here that builds a NumPy array
from the raw storage: tensor = as_strided(storage[offset:], size, stride), bounds-checked. Any other global
(``os.system``, ``builtins.eval``, ...) is refused with :class:`UnsafeTorchFileError` naming it, before it is
called. Zip members are size-capped twice: by the size the archive declares, and by the bytes actually
decompressed (``max_pickle_bytes``, ``max_storage_bytes``, and ``max_total_bytes`` for all storages); tensors
are read-only views of their storages, so the pickle cannot make the reader allocate more than that.

**torch.save's legacy format** (``_use_new_zipfile_serialization=False``): five pickles in a row (magic
number, protocol 1001, system info, the object, the list of storage keys), then each storage as an int64
element count and its raw bytes; the object is read by the same restricted unpickler.

**safetensors**: an 8-byte little-endian header length ``n``, a JSON header of n bytes
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}``, then the
data; offsets are relative to the end of the header. Every field is checked (known dtype, non-negative
shape, end − begin = ∏shape · itemsize, inside the file, no two tensors overlapping).
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import json
import os
import pickle
import struct
import zipfile
from collections.abc import Callable

import numpy

__all__ = [
    "MAX_PICKLE_BYTES",
    "MAX_STORAGE_BYTES",
    "MAX_TOTAL_BYTES",
    "UnsafeTorchFileError",
    "read_pth",
    "read_safetensors",
    "read_state_dict",
]

MAX_PICKLE_BYTES = 64 << 20  # data.pkl of a state dict is a few hundred kB
MAX_STORAGE_BYTES = 4 << 30  # one tensor's storage
MAX_TOTAL_BYTES = 8 << 30  # all storages of a file (ResNet-152: 0.24 GB)
MAX_SAFETENSORS_HEADER = 100 << 20  # the safetensors library's own limit
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class UnsafeTorchFileError(ValueError):
    """A ``.pth`` pickle asked for something a state dict never needs (a global other than the allowed few)."""


# ======================================================================================
# dtypes
# ======================================================================================
def _bfloat16_to_float32(raw: numpy.ndarray) -> numpy.ndarray:
    """bfloat16 is the upper half of a float32: f32 bits = u16 << 16 (exact)."""
    return (raw.astype(numpy.uint32) << 16).view(numpy.float32)


class _StorageType:
    """What a ``torch.<Kind>Storage`` global stands for here: the storage's element type."""

    def __init__(self, torch_name: str, dtype: str, convert: Callable | None = None):
        self.torch_name, self.dtype, self.convert = torch_name, numpy.dtype(dtype).newbyteorder("<"), convert

    def __repr__(self) -> str:
        return f"torch.{self.torch_name}"


_STORAGE_TYPES = {name: _StorageType(name, dtype, convert) for name, dtype, convert in (
    ("FloatStorage", "float32", None), ("DoubleStorage", "float64", None), ("HalfStorage", "float16", None),
    ("BFloat16Storage", "uint16", _bfloat16_to_float32), ("LongStorage", "int64", None),
    ("IntStorage", "int32", None), ("ShortStorage", "int16", None), ("CharStorage", "int8", None),
    ("ByteStorage", "uint8", None), ("BoolStorage", "bool", None),
)}

_SAFETENSORS_DTYPES = {  # name -> (numpy dtype of the raw bytes, conversion)
    "F64": ("<f8", None), "F32": ("<f4", None), "F16": ("<f2", None), "BF16": ("<u2", _bfloat16_to_float32),
    "I64": ("<i8", None), "I32": ("<i4", None), "I16": ("<i2", None), "I8": ("i1", None),
    "U64": ("<u8", None), "U32": ("<u4", None), "U16": ("<u2", None), "U8": ("u1", None), "BOOL": ("?", None),
}


# ======================================================================================
# the restricted unpickler
# ======================================================================================
def _check_ints(what: str, values, where: str) -> tuple[int, ...]:
    if not isinstance(values, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ValueError(f"{where}: expected {what} as non-negative integers, received {values!r}")
    return tuple(values)


def _rebuild_tensor(where: str, dry_run: bool = False):
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, metadata=None)``.

    tensor[i₀, …, i_k] = storage[offset + Σ i_j · stride_j]: a read-only strided view of the storage (tensors
    sharing a storage share memory, as in torch; nothing is copied, so a file cannot make the reader allocate
    more than its storages). The largest index reached, offset + Σ (size_j − 1) · stride_j, must lie inside
    the storage. ``dry_run``: build nothing (the legacy reader's first pass).
    """

    def rebuild(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
        if dry_run:
            return None
        if not isinstance(storage, numpy.ndarray) or storage.ndim != 1:
            raise ValueError(f"{where}: a tensor refers to {type(storage).__name__}, not a storage")
        (offset,) = _check_ints("the storage offset", (offset,), where)
        size, stride = _check_ints("the size", size, where), _check_ints("the stride", stride, where)
        if len(size) != len(stride):
            raise ValueError(f"{where}: a tensor's size {size} and stride {stride} differ in length")
        if 0 in size:
            return numpy.zeros(size, storage.dtype)[...]
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= len(storage):
            raise ValueError(f"{where}: a tensor of size {size}, stride {stride} at offset {offset} reaches "
                             f"element {last} of a storage of {len(storage)}")
        item = storage.itemsize
        return numpy.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=[s * item for s in stride],
                                                  writeable=False)

    return rebuild


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """``torch._utils._rebuild_parameter(_with_state)``: a Parameter is its tensor here."""
    return data


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals a state dict names; storages come from ``load_storage(type, key, numel)``."""

    def __init__(self, file, where: str, load_storage: Callable, legacy: bool = False, dry_run: bool = False):
        super().__init__(file, encoding="utf-8")
        self.where, self.load_storage, self.legacy = where, load_storage, legacy
        rebuild = _rebuild_tensor(where, dry_run)
        self.allowed: dict[tuple[str, str], object] = {
            ("collections", "OrderedDict"): _ordered_dict,
            ("torch._utils", "_rebuild_tensor_v2"): rebuild,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
            **{("torch", name): kind for name, kind in _STORAGE_TYPES.items()},
        }

    def find_class(self, module: str, name: str):
        found = self.allowed.get((module, name))
        if found is None:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)  # Python 2 names: __builtin__ → builtins
            raise UnsafeTorchFileError(
                f"{self.where}: refused to load the global {module}.{name}: a state dict needs only "
                f"collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and the torch "
                f"storage types, so this file is not a plain state dict (nothing in it was run)")
        return found

    def persistent_load(self, pid):
        n = 6 if self.legacy else 5
        if not isinstance(pid, tuple) or len(pid) != n or pid[0] != "storage":
            raise ValueError(f"{self.where}: unexpected persistent id {pid!r} (expected a torch storage)")
        kind, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(kind, _StorageType):
            raise ValueError(f"{self.where}: a storage of unknown type {kind!r}")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ValueError(f"{self.where}: a malformed storage reference {pid!r}")
        if self.legacy and pid[5] is not None:
            raise ValueError(f"{self.where}: storage views (view_metadata {pid[5]!r}) are not supported")
        return self.load_storage(kind, key, numel)


def _unpickle(file, where: str, load_storage: Callable, legacy: bool = False, dry_run: bool = False):
    """One pickle from ``file`` (bytes or a binary file) through the restricted unpickler."""
    if isinstance(file, bytes):
        file = io.BytesIO(file)
    try:
        return _RestrictedUnpickler(file, where, load_storage, legacy, dry_run).load()
    except (UnsafeTorchFileError, ValueError):
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError, OverflowError,
            struct.error, UnicodeDecodeError) as e:
        raise ValueError(f"{where}: not a readable torch pickle ({type(e).__name__}: {e})") from None


def _as_storage(raw: bytes, kind: _StorageType, numel: int, where: str, key: str, big_endian: bool) -> numpy.ndarray:
    dtype = kind.dtype.newbyteorder(">") if big_endian else kind.dtype
    if len(raw) != numel * dtype.itemsize:
        raise ValueError(f"{where}: storage {key!r} holds {len(raw)} bytes, expected {numel} × {dtype.itemsize} "
                         f"({kind!r}): the file is truncated or corrupt")
    arr = numpy.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
    arr = kind.convert(arr) if kind.convert is not None else arr
    arr.flags.writeable = False  # tensors are views of it
    return arr


# ======================================================================================
# .pth: the zip format
# ======================================================================================
def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, where: str) -> bytes:
    """A zip member's bytes, refused when the declared or the actually decompressed size exceeds ``cap``."""
    if info.file_size > cap:
        raise ValueError(f"{where}: member {info.filename!r} declares {info.file_size:,} bytes, over the limit of "
                         f"{cap:,}")
    with zf.open(info) as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{where}: member {info.filename!r} decompresses to more than {cap:,} bytes")
    if len(data) != info.file_size:
        raise ValueError(f"{where}: member {info.filename!r} holds {len(data):,} bytes, its header says "
                         f"{info.file_size:,}")
    return data


def _read_pth_zip(path: str, max_pickle_bytes: int, max_storage_bytes: int, max_total_bytes: int):
    where = os.fspath(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{where}: not a complete torch zip file ({e})") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        pickles = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{where}: expected one <name>/data.pkl in the archive, found {len(pickles)}: "
                             f"not a file written by torch.save")
        prefix = pickles[0][:-len("data.pkl")]
        big_endian = False
        if prefix + "byteorder" in infos:
            order = _read_member(zf, infos[prefix + "byteorder"], 16, where).decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise ValueError(f"{where}: unknown byteorder {order!r}")
            big_endian = order == "big"
        storages: dict[str, numpy.ndarray] = {}
        total = [0]

        def load_storage(kind: _StorageType, key: str, numel: int) -> numpy.ndarray:
            if key not in storages:
                name = f"{prefix}data/{key}"
                if name not in infos:
                    raise ValueError(f"{where}: storage {key!r} is missing from the archive ({name})")
                if numel * kind.dtype.itemsize > max_storage_bytes:
                    raise ValueError(f"{where}: storage {key!r} of {numel:,} elements is over the limit of "
                                     f"{max_storage_bytes:,} bytes")
                total[0] += numel * kind.dtype.itemsize
                if total[0] > max_total_bytes:
                    raise ValueError(f"{where}: the storages add up to more than the limit of {max_total_bytes:,} "
                                     f"bytes")
                raw = _read_member(zf, infos[name], max_storage_bytes, where)
                storages[key] = _as_storage(raw, kind, numel, where, key, big_endian)
            return storages[key]

        data = _read_member(zf, infos[pickles[0]], max_pickle_bytes, where)
        return _unpickle(data, where, load_storage)


# ======================================================================================
# .pth: the legacy format
# ======================================================================================
def _read_pth_legacy(path: str, max_pickle_bytes: int, max_storage_bytes: int, max_total_bytes: int):
    """The storages follow the pickle that uses them: the pickle is read twice, first without building any
    tensor (to learn each storage's type and size), then, once the storages are read, for real."""
    where = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read(max_pickle_bytes + 1)
        if len(blob) > max_pickle_bytes:
            raise ValueError(f"{where}: the legacy torch file's pickles exceed {max_pickle_bytes:,} bytes")
        head = io.BytesIO(blob)

        def no_storage(*_):
            raise ValueError(f"{where}: a storage reference outside the object's pickle")

        def load(load_storage=no_storage, dry_run=False):
            return _unpickle(head, where, load_storage, legacy=True, dry_run=dry_run)

        if load() != _LEGACY_MAGIC:
            raise ValueError(f"{where}: not a file written by torch.save (wrong magic number)")
        if load() != _LEGACY_PROTOCOL:
            raise ValueError(f"{where}: unsupported legacy torch protocol version")
        sys_info = load()
        little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
        wanted: dict[str, tuple[_StorageType, int]] = {}

        def record(kind: _StorageType, key: str, numel: int):
            if numel * kind.dtype.itemsize > max_storage_bytes:
                raise ValueError(f"{where}: storage {key!r} of {numel:,} elements is over the limit of "
                                 f"{max_storage_bytes:,} bytes")
            if wanted.setdefault(key, (kind, numel)) != (kind, numel):
                raise ValueError(f"{where}: storage {key!r} is referred to with two types or sizes")

        object_start = head.tell()
        load(record, dry_run=True)
        if sum(numel * kind.dtype.itemsize for kind, numel in wanted.values()) > max_total_bytes:
            raise ValueError(f"{where}: the storages add up to more than the limit of {max_total_bytes:,} bytes")
        keys = load()
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{where}: a malformed list of storage keys")
        f.seek(head.tell())
        storages: dict[str, numpy.ndarray] = {}
        for key in keys:
            if key not in wanted:
                raise ValueError(f"{where}: storage {key!r} is listed but never used")
            kind, numel = wanted[key]
            count = f.read(8)
            if len(count) != 8:
                raise ValueError(f"{where}: the file ends before storage {key!r}: truncated")
            (stored,) = struct.unpack("<q" if little else ">q", count)
            if stored != numel:
                raise ValueError(f"{where}: storage {key!r} holds {stored} elements, expected {numel}")
            raw = f.read(numel * kind.dtype.itemsize)
            storages[key] = _as_storage(raw, kind, numel, where, key, not little)
    missing = sorted(set(wanted) - set(storages))
    if missing:
        raise ValueError(f"{where}: storages {missing} are used but not stored: truncated or corrupt")
    head.seek(object_start)
    return load(lambda kind, key, numel: storages[key])


# ======================================================================================
# public readers
# ======================================================================================
def read_pth(path, max_pickle_bytes: int = MAX_PICKLE_BYTES, max_storage_bytes: int = MAX_STORAGE_BYTES,
             max_total_bytes: int = MAX_TOTAL_BYTES):
    """The object ``torch.save`` wrote to ``path`` (zip or legacy format), every tensor a read-only NumPy array
    (a view of its storage, bfloat16 widened to float32).

    Caps: ``max_pickle_bytes`` for the pickle, ``max_storage_bytes`` for one storage, ``max_total_bytes`` for
    all storages together (declared and decompressed sizes alike).

    Only state dicts (nested dicts / OrderedDicts of tensors, numbers, strings) can be read: any other global
    in the pickle raises :class:`UnsafeTorchFileError`; a truncated, corrupt or oversized file raises
    ``ValueError`` saying what is wrong. torch is not imported and nothing in the file is executed.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"PK":
        return _read_pth_zip(path, max_pickle_bytes, max_storage_bytes, max_total_bytes)
    if magic[:1] == b"\x80":
        return _read_pth_legacy(path, max_pickle_bytes, max_storage_bytes, max_total_bytes)
    raise ValueError(f"{path}: not a torch.save file (neither a zip archive nor a pickle)")


def read_safetensors(path) -> dict[str, numpy.ndarray]:
    """``{name: array}`` from a ``.safetensors`` file (bfloat16 becomes float32), every header field checked.

    Layout: ``n`` = uint64 little-endian, then n bytes of JSON ``{name: {"dtype", "shape", "data_offsets"}}``
    (plus an optional ``"__metadata__"`` of strings), then the data; tensor bytes = data[begin:end] with
    end − begin = ∏shape · itemsize, little-endian, row-major.
    """
    where = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        first = f.read(8)
        if len(first) != 8:
            raise ValueError(f"{where}: not a safetensors file: {len(first)} bytes, the header length needs 8")
        (n,) = struct.unpack("<Q", first)
        if n > MAX_SAFETENSORS_HEADER:
            raise ValueError(f"{where}: the header declares {n:,} bytes, over the limit of "
                             f"{MAX_SAFETENSORS_HEADER:,}: not a safetensors file, or a corrupt one")
        if 8 + n > size:
            raise ValueError(f"{where}: the header declares {n:,} bytes but the file has only {size - 8:,} after "
                             f"the length: truncated")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{where}: the safetensors header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where}: the safetensors header must be a JSON object, received {type(header).__name__}")
    data_size = size - 8 - n
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ValueError(f"{where}: __metadata__ must map strings to strings")
    entries = []
    for name, spec in header.items():
        at = f"{where}: tensor {name!r}"
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{at}: expected the fields dtype, shape, data_offsets, received {spec!r}")
        if spec["dtype"] not in _SAFETENSORS_DTYPES:
            raise ValueError(f"{at}: unsupported dtype {spec['dtype']!r}; expected one of "
                             f"{', '.join(_SAFETENSORS_DTYPES)}")
        shape = _check_ints("the shape", spec["shape"], at)
        offsets = _check_ints("data_offsets", spec["data_offsets"], at)
        if len(offsets) != 2 or offsets[0] > offsets[1]:
            raise ValueError(f"{at}: expected data_offsets [begin, end] with begin ≤ end, received {offsets}")
        dtype = numpy.dtype(_SAFETENSORS_DTYPES[spec["dtype"]][0])
        expected = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize if shape else dtype.itemsize
        if offsets[1] - offsets[0] != expected:
            raise ValueError(f"{at}: {offsets[1] - offsets[0]} bytes for shape {list(shape)} of {spec['dtype']} "
                             f"({expected} expected)")
        if offsets[1] > data_size:
            raise ValueError(f"{at}: its bytes end at {offsets[1]:,}, past the data's {data_size:,}: truncated")
        entries.append((offsets, name, spec["dtype"], shape))
    entries.sort()
    for (a, name_a, _, _), (b, name_b, _, _) in zip(entries, entries[1:]):
        if b[0] < a[1]:
            raise ValueError(f"{where}: tensors {name_a!r} and {name_b!r} overlap")
    out: dict[str, numpy.ndarray] = {}
    if not entries:
        return out
    data = numpy.memmap(path, dtype=numpy.uint8, mode="r", offset=8 + n, shape=(data_size,)) if data_size else None
    for (begin, end), name, dtype_name, shape in entries:
        raw_dtype, convert = _SAFETENSORS_DTYPES[dtype_name]
        arr = numpy.frombuffer(data[begin:end], dtype=raw_dtype) if end > begin else numpy.zeros(0, raw_dtype)
        arr = arr.astype(numpy.dtype(raw_dtype).newbyteorder("=")).reshape(shape)
        out[name] = convert(arr) if convert is not None else arr
    del data
    return out


def read_state_dict(path, **limits) -> dict:
    """The tensors of a weights file as ``{name: numpy.ndarray}``: ``.safetensors`` by its extension (or layout),
    anything else as a ``torch.save`` file (:func:`read_pth`; ``limits``: ``max_pickle_bytes``,
    ``max_storage_bytes``)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such weights file")
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    with open(path, "rb") as f:
        magic = f.read(9)
    if len(magic) == 9 and magic[:2] != b"PK" and magic[8:9] == b"{":  # a safetensors file under another name
        return read_safetensors(path)
    return read_pth(path, **limits)

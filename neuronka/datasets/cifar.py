"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009): 60,000 32×32 RGB images, as Keras's ``load_data()`` returns them.

``x``: uint8 ``(N, 32, 32, 3)`` (channels_last, C-contiguous); ``y``: ``(N, 1)``, uint8 for CIFAR-10
and int64 for CIFAR-100 (what Keras's code returns); train N = 50,000, test N = 10,000.

Where the data comes from, first found wins:

1. ``path=`` given to ``load_data``;
2. the folder named by ``$NEURONKA_DATA``;
3. the user cache, :func:`cache_dir` (``$XDG_CACHE_HOME/neuronka/datasets``, else ``~/.neuronka/datasets``);
4. a download of the official archive from www.cs.toronto.edu into the user cache, checked against its md5.

A source may be the official python archive (``cifar-10-python.tar.gz``), its extracted folder
(``data_batch_1`` … ``data_batch_5``, ``test_batch`` / ``train``, ``test``, ``meta``), an image-folder tree
(``train/<class>/*.png``, ``test/<class>/*``) or a ``.tar.gz`` of one. In a folder (``path`` or
``$NEURONKA_DATA``) these names are looked for: the archive, the extracted folder, ``<name>/`` holding
either, ``<name>-jpeg.tar.gz`` and ``<name>/`` as an image tree (``name`` = ``cifar10`` / ``cifar100``).

Image trees hold no order across classes; their images come back interleaved class by class
(the first image of each class, then the second, ...) with each class's files in natural order
(``NNNN.jpg`` numbering), so any slice, ``validation_split`` included, keeps the classes balanced.

The pickled batches are read by an unpickler that resolves no global except NumPy's array
reconstruction (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``): a
tampered file raises instead of running code. The decoded arrays are cached once per source as an
uncompressed ``.npz`` in the user cache (keyed by the source's path, size and modification time,
written to a temporary file and renamed), so later loads only read that file.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import posixpath
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy

from .. import config
from .images import find_tree_root, is_archive, is_image_file, read_image_tree, read_tar

CIFAR10_CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# the 20 superclasses and their 5 classes each, as the CIFAR page lists them (names as in the official meta)
CIFAR100_SUPERCLASSES = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}
# official label order (the meta file's): alphabetical, for both lists
CIFAR100_COARSE_LABEL_NAMES = tuple(sorted(CIFAR100_SUPERCLASSES))
CIFAR100_FINE_LABEL_NAMES = tuple(sorted(c for members in CIFAR100_SUPERCLASSES.values() for c in members))
# CIFAR100_FINE_TO_COARSE[fine label] = coarse label
CIFAR100_FINE_TO_COARSE = numpy.array(
    [CIFAR100_COARSE_LABEL_NAMES.index(next(s for s, m in CIFAR100_SUPERCLASSES.items() if fine in m))
     for fine in CIFAR100_FINE_LABEL_NAMES], dtype=numpy.int64)


@dataclass(frozen=True)
class _Spec:
    """What distinguishes CIFAR-10 from CIFAR-100 on disk."""

    name: str  # cifar10
    title: str  # CIFAR-10
    url: str
    md5: str
    archive: str  # the official archive's file name
    folder: str  # the folder it extracts to
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    label_keys: tuple[str, ...]  # keys of the label lists in each batch (first: the tree-folder classes)
    meta_keys: tuple[str, ...]  # keys of the name lists in the meta file, one per label key
    class_names: tuple[tuple[str, ...], ...]  # names per label key


CIFAR10 = _Spec(
    "cifar10", "CIFAR-10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a", "cifar-10-python.tar.gz", "cifar-10-batches-py",
    tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), "batches.meta",
    ("labels",), ("label_names",), (CIFAR10_CLASS_NAMES,))
CIFAR100 = _Spec(
    "cifar100", "CIFAR-100", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python.tar.gz", "cifar-100-python",
    ("train",), ("test",), "meta",
    ("fine_labels", "coarse_labels"), ("fine_label_names", "coarse_label_names"),
    (CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES))

_IMAGE_SHAPE = (32, 32, 3)
_ROW = 3 * 32 * 32  # one official row: the red plane, then green, then blue, each 32x32 row-major


def cache_dir() -> Path:
    """The user cache: ``$XDG_CACHE_HOME/neuronka/datasets`` if that variable is set, else ``~/.neuronka/datasets``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "neuronka" / "datasets" if xdg else Path.home() / ".neuronka" / "datasets"


# ---------------------------------------------------------------- reading pickles without running code

_NUMPY_GLOBALS = {
    # the only globals the official batches (NumPy arrays pickled by Python 2) name; numpy 2 spells the
    # first one numpy._core.multiarray. Resolved to this NumPy's own objects.
    ("numpy.core.multiarray", "_reconstruct"): numpy.empty(0).__reduce__()[0],
    ("numpy._core.multiarray", "_reconstruct"): numpy.empty(0).__reduce__()[0],
    ("numpy", "ndarray"): numpy.ndarray,
    ("numpy", "dtype"): numpy.dtype,
}


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allowed NumPy reconstruction: it may run code, so it is not loaded."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for data only: dicts, lists, tuples, bytes, str, numbers, and NumPy arrays.

    ``find_class`` is the only way a pickle reaches code (``os.system`` and the like); it admits
    NumPy's array reconstruction (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``,
    ``numpy.dtype``) and raises :class:`RefusedGlobal` (a ``pickle.UnpicklingError``) for every other global.
    """

    def find_class(self, module: str, name: str):
        try:
            return _NUMPY_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f"refusing to load global {module}.{name}: a CIFAR batch holds only data (dicts, lists, bytes and "
                f"NumPy arrays), so this file was not written by the CIFAR authors and may run code") from None


def _unpickle(data: bytes, name: str) -> dict:
    """Unpickle one official batch (bytes keys, Python 2 strings as bytes) with :class:`RestrictedUnpickler`."""
    import io  # noqa: PLC0415

    try:
        d = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except RefusedGlobal as e:
        raise ValueError(f"cannot read {name}: {e}") from None
    except Exception as e:  # a truncated or garbled pickle fails in many ways (EOFError, KeyError, TypeError, ...)
        raise ValueError(f"cannot read {name}: not a complete pickled CIFAR batch ({type(e).__name__}: {e}); "
                         f"expected the official python-format file") from None
    if not isinstance(d, dict):
        raise ValueError(f"cannot read {name}: expected a pickled dict, received {type(d).__name__}")
    return {(k.decode("utf-8") if isinstance(k, bytes) else k): v for k, v in d.items()}


def _batch_arrays(d: dict, spec: _Spec, name: str) -> tuple[numpy.ndarray, list[numpy.ndarray]]:
    """Check one unpickled batch; return x uint8 (n, 32, 32, 3) and one int64 label array per label key."""
    data = d.get("data")
    if isinstance(data, bytes):
        data = numpy.frombuffer(data, dtype=numpy.uint8).reshape(-1, _ROW)
    if not (isinstance(data, numpy.ndarray) and data.dtype == numpy.uint8 and data.ndim == 2
            and data.shape[1] == _ROW):
        got = (f"{data.dtype} {data.shape}" if isinstance(data, numpy.ndarray) else type(data).__name__)
        raise ValueError(f"{name}: expected b'data' as uint8 (n, {_ROW}) rows, received {got}")
    n = data.shape[0]
    labels = []
    for key, names in zip(spec.label_keys, spec.class_names):
        if key not in d:
            raise ValueError(f"{name}: expected the key b'{key}' ({spec.title} batch), found keys {sorted(d)}")
        y = numpy.asarray(d[key])
        if y.shape != (n,) or y.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected b'{key}' as {n} integer labels, received {y.dtype} {y.shape}")
        if n and (y.min() < 0 or y.max() >= len(names)):
            raise ValueError(f"{name}: b'{key}' holds labels outside 0..{len(names) - 1}")
        labels.append(y.astype(numpy.int64))
    # channel-major rows -> NHWC: row = [R plane | G plane | B plane]
    x = numpy.ascontiguousarray(data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1))
    return x, labels


def _check_meta(meta: dict, spec: _Spec, name: str) -> None:
    for key, names in zip(spec.meta_keys, spec.class_names):
        got = meta.get(key)
        if got is None:
            continue
        got = tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in got)
        if got != names:
            raise ValueError(f"{name}: b'{key}' lists {len(got)} names {got[:4]}..., expected the official "
                             f"{len(names)} {spec.title} names {names[:4]}...: not a {spec.title} meta file")


def _official_arrays(files: dict[str, bytes], spec: _Spec, source: Path) -> dict[str, numpy.ndarray]:
    """Decode the official batch files (basename -> bytes) into the cache's arrays."""
    if spec.meta_file in files:
        _check_meta(_unpickle(files[spec.meta_file], f"{source}/{spec.meta_file}"), spec, f"{source}/{spec.meta_file}")
    out = {}
    for split, names in (("train", spec.train_files), ("test", spec.test_files)):
        xs, ys = [], []
        for fname in names:
            label = f"{source}/{fname}"
            x, labels = _batch_arrays(_unpickle(files[fname], label), spec, label)
            xs.append(x)
            ys.append(labels)
        out[f"x_{split}"] = numpy.concatenate(xs)
        for k, key in enumerate(spec.label_keys):
            out[f"y_{split}_{key}"] = numpy.concatenate([y[k] for y in ys])
    return out


def _missing_message(spec: _Spec, source: Path, missing: list[str]) -> str:
    expected = ", ".join(spec.train_files + spec.test_files)
    return (f"{source}: missing {', '.join(missing)} (expected the official {spec.title} python files {expected}, "
            f"as in {spec.archive}, or an image-folder tree train/<class>/, test/<class>/)")


def _read_official_folder(folder: Path, spec: _Spec) -> dict[str, numpy.ndarray]:
    wanted = spec.train_files + spec.test_files
    missing = [f for f in wanted if not (folder / f).is_file()]
    if missing:
        raise ValueError(_missing_message(spec, folder, missing))
    names = wanted + ((spec.meta_file,) if (folder / spec.meta_file).is_file() else ())
    return _official_arrays({f: (folder / f).read_bytes() for f in names}, spec, folder)


def _read_official_members(members: list[tuple[str, bytes]], path: Path, spec: _Spec) -> dict[str, numpy.ndarray]:
    wanted = set(spec.train_files + spec.test_files + (spec.meta_file,))
    files = {posixpath.basename(name): data for name, data in members if posixpath.basename(name) in wanted}
    missing = [f for f in spec.train_files + spec.test_files if f not in files]
    if missing:
        raise ValueError(_missing_message(spec, path, missing))
    return _official_arrays(files, spec, path)


def _read_tree(source: Path, spec: _Spec, members: list | None = None) -> dict[str, numpy.ndarray]:
    tree, _ = read_image_tree(source, splits=("train", "test"), class_names=spec.class_names[0], members=members,
                              interleave=True)
    out = {}
    for split in ("train", "test"):
        x, y = tree[split]
        if x.shape[1:] != _IMAGE_SHAPE:
            raise ValueError(f"image tree {source}: split {split!r} holds {x.shape[2]}x{x.shape[1]} images, "
                             f"expected 32x32 RGB ({spec.title})")
        out[f"x_{split}"] = x
        out[f"y_{split}_{spec.label_keys[0]}"] = y
        if spec is CIFAR100:
            out[f"y_{split}_coarse_labels"] = CIFAR100_FINE_TO_COARSE[y]
    return out


def _official_folder(d: Path, spec: _Spec) -> bool:
    """Does ``d`` hold (some of) the official batch files? (Missing ones are named when it is read.)"""
    return any((d / f).is_file() for f in spec.train_files + spec.test_files)


def _recognize(p: Path, spec: _Spec) -> bool:
    """Is ``p`` itself a source: an archive, the extracted official folder, or an image tree?"""
    if p.is_file():
        return is_archive(p)
    if p.is_dir():
        return _official_folder(p, spec) or find_tree_root(p) is not None
    return False


def _candidates(spec: _Spec, d: Path) -> list[Path]:
    n = spec.name
    return [d / spec.archive, d / spec.folder, d / n / spec.archive, d / n / spec.folder,
            d / f"{n}-jpeg.tar.gz", d / n / f"{n}-jpeg.tar.gz", d / n]


def _search(spec: _Spec, d: Path) -> Path | None:
    for c in _candidates(spec, d):
        if _recognize(c, spec):
            return c
    return None


def _decode(source: Path, spec: _Spec) -> dict[str, numpy.ndarray]:
    if source.is_dir():
        if _official_folder(source, spec):
            return _read_official_folder(source, spec)
        root = find_tree_root(source)
        if root is None:
            raise ValueError(f"{source}: expected the extracted {spec.archive} ({', '.join(spec.train_files)}, "
                             f"{', '.join(spec.test_files)}) or an image-folder tree train/<class>/, test/<class>/")
        return _read_tree(root, spec)
    members = read_tar(source)
    official = set(spec.train_files + spec.test_files)
    if any(posixpath.basename(name) in official for name, _ in members):
        return _read_official_members(members, source, spec)
    if any(is_image_file(name) for name, _ in members):
        return _read_tree(source, spec, members)
    raise ValueError(f"archive {source} holds neither the official {spec.title} batches "
                     f"({', '.join(spec.train_files + spec.test_files)}) nor image files: expected {spec.archive} or "
                     f"a .tar.gz of an image-folder tree train/<class>/, test/<class>/")


# ---------------------------------------------------------------- the decoded cache

def _source_key(source: Path) -> str:
    """Identity of a source's contents: for an archive, its size and a hash of its bytes (a replacement of the
    same size and modification time is noticed); for a folder, path, size and modification time of every file."""
    st = source.stat()
    if source.is_file():
        digest = hashlib.blake2b(digest_size=16)
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
        return f"{source}|{st.st_size}|{digest.hexdigest()}"
    h = hashlib.sha1()
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        for fn in sorted(filenames):
            s = os.stat(os.path.join(dirpath, fn))
            h.update(f"{dirpath}/{fn}|{s.st_size}|{s.st_mtime_ns}\n".encode())
    return f"{source}|dir|{h.hexdigest()}"


def _cache_file(spec: _Spec, source: Path) -> Path:
    return cache_dir() / f"{spec.name}-{hashlib.sha1(str(source).encode()).hexdigest()[:16]}.npz"


def _read_cache(path: Path, key: str, spec: _Spec) -> dict[str, numpy.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with numpy.load(path, allow_pickle=False) as f:
            if str(f["source"]) != key:
                return None  # the source changed since: decode again
            names = ["x_train", "x_test"] + [f"y_{s}_{k}" for s in ("train", "test") for k in spec.label_keys]
            return {n: f[n] for n in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # unreadable: decode again and overwrite


def _write_cache(path: Path, key: str, arrays: dict[str, numpy.ndarray]) -> None:
    """Write atomically (temporary file, then ``os.replace``); warn and go on if the cache is not writable."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            numpy.savez(f, source=numpy.array(key), **arrays)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        warnings.warn(f"could not cache the decoded dataset at {path} ({e}); it will be decoded again next time",
                      stacklevel=3)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------- finding (or downloading) the source

def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` with urllib (tests replace this function to fetch a local file)."""
    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
        shutil.copyfileobj(r, f, length=1 << 20)


def file_md5(path: str | os.PathLike) -> str:
    """The hex md5 of a file, read in 1 MiB blocks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(spec: _Spec, directory: Path) -> Path:
    """Fetch the official archive into ``directory``; check its md5 before it takes its final name."""
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / spec.archive
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{spec.archive}-", suffix=".part")
    os.close(fd)
    tmp = Path(tmp)
    try:
        print(f"Downloading {spec.url} to {dest}", file=sys.stderr)
        _fetch(spec.url, tmp)
        got = file_md5(tmp)
        if got != spec.md5:
            raise ValueError(f"downloaded {spec.url}: md5 {got} does not match the expected {spec.md5} "
                             f"(incomplete or altered download; nothing was kept, try again)")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _locate(spec: _Spec, path: str | os.PathLike | None) -> Path:
    if path is not None:
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"{spec.name}.load_data: path={str(path)!r} does not exist (expected the official "
                                    f"{spec.archive}, its extracted folder, an image-folder tree or a .tar.gz of one)")
        if _recognize(p, spec):
            return p.resolve()
        if p.is_dir():
            found = _search(spec, p)
            if found is not None:
                return found.resolve()
            return p.resolve()  # let the decoder say what the folder lacks
        raise ValueError(f"{spec.name}.load_data: path={str(path)!r} is not a .tar.gz/.tgz/.tar archive nor a folder")
    looked = []
    env = config.get("data")  # neuronka.config: NEURONKA_DATA
    if env:
        found = _search(spec, Path(env).expanduser())
        if found is not None:
            return found.resolve()
        looked.append(f"$NEURONKA_DATA={env}")
    else:
        looked.append("$NEURONKA_DATA (not set)")
    cache = cache_dir()
    found = _search(spec, cache)
    if found is not None:
        return found.resolve()
    looked.append(f"the user cache {cache}")
    try:
        return _download(spec, cache).resolve()
    except (urllib.error.URLError, OSError) as e:
        names = ", ".join(str(c.relative_to(cache)) for c in _candidates(spec, cache))
        raise FileNotFoundError(
            f"{spec.title} not found. Looked in {' and '.join(looked)} for {names}; downloading {spec.url} failed "
            f"({e}). Provide the data by one of: load_data(path=...) with the official {spec.archive}, its "
            f"extracted folder, an image-folder tree (train/<class>/*.png, test/<class>/*) or a .tar.gz of one; "
            f"setting $NEURONKA_DATA to a folder holding one of those; or running once with internet access so the "
            f"download can fill {cache}.") from None


def load(spec: _Spec, path: str | os.PathLike | None = None) -> dict[str, numpy.ndarray]:
    """Find the source, then read the decoded cache or decode (and cache) it: the arrays by name."""
    source = _locate(spec, path)
    key = _source_key(source)
    cfile = _cache_file(spec, source)
    arrays = _read_cache(cfile, key, spec)
    if arrays is None:
        arrays = _decode(source, spec)
        _write_cache(cfile, key, arrays)
    return arrays


def load_cifar10(path: str | os.PathLike | None = None):
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``: x uint8 (N, 32, 32, 3), y uint8 (N, 1) in 0..9."""
    a = load(CIFAR10, path)
    return ((a["x_train"], a["y_train_labels"].astype(numpy.uint8).reshape(-1, 1)),
            (a["x_test"], a["y_test_labels"].astype(numpy.uint8).reshape(-1, 1)))


def load_cifar100(label_mode: str = "fine", path: str | os.PathLike | None = None):
    """CIFAR-100 as ``(x_train, y_train), (x_test, y_test)``: x uint8 (N, 32, 32, 3), y int64 (N, 1).

    ``label_mode="fine"``: the 100 classes (0..99, :data:`CIFAR100_FINE_LABEL_NAMES`); ``"coarse"``: the
    20 superclasses (0..19, :data:`CIFAR100_COARSE_LABEL_NAMES`).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'cifar100.load_data: expected label_mode "fine" or "coarse", received '
                         f"label_mode={label_mode!r}")
    a = load(CIFAR100, path)
    key = f"{label_mode}_labels"
    return ((a["x_train"], a[f"y_train_{key}"].astype(numpy.int64).reshape(-1, 1)),
            (a["x_test"], a[f"y_test_{key}"].astype(numpy.int64).reshape(-1, 1)))

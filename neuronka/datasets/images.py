"""Image-folder trees: ``<root>/<class>/<image>`` (one split) or ``<root>/<split>/<class>/<image>``.

The layout Keras's ``image_dataset_from_directory`` reads: one folder per class, images inside.
A tree may be a folder or a ``.tar`` / ``.tar.gz`` / ``.tgz`` archive of one (read into memory by
:func:`read_tar`, nothing extracted to disk). Labels are class indices in the order of ``class_names``
(alphanumerical folder order when not given); within a class, files come in natural order
(``2.png`` before ``10.png``), so numbered files keep their numbering.

Decoding uses Pillow, in a pool of ``num_workers`` forked processes for large trees (the 60,000
32×32 JPEGs of CIFAR-10 decode in a few seconds on 2 cores); where ``fork`` is unavailable
(Windows, macOS default) it decodes in this process, so a script without a ``__main__`` guard
never re-runs itself in a child.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import posixpath
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy

from .. import config

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
_CHUNK = 1000  # images per task sent to a decoding worker
_POOL_MIN_IMAGES = 4000  # below this, a pool costs more than it saves


def natural_key(name: str) -> list:
    """Sort key putting ``img2.png`` before ``img10.png``: digit runs compare as numbers."""
    # re.split with a capture group alternates text, number, text, ... so positions always hold the same type
    return [int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", name))]


def is_image_file(name: str) -> bool:
    """True when ``name`` ends with one of :data:`IMAGE_EXTENSIONS` (any case) and is not hidden."""
    base = posixpath.basename(name)
    return not base.startswith(".") and base.lower().endswith(IMAGE_EXTENSIONS)


def is_archive(path: str | os.PathLike) -> bool:
    """True for ``.tar``, ``.tar.gz``, ``.tgz`` file names."""
    return str(path).lower().endswith((".tar", ".tar.gz", ".tgz"))


def decode_image(data: bytes, name: str = "<bytes>", image_size: tuple[int, int] | None = None) -> numpy.ndarray:
    """Decode one encoded image to a uint8 ``(height, width, 3)`` RGB array (grayscale/palette/RGBA → RGB).

    ``image_size=(height, width)`` resizes with bilinear filtering; otherwise the size is kept.
    Errors name the file.
    """
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415  (Pillow only when images are read)

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode != "RGB":
                im = im.convert("RGB")
            if image_size is not None and im.size != (image_size[1], image_size[0]):
                im = im.resize((image_size[1], image_size[0]), Image.BILINEAR)
            w, h = im.size
            return numpy.frombuffer(im.tobytes(), dtype=numpy.uint8).reshape(h, w, 3)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"cannot decode image {name}: {e} (expected a readable image file)") from None


def _decode_chunk(task: tuple[list[tuple[str, bytes | None]], tuple[int, int] | None]
                  ) -> numpy.ndarray | list[numpy.ndarray]:
    """Worker: decode ``(name, bytes)`` pairs (``bytes`` None: read the file ``name``); one stacked array
    when the images share a size (one object to send back), else the list of arrays."""
    items, image_size = task
    out = []
    for name, data in items:
        if data is None:
            with open(name, "rb") as f:
                data = f.read()
        out.append(decode_image(data, name, image_size))
    if out and all(a.shape == out[0].shape for a in out):
        return numpy.stack(out)
    return out


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def decode_many(items: Iterable[tuple[str, bytes | None]], image_size: tuple[int, int] | None = None,
                num_workers: int | None = None, expected_count: int | None = None,
                ) -> list[numpy.ndarray | list[numpy.ndarray]]:
    """Decode ``(name, bytes-or-None)`` pairs in order, in a pool of ``num_workers`` forked processes (None:
    one per core found, ``neuronka.ops.threads.cores()``).

    Returns one entry per chunk of up to 1,000 images: an (n, H, W, 3) array when the chunk's images
    share a size, else the list of its (H, W, 3) arrays.

    ``items`` may be a lazy iterator: chunks go to the workers as they are produced, so the work of
    producing them overlaps decoding. The pool is used when ``fork`` is available and the number
    of images (``expected_count``, or ``len(items)``) is large enough to repay starting it.
    """
    if num_workers is None:
        from ..ops.threads import cores  # noqa: PLC0415

        num_workers = cores()
    count = expected_count if expected_count is not None else (len(items) if hasattr(items, "__len__") else None)
    use_pool = (num_workers > 1 and "fork" in multiprocessing.get_all_start_methods()
                and (count is None or count >= _POOL_MIN_IMAGES))
    tasks = ((chunk, image_size) for chunk in _chunks(items, _CHUNK))
    if not use_pool:
        return [_decode_chunk(task) for task in tasks]
    with warnings.catch_warnings():
        # Python >= 3.12 warns that fork() in a threaded process may deadlock the child; the workers
        # only run Pillow's decoder and NumPy copies (no BLAS, no locks taken by those threads)
        warnings.simplefilter("ignore", DeprecationWarning)
        with multiprocessing.get_context("fork").Pool(num_workers) as pool:
            return list(pool.imap(_decode_chunk, tasks))


def _stack(images: Sequence[numpy.ndarray], names: Sequence[str], image_size: tuple[int, int] | None) -> numpy.ndarray:
    """Stack equally-sized images into (N, H, W, 3); name the first file whose size differs."""
    if not images:
        h, w = image_size if image_size is not None else (0, 0)
        return numpy.empty((0, h, w, 3), dtype=numpy.uint8)
    shape = images[0].shape
    for img, name in zip(images, names):
        if img.shape != shape:
            raise ValueError(f"image {name} is {img.shape[1]}x{img.shape[0]}, expected {shape[1]}x{shape[0]} like "
                             f"{names[0]} (all images of a tree must share one size; pass image_size=(h, w) to "
                             f"resize)")
    return numpy.stack(images)


class _Entry:
    """One image file of a tree: where it sits (split, class, file name) and its name for messages."""

    __slots__ = ("split", "cls", "key", "name")

    def __init__(self, split: str | None, cls: str, key: list, name: str):
        self.split, self.cls, self.key, self.name = split, cls, key, name  # key: natural_key of the file name


def _walk_folder(root: Path) -> list[tuple[tuple[str, ...], str]]:
    """All image files under ``root``: (relative folder parts, full path), sorted for a stable order."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root).parts
        for fn in filenames:
            if is_image_file(fn):
                found.append((rel + (fn,), os.path.join(dirpath, fn)))
    return found


class ArchiveError(ValueError):
    """A tar archive that cannot be read to its end: truncated, corrupted, or not a tar file."""


def _octal(field: bytes) -> int:
    """A tar header number: NUL/space-terminated octal, or GNU base-256 when the first byte has its top bit set."""
    if field[:1] and field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip()
    return int(digits, 8) if digits else 0


def _pax_path(records: bytes) -> str | None:
    """The ``path`` of a pax extended header: records ``"<length> <key>=<value>\n"``."""
    pos = 0
    while pos < len(records):
        space = records.index(b" ", pos)
        length = int(records[pos:space])
        if length <= space - pos or pos + length > len(records):  # a record must hold its own length field
            raise ArchiveError(f"pax header record at offset {pos} has length {length}: corrupted archive")
        key, _, value = records[space + 1:pos + length - 1].partition(b"=")
        if key == b"path":
            return value.decode("utf-8", "surrogateescape")
        pos += length
    return None


def _tar_members(buf: bytes) -> list[tuple[str, memoryview]]:
    """Regular files of an in-memory tar (ustar, GNU long names, pax paths) as (name, view of the bytes)."""
    view = memoryview(buf)
    members = []
    off, end = 0, len(buf)
    next_name = None  # from a GNU 'L' or pax 'x' header: the name of the member that follows
    while off + 512 <= end:
        header = buf[off:off + 512]
        if not header.strip(b"\0"):
            break  # the end-of-archive blocks
        # checksum: sum of the header bytes with its own 8-byte field counted as spaces
        if _octal(header[148:156]) != sum(header) - sum(header[148:156]) + 8 * 32:
            raise ArchiveError(f"bad header checksum at byte {off}")
        size = _octal(header[124:136])
        kind = header[156:157]
        start = off + 512
        off = start + -(-size // 512) * 512
        if start + size > end:
            raise ArchiveError(f"member at byte {start} needs {size} bytes, the archive ends at {end}")
        if kind == b"L":
            next_name = bytes(view[start:start + size]).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        if kind == b"x":
            next_name = _pax_path(bytes(view[start:start + size])) or next_name
            continue
        if kind not in (b"0", b"\0", b"7"):
            next_name = None  # directories, links, global pax headers...: no data to read
            continue
        if next_name is not None:
            name, next_name = next_name, None
        else:
            name = header[:100].split(b"\0", 1)[0]
            prefix = header[345:500].split(b"\0", 1)[0] if header[257:262] == b"ustar" else b""
            name = (prefix + b"/" + name if prefix else name).decode("utf-8", "surrogateescape")
        members.append((name, view[start:start + size]))
    else:
        if off < end or end == 0:
            raise ArchiveError("no end-of-archive marker: the archive is truncated")
    return members


class ArchiveSizeError(ArchiveError):
    """An archive that inflates past the cap (``neuronka.config`` setting ``max_archive_bytes``)."""


def _gunzip_capped(raw: bytes, path) -> bytes:
    """The gunzipped bytes, inflated in pieces and counted: more than ``max_archive_bytes`` (4 GiB by default)
    is refused before it fills the memory (a small gzip can inflate a thousandfold)."""
    cap = int(config.get("max_archive_bytes"))
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out, total, pos = [], 0, 0
    while pos < len(raw) or inflater.unconsumed_tail:
        data = inflater.unconsumed_tail or raw[pos:pos + (1 << 20)]
        if not inflater.unconsumed_tail:
            pos += len(data)
        piece = inflater.decompress(data, 1 << 24)
        total += len(piece)
        if total > cap:
            raise ArchiveSizeError(f"archive {path} inflates to more than {cap} bytes (neuronka.config "
                                   f"'max_archive_bytes'); refused. Raise the cap if the archive is real")
        out.append(piece)
        if inflater.eof:
            break
    if not inflater.eof:
        raise EOFError("the gzip stream ends before its end marker")
    return b"".join(out)


def read_tar(path: str | os.PathLike) -> list[tuple[str, memoryview]]:
    """All regular files of a ``.tar``, ``.tar.gz`` or ``.tgz`` archive as ``(name, bytes)`` pairs, in archive order.

    The archive is read into memory (and gunzipped) in one go and its headers parsed directly: ten
    times faster than :mod:`tarfile` on archives of many small files (60,000 JPEGs: 0.3 s instead of
    2.3 s). Raises :class:`ArchiveError` (a ``ValueError``) naming the file when it is truncated or
    corrupted; the gzip CRC guards the compressed bytes.
    """
    import gzip  # noqa: PLC0415

    path = Path(path)
    try:
        raw = path.read_bytes()
        buf = _gunzip_capped(raw, path) if raw[:2] == b"\x1f\x8b" else raw
        del raw
        return _tar_members(buf)
    except ArchiveSizeError:
        raise
    except (ArchiveError, EOFError, zlib.error, gzip.BadGzipFile, ValueError) as e:
        raise ArchiveError(f"archive {path} is truncated or corrupted ({type(e).__name__}: {e}); expected a "
                           f"complete tar or tar.gz file: delete it and provide (or download) it again") from None


def _parts(name: str) -> tuple[str, ...] | None:
    """The components of a member name; None for hidden files and names climbing out with '..'."""
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    return None if any(p.startswith(".") or p == ".." for p in parts) else parts


def _strip_to_root(parts: tuple[str, ...], depth: int) -> tuple[str, ...]:
    return parts[len(parts) - depth - 1:] if len(parts) > depth else parts


def read_image_tree(source: str | os.PathLike, splits: Sequence[str] | None = ("train", "test"),
                    class_names: Sequence[str] | None = None, image_size: tuple[int, int] | None = None,
                    num_workers: int | None = None, members: list[tuple[str, bytes]] | None = None,
                    interleave: bool = False,
                    ) -> tuple[dict[str | None, tuple[numpy.ndarray, numpy.ndarray]], list[str]]:
    """Read an image-folder tree (folder or tar archive) into ``{split: (x, y)}`` and the class names.

    With ``splits=("train", "test")`` the tree is ``<split>/<class>/<image>``; with ``splits=None`` it is
    ``<class>/<image>`` and the result's only key is ``None``. The tree may sit under leading folders
    (``cifar10/train/cat/0001.jpg``): the last path components are used. ``x`` is uint8
    ``(N, H, W, 3)``; ``y`` int64 ``(N,)`` indexes ``class_names``. Order: class by class, files in
    natural order within a class. Every split must hold a folder for every class (else a
    ``ValueError`` names the tree, the split and the missing classes). ``members``: the archive's
    files when already read with :func:`read_tar`. ``interleave=True`` orders each split round-robin
    over the classes instead (:func:`interleave_classes`).
    """
    source = Path(source)
    depth = 1 if splits is None else 2  # folders above the file that matter: class, or split/class
    if source.is_dir():
        pairs = [(parts, (full, None)) for parts, full in _walk_folder(source)]
        count = len(pairs)
    elif source.is_file() and is_archive(source):
        if members is None:
            members = read_tar(source)
        # lazily: the per-file work then runs in the pool's feeder thread while the workers decode
        pairs = ((_parts(name), (posixpath.join(source.name, name), data)) for name, data in members
                 if is_image_file(name))
        count = len(members)
    elif source.exists():
        raise ValueError(f"read_image_tree: expected a folder or a .tar/.tar.gz/.tgz archive, received {str(source)!r}")
    else:
        raise FileNotFoundError(f"read_image_tree: no such folder or archive: {str(source)!r}")

    entries: list[_Entry] = []

    def items() -> Iterator[tuple[str, bytes | None]]:
        for parts, (name, data) in pairs:
            if parts is None or len(parts) < depth + 1:
                continue  # hidden, or a loose file beside the class folders (README.png): not an example
            rel = _strip_to_root(parts, depth)
            split = None if splits is None else rel[0]
            if splits is not None and split not in splits:
                continue
            entries.append(_Entry(split, rel[-2], natural_key(rel[-1]), name))
            yield name, (bytes(data) if data is not None else None)

    chunks = decode_many(items(), image_size=image_size, num_workers=num_workers, expected_count=count)
    # decode_many consumed items() to the end, so entries lists every image, in the same order as the chunks
    if all(isinstance(ch, numpy.ndarray) for ch in chunks) and len({ch.shape[1:] for ch in chunks}) <= 1:
        images = numpy.concatenate(chunks) if chunks else None  # one array: gathers below are one take each
    else:
        images = [img for ch in chunks for img in ch]
    found_classes = sorted({e.cls for e in entries}, key=natural_key)
    if class_names is None:
        class_names = found_classes
    class_names = [str(c) for c in class_names]
    index = {c: i for i, c in enumerate(class_names)}
    unexpected = [c for c in found_classes if c not in index]
    if unexpected:
        raise ValueError(f"image tree {source}: unexpected class folder(s) {unexpected} (expected only "
                         f"{_names(class_names)})")
    result: dict[str | None, tuple[numpy.ndarray, numpy.ndarray]] = {}
    for split in ([None] if splits is None else list(splits)):
        sel = [i for i, e in enumerate(entries) if e.split == split]
        present = {entries[i].cls for i in sel}
        missing = [c for c in class_names if c not in present]
        if missing:
            where = "" if split is None else f" split {split!r}"
            raise ValueError(f"image tree {source}{where}: no images for class(es) {_names(missing)} (expected a "
                             f"folder of images for each of the {len(class_names)} classes {_names(class_names)})")
        sel.sort(key=lambda i: (index[entries[i].cls], entries[i].key))
        if interleave:
            labels = numpy.fromiter((index[entries[i].cls] for i in sel), dtype=numpy.int64, count=len(sel))
            sel = [sel[i] for i in interleave_classes(labels)]
        if isinstance(images, numpy.ndarray):
            x = images[numpy.asarray(sel, dtype=numpy.intp)]
        else:
            x = _stack([images[i] for i in sel] if images else [], [entries[i].name for i in sel], image_size)
        y = numpy.fromiter((index[entries[i].cls] for i in sel), dtype=numpy.int64, count=len(sel))
        result[split] = (x, y)
    return result, class_names


def interleave_classes(y: numpy.ndarray) -> numpy.ndarray:
    """The order taking class-major labels ``y`` round-robin: the 1st sample of each class, then the 2nd, ...

    ``y`` sorted by class (as an image tree reads); returns indices into it. Any prefix or suffix of the
    result then holds the classes in proportion (a ``validation_split`` takes every class).
    """
    y = numpy.asarray(y)
    if len(y) == 0:
        return numpy.zeros(0, dtype=numpy.intp)
    start = numpy.searchsorted(y, numpy.arange(y.max() + 1))  # where each class begins
    rank = numpy.arange(len(y)) - start[y]  # position of each sample within its class
    return numpy.lexsort((y, rank))  # by rank, then class


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def load_image_folder(directory: str | os.PathLike, class_names: Sequence[str] | None = None,
                      image_size: tuple[int, int] | None = None,
                      num_workers: int | None = None) -> tuple[numpy.ndarray, numpy.ndarray, list[str]]:
    """Load ``<directory>/<class>/<image>`` (a folder or a tar archive of one) into arrays.

    Returns ``(x, y, class_names)``: ``x`` uint8 ``(N, H, W, 3)`` RGB, ``y`` int64 ``(N,)`` with
    ``y[i]`` the index of the image's class in ``class_names`` (Keras's ``labels="inferred"``:
    alphanumerical folder order unless ``class_names`` fixes it). ``image_size=(height, width)``
    resizes (bilinear); without it all images must share one size.
    """
    tree, names = read_image_tree(directory, splits=None, class_names=class_names, image_size=image_size,
                                  num_workers=num_workers)
    x, y = tree[None]
    return x, y, names


def find_tree_root(directory: Path, splits: Sequence[str] = ("train", "test")) -> Path | None:
    """The folder holding the split folders: ``directory`` itself or one nested folder (``cifar10/train``)."""
    if all((directory / s).is_dir() for s in splits):
        return directory
    subdirs = [d for d in directory.iterdir() if d.is_dir() and not d.name.startswith(".")]
    for d in subdirs:
        if all((d / s).is_dir() for s in splits):
            return d
    return None

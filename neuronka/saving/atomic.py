"""Atomic writes and size-capped reads of whole files.

``atomic_write_bytes`` writes to a temporary file in the target's directory, flushes, fsyncs, then renames it
over the target with ``os.replace`` (atomic on POSIX and Windows) and fsyncs the directory: a crash at any point
leaves either the previous file or the new one, never a mix, and no temporary file behind.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _write_all(f, data: bytes) -> None:
    """Write ``data`` to the open temporary file: the step a crash can interrupt.

    It is looked up on ``neuronka.saving`` at each write, so a test can replace ``neuronka.saving._write_all``
    to simulate a crash in the middle of a save."""
    f.write(data)


def _writer():
    package = sys.modules.get(__name__.rpartition(".")[0])
    return getattr(package, "_write_all", _write_all)


def atomic_write_bytes(filepath, data: bytes, overwrite: bool = True) -> None:
    """Write ``data`` to ``filepath`` atomically: temp file in the same directory, flush, fsync, ``os.replace``.

    ``overwrite=False`` refuses to replace an existing file (``FileExistsError``); the file keeps the mode of
    the file it replaces (else 0666 minus the umask)."""
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
            _writer()(f, data)
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


def read_file(filepath: str, cap: int, what: str) -> bytes:
    """The bytes of ``filepath``, refusing a file larger than ``cap`` bytes before reading it."""
    try:
        size = os.stat(filepath).st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"No such file: {filepath}") from None
    if os.path.isdir(filepath):
        raise ValueError(f"{filepath}: expected {what}, received a directory")
    if size > cap:
        raise ValueError(f"{filepath}: {what} of {size} bytes is larger than the cap of {cap} bytes "
                         f"(neuronka.saving caps: see the module docstring)")
    with open(filepath, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{filepath}: {what} grew beyond the cap of {cap} bytes while being read")
    return data

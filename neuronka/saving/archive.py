"""Zip archives (``.keras`` files, ``.weights.npz`` files) read with a size cap on every member.

A member is read only after its name and declared size are checked (:mod:`.limits`), and its bytes are counted
while it inflates: a member whose data does not match its declared size (a "zip bomb" lying about its size, or a
truncated one) is refused. Member names that could point outside an extraction folder (``../x``, ``/etc/x``,
``C:x``, backslashes, NUL) are refused as the archive is opened, even though neuronka never extracts to disk.
"""
from __future__ import annotations

import io
import os
import zipfile

from . import limits

_CHUNK = 1 << 20


def _check_member_name(name: str, source: str) -> None:
    parts = name.split("/")
    bad = (not name or name.startswith("/") or "\\" in name or "\0" in name or ".." in parts
           or (len(name) > 1 and name[1] == ":"))
    if bad:
        raise ValueError(f"{source}: refusing an archive member named {name!r}: a member name must be a relative "
                         f"path without '..', a drive or a backslash")


class Archive:
    """A zip archive opened for reading; ``read(name, cap)`` returns one member's bytes, checked."""

    def __init__(self, file, source: str):
        self.source = source
        try:
            self.zf = zipfile.ZipFile(file)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
            raise ValueError(f"{source}: not a readable zip archive (truncated or corrupted?): {e}") from e
        if len(infos) > limits.MAX_ARCHIVE_MEMBERS:
            self.zf.close()
            raise ValueError(f"{source}: the archive holds {len(infos)} members, more than the cap of "
                             f"{limits.MAX_ARCHIVE_MEMBERS}")
        seen = set()
        for info in infos:
            _check_member_name(info.filename, source)
            if info.filename in seen:
                self.zf.close()
                raise ValueError(f"{source}: the archive holds two members named {info.filename!r}")
            seen.add(info.filename)
        self.names = [i.filename for i in infos]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        self.zf.close()

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str, cap: int) -> bytes:
        """The bytes of member ``name``: declared size ≤ ``cap``, bytes counted while inflating."""
        where = f"{self.source}: member {name!r}"
        info = self.zf.getinfo(name)
        declared = info.file_size
        if declared > cap:
            raise ValueError(f"{where} declares {declared} bytes, more than the cap of {cap} bytes")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != declared:
            raise ValueError(f"{where} is stored uncompressed but declares {declared} bytes for "
                             f"{info.compress_size} stored bytes: the archive lies about its size")
        if info.compress_type != zipfile.ZIP_STORED and declared > limits.MAX_DEFLATE_RATIO * info.compress_size \
                + 1024:
            raise ValueError(f"{where} declares {declared} bytes from {info.compress_size} compressed bytes, more "
                             f"than any compression can give: the archive lies about its size")
        buf = io.BytesIO()
        count = 0
        try:
            with self.zf.open(info) as f:
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    count += len(chunk)
                    if count > declared or count > cap:
                        raise ValueError(f"{where} inflates to more than the {declared} bytes it declares")
                    buf.write(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError) as e:
            raise ValueError(f"{where} cannot be read (truncated, corrupted, or its data does not match its "
                             f"declared size {declared}): {e}") from e
        if count != declared:
            raise ValueError(f"{where} holds {count} bytes but declares {declared}: truncated or lying about its size")
        return buf.getvalue()


def open_archive(filepath: str, source: str | None = None) -> Archive:
    """The zip at ``filepath`` (``ValueError`` naming the file when it is not one)."""
    source = source or filepath
    if not os.path.isfile(filepath):
        if os.path.isdir(filepath):
            raise ValueError(f"{source}: expected a zip file, received a directory")
        raise FileNotFoundError(f"No such file: {filepath}")
    with open(filepath, "rb") as f:
        head = f.read(4)
    if head[:2] != b"PK":
        kind = "an HDF5 file" if head == b"\x89HDF" else "not a zip archive"
        raise ValueError(f"{source}: expected a zip archive (a .keras file), but the file is {kind}"
                         f" (truncated, or the wrong file?)")
    return Archive(filepath, source)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive of ``members`` (stored uncompressed, in the given order, as Keras writes ``.keras``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()

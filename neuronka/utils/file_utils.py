"""``keras.utils.get_file``: fetch a file once into the user cache, check its hash, extract archives safely.

The cache is Keras's own (``$KERAS_HOME`` or ``~/.keras``, sub-folder ``datasets`` by default), so files a
Keras installation downloaded are found here too, and the other way round.

Safety: a download goes to a temporary file beside its target and is renamed into place only when
complete and, if a hash was given, verified (an interrupted download never leaves a truncated file under
the final name). Extraction refuses members that would land outside the extraction folder (absolute
paths, ``..``, links), device files, and stops with an error once the extracted bytes pass
``max_extract_bytes`` (``neuronka.config`` setting ``max_extract_bytes``, 16 GiB by default) — sizes are
counted while writing, so an archive lying about its members' sizes is caught too. A failed extraction
removes what it wrote.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from .. import config

_CHUNK = 1 << 16


def keras_home() -> str:
    """``$KERAS_HOME``, else ``~/.keras`` (Keras's cache folder)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def resolve_hasher(algorithm: str = "auto", file_hash: str | None = None):
    """A hashlib object: sha256 for ``"sha256"`` or a 64-character hash under ``"auto"``, else md5."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm not in ("auto", "md5", "sha256"):
        raise ValueError(f"get_file: expected hash_algorithm 'auto', 'md5' or 'sha256', received {algorithm!r}")
    return hashlib.md5()


def hash_file(fpath, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The hex digest of a file (read in chunks)."""
    hasher = algorithm if not isinstance(algorithm, str) else resolve_hasher(algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash: str, algorithm: str = "auto", chunk_size: int = 65535) -> bool:
    """Whether the file's md5 or sha256 (chosen as in :func:`resolve_hasher`) equals ``file_hash``."""
    return hash_file(fpath, resolve_hasher(algorithm, file_hash), chunk_size) == str(file_hash)


# ----------------------------------------------------------------------------------------------------
# extraction
# ----------------------------------------------------------------------------------------------------
class ExtractionError(ValueError):
    """An archive member that may not be extracted, or an archive larger than the cap."""


def _safe_target(root: Path, name: str, archive) -> Path:
    target = (root / name).resolve()
    if os.path.isabs(name) or not (target == root or root in target.parents):
        raise ExtractionError(f"{archive}: member {name!r} would be written outside the extraction folder {root}")
    return target


def _copy_capped(src, dst, budget: list, archive, name) -> None:
    while True:
        chunk = src.read(_CHUNK)
        if not chunk:
            return
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise ExtractionError(f"{archive}: more than {config.get('max_extract_bytes')} bytes extracted "
                                  f"(at member {name!r}); raise neuronka.config 'max_extract_bytes' if it is real")
        dst.write(chunk)


def _extract_tar(archive: tarfile.TarFile, root: Path, source, budget: list) -> None:
    for member in archive:
        target = _safe_target(root, member.name, source)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            target.parent.mkdir(parents=True, exist_ok=True)
            src = archive.extractfile(member)
            with src, open(target, "wb") as dst:
                _copy_capped(src, dst, budget, source, member.name)
        elif member.issym() or member.islnk():
            raise ExtractionError(f"{source}: member {member.name!r} is a link; links are not extracted")
        else:
            raise ExtractionError(f"{source}: member {member.name!r} is a device or fifo; not extracted")


def _extract_zip(archive: zipfile.ZipFile, root: Path, source, budget: list) -> None:
    for info in archive.infolist():
        target = _safe_target(root, info.filename, source)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            raise ExtractionError(f"{source}: member {info.filename!r} is a link; links are not extracted")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "wb") as dst:
            _copy_capped(src, dst, budget, source, info.filename)


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Extract a tar (plain, gz, bz2, xz) or zip archive into ``path``; False when it is none of the formats
    asked for (``"auto"``: tar then zip; None: none)."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    file_path, root = str(file_path), Path(path).resolve()
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"extract_archive: expected archive_format 'auto', 'tar', 'zip' or None, "
                             f"received {kind!r}")
        if not (tarfile.is_tarfile(file_path) if kind == "tar" else zipfile.is_zipfile(file_path)):
            continue
        existed = root.exists()
        root.mkdir(parents=True, exist_ok=True)
        budget = [int(config.get("max_extract_bytes"))]
        try:
            if kind == "tar":
                with tarfile.open(file_path) as archive:
                    _extract_tar(archive, root, file_path, budget)
            else:
                with zipfile.ZipFile(file_path) as archive:
                    _extract_zip(archive, root, file_path, budget)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ExtractionError, KeyboardInterrupt) as err:
            if not existed:
                shutil.rmtree(root, ignore_errors=True)
            if isinstance(err, (ExtractionError, KeyboardInterrupt)):
                raise
            raise ExtractionError(f"{file_path}: not a readable {kind} archive ({err})") from err
        return True
    return False


# ----------------------------------------------------------------------------------------------------
# the download
# ----------------------------------------------------------------------------------------------------
def _download(origin: str, target: str, verbose: bool = True) -> None:
    """``origin`` into ``target`` through a temporary file renamed into place when complete."""
    from .progbar import Progbar  # noqa: PLC0415

    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(origin) as response:  # noqa: S310 - the user's URL
            total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            bar = Progbar(int(total) if total else None, verbose=1 if verbose else 0)
            done = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                bar.update(done)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except urllib.error.HTTPError as e:
        raise Exception(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from e  # noqa: TRY002 - Keras's type
    except urllib.error.URLError as e:
        raise Exception(f"URL fetch failure on {origin}: {e.errno} -- {e.reason}") from e  # noqa: TRY002
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The local path of ``origin``, downloaded into ``cache_dir/cache_subdir`` unless already there with the
    expected hash; with ``extract`` (or ``untar``), the folder the archive was extracted into.

    Names as in Keras: without ``fname`` the URL's file name is used; an archive named ``x.tar.gz`` is
    extracted into ``x_extracted``, one named ``x`` (no extension) downloads to ``x_archive`` and extracts
    into ``x``. ``file_hash`` (or the older ``md5_hash``) is checked after download and on a cached file
    (a mismatch in the cache downloads again; after a download it raises). One difference: a ``cache_dir``
    that does not exist yet is created (Keras then falls back to ``/tmp/.keras``).
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(str(cache_dir) if cache_dir is not None else keras_home())
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    provided = fname
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'."
                             f"Please specify the `fname` argument.")
    elif os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(f"Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                         f"directory, use the `cache_dir` argument. Received: fname={fname}")
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            stem = fname[:fname.find(".")]
            extraction_dir = os.path.join(datadir, f"{stem}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because the {hash_algorithm} "
              f"file hash does not match the original value of {file_hash} so we will re-download the data.")
        download = True
    if download:
        print(f"Downloading data from {origin}")
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does not match "
                             f"the provided value of {file_hash}.")
    if extract or untar:
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            import warnings  # noqa: PLC0415

            warnings.warn(f"Could not extract archive {target}.", stacklevel=2)
        return extraction_dir
    return target

"""The run folder on disk: atomic JSON / text writes, history.csv and steps.csv, the folder's name, the
settings a resumed run must agree with, the ``.lock`` that keeps a second ``neuronka train`` out, and the
removal of temporary files a killed write left behind.
"""
from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
from pathlib import Path

import numpy

from .settings import RUN_OPTIONS, JobError


# ======================================================================================
# small file helpers
# ======================================================================================
def _write_text(path: Path, text: str) -> None:
    from ..saving import atomic_write_bytes  # noqa: PLC0415

    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(o):
    if isinstance(o, numpy.generic):
        return o.item()
    if isinstance(o, numpy.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _write_json(path: Path, obj) -> None:
    _write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise JobError(f"{path} not found") from None
    except (OSError, json.JSONDecodeError) as e:
        raise JobError(f"cannot read {path}: {e}") from None


def _history_csv(history: dict[str, list]) -> str:
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate") if k in history]
    keys += sorted(k for k in history if k not in keys)
    n = max((len(v) for v in history.values()), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i in range(n):
        w.writerow([i + 1] + [repr(float(history[k][i])) if i < len(history[k]) else "" for k in keys])
    return buf.getvalue()


def _read_steps(path: Path) -> list[tuple[int, int, float, float]]:
    """The rows of a run's steps.csv: (step, epoch, batch loss, learning rate)."""
    if not path.is_file():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            if line:
                step, epoch, loss, lr = line.split(",")
                rows.append((int(step), int(epoch), float(loss), float(lr)))
    return rows


def _existing(path: str | None) -> str | None:
    return path if path is not None and Path(path).exists() else None


def _say(verbose: int, *args) -> None:
    if verbose:
        print(*args, flush=True)


def _run_folder(out, s: dict) -> Path:
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{s['model']}-{s['dataset']}-{stamp}"
    return Path(out)


def _resume_settings(run: Path, options: dict) -> dict:
    """The saved settings of ``run``; options given now must agree with them."""
    saved = _read_json(run / "config.json").get("settings")
    if not isinstance(saved, dict):
        raise JobError(f"{run / 'config.json'} holds no settings")
    given = {k: v for k, v in options.items() if v is not None and k not in RUN_OPTIONS}
    if "model" in given:
        given["model"] = str(given["model"]).lower().replace("-", "")
    diff = [f"--{k.replace('_', '-')} {saved.get(k)!r} (received {v!r})" for k, v in given.items()
            if k in saved and saved[k] != v]
    diff += [f"--{k.replace('_', '-')} (not an option of this run)" for k in given if k not in saved]
    if diff:
        raise JobError(f"--resume: {run} was started with different settings: {'; '.join(diff)}. Drop these "
                       f"options to continue the run as it was started, or train into a new --out folder")
    return saved


@contextlib.contextmanager
def _run_lock(run: Path):
    """An exclusive lock on ``run/.lock`` for the duration of a run: a second ``neuronka train`` on the same
    folder stops at once with a clear error instead of mixing its files with the first one's."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(run / ".lock", "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise JobError(f"{run} is in use by another `neuronka train` (its .lock is held); wait for it to "
                           f"finish or choose another --out") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _remove_orphans(run: Path) -> None:
    """Temporary files an atomic write left when its process was killed (``.<name>.<random>.tmp``, in the run
    folder and its checkpoint folder): no other process writes here while the lock is held, so they are dead."""
    for folder in (run, run / "checkpoint"):
        if folder.is_dir():
            for p in folder.iterdir():
                if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file():
                    p.unlink(missing_ok=True)

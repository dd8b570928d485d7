"""The lab's shared machinery: an :class:`Experiment` (one claim of the notes), the :class:`Run` that an
experiment writes into (progress lines, numbers, tables, figures, a verdict) and :func:`run_experiment`,
which makes the run folder and writes ``results.json`` and ``results.md`` at the end.

A run folder holds::

    results.json   the claim, the settings, every number measured, the verdict
    results.md     the same as a Markdown page: the claim, the tables, the figures, the verdict
    *.png          the figures (matplotlib, Agg backend)
"""
from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

VERDICTS = ("supported", "partly", "not at this budget", "not supported")


@dataclass(frozen=True)
class Experiment:
    """One claim of the notes and the function that measures it: ``fn(run)`` fills a :class:`Run`."""

    name: str
    number: int
    title: str
    claim: str
    fn: Callable[[Run], None]
    data: str = "synthetic"  # what it reads: synthetic, digits (scikit-learn), cifar10 (the shared copy)
    budget: str = ""  # what the full mode costs, in words


@dataclass
class Run:
    """What an experiment writes into: ``log`` progress, ``record`` numbers, ``table`` rows, ``figure`` PNGs,
    and one ``verdict``. ``quick`` asks for the smoke-test scale (under a minute on 2 cores)."""

    experiment: Experiment
    out: Path
    quick: bool = False
    seed: int = 0
    data_path: str | None = None
    verbose: bool = True
    results: dict = field(default_factory=dict)
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    outcome: tuple[str, str] | None = None
    _start: float = field(default_factory=time.perf_counter)

    def log(self, message: str) -> None:
        """A progress line: ``[lab name  12.3 s] message``."""
        if self.verbose:
            print(f"[lab {self.experiment.name} {time.perf_counter() - self._start:6.1f} s] {message}", flush=True)

    def steps(self, items: Sequence, label: str = "") -> list:
        """Iterate ``items`` logging ``(i/n) label item`` before each one (the experiment's progress bar)."""
        items = list(items)
        for i, item in enumerate(items, 1):
            self.log(f"({i}/{len(items)}) {label}{item}")
            yield item

    def record(self, key: str, value) -> None:
        self.results[key] = _plain(value)

    def setting(self, **kwargs) -> None:
        self.settings.update({k: _plain(v) for k, v in kwargs.items()})

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence]) -> None:
        """A table for results.md (and results.json): ``rows`` of values under ``headers``."""
        rows = [[_plain(v) for v in row] for row in rows]
        if any(len(r) != len(headers) for r in rows):
            raise ValueError(f"Run.table {title!r}: every row needs {len(headers)} values")
        self.tables.append({"title": title, "headers": list(headers), "rows": rows})

    def figure(self, fig, name: str, caption: str = "") -> Path:
        """Save a matplotlib figure as ``name``.png in the run folder and close it."""
        import matplotlib.pyplot as plt  # noqa: PLC0415

        path = self.out / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        self.figures.append({"file": path.name, "caption": caption})
        self.log(f"figure {path}")
        return path

    def verdict(self, level: str, reason: str) -> None:
        """supported / partly / not at this budget / not supported, and why (in numbers)."""
        if level not in VERDICTS:
            raise ValueError(f"Run.verdict: expected one of {VERDICTS}, received {level!r}")
        self.outcome = (level, reason)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._start


def _plain(v):
    """JSON-ready: numpy scalars and arrays to Python, NaN/inf to strings."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _cell(v) -> str:
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.3g}" if (abs(v) < 1e-3 or abs(v) >= 1e4) else f"{v:.4g}"
    return str(v)


def markdown(run: Run) -> str:
    """results.md: the claim, the settings, the tables, the figures and the verdict."""
    e = run.experiment
    lines = [f"# Claim {e.number}: {e.title}", "", f"> {e.claim}", "",
             f"`neuronka lab run {e.name}{' --quick' if run.quick else ''}` — {run.seconds:.0f} s, "
             f"mode {'quick' if run.quick else 'full'}, seed {run.seed}", ""]
    if run.settings:
        lines += ["Settings: " + ", ".join(f"{k} = {v}" for k, v in run.settings.items()), ""]
    for t in run.tables:
        lines += [f"**{t['title']}**", "", "| " + " | ".join(t["headers"]) + " |",
                  "|" + "---|" * len(t["headers"])]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in t["rows"]]
        lines.append("")
    for f in run.figures:
        lines += [f"![{f['caption'] or f['file']}]({f['file']})", "", f"*{f['caption']}*" if f["caption"] else "", ""]
    if run.outcome:
        lines += [f"**Verdict: {run.outcome[0]}.** {run.outcome[1]}", ""]
    return "\n".join(lines)


def run_experiment(experiment: Experiment, out: str | Path | None = None, quick: bool = False, seed: int = 0,
                   data: str | None = None, verbose: bool = True) -> Run:
    """Run ``experiment`` into the folder ``out`` (default ``runs/lab/NAME[-quick]``) and write its reports."""
    folder = Path(out) if out is not None else Path("runs") / "lab" / (experiment.name + ("-quick" if quick else ""))
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"lab: --out {str(folder)!r} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg", force=False)  # files only; no display is needed
    run = Run(experiment, folder, quick=quick, seed=seed, data_path=data, verbose=verbose)
    run.log(f"claim {experiment.number}: {experiment.title} ({'quick' if quick else 'full'} mode) -> {folder}")
    experiment.fn(run)
    report = {"experiment": experiment.name, "claim_number": experiment.number, "title": experiment.title,
              "claim": experiment.claim, "mode": "quick" if quick else "full", "seed": seed,
              "seconds": round(run.seconds, 1), "settings": run.settings, "results": run.results,
              "tables": run.tables, "figures": [f["file"] for f in run.figures],
              "verdict": run.outcome[0] if run.outcome else None, "reason": run.outcome[1] if run.outcome else None}
    (folder / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "results.md").write_text(markdown(run), encoding="utf-8")
    run.log(f"verdict: {report['verdict']} — {report['reason']}")
    run.log(f"wrote {folder / 'results.json'} and {folder / 'results.md'}")
    sys.stdout.flush()
    return run

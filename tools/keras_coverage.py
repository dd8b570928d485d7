"""How much of Keras 3's public API neuronka has, and how much of it is compared against real Keras.

    python tools/keras_coverage.py                 # run the comparison tests, print the table
    python tools/keras_coverage.py --results R.json  # use the record of an earlier run instead
    python tools/keras_coverage.py --markdown docs/keras-coverage.md
    python tools/keras_coverage.py --refresh-names # rewrite tools/keras_api_names.json from installed Keras

For each namespace: Keras's public names (``dir()`` of the namespace, modules left out, as listed in
``tools/keras_api_names.json`` for Keras 3.15.1), the ones excluded (bound to another backend; each
with its reason in :data:`EXCLUDED`), the ones present in neuronka (``hasattr``), and the ones
**compared**: a test marked ``@pytest.mark.keras_api(name)`` passed in this run and none failed. The
comparison tests are run here (``pytest -m keras_api``) with ``NEURONKA_KERAS_COVERAGE`` set, so the
report can only count what a run just proved. A name of a sub-namespace that is the same Keras object
as a name elsewhere (``ops.numpy.argmax`` is ``ops.argmax``) shares its comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's neuronka, not whichever one is installed
NAMES_FILE = ROOT / "tools" / "keras_api_names.json"

# The namespaces of the Keras parity issues (#12: API, #14: layers), in the order of the table.
NAMESPACES = ["ops", "ops.nn", "ops.numpy", "ops.linalg", "ops.image", "random", "config", "backend", "tree",
              "activations", "losses", "metrics", "optimizers", "optimizers.schedules", "initializers",
              "regularizers", "constraints", "utils", "callbacks", "layers", "applications", "saving", "models"]

# the issues that own the namespaces (subtotals of the table)
GROUPS = {
    "API (#12)": ["ops", "ops.nn", "ops.numpy", "ops.linalg", "ops.image", "random", "config", "backend", "tree",
                  "activations", "losses", "metrics", "optimizers", "optimizers.schedules", "initializers",
                  "regularizers", "constraints", "utils", "callbacks"],
    "layers (#14)": ["layers"],
    "models and files (#13)": ["applications", "saving", "models"],
}

# Keras names bound to another backend or library, with the reason (the issue allows these out).
EXCLUDED: dict[str, str] = {
    "callbacks.OrbaxCheckpoint": "saves through Orbax, a JAX checkpointing library",
}


def keras_names_from_installed() -> dict[str, list[str]]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras  # noqa: PLC0415 - a tool, not neuronka's runtime

    out = {"_version": keras.__version__}
    for ns in NAMESPACES:
        mod = keras
        for part in ns.split("."):
            mod = getattr(mod, part)
        out[ns] = sorted(n for n in dir(mod) if not n.startswith("_") and not isinstance(getattr(mod, n),
                                                                                          types.ModuleType))
    return out


def keras_aliases(names: dict[str, list[str]]) -> dict[str, str]:
    """Each qualified name → the first qualified name of the same Keras object (needs Keras installed;
    without it every name stands for itself)."""
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras  # noqa: PLC0415
    except Exception:  # noqa: BLE001 - Keras absent or broken: no aliasing
        return {}
    first: dict[int, str] = {}
    alias: dict[str, str] = {}
    for ns in NAMESPACES:
        mod = keras
        for part in ns.split("."):
            mod = getattr(mod, part)
        for n in names.get(ns, []):
            obj = getattr(mod, n)
            q = f"{ns}.{n}"
            if callable(obj):
                alias[q] = first.setdefault(id(obj), q)
    return alias


def neuronka_has(qualified: str) -> bool:
    import neuronka  # noqa: PLC0415

    obj = neuronka
    for part in qualified.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def run_comparisons(extra_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "record.json"
        env = dict(os.environ, NEURONKA_KERAS_COVERAGE=str(record), KERAS_BACKEND="torch")
        cmd = [sys.executable, "-m", "pytest", "-q", "-m", "keras_api", "-p", "no:cacheprovider", *extra_args]
        print("running:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, cwd=ROOT, env=env, check=False)
        return json.loads(record.read_text()) if record.exists() else {}


def table(names: dict, record: dict, aliases: dict) -> tuple[list[dict], dict]:
    compared_ok = {q for q, r in record.items() if r.get("passed") and not r.get("failed")}
    failed = {q for q, r in record.items() if r.get("failed")}
    # a name is compared when it, or the name it aliases, or a name aliasing the same object, passed
    canon_ok = {aliases.get(q, q) for q in compared_ok}
    canon_failed = {aliases.get(q, q) for q in failed}
    rows, detail = [], {}
    for ns in NAMESPACES:
        all_names = names.get(ns, [])
        qn = [f"{ns}.{n}" for n in all_names]
        excluded = [q for q in qn if q in EXCLUDED]
        counted = [q for q in qn if q not in EXCLUDED]
        present = [q for q in counted if neuronka_has(q)]
        compared = [q for q in present if aliases.get(q, q) in canon_ok and aliases.get(q, q) not in canon_failed]
        rows.append({"namespace": ns, "keras": len(qn), "excluded": len(excluded), "present": len(present),
                     "compared": len(compared), "counted": len(counted)})
        detail[ns] = {"missing": [q for q in counted if q not in present],
                      "not_compared": [q for q in present if q not in compared],
                      "failed": [q for q in present if aliases.get(q, q) in canon_failed]}
    return rows, detail


def render(rows, detail, markdown: bool) -> str:
    lines = []
    head = ["namespace", "Keras names", "excluded", "present", "compared", "compared %"]
    if markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    else:
        lines.append(f"{head[0]:22s} {head[1]:>11s} {head[2]:>8s} {head[3]:>8s} {head[4]:>8s} {head[5]:>10s}")
    tot = {"keras": 0, "excluded": 0, "present": 0, "compared": 0, "counted": 0}
    for r in rows:
        for k in tot:
            tot[k] += r[k]
        pct = 100.0 * r["compared"] / r["counted"] if r["counted"] else 100.0
        cells = [r["namespace"], r["keras"], r["excluded"], r["present"], r["compared"], f"{pct:.1f}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |" if markdown else
                     f"{cells[0]:22s} {cells[1]:>11d} {cells[2]:>8d} {cells[3]:>8d} {cells[4]:>8d} {cells[5]:>10s}")
    by_ns = {r["namespace"]: r for r in rows}
    subtotals = []
    for group, members in GROUPS.items():
        part = [by_ns[ns] for ns in members if ns in by_ns]
        if part and len(part) < len(rows):
            subtotals.append((group, {k: sum(r[k] for r in part) for k in tot}))
    for label, t in subtotals + [("all", tot)]:
        pct = 100.0 * t["compared"] / t["counted"] if t["counted"] else 100.0
        cells = [label, t["keras"], t["excluded"], t["present"], t["compared"], f"{pct:.1f}"]
        lines.append("| " + " | ".join(f"**{c}**" for c in cells) + " |" if markdown else
                     f"{cells[0]:22s} {cells[1]:>11d} {cells[2]:>8d} {cells[3]:>8d} {cells[4]:>8d} {cells[5]:>10s}")
    lines.append("")
    for ns, d in detail.items():
        for key in ("missing", "not_compared", "failed"):
            if d[key]:
                lines.append(f"{ns} {key.replace('_', ' ')}: " + " ".join(q[len(ns) + 1:] for q in d[key]))
    if EXCLUDED:
        lines.append("")
        lines.append("Excluded:" if not markdown else "**Excluded** (bound to another backend or library):")
        for q, why in sorted(EXCLUDED.items()):
            lines.append(f"- `{q}`: {why}" if markdown else f"  {q}: {why}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", help="a record written by an earlier run (NEURONKA_KERAS_COVERAGE)")
    p.add_argument("--markdown", help="also write the table as Markdown to this file")
    p.add_argument("--refresh-names", action="store_true", help="rewrite the name list from installed Keras")
    p.add_argument("--namespaces", help="comma-separated subset of namespaces to report")
    p.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (e.g. a test file)")
    args = p.parse_args(argv)
    if args.refresh_names:
        NAMES_FILE.write_text(json.dumps(keras_names_from_installed(), indent=1) + "\n")
        print(f"wrote {NAMES_FILE}")
        return 0
    names = json.loads(NAMES_FILE.read_text())
    if args.namespaces:
        keep = args.namespaces.split(",")
        global NAMESPACES
        NAMESPACES = [n for n in NAMESPACES if n in keep]
    record = json.loads(Path(args.results).read_text()) if args.results else run_comparisons(args.pytest_args)
    rows, detail = table(names, record, keras_aliases(names))
    print(render(rows, detail, markdown=False))
    if args.markdown:
        Path(args.markdown).write_text(render(rows, detail, markdown=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The end of a run: the classification report on the test set, top-5 accuracy, the confusion matrix and
training curves, the final ``model.keras`` and ``results.json``.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy

from . import parallel
from .recipe import _probabilities

if TYPE_CHECKING:
    from .job import _Job

from .runfolder import _history_csv, _read_steps, _say, _write_json, _write_text


# ======================================================================================
# the end of a run: report, pictures, final model
# ======================================================================================
def _report(y_true, probs, names: Sequence[str]) -> tuple[dict, str, numpy.ndarray]:
    from ..metrics.classification import classification_report, confusion_matrix, format_report  # noqa: PLC0415

    k = len(names)
    y_pred = probs.argmax(axis=1)
    rep = classification_report(y_true, y_pred, labels=list(range(k)), target_names=list(names), output_dict=True)
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    return rep, format_report(rep, digits=4), cm


def _print_report(text: str, extras: dict) -> None:
    """The classification report table, then top-5 accuracy (images) or the positive class's figures (text)."""
    print(text)
    if "top5_accuracy" in extras:
        print(f"Top-5 accuracy: {extras['top5_accuracy']:.4f}")
    if "positive_class" in extras:
        pc = extras["positive_class"]
        print(f"{pc['name']} (class 1): precision {pc['precision']:.4f}, recall {pc['recall']:.4f}, "
              f"F1 {pc['f1-score']:.4f}")


def _report_extras(rep: dict, probs, y_true, names, kind: str) -> dict:
    from ..metrics.classification import top_k_accuracy  # noqa: PLC0415

    extras = {"accuracy": rep.get("accuracy")}
    if len(names) > 5:
        extras["top5_accuracy"] = top_k_accuracy(y_true, probs, k=5)
    if kind == "text" and len(names) == 2:  # the positive class (spam / positive sentiment)
        extras["positive_class"] = {"name": names[1], **{k: rep[names[1]][k] for k in ("precision", "recall",
                                                                                        "f1-score")}}
    return extras


def _finish(job: _Job, val_data, y_true, info: dict, done: int, wall_start: float) -> dict:
    from ..metrics.plots import plot_confusion_matrix, plot_history  # noqa: PLC0415

    s, run, model = job.s, job.run, job.model
    results = {"run": str(run), "epochs_done": done, "epochs": s["epochs"], "train_seconds": job.train_seconds,
               "train_items": job.images_seen}
    if job.processes > 1:  # every process's weights (a SHA-256 each): identical, or the job stops here
        results["processes"], results["global_batch_size"] = job.processes, job.batch_size * job.processes
        results["weights_sha256"] = parallel.checksums(model)
        if len(set(results["weights_sha256"])) > 1:
            raise RuntimeError(f"the processes' weights differ after training: {results['weights_sha256']}")
    ips = job.images_seen / job.train_seconds if job.train_seconds > 0 else float("nan")
    unit = "images" if s["kind"] == "image" else "texts"
    results[f"train_{unit}_per_second"] = ips
    if hasattr(job, "history_before"):
        results["before_training"] = job.history_before
    steps = _read_steps(run / "steps.csv")
    if steps:
        results["first_batch_loss"], results["last_batch_loss"] = steps[0][2], steps[-1][2]
    if done < s["epochs"]:
        results["status"] = "stopped"
        results["wall_seconds"] = time.perf_counter() - wall_start
        _say(job.verbose, f"Stopped after epoch {done} of {s['epochs']} (checkpoint in {run}); continue with: "
                          f"neuronka train --out {run} --resume")
        return results
    # each process predicts its rows r, r + P, ... of the test set; all of them, in order, on every process
    probs = parallel.gather_predictions(_probabilities(model.predict(val_data, verbose=0)))
    if job.rank != 0:  # process 0 writes the report, the plots and the model
        return results
    rep, text, cm = _report(y_true, probs, info["class_names"])
    extras = _report_extras(rep, probs, y_true, info["class_names"], s["kind"])
    _write_text(run / "report.txt", text)
    _write_json(run / "report.json", {"report": rep, **extras, "confusion_matrix": cm,
                                      "class_names": info["class_names"], "test_samples": int(len(y_true))})
    plot_confusion_matrix(cm, info["class_names"], run / "confusion_matrix.png", normalize=len(cm) > 20)
    if job.history:
        plot_history(job.history, run / "training_curves.png")
        _write_text(run / "history.csv", _history_csv(job.history))
    model.save(run / "model.keras")
    wall = time.perf_counter() - wall_start
    results.update({"status": "finished", "test_accuracy": extras["accuracy"],
                    "test_loss": job.history.get("val_loss", [float("nan")])[-1], "wall_seconds": wall, **extras})
    _write_json(run / "results.json", results)
    if job.verbose:
        print(f"\nClassification report on the test set ({len(y_true):,} samples):\n")
        _print_report(text, extras)
        print(f"Test accuracy: {extras['accuracy']:.4f}")
        print(f"Training: {job.images_seen:,} {unit} in {job.train_seconds:.1f} s = {ips:,.1f} {unit}/s "
              f"(training steps only); wall time {wall:.1f} s")
        print(f"Run folder: {run}")
    return results

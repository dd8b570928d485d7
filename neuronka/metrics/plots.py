"""Pictures of a training run and of a classifier's mistakes, saved as PNG.

matplotlib is imported only when a plot is drawn, and draws off-screen (Agg): no display needed,
no pyplot state touched.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy

_LR_KEYS = ("learning_rate", "lr")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415  (lazy: only when drawing)
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike = "history.png") -> str:
    """Plot per-epoch curves of a Keras-style history and save a PNG; returns ``path`` as a string.

    ``history``: ``model.fit(...).history`` (or the History object itself): ``{"loss": [...],
    "val_loss": [...], "accuracy": [...], "val_accuracy": [...], "learning_rate": [...]}``. One panel
    per quantity (loss first, then each metric, then the learning rate on a log scale), training
    (solid) and validation (``val_`` prefix, dashed) in the same panel; epochs count from 1.
    """
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    history = getattr(history, "history", history)
    if not isinstance(history, Mapping) or not history:
        raise ValueError(f"plot_history: expected a dict of per-epoch lists (History.history), received "
                         f"{type(history).__name__}")
    names = []
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    lr = [n for n in names if n in _LR_KEYS]
    names = sorted((n for n in names if n not in _LR_KEYS), key=lambda n: n != "loss") + lr
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(4.2 * cols, 3.2 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            if key in history and len(history[key]):
                values = numpy.asarray(history[key], dtype=float)
                ax.plot(numpy.arange(1, len(values) + 1), values, style, marker="o", ms=3,
                        label=label if name not in _LR_KEYS else None)
        if name in _LR_KEYS:
            values = numpy.asarray(history[name], dtype=float) if name in history else numpy.array([])
            if values.size and numpy.all(values > 0):
                ax.set_yscale("log")
            ax.set_title("learning rate")
        else:
            ax.set_title(name.replace("_", " "))
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.savefig(path, dpi=100)
    return str(path)


def plot_confusion_matrix(cm, class_names: Sequence[str] | None = None, path: str | os.PathLike = "confusion.png",
                          normalize: bool = False, title: str | None = None) -> str:
    """Draw a confusion matrix as a heatmap (rows: true class, columns: predicted) and save a PNG.

    ``normalize=True`` divides each row by its total, so the diagonal shows each class's recall
    (rows with no samples stay 0). Cells carry their value when there are at most 30 classes.
    Returns ``path`` as a string.
    """
    cm = numpy.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square (K, K) matrix, received shape {cm.shape}")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"plot_confusion_matrix: expected {k} class_names, received {len(names)}")
    values = cm.astype(float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = numpy.divide(values, totals, out=numpy.zeros_like(values), where=totals > 0)
    size = min(max(5.0, 0.45 * k + 2.5), 30.0)
    fig = _figure(size + 1.2, size)
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(values.max(), 1))
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(numpy.arange(k), labels=names, rotation=45, ha="right", rotation_mode="anchor",
                  fontsize=max(4, 10 - k // 10))
    ax.set_yticks(numpy.arange(k), labels=names, fontsize=max(4, 10 - k // 10))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or ("confusion matrix (row-normalized)" if normalize else "confusion matrix"))
    if k <= 30:
        threshold = values.max() / 2 if values.size else 0
        for i in range(k):  # one text label per cell: matplotlib draws text one artist at a time
            for j in range(k):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7 if k > 12 else 9,
                        color="white" if values[i, j] > threshold else "black")
    fig.savefig(path, dpi=100)
    return str(path)

"""Pictures of what the notes explain: each activation A(x) beside its derivative A'(x).

The derivative is not a hand-written formula here: it comes from the autograd
(:func:`neuronka.activations.derivative`), so the picture shows what training uses.
matplotlib is imported only when a plot is drawn, and drawn off-screen (Agg).
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy

from .activations import AXIS_ACTIVATIONS, derivative

# the elementwise activations, in the order the notes introduce them (swish is silu under another name)
ELEMENTWISE = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "relu6", "elu", "selu", "gelu", "silu",
               "softplus", "softsign", "hard_sigmoid")


def plot_activations(names: Sequence[str] | None = None, x_range: tuple[float, float] = (-5, 5),
                     path: str | os.PathLike = "activations.png", negative_slope: float = 0.1) -> str:
    """Draw each activation A(x) (solid) and its derivative A'(x) (dashed) over ``x_range``; save a PNG.

    ``names``: elementwise activations (default: all of them). ``negative_slope`` is the
    leaky ReLU slope drawn (0.1, the notes' max(0.1x, x); Keras's own default is 0.2).
    Returns ``path`` as a string.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415  (optional, lazy)
    from matplotlib.figure import Figure  # noqa: PLC0415

    names = list(ELEMENTWISE if names is None else names)
    for name in names:
        if name in AXIS_ACTIVATIONS:
            raise ValueError(f"plot_activations: expected elementwise activations, received {name!r}, which acts "
                             f"along an axis (its derivative is a Jacobian: see activations.derivative)")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not lo < hi:
        raise ValueError(f"plot_activations: expected x_range=(low, high) with low < high, received {x_range!r}")
    x = numpy.linspace(lo, hi, 801)
    cols = min(4, len(names)) or 1
    rows = math.ceil(len(names) / cols) or 1
    fig = Figure(figsize=(3.2 * cols, 2.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        kwargs = {"negative_slope": negative_slope} if name == "leaky_relu" else {}
        y, dy = derivative(name, x, **kwargs)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(x, y, lw=2, label="A(x)")
        ax.plot(x, dy, "--", lw=1.5, label="A'(x)")
        title = f"leaky_relu (α={negative_slope:g})" if name == "leaky_relu" else name
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if names:
        axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Activations A(x) and their derivatives A'(x) (from the autograd)")
    fig.savefig(path, dpi=100)
    return str(path)

"""Claim 1: without a nonlinearity, layers collapse. Dense layers without activation compose to
x·W₁·W₂⋯W_L + b_eff, one affine map, so a deep linear net draws the same straight boundary as logistic
regression, while one small ReLU net separates two spirals."""
from __future__ import annotations

import numpy

from . import common, data
from .runner import Run


def collapse(model) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The single affine map of a net of activation-free Dense layers: W = W₁W₂⋯W_L, b = f(0)
    (= (…(b₁W₂ + b₂)W₃ + …) + b_L)."""
    kernels = [lay.kernel.numpy().astype(numpy.float64) for lay in common.dense_layers(model)]
    w = kernels[0]
    for k in kernels[1:]:
        w = w @ k
    b = numpy.zeros(w.shape[0])  # f(0): propagate the zero input through every layer
    for lay in common.dense_layers(model):
        b = b @ lay.kernel.numpy().astype(numpy.float64) + lay.bias.numpy()
    return w, b


def experiment(run: Run) -> None:
    n, epochs = (300, 40) if run.quick else (1000, 300)
    depth, width = 6, 32
    run.setting(points_per_class=n, epochs=epochs, optimizer="adam lr 0.01", deep_linear=f"{depth} Dense({width})")
    x, y = data.spirals(n, seed=run.seed)
    cut = int(0.7 * len(x))
    xt, yt, xv, yv = x[:cut], y[:cut], x[cut:], y[cut:]
    models = {
        "logistic regression (1 linear layer)": common.mlp(2, width, 1, 2, None, "glorot_uniform", run.seed),
        f"deep linear ({depth} layers, no activation)": common.mlp(2, width, depth, 2, None, "glorot_uniform",
                                                                    run.seed),
        "small ReLU net (2 hidden × 32)": common.mlp(2, width, 3, 2, "relu", "he_normal", run.seed),
    }
    rows, accs = [], {}
    for name in run.steps(models, "training "):
        m = models[name]
        common.fit(m, xt, yt, epochs=epochs, lr=0.01, optimizer="adam", batch_size=64, seed=run.seed)
        accs[name] = (common.accuracy(m, xt, yt), common.accuracy(m, xv, yv))
        rows.append([name, m.count_params(), accs[name][0], accs[name][1]])
    run.table("Two spirals: accuracy", ["model", "parameters", "train accuracy", "held-out accuracy"], rows)
    deep = models[f"deep linear ({depth} layers, no activation)"]
    w, b = collapse(deep)
    direct = common.logits(deep, xv).astype(numpy.float64)
    gap = float(numpy.abs(direct - (xv @ w + b)).max() / (numpy.abs(direct).max() + 1e-12))
    rank = int(numpy.linalg.matrix_rank(w))
    run.record("collapse_relative_error", gap)
    run.record("collapsed_kernel_shape", list(w.shape))
    run.record("collapsed_kernel_rank", rank)
    run.record("accuracy", {k: {"train": a[0], "held_out": a[1]} for k, a in accs.items()})
    _plot(run, models, x, y)
    lin, dl, relu = (accs[k][1] for k in models)
    ok = gap < 1e-4 and abs(dl - lin) < 0.05 and relu > max(lin, dl) + 0.2
    run.verdict("supported" if ok else "partly",
                f"the {depth}-layer linear net equals x·(W₁⋯W_{depth}) + b to a relative {gap:.1e} (a 2×2 map of rank "
                f"{rank}); held-out accuracy {dl:.1%} vs logistic regression {lin:.1%}, while the small ReLU net "
                f"reaches {relu:.1%}.")


def _plot(run: Run, models: dict, x, y) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    g = numpy.linspace(-1.3, 1.3, 150, dtype=numpy.float32)
    gx, gy = numpy.meshgrid(g, g)
    grid = numpy.stack([gx.ravel(), gy.ravel()], 1)
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4))
    for ax, (name, m) in zip(axes, models.items()):
        p = common.softmax(common.logits(m, grid))[:, 1].reshape(gx.shape)
        ax.contourf(gx, gy, p, levels=20, cmap="RdBu", alpha=0.6)
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu", s=4, edgecolors="none")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    run.figure(fig, "decision_boundaries", "P(class 1) over the plane for each model; points are the data")

"""Claim 4: normalized initialization keeps signals in range.

For z = W·a with n inputs, Var(z) = n·Var(w)·E[a²]. Xavier/Glorot picks Var(w) = 2/(n_in + n_out) so the
variance of activations and back-propagated gradients stays about constant through tanh layers; ReLU
zeroes half of its inputs (E[a²] = Var(z)/2), so He picks Var(w) = 2/n_in to make up for it. Too small a
scale makes the signal shrink geometrically with depth, too large makes it grow.
"""
from __future__ import annotations

import numpy

from . import common, data
from .activations import INIT_NAMES
from .runner import Run

DEPTH, WIDTH = 20, 64
INITS = ("normal001", "normal1", "glorot_normal", "he_normal")


def _div(a: float, b: float) -> float:
    """a / b, or nan where b underflowed to 0."""
    return a / b if b else float("nan")


def signal_profile(activation: str, init: str, x, y, depth: int = DEPTH, width: int = WIDTH, seed: int = 0):
    """(std of each hidden layer's output, ‖∂L/∂W_l‖ per layer) at initialization."""
    model = common.mlp(x.shape[1], width, depth, 10, activation, init, seed)
    stds = [float(a.std()) for a in common.activations(model, x)]
    return stds, common.gradient_norms(model, x, y), model


def experiment(run: Run) -> None:
    (xt, yt), (xv, yv) = data.digits(run.seed)
    epochs = 0 if run.quick else 10
    run.setting(depth=DEPTH, width=WIDTH, data="digits", train_epochs=epochs, optimizer="SGD lr 0.01 momentum 0.9")
    rows, prof = [], {}
    for act in ("tanh", "relu"):
        for init in run.steps(INITS, f"{act}: "):
            stds, grads, model = signal_profile(act, init, xt, yt, seed=run.seed)
            prof[(act, init)] = (stds, grads)
            acc = "-"
            if epochs:
                with numpy.errstate(all="ignore"):
                    hist = common.fit(model, xt, yt, xv, yv, epochs=epochs, lr=0.01, seed=run.seed)
                acc = hist["val_accuracy"][-1]
            rows.append([act, INIT_NAMES[init], stds[0], stds[-1], _div(stds[-1], stds[0]),
                         _div(grads[0], grads[-1]), acc])
            run.record(f"{act} + {INIT_NAMES[init]}", {"activation_std": stds, "gradient_norms": grads,
                                                       "held_out_accuracy": acc})
    run.table(f"{DEPTH}-layer MLP at initialization" + (f"; held-out accuracy after {epochs} epochs" if epochs else ""),
              ["activation", "init", "std layer 1", f"std layer {DEPTH - 1}", "std ratio last/first",
               "grad ratio first/last", "held-out accuracy"], rows)
    _plot(run, prof)

    def ratio(act, init):
        s = prof[(act, init)][0]
        return _div(s[-1], s[0])

    tanh_x, relu_he, relu_x = ratio("tanh", "glorot_normal"), ratio("relu", "he_normal"), ratio("relu", "glorot_normal")
    small, big = ratio("relu", "normal001"), ratio("relu", "normal1")
    ok = 0.2 < tanh_x < 5 and 0.2 < relu_he < 5 and relu_x < 0.05 and small < 1e-6 and big > 1e6
    run.verdict("supported" if ok else "partly",
                f"through {DEPTH - 1} hidden layers the activation std changes by {tanh_x:.2f}× with tanh + Xavier and "
                f"{relu_he:.2f}× with ReLU + He, but by {relu_x:.1e}× with ReLU + Xavier (half the variance lost per "
                f"layer: He's factor 2 is what ReLU needs), {small:.0e}× with N(0, 0.01²) and {big:.0e}× with "
                f"N(0, 1).")


def _plot(run: Run, prof: dict) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for col, act in enumerate(("tanh", "relu")):
        for init in INITS:
            stds, grads = prof[(act, init)]
            axes[0, col].semilogy(range(1, len(stds) + 1), stds, marker="o", ms=3, label=INIT_NAMES[init])
            axes[1, col].semilogy(range(1, len(grads) + 1), grads, marker="o", ms=3, label=INIT_NAMES[init])
        axes[0, col].set_title(f"{act}: std of activations per layer")
        axes[1, col].set_title(f"{act}: ‖∂L/∂W‖ per layer")
        axes[1, col].set_xlabel("layer")
        axes[0, col].legend(fontsize=7)
    run.figure(fig, "signal_per_layer", "activation std and gradient norm per layer at initialization (log scale)")

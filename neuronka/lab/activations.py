"""Claims 2 and 3, on scikit-learn's digits.

Claim 2 (vanishing gradients): back-propagation multiplies by A'(z) at every layer; σ'(z) ≤ 1/4 and
tanh'(z) ≤ 1, both ≈ 0 once |z| is large (saturation), so ‖∂L/∂W₁‖ shrinks with depth; ReLU' = 1 on the
active half. With symmetric random init about half of ReLU's outputs are exactly 0 (sparsity).

Claim 3 (dying ReLU): a unit whose pre-activation z = x·w + b is negative for every input outputs 0 and gets
∂L/∂w = 0 (ReLU'(z) = 0), so gradient descent never moves it again. Leaky ReLU max(0.1x, x) has derivative
0.1 there, so the unit still learns and can come back.
"""
from __future__ import annotations

import numpy

from .. import initializers, layers
from ..autograd import Tensor, no_grad
from ..callbacks import Callback
from ..models import Sequential
from . import common, data
from .runner import Run

DEPTH, WIDTH = 20, 64
CONFIGS = [("sigmoid", "normal1"), ("sigmoid", "glorot_normal"), ("tanh", "normal1"), ("tanh", "glorot_normal"),
           ("relu", "he_normal")]
INIT_NAMES = {"normal1": "N(0, 1)", "normal001": "N(0, 0.01²)", "glorot_normal": "Xavier/Glorot",
              "he_normal": "He"}


def gradient_profile(activation: str, init: str, x, y, depth: int = DEPTH, width: int = WIDTH, seed: int = 0):
    """Per-layer ‖∂L/∂W_l‖ at initialization of a ``depth``-layer MLP, and the hidden activations."""
    model = common.mlp(x.shape[1], width, depth, 10, activation, init, seed)
    return common.gradient_norms(model, x, y), common.activations(model, x), model


def vanishing(run: Run) -> None:
    (xt, yt), (xv, yv) = data.digits(run.seed)
    epochs = 3 if run.quick else 30
    run.setting(depth=DEPTH, width=WIDTH, data="digits (1,258 train / 539 held out)", train_epochs=epochs,
                optimizer="SGD lr 0.01 momentum 0.9, batch 64")
    rows, profiles, curves = [], {}, {}
    for act, init in run.steps(CONFIGS, "gradients at init and training: "):
        grads, acts, model = gradient_profile(act, init, xt, yt, seed=run.seed)
        key = f"{act} + {INIT_NAMES[init]}"
        profiles[key] = grads
        saturated = float(numpy.mean([(numpy.abs(a - (0.5 if act == "sigmoid" else 0.0)) >
                                       (0.49 if act == "sigmoid" else 0.98)).mean() for a in acts]))
        hist = common.fit(model, xt, yt, xv, yv, epochs=epochs, lr=0.01, seed=run.seed)
        curves[key] = hist["loss"]
        rows.append([key, grads[0], grads[-1], grads[0] / grads[-1], saturated if act != "relu" else "-",
                     hist["loss"][-1], hist["val_accuracy"][-1]])
        run.record(key, {"gradient_norms": grads, "first_over_last": grads[0] / grads[-1],
                         "saturated_fraction": saturated, "train_loss": hist["loss"],
                         "held_out_accuracy": hist["val_accuracy"][-1]})
    run.table(f"{DEPTH}-layer MLP at initialization, then after {epochs} epochs",
              ["activation + init", "‖∂L/∂W₁‖", f"‖∂L/∂W₍{DEPTH}₎‖", "first / last", "saturated units",
               "train loss after", "held-out accuracy after"], rows)
    # sparsity: the fraction of hidden ReLU outputs that are exactly 0, at init, per layer
    _, acts, _ = gradient_profile("relu", "he_normal", xt, yt, seed=run.seed)
    zeros = [float((a == 0).mean()) for a in acts]
    run.record("relu_zero_fraction_per_layer", zeros)
    run.record("relu_zero_fraction_mean", float(numpy.mean(zeros)))
    run.table("ReLU + He at init: fraction of hidden outputs exactly 0",
              ["layer 1", "layer 10", f"layer {DEPTH - 1}", "mean over layers"],
              [[zeros[0], zeros[9], zeros[-1], float(numpy.mean(zeros))]])
    _plot_vanishing(run, profiles, curves)
    r = {k: v[0] / v[-1] for k, v in profiles.items()}
    sig_g, relu_he = r["sigmoid + Xavier/Glorot"], r["relu + He"]
    sig_n = r["sigmoid + N(0, 1)"]
    acc = {k: run.results[k]["held_out_accuracy"] for k in profiles}
    sparse = abs(numpy.mean(zeros) - 0.5) < 0.1
    strong = sig_g < 1e-3 and 0.1 < relu_he < 10 and sparse
    run.verdict("supported" if strong else "partly",
                f"at init the first layer's gradient is {sig_g:.1e}× the last's with sigmoid + Xavier "
                f"(and {r['tanh + Xavier/Glorot']:.2g}× with tanh + Xavier) but {relu_he:.2g}× with ReLU + He; "
                f"{numpy.mean(zeros):.0%} of ReLU outputs are exactly 0. With N(0, 1) weights the ratio is {sig_n:.2g} "
                f"for sigmoid (most units saturated, see the table) and {r['tanh + N(0, 1)']:.1e} for tanh (the "
                f"gradients explode instead of vanishing). After training, held-out "
                f"accuracy: sigmoid + Xavier {acc['sigmoid + Xavier/Glorot']:.0%}, ReLU + He {acc['relu + He']:.0%}.")


def _plot_vanishing(run: Run, profiles: dict, curves: dict) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for key, g in profiles.items():
        a.semilogy(range(1, len(g) + 1), g, marker="o", ms=3, label=key)
        b.plot(range(1, len(curves[key]) + 1), curves[key], label=key)
    a.set_xlabel("layer (1 = input side)")
    a.set_ylabel("‖∂L/∂W‖ at initialization")
    a.set_title(f"Gradient norm per layer, {DEPTH}-layer MLP on digits")
    b.set_xlabel("epoch")
    b.set_ylabel("training loss")
    b.set_title("Training the same nets (SGD)")
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    run.figure(fig, "gradients_per_layer", "left: gradient norm per layer at init (log scale); right: training loss")


# ---------------------------------------------------------------------------------------------- claim 3: dying ReLU
def dying_mlp(activation: str, bias: float, seed: int = 0, hidden: int = 4, width: int = 64) -> Sequential:
    """digits MLP with ``hidden`` layers Dense → ReLU or LeakyReLU(0.1), He-initialized, all biases = ``bias``."""
    stack = [layers.Input((64,))]
    for i in range(hidden):
        stack.append(layers.Dense(width, kernel_initializer=initializers.HeNormal(seed=seed + i),
                                  bias_initializer=initializers.Constant(bias), name=f"dense_{i + 1}"))
        stack.append(layers.ReLU(name=f"relu_{i + 1}") if activation == "relu"
                     else layers.LeakyReLU(negative_slope=0.1, name=f"leaky_{i + 1}"))
    stack.append(layers.Dense(10, kernel_initializer=initializers.GlorotUniform(seed=seed + hidden), name="logits"))
    return Sequential(stack)


def dead_fractions(model, x) -> list[float]:
    """Per hidden layer: the fraction of units whose pre-activation z ≤ 0 on every input of x (a ReLU unit
    there outputs 0 everywhere and receives no gradient: 'dead'; a leaky one is only 'inactive')."""
    out, h = [], Tensor(x)
    dense = common.dense_layers(model)[:-1]
    with no_grad():
        for lay in model.layers:
            h = lay(h, training=False)
            if lay in dense:
                out.append(float((h.numpy() <= 0).all(0).mean()))
    return out


def zero_gradient_units(model, x, y) -> list[float]:
    """Per hidden layer: the fraction of units whose incoming weights get exactly zero gradient on (x, y)."""
    for v in model.trainable_weights:
        v.grad = None
    from .. import ops  # noqa: PLC0415

    loss = ops.mean(ops.sparse_categorical_crossentropy(y, model(Tensor(x), training=True), from_logits=True))
    loss.backward()
    fr = [float((numpy.abs(lay.kernel.grad).sum(0) == 0).mean()) for lay in common.dense_layers(model)[:-1]]
    for v in model.trainable_weights:
        v.grad = None
    return fr


class _DeadTracker(Callback):
    def __init__(self, x):
        super().__init__()
        self.x, self.history = x, []

    def on_epoch_end(self, epoch, logs=None):
        self.history.append(dead_fractions(self.model, self.x))


def dying(run: Run) -> None:
    (xt, yt), (xv, yv) = data.digits(run.seed)
    epochs = 10 if run.quick else 40
    bias = -1.0
    run.setting(data="digits", net="4 hidden Dense(64), He init", epochs=epochs, optimizer="SGD momentum 0.9",
                born_dead_bias=bias)
    # A: units born dead (every bias = -1): which activation brings them back?
    rows, traces = [], {}
    for act in run.steps(("relu", "leaky"), f"biases {bias}, lr 0.05: "):
        m = dying_mlp(act, bias, run.seed)
        before = dead_fractions(m, xt)
        tracker = _DeadTracker(xt)
        hist = common.fit(m, xt, yt, xv, yv, epochs=epochs, lr=0.05, seed=run.seed, callbacks=[tracker])
        after = dead_fractions(m, xt)
        zg = zero_gradient_units(m, xt, yt)
        traces[act] = [before] + tracker.history
        rows.append([{"relu": "ReLU", "leaky": "Leaky ReLU 0.1"}[act], before[-1], after[-1], zg[-1],
                     float(numpy.mean(after)), hist["val_accuracy"][-1]])
        run.record(f"born_dead_{act}", {"dead_before": before, "dead_after": after, "zero_gradient_units": zg,
                                        "held_out_accuracy": hist["val_accuracy"][-1]})
    run.table(f"Biases initialized to {bias}: inactive units (z ≤ 0 on all {len(xt)} training digits)",
              ["activation", "last hidden layer, before", "after training", "units with zero gradient, after",
               "all hidden layers, after", "held-out accuracy"], rows)
    # B: the usual cause, a too-large learning rate, from an ordinary init (bias 0)
    rates = (0.05, 0.15) if run.quick else (0.02, 0.05, 0.1, 0.15, 0.2)
    rows_b = []
    for lr in run.steps(rates, "bias 0, learning rate "):
        for act in ("relu", "leaky"):
            m = dying_mlp(act, 0.0, run.seed)
            with numpy.errstate(all="ignore"):
                hist = common.fit(m, xt, yt, xv, yv, epochs=max(epochs // 2, 5), lr=lr, seed=run.seed)
                after = dead_fractions(m, xt)
            diverged = not numpy.isfinite(hist["loss"][-1])
            rows_b.append([lr, {"relu": "ReLU", "leaky": "Leaky ReLU 0.1"}[act], float(numpy.mean(after)),
                           "diverged (NaN)" if diverged else hist["loss"][-1], hist["val_accuracy"][-1]])
    run.table("Ordinary init (bias 0), learning rate sweep", ["lr", "activation", "inactive units after (mean)",
                                                               "final train loss", "held-out accuracy"], rows_b)
    run.record("lr_sweep", rows_b)
    _plot_dying(run, traces, bias)
    relu, leaky = run.results["born_dead_relu"], run.results["born_dead_leaky"]
    ok = (relu["zero_gradient_units"][-1] >= relu["dead_after"][-1] - 1e-9 and leaky["zero_gradient_units"][-1] == 0
          and leaky["dead_after"][-1] < relu["dead_after"][-1] and leaky["dead_after"][-1] < leaky["dead_before"][-1])
    run.verdict("supported" if ok else "partly",
                f"with biases at {bias}, {relu['dead_before'][-1]:.0%} of the last hidden layer's ReLU units start "
                f"dead and {relu['dead_after'][-1]:.0%} still are after {epochs} epochs; every one "
                f"of them gets exactly 0 gradient ({relu['zero_gradient_units'][-1]:.0%} of units), so only changes "
                f"upstream can revive it "
                f"(held-out accuracy {relu['held_out_accuracy']:.0%}). No Leaky ReLU unit has a zero gradient "
                f"and its inactive units fall "
                f"from {leaky['dead_before'][-1]:.0%} to {leaky['dead_after'][-1]:.0%} (accuracy "
                f"{leaky['held_out_accuracy']:.0%}). Leaky ReLU does not rescue a learning rate that is simply too "
                f"large: there it diverges where ReLU dies (second table).")


def _plot_dying(run: Run, traces: dict, bias: float) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(6, 4))
    for act, style in (("relu", "-"), ("leaky", "--")):
        t = numpy.array(traces[act])
        for layer in range(t.shape[1]):
            ax.plot(t[:, layer], style, color=f"C{layer}",
                    label=f"{'ReLU' if act == 'relu' else 'Leaky 0.1'}, layer {layer + 1}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("fraction of units inactive on all inputs")
    ax.set_title(f"Born-dead units (biases = {bias}): ReLU (solid) vs Leaky ReLU (dashed)")
    ax.legend(fontsize=6, ncol=2)
    run.figure(fig, "dead_units", "fraction of dead (ReLU) / inactive (Leaky ReLU) units per hidden layer per epoch")

"""Claims 8 and 9: residual networks.

Claim 8 (degradation, He et al. 2015 Fig. 6): a plain net of depth 56 reaches a *higher training loss* than
a plain net of depth 20 in the same budget, while with shortcuts y = F(x) + x the deeper net is not worse.
The nets are the CIFAR ResNets / plain nets of :mod:`neuronka.applications.cifar_resnet` (BN after every
convolution, He init). Quick mode uses scikit-learn's 8×8 digits as 8×8×1 images; full mode a CIFAR-10
subset.

Claim 9: a bottleneck block (1×1 to w/4, 3×3 at w/4, 1×1 back to w: 3 layers, 17w²/16 weights) against two
basic 3×3 blocks at the same output width w (2 layers, 18w² weights), in whole networks of the same depth.
"""
from __future__ import annotations

import numpy

from .. import layers
from ..applications.cifar_resnet import cifar_resnet
from ..models import Model
from . import common, data
from .runner import Run

DEPTHS = (20, 56)


def degradation_losses(x, y, epochs: int, lr: float = 0.05, seed: int = 0, batch_size: int = 64):
    """Training-loss history of plain-20, plain-56, ResNet-20 and ResNet-56 on (x, y) (images, int labels)."""
    out = {}
    for depth in DEPTHS:
        for plain in (True, False):
            model = cifar_resnet(depth, input_shape=x.shape[1:], classes=10, plain=plain, classifier_activation=None)
            h = common.fit(model, x, y, epochs=epochs, lr=lr, seed=seed, batch_size=batch_size)
            out[f"{'plain' if plain else 'resnet'}-{depth}"] = {"loss": h["loss"], "accuracy": h["accuracy"]}
    return out


def degradation(run: Run) -> None:
    if run.quick:
        (xt, yt), _ = data.digits(run.seed, images=True)
        epochs, what = 2, "digits as 8×8×1 images (1,258)"
    else:
        (xt, yt), _ = data.cifar10_subset(2000, 0, run.seed, run.data_path)
        epochs, what = 4, "CIFAR-10, 2,000 training images"
    run.setting(data=what, epochs=epochs, optimizer="SGD lr 0.05 momentum 0.9, batch 64, no weight decay",
                note="He et al. train 64k iterations on all 50k images; this is a short budget")
    run.log(f"training {', '.join(f'plain-{d}, resnet-{d}' for d in DEPTHS)} for {epochs} epochs each")
    res = degradation_losses(xt, yt, epochs, seed=run.seed)
    rows = [[k, v["loss"][0], v["loss"][-1], 1 - v["accuracy"][-1]] for k, v in res.items()]
    for k, v in res.items():
        run.record(k, v)
    run.table(f"Training loss and error on {what}, {epochs} epochs", ["net", "loss, epoch 1", "loss, last epoch",
                                                                      "training error, last epoch"], rows)
    _plot_degradation(run, res)
    p20, p56 = res["plain-20"]["loss"][-1], res["plain-56"]["loss"][-1]
    r20, r56 = res["resnet-20"]["loss"][-1], res["resnet-56"]["loss"][-1]
    plain_degrades, res_fixes = p56 > p20, r56 <= r20
    level = "supported" if plain_degrades and res_fixes else ("partly" if plain_degrades and r56 < p56 else
                                                              "not at this budget")
    run.verdict(level, f"final training loss plain-20 {p20:.3f} vs plain-56 {p56:.3f} (deeper plain is "
                       f"{'worse' if plain_degrades else 'not worse'}); ResNet-20 {r20:.3f} vs ResNet-56 {r56:.3f} "
                       f"(deeper residual is {'not worse' if res_fixes else 'still worse at this budget'}; "
                       f"{'far below' if r56 < p56 / 2 else 'vs'} plain-56's {p56:.3f}).")


def _plot_degradation(run: Run, res: dict) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, kind in zip(axes, ("plain", "resnet")):
        for d, style in zip(DEPTHS, ("--", "-")):
            loss = res[f"{kind}-{d}"]["loss"]
            ax.plot(range(1, len(loss) + 1), loss, style, marker="o", label=f"{kind}-{d}")
        ax.set_title("plain nets" if kind == "plain" else "residual nets")
        ax.set_xlabel("epoch")
        ax.legend()
    axes[0].set_ylabel("training loss")
    run.figure(fig, "training_loss", "training loss of 20- and 56-layer nets, plain (left) and residual (right)")


# ---------------------------------------------------------------------------------------------- claim 9: bottleneck
def cifar_net(depth: int, block: str, widths=(64, 128, 256), input_shape=(32, 32, 3)) -> tuple[Model, int]:
    """A CIFAR-style residual net of ``depth`` weighted layers with ``block`` = basic (depth = 6n + 2) or
    bottleneck (depth = 9n + 2) blocks of output widths ``widths``; returns (model, multiply-adds per image)."""
    per = 2 if block == "basic" else 3
    if (depth - 2) % (3 * per):
        raise ValueError(f"cifar_net: a {block} net needs depth = {3 * per}n + 2, received depth={depth}")
    n = (depth - 2) // (3 * per)
    macs = [0]

    def conv(x, filters, k, s=1, act=True):
        h, w = x.shape[1] // s, x.shape[2] // s
        macs[0] += k * k * x.shape[-1] * filters * h * w  # multiply-adds of one convolution
        y = layers.Conv2D(filters, k, strides=s, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
        y = layers.BatchNormalization()(y)
        return layers.Activation("relu")(y) if act else y

    inputs = layers.Input(input_shape)
    x = conv(inputs, widths[0] if block == "basic" else widths[0] // 4, 3)
    for stage, width in enumerate(widths):
        for b in range(n):
            s = 2 if stage > 0 and b == 0 else 1
            if block == "basic":
                y = conv(conv(x, width, 3, s), width, 3, act=False)
            else:
                y = conv(conv(conv(x, width // 4, 1, s), width // 4, 3), width, 1, act=False)
            sc = x if (s == 1 and x.shape[-1] == width) else conv(x, width, 1, s, act=False)
            x = layers.Activation("relu")(layers.Add()([sc, y]))
    x = layers.GlobalAveragePooling2D()(x)
    macs[0] += widths[-1] * 10
    return Model(inputs, layers.Dense(10)(x), name=f"{block}{depth}"), macs[0]


def bottleneck(run: Run) -> None:
    depths = (56,) if run.quick else (56, 110, 164)
    run.setting(widths="64 / 128 / 256 output channels per stage (bottleneck inner width ÷ 4)", input="32×32×3",
                shortcuts="identity, 1×1 projection where the shape changes")
    rows = []
    for d in run.steps(depths, "depth "):
        for block in ("basic", "bottleneck"):
            model, macs = cifar_net(d, block)
            rows.append([d, block, model.count_params(), macs / 1e6])
            run.record(f"{block}-{d}", {"parameters": model.count_params(), "mega_multiply_adds": macs / 1e6})
    run.table("Networks of equal depth and output widths", ["depth", "block", "parameters",
                                                            "multiply-adds per image (M)"], rows)
    _plot_bottleneck(run, rows)
    ratios = [(rows[i][0], rows[i + 1][2] / rows[i][2], rows[i + 1][3] / rows[i][3]) for i in range(0, len(rows), 2)]
    ok = all(p < 1 and f < 1 for _, p, f in ratios)
    run.verdict("supported" if ok else "not supported",
                "bottleneck / basic at equal depth: " + "; ".join(f"depth {d}: {p:.2f}× the parameters, {f:.2f}× the "
                                                               f"multiply-adds" for d, p, f in ratios)
                + ". (At equal *inner* width the bottleneck net is not cheaper: its output is 4× wider — the "
                  "comparison holds for equal output width, as in He et al.'s Fig. 5.)")


def _plot_bottleneck(run: Run, rows) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    depths = sorted({r[0] for r in rows})
    idx = numpy.arange(len(depths))
    for ax, col, label in ((axes[0], 2, "parameters (M)"), (axes[1], 3, "multiply-adds per image (M)")):
        for j, block in enumerate(("basic", "bottleneck")):
            vals = [r[col] / (1e6 if col == 2 else 1) for r in rows if r[1] == block]
            ax.bar(idx + (j - 0.5) * 0.4, vals, 0.4, label=block)
        ax.set_xticks(idx)
        ax.set_xticklabels([f"depth {d}" for d in depths])
        ax.set_ylabel(label)
        ax.legend()
    run.figure(fig, "cost", "parameters and multiply-adds of basic vs bottleneck nets of equal depth")

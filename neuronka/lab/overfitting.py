"""Claim 7: regularizers against overfitting, on a CIFAR-10 subset small enough to overfit.

Every variant trains the same budget on the same images; early stopping watches a validation set cut from
the training split; all variants are reported on a subset of the test split. Overfitting is read as the gap
train accuracy − test accuracy; over-confidence as the mean max-probability on test images.
"""
from __future__ import annotations

import numpy

from .. import callbacks, initializers, layers, ops
from .. import random as nk_random
from ..applications.cifar_resnet import cifar_resnet
from ..layers.base import Layer
from ..losses import CategoricalCrossentropy
from ..models import Sequential
from . import common, data
from .runner import Run


class DropConnectDense(Layer):
    """Dense with DropConnect (Wan et al. 2013): in training y = x·(W ⊙ M)/(1 − rate) + b, M ~ Bernoulli(1 − rate)
    per weight and per batch; at inference y = x·W + b. dL/dW = (xᵀ·dL/dy) ⊙ M/(1 − rate) (through ops)."""

    def __init__(self, units: int, rate: float = 0.5, activation=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"DropConnectDense: expected rate in [0, 1), received rate={rate!r}")
        self.units, self.rate, self.seed = int(units), float(rate), seed
        self.activation = activation
        self._rng = nk_random.generator(seed)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=initializers.HeNormal(self.seed),
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs, training=False):
        kernel = self.kernel
        if training and self.rate > 0:
            keep = (self._rng.random(tuple(kernel.shape)) >= self.rate).astype(numpy.float32) / (1 - self.rate)
            kernel = kernel * keep
        y = ops.matmul(inputs, kernel) + self.bias
        return ops.relu(y) if self.activation == "relu" else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate, "activation": self.activation,
                "seed": self.seed}


def cnn(variant: str, seed: int = 0) -> Sequential:
    """conv32-conv32-pool-conv64-pool-dense128-dense10, with the variant's regularizer added."""
    def conv(f, i):
        return layers.Conv2D(f, 3, padding="same", activation="relu",
                             kernel_initializer=initializers.HeNormal(seed + i))

    stack = [layers.Input((32, 32, 3))]
    if variant == "augmentation":
        stack += [layers.RandomFlip("horizontal", seed=seed), layers.RandomTranslation(0.125, 0.125, seed=seed)]
    if variant == "no weight sharing (MLP)":
        stack += [layers.Flatten(),
                  layers.Dense(512, activation="relu", kernel_initializer=initializers.HeNormal(seed))]
    else:
        stack += [conv(32, 1), conv(32, 2), layers.MaxPooling2D(), conv(64, 3), layers.MaxPooling2D(), layers.Flatten()]
    if variant == "dropout":
        stack.append(layers.Dropout(0.5, seed=seed))
    if variant == "dropconnect":
        stack.append(DropConnectDense(128, 0.5, activation="relu", seed=seed))
    else:
        stack.append(layers.Dense(128, activation="relu", kernel_initializer=initializers.HeNormal(seed + 4)))
    if variant == "dropout":
        stack.append(layers.Dropout(0.5, seed=seed + 1))
    stack.append(layers.Dense(10, kernel_initializer=initializers.GlorotUniform(seed + 5)))
    return Sequential(stack)


VARIANTS = ("baseline", "dropout", "dropconnect", "augmentation", "early stopping", "no weight sharing (MLP)",
            "label smoothing 0.1", "resnet-8", "resnet-8 + stochastic depth 0.5")


def train_variant(variant: str, train, val, epochs: int, seed: int = 0, lr: float = 1e-3):
    """Train one variant with Adam; returns the model. Targets are one-hot (label smoothing needs them)."""
    (xt, yt), (xv, yv) = train, val
    if variant.startswith("resnet-8"):
        model = cifar_resnet(8, stochastic_depth=0.5 if "stochastic" in variant else 0.0, classifier_activation=None)
    else:
        model = cnn(variant, seed)
    smoothing = 0.1 if variant.startswith("label smoothing") else 0.0
    cbs = [callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)] \
        if variant == "early stopping" else None
    common.fit(model, xt, numpy.eye(10, dtype=numpy.float32)[yt], xv, numpy.eye(10, dtype=numpy.float32)[yv],
               epochs=epochs, lr=lr, optimizer="adam", seed=seed, callbacks=cbs,
               loss=CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing))
    return model


def confidence(model, x) -> float:
    """Mean over x of the largest softmax probability."""
    return float(common.softmax(common.logits(model, x)).max(-1).mean())


def experiment(run: Run) -> None:
    n_train, n_val, n_test, epochs = (300, 100, 200, 3) if run.quick else (1000, 300, 1000, 12)
    train, val = data.cifar10_subset(n_train, n_val, run.seed, run.data_path)
    _, test = data.cifar10_subset(n_train, n_test, run.seed, run.data_path, from_train=False)
    run.setting(train_images=n_train, validation_images=n_val, test_images=n_test, epochs=epochs,
                optimizer="Adam 1e-3, batch 64", data="CIFAR-10 (shared JPEG copy), random class-mixed subset")
    rows = []
    variants = VARIANTS[:3] + VARIANTS[6:7] if run.quick else VARIANTS
    for v in run.steps(variants, "variant "):
        m = train_variant(v, train, val, epochs, run.seed)
        tr, te = common.accuracy(m, *train), common.accuracy(m, *test)
        conf = confidence(m, test[0])
        rows.append([v, m.count_params(), tr, te, tr - te, conf])
        run.record(v, {"train_accuracy": tr, "test_accuracy": te, "gap": tr - te, "test_mean_max_probability": conf})
    run.table(f"{n_train} CIFAR-10 training images, {epochs} epochs (early stopping: patience 3 on {n_val} "
              "validation images)", ["variant", "parameters", "train accuracy", "test accuracy", "gap",
                                     "mean max-probability (test)"], rows)
    _plot(run, rows)
    r = run.results
    base = r["baseline"]
    cnn_rows = [v for v in variants if v not in ("baseline", "resnet-8", "resnet-8 + stochastic depth 0.5",
                                                 "no weight sharing (MLP)")]
    better = [v for v in cnn_rows if r[v]["gap"] < base["gap"]]
    pairs = []
    if "no weight sharing (MLP)" in r:
        pairs.append(("weight sharing", base["gap"] < r["no weight sharing (MLP)"]["gap"]))
    if "resnet-8" in r:
        pairs.append(("stochastic depth", r["resnet-8 + stochastic depth 0.5"]["gap"] < r["resnet-8"]["gap"]))
    smooth_ok = r["label smoothing 0.1"]["test_mean_max_probability"] < base["test_mean_max_probability"]
    all_ok = len(better) == len(cnn_rows) and all(ok for _, ok in pairs) and smooth_ok
    run.verdict("supported" if all_ok else "partly",
                f"baseline gap {base['gap']:.2f} (train {base['train_accuracy']:.0%}, "
                f"test {base['test_accuracy']:.0%}); "
                f"smaller gap with: {', '.join(better) or 'none'}"
                + "".join(f"; {name}: {'smaller gap' if ok else 'no smaller gap'}" for name, ok in pairs)
                + f"; label smoothing mean max-probability {r['label smoothing 0.1']['test_mean_max_probability']:.2f} "
                  f"vs {base['test_mean_max_probability']:.2f}. A smaller gap is not always a better test accuracy "
                  f"(see the table).")


def _plot(run: Run, rows) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(9, 4))
    names = [r[0] for r in rows]
    idx = numpy.arange(len(rows))
    ax.bar(idx - 0.2, [r[2] for r in rows], 0.4, label="train accuracy")
    ax.bar(idx + 0.2, [r[3] for r in rows], 0.4, label="test accuracy")
    ax.set_xticks(idx)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Overfitting on a CIFAR-10 subset: the gap between the bars")
    run.figure(fig, "train_vs_test", "train and test accuracy per regularizer (the gap is the overfitting)")

"""What a run trains with: the model (by name, from :mod:`neuronka.applications` or the text models),
the optimizer and its learning-rate schedule, weight decay, the loss, and the targets in the loss's form.
"""
from __future__ import annotations

import numpy

from .data import _all_layers


# ======================================================================================
# model, optimizer, loss
# ======================================================================================
def _custom_objects() -> dict:
    """Layer classes the model registry may not know, for loading model files: the ResNets' zero-padding
    shortcut (not registered as serializable), Embedding (not re-exported by neuronka.layers) and the
    Transformer classifier's PositionEmbedding and MaskedMean."""
    from ..applications.cifar_resnet import ZeroPadShortcut  # noqa: PLC0415
    from ..applications.text import MaskedMean, PositionEmbedding  # noqa: PLC0415
    from ..layers.embedding import Embedding  # noqa: PLC0415
    from ..transfer import ImageNetPreprocessing  # noqa: PLC0415

    return {"Embedding": Embedding, "ZeroPadShortcut": ZeroPadShortcut, "ImageNetPreprocessing": ImageNetPreprocessing,
            "neuronka>PositionEmbedding": PositionEmbedding, "PositionEmbedding": PositionEmbedding,
            "neuronka>MaskedMean": MaskedMean, "MaskedMean": MaskedMean}


def build_model(s: dict, num_classes: int, input_shape=None, vocab_size: int | None = None):
    """The model of the settings ``s`` (weights initialized from the global generators: call :func:`reseed` first)."""
    if s.get("weights") is not None:  # a transfer run's network, its pretrained weights not read again
        from ..transfer import build_transfer_model  # noqa: PLC0415

        return build_transfer_model(s, num_classes, tuple(input_shape or (32, 32, 3)), load_weights=False)
    if s["kind"] == "image":
        from ..applications.cifar_resnet import get  # noqa: PLC0415

        return get(s["model"], classes=num_classes, input_shape=tuple(input_shape or (32, 32, 3)))
    from ..applications.text import text_classifier  # noqa: PLC0415

    return text_classifier(s["model"], int(vocab_size), s["sequence_length"], embedding_dim=s["embedding_dim"],
                           units=s["units"], num_classes=num_classes)


def _attach_weight_decay(model, weight_decay: float) -> None:
    """L2 penalty (λ/2)·‖W‖² on every convolution / dense kernel: gradient += λ·W (PyTorch's SGD weight_decay)."""
    from ..regularizers import L2  # noqa: PLC0415

    reg = L2(weight_decay / 2.0)
    for layer in _all_layers(model):
        kernel = layer.__dict__.get("kernel")
        if kernel is not None and getattr(kernel, "trainable", False) and hasattr(kernel, "regularizer"):
            kernel.regularizer = reg


def make_schedule(s: dict, steps_per_epoch: int):
    """The learning rate per step: a float (constant) or a ``neuronka.schedules`` schedule."""
    from .. import schedules  # noqa: PLC0415

    lr, total = float(s["lr"]), int(s["epochs"]) * int(steps_per_epoch)
    warm = int(s["warmup_epochs"]) * int(steps_per_epoch)
    name = s["schedule"]
    if name == "constant":
        if not warm:
            return lr
        # linear warm-up from 0, then constant: a cosine decay with alpha = 1 never decays
        return schedules.CosineDecay(0.0, max(1, total - warm), alpha=1.0, warmup_target=lr, warmup_steps=warm)
    if name == "cosine":
        if warm:
            return schedules.CosineDecay(0.0, max(1, total - warm), warmup_target=lr, warmup_steps=warm)
        return schedules.CosineDecay(lr, max(1, total))
    if name == "step":  # ÷10 after 50% and 75% of the steps (He et al. 2015)
        b1 = max(1, round(0.5 * total))
        b2 = max(b1 + 1, round(0.75 * total))
        return schedules.PiecewiseConstantDecay([b1, b2], [lr, lr / 10, lr / 100])
    return schedules.OneCycle(max_lr=lr, total_steps=max(1, total))


def make_optimizer(s: dict, steps_per_epoch: int):
    from .. import optimizers  # noqa: PLC0415

    rate = make_schedule(s, steps_per_epoch)
    name = s["optimizer"]
    if name == "sgd":
        return optimizers.SGD(rate, momentum=float(s["momentum"]))
    if name == "adam":
        return optimizers.Adam(rate)
    if name == "adamw":
        return optimizers.AdamW(rate, weight_decay=float(s["weight_decay"]))
    return optimizers.RMSprop(rate)


def _loss(s: dict, num_classes: int):
    from .. import losses  # noqa: PLC0415

    ls = float(s["label_smoothing"])
    if s["kind"] == "text" and num_classes == 2:
        return losses.BinaryCrossentropy(label_smoothing=ls)
    if ls:
        return losses.CategoricalCrossentropy(label_smoothing=ls)
    return losses.SparseCategoricalCrossentropy()


def _targets(s: dict, y: numpy.ndarray, num_classes: int) -> numpy.ndarray:
    """Labels as the loss wants them: (N, 1) floats for the sigmoid text model, one-hot with label smoothing."""
    if s["kind"] == "text" and num_classes == 2:
        return y.reshape(-1, 1).astype(numpy.float32)
    if s["label_smoothing"]:
        return numpy.eye(num_classes, dtype=numpy.float32)[y]
    return y.reshape(-1, 1)


def _probabilities(out: numpy.ndarray) -> numpy.ndarray:
    out = numpy.asarray(out)
    if out.ndim == 2 and out.shape[1] == 1:  # one sigmoid unit: P(class 1)
        p = out[:, 0]
        return numpy.stack([1.0 - p, p], axis=1)
    return out


def _compile(model, s: dict, num_classes: int, steps_per_epoch: int) -> None:
    model.compile(optimizer=make_optimizer(s, steps_per_epoch), loss=_loss(s, num_classes), metrics=["accuracy"])

"""The training job behind ``neuronka train``: one run folder holds everything a run makes.

``train(model="resnet20", dataset="cifar10", epochs=30, out="runs/r20")`` (or the ``neuronka train`` command)
loads the data (:mod:`neuronka.datasets`), builds the model (:mod:`neuronka.applications`), trains it with
``model.fit`` on a seeded pipeline, checkpoints every epoch, and ends with the test-set report::

    runs/r20/
      config.json            the run's settings (every option, defaults resolved), class names, normalization
      checkpoint.json        the last finished epoch, the history so far, the checkpoint's weights file
      checkpoint/epoch-NNNN.weights.npz   weights + optimizer state after epoch NNNN (the latest only)
      history.csv            per epoch: loss, accuracy, val_loss, val_accuracy, learning_rate
      model.keras            the final model (architecture, weights, optimizer)
      report.txt / report.json   precision / recall / F1 per class, accuracy, macro and weighted averages
      confusion_matrix.png, training_curves.png
      results.json           test accuracy and loss, images/s, training and wall time
      vectorizer.json, vocabulary.txt    (text runs) the adapted TextVectorization

Reproducibility and resuming
----------------------------
Everything random is a function of ``(seed, epoch)``: the initial weights come from ``seed``; the shuffle and
the augmentation of batch ``i`` of epoch ``e`` from ``(seed, e, i)`` (:class:`~neuronka.datasets.ImageBatches`,
:class:`TokenBatches`); at the start of every epoch every generator the model draws from (dropout, spatial
dropout, stochastic depth, recurrent dropout masks, NumPy's and Python's global generators) is reseeded from
``(seed, e)``. A checkpoint therefore only needs the weights, the optimizer state (slots and ``iterations``,
which also drives the learning-rate schedule) and the epoch: ``resume=True`` continues from it to the same
weights, bit for bit, as an uninterrupted run with the same settings.

The checkpoint is written in two atomic steps: the weights file (``neuronka.saving.save_weights``: temporary
file, fsync, rename) under a name carrying its epoch, then ``checkpoint.json`` pointing to it; only then is
the previous weights file removed. A crash at any point leaves a consistent checkpoint.
"""
from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy

__all__ = [
    "IMAGE_DATASETS",
    "JobError",
    "TEXT_DATASETS",
    "TokenBatches",
    "evaluate",
    "load_run",
    "parse_augment",
    "parse_text_augment",
    "predict",
    "reseed",
    "resolve_settings",
    "train",
]

IMAGE_DATASETS = ("cifar10", "cifar100")
TEXT_DATASETS = ("sms-spam", "sentiment")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("cosine", "step", "onecycle", "constant")
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3}

# options every run has; None = "not given" (filled per kind of data below)
_COMMON = {
    "model": None, "dataset": "cifar10", "epochs": 10, "batch_size": None, "optimizer": None, "lr": None,
    "momentum": 0.9, "weight_decay": None, "schedule": None, "warmup_epochs": 0, "limit_train": None,
    "limit_test": None, "seed": 0, "label_smoothing": 0.0,
}
_IMAGE = {"model": "resnet20", "batch_size": 128, "optimizer": "sgd", "weight_decay": 1e-4, "schedule": "cosine",
          "label_mode": "fine", "augment": "crop,flip"}
_TEXT = {"model": "lstm", "batch_size": 32, "optimizer": "adam", "weight_decay": 0.0, "schedule": "constant",
         "max_tokens": 10000, "sequence_length": 100, "embedding_dim": 64, "units": 64, "class_weight": None,
         "augment_text": "none"}
# options that steer this invocation only, not what the run computes
RUN_OPTIONS = ("data", "out", "resume", "verbose", "stop_after_epoch", "evaluate_before")

_AUGMENT_KEYS = {  # flag name -> (Augmentation field, value when given without "=")
    "crop": ("crop_padding", 4), "flip": ("horizontal_flip", True), "rotate": ("rotation", 15.0),
    "rotation": ("rotation", 15.0), "shift": ("shift", 0.1), "brightness": ("brightness", 0.2),
    "contrast": ("contrast", 0.2), "noise": ("noise", 0.03), "cutout": ("cutout", 16),
}


class JobError(Exception):
    """A problem with what was asked (an option, a run folder, missing data): the CLI prints it and exits with 2."""


# ======================================================================================
# settings
# ======================================================================================
def _kind(dataset: str) -> str:
    if dataset in IMAGE_DATASETS:
        return "image"
    if dataset in TEXT_DATASETS:
        return "text"
    raise JobError(f"unknown dataset {dataset!r}: expected one of {', '.join(IMAGE_DATASETS + TEXT_DATASETS)}")


def _image_models() -> list[str]:
    from .applications.cifar_resnet import MODELS  # noqa: PLC0415

    return sorted(MODELS)


def _text_models() -> tuple[str, ...]:
    from .applications.text import TEXT_MODELS  # noqa: PLC0415

    return TEXT_MODELS


def parse_augment(spec: str | None) -> dict | None:
    """``"crop,flip"`` / ``"crop=4,flip,rotate=10,cutout=8"`` / ``"none"`` → the fields of an ``Augmentation``.

    Names: crop (pad-and-crop, pixels, default 4), flip (horizontal), rotate (degrees, 15), shift (fraction, 0.1),
    brightness (0.2), contrast (0.2), noise (σ on the [0, 1] scale, 0.03), cutout (square side, 16);
    ``"cifar"`` = crop,flip.
    """
    from .datasets.pipeline import Augmentation  # noqa: PLC0415

    if spec is None:
        return None
    spec = str(spec).strip().lower()
    if spec in ("", "none", "off", "no"):
        return None
    if spec == "cifar":
        spec = "crop,flip"
    fields: dict[str, Any] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip()
        if name not in _AUGMENT_KEYS:
            raise JobError(f"--augment: unknown augmentation {name!r}; expected a comma-separated list of "
                           f"{', '.join(sorted(set(_AUGMENT_KEYS)))} (with optional =value), or none")
        field, default = _AUGMENT_KEYS[name]
        if not eq:
            fields[field] = default
            continue
        try:
            if isinstance(default, bool):
                v = value.strip().lower()
                if v not in ("0", "1", "true", "false", "yes", "no"):
                    raise ValueError(value)
                fields[field] = v in ("1", "true", "yes")
            elif isinstance(default, int):
                fields[field] = int(value)
            else:
                fields[field] = float(value)
        except ValueError:
            raise JobError(f"--augment: {name}={value!r} is not a valid {type(default).__name__}") from None
    try:
        Augmentation(**fields)
    except ValueError as e:
        raise JobError(f"--augment {spec!r}: {e}") from None
    return fields


def parse_text_augment(spec: str | None) -> dict[str, float]:
    """``"dropout=0.1,swap=0.1"`` → ``{"dropout": 0.1, "swap": 0.1}`` (token dropout rate, swap rate); none → {}."""
    if spec is None or str(spec).strip().lower() in ("", "none", "off", "no"):
        return {}
    out = {}
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if name not in ("dropout", "swap"):
            raise JobError(f"--augment-text: unknown augmentation {name!r}; expected dropout=RATE and/or swap=RATE")
        try:
            rate = float(value) if eq else 0.1
        except ValueError:
            raise JobError(f"--augment-text: {name}={value!r} is not a number") from None
        if not 0 <= rate <= 1:
            raise JobError(f"--augment-text: expected {name} in [0, 1], received {rate}")
        out[name] = rate
    return out


def resolve_settings(options: dict) -> dict:
    """The run's settings: ``options`` (None = not given) with the defaults of the dataset's kind filled in, checked.

    Image datasets: resnet20, batch 128, SGD lr 0.1 momentum 0.9, weight decay 1e-4, cosine schedule,
    augment crop,flip. Text datasets: lstm, batch 32, Adam lr 1e-3, constant schedule, no weight decay.
    With ``weights`` (an ImageNet-pretrained network): :func:`neuronka.transfer.resolve_transfer_settings`.
    """
    from .transfer import TRANSFER_OPTIONS, resolve_transfer_settings  # noqa: PLC0415

    if any(options.get(k) not in (None, False) for k in TRANSFER_OPTIONS):
        return resolve_transfer_settings(options)
    given = {k: v for k, v in options.items() if v is not None and k not in RUN_OPTIONS}
    dataset = given.get("dataset", _COMMON["dataset"])
    kind = _kind(dataset)
    specific = _IMAGE if kind == "image" else _TEXT
    other = _TEXT if kind == "image" else _IMAGE
    wrong = sorted(k for k in given if k in other and k not in specific and k not in _COMMON)
    if "label_mode" in given and dataset != "cifar100":
        wrong.append("label_mode")
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise JobError(f"option{'s' if len(wrong) > 1 else ''} {flags} do{'' if len(wrong) > 1 else 'es'} not "
                       f"apply to the dataset {dataset!r}")
    unknown = sorted(k for k in given if k not in _COMMON and k not in specific)
    if unknown:
        raise JobError(f"unknown training option(s): {', '.join(unknown)}")
    s = {**_COMMON, **specific, **given}
    s["dataset"] = dataset
    s["kind"] = kind
    models = _image_models() if kind == "image" else list(_text_models())
    s["model"] = str(s["model"]).lower().replace("-", "")
    if s["model"] not in models:
        raise JobError(f"--model {s['model']!r} is not a {kind} model; expected one of {', '.join(models)}")
    if s["optimizer"] not in OPTIMIZERS:
        raise JobError(f"--optimizer: expected one of {', '.join(OPTIMIZERS)}, received {s['optimizer']!r}")
    if s["schedule"] not in SCHEDULES:
        raise JobError(f"--schedule: expected one of {', '.join(SCHEDULES)}, received {s['schedule']!r}")
    if s["lr"] is None:
        s["lr"] = DEFAULT_LR[s["optimizer"]]
    for key in ("epochs", "batch_size"):
        if int(s[key]) != s[key] or s[key] < 1:
            raise JobError(f"--{key.replace('_', '-')}: expected a positive integer, received {s[key]!r}")
    for key in ("limit_train", "limit_test"):
        if s[key] is not None and (int(s[key]) != s[key] or s[key] < 1):
            raise JobError(f"--{key.replace('_', '-')}: expected a positive integer, received {s[key]!r}")
    if int(s["seed"]) != s["seed"] or s["seed"] < 0:
        raise JobError(f"--seed: expected a non-negative integer, received {s['seed']!r}")
    if not s["lr"] > 0:
        raise JobError(f"--lr: expected a positive learning rate, received {s['lr']!r}")
    if s["warmup_epochs"] < 0 or s["warmup_epochs"] >= s["epochs"]:
        if s["warmup_epochs"] != 0:
            raise JobError(f"--warmup-epochs: expected 0 ≤ N < --epochs ({s['epochs']}), received {s['warmup_epochs']}")
    if s["warmup_epochs"] and s["schedule"] not in ("cosine", "constant"):
        raise JobError(f"--warmup-epochs applies to --schedule cosine or constant, not {s['schedule']!r} "
                       f"(onecycle has its own warm-up)")
    if not 0 <= s["label_smoothing"] < 1:
        raise JobError(f"--label-smoothing: expected a value in [0, 1), received {s['label_smoothing']!r}")
    if s["weight_decay"] < 0:
        raise JobError(f"--weight-decay: expected ≥ 0, received {s['weight_decay']!r}")
    if kind == "image":
        if s["label_mode"] not in ("fine", "coarse"):
            raise JobError(f"--label-mode: expected fine or coarse, received {s['label_mode']!r}")
        if dataset != "cifar100":
            s.pop("label_mode")
        parse_augment(s["augment"])
    else:
        if s["class_weight"] not in (None, "balanced"):
            raise JobError(f"--class-weight: expected balanced, received {s['class_weight']!r}")
        parse_text_augment(s["augment_text"])
        for key in ("max_tokens", "sequence_length", "embedding_dim", "units"):
            if int(s[key]) != s[key] or s[key] < (3 if key == "max_tokens" else 1):
                raise JobError(f"--{key.replace('_', '-')}: expected a positive integer, received {s[key]!r}")
    return s


# ======================================================================================
# randomness
# ======================================================================================
def _all_layers(model) -> list:
    """The model and every nested layer, each once, in a fixed (depth-first) order."""
    out, seen, stack = [], set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(reversed(getattr(layer, "_layers", [])))
    return out


def _seed_int(*parts: int) -> int:
    return int(numpy.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def reseed(model, seed: int, epoch: int) -> None:
    """Reseed every generator training draws from, as a function of ``(seed, epoch)`` (epoch −1: before training).

    NumPy's and Python's global generators, :func:`neuronka.ops.random.set_seed` (layers without a seed of
    their own), :func:`neuronka.initializers.set_seed`, and the private generator of every layer built with
    an integer ``seed`` (``layer._rng``); cached recurrent dropout masks are dropped.
    """
    from . import initializers  # noqa: PLC0415
    from .ops import random as ops_random  # noqa: PLC0415

    s = _seed_int(seed, epoch + 1, 0x5EED)  # epoch −1: the initial weights
    numpy.random.seed(s % (1 << 32))
    random.seed(s)
    ops_random.set_seed(s)
    initializers.set_seed(s)
    if model is None:
        return
    for i, layer in enumerate(_all_layers(model)):
        if isinstance(getattr(layer, "_rng", None), numpy.random.Generator):
            layer._rng = numpy.random.default_rng([int(seed), int(epoch) + 1, i])
        for attr in ("_dropout_mask", "_recurrent_dropout_mask"):
            if getattr(layer, attr, None) is not None:
                setattr(layer, attr, None)


# ======================================================================================
# text batches
# ======================================================================================
class TokenBatches:
    """Seeded ``(x, y)`` batches of token matrices for ``model.fit`` (the ``PyDataset`` protocol).

    Batch ``i`` of epoch ``e`` depends only on ``(seed, e, i)``: the shuffle comes from ``(seed, e, 0)``, and
    the text noise (``dropout``: each token removed with that probability and the row re-padded;
    ``swap``: ⌊swap · k⌋ random pairs of a row's k tokens exchanged) from ``(seed, e, i + 1)``.
    ``on_epoch_end()`` moves to the next epoch; set ``epoch`` to continue a run.
    """

    def __init__(self, x: numpy.ndarray, y: numpy.ndarray | None, batch_size: int = 32, shuffle: bool = True,
                 seed: int = 0, dropout: float = 0.0, swap: float = 0.0):
        self.x, self.y = numpy.asarray(x), None if y is None else numpy.asarray(y)
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.dropout, self.swap = float(dropout), float(swap)
        self.epoch = 0

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    @property
    def num_batches(self) -> int:
        return len(self)

    def __getitem__(self, index: int):
        from .datasets.text import random_token_dropout, random_token_swap  # noqa: PLC0415

        if not 0 <= index < len(self):
            raise IndexError(f"TokenBatches: batch index {index} out of range for {len(self)} batches")
        n = len(self.x)
        order = numpy.random.default_rng([self.seed, self.epoch, 0]).permutation(n) if self.shuffle else None
        sl = slice(index * self.batch_size, (index + 1) * self.batch_size)
        sel = numpy.arange(n)[sl] if order is None else order[sl]
        xb = self.x[sel]
        if self.dropout or self.swap:
            rng = numpy.random.default_rng([self.seed, self.epoch, index + 1])
            if self.dropout:
                xb = random_token_dropout(xb, self.dropout, seed=rng)
            if self.swap:
                xb = random_token_swap(xb, rate=self.swap, seed=rng)
        return xb if self.y is None else (xb, self.y[sel])

    def on_epoch_end(self) -> None:
        self.epoch += 1


# ======================================================================================
# small file helpers
# ======================================================================================
def _write_text(path: Path, text: str) -> None:
    from .saving import atomic_write_bytes  # noqa: PLC0415

    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(o):
    if isinstance(o, numpy.generic):
        return o.item()
    if isinstance(o, numpy.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _write_json(path: Path, obj) -> None:
    _write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise JobError(f"{path} not found") from None
    except (OSError, json.JSONDecodeError) as e:
        raise JobError(f"cannot read {path}: {e}") from None


def _history_csv(history: dict[str, list]) -> str:
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate") if k in history]
    keys += sorted(k for k in history if k not in keys)
    n = max((len(v) for v in history.values()), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i in range(n):
        w.writerow([i + 1] + [repr(float(history[k][i])) if i < len(history[k]) else "" for k in keys])
    return buf.getvalue()


def _read_steps(path: Path) -> list[tuple[int, int, float, float]]:
    """The rows of a run's steps.csv: (step, epoch, batch loss, learning rate)."""
    if not path.is_file():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            if line:
                step, epoch, loss, lr = line.split(",")
                rows.append((int(step), int(epoch), float(loss), float(lr)))
    return rows


def _existing(path: str | None) -> str | None:
    return path if path is not None and Path(path).exists() else None


def _say(verbose: int, *args) -> None:
    if verbose:
        print(*args, flush=True)


# ======================================================================================
# data
# ======================================================================================
def _load_image_data(s: dict, data, need_train: bool = True):
    """((x_train, y_train), (x_test, y_test), class names) with the limits applied; y as (N,) int64."""
    from .datasets import cifar10, cifar100  # noqa: PLC0415

    if s["dataset"] == "cifar10":
        (xtr, ytr), (xte, yte) = cifar10.load_data(path=data)
        names = list(cifar10.CLASS_NAMES)
    else:
        mode = s.get("label_mode", "fine")
        (xtr, ytr), (xte, yte) = cifar100.load_data(label_mode=mode, path=data)
        names = list(cifar100.FINE_LABEL_NAMES if mode == "fine" else cifar100.COARSE_LABEL_NAMES)
    ytr, yte = ytr.reshape(-1).astype(numpy.int64), yte.reshape(-1).astype(numpy.int64)
    if s.get("limit_train"):
        xtr, ytr = xtr[:s["limit_train"]], ytr[:s["limit_train"]]
    if s.get("limit_test"):
        xte, yte = xte[:s["limit_test"]], yte[:s["limit_test"]]
    return (xtr, ytr), (xte, yte), names


def _load_text_data(s: dict, data):
    from .datasets import text  # noqa: PLC0415

    if s["dataset"] == "sms-spam":
        (xtr, ytr), (xte, yte) = text.load_sms_spam(path=data)
        names = list(text.SMS_SPAM_CLASS_NAMES)
    else:
        (xtr, ytr), (xte, yte) = text.load_sentiment(path=data)
        names = list(text.SENTIMENT_CLASS_NAMES)
    if s.get("limit_train"):
        xtr, ytr = xtr[:s["limit_train"]], ytr[:s["limit_train"]]
    if s.get("limit_test"):
        xte, yte = xte[:s["limit_test"]], yte[:s["limit_test"]]
    return (xtr, ytr.astype(numpy.int64)), (xte, yte.astype(numpy.int64)), names


def _guard_data(fn, *args):
    """Run a loader; missing or unreadable data becomes a :class:`JobError` carrying the loader's message."""
    try:
        return fn(*args)
    except FileNotFoundError as e:
        raise JobError(f"{e} (neuronka train/evaluate: pass the dataset's file or folder with --data PATH, or set "
                       f"NEURONKA_DATA to the folder holding it)") from None
    except ValueError as e:
        raise JobError(f"cannot read the dataset: {e}") from None


def _vectorizer_from_config(config: dict):
    from .layers.text_vectorization import TextVectorization  # noqa: PLC0415

    return TextVectorization.from_config(config)


# ======================================================================================
# model, optimizer, loss
# ======================================================================================
def _custom_objects() -> dict:
    """Layer classes the model registry may not know, for loading model files: the ResNets' zero-padding
    shortcut (not registered as serializable), Embedding (not re-exported by neuronka.layers) and the
    Transformer classifier's PositionEmbedding and MaskedMean."""
    from .applications.cifar_resnet import ZeroPadShortcut  # noqa: PLC0415
    from .applications.text import MaskedMean, PositionEmbedding  # noqa: PLC0415
    from .layers.embedding import Embedding  # noqa: PLC0415
    from .transfer import ImageNetPreprocessing  # noqa: PLC0415

    return {"Embedding": Embedding, "ZeroPadShortcut": ZeroPadShortcut, "ImageNetPreprocessing": ImageNetPreprocessing,
            "neuronka>PositionEmbedding": PositionEmbedding, "PositionEmbedding": PositionEmbedding,
            "neuronka>MaskedMean": MaskedMean, "MaskedMean": MaskedMean}


def build_model(s: dict, num_classes: int, input_shape=None, vocab_size: int | None = None):
    """The model of the settings ``s`` (weights initialized from the global generators: call :func:`reseed` first)."""
    if s.get("weights") is not None:  # a transfer run's network, its pretrained weights not read again
        from .transfer import build_transfer_model  # noqa: PLC0415

        return build_transfer_model(s, num_classes, tuple(input_shape or (32, 32, 3)), load_weights=False)
    if s["kind"] == "image":
        from .applications.cifar_resnet import get  # noqa: PLC0415

        return get(s["model"], classes=num_classes, input_shape=tuple(input_shape or (32, 32, 3)))
    from .applications.text import text_classifier  # noqa: PLC0415

    return text_classifier(s["model"], int(vocab_size), s["sequence_length"], embedding_dim=s["embedding_dim"],
                           units=s["units"], num_classes=num_classes)


def _attach_weight_decay(model, weight_decay: float) -> None:
    """L2 penalty (λ/2)·‖W‖² on every convolution / dense kernel: gradient += λ·W (PyTorch's SGD weight_decay)."""
    from .regularizers import L2  # noqa: PLC0415

    reg = L2(weight_decay / 2.0)
    for layer in _all_layers(model):
        kernel = layer.__dict__.get("kernel")
        if kernel is not None and getattr(kernel, "trainable", False) and hasattr(kernel, "regularizer"):
            kernel.regularizer = reg


def make_schedule(s: dict, steps_per_epoch: int):
    """The learning rate per step: a float (constant) or a ``neuronka.schedules`` schedule."""
    from . import schedules  # noqa: PLC0415

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
    from . import optimizers  # noqa: PLC0415

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
    from . import losses  # noqa: PLC0415

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


# ======================================================================================
# the per-epoch callback: reseed, time, learning rate, checkpoint
# ======================================================================================
def _current_lr(model) -> float:
    opt = model.optimizer
    sched = getattr(opt, "learning_rate_schedule", None)
    if sched is not None:
        return float(sched(opt.iterations))
    return float(opt.learning_rate)


def _epoch_callback(job: _Job):
    from .callbacks import Callback  # noqa: PLC0415

    class EpochCallback(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reseed(job.model, job.s["seed"], epoch)
            job.lr_at_epoch_start = _current_lr(job.model)
            job.step_rows, job.seen_in_epoch, job.loss_total = [], 0, 0.0
            job.train_phase_start = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            job.step_lr = _current_lr(job.model)

        def on_train_batch_end(self, batch, logs=None):
            # logs["loss"] is the running mean over the epoch: recover this batch's own loss
            size = min(job.batch_size, job.images_per_epoch - batch * job.batch_size)
            if logs is None or "loss" not in logs or size <= 0:
                return
            job.seen_in_epoch += size
            total = float(logs["loss"]) * job.seen_in_epoch
            job.step_rows.append((int(job.model.optimizer.iterations), len(job.history.get("loss", [])) + 1,
                                  (total - job.loss_total) / size, job.step_lr))
            job.loss_total = total

        def _end_train_phase(self):
            if job.train_phase_start is not None:
                job.train_seconds += time.perf_counter() - job.train_phase_start
                job.train_phase_start = None

        def on_test_begin(self, logs=None):
            self._end_train_phase()

        def on_epoch_end(self, epoch, logs=None):
            self._end_train_phase()
            job.images_seen += job.images_per_epoch
            if logs is not None:
                logs["learning_rate"] = job.lr_at_epoch_start
            job.checkpoint(epoch, logs or {})
            if job.stop_after_epoch is not None and epoch + 1 >= job.stop_after_epoch:
                self.model.stop_training = True

    return EpochCallback()


# ======================================================================================
# the job
# ======================================================================================
class _Job:
    def __init__(self, run: Path, s: dict, verbose: int, stop_after_epoch: int | None):
        self.run, self.s, self.verbose, self.stop_after_epoch = run, s, verbose, stop_after_epoch
        self.history: dict[str, list[float]] = {}
        self.train_seconds = 0.0
        self.images_seen = 0
        self.images_per_epoch = 0
        self.train_phase_start = None
        self.lr_at_epoch_start = 0.0
        self.model = None
        self.epochs_done = 0
        self.data = None
        self.batch_size = int(s["batch_size"])
        self.step_rows: list[tuple] = []
        self.seen_in_epoch, self.loss_total, self.step_lr = 0, 0.0, 0.0

    # ---- checkpoints ------------------------------------------------------------------
    def checkpoint(self, epoch: int, logs: dict) -> None:
        from .saving import save_weights  # noqa: PLC0415

        for k, v in logs.items():
            if numpy.ndim(v) == 0:
                self.history.setdefault(k, []).append(float(v))
        folder = self.run / "checkpoint"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch + 1:04d}.weights.npz"
        save_weights(self.model, folder / name)  # atomic: weights + optimizer state
        state = {"epoch": epoch + 1, "weights": f"checkpoint/{name}", "history": self.history,
                 "pipeline": {"seed": self.s["seed"], "epoch": epoch + 1},
                 "rng": {"seed": self.s["seed"], "scheme": "every generator reseeded from (seed, epoch)"},
                 "train_seconds": self.train_seconds, "images_seen": self.images_seen,
                 "saved": datetime.datetime.now().isoformat(timespec="seconds")}
        _write_json(self.run / "checkpoint.json", state)  # atomic: the checkpoint now points to the new file
        self.epochs_done = epoch + 1
        for old in folder.glob("epoch-*.weights.npz"):
            if old.name != name:
                old.unlink(missing_ok=True)
        _write_text(self.run / "history.csv", _history_csv(self.history))
        self._write_steps(epoch + 1)

    def _write_steps(self, epoch: int) -> None:
        """steps.csv: step, epoch, the batch's training loss, its learning rate (rows of finished epochs only)."""
        path = self.run / "steps.csv"
        kept = []
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                kept = [line for line in f.read().splitlines()[1:] if line and int(line.split(",")[1]) < epoch]
        rows = [f"{step},{ep},{loss!r},{lr!r}" for step, ep, loss, lr in self.step_rows]
        _write_text(path, "\n".join(["step,epoch,loss,learning_rate", *kept, *rows]) + "\n")

    def restore(self) -> int:
        """Load checkpoint.json's weights and optimizer state; returns the number of finished epochs."""
        state = _read_json(self.run / "checkpoint.json")
        weights = self.run / state["weights"]
        if not weights.is_file():
            raise JobError(f"{self.run / 'checkpoint.json'} points to {weights}, which does not exist")
        self.model.load_weights(weights)
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.images_seen = int(state.get("images_seen", 0))
        self.epochs_done = int(state["epoch"])
        return self.epochs_done


def _run_folder(out, s: dict) -> Path:
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{s['model']}-{s['dataset']}-{stamp}"
    return Path(out)


def _resume_settings(run: Path, options: dict) -> dict:
    """The saved settings of ``run``; options given now must agree with them."""
    saved = _read_json(run / "config.json").get("settings")
    if not isinstance(saved, dict):
        raise JobError(f"{run / 'config.json'} holds no settings")
    given = {k: v for k, v in options.items() if v is not None and k not in RUN_OPTIONS}
    if "model" in given:
        given["model"] = str(given["model"]).lower().replace("-", "")
    diff = [f"--{k.replace('_', '-')} {saved.get(k)!r} (received {v!r})" for k, v in given.items()
            if k in saved and saved[k] != v]
    diff += [f"--{k.replace('_', '-')} (not an option of this run)" for k in given if k not in saved]
    if diff:
        raise JobError(f"--resume: {run} was started with different settings: {'; '.join(diff)}. Drop these "
                       f"options to continue the run as it was started, or train into a new --out folder")
    return saved


def train(options: dict | None = None, **kwargs) -> dict:
    """Run (or continue) a training job; returns the results (also written to ``<run>/results.json``).

    Options (keyword arguments or a dict; None = default): ``model``, ``dataset`` (cifar10, cifar100,
    sms-spam, sentiment), ``epochs``, ``batch_size``, ``augment`` ("crop,flip", ..., "none"), ``optimizer``
    (sgd, adam, adamw, rmsprop), ``lr``, ``momentum``, ``weight_decay``, ``schedule`` (cosine, step, onecycle,
    constant), ``warmup_epochs``, ``label_mode`` (cifar100), ``limit_train``, ``limit_test``, ``seed``,
    ``label_smoothing``; text: ``max_tokens``, ``sequence_length``, ``embedding_dim``, ``units``,
    ``class_weight`` ("balanced"), ``augment_text`` ("dropout=0.1,swap=0.1"); and for this invocation only:
    ``data`` (dataset path), ``out`` (run folder), ``resume``, ``verbose`` (0, 1, 2), ``stop_after_epoch``
    (stop after that epoch as if interrupted), ``evaluate_before`` (evaluate the untrained model first).
    """
    options = {**(options or {}), **kwargs}
    wall_start = time.perf_counter()
    verbose = int(options.get("verbose") if options.get("verbose") is not None else 1)
    resume = bool(options.get("resume"))
    data = options.get("data")
    if data is not None:
        data = str(Path(data).expanduser().resolve())
    out = options.get("out")
    if resume and out is None:
        raise JobError("--resume needs --out, the run folder to continue")
    if resume and not (Path(out) / "config.json").is_file():
        raise JobError(f"--resume: {out} holds no run to continue (no config.json): check --out, or drop --resume "
                       f"to start a new run there")
    if resume:
        run = Path(out)
        s = _resume_settings(run, options)
        has_checkpoint = (run / "checkpoint.json").is_file()
        if not has_checkpoint:
            _say(verbose, f"{run}: no checkpoint yet, starting from epoch 1")
    else:
        s = resolve_settings(options)
        run = _run_folder(out, s)
        has_checkpoint = False
        if (run / "config.json").is_file() or (run / "checkpoint.json").is_file():
            raise JobError(f"{run} already holds a run: pass --resume to continue it, or choose another --out")
        if run.exists() and (not run.is_dir() or any(p.name != ".lock" for p in run.iterdir())):
            raise JobError(f"{run} is not empty and holds no neuronka run: the run would write over the files "
                           f"there; choose an empty or new folder for --out")
    if data is None and resume and (run / "config.json").is_file():
        data = _existing(_read_json(run / "config.json").get("data"))  # where the run read its data from
    run.mkdir(parents=True, exist_ok=True)
    with _run_lock(run):  # one `neuronka train` per run folder at a time
        return _train_locked(run, s, data, verbose, resume, has_checkpoint, options, wall_start)


@contextlib.contextmanager
def _run_lock(run: Path):
    """An exclusive lock on ``run/.lock`` for the duration of a run: a second ``neuronka train`` on the same
    folder stops at once with a clear error instead of mixing its files with the first one's."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(run / ".lock", "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise JobError(f"{run} is in use by another `neuronka train` (its .lock is held); wait for it to "
                           f"finish or choose another --out") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _remove_orphans(run: Path) -> None:
    """Temporary files an atomic write left when its process was killed (``.<name>.<random>.tmp``, in the run
    folder and its checkpoint folder): no other process writes here while the lock is held, so they are dead."""
    for folder in (run, run / "checkpoint"):
        if folder.is_dir():
            for p in folder.iterdir():
                if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file():
                    p.unlink(missing_ok=True)


def _train_locked(run, s, data, verbose, resume, has_checkpoint, options, wall_start):
    _remove_orphans(run)
    job = _Job(run, s, verbose, options.get("stop_after_epoch"))
    job.data = data
    if s.get("weights") is not None:  # an ImageNet-pretrained network fine-tuned (neuronka/transfer.py)
        from .transfer import train_transfer  # noqa: PLC0415

        return train_transfer(job, data, resume and has_checkpoint, options, wall_start)
    if s["kind"] == "image":
        return _train_image(job, data, resume and has_checkpoint, options, wall_start)
    return _train_text(job, data, resume and has_checkpoint, options, wall_start)


def _write_config(job: _Job, extra: dict) -> None:
    """config.json: the settings, the data's description and where it was read from (written once per run)."""
    from . import __version__  # noqa: PLC0415

    path = job.run / "config.json"
    if path.is_file():
        return
    config = {"neuronka_version": __version__, "created": datetime.datetime.now().isoformat(timespec="seconds"),
              "settings": job.s, "data": job.data, **extra}
    job.run.mkdir(parents=True, exist_ok=True)
    _write_json(path, config)


def _fit(job: _Job, train_data, val_data, class_weight, resuming: bool, wall_start: float, options: dict):
    """Restore (when resuming), fit the remaining epochs; returns the number of finished epochs."""
    s, model = job.s, job.model
    start_epoch = job.restore() if resuming else 0
    if resuming:
        _say(job.verbose, f"Resuming {job.run} after epoch {start_epoch} of {s['epochs']}")
    train_data.epoch = start_epoch  # the pipeline's randomness is a function of (seed, epoch)
    if options.get("evaluate_before") and not resuming:
        before = model.evaluate(val_data, verbose=0, return_dict=True)
        job.history_before = {k: float(v) for k, v in before.items()}
        _say(job.verbose, "Before training: " + ", ".join(f"val_{k}={v:.4f}" for k, v in before.items()))
    if start_epoch < s["epochs"]:
        model.fit(train_data, epochs=s["epochs"], initial_epoch=start_epoch, validation_data=val_data,
                  shuffle=False, class_weight=class_weight, callbacks=[_epoch_callback(job)],
                  verbose=job.verbose)
    return job.epochs_done


def _prepare_image(job: _Job, data):
    from .datasets.pipeline import ImageBatches  # noqa: PLC0415

    s = job.s
    (xtr, ytr), (xte, yte), names = _guard_data(_load_image_data, s, data)
    k = len(names)
    train_b = ImageBatches(xtr, _targets(s, ytr, k), batch_size=s["batch_size"], shuffle=True,
                           augment=parse_augment(s["augment"]), normalize=True, seed=s["seed"])
    val_b = ImageBatches(xte, _targets(s, yte, k), batch_size=s["batch_size"], shuffle=False, augment=None,
                         normalize=True, mean=train_b.mean, std=train_b.std, seed=s["seed"])
    info = {"kind": "image", "class_names": names, "num_classes": k, "input_shape": list(xtr.shape[1:]),
            "normalization": {"rescale": 1.0 / 255.0, "mean": train_b.mean.tolist(), "std": train_b.std.tolist()},
            "train_images": int(len(xtr)), "test_images": int(len(xte))}
    return train_b, val_b, yte, info


def _train_image(job: _Job, data, resuming: bool, options: dict, wall_start: float) -> dict:
    s = job.s
    train_b, val_b, yte, info = _prepare_image(job, data)
    reseed(None, s["seed"], -1)
    job.model = build_model(s, info["num_classes"], info["input_shape"])
    if s["weight_decay"] and s["optimizer"] != "adamw":
        _attach_weight_decay(job.model, s["weight_decay"])
    _compile(job.model, s, info["num_classes"], len(train_b))
    _write_config(job, info)
    job.images_per_epoch = len(train_b.x)
    _say(job.verbose, f"Run folder: {job.run}\nTraining {s['model']} ({job.model.count_params():,} parameters) "
                      f"on {info['train_images']:,} {s['dataset']} images, testing on {info['test_images']:,}")
    done = _fit(job, train_b, val_b, None, resuming, wall_start, options)
    return _finish(job, val_b, yte, info, done, wall_start)


def _prepare_text(job: _Job, data):
    from .layers.text_vectorization import TextVectorization  # noqa: PLC0415

    s = job.s
    (xtr, ytr), (xte, yte), names = _guard_data(_load_text_data, s, data)
    k = len(names)
    vec_file = job.run / "vectorizer.json"
    if vec_file.is_file():  # resuming: the vocabulary the run was started with
        vec = _vectorizer_from_config(_read_json(vec_file))
    else:
        vec = TextVectorization(max_tokens=s["max_tokens"], output_mode="int",
                                output_sequence_length=s["sequence_length"])
        vec.adapt(list(xtr))
    ttr, tte = numpy.asarray(vec(list(xtr))), numpy.asarray(vec(list(xte)))
    aug = parse_text_augment(s["augment_text"])
    train_b = TokenBatches(ttr, _targets(s, ytr, k), s["batch_size"], shuffle=True, seed=s["seed"],
                           dropout=aug.get("dropout", 0.0), swap=aug.get("swap", 0.0))
    val_b = TokenBatches(tte, _targets(s, yte, k), s["batch_size"], shuffle=False, seed=s["seed"])
    class_weight = None
    if s["class_weight"] == "balanced":  # w_c = n / (K · n_c)
        counts = numpy.bincount(ytr, minlength=k)
        class_weight = {c: float(len(ytr) / (k * counts[c])) for c in range(k) if counts[c]}
    info = {"kind": "text", "class_names": names, "num_classes": k, "vocabulary_size": vec.vocabulary_size(),
            "vectorizer_file": "vectorizer.json", "vocabulary_file": "vocabulary.txt", "class_weight": class_weight,
            "train_texts": int(len(xtr)), "test_texts": int(len(xte))}
    return vec, train_b, val_b, yte, class_weight, info


def _train_text(job: _Job, data, resuming: bool, options: dict, wall_start: float) -> dict:
    s = job.s
    vec, train_b, val_b, yte, class_weight, info = _prepare_text(job, data)
    reseed(None, s["seed"], -1)
    job.model = build_model(s, info["num_classes"], vocab_size=info["vocabulary_size"])
    if s["weight_decay"] and s["optimizer"] != "adamw":
        _attach_weight_decay(job.model, s["weight_decay"])
    _compile(job.model, s, info["num_classes"], len(train_b))
    _write_config(job, info)
    if not (job.run / "vectorizer.json").is_file():
        _write_json(job.run / "vectorizer.json", vec.get_config())
        _write_text(job.run / "vocabulary.txt", "\n".join(vec.get_vocabulary()) + "\n")
    job.images_per_epoch = len(train_b.x)
    _say(job.verbose, f"Run folder: {job.run}\nTraining {s['model']} ({job.model.count_params():,} parameters) "
                      f"on {info['train_texts']:,} {s['dataset']} texts (vocabulary {info['vocabulary_size']:,}), "
                      f"testing on {info['test_texts']:,}"
                      + (f"; class weights {class_weight}" if class_weight else ""))
    done = _fit(job, train_b, val_b, class_weight, resuming, wall_start, options)
    return _finish(job, val_b, yte, info, done, wall_start)


# ======================================================================================
# the end of a run: report, pictures, final model
# ======================================================================================
def _report(y_true, probs, names: Sequence[str]) -> tuple[dict, str, numpy.ndarray]:
    from .metrics.classification import classification_report, confusion_matrix, format_report  # noqa: PLC0415

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
    from .metrics.classification import top_k_accuracy  # noqa: PLC0415

    extras = {"accuracy": rep.get("accuracy")}
    if len(names) > 5:
        extras["top5_accuracy"] = top_k_accuracy(y_true, probs, k=5)
    if kind == "text" and len(names) == 2:  # the positive class (spam / positive sentiment)
        extras["positive_class"] = {"name": names[1], **{k: rep[names[1]][k] for k in ("precision", "recall",
                                                                                        "f1-score")}}
    return extras


def _finish(job: _Job, val_data, y_true, info: dict, done: int, wall_start: float) -> dict:
    from .metrics.plots import plot_confusion_matrix, plot_history  # noqa: PLC0415

    s, run, model = job.s, job.run, job.model
    results = {"run": str(run), "epochs_done": done, "epochs": s["epochs"], "train_seconds": job.train_seconds,
               "train_items": job.images_seen}
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
    probs = _probabilities(model.predict(val_data, verbose=0))
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


# ======================================================================================
# using a finished run: evaluate, predict
# ======================================================================================
def _find_config(p: Path) -> Path | None:
    for d in (p if p.is_dir() else p.parent, (p if p.is_dir() else p.parent).parent):
        if (d / "config.json").is_file():
            return d / "config.json"
    return None


def load_run(path, model_name: str | None = None, dataset: str | None = None):
    """``(model, config)`` from a run folder, a ``.keras`` model file or a ``.weights.npz`` file.

    A run folder gives its final ``model.keras`` (or, before the run has finished, its last checkpoint);
    a weights file needs the run's ``config.json`` beside it (or one folder up), or ``model_name`` to build the
    model. ``config`` is the run's config.json (settings, class names, normalization), or a minimal one built
    from ``dataset`` when there is none.
    """
    from .saving import load_model  # noqa: PLC0415

    p = Path(path).expanduser()
    if not p.exists():
        raise JobError(f"{p} does not exist: expected a run folder, a .keras model file or a .weights.npz file")
    cfg_path = _find_config(p)
    config = _read_json(cfg_path) if cfg_path is not None else None
    if config is not None:
        config["run_folder"] = str(cfg_path.parent)
    if p.is_dir():
        if (p / "model.keras").is_file():
            p = p / "model.keras"
        elif (p / "checkpoint.json").is_file():
            p = p / _read_json(p / "checkpoint.json")["weights"]
        else:
            raise JobError(f"{p} holds neither model.keras nor checkpoint.json: not a finished or started run")
    if p.name.endswith(".keras"):
        try:
            model = load_model(p, custom_objects=_custom_objects(), compile=False)
        except ValueError as e:
            raise JobError(f"cannot load {p}: {e}") from None
    elif p.name.endswith((".weights.npz", ".weights.h5")):
        if config is None and model_name is None:
            raise JobError(f"{p}: a weights file needs the run's config.json beside it, or --model to build the "
                           f"network it belongs to")
        s = dict(config["settings"]) if config is not None else resolve_settings(
            {"model": model_name, "dataset": dataset or "cifar10"})
        if model_name is not None:
            s["model"] = model_name
        k = config["num_classes"] if config is not None else len(_dataset_class_names(s))
        model = build_model(s, k, (config or {}).get("input_shape"), (config or {}).get("vocabulary_size"))
        try:
            model.load_weights(p)
        except ValueError as e:
            raise JobError(f"cannot load {p} into {s['model']}: {e}") from None
    else:
        raise JobError(f"{p}: expected a run folder, a .keras file or a .weights.npz file")
    if config is None:
        ds = dataset or "cifar10"
        s = {"dataset": ds, "kind": _kind(ds)}
        config = {"settings": s, "kind": s["kind"], "class_names": _dataset_class_names(s)}
        config["num_classes"] = len(config["class_names"])
    return model, config


def _dataset_class_names(s: dict) -> list[str]:
    from .datasets import cifar10, cifar100, text  # noqa: PLC0415

    return list({"cifar10": cifar10.CLASS_NAMES,
                 "cifar100": (cifar100.COARSE_LABEL_NAMES if s.get("label_mode") == "coarse"
                              else cifar100.FINE_LABEL_NAMES),
                 "sms-spam": text.SMS_SPAM_CLASS_NAMES, "sentiment": text.SENTIMENT_CLASS_NAMES}[s["dataset"]])


def evaluate(path, dataset: str | None = None, data=None, limit_test: int | None = None, batch_size: int = 256,
             model_name: str | None = None, label_mode: str | None = None, verbose: int = 1) -> dict:
    """Test-set report of a run (or model / weights file): ``{"accuracy", "report", "confusion_matrix", ...}``."""
    from .datasets.pipeline import ImageBatches, channel_stats  # noqa: PLC0415

    model, config = load_run(path, model_name, dataset)
    s = dict(config["settings"])
    if data is None and (dataset is None or dataset == s["dataset"]):
        data = _existing(config.get("data"))  # where the run read its data from
    if dataset is not None and dataset != s["dataset"]:
        if _kind(dataset) != s.get("kind", _kind(s["dataset"])):
            raise JobError(f"the model was trained on {s['dataset']!r}; it cannot be evaluated on {dataset!r}")
        s["dataset"] = dataset
    if label_mode is not None:
        s["label_mode"] = label_mode
    s["kind"] = _kind(s["dataset"])
    s["limit_train"], s["limit_test"] = None, limit_test
    names = config.get("class_names") or _dataset_class_names(s)
    if s["kind"] == "image":
        (xtr, _), (xte, yte), data_names = _guard_data(_load_image_data, s, data)
        norm = config.get("normalization")
        if norm is None:
            mean, std = channel_stats(xtr)
        else:
            mean, std = numpy.asarray(norm["mean"], numpy.float32), numpy.asarray(norm["std"], numpy.float32)
        batches = ImageBatches(xte, None, batch_size=batch_size, shuffle=False, normalize=True, mean=mean, std=std)
    else:
        (_, _), (xte, yte), data_names = _guard_data(_load_text_data, s, data)
        vec = _load_vectorizer(config)
        batches = TokenBatches(numpy.asarray(vec(list(xte))), None, batch_size, shuffle=False)
    if len(data_names) != len(names):
        raise JobError(f"the model has {len(names)} classes, the dataset {s['dataset']!r} has {len(data_names)}")
    probs = _probabilities(model.predict(batches, verbose=0))
    if probs.shape[1] != len(names):
        raise JobError(f"the model outputs {probs.shape[1]} classes, the dataset has {len(names)}")
    rep, text, cm = _report(yte, probs, names)
    extras = _report_extras(rep, probs, yte, names, s["kind"])
    if verbose:
        print(f"Classification report of {path} on {s['dataset']} ({len(yte):,} test samples):\n")
        _print_report(text, extras)
        print(f"Accuracy: {extras['accuracy']:.4f}")
    return {"report": rep, "text": text, "confusion_matrix": cm, "test_samples": int(len(yte)), **extras}


def _load_vectorizer(config: dict):
    folder = Path(config.get("run_folder", "."))
    name = config.get("vectorizer_file", "vectorizer.json")
    return _vectorizer_from_config(_read_json(folder / name))


def _read_image(path: str, size: tuple[int, int]) -> numpy.ndarray:
    """An image file as uint8 (H, W, 3) RGB, resized (bilinear) to ``size`` = (H, W) when it differs."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if (im.height, im.width) != tuple(size):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            return numpy.asarray(im, dtype=numpy.uint8)
    except FileNotFoundError:
        raise JobError(f"image {path} not found") from None
    except (UnidentifiedImageError, OSError) as e:
        raise JobError(f"cannot read image {path}: {e}") from None


def predict(path, inputs: Sequence[str], top: int = 5, model_name: str | None = None,
            dataset: str | None = None, verbose: int = 1) -> list[dict]:
    """Top-``top`` classes of each input: image files for image runs (any size: resized to the model's input,
    normalized with the run's statistics), strings for text runs. ``[{"input", "top": [(name, p), ...]}]``."""
    model, config = load_run(path, model_name, dataset)
    names = config["class_names"]
    kind = config.get("kind") or config["settings"].get("kind")
    if not inputs:
        raise JobError("predict: give at least one input")
    if kind == "image":
        shape = tuple(model.inputs[0].shape[1:3]) if getattr(model, "inputs", None) else (32, 32)
        x = numpy.stack([_read_image(p, shape) for p in inputs]).astype(numpy.float32)
        norm = config.get("normalization") or {"rescale": 1 / 255, "mean": [0.0], "std": [1.0]}
        x *= numpy.float32(norm.get("rescale", 1 / 255))
        x -= numpy.asarray(norm["mean"], numpy.float32)
        x /= numpy.asarray(norm["std"], numpy.float32)
    else:
        x = numpy.asarray(_load_vectorizer(config)(list(inputs)))
    probs = _probabilities(model.predict(x, verbose=0))
    k = max(1, min(int(top), probs.shape[1]))
    out = []
    for item, p in zip(inputs, probs):
        order = numpy.argsort(-p, kind="stable")[:k]
        out.append({"input": item, "top": [(names[i] if i < len(names) else str(i), float(p[i])) for i in order]})
    if verbose:
        for r in out:
            label = r["input"] if kind == "image" else repr(r["input"][:60])
            print(f"{label}:")
            for rank, (name, prob) in enumerate(r["top"], 1):
                print(f"  {rank}. {name:<24} {prob:.4f}")
    return out


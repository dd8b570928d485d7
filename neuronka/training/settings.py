"""The settings of a training job: the options, their defaults per kind of data (images, texts), and
their checks (:func:`resolve_settings`, the ``--augment`` / ``--augment-text`` specs); :class:`JobError`,
the error a user's bad option or run folder raises (the CLI prints it on one line and exits with 2).
"""
from __future__ import annotations

from typing import Any

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
    from ..applications.cifar_resnet import MODELS  # noqa: PLC0415

    return sorted(MODELS)


def _text_models() -> tuple[str, ...]:
    from ..applications.text import TEXT_MODELS  # noqa: PLC0415

    return TEXT_MODELS


def parse_augment(spec: str | None) -> dict | None:
    """``"crop,flip"`` / ``"crop=4,flip,rotate=10,cutout=8"`` / ``"none"`` → the fields of an ``Augmentation``.

    Names: crop (pad-and-crop, pixels, default 4), flip (horizontal), rotate (degrees, 15), shift (fraction, 0.1),
    brightness (0.2), contrast (0.2), noise (σ on the [0, 1] scale, 0.03), cutout (square side, 16);
    ``"cifar"`` = crop,flip.
    """
    from ..datasets.pipeline import Augmentation  # noqa: PLC0415

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
    from ..transfer import TRANSFER_OPTIONS, resolve_transfer_settings  # noqa: PLC0415

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

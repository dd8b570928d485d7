"""Using a finished (or stopped) run: :func:`load_run` (a run folder, a ``.keras`` model or a weights
file), :func:`evaluate` on the test set, :func:`predict` on image or text inputs.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy

from .data import TokenBatches, _guard_data, _load_image_data, _load_text_data, _vectorizer_from_config
from .recipe import _custom_objects, _probabilities, build_model
from .report import _print_report, _report, _report_extras
from .runfolder import _existing, _read_json
from .settings import JobError, _kind, resolve_settings


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
    from ..saving import load_model  # noqa: PLC0415

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
    from ..datasets import cifar10, cifar100, text  # noqa: PLC0415

    return list({"cifar10": cifar10.CLASS_NAMES,
                 "cifar100": (cifar100.COARSE_LABEL_NAMES if s.get("label_mode") == "coarse"
                              else cifar100.FINE_LABEL_NAMES),
                 "sms-spam": text.SMS_SPAM_CLASS_NAMES, "sentiment": text.SENTIMENT_CLASS_NAMES}[s["dataset"]])


def evaluate(path, dataset: str | None = None, data=None, limit_test: int | None = None, batch_size: int = 256,
             model_name: str | None = None, label_mode: str | None = None, verbose: int = 1,
             tta: str | None = None) -> dict:
    """Test-set report of a run (or model / weights file): ``{"accuracy", "report", "confusion_matrix", ...}``.

    ``tta="flip"`` (test-time augmentation, image runs): each image's class probabilities are the mean of the
    model's probabilities for the image and for its left-right mirror image, p = (f(x) + f(flip(x))) / 2.
    """
    from ..datasets.pipeline import ImageBatches, channel_stats  # noqa: PLC0415

    if tta not in (None, "flip"):
        raise JobError(f"--tta: expected 'flip' (average each image with its mirror image), received {tta!r}")
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
        batches = [ImageBatches(images, None, batch_size=batch_size, shuffle=False, normalize=True, mean=mean,
                                std=std) for images in ([xte, xte[:, :, ::-1]] if tta else [xte])]
    else:
        if tta:
            raise JobError(f"--tta flip mirrors images: {path} is a text run ({s['dataset']})")
        (_, _), (xte, yte), data_names = _guard_data(_load_text_data, s, data)
        vec = _load_vectorizer(config)
        batches = [TokenBatches(numpy.asarray(vec(list(xte))), None, batch_size, shuffle=False)]
    if len(data_names) != len(names):
        raise JobError(f"the model has {len(names)} classes, the dataset {s['dataset']!r} has {len(data_names)}")
    probs = sum(_probabilities(model.predict(b, verbose=0)) for b in batches) / len(batches)
    if probs.shape[1] != len(names):
        raise JobError(f"the model outputs {probs.shape[1]} classes, the dataset has {len(names)}")
    rep, text, cm = _report(yte, probs, names)
    extras = _report_extras(rep, probs, yte, names, s["kind"])
    if verbose:
        print(f"Classification report of {path} on {s['dataset']} ({len(yte):,} test samples"
              f"{', each averaged with its mirror image' if tta else ''}):\n")
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

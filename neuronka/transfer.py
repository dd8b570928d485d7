"""ImageNet-pretrained ResNets: fine-tuned on CIFAR (``neuronka train --weights``), and their own ImageNet
predictions (``neuronka predict --weights``).

The job of the notes — "ResNet-50 trained on ImageNet, then used for predictions on CIFAR-10 / CIFAR-100
(fine and coarse labels), judged by precision, recall and F1" — as one command::

    neuronka train --model resnet50 --weights imagenet --dataset cifar100 --label-mode coarse --freeze-base \\
        --image-size 224 --out runs/r50-c100-coarse

The weights decide the architecture and its preprocessing:

====================================  ========================================  ===========================
``--weights``                         network                                   preprocessing (RGB in [0, 1])
====================================  ========================================  ===========================
``imagenet``, a ``.h5`` / ``.keras``   Keras's ResNet50                           "caffe": y = 255·x[..., ::-1]
file (Keras's published weights)      (:func:`neuronka.applications.ResNet50`)   − (103.939, 116.779, 123.68)
a ``.pth`` / ``.pt`` /                torchvision's layout                       "torch": y = (x − mean) / std,
``.safetensors`` state dict           (:mod:`~neuronka.applications.torchvision   mean (0.485, 0.456, 0.406),
                                      _resnet`), read without torch              std (0.229, 0.224, 0.225)
====================================  ========================================  ===========================

The fine-tuned model (saved whole in the run's ``model.keras``) is

    CIFAR image (32×32, scaled to [0, 1]) → Resizing(image_size, bilinear) → :class:`ImageNetPreprocessing`
    → the pretrained network without its top, global average pooling → Dense(classes, softmax) (new)

so ``neuronka evaluate RUN`` and ``neuronka predict RUN`` work on the run as on any other. What trains:
``--freeze-base`` only the new classifier (the frozen BatchNormalization layers run in inference mode);
``--fine-tune-from conv4`` the stages conv4 and conv5 and the classifier (stages: conv1 = stem, conv2 … conv5);
neither: everything.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy

from . import layers
from .layers.base import Layer
from .saving import register_keras_serializable

__all__ = [
    "ImageNetPreprocessing",
    "STAGES",
    "TRANSFER_OPTIONS",
    "build_backbone",
    "build_transfer_model",
    "imagenet_class_names",
    "predict_imagenet",
    "resolve_transfer_settings",
    "set_trainable",
    "weights_family",
]

TRANSFER_OPTIONS = ("weights", "freeze_base", "fine_tune_from", "image_size")
STAGES = ("conv1", "conv2", "conv3", "conv4", "conv5")
TORCH_SUFFIXES = (".pth", ".pt", ".safetensors")
KERAS_SUFFIXES = (".h5", ".keras")  # .weights.h5 included
TORCHVISION_MODELS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
KERAS_MODELS = ("resnet50",)
DEFAULT_IMAGE_SIZE = 224
# defaults of a transfer run where the option is not given (the rest are the image defaults of neuronka.training)
_TRANSFER_DEFAULTS = {"optimizer": "adam", "batch_size": 32, "weight_decay": 0.0, "augment": "flip"}

# Keras's published ResNet50 ImageNet weights: (file with top, its md5), (file without top, its md5)
_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
_KERAS_WEIGHTS = {
    "resnet50": (("resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107"),
                 ("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626")),
}
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _job_error(message: str) -> Exception:
    from .training import JobError  # noqa: PLC0415

    return JobError(message)


# ======================================================================================
# preprocessing
# ======================================================================================
def _affine(mode: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(A, b) with preprocess(x) = x·A + b over the channel axis, x RGB in [0, 1]."""
    if mode == "caffe":  # 255·x, RGB → BGR, minus the BGR mean pixel
        return 255.0 * numpy.eye(3)[::-1], -numpy.asarray(CAFFE_MEAN_BGR)
    from .applications.torchvision_resnet import TORCHVISION_MEAN, TORCHVISION_STD  # noqa: PLC0415

    std = numpy.asarray(TORCHVISION_STD)
    return numpy.diag(1.0 / std), -numpy.asarray(TORCHVISION_MEAN) / std


@register_keras_serializable(package="neuronka")
class ImageNetPreprocessing(Layer):
    """The input scaling ImageNet weights were trained with, as a layer: y = x·A + b over the channel axis.

    ``x``: RGB images scaled to [0, 1], (..., 3). ``mode="caffe"`` (Keras's ResNet50):
    y = 255·x[..., ::-1] − (103.939, 116.779, 123.68), i.e. BGR on the 0–255 scale minus the mean pixel;
    ``mode="torch"`` (torchvision): y = (x − (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225).
    No weights; dy/dx = Aᵀ (a fixed linear map).
    """

    MODES = ("caffe", "torch")

    def __init__(self, mode: str = "caffe", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"ImageNetPreprocessing: expected mode 'caffe' or 'torch', received mode={mode!r}")
        self.mode = mode
        self._a, self._b = _affine(mode)

    def call(self, inputs):
        from . import ops  # noqa: PLC0415

        if inputs.shape[-1] != 3:
            raise ValueError(f"ImageNetPreprocessing {self.name!r}: expected RGB images (..., 3), received shape "
                             f"{tuple(inputs.shape)}")
        dtype = inputs.dtype if numpy.issubdtype(inputs.dtype, numpy.floating) else numpy.float32
        x = ops.cast(inputs, dtype)
        return ops.matmul(x, self._a.astype(dtype)) + self._b.astype(dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


def preprocess_array(x: numpy.ndarray, mode: str) -> numpy.ndarray:
    """:class:`ImageNetPreprocessing` on a NumPy batch of RGB images in [0, 1] (float32)."""
    a, b = _affine(mode)
    return (numpy.asarray(x, numpy.float32) @ a.astype(numpy.float32) + b.astype(numpy.float32)).astype(
        numpy.float32)


# ======================================================================================
# weights → network
# ======================================================================================
def weights_family(weights: str) -> str:
    """"keras" for ``imagenet`` and ``.h5`` / ``.keras`` files, "torchvision" for ``.pth`` / ``.pt`` /
    ``.safetensors``; anything else is a :class:`~neuronka.training.JobError`."""
    w = str(weights)
    if w == "imagenet" or w.lower().endswith(KERAS_SUFFIXES):
        return "keras"
    if w.lower().endswith(TORCH_SUFFIXES):
        return "torchvision"
    raise _job_error(f"--weights {w!r}: expected imagenet, a Keras weights file (.h5, .weights.h5, .keras) or a "
                     f"torchvision state dict (.pth, .pt, .safetensors)")


def _existing_file(path: str) -> str:
    p = Path(path).expanduser()
    if not p.is_file():
        raise _job_error(f"--weights {path}: no such file")
    return str(p.resolve())


def _torchvision_backbone(model_name: str, weights: str | None, size: int, include_top: bool):
    from .applications.torchvision_resnet import torchvision_resnet  # noqa: PLC0415

    if model_name not in TORCHVISION_MODELS:
        raise _job_error(f"--model {model_name!r}: torchvision weights fit {', '.join(TORCHVISION_MODELS)}")
    base = torchvision_resnet(int(model_name[len("resnet"):]), include_top=include_top, weights=None,
                              input_shape=(size, size, 3), pooling=None if include_top else "avg")
    if weights is not None:
        from .applications.torchvision_weights import load_torchvision_weights  # noqa: PLC0415

        path = (_torchvision_imagenet_file(model_name) if weights == "imagenet" else _existing_file(weights))
        try:
            load_torchvision_weights(base, path)
        except (OSError, ValueError) as e:
            raise _job_error(f"--weights: {e}") from None
    return base


def _torchvision_imagenet_file(model_name: str) -> str:
    from .applications.torchvision_resnet import imagenet_weights_path  # noqa: PLC0415

    try:
        return imagenet_weights_path(int(model_name[len("resnet"):]))
    except (OSError, ValueError) as e:
        raise _job_error(str(e)) from None


# ---- Keras's ResNet50 and Keras's weights ----------------------------------------------------------------------
# neuronka.applications.ResNet50 is Keras's architecture (stride on the first 1×1 convolution, convolutions with
# biases; 25,636,712 parameters), so Keras's files (.h5 by layer order, .weights.h5 / .keras) load into it.
def _keras_imagenet_file(model_name: str, include_top: bool) -> str:
    """Keras's published weights file through :func:`neuronka.utils.get_file` (cached in ~/.keras/models)."""
    from .utils import get_file  # noqa: PLC0415

    fname, md5 = _KERAS_WEIGHTS[model_name][0 if include_top else 1]
    try:
        return get_file(fname, _KERAS_ORIGIN + fname, cache_subdir="models", file_hash=md5)
    except Exception as e:  # noqa: BLE001 - any download failure: say which file to put where
        raise _job_error(f"--weights imagenet needs Keras's {fname}, which could not be downloaded "
                         f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); put it into "
                         f"~/.keras/models/ (or $KERAS_HOME/models/), or pass --weights PATH") from None


def _keras_backbone(model_name: str, weights: str | None, size: int, include_top: bool):
    from .applications import ResNet50  # noqa: PLC0415

    if model_name not in KERAS_MODELS:
        raise _job_error(f"--model {model_name!r}: Keras's weights fit {', '.join(KERAS_MODELS)}")
    base = ResNet50(include_top=include_top, weights=None, input_shape=(size, size, 3),
                    pooling=None if include_top else "avg")
    if weights is not None:
        path = (_keras_imagenet_file(model_name, include_top) if weights == "imagenet"
                else _existing_file(weights))
        try:
            base.load_weights(path)
        except (OSError, ValueError, KeyError) as e:
            raise _job_error(f"--weights {path}: cannot be loaded into Keras's ResNet50 "
                             f"({'with' if include_top else 'without'} top): {e}") from None
    return base


def build_backbone(model_name: str, weights: str, image_size: int, include_top: bool, load: bool = True):
    """``(network, preprocessing mode)`` for ``--weights``: the pretrained ResNet at ``image_size``² inputs,
    with its 1000-class top or (``include_top=False``) ending in global average pooling. ``load=False``
    builds it without reading the weights (a run being resumed: its checkpoint holds them)."""
    family = weights_family(weights)
    w = weights if load else None
    if family == "torchvision":
        return _torchvision_backbone(model_name, w, image_size, include_top), "torch"
    return _keras_backbone(model_name, w, image_size, include_top), "caffe"


# ======================================================================================
# the fine-tuning model
# ======================================================================================
def _stage(layer_name: str) -> int:
    """0 … 4 for conv1 (with pool1) … conv5; 5 for layers after the stages."""
    m = re.match(r"(conv|pool)(\d)_", layer_name)
    if m is None:
        return len(STAGES)
    return 0 if m[1] == "pool" else int(m[2]) - 1


def set_trainable(base, freeze_base: bool = False, fine_tune_from: str | None = None) -> None:
    """Freeze the pretrained network (``freeze_base``), or its stages before ``fine_tune_from`` (conv1 … conv5)."""
    if freeze_base:
        base.trainable = False
        return
    first = STAGES.index(fine_tune_from) if fine_tune_from else 0
    base.trainable = True
    for layer in _flat_layers(base):
        layer.trainable = _stage(layer.name) >= first


def _flat_layers(model) -> list:
    from .models import Model  # noqa: PLC0415

    out = []
    for layer in model.layers:
        out.extend(_flat_layers(layer) if isinstance(layer, Model) else [layer])
    return out


def build_transfer_model(s: dict, num_classes: int, input_shape=(32, 32, 3), load_weights: bool = True):
    """The fine-tuning model of the settings ``s`` (``model``, ``weights``, ``image_size``, ``freeze_base``,
    ``fine_tune_from``): images in [0, 1] → resize → ImageNet preprocessing → pretrained base → new classifier."""
    from .models import Model  # noqa: PLC0415

    size = int(s["image_size"])
    base, mode = build_backbone(s["model"], s["weights"], size, include_top=False, load=load_weights)
    inputs = layers.Input(shape=tuple(input_shape), name="images")
    x = inputs
    if tuple(input_shape[:2]) != (size, size):
        x = layers.Resizing(size, size, interpolation="bilinear", name="resize")(x)
    x = ImageNetPreprocessing(mode, name="imagenet_preprocessing")(x)
    x = base(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    set_trainable(base, bool(s.get("freeze_base")), s.get("fine_tune_from"))
    return Model(inputs, outputs, name=f"{s['model']}_{weights_family(s['weights'])}_transfer")


# ======================================================================================
# settings
# ======================================================================================
def resolve_transfer_settings(options: dict) -> dict:
    """The settings of a run with ``weights``: :func:`neuronka.training.resolve_settings` of the other options
    (with the transfer defaults: Adam, lr 1e-3 for the head alone / a tenth of the optimizer's default when
    more trains, batch 32, no weight decay, flip augmentation), plus ``weights`` (``imagenet`` or an absolute
    path), ``freeze_base``, ``fine_tune_from``, ``image_size`` (224)."""
    from .training import DEFAULT_LR, IMAGE_DATASETS, RUN_OPTIONS, resolve_settings  # noqa: PLC0415

    given = {k: v for k, v in options.items() if v is not None and v is not False and k not in RUN_OPTIONS}
    weights = given.get("weights")
    if weights is None:
        flags = [f"--{k.replace('_', '-')}" for k in TRANSFER_OPTIONS[1:] if k in given]
        raise _job_error(f"{', '.join(flags)} appl{'y' if len(flags) > 1 else 'ies'} only with --weights (an "
                         f"ImageNet-pretrained network: imagenet or a weights file)")
    dataset = given.get("dataset", "cifar10")
    if dataset not in IMAGE_DATASETS:
        raise _job_error(f"--weights applies to the image datasets {', '.join(IMAGE_DATASETS)}, not {dataset!r}")
    family = weights_family(weights)
    weights = "imagenet" if weights == "imagenet" else _existing_file(weights)
    model = str(given.get("model", "resnet50")).lower().replace("-", "")
    allowed = TORCHVISION_MODELS if family == "torchvision" else KERAS_MODELS
    if model not in allowed:
        raise _job_error(f"--model {model!r}: with {family} weights expected one of {', '.join(allowed)}")
    freeze, start = bool(given.get("freeze_base")), given.get("fine_tune_from")
    if freeze and start is not None:
        raise _job_error("--freeze-base and --fine-tune-from exclude each other: the first trains the new "
                         "classifier alone, the second also the stages from STAGE on")
    if start is not None and start not in STAGES:
        raise _job_error(f"--fine-tune-from: expected one of {', '.join(STAGES)}, received {start!r}")
    size = given.get("image_size", DEFAULT_IMAGE_SIZE)
    if isinstance(size, bool) or int(size) != size or size < 32:
        raise _job_error(f"--image-size: expected an integer ≥ 32 (the network downsamples by 32), received {size!r}")
    plain = {k: v for k, v in options.items() if k not in TRANSFER_OPTIONS and k != "model"}
    for key, value in _TRANSFER_DEFAULTS.items():
        if plain.get(key) is None:
            plain[key] = value
    if plain.get("lr") is None:
        plain["lr"] = DEFAULT_LR.get(plain["optimizer"], 1e-3) / (1 if freeze else 10)
    s = resolve_settings(plain)
    s.update(model=model, weights=weights, freeze_base=freeze, fine_tune_from=start, image_size=int(size))
    return s


# ======================================================================================
# the training job
# ======================================================================================
def train_transfer(job, data, resuming: bool, options: dict, wall_start: float) -> dict:
    """``neuronka train --weights ...``: the run folder of :mod:`neuronka.training`, with the transfer model."""
    from .datasets.pipeline import ImageBatches  # noqa: PLC0415
    from .training.data import _guard_data, _load_image_data, reseed  # noqa: PLC0415
    from .training.job import _fit, _write_config  # noqa: PLC0415
    from .training.recipe import _attach_weight_decay, _compile, _targets  # noqa: PLC0415
    from .training.report import _finish  # noqa: PLC0415
    from .training.runfolder import _say  # noqa: PLC0415
    from .training.settings import parse_augment  # noqa: PLC0415

    s = job.s
    (xtr, ytr), (xte, yte), names = _guard_data(_load_image_data, s, data)
    k = len(names)
    zero, one = numpy.zeros(3, numpy.float32), numpy.ones(3, numpy.float32)  # the model sees x / 255
    train_b = ImageBatches(xtr, _targets(s, ytr, k), batch_size=s["batch_size"], shuffle=True,
                           augment=parse_augment(s["augment"]), normalize=True, mean=zero, std=one, seed=s["seed"])
    val_b = ImageBatches(xte, _targets(s, yte, k), batch_size=s["batch_size"], shuffle=False, augment=None,
                         normalize=True, mean=zero, std=one, seed=s["seed"])
    reseed(None, s["seed"], -1)
    job.model = build_transfer_model(s, k, tuple(xtr.shape[1:]), load_weights=not resuming)
    if s["weight_decay"] and s["optimizer"] != "adamw":
        _attach_weight_decay(job.model, s["weight_decay"])
    _compile(job.model, s, k, len(train_b))
    family = weights_family(s["weights"])
    trainable = sum(int(numpy.prod(w.shape)) for w in job.model.trainable_weights)
    info = {"kind": "image", "class_names": names, "num_classes": k, "input_shape": list(xtr.shape[1:]),
            "normalization": {"rescale": 1.0 / 255.0, "mean": zero.tolist(), "std": one.tolist()},
            "train_images": int(len(xtr)), "test_images": int(len(xte)),
            "pretrained": {"weights": s["weights"], "family": family,
                           "preprocessing": "torch" if family == "torchvision" else "caffe",
                           "image_size": s["image_size"], "trainable_parameters": trainable}}
    _write_config(job, info)
    job.images_per_epoch = len(xtr)
    stages = STAGES[STAGES.index(s["fine_tune_from"]):] if s["fine_tune_from"] else ()
    what = ("the new classifier only" if s["freeze_base"] else
            f"{', '.join(stages)} and the new classifier" if stages else "every layer")
    _say(job.verbose, f"Run folder: {job.run}\nFine-tuning {s['model']} ({family} weights {s['weights']}) at "
                      f"{s['image_size']}×{s['image_size']} on {len(xtr):,} {s['dataset']} images, testing on "
                      f"{len(xte):,}; training {what} ({trainable:,} of {job.model.count_params():,} parameters)")
    done = _fit(job, train_b, val_b, None, resuming, wall_start, options)
    return _finish(job, val_b, yte, info, done, wall_start)


# ======================================================================================
# ImageNet predictions
# ======================================================================================
def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet-1k class names by class index (the index torchvision and Keras use), from the class
    index shipped with the package (``applications/imagenet_class_index.json``, Keras's file)."""
    from .applications.imagenet_utils import class_index  # noqa: PLC0415

    index = class_index()
    return [index[str(i)][1] for i in range(len(index))]


def read_imagenet_image(path: str, size: int, family: str) -> numpy.ndarray:
    """An image file as float32 RGB in [0, 1], (size, size, 3), framed as the weights were evaluated:
    torchvision resizes the shorter side to size·256/224 and crops the centre; Keras resizes to size × size."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if family == "torchvision":
                short = round(size * 256 / 224)
                scale = short / min(im.width, im.height)
                w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
                im = im.resize((w, h), Image.BILINEAR)
                left, top = (w - size) // 2, (h - size) // 2
                im = im.crop((left, top, left + size, top + size))
            else:
                im = im.resize((size, size), Image.BILINEAR)
            return numpy.asarray(im, dtype=numpy.float32) / 255.0
    except FileNotFoundError:
        raise _job_error(f"image {path} not found") from None
    except (UnidentifiedImageError, OSError) as e:
        raise _job_error(f"cannot read image {path}: {e}") from None


def predict_imagenet(model_name: str | None, weights: str, inputs: Sequence[str], top: int = 5,
                     image_size: int | None = None, verbose: int = 1) -> list[dict]:
    """The ImageNet top-``top`` classes of image files under pretrained weights (``imagenet`` or a file):
    ``[{"input", "top": [(class name, index, probability), ...]}]``, printed one block per image."""
    if not inputs:
        raise _job_error("predict: give at least one image file")
    model_name = str(model_name or "resnet50").lower().replace("-", "")
    size = int(image_size or DEFAULT_IMAGE_SIZE)
    if size < 32:
        raise _job_error(f"--image-size: expected an integer ≥ 32, received {size}")
    family = weights_family(weights)
    x = numpy.stack([read_imagenet_image(p, size, family) for p in inputs])
    start = time.perf_counter()
    model, mode = build_backbone(model_name, weights, size, include_top=True)
    probs = numpy.asarray(model.predict(preprocess_array(x, mode), verbose=0))
    names = imagenet_class_names()
    k = max(1, min(int(top), probs.shape[1]))
    out = []
    for item, p in zip(inputs, probs):
        order = numpy.argsort(-p, kind="stable")[:k]
        out.append({"input": item, "top": [(names[i], int(i), float(p[i])) for i in order]})
    if verbose:
        print(f"ImageNet top-{k} of {model_name} ({family} weights {weights}, {size}×{size}, "
              f"{time.perf_counter() - start:.1f} s):")
        for r in out:
            print(f"{os.fspath(r['input'])}:")
            for rank, (name, index, prob) in enumerate(r["top"], 1):
                print(f"  {rank}. {name:<28} {prob:.4f}  (class {index})")
    return out

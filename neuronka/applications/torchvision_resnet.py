"""ResNet-18 / 34 / 50 / 101 / 152 in torchvision's layout (He et al. 2015, the ImageNet nets).

The layout of ``torchvision.models.resnet{18,34,50,101,152}``, so that torchvision's weights load one to one
(:func:`neuronka.applications.torchvision_weights.load_torchvision_weights`) and the parameter counts are
torchvision's (ResNet-50: 25,557,032):

- stem: 7×7/2 convolution (64 filters, no bias), BN, ReLU, 3×3/2 max pooling (padding 1 on each side);
- four stages of 64 / 128 / 256 / 512 filters; basic blocks (3×3 → 3×3) for 18 / 34, bottleneck blocks
  (1×1 → 3×3 → 1×1 ×4) for 50 / 101 / 152; the first block of stages 2–4 has stride 2, **on the 3×3
  convolution** (torchvision's "ResNet v1.5"; Keras's ResNet50 strides the first 1×1 instead);
- every convolution is bias-free and followed by BatchNormalization (ε = 1e-5); padding is symmetric
  (explicit ``ZeroPadding2D`` before a strided 3×3 or 7×7 convolution, as torch pads);
- a projection shortcut (1×1 convolution with the block's stride + BN) where the shape changes:
  y = relu(F(x) + shortcut(x));
- global average pooling and Dense(classes) ("predictions").

Layer names follow Keras's applications (``conv1_conv``, ``conv2_block1_1_conv``, ``conv2_block1_0_bn``
for the projection, ...); the stages are ``conv2`` … ``conv5``.

The inputs torchvision's weights expect: RGB scaled to [0, 1], then (x − mean) / std per channel with
mean = (0.485, 0.456, 0.406), std = (0.229, 0.224, 0.225) (:data:`TORCHVISION_MEAN`, :data:`TORCHVISION_STD`).
"""
from __future__ import annotations

import hashlib
import os

from .. import layers
from ..models import Model
from .torchvision_weights import load_torchvision_weights

__all__ = [  # what neuronka.applications exports from here (not torchvision_resnet: the module's own name)
    "TorchvisionResNet18",
    "TorchvisionResNet34",
    "TorchvisionResNet50",
    "TorchvisionResNet101",
    "TorchvisionResNet152",
    "load_torchvision_weights",
]

TORCHVISION_BLOCKS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)

# torchvision's published ImageNet-1k weights (IMAGENET1K_V1); the 8 hex digits in the name begin the file's SHA-256
_WEIGHTS_ORIGIN = "https://download.pytorch.org/models/"
TORCHVISION_WEIGHTS = {
    18: "resnet18-f37072fd.pth",
    34: "resnet34-b627a593.pth",
    50: "resnet50-0676ba61.pth",
    101: "resnet101-63fe2227.pth",
    152: "resnet152-394f9c45.pth",
}


def _conv(x, filters: int, kernel_size: int, strides: int, name: str):
    """A bias-free convolution padded as torch pads: k // 2 zeros on every side (none for 1×1).

    At stride 1 that is Keras's "same"; at stride 2 "same" would pad the bottom/right only, so the padding is
    an explicit ``ZeroPadding2D`` there.
    """
    padding = "same"
    if strides > 1 and kernel_size > 1:
        x = layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
        padding = "valid"
    return layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                         kernel_initializer="he_normal", name=name)(x)


def _bn(x, name: str):
    # torch's BatchNorm2d: ε = 1e-5, momentum 0.1 (= Keras's 0.9)
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)(x)


def _shortcut(x, out_filters: int, strides: int, name: str):
    """x itself where the shape is kept, else BN(conv1×1/stride(x)) (torchvision's ``downsample``)."""
    if strides == 1 and x.shape[-1] == out_filters:
        return x
    return _bn(_conv(x, out_filters, 1, strides, f"{name}_0_conv"), f"{name}_0_bn")


def _basic_block(x, filters: int, strides: int, name: str):
    """y = relu(BN(conv3×3(relu(BN(conv3×3/stride(x))))) + shortcut(x))."""
    y = _conv(x, filters, 3, strides, f"{name}_1_conv")
    y = layers.Activation("relu", name=f"{name}_1_relu")(_bn(y, f"{name}_1_bn"))
    y = _bn(_conv(y, filters, 3, 1, f"{name}_2_conv"), f"{name}_2_bn")
    out = layers.Add(name=f"{name}_add")([_shortcut(x, filters, strides, name), y])
    return layers.Activation("relu", name=f"{name}_out")(out)


def _bottleneck_block(x, filters: int, strides: int, name: str):
    """y = relu(BN(conv1×1 ×4(relu(BN(conv3×3/stride(relu(BN(conv1×1(x))))))) + shortcut(x))."""
    y = _conv(x, filters, 1, 1, f"{name}_1_conv")
    y = layers.Activation("relu", name=f"{name}_1_relu")(_bn(y, f"{name}_1_bn"))
    y = _conv(y, filters, 3, strides, f"{name}_2_conv")
    y = layers.Activation("relu", name=f"{name}_2_relu")(_bn(y, f"{name}_2_bn"))
    y = _bn(_conv(y, 4 * filters, 1, 1, f"{name}_3_conv"), f"{name}_3_bn")
    out = layers.Add(name=f"{name}_add")([_shortcut(x, 4 * filters, strides, name), y])
    return layers.Activation("relu", name=f"{name}_out")(out)


def torchvision_resnet(depth: int, include_top: bool = True, weights: str | os.PathLike | None = None,
                       input_tensor=None, input_shape=None, pooling: str | None = None, classes: int = 1000,
                       classifier_activation: str | None = "softmax", name: str | None = None) -> Model:
    """The ResNet of ``depth`` (18, 34, 50, 101, 152) in torchvision's layout, with Keras's applications arguments.

    ``weights``: None (He-normal initialization), ``"imagenet"`` (torchvision's published IMAGENET1K_V1 file,
    through :func:`neuronka.utils.get_file` into ``~/.keras/models``), or the path of a file: a torch state
    dict (``.pth``/``.pt``) or ``.safetensors`` file with torchvision's parameter names (read without torch,
    :func:`~neuronka.applications.torchvision_weights.load_torchvision_weights`), or neuronka's own weights file.
    ``include_top=False`` drops the classifier (then ``pooling`` None, "avg" or "max" ends the model);
    the ``fc.*`` entries of a torchvision file are then not used.
    """
    if depth not in TORCHVISION_BLOCKS:
        raise ValueError(f"torchvision_resnet: expected depth in {sorted(TORCHVISION_BLOCKS)}, received depth={depth}")
    label = f"TorchvisionResNet{depth}"
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{label}: expected pooling None, 'avg' or 'max', received pooling={pooling!r}")
    if include_top and int(classes) < 1:
        raise ValueError(f"{label}: expected classes ≥ 1, received classes={classes!r}")
    if weights == "imagenet" and include_top and int(classes) != 1000:
        raise ValueError(f"{label}: weights='imagenet' with include_top=True needs classes=1000, "
                         f"received classes={classes}")
    kind, blocks = TORCHVISION_BLOCKS[depth]
    if input_shape is None:
        input_shape = (224, 224, 3) if include_top else (None, None, 3)
    if input_tensor is None:
        inputs = layers.Input(shape=tuple(input_shape), name="input")
        x = inputs
    else:
        from ..utils import get_source_inputs  # noqa: PLC0415

        inputs, x = get_source_inputs(input_tensor), input_tensor
    x = _conv(x, 64, 7, 2, "conv1_conv")
    x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn"))
    # zeros pad the max pooling as torch's -inf does: its inputs are ReLU outputs, ≥ 0
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    block = _basic_block if kind == "basic" else _bottleneck_block
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        for b in range(count):
            x = block(x, filters, 2 if stage > 0 and b == 0 else 1, f"conv{stage + 2}_block{b + 1}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name or f"torchvision_resnet{depth}")
    if weights is not None:
        _load(model, depth, weights)
    return model


def _load(model: Model, depth: int, weights) -> None:
    from .torchvision_weights import TORCH_WEIGHT_SUFFIXES  # noqa: PLC0415

    if weights == "imagenet":
        weights = imagenet_weights_path(depth)
    path = os.fspath(weights)
    if path.endswith(TORCH_WEIGHT_SUFFIXES):
        load_torchvision_weights(model, path)
    else:
        model.load_weights(path)


def imagenet_weights_path(depth: int) -> str:
    """The local path of torchvision's ImageNet weights for ``depth``: ``~/.keras/models/<file>`` (downloaded by
    :func:`neuronka.utils.get_file` when missing; the SHA-256 must begin with the 8 hex digits in the name)."""
    from ..utils import get_file  # noqa: PLC0415

    fname = TORCHVISION_WEIGHTS[depth]
    try:
        path = get_file(fname, _WEIGHTS_ORIGIN + fname, cache_subdir="models")
    except Exception as e:  # noqa: BLE001 - any download failure: say which file to put where
        raise OSError(f"TorchvisionResNet{depth}: weights='imagenet' needs torchvision's {fname} ({e}); without a "
                      f"network, put that file into ~/.keras/models/ (or pass weights=PATH)") from None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    expected = fname.rsplit("-", 1)[1].split(".")[0]
    if not digest.hexdigest().startswith(expected):
        raise ValueError(f"TorchvisionResNet{depth}: {path} is not torchvision's {fname}: its SHA-256 "
                         f"{digest.hexdigest()[:8]}… does not begin with {expected}")
    return path


def _make(depth: int):
    def build(include_top: bool = True, weights=None, input_tensor=None, input_shape=None, pooling=None,
              classes: int = 1000, classifier_activation: str | None = "softmax", name: str | None = None) -> Model:
        return torchvision_resnet(depth, include_top, weights, input_tensor, input_shape, pooling, classes,
                                  classifier_activation, name)

    kind, blocks = TORCHVISION_BLOCKS[depth]
    build.__name__ = build.__qualname__ = f"TorchvisionResNet{depth}"
    build.__doc__ = (f"ResNet-{depth} in torchvision's layout ({kind} blocks {list(blocks)}); the arguments of "
                     f"Keras's applications, ``weights`` None, 'imagenet' or a .pth / .safetensors / neuronka "
                     f"weights file (see :func:`torchvision_resnet`).")
    return build


TorchvisionResNet18 = _make(18)
TorchvisionResNet34 = _make(34)
TorchvisionResNet50 = _make(50)
TorchvisionResNet101 = _make(101)
TorchvisionResNet152 = _make(152)

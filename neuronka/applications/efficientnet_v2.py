"""EfficientNetV2 B0–B3, S, M, L (Tan & Le 2021), laid out as ``keras.applications``.

A stem (3×3 convolution, stride 2, "same" padding), stages of blocks, a 1×1 convolution to 1280·w channels.
The early stages use Fused-MBConv, the later ones MBConv (with squeeze-and-excite):

    Fused-MBConv: k×k convolution to t·c_in (stride s, BN, swish) → project 1×1 (BN); with t = 1 a single
                  k×k convolution to c_out (stride s, BN, swish)
    MBConv:       expand 1×1 (BN, swish) → depthwise k×k (stride s, BN, swish) → SE → project 1×1 (BN)

and, when stride 1 and c_out = c_in, stochastic depth (Dropout(rate, noise_shape=(None, 1, 1, 1)), the rate
0.2·b/n for block b of n; none in the first block) and + input. BatchNormalization momentum 0.9.

With ``include_preprocessing`` the model takes pixels in [0, 255]: the B variants (3 channels) rescale by 1/255
and normalize with ImageNet's mean and standard deviation, S/M/L (and other channel counts) rescale to
[−1, 1) by x/128 − 1.
"""
from __future__ import annotations

import math

from .. import initializers, layers
from ..backend import get_uid
from ..config import image_data_format
from ..models import Model
from . import _common
from .efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER, _classifier_or_pooling, squeeze_excite

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
# (with the classifier, without it): the md5 of Keras's published files
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(rows):
    """Stage dicts from rows (conv_type 1 = fused, kernel, repeats, in, out, expand ratio, se ratio, stride)."""
    keys = ("conv_type", "kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio",
            "se_ratio", "strides")
    return [dict(zip(keys, row)) for row in rows]


_B_STAGES = [
    (1, 3, 1, 32, 16, 1, 0, 1),
    (1, 3, 2, 16, 32, 4, 0, 2),
    (1, 3, 2, 32, 48, 4, 0, 2),
    (0, 3, 3, 48, 96, 4, 0.25, 2),
    (0, 3, 5, 96, 112, 6, 0.25, 1),
    (0, 3, 8, 112, 192, 6, 0.25, 2),
]
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages([
        (1, 3, 2, 24, 24, 1, 0, 1),
        (1, 3, 4, 24, 48, 4, 0, 2),
        (1, 3, 4, 48, 64, 4, 0, 2),
        (0, 3, 6, 64, 128, 4, 0.25, 2),
        (0, 3, 9, 128, 160, 6, 0.25, 1),
        (0, 3, 15, 160, 256, 6, 0.25, 2),
    ]),
    "efficientnetv2-m": _stages([
        (1, 3, 3, 24, 24, 1, 0, 1),
        (1, 3, 5, 24, 48, 4, 0, 2),
        (1, 3, 5, 48, 80, 4, 0, 2),
        (0, 3, 7, 80, 160, 4, 0.25, 2),
        (0, 3, 14, 160, 176, 6, 0.25, 1),
        (0, 3, 18, 176, 304, 6, 0.25, 2),
        (0, 3, 5, 304, 512, 6, 0.25, 1),
    ]),
    "efficientnetv2-l": _stages([
        (1, 3, 4, 32, 32, 1, 0, 1),
        (1, 3, 7, 32, 64, 4, 0, 2),
        (1, 3, 7, 64, 96, 4, 0, 2),
        (0, 3, 10, 96, 192, 4, 0.25, 2),
        (0, 3, 19, 192, 224, 6, 0.25, 1),
        (0, 3, 25, 224, 384, 6, 0.25, 2),
        (0, 3, 7, 384, 640, 6, 0.25, 1),
    ]),
    **{f"efficientnetv2-b{i}": _stages(_B_STAGES) for i in range(4)},
}


def round_filters(filters: float, width_coefficient: float, min_depth: int, depth_divisor: int) -> int:
    """filters·w rounded to the nearest multiple of ``depth_divisor``, at least ``min_depth``."""
    scaled = filters * width_coefficient
    return int(max(min_depth or depth_divisor, int(scaled + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """⌈repeats·d⌉."""
    return int(math.ceil(depth_coefficient * repeats))


def _bn(x, momentum, name):
    return layers.BatchNormalization(axis=_common.channel_axis(), momentum=momentum, name=name)(x)


def _conv(x, filters, kernel_size, strides, name, **kwargs):
    return layers.Conv2D(filters, kernel_size=kernel_size, strides=strides, kernel_initializer=CONV_KERNEL_INITIALIZER,
                         padding="same", use_bias=False, name=name, **kwargs)(x)


def _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name):
    """Stochastic depth then + input, where the block keeps the shape (Keras names the drop rate
    ``survival_probability``; a rate of 0 adds no Dropout)."""
    if strides == 1 and input_filters == output_filters:
        if survival_probability:
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def _default_block_name(name):
    """Keras's default block prefix: a number from the "block0" counter (so "1expand_conv", ...)."""
    return get_uid("block0") if name is None else name


def MBConvBlock(input_filters: int, output_filters: int, expand_ratio: int = 1, kernel_size: int = 3,  # noqa: N802
                strides: int = 1, se_ratio: float = 0.0, bn_momentum: float = 0.9, activation="swish",
                survival_probability: float = 0.8, name: str | None = None):
    """The MBConv block as a function of its input (the module docstring)."""
    name = _default_block_name(name)

    def apply(inputs):
        fmt = image_data_format()
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv(x, filters, 1, 1, f"{name}expand_conv", data_format=fmt)
            x = layers.Activation(activation, name=f"{name}expand_activation")(_bn(x, bn_momentum, f"{name}expand_bn"))
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same", data_format=fmt,
                                   use_bias=False, name=f"{name}dwconv2")(x)
        x = layers.Activation(activation, name=f"{name}activation")(_bn(x, bn_momentum, f"{name}bn"))
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name)
        x = _bn(_conv(x, output_filters, 1, 1, f"{name}project_conv", data_format=fmt), bn_momentum,
                f"{name}project_bn")
        return _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def FusedMBConvBlock(input_filters: int, output_filters: int, expand_ratio: int = 1, kernel_size: int = 3,  # noqa: N802
                     strides: int = 1, se_ratio: float = 0.0, bn_momentum: float = 0.9, activation="swish",
                     survival_probability: float = 0.8, name: str | None = None):
    """The Fused-MBConv block as a function of its input (the module docstring)."""
    name = _default_block_name(name)

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv(x, filters, kernel_size, strides, f"{name}expand_conv", data_format=image_data_format())
            x = layers.Activation(activation, name=f"{name}expand_activation")(_bn(x, bn_momentum, f"{name}expand_bn"))
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name)
        fused = expand_ratio == 1  # then the projection is the block's only (k×k, strided) convolution
        x = _conv(x, output_filters, kernel_size if fused else 1, strides if fused else 1, f"{name}project_conv")
        x = _bn(x, bn_momentum, f"{name}project_bn")
        if fused:
            x = layers.Activation(activation, name=f"{name}project_activation")(x)
        return _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def EfficientNetV2(width_coefficient: float, depth_coefficient: float, default_size: int,  # noqa: N802
                   dropout_rate: float = 0.2, drop_connect_rate: float = 0.2, depth_divisor: int = 8,
                   min_depth: int = 8, bn_momentum: float = 0.9, activation="swish", blocks_args="default",
                   name: str = "efficientnetv2", include_top: bool = True, weights="imagenet", input_tensor=None,
                   input_shape=None, pooling=None, classes: int = 1000, classifier_activation="softmax",
                   include_preprocessing: bool = True, weights_name: str | None = None) -> Model:
    """An EfficientNetV2 (the module docstring); ``blocks_args="default"`` takes the stages named by ``name``."""
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS[name]
    if not _common.weights_is_valid(weights):
        raise ValueError(f"The `weights` argument should be either `None` (random initialization), `imagenet` "
                         f"(pre-training on ImageNet), or the path to the weights file to be loaded."
                         f"Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights="imagenet"` with `include_top` as true, `classes` should be 1000')
    input_shape = _common.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                             data_format=image_data_format(), require_flatten=include_top,
                                             weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    bn_axis = _common.channel_axis()

    def filters_of(n):
        return round_filters(n, width_coefficient, min_depth, depth_divisor)

    x = img_input
    if include_preprocessing:
        if name.split("-")[-1].startswith("b") and input_shape[bn_axis - 1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)  # then (x − μ)/σ with ImageNet's statistics
            x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2],
                                     axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    x = _conv(x, filters_of(blocks_args[0]["input_filters"]), 3, 2, "stem_conv")
    x = layers.Activation(activation, name="stem_activation")(_bn(x, bn_momentum, "stem_bn"))

    total = float(sum(stage["num_repeat"] for stage in blocks_args))
    b = 0
    for i, stage in enumerate(blocks_args):
        if stage["num_repeat"] <= 0:
            raise ValueError(f"The number of repeats in `EfficientNetV2` must be > 0. Received: "
                             f"num_repeat={stage['num_repeat']}")
        args = {k: v for k, v in stage.items() if k not in ("conv_type", "num_repeat")}
        args["input_filters"] = filters_of(args["input_filters"])
        args["output_filters"] = filters_of(args["output_filters"])
        make_block = FusedMBConvBlock if stage["conv_type"] == 1 else MBConvBlock
        for j in range(round_repeats(stage["num_repeat"], depth_coefficient)):
            if j > 0:  # only a stage's first block changes the stride and the width
                args["strides"], args["input_filters"] = 1, args["output_filters"]
            x = make_block(activation=activation, bn_momentum=bn_momentum,
                           survival_probability=drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_",
                           **args)(x)
            b += 1

    x = _conv(x, filters_of(1280), 1, 1, "top_conv", data_format=image_data_format())
    x = layers.Activation(activation=activation, name="top_activation")(_bn(x, bn_momentum, "top_bn"))
    x = _classifier_or_pooling(x, include_top, pooling, dropout_rate, classes, classifier_activation, weights,
                               DENSE_KERNEL_INITIALIZER, initializers.Constant(0.0))
    model = Model(_common.model_inputs(input_tensor, img_input), x, name=name)

    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        model.load_weights(_common.fetch_weights(name, file_name, BASE_WEIGHTS_PATH + file_name, file_hash))
    elif weights is not None:
        model.load_weights(weights)
    return model


def _variant(title: str, width: float, depth: float, size: int, key: str, doc: str):
    model_name = f"efficientnetv2-{key.lstrip('-')}"

    def constructor(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes: int = 1000, classifier_activation="softmax",
                    include_preprocessing: bool = True, name: str = model_name) -> Model:
        return EfficientNetV2(width_coefficient=width, depth_coefficient=depth, default_size=size, name=name,
                              include_top=include_top, weights=weights, input_tensor=input_tensor,
                              input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=key)

    constructor.__name__ = constructor.__qualname__ = f"EfficientNetV2{title}"
    constructor.__doc__ = (
        f"EfficientNetV2-{title}: {doc}, {size}×{size} images by default.\n\n"
        f"Arguments as ``keras.applications.EfficientNetV2{title}``: ``weights`` None, \"imagenet\" or a weights "
        f"file; ``input_shape`` only without the classifier (else ({size}, {size}, 3) with ImageNet weights); "
        f"``pooling`` None/\"avg\"/\"max\" without the classifier; ``include_preprocessing`` (default True) makes "
        f"the model take pixels in [0, 255]."
    )
    return constructor


EfficientNetV2B0 = _variant("B0", 1.0, 1.0, 224, "b0", "7.2 M parameters")
EfficientNetV2B1 = _variant("B1", 1.0, 1.1, 240, "b1", "8.2 M parameters")
EfficientNetV2B2 = _variant("B2", 1.1, 1.2, 260, "b2", "10.2 M parameters")
EfficientNetV2B3 = _variant("B3", 1.2, 1.4, 300, "b3", "14.5 M parameters")
EfficientNetV2S = _variant("S", 1.0, 1.0, 384, "-s", "21.6 M parameters")
EfficientNetV2M = _variant("M", 1.0, 1.0, 480, "-m", "54.4 M parameters")
EfficientNetV2L = _variant("L", 1.0, 1.0, 480, "-l", "119 M parameters")


def preprocess_input(x, data_format=None):
    """The identity: EfficientNetV2 rescales its inputs itself (``include_preprocessing=True``)."""
    return x


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: [(class_id, name, score), ...]."""
    from . import imagenet_utils  # noqa: PLC0415 - shared module of the other application families

    return imagenet_utils.decode_predictions(preds, top=top)

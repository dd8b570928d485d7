"""MobileNetV3 (Howard et al. 2019, "Searching for MobileNetV3"), laid out as ``keras.applications``.

A stem convolution (16 filters, stride 2), a stack of inverted residual blocks, a 1×1 convolution to
6× the last block's width, then (``include_top``) global pooling, a 1×1 convolution to 1024 (small) or
1280 (large) channels, dropout and a 1×1 convolution to the classes. Each block:

    expand (1×1, BN, act; not in the first block) → depthwise k×k (stride s, BN, act)
    → squeeze-and-excite (optional) → project (1×1, BN) → + input when the shape is kept

with act ReLU or hard-swish h(x) = x·relu6(x + 3)/6, and squeeze-and-excite
    SE(x) = x · hard_sigmoid(W₂ relu(W₁ mean_hw(x))),   hard_sigmoid(z) = relu6(z + 3)/6.
``minimalistic=True`` drops SE, hard-swish and the 5×5 kernels. ``alpha`` scales every width, rounded to a
multiple of 8 (never more than 10% below). With ``include_preprocessing`` the model starts with
Rescaling(1/127.5, −1): it takes pixels in [0, 255]; without it, inputs in [−1, 1].
"""
from __future__ import annotations

import warnings

from .. import layers, ops
from ..config import image_data_format
from ..models import Model
from . import _common

BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
# (with the classifier, without it): the md5 of Keras's published files
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}

# the blocks: (expansion, output width before alpha, kernel ("k": 5, or 3 when minimalistic), stride,
# squeeze-and-excite, activation ("relu", or "act": hard-swish, ReLU when minimalistic))
SMALL_BLOCKS = [
    (1, 16, 3, 2, True, "relu"),
    (72 / 16, 24, 3, 2, False, "relu"),
    (88 / 24, 24, 3, 1, False, "relu"),
    (4, 40, "k", 2, True, "act"),
    (6, 40, "k", 1, True, "act"),
    (6, 40, "k", 1, True, "act"),
    (3, 48, "k", 1, True, "act"),
    (3, 48, "k", 1, True, "act"),
    (6, 96, "k", 2, True, "act"),
    (6, 96, "k", 1, True, "act"),
    (6, 96, "k", 1, True, "act"),
]
LARGE_BLOCKS = [
    (1, 16, 3, 1, False, "relu"),
    (4, 24, 3, 2, False, "relu"),
    (3, 24, 3, 1, False, "relu"),
    (3, 40, "k", 2, True, "relu"),
    (3, 40, "k", 1, True, "relu"),
    (3, 40, "k", 1, True, "relu"),
    (6, 80, 3, 2, False, "act"),
    (2.5, 80, 3, 1, False, "act"),
    (2.3, 80, 3, 1, False, "act"),
    (2.3, 80, 3, 1, False, "act"),
    (6, 112, 3, 1, True, "act"),
    (6, 112, 3, 1, True, "act"),
    (6, 160, "k", 2, True, "act"),
    (6, 160, "k", 1, True, "act"),
    (6, 160, "k", 1, True, "act"),
]


def _depth(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """v rounded to the nearest multiple of ``divisor`` (at least ``min_value``), bumped up one multiple
    when rounding lost more than 10%."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def _relu(x, name=None):
    return layers.ReLU(name=name)(x)


def _hard_swish(x, name=None):
    return layers.Activation("hard_swish", name=name)(x)


def _hard_sigmoid(x):
    """relu6(x + 3)/6, written with ops as Keras writes it (two op nodes around a ReLU layer)."""
    return ops.multiply(layers.ReLU(6.0)(ops.add(x, 3.0)), 1.0 / 6.0)


def _batch_norm(x, name):
    axis = -1 if image_data_format() == "channels_last" else 1
    return layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name=name)(x)


def _squeeze_excite(inputs, filters: int, se_ratio: float, prefix: str):
    """x · hard_sigmoid(W₂ relu(W₁ mean_hw(x) + b₁) + b₂), W₁ to _depth(filters·se_ratio) channels."""
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation, block_id):
    """expand → depthwise → (SE) → project, + x when the stride is 1 and the width unchanged."""
    axis = _common.channel_axis()
    shortcut = x
    in_filters = x.shape[axis]
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(in_filters * expansion), kernel_size=1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = activation(_batch_norm(x, f"{prefix}expand_bn"))
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_common.correct_pad(x, kernel_size), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = activation(_batch_norm(x, f"{prefix}depthwise_bn"))
    if se_ratio:
        x = _squeeze_excite(x, _depth(in_filters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(x, f"{prefix}project_bn")
    if stride == 1 and in_filters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _check_input(input_shape, input_tensor):
    """Keras's MobileNetV3 rules for ``input_shape`` and ``input_tensor`` (its quirks kept: with a tensor
    alone the inferred shape is (cols, rows, 3), and a given shape's second entry is checked against the
    tensor's width)."""
    last = image_data_format() == "channels_last"
    if input_shape is not None and input_tensor is not None:
        if not isinstance(input_tensor, _common.KerasTensor):
            raise ValueError("input_tensor specified: ", input_tensor, "is not a keras tensor")
        axis = 2 if last else 1
        if input_tensor.shape[axis] != input_shape[1]:
            prefix = "" if last else "When backend.image_data_format()=channels_first, "
            raise ValueError(f"{prefix}input_shape[1] must equal input_tensor.shape[{axis}].  Received "
                             f"input_shape={input_shape}, input_tensor.shape={input_tensor.shape}")
    if input_shape is None and isinstance(input_tensor, _common.KerasTensor):
        rows, cols = input_tensor.shape[1:3] if last else input_tensor.shape[2:4]
        input_shape = (cols, rows, 3) if last else (3, cols, rows)
    if input_shape is None:
        input_shape = (None, None, 3) if last else (3, None, None)
    rows, cols = input_shape[0:2] if last else input_shape[1:3]
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"Input size must be at least 32x32; Received `input_shape={input_shape}`")
    return input_shape, rows, cols


def MobileNetV3(blocks, last_point_ch: int, input_shape=None, alpha: float = 1.0, model_type: str = "large",  # noqa: N802
                minimalistic: bool = False, include_top: bool = True, weights="imagenet", input_tensor=None,
                classes: int = 1000, pooling=None, dropout_rate: float = 0.2, classifier_activation="softmax",
                include_preprocessing: bool = True, name=None) -> Model:
    """A MobileNetV3 of the given block table (``SMALL_BLOCKS``/``LARGE_BLOCKS``); see the module docstring."""
    if not _common.weights_is_valid(weights):
        raise ValueError(f"The `weights` argument should be either `None` (random initialization), `imagenet` "
                         f"(pre-training on ImageNet), or the path to the weights file to be loaded.  "
                         f"Received weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f'If using `weights="imagenet"` with `include_top` as true, `classes` should be 1000.  '
                         f"Received classes={classes}")
    input_shape, rows, cols = _check_input(input_shape, input_tensor)
    if weights == "imagenet":
        if (not minimalistic and alpha not in [0.75, 1.0]) or (minimalistic and alpha != 1.0):
            raise ValueError("If imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for non "
                             "minimalistic or `1.0` for minimalistic only.")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. Weights for input "
                          "shape (224, 224) will be loaded as the default.", stacklevel=3)
    img_input = _common.image_input(input_tensor, input_shape)
    axis = _common.channel_axis()
    if minimalistic:
        kernel, activation, se_ratio = 3, _relu, None
    else:
        kernel, activation, se_ratio = 5, _hard_swish, 0.25

    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)  # [0, 255] → [-1, 1]
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = activation(_batch_norm(x, "conv_bn"))
    for block_id, (expansion, width, k, stride, se, act) in enumerate(blocks):
        x = _inverted_res_block(x, expansion, _depth(width * alpha), kernel if k == "k" else k, stride,
                                se_ratio if se else None, activation if act == "act" else _relu, block_id)
    last_conv_ch = _depth(x.shape[axis] * 6)
    if alpha > 1.0:  # a wider network also widens the penultimate layer
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False, name="conv_1")(x)
    x = activation(_batch_norm(x, "conv_1_bn"))
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        _common.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(_common.model_inputs(input_tensor, img_input), x, name=name)

    if weights == "imagenet":
        variant = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        file_name = f"weights_mobilenet_v3_{variant}.h5" if include_top else \
            f"weights_mobilenet_v3_{variant}_no_top_v2.h5"
        file_hash = WEIGHTS_HASHES[variant][0 if include_top else 1]
        model.load_weights(_common.fetch_weights(name, file_name, BASE_WEIGHT_PATH + file_name, file_hash))
    elif weights is not None:
        model.load_weights(weights)
    return model


def MobileNetV3Small(input_shape=None, alpha: float = 1.0, minimalistic: bool = False,  # noqa: N802
                     include_top: bool = True, weights="imagenet", input_tensor=None, classes: int = 1000,
                     pooling=None, dropout_rate: float = 0.2, classifier_activation="softmax",
                     include_preprocessing: bool = True, name: str = "MobileNetV3Small") -> Model:
    """MobileNetV3-Small (11 blocks, 1024-wide head): 2.55 M parameters at alpha 1 with 1000 classes.

    Arguments as ``keras.applications.MobileNetV3Small``: ``weights`` None, "imagenet" (alpha 0.75 or 1,
    or 1 when minimalistic) or a weights file; ``pooling`` None/"avg"/"max" without the classifier;
    ``include_preprocessing`` puts Rescaling(1/127.5, −1) first (inputs in [0, 255]).
    """
    return MobileNetV3(SMALL_BLOCKS, 1024, input_shape, alpha, "small", minimalistic, include_top, weights,
                       input_tensor, classes, pooling, dropout_rate, classifier_activation, include_preprocessing,
                       name=name)


def MobileNetV3Large(input_shape=None, alpha: float = 1.0, minimalistic: bool = False,  # noqa: N802
                     include_top: bool = True, weights="imagenet", input_tensor=None, classes: int = 1000,
                     pooling=None, dropout_rate: float = 0.2, classifier_activation="softmax",
                     include_preprocessing: bool = True, name: str = "MobileNetV3Large") -> Model:
    """MobileNetV3-Large (15 blocks, 1280-wide head): 5.51 M parameters at alpha 1 with 1000 classes.

    Arguments as :func:`MobileNetV3Small`.
    """
    return MobileNetV3(LARGE_BLOCKS, 1280, input_shape, alpha, "large", minimalistic, include_top, weights,
                       input_tensor, classes, pooling, dropout_rate, classifier_activation, include_preprocessing,
                       name=name)


def preprocess_input(x, data_format=None):
    """The identity: MobileNetV3 rescales its inputs itself (``include_preprocessing=True``)."""
    return x


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: [(class_id, name, score), ...]."""
    from . import imagenet_utils  # noqa: PLC0415 - shared module of the other application families

    return imagenet_utils.decode_predictions(preds, top=top)

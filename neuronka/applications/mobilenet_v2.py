"""``keras.applications.mobilenet_v2``: Keras's MobileNetV2 (Sandler et al. 2018, "Inverted Residuals and
Linear Bottlenecks"), layer for layer.

A 3×3/2 convolution ``Conv1`` then seventeen inverted residual blocks (:func:`_inverted_res_block`):
1×1 expansion (×6, except block 0) → BN → ReLU6 → 3×3 depthwise (stride 1 or 2) → BN → ReLU6 → 1×1
linear projection → BN, plus the input where the shape is unchanged; ``Conv_1`` (1280, or 1280·α when
α > 1), BN, ReLU6; the top is global average pooling and the classifier (3,538,984 parameters at α = 1).
BN: ε = 1e-3, momentum 0.999. Filter counts are rounded to multiples of 8 (:func:`_make_divisible`).
ImageNet weights exist for α ∈ {0.35, 0.5, 0.75, 1, 1.3, 1.4} and square inputs of 96, 128, 160, 192 or
224. Inputs preprocessed in ``tf`` mode.
"""
from __future__ import annotations

import warnings

from .. import layers
from ..backend import is_keras_tensor
from ..config import image_data_format
from ..models import Model
from . import imagenet_utils
from ._common import (
    KERAS_APPLICATIONS_URL,
    channel_axis,
    check_weights,
    fetch_weights,
    image_input,
    load_weights,
    model_inputs,
    pooling_head,
)

BASE_WEIGHT_PATH = KERAS_APPLICATIONS_URL + "mobilenet_v2/"
SIZES = [96, 128, 160, 192, 224]
# (filters, stride, expansion) of blocks 0 … 16
BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
          (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
          (320, 1, 6)]


def _default_size(input_shape, input_tensor, channels_last: bool) -> int:
    """The size whose weights would load: the input's side when square and in :data:`SIZES`, else 224.
    Checks, as Keras, that ``input_tensor`` is symbolic and agrees with ``input_shape`` in width."""
    if input_shape is not None and input_tensor is not None:
        if not is_keras_tensor(input_tensor):
            raise ValueError(f"input_tensor is not a Keras tensor; Received `input_tensor={input_tensor}`")
        if channels_last and input_tensor.shape[2] != input_shape[1]:
            raise ValueError("input_tensor.shape[2] must equal input_shape[1]; Received "
                             f"`input_tensor.shape={input_tensor.shape}`, `input_shape={input_shape}`")
        if not channels_last and input_tensor.shape[1] != input_shape[1]:
            raise ValueError("input_shape[1] must equal shape(input_tensor)[1] when `image_data_format` is "
                             f"`channels_first`; Received `input_tensor.shape={input_tensor.shape}`, "
                             f"`input_shape={input_shape}`")
    if input_shape is None and input_tensor is not None:
        if not is_keras_tensor(input_tensor):
            return 224
        rows, cols = input_tensor.shape[1:3] if channels_last else input_tensor.shape[2:4]
    elif input_shape is None:
        return 224
    else:
        rows, cols = input_shape[0:2] if channels_last else input_shape[1:3]
    return rows if rows == cols and rows in SIZES else 224


def MobileNetV2(input_shape=None, alpha: float = 1.0, include_top: bool = True, weights="imagenet",  # noqa: N802
                input_tensor=None, pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str | None = None) -> Model:
    """Keras's MobileNetV2.

    ``alpha``: width multiplier (filters rounded to multiples of 8); ``input_shape`` (H, W >= 32; a square
    96 / 128 / 160 / 192 / 224 picks that default size); ``include_top``, ``weights`` (None, ``"imagenet"``
    or a path), ``input_tensor``, ``pooling``, ``classes``, ``classifier_activation`` as the other
    applications; ``name`` defaults to ``mobilenetv2_{alpha:.2f}_{rows}``.
    """
    check_weights(weights, "The `weights` argument should be either `None` (random initialization), `imagenet` "
                           "(pre-training on ImageNet), or the path to the weights file to be loaded.  "
                           f"Received `weights={weights}`")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights="imagenet"` with `include_top` as true, `classes` should be 1000. '
                         f"Received `classes={classes}`")
    channels_last = image_data_format() == "channels_last"
    default_size = _default_size(input_shape, input_tensor, channels_last)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=image_data_format(), require_flatten=include_top,
                                                    weights=weights)
    rows, cols = (input_shape[0], input_shape[1]) if channels_last else (input_shape[1], input_shape[2])
    if weights == "imagenet":
        if alpha not in [0.35, 0.50, 0.75, 1.0, 1.3, 1.4]:
            raise ValueError("If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, "
                             f"`1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`")
        if rows != cols or rows not in SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in [96, 128, 160, 192, 224]. "
                          "Weights for input shape (224, 224) will be loaded as the default.", stacklevel=2)
    img_input = image_input(input_tensor, input_shape)
    axis = channel_axis(-1)
    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride, expansion=expansion,
                                block_id=block_id)
    last_block_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_block_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = pooling_head(x, pooling)
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    model = Model(model_inputs(input_tensor, img_input), x, name=name)

    def imagenet_path():
        suffix = ".h5" if include_top else "_no_top.h5"
        fname = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{suffix}"
        return fetch_weights(name, fname, BASE_WEIGHT_PATH + fname)

    load_weights(model, weights, imagenet_path)
    return model


def _inverted_res_block(inputs, expansion: int, stride: int, alpha: float, filters: int, block_id: int):
    """[1×1 expand (×expansion) → BN → ReLU6 →] [pad →] 3×3 depthwise/stride → BN → ReLU6 → 1×1 project →
    BN, + inputs when stride 1 and the channels are unchanged. Layers ``block_{id}_…`` (``expanded_conv_…``
    for block 0, which has no expansion)."""
    axis = channel_axis(-1)
    in_channels = inputs.shape[axis]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name=f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """v rounded to the nearest multiple of ``divisor`` (at least ``min_value``), never more than 10 % below v."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def preprocess_input(x, data_format: str | None = None):
    """``tf`` mode: y = x / 127.5 − 1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

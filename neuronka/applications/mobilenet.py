"""``keras.applications.mobilenet``: Keras's MobileNet (Howard et al. 2017), layer for layer.

A 3×3/2 convolution (32·α filters) then thirteen depthwise-separable blocks (:func:`_depthwise_conv_block`):
3×3 depthwise convolution (channel multiplier ``depth_multiplier``) → BN → ReLU6 → 1×1 convolution
(filters·α) → BN → ReLU6, where ReLU6(x) = min(max(x, 0), 6); stride-2 blocks pad bottom/right by one
and convolve "valid". The top: global average pooling (kept 1×1 spatially), dropout, a 1×1 convolution to
``classes``, reshape, the activation (4,253,864 parameters at α = 1). ImageNet weights exist for
α ∈ {0.25, 0.5, 0.75, 1} and square inputs of 128, 160, 192 or 224. Inputs preprocessed in ``tf`` mode.
"""
from __future__ import annotations

import warnings

from .. import layers
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

BASE_WEIGHT_PATH = KERAS_APPLICATIONS_URL + "mobilenet/"
ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0"}  # anything else: "2_5" (α = 0.25)


def MobileNet(input_shape=None, alpha: float = 1.0, depth_multiplier: int = 1, dropout: float = 1e-3,  # noqa: N802
              include_top: bool = True, weights="imagenet", input_tensor=None, pooling=None, classes: int = 1000,
              classifier_activation="softmax", name: str | None = None) -> Model:
    """Keras's MobileNet.

    ``alpha``: width multiplier of every layer's filters; ``depth_multiplier``: depthwise channel multiplier
    (resolution multiplier in the paper's terms); ``dropout``: rate before the classifier; ``input_shape``
    (H, W >= 32; a square 128 / 160 / 192 / 224 picks that default size); ``include_top``, ``weights``
    (None, ``"imagenet"`` or a path), ``input_tensor``, ``pooling``, ``classes``, ``classifier_activation``
    as the other applications; ``name`` defaults to ``mobilenet_{alpha:.2f}_{rows}``.
    """
    check_weights(weights, "The `weights` argument should be either `None` (random initialization), 'imagenet' "
                           "(pre-training on ImageNet), or the path to the weights file to be loaded. "
                           f"Received weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                         f"Received classes={classes}")
    channels_last = image_data_format() == "channels_last"
    default_size = 224
    if input_shape is not None:
        rows, cols = (input_shape[0], input_shape[1]) if channels_last else (input_shape[1], input_shape[2])
        if rows == cols and rows in [128, 160, 192, 224]:
            default_size = rows
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=image_data_format(), require_flatten=include_top,
                                                    weights=weights)
    rows, cols = (input_shape[0], input_shape[1]) if channels_last else (input_shape[1], input_shape[2])
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError("If imagenet weights are being loaded, depth multiplier must be 1.  "
                             f"Received depth_multiplier={depth_multiplier}")
        if alpha not in [0.25, 0.50, 0.75, 1.0]:
            raise ValueError("If imagenet weights are being loaded, alpha can be one of`0.25`, `0.50`, `0.75` or "
                             f"`1.0` only.  Received alpha={alpha}")
        if rows != cols or rows not in [128, 160, 192, 224]:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in [128, 160, 192, 224]. "
                          "Weights for input shape (224, 224) will be loaded as the default.", stacklevel=2)
    img_input = image_input(input_tensor, input_shape)
    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    for block_id, (filters, strides) in enumerate(
            [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
             (512, 1), (1024, 2), (1024, 1)], start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=(strides, strides), block_id=block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = pooling_head(x, pooling)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = Model(model_inputs(input_tensor, img_input), x, name=name)

    def imagenet_path():
        fname = f"mobilenet_{ALPHA_TEXT.get(alpha, '2_5')}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        return fetch_weights(name, fname, BASE_WEIGHT_PATH + fname)

    load_weights(model, weights, imagenet_path)
    return model


def _conv_block(inputs, filters: int, alpha: float, kernel=(3, 3), strides=(1, 1)):
    """conv1 (⌊filters·α⌋ filters, no bias) → conv1_bn → conv1_relu (ReLU6)."""
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False, strides=strides,
                      name="conv1")(inputs)
    x = layers.BatchNormalization(axis=channel_axis(-1), name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters: int, alpha: float, depth_multiplier: int = 1,
                          strides=(1, 1), block_id: int = 1):
    """[pad (0, 1) →] 3×3 depthwise (stride) → BN → ReLU6 → 1×1 conv (⌊filters·α⌋) → BN → ReLU6."""
    axis = channel_axis(-1)
    x = inputs
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(inputs)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_conv_filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x, data_format: str | None = None):
    """``tf`` mode: y = x / 127.5 − 1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

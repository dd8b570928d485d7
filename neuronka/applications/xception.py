"""``keras.applications.xception``: Keras's Xception (Chollet 2017), layer for layer.

Depthwise-separable convolutions (a 3×3 per-channel convolution, then a 1×1 across channels) with
BatchNormalization, in residual modules:
- entry flow: 3×3/2 (32) and 3×3 (64) convolutions, then three modules (128, 256, 728 filters) of
  [ReLU →] SepConv → BN → ReLU → SepConv → BN → 3×3/2 max pooling, added to a 1×1/2 convolution + BN of
  the module's input;
- middle flow: eight modules x + (ReLU → SepConv(728) → BN) × 3;
- exit flow: a module with 728 → 1024 filters and its 1×1/2 shortcut, then SepConv 1536 and 2048 with BN and
  ReLU; the top is global average pooling and the classifier (22,910,480 parameters).
Inputs of at least 71×71 (299×299 with the top and ImageNet weights), preprocessed in ``tf`` mode.
"""
from __future__ import annotations

from .. import layers
from ..config import image_data_format
from ..models import Model
from . import imagenet_utils
from ._common import (
    average_pool_classifier,
    channel_axis,
    check_weights,
    image_input,
    model_with_keras_weights,
)

WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")  # md5: top, no top


def _sepconv_bn(x, filters: int, name: str, axis: int):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=axis, name=f"{name}_bn")(x)


def _projection(x, filters: int, axis: int):
    """The shortcut of a downsampling module: 1×1/2 convolution + BN (Keras leaves both unnamed)."""
    residual = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=axis)(residual)


def _downsampling_module(x, block: int, filters: tuple[int, int], axis: int, first_relu: bool = True):
    """[ReLU →] SepConv → BN → ReLU → SepConv → BN → 3×3/2 max pool, plus the 1×1/2 projection of x."""
    residual = _projection(x, filters[1], axis)
    if first_relu:
        x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
    x = _sepconv_bn(x, filters[0], f"block{block}_sepconv1", axis)
    x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
    x = _sepconv_bn(x, filters[1], f"block{block}_sepconv2", axis)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
             pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "xception") -> Model:
    """Keras's Xception.

    ``include_top``: global average pooling and the ``classes``-way classifier; ``weights``: None,
    ``"imagenet"`` or a weights file's path; ``input_tensor`` / ``input_shape`` (H, W >= 71; (299, 299, 3)
    with the top and ImageNet weights); ``pooling``: None / ``"avg"`` / ``"max"`` without the top.
    """
    check_weights(weights, "The `weights` argument should be either `None` (random initialization), 'imagenet' "
                           "(pre-training on ImageNet), or the path to the weights file to be loaded.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                         f"Received classes={classes}")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=71,
                                                    data_format=image_data_format(), require_flatten=include_top,
                                                    weights=weights)
    img_input = image_input(input_tensor, input_shape)
    axis = channel_axis(-1)
    # entry flow
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_module(x, 2, (128, 128), axis, first_relu=False)
    x = _downsampling_module(x, 3, (256, 256), axis)
    x = _downsampling_module(x, 4, (728, 728), axis)
    # middle flow: x + (ReLU → SepConv → BN) × 3, eight times
    for block in range(5, 13):
        residual = x
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
            x = _sepconv_bn(x, 728, f"block{block}_sepconv{i}", axis)
        x = layers.add([x, residual])
    # exit flow
    x = _downsampling_module(x, 13, (728, 1024), axis)
    x = _sepconv_bn(x, 1536, "block14_sepconv1", axis)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sepconv_bn(x, 2048, "block14_sepconv2", axis)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    x = average_pool_classifier(x, include_top, pooling, classes, classifier_activation, weights)
    return model_with_keras_weights(x, input_tensor, img_input, name, weights, include_top, "xception",
                                    WEIGHTS_HASHES)


def preprocess_input(x, data_format: str | None = None):
    """``tf`` mode: y = x / 127.5 − 1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

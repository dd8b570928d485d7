"""``keras.applications.inception_v3``: Keras's InceptionV3 (Szegedy et al. 2015, "Rethinking the Inception
Architecture"), layer for layer.

Every convolution is :func:`conv2d_bn`: a bias-free convolution, BatchNormalization without γ
(``scale=False``: y = (x − μ)/σ + β) and ReLU. The stem (3×3/2, 3×3, 3×3, max pool, 1×1, 3×3, max pool)
is followed by the mixed modules, each concatenating parallel branches along the channels:
``mixed0``–``mixed2`` (35×35: 1×1, 5×5, double 3×3, pooled 1×1), ``mixed3`` (grid reduction),
``mixed4``–``mixed7`` (17×17 with factorized 1×7 / 7×1 convolutions), ``mixed8`` (reduction),
``mixed9``–``mixed10`` (8×8 with split 1×3 / 3×1 branches). Top: global average pooling and the classifier
(23,851,784 parameters). Inputs of at least 75×75 (299×299 with the top and ImageNet weights), preprocessed
in ``tf`` mode.
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

WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")  # md5: top, no top


def conv2d_bn(x, filters: int, num_row: int, num_col: int, padding: str = "same", strides=(1, 1),
              name: str | None = None):
    """relu(BN(conv(x))): a (num_row × num_col) bias-free convolution, BatchNormalization with β only, ReLU.
    With ``name``: layers ``{name}_conv``, ``{name}_bn`` and ``{name}`` (else Keras's automatic names)."""
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=channel_axis(3), scale=False, name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _avg_pool_branch(x, filters: int):
    branch = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(branch, filters, 1, 1)


def _module_35(x, pool_filters: int, name: str, axis: int):
    """35×35 module: 1×1 (64) | 1×1 (48) → 5×5 (64) | 1×1 (64) → 3×3 (96) → 3×3 (96) | avg pool → 1×1."""
    branch1x1 = conv2d_bn(x, 64, 1, 1)
    branch5x5 = conv2d_bn(x, 48, 1, 1)
    branch5x5 = conv2d_bn(branch5x5, 64, 5, 5)
    branch3x3dbl = conv2d_bn(x, 64, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch_pool = _avg_pool_branch(x, pool_filters)
    return layers.concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=axis, name=name)


def _module_17(x, width: int, name: str, axis: int):
    """17×17 module with factorized 7×7 convolutions of ``width`` inner filters (192 out per branch)."""
    branch1x1 = conv2d_bn(x, 192, 1, 1)
    branch7x7 = conv2d_bn(x, width, 1, 1)
    branch7x7 = conv2d_bn(branch7x7, width, 1, 7)
    branch7x7 = conv2d_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = conv2d_bn(x, width, 1, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, width, 7, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, width, 1, 7)
    branch7x7dbl = conv2d_bn(branch7x7dbl, width, 7, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, 192, 1, 7)
    branch_pool = _avg_pool_branch(x, 192)
    return layers.concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=axis, name=name)


def _module_8(x, index: int, axis: int):
    """8×8 module: 1×1 (320) | 1×1 (384) → [1×3 | 3×1] | 1×1 (448) → 3×3 → [1×3 | 3×1] | avg pool → 1×1."""
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3_1 = conv2d_bn(branch3x3, 384, 1, 3)
    branch3x3_2 = conv2d_bn(branch3x3, 384, 3, 1)
    branch3x3 = layers.concatenate([branch3x3_1, branch3x3_2], axis=axis, name=f"mixed9_{index}")
    branch3x3dbl = conv2d_bn(x, 448, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 384, 3, 3)
    branch3x3dbl_1 = conv2d_bn(branch3x3dbl, 384, 1, 3)
    branch3x3dbl_2 = conv2d_bn(branch3x3dbl, 384, 3, 1)
    branch3x3dbl = layers.concatenate([branch3x3dbl_1, branch3x3dbl_2], axis=axis)
    branch_pool = _avg_pool_branch(x, 192)
    return layers.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=axis, name=f"mixed{9 + index}")


def InceptionV3(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "inception_v3") -> Model:
    """Keras's InceptionV3.

    ``include_top``: global average pooling and the ``classes``-way classifier; ``weights``: None,
    ``"imagenet"`` or a weights file's path; ``input_tensor`` / ``input_shape`` (H, W >= 75; (299, 299, 3)
    with the top and ImageNet weights); ``pooling``: None / ``"avg"`` / ``"max"`` without the top.
    """
    check_weights(weights, "The `weights` argument should be either `None` (random initialization), `imagenet` "
                           "(pre-training on ImageNet), or the path to the weights file to be loaded; Received: "
                           f"weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights="imagenet"` with `include_top=True`, `classes` should be 1000. '
                         f"Received classes={classes}")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    data_format=image_data_format(), require_flatten=include_top,
                                                    weights=weights)
    img_input = image_input(input_tensor, input_shape)
    axis = channel_axis(3)
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _module_35(x, 32, "mixed0", axis)
    x = _module_35(x, 64, "mixed1", axis)
    x = _module_35(x, 64, "mixed2", axis)
    # mixed3: grid reduction 35 → 17
    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(x, 64, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch3x3dbl, branch_pool], axis=axis, name="mixed3")
    x = _module_17(x, 128, "mixed4", axis)
    x = _module_17(x, 160, "mixed5", axis)
    x = _module_17(x, 160, "mixed6", axis)
    x = _module_17(x, 192, "mixed7", axis)
    # mixed8: grid reduction 17 → 8
    branch3x3 = conv2d_bn(x, 192, 1, 1)
    branch3x3 = conv2d_bn(branch3x3, 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch7x7x3, branch_pool], axis=axis, name="mixed8")
    x = _module_8(x, 0, axis)
    x = _module_8(x, 1, axis)
    x = average_pool_classifier(x, include_top, pooling, classes, classifier_activation, weights)
    return model_with_keras_weights(x, input_tensor, img_input, name, weights, include_top, "inception_v3",
                                    WEIGHTS_HASHES)


def preprocess_input(x, data_format: str | None = None):
    """``tf`` mode: y = x / 127.5 − 1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

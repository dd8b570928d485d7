"""``keras.applications.vgg16``: Keras's VGG16 (Simonyan & Zisserman 2014), layer for layer.

Five blocks of 3×3 "same" convolutions with ReLU (64, 128, 256, 512, 512 filters; 2, 2, 3, 3, 3
convolutions), each closed by a 2×2/2 max pooling; the top flattens the 7×7×512 map into two 4096-unit ReLU
layers and the ``classes``-way classifier (138,357,544 parameters). Inputs are preprocessed in ``caffe`` mode.
"""
from __future__ import annotations

from .. import layers
from ..config import image_data_format
from ..models import Model
from . import imagenet_utils
from ._common import (
    check_weights,
    image_input,
    model_with_keras_weights,
    pooling_head,
)

WEIGHTS_HASHES = ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")  # md5: top, no top


def vgg(convs_per_block, weights_name: str, hashes, include_top, weights, input_tensor, input_shape, pooling,
        classes, classifier_activation, name) -> Model:
    """The VGG skeleton: block b has ``convs_per_block[b]`` 3×3 convolutions (``block{b}_conv{i}``) and a
    2×2 max pooling (``block{b}_pool``); the top is flatten → fc1 → fc2 (4096, ReLU) → predictions."""
    check_weights(weights, "The `weights` argument should be either `None` (random initialization), 'imagenet' "
                           "(pre-training on ImageNet), or the path to the weights file to be loaded.  Received: "
                           f"weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                         f"Received classes={classes}")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format=image_data_format(), require_flatten=include_top,
                                                    weights=weights)
    img_input = image_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = pooling_head(x, pooling)
    return model_with_keras_weights(x, input_tensor, img_input, name, weights, include_top, weights_name, hashes)


def VGG16(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
          pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "vgg16") -> Model:
    """Keras's VGG16.

    ``include_top``: flatten + fc1 + fc2 + the ``classes``-way classifier (needs a fixed ``input_shape``,
    224×224 with ImageNet weights); ``weights``: None, ``"imagenet"`` or a weights file's path;
    ``input_tensor`` / ``input_shape`` (H, W >= 32); ``pooling``: None / ``"avg"`` / ``"max"`` without the top.
    """
    return vgg((2, 2, 3, 3, 3), "vgg16", WEIGHTS_HASHES, include_top, weights, input_tensor, input_shape, pooling,
               classes, classifier_activation, name)


def preprocess_input(x, data_format: str | None = None):
    """``caffe`` mode: RGB → BGR, then the ImageNet channel means subtracted (no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

"""``keras.applications.vgg19``: Keras's VGG19, VGG16 with 2, 2, 4, 4, 4 convolutions per block
(143,667,240 parameters). Inputs are preprocessed in ``caffe`` mode."""
from __future__ import annotations

from ..models import Model
from .vgg16 import decode_predictions, preprocess_input, vgg

WEIGHTS_HASHES = ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")  # md5: top, no top

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]


def VGG19(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
          pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "vgg19") -> Model:
    """Keras's VGG19; arguments as :func:`neuronka.applications.VGG16`."""
    return vgg((2, 2, 4, 4, 4), "vgg19", WEIGHTS_HASHES, include_top, weights, input_tensor, input_shape, pooling,
               classes, classifier_activation, name)

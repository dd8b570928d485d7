"""``keras.applications.resnet_v2``: Keras's ResNet50V2 / 101V2 / 152V2 (He et al. 2016, "Identity Mappings in
Deep Residual Networks"), layer for layer.

Pre-activation blocks y = F(relu(BN(x))) + s (see :func:`.resnet.residual_block_v2`): no BN/ReLU after the
stem, ``post_bn`` / ``post_relu`` before the head; a stage's stride 2 is on its last block (the 3×3
convolution, and a 1×1 max pooling on the identity shortcut). Inputs are preprocessed in ``tf`` mode
(scaled to [−1, 1]).
"""
from __future__ import annotations

from ..models import Model
from . import imagenet_utils
from .resnet import ResNet, stack_residual_blocks_v2


def _v2_stages(depths):
    def stack_fn(x):
        x = stack_residual_blocks_v2(x, 64, depths[0], name="conv2")
        x = stack_residual_blocks_v2(x, 128, depths[1], name="conv3")
        x = stack_residual_blocks_v2(x, 256, depths[2], name="conv4")
        return stack_residual_blocks_v2(x, 512, depths[3], stride1=1, name="conv5")

    return stack_fn


def ResNet50V2(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
               pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "resnet50v2") -> Model:
    """Keras's ResNet50V2 (stages of 3, 4, 6, 3 pre-activation bottleneck blocks); arguments as
    :func:`neuronka.applications.ResNet50`."""
    return ResNet(_v2_stages((3, 4, 6, 3)), True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet50v2")


def ResNet101V2(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "resnet101v2") -> Model:
    """Keras's ResNet101V2 (stages of 3, 4, 23, 3 pre-activation bottleneck blocks)."""
    return ResNet(_v2_stages((3, 4, 23, 3)), True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet101v2")


def ResNet152V2(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "resnet152v2") -> Model:
    """Keras's ResNet152V2 (stages of 3, 8, 36, 3 pre-activation bottleneck blocks)."""
    return ResNet(_v2_stages((3, 8, 36, 3)), True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet152v2")


def preprocess_input(x, data_format: str | None = None):
    """``tf`` mode: y = x / 127.5 − 1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

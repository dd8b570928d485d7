"""``keras.applications.resnet``: Keras's ResNet50 / 101 / 152 (He et al. 2015), layer for layer.

Residual learning: a block computes y = relu(F(x) + s(x)), F the bottleneck
1×1 (reduce) → 3×3 → 1×1 (expand ×4) with BatchNormalization (ε = 1.001e-5) and ReLU between,
s the identity or, in the first block of a stage, a 1×1 projection with its BatchNormalization.
Keras's layout (the published weights' one, which differs from torchvision's): every convolution has
a bias, and a stage's stride 2 sits on its first 1×1 convolution (and on the projection), not on the 3×3.
Stem: 7×7/2 convolution after a 3-pixel zero padding, BN, ReLU, 3×3/2 max pooling after a 1-pixel padding;
stages of 3, 4, 6 / 23 / 36, 3 blocks with 64, 128, 256, 512 bottleneck filters.

The pre-activation variant (ResNet V2) shares the builder :func:`ResNet` and lives in
:mod:`neuronka.applications.resnet_v2`. Inputs are preprocessed in ``caffe`` mode (BGR, mean subtracted).
"""
from __future__ import annotations

from .. import layers
from ..config import image_data_format
from ..models import Model
from . import imagenet_utils
from ._common import (
    KERAS_APPLICATIONS_URL,
    average_pool_classifier,
    channel_axis,
    check_weights,
    fetch_weights,
    image_input,
    load_weights,
    model_inputs,
)

BASE_WEIGHTS_PATH = KERAS_APPLICATIONS_URL + "resnet/"
# md5 of Keras's published files: (with the top, without it)
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
BN_EPSILON = 1.001e-5


def weights_file(weights_name: str, include_top: bool) -> tuple[str, str, str]:
    """(file name, URL, md5) of Keras's published weights of ``weights_name`` with or without the top."""
    fname = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return fname, BASE_WEIGHTS_PATH + fname, WEIGHTS_HASHES[weights_name][0 if include_top else 1]


def ResNet(stack_fn, preact: bool, use_bias: bool, include_top: bool = True, weights="imagenet",  # noqa: N802
           input_tensor=None, input_shape=None, pooling=None, classes: int = 1000,
           classifier_activation="softmax", name: str = "resnet", weights_name: str | None = None) -> Model:
    """The ResNet / ResNet V2 skeleton around ``stack_fn(x)`` (the residual stages).

    ``preact``: V2's pre-activation (no BN/ReLU after the stem; ``post_bn`` / ``post_relu`` at the end).
    ``use_bias``: biases on the convolutions of the stem. ``weights_name`` picks Keras's published file.
    """
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
    bn_axis = channel_axis(3)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = average_pool_classifier(x, include_top, pooling, classes, classifier_activation, weights, named_pools=True)
    model = Model(model_inputs(input_tensor, img_input), x, name=name)
    if weights == "imagenet" and weights_name not in WEIGHTS_HASHES:
        return model  # Keras loads nothing for an unknown weights_name either

    def imagenet_path():
        return fetch_weights(name, *weights_file(weights_name, include_top))

    load_weights(model, weights, imagenet_path)
    return model


def residual_block_v1(x, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = True,
                      name: str | None = None):
    """relu(F(x) + s(x)): F = 1×1/stride (filters) → 3×3 (filters) → 1×1 (4·filters), each followed by BN
    (ReLU after the first two); s = 1×1/stride projection + BN (``conv_shortcut``) or the identity."""
    bn_axis = channel_axis(3)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters: int, blocks: int, stride1: int = 2, name: str | None = None):
    """A stage: one projection block with stride ``stride1``, then ``blocks − 1`` identity blocks."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = False,
                      name: str | None = None):
    """Pre-activation block (He et al. 2016): p = relu(BN(x)); y = F(p) + s, F = 1×1 (no bias) → BN → ReLU →
    pad 1 → 3×3/stride (no bias) → BN → ReLU → 1×1 (4·filters, bias); s = 1×1/stride projection of p
    (``conv_shortcut``), else x subsampled by a 1×1/stride max pooling (or x itself at stride 1).
    V2 puts a stage's stride on its **last** block."""
    bn_axis = channel_axis(3)
    preact = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters: int, blocks: int, stride1: int = 2, name: str | None = None):
    """A V2 stage: a projection block (stride 1), ``blocks − 2`` identity blocks, a last block with stride
    ``stride1``."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _v1_stages(depths):
    def stack_fn(x):
        x = stack_residual_blocks_v1(x, 64, depths[0], stride1=1, name="conv2")
        x = stack_residual_blocks_v1(x, 128, depths[1], name="conv3")
        x = stack_residual_blocks_v1(x, 256, depths[2], name="conv4")
        return stack_residual_blocks_v1(x, 512, depths[3], name="conv5")

    return stack_fn


def ResNet50(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
             pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "resnet50") -> Model:
    """Keras's ResNet50 (stages of 3, 4, 6, 3 bottleneck blocks; 25,636,712 parameters with the top).

    ``include_top``: the 1000-way (``classes``) softmax classifier after global average pooling;
    ``weights``: None (random), ``"imagenet"`` (Keras's published weights) or a weights file's path;
    ``input_tensor``: a symbolic tensor to build on; ``input_shape``: (H, W, 3), H, W >= 32, only
    without the top (or with ``weights=None``); ``pooling``: None / ``"avg"`` / ``"max"`` without the top;
    ``classifier_activation``: the top's activation (None or "softmax" with pretrained weights).
    """
    return ResNet(_v1_stages((3, 4, 6, 3)), False, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet50")


def ResNet101(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
              pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "resnet101") -> Model:
    """Keras's ResNet101 (stages of 3, 4, 23, 3 bottleneck blocks); arguments as :func:`ResNet50`."""
    return ResNet(_v1_stages((3, 4, 23, 3)), False, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet101")


def ResNet152(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
              pooling=None, classes: int = 1000, classifier_activation="softmax", name: str = "resnet152") -> Model:
    """Keras's ResNet152 (stages of 3, 8, 36, 3 bottleneck blocks); arguments as :func:`ResNet50`."""
    return ResNet(_v1_stages((3, 8, 36, 3)), False, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet152")


def preprocess_input(x, data_format: str | None = None):
    """``caffe`` mode: RGB → BGR, then the ImageNet channel means subtracted (no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

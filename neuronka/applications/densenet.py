"""``keras.applications.densenet``: Keras's DenseNet121 / 169 / 201 (Huang et al. 2017, "Densely Connected
Convolutional Networks"), layer for layer.

In a dense block each layer's output is concatenated to everything before it: x_{l+1} = [x_l, H(x_l)],
H = BN → ReLU → 1×1 conv (4·32 filters) → BN → ReLU → 3×3 conv (growth rate 32 filters)
(:func:`conv_block`). Transitions halve the channels and the grid: BN → ReLU → 1×1 conv (c/2) → 2×2/2
average pooling (:func:`transition_block`). Stem: pad 3, 7×7/2 conv (64), BN, ReLU, pad 1, 3×3/2 max pool;
four dense blocks of 6, 12, 24 / 32 / 48, 16 / 32 / 32 layers; final BN and ReLU; BN ε = 1.001e-5. Top:
global average pooling, classifier. Only ``channels_last``. Inputs (H, W >= 32) are preprocessed in
``torch`` mode.
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
    tf_kernels_file,
)

BASE_WEIGHTS_PATH = KERAS_APPLICATIONS_URL + "densenet/"
# blocks → (weights name, md5 with the top, md5 without it)
WEIGHTS = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
BN_EPSILON = 1.001e-5


def dense_block(x, blocks: int, name: str):
    """``blocks`` conv blocks, each adding 32 channels: ``{name}_block{i}``."""
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction: float, name: str):
    """BN → ReLU → 1×1 conv to ⌊c·reduction⌋ channels → 2×2/2 average pooling."""
    bn_axis = channel_axis(3)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[bn_axis] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def conv_block(x, growth_rate: int, name: str):
    """[x, H(x)]: H = BN → ReLU → 1×1 conv (4·growth_rate) → BN → ReLU → 3×3 conv (growth_rate)."""
    bn_axis = channel_axis(3)
    x1 = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_0_bn")(x)
    x1 = layers.Activation("relu", name=f"{name}_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name=f"{name}_1_bn")(x1)
    x1 = layers.Activation("relu", name=f"{name}_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=bn_axis, name=f"{name}_concat")([x, x1])


def DenseNet(blocks, include_top: bool = True, weights="imagenet", input_tensor=None,  # noqa: N802
             input_shape=None, pooling=None, classes: int = 1000, classifier_activation="softmax",
             name: str = "densenet") -> Model:
    """A DenseNet with dense blocks of ``blocks`` (four numbers) layers; ImageNet weights exist for
    [6, 12, 24, 16], [6, 12, 32, 32] and [6, 12, 48, 32]. Other arguments as :func:`DenseNet121`."""
    if image_data_format() == "channels_first":
        raise ValueError("DenseNet does not support the `channels_first` image data format. Switch to "
                         "`channels_last` by editing your local config file at ~/.keras/keras.json")
    check_weights(weights, "The `weights` argument should be either `None` (random initialization), `imagenet` "
                           "(pre-training on ImageNet), or the path to the weights file to be loaded.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights` as `"imagenet"` with `include_top` as true, `classes` should be 1000')
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format=image_data_format(), require_flatten=include_top,
                                                    weights=weights)
    img_input = image_input(input_tensor, input_shape)
    bn_axis = channel_axis(3)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = dense_block(x, blocks[0], name="conv2")
    x = transition_block(x, 0.5, name="pool2")
    x = dense_block(x, blocks[1], name="conv3")
    x = transition_block(x, 0.5, name="pool3")
    x = dense_block(x, blocks[2], name="conv4")
    x = transition_block(x, 0.5, name="pool4")
    x = dense_block(x, blocks[3], name="conv5")
    x = layers.BatchNormalization(axis=bn_axis, epsilon=BN_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = average_pool_classifier(x, include_top, pooling, classes, classifier_activation, weights, named_pools=True)
    model = Model(model_inputs(input_tensor, img_input), x, name=name)

    def imagenet_path():
        key = tuple(blocks)
        if key not in WEIGHTS:
            raise ValueError("weights_path undefined")
        weights_name, top_hash, notop_hash = WEIGHTS[key]
        fname = tf_kernels_file(weights_name, include_top)
        return fetch_weights(name, fname, BASE_WEIGHTS_PATH + fname, top_hash if include_top else notop_hash)

    load_weights(model, weights, imagenet_path)
    return model


def DenseNet121(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "densenet121") -> Model:
    """Keras's DenseNet121 (dense blocks of 6, 12, 24, 16 layers; 8,062,504 parameters with the top).

    ``include_top``: global average pooling and the ``classes``-way classifier; ``weights``: None,
    ``"imagenet"`` or a weights file's path; ``input_tensor`` / ``input_shape`` (H, W >= 32; (224, 224, 3)
    with the top and ImageNet weights); ``pooling``: None / ``"avg"`` / ``"max"`` without the top.
    """
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def DenseNet169(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "densenet169") -> Model:
    """Keras's DenseNet169 (dense blocks of 6, 12, 32, 32 layers); arguments as :func:`DenseNet121`."""
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def DenseNet201(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "densenet201") -> Model:
    """Keras's DenseNet201 (dense blocks of 6, 12, 48, 32 layers); arguments as :func:`DenseNet121`."""
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def preprocess_input(x, data_format: str | None = None):
    """``torch`` mode: y_c = (x_c / 255 − μ_c) / σ_c with ImageNet's RGB means and standard deviations."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: see :func:`imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)

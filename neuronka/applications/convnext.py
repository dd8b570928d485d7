"""ConvNeXt Tiny/Small/Base/Large/XLarge (Liu et al. 2022, "A ConvNet for the 2020s"), laid out as
``keras.applications``.

Four stages of widths C₁..C₄ and depths d₁..d₄. Before stage 1 a stem (4×4 convolution, stride 4, then
LayerNormalization); before stages 2–4 a downsampling layer (LayerNormalization, 2×2 convolution with
stride 2); each is a nested ``Sequential``. One ConvNeXt block on x:

    y = 7×7 depthwise convolution (a grouped Conv2D) → LayerNorm → Dense(4C) → GELU → Dense(C)
    y = γ ⊙ y                         (LayerScale, γ initialized to ``layer_scale_init_value``)
    out = x + DropPath(y)             (StochasticDepth; rates rising linearly to ``drop_path_rate``)

With ``include_preprocessing`` (and 3 channels) the model first normalizes pixels in [0, 255] with ImageNet's
mean and standard deviation (scaled to 255). The head: global average pooling, LayerNorm, Dense(classes);
without it, the optional pooling and then a LayerNormalization.
"""
from __future__ import annotations

import numpy

from .. import initializers, layers, ops
from .. import random as _random
from ..backend import get_array_module, get_uid
from ..config import image_data_format
from ..layers.base import Layer
from ..models import Model, Sequential
from ..serialization import register_keras_serializable
from ..utils.general import get_source_inputs
from . import _common

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
# (with the classifier, without it): the sha256 of Keras's published files
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}

MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}


@register_keras_serializable(package="neuronka")
class StochasticDepth(Layer):
    """Drop path: in training, y = x·⌊keep + u⌋/keep with u ~ U[0, 1) drawn once per sample and
    keep = 1 − ``drop_path_rate`` (each sample's branch is kept, scaled by 1/keep, or zeroed);
    at inference y = x. dL/dx = dL/dy·⌊keep + u⌋/keep."""

    def __init__(self, drop_path_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if not training:
            return x
        keep = 1 - self.drop_path_rate
        u = _random.uniform((x.shape[0],) + (1,) * (x.ndim - 1), 0, 1, dtype=x.dtype).data
        xp = get_array_module(x)
        mask = xp.asarray(numpy.floor(keep + u), dtype=x.dtype)  # 1 with probability keep, else 0
        return ops.multiply(ops.divide(x, keep), mask)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


@register_keras_serializable(package="neuronka")
class LayerScale(Layer):
    """y = x ⊙ γ over the last axis (Touvron et al. 2021), γ of shape (projection_dim,) a trainable weight
    initialized to ``init_values``. dL/dx = dL/dy ⊙ γ; dL/dγ = Σ over the other axes of dL/dy ⊙ x."""

    def __init__(self, init_values: float, projection_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True)
        self.built = True

    def call(self, x):
        return ops.multiply(x, self.gamma)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim: int, drop_path_rate: float = 0.0, layer_scale_init_value=1e-6,  # noqa: N802
                  name: str | None = None):
    """One ConvNeXt block (the module docstring) as a function of its input; ``layer_scale_init_value=None``
    leaves out LayerScale, a zero ``drop_path_rate`` puts a linear Activation in StochasticDepth's place."""
    if name is None:
        name = f"prestem{get_uid('prestem')}"

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            path = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            path = layers.Activation("linear", name=f"{name}_identity")
        return inputs + path(x)

    return apply


def PreStem(name: str | None = None):  # noqa: N802
    """(x − 255·μ)/(255·σ) per channel, with ImageNet's μ = (0.485, 0.456, 0.406), σ = (0.229, 0.224, 0.225)."""
    if name is None:
        name = f"prestem{get_uid('prestem')}"

    def apply(x):
        return layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                    variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                    name=f"{name}_prestem_normalization")(x)

    return apply


def Head(num_classes: int = 1000, classifier_activation=None, name: str | None = None):  # noqa: N802
    """Global average pooling → LayerNormalization → Dense(num_classes, classifier_activation)."""
    if name is None:
        name = str(get_uid("head"))

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate: float = 0.0, layer_scale_init_value=1e-6,  # noqa: N802
             default_size: int = 224, name: str = "convnext", include_preprocessing: bool = True,
             include_top: bool = True, weights=None, input_tensor=None, input_shape=None, pooling=None,
             classes: int = 1000, classifier_activation="softmax", weights_name: str | None = None) -> Model:
    """A ConvNeXt of the given stage ``depths`` and widths ``projection_dims`` (the module docstring)."""
    if image_data_format() == "channels_first":
        raise ValueError("ConvNeXt does not support the `channels_first` image data format. Switch to "
                         "`channels_last` by editing your local config file at ~/.keras/keras.json")
    if not _common.weights_is_valid(weights):
        raise ValueError("The `weights` argument should be either `None` (random initialization), `imagenet` "
                         "(pre-training on ImageNet), or the path to the weights file to be loaded.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f'If using `weights="imagenet"` with `include_top=True`, `classes` should be 1000. '
                         f"Received classes={classes}")
    input_shape = _common.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                             data_format=image_data_format(), require_flatten=include_top,
                                             weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    if input_tensor is not None:
        inputs, x = get_source_inputs(input_tensor)[0], input_tensor
    else:
        inputs = x = img_input
    if include_preprocessing and input_shape[2] == 3:
        x = PreStem(name=name)(x)

    stem = Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")
    downsampling = [stem] + [
        Sequential([
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}")
        for i in range(3)
    ]
    rates = [float(r) for r in numpy.linspace(0.0, drop_path_rate, sum(depths))]
    first = 0
    for i in range(4):
        x = downsampling[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=rates[first + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        first += depths[i]
    if include_top:
        _common.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Model(inputs=inputs, outputs=x, name=name)

    if weights == "imagenet":
        variant = weights_name.split("convnext_")[-1]
        expected = MODEL_CONFIGS[variant]
        if depths != expected["depths"] or projection_dims != expected["projection_dims"]:
            raise ValueError(
                f"Architecture configuration does not match {weights_name} variant. When using pre-trained weights, "
                f"the model architecture must match the pre-trained configuration exactly. Expected depths: "
                f"{expected['depths']}, got: {depths}. Expected projection_dims: {expected['projection_dims']}, "
                f"got: {projection_dims}.")
        if weights_name not in name:
            raise ValueError(f'Model name "{name}" does not match weights variant "{weights_name}". When using '
                             f'imagenet weights, model name must contain the weights variant (e.g., '
                             f'"convnext_{variant}").')
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        model.load_weights(_common.fetch_weights(name, file_name, BASE_WEIGHTS_PATH + file_name, file_hash))
    elif weights is not None:
        model.load_weights(weights)
    return model


def _variant(title: str, size: str, doc: str):
    config = MODEL_CONFIGS[size]

    def constructor(include_top: bool = True, include_preprocessing: bool = True, weights="imagenet",
                    input_tensor=None, input_shape=None, pooling=None, classes: int = 1000,
                    classifier_activation="softmax", name: str = f"convnext_{size}") -> Model:
        return ConvNeXt(weights_name=f"convnext_{size}", depths=config["depths"],
                        projection_dims=config["projection_dims"], drop_path_rate=0.0, layer_scale_init_value=1e-6,
                        default_size=config["default_size"], name=name, include_top=include_top,
                        include_preprocessing=include_preprocessing, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation)

    constructor.__name__ = constructor.__qualname__ = f"ConvNeXt{title}"
    constructor.__doc__ = (
        f"ConvNeXt-{title}: depths {config['depths']}, widths {config['projection_dims']}; {doc}.\n\n"
        f"Arguments as ``keras.applications.ConvNeXt{title}``: ``weights`` None, \"imagenet\" or a weights file; "
        f"``input_shape`` only without the classifier (else (224, 224, 3) with ImageNet weights); ``pooling`` "
        f"None/\"avg\"/\"max\" without the classifier; ``include_preprocessing`` (default True) makes the model "
        f"take pixels in [0, 255]."
    )
    return constructor


ConvNeXtTiny = _variant("Tiny", "tiny", "28.6 M parameters")
ConvNeXtSmall = _variant("Small", "small", "50.2 M parameters")
ConvNeXtBase = _variant("Base", "base", "88.6 M parameters")
ConvNeXtLarge = _variant("Large", "large", "198 M parameters")
ConvNeXtXLarge = _variant("XLarge", "xlarge", "350 M parameters")


def preprocess_input(x, data_format=None):
    """The identity: ConvNeXt normalizes its inputs itself (``include_preprocessing=True``)."""
    return x


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: [(class_id, name, score), ...]."""
    from . import imagenet_utils  # noqa: PLC0415 - shared module of the other application families

    return imagenet_utils.decode_predictions(preds, top=top)

"""EfficientNet B0–B7 (Tan & Le 2019), laid out as ``keras.applications``.

B0 is a stem (3×3 convolution, 32 filters, stride 2), seven stages of MBConv blocks and a 1×1 convolution
to 1280 channels; B1–B7 scale it by compound coefficients: widths × w (rounded to multiples of 8, never
more than 10% down), repeats × d (rounded up), and a larger default image. One MBConv block:

    expand (1×1 to t·c_in, BN, swish; skipped when t = 1) → depthwise k×k (stride s, BN, swish)
    → squeeze-and-excite x·σ(W₂ swish(W₁ mean_hw(x))) (W₁ to max(1, ⌊c_in/4⌋))
    → project (1×1, BN) → stochastic depth and + input when stride 1 and c_out = c_in

Stochastic depth is Dropout(rate, noise_shape=(None, 1, 1, 1)): in training each sample's branch is kept
with probability 1 − rate and scaled by 1/(1 − rate); the rate grows linearly, block b of n getting
drop_connect_rate·b/n. The model takes pixels in [0, 255]: Rescaling(1/255), then a Normalization layer
whose mean and variance are weights (zeros and ones until ImageNet weights fill them), and with
``weights="imagenet"`` a further Rescaling by 1/√std (the original TF code divides by the variance).
"""
from __future__ import annotations

import math

from .. import layers
from ..config import image_data_format
from ..models import Model
from . import _common

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
# (with the classifier, without it): the md5 of Keras's published files
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}


def _stage(kernel_size, repeats, filters_in, filters_out, expand_ratio, strides, se_ratio=0.25, id_skip=True):
    return {"kernel_size": kernel_size, "repeats": repeats, "filters_in": filters_in, "filters_out": filters_out,
            "expand_ratio": expand_ratio, "id_skip": id_skip, "strides": strides, "se_ratio": se_ratio}


DEFAULT_BLOCKS_ARGS = [
    _stage(3, 1, 32, 16, 1, 1),
    _stage(3, 2, 16, 24, 6, 2),
    _stage(5, 2, 24, 40, 6, 2),
    _stage(3, 3, 40, 80, 6, 2),
    _stage(5, 3, 80, 112, 6, 1),
    _stage(5, 4, 112, 192, 6, 2),
    _stage(3, 1, 192, 320, 6, 1),
]

# He-style initialization over the fan-out for convolutions, a small uniform one for the classifier
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}

IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def block(inputs, activation="swish", drop_rate: float = 0.0, name: str = "", filters_in: int = 32,
          filters_out: int = 16, kernel_size: int = 3, strides: int = 1, expand_ratio: int = 1,
          se_ratio: float = 0.0, id_skip: bool = True):
    """One MBConv block (the module docstring), its layers named ``{name}expand_conv``, ``{name}dwconv``, ..."""
    bn_axis = _common.channel_axis()
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    padding = "same"
    if strides == 2:
        x = layers.ZeroPadding2D(padding=_common.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
        padding = "valid"
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding=padding, use_bias=False,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:  # stochastic depth: the whole branch of a sample dropped at once
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def squeeze_excite(x, filters: int, filters_se: int, activation, name: str):
    """x · σ(W₂ act(W₁ mean_hw(x) + b₁) + b₂): a per-channel gate from the channel means (EfficientNet V1/V2)."""
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se_shape = (1, 1, filters) if _common.channel_axis() == 3 else (filters, 1, 1)
    se = layers.Reshape(se_shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=CONV_KERNEL_INITIALIZER,
                       name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def EfficientNet(width_coefficient: float, depth_coefficient: float, default_size: int,  # noqa: N802
                 dropout_rate: float = 0.2, drop_connect_rate: float = 0.2, depth_divisor: int = 8,
                 activation="swish", blocks_args="default", name: str = "efficientnet", include_top: bool = True,
                 weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes: int = 1000,
                 classifier_activation="softmax", weights_name: str | None = None) -> Model:
    """An EfficientNet scaled by ``width_coefficient``/``depth_coefficient`` (the module docstring);
    ``drop_connect_rate`` is the stochastic-depth rate reached by the last block."""
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS
    if not _common.weights_is_valid(weights):
        raise ValueError("The `weights` argument should be either `None` (random initialization), `imagenet` "
                         "(pre-training on ImageNet), or the path to the weights file to be loaded.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights="imagenet"` with `include_top` as true, `classes` should be 1000')
    input_shape = _common.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                             data_format=image_data_format(), require_flatten=include_top,
                                             weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    bn_axis = _common.channel_axis()

    def round_filters(filters: float) -> int:
        scaled = filters * width_coefficient
        rounded = max(depth_divisor, int(scaled + depth_divisor / 2) // depth_divisor * depth_divisor)
        return int(rounded + depth_divisor if rounded < 0.9 * scaled else rounded)

    def round_repeats(repeats: int) -> int:
        return int(math.ceil(depth_coefficient * repeats))

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=bn_axis)(x)  # mean/variance: weights, set by the ImageNet file
    if weights == "imagenet":
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=_common.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    total = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    b = 0
    for i, stage in enumerate(blocks_args):
        if stage["repeats"] <= 0:
            raise ValueError(f"The number of repeats in `EfficientNet` must be > 0. Received: "
                             f"repeats={stage['repeats']}")
        args = {k: v for k, v in stage.items() if k != "repeats"}
        args["filters_in"], args["filters_out"] = round_filters(args["filters_in"]), round_filters(args["filters_out"])
        for j in range(round_repeats(stage["repeats"])):
            if j > 0:  # only a stage's first block changes the stride and the width
                args["strides"], args["filters_in"] = 1, args["filters_out"]
            x = block(x, activation, drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    x = _classifier_or_pooling(x, include_top, pooling, dropout_rate, classes, classifier_activation, weights,
                               DENSE_KERNEL_INITIALIZER)
    model = Model(_common.model_inputs(input_tensor, img_input), x, name=name)

    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        model.load_weights(_common.fetch_weights(name, file_name, BASE_WEIGHTS_PATH + file_name, file_hash))
    elif weights is not None:
        model.load_weights(weights)
    return model


def _classifier_or_pooling(x, include_top, pooling, dropout_rate, classes, classifier_activation, weights,
                           kernel_initializer, bias_initializer="zeros"):
    """The EfficientNet head: average pooling, dropout and the softmax layer, or the optional pooling."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        _common.validate_activation(classifier_activation, weights)
        return layers.Dense(classes, activation=classifier_activation, kernel_initializer=kernel_initializer,
                            bias_initializer=bias_initializer, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def _variant(width: float, depth: float, size: int, dropout: float, key: str, doc: str):
    def constructor(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes: int = 1000, classifier_activation="softmax",
                    name: str = f"efficientnet{key}") -> Model:
        return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top, weights=weights,
                            input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=key)

    constructor.__name__ = constructor.__qualname__ = f"EfficientNet{key.upper()}"
    constructor.__doc__ = (
        f"EfficientNet-{key.upper()}: width × {width}, depth × {depth}, {size}×{size} images by default, "
        f"dropout {dropout} before the classifier; {doc}.\n\n"
        f"Arguments as ``keras.applications.EfficientNet{key.upper()}``: ``weights`` None, \"imagenet\" or a "
        f"weights file; ``input_shape`` (at least 32×32, 3 channels with ImageNet weights) only without the "
        f"classifier (else it must be ({size}, {size}, 3) with ImageNet weights); ``pooling`` None/\"avg\"/\"max\" "
        f"without the classifier. Inputs are pixels in [0, 255] (the model normalizes them itself)."
    )
    return constructor


EfficientNetB0 = _variant(1.0, 1.0, 224, 0.2, "b0", "5.33 M parameters")
EfficientNetB1 = _variant(1.0, 1.1, 240, 0.2, "b1", "7.86 M parameters")
EfficientNetB2 = _variant(1.1, 1.2, 260, 0.3, "b2", "9.18 M parameters")
EfficientNetB3 = _variant(1.2, 1.4, 300, 0.3, "b3", "12.3 M parameters")
EfficientNetB4 = _variant(1.4, 1.8, 380, 0.4, "b4", "19.5 M parameters")
EfficientNetB5 = _variant(1.6, 2.2, 456, 0.4, "b5", "30.6 M parameters")
EfficientNetB6 = _variant(1.8, 2.6, 528, 0.5, "b6", "43.3 M parameters")
EfficientNetB7 = _variant(2.0, 3.1, 600, 0.5, "b7", "66.7 M parameters")


def preprocess_input(x, data_format=None):
    """The identity: EfficientNet rescales and normalizes its inputs itself."""
    return x


def decode_predictions(preds, top: int = 5):
    """The ``top`` ImageNet classes of each row of ``preds``: [(class_id, name, score), ...]."""
    from . import imagenet_utils  # noqa: PLC0415 - shared module of the other application families

    return imagenet_utils.decode_predictions(preds, top=top)

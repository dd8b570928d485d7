"""The CIFAR residual networks (He et al. 2015): y = F(x) + x.

A residual block learns the residual F(x) = H(x) − x instead of H(x); the
shortcut carries x unchanged (identity) or, where the shape changes, through
a 1×1 convolution (projection, option B) or by subsampling and zero-padding
the channels (option A, no parameters).

- CIFAR ResNets (section 4.2 of the paper): a 3×3 convolution with 16 filters,
  three stages of n basic blocks with 16 / 32 / 64 filters (stride 2 at the
  start of stages 2 and 3), global average pooling, a softmax layer.
  Depth 6n + 2: ResNet-20 / 32 / 44 / 56 / 110 (n = 3, 5, 7, 9, 18). The plain
  nets of the same depth drop the shortcuts (the degradation experiment).
- The zoo registry (:data:`MODELS`, :func:`get`) used by ``neuronka train`` / ``summary`` also names
  Keras's ImageNet ResNets (``resnet50`` / ``101`` / ``152``, :mod:`neuronka.applications.resnet`), built
  with random weights (``weights=None``) at the input shape asked for.

Every convolution uses He initialization and is followed by BatchNormalization
(or, in the pre-activation variant, preceded by BN and ReLU).
"""
from __future__ import annotations

import numpy

from .. import layers, ops
from ..layers.base import Layer
from ..models import Model
from ..saving import register_keras_serializable

CIFAR_DEPTHS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}


@register_keras_serializable(package="neuronka")
class ZeroPadShortcut(Layer):
    """Option A shortcut: x[:, ::s, ::s, :] with the channels zero-padded to ``filters`` (no parameters)."""

    def __init__(self, filters: int, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = int(filters), int(strides)

    def call(self, inputs):
        s = self.strides
        x = inputs[:, ::s, ::s, :] if s > 1 else inputs
        extra = self.filters - x.shape[-1]
        if extra < 0:
            raise ValueError(f"ZeroPadShortcut {self.name!r}: expected at most {self.filters} input channels, "
                             f"received {x.shape[-1]}")
        if extra:
            before = extra // 2
            x = ops.pad(x, ((0, 0), (0, 0), (0, 0), (before, extra - before)))
        return x

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


def _conv(x, filters, kernel_size, strides, name, weight_decay, padding="same"):
    reg = {"kernel_regularizer": {"class_name": "L2", "config": {"l2": weight_decay}}} if weight_decay else {}
    if strides > 1 and kernel_size > 1:
        # explicit symmetric padding, as torchvision's (Keras's "same" pads bottom/right only for stride 2)
        x = layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
        padding = "valid"
    return layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                         kernel_initializer="he_normal", name=name, **reg)(x)


def _bn(x, name, momentum, epsilon):
    return layers.BatchNormalization(momentum=momentum, epsilon=epsilon, name=name)(x)


def _basic_block(x, filters, strides, name, *, shortcut, cfg):
    """Two 3×3 convolutions; output relu(F(x) + shortcut(x)) (or F(x) + x with pre-activation)."""
    in_channels = x.shape[-1]
    m, eps, wd = cfg["bn_momentum"], cfg["bn_epsilon"], cfg["weight_decay"]
    if cfg["preact"]:
        pre = layers.Activation("relu", name=f"{name}_preact_relu")(_bn(x, f"{name}_preact_bn", m, eps))
        y = _conv(pre, filters, 3, strides, f"{name}_1_conv", wd)
        y = layers.Activation("relu", name=f"{name}_1_relu")(_bn(y, f"{name}_1_bn", m, eps))
        y = _conv(y, filters, 3, 1, f"{name}_2_conv", wd)
        source = pre
    else:
        y = _conv(x, filters, 3, strides, f"{name}_1_conv", wd)
        y = layers.Activation("relu", name=f"{name}_1_relu")(_bn(y, f"{name}_1_bn", m, eps))
        y = _conv(y, filters, 3, 1, f"{name}_2_conv", wd)
        y = _bn(y, f"{name}_2_bn", m, eps)
        source = x
    if shortcut == "none":
        out = y
    else:
        if strides == 1 and in_channels == filters:
            sc = x
        elif shortcut == "A":
            sc = ZeroPadShortcut(filters, strides, name=f"{name}_shortcut")(x)
        else:  # "B": projection
            sc = _conv(source, filters, 1, strides, f"{name}_0_conv", wd)
            if not cfg["preact"]:
                sc = _bn(sc, f"{name}_0_bn", m, eps)
        if cfg["stochastic_depth"]:
            y = layers.StochasticDepth(cfg["drop_rate"](), name=f"{name}_drop")(y)
        out = layers.Add(name=f"{name}_add")([sc, y])
    if cfg["preact"]:
        return out
    return layers.Activation("relu", name=f"{name}_out")(out)


def _config(preact, stochastic_depth, num_blocks, bn_momentum, bn_epsilon, weight_decay):
    """Shared settings; stochastic depth's drop rate grows linearly with depth (Huang et al.: 0 → p_L)."""
    counter = iter(range(1, num_blocks + 1))
    final = float(stochastic_depth or 0.0)
    return {
        "preact": preact,
        "stochastic_depth": final > 0,
        "drop_rate": lambda: final * next(counter) / num_blocks,
        "bn_momentum": bn_momentum,
        "bn_epsilon": bn_epsilon,
        "weight_decay": weight_decay,
    }


def cifar_resnet(depth: int = 20, classes: int = 10, input_shape=(32, 32, 3), shortcut: str = "A",
                 plain: bool = False, preact: bool = False, stochastic_depth: float = 0.0,
                 weight_decay: float = 0.0, bn_momentum: float = 0.9, bn_epsilon: float = 1e-5,
                 classifier_activation: str | None = "softmax", name: str | None = None) -> Model:
    """The CIFAR ResNet of depth 6n+2 (He et al. 2015, section 4.2).

    ``shortcut``: "A" zero-padding identity shortcuts (the paper's CIFAR choice),
    "B" projections where the shape changes. ``plain=True`` removes every
    shortcut. ``preact=True`` is the pre-activation variant (He et al. 2016).
    ``stochastic_depth`` = p_L, the drop rate of the last block (0 disables).
    ``bn_momentum`` 0.9 equals PyTorch's BatchNorm momentum 0.1.
    """
    if depth not in CIFAR_DEPTHS and (depth - 2) % 6:
        raise ValueError(f"cifar_resnet: expected depth = 6n + 2 (20, 32, 44, 56, 110, ...), received depth={depth}")
    if shortcut not in ("A", "B"):
        raise ValueError(f"cifar_resnet: expected shortcut 'A' or 'B', received shortcut={shortcut!r}")
    n = (depth - 2) // 6
    cfg = _config(preact, stochastic_depth, 3 * n, bn_momentum, bn_epsilon, weight_decay)
    kind = "none" if plain else shortcut
    inputs = layers.Input(shape=input_shape, name="input")
    x = _conv(inputs, 16, 3, 1, "conv1_conv", weight_decay)
    if not preact:
        x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn", bn_momentum, bn_epsilon))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(n):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, filters, strides, f"stage{stage + 1}_block{block + 1}", shortcut=kind, cfg=cfg)
    if preact:
        x = layers.Activation("relu", name="post_relu")(_bn(x, "post_bn", bn_momentum, bn_epsilon))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    reg = {"kernel_regularizer": {"class_name": "L2", "config": {"l2": weight_decay}}} if weight_decay else {}
    outputs = layers.Dense(classes, activation=classifier_activation, kernel_initializer="he_normal",
                           name="predictions", **reg)(x)
    prefix = "plain" if plain else ("preact_resnet" if preact else "resnet")
    return Model(inputs, outputs, name=name or f"{prefix}{depth}")


def _make_cifar(depth, plain=False):
    def build(classes=10, input_shape=(32, 32, 3), **kwargs) -> Model:
        return cifar_resnet(depth, classes=classes, input_shape=input_shape, plain=plain, **kwargs)

    build.__name__ = build.__qualname__ = f"{'Plain' if plain else 'ResNet'}{depth}CIFAR"
    build.__doc__ = f"The {'plain' if plain else 'residual'} CIFAR net of depth {depth} (He et al. 2015, 4.2)."
    return build


ResNet20 = _make_cifar(20)
ResNet32 = _make_cifar(32)
ResNet44 = _make_cifar(44)
ResNet56 = _make_cifar(56)
ResNet110 = _make_cifar(110)

def _make_keras_imagenet(depth):
    def build(classes=1000, input_shape=None, weights=None, **kwargs) -> Model:
        from . import resnet  # noqa: PLC0415 - Keras's ImageNet ResNets, built on demand

        return getattr(resnet, f"ResNet{depth}")(classes=classes, input_shape=input_shape, weights=weights, **kwargs)

    build.__name__ = build.__qualname__ = f"ResNet{depth}"
    build.__doc__ = f"Keras's ResNet{depth} (``neuronka.applications.ResNet{depth}``), random weights by default."
    return build


MODELS = {
    **{f"resnet{d}": _make_cifar(d) for d in CIFAR_DEPTHS},
    **{f"plain{d}": _make_cifar(d, plain=True) for d in CIFAR_DEPTHS},
    **{f"resnet{d}": _make_keras_imagenet(d) for d in (50, 101, 152)},
}


def get(name: str, **kwargs) -> Model:
    """Build a zoo model by name: resnet20 … resnet110, plain20 … plain110 (CIFAR), resnet50 / 101 / 152
    (Keras's ImageNet ResNets, random weights)."""
    key = name.lower().replace("-", "")
    if key not in MODELS:
        raise ValueError(f"Unknown model: received {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[key](**kwargs)


def count_params(model) -> int:
    return int(sum(numpy.prod(w.shape) for w in model.trainable_weights))

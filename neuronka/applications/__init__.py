"""``neuronka.applications``: the ResNet family (CIFAR and ImageNet variants)."""
from .resnet import (
    ResNet18,
    ResNet20,
    ResNet32,
    ResNet34,
    ResNet44,
    ResNet50,
    ResNet56,
    ResNet101,
    ResNet110,
    ResNet152,
    ZeroPadShortcut,
    cifar_resnet,
)
from .resnet import get as get_model

# isort: split
# keras.applications, part 2: each family in its module (as keras.applications.<family>), the constructors here
from . import convnext, efficientnet, efficientnet_v2, mobilenet_v3, nasnet
from .convnext import ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny, ConvNeXtXLarge
from .efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from .efficientnet_v2 import (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2L,
    EfficientNetV2M,
    EfficientNetV2S,
)
from .mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from .nasnet import NASNetLarge, NASNetMobile

# the torchvision-layout ResNets and their weight loader
from .torchvision_resnet import *  # noqa: F403 - TorchvisionResNet18 … 152, load_torchvision_weights

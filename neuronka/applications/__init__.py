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
from .torchvision_resnet import *  # noqa: F403 - TorchvisionResNet18 … 152, load_torchvision_weights

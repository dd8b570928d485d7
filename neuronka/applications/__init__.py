"""``neuronka.applications``: Keras's ImageNet models (``keras.applications``), one module per family as in
Keras, and neuronka's CIFAR ResNets.

Keras's constructors (same architectures, layer names, arguments and published weights):
ResNet50 / 101 / 152 (:mod:`.resnet`, :mod:`.resnet50`), ResNet50V2 / 101V2 / 152V2 (:mod:`.resnet_v2`),
VGG16 (:mod:`.vgg16`), VGG19 (:mod:`.vgg19`), Xception (:mod:`.xception`), InceptionV3 (:mod:`.inception_v3`),
InceptionResNetV2 (:mod:`.inception_resnet_v2`), DenseNet121 / 169 / 201 (:mod:`.densenet`),
MobileNet (:mod:`.mobilenet`), MobileNetV2 (:mod:`.mobilenet_v2`), MobileNetV3Small / Large
(:mod:`.mobilenet_v3`), EfficientNetB0 … B7 (:mod:`.efficientnet`), EfficientNetV2 (:mod:`.efficientnet_v2`),
ConvNeXt (:mod:`.convnext`), NASNet (:mod:`.nasnet`); each module has its ``preprocess_input`` and
``decode_predictions`` (:mod:`.imagenet_utils`).

torchvision's ResNet layout with torchvision's weights: ``TorchvisionResNet18`` … ``152``
(:mod:`.torchvision_resnet`).

CIFAR ResNets (He et al. 2015, section 4.2; :mod:`.cifar_resnet`): ResNet20 … ResNet110, ``cifar_resnet``,
``get_model`` (the zoo registry of ``neuronka train``). Here ``cifar_resnet`` is the function; the module is
imported by its full name (``from neuronka.applications.cifar_resnet import MODELS``).
"""
from . import (
    densenet,
    imagenet_utils,
    inception_resnet_v2,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    resnet,
    resnet50,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from .cifar_resnet import (
    ResNet20,
    ResNet32,
    ResNet44,
    ResNet56,
    ResNet110,
    ZeroPadShortcut,
    cifar_resnet,
)
from .cifar_resnet import get as get_model
from .densenet import DenseNet121, DenseNet169, DenseNet201
from .inception_resnet_v2 import InceptionResNetV2
from .inception_v3 import InceptionV3
from .mobilenet import MobileNet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet50, ResNet101, ResNet152
from .resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from .vgg16 import VGG16
from .vgg19 import VGG19
from .xception import Xception

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

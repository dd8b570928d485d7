"""Keras's image augmentation layers (``keras.layers.Random*``, CenterCrop, Pipeline, MaxNumBoundingBoxes).

Where each lives:

* :mod:`.base` — :class:`BaseImagePreprocessingLayer`, the base every augmentation layer extends (its
  docstring is the contract: random transformation → images, labels, boxes, masks);
* :mod:`.bounding_boxes` — box formats, conversions, clipping and affine maps (``keras.utils.bounding_boxes``);
* :mod:`.flip_crop` — RandomFlip, RandomCrop, CenterCrop;
* :mod:`.affine` — RandomTranslation, RandomRotation, RandomZoom (through ``ops.image.affine_transform``);
* :mod:`.color` — RandomContrast, RandomBrightness, RandomGrayscale, RandomHue, RandomSaturation,
  RandomColorJitter;
* :mod:`.erasing_blur` — RandomErasing, RandomGaussianBlur;
* :mod:`.pipeline` — Pipeline, MaxNumBoundingBoxes;
* :mod:`.geometric` — RandomPerspective, RandomShear, RandomElasticTransform;
* :mod:`.intensity` — RandomInvert, RandomPosterization, RandomSharpness, RandomColorDegeneration,
  Solarization, AutoContrast, Equalization;
* :mod:`.mixing` — MixUp, CutMix, AugMix, RandAugment;
* :mod:`.clahe` — ContrastLimitedAdaptiveHistogramEqualization.
"""
from .affine import *  # noqa: F403
from .base import BaseImagePreprocessingLayer
from .clahe import ContrastLimitedAdaptiveHistogramEqualization
from .color import *  # noqa: F403
from .erasing_blur import *  # noqa: F403
from .flip_crop import *  # noqa: F403
from .geometric import *  # noqa: F403
from .intensity import *  # noqa: F403
from .mixing import *  # noqa: F403
from .pipeline import *  # noqa: F403

__all__ = ["CenterCrop", "MaxNumBoundingBoxes", "Pipeline", "RandomBrightness",  # noqa: F405
           "RandomColorJitter", "RandomContrast", "RandomCrop", "RandomErasing", "RandomFlip", "RandomGaussianBlur",
           "RandomGrayscale", "RandomHue", "RandomRotation", "RandomSaturation", "RandomTranslation", "RandomZoom",
           "AugMix", "AutoContrast", "CutMix", "Equalization", "MixUp", "RandAugment", "RandomColorDegeneration",
           "RandomElasticTransform", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomSharpness",
           "RandomShear", "Solarization", "ContrastLimitedAdaptiveHistogramEqualization"]

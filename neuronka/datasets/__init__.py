"""Datasets: CIFAR-10/100 (Keras's ``load_data``), image-folder trees, and batching with augmentation.

- ``cifar10.load_data(path=None)``, ``cifar100.load_data(label_mode="fine", path=None)``: Keras's arrays;
  the formats read and where they are looked for: :mod:`neuronka.datasets.cifar`.
- :func:`load_image_folder`: ``<dir>/<class>/<image>`` (or a tar archive of one) → ``(x, y, class_names)``.
- :class:`ImageBatches`: seeded, re-iterable (x, y) batches for ``model.fit``, with vectorized
  augmentation (:class:`Augmentation`) and per-channel normalization.
- ``neuronka.datasets.text`` (imported on demand: it needs the layers): the SMS spam and sentiment sets.
"""
from . import cifar10, cifar100
from .cifar import cache_dir
from .images import load_image_folder
from .pipeline import Augmentation, ImageBatches, channel_stats

__all__ = ["cifar10", "cifar100", "cache_dir", "load_image_folder", "Augmentation", "ImageBatches", "channel_stats"]

"""CIFAR-10: 50,000 training and 10,000 test 32×32 RGB images in 10 classes (Keras: ``keras.datasets.cifar10``).

``load_data(path=None)`` returns ``(x_train, y_train), (x_test, y_test)``: x uint8 ``(N, 32, 32, 3)``,
y uint8 ``(N, 1)`` indexing :data:`CLASS_NAMES`. Where the data is looked for, and the formats read,
are described in :mod:`neuronka.datasets.cifar`.
"""
from __future__ import annotations

import os

import numpy

from .cifar import CIFAR10_CLASS_NAMES, load_cifar10

CLASS_NAMES = CIFAR10_CLASS_NAMES  # label i is CLASS_NAMES[i], the order of the official batches.meta


def load_data(path: str | os.PathLike | None = None) -> tuple[tuple[numpy.ndarray, numpy.ndarray],
                                                              tuple[numpy.ndarray, numpy.ndarray]]:
    """Load CIFAR-10: ``(x_train, y_train), (x_test, y_test)``, x uint8 (N, 32, 32, 3), y uint8 (N, 1) in 0..9.

    ``path``: the official ``cifar-10-python.tar.gz``, its extracted ``cifar-10-batches-py`` folder, an
    image-folder tree (``train/<class>/*``, ``test/<class>/*``) or a ``.tar.gz`` of one, or a folder
    holding one of these. Without it: ``$NEURONKA_DATA``, then the user cache, then a download.
    """
    return load_cifar10(path)

"""CIFAR-100: 50,000 training and 10,000 test 32×32 RGB images in 100 classes grouped into 20 superclasses
(Keras: ``keras.datasets.cifar100``).

``load_data(label_mode="fine", path=None)`` returns ``(x_train, y_train), (x_test, y_test)``: x uint8
``(N, 32, 32, 3)``, y int64 ``(N, 1)`` indexing :data:`FINE_LABEL_NAMES` (``"fine"``) or
:data:`COARSE_LABEL_NAMES` (``"coarse"``). Where the data is looked for, and the formats read, are
described in :mod:`neuronka.datasets.cifar`.
"""
from __future__ import annotations

import os

import numpy

from .cifar import (
    CIFAR100_COARSE_LABEL_NAMES,
    CIFAR100_FINE_LABEL_NAMES,
    CIFAR100_FINE_TO_COARSE,
    CIFAR100_SUPERCLASSES,
    load_cifar100,
)

FINE_LABEL_NAMES = CIFAR100_FINE_LABEL_NAMES  # the 100 classes, in the official meta's order
COARSE_LABEL_NAMES = CIFAR100_COARSE_LABEL_NAMES  # the 20 superclasses, in the official meta's order
FINE_TO_COARSE = CIFAR100_FINE_TO_COARSE  # FINE_TO_COARSE[fine label] = its superclass label
SUPERCLASSES = CIFAR100_SUPERCLASSES  # superclass name -> its 5 class names


def load_data(label_mode: str = "fine", path: str | os.PathLike | None = None
              ) -> tuple[tuple[numpy.ndarray, numpy.ndarray], tuple[numpy.ndarray, numpy.ndarray]]:
    """Load CIFAR-100: ``(x_train, y_train), (x_test, y_test)``, x uint8 (N, 32, 32, 3), y int64 (N, 1).

    ``label_mode``: ``"fine"`` (100 classes, 0..99) or ``"coarse"`` (20 superclasses, 0..19).
    ``path``: the official ``cifar-100-python.tar.gz``, its extracted ``cifar-100-python`` folder, an
    image-folder tree of the 100 fine classes (``train/<class>/*``, ``test/<class>/*``; the coarse labels
    then follow from :data:`FINE_TO_COARSE`) or a ``.tar.gz`` of one, or a folder holding one of these.
    Without it: ``$NEURONKA_DATA``, then the user cache, then a download.
    """
    return load_cifar100(label_mode, path)

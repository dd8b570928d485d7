"""``neuronka.utils``: Keras's ``keras.utils`` helpers (progress bar, PyDataset, one-hot labels)."""
from __future__ import annotations

import numpy

from ..backend import clear_session, is_keras_tensor, standardize_dtype
from ..config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled
from ..random import set_random_seed
from .progbar import Progbar


class PyDataset:
    """Base class for Python data sets fed to ``fit`` batch by batch (Keras's ``keras.utils.PyDataset``).

    Subclasses define ``__len__`` (the number of batches) and ``__getitem__(index)`` returning
    ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` for one batch; ``on_epoch_end`` runs after
    every epoch. ``workers``/``use_multiprocessing``/``max_queue_size`` are accepted and ignored
    (batches are produced in the training thread).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (the number of batches)")

    def __getitem__(self, index: int):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__ (one batch)")

    def on_epoch_end(self) -> None:
        pass

    @property
    def num_batches(self) -> int:
        return len(self)


Sequence = PyDataset


def to_categorical(x, num_classes: int | None = None) -> numpy.ndarray:
    """One-hot encode integer labels: out[..., c] = 1 where x == c (float32, one more axis).

    A trailing axis of size 1 is dropped first, as in Keras.
    """
    x = numpy.asarray(x, dtype="int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: expected labels in [0, {num_classes}), "
                         f"received values in [{x.min()}, {x.max()}]")
    out = numpy.zeros((*x.shape, num_classes), dtype="float32")
    numpy.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


__all__ = ["Progbar", "PyDataset", "Sequence", "clear_session", "disable_interactive_logging",
           "enable_interactive_logging", "is_interactive_logging_enabled", "is_keras_tensor", "set_random_seed",
           "standardize_dtype", "to_categorical"]

"""``keras.utils.PyDataset``: a Python data set fed to ``fit`` batch by batch."""
from __future__ import annotations


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

"""``keras.utils.PyDataset``: the same contract as Keras's, and workers that really prepare batches in other
threads or processes, in order."""
from __future__ import annotations

import os
import threading

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip


def _dataset_class(base):
    class Squares(base):
        def __init__(self, n=7, **kwargs):
            super().__init__(**kwargs)
            self.n, self.seen, self.epochs = n, [], 0

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            self.seen.append((threading.get_ident(), os.getpid()))
            x = numpy.full((2, 3), float(i), "float32")
            return x, (x[:, :1] ** 2)

        def on_epoch_end(self):
            self.epochs += 1

    return Squares


@keras_api("utils.PyDataset", "utils.Sequence")
def test_pydataset_contract_equals_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        assert m.utils.Sequence is m.utils.PyDataset
    k_ds, n_ds = _dataset_class(keras.utils.PyDataset)(workers=3, max_queue_size=4), _dataset_class(
        nk.utils.PyDataset)(workers=3, max_queue_size=4)
    for attr in ("workers", "use_multiprocessing", "max_queue_size", "num_batches"):
        assert getattr(n_ds, attr) == getattr(k_ds, attr), attr
    for (kx, ky), (nx, ny) in zip(k_ds, n_ds):
        numpy.testing.assert_array_equal(nx, kx)
        numpy.testing.assert_array_equal(ny, ky)

    class NoSuper(nk.utils.PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

    with pytest.warns(UserWarning, match="should call `super"):
        assert NoSuper().workers == 1


@pytest.mark.parametrize("workers,processes", [(1, False), (3, False), (2, True)])
def test_fit_with_workers_sees_every_batch_in_order_and_uses_the_workers(workers, processes):
    from neuronka.utils.pydataset import iterate_batches

    ds = _dataset_class(nk.utils.PyDataset)(n=9, workers=workers, use_multiprocessing=processes, max_queue_size=2)
    order = [4, 0, 8, 1, 7, 2, 6, 3, 5]
    got = [int(x[0, 0]) for x, _ in iterate_batches(ds, order)]
    assert got == order
    if processes:
        assert not ds.seen  # the batches were made in the worker processes, not here
    elif workers > 1:
        assert {t for t, _ in ds.seen} - {threading.get_ident()}  # other threads made batches
    model = nk.Sequential([nk.Input((3,)), nk.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and ds.epochs == 2
    assert model.predict(ds, verbose=0).shape == (18, 1)


def test_worker_errors_reach_the_caller():
    from neuronka.utils.pydataset import iterate_batches

    class Broken(nk.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 2:
                raise KeyError("batch 2 is missing")
            return numpy.zeros((1, 1))

    for kw in ({"workers": 2}, {"workers": 2, "use_multiprocessing": True}):
        with pytest.raises(KeyError, match="batch 2 is missing"):
            list(iterate_batches(Broken(**kw), range(4)))
    with pytest.raises(ValueError, match="workers"):
        Broken(workers=0)

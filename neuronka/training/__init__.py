"""The training job behind ``neuronka train``: one run folder holds everything a run makes.

``train(model="resnet20", dataset="cifar10", epochs=30, out="runs/r20")`` (or the ``neuronka train`` command)
loads the data (:mod:`neuronka.datasets`), builds the model (:mod:`neuronka.applications`), trains it with
``model.fit`` on a seeded pipeline, checkpoints every epoch, and ends with the test-set report::

    runs/r20/
      config.json            the run's settings (every option, defaults resolved), class names, normalization
      checkpoint.json        the last finished epoch, the history so far, the checkpoint's weights file
      checkpoint/epoch-NNNN.weights.npz   weights + optimizer state after epoch NNNN (the latest only)
      history.csv            per epoch: loss, accuracy, val_loss, val_accuracy, learning_rate
      model.keras            the final model (architecture, weights, optimizer)
      report.txt / report.json   precision / recall / F1 per class, accuracy, macro and weighted averages
      confusion_matrix.png, training_curves.png
      results.json           test accuracy and loss, images/s, training and wall time
      vectorizer.json, vocabulary.txt    (text runs) the adapted TextVectorization

Reproducibility and resuming
----------------------------
Everything random is a function of ``(seed, epoch)``: the initial weights come from ``seed``; the shuffle and
the augmentation of batch ``i`` of epoch ``e`` from ``(seed, e, i)`` (:class:`~neuronka.datasets.ImageBatches`,
:class:`TokenBatches`); at the start of every epoch every generator the model draws from (dropout, spatial
dropout, stochastic depth, recurrent dropout masks, NumPy's and Python's global generators) is reseeded from
``(seed, e)``. A checkpoint therefore only needs the weights, the optimizer state (slots and ``iterations``,
which also drives the learning-rate schedule) and the epoch: ``resume=True`` continues from it to the same
weights, bit for bit, as an uninterrupted run with the same settings.

The checkpoint is written in two atomic steps: the weights file (``neuronka.saving.save_weights``: temporary
file, fsync, rename) under a name carrying its epoch, then ``checkpoint.json`` pointing to it; only then is
the previous weights file removed. A crash at any point leaves a consistent checkpoint.

Where things are: the options and their checks in :mod:`.settings`; loading the data, the token batches and
the per-epoch reseeding in :mod:`.data`; the model, optimizer, schedule and loss in :mod:`.recipe`; the run
folder on disk (atomic writes, lock, resume checks) in :mod:`.runfolder`; :func:`train` and the checkpoints
in :mod:`.job`; the test-set report in :mod:`.report`; using a finished run (:func:`load_run`,
:func:`evaluate`, :func:`predict`) in :mod:`.runs`; the job on several MPI processes (``mpiexec -n P``: shards,
process 0 decides and writes, resume with any number of processes) in :mod:`.parallel`.
"""
from __future__ import annotations

from .data import TokenBatches, reseed
from .job import train
from .recipe import build_model, make_optimizer, make_schedule
from .runs import evaluate, load_run, predict
from .settings import (
    DEFAULT_LR,
    IMAGE_DATASETS,
    OPTIMIZERS,
    RUN_OPTIONS,
    SCHEDULES,
    TEXT_DATASETS,
    JobError,
    parse_augment,
    parse_text_augment,
    resolve_settings,
)

__all__ = [
    "DEFAULT_LR",
    "IMAGE_DATASETS",
    "OPTIMIZERS",
    "RUN_OPTIONS",
    "SCHEDULES",
    "JobError",
    "TEXT_DATASETS",
    "TokenBatches",
    "build_model",
    "evaluate",
    "load_run",
    "make_optimizer",
    "make_schedule",
    "parse_augment",
    "parse_text_augment",
    "predict",
    "reseed",
    "resolve_settings",
    "train",
]

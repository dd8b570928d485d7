"""``neuronka lab``: the notes' claims as experiments, one command each (see docs/lab.md).

    neuronka lab list
    neuronka lab run vanishing-gradients --quick --out runs/lab/vg

Each experiment (:data:`EXPERIMENTS`, in the notes' order) measures one claim on real data where it can
(scikit-learn's digits, the shared CIFAR-10 copy) and writes figures, ``results.json`` and ``results.md``
into its run folder (:mod:`neuronka.lab.runner`). ``--quick`` is the smoke-test scale (under a minute).
"""
from __future__ import annotations

from .registry import EXPERIMENTS, get, run
from .runner import Experiment, Run, run_experiment

__all__ = ["EXPERIMENTS", "Experiment", "Run", "get", "run", "run_experiment"]

"""The ten experiments, in the notes' order, by name."""
from __future__ import annotations

from .runner import Experiment, Run, run_experiment


def _lazy(module: str, function: str = "experiment"):
    """The experiment function, imported when the experiment runs (``lab list`` imports nothing heavy)."""
    def fn(run: Run) -> None:
        import importlib  # noqa: PLC0415

        getattr(importlib.import_module(f"neuronka.lab.{module}"), function)(run)

    return fn


_ALL = [
    Experiment("linear-collapse", 1, "Stacked linear layers collapse into one",
               "Without a nonlinearity, any number of layers equals one linear layer; a deep linear net cannot "
               "learn what a small nonlinear net learns.", _lazy("linear"), "synthetic (two spirals)", "~1 min"),
    Experiment("vanishing-gradients", 2, "Sigmoid and tanh gradients vanish; ReLU keeps them, and is sparse",
               "Sigmoid and tanh saturate, so gradients vanish in deep nets; ReLU mitigates that; with random "
               "init half of ReLU's activations are zero (sparsity).", _lazy("activations", "vanishing"),
               "digits", "~2 min"),
    Experiment("dying-relu", 3, "ReLU units die; Leaky ReLU max(0.1x, x) keeps them alive",
               "ReLU units can die (zero gradient for x < 0); Leaky ReLU max(0.1x, x) keeps them alive.",
               _lazy("activations", "dying"), "digits", "~2 min"),
    Experiment("initialization", 4, "Xavier / He initialization keeps signals in range",
               "Normalized initialization (Xavier, He) keeps activations and gradients in range; He is the one "
               "for ReLU.", _lazy("initialization"), "digits", "~1 min"),
    Experiment("batch-norm", 5, "Batch normalization stabilizes and speeds up training",
               "Batch normalization stabilizes and speeds up training, and regularizes a little.",
               _lazy("normalization"), "digits", "~3 min"),
    Experiment("l1-sparsity", 6, "L1 gives exact zeros, L2 only small weights",
               "L1 drives weights to exactly zero (sparsity); L2 / weight decay makes them small but not zero.",
               _lazy("regularization", "l1_sparsity"), "digits", "~1 min"),
    Experiment("overfitting", 7, "Regularizers reduce overfitting; label smoothing tempers confidence",
               "Dropout, DropConnect, data augmentation, early stopping, weight sharing (convolution vs dense), "
               "stochastic depth and label smoothing reduce overfitting; label smoothing makes predictions less "
               "over-confident.", _lazy("overfitting"), "cifar10 (a 1,000-image subset)", "~12 min"),
    Experiment("degradation", 8, "Deeper plain nets train worse; residual connections fix it",
               "Deeper plain networks get worse — higher training error, so it is not overfitting (degradation) — "
               "and residual connections F(x)+x fix it (He et al. 2015, Fig. 6).", _lazy("resnets", "degradation"),
               "cifar10 (2,000-image subset)", "~8 min"),
    Experiment("bottleneck", 9, "Bottleneck blocks are cheaper than basic blocks at equal depth",
               "Bottleneck blocks (1×1, 3×3, 1×1) reach the same depth with fewer parameters and FLOPs than basic "
               "blocks.", _lazy("resnets", "bottleneck"), "none (counts; timing on random input)", "~1 min"),
    Experiment("resnet20-cifar10", 10, "ResNet-20 reaches ≥ 91 % on CIFAR-10 in ~90 min on 2 cores",
               "ResNet-20 on CIFAR-10 reaches He et al.'s 8.75 % test error (91.25 % accuracy).",
               _lazy("recipe"), "cifar10 (all 50,000 / 10,000)", "~90 min (the epochs fit the machine's speed)"),
]

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _ALL}


def get(name: str) -> Experiment:
    """An experiment by name or by claim number ("3")."""
    key = str(name).strip().lower()
    if key.isdigit():
        for e in _ALL:
            if e.number == int(key):
                return e
    if key not in EXPERIMENTS:
        raise ValueError(f"lab: unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)} "
                         f"(or a claim number 1-{len(_ALL)}); `neuronka lab list` shows them")
    return EXPERIMENTS[key]


def run(name: str, out=None, quick: bool = False, seed: int = 0, data: str | None = None, verbose: bool = True):
    """Run the experiment ``name`` into ``out``; returns the :class:`~neuronka.lab.runner.Run`."""
    return run_experiment(get(name), out=out, quick=quick, seed=seed, data=data, verbose=verbose)

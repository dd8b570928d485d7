"""The lab's data: scikit-learn's bundled digits, a subset of CIFAR-10 (the shared copy), and two synthetic
2-D sets (interleaved spirals) for the claim about linear maps. All shuffles come from
:func:`neuronka.random.generator`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy

from .. import random as nk_random


def digits(seed: int = 0, test_fraction: float = 0.3, images: bool = False):
    """scikit-learn's 1,797 8×8 digits: ``(x_train, y_train), (x_test, y_test)``, x standardized per pixel
    (train statistics), flat (N, 64) or ``images=True`` (N, 8, 8, 1); y int64 in 0..9."""
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415 - bundled with scikit-learn, no download
    except ImportError:
        raise FileNotFoundError("lab: the digits experiments need scikit-learn (pip install 'neuronka[lab]'); "
                                "its bundled 8x8 digits are the data") from None
    d = load_digits()
    x = d.data.astype(numpy.float32)
    y = d.target.astype(numpy.int64)
    order = nk_random.generator(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0) + 1.0  # +1: the always-blank pixels stay 0, not 0/0
    x = (x - mean) / std
    if images:
        x = x.reshape(-1, 8, 8, 1)
    return (x[train], y[train]), (x[test], y[test])


def spirals(n: int = 1000, seed: int = 0, noise: float = 0.08, turns: float = 1.5):
    """Two interleaved spirals in the plane, n points per class: no line separates them. x float32 (2n, 2)."""
    rng = nk_random.generator(seed)
    t = numpy.sqrt(rng.uniform(0.05, 1.0, size=2 * n)) * turns * 2 * numpy.pi
    label = numpy.repeat([0, 1], n)
    angle = t + numpy.pi * label
    r = t / (turns * 2 * numpy.pi)
    x = numpy.stack([r * numpy.cos(angle), r * numpy.sin(angle)], 1) + rng.normal(0, noise, (2 * n, 2))
    order = rng.permutation(2 * n)
    return x[order].astype(numpy.float32), label[order].astype(numpy.int64)


def cifar10_location(path: str | None = None) -> str:
    """Where the CIFAR-10 data is: ``path``, ``$NEURONKA_DATA``, or a ``shared/datasets`` folder beside the
    working directory or this checkout. Raises FileNotFoundError saying where it looked (no download)."""
    if path is not None:
        return path
    candidates = []
    if os.environ.get("NEURONKA_DATA"):
        candidates.append(Path(os.environ["NEURONKA_DATA"]).expanduser())
    checkout_side = Path(__file__).resolve().parents[3] / "shared" / "datasets"
    candidates += [Path.cwd().parent / "shared" / "datasets", checkout_side]
    for c in candidates:
        for sub in (c / "cifar10", c):
            if sub.is_dir() and (any(sub.glob("cifar10*.tar.gz")) or (sub / "cifar-10-batches-py").is_dir()
                                 or any(sub.glob("cifar-10-python.tar.gz"))):
                return str(sub)
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"lab: CIFAR-10 not found (looked in {looked}); give --data PATH (the official archive or "
                            f"an image-folder tree) or set NEURONKA_DATA")


def cifar10_subset(n_train: int, n_test: int, seed: int = 0, path: str | None = None, from_train: bool = True):
    """A class-balanced random subset of CIFAR-10, float32 scaled to [0, 1] then standardized per channel with
    the subset's training statistics: ``(x_train, y_train), (x_held, y_held)``.

    ``from_train=True`` takes the held-out images from the *training* split (a validation set, so that
    comparisons never touch the test split); False takes them from the test split."""
    from ..datasets import cifar10  # noqa: PLC0415

    (xtr, ytr), (xte, yte) = cifar10.load_data(path=cifar10_location(path))
    ytr, yte = ytr.reshape(-1).astype(numpy.int64), yte.reshape(-1).astype(numpy.int64)
    rng = nk_random.generator(seed)
    order = rng.permutation(len(xtr))
    if from_train:
        train_idx, held_idx = order[:n_train], order[n_train:n_train + n_test]
        xh, yh = xtr[held_idx], ytr[held_idx]
    else:
        train_idx = order[:n_train]
        held = rng.permutation(len(xte))[:n_test]
        xh, yh = xte[held], yte[held]
    xt, yt = xtr[train_idx].astype(numpy.float32) / 255.0, ytr[train_idx]
    xh = xh.astype(numpy.float32) / 255.0
    mean, std = xt.mean((0, 1, 2)), xt.std((0, 1, 2))
    return ((xt - mean) / std, yt), ((xh - mean) / std, yh)

"""How many epochs of ResNet-20 training a time budget buys on this machine, and what they reach (#16, claim 10).

    python benchmarks/epoch_budget.py                  # 90 minutes, CIFAR-10's 50,000 training images
    python benchmarks/epoch_budget.py --minutes 90 --steps 6 --no-measure

Claim 10 asks for ≥ 91 % test accuracy from one ~90-minute run on this machine's 2 cores. This script puts
the two sides of that next to each other:

* **what the machine can do.** A training step of ResNet-20 costs 3 × its forward FLOPs (forward, input
  gradient, weight gradient: three GEMM-shaped products of the same size per convolution). Divided into the
  GEMM peak (a 2048³ float32 ``numpy.matmul``, the best this BLAS does on the 2 cores), that gives the most
  epochs the budget could buy if every convolution ran at the peak and batch norm, ReLU, the optimizer and
  the data pipeline cost nothing. The measured neuronka step (``train_on_batch`` at batch 128, median of
  ``--steps``) gives the epochs it buys today.
* **what epochs buy.** ``benchmarks/results/2026-12-04-recipe-sweep-h200.json``: a PyTorch twin of the same
  ResNet-20 and recipe trained on 45,000 training images, judged on the held-out 5,000, at 30 to 90 epochs
  (``benchmarks/recipe_sweep_torch.py``, docs/lab.md).

The last line says whether any run of the sweep that fits the ceiling reached the target.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from profile_step import build, gemm_peak, time_steps  # noqa: E402
from vs_torch import cifar_resnet_flops  # noqa: E402

from neuronka.lab.recipe import TRAIN_IMAGES  # noqa: E402

SWEEP = os.path.join(HERE, "results", "2026-12-04-recipe-sweep-h200.json")
TARGET = 0.91


def sweep_by_epochs(path: str = SWEEP) -> dict[int, tuple[float, float]]:
    """epochs → (best held-out accuracy, best with the flip averaged in) over the sweep's candidates."""
    with open(path, encoding="utf-8") as f:
        runs = json.load(f)
    best: dict[int, tuple[float, float]] = {}
    for r in runs:
        a, t = best.get(r["epochs"], (0.0, 0.0))
        best[r["epochs"]] = (max(a, r["accuracy"]), max(t, r.get("accuracy_flip_tta") or 0.0))
    return dict(sorted(best.items()))


def epochs_in(seconds: float, images_per_second: float, images: int = TRAIN_IMAGES) -> float:
    return seconds * images_per_second / images


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=90.0)
    p.add_argument("--steps", type=int, default=6, help="timed training steps of neuronka (median)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--no-measure", action="store_true", help="skip timing neuronka (the ceiling only)")
    p.add_argument("--sweep", default=SWEEP)
    a = p.parse_args(argv)

    seconds = 60 * a.minutes
    forward = cifar_resnet_flops(20)  # per image
    step_flops = 3 * forward
    peak = max(gemm_peak(), gemm_peak())
    ceiling_rate = peak * 1e9 / step_flops
    ceiling = epochs_in(seconds, ceiling_rate)
    print(f"ResNet-20 training: {step_flops / 1e6:.0f} MFLOP per image (3 × {forward / 1e6:.1f} forward)")
    print(f"GEMM peak: {peak:.1f} GFLOP/s (float32 numpy.matmul 2048³, best of 2 × 5)")
    print(f"{a.minutes:.0f} minutes at 100 % of the peak, everything else free: {ceiling_rate:.0f} images/s = "
          f"{ceiling:.0f} epochs of {TRAIN_IMAGES:,} images")
    if not a.no_measure:
        model, x, y = build(a.batch)
        time_steps(model, x, y, 2, False)
        rate = a.batch / statistics.median(time_steps(model, x, y, a.steps, False))
        print(f"{a.minutes:.0f} minutes at neuronka's measured step ({rate:.0f} images/s, "
              f"{100 * rate / ceiling_rate:.0f} % of that ceiling): {epochs_in(seconds, rate):.0f} epochs")
    print("\nheld-out accuracy by epochs (PyTorch twin, same recipe, best candidate per row):")
    print(f"  {'epochs':>6}  {'accuracy':>8}  {'flip averaged in':>16}  fits the ceiling")
    reached = []
    for epochs, (acc, tta) in sweep_by_epochs(a.sweep).items():
        fits = epochs <= ceiling
        print(f"  {epochs:>6}  {100 * acc:7.2f}%  {100 * tta:15.2f}%  {'yes' if fits else 'no'}")
        if fits and max(acc, tta) >= TARGET:
            reached.append(epochs)
    verdict = (f"reached at {reached} epochs" if reached else
               f"no run that fits {ceiling:.0f} epochs reached {100 * TARGET:.0f} %, the flip averaged in or not")
    print(f"\ntarget {100 * TARGET:.0f} %: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cold start (issue #19): seconds from launching ``neuronka train`` to the end of its first training step,
against the same job written in PyTorch, each a fresh process, in one run.

- neuronka: ``python -m neuronka train --data CIFAR --limit-train 128 --epochs 1`` (ResNet-20, batch 128, SGD,
  crop + flip), the real command line; the child wraps ``Trainer.train_step`` only to print the clock when the
  first step returns, then exits. Twice with the kernel cache ``NEURONKA_KERNEL_CACHE`` in a fresh folder
  ("first launch": Numba compiles the kernels and caches them there), then ``--repeats`` times with that
  folder filled (every later launch).
- PyTorch: a script that imports torch, reads the same decoded CIFAR-10 cache file neuronka reads, builds the
  ResNet-20 twin (``torch_models.CifarResNet``) and runs one SGD step on 128 images with a crop and flip.

Both read the decoded data from neuronka's cache (``neuronka.datasets.cifar``), warmed before timing, so the
figures compare the frameworks' start, not JPEG decoding. Target (issue #19): neuronka's later launches within
PyTorch's time + 1 s.

    python benchmarks/cold_start.py [--data ../shared/datasets/cifar10/cifar10-jpeg.tar.gz] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "cifar10" / "cifar10-jpeg.tar.gz"

NEURONKA_CHILD = """
import os, sys, time
from neuronka.models import trainer
_step = trainer.Trainer.train_step
def _first_step(self, data):
    out = _step(self, data)
    print(f"FIRST_STEP_END {time.time()!r}", flush=True)
    os._exit(0)
trainer.Trainer.train_step = _first_step
from neuronka.cli import main
sys.exit(main(sys.argv[1:]))
"""

TORCH_CHILD = """
import sys, time
import numpy, torch
import torch.nn.functional as F
sys.path.insert(0, sys.argv[2])
from torch_models import CifarResNet
with numpy.load(sys.argv[1]) as f:
    x, y = f["x_train"][:128], f["y_train_labels"][:128]
x = torch.tensor(x).permute(0, 3, 1, 2).float().div(255.0)
x = (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)
x = F.pad(x, (4, 4, 4, 4))[:, :, 2:34, 5:37].flip(3)  # a crop and a flip
model = CifarResNet(20)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
loss = F.cross_entropy(model(x), torch.tensor(y.astype("int64")).reshape(-1))
opt.zero_grad()
loss.backward()
opt.step()
print(f"FIRST_STEP_END {time.time()!r}", flush=True)
"""


def _seconds_to_first_step(cmd: list[str], env: dict) -> float:
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("FIRST_STEP_END "):
            return float(line.split()[1]) - start
    raise SystemExit(f"cold_start: no first step in {' '.join(cmd[:4])} ... (exit {proc.returncode}):\n"
                     f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="CIFAR-10 (the JPEG copy or the official archive)")
    ap.add_argument("--repeats", type=int, default=3, help="launches with a filled cache, per framework")
    ap.add_argument("--no-torch", action="store_true", help="neuronka only")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from neuronka.datasets import cifar  # the decoded cache, warmed once: both sides read it

    source = cifar._locate(cifar.CIFAR10, args.data)
    cifar.load(cifar.CIFAR10, args.data)
    cache_file = str(cifar._cache_file(cifar.CIFAR10, source))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NEURONKA_KERNEL_CACHE": os.path.join(tmp, "kernels"), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-c", NEURONKA_CHILD, "train", "--data", args.data, "--limit-train", "128",
               "--limit-test", "128", "--epochs", "1", "--batch-size", "128", "--verbose", "0"]
        runs = []
        for i in range(1 + args.repeats):
            runs.append(_seconds_to_first_step(cmd + ["--out", os.path.join(tmp, f"run{i}")], env))
            print(f"neuronka launch {i + 1}{' (empty kernel cache)' if i == 0 else ''}: {runs[-1]:.2f} s", flush=True)
        results["neuronka_first"], results["neuronka"] = runs[0], statistics.median(runs[1:])
        if not args.no_torch:
            runs = [_seconds_to_first_step([sys.executable, "-c", TORCH_CHILD, cache_file, str(HERE)], env)
                    for _ in range(args.repeats)]
            for i, r in enumerate(runs):
                print(f"PyTorch launch {i + 1}: {r:.2f} s", flush=True)
            results["torch"] = statistics.median(runs)
    print(f"\nlaunch → end of the first training step (ResNet-20, batch 128, CIFAR-10), median of {args.repeats}:")
    print(f"  neuronka train, first launch (kernels compiled): {results['neuronka_first']:.2f} s")
    print(f"  neuronka train, later launches (kernels cached): {results['neuronka']:.2f} s")
    if "torch" in results:
        target = results["torch"] + 1.0
        ok = "met" if results["neuronka"] <= target else "MISSED"
        print(f"  PyTorch script:                                  {results['torch']:.2f} s")
        print(f"  target: neuronka ≤ PyTorch + 1 s = {target:.2f} s: {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

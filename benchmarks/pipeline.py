"""Throughput of the training-batch pipeline (neuronka.datasets.ImageBatches), and CIFAR-10 decode times.

Batches of 128 CIFAR-sized images (uint8 32x32x3 in, float32 normalized out), one pass over ``--images``
images per run, ``--repeats`` runs per configuration, reported as the median images/s with the range;
configurations alternate run by run so a busy neighbour slows them alike. The machine's load average is
printed: other processes on a 2-core machine slow every figure. For scale: one ResNet-20 training step
runs at about 400 images/s on these machines, so the pipeline should stay > 10,000 images/s.

    python benchmarks/pipeline.py [--repeats 7] [--images 10240] [--real] [--decode PATH]

``--real`` uses the CIFAR-10 training images (``cifar10.load_data()``: $NEURONKA_DATA, user cache, ...)
instead of random pixels; ``--decode PATH`` also times loading CIFAR-10 from PATH (e.g. the shared
``cifar10/cifar10-jpeg.tar.gz``) into an empty cache, then again from the decoded cache.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("NEURONKA_MALLOC_TUNING", "1")  # a benchmark owns its process: tune malloc as the CLI does

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy  # noqa: E402

from neuronka.datasets import Augmentation, ImageBatches, cifar10  # noqa: E402

CONFIGS = {
    "normalize only": None,
    "crop+flip (CIFAR standard)": Augmentation.cifar(),
    "all, bilinear rotation": Augmentation(crop_padding=4, horizontal_flip=True, rotation=15, shift=0.1,
                                           brightness=0.2, contrast=0.2, noise=0.03, cutout=16),
    "all, nearest rotation": Augmentation(crop_padding=4, horizontal_flip=True, rotation=15, shift=0.1,
                                          brightness=0.2, contrast=0.2, noise=0.03, cutout=16,
                                          interpolation="nearest"),
}


def one_pass(batches: ImageBatches) -> float:
    t = time.perf_counter()
    n = 0
    for xb, _ in batches:
        n += len(xb)
    return n / (time.perf_counter() - t)


def time_decode(path: str) -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        t = time.perf_counter()
        (x, _), (xt, _) = cifar10.load_data(path=path)
        first = time.perf_counter() - t
        cached = []
        for _ in range(3):
            t = time.perf_counter()
            cifar10.load_data(path=path)
            cached.append(time.perf_counter() - t)
    print(f"CIFAR-10 from {path}: {len(x)} + {len(xt)} images; first load (decode + cache) {first:.2f} s, "
          f"cached load {statistics.median(cached):.3f} s (median of 3); load average {os.getloadavg()[0]:.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--images", type=int, default=10240)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--real", action="store_true", help="use the CIFAR-10 training images")
    ap.add_argument("--decode", metavar="PATH", help="also time loading CIFAR-10 from PATH")
    args = ap.parse_args(argv)
    if args.decode:
        time_decode(args.decode)
    if args.real:
        (x, y), _ = cifar10.load_data()
        x, y = x[:args.images], y[:args.images]
    else:
        rng = numpy.random.default_rng(0)
        x = rng.integers(0, 256, size=(args.images, 32, 32, 3), dtype=numpy.uint8)
        y = rng.integers(0, 10, size=(args.images, 1)).astype(numpy.uint8)
    print(f"{len(x)} images per pass, batch {args.batch_size}, {args.repeats} passes per configuration; "
          f"load average before: {os.getloadavg()[0]:.2f}; GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '')!r}")
    pipelines = {name: ImageBatches(x, y, batch_size=args.batch_size, augment=aug, seed=0)
                 for name, aug in CONFIGS.items()}
    for p in pipelines.values():  # warm up: workspace buffers, the noise table
        one_pass(p)
    rates: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(args.repeats):
        for name, p in pipelines.items():
            rates[name].append(one_pass(p))
    width = max(map(len, rates))
    for name, r in rates.items():
        print(f"{name:<{width}}  {statistics.median(r):>9,.0f} images/s  (range {min(r):,.0f} - {max(r):,.0f})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])

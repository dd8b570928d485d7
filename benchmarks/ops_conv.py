"""neuronka's convolution and pooling ops against torch.nn.functional, in one run.

Shapes are ResNet-20's on CIFAR (batch 128; 16/32/64 channels at 32/16/8 pixels),
float32, 2 threads for both (OMP/OpenBLAS/MKL, torch.set_num_threads). The two
frameworks alternate (A B A B ...); each cell is the median of ``--repeats`` runs,
with the range. "fwd" times the forward with a graph recorded; "bwd" times the
backward alone (input and weight gradients). Ratios > 1 mean neuronka is slower;
the ratio of minima is the steadier one on a shared machine (noise only adds time).
The last line weights each convolution by how many a ResNet-20 has (one training step).

    python benchmarks/ops_conv.py [--repeats 11] [--threads 2] [--only conv3x3]
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("NEURONKA_MALLOC_TUNING", "1")  # a benchmark owns its process: tune malloc as the CLI does

THREADS = "2"
for _i, _a in enumerate(sys.argv):
    if _a == "--threads" and _i + 1 < len(sys.argv):
        THREADS = sys.argv[_i + 1]
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS

import statistics  # noqa: E402
import time  # noqa: E402

import numpy  # noqa: E402

import neuronka as nk  # noqa: E402
from neuronka.ops import convolution as nconv  # noqa: E402
from neuronka.ops import pooling as npool  # noqa: E402

# name, how many a ResNet-20 with projection shortcuts has, batch, size, in channels, out channels, kernel, stride
CONV_CASES = [
    ("conv3x3 s1 3->16 @32 (stem)", 1, 128, 32, 3, 16, 3, 1),
    ("conv3x3 s1 16->16 @32", 6, 128, 32, 16, 16, 3, 1),
    ("conv3x3 s2 16->32 @32", 1, 128, 32, 16, 32, 3, 2),
    ("conv3x3 s1 32->32 @16", 5, 128, 16, 32, 32, 3, 1),
    ("conv3x3 s2 32->64 @16", 1, 128, 16, 32, 64, 3, 2),
    ("conv3x3 s1 64->64 @8", 5, 128, 8, 64, 64, 3, 1),
    ("conv1x1 s2 16->32 @32", 1, 128, 32, 16, 32, 1, 2),
    ("conv1x1 s2 32->64 @16", 1, 128, 16, 32, 64, 1, 2),
    ("conv1x1 s1 64->64 @8", 0, 128, 8, 64, 64, 1, 1),
]
# name, batch, size, channels, pool, stride, padding
POOL_CASES = [
    ("max_pool 2x2 s2 16ch @32", 128, 32, 16, 2, 2, "valid"),
    ("max_pool 3x3 s2 same 16ch @32", 128, 32, 16, 3, 2, "same"),
    ("max_pool 2x2 s2 64ch @8", 128, 8, 64, 2, 2, "valid"),
    ("average_pool 2x2 s2 16ch @32", 128, 32, 16, 2, 2, "valid"),
]


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def alternate(pairs, repeats, cooldown):
    """pairs: {label: (setup, timed_part)}; runs them in turn, returns label -> list of seconds.

    Before each timed call the process sleeps ``cooldown`` seconds: the worker threads of the
    framework that ran last (libgomp's, OpenBLAS's) spin for a while after their work and
    would otherwise steal the cores from the one being timed.
    """
    out = {k: [] for k in pairs}
    for _ in range(2):  # warm-up: scratch buffers, thread pools, oneDNN primitives
        for setup, part in pairs.values():
            part(setup())
    for _ in range(repeats):
        for k, (setup, part) in pairs.items():
            state = setup()
            time.sleep(cooldown)
            out[k].append(timed(lambda: part(state)))  # noqa: B023
    return out


def fmt(ts):
    ms = [t * 1e3 for t in ts]
    return f"{statistics.median(ms):6.2f} ({min(ms):.1f}-{max(ms):.1f})"


def conv_pairs(torch, F, n, size, cin, cout, k, s, rng):
    x = rng.standard_normal((n, size, size, cin)).astype(numpy.float32)
    w = (rng.standard_normal((k, k, cin, cout)) / numpy.sqrt(k * k * cin)).astype(numpy.float32)
    pad = "same" if k > 1 else "valid"
    ho = -(-size // s)
    gy = rng.standard_normal((n, ho, ho, cout)).astype(numpy.float32)
    xt = torch.from_numpy(numpy.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    wt = torch.from_numpy(numpy.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    gyt = torch.from_numpy(numpy.ascontiguousarray(gy.transpose(0, 3, 1, 2)))
    xcl, gycl = xt.contiguous(memory_format=torch.channels_last), gyt.contiguous(memory_format=torch.channels_last)
    tp = k // 2

    def nk_fwd():
        xx, ww = nk.Tensor(x, requires_grad=True), nk.Tensor(w, requires_grad=True)
        return nconv.conv(xx, ww, strides=s, padding=pad)

    def t_fwd(xin):
        def f():
            xx, ww = xin.detach().requires_grad_(), wt.detach().requires_grad_()
            return F.conv2d(xx, ww, stride=s, padding=tp)
        return f

    return {
        "nk fwd": (lambda: None, lambda _: nk_fwd()),
        "torch fwd": (lambda: None, lambda _: t_fwd(xt)()),
        "torch-cl fwd": (lambda: None, lambda _: t_fwd(xcl)()),
        "nk bwd": (nk_fwd, lambda y: y.backward(gy)),
        "torch bwd": (t_fwd(xt), lambda y: y.backward(gyt)),
        "torch-cl bwd": (t_fwd(xcl), lambda y: y.backward(gycl)),
    }


def pool_pairs(torch, F, n, size, c, p, s, padding, kind, rng):
    x = rng.standard_normal((n, size, size, c)).astype(numpy.float32)
    xt = torch.from_numpy(numpy.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    xcl = xt.contiguous(memory_format=torch.channels_last)
    nk_op = npool.max_pool if kind == "max" else npool.average_pool
    tpad = p // 2 if padding == "same" else 0
    t_op = F.max_pool2d if kind == "max" else F.avg_pool2d

    def nk_fwd():
        return nk_op(nk.Tensor(x, requires_grad=True), p, s, padding)

    def t_fwd(xin):
        def f():
            return t_op(xin.detach().requires_grad_(), p, s, tpad)
        return f

    y0 = nk_fwd()
    gy = rng.standard_normal(y0.shape).astype(numpy.float32)
    yt0 = t_fwd(xt)()
    gyt = torch.from_numpy(numpy.ascontiguousarray(rng.standard_normal(yt0.shape).astype(numpy.float32)))
    gycl = gyt.contiguous(memory_format=torch.channels_last)
    return {
        "nk fwd": (lambda: None, lambda _: nk_fwd()),
        "torch fwd": (lambda: None, lambda _: t_fwd(xt)()),
        "torch-cl fwd": (lambda: None, lambda _: t_fwd(xcl)()),
        "nk bwd": (nk_fwd, lambda y: y.backward(gy)),
        "torch bwd": (t_fwd(xt), lambda y: y.backward(gyt)),
        "torch-cl bwd": (t_fwd(xcl), lambda y: y.backward(gycl)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="run the cases whose name contains this text")
    ap.add_argument("--cooldown", type=float, default=0.1, help="seconds of sleep before each timed call")
    args = ap.parse_args(argv)
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        sys.exit("this benchmark compares with PyTorch: pip install torch")
    torch.set_num_threads(args.threads)
    rng = numpy.random.default_rng(0)
    print(f"numpy {numpy.__version__}, torch {torch.__version__}, {args.threads} threads, "
          f"neuronka conv workers: {nconv.num_workers()}, cpus: {os.cpu_count()}, "
          f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"times in ms: median (min-max) of {args.repeats} alternating runs; ratios neuronka / torch "
          "(medians and minima; > 1: neuronka slower)")
    header = (f"{'case':32s} {'':4s} {'neuronka':>19s} {'torch NCHW':>19s} {'torch ch-last':>19s} "
              f"{'med/NCHW':>8s} {'min/NCHW':>8s} {'min/cl':>7s}")
    print(header)
    print("-" * len(header))
    totals = {k: [0.0, 0.0] for k in ("nk", "torch", "torch-cl")}  # ResNet-20-weighted medians and minima
    cases = [("conv", c) for c in CONV_CASES] + [("pool", c) for c in POOL_CASES]
    for kind, case in cases:
        name = case[0]
        if args.only and args.only not in name:
            continue
        if kind == "conv":
            pairs = conv_pairs(torch, F, *case[2:], rng)
        else:
            pairs = pool_pairs(torch, F, *case[1:], "max" if name.startswith("max") else "avg", rng)
        res = alternate(pairs, args.repeats, args.cooldown)
        for phase in ("fwd", "bwd"):
            a, b, c = res[f"nk {phase}"], res[f"torch {phase}"], res[f"torch-cl {phase}"]
            if kind == "conv":
                for key, ts in (("nk", a), ("torch", b), ("torch-cl", c)):
                    totals[key][0] += case[1] * statistics.median(ts)
                    totals[key][1] += case[1] * min(ts)
            print(f"{name:32s} {phase:4s} {fmt(a):>19s} {fmt(b):>19s} {fmt(c):>19s} "
                  f"{statistics.median(a) / statistics.median(b):8.2f} {min(a) / min(b):8.2f} {min(a) / min(c):7.2f}")
    if totals["torch"][0]:
        print("-" * len(header))
        med, mins = (lambda k: totals[k][0] * 1e3), (lambda k: totals[k][1] * 1e3)
        print(f"{'ResNet-20 convs, 1 step (med; min)':37s} {med('nk'):6.1f}; {mins('nk'):5.1f} "
              f"{med('torch'):11.1f}; {mins('torch'):5.1f} {med('torch-cl'):11.1f}; {mins('torch-cl'):5.1f} "
              f"{med('nk') / med('torch'):8.2f} {mins('nk') / mins('torch'):8.2f} {mins('nk') / mins('torch-cl'):7.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Where the time of one training step (or one inference batch) goes, float32.

    python benchmarks/profile_step.py                   # ResNet-20, batch 128: images/s (median of --steps)
    python benchmarks/profile_step.py --breakdown       # + ms per step by op kind (forward / backward)
    python benchmarks/profile_step.py --cprofile 25     # + the 25 costliest functions (cumulative, cProfile)
    python benchmarks/profile_step.py --torch           # + the same step of a twin ResNet-20 in PyTorch (A B A B)
    python benchmarks/profile_step.py --model resnet50 --batch 16 --breakdown         # the notes' ResNet-50
    python benchmarks/profile_step.py --model resnet50 --batch 1 --infer --breakdown  # predict_on_batch
    python benchmarks/profile_step.py --model mha --batch 32 --breakdown              # MultiHeadAttention

Models: resnet20 / resnet56 (CIFAR, 32×32), resnet50 (224×224, 1000 classes), mha (self-attention
MultiHeadAttention(8, 32) on (T 128, d 256) under an MSE loss: the benchmark's case). ``--infer`` times
``predict_on_batch`` (the inference plans) instead of ``train_on_batch``.

The breakdown wraps every ``Function`` subclass's ``forward``/``backward``, the optimizer, the loss and
the metrics with timers that count *exclusive* time (a timed region inside another is charged to the
inner one only). Convolutions are split by kernel size and stride, each with its GFLOP/s and share of the
GEMM peak (a 2048³ float32 ``numpy.matmul``, measured at the start). What is left of the forward
(``model(x)``) is layer/graph bookkeeping ("python overhead fwd"); what is left of ``loss.backward()`` is the
autograd walk itself (topological order, gradient accumulation, releases: "autograd bookkeeping bwd"). The
timers cost a few µs per op (about 1 ms per step), so the plain images/s comes from untimed steps.

Set the BLAS threads with the environment (``OMP_NUM_THREADS=2``); ``--threads`` sets torch's.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import statistics
import sys
import time

import numpy

os.environ.setdefault("NEURONKA_MALLOC_TUNING", "1")  # a benchmark owns its process: tune malloc as the CLI does

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import neuronka  # noqa: E402
from neuronka import initializers  # noqa: E402
from neuronka.applications.cifar_resnet import get as get_zoo_model  # noqa: E402
from neuronka.autograd import Function, Tensor  # noqa: E402

# op-kind names for the breakdown table (Function class name → kind)
KINDS = {
    "Conv": "conv", "DepthwiseConv": "conv", "ConvTranspose": "conv",
    "BatchNormTrain": "batch norm", "BatchNormalization": "batch norm",
    "Relu": "relu", "Add": "add", "AddRelu": "add + relu (fused)",
    "Pad": "pad/slice (shortcut, zero-padding)", "GetItem": "pad/slice (shortcut, zero-padding)",
    "MatMul": "dense / matmul (MHA: the projections)", "Mean": "mean (global avg pool, MSE)", "Softmax": "softmax",
}


KINDS.update({"FoldedConv": "conv", "MaxPool": "max pool", "DotProductAttention": "attention core (QKᵀ, softmax, PV)"})
CONV_CLASSES = ("Conv", "FoldedConv")


def build(batch: int, seed: int = 0, name: str = "resnet20"):
    initializers.set_seed(seed)
    rng = numpy.random.default_rng(seed)
    if name == "mha":
        from neuronka import layers  # noqa: PLC0415

        x_in = neuronka.Input(shape=(128, 256))
        model = neuronka.Model(x_in, layers.MultiHeadAttention(8, 32)(x_in, x_in))
        model.compile(optimizer=neuronka.optimizers.SGD(0.1, momentum=0.9), loss="mse")
        x = rng.standard_normal((batch, 128, 256)).astype("float32")
        return model, x, rng.standard_normal((batch, 128, 256)).astype("float32")
    if name == "resnet50":
        from neuronka.applications import ResNet50  # noqa: PLC0415

        model, size, classes = ResNet50(weights=None), 224, 1000
    else:
        model, size, classes = get_zoo_model(name), 32, 10
    model.compile(optimizer=neuronka.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((batch, size, size, 3)).astype("float32")
    y = rng.integers(0, classes, size=(batch,)).astype("int64")
    return model, x, y


def gemm_peak() -> float:
    """GFLOP/s of a 2048³ float32 numpy.matmul (best of 5): the denominator of the conv rows' % of peak."""
    a = numpy.random.default_rng(0).standard_normal((2048, 2048)).astype(numpy.float32)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * 2048 ** 3 / best / 1e9


class ConvTimer:
    """Exclusive time and FLOPs of the convolutions, by kernel size and stride (wraps forward / backward)."""

    def __init__(self, timers):
        self.timers, self.flops = timers, collections.defaultdict(float)

    def wrap(self, fn, phase):
        outer = self

        def timed(self_fn, *args):
            g = self_fn.geometry
            label = f"conv {g.kh}x{g.kw}{f' s{g.sh}' if g.sh > 1 else ''} {phase}"
            if phase == "fwd":
                x, w = args[0], args[1]
            else:
                x, w = self_fn.x, self_fn.w  # saved by Conv.forward
            macs = x.shape[0] * g.ho * g.wo * w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]
            outer.flops[label] += 2 * macs * (1 if phase == "fwd" else 2)
            return outer.timers.wrap(fn, label)(self_fn, *args)

        timed.__wrapped__ = fn
        return timed


class Timers:
    """Exclusive wall time per label, over a stack of nested timed regions."""

    def __init__(self):
        self.total = collections.defaultdict(float)
        self.count = collections.defaultdict(int)
        self.stack: list[list] = []  # [label, start, time spent in children]

    def wrap(self, fn, label):
        timers = self

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            timers.stack.append([label, t0, 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                lab, start, child = timers.stack.pop()
                dt = time.perf_counter() - start
                timers.total[lab] += dt - child
                timers.count[lab] += 1
                if timers.stack:
                    timers.stack[-1][2] += dt

        timed.__wrapped__ = fn
        return timed


def _all_functions():
    out, todo = [], [Function]
    while todo:
        c = todo.pop()
        for s in c.__subclasses__():
            out.append(s)
            todo.append(s)
    return out


def instrument(model, timers: Timers):
    """Wrap the ops, the optimizer, the loss and the step phases; returns an undo callable."""
    undo = []

    def patch(owner, attr, label):
        orig = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr)
        if orig is None:
            return
        setattr(owner, attr, timers.wrap(orig, label))
        undo.append((owner, attr, orig))

    conv_timer = ConvTimer(timers)
    timers.conv_flops = conv_timer.flops
    for cls in _all_functions():
        for method, phase in (("forward", "fwd"), ("backward", "bwd")):
            if method not in cls.__dict__:
                continue
            if cls.__name__ in CONV_CLASSES:
                orig = cls.__dict__[method]
                setattr(cls, method, conv_timer.wrap(orig, phase))
                undo.append((cls, method, orig))
            else:
                patch(cls, method, f"{cls.__name__} {phase}")
    patch(model.optimizer, "apply_gradients", "optimizer (SGD momentum)")
    patch(model, "compute_loss", "loss fwd, python")
    patch(model, "compute_metrics", "metrics")
    patch(Tensor, "backward", "autograd bookkeeping bwd")
    patch(model, "call", "python overhead fwd (layers, graph replay, Function.apply)")

    def restore():
        for owner, attr, orig in reversed(undo):
            if isinstance(owner, type):
                setattr(owner, attr, orig)
            else:
                delattr(owner, attr)

    return restore


def time_steps(model, x, y, steps: int, infer: bool = False) -> list[float]:
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        if infer:
            model.predict_on_batch(x)
        else:
            model.train_on_batch(x, y)
        out.append(time.perf_counter() - t0)
    return out


def breakdown(model, x, y, steps: int, infer: bool = False, peak: float | None = None) -> None:
    timers = Timers()
    restore = instrument(model, timers)
    try:
        t0 = time.perf_counter()
        time_steps(model, x, y, steps, infer)
        wall = (time.perf_counter() - t0) / steps
    finally:
        restore()
    rows = collections.defaultdict(float)
    for label, t in timers.total.items():
        name, _, phase = label.rpartition(" ")
        if phase in ("fwd", "bwd") and name in {c.__name__ for c in _all_functions()}:
            kind = KINDS.get(name, "loss/other ops")
            rows[f"{kind} {phase}"] += t
        else:
            rows[label] += t
    accounted = sum(rows.values()) / steps
    what = "batch" if infer else "step"
    print(f"\nbreakdown, ms per {what} (exclusive; mean of {steps} instrumented {what}es, {wall * 1e3:.1f} ms each):"
          .replace("batchs", "batches").replace("stepes", "steps"))
    for label, t in sorted(rows.items(), key=lambda kv: -kv[1]):
        flops = timers.conv_flops.get(label)
        rate = f"  {flops / t / 1e9:6.1f} GFLOP/s" if flops and t > 0 else ""
        if rate and peak:
            rate += f" = {100 * flops / t / 1e9 / peak:4.1f} % of the GEMM peak"
        print(f"  {label:<62s} {t / steps * 1e3:8.2f}{rate}")
    glue = "predict_on_batch" if infer else "train_on_batch"
    print(f"  {glue + ' outside the timers (step glue)':<62s} {(wall - accounted) * 1e3:8.2f}")


def torch_step(batch: int, threads: int):
    import torch  # noqa: PLC0415
    from torch import nn  # noqa: PLC0415

    torch.set_num_threads(threads)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.stride, self.pad = stride, cout - cin

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            sc = x
            if self.stride > 1 or self.pad:
                sc = x[:, :, ::self.stride, ::self.stride]
                sc = nn.functional.pad(sc, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
            return torch.relu(y + sc)

    layers_ = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, c in enumerate((16, 32, 64)):
        for b in range(3):
            layers_.append(Block(cin, c, 2 if stage and b == 0 else 1))
            cin = c
    net = nn.Sequential(*layers_, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(net(x), y)
        loss.backward()
        opt.step()

    return step


def _rescale(table: str, peak: float) -> str:
    """The breakdown printed with a peak of 1 GFLOP/s, its shares recomputed for ``peak``."""
    out = []
    for line in table.splitlines():
        head, sep, tail = line.partition(" GFLOP/s = ")
        if sep:
            rate = float(head.split()[-1])
            line = f"{head}{sep}{100 * rate / peak:4.1f} % of the GEMM peak"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("resnet20", "resnet56", "resnet50", "mha"), default="resnet20")
    p.add_argument("--infer", action="store_true", help="time predict_on_batch instead of train_on_batch")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3, help="A B A B rounds with --torch")
    p.add_argument("--breakdown", action="store_true")
    p.add_argument("--cprofile", type=int, default=0, metavar="N")
    p.add_argument("--torch", action="store_true")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    a = p.parse_args(argv)

    if a.torch and (a.model != "resnet20" or a.infer):
        p.error("--torch: the PyTorch twin is ResNet-20 training only (benchmarks/vs_torch.py has the others)")
    model, x, y = build(a.batch, name=a.model)
    time_steps(model, x, y, a.warmup, a.infer)
    tstep = torch_step(a.batch, a.threads) if a.torch else None
    if tstep is not None:
        for _ in range(a.warmup):
            tstep()
    ours, theirs = [], []
    for _ in range(a.rounds if tstep is not None else 1):
        ours += time_steps(model, x, y, a.steps, a.infer)
        if tstep is not None:
            for _ in range(a.steps):
                t0 = time.perf_counter()
                tstep()
                theirs.append(time.perf_counter() - t0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    med = statistics.median(ours)
    print(f"neuronka {a.model} {'predict_on_batch' if a.infer else 'train step'}, batch {a.batch}: median "
          f"{med * 1e3:.1f} ms "
          f"(min {min(ours) * 1e3:.1f}, max {max(ours) * 1e3:.1f}) = {a.batch / med:.0f} images/s "
          f"[{len(ours)} steps, load avg {load:.2f}]")
    if theirs:
        tm = statistics.median(theirs)
        print(f"torch    ResNet-20 train step, batch {a.batch}: median {tm * 1e3:.1f} ms "
              f"(min {min(theirs) * 1e3:.1f}, max {max(theirs) * 1e3:.1f}) = {a.batch / tm:.0f} images/s")
    if a.breakdown:
        # on a shared machine one measurement of the peak can land in a slow moment: the better of two, one
        # before the instrumented steps and one after (printed first, so the rows' shares use it)
        peak = gemm_peak()
        import io  # noqa: PLC0415
        from contextlib import redirect_stdout  # noqa: PLC0415

        with redirect_stdout(io.StringIO()) as table:
            breakdown(model, x, y, a.steps, a.infer, 1.0)
        peak = max(peak, gemm_peak())
        print(f"GEMM peak: {peak:.1f} GFLOP/s (float32 numpy.matmul 2048³, best of 5, before and after the steps)")
        print(_rescale(table.getvalue(), peak), end="")
    if a.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        time_steps(model, x, y, a.steps, a.infer)
        prof.disable()
        st = pstats.Stats(prof)
        st.sort_stats("tottime").print_stats(a.cprofile)


if __name__ == "__main__":
    main()

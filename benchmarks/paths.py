"""neuronka's fast paths against the reference paths they replace, alternating in one process.

    python benchmarks/paths.py                 # every comparison (about two minutes on 2 cores)
    python benchmarks/paths.py --only conv     # one group: conv, tiles, plans, lstm, bn, fusion, pool, batch1, select

Each row times the same computation both ways, the two alternating (A B A B ...), and prints the minimum
and the median in ms (the minimum is the steadier figure on a shared machine: noise only adds time):

- conv: the 3×3 "same" convolutions of a CIFAR ResNet at batch 128, forward and backward (dx and dW), as
  shifted products (``set_strategy("auto")``) and as im2col (``set_strategy("im2col")``); then the shifted
  products in the compiled kernels of ``ops/_shifted.c`` against one BLAS GEMM per tap (``blas.set_direct``);
- plans: ``predict_on_batch`` of a CIFAR ResNet-20 with its inference plans on and off
  (``model.use_inference_plans``), batch 1 and 128;
- lstm: the LSTM op of the benchmark case (batch 64, 100 steps, 32 features, 128 units), forward and
  backward, with the compiled kernels on and off (``kernels.set_enabled``); then, where ``_recurrent.c`` is
  built, its C time loops (batch rows split over the threads) against the Numba cell kernels;
- bn: batch norm (training) followed by ReLU, forward and backward, 16 channels at 32×32, batch 128, with
  the compiled kernels on and off;
- tiles: the compiled kernels alone on one thread, one chunk of images, the taps of a 3×3 kernel taken in
  rows of three (``_shifted.c``'s fwd3 / wgt3 tiles) and one by one, forward and weight gradient;
- fusion: a ResNet-20 training step at batch 128 with the ReLU layers fused into the batch norms and adds
  before them (``models/fusion.py``) and without;
- pool: max- and average-pool backward (the benchmark's shapes) in the compiled kernels against NumPy;
- select: ResNet-50's 3×3 convolutions as shifted tiles and as im2col + BLAS, forward at batch 8 and 1 and
  backward at batch 16, with the algorithm "auto" picks (``convolution._shifted_wins``); and a CIFAR ResNet's
  first convolution's weight gradient on the unpadded images against the grid;
- batch1: a single image's 3×3 "same" convolution with its rows shared between two threads against one
  thread (whatever ``conv_direct._ROW_SPLIT_MACS`` says), and ResNet-20 ``predict_on_batch`` at batch 1 with
  two threads (rows shared above the threshold) against one.

The lstm group also compares a right-padded LSTM's inference (no gradient: the unmasked compiled loop, states
frozen after each row's length) with the same call under a gradient (the per-step masked loop).

In the conv group, where the compiled kernels are built, the 3×3 "same" layers also compare the kernels
that read the unpadded images (``set_strategy("auto")``) with the padded grid (``"grid"``), the grid's
compiled kernels with one BLAS GEMM per tap, and the strided layers of a CIFAR ResNet (ZeroPadding2D, then a
"valid" 3×3 of stride 2) compiled against im2col.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("NEURONKA_MALLOC_TUNING", "1")  # a benchmark owns its process: tune malloc as the CLI does

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import neuronka  # noqa: E402
from neuronka import Tensor, ops  # noqa: E402
from neuronka.ops import blas, convolution, kernels, recurrent  # noqa: E402


def ab(label_a, fn_a, label_b, fn_b, rounds):
    """Time fn_a and fn_b alternately; {label: (min ms, median ms)}."""
    fn_a(), fn_b()  # warm-up (compilation, scratch buffers, plans)
    times = {label_a: [], label_b: []}
    for _ in range(rounds):
        for label, fn in ((label_a, fn_a), (label_b, fn_b)):
            t0 = time.perf_counter()
            fn()
            times[label].append(1e3 * (time.perf_counter() - t0))
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def row(name, result):
    cells = "   ".join(f"{k} {m:8.2f} (median {md:8.2f})" for k, (m, md) in result.items())
    (a, _), (b, _) = result.values()
    print(f"{name:<38} {cells}   ratio of minima {b / a:5.2f}", flush=True)


def switched(set_fn, value, fn):
    def run():
        previous = set_fn(value)
        try:
            return fn()
        finally:
            set_fn(previous)
    return run


def conv_rows(rounds):
    rng = numpy.random.default_rng(0)
    for c, hw in ((16, 32), (32, 16), (64, 8)):
        x = rng.standard_normal((128, hw, hw, c)).astype("float32")
        w = rng.standard_normal((3, 3, c, c)).astype("float32")
        g = convolution.conv_geometry((hw, hw), (3, 3), (1, 1), (1, 1), "same")
        gy = rng.standard_normal((128, hw, hw, c)).astype("float32")
        for what, fn in (("fwd", lambda x=x, w=w, g=g: convolution.conv_forward(x, w, g)),
                         ("bwd", lambda x=x, w=w, g=g, gy=gy: convolution.conv_backward(x, w, gy, g))):
            row(f"conv3x3 {c}->{c} @{hw} b128 {what}",
                ab("shifted", switched(convolution.set_strategy, "auto", fn),
                   "im2col", switched(convolution.set_strategy, "im2col", fn), rounds))
            if blas.direct_available():
                row(f"  compiled: unpadded images vs grid {what}",
                    ab("unpadded", switched(convolution.set_strategy, "auto", fn),
                       "grid", switched(convolution.set_strategy, "grid", fn), rounds))
                row(f"  grid: kernels vs GEMM per tap {what}",
                    ab("compiled", switched(convolution.set_strategy, "grid", fn),
                       "blas", switched(blas.set_direct, False, fn), rounds))
    if not blas.direct_available():
        return
    for c, o, hw in ((16, 32, 34), (32, 64, 18)):  # a ResNet's ZeroPadding2D → Conv2D(3, strides=2, "valid")
        x = rng.standard_normal((128, hw, hw, c)).astype("float32")
        w = rng.standard_normal((3, 3, c, o)).astype("float32")
        g = convolution.conv_geometry((hw, hw), (3, 3), (2, 2), (1, 1), "valid")
        gy = rng.standard_normal((128, g.ho, g.wo, o)).astype("float32")
        for what, fn in (("fwd", lambda x=x, w=w, g=g: convolution.conv_forward(x, w, g)),
                         ("bwd", lambda x=x, w=w, g=g, gy=gy: convolution.conv_backward(x, w, gy, g))):
            row(f"conv3x3 s2 {c}->{o} @{hw} b128 {what}",
                ab("compiled", switched(blas.set_direct, True, fn),
                   "im2col", switched(blas.set_direct, False, fn), rounds))


def plan_rows(rounds):
    from neuronka.applications.cifar_resnet import get as get_zoo_model

    neuronka.initializers.set_seed(0)
    model = get_zoo_model("resnet20")
    for batch in (1, 128):
        x = numpy.random.default_rng(1).standard_normal((batch, 32, 32, 3)).astype("float32")

        def predict(on, x=x):
            model.use_inference_plans = on
            return model.predict_on_batch(x)

        calls = rounds * (4 if batch == 1 else 1)
        row(f"ResNet-20 predict_on_batch b{batch}",
            ab("plans on", lambda p=predict: p(True), "plans off", lambda p=predict: p(False), calls))


def _kernels(flag):
    return kernels.set_enabled(flag)


def lstm_rows(rounds):
    rng = numpy.random.default_rng(2)
    n, t, f, u = 64, 100, 32, 128
    arrays = [rng.standard_normal(s).astype("float32") * 0.1 for s in
              [(n, t, f), (n, u), (n, u), (f, 4 * u), (u, 4 * u), (4 * u,)]]
    state = {}

    def forward():
        ts = [Tensor(arrays[0])] + [Tensor(a, requires_grad=True) for a in arrays[1:]]
        state["y"] = ops.lstm(*ts, return_sequences=False)[0]

    def forward_backward():
        forward()
        state["y"].backward(numpy.ones(state["y"].shape, "float32"))

    row("LSTM(128) T100 b64 forward", ab("kernels", switched(_kernels, True, forward),
                                         "numpy", switched(_kernels, False, forward), rounds))
    row("LSTM(128) T100 b64 forward+backward", ab("kernels", switched(_kernels, True, forward_backward),
                                                  "numpy", switched(_kernels, False, forward_backward), rounds))
    if recurrent._c_loops(arrays[0], u) is not None:
        loops = recurrent._C_LOOPS

        def c_loops(flag):
            previous = recurrent._C_LOOPS
            recurrent._C_LOOPS = loops if flag else False
            return previous is not False

        for what, fn in (("forward", forward), ("forward+backward", forward_backward)):
            row(f"  LSTM: C time loops vs Numba cells {what}",
                ab("C loops", switched(c_loops, True, fn), "numba", switched(c_loops, False, fn), rounds))
    lstm_mask_rows(rounds)


def lstm_mask_rows(rounds):
    """Right padding, inference: the frozen-states path (no gradient) against the per-step masked loop."""
    rng = numpy.random.default_rng(4)
    n, t, f, u = 32, 100, 64, 64  # the text classifier's LSTM
    arrays = [rng.standard_normal(s).astype("float32") * 0.1 for s in [(n, t, f), (f, 4 * u), (u, 4 * u), (4 * u,)]]
    mask = numpy.arange(t)[None, :] < rng.integers(20, t + 1, n)[:, None]

    def masked_lstm():
        return ops.lstm(Tensor(arrays[0]), None, None, *[Tensor(a) for a in arrays[1:]], mask=mask,
                        return_sequences=False)

    def inference():
        with neuronka.autograd.no_grad():
            return masked_lstm()

    row("LSTM(64) T100 b32 right-padded inference", ab("frozen", inference, "stepwise", masked_lstm, rounds))


def bn_rows(rounds):
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((128, 32, 32, 16)).astype("float32")
    gy = rng.standard_normal(x.shape).astype("float32")
    gamma, beta = numpy.ones(16, "float32"), numpy.zeros(16, "float32")

    def step():
        xt = Tensor(x, requires_grad=True)
        y, _, _ = ops.batch_norm_train(xt, Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True))
        ops.relu(y).backward(gy)

    row("batch norm + ReLU 16ch @32 b128 fwd+bwd", ab("kernels", switched(_kernels, True, step),
                                                     "numpy", switched(_kernels, False, step), rounds))


def tile_rows(rounds):
    """The compiled kernels alone on one thread, on one pre-placed chunk of 4 padded 32×32 (16 ch), 16×16
    (32 ch) or 8×8 (64 ch) images: taps in rows of three (the fwd3 / wgt3 tiles) against the same taps given
    in another order (0, 2, 1, ...), which the kernels take one by one. GFLOP/s in the row labels."""
    if not blas.direct_available():
        return
    rng = numpy.random.default_rng(5)
    for c, hw in ((16, 32), (32, 16), (64, 8)):
        g = convolution.conv_geometry((hw, hw), (3, 3), (1, 1), (1, 1), "same")
        grid = convolution._Grid(g, g.pt, g.pl)
        x = rng.standard_normal((4, hw, hw, c)).astype("float32")
        xq = grid.place(x, 0, 4, "pad").copy()
        m = 4 * grid.hq * grid.wq
        gm = grid.place(x, 0, 4, "gy").copy()[grid.lead:grid.lead + m]
        w = rng.standard_normal((9, c, c)).astype("float32")
        y, dw = numpy.empty((4, hw, hw, c), "float32"), numpy.empty((9, c, c), "float32")
        rows3, one_by_one = grid.offsets, [grid.offsets[t] for t in (0, 2, 1, 3, 5, 4, 6, 8, 7)]
        gflop = 2 * 9 * c * c * 1e-6  # per pixel, ×1e3 for ms
        cases = [("fwd", lambda offs, xq=xq, w=w, y=y, grid=grid: blas.shifted_matmul(
            xq, offs, w, y, grid=(grid.hq, grid.wq)))]
        if c <= 32:  # the grid's weight gradient takes rows of three up to 2 vectors of outputs only
            cases.append(("dW", lambda offs, xq=xq, gm=gm, dw=dw: blas.shifted_matmul_t(xq, offs, gm, dw)))
        for what, fn in cases:
            pixels = 4 * hw * hw if what == "fwd" else m
            res = ab("rows of 3", lambda fn=fn, o=rows3: fn(o), "per tap", lambda fn=fn, o=one_by_one: fn(o),
                     rounds * 5)
            rate = "/".join(f"{pixels * gflop / v[0]:.0f}" for v in res.values())
            row(f"  tiles {c}ch @{hw} {what} ({rate} GFLOP/s)", res)


def fusion_rows(rounds):
    from neuronka.applications.cifar_resnet import get as get_zoo_model
    from neuronka.models import fusion

    neuronka.initializers.set_seed(0)
    model = get_zoo_model("resnet20")
    model.compile(optimizer=neuronka.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = numpy.random.default_rng(4)
    x, y = rng.standard_normal((128, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 128)

    def step():
        model.train_on_batch(x, y)

    row("ResNet-20 train step b128", ab("fused", switched(fusion.set_enabled, True, step),
                                        "unfused", switched(fusion.set_enabled, False, step), max(3, rounds // 2)))


def pool_rows(rounds):
    rng = numpy.random.default_rng(5)
    cases = (("maxpool 3x3 s2 64ch @112 b8", ops.max_pool, (8, 112, 112, 64), 3, 2),
             ("avgpool 3x3 s1 64ch @56 b8", ops.average_pool, (8, 56, 56, 64), 3, 1))
    for name, pool, shape, pool_size, strides in cases:
        x = rng.standard_normal(shape).astype("float32")
        y = pool(Tensor(x), pool_size, strides, "same")
        gy = rng.standard_normal(y.shape).astype("float32")

        def step(pool=pool, x=x, gy=gy, pool_size=pool_size, strides=strides):
            xt = Tensor(x, requires_grad=True)
            pool(xt, pool_size, strides, "same").backward(gy)

        row(f"{name} fwd+bwd", ab("kernels", switched(_kernels, True, step), "numpy", switched(_kernels, False, step),
                                  rounds))


def batch1_rows(rounds):
    from neuronka.applications.cifar_resnet import get as get_zoo_model
    from neuronka.ops import conv_direct

    def threads(n):
        def wrap(fn):
            def run():
                neuronka.config.set("conv_threads", n)
                try:
                    return fn()
                finally:
                    neuronka.config.reset("conv_threads")
            return run
        return wrap

    def always_split(fn):
        def run():
            previous, conv_direct._ROW_SPLIT_MACS = conv_direct._ROW_SPLIT_MACS, 0
            try:
                return fn()
            finally:
                conv_direct._ROW_SPLIT_MACS = previous
        return run

    rng = numpy.random.default_rng(6)
    for c, hw in ((16, 32), (32, 112)):
        x = rng.standard_normal((1, hw, hw, c)).astype("float32")
        w = rng.standard_normal((3, 3, c, c)).astype("float32")
        g = convolution.conv_geometry((hw, hw), (3, 3), (1, 1), (1, 1), "same")
        fn = lambda x=x, w=w, g=g: convolution.conv_forward(x, w, g)  # noqa: E731
        row(f"conv3x3 {c}->{c} @{hw} b1 fwd", ab("rows shared", threads(2)(always_split(fn)),
                                                "one thread", threads(1)(fn), rounds * 10))
    neuronka.initializers.set_seed(0)
    model = get_zoo_model("resnet20")
    x = rng.standard_normal((1, 32, 32, 3)).astype("float32")
    row("ResNet-20 predict_on_batch b1", ab("2 threads", threads(2)(lambda: model.predict_on_batch(x)),
                                            "1 thread", threads(1)(lambda: model.predict_on_batch(x)), rounds * 10))


def select_rows(rounds):
    """The forward's choice between the shifted tiles and im2col + BLAS (``convolution._shifted_wins``):
    ResNet-50's 3×3 "same" convolutions at batch 8 and 1, the tiles forced by strategy "grid"."""
    rng = numpy.random.default_rng(0)
    for n, hw, c in ((8, 56, 64), (8, 28, 128), (8, 14, 256), (8, 7, 512), (1, 28, 64), (1, 28, 128), (1, 7, 512),
                     (1, 8, 64)):
        x = rng.standard_normal((n, hw, hw, c)).astype("float32")
        w = rng.standard_normal((3, 3, c, c)).astype("float32")
        g = convolution.conv_geometry((hw, hw), (3, 3), (1, 1), (1, 1), "same")
        picked = convolution.select_forward(g, x, w)[0].value

        def fn(x=x, w=w, g=g):
            return convolution.conv_forward(x, w, g)

        row(f"conv3x3 {c}->{c} @{hw} b{n} fwd ({picked})",
            ab("shifted", switched(convolution.set_strategy, "grid", fn),
               "im2col", switched(convolution.set_strategy, "im2col", fn), rounds))
    for hw, c in ((56, 64), (28, 128), (14, 256), (7, 512)):  # the backward (dx and dW) at batch 16
        x = rng.standard_normal((16, hw, hw, c)).astype("float32")
        w = rng.standard_normal((3, 3, c, c)).astype("float32")
        gy = rng.standard_normal((16, hw, hw, c)).astype("float32")
        g = convolution.conv_geometry((hw, hw), (3, 3), (1, 1), (1, 1), "same")
        picked = convolution.select_backward(g, x, w, gy, True, True)[0].value

        def bwd(x=x, w=w, gy=gy, g=g):
            return convolution.conv_backward(x, w, gy, g)

        row(f"conv3x3 {c}->{c} @{hw} b16 bwd ({picked})",
            ab("shifted", switched(convolution.set_strategy, "grid", bwd),
               "im2col", switched(convolution.set_strategy, "im2col", bwd), rounds))
    # a CIFAR ResNet's first convolution, weight gradient only (3 input channels: the remainder tiles)
    x = rng.standard_normal((128, 32, 32, 3)).astype("float32")
    w = rng.standard_normal((3, 3, 3, 16)).astype("float32")
    gy = rng.standard_normal((128, 32, 32, 16)).astype("float32")
    g = convolution.conv_geometry((32, 32), (3, 3), (1, 1), (1, 1), "same")

    def wgrad():
        return convolution.conv_backward(x, w, gy, g, need_x=False)

    row("conv3x3 3->16 @32 b128 dW only",
        ab("unpadded", switched(convolution.set_strategy, "auto", wgrad),
           "grid", switched(convolution.set_strategy, "grid", wgrad), rounds))


GROUPS = {"conv": conv_rows, "tiles": tile_rows, "plans": plan_rows, "lstm": lstm_rows, "bn": bn_rows,
          "fusion": fusion_rows, "pool": pool_rows, "batch1": batch1_rows, "select": select_rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(GROUPS), help="groups, comma-separated: " + ", ".join(GROUPS))
    parser.add_argument("--rounds", type=int, default=9, help="timed calls of each path (default 9)")
    args = parser.parse_args(argv)
    print(f"load average at start {os.getloadavg()[0]:.2f}; {os.environ['OMP_NUM_THREADS']} threads; "
          f"compiled kernels {'on' if kernels.enabled() else 'off'}")
    for name in args.only.split(","):
        if name not in GROUPS:
            parser.error(f"--only: expected groups among {sorted(GROUPS)}, received {name!r}")
        GROUPS[name](args.rounds)


if __name__ == "__main__":
    main()

"""neuronka against PyTorch, side by side: the same networks and ops, float32, the same thread count.

    python benchmarks/vs_torch.py                        # every case, 2 rounds per framework
    python benchmarks/vs_torch.py --quick                # fewer steps, no ResNet-56, no ResNet-50 training
    python benchmarks/vs_torch.py --only resnet20,conv   # the cases whose key or name contains a substring
    python benchmarks/vs_torch.py --list                 # the case keys
    python benchmarks/vs_torch.py --json after.json --compare before.json
    python benchmarks/vs_torch.py --load after.json --compare before.json   # print two saved runs, run nothing
    python benchmarks/vs_torch.py --smoke                # tiny shapes, 1 step: checks that the script works

Cases (issue #5): CIFAR ResNet-20 and ResNet-56 (training step and inference at batch 128, inference at
batch 1), ResNet-50 at 224x224 (inference at batch 8 and 1, training step at batch 16), LSTM(128), GRU(128)
and Bidirectional(LSTM(128)) over (64, 100, 32) (training step), and the ops behind them, forward and
backward: 3x3 convolution stride 1 and 2, 1x1 convolution, batch norm (training mode), ReLU, 3x3/2 max
pooling, 3x3/1 average pooling, dense. Attention (issue #14):
a MultiHeadAttention training step (self-attention, batch 32, sequence 128, 8 heads, width 256, MSE
loss) against ``torch.nn.MultiheadAttention``, and the Transformer text classifier's training step
(``text_classifier("transformer")``: vocabulary 10,000, sequences of 100, width 64, 2 blocks of 4
heads, binary cross-entropy) against its twin in ``torch_models.py``.

How it measures. Every (case, framework) runs in a fresh child process (``--worker CASE FRAMEWORK``,
printing one JSON line) with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = ``--threads``
(2) set before NumPy is imported, and ``torch.set_num_threads`` on the torch side; the neuronka child
never imports torch. A child builds its model, records its resident memory, runs W warm-up steps, then
times N steps one by one (median, min, max); it reports its peak RSS (``ru_maxrss``) and the rise of
RSS over what it held after the imports and the build ("+step": what the step itself needs: activations,
gradients, optimizer slots, scratch buffers). With ``--rounds R`` each case runs R times per framework,
the order alternating (A B, B A, ...), and the step times are pooled.

Each framework in its native layout: neuronka is channels_last (NHWC), PyTorch NCHW by default, so
each runs the layout its kernels are written for (``--torch-layout channels_last`` gives torch NHWC).
A training step is the whole of it on both sides: forward, loss, backward, SGD with momentum 0.9
(``model.train_on_batch`` / ``zero_grad, loss.backward(), opt.step()``); inference is
``model.predict_on_batch`` / ``net.eval()`` under ``torch.inference_mode()``. Weights differ (each side
initializes its own); shapes, parameter counts and FLOPs are equal.

FLOP counting rule (analytic, per model, 2 FLOPs per multiply-add, only the GEMM-shaped work):
- convolution forward: 2·N·Ho·Wo·Cout·kh·kw·Cin; dense forward: 2·N·in·out;
- LSTM forward: the gate GEMMs, 2·N·(F + U)·4U per time step, T steps (plus the dense head);
- attention forward: the four projections 2·N·T·d·d each, and the two products QKᵀ and PV, 2·N·T·T·d each
  (over all heads); a Transformer block adds its feed-forward part, 2 · 2·N·T·d·units;
- a training step = 3 × forward (the forward GEMM and the two backward ones, dX and dW), for every
  layer, the first included; an op's backward = 2 × its forward;
- batch norm, ReLU, pooling, additions, the loss and the optimizer count 0 (memory-bound: their rows
  show no %peak).
Achieved GFLOP/s = FLOPs / median time; "%peak" divides it by this machine's float32 GEMM peak, the best
of several 2048³ ``numpy.matmul`` calls in a child with the same thread count.

The ratio n/t is neuronka's speed over PyTorch's (torch time / neuronka time): > 1 means neuronka is
faster. Targets (issue #19, round 5; issue #5's were 1.0 for training, 0.5 at batch 1, memory <= 1.5):
training ResNet-20/56 >= 1.3, the LSTM, GRU and BiLSTM >= 1.3, MultiHeadAttention >= 1.2; ResNet-50
training at batch 16 and inference at batch 8 >= 1.2, at batch 1 >= 1.0; CIFAR inference at batch 128
>= 1.0, at batch 1 >= 0.5; the ops batch norm, max and average pooling >= 1.0 both ways; the memory of
every training step (+step, neuronka / torch) <= 1.0. ResNet-20/56 training against torch's faster
channels_last layout (>= 1.0): a second run with ``--torch-layout channels_last``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("NEURONKA_MALLOC_TUNING", "1")  # a benchmark owns its process: tune malloc as the CLI does

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FRAMEWORKS = ("neuronka", "torch")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# ----------------------------------------------------------------------------------
# FLOPs (2 per multiply-add; GEMM-shaped work only)
# ----------------------------------------------------------------------------------
def conv_flops(n: int, ho: int, wo: int, cin: int, cout: int, kh: int, kw: int | None = None) -> int:
    """Forward FLOPs of a convolution: 2·N·Ho·Wo·Cout·kh·kw·Cin."""
    return 2 * n * ho * wo * cout * kh * (kh if kw is None else kw) * cin


def dense_flops(n: int, fin: int, fout: int) -> int:
    """Forward FLOPs of x(N, in) @ W(in, out): 2·N·in·out."""
    return 2 * n * fin * fout


def cifar_resnet_flops(depth: int, batch: int = 1, size: int = 32, classes: int = 10) -> int:
    """Forward FLOPs of the CIFAR ResNet of depth 6n + 2 (option A shortcuts have none)."""
    n = (depth - 2) // 6
    total = conv_flops(batch, size, size, 3, 16, 3)  # stem
    h, cin = size, 16
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            h = -(-h // stride)
            total += conv_flops(batch, h, h, cin, filters, 3) + conv_flops(batch, h, h, filters, filters, 3)
            cin = filters
    return total + dense_flops(batch, 64, classes)


def resnet50_flops(batch: int = 1, size: int = 224, classes: int = 1000, blocks=(3, 4, 6, 3)) -> int:
    """Forward FLOPs of ResNet-50 (torchvision's layout: stride on the 3×3, projection shortcuts)."""
    h = (size + 2 * 3 - 7) // 2 + 1  # 7×7/2 stem, padding 3
    total = conv_flops(batch, h, h, 3, 64, 7)
    h = (h + 2 - 3) // 2 + 1  # 3×3/2 max pool, padding 1
    cin = 64
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        for block in range(count):
            stride = 2 if stage > 0 and block == 0 else 1
            ho = (h - 1) // stride + 1
            out = 4 * planes
            total += conv_flops(batch, h, h, cin, planes, 1)  # 1×1 reduce, at the input resolution
            total += conv_flops(batch, ho, ho, planes, planes, 3)  # 3×3, strided
            total += conv_flops(batch, ho, ho, planes, out, 1)  # 1×1 expand
            if block == 0:
                total += conv_flops(batch, ho, ho, cin, out, 1)  # projection shortcut
            h, cin = ho, out
    return total + dense_flops(batch, cin, classes)


def attention_flops(batch: int, steps: int, width: int) -> int:
    """Forward FLOPs of self-attention over (N, T, d): the projections Q, K, V and the output, 4 · 2·N·T·d·d,
    and the products QKᵀ and PV over all heads, 2 · 2·N·T·T·d."""
    return 4 * dense_flops(batch * steps, width, width) + 2 * 2 * batch * steps * steps * width


def transformer_flops(batch: int, steps: int, width: int, units: int, blocks: int, classes: int = 1) -> int:
    """Forward FLOPs of the Transformer text classifier: per block the attention and the feed-forward part
    (d → units → d), then the head on the mean (embedding lookups and the normalizations count 0)."""
    ffn = dense_flops(batch * steps, width, units) + dense_flops(batch * steps, units, width)
    return blocks * (attention_flops(batch, steps, width) + ffn) + dense_flops(batch, width, classes)


def lstm_flops(batch: int, steps: int, features: int, units: int, classes: int = 10, gates: int = 4,
               directions: int = 1) -> int:
    """Forward FLOPs of LSTM(units) over (N, T, F) then Dense(classes): the gate GEMMs
    [x_t, h_{t−1}] (N, F + U) · (F + U, 4U) at every step, and the head; a GRU has 3 gates, a
    bidirectional layer runs the steps twice and its head reads 2U."""
    return directions * steps * dense_flops(batch, features + units, gates * units) \
        + dense_flops(batch, directions * units, classes)


# recurrent models of the cases: (cell, directions)
RNN_MODELS = {"lstm": ("lstm", 1), "gru": ("gru", 1), "bilstm": ("lstm", 2)}


# ----------------------------------------------------------------------------------
# the cases
# ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case. ``kind``: "train" / "infer" (a model; rows in images/s) or "op" (ms per call,
    two rows: fwd and bwd). ``params`` full size; ``smoke`` overrides them under ``--smoke``."""

    key: str
    name: str
    kind: str
    model: str
    params: dict
    smoke: dict
    warmup: int
    steps: int
    target: float | None = None  # speed ratio n/t to reach
    mem_target: float | None = None  # +step memory ratio n/t not to exceed
    quick: bool = True  # part of --quick
    smoke_default: bool = False  # part of --smoke when no --only is given

    def settings(self, smoke: bool) -> dict:
        return {**self.params, **self.smoke} if smoke else dict(self.params)


def _model_cases() -> list[Case]:
    cases = []
    for depth in (20, 56):
        r20 = depth == 20  # ResNet-56 is left out of --quick
        cases += [
            Case(f"resnet{depth}-train-b128", f"ResNet-{depth} train b128", "train", f"resnet{depth}",
                 {"batch": 128}, {"batch": 2}, warmup=3, steps=10 if r20 else 6, target=1.3, mem_target=1.0,
                 quick=r20, smoke_default=r20),
            Case(f"resnet{depth}-infer-b128", f"ResNet-{depth} infer b128", "infer", f"resnet{depth}",
                 {"batch": 128}, {"batch": 2}, warmup=3, steps=10, target=1.0, quick=r20),
            Case(f"resnet{depth}-infer-b1", f"ResNet-{depth} infer b1", "infer", f"resnet{depth}",
                 {"batch": 1}, {"batch": 1}, warmup=5, steps=40, target=0.5, quick=r20),
        ]
    r50_smoke = {"batch": 1, "size": 64}
    return cases + [
        Case("resnet50-infer-b8", "ResNet-50 224 infer b8", "infer", "resnet50", {"batch": 8, "size": 224},
             r50_smoke, warmup=2, steps=6, target=1.2),
        Case("resnet50-infer-b1", "ResNet-50 224 infer b1", "infer", "resnet50", {"batch": 1, "size": 224},
             r50_smoke, warmup=3, steps=15, target=1.0),
        Case("resnet50-train-b16", "ResNet-50 224 train b16", "train", "resnet50", {"batch": 16, "size": 224},
             r50_smoke, warmup=1, steps=4, target=1.2, mem_target=1.0, quick=False),
        Case("lstm128-train-b64", "LSTM(128) T100 F32 train b64", "train", "lstm",
             {"batch": 64, "steps": 100, "features": 32, "units": 128, "classes": 10},
             {"batch": 2, "steps": 5, "features": 4, "units": 8}, warmup=3, steps=10, target=1.3, mem_target=1.0,
             smoke_default=True),
        Case("gru128-train-b64", "GRU(128) T100 F32 train b64", "train", "gru",
             {"batch": 64, "steps": 100, "features": 32, "units": 128, "classes": 10},
             {"batch": 2, "steps": 5, "features": 4, "units": 8}, warmup=3, steps=10, target=1.3, mem_target=1.0),
        Case("bilstm128-train-b64", "BiLSTM(128) T100 F32 train b64", "train", "bilstm",
             {"batch": 64, "steps": 100, "features": 32, "units": 128, "classes": 10},
             {"batch": 2, "steps": 5, "features": 4, "units": 8}, warmup=3, steps=10, target=1.3, mem_target=1.0),
        Case("mha-train-b32", "MHA 8x32 T128 d256 train b32", "train", "mha",
             {"batch": 32, "steps": 128, "width": 256, "heads": 8},
             {"batch": 2, "steps": 6, "width": 8, "heads": 2}, warmup=3, steps=10, target=1.2, mem_target=1.0),
        Case("transformer-train-b32", "Transformer text T100 d64 train b32", "train", "transformer",
             {"batch": 32, "steps": 100, "width": 64, "units": 64, "heads": 4, "blocks": 2, "vocab": 10000},
             {"batch": 2, "steps": 6, "width": 8, "units": 8, "heads": 2, "blocks": 1, "vocab": 50},
             warmup=3, steps=10, mem_target=1.0),
    ]


def _op_cases() -> list[Case]:
    tiny = {"batch": 2, "size": 8}

    def op(key, name, model, params, smoke=None, smoke_default=False, target=None):
        return Case(key, name, "op", model, params, {**tiny, **(smoke or {})}, warmup=3, steps=15,
                    smoke_default=smoke_default, target=target)

    return [
        op("op-conv3x3-s1", "conv3x3 s1 16->16 @32 b128", "conv",
           {"batch": 128, "size": 32, "cin": 16, "cout": 16, "k": 3, "stride": 1}, {"cin": 4, "cout": 4}, True),
        op("op-conv3x3-s2", "conv3x3 s2 16->32 @32 b128", "conv",
           {"batch": 128, "size": 32, "cin": 16, "cout": 32, "k": 3, "stride": 2}, {"cin": 4, "cout": 8}),
        op("op-conv1x1", "conv1x1 s1 256->64 @56 b8", "conv",
           {"batch": 8, "size": 56, "cin": 256, "cout": 64, "k": 1, "stride": 1}, {"cin": 8, "cout": 4}),
        op("op-batchnorm", "batchnorm train 16ch @32 b128", "batchnorm", {"batch": 128, "size": 32, "channels": 16},
           {"channels": 4}, target=1.0),
        op("op-relu", "relu 16ch @32 b128", "relu", {"batch": 128, "size": 32, "channels": 16}, {"channels": 4}),
        op("op-maxpool", "maxpool 3x3 s2 64ch @112 b8", "maxpool", {"batch": 8, "size": 112, "channels": 64},
           {"channels": 4}, target=1.0),
        op("op-avgpool", "avgpool 3x3 s1 64ch @56 b8", "avgpool", {"batch": 8, "size": 56, "channels": 64},
           {"channels": 4}, target=1.0),
        op("op-dense", "dense 2048->1000 b128", "dense", {"batch": 128, "fin": 2048, "fout": 1000},
           {"fin": 16, "fout": 8}),
    ]


CASES = _model_cases() + _op_cases()
CASES_BY_KEY = {c.key: c for c in CASES}


def forward_flops(case: Case, p: dict) -> int | None:
    """Forward FLOPs of one call of the case with settings ``p`` (None: memory-bound op)."""
    if case.model.startswith("resnet") and case.model != "resnet50":
        return cifar_resnet_flops(int(case.model[6:]), p["batch"])
    if case.model == "resnet50":
        return resnet50_flops(p["batch"], p["size"])
    if case.model in RNN_MODELS:
        cell, directions = RNN_MODELS[case.model]
        return lstm_flops(p["batch"], p["steps"], p["features"], p["units"], p.get("classes", 10),
                          gates=3 if cell == "gru" else 4, directions=directions)
    if case.model == "mha":
        return attention_flops(p["batch"], p["steps"], p["width"])
    if case.model == "transformer":
        return transformer_flops(p["batch"], p["steps"], p["width"], p["units"], p["blocks"])
    if case.model == "conv":
        ho = -(-p["size"] // p["stride"])
        return conv_flops(p["batch"], ho, ho, p["cin"], p["cout"], p["k"])
    if case.model == "dense":
        return dense_flops(p["batch"], p["fin"], p["fout"])
    return None


def phase_flops(case: Case, p: dict, phase: str) -> int | None:
    """FLOPs of one timed call: a training step 3× the forward, an op's backward 2×."""
    f = forward_flops(case, p)
    if f is None:
        return None
    return {"train": 3, "infer": 1, "fwd": 1, "bwd": 2}[phase] * f


# ----------------------------------------------------------------------------------
# the worker (child process): build, warm up, time, report one JSON line
# ----------------------------------------------------------------------------------
def _pin_threads(threads: int) -> None:
    for var in THREAD_VARS:
        os.environ[var] = str(threads)


def _rss_kib() -> int:
    """Resident memory now, KiB (/proc/self/statm), or the peak so far where /proc is absent."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return _peak_rss_kib()


def _peak_rss_kib() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0: "5" > /proc/self/clear_refs), so that the peak
    of the timed steps leaves out the warm-up's transient memory; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _time_loop(setup, step, warmup: int, steps: int) -> list[float]:
    """``step(setup())`` W times untimed, then N times timed (the setup untimed)."""
    for _ in range(warmup):
        step(setup())
    out = []
    for _ in range(steps):
        state = setup()
        t0 = time.perf_counter()
        step(state)
        out.append(time.perf_counter() - t0)
        del state
    return out


def _none():
    return None


def _neuronka_phases(case: Case, p: dict) -> dict:
    """{phase: (setup, step)} for neuronka, everything built."""
    import numpy

    import neuronka
    from neuronka import initializers, layers
    from neuronka.autograd import Tensor
    from neuronka.ops import convolution as nconv
    from neuronka.ops import pooling as npool

    initializers.set_seed(0)
    rng = numpy.random.default_rng(0)
    f32 = numpy.float32
    if case.model in ("mha", "transformer"):
        return _neuronka_attention(case, p, rng)
    if case.kind in ("train", "infer"):
        n = p["batch"]
        if case.model in RNN_MODELS:
            cell, directions = RNN_MODELS[case.model]
            rnn = (layers.GRU if cell == "gru" else layers.LSTM)(p["units"])
            model = neuronka.Sequential([neuronka.Input(shape=(p["steps"], p["features"])),
                                         layers.Bidirectional(rnn) if directions == 2 else rnn,
                                         layers.Dense(p["classes"], activation="softmax")])
            x = rng.standard_normal((n, p["steps"], p["features"])).astype(f32)
            classes = p["classes"]
        elif case.model == "resnet50":
            model = neuronka.applications.ResNet50(weights=None, input_shape=(p["size"], p["size"], 3), classes=1000)
            x = rng.standard_normal((n, p["size"], p["size"], 3)).astype(f32)
            classes = 1000
        else:
            model = neuronka.applications.get_model(case.model)
            x = rng.standard_normal((n, 32, 32, 3)).astype(f32)
            classes = 10
        y = rng.integers(0, classes, size=(n,)).astype("int64")
        if case.kind == "infer":
            return {"infer": (_none, lambda _: model.predict_on_batch(x))}
        model.compile(optimizer=neuronka.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
        return {"train": (_none, lambda _: model.train_on_batch(x, y))}

    params, x = [], None  # an op: leaves re-made for every call, so gradients never accumulate
    if case.model == "conv":
        x = rng.standard_normal((p["batch"], p["size"], p["size"], p["cin"])).astype(f32)
        w = (rng.standard_normal((p["k"], p["k"], p["cin"], p["cout"])) / math.sqrt(p["k"] ** 2 * p["cin"]))
        params = [w.astype(f32)]
        pad = "same" if p["k"] > 1 else "valid"

        def fn(xx, ww):
            return nconv.conv(xx, ww, strides=p["stride"], padding=pad)
    elif case.model == "dense":
        x = rng.standard_normal((p["batch"], p["fin"])).astype(f32)
        params = [(rng.standard_normal((p["fin"], p["fout"])) / math.sqrt(p["fin"])).astype(f32),
                  numpy.zeros(p["fout"], f32)]

        def fn(xx, ww, bb):  # as layers.Dense: x @ W + b
            return neuronka.ops.matmul(xx, ww) + bb
    else:
        x = rng.standard_normal((p["batch"], p["size"], p["size"], p["channels"])).astype(f32)
        if case.model == "batchnorm":
            params = [numpy.ones(p["channels"], f32), numpy.zeros(p["channels"], f32)]

            def fn(xx, gg, bb):
                return neuronka.ops.batch_norm_train(xx, gg, bb, axis=-1, epsilon=1e-5)[0]
        elif case.model == "relu":
            fn = neuronka.ops.relu
        elif case.model == "maxpool":
            def fn(xx):  # TensorFlow "same": 112 → 56, as torch's padding 1
                return npool.max_pool(xx, 3, 2, "same")
        elif case.model == "avgpool":
            def fn(xx):  # "same", the padding not counted (as Keras; torch's count_include_pad=False)
                return npool.average_pool(xx, 3, 1, "same")
        else:
            raise ValueError(f"unknown op {case.model!r}")

    def forward():
        return fn(Tensor(x, requires_grad=True), *[Tensor(a, requires_grad=True) for a in params])

    gy = rng.standard_normal(forward().shape).astype(f32)
    return {"fwd": (_none, lambda _: forward()), "bwd": (forward, lambda y: y.backward(gy))}


def _token_batch(rng, p: dict):
    """Token matrices as TextVectorization makes them: lengths from T/4 to T, the rest padding (0)."""
    import numpy

    tokens = rng.integers(1, p["vocab"], size=(p["batch"], p["steps"]))
    lengths = rng.integers(max(1, p["steps"] // 4), p["steps"] + 1, size=p["batch"])
    tokens[numpy.arange(p["steps"])[None, :] >= lengths[:, None]] = 0
    return tokens, rng.integers(0, 2, size=(p["batch"], 1))


def _neuronka_attention(case: Case, p: dict, rng) -> dict:
    """The attention cases for neuronka: self-attention MultiHeadAttention(x, x) under an MSE loss, or the
    Transformer text classifier under binary cross-entropy; SGD(0.1, momentum 0.9), ``train_on_batch``."""
    import numpy

    import neuronka
    from neuronka import layers

    if case.model == "mha":
        x_in = neuronka.Input(shape=(p["steps"], p["width"]))
        attention = layers.MultiHeadAttention(p["heads"], p["width"] // p["heads"])
        model = neuronka.Model(x_in, attention(x_in, x_in))
        x = rng.standard_normal((p["batch"], p["steps"], p["width"])).astype(numpy.float32)
        y = rng.standard_normal((p["batch"], p["steps"], p["width"])).astype(numpy.float32)
        loss = "mse"
    else:
        from neuronka.applications.text import text_classifier

        model = text_classifier("transformer", p["vocab"], p["steps"], embedding_dim=p["width"], units=p["units"],
                                num_heads=p["heads"], num_blocks=p["blocks"])
        x, y = _token_batch(rng, p)
        y = y.astype(numpy.float32)
        loss = "binary_crossentropy"
    model.compile(optimizer=neuronka.optimizers.SGD(0.1, momentum=0.9), loss=loss)
    return {"train": (_none, lambda _: model.train_on_batch(x, y))}


def _torch_attention(case: Case, p: dict, torch_models) -> dict:
    """The attention cases for PyTorch: ``nn.MultiheadAttention(batch_first=True)`` called as (x, x, x) without
    the weights (Keras's layer returns none by default), MSE loss; or the Transformer classifier's twin on the
    logits with ``binary_cross_entropy_with_logits``; SGD(0.1, momentum 0.9)."""
    import numpy
    import torch
    import torch.nn.functional as F

    rng = numpy.random.default_rng(0)
    if case.model == "mha":
        net = torch.nn.MultiheadAttention(p["width"], p["heads"], batch_first=True)
        x = torch.randn(p["batch"], p["steps"], p["width"])
        y = torch.randn(p["batch"], p["steps"], p["width"])

        def loss_of():
            return F.mse_loss(net(x, x, x, need_weights=False)[0], y)
    else:
        net = torch_models.TransformerClassifier(p["vocab"], p["steps"], p["width"], p["units"], p["heads"],
                                                 p["blocks"])
        tokens, labels = _token_batch(rng, p)
        x, y = torch.from_numpy(tokens), torch.from_numpy(labels.astype(numpy.float32))

        def loss_of():
            return F.binary_cross_entropy_with_logits(net(x), y)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    def train(_):
        opt.zero_grad(set_to_none=True)
        loss = loss_of()
        loss.backward()
        opt.step()
        return loss.item()
    return {"train": (_none, train)}


def _torch_phases(case: Case, p: dict, threads: int, layout: str) -> dict:
    """{phase: (setup, step)} for PyTorch, everything built."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, HERE)
    import torch_models

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if case.model in ("mha", "transformer"):
        return _torch_attention(case, p, torch_models)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format

    def image(*shape):
        t = torch.randn(*shape)
        return t.contiguous(memory_format=fmt) if t.dim() == 4 else t

    if case.kind in ("train", "infer"):
        n = p["batch"]
        if case.model in RNN_MODELS:
            cell, directions = RNN_MODELS[case.model]
            net = torch_models.LSTMClassifier(p["features"], p["units"], p["classes"], cell, directions == 2)
            x, classes = torch.randn(n, p["steps"], p["features"]), p["classes"]
        elif case.model == "resnet50":
            net, x, classes = torch_models.ResNet50(), image(n, 3, p["size"], p["size"]), 1000
        else:
            net, x, classes = torch_models.build(case.model), image(n, 3, 32, 32), 10
        if case.model not in RNN_MODELS:
            net = net.to(memory_format=fmt)
        y = torch.randint(0, classes, (n,))
        if case.kind == "infer":
            net.eval()

            def infer(_):
                with torch.inference_mode():
                    return net(x)
            return {"infer": (_none, infer)}
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

        def train(_):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss.item()  # as train_on_batch, which returns the loss as a float
        return {"train": (_none, train)}

    params = []
    if case.model == "conv":
        x = image(p["batch"], p["cin"], p["size"], p["size"])
        params = [torch.randn(p["cout"], p["cin"], p["k"], p["k"]) / math.sqrt(p["k"] ** 2 * p["cin"])]

        def fn(xx, ww):
            return F.conv2d(xx, ww, stride=p["stride"], padding=p["k"] // 2)
    elif case.model == "dense":
        x = torch.randn(p["batch"], p["fin"])
        params = [torch.randn(p["fout"], p["fin"]) / math.sqrt(p["fin"]), torch.zeros(p["fout"])]
        fn = F.linear
    else:
        x = image(p["batch"], p["channels"], p["size"], p["size"])
        if case.model == "batchnorm":
            params = [torch.ones(p["channels"]), torch.zeros(p["channels"])]

            def fn(xx, gg, bb):  # no running statistics: the neuronka op does not update any either
                return F.batch_norm(xx, None, None, gg, bb, training=True, eps=1e-5)
        elif case.model == "relu":
            fn = F.relu
        elif case.model == "maxpool":
            def fn(xx):
                return F.max_pool2d(xx, 3, 2, 1)
        elif case.model == "avgpool":
            def fn(xx):
                return F.avg_pool2d(xx, 3, 1, 1, count_include_pad=False)
        else:
            raise ValueError(f"unknown op {case.model!r}")

    def forward():
        return fn(x.detach().requires_grad_(), *[a.detach().requires_grad_() for a in params])

    y0 = forward()
    gy = torch.randn(y0.shape)
    if y0.dim() == 4:
        gy = gy.contiguous(memory_format=fmt)
    del y0
    return {"fwd": (_none, lambda _: forward()), "bwd": (forward, lambda y: y.backward(gy))}


def _gemm_peak(n: int, repeats: int = 7) -> dict:
    """Best float32 GFLOP/s of an n³ ``numpy.matmul`` (2n³ FLOPs)."""
    import numpy

    rng = numpy.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=numpy.float32)
    b = rng.standard_normal((n, n), dtype=numpy.float32)
    c = numpy.empty((n, n), numpy.float32)
    numpy.matmul(a, b, out=c)
    best = min(_time_loop(_none, lambda _: numpy.matmul(a, b, out=c), 1, repeats))
    return {"gflops": 2 * n ** 3 / best / 1e9, "n": n, "best_s": best}


def _kernels_enabled() -> bool | None:
    """Whether neuronka's optional compiled (Numba) kernels are on; None where the module is absent."""
    try:
        from neuronka.ops import kernels
    except ImportError:
        return None
    return bool(kernels.enabled())


def _blas_info() -> list:
    try:
        import threadpoolctl
    except ImportError:
        return []
    return [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for d in threadpoolctl.threadpool_info() if d.get("user_api") == "blas"]


def _assert_no_torch(when: str) -> None:
    """neuronka's runtime never imports torch: the neuronka worker fails if torch got loaded."""
    if "torch" in sys.modules:
        raise AssertionError(f"the neuronka worker found torch imported {when}; neuronka must not import it")


def worker(key: str, framework: str, *, steps: int, warmup: int, smoke: bool, threads: int,
           torch_layout: str = "nchw", gemm_n: int = 2048) -> dict:
    """Run one (case, framework) in this process; the thread variables must be set before NumPy loads."""
    _pin_threads(threads)
    sys.path.insert(0, ROOT)
    t0 = time.perf_counter()
    if key == "gemm":
        out = _gemm_peak(gemm_n)
        import numpy

        return {"case": "gemm", "framework": "numpy", **out, "numpy": numpy.__version__, "blas": _blas_info()}
    case = CASES_BY_KEY[key]
    p = case.settings(smoke)
    if framework == "neuronka":
        _assert_no_torch("before the build")
        phases = _neuronka_phases(case, p)
        _assert_no_torch("after the build")
        from neuronka.ops import convolution as nconv

        extra = {"conv_workers": nconv.num_workers(), "compiled_kernels": _kernels_enabled()}
    elif framework == "torch":
        phases = _torch_phases(case, p, threads, torch_layout)
        import torch

        extra = {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "torch_layout": torch_layout}
    else:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    build_s = time.perf_counter() - t0
    if framework == "neuronka":  # its compiled kernels (Numba's LLVM runtime, ~60 MiB) in the baseline, as
        from neuronka.ops import kernels  # PyTorch's are after `import torch`: +step is then the step's data

        kernels.load()
    base = _rss_kib()
    for setup, step in phases.values():  # warm-up: JIT compilation, first-call caches, optimizer slots
        _time_loop(setup, step, warmup, 0)
    warm_peak = max(_peak_rss_kib(), _rss_kib())  # the kernel updates ru_maxrss lazily
    reset = _reset_peak_rss()
    times = {phase: _time_loop(setup, step, 0, steps) for phase, (setup, step) in phases.items()}
    if framework == "neuronka":
        _assert_no_torch("after the steps")
    step_peak = max(_peak_rss_kib(), _rss_kib()) if reset else None
    return {"case": key, "framework": framework, "phases": times, "rss_base_kib": base,
            "rss_peak_kib": max(warm_peak, step_peak or 0), "rss_step_peak_kib": step_peak or warm_peak,
            "peak_reset": reset, "build_s": build_s, "threads": threads, "blas": _blas_info(), **extra}


# ----------------------------------------------------------------------------------
# the parent: spawn the workers, make the rows, print the table
# ----------------------------------------------------------------------------------
def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    return env


def spawn(key: str, framework: str, args, steps: int, warmup: int) -> dict:
    """Run one worker process; its last stdout line is its JSON (or an "error" dict)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", key, framework, "--steps", str(steps),
           "--warmup", str(warmup), "--threads", str(args.threads), "--torch-layout", args.torch_layout,
           "--gemm-n", str(args.gemm_n)]
    if args.smoke:
        cmd.append("--smoke")
    try:
        proc = subprocess.run(cmd, env=child_env(args.threads), capture_output=True, text=True,
                              timeout=args.timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
        print(f"  ! {key} / {framework} failed (exit {proc.returncode}):", *tail, sep="\n    ", file=sys.stderr)
        return {"error": f"exit {proc.returncode}: {tail[-1] if tail else ''}"}
    return json.loads(lines[-1])


def _mib(kib):
    return None if kib is None else kib / 1024


def summarize(times: list[float], runs: list[dict]) -> dict:
    """Median, min, max seconds of the pooled step times and the memory (MiB) of one framework's runs:
    the peak RSS of a process, and the largest rise during the timed steps over the RSS after the build."""
    if not times:
        return {"error": "no times"}
    step_kib = max(max(0, r.get("rss_step_peak_kib", r["rss_peak_kib"]) - r["rss_base_kib"]) for r in runs)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "n": len(times),
            "times_s": times, "rss_base_mib": _mib(max(r["rss_base_kib"] for r in runs)),
            "rss_peak_mib": _mib(max(r["rss_peak_kib"] for r in runs)), "step_mib": _mib(step_kib),
            "peak_reset": all(r.get("peak_reset") for r in runs)}


INFO_KEYS = ("conv_workers", "compiled_kernels", "torch_threads", "torch_layout", "build_s")


def make_rows(case: Case, smoke: bool, results: dict, gemm_gflops: float | None) -> list[dict]:
    """The table rows of one case from {framework: [worker result, ...]} (rounds pooled)."""
    p = case.settings(smoke)
    phases = ["fwd", "bwd"] if case.kind == "op" else [case.kind]
    rows = []
    for phase in phases:
        sides = {}
        for fw, runs in results.items():
            ok = [r for r in runs if not r.get("error")]
            if not ok:
                sides[fw] = {"error": runs[0].get("error") if runs else "not run"}
                continue
            times = [t for r in ok for t in r["phases"].get(phase, [])]
            sides[fw] = summarize(times, ok)
            sides[fw]["info"] = {k: ok[0][k] for k in INFO_KEYS if k in ok[0]}
        flops = phase_flops(case, p, phase)
        name = case.name if case.kind != "op" else f"{case.name} {phase}"
        row = {"key": case.key if case.kind != "op" else f"{case.key} {phase}",
               "name": f"{name} (smoke)" if smoke else name,
               "kind": case.kind, "phase": phase, "batch": p["batch"],
               "unit": "ms" if case.kind == "op" else "img/s", "flops": flops, "settings": p,
               "target": case.target, "mem_target": case.mem_target, **sides}
        n, t = sides.get("neuronka", {}), sides.get("torch", {})
        for side in (n, t):
            if "median_s" in side:
                side["gflops"] = flops / side["median_s"] / 1e9 if flops else None
                side["pct_peak"] = 100 * side["gflops"] / gemm_gflops if flops and gemm_gflops else None
                if case.kind != "op":
                    side["images_per_s"] = p["batch"] / side["median_s"]
        both = "median_s" in n and "median_s" in t
        row["ratio"] = t["median_s"] / n["median_s"] if both else None  # neuronka speed / torch speed
        row["mem_ratio"] = (n["step_mib"] / t["step_mib"] if both and t["step_mib"] >= 1.0 else None)
        row["target_met"] = None if case.target is None or row["ratio"] is None else row["ratio"] >= case.target
        row["mem_target_met"] = (None if case.mem_target is None or row["mem_ratio"] is None
                                 else row["mem_ratio"] <= case.mem_target)
        rows.append(row)
    return rows


# ---- formatting ----------------------------------------------------------------------
COLS = [("case", 38, "<"), ("neuronka", 22, ">"), ("torch", 22, ">"), ("n/t", 6, ">"), ("target", 10, "<"),
        ("n %pk", 6, ">"), ("t %pk", 6, ">"), ("n MiB (+step)", 14, ">"), ("t MiB (+step)", 14, ">"),
        ("mem n/t", 12, "<")]


def _speed_cell(row: dict, side: dict) -> str:
    if "median_s" not in side:
        return str(side.get("error", "-"))[:22]
    if row["unit"] == "ms":
        ms = [side[k] * 1e3 for k in ("median_s", "min_s", "max_s")]
        digits = 2 if ms[0] < 100 else 1
        return f"{ms[0]:.{digits}f} ({ms[1]:.{digits}f}-{ms[2]:.{digits}f})"
    b = row["batch"]
    ips = [b / side["median_s"], b / side["max_s"], b / side["min_s"]]
    digits = 1 if ips[0] < 100 else 0
    return f"{ips[0]:.{digits}f} ({ips[1]:.{digits}f}-{ips[2]:.{digits}f})"


def _pct(side: dict) -> str:
    v = side.get("pct_peak")
    return "-" if v is None else f"{v:.1f}"


def _mem(side: dict) -> str:
    if "rss_peak_mib" not in side:
        return "-"
    return f"{side['rss_peak_mib']:.0f} (+{side['step_mib']:.0f})"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.{2 if value < 100 else 0}f}"


def _mark(value, target, met, op: str) -> str:
    if value is None:
        return "-" if target is None else f"{op}{target:.1f} ?"
    return f"{_ratio(value)} {op}{target:.1f} {'ok' if met else 'MISS'}"


def format_row(row: dict, old: dict | None = None, with_old: bool = False) -> str:
    n, t = row.get("neuronka", {}), row.get("torch", {})
    ratio = _ratio(row["ratio"])
    target = "-" if row["target"] is None else (
        f">={row['target']:.1f} " + ("?" if row["target_met"] is None else ("ok" if row["target_met"] else "MISS")))
    if row["mem_target"] is None:
        mem = _ratio(row["mem_ratio"])
    else:
        mem = _mark(row["mem_ratio"], row["mem_target"], row["mem_target_met"], "<=")
    cells = [row["name"], _speed_cell(row, n), _speed_cell(row, t), ratio, target, _pct(n), _pct(t), _mem(n),
             _mem(t), mem]
    line = " ".join(f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, COLS))
    if with_old:
        o = (old or {}).get(row["key"])
        line += f" {_ratio(None if o is None else o.get('ratio')):>7}"
    return line.rstrip()


def table_header(with_old: bool = False) -> str:
    line = " ".join(f"{name:{a}{w}}" for name, w, a in COLS)
    return (line + (f" {'old n/t':>7}" if with_old else "")).rstrip()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def print_header(meta: dict) -> None:
    g = meta.get("gemm") or {}
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} threads)"
                     for b in g.get("blas") or []) or "unknown"
    peak = f"{g['gflops']:.1f} GFLOP/s (float32 numpy.matmul {g['n']}^3, best of 7)" if g.get("gflops") else "n/a"
    print(f"machine: {meta['cpu']}, {meta['cpus']} cpus, load average at start {meta['load_start']:.2f}")
    print(f"python {meta['python']}, numpy {meta['numpy']} [{blas}], torch {meta['torch']}, neuronka "
          f"{meta['neuronka']}; {meta['threads']} threads each; torch layout {meta['torch_layout']}")
    print(f"GEMM peak: {peak}")
    print(f"steps: median (min-max) of timed steps after warm-up, {meta['rounds']} round(s) per framework, "
          f"each in its own process{'; SMOKE sizes' if meta.get('smoke') else ''}")
    print("n/t: neuronka speed / torch speed (>1: neuronka faster); %pk: GFLOP/s as % of the GEMM peak; "
          "MiB: peak RSS (+ rise during the steps); mem n/t: of the +step rise")


def print_table(rows: list[dict], meta: dict, old: dict | None = None) -> None:
    print_header(meta)
    with_old = old is not None
    head = table_header(with_old)
    print(head)
    print("-" * len(head))
    section = None
    for row in rows:
        sec = "ops: ms per call" if row["unit"] == "ms" else "models: images/s"
        if sec != section:
            print(f"[{sec}]")
            section = sec
        print(format_row(row, old, with_old))
    print("-" * len(head))
    print_summary(rows, meta)


def print_summary(rows: list[dict], meta: dict) -> None:
    missed = [r["name"] for r in rows if r.get("target_met") is False]
    missed += [f"{r['name']} (memory)" for r in rows if r.get("mem_target_met") is False]
    met = sum(1 for r in rows for k in ("target_met", "mem_target_met") if r.get(k) is True)
    print(f"targets met: {met}, missed: {len(missed)}{': ' + '; '.join(missed) if missed else ''}")
    info = next((r["neuronka"]["info"] for r in rows if "info" in r.get("neuronka", {})), None)
    if info:
        kernels = {True: "on", False: "off", None: "absent"}[info.get("compiled_kernels")]
        print(f"neuronka: {info.get('conv_workers')} convolution worker thread(s), compiled kernels {kernels}")
    if "load_end" in meta:
        print(f"load average at end {meta['load_end']:.2f}; wall time {meta.get('wall_s', 0):.0f} s")


# ---- selection and the run -----------------------------------------------------------
def select_cases(only: str, quick: bool, smoke: bool) -> list[Case]:
    subs = [s.strip().lower() for s in only.split(",") if s.strip()]
    if subs:
        return [c for c in CASES if any(s in c.key.lower() or s in c.name.lower() for s in subs)]
    if smoke:
        return [c for c in CASES if c.smoke_default]
    return [c for c in CASES if c.quick or not quick]


def steps_for(case: Case, args) -> tuple[int, int]:
    """(warmup, steps): the options, else --smoke (0, 1), else the case's (halved under --quick)."""
    warmup, steps = case.warmup, case.steps
    if args.smoke:
        warmup, steps = 0, 1
    elif args.quick:
        warmup, steps = max(1, warmup // 2), max(3, steps // 2)
    return (warmup if args.warmup is None else args.warmup), (steps if args.steps is None else args.steps)


def run(args) -> tuple[list[dict], dict]:
    t_start = time.time()
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for f in frameworks:
        if f not in FRAMEWORKS:
            sys.exit(f"--frameworks: expected names among {FRAMEWORKS}, received {f!r}")
    cases = select_cases(args.only, args.quick, args.smoke)
    if not cases:
        sys.exit(f"no case matches --only {args.only!r}; cases: {', '.join(c.key for c in CASES)}")
    meta = {"cpu": cpu_model(), "cpus": os.cpu_count(), "load_start": _load(), "python": platform.python_version(),
            "numpy": _version("numpy"), "torch": _version("torch"), "neuronka": _version("neuronka"),
            "threads": args.threads, "torch_layout": args.torch_layout, "rounds": args.rounds, "smoke": args.smoke,
            "quick": args.quick, "frameworks": frameworks, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    meta["gemm"] = spawn("gemm", "numpy", args, 0, 0)
    gemm = meta["gemm"].get("gflops")
    old = load_old(args.compare) if args.compare else None
    with_old = old is not None
    print_header(meta)
    head = table_header(with_old)
    print(head)
    print("-" * len(head))
    rows, section = [], None
    for case in cases:
        warmup, steps = steps_for(case, args)
        results = {fw: [] for fw in frameworks}
        for r in range(args.rounds):
            for fw in (frameworks if r % 2 == 0 else frameworks[::-1]):  # A B, then B A: noise hits both
                results[fw].append(spawn(case.key, fw, args, steps, warmup))
        for row in make_rows(case, args.smoke, results, gemm):
            sec = "ops: ms per call" if row["unit"] == "ms" else "models: images/s"
            if sec != section:
                print(f"[{sec}]")
                section = sec
            print(format_row(row, old, with_old), flush=True)
            rows.append(row)
    meta["load_end"] = _load()
    meta["wall_s"] = time.time() - t_start
    print("-" * len(head))
    print_summary(rows, meta)
    return rows, meta


def load_old(path: str) -> dict:
    with open(path) as f:
        data = json.load(f)
    return {r["key"]: r for r in data["rows"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps; no ResNet-56, no ResNet-50 training")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes, 0 warm-up + 1 step, a few cases")
    ap.add_argument("--only", default="", help="comma-separated substrings of case keys or names")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per process (default: per case)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up steps per process (default: per case)")
    ap.add_argument("--rounds", type=int, default=None, help="processes per (case, framework), order alternating "
                    "(default 2, 1 with --quick/--smoke)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frameworks", default="neuronka,torch")
    ap.add_argument("--torch-layout", choices=("nchw", "channels_last"), default="nchw")
    ap.add_argument("--json", metavar="PATH", help="write every row (times, memory, settings) to PATH")
    ap.add_argument("--compare", metavar="OLD.json", help="add a column with the ratio n/t of an earlier --json")
    ap.add_argument("--load", metavar="PATH", help="print the table of a saved --json instead of running")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker process")
    ap.add_argument("--gemm-n", type=int, default=None, help="size of the GEMM-peak matmul (2048; 256 with --smoke)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--worker", nargs=2, metavar=("CASE", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.gemm_n is None:
        args.gemm_n = 256 if args.smoke else 2048
    if args.worker:
        out = worker(*args.worker, steps=1 if args.steps is None else args.steps,
                     warmup=0 if args.warmup is None else args.warmup, smoke=args.smoke, threads=args.threads,
                     torch_layout=args.torch_layout, gemm_n=args.gemm_n)
        print(json.dumps(out))
        return
    if args.list:
        for c in CASES:
            print(f"{c.key:22s} {c.name:34s} {'quick' if c.quick else 'full only'}")
        return
    if args.load:
        with open(args.load) as f:
            data = json.load(f)
        print_table(data["rows"], data["meta"], load_old(args.compare) if args.compare else None)
        return
    if args.rounds is None:
        args.rounds = 1 if (args.quick or args.smoke) else 2
    rows, meta = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

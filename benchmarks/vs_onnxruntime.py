"""Inference: neuronka's ``predict_on_batch`` against ONNX Runtime running the same model exported by
``model.export(format="onnx")`` (same weights), with PyTorch's figure from ``vs_torch.py`` as a third column
where that script has the case.

    python benchmarks/vs_onnxruntime.py                    # every case, 20 timed steps after 3 warm-ups
    python benchmarks/vs_onnxruntime.py --quick            # 5 steps after 2 warm-ups
    python benchmarks/vs_onnxruntime.py --only resnet20    # the cases whose key contains a substring
    python benchmarks/vs_onnxruntime.py --no-torch         # skip the PyTorch column

Cases (issue #17): CIFAR ResNet-20 and ResNet-56 at batch 1 and 128 (32×32), ResNet-50 at 224×224 at batch
1 and 8, the LSTM and Transformer text classifiers (``text_classifier``: vocabulary 10,000, sequences of
100 right-padded token ids, width 64, 64 LSTM units / 2 blocks of 4 heads) at batch 32.

How it measures: each (case, runtime) runs in a fresh child process with OMP/OPENBLAS/MKL_NUM_THREADS =
``--threads`` (2) set before NumPy loads; ONNX Runtime gets the same count (``intra_op_num_threads``, one
inter-op thread), its default CPU execution provider and every graph optimization
(``ORT_ENABLE_ALL``). A child builds the model (seeded, so both sides hold the same weights), runs the warm-up
steps, then times the steps one by one; the table shows the medians. The ratio n/o is ONNX Runtime's time
over neuronka's (> 1: neuronka is faster); n/t likewise against PyTorch. Targets (issue #17): n/o ≥ 1.0 for
ResNet-20/56 at batch 128 and ≥ 0.7 at batch 1. The load average of the machine is printed before and
after: on a shared machine the figures move with it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

# key: (label, model, batch, the vs_torch.py case of the same inference or None)
CASES = {
    "resnet20-b128": ("ResNet-20 b128", "resnet20", 128, "resnet20-infer-b128"),
    "resnet20-b1": ("ResNet-20 b1", "resnet20", 1, "resnet20-infer-b1"),
    "resnet56-b128": ("ResNet-56 b128", "resnet56", 128, "resnet56-infer-b128"),
    "resnet56-b1": ("ResNet-56 b1", "resnet56", 1, "resnet56-infer-b1"),
    "resnet50-b8": ("ResNet-50 224 b8", "resnet50", 8, "resnet50-infer-b8"),
    "resnet50-b1": ("ResNet-50 224 b1", "resnet50", 1, "resnet50-infer-b1"),
    "lstm-b32": ("LSTM text T100 b32", "lstm", 32, None),
    "transformer-b32": ("Transformer text T100 b32", "transformer", 32, None),
}


def build(model_name: str, batch: int):
    """(model, input batch), seeded: both children build the same weights and data."""
    import importlib

    import numpy

    import neuronka
    from neuronka.random import set_random_seed

    set_random_seed(0)
    rng = numpy.random.default_rng(0)
    if model_name in ("lstm", "transformer"):
        from neuronka.applications.text import text_classifier

        model = text_classifier(model_name, 10000, 100, 64, 64, 2)
        x = rng.integers(2, 10000, (batch, 100)).astype("int64")
        lengths = rng.integers(20, 101, batch)
        x[numpy.arange(100)[None, :] >= lengths[:, None]] = 0  # right padding
        return model, x
    if model_name == "resnet50":
        model = neuronka.applications.ResNet50(weights=None, input_shape=(224, 224, 3), classes=1000)
        return model, rng.standard_normal((batch, 224, 224, 3)).astype("float32")
    cifar = importlib.import_module("neuronka.applications.cifar_resnet")
    return cifar.MODELS[model_name](classes=10), rng.standard_normal((batch, 32, 32, 3)).astype("float32")


def worker(key: str, runtime: str, steps: int, warmup: int, threads: int) -> dict:
    sys.path.insert(0, ROOT)
    _, model_name, batch, _ = CASES[key]
    model, x = build(model_name, batch)
    if runtime == "neuronka":
        def step():
            model.predict_on_batch(x)
        extra = {}
    else:
        import onnxruntime as ort

        from neuronka.export import build_onnx_model

        proto = build_onnx_model(model)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}

        def step():
            sess.run(None, feed)
        extra = {"onnxruntime": ort.__version__, "opset": proto.opset_import[0].version}
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"case": key, "runtime": runtime, "median_s": statistics.median(times), "min_s": min(times),
            "times_s": times, **extra}


def spawn(cmd: list[str], threads: int, timeout: float) -> dict:
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: {tail[-1] if tail else ''}"}
    return json.loads(lines[-1])


def torch_median(case: str, steps: int, warmup: int, threads: int, timeout: float) -> float | None:
    cmd = [sys.executable, os.path.join(HERE, "vs_torch.py"), "--worker", case, "torch", "--steps", str(steps),
           "--warmup", str(warmup), "--threads", str(threads)]
    out = spawn(cmd, threads, timeout)
    if out.get("error"):
        print(f"  ! torch {case}: {out['error']}", file=sys.stderr)
        return None
    return statistics.median(out["phases"]["infer"])


def _ms(s):
    return "—" if s is None else f"{s * 1e3:9.2f}"


def _ratio(a, b):
    return "—" if a is None or b is None else f"{b / a:5.2f}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 steps after 2 warm-ups")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="comma-separated substrings of case keys")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--worker", nargs=2, metavar=("CASE", "RUNTIME"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    steps = args.steps or (5 if args.quick else 20)
    warmup = args.warmup if args.warmup is not None else (2 if args.quick else 3)
    if args.worker:
        print(json.dumps(worker(*args.worker, steps, warmup, args.threads)))
        return
    keys = [k for k in CASES if not args.only or any(s in k for s in args.only.split(","))]
    print(f"threads {args.threads}, {steps} steps after {warmup} warm-ups; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    print(f"{'case':28s} {'neuronka ms':>11s} {'onnxrt ms':>11s} {'torch ms':>11s} {'n/o':>6s} {'n/t':>6s}")
    rows = []
    for key in keys:
        label, _, _, torch_case = CASES[key]
        res = {}
        for runtime in ("neuronka", "onnxruntime"):
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", key, runtime, "--steps", str(steps),
                   "--warmup", str(warmup), "--threads", str(args.threads)]
            out = spawn(cmd, args.threads, args.timeout)
            if out.get("error"):
                print(f"  ! {key} / {runtime}: {out['error']}", file=sys.stderr)
            res[runtime] = out.get("median_s")
        t = None if args.no_torch or torch_case is None else torch_median(torch_case, steps, warmup, args.threads,
                                                                          args.timeout)
        n, o = res["neuronka"], res["onnxruntime"]
        print(f"{label:28s} {_ms(n):>11s} {_ms(o):>11s} {_ms(t):>11s} {_ratio(n, o):>6s} {_ratio(n, t):>6s}",
              flush=True)
        rows.append({"case": key, "label": label, "neuronka_s": n, "onnxruntime_s": o, "torch_s": t})
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "steps": steps, "warmup": warmup, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()

"""Data-parallel training over MPI: ResNet-20 images/s on one machine, the time a step spends on the gradient
allreduce with and without the overlap, the allreduce's latency and bandwidth, and a scaling model.

    python benchmarks/distributed.py --quick                  # under a minute: a few steps of each
    python benchmarks/distributed.py --steps 20 --json out.json

It runs, in subprocesses, at the same global batch (128, CIFAR-shaped random data, SGD with momentum):

- ``single``: 1 process × 2 threads (``OMP_NUM_THREADS=2``), batch 128;
- ``ranks``: ``mpiexec -n 2``, 1 thread each, batch 64 per process, alternating steps with the setting
  ``allreduce_overlap`` on and off (A B A B, so both see the same load); per step the averager's ``exposed_s``
  (from the end of the backward pass until the averaged gradients are ready: the communication the step waits
  for) and how many buckets started during the backward pass; then ``MPI_Allreduce`` (sum, float32) of
  4 KiB .. 16 MiB; on 2 ranks t(S) = S/B + 2α, so α = t(4 KiB)/2 and B = 16 MiB / (t(16 MiB) − 2α).
  ``exposed`` is taken on the rank that finishes its backward pass last (the other one also waits for it:
  ``wait_incl_peer_s``, load imbalance that no overlap hides).

The scaling model (ring allreduce of S gradient bytes over P nodes, each step):

    T_comm(P) = 2(P−1)/P · S/B + 2(P−1)·α,        E(P) = t_c / (t_c + (1 − h)·T_comm(P))

with t_c the single-node step time and h the fraction of the allreduce the overlap hides (0: none; the
measured 1 − exposed_on / exposed_off, clipped to [0, 1]). ResNet-20's t_c is the measured 1-process step;
ResNet-50's is derived from it by the multiply-adds per image (4.1 G against 41 M: × 100) unless
``--r50-step-s`` states one. The networks are stated, not measured: 25 GbE (B = 3 GB/s, α = 5 µs) and 100 Gb
InfiniBand (B = 12 GB/s, α = 2 µs).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GLOBAL_BATCH = 128
PARAMS = {"ResNet-20": 0.27e6, "ResNet-50": 25.6e6}  # float32 gradients: 4 bytes each
MACS_PER_IMAGE = {"ResNet-20": 41e6, "ResNet-50": 4.1e9}
NETWORKS = {"25 GbE": (3e9, 5e-6), "100 Gb InfiniBand": (12e9, 2e-6)}  # (B bytes/s, α s): stated
NODES = (8, 64, 256)
SIZES = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]


def _build(seed: int):
    import neuronka
    from neuronka.applications.cifar_resnet import get as get_zoo_model

    neuronka.initializers.set_seed(seed)
    model = get_zoo_model("resnet20")
    model.compile(optimizer=neuronka.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    return model


def _data(batch: int, seed: int):
    rng = numpy.random.default_rng(seed)
    return (rng.standard_normal((batch, 32, 32, 3)).astype("float32"),
            rng.integers(0, 10, size=(batch,)).astype("int64"))


# ---- workers ----------------------------------------------------------------------------------------------
def worker_single(args) -> dict:
    model = _build(0)
    x, y = _data(GLOBAL_BATCH, 1)
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t)
    step = statistics.median(times)
    return {"step_s": step, "images_per_s": GLOBAL_BATCH / step, "steps": times}


def worker_ranks(args) -> dict:
    import neuronka
    from neuronka.distribution import mpi

    dist = neuronka.distribution
    dist.set_distribution(dist.DataParallel())
    rank, size = dist.process_id(), dist.num_processes()
    comm = mpi.initialize(required=True)
    averager = dist.distribution()._averager
    averager.bucket_bytes = args.bucket_kib * 1024
    model = _build(0)
    x, y = _data(GLOBAL_BATCH // size, 1 + rank)
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    rows = {True: [], False: []}
    for i in range(2 * args.steps):
        overlap = i % 2 == 0
        neuronka.config.set("allreduce_overlap", overlap)
        comm.Barrier()
        t = time.perf_counter()
        model.train_on_batch(x, y)
        step = time.perf_counter() - t
        stat = averager.stats[-1]
        rows[overlap].append({"step_s": step, **stat})
    neuronka.config.reset("allreduce_overlap")
    # every step's times, the slowest rank's (a step ends when both have the averaged gradients)
    gathered = mpi.allgather(rows)
    result = {"ranks": size, "bucket_bytes": averager.bucket_bytes}
    for overlap, name in ((True, "on"), (False, "off")):
        per_step = [max(g[overlap][k]["step_s"] for g in gathered) for k in range(args.steps)]
        # the rank that ends its backward last waits only for the communication left; the other also waits for it
        exposed = [min(g[overlap][k]["exposed_s"] for g in gathered) for k in range(args.steps)]
        waits = [max(g[overlap][k]["exposed_s"] for g in gathered) for k in range(args.steps)]
        step = statistics.median(per_step)
        result[name] = {"step_s": step, "images_per_s": GLOBAL_BATCH / step,
                        "exposed_s": statistics.median(exposed), "wait_incl_peer_s": statistics.median(waits),
                        "buckets": rows[overlap][-1]["buckets"],
                        "started_in_backward": rows[overlap][-1]["started_in_backward"],
                        "overlapped": rows[overlap][-1]["overlapped"]}
    latency = []
    for nbytes in SIZES:
        buf = numpy.ones(nbytes // 4, "float32")
        times = []
        for _ in range(args.reps):
            comm.Barrier()
            t = time.perf_counter()
            mpi.allreduce_sum_(buf)
            times.append(time.perf_counter() - t)
        latency.append((nbytes, max(mpi.allgather(statistics.median(times)))))
    result["allreduce"] = latency
    # on 2 ranks t(S) = S/B + 2α: α from the smallest size, B from the largest
    (_, t_small), (s_large, t_large) = latency[0], latency[-1]
    alpha = t_small / 2
    result["fit"] = {"B_bytes_per_s": s_large / max(t_large - 2 * alpha, 1e-9), "alpha_s": alpha}
    return result if rank == 0 else {}


# ---- the scaling model --------------------------------------------------------------------------------------
def ring_allreduce_s(nbytes: float, nodes: int, bandwidth: float, alpha: float) -> float:
    """2(P−1)/P · S/B + 2(P−1)·α: a ring's reduce-scatter and allgather, each P−1 steps of S/P bytes."""
    return 2 * (nodes - 1) / nodes * nbytes / bandwidth + 2 * (nodes - 1) * alpha


def efficiency(step_s: float, comm_s: float, hidden: float) -> float:
    """t_c / (t_c + (1 − h)·T_comm): the throughput of P nodes over P × one node's."""
    return step_s / (step_s + (1.0 - hidden) * comm_s)


def scaling_table(r20_step_s: float, r50_step_s: float, hidden: float, measured_net=None) -> list[dict]:
    networks = dict(NETWORKS)
    if measured_net is not None:
        networks["this machine (measured, shared memory)"] = measured_net
    rows = []
    for model, step in (("ResNet-20", r20_step_s), ("ResNet-50", r50_step_s)):
        nbytes = PARAMS[model] * 4
        for net, (bandwidth, alpha) in networks.items():
            for p in NODES:
                comm = ring_allreduce_s(nbytes, p, bandwidth, alpha)
                rows.append({"model": model, "network": net, "nodes": p, "step_s": step, "comm_s": comm,
                             "efficiency": efficiency(step, comm, 0.0),
                             "efficiency_overlap": efficiency(step, comm, hidden),
                             "step_s_for_90": 9 * comm})  # t_c / (t_c + T) = 0.9 ⇔ t_c = 9·T (no overlap)
    return rows


# ---- the driver ---------------------------------------------------------------------------------------------
def _run(cmd: list[str], threads: int, timeout: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        proc = subprocess.run(cmd + ["--result", out], env=env, timeout=timeout, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"benchmarks/distributed.py: {' '.join(cmd[:4])} ... failed:\n{proc.stdout[-2000:]}"
                             f"{proc.stderr[-3000:]}")
        with open(out) as f:
            return json.load(f)


def _mpiexec() -> str:
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = local if os.path.exists(local) else shutil.which("mpiexec")
    if not found:
        raise SystemExit("benchmarks/distributed.py: no `mpiexec`: pip install 'neuronka[mpi]'")
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 timed steps of each, 5 repetitions per size")
    ap.add_argument("--steps", type=int, default=10, help="timed steps of each configuration")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=20, help="repetitions of each allreduce size")
    ap.add_argument("--bucket-kib", type=int, default=256,
                    help="gradient bucket size on 2 ranks (ResNet-20's 1.1 MB fit one 4 MiB bucket: no overlap)")
    ap.add_argument("--r50-step-s", type=float, default=None,
                    help="a stated single-node ResNet-50 step time (default: ResNet-20's × the multiply-adds ratio)")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--worker", choices=["single", "ranks"], help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.reps = 3, 1, 5
    if args.worker:
        result = worker_single(args) if args.worker == "single" else worker_ranks(args)
        if result:
            with open(args.result, "w") as f:
                json.dump(result, f)
        return 0

    me = [sys.executable, os.path.abspath(__file__), "--steps", str(args.steps), "--warmup", str(args.warmup),
          "--reps", str(args.reps), "--bucket-kib", str(args.bucket_kib)]
    started = time.perf_counter()
    single = _run(me + ["--worker", "single"], threads=2, timeout=1800)
    ranks = _run([_mpiexec(), "-n", "2"] + me + ["--worker", "ranks"], threads=1, timeout=1800)
    on, off = ranks["on"], ranks["off"]
    hidden = min(max(1.0 - on["exposed_s"] / off["exposed_s"], 0.0), 1.0) if off["exposed_s"] > 0 else 0.0
    r20 = single["step_s"]
    r50 = args.r50_step_s or r20 * MACS_PER_IMAGE["ResNet-50"] / MACS_PER_IMAGE["ResNet-20"]
    fit = ranks["fit"]
    scaling = scaling_table(r20, r50, hidden, (fit["B_bytes_per_s"], fit["alpha_s"]))

    print(f"ResNet-20 training, global batch {GLOBAL_BATCH}, median of {args.steps} steps")
    print(f"{'configuration':<44}{'images/s':>10}{'step ms':>10}{'allreduce exposed ms':>22}{'wait incl. peer ms':>20}")
    print(f"{'1 process x 2 threads':<44}{single['images_per_s']:>10.1f}{1e3 * r20:>10.1f}{'-':>22}{'-':>20}")
    for name, row in (("on", on), ("off", off)):
        label = f"2 ranks x 1 thread, overlap {name} ({row['buckets']} buckets)"
        print(f"{label:<44}{row['images_per_s']:>10.1f}{1e3 * row['step_s']:>10.1f}{1e3 * row['exposed_s']:>22.2f}"
              f"{1e3 * row['wait_incl_peer_s']:>20.2f}")
    print(f"buckets started during the backward pass (overlap on): {on['started_in_backward']} of {on['buckets']}, "
          f"{on['overlapped']} while gradients were still to come; allreduce time hidden: {100 * hidden:.0f} %")
    print("\nMPI_Allreduce (sum, float32), 2 ranks on this machine, median of", args.reps)
    for nbytes, t in ranks["allreduce"]:
        size = f"{nbytes >> 10} KiB" if nbytes < 1 << 20 else f"{nbytes >> 20} MiB"
        print(f"  {size:>8}  {1e3 * t:8.3f} ms  {nbytes / t / 2**30:6.2f} GiB/s")
    print(f"  2 ranks, t = S/B + 2 alpha: B = {fit['B_bytes_per_s'] / 1e9:.2f} GB/s, "
          f"alpha = {1e6 * fit['alpha_s']:.1f} us")
    print(f"\nScaling model: E = t_c / (t_c + (1 - h) T_comm), T_comm = 2(P-1)/P S/B + 2(P-1) alpha; h = {hidden:.2f}")
    print(f"t_c: ResNet-20 {1e3 * r20:.0f} ms (measured, batch {GLOBAL_BATCH}); ResNet-50 {r50:.1f} s "
          f"({'stated' if args.r50_step_s else 'derived: x100 multiply-adds'})")
    print(f"{'model':<11}{'network':<40}{'nodes':>6}{'T_comm ms':>11}{'E':>8}{'E overlap':>11}{'t_c for E=90% ms':>18}")
    for row in scaling:
        print(f"{row['model']:<11}{row['network']:<40}{row['nodes']:>6}{1e3 * row['comm_s']:>11.2f}"
              f"{100 * row['efficiency']:>7.1f}%{100 * row['efficiency_overlap']:>10.1f}%"
              f"{1e3 * row['step_s_for_90']:>18.1f}")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"single": single, "ranks": ranks, "hidden_fraction": hidden, "r20_step_s": r20,
                       "r50_step_s": r50, "scaling": scaling, "networks": NETWORKS}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

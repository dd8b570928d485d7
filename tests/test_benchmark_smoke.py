"""benchmarks/vs_torch.py (issue #5): FLOP counts by hand, rows and table from made-up worker results, and one
``--smoke`` run end to end (tiny shapes, 1 step; no timing is asserted, only that every cell is there)."""
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from .helpers import torch_or_skip

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "vs_torch.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("vs_torch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["vs_torch"] = module  # dataclasses resolve the annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("vs_torch", None)


def test_flop_counts_equal_hand_computed_values(bench):
    # tiny conv of --smoke: 3×3, stride 1, "same", 2 images of 8×8, 4 → 4 channels: 2·N·Ho·Wo·Cout·k·k·Cin
    assert bench.conv_flops(2, 8, 8, 4, 4, 3) == 2 * 2 * 8 * 8 * 4 * 3 * 3 * 4 == 36864
    case = bench.CASES_BY_KEY["op-conv3x3-s1"]
    p = case.settings(smoke=True)
    assert bench.phase_flops(case, p, "fwd") == 36864
    assert bench.phase_flops(case, p, "bwd") == 2 * 36864  # dX and dW
    # ResNet-20 on 32×32: stem 884,736 + stage 1 6·4,718,592 + stages 2 and 3 each 2,359,296 + 5·4,718,592, + dense
    assert bench.cifar_resnet_flops(20) == 884_736 + 6 * 4_718_592 + 2 * (2_359_296 + 5 * 4_718_592) + 2 * 64 * 10
    assert round(bench.cifar_resnet_flops(56) / 1e9, 3) == 0.251
    assert round(bench.resnet50_flops() / 1e9, 2) == 8.18  # 4.09 G multiply-adds, torchvision's count
    assert bench.lstm_flops(64, 100, 32, 128) == 100 * 2 * 64 * (32 + 128) * 4 * 128 + 2 * 64 * 128 * 10
    gru, bilstm = bench.CASES_BY_KEY["gru128-train-b64"], bench.CASES_BY_KEY["bilstm128-train-b64"]
    assert bench.forward_flops(gru, gru.params) == 100 * 2 * 64 * (32 + 128) * 3 * 128 + 2 * 64 * 128 * 10
    assert bench.forward_flops(bilstm, bilstm.params) == 2 * 100 * 2 * 64 * (32 + 128) * 4 * 128 + 2 * 64 * 256 * 10
    train = bench.CASES_BY_KEY["resnet20-train-b128"]
    assert bench.phase_flops(train, train.settings(False), "train") == 3 * 128 * bench.cifar_resnet_flops(20)
    assert bench.phase_flops(bench.CASES_BY_KEY["op-relu"], {"batch": 1}, "fwd") is None  # memory-bound: no count


def test_quick_and_only_select_the_issue_cases(bench):
    keys = {c.key for c in bench.select_cases("", quick=False, smoke=False)}
    assert {"resnet20-train-b128", "resnet56-train-b128", "resnet50-train-b16", "lstm128-train-b64",
            "resnet50-infer-b1", "op-conv1x1", "op-maxpool", "op-dense"} <= keys
    quick = {c.key for c in bench.select_cases("", quick=True, smoke=False)}
    assert "resnet56-train-b128" not in quick and "resnet50-train-b16" not in quick
    assert "resnet50-infer-b8" in quick
    assert {c.key for c in bench.select_cases("conv3x3,LSTM", quick=True, smoke=False)} == {
        "op-conv3x3-s1", "op-conv3x3-s2", "lstm128-train-b64", "bilstm128-train-b64"}
    assert {"gru128-train-b64", "op-avgpool"} <= keys


def _fake_run(phases: dict, base=100 * 1024, peak=300 * 1024, step_peak=250 * 1024) -> dict:
    return {"phases": phases, "rss_base_kib": base, "rss_peak_kib": peak, "rss_step_peak_kib": step_peak,
            "peak_reset": True, "conv_workers": 2}


def test_rows_ratio_peak_share_memory_and_targets_from_worker_results(bench, capsys):
    case = bench.CASES_BY_KEY["resnet20-train-b128"]
    results = {"neuronka": [_fake_run({"train": [0.5, 0.4, 0.6]})],
               "torch": [_fake_run({"train": [0.25, 0.2, 0.3]}, step_peak=200 * 1024)]}
    (row,) = bench.make_rows(case, False, results, gemm_gflops=100.0)
    n, t = row["neuronka"], row["torch"]
    assert (n["median_s"], n["min_s"], n["max_s"]) == (0.5, 0.4, 0.6)
    assert row["ratio"] == pytest.approx(0.5)  # neuronka half as fast
    assert row["target_met"] is False
    assert n["images_per_s"] == pytest.approx(256.0)
    assert n["pct_peak"] == pytest.approx(100 * 3 * 128 * bench.cifar_resnet_flops(20) / 0.5 / 1e9 / 100.0)
    assert (n["step_mib"], t["step_mib"]) == (150.0, 100.0)
    assert row["mem_ratio"] == pytest.approx(1.5) and row["mem_target_met"] is False  # issue #19: <= 1.0

    op = bench.CASES_BY_KEY["op-relu"]
    rows = bench.make_rows(op, False, {"neuronka": [_fake_run({"fwd": [0.002], "bwd": [0.004]})],
                                       "torch": [{"error": "exit 1: boom"}]}, 100.0)
    assert [r["key"] for r in rows] == ["op-relu fwd", "op-relu bwd"]
    assert rows[0]["ratio"] is None and rows[0]["torch"] == {"error": "exit 1: boom"}

    meta = {"cpu": "test cpu", "cpus": 2, "load_start": 0.0, "python": "3", "numpy": "2", "torch": "2",
            "neuronka": "0", "threads": 2, "torch_layout": "nchw", "rounds": 1, "gemm": {"gflops": 100.0, "n": 64}}
    bench.print_table([row, *rows], meta, old={row["key"]: {"ratio": 0.25}})
    out = capsys.readouterr().out
    assert "old n/t" in out and "0.25" in out and "MISS" in out and "exit 1: boom" in out
    line = next(s for s in out.splitlines() if s.startswith("ResNet-20 train b128"))
    assert "0.50 >=1.3 MISS" in line and "1.50 <=1.0 MISS" in line


@pytest.mark.slow
@pytest.mark.torch
def test_smoke_run_writes_complete_numeric_rows(tmp_path):
    torch_or_skip()
    out = tmp_path / "smoke.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--only", "resnet20-train,op-conv3x3-s1",
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["meta"]["gemm"]["gflops"] > 0
    rows = {r["key"]: r for r in data["rows"]}
    assert set(rows) == {"resnet20-train-b128", "op-conv3x3-s1 fwd", "op-conv3x3-s1 bwd"}
    for row in rows.values():
        assert math.isfinite(row["ratio"]) and row["ratio"] > 0
        for fw in ("neuronka", "torch"):
            side = row[fw]
            assert "error" not in side, side
            for k in ("median_s", "min_s", "max_s", "gflops", "pct_peak", "rss_peak_mib", "step_mib"):
                assert math.isfinite(side[k]) and side[k] >= 0, (row["key"], fw, k)
            assert side["median_s"] > 0 and side["rss_peak_mib"] > 0
    assert rows["op-conv3x3-s1 fwd"]["flops"] == 36864 and rows["op-conv3x3-s1 bwd"]["flops"] == 73728
    assert rows["resnet20-train-b128"]["flops"] == 3 * 2 * 81_102_080  # batch 2 under --smoke
    assert "ResNet-20 train b128 (smoke)" in proc.stdout and "GEMM peak" in proc.stdout


@pytest.mark.slow
def test_paths_script_prints_a_row_per_comparison():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "paths.py"
    proc = subprocess.run([sys.executable, str(script), "--only", "bn,lstm,tiles,pool,batch1", "--rounds", "1"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if "ratio of minima" in line]
    from neuronka.ops import recurrent  # noqa: PLC0415
    c_loops = recurrent._c_loops(numpy.zeros(1, numpy.float32), 128) is not None  # two more LSTM rows
    from neuronka.ops import blas  # noqa: PLC0415
    tiles = 5 if blas.direct_available() else 0  # forward at 16, 32, 64 channels, weight gradient at 16, 32
    # bn 1, lstm 2 + the right-padded inference row, pool 2, batch1 3 (two convolutions, ResNet-20 predict)
    assert len(rows) == 4 + 2 * c_loops + tiles + 5 and all(float(r.split()[-1]) > 0 for r in rows), proc.stdout


def _sweep_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "recipe_sweep_torch.py"
    spec = importlib.util.spec_from_file_location("recipe_sweep_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def test_recipe_sweep_configs_change_only_what_their_names_say():
    _, sweep = _sweep_module()
    base = sweep.parse_config("base")
    assert base == sweep.BASE and base["epochs"] == 30 and base["label_smoothing"] == 0.1
    b64 = sweep.parse_config("b64+ls0+wd1e-3+linear+ep45")
    assert b64["batch_size"] == 64 and b64["lr"] == pytest.approx(0.05)  # the lr scales with the batch
    assert (b64["label_smoothing"], b64["weight_decay"], b64["schedule"], b64["epochs"]) == (0.0, 1e-3, "linear", 45)
    assert {k: v for k, v in b64.items() if k not in ("batch_size", "lr", "label_smoothing", "weight_decay",
                                                      "schedule", "epochs")} == \
        {k: v for k, v in base.items() if k not in ("batch_size", "lr", "label_smoothing", "weight_decay",
                                                    "schedule", "epochs")}
    with pytest.raises(SystemExit, match="unknown change 'mixup'"):
        sweep.parse_config("base+mixup")


@pytest.mark.slow
@pytest.mark.torch
def test_recipe_sweep_trains_on_the_published_jpeg_layout(tmp_path):
    """The sweep reads the JPEG tarball's layout (cifar10/{train,test}/<class>/NNNN.jpg), holds out the last
    images of each class only with --split val, and reports one JSON row per candidate."""
    torch_or_skip()
    import io
    import tarfile

    from PIL import Image

    path, sweep = _sweep_module()
    rng = numpy.random.default_rng(0)
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split, count in (("train", 6), ("test", 2)):
            for cls in sweep.CLASSES:
                for i in range(count):
                    buf = io.BytesIO()
                    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=numpy.uint8)).save(buf, "JPEG")
                    info = tarfile.TarInfo(f"cifar10/{split}/{cls}/{i:04d}.jpg")
                    info.size = buf.tell()
                    buf.seek(0)
                    tar.addfile(info, buf)
    xtr, ytr, itr, xte, yte = sweep.load_cifar10(str(archive), str(tmp_path / "cache.npz"))
    assert xtr.shape == (60, 32, 32, 3) and xte.shape == (20, 32, 32, 3)
    assert list(ytr[:7]) == [0] * 6 + [1] and list(itr[:7]) == [0, 1, 2, 3, 4, 5, 0]
    out = tmp_path / "sweep.json"
    proc = subprocess.run([sys.executable, str(path), "--data", str(archive), "--cache", str(tmp_path / "cache.npz"),
                           "--device", "cpu", "--split", "test", "--configs", "base+ep1+b16,ls0+ep1+b16+linear",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["config"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"base+ep1+b16", "ls0+ep1+b16+linear"}
    for r in rows.values():
        assert r["eval_images"] == 20 and 0 <= r["accuracy"] <= 1 and math.isfinite(r["last_epoch_train_loss"])


@pytest.mark.slow
def test_cold_start_script_times_the_real_command_line_to_its_first_step(tmp_path):
    from .test_cli import write_cifar10_archive

    archive = write_cifar10_archive(tmp_path / "cifar-10-python.tar.gz", n_train=200, n_test=20)
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "cold_start.py"
    try:
        import torch  # noqa: F401
        extra = []
    except ImportError:
        extra = ["--no-torch"]
    proc = subprocess.run([sys.executable, str(script), "--data", str(archive), "--repeats", "1", *extra],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    seconds = {line.split(":")[0].strip(): float(line.rsplit(":", 1)[1].split()[0])
               for line in proc.stdout.splitlines() if line.strip().startswith(("neuronka train", "PyTorch script"))}
    assert len(seconds) == 3 - len(extra) and all(0 < s < 300 for s in seconds.values()), proc.stdout
    assert ("target: neuronka ≤ PyTorch + 1 s" in proc.stdout) == (not extra)


def test_epoch_budget_compares_the_ceiling_with_the_sweep(tmp_path):
    """benchmarks/epoch_budget.py (#16, claim 10): the verdict line follows the sweep and the ceiling."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "epoch_budget.py"
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps([{"epochs": 30, "accuracy": 0.87, "accuracy_flip_tta": 0.88},
                                 {"epochs": 30, "accuracy": 0.86, "accuracy_flip_tta": 0.89},
                                 {"epochs": 90, "accuracy": 0.90, "accuracy_flip_tta": 0.92}]))

    def run(minutes):
        proc = subprocess.run([sys.executable, str(script), "--no-measure", "--sweep", str(sweep),
                               "--minutes", str(minutes)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    out = run(1e5)  # every run fits: the 90-epoch one reaches 92 % with the flip
    assert "reached at [90] epochs" in out and "88.00%" not in out and "89.00%" in out, out  # best per row
    assert "MFLOP per image (3 × 81.1 forward)" in out
    out = run(1e-3)  # nothing fits
    assert "no run that fits 0 epochs reached 91 %" in out and "reached at" not in out, out

"""The ``neuronka`` command end to end: train / evaluate / predict / summary on a tiny CIFAR-format archive
written here, resume equal bit for bit to an uninterrupted run, clean errors, and short real-data runs."""
import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import urllib.error
from pathlib import Path

import numpy
import pytest

from neuronka import cli
from neuronka.datasets import cifar as cifar_module

from .conftest import dataset_path

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
RUN_FILES = ("config.json", "checkpoint.json", "history.csv", "steps.csv", "model.keras", "report.txt",
             "report.json", "confusion_matrix.png", "training_curves.png", "results.json")


def write_cifar10_archive(path: Path, n_train: int = 200, n_test: int = 100, seed: int = 0) -> Path:
    """The official python format: cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta (pickled dicts)."""
    rng = numpy.random.default_rng(seed)

    def batch(n):
        y = rng.integers(0, 10, n)
        x = rng.integers(0, 256, (n, 32, 32, 3)).astype(numpy.int16)
        x[..., 0] += (y[:, None, None] * 12 - 60).astype(numpy.int16)  # a class-dependent tint
        x = numpy.clip(x, 0, 255).astype(numpy.uint8)
        return {b"batch_label": b"synthetic", b"labels": y.tolist(),
                b"data": x.transpose(0, 3, 1, 2).reshape(n, 3072)}  # channel-major rows

    files = {f"data_batch_{i}": batch(n_train // 5) for i in range(1, 6)}
    files["test_batch"] = batch(n_test)
    files["batches.meta"] = {b"label_names": [c.encode() for c in CLASSES], b"num_vis": 3072}
    with tarfile.open(path, "w:gz") as tar:
        for name, d in files.items():
            data = pickle.dumps(d, protocol=3)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def checkpoint_arrays(run: Path) -> dict:
    state = json.loads((run / "checkpoint.json").read_text())
    with numpy.load(run / state["weights"], allow_pickle=False) as f:
        return {k: f[k] for k in f.files if k != "__neuronka__"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with the synthetic archive; the decoded-data cache kept inside it."""
    root = tmp_path_factory.mktemp("cli")
    write_cifar10_archive(root / "cifar-10-python.tar.gz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.delenv("NEURONKA_DATA", raising=False)
        yield root


TRAIN_ARGS = ("train", "--model", "resnet20", "--dataset", "cifar10", "--epochs", 2, "--batch-size", 50, "--seed", 7)


@pytest.fixture(scope="module")
def finished_run(workdir):
    """An uninterrupted 2-epoch run on the synthetic archive: (run folder, stdout)."""
    run = workdir / "runs" / "full"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli.main([str(a) for a in (*TRAIN_ARGS, "--data", workdir / "cifar-10-python.tar.gz", "--out", run,
                                          "--verbose", 2)])
    assert code == 0, buf.getvalue()
    return run, buf.getvalue()


def test_train_writes_the_run_folder_and_prints_the_report(finished_run):
    run, out = finished_run
    for name in RUN_FILES:
        assert (run / name).is_file(), f"{name} missing from the run folder"
    assert [p.name for p in (run / "checkpoint").iterdir()] == ["epoch-0002.weights.npz"]  # only the latest
    # the classification report, with class names, printed and saved
    assert "precision" in out and "recall" in out and "f1-score" in out and "macro avg" in out
    assert "weighted avg" in out and "airplane" in out and "truck" in out
    assert "images/s" in out and "wall time" in out
    report = json.loads((run / "report.json").read_text())
    assert set(CLASSES) <= set(report["report"]) and "accuracy" in report
    assert numpy.asarray(report["confusion_matrix"]).shape == (10, 10)
    assert numpy.asarray(report["confusion_matrix"]).sum() == 100
    assert (run / "report.txt").read_text() in out
    history = (run / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate" and len(history) == 3
    steps = (run / "steps.csv").read_text().splitlines()
    assert len(steps) == 1 + 2 * 4  # header + 2 epochs of 4 batches
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["model"] == "resnet20" and config["settings"]["epochs"] == 2
    assert config["class_names"] == list(CLASSES) and len(config["normalization"]["mean"]) == 3
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "finished" and results["train_items"] == 400
    assert results["train_images_per_second"] > 0
    for png in ("confusion_matrix.png", "training_curves.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_rate_follows_the_cosine_schedule_per_step(finished_run):
    run, _ = finished_run
    lrs = [float(line.split(",")[3]) for line in (run / "steps.csv").read_text().splitlines()[1:]]
    total = len(lrs)  # 8 steps: lr(t) = 0.1 · ½(1 + cos(π t / 8))
    expected = [0.1 * 0.5 * (1 + numpy.cos(numpy.pi * t / total)) for t in range(total)]
    numpy.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


def test_evaluate_and_predict_use_the_run_outputs(finished_run, workdir, capsys, tmp_path):
    from PIL import Image

    run, _ = finished_run
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0, err
    assert "f1-score" in out and "Accuracy:" in out
    acc = float(out.rsplit("Accuracy:", 1)[1].split()[0])
    assert acc == pytest.approx(json.loads((run / "report.json").read_text())["accuracy"], abs=1e-4)
    # any image size: resized to 32x32, normalized with the run's statistics
    big = tmp_path / "photo.jpg"
    Image.fromarray(numpy.random.default_rng(0).integers(0, 256, (97, 61, 3), dtype=numpy.uint8)).save(big)
    small = tmp_path / "tiny.png"
    Image.fromarray(numpy.zeros((12, 20, 3), dtype=numpy.uint8)).save(small)
    code, out, err = run_cli(capsys, "predict", run, big, small, "--top", 5)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()[:2] in {f"{i}." for i in range(1, 6)}]
    assert len(lines) == 10
    probs = [float(line.split()[-1]) for line in lines]
    assert all(0 <= p <= 1 for p in probs) and sum(probs[:5]) <= 1 + 1e-5
    assert all(line.split()[1] in CLASSES for line in lines)
    # the model file alone and the checkpoint's weights file give the same predictions
    code2, out2, _ = run_cli(capsys, "predict", run / "model.keras", big, small, "--top", 5)
    code3, out3, _ = run_cli(capsys, "predict", run / "checkpoint" / "epoch-0002.weights.npz", big, small)
    assert code2 == code3 == 0 and out2 == out == out3.replace(str(run / "checkpoint" / "epoch-0002.weights.npz"),
                                                              str(run))


def test_resume_after_epoch_1_equals_the_uninterrupted_run_bit_for_bit(finished_run, workdir, capsys):
    run, _ = finished_run
    part = workdir / "runs" / "resumed"
    data = workdir / "cifar-10-python.tar.gz"
    code, out, err = run_cli(capsys, *TRAIN_ARGS, "--data", data, "--out", part, "--verbose", 0,
                             "--stop-after-epoch", 1)
    assert code == 0, err
    assert json.loads((part / "checkpoint.json").read_text())["epoch"] == 1
    assert not (part / "model.keras").exists() and not (part / "report.txt").exists()
    # continuing with other settings is refused; the run folder is not reused by accident
    code, _, err = run_cli(capsys, "train", "--out", part, "--resume", "--lr", 0.5)
    assert code == 2 and "--lr" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, *TRAIN_ARGS, "--data", data, "--out", part)
    assert code == 2 and "--resume" in err
    # a fresh process state: every generator is reseeded from (seed, epoch)
    numpy.random.seed(12345)
    code, out, err = run_cli(capsys, "train", "--out", part, "--resume", "--verbose", 0)
    assert code == 0, err
    a, b = checkpoint_arrays(run), checkpoint_arrays(part)
    assert sorted(a) == sorted(b)
    for k in a:  # weights, BN statistics and the optimizer's slots and iteration count
        assert a[k].dtype == b[k].dtype and numpy.array_equal(a[k], b[k]), k
    assert (run / "history.csv").read_text() == (part / "history.csv").read_text()
    assert (run / "steps.csv").read_text() == (part / "steps.csv").read_text()
    assert (run / "report.txt").read_text() == (part / "report.txt").read_text()


def test_missing_dataset_exits_2_saying_where_it_looked(workdir, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))

    def offline(url, dest):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(cifar_module, "_fetch", offline)
    code, out, err = run_cli(capsys, "train", "--dataset", "cifar10", "--epochs", 1, "--out", tmp_path / "r")
    assert code == 2
    assert "Looked in" in err and "--data" in err and "NEURONKA_DATA" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "train", "--data", tmp_path / "nowhere", "--out", tmp_path / "r2")
    assert code == 2 and "does not exist" in err


def test_missing_dataset_in_a_subprocess_prints_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}  # no download
    env.pop("NEURONKA_DATA", None)
    proc = subprocess.run([sys.executable, "-m", "neuronka.cli", "evaluate", str(tmp_path / "no-such-run")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "no-such-run" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "neuronka.cli", "train", "--epochs", "1", "--out",
                           str(tmp_path / "r")], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Looked in" in proc.stderr


@pytest.mark.parametrize("argv, message", [
    (("train", "--model", "lstm", "--dataset", "cifar10"), "not a image model"),
    (("train", "--dataset", "sms-spam", "--augment", "crop"), "--augment"),
    (("train", "--dataset", "cifar10", "--label-mode", "coarse"), "--label-mode"),
    (("train", "--augment", "crop,sparkle"), "sparkle"),
    (("train", "--schedule", "step", "--warmup-epochs", "1", "--epochs", "3"), "--warmup-epochs"),
    (("train", "--resume"), "--out"),
    (("summary", "--model", "vgg16"), "vgg16"),
])
def test_bad_options_exit_2_with_a_message(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_summary_prints_resnet50(capsys):
    code, out, _ = run_cli(capsys, "summary", "--model", "resnet50")
    assert code == 0
    # Keras's ResNet50 (neuronka.applications.ResNet50); "Total" adds the 53,120 BatchNormalization moving statistics
    assert "Trainable params: 25,583,592" in out
    assert "Total params: 25,636,712" in out and "Non-trainable params: 53,120" in out
    code, out, _ = run_cli(capsys, "summary", "--model", "resnet20", "--input-shape", "32,32,3")
    assert code == 0 and "Trainable params: 269,722" in out


def test_demo_still_runs(capsys):
    code, out, _ = run_cli(capsys, "demo", "--epochs", 1)
    assert code == 0 and out


# ---------------------------------------------------------------------------------- real data
def test_real_cifar10_one_epoch_lowers_the_loss(tmp_path, capsys):
    archive = dataset_path("cifar10", "cifar10-jpeg.tar.gz")
    run = tmp_path / "real"
    code, out, err = run_cli(capsys, "train", "--model", "resnet20", "--dataset", "cifar10", "--data", archive,
                             "--epochs", 1, "--limit-train", 384, "--limit-test", 100, "--batch-size", 32,
                             "--lr", 0.02, "--out", run, "--verbose", 0)
    assert code == 0, err
    losses = [float(line.split(",")[2]) for line in (run / "steps.csv").read_text().splitlines()[1:]]
    assert len(losses) == 12 and all(numpy.isfinite(losses))
    # the loss of the first batch (before any update) against the last third of the epoch
    assert numpy.mean(losses[-4:]) < losses[0] - 0.3, losses
    config = json.loads((run / "config.json").read_text())
    assert config["class_names"] == list(CLASSES) and config["train_images"] == 384
    assert (run / "report.txt").is_file()


@pytest.mark.slow
def test_the_readme_taste_learns_well_above_chance(tmp_path, capsys):
    """The README's quick run (3 epochs on 5,000 images) must show learning: its former `--epochs 1
    --limit-train 2000` ended at chance (9.6 % on the test set), which reads as broken."""
    archive = dataset_path("cifar10", "cifar10-jpeg.tar.gz")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`--epochs 3 --limit-train 5000`" in readme
    code, out, err = run_cli(capsys, "train", "--model", "resnet20", "--dataset", "cifar10", "--data", archive,
                             "--epochs", 3, "--limit-train", 5000, "--out", tmp_path / "taste", "--verbose", 0)
    assert code == 0, err
    report = json.loads((tmp_path / "taste" / "results.json").read_text())
    assert report["test_accuracy"] > 0.25, report["test_accuracy"]


def test_real_sms_spam_run_lowers_the_loss_and_reports_the_spam_class(tmp_path, capsys):
    folder = dataset_path("text", "sms-spam-collection")
    run = tmp_path / "spam"
    code, out, err = run_cli(capsys, "train", "--dataset", "sms-spam", "--model", "conv1d", "--data", folder,
                             "--epochs", 2, "--limit-train", 800, "--limit-test", 300, "--class-weight", "balanced",
                             "--max-tokens", 3000, "--sequence-length", 50, "--embedding-dim", 32, "--units", 32,
                             "--lr", 0.005, "--out", run, "--verbose", 1)
    assert code == 0, err
    loss = [float(line.split(",")[1]) for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert loss[1] < loss[0] * 0.8, loss
    assert "spam (class 1): precision" in out and "Training:" in out and "texts/s" in out
    report = json.loads((run / "report.json").read_text())
    assert report["positive_class"]["name"] == "spam" and 0 <= report["positive_class"]["f1-score"] <= 1
    assert (run / "vocabulary.txt").read_text().splitlines()[1] == "[UNK]"
    code, out, err = run_cli(capsys, "predict", run, "WINNER! Claim your free prize now, call 09061701461",
                             "see you at lunch tomorrow", "--top", 2)
    assert code == 0, err
    assert "spam" in out and "ham" in out


def test_python_dash_m_neuronka_is_the_command():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "neuronka", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "train" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "neuronka", "train", "--epochs", "x"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_run_folder_is_never_shared_or_written_over(workdir, capsys, tmp_path):
    """A folder with someone's files is refused; a second `train` on a busy run folder stops at once; `--resume`
    on a folder that holds no run (a mistyped --out) is an error, not a fresh run."""
    data = workdir / "cifar-10-python.tar.gz"
    mine = tmp_path / "my_files"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    code, _, err = run_cli(capsys, *TRAIN_ARGS, "--data", data, "--out", mine, "--epochs", 1, "--limit-train", 50)
    assert code == 2 and "not empty and holds no neuronka run" in err and "Traceback" not in err
    assert (mine / "thesis.tex").read_text() == "precious" and sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    code, _, err = run_cli(capsys, *TRAIN_ARGS, "--data", data, "--out", tmp_path / "tpyo", "--resume")
    assert code == 2 and "holds no run to continue" in err and not (tmp_path / "tpyo").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    import fcntl

    with open(busy / ".lock", "a+") as lock:  # another process's run holds the folder
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_cli(capsys, *TRAIN_ARGS, "--data", data, "--out", busy, "--epochs", 1,
                               "--limit-train", 50)
        assert code == 2 and "in use by another `neuronka train`" in err
    assert sorted(p.name for p in busy.iterdir()) == [".lock"]


@pytest.mark.parametrize("argv", [("train", "--momentum", "5"), ("train", "--lr", "inf"), ("train", "--lr", "-1"),
                                  ("train", "--limit-test", "-5"), ("train", "--limit-test", "0"),
                                  ("train", "--batch-size", "0"), ("evaluate", "run", "--batch-size", "0"),
                                  ("summary", "--model", "lstm", "--units", "0"), ("train", "--epochs", "0")])
def test_values_out_of_range_are_refused_before_anything_runs(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "expected" in err


def test_user_caused_failures_print_one_line_and_no_traceback(finished_run, capsys, tmp_path, monkeypatch):
    import errno

    from PIL import Image

    run, _ = finished_run
    broken = tmp_path / "broken.weights.npz"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    code, out, err = run_cli(capsys, "predict", "--model", "resnet20", broken, tmp_path / "x.png")
    assert code == 2 and err.startswith("neuronka: error:") and len(err.strip().splitlines()) == 1
    img = tmp_path / "big.png"
    Image.fromarray(numpy.zeros((64, 64, 3), numpy.uint8)).save(img)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    code, _, err = run_cli(capsys, "predict", run, img)
    assert code == 2 and "more pixels" in err and "Traceback" not in err
    monkeypatch.undo()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "model.keras"))

    monkeypatch.setattr("neuronka.training.train", disk_full)
    code, _, err = run_cli(capsys, "train", "--out", tmp_path / "out")
    assert code == 1 and "the disk is full" in err and "Traceback" not in err
    empty = tmp_path / "sms"
    empty.mkdir()
    (empty / "SMSSpamCollection").write_text("")
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "train", "--dataset", "sms-spam", "--model", "conv1d", "--data", empty,
                           "--out", tmp_path / "sms_run")
    assert code == 2 and err.startswith("neuronka: error:") and "Traceback" not in err


def test_resume_removes_the_temporary_files_a_killed_run_left(finished_run, workdir, capsys, tmp_path):
    import shutil

    run, _ = finished_run
    copy = tmp_path / "killed"
    shutil.copytree(run, copy)
    orphans = [copy / ".model.keras.k3j2.tmp", copy / "checkpoint" / ".epoch-0003.weights.npz.x9.tmp"]
    for p in orphans:
        p.write_bytes(b"half written")
    code, _, err = run_cli(capsys, "train", "--out", copy, "--resume", "--data", workdir / "cifar-10-python.tar.gz",
                           "--verbose", 0)
    assert code == 0, err
    assert not any(p.exists() for p in orphans)


def test_evaluate_tta_flip_averages_each_image_with_its_mirror_image(finished_run, capsys):
    from neuronka import training
    from neuronka.training.data import _load_image_data

    run, _ = finished_run
    model, config = training.load_run(run)
    s = {**config["settings"], "limit_train": None, "limit_test": None}
    (_, _), (x, y), _ = _load_image_data(s, config["data"])
    mean, std = (numpy.asarray(config["normalization"][k], numpy.float32) for k in ("mean", "std"))

    def probs(images):
        return model.predict((images.astype(numpy.float32) / 255 - mean) / std, verbose=0)

    plain, mirrored = probs(x), probs(x[:, :, ::-1])
    assert numpy.abs(plain - mirrored).max() > 1e-3  # the model is not mirror-symmetric: the average matters
    expected = numpy.zeros((10, 10), numpy.int64)
    numpy.add.at(expected, (y, ((plain + mirrored) / 2).argmax(1)), 1)
    result = training.evaluate(run, tta="flip", verbose=0)
    numpy.testing.assert_array_equal(numpy.asarray(result["confusion_matrix"]), expected)
    assert result["accuracy"] == pytest.approx(numpy.trace(expected) / len(y))
    code, out, err = run_cli(capsys, "evaluate", run, "--tta", "flip")
    assert code == 0 and "each averaged with its mirror image" in out, err
    assert float(out.rsplit("Accuracy:", 1)[1].split()[0]) == pytest.approx(result["accuracy"], abs=1e-4)
    with pytest.raises(training.JobError, match="--tta: expected 'flip'.*received 'rotate'"):
        training.evaluate(run, tta="rotate", verbose=0)

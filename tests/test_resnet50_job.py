"""The notes' job as commands: an ImageNet-pretrained ResNet-50 fine-tuned on CIFAR (``neuronka train --weights``,
its top replaced, inputs resized and preprocessed as the weights expect, the base frozen or fine-tuned from a
stage, the precision / recall / F1 report in the run folder) and its own ImageNet top-5 (``neuronka predict
--weights``). Weights are generated here in torchvision's published layout (random: the format is checked, not
the classes); bad input gives one ``neuronka: error:`` line and exit status 2."""
import contextlib
import io
import json
import os
import re

import numpy
import pytest

from neuronka import cli, training, transfer
from neuronka.training import JobError

from .conftest import DATASETS, dataset_path
from .test_cli import write_cifar10_archive
from .test_torchvision_weights import torch, torchvision_resnet_twin

USER_CACHE = os.environ.get("XDG_CACHE_HOME")  # the real-data test decodes CIFAR-10 once, into the user's cache
SAMPLES = ("n02123045_tabby.JPEG", "n07753592_banana.JPEG", "n04552348_warplane.JPEG")


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Random torchvision ResNet-50 and ResNet-18 state dicts, as torch.save writes torchvision's files."""
    folder = tmp_path_factory.mktemp("weights")
    paths = {}
    for depth in (18, 50):
        twin = torchvision_resnet_twin(depth, seed=depth)
        paths[depth] = folder / f"resnet{depth}.pth"
        torch.save(twin.state_dict(), paths[depth])
    return paths


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """A small archive in the official CIFAR-10 format; its decoded cache kept beside it."""
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10_archive(root / "cifar-10-python.tar.gz", n_train=100, n_test=40)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.delenv("NEURONKA_DATA", raising=False)
        yield root


# ---------------------------------------------------------------------------------- settings
def test_transfer_settings_take_the_transfer_defaults(weights):
    s = training.resolve_settings({"weights": str(weights[50]), "freeze_base": True})
    assert (s["model"], s["optimizer"], s["lr"], s["batch_size"], s["image_size"]) == ("resnet50", "adam", 1e-3,
                                                                                       32, 224)
    assert s["weights"] == str(weights[50].resolve()) and s["freeze_base"] and s["fine_tune_from"] is None
    assert s["weight_decay"] == 0.0 and s["augment"] == "flip" and s["kind"] == "image"
    t = training.resolve_settings({"weights": str(weights[50]), "fine_tune_from": "conv4", "dataset": "cifar100",
                                   "label_mode": "coarse", "image_size": 64, "optimizer": "sgd"})
    assert (t["lr"], t["label_mode"], t["image_size"], t["fine_tune_from"]) == (0.01, "coarse", 64, "conv4")
    assert training.resolve_settings({"weights": "imagenet"})["weights"] == "imagenet"
    assert "weights" not in training.resolve_settings({"dataset": "cifar10"})  # plain runs are as before


@pytest.mark.parametrize("options, message", [
    ({"freeze_base": True}, "--freeze-base applies only with --weights"),
    ({"image_size": 64, "fine_tune_from": "conv4"}, "--fine-tune-from, --image-size apply only with --weights"),
    ({"weights": "x.bin"}, "expected imagenet, a Keras weights file"),
    ({"weights": "/nonexistent/w.pth"}, "no such file"),
    ({"weights": "R50", "freeze_base": True, "fine_tune_from": "conv4"}, "exclude each other"),
    ({"weights": "R50", "fine_tune_from": "conv9"}, "expected one of conv1, conv2, conv3, conv4, conv5"),
    ({"weights": "R50", "image_size": 16}, "--image-size: expected an integer ≥ 32"),
    ({"weights": "R50", "model": "resnet20"}, "with torchvision weights expected one of resnet18"),
    ({"weights": "imagenet", "model": "resnet18"}, "with keras weights expected one of resnet50"),
    ({"weights": "R50", "dataset": "sms-spam"}, "applies to the image datasets"),
])
def test_bad_transfer_settings_raise_job_errors(options, message, weights):
    options = {k: (str(weights[50]) if v == "R50" else v) for k, v in options.items()}
    with pytest.raises(JobError, match=re.escape(message)):
        training.resolve_settings(options)


# ---------------------------------------------------------------------------------- the model
def test_fine_tune_from_a_stage_trains_that_stage_on_and_leaves_earlier_ones(weights):
    s = training.resolve_settings({"model": "resnet18", "weights": str(weights[18]), "fine_tune_from": "conv5",
                                   "image_size": 32})
    model = transfer.build_transfer_model(s, 10, (32, 32, 3))
    base = model.get_layer("torchvision_resnet18")
    assert [layer.name for layer in model.layers] == ["images", "imagenet_preprocessing", "torchvision_resnet18",
                                                      "predictions"]
    frozen = {layer.name for layer in base.layers if layer.weights and not layer.trainable}
    assert frozen and all(re.match(r"conv[1-4]_", n) for n in frozen)
    assert base.get_layer("conv5_block1_1_conv").trainable and not base.get_layer("conv4_block2_2_conv").trainable
    names = ("conv4_block2_2_conv", "conv5_block2_2_conv", "conv4_block2_2_bn")
    before = {n: numpy.array(base.get_layer(n).weights[0].numpy()) for n in names}
    before_mean = numpy.array(base.get_layer("conv4_block2_2_bn").moving_mean.numpy())
    model.compile("adam", "sparse_categorical_crossentropy")
    x = numpy.random.default_rng(0).random((8, 32, 32, 3), dtype=numpy.float32)
    model.fit(x, numpy.arange(8) % 10, epochs=1, batch_size=8, verbose=0)
    after = {n: base.get_layer(n).weights[0].numpy() for n in before}
    assert not numpy.array_equal(after["conv5_block2_2_conv"], before["conv5_block2_2_conv"])
    assert numpy.array_equal(after["conv4_block2_2_conv"], before["conv4_block2_2_conv"])
    assert numpy.array_equal(after["conv4_block2_2_bn"], before["conv4_block2_2_bn"])
    # a frozen BatchNormalization runs in inference mode: its moving statistics stay
    assert numpy.array_equal(base.get_layer("conv4_block2_2_bn").moving_mean.numpy(), before_mean)


@pytest.mark.parametrize("mode", ["caffe", "torch"])
def test_imagenet_preprocessing_is_the_weights_own_scaling(mode):
    x = numpy.random.default_rng(1).random((2, 4, 4, 3), dtype=numpy.float32)  # RGB in [0, 1]
    if mode == "caffe":  # Keras's ResNet50: BGR on the 0–255 scale minus the mean pixel
        expected = 255.0 * x[..., ::-1] - numpy.array([103.939, 116.779, 123.68], numpy.float32)
    else:  # torchvision: (x − mean) / std
        expected = (x - numpy.array([0.485, 0.456, 0.406])) / numpy.array([0.229, 0.224, 0.225])
    layer = transfer.ImageNetPreprocessing(mode)
    numpy.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-4)
    numpy.testing.assert_allclose(transfer.preprocess_array(x, mode), expected, rtol=1e-5, atol=1e-4)
    assert transfer.ImageNetPreprocessing.from_config(layer.get_config()).mode == mode
    with pytest.raises(ValueError, match="expected mode 'caffe' or 'torch'"):
        transfer.ImageNetPreprocessing("tf")


# ---------------------------------------------------------------------------------- the job, end to end
def test_train_with_frozen_pretrained_resnet50_writes_the_report(weights, cifar):
    run = cifar / "runs" / "frozen"
    code, out, err = run_cli("train", "--model", "resnet50", "--weights", weights[50], "--dataset", "cifar10",
                             "--data", cifar / "cifar-10-python.tar.gz", "--freeze-base", "--image-size", 32,
                             "--epochs", 1, "--batch-size", 50, "--out", run, "--verbose", 2)
    assert code == 0, err
    assert "training the new classifier only (20,490 of" in out
    for name in ("config.json", "report.txt", "report.json", "model.keras", "results.json", "history.csv"):
        assert (run / name).is_file(), name
    assert "precision" in out and "recall" in out and "f1-score" in out and "airplane" in out
    report = json.loads((run / "report.json").read_text())
    assert numpy.asarray(report["confusion_matrix"]).sum() == 40 and "macro avg" in report["report"]
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["weights"] == str(weights[50].resolve()) and config["settings"]["freeze_base"]
    assert config["pretrained"]["preprocessing"] == "torch" and config["pretrained"]["image_size"] == 32
    # the pretrained base did not move: conv1 is still the file's (transposed to Keras's layout)
    model, _ = training.load_run(run)
    kernel = model.get_layer("torchvision_resnet50").get_layer("conv1_conv").kernel.numpy()
    state = torch.load(weights[50])
    numpy.testing.assert_array_equal(kernel, state["conv1.weight"].numpy().transpose(2, 3, 1, 0))


@pytest.mark.slow
def test_fine_tuning_resnet50_on_real_cifar10_images(weights, tmp_path, monkeypatch):
    """A few hundred real CIFAR-10 images (the shared JPEG copy, through NEURONKA_DATA), conv5 fine-tuned at 64²;
    then the run is evaluated and predicts like any other run."""
    dataset_path("cifar10", "cifar10-jpeg.tar.gz")
    monkeypatch.setenv("NEURONKA_DATA", str(DATASETS))
    if USER_CACHE is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", USER_CACHE)
    run = tmp_path / "run"
    code, out, err = run_cli("train", "--model", "resnet50", "--weights", weights[50], "--dataset", "cifar10",
                             "--fine-tune-from", "conv5", "--image-size", 64, "--limit-train", 300,
                             "--limit-test", 100, "--epochs", 1, "--out", run, "--verbose", 2)
    assert code == 0, err
    assert "training conv5 and the new classifier" in out
    report = json.loads((run / "report.json").read_text())
    assert numpy.asarray(report["confusion_matrix"]).sum() == 100
    assert {"precision", "recall", "f1-score"} <= set(report["report"]["macro avg"])
    code, out, err = run_cli("evaluate", run, "--limit-test", 100)
    assert code == 0 and "f1-score" in out, err
    photo = dataset_path("imagenet-samples", SAMPLES[0])
    code, out, err = run_cli("predict", run, photo, "--top", 3)
    assert code == 0 and len(re.findall(r"^  [123]\. ", out, re.M)) == 3, err


# ---------------------------------------------------------------------------------- ImageNet top-5
TOP5 = re.compile(r"^  ([1-5])\. (\S+)\s+(\d\.\d{4})  \(class (\d+)\)$", re.M)


def check_top5(out: str, photos) -> None:
    names = transfer.imagenet_class_names()
    blocks = out.split("\n")
    for photo in photos:
        start = blocks.index(f"{photo}:")
        lines = blocks[start + 1:start + 6]
        rows = [TOP5.match(line) for line in lines]
        assert all(rows), lines
        assert [int(r[1]) for r in rows] == [1, 2, 3, 4, 5]
        probs = [float(r[3]) for r in rows]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-4
        assert all(names[int(r[4])] == r[2] for r in rows)  # the class name of the class index


@pytest.fixture
def shared_data(monkeypatch):
    dataset_path("imagenet-samples", "imagenet_classes.tsv")
    monkeypatch.setenv("NEURONKA_DATA", str(DATASETS))
    return DATASETS / "imagenet-samples"


def test_predict_prints_imagenet_top5_with_class_names(weights, shared_data):
    photos = [shared_data / name for name in SAMPLES[:2]]
    code, out, err = run_cli("predict", "--model", "resnet50", "--weights", weights[50], *photos, "--image-size", 64)
    assert code == 0, err
    assert out.startswith("ImageNet top-5 of resnet50 (torchvision weights")
    check_top5(out, photos)
    assert len(transfer.imagenet_class_names()) == 1000 and transfer.imagenet_class_names()[281] == "tabby"


@pytest.mark.slow
def test_predict_every_sample_photo_at_224_from_safetensors(weights, shared_data, tmp_path):
    from neuronka.applications.torch_files import read_pth

    from .test_torchvision_weights import write_safetensors

    path = write_safetensors(tmp_path / "resnet50.safetensors",
                             {k: v for k, v in read_pth(weights[50]).items() if v.dtype != numpy.int64})
    photos = sorted(shared_data.glob("*.JPEG"))
    code, out, err = run_cli("predict", "--weights", path, *photos)
    assert code == 0, err
    check_top5(out, photos)


# ---------------------------------------------------------------------------------- bad input: one line, exit 2
def _malicious(folder):
    import pickle
    import zipfile

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {folder / 'ran'}",))

    path = folder / "evil.pth"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps(Payload(), protocol=2))
    return path


@pytest.mark.parametrize("argv, message", [
    (["train", "--freeze-base"], "--freeze-base applies only with --weights"),
    (["train", "--weights", "w.bin"], "expected imagenet, a Keras weights file"),
    (["train", "--weights", "absent.pth"], "no such file"),
    (["train", "--weights", "R50", "--freeze-base", "--fine-tune-from", "conv4"], "exclude each other"),
    (["train", "--weights", "R50", "--fine-tune-from", "conv9"], "--fine-tune-from: expected one of"),
    (["train", "--weights", "R50", "--image-size", "8"], "--image-size"),
    (["train", "--weights", "EVIL", "--data", "CIFAR", "--out", "OUT"], "refused to load the global posix.system"),
    (["train", "--weights", "imagenet", "--data", "CIFAR", "--out", "OUT"],
     "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5, which could not be downloaded"),
    (["predict", "--weights", "w.bin", "x.jpg"], "expected imagenet, a Keras weights file"),
    (["predict", "--weights", "R50", "absent.jpg"], "image absent.jpg not found"),
    (["predict", "--weights", "imagenet", "TABBY"], "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    (["predict", "RUN_ONLY"], "predict: give the inputs"),
    (["predict", "RUN_ONLY", "x.jpg", "--image-size", "64"], "--image-size applies only with --weights"),
])
def test_bad_input_prints_one_error_line_and_exits_2(argv, message, weights, cifar, monkeypatch, tmp_path, request):
    from neuronka import utils

    photos = request.getfixturevalue("shared_data") if "TABBY" in argv else tmp_path
    def offline(fname, *args, **kwargs):
        raise Exception(f"URL fetch failure on {fname}: Name or service not known")

    monkeypatch.setattr(utils, "get_file", offline)
    monkeypatch.chdir(tmp_path)
    values = {"R50": weights[50], "EVIL": _malicious(tmp_path), "CIFAR": cifar / "cifar-10-python.tar.gz",
              "OUT": tmp_path / "run", "TABBY": photos / SAMPLES[0], "RUN_ONLY": tmp_path}
    code, out, err = run_cli(*[values.get(a, a) for a in argv])
    assert code == 2
    assert err.startswith("neuronka: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message.replace("posix", os.system.__module__) in err
    assert not (tmp_path / "ran").exists()


# ---------------------------------------------------------------------------------- Keras's ResNet50 and weights
@pytest.mark.keras_api("applications.ResNet50")
def test_keras_resnet50_weights_fine_tune_and_predict_as_keras(cifar, tmp_path, shared_data):
    """Keras's own ResNet50 weights file (written by real Keras) drives the Keras branch: neuronka's ImageNet
    prediction equals Keras's on the caffe-preprocessed photo, and fine-tuning from it runs."""
    from .keras_oracle import keras_or_skip

    keras = keras_or_skip()
    reference = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    path = tmp_path / "resnet50.weights.h5"
    reference.save_weights(str(path))
    photo = shared_data / SAMPLES[0]
    x = transfer.read_imagenet_image(photo, 64, "keras")[None]
    expected = reference.predict(keras.applications.resnet50.preprocess_input(255.0 * x), verbose=0)
    ours = transfer.predict_imagenet("resnet50", str(path), [str(photo)], image_size=64, verbose=0)[0]["top"]
    numpy.testing.assert_allclose([p for _, _, p in ours], expected[0][[i for _, i, _ in ours]], rtol=1e-3)
    assert max(p for _, _, p in ours) == pytest.approx(expected[0].max(), rel=1e-3)
    code, out, err = run_cli("train", "--weights", path, "--data", cifar / "cifar-10-python.tar.gz",
                             "--freeze-base", "--image-size", 32, "--epochs", 1, "--out", tmp_path / "run")
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["pretrained"]["preprocessing"] == "caffe"


@pytest.mark.slow
def test_a_transfer_run_resumes_to_the_same_weights_bit_for_bit(weights, cifar):
    args = ["train", "--model", "resnet18", "--weights", weights[18], "--data", cifar / "cifar-10-python.tar.gz",
            "--fine-tune-from", "conv5", "--image-size", 32, "--epochs", 2, "--batch-size", 50, "--verbose", 0]
    full, parts = cifar / "runs" / "r18-full", cifar / "runs" / "r18-parts"
    assert run_cli(*args, "--out", full)[0] == 0
    assert run_cli(*args, "--out", parts, "--stop-after-epoch", 1)[0] == 0
    assert run_cli("train", "--out", parts, "--resume", "--verbose", 0)[0] == 0  # rebuilt without the .pth

    def checkpoint(run):
        state = json.loads((run / "checkpoint.json").read_text())
        with numpy.load(run / state["weights"]) as f:
            return {k: f[k] for k in f.files if k != "__neuronka__"}

    a, b = checkpoint(full), checkpoint(parts)
    assert a.keys() == b.keys() and all(numpy.array_equal(a[k], b[k]) for k in a)

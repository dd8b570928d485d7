"""torchvision's ResNets in neuronka and their weights read without torch: the torchvision layout's parameter
counts, state dicts written by ``torch.save`` (zip and legacy formats) and ``.safetensors`` files giving
torch's logits, and every kind of bad file refused clearly — a pickle naming any other global (nothing runs),
truncated or oversized files, missing / unexpected / mis-shaped entries — with the model left untouched.

torch is the oracle here (torchvision cannot be installed beside this machine's torch 2.13, so the test builds
torchvision's ResNet modules in plain torch, under torchvision's module names)."""
import io
import json
import os
import pickle
import struct
import zipfile

import numpy
import pytest

from neuronka.applications import (
    TorchvisionResNet18,
    TorchvisionResNet50,
    load_torchvision_weights,
)
from neuronka.applications import torchvision_resnet as tv_module
from neuronka.applications.torch_files import UnsafeTorchFileError, read_pth, read_safetensors, read_state_dict
from neuronka.applications.torchvision_weights import torchvision_weight_map

from .helpers import LazyModule, torch_module, torch_or_skip

torch = LazyModule("torch")  # the oracle, imported by the tests that use it (the others run without torch)
nn = LazyModule("torch.nn")

pytestmark = pytest.mark.torch


# ---------------------------------------------------------------------------------- torchvision's modules in torch
@torch_module
class BasicBlock:
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


@torch_module
class Bottleneck:
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # the stride on the 3×3 (v1.5)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


@torch_module
class TorchResNet:
    """``torchvision.models.resnet{18,34,50,101,152}``: the same modules under the same names."""

    def __init__(self, depth=50, num_classes=1000):
        super().__init__()
        kind, blocks = tv_module.TORCHVISION_BLOCKS[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks)):
            stage = []
            for b in range(n):
                stage.append(block(cin, planes, 2 if i > 0 and b == 0 else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torchvision_resnet_twin(depth=50, seed=0, num_classes=1000):
    """A torchvision-layout ResNet with random weights and random BatchNorm statistics (so every entry of the
    state dict matters), in eval mode."""
    torch.manual_seed(seed)
    model = TorchResNet(depth, num_classes)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
        model.fc.bias.uniform_(-1.0, 1.0)
    return model.eval()


def logits(model, x):
    """The model's output in inference mode (one call: quicker than predict's first, planned run)."""
    return numpy.asarray(model(x, training=False).numpy())


def torch_logits(model, x_nhwc):
    with torch.no_grad():
        return model(torch.from_numpy(x_nhwc.transpose(0, 3, 1, 2).copy())).numpy()


def write_safetensors(path, arrays: dict, dtypes: dict | None = None):
    """The safetensors layout written by hand: u64 header length, JSON header, raw little-endian data."""
    dtypes = dtypes or {}
    names = {numpy.dtype("float32"): "F32", numpy.dtype("float16"): "F16", numpy.dtype("int64"): "I64",
             numpy.dtype("float64"): "F64"}
    header, chunks, offset = {}, [], 0
    for name, a in arrays.items():
        a = numpy.ascontiguousarray(a)
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtypes.get(name, names[a.dtype]), "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    data = struct.pack("<Q", len(blob)) + blob + b"".join(chunks)
    if hasattr(path, "write"):
        path.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path


def weights_of(model) -> list:
    return [numpy.array(w.numpy()) for w in model.weights]


def assert_untouched(model, before):
    after = weights_of(model)
    assert len(after) == len(before) and all(numpy.array_equal(a, b) for a, b in zip(after, before))


@pytest.fixture(scope="module")
def r50(tmp_path_factory):
    """(torch twin, its state dict saved by torch.save, input, torch's logits) of a random ResNet-50."""
    folder = tmp_path_factory.mktemp("r50")
    twin = torchvision_resnet_twin(50)
    path = folder / "resnet50.pth"
    torch.save(twin.state_dict(), path)
    x = numpy.random.default_rng(0).standard_normal((2, 40, 40, 3)).astype(numpy.float32)
    return twin, path, x, torch_logits(twin, x)


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    folder = tmp_path_factory.mktemp("r18")
    twin = torchvision_resnet_twin(18, seed=1)
    path = folder / "resnet18.pth"
    torch.save(twin.state_dict(), path)
    x = numpy.random.default_rng(1).standard_normal((2, 48, 48, 3)).astype(numpy.float32)
    return twin, path, x, torch_logits(twin, x)


def fresh_r18(**kw):
    return TorchvisionResNet18(input_shape=(48, 48, 3), classifier_activation=None, **kw)


# ---------------------------------------------------------------------------------- the architecture
@pytest.mark.parametrize("depth, params", [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032),
                                           pytest.param(101, 44_549_160, marks=pytest.mark.slow),
                                           pytest.param(152, 60_192_808, marks=pytest.mark.slow)])
def test_torchvision_layout_has_torchvisions_parameter_counts(depth, params):
    model = tv_module.torchvision_resnet(depth)
    assert sum(int(numpy.prod(w.shape)) for w in model.trainable_weights) == params
    if depth in (18, 50):
        assert sum(p.numel() for p in TorchResNet(depth).parameters()) == params  # the twin is torchvision's too


def test_resnet50_state_dict_has_torchvisions_320_entries(r50):
    twin, _, _, _ = r50
    assert len(twin.state_dict()) == 320  # 53 convolutions, 53 BatchNorms × 5, fc weight and bias
    mapping = torchvision_weight_map(TorchvisionResNet50())
    assert set(mapping) == {k for k in twin.state_dict() if not k.endswith("num_batches_tracked")}


# ---------------------------------------------------------------------------------- loading gives torch's logits
def test_pth_state_dict_gives_torchvisions_logits(r50):
    _, path, x, expected = r50
    model = TorchvisionResNet50(weights=str(path), input_shape=(40, 40, 3), classifier_activation=None)
    numpy.testing.assert_allclose(logits(model, x), expected, rtol=1e-4, atol=1e-4)


def test_safetensors_file_gives_torchvisions_logits(r50, tmp_path):
    twin, _, x, expected = r50
    state = {k: v.numpy() for k, v in twin.state_dict().items()}
    try:
        from safetensors.numpy import save_file
    except ImportError:  # the format written by the test itself
        path = write_safetensors(tmp_path / "resnet50.safetensors", state)
    else:
        path = tmp_path / "resnet50.safetensors"
        save_file(state, str(path))
    model = TorchvisionResNet50(weights=str(path), input_shape=(40, 40, 3), classifier_activation=None)
    numpy.testing.assert_allclose(logits(model, x), expected, rtol=1e-4, atol=1e-4)


def test_legacy_pickle_format_gives_torchvisions_logits(r18, tmp_path):
    twin, _, x, expected = r18
    path = tmp_path / "legacy.pth"
    torch.save(twin.state_dict(), path, _use_new_zipfile_serialization=False)
    model = fresh_r18(weights=str(path))
    numpy.testing.assert_allclose(logits(model, x), expected, rtol=1e-4, atol=1e-4)


def test_without_top_the_fc_entries_are_not_used_and_features_match(r18):
    twin, path, x, _ = r18
    model = TorchvisionResNet18(include_top=False, pooling="avg", input_shape=(48, 48, 3), weights=str(path))
    with torch.no_grad():
        t = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        t = twin.maxpool(twin.relu(twin.bn1(twin.conv1(t))))
        features = twin.avgpool(twin.layer4(twin.layer3(twin.layer2(twin.layer1(t))))).flatten(1).numpy()
    numpy.testing.assert_allclose(logits(model, x), features, rtol=1e-4, atol=1e-4)


def test_wrapped_and_data_parallel_state_dicts_load(r18, tmp_path):
    twin, _, x, expected = r18
    state = twin.state_dict()
    path = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    model = fresh_r18(weights=str(path))
    numpy.testing.assert_allclose(logits(model, x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype_name", ["float32", "float16", "bfloat16", "float64", "int64", "int8", "uint8", "bool"])
def test_pth_tensors_read_exactly_in_every_dtype_and_layout(dtype_name, tmp_path):
    dtype = getattr(torch_or_skip(), dtype_name)
    base = torch.arange(24).reshape(4, 6) - (0 if dtype in (torch.uint8, torch.bool) else 12)
    base = (base % 3 == 0) if dtype == torch.bool else base.to(dtype)
    state = {"plain": base, "transposed": base.t(), "slice": base[1:, ::2], "scalar": base[0, 0].clone(),
             "empty": base[:0], "param": nn.Parameter(base.clone(), requires_grad=False)}
    path = tmp_path / "t.pth"
    torch.save(state, path)
    got = read_pth(path)
    for name, t in state.items():
        ref = (t.float() if dtype == torch.bfloat16 else t).detach().numpy()
        assert got[name].dtype == ref.dtype and got[name].shape == ref.shape, name
        numpy.testing.assert_array_equal(got[name], ref)


def test_safetensors_dtypes_read_as_the_package_writes_them(tmp_path):
    st = pytest.importorskip("safetensors.torch", reason="the safetensors package writes the reference file")
    state = {"f32": torch.randn(3, 4), "f16": torch.randn(5).half(), "bf16": torch.randn(2, 3).bfloat16(),
             "i64": torch.arange(6).reshape(2, 3), "b": torch.tensor([True, False]), "scalar": torch.tensor(2.5)}
    path = tmp_path / "x.safetensors"
    st.save_file(state, str(path), metadata={"format": "pt"})
    got = read_safetensors(path)
    for name, t in state.items():
        ref = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        assert got[name].dtype == ref.dtype and got[name].shape == ref.shape, name
        numpy.testing.assert_array_equal(got[name], ref)


# ---------------------------------------------------------------------------------- refused: other globals
class RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Evaluates:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def zip_with_pickle(path, data: bytes, name="archive"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/data.pkl", data)
        z.writestr(f"{name}/byteorder", "little")
        z.writestr(f"{name}/version", "3\n")
    return path


def malicious_files(folder, marker):
    system = f"{os.system.__module__}.system"  # posix.system: how pickle names os.system
    good = {"conv1.weight": torch.zeros(64, 3, 7, 7)}
    torch.save({**good, "x": RunsACommand(marker)}, folder / "torch_save.pth")
    torch.save({**good, "x": RunsACommand(marker)}, folder / "legacy.pth", _use_new_zipfile_serialization=False)
    zip_with_pickle(folder / "reduce.pth", pickle.dumps(RunsACommand(marker), protocol=2))
    zip_with_pickle(folder / "stack_global.pth", pickle.dumps({"a": RunsACommand(marker)}, protocol=4))
    zip_with_pickle(folder / "eval.pth", pickle.dumps(Evaluates(), protocol=2))
    # hand-written opcodes: GLOBAL 'builtins exec', a string argument, REDUCE
    code = b"import os; os.system('touch " + str(marker).encode() + b"')"
    zip_with_pickle(folder / "opcodes.pth", b"\x80\x02cbuiltins\nexec\nX" + struct.pack("<I", len(code)) + code
                    + b"\x85R.")
    # a global reached through an allowed one's arguments is still a global: refused where it is named
    zip_with_pickle(folder / "nested.pth", pickle.dumps({"ok": [1, 2], "bad": (RunsACommand(marker),)}, protocol=2))
    return {"torch_save.pth": system, "legacy.pth": system, "reduce.pth": system, "stack_global.pth": system,
            "eval.pth": "builtins.eval", "opcodes.pth": "builtins.exec", "nested.pth": system}


def test_pickles_naming_any_other_global_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    model = fresh_r18()
    before = weights_of(model)
    for name, global_name in malicious_files(tmp_path, marker).items():
        with pytest.raises(UnsafeTorchFileError, match=rf"refused to load the global {global_name}") as info:
            load_torchvision_weights(model, tmp_path / name)
        assert str(tmp_path / name) in str(info.value)
        assert not marker.exists(), f"{name}: the pickle ran a command"
    assert_untouched(model, before)


def test_constructor_refuses_a_malicious_file_too(tmp_path):
    marker = tmp_path / "ran"
    malicious_files(tmp_path, marker)
    with pytest.raises(UnsafeTorchFileError, match="posix.system|nt.system"):
        TorchvisionResNet18(weights=str(tmp_path / "torch_save.pth"))
    assert not marker.exists()


# ---------------------------------------------------------------------------------- refused: damaged files
def test_truncated_and_corrupt_files_raise_clear_errors_and_leave_the_model(r18, tmp_path):
    twin, path, _, _ = r18
    data = path.read_bytes()
    model = fresh_r18()
    before = weights_of(model)
    cases = {"half.pth": (data[:len(data) // 2], "not a complete torch zip file"),
             "empty.pth": (b"", "not a torch.save file"),
             "text.pth": (b"hello world", "not a torch.save file")}
    legacy = io.BytesIO()
    torch.save(twin.state_dict(), legacy, _use_new_zipfile_serialization=False)
    cases["legacy_cut.pth"] = (legacy.getvalue()[:-1000], "truncated")
    cases["legacy_head.pth"] = (legacy.getvalue()[:100], "not a readable torch pickle|not a torch file")
    st = io.BytesIO()
    write_safetensors(st, {"conv1.weight": numpy.zeros((64, 3, 7, 7), numpy.float32)})
    cases["cut.safetensors"] = (st.getvalue()[:-10], "truncated")
    cases["tiny.safetensors"] = (b"\x01\x02", "header length needs 8")
    for name, (blob, message) in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(ValueError, match=message):
            load_torchvision_weights(model, tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        load_torchvision_weights(model, tmp_path / "absent.pth")
    assert_untouched(model, before)


def test_a_zip_storage_of_the_wrong_size_is_refused(r18, tmp_path):
    _, path, _, _ = r18
    bad = tmp_path / "short_storage.pth"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            blob = src.read(info)
            dst.writestr(info.filename, blob[:-4] if info.filename.endswith("/data/0") else blob)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_pth(bad)


def test_oversized_members_are_refused_by_the_caps(r18, tmp_path):
    _, path, _, _ = r18
    with pytest.raises(ValueError, match="over the limit"):
        read_pth(path, max_pickle_bytes=1000)  # data.pkl declares more
    with pytest.raises(ValueError, match="over the limit"):
        read_pth(path, max_storage_bytes=10_000)  # conv1's storage: 64·3·7·7·4 = 37,632 bytes
    with pytest.raises(ValueError, match="over the limit"):
        read_state_dict(path, max_storage_bytes=10_000)
    with pytest.raises(ValueError, match="add up to more than the limit"):
        read_pth(path, max_total_bytes=1_000_000)  # ResNet-18: 46.8 MB of storages
    legacy = tmp_path / "legacy.pth"
    torch.save(r18[0].state_dict(), legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="add up to more than the limit"):
        read_pth(legacy, max_total_bytes=1_000_000)
    big = tmp_path / "big_header.safetensors"
    big.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(ValueError, match="over the limit"):
        read_safetensors(big)


@pytest.mark.parametrize("header, message", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}, "12 bytes for shape"),
    ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, "past the data"),
    ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, "unsupported dtype"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "non-negative"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, "begin ≤ end"),
    ({"w": {"dtype": "F32", "shape": [1]}}, "expected the fields"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, "overlap"),
    ({"__metadata__": {"k": 1}}, "__metadata__"),
    ([1, 2], "JSON object"),
])
def test_bad_safetensors_headers_are_refused(header, message, tmp_path):
    blob = json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + bytes(8))
    with pytest.raises(ValueError, match=message):
        read_safetensors(path)


def test_non_json_safetensors_header_is_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 5) + b"{oops" + bytes(8))
    with pytest.raises(ValueError, match="not valid JSON"):
        read_safetensors(path)


def test_tensors_are_read_only_views_so_an_expanded_tensor_is_never_materialized(tmp_path):
    huge = torch.zeros(1).expand(100_000, 100_000)  # 40 GB if copied; 4 bytes of storage
    torch.save({"conv1.weight": huge, "shared": torch.arange(4.0)[1:]}, tmp_path / "expanded.pth")
    got = read_pth(tmp_path / "expanded.pth")
    assert got["conv1.weight"].shape == (100_000, 100_000) and got["conv1.weight"].strides == (0, 0)
    assert not got["conv1.weight"].flags.writeable and not got["shared"].flags.writeable
    numpy.testing.assert_array_equal(got["shared"], [1.0, 2.0, 3.0])
    model = fresh_r18()
    with pytest.raises(ValueError, match=r"conv1.weight \(100000, 100000\)"):
        load_torchvision_weights(model, tmp_path / "expanded.pth")


# ---------------------------------------------------------------------------------- refused: the wrong weights
def test_missing_unexpected_and_misshaped_entries_are_all_reported_and_nothing_is_written(r18):
    twin, _, _, _ = r18
    state = {k: v.numpy() for k, v in twin.state_dict().items()}
    del state["layer2.0.downsample.0.weight"]
    state["layer9.0.conv1.weight"] = numpy.zeros((1, 1, 1, 1), numpy.float32)
    state["layer1.0.conv1.weight"] = numpy.zeros((64, 64, 1, 1), numpy.float32)  # a 3×3 kernel expected
    state["fc.weight"] = numpy.zeros((10, 512), numpy.float32)
    state["bn1.weight"] = numpy.zeros(64, numpy.int64)
    model = fresh_r18()
    before = weights_of(model)
    with pytest.raises(ValueError) as info:
        load_torchvision_weights(model, state)
    text = str(info.value)
    assert "1 missing: layer2.0.downsample.0.weight" in text
    assert "1 unexpected: layer9.0.conv1.weight" in text
    assert "3 mis-shaped" in text and "layer1.0.conv1.weight (64, 64, 1, 1) → (1, 1, 64, 64)" in text
    assert "fc.weight (10, 512)" in text and "bn1.weight (int64, expected floats)" in text
    assert "left unchanged" in text
    assert_untouched(model, before)


def test_a_resnet50_file_does_not_load_into_a_resnet18(r50):
    _, path, _, _ = r50
    model = fresh_r18()
    before = weights_of(model)
    with pytest.raises(ValueError, match=r"165 unexpected: layer1.0.bn3.bias, .*24 mis-shaped: layer1.0.conv1.weight"):
        load_torchvision_weights(model, path)
    assert_untouched(model, before)


def test_a_model_with_layers_torchvision_lacks_is_refused(r18):
    from neuronka import layers
    from neuronka.models import Model

    base = TorchvisionResNet18(include_top=False, pooling="avg", input_shape=(48, 48, 3))
    model = Model(base.inputs, layers.Dense(3, name="my_head")(base.outputs[0]))
    with pytest.raises(ValueError, match="layer 'my_head' .* has no torchvision counterpart"):
        load_torchvision_weights(model, r18[1])


def test_weights_imagenet_offline_names_the_file_and_the_folder(monkeypatch):
    from neuronka import utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(utils, "get_file", offline)
    with pytest.raises(OSError, match=r"resnet18-f37072fd\.pth .*~/\.keras/models/"):
        TorchvisionResNet18(weights="imagenet")

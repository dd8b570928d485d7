"""Saving and loading in Keras's formats: round trips, optimizer state, atomic writes, and refusing bad or hostile
files — each refusal names the file and leaves the model (weights and optimizer state) exactly as it was.

The formats themselves are checked against real Keras in tests/test_keras_saving.py; this file needs no Keras.
neuronka's earlier formats (a JSON manifest in an .npz, a zip of JSON + .npz) are gone without a reader: nothing
outside this repository ever wrote them.
"""
from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import struct
import sys
import warnings
import zipfile

import h5py
import numpy
import pytest

from neuronka import callbacks, layers, models, optimizers, saving
from neuronka.autograd import Tensor
from neuronka.saving import legacy_h5, limits


# ----------------------------------------------------------------------------------------------------------------
# a stand-in model (a list of weights and an optimizer: what the callbacks' fakes give) and real models
# ----------------------------------------------------------------------------------------------------------------
class Weight(Tensor):
    """A trainable leaf tensor with a path and assign() (the Variable interface saving relies on)."""

    def __init__(self, value, path):
        super().__init__(numpy.asarray(value, dtype=numpy.float32), requires_grad=True)
        self.path = self.name = path
        self.trainable = True

    def assign(self, value):
        self.data[...] = value


class StandIn:
    def __init__(self, shapes=((4, 3), (3,)), optimizer=None, seed=0):
        rng = numpy.random.default_rng(seed)
        self.name = "stand_in"
        self.weights = [Weight(rng.standard_normal(s), f"layer{i}/w") for i, s in enumerate(shapes)]
        self.optimizer = optimizer

    def get_weights(self):
        return [w.numpy().copy() for w in self.weights]

    def train_steps(self, n, seed=1):
        rng = numpy.random.default_rng(seed)
        for _ in range(n):
            grads = [rng.standard_normal(w.shape).astype(numpy.float32) for w in self.weights]
            self.optimizer.apply(grads, self.weights)


def _x(n=5, d=4, seed=0):
    return numpy.random.default_rng(seed).standard_normal((n, d)).astype(numpy.float32)


def _sequential():
    return models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3)])


def _trained(optimizer="adam"):
    model = _sequential()
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(_x(8), _x(8, 3, seed=1), batch_size=4, epochs=1, verbose=0)
    return model


def snapshot(model) -> list:
    """Every weight and every optimizer value: what a failed load must leave unchanged."""
    values = [numpy.array(w.numpy()) for w in model.weights]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        values += [numpy.array(v) for v in optimizer.get_state().values()]
        values.append(numpy.float64(optimizer.learning_rate))
    return values


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert numpy.asarray(x).dtype == numpy.asarray(y).dtype and numpy.shape(x) == numpy.shape(y)
        numpy.testing.assert_array_equal(x, y)


def h5_paths(path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o.shape) if isinstance(o, h5py.Dataset) else None)
    return out


class Payload:
    """Unpickling this creates a marker file: proof that code from a file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def object_npy(marker) -> bytes:
    buf = io.BytesIO()
    arr = numpy.empty(1, dtype=object)
    arr[0] = Payload(marker)
    numpy.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def npy(arr) -> bytes:
    buf = io.BytesIO()
    numpy.save(buf, numpy.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def rewrite_zip(src, dst, replace: dict, drop=()):
    """Copy a zip, replacing or dropping some members (and adding new ones)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name not in drop:
                zout.writestr(name, replace.get(name, zin.read(name)))
        for name, data in replace.items():
            if name not in zin.namelist():
                zout.writestr(name, data)


# ----------------------------------------------------------------------------------------------------------------
# weights files
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".weights.h5", ".weights.npz"])
def test_save_weights_load_weights_round_trip_is_bit_exact(tmp_path, suffix):
    src, dst = StandIn(seed=0), StandIn(seed=1)
    path = tmp_path / f"m{suffix}"
    saving.save_weights(src, path)
    saving.load_weights(dst, path)
    assert_same(dst.get_weights(), src.get_weights())
    if suffix == ".weights.h5":  # the stand-in's own variables: Keras's top-level `vars` group
        assert h5_paths(path) == {"vars/0": (4, 3), "vars/1": (3,)}
    else:
        with numpy.load(path, allow_pickle=False) as f:
            assert sorted(f.files) == ["vars/0", "vars/1"]


def test_a_real_models_layout_is_keras_3s(tmp_path):
    model = _trained()
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    paths = h5_paths(path)
    assert {k: v for k, v in paths.items() if not k.startswith("optimizer")} == {
        "layers/dense/vars/0": (4, 8), "layers/dense/vars/1": (8,),
        "layers/dense_1/vars/0": (8, 3), "layers/dense_1/vars/1": (3,)}
    assert [paths[f"optimizer/vars/{i}"] for i in range(10)] == [(), (), (4, 8), (4, 8), (8,), (8,), (8, 3), (8, 3),
                                                                 (3,), (3,)]
    with h5py.File(path, "r") as f:
        assert f["vars"].attrs["name"] == model.name and f["optimizer/vars"].attrs["name"] == model.optimizer.name


def test_save_weights_requires_the_weights_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        saving.save_weights(StandIn(), tmp_path / "model.npz")
    with pytest.raises(ValueError, match="must end in"):
        saving.save_weights(StandIn(), tmp_path / "model.h5")


def test_optimizer_state_survives_save_and_load_and_training_continues_identically(tmp_path):
    a = StandIn(optimizer=optimizers.Adam(learning_rate=0.01))
    a.train_steps(3)
    path = tmp_path / "a.weights.h5"
    saving.save_weights(a, path)
    b = StandIn(seed=5, optimizer=optimizers.Adam(learning_rate=0.01))  # never built: built on loading
    saving.load_weights(b, path)
    assert b.optimizer.iterations == 3
    sa, sb = a.optimizer.get_state(), b.optimizer.get_state()
    assert sa.keys() == sb.keys()
    for k in sa:
        numpy.testing.assert_array_equal(sa[k], sb[k])
    a.train_steps(2, seed=7)
    b.train_steps(2, seed=7)
    assert_same(a.get_weights(), b.get_weights())


def test_a_learning_rate_changed_during_training_is_restored(tmp_path):
    model = _trained(optimizers.SGD(learning_rate=0.1, momentum=0.9))
    model.optimizer.learning_rate = 0.025  # as ReduceLROnPlateau does
    model.save(tmp_path / "m.keras")
    assert saving.load_model(tmp_path / "m.keras").optimizer.learning_rate == pytest.approx(0.025)


def test_optimizer_state_of_another_optimizer_is_skipped_with_a_warning(tmp_path):
    src = StandIn(optimizer=optimizers.SGD(learning_rate=0.1, momentum=0.9))
    src.train_steps(2)
    path = tmp_path / "sgd.weights.h5"
    saving.save_weights(src, path)
    dst = StandIn(seed=3, optimizer=optimizers.Adam())
    dst.train_steps(1)
    state = dst.optimizer.get_state()
    with pytest.warns(UserWarning, match="skipping variable loading for optimizer 'adam.*6 variables.*4 variables"):
        saving.load_weights(dst, path)
    assert_same(dst.get_weights(), src.get_weights())  # the weights load
    after = dst.optimizer.get_state()
    assert after.keys() == state.keys() and all(numpy.array_equal(after[k], state[k]) for k in state)


def test_mismatched_optimizer_slots_are_skipped_and_the_optimizer_left_as_it_was(tmp_path):
    src = StandIn(optimizer=optimizers.Adam())
    src.train_steps(2)
    path = tmp_path / "a.weights.h5"
    saving.save_weights(src, path)
    with h5py.File(path, "r+") as f:
        del f["optimizer/vars/5"]
        f["optimizer/vars/5"] = numpy.zeros(7, numpy.float32)
    dst = StandIn(seed=3, optimizer=optimizers.Adam())
    dst.train_steps(1)
    with pytest.warns(UserWarning, match=r"skipping the optimizer state.*expected shape \(3,\), received shape \(7,\)"):
        saving.load_weights(dst, path)
    assert dst.optimizer.iterations == 1
    dst.train_steps(1)  # the optimizer still works on the model's variables
    assert dst.optimizer.iterations == 2


def test_weight_count_mismatch_names_the_weights_and_leaves_the_model_unchanged(tmp_path):
    path = tmp_path / "w.weights.h5"
    saving.save_weights(StandIn(shapes=((4, 3),)), path)
    target = StandIn()
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"expects 2 variable\(s\) \['layer0/w', 'layer1/w'\].*holds 1") as err:
        saving.load_weights(target, path)
    assert str(path) in str(err.value)
    assert_same(target.get_weights(), before)


def test_shape_mismatch_names_the_layer_and_both_shapes_and_leaves_the_model_unchanged(tmp_path):
    path = tmp_path / "w.weights.h5"
    saving.save_weights(StandIn(shapes=((4, 3), (5,))), path)
    target = StandIn(shapes=((4, 3), (3,)))
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"vars/1 \(variable 1 of StandIn 'stand_in': layer1/w\): expected shape "
                                         r"\(3,\), received shape \(5,\)"):
        saving.load_weights(target, path)
    assert_same(target.get_weights(), before)  # the first weight (which matched) was not assigned either


def test_skip_mismatch_loads_the_layers_that_fit(tmp_path):
    src = _sequential()
    src.save_weights(tmp_path / "w.weights.h5")
    target = models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(5)])
    head = target.layers[1].get_weights()
    with pytest.raises(ValueError, match=r"expected shape \(8, 5\), received shape \(8, 3\)"):
        target.load_weights(tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning, match="skipping 1 object"):
        target.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    assert_same(target.layers[0].get_weights(), src.layers[0].get_weights())
    assert_same(target.layers[1].get_weights(), head)


def test_loading_into_an_unbuilt_model_says_to_build_it(tmp_path):
    _sequential().save_weights(tmp_path / "w.weights.h5")
    lazy = models.Sequential([layers.Dense(8), layers.Dense(3)])
    with pytest.raises(ValueError, match="not yet been built"):
        lazy.load_weights(tmp_path / "w.weights.h5")


def test_weights_nothing_took_give_a_warning(tmp_path):
    big = models.Sequential([layers.Input((4,)), layers.Dense(8), layers.Dense(3), layers.Dense(2)])
    big.save_weights(tmp_path / "w.weights.h5")
    small = models.Sequential([layers.Input((4,)), layers.Dense(8), layers.Dense(3)])
    with pytest.warns(UserWarning, match=r"no object of the model took: \['layers/dense_2'\]"):
        small.load_weights(tmp_path / "w.weights.h5")


def test_objects_to_skip_are_left_alone(tmp_path):
    src, dst = _sequential(), _sequential()
    src.save_weights(tmp_path / "w.weights.h5")
    kept = dst.layers[0].get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dst.load_weights(tmp_path / "w.weights.h5", objects_to_skip=[dst.layers[0]])
    assert_same(dst.layers[0].get_weights(), kept)
    assert_same(dst.layers[1].get_weights(), src.layers[1].get_weights())


# ----------------------------------------------------------------------------------------------------------------
# hostile and broken files: refused with the file named, nothing run, the model untouched
# ----------------------------------------------------------------------------------------------------------------
def test_the_payload_is_live_when_unpickled(tmp_path):
    """Control for the tests below: unpickling the payload (as allow_pickle=True would) creates the marker."""
    marker = tmp_path / "PWNED"
    numpy.load(io.BytesIO(object_npy(marker)), allow_pickle=True)
    assert marker.exists()


def _npz_cases(marker):
    big_header = npy(numpy.zeros(3, numpy.float32))[:-12]  # the header says 3 floats, 0 bytes follow
    return {
        "pickled object array as a weight": ({"vars/1.npy": object_npy(marker)}, "pickled / object arrays"),
        "string array as a weight": ({"vars/1.npy": npy(numpy.array(["a", "b", "c"]))}, "only numeric arrays"),
        "header declares more than is stored": ({"vars/1.npy": big_header}, r"declares shape \(3,\).*0 bytes"),
        "integers where floats belong": ({"vars/1.npy": npy(numpy.arange(3))}, "expected floating-point"),
        "NaN weights": ({"vars/1.npy": npy(numpy.array([0, numpy.nan, 1], numpy.float32))}, "NaN or infinite"),
        "an unexpected member": ({"notes.txt": b"hi"}, "unexpected member 'notes.txt'"),
        "a member outside the archive": ({"../vars/9.npy": npy(numpy.zeros(3))}, r"named '\.\./vars/9\.npy'"),
        "an absolute member name": ({"/etc/vars/0.npy": npy(numpy.zeros(3))}, "refusing an archive member"),
    }


@pytest.mark.parametrize("case", list(_npz_cases("x")))
def test_tampered_npz_weights_are_refused_without_running_code_or_touching_the_model(tmp_path, case):
    marker = tmp_path / "PWNED"
    good = tmp_path / "good.weights.npz"
    saving.save_weights(StandIn(seed=0), good)
    replace, match = _npz_cases(marker)[case]
    bad = tmp_path / "bad.weights.npz"
    rewrite_zip(good, bad, replace)
    target = StandIn(seed=9)
    before = target.get_weights()
    with pytest.raises(ValueError, match=match) as err:
        saving.load_weights(target, bad)
    assert str(bad) in str(err.value)
    assert not marker.exists()
    assert_same(target.get_weights(), before)


def _h5_case(name, f, tmp_path):
    """Edit the open weights file ``f`` (of ``_trained()``) into the broken case ``name``; return the match."""
    kernel = "layers/dense_1/vars/0"
    if name == "NaN in a weight":
        f[kernel][0, 0] = numpy.nan
        return "NaN or infinite"
    if name == "integers where floats belong":
        del f[kernel]
        f[kernel] = numpy.ones((8, 3), numpy.int32)
        return "expected floating-point weights"
    if name == "NaN in the optimizer state":
        f["optimizer/vars/3"][0, 0] = numpy.inf
        return "NaN or infinite"
    if name == "a soft link":
        del f[kernel]
        f[kernel] = h5py.SoftLink("/layers/dense/vars/0")
        return "SoftLink"
    if name == "an external link":
        with h5py.File(tmp_path / "other.h5", "w") as g:
            g["data"] = numpy.ones((8, 3), numpy.float32)
        del f[kernel]
        f[kernel] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
        return "ExternalLink"
    if name == "data kept in another file":
        outside = tmp_path / "outside.bin"
        outside.write_bytes(numpy.ones((8, 3), numpy.float32).tobytes())
        del f[kernel]
        f.create_dataset(kernel, (8, 3), numpy.float32, external=[(str(outside), 0, 96)])
        return "keeps its data in another file"
    if name == "a virtual dataset":
        layout = h5py.VirtualLayout((8, 3), numpy.float32)
        layout[:] = h5py.VirtualSource(f["layers/dense_1/vars/0"])
        f.create_virtual_dataset("v", layout)
        del f[kernel]
        f[kernel] = f["v"]
        del f["v"]
        return "virtual"
    if name == "a group where a weight belongs":
        del f[kernel]
        f.create_group(kernel)
        return "expected a dataset"
    if name == "variables not numbered":
        f["layers/dense_1/vars"].move("1", "bias")
        return "expected variables named 0, 1, 2"
    if name == "a layer missing":
        del f["layers/dense_1"]
        return r"Dense 'dense_\d+' \(at 'layers/dense_1'\) expects 2 variable\(s\).*holds 0"
    if name == "a wrong shape":
        del f[kernel]
        f[kernel] = numpy.ones((8, 4), numpy.float32)
        return r"expected shape \(8, 3\), received shape \(8, 4\)"
    raise AssertionError(name)


H5_CASES = ["NaN in a weight", "integers where floats belong", "NaN in the optimizer state", "a soft link",
            "an external link", "data kept in another file", "a virtual dataset", "a group where a weight belongs",
            "variables not numbered", "a layer missing", "a wrong shape"]


@pytest.mark.parametrize("case", H5_CASES)
@pytest.mark.parametrize("container", [".weights.h5", ".keras"])
def test_broken_or_hostile_hdf5_is_refused_and_the_model_left_exactly_as_it_was(tmp_path, case, container):
    source = _trained()
    weights = tmp_path / "w.weights.h5"
    source.save_weights(weights)
    with h5py.File(weights, "r+") as f:
        match = _h5_case(case, f, tmp_path)
    bad = weights
    if container == ".keras":
        source.save(tmp_path / "good.keras")
        bad = tmp_path / "bad.keras"
        rewrite_zip(tmp_path / "good.keras", bad, {"model.weights.h5": weights.read_bytes()})
    target = _trained()
    before = snapshot(target)
    with pytest.raises(ValueError, match=match) as err:
        target.load_weights(bad)
    assert str(bad) in str(err.value)
    assert_same(snapshot(target), before)
    if container == ".keras":
        with pytest.raises(ValueError, match=match):
            saving.load_model(bad)


@pytest.mark.parametrize("suffix", [".weights.h5", ".weights.npz", ".keras", ".h5"])
@pytest.mark.parametrize("cut", [0.5, 0.05])
def test_truncated_files_give_a_clear_error(tmp_path, suffix, cut):
    model = _trained()
    path = tmp_path / f"m{suffix}"
    if suffix.startswith(".weights"):
        model.save_weights(path)
    else:
        model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    target = _trained()
    before = snapshot(target)
    with pytest.raises(ValueError, match="truncated|corrupted|not a") as err:
        target.load_weights(path)
    assert str(path) in str(err.value)
    assert_same(snapshot(target), before)
    if not suffix.startswith(".weights"):
        with pytest.raises(ValueError, match="truncated|corrupted|not a"):
            saving.load_model(path)


@pytest.mark.parametrize("suffix", [".weights.h5", ".weights.npz", ".keras", ".h5"])
def test_a_raw_pickle_file_is_never_unpickled(tmp_path, suffix):
    marker = tmp_path / "PWNED"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="not an HDF5 file|not a zip|not a readable"):
        if suffix in (".keras", ".h5"):
            saving.load_model(path)
        else:
            saving.load_weights(StandIn(), path)
    assert not marker.exists()


def _patch_sizes(data: bytes, name: bytes, declared: int) -> bytes:
    """A zip whose local and central headers give member ``name`` the uncompressed size ``declared``."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            name_len = struct.unpack_from("<H", out, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            if bytes(out[name_at:name_at + name_len]) == name:
                struct.pack_into("<I", out, start + offset, declared)
            start += 4
    return bytes(out)


def test_a_zip_member_lying_about_its_size_is_caught(tmp_path):
    model = _sequential()
    model.save(tmp_path / "good.keras")
    config = zipfile.ZipFile(tmp_path / "good.keras").read("config.json")
    padded = config + b" " * 2_000_000  # valid JSON, 2 MB, deflates to a few KB
    buf = io.BytesIO()
    with zipfile.ZipFile(tmp_path / "good.keras") as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = padded if info.filename == "config.json" else zin.read(info.filename)
            zout.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    honest = tmp_path / "honest.keras"
    honest.write_bytes(buf.getvalue())
    saving.load_model(honest)  # control: the padded file is fine as long as it tells the truth
    liar = tmp_path / "liar.keras"  # says 1000 bytes, inflates to 2 MB
    liar.write_bytes(_patch_sizes(buf.getvalue(), b"config.json", 1000))
    with pytest.raises(ValueError, match=r"liar\.keras: member 'config\.json'.*declared size 1000"):
        saving.load_model(liar)
    boast = tmp_path / "boast.keras"  # says 60 MB from a few KB: more than any compression gives
    boast.write_bytes(_patch_sizes(buf.getvalue(), b"config.json", 60_000_000))
    with pytest.raises(ValueError, match="more than any compression can give"):
        saving.load_model(boast)


def test_a_member_above_its_cap_is_refused_before_inflating(tmp_path, monkeypatch):
    model = _sequential()
    model.save(tmp_path / "m.keras")
    monkeypatch.setattr(limits, "MAX_CONFIG_BYTES", 100)
    with pytest.raises(ValueError, match=r"member 'config\.json' declares \d+ bytes, more than the cap of 100"):
        saving.load_model(tmp_path / "m.keras")


@pytest.mark.parametrize("member", ["../config.json", "/abs/x", "a\\b", "C:x"])
def test_archive_member_names_pointing_outside_are_refused(tmp_path, member):
    _sequential().save(tmp_path / "good.keras")
    bad = tmp_path / "bad.keras"
    rewrite_zip(tmp_path / "good.keras", bad, {member: b"{}"})
    with pytest.raises(ValueError, match=r"bad\.keras: refusing an archive member named"):
        saving.load_model(bad)


# ----------------------------------------------------------------------------------------------------------------
# configs: no code from a file is run, no module a file names is imported
# ----------------------------------------------------------------------------------------------------------------
def _edit_config(src, dst, edit):
    with zipfile.ZipFile(src) as zf:
        config = json.loads(zf.read("config.json"))
    edit(config)
    rewrite_zip(src, dst, {"config.json": json.dumps(config).encode()})


def _dense(config, index):
    return [c for c in config["config"]["layers"] if c.get("class_name") == "Dense"][index]


LAMBDA = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}


@pytest.mark.parametrize("safe_mode", [True, False])
def test_a_lambda_in_a_config_is_refused_with_or_without_safe_mode(tmp_path, safe_mode):
    _sequential().save(tmp_path / "good.keras")
    bad = tmp_path / "lambda.keras"

    def add_lambda(config):
        config["config"]["layers"].append({"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                                           "config": {"name": "lam", "function": LAMBDA, "output_shape": None}})

    _edit_config(tmp_path / "good.keras", bad, add_lambda)
    with pytest.raises(ValueError, match=r"lambda\.keras.*Lambda 'lam'.*holds a Python lambda.*safe_mode") as err:
        saving.load_model(bad, safe_mode=safe_mode)
    assert ("does not change this" in str(err.value)) is (not safe_mode)


def test_a_keras2_lambda_in_an_h5_config_is_refused(tmp_path):
    _sequential().save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"].append({"class_name": "Lambda", "config": {
            "name": "old", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}})
        f.attrs["model_config"] = json.dumps(config).encode()
    with pytest.raises(ValueError, match=r"m\.h5.*holds a Python lambda"):
        saving.load_model(tmp_path / "m.h5")


def test_a_module_named_in_a_file_is_never_imported(tmp_path, monkeypatch):
    marker = tmp_path / "IMPORTED"
    (tmp_path / "evil_module_for_saving_test.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Thing: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _sequential().save(tmp_path / "good.keras")
    bad = tmp_path / "bad.keras"

    def swap(config):
        dense = _dense(config, 0)
        dense.update(module="evil_module_for_saving_test", class_name="Thing")

    _edit_config(tmp_path / "good.keras", bad, swap)
    with pytest.raises(ValueError, match=r"bad\.keras:config\.json: could not rebuild Sequential.*Thing"):
        saving.load_model(bad)
    assert not marker.exists() and "evil_module_for_saving_test" not in sys.modules


def test_tampered_model_configs_give_clear_errors(tmp_path):
    model = _sequential()
    good = tmp_path / "good.keras"
    model.save(good)
    cases = {
        "wrong shape": (lambda c: _dense(c, 1)["config"].update(units=5),
                        r"layers/dense_1/vars/0 \(variable 0 of Dense 'dense_\d+': dense_\d+/kernel\): expected shape "
                        r"\(8, 5\), received shape \(8, 3\)"),
        "broken architecture": (lambda c: _dense(c, 0)["config"].update(units=5), "could not rebuild Sequential"),
        "unknown class": (lambda c: c.update(module="os", class_name="system"), "Could not locate class 'system'"),
        "not a model": (lambda c: c.update(_dense(c, 0)), "not a model"),
    }
    for i, (name, (edit, match)) in enumerate(cases.items()):
        bad = tmp_path / f"{i}.keras"
        _edit_config(good, bad, edit)
        with pytest.raises(ValueError, match=match) as err:
            saving.load_model(bad)
        assert str(bad) in str(err.value), name
    rewrite_zip(good, tmp_path / "json.keras", {"config.json": b'{"class_name": "Sequential", '})
    with pytest.raises(ValueError, match=r"json\.keras:config\.json: invalid JSON"):
        saving.load_model(tmp_path / "json.keras")
    rewrite_zip(good, tmp_path / "nowts.keras", {}, drop=("model.weights.h5",))
    with pytest.raises(ValueError, match=r"nowts\.keras: not a Keras model file: model\.weights\.h5 missing"):
        saving.load_model(tmp_path / "nowts.keras")
    rewrite_zip(good, tmp_path / "npz.keras", {"model.weights.npz": b"PK"}, drop=("model.weights.h5",))
    with pytest.raises(ValueError, match="pickled objects; neuronka never unpickles"):
        saving.load_model(tmp_path / "npz.keras")
    numpy.testing.assert_array_equal(saving.load_model(good).predict(_x(), verbose=0), model.predict(_x(), verbose=0))


# ----------------------------------------------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------------------------------------------
def _crash_mid_write(f, data):
    f.write(data[: len(data) // 3])
    f.flush()
    raise OSError("No space left on device")


@pytest.mark.parametrize("exc", [OSError, KeyboardInterrupt])
@pytest.mark.parametrize("name", ["ckpt.weights.h5", "ckpt.weights.npz", "ckpt.keras", "ckpt.h5"])
def test_crash_mid_write_leaves_the_previous_file_intact_and_no_temp_file(tmp_path, monkeypatch, exc, name):
    path = tmp_path / name
    first = _trained()
    save = (lambda m: m.save_weights(path)) if ".weights." in name else (lambda m: m.save(path))
    save(first)
    before = path.read_bytes()

    def crash(f, data):
        f.write(data[: len(data) // 3])
        f.flush()
        raise exc("interrupted")

    monkeypatch.setattr(saving, "_write_all", crash)
    with pytest.raises(exc):
        save(_trained())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [name]
    monkeypatch.undo()
    target = _trained()
    target.load_weights(path)
    assert_same(target.get_weights(), first.get_weights())


def test_crash_on_first_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_write_all", _crash_mid_write)
    with pytest.raises(OSError):
        saving.save_weights(StandIn(), tmp_path / "new.weights.h5")
    assert os.listdir(tmp_path) == []


def test_overwrite_false_refuses_to_replace(tmp_path):
    path = tmp_path / "w.weights.h5"
    saving.save_weights(StandIn(), path)
    with pytest.raises(FileExistsError):
        saving.save_weights(StandIn(), path, overwrite=False)
    _sequential().save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        _sequential().save(tmp_path / "m.keras", overwrite=False)


# ----------------------------------------------------------------------------------------------------------------
# whole models
# ----------------------------------------------------------------------------------------------------------------
def _functional():
    inp = layers.Input((4,))
    h = layers.Dense(4, activation="tanh")(inp)
    h = layers.Add()([h, inp])
    return models.Model(inp, layers.Dense(2)(h))


def _custom():
    @saving.register_keras_serializable(package="SavingTests")
    class ScaleShift(layers.Layer):
        """y = factor · x · alpha + beta."""

        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="alpha")
            self.beta = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="beta")

        def call(self, x):
            return x * self.alpha * self.factor + self.beta

        def compute_output_shape(self, input_shape):
            return tuple(input_shape)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return models.Sequential([layers.Input((4,)), ScaleShift(factor=3.0), layers.Dense(2)]), ScaleShift


def _lazy_sequential():
    """No Input: built by its first call, rebuilt on loading from the saved build config."""
    model = models.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3)])
    model.predict(_x(), verbose=0)
    return model


def _batchnorm():
    """Non-trainable weights (moving statistics) and a frozen layer."""
    model = models.Sequential([layers.Input((4,)), layers.Dense(6), layers.BatchNormalization(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(_x(16), _x(16, 2, seed=3), epochs=2, batch_size=8, verbose=0)
    model.layers[0].trainable = False
    return model


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("builder", ["sequential", "functional", "custom", "lazy_sequential", "batchnorm"])
def test_save_load_model_round_trip_gives_bit_identical_predictions(tmp_path, builder, suffix):
    if builder == "custom":
        model, cls = _custom()
        assert saving.get_registered_object("SavingTests>ScaleShift") is cls
        assert saving.get_registered_name(cls) == "SavingTests>ScaleShift"
    else:
        model = {"sequential": _sequential, "functional": _functional, "lazy_sequential": _lazy_sequential,
                 "batchnorm": _batchnorm}[builder]()
    x = _x()
    expected = model.predict(x, verbose=0)
    path = tmp_path / f"model{suffix}"
    saving.save_model(model, path)
    loaded = saving.load_model(path)
    assert type(loaded) is type(model)
    numpy.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert_same(loaded.get_weights(), model.get_weights())
    if suffix == ".keras":
        with zipfile.ZipFile(path) as zf:
            assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
            config = json.loads(zf.read("config.json"))
            meta = json.loads(zf.read("metadata.json"))
        assert config["class_name"] == type(model).__name__ and set(meta) == {"keras_version", "date_saved",
                                                                              "neuronka_version"}


def test_custom_objects_argument_resolves_an_unregistered_layer(tmp_path):
    model, cls = _custom()
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    objects = saving.get_custom_objects()
    for key in ("SavingTests>ScaleShift", "ScaleShift"):
        objects.pop(key, None)
    saving._REGISTERED_NAMES.pop(cls, None)
    with pytest.raises(ValueError, match="ScaleShift"):
        saving.load_model(path)
    loaded = saving.load_model(path, custom_objects={"ScaleShift": cls})
    numpy.testing.assert_array_equal(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0))
    assert "ScaleShift" not in saving.get_custom_objects()  # the scope ended


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_compiled_model_round_trip_restores_compile_config_and_optimizer_state(tmp_path, suffix):
    model = _sequential()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.005), loss="mse", metrics=["mae"])
    x, y = _x(16), _x(16, 3, seed=1)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / f"trained{suffix}"
    model.save(path)
    loaded = saving.load_model(path)
    assert type(loaded.optimizer) is optimizers.Adam
    assert loaded.optimizer.learning_rate == pytest.approx(0.005)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 4
    sa, sb = model.optimizer.get_state(), loaded.optimizer.get_state()
    assert sa.keys() == sb.keys()
    for k in sa:
        numpy.testing.assert_array_equal(sa[k], sb[k])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    assert_same(loaded.get_weights(), model.get_weights())
    assert set(loaded.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "mae"}
    uncompiled = saving.load_model(path, compile=False)
    assert getattr(uncompiled, "optimizer", None) is None


def test_include_optimizer_false_leaves_out_the_optimizer_and_the_compile_config(tmp_path):
    model = _trained()
    model.save(tmp_path / "m.keras", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert "compile_config" not in json.loads(zf.read("config.json"))
        weights = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
        assert "optimizer" not in weights
        weights.close()
    assert saving.load_model(tmp_path / "m.keras").optimizer is None
    model.save(tmp_path / "m.h5", include_optimizer=False)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "optimizer_weights" not in f and "training_config" not in f.attrs


def test_an_unzipped_model_directory_round_trips(tmp_path):
    model = _trained()
    saving.save_model(model, tmp_path / "m_dir", zipped=False)
    assert sorted(os.listdir(tmp_path / "m_dir")) == ["config.json", "metadata.json", "model.weights.h5"]
    loaded = saving.load_model(tmp_path / "m_dir")
    numpy.testing.assert_array_equal(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0))
    with pytest.raises(ValueError, match="should not end in `.keras`"):
        saving.save_model(model, tmp_path / "x.keras", zipped=False)


def test_weights_are_matched_by_layer_even_when_a_layer_is_frozen(tmp_path):
    src, dst = _sequential(), _sequential()
    src.layers[0].trainable = False  # its weights move to the end of model.weights
    path = tmp_path / "m.weights.h5"
    saving.save_weights(src, path)
    saving.load_weights(dst, path)
    for a, b in zip(src.layers, dst.layers):
        assert_same(a.get_weights(), b.get_weights())


def test_load_weights_from_a_keras_file(tmp_path):
    src, dst = _sequential(), _sequential()
    saving.save_model(src, tmp_path / "m.keras")
    saving.load_weights(dst, tmp_path / "m.keras")
    assert_same(dst.get_weights(), src.get_weights())


def test_unserializable_layer_fails_before_touching_the_file(tmp_path):
    path = tmp_path / "m.keras"
    saving.save_model(_sequential(), path)
    before = path.read_bytes()
    bad = models.Sequential([layers.Input((4,)), layers.Lambda(lambda t: t * 2), layers.Dense(2)])
    with pytest.raises(NotImplementedError, match="Lambda"):
        saving.save_model(bad, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]


def test_bad_paths_and_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="File not found"):
        saving.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="File not found"):  # Keras raises ValueError: so does neuronka's error
        saving.load_model(tmp_path / "missing.keras")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ValueError, match="File format not supported"):
        saving.load_model(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        saving.save_model(_sequential(), tmp_path / "m.txt")
    with pytest.raises(ValueError, match="not supported"):
        saving.save_model(_sequential(), tmp_path / "m.keras", bogus=1)
    _sequential().save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="`by_name` only supports loading legacy"):
        _sequential().load_weights(tmp_path / "w.weights.h5", by_name=True)


def test_the_attribute_probe_does_not_advance_layer_names():
    from neuronka.saving import object_tree

    def number(name):
        return int(name.rsplit("_", 1)[1]) if "_" in name else 0

    object_tree._PROBE_SKIP = None
    first = layers.Layer().name
    object_tree._skipped_attributes()  # builds a plain Layer to learn its attributes
    second = layers.Layer().name
    assert number(second) == number(first) + 1


# ----------------------------------------------------------------------------------------------------------------
# Keras 2 weights: the layout of Keras's published ImageNet weights
# ----------------------------------------------------------------------------------------------------------------
def _applications_model(classes=3):
    inp = layers.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="conv1_conv")(inp)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return models.Model(inp, layers.Dense(classes, name="predictions")(x))


def _write_published_layout(path, model, rng):
    """A Keras 2 weights file as keras-applications published them: names with ':0', nested datasets, bytes
    attributes, backend 'tensorflow', keras_version '2.2.4'."""
    values = {}
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = numpy.array([la.name.encode() for la in model.layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights
            names = [f"{layer.name}/{w.name}:0".encode() for w in weights]
            group.attrs["weight_names"] = numpy.array(names, dtype="S64") if names else numpy.array([], "S1")
            for name, w in zip(names, weights):
                value = rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name else rng.standard_normal(w.shape)
                group[name.decode()] = values[name.decode()] = value.astype("float32")
    return values


def test_published_keras2_weights_load_by_topological_order(tmp_path):
    model = _applications_model()
    values = _write_published_layout(tmp_path / "weights_tf_dim_ordering_tf_kernels.h5", model,
                                     numpy.random.default_rng(0))
    model.load_weights(tmp_path / "weights_tf_dim_ordering_tf_kernels.h5")
    for layer in model.layers:
        for w in layer.trainable_weights + layer.non_trainable_weights:
            numpy.testing.assert_array_equal(w.numpy(), values[f"{layer.name}/{w.name}:0"])
    # the reader other code calls (the applications' weights="imagenet"), and a file named .weights.h5
    other = _applications_model()
    legacy_h5.load_weights_from_hdf5(other, tmp_path / "weights_tf_dim_ordering_tf_kernels.h5")
    assert_same(other.get_weights(), model.get_weights())
    os.replace(tmp_path / "weights_tf_dim_ordering_tf_kernels.h5", tmp_path / "renamed.weights.h5")
    third = _applications_model()
    third.load_weights(tmp_path / "renamed.weights.h5")
    assert_same(third.get_weights(), model.get_weights())


def test_published_keras2_weights_by_name_with_skip_mismatch_for_a_new_head(tmp_path):
    path = tmp_path / "w.h5"
    values = _write_published_layout(path, _applications_model(classes=3), numpy.random.default_rng(1))
    model = _applications_model(classes=10)
    head = model.get_layer("predictions").get_weights()
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"w\.h5: shape mismatch in layer #\d+ \(named predictions\)"):
        model.load_weights(path, by_name=True)
    assert_same(snapshot(model), before)
    with pytest.raises(ValueError, match=r"layer #\d+ \(named predictions in the model.*expected shape \(4, 10\)"):
        model.load_weights(path)
    with pytest.warns(UserWarning, match="predictions"):
        model.load_weights(path, by_name=True, skip_mismatch=True)
    numpy.testing.assert_array_equal(model.get_layer("conv1_conv").kernel.numpy(), values["conv1_conv/kernel:0"])
    assert_same(model.get_layer("predictions").get_weights(), head)


def test_keras2_layer_count_mismatch_is_an_error_even_with_skip_mismatch(tmp_path):
    path = tmp_path / "w.h5"
    _write_published_layout(path, _applications_model(), numpy.random.default_rng(2))
    inp = layers.Input((8, 8, 3))
    smaller = models.Model(inp, layers.Conv2D(4, 3, name="conv1_conv")(inp))
    before = snapshot(smaller)
    with pytest.raises(ValueError, match="layer count mismatch.*expected 1 layers.*found 3 saved layers"):
        smaller.load_weights(path, skip_mismatch=True)
    assert_same(snapshot(smaller), before)
    smaller.load_weights(path, by_name=True)  # by name: the one layer the model has loads


def test_keras2_weights_written_by_neuronka_round_trip(tmp_path):
    model = _batchnorm()
    legacy_h5.save_weights_to_hdf5(model, tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == [la.name for la in model.layers]
        assert f.attrs["backend"] in ("numpy", b"numpy")
    fresh = _batchnorm()
    fresh.load_weights(tmp_path / "w.h5")
    assert_same(fresh.get_weights(), model.get_weights())


def test_the_file_editor_refuses_a_dataset_declaring_more_than_it_stores(tmp_path):
    path = tmp_path / "w.weights.h5"
    _sequential().save_weights(path)
    with h5py.File(path, "r+") as f:  # 400 MB declared, never written: nothing stored but the fill value
        f.create_dataset("layers/dense/vars/2", shape=(10000, 10000), dtype="float32", chunks=(100, 100),
                         compression="gzip")
    with pytest.raises(ValueError, match=r"w\.weights\.h5: /layers/dense/vars/2: declares 400000000 bytes but "
                                         r"stores 0"):
        saving.KerasFileEditor(path)
    with h5py.File(path, "r+") as f:
        del f["layers/dense/vars/2"]
        f["layers/dense/vars/2"] = h5py.SoftLink("/layers/dense/vars/0")
    with pytest.raises(ValueError, match="SoftLink"):
        saving.KerasFileEditor(path)


# ----------------------------------------------------------------------------------------------------------------
# callbacks that save
# ----------------------------------------------------------------------------------------------------------------
def test_model_checkpoint_saves_whole_models(tmp_path):
    model = _sequential()
    model.compile(optimizer="sgd", loss="mse")
    x, y = _x(8), _x(8, 3, seed=1)
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras"))
    model.fit(x, y, epochs=2, batch_size=4, validation_data=(x, y), verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["m-01.keras", "m-02.keras"]
    loaded = saving.load_model(tmp_path / "m-02.keras")
    numpy.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_early_stopping_in_a_real_fit_restores_the_best_weights():
    model = _sequential()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05), loss="mse")
    x, y = _x(16), _x(16, 3, seed=1)
    snapshots = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append((logs["val_loss"],
                                                                                     model.get_weights())))
    es = callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    # validating on random targets: val_loss soon stops improving
    model.fit(x, y, epochs=30, batch_size=4, validation_data=(x, _x(16, 3, seed=9)), verbose=0,
              callbacks=[record, es])
    best = min(range(len(snapshots)), key=lambda i: snapshots[i][0])
    assert len(model.history.epoch) == len(snapshots)
    assert_same(model.get_weights(), snapshots[best][1])


def test_a_file_is_read_as_the_layout_it_holds_whatever_its_name(tmp_path):
    src = _sequential()
    src.save_weights(tmp_path / "keras3.weights.h5")
    os.replace(tmp_path / "keras3.weights.h5", tmp_path / "keras3.h5")  # Keras 3's layout named like a Keras 2 file
    dst = _sequential()
    dst.load_weights(tmp_path / "keras3.h5")
    assert_same(dst.get_weights(), src.get_weights())


def test_assets_in_an_archive_are_not_read_and_say_so(tmp_path):
    _sequential().save(tmp_path / "good.keras")
    rewrite_zip(tmp_path / "good.keras", tmp_path / "assets.keras", {"assets/layers/text/vocabulary.txt": b"a\nb\n"})
    with pytest.warns(UserWarning, match=r"holds assets \(\['assets/layers/text/vocabulary\.txt'\]"):
        saving.load_model(tmp_path / "assets.keras")


def test_float64_weights_are_rounded_to_the_model_dtype_with_a_warning(tmp_path):
    """A .weights.h5 holding float64 arrays loads into a float32 model (Keras's cast) and says it rounded."""
    path = tmp_path / "m.weights.h5"
    model = _trained()
    model.save_weights(path)
    with h5py.File(path, "r+") as f:
        kernel = f["layers/dense_1/vars/0"][()].astype(numpy.float64) + 1e-12
        del f["layers/dense_1/vars/0"]
        f["layers/dense_1/vars/0"] = kernel
    target = _sequential()
    with pytest.warns(UserWarning, match=r"1 weight array\(s\) stored as float64 were rounded to the model's float32"):
        target.load_weights(path)
    numpy.testing.assert_array_equal(target.layers[-1].kernel.numpy(), kernel.astype(numpy.float32))
    same = tmp_path / "same-dtype.weights.h5"
    model.save_weights(same)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 into float32: nothing to say
        _sequential().load_weights(same)

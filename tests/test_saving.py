"""Saving and loading: round trips, optimizer state, atomic writes, and refusing bad or hostile files.

The weights-level tests use a stand-in model (a list of weight tensors and an optimizer); the model
tests rebuild real Sequential / functional models and compare predictions bit for bit.
"""
from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import zipfile

import numpy
import pytest

from neuronka import optimizers, saving
from neuronka.autograd import Tensor


# ----------------------------------------------------------------------------------
# a stand-in model: weights, an optimizer, get/set_weights
# ----------------------------------------------------------------------------------
class Weight(Tensor):
    """A trainable leaf tensor with a path and assign() (the Variable interface saving relies on)."""

    def __init__(self, value, path):
        super().__init__(numpy.asarray(value, dtype=numpy.float32), requires_grad=True)
        self.path = path
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


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        numpy.testing.assert_array_equal(x, y)


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


def rewrite_zip(src, dst, replace: dict[str, bytes], drop=()):
    """Copy a zip, replacing or dropping some members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in drop:
                continue
            zout.writestr(name, replace.get(name, zin.read(name)))
        for name, data in replace.items():
            if name not in zin.namelist():
                zout.writestr(name, data)


def manifest_of(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        raw = numpy.load(io.BytesIO(zf.read("__neuronka__.npy")), allow_pickle=False)
    return json.loads(raw.tobytes())


def npy(arr) -> bytes:
    buf = io.BytesIO()
    numpy.save(buf, numpy.asarray(arr), allow_pickle=False)
    return buf.getvalue()


# ----------------------------------------------------------------------------------
# weights files
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".weights.npz", ".weights.h5"])
def test_save_weights_load_weights_round_trip_is_bit_exact(tmp_path, suffix):
    src, dst = StandIn(seed=0), StandIn(seed=1)
    path = tmp_path / f"m{suffix}"
    saving.save_weights(src, path)
    saving.load_weights(dst, path)
    assert_same_weights(dst.get_weights(), src.get_weights())
    assert manifest_of(path)["weights"][0] == {"key": "w00000", "path": "layer0/w", "shape": [4, 3],
                                               "dtype": "float32"}


def test_save_weights_requires_the_weights_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        saving.save_weights(StandIn(), tmp_path / "model.npz")


def test_optimizer_state_survives_save_and_load_and_training_continues_identically(tmp_path):
    a = StandIn(optimizer=optimizers.Adam(learning_rate=0.01))
    a.train_steps(3)
    path = tmp_path / "a.weights.npz"
    saving.save_weights(a, path)
    b = StandIn(seed=5, optimizer=optimizers.Adam(learning_rate=0.01))
    saving.load_weights(b, path)
    assert b.optimizer.iterations == 3
    sa, sb = a.optimizer.get_state(), b.optimizer.get_state()
    assert sa.keys() == sb.keys()
    for k in sa:
        numpy.testing.assert_array_equal(sa[k], sb[k])
    a.train_steps(2, seed=7)
    b.train_steps(2, seed=7)
    assert_same_weights(a.get_weights(), b.get_weights())


def test_optimizer_state_of_another_optimizer_is_skipped_with_a_warning(tmp_path):
    src = StandIn(optimizer=optimizers.SGD(learning_rate=0.1, momentum=0.9))
    src.train_steps(2)
    path = tmp_path / "sgd.weights.npz"
    saving.save_weights(src, path)
    dst = StandIn(seed=3, optimizer=optimizers.Adam())
    dst.train_steps(1)
    state = dst.optimizer.get_state()
    with pytest.warns(UserWarning, match="saved from SGD.*skipping the optimizer state"):
        saving.load_weights(dst, path)
    assert_same_weights(dst.get_weights(), src.get_weights())
    after = dst.optimizer.get_state()
    assert after.keys() == state.keys() and all(numpy.array_equal(after[k], state[k]) for k in state)


def test_mismatched_optimizer_state_is_skipped_and_the_optimizer_left_as_it_was(tmp_path):
    src = StandIn(shapes=((4, 3), (3,)), optimizer=optimizers.Adam())
    src.train_steps(2)
    path = tmp_path / "a.weights.npz"
    saving.save_weights(src, path)
    dst = StandIn(seed=3, optimizer=optimizers.Adam())
    dst.train_steps(1)
    m = manifest_of(path)
    key = next(e["key"] for e in m["optimizer"]["state"] if e["name"] == "1/momentum")
    bad = tmp_path / "bad.weights.npz"
    rewrite_zip(path, bad, {f"{key}.npy": npy(numpy.zeros(7, numpy.float32))})
    with pytest.warns(UserWarning, match="skipping the optimizer state.*shape"):
        saving.load_weights(dst, bad)
    assert dst.optimizer.iterations == 1
    dst.train_steps(1)  # the optimizer still works on the model's variables
    assert dst.optimizer.iterations == 2


def test_weight_count_mismatch_names_the_weights_and_leaves_the_model_unchanged(tmp_path):
    path = tmp_path / "w.weights.npz"
    saving.save_weights(StandIn(shapes=((4, 3),)), path)
    target = StandIn()
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"expects 2 weights.*holds 1"):
        saving.load_weights(target, path)
    assert_same_weights(target.get_weights(), before)


def test_shape_mismatch_names_the_layer_and_both_shapes_and_leaves_the_model_unchanged(tmp_path):
    path = tmp_path / "w.weights.npz"
    saving.save_weights(StandIn(shapes=((4, 3), (5,))), path)
    target = StandIn(shapes=((4, 3), (3,)))
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"layer 'layer1'.*expected shape \(3,\), received shape \(5,\)"):
        saving.load_weights(target, path)
    assert_same_weights(target.get_weights(), before)  # the first weight (which matched) was not assigned either


def test_skip_mismatch_loads_what_fits(tmp_path):
    path = tmp_path / "w.weights.npz"
    src = StandIn(shapes=((4, 3), (5,)))
    saving.save_weights(src, path)
    target = StandIn(shapes=((4, 3), (3,)), seed=3)
    before = target.get_weights()
    with pytest.warns(UserWarning, match="skipped"):
        saving.load_weights(target, path, skip_mismatch=True)
    numpy.testing.assert_array_equal(target.weights[0].numpy(), src.weights[0].numpy())
    numpy.testing.assert_array_equal(target.weights[1].numpy(), before[1])


def test_the_payload_is_live_when_unpickled(tmp_path):
    """Control for the tests below: unpickling the payload (as allow_pickle=True would) creates the marker."""
    marker = tmp_path / "PWNED"
    numpy.load(io.BytesIO(object_npy(marker)), allow_pickle=True)
    assert marker.exists()


def _tamper_cases(marker):
    def inconsistent_manifest(m):
        m["weights"][1]["shape"] = [7]
        return {"__neuronka__.npy": npy(numpy.frombuffer(json.dumps(m).encode(), dtype=numpy.uint8))}

    def missing_key(m):
        m["weights"][1]["key"] = "w09999"
        return {"__neuronka__.npy": npy(numpy.frombuffer(json.dumps(m).encode(), dtype=numpy.uint8))}

    return {
        "pickled object array as a weight": ({"w00001.npy": object_npy(marker)}, "pickled / object arrays"),
        "pickled object array as manifest": ({"__neuronka__.npy": object_npy(marker)}, "pickled / object arrays"),
        "string array as a weight": ({"w00001.npy": npy(numpy.array(["a", "b", "c"]))}, "numeric array"),
        "bad JSON manifest": ({"__neuronka__.npy": npy(numpy.frombuffer(b"{nope", dtype=numpy.uint8))},
                              "invalid JSON"),
        "manifest shape disagrees with the array": (inconsistent_manifest, "inconsistent"),
        "manifest names a missing array": (missing_key, "missing the array 'w09999'"),
    }


@pytest.mark.parametrize("case", list(_tamper_cases("x")))
def test_tampered_weights_file_is_refused_without_running_code_or_touching_the_model(tmp_path, case):
    marker = tmp_path / "PWNED"
    good = tmp_path / "good.weights.npz"
    saving.save_weights(StandIn(seed=0), good)
    replace, match = _tamper_cases(marker)[case]
    if callable(replace):
        replace = replace(manifest_of(good))
    bad = tmp_path / "bad.weights.npz"
    rewrite_zip(good, bad, replace)
    target = StandIn(seed=9)
    before = target.get_weights()
    with pytest.raises(ValueError, match=match):
        saving.load_weights(target, bad)
    assert not marker.exists()
    assert_same_weights(target.get_weights(), before)


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.05])
def test_truncated_weights_file_gives_a_clear_error(tmp_path, cut):
    path = tmp_path / "w.weights.npz"
    saving.save_weights(StandIn(shapes=((64, 64), (64,))), path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    target = StandIn(shapes=((64, 64), (64,)), seed=4)
    before = target.get_weights()
    with pytest.raises(ValueError, match="truncated or corrupted|not a neuronka weights file"):
        saving.load_weights(target, path)
    assert_same_weights(target.get_weights(), before)


@pytest.mark.parametrize("suffix", [".weights.npz", ".keras"])
def test_a_raw_pickle_file_is_never_unpickled(tmp_path, suffix):
    marker = tmp_path / "PWNED"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="not a"):
        if suffix == ".keras":
            saving.load_model(path)
        else:
            saving.load_weights(StandIn(), path)
    assert not marker.exists()


def test_an_hdf5_file_is_refused_with_an_explanation(tmp_path):
    path = tmp_path / "keras.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(ValueError, match="HDF5"):
        saving.load_weights(StandIn(), path)


# ----------------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------------
def _crash_mid_write(f, data):
    f.write(data[: len(data) // 3])
    f.flush()
    raise OSError("No space left on device")


@pytest.mark.parametrize("exc", [OSError, KeyboardInterrupt])
def test_crash_mid_write_leaves_the_previous_file_intact_and_no_temp_file(tmp_path, monkeypatch, exc):
    path = tmp_path / "ckpt.weights.npz"
    first = StandIn(seed=0)
    saving.save_weights(first, path)
    before = path.read_bytes()

    def crash(f, data):
        f.write(data[: len(data) // 3])
        f.flush()
        raise exc("interrupted")

    monkeypatch.setattr(saving, "_write_all", crash)
    with pytest.raises(exc):
        saving.save_weights(StandIn(seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.weights.npz"]
    monkeypatch.undo()
    target = StandIn(seed=2)
    saving.load_weights(target, path)
    assert_same_weights(target.get_weights(), first.get_weights())


def test_crash_on_first_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "_write_all", _crash_mid_write)
    with pytest.raises(OSError):
        saving.save_weights(StandIn(), tmp_path / "new.weights.npz")
    assert os.listdir(tmp_path) == []


def test_overwrite_false_refuses_to_replace(tmp_path):
    path = tmp_path / "w.weights.npz"
    saving.save_weights(StandIn(), path)
    with pytest.raises(FileExistsError):
        saving.save_weights(StandIn(), path, overwrite=False)


# ----------------------------------------------------------------------------------
# whole models (needs neuronka.models)
# ----------------------------------------------------------------------------------
@pytest.fixture
def nk():
    models = pytest.importorskip("neuronka.models")
    if not hasattr(models, "Sequential") or not hasattr(models, "Model"):
        pytest.skip("neuronka.models does not export Sequential and Model yet")
    from neuronka import layers  # noqa: PLC0415

    return models, layers


def _x(n=5, d=4, seed=0):
    return numpy.random.default_rng(seed).standard_normal((n, d)).astype(numpy.float32)


def _predict(model, x):
    out = model.predict(x, verbose=0)
    return numpy.asarray(out)


def _sequential(nk):
    models, layers = nk
    return models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3)])


def _functional(nk):
    models, layers = nk
    inp = layers.Input((4,))
    h = layers.Dense(4, activation="tanh")(inp)
    if hasattr(layers, "Add"):
        h = layers.Add()([h, inp])
    out = layers.Dense(2)(h)
    return models.Model(inp, out)


def _custom(nk):
    models, layers = nk

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

    model = models.Sequential([layers.Input((4,)), ScaleShift(factor=3.0), layers.Dense(2)])
    return model, ScaleShift


def _lazy_sequential(nk):
    """No Input: built by its first call, rebuilt on loading from the saved build config."""
    models, layers = nk
    model = models.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3)])
    model.predict(_x(), verbose=0)
    return model


def _batchnorm(nk):
    """Non-trainable weights (moving statistics) and a frozen layer."""
    models, layers = nk
    if not hasattr(layers, "BatchNormalization"):
        pytest.skip("no BatchNormalization layer yet")
    model = models.Sequential([layers.Input((4,)), layers.Dense(6), layers.BatchNormalization(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(_x(16), _x(16, 2, seed=3), epochs=2, batch_size=8, verbose=0)
    model.layers[0].trainable = False
    return model


@pytest.mark.parametrize("builder", ["sequential", "functional", "custom", "lazy_sequential", "batchnorm"])
def test_save_load_model_round_trip_gives_bit_identical_predictions(tmp_path, nk, builder):
    if builder == "custom":
        model, cls = _custom(nk)
        assert saving.get_registered_object("SavingTests>ScaleShift") is cls
        assert saving.get_registered_name(cls) == "SavingTests>ScaleShift"
    else:
        model = {"sequential": _sequential, "functional": _functional, "lazy_sequential": _lazy_sequential,
                 "batchnorm": _batchnorm}[builder](nk)
    x = _x()
    expected = _predict(model, x)
    path = tmp_path / "model.keras"
    saving.save_model(model, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.npz"]
        config = json.loads(zf.read("config.json"))
    assert config["class_name"] == type(model).__name__
    loaded = saving.load_model(path)
    assert type(loaded) is type(model)
    numpy.testing.assert_array_equal(_predict(loaded, x), expected)
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_custom_objects_argument_resolves_an_unregistered_layer(tmp_path, nk):
    model, cls = _custom(nk)
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    objects = saving.get_custom_objects()
    for key in ("SavingTests>ScaleShift", "ScaleShift"):
        objects.pop(key, None)
    saving._REGISTERED_NAMES.pop(cls, None)
    with pytest.raises(ValueError, match="ScaleShift"):
        saving.load_model(path)
    loaded = saving.load_model(path, custom_objects={"ScaleShift": cls})
    numpy.testing.assert_array_equal(_predict(loaded, _x()), _predict(model, _x()))
    assert "ScaleShift" not in saving.get_custom_objects()  # the scope ended


def test_compiled_model_round_trip_restores_compile_config_and_optimizer_state(tmp_path, nk):
    model = _sequential(nk)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.005), loss="mse")
    x, y = _x(16), _x(16, 3, seed=1)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "trained.keras"
    saving.save_model(model, path)
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
    assert_same_weights(loaded.get_weights(), model.get_weights())
    uncompiled = saving.load_model(path, compile=False)
    assert getattr(uncompiled, "optimizer", None) is None


def test_weights_are_matched_in_layer_order_even_when_a_layer_is_frozen(tmp_path, nk):
    src, dst = _sequential(nk), _sequential(nk)
    src.layers[0].trainable = False  # its weights move to the end of model.weights
    path = tmp_path / "m.weights.npz"
    saving.save_weights(src, path)
    saving.load_weights(dst, path)
    for a, b in zip(src.layers, dst.layers):
        assert_same_weights(a.get_weights(), b.get_weights())


def test_load_weights_from_a_keras_file(tmp_path, nk):
    src, dst = _sequential(nk), _sequential(nk)
    path = tmp_path / "m.keras"
    saving.save_model(src, path)
    saving.load_weights(dst, path)
    assert_same_weights(dst.get_weights(), src.get_weights())


def _edit_config(path, dst, edit):
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    edit(config)
    rewrite_zip(path, dst, {"config.json": json.dumps(config).encode()})


def _set_units(config, index, units):
    layers_cfg = config["config"]["layers"]
    dense = [c for c in layers_cfg if c.get("class_name") == "Dense"][index]
    dense["config"]["units"] = units


def _inner_weights(good, dst, edit):
    """A copy of the .keras file whose model.weights.npz went through ``edit(npz_path, edited_path)``."""
    inner, edited = dst.with_suffix(".inner.npz"), dst.with_suffix(".edited.npz")
    with zipfile.ZipFile(good) as zf:
        inner.write_bytes(zf.read("model.weights.npz"))
    edit(inner, edited)
    rewrite_zip(good, dst, {"model.weights.npz": edited.read_bytes()})


def test_tampered_model_files_give_clear_errors_and_leave_an_existing_model_unchanged(tmp_path, nk):
    marker = tmp_path / "PWNED"
    model = _sequential(nk)
    good = tmp_path / "good.keras"
    saving.save_model(model, good)
    target = _sequential(nk)
    before = target.get_weights()
    data = good.read_bytes()

    def wrong_shape(src, dst):
        m = manifest_of(src)
        m["weights"][0]["shape"] = [4, 5]
        rewrite_zip(src, dst, {"w00000.npy": npy(numpy.ones((4, 5), numpy.float32)),
                               "__neuronka__.npy": npy(numpy.frombuffer(json.dumps(m).encode(), numpy.uint8))})

    # name: (file, expected message, whether load_weights must refuse it too)
    cases = {name: (tmp_path / f"{i}.keras", match, weights) for i, (name, match, weights) in enumerate([
        ("truncated", "truncated or corrupted|not a .keras", True),
        ("config edited to a wrong shape", r"layer 'dense_\d+'.*expected shape \(8, 5\), received shape \(8, 3\)",
         False),
        ("config breaks the architecture", "could not rebuild Sequential.*expected axis -1", False),
        ("bad json", "invalid JSON", False),
        ("unknown class", "Could not locate class 'system'", False),
        ("missing weights", "missing", True),
        ("weight of the wrong shape", r"expected shape \(4, 8\), received shape \(4, 5\)", True),
        ("pickled weight", "pickled / object arrays", True),
    ])}
    cases["truncated"][0].write_bytes(data[: len(data) // 2])
    _edit_config(good, cases["config edited to a wrong shape"][0], lambda c: _set_units(c, 1, 5))
    _edit_config(good, cases["config breaks the architecture"][0], lambda c: _set_units(c, 0, 5))
    rewrite_zip(good, cases["bad json"][0], {"config.json": b'{"class_name": "Sequential", '})
    _edit_config(good, cases["unknown class"][0], lambda c: c.update(module="os", class_name="system"))
    rewrite_zip(good, cases["missing weights"][0], {}, drop=("model.weights.npz",))
    _inner_weights(good, cases["weight of the wrong shape"][0], wrong_shape)
    _inner_weights(good, cases["pickled weight"][0],
                   lambda src, dst: rewrite_zip(src, dst, {"w00000.npy": object_npy(marker)}))

    for path, match, weights in cases.values():
        with pytest.raises(ValueError, match=match):
            saving.load_model(path)
        if weights:
            with pytest.raises(ValueError, match=match):
                saving.load_weights(target, path)
            assert_same_weights(target.get_weights(), before)
    assert not marker.exists()
    # the good file still loads
    numpy.testing.assert_array_equal(_predict(saving.load_model(good), _x()), _predict(model, _x()))


def test_save_model_crash_mid_write_keeps_the_earlier_checkpoint(tmp_path, nk, monkeypatch):
    model = _sequential(nk)
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    before = path.read_bytes()
    monkeypatch.setattr(saving, "_write_all", _crash_mid_write)
    with pytest.raises(OSError):
        saving.save_model(_sequential(nk), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]


def test_unserializable_layer_fails_before_touching_the_file(tmp_path, nk):
    models, layers = nk
    path = tmp_path / "m.keras"
    saving.save_model(_sequential(nk), path)
    before = path.read_bytes()
    bad = models.Sequential([layers.Input((4,)), layers.Lambda(lambda t: t * 2), layers.Dense(2)])
    with pytest.raises(NotImplementedError, match="Lambda"):
        saving.save_model(bad, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]


def test_model_checkpoint_saves_whole_models(tmp_path, nk):
    from neuronka import callbacks  # noqa: PLC0415

    model = _sequential(nk)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _x(8), _x(8, 3, seed=1)
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras"))
    model.fit(x, y, epochs=2, batch_size=4, validation_data=(x, y), verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["m-01.keras", "m-02.keras"]
    loaded = saving.load_model(tmp_path / "m-02.keras")
    numpy.testing.assert_array_equal(_predict(loaded, x), _predict(model, x))


def test_early_stopping_in_a_real_fit_restores_the_best_weights(nk):
    from neuronka import callbacks  # noqa: PLC0415

    model = _sequential(nk)
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
    assert_same_weights(model.get_weights(), snapshots[best][1])

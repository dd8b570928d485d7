"""``keras.applications`` part 1 against real Keras 3.15.1: ResNet50/101/152, ResNet50V2/101V2/152V2, VGG16/19,
Xception, InceptionV3, InceptionResNetV2, DenseNet121/169/201, MobileNet, MobileNetV2 and ``imagenet_utils``.

- Architecture: each constructor, built by Keras and by neuronka with the same arguments, gives the same model
  name, layer names, layer classes and order, weight shapes per layer, parameter counts (total, trainable,
  non-trainable) and output shape; with and without the top, pooling None / avg / max, non-default classes and
  input shapes, family arguments (MobileNet's alpha, depth_multiplier, dropout; MobileNetV2's alpha).
- Predictions: Keras's model with random weights (random BatchNormalization statistics and biases too), copied
  into neuronka's layer by layer (by name): equal outputs within float32 tolerance.
- ``weights``: the same file name, URL, cache folder and hash as Keras asks ``get_file`` for; offline, a clear
  error saying which file to put where; a cached file is used without network; a local path is loaded.
- ``preprocess_input`` (three modes, NumPy in place, tensors, symbolic tensors, both data formats) and
  ``decode_predictions`` (the packaged class index is Keras's file: Keras's own hash check accepts it).
- Bad arguments raise Keras's errors (type and message).

Building the big models in both frameworks is slow: the default run covers MobileNet, MobileNetV2, VGG16 and
ResNet50 (small inputs); the rest is marked ``slow`` and ``exhaustive`` (run with NEURONKA_EXHAUSTIVE=1).
"""
from __future__ import annotations

import hashlib
import importlib
import shutil
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy
import pytest

import neuronka as nk

from .keras_oracle import EXHAUSTIVE, assert_same, keras_api, keras_or_skip, to_numpy

CONSTRUCTORS = ["ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2", "VGG16", "VGG19",
                "Xception", "InceptionV3", "InceptionResNetV2", "DenseNet121", "DenseNet169", "DenseNet201",
                "MobileNet", "MobileNetV2"]
# Keras's smallest input for each (32×32 for the others)
SMALL = {"Xception": (71, 71, 3), "InceptionV3": (75, 75, 3), "InceptionResNetV2": (75, 75, 3)}
# the family module of each constructor (keras.applications.<module>)
MODULE = {"ResNet50": "resnet", "ResNet101": "resnet", "ResNet152": "resnet", "ResNet50V2": "resnet_v2",
          "ResNet101V2": "resnet_v2", "ResNet152V2": "resnet_v2", "VGG16": "vgg16", "VGG19": "vgg19",
          "Xception": "xception", "InceptionV3": "inception_v3", "InceptionResNetV2": "inception_resnet_v2",
          "DenseNet121": "densenet", "DenseNet169": "densenet", "DenseNet201": "densenet",
          "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2"}


def _small(ctor: str) -> tuple[int, int, int]:
    return SMALL.get(ctor, (32, 32, 3))


def _configs(ctor: str) -> list[tuple[str, dict, bool]]:
    """(tag, kwargs, compare predictions) for one constructor: without the top (pooling None at the smallest
    input, avg at a non-square input, max at an unknown size), with a 7-class top at a small input, and the
    default full-size model (architecture only). The pooled rows compare predictions for the MobileNets only
    (the pooling heads have no weights; the bodies' predictions are compared by the other rows)."""
    h, w, c = _small(ctor)
    mobile = ctor.startswith("MobileNet")
    return [
        ("notop", {"include_top": False, "input_shape": (h, w, c)}, True),
        ("avg", {"include_top": False, "input_shape": (h + 8, w + 16, c), "pooling": "avg"}, mobile),
        ("max", {"include_top": False, "pooling": "max"}, mobile),
        ("top7", {"include_top": True, "classes": 7, "input_shape": (h, w, c)}, True),
        ("full", {}, False),
    ]


FAMILY_CONFIGS = [
    ("MobileNet", "alpha0.5", {"alpha": 0.5, "depth_multiplier": 2, "dropout": 0.2, "include_top": True,
                               "classes": 5, "input_shape": (40, 40, 3)}, True),
    ("MobileNet", "alpha0.25-128", {"alpha": 0.25, "include_top": False, "input_shape": (128, 128, 3)}, True),
    ("MobileNetV2", "alpha1.4", {"alpha": 1.4, "include_top": True, "classes": 3, "input_shape": (32, 32, 3),
                                 "classifier_activation": None}, True),
    ("MobileNetV2", "alpha0.35-96", {"alpha": 0.35, "include_top": False, "input_shape": (96, 96, 3)}, True),
    ("MobileNetV2", "odd-size", {"include_top": False, "input_shape": (33, 35, 3)}, True),
]
# what the default (fast) run builds; everything else is slow
FAST = {("MobileNet", t) for t in ("notop", "avg", "max", "top7", "alpha0.5")} | {
    ("MobileNetV2", t) for t in ("notop", "top7", "alpha1.4")} | {("VGG16", "notop"), ("ResNet50", "notop"),
                                                                  ("ResNet50", "full")}


def _build_params():
    params = []
    rows = [(ctor, tag, kwargs, predict) for ctor in CONSTRUCTORS for tag, kwargs, predict in _configs(ctor)]
    for ctor, tag, kwargs, predict in rows + FAMILY_CONFIGS:
        marks = [keras_api(f"applications.{ctor}", f"applications.{MODULE[ctor]}.{ctor}")]
        if (ctor, tag) not in FAST:
            marks.extend(EXHAUSTIVE)
        params.append(pytest.param(ctor, kwargs, predict, id=f"{ctor}-{tag}", marks=marks))
    return params


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_names_afterwards():
    """Leave both frameworks' automatic-name counters empty: building a model advances them differently
    (Keras's Dropout makes a ``seed_generator``, neuronka's does not), and later tests compare names."""
    yield
    nk.backend.clear_session()
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()


def _build_both(keras, ctor: str, kwargs: dict):
    """The same constructor call in both frameworks, each after clearing its automatic layer names."""
    keras.backend.clear_session()
    keras_model = getattr(keras.applications, ctor)(weights=None, **kwargs)
    nk.backend.clear_session()
    model = getattr(nk.applications, ctor)(weights=None, **kwargs)
    return keras_model, model


def _size(weights) -> int:
    return int(sum(numpy.prod(tuple(w.shape)) for w in weights))


def assert_same_architecture(model, keras_model) -> None:
    """Model name, layer names / classes / order, weight shapes per layer, parameter counts, output shape."""
    assert model.name == keras_model.name
    assert [layer.name for layer in model.layers] == [layer.name for layer in keras_model.layers]
    assert [type(layer).__name__ for layer in model.layers] == [type(layer).__name__ for layer in keras_model.layers]
    for ours, theirs in zip(model.layers, keras_model.layers):
        assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights], ours.name
    assert model.count_params() == keras_model.count_params()
    assert _size(model.trainable_weights) == _size(keras_model.trainable_weights)
    assert _size(model.non_trainable_weights) == _size(keras_model.non_trainable_weights)
    assert tuple(model.output_shape) == tuple(keras_model.output_shape)


def copy_random_weights(keras_model, model, rng) -> None:
    """Give Keras's model random weights (kernels as initialized; γ, moving variance in [0.5, 1.5]; β, moving
    mean, biases ~ N(0, 0.1)) and copy every layer's weights into neuronka's ``model``'s layer of the same
    name (``model=None``: only randomize Keras's)."""
    for layer in keras_model.layers:
        values = []
        for w in layer.weights:
            value = to_numpy(w)
            if w.name in ("gamma", "moving_variance"):
                value = rng.uniform(0.5, 1.5, value.shape)
            elif w.name in ("beta", "moving_mean", "bias"):
                value = rng.normal(0.0, 0.1, value.shape)
            value = value.astype("float32")
            w.assign(value)
            values.append(value)
        if model is not None:
            model.get_layer(layer.name).set_weights(values)


def _input_hw(model, default) -> tuple:
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else tuple(
        model.input_shape[0][1:])
    return tuple(d if s is None else s for s, d in zip(shape, default))


def assert_same_predictions(model, keras_model, rng, default_shape) -> float:
    """Inference outputs on the same random batch; returns max |Keras − neuronka|."""
    x = rng.uniform(-1.0, 1.0, (2, *_input_hw(keras_model, default_shape))).astype("float32")
    expected = to_numpy(keras_model(x, training=False))
    actual = model.predict(x, verbose=0)
    assert_same(actual, expected, rtol=1e-4, atol=1e-5)
    return float(numpy.abs(actual - expected).max())


# ----------------------------------------------------------------------------------------------
# architectures and predictions
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ctor,kwargs,predict", _build_params())
def test_application_equals_keras_layer_for_layer_and_in_predictions(ctor, kwargs, predict):
    keras = keras_or_skip()
    keras_model, model = _build_both(keras, ctor, kwargs)
    assert_same_architecture(model, keras_model)
    if predict:
        rng = numpy.random.default_rng(0)
        copy_random_weights(keras_model, model, rng)
        assert_same_predictions(model, keras_model, rng, _small(ctor))


def test_resnet50_has_keras_parameter_count_not_torchvision():
    model = nk.applications.ResNet50(weights=None)
    # Keras's count (ResNet50-full above compares it with real Keras); torchvision's layout has 25,557,032
    assert model.count_params() == 25_636_712
    assert _size(model.trainable_weights) == 25_583_592


@keras_api("applications.MobileNet")
def test_input_tensor_keeps_the_layers_before_it():
    keras = keras_or_skip()
    keras.backend.clear_session()
    image = keras.Input((40, 40, 3), name="img")
    keras_model = keras.applications.MobileNet(weights=None, include_top=False,
                                               input_tensor=keras.layers.Rescaling(1 / 255)(image))
    nk.backend.clear_session()
    ours = nk.layers.Input((40, 40, 3), name="img")
    model = nk.applications.MobileNet(weights=None, include_top=False,
                                      input_tensor=nk.layers.Rescaling(1 / 255)(ours))
    assert_same_architecture(model, keras_model)
    assert model.name == "mobilenet_1.00_None"  # Keras names it from the (unknown) input_shape
    assert len(model.inputs) == 1 and model.inputs[0] is ours
    rng = numpy.random.default_rng(1)
    copy_random_weights(keras_model, model, rng)
    x = rng.uniform(0, 255, (2, 40, 40, 3)).astype("float32")
    assert_same(model.predict(x, verbose=0), to_numpy(keras_model(x, training=False)), rtol=1e-4, atol=1e-5)


@pytest.fixture
def channels_first():
    keras = keras_or_skip()
    keras.config.set_image_data_format("channels_first")
    nk.config.set_image_data_format("channels_first")
    yield keras
    keras.config.set_image_data_format("channels_last")
    nk.config.set_image_data_format("channels_last")


@pytest.mark.parametrize("ctor,shape", [
    pytest.param("MobileNetV2", (3, 32, 32), marks=keras_api("applications.MobileNetV2")),
    pytest.param("ResNet50", (3, 32, 32), marks=[keras_api("applications.ResNet50"), *EXHAUSTIVE]),
    pytest.param("InceptionV3", (3, 75, 75), marks=[keras_api("applications.InceptionV3"), *EXHAUSTIVE]),
])
def test_channels_first_models_equal_keras(channels_first, ctor, shape):
    keras_model, model = _build_both(channels_first, ctor, {"include_top": True, "classes": 5, "input_shape": shape})
    assert_same_architecture(model, keras_model)
    rng = numpy.random.default_rng(2)
    copy_random_weights(keras_model, model, rng)
    assert_same_predictions(model, keras_model, rng, shape)


@keras_api("applications.DenseNet121")
def test_densenet_refuses_channels_first_as_keras(channels_first):
    keras = channels_first
    with pytest.raises(ValueError) as theirs:
        keras.applications.DenseNet121(weights=None)
    with pytest.raises(ValueError) as ours:
        nk.applications.DenseNet121(weights=None)
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# weights: Keras's published files
# ----------------------------------------------------------------------------------------------
class _Stop(BaseException):
    """Raised by the recording get_file: the constructors need go no further (a BaseException, so that no
    ``except Exception`` on the way turns it into another error)."""


def _asked_for(module, attr: str, call):
    """The (fname, origin, cache_subdir, file_hash) ``call()`` passes to ``module.<attr>`` (get_file)."""
    seen = []

    def recording_get_file(fname=None, origin=None, **kwargs):
        seen.append((fname, origin, kwargs.get("cache_subdir", "datasets"), kwargs.get("file_hash")))
        raise _Stop

    mp = pytest.MonkeyPatch()
    mp.setattr(module, attr, recording_get_file)
    try:
        with pytest.raises(_Stop), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
    finally:
        mp.undo()
    assert len(seen) == 1
    return seen[0], [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _weights_params():
    rows = []
    for ctor in CONSTRUCTORS:
        rows.append((ctor, "top", {}))
        rows.append((ctor, "notop", {"include_top": False}))
    rows += [("MobileNet", "alpha0.5-160", {"alpha": 0.5, "include_top": False, "input_shape": (160, 160, 3)}),
             ("MobileNet", "alpha0.25-128", {"alpha": 0.25, "input_shape": (128, 128, 3)}),
             ("MobileNet", "non-square-warns", {"include_top": False, "input_shape": (100, 120, 3)}),
             ("MobileNetV2", "alpha1.3-96", {"alpha": 1.3, "input_shape": (96, 96, 3)}),
             ("MobileNetV2", "odd-size-warns", {"include_top": False, "input_shape": (100, 100, 3)})]
    fast = {("MobileNet", "non-square-warns"), ("MobileNetV2", "top"), ("ResNet50", "top")}
    params = []
    for ctor, tag, kwargs in rows:
        marks = [keras_api(f"applications.{ctor}")] + ([] if (ctor, tag) in fast else list(EXHAUSTIVE))
        params.append(pytest.param(ctor, kwargs, id=f"{ctor}-{tag}", marks=marks))
    return params


@pytest.mark.parametrize("ctor,kwargs", _weights_params())
def test_imagenet_weights_are_the_file_keras_fetches(ctor, kwargs):
    """Same file name, URL, cache folder and hash as Keras (and the same warnings on the way)."""
    keras = keras_or_skip()
    from keras.src.utils import file_utils as keras_file_utils

    neuronka_file_utils = importlib.import_module("neuronka.utils.file_utils")
    theirs, keras_warnings = _asked_for(keras_file_utils, "get_file",
                                        lambda: getattr(keras.applications, ctor)(weights="imagenet", **kwargs))
    ours, our_warnings = _asked_for(neuronka_file_utils, "get_file",
                                    lambda: getattr(nk.applications, ctor)(weights="imagenet", **kwargs))
    assert ours == theirs
    assert ours[2] == "models" and ours[1].startswith("https://storage.googleapis.com/tensorflow/keras-applications/")
    assert our_warnings == keras_warnings


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """KERAS_HOME in tmp_path and no network: every URL fails as it does on an offline machine."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution (test: offline)")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path / "models"


def test_offline_imagenet_weights_error_says_which_file_to_put_where(offline):
    fname = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(ConnectionError) as e:
        nk.applications.ResNet50(weights="imagenet", include_top=False)
    message = str(e.value)
    assert fname in message
    assert f"https://storage.googleapis.com/tensorflow/keras-applications/resnet/{fname}" in message
    assert "md5 4d473c1dd8becc155b73f8504c6f6626" in message
    assert str(offline / fname) in message and "~/.keras/models/" in message


def test_cached_weights_file_is_used_without_network(offline, monkeypatch):
    """A file already in ``<keras home>/models`` (say, copied from Keras's cache) is loaded as it is."""
    loaded = []
    monkeypatch.setattr(nk.Model, "load_weights", lambda self, path, *a, **k: loaded.append(path))
    offline.mkdir(parents=True)
    unhashed = offline / "mobilenet_1_0_224_tf_no_top.h5"  # Keras gives MobileNet's files no hash
    unhashed.write_bytes(b"MobileNet weights")
    with pytest.warns(UserWarning, match=r"Weights for input shape \(224, 224\) will be loaded"):  # size unknown
        nk.applications.MobileNet(weights="imagenet", include_top=False)
    hashed = offline / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    hashed.write_bytes(b"VGG16 weights")
    vgg16 = importlib.import_module("neuronka.applications.vgg16")
    monkeypatch.setattr(vgg16, "WEIGHTS_HASHES", (None, hashlib.md5(hashed.read_bytes()).hexdigest()))
    nk.applications.VGG16(weights="imagenet", include_top=False)
    assert loaded == [str(unhashed), str(hashed)]


def test_cached_weights_file_with_the_wrong_hash_is_not_loaded(offline, monkeypatch):
    loaded = []
    monkeypatch.setattr(nk.Model, "load_weights", lambda self, path, *a, **k: loaded.append(path))
    offline.mkdir(parents=True)
    (offline / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"truncated download")
    with pytest.raises(ConnectionError, match="does not have this hash"):
        nk.applications.VGG16(weights="imagenet", include_top=False)
    assert loaded == []


def test_weights_path_is_loaded(tmp_path):
    source = nk.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    path = tmp_path / "mobilenet_v2.weights.npz"
    source.save_weights(path)
    model = nk.applications.MobileNetV2(weights=str(path), include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    for a, b in zip(source.weights, model.weights):
        numpy.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def _legacy_h5_params():
    rows = [(ctor, {"include_top": False, "input_shape": _small(ctor)}) for ctor in CONSTRUCTORS]
    rows.append(("MobileNet", {"include_top": True, "input_shape": (128, 128, 3)}))
    fast = {("MobileNet", False), ("ResNet50", False)}
    return [pytest.param(ctor, kwargs, id=f"{ctor}-{'top' if kwargs['include_top'] else 'notop'}",
                         marks=[keras_api(f"applications.{ctor}")]
                         + ([] if (ctor, kwargs["include_top"]) in fast else list(EXHAUSTIVE)))
            for ctor, kwargs in rows]


@pytest.mark.parametrize("ctor,kwargs", _legacy_h5_params())
def test_keras_legacy_h5_weights_in_the_cache_load_and_predict_as_keras(ctor, kwargs, offline, monkeypatch):
    """The published files' layout end to end: Keras writes its model's (random) weights as a Keras 2 HDF5
    file under the published file name in the cache; ``weights="imagenet"`` finds it without network, loads
    it (by layer order) and predicts as Keras. The file is not the published one, so its hash differs: the
    hash check (tested above) is left out here."""
    keras = keras_or_skip()
    h5py = pytest.importorskip("h5py")
    from keras.src.legacy.saving import legacy_h5_format

    neuronka_file_utils = importlib.import_module("neuronka.utils.file_utils")
    # the published file's name (the same as Keras's: test_imagenet_weights_are_the_file_keras_fetches)
    (fname, _, _, _), _ = _asked_for(neuronka_file_utils, "get_file",
                                     lambda: getattr(nk.applications, ctor)(weights="imagenet", **kwargs))
    keras.backend.clear_session()
    keras_model = getattr(keras.applications, ctor)(weights=None, **kwargs)
    rng = numpy.random.default_rng(10)
    copy_random_weights(keras_model, None, rng)
    offline.mkdir(parents=True, exist_ok=True)
    with h5py.File(offline / fname, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, keras_model)
    real_get_file = neuronka_file_utils.get_file
    monkeypatch.setattr(neuronka_file_utils, "get_file",
                        lambda fname, origin, **kw: real_get_file(fname, origin, **{**kw, "file_hash": None}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MobileNet's "Weights for input shape (224, 224) will be loaded"
        model = getattr(nk.applications, ctor)(weights="imagenet", **kwargs)
    assert_same_predictions(model, keras_model, rng, _small(ctor))


# ----------------------------------------------------------------------------------------------
# bad arguments: Keras's errors
# ----------------------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    ("ResNet50", {"weights": "/no/such/weights.h5"}),
    ("ResNet50", {"classes": 10}),
    ("ResNet50", {"input_shape": (200, 200, 3)}),
    ("ResNet50", {"weights": None, "include_top": False, "input_shape": (31, 64, 3)}),
    ("ResNet50", {"include_top": False, "input_shape": (64, 64, 1)}),
    ("ResNet50", {"weights": None, "include_top": False, "input_shape": (64, 64)}),
    ("ResNet50", {"weights": None, "input_shape": (None, None, 3)}),
    ("ResNet50V2", {"weights": "/no/such/weights.h5"}),
    ("ResNet152V2", {"classes": 3}),
    ("VGG16", {"weights": "/no/such/weights.h5"}),
    ("VGG19", {"classes": 10}),
    ("Xception", {"weights": "/no/such/weights.h5"}),
    ("Xception", {"weights": None, "include_top": False, "input_shape": (70, 71, 3)}),
    ("InceptionV3", {"weights": "/no/such/weights.h5"}),
    ("InceptionV3", {"classes": 10}),
    ("InceptionV3", {"weights": None, "include_top": False, "input_shape": (75, 74, 3)}),
    ("InceptionResNetV2", {"weights": "/no/such/weights.h5"}),
    ("InceptionResNetV2", {"classes": 2}),
    ("DenseNet121", {"weights": "/no/such/weights.h5"}),
    ("DenseNet201", {"classes": 2}),
    ("MobileNet", {"weights": "/no/such/weights.h5"}),
    ("MobileNet", {"classes": 10}),
    ("MobileNet", {"depth_multiplier": 2}),
    ("MobileNet", {"alpha": 0.3}),
    ("MobileNetV2", {"weights": "/no/such/weights.h5"}),
    ("MobileNetV2", {"classes": 10}),
    ("MobileNetV2", {"alpha": 0.9}),
    ("MobileNetV2", {"weights": None, "input_shape": (16, 16, 3)}),
]


@pytest.mark.parametrize("ctor,kwargs", [pytest.param(c, k, marks=keras_api(f"applications.{c}"))
                                         for c, k in BAD_ARGUMENTS])
def test_bad_arguments_raise_keras_errors(ctor, kwargs):
    keras = keras_or_skip()
    with pytest.raises(Exception) as theirs:  # noqa: PT011 - the type is compared below
        getattr(keras.applications, ctor)(**kwargs)
    with pytest.raises(Exception) as ours:  # noqa: PT011
        getattr(nk.applications, ctor)(**kwargs)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@keras_api("applications.MobileNetV2")
def test_mobilenet_v2_input_tensor_and_input_shape_must_agree():
    keras = keras_or_skip()
    with pytest.raises(ValueError) as theirs:
        keras.applications.MobileNetV2(input_tensor=keras.Input((64, 64, 3)), input_shape=(32, 32, 3))
    with pytest.raises(ValueError) as ours:
        nk.applications.MobileNetV2(input_tensor=nk.layers.Input((64, 64, 3)), input_shape=(32, 32, 3))
    assert str(ours.value) == str(theirs.value)


@keras_api("applications.ResNet50")
def test_input_tensor_must_be_symbolic():
    keras = keras_or_skip()
    x = numpy.zeros((1, 32, 32, 3), "float32")
    with pytest.raises(ValueError) as theirs:
        keras.applications.ResNet50(weights=None, include_top=False, input_tensor=x)
    with pytest.raises(ValueError) as ours:
        nk.applications.ResNet50(weights=None, include_top=False, input_tensor=x)
    prefix = "Argument `input_tensor` must be a KerasTensor. Received invalid type: input_tensor"
    assert str(theirs.value).startswith(prefix) and str(ours.value).startswith(prefix)
    assert "numpy.ndarray" in str(ours.value)  # Keras prints the whole array; neuronka its type


@keras_api("applications.MobileNet")
def test_pretrained_classifier_activation_must_be_softmax_or_none():
    keras = keras_or_skip()
    with pytest.raises(ValueError) as theirs:
        keras.applications.MobileNet(classifier_activation="relu")
    with pytest.raises(ValueError) as ours:
        nk.applications.MobileNet(classifier_activation="relu")
    # the message ends with the activation function's repr, which differs between the frameworks
    head = "Only `None` and `softmax` activations are allowed for the `classifier_activation` argument when using "
    assert str(theirs.value).startswith(head) and str(ours.value).startswith(head)
    assert str(ours.value).split("Received: ")[0] == str(theirs.value).split("Received: ")[0]


# ----------------------------------------------------------------------------------------------
# imagenet_utils: obtain_input_shape, correct_pad
# ----------------------------------------------------------------------------------------------
INPUT_SHAPE_CASES = [  # input_shape, default_size, min_size, data_format, require_flatten, weights
    (None, 224, 32, "channels_last", True, "imagenet"),
    (None, 224, 32, "channels_last", False, "imagenet"),
    (None, 299, 75, "channels_first", True, None),
    (None, 299, 75, "channels_first", False, None),
    ((224, 224, 3), 224, 32, "channels_last", True, "imagenet"),
    ((3, 224, 224), 224, 32, "channels_first", True, "imagenet"),
    ((200, 200, 3), 224, 32, "channels_last", True, "imagenet"),
    ((64, 48, 3), 224, 32, "channels_last", True, None),
    ((64, 48, 5), 224, 32, "channels_last", False, None),
    ((2, 64, 48), 224, 32, "channels_first", False, None),
    ((64, 48, 1), 224, 32, "channels_last", False, "imagenet"),
    ((1, 64, 48), 224, 32, "channels_first", False, "imagenet"),
    ((31, 64, 3), 224, 32, "channels_last", False, None),
    ((3, 64, 31), 224, 32, "channels_first", False, None),
    ((None, None, 3), 224, 32, "channels_last", False, "imagenet"),
    ((None, None, 3), 224, 32, "channels_last", True, None),
    ((64, 64), 224, 32, "channels_last", False, None),
    ([224, 224, 3], 224, 32, "channels_last", True, "imagenet"),
]


@keras_api("applications.imagenet_utils.obtain_input_shape")
@pytest.mark.parametrize("case", INPUT_SHAPE_CASES, ids=[str(c) for c in INPUT_SHAPE_CASES])
def test_obtain_input_shape_equals_keras(case):
    keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    def run(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*case)
            except ValueError as e:
                result = ("ValueError", str(e))
        return result, [str(w.message) for w in caught]

    assert run(imagenet_utils.obtain_input_shape) == run(keras_utils.obtain_input_shape)


@keras_api("applications.imagenet_utils.correct_pad")
@pytest.mark.parametrize("size,kernel", [((32, 32), 3), ((33, 34), 3), ((None, None), 3), ((9, 10), (5, 3))])
def test_correct_pad_equals_keras(size, kernel):
    keras = keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    theirs = keras_utils.correct_pad(keras.Input((*size, 3)), kernel)
    assert imagenet_utils.correct_pad(nk.layers.Input((*size, 3)), kernel) == theirs


# ----------------------------------------------------------------------------------------------
# imagenet_utils: preprocess_input
# ----------------------------------------------------------------------------------------------
PREPROCESS_CASES = [(mode, fmt, batch) for mode in ("caffe", "tf", "torch")
                    for fmt in ("channels_last", "channels_first") for batch in (True, False)]


def _image(rng, data_format: str, batch: bool, dtype="float32"):
    shape = (5, 6, 3) if data_format == "channels_last" else (3, 5, 6)
    return rng.uniform(0, 255, ((2, *shape) if batch else shape)).astype(dtype)


@keras_api("applications.imagenet_utils.preprocess_input")
@pytest.mark.parametrize("mode,data_format,batch", PREPROCESS_CASES)
def test_preprocess_input_on_arrays_equals_keras_in_place_too(mode, data_format, batch):
    keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    x = _image(numpy.random.default_rng(3), data_format, batch)
    theirs_in, ours_in = x.copy(), x.copy()
    theirs = keras_utils.preprocess_input(theirs_in, data_format=data_format, mode=mode)
    ours = imagenet_utils.preprocess_input(ours_in, data_format=data_format, mode=mode)
    assert_same(ours, theirs, rtol=0, atol=0)
    # a float array is overwritten as Keras does (in caffe mode the result is a channel-reversed view of it)
    numpy.testing.assert_array_equal(ours_in, theirs_in)
    assert (ours is ours_in) == (theirs is theirs_in)
    assert numpy.shares_memory(ours, ours_in) == numpy.shares_memory(theirs, theirs_in)


@keras_api("applications.imagenet_utils.preprocess_input")
@pytest.mark.parametrize("dtype,mode", [("uint8", "caffe"), ("int32", "tf"), ("float64", "torch"),
                                        ("float16", "tf")])
def test_preprocess_input_dtypes_equal_keras(dtype, mode):
    keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    x = _image(numpy.random.default_rng(4), "channels_last", True, dtype)
    theirs = keras_utils.preprocess_input(x.copy(), mode=mode)
    ours = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    assert_same(ours, theirs, rtol=0, atol=0)


@keras_api("applications.imagenet_utils.preprocess_input")
@pytest.mark.parametrize("mode,data_format,batch", PREPROCESS_CASES)
def test_preprocess_input_on_tensors_equals_keras(mode, data_format, batch):
    keras = keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    x = _image(numpy.random.default_rng(5), data_format, batch)
    theirs = keras_utils.preprocess_input(keras.ops.convert_to_tensor(x), data_format=data_format, mode=mode)
    ours = imagenet_utils.preprocess_input(nk.ops.convert_to_tensor(x), data_format=data_format, mode=mode)
    assert isinstance(ours, nk.Tensor)
    assert_same(ours, theirs, rtol=1e-6, atol=1e-5)


@keras_api("applications.imagenet_utils.preprocess_input")
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_input_inside_a_functional_model_equals_keras(mode):
    keras = keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    image = keras.Input((5, 6, 3))
    keras_model = keras.Model(image, keras_utils.preprocess_input(image, mode=mode))
    ours = nk.layers.Input((5, 6, 3))
    model = nk.Model(ours, imagenet_utils.preprocess_input(ours, mode=mode))
    x = _image(numpy.random.default_rng(6), "channels_last", True)
    assert_same(model.predict(x, verbose=0), keras_model.predict(x, verbose=0), rtol=1e-6, atol=1e-5)


FAMILY_PREPROCESS = ["resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "xception", "inception_v3",
                     "inception_resnet_v2", "densenet", "mobilenet", "mobilenet_v2"]


@pytest.mark.parametrize("module", [pytest.param(m, marks=keras_api(f"applications.{m}.preprocess_input"))
                                    for m in FAMILY_PREPROCESS])
def test_family_preprocess_input_uses_keras_mode(module):
    keras = keras_or_skip()
    theirs_module = getattr(keras.applications, module)
    ours_module = getattr(nk.applications, module)
    for data_format in ("channels_last", "channels_first"):
        x = _image(numpy.random.default_rng(7), data_format, True)
        theirs = theirs_module.preprocess_input(x.copy(), data_format=data_format)
        assert_same(ours_module.preprocess_input(x.copy(), data_format=data_format), theirs, rtol=0, atol=0)


@keras_api("applications.imagenet_utils.preprocess_input")
@pytest.mark.parametrize("kwargs", [{"mode": "keras"}, {"data_format": "channels_middle"}])
def test_preprocess_input_bad_arguments_raise_keras_errors(kwargs):
    keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils

    from neuronka.applications import imagenet_utils

    x = numpy.zeros((1, 2, 2, 3), "float32")
    with pytest.raises(ValueError) as theirs:
        keras_utils.preprocess_input(x, **kwargs)
    with pytest.raises(ValueError) as ours:
        imagenet_utils.preprocess_input(x, **kwargs)
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# imagenet_utils: decode_predictions and the class index
# ----------------------------------------------------------------------------------------------
PACKAGED_INDEX = Path(nk.applications.__file__).parent / "imagenet_class_index.json"


@pytest.fixture
def keras_reads_the_packaged_index(tmp_path, monkeypatch):
    """Keras's decode_predictions reading neuronka's packaged file from a cache where Keras's own get_file
    checks it against the md5 Keras expects of the file it downloads (no network involved)."""
    keras_or_skip()
    from keras.src.applications import imagenet_utils as keras_utils
    from keras.src.utils import file_utils as keras_file_utils

    cache = tmp_path / "keras_cache"
    (cache / "models").mkdir(parents=True)
    shutil.copy(PACKAGED_INDEX, cache / "models" / "imagenet_class_index.json")
    real_get_file = keras_file_utils.get_file

    def cached_only(fname, origin, **kwargs):
        assert keras_file_utils.validate_file(str(cache / "models" / fname), kwargs["file_hash"]), \
            "the packaged class index is not the file Keras downloads"
        return real_get_file(fname, origin, cache_dir=str(cache), **kwargs)

    monkeypatch.setattr(keras_file_utils, "get_file", cached_only)
    monkeypatch.setattr(keras_utils, "CLASS_INDEX", None)
    return keras_utils


@keras_api("applications.imagenet_utils.decode_predictions")
@pytest.mark.parametrize("top", [1, 5, 12])
def test_decode_predictions_equals_keras(keras_reads_the_packaged_index, top):
    from neuronka.applications import imagenet_utils

    preds = numpy.random.default_rng(8).random((3, 1000)).astype("float32")
    preds[1, 17] = preds[1, 905] = 2.0  # a tie at the top
    theirs = keras_reads_the_packaged_index.decode_predictions(preds, top=top)
    ours = imagenet_utils.decode_predictions(preds, top=top)
    assert ours == theirs
    assert [[type(s) for _, _, s in row] for row in ours] == [[type(s) for _, _, s in row] for row in theirs]
    assert imagenet_utils.decode_predictions(nk.ops.convert_to_tensor(preds), top=top) == theirs


@pytest.mark.parametrize("module", [pytest.param(m, marks=keras_api(f"applications.{m}.decode_predictions"))
                                    for m in FAMILY_PREPROCESS])
def test_family_decode_predictions_equals_keras(keras_reads_the_packaged_index, module):
    keras = keras_or_skip()
    preds = numpy.random.default_rng(9).random((2, 1000)).astype("float32")
    assert getattr(nk.applications, module).decode_predictions(preds, top=3) == \
        getattr(keras.applications, module).decode_predictions(preds, top=3)


@keras_api("applications.imagenet_utils.decode_predictions")
@pytest.mark.parametrize("shape", [(2, 10), (1000,), (1, 1000, 1)])
def test_decode_predictions_rejects_other_shapes_as_keras(keras_reads_the_packaged_index, shape):
    from neuronka.applications import imagenet_utils

    preds = numpy.zeros(shape, "float32")
    with pytest.raises(ValueError) as theirs:
        keras_reads_the_packaged_index.decode_predictions(preds)
    with pytest.raises(ValueError) as ours:
        imagenet_utils.decode_predictions(preds)
    assert str(ours.value) == str(theirs.value)


# entries of Keras's imagenet_class_index.json, including its repeated names (two "crane", two "maillot")
CLASS_INDEX_ENTRIES = [(0, "n01440764", "tench"), (1, "n01443537", "goldfish"), (134, "n02012849", "crane"),
                       (281, "n02123045", "tabby"), (386, "n02504458", "African_elephant"),
                       (517, "n03126707", "crane"), (607, "n03590841", "jack-o'-lantern"),
                       (638, "n03710637", "maillot"), (639, "n03710721", "maillot"), (836, "n04355933", "sunglass"),
                       (837, "n04356056", "sunglasses"), (999, "n15075141", "toilet_tissue")]


def test_packaged_class_index_is_keras_file():
    from neuronka.applications import imagenet_utils

    # the md5 Keras's decode_predictions expects of the file it downloads
    assert hashlib.md5(PACKAGED_INDEX.read_bytes()).hexdigest() == "c2c37ea517e94d9795004a39431a14cb"
    index = imagenet_utils.class_index()
    assert sorted(index, key=int) == [str(i) for i in range(1000)]
    for i, wnid, name in CLASS_INDEX_ENTRIES:
        assert index[str(i)] == [wnid, name]

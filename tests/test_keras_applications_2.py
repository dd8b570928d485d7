"""``keras.applications`` part 2 against real Keras 3.15.1: MobileNetV3, EfficientNet B0–B7, EfficientNetV2,
ConvNeXt and NASNet.

For each constructor: the same layers in the same order with the same names and classes (Keras's
``model.operations``, which also lists the ops called on symbolic tensors, against neuronka's ``model.layers``),
the same weight shapes layer by layer, the same total and trainable parameter counts and output shapes, for
``include_top`` True/False, ``pooling`` None/"avg"/"max", other ``classes``, ``input_shape`` and
``input_tensor``, and channels_first. For one model of each family: Keras's model with random weights (the
constant-initialized ones perturbed, so that BatchNormalization statistics, LayerScale and biases matter) copied
into neuronka's layer by layer, by name, and the same predictions within float32 rounding. Bad arguments give
Keras's errors; ``weights="imagenet"`` asks for Keras's files (same names, URLs and hashes) in Keras's cache and,
offline, says which file to put where.

Keras builds its models slowly on its torch backend, mostly in its truncated-normal initializer: the fixture
below draws those weights from a normal of the same variance instead (the oracle's random values are never
compared, only copied). The default suite holds each family's representative (architecture variants, predictions
with the classifier); the slow suite (``-m slow``) the other variants, the predictions without the classifier and
every other constructor.

Keras 3.15.1 refuses ``NASNetMobile`` on its torch backend ("not available ... due to an outstanding bug"); the
oracle for that name is Keras's ``NASNet`` builder called with NASNetMobile's arguments, which builds and runs.
"""
from __future__ import annotations

import hashlib
import re
import sys
import urllib.error
import urllib.request
import warnings

import numpy
import pytest

import neuronka as nk
from neuronka.applications import convnext, efficientnet, efficientnet_v2, mobilenet_v3, nasnet

from .keras_oracle import EXHAUSTIVE, keras_api, keras_or_skip

FAMILIES = {
    "MobileNetV3Small": mobilenet_v3, "MobileNetV3Large": mobilenet_v3,
    **{f"EfficientNetB{i}": efficientnet for i in range(8)},
    **{f"EfficientNetV2{v}": efficientnet_v2 for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    **{f"ConvNeXt{v}": convnext for v in ("Tiny", "Small", "Base", "Large", "XLarge")},
    "NASNetMobile": nasnet, "NASNetLarge": nasnet,
}
REPRESENTATIVES = ["MobileNetV3Small", "EfficientNetB0", "EfficientNetV2B0", "ConvNeXtTiny", "NASNetMobile"]


@pytest.fixture
def keras(monkeypatch):
    """Real Keras, its truncated-normal initializer drawing from a normal of the same variance (4× faster builds;
    the values are only copied to neuronka)."""
    k = keras_or_skip()
    from keras.src.backend.torch import random as torch_random  # noqa: PLC0415

    def normal_of_the_same_variance(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        # a normal truncated at ±2σ has the standard deviation 0.8796σ (Keras's initializers divide by it)
        return torch_random.normal(shape, mean, stddev * 0.87962566103423978, dtype, seed)

    monkeypatch.setattr(torch_random, "truncated_normal", normal_of_the_same_variance)
    return k


@pytest.fixture(autouse=True)
def _channels_last():
    """Each test ends with channels_last in both frameworks (rows may switch to channels_first)."""
    yield
    nk.config.set_image_data_format("channels_last")
    if "keras" in sys.modules:
        sys.modules["keras"].config.set_image_data_format("channels_last")


def keras_constructor(keras, name: str):
    """Keras's constructor; for NASNetMobile, its NASNet builder with NASNetMobile's arguments (see above)."""
    if name != "NASNetMobile":
        return getattr(keras.applications, name)
    from keras.src.applications import nasnet as keras_nasnet  # noqa: PLC0415

    def build(input_shape=None, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
              classes=1000, classifier_activation="softmax", name="nasnet_mobile"):
        if not include_top and input_shape is None:
            input_shape = (224, 224, 3)
        return keras_nasnet.NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                                   skip_reduction=False, filter_multiplier=2, include_top=include_top,
                                   weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                                   default_size=224, classifier_activation=classifier_activation, name=name)

    return build


def neuronka_constructor(name: str):
    return getattr(FAMILIES[name], name)


def _arguments(framework, kwargs: dict) -> dict:
    """The row's arguments for one framework: ``input_tensor=shape`` becomes that framework's Input after a
    Rescaling (so the model's inputs are the tensor's sources), ``data_format`` sets the image data format."""
    kwargs = dict(kwargs)
    framework.config.set_image_data_format(kwargs.pop("data_format", "channels_last"))
    if isinstance(kwargs.get("input_tensor"), tuple):
        source = framework.Input(shape=kwargs["input_tensor"])
        kwargs["input_tensor"] = framework.layers.Rescaling(1.0, name="before")(source)
    kwargs.setdefault("weights", None)
    return kwargs


def build_both(keras, name: str, kwargs: dict):
    keras.backend.clear_session()
    km = keras_constructor(keras, name)(**_arguments(keras, kwargs))
    nk.backend.clear_session()
    nm = neuronka_constructor(name)(**_arguments(nk, kwargs))
    return km, nm


def parameter_counts(model) -> tuple[int, int]:
    return model.count_params(), sum(int(numpy.prod(w.shape)) for w in model.trainable_weights)


def assert_same_architecture(keras, km, nm) -> None:
    assert nm.name == km.name
    k_names = [op.name for op in km.operations]
    n_names = [layer.name for layer in nm.layers]
    assert n_names == k_names, "layer names or order differ"
    for op, layer in zip(km.operations, nm.layers):
        if isinstance(op, keras.layers.Layer):  # Keras's ops on symbolic tensors are neuronka's OperationLayers
            assert type(layer).__name__ == type(op).__name__, f"{op.name}: class"
            assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in op.weights], \
                f"{op.name}: weight shapes"
    assert parameter_counts(nm) == parameter_counts(km)
    assert [tuple(t.shape) for t in nm.inputs] == [tuple(t.shape) for t in km.inputs]
    assert tuple(nm.output.shape) == tuple(km.output.shape)


# ---------------------------------------------------------------------------------------------------
# architectures: names, order, classes, weight shapes, parameter counts, output shapes
# ---------------------------------------------------------------------------------------------------
def _row(name, kwargs=None, slow=False):
    marks = [keras_api(f"applications.{name}")] + (list(EXHAUSTIVE) if slow else [])
    kwargs = kwargs or {}
    return pytest.param(name, kwargs, marks=marks, id="-".join([name, *(f"{k}={v}" for k, v in kwargs.items())]))


# the default suite: each family's representative with its defaults and one variant each of include_top, pooling,
# input_shape/input_tensor, classes and the data format; the slow suite: more variants, and every other constructor
ARCHITECTURES = [
    _row("MobileNetV3Small"),
    _row("MobileNetV3Small", {"include_top": False, "pooling": "avg", "alpha": 0.75, "input_shape": (96, 96, 3)}),
    _row("EfficientNetB0", {"include_top": False, "pooling": "max", "input_tensor": (48, 64, 3)}),
    _row("EfficientNetV2B0"),
    _row("EfficientNetV2B0", {"data_format": "channels_first", "include_top": False, "input_shape": (3, 64, 64)}),
    _row("ConvNeXtTiny", {"classes": 10, "input_shape": (32, 48, 3)}),
    _row("NASNetMobile", {"include_top": False, "pooling": "avg", "input_shape": (32, 32, 3)}),
    # slow
    _row("MobileNetV3Small", {"classes": 10, "dropout_rate": 0.0, "include_preprocessing": False,
                              "minimalistic": True, "input_shape": (64, 80, 3)}, slow=True),
    _row("MobileNetV3Small", {"include_top": False, "pooling": "max", "input_tensor": (64, 64, 3)}, slow=True),
    _row("MobileNetV3Small", {"data_format": "channels_first", "input_shape": (3, 64, 64)}, slow=True),
    _row("MobileNetV3Large", {"include_top": False, "alpha": 1.25}, slow=True),
    _row("MobileNetV3Large", {"classes": 7, "minimalistic": True, "classifier_activation": None}, slow=True),
    _row("EfficientNetB0", slow=True),
    _row("EfficientNetB0", {"classes": 10, "input_shape": (64, 64, 3)}, slow=True),
    _row("EfficientNetB0", {"data_format": "channels_first", "include_top": False, "input_shape": (3, 64, 64)},
         slow=True),
    _row("EfficientNetV2B0", {"include_top": False, "pooling": "avg", "input_shape": (40, 40, 3),
                              "include_preprocessing": False}, slow=True),
    _row("EfficientNetV2B0", {"include_top": False, "input_shape": (64, 64, 1)}, slow=True),
    _row("ConvNeXtTiny", slow=True),
    _row("ConvNeXtTiny", {"include_top": False, "pooling": "max", "input_shape": (64, 64, 3)}, slow=True),
    _row("ConvNeXtTiny", {"include_top": False, "include_preprocessing": False, "input_shape": (32, 48, 3)},
         slow=True),
    _row("NASNetMobile", slow=True),
    _row("NASNetMobile", {"include_top": False, "pooling": "max"}, slow=True),
    _row("NASNetMobile", {"classes": 10, "input_shape": (64, 64, 3)}, slow=True),
] + [
    row
    for i, name in enumerate(n for n in FAMILIES if n not in REPRESENTATIVES)
    for row in (
        _row(name, {"classes": 10}, slow=True),
        _row(name, {"include_top": False, "pooling": ("avg", "max")[i % 2], "input_shape": (64, 96, 3)}, slow=True),
    )
]


@pytest.mark.parametrize("name, kwargs", ARCHITECTURES)
def test_architecture_matches_keras(keras, name, kwargs):
    km, nm = build_both(keras, name, kwargs)
    assert_same_architecture(keras, km, nm)


# ---------------------------------------------------------------------------------------------------
# predictions after copying Keras's weights
# ---------------------------------------------------------------------------------------------------
def perturb_weights(keras_model, rng) -> None:
    """Variances drawn from U(0.5, 1.5); every other weight initialized to one constant (zeros, ones, LayerScale's
    1e-6, the Normalization statistics) moved by U(−0.1, 0.1)·max(1, |c|), so that copying it matters (then
    :func:`calibrate_batch_norm` replaces BatchNormalization's statistics)."""
    for layer in _leaf_layers(keras_model):
        values = []
        for w in layer.weights:
            v = numpy.asarray(w.numpy())
            if v.dtype.kind == "f":
                if w.path.endswith("variance"):
                    v = rng.uniform(0.5, 1.5, v.shape).astype(v.dtype) * max(1.0, float(v.max()))
                elif numpy.all(v == v.flat[0]):
                    v = v + (rng.uniform(-0.1, 0.1, v.shape) * max(1.0, abs(float(v.flat[0])))).astype(v.dtype)
            values.append(v)
        if values:
            layer.set_weights(values)


def calibrate_batch_norm(keras, model, x) -> None:
    """Every BatchNormalization's moving mean and variance set to the statistics it sees on ``x`` (one call in
    training mode with momentum 0 and the dropout off), the variance plus 1: a deep network with random weights
    then keeps its activations in a sane range in inference, instead of growing block after block until float32
    rounding, amplified, is all one compares (EfficientNetV2-S/M/L reach 1e3..1e9 otherwise)."""
    leaves = list(_leaf_layers(model))
    saved = [(layer, "momentum", layer.momentum) for layer in leaves
             if isinstance(layer, keras.layers.BatchNormalization)]
    saved += [(layer, "rate", layer.rate) for layer in leaves if isinstance(layer, keras.layers.Dropout)]
    for layer, attribute, _ in saved:
        setattr(layer, attribute, 0.0)
    try:
        model(x, training=True)
    finally:
        for layer, attribute, value in saved:
            setattr(layer, attribute, value)
    for layer in leaves:  # variance + 1: a channel nearly constant on this small batch is not blown up either
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma, beta, mean, variance + 1])


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def copy_weights(keras_model, neuronka_model) -> int:
    """Keras's weights into neuronka's layer of the same name (nested models too); the number of arrays copied."""
    copied = 0
    for k_layer in keras_model.layers:
        n_layer = neuronka_model.get_layer(k_layer.name)
        if hasattr(k_layer, "layers") and k_layer.layers:
            copied += copy_weights(k_layer, n_layer)
        elif k_layer.weights:
            n_layer.set_weights(k_layer.get_weights())
            copied += len(k_layer.weights)
    return copied


def compare_predictions(keras, name, kwargs, seed=0) -> float:
    """max |Keras − neuronka| over a batch of two images, after the weight copy (asserted within float32
    rounding of the outputs' scale)."""
    km, nm = build_both(keras, name, kwargs)
    rng = numpy.random.default_rng(seed)
    shape = tuple(kwargs["input_shape"])
    # NASNet takes preprocessed images ([-1, 1]); the others normalize pixels in [0, 255] themselves
    x = rng.uniform(-1, 1, (2, *shape)) if FAMILIES[name] is nasnet else rng.uniform(0, 255, (2, *shape))
    x = x.astype("float32")
    perturb_weights(km, rng)
    calibrate_batch_norm(keras, km, x)
    assert copy_weights(km, nm) == len(nm.weights)
    expected = numpy.asarray(km.predict(x, verbose=0))
    actual = numpy.asarray(nm.predict(x, verbose=0))
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    scale = float(numpy.abs(expected).max())
    numpy.testing.assert_allclose(actual, expected, rtol=0, atol=2e-5 * max(scale, 1.0))
    return float(numpy.abs(actual - expected).max())


PREDICTIONS = [  # the default suite: each representative with its classifier (the whole network)
    pytest.param(name, include_top, id=f"{name}-include_top={include_top}",
                 marks=[keras_api(f"applications.{name}")] + ([] if include_top else list(EXHAUSTIVE)))
    for name in REPRESENTATIVES for include_top in (True, False)
] + [
    pytest.param(name, True, marks=[keras_api(f"applications.{name}"), *EXHAUSTIVE], id=f"{name}-include_top=True")
    for name in FAMILIES if name not in REPRESENTATIVES
]


@pytest.mark.parametrize("name, include_top", PREDICTIONS)
def test_predictions_match_keras_after_weight_copy(keras, name, include_top):
    kwargs = {"input_shape": (32, 32, 3), "include_top": include_top}
    if include_top:  # the logits: softmax over 1000 classes would hide differences in values near 1e-3
        kwargs.update(classes=10, classifier_activation=None)
    compare_predictions(keras, name, kwargs)


# ---------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------
def _message(err: BaseException) -> str:
    return re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"<function \1>", str(err))


ERRORS = [
    ("MobileNetV3Small", {"weights": "no/such/file.h5"}),
    ("MobileNetV3Small", {"weights": "imagenet", "classes": 10}),
    ("MobileNetV3Small", {"input_shape": (16, 64, 3)}),
    ("MobileNetV3Small", {"input_shape": (64, 64, 3), "input_tensor": (32, 48, 3)}),
    ("MobileNetV3Small", {"input_shape": (64, 64, 3), "input_tensor": "array"}),
    ("MobileNetV3Large", {"weights": "imagenet", "alpha": 0.5}),
    ("MobileNetV3Large", {"weights": "imagenet", "minimalistic": True, "alpha": 0.75}),
    ("EfficientNetB0", {"weights": "no/such/file.h5"}),
    ("EfficientNetB0", {"weights": "imagenet", "classes": 10}),
    ("EfficientNetB0", {"weights": "imagenet", "input_shape": (64, 64, 3)}),
    ("EfficientNetB0", {"weights": "imagenet", "include_top": False, "input_shape": (64, 64, 1)}),
    ("EfficientNetB0", {"include_top": False, "input_shape": (16, 64, 3)}),
    ("EfficientNetB0", {"include_top": False, "input_shape": (64, 64)}),
    ("EfficientNetB0", {"input_shape": (None, None, 3)}),
    ("EfficientNetB0", {"include_top": False, "input_tensor": "array"}),
    ("EfficientNetV2B0", {"weights": "no/such/file.h5"}),
    ("EfficientNetV2S", {"weights": "imagenet", "classes": 10}),
    ("EfficientNetV2B0", {"weights": "imagenet", "classifier_activation": "relu"}),
    ("ConvNeXtTiny", {"weights": "no/such/file.h5"}),
    ("ConvNeXtTiny", {"weights": "imagenet", "classes": 10}),
    ("ConvNeXtTiny", {"weights": "imagenet", "include_top": False, "input_shape": (32, 32, 3), "name": "mine"}),
    ("ConvNeXtTiny", {"data_format": "channels_first"}),
    ("NASNetLarge", {"weights": "no/such/file.h5"}),
    ("NASNetLarge", {"weights": "imagenet", "classes": 10}),
    ("NASNetLarge", {"weights": "imagenet", "include_top": False, "input_shape": (None, None, 3)}),
    ("NASNetMobile", {"data_format": "channels_first"}),
]


@pytest.mark.parametrize("name, kwargs", [pytest.param(n, k, marks=keras_api(f"applications.{n}")) for n, k in ERRORS])
def test_bad_arguments_raise_keras_errors(keras, name, kwargs):
    array = numpy.zeros((1, 64, 64, 3), "float32")
    kwargs = {k: array if v == "array" else v for k, v in kwargs.items()}
    keras.backend.clear_session()
    with pytest.raises(Exception) as expected:  # noqa: PT011 - the type is Keras's, compared below
        keras_constructor(keras, name)(**_arguments(keras, kwargs))
    nk.backend.clear_session()
    with pytest.raises(type(expected.value)) as actual:
        neuronka_constructor(name)(**_arguments(nk, kwargs))
    assert type(actual.value) is type(expected.value)
    assert _message(actual.value) == _message(expected.value)


# ---------------------------------------------------------------------------------------------------
# weights: Keras's published files in Keras's cache, offline errors, local files
# ---------------------------------------------------------------------------------------------------
def _keras_weight_file(name: str, include_top: bool, kwargs: dict) -> tuple[str, str, str]:
    """(file name, URL, hash) as Keras's source states them for this constructor."""
    from keras.src.applications import convnext as kc  # noqa: PLC0415
    from keras.src.applications import efficientnet as ke  # noqa: PLC0415
    from keras.src.applications import efficientnet_v2 as ke2  # noqa: PLC0415
    from keras.src.applications import mobilenet_v3 as km3  # noqa: PLC0415
    from keras.src.applications import nasnet as kn  # noqa: PLC0415

    if name.startswith("MobileNetV3"):
        variant = f"{name[11:].lower()}{'_minimalistic' if kwargs.get('minimalistic') else ''}_224_" \
                  f"{kwargs.get('alpha', 1.0)}_float"
        file_name = f"weights_mobilenet_v3_{variant}{'' if include_top else '_no_top_v2'}.h5"
        return file_name, km3.BASE_WEIGHT_PATH + file_name, km3.WEIGHTS_HASHES[variant][0 if include_top else 1]
    if name.startswith("EfficientNetV2"):
        key = name[14:].lower()
        stem = f"efficientnetv2-{key}"
        file_name = stem + (".h5" if include_top else "_notop.h5")
        key = key if key.startswith("b") else f"-{key}"
        return file_name, ke2.BASE_WEIGHTS_PATH + file_name, ke2.WEIGHTS_HASHES[key][0 if include_top else 1]
    if name.startswith("EfficientNet"):
        key = name[12:].lower()
        file_name = f"efficientnet{key}" + (".h5" if include_top else "_notop.h5")
        return file_name, ke.BASE_WEIGHTS_PATH + file_name, ke.WEIGHTS_HASHES[key][0 if include_top else 1]
    if name.startswith("ConvNeXt"):
        key = f"convnext_{name[8:].lower()}"
        file_name = key + (".h5" if include_top else "_notop.h5")
        return file_name, kc.BASE_WEIGHTS_PATH + file_name, kc.WEIGHTS_HASHES[key][0 if include_top else 1]
    # NASNet's hashes are literals inside Keras's builder; its URLs are module constants
    size = "mobile" if name == "NASNetMobile" else "large"
    url = getattr(kn, f"NASNET_{size.upper()}_WEIGHT_PATH{'' if include_top else '_NO_TOP'}")
    hashes = {("mobile", True): "020fb642bf7360b370c678b08e0adf61",
              ("mobile", False): "1ed92395b5b598bdda52abe5c0dbfd63",
              ("large", True): "11577c9a518f0070763c2b964a382f17",
              ("large", False): "d81d89dc07e6e56530c4e77faddd61b5"}
    return f"nasnet_{size}{'' if include_top else '_no_top'}.h5", url, hashes[size, include_top]


OFFLINE = [
    ("MobileNetV3Small", {}),
    ("MobileNetV3Large", {"include_top": False, "alpha": 0.75}),
    ("EfficientNetB0", {"include_top": False}),
    ("EfficientNetV2B0", {}),
    ("ConvNeXtTiny", {"include_top": False}),
    ("NASNetMobile", {}),
    ("NASNetLarge", {"include_top": False}),
]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network (every URL fails) and an empty Keras cache under tmp_path/keras: yields the cache folder."""
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.mark.parametrize("name, kwargs", [pytest.param(n, k, marks=keras_api(f"applications.{n}")) for n, k in OFFLINE])
def test_imagenet_weights_offline_error_says_which_file_to_put_where(keras, offline, name, kwargs):
    file_name, url, file_hash = _keras_weight_file(name, kwargs.get("include_top", True), kwargs)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(OSError) as err:
        warnings.simplefilter("always")
        neuronka_constructor(name)(weights="imagenet", **kwargs)
    message = str(err.value)
    target = offline / "models" / file_name
    for part in (file_name, url, file_hash, str(target)):
        assert part in message
    assert not target.exists() and list((offline / "models").iterdir()) == []  # no partial download left
    if name.startswith("MobileNetV3"):  # Keras's warning: no input shape given, the 224×224 weights are loaded
        assert any("Weights for input shape (224, 224) will be loaded" in str(w.message) for w in caught)


@keras_api("applications.EfficientNetB0")
def test_imagenet_weights_in_the_cache_are_used_without_network(keras, offline, monkeypatch):
    file_name, _, _ = _keras_weight_file("EfficientNetB0", False, {})
    target = offline / "models" / file_name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stand-in for the published HDF5 file")
    # the stand-in's hash replaces the published one; load_weights records what it was given
    monkeypatch.setitem(efficientnet.WEIGHTS_HASHES, "b0",
                        ("unused", hashlib.md5(target.read_bytes()).hexdigest()))  # noqa: S324 - Keras's hash
    loaded = []
    monkeypatch.setattr(nk.Model, "load_weights", lambda self, path, *a, **k: loaded.append(path))
    efficientnet.EfficientNetB0(weights="imagenet", include_top=False, input_shape=(64, 64, 3))
    assert loaded == [str(target)]


def test_weights_path_loads_that_file(tmp_path):
    source = efficientnet_v2.EfficientNetV2B0(weights=None, include_top=False, input_shape=(32, 32, 3))
    rng = numpy.random.default_rng(3)
    source.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in source.get_weights()])
    path = tmp_path / "v2b0.weights.h5"
    source.save_weights(str(path))
    loaded = efficientnet_v2.EfficientNetV2B0(weights=str(path), include_top=False, input_shape=(32, 32, 3))
    for a, b in zip(loaded.get_weights(), source.get_weights()):
        numpy.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------------
# preprocess_input, decode_predictions
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", [
    pytest.param(m, marks=keras_api(f"applications.{m.__name__.rsplit('.', 1)[-1]}.preprocess_input"))
    for m in (mobilenet_v3, efficientnet, efficientnet_v2, convnext)
])
def test_preprocess_input_is_the_identity_as_keras(keras, family):
    x = numpy.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    keras_family = getattr(keras.applications, family.__name__.rsplit(".", 1)[-1])
    numpy.testing.assert_array_equal(family.preprocess_input(x), keras_family.preprocess_input(x))
    assert family.preprocess_input(x) is x


@keras_api("applications.nasnet.preprocess_input", "applications.nasnet.decode_predictions")
def test_nasnet_preprocess_and_decode_as_keras(keras, monkeypatch):
    # Keras would download its class index: give it the packaged copy (the same file, byte for byte, as
    # test_keras_applications_1.py checks with Keras's own hash)
    from keras.src.applications import imagenet_utils as keras_imagenet_utils  # noqa: PLC0415

    from neuronka.applications import imagenet_utils  # noqa: PLC0415

    monkeypatch.setattr(keras_imagenet_utils, "CLASS_INDEX", imagenet_utils.class_index())
    x = numpy.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    numpy.testing.assert_allclose(nasnet.preprocess_input(x.copy()),
                                  keras.applications.nasnet.preprocess_input(x.copy()), rtol=1e-6)
    preds = numpy.random.default_rng(1).dirichlet(numpy.ones(1000), size=2).astype("float32")
    assert nasnet.decode_predictions(preds, top=3) == keras.applications.nasnet.decode_predictions(preds, top=3)
    for family in (mobilenet_v3, efficientnet, efficientnet_v2, convnext):
        assert family.decode_predictions(preds, top=2) == nasnet.decode_predictions(preds, top=2)


# ---------------------------------------------------------------------------------------------------
# ConvNeXt's layers
# ---------------------------------------------------------------------------------------------------
def test_layer_scale_as_keras_and_its_gradients(keras):
    from keras.src.applications.convnext import LayerScale as KerasLayerScale  # noqa: PLC0415

    x = numpy.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype("float32")
    gamma = numpy.random.default_rng(1).normal(size=(5,)).astype("float32")
    k_layer, n_layer = KerasLayerScale(0.5, 5, name="ls"), convnext.LayerScale(0.5, 5, name="ls")
    k_layer.build(x.shape)
    n_layer.build(x.shape)
    numpy.testing.assert_array_equal(n_layer.get_weights()[0], numpy.full(5, 0.5, "float32"))
    k_layer.set_weights([gamma])
    n_layer.set_weights([gamma])
    numpy.testing.assert_allclose(numpy.asarray(n_layer(x).data), numpy.asarray(k_layer(x).detach().cpu()), rtol=1e-6)
    k_config, n_config = k_layer.get_config(), n_layer.get_config()
    for key in ("name", "trainable", "init_values", "projection_dim"):
        assert n_config[key] == k_config[key]
    # y = x ⊙ γ: dL/dx = dL/dy ⊙ γ, dL/dγ = Σ dL/dy ⊙ x over all but the last axis (L = Σ y·g)
    xt = nk.Tensor(x.astype("float64"), requires_grad=True)
    n_layer64 = convnext.LayerScale(0.5, 5, dtype="float64")
    n_layer64.build(x.shape)
    n_layer64.set_weights([gamma.astype("float64")])
    g = numpy.random.default_rng(2).normal(size=x.shape)
    nk.ops.sum(n_layer64(xt) * nk.Tensor(g)).backward()
    numpy.testing.assert_allclose(xt.grad, g * gamma, rtol=1e-12)
    numpy.testing.assert_allclose(n_layer64.gamma.grad, (g * x).sum(axis=(0, 1, 2)), rtol=1e-10)


def test_stochastic_depth_drops_whole_samples_and_rescales(keras):
    from keras.src.applications.convnext import StochasticDepth as KerasStochasticDepth  # noqa: PLC0415

    layer = convnext.StochasticDepth(0.25, name="sd")
    assert layer.get_config()["drop_path_rate"] == KerasStochasticDepth(0.25, name="sd").get_config()["drop_path_rate"]
    x = numpy.random.default_rng(0).uniform(1, 2, (4000, 2, 2, 3)).astype("float32")
    numpy.testing.assert_array_equal(numpy.asarray(layer(x).data), x)  # inference: the identity
    nk.random.set_random_seed(7)
    xt = nk.Tensor(x, requires_grad=True)
    y = layer(xt, training=True)
    out = numpy.asarray(y.data).reshape(len(x), -1)
    kept_rows = numpy.all(out != 0, axis=1)
    assert numpy.all(kept_rows | numpy.all(out == 0, axis=1))  # one decision per sample: kept whole or zeroed
    numpy.testing.assert_allclose(out[kept_rows], x.reshape(len(x), -1)[kept_rows] / 0.75, rtol=1e-6)
    kept = float(numpy.mean(kept_rows))
    assert abs(kept - 0.75) < 0.03  # 4000 Bernoulli(0.75): σ ≈ 0.007
    nk.ops.sum(y).backward()  # dL/dx = ⌊keep + u⌋/keep, the same mask
    mask = numpy.where(kept_rows, 1 / 0.75, 0.0)[:, None, None, None]
    numpy.testing.assert_allclose(xt.grad, numpy.broadcast_to(mask, x.shape), rtol=1e-6)


def test_family_modules_hold_keras_names(keras):
    """``neuronka.applications.<family>`` holds what ``keras.applications.<family>`` exports, and
    ``neuronka.applications`` the 24 constructors."""
    for family in (mobilenet_v3, efficientnet, efficientnet_v2, convnext, nasnet):
        module = family.__name__.rsplit(".", 1)[-1]
        public = [n for n in dir(getattr(keras.applications, module)) if not n.startswith("_")]
        assert public and all(callable(getattr(family, n, None)) for n in public), module
    for name in FAMILIES:
        assert getattr(nk.applications, name) is neuronka_constructor(name)

"""Data stays in the backend's array module (issue #15, item 16).

A stand-in backend: a module that forwards to NumPy but whose functions return ``TrackedArray`` (an ndarray
subclass). Set as the backend's array module (``neuronka.backend.set_array_module``), every weight, state and
batch that neuronka creates or moves must come out a ``TrackedArray``; a plain ``numpy.ndarray`` means some
code called ``numpy`` on data instead of asking the backend (the fall-back a GPU backend would trip on).
Values must equal the NumPy backend's, bit for bit.
"""
from __future__ import annotations

import functools
import types

import numpy
import pytest

import neuronka as keras
from neuronka import backend
from neuronka.autograd import Tensor
from neuronka.layers.base import Variable
from neuronka.models.data_adapters import _EpochIterator, _flat, _make_data


class TrackedArray(numpy.ndarray):
    """An ndarray made by the stand-in backend (NumPy's ufuncs keep the subclass; ``numpy.zeros`` does not)."""


def _track(value):
    if type(value) is numpy.ndarray:
        return value.view(TrackedArray)
    if isinstance(value, tuple):
        return tuple(_track(v) for v in value)
    if isinstance(value, list):
        return [_track(v) for v in value]
    return value


class _TrackedModule(types.ModuleType):
    """NumPy's namespace; its functions return TrackedArray (types, ufuncs and submodules as NumPy's)."""

    def __getattr__(self, name):
        attr = getattr(numpy, name)
        if isinstance(attr, (type, numpy.ufunc, types.ModuleType)) or not callable(attr):
            return attr

        @functools.wraps(attr)
        def tracked(*args, **kwargs):
            return _track(attr(*args, **kwargs))

        return tracked


tracked_numpy = _TrackedModule("tracked_numpy")


@pytest.fixture
def tracked_backend(monkeypatch):
    monkeypatch.setattr(backend, "_array_types", {})
    previous = backend.set_array_module(tracked_numpy, TrackedArray)
    assert backend.array_module() is tracked_numpy
    yield tracked_numpy
    backend.set_array_module(previous)


def _assert_tracked(array, what):
    array = array.data if isinstance(array, Tensor) else array
    kind = f"{type(array).__module__}.{type(array).__name__}"
    assert isinstance(array, TrackedArray), f"{what}: a {kind}, not backend data"


def test_get_array_module_recognizes_the_registered_backend_arrays(tracked_backend):
    a = tracked_numpy.zeros(3)
    assert isinstance(a, TrackedArray)
    assert backend.get_array_module(a) is tracked_numpy
    assert backend.get_array_module(Tensor(a)) is tracked_numpy
    assert backend.get_array_module(numpy.zeros(3)) is numpy
    _assert_tracked(backend.to_backend(numpy.arange(3.0)), "to_backend(host array)")
    _assert_tracked(Tensor([1.0, 2.0]), "Tensor(list)")


def test_variable_creation_and_assign_keep_the_data_on_the_backend(tracked_backend):
    host = numpy.arange(6, dtype="float32").reshape(2, 3)
    v = Variable(host)
    _assert_tracked(v, "Variable(host array)")
    assert not numpy.shares_memory(v.data, host)
    data = v.data
    v.assign(host * 2)
    v.assign([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert v.data is data  # written in place
    numpy.testing.assert_array_equal(numpy.asarray(v.data), [[1, 2, 3], [4, 5, 6]])
    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    for w in layer.weights:
        _assert_tracked(w, f"add_weight {w.path}")
    layer.set_weights([numpy.ones((2, 3), "float32"), numpy.zeros(3, "float32")])
    for w in layer.weights:
        _assert_tracked(w, f"set_weights {w.path}")


INITIALIZERS = [
    ("zeros", (3, 4)), ("ones", (3, 4)), (keras.initializers.Constant(0.5), (3, 4)), ("identity", (3, 4)),
    (keras.initializers.RandomNormal(seed=1), (3, 4)), (keras.initializers.RandomUniform(seed=1), (3, 4)),
    (keras.initializers.TruncatedNormal(seed=1), (3, 4)), (keras.initializers.VarianceScaling(seed=1), (3, 4)),
    (keras.initializers.GlorotNormal(seed=1), (3, 4)), (keras.initializers.GlorotUniform(seed=1), (3, 4)),
    (keras.initializers.HeNormal(seed=1), (3, 4)), (keras.initializers.HeUniform(seed=1), (3, 4)),
    (keras.initializers.LecunNormal(seed=1), (3, 4)), (keras.initializers.LecunUniform(seed=1), (3, 4)),
    (keras.initializers.Orthogonal(seed=1), (3, 4)), (keras.initializers.STFT(), (8, 1, 5)),
    (numpy.arange(12.0).reshape(3, 4), (3, 4)),
]


@pytest.mark.parametrize(("identifier", "shape"), INITIALIZERS, ids=lambda v: getattr(v, "__name__", str(v))[:20])
def test_initializers_return_backend_arrays_equal_to_numpys(identifier, shape, monkeypatch):
    init = keras.initializers.get(identifier)
    on_numpy = init(shape, dtype="float32")
    assert type(on_numpy) is numpy.ndarray
    monkeypatch.setattr(backend, "_array_types", {})
    previous = backend.set_array_module(tracked_numpy, TrackedArray)
    try:
        on_backend = init(shape, dtype="float32")
    finally:
        backend.set_array_module(previous)
    _assert_tracked(on_backend, f"initializer {identifier}")
    assert on_backend.dtype == numpy.float32
    numpy.testing.assert_array_equal(numpy.asarray(on_backend), on_numpy)  # bit-identical


@pytest.mark.parametrize("layer_cls", [keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN])
def test_rnn_initial_states_and_forward_stay_on_the_backend(tracked_backend, layer_cls):
    x = numpy.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    layer = layer_cls(4, return_state=True, return_sequences=True)
    out = layer(x)
    for w in layer.weights:
        _assert_tracked(w, f"{layer_cls.__name__} weight {w.path}")
    for s in layer.get_initial_state(2) if hasattr(layer, "get_initial_state") else []:
        _assert_tracked(s, f"{layer_cls.__name__} initial state")
    for i, t in enumerate(out):
        _assert_tracked(t, f"{layer_cls.__name__} output {i}")
    stateful = layer_cls(4, stateful=True)
    stateful(x)
    for s in stateful.states:
        _assert_tracked(s, f"{layer_cls.__name__} stored state")
    stateful.reset_state([numpy.ones((2, 4), "float32")] * len(stateful.states))
    for s in stateful.states:
        _assert_tracked(s, f"{layer_cls.__name__} state after reset_state")


@pytest.mark.parametrize(("layer", "shape"), [(keras.layers.Dense(4), (2, 3)),
                                              (keras.layers.Conv2D(2, 3, padding="same"), (2, 5, 5, 3))])
def test_dense_conv2d_forward_backward_stay_on_the_backend(tracked_backend, layer, shape):
    layer = type(layer).from_config(layer.get_config())
    x = Tensor(tracked_numpy.asarray(numpy.random.default_rng(0).normal(size=shape).astype("float32")))
    y = layer(x)
    keras.ops.sum(y * y).backward()
    for w in layer.trainable_weights:
        _assert_tracked(w, f"{layer.name} weight {w.path}")
        _assert_tracked(w.grad, f"{layer.name} gradient of {w.path}")
    _assert_tracked(y, f"{layer.name} output")


def test_array_adapter_batches_and_fit_stay_on_the_backend(tracked_backend):
    rng = numpy.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    batches = list(_EpochIterator(_make_data(x, y, batch_size=4, shuffle=True)))
    assert len(batches) == 2
    for step, batch in batches:
        for leaf in _flat(batch):
            if leaf is not None:
                _assert_tracked(leaf, f"batch {step}")

    seen = []

    class Probe(keras.layers.Layer):
        def call(self, inputs):
            seen.append(type(inputs.data))
            return inputs

    model = keras.Sequential([keras.Input((3,)), Probe(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert len(seen) >= 2 and all(t is TrackedArray for t in seen), seen  # the 2 steps (and a build probe)
    for w in model.weights + model.optimizer.variables:
        _assert_tracked(w, f"variable {w.path} after fit")


def test_attention_masks_and_given_normalization_statistics_are_backend_arrays(tracked_backend):
    from neuronka.layers import multi_head_attention as mha

    _assert_tracked(mha.causal_mask(3, 4), "causal mask")
    _assert_tracked(mha.sliding_window_mask(3, 4, 2), "sliding-window mask")
    mask = mha.attention_mask_of(numpy.ones((2, 3)), numpy.ones((2, 4)), None, None, 3, 4, sliding_window=2)
    _assert_tracked(mask, "combined attention mask")
    norm = keras.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    out = norm(numpy.ones((3, 2), "float32"))
    _assert_tracked(out, "Normalization output")
    numpy.testing.assert_allclose(numpy.asarray(out.data)[0], [0.0, -1.0 / 3.0], rtol=1e-6)

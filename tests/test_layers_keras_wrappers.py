"""Wrappers and masking against real Keras (see tests/layer_harness.py): Wrapper, TimeDistributed, Masking,
StackedRNNCells (in ``keras.layers.RNN``), SpectralNormalization, ReversibleEmbedding, and the masks that
Masking and Embedding(mask_zero=True) hand to the recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional)."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .keras_oracle import clear_keras_session, keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .layer_harness_keras import assert_configs_equal, json_normalized
from .test_layers_keras_core import time_mask

SEQ = (3, 5, 4)
RNN_TOL = {"keras_rtol": 1e-4, "keras_atol": 2e-5}


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keras's global name counters back to zero after each test (other tests compare default names)."""
    yield
    clear_keras_session()


def wrapped(inner: str, inner_kwargs: dict, **wrapper_kwargs):
    """The row's ``init_kwargs`` and ``keras_kwargs`` for a wrapper of <inner>(**inner_kwargs) (a fresh inner layer
    each time, on each side)."""

    def ours():
        return {"layer": getattr(layers, inner)(**inner_kwargs), **wrapper_kwargs}

    def theirs(keras):
        return {"layer": getattr(keras.layers, inner)(**inner_kwargs), **wrapper_kwargs}

    return {"init_kwargs": ours, "keras_kwargs": theirs}


def stacked(*cells, **rnn_kwargs):
    """RNN(StackedRNNCells([...])) kwargs on both sides; ``cells``: (class name, kwargs) pairs."""
    def ours():
        return {"cell": layers.StackedRNNCells([getattr(layers, k)(**a) for k, a in cells]), **rnn_kwargs}

    def theirs(keras):
        return {"cell": keras.layers.StackedRNNCells([getattr(keras.layers, k)(**a) for k, a in cells]),
                **rnn_kwargs}

    return {"init_kwargs": ours, "keras_kwargs": theirs}


def indices(high, zero_free=False):
    def make(rng, shape):
        return rng.integers(1 if zero_free else 0, high, shape).astype("int32")

    return make


def padded_steps(value=0.0):
    """Standard normal sequences whose some time steps are all ``value`` (what Masking masks); sample 0
    keeps every step, sample 1 starts with a padded step."""
    def make(rng, shape):
        x = rng.standard_normal(shape).astype(numpy.float32)
        n, t = shape[:2]
        pad = rng.random((n, t)) < 0.4
        pad[0] = False
        if n > 1:
            pad[1, 0] = True
        x[pad] = value
        return x

    return make


def step_mask(rng, shapes):
    """A (batch, time, steps) mask for (batch, time, steps, features) inputs (what Embedding(mask_zero=True) gives
    for (batch, time, steps) indices); every (sample, time) keeps its first step."""
    m = rng.random(shapes[0][:3]) < 0.6
    m[:, :, 0] = True
    return m


def leading_mask(rng, shapes):
    """A (batch, timesteps) mask whose sample 1 starts (and sample 2 ends) with masked steps."""
    n, t = shapes[0][:2]
    m = rng.random((n, t)) < 0.7
    m[0] = True
    m[1, :2] = False
    if n > 2:
        m[2, -2:] = False
    return m


CASES = [
    # ---- TimeDistributed ---------------------------------------------------------------------------------------
    LayerCase("time_distributed_dense", layers.TimeDistributed, input_shape=(2, 4, 5), keras=True,
              **wrapped("Dense", {"units": 3})),
    LayerCase("time_distributed_dense_masked", layers.TimeDistributed, input_shape=(3, 4, 5), keras=True,
              keras_mask_maker=time_mask, **wrapped("Dense", {"units": 2, "activation": "relu"})),
    LayerCase("time_distributed_conv2d", layers.TimeDistributed, input_shape=(2, 3, 5, 5, 2), keras=True,
              **wrapped("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "same"})),
    LayerCase("time_distributed_lstm", layers.TimeDistributed, input_shape=(2, 3, 4, 3), keras=True,
              **wrapped("LSTM", {"units": 2}), **RNN_TOL),
    LayerCase("time_distributed_bidirectional_gru", layers.TimeDistributed, input_shape=(2, 3, 4, 3), keras=True,
              init_kwargs=lambda: {"layer": layers.Bidirectional(layers.GRU(2))},
              keras_kwargs=lambda keras: {"layer": keras.layers.Bidirectional(keras.layers.GRU(2))}, **RNN_TOL),
    LayerCase("time_distributed_embedding", layers.TimeDistributed, input_shape=(2, 3, 4), keras=True,
              input_maker=indices(6), check_input_grads=False,
              **wrapped("Embedding", {"input_dim": 6, "output_dim": 2})),
    LayerCase("time_distributed_batch_norm_training", layers.TimeDistributed, input_shape=(4, 3, 2), keras=True,
              keras_training=True, **wrapped("BatchNormalization", {"momentum": 0.5})),
    LayerCase("time_distributed_global_average_pooling_masked", layers.TimeDistributed, input_shape=(3, 2, 4, 2),
              keras=True, keras_mask_maker=step_mask,
              **wrapped("GlobalAveragePooling1D", {})),
    # ---- Masking ----------------------------------------------------------------------------------------------
    LayerCase("masking", layers.Masking, {}, SEQ, keras=True, input_maker=padded_steps()),
    LayerCase("masking_value", layers.Masking, {"mask_value": -1.0}, (2, 4, 3), keras=True,
              input_maker=padded_steps(-1.0)),
    LayerCase("masking_4d", layers.Masking, {"mask_value": 0.0}, (2, 3, 2, 2), keras=True,
              input_maker=padded_steps()),
    # ---- StackedRNNCells in RNN ------------------------------------------------------------------------------------
    LayerCase("rnn_stacked_lstm_cells", layers.RNN, input_shape=SEQ, keras=True,
              **stacked(("LSTMCell", {"units": 3}), ("LSTMCell", {"units": 2})), **RNN_TOL),
    LayerCase("rnn_stacked_mixed_cells_states_sequences", layers.RNN, input_shape=SEQ, keras=True,
              **stacked(("SimpleRNNCell", {"units": 3}), ("GRUCell", {"units": 2}), ("LSTMCell", {"units": 4}),
                        return_sequences=True, return_state=True), **RNN_TOL),
    LayerCase("rnn_stacked_masked_backwards", layers.RNN, input_shape=SEQ, keras=True, keras_mask_maker=leading_mask,
              **stacked(("GRUCell", {"units": 3, "reset_after": False}), ("SimpleRNNCell", {"units": 2}),
                        return_sequences=True, go_backwards=True), **RNN_TOL),
    LayerCase("rnn_stacked_one_cell_states", layers.RNN, input_shape=SEQ, keras=True,
              **stacked(("LSTMCell", {"units": 2}), return_state=True), **RNN_TOL),
    # ---- SpectralNormalization -----------------------------------------------------------------------------------
    LayerCase("spectral_normalization_dense", layers.SpectralNormalization, input_shape=(3, 4), keras=True,
              keras_training=True, **wrapped("Dense", {"units": 3})),
    LayerCase("spectral_normalization_conv2d_three_iterations", layers.SpectralNormalization,
              input_shape=(2, 5, 5, 2), keras=True, keras_training=True,
              **wrapped("Conv2D", {"filters": 3, "kernel_size": 2}, power_iterations=3)),
    LayerCase("spectral_normalization_embedding", layers.SpectralNormalization, input_shape=(2, 3),
              input_maker=indices(5), check_input_grads=False,
              init_kwargs=lambda: {"layer": layers.Embedding(5, 3)}),  # Keras: see the test of its int output
    # ---- ReversibleEmbedding ---------------------------------------------------------------------------------------
    LayerCase("reversible_embedding", layers.ReversibleEmbedding, {"input_dim": 7, "output_dim": 3}, (2, 4),
              keras=True, input_maker=indices(7), check_input_grads=False),
    LayerCase("reversible_embedding_mask_zero", layers.ReversibleEmbedding,
              {"input_dim": 6, "output_dim": 4, "mask_zero": True, "logit_soft_cap": 5.0, "reverse_dtype": "float64"},
              (3, 4), keras=True, input_maker=indices(6), check_input_grads=False),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()


# ---- float64 central differences (the wrapped layers built in float64 too, which the harness cannot do) -------------
def _float64_layer_gradients_match_central_differences(layer, inputs, rng, eps=1e-6, rtol=1e-4, atol=1e-6):
    """Input and weight gradients of L = Σ g·y (every output) against (L(θ + h) − L(θ − h))/2h, in float64."""
    xs = [numpy.asarray(a, dtype=numpy.float64) for a in inputs]

    def outputs(tensors):
        out = layer(tensors[0] if len(tensors) == 1 else tensors, training=False)
        return [o for o in _flat(out)]

    gys = [rng.standard_normal(o.shape) for o in outputs([nk.Tensor(a) for a in xs])]

    def loss() -> float:
        with nk.no_grad():
            return float(sum((o.numpy() * g).sum() for o, g in zip(outputs([nk.Tensor(a) for a in xs]), gys)))

    tensors = [nk.Tensor(a.copy(), requires_grad=True) for a in xs]
    for w in layer.weights:
        w.grad = None
    total = None
    for o, g in zip(outputs(tensors), gys):
        assert o.dtype == numpy.float64, f"{layer.name}: a float64 layer returned {o.dtype}"
        term = nk.ops.sum(nk.ops.multiply(o, g))
        total = term if total is None else total + term
    total.backward()

    def numeric(array):
        grad = numpy.zeros(array.shape)
        flat, g = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = loss()
            flat[i] = old - eps
            minus = loss()
            flat[i] = old
            g[i] = (plus - minus) / (2 * eps)
        return grad

    for i, (x, t) in enumerate(zip(xs, tensors)):
        numpy.testing.assert_allclose(t.grad, numeric(x), rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    assert layer.trainable_weights, "nothing to check"
    for w in layer.trainable_weights:
        assert w.dtype == numpy.float64, f"{w.path} is {w.dtype}"
        grad = numpy.zeros(w.shape) if w.grad is None else w.grad  # a weight the call does not use: no gradient
        numpy.testing.assert_allclose(grad, numeric(w.data), rtol=rtol, atol=atol, err_msg=f"gradient of {w.path}")


def _flat(struct):
    if isinstance(struct, (list, tuple)):
        return [x for s in struct for x in _flat(s)]
    return [struct]


F64 = {"dtype": "float64"}


@pytest.mark.parametrize("make, shape", [
    pytest.param(lambda: layers.TimeDistributed(layers.Dense(3, **F64), **F64), (2, 3, 4), id="time_distributed_dense"),
    pytest.param(lambda: layers.TimeDistributed(layers.Conv1D(2, 2, **F64), **F64), (2, 2, 4, 2),
                 id="time_distributed_conv1d"),
    pytest.param(lambda: layers.RNN([layers.LSTMCell(2, **F64), layers.GRUCell(2, **F64)], return_sequences=True,
                                    **F64), (2, 3, 2), id="rnn_stacked_cells"),
    pytest.param(lambda: layers.SpectralNormalization(layers.Dense(3, **F64), **F64), (2, 4),
                 id="spectral_normalization_dense"),
    pytest.param(lambda: layers.ReversibleEmbedding(5, 3, logit_soft_cap=2.0, **F64), (2, 3),
                 id="reversible_embedding_reverse_tied"),
    pytest.param(lambda: layers.ReversibleEmbedding(5, 3, tie_weights=False, **F64), (2, 2, 3),
                 id="reversible_embedding_reverse_untied"),
])
def test_float64_gradients_match_central_differences(make, shape):
    rng = numpy.random.default_rng(3)
    layer = make()
    x = rng.standard_normal(shape)
    if isinstance(layer, layers.ReversibleEmbedding):
        layer.build()
        inner = layer

        class Reverse:  # the reverse call, as a one-argument layer for the checker
            name, weights, trainable_weights = inner.name, inner.weights, inner.trainable_weights

            def __call__(self, h, training=False):
                return inner(h, reverse=True)

        layer = Reverse()
    else:
        layer(x)
    for w in layer.weights:
        w.assign(w.numpy() + 0.1 * rng.standard_normal(w.shape))
    _float64_layer_gradients_match_central_differences(layer, [x], rng)


# ---- Wrapper ---------------------------------------------------------------------------------------------------------
@keras_api("layers.Wrapper")
def test_wrapper_base_config_build_and_weights_match_keras():
    keras = keras_or_skip()
    ours = layers.Wrapper(layers.Dense(3, name="inner"))
    theirs = keras.layers.Wrapper(keras.layers.Dense(3, name="inner"))
    assert_configs_equal(ours.get_config(), theirs.get_config(), "Wrapper (unbuilt)")
    ours.build((None, 4))
    theirs.build((None, 4))
    assert ours.layer.built and ours.get_build_config() == theirs.get_build_config() == {"input_shape": (None, 4)}
    assert [w.path.split("/", 1)[1] for w in ours.weights] == [w.path.split("/", 1)[1] for w in theirs.weights]
    assert_configs_equal(ours.get_config(), theirs.get_config(), "Wrapper (built)")
    rebuilt = layers.Wrapper.from_config(json_normalized(theirs.get_config()))
    assert isinstance(rebuilt.layer, layers.Dense) and rebuilt.layer.units == 3
    assert_configs_equal(nk.saving.serialize_keras_object(ours), keras.saving.serialize_keras_object(theirs),
                         "serialize_keras_object(Wrapper)")
    with pytest.raises(NotImplementedError, match="Wrapper"):  # the base has no call (Keras fails with a TypeError)
        ours(numpy.zeros((2, 4), numpy.float32))
    with pytest.raises(ValueError, match="isn't a supported layer type"):
        layers.Wrapper("dense")


# ---- TimeDistributed specifics ---------------------------------------------------------------------------------------
def test_time_distributed_folds_the_steps_into_one_call_and_rejects_bad_inputs():
    calls = []
    dense = layers.Dense(2)
    original = dense.call
    dense.call = lambda x, **kw: calls.append(tuple(x.shape)) or original(x, **kw)
    td = layers.TimeDistributed(dense)
    x = numpy.random.default_rng(0).standard_normal((3, 5, 4)).astype(numpy.float32)
    y = td(x)
    assert calls == [(15, 4)], f"the inner layer ran on {calls}, expected one call on the 15 folded steps"
    for t in range(5):  # the same weights at every step
        numpy.testing.assert_allclose(y.numpy()[:, t], original(nk.Tensor(x[:, t])).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2))(numpy.zeros((2, 4), numpy.float32))
    with pytest.raises(ValueError, match="incompatible with the input shape"):
        td(x, mask=numpy.ones((3, 4), bool))
    with pytest.raises(ValueError, match="keras.layers.Layer` instance"):
        layers.TimeDistributed(lambda x: x)


@keras_api("layers.TimeDistributed", "layers.Dense")
def test_time_distributed_keras_file_round_trip_both_ways(tmp_path):
    keras = keras_or_skip()
    from .test_keras_saving import assert_predictions, h5_tree, predict, randomize  # noqa: PLC0415

    def build(K):
        return K.Sequential([K.Input((4, 5)), K.layers.Masking(),
                             K.layers.TimeDistributed(K.layers.Dense(3, activation="tanh")),
                             K.layers.TimeDistributed(K.layers.Dense(2)), K.layers.GlobalAveragePooling1D()])

    x = numpy.random.default_rng(4).standard_normal((3, 4, 5)).astype(numpy.float32)
    x[1, 2:] = 0.0  # masked steps, left out of the pooling's mean
    km = build(keras)
    randomize(km, seed=5)
    km.save(tmp_path / "k.keras")
    loaded = nk.saving.load_model(tmp_path / "k.keras")
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in km.layers]
    assert_predictions(predict(loaded, x), predict(km, x))
    nm = build(nk)
    randomize(nm, seed=6)
    nm.save(tmp_path / "n.keras")
    assert_predictions(predict(keras.saving.load_model(tmp_path / "n.keras"), x), predict(nm, x))
    nm.save_weights(tmp_path / "n.weights.h5")
    km.save_weights(tmp_path / "k.weights.h5")
    assert h5_tree(str(tmp_path / "n.weights.h5")) == h5_tree(str(tmp_path / "k.weights.h5"))


# ---- ReversibleEmbedding's reverse call ------------------------------------------------------------------------------
@keras_api("layers.ReversibleEmbedding")
@pytest.mark.parametrize("kwargs", [
    {},
    {"tie_weights": False, "logit_soft_cap": 3.0},
    {"logit_soft_cap": 0.5, "reverse_dtype": "float64"},
    {"tie_weights": False, "mask_zero": True, "embeddings_initializer": "glorot_uniform"},
], ids=["tied", "untied_soft_cap", "tied_float64", "untied_mask_zero"])
def test_reversible_embedding_reverse_call_matches_keras(kwargs):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(8)
    ours, theirs = layers.ReversibleEmbedding(6, 4, **kwargs), keras.layers.ReversibleEmbedding(6, 4, **kwargs)
    ids = rng.integers(0, 6, (2, 3)).astype("int32")
    ours(ids)
    theirs(ids)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    for w, kw in zip(ours.weights, theirs.weights):
        w.assign(rng.standard_normal(w.shape).astype(numpy.float32))
        kw.assign(w.numpy())
    assert_configs_equal(ours.get_config(), theirs.get_config(), "ReversibleEmbedding")
    h = rng.standard_normal((2, 3, 4)).astype(numpy.float32)
    th = torch.from_numpy(h).requires_grad_(True)
    y, ky = ours(nk.Tensor(h, requires_grad=True), reverse=True), theirs(th, reverse=True)
    assert_same(y, ky, rtol=1e-5, atol=1e-5, what="reverse logits")
    g = rng.standard_normal(y.shape)
    nk.ops.sum(nk.ops.multiply(y, g.astype(y.dtype))).backward()
    (ky * torch.from_numpy(g.astype(numpy.float32)).to(ky.dtype)).sum().backward()
    for w, kw in zip(ours.weights, theirs.weights):
        if kw.value.grad is None:
            assert w.grad is None, f"{w.path}: a gradient where Keras has none"
        else:
            numpy.testing.assert_allclose(w.grad, kw.value.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=w.path)
    assert list(ours.compute_output_shape((None, 3, 4), reverse=True)) == theirs.compute_output_shape(
        (None, 3, 4), reverse=True)
    sym = ours(layers.Input((3, 4)), reverse=True)
    assert sym.shape == (None, 3, 6)
    forward = ours(ids)
    assert (getattr(forward, "_keras_mask", None) is not None) == bool(kwargs.get("mask_zero"))


def assert_same(actual, expected, **kw):
    from .keras_oracle import assert_same as same  # noqa: PLC0415

    same(actual, expected, **kw)


# ---- SpectralNormalization of an Embedding -------------------------------------------------------------------------
@keras_api("layers.SpectralNormalization", "layers.Embedding")
def test_spectral_normalization_of_embeddings_normalizes_as_keras_but_keeps_float_outputs():
    keras = keras_or_skip()
    rng = numpy.random.default_rng(9)
    ours = layers.SpectralNormalization(layers.Embedding(5, 3), power_iterations=2)
    theirs = keras.layers.SpectralNormalization(keras.layers.Embedding(5, 3), power_iterations=2)
    ids = rng.integers(0, 5, (2, 4)).astype("int32")
    ours(ids)
    theirs(ids)
    for w, kw in zip(ours.weights, theirs.weights):
        kw.assign(w.numpy())
    y = ours(ids, training=True)
    ky = theirs(ids, training=True)
    for w, kw in zip(ours.weights, theirs.weights):  # the normalized embeddings and u, assigned by both
        numpy.testing.assert_allclose(w.numpy(), kw.numpy(), rtol=1e-5, atol=1e-6, err_msg=w.path)
    assert str(ky.dtype) == "torch.int32" and not ky.numpy().any()  # Keras's cast to the indices' dtype
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.numpy(), ours.layer.embeddings.numpy()[ids], rtol=1e-6)
    s = numpy.linalg.svd(ours.layer.embeddings.numpy(), compute_uv=False)[0]
    assert abs(s - 1.0) < 0.1, f"largest singular value {s} after normalization"


@keras_api("layers.SpectralNormalization")
def test_spectral_normalization_leaves_inference_and_zero_kernels_alone_and_checks_arguments():
    rng = numpy.random.default_rng(10)
    layer = layers.SpectralNormalization(layers.Dense(3))
    x = rng.standard_normal((2, 4)).astype(numpy.float32)
    layer(x)
    before = [w.numpy().copy() for w in layer.weights]
    layer(x, training=False)
    for a, w in zip(before, layer.weights):
        numpy.testing.assert_array_equal(a, w.numpy())
    layer.layer.kernel.assign(numpy.zeros((4, 3), numpy.float32))
    u = layer.vector_u.numpy().copy()
    layer(x, training=True)
    assert not layer.layer.kernel.numpy().any() and numpy.array_equal(layer.vector_u.numpy(), u)
    assert [w.name for w in layer.weights] == ["kernel", "vector_u", "bias"]  # Keras's order
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="no attribute 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.ReLU())(x)


# ---- masks from Masking and Embedding(mask_zero=True) through the recurrent layers -----------------------------------
def _copy_weights_into_keras(ours, theirs):
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    for w, kw in zip(ours.weights, theirs.weights):
        kw.assign(w.numpy())


def _chain(layer_list, x):
    for layer in layer_list:
        x = layer(x)
    return x


def _rnn(K, kind, **kw):
    if kind.startswith("Bidirectional"):
        inner = kind.split(":")[1]
        return K.layers.Bidirectional(getattr(K.layers, inner)(3, **kw))
    return getattr(K.layers, kind)(3, **kw)


RNN_KINDS = ["LSTM", "GRU", "SimpleRNN", "Bidirectional:LSTM", "Bidirectional:GRU"]
RNN_OPTIONS = [{}, {"return_sequences": True}, {"go_backwards": True}, {"return_sequences": True, "go_backwards": True},
               {"return_sequences": True, "return_state": True, "go_backwards": True}]


@keras_api("layers.Masking", "layers.Embedding", "layers.LSTM", "layers.GRU", "layers.SimpleRNN",
           "layers.Bidirectional")
@pytest.mark.parametrize("source", ["masking", "embedding"])
@pytest.mark.parametrize("kind", RNN_KINDS)
def test_masks_from_masking_and_embedding_reach_recurrent_layers_as_in_keras(source, kind):
    """The outputs, the attached masks and the weight gradients of <source> → <RNN> equal Keras's, for every
    return_sequences / go_backwards / return_state combination; sample 1 starts with padded steps."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(11)
    if source == "masking":
        x = padded_steps()(rng, (3, 5, 2))
        x[2, -2:] = 0.0

        def first(K):
            return K.layers.Masking()
    else:
        x = rng.integers(1, 7, (3, 5)).astype("int32")
        x[1, :2] = 0
        x[2, 3:] = 0

        def first(K):
            return K.layers.Embedding(7, 2, mask_zero=True)

    for options in RNN_OPTIONS:
        if kind.startswith("Bidirectional") and options.get("go_backwards"):  # an error in both
            with pytest.raises(ValueError, match="go_backwards"):
                _rnn(keras, kind, **options)
            with pytest.raises(ValueError, match="go_backwards"):
                _rnn(nk, kind, **options)
            continue
        ours, theirs = [first(nk), _rnn(nk, kind, **options)], [first(keras), _rnn(keras, kind, **options)]
        _chain(ours, x)
        _chain(theirs, torch.from_numpy(x))
        for a, b in zip(ours, theirs):
            for w in a.weights:
                w.assign(w.numpy() + 0.3 * rng.standard_normal(w.shape).astype(numpy.float32))
            _copy_weights_into_keras(a, b)
        y, ky = _chain(ours, x), _chain(theirs, torch.from_numpy(x))
        ys, kys = _flat(y), _flat(ky)
        what = f"{source} → {kind}({options})"
        assert len(ys) == len(kys), what
        for i, (a, b) in enumerate(zip(ys, kys)):
            numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-4, atol=2e-5,
                                          err_msg=f"{what}: output {i}")
            ma, mb = getattr(a, "_keras_mask", None), getattr(b, "_keras_mask", None)
            assert (ma is None) == (mb is None), f"{what}: output {i} mask {ma} vs Keras's {mb}"
            if mb is not None:
                numpy.testing.assert_array_equal(numpy.asarray(ma), mb.numpy(), err_msg=f"{what}: mask {i}")
        gs = [rng.standard_normal(o.shape).astype(numpy.float32) for o in ys]
        sum(nk.ops.sum(nk.ops.multiply(o, g)) for o, g in zip(ys, gs)).backward()
        sum((o * torch.from_numpy(g)).sum() for o, g in zip(kys, gs)).backward()
        for w, kw in zip(ours[1].weights, theirs[1].weights):
            numpy.testing.assert_allclose(w.grad, kw.value.grad.numpy(), rtol=1e-4, atol=2e-5,
                                          err_msg=f"{what}: gradient of {w.path}")
        keras.backend.clear_session(free_memory=False)


@keras_api("layers.LSTM", "layers.GRU", "layers.SimpleRNN", "layers.RNN")
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN", "SimpleRNN:softsign"])
@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"return_sequences": True, "go_backwards": True}],
                         ids=["last", "sequences", "sequences_backwards"])
def test_initial_state_with_leading_masked_steps_gives_zero_outputs_as_keras(kind, options):
    """Before a sequence's first unmasked step Keras's (torch) outputs are zeros, not the initial state; the fused
    ops and the step loop (softsign is not fused) both agree with it."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(12)
    name, _, activation = kind.partition(":")
    kw = dict(options, **({"activation": activation} if activation else {}))
    x = rng.standard_normal((3, 4, 2)).astype(numpy.float32)
    mask = numpy.array([[0, 1, 1, 0], [0, 0, 0, 0], [1, 1, 0, 1]], bool)
    states = [rng.standard_normal((3, 3)).astype(numpy.float32) for _ in range(2 if name == "LSTM" else 1)]
    ours, theirs = getattr(layers, name)(3, **kw), getattr(keras.layers, name)(3, **kw)
    ours(x, initial_state=states)
    theirs(torch.from_numpy(x), initial_state=[torch.from_numpy(s) for s in states])
    _copy_weights_into_keras(ours, theirs)
    y = ours(x, initial_state=states, mask=mask)
    ky = theirs(torch.from_numpy(x), initial_state=[torch.from_numpy(s) for s in states], mask=torch.from_numpy(mask))
    numpy.testing.assert_allclose(y.numpy(), ky.detach().numpy(), rtol=1e-5, atol=1e-6)


# ---- StackedRNNCells on its own --------------------------------------------------------------------------------------
@keras_api("layers.StackedRNNCells", "layers.RNN")
def test_stacked_rnn_cells_config_step_and_states_match_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(13)
    ours = layers.StackedRNNCells([layers.SimpleRNNCell(3), layers.LSTMCell(2, recurrent_dropout=0.1)])
    theirs = keras.layers.StackedRNNCells([keras.layers.SimpleRNNCell(3),
                                           keras.layers.LSTMCell(2, recurrent_dropout=0.1)])
    assert_configs_equal(ours.get_config(), theirs.get_config(), "StackedRNNCells (unbuilt)")
    assert ours.state_size == theirs.state_size == [3, [2, 2]] and ours.output_size == theirs.output_size == 2
    ours.build((4, 5))
    theirs.build((4, 5))
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    _copy_weights_into_keras(ours, theirs)
    assert_configs_equal(ours.get_config(), theirs.get_config(), "StackedRNNCells (built)")
    rebuilt = layers.StackedRNNCells.from_config(json_normalized(theirs.get_config()))
    assert [type(c).__name__ for c in rebuilt.cells] == ["SimpleRNNCell", "LSTMCell"]
    x = rng.standard_normal((4, 5)).astype(numpy.float32)
    states = [[rng.standard_normal((4, 3)).astype(numpy.float32)],
              [rng.standard_normal((4, 2)).astype(numpy.float32) for _ in range(2)]]
    y, new = ours.call(nk.Tensor(x), [[nk.Tensor(s) for s in group] for group in states])
    ky, knew = theirs.call(torch.from_numpy(x), [[torch.from_numpy(s) for s in group] for group in states])
    numpy.testing.assert_allclose(y.numpy(), ky.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert [len(g) for g in new] == [len(g) for g in knew] == [1, 2]
    for a, b in zip(_flat(new), _flat(knew)):
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    initial = ours.get_initial_state(batch_size=4)
    assert [[tuple(s.shape) for s in _flat(g)] for g in initial] == [[(4, 3)], [(4, 2), (4, 2)]]
    with pytest.raises(ValueError, match="`state_size`"):
        layers.StackedRNNCells([layers.LSTMCell(2), layers.Dense(2)])

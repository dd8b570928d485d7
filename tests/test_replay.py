"""Inference plans (neuronka/models/replay.py): a recorded forward replayed on arrays gives the ordinary path's
outputs, follows weight changes, and is refused wherever it could not be trusted."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers, ops
from neuronka.autograd import Tensor, no_grad
from neuronka.models import replay


def _ordinary(model, x):
    with no_grad():
        out = model(Tensor(x), training=False)
    return [t.numpy() for t in out] if isinstance(out, (list, tuple)) else out.numpy()


def _residual_model(seed=0):
    nk.initializers.set_seed(seed)
    inp = nk.Input((8, 8, 3))
    h = layers.Conv2D(4, 3, padding="same", use_bias=False)(inp)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu")(h)
    s = layers.Conv2D(4, 1)(inp)
    h = layers.Add()([h, s])
    h = layers.MaxPooling2D(2)(h)
    h = layers.GlobalAveragePooling2D()(h)
    return nk.Model(inp, [layers.Dense(3, activation="softmax")(h), layers.Dense(2)(h)])


def _close(a, b):
    """Plans fold batch norms into convolutions (replay.FoldedConv): float32 rounding differs, by no more
    than the plan's own check allows."""
    assert a.shape == b.shape and a.dtype == b.dtype
    numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _x(shape, seed=1):
    return numpy.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_plan_replays_the_ordinary_forward_and_is_used():
    model = _residual_model()
    x = _x((5, 8, 8, 3))
    first = model.predict_on_batch(x)
    assert isinstance(model._inference_plans[((5, 8, 8, 3), "<f4")], replay.Plan)
    for xb in (x, _x((5, 8, 8, 3), seed=2)):
        got, expected = model.predict_on_batch(xb), _ordinary(model, xb)
        assert len(got) == 2
        for a, b in zip(got, expected):
            _close(a, b)
    for a, b in zip(first, _ordinary(model, x)):
        _close(a, b)
    # predict() over batches takes the plans too (one per batch shape)
    out = model.predict(_x((12, 8, 8, 3), seed=3), batch_size=5, verbose=0)
    assert out[0].shape == (12, 3) and ((2, 8, 8, 3), "<f4") in model._inference_plans


def test_plan_reads_the_weights_at_every_replay():
    model = _residual_model()
    model.compile(optimizer=nk.optimizers.SGD(0.5), loss=["sparse_categorical_crossentropy", "mse"])
    x = _x((4, 8, 8, 3))
    model.predict_on_batch(x)
    model.set_weights([w * 1.5 + 0.1 for w in model.get_weights()])
    for a, b in zip(model.predict_on_batch(x), _ordinary(model, x)):
        _close(a, b)
    model.train_on_batch(x, [numpy.array([0, 1, 2, 0]), numpy.zeros((4, 2), "float32")])
    for a, b in zip(model.predict_on_batch(x), _ordinary(model, x)):
        _close(a, b)


def test_no_plan_for_user_layers_masks_or_integer_inputs():
    class Scale(layers.Layer):  # a user's layer: its call might branch on the data
        def call(self, x):
            return x * 2.0

    user = nk.Sequential([nk.Input((4,)), Scale(), layers.Dense(2)])
    numpy.testing.assert_array_equal(user.predict_on_batch(_x((3, 4))), _ordinary(user, _x((3, 4))))
    assert not user._plans_apply and not user.__dict__.get("_inference_plans")

    masked = nk.Sequential([nk.Input((5,), dtype="int32"), layers.Embedding(10, 3, mask_zero=True), layers.LSTM(4)])
    ids = numpy.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    numpy.testing.assert_array_equal(masked.predict_on_batch(ids), _ordinary(masked, ids))
    assert not masked.__dict__.get("_inference_plans")  # integer inputs: the ordinary path

    tokens = nk.Sequential([nk.Input((6,), dtype="int32"), layers.Embedding(10, 3), layers.GlobalAveragePooling1D()])
    ids = numpy.arange(12).reshape(2, 6) % 10
    numpy.testing.assert_array_equal(tokens.predict_on_batch(ids), _ordinary(tokens, ids))
    assert not tokens.__dict__.get("_inference_plans")


def test_the_check_refuses_a_plan_that_froze_a_branch(monkeypatch):
    class Branchy(nk.Model):  # Python control flow on the data: a plan would keep the recorded branch
        def call(self, x):
            return ops.relu(x) if x.data.min() > 0 else ops.negative(x)

    monkeypatch.setattr(replay, "_built_in", lambda model: True)
    model = Branchy()
    model.predict_on_batch(_x((1, 4)))  # builds the model (a plan is recorded only for a built one)
    x = numpy.abs(_x((3, 4))) + 0.5  # recorded on the relu branch
    numpy.testing.assert_array_equal(model.predict_on_batch(x), x)
    assert model._inference_plans[((3, 4), "<f4")] is False  # the second input took the other branch
    x2 = _x((3, 4))
    numpy.testing.assert_array_equal(model.predict_on_batch(x2), -x2)


def test_an_array_of_unknown_origin_is_refused_at_recording(monkeypatch):
    class Outside(nk.Model):  # computes with NumPy outside the Functions: a plan would replay a stale array
        def call(self, x):
            return ops.add(x, Tensor(numpy.maximum(x.data, 0.0)))

    monkeypatch.setattr(replay, "_built_in", lambda model: True)
    model = Outside()
    model.predict_on_batch(_x((1, 4)))
    x = _x((3, 4))
    numpy.testing.assert_array_equal(model.predict_on_batch(x), x + numpy.maximum(x, 0))
    assert model._inference_plans[((3, 4), "<f4")] is False


@pytest.mark.parametrize("how", ["attribute", "environment"])
def test_plans_can_be_switched_off(monkeypatch, how):
    model = _residual_model()
    if how == "attribute":
        model.use_inference_plans = False
    else:
        monkeypatch.setattr(replay, "_ENABLED", False)
    model.predict_on_batch(_x((2, 8, 8, 3)))
    assert not model.__dict__.get("_inference_plans")


@pytest.mark.parametrize("relu", [True, False])
def test_conv_batch_norm_relu_chains_are_folded_into_one_step(relu):
    nk.initializers.set_seed(3)
    inp = nk.Input((9, 9, 3))
    h = layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    h = layers.BatchNormalization()(h)
    if relu:
        h = layers.Activation("relu")(h)
    out = layers.GlobalAveragePooling2D()(h)
    model = nk.Model(inp, out)
    bn = model.layers[2]
    rng = numpy.random.default_rng(0)  # statistics and parameters away from 0 / 1
    bn.set_weights([rng.uniform(0.5, 2, 16).astype("float32"), rng.normal(0, 1, 16).astype("float32"),
                    rng.normal(0, 1, 16).astype("float32"), rng.uniform(0.5, 2, 16).astype("float32")])
    x = _x((4, 9, 9, 3))
    model.predict_on_batch(x)
    plan = model.__dict__["_inference_plans"][(x.shape, x.dtype.str)]
    kinds = [cls.__name__ for cls, _, _ in plan.steps]
    assert kinds.count("FoldedConv") == 1 and "BatchNormalization" not in kinds and "Relu" not in kinds, kinds
    _close(model.predict_on_batch(x), _ordinary(model, x))


def test_no_folding_where_an_intermediate_has_another_reader():
    nk.initializers.set_seed(4)
    inp = nk.Input((6, 6, 3))
    c = layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    b = layers.BatchNormalization()(c)
    out = layers.Add()([layers.Activation("relu")(b), b])  # the batch norm's output read twice
    model = nk.Model(inp, layers.GlobalAveragePooling2D()(out))
    x = _x((2, 6, 6, 3))
    model.predict_on_batch(x)
    plan = model.__dict__["_inference_plans"][(x.shape, x.dtype.str)]
    kinds = [cls.__name__ for cls, _, _ in plan.steps]
    assert kinds.count("FoldedConv") == 1 and "Relu" in kinds, kinds  # conv + BN folded, the ReLU kept
    _close(model.predict_on_batch(x), _ordinary(model, x))
    # a convolution read twice is not folded at all
    inp = nk.Input((6, 6, 3))
    c = layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    out = layers.Add()([layers.BatchNormalization()(c), c])
    model = nk.Model(inp, layers.GlobalAveragePooling2D()(out))
    model.predict_on_batch(x)
    plan = model.__dict__["_inference_plans"][(x.shape, x.dtype.str)]
    assert "FoldedConv" not in [cls.__name__ for cls, _, _ in plan.steps]
    _close(model.predict_on_batch(x), _ordinary(model, x))


def test_no_folding_where_the_kernel_outweighs_the_output():
    # batch 1 on a 2x2 image: 3*3*32*64 kernel elements against 2*2*64 outputs; refolding the kernel at every
    # replay would cost more than the two passes it saves
    nk.initializers.set_seed(5)
    inp = nk.Input((2, 2, 32))
    h = layers.Activation("relu")(layers.BatchNormalization()(layers.Conv2D(64, 3, padding="same",
                                                                             use_bias=False)(inp)))
    model = nk.Model(inp, layers.GlobalAveragePooling2D()(h))
    x = _x((1, 2, 2, 32))
    model.predict_on_batch(x)
    plan = model.__dict__["_inference_plans"][(x.shape, x.dtype.str)]
    kinds = [cls.__name__ for cls, _, _ in plan.steps]
    assert "FoldedConv" not in kinds and "BatchNormalization" in kinds, kinds
    x64 = _x((128, 2, 2, 32))  # at batch 128 the output (32768) outnumbers the kernel (18432): folded
    model.predict_on_batch(x64)
    plan = model.__dict__["_inference_plans"][(x64.shape, x64.dtype.str)]
    assert "FoldedConv" in [cls.__name__ for cls, _, _ in plan.steps]
    _close(model.predict_on_batch(x64), _ordinary(model, x64))

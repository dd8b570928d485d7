"""Models: Sequential / functional / subclassed, compile-fit-evaluate-predict, summary, configs.

One builder makes the same MLP in the three styles (``KINDS``); most tests run over all three.
"""
from __future__ import annotations

import json
import re

import numpy
import pytest

import neuronka as nk
from neuronka import callbacks, layers, losses, metrics, optimizers, regularizers
from neuronka.models import Model, Sequential
from neuronka.utils import Progbar, PyDataset
from tests.helpers import torch_or_skip

RNG = numpy.random.default_rng(0)
X = RNG.standard_normal((120, 6)).astype("float32")
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype("int64") + (X[:, 2] > 1).astype("int64")  # 3 classes


class MLP(Model):
    def __init__(self, hidden=8, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden_layer = layers.Dense(hidden, activation="relu")
        self.out_layer = layers.Dense(classes, activation="softmax")

    def call(self, inputs):
        return self.out_layer(self.hidden_layer(inputs))


def make_mlp(kind: str, n_in: int = 6, hidden: int = 8, classes: int = 3) -> Model:
    if kind == "sequential":
        return Sequential([layers.Input((n_in,)), layers.Dense(hidden, activation="relu"),
                           layers.Dense(classes, activation="softmax")])
    if kind == "functional":
        inp = layers.Input((n_in,))
        out = layers.Dense(classes, activation="softmax")(layers.Dense(hidden, activation="relu")(inp))
        return Model(inp, out)
    model = MLP(hidden, classes)
    model.build((None, n_in))
    return model


KINDS = ["sequential", "functional", "subclassed"]


def compiled(kind, lr=0.05, metrics_=("accuracy",), **kw):
    model = make_mlp(kind, **kw)
    model.compile(optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=list(metrics_))
    return model


# ----------------------------------------------------------------------------------
# the three kinds agree
# ----------------------------------------------------------------------------------
def test_three_kinds_give_identical_outputs_and_training_with_the_same_weights():
    models = {k: compiled(k) for k in KINDS}
    weights = models["sequential"].get_weights()
    for m in models.values():
        m.set_weights(weights)
    preds = {k: m.predict(X, verbose=0) for k, m in models.items()}
    for k in KINDS[1:]:
        numpy.testing.assert_array_equal(preds[k], preds["sequential"])
    hist = {k: m.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0).history for k, m in models.items()}
    for k in KINDS[1:]:
        assert hist[k] == hist["sequential"]
        for a, b in zip(models[k].get_weights(), models["sequential"].get_weights()):
            numpy.testing.assert_array_equal(a, b)


def test_one_epoch_of_sgd_matches_torch():
    torch = torch_or_skip()
    model = make_mlp("sequential")
    model.layers[-1].activation = nk.activations.get("linear")
    model.compile(optimizers.SGD(0.1), losses.SparseCategoricalCrossentropy(from_logits=True))
    w1, b1, w2, b2 = (torch.tensor(w.copy(), requires_grad=True) for w in model.get_weights())
    model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=0.1)
    for i in range(0, len(X), 16):
        xb, yb = torch.tensor(X[i:i + 16]), torch.tensor(Y[i:i + 16])
        loss = torch.nn.functional.cross_entropy(torch.relu(xb @ w1 + b1) @ w2 + b2, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for ours, theirs in zip(model.get_weights(), (w1, b1, w2, b2)):
        numpy.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------
# fit / evaluate / predict
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_fit_evaluate_predict_shapes_and_history_keys(kind):
    model = compiled(kind)
    history = model.fit(X, Y, batch_size=32, epochs=3, validation_data=(X[:20], Y[:20]), verbose=0)
    assert history is model.history
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"] or set(
        history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    loss, acc = model.evaluate(X, Y, verbose=0)
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert logs == {"loss": loss, "accuracy": acc}
    assert model.predict(X, batch_size=7, verbose=0).shape == (120, 3)
    assert model.predict_on_batch(X[:5]).shape == (5, 3)


def test_evaluate_without_metrics_returns_the_loss_alone():
    model = make_mlp("sequential")
    model.compile("adam", "sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(X, Y, verbose=0), float)


def test_loss_is_the_batch_size_weighted_mean_of_batch_losses():
    model = compiled("sequential", lr=0.0)
    total = model.evaluate(X, Y, batch_size=50, verbose=0)[0]  # batches of 50, 50, 20
    per_batch = [model.evaluate(X[i:i + 50], Y[i:i + 50], batch_size=50, verbose=0)[0] for i in (0, 50, 100)]
    numpy.testing.assert_allclose(total, numpy.average(per_batch, weights=[50, 50, 20]), rtol=1e-6)


def test_validation_split_holds_out_the_last_fraction_before_shuffling():
    model = compiled("functional", lr=0.0)  # no learning: validation sees the initial weights
    steps = []

    class Steps(callbacks.Callback):
        def on_train_begin(self, logs=None):
            steps.append(self.params["steps"])

    history = model.fit(X, Y, batch_size=10, epochs=1, validation_split=0.25, shuffle=True, verbose=0,
                        callbacks=[Steps()])
    assert steps == [9]  # 90 training samples in batches of 10
    last = model.evaluate(X[90:], Y[90:], verbose=0)[0]
    first = model.evaluate(X[:30], Y[:30], verbose=0)[0]
    assert history.history["val_loss"][0] == pytest.approx(last, rel=1e-6)
    assert history.history["val_loss"][0] != pytest.approx(first, rel=1e-3)


def test_validation_freq_and_initial_epoch():
    model = compiled("sequential")
    h = model.fit(X, Y, epochs=4, initial_epoch=1, validation_data=(X, Y), validation_freq=2, verbose=0)
    assert h.epoch == [1, 2, 3]
    assert len(h.history["loss"]) == 3 and len(h.history["val_loss"]) == 2  # after epochs 2 and 4 (1-based)


def _per_sample_ce(model, x, y):
    p = model.predict(x, verbose=0)
    return -numpy.log(numpy.clip(p[numpy.arange(len(y)), y], 1e-7, 1 - 1e-7))


def test_class_weight_and_sample_weight_scale_each_sample_loss_as_keras():
    model = compiled("sequential", lr=0.0)
    ce = _per_sample_ce(model, X, Y)
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    w = numpy.array([class_weight[c] for c in Y], dtype="float32")
    expected = float((ce * w).sum() / len(Y))  # sum_over_batch_size: Σ wᵢlᵢ / N (not / Σ wᵢ)
    loss = model.train_on_batch(X, Y, class_weight=class_weight)[0]
    numpy.testing.assert_allclose(loss, expected, rtol=1e-5)
    model.reset_metrics()
    numpy.testing.assert_allclose(model.train_on_batch(X, Y, sample_weight=w)[0], expected, rtol=1e-5)
    numpy.testing.assert_allclose(model.evaluate(X, Y, sample_weight=w, batch_size=len(X), verbose=0)[0],
                                  expected, rtol=1e-5)
    with pytest.raises(ValueError, match="class_weight.*sample_weight"):
        model.fit(X, Y, class_weight=class_weight, sample_weight=w, verbose=0)


def test_train_on_batch_steps_the_optimizer_and_metrics_accumulate_until_reset():
    model = compiled("subclassed", lr=0.1)
    before = model.get_weights()
    logs = model.train_on_batch(X[:40], Y[:40], return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert any(not numpy.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 1
    model.train_on_batch(X[40:], Y[40:])
    assert model._loss_tracker.count == 120  # accumulated over both calls (Keras 3)
    model.reset_metrics()
    assert model._loss_tracker.count == 0
    assert len(model.test_on_batch(X, Y)) == 2


def test_generator_iterable_and_pydataset_inputs():
    def gen():
        while True:
            for i in range(0, 120, 30):
                yield X[i:i + 30], Y[i:i + 30]

    model = compiled("sequential")
    h = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2

    class Batches:  # re-iterable: restarted every epoch
        def __iter__(self):
            return ((X[i:i + 30], Y[i:i + 30]) for i in range(0, 120, 30))

    h = model.fit(Batches(), epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    logs = model.evaluate(Batches(), verbose=0, return_dict=True)
    numpy.testing.assert_allclose(logs["loss"], model.evaluate(X, Y, verbose=0)[0], rtol=1e-5)

    class Data(PyDataset):
        def __init__(self):
            super().__init__()
            self.epochs_ended = 0

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return X[i * 30:(i + 1) * 30], Y[i * 30:(i + 1) * 30], numpy.ones(30, "float32")

        def on_epoch_end(self):
            self.epochs_ended += 1

    data = Data()
    h = model.fit(data, epochs=3, validation_data=Data(), verbose=0)
    assert data.epochs_ended == 3 and "val_loss" in h.history
    assert model.predict(iter([X[:10], X[10:25]]), verbose=0).shape == (25, 3)


def test_finite_generator_runs_out_and_training_stops_with_a_warning():
    model = compiled("sequential")
    gen = ((X[i:i + 40], Y[i:i + 40]) for i in range(0, 120, 40))
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(gen, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1


def test_fit_with_x_and_y_of_different_lengths_names_both_sizes():
    model = compiled("sequential")
    with pytest.raises(ValueError, match=r"(?s)'x' sizes: 120.*'y' sizes: 90"):
        model.fit(X, Y[:90], verbose=0)


def test_fit_before_compile_is_an_error():
    with pytest.raises(ValueError, match="compile"):
        make_mlp("sequential").fit(X, Y, verbose=0)


def test_a_dense_fed_another_feature_size_after_build_is_an_error():
    model = compiled("sequential")
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 6"):
        model.predict(numpy.zeros((4, 5), "float32"), verbose=0)
    dense = layers.Dense(3)
    dense(numpy.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="dense.*value 4.*shape \\(2, 7\\)"):
        dense(numpy.zeros((2, 7), "float32"))


# ----------------------------------------------------------------------------------
# several outputs, shared layers, residuals, nesting
# ----------------------------------------------------------------------------------
def two_output_model():
    inp = layers.Input((6,), name="features")
    h = layers.Dense(8, activation="relu", name="trunk")(inp)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    return Model(inp, [cls, reg])


def test_several_outputs_with_dict_losses_loss_weights_and_metrics():
    model = two_output_model()
    assert model.output_names == ["cls", "reg"]
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    y_reg = X[:, :1] * 2
    h = model.fit(X, {"cls": Y, "reg": y_reg}, epochs=2, verbose=0)
    assert set(h.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"}
    logs = model.evaluate(X, [Y, y_reg], verbose=0, return_dict=True)
    numpy.testing.assert_allclose(logs["loss"], logs["cls_loss"] + 0.5 * logs["reg_loss"], rtol=1e-5)
    p_cls, p_reg = model.predict(X, verbose=0)
    numpy.testing.assert_allclose(logs["reg_loss"], ((p_reg - y_reg) ** 2).mean(), rtol=1e-4)
    assert p_cls.shape == (120, 3) and p_reg.shape == (120, 1)


def test_list_losses_and_a_missing_output_key_error():
    model = two_output_model()
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"])
    model.fit(X, [Y, X[:, :1]], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="key 'nope' does not correspond to any model output"):
        model.compile("sgd", loss={"cls": "mse", "nope": "mse"})
        model.fit(X, [Y, X[:, :1]], epochs=1, verbose=0)


def test_shared_layer_is_one_layer_with_two_nodes():
    a, b = layers.Input((4,), name="a"), layers.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    out = layers.Concatenate(name="concat")([shared(a), shared(b)])
    model = Model([a, b], out)
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "concat"]
    assert len(model.weights) == 2
    xa, xb = RNG.standard_normal((5, 4)).astype("float32"), RNG.standard_normal((5, 4)).astype("float32")
    k, bias = shared.get_weights()
    numpy.testing.assert_allclose(model.predict([xa, xb], verbose=0),
                                  numpy.concatenate([xa @ k + bias, xb @ k + bias], -1), rtol=1e-5)
    numpy.testing.assert_allclose(model.predict({"a": xa, "b": xb}, verbose=0),
                                  model.predict([xa, xb], verbose=0))
    text = []
    model.summary(print_fn=text.append, line_length=120)
    assert "Connected to" in text[0] and "shared[0][0], shared[1][0]" in text[0]


def test_residual_add_is_x_plus_f_x():
    inp = layers.Input((6,))
    h = layers.Dense(6, activation="tanh")(inp)
    out = layers.Add()([inp, h])
    model = Model(inp, out)
    k, b = model.layers[1].get_weights()
    numpy.testing.assert_allclose(model.predict(X, verbose=0), X + numpy.tanh(X @ k + b), rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    model.fit(X, X, epochs=1, verbose=0)


def test_models_nest_as_layers_of_functional_models():
    inner = make_mlp("functional")
    seq = Sequential([layers.Dense(6, activation="relu")])
    inp = layers.Input((6,))
    out = inner(seq(inp))
    outer = Model(inp, out)
    assert outer.layers[1] is seq and outer.layers[2] is inner
    numpy.testing.assert_allclose(outer.predict(X, verbose=0), inner.predict(seq.predict(X, verbose=0), verbose=0),
                                  rtol=1e-5)
    outer.compile("adam", "sparse_categorical_crossentropy")
    outer.fit(X, Y, epochs=1, verbose=0)


def test_subclass_calling_model_init_with_inputs_and_outputs_is_functional():
    class Wrapped(Model):
        def __init__(self):
            inp = layers.Input((6,))
            super().__init__(inputs=inp, outputs=layers.Dense(2)(inp))

    model = Wrapped()
    assert isinstance(model, nk.models.Functional) and model.name == "wrapped"
    assert model.predict(X, verbose=0).shape == (120, 2)


def test_graph_disconnected_is_an_error():
    a, b = layers.Input((3,)), layers.Input((3,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(a, out)


# ----------------------------------------------------------------------------------
# Sequential semantics
# ----------------------------------------------------------------------------------
def test_sequential_builds_eagerly_from_input_or_input_shape_else_on_first_call():
    m1 = Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    assert m1.built and len(m1.weights) == 4 and m1.output_shape == (None, 2)
    m2 = Sequential()
    m2.add(layers.Input((3,)))
    m2.add(layers.Dense(4))
    assert m2.built and m2.layers[0].kernel.shape == (3, 4)
    m3 = Sequential([layers.Dense(4), layers.Dense(2)])
    assert not m3.built and m3.weights == []
    assert m3(numpy.zeros((5, 3), "float32")).shape == (5, 2)
    assert m3.built and len(m3.weights) == 4
    assert len(m3.layers) == 2  # the InputLayer made on build is not listed


def test_sequential_add_pop_and_errors():
    model = Sequential([layers.Input((3,)), layers.Dense(4, name="a")])
    model.add(layers.Dense(2, name="b"))
    assert [la.name for la in model.layers] == ["a", "b"] and model.output_shape == (None, 2)
    assert model.pop().name == "b" and model.output_shape == (None, 4)
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="a"))
    with pytest.raises(ValueError, match="Only instances of `keras.Layer`"):
        model.add("dense")
    with pytest.raises(ValueError, match="already been configured to use input shape"):
        model.add(layers.Input((5,)))
    assert [la.name for la in model.layers] == ["a"]


def test_get_layer_by_name_and_index():
    model = make_mlp("functional")
    assert model.get_layer(index=1) is model.layers[1]
    assert model.get_layer(name=model.layers[2].name) is model.layers[2]
    with pytest.raises(ValueError, match="No such layer: nope. Existing layers are"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only has 3 layers"):
        model.get_layer(index=7)


# ----------------------------------------------------------------------------------
# losses, constraints, callbacks, training flag, metrics resolution
# ----------------------------------------------------------------------------------
def test_regularization_losses_are_added_to_the_loss():
    model = Sequential([layers.Input((6,)), layers.Dense(3, activation="softmax",
                                                         kernel_regularizer=regularizers.L2(0.1))])
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    ce = _per_sample_ce(model, X, Y).mean()
    penalty = 0.1 * (model.layers[0].kernel.numpy() ** 2).sum()
    numpy.testing.assert_allclose(model.evaluate(X, Y, batch_size=len(X), verbose=0), ce + penalty, rtol=1e-5)


def test_weight_constraints_are_applied_after_each_step():
    model = Sequential([layers.Input((6,)), layers.Dense(3, kernel_constraint="non_neg")])
    model.compile(optimizers.SGD(0.5), "mse")
    model.fit(X, RNG.standard_normal((120, 3)).astype("float32") - 3, epochs=1, verbose=0)
    assert (model.layers[0].kernel.numpy() >= 0).all()


def test_stop_training_from_a_callback_ends_fit():
    class StopAtBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = compiled("sequential")
    h = model.fit(X, Y, batch_size=10, epochs=5, callbacks=[StopAtBatch()], verbose=0)
    assert h.epoch == [0] and model.optimizer.iterations == 2


def test_dropout_is_active_in_fit_only():
    model = Sequential([layers.Input((6,)), layers.Dropout(0.5), layers.Dense(3)])
    model.compile(optimizers.SGD(0.0), "mse")
    numpy.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X, verbose=0))
    target = model.predict(X, verbose=0)
    assert model.evaluate(X, target, verbose=0) == pytest.approx(0.0, abs=1e-10)
    assert model.train_on_batch(X, target) > 1e-3  # dropout changed the outputs during training


@pytest.mark.parametrize("loss, y, units, activation, expected", [
    ("sparse_categorical_crossentropy", Y, 3, "softmax", metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", numpy.eye(3, dtype="float32")[Y], 3, "softmax", metrics.CategoricalAccuracy),
    ("binary_crossentropy", (Y > 0).astype("float32")[:, None], 1, "sigmoid", metrics.BinaryAccuracy),
    (losses.BinaryCrossentropy(), numpy.eye(3, dtype="float32")[Y], 3, "sigmoid", metrics.BinaryAccuracy),
    ("mse", (Y > 0).astype("float32")[:, None], 1, "sigmoid", metrics.BinaryAccuracy),
])
def test_accuracy_resolves_to_the_right_accuracy(loss, y, units, activation, expected):
    model = Sequential([layers.Input((6,)), layers.Dense(units, activation=activation)])
    model.compile("sgd", loss, metrics=["accuracy"])
    model.fit(X, y, epochs=1, verbose=0)
    acc = model.metrics[-1]
    assert type(acc) is expected and acc.name == "accuracy"


def test_metric_objects_and_weighted_metrics_in_compile():
    model = make_mlp("sequential")
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[metrics.SparseTopKCategoricalAccuracy(k=2), "acc"], weighted_metrics=["acc"])
    w = numpy.where(Y == 0, 0.0, 1.0).astype("float32")
    logs = model.evaluate(X, Y, sample_weight=w, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "sparse_top_k_categorical_accuracy", "acc", "weighted_acc"}
    pred = model.predict(X, verbose=0).argmax(-1)
    numpy.testing.assert_allclose(logs["weighted_acc"], (pred == Y)[Y != 0].mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="Expected `metrics` argument to be a list"):
        model.compile("adam", "mse", metrics="accuracy")


# ----------------------------------------------------------------------------------
# summary, progress bar, configs
# ----------------------------------------------------------------------------------
def _dense_784_10(kind):
    if kind == "sequential":
        return Sequential([layers.Input((784,)), layers.Dense(10)])
    if kind == "functional":
        inp = layers.Input((784,))
        return Model(inp, layers.Dense(10)(inp))

    class One(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(10)

        def call(self, x):
            return self.dense(x)

    model = One()
    model.build((None, 784))
    return model


@pytest.mark.parametrize("kind", KINDS)
def test_summary_table_and_totals(kind):
    model = _dense_784_10(kind)
    out = []
    model.summary(print_fn=out.append)
    text = out[0]
    assert text.startswith(f'Model: "{model.name}"')
    assert re.search(r"┃ Layer \(type\) +┃ Output Shape +┃ +Param # ┃", text)
    assert re.search(r"│ dense(_\d+)? \(Dense\) +│ \(None, 10\) +│ +7,850 │", text)
    assert " Total params: 7,850 (30.66 KB)" in text
    assert " Trainable params: 7,850 (30.66 KB)" in text
    assert " Non-trainable params: 0 (0.00 B)" in text
    if kind == "functional":
        assert re.search(r"│ input_layer(_\d+)? \(InputLayer\) +│ \(None, 784\) +│ +0 │", text)
    model.layers[-1].trainable = False
    out.clear()
    model.summary(print_fn=out.append, show_trainable=True)
    assert " Non-trainable params: 7,850 (30.66 KB)" in out[0] and "Trainable" in out[0]


def test_summary_of_unbuilt_model_and_nested_expansion(capsys):
    MLP().summary()
    assert "0 (unbuilt)" in capsys.readouterr().out
    inp = layers.Input((6,))
    outer = Model(inp, make_mlp("sequential")(inp))
    outer.summary(expand_nested=True)
    text = capsys.readouterr().out
    assert "└ dense" in text and "Total params: 83" in text


def test_progbar_lines_in_keras_format(capsys):
    bar = Progbar(4, verbose=1)
    for i in range(1, 5):
        bar.update(i, [("loss", 0.5), ("accuracy", 0.25)])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.5000 - accuracy: 0\.2500", out.strip())
    bar = Progbar(10, verbose=2)
    bar.update(5, {"loss": 1e-5})
    bar.update(10, {"loss": 1e-5})
    assert re.fullmatch(r"10/10 - \d+s - \d+(us|ms|s)/step - loss: 1\.0000e-05\n", capsys.readouterr().out)


def test_fit_prints_epochs_and_a_bar(capsys):
    compiled("sequential").fit(X, Y, epochs=2, batch_size=60, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert re.search(r"2/2 ━{20} \d+s \d+\w+/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", out)


def _round_trip(model):
    config = json.loads(json.dumps(model.get_config()))
    clone = type(model).from_config(config)
    clone.set_weights(model.get_weights())
    return clone


def test_config_round_trip_rebuilds_identical_models():
    inp = layers.Input((6,), name="x_in")
    shared = layers.Dense(6, activation="relu", name="shared")
    h = shared(inp)
    h2 = shared(layers.Add(name="res")([inp, h]))
    out = layers.Concatenate(name="cat")([h, h2])
    graph = Model(inp, [out, layers.Dense(2, name="head")(h2)], name="graph")
    candidates = [make_mlp("sequential"), make_mlp("functional"), graph,
                  Sequential([layers.Dense(4, input_shape=(6,)), layers.Dropout(0.1), layers.Dense(3)])]
    for model in candidates:
        clone = _round_trip(model)
        assert type(clone) is type(model) and clone.name == model.name
        assert [la.name for la in clone.layers] == [la.name for la in model.layers]
        assert clone.get_config() == model.get_config()
        for a, b in zip(_flat(clone.predict(X, verbose=0)), _flat(model.predict(X, verbose=0))):
            numpy.testing.assert_array_equal(a, b)
    assert json.loads(graph.to_json())["class_name"] == "Functional"
    assert nk.models.model_from_json(graph.to_json()).count_params() == graph.count_params()


def _flat(x):
    return x if isinstance(x, list) else [x]


def test_legacy_keras2_inbound_nodes_are_read():
    model = make_mlp("functional")
    config = model.get_config()
    for layer in config["layers"]:
        layer["inbound_nodes"] = [[arg["config"]["keras_history"] + [{}] for arg in node["args"]]
                                  for node in layer["inbound_nodes"]]
    clone = Model.from_config(config)
    clone.set_weights(model.get_weights())
    numpy.testing.assert_array_equal(clone.predict(X, verbose=0), model.predict(X, verbose=0))


def test_unknown_layer_class_in_a_config_says_how_to_register_it():
    config = make_mlp("sequential").get_config()
    config["layers"][1]["class_name"] = "MyDense"
    with pytest.raises(ValueError, match="Unknown layer: 'MyDense'.*register_keras_serializable"):
        Sequential.from_config(config)


def test_custom_objects_registry_resolves_user_layers():
    from neuronka.models import model as model_module

    class Scale(layers.Layer):
        def call(self, x):
            return x * 2.0

        def compute_output_shape(self, s):
            return s

    model = Sequential([layers.Input((3,)), Scale()])
    model_module.CUSTOM_OBJECTS["Custom>Scale"] = Scale
    try:
        config = model.get_config()
        assert config["layers"][1]["registered_name"] == "Custom>Scale"
        clone = Sequential.from_config(config)
        assert type(clone.layers[0]) is Scale
    finally:
        del model_module.CUSTOM_OBJECTS["Custom>Scale"]


def test_subclassed_model_config_captures_constructor_arguments():
    model = MLP(hidden=5, classes=4, name="mlp5")
    config = model.get_config()
    assert config["hidden"] == 5 and config["classes"] == 4 and config["name"] == "mlp5"
    clone = MLP.from_config(json.loads(json.dumps(config)))
    clone.build((None, 6))
    assert clone.name == "mlp5" and [w.shape for w in clone.weights] == [(6, 5), (5,), (5, 4), (4,)]


def test_functional_replay_passes_masks_and_recorded_training_flags():
    class ZeroMask(layers.Layer):  # mask: the time steps whose first feature is non-zero
        def call(self, x):
            return x

        def compute_mask(self, inputs, mask=None):
            return inputs.data[..., 0] != 0

        def compute_output_shape(self, shape):
            return shape

    class ApplyMask(layers.Layer):
        def call(self, x, mask=None):
            return x if mask is None else x * nk.Tensor(mask[..., None].astype(x.dtype))

        def compute_output_shape(self, shape):
            return shape

    inp = layers.Input((4, 2))
    always = layers.Dropout(0.5)(inp, training=True)  # a call argument recorded in the graph
    model = Model(inp, [ApplyMask()(ZeroMask()(inp)), always])
    x = RNG.standard_normal((3, 4, 2)).astype("float32") + 5
    x[:, 1, 0] = 0
    masked, dropped = model.predict(x, verbose=0)
    numpy.testing.assert_array_equal(masked[:, 1], 0)
    numpy.testing.assert_array_equal(masked[:, [0, 2, 3]], x[:, [0, 2, 3]])
    assert (dropped == 0).any()  # Dropout ran in training mode although predict runs in inference mode


def test_subclass_with_its_own_build_calling_super_build():
    class Scaled(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(1,), initializer="ones", name="scale")
            super().build(input_shape)

        def call(self, x):
            return self.dense(x) * self.scale

    eager = Scaled()
    assert eager(X[:3]).shape == (3, 2) and len(eager.weights) == 3
    explicit = Scaled()
    explicit.build((None, 6))
    assert explicit.built and len(explicit.weights) == 3
    explicit.compile("sgd", "mse")
    explicit.fit(X, X[:, :2], epochs=1, verbose=0)
    assert len(explicit.weights) == 3


def test_unfreezing_a_layer_after_compile_takes_effect_at_the_next_train_on_batch():
    """A layer frozen at compile time and unfrozen later is updated by the next step, and no gradient piles up
    on it meanwhile (it used to keep accumulating and be applied all at once by the next fit)."""
    import numpy

    import neuronka as nk

    rng = numpy.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)).astype("float32"), rng.standard_normal((16, 1)).astype("float32")
    first = nk.layers.Dense(3)
    model = nk.Sequential([nk.Input((4,)), first, nk.layers.Dense(1)])
    first.trainable = False
    model.compile(optimizer=nk.optimizers.SGD(0.1), loss="mse")
    model.train_on_batch(x, y)
    frozen = first.kernel.numpy().copy()
    model.train_on_batch(x, y)
    numpy.testing.assert_array_equal(first.kernel.numpy(), frozen)
    first.trainable = True
    for _ in range(5):
        before = first.kernel.numpy().copy()
        model.train_on_batch(x, y)
        assert not numpy.array_equal(first.kernel.numpy(), before)
        assert first.kernel.grad is None
    first.trainable = False
    after = first.kernel.numpy().copy()
    model.train_on_batch(x, y)
    numpy.testing.assert_array_equal(first.kernel.numpy(), after)


def test_bad_batch_sizes_empty_data_complex_inputs_and_unknown_arguments_are_errors_not_silent_changes():
    import numpy
    import pytest

    import neuronka as nk

    model = nk.Sequential([nk.Input((3,)), nk.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = numpy.ones((8, 3), "float32"), numpy.ones((8, 2), "float32")
    for bad in (0, -4, 2.5, True, "32"):
        with pytest.raises(ValueError, match="batch_size"):
            model.fit(x, y, batch_size=bad, verbose=0)
        with pytest.raises(ValueError, match="batch_size"):
            model.predict(x, batch_size=bad, verbose=0)
    empty_x, empty_y = numpy.ones((0, 3), "float32"), numpy.ones((0, 2), "float32")
    with pytest.raises(ValueError, match="at least one sample"):
        model.fit(empty_x, empty_y, verbose=0)
    with pytest.raises(ValueError, match="at least one sample"):
        model.evaluate(empty_x, empty_y, verbose=0)
    with pytest.raises(ValueError, match="at least one sample"):
        model.predict(empty_x, verbose=0)
    with pytest.raises(ValueError, match="complex inputs"):
        model.predict(x.astype("complex64"), verbose=0)
    with pytest.raises(ValueError, match="Arguments not recognized"):
        model.evaluate(x, y, verbos=0)
    assert model.predict(x, batch_size=numpy.int64(3), verbose=0).shape == (8, 2)


def test_steps_per_execution_groups_the_batch_callbacks_as_keras():
    """Keras (JAX and TensorFlow backends; its PyTorch backend refuses N > 1) calls on_train_batch_begin with the
    first step of each execution of N steps and on_train_batch_end with its last."""
    import numpy
    import pytest

    import neuronka as nk

    x, y = numpy.ones((16, 3), "float32"), numpy.ones((16, 1), "float32")
    calls = []
    model = nk.Sequential([nk.Input((3,)), nk.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=3)
    cb = nk.callbacks.LambdaCallback(on_train_batch_begin=lambda b, logs: calls.append(("begin", b)),
                                     on_train_batch_end=lambda b, logs: calls.append(("end", b)))
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    assert calls == [("begin", 0), ("end", 2), ("begin", 3), ("end", 5), ("begin", 6), ("end", 7)]
    assert numpy.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=0)
    with pytest.warns(UserWarning, match="no graph compiler"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)

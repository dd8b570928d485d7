"""``keras.callbacks`` against real Keras 3.15.1: the same small model (Dense layers, the same initial weights, SGD)
trained on the same data with each callback in both frameworks, or the same scripted logs fed through both
frameworks' ``CallbackList``; hook order, logs, stopping epochs, learning rates, files written, requests sent
and argument errors must agree. TensorBoard is in ``test_tensorboard.py``."""
from __future__ import annotations

import csv
import http.server
import json
import math
import os
import threading
import warnings

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


# ----------------------------------------------------------------------------------------------
# the twin models
# ----------------------------------------------------------------------------------------------
def data(n=12, seed=0, nan_at=None):
    r = numpy.random.default_rng(seed)
    x = r.standard_normal((n, 3)).astype("float32")
    y = (x @ numpy.array([[1.0], [-2.0], [0.5]], "float32") + 0.1 * r.standard_normal((n, 1))).astype("float32")
    if nan_at is not None:
        y[nan_at] = numpy.nan
    return x, y


def twins(lr=0.05, metrics=("mae",), optimizer_kwargs=None):
    """(keras model, neuronka model): Dense(4, relu) → Dense(1), the same initial weights, SGD(lr), mse."""
    keras = keras_or_skip()
    models = []
    for lib in (keras, nk):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="relu", name="hidden"),
                            lib.layers.Dense(1, name="out")])
        m.compile(optimizer=lib.optimizers.SGD(lr, **(optimizer_kwargs or {})), loss="mse", metrics=list(metrics))
        models.append(m)
    r = numpy.random.default_rng(7)  # fixed initial weights: the tests' trajectories do not depend on Keras's seed
    weights = [(0.6 * r.standard_normal(w.shape)).astype("float32") for w in models[0].get_weights()]
    for m in models:
        m.set_weights(weights)
    return models


def fit_both(callbacks_for, epochs=3, batch_size=4, validation=True, n=12, lr=0.05, nan_at=None, **fit_kwargs):
    """Fit the twins, each with ``callbacks_for(lib)``; returns [(lib, model, history, callbacks)] Keras first."""
    keras = keras_or_skip()
    x, y = data(n, nan_at=nan_at)
    out = []
    for lib, model in zip((keras, nk), twins(lr)):
        cbs = callbacks_for(lib)
        kwargs = dict(batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False, callbacks=cbs, **fit_kwargs)
        if validation:
            kwargs["validation_data"] = (x[:6], y[:6])
        history = model.fit(x, y, **kwargs)
        out.append((lib, model, history, cbs))
    return out


def recorder(lib, calls):
    """A Callback of ``lib`` recording (hook, positional args, sorted logs keys) for every hook."""
    rec = lib.callbacks.Callback()
    for hook in HOOKS:
        def record(*args, _hook=hook, **kwargs):
            logs = kwargs["logs"] if "logs" in kwargs else args[-1]
            args = args if "logs" in kwargs else args[:-1]
            calls.append((_hook, args, None if logs is None else sorted(logs)))
        setattr(rec, hook, record)
    return rec


def assert_close_lists(actual, expected, rtol=1e-4, atol=1e-6, what=""):
    assert len(actual) == len(expected), f"{what}: {len(actual)} values, Keras has {len(expected)}"
    numpy.testing.assert_allclose(numpy.asarray(actual, float), numpy.asarray(expected, float), rtol=rtol, atol=atol,
                                  err_msg=what)


def drive(lib, model, callbacks, epoch_logs, steps=2, batch_loss=None):
    """Keras's fit loop around scripted logs: epoch e's weights are all e (so restored weights name an epoch).
    Returns the epochs run."""
    cbl = lib.callbacks.CallbackList(callbacks, add_history=True, model=model, verbose=0, epochs=len(epoch_logs),
                                     steps=steps)
    model.stop_training = False
    run = []
    cbl.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        cbl.on_epoch_begin(epoch)
        model.set_weights([numpy.full(w.shape, epoch, "float32") for w in model.get_weights()])
        for b in range(steps):
            cbl.on_train_batch_begin(b)
            cbl.on_train_batch_end(b, {"loss": batch_loss(epoch, b) if batch_loss else 1.0})
            if model.stop_training:
                break
        cbl.on_epoch_end(epoch, dict(logs))
        run.append(epoch)
        if model.stop_training:
            break
    cbl.on_train_end()
    return run


# ----------------------------------------------------------------------------------------------
# Callback, CallbackList, History, ProgbarLogger: the protocol
# ----------------------------------------------------------------------------------------------
@keras_api("callbacks.Callback", "callbacks.CallbackList", "callbacks.History")
def test_fit_evaluate_predict_call_the_hooks_in_keras_order_with_the_same_logs_keys():
    keras = keras_or_skip()
    x, y = data()
    calls = {}
    for lib, model in zip((keras, nk), twins()):
        c = calls[lib.__name__] = []
        model.fit(x, y, batch_size=5, epochs=2, validation_data=(x[:5], y[:5]), verbose=0, shuffle=False,
                  callbacks=[recorder(lib, c)])
        model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[recorder(lib, c)])
        model.predict(x, batch_size=8, verbose=0, callbacks=[recorder(lib, c)])
    assert calls["neuronka"] == calls["keras"]
    assert ("on_train_batch_end", (2,), ["loss", "mae"]) in calls["keras"]  # the comparison saw real logs


@keras_api("callbacks.Callback", "callbacks.History")
def test_callback_attributes_and_fit_params_equal_keras():
    keras = keras_or_skip()
    seen = {}
    for lib, model in zip((keras, nk), twins()):
        cb = lib.callbacks.Callback()
        assert cb.params is None and cb.model is None
        cb.set_params({"a": 1})
        cb.set_model(model)
        assert cb.params == {"a": 1} and cb.model is model
        history = model.fit(*data(), batch_size=5, epochs=2, verbose=0, callbacks=[cb])
        assert cb.model is model and model.history is history
        seen[lib.__name__] = (cb.params, history.params, history.epoch, sorted(history.history))
    assert seen["neuronka"] == seen["keras"]
    assert seen["keras"][0] == {"verbose": 0, "epochs": 2, "steps": 3}


@keras_api("callbacks.CallbackList", "callbacks.History", "callbacks.ProgbarLogger")
def test_callback_list_adds_history_and_progbar_like_keras():
    keras = keras_or_skip()
    for (lib, model) in zip((keras, nk), twins()):
        user, history = lib.callbacks.Callback(), lib.callbacks.History()
        cbl = lib.callbacks.CallbackList([user, lib.callbacks.Callback()], add_history=True, add_progbar=True,
                                         model=model, verbose=1, epochs=4, steps=2)
        kinds = [type(c).__name__ for c in cbl.callbacks]
        assert kinds == ["Callback", "Callback", "History", "ProgbarLogger"], lib.__name__
        assert model.history is cbl.callbacks[2] and user.model is model
        assert user.params == {"verbose": 1, "epochs": 4, "steps": 2} and cbl.params == user.params
        own = lib.callbacks.CallbackList([history], add_history=True, add_progbar=False, model=model)
        assert own.callbacks == [history] and model.history is history and history.params is None
    # neuronka's extras: append (with model and params), iteration, len
    model = twins()[1]
    cbl = nk.callbacks.CallbackList([], model=model, epochs=1, verbose=0, steps=1)
    extra = nk.callbacks.Callback()
    cbl.append(extra)
    assert list(cbl) == [extra] and len(cbl) == 1 and extra.model is model and extra.params["epochs"] == 1


@keras_api("callbacks.CallbackList")
def test_callback_list_pythonifies_the_logs_like_keras():
    keras = keras_or_skip()
    seen = {}
    for lib in (keras, nk):
        got = seen[lib.__name__] = []
        cb = lib.callbacks.LambdaCallback(on_epoch_end=lambda e, logs, got=got: got.append(logs))
        cbl = lib.callbacks.CallbackList([cb])
        cbl.on_epoch_end(0, {"z": numpy.float32(0.5), "a": numpy.array(2.0), "nested": {"m": numpy.float64(1.5)},
                             "name": "x"})
    assert seen["neuronka"] == seen["keras"] == [{"a": 2.0, "m": 1.5, "name": "x", "z": 0.5}]
    assert list(seen["neuronka"][0]) == list(seen["keras"][0])  # the same (sorted) key order
    assert all(type(v) is type(seen["keras"][0][k]) for k, v in seen["neuronka"][0].items())


@keras_api("callbacks.History")
def test_history_records_the_same_keys_and_values_as_keras():
    (_, _, kh, _), (_, _, nh, _) = fit_both(lambda lib: [], epochs=3)
    assert list(nh.history) == list(kh.history) == ["loss", "mae", "val_loss", "val_mae"]
    for key in kh.history:
        assert_close_lists(nh.history[key], kh.history[key], what=key)
    assert nh.epoch == kh.epoch == [0, 1, 2]


@keras_api("callbacks.ProgbarLogger")
def test_progbar_logger_prints_what_keras_prints(capsys):
    keras = keras_or_skip()
    outputs = {}
    for lib, model in zip((keras, nk), twins()):
        model.fit(*data(), batch_size=4, epochs=2, verbose=2, shuffle=False)
        outputs[lib.__name__] = capsys.readouterr().out
    for out in outputs.values():
        assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out and "mae:" in out
    assert [line.split()[0] for line in outputs["neuronka"].splitlines()] == \
           [line.split()[0] for line in outputs["keras"].splitlines()]


# ----------------------------------------------------------------------------------------------
# EarlyStopping and ReduceLROnPlateau on scripted logs (every branch), then on real training
# ----------------------------------------------------------------------------------------------
MONITORED = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]
EARLY_STOPPING_ROWS = [
    {"patience": 2},
    {"patience": 0},
    {"patience": 1, "min_delta": 0.08},
    {"patience": 2, "baseline": 0.92},
    {"patience": 2, "baseline": 0.2},
    {"patience": 1, "start_from_epoch": 3},
    {"patience": 2, "restore_best_weights": True},
    {"patience": 9, "restore_best_weights": True},
    {"patience": 1, "mode": "max"},
    {"patience": 1, "monitor": "loss"},
    {"patience": 1, "monitor": "val_mae"},
]


@keras_api("callbacks.EarlyStopping")
@pytest.mark.parametrize("kwargs", EARLY_STOPPING_ROWS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_early_stopping_stops_and_restores_like_keras(kwargs):
    keras = keras_or_skip()
    monitor = kwargs.get("monitor", "val_loss")
    logs = [{"loss": 2.0 - 0.1 * i, "mae": 1.0, monitor: v} for i, v in enumerate(MONITORED)]
    results = []
    for lib, model in zip((keras, nk), twins()):
        model.evaluate(*data(), verbose=0)  # Keras finds a metric's direction once the compiled metrics are built
        es = lib.callbacks.EarlyStopping(**kwargs)
        run = drive(lib, model, [es], logs)
        weights_epoch = float(model.get_weights()[0].ravel()[0])
        results.append((run, es.stopped_epoch, es.best, es.wait, es.best_epoch, weights_epoch))
    assert results[1] == results[0]


@keras_api("callbacks.EarlyStopping")
def test_early_stopping_in_real_training_stops_at_the_same_epoch():
    def callbacks(lib):
        return [lib.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.05,
                                            restore_best_weights=True)]
    (_, km, kh, [kes]), (_, nm, nh, [nes]) = fit_both(callbacks, epochs=12, lr=0.1)
    assert nh.epoch == kh.epoch and len(kh.epoch) < 12
    assert (nes.stopped_epoch, nes.wait, nes.best_epoch) == (kes.stopped_epoch, kes.wait, kes.best_epoch)
    assert nes.best == pytest.approx(kes.best, rel=1e-4)
    for a, b in zip(nm.get_weights(), km.get_weights()):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


PLATEAU = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.49995, 0.4, 0.4, 0.4, 0.4]
REDUCE_LR_ROWS = [
    {"factor": 0.5, "patience": 2},
    {"factor": 0.5, "patience": 1, "cooldown": 2},
    {"factor": 0.1, "patience": 1, "min_lr": 0.004},
    {"factor": 0.5, "patience": 1, "min_delta": 0.2},
    {"factor": 0.5, "patience": 1, "mode": "max"},
    {"factor": 0.5, "patience": 0, "monitor": "loss"},
]


@keras_api("callbacks.ReduceLROnPlateau")
@pytest.mark.parametrize("kwargs", REDUCE_LR_ROWS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_reduce_lr_on_plateau_reduces_at_the_same_epochs_to_the_same_rates(kwargs):
    keras = keras_or_skip()
    monitor = kwargs.get("monitor", "val_loss")
    logs = [{"loss": 1.0, "mae": 1.0, monitor: v} for v in PLATEAU]
    results = []
    for lib, model in zip((keras, nk), twins(lr=0.1)):
        cb = lib.callbacks.ReduceLROnPlateau(**kwargs)
        drive(lib, model, [cb], logs)
        results.append((model.history.history["learning_rate"], float(model.optimizer.learning_rate),
                        cb.wait, cb.cooldown_counter, cb.best))
    (k_lrs, k_lr, *k_state), (n_lrs, n_lr, *n_state) = results
    assert_close_lists(n_lrs, k_lrs, rtol=1e-6, what="learning_rate per epoch")
    assert n_lr == pytest.approx(k_lr, rel=1e-6) and n_state == k_state
    assert len(set(k_lrs)) > 1 or kwargs.get("mode") == "max"  # the row reduces (except "max": never improves)


@keras_api("callbacks.ReduceLROnPlateau")
def test_reduce_lr_on_plateau_in_real_training_gives_the_same_rates():
    def callbacks(lib):
        return [lib.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0, min_delta=0.15)]
    (_, km, kh, _), (_, nm, nh, _) = fit_both(callbacks, epochs=6, lr=0.1)
    assert_close_lists(nh.history["learning_rate"], kh.history["learning_rate"], rtol=1e-6, what="learning_rate")
    assert len(set(kh.history["learning_rate"])) > 1
    assert_close_lists(nh.history["val_loss"], kh.history["val_loss"], what="val_loss")


# ----------------------------------------------------------------------------------------------
# LearningRateScheduler, TerminateOnNaN, LambdaCallback
# ----------------------------------------------------------------------------------------------
@keras_api("callbacks.LearningRateScheduler")
@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr * 0.5 if epoch % 2 else lr,
    lambda epoch: 0.01 * (epoch + 1),
    lambda epoch, lr: numpy.float32(0.02) / (epoch + 1),
], ids=["two-arguments", "one-argument", "float32"])
def test_learning_rate_scheduler_gives_the_same_rate_sequence(schedule):
    seen = {}

    def callbacks(lib):
        rates = seen[lib.__name__] = []
        return [lib.callbacks.LearningRateScheduler(schedule),
                lib.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: rates.append(
                    float(numpy.asarray(lib.ops.convert_to_numpy(model_of[lib.__name__].optimizer.learning_rate)))))]

    model_of = {}
    keras = keras_or_skip()
    x, y = data()
    for lib, model in zip((keras, nk), twins(lr=0.1)):
        model_of[lib.__name__] = model
        model.fit(x, y, batch_size=4, epochs=4, verbose=0, shuffle=False, callbacks=callbacks(lib))
    k, n = model_of["keras"].history.history, model_of["neuronka"].history.history
    assert_close_lists(n["learning_rate"], k["learning_rate"], rtol=1e-6, what="logged learning_rate")
    assert_close_lists(seen["neuronka"], seen["keras"], rtol=1e-6, what="rate at each epoch begin")
    assert_close_lists(n["loss"], k["loss"], what="loss")


@keras_api("callbacks.LearningRateScheduler")
@pytest.mark.parametrize("bad", [1, "fast", None])
def test_learning_rate_scheduler_refuses_what_keras_refuses(bad):
    keras = keras_or_skip()
    for lib, model in zip((keras, nk), twins()):
        with pytest.raises(ValueError, match="should be a float"):
            model.fit(*data(), epochs=1, verbose=0, callbacks=[lib.callbacks.LearningRateScheduler(
                lambda epoch, lr: bad)])


@keras_api("callbacks.TerminateOnNaN")
def test_terminate_on_nan_stops_on_the_same_batch():
    batches = {}

    def callbacks(lib):
        seen = batches[lib.__name__] = []
        return [lib.callbacks.TerminateOnNaN(),
                lib.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append((b, logs["loss"])))]

    (_, km, kh, _), (_, nm, nh, _) = fit_both(callbacks, epochs=3, nan_at=9, validation=False)
    k, n = batches["keras"], batches["neuronka"]
    assert [b for b, _ in n] == [b for b, _ in k] == [0, 1, 2]  # batch 2 holds sample 9
    assert math.isnan(k[-1][1]) and math.isnan(n[-1][1]) and not math.isnan(k[-2][1])
    assert nh.epoch == kh.epoch == [0] and km.stop_training and nm.stop_training


@keras_api("callbacks.TerminateOnNaN")
def test_terminate_on_nan_raise_error_raises_like_keras():
    keras = keras_or_skip()
    x, y = data(nan_at=5)
    messages = []
    for lib, model in zip((keras, nk), twins()):
        with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 1") as info:
            model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False,
                      callbacks=[lib.callbacks.TerminateOnNaN(raise_error=True)])
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@keras_api("callbacks.LambdaCallback")
def test_lambda_callback_runs_the_given_functions_like_keras():
    calls = {}

    def callbacks(lib):
        c = calls[lib.__name__] = []
        return [lib.callbacks.LambdaCallback(
            on_train_begin=lambda logs: c.append(("train_begin", sorted(logs))),
            on_epoch_begin=lambda epoch, logs: c.append(("epoch_begin", epoch)),
            on_epoch_end=lambda epoch, logs: c.append(("epoch_end", epoch, sorted(logs))),
            on_train_batch_begin=lambda batch, logs: c.append(("batch_begin", batch)),
            on_train_batch_end=lambda batch, logs: c.append(("batch_end", batch, sorted(logs))),
            on_train_end=lambda logs: c.append(("train_end", sorted(logs))),
            on_test_begin=lambda logs: c.append("test_begin"),  # any other hook by keyword
            tag="mine",
        )]
    (_, _, _, [kcb]), (_, _, _, [ncb]) = fit_both(callbacks, epochs=2)
    assert calls["neuronka"] == calls["keras"] and "test_begin" in calls["keras"]
    assert ncb.tag == kcb.tag == "mine"


# ----------------------------------------------------------------------------------------------
# CSVLogger
# ----------------------------------------------------------------------------------------------
def read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def assert_same_csv(actual, expected):
    assert actual[0] == expected[0], "header"
    assert len(actual) == len(expected)
    for a_row, e_row in zip(actual[1:], expected[1:]):
        for a, e in zip(a_row, e_row):
            if e == "NA" or a == "NA":
                assert a == e
            else:
                assert float(a) == pytest.approx(float(e), rel=1e-4, abs=1e-6)


@keras_api("callbacks.CSVLogger")
@pytest.mark.parametrize("validation, separator", [(True, ","), (False, ";")])
def test_csv_logger_writes_the_same_columns_and_rows(tmp_path, validation, separator):
    paths = {}

    def callbacks(lib):
        p = paths[lib.__name__] = tmp_path / f"{lib.__name__}.csv"
        return [lib.callbacks.CSVLogger(p, separator=separator)]

    fit_both(callbacks, epochs=3, validation=validation)
    keras_rows, nk_rows = read_csv(paths["keras"], separator), read_csv(paths["neuronka"], separator)
    assert keras_rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]  # val_ columns even without validation
    assert_same_csv(nk_rows, keras_rows)
    assert paths["neuronka"].read_bytes().count(b"\r\n") == paths["keras"].read_bytes().count(b"\r\n")


@keras_api("callbacks.CSVLogger")
def test_csv_logger_append_continues_the_file_like_keras(tmp_path):
    keras = keras_or_skip()
    texts = {}
    for lib, model in zip((keras, nk), twins()):
        path = tmp_path / f"{lib.__name__}.csv"
        for _ in range(2):
            model.fit(*data(), batch_size=6, epochs=2, verbose=0, shuffle=False,
                      callbacks=[lib.callbacks.CSVLogger(path, append=True)])
        texts[lib.__name__] = read_csv(path)
    assert len(texts["keras"]) == 5 and texts["keras"][0][0] == "epoch"  # one header, 4 rows
    assert_same_csv(texts["neuronka"], texts["keras"])


@keras_api("callbacks.CSVLogger")
def test_csv_logger_separator_must_be_one_character_like_keras(tmp_path):
    keras = keras_or_skip()
    cb = keras.callbacks.CSVLogger(tmp_path / "k.csv", separator="ab")
    keras.callbacks.CallbackList([cb]).on_train_begin()
    with pytest.raises(TypeError, match="1-character string"):  # Keras: at the first epoch end, from csv
        cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_train_end()
    with pytest.raises(TypeError, match="1-character string"):  # neuronka: at once
        nk.callbacks.CSVLogger(tmp_path / "n.csv", separator="ab")


# ----------------------------------------------------------------------------------------------
# ModelCheckpoint and BackupAndRestore
# ----------------------------------------------------------------------------------------------
CHECKPOINT_ROWS = [
    ("{epoch:02d}-{val_loss:.2f}.keras", {}),
    ("best-{epoch:02d}.keras", {"save_best_only": True, "monitor": "val_loss"}),
    ("w-{epoch}-{batch}.weights.h5", {"save_weights_only": True, "save_freq": 2}),
    ("w-{epoch}-{loss:.3f}.weights.h5", {"save_weights_only": True, "save_best_only": True, "monitor": "loss",
                                        "mode": "min"}),
    ("max-{epoch}.keras", {"save_best_only": True, "monitor": "val_mae", "mode": "max"}),
    ("init-{epoch}.keras", {"save_best_only": True, "initial_value_threshold": 0.0}),
]


@keras_api("callbacks.ModelCheckpoint")
@pytest.mark.parametrize("pattern, kwargs", CHECKPOINT_ROWS, ids=[r[0] for r in CHECKPOINT_ROWS])
def test_model_checkpoint_saves_on_the_same_epochs_with_the_same_names(tmp_path, pattern, kwargs):
    saved = {}

    def callbacks(lib):
        folder = tmp_path / lib.__name__
        saved[lib.__name__] = folder
        return [lib.callbacks.ModelCheckpoint(str(folder / pattern), **kwargs)]

    (_, _, _, [kcb]), (_, _, _, [ncb]) = fit_both(callbacks, epochs=4, lr=0.08)
    names = {lib: sorted(os.listdir(folder)) if folder.exists() else [] for lib, folder in saved.items()}
    assert names["neuronka"] == names["keras"]
    assert kcb.best == ncb.best or ncb.best == pytest.approx(kcb.best, rel=1e-4)
    if kwargs.get("initial_value_threshold") == 0.0:
        assert names["keras"] == []
    else:
        assert names["keras"]


@keras_api("callbacks.ModelCheckpoint")
def test_model_checkpoint_weights_load_back_into_the_trained_model(tmp_path):
    path = tmp_path / "last.weights.h5"
    (_, km, _, _), (_, nm, _, _) = fit_both(lambda lib: [lib.callbacks.ModelCheckpoint(
        str(path) if lib is nk else str(tmp_path / "k.weights.h5"), save_weights_only=True)], epochs=2)
    fresh = twins()[1]
    fresh.load_weights(path)
    for a, b in zip(fresh.get_weights(), km.get_weights()):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


class Interrupt(Exception):
    pass


def crash_at(lib, epoch, batch=None):
    """A callback raising Interrupt at the start of ``epoch`` (or after its batch ``batch``)."""
    def on_epoch_begin(e, logs):
        if e == epoch and batch is None:
            raise Interrupt

    def on_train_batch_end(b, logs, state={"epoch": -1}):  # noqa: B006 - per-callback state
        if b == 0:
            state["epoch"] += 1
        if batch is not None and (state["epoch"], b) == (epoch, batch):
            raise Interrupt
    return lib.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin, on_train_batch_end=on_train_batch_end)


@keras_api("callbacks.BackupAndRestore")
@pytest.mark.parametrize("save_freq, crash", [("epoch", (2, None)), (2, (1, 1)), (1, (2, 0))],
                         ids=["epoch", "every-2-batches", "every-batch"])
def test_backup_and_restore_resumes_at_the_same_epoch(tmp_path, save_freq, crash):
    keras = keras_or_skip()
    x, y = data()
    result = {}
    for lib, model in zip((keras, nk), twins()):
        backup = tmp_path / lib.__name__
        with pytest.raises(Interrupt):
            model.fit(x, y, batch_size=4, epochs=4, verbose=0, shuffle=False,
                      callbacks=[lib.callbacks.BackupAndRestore(backup, save_freq=save_freq), crash_at(lib, *crash)])
        meta = json.loads((backup / "training_metadata.json").read_text())
        resumed = twins()[0 if lib is keras else 1]
        seen = []
        history = resumed.fit(x, y, batch_size=4, epochs=4, verbose=0, shuffle=False, callbacks=[
            lib.callbacks.BackupAndRestore(backup, save_freq=save_freq),
            lib.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs, seen=seen: seen.append(e))])
        result[lib.__name__] = (meta, seen, history.epoch, backup.exists(), history.history["loss"])
    (k_meta, k_seen, k_epochs, k_left, k_loss), (n_meta, n_seen, n_epochs, n_left, n_loss) = \
        result["keras"], result["neuronka"]
    assert (n_meta, n_seen, n_epochs, n_left) == (k_meta, k_seen, k_epochs, k_left)
    assert k_seen[0] > 0 and not k_left
    assert_close_lists(n_loss, k_loss, what="loss after resuming")


@keras_api("callbacks.BackupAndRestore")
def test_backup_and_restore_double_checkpoint_keeps_the_previous_backup_like_keras(tmp_path):
    keras = keras_or_skip()
    listings = {}
    for lib, model in zip((keras, nk), twins()):
        backup = tmp_path / lib.__name__
        with pytest.raises(Interrupt):
            model.fit(*data(), batch_size=4, epochs=4, verbose=0, shuffle=False, callbacks=[
                lib.callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False),
                crash_at(lib, 3)])
        names = sorted(os.listdir(backup))
        metas = [json.loads((backup / n).read_text()) for n in names if n.startswith("training_metadata")]
        listings[lib.__name__] = ([n.replace(".npz", ".h5") for n in names], metas)
    assert listings["neuronka"] == listings["keras"]
    assert listings["keras"][1] == [{"epoch": 3, "batch": 0}, {"epoch": 2, "batch": 0}]


@keras_api("callbacks.BackupAndRestore")
def test_backup_and_restore_falls_back_to_the_previous_backup_when_the_latest_is_damaged(tmp_path):
    model = twins()[1]
    backup = tmp_path / "b"
    with pytest.raises(Interrupt):
        model.fit(*data(), batch_size=4, epochs=4, verbose=0, shuffle=False, callbacks=[
            nk.callbacks.BackupAndRestore(backup, double_checkpoint=True), crash_at(nk, 3)])
    (backup / "latest.weights.npz").write_bytes(b"not a weights file")
    seen = []
    twins()[1].fit(*data(), batch_size=4, epochs=4, verbose=0, shuffle=False, callbacks=[
        nk.callbacks.BackupAndRestore(backup, double_checkpoint=True),
        nk.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == [2, 3]  # the previous backup (after epoch 2) was used


# ----------------------------------------------------------------------------------------------
# arguments Keras refuses
# ----------------------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    ("ModelCheckpoint", ("model.h5x",), {}, ValueError, "must end in `.keras`"),
    ("ModelCheckpoint", ("w.keras",), {"save_weights_only": True}, ValueError, r"must end in `\.weights\.h5`"),
    ("ModelCheckpoint", ("m.keras",), {"save_freq": "batch"}, ValueError, "Unrecognized save_freq: batch"),
    ("ModelCheckpoint", ("m.keras",), {"save_freq": 1.5}, ValueError, "Unrecognized save_freq"),
    ("ReduceLROnPlateau", (), {"factor": 1.0}, ValueError, "does not support a factor >= 1.0"),
    ("ReduceLROnPlateau", (), {"factor": 2}, ValueError, "factor=2"),
    ("BackupAndRestore", ("",), {}, ValueError, "Empty `backup_dir`"),
    ("BackupAndRestore", (None,), {}, ValueError, "Empty `backup_dir`"),
    ("BackupAndRestore", ("b",), {"save_freq": "batch"}, ValueError, "Invalid value for argument `save_freq`"),
    ("TensorBoard", (), {"profile_batch": 2}, ValueError, "profile_batch=2"),
    ("TensorBoard", (), {"profile_batch": (1, 3)}, ValueError, r"profile_batch=\(1, 3\)"),
    ("TensorBoard", (), {"profile_batch": None}, ValueError, "profile_batch must be a non-negative integer"),
]


@keras_api("callbacks.ModelCheckpoint", "callbacks.ReduceLROnPlateau", "callbacks.BackupAndRestore",
           "callbacks.TensorBoard")
@pytest.mark.parametrize("name, args, kwargs, error, match", BAD_ARGUMENTS,
                         ids=[f"{r[0]}-{r[2] or r[1]}" for r in BAD_ARGUMENTS])
def test_bad_arguments_raise_what_keras_raises(tmp_path, monkeypatch, name, args, kwargs, error, match):
    keras = keras_or_skip()
    monkeypatch.chdir(tmp_path)  # TensorBoard's default log_dir
    for lib in (keras, nk):
        with pytest.raises(error, match=match):
            getattr(lib.callbacks, name)(*args, **kwargs)


@keras_api("callbacks.EarlyStopping", "callbacks.ModelCheckpoint", "callbacks.ReduceLROnPlateau")
@pytest.mark.parametrize("name, args", [("EarlyStopping", ()), ("ReduceLROnPlateau", ()),
                                        ("ModelCheckpoint", ("m.keras",))])
def test_unknown_mode_warns_and_falls_back_to_auto_like_keras(name, args):
    keras = keras_or_skip()
    for lib in (keras, nk):
        with pytest.warns(UserWarning, match="mode 'sideways' is unknown, fallback to auto mode"):
            cb = getattr(lib.callbacks, name)(*args, mode="sideways")
        assert cb.mode == "auto"


@keras_api("callbacks.EarlyStopping", "callbacks.ReduceLROnPlateau")
@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_auto_mode_follows_the_compiled_metric_direction_like_keras(name):
    keras = keras_or_skip()
    for lib, model in zip((keras, nk), twins(metrics=("mae", "accuracy"))):
        model.evaluate(*data(), verbose=0)  # Keras looks the metric up once the compiled metrics are built
        cb = getattr(lib.callbacks, name)(monitor="val_accuracy")
        cb.set_model(model)
        cb._set_monitor_op()
        assert cb.monitor_op(2.0, 1.0), lib.__name__  # accuracy is maximized
        cb = getattr(lib.callbacks, name)(monitor="val_mae")
        cb.set_model(model)
        cb._set_monitor_op()
        assert cb.monitor_op(1.0, 2.0), lib.__name__  # mae is minimized


@keras_api("callbacks.EarlyStopping")
def test_missing_monitor_warns_with_the_available_keys_like_keras():
    keras = keras_or_skip()
    messages = []
    for lib, model in zip((keras, nk), twins()):
        with pytest.warns(UserWarning) as record:
            drive(lib, model, [lib.callbacks.EarlyStopping(monitor="loss", patience=0)], [{"val_mae": 1.0}] * 2)
        messages.append(sorted({str(w.message) for w in record if "Early stopping" in str(w.message)}))
    assert messages[1] == messages[0] and messages[0]


# ----------------------------------------------------------------------------------------------
# RemoteMonitor: a real HTTP server on 127.0.0.1
# ----------------------------------------------------------------------------------------------
class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, self.headers.get("Content-Type"), self.headers.get("X-Run"), body))
        self.send_response(500 if self.path.endswith("/fail/") else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@keras_api("callbacks.RemoteMonitor")
@pytest.mark.parametrize("kwargs", [{}, {"send_as_json": True}, {"field": "payload", "headers": {"X-Run": "7"}},
                                    {"path": "/fail/"}], ids=["form", "json", "field-headers", "http-500"])
def test_remote_monitor_posts_the_same_request_as_keras(http_server, kwargs):
    pytest.importorskip("requests", reason="Keras's RemoteMonitor posts with requests")
    keras = keras_or_skip()
    root = f"http://127.0.0.1:{http_server.server_address[1]}"
    logs = [{"loss": 0.5, "val_loss": numpy.float32(0.25), "learning_rate": 0.01}, {"loss": 0.25, "val_loss": 0.125}]
    got = {}
    for lib, model in zip((keras, nk), twins()):
        http_server.requests.clear()
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            drive(lib, model, [lib.callbacks.RemoteMonitor(root=root, **kwargs)], logs)
        assert not [w for w in record if "RemoteMonitor" in str(w.message)]  # the server was reached
        got[lib.__name__] = list(http_server.requests)
    assert len(got["keras"]) == 2
    assert got["neuronka"] == got["keras"]


@keras_api("callbacks.RemoteMonitor")
def test_remote_monitor_warns_when_the_server_cannot_be_reached_like_keras():
    pytest.importorskip("requests", reason="Keras's RemoteMonitor posts with requests")
    keras = keras_or_skip()
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for lib, model in zip((keras, nk), twins()):
        with pytest.warns(UserWarning, match=f"Could not reach RemoteMonitor root server at http://127.0.0.1:{port}"):
            drive(lib, model, [lib.callbacks.RemoteMonitor(root=f"http://127.0.0.1:{port}")], [{"loss": 1.0}])


# ----------------------------------------------------------------------------------------------
# SwapEMAWeights
# ----------------------------------------------------------------------------------------------
@keras_api("callbacks.SwapEMAWeights")
@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_validates_and_ends_with_the_same_weights_as_keras(swap_on_epoch):
    keras = keras_or_skip()
    x, y = data()
    results = []
    for lib in (keras, nk):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="relu"), lib.layers.Dense(1)])
        m.compile(optimizer=lib.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.5), loss="mse")
        results.append(m)
    results[1].set_weights(results[0].get_weights())
    histories = [m.fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False, validation_data=(x[:6], y[:6]),
                       callbacks=[lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)])
                 for lib, m in zip((keras, nk), results)]
    for key in ("loss", "val_loss"):
        assert_close_lists(histories[1].history[key], histories[0].history[key], what=key)
    for a, b in zip(results[1].get_weights(), results[0].get_weights()):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    evaluations = [m.evaluate(x, y, verbose=0, callbacks=[lib.callbacks.SwapEMAWeights()])
                   for lib, m in zip((keras, nk), results)]
    assert evaluations[1] == pytest.approx(evaluations[0], rel=1e-4)


class _EMAOptimizer:
    """An optimizer exposing Keras's EMA attributes (what SwapEMAWeights reads)."""

    def __init__(self, variables, averages, use_ema=True):
        self.use_ema = use_ema
        self._trainable_variables = variables
        self._model_variables_moving_average = averages
        self.learning_rate = 0.1


@keras_api("callbacks.SwapEMAWeights")
def test_swap_ema_weights_swaps_for_evaluation_and_back_through_keras_interface():
    keras = keras_or_skip()
    x, y = data()
    model = twins()[1]
    raw = [w.numpy().copy() for w in model.trainable_weights]
    averages = [nk.Variable(numpy.full(w.shape, 0.25, "float32"), trainable=False) for w in model.trainable_weights]
    model.optimizer = _EMAOptimizer(model.trainable_weights, averages)
    seen = []
    probe = nk.callbacks.LambdaCallback(on_test_begin=lambda logs: seen.append(model.get_weights()[0].copy()),
                                        on_predict_begin=lambda logs: seen.append(model.get_weights()[0].copy()))
    swap = nk.callbacks.SwapEMAWeights()
    model.evaluate(x, y, verbose=0, callbacks=[swap, probe])
    model.predict(x, verbose=0, callbacks=[swap, probe])
    assert all(numpy.all(s == 0.25) for s in seen) and len(seen) == 2  # the averages were in the model
    for w, r in zip(model.get_weights(), raw):  # and the raw weights are back after evaluate and predict
        numpy.testing.assert_array_equal(w, r)
    assert all(numpy.all(a.numpy() == 0.25) for a in averages)
    model.optimizer = _EMAOptimizer(model.trainable_weights, averages, use_ema=False)
    with pytest.raises(ValueError, match="SwapEMAWeights must be used when `use_ema=True`"):
        model.evaluate(x, y, verbose=0, callbacks=[nk.callbacks.SwapEMAWeights()])
    # Keras raises the same error for an optimizer without moving averages
    kmodel = twins()[0]
    with pytest.raises(ValueError, match="SwapEMAWeights must be used when `use_ema=True`"):
        kmodel.evaluate(x, y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])

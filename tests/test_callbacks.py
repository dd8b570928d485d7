"""Callbacks against Keras 3's documented behaviour.

Most tests drive a :class:`CallbackList` with a scripted loop (``run_fit``) on a stand-in model whose
weights are set to the epoch number, so which epoch's weights are restored or saved is visible; the
last tests run the real ``Model.fit`` when it is available.
"""
from __future__ import annotations

import csv
import math
import os

import numpy
import pytest

from neuronka import callbacks as C
from neuronka import optimizers, saving


class FakeVariable:
    """The part of a layer weight that saving uses: shape, dtype, path, numpy(), assign()."""

    def __init__(self, value, path):
        self.data = numpy.array(value, dtype=numpy.float32)
        self.path = self.name = path
        self.trainable = True

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)

    def numpy(self):
        return self.data

    def assign(self, value):
        self.data[...] = value


class FakeModel:
    """Two weights, an SGD optimizer, stop_training: what the callbacks touch."""

    def __init__(self, lr=0.1):
        self.name = "fake"
        self.weights = [FakeVariable(numpy.zeros((2, 3)), "dense/kernel"), FakeVariable(numpy.zeros(3), "dense/bias")]
        self.optimizer = optimizers.SGD(learning_rate=lr)
        self.stop_training = False
        self.history = None

    def get_weights(self):
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, values):
        for w, v in zip(self.weights, values):
            w.assign(v)

    def save_weights(self, filepath, overwrite=True):
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        saving.load_weights(self, filepath)


def run_fit(model, callbacks, epoch_logs, steps=2, batch_loss=None, fail_at_epoch=None):
    """Keras's fit loop without the math: weights become the epoch number during each epoch.

    ``epoch_logs[e]``: the logs of epoch e's end; ``batch_loss(e, b)``: the loss logged after batch b.
    """
    cbl = C.CallbackList(callbacks, add_history=True, add_progbar=False, model=model, verbose=0,
                         epochs=len(epoch_logs), steps=steps)
    model.stop_training = False
    model._initial_epoch = None
    cbl.on_train_begin()
    for epoch in range(model._initial_epoch or 0, len(epoch_logs)):
        if epoch == fail_at_epoch:
            raise KeyboardInterrupt("simulated crash")
        cbl.on_epoch_begin(epoch)
        for b in range(steps):
            cbl.on_train_batch_begin(b)
            model.set_weights([numpy.full(w.shape, epoch, numpy.float32) for w in model.weights])
            cbl.on_train_batch_end(b, {"loss": batch_loss(epoch, b) if batch_loss else 1.0})
            if model.stop_training:
                break
        logs = dict(epoch_logs[epoch])
        cbl.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbl.on_train_end()
    return model.history


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


def weight_epoch(model) -> float:
    """Which epoch the model's weights come from (they are all equal to it)."""
    values = numpy.concatenate([w.numpy().ravel() for w in model.weights])
    assert numpy.all(values == values[0])
    return float(values[0])


# ----------------------------------------------------------------------------------
# EarlyStopping
# ----------------------------------------------------------------------------------
EARLY_STOPPING_CASES = [
    # (kwargs, monitored values, epochs run, best epoch whose weights are restored)
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.96, 0.5], 4, 1),
    ({"patience": 0}, [1.0, 0.9, 0.95, 0.5], 3, 1),
    ({"patience": 5}, [3.0, 2.0, 1.0, 1.5], 4, 2),                     # never stopped: restored at the end anyway
    ({"patience": 1, "min_delta": 0.1}, [1.0, 0.95, 0.92], 2, 0),     # 0.95 is not 0.1 better: no improvement
    ({"patience": 2, "baseline": 0.5}, [1.0, 1.1, 1.2, 1.3], 2, 0),   # never beats the baseline: wait not reset
    ({"patience": 2}, [1.0, 1.1, 1.2, 1.3], 3, 0),
    ({"patience": 1, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0, 5.0], 4, 2),
    ({"patience": 1, "monitor": "val_accuracy"}, [0.5, 0.7, 0.6, 0.9], 3, 1),   # "accuracy": maximized
    ({"patience": 1, "mode": "max"}, [0.5, 0.7, 0.6, 0.9], 3, 1),
    ({"patience": 1, "monitor": "val_mae"}, [0.5, 0.4, 0.6, 0.1], 3, 1),           # an error: minimized
]


@pytest.mark.parametrize("kwargs, values, epochs_run, best_epoch", EARLY_STOPPING_CASES)
def test_early_stopping_stops_after_patience_and_restores_best_weights(kwargs, values, epochs_run, best_epoch):
    monitor = kwargs.get("monitor", "val_loss")
    model = FakeModel()
    es = C.EarlyStopping(restore_best_weights=True, **kwargs)
    history = run_fit(model, [es], [{"loss": 1.0, monitor: v} for v in values])
    assert len(history.epoch) == epochs_run
    assert history.history[monitor] == values[:epochs_run]
    assert es.stopped_epoch == (epochs_run - 1 if epochs_run < len(values) else 0)
    assert es.best_epoch == best_epoch
    assert weight_epoch(model) == best_epoch


def test_early_stopping_without_restore_keeps_last_weights_and_is_reusable():
    model = FakeModel()
    es = C.EarlyStopping(patience=1)
    run_fit(model, [es], val_losses(1.0, 2.0, 3.0))
    assert weight_epoch(model) == 1 and es.stopped_epoch == 1
    history = run_fit(model, [es], val_losses(5.0, 4.0, 3.0))  # a second fit starts from scratch
    assert len(history.epoch) == 3 and es.stopped_epoch == 0 and es.best == 3.0


def test_early_stopping_missing_monitor_warns_and_continues():
    model = FakeModel()
    with pytest.warns(UserWarning, match="val_loss.*not available"):
        history = run_fit(model, [C.EarlyStopping(patience=0)], [{"loss": 1.0}] * 3)
    assert len(history.epoch) == 3


def test_early_stopping_unknown_direction_asks_for_mode():
    with pytest.raises(ValueError, match="mode='max'"):
        run_fit(FakeModel(), [C.EarlyStopping(monitor="val_zorblax")], [{"val_zorblax": 1.0}] * 2)


# ----------------------------------------------------------------------------------
# ModelCheckpoint
# ----------------------------------------------------------------------------------
def test_model_checkpoint_save_best_only_formats_the_filepath_on_improvements(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.weights.npz")
    run_fit(model, [C.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)],
            val_losses(1.0, 1.2, 0.5, 0.7))
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-1.00.weights.npz", "ckpt-03-0.50.weights.npz"]
    fresh = FakeModel()
    fresh.load_weights(tmp_path / "ckpt-03-0.50.weights.npz")
    assert weight_epoch(fresh) == 2


@pytest.mark.parametrize("save_best_only, expected_epoch", [(True, 2), (False, 3)])
def test_model_checkpoint_fixed_path_holds_the_best_or_the_last_weights(tmp_path, save_best_only, expected_epoch):
    model = FakeModel()
    path = tmp_path / "best.weights.h5"
    run_fit(model, [C.ModelCheckpoint(path, save_best_only=save_best_only, save_weights_only=True)],
            val_losses(1.0, 0.8, 0.3, 0.9))
    fresh = FakeModel()
    fresh.load_weights(path)
    assert weight_epoch(fresh) == expected_epoch


def test_model_checkpoint_initial_value_threshold_and_max_mode(tmp_path):
    path = str(tmp_path / "e{epoch}.weights.npz")
    logs = [{"val_acc": v} for v in (0.5, 0.85, 0.8, 0.9)]
    cb = C.ModelCheckpoint(path, monitor="val_acc", mode="max", save_best_only=True, save_weights_only=True,
                           initial_value_threshold=0.6)
    run_fit(FakeModel(), [cb], logs)
    assert sorted(os.listdir(tmp_path)) == ["e2.weights.npz", "e4.weights.npz"]
    assert cb.best == 0.9


def test_model_checkpoint_save_freq_in_batches(tmp_path):
    path = str(tmp_path / "e{epoch}b{batch}.weights.npz")
    run_fit(FakeModel(), [C.ModelCheckpoint(path, save_weights_only=True, save_freq=3)], val_losses(1, 1, 1), steps=2)
    assert sorted(os.listdir(tmp_path)) == ["e2b1.weights.npz", "e3b2.weights.npz"]


def test_model_checkpoint_interrupted_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.weights.npz"
    model = FakeModel()
    run_fit(model, [C.ModelCheckpoint(path, save_weights_only=True)], val_losses(1.0))
    before = path.read_bytes()

    def crash_mid_write(f, data):
        f.write(data[: len(data) // 2])
        f.flush()
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_write_all", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        run_fit(model, [C.ModelCheckpoint(path, save_weights_only=True)], val_losses(1.0, 0.5))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.weights.npz"]  # no temporary file left
    fresh = FakeModel()
    fresh.load_weights(path)
    assert weight_epoch(fresh) == 0


@pytest.mark.parametrize("filepath, kwargs, match", [
    ("model.h5x", {}, "must end in `.keras`"),
    ("w.keras", {"save_weights_only": True}, "weights.h5"),
    ("w.weights.npz", {"save_freq": "batch"}, "save_freq"),
])
def test_model_checkpoint_rejects_bad_arguments(filepath, kwargs, match):
    with pytest.raises(ValueError, match=match):
        C.ModelCheckpoint(filepath, **kwargs)


def test_model_checkpoint_unknown_format_key_names_the_logs(tmp_path):
    cb = C.ModelCheckpoint(str(tmp_path / "{epoch}-{val_auc}.weights.npz"), save_weights_only=True)
    with pytest.raises(KeyError, match="val_auc"):
        run_fit(FakeModel(), [cb], val_losses(1.0))


# ----------------------------------------------------------------------------------
# learning rate callbacks
# ----------------------------------------------------------------------------------
def test_learning_rate_scheduler_sets_the_rate_at_each_epoch_and_logs_it():
    model = FakeModel(lr=0.1)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr * 0.5 if epoch > 0 else lr

    history = run_fit(model, [C.LearningRateScheduler(schedule)], val_losses(1, 1, 1))
    assert seen == [(0, pytest.approx(0.1)), (1, pytest.approx(0.1)), (2, pytest.approx(0.05))]
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.025)


def test_learning_rate_scheduler_accepts_one_argument_schedule_and_checks_the_output():
    model = FakeModel()
    run_fit(model, [C.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], val_losses(1, 1))
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="should be a float"):
        run_fit(model, [C.LearningRateScheduler(lambda epoch, lr: "fast")], val_losses(1))


def test_reduce_lr_on_plateau_patience_cooldown_and_min_lr():
    model = FakeModel(lr=0.1)
    cb = C.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    history = run_fit(model, [cb], val_losses(*[1.0] * 8))
    # lr used during each epoch (logged before the reduction at that epoch's end)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02])
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_reduce_lr_on_plateau_improvement_beyond_min_delta_resets_the_wait():
    model = FakeModel(lr=1.0)
    cb = C.ReduceLROnPlateau(factor=0.1, patience=2, min_delta=0.01)
    # 0.995 is not 0.01 better than 1.0 (wait 1, 2 → reduce); 0.5 is (wait 0)
    run_fit(model, [cb], val_losses(1.0, 0.995, 0.995, 0.5, 0.5))
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    assert cb.wait == 1


def test_reduce_lr_on_plateau_rejects_factor_of_one():
    with pytest.raises(ValueError, match="factor"):
        C.ReduceLROnPlateau(factor=1.0)


# ----------------------------------------------------------------------------------
# CSVLogger, TerminateOnNaN, LambdaCallback, History, CallbackList
# ----------------------------------------------------------------------------------
def test_csv_logger_writes_epoch_then_sorted_keys(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "val_loss": 0.6, "accuracy": 0.9}, {"loss": 0.25, "val_loss": 0.3, "accuracy": 0.95}]
    run_fit(FakeModel(), [C.CSVLogger(path)], logs)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["epoch", "accuracy", "loss", "val_loss"], ["0", "0.9", "0.5", "0.6"], ["1", "0.95", "0.25", "0.3"]]


def test_csv_logger_append_separator_and_missing_values(tmp_path):
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [C.CSVLogger(path, separator=";")], [{"loss": 1.0, "val_loss": 2.0}])
    run_fit(FakeModel(), [C.CSVLogger(path, separator=";", append=True)], [{"loss": 3.0}])
    # no val_ key at the first epoch: Keras 3 adds a val_<key> column per key (NA here)
    assert path.read_text().splitlines() == ["epoch;loss;val_loss", "0;1.0;2.0", "0;3.0;NA"]
    run_fit(FakeModel(), [C.CSVLogger(path)], [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5}])
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,1.0,2.0", "1,0.5,NA"]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_terminate_on_nan_stops_at_the_bad_batch(bad):
    model = FakeModel()
    history = run_fit(model, [C.TerminateOnNaN()], val_losses(1, 1, 1, 1), steps=3,
                      batch_loss=lambda e, b: bad if (e, b) == (1, 1) else 0.5)
    assert model.stop_training and history.epoch == [0, 1]


def test_lambda_callback_hooks_fire_in_order():
    calls = []
    cb = C.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_begin=lambda batch, logs: calls.append(f"batch_begin {batch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch_end {batch} {logs['loss']}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {logs['val_loss']}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    run_fit(FakeModel(), [cb], val_losses(0.5), steps=2)
    assert calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0 1.0", "batch_begin 1",
                     "batch_end 1 1.0", "epoch_end 0 0.5", "train_end"]
    with pytest.raises(ValueError, match="unknown hook"):
        C.LambdaCallback(on_epoch_middle=print)


def test_on_batch_end_is_the_fallback_of_on_train_batch_end():
    seen = []
    run_fit(FakeModel(), [C.LambdaCallback(on_batch_end=lambda b, logs: seen.append(b))], val_losses(1, 1), steps=2)
    assert seen == [0, 1, 0, 1]


def test_callback_list_adds_history_sets_params_and_model():
    model = FakeModel()
    user = C.Callback()
    cbl = C.CallbackList([user], add_history=True, add_progbar=False, model=model, verbose=0, epochs=3, steps=5)
    assert len(cbl) == 2 and isinstance(cbl.callbacks[-1], C.History)
    assert model.history is cbl.callbacks[-1]
    assert user.model is model and user.params == {"verbose": 0, "epochs": 3, "steps": 5}
    with pytest.raises(TypeError, match="Callback instances"):
        C.CallbackList([lambda: None])


def test_callback_list_converts_batch_logs_to_python_floats():
    seen = []
    cbl = C.CallbackList([C.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs))])
    cbl.on_train_batch_end(0, {"loss": numpy.float32(0.5), "acc": numpy.array(1.0)})
    assert seen == [{"acc": 1.0, "loss": 0.5}] and type(seen[0]["loss"]) is float


def test_progbar_logger_prints_epochs(capsys):
    pytest.importorskip("neuronka.utils.progbar")
    cbl = C.CallbackList([], add_history=True, add_progbar=True, model=FakeModel(), verbose=1, epochs=2, steps=2)
    cbl.on_train_begin()
    for epoch in range(2):
        cbl.on_epoch_begin(epoch)
        for b in range(2):
            cbl.on_train_batch_begin(b)
            cbl.on_train_batch_end(b, {"loss": 0.5})
        cbl.on_epoch_end(epoch, {"loss": 0.5})
    cbl.on_train_end()
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss" in out


# ----------------------------------------------------------------------------------
# BackupAndRestore
# ----------------------------------------------------------------------------------
def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    backup = tmp_path / "backup"
    model = FakeModel()
    with pytest.raises(KeyboardInterrupt):
        run_fit(model, [C.BackupAndRestore(backup)], val_losses(1, 1, 1, 1), fail_at_epoch=2)
    assert sorted(os.listdir(backup)) == ["latest.weights.npz", "training_metadata.json"]

    resumed = FakeModel()
    epochs_seen = []
    history = run_fit(resumed, [C.BackupAndRestore(backup),
                                C.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_seen.append(e))],
                      val_losses(1, 1, 1, 1))
    assert resumed._initial_epoch == 2 and epochs_seen == [2, 3] and history.epoch == [2, 3]
    assert not backup.exists()  # deleted after a completed fit


def test_backup_and_restore_restores_the_weights_of_the_last_completed_epoch(tmp_path):
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        run_fit(FakeModel(), [C.BackupAndRestore(backup)], val_losses(1, 1, 1), fail_at_epoch=2)
    resumed = FakeModel()
    cb = C.BackupAndRestore(backup)
    cb.set_model(resumed)
    cb.on_train_begin()
    assert weight_epoch(resumed) == 1 and resumed._initial_epoch == 2

"""neuronka.training from Python: settings, augmentation specs, schedules, seeded batches, reseeding, the text
classifiers, and a text run that resumes bit for bit, also after a crash in the middle of a checkpoint."""
import json
import math

import numpy
import pytest

from neuronka import layers, saving, training
from neuronka.applications.text import TEXT_MODELS, text_classifier
from neuronka.models import Model
from neuronka.training import JobError, TokenBatches, make_schedule, parse_augment, parse_text_augment

HAM = "ok see you at home later tonight thanks for the lunch call me when you get there love mum".split()
SPAM = "win free prize cash claim now urgent txt stop reply award guaranteed mobile offer".split()


def write_sms(path, n_ham=160, n_spam=40, seed=0):
    """A small file in the SMS Spam Collection's format: label<TAB>message."""
    rng = numpy.random.default_rng(seed)
    lines = []
    for label, words, n in (("ham", HAM, n_ham), ("spam", SPAM + HAM[:4], n_spam)):
        for _ in range(n):
            lines.append(f"{label}\t" + " ".join(rng.choice(words, size=rng.integers(3, 12))))
    rng.shuffle(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- settings
def test_settings_take_the_defaults_of_the_datasets_kind():
    s = training.resolve_settings({"dataset": "cifar10"})
    assert (s["model"], s["optimizer"], s["lr"], s["schedule"], s["batch_size"]) == ("resnet20", "sgd", 0.1,
                                                                                     "cosine", 128)
    assert s["augment"] == "crop,flip" and s["weight_decay"] == 1e-4 and "max_tokens" not in s
    t = training.resolve_settings({"dataset": "sms-spam", "optimizer": "sgd"})
    assert (t["model"], t["lr"], t["schedule"]) == ("lstm", 0.1, "constant") and "augment" not in t
    assert training.resolve_settings({"dataset": "cifar100"})["label_mode"] == "fine"
    assert training.resolve_settings({"model": "ResNet-56"})["model"] == "resnet56"


@pytest.mark.parametrize("options, message", [
    ({"dataset": "mnist"}, "unknown dataset"),
    ({"model": "bilstm"}, "not a image model"),
    ({"dataset": "sentiment", "model": "resnet20"}, "not a text model"),
    ({"epochs": 0}, "--epochs"),
    ({"lr": -1.0}, "--lr"),
    ({"seed": -3}, "--seed"),
    ({"label_smoothing": 1.0}, "--label-smoothing"),
    ({"warmup_epochs": 5, "epochs": 5}, "--warmup-epochs"),
    ({"schedule": "onecycle", "warmup_epochs": 1}, "onecycle"),
    ({"dataset": "sms-spam", "class_weight": "auto"}, "--class-weight"),
    ({"dataset": "sms-spam", "augment_text": "shuffle=0.1"}, "shuffle"),
    ({"augment": "crop=-2"}, "crop_padding"),
])
def test_bad_settings_raise_job_errors_naming_the_option(options, message):
    with pytest.raises(JobError, match=message):
        training.resolve_settings(options)


def test_augment_specs():
    assert parse_augment("none") is None and parse_augment("") is None
    assert parse_augment("crop,flip") == {"crop_padding": 4, "horizontal_flip": True}
    assert parse_augment("cifar") == parse_augment("crop,flip")
    assert parse_augment("crop=2,rotate=10,cutout=8,noise") == {"crop_padding": 2, "rotation": 10.0, "cutout": 8,
                                                                "noise": 0.03}
    with pytest.raises(JobError, match="not a valid int"):
        parse_augment("crop=two")
    assert parse_text_augment("dropout=0.1,swap=0.2") == {"dropout": 0.1, "swap": 0.2}
    assert parse_text_augment("none") == {}
    with pytest.raises(JobError, match=r"\[0, 1\]"):
        parse_text_augment("dropout=2")


# ---------------------------------------------------------------------------------- schedules
def _settings(**kw):
    return training.resolve_settings({"epochs": 4, "lr": 0.1, **kw})


def test_step_schedule_divides_by_10_at_half_and_three_quarters():
    sched = make_schedule(_settings(schedule="step"), steps_per_epoch=25)  # 100 steps
    assert [sched(t) for t in (0, 50, 51, 75, 76, 99)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_cosine_with_warmup_rises_linearly_then_decays_to_zero():
    sched = make_schedule(_settings(warmup_epochs=1), steps_per_epoch=10)  # 10 warm-up steps, 30 decay steps
    assert sched(0) == 0 and sched(5) == pytest.approx(0.05) and sched(10) == pytest.approx(0.1)
    assert sched(25) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 15 / 30)))
    assert sched(40) == pytest.approx(0.0, abs=1e-12)
    plain = make_schedule(_settings(), steps_per_epoch=10)
    assert plain(0) == pytest.approx(0.1) and plain(20) == pytest.approx(0.05)


def test_onecycle_peaks_at_the_given_rate_and_constant_warmup_stays_flat():
    sched = make_schedule(_settings(schedule="onecycle"), steps_per_epoch=25)
    values = [sched(t) for t in range(100)]
    assert max(values) == pytest.approx(0.1) and values[0] == pytest.approx(0.1 / 25) and values[-1] < 1e-5
    const = make_schedule(_settings(schedule="constant", warmup_epochs=1), steps_per_epoch=10)
    assert const(5) == pytest.approx(0.05) and [const(t) for t in (10, 20, 39)] == pytest.approx([0.1] * 3)
    assert make_schedule(_settings(schedule="constant"), steps_per_epoch=10) == 0.1


# ---------------------------------------------------------------------------------- randomness
def test_token_batches_depend_only_on_seed_epoch_and_index():
    x = numpy.arange(1, 201).reshape(40, 5)
    y = numpy.arange(40)
    a = TokenBatches(x, y, batch_size=8, seed=3, dropout=0.2, swap=0.4)
    b = TokenBatches(x, y, batch_size=8, seed=3, dropout=0.2, swap=0.4)
    b.epoch = 1
    later = b[2]
    first = [a[i] for i in range(len(a))]
    a.on_epoch_end()
    assert all(numpy.array_equal(u, v) for u, v in zip(a[2], later))  # epoch 1, batch 2, whatever came before
    assert numpy.array_equal(numpy.sort(numpy.concatenate([yb for _, yb in first])), y)  # a permutation
    assert not numpy.array_equal(first[2][1], later[1])  # a new shuffle each epoch
    xb, _ = first[0]
    assert xb.shape == (8, 5) and (xb == 0).any()  # token dropout re-pads with 0


def test_reseed_makes_dropout_a_function_of_seed_and_epoch():
    inputs = layers.Input(shape=(50,))
    outputs = layers.Dropout(0.5, seed=1)(layers.Dropout(0.5)(inputs))
    model = Model(inputs, outputs)
    x = numpy.ones((4, 50), dtype="float32")

    def draw(epoch):
        training.reseed(model, 11, epoch)
        return numpy.asarray(model(x, training=True).data)

    assert numpy.array_equal(draw(2), draw(2))
    assert not numpy.array_equal(draw(2), draw(3))


# ---------------------------------------------------------------------------------- text classifiers
@pytest.mark.parametrize("kind", TEXT_MODELS)
def test_text_classifiers_build_and_predict(kind):
    model = text_classifier(kind, vocab_size=30, sequence_length=7, embedding_dim=4, units=3)
    x = numpy.array([[5, 6, 7, 0, 0, 0, 0], [2, 9, 9, 9, 1, 3, 0]])
    p = model.predict(x, verbose=0)
    assert p.shape == (2, 1) and numpy.all((p > 0) & (p < 1))
    assert model.layers[1].mask_zero
    three = text_classifier(kind, 30, None, 4, 3, num_classes=3)
    numpy.testing.assert_allclose(three.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def test_text_classifier_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        text_classifier("rnn", 30, 7)
    with pytest.raises(ValueError, match="num_classes"):
        text_classifier("gru", 30, 7, num_classes=1)


# ---------------------------------------------------------------------------------- a text run
TEXT_OPTIONS = dict(dataset="sms-spam", model="lstm", epochs=3, batch_size=16, max_tokens=60, sequence_length=12,
                    embedding_dim=8, units=6, class_weight="balanced", augment_text="dropout=0.1,swap=0.2", seed=5,
                    lr=0.01, verbose=0)


def _weights(run):
    state = json.loads((run / "checkpoint.json").read_text())
    with numpy.load(run / state["weights"], allow_pickle=False) as f:
        return {k: f[k] for k in f.files if k != "__neuronka__"}


def test_text_run_resumes_bit_for_bit_even_after_a_crash_inside_a_checkpoint(tmp_path, monkeypatch, capsys):
    data = write_sms(tmp_path / "SMSSpamCollection")
    full = training.train(TEXT_OPTIONS, data=data, out=tmp_path / "full")
    assert full["status"] == "finished" and full["train_items"] == 3 * 160
    report = json.loads((tmp_path / "full" / "report.json").read_text())
    assert report["positive_class"]["name"] == "spam" and set(report["report"]) >= {"ham", "spam", "macro avg"}
    assert json.loads((tmp_path / "full" / "config.json").read_text())["class_weight"]["1"] == pytest.approx(2.5)

    # the process dies while writing the checkpoint of epoch 2: the weights file is never renamed into place
    real_write = saving._write_all
    npz_writes = []

    def dying_write(f, payload):
        if payload[:2] == b"PK":  # a weights file (a zip); the second is epoch 2's
            npz_writes.append(len(payload))
            if len(npz_writes) == 2:
                f.write(payload[:100])
                raise KeyboardInterrupt("power cut")
        real_write(f, payload)

    monkeypatch.setattr(saving, "_write_all", dying_write)
    with pytest.raises(KeyboardInterrupt):
        training.train(TEXT_OPTIONS, data=data, out=tmp_path / "crash")
    monkeypatch.setattr(saving, "_write_all", real_write)
    crash = tmp_path / "crash"
    assert json.loads((crash / "checkpoint.json").read_text())["epoch"] == 1
    assert sorted(p.name for p in (crash / "checkpoint").iterdir()) == ["epoch-0001.weights.npz"]  # no temp file

    numpy.random.seed(999)
    resumed = training.train(dict(verbose=0), out=crash, resume=True)
    assert resumed["status"] == "finished"
    a, b = _weights(tmp_path / "full"), _weights(crash)
    assert sorted(a) == sorted(b) and all(numpy.array_equal(a[k], b[k]) for k in a)
    assert (tmp_path / "full" / "history.csv").read_text() == (crash / "history.csv").read_text()

    # the finished run serves evaluate and predict (the vocabulary travels with the run)
    result = training.evaluate(tmp_path / "full", verbose=0)
    assert result["accuracy"] == pytest.approx(report["accuracy"])
    preds = training.predict(tmp_path / "full", ["win free cash prize now", "see you at home"], top=2, verbose=0)
    assert [name for name, _ in preds[0]["top"]] in (["spam", "ham"], ["ham", "spam"])
    assert sum(p for _, p in preds[0]["top"]) == pytest.approx(1.0, abs=1e-5)


def test_a_weights_file_without_its_config_needs_the_model_name(tmp_path):
    model = text_classifier("gru", 30, 5)
    model.save_weights(tmp_path / "w.weights.npz")
    with pytest.raises(JobError, match="--model"):
        training.load_run(tmp_path / "w.weights.npz")
    with pytest.raises(JobError, match="does not exist"):
        training.load_run(tmp_path / "missing")

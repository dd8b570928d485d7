"""``keras.callbacks.TensorBoard``: event files that TensorBoard's own reader (``EventAccumulator``) reads back with
the tags, steps and values of the training, compared with what Keras 3.15.1's TensorBoard callback writes.

Keras's callback writes through ``tf.summary`` and TensorFlow is not installed here, so Keras's real callback is
run with a stand-in for ``tf.summary`` (its ``_summary_module``) that records each summary instead of writing it,
with TensorFlow's rules: a summary is written only inside ``writer.as_default()`` and while the innermost
``record_if`` condition holds. The ``keras`` model-JSON summary (``write_graph``) imports TensorFlow itself, so it
is checked against Keras's source (tag ``keras``, plugin ``graph_keras_model``, content ``b"1"``, step 0).
"""
from __future__ import annotations

import contextlib
import io
import os
import sys

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_api, keras_or_skip
from .test_keras_callbacks import data, twins

pytest.importorskip("tensorboard", reason="the TensorBoard callback needs the tensorboard extra")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.histogram.summary_v2 import histogram_pb  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402


# ----------------------------------------------------------------------------------------------
# Keras's callback with a recording tf.summary
# ----------------------------------------------------------------------------------------------
class _Writer:
    def __init__(self, summary, logdir):
        self.summary, self.logdir = summary, logdir

    @contextlib.contextmanager
    def as_default(self, step=None):
        self.summary.defaults.append((self, step))
        try:
            yield self
        finally:
            self.summary.defaults.pop()

    def flush(self):
        pass

    def close(self):
        pass


class TFSummaryStandIn:
    """``create_file_writer``, ``record_if``, ``scalar``, ``histogram``, ``image``: records
    ``(folder, kind, tag, step, value)`` where TensorFlow would write."""

    def __init__(self, to_numpy):
        self.to_numpy = to_numpy
        self.records, self.defaults, self.conditions = [], [], []

    def create_file_writer(self, logdir):
        return _Writer(self, logdir)

    @contextlib.contextmanager
    def record_if(self, condition):
        self.conditions.append(condition)
        try:
            yield
        finally:
            self.conditions.pop()

    def _write(self, kind, name, data, step):
        if not self.defaults:
            return False  # no default writer: tf.summary writes nothing
        if self.conditions:
            condition = self.conditions[-1]
            if not (condition() if callable(condition) else condition):
                return False
        writer, default_step = self.defaults[-1]
        step = default_step if step is None else step
        self.records.append((os.path.basename(writer.logdir), kind, name, int(self.to_numpy(step)),
                             numpy.asarray(self.to_numpy(data))))
        return True

    def scalar(self, name, data, step=None, description=None):
        return self._write("scalar", name, data, step)

    def histogram(self, name, data, step=None, buckets=None, description=None):
        return self._write("histogram", name, data, step)

    def image(self, name, data, step=None, max_outputs=3, description=None):
        return self._write("image", name, data, step)


def keras_records(log_dir, fit_kwargs, n=12, **tb_kwargs):
    """Fit the Keras twin with Keras's TensorBoard on the stand-in: (records, history, model)."""
    keras = keras_or_skip()
    model = twins()[0]
    tb = keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, **tb_kwargs)
    tb._summary_module = TFSummaryStandIn(keras.ops.convert_to_numpy)
    x, y = data(n)
    history = model.fit(x, y, callbacks=[tb], verbose=0, shuffle=False, **fit_kwargs)
    return tb._summary_module.records, history, model


def neuronka_records(log_dir, fit_kwargs, n=12, **tb_kwargs):
    """Fit the neuronka twin with its TensorBoard; read the event files back with EventAccumulator:
    (records [(folder, kind, tag, step, value)], history, model, accumulators)."""
    model = twins()[1]
    x, y = data(n)
    history = model.fit(x, y, callbacks=[nk.callbacks.TensorBoard(log_dir=str(log_dir), **tb_kwargs)], verbose=0,
                        shuffle=False, **fit_kwargs)
    records, accumulators = [], {}
    for folder in ("train", "validation"):
        if not (log_dir / folder).exists():
            continue
        acc = accumulators[folder] = EventAccumulator(str(log_dir / folder), size_guidance={"tensors": 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            kind = {"scalars": "scalar", "histograms": "histogram", "images": "image"}.get(plugin, plugin)
            for event in acc.Tensors(tag):
                records.append((folder, kind, tag, event.step, tensor_util.make_ndarray(event.tensor_proto)))
    return records, history, model, accumulators


def series(records, kinds=("scalar",)):
    """{(folder, tag): [(step, value), ...]} for the given kinds."""
    out: dict = {}
    for folder, kind, tag, step, value in records:
        if kind in kinds:
            out.setdefault((folder, tag), []).append((step, value))
    return out


def assert_same_scalars(actual, expected):
    assert sorted(actual) == sorted(expected), "the (folder, tag) pairs"
    for key, points in expected.items():
        assert [s for s, _ in actual[key]] == [s for s, _ in points], f"steps of {key}"
        numpy.testing.assert_allclose([float(v) for _, v in actual[key]], [float(v) for _, v in points],
                                      rtol=2e-4, atol=1e-6, err_msg=str(key))


FIT = {"batch_size": 4, "epochs": 3}


# ----------------------------------------------------------------------------------------------
# scalars
# ----------------------------------------------------------------------------------------------
@keras_api("callbacks.TensorBoard")
@pytest.mark.parametrize("update_freq, n", [("epoch", 12), ("batch", 12), (2, 16)], ids=["epoch", "batch", "2"])
def test_tensorboard_writes_keras_scalars_tags_steps_and_values(tmp_path, update_freq, n):
    x, y = data(n)
    fit = {**FIT, "validation_data": (x[:6], y[:6])}
    k_records, k_history, _ = keras_records(tmp_path / "k", fit, n=n, update_freq=update_freq)
    n_records, n_history, _, _ = neuronka_records(tmp_path / "n", fit, n=n, update_freq=update_freq,
                                                  write_graph=False)
    expected = series(k_records)
    assert ("train", "epoch_learning_rate") in expected and ("validation", "evaluation_loss_vs_iterations") in expected
    assert any(tag.startswith("batch_") for _, tag in expected) == (update_freq != "epoch")
    assert_same_scalars(series(n_records), expected)


@keras_api("callbacks.TensorBoard")
def test_tensorboard_event_files_read_back_equal_the_training_history(tmp_path):
    x, y = data()
    records, history, model, accumulators = neuronka_records(tmp_path, {**FIT, "validation_data": (x[:6], y[:6])})
    scalars = series(records)
    for key, values in history.history.items():
        folder, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
        points = scalars[(folder, f"epoch_{name}")]
        assert [s for s, _ in points] == history.epoch
        numpy.testing.assert_allclose([float(v) for _, v in points], values, rtol=1e-6)
    assert [float(v) for _, v in scalars[("train", "epoch_learning_rate")]] == pytest.approx([0.05] * 3)
    steps = [s for s, _ in scalars[("validation", "evaluation_loss_vs_iterations")]]
    assert steps == [3, 6, 9]  # the optimizer's iterations after each epoch (3 batches each)
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    assert all(f.startswith("events.out.tfevents.") for f in os.listdir(tmp_path / "train"))


@keras_api("callbacks.TensorBoard")
def test_tensorboard_steps_per_second_tags_equal_keras(tmp_path):
    fit = {**FIT, "epochs": 2}
    k_records, _, _ = keras_records(tmp_path / "k", fit, update_freq=1, write_steps_per_second=True)
    n_records, _, _, _ = neuronka_records(tmp_path / "n", fit, update_freq=1, write_steps_per_second=True,
                                          write_graph=False)
    expected = {k: [s for s, _ in v] for k, v in series(k_records).items()}
    actual = {k: [s for s, _ in v] for k, v in series(n_records).items()}
    assert actual == expected
    assert ("train", "batch_steps_per_second") in expected and ("train", "epoch_steps_per_second") in expected
    assert all(float(v) > 0 for _, v in series(n_records)[("train", "epoch_steps_per_second")])


@keras_api("callbacks.TensorBoard")
def test_tensorboard_evaluate_alone_writes_the_evaluation_scalars_like_keras(tmp_path):
    keras = keras_or_skip()
    x, y = data()
    results = []
    for lib, model in zip((keras, nk), twins()):
        tb = lib.callbacks.TensorBoard(log_dir=str(tmp_path / lib.__name__), write_graph=False)
        if lib is keras:
            tb._summary_module = TFSummaryStandIn(keras.ops.convert_to_numpy)
        model.evaluate(x, y, verbose=0, callbacks=[tb])
        if lib is keras:
            results.append(series(tb._summary_module.records))
        else:
            tb._close_writers()
            acc = EventAccumulator(str(tmp_path / "neuronka" / "validation"))
            acc.Reload()
            results.append({("validation", tag): [(e.step, tensor_util.make_ndarray(e.tensor_proto))
                                                  for e in acc.Tensors(tag)] for tag in acc.Tags()["tensors"]})
    assert sorted(results[0]) == [("validation", "evaluation_loss_vs_iterations"),
                                  ("validation", "evaluation_mae_vs_iterations")]
    assert_same_scalars(results[1], results[0])


@keras_api("callbacks.TensorBoard")
def test_tensorboard_writes_epoch_scalars_even_when_the_batches_are_not_divisible_by_update_freq(tmp_path):
    """TensorFlow skips them there (tensorflow/tensorflow#49109, Keras leaves a record_if active); neuronka does
    not copy that: every epoch has its epoch_* points, and the batch points are Keras's."""
    fit = {**FIT, "epochs": 2}  # 3 batches an epoch, update_freq=2
    k_records, _, _ = keras_records(tmp_path / "k", fit, update_freq=2)
    n_records, _, _, _ = neuronka_records(tmp_path / "n", fit, update_freq=2, write_graph=False)
    k, n = series(k_records), series(n_records)
    assert [s for s, _ in k[("train", "epoch_loss")]] == [1]  # Keras/TF: epoch 0 ended at batch 3, not recorded
    assert [s for s, _ in n[("train", "epoch_loss")]] == [0, 1]
    assert {key: [s for s, _ in v] for key, v in n.items() if key[1].startswith("batch_")} == \
           {key: [s for s, _ in v] for key, v in k.items() if key[1].startswith("batch_")}


# ----------------------------------------------------------------------------------------------
# histograms, images, the model summary
# ----------------------------------------------------------------------------------------------
@keras_api("callbacks.TensorBoard")
def test_tensorboard_histograms_and_images_have_keras_tags_steps_and_pixels(tmp_path):
    from PIL import Image

    fit = {**FIT, "epochs": 3}
    k_records, _, k_model = keras_records(tmp_path / "k", fit, histogram_freq=2, write_images=True)
    n_records, _, n_model, _ = neuronka_records(tmp_path / "n", fit, histogram_freq=2, write_images=True,
                                                write_graph=False)

    def keyed(records, kind):
        # Keras's weight paths carry the Sequential's name ("sequential/dense/kernel"), neuronka's do not (yet)
        return {(tag.split("/", 1)[1] if tag.startswith("sequential") else tag, step): value
                for folder, k, tag, step, value in records if k == kind and folder == "train"}

    k_hist, n_hist = keyed(k_records, "histogram"), keyed(n_records, "histogram")
    assert sorted(n_hist) == sorted(k_hist) and ("hidden/kernel/histogram", 2) in k_hist
    for (tag, step), buckets in n_hist.items():
        assert buckets.shape == (30, 3) and buckets[:, 2].sum() == k_hist[(tag, step)].size
        expected = tensor_util.make_ndarray(histogram_pb(tag, k_hist[(tag, step)]).value[0].tensor)
        numpy.testing.assert_allclose(buckets[:, :2], expected[:, :2], rtol=1e-4, atol=1e-5, err_msg=tag)
    k_img, n_img = keyed(k_records, "image"), keyed(n_records, "image")
    assert sorted(n_img) == sorted(k_img) and ("hidden/kernel/image", 0) in k_img
    for key, content in n_img.items():
        expected = k_img[key]  # Keras's float image [k, h, w, 1]; tf.summary.image turns it into uint8
        width, height, *pngs = content
        assert (int(height), int(width), len(pngs)) == (expected.shape[1], expected.shape[2], expected.shape[0])
        pixels = numpy.stack([numpy.asarray(Image.open(io.BytesIO(p))) for p in pngs])
        expected_pixels = numpy.clip(expected[..., 0].astype(numpy.float64) * 255.5, 0, 255).astype(numpy.uint8)
        assert numpy.abs(pixels.astype(int) - expected_pixels.astype(int)).max() <= 1, key


@keras_api("callbacks.TensorBoard")
def test_tensorboard_write_graph_writes_the_model_json_as_keras_model_summary(tmp_path):
    model = twins()[1]
    model.fit(*data(), epochs=1, verbose=0, callbacks=[nk.callbacks.TensorBoard(str(tmp_path))])
    acc = EventAccumulator(str(tmp_path / "train"))
    acc.Reload()
    [event] = acc.Tensors("keras")
    meta = acc.SummaryMetadata("keras").plugin_data
    assert (meta.plugin_name, meta.content, event.step) == ("graph_keras_model", b"1", 0)
    assert tensor_util.make_ndarray(event.tensor_proto).item().decode() == model.to_json()


@keras_api("callbacks.TensorBoard")
def test_tensorboard_embeddings_write_the_projector_config_and_checkpoints_like_keras(tmp_path):
    keras = keras_or_skip()
    x = numpy.arange(12).reshape(6, 2) % 5
    y = numpy.ones((6, 1), "float32")
    out = {}
    for lib in (keras, nk):
        model = lib.Sequential([lib.Input((2,), dtype="int32"), lib.layers.Embedding(5, 3, name="emb"),
                                lib.layers.Flatten(), lib.layers.Dense(1)])
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="mse")
        log_dir = tmp_path / lib.__name__
        (log_dir / "train").mkdir(parents=True)  # TensorFlow's writers create these before Keras writes there
        tb = lib.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, embeddings_freq=2,
                                       embeddings_metadata={"emb": "meta.tsv"})
        if lib is keras:
            tb._summary_module = TFSummaryStandIn(keras.ops.convert_to_numpy)
        model.fit(x, y, epochs=3, verbose=0, callbacks=[tb])
        out[lib.__name__] = ((log_dir / "projector_config.pbtxt").read_text(),
                             sorted(f for f in os.listdir(log_dir / "train") if f.startswith("keras_embedding")))
    assert out["neuronka"] == out["keras"]
    assert out["keras"][1] == ["keras_embedding.ckpt-0.weights.h5", "keras_embedding.ckpt-2.weights.h5"]
    with pytest.raises(ValueError, match="Unrecognized `Embedding` layer names"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[nk.callbacks.TensorBoard(
            str(tmp_path / "bad"), embeddings_freq=1, embeddings_metadata={"nope": "m.tsv"})])


# ----------------------------------------------------------------------------------------------
# arguments and the missing extra
# ----------------------------------------------------------------------------------------------
@keras_api("callbacks.TensorBoard")
def test_tensorboard_defaults_equal_keras():
    keras = keras_or_skip()
    import inspect

    k = inspect.signature(keras.callbacks.TensorBoard.__init__).parameters
    n = inspect.signature(nk.callbacks.TensorBoard.__init__).parameters
    assert [(p.name, p.default) for p in n.values()] == [(p.name, p.default) for p in k.values()]
    tb = nk.callbacks.TensorBoard(update_freq="batch")
    assert (tb.log_dir, tb.update_freq) == ("logs", 1) == (keras.callbacks.TensorBoard(update_freq="batch").log_dir,
                                                           keras.callbacks.TensorBoard(update_freq="batch").update_freq)


@pytest.mark.parametrize("kwargs, match", [({"update_freq": "often"}, "update_freq"),
                                           ({"update_freq": 0}, "update_freq"),
                                           ({"histogram_freq": -1}, "histogram_freq"),
                                           ({"embeddings_freq": 1.5}, "embeddings_freq")])
def test_tensorboard_refuses_bad_frequencies(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nk.callbacks.TensorBoard(**kwargs)


def test_tensorboard_without_the_tensorboard_package_says_how_to_install_it(monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install 'neuronka\[tensorboard\]'"):
        nk.callbacks.TensorBoard()

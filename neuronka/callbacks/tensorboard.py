"""The TensorBoard callback: event files that TensorBoard reads, written with the ``tensorboard`` package alone.

Layout and tags (Keras 3's)::

    log_dir/train/events.out.tfevents...        epoch_loss, epoch_<metric>, epoch_learning_rate   (step: epoch)
                                                [epoch_steps_per_second]                          (step: epoch)
                                                batch_loss, batch_<metric> [batch_steps_per_second]
                                                                       (update_freq=N: step = global batch)
                                                <weight path>/histogram, <weight path>/image      (step: epoch)
                                                keras: the model's JSON                           (step: 0)
    log_dir/validation/events.out.tfevents...   epoch_loss, epoch_<metric>                        (step: epoch)
                                                evaluation_loss_vs_iterations, evaluation_<metric>_vs_iterations
                                                                                   (step: optimizer.iterations)

Each value is the summary TensorFlow's ``tf.summary`` would write: a float32 tensor with the ``scalars``
plugin, a [30, 3] float64 (left edge, right edge, count) tensor with the ``histograms`` plugin, a string
tensor [width, height, png...] with the ``images`` plugin. The protos, summary builders and the event-file
writer are TensorBoard's own (``tensorboard.compat.proto``, ``plugins.*.summary_v2``,
``summary.writer.event_file_writer``), imported on first use: ``pip install 'neuronka[tensorboard]'``.
TensorFlow is not needed.
"""
from __future__ import annotations

import io
import os
import time
import warnings
from types import SimpleNamespace

import numpy

from .base import Callback, learning_rate_of
from .monitors import optimizers_of

_HISTOGRAM_BUCKETS = 30  # tf.summary.histogram's default
_MAX_IMAGES = 3  # tf.summary.image's default max_outputs


def _tensorboard_modules() -> SimpleNamespace:
    """TensorBoard's protos, summary builders and event-file writer, or an ImportError saying how to get them."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: PLC0415
        from tensorboard.plugins.histogram import summary_v2 as histogram_summary  # noqa: PLC0415
        from tensorboard.plugins.image import metadata as image_metadata  # noqa: PLC0415
        from tensorboard.plugins.scalar import summary_v2 as scalar_summary  # noqa: PLC0415
        from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: PLC0415
        from tensorboard.util import tensor_util  # noqa: PLC0415
    except ImportError as e:
        raise ImportError(
            "keras.callbacks.TensorBoard writes its event files with the `tensorboard` package, which could not "
            f"be imported ({e}). Install it with `pip install 'neuronka[tensorboard]'` (or `pip install "
            "tensorboard`); TensorFlow is not needed."
        ) from e
    return SimpleNamespace(event_pb2=event_pb2, summary_pb2=summary_pb2, histogram_summary=histogram_summary,
                           image_metadata=image_metadata, scalar_summary=scalar_summary,
                           EventFileWriter=EventFileWriter, tensor_util=tensor_util)


def _png(image: numpy.ndarray) -> bytes:
    """One [h, w, c] uint8 image (c = 1, 2, 3 or 4) as PNG bytes."""
    from PIL import Image  # noqa: PLC0415 - Pillow is a neuronka dependency

    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[image.shape[-1]]
    pixels = image[..., 0] if image.shape[-1] == 1 else image
    buffer = io.BytesIO()
    Image.fromarray(numpy.ascontiguousarray(pixels), mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _to_uint8(images: numpy.ndarray) -> numpy.ndarray:
    """tf.summary.image's conversion: floats clipped to [0, 1] then ×255 (``convert_image_dtype``: ⌊clip(x·255.5,
    0, 255)⌋), integers clipped to [0, 255]."""
    images = numpy.asarray(images)
    if images.dtype.kind == "f":
        return numpy.clip(images.astype(numpy.float64) * 255.5, 0, 255).astype(numpy.uint8)
    return numpy.clip(images, 0, 255).astype(numpy.uint8)


class SummaryWriter:
    """Writes TensorBoard summaries into one folder's event file (TensorBoard's ``EventFileWriter``).

    ``scalar(tag, value, step)``, ``histogram(tag, values, step)``, ``image(tag, images, step)`` (images:
    [k, h, w, c]), ``keras_model(tag, json, step)``, ``flush()``, ``close()``.
    """

    def __init__(self, logdir: str) -> None:
        self._tb = _tensorboard_modules()
        self.logdir = logdir
        self._writer = self._tb.EventFileWriter(logdir, filename_suffix=".v2")

    def _emit(self, summary, step: int) -> None:
        event = self._tb.event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        self._writer.add_event(event)

    def scalar(self, tag: str, value, step: int) -> None:
        self._emit(self._tb.scalar_summary.scalar_pb(tag, numpy.float32(value)), step)

    def histogram(self, tag: str, values, step: int) -> None:
        data = numpy.asarray(values, dtype=numpy.float64)
        self._emit(self._tb.histogram_summary.histogram_pb(tag, data, buckets=_HISTOGRAM_BUCKETS), step)

    def image(self, tag: str, images, step: int, max_outputs: int = _MAX_IMAGES) -> None:
        images = _to_uint8(images)[:max_outputs]
        height, width = images.shape[1], images.shape[2]
        content = [str(width).encode(), str(height).encode(), *(_png(img) for img in images)]
        tensor = self._tb.tensor_util.make_tensor_proto(content, dtype=numpy.object_)
        metadata = self._tb.image_metadata.create_summary_metadata(display_name=None, description=None)
        summary = self._tb.summary_pb2.Summary()
        summary.value.add(tag=tag, metadata=metadata, tensor=tensor)
        self._emit(summary, step)

    def keras_model(self, tag: str, model_json: str, step: int) -> None:
        """The model's JSON for TensorBoard's Keras-model graph view (plugin ``graph_keras_model``)."""
        pb = self._tb.summary_pb2
        metadata = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                                 content=b"1"))
        tensor = self._tb.tensor_util.make_tensor_proto(model_json.encode("utf-8"), dtype=numpy.object_)
        summary = pb.Summary()
        summary.value.add(tag=tag, metadata=metadata, tensor=tensor)
        self._emit(summary, step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _check_update_freq(update_freq):
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return update_freq
    if isinstance(update_freq, bool) or not isinstance(update_freq, (int, numpy.integer)) or update_freq <= 0:
        raise ValueError(f"TensorBoard: `update_freq` must be 'batch', 'epoch' or a positive integer (a number of "
                         f"batches). Received: update_freq={update_freq!r}")
    return int(update_freq)


def _check_profile_batch(profile_batch) -> None:
    if profile_batch:
        raise ValueError(
            "Profiling is not available in neuronka (it needs TensorFlow's or JAX's profiler; Keras's torch backend "
            f"refuses it too). Received: profile_batch={profile_batch} (must be 0)"
        )
    if not isinstance(profile_batch, int):
        raise ValueError("profile_batch must be a non-negative integer or 2-tuple of positive integers. A pair of "
                         f"positive integers signifies a range of batches to profile. Found: {profile_batch}")


def _weight_image(weight: numpy.ndarray) -> numpy.ndarray | None:
    """Keras's picture of a weight, [k, h, w, 1], or None when it has none: a vector → one 1×n image, a matrix →
    one image with the longer side across (transposed if taller than wide), a 3-D kernel → one image per
    output channel ([k, h, w] from channels-last [h, w, k]); 4-D weights are drawn only if their last axis is 1,
    3 or 4 (as channels)."""
    w = numpy.squeeze(weight)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:
        from ..config import image_data_format  # noqa: PLC0415

        if image_data_format() == "channels_last":
            w = numpy.transpose(w, (2, 0, 1))
        w = w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
    if w.ndim == 4 and w.shape[-1] in (1, 3, 4):
        return w
    return None


class TensorBoard(Callback):
    """Write TensorBoard logs: epoch (and batch) metrics, learning rate, weight histograms and images.

    Args:
        log_dir: the run's folder; ``train/`` and ``validation/`` event files go below it.
        histogram_freq: every this many epochs (0: never) write a histogram of each weight
            (tag ``<weight path>/histogram``, ``:`` replaced by ``_``).
        write_graph: write the model's JSON (tag ``keras``, TensorBoard's Keras-model view) for Sequential and
            functional models. There is no computation graph to write: neuronka has no graph functions.
        write_images: with ``histogram_freq``, also draw each weight as an image (tag ``<weight path>/image``).
        write_steps_per_second: log ``epoch_steps_per_second`` (and ``batch_steps_per_second`` with batch logs).
        update_freq: ``"epoch"``; or ``"batch"`` / an integer N: also log ``batch_<metric>`` at the global batch
            numbers divisible by N (counted from 1 over the whole ``fit``).
        profile_batch: must be 0: profiling needs TensorFlow's or JAX's profiler.
        embeddings_freq: every this many epochs save the weights (``train/keras_embedding.ckpt-<epoch>.weights.h5``)
            for the projector, configured in ``log_dir/projector_config.pbtxt`` (one entry per Embedding layer).
        embeddings_metadata: a metadata file for the projector: one path, or ``{layer name: path}``.

    One difference from Keras: with an integer ``update_freq``, TensorFlow skips the epoch summaries (and the
    ``evaluation_*`` ones) unless the number of batches seen is divisible by it (tensorflow/tensorflow#49109,
    a ``record_if`` left active); neuronka writes them every epoch.
    """

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq="epoch", profile_batch=0,
                 embeddings_freq: int = 0, embeddings_metadata=None) -> None:
        super().__init__()
        for name, value in (("histogram_freq", histogram_freq), ("embeddings_freq", embeddings_freq)):
            if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 0:
                raise ValueError(f"TensorBoard: `{name}` must be a non-negative integer (a number of epochs; 0 "
                                 f"disables it). Received: {name}={value!r}")
        _check_profile_batch(profile_batch)
        self.log_dir = str(os.fspath(log_dir))
        self.histogram_freq = int(histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = _check_update_freq(update_freq)
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._previous_epoch_iterations = 0
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._writers: dict[str, SummaryWriter] = {}
        _tensorboard_modules()  # fail now, not in the middle of fit, when tensorboard is missing

    # ---- writers ------------------------------------------------------------------------
    def set_model(self, model) -> None:
        self._model = model
        self._log_write_dir = self.log_dir
        self._train_dir = os.path.join(self._log_write_dir, "train")
        self._val_dir = os.path.join(self._log_write_dir, "validation")
        self._close_writers()
        if self.write_graph:
            self._write_keras_model_summary()
        if self.embeddings_freq:
            self._configure_embeddings()

    @property
    def _train_writer(self) -> SummaryWriter:
        if "train" not in self._writers:
            self._writers["train"] = SummaryWriter(self._train_dir)
        return self._writers["train"]

    @property
    def _val_writer(self) -> SummaryWriter:
        if "val" not in self._writers:
            self._writers["val"] = SummaryWriter(self._val_dir)
        return self._writers["val"]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _write_keras_model_summary(self) -> None:
        if type(self.model).__name__ not in ("Functional", "Sequential"):
            return
        try:
            model_json = self.model.to_json()
        except Exception as exc:  # noqa: BLE001 - a model that cannot be serialized must not stop training
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {exc}", stacklevel=2)
            return
        self._train_writer.keras_model("keras", model_json, step=0)

    def _configure_embeddings(self) -> None:
        from google.protobuf import text_format  # noqa: PLC0415 - comes with tensorboard
        from tensorboard.plugins import projector  # noqa: PLC0415

        from ..layers import Embedding  # noqa: PLC0415

        config = projector.ProjectorConfig()
        metadata = self.embeddings_metadata
        remaining = dict(metadata) if isinstance(metadata, dict) else None
        for layer in self.model.layers:
            if isinstance(layer, Embedding):
                embedding = config.embeddings.add()
                embedding.tensor_name = "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"
                if isinstance(metadata, str):
                    embedding.metadata_path = metadata
                elif remaining is not None and layer.name in remaining:
                    embedding.metadata_path = remaining.pop(layer.name)
        if remaining:
            raise ValueError("Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                             f"`embeddings_metadata` argument: {remaining.keys()}")
        os.makedirs(self._log_write_dir, exist_ok=True)
        with open(os.path.join(self._log_write_dir, "projector_config.pbtxt"), "w", encoding="utf-8") as f:
            f.write(text_format.MessageToString(config))

    # ---- batch-level summaries -------------------------------------------------------------
    def _records_batch(self, step: int) -> bool:
        return self.update_freq != "epoch" and step % self.update_freq == 0

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0
        _ = self._train_writer  # the train event file exists from the start, as with Keras

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_test_begin(self, logs=None):
        _ = self._val_writer

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations"):
            step = int(optimizer.iterations)
            for name, value in (logs or {}).items():
                self._val_writer.scalar(f"evaluation_{name}_vs_iterations", value, step)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if not self._records_batch(step):
            return
        if self.write_steps_per_second:
            elapsed = time.time() - self._batch_start_time
            self._train_writer.scalar("batch_steps_per_second", 1.0 / elapsed if elapsed > 0 else 0.0, step)
        if isinstance(logs, dict):
            for name, value in logs.items():
                self._train_writer.scalar(f"batch_{name}", value, step)

    def on_test_batch_begin(self, batch, logs=None):
        self._global_test_batch += 1

    # ---- epoch-level summaries ---------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._previous_epoch_iterations = int(self.model.optimizer.iterations)
            self._epoch_start_time = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)

    def _collect_learning_rate(self, logs: dict) -> dict:
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            return logs
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        for name, opt in optimizers_of(SimpleNamespace(optimizer=optimizer)):
            if hasattr(opt, "learning_rate"):
                logs[f"learning_rate_{name}" if name else "learning_rate"] = learning_rate_of(opt)
        return logs

    def _compute_steps_per_second(self) -> float:
        elapsed = time.time() - self._epoch_start_time
        steps = int(self.model.optimizer.iterations) - self._previous_epoch_iterations
        return float(numpy.float32(steps) / numpy.float32(elapsed)) if elapsed > 0 else 0.0

    def _log_epoch_metrics(self, epoch: int, logs) -> None:
        if not logs:
            return
        train_logs = self._collect_learning_rate({k: v for k, v in logs.items() if not k.startswith("val_")})
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if self.write_steps_per_second:
            train_logs["steps_per_second"] = self._compute_steps_per_second()
        for name, value in train_logs.items():
            self._train_writer.scalar(f"epoch_{name}", value, epoch)
        for name, value in val_logs.items():
            self._val_writer.scalar(f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._train_writer
        for layer in self.model.layers:
            for weight in layer.weights:
                name = str(getattr(weight, "path", None) or weight.name).replace(":", "_")
                values = numpy.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
                writer.histogram(f"{name}/histogram", values, epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        writer.image(f"{name}/image", image, epoch)
        writer.flush()

    def _log_embeddings(self, epoch: int) -> None:
        path = os.path.join(self._log_write_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5")
        self.model.save_weights(path)

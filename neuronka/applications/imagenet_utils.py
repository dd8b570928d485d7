"""``keras.applications.imagenet_utils``: the ImageNet input preprocessing and the decoding of predictions,
shared by every ImageNet model, and the input-shape rules of their constructors.

- :func:`preprocess_input` in three modes (``x`` pixel values in [0, 255], ``c`` the channel):
  ``caffe``: RGB → BGR, then y_c = x_c − m_c with m = (103.939, 116.779, 123.68) (the BGR ImageNet means);
  ``tf``: y = x / 127.5 − 1, in [−1, 1];
  ``torch``: y_c = (x_c / 255 − μ_c) / σ_c with μ = (0.485, 0.456, 0.406), σ = (0.229, 0.224, 0.225).
- :func:`decode_predictions`: the ``top`` classes of each row of a (samples, 1000) array as
  ``(wnid, name, score)``, from the ImageNet class index shipped with the package
  (``imagenet_class_index.json``, byte for byte the file Keras downloads: md5 c2c37ea517e94d9795004a39431a14cb).
- :func:`obtain_input_shape`, :func:`correct_pad`, :func:`validate_activation` (defined in
  :mod:`._common`): the rules every constructor applies to ``input_shape``, stride-2 padding and the
  classifier's activation.
"""
from __future__ import annotations

import json
from importlib import resources

import numpy

from .. import ops
from ..autograd import Tensor
from ..config import floatx, image_data_format
from ._common import correct_pad, obtain_input_shape, validate_activation  # noqa: F401 - Keras's public home of them

CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR order
TORCH_MEAN = (0.485, 0.456, 0.406)  # RGB order, on the [0, 1] scale
TORCH_STD = (0.229, 0.224, 0.225)
CLASS_INDEX_FILE = "imagenet_class_index.json"
_class_index: dict[str, list[str]] | None = None


# ----------------------------------------------------------------------------------------------
# preprocess_input
# ----------------------------------------------------------------------------------------------
def preprocess_input(x, data_format: str | None = None, mode: str = "caffe"):
    """A batch of images (3D or 4D, 3 channels, values in [0, 255]) preprocessed for an ImageNet model.

    ``mode``: ``"caffe"`` (RGB → BGR, y_c = x_c − m_c, m the BGR ImageNet means), ``"tf"``
    (y = x / 127.5 − 1) or ``"torch"`` (y_c = (x_c / 255 − μ_c) / σ_c). ``data_format``: where the channel
    axis is (``None``: ``neuronka.config.image_data_format()``).

    As in Keras, a floating-point NumPy array is processed **in place** (copy it first to keep it; in
    ``caffe`` mode the result is a channel-reversed view of it) and an integer one is converted to
    ``floatx()`` first. Tensors (eager or symbolic) give new tensors, through differentiable ops; an integer
    tensor is converted to ``floatx()`` (Keras's torch backend fails on it instead).
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format}")
    if isinstance(x, numpy.ndarray):
        return _preprocess_array(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_axis(ndim: int, data_format: str) -> int:
    """The channel axis: last (channels_last), else 0 for a single image (3D) and 1 for a batch."""
    if data_format == "channels_last":
        return ndim - 1
    return 0 if ndim == 3 else 1


def _preprocess_array(x: numpy.ndarray, data_format: str, mode: str) -> numpy.ndarray:
    """The NumPy path, in place on a floating-point array (Keras's documented behaviour)."""
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = x.astype(floatx(), copy=False)
    if mode == "tf":  # y = x / 127.5 − 1
        x /= 127.5
        x -= 1.0
        return x
    axis = _channel_axis(x.ndim, data_format)
    if mode == "torch":  # y_c = (x_c / 255 − μ_c) / σ_c
        x /= 255.0
        mean, std = TORCH_MEAN, TORCH_STD
    else:  # caffe: reverse the channels (a view), y_c = x_c − m_c
        x = numpy.flip(x, axis=axis)
        mean, std = CAFFE_MEAN, None
    for c in range(3):
        channel = (slice(None),) * axis + (c,)
        x[channel] -= mean[c]
        if std is not None:
            x[channel] /= std[c]
    return x


def _preprocess_tensor(x, data_format: str, mode: str):
    """The tensor path (eager neuronka tensors and symbolic ones inside a functional model)."""
    if not isinstance(x, Tensor) and not _is_symbolic(x):
        x = ops.convert_to_tensor(x)
    if not numpy.issubdtype(numpy.dtype(x.dtype), numpy.floating):
        x = ops.cast(x, floatx())
    if mode == "tf":  # y = x / 127.5 − 1
        return ops.subtract(ops.divide(x, 127.5), 1.0)
    ndim = len(x.shape)
    axis = _channel_axis(ndim, data_format)
    if mode == "torch":
        x = ops.divide(x, 255.0)
        mean, std = TORCH_MEAN, TORCH_STD
    else:  # RGB → BGR by gathering the channels in reverse order
        x = ops.stack([ops.take(x, c, axis=axis) for c in (2, 1, 0)], axis=axis)
        mean, std = CAFFE_MEAN, None
    shape = [1] * ndim
    shape[axis] = 3
    x = ops.add(x, ops.reshape(ops.convert_to_tensor(-numpy.asarray(mean), dtype=x.dtype), shape))
    if std is not None:
        x = ops.divide(x, ops.reshape(ops.convert_to_tensor(numpy.asarray(std), dtype=x.dtype), shape))
    return x


def _is_symbolic(x) -> bool:
    from ..backend import is_keras_tensor  # noqa: PLC0415

    return is_keras_tensor(x)


# ----------------------------------------------------------------------------------------------
# decode_predictions
# ----------------------------------------------------------------------------------------------
def class_index() -> dict[str, list[str]]:
    """The ImageNet class index ``{"0": ["n01440764", "tench"], ...}`` shipped with neuronka (read once)."""
    global _class_index
    if _class_index is None:
        text = resources.files(__package__).joinpath(CLASS_INDEX_FILE).read_text(encoding="utf-8")
        _class_index = json.loads(text)
    return _class_index


def decode_predictions(preds, top: int = 5) -> list[list[tuple]]:
    """For each row of ``preds`` (samples, 1000): its ``top`` classes as ``(wnid, name, score)``, highest
    score first (ties in NumPy's ``argsort`` order, as Keras)."""
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
                         f"(samples, 1000)). Received array with shape: {tuple(preds.shape)}")
    index = class_index()
    results = []
    for row in ops.convert_to_numpy(preds):
        best = row.argsort()[-top:][::-1]
        found = [(*index[str(i)], row[i]) for i in best]
        found.sort(key=lambda item: item[2], reverse=True)
        results.append(found)
    return results

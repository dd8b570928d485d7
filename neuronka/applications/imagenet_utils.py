"""``keras.applications.imagenet_utils``: the ImageNet input preprocessing and the decoding of predictions,
shared by every ImageNet model, and the input-shape rules of their constructors.

- :func:`preprocess_input` in three modes (``x`` pixel values in [0, 255], ``c`` the channel):
  ``caffe``: RGB → BGR, then y_c = x_c − m_c with m = (103.939, 116.779, 123.68) (the BGR ImageNet means);
  ``tf``: y = x / 127.5 − 1, in [−1, 1];
  ``torch``: y_c = (x_c / 255 − μ_c) / σ_c with μ = (0.485, 0.456, 0.406), σ = (0.229, 0.224, 0.225).
- :func:`decode_predictions`: the ``top`` classes of each row of a (samples, 1000) array as
  ``(wnid, name, score)``, from the ImageNet class index shipped with the package
  (``imagenet_class_index.json``, byte for byte the file Keras downloads: md5 c2c37ea517e94d9795004a39431a14cb).
- :func:`obtain_input_shape`, :func:`correct_pad`, :func:`validate_activation`: the rules every
  constructor applies to ``input_shape``, stride-2 padding and the classifier's activation.
"""
from __future__ import annotations

import json
import warnings
from importlib import resources

import numpy

from .. import activations, ops
from ..autograd import Tensor
from ..config import floatx, image_data_format

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


# ----------------------------------------------------------------------------------------------
# constructor rules
# ----------------------------------------------------------------------------------------------
def obtain_input_shape(input_shape, default_size: int, min_size: int, data_format: str, require_flatten: bool,
                       weights=None) -> tuple:
    """The model's input shape (without the batch axis) after Keras's checks.

    - ``input_shape=None``: (default_size, default_size, 3) when the top (``require_flatten``) is included,
      else (None, None, 3) (channels first where ``data_format`` says so).
    - With ImageNet weights and the top, the shape must be the default one; with ImageNet weights the
      input must have 3 channels; height and width must be at least ``min_size``.
    - A channel count other than 1 or 3 without ImageNet weights only warns.
    """
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an "
                          f"input_shape with {channels} input channels.", stacklevel=2)
        default_shape = (channels, default_size, default_size) if channels_first else \
            (default_size, default_size, channels)
    else:
        default_shape = (3, default_size, default_size) if channels_first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, `input_shape` "
                             f"should be {default_shape}.  Received: input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        rows, cols = input_shape[1:] if channels_first else input_shape[:2]
        if (rows is not None and rows < min_size) or (cols is not None and cols < min_size):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size) -> tuple[tuple[int, int], tuple[int, int]]:
    """The ZeroPadding2D that makes a stride-2 "valid" convolution of ``kernel_size`` see the image as
    TensorFlow's "same" does: k//2 before and after, one less before on an even-sized axis."""
    first = 2 if image_data_format() == "channels_first" else 1
    size = inputs.shape[first:first + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def validate_activation(classifier_activation, weights) -> None:
    """With pretrained ``weights``, the classifier's activation can only be ``None`` or ``"softmax"``."""
    if weights is None:
        return
    activation = activations.get(classifier_activation)
    if activation not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the `classifier_activation` "
                         "argument when using pretrained weights, with `include_top=True`; Received: "
                         f"classifier_activation={activation}")

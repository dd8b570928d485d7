"""What the ImageNet model constructors share: the input-shape rules, the stride-2 padding, the
checks of ``weights``/``classifier_activation``, the input and the pooling head, and fetching and loading
Keras's published weight files.

These follow ``keras.applications``: the same checks in the same order, with Keras's messages, so that
a script moving from Keras fails (or works) the same way. ``obtain_input_shape``, ``correct_pad`` and
``validate_activation`` are also public in :mod:`.imagenet_utils`, where Keras has them.

The weights are Keras's own files (legacy HDF5, read by ``Model.load_weights``); they are fetched through
:func:`neuronka.utils.get_file` into Keras's cache (``~/.keras/models``, or ``$KERAS_HOME/models``), so a
file Keras already downloaded is used as it is, with its hash checked and no network.
"""
from __future__ import annotations

import os
import warnings

from .. import activations, layers
from ..config import image_data_format
from ..layers.symbolic import Input, KerasTensor
from ..utils import file_utils
from ..utils.general import get_source_inputs

KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


def channel_axis(channels_last: int = 3) -> int:
    """The channel axis of an image batch under ``keras.config.image_data_format()``: ``channels_last``
    (3, or −1 where the Keras model writes it so) or 1."""
    return channels_last if image_data_format() == "channels_last" else 1


def weights_is_valid(weights) -> bool:
    """Keras's rule: None, ``"imagenet"``, or the path of an existing file."""
    if weights is None or (isinstance(weights, str) and weights == "imagenet"):
        return True
    try:
        return os.path.exists(weights)
    except TypeError:
        return False


def check_weights(weights, message: str) -> None:
    """``weights`` must be None, "imagenet" or the path of an existing file; else ValueError(message)."""
    if not weights_is_valid(weights):
        raise ValueError(message)


def obtain_input_shape(input_shape, default_size: int, min_size: int, data_format: str, require_flatten: bool,
                       weights=None) -> tuple:
    """The model's input shape (batch axis excluded), checked as ``keras.applications`` checks it.

    - ImageNet weights with the classifier (``require_flatten``) need exactly (default_size, default_size, 3)
      (channels first under ``channels_first``);
    - otherwise a given shape needs 3 entries, 3 channels with ImageNet weights, and spatial sizes of at
      least ``min_size`` where known; no shape means (None, None, 3), or the default size with the classifier.
    """
    last = data_format != "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[-1] if last else input_shape[0]
        if channels not in {1, 3}:
            warnings.warn(f"This model usually expects 1 or 3 input channels. However, it was passed an input_shape "
                          f"with {channels} input channels.", stacklevel=3)
        default_shape = (default_size, default_size, channels) if last else (channels, default_size, default_size)
    else:
        default_shape = (default_size, default_size, 3) if last else (3, default_size, default_size)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError(f"When setting `include_top=True` and loading `imagenet` weights, `input_shape` should "
                             f"be {default_shape}.  Received: input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels, rows, cols = (input_shape[-1], *input_shape[:2]) if last else input_shape
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if (rows is not None and rows < min_size) or (cols is not None and cols < min_size):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (None, None, 3) if last else (3, None, None)
    if require_flatten and None in input_shape:
        raise ValueError(f"If `include_top` is True, you should specify a static `input_shape`. Received: "
                         f"input_shape={input_shape}")
    return input_shape


def correct_pad(inputs: KerasTensor, kernel_size) -> tuple:
    """The ZeroPadding2D padding ((top, bottom), (left, right)) that makes a stride-2 "valid" convolution
    of ``kernel_size`` centre its windows as TensorFlow's "same" does: k//2 after, k//2 − 1 before on an
    even (or unknown) side, k//2 before on an odd one."""
    first = 2 if image_data_format() == "channels_first" else 1
    rows, cols = inputs.shape[first:first + 2]
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    return (kh // 2 - adjust[0], kh // 2), (kw // 2 - adjust[1], kw // 2)


def validate_activation(classifier_activation, weights) -> None:
    """With pretrained weights the classifier's activation may only be softmax or None (its logits)."""
    if weights is None:
        return
    resolved = activations.get(classifier_activation)
    if resolved not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError(f"Only `None` and `softmax` activations are allowed for the `classifier_activation` "
                         f"argument when using pretrained weights, with `include_top=True`; Received: "
                         f"classifier_activation={resolved}")


def image_input(input_tensor, input_shape) -> KerasTensor:
    """The model's image input: ``input_tensor`` when it is symbolic, else a new ``Input(input_shape)``."""
    if input_tensor is None:
        return Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError(f"Argument `input_tensor` must be a KerasTensor. Received invalid type: "
                         f"input_tensor={input_tensor} (of type {type(input_tensor)})")
    return input_tensor


def model_inputs(input_tensor, img_input):
    """What the Model starts from: the sources of ``input_tensor`` (it may come after other layers)."""
    return img_input if input_tensor is None else get_source_inputs(input_tensor)


def pooling_head(x, pooling, avg_name: str | None = None, max_name: str | None = None):
    """Without the top: global average (``"avg"``) or max (``"max"``) pooling, or the feature map (None)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def average_pool_classifier(x, include_top: bool, pooling, classes: int, classifier_activation, weights,
                            named_pools: bool = False):
    """The head most families share: with ``include_top``, GlobalAveragePooling2D ("avg_pool") then
    Dense(classes, classifier_activation, "predictions"); without, :func:`pooling_head` (its layers named
    "avg_pool" / "max_pool" when ``named_pools``, as ResNet's and DenseNet's are in Keras)."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        validate_activation(classifier_activation, weights)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    names = {"avg_name": "avg_pool", "max_name": "max_pool"} if named_pools else {}
    return pooling_head(x, pooling, **names)


def tf_kernels_file(stem: str, include_top: bool) -> str:
    """Keras's name of a published weights file: ``<stem>_weights_tf_dim_ordering_tf_kernels[_notop].h5``."""
    return f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"


def fetch_weights(model_name: str, file_name: str, origin: str, file_hash: str | None = None) -> str:
    """The local path of a published weights file, from Keras's cache (``~/.keras/models``, reused
    without the network when its hash matches; Keras gives MobileNet's and MobileNetV2's files none) or
    downloaded there.

    A download that fails (no network) raises ConnectionError (an OSError) naming the file, its URL and
    hash and the path to put it at; a downloaded file with the wrong hash raises ValueError (``get_file``).
    """
    try:
        return file_utils.get_file(file_name, origin, cache_subdir="models", file_hash=file_hash)
    except ValueError:  # a downloaded file with the wrong hash: get_file's message says so
        raise
    except Exception as err:  # noqa: BLE001 - any failure to download ends here, with what to do about it
        target = os.path.join(file_utils.keras_home(), "models", file_name)
        digest = f" ({'sha256' if len(file_hash) == 64 else 'md5'} {file_hash})" if file_hash else ""
        stale = (" The file already there does not have this hash, so it was not used."
                 if file_hash and os.path.exists(target) else "")
        raise ConnectionError(
            f"{model_name}: could not download Keras's ImageNet weights file {file_name}{digest} from {origin} "
            f"({err}). Without network access, fetch that URL elsewhere (or copy the file from a Keras cache, "
            f"~/.keras/models/{file_name}) and put it at {target}; a file there is used without downloading."
            f"{stale}") from err


def model_with_keras_weights(x, input_tensor, img_input, name: str, weights, include_top: bool, stem: str,
                             hashes) -> object:
    """The functional model from the inputs to ``x``, with ``weights`` loaded: ``"imagenet"`` is Keras's file
    ``<stem>/<stem>_weights_tf_dim_ordering_tf_kernels[_notop].h5`` (``hashes``: with the top, without)."""
    from ..models import Model  # noqa: PLC0415 - the models import the layers this module builds with

    model = Model(model_inputs(input_tensor, img_input), x, name=name)

    def imagenet_path():
        fname = tf_kernels_file(stem, include_top)
        return fetch_weights(name, fname, f"{KERAS_APPLICATIONS_URL}{stem}/{fname}", hashes[0 if include_top else 1])

    load_weights(model, weights, imagenet_path)
    return model


def load_weights(model, weights, imagenet_path) -> None:
    """``weights="imagenet"``: load the file ``imagenet_path()`` finds; a path: load it; None: keep the
    random initialization. Loading is ``model.load_weights(path)`` (Keras's legacy HDF5 by layer order)."""
    if weights == "imagenet":
        model.load_weights(imagenet_path())
    elif weights is not None:
        model.load_weights(weights)

"""What every Keras ImageNet constructor does around its layers: check ``weights``, make the input,
add the pooling head, find Keras's published weights file in the cache (or say where to put it) and load it.

The weights are Keras's own files (legacy HDF5, read by ``Model.load_weights``); they are fetched through
:func:`neuronka.utils.get_file` into Keras's cache (``~/.keras/models``, or ``$KERAS_HOME/models``), so a
file Keras already downloaded is used as it is, with its hash checked and no network.
"""
from __future__ import annotations

import os

from .. import layers
from ..backend import is_keras_tensor
from ..config import image_data_format
from ..utils.file_utils import get_file, keras_home
from ..utils.general import get_source_inputs

KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


def check_weights(weights, message: str) -> None:
    """``weights`` must be None, "imagenet" or the path of an existing file; else ValueError(message)."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(message)


def channel_axis(channels_last: int = 3) -> int:
    """The channel axis of a 4D image batch: ``channels_last`` (3 or −1, as the Keras model writes it) or 1."""
    return channels_last if image_data_format() == "channels_last" else 1


def image_input(input_tensor, input_shape):
    """A fresh ``Input(shape=input_shape)``, or ``input_tensor`` when it is a symbolic tensor."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not is_keras_tensor(input_tensor):
        raise ValueError("Argument `input_tensor` must be a KerasTensor. Received invalid type: "
                         f"input_tensor of type {type(input_tensor)} (expected the output of `keras.Input` or "
                         "of a layer called on one)")
    return input_tensor


def model_inputs(input_tensor, img_input):
    """The model's inputs: the ``Input`` tensors ``input_tensor`` was computed from, else ``img_input``."""
    return get_source_inputs(input_tensor) if input_tensor is not None else img_input


def pooling_head(x, pooling, avg_name: str | None = None, max_name: str | None = None):
    """Without the top: global average (``"avg"``) or max (``"max"``) pooling, or the feature map (None)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def fetch_weights(model_name: str, fname: str, origin: str, file_hash: str | None = None) -> str:
    """The local path of Keras's published weights file ``fname`` (from ``origin``), from the cache
    ``<keras home>/models`` or downloaded there.

    A download that fails (no network) raises ConnectionError naming the file, its URL and hash and the
    path to copy it to; a downloaded file with the wrong hash raises ValueError (as ``get_file``).
    """
    try:
        return get_file(fname, origin, cache_subdir="models", file_hash=file_hash)
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 - get_file reports a failed download as a plain Exception
        target = os.path.join(keras_home(), "models", fname)
        digest = f" (md5 {file_hash})" if file_hash else ""
        stale = (" The file already there does not have this hash, so it was not used."
                 if os.path.exists(target) else "")
        raise ConnectionError(
            f"{model_name}: could not download Keras's ImageNet weights file {fname}{digest} from {origin}: "
            f"{e}. Download it on a machine with network access (or copy it from a Keras cache, "
            f"~/.keras/models/{fname}) to {target}; a file there is used without network.{stale}") from e


def load_weights(model, weights, imagenet_path) -> None:
    """``weights="imagenet"``: load the file ``imagenet_path()`` finds; a path: load it; None: keep the
    random initialization. Loading is ``model.load_weights(path)`` (Keras's legacy HDF5 by layer order)."""
    if weights == "imagenet":
        model.load_weights(imagenet_path())
    elif weights is not None:
        model.load_weights(weights)

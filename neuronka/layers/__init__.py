"""``neuronka.layers``: Keras 3's layers on the neuronka engine, one file per kind of layer.

Each module lists its public layers in ``__all__``; they are all re-exported here.
"""
from . import (
    activations,
    augmentation,
    bidirectional,
    convolutional,
    core,
    embedding,
    merging,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
)
from .activations import *  # noqa: F403
from .augmentation import *  # noqa: F403
from .base import InputSpec, Layer, Variable
from .bidirectional import Bidirectional
from .convolutional import *  # noqa: F403
from .core import Activation, Dense, Dropout, Identity, Lambda
from .embedding import *  # noqa: F403
from .merging import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .preprocessing import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .regularization import *  # noqa: F403
from .reshaping import *  # noqa: F403
from .symbolic import Input, InputLayer, KerasTensor
from .text_vectorization import TextVectorization


def serialize(layer) -> dict:
    """A layer as Keras's serialized dict (``{"module", "class_name", "config", "registered_name"[,
    "build_config"]}``), the same as ``neuronka.saving.serialize_keras_object(layer)``."""
    from ..serialization import serialize_keras_object  # noqa: PLC0415

    return serialize_keras_object(layer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """The layer a :func:`serialize` dict (or Keras's) describes; anything else is a ValueError."""
    from ..serialization import deserialize_keras_object  # noqa: PLC0415

    obj = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(obj, Layer):
        raise ValueError(f"`keras.layers.deserialize` was passed a `config` object that is not a "
                         f"`keras.layers.Layer`. Received: {config}")
    return obj


def _registry() -> dict:
    """Every layer class by name, for deserialization."""
    out = {}
    for name, obj in globals().items():
        if isinstance(obj, type) and issubclass(obj, Layer):
            out[name] = obj
    return out

"""``neuronka.layers``: Keras 3's layers on the neuronka engine, one file per kind of layer.

Each module lists its public layers in ``__all__``; they are all re-exported here.
"""
from . import (
    activations,
    attention,
    audio,
    augmentation,
    bidirectional,
    categorical,
    convolutional,
    core,
    einsum_dense,
    embedding,
    grouped_query_attention,
    index_lookup,
    merging,
    multi_head_attention,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
)
from .activations import *  # noqa: F403
from .attention import *  # noqa: F403
from .audio import *  # noqa: F403
from .augmentation import *  # noqa: F403
from .base import InputSpec, Layer, Variable
from .bidirectional import Bidirectional
from .categorical import *  # noqa: F403
from .conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from .convolutional import *  # noqa: F403
from .core import Activation, Dense, Dropout, Identity, Lambda
from .einsum_dense import EinsumDense
from .embedding import *  # noqa: F403
from .grouped_query_attention import *  # noqa: F403
from .index_lookup import *  # noqa: F403
from .masking import Masking
from .merging import *  # noqa: F403
from .multi_head_attention import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .preprocessing import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .regularization import *  # noqa: F403
from .reshaping import *  # noqa: F403
from .reversible_embedding import ReversibleEmbedding
from .stacked_rnn_cells import StackedRNNCells
from .symbolic import Input, InputLayer, KerasTensor
from .text_vectorization import TextVectorization
from .wrappers import SpectralNormalization, TimeDistributed, Wrapper


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

"""``neuronka.utils``: Keras 3's ``keras.utils``.

Where each lives: the progress bar in :mod:`.progbar`; ``PyDataset`` in :mod:`.pydataset`; ``get_file``
and archive extraction in :mod:`.file_utils`; images to and from arrays and files in :mod:`.image_utils`;
``Config``, ``pad_sequences``, ``normalize``, ``to_categorical``, the batch-tuple helpers and
``get_source_inputs`` in :mod:`.general`; ``FeatureSpace`` in :mod:`.feature_space`; datasets from folders and arrays
(``image_dataset_from_directory``, ``timeseries_dataset_from_array``, ``split_dataset``, ...) in
:mod:`.dataset_utils`; (de)serialization and the custom-object registry in :mod:`neuronka.serialization`;
the session and logging switches in :mod:`neuronka.backend` and :mod:`neuronka.config`;
``set_random_seed`` in :mod:`neuronka.random`.
"""
from __future__ import annotations

from ..backend import clear_session, is_keras_tensor, standardize_dtype
from ..config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled
from ..random import set_random_seed
from ..serialization import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)
from .dataset_utils import (
    Dataset,
    audio_dataset_from_directory,
    image_dataset_from_directory,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)
from .feature_space import FeatureSpace
from .file_utils import get_file
from .general import (
    Config,
    get_source_inputs,
    normalize,
    pack_x_y_sample_weight,
    pad_sequences,
    to_categorical,
    unpack_x_y_sample_weight,
)
from .image_utils import array_to_img, img_to_array, load_img, save_img
from .model_visualization import model_to_dot, plot_model
from .progbar import Progbar
from .pydataset import PyDataset, Sequence

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]

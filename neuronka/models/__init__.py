"""``neuronka.models``: Keras 3's ``keras.models`` — Model, Sequential, and model (de)serialization.

Where things are (as Keras 3 lays them out): the Model base in :mod:`.model`, its training loops
(``compile``/``fit``/``evaluate``/``predict``) in :mod:`.trainer`, the inputs of those loops in
:mod:`.data_adapters`, the compiled loss and metrics in :mod:`.compile_utils`, layer classes by name and
layer (de)serialization in :mod:`.registry`; functional graphs in :mod:`.functional`, Sequential in
:mod:`.sequential`, the summary table in :mod:`.summary`.
"""
from .functional import Functional
from .model import Model, clone_model, model_from_json
from .sequential import Sequential


def save_model(model, filepath, *args, **kwargs):
    """Save a whole model (``neuronka.saving.save_model``)."""
    from .. import saving  # noqa: PLC0415

    return saving.save_model(model, filepath, *args, **kwargs)


def load_model(filepath, *args, **kwargs):
    """Load a model saved by :func:`save_model` (``neuronka.saving.load_model``)."""
    from .. import saving  # noqa: PLC0415

    return saving.load_model(filepath, *args, **kwargs)


__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]

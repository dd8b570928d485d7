"""``keras.Model``: a layer that trains — ``Model(Trainer, Layer)``, as Keras 3 lays it out.

Here: construction (functional or subclassed), ``build``, layers, summary, saving, config; the model
registry of :func:`get_layer_class` and layer (de)serialization are in :mod:`.registry`; ``compile``,
``fit``, ``evaluate``, ``predict`` and the steps in :mod:`.trainer`; the data adapters in
:mod:`.data_adapters`; the compiled loss and metrics in :mod:`.compile_utils`.

Three ways to build a model, as in Keras: subclass :class:`Model` (layers made in
``__init__``, the computation in ``call``); ``Model(inputs, outputs)`` on symbolic
tensors (:mod:`.functional`); :class:`~neuronka.models.sequential.Sequential`.

Data for ``fit``/``evaluate``/``predict``: NumPy arrays (or lists / dicts of them for several
inputs or outputs), a Python generator or iterable of ``(x, y)`` / ``(x, y, sample_weight)``
batches, or an object with ``__len__``/``__getitem__`` returning batches (Keras's ``PyDataset``).
"""
from __future__ import annotations

import inspect

import numpy

from ..autograd import Tensor, no_grad
from ..layers.base import Layer
from .data_adapters import _flat, _map_leaves, _pack, unpack_x_y_sample_weight  # noqa: F401 - re-exported
from .registry import (  # noqa: F401 - re-exported: models.model was their home
    CUSTOM_OBJECTS,
    _jsonable_shape,
    deserialize_layer,
    get_layer_class,
    layer_build_config,
    serialize_layer,
    to_shape,
)
from .trainer import Trainer


def _is_plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _capture_init_args(cls, args, kwargs) -> dict | None:
    """The constructor arguments of a Model subclass by name, if all are plain JSON data; else None."""
    if cls.__init__ is Model.__init__:
        return None
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    params = list(inspect.signature(cls.__init__).parameters.values())
    config = {}
    for p in params[1:]:
        if p.name not in bound.arguments:
            continue
        if p.kind is p.VAR_POSITIONAL:
            if bound.arguments[p.name]:
                return None
        elif p.kind is p.VAR_KEYWORD:
            config.update(bound.arguments[p.name])
        else:
            config[p.name] = bound.arguments[p.name]
    return config if _is_plain(config) else None


def _is_functional_call(args, kwargs) -> bool:
    return ("inputs" in kwargs and "outputs" in kwargs) or len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)


class Model(Trainer, Layer):
    """A layer with a training loop (Keras 3's ``keras.Model``).

    ``Model(inputs, outputs, name=None)`` builds a functional model from symbolic tensors;
    a subclass defines its layers in ``__init__`` and its forward pass in ``call``.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from .functional import Functional  # noqa: PLC0415

            return object.__new__(Functional)
        instance = object.__new__(cls)
        # Keras 3 records a subclass's constructor arguments: get_config() returns them when they are plain data
        object.__setattr__(instance, "_auto_config", _capture_init_args(cls, args, kwargs))
        return instance

    def __init__(self, *args, **kwargs):
        if _is_functional_call(args, kwargs):
            from .functional import Functional, inject_functional_class  # noqa: PLC0415

            if not isinstance(self, Functional):
                inject_functional_class(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(f"Model: unexpected positional arguments {args!r}; expected Model(inputs, outputs) "
                            f"or keyword arguments (name=..., trainable=...)")
        self._init_model(**kwargs)

    def _init_model(self, name: str | None = None, trainable: bool = True, dtype=None, **kwargs) -> None:
        Layer.__init__(self, trainable=trainable, dtype=dtype, name=name, **kwargs)
        self._build_input_shape = getattr(self, "_build_input_shape", None)
        self._init_trainer()

    # ---- building ----------------------------------------------------------------------

    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        shape = _map_shape(inputs)
        if type(self).build is not Model.build:  # a user-defined build(input_shape)
            object.__setattr__(self, "_building", True)  # super().build() inside it has nothing to run
            try:
                self.build(shape)
            finally:
                object.__setattr__(self, "_building", False)
        # else: a subclassed model creates its weights in its first call; nothing to run beforehand
        self.built = True
        self._build_input_shape = shape

    def build(self, input_shape=None) -> None:
        """Create the weights by running ``call`` once on zeros of ``input_shape`` (batch axis may be None)."""
        if input_shape is None or getattr(self, "_building", False):
            self.built = True
            return
        shape = to_shape(input_shape)

        def zeros(s):
            return Tensor(numpy.zeros([1 if d is None else d for d in s], dtype=self.dtype))

        dummy = zeros(shape) if isinstance(shape, tuple) else _map_shapes(zeros, shape)
        self.built = True  # a user build() that called this one has already run: the call must not build again
        object.__setattr__(self, "_building", True)
        try:
            with no_grad():
                self(dummy, training=False)
        finally:
            object.__setattr__(self, "_building", False)
        self._clear_losses()
        self._build_input_shape = shape
        self.built = True

    def get_build_config(self) -> dict | None:
        shape = getattr(self, "_build_input_shape", None)
        return None if shape is None else {"input_shape": _jsonable_shape(shape)}

    def build_from_config(self, config: dict) -> None:
        if config and config.get("input_shape") is not None:
            self.build(to_shape(config["input_shape"]))

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call() method: subclass keras.Model and implement call(), "
            f"or build a functional model with keras.Model(inputs, outputs)"
        )

    # ---- layers, weights, summary, saving --------------------------------------------------
    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` in ``model.layers``."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:
        """Print Keras's table of layers, output shapes and parameter counts (see :mod:`.summary`)."""
        from .summary import print_summary  # noqa: PLC0415

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def save(self, filepath, *args, **kwargs) -> None:
        """Save the model (config, weights, optimizer state) with ``neuronka.saving.save_model``."""
        from .. import saving  # noqa: PLC0415

        return saving.save_model(self, filepath, *args, **kwargs)

    def save_weights(self, filepath, *args, **kwargs) -> None:
        from .. import saving  # noqa: PLC0415

        return saving.save_weights(self, filepath, *args, **kwargs)

    def load_weights(self, filepath, *args, **kwargs) -> None:
        from .. import saving  # noqa: PLC0415

        return saving.load_weights(self, filepath, *args, **kwargs)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs) -> None:  # noqa: A002
        """Export for inference (Keras's signature); neuronka writes ``format="onnx"`` (neuronka.export)."""
        if format != "onnx":
            raise ValueError(f"Model.export: neuronka exports format='onnx' only, received format={format!r}")
        from ..export import export_onnx  # noqa: PLC0415

        export_onnx(self, filepath, verbose=verbose, input_signature=input_signature, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (``neuronka.models.model_from_json`` reads it back)."""
        import json  # noqa: PLC0415

        return json.dumps(serialize_layer(self), default=_json_default, **kwargs)

    def get_config(self) -> dict:
        """Name, trainable, dtype, and a subclass's constructor arguments when they are plain data (Keras 3)."""
        auto = getattr(self, "_auto_config", None) or {}
        return {**auto, "name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from .functional import Functional, functional_from_config, has_functional_constructor  # noqa: PLC0415

        if all(k in config for k in ("layers", "input_layers", "output_layers")) and (
                cls is Model or (issubclass(cls, Functional) and has_functional_constructor(cls))):
            return functional_from_config(Functional if cls is Model else cls, config, custom_objects)
        params = inspect.signature(cls.__init__).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            config = {k: v for k, v in config.items() if k in params}
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(
                f"Unable to revive model {cls.__name__} from its config {config}: {e}. Override `get_config()` "
                f"to return every argument of the constructor (and `from_config()` if they are not plain data)."
            ) from e

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _json_default(o):
    if isinstance(o, numpy.generic):
        return o.item()
    if isinstance(o, numpy.ndarray):
        return o.tolist()
    raise TypeError(f"{o!r} is not JSON serializable")


def _map_shape(inputs):
    """The input shape structure with the batch axis as None."""
    def one(t):
        return (None, *tuple(t.shape[1:])) if len(t.shape) else ()

    return _map_leaves(one, inputs)


def _map_shapes(fn, shapes):
    if isinstance(shapes, tuple) and all(s is None or isinstance(s, int) for s in shapes):
        return fn(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(_map_shapes(fn, s) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return fn(shapes)


# ==================================================================================
# module-level helpers of keras.models
# ==================================================================================
def model_from_json(json_string: str, custom_objects: dict | None = None) -> Model:
    """The model described by :meth:`Model.to_json` or Keras's ``model.to_json()`` (fresh weights); read as
    ``load_model`` reads ``config.json`` (no code run, no module imported)."""
    from ..saving import config_io  # noqa: PLC0415

    config = config_io.json_object(json_string, "model_from_json")
    return config_io.model_from_config(config, "model_from_json", custom_objects)


def clone_model(model: Model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs) -> Model:
    """A new model of the same architecture with newly initialized weights (functional or Sequential).

    ``clone_function(layer) -> layer`` replaces the default (a fresh layer from the layer's config).
    """
    from .sequential import Sequential  # noqa: PLC0415

    if input_tensors is not None or call_function is not None:
        raise NotImplementedError("clone_model: `input_tensors` and `call_function` are not supported yet")
    if clone_function is None:
        return type(model).from_config(model.get_config())
    if isinstance(model, Sequential):
        from ..layers.symbolic import InputLayer  # noqa: PLC0415

        new = Sequential(name=model.name)
        for layer in model._layers:
            new.add(InputLayer.from_config(layer.get_config()) if isinstance(layer, InputLayer)
                    else clone_function(layer))
        return new
    raise NotImplementedError("clone_model: `clone_function` is supported for Sequential models only")

"""``keras.Sequential``: a plain stack of layers, each feeding the next: y = fₙ(…f₂(f₁(x))).

As in Keras 3, the model is built as soon as its input shape is known — from a first
``keras.Input(shape)`` (or ``InputLayer``), from ``input_shape=`` on the first layer, from
``build(input_shape)``, or else at the first call on data. Building runs the layers once on a
symbolic input, which creates their weights and checks that consecutive shapes fit.
"""
from __future__ import annotations

from ..layers.base import Layer
from ..layers.symbolic import InputLayer, KerasTensor
from . import fusion
from .model import Model
from .registry import deserialize_layer, serialize_layer, to_shape


class Sequential(Model):
    """A linear stack of layers (``layers`` excludes the input layer, as in Keras)."""

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None, **kwargs):
        self._init_model(name=name, trainable=trainable, **kwargs)
        object.__setattr__(self, "_outputs_by_layer", {})
        self._output_tensor = None
        if layers:
            for layer in layers:
                self.add(layer, rebuild=False)
            self._maybe_rebuild()

    # ---- the stack -----------------------------------------------------------------------
    def add(self, layer, rebuild: bool = True) -> None:
        """Append ``layer`` (a Layer, or the tensor of ``keras.Input``) on top of the stack."""
        if not self._layers and getattr(layer, "_batch_input_shape", None) is not None and not isinstance(
                layer, InputLayer):
            self.add(InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype), rebuild=False)
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            origin = layer._keras_history[0].layer
            if isinstance(origin, InputLayer):
                layer = origin
        if not isinstance(layer, Layer):
            raise ValueError(f"Only instances of `keras.Layer` can be added to a Sequential model. "
                             f"Received: {layer!r} (of type {type(layer).__name__})")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"'{layer.name}' is already the name of a layer in this model. Update the `name` "
                             f"argument to pass a unique name.")
        if isinstance(layer, InputLayer) and self._layers:
            if isinstance(self._layers[0], InputLayer):
                raise ValueError(f"Sequential model '{self.name}' has already been configured to use input shape "
                                 f"{self._layers[0].batch_shape}. You cannot add a different Input layer to it.")
            raise ValueError(f"Sequential model '{self.name}': an Input layer must come first; received one after "
                             f"{len(self._layers)} layer(s)")
        self._layers.append(layer)
        self._step_cache = None
        if not rebuild:
            self.built = False
        elif self.built and self._output_tensor is not None and len(self._layers) > 2:
            try:  # already built: only the new layer needs to run on the symbolic output
                x = layer(self._output_tensor)
            except Exception:
                self._layers.pop()
                raise
            self._outputs_by_layer[id(layer)] = x
            self._output_tensor = x
        else:
            try:
                self._maybe_rebuild()
            except Exception:
                self._layers.pop()
                self._maybe_rebuild()
                raise

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        self._step_cache = None
        self.built = False
        self._output_tensor = None
        self._outputs_by_layer.clear()
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self) -> None:
        self.built = False
        self._output_tensor = None
        self._outputs_by_layer.clear()
        if self._layers and isinstance(self._layers[0], InputLayer) and len(self._layers) > 1:
            self.build(self._layers[0].batch_shape)
        elif self._layers and isinstance(self._layers[0], InputLayer):
            self._output_tensor = self._layers[0].output_tensor

    @property
    def layers(self) -> list[Layer]:
        layers = self._layers
        if layers and isinstance(layers[0], InputLayer):
            return layers[1:]
        return list(layers)

    # ---- building and calling ------------------------------------------------------------------
    def build(self, input_shape=None) -> None:
        """Run the layers on a symbolic input of ``input_shape`` (batch axis first, may be None)."""
        if input_shape is None:
            raise ValueError(f"Sequential model '{self.name}': build() needs an `input_shape`")
        shape = to_shape(input_shape)
        if not isinstance(shape, tuple):  # several inputs: the layers will be built by the first call
            self.built = True
            return
        if not self._layers:
            raise ValueError(f"Sequential model {self.name} cannot be built because it has no layers. "
                             f"Call `model.add(layer)`.")
        if isinstance(self._layers[0], InputLayer):
            expected = self._layers[0].batch_shape
            if len(expected) != len(shape) or any(a is not None and b is not None and a != b
                                                  for a, b in zip(expected[1:], shape[1:])):
                raise ValueError(f"Sequential model '{self.name}' has already been configured to use input shape "
                                 f"{expected}. You cannot build it with input_shape {shape}")
        else:
            self._layers.insert(0, InputLayer(batch_shape=shape, dtype=self._layers[0].dtype))
        x = self._layers[0].output_tensor
        outputs = {id(self._layers[0]): x}
        for layer in self._layers[1:]:
            try:
                x = layer(x)
            except NotImplementedError:
                # a layer without shape inference: the layers will be built by the first call on data
                self._output_tensor = None
                self.built = True
                return
            outputs[id(layer)] = x
        object.__setattr__(self, "_outputs_by_layer", outputs)
        self._output_tensor = x
        self._build_input_shape = self._layers[0].batch_shape
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x = inputs
        layers = self.layers
        skip, fuse = -1, fusion.enabled()
        for i, layer in enumerate(layers):
            if i == skip:  # a ReLU run inside the layer before (models/fusion.py)
                continue
            if fuse and i + 1 < len(layers) and fusion.fusable(layer, layers[i + 1]):
                with fusion.relu_inside(layer):
                    x = layer(x)
                skip = i + 1
            else:
                x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def _default_output_names(self, n: int) -> list[str]:
        layers = self.layers
        return [layers[-1].name] if layers and n == 1 else super()._default_output_names(n)

    def _layer_output_shapes(self) -> dict:
        return {k: getattr(v, "shape", None) for k, v in self._outputs_by_layer.items()}

    # ---- symbolic views ------------------------------------------------------------------------
    @property
    def input(self):
        if self._layers and isinstance(self._layers[0], InputLayer):
            return self._layers[0].output_tensor
        raise AttributeError(f"Sequential model '{self.name}' has no defined input: it is not built yet")

    @property
    def output(self):
        if self._output_tensor is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output: it is not built yet")
        return self._output_tensor

    @property
    def inputs(self) -> list:
        return [self.input]

    @property
    def outputs(self) -> list:
        return [self.output]

    @property
    def input_shape(self):
        return self.input.shape

    @property
    def output_shape(self):
        return self.output.shape

    # ---- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Keras 3's form: ``{"name", "trainable", "dtype": a DTypePolicy object, "layers": [every layer, the
        InputLayer first when there is one], "build_input_shape": the input's batch shape}``."""
        dtype = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": self.dtype},
                 "registered_name": None}
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype,
                  "layers": [serialize_layer(layer) for layer in self._layers]}
        if self._layers and isinstance(self._layers[0], InputLayer):
            config["build_input_shape"] = list(self._layers[0].batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects: dict | None = None):
        if isinstance(config, list):  # Keras 2 stored the list of layers alone
            config = {"layers": config}
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            model.add(deserialize_layer(layer_config, custom_objects), rebuild=False)
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape"):
            model.build(to_shape(config["build_input_shape"]))
        return model

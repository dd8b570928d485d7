"""Symbolic tensors for the functional API: ``Input`` → layers → ``Model(inputs, outputs)``.

Calling a layer on :class:`KerasTensor` objects computes nothing: it builds the
layer, asks it for its output shape, and records a :class:`Node` (the layer,
its symbolic inputs, the other call arguments and its symbolic outputs). A
functional model replays the nodes in order on real tensors.
"""
from __future__ import annotations

import numpy

from ..backend import floatx
from ..ops import _util
from .base import Layer, _flatten, _flatten_shapes, _map_structure, unique_name


def _standardize_input_dtype(dtype) -> str:
    """Keras's dtype names: None → floatx(), "str"/str/"string" → "string", others NumPy's name."""
    if dtype is None:
        return floatx()
    if dtype in ("string", "str", str) or (isinstance(dtype, numpy.dtype) and dtype.kind in "US"):
        return "string"
    return numpy.dtype(dtype).name


class KerasTensor:
    """A placeholder with a shape (batch axis None) and a dtype, remembering which node made it."""

    def __init__(self, shape, dtype=None, name: str | None = None, sparse: bool = False):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = _standardize_input_dtype(dtype)
        self.name = name
        self._keras_history: tuple[Node, int] | None = None  # (node, index among its outputs)
        self._keras_mask = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # a few operators, each recorded as a layer (as Keras does with its ops on KerasTensors)
    def __add__(self, other):
        from .merging import Add  # noqa: PLC0415

        return Add()([self, other])

    def __mul__(self, other):
        from .merging import Multiply  # noqa: PLC0415

        return Multiply()([self, other])

    def __sub__(self, other):
        from .merging import Subtract  # noqa: PLC0415

        return Subtract()([self, other])

    def __getitem__(self, index):
        from .core import Lambda  # noqa: PLC0415

        return Lambda(lambda x: x[index])(self)


_util.SYMBOLIC_TYPES.add(KerasTensor)  # ops called on one record a node (neuronka.layers.operation)


class Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer: Layer, inputs, args, kwargs, outputs):
        self.layer = layer
        self.input_structure = inputs
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = inputs
        flat_out = _flatten(outputs)
        for i, t in enumerate(flat_out):
            t._keras_history = (self, i)
        self.parent_nodes = [
            t._keras_history[0] for t in _flatten(inputs) if isinstance(t, KerasTensor) and t._keras_history
        ]
        layer._inbound_nodes.append(self)


def symbolic_call(layer: Layer, inputs, args, kwargs):
    """Build ``layer`` for the symbolic ``inputs`` and return symbolic outputs, recording a Node."""
    shapes = _map_structure(lambda t: tuple(t.shape), inputs)
    if not layer.built:
        layer._check_input_spec(_flatten_shapes(shapes))
        layer.build(shapes)
        layer.built = True
        layer._build_input_shape = shapes
    layer._check_input_spec(_flatten_shapes(shapes))
    out_shapes = layer.compute_output_shape(shapes)
    dtype = layer.dtype

    def make(shape):
        return KerasTensor(shape, dtype=dtype, name=layer.name)

    if isinstance(out_shapes, tuple) and all(isinstance(s, (int, type(None))) for s in out_shapes):
        outputs = make(out_shapes)
    else:
        outputs = _map_shapes(make, out_shapes)
    Node(layer, inputs, args, dict(kwargs), outputs)
    return outputs


def _map_shapes(fn, shapes):
    if isinstance(shapes, tuple) and all(isinstance(s, (int, type(None))) for s in shapes):
        return fn(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(_map_shapes(fn, s) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return fn(shapes)


class InputLayer(Layer):
    """The layer behind ``Input``: it holds the input's shape and produces the first symbolic tensor.

    Keras's arguments and config ``{"batch_shape", "dtype", "sparse", "ragged", "name", "optional"}`` (the
    dtype a plain name). ``sparse``/``ragged`` tensors do not exist here: True is Keras's error for a backend
    without them. ``input_tensor``: an existing ``KerasTensor`` to wrap.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(f"Argument `input_tensor` must be a KerasTensor. Received invalid type: "
                                 f"input_tensor={input_tensor} (of type {type(input_tensor)})")
            batch_shape, dtype = input_tensor.shape, input_tensor.dtype
        else:
            if shape is not None and batch_shape is not None:
                raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
            if batch_size is not None and batch_shape is not None:
                raise ValueError("You cannot pass both `batch_size` and `batch_shape` at the same time.")
            if shape is None and batch_shape is None:
                raise ValueError("You must pass a `shape` argument.")
            if shape is not None:
                shape = (shape,) if isinstance(shape, int) else tuple(shape)
                batch_shape = (batch_size, *shape)
        self.batch_shape = tuple(None if s is None else int(s) for s in batch_shape)
        self._input_dtype = _standardize_input_dtype(dtype)
        for arg, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise ValueError(f"`{arg}=True` is not supported with the neuronka backend")
        self.sparse, self.ragged = bool(sparse), bool(ragged)
        self.optional = optional
        self.built = True
        self.output_tensor = input_tensor if input_tensor is not None else KerasTensor(
            self.batch_shape, dtype=self._input_dtype, name=self.name)
        Node(self, [], (), {}, self.output_tensor)

    @property
    def dtype(self) -> str:
        return self._input_dtype

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self) -> dict:
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": self.sparse, "ragged": self.ragged,
                "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None,  # noqa: N802
          tensor=None, optional=False) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch axis), as ``keras.Input``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                       batch_shape=batch_shape, name=name, input_tensor=tensor, optional=optional)
    return layer.output_tensor

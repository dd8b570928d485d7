"""An op of ``neuronka.ops`` called on symbolic tensors, recorded as a node of the functional graph.

In Keras 3, ``keras.ops.concatenate([a, b])`` on the outputs of ``keras.Input`` returns a symbolic
tensor and the op becomes part of the model. neuronka does the same: every public function of
``neuronka.ops`` checks its arguments for :class:`~neuronka.layers.symbolic.KerasTensor` objects
(``ops.symbolic_dispatch``) and, when it finds one, returns the outputs of an :class:`OperationLayer`
instead of computing. The layer keeps the op and its arguments with the symbolic tensors replaced by
slots; calling it on real tensors fills the slots and runs the op.

Output shapes and dtypes are found by running the op on two probes of real arrays, the unknown
(``None``) axes given sizes 2 and 3: an axis whose size differs between the probes is unknown in the
output too.
"""
from __future__ import annotations

import numpy

from ..autograd import Tensor, no_grad
from ..backend import array_module
from . import keras_operations
from .base import Layer, unique_name
from .symbolic import KerasTensor


class _Slot:
    """Where the i-th symbolic input goes in the op's arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __repr__(self) -> str:
        return f"<input {self.index}>"


def _template(value, found: list):
    """``value`` with each KerasTensor replaced by a slot (appended to ``found``), structures kept."""
    if isinstance(value, KerasTensor):
        found.append(value)
        return _Slot(len(found) - 1)
    if isinstance(value, (list, tuple)):
        return type(value)(_template(v, found) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, found) for k, v in value.items()}
    return value


def _fill(template, inputs):
    if isinstance(template, _Slot):
        return inputs[template.index]
    if isinstance(template, (list, tuple)):
        return type(template)(_fill(v, inputs) for v in template)
    if isinstance(template, dict):
        return {k: _fill(v, inputs) for k, v in template.items()}
    return template


def _probe(spec: KerasTensor, size: int):
    shape = [size if s is None else s for s in spec.shape]
    dtype = numpy.dtype(spec.dtype)
    if dtype.kind == "f":
        size = int(numpy.prod(shape))
        values = array_module().linspace(0.5, 1.5, num=max(size, 1), dtype=dtype)[:size]
        return Tensor(values.reshape(shape))
    if dtype.kind == "b":
        return Tensor(array_module().ones(shape, dtype=bool))
    return Tensor(array_module().ones(shape, dtype=dtype))


class OperationLayer(Layer):
    """A node of a functional model that runs ``fn(*args, **kwargs)`` of ``neuronka.ops`` with the
    symbolic tensors of the arguments replaced by the real ones."""

    def __init__(self, fn, args=(), kwargs=None, name=None, **layer_kwargs):
        op_name = getattr(fn, "__name__", "operation")
        super().__init__(name=name or unique_name(op_name), **layer_kwargs)
        self.fn = fn
        self.op_name = op_name
        found: list[KerasTensor] = []
        self._args = _template(tuple(args), found)
        self._kwargs = _template(dict(kwargs or {}), found)
        self.symbolic_inputs = found
        self._keras = None  # (table entry, constructor arguments, call arguments): see _keras_form
        self.built = True

    def _convert_input(self, x):
        return x if isinstance(x, Tensor) else Tensor(x)  # the op decides about dtypes, not the layer

    def call(self, inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.fn(*_fill(self._args, inputs), **_fill(self._kwargs, inputs))

    def compute_output_spec(self, inputs):
        """Symbolic outputs of the op: shapes and dtypes from two probes (unknown axes: sizes 2 and 3)."""
        outs = []
        for size in (2, 3):
            with no_grad():
                try:
                    out = self.call([_probe(t, size) for t in inputs])
                except Exception as err:  # noqa: BLE001 - any failure of the probe is reported as such
                    shapes = [t.shape for t in inputs]
                    raise ValueError(f"ops.{self.op_name}: could not find the output shape on symbolic inputs of "
                                     f"shapes {shapes} (the op failed on a probe: {err})") from err
            outs.append(out)

        def spec(a, b):
            a_shape, b_shape = tuple(numpy.shape(a.data if isinstance(a, Tensor) else a)), \
                tuple(numpy.shape(b.data if isinstance(b, Tensor) else b))
            if len(a_shape) != len(b_shape):
                raise ValueError(f"ops.{self.op_name}: the output's rank depends on the unknown axes of its "
                                 f"symbolic inputs ({a_shape} vs {b_shape}): give those axes a size")
            shape = tuple(x if x == y else None for x, y in zip(a_shape, b_shape))
            dtype = a.dtype if isinstance(a, Tensor) else numpy.asarray(a).dtype
            return KerasTensor(shape, dtype=numpy.dtype(dtype).name, name=self.name)

        def walk(a, b):
            if isinstance(a, (list, tuple)):
                return type(a)(walk(x, y) for x, y in zip(a, b))
            if isinstance(a, dict):
                return {k: walk(a[k], b[k]) for k in a}
            return spec(a, b)

        return walk(outs[0], outs[1])

    def compute_output_shape(self, input_shape):
        specs = self.compute_output_spec([KerasTensor(s, dtype=t.dtype) for s, t in
                                          zip(input_shape, self.symbolic_inputs)])

        def shapes(s):
            if isinstance(s, (list, tuple)):
                return type(s)(shapes(x) for x in s)
            if isinstance(s, dict):
                return {k: shapes(v) for k, v in s.items()}
            return s.shape

        return shapes(specs)

    # ---- Keras's form: the operation class, its constructor arguments, its call arguments ---------------
    def _keras_form(self):
        """(table entry, constructor arguments, call arguments with slots) of the Keras operation class this
        op call is (see :mod:`neuronka.layers.keras_operations`)."""
        if self._keras is None:
            self._keras = keras_operations.split_call(self.fn, self.op_name, self._args, self._kwargs)
        return self._keras

    def _keras_serialized_class(self) -> tuple[str, str, str]:
        """(module, class_name, registered_name) as Keras writes them for this op (``keras.src.ops.numpy``,
        ``Add``, ``Add``)."""
        entry = self._keras_form()[0]
        return entry["module"], entry["class_name"], entry["class_name"]

    def get_config(self) -> dict:
        """Keras's config of the operation: its name and constructor arguments (``Sum``: axis, keepdims)."""
        return {"name": self.name, **self._keras_form()[1]}

    def keras_call_args(self, inputs) -> list:
        """The node's arguments as Keras records them (``Add``: ``[x, 3.0]``), the symbolic ``inputs`` of the
        node in their places."""
        return list(_fill(self._keras_form()[2], list(inputs)))

    @classmethod
    def from_keras_config(cls, class_name: str, config: dict) -> OperationLayer:
        """The operation of a Keras file (``{"class_name": "Add", "config": {"name": "add"}}``): a layer
        waiting for its call (the node's arguments), which records it as ``symbolic_op_call`` does."""
        fn, init = keras_operations.function_of(class_name, config)
        layer = cls(fn, (), {}, name=config.get("name"))
        layer._args = None  # set by the first call
        layer._pending = (class_name, init)
        return layer

    def __call__(self, *args, **kwargs):
        if self._args is None:  # made from a file: this call (Keras's node arguments) is the op's call
            from .symbolic import Node  # noqa: PLC0415

            class_name, init = self._pending
            args, fn_kwargs = keras_operations.arrange(self.fn, class_name, args, init)
            found: list[KerasTensor] = []
            self._args = _template(args, found)
            self._kwargs = _template({**fn_kwargs, **kwargs}, found)
            self.symbolic_inputs = found
            outputs = self.compute_output_spec(list(found))
            Node(self, list(found), (), {}, outputs)
            return outputs
        return super().__call__(*args, **kwargs)


def symbolic_op_call(fn, args, kwargs):
    """``fn(*args, **kwargs)`` with symbolic tensors among the arguments: the outputs of a new
    :class:`OperationLayer` node."""
    from .symbolic import Node  # noqa: PLC0415

    layer = OperationLayer(fn, args, kwargs)
    inputs = list(layer.symbolic_inputs)
    outputs = layer.compute_output_spec(inputs)
    Node(layer, inputs, (), {}, outputs)
    return outputs

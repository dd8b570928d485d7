"""Functional models: ``Model(inputs, outputs)`` over the graph of layer calls on symbolic tensors.

Each call of a layer on :class:`~neuronka.layers.symbolic.KerasTensor` objects recorded a
:class:`~neuronka.layers.symbolic.Node`. The model walks the nodes from its outputs back to its
inputs and orders them by depth (Keras's rule: an output node has depth 0, a node's depth is one
more than the deepest node that consumes it), so that every node runs after the nodes producing
its inputs. ``call`` replays the nodes on real tensors; a layer called twice (shared) has two
nodes; a nested model is one node.

``get_config`` is Keras 3's format: ``{"name", "trainable", "layers": [{"module", "class_name",
"config", "registered_name", "name", "inbound_nodes": [{"args": [...], "kwargs": {...}}]}],
"input_layers", "output_layers"}``, a symbolic tensor in ``args`` written as
``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
[layer_name, node_index, tensor_index]}}`` and ``input_layers``/``output_layers`` as
``[layer_name, node_index, tensor_index]`` triples. Keras 2's list form of ``inbound_nodes``
(``[[layer_name, node_index, tensor_index, kwargs], ...]``) is read too.
"""
from __future__ import annotations

import contextlib
from collections import Counter

from .. import ops
from ..autograd import Tensor
from ..layers.base import _flatten, _flatten_shapes
from ..layers.symbolic import InputLayer, KerasTensor
from . import fusion
from .data_adapters import _flat, _pack
from .model import Model
from .registry import deserialize_layer, serialize_layer


def _keras_tensors(struct) -> list[KerasTensor]:
    return [t for t in _flat(struct) if isinstance(t, KerasTensor)]


def _node_inputs(node) -> list[KerasTensor]:
    return _keras_tensors([node.input_structure, list(node.args), dict(node.kwargs)])


def _producer(t: KerasTensor, model_name: str):
    history = t._keras_history
    if history is None:
        raise ValueError(
            f"Functional model {model_name!r}: the tensor {t} was not produced by a layer called on "
            f"`keras.Input` tensors; every output must be computed from the model's inputs by layer calls"
        )
    return history[0]


def _map_kt(struct, values: dict):
    """``struct`` with every KerasTensor replaced by its value."""
    if isinstance(struct, KerasTensor):
        return values[id(struct)]
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map_kt(s, values) for s in struct)
    if isinstance(struct, dict):
        return {k: _map_kt(v, values) for k, v in struct.items()}
    return struct


def inject_functional_class(cls) -> type:
    """Make a user subclass of Model that calls ``super().__init__(inputs, outputs)`` a Functional subclass."""
    if cls is Model:
        return Functional
    if cls is object or cls is Functional:
        return cls
    cls.__bases__ = tuple(inject_functional_class(base) for base in cls.__bases__)
    return cls


def has_functional_constructor(cls) -> bool:
    """Whether ``cls(inputs=..., outputs=..., name=...)`` rebuilds the model (no custom ``__init__``)."""
    init = cls.__init__
    return init in (Functional.__init__, Model.__init__)


class Functional(Model):
    """A model defined by a graph of layers from ``inputs`` to ``outputs`` (a tensor, a list or a dict)."""

    def __init__(self, inputs, outputs, name: str | None = None, trainable: bool = True, **kwargs):
        dtype = kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"Functional model: unrecognized keyword arguments {sorted(kwargs)}")
        self._init_model(name=name, trainable=trainable, dtype=dtype)
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        for what, struct in (("inputs", inputs), ("outputs", outputs)):
            for v in _flat(struct):
                if not isinstance(v, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors (from `keras.Input` and layer "
                                     f"calls). Received: {what}={struct!r} including invalid value {v!r} of "
                                     f"type {type(v).__name__}")
        object.__setattr__(self, "_inputs_struct", inputs)
        object.__setattr__(self, "_outputs_struct", outputs)
        self._build_graph()
        self.built = True
        self._build_input_shape = _pack(inputs, [tuple(t.shape) for t in self.inputs])
        flat_out = _flat(outputs)
        if isinstance(outputs, dict):
            self._output_keys = list(outputs.keys())
        else:
            keys = [_producer(t, self.name).layer.name for t in flat_out]
            if len(set(keys)) != len(keys):  # one layer giving several of the outputs
                keys = [f"{k}_{i}" for i, k in enumerate(keys)]
            self._output_keys = keys

    # ---- the graph -----------------------------------------------------------------------
    def _build_graph(self) -> None:
        flat_in, flat_out = _flat(self._inputs_struct), _flat(self._outputs_struct)
        input_ids = {id(t) for t in flat_in}
        name = self.name
        discovered: dict[int, int] = {}  # id(layer) -> discovery order (pre-order from the outputs)
        layer_by_id: dict[int, object] = {}

        def discover(layer):
            if id(layer) not in discovered:
                discovered[id(layer)] = len(discovered)
                layer_by_id[id(layer)] = layer

        post: list = []  # nodes, each after the nodes producing its inputs
        state: dict[int, int] = {}
        for out in flat_out:
            if id(out) in input_ids:
                discover(_producer(out, name).layer)
                continue
            stack = [(_producer(out, name), False)]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    if state[id(node)] != 2:
                        state[id(node)] = 2
                        post.append(node)
                    continue
                if id(node) in state:
                    continue
                state[id(node)] = 1
                discover(node.layer)
                stack.append((node, True))
                for t in reversed(_node_inputs(node)):
                    if id(t) in input_ids:
                        discover(_producer(t, name).layer)
                        continue
                    parent = _producer(t, name)
                    if isinstance(parent.layer, InputLayer):
                        raise ValueError(
                            f"Graph disconnected: cannot find parent for KerasTensor {t} (from "
                            f"{parent.layer.name!r}) in model {name!r}: it is not among the model's inputs "
                            f"{[x.name for x in flat_in]}. Make sure all inputs are passed to the Model."
                        )
                    if id(parent) not in state:
                        stack.append((parent, False))
        # depth: 0 for output nodes; a producer lies at least one deeper than each of its consumers
        depth: dict[int, int] = {}
        input_depth: dict[int, int] = {id(t): 0 for t in flat_in}
        for node in reversed(post):
            d = depth.setdefault(id(node), 0)
            for t in _node_inputs(node):
                if id(t) in input_ids:
                    input_depth[id(t)] = max(input_depth[id(t)], d + 1)
                else:
                    p = id(_producer(t, name))
                    depth[p] = max(depth.get(p, 0), d + 1)
        order = {id(n): i for i, n in enumerate(post)}
        nodes = sorted(post, key=lambda n: (-depth[id(n)], order[id(n)]))
        layer_depth: dict[int, int] = {}
        for n in nodes:
            layer_depth[id(n.layer)] = max(layer_depth.get(id(n.layer), 0), depth[id(n)])
        input_nodes = []
        for t in flat_in:
            producer = _producer(t, name)
            input_nodes.append(producer)
            discover(producer.layer)
            layer_depth[id(producer.layer)] = max(layer_depth.get(id(producer.layer), 0), input_depth[id(t)])
        layers = sorted((layer_by_id[i] for i in layer_depth), key=lambda la: (-layer_depth[id(la)],
                                                                              discovered[id(la)]))
        counts = Counter(layer.name for layer in layers)
        dup = [k for k, c in counts.items() if c > 1]
        if dup:
            raise ValueError(f'The name "{dup[0]}" is used {counts[dup[0]]} times in the model. All layer names '
                             f"should be unique.")
        object.__setattr__(self, "_layers", layers)
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_node_depth", {id(n): depth[id(n)] for n in nodes})
        object.__setattr__(self, "_own_nodes", {id(n) for n in nodes} | {id(n) for n in input_nodes})
        object.__setattr__(self, "inputs", list(flat_in))
        object.__setattr__(self, "outputs", list(flat_out))
        # the replay plan: (layer, node, the single KerasTensor input or None, flat outputs)
        plan = []
        for n in nodes:
            single = n.input_structure if (isinstance(n.input_structure, KerasTensor) and not n.args
                                           and not _keras_tensors(dict(n.kwargs))) else None
            plan.append((n.layer, n, single, _flatten(n.outputs)))
        object.__setattr__(self, "_plan", plan)
        # after step k, the values no later step reads (and that are no output): dropped during call(), so that
        # inference holds only the live activations (a recorded graph keeps what its backward needs anyway)
        last_use = {}
        for k, (_, n, _, _) in enumerate(plan):
            for kt in _node_inputs(n):
                last_use[id(kt)] = k
        keep = {id(t) for t in self.outputs}
        release = [[] for _ in plan]
        for key, k in last_use.items():
            if key not in keep:
                release[k].append(key)
        object.__setattr__(self, "_release", release)
        # BatchNormalization / Add → ReLU: the ReLU run inside the first layer's op (models/fusion.py)
        pairs = fusion.graph_pairs(plan, {id(t) for t in self.outputs}, _node_inputs)
        object.__setattr__(self, "_fuse_first", set(pairs))
        object.__setattr__(self, "_fuse_skip", set(pairs.values()))

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        return _pack(self._inputs_struct, [t.shape for t in self.inputs])

    @property
    def output_shape(self):
        return _pack(self._outputs_struct, [t.shape for t in self.outputs])

    def _layer_output_shapes(self) -> dict:
        """id(layer) → the output shape(s) of its (last) call in this model, for ``summary``."""
        out = {}
        for layer, node, _, _ in self._plan:
            out[id(layer)] = node.outputs
        for t in self.inputs:
            out[id(t._keras_history[0].layer)] = t
        return {k: _map_kt_shape(v) for k, v in out.items()}

    # ---- running -------------------------------------------------------------------------
    def _standardize_inputs(self, inputs) -> list:
        struct = self._inputs_struct
        if isinstance(inputs, dict) and not isinstance(struct, dict):
            names = [t.name for t in self.inputs]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f'Layer "{self.name}" expects inputs named {names}, received a dict with keys '
                                 f"{sorted(inputs)}")
            return [inputs[n] for n in names]
        if isinstance(struct, dict):
            if not isinstance(inputs, dict):
                flat = _flat(inputs)
                if len(flat) != len(struct):
                    raise ValueError(f'Layer "{self.name}" expects a dict of inputs {list(struct)}, received '
                                     f"{len(flat)} input tensor(s)")
                return flat
            missing = [k for k in struct if k not in inputs]
            if missing:
                raise ValueError(f'Layer "{self.name}" is missing inputs {missing}; received keys {sorted(inputs)}')
            return [inputs[k] for k in struct]
        flat = _flat(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f'Layer "{self.name}" expects {len(self.inputs)} input(s), but it received '
                             f"{len(flat)} input tensors.")
        return flat

    def _adjust_input(self, i: int, kt: KerasTensor, x):
        """Keras's rank fix-up (a trailing axis of 1 added or dropped), then a shape check."""
        expected = kt.shape
        if isinstance(x, Tensor):
            if x.ndim == len(expected) - 1 and expected and expected[-1] == 1:
                x = ops.expand_dims(x, -1)
            elif x.ndim == len(expected) + 1 and x.shape[-1] == 1:
                x = ops.squeeze(x, -1)
            if x.ndim != len(expected) or any(e is not None and e != s for e, s in zip(expected, x.shape)):
                raise ValueError(f'Input {i} of layer "{self.name}" is incompatible with the layer: expected '
                                 f"shape={expected}, found shape={tuple(x.shape)}")
        return x

    def call(self, inputs, training=None, mask=None):
        flat = self._standardize_inputs(inputs)
        values = {}
        masks = _flat(mask) if mask is not None else None
        for i, (kt, x) in enumerate(zip(self.inputs, flat)):
            x = self._adjust_input(i, kt, x)
            if masks is not None and i < len(masks) and masks[i] is not None and isinstance(x, Tensor):
                x._keras_mask = masks[i]
            values[id(kt)] = x
        fuse_first, fuse_skip = (self._fuse_first, self._fuse_skip) if fusion.enabled() else ((), ())
        for step, (layer, node, single, flat_out) in enumerate(self._plan):
            if step in fuse_skip:  # this ReLU ran inside the layer before (fusion.py): its output is that one's
                out = values[id(single)]
            else:
                with fusion.relu_inside(layer) if step in fuse_first else contextlib.nullcontext():
                    if single is not None:
                        out = layer(values[id(single)], **node.kwargs) if node.kwargs else layer(values[id(single)])
                    else:
                        out = layer(_map_kt(node.input_structure, values), *_map_kt(list(node.args), values),
                                    **_map_kt(dict(node.kwargs), values))
            if len(flat_out) == 1:
                values[id(flat_out[0])] = out if not isinstance(out, (list, tuple)) else _flatten(out)[0]
            else:
                for kt, v in zip(flat_out, _flatten(out)):
                    values[id(kt)] = v
            for key in self._release[step]:
                values.pop(key, None)
        return _pack(self._outputs_struct, [values[id(t)] for t in self.outputs])

    def compute_output_shape(self, input_shape):
        """Output shapes for ``input_shape`` by propagating shapes through every layer's compute_output_shape."""
        if isinstance(input_shape, dict):
            shapes = self._standardize_inputs(input_shape)
        elif isinstance(input_shape, tuple) and all(s is None or isinstance(s, int) for s in input_shape):
            shapes = [input_shape]
        else:
            shapes = _flatten_shapes(input_shape)
        values = {id(kt): tuple(s) for kt, s in zip(self.inputs, shapes)}
        for layer, node, _, flat_out in self._plan:
            out = layer.compute_output_shape(_map_kt(node.input_structure, values))
            for kt, s in zip(flat_out, _flatten_shapes(out)):
                values[id(kt)] = tuple(s)
        return _pack(self._outputs_struct, [values[id(t)] for t in self.outputs])

    # ---- config --------------------------------------------------------------------------
    def _node_index(self, layer, node) -> int:
        """The index of ``node`` among ``layer``'s nodes that belong to this model; as in Keras, a functional
        model's own nodes count from 1 (Keras gives it a node of its own, input to output, at construction)."""
        i = 1 if isinstance(layer, Functional) else 0
        for n in layer._inbound_nodes:
            if n is node:
                return i
            if id(n) in self._own_nodes:
                i += 1
        raise RuntimeError(f"internal error: node of layer {layer.name!r} not found")

    def _tensor_ref(self, t: KerasTensor) -> list:
        node, index = t._keras_history
        return [node.layer.name, self._node_index(node.layer, node), index]

    def _serialize_value(self, v):
        if isinstance(v, KerasTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(v.shape), "dtype": v.dtype, "keras_history": self._tensor_ref(v)}}
        if isinstance(v, (list, tuple)):
            return [self._serialize_value(e) for e in v]
        if isinstance(v, dict):
            return {k: self._serialize_value(e) for k, e in v.items()}
        if hasattr(v, "item") and not isinstance(v, Tensor):
            return v.item()
        return v

    def get_build_config(self) -> dict:
        """Keras writes ``{"input_shape": None}`` for a functional model: its config rebuilds it built."""
        return {"input_shape": None}

    def get_config(self) -> dict:
        if not has_functional_constructor(type(self)):
            return Model.get_config(self)  # a subclass with its own constructor: its own config
        layer_configs = []
        for layer in self._layers:
            cfg = serialize_layer(layer)
            cfg["name"] = layer.name
            inbound = []
            if not isinstance(layer, InputLayer):
                for node in layer._inbound_nodes:
                    if id(node) in self._own_nodes:
                        call_args = layer.keras_call_args(node.input_structure) if hasattr(
                            layer, "keras_call_args") else [node.input_structure, *node.args]
                        inbound.append({"args": self._serialize_value(call_args),
                                        "kwargs": self._serialize_value(dict(node.kwargs))})
            cfg["inbound_nodes"] = inbound
            layer_configs.append(cfg)

        def refs(struct):
            if isinstance(struct, KerasTensor):
                return self._tensor_ref(struct)
            if isinstance(struct, dict):
                return {k: refs(v) for k, v in struct.items()}
            return [refs(v) for v in struct]

        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs,
                "input_layers": refs(self._inputs_struct), "output_layers": refs(self._outputs_struct)}


def _map_kt_shape(struct):
    if isinstance(struct, KerasTensor):
        return struct.shape
    if isinstance(struct, (list, tuple)):
        return [_map_kt_shape(s) for s in struct]
    if isinstance(struct, dict):
        return {k: _map_kt_shape(v) for k, v in struct.items()}
    return struct


def _is_ref(v) -> bool:
    return isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and isinstance(v[1], int)


def _get_tensor(created: dict, name: str, node_index: int, tensor_index: int) -> KerasTensor:
    if name not in created:
        raise ValueError(f"Functional config: unknown layer {name!r} in a node reference")
    layer = created[name]
    if isinstance(layer, Functional):  # Keras counts a functional model's nodes from 1 (see _node_index)
        node_index -= 1
    if node_index < 0 or len(layer._inbound_nodes) <= node_index:
        raise IndexError(f"layer {name!r} has no node {node_index} yet")
    return _flatten(layer._inbound_nodes[node_index].outputs)[tensor_index]


def _deserialize_value(v, created: dict):
    if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
        return _get_tensor(created, *v["config"]["keras_history"])
    if isinstance(v, dict) and v.get("class_name") == "__tuple__":
        return tuple(_deserialize_value(e, created) for e in v["config"]["value"])
    if isinstance(v, list):
        return [_deserialize_value(e, created) for e in v]
    if isinstance(v, dict):
        return {k: _deserialize_value(e, created) for k, e in v.items()}
    return v


def _deserialize_node(data, created: dict):
    """(args, kwargs) of one layer call; IndexError while an inbound node does not exist yet."""
    if isinstance(data, list):  # Keras 2: [[layer_name, node_index, tensor_index(, kwargs)], ...]
        tensors, kwargs = [], {}
        for ref in data:
            tensors.append(_get_tensor(created, ref[0], ref[1], ref[2]))
            if len(ref) == 4 and ref[3]:
                kwargs = dict(ref[3])
        return [tensors[0] if len(tensors) == 1 else tensors], kwargs
    args = _deserialize_value(data.get("args", []), created)
    kwargs = _deserialize_value(data.get("kwargs", {}), created)
    return args, kwargs


def functional_from_config(cls, config: dict, custom_objects: dict | None = None):
    """Rebuild a functional model: create every layer, then replay the recorded calls in dependency order."""
    created: dict[str, object] = {}
    pending: dict[str, list] = {}
    for layer_data in config["layers"]:
        name = layer_data.get("name") or layer_data["config"].get("name")
        created[name] = deserialize_layer(layer_data, custom_objects)
        pending[name] = list(layer_data.get("inbound_nodes") or [])
    while any(pending.values()):
        progress = False
        for layer_data in config["layers"]:
            name = layer_data.get("name") or layer_data["config"].get("name")
            queue = pending[name]
            while queue:
                try:
                    args, kwargs = _deserialize_node(queue[0], created)
                except IndexError:
                    break
                created[name](*args, **kwargs)
                queue.pop(0)
                progress = True
        if not progress:
            stuck = sorted(k for k, v in pending.items() if v)
            raise ValueError(f"Functional config: cannot rebuild the calls of layers {stuck}: their inputs are "
                             f"never produced")

    def tensors(refs):
        if _is_ref(refs):
            return _get_tensor(created, *refs)
        if isinstance(refs, dict):
            return {k: tensors(v) for k, v in refs.items()}
        return [tensors(v) for v in refs]

    inputs, outputs = tensors(config["input_layers"]), tensors(config["output_layers"])
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"), trainable=config.get("trainable", True))

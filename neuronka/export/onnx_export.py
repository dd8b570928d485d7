"""``model.export(path, format="onnx")``: walk the model's layers, write each through its converter, check the
graph with ``onnx.checker`` and write the file atomically (a temporary file in the same folder, then
``os.replace``), so that a failed export leaves no partial file behind.

The walk: a Sequential model is its chain of layers; a functional model is its replay plan (the nodes ordered
so that every node follows the nodes producing its inputs, ``Functional._plan``); a nested model is walked in
place with its inputs bound to the caller's values. Before a model level is written, every
convolution → BatchNormalization pair whose convolution output feeds only that BatchNormalization is folded:
W' = W·s, b' = (b − μ)·s + β with s = γ / √(σ² + ε) per output channel (exact up to float rounding).
Masks (``Embedding(mask_zero=True)``) travel with the values as bool (N, T) tensors, as in neuronka's
``__call__``: a layer that supports masking passes its input's mask on, the others drop it.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy

from .onnx_graph import UNSET, GraphBuilder, Value
from .registry import UnsupportedLayerError, converter_of, load_all, unsupported

DEFAULT_OPSET = 18
MIN_OPSET = 17  # LayerNormalization
_ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9, "float16": 10,
               "float64": 11}


def _flat(s) -> list:
    if isinstance(s, (list, tuple)):
        return [x for e in s for x in _flat(e)]
    if isinstance(s, dict):
        return [x for v in s.values() for x in _flat(v)]
    return [s]


def _map(struct, fn):
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map(s, fn) for s in struct)
    if isinstance(struct, dict):
        return {k: _map(v, fn) for k, v in struct.items()}
    return fn(struct)


def onnx_type(dtype) -> int:
    name = numpy.dtype(str(dtype)).name
    if name not in _ONNX_TYPES:
        raise ValueError(f"export(format='onnx'): inputs of dtype {dtype} are not supported; expected one of "
                         f"{sorted(_ONNX_TYPES)}")
    return _ONNX_TYPES[name]


# ---- the walk -----------------------------------------------------------------------------------------------
_CONV_FOLDABLE = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D")


def _foldable(conv, bn) -> bool:
    """Whether BatchNormalization ``bn`` directly after ``conv`` can be folded into its weights."""
    from ..activations import linear  # noqa: PLC0415
    from ..layers.normalization import BatchNormalization  # noqa: PLC0415

    return (type(bn) is BatchNormalization and type(conv).__name__ in _CONV_FOLDABLE
            and type(conv).__module__ == "neuronka.layers.convolutional" and conv.activation is linear
            and conv.data_format == "channels_last" and bn.axis in (-1, conv.rank + 1)
            and not getattr(conv, "lora_enabled", False))


def convert_layer(g: GraphBuilder, layer, args: tuple, kwargs: dict, call_args: list):
    """Write one layer call; returns its output Value(s) with masks propagated."""
    from ..models.model import Model  # noqa: PLC0415

    scope, g.scope = g.scope, (f"{g.scope}/{layer.name}" if g.scope else layer.name)
    try:
        if isinstance(layer, Model):
            if kwargs:
                raise unsupported(layer, f"a nested model called with keyword arguments {sorted(kwargs)}")
            out = convert_model(g, layer, _flat(list(args)))
            return out[0] if len(out) == 1 else out
        out = converter_of(layer)(g, layer, *args, **kwargs)
    finally:
        g.scope = scope
    first = next((v for v in call_args if isinstance(v, Value)), None)
    in_mask = first.mask if first is not None and first.mask is not UNSET else None
    for v in _flat(out):
        if v.mask is UNSET:
            v.mask = in_mask if getattr(layer, "supports_masking", False) else None
    return out


def convert_model(g: GraphBuilder, model, inputs: list[Value]) -> list[Value]:
    """Write ``model`` on the input values; returns its flat output values."""
    from ..layers.symbolic import InputLayer  # noqa: PLC0415
    from ..models.functional import Functional  # noqa: PLC0415
    from ..models.sequential import Sequential  # noqa: PLC0415

    if isinstance(model, Sequential):
        layers = model.layers
        if not model.built or not model._layers or not isinstance(model._layers[0], InputLayer):
            raise ValueError(f"export(format='onnx'): Sequential model {model.name!r} has no input shape; build it "
                             f"first (keras.Input as its first layer, or model.build(input_shape))")
        if len(inputs) != 1:
            raise ValueError(f"export(format='onnx'): Sequential model {model.name!r} takes one input, received "
                             f"{len(inputs)}")
        x, k = inputs[0], 0
        while k < len(layers):
            layer = layers[k]
            if k + 1 < len(layers) and _foldable(layer, layers[k + 1]):
                x = _convert_folded(g, layer, layers[k + 1], x)
                k += 2
                continue
            x = convert_layer(g, layer, (x,), {}, [x])
            k += 1
        return _flat(x)
    if isinstance(model, Functional):
        return _convert_functional(g, model, inputs)
    raise UnsupportedLayerError(f"export(format='onnx'): model {model.name!r} of class {type(model).__name__} is a "
                                f"subclassed model (its call() is Python code); only Sequential and functional "
                                f"models can be exported")


def _convert_folded(g, conv, bn, x):
    from .convert_conv import convolution  # noqa: PLC0415

    scope, g.scope = g.scope, (f"{g.scope}/{conv.name}" if g.scope else conv.name)
    try:
        out = convolution(g, conv, x, fold=bn)
    finally:
        g.scope = scope
    out.mask = None
    return out


def _convert_functional(g, model, inputs: list[Value]) -> list[Value]:
    from ..layers.symbolic import KerasTensor  # noqa: PLC0415
    from ..models.functional import _node_inputs  # noqa: PLC0415

    if len(inputs) != len(model.inputs):
        raise ValueError(f"export(format='onnx'): model {model.name!r} takes {len(model.inputs)} inputs, received "
                         f"{len(inputs)}")
    values = {id(kt): v for kt, v in zip(model.inputs, inputs)}
    plan = model._plan
    consumers: dict[int, int] = {}
    for _, node, _, _ in plan:
        for kt in _node_inputs(node):
            consumers[id(kt)] = consumers.get(id(kt), 0) + 1
    outputs = {id(t) for t in model.outputs}
    producer_step = {id(kt): k for k, (_, _, _, flat_out) in enumerate(plan) for kt in flat_out}
    folded: dict[int, int] = {}  # step of a convolution → step of the BatchNormalization folded into it
    for k, (layer, node, single, _) in enumerate(plan):
        if single is None or node.kwargs or id(single) not in producer_step:
            continue
        j = producer_step[id(single)]
        if (consumers.get(id(single)) == 1 and id(single) not in outputs and j not in folded
                and _foldable(plan[j][0], layer)):
            folded[j] = k
    skip = set(folded.values())
    for k, (layer, node, _, flat_out) in enumerate(plan):
        if k in skip:
            continue

        def bind(s):
            return values[id(s)] if isinstance(s, KerasTensor) else s

        args = (_map(node.input_structure, bind), *_map(list(node.args), bind))
        kwargs = _map(dict(node.kwargs), bind)
        if k in folded:  # the convolution's value is the BatchNormalization's output
            bn, _, _, flat_out = plan[folded[k]]
            out = _convert_folded(g, layer, bn, args[0])
        else:
            out = convert_layer(g, layer, args, kwargs, _flat([args, kwargs]))
        flat_vals = _flat(out)
        if len(flat_vals) != len(flat_out):
            raise unsupported(layer, f"its converter gave {len(flat_vals)} outputs, the layer has {len(flat_out)}")
        for kt, v in zip(flat_out, flat_vals):
            values[id(kt)] = v
    return [values[id(t)] for t in model.outputs]


# ---- the file -----------------------------------------------------------------------------------------------
def _input_values(g: GraphBuilder, model, input_signature) -> tuple[list[Value], list]:
    from ..layers.symbolic import InputLayer  # noqa: PLC0415
    from ..models.sequential import Sequential  # noqa: PLC0415

    if isinstance(model, Sequential):
        first = model._layers[0] if model._layers else None
        if not isinstance(first, InputLayer):
            raise ValueError(f"export(format='onnx'): Sequential model {model.name!r} has no input shape; build it "
                             f"first (keras.Input as its first layer, or model.build(input_shape))")
        specs = [(first.name, tuple(first.batch_shape), first.dtype)]
    elif hasattr(model, "inputs") and model.inputs:
        specs = [(t.name, tuple(t.shape), t.dtype) for t in model.inputs]
    else:
        raise UnsupportedLayerError(f"export(format='onnx'): model {model.name!r} of class {type(model).__name__} has "
                                    f"no symbolic inputs; only Sequential and functional models can be exported")
    if input_signature is not None:
        sig = _flat(input_signature)
        if len(sig) != len(specs):
            raise ValueError(f"export(format='onnx'): `input_signature` has {len(sig)} entries, the model takes "
                             f"{len(specs)} inputs")
        specs = [(getattr(s, "name", None) or n, tuple(getattr(s, "shape", s)), getattr(s, "dtype", None) or d)
                 for s, (n, _, d) in zip(sig, specs)]
    values, infos, seen = [], [], set()
    for i, (name, shape, dtype) in enumerate(specs):
        name = name or f"input_{i}"
        if name in seen:
            name = f"{name}_{i}"
        seen.add(name)
        g._used.add(name)
        t = onnx_type(dtype)
        dims = ["batch" if k == 0 else (d if d is not None else f"{name}_dim{k}") for k, d in enumerate(shape)]
        infos.append(g.onnx.helper.make_tensor_value_info(name, t, dims))
        values.append(g.value(name, (None, *shape[1:]), dtype=t, mask=None))
    return values, infos


def build_onnx_model(model, input_signature=None, opset_version: int | None = None, metadata: dict | None = None):
    """The ``onnx.ModelProto`` of ``model`` (checked with ``onnx.checker``)."""
    load_all()
    g = GraphBuilder()
    onnx = g.onnx
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export(format='onnx'): expected opset_version in [{MIN_OPSET}, "
                         f"{onnx.defs.onnx_opset_version()}], received opset_version={opset_version}")
    if not getattr(model, "built", False):
        raise ValueError(f"export(format='onnx'): model {model.name!r} is not built; call it on data or build it "
                         f"first")
    inputs, input_infos = _input_values(g, model, input_signature)
    outputs = convert_model(g, model, inputs)
    names = _output_names(model, len(outputs))
    output_infos = []
    for name, v in zip(names, outputs):
        name = g.name(name) if name in g._used else name  # never the name of an inner tensor
        g._used.add(name)
        g.op("Identity", [g.keras(v)], hint=name)
        g.nodes[-1].output[0] = name
        dims = ["batch" if k == 0 else (d if d is not None else f"{name}_dim{k}") for k, d in enumerate(v.shape)]
        output_infos.append(onnx.helper.make_tensor_value_info(name, v.dtype, dims))
    graph = onnx.helper.make_graph(g.nodes, model.name, input_infos, output_infos, g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="neuronka", producer_version=_version())
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))  # older runtimes read it
    proto.doc_string = f"neuronka model {model.name!r} exported to ONNX opset {opset}"
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = str(key), value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(proto)
    return proto


def _output_names(model, n: int) -> list[str]:
    keys = list(getattr(model, "_output_keys", None) or [])
    if len(keys) != n:
        keys = [getattr(model.layers[-1], "name", "output")] if n == 1 else [f"output_{i}" for i in range(n)]
    out, seen = [], set()
    for k in keys:
        name = k if k not in seen else f"{k}_{len(seen)}"
        seen.add(name)
        out.append(name)
    return out


def _version() -> str:
    try:
        from importlib.metadata import version  # noqa: PLC0415

        return version("neuronka")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "dev"


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version: int | None = None,
                class_names=None, metadata: dict | None = None) -> None:
    """Write ``model`` as an ONNX file at ``filepath`` (Keras 3's ``keras.export.export_onnx`` arguments, plus
    ``class_names`` and other ``metadata`` stored in the model's ``metadata_props``).

    The batch axis is dynamic ("batch"); the opset is :data:`DEFAULT_OPSET` unless ``opset_version`` says
    otherwise. Raises :class:`UnsupportedLayerError` naming the first layer without an ONNX form; the file
    is written through a temporary file in the same folder and ``os.replace``, so no partial file is left.
    """
    try:
        import onnx  # noqa: F401, PLC0415
    except ImportError:
        raise ImportError("export(format='onnx') needs the `onnx` package: pip install 'neuronka[onnx]' "
                          "(or pip install onnx)") from None
    path = Path(os.fspath(filepath)).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"export(format='onnx'): {path} is a folder; expected a file path such as "
                                f"{path / 'model.onnx'}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"export(format='onnx'): the folder {path.parent} of {path} does not exist")
    meta = dict(metadata or {})
    if class_names is not None:
        meta["class_names"] = [str(c) for c in class_names]
    proto = build_onnx_model(model, input_signature=input_signature, opset_version=opset_version, metadata=meta)
    data = proto.SerializeToString()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if verbose:
        print(f"Saved the model {model.name!r} as ONNX (opset {proto.opset_import[0].version}, "
              f"{len(proto.graph.node)} nodes) at {path}")

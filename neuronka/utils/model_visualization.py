"""A model as a Graphviz graph (``keras.utils.model_to_dot``) and as a picture (``keras.utils.plot_model``).

Each layer is a node labelled as Keras labels it (name and class, and on request the activation, input
and output shapes, output dtype and whether it trains); an edge runs from the layer that produced a
tensor to each layer that reads it. The graph is a ``pydot.Dot`` (the optional ``pydot`` package:
``pip install pydot``); drawing it needs Graphviz's ``dot`` program (``apt install graphviz``, or
https://graphviz.org/download/). Without them a clear ``ImportError`` says which is missing.
"""
from __future__ import annotations

import os


def _pydot():
    try:
        import pydot  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return pydot


def check_pydot() -> bool:
    return _pydot() is not None


def check_graphviz() -> bool:
    """Whether pydot is installed and Graphviz's ``dot`` runs."""
    pydot = _pydot()
    if pydot is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    text = ", ".join(f"{k}: {v}" for k, v in shape.items()) if isinstance(shape, dict) else f"{shape}"
    return text.replace("}", "").replace("{", "")


def _map(fn, struct):
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map(fn, s) for s in struct)
    if isinstance(struct, dict):
        return {k: _map(fn, v) for k, v in struct.items()}
    return fn(struct)


def _activation_name(layer) -> str:
    act = layer.activation
    return getattr(act, "name", None) or getattr(act, "__name__", None) or str(act)


def layer_label(layer, show_layer_names=True, show_layer_activations=False, show_dtype=False, show_shapes=False,
                show_trainable=False) -> str:
    """The HTML-like table Keras draws for a layer."""
    class_name = type(layer).__name__
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    table = ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
             f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">{title}'
             "</font></td></tr>")
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        table += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">'
                  f"Activation: <b>{_activation_name(layer)}</b></font></td></tr>")
    cols = []
    if show_shapes:
        try:
            in_shape = _map(lambda t: tuple(t.shape), layer.input)
            out_shape = _map(lambda t: tuple(t.shape), layer.output)
        except (ValueError, AttributeError):
            in_shape = out_shape = None
        if class_name != "InputLayer":
            cols.append(f'<td bgcolor="white"><font point-size="14">Input shape: <b>{_shape_text(in_shape)}</b>'
                        "</font></td>")
        cols.append(f'<td bgcolor="white"><font point-size="14">Output shape: <b>{_shape_text(out_shape)}</b>'
                    "</font></td>")
    if show_dtype:
        try:
            dtype = _map(lambda t: t.dtype, layer.output)
        except (ValueError, AttributeError):
            dtype = None
        cols.append(f'<td bgcolor="white"><font point-size="14">Output dtype: <b>{dtype or "?"}</b></font></td>')
    if show_trainable and getattr(layer, "weights", None):
        cols.append('<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>'
                    if layer.trainable else
                    '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b></font></td>')
    if cols:
        table += f"<tr>{''.join(cols)}</tr>"
    return table + "</table>>"


def _add_edge(dot, pydot, src, dst) -> None:
    src_id, dst_id = str(id(src)), str(id(dst))
    if not dot.get_edge(src_id, dst_id):
        edge = pydot.Edge(src_id, dst_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _functional_edges(model):
    """(producer layer, consumer layer) for every tensor passed inside a functional model."""
    from ..layers.base import _flatten  # noqa: PLC0415
    from ..layers.symbolic import KerasTensor  # noqa: PLC0415

    own = model._own_nodes
    for layer in model._layers:
        for node in layer._inbound_nodes:
            if id(node) not in own:
                continue
            for t in _flatten(node.input_structure):
                if isinstance(t, KerasTensor) and t._keras_history is not None:
                    yield t._keras_history[0].layer, layer


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines="ortho", **kwargs):
    """The model's graph as a ``pydot.Dot`` (a ``pydot.Cluster`` with ``subgraph``), nodes labelled as Keras
    labels them; nested models drawn as dashed clusters with ``expand_nested``."""
    from ..models.functional import Functional  # noqa: PLC0415
    from ..models.sequential import Sequential  # noqa: PLC0415

    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    pydot = _pydot()
    if pydot is None:
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    label_kw = {"show_layer_names": show_layer_names, "show_layer_activations": show_layer_activations,
                "show_dtype": show_dtype, "show_shapes": show_shapes, "show_trainable": show_trainable}

    def node(layer):
        n = pydot.Node(str(id(layer)), label=layer_label(layer, **label_kw))
        n.set("fontname", "Helvetica")
        n.set("border", "0")
        n.set("margin", "0")
        return n

    if isinstance(model, Sequential):
        layers = model.layers
    elif isinstance(model, Functional):
        layers = model._layers
    else:
        dot.add_node(node(model))
        return dot
    for layer in layers:
        if expand_nested and isinstance(layer, (Functional, Sequential)):
            dot.add_subgraph(model_to_dot(layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                                          subgraph=True, show_layer_activations=show_layer_activations,
                                          show_trainable=show_trainable))
        else:
            dot.add_node(node(layer))

    def entry(layer):  # where an edge into a nested model lands when it is expanded
        while expand_nested and isinstance(layer, (Functional, Sequential)):
            layer = layer.layers[0] if isinstance(layer, Sequential) else layer.inputs[0]._keras_history[0].layer
        return layer

    def exit_(layer):
        while expand_nested and isinstance(layer, (Functional, Sequential)):
            layer = layer.layers[-1] if isinstance(layer, Sequential) else layer.outputs[0]._keras_history[0].layer
        return layer

    if isinstance(model, Sequential):
        for a, b in zip(layers, layers[1:]):
            _add_edge(dot, pydot, exit_(a), entry(b))
        return dot
    for src, dst in _functional_edges(model):
        _add_edge(dot, pydot, exit_(src), entry(dst))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's graph (:func:`model_to_dot`) into ``to_file`` (png, pdf, svg, ... by its extension);
    returns an IPython image in a notebook for a png, else None."""
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    if not check_pydot():
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model` to work.")
    if not check_graphviz():
        raise ImportError("You must install graphviz (see instructions at https://graphviz.gitlab.io/download/) "
                          "for `plot_model` to work: its `dot` program was not found.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    _, ext = os.path.splitext(to_file)
    fmt = ext[1:] if ext else "png"
    dot.write(to_file, format=fmt)
    if fmt == "png":
        try:
            from IPython import display  # noqa: PLC0415 - only in a notebook

            return display.Image(filename=to_file)
        except ImportError:
            pass
    return None

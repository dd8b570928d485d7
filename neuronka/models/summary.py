"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                        ┃ Output Shape                 ┃         Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
    │ dense (Dense)                       │ (None, 10)                   │           7,850 │
    └─────────────────────────────────────┴──────────────────────────────┴─────────────────┘
     Total params: 7,850 (30.66 KB)
     Trainable params: 7,850 (30.66 KB)
     Non-trainable params: 0 (0.00 B)

A Dense layer from n inputs to m units has n·m + m parameters (784·10 + 10 = 7,850). Functional
models whose graph is not a plain chain get a "Connected to" column (``layer[node][tensor]``).
"""
from __future__ import annotations

import re
import shutil
import textwrap

import numpy

from ..layers.base import _flatten


def readable_memory_size(n_bytes: float) -> str:
    """``30.66 KB``: bytes in B/KB/MB/GB/TB/PB, powers of 1024, two decimals."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _count(weights) -> tuple[int, int]:
    """(number of parameters, bytes), each weight counted once."""
    unique = {id(w): w for w in weights}.values()
    count = sum(int(numpy.prod(w.shape)) for w in unique)
    size = sum(int(numpy.prod(w.shape)) * numpy.dtype(w.dtype).itemsize for w in unique)
    return count, size


def _format_shape(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, tuple) and all(s is None or isinstance(s, (int, numpy.integer)) for s in shape):
        return "(" + ", ".join(str(s) for s in shape) + ")"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, (list, tuple)):
        if all(s is None or isinstance(s, (int, numpy.integer)) for s in shape):
            return _format_shape(tuple(shape))
        parts = [_format_shape(s) for s in shape]
        return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return str(shape)


def _output_shape(model, layer, known: dict):
    if id(layer) in known and known[id(layer)] is not None:
        return known[id(layer)]
    if layer._inbound_nodes:
        node = layer._inbound_nodes[-1]
        return _shapes_of(node.outputs)
    shape = getattr(layer, "_build_input_shape", None)
    if layer.built and shape is not None:
        try:
            return layer.compute_output_shape(shape)
        except Exception:  # noqa: BLE001 - a layer without shape inference shows "?"
            return None
    return None


def _shapes_of(struct):
    if hasattr(struct, "shape") and not isinstance(struct, (list, tuple, dict)):
        return tuple(struct.shape)
    if isinstance(struct, dict):
        return {k: _shapes_of(v) for k, v in struct.items()}
    return [_shapes_of(s) for s in struct]


def _is_sequential_like(model) -> bool:
    """A functional model is shown like a Sequential one when its graph is a plain chain."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return True
    depths = {}
    for node in nodes:
        d = model._node_depth[id(node)]
        if d in depths:
            return False
        depths[d] = node
        if len([t for t in _flatten(node.input_structure) if hasattr(t, "_keras_history")]) > 1:
            return False
    if len(model.inputs) > 1 or len(model.outputs) > 1:
        return False
    seen = set()
    for node in nodes:
        if id(node.layer) in seen:
            return False
        seen.add(id(node.layer))
    return True


def _connections(model, layer) -> str:
    own = getattr(model, "_own_nodes", set())
    parts = []
    for node in layer._inbound_nodes:
        if id(node) not in own:
            continue
        for t in _flatten(node.input_structure):
            history = getattr(t, "_keras_history", None)
            if history is None:
                continue
            src_node, tensor_index = history
            node_index = src_node.layer._inbound_nodes.index(src_node)
            parts.append(f"{src_node.layer.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) if parts else "-"


def _wrap(text: str, width: int) -> list[str]:
    lines = []
    for raw in text.split("\n"):
        lines.extend(textwrap.wrap(raw, width, break_long_words=True, break_on_hyphens=False,
                                   drop_whitespace=True) or [""])
    return lines


def _render_table(header: list[str], rows: list[list[str]], widths: list[int], align: list[str]) -> list[str]:
    def cell(text, w, a):
        if a == "right":
            return text.rjust(w)
        if a == "center":
            return text.center(w)
        return text.ljust(w)

    def render_row(row, left, sep, right, aligns):
        wrapped = [_wrap(t, w) for t, w in zip(row, widths)]
        height = max(len(c) for c in wrapped)
        out = []
        for i in range(height):
            parts = [cell(c[i] if i < len(c) else "", w, a) for c, w, a in zip(wrapped, widths, aligns)]
            out.append(left + " " + f" {sep} ".join(parts) + " " + right)
        return out

    def rule(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    lines = [rule("┏", "┳", "┓", "━")]
    lines += render_row(header, "┃", "┃", "┃", align)
    lines.append(rule("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines += render_row(row, "│", "│", "│", align)
    lines.append(rule("└", "┴", "┘", "─"))
    return lines


def _layer_range(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(s, str) for s in layer_range):
        raise ValueError(f"layer_range must be a list or tuple of 2 strings (layer names or patterns). "
                         f"Received: layer_range={layer_range!r}")
    lower = [i for i, la in enumerate(layers) if re.match(layer_range[0], la.name)]
    upper = [i for i, la in enumerate(layers) if re.match(layer_range[1], la.name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def summary_text(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                 layer_range=None) -> str:
    """The summary as one string (what :func:`print_summary` prints)."""
    from .functional import Functional  # noqa: PLC0415

    graph = isinstance(model, Functional)
    sequential_like = not graph or _is_sequential_like(model)
    if sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right",
                                                                                      "left"]
    positions = list(positions or default_positions)
    if show_trainable:
        default_length += 12
        positions = [p * 0.9 for p in positions] + [1.0] if positions[-1] <= 1 else positions + [
            positions[-1] + 12]
        header.append("Trainable")
        align.append("center")
    if line_length is None:
        line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    n = len(header)
    content = line_length - (n + 1) - 2 * n  # borders and one space of padding on each side of a cell
    if positions[-1] > 1:  # absolute positions (Keras 2)
        positions = [p / positions[-1] for p in positions]
    widths, current = [], 0
    for p in positions:
        w = int(round(p * content)) - current
        if w < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(w)
        current += w
    for i, title in enumerate(header):  # keep every header word whole, taking room from the widest column
        need = max(len(word) for word in title.split())
        if widths[i] < need:
            j = max(range(n), key=widths.__getitem__)
            widths[j] -= need - widths[i]
            widths[i] = need

    known = model._layer_output_shapes() if hasattr(model, "_layer_output_shapes") else {}

    def fields(layer, prefix=""):
        params = "0 (unbuilt)" if not layer.built else f"{layer.count_params():,}"
        row = [f"{prefix}{layer.name} ({type(layer).__name__})",
               _format_shape(_output_shape(model, layer, known)), params]
        if not sequential_like:
            row.append(_connections(model, layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def rows_of(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        out = [fields(layer, prefix)]
        if expand_nested and getattr(layer, "layers", None):
            for sub in layer.layers:
                out.extend(rows_of(sub, level + 1))
        return out

    layers = model.layers
    lo, hi = _layer_range(layers, layer_range)
    rows = [r for layer in layers[lo:hi] for r in rows_of(layer)]
    trainable, t_size = _count(model.trainable_weights)
    frozen, f_size = _count(model.non_trainable_weights)
    opt_count, opt_size = _optimizer_count(model)
    total, total_size = trainable + frozen + opt_count, t_size + f_size + opt_size
    lines = [f'Model: "{model.name}"', *_render_table(header, rows, widths, align),
             f" Total params: {total:,} ({readable_memory_size(total_size)})",
             f" Trainable params: {trainable:,} ({readable_memory_size(t_size)})",
             f" Non-trainable params: {frozen:,} ({readable_memory_size(f_size)})"]
    if opt_count:
        lines.append(f" Optimizer params: {opt_count:,} ({readable_memory_size(opt_size)})")
    return "\n".join(lines) + "\n"


def _optimizer_count(model) -> tuple[int, int]:
    """Parameters held by a built optimizer (its slots and iteration count), as Keras adds to the total."""
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(opt, "built", False):
        return 0, 0
    try:
        state = opt.get_state()
    except Exception:  # noqa: BLE001 - an optimizer without state support adds nothing
        return 0, 0
    arrays = [numpy.asarray(v) for v in state.values()]
    return (sum(int(a.size) for a in arrays), sum(int(a.size) * a.dtype.itemsize for a in arrays))


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None) -> None:
    """Print the summary; ``print_fn`` (called once with the whole text, as Keras 3) replaces ``print``."""
    text = summary_text(model, line_length, positions, expand_nested, show_trainable, layer_range)
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)

"""The ONNX graph being written: named values, weights as initializers, nodes, and the two layouts of an image.

Keras keeps images channels-last (N, H, W, C); ONNX's Conv, pooling and BatchNormalization want channels-first
(N, C, H, W). A :class:`Value` therefore holds up to two ONNX names for one Keras tensor, one per layout:
``"keras"`` (the Keras shape) and ``"cf"`` (the channel axis moved to position 1, perm (0, r−1, 1, …, r−2)).
A converter asks for the layout it needs (:meth:`GraphBuilder.keras`, :meth:`GraphBuilder.cf`); the Transpose
between the two is written once per value, on demand, so a chain conv → BN → ReLU → add → conv stays
channels-first and only the layers that care about the element order (Flatten, Reshape, Dense on a 4-D input)
bring a tensor back to Keras's layout.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy

UNSET = object()  # a Value whose mask the walker still has to decide


def cf_perm(rank: int) -> list[int]:
    """Keras layout → channels-first: (0, r−1, 1, …, r−2)."""
    return [0, rank - 1, *range(1, rank - 1)]


def keras_perm(rank: int) -> list[int]:
    """Channels-first → Keras layout: (0, 2, …, r−1, 1)."""
    return [0, *range(2, rank), 1]


@dataclass(eq=False)
class Value:
    """One Keras tensor in the graph: its Keras ``shape`` (None for unknown sizes), ONNX element type, the
    ONNX names per layout, the layout it was produced in (``primary``) and its Keras mask (a bool (N, T)
    :class:`Value`, None, or :data:`UNSET` until the walker propagates one)."""

    shape: tuple
    dtype: int
    names: dict = field(default_factory=dict)
    primary: str = "keras"
    mask: Any = UNSET

    @property
    def rank(self) -> int:
        return len(self.shape)

    def cf_shape(self) -> tuple:
        return tuple(self.shape[i] for i in cf_perm(self.rank))


class GraphBuilder:
    """Collects the nodes and initializers of one ONNX graph; names are unique and readable
    (``<layer name>/<what>``)."""

    def __init__(self):
        import onnx  # noqa: PLC0415 - the optional extra, imported only when exporting

        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()
        self._scalars: dict = {}
        self.scope = ""

    # ---- names -------------------------------------------------------------------------------------------
    def name(self, hint: str) -> str:
        base = f"{self.scope}/{hint}" if self.scope else hint
        name, k = base, 1
        while name in self._used:
            name, k = f"{base}_{k}", k + 1
        self._used.add(name)
        return name

    # ---- constants ---------------------------------------------------------------------------------------
    def const(self, array, hint: str = "const", dtype=None) -> str:
        """An initializer holding ``array`` (float arrays as float32 unless ``dtype`` says otherwise)."""
        a = numpy.asarray(array)
        if dtype is not None:
            a = a.astype(dtype)
        elif a.dtype.kind == "f":
            a = a.astype(numpy.float32)
        elif a.dtype.kind in "iu":
            a = a.astype(numpy.int64)
        small = a.size <= 16
        key = (a.dtype.str, a.shape, a.tobytes()) if small else None
        if key is not None and key in self._scalars:
            return self._scalars[key]
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(numpy.ascontiguousarray(a), name))
        if key is not None:
            self._scalars[key] = name
        return name

    def ints(self, values, hint: str = "shape") -> str:
        return self.const(numpy.asarray(list(values), dtype=numpy.int64), hint)

    def scalar(self, value: float, hint: str = "c") -> str:
        return self.const(numpy.asarray(value, dtype=numpy.float32), hint)

    # ---- nodes -------------------------------------------------------------------------------------------
    def op(self, op_type: str, inputs: list, hint: str | None = None, outputs: int = 1, **attrs):
        """Append one node; returns its output name (or the list of names when ``outputs`` > 1)."""
        outs = [self.name(f"{hint or op_type}" + (f":{i}" if outputs > 1 else "")) for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, [i or "" for i in inputs], outs,
                                                     name=self.name(f"{hint or op_type}_node"), **attrs))
        return outs[0] if outputs == 1 else outs

    # ---- layouts -----------------------------------------------------------------------------------------
    def keras(self, v: Value) -> str:
        """``v``'s ONNX name in Keras's layout (a Transpose from channels-first written once, if needed)."""
        if "keras" not in v.names:
            v.names["keras"] = self.op("Transpose", [v.names["cf"]], hint="to_channels_last", perm=keras_perm(v.rank))
        return v.names["keras"]

    def cf(self, v: Value) -> str:
        """``v``'s ONNX name channels-first."""
        if v.rank < 3:
            return self.keras(v)
        if "cf" not in v.names:
            v.names["cf"] = self.op("Transpose", [v.names["keras"]], hint="to_channels_first", perm=cf_perm(v.rank))
        return v.names["cf"]

    def value(self, name: str, shape, layout: str = "keras", dtype: int | None = None, mask=UNSET) -> Value:
        dtype = self.onnx.TensorProto.FLOAT if dtype is None else dtype
        return Value(tuple(shape), dtype, {layout: name}, layout, mask)

    def elementwise(self, v: Value, fn, shape=None) -> Value:
        """``fn(name, layout) → name`` applied in ``v``'s own layout: an element-wise op needs no Transpose."""
        layout = v.primary if v.primary in v.names else next(iter(v.names))
        return self.value(fn(v.names[layout], layout), v.shape if shape is None else shape, layout, v.dtype)

    def axis(self, v: Value, layout: str, keras_axis: int) -> int:
        """The position of Keras axis ``keras_axis`` of ``v`` in ``layout``."""
        a = keras_axis % v.rank
        return a if layout == "keras" or v.rank < 3 else cf_perm(v.rank).index(a)

    def common_layout(self, values: list[Value]) -> str:
        """Channels-first when every input of a merge already exists channels-first, else Keras's layout."""
        ranks = {v.rank for v in values}
        if len(ranks) == 1 and ranks.pop() >= 3 and all("cf" in v.names for v in values):
            return "cf"
        return "keras"

    def name_in(self, v: Value, layout: str) -> str:
        return self.cf(v) if layout == "cf" else self.keras(v)

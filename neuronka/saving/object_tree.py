"""Where each variable of a model lives in Keras 3's weights layout (``model.weights.h5``, ``.weights.h5``).

Keras 3 saves the objects that hold state — layers, models, the optimizer — by walking the model's attributes,
and gives each object a group named after the path that reached it::

    vars/                         the model's own variables (usually none); attribute name = the model's name
    layers/dense/vars/0, 1        model.layers, each named by its class in snake case, numbered in order:
    layers/dense_1/vars/0, 1        dense, dense_1, ... (never by the layer's own name)
    layers/lstm/cell/vars/0..2    a sub-layer, under the attribute that holds it
    layers/sequential/layers/...  a nested model, the same way
    optimizer/vars/0..n           the optimizer: iteration, learning_rate, then its slots in Keras's order

The walk, as Keras does it: an object's own variables (trainable-at-creation first, then the others, each in
creation order) go to ``<path>/vars/<i>``; then, for a Sequential or functional model, ``layers``; then every
attribute in ``dir(obj)`` order with the private (``_x``) ones last, skipping what a plain ``Layer`` has (a
model's ``layers`` is walked: a subclassed model's sub-layers are saved under ``layers/dense``, ``layers/dense_1``
in the order they were assigned, unless an attribute sorting before ``layers`` reached them first); an
attribute holding a layer, a model or an optimizer is walked at ``<path>/<attribute>``; a list, tuple or dict is
walked item by item, each layer named by its class in snake case (``dense``, ``dense_1``), each nested container
``container``, ``container_1``. An object reached twice is saved only at the first path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_PROBE_SKIP: set[str] | None = None


def keras_snake_case(name: str) -> str:
    """Keras's snake case of a class name: "Conv2D" → "conv2d", "InputLayer" → "input_layer", "LSTM" → "lstm"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class Entry:
    """One object's group: its path ("" for the model), the object, and its own variables in Keras's order."""

    path: str
    owner: object
    variables: list = field(default_factory=list)
    named: dict = field(default_factory=dict)  # arrays saved under a name (Keras's store["idf_weights"])

    @property
    def is_optimizer(self) -> bool:
        return _is_optimizer(self.owner)

    @property
    def group(self) -> str:
        return f"{self.path}/vars" if self.path else "vars"

    @property
    def name(self) -> str:
        return str(getattr(self.owner, "name", "") or "")


def _is_layer(obj) -> bool:
    from ..layers.base import Layer  # noqa: PLC0415 - layers import saving lazily

    return isinstance(obj, Layer)


def _is_optimizer(obj) -> bool:
    from ..optimizers.base import Optimizer  # noqa: PLC0415

    return isinstance(obj, Optimizer)


def _skipped_attributes() -> set[str]:
    """What a plain Layer has (Keras skips ``dir(Layer())`` likewise): internals, never state to save."""
    global _PROBE_SKIP
    if _PROBE_SKIP is None:
        from ..layers.base import Layer  # noqa: PLC0415

        probe = Layer(name="__neuronka_saving_probe__")  # a given name: no layer counter is advanced
        _PROBE_SKIP = set(dir(probe)) | {"_self_unconditional_dependency_names"}
    return _PROBE_SKIP


def own_variables(obj) -> list:
    """The variables an object saves under its own ``vars`` group, in Keras's order."""
    if _is_optimizer(obj):
        return list(obj.variables)
    tracked = getattr(obj, "_tracked_weights", None)
    if tracked is None:  # not a neuronka layer: a stand-in holding `weights`
        return list(getattr(obj, "weights", []) or [])
    unique, seen = [], set()
    for w in tracked:
        if id(w) not in seen:
            seen.add(id(w))
            unique.append(w)
    declared = [bool(getattr(w, "_declared_trainable", getattr(w, "trainable", True))) for w in unique]
    return [w for w, t in zip(unique, declared) if t] + [w for w, t in zip(unique, declared) if not t]


def _children(obj, include_optimizer: bool):
    """(attribute, value) pairs Keras's walk visits after the object's own variables."""
    from ..models.functional import Functional  # noqa: PLC0415
    from ..models.sequential import Sequential  # noqa: PLC0415

    if _is_optimizer(obj):
        return
    if isinstance(obj, (Sequential, Functional)):
        yield "layers", list(obj.layers)
    if not _is_layer(obj):  # a stand-in model: only its optimizer
        optimizer = getattr(obj, "optimizer", None)
        if optimizer is not None and include_optimizer:
            yield "optimizer", optimizer
        return
    from ..models.model import Model  # noqa: PLC0415

    skip = _skipped_attributes()
    if isinstance(obj, Model):  # Keras's Layer has no `layers`; its Model does, and the walk visits it
        skip = skip - {"layers"}
    names = sorted(dir(obj), key=lambda n: f"~{n}" if n.startswith("_") else n)
    for name in names:
        if name.startswith("__") or name in skip:
            continue
        if name == "optimizer" and not include_optimizer:
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001 - as Keras: an attribute that cannot be read holds nothing to save
            continue
        yield name, value


def _is_saveable(obj) -> bool:
    return _is_layer(obj) or _is_optimizer(obj)


def walk(model, include_optimizer: bool = True, skip=()) -> list[Entry]:
    """Every object of ``model`` that saves variables, with its path, in Keras 3's walk order.

    ``skip``: objects (and what only they reach) to leave out, as Keras's ``objects_to_skip``."""
    entries: list[Entry] = []
    visited: set[int] = {id(o) for o in skip}

    def visit(obj, path: str) -> None:
        if id(obj) in visited:
            return
        visited.add(id(obj))
        named = getattr(obj, "_named_saved_state", None)
        entries.append(Entry(path, obj, own_variables(obj), dict(named()) if callable(named) else {}))
        for attr, value in _children(obj, include_optimizer and path == ""):
            child = f"{path}/{attr}" if path else attr
            if _is_saveable(value):
                visit(value, child)
            elif isinstance(value, (list, tuple, dict)):
                visit_container(value, child, set())

    def visit_container(container, path: str, seen_containers: set) -> None:
        if id(container) in seen_containers:
            return
        seen_containers.add(id(container))
        used: dict[str, int] = {}
        items = list(container.values()) if isinstance(container, dict) else list(container)
        for item in items:
            if _is_saveable(item):
                visit(item, f"{path}/{_unique(keras_snake_case(type(item).__name__), used)}")
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, f"{path}/{_unique('container', used)}", seen_containers)

    visit(model, "")
    return entries


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name

"""How Keras 3 writes an op called on symbolic tensors, and how neuronka reads it back.

``keras.ops.sum(keras.ops.add(x, 3.0), axis=-1)`` in a functional model becomes two nodes in Keras's
``config.json``: ``{"module": "keras.src.ops.numpy", "class_name": "Add", "config": {"name": "add"}}`` called
with ``args = [x, 3.0]``, and ``Sum`` with ``config = {"name": "sum", "axis": -1, "keepdims": false}`` called
with ``args = [the add's output]``. Each Keras operation class splits its function's arguments in two: the
*constructor* arguments (static: axis, keepdims) go into the config, the *call* arguments (the tensors and any
value combined with them elementwise) into the node.

``keras_operations.json`` is that split for every operation class of Keras 3.15.1 (its module, the public
function that creates it, the names of its constructor and call parameters), written from Keras by
``tools/keras_op_table.py`` (names only). neuronka's :class:`~neuronka.layers.operation.OperationLayer` keeps
the function of ``neuronka.ops`` and its arguments; with this table it writes Keras's form and reads it.
"""
from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

TABLE_FILE = Path(__file__).with_name("keras_operations.json")


@functools.lru_cache(maxsize=1)
def table() -> dict[str, dict]:
    """Keras's operation classes by class name: ``{"module", "namespace", "function", "init", "call"}``."""
    return json.loads(TABLE_FILE.read_text(encoding="utf-8"))


def _public_function(entry: dict):
    from .. import ops  # noqa: PLC0415 - ops import the layers lazily

    found = getattr(getattr(ops, entry["namespace"]), entry["function"], None)
    return found if found is not None else getattr(ops, entry["function"])  # Keras's namespace differs


@functools.lru_cache(maxsize=1)
def _classes_by_function() -> dict[int, str]:
    """id of each op function (the public one and the one it wraps) → its Keras class. Where two classes share
    a function (``Abs`` and ``Absolute``), the class named after it."""
    out: dict[int, str] = {}
    for class_name, entry in sorted(table().items(), key=lambda kv: kv[0].lower() == kv[1]["function"]
                                    .replace("_", "")):
        fn = _public_function(entry)
        while fn is not None:
            out[id(fn)] = class_name
            fn = getattr(fn, "__wrapped__", None)
    return out


def class_of(fn, op_name: str) -> dict:
    """The table entry (with its ``class_name``) of the Keras operation that ``fn`` of ``neuronka.ops`` is."""
    name = _classes_by_function().get(id(fn))
    if name is None:
        raise NotImplementedError(f"ops.{op_name} called on symbolic tensors cannot be saved: Keras 3 has no "
                                  f"operation class for it (saving writes Keras's format)")
    return {"class_name": name, **table()[name]}


def split_call(fn, op_name: str, args, kwargs) -> tuple[dict, dict, list]:
    """(entry, constructor arguments, call arguments) of ``fn(*args, **kwargs)`` in Keras's split; the
    arguments may hold placeholders of symbolic tensors, kept as they are."""
    entry = class_of(fn, op_name)
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"ops.{op_name}: {err}") from None
    bound.apply_defaults()
    values = bound.arguments
    init = {name: values[name] for name, _ in entry["init"] if name in values}
    call = []
    for name, kind in entry["call"]:
        if name not in values:
            raise NotImplementedError(f"ops.{op_name}: Keras's {entry['class_name']} is called with {name!r}, "
                                      f"which neuronka's ops.{op_name} does not take")
        call.extend(values[name] if kind == "*" else [values[name]])
    return entry, init, call


def function_of(class_name: str, config: dict):
    """(the function of ``neuronka.ops``, its constructor keyword arguments) of a Keras operation's config."""
    entry = table().get(class_name)
    if entry is None:
        raise ValueError(f"unknown Keras operation class {class_name!r} (expected one of keras.src.ops's, e.g. "
                         f"'Add', 'Sum', 'Concatenate')")
    fn = _public_function(entry)
    accepted = inspect.signature(fn).parameters
    init = {}
    for name, _ in entry["init"]:
        if name not in config:
            continue
        if name not in accepted:
            raise ValueError(f"Keras operation {class_name} {config.get('name')!r}: argument {name}="
                             f"{config[name]!r} is not supported by neuronka's ops.{entry['function']}")
        init[name] = config[name]
    unknown = sorted(set(config) - {"name"} - {n for n, _ in entry["init"]})
    if unknown:
        raise ValueError(f"Keras operation {class_name} {config.get('name')!r}: unexpected config keys {unknown}")
    return fn, init


def arrange(fn, class_name: str, call_args, init: dict) -> tuple[tuple, dict]:
    """``(args, kwargs)`` that call ``fn`` as Keras's ``class_name`` with ``call_args`` and the constructor
    arguments ``init`` would compute: each value put in the place of its parameter in ``fn``'s signature
    (``einsum(subscripts, *operands)`` takes the constructor's subscripts first)."""
    entry = table()[class_name]
    values, rest = dict(init), list(call_args)
    for name, kind in entry["call"]:
        if kind == "*":
            values[name], rest = tuple(rest), []
        elif rest:
            values[name] = rest.pop(0)
    if rest:
        raise ValueError(f"Keras operation {class_name}: {len(call_args)} call arguments, expected at most "
                         f"{len(entry['call'])}")
    params = list(inspect.signature(fn).parameters.values())
    star = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    args, kwargs = [], {}
    for i, p in enumerate(params):
        if p.name not in values:
            if star is not None and i < star:
                raise ValueError(f"Keras operation {class_name}: no value for {p.name!r}, which comes before "
                                 f"*{params[star].name}")
            continue
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(values[p.name])
        elif star is not None and i < star:
            args.append(values[p.name])
        else:
            kwargs[p.name] = values[p.name]
    return tuple(args), kwargs

"""``neuronka.tree``: Keras 3's nested-structure utilities (``keras.tree``), in plain Python.

A *structure* is a tree whose inner nodes are the containers below and whose leaves are everything
else (tensors, arrays, numbers, strings, ``None``, sets, subclasses of list/tuple/dict, ...):

* ``list``, ``tuple``, ``collections.deque`` and namedtuples: children in order, path keys 0, 1, ...;
* ``dict`` and ``collections.defaultdict``: children in **sorted key order** (so two dicts with the
  same keys flatten alike whatever their insertion order), path keys the dict keys;
* ``collections.OrderedDict``: children in insertion order.

``None`` is a leaf (``flatten(None) == [None]``), except in ``map_structure(..., none_is_leaf=False)``.
Rebuilt containers keep their type (a namedtuple stays that namedtuple, a deque keeps its ``maxlen``,
a defaultdict its ``default_factory``) and a dict keeps its own key order, though its children are
visited in sorted key order.

Two structures *match* when, node for node, they have the same container type (``dict``,
``OrderedDict`` and ``defaultdict`` count as one type and must have the same keys; ``list``, ``tuple``,
``deque`` and each namedtuple class are distinct), the same length, and leaves in the same places. A
mismatch raises ``ValueError`` naming the path where the structures part.

Keras 3.15.1 delegates to optree (JAX/TensorFlow backends) or to ``torch.utils._pytree`` (PyTorch
backend); the two disagree in a few corners, and this module follows Keras's documentation there: nested
dicts are flattened in sorted key order at every depth, namedtuple paths are indices, ``map_structure``
raises when one structure is deeper than another, and ``map_structure_up_to`` accepts ``None`` leaves
in the shallow structure (see tests/test_keras_tree.py).
"""
from __future__ import annotations

import collections
import warnings
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "MAP_TO_NONE",
    "assert_same_paths",
    "assert_same_structure",
    "flatten",
    "flatten_with_path",
    "is_nested",
    "lists_to_tuples",
    "map_shape_structure",
    "map_structure",
    "map_structure_up_to",
    "pack_sequence_as",
    "traverse",
]


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Returned by the function given to :func:`traverse` to replace a sub-structure with ``None``
    (``None`` itself means "keep it" / "continue into it")."""


# ----------------------------------------------------------------------------------------------
# nodes: which values are containers, their children, and how to rebuild them
# ----------------------------------------------------------------------------------------------
_DICT_TYPES = (dict, collections.defaultdict, collections.OrderedDict)
_SEQUENCE_TYPES = (list, tuple, collections.deque)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and isinstance(getattr(type(x), "_fields", None), tuple)


def _is_node(x) -> bool:
    return type(x) in _DICT_TYPES or type(x) in _SEQUENCE_TYPES or _is_namedtuple(x)


def _sorted_keys(d) -> list:
    """The keys of a dict in sorted order; keys of mixed types sort by type name, then value, and keys
    that cannot be ordered at all keep their insertion order."""
    try:
        return sorted(d)
    except TypeError:
        try:
            return sorted(d, key=lambda k: (type(k).__qualname__, k))
        except TypeError:
            return list(d)


def _keys(node) -> list:
    """The path keys of a node's children, in the order they are visited."""
    if type(node) is collections.OrderedDict:
        return list(node)
    if type(node) in _DICT_TYPES:
        return _sorted_keys(node)
    return list(range(len(node)))


def _children(node, keys) -> list:
    if type(node) in _DICT_TYPES:
        return [node[k] for k in keys]
    return list(node)


def _rebuild(node, keys, values):
    """A container like ``node`` holding ``values`` (given in visiting order, one per key)."""
    kind = type(node)
    if kind in _DICT_TYPES:
        by_key = dict(zip(keys, values))
        items = [(k, by_key[k]) for k in node]  # the node's own key order
        if kind is collections.defaultdict:
            return collections.defaultdict(node.default_factory, items)
        return kind(items)
    if kind is collections.deque:
        return collections.deque(values, maxlen=node.maxlen)
    if _is_namedtuple(node):
        return kind(*values)
    return kind(values)


def _same_node_type(a, b) -> bool:
    if type(a) in _DICT_TYPES:
        return type(b) in _DICT_TYPES
    return type(a) is type(b)


def _describe(x) -> str:
    if type(x) in _DICT_TYPES:
        return f"a {type(x).__name__} with keys {_sorted_keys(x)}"
    if _is_node(x):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"a leaf ({type(x).__name__})"


def _mismatch(op: str, path: tuple, expected, received) -> ValueError:
    same_name = type(expected) is not type(received) and type(expected).__qualname__ == type(received).__qualname__
    note = " (different classes of the same name)" if same_name else ""
    return ValueError(f"{op}: the structures don't have the same nested structure: at path {path}, "
                      f"expected {_describe(expected)}, received {_describe(received)}{note}")


def _aligned_children(op: str, path: tuple, ref, other, keys) -> list:
    """The children of ``other`` matched to those of the node ``ref`` (same type, length and keys)."""
    if not _is_node(other) or not _same_node_type(ref, other) or len(other) != len(ref):
        raise _mismatch(op, path, ref, other)
    if type(ref) in _DICT_TYPES:
        if set(other) != set(ref):
            raise _mismatch(op, path, ref, other)
        return [other[k] for k in keys]
    return list(other)


# ----------------------------------------------------------------------------------------------
# the public functions
# ----------------------------------------------------------------------------------------------
def is_nested(structure) -> bool:
    """True for a container node (list, tuple, namedtuple, deque, dict, OrderedDict, defaultdict),
    False for a leaf (including ``None``, strings, sets and arrays)."""
    return _is_node(structure)


def flatten(structure) -> list:
    """The leaves of ``structure`` in visiting order (dicts by sorted key); a leaf gives ``[leaf]``."""
    leaves: list = []

    def visit(x):
        if _is_node(x):
            keys = _keys(x)
            for child in _children(x, keys):
                visit(child)
        else:
            leaves.append(x)

    visit(structure)
    return leaves


def flatten_with_path(structure) -> list[tuple[tuple, Any]]:
    """``[(path, leaf), ...]`` in the order of :func:`flatten`; a path is the tuple of keys (dict keys,
    sequence and namedtuple indices) leading from the root to the leaf (``()`` for a lone leaf)."""
    out: list = []

    def visit(x, path):
        if _is_node(x):
            keys = _keys(x)
            for k, child in zip(keys, _children(x, keys)):
                visit(child, (*path, k))
        else:
            out.append((path, x))

    visit(structure, ())
    return out


def _check_callable(op: str, name: str, func) -> None:
    if not callable(func):
        raise TypeError(f"{op}: expected {name} to be callable, received {func!r} of type {type(func).__name__}")


def map_structure(func: Callable, *structures, none_is_leaf: bool = True):
    """``func`` applied leaf by leaf: ``out[path] = func(s1[path], s2[path], ...)``, the result shaped
    like the first structure. All structures must match (else ``ValueError``). With
    ``none_is_leaf=False``, ``None`` entries are kept as ``None`` without calling ``func`` (and must be
    ``None`` in every structure)."""
    if not structures:
        raise ValueError("map_structure: Must provide at least one structure; received none")
    _check_callable("map_structure", "func", func)

    def visit(nodes, path):
        first = nodes[0]
        if not none_is_leaf and any(n is None for n in nodes):
            if all(n is None for n in nodes):
                return None
            raise ValueError(f"map_structure: with none_is_leaf=False, None must appear at the same places in "
                             f"every structure; at path {path} received {[type(n).__name__ for n in nodes]}")
        if not _is_node(first):
            for other in nodes[1:]:
                if _is_node(other):
                    raise _mismatch("map_structure", path, first, other)
            return func(*nodes)
        keys = _keys(first)
        columns = [_children(first, keys)] + [_aligned_children("map_structure", path, first, o, keys)
                                              for o in nodes[1:]]
        values = [visit([col[i] for col in columns], (*path, k)) for i, k in enumerate(keys)]
        return _rebuild(first, keys, values)

    return visit(list(structures), ())


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """``func`` applied to the sub-structures of ``structures`` found at the leaves of
    ``shallow_structure`` (whose leaves, ``None`` included, only mark positions): the result is shaped
    like ``shallow_structure``. Each structure must match it down to its leaves and may be deeper
    there; a structure shallower than it raises ``ValueError``."""
    if not structures:
        raise ValueError("map_structure_up_to: Must provide at least one structure; received none")
    _check_callable("map_structure_up_to", "func", func)

    def visit(shallow, nodes, path):
        if not _is_node(shallow):
            return func(*nodes)
        keys = _keys(shallow)
        columns = [_aligned_children("map_structure_up_to", path, shallow, n, keys) for n in nodes]
        values = [visit(child, [col[i] for col in columns], (*path, k))
                  for i, (k, child) in enumerate(zip(keys, _children(shallow, keys)))]
        return _rebuild(shallow, keys, values)

    return visit(shallow_structure, list(structures), ())


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` match (see the module docstring); leaves may differ.
    ``check_types`` is deprecated in Keras and has no effect (a DeprecationWarning when given)."""
    if check_types is not None:
        warnings.warn("assert_same_structure: the `check_types` argument is deprecated and has no effect; for "
                      "a looser check use neuronka.tree.assert_same_paths", DeprecationWarning, stacklevel=2)

    def visit(x, y, path):
        if not _is_node(x):
            if _is_node(y):
                raise _mismatch("assert_same_structure", path, x, y)
            return
        keys = _keys(x)
        for k, cx, cy in zip(keys, _children(x, keys), _aligned_children("assert_same_structure", path, x, y, keys)):
            visit(cx, cy, (*path, k))

    visit(a, b, ())


def assert_same_paths(a, b) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same set of leaf paths; container types are
    not compared (``[0, 1]`` and ``(2, 3)``, or ``{0: x, 1: y}`` and ``[x, y]``, have the same paths)."""
    a_paths = {p for p, _ in flatten_with_path(a)}
    b_paths = {p for p, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence: Iterable):
    """The inverse of :func:`flatten`: ``flat_sequence``'s items placed at the leaves of ``structure``
    (in the order :func:`flatten` visits them). The number of items must equal the number of leaves
    (``ValueError`` otherwise); a leaf structure takes the single item."""
    try:
        items = list(flat_sequence)
    except TypeError:
        raise TypeError(f"pack_sequence_as: expected flat_sequence to be an iterable, received "
                        f"{type(flat_sequence).__name__}") from None
    n_leaves = len(flatten(structure))
    if len(items) != n_leaves:
        raise ValueError(f"pack_sequence_as: the structure has {n_leaves} leaves but flat_sequence has "
                         f"{len(items)} items")
    position = iter(items)

    def build(x):
        if not _is_node(x):
            return next(position)
        keys = _keys(x)
        return _rebuild(x, keys, [build(child) for child in _children(x, keys)])

    return build(structure)


def traverse(func: Callable, structure, top_down: bool = True):
    """Visit every sub-structure (the whole, each container, each leaf), depth first, dicts by sorted key.

    ``top_down=True``: ``func(sub)`` is called before its children; ``None`` continues into ``sub``, any
    other value replaces ``sub`` without visiting it. ``top_down=False``: children first, then
    ``func(rebuilt_sub)``; ``None`` keeps the rebuilt ``sub``, any other value replaces it. Returning
    :class:`MAP_TO_NONE` replaces the sub-structure with ``None``.
    """
    _check_callable("traverse", "func", func)

    def children_traversed(x):
        if not _is_node(x):
            return x
        keys = _keys(x)
        return _rebuild(x, keys, [visit(child) for child in _children(x, keys)])

    def visit(x):
        if top_down:
            result = func(x)
            if result is None:
                return children_traversed(x)
        else:
            x = children_traversed(x)
            result = func(x)
            if result is None:
                return x
        return None if result is MAP_TO_NONE else result

    return visit(structure)


def lists_to_tuples(structure):
    """``structure`` with every list (at any depth) turned into a tuple."""
    return traverse(lambda x: tuple(x) if type(x) is list else None, structure, top_down=False)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func: Callable, structure):
    """:func:`map_structure` for structures of shapes: a list or tuple whose items are all ints or
    ``None`` (a shape, ``()`` included) is passed to ``func`` whole, as are other leaves."""
    _check_callable("map_shape_structure", "func", func)

    def visit(x):
        if _is_shape(x) or not _is_node(x):
            return func(x)
        keys = _keys(x)
        return _rebuild(x, keys, [visit(child) for child in _children(x, keys)])

    return visit(structure)

"""keras.tree against real Keras 3.15.1.

Keras on PyTorch runs its tree functions on ``torch.utils._pytree`` (``keras/src/tree/torchtree_impl.py``);
on JAX and TensorFlow it runs them on optree (``optree_impl.py``). Both are Keras's own code, and both are
loaded here: every case runs on the PyTorch one, and where the two disagree (a dict of dicts flattens
its inner dicts unsorted on PyTorch, namedtuple paths there are indices of the sorted field names of all
namedtuples, ``map_structure`` does not check that the other structures are not deeper) neuronka
follows Keras's documentation and optree, and the case is compared with the optree implementation.
Conversely ``map_structure_up_to`` fails on optree with its own documented examples (its leaf check
treats None as a node) and is compared with the PyTorch one.
"""
from __future__ import annotations

import collections
import contextlib
import time

import numpy
import pytest

import neuronka as nk
from tests.keras_oracle import keras_api, keras_or_skip

P = collections.namedtuple("P", ["y", "x"])
Q = collections.namedtuple("Q", ["b", "a"])
OtherP = collections.namedtuple("P", ["y", "x"])  # same name and fields, another class

STRUCTURES = {
    "int": 1,
    "none": None,
    "string": "abc",
    "set": {1, 2},
    "array": numpy.arange(3),
    "list": [1, 2, 3],
    "tuple-nested": (1, [2, (3, None)]),
    "dict": {"b": 1, "a": [2, None], "c": 3},
    "dict-of-dicts": {"b": {"z": 1, "y": 2}, "a": 3},
    "ordered-dict": collections.OrderedDict([("b", 1), ("a", 2)]),
    "defaultdict": collections.defaultdict(list, {"b": 1, "a": (2, 3)}),
    "deque": collections.deque([1, [2]], maxlen=4),
    "namedtuple": P(1, [2, 3]),
    "two-namedtuples": [P(1, 2), Q(3, 4)],
    "empties": [[], (), {}],
    "int-keys": {2: "x", 1: ["y"]},
    "mixed": [P(1, {"k": 2}), {"z": (3,), "y": collections.OrderedDict(q=4)}, [None]],
    "shapes": [(1, 2), {"b": (None, 3), "a": [4]}, [], (), 5],
}

# (function, structure) where Keras's PyTorch implementation departs from its documentation
DIVERGENT = {("flatten", "dict-of-dicts"), ("flatten_with_path", "dict-of-dicts"),
             ("pack_sequence_as", "dict-of-dicts"), ("flatten_with_path", "namedtuple"),
             ("flatten_with_path", "two-namedtuples"), ("flatten_with_path", "mixed")}


@contextlib.contextmanager
def keras_tree(implementation: str = "torch"):
    """``keras.tree`` running on Keras's PyTorch implementation, or on its optree one."""
    keras = keras_or_skip()
    from keras.src.tree import optree_impl, tree_api  # noqa: PLC0415 - Keras's own optree implementation

    saved = tree_api.tree_impl
    if implementation == "optree":
        tree_api.tree_impl = optree_impl
    try:
        yield keras.tree
    finally:
        tree_api.tree_impl = saved


def assert_same_tree(actual, expected, what="result"):
    """Same container types all the way down (a dict and its key set, not its order), equal leaves."""
    assert type(actual) is type(expected), f"{what}: {type(actual).__name__} != Keras's {type(expected).__name__}"
    if isinstance(expected, dict):
        assert set(actual) == set(expected), f"{what}: keys {set(actual)} != {set(expected)}"
        if isinstance(expected, collections.defaultdict):
            assert actual.default_factory is expected.default_factory
        for k in expected:
            assert_same_tree(actual[k], expected[k], f"{what}[{k!r}]")
    elif isinstance(expected, (list, tuple, collections.deque)):
        assert len(actual) == len(expected), f"{what}: {len(actual)} items != {len(expected)}"
        if isinstance(expected, collections.deque):
            assert actual.maxlen == expected.maxlen
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_tree(a, e, f"{what}[{i}]")
    elif isinstance(expected, numpy.ndarray):
        numpy.testing.assert_array_equal(actual, expected)
    else:
        assert actual == expected, f"{what}: {actual!r} != Keras's {expected!r}"


def _visits(tree, structure, top_down):
    seen = []
    result = tree.traverse(lambda s: seen.append(s), structure, top_down=top_down)
    return result, seen


CALLS = {
    "flatten": lambda t, s: t.flatten(s),
    "flatten_with_path": lambda t, s: t.flatten_with_path(s),
    "is_nested": lambda t, s: t.is_nested(s),
    "pack_sequence_as": lambda t, s: t.pack_sequence_as(s, [f"v{i}" for i in range(len(t.flatten(s)))]),
    "map_structure": lambda t, s: t.map_structure(lambda v: ("m", v), s),
    "map_structure-two": lambda t, s: t.map_structure(lambda a, b: (a, b), s, s),
    "traverse-top-down": lambda t, s: _visits(t, s, True),
    "traverse-bottom-up": lambda t, s: _visits(t, s, False),
    "lists_to_tuples": lambda t, s: t.lists_to_tuples(s),
    "map_shape_structure": lambda t, s: t.map_shape_structure(lambda v: ("S", v), s),
    "assert_same_structure": lambda t, s: t.assert_same_structure(s, s),
    "assert_same_paths": lambda t, s: t.assert_same_paths(s, s),
    "map_structure_up_to": lambda t, s: t.map_structure_up_to(s, lambda v: ("u", v), s),
}


def _keras_name(call: str) -> str:
    return "tree." + call.split("-")[0]


@pytest.mark.parametrize("call, sid", [
    pytest.param(c, sid, id=f"{c}-{sid}", marks=keras_api(_keras_name(c))) for c in CALLS for sid in STRUCTURES])
def test_tree_function_matches_keras(call, sid):
    structure = STRUCTURES[sid]
    implementation = "optree" if (call, sid) in DIVERGENT else "torch"
    if call == "map_structure_up_to" and "None" in repr(structure):
        implementation = "torch"  # optree's Keras code raises on None leaves of the shallow structure
    with keras_tree(implementation) as tree:
        expected = CALLS[call](tree, structure)
    actual = CALLS[call](nk.tree, structure)
    assert_same_tree(actual, expected, f"{call}({sid})")


def test_divergent_cases_really_differ_between_keras_implementations():
    """The exceptions above are needed: Keras's two implementations disagree there."""
    for call, sid in sorted(DIVERGENT):
        with keras_tree("torch") as tree:
            on_torch = CALLS[call](tree, STRUCTURES[sid])
        with keras_tree("optree") as tree:
            on_optree = CALLS[call](tree, STRUCTURES[sid])
        assert repr(on_torch) != repr(on_optree) or on_torch != on_optree, (call, sid)


@keras_api("tree.flatten", "tree.pack_sequence_as", "tree.traverse")
def test_dicts_are_visited_in_sorted_key_order_and_rebuilt_in_their_own():
    structure = {"key3": "", "key1": "", "key2": ""}
    with keras_tree("optree") as tree:
        expected = tree.pack_sequence_as(structure, ["value1", "value2", "value3"])
        expected_traversed = tree.traverse(lambda s: None, {"b": 4, "a": 5})
    packed = nk.tree.pack_sequence_as(structure, ["value1", "value2", "value3"])
    assert list(packed.items()) == list(expected.items()) == [("key3", "value3"), ("key1", "value1"),
                                                              ("key2", "value2")]
    assert list(nk.tree.traverse(lambda s: None, {"b": 4, "a": 5})) == list(expected_traversed) == ["b", "a"]
    assert nk.tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]
    assert nk.tree.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [1, 2]


MAP_CASES = [  # (id, function of tree, implementation)
    ("none-is-leaf-false", lambda t: t.map_structure(lambda a: a + 1, [1, None, {"a": None}], none_is_leaf=False),
     "torch"),
    ("none-is-leaf-false-two", lambda t: t.map_structure(lambda a, b: a + b, [1, None], [2, None],
                                                         none_is_leaf=False), "torch"),
    ("none-leaf", lambda t: t.map_structure(lambda a: ("f", a), None), "torch"),
    ("none-leaf-skipped", lambda t: t.map_structure(lambda a: ("f", a), None, none_is_leaf=False), "torch"),
    ("three-structures", lambda t: t.map_structure(lambda a, b, c: a + b + c, {"x": [1, 2]}, {"x": [3, 4]},
                                                   {"x": [5, 6]}), "torch"),
    ("dict-and-ordered-dict", lambda t: t.map_structure(lambda a, b: (a, b), {"a": 1, "b": 2},
                                                        collections.OrderedDict([("b", 3), ("a", 4)])), "torch"),
    ("dict-insertion-orders", lambda t: t.map_structure(lambda a, b: (a, b), {"a": 1, "b": 2}, {"b": 3, "a": 4}),
     "torch"),
    ("namedtuple", lambda t: t.map_structure(lambda v: v * 2, P(1, 2)), "torch"),
    ("up-to-docstring-1", lambda t: t.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]), "torch"),
    ("up-to-docstring-2", lambda t: t.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]), "torch"),
    ("up-to-dicts", lambda t: t.map_structure_up_to({"a": None, "b": [None]}, lambda x, y: (x, y),
                                                    {"b": [1], "a": [2]}, {"a": 3, "b": [4]}), "torch"),
    ("up-to-leaf", lambda t: t.map_structure_up_to(None, len, [1, 2]), "torch"),
    ("up-to-ints", lambda t: t.map_structure_up_to([1, 2], lambda a: a, [[1], {"a": 2}]), "torch"),
    ("traverse-map-to-none", lambda t: t.traverse(lambda x: t.MAP_TO_NONE if isinstance(x, tuple) else None,
                                                  [(1, 2), [3]]), "torch"),
    ("traverse-map-to-none-bottom-up", lambda t: t.traverse(lambda x: t.MAP_TO_NONE if x == 3 else None,
                                                            [(1, 2), [3]], top_down=False), "torch"),
    ("traverse-replace-top-down", lambda t: t.traverse(lambda x: "X" if x == [3] else None, [(1, 2), [3]]), "torch"),
    ("traverse-replace-bottom-up", lambda t: t.traverse(lambda x: x * 10 if isinstance(x, int) else None,
                                                        [(1, 2), [3], {"b": 4, "a": 5}], top_down=False), "torch"),
    ("traverse-root", lambda t: t.traverse(lambda x: t.MAP_TO_NONE, [1]), "torch"),
    ("pack-generator", lambda t: t.pack_sequence_as([1, (2,)], (i for i in range(2))), "torch"),
    ("pack-leaf", lambda t: t.pack_sequence_as("a", [1]), "torch"),
    ("pack-nested-empty", lambda t: t.pack_sequence_as([[], 1, {}], [7]), "torch"),
    ("shape-of-bools", lambda t: t.map_shape_structure(lambda s: ("S", s), [(True, 2)]), "torch"),
    ("shape-namedtuple", lambda t: t.map_shape_structure(lambda s: ("S", s), P(1, None)), "torch"),
    ("struct-sequence-is-a-leaf", lambda t: t.flatten([time.gmtime(0), (1,)]), "torch"),
]


@pytest.mark.parametrize("case, implementation", [
    pytest.param(fn, impl, id=cid, marks=keras_api("tree.map_structure", "tree.map_structure_up_to", "tree.traverse",
                                                   "tree.MAP_TO_NONE", "tree.pack_sequence_as",
                                                   "tree.map_shape_structure"))
    for cid, fn, impl in MAP_CASES])
def test_tree_case_matches_keras(case, implementation):
    with keras_tree(implementation) as tree:
        expected = case(tree)
    assert_same_tree(case(nk.tree), expected)


MISMATCHES = [  # (id, function of tree) raising ValueError on Keras's optree implementation and in neuronka
    ("list-vs-tuple", lambda t: t.map_structure(lambda a, b: a, [1, 2], (1, 2))),
    ("lengths", lambda t: t.map_structure(lambda a, b: a, [1, 2], [1, 2, 3])),
    ("deeper", lambda t: t.map_structure(lambda a, b: a, [1, 2], [1, [2]])),
    ("shallower", lambda t: t.map_structure(lambda a, b: a, [1, [2]], [1, 2])),
    ("leaf-vs-list", lambda t: t.map_structure(lambda a, b: a, 1, [1])),
    ("dict-keys", lambda t: t.map_structure(lambda a, b: a, {"a": 1}, {"b": 1})),
    ("namedtuple-vs-tuple", lambda t: t.map_structure(lambda a, b: a, P(1, 2), (1, 2))),
    ("namedtuples-of-one-name", lambda t: t.map_structure(lambda a, b: a, P(1, 2), OtherP(1, 2))),
    ("none-where-value", lambda t: t.map_structure(lambda a, b: a, [1, None], [1, 2], none_is_leaf=False)),
    ("value-where-none", lambda t: t.map_structure(lambda a, b: a, [1, 2], [1, None], none_is_leaf=False)),
    ("no-structure", lambda t: t.map_structure(lambda a: a)),
    ("empty-list-vs-tuple", lambda t: t.map_structure(lambda a, b: a, [[]], [()])),
    ("assert-list-tuple", lambda t: t.assert_same_structure([0, 1], (2, 3))),
    ("assert-lengths", lambda t: t.assert_same_structure([0, 1], [2, 3, 4])),
    ("assert-deeper", lambda t: t.assert_same_structure([0, 1], [2, [3]])),
    ("assert-none-vs-list", lambda t: t.assert_same_structure([None], [[1]])),
    ("assert-namedtuples", lambda t: t.assert_same_structure(P(0, 1), OtherP(2, 3))),
    ("assert-deque-list", lambda t: t.assert_same_structure(collections.deque([1]), [1])),
    ("assert-dict-keys", lambda t: t.assert_same_structure({"a": 1}, {"b": 2})),
    ("paths", lambda t: t.assert_same_paths({"a": 1, "b": [2]}, {"a": 1, "c": 2})),
    ("paths-deeper", lambda t: t.assert_same_paths({"a": 1}, {"a": [1]})),
    ("up-to-shallower", lambda t: t.map_structure_up_to([None, [None]], str, [1, 2])),
    ("up-to-lengths", lambda t: t.map_structure_up_to([None, None], str, [1, 2, 3])),
    ("up-to-types", lambda t: t.map_structure_up_to([None, None], str, (1, 2))),
    ("up-to-no-structure", lambda t: t.map_structure_up_to([None], str)),
    ("pack-too-few", lambda t: t.pack_sequence_as([1, 2], [1])),
    ("pack-too-many", lambda t: t.pack_sequence_as([1, 2], [1, 2, 3])),
    ("pack-leaf-empty", lambda t: t.pack_sequence_as("a", [])),
]


@pytest.mark.parametrize("case", [
    pytest.param(fn, id=cid, marks=keras_api("tree.map_structure", "tree.assert_same_structure",
                                             "tree.assert_same_paths", "tree.map_structure_up_to",
                                             "tree.pack_sequence_as"))
    for cid, fn in MISMATCHES])
def test_mismatched_structures_raise_value_error_as_keras(case):
    with keras_tree("optree") as tree, pytest.raises(ValueError):
        case(tree)
    with pytest.raises(ValueError, match=r"structure|paths|leaves"):
        case(nk.tree)


@keras_api("tree.pack_sequence_as", "tree.traverse", "tree.map_structure")
def test_non_callables_and_non_iterables_raise_type_error_as_keras():
    for case in (lambda t: t.pack_sequence_as([1, 2], 5), lambda t: t.traverse(5, [1]),
                 lambda t: t.map_structure(None, [1])):
        with keras_tree() as tree, pytest.raises(TypeError):
            case(tree)
        with pytest.raises(TypeError):
            case(nk.tree)


@keras_api("tree.assert_same_paths")
def test_assert_same_paths_message_matches_keras():
    a, b = {"a": 1, "b": [2]}, {"a": 1, "c": 2}
    with keras_tree() as tree, pytest.raises(ValueError) as theirs:
        tree.assert_same_paths(a, b)
    with pytest.raises(ValueError) as ours:
        nk.tree.assert_same_paths(a, b)
    assert str(ours.value) == str(theirs.value)


@keras_api("tree.assert_same_structure")
def test_assert_same_structure_check_types_is_deprecated_as_in_keras():
    for check_types in (True, False):
        with keras_tree() as tree, pytest.warns(DeprecationWarning):
            tree.assert_same_structure([1], [2], check_types=check_types)
        with pytest.warns(DeprecationWarning):
            nk.tree.assert_same_structure([1], [2], check_types=check_types)


@keras_api("tree.MAP_TO_NONE")
def test_map_to_none_is_a_class_as_in_keras():
    with keras_tree() as tree:
        assert isinstance(tree.MAP_TO_NONE, type)
    assert isinstance(nk.tree.MAP_TO_NONE, type) and nk.tree.MAP_TO_NONE.__name__ == "MAP_TO_NONE"


def test_mismatch_errors_name_the_function_and_the_path():
    with pytest.raises(ValueError, match=r"map_structure: .* at path \(1, 'k'\), expected a leaf \(int\), "
                                         r"received a list of 1 items"):
        nk.tree.map_structure(lambda a, b: a, [0, {"k": 1}], [0, {"k": [1]}])
    with pytest.raises(ValueError, match="different classes of the same name"):
        nk.tree.assert_same_structure(P(0, 1), OtherP(2, 3))
    with pytest.raises(ValueError, match="pack_sequence_as: the structure has 2 leaves but flat_sequence has 3"):
        nk.tree.pack_sequence_as([1, 2], [1, 2, 3])


def test_tensors_are_leaves_and_structures_round_trip():
    t = nk.Tensor(numpy.ones(2))
    structure = {"x": [t, (t, None)], "y": P(t, collections.deque([t], maxlen=2))}
    flat = nk.tree.flatten(structure)
    assert len(flat) == 5 and all(v is t or v is None for v in flat)
    rebuilt = nk.tree.pack_sequence_as(structure, flat)
    assert_same_tree(rebuilt, structure)
    assert not nk.tree.is_nested(t)

"""Keras's control flow, run eagerly: cond, switch, while_loop, fori_loop, scan, associative_scan, map,
vectorized_map and vectorize (exported by ``neuronka.ops`` through :mod:`.core`).

neuronka records a graph as the ops run, so a loop in plain Python over Tensors differentiates by
itself: every op inside records its own backward, and the gradient flows back through however many
iterations ran (a scan computing a running product gives d(Π x)/dx_i). Nothing here needs a backward
of its own; slicing a step out of ``xs`` is ``getitem`` and stacking the outputs is ``stack``, both
differentiable. Predicates (``cond``'s ``pred``, ``while_loop``'s ``cond``) must be scalars; their
value decides which ops run, and has no gradient.
"""
from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from .. import tree
from ..autograd import Tensor
from ..backend import get_array_module
from .core import convert_to_tensor
from .math import concatenate, getitem, reshape, stack

__all__ = ["associative_scan", "cond", "fori_loop", "map", "scan", "switch", "vectorize", "vectorized_map",
           "while_loop"]


def _truth(value, op: str) -> bool:
    """A scalar predicate (Python bool, array or Tensor of one element) as a Python bool."""
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    array = value.data if isinstance(value, Tensor) else numpy.asarray(value)
    if array.size != 1:
        raise ValueError(f"{op}: expected a scalar predicate, received a value of shape {tuple(array.shape)}; "
                         f"reduce it first (ops.all / ops.any)")
    return bool(array.reshape(()))


def _scalar_int(value, op: str, name: str) -> int:
    array = value.data if isinstance(value, Tensor) else numpy.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError(f"{op}: expected {name} to be a scalar number, received {value!r}")
    return int(array.reshape(()))


def _check_callable(op: str, name: str, f) -> None:
    if not callable(f):
        raise TypeError(f"{op}: expected `{name}` to be a callable, received {name}={f!r}")


def _stack_leaves(*leaves) -> Tensor:
    return stack([convert_to_tensor(v) for v in leaves])


def cond(pred, true_fn: Callable, false_fn: Callable) -> Any:
    """``true_fn()`` if ``pred`` (a scalar) holds, else ``false_fn()``; only the branch taken runs."""
    return true_fn() if _truth(pred, "cond") else false_fn()


def switch(index, branches: Sequence[Callable], *operands) -> Any:
    """``branches[index](*operands)``, ``index`` clamped to [0, len(branches) − 1]."""
    if not branches:
        raise ValueError("switch: expected at least one branch, received none")
    i = _scalar_int(index, "switch", "index")
    return branches[builtins.min(builtins.max(i, 0), len(branches) - 1)](*operands)


def while_loop(cond: Callable, body: Callable, loop_vars, maximum_iterations: int | None = None) -> Any:
    """``while cond(*vars): vars = body(*vars)``, at most ``maximum_iterations`` times.

    ``loop_vars`` is a tuple or list (its items passed positionally; a tuple is returned) or any other
    structure (passed whole, returned whole); its leaves start as tensors (``convert_to_tensor``).
    """
    _check_callable("while_loop", "cond", cond)
    _check_callable("while_loop", "body", body)
    is_sequence = isinstance(loop_vars, (list, tuple))
    state = tuple(loop_vars) if is_sequence else (loop_vars,)
    state = tree.map_structure(convert_to_tensor, state)
    iteration = 0
    while _truth(cond(*state), "while_loop") and (maximum_iterations is None or iteration < maximum_iterations):
        state = body(*state)
        state = tuple(state) if isinstance(state, (list, tuple)) else (state,)
        iteration += 1
    return state if is_sequence else state[0]


def fori_loop(lower, upper, body_fun: Callable, init_val) -> Any:
    """``val = body_fun(i, val)`` for i = lower, ..., upper − 1 (Python ints); returns the last val."""
    _check_callable("fori_loop", "body_fun", body_fun)
    val = init_val
    for i in range(_scalar_int(lower, "fori_loop", "lower"), _scalar_int(upper, "fori_loop", "upper")):
        val = body_fun(i, val)
    return val


def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False, unroll: int | bool = 1) -> tuple:
    """``carry, y_i = f(carry, x_i)`` over the leading axis of ``xs``; returns the last carry and the
    stacked ys.

    ``init`` and ``xs`` may be nested structures (``f`` sees ``xs``' structure, one step of every leaf);
    without ``xs``, ``f(carry, None)`` runs ``length`` times. ``reverse`` walks from the last step to the
    first (the ys stay in step order). A step's ``y`` of None stacks as zeros shaped like ``init``'s leaves
    (a list), as Keras on PyTorch does. ``unroll`` is checked and has no effect (nothing is compiled).
    Gradients flow to ``init`` and ``xs`` through the ops of ``f``.
    """
    _check_callable("scan", "f", f)
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"`unroll` must be an positive integer or boolean. Received: unroll={unroll}")
    if xs is None and length is None:
        raise ValueError("scan: Got no `xs` to scan over and `length` not provided.")
    xs_flat = [] if xs is None else [convert_to_tensor(x) for x in tree.flatten(xs)]
    if xs is not None:
        sizes = {x.shape[0] if x.ndim else None for x in xs_flat}
        if not xs_flat or None in sizes or len(sizes) != 1:
            raise ValueError(f"scan: expected every array of xs to have one leading axis of the same size, "
                             f"received shapes {[tuple(x.shape) for x in xs_flat]}")
        n = sizes.pop()
        if length is not None and int(length) != n:
            raise ValueError(f"scan: length={length} differs from the leading axis of xs ({n})")
    else:
        n = int(length)
    if n < 1:
        raise ValueError("scan: expected at least one step, received xs (or length) of size 0")
    init_flat = [convert_to_tensor(c) for c in tree.flatten(init)]
    carry = tree.pack_sequence_as(init, init_flat) if tree.is_nested(init) else init_flat[0]
    ys = []
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        step = [getitem(x, i) for x in xs_flat]
        x_i = None if xs is None else (tree.pack_sequence_as(xs, step) if tree.is_nested(xs) else step[0])
        carry, y = f(carry, x_i)
        if y is None:
            y = [Tensor(get_array_module(c.data).zeros_like(c.data)) for c in init_flat]
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, tree.map_structure(_stack_leaves, *ys)


def _along(x: Tensor, axis: int, start=None, stop=None, step=None) -> Tensor:
    """x[..., start:stop:step, ...] on ``axis`` (differentiable)."""
    return getitem(x, (builtins.slice(None),) * axis + (builtins.slice(start, stop, step),))


def _interleave(a: Tensor, b: Tensor, axis: int) -> Tensor:
    """[a0, b0, a1, b1, ...] along ``axis``; a has as many entries as b or one more."""
    m = b.shape[axis]
    pairs = stack([_along(a, axis, 0, m), b], axis=axis + 1)
    merged = reshape(pairs, (*a.shape[:axis], 2 * m, *a.shape[axis + 1:]))
    return merged if a.shape[axis] == m else concatenate([merged, _along(a, axis, m, None)], axis=axis)


def associative_scan(f: Callable, elems, reverse: bool = False, axis: int = 0) -> Any:
    """The inclusive scan ``[e0, f(e0, e1), f(f(e0, e1), e2), ...]`` along ``axis`` for an associative
    ``f``, computed by the parallel prefix algorithm (log₂ n rounds, each ``f`` applied to many elements
    at once: ``f`` must work elementwise along ``axis``). ``elems`` may be a structure of arrays with the
    same size along ``axis``; ``f`` takes and returns that structure. ``reverse`` scans from the end.

    The pairs are combined in the order Keras combines them, so float results agree bit for bit;
    Keras on PyTorch returns float32 whatever the input dtype (its interleaving pads with float32
    zeros) and fails on bool, where neuronka keeps the dtype of the inputs.
    """
    _check_callable("associative_scan", "f", f)
    flat = [convert_to_tensor(e) for e in tree.flatten(elems)]
    if not flat:
        raise ValueError("associative_scan: expected at least one array in elems, received none")
    ndim = flat[0].ndim
    if not -ndim <= axis < builtins.max(ndim, 1) or any(e.ndim != ndim for e in flat):
        raise ValueError(f"associative_scan: axis {axis} is out of range for arrays of shapes "
                         f"{[tuple(e.shape) for e in flat]}")
    axis %= ndim
    if len({e.shape[axis] for e in flat}) != 1:
        raise ValueError(f"Array inputs to associative_scan must have the same size along axis {axis}. "
                         f"(saw: {[tuple(e.shape) for e in flat]})")
    if reverse:
        flat = [_along(e, axis, None, None, -1) for e in flat]

    def combine(a_flat, b_flat):
        c = f(tree.pack_sequence_as(elems, a_flat), tree.pack_sequence_as(elems, b_flat))
        return [convert_to_tensor(t) for t in tree.flatten(c)]

    def prefix(es):
        n = es[0].shape[axis]
        if n < 2:
            return es
        pair_sums = combine([_along(e, axis, 0, -1, 2) for e in es], [_along(e, axis, 1, None, 2) for e in es])
        odd = prefix(pair_sums)  # the prefixes ending at positions 1, 3, 5, ...
        evens_in = [_along(e, axis, 2, None, 2) for e in es]
        even = combine([_along(o, axis, 0, -1) for o in odd] if n % 2 == 0 else odd, evens_in)
        even = [concatenate([_along(e, axis, 0, 1), r], axis=axis) for e, r in zip(es, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    scanned = prefix(flat)
    if reverse:
        scanned = [_along(s, axis, None, None, -1) for s in scanned]
    return tree.pack_sequence_as(elems, scanned)


def map(f: Callable, xs) -> Any:  # noqa: A001 - keras.ops name
    """``stack([f(x) for x in xs])`` over the leading axis (``xs`` and ``f``'s output may be nested)."""
    _check_callable("map", "f", f)
    _, ys = scan(lambda carry, x: ((), f(x)), (), xs)
    return ys


def vectorized_map(function: Callable, elements) -> Any:
    """``stack([function(e_i) for i])`` over the leading axis of every leaf of ``elements`` (a list of
    tensors gives ``function`` a list of slices). Run as a loop (neuronka has no vmap)."""
    _check_callable("vectorized_map", "function", function)
    flat = [convert_to_tensor(e) for e in tree.flatten(elements)]
    sizes = {e.shape[0] if e.ndim else None for e in flat}
    if not flat or None in sizes or len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"vectorized_map: expected elements with one non-empty leading axis of the same size, "
                         f"received shapes {[tuple(e.shape) for e in flat]}")
    outputs = [function(tree.pack_sequence_as(elements, [getitem(e, i) for e in flat])) for i in range(sizes.pop())]
    return tree.map_structure(_stack_leaves, *outputs)


# ----------------------------------------------------------------------------------------------
# vectorize (NumPy's generalized-ufunc rules)
# ----------------------------------------------------------------------------------------------
_ARGUMENT = r"\((?:\w+(?:,\w+)*)?\)"
_SIGNATURE = rf"^{_ARGUMENT}(?:,{_ARGUMENT})*->{_ARGUMENT}(?:,{_ARGUMENT})*$"


def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """``"(m,n),(n)->(m)"`` → ([("m", "n"), ("n",)], [("m",)])."""
    compact = re.sub(r"\s+", "", signature)
    if not re.match(_SIGNATURE, compact):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    inputs, outputs = ([tuple(re.findall(r"\w+", arg)) for arg in re.findall(_ARGUMENT, side)]
                       for side in compact.split("->"))
    return inputs, outputs


def _record_core_sizes(sizes: dict, shape: tuple, core: tuple, what: str) -> None:
    for name, size in zip(core, shape[len(shape) - len(core):]):
        if sizes.setdefault(name, size) != size:
            raise ValueError(f"vectorize: inconsistent size for core dimension {name!r}: {size} in {what} vs "
                             f"{sizes[name]}")


def vectorize(pyfunc: Callable, *, excluded=None, signature=None) -> Callable:
    """A function applying ``pyfunc`` over the broadcast leading (non-core) axes of its arguments and
    stacking the results, as ``numpy.vectorize``.

    Without ``signature`` ``pyfunc`` takes and returns scalars; with one (``"(m,n),(n)->(m)"``) it takes
    and returns arrays with those core axes. ``excluded``: positions of arguments passed to ``pyfunc``
    unchanged; keyword arguments and None arguments are passed unchanged too. Gradients flow through the
    ops of ``pyfunc``. Keras 3.15.1 ignores ``excluded`` (vectorizing those arguments anyway) and drops
    keyword arguments; neuronka honours both.
    """
    if not callable(pyfunc):
        raise ValueError(f"Expected argument `pyfunc` to be a callable. Received: pyfunc={pyfunc}")
    excluded = set(excluded or ())
    in_core, out_core = _parse_signature(signature) if signature is not None else (None, None)

    @functools.wraps(pyfunc)
    def vectorized(*args, **kwargs):
        static = {i: a for i, a in enumerate(args) if i in excluded or a is None}
        tensors = [convert_to_tensor(a) for i, a in enumerate(args) if i not in static]
        cores = in_core if in_core is not None else [()] * len(tensors)
        if len(cores) != len(tensors):
            raise TypeError(f"wrong number of positional arguments: expected {len(cores)}, got {len(tensors)}")
        sizes: dict = {}
        batch_shapes = []
        for i, (t, core) in enumerate(zip(tensors, cores)):
            if t.ndim < len(core):
                raise ValueError(f"vectorize: input {i} with shape {tuple(t.shape)} does not have enough dimensions "
                                 f"for all core dimensions {core}")
            _record_core_sizes(sizes, tuple(t.shape), core, f"input {i}")
            batch_shapes.append(tuple(t.shape[:t.ndim - len(core)]))
        try:
            batch = numpy.broadcast_shapes(*batch_shapes)
        except ValueError:
            raise ValueError(f"vectorize: the leading axes of the arguments do not broadcast: {batch_shapes}") from None

        def call(parts):
            full, it = [], iter(parts)
            for i in range(len(args)):
                full.append(static[i] if i in static else next(it))
            out = pyfunc(*full, **kwargs)
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            expected = out_core if out_core is not None else [()] * len(outs)
            if out_core is not None and len(out_core) > 1 and not isinstance(out, tuple):
                raise TypeError(f"output must be a tuple when multiple outputs are expected, got: {out}")
            if len(outs) != len(expected):
                raise TypeError(f"wrong number of output arguments: expected {len(expected)}, got {len(outs)}")
            for o, core in zip(outs, expected):
                o_shape = tuple(numpy.shape(getattr(o, "data", o)))
                if len(o_shape) != len(core):
                    raise ValueError(f"output shape {o_shape} does not match core dimensions {core}")
                _record_core_sizes(dict(sizes), o_shape, core, "the output")
            return out

        if not batch:
            return call(tensors)
        if 0 in batch:
            raise ValueError(f"vectorize: cannot map over an empty batch of shape {batch}")
        results = []
        for index in numpy.ndindex(*batch):
            parts = []
            for t, b_shape in zip(tensors, batch_shapes):
                own = index[len(index) - len(b_shape):] if b_shape else ()
                parts.append(getitem(t, tuple(0 if n == 1 else i for i, n in zip(own, b_shape))) if b_shape else t)
            results.append(call(parts))

        def stacked(*outs):
            first = convert_to_tensor(outs[0])
            return reshape(_stack_leaves(*outs), (*batch, *first.shape))

        if isinstance(results[0], tuple):
            return tuple(stacked(*column) for column in zip(*results))
        return stacked(*results)

    return vectorized

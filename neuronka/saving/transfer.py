"""Loading a weights layout into a model: read and check everything first, then assign.

Nothing is assigned until every variable of every layer has been read and checked (count, shape, dtype,
finite values); any problem raises before the first assignment, so a failed load leaves the model — and its
optimizer — exactly as they were. With ``skip_mismatch=True`` a layer whose saved variables do not fit
(another count, another shape) is left as it is, with a warning, and the others load.

The optimizer's state is restored into the model's optimizer when its saved variables fit; otherwise it is
skipped with a warning and the optimizer left as it was (Keras does the same). Unlike Keras, an optimizer that
has not been built yet (``load_weights`` right after ``compile``) is built on the model's trainable weights
first, so that a checkpoint resumes training exactly.
"""
from __future__ import annotations

import warnings

import numpy

from .h5io import WeightMismatch
from .object_tree import Entry, walk


def _describe(entry: Entry) -> str:
    where = f"at '{entry.path}'" if entry.path else "at the top level"
    return f"{type(entry.owner).__name__} {entry.name!r} ({where})"


def _var_label(var, i: int) -> str:
    return str(getattr(var, "path", None) or getattr(var, "name", None) or f"variable {i}")


def plan_layer(entry: Entry, store) -> list[tuple]:
    """(owner, variable, array) for one layer's group, or :class:`WeightMismatch` / ``ValueError``."""
    names = tuple(entry.named)
    saved = store.vars(entry.path, names) if names and hasattr(store, "named") else store.vars(entry.path)
    count = len(saved) if saved else 0
    by_name = []  # arrays a layer saves by name (a lookup layer's idf_weights), read with their stored shape
    if names and hasattr(store, "named"):
        for key, handle in store.named(entry.path, names).items():
            array = store.read(handle, tuple(handle.shape), numpy.dtype(handle.dtype), f"{key} of {_describe(entry)}")
            by_name.append((entry.owner, _NamedState(entry.owner, key, handle.dtype), array))
    if not entry.variables and count == 0:
        return by_name
    if saved is not None and sorted(saved) != list(range(count)):
        raise ValueError(f"{store.source}: {entry.group}: expected variables numbered 0..{count - 1}, "
                         f"found {sorted(saved)}")
    expected = len(entry.variables)
    if count != expected:
        if not expected and not getattr(entry.owner, "built", True):
            raise WeightMismatch(f"{_describe(entry)} was never built and thus has no variables, but the file lists "
                                 f"{count} for it. Build the model (call it on data, or build(input_shape)) first.")
        raise WeightMismatch(f"{_describe(entry)} expects {expected} variable(s) "
                             f"{[_var_label(v, i) for i, v in enumerate(entry.variables)]}, but the file holds "
                             f"{count} at '{entry.group}'")
    arrays = []
    for i, var in enumerate(entry.variables):
        what = f"variable {i} of {type(entry.owner).__name__} {entry.name!r}: {_var_label(var, i)}"
        arrays.append(store.read(saved[i], tuple(var.shape), numpy.dtype(var.dtype), what))
    return [(entry.owner, var, array) for var, array in zip(entry.variables, arrays)] + by_name


class _NamedState:
    """The target of an array a layer saved by name: assigning hands it to ``owner._load_named_saved_state``."""

    def __init__(self, owner, key: str, dtype):
        self.owner, self.key, self.dtype = owner, key, dtype

    def assign(self, value) -> None:
        self.owner._load_named_saved_state(self.key, value)


def plan_weights(model, store, source: str, skip_mismatch: bool = False, entries: list[Entry] | None = None,
                 warn_unused: bool = True) -> list[tuple]:
    """Every (owner, variable, array) to assign for the model's layers; raises before anything is assigned."""
    entries = walk(model, include_optimizer=False) if entries is None else entries
    plan, problems, used = [], [], set()
    for entry in entries:
        if entry.is_optimizer:
            continue
        try:
            pairs = plan_layer(entry, store)
        except WeightMismatch as e:
            problems.append(str(e))
            continue
        if pairs:
            used.add(entry.path)
        plan.extend(pairs)
    if problems:
        text = "\n  ".join(problems)
        if not skip_mismatch:
            raise WeightMismatch(f"{source}: {len(problems)} object(s) could not be loaded (nothing was assigned):\n"
                                 f"  {text}")
        warnings.warn(f"{source}: skipping {len(problems)} object(s) whose saved weights do not fit "
                      f"(skip_mismatch=True):\n  {text}", stacklevel=4)
    unused = [p for p in store.var_paths() if p not in used and p.split("/")[0] != "optimizer"]
    if unused and not problems and warn_unused:
        warnings.warn(f"{source}: the file holds weights that no object of the model took: {sorted(unused)[:10]}"
                      f"{' ...' if len(unused) > 10 else ''}", stacklevel=4)
    return plan


def assign(plan: list[tuple]) -> None:
    """Write the planned arrays into their variables; then let layers that derive state from their weights
    (``finalize_state``, as Keras's Normalization) refresh it."""
    owners, narrowed = {}, {}
    for owner, var, array in plan:
        target = numpy.dtype(var.dtype)
        if array.dtype.kind == "f" and target.kind == "f" and array.dtype.itemsize > target.itemsize:
            key = (array.dtype.name, target.name)
            narrowed[key] = narrowed.get(key, 0) + 1
        var.assign(array.astype(target, copy=False))
        if not isinstance(var, _NamedState):  # state saved by name is the layer's own: nothing to derive
            owners[id(owner)] = owner
    for (stored, target), count in narrowed.items():  # Keras casts without a word; a lossy cast deserves one
        warnings.warn(f"load_weights: {count} weight array(s) stored as {stored} were rounded to the model's "
                      f"{target}", stacklevel=3)
    for owner in owners.values():
        hook = getattr(owner, "finalize_state", None)
        if callable(hook):
            hook()


# ---------------------------------------------------------------------------------------------- the optimizer
def plan_optimizer(optimizer, trainable: list, store, path: str, source: str):
    """A function restoring the optimizer's saved state, or None (nothing saved, or it does not fit: warned).

    The state is checked against a fresh copy of the optimizer built on the variables the real one tracks (or,
    not built yet, on the model's trainable weights); the real optimizer is touched only by the returned
    function. Files with bad values (NaN, integer slots) raise: they are broken files, not another optimizer."""
    saved = store.vars(path)
    if not saved or optimizer is None:
        return None
    name = getattr(optimizer, "name", type(optimizer).__name__)
    count = len(saved)
    tracked = list(getattr(optimizer, "_variables", []) or [])
    try:
        probe = type(optimizer).from_config(optimizer.get_config())
        unbuilt = list(probe.variables)  # the step count and a float learning rate
        if count == len(unbuilt) and not tracked:
            targets = unbuilt  # saved before its first update: nothing else to restore
        else:
            probe.build(tracked if tracked else trainable)
            targets = list(probe.variables)
    except Exception as e:  # noqa: BLE001 - an optimizer that cannot be copied: keep it as it is
        warnings.warn(f"{source}: skipping the optimizer state: the optimizer {name!r} could not be prepared "
                      f"({type(e).__name__}: {e})", stacklevel=4)
        return None
    if count != len(targets):
        warnings.warn(f"{source}: skipping variable loading for optimizer {name!r}, because it has {len(targets)} "
                      f"variables whereas the saved optimizer has {count} variables.", stacklevel=4)
        return None
    try:
        arrays = [store.read(saved[i], tuple(v.shape), numpy.dtype(v.dtype), f"optimizer {name!r}: {v.name}")
                  for i, v in enumerate(targets)]
    except WeightMismatch as e:
        warnings.warn(f"{source}: skipping the optimizer state, which does not fit the optimizer {name!r}: {e}",
                      stacklevel=4)
        return None

    def restore() -> None:
        values = {}
        for var, array in zip(targets, arrays):
            var.assign(array.astype(numpy.dtype(var.dtype), copy=False))  # slots: written into the probe's arrays
            values[var.name] = array
        probe._calls = int(values.get("iteration", 0))
        global_names = set(probe._global_state())
        if global_names and global_names <= set(values):
            probe._set_global_state({k: values[k] for k in global_names})
        if probe._variables:
            optimizer.set_state(probe.get_state(), probe._variables)
        else:
            optimizer._calls = probe._calls
        lr = values.get("learning_rate")
        if lr is not None and not callable(optimizer._learning_rate):
            if numpy.float32(optimizer.learning_rate) != numpy.float32(lr):  # changed since compile (a callback)
                optimizer.learning_rate = float(lr)

    return restore

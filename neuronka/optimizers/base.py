"""The optimizer base class: Keras 3's arguments, the order of one update, state and configuration.

Variables are :class:`neuronka.Tensor` leaves (usually layer :class:`~neuronka.layers.Variable`\\ s);
gradients are arrays (or Tensors) of the same shape, ``None`` gradients are skipped. Every update
happens in place in ``var.data`` (the parameter arrays are never reallocated); the per-variable state
("slots": momenta, second moments, ...) is allocated when a variable is first seen, and intermediate
results go to reused scratch buffers, so a step allocates (almost) nothing.

One call of :meth:`Optimizer.apply` does what Keras's does, in this order:

1. drop ``None`` gradients; divide by ``loss_scale_factor`` if set (g ← g / s);
2. with ``gradient_accumulation_steps`` = n: on n − 1 calls out of n only add g to an accumulator;
   on the n-th, g ← (g + accumulated) / n, the accumulators are zeroed and the update below runs;
3. clip: ``clipnorm`` (each g ← g · c / max(‖g‖, c)), or ``global_clipnorm``
   (all g × c · min(1/‖all‖, 1/c); a non-finite global norm makes every gradient NaN, as Keras),
   or ``clipvalue`` (elementwise to [−c, c]);
4. decoupled weight decay: w ← w · (1 − lr · weight_decay), except the variables excluded by
   :meth:`Optimizer.exclude_from_weight_decay`;
5. the optimizer's own update (formulas in each class's docstring), lr = ``learning_rate``
   (a schedule is evaluated at the number of calls so far);
6. ``use_ema``: a ← μ·a + (1 − μ)·w for every variable (μ = ``ema_momentum``, 0 on the first step so
   a starts at w); every ``ema_overwrite_frequency`` steps w ← a;
7. the variables of the call that have a ``constraint`` are projected: w ← constraint(w);
8. the call counter advances (``iterations`` counts updates: calls // n with accumulation).

Scalar hyperparameters stay Python floats, so float32 variables are updated in float32.

State: :meth:`Optimizer.get_state` returns plain arrays (``"iterations"``, ``"0/momentum"``, ...:
slot names keyed by the index of the variable in the order the optimizer first saw it), ready for
``numpy.savez``; :meth:`Optimizer.set_state` restores them bit-exactly. :attr:`Optimizer.variables`
lists them as Keras orders them (iteration, learning rate, then the slots).
"""
from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from ..autograd import Tensor, no_grad
from ..backend import asnumpy, floatx, get_array_module, get_uid
from . import schedules
from .schedules import LearningRateSchedule

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}

# Set by neuronka.distribution.set_distribution while a DataParallel over several MPI processes is active:
# reducer(optimizer, grads, variables) -> the gradients averaged over the processes (Horovod's DistributedOptimizer).
gradient_reducer = None


def _snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return re.sub(r"_+", "_", s)


def auto_name(cls_name: str) -> str:
    """Keras's default object name: the snake-case class name, numbered from the second one on
    ("adam", "adam_1", ...; the counter is shared with the layers, as in Keras)."""
    prefix = _snake_case(cls_name)
    n = get_uid(prefix) - 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _float_or_none(owner: str, name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)):
        raise ValueError(f"{owner}: argument `{name}` must be a float or None. Received: {name}={value!r}")
    return float(value)


def _l2norm(g) -> float:
    flat = g.reshape(-1)
    return math.sqrt(float(get_array_module(g).dot(flat, flat)))


def _as_data(x):
    return x.data if isinstance(x, Tensor) else x


class Optimizer:
    """Base class of the optimizers (Keras 3's ``keras.optimizers.Optimizer``).

    Args:
        learning_rate: a float, a :class:`~neuronka.optimizers.schedules.LearningRateSchedule`
            (evaluated at the number of calls so far), or a callable with no argument returning a float.
        weight_decay: if set, decoupled weight decay w ← w · (1 − lr · weight_decay) before each update.
        clipnorm: clip each gradient to L2 norm at most ``clipnorm``.
        clipvalue: clip each gradient elementwise to [−clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to global L2 norm at most ``global_clipnorm``.
        use_ema: keep an exponential moving average a ← μ·a + (1 − μ)·w of every variable.
        ema_momentum: μ of the moving average (in [0, 1]).
        ema_overwrite_frequency: with ``use_ema``, overwrite the variables with their averages every
            that many updates (None: only when :meth:`finalize_variable_values` is called).
        loss_scale_factor: the loss is multiplied by it (:meth:`scale_loss`) and the gradients divided.
        gradient_accumulation_steps: n ≥ 2: update every n calls with the mean of the n gradients.
        name: the optimizer's name (default: the snake-case class name, numbered as Keras does).

    Only one of ``clipnorm``, ``clipvalue`` and ``global_clipnorm`` may be set.
    Subclasses declare their slots in ``_slot_names`` (or ``_make_slots``) and implement
    ``_update(grad, w, slots, lr)`` on arrays, in place; ``_slot_groups`` gives Keras's order of
    the slots in :attr:`variables` when it is not one variable after the other.
    """

    _slot_groups: tuple[tuple[str, ...], ...] | None = None  # None: all slots of a variable, variable by variable

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs):
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError(f"{owner}: `gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"{owner}: `ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError(f"{owner}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        clip_args = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
        if clip_args > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.name = name if name is not None else auto_name(owner)
        self.weight_decay = _float_or_none(owner, "weight_decay", weight_decay)
        self.clipnorm = _float_or_none(owner, "clipnorm", clipnorm)
        self.clipvalue = _float_or_none(owner, "clipvalue", clipvalue)
        self.global_clipnorm = _float_or_none(owner, "global_clipnorm", global_clipnorm)
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._calls = 0  # Keras's `_iterations`: calls of apply (updates × accumulation steps)
        self._learning_rate = self._check_learning_rate(learning_rate)
        self._variables: list[Tensor] = []  # in the order first seen; index i ↔ state keys "i/..."
        self._index: dict[int, int] = {}  # id(variable) -> index
        self._slots: list[dict[str, Any]] = []  # per variable: slot name -> array
        self._scratch: dict[tuple, Any] = {}  # (shape, dtype, k) -> reusable buffer
        self._extra_variables: list[Tensor] = []  # made by add_variable (Keras-style subclasses)
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._wd_cache: dict[int, bool] = {}

    # ---- learning rate and step count -------------------------------------------------
    def _check_learning_rate(self, learning_rate):
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        if isinstance(learning_rate, (int, float, numpy.integer, numpy.floating)) and not isinstance(
            learning_rate, bool
        ):
            return float(learning_rate)
        if isinstance(learning_rate, Tensor) and learning_rate.ndim == 0:
            return float(learning_rate.data)
        raise ValueError(
            f"{type(self).__name__}: argument `learning_rate` should be a float, a LearningRateSchedule or a "
            f"callable returning the learning rate. Received: learning_rate={learning_rate!r}"
        )

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update (a schedule is evaluated at the number of calls so far)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self._calls))
        if callable(lr):
            return float(lr())
        return lr

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if not isinstance(value, LearningRateSchedule) and not callable(value) and isinstance(
            self._learning_rate, LearningRateSchedule
        ):
            raise TypeError(
                f"{type(self).__name__}: this optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. If you need the "
                f"learning rate to be settable, use a float `learning_rate`. Received: learning_rate={value!r}"
            )
        self._learning_rate = self._check_learning_rate(value)

    @property
    def learning_rate_schedule(self) -> LearningRateSchedule | None:
        """The schedule given as ``learning_rate`` (``None`` when it is a float)."""
        lr = self._learning_rate
        return lr if isinstance(lr, LearningRateSchedule) else None

    @property
    def iterations(self) -> int:
        """Updates applied so far (calls of :meth:`apply` // ``gradient_accumulation_steps``)."""
        n = self.gradient_accumulation_steps
        return self._calls // n if n else self._calls

    @iterations.setter
    def iterations(self, value) -> None:
        n = self.gradient_accumulation_steps
        self._calls = int(value) * n if n else int(value)

    def scale_loss(self, loss):
        """loss · ``loss_scale_factor`` (the loss unchanged when it is None)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    # ---- variables and slots ---------------------------------------------------------
    @property
    def built(self) -> bool:
        return bool(self._variables)

    def build(self, variables: Iterable[Tensor]) -> None:
        """Register variables (in this order) and create their slots; :meth:`apply` does it lazily."""
        for var in variables:
            self._track(var)

    def _track(self, var) -> int:
        i = self._index.get(id(var))
        if i is None:
            if not isinstance(var, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: expected variables to be neuronka Tensors, received {type(var).__name__}"
                )
            i = len(self._variables)
            self._index[id(var)] = i
            self._variables.append(var)
            slots = {}
            xp = get_array_module(var.data)
            if self.use_ema:
                slots["average"] = xp.zeros_like(var.data)
            if self.gradient_accumulation_steps:
                slots["gradient_accumulator"] = xp.zeros_like(var.data)
            slots.update(self._make_slots(var))
            self._slots.append(slots)
        return i

    def _make_slots(self, var: Tensor) -> dict[str, Any]:
        """The slot arrays of one variable (zeros of its shape and dtype unless a subclass says otherwise)."""
        xp = get_array_module(var.data)
        return {name: xp.zeros_like(var.data) for name in self._slot_names(var)}

    def _slot_names(self, var: Tensor) -> tuple[str, ...]:
        return ()

    def _tmp(self, like, k: int = 0):
        """Scratch buffer k with the shape and dtype of ``like`` (shared by variables of that shape)."""
        key = (like.shape, like.dtype.str, k, get_array_module(like).__name__)
        buf = self._scratch.get(key)
        if buf is None:
            buf = self._scratch[key] = get_array_module(like).empty(like.shape, like.dtype)
        return buf

    @property
    def variables(self) -> list[Tensor]:
        """The optimizer's state as Keras lists it: ``iteration``, ``learning_rate`` (a float rate), the
        slots (named ``<variable path>_<slot>``, in Keras's order), then optimizer-wide values.

        The slot Variables share memory with the optimizer's arrays (``assign`` writes into them);
        ``iteration`` and ``learning_rate`` are copies of the current values."""
        from ..layers.base import Variable  # noqa: PLC0415 - layers import the optimizers lazily too

        out = [Variable(numpy.asarray(self._calls, dtype="int64"), trainable=False, name="iteration")]
        if not callable(self._learning_rate):
            out.append(Variable(numpy.asarray(self._learning_rate, dtype=floatx()), trainable=False,
                                name="learning_rate"))
        for var, name, arr in self._ordered_slots():
            ref = getattr(var, "path", None) or var.name or "variable"
            out.append(Variable(arr, trainable=False, name=f"{str(ref).replace('/', '_')}_{name}", copy=False))
        out.extend(self._extra_variables)
        for name, arr in self._global_state().items():
            out.append(Variable(arr, trainable=False, name=name, copy=False))
        return out

    def _ordered_slots(self):
        """(variable, slot name, array) in Keras's order: the EMA averages of all variables, the gradient
        accumulators, then the optimizer's own slots group by group (``_slot_groups``)."""
        base = [g for g, on in ((("average",), self.use_ema),
                                (("gradient_accumulator",), bool(self.gradient_accumulation_steps))) if on]
        own = self._slot_groups
        if own is None:
            names = {n for s in self._slots for n in s} - {"average", "gradient_accumulator"}
            own = (tuple(n for n in dict.fromkeys(n for s in self._slots for n in s) if n in names),)
        for group in (*base, *own):
            for var, slots in zip(self._variables, self._slots):
                for name in group:
                    if name in slots:
                        yield var, name, slots[name]

    # ---- the update ------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Tensor]]) -> int:
        """Apply ``(gradient, variable)`` pairs; returns ``iterations`` after the update."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        grads, variables = zip(*pairs)
        self.apply(grads, variables)
        return self.iterations

    def apply(self, grads: Sequence, trainable_variables: Sequence[Tensor] | None = None) -> None:
        """Update ``trainable_variables`` in place from ``grads`` (one per variable, ``None`` skipped).

        Without ``trainable_variables`` the gradients go to the variables the optimizer already knows, in order.
        """
        grads = list(grads)
        if not grads:
            return
        variables = self._resolve_variables(grads, trainable_variables)
        if not self.built:
            self.build(variables)
        indices = [self._track(v) for v in variables]
        todo = [(self._check_grad(g, v), v, i) for g, v, i in zip(grads, variables, indices) if g is not None]
        if not todo:
            raise ValueError(f"{type(self).__name__}: no gradients provided for any variable (all are None)")
        gs = [g for g, _, _ in todo]
        vs = [v for _, v, _ in todo]
        slots = [self._slots[i] for _, _, i in todo]
        if gradient_reducer is not None:
            gs = gradient_reducer(self, gs, vs)  # ḡ = (1/P) Σ_p g_p over the P processes: the same update everywhere
        if self.loss_scale_factor is not None:
            gs = [g / self.loss_scale_factor for g in gs]  # g ← g / s
        steps = self.gradient_accumulation_steps
        if steps and (self._calls + 1) % steps != 0:
            for g, s in zip(gs, slots):
                s["gradient_accumulator"] += g  # Σ g over the calls between updates
        else:
            if steps:
                gs = [(g + s["gradient_accumulator"]) / steps for g, s in zip(gs, slots)]  # mean of the n gradients
                for s in slots:
                    s["gradient_accumulator"][...] = 0
            gs = self._clip_gradients(gs)
            lr = self.learning_rate
            self._apply_weight_decay(vs, lr)
            self._update_all(gs, vs, slots, lr)
        if self.use_ema:
            self._update_moving_averages()
        for v in vs:
            if getattr(v, "constraint", None) is not None:
                self._apply_constraint(v)  # w ← constraint(w)
        self._calls += 1

    def _resolve_variables(self, grads: list, trainable_variables) -> list:
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{type(self).__name__}: when passing `grads` without `variables`, the optimizer must already "
                    "be built on a list of variables (call `optimizer.build(variables)` first)"
                )
            variables = list(self._variables)
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"{type(self).__name__}: expected one gradient per variable, received {len(grads)} gradients "
                f"for {len(variables)} variables"
            )
        return variables

    def step(self, variables: Iterable[Tensor]) -> None:
        """Apply each variable's ``.grad`` (variables without one are skipped); the caller zeros the grads."""
        variables = list(variables)
        self.apply([v.grad for v in variables], variables)

    def _check_grad(self, g, var: Tensor):
        g = _as_data(g)
        if not hasattr(g, "shape"):
            g = get_array_module(var.data).asarray(g)
        if g.shape != var.data.shape:
            raise ValueError(
                f"{type(self).__name__}: gradient for variable {var.name or ''!s} has shape {g.shape}, "
                f"expected the variable's shape {var.data.shape}"
            )
        if g.dtype != var.data.dtype:
            g = g.astype(var.data.dtype)
        return g

    def _update_all(self, grads: list, variables: list[Tensor], slots: list[dict], lr: float) -> None:
        if type(self).update_step is not Optimizer.update_step:  # a Keras-style subclass
            with no_grad():
                for g, v in zip(grads, variables):
                    self.update_step(Tensor(g), v, lr)
            return
        for g, v, s in zip(grads, variables, slots):
            self._update(g, v.data, s, lr)

    def _update(self, g, w, slots: dict, lr: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement update_step(gradient, variable, "
                                  "learning_rate) (or neuronka's in-place _update(grad, w, slots, lr))")

    # ---- Keras's subclassing API: build() adds variables, update_step() assigns them ----------------
    def update_step(self, gradient, variable, learning_rate) -> None:
        """Override (as in Keras) to write an optimizer with ops: read the slots made in :meth:`build`
        through ``self._get_variable_index(variable)`` and write with :meth:`assign` and friends."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step()")

    def _var_key(self, variable) -> int:
        return id(variable)

    def _get_variable_index(self, variable) -> int:
        """The index of a variable in the order the optimizer was built with."""
        return self._index[id(variable)]

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation: str = "none", layout=None,
                     name: str | None = None) -> Tensor:
        """A new optimizer variable (not trainable) of ``shape``, filled by ``initializer``; it is part of
        :attr:`variables` and of the saved state."""
        from .. import initializers  # noqa: PLC0415
        from ..layers.base import Variable  # noqa: PLC0415

        shape = tuple(int(d) for d in shape)
        dtype = numpy.dtype(dtype or floatx())
        value = numpy.asarray(initializers.get(initializer)(shape, dtype=dtype), dtype=dtype)
        var = Variable(numpy.array(value, order="C"), trainable=False, name=name or "variable")
        self._extra_variables.append(var)
        return var

    def add_variable_from_reference(self, reference_variable, name: str | None = None,
                                    initializer="zeros") -> Tensor:
        """An optimizer variable of the shape and dtype of ``reference_variable``, named
        ``<its path>_<name>``."""
        ref = getattr(reference_variable, "path", None) or reference_variable.name or "variable"
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype,
                                 name=f"{str(ref).replace('/', '_')}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One variable per trainable variable (from reference), per name when ``name`` is a list (then a
        tuple of lists, made variable by variable as Keras interleaves them)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        if len(inits) != len(names):
            raise ValueError("The number of provided names must match the number of provided initializers. "
                             f"Received name='{name}', initializer='{initializer}'")
        out = tuple([] for _ in names)
        for var in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                out[i].append(self.add_variable_from_reference(var, name=n, initializer=init))
        return out[0] if isinstance(name, str) else out

    def assign(self, variable, value) -> None:
        """variable ← value, in place."""
        variable.data[...] = _as_data(value)

    def assign_add(self, variable, value) -> None:
        """variable ← variable + value, in place."""
        variable.data += _as_data(value)

    def assign_sub(self, variable, value) -> None:
        """variable ← variable − value, in place."""
        variable.data -= _as_data(value)

    @staticmethod
    def _apply_constraint(var: Tensor) -> None:
        out = var.constraint(var.data)  # w ← constraint(w)
        var.data[...] = _as_data(out)

    # ---- clipping --------------------------------------------------------------------
    def _clip_gradients(self, grads: list) -> list:
        """New arrays where clipping changes them; the caller's gradients are never modified."""
        if self.clipnorm and self.clipnorm > 0:
            c = self.clipnorm
            out = []
            for g in grads:
                norm = _l2norm(g)
                out.append(g * (c / norm) if norm > c else g)  # g · c / max(‖g‖, c)
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            c = self.global_clipnorm
            norm = math.sqrt(sum(_l2norm(g) ** 2 for g in grads))
            if not math.isfinite(norm):
                scale = math.nan  # as Keras: an inf/NaN global norm makes every gradient NaN
            elif norm <= c:
                return grads
            else:
                scale = c / norm  # min(1, c / ‖all‖)
            return [g * scale for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            c = self.clipvalue
            return [get_array_module(g).clip(g, -c, c) for g in grads]
        return grads

    # ---- weight decay ----------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list: Iterable[Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exclude variables from weight decay: those in ``var_list``, and those whose ``name`` contains
        (``re.search``) any string of ``var_names`` (e.g. ``["bias"]``). Call before the first update."""
        if self.built:
            raise ValueError(
                f"{type(self).__name__}: `exclude_from_weight_decay()` can only be configured before the "
                "optimizer is built (before the first update)"
            )
        self._exclude_ids = {id(v) for v in var_list} if var_list else set()
        names = list(var_names) if var_names else []
        self._exclude_pattern = re.compile("|".join(sorted(set(names)))) if names else None
        self._wd_cache = {}

    def _use_weight_decay(self, var: Tensor) -> bool:
        key = id(var)
        use = self._wd_cache.get(key)
        if use is None:
            use = key not in self._exclude_ids and not (
                self._exclude_pattern is not None and self._exclude_pattern.search(var.name or "") is not None
            )
            self._wd_cache[key] = use
        return use

    def _apply_weight_decay(self, variables: list[Tensor], lr: float) -> None:
        if self.weight_decay is None:
            return
        factor = 1.0 - lr * self.weight_decay  # w ← w − lr·wd·w
        for v in variables:
            if self._use_weight_decay(v):
                v.data *= factor

    # ---- moving average of the weights -------------------------------------------------
    def _update_moving_averages(self) -> None:
        """a ← μ·a + (1 − μ)·w for every variable (μ = 0 at the first update, so a starts at w);
        every ``ema_overwrite_frequency`` updates, w ← a."""
        mu = float(self.ema_momentum) if self.iterations != 0 else 0.0
        for var, slots in zip(self._variables, self._slots):
            a = slots["average"]
            a *= mu
            a += (1.0 - mu) * var.data
        freq = self.ema_overwrite_frequency
        if freq and (self.iterations + 1) % freq == 0:
            for var, slots in zip(self._variables, self._slots):
                var.data[...] = slots["average"]

    def finalize_variable_values(self, var_list: Sequence[Tensor]) -> None:
        """With ``use_ema``, overwrite the variables with their moving averages (``fit`` does it at the end).
        Variables the optimizer has not updated are left as they are."""
        if not self.use_ema:
            return
        for var in var_list:
            i = self._index.get(id(var))
            if i is not None:  # variables the optimizer never updated have no average (Keras requires them all)
                var.data[...] = self._slots[i]["average"]

    # ---- state ---------------------------------------------------------------------------
    def _global_state(self) -> dict[str, Any]:
        """Optimizer-wide state beyond the step count (e.g. Nadam's momentum-schedule product), as arrays."""
        return {}

    def _set_global_state(self, state: dict[str, Any]) -> None:
        pass

    def get_state(self) -> dict[str, numpy.ndarray]:
        """``{"iterations": ..., "<i>/<slot>": array, ...}``: copies, ready for ``numpy.savez``."""
        state = {"iterations": numpy.asarray(self._calls, dtype=numpy.int64)}
        state.update({k: numpy.array(asnumpy(v)) for k, v in self._global_state().items()})
        for i, slots in enumerate(self._slots):
            for name, arr in slots.items():
                state[f"{i}/{name}"] = asnumpy(arr).copy()
        for k, var in enumerate(self._extra_variables):
            state[f"variable/{k}"] = asnumpy(var.data).copy()
        return state

    def set_state(self, state, variables: Iterable[Tensor] | None = None) -> None:
        """Restore a :meth:`get_state` result (a dict or a loaded ``.npz``) for ``variables``.

        ``variables`` must be given in the order the saving optimizer first saw
        them (the order of the model's weights); without it, the variables this
        optimizer already knows are used. Training then continues bit-exactly.
        """
        state = {k: state[k] for k in state.keys()}
        if variables is not None:
            self._variables, self._index, self._slots, self._wd_cache = [], {}, [], {}
            self._extra_variables = []
            self.build(variables)
        expected = {"iterations", *self._global_state()}
        expected.update(f"{i}/{name}" for i, slots in enumerate(self._slots) for name in slots)
        expected.update(f"variable/{k}" for k in range(len(self._extra_variables)))
        missing, unexpected = sorted(expected - state.keys()), sorted(state.keys() - expected)
        if missing or unexpected:
            raise ValueError(
                f"{type(self).__name__}.set_state: the state does not match the {len(self._variables)} variables; "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        for i, slots in enumerate(self._slots):
            for name, arr in slots.items():
                saved = numpy.asarray(state[f"{i}/{name}"])
                if saved.shape != arr.shape:
                    raise ValueError(
                        f"{type(self).__name__}.set_state: slot '{i}/{name}' has shape {saved.shape} in the state, "
                        f"expected {arr.shape} (variable {i})"
                    )
                arr[...] = get_array_module(arr).asarray(saved)
        for k, var in enumerate(self._extra_variables):
            var.assign(numpy.asarray(state[f"variable/{k}"]))
        self._calls = int(state["iterations"])
        self._set_global_state(state)

    # ---- config ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Keras's configuration: name, learning rate (a schedule serialized), and the base arguments."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = float(lr())
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r}>"

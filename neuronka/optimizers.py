"""Optimizers with Keras 3's names, arguments, defaults and update formulas.

Variables are :class:`neuronka.Tensor` leaves; gradients are arrays of the
same shape (``None`` gradients are skipped). Every update happens in place in
``var.data`` (the parameter arrays are never reallocated), with the per-variable
state ("slots": momenta, second moments, ...) preallocated at the first update
and intermediate results written into reused scratch buffers.

One update, ``apply(grads, variables)``, does what Keras does, in this order:

1. clip the gradients: ``clipnorm`` (each gradient g ← g · c / max(‖g‖, c)),
   or ``global_clipnorm`` (all gradients × min(1, c / ‖all‖)), or ``clipvalue``
   (elementwise to [−c, c]);
2. decoupled weight decay, if ``weight_decay`` is set: w ← w · (1 − lr · wd)
   (variables excluded by :meth:`Optimizer.exclude_from_weight_decay` are skipped);
3. the optimizer's own update (formulas in each class's docstring), with
   lr = ``optimizer.learning_rate`` (a schedule is evaluated at ``iterations``);
4. ``iterations += 1``.

Scalar hyperparameters stay Python floats, so float32 variables are updated in
float32 (no float64 leaks in).

State for resuming: :meth:`Optimizer.get_state` returns plain arrays
(``"iterations"``, ``"0/momentum"``, ...: slot names keyed by the index of the
variable in the order the optimizer first saw it) that can be saved with
``numpy.savez``; :meth:`Optimizer.set_state` restores them bit-exactly.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from . import schedules
from .autograd import Tensor
from .backend import asnumpy, get_array_module
from .schedules import LearningRateSchedule


def _float_or_none(value):
    return None if value is None else float(value)


class Optimizer:
    """Base class of the optimizers.

    Args:
        learning_rate: a float, a :class:`~neuronka.schedules.LearningRateSchedule`
            (evaluated at ``iterations``), or a callable with no argument returning a float.
        weight_decay: if set, decoupled weight decay w ← w · (1 − lr · weight_decay) before each update.
        clipnorm: clip each gradient to L2 norm at most ``clipnorm``.
        clipvalue: clip each gradient elementwise to [−clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to global L2 norm at most ``global_clipnorm``.
        name: the optimizer's name.

    Only one of ``clipnorm``, ``clipvalue`` and ``global_clipnorm`` may be set.
    Subclasses declare their slots in ``_slot_names`` / ``_make_slots`` and
    implement ``_update(grad, var, slots, lr)``.
    """

    _default_name = "optimizer"

    def __init__(self, learning_rate, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs):
        if kwargs:
            raise ValueError(f"{type(self).__name__}: argument(s) not recognized: {kwargs}")
        clip_args = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
        if clip_args > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.name = name if name is not None else self._default_name
        self.weight_decay = _float_or_none(weight_decay)
        self.clipnorm = _float_or_none(clipnorm)
        self.clipvalue = _float_or_none(clipvalue)
        self.global_clipnorm = _float_or_none(global_clipnorm)
        self.iterations = 0
        self._learning_rate = self._check_learning_rate(learning_rate)
        self._variables: list[Tensor] = []  # in the order first seen; index i ↔ state keys "i/..."
        self._index: dict[int, int] = {}  # id(variable) -> index
        self._slots: list[dict[str, Any]] = []  # per variable: slot name -> array
        self._scratch: dict[tuple, Any] = {}  # (shape, dtype, k) -> reusable buffer
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._wd_cache: dict[int, bool] = {}

    # ---- learning rate -------------------------------------------------------------
    def _check_learning_rate(self, learning_rate):
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        if isinstance(learning_rate, (int, float, numpy.integer, numpy.floating)) and not isinstance(
            learning_rate, bool
        ):
            return float(learning_rate)
        raise ValueError(
            f"{type(self).__name__}: argument `learning_rate` should be a float, a LearningRateSchedule or a "
            f"callable returning the learning rate. Received: learning_rate={learning_rate!r}"
        )

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self.iterations))
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

    # ---- variables and slots ---------------------------------------------------------
    @property
    def built(self) -> bool:
        return bool(self._variables)

    def build(self, variables: Iterable[Tensor]) -> None:
        """Register variables (in this order) and create their slots; :meth:`apply` does it lazily."""
        for var in variables:
            self._track(var)

    def _track(self, var) -> int:
        key = id(var)
        i = self._index.get(key)
        if i is None:
            if not isinstance(var, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: expected variables to be neuronka Tensors, received {type(var).__name__}"
                )
            i = len(self._variables)
            self._index[key] = i
            self._variables.append(var)
            self._slots.append(self._make_slots(var))
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
        indices = [self._track(v) for v in variables]
        todo = [(self._check_grad(g, v), v, i) for g, v, i in zip(grads, variables, indices) if g is not None]
        if not todo:
            raise ValueError(f"{type(self).__name__}: no gradients provided for any variable (all are None)")
        gs = self._clip_gradients([g for g, _, _ in todo])
        lr = self.learning_rate
        if self.weight_decay is not None:
            self._apply_weight_decay([v for _, v, _ in todo], lr)
        self._update_all(gs, [v for _, v, _ in todo], [self._slots[i] for _, _, i in todo], lr)
        self.iterations += 1

    def step(self, variables: Iterable[Tensor]) -> None:
        """Apply each variable's ``.grad`` (variables without one are skipped); the caller zeros the grads."""
        variables = list(variables)
        self.apply([v.grad for v in variables], variables)

    def _check_grad(self, g, var: Tensor):
        if isinstance(g, Tensor):
            g = g.data
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
        for g, v, s in zip(grads, variables, slots):
            self._update(g, v.data, s, lr)

    def _update(self, g, w, slots: dict, lr: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

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
        factor = 1.0 - lr * self.weight_decay  # w ← w − lr·wd·w
        for v in variables:
            if self._use_weight_decay(v):
                v.data *= factor

    # ---- state ---------------------------------------------------------------------------
    def _global_state(self) -> dict[str, Any]:
        """Optimizer-wide state beyond ``iterations`` (e.g. Nadam's momentum-schedule product)."""
        return {}

    def _set_global_state(self, state: dict[str, Any]) -> None:
        pass

    def get_state(self) -> dict[str, numpy.ndarray]:
        """``{"iterations": ..., "<i>/<slot>": array, ...}``: copies, ready for ``numpy.savez``."""
        state = {"iterations": numpy.asarray(self.iterations, dtype=numpy.int64)}
        state.update({k: numpy.array(v) for k, v in self._global_state().items()})
        for i, slots in enumerate(self._slots):
            for name, arr in slots.items():
                state[f"{i}/{name}"] = asnumpy(arr).copy()
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
            self.build(variables)
        expected = {"iterations", *self._global_state()}
        expected.update(f"{i}/{name}" for i, slots in enumerate(self._slots) for name in slots)
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
        self.iterations = int(state["iterations"])
        self._set_global_state(state)

    # ---- config ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
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
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, learning_rate={self.learning_rate!r})"


def _l2norm(g) -> float:
    flat = g.reshape(-1)
    return math.sqrt(float(get_array_module(g).dot(flat, flat)))


# ======================================================================================
# the optimizers
# ======================================================================================
class SGD(Optimizer):
    """Gradient descent, with optional momentum and Nesterov momentum (Keras form).

    momentum = 0:  w ← w − lr·g
    momentum μ:    v ← μ·v − lr·g;  w ← w + v
    nesterov:      v ← μ·v − lr·g;  w ← w + μ·v − lr·g

    (For a constant lr this is PyTorch's SGD with dampening 0: v = −lr·buf.)
    """

    _default_name = "SGD"

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _slot_names(self, var):
        return ("momentum",) if self.momentum != 0 else ()

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        t = self._tmp(w)
        xp.multiply(g, lr, out=t)  # t = lr·g
        if self.momentum == 0:
            w -= t
            return
        mu, v = self.momentum, slots["momentum"]
        v *= mu
        v -= t  # v = μ·v − lr·g
        if self.nesterov:
            w -= t
            xp.multiply(v, mu, out=t)
            w += t  # w += μ·v − lr·g
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Keras form, with Keras's "epsilon hat").

    t = iterations + 1;  α = lr · sqrt(1 − β₂ᵗ) / (1 − β₁ᵗ)
    m ← m + (g − m)(1 − β₁);  v ← v + (g² − v)(1 − β₂)
    amsgrad: v̂ ← max(v̂, v), used in place of v
    w ← w − α · m / (sqrt(v) + ε)

    (PyTorch divides by sqrt(v / (1 − β₂ᵗ)) + ε instead: the same update with
    ε_torch = ε / sqrt(1 − β₂ᵗ).)
    """

    _default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _slot_names(self, var):
        return ("momentum", "velocity", "velocity_hat") if self.amsgrad else ("momentum", "velocity")

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        t = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m, v = slots["momentum"], slots["velocity"]
        tmp = self._tmp(w)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp  # m += (g − m)(1 − β₁)
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp  # v += (g² − v)(1 − β₂)
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            xp.maximum(v_hat, v, out=v_hat)
            v = v_hat
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp  # w −= α·m / (sqrt(v) + ε)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): w ← w · (1 − lr · wd), then the Adam update."""

    _default_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name: str | None = None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)


class RMSprop(Optimizer):
    """RMSprop (Keras form: ε inside the square root).

    v ← ρ·v + (1 − ρ)·g²
    centered: a ← ρ·a + (1 − ρ)·g;  d = v − a² + ε;  otherwise d = v + ε
    Δ = lr · g / sqrt(d)
    momentum μ > 0: s ← μ·s + Δ;  w ← w − s;   otherwise w ← w − Δ
    """

    _default_name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    def _slot_names(self, var):
        names = ("velocity",)
        if self.momentum > 0:
            names += ("momentum",)
        if self.centered:
            names += ("average_gradient",)
        return names

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        rho, v = self.rho, slots["velocity"]
        tmp = self._tmp(w)
        v *= rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        v += tmp  # v = ρ·v + (1 − ρ)·g²
        if self.centered:
            a = slots["average_gradient"]
            a *= rho
            xp.multiply(g, 1.0 - rho, out=tmp)
            a += tmp  # a = ρ·a + (1 − ρ)·g
            xp.multiply(a, a, out=tmp)
            xp.subtract(v, tmp, out=tmp)
            tmp += self.epsilon  # d = v − a² + ε
        else:
            xp.add(v, self.epsilon, out=tmp)  # d = v + ε
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= lr  # Δ = lr·g / sqrt(d)
        if self.momentum > 0:
            s = slots["momentum"]
            s *= self.momentum
            s += tmp
            w -= s
        else:
            w -= tmp

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: a ← a + g² (a starts at ``initial_accumulator_value``);  w ← w − lr · g / sqrt(a + ε)."""

    _default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _make_slots(self, var):
        return {"accumulator": get_array_module(var.data).full_like(var.data, self.initial_accumulator_value)}

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        a, tmp = slots["accumulator"], self._tmp(w)
        xp.multiply(g, g, out=tmp)
        a += tmp  # a += g²
        xp.add(a, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp  # w −= lr·g / sqrt(a + ε)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: E[g²] ← ρ·E[g²] + (1 − ρ)·g²;  Δ = sqrt(E[Δ²] + ε) / sqrt(E[g²] + ε) · g;
    E[Δ²] ← ρ·E[Δ²] + (1 − ρ)·Δ²;  w ← w − lr·Δ.
    """

    _default_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def _slot_names(self, var):
        return ("accumulated_grad", "accumulated_delta_var")

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        rho, eps = self.rho, self.epsilon
        acc_g, acc_d = slots["accumulated_grad"], slots["accumulated_delta_var"]
        delta, tmp = self._tmp(w, 0), self._tmp(w, 1)
        acc_g *= rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        acc_g += tmp  # E[g²] = ρ·E[g²] + (1 − ρ)·g²
        xp.add(acc_d, eps, out=delta)
        xp.sqrt(delta, out=delta)
        delta *= g
        xp.add(acc_g, eps, out=tmp)
        xp.sqrt(tmp, out=tmp)
        delta /= tmp  # Δ = sqrt(E[Δ²] + ε) · g / sqrt(E[g²] + ε)
        acc_d *= rho
        xp.multiply(delta, delta, out=tmp)
        tmp *= 1.0 - rho
        acc_d += tmp  # E[Δ²] = ρ·E[Δ²] + (1 − ρ)·Δ²
        delta *= lr
        w -= delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam (Adam with Nesterov momentum and Keras 3's momentum schedule).

    t = iterations + 1;  u_t = β₁ · (1 − ½ · 0.96ᵗ);  u_{t+1} = β₁ · (1 − ½ · 0.96ᵗ⁺¹)
    Π_t = u_1 ⋯ u_t (kept, in the variables' dtype, as optimizer state "u_product")
    m ← m + (g − m)(1 − β₁);  v ← v + (g² − v)(1 − β₂)
    m̂ = u_{t+1} · m / (1 − Π_t · u_{t+1}) + (1 − u_t) · g / (1 − Π_t);  v̂ = v / (1 − β₂ᵗ)
    w ← w − lr · m̂ / (sqrt(v̂) + ε)

    (PyTorch's NAdam with ``momentum_decay=1.0``; its default 0.004 is the older schedule 0.96^(0.004·t).)
    """

    _default_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self._u_product = 1.0

    def _slot_names(self, var):
        return ("momentum", "velocity")

    def _state_dtype(self):
        return self._variables[0].data.dtype if self._variables else numpy.dtype("float32")

    def _global_state(self):
        return {"u_product": numpy.asarray(self._u_product, dtype=self._state_dtype())}

    def _set_global_state(self, state):
        self._u_product = float(numpy.asarray(state["u_product"]))

    def _update_all(self, grads, variables, slots, lr):
        t = self.iterations + 1
        u_t = self.beta_1 * (1.0 - 0.5 * 0.96**t)
        u_next = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        # Π_t, rounded to the variables' dtype as Keras (and PyTorch) store it
        self._u_product = float(numpy.asarray(self._u_product * u_t, dtype=self._state_dtype()))
        prod = self._u_product
        self._coef = (u_next / (1.0 - prod * u_next), (1.0 - u_t) / (1.0 - prod), 1.0 - self.beta_2**t)
        super()._update_all(grads, variables, slots, lr)

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        c_m, c_g, bias2 = self._coef
        m, v = slots["momentum"], slots["velocity"]
        tmp, tmp2 = self._tmp(w, 0), self._tmp(w, 1)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp  # m += (g − m)(1 − β₁)
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp  # v += (g² − v)(1 − β₂)
        xp.multiply(m, c_m, out=tmp)
        xp.multiply(g, c_g, out=tmp2)
        tmp += tmp2  # m̂
        xp.divide(v, bias2, out=tmp2)
        xp.sqrt(tmp2, out=tmp2)
        tmp2 += self.epsilon
        tmp /= tmp2
        tmp *= lr
        w -= tmp  # w −= lr·m̂ / (sqrt(v̂) + ε)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


# ======================================================================================
# lookup by name
# ======================================================================================
ALL_OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam)
}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of an optimizer (its configuration, not its state)."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"serialize: expected an Optimizer, received {optimizer!r}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def _unknown(identifier) -> ValueError:
    return ValueError(
        f"Could not interpret optimizer identifier: received {identifier!r}; expected an Optimizer, a config dict "
        f"or one of the names {sorted(ALL_OPTIMIZERS)} (case-insensitive)"
    )


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Optimizer:
    """The optimizer described by ``{"class_name": ..., "config": {...}}`` (class names case-insensitive)."""
    name = config.get("class_name")
    custom = custom_objects or {}
    cls = custom.get(name) or (ALL_OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None)
    if cls is None:
        raise _unknown(name)
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier) -> Optimizer:
    """Resolve an optimizer: an instance (returned as is), a name ("adam", "SGD", ...) or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OPTIMIZERS.get(identifier.lower())
        if cls is None:
            raise _unknown(identifier)
        return cls()
    raise _unknown(identifier)

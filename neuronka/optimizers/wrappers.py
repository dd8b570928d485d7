"""Optimizers made of optimizers: LossScaleOptimizer (dynamic loss scaling around one optimizer) and
MultiOptimizer (a different optimizer per variable, chosen by an OptimizerMap of variable-path patterns)."""
from __future__ import annotations

import re
from collections.abc import MutableMapping, Sequence
from typing import Any

import numpy

from ..autograd import Tensor
from ..backend import get_array_module
from .base import _BASE_DEFAULTS, Optimizer, _as_data


def _serialize(optimizer) -> dict[str, Any]:
    from . import serialize  # noqa: PLC0415 - the package's serialize knows every class

    return serialize(optimizer)


def _deserialize(config, custom_objects=None):
    from . import deserialize  # noqa: PLC0415

    return deserialize(config, custom_objects=custom_objects)


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around ``inner_optimizer`` (for float16 training, where small gradients underflow).

    :meth:`scale_loss` multiplies the loss by the scale S (``initial_scale`` at first); :meth:`apply` then
    receives gradients of S·loss and:

    * if every gradient is finite: the inner optimizer applies g / S; after ``dynamic_growth_steps``
      finite steps in a row, S ← 2·S (and the count restarts);
    * otherwise the step is skipped (the variables and the inner optimizer are untouched), S ← S / 2 and
      the count restarts.

    ``iterations`` and ``learning_rate`` are the inner optimizer's.
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0**15, dynamic_growth_steps: int = 2000,
                 name: str | None = None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                 "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"LossScaleOptimizer: `inner_optimizer` must be an Optimizer. "
                            f"Received: inner_optimizer={inner_optimizer!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None
        self._variables = inner_optimizer._variables  # the same list: saving maps the state through it
        self.step_counter = 0
        self.dynamic_scale = float(numpy.float32(initial_scale))

    def build(self, variables) -> None:
        self.inner_optimizer.build(variables)

    @property
    def iterations(self) -> int:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value) -> None:
        self.inner_optimizer.iterations = value

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    @property
    def learning_rate_schedule(self):
        return self.inner_optimizer.learning_rate_schedule

    def scale_loss(self, loss):
        """loss · S (``initial_scale`` before the first step)."""
        return loss * self.dynamic_scale

    def check_finite(self, grads) -> bool:
        """Whether every entry of every (non-None) gradient is finite."""
        return all(bool(get_array_module(a).isfinite(a).all()) for a in (_as_data(g) for g in grads if g is not None))

    def apply(self, grads: Sequence, trainable_variables=None) -> None:
        grads = list(grads)
        if self.check_finite(grads):
            scale = self.dynamic_scale
            self.inner_optimizer.apply([g if g is None else _as_data(g) / scale for g in grads], trainable_variables)
            if self.step_counter == self.dynamic_growth_steps - 1:
                self.step_counter = 0
                self.dynamic_scale = float(numpy.float32(self.dynamic_scale * 2.0))  # S ← 2·S
            else:
                self.step_counter += 1
        else:
            self.step_counter = 0
            self.dynamic_scale = float(numpy.float32(self.dynamic_scale * 0.5))  # skip the step; S ← S / 2

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    @property
    def variables(self) -> list[Tensor]:
        return super().variables + self.inner_optimizer.variables

    def _global_state(self):
        return {"step_counter": numpy.asarray(self.step_counter, "int64"),
                "dynamic_scale": numpy.asarray(self.dynamic_scale, "float32")}

    def get_state(self) -> dict[str, numpy.ndarray]:
        """The inner optimizer's state plus ``"loss_scale/step_counter"`` and ``"loss_scale/dynamic_scale"``."""
        state = self.inner_optimizer.get_state()
        state.update({f"loss_scale/{k}": v for k, v in self._global_state().items()})
        return state

    def set_state(self, state, variables=None) -> None:
        state = {k: state[k] for k in state.keys()}
        own = {k: state.pop(f"loss_scale/{k}") for k in ("step_counter", "dynamic_scale") if f"loss_scale/{k}" in state}
        self.inner_optimizer.set_state(state, variables)
        self._variables = self.inner_optimizer._variables
        if "step_counter" in own:
            self.step_counter = int(own["step_counter"])
        if "dynamic_scale" in own:
            self.dynamic_scale = float(own["dynamic_scale"])

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "inner_optimizer": _serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None) -> LossScaleOptimizer:
        config = dict(config)
        inner = _deserialize(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)


class OptimizerMap(MutableMapping):
    """Which optimizer updates which variable: ``{pattern: optimizer}`` over variable paths, and a default.

    ``optimizer_map[path]`` is the optimizer whose key equals the path, else the one whose pattern matches
    all of it (``re.fullmatch``; more than one match is an error), else ``default_optimizer``.
    ``optimizer_map(variable)`` looks up ``variable.path``.
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict[str, Optimizer] | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be a Keras Optimizer instance. Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = optimizer_map or {}

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                             "Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a Keras Optimizer instance. Received: {optimizer}")
        if isinstance(optimizer, LossScaleOptimizer):
            raise ValueError("optimizer cannot be LossScaleOptimizer.")
        if isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer cannot be MultiOptimizer.")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        return self[str(getattr(variable, "path", None) or variable.name or "")]

    def get_config(self) -> dict[str, Any]:
        return {"default_optimizer": _serialize(self._default_optimizer),
                "optimizer_map": {k: _serialize(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None) -> OptimizerMap:
        default = _deserialize(config["default_optimizer"], custom_objects=custom_objects)
        mapping = {k: _deserialize(v, custom_objects=custom_objects)
                   for k, v in (config.get("optimizer_map") or {}).items()}
        return cls(default, mapping)


class MultiOptimizer(Optimizer):
    """Several optimizers, each updating its own variables: ``optimizer_map(variable)`` (an
    :class:`OptimizerMap` or any callable) names the optimizer of each variable.

    Each inner optimizer keeps its own learning rate, schedule, step count and slots; ``iterations`` counts
    the calls of :meth:`apply`. ``loss_scale_factor`` is passed on to every inner optimizer.
    Differences from Keras: variables not seen at the first call are routed when they first come (Keras
    raises), and a call may carry gradients for a subset of the variables (``fit`` passes only those that
    received one).
    """

    def __init__(self, optimizer_map, loss_scale_factor: float | None = None, name: str | None = None):
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        if not callable(optimizer_map):
            raise TypeError(f"MultiOptimizer: `optimizer_map` must be an OptimizerMap or a callable "
                            f"variable -> optimizer. Received: optimizer_map={optimizer_map!r}")
        self._optimizer_map = optimizer_map
        if hasattr(optimizer_map, "values"):
            for opt in optimizer_map.values():
                self._add_inner(opt)
        default = getattr(optimizer_map, "default_optimizer", None)
        if default is not None:
            self._add_inner(default)
        self._route: dict[int, int] = {}  # id(variable) -> index of its optimizer

    def _add_inner(self, opt) -> int:
        for i, known in enumerate(self._inner_optimizers):
            if known is opt:
                return i
        opt.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(opt)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self) -> list[Optimizer]:
        return self._inner_optimizers

    @property
    def loss_scale_factor(self):
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value) -> None:
        self._loss_scale_factor = value
        for opt in getattr(self, "_inner_optimizers", ()):
            opt.loss_scale_factor = value

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on "
                             "the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                             "individual sub-optimizers instead.")

    @property
    def iterations(self) -> int:
        return self._calls

    @iterations.setter
    def iterations(self, value) -> None:
        self._calls = int(value)

    def _optimizer_index(self, var) -> int:
        i = self._route.get(id(var))
        if i is None:
            opt = self._optimizer_map(var)
            if not isinstance(opt, Optimizer):
                raise ValueError(f"Optimizer for variable {var} is not an Optimizer instance.")
            if isinstance(opt, LossScaleOptimizer):
                raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")
            if isinstance(opt, MultiOptimizer):
                raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
            i = self._route[id(var)] = self._add_inner(opt)
            self._track(var)
        return i

    def build(self, variables) -> None:
        groups: list[list] = [[] for _ in self._inner_optimizers]
        for var in variables:
            i = self._optimizer_index(var)
            groups.extend([] for _ in range(len(self._inner_optimizers) - len(groups)))
            groups[i].append(var)
        for opt, group in zip(self._inner_optimizers, groups):
            if group:
                opt.build(group)

    def _split(self, variables) -> list[list]:
        groups: list[list] = [[] for _ in self._inner_optimizers]
        for var in variables:
            i = self._optimizer_index(var)
            groups.extend([] for _ in range(len(self._inner_optimizers) - len(groups)))
            groups[i].append(var)
        return groups

    def apply(self, grads: Sequence, trainable_variables=None) -> None:
        grads = list(grads)
        if not grads:
            return
        variables = self._resolve_variables(grads, trainable_variables)
        if not self.built:
            self.build(variables)
        per_opt: list[list] = [[] for _ in self._inner_optimizers]
        for g, v in zip(grads, variables):
            i = self._optimizer_index(v)
            per_opt.extend([] for _ in range(len(self._inner_optimizers) - len(per_opt)))
            if g is not None:
                per_opt[i].append((g, v))
        if not any(per_opt):
            raise ValueError("MultiOptimizer: no gradients provided for any variable (all are None)")
        for opt, pairs in zip(self._inner_optimizers, per_opt):
            if pairs:
                opt.apply([g for g, _ in pairs], [v for _, v in pairs])
        self._calls += 1

    def finalize_variable_values(self, var_list) -> None:
        for opt, group in zip(self._inner_optimizers, self._split(var_list)):
            if group:
                opt.finalize_variable_values(group)

    @property
    def variables(self) -> list[Tensor]:
        out = super().variables
        for opt in self._inner_optimizers:
            out.extend(opt.variables)
        return out

    def get_state(self) -> dict[str, numpy.ndarray]:
        """``iterations`` and each inner optimizer's state under ``"<k>:"`` (k its index in :attr:`optimizers`)."""
        state = {"iterations": numpy.asarray(self._calls, dtype=numpy.int64)}
        for k, opt in enumerate(self._inner_optimizers):
            state.update({f"{k}:{key}": value for key, value in opt.get_state().items()})
        return state

    def set_state(self, state, variables=None) -> None:
        state = {k: state[k] for k in state.keys()}
        if variables is not None:
            self._variables, self._index, self._slots, self._route = [], {}, [], {}
            groups = self._split(variables)
        else:
            groups = [None] * len(self._inner_optimizers)
        for k, (opt, group) in enumerate(zip(self._inner_optimizers, groups)):
            own = {key[len(f"{k}:"):]: value for key, value in state.items() if key.startswith(f"{k}:")}
            if own:
                opt.set_state(own, group)
        self._calls = int(state["iterations"])

    def get_config(self) -> dict[str, Any]:
        mapping = self._optimizer_map
        if isinstance(mapping, OptimizerMap):
            mapping = {"module": "keras.optimizers", "class_name": "OptimizerMap", "config": mapping.get_config(),
                       "registered_name": None}
        else:
            mapping = getattr(mapping, "__name__", repr(mapping))
        return {"optimizer_map": mapping, "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None) -> MultiOptimizer:
        config = dict(config)
        mapping = config["optimizer_map"]
        if isinstance(mapping, dict):
            config["optimizer_map"] = OptimizerMap.from_config(mapping.get("config", mapping), custom_objects)
        elif isinstance(mapping, str) and custom_objects and mapping in custom_objects:
            config["optimizer_map"] = custom_objects[mapping]
        return cls(**config)



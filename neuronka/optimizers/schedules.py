"""Learning-rate schedules: ``step -> learning rate``, Keras 3 names and formulas.

A schedule is a small callable with a config. An optimizer given one as its
``learning_rate`` evaluates it at ``optimizer.iterations`` (the number of
updates already applied) before every update. Every schedule returns a Python
float, so no NumPy float64 leaks into a float32 update.

=====================  =========================================================
ExponentialDecay       lr₀ · r^(t / T)            (staircase: ⌊t / T⌋)
PiecewiseConstantDecay v₀ if t ≤ b₀, vᵢ if bᵢ₋₁ < t ≤ bᵢ, v_last if t > b_last
PolynomialDecay        (lr₀ − lr_end) · (1 − min(t, T) / T)^p + lr_end
InverseTimeDecay       lr₀ / (1 + r · t / T)       (staircase: ⌊t / T⌋)
CosineDecay            linear warm-up, then lr_peak · ((1 − α) · ½(1 + cos(π t / T)) + α)
CosineDecayRestarts    SGDR: cosine decay restarted after T, T·t_mul, T·t_mul², …
OneCycle               PyTorch's OneCycleLR: warm up to max_lr, anneal to max_lr / (div · final_div)
=====================  =========================================================
"""
from __future__ import annotations

import math
from typing import Any


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float``, with ``get_config`` / ``from_config``."""

    def __call__(self, step) -> float:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive(owner: str, name: str, value) -> None:
    if not value > 0:
        raise ValueError(f"{owner}: argument `{name}` must be > 0. Received: {name}={value!r}")


def _step(step) -> float:
    """The step as a Python float (accepts ints, NumPy scalars, 0-d arrays and Tensors)."""
    return float(getattr(step, "data", step))


class _StepDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments and the progress p = t / decay_steps
    (⌊t / decay_steps⌋ with ``staircase=True``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None):
        name = name or type(self).__name__
        _positive(name, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step) -> float:
        p = _step(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_StepDecay):
    """lr(t) = initial_learning_rate · decay_rate^(t / decay_steps).

    With ``staircase=True`` the exponent is ⌊t / decay_steps⌋ (the rate drops in steps).
    """

    def __call__(self, step) -> float:
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] for t ≤ boundaries[0]; values[i] for boundaries[i-1] < t ≤ boundaries[i]; values[-1] after."""

    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, "
                f"and values={values} of length {len(values)}."
            )
        if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay: expected strictly increasing boundaries, received boundaries={boundaries}"
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step) -> float:
        t = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if t <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """lr(t) = (lr₀ − end_learning_rate) · (1 − t / T)^power + end_learning_rate, with t = min(t, T).

    With ``cycle=True``, T becomes the first multiple of ``decay_steps`` ≥ t
    (``decay_steps`` itself at t = 0) instead of clamping t.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay"):
        _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step) -> float:
        t = _step(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if t == 0 else math.ceil(t / decay_steps)
        else:
            t = min(t, decay_steps)
        p = t / decay_steps
        lr0, lr_end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (lr0 - lr_end) * (1.0 - p) ** float(self.power) + lr_end

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_StepDecay):
    """lr(t) = initial_learning_rate / (1 + decay_rate · t / decay_steps)   (staircase: ⌊t / decay_steps⌋)."""

    def __call__(self, step) -> float:
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * self._progress(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warm-up (Keras 3).

    Without ``warmup_target``: lr(t) = lr₀ · ((1 − α) · ½(1 + cos(π · min(t, T) / T)) + α).

    With ``warmup_target``: for t < W (``warmup_steps``) the rate rises linearly,
    lr(t) = lr₀ + (warmup_target − lr₀) · t / W; afterwards it decays from
    ``warmup_target`` as above with t − W (clamped to T) in place of t.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: int = 0):
        _positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, t: float, peak: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * t / self.decay_steps))
        alpha = float(self.alpha)
        return peak * ((1.0 - alpha) * cosine + alpha)

    def __call__(self, step) -> float:
        t = _step(step)
        lr0 = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(min(t, self.decay_steps), lr0)
        target, warmup = float(self.warmup_target), float(self.warmup_steps)
        t = min(t, self.decay_steps + warmup)
        if t < warmup:
            return (target - lr0) * (t / warmup) + lr0
        return self._decay(t - warmup, target)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay restarted periodically (Keras 3).

    Period i lasts T·t_mulⁱ steps (T = ``first_decay_steps``) and starts from
    lr₀ · m_mulⁱ; inside it, with f the completed fraction of the period,
    lr = lr₀ · ((1 − α) · m_mulⁱ · ½(1 + cos(π f)) + α).
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay"):
        _positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step) -> float:
        fraction = _step(step) / self.first_decay_steps  # in units of the first period
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            i = math.floor(fraction)
            fraction -= i
        else:
            # periods end at the partial sums (t_mul^i − 1) / (t_mul − 1); find i with start_i ≤ fraction < start_i+1
            def start(k: int) -> float:
                return (t_mul**k - 1.0) / (t_mul - 1.0)

            i = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            while i > 0 and start(i) > fraction:  # guard the logarithm's rounding at period edges
                i -= 1
            while start(i + 1) <= fraction:
                i += 1
            fraction = (fraction - start(i)) / t_mul**i
        alpha = float(self.alpha)
        cosine = 0.5 * float(self.m_mul) ** i * (1.0 + math.cos(math.pi * fraction))
        return float(self.initial_learning_rate) * ((1.0 - alpha) * cosine + alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


class OneCycle(LearningRateSchedule):
    """The one-cycle policy, with PyTorch ``OneCycleLR``'s defaults and learning-rate formula.

    lr_start = max_lr / div_factor, lr_min = lr_start / final_div_factor.
    Two phases (default): lr_start → max_lr over steps 0 … pct_start·N − 1, then
    max_lr → lr_min until step N − 1. ``three_phase=True``: lr_start → max_lr,
    max_lr → lr_start (ending at step 2·pct_start·N − 2), then lr_start → lr_min.
    Within a phase from a to b, with p the fraction of the phase done:
    cos: lr = b + (a − b) · ½(1 + cos(π p));  linear: lr = a + (b − a) · p.
    Steps after N − 1 keep the final rate (PyTorch raises there instead).
    Only the learning rate is scheduled (no momentum cycling).
    """

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 name: str = "OneCycle"):
        _positive("OneCycle", "total_steps", total_steps)
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycle: expected pct_start between 0 and 1, received pct_start={pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycle: expected anneal_strategy 'cos' or 'linear', received anneal_strategy={anneal_strategy!r}"
            )
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.name = name

    def _phases(self) -> list[tuple[float, float, float]]:
        """(end step, start lr, end lr) of each phase."""
        peak = float(self.max_lr)
        start = peak / self.div_factor
        low = start / self.final_div_factor
        n, pct = self.total_steps, float(self.pct_start)
        if self.three_phase:
            return [(pct * n - 1, start, peak), (2 * pct * n - 2, peak, start), (n - 1, start, low)]
        return [(pct * n - 1, start, peak), (n - 1, peak, low)]

    def __call__(self, step) -> float:
        t = min(_step(step), self.total_steps - 1)
        phases = self._phases()
        phase_start = 0.0
        for i, (end, a, b) in enumerate(phases):
            if t <= end or i == len(phases) - 1:
                p = (t - phase_start) / (end - phase_start)
                if self.anneal_strategy == "cos":
                    return b + (a - b) / 2.0 * (math.cos(math.pi * p) + 1.0)
                return (b - a) * p + a
            phase_start = end
        raise AssertionError("unreachable")  # pragma: no cover

    def get_config(self) -> dict[str, Any]:
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "three_phase": self.three_phase,
            "name": self.name,
        }


ALL_SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
                CosineDecayRestarts, OneCycle)
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"module": "keras.optimizers.schedules", "class_name": ..., "config": ..., "registered_name": None}``."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"serialize: expected a LearningRateSchedule, received {schedule!r}")
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> LearningRateSchedule:
    """The schedule described by ``{"class_name": ..., "config": ...}``."""
    known = {**ALL_SCHEDULES, **(custom_objects or {})}
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in known:
        raise ValueError(
            f"Unknown learning rate schedule: received {name!r}; expected one of {sorted(known)}"
        )
    return known[name].from_config(dict(config.get("config", {})))


def get(identifier) -> LearningRateSchedule | None:
    """A schedule from an instance or a ``{"class_name", "config"}`` dict (``None`` stays ``None``)."""
    if identifier is None or isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"Could not interpret learning rate schedule identifier: received {identifier!r}; expected a "
        f"LearningRateSchedule instance or a config dict naming one of {sorted(ALL_SCHEDULES)}"
    )

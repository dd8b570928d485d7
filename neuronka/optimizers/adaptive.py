"""Per-coordinate step sizes from accumulated squared gradients: RMSprop, Adagrad, Adadelta and Ftrl."""
from __future__ import annotations

from ..backend import get_array_module
from .base import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Keras form: ε inside the square root).

    v ← ρ·v + (1 − ρ)·g²
    centered: a ← ρ·a + (1 − ρ)·g;  d = v − a² + ε;  otherwise d = v + ε
    Δ = lr · g / sqrt(d)
    momentum μ > 0: s ← μ·s + Δ;  w ← w − s;   otherwise w ← w − Δ
    """

    _slot_groups = (("velocity",), ("momentum",), ("average_gradient",))

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

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

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

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

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

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


class Ftrl(Optimizer):
    """FTRL-Proximal ("Follow The Regularized Leader"), with L1, L2 and L2-shrinkage regularization.

    p = −``learning_rate_power`` (½ by default);  λ₂' = λ₂ + β / (2·lr)
    ĝ = g + 2·λ_shrink·w;  n' = n + g²
    z ← z + ĝ − (n'ᵖ − nᵖ) / lr · w
    w ← (clip(z, −λ₁, λ₁) − z) / (n'ᵖ / lr + 2·λ₂');  n ← n'
    (n starts at ``initial_accumulator_value``, z at 0.)
    """

    def __init__(self, learning_rate=0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        for arg, value, sign in (("initial_accumulator_value", initial_accumulator_value, "positive"),
                                 ("learning_rate_power", learning_rate_power, "negative"),
                                 ("l1_regularization_strength", l1_regularization_strength, "positive"),
                                 ("l2_regularization_strength", l2_regularization_strength, "positive"),
                                 ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                                  "positive")):
            if (value > 0.0) if sign == "negative" else (value < 0.0):
                raise ValueError(f"`{arg}` needs to be {sign} or zero. Received: {arg}={value}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _make_slots(self, var):
        xp = get_array_module(var.data)
        return {"accumulator": xp.full_like(var.data, self.initial_accumulator_value),
                "linear": xp.zeros_like(var.data)}

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        n, z = slots["accumulator"], slots["linear"]
        p = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        n_new, tmp = self._tmp(w, 0), self._tmp(w, 1)
        xp.multiply(g, g, out=n_new)
        n_new += n  # n' = n + g²
        xp.power(n, p, out=n)  # nᵖ (n is overwritten by n' below)
        xp.power(n_new, p, out=tmp)
        n -= tmp
        n /= lr
        n *= w  # −(n'ᵖ − nᵖ) / lr · w
        z += g
        z += n
        if self.l2_shrinkage_regularization_strength:
            z += (2.0 * self.l2_shrinkage_regularization_strength) * w  # ĝ = g + 2·λ_shrink·w
        tmp /= lr
        tmp += 2.0 * l2  # n'ᵖ / lr + 2·λ₂'
        xp.clip(z, -l1, l1, out=w)
        w -= z
        w /= tmp  # w = (clip(z, −λ₁, λ₁) − z) / (n'ᵖ / lr + 2·λ₂')
        n[...] = n_new

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}

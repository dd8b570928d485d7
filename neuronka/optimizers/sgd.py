"""Momentum methods: SGD (plain, momentum, Nesterov) and Lion (the sign of an interpolated momentum)."""
from __future__ import annotations

from ..backend import get_array_module
from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent, with optional momentum and Nesterov momentum (Keras form).

    momentum = 0:  w ← w − lr·g
    momentum μ:    v ← μ·v − lr·g;  w ← w + v
    nesterov:      v ← μ·v − lr·g;  w ← w + μ·v − lr·g

    (For a constant lr this is PyTorch's SGD with dampening 0: v = −lr·buf.)
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
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


class Lion(Optimizer):
    """Lion (evolved sign momentum).

    w ← w − lr · sign(β₁·m + (1 − β₁)·g);  then m ← β₂·m + (1 − β₂)·g
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates "
                             f"to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def _slot_names(self, var):
        return ("momentum",)

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        m, t, t2 = slots["momentum"], self._tmp(w, 0), self._tmp(w, 1)
        xp.multiply(m, self.beta_1, out=t)
        xp.multiply(g, 1.0 - self.beta_1, out=t2)
        t += t2
        xp.sign(t, out=t)
        t *= lr
        w -= t  # w −= lr·sign(β₁·m + (1 − β₁)·g)
        m *= self.beta_2
        xp.multiply(g, 1.0 - self.beta_2, out=t2)
        m += t2  # m = β₂·m + (1 − β₂)·g

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}

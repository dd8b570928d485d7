"""Adafactor: Adam-like steps whose second moment of a matrix is stored factored, as row and column means."""
from __future__ import annotations

import math

import numpy

from ..backend import get_array_module
from .base import Optimizer


def _rms(x) -> float:
    """sqrt(mean(x²))."""
    return math.sqrt(float(get_array_module(x).vdot(x, x)) / max(x.size, 1))


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018), Keras 3's form.

    t = iterations + 1;  relative_step (with a float learning rate): lr ← min(lr, 1/sqrt(t))
    ρ_t = min(lr, 1/sqrt(t));  α_t = max(ε₂, RMS(w)) · ρ_t;  β₂_t = 1 − t^``beta_2_decay``
    G = g² + ε₁
    rank ≥ 2: r ← β₂_t·r + (1 − β₂_t)·mean(G, last axis);  c ← β₂_t·c + (1 − β₂_t)·mean(G, second-to-last axis)
              v = (r / mean(r)) ⊗ c   (outer product over the last two axes)
    rank < 2: v ← β₂_t·v + (1 − β₂_t)·G
    u = g / sqrt(v);  û = u / max(1, RMS(u) / ``clip_threshold``);  w ← w − α_t · û
    """

    def __init__(self, learning_rate=0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def _make_slots(self, var):
        xp = get_array_module(var.data)
        shape = var.data.shape
        if len(shape) < 2:  # unused placeholders, kept so that the state lists what Keras's does
            r, c = numpy.zeros((), "int32"), numpy.zeros((), "int32")
        else:
            r = xp.zeros(shape[:-1], var.data.dtype)
            c = xp.zeros(shape[:-2] + shape[-1:], var.data.dtype)
        return {"r": r, "c": c, "velocity": xp.zeros_like(var.data)}

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        t = self.iterations + 1
        if not callable(self._learning_rate) and self.relative_step:
            lr = min(lr, 1.0 / math.sqrt(t))
        rho_t = min(lr, 1.0 / math.sqrt(t))
        alpha_t = max(self.epsilon_2, _rms(w)) * rho_t
        beta = 1.0 - t**self.beta_2_decay
        v, tmp = slots["velocity"], self._tmp(w)
        xp.multiply(g, g, out=tmp)
        tmp += self.epsilon_1  # G = g² + ε₁
        if w.ndim >= 2:
            r, c = slots["r"], slots["c"]
            r *= beta
            r += (1.0 - beta) * tmp.mean(axis=-1)
            c *= beta
            c += (1.0 - beta) * tmp.mean(axis=-2)
            row = r / r.mean(axis=-1, keepdims=True)
            xp.multiply(row[..., :, None], c[..., None, :], out=v)  # v = (r / mean r) ⊗ c
        else:
            v *= beta
            tmp *= 1.0 - beta
            v += tmp  # v = β·v + (1 − β)·G
        xp.sqrt(v, out=tmp)
        xp.divide(g, tmp, out=tmp)  # u = g / sqrt(v)
        tmp *= alpha_t / max(1.0, _rms(tmp) / self.clip_threshold)
        w -= tmp  # w −= α_t · û

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}

"""Muon: momentum whose update is orthogonalized by a Newton–Schulz iteration, for 2-D weights; AdamW for the rest."""
from __future__ import annotations

import math
import re

from ..backend import get_array_module
from .base import Optimizer


def zeropower_via_newtonschulz5(x, steps: int, a: float = 3.4445, b: float = -4.775, c: float = 2.0315):
    """An approximate orthogonalization U Vᵀ of x = U S Vᵀ (the nearest semi-orthogonal matrix), by the quintic
    Newton–Schulz iteration on the last two axes:

    X ← x / (‖x‖_F + 1e-7)   (transposed first when it has more rows than columns, back at the end)
    repeat ``steps`` times:  A = X Xᵀ;  X ← a·X + (b·A + c·A A) X
    """
    if x.ndim < 2:
        raise ValueError(f"Expected gradient or momentum to have at least 2 dimensions. Received: shape={x.shape}")
    xp = get_array_module(x)
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = xp.swapaxes(x, -1, -2)
    norm = xp.sqrt((x * x).sum(axis=(-2, -1), keepdims=True))
    x = x / (norm + 1e-7)
    for _ in range(steps):
        gram = x @ xp.swapaxes(x, -1, -2)
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return xp.swapaxes(x, -1, -2) if tall else x


class Muon(Optimizer):
    """Muon (MomentUm Orthogonalized by Newton–Schulz), Keras 3's form.

    Which variables: a variable is updated by AdamW when it is not 2-D, when ``exclude_embeddings`` and its
    path contains "embedding" (any case), or when a pattern of ``exclude_layers`` is found (``re.search``) in
    its path; every other (2-D) variable by Muon:

    m ← μ·m + g;  u = g + μ·m (``nesterov``) or m;  O = NewtonSchulz5(u, ``ns_steps``)
    w ← w − lr · O · sqrt(max(rows, cols)) · ``rms_rate``   (no rescaling when rms_rate is None)

    AdamW variables: the Adam update with ``adam_beta_1``, ``adam_beta_2``, ``epsilon`` and the rate
    lr · ``adam_lr_ratio``. Weight decay w ← w · (1 − lr · wd) uses ``weight_decay`` for Muon variables and
    ``adam_weight_decay`` for AdamW ones.
    """

    def __init__(self, learning_rate=0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float = 0.004, epsilon: float = 1e-7, weight_decay: float = 0.004,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name: str | None = None, exclude_layers=None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.775, muon_c: float = 2.0315, adam_lr_ratio: float = 1,
                 momentum: float = 0.95, ns_steps: int = 5, nesterov: bool = True, rms_rate: float | None = 0.2,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    @staticmethod
    def _path(var) -> str:
        return str(getattr(var, "path", None) or var.name or "")

    def _should_use_adamw(self, var) -> bool:
        """True for the variables updated by AdamW (see the class docstring)."""
        if var.ndim != 2:
            return True
        path = self._path(var)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def _make_slots(self, var):
        xp = get_array_module(var.data)
        slots = {"momentum": xp.zeros_like(var.data)}
        if self._should_use_adamw(var):
            slots["velocity"] = xp.zeros_like(var.data)
        return slots

    def _apply_weight_decay(self, variables, lr):
        for var in variables:
            if not self._use_weight_decay(var):
                continue
            wd = self.adam_weight_decay if self._should_use_adamw(var) else self.weight_decay
            if wd is not None:
                var.data *= 1.0 - lr * wd  # w ← w − lr·wd·w

    def _update(self, g, w, slots, lr):
        if "velocity" in slots:
            self._adamw_update(g, w, slots["momentum"], slots["velocity"], lr * self.adam_lr_ratio)
        else:
            self._muon_update(g, w, slots["momentum"], lr)

    def _muon_update(self, g, w, m, lr):
        m *= self.momentum
        m += g  # m = μ·m + g
        u = g + self.momentum * m if self.nesterov else m
        o = zeropower_via_newtonschulz5(u, self.ns_steps, self.muon_a, self.muon_b, self.muon_c)
        scale = lr if self.rms_rate is None else lr * math.sqrt(max(w.shape[0], w.shape[1])) * self.rms_rate
        w -= (scale * o).astype(w.dtype, copy=False)

    def _adamw_update(self, g, w, m, v, lr):
        xp = get_array_module(w)
        t = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.adam_beta_2**t) / (1.0 - self.adam_beta_1**t)
        tmp = self._tmp(w)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.adam_beta_1
        m += tmp  # m += (g − m)(1 − β₁)
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.adam_beta_2
        v += tmp  # v += (g² − v)(1 − β₂)
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp  # w −= α·m / (sqrt(v) + ε)

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}

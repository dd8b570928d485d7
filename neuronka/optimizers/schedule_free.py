"""Schedule-free AdamW (Defazio et al., 2024): no learning-rate decay, an interpolation of iterates instead."""
from __future__ import annotations

from ..backend import get_array_module
from .base import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW, Keras 3's form. The variable holds y (where gradients are taken); the slot
    ``momentum`` holds z (starting at the initial weights), and x, the averaged iterate, is recovered from both.

    t = iterations + 1;  warm-up: lr_t = lr · min(t / ``warmup_steps``, 1)
    v ← v + (g² − v)(1 − β₂);  z' = z − lr_t · g / (sqrt(v / (1 − β₂ᵗ)) + ε)
    x = (y − (1 − β₁)·z) / β₁;  x' = (1 − 1/t)·x + (1/t)·z'
    y ← (1 − β₁)·z' + β₁·x';  z ← z'

    x is recovered with the z of before the step, as Keras's code writes it (and runs on JAX and TensorFlow,
    and in ``stateless_apply``). Keras's stateful PyTorch path reads an alias of z that the step has already
    changed, so it uses z' there; neuronka does not copy that.
    """

    def __init__(self, learning_rate=0.0025, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 warmup_steps: int = 0, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def _make_slots(self, var):
        return {"momentum": var.data.copy(), "velocity": get_array_module(var.data).zeros_like(var.data)}

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        t = self.iterations + 1
        if self.warmup_steps > 0:
            lr = lr * min(t / self.warmup_steps, 1.0)
        b1, b2 = self.beta_1, self.beta_2
        z, v = slots["momentum"], slots["velocity"]
        x, tmp = self._tmp(w, 0), self._tmp(w, 1)
        xp.multiply(z, 1.0 - b1, out=x)
        xp.subtract(w, x, out=x)
        x /= b1  # x = (y − (1 − β₁)·z) / β₁, with the old z
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - b2
        v += tmp  # v += (g² − v)(1 − β₂)
        xp.divide(v, 1.0 - b2**t, out=tmp)
        xp.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        xp.divide(g, tmp, out=tmp)
        tmp *= lr
        z -= tmp  # z' = z − lr_t · g / (sqrt(v̂) + ε)
        c = 1.0 / t
        x *= 1.0 - c
        xp.multiply(z, c, out=tmp)
        x += tmp  # x' = (1 − c)·x + c·z'
        xp.multiply(z, 1.0 - b1, out=w)
        x *= b1
        w += x  # y = (1 − β₁)·z' + β₁·x'

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}

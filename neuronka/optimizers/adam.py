"""The Adam family: Adam, AdamW, Adamax (infinity norm), Nadam (Nesterov momentum) and Lamb (layer-wise trust
ratio). m is the first moment, v the second, t = iterations + 1 the number of this update."""
from __future__ import annotations

import math

import numpy

from ..backend import get_array_module
from .base import Optimizer


class _Moments(Optimizer):
    """What the family shares: β₁, β₂, ε, and the moment updates m += (g − m)(1 − β₁), v += (g² − v)(1 − β₂)."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 **base):
        super().__init__(learning_rate=learning_rate, **base)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _slot_names(self, var):
        return ("momentum", "velocity")

    def _moments(self, g, m, v, tmp) -> None:
        xp = get_array_module(g)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp  # m += (g − m)(1 − β₁)
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp  # v += (g² − v)(1 − β₂)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adam(_Moments):
    """Adam (Keras form, with Keras's "epsilon hat").

    α = lr · sqrt(1 − β₂ᵗ) / (1 − β₁ᵗ);  m ← m + (g − m)(1 − β₁);  v ← v + (g² − v)(1 − β₂)
    amsgrad: v̂ ← max(v̂, v), used in place of v
    w ← w − α · m / (sqrt(v) + ε)

    (PyTorch divides by sqrt(v / (1 − β₂ᵗ)) + ε instead: the same update with ε_torch = ε / sqrt(1 − β₂ᵗ).)
    """

    _slot_groups = (("momentum", "velocity"), ("velocity_hat",))

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, name=name,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.amsgrad = amsgrad

    def _slot_names(self, var):
        return ("momentum", "velocity", "velocity_hat") if self.amsgrad else ("momentum", "velocity")

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        t = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m, v, tmp = slots["momentum"], slots["velocity"], self._tmp(w)
        self._moments(g, m, v, tmp)
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
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): w ← w · (1 − lr · wd), then the Adam update."""

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class Adamax(_Moments):
    """Adamax (Adam with the infinity norm).

    m ← m + (g − m)(1 − β₁);  u ← max(β₂·u, |g|);  w ← w − lr · m / ((1 − β₁ᵗ) · (u + ε))
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, name=name,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)

    def _slot_names(self, var):
        return ("momentum", "norm")

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        bias1 = 1.0 - self.beta_1 ** (self.iterations + 1)
        m, u, tmp = slots["momentum"], slots["norm"], self._tmp(w)
        xp.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp  # m += (g − m)(1 − β₁)
        u *= self.beta_2
        xp.abs(g, out=tmp)
        xp.maximum(u, tmp, out=u)  # u = max(β₂·u, |g|)
        xp.add(u, self.epsilon, out=tmp)
        tmp *= bias1
        xp.divide(m, tmp, out=tmp)
        tmp *= lr
        w -= tmp  # w −= lr·m / ((1 − β₁ᵗ)(u + ε))


class Nadam(_Moments):
    """Nadam (Adam with Nesterov momentum and Keras 3's momentum schedule).

    u_t = β₁ · (1 − ½ · 0.96ᵗ);  u_{t+1} = β₁ · (1 − ½ · 0.96ᵗ⁺¹)
    Π_t = u_1 ⋯ u_t (kept, in the variables' dtype, as optimizer state "u_product")
    m ← m + (g − m)(1 − β₁);  v ← v + (g² − v)(1 − β₂)
    m̂ = u_{t+1} · m / (1 − Π_t · u_{t+1}) + (1 − u_t) · g / (1 − Π_t);  v̂ = v / (1 − β₂ᵗ)
    w ← w − lr · m̂ / (sqrt(v̂) + ε)

    (PyTorch's NAdam with ``momentum_decay=1.0``; its default 0.004 is the older schedule 0.96^(0.004·t).)
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, name=name,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self._u_product = 1.0

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
        self._moments(g, m, v, tmp)
        xp.multiply(m, c_m, out=tmp)
        xp.multiply(g, c_g, out=tmp2)
        tmp += tmp2  # m̂
        xp.divide(v, bias2, out=tmp2)
        xp.sqrt(tmp2, out=tmp2)
        tmp2 += self.epsilon
        tmp /= tmp2
        tmp *= lr
        w -= tmp  # w −= lr·m̂ / (sqrt(v̂) + ε)


class Lamb(_Moments):
    """Lamb: the Adam direction scaled per variable by the trust ratio ‖w‖ / ‖r‖.

    m̂ = m / (1 − β₁ᵗ);  r = m̂ / (sqrt(v / (1 − β₂ᵗ)) + ε)
    ratio = ‖w‖ / ‖r‖ (1 where either norm is 0);  w ← w − lr · ratio · r
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, name=name,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)

    def _update(self, g, w, slots, lr):
        xp = get_array_module(w)
        t = self.iterations + 1
        m, v = slots["momentum"], slots["velocity"]
        tmp, r = self._tmp(w, 0), self._tmp(w, 1)
        self._moments(g, m, v, tmp)
        xp.divide(v, 1.0 - self.beta_2**t, out=tmp)
        xp.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        xp.divide(m, 1.0 - self.beta_1**t, out=r)
        r /= tmp  # r = m̂ / (sqrt(v̂) + ε)
        w_norm = math.sqrt(float(xp.vdot(w, w)))
        r_norm = math.sqrt(float(xp.vdot(r, r)))
        ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
        r *= ratio * lr
        w -= r  # w −= lr·ratio·r

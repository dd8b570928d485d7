"""LoRA (Hu et al., 2021) for the layers with one big weight: Dense, the convolutions, Embedding (Keras 3's API).

``layer.enable_lora(rank)`` freezes the weight W and learns a low-rank update instead:

    W_eff = W + (lora_alpha / rank) · A·B,   A: W.shape[:-1] + (rank,) ("he_uniform"), B: (rank, W.shape[-1]) (zeros)

so the layer computes exactly what it did before until A·B moves. dL/dA = (α/r)·dL/dW_eff·Bᵀ and
dL/dB = (α/r)·Aᵀ·dL/dW_eff come from the matmul op. A and B are float32 whatever the layer's dtype, and use
the weight's regularizer (Keras's choices). Saving writes the merged W_eff in W's place and leaves A and B
out (Keras's ``save_own_variables``); loading assigns W and resets A and B to zeros.
"""
from __future__ import annotations

import numpy

from .. import initializers, ops


class LoRAMixin:
    """What Dense, Conv* and Embedding share for LoRA. A layer sets ``_lora_weight`` (the attribute holding W),
    ``_lora_names`` (the names of A and B) and ``_lora_constraint`` (the attribute of W's constraint)."""

    _lora_weight = "kernel"
    _lora_names = ("lora_kernel_a", "lora_kernel_b")
    _lora_constraint = "kernel_constraint"
    _lora_regularizer = "kernel_regularizer"
    lora_enabled = False

    def _init_lora(self, lora_rank, lora_alpha) -> None:
        """``lora_rank``: None or 0 (no LoRA, as in Keras) or a positive rank."""
        if lora_rank is not None and (isinstance(lora_rank, bool) or not isinstance(lora_rank, (int, numpy.integer))
                                      or lora_rank < 0):
            raise ValueError(f"{type(self).__name__}: expected `lora_rank` to be None or a non-negative integer, "
                             f"received lora_rank={lora_rank!r}")
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros") -> None:
        """Freeze W and learn W_eff = W + (lora_alpha/rank)·A·B (see the module docstring)."""
        if getattr(self, self._lora_constraint) is not None:
            what = "embedding" if self._lora_constraint.startswith("embeddings") else "kernel"
            raise ValueError(f"Lora is incompatible with {what} constraints. In order to enable lora on this layer, "
                             f"remove the `{self._lora_constraint}` argument.")
        if not self.built:
            raise ValueError("Cannot enable lora on a layer that isn't yet built.")
        if self.lora_enabled:
            raise ValueError("lora is already enabled. This can only be done once per layer.")
        base = getattr(self, self._lora_weight)
        regularizer = getattr(self, self._lora_regularizer)
        a_name, b_name = self._lora_names
        a = self.add_weight(name=a_name, shape=(*base.shape[:-1], rank), initializer=initializers.get(a_initializer),
                            dtype="float32", regularizer=regularizer)
        b = self.add_weight(name=b_name, shape=(rank, base.shape[-1]), initializer=initializers.get(b_initializer),
                            dtype="float32", regularizer=regularizer)
        setattr(self, a_name, a)
        setattr(self, b_name, b)
        base._declared_trainable = False
        base.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _lora_merged(self):
        """W_eff = W + (α/r)·A·B in W's dtype."""
        base = getattr(self, self._lora_weight)
        a, b = (getattr(self, n) for n in self._lora_names)
        delta = ops.matmul(a, b) * (self.lora_alpha / self.lora_rank)
        return ops.cast(base + delta, base.dtype)

    def _lora_config(self, config: dict) -> dict:
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config

    def _saved_weights(self) -> list:
        """What ``save_own_variables`` writes: W (merged with A·B under LoRA), then the bias if any."""
        base = getattr(self, self._lora_weight)
        out = [self._lora_merged().numpy() if self.lora_enabled else base.numpy()]
        bias = getattr(self, "bias", None)
        if bias is not None:
            out.append(bias.numpy())
        return out

    def save_own_variables(self, store) -> None:
        if not self.built:
            return
        for i, value in enumerate(self._saved_weights()):
            store[str(i)] = value

    def load_own_variables(self, store) -> None:
        n = len(self._saved_weights()) if self.built else 0
        if not self.lora_enabled and len(store.keys()) != n:
            raise ValueError(f"Layer '{self.name}' expected {n} variables, but received {len(store.keys())} "
                             f"variables during loading. Expected: {[w.name for w in self._own_weights()]}")
        if not self.built:
            return
        targets = [getattr(self, self._lora_weight)]
        if getattr(self, "bias", None) is not None:
            targets.append(self.bias)
        for i, var in enumerate(targets):
            var.assign(numpy.asarray(store[str(i)]))
        if self.lora_enabled:
            for name in self._lora_names:
                var = getattr(self, name)
                var.assign(numpy.zeros(var.shape, dtype=var.dtype))

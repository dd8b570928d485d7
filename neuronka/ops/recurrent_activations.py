"""The activations of the recurrent ops, applied in place on preallocated buffers.

Each :class:`_Act` pairs a forward that overwrites its argument with A(z) and a derivative that writes
A'(z) computed from A's *output* y (σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = [y > 0], ...), which is
what lets the fused recurrent loops of :mod:`.recurrent` keep only y. :func:`_get_act` resolves Keras's
activation names and refuses the ones whose derivative cannot be written from y.
"""
from __future__ import annotations

# ----------------------------------------------------------------------------------
# activations applied in place on preallocated buffers
# ----------------------------------------------------------------------------------


class _Act:
    """An elementwise activation A for the recurrent kernels.

    ``prescale`` s: the pre-activation arrives multiplied by s (the kernels' columns were scaled
    once); ``fwd(a)`` turns s·z into A(z) in place; ``deriv(y, out)`` writes A'(z) from y = A(z).
    """

    def __init__(self, name, prescale, fwd, deriv, direct=None):
        self.name, self.prescale, self.fwd, self.deriv, self.direct = name, prescale, fwd, deriv, direct

    def fwd_raw(self, xp, a):
        """A(a) in place for an unscaled pre-activation a."""
        if self.prescale != 1.0:
            a *= self.prescale
        self.fwd(xp, a)

    def apply_to(self, xp, src, out):
        """out = A(src) for an unscaled src."""
        if self.direct is not None:
            getattr(xp, self.direct)(src, out=out)
        else:
            xp.multiply(src, self.prescale, out=out)
            self.fwd(xp, out)


def _sigmoid_fwd(xp, a):  # σ(z) = 1/(1 + e^(−z)), a = −z (e^(−z) = inf gives σ = 0 exactly)
    xp.exp(a, out=a)
    a += 1.0
    xp.reciprocal(a, out=a)


def _sigmoid_deriv(xp, y, out):  # σ' = σ(1 − σ)
    xp.subtract(1.0, y, out=out)
    out *= y


def _tanh_fwd(xp, a):
    xp.tanh(a, out=a)


def _tanh_deriv(xp, y, out):  # tanh' = 1 − tanh²
    xp.multiply(y, y, out=out)
    xp.subtract(1.0, out, out=out)


def _relu_fwd(xp, a):
    xp.maximum(a, 0.0, out=a)


def _relu_deriv(xp, y, out):  # relu' = [y > 0]
    out[...] = y > 0


def _linear_fwd(xp, a):
    pass


def _linear_deriv(xp, y, out):  # 1
    out[...] = 1.0


def _hard_sigmoid_fwd(xp, a):  # clip(z/6 + ½, 0, 1) (Keras 3), a = z/6
    a += 0.5
    xp.clip(a, 0.0, 1.0, out=a)


def _hard_sigmoid_deriv(xp, y, out):  # 1/6 on the open interval where 0 < y < 1
    out[...] = (y > 0) & (y < 1)
    out *= 1.0 / 6.0


_ACTS = {
    "sigmoid": _Act("sigmoid", -1.0, _sigmoid_fwd, _sigmoid_deriv),
    "tanh": _Act("tanh", 1.0, _tanh_fwd, _tanh_deriv, direct="tanh"),
    "relu": _Act("relu", 1.0, _relu_fwd, _relu_deriv),
    "linear": _Act("linear", 1.0, _linear_fwd, _linear_deriv),
    "hard_sigmoid": _Act("hard_sigmoid", 1.0 / 6.0, _hard_sigmoid_fwd, _hard_sigmoid_deriv),
}


def _get_act(identifier, arg: str, op: str) -> _Act:
    if identifier is None:
        return _ACTS["linear"]
    name = identifier
    if callable(identifier):
        from .activations import serialize  # noqa: PLC0415

        name = serialize(identifier)
    if isinstance(name, str) and name in _ACTS:
        return _ACTS[name]
    raise NotImplementedError(
        f"{op}: {arg} must be one of {sorted(_ACTS)} (the fused recurrent kernels derive A' from A's output); "
        f"received {identifier!r}"
    )

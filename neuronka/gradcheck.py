"""Numerical gradient checks: the analytic backward against central differences.

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h

``gradcheck(fn, inputs)`` works for any function built from neuronka ops,
users' own Functions included. Run it in float64: in float32 the rounding
error of the difference quotient swamps the comparison.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy

from .autograd import Tensor


def numerical_grad(fn: Callable, inputs: Sequence[numpy.ndarray], index: int, gy, eps: float = 1e-6):
    """Central-difference dL/dx for input ``index`` with L = Σ gy · fn(*inputs)."""
    x = inputs[index]
    grad = numpy.zeros_like(x, dtype=numpy.float64)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = numpy.array(fn(*[Tensor(a) for a in inputs]).data, dtype=numpy.float64)
        flat[i] = old - eps
        fm = numpy.array(fn(*[Tensor(a) for a in inputs]).data, dtype=numpy.float64)
        flat[i] = old
        g[i] = ((fp - fm) * gy).sum() / (2 * eps)
    return grad


def analytic_grads(fn: Callable, inputs: Sequence[numpy.ndarray], gy) -> list[numpy.ndarray]:
    tensors = [Tensor(a, requires_grad=True) for a in inputs]
    y = fn(*tensors)
    y.backward(numpy.asarray(gy, dtype=y.dtype))
    return [numpy.zeros_like(a) if t.grad is None else numpy.asarray(t.grad) for a, t in zip(inputs, tensors)]


def gradcheck(fn: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              seed: int = 0, raise_exception: bool = True, wrt: Sequence[int] | None = None) -> bool:
    """Compare ``fn``'s backward with central differences, in float64.

    ``fn`` takes Tensors and returns a Tensor; ``inputs`` are arrays (cast to
    float64). The output is contracted with a random gradient so that every
    output element is checked. Returns True, or raises (``raise_exception``)
    with the worst mismatch, naming the input.
    """
    arrays = [numpy.array(a, dtype=numpy.float64, order="C") for a in inputs]
    rng = numpy.random.default_rng(seed)
    y = fn(*[Tensor(a) for a in arrays])
    if y.dtype != numpy.float64:
        raise TypeError(f"gradcheck: expected fn to compute in float64, received output dtype {y.dtype}")
    gy = rng.standard_normal(y.shape)
    analytic = analytic_grads(fn, arrays, gy)
    for i in (range(len(arrays)) if wrt is None else wrt):
        numeric = numerical_grad(fn, arrays, i, gy, eps)
        if not numpy.allclose(analytic[i], numeric, atol=atol, rtol=rtol):
            err = numpy.abs(analytic[i] - numeric).max()
            if raise_exception:
                raise AssertionError(
                    f"gradcheck: input {i} of shape {arrays[i].shape}: analytic and numerical gradients differ "
                    f"by up to {err:.3g} (atol={atol}, rtol={rtol})\nanalytic:\n{analytic[i]}\nnumerical:\n{numeric}"
                )
            return False
    return True

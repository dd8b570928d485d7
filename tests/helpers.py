"""Shared test helpers: the PyTorch comparison (torch asked for inside the test, see tests/oracles.py)."""
from __future__ import annotations

import os
import signal
import subprocess

import numpy
import pytest

import neuronka as nk

from .oracles import LazyModule, torch_module, torch_or_skip

__all__ = ["LazyModule", "compare_with_torch", "torch_module", "torch_or_skip"]


def compare_with_torch(nk_fn, torch_fn, inputs, rtol=1e-4, atol=1e-5, seed=0, wrt=None):
    """Forward and input gradients of ``nk_fn`` against ``torch_fn`` in float32.

    Both are contracted with the same random output gradient; ``wrt`` names the
    inputs that are differentiated (all by default).
    """
    torch = torch_or_skip()
    arrays = [numpy.asarray(a, dtype=numpy.float32) for a in inputs]
    wrt = range(len(arrays)) if wrt is None else wrt
    xs = [nk.Tensor(a.copy(), requires_grad=i in wrt) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a.copy(), requires_grad=i in wrt) for i, a in enumerate(arrays)]
    y = nk_fn(*xs)
    ty = torch_fn(*ts)
    assert y.dtype == numpy.float32, f"float32 in, {y.dtype} out"
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    gy = numpy.random.default_rng(seed).standard_normal(y.shape).astype(numpy.float32)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    for i in wrt:
        # float64 must not leak into a float32 backward (it did once, through max's tie count): slower and not torch
        assert xs[i].grad.dtype == numpy.float32, f"float32 in, a {xs[i].grad.dtype} gradient of input {i} out"
        numpy.testing.assert_allclose(
            xs[i].grad, ts[i].grad.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of input {i}"
        )


def communicate_or_kill(proc: subprocess.Popen, timeout: float, what: str) -> tuple[int, str]:
    """(exit code, output) of ``proc`` (started with ``start_new_session=True``); past ``timeout`` seconds its
    whole process group (an ``mpiexec`` and its ranks) is killed and the test fails, naming ``what``."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"`{what}` did not end within {timeout} s; output:\n{out[-3000:]}")
    return proc.returncode, out

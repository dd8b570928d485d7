"""Whole-sequence LSTM / GRU / SimpleRNN ops: one table of cases, each checked twice.

1. float64 central differences (``neuronka.gradcheck``) of every output (the sequence and the
   final states together) with respect to every input: x, h0, (c0), kernel, recurrent_kernel, bias.
2. float32 forward and all gradients against PyTorch: ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` (weights
   mapped from the Keras layout) where PyTorch has the same cell, else a step-by-step PyTorch loop
   that transcribes Keras 3's cells and its masking rule (``keras.src.backend.numpy.rnn``): at a
   masked step the states are carried over and the output is the carried h (or 0 with
   ``zero_output_for_mask``); ``go_backwards`` returns the outputs in processing order.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import ops
from neuronka.ops import recurrent

from .helpers import compare_with_torch, torch_or_skip

GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _mask(n, t, kind):
    if kind is None:
        return None
    if kind == "holes":  # leading, inner and trailing masked steps, one sample fully masked
        m = numpy.ones((n, t), dtype=bool)
        m[0, 0] = False
        m[1, 1] = False
        m[1, -1] = False
        m[-1, :] = False
        return m
    raise ValueError(kind)


# name, op, config, (N, T, F, U), mask kind, PyTorch oracle ("module": torch.nn.LSTM/GRU/RNN, "loop": a Keras-step loop)
CASES = [
    ("lstm", "lstm", {}, (2, 3, 3, 2), None, "module"),
    ("lstm_no_bias", "lstm", {"bias": False}, (2, 3, 2, 2), None, "loop"),
    ("lstm_go_backwards", "lstm", {"go_backwards": True}, (2, 3, 3, 2), None, "loop"),
    ("lstm_masked", "lstm", {}, (3, 4, 2, 2), "holes", "loop"),
    ("lstm_masked_backwards_zero_output", "lstm", {"go_backwards": True, "zero_output_for_mask": True},
     (3, 4, 2, 2), "holes", "loop"),
    ("lstm_last_output_only", "lstm", {"return_sequences": False}, (2, 3, 3, 3), "holes", "loop"),
    ("lstm_relu_hard_sigmoid", "lstm", {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
     (2, 3, 2, 2), None, "loop"),
    ("gru_reset_after", "gru", {}, (2, 3, 3, 2), None, "module"),
    ("gru_reset_before", "gru", {"reset_after": False}, (2, 3, 3, 2), None, "loop"),
    ("gru_reset_before_no_bias", "gru", {"reset_after": False, "bias": False}, (2, 3, 2, 2), None, "loop"),
    ("gru_masked_backwards", "gru", {"go_backwards": True}, (3, 4, 2, 2), "holes", "loop"),
    ("gru_reset_before_masked", "gru", {"reset_after": False}, (3, 4, 2, 2), "holes", "loop"),
    ("gru_last_output_zero_output", "gru", {"return_sequences": False, "zero_output_for_mask": True},
     (3, 4, 2, 2), "holes", "loop"),
    ("simple_rnn", "simple_rnn", {}, (2, 3, 3, 3), None, "module"),
    ("simple_rnn_relu", "simple_rnn", {"activation": "relu"}, (2, 3, 3, 3), None, "module"),
    ("simple_rnn_masked_backwards", "simple_rnn", {"go_backwards": True}, (3, 4, 2, 3), "holes", "loop"),
    ("simple_rnn_sigmoid_no_bias", "simple_rnn", {"activation": "sigmoid", "bias": False}, (2, 3, 2, 2),
     None, "loop"),
]


def _arrays(op, cfg, shape, rng):
    """Inputs in the op's positional order: x, h0, (c0), kernel, recurrent_kernel, (bias)."""
    n, t, f, u = shape
    k = GATES[op]
    arrs = [rng.standard_normal((n, t, f)), rng.standard_normal((n, u)) * 0.5]
    if op == "lstm":
        arrs.append(rng.standard_normal((n, u)) * 0.5)
    arrs += [rng.standard_normal((f, k * u)) * 0.6, rng.standard_normal((u, k * u)) * 0.6]
    if cfg.get("bias", True):
        bshape = (2, 3 * u) if op == "gru" and cfg.get("reset_after", True) else (k * u,)
        arrs.append(rng.standard_normal(bshape) * 0.5)
    return arrs


def _op_kwargs(cfg):
    return {k: v for k, v in cfg.items() if k != "bias"}


def _nk_fn(op, cfg, mask):
    """A function of the input Tensors returning all results flattened into one vector."""
    fn = getattr(recurrent, op)
    kw = _op_kwargs(cfg)

    def run(*ts):
        ts = list(ts)
        if op == "lstm":
            x, h0, c0, w, r, *b = ts
            res = fn(x, h0, c0, w, r, b[0] if b else None, mask=mask, **kw)
        else:
            x, h0, w, r, *b = ts
            res = fn(x, h0, w, r, b[0] if b else None, mask=mask, **kw)
        return ops.concatenate([ops.reshape(a, (-1,)) for a in res])

    return run


# ---- the PyTorch oracles ----------------------------------------------------------------------------------------


def _torch_act(torch, name):
    return {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "linear": lambda v: v,
        "hard_sigmoid": lambda v: torch.clamp(v / 6 + 0.5, 0, 1),
    }[name]


def _torch_loop(op, cfg, mask):
    """Keras 3's cells stepped in a Python loop, with Keras's masking rule."""
    torch = torch_or_skip()
    act = _torch_act(torch, cfg.get("activation", "tanh"))
    ract = _torch_act(torch, cfg.get("recurrent_activation", "sigmoid"))
    reset_after = cfg.get("reset_after", True)

    def run(*ts):
        if op == "lstm":
            x, h, c, w, r, *b = ts
        else:
            x, h, w, r, *b = ts
            c = None
        b = b[0] if b else None
        n, t, _ = x.shape
        u = r.shape[0]
        steps = range(t - 1, -1, -1) if cfg.get("go_backwards") else range(t)
        m_all = None if mask is None else torch.tensor(mask)
        outs = []
        for s in steps:
            xs = x[:, s]
            if op == "lstm":
                z = xs @ w + h @ r + (0 if b is None else b)
                i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
                c_new = ract(f) * c + ract(i) * act(g)
                h_new = ract(o) * act(c_new)
            elif op == "gru":
                if reset_after:
                    b_in, b_rec = (0, 0) if b is None else (b[0], b[1])
                    mx, mh = xs @ w + b_in, h @ r + b_rec
                    zg, rg = ract(mx[:, :u] + mh[:, :u]), ract(mx[:, u:2 * u] + mh[:, u:2 * u])
                    hh = act(mx[:, 2 * u:] + rg * mh[:, 2 * u:])
                else:
                    mx = xs @ w + (0 if b is None else b)
                    mh = h @ r[:, :2 * u]
                    zg, rg = ract(mx[:, :u] + mh[:, :u]), ract(mx[:, u:2 * u] + mh[:, u:])
                    hh = act(mx[:, 2 * u:] + (rg * h) @ r[:, 2 * u:])
                h_new = zg * h + (1 - zg) * hh
            else:
                h_new = act(xs @ w + h @ r + (0 if b is None else b))
            if m_all is None:
                h, out = h_new, h_new
                c = c_new if op == "lstm" else None
            else:
                m = m_all[:, s, None]
                h = torch.where(m, h_new, h)
                if op == "lstm":
                    c = torch.where(m, c_new, c)
                out = torch.where(m, h, torch.zeros_like(h)) if cfg.get("zero_output_for_mask") else h
            outs.append(out)
        seq = torch.stack(outs, 1) if cfg.get("return_sequences", True) else outs[-1]
        parts = [seq, h] + ([c] if op == "lstm" else [])
        return torch.cat([p.reshape(-1) for p in parts])

    return run


def _torch_module(op, cfg, u, f):
    """torch.nn.LSTM / GRU / RNN with the Keras weights mapped in (functional_call keeps them differentiable)."""
    torch = torch_or_skip()
    from torch.func import functional_call

    if op == "lstm":  # torch gates i, f, g, o = Keras i, f, c, o; bias_hh = 0
        mod = torch.nn.LSTM(f, u, batch_first=True)

        def run(x, h0, c0, w, r, b):
            params = {"weight_ih_l0": w.T, "weight_hh_l0": r.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
            out, (h, c) = functional_call(mod, params, (x, (h0[None], c0[None])))
            return torch.cat([out.reshape(-1), h.reshape(-1), c.reshape(-1)])

        return run
    if op == "gru":  # torch blocks r, z, n = Keras r, z, h reordered; torch's GRU is the reset_after form
        mod = torch.nn.GRU(f, u, batch_first=True)

        def perm(a):
            return torch.cat([a[..., u:2 * u], a[..., :u], a[..., 2 * u:]], -1)

        def run(x, h0, w, r, b):
            params = {"weight_ih_l0": perm(w).T, "weight_hh_l0": perm(r).T, "bias_ih_l0": perm(b[0]),
                      "bias_hh_l0": perm(b[1])}
            out, h = functional_call(mod, params, (x, h0[None]))
            return torch.cat([out.reshape(-1), h.reshape(-1)])

        return run
    mod = torch.nn.RNN(f, u, batch_first=True, nonlinearity=cfg.get("activation", "tanh"))

    def run(x, h0, w, r, b):
        params = {"weight_ih_l0": w.T, "weight_hh_l0": r.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
        out, h = functional_call(mod, params, (x, h0[None]))
        return torch.cat([out.reshape(-1), h.reshape(-1)])

    return run


# ---- the harness --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,op,cfg,shape,mask_kind,oracle", CASES, ids=[c[0] for c in CASES])
def test_recurrent_gradients_match_central_differences(name, op, cfg, shape, mask_kind, oracle):
    rng = numpy.random.default_rng(7)
    mask = _mask(shape[0], shape[1], mask_kind)
    nk.gradcheck(_nk_fn(op, cfg, mask), _arrays(op, cfg, shape, rng), atol=1e-6, rtol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("name,op,cfg,shape,mask_kind,oracle", CASES, ids=[c[0] for c in CASES])
def test_recurrent_forward_and_gradients_match_torch(name, op, cfg, shape, mask_kind, oracle):
    rng = numpy.random.default_rng(11)
    n, t, f, u = shape
    mask = _mask(n, t, mask_kind)
    torch_fn = _torch_module(op, cfg, u, f) if oracle == "module" else _torch_loop(op, cfg, mask)
    compare_with_torch(_nk_fn(op, cfg, mask), torch_fn, _arrays(op, cfg, shape, rng), rtol=1e-4, atol=1e-5)


# ---- masking: a right-padded batch equals each sequence run alone ----------------------------------------------------

MASK_OPS = [("lstm", {}), ("lstm", {"go_backwards": True}), ("gru", {}), ("gru", {"go_backwards": True}),
            ("gru", {"reset_after": False}), ("simple_rnn", {}), ("simple_rnn", {"go_backwards": True})]


@pytest.mark.parametrize("op,cfg", MASK_OPS, ids=[f"{o}{'_backwards' if c.get('go_backwards') else ''}"
                                                  f"{'_reset_before' if c.get('reset_after') is False else ''}"
                                                  for o, c in MASK_OPS])
def test_right_padded_masked_batch_gives_the_final_state_of_each_unpadded_sequence(op, cfg):
    rng = numpy.random.default_rng(3)
    n, t, f, u = 3, 5, 2, 3
    lengths = [5, 3, 1]
    arrs = _arrays(op, cfg, (n, t, f, u), rng)
    x = arrs[0].copy()
    mask = numpy.arange(t)[None, :] < numpy.array(lengths)[:, None]
    x[~mask] = 123.0  # garbage in the padding must not matter
    fn = getattr(recurrent, op)
    n_states = 2 if op == "lstm" else 1
    weights = arrs[1 + n_states:]

    def run(x_, states):
        return fn(x_, *states, *weights, mask=None if x_ is not x else mask, **cfg)

    padded = run(x, [a for a in arrs[1:1 + n_states]])
    for j, length in enumerate(lengths):
        alone = run(x[j:j + 1, :length], [a[j:j + 1] for a in arrs[1:1 + n_states]])
        for k in range(1, 1 + n_states):  # the final states
            numpy.testing.assert_allclose(padded[k].numpy()[j], alone[k].numpy()[0], rtol=1e-12, atol=1e-12)
        if not cfg.get("go_backwards"):  # the outputs of the real steps, then the last one repeated
            seq = padded[0].numpy()[j]
            numpy.testing.assert_allclose(seq[:length], alone[0].numpy()[0], rtol=1e-12, atol=1e-12)
            numpy.testing.assert_allclose(seq[length:], numpy.broadcast_to(seq[length - 1], seq[length:].shape))


def test_float32_in_float32_out_and_no_float64_leak():
    rng = numpy.random.default_rng(0)
    for op, cfg in [("lstm", {}), ("gru", {}), ("gru", {"reset_after": False}), ("simple_rnn", {})]:
        arrs = [a.astype(numpy.float32) for a in _arrays(op, cfg, (2, 3, 2, 2), rng)]
        ts = [nk.Tensor(a, requires_grad=True) for a in arrs]
        res = _nk_fn(op, cfg, None)(*ts)
        assert res.dtype == numpy.float32
        res.backward(numpy.ones(res.shape, numpy.float32))
        assert all(t.grad.dtype == numpy.float32 for t in ts), op


def test_initial_states_default_to_zeros_and_bad_shapes_name_the_argument():
    rng = numpy.random.default_rng(0)
    x, h0, c0, w, r, b = _arrays("lstm", {}, (2, 3, 2, 2), rng)
    zeros = numpy.zeros_like(h0)
    a = recurrent.lstm(x, None, None, w, r, b)
    z = recurrent.lstm(x, zeros, zeros, w, r, b)
    numpy.testing.assert_array_equal(a[0].numpy(), z[0].numpy())
    with pytest.raises(ValueError, match="recurrent_kernel"):
        recurrent.lstm(x, None, None, w, r[:, :6], b)
    with pytest.raises(ValueError, match="bias"):
        recurrent.gru(x, None, w[:, :6], r[:, :6], b[:6])  # reset_after wants (2, 3U)
    with pytest.raises(ValueError, match="mask"):
        recurrent.simple_rnn(x, None, w[:, :2], r[:, :2], mask=numpy.ones((2, 4), bool))
    with pytest.raises(NotImplementedError, match="activation"):
        recurrent.lstm(x, None, None, w, r, b, activation="gelu")


def test_only_the_inputs_that_need_gradients_get_them():
    rng = numpy.random.default_rng(0)
    x, h0, w, r, b = _arrays("gru", {}, (2, 3, 2, 2), rng)
    wt = nk.Tensor(w, requires_grad=True)
    out, h = recurrent.gru(nk.Tensor(x), nk.Tensor(h0), wt, nk.Tensor(r), nk.Tensor(b))
    ops.sum(h).backward()
    assert wt.grad.shape == w.shape


@pytest.mark.parametrize("dtype,units", [("float32", 16), ("float64", 3)])  # the C time loop; the compiled cells
@pytest.mark.parametrize("cfg", [{}, {"return_sequences": False}, {"zero_output_for_mask": True},
                                 {"go_backwards": True}], ids=["seq", "last", "zero_output", "backwards"])
def test_lstm_inference_with_a_right_padding_mask_equals_the_masked_steps(dtype, units, cfg, monkeypatch):
    # without a gradient to follow, a mask that only cuts sequences short runs the unmasked loop and freezes
    # each row's states after its length: the result must be the per-step masked computation's
    rng = numpy.random.default_rng(5)
    n, t, f = 4, 7, 5
    arrs = [a.astype(dtype) for a in _arrays("lstm", {}, (n, t, f, units), rng)]
    lengths = numpy.array([7, 4, 1, 0])
    holes = rng.random((n, t)) < 0.6
    frozen = []
    real_freeze = recurrent._freeze_after
    monkeypatch.setattr(recurrent, "_freeze_after", lambda *a: frozen.append(1) or real_freeze(*a))
    for mask in (numpy.arange(t)[None, :] < lengths[:, None], holes):
        arrs[0][~mask] = 50.0  # large values in the padding: they must not leak into any state
        stepwise = [r.numpy() for r in recurrent.lstm(*arrs, mask=mask, **cfg)]  # gradients enabled: step by step
        frozen.clear()
        with nk.autograd.no_grad():
            fast = [r.numpy() for r in recurrent.lstm(*arrs, mask=mask, **cfg)]
        prefix = mask is not holes and not cfg.get("go_backwards")
        assert bool(frozen) == (prefix and recurrent.kernels.enabled()), (cfg, mask is holes, len(frozen))
        tol = 1e-5 if dtype == "float32" else 1e-12
        for a, b in zip(fast, stepwise):
            numpy.testing.assert_allclose(a, b, rtol=tol, atol=tol)

"""Whole-sequence recurrent ops (LSTM, GRU, SimpleRNN) with hand-written backpropagation through time.

Each op is one :class:`~neuronka.autograd.Function` over the whole sequence. Layouts and gate
orders are Keras 3's: ``kernel`` (F, k·U), ``recurrent_kernel`` (U, k·U), gates LSTM i, f, c, o
and GRU z, r, h.

How the work is arranged (the same in all three):

* Time-major buffers in *processing order* (reversed when ``go_backwards``), so that every
  per-step array is one contiguous (N, ·) block.
* Forward: ``x @ kernel + bias`` for all time steps in one matmul up front; per step one matmul
  with the recurrent kernel and a handful of in-place ufuncs on preallocated buffers.
* Backward: per step one matmul with ``recurrent_kernelᵀ`` for the recurrent term; the
  pre-activation gradients of all steps are kept, and dkernel, drecurrent_kernel, dbias and dx
  each come from one matmul (or one sum) at the end.
* A sigmoid σ(z) is computed as 1/(1 + e^(−z)) from a negated pre-activation: the columns of the
  kernels and bias that feed a sigmoid are negated once per call (``recurrent_activations._Act.prescale``), so a step
  costs one ``exp`` over all the σ gates (no cancellation for very negative z, unlike ½tanh(z/2) + ½).
  Inside the LSTM the gate columns are reordered to (i, f, o, c) so the σ gates are one block.

Masking follows Keras 3 (``keras.src.backend.{jax,numpy}.rnn``): at a masked step (mask False)
the states are carried over unchanged and the output is the carried state h_{t-1} (h0 for
leading masked steps), or zero when ``zero_output_for_mask``. ``go_backwards`` processes the
sequence from the last step to the first and returns the outputs in that (reversed) order.

Each public function returns a tuple of Tensors; inside, the op produces one packed array
(N, K + S, U) (K output steps, then the S final states) that is sliced into the results.
"""
from __future__ import annotations

import ctypes

import numpy

from ..autograd import Function, Tensor, _as_array, is_grad_enabled
from ..backend import get_array_module
from . import kernels
from .math import getitem
from .recurrent_activations import _ACTS, _get_act

# ----------------------------------------------------------------------------------
# shared preparation
# ----------------------------------------------------------------------------------


def _time_major(xp, x, go_backwards):
    """x (N, T, F) → contiguous (T, N, F) in processing order."""
    if go_backwards:
        x = x[:, ::-1]
    return xp.ascontiguousarray(x.transpose(1, 0, 2))


def _from_time_major(xp, a, go_backwards):
    """(T, N, F) in processing order → contiguous (N, T, F) in the input's order."""
    a = a.transpose(1, 0, 2)
    if go_backwards:
        a = a[:, ::-1]
    return xp.ascontiguousarray(a)


def _prepare_mask(xp, mask, n, t, op):
    """A mask (N, T) or (N, T, 1) → (keep (T, N, 1) bool, drop = ~keep), unreversed; or None."""
    if mask is None:
        return None
    m = _as_array(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.shape != (n, t):
        raise ValueError(f"{op}: expected mask of shape {(n, t)} (batch, timesteps), received shape {m.shape}")
    return xp.asarray(m).astype(bool)


def _col_scale(xp, dtype, blocks, u):
    """Per-column prescale factors for gate blocks, or None if all are 1."""
    if all(a.prescale == 1.0 for a in blocks):
        return None
    return xp.concatenate([xp.full(u, a.prescale, dtype=dtype) for a in blocks])


class _Recurrence(Function):
    """Shared set-up: mask in processing order, output packing, dO per step."""

    def _setup(self, x):
        xp = get_array_module(x)
        n, t = x.shape[0], x.shape[1]
        self.xp, self.n, self.t = xp, n, t
        if self.mask is not None:
            m = self.mask[:, ::-1] if self.go_backwards else self.mask
            keep = xp.ascontiguousarray(m.T)[:, :, None]  # (T, N, 1) processing order
            self.keep, self.drop = keep, ~keep
            self.keep_f = keep.astype(x.dtype)
        else:
            self.keep = self.drop = self.keep_f = None
        return xp

    def _pack(self, hb, states):
        """[outputs (N, K, U) | final states] as one (N, K + S, U) array."""
        xp, t, n = self.xp, self.t, self.n
        u = hb.shape[-1]
        k = t if self.return_sequences else 1
        out = xp.empty((n, k + len(states), u), dtype=hb.dtype)
        if self.return_sequences:
            out[:, :t] = hb[1:].transpose(1, 0, 2)
            if self.zero_output_for_mask and self.keep is not None:
                out[:, :t] *= self.keep_f.transpose(1, 0, 2)
        else:
            out[:, 0] = hb[t]
            if self.zero_output_for_mask and self.keep is not None:
                out[:, 0] *= self.keep_f[t - 1]
        for j, s in enumerate(states):
            out[:, k + j] = s
        return out

    def _unpack_grad(self, gy, n_states):
        """gy (N, K + S, U) → (output gradients (T, N, U) in processing order or None, final-state gradients)."""
        xp = self.xp
        k = self.t if self.return_sequences else 1
        dstates = [xp.array(gy[:, k + j]) for j in range(n_states)]
        if self.return_sequences:
            dout = gy[:, : self.t].transpose(1, 0, 2)  # (T, N, U) view, processing order
        else:
            dout = None
            g_last = gy[:, 0]
            if self.zero_output_for_mask and self.keep is not None:
                g_last = g_last * self.keep_f[self.t - 1]
            dstates[0] += g_last
        return dout, dstates

    def _add_dout(self, dh, dout, s, tmp):
        if dout is None:
            return
        if self.zero_output_for_mask and self.keep is not None:
            self.xp.multiply(dout[s], self.keep_f[s], out=tmp)
            dh += tmp
        else:
            dh += dout[s]


def _fused_cell(a, act, ract) -> bool:
    """Whether an LSTM step runs through the compiled cell kernels: tanh / sigmoid (Keras's defaults), no
    mask (checked by the caller), NumPy arrays of a float dtype, kernels on. The gates are the same, σ
    computed as ½·tanh(z/2) + ½ (one tanh call for all four gates; absolute error below float32's 6e-8 where
    σ underflows, where the NumPy steps' 1/(1 + e^(−z)) keeps relative accuracy);
    tests/test_kernels.py compares the two paths."""
    return (kernels.enabled() and act.name == "tanh" and ract.name == "sigmoid" and type(a) is numpy.ndarray
            and a.dtype in kernels._FLOATS)


_C_LOOPS = None  # (LSTM forward, backward, sgemm address, 64-bit ints, lanes, GRU forward, backward); False: none


def _c_loops(a, u: int, cell: str = "lstm"):
    """The C time loops of ``_recurrent.c`` (``cell`` "lstm" or "gru") for this array and unit count, as
    (forward, backward, sgemm address, 64-bit ints), or None: float32 NumPy arrays, units a multiple of the C
    code's vector lanes, the compiled library and NumPy's BLAS GEMM found, the compiled kernels switched on
    (``kernels.set_enabled``; the caller has checked the rest: activations, masks).

    One call runs all T steps (one GEMM through BLAS's pointer, then one pass over the gates, per step): no
    Python per step. Measured (``benchmarks/paths.py --only lstm``, batch 64, 100 steps, 128 units): forward
    16.8 against 19.8 ms with the Numba cells, forward + backward 42.6 against 47.1. Splitting the batch
    rows over two threads, each running the whole loop, was slower (forward + backward 60.4 against 53.3
    ms with the Numba cells): at 32 rows the per-step GEMMs lose much of their efficiency."""
    global _C_LOOPS
    if _C_LOOPS is None:
        from . import blas, native  # noqa: PLC0415

        i64, ptr, c_int = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
        lanes = native.function("lstm_lanes", [], c_int)
        address = blas.gemm_address(numpy.float32)
        if lanes is None or address is None:
            _C_LOOPS = False
        else:
            fwd = native.function("lstm_forward_f32", [ptr, c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr])
            bwd = native.function("lstm_backward_f32", [ptr, c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr,
                                                        i64, i64, ptr, ptr, ptr])
            gru_fwd = native.function("gru_forward_f32", [ptr, c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr,
                                                          ptr])
            gru_bwd = native.function("gru_backward_f32", [ptr, c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr,
                                                           i64, i64, ptr, ptr, ptr])
            _C_LOOPS = (fwd, bwd, address[0], int(address[1]), lanes(), gru_fwd, gru_bwd)
    if not _C_LOOPS or type(a) is not numpy.ndarray or a.dtype != numpy.float32 or u % _C_LOOPS[4] \
            or not kernels.enabled():
        return None
    if cell == "gru":
        return (_C_LOOPS[5], _C_LOOPS[6], _C_LOOPS[2], _C_LOOPS[3]) if _C_LOOPS[5] is not None else None
    return _C_LOOPS[:4]


def _check_native_arrays(*arrays) -> None:
    """The C loops read and write raw memory: every array must be C-contiguous float32."""
    for a in arrays:
        if a.dtype != numpy.float32 or not a.flags.c_contiguous:
            raise RuntimeError(f"recurrent ops: the C time loops need C-contiguous float32 arrays, found {a.dtype} "
                               f"{a.shape} (contiguous: {a.flags.c_contiguous})")


def _prefix_lengths(xp, keep):
    """Each row's number of kept steps when the mask keep (T, N, 1), in processing order, keeps a prefix of
    every row (True … True False … False: right padding); else None."""
    if keep is None:
        return None
    k = keep[:, :, 0]
    lengths = k.sum(axis=0)
    return lengths if bool((k == (xp.arange(k.shape[0])[:, None] < lengths[None, :])).all()) else None


def _freeze_after(xp, states, lengths):
    """states (T + 1, N, U) of an unmasked loop → those of the masked one for prefix masks: row i keeps
    states[lengths[i]] from step lengths[i] on (a masked step carries its state over)."""
    steps = xp.minimum(xp.arange(states.shape[0])[:, None], lengths[None, :])
    return states[steps, xp.arange(states.shape[1])[None, :]]


def _sum_rows(xp, a2):
    """Σ over the rows of a 2-D array (a matrix-vector product: much faster than .sum(0) for few columns)."""
    return xp.ones(a2.shape[0], dtype=a2.dtype) @ a2


# ----------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------


class LSTM(_Recurrence):
    """i = σ(x W_i + h U_i + b_i), f = σ(·_f), c̃ = A(·_c), o = σ(·_o) (σ = recurrent_activation);
    c_t = f ⊙ c_{t−1} + i ⊙ c̃, h_t = o ⊙ A(c_t).

    Inside, the gate columns are reordered from Keras's (i, f, c, o) to (i, f, o, c) so that the
    three σ gates are one contiguous block (one activation call per step) and c̃ another.
    """

    def forward(self, x, h0, c0, w, r, *b):
        xp = self._setup(x)
        act, ract = self.act, self.ract
        dt = x.dtype
        t, n = self.t, self.n
        u = r.shape[0]
        self.u = u
        perm = numpy.r_[0 : 2 * u, 3 * u : 4 * u, 2 * u : 3 * u]  # (i, f, c, o) → (i, f, o, c)
        self.perm = perm
        w, r = w[:, perm], r[:, perm]
        # a mask that only cuts each sequence short (right padding) needs no per-step masking where no gradient
        # follows: the unmasked loop, then each row's states frozen after its length (gathered below)
        lengths = _prefix_lengths(xp, self.keep) if getattr(self, "inference", False) else None
        self.fused = fused = (self.keep is None or lengths is not None) and _fused_cell(x, act, ract)
        if not fused:
            lengths = None
        if fused:  # σ(z) = ½·tanh(z/2) + ½: one tanh over all four gates, the σ columns arriving halved
            scale = xp.concatenate([xp.full(3 * u, 0.5, dtype=dt), xp.ones(u, dtype=dt)])
        else:
            scale = _col_scale(xp, dt, (ract, ract, ract, act), u)
        ws, rs = (w, r) if scale is None else (w * scale, r * scale)
        xt = _time_major(xp, x, self.go_backwards)
        if b:  # all x W + b at once, the bias as one more row of W against a column of ones (no extra pass)
            bs = b[0][perm] if scale is None else b[0][perm] * scale
            x1 = xp.concatenate([xt.reshape(t * n, -1), xp.ones((t * n, 1), dtype=dt)], axis=1)
            g_all = (x1 @ xp.concatenate([ws, bs.reshape(1, -1).astype(ws.dtype, copy=False)])).reshape(t, n, 4 * u)
        else:
            g_all = (xt.reshape(t * n, -1) @ ws).reshape(t, n, 4 * u)  # all x W at once
        hb = xp.empty((t + 1, n, u), dtype=dt)  # hb[s] = h before step s; hb[s+1] = after
        cb = xp.empty((t + 1, n, u), dtype=dt)
        tc = xp.empty((t, n, u), dtype=dt)  # A(c_t) as computed (before the mask's carry)
        hb[0], cb[0] = h0, c0
        tmp = xp.empty((n, 4 * u), dtype=dt)
        ig = xp.empty((n, u), dtype=dt)
        keep, drop = self.keep, self.drop
        if fused and (loops := _c_loops(x, u)) is not None:  # the whole time loop in C
            rs = numpy.ascontiguousarray(rs)
            _check_native_arrays(g_all, rs, hb, cb, tc)
            fwd, _, sgemm, ilp64 = loops

            fwd(sgemm, ilp64, t, n, n, u, g_all.ctypes.data, rs.ctypes.data, hb.ctypes.data, cb.ctypes.data,
                tc.ctypes.data)
            self.c_loops = True
            if lengths is not None:
                hb, cb = _freeze_after(xp, hb, lengths), _freeze_after(xp, cb, lengths)
            self.xt, self.w, self.r, self.g_all, self.hb, self.cb, self.tc = xt, w, r, g_all, hb, cb, tc
            return self._pack(hb, (hb[t], cb[t]))
        self.c_loops = False
        with numpy.errstate(over="ignore"):
            for s in range(t):
                g = g_all[s]
                xp.matmul(hb[s], rs, out=tmp)
                g += tmp
                if fused:  # the same gates, with σ and the cell update in one compiled pass
                    xp.tanh(g, out=g)  # tanh(z/2) for i, f, o; c̃ = tanh(z)
                    kernels.lstm_cell(g, cb[s], cb[s + 1], u)  # σ = ½·tanh(z/2) + ½; c = f ⊙ c_{t−1} + i ⊙ c̃
                    xp.tanh(cb[s + 1], out=tc[s])
                    xp.multiply(g[:, 2 * u : 3 * u], tc[s], out=hb[s + 1])  # h = o ⊙ A(c)
                    continue
                ract.fwd(xp, g[:, : 3 * u])  # i, f, o
                act.fwd(xp, g[:, 3 * u :])  # c̃
                c = cb[s + 1]
                xp.multiply(g[:, u : 2 * u], cb[s], out=c)  # f ⊙ c_{t−1}
                xp.multiply(g[:, :u], g[:, 3 * u :], out=ig)  # i ⊙ c̃
                c += ig
                act.apply_to(xp, c, tc[s])
                h = hb[s + 1]
                xp.multiply(g[:, 2 * u : 3 * u], tc[s], out=h)  # o ⊙ A(c)
                if keep is not None:  # masked step: carry the states
                    xp.copyto(c, cb[s], where=drop[s])
                    xp.copyto(h, hb[s], where=drop[s])
        if lengths is not None:
            hb, cb = _freeze_after(xp, hb, lengths), _freeze_after(xp, cb, lengths)
        self.xt, self.w, self.r, self.g_all, self.hb, self.cb, self.tc = xt, w, r, g_all, hb, cb, tc
        return self._pack(hb, (hb[t], cb[t]))

    def backward(self, gy):
        xp, t, n, u = self.xp, self.t, self.n, self.u
        act, ract = self.act, self.ract
        dt = gy.dtype
        dout, (dh, dc) = self._unpack_grad(gy, 2)
        g_all, cb, tc = self.g_all, self.cb, self.tc
        rt = xp.ascontiguousarray(self.r.T)
        dz_all = xp.empty((t, n, 4 * u), dtype=dt)  # dL/d(pre-activations), processing order, (i, f, o, c)
        t1 = xp.empty((n, u), dtype=dt)
        td = xp.empty((n, 4 * u), dtype=dt)
        dh2 = xp.empty((n, u), dtype=dt)
        keep, drop, keep_f = self.keep, self.drop, self.keep_f
        if self.c_loops and gy.dtype == numpy.float32 and (dout is None or dout.strides[2] == 4):
            _check_native_arrays(g_all, cb, tc, rt, dh, dc, dz_all)
            _, bwd, sgemm, ilp64 = _c_loops(gy, u)
            ds, dn = (0, 0) if dout is None else (dout.strides[0] // 4, dout.strides[1] // 4)

            bwd(sgemm, ilp64, t, n, n, u, g_all.ctypes.data, cb.ctypes.data, tc.ctypes.data, rt.ctypes.data,
                None if dout is None else dout.ctypes.data, ds, dn, dh.ctypes.data, dc.ctypes.data,
                dz_all.ctypes.data)
            return self._weight_grads(dz_all, dh, dc)
        for s in range(t - 1, -1, -1):
            self._add_dout(dh, dout, s, t1)
            g, tcs, dz = g_all[s], tc[s], dz_all[s]
            if self.fused:  # every elementwise step below in one compiled pass, then the recurrent product
                kernels.lstm_cell_grad(g, tcs, cb[s], dh, dc, dz, u)
                xp.matmul(dz, rt, out=dh)
                continue
            i, f, o, cc = g[:, :u], g[:, u : 2 * u], g[:, 2 * u : 3 * u], g[:, 3 * u :]
            xp.multiply(dh, tcs, out=dz[:, 2 * u : 3 * u])  # dL/do = dh ⊙ A(c)
            act.deriv(xp, tcs, t1)  # dc += dh ⊙ o ⊙ A'(c)
            t1 *= o
            t1 *= dh
            if keep is not None:
                t1 *= keep_f[s]
            dc += t1
            xp.multiply(dc, cc, out=dz[:, :u])  # dL/di = dc ⊙ c̃
            xp.multiply(dc, cb[s], out=dz[:, u : 2 * u])  # dL/df = dc ⊙ c_{t−1}
            xp.multiply(dc, i, out=dz[:, 3 * u :])  # dL/dc̃ = dc ⊙ i
            # through the activations: dz = d(gate) ⊙ A'(pre-activation), A' from the gate values
            ract.deriv(xp, g[:, : 3 * u], td[:, : 3 * u])
            act.deriv(xp, cc, td[:, 3 * u :])
            dz *= td
            if keep is None:
                dc *= f  # dL/dc_{t−1} = dc ⊙ f
                xp.matmul(dz, rt, out=dh)  # dL/dh_{t−1} = dz Uᵀ
            else:  # masked rows: no gate gradient, dh and dc pass through unchanged
                dz *= keep_f[s]
                xp.multiply(dc, f, out=dc, where=keep[s])
                xp.matmul(dz, rt, out=dh2)
                xp.copyto(dh2, dh, where=drop[s])
                dh, dh2 = dh2, dh
        return self._weight_grads(dz_all, dh, dc)

    def _weight_grads(self, dz_all, dh, dc):
        xp, t, n = self.xp, self.t, self.n
        need = [inp.requires_grad for inp in self.inputs]
        dz2 = dz_all.reshape(t * n, -1)
        inv = numpy.argsort(self.perm)  # back to Keras's (i, f, c, o) columns
        dx = dw = dr = db = None
        if need[0]:  # dL/dx = dz Wᵀ
            dx = _from_time_major(xp, (dz2 @ self.w.T).reshape(t, n, -1), self.go_backwards)
        x2, h2 = self.xt.reshape(t * n, -1), self.hb[:t].reshape(t * n, -1)
        need_b = len(need) > 5 and need[5]
        if need[3] and need[4]:
            # dL/dW = Σ_t x_tᵀ dz_t, dL/dU = Σ_t h_{t−1}ᵀ dz_t and dL/db = Σ_t dz_t as one product
            # [x_t | h_{t−1} | 1]ᵀ dz_t: at T·N = 6400, 4.1 ms against 1.6 + 4.2 + 0.35 for the three
            parts = [x2, h2] + ([xp.ones((t * n, 1), dtype=dz2.dtype)] if need_b else [])
            both = xp.concatenate(parts, axis=1).T @ dz2
            f, fu = x2.shape[1], x2.shape[1] + h2.shape[1]
            dw, dr = both[:f][:, inv], both[f:fu][:, inv]
            db = both[fu][inv] if need_b else None
        else:
            if need[3]:  # dL/dW = Σ_t x_tᵀ dz_t
                dw = (x2.T @ dz2)[:, inv]
            if need[4]:  # dL/dU = Σ_t h_{t−1}ᵀ dz_t
                dr = (h2.T @ dz2)[:, inv]
            if need_b:  # dL/db = Σ_t dz_t
                db = _sum_rows(xp, dz2)[inv]
        return (dx, dh, dc, dw, dr, db)[: len(need)]


# ----------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------


class GRU(_Recurrence):
    """z = σ(x W_z + h U_z + b_z), r = σ(·_r),
    reset_after: h̃ = A(x W_h + b_ih + r ⊙ (h U_h + b_hh)); else h̃ = A(x W_h + (r ⊙ h) U_h + b_h);
    h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃."""

    def forward(self, x, h0, w, r, *b):
        xp = self._setup(x)
        act, ract = self.act, self.ract
        dt = x.dtype
        t, n = self.t, self.n
        u = r.shape[0]
        self.u = u
        self.c_loops = False
        loops = self._c_loops_for(xp, x, u)
        if loops is not None:
            return self._forward_c(xp, x, h0, w, r, b, loops)
        scale = _col_scale(xp, dt, (ract, ract, _ACTS["linear"]), u)  # only z, r are prescaled
        ws, rs = (w, r) if scale is None else (w * scale, r * scale)
        xt = _time_major(xp, x, self.go_backwards)
        g_all = (xt.reshape(t * n, -1) @ ws).reshape(t, n, 3 * u)
        b_in = b_rec = None
        if b:
            if self.reset_after:
                b_in, b_rec = b[0][0], b[0][1]
                if scale is not None:
                    b_rec = b_rec * scale
            else:
                b_in = b[0]
            g_all += b_in if scale is None else b_in * scale
        hb = xp.empty((t + 1, n, u), dtype=dt)
        hb[0] = h0
        aux = xp.empty((t, n, u), dtype=dt)  # reset_after: h U_h + b_hh; else r ⊙ h
        t1 = xp.empty((n, u), dtype=dt)
        keep, drop = self.keep, self.drop
        if self.reset_after:
            mi = xp.empty((n, 3 * u), dtype=dt)
        else:
            rs_zr, r_h = xp.ascontiguousarray(rs[:, : 2 * u]), xp.ascontiguousarray(r[:, 2 * u :])
            mi = xp.empty((n, 2 * u), dtype=dt)
        with numpy.errstate(over="ignore"):  # e^(−z) → inf in σ is fine
            for s in range(t):
                g = g_all[s]
                hp = hb[s]
                if self.reset_after:
                    xp.matmul(hp, rs, out=mi)
                    if b_rec is not None:
                        mi += b_rec
                    aux[s] = mi[:, 2 * u :]
                else:
                    xp.matmul(hp, rs_zr, out=mi)
                zr = g[:, : 2 * u]
                zr += mi[:, : 2 * u]
                ract.fwd(xp, zr)
                z, rg, hh = g[:, :u], g[:, u : 2 * u], g[:, 2 * u :]
                if self.reset_after:
                    xp.multiply(rg, aux[s], out=t1)  # r ⊙ (h U_h + b_hh)
                else:
                    xp.multiply(rg, hp, out=aux[s])  # (r ⊙ h) U_h
                    xp.matmul(aux[s], r_h, out=t1)
                hh += t1
                act.fwd_raw(xp, hh)
                h = hb[s + 1]
                xp.subtract(hp, hh, out=h)  # h = h̃ + z ⊙ (h_{t−1} − h̃)
                h *= z
                h += hh
                if keep is not None:
                    xp.copyto(h, hp, where=drop[s])
        self.xt, self.w, self.r, self.g_all, self.hb, self.aux = xt, w, r, g_all, hb, aux
        return self._pack(hb, (hb[t],))

    def _c_loops_for(self, xp, x, u):
        """The C loops where they apply: reset_after (Keras's default) with tanh / sigmoid, float32, and no
        mask — or, where no gradient follows, a mask that only cuts sequences short (frozen afterwards)."""
        if not (self.reset_after and self.act.name == "tanh" and self.ract.name == "sigmoid"):
            return None
        self.lengths = _prefix_lengths(xp, self.keep) if getattr(self, "inference", False) else None
        if self.keep is not None and self.lengths is None:
            return None
        return _c_loops(x, u, "gru")

    def _forward_c(self, xp, x, h0, w, r, b, loops):
        """The whole time loop in one C call (``gru_forward_f32``); σ(z) = ½·tanh(z/2) + ½, so the z and r
        columns of the kernels and biases are halved once here."""
        t, n, u, dt = self.t, self.n, self.u, x.dtype
        scale = xp.concatenate([xp.full(2 * u, 0.5, dtype=dt), xp.ones(u, dtype=dt)])
        xt = _time_major(xp, x, self.go_backwards)
        g_all = (xt.reshape(t * n, -1) @ (w * scale)).reshape(t, n, 3 * u)
        if b:
            g_all += b[0][0] * scale
            b_rec = xp.ascontiguousarray(b[0][1] * scale)
        else:
            b_rec = xp.zeros(3 * u, dtype=dt)
        rs = xp.ascontiguousarray(r * scale)
        hb = xp.empty((t + 1, n, u), dtype=dt)
        hb[0] = h0
        aux = xp.empty((t, n, u), dtype=dt)  # h U_h + b_hh per step
        scratch = xp.empty((n, 3 * u), dtype=dt)
        _check_native_arrays(g_all, rs, b_rec, hb, aux, scratch)
        fwd, _, sgemm, ilp64 = loops
        fwd(sgemm, ilp64, t, n, n, u, g_all.ctypes.data, rs.ctypes.data, b_rec.ctypes.data, hb.ctypes.data,
            aux.ctypes.data, scratch.ctypes.data)
        self.c_loops = True
        if self.lengths is not None:
            hb = _freeze_after(xp, hb, self.lengths)
        self.xt, self.w, self.r, self.g_all, self.hb, self.aux = xt, w, r, g_all, hb, aux
        return self._pack(hb, (hb[t],))

    def _backward_c(self, dout, dh, loops):
        xp, t, n, u = self.xp, self.t, self.n, self.u
        rt = xp.ascontiguousarray(self.r.T)
        dxg = xp.empty((t, n, 3 * u), dtype=numpy.float32)
        dm = xp.empty((t, n, 3 * u), dtype=numpy.float32)
        _check_native_arrays(self.g_all, self.hb, self.aux, rt, dh, dxg, dm)
        _, bwd, sgemm, ilp64 = loops
        ds, dn = (0, 0) if dout is None else (dout.strides[0] // 4, dout.strides[1] // 4)
        bwd(sgemm, ilp64, t, n, n, u, self.g_all.ctypes.data, self.hb.ctypes.data, self.aux.ctypes.data,
            rt.ctypes.data, None if dout is None else dout.ctypes.data, ds, dn, dh.ctypes.data, dxg.ctypes.data,
            dm.ctypes.data)
        return self._weight_grads(dxg, dm, dh)

    def backward(self, gy):
        xp, t, n, u = self.xp, self.t, self.n, self.u
        act, ract = self.act, self.ract
        dt = gy.dtype
        dout, (dh,) = self._unpack_grad(gy, 1)
        if self.c_loops and (dout is None or dout.strides[2] == 4) \
                and (loops := _c_loops(gy, u, "gru")) is not None:  # float32 NumPy, kernels on
            return self._backward_c(dout, dh, loops)
        g_all, hb, aux, r = self.g_all, self.hb, self.aux, self.r
        t1 = xp.empty((n, u), dtype=dt)
        t2 = xp.empty((n, 2 * u), dtype=dt)
        dh2 = xp.empty((n, u), dtype=dt)
        keep, drop, keep_f = self.keep, self.drop, self.keep_f
        # dxg: dL/d(x-side pre-activations) [z, r, h]; reset_after also keeps dm: dL/d(h U + b_hh)
        dxg = xp.empty((t, n, 3 * u), dtype=dt)
        if self.reset_after:
            dm = xp.empty((t, n, 3 * u), dtype=dt)
            rt = xp.ascontiguousarray(r.T)
        else:
            rt_zr, rt_h = xp.ascontiguousarray(r[:, : 2 * u].T), xp.ascontiguousarray(r[:, 2 * u :].T)
            drh = xp.empty((n, u), dtype=dt)
        for s in range(t - 1, -1, -1):
            self._add_dout(dh, dout, s, t1)
            g, hp, dx_s = g_all[s], hb[s], dxg[s]
            z, rg, hh = g[:, :u], g[:, u : 2 * u], g[:, 2 * u :]
            ract.deriv(xp, g[:, : 2 * u], t2)  # σ'(z), σ'(r)
            # dL/dz_pre = dh ⊙ (h_{t−1} − h̃) ⊙ σ'
            xp.subtract(hp, hh, out=t1)
            t1 *= dh
            xp.multiply(t1, t2[:, :u], out=dx_s[:, :u])
            # dL/dh̃_pre = dh ⊙ (1 − z) ⊙ A'
            act.deriv(xp, hh, t1)
            dhp = dx_s[:, 2 * u :]
            xp.subtract(1.0, z, out=dhp)
            dhp *= t1
            dhp *= dh
            if keep is not None:  # masked rows: no gate gradient (the r block follows from the h̃ block)
                dx_s[:, :u] *= keep_f[s]
                dhp *= keep_f[s]
            if self.reset_after:
                dm_s = dm[s]
                # dL/dr_pre = dh̃_pre ⊙ (h U_h + b_hh) ⊙ σ'(r); dL/d(h U_h + b_hh) = dh̃_pre ⊙ r
                xp.multiply(dhp, aux[s], out=t1)
                xp.multiply(t1, t2[:, u:], out=dx_s[:, u : 2 * u])
                dm_s[:, : 2 * u] = dx_s[:, : 2 * u]
                xp.multiply(dhp, rg, out=dm_s[:, 2 * u :])
                xp.matmul(dm_s, rt, out=dh2)  # dL/dh_{t−1} = dm Uᵀ + dh ⊙ z
            else:
                # d(r ⊙ h) = dh̃_pre U_hᵀ; dL/dr_pre = d(r ⊙ h) ⊙ h_{t−1} ⊙ σ'(r)
                xp.matmul(dhp, rt_h, out=drh)
                xp.multiply(drh, hp, out=t1)
                xp.multiply(t1, t2[:, u:], out=dx_s[:, u : 2 * u])
                xp.matmul(dx_s[:, : 2 * u], rt_zr, out=dh2)  # dL/dh_{t−1} = dzr U_zrᵀ + d(r⊙h) ⊙ r + dh ⊙ z
                drh *= rg
                dh2 += drh
            xp.multiply(dh, z, out=t1)
            dh2 += t1
            if keep is not None:
                xp.copyto(dh2, dh, where=drop[s])
            dh, dh2 = dh2, dh
        return self._weight_grads(dxg, dm if self.reset_after else None, dh)

    def _weight_grads(self, dxg, dm, dh):
        xp, t, n, u = self.xp, self.t, self.n, self.u
        need = [inp.requires_grad for inp in self.inputs]
        dx2 = dxg.reshape(t * n, -1)
        dx = dw = dr = db = None
        if need[0]:
            dx = _from_time_major(xp, (dx2 @ self.w.T).reshape(t, n, -1), self.go_backwards)
        if need[2]:
            dw = self.xt.reshape(t * n, -1).T @ dx2
        hp2 = self.hb[:t].reshape(t * n, -1)
        if need[3]:
            if self.reset_after:  # dL/dU = Σ h_{t−1}ᵀ dm
                dr = hp2.T @ dm.reshape(t * n, -1)
            else:  # dL/dU_zr = Σ h_{t−1}ᵀ dzr, dL/dU_h = Σ (r ⊙ h_{t−1})ᵀ dh̃_pre
                dr = xp.empty_like(self.r)
                dr[:, : 2 * u] = hp2.T @ dx2[:, : 2 * u]
                dr[:, 2 * u :] = self.aux.reshape(t * n, -1).T @ dx2[:, 2 * u :]
        if len(need) > 4 and need[4]:
            db_in = _sum_rows(xp, dx2)
            db = xp.stack([db_in, _sum_rows(xp, dm.reshape(t * n, -1))]) if self.reset_after else db_in
        return (dx, dh, dw, dr, db)[: len(need)]


# ----------------------------------------------------------------------------------
# SimpleRNN
# ----------------------------------------------------------------------------------


class SimpleRNN(_Recurrence):
    """h_t = A(x_t W + h_{t−1} U + b)."""

    def forward(self, x, h0, w, r, *b):
        xp = self._setup(x)
        act = self.act
        dt = x.dtype
        t, n = self.t, self.n
        u = r.shape[0]
        self.u = u
        p = act.prescale
        ws, rs = (w, r) if p == 1.0 else (w * p, r * p)
        xt = _time_major(xp, x, self.go_backwards)
        g_all = (xt.reshape(t * n, -1) @ ws).reshape(t, n, u)
        if b:
            g_all += b[0] if p == 1.0 else b[0] * p
        hb = xp.empty((t + 1, n, u), dtype=dt)
        hb[0] = h0
        tmp = xp.empty((n, u), dtype=dt)
        keep, drop = self.keep, self.drop
        with numpy.errstate(over="ignore"):  # e^(−z) → inf in σ is fine
            for s in range(t):
                g = g_all[s]
                xp.matmul(hb[s], rs, out=tmp)
                g += tmp
                act.fwd(xp, g)  # g_all keeps A(pre-activation) for A'
                h = hb[s + 1]
                h[...] = g
                if keep is not None:
                    xp.copyto(h, hb[s], where=drop[s])
        self.xt, self.w, self.r, self.g_all, self.hb = xt, w, r, g_all, hb
        return self._pack(hb, (hb[t],))

    def backward(self, gy):
        xp, t, n, u = self.xp, self.t, self.n, self.u
        dt = gy.dtype
        dout, (dh,) = self._unpack_grad(gy, 1)
        rt = xp.ascontiguousarray(self.r.T)
        dz_all = xp.empty((t, n, u), dtype=dt)
        t1 = xp.empty((n, u), dtype=dt)
        dh2 = xp.empty((n, u), dtype=dt)
        keep, drop, keep_f = self.keep, self.drop, self.keep_f
        for s in range(t - 1, -1, -1):
            self._add_dout(dh, dout, s, t1)
            dz = dz_all[s]
            self.act.deriv(xp, self.g_all[s], dz)  # dL/dpre = dh ⊙ A'
            dz *= dh
            if keep is None:
                xp.matmul(dz, rt, out=dh)  # dL/dh_{t−1} = dpre Uᵀ
            else:
                dz *= keep_f[s]
                xp.matmul(dz, rt, out=dh2)
                xp.copyto(dh2, dh, where=drop[s])
                dh, dh2 = dh2, dh
        need = [inp.requires_grad for inp in self.inputs]
        dz2 = dz_all.reshape(t * n, -1)
        dx = dw = dr = db = None
        if need[0]:
            dx = _from_time_major(xp, (dz2 @ self.w.T).reshape(t, n, -1), self.go_backwards)
        if need[2]:
            dw = self.xt.reshape(t * n, -1).T @ dz2
        if need[3]:
            dr = self.hb[:t].reshape(t * n, -1).T @ dz2
        if len(need) > 4 and need[4]:
            db = _sum_rows(xp, dz2)
        return (dx, dh, dw, dr, db)[: len(need)]


# ----------------------------------------------------------------------------------
# public functions
# ----------------------------------------------------------------------------------


def _arr(a):
    return a.data if isinstance(a, Tensor) else _as_array(a)


def _shape(a):
    return tuple(numpy.shape(_arr(a)))


def _check(op, name, a, expected):
    got = _shape(a)
    if got != tuple(expected):
        raise ValueError(f"{op}: expected {name} of shape {tuple(expected)}, received shape {got}")


def _initial_state(x, state, n, u, op, name):
    if state is None:
        xd = _arr(x)
        return Tensor(get_array_module(xd).zeros((n, u), dtype=xd.dtype))
    _check(op, name, state, (n, u))
    return state


def _common(op, x, kernel, recurrent_kernel, gates):
    sx = _shape(x)
    if len(sx) != 3:
        raise ValueError(f"{op}: expected x of rank 3 (batch, timesteps, features), received shape {sx}")
    n, t, f = sx
    if t == 0:
        raise ValueError(f"{op}: expected at least one time step, received x of shape {sx}")
    sr = _shape(recurrent_kernel)
    if len(sr) != 2 or sr[1] != gates * sr[0]:
        raise ValueError(f"{op}: expected recurrent_kernel of shape (units, {gates}·units), received shape {sr}")
    u = sr[0]
    _check(op, "kernel", kernel, (f, gates * u))
    return n, t, u


def _split(packed, t, return_sequences, n_states):
    """Slice the packed (N, K + S, U) result into outputs and the final states."""
    k = t if return_sequences else 1
    outs = getitem(packed, (slice(None), slice(0, t) if return_sequences else 0))
    states = [getitem(packed, (slice(None), k + j)) for j in range(n_states)]
    return (outs, *states)


def lstm(x, h0, c0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards: bool = False,
         activation="tanh", recurrent_activation="sigmoid", return_sequences: bool = True,
         zero_output_for_mask: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """A whole-sequence LSTM (Keras 3 layout); returns (outputs, h_T, c_T).

    i, f, c̃, o = σ(x W + h U + b) split in Keras's gate order (i, f, c, o) with σ =
    ``recurrent_activation`` on i, f, o and ``activation`` on c̃; c_t = f ⊙ c_{t−1} + i ⊙ c̃,
    h_t = o ⊙ activation(c_t). ``x`` (N, T, F), ``h0``/``c0`` (N, U) or None (zeros),
    ``kernel`` (F, 4U), ``recurrent_kernel`` (U, 4U), ``bias`` (4U,) or None. ``mask`` (N, T)
    bool: at a False step the states are carried over and the output repeats h_{t−1}.
    ``outputs`` is (N, T, U) in processing order (reversed if ``go_backwards``), or the last
    output (N, U) if not ``return_sequences``. Activations: tanh, sigmoid, relu, linear,
    hard_sigmoid.
    """
    op = "lstm"
    n, t, u = _common(op, x, kernel, recurrent_kernel, 4)
    if bias is not None:
        _check(op, "bias", bias, (4 * u,))
    h0 = _initial_state(x, h0, n, u, op, "h0")
    c0 = _initial_state(x, c0, n, u, op, "c0")
    tensors = (x, h0, c0, kernel, recurrent_kernel) + (() if bias is None else (bias,))
    xd = _arr(x)
    packed = LSTM.apply(
        *tensors, mask=_prepare_mask(get_array_module(xd), mask, n, t, op), go_backwards=bool(go_backwards),
        act=_get_act(activation, "activation", op), ract=_get_act(recurrent_activation, "recurrent_activation", op),
        return_sequences=bool(return_sequences), zero_output_for_mask=bool(zero_output_for_mask),
        inference=not is_grad_enabled(),
    )
    return _split(packed, t, return_sequences, 2)


def gru(x, h0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards: bool = False, reset_after: bool = True,
        activation="tanh", recurrent_activation="sigmoid", return_sequences: bool = True,
        zero_output_for_mask: bool = False) -> tuple[Tensor, Tensor]:
    """A whole-sequence GRU (Keras 3 layout, gate order z, r, h); returns (outputs, h_T).

    z = σ(x W_z + h U_z + b_z), r = σ(x W_r + h U_r + b_r);
    ``reset_after=True`` (bias (2, 3U): input and recurrent bias):
    h̃ = A(x W_h + b_ih + r ⊙ (h U_h + b_hh)); ``reset_after=False`` (bias (3U,)):
    h̃ = A(x W_h + (r ⊙ h) U_h + b_h); h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃.
    ``kernel`` (F, 3U), ``recurrent_kernel`` (U, 3U). Masking, ``go_backwards`` and
    ``return_sequences`` as in :func:`lstm`.
    """
    op = "gru"
    n, t, u = _common(op, x, kernel, recurrent_kernel, 3)
    if bias is not None:
        _check(op, "bias", bias, (2, 3 * u) if reset_after else (3 * u,))
    h0 = _initial_state(x, h0, n, u, op, "h0")
    tensors = (x, h0, kernel, recurrent_kernel) + (() if bias is None else (bias,))
    xd = _arr(x)
    packed = GRU.apply(
        *tensors, mask=_prepare_mask(get_array_module(xd), mask, n, t, op), go_backwards=bool(go_backwards),
        reset_after=bool(reset_after), act=_get_act(activation, "activation", op),
        ract=_get_act(recurrent_activation, "recurrent_activation", op),
        return_sequences=bool(return_sequences), zero_output_for_mask=bool(zero_output_for_mask),
        inference=not is_grad_enabled(),
    )
    return _split(packed, t, return_sequences, 1)


def simple_rnn(x, h0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards: bool = False,
               activation="tanh", return_sequences: bool = True,
               zero_output_for_mask: bool = False) -> tuple[Tensor, Tensor]:
    """A whole-sequence SimpleRNN: h_t = A(x_t W + h_{t−1} U + b); returns (outputs, h_T).

    ``kernel`` (F, U), ``recurrent_kernel`` (U, U), ``bias`` (U,) or None. Masking,
    ``go_backwards`` and ``return_sequences`` as in :func:`lstm`.
    """
    op = "simple_rnn"
    n, t, u = _common(op, x, kernel, recurrent_kernel, 1)
    if bias is not None:
        _check(op, "bias", bias, (u,))
    h0 = _initial_state(x, h0, n, u, op, "h0")
    tensors = (x, h0, kernel, recurrent_kernel) + (() if bias is None else (bias,))
    xd = _arr(x)
    packed = SimpleRNN.apply(
        *tensors, mask=_prepare_mask(get_array_module(xd), mask, n, t, op), go_backwards=bool(go_backwards),
        act=_get_act(activation, "activation", op),
        return_sequences=bool(return_sequences), zero_output_for_mask=bool(zero_output_for_mask),
    )
    return _split(packed, t, return_sequences, 1)

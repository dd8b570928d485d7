"""The depthwise convolution: every input channel c has its own M filters, output channel c·M + m.

    y[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, m]

computed tap by tap on strided views of each chunk's padded images (no GEMM: one multiply-add per tap).
"""
from __future__ import annotations

import numpy

from ..autograd import Function
from ..backend import get_array_module
from .conv_im2col import padded_chunk, tap_views
from .threads import _sum, map_batch, scratch


class DepthwiseConv(Function):
    """M filters per input channel:

    y[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, m]
    """

    def forward(self, x, w):
        self.x, self.w = x, w
        g = self.geometry
        xp = get_array_module(x)
        n, c, m = x.shape[0], x.shape[3], w.shape[3]
        y = xp.empty((n, g.ho, g.wo, c, m), x.dtype)

        def chunk(n0, n1):
            xpad = padded_chunk(x, n0, n1, g)
            out = y[n0:n1]
            for t, win in enumerate(tap_views(xpad, g)):
                a, b = divmod(t, g.kw)
                if t == 0:
                    xp.multiply(win[..., None], w[a, b], out=out)
                else:
                    out += win[..., None] * w[a, b]

        map_batch(chunk, n, (g.hp * g.wp + 2 * g.ho * g.wo * m) * c * x.itemsize, xp)
        return y.reshape(n, g.ho, g.wo, c * m)

    def backward(self, gy):
        # dL/dW[a, b, c, m] = Σ_{n,i,j} x_pad[n, i·s + a·d, j·s + b·d, c] gy[n, i, j, c, m]
        # dL/dx_pad[n, i·s + a·d, j·s + b·d, c] += Σ_m gy[n, i, j, c, m] W[a, b, c, m]
        g, x, w = self.geometry, self.x, self.w
        xp = get_array_module(gy)
        n, c, m = x.shape[0], x.shape[3], w.shape[3]
        gy = gy.reshape(n, g.ho, g.wo, c, m)
        need_x, need_w = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        dx = xp.empty(x.shape, x.dtype) if need_x else None
        hq, wq = max(g.hp, g.pt + g.h), max(g.wp, g.pl + g.w)

        def chunk(n0, n1):
            nb, gyc = n1 - n0, gy[n0:n1]
            dw = None
            if need_w:
                xpad = padded_chunk(x, n0, n1, g)
                dw = xp.stack([xp.einsum("nijc,nijcm->cm", win, gyc) for win in tap_views(xpad, g)])
            if need_x:
                dxp = scratch("pad", (nb, hq, wq, c), x.dtype) if xp is numpy else xp.empty((nb, hq, wq, c), x.dtype)
                dxp.fill(0)
                for t, win in enumerate(tap_views(dxp, g)):
                    a, b = divmod(t, g.kw)
                    win += gyc[..., 0] * w[a, b, :, 0] if m == 1 else xp.einsum("nijcm,cm->nijc", gyc, w[a, b])
                dx[n0:n1] = dxp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w]
            return dw

        parts = map_batch(chunk, n, (g.hp * g.wp + 2 * g.ho * g.wo * m) * c * x.itemsize, xp)
        return dx, (_sum(parts).reshape(w.shape) if need_w else None)

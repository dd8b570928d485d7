"""Normalization ops with fused backwards: batch norm (training and inference), layer norm,
RMS norm, Lp normalize, moments.

Notation: x̂ = (x − μ)/σ, σ = √(var + ε) with the biased variance; g = dL/dy. The fused
batch/layer-norm input gradient is

    dL/dx = (γ/σ) · (g − mean(g) − x̂ · mean(g · x̂))

with the means over the normalized axes. Each op keeps only x̂ (one array the size of x) and
per-channel (or per-row) 1/σ for its backward.

Speed: when the reduced axes are the leading ones (channels_last batch norm) or the trailing
ones (layer norm over the last axes), x is viewed as a matrix (M, C); column sums are a
matrix-vector product with a vector of ones and sums of products an ``einsum``, both several
times faster than ``ndarray.sum(axis=0)`` for few channels.
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Function, Tensor, _as_array, unbroadcast
from ..backend import get_array_module
from . import kernels
from .math import mean as _mean
from .math import var as _var


def _arr(a):
    return a.data if isinstance(a, Tensor) else _as_array(a)


def _axes(axis, ndim, op, arg="axis") -> tuple[int, ...]:
    items = (axis,) if isinstance(axis, (int, numpy.integer)) else tuple(axis)
    out = []
    for a in items:
        if not -ndim <= int(a) < ndim:
            raise ValueError(f"{op}: {arg}={axis!r} is out of range for an input of rank {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out) or not out:
        raise ValueError(f"{op}: expected distinct axes in {arg}, received {axis!r}")
    return tuple(sorted(out))


def _epsilon(epsilon) -> float:
    """ε as given, or ``keras.config.epsilon()``."""
    if epsilon is None:
        from ..config import epsilon as default  # noqa: PLC0415

        return default()
    return float(epsilon)


def _variance_scaling(x, gamma, axes, eps):
    """Keras's deprecated ``layer_normalization(..., rms_scaling=True)``: γ · x / √(var(x) + ε)."""
    import warnings  # noqa: PLC0415

    from .math import add, divide, multiply, reshape, sqrt  # noqa: PLC0415

    warnings.warn("layer_normalization: rms_scaling=True is deprecated (it scales by the variance, not the root "
                  "mean square); use ops.rms_normalization instead", stacklevel=3)
    y = divide(x, sqrt(add(_var(x, axis=axes, keepdims=True), eps)))
    if gamma is None:
        return y
    ndim = _arr(x).ndim
    if _arr(gamma).ndim != ndim and axes != (ndim - 1,):
        gamma = reshape(gamma, tuple(n if a in axes else 1 for a, n in enumerate(_arr(x).shape)))
    return multiply(y, gamma)


class _Layout:
    """How to reduce x over ``red`` axes, keeping ``keep`` axes; a matrix view when possible.

    ``mode`` "cols": x ≅ (M, C) reducing over rows (leading axes reduced, e.g. channels_last batch
    norm); "rows": x ≅ (M, C) reducing over columns (trailing axes reduced, e.g. layer norm);
    else general reductions. In "cols" mode arrays are handled as a *wide* matrix (M/R, R·C) with
    per-channel vectors tiled R times: NumPy's broadcasting loops are several times faster with
    rows of hundreds of elements than with rows of C = 16.
    """

    def __init__(self, shape, red):
        ndim = len(shape)
        self.shape, self.red = tuple(shape), tuple(red)
        self.keep = tuple(a for a in range(ndim) if a not in red)
        self.n = math.prod(shape[a] for a in red)
        self.bshape = tuple(1 if a in red else n for a, n in enumerate(shape))  # stats broadcast against x
        k = len(self.red)
        self.reps = 1
        if self.red == tuple(range(k)):
            self.mode = "cols"
            c = math.prod(self.shape[k:])
            while self.reps * 2 * c <= 512 and self.n % (self.reps * 2) == 0:
                self.reps *= 2
            self.m2 = (self.n // self.reps, self.reps * c)
        elif self.red == tuple(range(ndim - k, ndim)):
            self.mode = "rows"
            self.m2 = (math.prod(self.shape[: ndim - k]), self.n)
        else:
            self.mode = "general"

    def wide(self, a):
        """An x-shaped array in the layout used for elementwise work (the wide matrix in "cols" mode)."""
        return a.reshape(self.m2) if self.mode == "cols" else a

    def unwide(self, a):
        return a.reshape(self.shape)

    def vec(self, xp, v):
        """A ``bshape`` array broadcasting against ``wide(x)``."""
        if self.mode == "cols":
            v = v.reshape(-1)
            return xp.tile(v, self.reps) if self.reps > 1 else v
        return v

    def _fold(self, w):  # (R·C,) partial sums → bshape
        return w.reshape(self.reps, -1).sum(axis=0).reshape(self.bshape)

    def sum(self, xp, a):
        """Σ a over the reduced axes, shaped ``bshape`` (a: x-shaped or wide)."""
        if self.mode == "cols":
            a2 = a.reshape(self.m2)
            return self._fold(xp.ones(self.m2[0], dtype=a.dtype) @ a2)
        if self.mode == "rows":
            a2 = a.reshape(self.m2)
            return (a2 @ xp.ones(self.m2[1], dtype=a.dtype)).reshape(self.bshape)
        return a.sum(axis=self.red, keepdims=True)

    def dot(self, xp, a, b):
        """Σ a·b over the reduced axes, shaped ``bshape`` (no temporary in the matrix cases)."""
        if self.mode == "cols":
            return self._fold(xp.einsum("ij,ij->j", a.reshape(self.m2), b.reshape(self.m2)))
        if self.mode == "rows":
            return xp.einsum("ij,ij->i", a.reshape(self.m2), b.reshape(self.m2)).reshape(self.bshape)
        return (a * b).sum(axis=self.red, keepdims=True)


def _param(p, bshape, op, name):
    """A scale/offset with the shape of the axes it spans (or any shape of that size) → broadcasting against x."""
    if p is None:
        return None
    want = tuple(n for n in bshape if n != 1) if p.size != 1 else (1,)
    if p.size != int(numpy.prod(bshape)):
        raise ValueError(f"{op}: expected {name} of shape {want}, received shape {p.shape}")
    return p.reshape(bshape)


def _fused_dx(xp, g, xhat, mg, mgx, k):
    """dL/dx = k · (g − mg − x̂ · mgx) in four passes and one allocation."""
    dx = xhat * (-mgx)
    dx += g
    dx -= mg
    dx *= k
    return dx


# ----------------------------------------------------------------------------------
# batch normalization
# ----------------------------------------------------------------------------------


class BatchNormTrain(Function):
    """y = γ·x̂ + β (x̂ with this batch's statistics), or max(γ·x̂ + β, 0) with ``relu``: a ReLU fused after it,
    whose backward is the mask g·[y > 0] applied to g before the batch norm's own (one pass fewer each way)."""

    def forward(self, x, *params):
        xp = get_array_module(x)
        lay = self.layout
        gamma = _param(params[0], lay.bshape, "batch_norm_train", "gamma") if self.has_gamma else None
        beta = _param(params[-1], lay.bshape, "batch_norm_train", "beta") if self.has_beta else None
        if lay.mode == "cols" and kernels.usable(x):
            return self._forward_fused(x, gamma, beta)
        mu = lay.sum(xp, x) * (1.0 / lay.n)
        xhat = lay.wide(x) - lay.vec(xp, mu)
        var = lay.dot(xp, xhat, xhat) * (1.0 / lay.n)  # biased: Σ(x − μ)²/n
        inv = 1.0 / xp.sqrt(var + self.epsilon)
        xhat *= lay.vec(xp, inv)  # x̂ = (x − μ)/σ
        y = xhat * lay.vec(xp, gamma) if gamma is not None else xhat.copy()
        if beta is not None:
            y += lay.vec(xp, beta)
        if self.relu:
            self.y = xp.maximum(y, 0, out=y)  # kept for the backward's mask: y > 0 ⇔ γ·x̂ + β > 0
        self.stats.extend([mu, var])
        self.xhat, self.inv, self.gamma = xhat, inv, gamma
        return lay.unwide(y)

    def _forward_fused(self, x, gamma, beta):
        # the same math in two compiled passes; keeps x (not x̂) for the backward: x̂ = (x − μ)·inv
        lay = self.layout
        x2 = x.reshape(lay.n, -1)
        mu, var = kernels.channel_moments(x2)  # float64
        inv = 1.0 / numpy.sqrt(var + self.epsilon)
        a = inv if gamma is None else inv * gamma.reshape(-1)
        # y = γ·inv·(x − μ) + β (then max(·, 0) with relu)
        y = kernels.affine(x2, mu, a, 0.0 * a if beta is None else beta.reshape(-1), relu=self.relu)
        if self.relu:
            self.y = y
        self.stats.extend([mu.astype(x.dtype).reshape(lay.bshape), var.astype(x.dtype).reshape(lay.bshape)])
        self.x2, self.mu, self.inv, self.gamma = x2, mu, inv, gamma
        return y.reshape(x.shape)

    def _backward_fused(self, gy):
        # dx = k·(g − Σg/n − x̂·Σg·x̂/n), k = γ·inv, x̂ = (x − μ)·inv
        #    = k·g + b·(x − μ) + d  with b = −k·inv·Σg·x̂/n, d = −k·Σg/n
        # (with relu, g·[y > 0] in place of g: the kernels apply the mask as they read g)
        x2, mu, inv, n = self.x2, self.mu, self.inv, self.layout.n
        g2 = numpy.ascontiguousarray(gy).reshape(x2.shape)
        mask = self.y if self.relu else None
        sg, sgxc = kernels.channel_sums(g2, x2, mu, relu_out=mask)
        sgx = sgxc * inv  # Σ g·x̂
        grads = [None]
        if self.inputs[0].requires_grad:
            k = inv if self.gamma is None else inv * self.gamma.reshape(-1)
            dx = kernels.affine2(g2, x2, mu, k, -k * inv * (sgx / n), -k * (sg / n), relu_out=mask)
            grads[0] = dx.reshape(gy.shape)
        if self.has_gamma:
            grads.append(sgx.astype(gy.dtype).reshape(self.inputs[1].shape))
        if self.has_beta:
            grads.append(sg.astype(gy.dtype).reshape(self.inputs[-1].shape))
        return tuple(grads)

    def backward(self, gy):
        # dL/dγ = Σ g·x̂, dL/dβ = Σ g, dL/dx = (γ/σ)(g − mean(g) − x̂·mean(g·x̂));  with relu g ← g·[y > 0]
        if hasattr(self, "x2"):
            return self._backward_fused(gy)
        xp = get_array_module(gy)
        lay, xhat = self.layout, self.xhat
        g = lay.wide(gy)
        if self.relu:
            g = g * (self.y > 0)
        sg = lay.sum(xp, g)
        sgx = lay.dot(xp, g, xhat)
        grads = []
        if self.inputs[0].requires_grad:
            k = self.inv if self.gamma is None else self.inv * self.gamma
            dx = _fused_dx(xp, g, xhat, lay.vec(xp, sg * (1.0 / lay.n)), lay.vec(xp, sgx * (1.0 / lay.n)),
                           lay.vec(xp, k))
            grads.append(lay.unwide(dx))
        else:
            grads.append(None)
        if self.has_gamma:
            grads.append(sgx.reshape(self.inputs[1].shape))
        if self.has_beta:
            grads.append(sg.reshape(self.inputs[-1].shape))
        return tuple(grads)


class SyncBatchNormTrain(BatchNormTrain):
    """Batch norm in training with the statistics of the *global* batch, spread over several processes
    (``BatchNormalization(synchronized=True)`` under a multi-process DataParallel).

    ``allreduce_sum`` (a callable: a float64 NumPy vector ← its sum over the processes, in place) combines
    the per-process sums. Forward, with n_p samples per channel on process p and N = Σ_p n_p:

        μ = Σ_p Σx / N,   σ² = Σ_p Σx² / N − μ²      (the local Σx, Σx² from the local μ_p, σ²_p, in float64)

    Backward, with G = Σ_p Σ g and GX = Σ_p Σ g·x̂ (g this process's dL_p/dy):

        dL/dx = (γ/σ) · (g − G/N − x̂ · GX/N)

    — the gradient of Σ_p L_p; the optimizer's averaging over the processes then divides it by P, as for
    every other weight. dL/dγ = Σ g·x̂ and dL/dβ = Σ g stay local: the gradient averaging sums them.
    Every process must run the same layers in the same order (each forward and backward is a collective).
    """

    def _global_moments(self, mu_p, var_p, n_p):
        """(μ, σ², N) of the global batch from this process's float64 (μ_p, σ²_p) over n_p samples."""
        c = mu_p.size
        buf = numpy.empty(2 * c + 1, numpy.float64)
        buf[:c] = n_p * mu_p  # Σx
        buf[c:2 * c] = n_p * (var_p + mu_p * mu_p)  # Σx² = n_p·(σ²_p + μ_p²)
        buf[-1] = n_p
        self.allreduce_sum(buf)
        n = buf[-1]
        mu = buf[:c] / n
        var = numpy.maximum(buf[c:2 * c] / n - mu * mu, 0.0)  # σ² = Σx²/N − μ², clipped at 0 against rounding
        return mu, var, n

    def _global_sums(self, sg, sgx):
        """(Σ_p Σ g, Σ_p Σ g·x̂) over the processes, float64 vectors."""
        c = sg.size
        buf = numpy.empty(2 * c, numpy.float64)
        buf[:c], buf[c:] = sg.reshape(-1), sgx.reshape(-1)
        self.allreduce_sum(buf)
        return buf[:c], buf[c:]

    def forward(self, x, *params):
        xp = get_array_module(x)
        lay = self.layout
        gamma = _param(params[0], lay.bshape, "batch_norm_train", "gamma") if self.has_gamma else None
        beta = _param(params[-1], lay.bshape, "batch_norm_train", "beta") if self.has_beta else None
        self.fused = lay.mode == "cols" and kernels.usable(x)
        if self.fused:
            x2 = x.reshape(lay.n, -1)
            mu_p, var_p = kernels.channel_moments(x2)  # float64
        else:
            mu_l = lay.sum(xp, x) * (1.0 / lay.n)
            d = lay.wide(x) - lay.vec(xp, mu_l)
            var_l = lay.dot(xp, d, d) * (1.0 / lay.n)
            mu_p, var_p = (numpy.asarray(v, numpy.float64).reshape(-1) for v in (mu_l, var_l))
        mu, var, self.n_total = self._global_moments(mu_p, var_p, lay.n)
        inv = 1.0 / numpy.sqrt(var + self.epsilon)
        self.stats.extend([mu.astype(x.dtype).reshape(lay.bshape), var.astype(x.dtype).reshape(lay.bshape)])
        self.gamma = gamma
        if self.fused:  # y = γ·inv·(x − μ) + β (then max(·, 0) with relu)
            a = inv if gamma is None else inv * gamma.reshape(-1)
            y = kernels.affine(x2, mu, a, 0.0 * a if beta is None else beta.reshape(-1), relu=self.relu)
            if self.relu:
                self.y = y
            self.x2, self.mu, self.inv = x2, mu, inv
            return y.reshape(x.shape)
        mu_x, inv_x = (xp.asarray(v.astype(x.dtype).reshape(lay.bshape)) for v in (mu, inv))
        xhat = lay.wide(x) - lay.vec(xp, mu_x)
        xhat *= lay.vec(xp, inv_x)  # x̂ = (x − μ)/σ with the global μ, σ
        y = xhat * lay.vec(xp, gamma) if gamma is not None else xhat.copy()
        if beta is not None:
            y += lay.vec(xp, beta)
        if self.relu:
            self.y = xp.maximum(y, 0, out=y)
        self.xhat, self.inv = xhat, inv_x
        return lay.unwide(y)

    def backward(self, gy):
        # local: dL/dγ = Σ g·x̂, dL/dβ = Σ g;  dL/dx = (γ/σ)(g − G/N − x̂·GX/N) with G, GX summed over the processes
        lay, n = self.layout, self.n_total
        need_dx = self.inputs[0].requires_grad
        if self.fused:
            x2, mu, inv = self.x2, self.mu, self.inv
            g2 = numpy.ascontiguousarray(gy).reshape(x2.shape)
            mask = self.y if self.relu else None
            sg, sgxc = kernels.channel_sums(g2, x2, mu, relu_out=mask)
            sgx = sgxc * inv  # Σ g·x̂ (local)
            grads = [None]
            if need_dx:
                big_g, big_gx = self._global_sums(sg, sgx)
                k = inv if self.gamma is None else inv * self.gamma.reshape(-1)
                dx = kernels.affine2(g2, x2, mu, k, -k * inv * (big_gx / n), -k * (big_g / n), relu_out=mask)
                grads[0] = dx.reshape(gy.shape)
            sg, sgx = sg.astype(gy.dtype), sgx.astype(gy.dtype)
        else:
            xp = get_array_module(gy)
            g = lay.wide(gy)
            if self.relu:
                g = g * (self.y > 0)
            sg = lay.sum(xp, g)
            sgx = lay.dot(xp, g, self.xhat)
            grads = [None]
            if need_dx:
                big_g, big_gx = (xp.asarray((v / n).astype(gy.dtype).reshape(lay.bshape))
                                 for v in self._global_sums(numpy.asarray(sg), numpy.asarray(sgx)))
                k = self.inv if self.gamma is None else self.inv * self.gamma
                grads[0] = lay.unwide(_fused_dx(xp, g, self.xhat, lay.vec(xp, big_g), lay.vec(xp, big_gx),
                                                lay.vec(xp, k)))
        if self.has_gamma:
            grads.append(sgx.reshape(self.inputs[1].shape))
        if self.has_beta:
            grads.append(sg.reshape(self.inputs[-1].shape))
        return tuple(grads)


def batch_norm_train(x, gamma=None, beta=None, axis=-1, epsilon: float = 1e-3,
                     relu: bool = False, allreduce_sum=None) -> tuple[Tensor, Tensor, Tensor]:
    """Batch normalization with the statistics of this batch (training mode).

    y = γ · (x − μ_B)/√(σ²_B + ε) + β, μ_B and σ²_B (the biased variance) over every axis except
    ``axis`` (an int, or a tuple of feature axes). ``gamma``/``beta`` have the shape of the feature
    axes, or are None (``scale``/``center`` False). Returns (y, batch_mean, batch_var); y is
    differentiable in x, gamma and beta (through the batch statistics too, with the fused
    backward); batch_mean and batch_var are plain (gradient-free) Tensors for the moving-statistics
    update moving = moving · momentum + batch · (1 − momentum).

    With ``relu``, y is max(γ·x̂ + β, 0): a ReLU after the batch norm, fused into it (``models/fusion.py``
    asks for it where a model's ReLU layer reads a BatchNormalization layer's output and nothing else does).

    With ``allreduce_sum`` (a callable summing a float64 NumPy vector over several processes, in place), μ_B
    and σ²_B are those of the batches of all the processes together, and so is the input gradient
    (:class:`SyncBatchNormTrain`; ``BatchNormalization(synchronized=True)`` under a multi-process DataParallel).
    """
    xd = _arr(x)
    feat = _axes(axis, xd.ndim, "batch_norm_train")
    red = tuple(a for a in range(xd.ndim) if a not in feat)
    if not red:
        raise ValueError(f"batch_norm_train: axis={axis!r} leaves no axis to compute statistics over "
                         f"for an input of shape {xd.shape}")
    lay = _Layout(xd.shape, red)
    stats: list = []
    inputs = [x] + [p for p in (gamma, beta) if p is not None]
    op = BatchNormTrain if allreduce_sum is None else SyncBatchNormTrain
    config = {} if allreduce_sum is None else {"allreduce_sum": allreduce_sum}
    y = op.apply(*inputs, layout=lay, has_gamma=gamma is not None, has_beta=beta is not None,
                 epsilon=float(epsilon), stats=stats, relu=bool(relu), **config)
    pshape = tuple(xd.shape[a] for a in feat)
    return y, Tensor(stats[0].reshape(pshape)), Tensor(stats[1].reshape(pshape))


class BatchNormalization(Function):
    def forward(self, x, mu, var, *params):
        xp = get_array_module(x)
        if self.bshape is not None:  # 1-D statistics/parameters of length C: views broadcasting against x
            mu, var, *params = (p.reshape(self.bshape) for p in (mu, var, *params))
        offset = params[0] if self.has_offset else None
        scale = params[-1] if self.has_scale else None
        self.inv = 1.0 / xp.sqrt(var + self.epsilon)
        self.a = self.inv if scale is None else self.inv * scale  # y = a·x + (offset − a·μ)
        bias = -mu * self.a
        if offset is not None:
            bias = bias + offset
        self.x, self.mu, self.var, self.scale = x, mu, var, scale
        lay = self.layout
        if lay is None or x.size < kernels._MIN_SIZE:  # small arrays: broadcasting beats tiling the vectors
            y = x * self.a
            y += bias
            return y
        if lay.mode == "cols" and kernels.usable(x):  # one compiled pass: y = a·(x − μ) + offset
            off = offset.reshape(-1) if offset is not None else numpy.zeros(1, x.dtype)
            y = kernels.affine(x.reshape(lay.n, -1), mu.reshape(-1), self.a.reshape(-1),
                               numpy.broadcast_to(off, (self.a.size,)))
            return y.reshape(x.shape)
        y = lay.wide(x) * lay.vec(xp, self.a)
        y += lay.vec(xp, bias)
        return lay.unwide(y)

    def backward(self, gy):
        # dL/dx = g·s/σ; dL/doffset = Σ g; dL/dscale = Σ g·(x − μ)/σ;
        # dL/dμ = −Σ g·s/σ; dL/dvar = −½ Σ g·(x − μ)·s/σ³
        xp = get_array_module(gy)
        need = [t.requires_grad for t in self.inputs]
        lay, ins = self.layout, self.inputs
        need_xc = need[2] or (self.has_scale and need[-1])
        if lay is not None:  # 1-D statistics along one axis: reduce without full-size temporaries
            sg = lay.sum(xp, gy)
            sgxc = lay.dot(xp, gy, self.x - self.mu) if need_xc else None
        else:  # arbitrary broadcastable shapes: full-size products, summed down by unbroadcast
            sg = gy
            sgxc = gy * (self.x - self.mu) if need_xc else None
        dx = None
        if need[0]:
            dx = gy * self.a if lay is None else lay.unwide(lay.wide(gy) * lay.vec(xp, self.a))
        def fit(g, t):  # a per-channel gradient back to the shape of its input
            return g.reshape(t.shape) if self.bshape is not None else unbroadcast(g, t.shape)

        grads = [dx,
                 fit(-sg * self.a, ins[1]) if need[1] else None,
                 fit(sgxc * (-0.5 * self.a * self.inv * self.inv), ins[2]) if need[2] else None]
        if self.has_offset:
            grads.append(fit(sg, ins[3]) if need[3] else None)
        if self.has_scale:
            grads.append(fit(sgxc * self.inv, ins[-1]) if need[-1] else None)
        return tuple(grads)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon: float = 1e-3) -> Tensor:
    """``keras.ops.batch_normalization``: y = (x − mean)/√(variance + ε) · scale + offset.

    ``mean``, ``variance``, ``offset``, ``scale`` are 1-D of length ``x.shape[axis]`` (or broadcastable
    against x); offset/scale may be None. Differentiable in x, mean, variance, offset and scale.
    """
    xd = _arr(x)
    (ax,) = _axes(axis, xd.ndim, "batch_normalization")
    bshape = tuple(n if a == ax else 1 for a, n in enumerate(xd.shape))
    c = xd.shape[ax]

    def prep(p, name):
        if p is None:
            return None, True
        pd = _arr(p)
        if pd.ndim == 1 and pd.shape[0] == c:
            return p, True  # reshaped to bshape inside the op (its gradient summed back to (C,))
        try:
            numpy.broadcast_shapes(pd.shape, xd.shape)
        except ValueError:
            raise ValueError(f"batch_normalization: expected {name} of shape ({c},) (x.shape[axis]) or broadcastable "
                             f"to {xd.shape}, received shape {pd.shape}") from None
        return p, pd.shape == bshape

    params = [prep(p, n) for p, n in ((mean, "mean"), (variance, "variance"), (offset, "offset"), (scale, "scale"))]
    standard = all(ok for _, ok in params)
    red = tuple(a for a in range(xd.ndim) if a != ax)
    lay = _Layout(xd.shape, red) if standard and red else None
    ins = [x, params[0][0], params[1][0]] + [p for p, _ in params[2:] if p is not None]
    flat = standard and all(_arr(p).ndim == 1 for p in ins[1:])
    return BatchNormalization.apply(*ins, layout=lay, has_offset=offset is not None, has_scale=scale is not None,
                                    epsilon=float(epsilon), bshape=bshape if flat else None)


# ----------------------------------------------------------------------------------
# layer normalization
# ----------------------------------------------------------------------------------


class LayerNorm(Function):
    def forward(self, x, *params):
        xp = get_array_module(x)
        lay = self.layout  # reduces over the normalized axes
        pshape = tuple(n if a in lay.red else 1 for a, n in enumerate(x.shape))
        gamma = _param(params[0], pshape, "layer_normalization", "gamma") if self.has_gamma else None
        beta = _param(params[-1], pshape, "layer_normalization", "beta") if self.has_beta else None
        mu = lay.sum(xp, x) * (1.0 / lay.n)
        xhat = x - mu
        var = lay.dot(xp, xhat, xhat) * (1.0 / lay.n)
        inv = 1.0 / xp.sqrt(var + self.epsilon)
        xhat *= inv
        y = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta
        self.xhat, self.inv, self.gamma, self.pshape = xhat, inv, gamma, pshape
        return y

    def backward(self, gy):
        # ĝ = g·γ; dL/dx = (1/σ)(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) over the normalized axes;
        # dL/dγ = Σ_rows g·x̂, dL/dβ = Σ_rows g
        xp = get_array_module(gy)
        lay, xhat = self.layout, self.xhat
        grads = [None]
        if self.inputs[0].requires_grad:
            gh = gy if self.gamma is None else gy * self.gamma
            grads[0] = _fused_dx(xp, gh, xhat, lay.sum(xp, gh) * (1.0 / lay.n),
                                 lay.dot(xp, gh, xhat) * (1.0 / lay.n), self.inv)
        other = _Layout(gy.shape, lay.keep) if lay.keep else None
        if self.has_gamma:
            if self.inputs[1].requires_grad:
                dg = other.dot(xp, gy, xhat) if other is not None else gy * xhat
                grads.append(dg.reshape(self.inputs[1].shape))
            else:
                grads.append(None)
        if self.has_beta:
            if self.inputs[-1].requires_grad:
                db = other.sum(xp, gy) if other is not None else gy
                grads.append(db.reshape(self.inputs[-1].shape))
            else:
                grads.append(None)
        return tuple(grads)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon: float | None = None, **kwargs) -> Tensor:
    """Layer normalization: y = γ · (x − μ)/√(σ² + ε) + β, μ and σ² (biased) over ``axis``
    (an int or a tuple) for each sample; ``gamma``/``beta`` have the shape of those axes, or are None.
    ε defaults to ``keras.config.epsilon()`` (1e-7), as Keras.

    Keras's deprecated ``rms_scaling=True`` gives y = γ · x/√(σ² + ε) (x is not centred and β is not
    added), with its warning."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}")
    eps = _epsilon(epsilon)
    xd = _arr(x)
    nax = _axes(axis, xd.ndim, "layer_normalization")
    if rms_scaling:
        return _variance_scaling(x, gamma, nax, eps)
    epsilon = eps
    inputs = [x] + [p for p in (gamma, beta) if p is not None]
    return LayerNorm.apply(*inputs, layout=_Layout(xd.shape, nax), has_gamma=gamma is not None,
                           has_beta=beta is not None, epsilon=float(epsilon))


# ----------------------------------------------------------------------------------
# RMS normalization, Lp normalize, moments
# ----------------------------------------------------------------------------------


class RMSNorm(Function):
    def forward(self, x, *scale):
        xp = get_array_module(x)
        lay = self.layout
        ms = lay.dot(xp, x, x) * (1.0 / lay.n)
        self.r = 1.0 / xp.sqrt(ms + self.epsilon)  # r = (mean(x²) + ε)^(−½)
        self.y0 = x * self.r
        self.scale = scale[0] if scale else None
        return self.y0 * self.scale if scale else self.y0.copy()

    def backward(self, gy):
        # y₀ = x·r; ĝ = g·scale; dL/dx = r (ĝ − y₀ · mean(ĝ·y₀)); dL/dscale = Σ g·y₀
        xp = get_array_module(gy)
        lay, y0 = self.layout, self.y0
        grads = [None]
        gh = gy if self.scale is None else gy * self.scale
        if self.inputs[0].requires_grad:
            dx = y0 * (-(lay.dot(xp, gh, y0) * (1.0 / lay.n)))
            dx += gh
            dx *= self.r
            grads[0] = dx
        if self.scale is not None:
            grads.append(unbroadcast(gy * y0, self.scale.shape) if self.inputs[1].requires_grad else None)
        return tuple(grads)


def rms_normalization(x, scale=None, axis=-1, epsilon: float | None = None) -> Tensor:
    """``keras.ops.rms_normalization``: y = x / √(mean(x²) + ε) · scale, the mean over ``axis``;
    ``scale`` None (or 1) for none; ε defaults to ``keras.config.epsilon()`` (1e-7)."""
    xd = _arr(x)
    nax = _axes(axis, xd.ndim, "rms_normalization")
    eps = _epsilon(epsilon)
    lay = _Layout(xd.shape, nax)
    if scale is None or (isinstance(scale, (int, float)) and scale == 1):
        return RMSNorm.apply(x, layout=lay, epsilon=eps)
    if isinstance(scale, (int, float)):
        scale = xd.dtype.type(scale)
    return RMSNorm.apply(x, scale, layout=lay, epsilon=eps)


class Normalize(Function):
    def forward(self, x):
        xp = get_array_module(x)
        lay, p = self.layout, self.order
        if p == 2:
            nrm = xp.sqrt(lay.dot(xp, x, x))
        elif p == 1:
            nrm = lay.sum(xp, xp.abs(x))
        else:
            nrm = lay.sum(xp, xp.abs(x) ** p) ** (1.0 / p)
        self.clipped = nrm < self.epsilon  # there the denominator is the constant ε
        self.den = xp.maximum(nrm, self.epsilon).astype(x.dtype, copy=False)
        self.x = x
        self.y = x / self.den
        return self.y

    def backward(self, gy):
        # y = x/n, n = ‖x‖_p: dL/dx = g/n − (Σ g·y)/n · ∂n/∂x, ∂n/∂x = sign(x)|y|^(p−1);
        # where n < ε the denominator is constant: dL/dx = g/ε
        xp = get_array_module(gy)
        lay, p, y = self.layout, self.order, self.y
        s = lay.dot(xp, gy, y) * xp.where(self.clipped, 0.0, 1.0).astype(gy.dtype, copy=False)
        if p == 2:
            dn = y
        elif p == 1:
            dn = xp.sign(y)
        else:
            dn = xp.sign(y) * xp.abs(y) ** (p - 1)
        dx = dn * (-s)
        dx += gy
        dx /= self.den
        return dx


def normalize(x, axis=-1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """``keras.ops.normalize``: y = x / max(‖x‖_order, ε) along ``axis``; ε defaults to
    ``keras.config.epsilon()`` (1e-7)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: expected order to be an int >= 1, received order={order!r}")
    xd = _arr(x)
    if xd.ndim == 0:
        from .math import reshape  # noqa: PLC0415

        x, xd = reshape(x, (1,)), xd.reshape(1)
    nax = _axes(axis, xd.ndim, "normalize")
    return Normalize.apply(x, layout=_Layout(xd.shape, nax), order=order, epsilon=_epsilon(epsilon))


def moments(x, axes, keepdims: bool = False, synchronized: bool = False) -> tuple[Tensor, Tensor]:
    """``keras.ops.moments``: (mean, biased variance) of x over ``axes``, both differentiable.

    The variance is computed as mean((x − mean)²) (Keras's torch backend: mean(x²) − mean², which loses
    digits when |mean| ≫ std). ``synchronized`` (sync across devices) changes nothing on one device."""
    return _mean(x, axis=axes, keepdims=keepdims), _var(x, axis=axes, keepdims=keepdims)

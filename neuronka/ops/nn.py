"""``keras.ops.nn``: the neural-network ops. The activations live in :mod:`.activations`, convolutions in
:mod:`.convolution`, pooling in :mod:`.pooling`, normalizations in :mod:`.normalization`, attention in
:mod:`.attention` and the cross-entropies in :mod:`.losses`; this module defines the rest and names them
all as ``keras.ops.nn`` does:

* :func:`one_hot`, :func:`multi_hot` — integer labels as indicator vectors;
* :func:`psnr` — 20·log10(max) − 10·log10(MSE); :func:`polar` — r·e^(iθ);
* :func:`depth_to_space`, :func:`space_to_depth` — pixel shuffle and its inverse;
* :func:`unfold` (im2col) and :func:`fold` (col2im), torch-style on (N, C, H, W);
* :func:`separable_conv` — a depthwise then a pointwise convolution;
* :func:`adaptive_average_pool`, :func:`adaptive_max_pool` — pooling to a given output size (1-D, 2-D, 3-D).
"""
from __future__ import annotations

import math
import numbers

import numpy

from .. import config
from ..autograd import Function, Tensor, _as_array, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import standardize_dtype
from ._util import float_dtype_of, undifferentiable
from .activations import (
    celu,
    elu,
    gelu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    swish,
    tanh_shrink,
    threshold,
)
from .attention import _as_dtype, dot_product_attention
from .convolution import conv, conv_transpose, depthwise_conv
from .ctc import ctc_decode, ctc_loss
from .losses import binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy
from .normalization import batch_normalization, layer_normalization, moments, normalize, rms_normalization
from .pooling import average_pool, max_pool

__all__ = [
    # defined here
    "adaptive_average_pool", "adaptive_max_pool", "depth_to_space", "fold", "multi_hot", "one_hot", "polar",
    "psnr", "separable_conv", "space_to_depth", "unfold",
    # defined in the modules imported above (the loss ops in .losses and .ctc)
    "binary_crossentropy", "categorical_crossentropy", "ctc_decode", "ctc_loss", "sparse_categorical_crossentropy",
    "average_pool", "batch_normalization", "celu", "conv", "conv_transpose", "depthwise_conv",
    "dot_product_attention", "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid", "log_softmax", "max_pool", "moments",
    "normalize", "relu", "relu6", "rms_normalization", "selu", "sigmoid", "silu", "soft_shrink", "softmax",
    "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink",
    "threshold",
]


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else numpy.shape(x)


def _data(x):
    return x.data if isinstance(x, Tensor) else _as_array(x)


def _ints(value, n: int, name: str, fn: str, minimum: int) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, each >= ``minimum``, as a tuple."""
    items = (value,) * n if isinstance(value, numbers.Integral) else tuple(value) if hasattr(value, "__len__") else ()
    if len(items) != n or not all(isinstance(v, numbers.Integral) and v >= minimum for v in items):
        raise ValueError(f"{fn}: expected {name} to be an int or a tuple of {n} ints, each >= {minimum}; "
                         f"received {name}={value!r}")
    return tuple(int(v) for v in items)


# ---------------------------------------------------------------------------------------------
# one_hot, multi_hot
# ---------------------------------------------------------------------------------------------
def one_hot(x, num_classes: int, axis: int = -1, dtype=None, sparse: bool = False) -> Tensor:
    """One-hot encoding: out[..., c, ...] = 1 if x[...] == c else 0, the class axis inserted at ``axis``.

    ``x``: integer labels (floats are truncated toward zero, bools are 0/1). A label outside [0,
    num_classes) gives an all-zero vector (as Keras's JAX and TensorFlow backends; its torch backend
    raises for labels ≥ num_classes). ``dtype`` defaults to ``floatx()``. ``sparse=True`` is refused
    (neuronka has no sparse tensors). No gradient flows to ``x``.
    """
    fn = "one_hot"
    if sparse:
        raise ValueError(f"{fn}: sparse=True is not supported (neuronka has no sparse tensors)")
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"{fn}: expected num_classes to be a positive int, received num_classes={num_classes!r}")
    labels = _data(x)
    xp = get_array_module(labels)
    ndim = labels.ndim
    if not isinstance(axis, numbers.Integral) or not -(ndim + 1) <= axis <= ndim:
        raise ValueError(f"{fn}: expected axis in [-{ndim + 1}, {ndim}] for labels of rank {ndim}, "
                         f"received axis={axis!r}")
    labels = xp.trunc(labels) if labels.dtype.kind == "f" else labels
    out = labels.astype(numpy.int64)[..., None] == xp.arange(int(num_classes))
    out = xp.moveaxis(out.astype(standardize_dtype(dtype) if dtype is not None else floatx()), -1, axis)
    return undifferentiable(fn, out, x)


def multi_hot(inputs, num_classes: int | None = None, axis: int = -1, dtype=None, sparse: bool = False,
              **kwargs) -> Tensor:
    """Multi-hot encoding: the one-hot vectors of the labels of a sample, combined by a maximum.

    As Keras: ``one_hot(inputs, num_classes, axis)`` reduced by max over axis 1 of it (axis 0 for a
    1-D ``inputs``): (L,) → (C,), (B, L) → (B, C), (B, L, M) → (B, M, C). ``num_tokens`` is accepted
    for ``num_classes`` (Keras's old name). ``dtype`` defaults to ``floatx()``.
    """
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: argument `num_classes` must be specified")
    encoded = one_hot(inputs, num_classes, axis=axis, dtype=dtype, sparse=sparse).data
    return Tensor(encoded.max(axis=1 if len(_shape(inputs)) > 1 else 0))


# ---------------------------------------------------------------------------------------------
# psnr, polar
# ---------------------------------------------------------------------------------------------
class Psnr(Function):
    def forward(self, x1, x2, max_val):
        xp = get_array_module(x1)
        self.diff = x1 - x2
        self.mse = (self.diff * self.diff).mean()
        self.max_val = max_val
        return xp.asarray(20 * xp.log10(max_val) - 10 * xp.log10(self.mse), dtype=x1.dtype)

    def backward(self, gy):
        # y = 20 log10 m − 10 log10 MSE, MSE = mean((x1 − x2)²):
        # dy/dx1 = −(10/ln 10)·2(x1 − x2)/(n·MSE) = −dy/dx2;  dy/dm = 20/(m ln 10)
        d1 = gy * (-20 / math.log(10)) / (self.diff.size * self.mse) * self.diff
        dm = gy * 20 / (math.log(10) * self.max_val) if self.inputs[2].requires_grad else None
        return d1, -d1, dm


def psnr(x1, x2, max_val) -> Tensor:
    """Peak signal-to-noise ratio: 20·log10(max_val) − 10·log10(mean((x1 − x2)²)), a scalar.

    ``x1`` and ``x2`` of one shape; differentiable in both (and in ``max_val`` when it is a Tensor)."""
    s1, s2 = _shape(x1), _shape(x2)
    if s1 != s2:
        raise ValueError(f"psnr: input shapes {s1} and {s2} must match")
    dtype = float_dtype_of(x1, x2)
    return Psnr.apply(_as_dtype(x1, dtype), _as_dtype(x2, dtype), _as_dtype(max_val, dtype))


class Polar(Function):
    def forward(self, r, theta):
        xp = get_array_module(r)
        self.r, self.theta = r, theta
        self.unit = xp.cos(theta) + 1j * xp.sin(theta)  # e^(iθ)
        return (r * self.unit).astype(self.dtype, copy=False)

    def backward(self, gy):
        # z = r e^(iθ); for a real input u the gradient is Re(conj(∂z/∂u)·g) (torch's convention):
        # dL/dr = Re(e^(−iθ) g), dL/dθ = Re(conj(i r e^(iθ)) g) = r·Im(e^(−iθ) g)
        rotated = get_array_module(gy).conj(self.unit) * gy
        dr = unbroadcast(rotated.real, self.r.shape).astype(self.r.dtype, copy=False)
        dtheta = unbroadcast((self.r * rotated.imag), self.theta.shape).astype(self.theta.dtype, copy=False)
        return dr, dtheta


def polar(abs_, angle) -> Tensor:
    """The complex number with modulus ``abs_`` and argument ``angle``: abs_·(cos angle + i·sin angle)
    (broadcasting; complex64 from float32, complex128 from float64). Differentiable in both."""
    dtype = float_dtype_of(abs_, angle)
    return Polar.apply(_as_dtype(abs_, dtype), _as_dtype(angle, dtype),
                       dtype="complex128" if dtype == "float64" else "complex64")


# ---------------------------------------------------------------------------------------------
# depth_to_space, space_to_depth
# ---------------------------------------------------------------------------------------------
def _block_args(fn, x, block_size, data_format):
    shape = _shape(x)
    if len(shape) != 4:
        raise ValueError(f"{fn}: requires a 4-D input, received x.shape={shape}")
    if not isinstance(block_size, numbers.Integral) or block_size < 2:
        raise ValueError(f"{fn}: block_size must be an int of at least 2, received block_size={block_size!r}")
    data_format = config.standardize_data_format(data_format)
    n, h, w, c = shape if data_format == "channels_last" else (shape[0], *shape[2:], shape[1])
    return int(block_size), data_format, (n, h, w, c)


def depth_to_space(x, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Pixel shuffle: (N, H, W, C·b²) → (N, H·b, W·b, C) (channels_first: (N, C·b², H, W) → (N, C, H·b, W·b)).

    channels_last: out[n, i·b + p, j·b + q, c] = x[n, i, j, (p·b + q)·C + c];
    channels_first: out[n, c, i·b + p, j·b + q] = x[n, c·b² + p·b + q, i, j] (Keras's torch layout).
    """
    from .math import reshape, transpose  # noqa: PLC0415

    b, data_format, (n, h, w, c) = _block_args("depth_to_space", x, block_size, data_format)
    if c % (b * b):
        raise ValueError(f"depth_to_space: the number of channels ({c}) must be divisible by block_size**2 "
                         f"({b * b}); received x.shape={_shape(x)}")
    c2 = c // (b * b)
    if data_format == "channels_last":
        y = transpose(reshape(x, (n, h, w, b, b, c2)), (0, 1, 3, 2, 4, 5))
        return reshape(y, (n, h * b, w * b, c2))
    y = transpose(reshape(x, (n, c2, b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return reshape(y, (n, c2, h * b, w * b))


def space_to_depth(x, block_size: int, data_format: str = "channels_last") -> Tensor:
    """The inverse of :func:`depth_to_space`: (N, H·b, W·b, C) → (N, H, W, C·b²) (or channels_first)."""
    from .math import reshape, transpose  # noqa: PLC0415

    b, data_format, (n, h, w, c) = _block_args("space_to_depth", x, block_size, data_format)
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height ({h}) and width ({w}) must be divisible by block_size ({b}); "
                         f"received x.shape={_shape(x)}")
    if data_format == "channels_last":
        y = transpose(reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        return reshape(y, (n, h // b, w // b, c * b * b))
    y = transpose(reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
    return reshape(y, (n, c * b * b, h // b, w // b))


# ---------------------------------------------------------------------------------------------
# unfold (im2col), fold (col2im)
# ---------------------------------------------------------------------------------------------
class _Patches:
    """The sliding windows of an (N, C, H, W) image: kernel (kh, kw), dilation d, zero padding p, stride s;
    the window at (i, j) reads x_pad[:, :, i·s_h + a·d_h, j·s_w + b·d_w] for a < kh, b < kw."""

    def __init__(self, fn, hw, kernel_size, dilation, padding, stride):
        self.k = _ints(kernel_size, 2, "kernel_size", fn, 1)
        self.d = _ints(dilation, 2, "dilation", fn, 1)
        self.p = _ints(padding, 2, "padding", fn, 0)
        self.s = _ints(stride, 2, "stride", fn, 1)
        self.hw = hw
        self.out = tuple((length + 2 * p - d * (k - 1) - 1) // s + 1
                         for length, k, d, p, s in zip(hw, self.k, self.d, self.p, self.s))
        if min(self.out) < 1:
            raise ValueError(f"{fn}: the dilated kernel {self.k} (dilation {self.d}) does not fit in the padded "
                             f"spatial size {tuple(n + 2 * p for n, p in zip(hw, self.p))}")

    def taps(self, padded):
        """The strided view (N, C, Ho, Wo) of every tap (a, b) of ``padded``."""
        (kh, kw), (dh, dw), (sh, sw), (ho, wo) = self.k, self.d, self.s, self.out
        for a in range(kh):
            for b in range(kw):
                yield a, b, padded[:, :, a * dh:a * dh + (ho - 1) * sh + 1:sh, b * dw:b * dw + (wo - 1) * sw + 1:sw]

    def columns(self, x):
        """im2col: (N, C, H, W) → (N, C·kh·kw, Ho·Wo), row c·kh·kw + a·kw + b."""
        xp = get_array_module(x)
        (ph, pw), (h, w) = self.p, self.hw
        padded = xp.zeros((*x.shape[:2], h + 2 * ph, w + 2 * pw), x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w] = x
        cols = xp.empty((*x.shape[:2], *self.k, *self.out), x.dtype)
        for a, b, view in self.taps(padded):
            cols[:, :, a, b] = view
        return cols.reshape(x.shape[0], -1, self.out[0] * self.out[1])

    def image(self, cols):
        """col2im, the adjoint of :meth:`columns`: each column entry added back where it was read."""
        xp = get_array_module(cols)
        (ph, pw), (h, w) = self.p, self.hw
        n = cols.shape[0]
        cols = cols.reshape(n, -1, *self.k, *self.out)
        padded = xp.zeros((n, cols.shape[1], h + 2 * ph, w + 2 * pw), cols.dtype)
        for a, b, view in self.taps(padded):
            view += cols[:, :, a, b]
        return padded[:, :, ph:ph + h, pw:pw + w]


class Unfold(Function):
    def forward(self, x):
        return self.patches.columns(x)

    def backward(self, gy):  # the adjoint of im2col: dL/dx = col2im(gy)
        return self.patches.image(gy)


class Fold(Function):
    def forward(self, cols):
        return self.patches.image(cols)

    def backward(self, gy):  # the adjoint of col2im: dL/dcols = im2col(gy)
        return self.patches.columns(gy)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of an (N, C, H, W) image as columns (im2col, as ``torch.nn.functional.unfold``):
    out[n, c·kh·kw + a·kw + b, i·Wo + j] = x_pad[n, c, i·s_h + a·d_h, j·s_w + b·d_w], shape
    (N, C·kh·kw, Ho·Wo), Ho = ⌊(H + 2p_h − d_h(kh − 1) − 1)/s_h⌋ + 1 (Wo likewise)."""
    shape = _shape(x)
    if len(shape) != 4:
        raise ValueError(f"unfold: input must be a 4-D tensor (N, C, H, W), received input.shape={shape}")
    patches = _Patches("unfold", shape[2:], kernel_size, dilation, padding, stride)
    return Unfold.apply(x, patches=patches)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The adjoint of :func:`unfold` (col2im): (N, C·kh·kw, L) columns summed back into an (N, C, oH, oW)
    image, overlapping entries added; ``L`` must equal the number of windows of that image."""
    fn = "fold"
    shape = _shape(x)
    if len(shape) != 3:
        raise ValueError(f"{fn}: input must be a 3-D tensor (N, C·kh·kw, L), received input.shape={shape}")
    patches = _Patches(fn, _ints(output_size, 2, "output_size", fn, 1), kernel_size, dilation, padding, stride)
    kk = patches.k[0] * patches.k[1]
    if shape[1] % kk or shape[2] != patches.out[0] * patches.out[1]:
        raise ValueError(f"{fn}: expected input of shape (N, C·{kk}, {patches.out[0] * patches.out[1]}) for "
                         f"output_size={output_size!r} and kernel_size={kernel_size!r}, received input.shape={shape}")
    return Fold.apply(x, patches=patches)


# ---------------------------------------------------------------------------------------------
# separable_conv
# ---------------------------------------------------------------------------------------------
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate=1) -> Tensor:
    """Depthwise convolution then a 1×1 pointwise one, as ``keras.ops.separable_conv``:
    y = conv(depthwise_conv(x, depthwise_kernel, strides, padding, dilation_rate), pointwise_kernel).

    ``depthwise_kernel``: (kw, in, M) or (kh, kw, in, M); ``pointwise_kernel``: (1, in·M, out) or
    (1, 1, in·M, out). 1-D and 2-D, as :func:`conv`."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, strides=1, padding="valid", data_format=data_format, dilation_rate=dilation_rate)


# ---------------------------------------------------------------------------------------------
# adaptive pooling
# ---------------------------------------------------------------------------------------------
def _windows(length: int, out: int):
    """The windows [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉) of adaptive pooling (torch's), for i < O."""
    i = numpy.arange(out)
    return (i * length) // out, -((-(i + 1) * length) // out)


class AdaptiveAverage(Function):
    """Adaptive average along one axis of x viewed as (A, L, B): y = W x, W[i, l] = [l ∈ window i]/|window i|."""

    def forward(self, x):
        xp = get_array_module(x)
        start, stop = _windows(self.length, self.out)
        lengths = numpy.arange(self.length)
        weights = ((lengths >= start[:, None]) & (lengths < stop[:, None])) / (stop - start)[:, None]
        self.w = xp.asarray(weights.astype(x.dtype))
        self.shape = x.shape
        y = xp.matmul(self.w, x.reshape(self.lead, self.length, -1))
        return y.reshape(*x.shape[:self.axis], self.out, *x.shape[self.axis + 1:])

    def backward(self, gy):  # dL/dx = Wᵀ gy
        g = get_array_module(gy).matmul(self.w.T, gy.reshape(self.lead, self.out, -1))
        return g.reshape(self.shape)


class AdaptiveMax(Function):
    """Adaptive maximum along one axis of x viewed as (A, L, B): y[:, i] = max over window i."""

    def forward(self, x):
        xp = get_array_module(x)
        start, stop = _windows(self.length, self.out)
        width = int((stop - start).max())
        # each window padded to the widest by repeating its last index (a repeat never changes the max)
        index = numpy.minimum(start[:, None] + numpy.arange(width), stop[:, None] - 1)
        x3 = x.reshape(self.lead, self.length, -1)
        gathered = x3[:, index]  # (A, O, width, B)
        first = gathered.argmax(axis=2)  # (A, O, B): the first maximum of each window
        self.where = xp.asarray(index)[numpy.arange(self.out)[:, None], first]  # its index along L
        self.shape = x.shape
        y = xp.take_along_axis(x3, self.where, axis=1)
        return y.reshape(*x.shape[:self.axis], self.out, *x.shape[self.axis + 1:])

    def backward(self, gy):  # dL/dx[l] = Σ over the windows whose maximum is at l of gy
        xp = get_array_module(gy)
        a, _, b = self.where.shape
        dx = xp.zeros((a, self.length, b), gy.dtype)
        xp.add.at(dx, (xp.arange(a)[:, None, None], self.where, xp.arange(b)[None, None, :]),
                  gy.reshape(a, self.out, b))
        return dx.reshape(self.shape)


def _adaptive(fn, cls, inputs, output_size, data_format):
    shape = _shape(inputs)
    nd = len(shape) - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"{fn}: expected inputs of rank 3, 4 or 5 (batch, spatial..., channels), received "
                         f"shape {shape}")
    out = _ints(output_size, nd, "output_size", fn, 1)
    data_format = config.standardize_data_format(data_format)
    first = 1 if data_format == "channels_last" else 2
    x = inputs if isinstance(inputs, Tensor) else Tensor(_as_array(inputs))
    if x.dtype.kind != "f":
        from .math import cast  # noqa: PLC0415

        x = cast(x, floatx())
    for axis, size in zip(range(first, first + nd), out):
        length = x.shape[axis]
        if length == size:
            continue
        x = cls.apply(x, axis=axis, length=length, out=size, lead=math.prod(x.shape[:axis]))
    return x


def adaptive_average_pool(inputs, output_size, data_format: str | None = None) -> Tensor:
    """Average pooling to a given spatial size (1-D, 2-D or 3-D), as ``keras.ops.adaptive_average_pool``.

    Along each spatial axis of length L, output i averages the window [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉) (torch's
    windows); the windows of several axes are separable, so the axes are pooled one after the other.
    ``output_size``: an int (every axis) or one int per spatial axis. Integer inputs give ``floatx()``."""
    return _adaptive("adaptive_average_pool", AdaptiveAverage, inputs, output_size, data_format)


def adaptive_max_pool(inputs, output_size, data_format: str | None = None) -> Tensor:
    """Max pooling to a given spatial size (1-D, 2-D or 3-D), as ``keras.ops.adaptive_max_pool``, over the
    windows of :func:`adaptive_average_pool`; the gradient goes to each window's maximum."""
    return _adaptive("adaptive_max_pool", AdaptiveMax, inputs, output_size, data_format)

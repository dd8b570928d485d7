"""Filtering images with small separable kernels: ``keras.ops.image.gaussian_blur``, ``sobel_edges`` and
``ssim``; differentiable in the images.

Each filter is a product of 1-D kernels, so a 2-D correlation is two 1-D ones, one along the height
and one along the width:

    y[i] = Σ_t k[t] · x_pad[i + t]        (x_pad: x with zeros before and after)

whose adjoint spreads gy back with the same weights, dL/dx_pad[i + t] += k[t]·gy[i] (:class:`Correlate1D`).
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._image import as_images, compute_float, constant_floats, data_format_of, int_tuple, restore_dtype, spatial_axes


def gaussian_kernel1d(size: int, sigma: float):
    """k[t] = exp(−½((t − (size − 1)/2)/σ)²), normalised to sum 1 (float64)."""
    x = numpy.arange(size, dtype=numpy.float64) - (size - 1) / 2.0
    k = numpy.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def correlate_array(x, kernel, axis: int, pad: tuple[int, int]):
    """y[i] = Σ_t kernel[t]·x_pad[i + t] along ``axis`` (arrays; integer x stays integer)."""
    xp = get_array_module(x)
    lo, hi = pad
    length = x.shape[axis] + lo + hi - len(kernel) + 1
    widths = [(0, 0)] * x.ndim
    widths[axis] = (lo, hi)
    xpad = xp.pad(x, widths) if lo or hi else x
    index = [slice(None)] * x.ndim
    y = None
    for t, k in enumerate(kernel):
        if k == 0:
            continue
        index[axis] = slice(t, t + length)
        part = xpad[tuple(index)] * k
        y = part if y is None else y + part
    if y is None:
        shape = list(x.shape)
        shape[axis] = length
        y = xp.zeros(shape, x.dtype)
    return y


class Correlate1D(Function):
    """y = x correlated along ``axis`` with ``kernel`` (float64 taps, cast to x's dtype), zero-padded by
    ``pad`` = (before, after): y[i] = Σ_t k[t]·x_pad[i + t]."""

    def forward(self, x):
        xp = get_array_module(x)
        self.length = x.shape[self.axis]
        self.taps = xp.asarray(self.kernel, dtype=x.dtype)
        return correlate_array(x, self.taps, self.axis, self.pad)

    def backward(self, gy):  # dL/dx_pad[i + t] = Σ k[t]·gy[i], then the padding dropped
        xp = get_array_module(gy)
        lo, _ = self.pad
        shape = list(gy.shape)
        shape[self.axis] = gy.shape[self.axis] + len(self.taps) - 1
        gpad = xp.zeros(shape, gy.dtype)
        index = [slice(None)] * gy.ndim
        for t, k in enumerate(self.taps):
            index[self.axis] = slice(t, t + gy.shape[self.axis])
            gpad[tuple(index)] += k * gy
        index[self.axis] = slice(lo, lo + self.length)
        return gpad[tuple(index)]


def correlate(x, kernel, axis: int, pad: tuple[int, int]) -> Tensor:
    return Correlate1D.apply(x, kernel=numpy.asarray(kernel, dtype=numpy.float64), axis=axis, pad=tuple(pad))


def _same(k: int) -> tuple[int, int]:
    """The zeros around a length-k kernel that keep the length: (k − 1)//2 before, the rest after."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


def _require_float(x: Tensor, fn: str) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: expected images of a float dtype, received images of dtype {x.dtype}")


# ----------------------------------------------------------------------------------------------
# keras.ops.image.gaussian_blur
# ----------------------------------------------------------------------------------------------
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format: str | None = None) -> Tensor:
    """Blur images with a normalised Gaussian kernel, as ``keras.ops.image.gaussian_blur`` (zero padding,
    same size).

    y = x ⋆ (g_h ⊗ g_w), g(t) ∝ exp(−½((t − (n − 1)/2)/σ)²). As Keras's torch and JAX backends build the
    kernel, ``kernel_size[0]``, ``sigma[0]`` act along the width and ``kernel_size[1]``, ``sigma[1]``
    along the height. Even sizes pad (n − 1)//2 before and the rest after (JAX's "SAME"; torch's kernel
    instead grows the image by one). ``data_format=None`` means ``keras.config.image_data_format()``
    (Keras's eager backends treat None as channels_first here; neuronka follows the documentation).
    Float images only, as Keras. Differentiable in ``images``.
    """
    fn = "gaussian_blur"
    x = as_images(images, fn)
    _require_float(x, fn)
    data_format = data_format_of(data_format, fn)
    size_w, size_h = int_tuple(kernel_size, 2, "kernel_size", fn)
    sigma_w, sigma_h = constant_floats(sigma, 2, "sigma", fn)
    h_axis, w_axis, _ = spatial_axes(x.ndim, data_format)
    dtype = x.dtype
    y = compute_float(x)
    y = correlate(y, gaussian_kernel1d(size_h, sigma_h), h_axis, _same(size_h))
    y = correlate(y, gaussian_kernel1d(size_w, sigma_w), w_axis, _same(size_w))
    return restore_dtype(y, dtype)


# ----------------------------------------------------------------------------------------------
# keras.ops.image.sobel_edges
# ----------------------------------------------------------------------------------------------
_DERIVATIVE = (-1.0, 0.0, 1.0)
_SMOOTH = (1.0, 2.0, 1.0)


def sobel_edges(images, data_format: str | None = None) -> Tensor:
    """Sobel gradients of a batch of images, as ``keras.ops.image.sobel_edges``: (..., 2) = [dy, dx] on a
    new last axis, (batch, height, width, channels, 2) or (batch, channels, height, width, 2).

    dy = x ⋆ [[−1, −2, −1], [0, 0, 0], [1, 2, 1]], dx = x ⋆ its transpose (correlations, zero padding 1),
    each channel alone. Integer images are computed exactly and wrap around in their dtype (as torch).
    Differentiable in ``images``.
    """
    from .math import stack  # noqa: PLC0415

    fn = "sobel_edges"
    x = as_images(images, fn, ranks=(4,))
    data_format = data_format_of(data_format, fn)
    h_axis, w_axis, _ = spatial_axes(4, data_format)
    if x.dtype.kind != "f":
        a = x.data.astype(numpy.int64)
        dy = correlate_array(correlate_array(a, (-1, 0, 1), h_axis, (1, 1)), (1, 2, 1), w_axis, (1, 1))
        dx = correlate_array(correlate_array(a, (1, 2, 1), h_axis, (1, 1)), (-1, 0, 1), w_axis, (1, 1))
        return Tensor(get_array_module(a).stack([dy, dx], axis=-1).astype(x.dtype))
    dy = correlate(correlate(x, _DERIVATIVE, h_axis, (1, 1)), _SMOOTH, w_axis, (1, 1))
    dx = correlate(correlate(x, _SMOOTH, h_axis, (1, 1)), _DERIVATIVE, w_axis, (1, 1))
    return stack([dy, dx], axis=-1)


# ----------------------------------------------------------------------------------------------
# keras.ops.image.ssim
# ----------------------------------------------------------------------------------------------
def ssim(image1, image2, max_val: float = 1.0, filter_size: int = 11, filter_sigma: float = 1.5, k1: float = 0.01,
         k2: float = 0.03, data_format: str | None = None) -> Tensor:
    """The structural similarity of two images or batches, as ``keras.ops.image.ssim``.

    With μ, σ², σ₁₂ the Gaussian-weighted (``filter_size``, ``filter_sigma``; "valid" windows) means,
    variances and covariance of each channel, c₁ = (k₁·max_val)², c₂ = (k₂·max_val)²:

        SSIM = mean over windows and channels of (2μ₁μ₂ + c₁)(2σ₁₂ + c₂) / ((μ₁² + μ₂² + c₁)(σ₁² + σ₂² + c₂))

    One value per image: shape (batch,), or () for single images, in image1's dtype (ints truncated).
    Differentiable in both images.
    """
    from .math import cast, mean  # noqa: PLC0415

    fn = "ssim"
    x1 = as_images(image1, fn, "image1")
    x2 = as_images(image2, fn, "image2")
    if x1.shape != x2.shape:
        raise ValueError(f"{fn}: expected image1 and image2 of the same shape, received {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    data_format = data_format_of(data_format, fn)
    (size,) = int_tuple(filter_size, 1, "filter_size", fn)
    (sigma,) = constant_floats(filter_sigma, 1, "filter_sigma", fn)
    h_axis, w_axis, c_axis = spatial_axes(x1.ndim, data_format)
    if x1.shape[h_axis] < size or x1.shape[w_axis] < size:
        raise ValueError(f"{fn}: expected images at least filter_size={size} high and wide, received images of "
                         f"shape {tuple(x1.shape)}")
    dtype = x1.dtype
    a, b = compute_float(x1), compute_float(cast(x2, x1.dtype) if x2.dtype != x1.dtype else x2)
    kernel = gaussian_kernel1d(size, sigma)

    def blur(t):
        return correlate(correlate(t, kernel, h_axis, (0, 0)), kernel, w_axis, (0, 0))

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(a), blur(b)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    var1, var2, cov = blur(a * a) - mu1_sq, blur(b * b) - mu2_sq, blur(a * b) - mu12
    ssim_map = (2.0 * mu12 + c1) * (2.0 * cov + c2) / ((mu1_sq + mu2_sq + c1) * (var1 + var2 + c2))
    value = mean(ssim_map, axis=(h_axis, w_axis, c_axis))
    if numpy.dtype(dtype).kind in "iub":
        return Tensor(value.data.astype(dtype))  # as ops.cast: truncation toward zero
    return restore_dtype(value, dtype)

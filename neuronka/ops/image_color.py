"""Colour conversions: ``keras.ops.image.rgb_to_grayscale``, ``rgb_to_hsv`` and ``hsv_to_rgb``; each a
per-pixel map of the channel axis with its derivative beside it.
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._image import as_images, data_format_of, spatial_axes

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


def _planes(x, axis: int):
    xp = get_array_module(x)
    return [xp.take(x, i, axis=axis) for i in range(3)]


def _channel_axis(x: Tensor, data_format, fn: str) -> int:
    return spatial_axes(x.ndim, data_format_of(data_format, fn))[2]


class Grayscale(Function):
    """y = 0.2989·r + 0.587·g + 0.114·b on the channel ``axis`` (kept, of size 1)."""

    def forward(self, x):
        r, g, b = _planes(x, self.axis)
        wr, wg, wb = (x.dtype.type(w) for w in GRAY_WEIGHTS)
        return get_array_module(x).expand_dims(wr * r + wg * g + wb * b, self.axis)

    def backward(self, gy):  # dy/dr = 0.2989, dy/dg = 0.587, dy/db = 0.114
        xp = get_array_module(gy)
        weights = xp.asarray(GRAY_WEIGHTS, dtype=gy.dtype).reshape([3 if a == self.axis else 1 for a in
                                                                    range(gy.ndim)])
        return gy * weights


def rgb_to_grayscale(images, data_format: str | None = None) -> Tensor:
    """Luma of RGB images, as ``keras.ops.image.rgb_to_grayscale``: y = 0.2989·R + 0.587·G + 0.114·B,
    one channel (single-channel images are returned as they are). Integer images are computed in float32
    and truncated back to their dtype, as Keras on torch. Differentiable in ``images``.
    """
    from .math import reshape  # noqa: PLC0415

    fn = "rgb_to_grayscale"
    x = as_images(images, fn)
    axis = _channel_axis(x, data_format, fn)
    if x.shape[axis] not in (1, 3):
        raise ValueError(f"{fn}: expected 3 (RGB) or 1 (grayscale) channels, received images of shape "
                         f"{tuple(x.shape)}")
    if x.shape[axis] == 1:
        return reshape(x, x.shape) if x.requires_grad else Tensor(x.data.copy())
    if x.dtype.kind != "f":
        y = Grayscale.apply(Tensor(x.data.astype(numpy.float32)), axis=axis)
        return Tensor(y.data.astype(x.dtype))
    return Grayscale.apply(x, axis=axis)


def _require_float(x: Tensor, fn: str) -> None:
    if x.dtype.kind != "f":
        raise ValueError(f"{fn}: expected images of a float dtype, received images of dtype {x.dtype}")


class RGBToHSV(Function):
    """(r, g, b) → (h, s, v) on the channel ``axis``, values below the dtype's ε taken as 0:

        v = max(r, g, b),  Δ = v − min(r, g, b),  s = Δ/v (0 where v = 0)
        h = (g − b)/6Δ (mod 1) where v = r;  (b − r)/6Δ + 1/3 where v = g;  (r − g)/6Δ + 2/3 else  (0 where Δ = 0)
    """

    def forward(self, x):
        xp = get_array_module(x)
        eps = numpy.finfo(x.dtype).eps
        self.kept = xp.abs(x) >= eps
        r, g, b = _planes(xp.where(self.kept, x, 0), self.axis)
        v = xp.maximum(xp.maximum(r, g), b)
        m = xp.minimum(xp.minimum(r, g), b)
        span = v - m
        s = xp.where(v > 0, span / xp.where(v > 0, v, 1), 0)
        norm = 1.0 / (6.0 * xp.where(span > 0, span, 1))
        self.max_r = v == r
        self.max_g = (v == g) & ~self.max_r
        self.max_b = ~(self.max_r | self.max_g)
        self.min_r = m == r
        self.min_g = (m == g) & ~self.min_r
        self.min_b = ~(self.min_r | self.min_g)
        numerator = xp.where(self.max_r, g - b, xp.where(self.max_g, b - r, r - g))
        h = numerator * norm + xp.where(self.max_r, 0.0, xp.where(self.max_g, 2.0 / 6.0, 4.0 / 6.0))
        h = xp.where(span > 0, h, 0) + (h < 0)
        self.v, self.span, self.numerator = v, span, numerator
        return xp.stack([h.astype(x.dtype), s.astype(x.dtype), v], axis=self.axis)

    def backward(self, gy):
        # dh = dn/6Δ − n·dΔ/6Δ²;  ds = dΔ/v − Δ·dv/v²;  dv → the max channel;  dΔ → max (+), min (−)
        xp = get_array_module(gy)
        gh, gs, gv = _planes(gy, self.axis)
        v, span, n = self.v, self.span, self.numerator
        positive, active = v > 0, span > 0
        safe_v, safe_span = xp.where(positive, v, 1), xp.where(active, span, 1)
        g_max = gv - xp.where(positive, gs * span / safe_v ** 2, 0)
        g_span = xp.where(positive, gs / safe_v, 0) - xp.where(active, gh * n / (6.0 * safe_span ** 2), 0)
        g_n = xp.where(active, gh / (6.0 * safe_span), 0)
        g_max = g_max + g_span
        # n = g − b (max r), b − r (max g), r − g (max b)
        gr = g_max * self.max_r - g_span * self.min_r + g_n * (self.max_b.astype(gy.dtype) - self.max_g)
        gg = g_max * self.max_g - g_span * self.min_g + g_n * (self.max_r.astype(gy.dtype) - self.max_b)
        gb = g_max * self.max_b - g_span * self.min_b + g_n * (self.max_g.astype(gy.dtype) - self.max_r)
        return xp.stack([gr, gg, gb], axis=self.axis) * self.kept


class HSVToRGB(Function):
    """(h, s, v) → (r, g, b) on the channel ``axis``: with d = 6·(h mod 1),

        f_r = clip(|d − 3| − 1, 0, 1), f_g = clip(2 − |d − 2|, 0, 1), f_b = clip(2 − |d − 4|, 0, 1)
        channel = v·(1 − s + s·f)
    """

    def forward(self, x):
        xp = get_array_module(x)
        h, s, v = _planes(x, self.axis)
        d = xp.remainder(h, 1.0) * 6.0
        pre = [xp.abs(d - 3.0) - 1.0, 2.0 - xp.abs(d - 2.0), 2.0 - xp.abs(d - 4.0)]
        f = [xp.clip(p, 0.0, 1.0) for p in pre]
        self.d, self.pre, self.f, self.s, self.v = d, pre, f, s, v
        return xp.stack([v * (1.0 - s + s * fc) for fc in f], axis=self.axis)

    def backward(self, gy):
        # d channel/dv = 1 − s + s·f;  /ds = v·(f − 1);  /dh = v·s·6·f'(d), f' = ±1 inside the clip's range
        xp = get_array_module(gy)
        d, s, v = self.d, self.s, self.v
        slopes = [xp.sign(d - 3.0), -xp.sign(d - 2.0), -xp.sign(d - 4.0)]
        gh = gs = gv = 0
        for gc, f, p, slope in zip(_planes(gy, self.axis), self.f, self.pre, slopes):
            gv = gv + gc * (1.0 - s + s * f)
            gs = gs + gc * v * (f - 1.0)
            gh = gh + gc * v * s * 6.0 * slope * ((p >= 0.0) & (p <= 1.0))
        return xp.stack([gh, gs, gv], axis=self.axis)


def rgb_to_hsv(images, data_format: str | None = None) -> Tensor:
    """RGB → HSV (hue, saturation, value, each in [0, 1] for RGB in [0, 1]), as
    ``keras.ops.image.rgb_to_hsv`` (the formulas: :class:`RGBToHSV`). Float images only. Differentiable in
    ``images`` away from ties between channels (where the hue's formula switches).
    """
    fn = "rgb_to_hsv"
    x = as_images(images, fn)
    _require_float(x, fn)
    axis = _channel_axis(x, data_format, fn)
    _require_three(x, axis, fn)
    return RGBToHSV.apply(x, axis=axis)


def hsv_to_rgb(images, data_format: str | None = None) -> Tensor:
    """HSV → RGB, as ``keras.ops.image.hsv_to_rgb`` (the formulas: :class:`HSVToRGB`). Float images only.
    Differentiable in ``images`` away from the kinks of the hue's piecewise-linear ramps.
    """
    fn = "hsv_to_rgb"
    x = as_images(images, fn)
    _require_float(x, fn)
    axis = _channel_axis(x, data_format, fn)
    _require_three(x, axis, fn)
    return HSVToRGB.apply(x, axis=axis)


def _require_three(x: Tensor, axis: int, fn: str) -> None:
    if x.shape[axis] != 3:
        raise ValueError(f"{fn}: expected 3 channels, received images of shape {tuple(x.shape)}")

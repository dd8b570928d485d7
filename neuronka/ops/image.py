"""Image resizing, as ``keras.ops.image.resize``, and the upsampling of UpSampling1D/2D; differentiable.

Resizing is separable: the height axis is resampled, then the width axis. Along one axis,
output k reads at most two inputs (TensorFlow's half-pixel centers, antialias off):

    bilinear: src = max((k + ½)·L_in/L_out − ½, 0), i0 = ⌊src⌋, i1 = min(i0 + 1, L_in − 1), λ = src − i0
              y[k] = (1 − λ)·x[i0] + λ·x[i1]
    nearest:  y[k] = x[min(⌊(k + ½)·L_in/L_out⌋, L_in − 1)]

Its derivative sends gy[k] back to i0 and i1 with the same weights. Because i0 and i1 never
decrease with k, that scatter-add is a segment sum (``add.reduceat``), not an ``add.at``.
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .convolution import from_channels_last, normalize_data_format, normalize_tuple, to_channels_last

_INTERPOLATIONS = ("bilinear", "nearest")
_KERAS_ONLY = ("bicubic", "lanczos3", "lanczos5", "area")


def interpolation_taps(in_size: int, out_size: int, interpolation: str):
    """(i0, i1, λ) of one axis: y[k] = (1 − λ[k])·x[i0[k]] + λ[k]·x[i1[k]] (float64 λ; i1, λ None for nearest)."""
    k = numpy.arange(out_size)
    if interpolation == "nearest":
        # ⌊(k + ½)·in/out⌋ in exact integer arithmetic
        return numpy.minimum((2 * k + 1) * in_size // (2 * out_size), in_size - 1), None, None
    src = numpy.maximum((k + 0.5) * (in_size / out_size) - 0.5, 0.0)
    i0 = numpy.minimum(numpy.floor(src).astype(numpy.int64), in_size - 1)
    i1 = numpy.minimum(i0 + 1, in_size - 1)
    return i0, i1, src - i0


def _segment_sum(g, idx, length: int, axis: int):
    """The adjoint of take(x, idx, axis) for non-decreasing idx: out[i] = Σ_{k: idx[k] = i} g[k]."""
    xp = get_array_module(g)
    uniq, starts = numpy.unique(idx, return_index=True)
    sums = xp.add.reduceat(g, starts, axis=axis)
    if len(uniq) == length:
        return sums
    shape = list(g.shape)
    shape[axis] = length
    out = xp.zeros(shape, g.dtype)
    index = [slice(None)] * g.ndim
    index[axis] = uniq
    out[tuple(index)] = sums
    return out


class AxisResample(Function):
    """y = x resampled along ``axis``: y[k] = (1 − λ[k])·x[i0[k]] + λ[k]·x[i1[k]] (or x[i0[k]] for nearest)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.length, self.dtype = x.shape[self.axis], x.dtype
        y = xp.take(x, self.i0, axis=self.axis)
        if self.lam is None:
            return y
        shape = [1] * x.ndim
        shape[self.axis] = len(self.lam)
        self.lam_b = xp.asarray(self.lam.reshape(shape), dtype=x.dtype)
        # (1 − λ)·x[i0] + λ·x[i1] = x[i0] + λ·(x[i1] − x[i0])
        y += self.lam_b * (xp.take(x, self.i1, axis=self.axis) - y)
        return y

    def backward(self, gy):  # dL/dx[i] = Σ_{k: i0[k]=i} (1 − λ[k]) gy[k] + Σ_{k: i1[k]=i} λ[k] gy[k]
        if self.lam is None:
            return _segment_sum(gy, self.i0, self.length, self.axis)
        g1 = gy * self.lam_b
        return _segment_sum(gy - g1, self.i0, self.length, self.axis) + \
            _segment_sum(g1, self.i1, self.length, self.axis)


def _resample(x, axis: int, out_size: int, interpolation: str):
    in_size = x.shape[axis]
    if in_size == out_size:
        return x
    i0, i1, lam = interpolation_taps(in_size, out_size, interpolation)
    return AxisResample.apply(x, axis=axis, i0=i0, i1=i1, lam=lam)


def resize(images, size, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> Tensor:
    """Resize images (batch, height, width, channels) or (height, width, channels) to ``size`` = (h, w),
    as ``keras.ops.image.resize``.

    "bilinear": half-pixel centers, src = (k + ½)·L_in/L_out − ½ clamped at 0, linear between its two
    neighbours; "nearest": x[⌊(k + ½)·L_in/L_out⌋]. Differentiable in ``images``.
    ``crop_to_aspect_ratio`` first center-crops, ``pad_to_aspect_ratio`` first pads with
    ``fill_value``, to the target's aspect ratio (Keras's rules). ``antialias`` is supported
    only where it changes nothing (upsampling).
    """
    fn = "resize"
    if interpolation in _KERAS_ONLY:
        raise NotImplementedError(f"{fn}: interpolation={interpolation!r} is not implemented; use 'bilinear' or "
                                  "'nearest'")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{fn}: expected interpolation 'bilinear' or 'nearest', "
                         f"received interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"{fn}: expected fill_mode 'constant', received fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{fn}: expected at most one of crop_to_aspect_ratio and pad_to_aspect_ratio, "
                         "received both True")
    try:
        size = tuple(size)
    except TypeError:
        size = ()
    if len(size) != 2:
        raise ValueError(f"{fn}: expected size to be a tuple of two integers (height, width), received size={size!r}")
    target = normalize_tuple(size, 2, "size", fn)
    data_format = normalize_data_format(data_format, fn)
    x = images if isinstance(images, Tensor) else Tensor(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: expected images of rank 3 (height, width, channels) or 4 (batch, height, width, "
                         f"channels), received shape {tuple(x.shape)}")
    from .math import cast, concatenate, reshape

    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = cast(x, "float32")
    unbatched = x.ndim == 3
    if unbatched:
        x = reshape(x, (1, *x.shape))
    x = to_channels_last(x, data_format)
    n, h, w, c = x.shape
    th, tw = target
    if antialias and (th < h or tw < w):
        raise NotImplementedError(f"{fn}: antialias=True when downsampling is not implemented; received images of "
                                  f"size {(h, w)} and size={target}")
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        r0, c0 = int(float(h - ch) / 2), int(float(w - cw) / 2)
        if (ch, cw) != (h, w):
            x = x[:, r0:r0 + ch, c0:c0 + cw, :]
    elif pad_to_aspect_ratio:
        ph = max(h, int(float(w * th) / tw))
        pw = max(w, int(float(h * tw) / th))
        r0, c0 = int(float(ph - h) / 2), int(float(pw - w) / 2)
        xp = get_array_module(x.data)
        if r0 > 0:
            band = xp.full((n, r0, w, c), fill_value, dtype=x.dtype)
            x = concatenate([band, x, band], axis=1)
        elif c0 > 0:
            band = xp.full((n, h, c0, c), fill_value, dtype=x.dtype)
            x = concatenate([band, x, band], axis=2)
    y = _resample(_resample(x, 1, th, interpolation), 2, tw, interpolation)
    y = from_channels_last(y, data_format)
    if unbatched:
        y = reshape(y, y.shape[1:])
    return y if isinstance(y, Tensor) else Tensor(y)


class RepeatSpatial(Function):
    """Nearest upsampling by integer factors: y[n, i, j, c] = x[n, ⌊i/s_h⌋, ⌊j/s_w⌋, c]."""

    def forward(self, x):
        xp = get_array_module(x)
        n, h, w, c = x.shape
        sh, sw = self.size
        return xp.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, w, sw, c)).reshape(n, h * sh, w * sw, c)

    def backward(self, gy):  # dL/dx[n, i, j, c] = Σ over its s_h × s_w copies
        n, hh, ww, c = gy.shape
        sh, sw = self.size
        return gy.reshape(n, hh // sh, sh, ww // sw, sw, c).sum(axis=(2, 4))


def upsample(x, size, interpolation: str = "nearest", data_format: str | None = None) -> Tensor:
    """Upsample (batch, steps, features) by an integer ``size`` (UpSampling1D) or (batch, height, width,
    channels) by ``size`` = (s_h, s_w) (UpSampling2D).

    "nearest" repeats each value s_h × s_w times (its gradient sums the copies); "bilinear"
    (2-D only) is :func:`resize` to (h·s_h, w·s_w).
    """
    fn = "upsample"
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: expected x of rank 3 (batch, steps, features) or 4 (batch, height, width, "
                         f"channels), received shape {tuple(x.shape)}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{fn}: expected interpolation 'nearest' or 'bilinear', "
                         f"received interpolation={interpolation!r}")
    data_format = normalize_data_format(data_format, fn)
    from .math import reshape

    nd = x.ndim - 2
    factors = normalize_tuple(size, nd, "size", fn)
    x = to_channels_last(x, data_format)
    if nd == 1:
        if interpolation != "nearest":
            raise ValueError(f"{fn}: 1-D upsampling repeats steps; expected interpolation 'nearest', "
                             f"received interpolation={interpolation!r}")
        y = RepeatSpatial.apply(reshape(x, (x.shape[0], 1, *x.shape[1:])), size=(1, *factors))
        y = reshape(y, (y.shape[0], *y.shape[2:]))
    elif interpolation == "nearest":
        y = RepeatSpatial.apply(x, size=factors)
    else:
        y = resize(x, (x.shape[1] * factors[0], x.shape[2] * factors[1]), interpolation)
    return from_channels_last(y, data_format)

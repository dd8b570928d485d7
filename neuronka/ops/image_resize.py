"""Resampling along axes: ``keras.ops.image.resize``, ``keras.ops.image.scale_and_translate`` and the
upsampling of UpSampling1D/2D; differentiable in the images.

Every method is separable. Along one axis the output is a linear map of the input, output k reading
a few inputs (its taps):

    y[k] = Σ_t w[k, t] · x[idx[k, t]]

and the adjoint sends gy[k] back to the same inputs with the same weights,
dL/dx[i] = Σ_{k, t: idx[k, t] = i} w[k, t] · gy[k] — a scatter-add, done as a segment sum since
idx[:, t] never decreases with k. The methods differ only in their taps (s = L_in / L_out):

* "nearest" (torch's nearest-exact): idx = min(⌊(k + ½)·s⌋, L_in − 1), s and the floor in float32 as torch.
* "bilinear": src = max((k + ½)·s − ½, 0); weights 1 − λ and λ = src − ⌊src⌋ on ⌊src⌋ and ⌊src⌋ + 1
  (clamped to the last pixel).
* "bicubic": torch's cubic convolution, A = −0.75, on ⌊src⌋ − 1 … ⌊src⌋ + 2 (clamped to the edge
  pixels), src = (k + ½)·s − ½ unclamped.
* ``antialias=True`` with "bilinear"/"bicubic" (torch's, PIL's filters): the triangle or cubic (A = −0.5)
  kernel widened by max(s, 1), centred on (k + ½)·s, normalised over the pixels it covers.
* "lanczos3"/"lanczos5" (JAX's ``jax.image.resize``: Keras on torch refuses them) and
  ``scale_and_translate``: the kernel K at |sample − i| / κ, sample = (k + ½)/scale − translation/scale − ½,
  κ = max(1/scale, 1) with antialias else 1, normalised per output; zero where the sample lies outside
  [−½, L_in − ½].
* "area" (TensorFlow's: Keras on torch and on JAX refuse it): the mean of the input over the output
  pixel's footprint [k·s, (k + 1)·s], each input pixel weighted by its overlap.
"""
from __future__ import annotations

import functools

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._image import as_images, as_tensor, compute_float, constant_floats, data_format_of, restore_dtype, spatial_axes
from .conv_args import from_channels_last, normalize_data_format, normalize_tuple, to_channels_last

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
                               "lanczos5")


# ----------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------
def triangle(x):
    """max(0, 1 − |x|)."""
    return numpy.maximum(0.0, 1.0 - numpy.abs(x))


def cubic(x, a: float):
    """Keys' cubic convolution kernel: (a + 2)|x|³ − (a + 3)|x|² + 1 on |x| < 1,
    a(|x|³ − 5|x|² + 8|x| − 4) on 1 ≤ |x| < 2, 0 beyond."""
    x = numpy.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = a * (((x - 5.0) * x + 8.0) * x - 4.0)
    return numpy.where(x < 1.0, near, numpy.where(x < 2.0, far, 0.0))


def lanczos(x, radius: float):
    """r·sin(πx)·sin(πx/r) / (π²x²) for |x| ≤ r (1 near 0), 0 beyond."""
    x = numpy.abs(x)
    safe = numpy.where(x > 1e-3, x, 1.0)
    y = radius * numpy.sin(numpy.pi * safe) * numpy.sin(numpy.pi * safe / radius) / (numpy.pi ** 2 * safe ** 2)
    return numpy.where(x > radius, 0.0, numpy.where(x > 1e-3, y, 1.0))


_JAX_KERNELS = {"linear": triangle, "cubic": functools.partial(cubic, a=-0.5),
                "lanczos3": functools.partial(lanczos, radius=3.0), "lanczos5": functools.partial(lanczos, radius=5.0)}


# ----------------------------------------------------------------------------------------------
# the taps of one axis
# ----------------------------------------------------------------------------------------------
class Taps:
    """The linear map of one axis: y[k] = Σ_t w[k, t]·x[idx[k, t]] (``w`` None: one tap of weight 1).

    ``idx``, ``w``: (L_out, T) arrays; ``segments[t]`` = (the distinct indices of idx[:, t], where each
    run starts), for the segment sums of the backward (None where idx[:, t] is not monotone).
    """

    def __init__(self, idx, w, in_size: int):
        self.idx, self.w, self.in_size = idx, w, in_size
        self.segments = []
        for t in range(idx.shape[1]):
            col = idx[:, t]
            monotone = bool(numpy.all(col[1:] >= col[:-1]))
            self.segments.append(numpy.unique(col, return_index=True) if monotone else None)


def _compact(in_size: int, dense) -> Taps:
    """The taps of a dense (L_out, L_in) weight matrix: for each output, its run of non-zero weights."""
    nonzero = dense != 0
    has = nonzero.any(axis=1)
    lo = numpy.where(has, nonzero.argmax(axis=1), 0)
    hi = numpy.where(has, in_size - 1 - nonzero[:, ::-1].argmax(axis=1), -1)
    n_taps = max(int((hi - lo + 1).max(initial=1)), 1)
    pos = lo[:, None] + numpy.arange(n_taps)
    idx = numpy.minimum(pos, in_size - 1)
    w = numpy.take_along_axis(dense, idx, axis=1) * (pos <= hi[:, None])
    if n_taps == 1 and numpy.all(w == 1.0):
        w = None
    return Taps(idx.astype(numpy.intp), w, in_size)


def _dense(in_size: int, idx, w):
    """Σ of clamped raw taps into a dense (L_out, L_in) matrix (a tap clamped onto another adds to it)."""
    out_size = idx.shape[0]
    dense = numpy.zeros((out_size, in_size))
    rows = numpy.broadcast_to(numpy.arange(out_size)[:, None], idx.shape)
    numpy.add.at(dense, (rows, numpy.clip(idx, 0, in_size - 1)), w)
    return dense


def _torch_scale(in_size: int, out_size: int) -> float:
    return float(numpy.float32(in_size) / numpy.float32(out_size))


def _nearest_dense(in_size: int, out_size: int):
    # torch: min(floorf((k + 0.5)·s), L_in − 1), s = (float)L_in / L_out, the product rounded to float
    k = numpy.arange(out_size)
    src = ((k + 0.5) * _torch_scale(in_size, out_size)).astype(numpy.float32)
    i = numpy.minimum(numpy.floor(src).astype(numpy.int64), in_size - 1)
    return _dense(in_size, i[:, None], numpy.ones((out_size, 1)))


def _linear_dense(in_size: int, out_size: int):
    src = numpy.maximum((numpy.arange(out_size) + 0.5) * (in_size / out_size) - 0.5, 0.0)
    i0 = numpy.minimum(numpy.floor(src).astype(numpy.int64), in_size - 1)
    lam = src - i0
    return _dense(in_size, numpy.stack([i0, i0 + 1], axis=1), numpy.stack([1.0 - lam, lam], axis=1))


def _bicubic_dense(in_size: int, out_size: int):
    src = (numpy.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    i = numpy.floor(src).astype(numpy.int64)
    t = (src - i)[:, None]
    offsets = numpy.arange(-1, 3)
    return _dense(in_size, i[:, None] + offsets, cubic(t - offsets, -0.75))


def _antialiased_dense(in_size: int, out_size: int, support: float, kernel):
    # torch's separable antialias (PIL): kernel((i − center + ½)/max(s, 1)), normalised over the window
    s = in_size / out_size
    center = s * (numpy.arange(out_size) + 0.5)
    widen = max(s, 1.0)
    reach = support * widen
    lo = numpy.maximum(numpy.trunc(center - reach + 0.5).astype(numpy.int64), 0)
    hi = numpy.minimum(numpy.trunc(center + reach + 0.5).astype(numpy.int64), in_size)  # exclusive
    n_taps = max(int((hi - lo).max(initial=1)), 1)
    pos = lo[:, None] + numpy.arange(n_taps)
    w = kernel((pos - center[:, None] + 0.5) / widen) * (pos < hi[:, None])
    total = w.sum(axis=1, keepdims=True)
    w = numpy.where(total != 0, w / numpy.where(total != 0, total, 1.0), w)
    return _dense(in_size, pos, w)


def _area_dense(in_size: int, out_size: int):
    s = in_size / out_size
    start, end = numpy.arange(out_size) * s, (numpy.arange(out_size) + 1) * s
    lo = numpy.floor(start).astype(numpy.int64)
    n_taps = max(int((numpy.ceil(end).astype(numpy.int64) - lo).max(initial=1)), 1)
    pos = lo[:, None] + numpy.arange(n_taps)
    overlap = numpy.minimum(pos + 1, end[:, None]) - numpy.maximum(pos, start[:, None])
    return _dense(in_size, pos, numpy.maximum(overlap, 0.0) / s)


def _kernel_dense(in_size: int, out_size: int, scale: float, translation: float, kernel: str, antialias: bool):
    inv_scale = 1.0 / scale
    widen = max(inv_scale, 1.0) if antialias else 1.0
    sample = (numpy.arange(out_size) + 0.5) * inv_scale - translation * inv_scale - 0.5
    w = _JAX_KERNELS[kernel](numpy.abs(sample[:, None] - numpy.arange(in_size)) / widen)
    total = w.sum(axis=1, keepdims=True)
    w = numpy.where(numpy.abs(total) > 1000.0 * float(numpy.finfo(numpy.float32).eps),
                    w / numpy.where(total != 0, total, 1.0), 0.0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return w * inside[:, None]


@functools.lru_cache(maxsize=512)
def resize_taps(in_size: int, out_size: int, interpolation: str, antialias: bool = False) -> Taps:
    """The taps of resizing one axis from ``in_size`` to ``out_size`` (see the module docstring)."""
    if interpolation == "nearest":
        dense = _nearest_dense(in_size, out_size)
    elif interpolation == "area":
        dense = _area_dense(in_size, out_size)
    elif interpolation in ("lanczos3", "lanczos5"):
        dense = _kernel_dense(in_size, out_size, out_size / in_size, 0.0, interpolation, antialias)
    elif interpolation == "bilinear":
        dense = _antialiased_dense(in_size, out_size, 1.0, triangle) if antialias else \
            _linear_dense(in_size, out_size)
    else:  # bicubic
        dense = _antialiased_dense(in_size, out_size, 2.0, functools.partial(cubic, a=-0.5)) if antialias else \
            _bicubic_dense(in_size, out_size)
    return _compact(in_size, dense)


@functools.lru_cache(maxsize=256)
def scale_translate_taps(in_size: int, out_size: int, scale: float, translation: float, kernel: str,
                         antialias: bool) -> Taps:
    return _compact(in_size, _kernel_dense(in_size, out_size, scale, translation, kernel, antialias))


# ----------------------------------------------------------------------------------------------
# the differentiable resampling of one axis
# ----------------------------------------------------------------------------------------------
def _segment_sum(g, idx, segments, length: int, axis: int):
    """The adjoint of take(x, idx, axis): out[i] = Σ_{k: idx[k] = i} g[k] (a segment sum when idx is sorted)."""
    xp = get_array_module(g)
    shape = list(g.shape)
    shape[axis] = length
    if segments is None:  # idx not monotone: a general scatter-add
        out = xp.zeros(shape, g.dtype)
        xp.add.at(out, (slice(None),) * axis + (idx,), g)
        return out
    uniq, starts = segments
    sums = xp.add.reduceat(g, starts, axis=axis)
    if len(uniq) == length:
        return sums
    out = xp.zeros(shape, g.dtype)
    out[(slice(None),) * axis + (uniq,)] = sums
    return out


class AxisResample(Function):
    """y = x resampled along ``axis`` by ``taps``: y[..., k, ...] = Σ_t w[k, t]·x[..., idx[k, t], ...]."""

    def forward(self, x):
        xp = get_array_module(x)
        taps, axis = self.taps, self.axis
        shape = [1] * x.ndim
        shape[axis] = taps.idx.shape[0]
        self.weights = None if taps.w is None else \
            [xp.asarray(taps.w[:, t].reshape(shape), dtype=x.dtype) for t in range(taps.idx.shape[1])]
        idx = xp.asarray(taps.idx)
        y = xp.take(x, idx[:, 0], axis=axis)
        if self.weights is None:
            return y
        y *= self.weights[0]
        for t in range(1, idx.shape[1]):
            y += self.weights[t] * xp.take(x, idx[:, t], axis=axis)
        return y

    def backward(self, gy):  # dL/dx[i] = Σ_{k, t: idx[k, t] = i} w[k, t]·gy[k]
        taps, axis = self.taps, self.axis
        if self.weights is None:
            return _segment_sum(gy, taps.idx[:, 0], taps.segments[0], taps.in_size, axis)
        g = None
        for t in range(taps.idx.shape[1]):
            part = _segment_sum(gy * self.weights[t], taps.idx[:, t], taps.segments[t], taps.in_size, axis)
            g = part if g is None else g + part
        return g


def resample(x, axis: int, taps: Taps) -> Tensor:
    return AxisResample.apply(x, axis=axis, taps=taps)


# ----------------------------------------------------------------------------------------------
# keras.ops.image.resize
# ----------------------------------------------------------------------------------------------
def _check_size(size, fn: str) -> tuple[int, int]:
    try:
        items = tuple(size)
    except TypeError:
        items = ()
    if len(items) != 2:
        raise ValueError(f"{fn}: expected size to be a tuple of two integers (height, width), received size={size!r}")
    if any(isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) for v in items):
        raise TypeError(f"{fn}: expected size to be two integers, received size={size!r}")
    if items[0] <= 0 or items[1] <= 0:
        raise ValueError(f"{fn}: expected a positive height and width, received size={size!r}")
    return int(items[0]), int(items[1])


def _crop_or_pad_to_aspect(x: Tensor, h_axis: int, w_axis: int, target, crop: bool, fill_value) -> Tensor:
    """The centred crop (``crop``) or the centred constant padding that gives x the target's aspect ratio."""
    from .math import getitem, pad  # noqa: PLC0415

    h, w = x.shape[h_axis], x.shape[w_axis]
    th, tw = target
    if crop:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        if (ch, cw) == (h, w):
            return x
        r0, c0 = int(float(h - ch) / 2), int(float(w - cw) / 2)
        index = [slice(None)] * x.ndim
        index[h_axis], index[w_axis] = slice(r0, r0 + ch), slice(c0, c0 + cw)
        return getitem(x, tuple(index))
    ph, pw = max(h, int(float(w * th) / tw)), max(w, int(float(h * tw) / th))
    r0, c0 = int(float(ph - h) / 2), int(float(pw - w) / 2)
    if r0 <= 0 and c0 <= 0:
        return x
    widths = [(0, 0)] * x.ndim
    widths[h_axis], widths[w_axis] = (max(r0, 0),) * 2, (max(c0, 0),) * 2
    return pad(x, widths, constant_values=fill_value)


def resize(images, size, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> Tensor:
    """Resize images (height, width, channels) or (batch, height, width, channels) to ``size`` = (height,
    width), as ``keras.ops.image.resize`` on torch (the taps of each interpolation: the module docstring).

    "nearest", "bilinear", "bicubic" and ``antialias`` (bilinear/bicubic only, as torch) follow Keras's
    torch backend; "lanczos3"/"lanczos5", which it refuses, follow its JAX backend; "area", which both
    refuse, follows TensorFlow's. ``crop_to_aspect_ratio`` first takes the largest centred crop with the
    target's aspect ratio, ``pad_to_aspect_ratio`` instead pads evenly with ``fill_value``. Integer images
    are resized in float32, then rounded (half to even), saturated and given back in their dtype; float16
    is computed in float32. Differentiable in ``images``.
    """
    fn = "resize"
    target = _check_size(size, fn)
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"{fn}: expected interpolation to be one of {list(RESIZE_INTERPOLATIONS)}, "
                         f"received interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"{fn}: only fill_mode='constant' is supported, received fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{fn}: expected at most one of crop_to_aspect_ratio and pad_to_aspect_ratio, "
                         "received both True")
    data_format = data_format_of(data_format, fn)
    x = as_images(images, fn)
    dtype = x.dtype
    x = compute_float(x)
    h_axis, w_axis, _ = spatial_axes(x.ndim, data_format)
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        x = _crop_or_pad_to_aspect(x, h_axis, w_axis, target, crop_to_aspect_ratio, fill_value)
    antialias = bool(antialias) and interpolation in ("bilinear", "bicubic", "lanczos3", "lanczos5")
    for axis, out_size in ((h_axis, target[0]), (w_axis, target[1])):
        if x.shape[axis] != out_size:
            x = resample(x, axis, resize_taps(x.shape[axis], out_size, interpolation, antialias))
    return restore_dtype(x, dtype)


# ----------------------------------------------------------------------------------------------
# keras.ops.image.scale_and_translate
# ----------------------------------------------------------------------------------------------
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method: str,
                        antialias: bool = True) -> Tensor:
    """Scale and translate ``images`` along ``spatial_dims``, as ``keras.ops.image.scale_and_translate``
    (JAX's ``jax.image.scale_and_translate``).

    Along dimension d = spatial_dims[i], output k samples the input at
    (k + ½)/scale[i] − translation[i]/scale[i] − ½ with the kernel of ``method`` ("linear"/"bilinear"/
    "trilinear": triangle; "cubic"/"bicubic"/"tricubic": Keys, a = −½; "lanczos3", "lanczos5"), widened
    by 1/scale when downsampling with ``antialias``, normalised; outputs sampling outside the input are 0.
    Integer images are computed in float32, rounded and clipped to [min(images), max(images)].
    Differentiable in ``images`` (not in ``scale`` or ``translation``).
    """
    fn = "scale_and_translate"
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise ValueError(f"{fn}: expected method to be one of {list(SCALE_AND_TRANSLATE_METHODS)}, "
                         f"received method={method!r}")
    kernel = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic", "tricubic": "cubic"}.get(method, method)
    x = as_tensor(images)
    dims = [int(d) for d in spatial_dims]
    out_shape = tuple(int(n) for n in output_shape)
    if len(out_shape) != x.ndim:
        raise ValueError(f"{fn}: expected output_shape of length {x.ndim} (the rank of images), received "
                         f"output_shape={tuple(output_shape)} for images of shape {tuple(x.shape)}")
    for d in dims:
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"{fn}: spatial dimension {d} is out of range for images of rank {x.ndim}")
    scales = constant_floats(scale, len(dims), "scale", fn)
    shifts = constant_floats(translation, len(dims), "translation", fn)
    dtype = x.dtype
    y = compute_float(x)
    for d, s, t in zip(dims, scales, shifts):
        d %= x.ndim
        y = resample(y, d, scale_translate_taps(x.shape[d], out_shape[d], s, t, kernel, bool(antialias)))
    if numpy.dtype(dtype).kind in "iub" and dims:
        xp = get_array_module(x.data)
        lo, hi = (x.data.min(), x.data.max()) if x.size else (0, 0)
        return Tensor(xp.clip(xp.round(y.data), lo, hi).astype(dtype))
    return restore_dtype(y, dtype)


# ----------------------------------------------------------------------------------------------
# UpSampling1D/2D
# ----------------------------------------------------------------------------------------------
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
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"{fn}: expected interpolation 'nearest' or 'bilinear', "
                         f"received interpolation={interpolation!r}")
    data_format = normalize_data_format(data_format, fn)
    from .math import reshape  # noqa: PLC0415

    nd = x.ndim - 2
    factors = normalize_tuple(size, nd, "size", fn)
    if nd == 2 and interpolation == "bilinear":
        h_axis, w_axis, _ = spatial_axes(4, data_format)
        return resize(x, (x.shape[h_axis] * factors[0], x.shape[w_axis] * factors[1]), "bilinear",
                      data_format=data_format)
    x = to_channels_last(x, data_format)
    if nd == 1:
        if interpolation != "nearest":
            raise ValueError(f"{fn}: 1-D upsampling repeats steps; expected interpolation 'nearest', "
                             f"received interpolation={interpolation!r}")
        y = RepeatSpatial.apply(reshape(x, (x.shape[0], 1, *x.shape[1:])), size=(1, *factors))
        y = reshape(y, (y.shape[0], *y.shape[2:]))
    else:
        y = RepeatSpatial.apply(x, size=factors)
    return from_channels_last(y, data_format)


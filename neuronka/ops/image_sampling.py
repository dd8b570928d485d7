"""Sampling images at computed coordinates: ``keras.ops.image.map_coordinates``, ``affine_transform``,
``perspective_transform`` and ``elastic_transform``.

One differentiable sampler (:class:`Sample`) serves all four. Along each sampled axis d the
coordinate c gives taps (Keras's rules, as scipy.ndimage without its boundary bug):

    order 0 (nearest):  one tap, index round(c) (half to even), weight 1
    order 1 (linear):   index ⌊c⌋ with weight 1 − (c − ⌊c⌋), index ⌊c⌋ + 1 with weight c − ⌊c⌋

Out-of-range indices are mapped back by ``fill_mode`` ("nearest": clamped; "wrap": modulo;
"mirror": reflected about the edge pixels, ...c b | a b c | b a...; "reflect": about the edges,
...b a | a b c | c b...); with "constant" a tap outside reads ``fill_value``. A sample is the sum over
the corners (one tap per axis) of Π_d w_d · x[corner]:

    y = Σ_corners (Π_d w_d) · x[corner]
    dL/dx[corner] += (Π_d w_d) · gy                      (a scatter-add of the weights)
    dL/dc_d = gy · Σ_corners (±1) (Π_{e≠d} w_e) · x[corner]   (−1 on the lower tap, +1 on the upper; 0 for order 0)
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._image import as_images, as_tensor, compute_float, constant_floats, data_format_of, restore_dtype
from .image_filters import correlate_array, gaussian_kernel1d

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
INTERPOLATION_ORDERS = {"nearest": 0, "bilinear": 1}


def _mirror(index, size: int):
    """Indices reflected about the edge pixels: a triangular wave of period 2(size − 1)."""
    if size == 1:
        return index * 0
    s = size - 1
    return abs((index + s) % (2 * s) - s)


def fix_index(index, size: int, fill_mode: str):
    """An out-of-range index mapped back into [0, size) by ``fill_mode`` ("constant" clamps; the tap is
    then replaced by the fill value)."""
    xp = get_array_module(index)
    if fill_mode in ("constant", "nearest"):
        return xp.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "mirror":
        return _mirror(index, size)
    return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2  # reflect


def _product(weights):
    """Π of the per-axis weights (None: an axis of weight 1), or None when all are 1."""
    w = None
    for wd in weights:
        if wd is not None:
            w = wd if w is None else w * wd
    return w


class Sample(Function):
    """y[n, o…, c] = Σ_corners (Π_d w_d)·x[n, idx_0, …, idx_{r−1}, c] at coordinates c_d[n, o…].

    ``x``: (batch, *spatial, channels); each coordinate array: (batch, *out) (its dtype sets the weights').
    Config: ``order`` (0/1), ``fill_mode``, ``fill_value``. Output (batch, *out, channels) in the dtype of
    the weights and x promoted; the caller casts.
    """

    def forward(self, x, *coords):
        xp = get_array_module(x)
        n, spatial, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
        self.x_shape, self.x_dtype = x.shape, x.dtype
        strides = [math.prod(spatial[d + 1:]) for d in range(len(spatial))]
        base = xp.arange(n).reshape((n,) + (1,) * (coords[0].ndim - 1)) * math.prod(spatial)
        taps = []  # per axis: [(index, valid or None, weight or None, sign)]
        for c, size in zip(coords, spatial):
            if self.order == 0:
                index = c if c.dtype.kind in "iu" else xp.round(c)
                pairs = [(index.astype(numpy.int64), None, 0.0)]
            else:
                lower = xp.floor(c)
                upper_w = c - lower
                lower = lower.astype(numpy.int64)
                pairs = [(lower, 1.0 - upper_w, -1.0), (lower + 1, upper_w, 1.0)]
            axis_taps = []
            for index, weight, sign in pairs:
                valid = ((index >= 0) & (index < size)) if self.fill_mode == "constant" else None
                axis_taps.append((fix_index(index, size, self.fill_mode), valid, weight, sign))
            taps.append(axis_taps)
        self.corners = []
        flat = x.reshape(-1, channels)
        dtype = numpy.result_type(x.dtype, *(c.dtype for c in coords if c.dtype.kind == "f"))
        if dtype.kind != "f":
            dtype = numpy.dtype(numpy.float32)
        fill = xp.asarray(self.fill_value, dtype=dtype)
        y = None
        for corner in itertools.product(*taps):
            index = base + sum(t[0] * s for t, s in zip(corner, strides))
            valid = None
            for t in corner:
                if t[1] is not None:
                    valid = t[1] if valid is None else valid & t[1]
            weights = [t[2] for t in corner]
            w = _product(weights)
            values = flat[index].astype(dtype, copy=False)
            if valid is not None:
                values = xp.where(valid[..., None], values, fill)
            part = values if w is None else values * w[..., None].astype(dtype, copy=False)
            y = part if y is None else y + part
            self.corners.append((index, valid, weights, [t[3] for t in corner]))
        self.x = x if self.order == 1 else None  # for the coordinates' gradient
        self.coord_dtypes = [c.dtype for c in coords]
        return y

    def backward(self, gy):
        # dL/dx[corner] += Π_d w_d · gy (0 where the corner read the fill value): a scatter-add (bincount)
        xp = get_array_module(gy)
        channels = self.x_shape[-1]
        gx = None
        if self.inputs[0].requires_grad:
            size = math.prod(self.x_shape)
            gx = xp.zeros(size, dtype=numpy.float64)
            for index, valid, weights, _ in self.corners:
                w = _product(weights)
                g = gy if w is None else gy * w[..., None]
                if valid is not None:
                    g = g * valid[..., None]
                full = index[..., None] * channels + xp.arange(channels)
                gx += xp.bincount(full.reshape(-1), weights=g.reshape(-1), minlength=size)
            gx = gx.reshape(self.x_shape).astype(self.x_dtype, copy=False)
        gcoords = [self._coordinate_grad(gy, d) if t.requires_grad else None for d, t in enumerate(self.inputs[1:])]
        return (gx, *gcoords)

    def _coordinate_grad(self, gy, d: int):
        # dL/dc_d = Σ_corners sign_d · Π_{e≠d} w_e · Σ_channels gy · x[corner]
        xp = get_array_module(gy)
        shape, dtype = self.corners[0][0].shape, self.coord_dtypes[d]
        if self.order == 0:
            return xp.zeros(shape, dtype)
        flat = self.x.reshape(-1, self.x_shape[-1])
        fill = xp.asarray(self.fill_value, dtype=gy.dtype)
        g = xp.zeros(shape, gy.dtype)
        for index, valid, weights, signs in self.corners:
            values = flat[index].astype(gy.dtype, copy=False)
            if valid is not None:
                values = xp.where(valid[..., None], values, fill)
            term = (gy * values).sum(axis=-1) * signs[d]
            for e, we in enumerate(weights):
                if e != d:
                    term = term * we
            g += term
        return g.astype(dtype)


def sample(x, coords, order: int, fill_mode: str, fill_value) -> Tensor:
    """:class:`Sample` of x (batch, *spatial, channels) at ``coords`` (one (batch, *out) tensor per
    spatial axis), in x's dtype (integer x rounded half to even)."""
    y = Sample.apply(x, *coords, order=order, fill_mode=fill_mode, fill_value=fill_value)
    x_dtype = x.dtype
    if numpy.dtype(x_dtype).kind in "iub":
        return Tensor(get_array_module(y.data).round(y.data).astype(x_dtype))
    return restore_dtype(y, x_dtype)


def _check_fill_mode(fill_mode, fn: str) -> None:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{fn}: expected fill_mode to be one of {list(FILL_MODES)}, received fill_mode={fill_mode!r}")


def _order_of(interpolation, fn: str) -> int:
    if interpolation not in INTERPOLATION_ORDERS:
        raise ValueError(f"{fn}: expected interpolation to be one of {list(INTERPOLATION_ORDERS)}, "
                         f"received interpolation={interpolation!r}")
    return INTERPOLATION_ORDERS[interpolation]


def _fill_value(fill_value, x: Tensor):
    """Keras turns the fill value of integer inputs into an int."""
    if numpy.dtype(x.dtype).kind in "iu" and isinstance(fill_value, numbers.Real):
        return int(fill_value)
    return fill_value


# ----------------------------------------------------------------------------------------------
# keras.ops.image.map_coordinates
# ----------------------------------------------------------------------------------------------
def map_coordinates(inputs, coordinates, order, fill_mode: str = "constant", fill_value=0) -> Tensor:
    """Sample ``inputs`` (any rank r) at ``coordinates`` — an array (r, *out) or r arrays of one shape
    — by nearest (``order`` 0) or linear (``order`` 1) interpolation, as ``keras.ops.image.map_coordinates``.

    y[o] = Σ_corners (Π_d w_d(c_d[o]))·inputs[corner] (the taps and fill modes: the module docstring).
    Output shape ``out``, in the dtype of ``inputs`` (integers rounded). Differentiable in ``inputs``
    and, for order 1, in ``coordinates`` (order 0 is piecewise constant in them: gradient 0).
    """
    from .math import getitem, reshape  # noqa: PLC0415

    fn = "map_coordinates"
    x = as_tensor(inputs)
    if isinstance(coordinates, (list, tuple)):
        coords = [as_tensor(c) for c in coordinates]
    else:
        whole = as_tensor(coordinates)
        coords = [getitem(whole, i) for i in range(whole.shape[0])] if whole.ndim else [whole]
    if len(coords) != x.ndim:
        raise ValueError(f"{fn}: expected coordinates whose first dimension ({len(coords)}) is the rank of inputs "
                         f"({x.ndim}); received inputs of shape {tuple(x.shape)}")
    if coords[0].ndim < 1:
        raise ValueError(f"{fn}: expected coordinates of rank at least 2 (rank(inputs), ...), received shape "
                         f"{(len(coords),)}")
    _check_fill_mode(fill_mode, fn)
    if order not in (0, 1) or isinstance(order, bool):
        raise NotImplementedError(f"{fn}: only order 0 (nearest) and 1 (linear) are implemented, received "
                                  f"order={order!r}")
    try:
        out_shape = numpy.broadcast_shapes(*(c.shape for c in coords))
    except ValueError:
        raise ValueError(f"{fn}: expected coordinate arrays of one shape, received shapes "
                         f"{[tuple(c.shape) for c in coords]}") from None
    coords = [reshape(_broadcast(c, out_shape), (1, *out_shape)) for c in coords]
    if order == 1:
        coords = [c if c.dtype.kind == "f" else Tensor(c.data.astype(numpy.float32)) for c in coords]
    y = sample(reshape(x, (1, *x.shape, 1)), coords, order, fill_mode, _fill_value(fill_value, x))
    return reshape(y, out_shape)


def _broadcast(c: Tensor, shape) -> Tensor:
    """c broadcast to ``shape`` (an addition of zeros, whose backward sums the copies back)."""
    from .math import add  # noqa: PLC0415

    if tuple(c.shape) == tuple(shape):
        return c
    return add(c, Tensor(get_array_module(c.data).zeros(shape, c.dtype)))


# ----------------------------------------------------------------------------------------------
# affine and perspective transforms
# ----------------------------------------------------------------------------------------------
def _channels_last(x: Tensor, data_format: str) -> tuple[Tensor, bool]:
    """x as (batch, height, width, channels); and whether it was a single image."""
    from .math import reshape, transpose  # noqa: PLC0415

    single = x.ndim == 3
    if single:
        x = reshape(x, (1, *x.shape))
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 1))
    return x, single


def _restore_layout(y: Tensor, data_format: str, single: bool) -> Tensor:
    from .math import reshape, transpose  # noqa: PLC0415

    if data_format == "channels_first":
        y = transpose(y, (0, 3, 1, 2))
    if single:
        y = reshape(y, y.shape[1:])
    return y


def _grid(height: int, width: int, dtype, like):
    """Row and column indices, (1, height, 1) and (1, 1, width), in the array module of ``like``."""
    xp = get_array_module(like)
    rows = xp.arange(height, dtype=dtype).reshape(1, height, 1)
    cols = xp.arange(width, dtype=dtype).reshape(1, 1, width)
    return Tensor(rows), Tensor(cols)


def _per_image(params: Tensor, n: int, what: str, fn: str) -> Tensor:
    """(batch, k) parameters for n images: one row is shared by the batch."""
    if params.shape[0] in (n, 1):  # a single row broadcasts against the batch's grid
        return params
    raise ValueError(f"{fn}: expected one {what} per image ({n}) or a single one, received {params.shape[0]}")


def _column(params: Tensor, k: int) -> Tensor:
    """params[:, k] as (batch, 1, 1), to broadcast against the pixel grid."""
    from .math import getitem, reshape  # noqa: PLC0415

    return reshape(getitem(params, (slice(None), k)), (params.shape[0], 1, 1))


def _sample_images(x: Tensor, rows: Tensor, cols: Tensor, order: int, fill_mode: str, fill_value) -> Tensor:
    """Sample (batch, H, W, C) images at (batch, H, W) row and column coordinates."""
    shape = x.shape[:3]
    return sample(x, [_broadcast(rows, shape), _broadcast(cols, shape)], order, fill_mode, _fill_value(fill_value, x))


def affine_transform(images, transform, interpolation: str = "bilinear", fill_mode: str = "constant", fill_value=0,
                     data_format: str | None = None) -> Tensor:
    """Apply projective transforms to images, as ``keras.ops.image.affine_transform``.

    A row ``transform`` = [a0, a1, a2, b0, b1, b2, c0, c1] maps the output pixel (x, y) (column, row)
    to the input point ((a0·x + a1·y + a2)/k, (b0·x + b1·y + b2)/k), k = c0·x + c1·y + 1, sampled by
    ``interpolation`` ("nearest"/"bilinear") with ``fill_mode`` outside the image. ``transform`` is
    (8,) or (batch, 8); a single row applies to the whole batch (TensorFlow's rule; Keras's torch and
    JAX backends require one row per image). Keras's torch and JAX backends mishandle c0, c1 (they
    multiply the channel index); neuronka divides by k as documented and as TensorFlow does, so the
    two agree whenever c0 = c1 = 0. Differentiable in ``images`` and, for "bilinear", in ``transform``.
    """
    fn = "affine_transform"
    order = _order_of(interpolation, fn)
    _check_fill_mode(fill_mode, fn)
    data_format = data_format_of(data_format, fn)
    x = as_images(images, fn)
    t = as_tensor(transform)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"{fn}: expected transform of shape (8,) or (batch, 8), received shape {tuple(t.shape)}")
    x, single = _channels_last(x, data_format)
    if t.ndim == 1:
        from .math import reshape  # noqa: PLC0415

        t = reshape(t, (1, 8))
    t = _per_image(t, x.shape[0], "transform", fn)
    if t.dtype.kind != "f":
        t = Tensor(t.data.astype(numpy.float32))
    rows, cols = _grid(x.shape[1], x.shape[2], t.dtype, x.data)
    a0, a1, a2, b0, b1, b2, c0, c1 = (_column(t, k) for k in range(8))
    src_cols = a0 * cols + a1 * rows + a2
    src_rows = b0 * cols + b1 * rows + b2
    if t.requires_grad or numpy.any(t.data[:, 6:] != 0):  # k = 1 exactly otherwise
        k = c0 * cols + c1 * rows + 1.0
        src_cols, src_rows = src_cols / k, src_rows / k
    y = _sample_images(x, src_rows, src_cols, order, fill_mode, fill_value)
    return _restore_layout(y, data_format, single)


class Homography(Function):
    """The 8 parameters h of the homography taking the end points to the start points: A(e, s)·h = b(s),
    two rows per point (x_s = (h0·x_e + h1·y_e + h2)/(h6·x_e + h7·y_e + 1), y_s likewise with h3, h4, h5):

        [x_e, y_e, 1, 0, 0, 0, −x_s·x_e, −x_s·y_e]·h = x_s
        [0, 0, 0, x_e, y_e, 1, −y_s·x_e, −y_s·y_e]·h = y_s
    """

    def forward(self, start, end):
        xp = get_array_module(start)
        self.start, self.end = start, end
        self.a = self._matrix(start, end)
        b = start.reshape(start.shape[0], 8)  # x_s1, y_s1, x_s2, ...
        self.h = xp.linalg.solve(self.a, b[..., None])[..., 0]
        return self.h

    @staticmethod
    def _matrix(start, end):
        xp = get_array_module(start)
        xs, ys, xe, ye = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
        zero, one = xp.zeros_like(xe), xp.ones_like(xe)
        x_rows = xp.stack([xe, ye, one, zero, zero, zero, -xs * xe, -xs * ye], axis=-1)
        y_rows = xp.stack([zero, zero, zero, xe, ye, one, -ys * xe, -ys * ye], axis=-1)
        return xp.stack([x_rows, y_rows], axis=2).reshape(start.shape[0], 8, 8)

    def backward(self, gh):
        # A h = b: dL/db = λ = A⁻ᵀ gh, dL/dA = −λ hᵀ; then through A's and b's entries to the points
        xp = get_array_module(gh)
        lam = xp.linalg.solve(xp.swapaxes(self.a, 1, 2), gh[..., None])[..., 0]
        ga = -lam[:, :, None] * self.h[:, None, :]
        gax, gay = ga[:, 0::2], ga[:, 1::2]  # the x rows and y rows, (batch, 4 points, 8)
        xs, ys, xe, ye = self.start[..., 0], self.start[..., 1], self.end[..., 0], self.end[..., 1]
        g_xs = lam[:, 0::2] - gax[..., 6] * xe - gax[..., 7] * ye
        g_ys = lam[:, 1::2] - gay[..., 6] * xe - gay[..., 7] * ye
        g_xe = gax[..., 0] + gay[..., 3] - gax[..., 6] * xs - gay[..., 6] * ys
        g_ye = gax[..., 1] + gay[..., 4] - gax[..., 7] * xs - gay[..., 7] * ys
        return xp.stack([g_xs, g_ys], axis=-1), xp.stack([g_xe, g_ye], axis=-1)


def _points(points, name: str, dtype, fn: str) -> Tensor:
    from .math import cast, reshape  # noqa: PLC0415

    p = as_tensor(points)
    if p.ndim not in (2, 3) or tuple(p.shape[-2:]) != (4, 2):
        raise ValueError(f"{fn}: expected {name} of shape (4, 2) for a single image or (batch, 4, 2), received "
                         f"shape {tuple(p.shape)}")
    if p.dtype != dtype:
        p = cast(p, numpy.dtype(dtype).name)
    return reshape(p, (1, 4, 2)) if p.ndim == 2 else p


def perspective_transform(images, start_points, end_points, interpolation: str = "bilinear", fill_value=0,
                          data_format: str | None = None) -> Tensor:
    """Warp images by the perspective transform taking ``end_points`` to ``start_points``, as
    ``keras.ops.image.perspective_transform``: output pixel (x, y) samples the input at
    ((h0·x + h1·y + h2)/D, (h3·x + h4·y + h5)/D), D = h6·x + h7·y + 1, with h solved from the four point
    pairs (:class:`Homography`); outside the image, ``fill_value``. Points are (x, y) = (column, row),
    (4, 2) or (batch, 4, 2) (one set shared by the batch, or one per image). Differentiable in ``images``
    and, for "bilinear", in both sets of points.
    """
    fn = "perspective_transform"
    order = _order_of(interpolation, fn)
    data_format = data_format_of(data_format, fn)
    x = as_images(images, fn)
    point_dtype = x.dtype if x.dtype.kind == "f" else numpy.dtype(numpy.float32)
    start = _points(start_points, "start_points", point_dtype, fn)
    end = _points(end_points, "end_points", point_dtype, fn)
    if start.shape != end.shape:
        raise ValueError(f"{fn}: expected start_points and end_points of the same shape, received "
                         f"{tuple(start.shape)} and {tuple(end.shape)}")
    x, single = _channels_last(x, data_format)
    start = _per_image(start, x.shape[0], "set of points", fn)
    end = _per_image(end, x.shape[0], "set of points", fn)
    h = Homography.apply(compute_float(start), compute_float(end))
    if h.dtype != point_dtype:
        from .math import cast  # noqa: PLC0415

        h = cast(h, point_dtype.name)
    rows, cols = _grid(x.shape[1], x.shape[2], point_dtype, x.data)
    h0, h1, h2, h3, h4, h5, h6, h7 = (_column(h, k) for k in range(8))
    denom = h6 * cols + h7 * rows + 1.0
    src_cols = (h0 * cols + h1 * rows + h2) / denom
    src_rows = (h3 * cols + h4 * rows + h5) / denom
    y = _sample_images(x, src_rows, src_cols, order, "constant", fill_value)
    return _restore_layout(y, data_format, single)


# ----------------------------------------------------------------------------------------------
# keras.ops.image.elastic_transform
# ----------------------------------------------------------------------------------------------
def elastic_transform(images, alpha: float = 20.0, sigma: float = 5.0, interpolation: str = "bilinear",
                      fill_mode: str = "reflect", fill_value: float = 0.0, seed=None,
                      data_format: str | None = None) -> Tensor:
    """Elastic deformation of images, as ``keras.ops.image.elastic_transform``.

    Per image, two fields of independent N(0, 1)·σ noise (x, then y; drawn from ``neuronka.random``
    with ``seed``) are blurred by a normalised Gaussian of size int(6σ) | 1 and standard deviation σ
    (zero padding), scaled by α, and added to the pixel coordinates; the image is sampled there by
    ``interpolation`` with ``fill_mode``. The same seed gives the same deformation (Keras's torch
    backend ignores its seed on the CPU). Float images only, as Keras; σ must be positive (Keras's
    σ = 0 gives NaN). Differentiable in ``images``.
    """
    from .. import random as nk_random  # noqa: PLC0415

    fn = "elastic_transform"
    order = _order_of(interpolation, fn)
    _check_fill_mode(fill_mode, fn)
    data_format = data_format_of(data_format, fn)
    x = as_images(images, fn)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: expected images of a float dtype, received images of dtype {x.dtype}")
    (alpha,) = constant_floats(alpha, 1, "alpha", fn)
    (sigma,) = constant_floats(sigma, 1, "sigma", fn)
    if not sigma > 0:
        raise ValueError(f"{fn}: expected sigma > 0, received sigma={sigma}")
    x, single = _channels_last(x, data_format)
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    rng = nk_random.generator(seed)
    noise_dtype = numpy.float64 if x.dtype == numpy.float64 else numpy.float32
    size = int(6 * sigma) | 1
    kernel = gaussian_kernel1d(size, sigma).astype(noise_dtype)
    shifts = []
    for _ in range(2):  # dx, then dy
        field = rng.standard_normal((n, h, w), dtype=noise_dtype) * noise_dtype(sigma)
        field = correlate_array(correlate_array(field, kernel, 1, (size // 2,) * 2), kernel, 2, (size // 2,) * 2)
        shifts.append(noise_dtype(alpha) * field)
    xp = get_array_module(x.data)  # the noise is drawn on the CPU (neuronka.random), then moved to x's device
    rows = xp.asarray(numpy.arange(h, dtype=noise_dtype).reshape(1, h, 1) + shifts[1])
    cols = xp.asarray(numpy.arange(w, dtype=noise_dtype).reshape(1, 1, w) + shifts[0])
    y = _sample_images(x, Tensor(rows), Tensor(cols), order, fill_mode, fill_value)
    return _restore_layout(y, data_format, single)

"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D/2D/3D, Cropping1D/2D/3D,
UpSampling1D/2D/3D.

None of them has weights; each is a rearrangement of values whose backward is the inverse
rearrangement (done by the shape ops in :mod:`neuronka.ops.math`): a reshape or transpose is undone,
the gradient of padding is dropped, the gradient of a crop is zero-padded back, and the gradient of a
nearest-neighbour repeat is the sum over the copies. Spatial layers take ``data_format`` =
``"channels_last"`` (default, (N, ..., C)) or ``"channels_first"`` ((N, C, ...)).
"""
from __future__ import annotations

import math
from typing import Any

import numpy

from .. import ops
from ..backend import get_array_module
from ..ops.convolution import normalize_data_format
from .base import InputSpec, Layer

__all__ = [
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Flatten",
    "Permute",
    "RepeatVector",
    "Reshape",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
]


def standardize_data_format(layer: str, data_format: str | None) -> str:
    """``None`` → ``"channels_last"``; otherwise checked, the error naming ``layer`` (used by the layers of
    :mod:`.convolutional` too; the rule itself is :func:`neuronka.ops.convolution.normalize_data_format`)."""
    return normalize_data_format(data_format, layer)


def _spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """The axes of the ``rank`` spatial dimensions of an (N, ..., C) or (N, C, ...) tensor."""
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))


def _int_tuple(layer: str, arg: str, value, n: int, allow_zero: bool = True) -> tuple[int, ...]:
    """An int or n ints, as a tuple of n non-negative (or positive) ints."""
    items = (value,) * n if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    low = 0 if allow_zero else 1
    if (items is None or len(items) != n
            or not all(isinstance(v, (int, numpy.integer)) and not isinstance(v, bool) and v >= low for v in items)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: expected `{arg}` to be a {kind} int or a tuple of {n} {kind} ints, "
                         f"received {arg}={value!r}")
    return tuple(int(v) for v in items)


def _pairs(layer: str, arg: str, value, rank: int) -> tuple[tuple[int, int], ...]:
    """Keras's padding/cropping spec for ``rank`` spatial axes → ((before, after), ...) per axis.

    An int p: p on both sides of every axis; ``rank`` ints: symmetric per axis; ``rank`` pairs: as given.
    """
    expected = (f"an int, a tuple of {rank} ints, or a tuple of {rank} tuples of 2 ints "
                f"(all non-negative)")
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{layer}: expected `{arg}` to be {expected}, received {arg}={value!r}")
        return ((int(value), int(value)),) * rank
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{layer}: expected `{arg}` to be {expected}, received {arg}={value!r}") from None
    if len(items) != rank:
        raise ValueError(f"{layer}: expected `{arg}` to be {expected}, received {arg}={value!r}")
    out = []
    for item in items:
        if isinstance(item, (int, numpy.integer)) and not isinstance(item, bool):
            out.append((int(item), int(item)))
        else:
            out.append(_int_tuple(layer, arg, item, 2))
    if any(a < 0 or b < 0 for a, b in out):
        raise ValueError(f"{layer}: expected `{arg}` to be {expected}, received {arg}={value!r}")
    return tuple(out)


# ----------------------------------------------------------------------------------
# Flatten, Reshape, Permute, RepeatVector
# ----------------------------------------------------------------------------------
class Flatten(Layer):
    """(N, d1, d2, ...) → (N, d1·d2·...). With ``data_format="channels_first"`` the channel axis is first
    moved last, so that the flattened order matches a channels_last model's."""

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = ops.transpose(x, (0, *range(2, x.ndim), 1))
        return ops.reshape(x, (x.shape[0], int(numpy.prod(x.shape[1:], dtype=numpy.int64))))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(s is None for s in rest) else int(math.prod(rest)))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """(N, ...) → (N, *target_shape); one entry of ``target_shape`` may be −1 (inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(int(s) for s in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Reshape: expected `target_shape` to be a tuple of ints, "
                             f"received target_shape={target_shape!r}") from None
        if sum(s == -1 for s in target) > 1 or any(s < -1 or s == 0 for s in target):
            raise ValueError(f"Reshape: expected `target_shape` of positive ints with at most one -1, "
                             f"received target_shape={target_shape!r}")
        self.target_shape = target
        self.built = True  # nothing to build (Keras's Reshape is built at once: no build config)

    def _resolve(self, rest) -> tuple:
        """``target_shape`` with its −1 replaced, for input non-batch dims ``rest`` (None when unknown)."""
        known = math.prod(s for s in self.target_shape if s != -1)
        if any(s is None for s in rest):
            return tuple(None if s == -1 else s for s in self.target_shape)
        total = math.prod(rest)
        if -1 in self.target_shape:
            if known == 0 or total % known:
                raise ValueError(f"Reshape {self.name!r}: cannot reshape an input of shape {tuple(rest)} "
                                 f"({total} values per sample) into target_shape={self.target_shape}")
            return tuple(total // known if s == -1 else s for s in self.target_shape)
        if known != total:
            raise ValueError(f"Reshape {self.name!r}: the total size must be unchanged; received an input of shape "
                             f"{tuple(rest)} ({total} values per sample) and target_shape={self.target_shape} "
                             f"({known} values)")
        return self.target_shape

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], *self._resolve(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolve(input_shape[1:]))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..n (1-indexed, the batch axis stays 0).

    y[b, i_dims[0], i_dims[1], ...] = x[b, i_1, i_2, ...]; the backward applies the inverse permutation.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: expected `dims` to be a permutation of 1..{len(dims)} (the batch axis 0 "
                             f"is never permuted), received dims={dims!r}")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return ops.transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """(N, F) → (N, n, F): y[:, i, :] = x for every i; backward dL/dx = Σ_i dL/dy[:, i, :]."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n <= 0:
            raise ValueError(f"RepeatVector: expected a positive integer for `n`, received n={n!r}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        xp = get_array_module(inputs)
        # broadcasting against zeros (1, n, 1): the add op's backward sums the n copies
        return ops.expand_dims(inputs, 1) + xp.zeros((1, self.n, 1), dtype=inputs.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


# ----------------------------------------------------------------------------------
# zero padding and cropping
# ----------------------------------------------------------------------------------
class _ZeroPadding(Layer):
    """Zeros added before/after each spatial axis; backward: the gradient of the padding is dropped."""

    rank = 0

    def __init__(self, padding, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.data_format = normalize_data_format(data_format, name)
        if self.rank == 1:
            if isinstance(padding, (int, numpy.integer)) and not isinstance(padding, bool):
                padding = (padding, padding)
            self.padding = (_int_tuple(name, "padding", padding, 2),)
        else:
            self.padding = _pairs(name, "padding", padding, self.rank)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _pad_width(self, ndim):
        width = [(0, 0)] * ndim
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            width[axis] = pair
        return width

    def call(self, inputs):
        return ops.pad(inputs, self._pad_width(inputs.ndim))

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + a + b
        return tuple(out)

    def get_config(self) -> dict:
        padding: Any = list(self.padding[0]) if self.rank == 1 else [list(p) for p in self.padding]
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """(N, L, C) → (N, left + L + right, C), zeros outside. ``padding``: int or (left, right)."""

    rank = 1

    def __init__(self, padding=1, data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """(N, H, W, C) → (N, top + H + bottom, left + W + right, C), zeros outside.

    ``padding``: int, (sym_h, sym_w), or ((top, bottom), (left, right)).
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """(N, D, H, W, C) zero-padded on D, H, W. ``padding``: int, 3 ints, or 3 pairs."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(Layer):
    """y = x[:, a:L−b, ...] on each spatial axis; backward: the gradient is zero-padded back."""

    rank = 0

    def __init__(self, cropping, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.data_format = normalize_data_format(data_format, name)
        if self.rank == 1:
            if isinstance(cropping, (int, numpy.integer)) and not isinstance(cropping, bool):
                cropping = (cropping, cropping)
            self.cropping = (_int_tuple(name, "cropping", cropping, 2),)
        else:
            self.cropping = _pairs(name, "cropping", cropping, self.rank)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _check(self, input_shape):
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            n = input_shape[axis]
            if n is not None and a + b >= n:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: `cropping` must leave at least one element on every "
                    f"cropped axis; received an input of shape {tuple(input_shape)} and cropping={self.cropping}")

    def call(self, inputs):
        self._check(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - a - b
        return tuple(out)

    def get_config(self) -> dict:
        config = {**super().get_config()}
        if self.rank == 1:
            config["cropping"] = list(self.cropping[0])
        else:
            config.update(cropping=[list(c) for c in self.cropping], data_format=self.data_format)
        return config


class Cropping1D(_Cropping):
    """(N, L, C) → (N, L − start − end, C). ``cropping``: int or (start, end)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)


class Cropping2D(_Cropping):
    """(N, H, W, C) → (N, H − top − bottom, W − left − right, C).

    ``cropping``: int, (sym_h, sym_w), or ((top, bottom), (left, right)).
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """(N, D, H, W, C) cropped on D, H, W. ``cropping``: int, 3 ints, or 3 pairs."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


# ----------------------------------------------------------------------------------
# upsampling
# ----------------------------------------------------------------------------------
def repeat_nearest(x, sizes, axes):
    """Nearest-neighbour upsampling of any rank (UpSampling3D): each value repeated ``sizes[i]`` times
    along ``axes[i]``, y[..., i·s + k, ...] = x[..., i, ...] for 0 ≤ k < s.

    A length-1 axis is inserted after each upsampled axis and broadcast against zeros of length s (the
    add op's backward then sums the s copies: dL/dx[i] = Σ_k dL/dy[i·s + k]); then the pairs of axes
    are merged. 1-D and 2-D upsampling use :func:`neuronka.ops.image.upsample`.
    """
    xp = get_array_module(x)
    split, zeros_shape, final = [], [], []
    for i, n in enumerate(x.shape):
        split.append(n)
        zeros_shape.append(1)
        final.append(n)
        if i in axes:
            s = sizes[axes.index(i)]
            split.append(1)
            zeros_shape.append(s)
            final[-1] = n * s
    y = ops.reshape(x, tuple(split)) + xp.zeros(tuple(zeros_shape), dtype=x.dtype)
    return ops.reshape(y, tuple(final))


class _UpSampling(Layer):
    rank = 0
    interpolations = ("nearest",)

    def __init__(self, size, data_format: str | None = None, interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.size = _int_tuple(name, "size", size, self.rank, allow_zero=False)
        self.data_format = normalize_data_format(data_format, name)
        interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if interpolation not in self.interpolations:
            raise ValueError(f"{name}: expected `interpolation` to be one of {list(self.interpolations)}, "
                             f"received interpolation={interpolation!r}")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        if self.rank == 3:
            return repeat_nearest(inputs, list(self.size), list(_spatial_axes(self.rank, self.data_format)))
        from ..ops import image  # noqa: PLC0415

        size = self.size[0] if self.rank == 1 else self.size
        if self.interpolation not in ("nearest", "bilinear"):  # Keras: a resize to (h·s_h, w·s_w)
            h, w = _spatial_axes(2, self.data_format)
            return image.resize(inputs, (inputs.shape[h] * size[0], inputs.shape[w] * size[1]), self.interpolation,
                                data_format=self.data_format)
        return image.upsample(inputs, size, interpolation=self.interpolation, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, s in zip(_spatial_axes(self.rank, self.data_format), self.size):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def get_config(self) -> dict:
        config = {**super().get_config(), "size": self.size[0] if self.rank == 1 else list(self.size)}
        if self.rank > 1:
            config["data_format"] = self.data_format
        if len(self.interpolations) > 1:
            config["interpolation"] = self.interpolation
        return config


class UpSampling1D(_UpSampling):
    """(N, L, C) → (N, L·size, C), each step repeated ``size`` times."""

    rank = 1

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(size, None, "nearest", **kwargs)


class UpSampling2D(_UpSampling):
    """(N, H, W, C) → (N, H·sh, W·sw, C).

    ``interpolation="nearest"``: each pixel repeated sh × sw times. ``"bilinear"``, ``"bicubic"``,
    ``"lanczos3"``, ``"lanczos5"``: resized with :func:`neuronka.ops.image.resize` to (H·sh, W·sw) (half-pixel
    centres), as Keras does.
    """

    rank = 2
    interpolations = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")

    def __init__(self, size=(2, 2), data_format: str | None = None, interpolation: str = "nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    """(N, D, H, W, C) → (N, D·sd, H·sh, W·sw, C), nearest neighbour."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format: str | None = None, **kwargs):
        super().__init__(size, data_format, "nearest", **kwargs)

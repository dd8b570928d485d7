"""Rearranging pixels: ``keras.ops.image.crop_images``, ``pad_images``, ``extract_patches`` and
``extract_patches_3d``; differentiable in the images.

A patch is the window of the (zero-padded) input under one output position, flattened with the
channels fastest, as Keras's convolution with an identity kernel orders it:

    y[n, o…, (a·K_w + b)·C + c] = x_pad[n, o_h·s_h + a·d_h, o_w·s_w + b·d_w, c]      (2-D; 3-D alike)

Its adjoint is overlap-add: each window's gradient is added back where the window was read.
"""
from __future__ import annotations

import itertools
import math

import numpy

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._image import as_images, data_format_of, int_tuple, spatial_axes
from .conv_args import same_padding


# ----------------------------------------------------------------------------------------------
# keras.ops.image.pad_images / crop_images
# ----------------------------------------------------------------------------------------------
def _two_of_three(first, second, target, names, fn: str) -> None:
    if [first, second, target].count(None) != 1:
        raise ValueError(f"{fn}: expected exactly two of {', '.join(names)}; received "
                         f"{names[0]}={first}, {names[1]}={second}, {names[2]}={target}")
    for name, value in zip(names, (first, second, target)):
        if value is not None and value < 0:
            raise ValueError(f"{fn}: expected {name} >= 0, received {name}={value}")


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format: str | None = None) -> Tensor:
    """Pad images with zeros, as ``keras.ops.image.pad_images``: along the height, exactly two of
    ``top_padding``, ``bottom_padding``, ``target_height`` (= top + height + bottom) are given; along the
    width, two of ``left_padding``, ``right_padding``, ``target_width``. Differentiable in ``images``.
    """
    from .math import pad  # noqa: PLC0415

    fn = "pad_images"
    x = as_images(images, fn)
    data_format = data_format_of(data_format, fn)
    _two_of_three(top_padding, bottom_padding, target_height, ("top_padding", "bottom_padding", "target_height"), fn)
    _two_of_three(left_padding, right_padding, target_width, ("left_padding", "right_padding", "target_width"), fn)
    h_axis, w_axis, _ = spatial_axes(x.ndim, data_format)
    height, width = x.shape[h_axis], x.shape[w_axis]
    if top_padding is None:
        top_padding = target_height - bottom_padding - height
    if bottom_padding is None:
        bottom_padding = target_height - top_padding - height
    if left_padding is None:
        left_padding = target_width - right_padding - width
    if right_padding is None:
        right_padding = target_width - left_padding - width
    for name, value in (("top_padding", top_padding), ("left_padding", left_padding),
                        ("right_padding", right_padding), ("bottom_padding", bottom_padding)):
        if value < 0:
            raise ValueError(f"{fn}: expected {name} >= 0 (the target is smaller than the image of shape "
                             f"{tuple(x.shape)}), received {name}={value}")
    widths = [(0, 0)] * x.ndim
    widths[h_axis], widths[w_axis] = (int(top_padding), int(bottom_padding)), (int(left_padding), int(right_padding))
    return pad(x, widths)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format: str | None = None) -> Tensor:
    """Crop images, as ``keras.ops.image.crop_images``: along the height, exactly two of ``top_cropping``,
    ``bottom_cropping``, ``target_height`` (= height − top − bottom) are given; along the width, two of
    ``left_cropping``, ``right_cropping``, ``target_width``. A crop reaching past the image is an error
    (Keras's torch backend silently returns fewer rows). Differentiable in ``images``.
    """
    from .math import getitem  # noqa: PLC0415

    fn = "crop_images"
    x = as_images(images, fn)
    data_format = data_format_of(data_format, fn)
    _two_of_three(top_cropping, bottom_cropping, target_height,
                  ("top_cropping", "bottom_cropping", "target_height"), fn)
    _two_of_three(left_cropping, right_cropping, target_width,
                  ("left_cropping", "right_cropping", "target_width"), fn)
    h_axis, w_axis, _ = spatial_axes(x.ndim, data_format)
    height, width = x.shape[h_axis], x.shape[w_axis]
    if top_cropping is None:
        top_cropping = height - target_height - bottom_cropping
    if target_height is None:
        target_height = height - bottom_cropping - top_cropping
    if left_cropping is None:
        left_cropping = width - target_width - right_cropping
    if target_width is None:
        target_width = width - right_cropping - left_cropping
    for name, value in (("top_cropping", top_cropping), ("target_height", target_height),
                        ("left_cropping", left_cropping), ("target_width", target_width)):
        if value < 0:
            raise ValueError(f"{fn}: expected {name} >= 0 (the crop is larger than the image of shape "
                             f"{tuple(x.shape)}), received {name}={value}")
    if top_cropping + target_height > height or left_cropping + target_width > width:
        raise ValueError(f"{fn}: the crop (top {top_cropping}, height {target_height}, left {left_cropping}, width "
                         f"{target_width}) reaches past the image of shape {tuple(x.shape)}")
    index = [slice(None)] * x.ndim
    index[h_axis] = slice(int(top_cropping), int(top_cropping + target_height))
    index[w_axis] = slice(int(left_cropping), int(left_cropping + target_width))
    return getitem(x, tuple(index))


# ----------------------------------------------------------------------------------------------
# keras.ops.image.extract_patches / extract_patches_3d
# ----------------------------------------------------------------------------------------------
class ExtractPatches(Function):
    """Patches of x (batch, *spatial, channels), channels last:
    y[n, o…, flat(t…, c)] = x_pad[n, o·s + t·d …, c], x_pad with ``pads`` zeros around each spatial axis."""

    def forward(self, x):
        xp = get_array_module(x)
        nd = x.ndim - 2
        self.x_shape = x.shape
        widths = [(0, 0), *self.pads, (0, 0)]
        xpad = xp.pad(x, widths) if any(lo or hi for lo, hi in self.pads) else x
        reach = [(k - 1) * d + 1 for k, d in zip(self.size, self.dilation)]
        windows = xp.lib.stride_tricks.sliding_window_view(xpad, reach, axis=tuple(range(1, nd + 1)))
        # windows: (n, *positions, c, *reach) → every stride-th position, every dilation-th tap
        pick = (slice(None),) + tuple(slice(None, None, s) for s in self.strides) + (slice(None),) + \
            tuple(slice(None, None, d) for d in self.dilation)
        windows = windows[pick]
        self.out_spatial = windows.shape[1:nd + 1]
        n, c = x.shape[0], x.shape[-1]
        perm = (0, *range(1, nd + 1), *range(nd + 2, 2 * nd + 2), nd + 1)
        return windows.transpose(perm).reshape(n, *self.out_spatial, math.prod(self.size) * c)

    def backward(self, gy):  # overlap-add: dL/dx_pad[o·s + t·d] += dL/dy[o, t]
        xp = get_array_module(gy)
        nd = len(self.size)
        n, c = self.x_shape[0], self.x_shape[-1]
        g = gy.reshape(n, *self.out_spatial, *self.size, c)
        padded = [n, *(length + lo + hi for length, (lo, hi) in zip(self.x_shape[1:-1], self.pads)), c]
        gpad = xp.zeros(padded, gy.dtype)
        for tap in itertools.product(*(range(k) for k in self.size)):
            window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                           for t, d, o, s in zip(tap, self.dilation, self.out_spatial, self.strides))
            gpad[(slice(None), *window)] += g[(slice(None),) * (nd + 1) + tap]
        crop = tuple(slice(lo, lo + length) for length, (lo, _) in zip(self.x_shape[1:-1], self.pads))
        return gpad[(slice(None), *crop)]


def _patches(images, size, strides, dilation_rate, padding, data_format, nd: int, fn: str) -> Tensor:
    from .math import reshape, transpose  # noqa: PLC0415

    kinds = {2: "images", 3: "volumes"}
    x = as_images(images, fn, kinds[nd], ranks=(nd + 1, nd + 2))
    data_format = data_format_of(data_format, fn)
    size = int_tuple(size, nd, "size", fn)
    strides = size if strides is None else int_tuple(strides, nd, "strides", fn)
    dilation = int_tuple(dilation_rate, nd, "dilation_rate", fn)
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in ("valid", "same"):
        raise ValueError(f"{fn}: expected padding 'valid' or 'same', received padding={padding!r}")
    given_shape = tuple(x.shape)
    single = x.ndim == nd + 1
    if single:
        x = reshape(x, (1, *x.shape))
    if data_format == "channels_first":
        x = transpose(x, (0, *range(2, nd + 2), 1))
    spatial = x.shape[1:-1]
    if padding == "same":
        pads = tuple(same_padding(length, k, s, d) for length, k, s, d in zip(spatial, size, strides, dilation))
    else:
        pads = ((0, 0),) * nd
        for length, k, d in zip(spatial, size, dilation):
            if (k - 1) * d + 1 > length:
                raise ValueError(f"{fn}: with padding='valid' the (dilated) patch size {(k - 1) * d + 1} must fit in "
                                 f"the spatial size {length}; received {kinds[nd]} of shape {given_shape}, "
                                 f"size={size}, dilation_rate={dilation}")
    y = ExtractPatches.apply(x, size=size, strides=strides, dilation=dilation, pads=pads)
    if data_format == "channels_first":
        y = transpose(y, (0, nd + 1, *range(1, nd + 1)))
    return reshape(y, y.shape[1:]) if single else y


def extract_patches(images, size, strides=None, dilation_rate=1, padding: str = "valid",
                    data_format: str | None = None) -> Tensor:
    """Patches of images, as ``keras.ops.image.extract_patches``: (batch, out_h, out_w, size_h·size_w·channels)
    (or channels first; unbatched without the batch axis). ``size`` is an int or (size_h, size_w) — or
    three numbers, for :func:`extract_patches_3d`; ``strides`` default to ``size``. Output lengths: ⌈L/s⌉
    ("same", TensorFlow's split of the zeros) or ⌊(L − d·(k − 1) − 1)/s⌋ + 1 ("valid"). Patch order: the
    module docstring. Differentiable in ``images`` (overlap-add).
    """
    fn = "extract_patches"
    if not isinstance(size, (int, numpy.integer)):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"{fn}: expected size to be an int or a tuple, received size={size!r} of type "
                            f"{type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError(f"{fn}: expected size to be a tuple of length 2 or 3, received size={size!r}")
        if len(size) == 3:
            return _patches(images, size, strides, dilation_rate, padding, data_format, 3, fn)
    return _patches(images, size, strides, dilation_rate, padding, data_format, 2, fn)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding: str = "valid",
                       data_format: str | None = None) -> Tensor:
    """Patches of volumes (batch, depth, height, width, channels), as ``keras.ops.image.extract_patches_3d``:
    (batch, out_d, out_h, out_w, size_d·size_h·size_w·channels) (unbatched without the batch axis). The
    rules of :func:`extract_patches`, in three dimensions. Differentiable in ``volumes``.
    """
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3, "extract_patches_3d")

"""Contrast-limited adaptive histogram equalization (CLAHE, Zuiderveld 1994), Keras's
``ContrastLimitedAdaptiveHistogramEqualization`` layer.

The image (in [0, 255]) is cut into ``tile_grid_size`` = (g_h, g_w) tiles (padded symmetrically to whole
tiles); each tile and channel gets the histogram h of its integer pixel values, clipped at
L = ⌊clip_limit·(tile area)/256⌋ with the clipped excess spread evenly over the 256 bins, and the table
T = clip(255·(cdf − cdf_min)/(area − cdf_min), 0, 255). A pixel of value v is mapped by the bilinear blend of
the tables of the four tiles whose centres surround it (edge tiles repeated):

    y = (1 − w_y)·((1 − w_x)·T_nw[v] + w_x·T_ne[v]) + w_y·((1 − w_x)·T_sw[v] + w_x·T_se[v])

The limit L is truncated to an integer as Keras 3.15's torch backend truncates it (its histograms are
integer counts; its TensorFlow backend keeps the fraction). The result is piecewise constant in the pixel
values: as in Keras, it carries no gradient.
"""
from __future__ import annotations

import numpy

from ... import ops
from ...autograd import Tensor
from ...backend import get_array_module
from .base import as_array
from .color import _ColorAugmentation

__all__ = ["ContrastLimitedAdaptiveHistogramEqualization"]


def clahe_array(images, clip_limit: float, tile_grid_size) -> object:
    """CLAHE of a (batch, height, width, channels) array of values in [0, 255], as float32."""
    xp = get_array_module(images)
    batch, height, width, channels = images.shape
    grid_h, grid_w = (int(v) for v in tile_grid_size)
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
    padded = images
    if pad_h or pad_w:
        padded = xp.pad(images, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
    # the tiles: (batch, g_h, g_w, channels, tile pixels) → histograms of 256 bins
    tiles = padded.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels).transpose(0, 1, 3, 5, 2, 4)
    values = xp.clip(tiles.reshape(-1, tile_h * tile_w).astype(numpy.int32), 0, 255)
    offsets = xp.arange(values.shape[0]).reshape(-1, 1) * 256
    hists = xp.bincount((values + offsets).reshape(-1), minlength=values.shape[0] * 256)
    hists = hists.reshape(batch, grid_h, grid_w, channels, 256).astype(numpy.float32)
    if clip_limit > 0:  # clip at L, spread the excess evenly
        limit = numpy.float32(int(clip_limit * (tile_h * tile_w) / 256.0))  # ⌊L⌋, as Keras's torch backend
        clipped = xp.clip(hists, 0, limit)
        hists = clipped + (hists - clipped).sum(axis=-1, keepdims=True) / numpy.float32(256.0)
    cdf = xp.cumsum(hists, axis=-1)
    cdf_min = cdf.min(axis=-1, keepdims=True)
    denominator = numpy.float32(tile_h * tile_w) - cdf_min
    denominator = xp.where(denominator == 0, numpy.float32(1), denominator)
    tables = xp.clip((cdf - cdf_min) * numpy.float32(255.0) / denominator, 0, 255)
    tables = xp.concatenate([tables[:, :1], tables, tables[:, -1:]], axis=1)  # edge tiles repeated
    tables = xp.concatenate([tables[:, :, :1], tables, tables[:, :, -1:]], axis=2)

    def axis_weights(size: int, tile: int, grid: int):
        """For each pixel row (or column): the two surrounding tile centres (in the padded table) and the weight
        of the second: t = (i − tile/2)/tile + 1, i0 = ⌊t⌋, w = t − i0."""
        t = (xp.arange(size, dtype=numpy.float32) - numpy.float32(tile / 2.0)) / numpy.float32(tile) + 1
        i0 = xp.floor(t)
        w = t - i0
        return xp.clip(i0, 0, grid + 1).astype(numpy.int32), xp.clip(i0 + 1, 0, grid + 1).astype(numpy.int32), w

    y0, y1, wy = axis_weights(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = axis_weights(tile_w * grid_w, tile_w, grid_w)
    pixels = xp.clip(padded, 0, 255).astype(numpy.int32)
    b = xp.arange(batch).reshape(-1, 1, 1, 1)
    c = xp.arange(channels).reshape(1, 1, 1, -1)
    y0, y1, wy = (v.reshape(1, -1, 1, 1) for v in (y0, y1, wy))
    x0, x1, wx = (v.reshape(1, 1, -1, 1) for v in (x0, x1, wx))
    top = tables[b, y0, x0, c, pixels] * (1.0 - wx) + tables[b, y0, x1, c, pixels] * wx
    bottom = tables[b, y1, x0, c, pixels] * (1.0 - wx) + tables[b, y1, x1, c, pixels] * wx
    result = top * (1.0 - wy) + bottom * wy
    return result[:, :height, :width, :].astype(numpy.float32)


class ContrastLimitedAdaptiveHistogramEqualization(_ColorAugmentation):
    """CLAHE (see the module docstring) of each image and channel, applied at inference too (it is not random):
    images are moved from ``value_range`` to [0, 255], equalized with ``clip_limit`` (≤ 0: no clipping) on a
    ``tile_grid_size`` = (rows, columns) grid of tiles, moved back and cast to the input's dtype (integer
    images are truncated, as Keras). No gradient reaches the images (piecewise constant, as in Keras).
    """

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def transform_images(self, images, transformation=None, training=True):
        images = ops.convert_to_tensor(images)
        original_dtype = images.dtype
        if self.data_format == "channels_first":
            images = ops.transpose(images, (0, 2, 3, 1))
        x = self._transform_value_range(images, self.value_range, (0, 255), dtype="float32")
        y = Tensor(clahe_array(as_array(x), float(self.clip_limit), self.tile_grid_size))
        y = self._transform_value_range(y, (0, 255), self.value_range, dtype="float32")
        y = Tensor(as_array(y).astype(original_dtype))  # no graph: piecewise constant in x
        if self.data_format == "channels_first":
            y = ops.transpose(y, (0, 3, 1, 2))
        return y

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size, "data_format": self.data_format}

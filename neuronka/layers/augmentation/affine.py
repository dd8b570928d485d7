"""Augmentations that resample the image through an affine map: RandomTranslation, RandomRotation and
RandomZoom, each a per-image row [a0, a1, a2, b0, b1, b2, 0, 0] for
:func:`neuronka.ops.image.affine_transform`, which samples the input at
(x_in, y_in) = (a0·x + a1·y + a2, b0·x + b1·y + b2) for every output pixel (x, y) ("bilinear" or
"nearest", ``fill_mode`` outside the image). Gradients reach the images through the sampler's backward
(each input pixel receives the interpolation weights of the outputs that read it).

    translation by (dx, dy) pixels:   [1, 0, −dx, 0, 1, −dy]
    rotation by θ about the centre:    see ``BaseImagePreprocessingLayer._compute_affine_matrix``
    zoom by (zx, zy) about the centre: [zx, 0, (W − 1)/2·(1 − zx), 0, zy, (H − 1)/2·(1 − zy)]
"""
from __future__ import annotations

import numbers

from ... import ops
from ...ops import image as image_ops
from ...random import SeedGenerator, uniform
from . import bounding_boxes as bbox
from .base import BaseImagePreprocessingLayer, as_array

__all__ = ["RandomRotation", "RandomTranslation", "RandomZoom"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _check_sampling(fill_mode, interpolation) -> None:
    if fill_mode not in _FILL_MODES:
        raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {_FILL_MODES}.")
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one {_INTERPOLATIONS}.")


def _signed_range(factor, name: str, message: str, open_below: bool = False) -> tuple:
    """Keras's (lower, upper) for RandomTranslation/RandomZoom: a number f gives (−|f|, |f|), a pair is sorted;
    every value in [−1, 1] (``open_below``: in (−1, 1])."""
    def check(v):
        if v > 1.0 or v < -1.0 or (open_below and v == -1.0):
            raise ValueError(message + f"Received: input_number={v}")

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message + f"Received: {name}={factor}")
        check(factor[0])
        check(factor[1])
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        check(factor)
        return -abs(factor), abs(factor)
    raise ValueError(message + f"Received: {name}={factor}")


def _map_point(transform, x, y):
    """Where the row ``transform`` sends the output point (x, y): ((a0·x + a1·y + a2)/k, (b0·x + b1·y + b2)/k),
    k = c0·x + c1·y + 1; each (batch, 1)."""
    a0, a1, a2, b0, b1, b2, c0, c1 = ops.split(transform, 8, axis=-1)
    k = c0 * x + c1 * y + 1
    return (a0 * x + a1 * y + a2) / k, (b0 * x + b1 * y + b2) / k


class _AffineAugmentation(BaseImagePreprocessingLayer):
    """The shared part: the sampling arguments and ``_transform_images`` through ``affine_transform`` with
    the rows :meth:`_matrix` builds from a transformation."""

    def _sampling_arguments(self, fill_mode, interpolation, seed, fill_value) -> None:
        _check_sampling(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def _matrix(self, transformation, height: int, width: int):
        raise NotImplementedError

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        h_axis, w_axis = self._hw_axes()
        matrix = self._matrix(transformation, images.shape[h_axis], images.shape[w_axis])
        return image_ops.affine_transform(images, matrix, interpolation=interpolation, fill_mode=self.fill_mode,
                                          fill_value=self.fill_value, data_format=self.data_format)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def _boxes_to_xyxy(self, bounding_boxes, transformation):
        h_axis, w_axis = self._hw_axes()
        shape = transformation["input_shape"]
        height, width = shape[h_axis], shape[w_axis]
        return bbox.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height=height,
                                   width=width), height, width

    def _sampling_config(self) -> dict:
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}


# ----------------------------------------------------------------------------------------------
# RandomTranslation
# ----------------------------------------------------------------------------------------------
class RandomTranslation(_AffineAugmentation):
    """Shifts each image by dy = u·H pixels down and dx = v·W pixels right, u ~ U[height_factor range],
    v ~ U[width_factor range] (a number f means [−f, f]; a pair (lo, hi); each in [−1, 1]), filling the
    uncovered pixels by ``fill_mode`` ("reflect" by default, "wrap", "constant" with ``fill_value``,
    "nearest"). Inference: the identity, in the layer's dtype.

    Bounding boxes move by (dx, dy) and are clipped to the image (label −1 when nothing is left); segmentation
    masks move with "nearest" interpolation.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_MESSAGE = "The `factor` argument should be a number (or a list of two numbers) in the range [-1.0, 1.0]. "

    def __init__(self, height_factor, width_factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed=None, fill_value: float = 0.0, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _signed_range(height_factor, "height_factor", self._FACTOR_MESSAGE)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _signed_range(width_factor, "width_factor", self._FACTOR_MESSAGE)
        self._sampling_arguments(fill_mode, interpolation, seed, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"translations": (batch, 2) float32 [dx, dy] in pixels, "input_shape"} (dy drawn first, as Keras)."""
        if not training:
            return None
        batch, height, width = self._batch_size_and_hw(data)
        seed = self._get_seed_generator() if seed is None else seed
        dy = uniform((batch, 1), self.height_lower, self.height_upper, seed=seed) * height
        dx = uniform((batch, 1), self.width_lower, self.width_upper, seed=seed) * width
        images = data["images"] if isinstance(data, dict) else data
        return {"translations": ops.cast(ops.concatenate([dx, dy], axis=1), "float32"),
                "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, height, width):
        """[1, 0, −dx, 0, 1, −dy, 0, 0] per image."""
        t = ops.convert_to_tensor(as_array(transformation["translations"]))
        n = t.shape[0]
        ones, zeros = ops.ones((n, 1)), ops.zeros((n, 1))
        return ops.concatenate([ones, zeros, -t[:, 0:1], zeros, ones, -t[:, 1:], ops.zeros((n, 2))], axis=1)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """xyxy + (dx, dy), clipped to the image."""
        if not training:
            return bounding_boxes
        boxes, height, width = self._boxes_to_xyxy(bounding_boxes, transformation)
        shift_x, shift_y = _map_point(self._matrix(transformation, height, width), 0, 0)  # (−dx, −dy)
        b = boxes["boxes"]
        if b.ndim == 3:
            shift_x, shift_y = ops.expand_dims(shift_x, -1), ops.expand_dims(shift_y, -1)
        x1, y1, x2, y2 = ops.split(b, 4, axis=-1)
        b = ops.concatenate([x1 - shift_x, y1 - shift_y, x2 - shift_x, y2 - shift_y], axis=-1)
        boxes = bbox.clip_to_image_size({**boxes, "boxes": b}, height=height, width=width,
                                        bounding_box_format="xyxy")
        return bbox.convert_format(boxes, "xyxy", self.bounding_box_format, height=height, width=width)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                **self._sampling_config()}


# ----------------------------------------------------------------------------------------------
# RandomRotation
# ----------------------------------------------------------------------------------------------
class RandomRotation(_AffineAugmentation):
    """Rotates each image counter-clockwise by θ = 360°·u about its centre, u ~ U[factor range] (a number f
    means [−f, f], a pair (lo, hi), each in [−1, 1] — fractions of a full turn), filling by ``fill_mode``
    ("reflect" by default). Inference: the identity, in the layer's dtype.

    Bounding boxes (read as xyxy, as Keras reads them whatever ``bounding_box_format`` says, and written back
    in ``bounding_box_format``) become the bounding box of their rotated corners, clipped to the image;
    segmentation masks rotate with "nearest" interpolation, by the images' angle. (Keras 3.15's torch
    ``affine_transform`` permutes its matrix argument in place, so Keras rotates a dict's masks with a corrupted
    copy of the images' matrix; neuronka keeps the transformation intact.)
    """

    def __init__(self, factor, fill_mode: str = "reflect", interpolation: str = "bilinear", seed=None,
                 fill_value: float = 0.0, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self._sampling_arguments(fill_mode, interpolation, seed, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"angle": (batch,) degrees, "rotation_matrix": (batch, 8) (or (8,) for one image), "image_height",
        "image_width", "batch_size"}."""
        if not training:
            return None
        batch, height, width = self._batch_size_and_hw(data)
        seed = self._get_seed_generator() if seed is None else seed
        angle = uniform((batch,), self.factor[0] * 360.0, self.factor[1] * 360.0, seed=seed)
        zeros, ones = ops.zeros((batch,)), ops.ones((batch,))
        matrix = self._compute_affine_matrix(0.5, 0.5, angle, zeros, zeros, ones, zeros, zeros, height, width)
        images = data["images"] if isinstance(data, dict) else data
        if images.ndim == 3:
            matrix = ops.squeeze(matrix, axis=0)
        return {"angle": angle, "rotation_matrix": matrix, "image_height": height, "image_width": width,
                "batch_size": batch}

    def _matrix(self, transformation, height, width):
        return ops.convert_to_tensor(as_array(transformation["rotation_matrix"]))

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        height, width = transformation["image_height"], transformation["image_width"]
        batch = transformation["batch_size"]
        zeros, ones = ops.zeros((batch,)), ops.ones((batch,))
        angle = ops.convert_to_tensor(as_array(transformation["angle"]))
        b = bbox.affine_transform(bounding_boxes["boxes"], angle, zeros, zeros, ones, zeros, zeros, height, width)
        boxes = bbox.clip_to_image_size({**bounding_boxes, "boxes": b}, height=height, width=width,
                                        bounding_box_format="xyxy")
        return bbox.convert_format(boxes, "xyxy", self.bounding_box_format, height=height, width=width)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "data_format": self.data_format,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value, "interpolation": self.interpolation,
                "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomZoom
# ----------------------------------------------------------------------------------------------
class RandomZoom(_AffineAugmentation):
    """Zooms each image about its centre: the output samples the input at zoom z times the distance from the
    centre, z = 1 + u, u ~ U[factor range] per axis (a number f means [−f, f], a pair (lo, hi), each in
    (−1, 1]); z > 1 (a positive factor) zooms *out*, z < 1 zooms in. ``width_factor=None`` uses the height's
    draw for both axes (the aspect ratio is kept). Fills by ``fill_mode`` ("reflect" by default). Inference:
    the identity, in the layer's dtype.

    Bounding boxes are clipped to the part of the input that stays visible and rescaled into the output;
    segmentation masks zoom with "nearest" interpolation.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_MESSAGE = ("The `height_factor` and `width_factor` arguments should be a number (or a list of two "
                       "numbers) in the range (-1.0, 1.0]. ")

    def __init__(self, height_factor, width_factor=None, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed=None, fill_value: float = 0.0, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _signed_range(height_factor, "height_factor", self._FACTOR_MESSAGE,
                                                             open_below=True)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _signed_range(width_factor, "width_factor", self._FACTOR_MESSAGE,
                                                               open_below=True)
        self._sampling_arguments(fill_mode, interpolation, seed, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"height_zoom": (batch, 1), "width_zoom": (batch, 1), "input_shape"}."""
        if not training:
            return None
        batch, _, _ = self._batch_size_and_hw(data)
        seed = self._get_seed_generator() if seed is None else seed
        height_zoom = uniform((batch, 1), 1.0 + self.height_lower, 1.0 + self.height_upper, seed=seed)
        if self.width_factor is not None:
            width_zoom = uniform((batch, 1), 1.0 + self.width_lower, 1.0 + self.width_upper, seed=seed)
        else:
            width_zoom = height_zoom
        images = data["images"] if isinstance(data, dict) else data
        return {"height_zoom": height_zoom, "width_zoom": width_zoom, "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, height, width):
        """[zx, 0, (W − 1)/2·(1 − zx), 0, zy, (H − 1)/2·(1 − zy), 0, 0] per image."""
        zx = ops.cast(ops.convert_to_tensor(as_array(transformation["width_zoom"])), "float32")
        zy = ops.cast(ops.convert_to_tensor(as_array(transformation["height_zoom"])), "float32")
        n = zx.shape[0]
        x_offset = (float(width) - 1.0) / 2.0 * (1.0 - zx)
        y_offset = (float(height) - 1.0) / 2.0 * (1.0 - zy)
        zeros = ops.zeros((n, 1))
        return ops.concatenate([zx, zeros, x_offset, zeros, zy, y_offset, ops.zeros((n, 2))], axis=1)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """xyxy boxes clipped to the visible input window [x(0), x(W)] × [y(0), y(H)] (the input points of the
        output's corners), shifted into it, then rescaled from the window's size to the image's."""
        if not training:
            return bounding_boxes
        boxes, height, width = self._boxes_to_xyxy(bounding_boxes, transformation)
        matrix = self._matrix(transformation, height, width)
        w_start, h_start = _map_point(matrix, 0, 0)
        w_end, h_end = _map_point(matrix, width, height)
        b = boxes["boxes"]
        hs, he, ws, we = ((ops.expand_dims(v, -1) if b.ndim == 3 else v) for v in (h_start, h_end, w_start, w_end))
        x1, y1, x2, y2 = ops.split(b, 4, axis=-1)
        b = ops.concatenate([ops.clip(x1, ws, we) - ws, ops.clip(y1, hs, he) - hs,
                             ops.clip(x2, ws, we) - ws, ops.clip(y2, hs, he) - hs], axis=-1)
        window_height = ops.expand_dims(h_end - h_start, -1)
        window_width = ops.expand_dims(w_end - w_start, -1)
        boxes = bbox.convert_format({**boxes, "boxes": b}, "xyxy", "rel_xyxy", height=window_height,
                                    width=window_width)
        boxes = bbox.clip_to_image_size(boxes, height=window_height, width=window_width,
                                        bounding_box_format="rel_xyxy")
        return bbox.convert_format(boxes, "rel_xyxy", self.bounding_box_format, height=height, width=width)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                **self._sampling_config()}

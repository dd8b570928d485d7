"""The base of every image augmentation layer: Keras's ``BaseImagePreprocessingLayer`` on neuronka.

See :class:`BaseImagePreprocessingLayer` for the contract a layer fulfils; the layers of this package
(``geometric.py``, ``color.py``, ``erasing_blur.py``, ...) are worked examples.
"""
from __future__ import annotations

import math
import numbers

import numpy

from ... import ops
from ...autograd import Tensor
from ...config import standardize_data_format
from ...random import SeedGenerator, uniform
from ..base import Layer
from .bounding_boxes import check_format, densify_bounding_boxes

__all__ = ["BaseImagePreprocessingLayer"]


class BaseImagePreprocessingLayer(Layer):
    """An image augmentation layer (Keras's ``BaseImagePreprocessingLayer``): it draws one random
    transformation per call and applies it to the images and, in a dict input, to their labels, bounding
    boxes and segmentation masks alike.

    **Inputs.** An image batch (rank 4) or a single image (rank 3), in ``data_format``; or a dict
    ``{"images": ..., "labels": ..., "bounding_boxes": {"boxes": (batch, N, 4), "labels": (batch, N)},
    "segmentation_masks": ...}`` (every key but "images" optional; boxes need ``bounding_box_format``, one of
    :data:`.bounding_boxes.SUPPORTED_FORMATS`; nested lists of boxes, a different count per image, are padded).
    A dict comes back as a new dict with the same keys. ``training`` defaults to True, as in Keras: a layer
    called on its own, or in a model called directly, augments; ``fit`` trains with it and ``predict``/
    ``evaluate``/``training=False`` give the identity (or the layer's inference behaviour, e.g. CenterCrop).

    **The contract of a subclass** (what :meth:`call` relies on):

    * ``__init__``: call ``super().__init__(factor=..., bounding_box_format=..., data_format=..., **kwargs)``
      (``data_format`` becomes "channels_last"/"channels_first"); a random layer then sets
      ``self.seed = seed`` and ``self.generator = SeedGenerator(seed)``. Class attributes:
      ``_USE_BASE_FACTOR`` (True: ``factor`` is parsed by :meth:`_set_factor` into ``self.factor = (lower,
      upper)`` within ``_FACTOR_BOUNDS``; False: passing ``factor`` to the base is an error),
      ``_FACTOR_BOUNDS``, ``_convert_input_args`` (False: float inputs keep their dtype on the way in).
    * ``get_random_transformation(data, training=True, seed=None)``: *all* the randomness of a call, drawn
      once from ``seed`` or, when None, from :meth:`_get_seed_generator` through ``neuronka.random``;
      ``data`` is what the layer was called on (images or the dict). Returns anything the transforms read
      (usually a dict of tensors, one entry per image) or None (nothing to do, e.g. at inference).
    * ``transform_images(images, transformation, training=True)``: ``images`` is always a batch here (a single
      image arrives as a batch of one and is squeezed back). The default casts to ``compute_dtype`` and, in
      training, calls ``_transform_images(images, transformation, self.interpolation)``.
    * ``transform_labels(labels, transformation, training=True)``,
      ``transform_bounding_boxes(bounding_boxes, transformation, training=True)`` (a dict of "boxes" (batch, N,
      4) float32 in ``self.bounding_box_format`` and "labels" (batch, N); return a dict, boxes in the same
      format; :mod:`.bounding_boxes` has the conversions, clipping and affine maps), and
      ``transform_segmentation_masks(masks, transformation, training=True)`` (default: ``_transform_images``
      with "nearest" interpolation in training).
    * ``compute_output_shape`` (the default returns the input shape) and ``get_config`` (the base gives
      ``name, trainable, dtype, data_format[, bounding_box_format]``; add the layer's keys in Keras's order).

    Helpers: :meth:`_transform_value_range` (images from one value range to another),
    :meth:`_compute_affine_matrix` (rotation/translation/scale/shear as ``affine_transform`` rows),
    :meth:`_batch_size_and_hw` (the batch size, height and width of the images of ``data``).

    **Gradients.** The transforms are built from ``neuronka.ops``, so gradients flow back to the images
    through each op's backward (flips and crops: the permutation/slice back; affine maps: the bilinear
    sampler's scatter; colour maps: their derivatives). The random parameters are constants: as in Keras,
    nothing is differentiated with respect to them.
    """

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)
    _convert_input_args = True

    def __init__(self, factor=None, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_format(bounding_box_format, type(self).__name__)
        self.bounding_box_format = bounding_box_format
        self.data_format = standardize_data_format(data_format)
        if self._USE_BASE_FACTOR:
            self._set_factor(factor or 0.0)
        elif factor is not None:
            raise ValueError(f"Layer {type(self).__name__} does not take a `factor` argument. "
                             f"Received: factor={factor}")

    # ---- arguments --------------------------------------------------------------------------------------
    def _set_factor(self, factor) -> None:
        """``self.factor = (lower, upper)``: a number f gives (max(−|f|, low), |f|), a pair is sorted; both
        must lie in ``_FACTOR_BOUNDS`` = [low, high] (a pair is refused only when it lies wholly outside)."""
        self.factor = parse_factor(factor, self._FACTOR_BOUNDS, "factor")

    def _get_seed_generator(self) -> SeedGenerator:
        if not hasattr(self, "seed") or not hasattr(self, "generator"):
            raise ValueError(f"{type(self).__name__}: the `seed` and `generator` attributes must be set in "
                             f"`__init__` before drawing random transformations.")
        return self.generator

    # ---- the transformation and its application -----------------------------------------------------------
    def get_random_transformation(self, data, training=True, seed=None):
        return None

    def _transform_images(self, images, transformation, interpolation):
        raise NotImplementedError(f"{type(self).__name__} does not implement _transform_images()")

    def transform_images(self, images, transformation, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training:
            images = self._transform_images(images, transformation, self.interpolation)
        return images

    def transform_labels(self, labels, transformation, training=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement transform_labels()")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement transform_bounding_boxes()")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if training:
            segmentation_masks = self._transform_images(segmentation_masks, transformation, "nearest")
        return segmentation_masks

    # single examples: a batch of one through the batch method, then squeezed back
    def transform_single_image(self, image, transformation, training=True):
        return _unbatch(self.transform_images(_batch(image), transformation, training=training))

    def transform_single_label(self, label, transformation, training=True):
        return _unbatch(self.transform_labels(_batch(label), transformation, training=training))

    def transform_single_bounding_box(self, bounding_box, transformation, training=True):
        boxes = {k: (_batch(v) if k in ("boxes", "labels") else v) for k, v in bounding_box.items()}
        out = self.transform_bounding_boxes(boxes, transformation, training=training)
        return {k: (_unbatch(v) if k in ("boxes", "labels") else v) for k, v in out.items()}

    def transform_single_segmentation_mask(self, segmentation_mask, transformation, training=True):
        return _unbatch(self.transform_segmentation_masks(_batch(segmentation_mask), transformation,
                                                          training=training))

    def _is_batched(self, images) -> bool:
        if images.ndim == 3:
            return False
        if images.ndim == 4:
            return True
        raise ValueError(f"Expected image tensor to have rank 3 (single image) or 4 (batch of images). "
                         f"Received: data.shape={tuple(images.shape)}")

    def call(self, data, training=True):
        transformation = self.get_random_transformation(data, training=training)
        if not isinstance(data, dict):
            if self._is_batched(data):
                return self.transform_images(data, transformation, training=training)
            return self.transform_single_image(data, transformation, training=training)
        batched = self._is_batched(data["images"])
        out = dict(data)
        if batched:
            out["images"] = self.transform_images(data["images"], transformation, training=training)
        else:
            out["images"] = self.transform_single_image(data["images"], transformation, training=training)
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(f"You passed an input with a 'bounding_boxes' key, but you didn't specify a "
                                 f"bounding box format. Pass a `bounding_box_format` argument to your "
                                 f"{type(self).__name__} layer, e.g. `bounding_box_format='xyxy'`.")
            boxes = densify_bounding_boxes(data["bounding_boxes"], is_batched=batched)
            transform = self.transform_bounding_boxes if batched else self.transform_single_bounding_box
            out["bounding_boxes"] = transform(boxes, transformation, training=training)
        if "labels" in data:
            transform = self.transform_labels if batched else self.transform_single_label
            out["labels"] = transform(data["labels"], transformation, training=training)
        if "segmentation_masks" in data:
            transform = self.transform_segmentation_masks if batched else self.transform_single_segmentation_mask
            out["segmentation_masks"] = transform(data["segmentation_masks"], transformation, training=training)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    # ---- input conversion ---------------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, dict) and isinstance(inputs.get("bounding_boxes"), dict) \
                and isinstance(inputs["bounding_boxes"].get("boxes"), list):  # nested lists: padded first
            inputs = {**inputs, "bounding_boxes": densify_bounding_boxes(inputs["bounding_boxes"])}
        return super().__call__(inputs, *args, **kwargs)

    def _convert_input(self, x):
        if self._convert_input_args:
            return super()._convert_input(x)
        return x if isinstance(x, Tensor) else Tensor(numpy.asarray(x))  # Keras's _convert_input_args=False

    # ---- config -------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config

    # ---- helpers for the layers ------------------------------------------------------------------------------
    def _hw_axes(self) -> tuple[int, int]:
        """The height and width axes, counted from the end."""
        return (-2, -1) if self.data_format == "channels_first" else (-3, -2)

    def _random_span(self, batch: int, length: int, ratio, seed):
        """[start, start + ratio·length) along an axis of ``length``, start ~ U[0, 1)·(length − ratio·length),
        per image (the boxes of RandomErasing and CutMix)."""
        size = ops.cast(ratio * length, self.compute_dtype)
        start = uniform((batch,), 0, 1, dtype=self.compute_dtype, seed=seed) * (length - size)
        return start, start + size

    def _batch_size_and_hw(self, data) -> tuple[int, int, int]:
        """(batch size, height, width) of the images of ``data`` (a single image counts as a batch of one)."""
        images = data["images"] if isinstance(data, dict) else data
        shape = tuple(numpy.shape(images))
        if len(shape) not in (3, 4):
            raise ValueError(f"Expected the input image to be rank 3 or 4. Received inputs.shape={shape}")
        h_axis, w_axis = self._hw_axes()
        return (shape[0] if len(shape) == 4 else 1), shape[h_axis], shape[w_axis]

    def _transform_value_range(self, images, original_range, target_range, dtype="float32"):
        """Images moved linearly from ``original_range`` = (a, b) to ``target_range`` = (c, d):
        y = (x − a)/(b − a)·(d − c) + c (unchanged when the ranges are equal)."""
        if original_range[0] == target_range[0] and original_range[1] == target_range[1]:
            return images
        images = ops.cast(images, dtype)
        a, b = (ops.cast(v, dtype) for v in original_range)
        c, d = (ops.cast(v, dtype) for v in target_range)
        return (images - a) / (b - a) * (d - c) + c

    def _compute_affine_matrix(self, center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y,
                               height, width) -> Tensor:
        """(batch, 8) ``affine_transform`` rows of the map output pixel → input point for a rotation by
        ``angle`` and shears ``shear_x``/``shear_y`` (degrees), a ``scale`` and a translation (pixels) about
        the centre (c_x·(W − 1), c_y·(H − 1)):

            a0 = s·(cos θ + tan φx·sin θ)     a1 = s·(−sin θ + tan φx·cos θ)     a2 = t_x + c_x − c_x·a0 − c_y·a1
            b0 = s·(tan φy·cos θ + sin θ)     b1 = s·(−tan φy·sin θ + cos θ)     b2 = t_y + c_y − c_x·b0 − c_y·b1
        """
        angle = ops.convert_to_tensor(angle)
        rad = ops.convert_to_tensor(math.pi / 180.0, dtype=angle.dtype)
        theta = angle * rad
        shx, shy = ops.tan(ops.convert_to_tensor(shear_x) * rad), ops.tan(ops.convert_to_tensor(shear_y) * rad)
        cx = center_x * (ops.cast(width, angle.dtype) - 1)
        cy = center_y * (ops.cast(height, angle.dtype) - 1)
        cos, sin = ops.cos(theta), ops.sin(theta)
        a0 = scale * (cos + shx * sin)
        a1 = scale * (-sin + shx * cos)
        a2 = translate_x + cx - cx * a0 - cy * a1
        b0 = scale * (shy * cos + sin)
        b1 = scale * (-shy * sin + cos)
        b2 = translate_y + cy - cx * b0 - cy * b1
        n = angle.shape[0]
        columns = [ops.reshape(ops.cast(v, angle.dtype), (n, 1)) for v in (a0, a1, a2, b0, b1, b2)]
        return ops.concatenate(columns + [ops.zeros((n, 2), angle.dtype)], axis=1)


# ----------------------------------------------------------------------------------------------
# shared by the layers
# ----------------------------------------------------------------------------------------------
def parse_factor(factor, bounds, name: str, what: str = "factor") -> tuple:
    """Keras's ``factor`` rule: a number f in ``bounds`` = [low, high] gives (max(−|f|, low), |f|); a pair
    (not lying wholly outside the bounds) is sorted. Anything else is a ValueError naming ``name``."""
    low, high = bounds
    message = (f"The `{name}` argument should be a number (or a list of two numbers) in the range [{low}, {high}]. "
               f"Received: {what}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > high or factor[1] < low:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, numbers.Real):
        if factor < low or factor > high:
            raise ValueError(message)
        factor = abs(factor)
        return max(-factor, low), factor
    raise ValueError(message)


def value_range_of(value_range, owner: str) -> list:
    """A ``value_range`` checked to be two numbers, as a sorted list (Keras's rule)."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"The `value_range` argument should be a list of two numbers. "
                         f"Received: value_range={value_range} ({owner})")
    return sorted(value_range)


def as_array(x):
    """A transformation entry (a Tensor, an array, a number) as an array of its array module."""
    return x.data if isinstance(x, Tensor) else numpy.asarray(x)


def _batch(x):
    return ops.expand_dims(x, 0)


def _unbatch(x):
    return ops.squeeze(x, 0)

"""Augmentations that move whole pixels: RandomFlip, RandomCrop and CenterCrop.

Flips reverse the height and/or width axis (y[i] = x[H − 1 − i]); crops take a window
y = x[top : top + h, left : left + w] (resized bilinearly when the image is too small). Gradients go
back through the flip (the same reversal) and the slice (zeros outside the window).
"""
from __future__ import annotations

import numbers

from ... import ops
from ...ops import image as image_ops
from ...random import SeedGenerator, make_default_seed, uniform
from . import bounding_boxes as bbox
from .base import BaseImagePreprocessingLayer, as_array

__all__ = ["CenterCrop", "RandomCrop", "RandomFlip"]

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"
_FLIP_MODES = (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)


def _positive_int(value, arg: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: expected a positive integer for `{arg}`, received {arg}={value!r}")
    return int(value)


def _window(ndim: int, h_axis: int, w_axis: int, top: int, left: int, height: int, width: int) -> tuple:
    """The index of the window [top, top + height) × [left, left + width) on the given axes."""
    index = [slice(None)] * ndim
    index[h_axis] = slice(top, top + height)
    index[w_axis] = slice(left, left + width)
    return tuple(index)


def _aspect_crop(height: int, width: int, target_height: int, target_width: int) -> tuple[int, int, int, int]:
    """The largest centred window of the target's aspect ratio: (top, left, crop height, crop width), with
    crop height = ⌊W·h_t/w_t⌋ and crop width = ⌊H·w_t/h_t⌋, each clipped to [1, size] (Keras's smart_resize)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_height) / 2), int(float(width - crop_width) / 2), crop_height, crop_width


# ----------------------------------------------------------------------------------------------
# RandomFlip
# ----------------------------------------------------------------------------------------------
class RandomFlip(BaseImagePreprocessingLayer):
    """Flips each image, with probability ½, left-right (``mode="horizontal"``), top-bottom ("vertical"), or
    both at once ("horizontal_and_vertical", the default: one draw decides both flips, as in Keras, so an image
    is either rotated by 180° or left alone). Inference: the identity. The output is in the layer's dtype.

    Bounding boxes are flipped in relative coordinates (x ↦ 1 − x), boxes left without area get the label −1;
    segmentation masks are flipped with their images.
    """

    _USE_BASE_FACTOR = False
    _convert_input_args = False

    def __init__(self, mode: str = HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in _FLIP_MODES:
            raise ValueError(f"RandomFlip: expected `mode` to be one of {list(_FLIP_MODES)}, received mode={mode!r}")
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self.mode = mode

    def get_random_transformation(self, data, training=True, seed=None):
        """{"flips": a bool per image, (batch, 1, 1, 1) (or (1, 1, 1) for one image), "input_shape"}."""
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = tuple(images.shape)
        flips_shape = (1, 1, 1) if len(shape) == 3 else (shape[0], 1, 1, 1)
        u = uniform(flips_shape, seed=self._get_seed_generator() if seed is None else seed)
        return {"flips": u <= 0.5, "input_shape": shape}

    def transform_images(self, images, transformation, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training and transformation is not None:
            images = self._flip(images, as_array(transformation["flips"]))
        return images

    def _flip(self, images, flips):
        """y = where(flip, x reversed along the width (and/or height) axis, x)."""
        h_axis, w_axis = self._hw_axes()
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            images = ops.where(flips, ops.flip(images, axis=w_axis), images)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            images = ops.where(flips, ops.flip(images, axis=h_axis), images)
        return images

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """In relative xyxy: horizontal (x1, x2) ↦ (1 − x2, 1 − x1), vertical (y1, y2) ↦ (1 − y2, 1 − y1)."""
        if not training:
            return bounding_boxes
        flips = ops.squeeze(ops.convert_to_tensor(as_array(transformation["flips"])), axis=-1)
        h_axis, w_axis = self._hw_axes()
        shape = transformation["input_shape"]
        height, width = shape[h_axis], shape[w_axis]
        boxes = bbox.convert_format(bounding_boxes, self.bounding_box_format, "rel_xyxy", height=height,
                                    width=width)
        b = boxes["boxes"]
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            x1, y1, x2, y2 = ops.split(b, 4, axis=-1)
            b = ops.where(flips, ops.concatenate([1 - x2, y1, 1 - x1, y2], axis=-1), b)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            x1, y1, x2, y2 = ops.split(b, 4, axis=-1)
            b = ops.where(flips, ops.concatenate([x1, 1 - y2, x2, 1 - y1], axis=-1), b)
        boxes = bbox.clip_to_image_size({**boxes, "boxes": b}, height=height, width=width,
                                        bounding_box_format="xyxy")
        return bbox.convert_format(boxes, "rel_xyxy", self.bounding_box_format, height=height, width=width)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed, "mode": self.mode, "data_format": self.data_format}


# ----------------------------------------------------------------------------------------------
# RandomCrop
# ----------------------------------------------------------------------------------------------
class RandomCrop(BaseImagePreprocessingLayer):
    """In training, crops a (``height``, ``width``) window at a random position, the same for the whole batch
    (top ~ U{0, …, H − height}, left ~ U{0, …, W − width}); an image not larger than the window on both axes
    instead gets its largest centred window of the target aspect ratio, resized (bilinear) to (height, width).
    Output in the layer's dtype.

    At inference the images come back unchanged — of their own size and dtype, as in Keras 3 (whose
    ``compute_output_shape`` nonetheless announces (height, width)). ``seed=None`` is replaced by a random seed
    in the config (Keras's), while the generator is seeded independently.

    Bounding boxes: shifted by the window's corner and floored at 0, as Keras, except that neuronka subtracts
    the left offset from x and the top offset from y (Keras 3.15 swaps them: its boxes are right only when
    top = left). Segmentation masks follow their images (Keras crops them even at inference; neuronka leaves
    them with the images).
    """

    _convert_input_args = False

    def __init__(self, height: int, width: int, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(name=name, data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "RandomCrop")
        self.width = _positive_int(width, "width", "RandomCrop")
        self.seed = seed if seed is not None else make_default_seed()
        self.generator = SeedGenerator(seed)
        self.height_axis, self.width_axis = self._hw_axes()

    def get_random_transformation(self, data, training=True, seed=None):
        """(top, left) of the window: random in training when the images are larger on both axes, else the
        corner of the centred window of the target aspect ratio."""
        images = data["images"] if isinstance(data, dict) else data
        shape = tuple(images.shape)
        in_height, in_width = shape[self.height_axis], shape[self.width_axis]
        if training and in_height > self.height and in_width > self.width:
            seed = self._get_seed_generator() if seed is None else seed
            top = int(uniform((), 0, float(in_height - self.height + 1), seed=seed).data)
            left = int(uniform((), 0, float(in_width - self.width + 1), seed=seed).data)
            return top, left
        top, left, _, _ = _aspect_crop(in_height, in_width, self.height, self.width)
        return top, left

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        images = ops.cast(images, self.compute_dtype)
        top, left = (int(as_array(v)) for v in transformation)
        images = images[_window(images.ndim, self.height_axis, self.width_axis, top, left, self.height, self.width)]
        if images.shape[self.height_axis] != self.height or images.shape[self.width_axis] != self.width:
            images = ops.cast(image_ops.resize(images, (self.height, self.width), data_format=self.data_format),
                              self.compute_dtype)
        return images

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """xyxy (converted with the window's size): x ↦ max(x − left, 0), y ↦ max(y − top, 0)."""
        if not training:
            return bounding_boxes
        top, left = (float(as_array(v)) for v in transformation)
        boxes = bbox.convert_format(bounding_boxes["boxes"], self.bounding_box_format, "xyxy", height=self.height,
                                    width=self.width)
        x1, y1, x2, y2 = ops.split(boxes, 4, axis=-1)
        boxes = ops.concatenate([ops.maximum(x1 - left, 0.0), ops.maximum(y1 - top, 0.0),
                                 ops.maximum(x2 - left, 0.0), ops.maximum(y2 - top, 0.0)], axis=-1)
        boxes = bbox.convert_format(boxes, "xyxy", self.bounding_box_format, height=self.height, width=self.width)
        return {"boxes": boxes, "labels": bounding_boxes["labels"]}

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training=training)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        shape = list(input_shape)
        shape[self.height_axis], shape[self.width_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width, "seed": self.seed,
                "data_format": self.data_format}


# ----------------------------------------------------------------------------------------------
# CenterCrop
# ----------------------------------------------------------------------------------------------
class CenterCrop(BaseImagePreprocessingLayer):
    """Crops the central (``height``, ``width``) window — top = ⌊(H − height)/2⌋, left = ⌊(W − width)/2⌋ — in
    training and at inference alike. An image smaller than the window on an axis instead gets its largest
    centred window of the target aspect ratio, resized (bilinear) to (height, width) (Keras's
    ``smart_resize``). Output in the layer's dtype.

    Bounding boxes are clipped to the window and shifted into it (scaled with the image when it is
    resized); boxes left without area get the label −1. Segmentation masks are cropped like the images.
    """

    def __init__(self, height: int, width: int, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "CenterCrop")
        self.width = _positive_int(width, "width", "CenterCrop")

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        return {"input_shape": tuple(images.shape)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        h_axis, w_axis = (images.ndim + a for a in self._hw_axes())
        in_height, in_width = images.shape[h_axis], images.shape[w_axis]
        if in_height >= self.height and in_width >= self.width:
            top, left = (in_height - self.height) // 2, (in_width - self.width) // 2
            return images[_window(images.ndim, h_axis, w_axis, top, left, self.height, self.width)]
        return image_ops.resize(images, (self.height, self.width), crop_to_aspect_ratio=True,
                                data_format=self.data_format)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """xyxy: clip x to [left, left + w] and y to [top, top + h], shift by (left, top); for the resized case
        the window is the aspect-ratio crop and the boxes are then scaled to (height, width)."""
        h_axis, w_axis = self._hw_axes()
        shape = transformation["input_shape"]
        in_height, in_width = shape[h_axis], shape[w_axis]
        boxes = bbox.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height=in_height,
                                    width=in_width)
        if in_height >= self.height and in_width >= self.width:
            top, left = int((in_height - self.height) / 2), int((in_width - self.width) / 2)
            boxes = _clip_into_window(boxes, top, left, self.height, self.width)
        else:
            top, left, crop_height, crop_width = _aspect_crop(in_height, in_width, self.height, self.width)
            boxes = _clip_into_window(boxes, top, left, crop_height, crop_width)
            boxes = bbox.convert_format(boxes, "xyxy", "rel_xyxy", height=crop_height, width=crop_width)
            boxes = bbox.convert_format(boxes, "rel_xyxy", "xyxy", height=self.height, width=self.width)
        boxes = bbox.clip_to_image_size(boxes, height=self.height, width=self.width, bounding_box_format="xyxy")
        return bbox.convert_format(boxes, "xyxy", self.bounding_box_format, height=self.height, width=self.width)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training=training)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if (shape and isinstance(shape[0], (list, tuple))) or len(shape) not in (3, 4):
            raise ValueError("`input_shape` must be a non-nested tuple or list of rank-1 with size 3 (unbatched) "
                             f"or 4 (batched). Received input_shape={input_shape}")
        h_axis, w_axis = (len(shape) + a for a in self._hw_axes())
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}


def _clip_into_window(bounding_boxes: dict, top: int, left: int, height: int, width: int) -> dict:
    """xyxy boxes clipped to the window [left, left + width] × [top, top + height], in its frame."""
    x1, y1, x2, y2 = ops.split(bounding_boxes["boxes"], 4, axis=-1)
    boxes = ops.concatenate([ops.clip(x1, left, left + width) - left, ops.clip(y1, top, top + height) - top,
                             ops.clip(x2, left, left + width) - left, ops.clip(y2, top, top + height) - top], axis=-1)
    return {**bounding_boxes, "boxes": boxes}

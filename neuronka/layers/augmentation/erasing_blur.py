"""Augmentations applied to a random subset of the images: RandomErasing (a rectangle replaced by a fill)
and RandomGaussianBlur (a Gaussian blur).

Both decide per image with Keras's two-draw rule: p ~ U[factor range], t ~ U[0, 1), apply when t < p
(so the default ``factor=1.0``, the range (0, 1), applies to about half the images). The images are
returned in the layer's dtype; boxes, labels and masks pass through. Gradients: the erased pixels get
none (they come from the fill), the others the output's; the blur's backward is the correlation with the
flipped kernel (``neuronka.ops.image.gaussian_blur``).
"""
from __future__ import annotations

import numbers

from ... import ops
from ...ops import image as image_ops
from ...random import SeedGenerator, normal, uniform
from .base import BaseImagePreprocessingLayer, as_array, parse_factor

__all__ = ["RandomErasing", "RandomGaussianBlur"]


class _SubsetAugmentation(BaseImagePreprocessingLayer):
    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks

    def _chosen(self, batch: int, seed):
        """A bool per image: t < p with p ~ U[factor], t ~ U[0, 1)."""
        p = uniform((batch,), self.factor[0], self.factor[1], seed=seed)
        t = uniform((batch,), 0.0, 1.0, seed=seed)
        return t < p


# ----------------------------------------------------------------------------------------------
# RandomErasing
# ----------------------------------------------------------------------------------------------
class RandomErasing(_SubsetAugmentation):
    """Erases one rectangle of each chosen image (Zhong et al., 2017): its sides are √a·W and √b·H with
    a, b ~ U[``scale``] (fractions of the area, in [0, 1]), its corner uniform within the image; the pixels
    inside get ``fill_value`` (a number, or one per channel) or, when it is None, N(0, 1)·hi noise; the fill
    is clipped to ``value_range`` = [lo, hi]. Inference: the input cast to the layer's dtype.
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = parse_factor(scale, self._FACTOR_BOUNDS, "scale")
        self.fill_value = fill_value
        self.value_range = value_range
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self.height_axis, self.width_axis = self._hw_axes()
        self.channel_axis = -3 if self.data_format == "channels_first" else -1

    def _masks(self, shape, x0, x1, y0, y1):
        """(batch, H, W, C) (or channels first) bools: x0 ≤ column < x1 and y0 ≤ row < y1."""
        height, width = shape[self.height_axis], shape[self.width_axis]
        rows = ops.arange(height, dtype=self.compute_dtype)
        cols = ops.arange(width, dtype=self.compute_dtype)
        if self.data_format == "channels_last":
            rows, cols = ops.reshape(rows, (1, height, 1, 1)), ops.reshape(cols, (1, 1, width, 1))
        else:
            rows, cols = ops.reshape(rows, (1, 1, height, 1)), ops.reshape(cols, (1, 1, 1, width))
        x0, x1, y0, y1 = (ops.reshape(v, (-1, 1, 1, 1)) for v in (x0, x1, y0, y1))
        inside = ops.logical_and(ops.logical_and(cols >= x0, cols < x1), ops.logical_and(rows >= y0, rows < y1))
        return ops.repeat(inside, shape[self.channel_axis], axis=self.channel_axis)

    def _fill(self, images, shape, seed):
        fill = self.fill_value
        if fill is None:
            fill = normal(shape, dtype=self.compute_dtype, seed=seed) * self.value_range[1]
        elif isinstance(fill, (tuple, list)):
            if len(fill) != 3:
                raise ValueError("The `fill_value` argument should be a number (or a list of three numbers) ")
            fill = ops.full_like(images, fill, dtype=self.compute_dtype)
        elif isinstance(fill, numbers.Real):
            fill = ops.ones(shape, dtype=self.compute_dtype) * fill
        else:
            raise ValueError("The `fill_value` argument should be a number (or a list of three numbers) ")
        return ops.clip(fill, self.value_range[0], self.value_range[1])

    def get_random_transformation(self, data, training=True, seed=None):
        """{"apply_erasing": (batch,) bools, "batch_masks": the rectangles as pixel masks, "fill_value": the
        fill, of the images' shape}."""
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        batch, _, _ = self._batch_size_and_hw(data)
        shape = tuple(images.shape) if images.ndim == 4 else (1, *images.shape)
        seed = seed or self._get_seed_generator()
        ratios = ops.sqrt(uniform((batch, 2), self.scale[0], self.scale[1], dtype=self.compute_dtype, seed=seed))
        x0, x1 = self._random_span(batch, shape[self.width_axis], ratios[:, 0], seed)
        y0, y1 = self._random_span(batch, shape[self.height_axis], ratios[:, 1], seed)
        masks = self._masks(shape, x0, x1, y0, y1)
        apply = self._chosen(batch, seed)
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": self._fill(images, tuple(images.shape),
                                                                                       seed)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training:
            masks = as_array(transformation["batch_masks"])
            apply = ops.reshape(ops.convert_to_tensor(as_array(transformation["apply_erasing"])), (-1, 1, 1, 1))
            fill = ops.convert_to_tensor(as_array(transformation["fill_value"]))
            images = ops.where(apply, ops.where(masks, fill, images), images)
        return images

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomGaussianBlur
# ----------------------------------------------------------------------------------------------
def _odd_sizes(kernel_size, name: str = "kernel_size") -> tuple:
    """Keras's rule: an odd number k gives (k, k), a pair of odd numbers is kept."""
    message = f"{name} must be an odd number. Received: {name}={kernel_size}"
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) != 2:
            raise ValueError(f"The `{name}` argument should be a number (or a list of two numbers) "
                             f"Received: {name}={kernel_size}")
        if kernel_size[0] % 2 == 0 or kernel_size[1] % 2 == 0:
            raise ValueError(message)
        return kernel_size[0], kernel_size[1]
    if isinstance(kernel_size, numbers.Real):
        if kernel_size % 2 == 0:
            raise ValueError(message)
        return kernel_size, kernel_size
    raise ValueError(message)


class RandomGaussianBlur(_SubsetAugmentation):
    """Blurs each chosen image with a Gaussian kernel of ``kernel_size`` (odd; a number or a pair, the first
    along the width as in ``keras.ops.image.gaussian_blur``) and σ = s + 10⁻⁶, s ~ U[``sigma``] (a number σ in
    [0, 1] means (0, σ); one σ pair per call, shared by the batch), then clips to ``value_range``.
    Inference: the input cast to the layer's dtype.
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.kernel_size = _odd_sizes(kernel_size)
        self.sigma = parse_factor(sigma, self._FACTOR_BOUNDS, "sigma")
        self.value_range = value_range
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"should_apply_blur": (batch,) bools, "blur_factor": (2,) the σ pair}."""
        if not training:
            return None
        batch, _, _ = self._batch_size_and_hw(data)
        seed = seed or self._get_seed_generator()
        apply = self._chosen(batch, seed)
        sigma = uniform((2,), self.sigma[0], self.sigma[1], dtype=self.compute_dtype, seed=seed) + 1e-6
        return {"should_apply_blur": apply, "blur_factor": sigma}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training and transformation is not None:
            sigma = as_array(transformation["blur_factor"])
            blurred = image_ops.gaussian_blur(images, kernel_size=self.kernel_size, sigma=sigma,
                                              data_format=self.data_format)
            apply = ops.reshape(ops.convert_to_tensor(as_array(transformation["should_apply_blur"])), (-1, 1, 1, 1))
            images = ops.clip(ops.where(apply, blurred, images), self.value_range[0], self.value_range[1])
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "kernel_size": self.kernel_size, "sigma": self.sigma,
                "value_range": self.value_range, "seed": self.seed}

"""Augmentations of pixel values: RandomContrast, RandomBrightness, RandomGrayscale, RandomHue,
RandomSaturation, and RandomColorJitter (brightness, contrast, saturation and hue in turn).

Each draws one parameter per image and maps every pixel of it (per image i, ``value_range`` = [lo, hi]):

    contrast     y = clip((x − μ_i)·c_i + μ_i, lo, hi),   μ_i the per-channel mean over height and width
    brightness   y = clip(x + δ_i·(hi − lo), lo, hi)
    grayscale    y = 0.2989·R + 0.587·G + 0.114·B on every channel, for a chosen image
    hue          H ← H + h_i wrapped into [0, 1] (in HSV, on x rescaled to [0, 1])
    saturation   S ← clip(S·s_i/(1 − s_i + ε), lo, hi) (in HSV)

Bounding boxes, labels and segmentation masks are left as they are. Gradients reach the images through
the ops (the clip passes the gradient inside the range; rgb_to_hsv/hsv_to_rgb have their derivatives).
"""
from __future__ import annotations

from ... import ops
from ...config import epsilon
from ...ops import image as image_ops
from ...random import SeedGenerator, uniform
from .base import BaseImagePreprocessingLayer, as_array, value_range_of

__all__ = ["RandomBrightness", "RandomColorJitter", "RandomContrast", "RandomGrayscale", "RandomHue",
           "RandomSaturation"]


class _ColorAugmentation(BaseImagePreprocessingLayer):
    """What the colour layers share: labels, boxes and masks pass through; the per-image parameter shape."""

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks

    def _per_image_shape(self, data) -> tuple:
        """(1, 1, 1) for one image, (batch, 1, 1, 1) for a batch: one value per image, broadcast over pixels."""
        images = data["images"] if isinstance(data, dict) else data
        if images.ndim == 3:
            return (1, 1, 1)
        if images.ndim == 4:
            return (images.shape[0], 1, 1, 1)
        raise ValueError(f"Expected the input image to be rank 3 or 4. Received inputs.shape={tuple(images.shape)}")

    def _seed(self, seed):
        return self._get_seed_generator() if seed is None else seed


def _planes(images, c_axis: int) -> list:
    """The three channel planes of a batch of images, each (batch, height, width)."""
    return [images[:, k] if c_axis == 1 else images[..., k] for k in range(3)]


# ----------------------------------------------------------------------------------------------
# RandomContrast
# ----------------------------------------------------------------------------------------------
class RandomContrast(_ColorAugmentation):
    """y = clip((x − μ)·c + μ, value_range), μ the per-image, per-channel mean over the pixels, with
    c ~ U[1 − lower, 1 + upper]. ``factor`` is a pair (lower, upper) in [0, 1], or a number f, which —
    as in Keras 3.15, whose bounds for this layer start at 0 — gives (0, f), i.e. c ∈ [1, 1 + f]: a single
    number only *raises* the contrast. Pass (f, f) for c ∈ [1 − f, 1 + f]. Inference: the identity (the input
    unchanged, whatever its dtype); training gives floats.
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self._set_factor(factor)
        self.value_range = value_range
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"contrast_factor": (batch, 1, 1, 1)} (zeros at inference)."""
        shape = self._per_image_shape(data)
        if not training:
            return {"contrast_factor": ops.zeros(shape)}
        factor = uniform(shape, 1.0 - self.factor[0], 1.0 + self.factor[1], dtype=self.compute_dtype,
                         seed=self._seed(seed))
        return {"contrast_factor": factor}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        h_axis, w_axis = self._hw_axes()
        mean = ops.mean(ops.mean(images, axis=h_axis, keepdims=True), axis=w_axis, keepdims=True)
        factor = as_array(transformation["contrast_factor"])
        return ops.clip((images - mean) * factor + mean, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomBrightness
# ----------------------------------------------------------------------------------------------
class RandomBrightness(_ColorAugmentation):
    """y = clip(x + δ·(hi − lo), lo, hi), δ ~ U[factor range] per image (a number f in [−1, 1] means [−f, f];
    δ = −1 makes the image black, +1 white), ``value_range`` = [lo, hi] (sorted). The input keeps its dtype
    (an integer image gets δ·(hi − lo) truncated to its dtype first, as Keras). Inference: the identity.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor=factor, **kwargs)
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self.value_range = value_range_of(value_range, "RandomBrightness")

    def get_random_transformation(self, data, training=True, seed=None):
        """{"rgb_delta": (batch, 1, 1, 1)} already scaled to the value range (zeros at inference)."""
        shape = self._per_image_shape(data)
        if not training:
            return {"rgb_delta": ops.zeros(shape)}
        delta = uniform(shape, self.factor[0], self.factor[1], seed=self._seed(seed))
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        delta = ops.cast(ops.convert_to_tensor(as_array(transformation["rgb_delta"])), images.dtype)
        return ops.clip(images + delta, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomGrayscale
# ----------------------------------------------------------------------------------------------
class RandomGrayscale(_ColorAugmentation):
    """Replaces each image, with probability ``factor``, by its luma 0.2989·R + 0.587·G + 0.114·B on every
    channel (the number of channels is kept). The input keeps its dtype (integer images get the luma
    truncated, as Keras). Inference: the identity. Unlike Keras 3.15 (whose transformation reads
    ``data.shape`` and so fails on a dict), dict inputs work.
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if factor < 0 or factor > 1:
            raise ValueError(f"`factor` should be between 0 and 1. Received: factor={factor}")
        self.factor = factor
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """A bool per image, (batch, 1, 1, 1): u < factor, u ~ U[0, 1) (drawn in inference too, as Keras)."""
        shape = self._per_image_shape(data)
        u = uniform((shape[0] if len(shape) == 4 else 1,), 0, 1, seed=self._seed(seed))
        return ops.reshape(u < self.factor, (-1, 1, 1, 1))

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        apply = as_array(transformation) if transformation is not None else \
            as_array(self.get_random_transformation(images))
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return ops.where(apply, gray, images)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


# ----------------------------------------------------------------------------------------------
# RandomHue
# ----------------------------------------------------------------------------------------------
class RandomHue(_ColorAugmentation):
    """Shifts the hue of each image by h = ±u/2, u ~ U[factor range] (a number f in [0, 1] means (0, f); the
    sign is + or − with probability ½): in HSV (of x rescaled from ``value_range`` to [0, 1]) H ← H + h,
    brought back into [0, 1] by ±1, then back to RGB, clipped to [0, 1] and rescaled to ``value_range``.
    Inference: the identity (the input unchanged); training gives floats.
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.value_range = value_range
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"factor": (batch,) hue shifts in [−½, ½]} (sign drawn first, then the size)."""
        shape = self._per_image_shape(data)
        batch = shape[0] if len(shape) == 4 else 1
        seed = self._seed(seed)
        sign = ops.where(uniform((batch,), seed=seed) > 0.5, -1.0, 1.0)
        size = uniform((batch,), self.factor[0], self.factor[1], seed=seed)
        return {"factor": ops.cast(sign, size.dtype) * size * 0.5}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        images = self._transform_value_range(ops.cast(images, self.compute_dtype), self.value_range, (0, 1))
        shift = ops.reshape(ops.cast(ops.convert_to_tensor(as_array(transformation["factor"])), images.dtype),
                            (-1, 1, 1))
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        c_axis = 1 if self.data_format == "channels_first" else -1
        h, s, v = _planes(hsv, c_axis)
        h = h + shift
        h = ops.where(h > 1.0, h - 1.0, h)  # back into [0, 1]
        h = ops.where(h < 0.0, h + 1.0, h)
        rgb = image_ops.hsv_to_rgb(ops.stack([h, s, v], axis=c_axis), data_format=self.data_format)
        rgb = self._transform_value_range(ops.clip(rgb, 0, 1), (0, 1), self.value_range)
        return ops.cast(rgb, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomSaturation
# ----------------------------------------------------------------------------------------------
class RandomSaturation(_ColorAugmentation):
    """Scales the saturation of each image: in HSV, S ← clip(S·r, lo, hi), r = u/(1 − u + ε), u ~ U[factor
    range] (u = ½ keeps the image, 0 makes it gray, 1 saturates it fully). A number f in [−1, 1] means
    [−f, f], as in Keras 3.15 (so about half of the draws are negative: such an image comes out gray);
    pass (lo, hi) in [0, 1] for the documented behaviour. As Keras, the images are taken as they are (no
    rescaling by ``value_range``, which only bounds S) and must be floats in training. Inference: the
    identity.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.value_range = value_range_of(value_range, "RandomSaturation")
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"factor": (batch,) r = u/(1 − u + ε)}."""
        shape = self._per_image_shape(data)
        batch = shape[0] if len(shape) == 4 else 1
        u = uniform((batch,), self.factor[0], self.factor[1], seed=self._seed(seed))
        return {"factor": u / (1 - u + epsilon())}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        if images.dtype.kind != "f":
            raise ValueError(f"RandomSaturation: expected float images in training (as Keras: convert them first), "
                             f"received images of dtype {images.dtype}")
        ratio = ops.reshape(ops.cast(ops.convert_to_tensor(as_array(transformation["factor"])), self.compute_dtype),
                            (-1, 1, 1))
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        c_axis = 1 if self.data_format == "channels_first" else -1
        h, s, v = _planes(hsv, c_axis)
        s = ops.clip(s * ratio, self.value_range[0], self.value_range[1])
        return image_ops.hsv_to_rgb(ops.stack([h, s, v], axis=c_axis), data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomColorJitter
# ----------------------------------------------------------------------------------------------
class RandomColorJitter(_ColorAugmentation):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue applied in this order, each one that
    has a factor (``brightness_factor``, ``contrast_factor``, ``saturation_factor``, ``hue_factor``; None
    skips it), with the same ``value_range``; every draw comes from this layer's own seed generator.
    Images are cast to floats first; inference: the identity.
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self.random_brightness = None if brightness_factor is None else RandomBrightness(
            factor=brightness_factor, value_range=value_range, seed=seed)
        self.random_contrast = None if contrast_factor is None else RandomContrast(
            factor=contrast_factor, value_range=value_range, seed=seed)
        self.random_saturation = None if saturation_factor is None else RandomSaturation(
            factor=saturation_factor, value_range=value_range, seed=seed)
        self.random_hue = None if hue_factor is None else RandomHue(factor=hue_factor, value_range=value_range,
                                                                    seed=seed)

    def _steps(self) -> list:
        return [layer for layer in (self.random_brightness, self.random_contrast, self.random_saturation,
                                    self.random_hue) if layer is not None]

    def build(self, input_shape) -> None:
        for layer in self._steps():
            layer.build(input_shape)

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        images = ops.cast(images, self.compute_dtype)
        for layer in self._steps():
            step = layer.get_random_transformation(images, seed=self._get_seed_generator())
            images = layer.transform_images(images, step)
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range, "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor, "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor, "seed": self.seed}

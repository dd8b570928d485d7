"""Augmentations that move pixels by a non-rigid or projective map: RandomPerspective, RandomShear and
RandomElasticTransform. Each output pixel (x, y) samples the input at a computed point ("bilinear" or
"nearest"; outside the image by ``fill_mode``/``fill_value``):

    perspective   (x_in, y_in) = ((h0·x + h1·y + h2)/D, (h3·x + h4·y + h5)/D), D = h6·x + h7·y + 1, h the
                  homography taking the moved corners e_k = s_k·(1 + δ_k) back to the image corners s_k
    shear         (x_in, y_in) = (x + s_x·y, s_y·x + y)
    elastic       (x_in, y_in) = (x + α·(G_σ ∗ n_x), y + α·(G_σ ∗ n_y)), n ~ N(0, 1)·σ per pixel, G_σ a Gaussian

Gradients reach the images through the samplers' backwards (``neuronka.ops.image``).
"""
from __future__ import annotations

import numbers

from ... import ops
from ...ops import image as image_ops
from ...ops.image_sampling import Homography
from ...random import SeedGenerator, randint, uniform
from . import bounding_boxes as bbox
from .affine import _check_sampling
from .base import BaseImagePreprocessingLayer, as_array, parse_factor

__all__ = ["RandomElasticTransform", "RandomPerspective", "RandomShear"]

_INTERPOLATIONS = ("nearest", "bilinear")


def _check_interpolation(interpolation) -> None:
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one {_INTERPOLATIONS}.")


def _tensor(value, dtype=None):
    t = ops.convert_to_tensor(as_array(value))
    return t if dtype is None else ops.cast(t, dtype)


class _GeometricAugmentation(BaseImagePreprocessingLayer):
    def transform_labels(self, labels, transformation, training=True):
        return labels

    def _input_hw(self, transformation) -> tuple[int, int]:
        h_axis, w_axis = self._hw_axes()
        shape = transformation["input_shape"]
        return int(shape[h_axis]), int(shape[w_axis])


# ----------------------------------------------------------------------------------------------
# RandomPerspective
# ----------------------------------------------------------------------------------------------
class RandomPerspective(_GeometricAugmentation):
    """Warps each chosen image by a random perspective: its corners s_k = (0, 0), (W − 1, 0), (0, H − 1),
    (W − 1, H − 1) move to e_k = s_k + s_k·δ_k, δ_k ~ U[−scale/2, scale/2]² (``scale`` in [0, 1]), and the
    output samples the input through the homography taking e_k to s_k ("bilinear" or "nearest", ``fill_value``
    outside). An image is chosen when t < p, p ~ U[factor range], t ~ U[0, 1) (the default factor 1.0 chooses
    about half). Inference: the identity, in the layer's dtype.

    Bounding boxes become the bounding box of their four corners mapped by the inverse homography, clipped to
    the image. Deliberate difference: Keras 3.15 returns them in "xyxy" whatever ``bounding_box_format`` says;
    neuronka converts them back to ``bounding_box_format`` (the same boxes when it is "xyxy").
    Segmentation masks move with "nearest" interpolation.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=1.0, interpolation: str = "bilinear", fill_value: float = 0.0, seed=None,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = scale
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)
        if scale < 0.0 or scale > 1.0:
            raise ValueError(f"The `scale` argument should be a number in the range [0,1]. Received: scale={scale}")
        _check_interpolation(interpolation)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"apply_perspective": (batch,) bools, "start_points", "end_points": (batch, 4, 2) (x, y) points,
        "input_shape"} (p, t, then δ drawn)."""
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        batch, height, width = self._batch_size_and_hw(data)
        seed = seed or self._get_seed_generator()
        p = uniform((batch,), self.factor[0], self.factor[1], seed=seed)
        t = uniform((batch,), 0.0, 1.0, seed=seed)
        delta = uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale, dtype=self.compute_dtype, seed=seed)
        corners = ops.convert_to_tensor([[[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]]],
                                        dtype=self.compute_dtype)
        start = ops.repeat(corners, batch, axis=0)
        return {"apply_perspective": t < p, "start_points": start, "end_points": start + start * delta,
                "input_shape": tuple(images.shape)}

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        start = _tensor(transformation["start_points"])
        end = _tensor(transformation["end_points"])
        warped = image_ops.perspective_transform(images, start, end, interpolation=interpolation,
                                                 fill_value=self.fill_value, data_format=self.data_format)
        apply = ops.reshape(_tensor(transformation["apply_perspective"]), (-1, 1, 1, 1))
        return ops.where(apply, warped, images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Each box's corners mapped by H⁻¹ (H the homography output → input, as a 3×3 matrix with 1 last):
        (x', y') = (u/w, v/w), (u, v, w) = H⁻¹·(x, y, 1); the new box spans their min and max."""
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._input_hw(transformation)
        boxes = bbox.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height=height, width=width)
        b = boxes["boxes"]
        start = _tensor(transformation["start_points"], self.compute_dtype)
        end = _tensor(transformation["end_points"], self.compute_dtype)
        h = Homography.apply(start, end)  # (batch, 8)
        n = h.shape[0]
        inverse = ops.inv(ops.reshape(ops.concatenate([h, ops.ones((n, 1), h.dtype)], axis=-1), (n, 3, 3)))
        x0, y0, x1, y1 = ops.split(b, 4, axis=-1)  # each (batch, N, 1)
        xs, ys = [], []
        for x, y in [(x0, y0), (x1, y1), (x0, y1), (x1, y0)]:
            points = ops.concatenate([x, y, ops.ones_like(x)], axis=-1)  # (batch, N, 3)
            mapped = ops.matmul(points, ops.swapaxes(inverse, 1, 2))  # (H⁻¹·p)ᵀ = pᵀ·H⁻ᵀ
            xs.append(mapped[..., 0] / mapped[..., 2])
            ys.append(mapped[..., 1] / mapped[..., 2])
        xs, ys = ops.stack(xs, axis=-1), ops.stack(ys, axis=-1)
        moved = ops.stack([ops.min(xs, axis=-1), ops.min(ys, axis=-1), ops.max(xs, axis=-1), ops.max(ys, axis=-1)],
                          axis=-1)
        apply = ops.reshape(_tensor(transformation["apply_perspective"]), (-1, 1, 1))
        boxes = {**boxes, "boxes": ops.where(apply, ops.cast(moved, b.dtype), b)}
        boxes = bbox.clip_to_image_size(boxes, height=height, width=width, bounding_box_format="xyxy")
        return bbox.convert_format(boxes, "xyxy", self.bounding_box_format, height=height, width=width)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandomShear
# ----------------------------------------------------------------------------------------------
def _symmetric_unit(factor, name: str) -> tuple:
    """RandomShear's factor rule: a number f in [0, 1] gives (−f, f), a pair is sorted. Keras 3.15 wants a
    pair in [0, 1], so its own config (−f, f) does not load back; neuronka takes a pair in [−1, 1]."""
    message = "The `factor` argument should be a number (or a list of two numbers) in the range [0, 1.0]. "

    def check(v, low=0.0):
        if v > 1.0 or v < low:
            raise ValueError(message + f"Received: input_number={v}")

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message + f"Received: {name}={factor}")
        check(factor[0], -1.0)
        check(factor[1], -1.0)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        check(factor)
        return -abs(factor), abs(factor)
    raise ValueError(message + f"Received: {name}={factor}")


class RandomShear(_GeometricAugmentation):
    """Shears each image about its top-left corner: the output pixel (x, y) samples the input at
    (x + s_x·y, s_y·x + y), s = ±(u_x, u_y), u_x ~ U[x_factor range], u_y ~ U[y_factor range] (a number f in
    [0, 1] means [−f, f]; a pair (lo, hi) in [0, 1]) and the sign − with probability ½ (drawn first). Fills by
    ``fill_mode`` ("reflect" by default). Inference: the identity, in the layer's dtype. (Deliberate
    difference: a pair may hold negative values, so that the config of a number f, (−f, f), loads back.)

    Bounding boxes move as Keras moves them (x by −s_x·y at the corner that bounds the sheared box, then y
    by −s_y·x), clipped to the image. Deliberate difference: Keras 3.15 shears the boxes in relative
    coordinates, which is right only for square images; neuronka shears them in pixels (the same boxes for
    square images). Segmentation masks move with "nearest" interpolation.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation: str = "bilinear", fill_mode: str = "reflect",
                 fill_value: float = 0.0, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.x_factor = _symmetric_unit(x_factor, "x_factor")
        self.y_factor = _symmetric_unit(y_factor, "y_factor")
        _check_sampling(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"shear_factor": (batch, 2) [s_x, s_y], "input_shape"} (the sign, then s_y, then s_x drawn)."""
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        batch = images.shape[0] if len(images.shape) == 4 else 1
        seed = self._get_seed_generator() if seed is None else seed
        dtype = self.compute_dtype
        invert = uniform((batch, 1), 0, 1, dtype=dtype, seed=seed)
        sign = ops.where(invert > 0.5, -ops.ones_like(invert), ops.ones_like(invert))
        shear_y = uniform((batch, 1), self.y_factor[0], self.y_factor[1], dtype=dtype, seed=seed)
        shear_x = uniform((batch, 1), self.x_factor[0], self.x_factor[1], dtype=dtype, seed=seed)
        return {"shear_factor": ops.concatenate([shear_x, shear_y], axis=1) * sign,
                "input_shape": tuple(images.shape)}

    @staticmethod
    def _matrix(shear):
        """[1, s_x, 0, s_y, 1, 0, 0, 0] per image."""
        n = shear.shape[0]
        ones, zeros = ops.ones((n, 1), shear.dtype), ops.zeros((n, 1), shear.dtype)
        return ops.concatenate([ones, shear[:, 0:1], zeros, shear[:, 1:2], ones, zeros, zeros, zeros], axis=1)

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        matrix = self._matrix(_tensor(transformation["shear_factor"]))
        return image_ops.affine_transform(images, matrix, interpolation=interpolation, fill_mode=self.fill_mode,
                                          fill_value=self.fill_value, data_format=self.data_format)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        height, width = self._input_hw(transformation)
        boxes = bbox.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height=height, width=width,
                                    dtype=self.compute_dtype)
        shear = _tensor(transformation["shear_factor"], self.compute_dtype)
        sx, sy = shear[:, 0:1], shear[:, 1:2]  # (batch, 1) against (batch, N)
        x1, y1, x2, y2 = (ops.squeeze(c, -1) for c in ops.split(boxes["boxes"], 4, axis=-1))
        if len(x1.shape) == 1:  # unbatched boxes (N,) with one shear row
            sx, sy = ops.reshape(sx, (-1,)), ops.reshape(sy, (-1,))
        # x moves by −s_x·y: the left edge is bounded by the top corner when s_x < 0, by the bottom one otherwise
        x1, x2 = (ops.where(sx < 0, x1 - sx * y1, x1 - sx * y2), ops.where(sx < 0, x2 - sx * y2, x2 - sx * y1))
        # then y by −s_y·x (with the moved x, as Keras)
        y1, y2 = (ops.where(sy > 0, y1 - sy * x2, y1 - sy * x1), ops.where(sy > 0, y2 - sy * x1, y2 - sy * x2))
        boxes = {**boxes, "boxes": ops.stack([x1, y1, x2, y2], axis=-1)}
        boxes = bbox.clip_to_image_size(boxes, height=height, width=width, bounding_box_format="xyxy")
        return bbox.convert_format(boxes, "xyxy", self.bounding_box_format, height=height, width=width,
                                   dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}


# ----------------------------------------------------------------------------------------------
# RandomElasticTransform
# ----------------------------------------------------------------------------------------------
_ELASTIC_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


class RandomElasticTransform(_GeometricAugmentation):
    """Elastic deformation of each chosen image (``neuronka.ops.image.elastic_transform``): with a distortion
    d ~ U[scale range] per call (a number in [0, 1] means (0, d)), α = 0.1·d·max(H, W) and σ = 0.05·d·min(H, W);
    the image is sampled at its pixel grid displaced by α·(G_σ ∗ noise), then clipped to ``value_range``. An
    image is chosen when t < p, p ~ U[factor range], t ~ U[0, 1). ``factor`` or ``scale`` with an upper bound
    of 0 give the identity. Inference: the identity, in the layer's dtype.

    Deliberate difference: Keras 3.15 hands its seed generator to the deformation (and its torch backend
    ignores seeds on the CPU), so a dict's segmentation masks get a different field than its images; neuronka
    draws one integer seed per call (``transformation["seed"]``) and deforms images and masks alike
    (masks: "nearest"). Bounding boxes are not supported, as in Keras.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=1.0, interpolation: str = "bilinear", fill_mode: str = "reflect",
                 fill_value: float = 0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = parse_factor(scale, self._FACTOR_BOUNDS, "scale")
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.value_range = value_range
        self.seed = seed
        self.generator = SeedGenerator(seed)
        _check_interpolation(interpolation)
        if fill_mode not in _ELASTIC_FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {set(_ELASTIC_FILL_MODES)}.")

    def get_random_transformation(self, data, training=True, seed=None):
        """{"apply_transform": (batch,) bools, "distortion_factor": d, "seed": an int for the noise fields}."""
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        batch, _, _ = self._batch_size_and_hw(data)
        seed = seed or self._get_seed_generator()
        p = uniform((batch,), self.factor[0], self.factor[1], seed=seed)
        t = uniform((batch,), 0.0, 1.0, seed=seed)
        distortion = uniform((), self.scale[0], self.scale[1], dtype=self.compute_dtype, seed=seed)
        field_seed = int(as_array(randint((), 0, 2**31 - 1, seed=seed)))
        return {"apply_transform": t < p, "distortion_factor": distortion, "seed": field_seed}

    @staticmethod
    def get_elastic_transform_params(height: int, width: int, factor) -> tuple:
        """(α, σ) = (0.1·d·max(H, W), 0.05·d·min(H, W))."""
        return max(height, width) * (0.1 * factor), min(height, width) * (0.05 * factor)

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        h_axis, w_axis = self._hw_axes()
        distortion = float(as_array(transformation["distortion_factor"]))
        alpha, sigma = self.get_elastic_transform_params(images.shape[h_axis], images.shape[w_axis], distortion)
        floats = images if images.dtype.kind == "f" else ops.cast(images, self.compute_dtype)
        seed = transformation["seed"]
        warped = image_ops.elastic_transform(floats, alpha=alpha, sigma=sigma, interpolation=interpolation,
                                             fill_mode=self.fill_mode, fill_value=self.fill_value,
                                             seed=seed if isinstance(seed, int) else None,
                                             data_format=self.data_format)
        apply = ops.reshape(_tensor(transformation["apply_transform"]), (-1, 1, 1, 1))
        images = ops.clip(ops.where(apply, warped, floats), self.value_range[0], self.value_range[1])
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}

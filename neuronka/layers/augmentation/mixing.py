"""Augmentations that mix images or chain other augmentations: MixUp, CutMix (two images of the batch
blended, labels alike), AugMix (a weighted mix of random augmentation chains) and RandAugment (a few
augmentations chosen at random, in turn).

    MixUp     y_i = λ_i·x_i + (1 − λ_i)·x_π(i),  labels likewise;  λ_i ~ Beta(α, α), π a random permutation
    CutMix    y_i = x_π(i) inside a random box, x_i outside;  labels mixed by λ_i = 1 − box area/image area
    AugMix    y = clip(m·x + (1 − m)·Σ_k w_k·chain_k(x), lo, hi),  w ~ Dirichlet(α), m ~ Beta(α, α)
    RandAugment   y = op_{k_n}(… op_{k_1}(x)),  k_j uniform over the eleven augmentations

Gradients reach the images through the ops (the blends are linear; chains through each augmentation).
"""
from __future__ import annotations

import numpy

from ... import ops
from ...random import SeedGenerator, beta, gamma, randint, shuffle, uniform
from .affine import RandomRotation, RandomTranslation
from .base import BaseImagePreprocessingLayer, as_array
from .color import RandomBrightness, RandomContrast
from .geometric import RandomShear
from .intensity import (
    AutoContrast,
    Equalization,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)

__all__ = ["AugMix", "CutMix", "MixUp", "RandAugment"]


def _tensor(value, dtype=None):
    t = ops.convert_to_tensor(as_array(value))
    return t if dtype is None else ops.cast(t, dtype)


def _blend(weight, a, b):
    """w·a + (1 − w)·b, with w broadcast from (batch,) over a's other axes."""
    w = ops.reshape(weight, (-1,) + (1,) * (len(a.shape) - 1))
    return w * a + (1.0 - w) * b


# ----------------------------------------------------------------------------------------------
# MixUp
# ----------------------------------------------------------------------------------------------
class MixUp(BaseImagePreprocessingLayer):
    """MixUp (Zhang et al., 2017): y_i = λ_i·x_i + (1 − λ_i)·x_π(i), λ_i ~ Beta(α, α) per image and π a
    random permutation of the batch; labels mix with the same λ and π. Bounding boxes of image π(i) are
    appended to image i's. Inference: the identity.

    Deliberate differences from Keras 3.15: the appended boxes' labels are appended along the boxes axis
    (Keras concatenates the label tensors along the batch axis, so they no longer pair with the boxes), and
    segmentation masks are permuted along the batch axis and blended like the images (Keras takes them from
    the flattened masks).
    """

    _USE_BASE_FACTOR = False

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.alpha = alpha
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"mix_weight": (batch,) λ, "permutation_order": (batch,) int64 π} (π drawn first)."""
        batch, _, _ = self._batch_size_and_hw(data)
        seed = self._get_seed_generator() if seed is None else seed
        order = shuffle(ops.arange(0, batch, dtype="int64"), seed=seed)
        return {"mix_weight": beta((batch,), self.alpha, self.alpha, seed=seed), "permutation_order": order}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        images = ops.cast(images, self.compute_dtype)
        order = _tensor(transformation["permutation_order"])
        weight = _tensor(transformation["mix_weight"], self.compute_dtype)
        return _blend(weight, images, ops.take(images, order, axis=0))

    def transform_labels(self, labels, transformation, training=True):
        if not training:
            return labels
        order = _tensor(transformation["permutation_order"])
        weight = _tensor(transformation["mix_weight"])
        return _blend(weight, labels, ops.take(labels, order, axis=0))

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        order = _tensor(transformation["permutation_order"])
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        return {"boxes": ops.concatenate([boxes, ops.take(boxes, order, axis=0)], axis=1),
                "labels": ops.concatenate([labels, ops.take(labels, order, axis=0)], axis=1)}

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        order = _tensor(transformation["permutation_order"])
        weight = _tensor(transformation["mix_weight"])
        return _blend(weight, segmentation_masks, ops.take(segmentation_masks, order, axis=0))

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# CutMix
# ----------------------------------------------------------------------------------------------
class CutMix(BaseImagePreprocessingLayer):
    """CutMix (Yun et al., 2019): a box of image π(i) is pasted into image i. Per call a ~ U[factor range]
    + 10⁻⁶ (a number f in [0, 1] means (0, f)); per image λ ~ Beta(a, a), the box sides are √(1 − λ)·W and
    √(1 − λ)·H, its corner uniform within the image (x first, then y), π a random permutation of the batch.
    Labels mix as λ'·l_i + (1 − λ')·l_π(i), λ' = 1 − (box area)/(W·H). Single images and inference: the
    images cast to the layer's dtype. Bounding boxes are not supported (NotImplementedError, as Keras).

    Segmentation masks are cut like the images. Deliberate difference: Keras 3.15 uses the images' channel
    count for the masks' box too, so (batch, H, W, 1) masks of RGB images come back with three channels;
    neuronka's keep their shape.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self.height_axis, self.width_axis = self._hw_axes()
        self.channel_axis = -3 if self.data_format == "channels_first" else -1

    def get_random_transformation(self, data, training=True, seed=None):
        """{"permutation_order": (batch,) int32, "batch_masks": (batch, H, W, C) bools (or channels first) —
        True inside the box, "mix_weight": (batch, 1, 1, 1) λ'}; None for a single image or at inference."""
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = tuple(images.shape)
        if len(shape) == 3:
            return None
        batch, height, width = shape[0], shape[self.height_axis], shape[self.width_axis]
        seed = seed or self._get_seed_generator()
        a = uniform((), self.factor[0], self.factor[1], dtype=self.compute_dtype, seed=seed) + 1e-6
        lam = beta((batch,), a, a, dtype=self.compute_dtype, seed=seed)
        ratio = ops.sqrt(1.0 - lam)
        x0, x1 = self._random_span(batch, width, ratio, seed)
        y0, y1 = self._random_span(batch, height, ratio, seed)
        rows = ops.arange(height, dtype=self.compute_dtype)
        cols = ops.arange(width, dtype=self.compute_dtype)
        if self.data_format == "channels_last":
            rows, cols = ops.reshape(rows, (1, height, 1, 1)), ops.reshape(cols, (1, 1, width, 1))
        else:
            rows, cols = ops.reshape(rows, (1, 1, height, 1)), ops.reshape(cols, (1, 1, 1, width))
        x0, x1, y0, y1 = (ops.reshape(v, (-1, 1, 1, 1)) for v in (x0, x1, y0, y1))
        inside = ops.logical_and(ops.logical_and(cols >= x0, cols < x1), ops.logical_and(rows >= y0, rows < y1))
        masks = ops.repeat(inside, shape[self.channel_axis], axis=self.channel_axis)
        order = shuffle(ops.arange(0, batch, dtype="int32"), seed=seed)
        mix_weight = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        return {"permutation_order": order, "batch_masks": masks, "mix_weight": mix_weight}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training and transformation is not None:
            order = _tensor(transformation["permutation_order"])
            masks = _tensor(transformation["batch_masks"])
            channels = images.shape[self.channel_axis]
            if masks.shape[self.channel_axis] != channels:  # masks of another channel count: the same box
                masks = masks[:, :1] if self.channel_axis == -3 else masks[..., :1]
            images = ops.where(masks, ops.take(images, order, axis=0), images)
        return images

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        order = _tensor(transformation["permutation_order"])
        weight = _tensor(transformation["mix_weight"])
        return _blend(ops.reshape(weight, (-1,)), labels, ops.take(labels, order, axis=0))

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError("CutMix does not support bounding boxes (as Keras).")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# the augmentations AugMix and RandAugment draw from
# ----------------------------------------------------------------------------------------------
def _sublayers(owner, value_range, interpolation, data_format, dtype, bounding_box_format=None,
               color_ops: bool = True) -> None:
    """Sets on ``owner`` the augmentation layers named as Keras names them, with owner.factor = (lo, hi) as
    each one's strength (posterization keeps max(1, ⌊8·hi⌋) bits), sharing owner's seed."""
    f, seed = owner.factor, owner.seed
    common = {"data_format": data_format, "dtype": dtype}
    boxes = {"bounding_box_format": bounding_box_format} if bounding_box_format else {}
    owner.random_shear = RandomShear(x_factor=f, y_factor=f, interpolation=interpolation, seed=seed, **boxes,
                                     **common)
    owner.random_translation = RandomTranslation(height_factor=f, width_factor=f, interpolation=interpolation,
                                                 seed=seed, **boxes, **common)
    owner.random_rotation = RandomRotation(factor=f, interpolation=interpolation, seed=seed, **boxes, **common)
    owner.solarization = Solarization(addition_factor=f, threshold_factor=f, value_range=value_range, seed=seed,
                                      **common)
    owner.random_posterization = RandomPosterization(factor=max(1, int(8 * f[1])), value_range=value_range,
                                                     seed=seed, **common)
    owner.auto_contrast = AutoContrast(value_range=value_range, **common)
    owner.equalization = Equalization(value_range=value_range, **common)
    if color_ops:
        owner.random_brightness = RandomBrightness(factor=f, value_range=value_range, seed=seed, **common)
        owner.random_color_degeneration = RandomColorDegeneration(factor=f, value_range=value_range, seed=seed,
                                                                  **common)
        owner.random_contrast = RandomContrast(factor=f, value_range=value_range, seed=seed, **common)
        owner.random_sharpness = RandomSharpness(factor=f, value_range=value_range, seed=seed, **common)


_GEOMETRIC_AND_TONE = ["random_shear", "random_translation", "random_rotation", "random_posterization",
                       "solarization", "auto_contrast", "equalization"]
_COLOR = ["random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness"]


# ----------------------------------------------------------------------------------------------
# AugMix
# ----------------------------------------------------------------------------------------------
class AugMix(BaseImagePreprocessingLayer):
    """AugMix (Hendrycks et al., 2020): ``num_chains`` chains of up to ``chain_depth`` augmentations each
    (every step one of the augmentations or none, uniformly), mixed as y = clip(m·x + (1 − m)·Σ_k w_k·c_k(x),
    lo, hi) with w ~ Dirichlet(α, …, α) (from Gamma(α) draws) and m ~ Beta(α, α), one of each per call.
    The augmentations are RandomShear, RandomTranslation, RandomRotation, RandomPosterization, Solarization,
    AutoContrast, Equalization and, with ``all_ops``, RandomBrightness, RandomColorDegeneration,
    RandomContrast and RandomSharpness, each of strength ``factor`` (a number in [0, 1] means (0, f)).
    Segmentation masks go through the same chains and mix; labels and boxes pass through. Inference: the
    images cast to the layer's dtype.

    Deliberate difference: Keras 3.15 picks each step's augmentation with Python's global ``random`` (not
    seeded by ``seed``); neuronka draws it from the layer's seed generator, so a seed fixes the chains too.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.num_chains = num_chains
        self.chain_depth = chain_depth
        self._set_factor(factor)
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self._augment_layers = _GEOMETRIC_AND_TONE + (_COLOR if all_ops else [])
        _sublayers(self, value_range, interpolation, data_format, kwargs.get("dtype"), color_ops=all_ops)

    def build(self, input_shape) -> None:
        for name in self._augment_layers:
            getattr(self, name).build(input_shape)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"chain_mixing_weights": (num_chains,) w, "weight_sample": m, "chain_transforms": per chain a list
        of {"layer_name", "transformation"}}."""
        if not training:
            return None
        seed = seed or self._get_seed_generator()
        g = gamma((self.num_chains,), self.alpha, seed=seed)
        weights = g / ops.sum(g, axis=-1, keepdims=True)
        mix = beta((), self.alpha, self.alpha, seed=seed)
        choices = [*self._augment_layers, None]
        chains = []
        for _ in range(self.num_chains):
            steps = []
            for _ in range(self.chain_depth):
                name = choices[int(as_array(randint((), 0, len(choices), seed=self._get_seed_generator())))]
                if name is None:
                    continue
                step = getattr(self, name).get_random_transformation(data, seed=self._get_seed_generator())
                steps.append({"layer_name": name, "transformation": step})
            chains.append(steps)
        return {"chain_mixing_weights": weights, "weight_sample": mix, "chain_transforms": chains}

    def _mix(self, x, transformation, transform: str):
        weights = _tensor(transformation["chain_mixing_weights"], self.compute_dtype)
        mix = _tensor(transformation["weight_sample"], self.compute_dtype)
        mixed = None
        for k, chain in enumerate(transformation["chain_transforms"]):
            y = x
            for step in chain:
                y = getattr(getattr(self, step["layer_name"]), transform)(y, step["transformation"])
            term = y * weights[k]
            mixed = term if mixed is None else mixed + term
        if mixed is None:  # no chains
            mixed = ops.zeros_like(x)
        return mix * x + (1 - mix) * mixed

    def transform_images(self, images, transformation, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training:
            images = ops.clip(self._mix(images, transformation, "transform_images"), self.value_range[0],
                              self.value_range[1])
        return ops.cast(images, self.compute_dtype)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        return self._mix(segmentation_masks, transformation, "transform_segmentation_masks")

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range, "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}


# ----------------------------------------------------------------------------------------------
# RandAugment
# ----------------------------------------------------------------------------------------------
class RandAugment(BaseImagePreprocessingLayer):
    """RandAugment (Cubuk et al., 2019): ``num_ops`` augmentations, each chosen uniformly (with repetition)
    among RandomShear, RandomTranslation, RandomRotation, RandomBrightness, RandomColorDegeneration,
    RandomContrast, RandomSharpness, RandomPosterization, Solarization, AutoContrast and Equalization, applied
    in turn, all of strength ``factor`` (a number in [0, 1] means (0, f); posterization keeps
    max(1, ⌊8·hi⌋) bits). Every augmentation draws its parameters once per call, so one chosen twice applies
    the same transformation twice. Labels pass through; segmentation masks and boxes follow the chosen
    augmentations (boxes: each chosen augmentation once, in the order above, as Keras). Inference: the
    images cast to the layer's dtype.

    Deliberate difference: Keras 3.15 builds its geometric augmentations without a ``bounding_box_format``,
    so boxes fail there; neuronka passes the layer's format on, so boxes follow shears, translations and
    rotations.
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _AUGMENT_LAYERS = ["random_shear", "random_translation", "random_rotation", "random_brightness",
                       "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
                       "solarization", "auto_contrast", "equalization"]

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.num_ops = num_ops
        self._set_factor(factor)
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)
        _sublayers(self, value_range, interpolation, data_format, kwargs.get("dtype"),
                   bounding_box_format=self.bounding_box_format)

    def build(self, input_shape) -> None:
        for name in self._AUGMENT_LAYERS:
            getattr(self, name).build(input_shape)

    def get_random_transformation(self, data, training=True, seed=None):
        """{"transforms": {layer name: its transformation}, "layer_idxes": (num_ops,) int32 choices}."""
        if not training:
            return None
        idxes = randint((self.num_ops,), 0, len(self._AUGMENT_LAYERS), seed=self._get_seed_generator())
        transforms = {name: getattr(self, name).get_random_transformation(data, training=training,
                                                                            seed=self._get_seed_generator())
                      for name in self._AUGMENT_LAYERS}
        return {"transforms": transforms, "layer_idxes": idxes}

    def _chosen(self, transformation) -> list[int]:
        return [int(i) for i in numpy.asarray(as_array(transformation["layer_idxes"])).reshape(-1)[:self.num_ops]]

    def _apply(self, x, transformation, transform: str):
        transforms = transformation["transforms"]
        for idx in self._chosen(transformation):
            name = self._AUGMENT_LAYERS[idx]
            x = getattr(getattr(self, name), transform)(x, transforms[name])
        return x

    def transform_images(self, images, transformation, training=True):
        images = ops.cast(images, self.compute_dtype)
        if training:
            images = self._apply(images, transformation, "transform_images")
        return ops.cast(images, self.compute_dtype)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        chosen = set(self._chosen(transformation))
        for idx, name in enumerate(self._AUGMENT_LAYERS):
            if idx in chosen:
                bounding_boxes = getattr(self, name).transform_bounding_boxes(dict(bounding_boxes),
                                                                            transformation["transforms"][name])
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        return self._apply(segmentation_masks, transformation, "transform_segmentation_masks")

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range, "num_ops": self.num_ops,
                "factor": self.factor, "interpolation": self.interpolation, "seed": self.seed}


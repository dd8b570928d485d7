"""The image augmentation layers against real Keras 3.15.1 (neuronka/layers/augmentation).

What is proved, and how (Keras's random bits cannot be matched, so randomness is pinned or compared in law):

1. the layer contract (tests/layer_harness.py rows): configs and serialization both ways, build configs,
   ``compute_output_shape``, and inference outputs and gradients equal to Keras's; rows whose factors pin the
   transformation (a range (a, a), a probability of 1) also compare the *training* outputs and gradients;
2. every transform given the *same* transformation — Keras's ``get_random_transformation`` converted to
   arrays and handed to both ``transform_images`` / ``transform_segmentation_masks`` /
   ``transform_bounding_boxes`` — equal to Keras's (several argument sets, box formats, data formats);
3. whole calls on dicts (images, labels, boxes, masks; batches and single images) equal to Keras's where
   the factors pin the transformation;
4. the law of the random parameters (fraction flipped, angles, offsets, zooms, deltas, probabilities) in
   agreement with Keras's own draws (two-sample Kolmogorov–Smirnov / binomial bounds), determinism under a
   seed, ``training`` semantics (Keras's: a direct call augments, ``predict`` does not);
5. float64 central differences through the training-mode transforms (the gradient reaches the images);
6. ``.keras`` files with augmentation layers written by Keras read by neuronka, and the reverse.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers
from neuronka.gradcheck import gradcheck
from neuronka.layers.augmentation import bounding_boxes as nk_boxes

from .keras_oracle import clear_keras_session, keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases


def pixels(rng, shape):
    return rng.uniform(0, 255, shape).astype(numpy.float32)


def unit(rng, shape):
    return rng.uniform(0, 1, shape).astype(numpy.float32)


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keras's global name counters back to zero after each test (other tests compare default names)."""
    yield
    clear_keras_session()


# ======================================================================================================
# 1. the layer contract, inference (and training where the factors pin it)
# ======================================================================================================
def _pipeline_layers(K):
    return {"layers": [K.layers.CenterCrop(4, 4), K.layers.RandomBrightness((0.1, 0.1), value_range=(0, 1))]}


CASES = [
    # (Keras's RandomBrightness adds in place, so torch cannot differentiate it in training: its pinned training
    # outputs are compared below, without gradients; Keras's torch gaussian_blur fails on rectangular kernels)
    LayerCase("random_flip", layers.RandomFlip, {"seed": 3}, (2, 5, 6, 3), keras=True, gradcheck=True),
    LayerCase("random_flip_horizontal_channels_first_boxes", layers.RandomFlip,
              {"mode": "horizontal", "seed": 3, "data_format": "channels_first", "bounding_box_format": "xywh"},
              (2, 3, 5, 6), keras=True),
    LayerCase("random_flip_vertical", layers.RandomFlip, {"mode": "vertical"}, (1, 4, 4, 1), keras=True),
    LayerCase("random_crop_centred_window", layers.RandomCrop, {"height": 4, "width": 4, "seed": 5}, (2, 4, 6, 3),
              keras=True, keras_training=True, training_modes=(True,), check_symbolic=False),
    LayerCase("random_crop_upsized_channels_first", layers.RandomCrop,
              {"height": 6, "width": 5, "seed": 5, "data_format": "channels_first"}, (2, 3, 4, 4), keras=True,
              keras_training=True, training_modes=(True,), check_symbolic=False, input_maker=pixels,
              keras_atol=1e-3),
    LayerCase("center_crop", layers.CenterCrop, {"height": 3, "width": 4}, (2, 5, 7, 3), keras=True,
              keras_training=True, gradcheck=True),
    LayerCase("center_crop_resized", layers.CenterCrop, {"height": 6, "width": 8}, (2, 4, 5, 3), keras=True,
              keras_training=True, input_maker=pixels, keras_atol=1e-3),
    LayerCase("center_crop_channels_first_boxes", layers.CenterCrop,
              {"height": 2, "width": 3, "data_format": "channels_first", "bounding_box_format": "rel_xyxy"},
              (2, 3, 4, 6), keras=True, keras_training=True),
    LayerCase("random_translation_pinned", layers.RandomTranslation,
              {"height_factor": (0.2, 0.2), "width_factor": (-0.25, -0.25), "seed": 1}, (2, 5, 8, 3), keras=True,
              keras_training=True),
    LayerCase("random_translation_constant_nearest", layers.RandomTranslation,
              {"height_factor": 0.3, "width_factor": (0.1, 0.2), "fill_mode": "constant", "fill_value": 2.0,
               "interpolation": "nearest", "bounding_box_format": "center_xywh"}, (2, 4, 4, 2), keras=True),
    LayerCase("random_rotation_pinned", layers.RandomRotation, {"factor": (0.1, 0.1), "seed": 2}, (2, 6, 7, 3),
              keras=True, keras_training=True),
    LayerCase("random_rotation_pinned_wrap_channels_first", layers.RandomRotation,
              {"factor": (-0.3, -0.3), "fill_mode": "wrap", "data_format": "channels_first"}, (2, 2, 5, 6),
              keras=True, keras_training=True),
    LayerCase("random_rotation_constant_nearest", layers.RandomRotation,
              {"factor": 0.2, "fill_mode": "constant", "fill_value": 1.5, "interpolation": "nearest"}, (2, 4, 4, 1),
              keras=True),
    LayerCase("random_zoom_pinned", layers.RandomZoom, {"height_factor": (0.2, 0.2), "width_factor": (-0.3, -0.3)},
              (2, 6, 5, 3), keras=True, keras_training=True),
    LayerCase("random_zoom_pinned_one_factor_nearest_fill", layers.RandomZoom,
              {"height_factor": (-0.4, -0.4), "fill_mode": "nearest", "interpolation": "nearest"}, (2, 5, 5, 2),
              keras=True, keras_training=True),
    LayerCase("random_zoom_reflect", layers.RandomZoom, {"height_factor": 0.5, "seed": 4}, (2, 4, 4, 3), keras=True),
    LayerCase("random_contrast", layers.RandomContrast, {"factor": 0.2, "seed": 1}, (2, 4, 5, 3), keras=True,
              input_maker=pixels),
    LayerCase("random_contrast_pinned_clip", layers.RandomContrast, {"factor": 0.0, "value_range": (0, 1)},
              (2, 4, 5, 3), keras=True, keras_training=True),
    LayerCase("random_brightness_pinned", layers.RandomBrightness, {"factor": (0.1, 0.1), "value_range": (0, 1)},
              (2, 4, 5, 3), keras=True, input_maker=unit),
    LayerCase("random_brightness_0_255", layers.RandomBrightness, {"factor": 0.3, "seed": 2}, (2, 3, 3, 3),
              keras=True, input_maker=pixels),
    LayerCase("random_erasing", layers.RandomErasing, {"seed": 1, "fill_value": 3.0}, (2, 5, 5, 3), keras=True),
    LayerCase("random_erasing_never", layers.RandomErasing, {"factor": (0.0, 0.0), "scale": 0.2}, (2, 5, 5, 3),
              keras=True, keras_training=True),
    LayerCase("random_gaussian_blur_pinned", layers.RandomGaussianBlur,
              {"factor": (1.0, 1.0), "sigma": (0.5, 0.5), "kernel_size": 5}, (2, 6, 6, 3), keras=True,
              keras_training=True, input_maker=pixels, keras_atol=1e-3),
    LayerCase("random_gaussian_blur_pinned_channels_first", layers.RandomGaussianBlur,
              {"factor": (1.0, 1.0), "sigma": (0.8, 0.8), "kernel_size": (3, 3), "value_range": (0, 1),
               "data_format": "channels_first"}, (2, 3, 6, 5), keras=True, keras_training=True, input_maker=unit),
    LayerCase("random_grayscale_always", layers.RandomGrayscale, {"factor": 1.0}, (2, 4, 5, 3), keras=True,
              keras_training=True),
    LayerCase("random_grayscale_channels_first", layers.RandomGrayscale,
              {"factor": 0.3, "data_format": "channels_first"}, (2, 3, 4, 4), keras=True),  # no seed in its config
    LayerCase("random_hue", layers.RandomHue, {"factor": 0.3, "seed": 1}, (2, 4, 4, 3), keras=True),
    LayerCase("random_hue_zero_shift_round_trip", layers.RandomHue, {"factor": (0.0, 0.0), "value_range": (0, 1)},
              (2, 4, 4, 3), keras=True, keras_training=True, input_maker=unit),
    LayerCase("random_saturation_pinned", layers.RandomSaturation, {"factor": (0.3, 0.3), "value_range": (0, 1)},
              (2, 4, 4, 3), keras=True, keras_training=True, input_maker=unit),
    LayerCase("random_saturation_channels_first", layers.RandomSaturation,
              {"factor": 0.4, "data_format": "channels_first", "seed": 7}, (2, 3, 4, 4), keras=True),
    LayerCase("random_color_jitter_pinned", layers.RandomColorJitter,
              {"contrast_factor": 0.0, "saturation_factor": (0.6, 0.6), "hue_factor": (0.0, 0.0), "value_range": (0, 1),
               "seed": 3},
              (2, 4, 4, 3), keras=True, keras_training=True, input_maker=unit),
    LayerCase("random_color_jitter_all", layers.RandomColorJitter,
              {"brightness_factor": 0.2, "contrast_factor": 0.3, "saturation_factor": (0.4, 0.6), "hue_factor": 0.1},
              (2, 4, 4, 3), keras=True, input_maker=pixels),
    LayerCase("max_num_bounding_boxes", layers.MaxNumBoundingBoxes,
              {"max_number": 3, "bounding_box_format": "xyxy"}, (2, 4, 4, 3), keras=True),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()


# ======================================================================================================
# 2. every transform, given Keras's own random transformation
# ======================================================================================================
def _arrays(t):
    """A Keras transformation with its torch tensors as NumPy arrays (shapes and Python numbers kept)."""
    if isinstance(t, dict):
        return {k: _arrays(v) for k, v in t.items()}
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy().copy()
    if isinstance(t, tuple) and not all(isinstance(v, int) for v in t):
        return tuple(_arrays(v) for v in t)
    return t


def _fresh(t):
    """A copy of a Keras transformation for one Keras call: Keras's torch ``affine_transform`` permutes the
    entries of its ``transform`` argument in place, so RandomRotation's stored matrix is wrong for a second
    call (Keras 3.15 rotates a dict's masks with that corrupted matrix; neuronka does not)."""
    if isinstance(t, dict):
        return {k: _fresh(v) for k, v in t.items()}
    if hasattr(t, "clone"):
        return t.clone()
    return t


def _np(x):
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    if isinstance(x, nk.Tensor):
        return numpy.asarray(x.data)
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return numpy.asarray(x)


def _assert_equal_outputs(ours, theirs, what, atol=1e-4, rtol=1e-5, check_dtype=True):
    ours, theirs = _np(ours), _np(theirs)
    if isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs), f"{what}: keys {sorted(ours)}, Keras's {sorted(theirs)}"
        for k in theirs:
            _assert_equal_outputs(ours[k], theirs[k], f"{what}[{k!r}]", atol, rtol, check_dtype)
        return
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape}, Keras's {theirs.shape}"
    if check_dtype:
        narrowed = {("int64", "int32")}
        assert ours.dtype == theirs.dtype or (ours.dtype.name, theirs.dtype.name) in narrowed, (
            f"{what}: dtype {ours.dtype}, Keras's {theirs.dtype}")
    numpy.testing.assert_allclose(ours.astype(numpy.float64), theirs.astype(numpy.float64), rtol=rtol, atol=atol,
                                  err_msg=what)


def _boxes_in(fmt, height, width, batch, n, rng):
    """Random boxes (some partly outside the image) in ``fmt`` and their labels, as NumPy."""
    x1 = rng.uniform(-0.2 * width, 0.8 * width, (batch, n, 1))
    y1 = rng.uniform(-0.2 * height, 0.8 * height, (batch, n, 1))
    w, h = rng.uniform(0.1 * width, 0.6 * width, (batch, n, 1)), rng.uniform(0.1 * height, 0.6 * height, (batch, n, 1))
    xyxy = numpy.concatenate([x1, y1, x1 + w, y1 + h], axis=-1).astype(numpy.float32)
    boxes = numpy.asarray(nk_boxes.convert_format(xyxy, "xyxy", fmt, height=height, width=width).data)
    labels = rng.integers(0, 5, (batch, n)).astype(numpy.int32)
    return boxes, labels


def _k_boxes(keras_torch, boxes, labels):
    return {"boxes": keras_torch.from_numpy(boxes.copy()), "labels": keras_torch.from_numpy(labels.copy())}


def _hw(shape, data_format):
    return (shape[-2], shape[-1]) if data_format == "channels_first" else (shape[-3], shape[-2])


# (id, layer name, constructor arguments, image batch shape, box format or None, pixel maker)
TRANSFORMS = [
    ("flip_both", "RandomFlip", {"seed": 1}, (6, 5, 7, 3), "xyxy", pixels),
    ("flip_horizontal_rel", "RandomFlip", {"mode": "horizontal", "seed": 2}, (6, 5, 7, 3), "rel_xyxy", pixels),
    ("flip_vertical_channels_first", "RandomFlip", {"mode": "vertical", "seed": 3, "data_format": "channels_first"},
     (6, 2, 5, 7), "center_xywh", pixels),
    ("crop_random_window", "RandomCrop", {"height": 4, "width": 4, "seed": 4}, (3, 7, 6, 3), "xyxy", pixels),
    ("crop_upsized", "RandomCrop", {"height": 5, "width": 9, "seed": 4}, (2, 4, 6, 3), "xywh", pixels),
    ("center_crop", "CenterCrop", {"height": 4, "width": 3}, (3, 7, 6, 3), "xyxy", pixels),
    ("center_crop_resized_yxyx", "CenterCrop", {"height": 8, "width": 6}, (2, 5, 7, 3), "yxyx", pixels),
    ("center_crop_channels_first", "CenterCrop", {"height": 3, "width": 5, "data_format": "channels_first"},
     (2, 3, 6, 6), "rel_center_xywh", pixels),
    ("translation", "RandomTranslation", {"height_factor": 0.3, "width_factor": (-0.2, 0.4), "seed": 5},
     (5, 6, 8, 3), "xyxy", pixels),
    ("translation_constant_nearest_cf", "RandomTranslation",
     {"height_factor": (0.1, 0.5), "width_factor": 0.5, "fill_mode": "constant", "fill_value": 7.0,
      "interpolation": "nearest", "data_format": "channels_first", "seed": 6}, (4, 2, 6, 5), "rel_xywh", pixels),
    ("translation_wrap", "RandomTranslation", {"height_factor": 0.4, "width_factor": 0.4, "fill_mode": "wrap",
                                               "seed": 7}, (3, 5, 5, 1), "center_yxhw", pixels),
    ("rotation", "RandomRotation", {"factor": 0.25, "seed": 8}, (5, 6, 8, 3), "xyxy", pixels),
    ("rotation_nearest_constant_cf", "RandomRotation",
     {"factor": (-0.5, 0.5), "fill_mode": "constant", "fill_value": 3.0, "interpolation": "nearest",
      "data_format": "channels_first", "seed": 9}, (4, 2, 7, 7), "xyxy", pixels),
    ("rotation_mirror_to_rel", "RandomRotation", {"factor": 0.1, "fill_mode": "nearest", "seed": 10,
                                                  "bounding_box_format": "rel_xyxy"}, (3, 6, 6, 3), None, pixels),
    ("zoom", "RandomZoom", {"height_factor": 0.4, "seed": 11}, (5, 7, 6, 3), "xyxy", pixels),
    ("zoom_two_factors_cf", "RandomZoom", {"height_factor": (-0.5, 0.2), "width_factor": (0.1, 0.9),
                                           "fill_mode": "constant", "data_format": "channels_first", "seed": 12},
     (4, 3, 6, 8), "rel_xyxy", pixels),
    ("contrast", "RandomContrast", {"factor": (0.4, 0.6), "seed": 13}, (4, 5, 6, 3), None, pixels),
    ("contrast_unit_cf", "RandomContrast", {"factor": 0.5, "value_range": (0, 1), "data_format": "channels_first",
                                            "seed": 14}, (4, 3, 5, 5), None, unit),
    ("brightness", "RandomBrightness", {"factor": 0.5, "seed": 15}, (4, 5, 6, 3), None, pixels),
    ("brightness_unit", "RandomBrightness", {"factor": (-0.3, 0.8), "value_range": (1, 0), "seed": 16},
     (4, 3, 3, 3), None, unit),
    ("erasing_noise", "RandomErasing", {"factor": (0.9, 1.0), "seed": 17}, (5, 8, 7, 3), None, pixels),
    ("erasing_fill_per_channel", "RandomErasing", {"factor": 1.0, "scale": (0.1, 0.5), "fill_value": [1, 2, 3],
                                                   "value_range": (0, 2), "seed": 18}, (5, 6, 6, 3), None, unit),
    ("erasing_fill_number_cf", "RandomErasing", {"fill_value": 100.0, "data_format": "channels_first",
                                                 "seed": 19}, (5, 3, 6, 6), None, pixels),
    ("blur", "RandomGaussianBlur", {"factor": (0.5, 1.0), "kernel_size": 5, "sigma": 0.9, "seed": 20},
     (4, 7, 7, 3), None, pixels),
    ("blur_cf", "RandomGaussianBlur", {"kernel_size": 3, "sigma": (0.3, 0.6), "value_range": (0, 1),
                                       "data_format": "channels_first", "seed": 21}, (4, 3, 6, 5), None, unit),
    ("grayscale", "RandomGrayscale", {"factor": 0.5, "seed": 22}, (6, 4, 5, 3), None, pixels),
    ("grayscale_cf", "RandomGrayscale", {"factor": 0.7, "data_format": "channels_first", "seed": 23},
     (6, 3, 4, 5), None, pixels),
    ("hue", "RandomHue", {"factor": 0.8, "seed": 24}, (4, 5, 5, 3), None, pixels),
    ("hue_unit_cf", "RandomHue", {"factor": (0.2, 0.9), "value_range": (0, 1), "data_format": "channels_first",
                                  "seed": 25}, (4, 3, 5, 5), None, unit),
    ("saturation", "RandomSaturation", {"factor": (0.1, 0.9), "value_range": (0, 1), "seed": 26}, (4, 5, 5, 3),
     None, unit),
    ("saturation_signed_0_255_cf", "RandomSaturation", {"factor": 0.7, "data_format": "channels_first",
                                                        "seed": 27}, (4, 3, 5, 5), None, pixels),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=keras_api(f"layers.{c[1]}")) for c in TRANSFORMS])
def test_transforms_given_keras_transformation_match_keras(case):
    _, name, kwargs, shape, box_format, maker = case
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(0)
    fmt = box_format or kwargs.get("bounding_box_format")
    kw = {**kwargs, "bounding_box_format": fmt} if fmt else dict(kwargs)
    ours, theirs = getattr(layers, name)(**kw), getattr(keras.layers, name)(**kw)
    images = maker(rng, shape)
    data_format = ours.data_format
    transformation = theirs.get_random_transformation(torch.from_numpy(images.copy()), training=True)
    t = _arrays(transformation)

    _assert_equal_outputs(ours.transform_images(nk.Tensor(images.copy()), t, training=True),
                          theirs.transform_images(torch.from_numpy(images.copy()), _fresh(transformation),
                                                  training=True),
                          f"{name}.transform_images", atol=1e-3 if maker is pixels else 1e-5)
    _assert_equal_outputs(ours.transform_images(nk.Tensor(images.copy()), t, training=False),
                          theirs.transform_images(torch.from_numpy(images.copy()), _fresh(transformation),
                                                  training=False),
                          f"{name}.transform_images at inference")

    c_axis = 1 if data_format == "channels_first" else -1
    masks = numpy.take(rng.integers(0, 4, shape), [0], axis=c_axis).astype(numpy.int32)
    if name not in ("RandomCrop",):  # Keras crops RandomCrop's masks even at inference (see RandomCrop's docstring)
        _assert_equal_outputs(ours.transform_segmentation_masks(nk.Tensor(masks.copy()), t, training=True),
                              theirs.transform_segmentation_masks(torch.from_numpy(masks.copy()),
                                                                  _fresh(transformation), training=True),
                              f"{name}.transform_segmentation_masks", atol=0)

    if fmt:
        height, width = _hw(shape, data_format)
        boxes, labels = _boxes_in(fmt, height, width, shape[0], 4, rng)
        if name == "RandomCrop":  # Keras subtracts the top offset from x and the left from y: equal when top == left
            t = (t[0], t[0])
            transformation = (transformation[0], transformation[0])
        ours_boxes = ours.transform_bounding_boxes({"boxes": nk.Tensor(boxes), "labels": nk.Tensor(labels)}, t,
                                                   training=True)
        k_boxes = theirs.transform_bounding_boxes(_k_boxes(torch, boxes, labels), _fresh(transformation),
                                                  training=True)
        _assert_equal_outputs(ours_boxes, k_boxes, f"{name}.transform_bounding_boxes", atol=1e-4)


# ======================================================================================================
# 3. whole calls on augmentation dicts, where the factors pin the transformation
# ======================================================================================================
PINNED_CALLS = [
    ("translation", "RandomTranslation", {"height_factor": (0.25, 0.25), "width_factor": (-0.3, -0.3)}, "xyxy"),
    ("translation_rel_cf", "RandomTranslation", {"height_factor": (-0.1, -0.1), "width_factor": (0.2, 0.2),
                                                 "data_format": "channels_first"}, "rel_xywh"),
    ("rotation", "RandomRotation", {"factor": (0.15, 0.15), "fill_mode": "constant"}, "xyxy"),
    ("zoom", "RandomZoom", {"height_factor": (0.3, 0.3), "width_factor": (-0.2, -0.2)}, "center_xywh"),
    ("zoom_in_one_factor", "RandomZoom", {"height_factor": (-0.5, -0.5), "interpolation": "nearest"}, "xyxy"),
    ("center_crop", "CenterCrop", {"height": 4, "width": 5}, "xyxy"),
    ("center_crop_resized", "CenterCrop", {"height": 9, "width": 9}, "rel_xyxy"),
    ("random_crop_centred", "RandomCrop", {"height": 6, "width": 6, "seed": 1}, "xyxy"),  # top = left = 0
    ("brightness", "RandomBrightness", {"factor": (0.2, 0.2)}, "xyxy"),
    ("contrast_flat", "RandomContrast", {"factor": 0.0, "value_range": (0, 100)}, "yxyx"),
    ("blur", "RandomGaussianBlur", {"factor": (1.0, 1.0), "sigma": (0.7, 0.7)}, "xyxy"),
    ("max_boxes_truncate", "MaxNumBoundingBoxes", {"max_number": 2}, "xyxy"),
    ("max_boxes_pad", "MaxNumBoundingBoxes", {"max_number": 6, "fill_value": -3}, "xywh"),
]


@pytest.mark.parametrize("single", [False, True], ids=["batch", "single_image"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=keras_api(f"layers.{c[1]}")) for c in PINNED_CALLS])
def test_pinned_call_on_dict_matches_keras(case, single):
    """images, labels, bounding boxes and segmentation masks through ``layer(dict, training=True)``."""
    _, name, kwargs, fmt = case
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(1)
    kw = {**kwargs, "bounding_box_format": fmt}
    ours, theirs = getattr(layers, name)(**kw), getattr(keras.layers, name)(**kw)
    cf = kwargs.get("data_format") == "channels_first"
    shape = (3, 3, 6, 7) if cf else (3, 6, 7, 3)
    images = pixels(rng, shape)
    height, width = _hw(shape, ours.data_format)
    boxes, box_labels = _boxes_in(fmt, height, width, shape[0], 4, rng)
    masks = rng.integers(0, 3, shape[:1] + ((1,) + shape[2:] if cf else shape[1:3] + (1,))).astype(numpy.int32)
    labels = numpy.eye(3, dtype=numpy.float32)
    if single:
        images, boxes, box_labels, masks, labels = images[0], boxes[0], box_labels[0], masks[0], labels[0]

    def data(make):
        return {"images": make(images), "labels": make(labels), "segmentation_masks": make(masks),
                "bounding_boxes": {"boxes": make(boxes), "labels": make(box_labels)}}

    out = ours(data(lambda a: a.copy()), training=True)
    k_out = theirs(data(lambda a: torch.from_numpy(a.copy())), training=True)
    if name == "RandomRotation":  # Keras rotates the masks with the matrix its image call permuted (see _fresh)
        t = theirs.get_random_transformation(torch.from_numpy(images.copy()), training=True)
        k_out["segmentation_masks"] = theirs.transform_segmentation_masks(torch.from_numpy(masks.copy())[None], t)[0] \
            if single else theirs.transform_segmentation_masks(torch.from_numpy(masks.copy()), t)
    _assert_equal_outputs(out, k_out, f"{name}(dict, training=True)", atol=1e-3)
    inferred = ours(data(lambda a: a.copy()), training=False)
    k_inferred = theirs(data(lambda a: torch.from_numpy(a.copy())), training=False)
    if name == "RandomCrop":  # Keras crops the masks at inference while the images stay whole; neuronka's follow them
        numpy.testing.assert_array_equal(_np(inferred.pop("segmentation_masks")), masks)
        k_inferred.pop("segmentation_masks")
    _assert_equal_outputs(inferred, k_inferred, f"{name}(dict, training=False)", atol=1e-3)


@keras_api("layers.RandomGrayscale")
def test_grayscale_on_dict_equals_keras_on_images_and_passes_the_rest():
    """Keras 3.15's RandomGrayscale fails on dict inputs (its transformation reads ``data.shape``): neuronka's
    images equal Keras's on the images alone, the rest passes through."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(2)
    images = pixels(rng, (2, 4, 5, 3))
    masks = rng.integers(0, 3, (2, 4, 5, 1)).astype(numpy.int32)
    out = layers.RandomGrayscale(factor=1.0, bounding_box_format="xyxy")(
        {"images": images, "segmentation_masks": masks,
         "bounding_boxes": {"boxes": numpy.ones((2, 1, 4), "float32"), "labels": numpy.zeros((2, 1), "int32")}})
    expected = keras.layers.RandomGrayscale(factor=1.0)(torch.from_numpy(images), training=True)
    _assert_equal_outputs(out["images"], expected, "RandomGrayscale images", atol=1e-4)
    numpy.testing.assert_array_equal(_np(out["segmentation_masks"]), masks)
    numpy.testing.assert_array_equal(_np(out["bounding_boxes"]["boxes"]), numpy.ones((2, 1, 4)))


@keras_api("layers.RandomBrightness", "layers.RandomColorJitter")
@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_pinned_brightness_and_jitter_training_outputs_match_keras(dtype):
    """Keras adds the brightness in place (no torch gradient), so these training outputs are compared alone;
    integer images keep their dtype (the delta truncated to it first, as Keras)."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = pixels(numpy.random.default_rng(3), (2, 4, 4, 3)).astype(dtype)
    for name, kw in [("RandomBrightness", {"factor": (0.3, 0.3)}),
                     ("RandomBrightness", {"factor": (-0.1, -0.1), "value_range": (10, 200)}),
                     ("RandomColorJitter", {"brightness_factor": (0.2, 0.2), "saturation_factor": (0.7, 0.7),
                                            "contrast_factor": 0.0})]:
        if dtype == "uint8" and kw.get("factor", (0, 0))[0] < 0:
            continue  # a negative delta cast to uint8 wraps around in torch and is undefined in NumPy
        ours = getattr(layers, name)(**kw)(images.copy(), training=True)
        theirs = getattr(keras.layers, name)(**kw)(torch.from_numpy(images.copy()), training=True)
        _assert_equal_outputs(ours, theirs, f"{name}({kw}) on {dtype}", atol=1e-3)


def _pipeline(K, brightness):
    return K.layers.Pipeline([K.layers.CenterCrop(4, 4), K.layers.RandomFlip(mode="vertical", seed=1),
                              K.layers.RandomBrightness(brightness, value_range=(0, 1))], name="augment")


@keras_api("layers.Pipeline")
def test_pipeline_config_serialization_and_outputs_match_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    from .layer_harness_keras import assert_configs_equal, json_normalized  # noqa: PLC0415

    ours, theirs = _pipeline(nk, (0.1, 0.1)), _pipeline(keras, (0.1, 0.1))
    assert_configs_equal(ours.get_config(), theirs.get_config(), "Pipeline")
    rebuilt = layers.Pipeline.from_config(json_normalized(theirs.get_config()))
    assert [type(la).__name__ for la in rebuilt.layers] == ["CenterCrop", "RandomFlip", "RandomBrightness"]
    assert_configs_equal(rebuilt.get_config(), theirs.get_config(), "Pipeline.from_config(Keras's config)")
    k_rebuilt = keras.layers.Pipeline.from_config(json_normalized(ours.get_config()))
    assert_configs_equal(ours.get_config(), k_rebuilt.get_config(), "Keras's Pipeline.from_config(neuronka's)")
    assert_configs_equal(nk.saving.serialize_keras_object(ours), keras.saving.serialize_keras_object(theirs),
                         "serialize_keras_object(Pipeline)")

    images = unit(numpy.random.default_rng(4), (3, 6, 6, 3))
    _assert_equal_outputs(ours(images.copy(), training=False), theirs(torch.from_numpy(images.copy()), training=False),
                          "Pipeline at inference")
    flip_free = [layers.CenterCrop(4, 4), layers.RandomBrightness((0.1, 0.1), value_range=(0, 1))]
    k_flip_free = [keras.layers.CenterCrop(4, 4), keras.layers.RandomBrightness((0.1, 0.1), value_range=(0, 1))]
    # training=True by default, as in Keras: a pipeline called directly augments
    _assert_equal_outputs(layers.Pipeline(flip_free)(images.copy()),
                          keras.layers.Pipeline(k_flip_free)(torch.from_numpy(images.copy())), "Pipeline in training")
    assert ours.compute_output_shape((None, 6, 6, 3)) == (None, 4, 4, 3)


# ======================================================================================================
# 4. the law of the random parameters, determinism under a seed, the training flag
# ======================================================================================================
def _flat(x):
    return numpy.asarray(_np(x), dtype=numpy.float64).reshape(-1)


# (id, layer, arguments, images shape, sample of the transformation, its support [lo, hi] or None)
LAWS = [
    ("flip", "RandomFlip", {}, (3000, 2, 2, 1), lambda t: _flat(t["flips"]), (0, 1)),
    ("translation_dy", "RandomTranslation", {"height_factor": (-0.1, 0.3), "width_factor": 0.2}, (3000, 10, 20, 1),
     lambda t: _flat(t["translations"][:, 1]) / 10, (-0.1, 0.3)),
    ("translation_dx", "RandomTranslation", {"height_factor": (-0.1, 0.3), "width_factor": 0.2}, (3000, 10, 20, 1),
     lambda t: _flat(t["translations"][:, 0]) / 20, (-0.2, 0.2)),
    ("rotation_degrees", "RandomRotation", {"factor": (-0.1, 0.2)}, (3000, 4, 4, 1), lambda t: _flat(t["angle"]),
     (-36.0, 72.0)),
    ("zoom_height", "RandomZoom", {"height_factor": (-0.3, 0.5), "width_factor": 0.1}, (3000, 2, 2, 1),
     lambda t: _flat(t["height_zoom"]), (0.7, 1.5)),
    ("zoom_width", "RandomZoom", {"height_factor": (-0.3, 0.5), "width_factor": 0.1}, (3000, 2, 2, 1),
     lambda t: _flat(t["width_zoom"]), (0.9, 1.1)),
    ("contrast_single_number", "RandomContrast", {"factor": 0.4}, (3000, 2, 2, 1),
     lambda t: _flat(t["contrast_factor"]), (1.0, 1.4)),
    ("contrast_pair", "RandomContrast", {"factor": (0.2, 0.5)}, (3000, 2, 2, 1),
     lambda t: _flat(t["contrast_factor"]), (0.8, 1.5)),
    ("brightness_delta", "RandomBrightness", {"factor": 0.2}, (3000, 2, 2, 1), lambda t: _flat(t["rgb_delta"]),
     (-51.0, 51.0)),
    ("erasing_applied", "RandomErasing", {}, (3000, 6, 6, 1), lambda t: _flat(t["apply_erasing"]), (0, 1)),
    ("erasing_area", "RandomErasing", {"scale": (0.1, 0.4)}, (3000, 10, 10, 1),
     lambda t: _flat(_np(t["batch_masks"]).sum(axis=(1, 2, 3))), (0, 100)),
    ("blur_applied", "RandomGaussianBlur", {"factor": (0.2, 0.6)}, (3000, 3, 3, 1),
     lambda t: _flat(t["should_apply_blur"]), (0, 1)),
    ("grayscale_applied", "RandomGrayscale", {"factor": 0.3}, (3000, 2, 2, 3), lambda t: _flat(t), (0, 1)),
    ("hue_shift", "RandomHue", {"factor": (0.2, 0.8)}, (3000, 2, 2, 3), lambda t: _flat(t["factor"]), (-0.4, 0.4)),
    ("saturation_ratio", "RandomSaturation", {"factor": (0.2, 0.7)}, (3000, 2, 2, 3),
     lambda t: _flat(t["factor"]), (0.25, 2.34)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=keras_api(f"layers.{c[1]}")) for c in LAWS])
def test_random_parameters_follow_keras_law(case):
    """The drawn parameters lie in Keras's support and agree in law with Keras's own draws (two-sample KS)."""
    from scipy import stats  # noqa: PLC0415

    _, name, kwargs, shape, sample, (lo, hi) = case
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = numpy.zeros(shape, numpy.float32)
    ours = sample(getattr(layers, name)(seed=11, **kwargs).get_random_transformation(images, training=True))
    theirs = sample(getattr(keras.layers, name)(seed=11, **kwargs).get_random_transformation(
        torch.from_numpy(images), training=True))
    assert ours.shape == theirs.shape
    assert ours.min() >= lo - 1e-4 and ours.max() <= hi + 1e-4, f"{name}: draws in [{ours.min()}, {ours.max()}]"
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3, (
        f"{name}: neuronka's draws (mean {ours.mean():.4f}, sd {ours.std():.4f}) differ in law from Keras's "
        f"(mean {theirs.mean():.4f}, sd {theirs.std():.4f})")


@keras_api("layers.RandomCrop")
def test_random_crop_offsets_are_uniform_like_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = numpy.zeros((1, 7, 9, 1), numpy.float32)
    ours_layer, keras_layer = layers.RandomCrop(3, 4, seed=2), keras.layers.RandomCrop(3, 4, seed=2)
    ours = numpy.array([ours_layer.get_random_transformation(images) for _ in range(800)], dtype=int)
    theirs = numpy.array([[int(v) for v in keras_layer.get_random_transformation(torch.from_numpy(images))]
                          for _ in range(800)])
    for axis, n_values in ((0, 5), (1, 6)):  # top ∈ {0..4}, left ∈ {0..5}
        counts = numpy.bincount(ours[:, axis], minlength=n_values)
        k_counts = numpy.bincount(theirs[:, axis], minlength=n_values)
        assert len(counts) == n_values and counts.min() > 0 and len(k_counts) == n_values
        # each value's frequency within 5 standard deviations of 1/n, as Keras's
        sd = numpy.sqrt(800 * (1 / n_values) * (1 - 1 / n_values))
        numpy.testing.assert_allclose(counts, 800 / n_values, atol=5 * sd)
        numpy.testing.assert_allclose(k_counts, 800 / n_values, atol=5 * sd)


@pytest.mark.slow
@keras_api("layers.RandomFlip", "layers.RandomRotation", "layers.RandomErasing")
def test_fractions_over_many_whole_calls_match_keras():
    """Over many calls on real images: the fraction of images a layer changes, as Keras's."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = pixels(numpy.random.default_rng(5), (50, 6, 6, 3))
    for name, kwargs, expected in [("RandomFlip", {"mode": "horizontal"}, 0.5), ("RandomErasing", {}, 0.5),
                                   ("RandomGrayscale", {"factor": 0.25}, 0.25)]:
        ours, theirs = getattr(layers, name)(seed=1, **kwargs), getattr(keras.layers, name)(seed=1, **kwargs)
        changed = numpy.mean([numpy.any(_np(ours(images, training=True)) != images, axis=(1, 2, 3))
                              for _ in range(60)])
        k_changed = numpy.mean([numpy.any(_np(theirs(torch.from_numpy(images), training=True)) != images,
                                          axis=(1, 2, 3)) for _ in range(60)])
        assert abs(changed - expected) < 0.03 and abs(k_changed - expected) < 0.03, (name, changed, k_changed)


@pytest.mark.parametrize("name, kwargs", [
    ("RandomFlip", {}), ("RandomCrop", {"height": 3, "width": 3}),
    ("RandomTranslation", {"height_factor": 0.3, "width_factor": 0.3}), ("RandomRotation", {"factor": 0.3}),
    ("RandomZoom", {"height_factor": 0.3}), ("RandomContrast", {"factor": 0.5}), ("RandomBrightness", {"factor": 0.3}),
    ("RandomErasing", {}), ("RandomGaussianBlur", {}), ("RandomGrayscale", {}), ("RandomHue", {"factor": 0.5}),
    ("RandomSaturation", {"factor": 0.5}),
    ("RandomColorJitter", {"brightness_factor": 0.2, "contrast_factor": 0.3, "hue_factor": 0.2}),
])
def test_same_seed_same_augmentation_and_successive_calls_differ(name, kwargs):
    images = pixels(numpy.random.default_rng(6), (8, 6, 6, 3))
    a, b = getattr(layers, name)(seed=7, **kwargs), getattr(layers, name)(seed=7, **kwargs)
    first_a, first_b = _np(a(images, training=True)), _np(b(images, training=True))
    numpy.testing.assert_array_equal(first_a, first_b)
    numpy.testing.assert_array_equal(_np(a(images, training=True)), _np(b(images, training=True)))
    second = [_np(a(images, training=True)) for _ in range(3)]
    assert any(not numpy.array_equal(first_a, s) for s in second), f"{name}: every call drew the same augmentation"
    other = getattr(layers, name)(seed=8, **kwargs)
    assert any(not numpy.array_equal(first_b, _np(other(images, training=True))) for _ in range(3))


@keras_api("layers.RandomBrightness")
def test_training_flag_as_keras_direct_calls_and_models_augment_predict_does_not():
    """Keras's ``training`` defaults: ``layer(x)`` and ``model(x)`` augment (call()'s default True), ``predict``
    and ``training=False`` do not."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = unit(numpy.random.default_rng(7), (2, 3, 3, 3)) * 0.5
    brighter = numpy.clip(images + numpy.float32(0.25), 0, 1)
    for K in (keras, nk):
        def convert(a, K=K):
            return torch.from_numpy(a.copy()) if K is keras else a.copy()

        layer = K.layers.RandomBrightness((0.25, 0.25), value_range=(0, 1))
        model = K.Sequential([K.Input((3, 3, 3)), K.layers.RandomBrightness((0.25, 0.25), value_range=(0, 1))])
        numpy.testing.assert_allclose(_np(layer(convert(images))), brighter, atol=1e-6, err_msg=f"{K.__name__} direct")
        numpy.testing.assert_allclose(_np(model(convert(images))), brighter, atol=1e-6, err_msg=f"{K.__name__} model")
        numpy.testing.assert_allclose(_np(layer(convert(images), training=False)), images, atol=0)
        numpy.testing.assert_allclose(_np(model.predict(images, verbose=0)), images, atol=1e-7)


# ======================================================================================================
# 5. gradients through the training-mode transforms (float64 central differences)
# ======================================================================================================
GRADIENTS = [
    ("flip", "RandomFlip", {}),
    ("crop_window", "RandomCrop", {"height": 3, "width": 2}),
    ("crop_resized", "RandomCrop", {"height": 5, "width": 6}),
    ("center_crop_resized", "CenterCrop", {"height": 5, "width": 3}),
    ("translation", "RandomTranslation", {"height_factor": (0.13, 0.13), "width_factor": (-0.21, -0.21)}),
    ("rotation", "RandomRotation", {"factor": (0.07, 0.07), "fill_mode": "constant"}),
    ("zoom", "RandomZoom", {"height_factor": (0.23, 0.23), "width_factor": (-0.17, -0.17), "fill_mode": "nearest"}),
    ("contrast", "RandomContrast", {"factor": (0.3, 0.3), "value_range": (-10, 10)}),
    ("brightness", "RandomBrightness", {"factor": (0.1, 0.1), "value_range": (-10, 10)}),
    ("erasing", "RandomErasing", {"factor": (1.0, 1.0), "fill_value": 0.5, "value_range": (0, 1)}),
    ("blur", "RandomGaussianBlur", {"factor": (1.0, 1.0), "sigma": (0.6, 0.6), "value_range": (-10, 10)}),
    ("grayscale", "RandomGrayscale", {"factor": 1.0}),
    ("hue", "RandomHue", {"factor": (0.3, 0.3), "value_range": (0, 1)}),
    ("saturation", "RandomSaturation", {"factor": (0.4, 0.4), "value_range": (0, 1)}),
]


@pytest.mark.parametrize("name, kwargs", [pytest.param(n, k, id=i) for i, n, k in GRADIENTS])
def test_training_transform_gradient_reaches_images(name, kwargs):
    """dL/dx of the training-mode transform (its random parameters drawn once, then fixed) against central
    differences in float64: the augmentation can sit inside a differentiated model."""
    seed = {} if name == "CenterCrop" else {"seed": 3}
    layer = getattr(layers, name)(dtype="float64", **seed, **kwargs)
    images = numpy.random.default_rng(8).uniform(0.05, 0.95, (1, 4, 5, 3))
    transformation = layer.get_random_transformation(images, training=True)

    def fn(x):
        return layer.transform_images(x, transformation, training=True)

    y = fn(nk.Tensor(images))
    assert y.dtype == numpy.float64
    gradcheck(fn, [images], atol=1e-5, rtol=1e-4)


# ======================================================================================================
# 6. .keras files with augmentation layers, both ways
# ======================================================================================================
def _augmenting_model(K):
    return K.Sequential([
        K.Input((8, 8, 3)),
        K.layers.RandomFlip(seed=1),
        K.layers.RandomRotation(0.1, fill_mode="constant", seed=2),
        K.layers.RandomZoom((-0.2, 0.1), seed=3),
        K.layers.RandomCrop(7, 7, seed=4),
        K.layers.CenterCrop(6, 6),
        K.layers.RandomColorJitter(brightness_factor=0.1, hue_factor=0.2, value_range=(0, 1), seed=5),
        K.layers.RandomErasing(seed=6),
        K.layers.Pipeline([K.layers.RandomGrayscale(0.2), K.layers.RandomGaussianBlur(seed=7)]),
        K.layers.Conv2D(2, 3, name="conv"),
    ])


def _without_build_configs(config):
    """A config without the build configs of nested layers (Keras's loader does not rebuild a Pipeline's layers
    from theirs, so a freshly loaded Keras Pipeline lacks them until called)."""
    if isinstance(config, dict):
        return {k: _without_build_configs(v) for k, v in config.items() if k != "build_config"}
    if isinstance(config, list):
        return [_without_build_configs(v) for v in config]
    return config


@keras_api("layers.RandomFlip", "layers.RandomRotation", "layers.RandomZoom", "layers.RandomCrop",
           "layers.CenterCrop", "layers.RandomColorJitter", "layers.RandomErasing", "layers.Pipeline",
           "layers.RandomGrayscale", "layers.RandomGaussianBlur")
@pytest.mark.parametrize("writer", ["keras", "neuronka"])
def test_keras_file_with_augmentation_layers_moves_both_ways(tmp_path, writer):
    keras = keras_or_skip()
    from .layer_harness_keras import assert_configs_equal  # noqa: PLC0415

    images = unit(numpy.random.default_rng(9), (2, 8, 8, 3))
    source_lib, target_lib = (keras, nk) if writer == "keras" else (nk, keras)
    source = _augmenting_model(source_lib)
    source.save(tmp_path / "augment.keras")
    loaded = target_lib.saving.load_model(tmp_path / "augment.keras")
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in source.layers]
    for a, b in zip(loaded.layers, source.layers):
        assert_configs_equal(_without_build_configs(a.get_config()), _without_build_configs(b.get_config()),
                             f"{type(a).__name__} read from {writer}'s file")
    # at inference the augmentations are the identity (RandomCrop's too) and CenterCrop crops: same predictions
    _assert_equal_outputs(loaded.predict(images, verbose=0), source.predict(images, verbose=0),
                          f".keras written by {writer}", atol=1e-5)


# ======================================================================================================
# 7. the bounding-box helpers (keras.utils.bounding_boxes), box edge cases, argument errors
# ======================================================================================================
@pytest.mark.parametrize("source", nk_boxes.SUPPORTED_FORMATS)
def test_convert_format_matches_keras_for_every_pair(source):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(10)
    boxes = rng.uniform(0, 1, (2, 5, 4)).astype(numpy.float32) * numpy.float32(30)
    height, width = 40, 60
    for target in nk_boxes.SUPPORTED_FORMATS:
        ours = nk_boxes.convert_format(boxes, source, target.upper(), height=height, width=width)
        theirs = keras.utils.bounding_boxes.convert_format(torch.from_numpy(boxes.copy()), source, target.upper(),
                                                           height=height, width=width)
        _assert_equal_outputs(ours, theirs, f"convert_format {source} → {target}", atol=1e-4)
    if source.startswith("rel_"):
        with pytest.raises(ValueError, match="height"):
            nk_boxes.convert_format(boxes, source, "xyxy")


def test_box_helpers_match_keras():
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    K = keras.utils.bounding_boxes
    rng = numpy.random.default_rng(11)
    boxes = rng.uniform(-10, 50, (2, 4, 4)).astype(numpy.float32)
    labels = rng.integers(0, 4, (2, 4)).astype(numpy.int32)
    boxes[0, 0] = [45, 45, 60, 60]  # entirely outside a 40 × 40 image: clipped to no area, label −1
    t = torch.from_numpy
    _assert_equal_outputs(nk_boxes.clip_to_image_size({"boxes": boxes, "labels": labels}, height=40, width=40),
                          K.clip_to_image_size({"boxes": t(boxes.copy()), "labels": t(labels.copy())}, height=40,
                                               width=40), "clip_to_image_size")
    rel = numpy.abs(boxes) / 60
    _assert_equal_outputs(nk_boxes.clip_to_image_size({"boxes": rel, "labels": labels},
                                                      bounding_box_format="rel_xyxy"),
                          K.clip_to_image_size({"boxes": t(rel.copy()), "labels": t(labels.copy())},
                                               bounding_box_format="rel_xyxy"), "clip_to_image_size rel_xyxy")
    _assert_equal_outputs(nk_boxes.crop(boxes, 3, 5, 20, 25), K.crop(t(boxes.copy()), 3, 5, 20, 25), "crop")
    _assert_equal_outputs(nk_boxes.pad(boxes, 3, 5), K.pad(t(boxes.copy()), 3, 5), "pad")
    params = [rng.uniform(-30, 30, 2), rng.uniform(-0.2, 0.2, 2), rng.uniform(-0.2, 0.2, 2), rng.uniform(0.8, 1.3, 2),
              rng.uniform(-10, 10, 2), rng.uniform(-10, 10, 2)]
    params = [p.astype(numpy.float32) for p in params]
    _assert_equal_outputs(nk_boxes.affine_transform(boxes, *params, 40, 50, center_x=0.4, center_y=0.6),
                          K.affine_transform(t(boxes.copy()), *[t(p.copy()) for p in params], 40, 50, center_x=0.4,
                                             center_y=0.6), "affine_transform", atol=1e-3)


@keras_api("layers.RandomTranslation")
def test_ragged_box_lists_are_padded_and_single_images_equal_batches_of_one():
    layer = layers.RandomTranslation((0.25, 0.25), (0.0, 0.0), bounding_box_format="xyxy")
    images = numpy.zeros((2, 8, 8, 1), numpy.float32)
    out = layer({"images": images, "bounding_boxes": {"boxes": [[[1, 1, 3, 3]], [[0, 0, 2, 2], [4, 1, 6, 3]]],
                                                      "labels": [[1], [2, 3]]}}, training=True)
    numpy.testing.assert_allclose(_np(out["bounding_boxes"]["boxes"]),
                                  [[[1, 3, 3, 5], [0, 2, 0, 2]], [[0, 2, 2, 4], [4, 3, 6, 5]]])
    numpy.testing.assert_array_equal(_np(out["bounding_boxes"]["labels"]), [[1, -1], [2, 3]])
    single = layer({"images": images[0], "bounding_boxes": {"boxes": numpy.array([[1, 1, 3, 3]], "float32"),
                                                            "labels": numpy.array([1])}}, training=True)
    assert _np(single["images"]).shape == (8, 8, 1)
    numpy.testing.assert_allclose(_np(single["bounding_boxes"]["boxes"]), [[1, 3, 3, 5]])
    with pytest.raises(ValueError, match="bounding box format"):
        layers.RandomTranslation(0.1, 0.1)({"images": images, "bounding_boxes": {"boxes": numpy.zeros((2, 1, 4)),
                                                                                "labels": numpy.zeros((2, 1))}})


def test_random_crop_boxes_shift_by_left_in_x_and_top_in_y():
    """The deliberate difference from Keras 3.15 (which subtracts the top offset from x): a box keeps its place
    in the image content."""
    layer = layers.RandomCrop(4, 6, bounding_box_format="xyxy")
    boxes = {"boxes": numpy.array([[[3.0, 2.0, 7.0, 5.0]]], numpy.float32), "labels": numpy.array([[1]])}
    out = layer.transform_bounding_boxes(boxes, (1, 2), training=True)  # top 1, left 2
    numpy.testing.assert_allclose(_np(out["boxes"]), [[[1.0, 1.0, 5.0, 4.0]]])


@keras_api("layers.RandomRotation", "layers.RandomTranslation", "layers.RandomZoom", "layers.RandomContrast",
           "layers.RandomBrightness", "layers.RandomHue", "layers.RandomErasing", "layers.RandomGaussianBlur",
           "layers.RandomGrayscale", "layers.RandomFlip")
@pytest.mark.parametrize("name, kwargs", [
    ("RandomRotation", {"factor": 1.5}), ("RandomRotation", {"factor": (0.1, 0.2, 0.3)}),
    ("RandomRotation", {"factor": "big"}), ("RandomRotation", {"factor": 0.1, "fill_mode": "mirror"}),
    ("RandomRotation", {"factor": 0.1, "interpolation": "bicubic"}),
    ("RandomTranslation", {"height_factor": 1.2, "width_factor": 0.1}),
    ("RandomZoom", {"height_factor": -1.0}), ("RandomZoom", {"height_factor": 0.1, "width_factor": (0.1,)}),
    ("RandomContrast", {"factor": -0.2}), ("RandomBrightness", {"factor": 0.2, "value_range": 255}),
    ("RandomHue", {"factor": 2.0}), ("RandomErasing", {"scale": 1.5}),
    ("RandomGaussianBlur", {"kernel_size": 4}), ("RandomGrayscale", {"factor": 1.5}),
    ("RandomFlip", {"factor": 0.5}),
])
def test_bad_arguments_raise_as_keras(name, kwargs):
    keras = keras_or_skip()
    with pytest.raises(Exception) as theirs:
        getattr(keras.layers, name)(**kwargs)
    with pytest.raises(type(theirs.value)):
        getattr(layers, name)(**kwargs)

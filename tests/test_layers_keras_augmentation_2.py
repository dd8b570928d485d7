"""The second set of image augmentation layers against real Keras 3.15.1 (neuronka/layers/augmentation:
geometric.py, intensity.py, mixing.py, clahe.py). Keras 3.15.1 exports CLAHE as
``keras.layers.ContrastLimitedAdaptiveHistogramEqualization`` (no ``CLAHE`` alias).

What is proved (Keras's random bits cannot be matched, so randomness is pinned or compared in law):

1. the layer contract (tests/layer_harness.py rows): configs and serialization both ways, build configs,
   ``compute_output_shape``, inference outputs and gradients equal to Keras's; rows whose factors pin the
   transformation also compare the *training* outputs (and gradients where Keras's torch graph has them);
2. every transform given the *same* transformation — Keras's ``get_random_transformation`` converted to
   arrays and handed to both ``transform_images`` / ``transform_labels`` / ``transform_segmentation_masks`` /
   ``transform_bounding_boxes`` — equal to Keras's, AugMix and RandAugment included (their nested
   transformations name Keras's sublayers, which neuronka's mirror);
3. determinism under a seed; the law of the random parameters in agreement with Keras's own draws;
4. argument errors as Keras's.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers
from neuronka.gradcheck import gradcheck

from .keras_oracle import clear_keras_session, keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .test_layers_keras_augmentation import (
    _arrays,
    _assert_equal_outputs,
    _boxes_in,
    _fresh,
    _k_boxes,
    _np,
    pixels,
    unit,
)


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keras's global name counters back to zero after each test (other tests compare default names)."""
    yield
    clear_keras_session()


# ======================================================================================================
# 1. the layer contract, inference (and training where the factors pin it)
# ======================================================================================================
CASES = [
    LayerCase("random_perspective", layers.RandomPerspective, {"seed": 1}, (2, 5, 6, 3), keras=True),
    LayerCase("random_perspective_never_channels_first", layers.RandomPerspective,
              {"factor": (0.0, 0.0), "scale": 0.5, "interpolation": "nearest", "fill_value": 2.0,
               "data_format": "channels_first", "bounding_box_format": "xyxy"}, (2, 3, 5, 5), keras=True,
              keras_training=True),
    LayerCase("random_shear", layers.RandomShear, {"x_factor": (0.0, 0.3), "y_factor": (0.1, 0.2), "seed": 2},
              (2, 5, 6, 3), keras=True),
    LayerCase("random_shear_none_constant_cf", layers.RandomShear,
              {"fill_mode": "constant", "fill_value": 1.0, "interpolation": "nearest",
               "data_format": "channels_first"}, (2, 2, 4, 5), keras=True, keras_training=True),
    LayerCase("random_elastic_transform", layers.RandomElasticTransform, {"seed": 3, "value_range": (0, 1)},
              (2, 6, 6, 3), keras=True),
    LayerCase("random_elastic_transform_zero_scale", layers.RandomElasticTransform,
              {"scale": 0.0, "fill_mode": "mirror", "value_range": (-10, 10)}, (2, 5, 5, 2), keras=True,
              keras_training=True),
    LayerCase("random_invert", layers.RandomInvert, {"seed": 4}, (2, 4, 4, 3), keras=True, input_maker=pixels),
    LayerCase("random_invert_always", layers.RandomInvert, {"factor": (1.0, 1.0), "value_range": (0, 1)},
              (2, 4, 4, 3), keras=True, keras_training=True, input_maker=unit, gradcheck=True),
    LayerCase("random_posterization", layers.RandomPosterization, {"factor": 5, "seed": 5}, (2, 4, 4, 3),
              keras=True, input_maker=pixels),
    LayerCase("random_posterization_pinned", layers.RandomPosterization,
              {"factor": (3, 3), "value_range": (0, 1)}, (2, 4, 4, 3), keras=True, keras_training=True,
              input_maker=unit, keras_check_grads=False),
    LayerCase("random_sharpness", layers.RandomSharpness, {"factor": 0.4, "seed": 6}, (2, 5, 5, 3), keras=True,
              input_maker=pixels),
    LayerCase("random_sharpness_pinned", layers.RandomSharpness, {"factor": (0.8, 0.8), "value_range": (0, 1)},
              (2, 5, 6, 3), keras=True, keras_training=True, input_maker=unit),
    LayerCase("random_sharpness_pinned_channels_first", layers.RandomSharpness,
              {"factor": (0.1, 0.1), "data_format": "channels_first"}, (2, 2, 5, 4), keras=True,
              keras_training=True, input_maker=pixels, keras_atol=1e-3),
    LayerCase("random_color_degeneration", layers.RandomColorDegeneration, {"factor": 0.5, "seed": 7},
              (2, 4, 4, 3), keras=True, input_maker=pixels),
    LayerCase("random_color_degeneration_pinned_cf", layers.RandomColorDegeneration,
              {"factor": (0.6, 0.6), "value_range": (0, 1), "data_format": "channels_first"}, (2, 3, 4, 4),
              keras=True, keras_training=True, input_maker=unit),
    LayerCase("solarization", layers.Solarization, {"addition_factor": 0.2, "threshold_factor": 0.5, "seed": 8},
              (2, 4, 4, 3), keras=True, input_maker=pixels),
    LayerCase("solarization_pinned_invert", layers.Solarization, {"value_range": (0, 1)}, (2, 4, 4, 3),
              keras=True, keras_training=True, input_maker=unit),
    LayerCase("auto_contrast", layers.AutoContrast, {}, (2, 4, 5, 3), keras=True, keras_training=True,
              input_maker=pixels, keras_atol=1e-3),
    LayerCase("auto_contrast_unit", layers.AutoContrast, {"value_range": (0, 1)}, (2, 4, 4, 2), keras=True,
              keras_training=True, input_maker=unit),
    LayerCase("equalization", layers.Equalization, {}, (2, 6, 6, 3), keras=True, keras_training=True,
              input_maker=pixels),
    LayerCase("equalization_unit_bins_channels_first", layers.Equalization,
              {"value_range": (0, 1), "bins": 16, "data_format": "channels_first"}, (2, 3, 5, 5), keras=True,
              keras_training=True, input_maker=unit),
    LayerCase("clahe", layers.ContrastLimitedAdaptiveHistogramEqualization, {"tile_grid_size": (2, 3)}, (2, 7, 9, 3),
              keras=True, keras_training=True, input_maker=pixels, check_input_grads=False, keras_check_grads=False,
              keras_atol=1e-3),
    LayerCase("clahe_unit_no_clip_channels_first", layers.ContrastLimitedAdaptiveHistogramEqualization,
              {"value_range": (0, 1), "clip_limit": 0.0, "tile_grid_size": (2, 2), "data_format": "channels_first"},
              (2, 2, 8, 8), keras=True, keras_training=True, input_maker=unit, check_input_grads=False,
              keras_check_grads=False),
    LayerCase("mix_up", layers.MixUp, {"alpha": 0.4, "seed": 9}, (3, 4, 4, 3), keras=True),
    LayerCase("cut_mix", layers.CutMix, {"factor": 0.5, "seed": 10}, (3, 4, 4, 3), keras=True),
    LayerCase("cut_mix_channels_first", layers.CutMix, {"data_format": "channels_first"}, (3, 2, 4, 4),
              keras=True),
    LayerCase("aug_mix", layers.AugMix, {"seed": 11}, (2, 6, 6, 3), keras=True, input_maker=pixels),
    LayerCase("aug_mix_few_ops", layers.AugMix,
              {"value_range": (0, 1), "num_chains": 2, "chain_depth": 1, "factor": (0.1, 0.2), "alpha": 0.5,
               "all_ops": False, "interpolation": "nearest"}, (2, 5, 5, 3), keras=True, input_maker=unit),
    LayerCase("rand_augment", layers.RandAugment, {"seed": 12}, (2, 6, 6, 3), keras=True, input_maker=pixels),
    LayerCase("rand_augment_no_ops", layers.RandAugment,
              {"value_range": (0, 1), "num_ops": 0, "factor": 0.2, "interpolation": "nearest",
               "data_format": "channels_first"}, (2, 3, 5, 5), keras=True, keras_training=True, input_maker=unit),
]


@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()


# ======================================================================================================
# 2. every transform, given Keras's own random transformation
# ======================================================================================================
# (id, layer name, constructor arguments, image batch shape, box format or None, pixel maker)
TRANSFORMS = [
    ("perspective", "RandomPerspective", {"factor": (0.6, 1.0), "seed": 1}, (5, 6, 7, 3), "xyxy", pixels),
    ("perspective_nearest_cf", "RandomPerspective",
     {"scale": 0.4, "interpolation": "nearest", "fill_value": 5.0, "data_format": "channels_first", "seed": 2},
     (4, 2, 6, 6), "xyxy", pixels),
    ("shear", "RandomShear", {"x_factor": 0.4, "y_factor": 0.3, "seed": 3}, (5, 6, 6, 3), "xyxy", pixels),
    ("shear_x_only_constant", "RandomShear", {"x_factor": (0.2, 0.5), "fill_mode": "constant", "seed": 4},
     (4, 7, 7, 3), "rel_xyxy", pixels),
    ("shear_wrap_cf", "RandomShear", {"y_factor": 0.6, "fill_mode": "wrap", "data_format": "channels_first",
                                      "seed": 5}, (4, 2, 5, 5), "center_xywh", pixels),
    ("invert", "RandomInvert", {"seed": 6}, (6, 4, 4, 3), None, pixels),
    ("invert_unit", "RandomInvert", {"factor": (0.3, 0.9), "value_range": (0, 1), "seed": 7}, (6, 4, 4, 3), None,
     unit),
    ("posterization", "RandomPosterization", {"factor": (2, 7), "seed": 8}, (6, 4, 4, 3), None, pixels),
    ("posterization_unit", "RandomPosterization", {"factor": 4, "value_range": (0, 1), "seed": 9}, (6, 4, 4, 3),
     None, unit),
    ("sharpness", "RandomSharpness", {"factor": (0.0, 1.0), "seed": 10}, (4, 5, 6, 3), None, pixels),
    ("sharpness_cf", "RandomSharpness", {"factor": 0.5, "value_range": (0, 1), "data_format": "channels_first",
                                         "seed": 11}, (4, 3, 5, 5), None, unit),
    ("color_degeneration", "RandomColorDegeneration", {"factor": 0.8, "seed": 12}, (4, 4, 5, 3), None, pixels),
    ("solarization", "Solarization", {"addition_factor": (0.1, 0.4), "threshold_factor": (0.2, 0.8), "seed": 13},
     (4, 4, 5, 3), None, pixels),
    ("solarization_unit", "Solarization", {"threshold_factor": 0.7, "value_range": (0, 1), "seed": 14},
     (4, 4, 5, 3), None, unit),
    ("mix_up", "MixUp", {"alpha": 0.3, "seed": 15}, (5, 4, 5, 3), "xyxy", pixels),
    ("cut_mix", "CutMix", {"seed": 16}, (5, 6, 6, 3), None, pixels),
    ("cut_mix_cf", "CutMix", {"factor": (0.2, 0.9), "data_format": "channels_first", "seed": 17}, (5, 3, 6, 5),
     None, pixels),
]


def _keras_pair(keras, name, kwargs, fmt):
    kw = {**kwargs, "bounding_box_format": fmt} if fmt else dict(kwargs)
    return getattr(layers, name)(**kw), getattr(keras.layers, name)(**kw)


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=keras_api(f"layers.{c[1]}")) for c in TRANSFORMS])
def test_transforms_given_keras_transformation_match_keras(case):
    _, name, kwargs, shape, fmt, maker = case
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(0)
    ours, theirs = _keras_pair(keras, name, kwargs, fmt)
    images = maker(rng, shape)
    transformation = theirs.get_random_transformation(torch.from_numpy(images.copy()), training=True)
    t = _arrays(transformation)
    for training in (True, False):
        _assert_equal_outputs(ours.transform_images(nk.Tensor(images.copy()), t, training=training),
                              theirs.transform_images(torch.from_numpy(images.copy()), _fresh(transformation),
                                                      training=training),
                              f"{name}.transform_images(training={training})", atol=1e-3 if maker is pixels else 1e-5)

    if name in ("MixUp", "CutMix"):  # labels mix with the images
        labels = numpy.eye(shape[0], 4, dtype=numpy.float32)
        _assert_equal_outputs(ours.transform_labels(labels.copy(), t),
                              theirs.transform_labels(torch.from_numpy(labels.copy()), _fresh(transformation)),
                              f"{name}.transform_labels", atol=1e-6)
    c_axis = 1 if ours.data_format == "channels_first" else -1
    channels = shape[c_axis] if name == "CutMix" else 1  # (Keras cuts masks with the images' channel count)
    masks = numpy.take(rng.integers(0, 4, shape), list(range(channels)), axis=c_axis).astype(numpy.int32)
    if name == "RandomPerspective":  # Keras's torch perspective_transform casts the points to an int image's dtype
        masks = masks.astype(numpy.float32)
    if name != "MixUp":  # Keras takes MixUp's masks from the flattened tensor (see MixUp's docstring)
        _assert_equal_outputs(ours.transform_segmentation_masks(nk.Tensor(masks.copy()), t, training=True),
                              theirs.transform_segmentation_masks(torch.from_numpy(masks.copy()),
                                                                  _fresh(transformation), training=True),
                              f"{name}.transform_segmentation_masks", atol=0)
    if fmt:
        height, width = (shape[-2], shape[-1]) if ours.data_format == "channels_first" else shape[1:3]
        boxes, labels = _boxes_in(fmt, height, width, shape[0], 4, rng)
        out = ours.transform_bounding_boxes({"boxes": nk.Tensor(boxes), "labels": nk.Tensor(labels)}, t)
        expected = theirs.transform_bounding_boxes(_k_boxes(torch, boxes, labels), _fresh(transformation))
        if name == "MixUp":  # Keras appends the labels along the batch axis; neuronka along the boxes axis
            permuted = numpy.take(labels, _np(t["permutation_order"]), axis=0)
            expected["labels"] = numpy.concatenate([labels, permuted], axis=1)
        _assert_equal_outputs(out, expected, f"{name}.transform_bounding_boxes", atol=1e-3)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@keras_api("layers.RandomElasticTransform")
def test_elastic_transform_equals_keras_with_the_same_noise_field(data_format, monkeypatch):
    """Keras's torch ``elastic_transform`` draws its noise from torch's global generator (its seed is ignored on
    the CPU): neuronka's deformation is compared by handing both layers' ``elastic_transform`` the same
    noise-free deformation (σ, α from the drawn distortion), i.e. the images with their chosen-ness and clip."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(1)
    shape = (4, 3, 6, 6) if data_format == "channels_first" else (4, 6, 6, 3)
    images = pixels(rng, shape)
    kw = {"factor": (0.4, 0.9), "scale": (0.3, 0.8), "value_range": (10, 240), "seed": 2, "data_format": data_format}
    ours, theirs = layers.RandomElasticTransform(**kw), keras.layers.RandomElasticTransform(**kw)
    transformation = theirs.get_random_transformation(torch.from_numpy(images.copy()), training=True)
    calls = {}

    def flip_instead(images, alpha, sigma, **kwargs):  # a deterministic stand-in for the noise field
        calls.setdefault("params", []).append((float(alpha), float(sigma)))
        axis = -2 if data_format == "channels_last" else -1
        return nk.ops.flip(images, axis=axis) if isinstance(images, nk.Tensor) else images.flip(axis)

    monkeypatch.setattr(theirs.backend.image, "elastic_transform", flip_instead)
    monkeypatch.setattr("neuronka.ops.image.elastic_transform", flip_instead)
    expected = theirs.transform_images(torch.from_numpy(images.copy()), transformation)
    t = {**_arrays({k: v for k, v in transformation.items() if k != "seed"}), "seed": 3}
    out = ours.transform_images(nk.Tensor(images.copy()), t)
    _assert_equal_outputs(out, expected, "RandomElasticTransform.transform_images", atol=1e-4)
    (k_alpha, k_sigma), (alpha, sigma) = calls["params"]
    assert abs(alpha - k_alpha) < 1e-5 and abs(sigma - k_sigma) < 1e-5


@keras_api("layers.ContrastLimitedAdaptiveHistogramEqualization")
@pytest.mark.parametrize("shape, kwargs, dtype", [
    ((2, 16, 16, 3), {}, "float32"),
    ((3, 13, 10, 1), {"clip_limit": 2.0, "tile_grid_size": (3, 4)}, "uint8"),
    ((1, 9, 12, 2), {"clip_limit": 0.5, "tile_grid_size": (4, 2), "value_range": (-1, 1)}, "float32"),
    ((2, 3, 11, 11), {"tile_grid_size": (3, 3), "data_format": "channels_first"}, "int32"),
    ((12, 12, 3), {"tile_grid_size": (4, 4)}, "float32"),
])
def test_clahe_matches_keras(shape, kwargs, dtype):
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(11)
    low, high = kwargs.get("value_range", (0, 255))
    images = rng.uniform(low, high, shape) ** 1.0
    images = (images if dtype.startswith("float") else numpy.round(images)).astype(dtype)
    cls = "ContrastLimitedAdaptiveHistogramEqualization"
    ours = getattr(layers, cls)(**kwargs)(images.copy(), training=False)
    theirs = getattr(keras.layers, cls)(**kwargs)(torch.from_numpy(images.copy()), training=False)
    _assert_equal_outputs(ours, theirs, f"CLAHE{kwargs} on {dtype}", atol=1e-3 if high > 1 else 1e-5)


@keras_api("layers.AutoContrast")
def test_auto_contrast_channels_first_equals_keras_on_the_transposed_images():
    """The deliberate difference: Keras 3.15 stretches channels_first images over (channels, height); neuronka's
    channels_first result is its channels_last result transposed, equal to Keras's channels_last."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = pixels(numpy.random.default_rng(2), (2, 5, 4, 3))
    images[1, ..., 2] = 7.0  # a flat channel keeps its values
    expected = keras.layers.AutoContrast()(torch.from_numpy(images.copy()))
    ours = layers.AutoContrast(data_format="channels_first")(images.transpose(0, 3, 1, 2).copy())
    _assert_equal_outputs(_np(ours).transpose(0, 2, 3, 1), expected, "AutoContrast channels_first", atol=1e-3)
    numpy.testing.assert_array_equal(_np(ours)[1, 2], 7.0)


@pytest.mark.parametrize("all_ops", [True, False])
@keras_api("layers.AugMix")
def test_aug_mix_given_keras_chains_matches_keras(all_ops):
    """Keras's chains (its sublayers' transformations, named as neuronka names its sublayers) through both
    ``transform_images``; the masks through the same chains (RandomRotation excepted: Keras's torch
    ``affine_transform`` permutes the stored matrix in place, so its second use is corrupted)."""
    keras = keras_or_skip()
    import random  # noqa: PLC0415

    import torch  # noqa: PLC0415

    random.seed(3 + all_ops)  # Keras chooses the chain steps with Python's global random
    images = pixels(numpy.random.default_rng(3), (3, 6, 6, 3))
    kw = {"factor": 0.4, "num_chains": 3, "chain_depth": 3, "seed": 4, "all_ops": all_ops}
    ours, theirs = layers.AugMix(**kw), keras.layers.AugMix(**kw)
    for _ in range(3):
        transformation = theirs.get_random_transformation(torch.from_numpy(images.copy()), training=True)
        t = _arrays(transformation)
        _assert_equal_outputs(ours.transform_images(nk.Tensor(images.copy()), t),
                              theirs.transform_images(torch.from_numpy(images.copy()), _fresh(transformation)),
                              "AugMix.transform_images", atol=2e-3)


@pytest.mark.parametrize("num_ops, seed", [(1, 5), (1, 6), (2, 7), (3, 8)])
@keras_api("layers.RandAugment")
def test_rand_augment_given_keras_choices_matches_keras(num_ops, seed):
    """Keras's transformation (every sublayer's draw, and the chosen indices) through both ``transform_images``
    and ``transform_segmentation_masks``. Keras computes every sublayer at every step and keeps the chosen one,
    so two of its in-place quirks show: its RandomRotation matrix, permuted in place by its torch
    ``affine_transform``, is only right at the first step (from the second step on, the rotation is not
    chosen here), and its RandomBrightness adds to the images in place, brightening them whatever is chosen
    (Keras's brightness is given a copy here)."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(seed)
    images = pixels(rng, (3, 6, 6, 3))
    masks = rng.integers(0, 3, (3, 6, 6, 1)).astype(numpy.int32)
    kw = {"num_ops": num_ops, "factor": 0.5, "seed": seed}
    ours, theirs = layers.RandAugment(**kw), keras.layers.RandAugment(**kw)
    brighten = theirs.random_brightness.transform_images  # Keras's adds in place: its images would be brightened
    theirs.random_brightness.transform_images = lambda x, t, training=True: brighten(x.clone(), t, training)
    for trial in range(4):
        transformation = theirs.get_random_transformation(torch.from_numpy(images.copy()), training=True)
        idx = [int(i) for i in transformation["layer_idxes"]]
        idx = [i if (k == 0 or i != 2) else (trial + 3) for k, i in enumerate(idx)]  # rotation only first
        transformation["layer_idxes"] = torch.tensor(idx, dtype=torch.int32)
        t = _arrays(transformation)
        _assert_equal_outputs(ours.transform_images(nk.Tensor(images.copy()), t),
                              theirs.transform_images(torch.from_numpy(images.copy()), _fresh(transformation)),
                              f"RandAugment{idx}.transform_images", atol=2e-3)
        _assert_equal_outputs(ours.transform_segmentation_masks(nk.Tensor(masks.copy()), t),
                              theirs.transform_segmentation_masks(torch.from_numpy(masks.copy()),
                                                                  _fresh(transformation)),
                              f"RandAugment{idx}.transform_segmentation_masks", atol=0, check_dtype=False)


# ======================================================================================================
# 3. whole calls on dicts where the factors pin the transformation; determinism; laws
# ======================================================================================================
PINNED_CALLS = [
    ("invert", "RandomInvert", {"factor": (1.0, 1.0)}),
    ("posterization", "RandomPosterization", {"factor": (2, 2)}),
    ("sharpness", "RandomSharpness", {"factor": (0.9, 0.9)}),
    ("color_degeneration", "RandomColorDegeneration", {"factor": (0.4, 0.4)}),
    ("solarization", "Solarization", {}),
    ("auto_contrast", "AutoContrast", {}),
    ("equalization", "Equalization", {"bins": 64}),
    ("perspective_never", "RandomPerspective", {"factor": (0.0, 0.0)}),
    ("shear_none", "RandomShear", {}),
]


@pytest.mark.parametrize("single", [False, True], ids=["batch", "single_image"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=keras_api(f"layers.{c[1]}")) for c in PINNED_CALLS])
def test_pinned_call_on_dict_matches_keras(case, single):
    """images, labels, bounding boxes and segmentation masks through ``layer(dict, training=True)``."""
    _, name, kwargs = case
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    rng = numpy.random.default_rng(4)
    ours, theirs = _keras_pair(keras, name, kwargs, "xyxy")
    images = pixels(rng, (3, 6, 6, 3))
    boxes, box_labels = _boxes_in("xyxy", 6, 6, 3, 2, rng)
    masks = rng.integers(0, 3, (3, 6, 6, 1)).astype(numpy.int32)
    labels = numpy.eye(3, dtype=numpy.float32)
    if single:
        images, boxes, box_labels, masks, labels = images[0], boxes[0], box_labels[0], masks[0], labels[0]

    def data(make):
        return {"images": make(images), "labels": make(labels), "segmentation_masks": make(masks),
                "bounding_boxes": {"boxes": make(boxes), "labels": make(box_labels)}}

    for training in (True, False):
        out = ours(data(lambda a: a.copy()), training=training)
        k_out = theirs(data(lambda a: torch.from_numpy(a.copy())), training=training)
        _assert_equal_outputs(out, k_out, f"{name}(dict, training={training})", atol=1e-3)


@pytest.mark.parametrize("name, kwargs", [
    ("RandomPerspective", {}), ("RandomShear", {"x_factor": 0.3, "y_factor": 0.3}),
    ("RandomElasticTransform", {}), ("RandomInvert", {}), ("RandomPosterization", {"factor": 6}),
    ("RandomSharpness", {"factor": 0.5}), ("RandomColorDegeneration", {"factor": 0.5}),
    ("Solarization", {"addition_factor": 0.3, "threshold_factor": 0.5}), ("MixUp", {}), ("CutMix", {}),
    ("AugMix", {}), ("RandAugment", {}),
])
def test_same_seed_same_augmentation_and_successive_calls_differ(name, kwargs):
    images = pixels(numpy.random.default_rng(5), (4, 6, 6, 3))
    a, b = getattr(layers, name)(seed=7, **kwargs), getattr(layers, name)(seed=7, **kwargs)
    first_a, first_b = _np(a(images, training=True)), _np(b(images, training=True))
    numpy.testing.assert_array_equal(first_a, first_b)
    numpy.testing.assert_array_equal(_np(a(images, training=True)), _np(b(images, training=True)))
    assert any(not numpy.array_equal(first_a, _np(a(images, training=True))) for _ in range(3)), (
        f"{name}: every call drew the same augmentation")
    numpy.testing.assert_array_equal(_np(a(images, training=False)), images)


@keras_api("layers.RandomInvert", "layers.RandomPerspective", "layers.RandomElasticTransform")
def test_fraction_of_images_changed_agrees_with_keras():
    """The chosen fraction (t < p, p ~ U[factor], t ~ U[0, 1)) agrees with Keras's: E = mean of the factor range."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = pixels(numpy.random.default_rng(6), (40, 5, 5, 3))
    for name, kwargs, expected in [("RandomInvert", {}, 0.5), ("RandomInvert", {"factor": (0.2, 0.4)}, 0.3),
                                   ("RandomPerspective", {"factor": 0.5}, 0.25),
                                   ("RandomElasticTransform", {"factor": (0.6, 0.8), "scale": (0.5, 1.0)}, 0.7)]:
        ours, theirs = getattr(layers, name)(seed=1, **kwargs), getattr(keras.layers, name)(seed=1, **kwargs)
        changed = numpy.mean([numpy.any(numpy.abs(_np(ours(images, training=True)) - images) > 1e-3, axis=(1, 2, 3))
                              for _ in range(20)])
        k_changed = numpy.mean([numpy.any(numpy.abs(_np(theirs(torch.from_numpy(images), training=True)) - images)
                                          > 1e-3, axis=(1, 2, 3)) for _ in range(20)])
        assert abs(changed - expected) < 0.05 and abs(k_changed - expected) < 0.05, (name, changed, k_changed)


@keras_api("layers.MixUp", "layers.CutMix", "layers.RandomShear", "layers.RandomPosterization",
           "layers.RandomSharpness", "layers.Solarization")
def test_laws_of_the_random_parameters_agree_with_keras():
    """Mean and spread of the drawn parameters (mix weights, box areas, shears, bits, sharpness, additions)
    within tolerance of Keras's own draws."""
    keras = keras_or_skip()
    import torch  # noqa: PLC0415

    images = pixels(numpy.random.default_rng(7), (400, 8, 8, 3))
    k_images = torch.from_numpy(images)
    for name, kwargs, key in [("MixUp", {"alpha": 0.4}, "mix_weight"), ("CutMix", {"factor": 0.6}, "mix_weight"),
                              ("RandomShear", {"x_factor": 0.5, "y_factor": (0.1, 0.3)}, "shear_factor"),
                              ("RandomPosterization", {"factor": (2, 7)}, "shift_factor"),
                              ("RandomSharpness", {"factor": (0.2, 0.9)}, "factor"),
                              ("Solarization", {"addition_factor": (0.1, 0.5)}, "additions")]:
        ours, theirs = getattr(layers, name)(seed=2, **kwargs), getattr(keras.layers, name)(seed=2, **kwargs)
        a = _np(ours.get_random_transformation(images, training=True)[key]).astype(numpy.float64)
        b = _np(theirs.get_random_transformation(k_images, training=True)[key]).astype(numpy.float64)
        a, b = a.reshape(len(images), -1), b.reshape(len(images), -1)
        scale = numpy.std(b, axis=0) + 1e-3
        assert numpy.all(numpy.abs(a.mean(0) - b.mean(0)) < 0.25 * scale + 1e-3), (name, a.mean(0), b.mean(0))
        assert numpy.all(numpy.abs(a.std(0) - b.std(0)) < 0.2 * scale), (name, a.std(0), b.std(0))


# ======================================================================================================
# 4. gradients, correctness of the deliberate differences, argument errors
# ======================================================================================================
GRADIENTS = [
    ("perspective", "RandomPerspective", {"factor": (1.0, 1.0), "scale": 0.3}),
    ("shear", "RandomShear", {"x_factor": (0.2, 0.2), "y_factor": (0.1, 0.1), "fill_mode": "constant"}),
    ("elastic", "RandomElasticTransform", {"factor": (1.0, 1.0), "value_range": (-5, 5)}),
    ("sharpness", "RandomSharpness", {"factor": (0.7, 0.7), "value_range": (-5, 5)}),
    ("color_degeneration", "RandomColorDegeneration", {"factor": (0.3, 0.3), "value_range": (-5, 5)}),
    ("solarization", "Solarization", {"threshold_factor": (0.5, 0.5), "value_range": (0, 1)}),
    ("auto_contrast", "AutoContrast", {"value_range": (0, 1)}),
    ("mix_up", "MixUp", {}),
    ("cut_mix", "CutMix", {}),
]


@pytest.mark.parametrize("name, kwargs", [pytest.param(n, k, id=i) for i, n, k in GRADIENTS])
def test_training_transform_gradient_reaches_images(name, kwargs):
    """dL/dx of the training-mode transform (its random parameters drawn once, then fixed) against float64
    central differences."""
    seed = {} if name == "AutoContrast" else {"seed": 3}
    layer = getattr(layers, name)(dtype="float64", **seed, **kwargs)
    images = numpy.random.default_rng(8).uniform(0.05, 0.95, (2, 4, 5, 3))
    transformation = layer.get_random_transformation(images, training=True)

    def fn(x):
        return layer.transform_images(x, transformation, training=True)

    assert fn(nk.Tensor(images)).dtype == numpy.float64
    gradcheck(fn, [images], atol=1e-5, rtol=1e-4)


def test_shear_and_perspective_boxes_follow_the_image_content():
    """A bright box moved by the image warp lies inside the transformed box (pixels, non-square images) —
    the deliberate differences from Keras (pixels not relative coordinates; the box format kept)."""
    images = numpy.zeros((1, 20, 30, 1), numpy.float32)
    images[0, 6:10, 8:14] = 1.0
    box = numpy.array([[[8.0, 6.0, 14.0, 10.0]]], numpy.float32)
    for layer in (layers.RandomShear(x_factor=(0.3, 0.3), y_factor=(0.2, 0.2), fill_mode="constant",
                                     interpolation="nearest", bounding_box_format="xyxy", seed=1),
                  layers.RandomPerspective(factor=(1.0, 1.0), scale=0.3, interpolation="nearest",
                                           bounding_box_format="xywh", seed=2)):
        fmt = layer.bounding_box_format
        boxes = _np(nk.layers.augmentation.bounding_boxes.convert_format(box, "xyxy", fmt))
        out = layer({"images": images, "bounding_boxes": {"boxes": boxes, "labels": numpy.ones((1, 1))}})
        got = _np(nk.layers.augmentation.bounding_boxes.convert_format(out["bounding_boxes"]["boxes"], fmt, "xyxy"))
        rows, cols = numpy.nonzero(_np(out["images"])[0, ..., 0] > 0.5)
        assert rows.size > 0
        x1, y1, x2, y2 = got[0, 0]
        assert cols.min() >= x1 - 1 and cols.max() <= x2 + 1 and rows.min() >= y1 - 1 and rows.max() <= y2 + 1, (
            type(layer).__name__, got, (cols.min(), rows.min(), cols.max(), rows.max()))


def test_elastic_transform_deforms_masks_like_images():
    layer = layers.RandomElasticTransform(factor=(1.0, 1.0), scale=(0.9, 1.0), value_range=(0, 10),
                                          interpolation="nearest", seed=4)
    masks = numpy.random.default_rng(9).integers(0, 5, (2, 20, 20, 1)).astype(numpy.float32)
    out = layer({"images": masks, "segmentation_masks": masks})
    numpy.testing.assert_array_equal(_np(out["images"]), _np(out["segmentation_masks"]))
    assert not numpy.array_equal(_np(out["images"]), masks)


def test_mix_up_boxes_keep_their_labels_and_masks_mix_like_images():
    layer = layers.MixUp(seed=5, bounding_box_format="xyxy")
    images = pixels(numpy.random.default_rng(10), (3, 4, 4, 1))
    boxes = numpy.arange(24, dtype=numpy.float32).reshape(3, 2, 4)
    box_labels = numpy.arange(6).reshape(3, 2)
    out = layer({"images": images, "segmentation_masks": images,
                 "bounding_boxes": {"boxes": boxes, "labels": box_labels}})
    assert _np(out["bounding_boxes"]["boxes"]).shape == (3, 4, 4)
    assert _np(out["bounding_boxes"]["labels"]).shape == (3, 4)
    numpy.testing.assert_allclose(_np(out["segmentation_masks"]), _np(out["images"]), rtol=1e-6)
    # each appended label travels with its box (labels 2k, 2k + 1 belong to boxes starting at 8k, 8k + 4)
    numpy.testing.assert_array_equal(_np(out["bounding_boxes"]["boxes"])[..., 0] / 4,
                                     _np(out["bounding_boxes"]["labels"]))


@keras_api("layers.RandomPerspective", "layers.RandomShear", "layers.RandomElasticTransform", "layers.RandomInvert",
           "layers.RandomPosterization", "layers.RandomSharpness", "layers.Solarization", "layers.CutMix",
           "layers.RandAugment", "layers.AugMix", "layers.RandomColorDegeneration")
@pytest.mark.parametrize("name, kwargs", [
    ("RandomPerspective", {"scale": 1.5}), ("RandomPerspective", {"interpolation": "bicubic"}),
    ("RandomPerspective", {"factor": 2.0}),
    ("RandomShear", {"x_factor": 1.5}), ("RandomShear", {"y_factor": (0.1, 0.2, 0.3)}),
    ("RandomShear", {"fill_mode": "mirror"}), ("RandomShear", {"interpolation": "area"}),
    ("RandomElasticTransform", {"scale": 2.0}), ("RandomElasticTransform", {"fill_mode": "edge"}),
    ("RandomElasticTransform", {"interpolation": "bicubic"}),
    ("RandomInvert", {"factor": 1.5}), ("RandomPosterization", {"factor": 9}),
    ("RandomPosterization", {"factor": 4, "value_range": 255}), ("RandomSharpness", {"factor": -0.1}),
    ("RandomColorDegeneration", {"factor": 1.5}),
    ("Solarization", {"addition_factor": 1.5}), ("Solarization", {"threshold_factor": (0.1,)}),
    ("Solarization", {"value_range": (0, 1, 2)}), ("CutMix", {"factor": 1.5}), ("RandAugment", {"factor": 2.0}),
    ("AugMix", {"factor": -0.5}),
])
def test_bad_arguments_raise_as_keras(name, kwargs):
    keras = keras_or_skip()
    with pytest.raises(Exception) as theirs:
        getattr(keras.layers, name)(**kwargs)
    with pytest.raises(type(theirs.value)):
        getattr(layers, name)(**kwargs)

"""Reshaping and preprocessing layers: one table through the layer harness (each row compared with its
PyTorch form: flatten/reshape/permute, F.pad, slicing, F.interpolate), then the errors."""
from __future__ import annotations

import numpy
import pytest

from neuronka import layers

from .helpers import LazyModule
from .layer_harness import LayerCase, channels_first_to_last, channels_last_to_first, layer_cases

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)
F = LazyModule("torch.nn.functional")


def fn(f, to_torch=None, from_torch=None):
    """torch_equivalent of a weightless layer: ``f`` is a function of torch tensors."""
    return lambda layer: (f, to_torch, from_torch)


def channels_first(f):
    """``f`` written for torch's (N, C, ...) applied to neuronka's channels_last tensors."""
    return fn(f, channels_last_to_first, channels_first_to_last)


def interpolate(**kw):
    return channels_first(lambda x: F.interpolate(x, **kw))


CASES = [
    LayerCase("flatten", layers.Flatten, {}, (2, 3, 4), expected_output_shape=(2, 12),
              torch_equivalent=fn(lambda x: x.flatten(1))),
    LayerCase("flatten_2d_input", layers.Flatten, {}, (3, 5), expected_output_shape=(3, 5),
              torch_equivalent=fn(lambda x: x.flatten(1))),
    LayerCase("flatten_channels_first", layers.Flatten, {"data_format": "channels_first"}, (2, 3, 4, 5),
              expected_output_shape=(2, 60), torch_equivalent=fn(lambda x: x.permute(0, 2, 3, 1).flatten(1))),
    LayerCase("reshape", layers.Reshape, {"target_shape": (4, 3)}, (2, 12), expected_output_shape=(2, 4, 3),
              torch_equivalent=fn(lambda x: x.reshape(2, 4, 3))),
    LayerCase("reshape_minus_one", layers.Reshape, {"target_shape": (-1, 2)}, (2, 3, 4),
              expected_output_shape=(2, 6, 2), torch_equivalent=fn(lambda x: x.reshape(2, -1, 2))),
    LayerCase("permute", layers.Permute, {"dims": (2, 1)}, (2, 3, 4), expected_output_shape=(2, 4, 3),
              torch_equivalent=fn(lambda x: x.permute(0, 2, 1))),
    LayerCase("permute_rank_4", layers.Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 5), expected_output_shape=(2, 5, 3, 4),
              torch_equivalent=fn(lambda x: x.permute(0, 3, 1, 2))),
    LayerCase("repeat_vector", layers.RepeatVector, {"n": 3}, (2, 4), expected_output_shape=(2, 3, 4),
              torch_equivalent=fn(lambda x: x.unsqueeze(1).expand(-1, 3, -1))),
    LayerCase("zero_padding_1d", layers.ZeroPadding1D, {"padding": 2}, (2, 5, 3), expected_output_shape=(2, 9, 3),
              torch_equivalent=fn(lambda x: F.pad(x, (0, 0, 2, 2)))),
    LayerCase("zero_padding_1d_asymmetric", layers.ZeroPadding1D, {"padding": (1, 3)}, (2, 5, 3),
              expected_output_shape=(2, 9, 3), torch_equivalent=fn(lambda x: F.pad(x, (0, 0, 1, 3)))),
    LayerCase("zero_padding_2d", layers.ZeroPadding2D, {"padding": ((1, 2), (3, 0))}, (2, 4, 5, 3),
              expected_output_shape=(2, 7, 8, 3), torch_equivalent=channels_first(lambda x: F.pad(x, (3, 0, 1, 2)))),
    LayerCase("zero_padding_2d_symmetric", layers.ZeroPadding2D, {"padding": (1, 2)}, (2, 4, 5, 3),
              expected_output_shape=(2, 6, 9, 3), torch_equivalent=channels_first(lambda x: F.pad(x, (2, 2, 1, 1)))),
    LayerCase("zero_padding_2d_channels_first", layers.ZeroPadding2D, {"padding": 1, "data_format": "channels_first"},
              (2, 3, 4, 5), expected_output_shape=(2, 3, 6, 7), torch_equivalent=fn(lambda x: F.pad(x, (1, 1, 1, 1)))),
    LayerCase("zero_padding_3d", layers.ZeroPadding3D, {"padding": (1, 0, 2)}, (1, 2, 3, 2, 2),
              expected_output_shape=(1, 4, 3, 6, 2),
              torch_equivalent=channels_first(lambda x: F.pad(x, (2, 2, 0, 0, 1, 1)))),
    LayerCase("cropping_1d", layers.Cropping1D, {"cropping": (1, 2)}, (2, 6, 3), expected_output_shape=(2, 3, 3),
              torch_equivalent=fn(lambda x: x[:, 1:-2])),
    LayerCase("cropping_2d", layers.Cropping2D, {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 3),
              expected_output_shape=(2, 4, 3, 3), torch_equivalent=fn(lambda x: x[:, 1:, 2:-1])),
    LayerCase("cropping_2d_channels_first", layers.Cropping2D, {"cropping": 1, "data_format": "channels_first"},
              (2, 3, 5, 6), expected_output_shape=(2, 3, 3, 4), torch_equivalent=fn(lambda x: x[:, :, 1:-1, 1:-1])),
    LayerCase("cropping_3d", layers.Cropping3D, {}, (1, 4, 4, 5, 2), expected_output_shape=(1, 2, 2, 3, 2),
              torch_equivalent=fn(lambda x: x[:, 1:-1, 1:-1, 1:-1])),
    LayerCase("upsampling_1d", layers.UpSampling1D, {"size": 3}, (2, 4, 3), expected_output_shape=(2, 12, 3),
              torch_equivalent=fn(lambda x: x.repeat_interleave(3, dim=1))),
    LayerCase("upsampling_2d_nearest", layers.UpSampling2D, {"size": (2, 3)}, (2, 3, 4, 2),
              expected_output_shape=(2, 6, 12, 2), torch_equivalent=interpolate(scale_factor=(2, 3), mode="nearest"),
              gradcheck=True),
    LayerCase("upsampling_2d_channels_first", layers.UpSampling2D, {"size": 2, "data_format": "channels_first"},
              (2, 3, 4, 5), expected_output_shape=(2, 3, 8, 10),
              torch_equivalent=fn(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"))),
    LayerCase("upsampling_3d", layers.UpSampling3D, {"size": (1, 2, 2)}, (1, 2, 3, 2, 2),
              expected_output_shape=(1, 2, 6, 4, 2),
              torch_equivalent=interpolate(scale_factor=(1, 2, 2), mode="nearest")),
    LayerCase("rescaling", layers.Rescaling, {"scale": 1 / 255, "offset": -1.0}, (2, 4, 4, 3),
              torch_equivalent=fn(lambda x: x * (1 / 255) - 1.0)),
    LayerCase("rescaling_per_channel", layers.Rescaling, {"scale": [0.5, 2.0, 1.0], "offset": [0.0, 1.0, -1.0]},
              (2, 4, 3), torch_equivalent=fn(lambda x: x * torch.tensor([0.5, 2.0, 1.0])
                                             + torch.tensor([0.0, 1.0, -1.0]))),
    LayerCase(
        "upsampling_2d_bilinear", layers.UpSampling2D, {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 2),
        expected_output_shape=(2, 6, 8, 2),
        torch_equivalent=interpolate(scale_factor=2, mode="bilinear", align_corners=False)),
    LayerCase(
        "resizing_bilinear_down", layers.Resizing, {"height": 4, "width": 6}, (2, 8, 12, 3),
        expected_output_shape=(2, 4, 6, 3),
        torch_equivalent=interpolate(size=(4, 6), mode="bilinear", align_corners=False)),
    LayerCase(
        "resizing_bilinear_up", layers.Resizing, {"height": 7, "width": 5}, (2, 4, 3, 2),
        expected_output_shape=(2, 7, 5, 2),
        torch_equivalent=interpolate(size=(7, 5), mode="bilinear", align_corners=False)),
    LayerCase(
        "resizing_nearest", layers.Resizing, {"height": 6, "width": 8, "interpolation": "nearest"}, (2, 3, 4, 2),
        expected_output_shape=(2, 6, 8, 2), torch_equivalent=interpolate(size=(6, 8), mode="nearest")),
    LayerCase(
        "resizing_crop_to_aspect_ratio", layers.Resizing, {"height": 4, "width": 4, "crop_to_aspect_ratio": True},
        (1, 8, 12, 2), expected_output_shape=(1, 4, 4, 2),
        # the centred 8×8 box (columns 2..9), then a plain resize
        torch_equivalent=channels_first(
            lambda x: F.interpolate(x[:, :, :, 2:10], size=(4, 4), mode="bilinear", align_corners=False))),
    LayerCase(
        "resizing_pad_to_aspect_ratio", layers.Resizing,
        {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 0.5}, (1, 4, 8, 2),
        expected_output_shape=(1, 4, 4, 2),
        # 2 rows of 0.5 above and below make it 8×8, then a plain resize
        torch_equivalent=channels_first(lambda x: F.interpolate(F.pad(x, (0, 0, 2, 2), value=0.5), size=(4, 4),
                                                                mode="bilinear", align_corners=False))),
    LayerCase(
        "resizing_channels_first", layers.Resizing, {"height": 3, "width": 5, "data_format": "channels_first"},
        (2, 2, 6, 4), expected_output_shape=(2, 2, 3, 5),
        torch_equivalent=fn(lambda x: F.interpolate(x, size=(3, 5), mode="bilinear", align_corners=False))),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- values a reader can check by eye -------------------------------------------------------------
def test_upsampling_2d_nearest_repeats_each_pixel():
    x = numpy.arange(4, dtype=numpy.float32).reshape(1, 2, 2, 1)
    y = layers.UpSampling2D(size=(2, 2))(x).numpy()[0, :, :, 0]
    numpy.testing.assert_array_equal(y, [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])


def test_rescaling_turns_uint8_images_into_floats():
    x = numpy.array([[0, 255]], dtype=numpy.uint8)
    y = layers.Rescaling(1 / 255)(x)
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.numpy(), [[0.0, 1.0]])


def test_resizing_accepts_a_single_unbatched_image():
    y = layers.Resizing(4, 5)(numpy.zeros((8, 10, 3), dtype=numpy.float32))
    assert tuple(y.shape) == (4, 5, 3)


def test_symbolic_shapes_keep_unknown_dimensions_unknown():
    x = layers.Input(shape=(None, 4))
    assert layers.Flatten()(x).shape == (None, None)
    assert layers.Reshape((-1, 2))(x).shape == (None, None, 2)
    assert layers.ZeroPadding1D(1)(x).shape == (None, None, 4)
    assert layers.Permute((2, 1))(x).shape == (None, 4, None)


# ---- errors name the layer, the argument, what was expected and what was received -------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: layers.Reshape((5, 5))(numpy.zeros((2, 12), numpy.float32)),
     r"Reshape .*total size must be unchanged.*\(12,\).*target_shape=\(5, 5\)"),
    (lambda: layers.Reshape((-1, 5))(numpy.zeros((2, 12), numpy.float32)),
     r"Reshape .*cannot reshape an input of shape \(12,\)"),
    (lambda: layers.Reshape((-1, -1)), r"Reshape: expected `target_shape` of positive ints with at most one -1"),
    (lambda: layers.Permute((1, 3)), r"Permute: expected `dims` to be a permutation of 1..2.*dims=\(1, 3\)"),
    (lambda: layers.RepeatVector(0), r"RepeatVector: expected a positive integer for `n`, received n=0"),
    (lambda: layers.ZeroPadding2D(padding=(1, 2, 3)), r"ZeroPadding2D: expected `padding` to be an int, a tuple of 2"),
    (lambda: layers.ZeroPadding2D(padding=-1), r"ZeroPadding2D: expected `padding`.*received padding=-1"),
    (lambda: layers.Cropping2D(cropping=((1, 1), (2, 2)))(numpy.zeros((1, 2, 5, 1), numpy.float32)),
     r"Cropping2D .*must leave at least one element.*\(1, 2, 5, 1\)"),
    (lambda: layers.UpSampling2D(interpolation="cubic"),
     r"UpSampling2D: expected `interpolation` to be one of \['nearest', 'bilinear', 'bicubic', 'lanczos3', "
     r"'lanczos5'\], received interpolation='cubic'"),
    (lambda: layers.UpSampling1D(size=0), r"UpSampling1D: expected `size` to be a positive int"),
    (lambda: layers.Flatten(data_format="nhwc"), r"Flatten: expected data_format 'channels_last' or 'channels_first'"),
    (lambda: layers.Resizing(0, 4), r"Resizing: expected a positive integer for `height`, received height=0"),
    (lambda: layers.Rescaling("a lot"), r"Rescaling: expected a number or a list of numbers for `scale`"),
    (lambda: layers.ZeroPadding2D()(numpy.zeros((2, 3, 3), numpy.float32)), r"expected ndim=4, found ndim=3"),
])
def test_bad_arguments_raise_errors_naming_the_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()

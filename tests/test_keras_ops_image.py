"""``keras.ops.image``: the 16 names against real Keras 3.15.1 (torch backend), with float64 gradient checks.

Each row of CASES runs Keras's op and neuronka's on the same inputs (values, shapes, dtypes); rows with
``grad=`` also gradcheck neuronka's hand-written backward. The tests after the table cover what Keras's
torch backend does not define the same way (Lanczos through Keras's own ``scale_and_translate``, the
area interpolation, projective affine transforms, elastic_transform's randomness), and the errors.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk

from .helpers import torch_or_skip
from .keras_oracle import OpCase, assert_same, keras_api, keras_or_skip, op_cases, to_numpy

I = nk.ops.image  # noqa: E741


def img(shape, low=0.0, high=1.0, dtype="float32"):
    return lambda r: (r.uniform(shape, low, high, dtype=dtype),)


def ints(shape, high=256, dtype="uint8"):
    return lambda r: (r.ints(shape, 0, high, dtype=dtype),)


def case(name, make, kwargs=None, **kw):
    return OpCase(f"ops.image.{name}", make, kwargs or {}, **kw)


def rounded_alike(actual, expected):
    """Integer results of float32 interpolation, rounded half to even: a value landing on .5 in one float32
    evaluation order and a last bit away in another (torch's kernels) rounds one apart. Allow that, rarely."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape and a.dtype == e.dtype, f"{a.shape} {a.dtype} != Keras's {e.shape} {e.dtype}"
    diff = numpy.abs(a.astype(numpy.int64) - e.astype(numpy.int64))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.03, f"{(diff > 0).sum()} values differ, by up to {diff.max()}"


def int_case(name, make, kwargs=None, **kw):
    return case(name, make, kwargs, compare=rounded_alike, **kw)


def rotation(batch, angle=0.3, scale=0.9, shift=(0.7, -0.4), per_image=True):
    """Affine transform rows [a0, a1, a2, b0, b1, b2, 0, 0] (a rotation, a scale and a shift)."""
    rows = []
    for i in range(batch):
        a = angle * (i + 1) if per_image else angle
        c, s = numpy.cos(a) * scale, numpy.sin(a) * scale
        rows.append([c, -s, shift[0] + 0.13 * i, s, c, shift[1] - 0.07 * i, 0.0, 0.0])
    return numpy.asarray(rows, dtype="float32")


def _with(make, *extra):
    return lambda r: (*make(r), *extra)


START = numpy.array([[0.0, 0.0], [7.0, 0.0], [0.0, 6.0], [7.0, 6.0]], "float32")
END = numpy.array([[0.6, 0.3], [6.2, 0.8], [0.4, 5.1], [6.7, 6.3]], "float32")


def points(batch):
    """(batch, 4, 2) start and end points, each image's end points moved a little."""
    shift = numpy.linspace(-0.3, 0.4, batch * 8).reshape(batch, 4, 2).astype("float32")
    return numpy.broadcast_to(START, (batch, 4, 2)).copy(), (END + shift).astype("float32")


def coords(shape, low, high):
    return lambda r: r.uniform(shape, low, high)


# ----------------------------------------------------------------------------------------------
# resize
# ----------------------------------------------------------------------------------------------
RESIZE = []
for interp in ("nearest", "bilinear", "bicubic"):
    ints_case = int_case if interp == "bilinear" else case  # bilinear's .5 ties: see rounded_alike
    RESIZE += [
        case("resize", img((2, 5, 4, 3)), {"size": (9, 7), "interpolation": interp}, id=f"{interp}-up",
             grad=(0,) if interp != "nearest" else ()),
        case("resize", img((2, 9, 8, 3)), {"size": (4, 3), "interpolation": interp}, id=f"{interp}-down"),
        case("resize", img((2, 6, 9, 2)), {"size": (13, 4), "interpolation": interp}, id=f"{interp}-mixed"),
        case("resize", img((5, 4, 3)), {"size": (3, 10), "interpolation": interp}, id=f"{interp}-unbatched"),
        case("resize", img((2, 3, 7, 5)), {"size": (4, 11), "interpolation": interp, "data_format": "channels_first"},
             id=f"{interp}-channels_first"),
        case("resize", img((3, 7, 5)), {"size": (2, 3), "interpolation": interp, "data_format": "channels_first"},
             id=f"{interp}-channels_first-unbatched"),
        case("resize", img((2, 11, 9, 2), dtype="float64"), {"size": (4, 5), "interpolation": interp},
             id=f"{interp}-float64"),
        case("resize", img((1, 4, 5, 2)), {"size": (7, 3), "interpolation": interp}, id=f"{interp}-grad",
             grad=(0,)),
        ints_case("resize", ints((2, 7, 6, 3)), {"size": (5, 9), "interpolation": interp}, id=f"{interp}-uint8"),
        ints_case("resize", ints((2, 7, 6, 3), 1000, "int32"), {"size": (3, 4), "interpolation": interp},
             id=f"{interp}-int32"),
        case("resize", img((2, 7, 6, 3), dtype="float16"), {"size": (5, 9), "interpolation": interp},
             id=f"{interp}-float16", rtol=2e-3, atol=2e-3),
    ]
for interp in ("bilinear", "bicubic"):
    RESIZE += [
        case("resize", img((2, 17, 13, 2)), {"size": (5, 4), "interpolation": interp, "antialias": True},
             id=f"{interp}-antialias-down"),
        case("resize", img((2, 4, 5, 2)), {"size": (9, 11), "interpolation": interp, "antialias": True},
             id=f"{interp}-antialias-up"),
        case("resize", img((2, 13, 4, 2)), {"size": (5, 9), "interpolation": interp, "antialias": True},
             id=f"{interp}-antialias-mixed"),
        case("resize", img((1, 9, 7, 2)), {"size": (4, 3), "interpolation": interp, "antialias": True},
             id=f"{interp}-antialias-grad", grad=(0,)),
        case("resize", ints((2, 9, 9, 1)), {"size": (4, 4), "interpolation": interp, "antialias": True},
             id=f"{interp}-antialias-uint8"),
    ]
RESIZE += [
    case("resize", img((2, 9, 8, 3)), {"size": (4, 3), "interpolation": "nearest", "antialias": True},
         id="nearest-antialias-ignored"),
    case("resize", img((2, 10, 6, 3)), {"size": (4, 4), "crop_to_aspect_ratio": True}, id="crop-to-aspect",
         grad=(0,)),
    case("resize", img((2, 6, 10, 3)), {"size": (5, 5), "crop_to_aspect_ratio": True, "interpolation": "bicubic"},
         id="crop-to-aspect-wide"),
    case("resize", img((2, 10, 6, 3)), {"size": (4, 4), "pad_to_aspect_ratio": True, "fill_value": 0.5},
         id="pad-to-aspect", grad=(0,)),
    case("resize", img((3, 6, 11)), {"size": (8, 4), "pad_to_aspect_ratio": True, "fill_value": -1.0,
                                     "data_format": "channels_first"}, id="pad-to-aspect-channels_first"),
    case("resize", img((2, 5, 5, 3)), {"size": (5, 5)}, id="same-size"),
]

# ----------------------------------------------------------------------------------------------
# scale_and_translate
# ----------------------------------------------------------------------------------------------
SCALE = []
for method in ("linear", "bilinear", "cubic", "lanczos3", "lanczos5"):
    for antialias in (True, False):
        SCALE.append(case(
            "scale_and_translate",
            _with(img((2, 9, 8, 3)), (2, 5, 13, 3), numpy.array([0.55, 1.7], "float32"),
                  numpy.array([0.3, -1.2], "float32"), (1, 2), method),
            {"antialias": antialias}, id=f"{method}-antialias{antialias}"))
SCALE += [
    case("scale_and_translate", _with(img((6, 7)), (9, 4), numpy.array([1.5, 0.6]), numpy.array([-0.75, 0.2]),
                                      (0, 1), "cubic"), id="2d-float64-scale"),
    case("scale_and_translate", _with(img((2, 6, 7, 2)), (2, 4, 7, 2), numpy.array([0.7], "float32"),
                                      numpy.array([0.0], "float32"), (1,), "lanczos3"), id="one-axis"),
    case("scale_and_translate", _with(ints((2, 8, 7, 1)), (2, 5, 11, 1), numpy.array([0.6, 1.6], "float32"),
                                      numpy.array([0.1, 0.2], "float32"), (1, 2), "lanczos5"), id="uint8"),
    case("scale_and_translate", _with(img((1, 5, 6, 2)), (1, 3, 8, 2), numpy.array([0.6, 1.4], "float32"),
                                      numpy.array([0.2, -0.3], "float32"), (1, 2), "cubic"), id="grad", grad=(0,)),
]


def _lanczos_by_keras(images, size, interpolation="bilinear", antialias=False, data_format="channels_last"):
    """JAX's resize of Keras (jax.image.resize) is scale_and_translate with scale = out/in, no translation."""
    keras = keras_or_skip()
    x = numpy.asarray(images)
    axes = (x.ndim - 3, x.ndim - 2) if data_format == "channels_last" else (x.ndim - 2, x.ndim - 1)
    shape = list(x.shape)
    dims, scales = [], []
    for axis, n in zip(axes, size):
        if shape[axis] != n:
            dims.append(axis)
            scales.append(n / shape[axis])
            shape[axis] = n
    return keras.ops.image.scale_and_translate(x, tuple(shape), numpy.array(scales), numpy.zeros(len(dims)),
                                               tuple(dims), interpolation, antialias)


LANCZOS = []
for interp in ("lanczos3", "lanczos5"):
    for antialias in (False, True):
        LANCZOS += [
            case("resize", img((2, 13, 6, 3)), {"size": (5, 11), "interpolation": interp, "antialias": antialias},
                 id=f"{interp}-antialias{antialias}-by-scale_and_translate", keras_fn=_lanczos_by_keras),
            case("resize", img((3, 5, 12)), {"size": (9, 4), "interpolation": interp, "antialias": antialias,
                                             "data_format": "channels_first"},
                 id=f"{interp}-antialias{antialias}-channels_first-by-scale_and_translate",
                 keras_fn=_lanczos_by_keras),
        ]
    LANCZOS.append(case("resize", img((1, 6, 4, 2)), {"size": (3, 7), "interpolation": interp, "antialias": True},
                        id=f"{interp}-grad-by-scale_and_translate", keras_fn=_lanczos_by_keras, grad=(0,)))

# ----------------------------------------------------------------------------------------------
# map_coordinates, affine_transform, perspective_transform
# ----------------------------------------------------------------------------------------------
MAP = []
for fill_mode in ("constant", "nearest", "wrap", "mirror", "reflect"):
    for order in (0, 1):
        MAP.append(case("map_coordinates",
                        lambda r: (r.uniform((6, 7)), r.uniform((2, 5, 4), -3.0, 10.0)),
                        {"order": order, "fill_mode": fill_mode, "fill_value": 0.25},
                        id=f"{fill_mode}-order{order}", grad=(0, 1) if order else (0,)))
MAP += [
    case("map_coordinates", lambda r: (r.uniform((4, 5, 3)), r.uniform((3, 6), -1.0, 5.0)), {"order": 1},
         id="3d-constant", grad=(0, 1)),
    case("map_coordinates", lambda r: (r.uniform((4, 5, 3)), r.uniform((3, 2, 3), -1.0, 5.0)),
         {"order": 1, "fill_mode": "mirror"}, id="3d-mirror"),
    case("map_coordinates", lambda r: (r.uniform((9,)), r.uniform((1, 7), -2.0, 11.0, dtype="float64")),
         {"order": 1, "fill_mode": "reflect"}, id="1d-float64-coordinates"),
    case("map_coordinates", lambda r: (r.uniform((5, 6)), [r.uniform((3,), -1.0, 6.0), r.uniform((3,), -1, 7)]),
         {"order": 1}, id="list-of-coordinates"),
    case("map_coordinates", lambda r: (r.ints((5, 6), 0, 255, "uint8"), r.uniform((2, 8), -1.0, 6.0)),
         {"order": 1, "fill_value": 7}, id="uint8"),
    case("map_coordinates", lambda r: (r.ints((5, 6), -50, 50, "int32"), r.uniform((2, 8), -1.0, 6.0)),
         {"order": 0, "fill_mode": "wrap"}, id="int32-nearest"),
]

AFFINE = []
for fill_mode in ("constant", "nearest", "wrap", "mirror", "reflect"):
    for interp in ("nearest", "bilinear"):
        AFFINE.append(case("affine_transform", _with(img((2, 7, 8, 3)), rotation(2, shift=(2.3, -1.6))),
                           {"interpolation": interp, "fill_mode": fill_mode, "fill_value": 0.5},
                           id=f"{fill_mode}-{interp}"))
AFFINE += [
    case("affine_transform", _with(img((6, 5, 2)), rotation(1)[0]), id="unbatched"),
    case("affine_transform", _with(img((2, 3, 6, 7)), rotation(2)), {"data_format": "channels_first"},
         id="channels_first"),
    case("affine_transform", _with(img((2, 6, 7, 3), dtype="float64"), rotation(2).astype("float64")),
         {"fill_mode": "reflect"}, id="float64"),
    case("affine_transform", _with(ints((2, 6, 7, 3)), rotation(2)), {"fill_value": 9}, id="uint8"),
    case("affine_transform", _with(img((1, 5, 6, 2)), rotation(1, shift=(0.7, 0.4))), {"fill_mode": "wrap"},
         id="grad", grad=(0, 1)),
    case("affine_transform", _with(img((2, 4, 5, 1)), rotation(2)), {"fill_mode": "nearest"},
         id="grad-constant", grad=(0, 1)),
]

PERSPECTIVE = [
    case("perspective_transform", lambda r: (r.uniform((2, 7, 8, 3)), *points(2)), id="batched"),
    case("perspective_transform", lambda r: (r.uniform((7, 8, 3)), START, END), {"fill_value": 0.5},
         id="unbatched"),
    case("perspective_transform", lambda r: (r.uniform((2, 3, 7, 8)), START, END),
         {"data_format": "channels_first", "interpolation": "nearest"}, id="channels_first-nearest-shared-points"),
    case("perspective_transform", lambda r: (r.uniform((2, 7, 8, 2), dtype="float64"), *points(2)),
         id="float64"),
    case("perspective_transform", lambda r: (r.uniform((1, 5, 6, 2)), START * 0.8, END * 0.8),
         id="grad", grad=(0, 1, 2), grad_atol=1e-4),
]

# ----------------------------------------------------------------------------------------------
# gaussian_blur, sobel_edges, ssim
# ----------------------------------------------------------------------------------------------
FILTERS = [
    case("gaussian_blur", img((2, 8, 9, 3)), {"data_format": "channels_last"}, id="default"),
    case("gaussian_blur", img((2, 8, 9, 3)), {"kernel_size": (5, 5), "sigma": (1.0, 2.0),
                                              "data_format": "channels_last"}, id="5x5-two-sigmas"),
    case("gaussian_blur", img((2, 3, 8, 9)), {"kernel_size": (7, 7), "sigma": (2.5, 0.8),
                                              "data_format": "channels_first"}, id="channels_first"),
    case("gaussian_blur", img((8, 9, 3)), {"kernel_size": (3, 3), "sigma": (0.6, 1.7),
                                           "data_format": "channels_last"}, id="unbatched"),
    case("gaussian_blur", img((2, 8, 9, 3), dtype="float64"), {"kernel_size": (5, 5), "data_format": "channels_last"},
         id="float64"),
    case("gaussian_blur", img((2, 8, 9, 3), dtype="float16"), {"data_format": "channels_last"}, id="float16",
         rtol=2e-3, atol=2e-3),
    case("gaussian_blur", img((1, 5, 6, 2)), {"kernel_size": (3, 3), "sigma": (0.8, 1.3),
                                              "data_format": "channels_last"}, id="grad", grad=(0,)),
    case("sobel_edges", img((2, 7, 8, 3)), id="default", grad=(0,)),
    case("sobel_edges", img((2, 3, 7, 8)), {"data_format": "channels_first"}, id="channels_first"),
    case("sobel_edges", img((2, 7, 8, 3), dtype="float64"), {"data_format": "channels_last"}, id="float64"),
    case("sobel_edges", ints((2, 6, 5, 2)), id="uint8-wraps"),
    case("sobel_edges", ints((2, 6, 5, 2), 1000, "int32"), id="int32"),
    case("ssim", lambda r: (r.uniform((2, 16, 15, 3)), r.uniform((2, 16, 15, 3))), id="default"),
    case("ssim", lambda r: (r.uniform((12, 13, 3)), r.uniform((12, 13, 3))), {"filter_size": 5, "filter_sigma": 1.0},
         id="unbatched"),
    case("ssim", lambda r: (r.uniform((2, 3, 12, 13), 0, 255), r.uniform((2, 3, 12, 13), 0, 255)),
         {"max_val": 255.0, "filter_size": 7, "k1": 0.02, "k2": 0.05, "data_format": "channels_first"},
         id="channels_first-255", rtol=1e-4),
    case("ssim", lambda r: (r.uniform((2, 12, 12, 1), dtype="float64"), r.uniform((2, 12, 12, 1), dtype="float64")),
         {"filter_size": 3}, id="float64"),
    case("ssim", lambda r: (r.uniform((1, 5, 6, 2)), r.uniform((1, 5, 6, 2))), {"filter_size": 3},
         id="grad", grad=(0, 1)),
]

# ----------------------------------------------------------------------------------------------
# crop_images, pad_images, extract_patches, extract_patches_3d
# ----------------------------------------------------------------------------------------------
LAYOUT = [
    case("crop_images", img((2, 8, 9, 3)), {"top_cropping": 1, "left_cropping": 2, "bottom_cropping": 3,
                                            "right_cropping": 1}, id="all-sides", grad=(0,)),
    case("crop_images", img((8, 9, 3)), {"top_cropping": 2, "left_cropping": 1, "target_height": 4,
                                         "target_width": 5}, id="unbatched-targets"),
    case("crop_images", img((2, 3, 8, 9)), {"bottom_cropping": 2, "target_height": 3, "right_cropping": 0,
                                            "target_width": 6, "data_format": "channels_first"},
         id="channels_first-bottom-right"),
    case("crop_images", ints((2, 8, 9, 3), 50, "int32"), {"top_cropping": 0, "bottom_cropping": 0,
                                                         "left_cropping": 4, "target_width": 2}, id="int32"),
    case("pad_images", img((2, 5, 6, 3)), {"top_padding": 1, "left_padding": 2, "bottom_padding": 3,
                                           "right_padding": 0}, id="all-sides", grad=(0,)),
    case("pad_images", img((5, 6, 3)), {"top_padding": 2, "left_padding": 1, "target_height": 9,
                                        "target_width": 8}, id="unbatched-targets"),
    case("pad_images", img((2, 3, 5, 6)), {"bottom_padding": 2, "target_height": 10, "right_padding": 1,
                                           "target_width": 7, "data_format": "channels_first"},
         id="channels_first-bottom-right"),
    case("pad_images", ints((2, 5, 6, 3)), {"top_padding": 1, "bottom_padding": 1, "left_padding": 1,
                                            "target_width": 8}, id="uint8"),
    case("extract_patches", img((2, 8, 9, 3)), {"size": 2}, id="int-size"),
    case("extract_patches", img((2, 8, 9, 3)), {"size": (3, 2), "strides": (1, 2)}, id="overlapping",
         grad=(0,)),
    case("extract_patches", img((2, 8, 9, 3)), {"size": (3, 3), "strides": 2, "padding": "same"}, id="same"),
    case("extract_patches", img((2, 9, 10, 2)), {"size": (2, 3), "strides": 1, "dilation_rate": 2},
         id="dilated"),
    case("extract_patches", img((2, 9, 10, 2)), {"size": 3, "strides": 1, "dilation_rate": (2, 1), "padding": "same"},
         id="dilated-same"),
    case("extract_patches", img((8, 9, 3)), {"size": (4, 3)}, id="unbatched"),
    case("extract_patches", img((2, 3, 8, 9)), {"size": (2, 3), "strides": (2, 1), "data_format": "channels_first"},
         id="channels_first"),
    case("extract_patches", ints((2, 6, 6, 2), 100, "int32"), {"size": 3}, id="int32"),
    case("extract_patches", img((1, 5, 6, 2)), {"size": (2, 3), "strides": 1, "padding": "same"},
         id="grad-same", grad=(0,)),
    case("extract_patches", img((2, 6, 5, 4, 2)), {"size": (2, 2, 3), "strides": 1}, id="3d-through-size"),
    case("extract_patches_3d", img((2, 6, 5, 4, 2)), {"size": 2}, id="int-size"),
    case("extract_patches_3d", img((6, 5, 7, 2)), {"size": (3, 2, 2), "strides": (1, 2, 3), "padding": "same"},
         id="unbatched-same"),
    case("extract_patches_3d", img((2, 2, 6, 5, 7)), {"size": (2, 2, 2), "strides": 1, "dilation_rate": (1, 2, 1),
                                                      "data_format": "channels_first"}, id="channels_first-dilated"),
    case("extract_patches_3d", img((1, 3, 4, 4, 1)), {"size": 2, "strides": 1}, id="grad", grad=(0,)),
]

# ----------------------------------------------------------------------------------------------
# colour
# ----------------------------------------------------------------------------------------------
COLOR = [
    case("rgb_to_grayscale", img((2, 5, 6, 3)), id="default", grad=(0,)),
    case("rgb_to_grayscale", img((3, 5, 6)), {"data_format": "channels_first"}, id="channels_first-unbatched"),
    case("rgb_to_grayscale", img((2, 5, 6, 1)), id="one-channel"),
    case("rgb_to_grayscale", img((2, 5, 6, 3), dtype="float64"), id="float64"),
    case("rgb_to_grayscale", ints((2, 5, 6, 3)), id="uint8-truncates"),
    case("rgb_to_grayscale", ints((2, 3, 5, 6), 1000, "int32"), {"data_format": "channels_first"}, id="int32"),
    case("rgb_to_hsv", img((2, 5, 6, 3)), id="default", grad=(0,)),
    case("rgb_to_hsv", img((3, 5, 6), dtype="float64"), {"data_format": "channels_first"},
         id="channels_first-float64"),
    case("rgb_to_hsv", lambda r: (numpy.array([[[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 0.2, 0.2],
                                                [0.2, 1.0, 0.2], [0.2, 0.2, 1.0], [1.0, 0.0, 0.5],
                                                [1e-9, 0.3, 0.3], [0.7, 0.7, 0.1]]], "float32"),),
         id="corners-and-ties"),
    case("hsv_to_rgb", lambda r: (numpy.stack([r.uniform((2, 5, 6), -0.5, 1.5), r.uniform((2, 5, 6)),
                                               r.uniform((2, 5, 6))], axis=-1),), id="default", grad=(0,)),
    case("hsv_to_rgb", img((3, 5, 6), dtype="float64"), {"data_format": "channels_first"},
         id="channels_first-float64"),
]


@op_cases(RESIZE + SCALE + LANCZOS + MAP + AFFINE + PERSPECTIVE + FILTERS + LAYOUT + COLOR)
def test_image_op_matches_keras(case):
    case.run()


# ----------------------------------------------------------------------------------------------
# gaussian_blur's data_format=None, and its kernels Keras's torch backend builds wrongly
# ----------------------------------------------------------------------------------------------
@keras_api("ops.image.gaussian_blur")
def test_gaussian_blur_data_format_none_is_the_configured_format():
    keras = keras_or_skip()
    x = numpy.random.default_rng(0).uniform(size=(2, 8, 9, 3)).astype("float32")
    expected = keras.ops.image.gaussian_blur(x, (5, 5), (1.2, 0.7), data_format="channels_last")
    assert_same(I.gaussian_blur(x, (5, 5), (1.2, 0.7)), expected)


def _blur_reference(x, kh, kw, sh, sw):
    """The 2-D correlation of (n, h, w, c) images with g_h ⊗ g_w, zero padding (k − 1)//2 before."""
    def g(k, s):
        t = numpy.arange(k) - (k - 1) / 2
        v = numpy.exp(-0.5 * (t / s) ** 2)
        return v / v.sum()

    kernel = numpy.outer(g(kh, sh), g(kw, sw))
    n, h, w, c = x.shape
    pad = numpy.zeros((n, h + kh - 1, w + kw - 1, c))
    pad[:, (kh - 1) // 2:(kh - 1) // 2 + h, (kw - 1) // 2:(kw - 1) // 2 + w] = x
    out = numpy.zeros(x.shape)
    for a in range(kh):
        for b in range(kw):
            out += kernel[a, b] * pad[:, a:a + h, b:b + w]
    return out


@pytest.mark.parametrize("kernel_size", [(3, 5), (4, 4), (2, 6)])
def test_gaussian_blur_non_square_and_even_kernels_keep_the_shape(kernel_size):
    x = numpy.random.default_rng(1).uniform(size=(2, 7, 8, 2))
    y = I.gaussian_blur(x, kernel_size, (0.9, 1.6), data_format="channels_last")
    # kernel_size[0], sigma[0] along the width; kernel_size[1], sigma[1] along the height
    numpy.testing.assert_allclose(y.numpy(), _blur_reference(x, kernel_size[1], kernel_size[0], 1.6, 0.9),
                                  rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# the area interpolation (TensorFlow's; Keras on torch and JAX refuse it)
# ----------------------------------------------------------------------------------------------
def _area_reference(x, size):
    """Each output pixel: the mean of the input over its footprint, pixels weighted by their overlap."""
    n, h, w, c = x.shape
    out = numpy.zeros((n, *size, c))
    sh, sw = h / size[0], w / size[1]
    for i in range(size[0]):
        for j in range(size[1]):
            acc = numpy.zeros((n, c))
            for a in range(h):
                oy = max(0.0, min(a + 1, (i + 1) * sh) - max(a, i * sh))
                for b in range(w):
                    ox = max(0.0, min(b + 1, (j + 1) * sw) - max(b, j * sw))
                    acc += oy * ox * x[:, a, b]
            out[:, i, j] = acc / (sh * sw)
    return out


@pytest.mark.parametrize("size", [(3, 2), (4, 5), (9, 7), (2, 11)])
def test_resize_area_is_the_footprint_mean(size):
    x = numpy.random.default_rng(2).uniform(size=(2, 6, 4, 2))
    numpy.testing.assert_allclose(I.resize(x, size, "area").numpy(), _area_reference(x, size), rtol=1e-12,
                                  atol=1e-12)


def test_resize_area_by_an_integer_factor_is_torch_average_pooling():
    torch = torch_or_skip()
    x = numpy.random.default_rng(3).uniform(size=(2, 3, 12, 9)).astype("float32")
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=(4, 3), mode="area").numpy()
    numpy.testing.assert_allclose(I.resize(x, (4, 3), "area", data_format="channels_first").numpy(), expected,
                                  rtol=1e-6, atol=1e-6)


def test_resize_area_gradient():
    x = numpy.random.default_rng(4).uniform(size=(1, 5, 7, 2))
    nk.gradcheck(lambda t: I.resize(t, (3, 4), "area"), [x])
    nk.gradcheck(lambda t: I.resize(t, (8, 9), "area"), [x])


@keras_api("ops.image.resize")
@pytest.mark.parametrize("interpolation", ["lanczos3", "area"])
def test_keras_torch_refuses_what_neuronka_implements_from_other_backends(interpolation):
    keras = keras_or_skip()
    x = numpy.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(ValueError):
        keras.ops.image.resize(x, (2, 2), interpolation=interpolation)
    assert I.resize(x, (2, 2), interpolation=interpolation).shape == (1, 2, 2, 1)


# ----------------------------------------------------------------------------------------------
# affine_transform: one transform for a batch, and the projective terms
# ----------------------------------------------------------------------------------------------
def test_affine_transform_one_row_applies_to_the_whole_batch():
    x = numpy.random.default_rng(5).uniform(size=(3, 6, 7, 2)).astype("float32")
    t = rotation(1)
    batched = I.affine_transform(x, numpy.repeat(t, 3, axis=0)).numpy()
    numpy.testing.assert_array_equal(I.affine_transform(x, t[0]).numpy(), batched)
    numpy.testing.assert_array_equal(I.affine_transform(x, t).numpy(), batched)


def test_affine_transform_projective_terms_divide_as_documented():
    rng = numpy.random.default_rng(6)
    x = rng.uniform(size=(2, 6, 7, 3))
    t = numpy.array([[1.1, 0.2, -0.37, -0.1, 0.9, 0.61, 0.03, -0.02],
                     [0.8, -0.3, 1.23, 0.25, 1.05, -0.31, -0.04, 0.05]])
    y = I.affine_transform(x, t, fill_mode="reflect").numpy()
    rows, cols = numpy.mgrid[0:6, 0:7].astype(float)
    for n in range(2):
        a0, a1, a2, b0, b1, b2, c0, c1 = t[n]
        k = c0 * cols + c1 * rows + 1
        src = numpy.stack([(b0 * cols + b1 * rows + b2) / k, (a0 * cols + a1 * rows + a2) / k])
        for c in range(3):
            expected = I.map_coordinates(x[n, :, :, c], src, 1, fill_mode="reflect").numpy()
            numpy.testing.assert_allclose(y[n, :, :, c], expected, rtol=1e-12, atol=1e-12)
    nk.gradcheck(lambda a, b: I.affine_transform(a, b, fill_mode="reflect"), [x[:1, :4, :5, :1], t[:1]])


def test_map_coordinates_order0_gradient_in_coordinates_is_zero():
    rng = numpy.random.default_rng(8)
    x = nk.Tensor(rng.uniform(size=(5, 6)), requires_grad=True)
    c = rng.uniform(-1.4, 6.4, size=(2, 4))
    ct = nk.Tensor(c, requires_grad=True)
    I.map_coordinates(x, ct, 0).sum().backward()
    numpy.testing.assert_array_equal(ct.grad, numpy.zeros_like(c))
    # each sample read one pixel with weight 1 (none where it fell outside: the fill value)
    r = numpy.round(c).astype(int)
    inside = (r[0] >= 0) & (r[0] < 5) & (r[1] >= 0) & (r[1] < 6)
    expected = numpy.zeros((5, 6))
    numpy.add.at(expected, (r[0][inside], r[1][inside]), 1.0)
    numpy.testing.assert_array_equal(x.grad, expected)


def test_map_coordinates_mirror_of_a_length_one_axis_reads_its_only_pixel():
    # Keras's torch backend divides by zero here (mirror's period 2·(size − 1) is 0)
    x = numpy.arange(6.0).reshape(1, 6)
    c = numpy.array([[-1.3, 0.4, 2.0], [1.0, -1.0, 7.0]])
    numpy.testing.assert_allclose(I.map_coordinates(x, c, 0, fill_mode="mirror").numpy(), [1.0, 1.0, 3.0])


# ----------------------------------------------------------------------------------------------
# elastic_transform: exact where the randomness cancels, distributional where it does not
# ----------------------------------------------------------------------------------------------
ELASTIC = [
    case("elastic_transform", img((2, 7, 8, 3)), {"alpha": 0.0, "fill_mode": fill_mode, "interpolation": interp},
         id=f"alpha0-{fill_mode}-{interp}")
    for fill_mode in ("reflect", "constant", "wrap") for interp in ("bilinear", "nearest")
] + [
    case("elastic_transform", img((3, 7, 8)), {"alpha": 0.0, "sigma": 2.0, "data_format": "channels_first"},
         id="alpha0-unbatched-channels_first"),
    case("elastic_transform", img((2, 7, 8, 2), dtype="float64"), {"alpha": 0.0}, id="alpha0-float64"),
]


@op_cases(ELASTIC)
def test_elastic_transform_without_displacement_matches_keras(case):
    case.run()


def _ramp(n, h, w):
    """Channel 0: the row index, channel 1: the column index — bilinear sampling reads back the coordinate."""
    rows, cols = numpy.mgrid[0:h, 0:w].astype("float32")
    return numpy.broadcast_to(numpy.stack([rows, cols], axis=-1), (n, h, w, 2)).copy()


def _displacements(y, n, h, w, margin):
    d = numpy.asarray(to_numpy(y)) - _ramp(n, h, w)
    return d[:, margin:h - margin, margin:w - margin]


@keras_api("ops.image.elastic_transform")
def test_elastic_transform_displacements_are_distributed_as_keras():
    keras = keras_or_skip()
    import torch

    n, h, w, alpha, sigma, margin = 6, 40, 40, 4.0, 2.0, 8
    x = _ramp(n, h, w)
    torch.manual_seed(0)  # Keras's torch backend draws from torch's global generator, whatever the seed
    ours = _displacements(I.elastic_transform(x, alpha, sigma, fill_mode="nearest", seed=1), n, h, w, margin)
    theirs = _displacements(keras.ops.image.elastic_transform(x, alpha, sigma, fill_mode="nearest"), n, h, w, margin)
    for d in (ours, theirs):
        assert abs(d.mean()) < 0.25
    # std of α·(G_σ ⋆ σz): α·σ·sqrt(Σ g²); both sets of displacements near it, and near each other
    g = numpy.exp(-0.5 * ((numpy.arange(int(6 * sigma) | 1) - int(6 * sigma) // 2) / sigma) ** 2)
    g /= g.sum()
    predicted = alpha * sigma * numpy.sqrt((numpy.outer(g, g) ** 2).sum())
    assert ours.std() == pytest.approx(theirs.std(), rel=0.2)
    assert ours.std() == pytest.approx(predicted, rel=0.2)

    def lag_correlation(d, lag):  # smoothness: the correlation of neighbours `lag` pixels apart
        a, b = d[:, :, :-lag].ravel(), d[:, :, lag:].ravel()
        return numpy.corrcoef(a, b)[0, 1]

    for lag in (1, 3, 6):
        assert lag_correlation(ours, lag) == pytest.approx(lag_correlation(theirs, lag), abs=0.12)


def test_elastic_transform_seeds_are_deterministic():
    x = numpy.random.default_rng(9).uniform(size=(2, 12, 11, 3)).astype("float32")
    a = I.elastic_transform(x, 3.0, 1.5, seed=42).numpy()
    numpy.testing.assert_array_equal(a, I.elastic_transform(x, 3.0, 1.5, seed=42).numpy())
    assert not numpy.allclose(a, I.elastic_transform(x, 3.0, 1.5, seed=43).numpy())
    gen = nk.random.SeedGenerator(7)
    first, second = I.elastic_transform(x, 3.0, 1.5, seed=gen).numpy(), I.elastic_transform(x, 3.0, 1.5, seed=gen)
    assert not numpy.allclose(first, second.numpy())
    again = nk.random.SeedGenerator(7)
    numpy.testing.assert_array_equal(first, I.elastic_transform(x, 3.0, 1.5, seed=again).numpy())


def test_elastic_transform_gradient_in_images():
    x = numpy.random.default_rng(10).uniform(size=(1, 6, 5, 2))
    nk.gradcheck(lambda t: I.elastic_transform(t, 2.0, 1.0, seed=3), [x])


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------
ERRORS = [
    ("resize", lambda m, x: m.resize(x, (3,)), ValueError),
    ("resize", lambda m, x: m.resize(x, (0, 3)), ValueError),
    ("resize", lambda m, x: m.resize(x[0, 0], (2, 3)), ValueError),
    ("resize", lambda m, x: m.resize(x, (2, 3), interpolation="cubic"), ValueError),
    ("resize", lambda m, x: m.resize(x, (2, 3), fill_mode="reflect"), ValueError),
    ("resize", lambda m, x: m.resize(x, (2, 3), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), ValueError),
    ("affine_transform", lambda m, x: m.affine_transform(x, numpy.zeros((2, 8), "float32"), "bicubic"), ValueError),
    ("affine_transform", lambda m, x: m.affine_transform(x, numpy.zeros((2, 8), "float32"), fill_mode="edge"),
     ValueError),
    ("affine_transform", lambda m, x: m.affine_transform(x, numpy.zeros((2, 2, 8), "float32")), ValueError),
    ("map_coordinates", lambda m, x: m.map_coordinates(x[0, :, :, 0], numpy.zeros((3, 4), "float32"), 1),
     ValueError),
    ("map_coordinates", lambda m, x: m.map_coordinates(x[0, :, :, 0], numpy.zeros((2, 4), "float32"), 2),
     NotImplementedError),
    ("map_coordinates", lambda m, x: m.map_coordinates(x[0, :, :, 0], numpy.zeros((2, 4), "float32"), 1,
                                                       fill_mode="edge"), ValueError),
    ("perspective_transform", lambda m, x: m.perspective_transform(x, numpy.zeros((3, 2)), numpy.zeros((3, 2))),
     ValueError),
    ("perspective_transform", lambda m, x: m.perspective_transform(x, START, END[None].repeat(2, 0)), ValueError),
    ("elastic_transform", lambda m, x: m.elastic_transform(x, fill_mode="edge"), ValueError),
    ("rgb_to_grayscale", lambda m, x: m.rgb_to_grayscale(x[..., :2]), ValueError),
    ("rgb_to_hsv", lambda m, x: m.rgb_to_hsv((x * 9).astype("int32")), ValueError),
    ("hsv_to_rgb", lambda m, x: m.hsv_to_rgb((x * 9).astype("int32")), ValueError),
    ("crop_images", lambda m, x: m.crop_images(x, 1, 1, 1, 1, target_height=2), ValueError),
    ("crop_images", lambda m, x: m.crop_images(x, top_cropping=-1, bottom_cropping=0, left_cropping=0,
                                               right_cropping=0), ValueError),
    ("pad_images", lambda m, x: m.pad_images(x, 1, 1, target_height=3, target_width=3), ValueError),
    ("pad_images", lambda m, x: m.pad_images(x, 1, 1), ValueError),
    ("extract_patches", lambda m, x: m.extract_patches(x, "3"), TypeError),
    ("extract_patches", lambda m, x: m.extract_patches(x, (2, 2, 2, 2)), ValueError),
    ("scale_and_translate", lambda m, x: m.scale_and_translate(x, (2, 3, 3, 3), [1.0, 1.0], [0.0, 0.0], (1, 2),
                                                               "area"), ValueError),
]


@pytest.mark.parametrize("name, call, error", [pytest.param(*e, id=f"{e[0]}-{i}") for i, e in enumerate(ERRORS)])
def test_bad_arguments_raise_as_keras(name, call, error):
    keras = keras_or_skip()
    x = numpy.random.default_rng(11).uniform(size=(2, 6, 6, 3)).astype("float32")
    with pytest.raises(error):
        call(keras.ops.image, x)
    with pytest.raises(error) as info:
        call(I, x)
    assert name in str(info.value)


def test_bad_arguments_get_clear_errors():
    x = numpy.zeros((2, 6, 6, 3), "float32")
    with pytest.raises(ValueError, match="crop_images: the crop .* reaches past the image"):
        I.crop_images(x, top_cropping=2, target_height=5, left_cropping=0, target_width=6)
    with pytest.raises(ValueError, match="sobel_edges: expected images of rank 4"):
        I.sobel_edges(x[0])
    with pytest.raises(TypeError, match="gaussian_blur: expected images of a float dtype"):
        I.gaussian_blur(x.astype("int32"))
    with pytest.raises(ValueError, match="elastic_transform: expected sigma > 0"):
        I.elastic_transform(x, sigma=0.0)
    with pytest.raises(ValueError, match="extract_patches: with padding='valid'"):
        I.extract_patches(x, 7)
    with pytest.raises(ValueError, match="gaussian_blur: the gradient with respect to sigma is not implemented"):
        I.gaussian_blur(x, sigma=nk.Tensor(numpy.ones(2), requires_grad=True))
    with pytest.raises(ValueError, match="scale_and_translate: the gradient with respect to scale"):
        I.scale_and_translate(x, (2, 3, 3, 3), nk.Tensor(numpy.full(2, 0.5), requires_grad=True), [0.0, 0.0],
                              (1, 2), "linear")


# ----------------------------------------------------------------------------------------------
# the Resizing / UpSampling path stays on two taps
# ----------------------------------------------------------------------------------------------
def test_bilinear_and_nearest_resizing_read_at_most_two_inputs_per_output():
    from neuronka.ops.image_resize import resize_taps

    for in_size, out_size in ((7, 19), (19, 7), (224, 160), (3, 3)):
        assert resize_taps(in_size, out_size, "bilinear").idx.shape[1] <= 2
        taps = resize_taps(in_size, out_size, "nearest")
        assert taps.idx.shape[1] == 1 and taps.w is None

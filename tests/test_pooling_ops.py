"""Pooling and resampling (max/average pooling, global pooling, resize, upsample): one table of cases,
checked against PyTorch (float32) and central differences (float64).

A row: (name, neuronka function, torch function, input shape). Inputs have no ties (a random
permutation) so that the max is differentiable; ties get their own test. TensorFlow's "same"
pooling is emulated in torch by an explicit pad (−inf for max) and, for the average, by dividing
the window sum by the number of real elements in the window.
"""
from __future__ import annotations

import math

import numpy
import pytest

import neuronka as nk
from neuronka.ops import image as I
from neuronka.ops import pooling as P

from .helpers import compare_with_torch, torch_or_skip


def tf_same_pads(length, k, s):
    total = max((math.ceil(length / s) - 1) * s + k - length, 0)
    return total // 2, total - total // 2


def per_axis(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


def torch_pool(kind, pool, strides=None, padding="valid", nd=2):
    """torch max/avg pooling with TensorFlow's "same" (padding never wins; averages over real elements)."""
    p = per_axis(pool, nd)
    s = p if strides is None else per_axis(strides, nd)

    def fn(x):
        torch = torch_or_skip()
        F = torch.nn.functional
        xt = x.permute(0, nd + 1, *range(1, nd + 1)).contiguous()
        pads = [tf_same_pads(L, k, ss) for L, k, ss in zip(xt.shape[2:], p, s)] if padding == "same" \
            else [(0, 0)] * nd
        flat = [v for pp in reversed(pads) for v in pp]
        pool_fn = {(1, "max"): F.max_pool1d, (2, "max"): F.max_pool2d,
                   (1, "avg"): F.avg_pool1d, (2, "avg"): F.avg_pool2d}[nd, kind]
        if kind == "max":
            y = pool_fn(F.pad(xt, flat, value=-math.inf), p, s)
        else:
            ones = torch.ones_like(xt[:1, :1])
            y = pool_fn(F.pad(xt, flat), p, s) / pool_fn(F.pad(ones, flat), p, s)
        return y.permute(0, *range(2, nd + 2), 1)

    return fn


def torch_resize(size, mode):
    def fn(x):
        F = torch_or_skip().nn.functional
        xt = x.permute(0, 3, 1, 2).contiguous()
        if mode == "bilinear":
            y = F.interpolate(xt, size=size, mode="bilinear", align_corners=False)
        else:  # TensorFlow's half-pixel nearest
            y = F.interpolate(xt, size=size, mode="nearest-exact")
        return y.permute(0, 2, 3, 1)

    return fn


def torch_repeat(size):
    def fn(x):
        for axis, r in enumerate(size, start=1):
            x = x.repeat_interleave(r, dim=axis)
        return x

    return fn


def case(name, nk_fn, torch_fn, shape):
    return pytest.param(nk_fn, torch_fn, shape, id=name)


CASES = [
    case("max_2x2", lambda x: P.max_pool(x, 2), torch_pool("max", 2), (2, 8, 6, 3)),
    case("max_2x2_odd_size", lambda x: P.max_pool(x, 2), torch_pool("max", 2), (2, 7, 9, 3)),
    case("max_3x3_s2_same", lambda x: P.max_pool(x, 3, 2, "same"), torch_pool("max", 3, 2, "same"), (2, 8, 7, 3)),
    case("max_3x3_s2_valid", lambda x: P.max_pool(x, 3, 2), torch_pool("max", 3, 2), (2, 9, 8, 3)),
    case("max_2x2_s1_same", lambda x: P.max_pool(x, 2, 1, "same"), torch_pool("max", 2, 1, "same"), (2, 5, 6, 3)),
    case("max_2x3_s(1,2)", lambda x: P.max_pool(x, (2, 3), (1, 2)), torch_pool("max", (2, 3), (1, 2)), (2, 6, 9, 2)),
    case("max_4x4_s3_same", lambda x: P.max_pool(x, 4, 3, "same"), torch_pool("max", 4, 3, "same"), (2, 10, 8, 2)),
    case("max_1d_2", lambda x: P.max_pool(x, 2), torch_pool("max", 2, nd=1), (2, 9, 3)),
    case("max_1d_3_s2_same", lambda x: P.max_pool(x, 3, 2, "same"), torch_pool("max", 3, 2, "same", nd=1), (2, 10, 3)),
    case("avg_2x2", lambda x: P.average_pool(x, 2), torch_pool("avg", 2), (2, 8, 6, 3)),
    case("avg_3x3_s2_same", lambda x: P.average_pool(x, 3, 2, "same"), torch_pool("avg", 3, 2, "same"),
         (2, 8, 7, 3)),
    case("avg_3x3_s1_same", lambda x: P.average_pool(x, 3, 1, "same"), torch_pool("avg", 3, 1, "same"),
         (2, 5, 6, 3)),
    case("avg_2x3_s(2,1)_valid", lambda x: P.average_pool(x, (2, 3), (2, 1)), torch_pool("avg", (2, 3), (2, 1)),
         (2, 7, 6, 2)),
    case("avg_1d_4_s2_same", lambda x: P.average_pool(x, 4, 2, "same"), torch_pool("avg", 4, 2, "same", nd=1),
         (2, 9, 3)),
    case("max_channels_first", lambda x: P.max_pool(x, 2, data_format="channels_first"),
         lambda x: torch_or_skip().nn.functional.max_pool2d(x, 2), (2, 3, 6, 8)),
    case("global_avg", lambda x: P.global_average_pool(x), lambda x: x.mean(dim=(1, 2)), (2, 5, 4, 3)),
    case("global_avg_keepdims", lambda x: P.global_average_pool(x, keepdims=True),
         lambda x: x.mean(dim=(1, 2), keepdim=True), (2, 5, 4, 3)),
    case("global_max", lambda x: P.global_max_pool(x), lambda x: x.amax(dim=(1, 2)), (2, 5, 4, 3)),
    case("global_max_1d_channels_first", lambda x: P.global_max_pool(x, True, "channels_first"),
         lambda x: x.amax(dim=2, keepdim=True), (2, 3, 7)),
    case("resize_bilinear_up", lambda x: I.resize(x, (10, 9)), torch_resize((10, 9), "bilinear"), (2, 5, 4, 3)),
    case("resize_bilinear_down", lambda x: I.resize(x, (3, 5)), torch_resize((3, 5), "bilinear"), (2, 8, 7, 3)),
    case("resize_bilinear_mixed", lambda x: I.resize(x, (4, 11)), torch_resize((4, 11), "bilinear"), (2, 6, 4, 2)),
    case("resize_nearest_up", lambda x: I.resize(x, (10, 7), "nearest"), torch_resize((10, 7), "nearest"),
         (2, 5, 4, 3)),
    case("resize_nearest_down", lambda x: I.resize(x, (3, 4), "nearest"), torch_resize((3, 4), "nearest"),
         (2, 8, 7, 3)),
    case("upsample_nearest_2d", lambda x: I.upsample(x, (2, 3)), torch_repeat((2, 3)), (2, 4, 3, 2)),
    case("upsample_nearest_1d", lambda x: I.upsample(x, 3), torch_repeat((3,)), (2, 4, 3)),
    case("upsample_bilinear", lambda x: I.upsample(x, 2, "bilinear"), torch_resize((8, 6), "bilinear"),
         (2, 4, 3, 2)),
]


def distinct(shape, seed=0):
    """Values with no ties, spread over [-2, 2)."""
    rng = numpy.random.default_rng(seed)
    n = math.prod(shape)
    return rng.permutation(n).reshape(shape) / n * 4 - 2


@pytest.mark.torch
@pytest.mark.parametrize("nk_fn, torch_fn, shape", CASES)
def test_pooling_forward_and_gradient_match_torch(nk_fn, torch_fn, shape):
    compare_with_torch(nk_fn, torch_fn, [distinct(shape)], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nk_fn, torch_fn, shape", CASES)
def test_pooling_gradient_matches_central_differences(nk_fn, torch_fn, shape):
    assert nk.gradcheck(nk_fn, [distinct((1, *shape[1:]), seed=1)])  # one image


# ---- behaviours worth their own test ---------------------------------------------------------
@pytest.mark.torch
def test_max_pool_sends_tied_gradients_to_the_first_maximum_like_torch():
    torch = torch_or_skip()
    x = numpy.zeros((1, 4, 4, 1), numpy.float32)
    x[0, 2:, 2:, 0] = [[1, 1], [1, 0]]
    for pool, strides in [(2, 2), (3, 1)]:
        xt = nk.Tensor(x, requires_grad=True)
        P.max_pool(xt, pool, strides).backward(numpy.ones(P.max_pool(x, pool, strides).shape, numpy.float32))
        tt = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        torch.nn.functional.max_pool2d(tt, pool, strides).sum().backward()
        numpy.testing.assert_array_equal(xt.grad, tt.grad.numpy().transpose(0, 2, 3, 1))


def test_max_pool_same_padding_never_wins():
    x = -numpy.ones((1, 3, 3, 1), numpy.float32) - numpy.arange(9, dtype=numpy.float32).reshape(1, 3, 3, 1)
    y = P.max_pool(x, 2, 2, "same").numpy()[0, :, :, 0]  # windows at the border hold one real element
    numpy.testing.assert_array_equal(y, [[-1, -3], [-7, -9]])


def test_average_pool_same_divides_by_real_elements():
    y = P.average_pool(numpy.ones((1, 5, 5, 2)), 3, 2, "same").numpy()
    numpy.testing.assert_allclose(y, 1.0)


@pytest.mark.parametrize("fn, shape, kw, expected", [
    (P.max_pool, (2, 7, 9, 3), dict(pool_size=2), (2, 3, 4, 3)),
    (P.max_pool, (2, 7, 9, 3), dict(pool_size=2, padding="same"), (2, 4, 5, 3)),
    (P.max_pool, (2, 7, 9, 3), dict(pool_size=3, strides=1), (2, 5, 7, 3)),
    (P.average_pool, (2, 7, 9, 3), dict(pool_size=(3, 2), strides=(2, 3), padding="same"), (2, 4, 3, 3)),
    (P.average_pool, (2, 9, 3), dict(pool_size=4, strides=2), (2, 3, 3)),
    (P.global_average_pool, (2, 7, 9, 3), dict(), (2, 3)),
    (P.global_max_pool, (2, 7, 9, 3), dict(keepdims=True), (2, 1, 1, 3)),
    (I.resize, (7, 9, 3), dict(size=(4, 5)), (4, 5, 3)),
    (I.resize, (2, 3, 7, 9), dict(size=(4, 5), data_format="channels_first"), (2, 3, 4, 5)),
    (I.upsample, (2, 4, 5, 3), dict(size=(2, 3)), (2, 8, 15, 3)),
])
def test_pooling_output_shapes_follow_keras(fn, shape, kw, expected):
    assert fn(numpy.zeros(shape, numpy.float32), **kw).shape == expected


def test_resize_crop_and_pad_to_aspect_ratio_follow_keras():
    x = numpy.arange(2 * 4 * 8 * 1, dtype=numpy.float32).reshape(2, 4, 8, 1)
    # crop: target 2x2 (square) -> the central 4x4 block, then resized
    cropped = I.resize(x, (4, 4), "nearest", crop_to_aspect_ratio=True).numpy()
    numpy.testing.assert_array_equal(cropped, x[:, :, 2:6])
    # pad: target 8x8 -> 2 rows of fill above and below the 4x8 image
    padded = I.resize(x, (8, 8), "nearest", pad_to_aspect_ratio=True, fill_value=-1.0).numpy()
    numpy.testing.assert_array_equal(padded[:, 2:6], x)
    numpy.testing.assert_array_equal(padded[:, :2], -1.0)
    numpy.testing.assert_array_equal(padded[:, 6:], -1.0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: P.max_pool(numpy.ones((2, 8)), 2), ValueError,
     r"max_pool: expected inputs of rank 3 \(batch, width, channels\), 4 \(batch, height, width, channels\) or 5 "
     r"\(batch, depth, height, width, channels\), received shape \(2, 8\)"),
    (lambda: P.max_pool(numpy.ones((2, 8, 8, 3)), 2, padding="full"), ValueError,
     r"max_pool: expected padding 'valid' or 'same', received padding='full'"),
    (lambda: P.average_pool(numpy.ones((2, 8, 8, 3)), (2, 2, 2)), ValueError,
     r"average_pool: expected pool_size to be an integer >= 1 or a tuple of 2 such integers"),
    (lambda: P.average_pool(numpy.ones((2, 2, 8, 3)), 3), ValueError,
     r"average_pool: with padding='valid' the pool \(3, 3\) must fit"),
    (lambda: I.resize(numpy.ones((8, 8)), (4, 4)), ValueError, r"resize: expected images of rank 3"),
    (lambda: I.resize(numpy.ones((1, 8, 8, 3)), (4, 4), "cubic"), ValueError,
     r"resize: expected interpolation to be one of \[.*\], received interpolation='cubic'"),
    (lambda: I.resize(numpy.ones((1, 8, 8, 3)), (4,)), ValueError, r"resize: expected size to be a tuple of two"),
    (lambda: I.upsample(numpy.ones((1, 8, 3)), 2, "bilinear"), ValueError, r"upsample: 1-D upsampling"),
])
def test_pooling_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
